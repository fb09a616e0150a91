//! `pxos run`: boot one kernel and report the run.

use anyhow::{Context, Result};
use clap::Args;
use pxos::engines::EngineKind;
use pxos::host::files::DirFiles;
use pxos::host::PxHost;
use pxos::kernel;
use pxos::render::{self, RenderOptions};
use pxos::run::{run_kernel, DEFAULT_FUEL};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The kernel: a .asm file (assembled first) or bytecode (at most 65,536 bytes).
    kernel: PathBuf,
    /// The engine.
    #[arg(long, default_value = "interp")]
    engine: EngineKind,
    /// Stop after this many retired instructions.
    #[arg(long, default_value_t = DEFAULT_FUEL)]
    fuel: u64,
    /// Back the guest's files with this folder (default: in memory, discarded).
    #[arg(long, value_name = "DIR")]
    fs: Option<PathBuf>,
    /// Print exactly one JSON object describing the run.
    #[arg(long)]
    json: bool,
    /// Also render the run's output lines (a drawing script) as a PNG picture here.
    #[arg(long, value_name = "OUT.png")]
    png: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let bytes = kernel::load(&args.kernel)?;
    let host = match &args.fs {
        Some(dir) => PxHost::new(Box::new(
            DirFiles::open(dir).with_context(|| format!("cannot use {} as --fs", dir.display()))?,
        )),
        None => PxHost::default(),
    };
    let mut engine = args.engine.build();
    let outcome = run_kernel(&bytes, engine.as_mut(), host, args.fuel)?;
    let report = outcome.report(args.engine.name());
    if let Some(out) = &args.png {
        let title = args
            .kernel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        render::render_png_with(&report.sysout, out, &RenderOptions { title })?;
        eprintln!("wrote {}", out.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for line in &report.sysout {
            println!("{line}");
        }
        println!("{}", report.summary());
    }
    Ok(ExitCode::SUCCESS)
}
