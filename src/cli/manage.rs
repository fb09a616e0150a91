//! `pxos register`, `pxos switch`, `pxos rollback` and `pxos verify`: the commands that
//! change a version store (each holds the store's lock while it works), plus the `--fs`
//! option and store opening shared with `pxos versions` and `pxos boot`. Input is checked
//! before the store is touched, so a refused command leaves the store as it was.

use anyhow::{Context, Result, bail};
use clap::Args;
use pxos::runtime::kernel;
use pxos::store::verify::Level;
use pxos::store::{self, EventKind, Store, StoreError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The store folder option every store command takes.
#[derive(Debug, Args)]
pub struct StoreArg {
    /// The version store folder.
    #[arg(long, value_name = "DIR", default_value = store::DEFAULT_DIR, global = true)]
    pub fs: PathBuf,
}

/// Open the store for changes, saying on stderr if another process holds its lock, and
/// printing what loading had to repair.
pub fn open_mut(root: &Path, create: bool) -> Result<Store> {
    let store = Store::open_mut(root, create, &mut |lock| {
        eprintln!(
            "pxos: waiting for another pxos process to release the store lock {}",
            lock.display()
        );
    })?;
    print_warnings(&store);
    Ok(store)
}

/// Print a store's load warnings on stderr.
pub fn print_warnings(store: &Store) {
    for w in store.warnings() {
        eprintln!("pxos: warning: {w}");
    }
}

/// After a change to a store loaded from a damaged versions.json: say where the damaged
/// file was kept (`kept` is [`Store::damaged_copy`] from before the change).
fn say_kept(store: &Store, kept: Option<PathBuf>) {
    if let Some(path) = kept.filter(|_| store.damaged_copy().is_none()) {
        eprintln!(
            "pxos: the damaged versions.json was kept as {}",
            path.display()
        );
    }
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The version name (it becomes part of a file name: no `/`, `\`, `..`, `@`, control
    /// characters; not `current`; not ending in `_backup`).
    name: String,
    /// The kernel: a .asm file (assembled first) or bytecode (1 to 65,536 bytes).
    kernel: PathBuf,
    /// The parent version's name.
    #[arg(long)]
    parent: Option<String>,
    #[command(flatten)]
    store: StoreArg,
}

pub fn register(args: RegisterArgs) -> Result<ExitCode> {
    store::validate_name(&args.name)?;
    let bytes = kernel::load(&args.kernel)?;
    // The checks the pipeline and SELF_MODIFY apply: assembly text handed over as bytes,
    // or an undefined opcode on a path from address 0, is no kernel to put on probation.
    pxvm::vet::vet(&bytes).with_context(|| format!("{} is refused", args.kernel.display()))?;
    let root = &args.store.fs;
    if let Some(parent) = &args.parent
        && !Store::exists(root)
    {
        bail!(StoreError::UnknownVersion {
            name: parent.clone(),
            root: root.clone(),
        });
    }
    let mut store = open_mut(root, true)?;
    let parent = match &args.parent {
        Some(name) => Some(store.get(name)?.id),
        None => None,
    };
    let duplicate = store.db().name_taken(&args.name);
    let kept = store.damaged_copy().map(Path::to_path_buf);
    let e = store.register(&args.name, &bytes, parent, "register")?;
    say_kept(&store, kept);
    println!(
        "registered {} (id {}, {} bytes) as kernels/{}; it is now the current version, on probation",
        e.version, e.id, e.size, e.file
    );
    if duplicate {
        println!(
            "note: {} was already a version name; this one is id {}",
            e.version, e.id
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct SwitchArgs {
    /// The version to make current (the newest of that name).
    #[arg(required_unless_present = "id")]
    name: Option<String>,
    /// Choose the version by id instead.
    #[arg(long, conflicts_with = "name")]
    id: Option<u64>,
    /// Switch to a version marked bad, putting it back on probation.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    store: StoreArg,
}

pub fn switch(args: SwitchArgs) -> Result<ExitCode> {
    if let Some(name) = &args.name {
        store::validate_name(name)?;
    }
    let mut store = open_mut(&args.store.fs, false)?;
    let id = match (&args.name, args.id) {
        (_, Some(id)) => store.get_by_id(id)?.id,
        (Some(name), None) => store.get(name)?.id,
        (None, None) => bail!("give a version name or --id"),
    };
    let kept = store.damaged_copy().map(Path::to_path_buf);
    store.switch(id, args.force, EventKind::Switch, "pxos switch")?;
    say_kept(&store, kept);
    let e = store.get_by_id(id)?;
    println!("current version: {} (id {}, {})", e.version, e.id, e.status);
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// How many generations to go back along the lineage (bad versions are skipped).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    steps: u32,
    #[command(flatten)]
    store: StoreArg,
}

pub fn rollback(args: RollbackArgs) -> Result<ExitCode> {
    let mut store = open_mut(&args.store.fs, false)?;
    let from = store
        .current()
        .map(|e| format!("{} (id {})", e.version, e.id))
        .unwrap_or_default();
    let e = store.rollback(args.steps)?;
    println!(
        "rolled back from {from} to {} (id {}, {})",
        e.version, e.id, e.status
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Only check; change nothing.
    #[arg(long)]
    check: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArg,
}

/// Exit status 0 if the store is consistent (after repairs), 1 if problems remain.
pub fn verify(args: VerifyArgs) -> Result<ExitCode> {
    let root = &args.store.fs;
    let on_wait = &mut |lock: &Path| {
        eprintln!(
            "pxos: waiting for another pxos process to release the store lock {}",
            lock.display()
        );
    };
    // A check waits for writers too: a store read mid-change shows the change's
    // temporaries and half-done steps as damage.
    let mut store = if args.check {
        Store::open_unchanging(root, on_wait)?
    } else {
        Store::open_mut(root, false, on_wait)?
    };
    let report = store.verify(!args.check)?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for f in &report.findings {
            let level = match f.level {
                Level::Note => "note",
                Level::Warning => "warning",
                Level::Error => "error",
            };
            let done = if f.repaired { " [repaired]" } else { "" };
            println!("{level}: {}{done}", f.message);
        }
        let verdict = match (report.consistent(), report.repaired_any()) {
            (true, false) => "consistent",
            (true, true) => "consistent after repairs",
            (false, _) => "NOT consistent (run `pxos verify` without --check to repair)",
        };
        println!(
            "{}: {} version(s), {} finding(s); {verdict}",
            root.display(),
            report.versions,
            report.findings.len()
        );
    }
    Ok(if report.consistent() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
