//! `pxos demo`: the seed's self-evolution demonstration, end to end and for real — a
//! version store, the v1.0 and v2.0 kernels (v2.0 as `build/kernel_v2.asm` and
//! `build/kernel_v2.bin`, where v1.0 looks for it), v1.0 booting and asking to be
//! replaced, the host replacing it atomically and rebooting v2.0, both outputs rendered to
//! PNG, and the version history. Steps are printed as they happen.
//!
//! Running it again on the same store does not register the same kernel twice: v1.0 runs
//! again (on a scratch machine, so that its request is shown but not installed a second
//! time), the host finds that the kernel it asks for is byte for byte the v2.0 an earlier
//! run installed, says so, makes that v2.0 current and boots it.

use super::manage::open_mut;
use super::versions::table;
use anyhow::{Context, Result, bail};
use clap::Args;
use pxos::lifecycle::boot::{Action, BootOptions, Generation, boot};
use pxos::runtime::engines::EngineKind;
use pxos::runtime::host::PxHost;
use pxos::runtime::host::files::MemFiles;
use pxos::runtime::run::run_kernel;
use pxos::store::{self, EventKind, Status, Store};
use pxos::tools::render::{self, RenderOptions};
use pxos::util::userfile;
use std::path::PathBuf;
use std::process::ExitCode;

const KERNEL_V1: &str = include_str!("../../kernels/kernel_v1.asm");
const KERNEL_V2: &str = include_str!("../../kernels/kernel_v2.asm");

/// The instruction budget of each boot in the demo.
const FUEL: u64 = 10_000;

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The version store folder.
    #[arg(long, value_name = "DIR", default_value = store::DEFAULT_DIR)]
    fs: PathBuf,
    /// Where to write evolution_v1.png and evolution_v2.png.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// The engine.
    #[arg(long, default_value = "tiered")]
    engine: EngineKind,
}

fn print_run(version: &str, sysout: &[String], cycles: u64, label: &str) {
    println!("--- Kernel {version} execution begins{label} ---");
    for line in sysout {
        println!("    {line}");
    }
    println!("--- Kernel {version} execution complete ({cycles} cycles) ---");
}

/// The newest bootable version named `name` whose kernel is `bytes`.
fn find(store: &Store, name: &str, bytes: &[u8]) -> Option<u64> {
    store
        .list()
        .iter()
        .rev()
        .find(|e| {
            e.version == name
                && e.status != Status::Bad
                && store.read_kernel(e).is_ok_and(|k| k == bytes)
        })
        .map(|e| e.id)
}

/// One boot of the store's current version (a one-generation boot cycle).
fn boot_one(store: &mut Store, engine: EngineKind) -> Result<Generation> {
    let options = BootOptions {
        engine,
        fuel: FUEL,
        max_generations: 1,
    };
    let mut booted = None;
    boot(store, &options, &mut |g| booted = Some(g.clone()))?;
    booted.context("the boot cycle ran no kernel")
}

