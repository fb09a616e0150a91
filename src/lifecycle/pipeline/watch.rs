//! `pxos watch`: the pipeline as a long-running service. It takes [`service::step`]s while
//! there is work, then sleeps until something happens: a file-system event in `build/`
//! (inotify through the `notify` crate, or polling every `--poll` ms for network file
//! systems), a change in the store folder itself (policy.json, or versions.json committed
//! by another command), the opening of an evolution window, or SIGINT / SIGTERM, which stop
//! it between two steps. Idle, it blocks on a channel: no CPU is used. `--once` takes every step that
//! can be taken now and returns, for cron and tests.
//!
//! One service per store: `<store>/watch.lock` is locked for the service's lifetime, and a
//! second `pxos watch` refuses with a message. Each step takes the store lock only while it
//! works, so `pxos boot` and the other commands run beside the service; a kernel booted by
//! `pxos boot` writes `build/` while the boot holds the store lock, so the service never
//! takes a file from under a running kernel, and a file that SELF_MODIFY installed is
//! recorded as a `duplicate` of the version it became, never as a second version.

use super::policy::POLICY_FILE;
use super::service::{self, Outcome};
use super::{PipelineError, intake, window};
use crate::store::Store;
use notify::Watcher;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The service's lock file in the store folder.
pub const WATCH_LOCK: &str = "watch.lock";

/// How `pxos watch` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WatchOptions {
    /// Take the steps that can be taken now, then return.
    pub once: bool,
    /// Poll `build/` at this interval instead of using native notifications.
    pub poll: Option<Duration>,
}

/// Why the service woke up.
enum Wake {
    Files,
    Stop,
}

/// Whether an event may have made a step possible: in `build/`, something arrived or a
/// writer closed; in the store folder, policy.json or versions.json was replaced. Reads —
/// the service's own scans among them —, removals and the lock files do not wake the
/// service (they would wake it for ever).
fn wakes(event: &notify::Event, build: &Path, polling: bool) -> bool {
    use notify::event::{AccessKind, AccessMode, EventKind, ModifyKind};
    let in_build = event.paths.iter().any(|p| p.parent() == Some(build));
    let store_file = event.paths.iter().any(|p| {
        p.file_name()
            .is_some_and(|n| n == POLICY_FILE || n == crate::store::VERSIONS_FILE)
    });
    match &event.kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => in_build,
        EventKind::Access(_) | EventKind::Remove(_) => false,
        // Polling sees writes only as changed metadata.
        EventKind::Modify(ModifyKind::Metadata(_)) => polling && (in_build || store_file),
        _ => in_build || store_file || event.paths.is_empty(),
    }
}

