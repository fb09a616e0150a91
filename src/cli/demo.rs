//! `pxos demo`: the seed's self-evolution demonstration, end to end and for real — a
//! version store, the v1.0 and v2.0 kernels, v1.0 booting and asking to be replaced, the
//! host replacing it atomically and rebooting v2.0, both outputs rendered to PNG, and the
//! version history. Running it again adds to the same store's history.

use super::manage::open_mut;
use super::versions::table;
use anyhow::{bail, Context, Result};
use clap::Args;
use pxos::boot::{boot, Action, BootOptions, Generation};
use pxos::engines::EngineKind;
use pxos::render::{self, RenderOptions};
use pxos::store::{self, EventKind, Status};
use std::path::PathBuf;
use std::process::ExitCode;

const KERNEL_V1: &str = include_str!("../../kernels/kernel_v1.asm");
const KERNEL_V2: &str = include_str!("../../kernels/kernel_v2.asm");

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

fn print_run(g: &Generation, label: &str) {
    println!("--- Kernel {} execution begins{label} ---", g.version);
    for line in &g.sysout {
        println!("    {line}");
    }
    println!(
        "--- Kernel {} execution complete ({} cycles) ---",
        g.version, g.cycles
    );
}

pub fn demo(args: DemoArgs) -> Result<ExitCode> {
    let rule = "=".repeat(70);
    println!("{rule}\npxOS Self-Evolution Demonstration\n{rule}");

    println!("\n[1] Initializing persistent filesystem...");
    let mut store = open_mut(&args.fs, true)?;
    println!(
        "    Version store: {} ({} versions so far)",
        args.fs.display(),
        store.list().len()
    );

    println!("[2] Compiling kernel versions...");
    let v1 = pxvm::asm::assemble(KERNEL_V1, "kernels/kernel_v1.asm")?;
    let v2 = pxvm::asm::assemble(KERNEL_V2, "kernels/kernel_v2.asm")?;
    println!("    Kernel v1.0: {} bytes (original)", v1.len());
    println!("    Kernel v2.0: {} bytes (evolved)", v2.len());
    // v1.0 is the kernel to boot: reuse it if the store already has it, else register it.
    let existing = store
        .list()
        .iter()
        .rev()
        .find(|e| {
            e.version == "v1.0"
                && e.status != Status::Bad
                && store.read_kernel(e).is_ok_and(|k| k == v1)
        })
        .map(|e| e.id);
    let v1_id = match existing {
        Some(id) => {
            store.switch(id, false, EventKind::Switch, "pxos demo boots v1.0 again")?;
            id
        }
        None => store.register("v1.0", &v1, None, "pxos demo")?.id,
    };
    // The evolved kernel waits where v1.0 looks for it: build/kernel_v2.bin (file id 301).
    let build = args.fs.join("build");
    std::fs::create_dir_all(&build)
        .with_context(|| format!("cannot create {}", build.display()))?;
    std::fs::write(build.join("kernel_v2.bin"), &v2)
        .with_context(|| format!("cannot write {}", build.join("kernel_v2.bin").display()))?;
    println!("    v1.0 is version id {v1_id}; build/kernel_v2.bin holds v2.0 for it to find");

    println!("\n[3] Booting kernel v1.0 (original)...");
    let options = BootOptions {
        engine: args.engine,
        fuel: 10_000,
        max_generations: 2,
    };
    let mut generations: Vec<Generation> = Vec::new();
    let summary = boot(&mut store, &options, &mut |g| generations.push(g.clone()))?;
    let Some(first) = generations.first() else {
        bail!("the boot cycle ran no kernel");
    };
    print_run(first, "");
    let Action::Evolved {
        new_version,
        new_id,
        ..
    } = &first.action
    else {
        bail!("v1.0 did not request its replacement: {}", first.summary());
    };

    println!("\n[4] SELF-MODIFICATION REQUESTED!");
    let installed = store.read_kernel(store.get_by_id(*new_id)?)?;
    println!(
        "    New kernel: {} bytes from build/kernel_v2.bin",
        installed.len()
    );
    if installed == v2 {
        println!("    ✓ Verified: New kernel is v2.0 (evolved version)");
    } else {
        bail!("the installed kernel is not v2.0");
    }

    println!("\n[5] Replacing the kernel atomically and rebooting...");
    println!(
        "    v1.0 backed up; {new_version} (id {new_id}) registered as its child and made current"
    );
    let Some(second) = generations.get(1) else {
        bail!("the host did not reboot into {new_version}");
    };
    print_run(second, " (EVOLVED)");
    if second.exit != "halt" {
        bail!(
            "{} did not boot cleanly: {}",
            second.version,
            second.summary()
        );
    }
    println!(
        "    {} booted cleanly and is now good; current version: {}",
        second.version,
        summary.current.as_deref().unwrap_or("none")
    );

    println!("\n[6] Comparing kernel outputs...");
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    for (g, name, what) in [
        (first, "evolution_v1.png", "original kernel"),
        (second, "evolution_v2.png", "evolved kernel"),
    ] {
        let path = args.out.join(name);
        let title = Some(format!("kernel {}", g.version));
        render::render_png_with(&g.sysout, &path, &RenderOptions { title })?;
        println!("✓ Rendered {} ({what})", path.display());
    }
    let new_lines: Vec<_> = second
        .sysout
        .iter()
        .filter(|l| !first.sysout.contains(l))
        .collect();
    println!("    New in {}: {new_lines:?}", second.version);

    println!(
        "\nVersion history ({}):",
        args.fs.join("versions.json").display()
    );
    print!("{}", table(store.db()));
    Ok(ExitCode::SUCCESS)
}