pub fn demo(args: DemoArgs) -> Result<ExitCode> {
    // Every output — the store, the pictures' folder, the pictures — is checked before the
    // store is touched: a bad one is refused with nothing changed.
    userfile::check_folder("--fs", &args.fs)?;
    userfile::make_folder("--out", &args.out)?;
    let pictures = [
        args.out.join("evolution_v1.png"),
        args.out.join("evolution_v2.png"),
    ];
    userfile::check_distinct(&[("--out", &pictures[0]), ("--out", &pictures[1])], &[])?;
    for picture in &pictures {
        userfile::check_output(picture)?;
    }
    let rule = "=".repeat(70);
    println!("{rule}\npxOS Self-Evolution Demonstration\n{rule}");

    println!("\n[1] Initializing persistent filesystem...");
    let mut store = open_mut(&args.fs, true)?;
    println!(
        "    Version store: {} ({} versions so far)",
        args.fs.display(),
        store.list().len()
    );

    println!("\n[2] Compiling kernel versions...");
    let v1 = pxvm::asm::assemble(KERNEL_V1, "kernels/kernel_v1.asm")?;
    let v2 = pxvm::asm::assemble(KERNEL_V2, "kernels/kernel_v2.asm")?;
    println!("    Kernel v1.0: {} bytes (original)", v1.len());
    println!("    Kernel v2.0: {} bytes (evolved)", v2.len());
    // The evolved kernel waits where v1.0 looks for it: build/kernel_v2.bin (file id 301),
    // beside its source, as in the seed's layout.
    let build = args.fs.join("build");
    std::fs::create_dir_all(&build)
        .with_context(|| format!("cannot create {}", build.display()))?;
    for (name, bytes) in [
        ("kernel_v2.asm", KERNEL_V2.as_bytes()),
        ("kernel_v2.bin", &v2[..]),
    ] {
        pxos::util::atomic::write_atomic(&build.join(name), bytes)?;
    }
    println!("    build/kernel_v2.asm and build/kernel_v2.bin hold v2.0 for v1.0 to find");
    // v1.0 is the kernel to boot: reuse it if the store already has it, else register it.
    let v1_id = match find(&store, "v1.0", &v1) {
        Some(id) => id,
        None => store.register("v1.0", &v1, None, "pxos demo")?.id,
    };
    // v2.0 from an earlier run: the same bytes, a child of that v1.0.
    let earlier_v2 = find(&store, "v2.0", &v2).filter(|&id| {
        store
            .get_by_id(id)
            .is_ok_and(|e| e.parent_id == Some(v1_id))
    });
    println!("    v1.0 is version id {v1_id}");

    println!("\n[3] Booting kernel v1.0 (original)...");
    let (first_sysout, new_id) = match earlier_v2 {
        None => {
            if store.current().map(|e| e.id) != Some(v1_id) {
                store.switch(v1_id, false, EventKind::Switch, "pxos demo boots v1.0")?;
            }
            let first = boot_one(&mut store, args.engine)?;
            print_run(&first.version, &first.sysout, first.cycles, "");
            let Action::Evolved { new_id, .. } = first.action else {
                bail!("v1.0 did not request its replacement: {}", first.summary());
            };
            (first.sysout, new_id)
        }
        Some(id) => {
            println!(
                "    (an earlier run already installed v2.0, id {id}: v1.0 runs on a scratch machine, so that its request is shown but not installed twice)"
            );
            let mut files = MemFiles::new();
            files.insert("build/kernel_v2.bin", v2.clone());
            let mut engine = args.engine.build();
            let outcome = run_kernel(&v1, engine.as_mut(), PxHost::new(Box::new(files)), FUEL)?;
            print_run("v1.0", &outcome.host.sysout, outcome.machine.cycles, "");
            if outcome.host.pending.as_ref().map(|p| &p.bytes) != Some(&v2) {
                bail!("v1.0 did not request its replacement by build/kernel_v2.bin");
            }
            (outcome.host.sysout, id)
        }
    };

    println!("\n[4] SELF-MODIFICATION REQUESTED!");
    let installed = store.read_kernel(store.get_by_id(new_id)?)?;
    println!(
        "    New kernel: {} bytes from build/kernel_v2.bin",
        installed.len()
    );
    if installed != v2 {
        bail!("the installed kernel is not v2.0");
    }
    println!("    ✓ Verified: New kernel is v2.0 (evolved version)");

    let new_version = store.get_by_id(new_id)?.version.clone();
    println!("\n[5] Replacing the kernel atomically and rebooting...");
    if earlier_v2.is_some() {
        if store.current().map(|e| e.id) != Some(new_id) {
            store.switch(
                new_id,
                false,
                EventKind::Switch,
                "pxos demo: v1.0 asked again for the kernel already installed as this version",
            )?;
        }
        println!(
            "    the store already holds these bytes as {new_version} (id {new_id}), v1.0's child from an earlier run: it is current and boots again; nothing is registered twice"
        );
    } else {
        println!(
            "    v1.0 backed up; {new_version} (id {new_id}) registered as its child and made current"
        );
    }
    let second = boot_one(&mut store, args.engine)?;
    print_run(&second.version, &second.sysout, second.cycles, " (EVOLVED)");
    if second.exit != pxvm::Exit::Halt {
        bail!(
            "{} did not boot cleanly: {}",
            second.version,
            second.summary()
        );
    }
    println!(
        "    {} booted cleanly and is now good; current version: {}",
        second.version,
        store.current().map_or("none", |e| e.version.as_str())
    );

    println!("\n[6] Comparing kernel outputs...");
    for (sysout, version, path, what) in [
        (&first_sysout, "v1.0", &pictures[0], "original kernel"),
        (
            &second.sysout,
            second.version.as_str(),
            &pictures[1],
            "evolved kernel",
        ),
    ] {
        let title = Some(format!("kernel {version}"));
        render::render_png_with(sysout, path, &RenderOptions { title })?;
        println!("✓ Rendered {} ({what})", path.display());
    }
    let new_lines: Vec<_> = second
        .sysout
        .iter()
        .filter(|l| !first_sysout.contains(l))
        .collect();
    println!("    New in {}: {new_lines:?}", second.version);

    println!(
        "\nVersion history ({}):",
        args.fs.join("versions.json").display()
    );
    print!("{}", table(store.db()));
    Ok(ExitCode::SUCCESS)
}
