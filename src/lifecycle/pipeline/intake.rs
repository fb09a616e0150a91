//! Taking new kernels into the pipeline: files dropped into `<store>/build/` (the compile
//! triggers) and kernels handed over directly (SELF_MODIFY under the `pipeline` policy,
//! background evolution), each becoming one [`Candidate`].
//!
//! **Exactly once.** A file is *claimed* by renaming it, under the store lock, from
//! `build/NAME` to `candidates/c<ID>-NAME`, where ID is the next candidate id; then the
//! candidate is recorded (the commit). A crash before the rename leaves the file in `build/`
//! (taken next time); a crash after it leaves a claimed file whose id is above the last
//! recorded one, which [`recover`] records on the next start. Nothing is ever taken twice
//! and nothing is lost. A rename never follows a symlink, so symlinks, folders, FIFOs and
//! devices are claimed the same way (moved, not opened) and rejected with a reason.
//!
//! **Complete files only.** Names starting with `.` are ignored: write `build/.x.tmp`, then
//! rename it to `build/x.asm` (or write anywhere else on the same file system and rename).
//! A file still open for writing by any process is not taken (on Linux this is asked of the
//! kernel with a read lease, `F_SETLEASE`, which fails while a writer has the file open);
//! where that cannot be asked, a file is taken once it has not changed for [`SETTLE`].
//!
//! **Compile triggers.** `*.asm` is assembled (an error rejects the candidate with
//! `build/NAME:line:column: message`; the source is kept beside the bytecode); `*.bin` is
//! bytecode. Both are then vetted (`pxvm::vet`). Anything else is rejected. Bytes equal to
//! a stored version, or to a candidate still in the pipeline, are a `duplicate`.

use super::PipelineError;
use crate::store::Store;
use crate::store::candidates::{Candidate, Origin, State};
use crate::util::sha256_hex;
use crate::util::{atomic, nofollow};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a file must be unchanged to count as complete where writers cannot be asked.
pub const SETTLE: Duration = Duration::from_secs(2);

/// Largest assembly source taken (bytecode is limited to 65,536 bytes).
pub const MAX_ASM_BYTES: u64 = 1 << 20;

/// What a look at `build/` found.
#[derive(Debug, Default)]
pub struct BuildScan {
    /// Entries ready to be claimed, in name order.
    pub ready: Vec<std::ffi::OsString>,
    /// Entries not taken yet, with why (a writer has them open, or they changed lately).
    pub waiting: Vec<(String, &'static str)>,
}

/// The build folder of the store at `root`; refuses a `build` that is not a real folder.
pub fn build_dir(root: &Path) -> Result<PathBuf, PipelineError> {
    let dir = root.join("build");
    crate::util::nofollow::check_folder(&dir)?;
    atomic::create_dir(&dir)?;
    Ok(dir)
}

/// Look at `build/`: which entries can be claimed now.
pub fn scan_build(root: &Path) -> Result<BuildScan, PipelineError> {
    let dir = build_dir(root)?;
    let mut names: Vec<std::ffi::OsString> = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| PipelineError::io("list", &dir, e))? {
        let entry = entry.map_err(|e| PipelineError::io("list", &dir, e))?;
        let name = entry.file_name();
        if !name.as_encoded_bytes().starts_with(b".") {
            names.push(name);
        }
    }
    names.sort();
    let mut scan = BuildScan::default();
    for name in names {
        let path = dir.join(&name);
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue; // gone meanwhile
        };
        if meta.is_file() {
            match writers(&path) {
                Some(true) => {
                    scan.waiting.push((printable(&name), "open for writing"));
                    continue;
                }
                Some(false) => {}
                None => {
                    // A time in the future (another clock) says nothing: take the file.
                    let age = meta
                        .modified()
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok());
                    if age.is_some_and(|a| a < SETTLE) {
                        scan.waiting
                            .push((printable(&name), "changed in the last 2 s"));
                        continue;
                    }
                }
            }
        }
        scan.ready.push(name);
    }
    Ok(scan)
}

