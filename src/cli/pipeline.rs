//! The Phase 3 commands: `pxos watch` (the pipeline service), `pxos ab` (an A/B test of two
//! kernels), `pxos policy show|set` (the store's policy.json) and `pxos status` (where the
//! pipeline stands). The logic is `pxos::lifecycle::pipeline`'s; this layer parses and prints.

use super::manage::StoreArg;
use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use pxos::lifecycle::pipeline::{
    POLICY_FILE, Policy, WatchOptions, ab_test, keys, load_workload, side_by_side_png,
    watch as run_watch, window,
};
use pxos::store::Store;
use pxos::util::atomic;
use pxos::util::date;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Take every step that can be taken now, then exit (for cron and tests).
    #[arg(long)]
    once: bool,
    /// Poll build/ every MS milliseconds instead of using file-system notifications (for
    /// network file systems).
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    poll: Option<u64>,
    #[command(flatten)]
    store: StoreArg,
}

pub fn watch(args: WatchArgs) -> Result<ExitCode> {
    let opts = WatchOptions {
        once: args.once,
        poll: args.poll.map(Duration::from_millis),
    };
    // println! (not a write whose error is ignored): a log that cannot be written ends the
    // service with a message (`stdout_errors_end_quietly` in cli/mod.rs).
    run_watch(&args.store.fs, opts, &mut |line| {
        println!("[{}] {line}", date::now_utc());
    })?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct AbArgs {
    /// Kernel A (what runs today): a .asm or bytecode file, or a version name in --fs.
    a: String,
    /// Kernel B (the change): a .asm or bytecode file, or a version name in --fs.
    b: String,
    /// The workload folder (one sub-folder per scenario); default: the store's
    /// workload/ if --fs names a store, else one plain boot.
    #[arg(long, value_name = "DIR")]
    workload: Option<PathBuf>,
    /// Fuel of scenarios that do not set their own (default: the store policy's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=pxos::lifecycle::pipeline::MAX_FUEL))]
    fuel: Option<u64>,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Draw both kernels' renders side by side, one row per scenario.
    #[arg(long, value_name = "OUT.png")]
    png: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
}

/// A kernel named on the command line: an existing file, else a version of the store. A
/// name that is both (a file `v1.0` in this folder and a version `v1.0`) is refused rather
/// than guessed: `./v1.0` names the file (a version name has no `/`).
fn kernel_arg(name: &str, store: &Path) -> Result<(String, Vec<u8>)> {
    let path = Path::new(name);
    if path.exists() {
        if !name.contains('/') && Store::exists(store) && Store::open(store)?.get(name).is_ok() {
            bail!(
                "{name} is both a file here and a version of {}; write ./{name} for the file, or move the file away for the version",
                store.display()
            );
        }
        return Ok((name.to_string(), pxos::runtime::kernel::load(path)?));
    }
    if !Store::exists(store) {
        bail!(
            "{name}: no such file, and {} is not a version store to look it up in",
            store.display()
        );
    }
    let store = Store::open(store)?;
    let entry = store.get(name)?.clone();
    Ok((
        format!("{} (id {})", entry.version, entry.id),
        store.read_kernel(&entry)?,
    ))
}

pub fn ab(args: AbArgs) -> Result<ExitCode> {
    if let Some(png) = &args.png {
        pxos::util::userfile::check_output(png)?;
    }
    let policy = if Store::exists(&args.store.fs) {
        Policy::load(&args.store.fs)?
    } else {
        Policy::default()
    };
    let (a_name, a) = kernel_arg(&args.a, &args.store.fs)?;
    let (b_name, b) = kernel_arg(&args.b, &args.store.fs)?;
    let workload = match &args.workload {
        Some(dir) => {
            if !dir.is_dir() {
                bail!("--workload {}: not a folder", dir.display());
            }
            Some(dir.clone())
        }
        None if Store::exists(&args.store.fs) => Some(pxos::lifecycle::pipeline::store_workload(
            &args.store.fs,
            &policy.workload,
        )?),
        None => None,
    };
    let scenarios = load_workload(workload.as_deref(), args.fuel.unwrap_or(policy.fuel))?;
    let report =
        ab_test(&a_name, &a, &b_name, &b, &scenarios, &policy.ab).map_err(|e| anyhow!(e))?;
    if let Some(png) = &args.png {
        let bytes = side_by_side_png(&report)?;
        pxos::util::userfile::write_output(png, &bytes)?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print!("{}", report.table());
    }
    Ok(if report.pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    action: PolicyAction,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Debug, Subcommand)]
enum PolicyAction {
    /// Print the policy (the defaults where policy.json says nothing).
    Show,
    /// Set one field by its dotted name; `pxos policy keys` lists them.
    Set { key: String, value: String },
    /// List the keys `set` accepts.
    Keys,
}

pub fn policy(args: PolicyArgs) -> Result<ExitCode> {
    let root = &args.store.fs;
    match args.action {
        PolicyAction::Keys => {
            for (key, value) in keys() {
                println!("{key:<28} {value}");
            }
        }
        PolicyAction::Show => {
            let policy = if Store::exists(root) {
                Policy::load(root)?
            } else {
                Policy::default()
            };
            print!("{}", String::from_utf8_lossy(&policy.to_json()));
        }
        PolicyAction::Set { key, value } => {
            if !Store::exists(root) {
                bail!(
                    "{} is not a version store; `pxos register` creates one",
                    root.display()
                );
            }
            let _store = super::manage::open_mut(root, false)?; // the store lock
            let mut policy = Policy::load(root)?;
            policy.set(&key, &value)?;
            atomic::write_atomic(&root.join(POLICY_FILE), &policy.to_json())?;
            println!("{key} = {value}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    /// How many recent candidates to list (the newest first).
    #[arg(long, default_value_t = 20)]
    last: usize,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Debug, Serialize)]
struct Status<'a> {
    current: Option<String>,
    current_id: Option<u64>,
    rollout: Option<serde_json::Value>,
    candidates: Vec<&'a pxos::store::candidates::Candidate>,
    window_open: bool,
    next_window: Option<String>,
    policy: &'a Policy,
}

/// A unit enum's name as policy.json writes it.
fn json_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn status(args: StatusArgs) -> Result<ExitCode> {
    let root = &args.store.fs;
    let store = Store::open(root)?;
    super::manage::print_warnings(&store);
    let policy = Policy::load(root)?;
    let now = window::now().map_err(|e| anyhow!(e))?;
    let pipeline = store.pipeline();
    let current = store.current();
    let rollout = pipeline.rollout.as_ref().map(|r| {
        let canary = store
            .get_by_id(r.version_id)
            .map(|e| e.version.clone())
            .unwrap_or_default();
        serde_json::json!({
            "candidate": r.candidate, "canary": canary, "canary_id": r.version_id,
            "stage": r.stage + 1, "stages": r.stages, "share_percent": r.stages.get(r.stage),
            "clean_boots": r.clean_boots, "boots_per_stage": r.boots_per_stage,
            "boots_in_stage": r.stage_boots,
        })
    });
    let recent: Vec<_> = pipeline.candidates.iter().rev().take(args.last).collect();
    let next_window = if window::open(&policy.windows, now) {
        None
    } else {
        window::next_open(&policy.windows, now).map(date::format_unix)
    };
    let status = Status {
        current: current.map(|e| e.version.clone()),
        current_id: current.map(|e| e.id),
        rollout,
        candidates: recent.clone(),
        window_open: window::open(&policy.windows, now),
        next_window,
        policy: &policy,
    };
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    out += &format!(
        "current:  {}\n",
        current.map_or("none".to_string(), |e| format!(
            "{} (id {}, {})",
            e.version, e.id, e.status
        ))
    );
    match &pipeline.rollout {
        Some(r) => {
            let canary = store
                .get_by_id(r.version_id)
                .map(|e| e.version.clone())
                .unwrap_or_default();
            out += &format!(
                "canary:   {canary} (id {}, candidate {}) in stage {} of {} ({} % of boots): {} of {} clean boots\n",
                r.version_id,
                r.candidate,
                r.stage + 1,
                r.stages.len(),
                r.stages.get(r.stage).copied().unwrap_or(100),
                r.clean_boots,
                r.boots_per_stage
            );
        }
        None => out += "canary:   none\n",
    }
    let windows: Vec<String> = policy.windows.iter().map(|w| w.to_string()).collect();
    out += &format!(
        "windows:  {} ({})\n",
        if windows.is_empty() {
            "always".to_string()
        } else {
            windows.join("; ")
        },
        if status.window_open {
            "open now".to_string()
        } else {
            format!(
                "closed; next opens {}",
                status.next_window.as_deref().unwrap_or("never")
            )
        }
    );
    let evolve = policy.evolve.as_ref().map_or("off".to_string(), |e| {
        format!(
            "{} ({} generations from each new current version)",
            json_name(&e.goal),
            e.generations
        )
    });
    out += &format!(
        "policy:   self_modify {}; background evolution {evolve}\n",
        json_name(&policy.self_modify)
    );
    out += &format!(
        "candidates ({} in all, newest first):\n",
        pipeline.candidates.len()
    );
    for c in &recent {
        out += &format!(
            "  {:>4}  {:<11} {:<40} {}\n",
            c.id,
            c.origin.as_str(),
            c.source,
            c.state
        );
        if let Some(report) = &c.ab_report {
            out += &format!(
                "        A/B report: {}\n",
                store.candidates_dir().join(report).display()
            );
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}