/// Hold the service lock of the store at `root`.
fn lock(root: &Path) -> Result<File, PipelineError> {
    let path = root.join(WATCH_LOCK);
    let file = crate::util::nofollow::no_follow(
        OpenOptions::new().create(true).truncate(false).write(true),
    )
    .open(&path)
    .map_err(|e| PipelineError::io("open the lock file", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(PipelineError::AlreadyWatched {
            root: root.to_path_buf(),
            lock: path,
        }),
        Err(TryLockError::Error(e)) => Err(PipelineError::io("lock", &path, e)),
    }
}

/// Run the service on the store at `root`, calling `log` with a line for everything it does.
pub fn watch(
    root: &Path,
    opts: WatchOptions,
    log: &mut dyn FnMut(&str),
) -> Result<(), PipelineError> {
    if !Store::exists(root) {
        return Err(crate::store::StoreError::NotAStore {
            root: root.to_path_buf(),
        }
        .into());
    }
    let _lock = lock(root)?;
    let build = intake::build_dir(root)?;
    let (tx, rx) = mpsc::channel::<Wake>();
    let stop = Arc::new(AtomicBool::new(false));
    // Kept alive for the whole loop: dropping a watcher stops its notifications.
    let _watcher: Option<Box<dyn notify::Watcher>> = if opts.once {
        None
    } else {
        let files = tx.clone();
        let polling = opts.poll.is_some();
        let build_dir = build.clone();
        let handler = move |event: notify::Result<notify::Event>| {
            if event.map_or(true, |e| wakes(&e, &build_dir, polling)) {
                let _ = files.send(Wake::Files);
            }
        };
        let fail = |e: notify::Error| PipelineError::Watch {
            path: build.clone(),
            message: e.to_string(),
        };
        let mut w: Box<dyn notify::Watcher> = match opts.poll {
            Some(every) => Box::new(
                notify::PollWatcher::new(
                    handler,
                    notify::Config::default().with_poll_interval(every),
                )
                .map_err(fail)?,
            ),
            None => Box::new(
                notify::RecommendedWatcher::new(handler, notify::Config::default())
                    .map_err(fail)?,
            ),
        };
        w.watch(&build, notify::RecursiveMode::NonRecursive)
            .map_err(fail)?;
        // The store folder too: a change of policy.json, or a commit of versions.json by
        // another command (`pxos boot` promoting a canary frees the way for the next
        // ready candidate), may make a step possible.
        w.watch(root, notify::RecursiveMode::NonRecursive)
            .map_err(fail)?;
        let mut signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
        ])
        .map_err(|e| PipelineError::io("handle signals for", root, e))?;
        let (flag, stopper) = (stop.clone(), tx.clone());
        std::thread::spawn(move || {
            if signals.forever().next().is_some() {
                flag.store(true, Ordering::SeqCst);
                let _ = stopper.send(Wake::Stop);
            }
        });
        log(&format!(
            "watching {} ({}); Ctrl-C stops",
            build.display(),
            match opts.poll {
                Some(d) => format!("polling every {} ms", d.as_millis()),
                None => "file-system notifications".to_string(),
            }
        ));
        Some(w)
    };
    let mut reported_waiting: Vec<String> = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            log("stopping (signal)");
            return Ok(());
        }
        let now = window::now().map_err(PipelineError::Clock)?;
        let idle = match service::step(root, now) {
            Ok(Outcome::Did(did)) => {
                log(&did.to_string());
                continue;
            }
            Ok(Outcome::Idle(idle)) => idle,
            Err(e) if !opts.once => {
                log(&format!(
                    "error: {e}; waiting for a change before trying again"
                ));
                service::Idle {
                    waiting_files: Vec::new(),
                    wake_at: Some(now + 30),
                }
            }
            Err(e) => return Err(e),
        };
        for (name, why) in &idle.waiting_files {
            if !reported_waiting.contains(name) {
                log(&format!("build/{name}: not taken yet ({why})"));
                reported_waiting.push(name.clone());
            }
        }
        reported_waiting.retain(|n| idle.waiting_files.iter().any(|(w, _)| w == n));
        if opts.once {
            if let Some(t) = idle.wake_at {
                log(&format!(
                    "waiting for the next evolution window at {}",
                    crate::util::date::format_unix(t)
                ));
            }
            return Ok(());
        }
        let settle = idle
            .waiting_files
            .iter()
            .any(|(_, why)| why.starts_with("changed"))
            .then_some(intake::SETTLE);
        let until_window = idle
            .wake_at
            .map(|t| Duration::from_secs(t.saturating_sub(now).max(1)));
        let timeout = [settle, until_window].into_iter().flatten().min();
        let woke = match timeout {
            Some(t) => match rx.recv_timeout(t) {
                Ok(w) => Some(w),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            },
            None => match rx.recv() {
                Ok(w) => Some(w),
                Err(_) => return Ok(()),
            },
        };
        if let Some(Wake::Stop) = woke {
            stop.store(true, Ordering::SeqCst);
        }
        // Many events usually arrive together: one step pass serves them all.
        while let Ok(w) = rx.try_recv() {
            if let Wake::Stop = w {
                stop.store(true, Ordering::SeqCst);
            }
        }
    }
}