/// Whether some process has `path` open for writing: `None` if that cannot be asked here.
#[cfg(target_os = "linux")]
fn writers(path: &Path) -> Option<bool> {
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::io::AsRawFd;
    // A writer that opens the file while we hold the lease breaks it, and the kernel then
    // signals the holder with SIGIO, whose default action ends the process. We give the
    // lease back at once either way, so the signal carries nothing for us.
    static IGNORE_SIGIO: std::sync::Once = std::sync::Once::new();
    IGNORE_SIGIO.call_once(|| {
        // SAFETY: setting a signal's disposition to SIG_IGN installs no handler code;
        // it is sound at any time and affects only SIGIO, which nothing else here uses.
        unsafe { libc::signal(libc::SIGIO, libc::SIG_IGN) };
    });
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .ok()?;
    let fd = file.as_raw_fd();
    // SAFETY: `fd` is a valid descriptor owned by `file` for this whole function, and
    // F_SETLEASE takes an integer argument; no memory is passed.
    let taken = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if taken == 0 {
        // SAFETY: as above; this gives the lease back at once.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return Some(false);
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(libc::EAGAIN) => Some(true),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
fn writers(_: &Path) -> Option<bool> {
    None
}

/// A file name as messages show it: lossy UTF-8, control characters escaped (a name with
/// a newline cannot forge a log line).
pub fn printable(name: &std::ffi::OsStr) -> String {
    name.to_string_lossy()
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// A name safe to put after `c<ID>-` in `candidates/`.
fn safe_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

/// The id a claimed file's name carries (`c<ID>-…`).
fn claimed_id(file: &str) -> Option<u64> {
    let rest = file.strip_prefix('c')?;
    let (id, _) = rest.split_once('-')?;
    id.parse().ok()
}

/// Claim `build/NAME` and record it as a candidate (see the module docs).
pub fn claim(store: &mut Store, name: &std::ffi::OsStr) -> Result<Candidate, PipelineError> {
    let build = build_dir(store.root())?;
    let dir = candidates_dir(store)?;
    let id = store.next_candidate_id()?;
    let shown = printable(name);
    let taken = format!("c{id}-{}", safe_name(&shown));
    let from = build.join(name);
    let to = dir.join(&taken);
    if fs::symlink_metadata(&to).is_ok() {
        // Only a store whose candidate counter went back (a hand-edited versions.json)
        // gets here; never overwrite what another candidate owns.
        return Err(PipelineError::Unsafe {
            path: to,
            why: "already exists, so the store's candidate counter is behind its files (run `pxos verify`)",
        });
    }
    fs::rename(&from, &to).map_err(|e| PipelineError::io("move into candidates/", &from, e))?;
    atomic::sync_dir(&build)?;
    atomic::sync_dir(&dir)?;
    record_claimed(store, id, &taken, &format!("build/{shown}"))
}

/// The store's `candidates/` folder, created if missing; refused if it is a link or not a
/// folder (nothing is ever written outside the store).
pub fn candidates_dir(store: &Store) -> Result<PathBuf, PipelineError> {
    let dir = store.candidates_dir();
    crate::util::nofollow::check_folder(&dir)?;
    atomic::create_dir(&dir)?;
    Ok(dir)
}

/// Record every claimed file that a crash left unrecorded. Returns them.
pub fn recover(store: &mut Store) -> Result<Vec<Candidate>, PipelineError> {
    let dir = candidates_dir(store)?;
    let last = store.pipeline().last_candidate;
    let mut orphans: Vec<(u64, String)> = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| PipelineError::io("list", &dir, e))? {
        let entry = entry.map_err(|e| PipelineError::io("list", &dir, e))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        if let Some(id) = claimed_id(&file).filter(|&id| id > last) {
            orphans.push((id, file));
        }
    }
    orphans.sort();
    let mut out = Vec::new();
    for (id, file) in orphans {
        if id != store.next_candidate_id()? {
            continue; // not a file this store claimed (ids are claimed one at a time)
        }
        let original = file
            .split_once('-')
            .map_or(file.as_str(), |(_, n)| n)
            .to_string();
        out.push(record_claimed(
            store,
            id,
            &file,
            &format!("build/{original}"),
        )?);
    }
    Ok(out)
}

/// Turn the claimed file `candidates/<taken>` into candidate `id`.
fn record_claimed(
    store: &mut Store,
    id: u64,
    taken: &str,
    source: &str,
) -> Result<Candidate, PipelineError> {
    let path = store.candidates_dir().join(taken);
    let mut candidate = Candidate {
        id,
        origin: Origin::Watch,
        source: source.to_string(),
        state: State::Queued,
        taken: Some(taken.to_string()),
        kernel: None,
        size: None,
        sha256: None,
        ab_report: None,
        version_id: None,
        ab_against: None,
        history: Vec::new(),
    };
    let derived = format!("c{id}.bin");
    let mut files: Vec<(&str, Vec<u8>)> = Vec::new();
    match compile(&path, source) {
        Err(reason) => candidate.state = State::Rejected { reason },
        Ok((bytes, assembled)) => {
            candidate.kernel = Some(if assembled {
                derived.clone()
            } else {
                taken.to_string()
            });
            candidate.state = admission(store, &bytes);
            candidate.size = Some(bytes.len() as u64);
            candidate.sha256 = Some(sha256_hex(&bytes));
            if assembled {
                files.push((derived.as_str(), bytes));
            }
        }
    }
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    store.add_candidate(candidate.clone(), &files)?;
    Ok(store.pipeline().get(id).cloned().unwrap_or(candidate))
}

/// Record `bytes` (from SELF_MODIFY or evolution) as a new candidate.
pub fn submit(
    store: &mut Store,
    origin: Origin,
    source: &str,
    bytes: &[u8],
) -> Result<Candidate, PipelineError> {
    // A file claimed just before a crash owns the next id: record it first.
    recover(store)?;
    let id = store.next_candidate_id()?;
    let file = format!("c{id}.bin");
    let state = match pxvm::vet::vet(bytes) {
        Err(why) => State::Rejected {
            reason: why.to_string(),
        },
        Ok(()) => admission(store, bytes),
    };
    let candidate = Candidate {
        id,
        origin,
        source: source.to_string(),
        state,
        taken: None,
        kernel: Some(file.clone()),
        size: Some(bytes.len() as u64),
        sha256: Some(sha256_hex(bytes)),
        ab_report: None,
        version_id: None,
        ab_against: None,
        history: Vec::new(),
    };
    let write = bytes.len() <= pxvm::MEM_SIZE;
    let files: &[(&str, &[u8])] = if write { &[(&file, bytes)] } else { &[] };
    store.add_candidate(candidate.clone(), files)?;
    Ok(store.pipeline().get(id).cloned().unwrap_or(candidate))
}

/// `queued`, or `duplicate` of: a stored version with the same bytes; a candidate with the
/// same bytes still in the pipeline; or one that already failed for good — rejected
/// (validation depends on the bytes alone) or failed its A/B test against the version
/// that is current now.
fn admission(store: &Store, bytes: &[u8]) -> State {
    let sha = sha256_hex(bytes);
    if let Some(v) = store
        .list()
        .iter()
        .find(|e| e.sha256.as_deref() == Some(sha.as_str()))
    {
        return State::Duplicate {
            of: format!("{} (id {})", v.version, v.id),
        };
    }
    if let Some(c) = store.pipeline().in_flight_with(&sha) {
        return State::Duplicate {
            of: format!("candidate {}", c.id),
        };
    }
    let current = store.current().map(|e| e.id);
    let failed = store.pipeline().candidates.iter().rev().find(|c| {
        c.sha256.as_deref() == Some(sha.as_str())
            && match c.state {
                State::Rejected { .. } => true,
                State::AbFailed { .. } => c.ab_against == current,
                _ => false,
            }
    });
    if let Some(c) = failed {
        return State::Duplicate {
            of: format!("candidate {}, which was {}", c.id, c.state.name()),
        };
    }
    State::Queued
}

/// The bytecode of a claimed file (and whether it was assembled), or why it is rejected.
fn compile(path: &Path, source: &str) -> Result<(Vec<u8>, bool), String> {
    let meta = fs::symlink_metadata(path).map_err(|e| format!("cannot read it: {e}"))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err("a symbolic link (links are never followed)".into());
    }
    if kind.is_dir() {
        return Err("a folder, not a kernel file".into());
    }
    if !kind.is_file() {
        return Err(format!(
            "{}, not a kernel file",
            crate::util::nofollow::kind_of(&meta)
        ));
    }
    let ext = Path::new(source)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let assembly = match ext.as_deref() {
        Some("asm") => true,
        Some("bin") => false,
        _ => return Err("neither *.asm (assembly) nor *.bin (bytecode)".into()),
    };
    let limit = if assembly {
        MAX_ASM_BYTES
    } else {
        pxvm::MEM_SIZE as u64
    };
    let bytes = match nofollow::read_regular(path, limit).map_err(|e| e.to_string())? {
        Ok(bytes) => bytes,
        Err(_) if assembly => return Err(format!("assembly source over {MAX_ASM_BYTES} bytes")),
        Err(size) => return Err(pxvm::KernelTooLarge { size }.to_string()),
    };
    let bytes = if assembly {
        let text = String::from_utf8(bytes)
            .map_err(|_| "not UTF-8 text, so not assembly source".to_string())?;
        pxvm::asm::assemble(&text, source).map_err(|e| e.to_string())?
    } else {
        bytes
    };
    pxvm::vet::vet(&bytes).map_err(|e| e.to_string())?;
    Ok((bytes, assembly))
}

/// The bytecode of candidate `c`, read back from `candidates/` and checked against its
/// recorded SHA-256.
pub fn kernel_of(store: &Store, c: &Candidate) -> Result<Vec<u8>, String> {
    let file = c.kernel.as_deref().ok_or("it has no bytecode")?;
    let path = store.candidates_dir().join(file);
    let bytes = nofollow::read_regular(&path, pxvm::MEM_SIZE as u64)
        .map_err(|e| e.to_string())?
        .unwrap_or_default();
    if c.sha256.as_deref() != Some(sha256_hex(&bytes).as_str()) {
        return Err(format!(
            "{} no longer holds the bytes that were taken",
            path.display()
        ));
    }
    Ok(bytes)
}
