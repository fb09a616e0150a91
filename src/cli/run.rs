//! `pxos run`: boot one kernel and report the run.

use anyhow::{Context, Result};
use clap::Args;
use pxos::check::difftest::{Scenario, first_divergence, run_reference};
use pxos::runtime::engines::EngineKind;
use pxos::runtime::host::PxHost;
use pxos::runtime::host::files::{DirFiles, FileStore, MemFiles, OtherFiles};
use pxos::runtime::kernel;
use pxos::runtime::run::{DEFAULT_FUEL, run_kernel};
use pxos::tools::render::{self, RenderOptions};
use pxos::util::userfile;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The kernel: a .asm file (assembled first) or bytecode (at most 65,536 bytes).
    kernel: PathBuf,
    /// The engine: interp, jit, tiered, or both (every engine beside the reference
    /// interpreter, stopping at the first divergence with a report).
    #[arg(long, default_value = "tiered")]
    engine: EngineChoice,
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

/// `--engine`: one engine, or `both`.
#[derive(Clone, Copy, Debug)]
enum EngineChoice {
    One(EngineKind),
    Both,
}

impl std::str::FromStr for EngineChoice {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "both" => Ok(EngineChoice::Both),
            _ => s
                .parse()
                .map(EngineChoice::One)
                .map_err(|e| format!("{e}, or both")),
        }
    }
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    if let Some(png) = &args.png {
        userfile::check_distinct(&[("--png", png)], &[("the kernel", &args.kernel)])?;
        userfile::check_output(png).context("--png")?;
    }
    if let Some(dir) = &args.fs {
        userfile::check_folder("--fs", dir)?;
    }
    let bytes = kernel::load(&args.kernel)?;
    let kind = match args.engine {
        EngineChoice::One(kind) => kind,
        EngineChoice::Both => return run_both(&args, bytes),
    };
    let host = match &args.fs {
        Some(dir) => PxHost::new(Box::new(
            DirFiles::open(dir).with_context(|| format!("cannot use {} as --fs", dir.display()))?,
        )),
        None => PxHost::default(),
    };
    let mut engine = kind.build();
    let outcome = run_kernel(&bytes, engine.as_mut(), host, args.fuel)?;
    print_report(&args, &outcome.report(kind.name()))?;
    Ok(ExitCode::SUCCESS)
}

/// `--engine both`: run the reference interpreter and every engine on copies of the same
/// files; print the common result, or the first instruction where an engine diverges
/// (exit status 1). With `--fs`, the folder is read but never written.
fn run_both(args: &RunArgs, bytes: Vec<u8>) -> Result<ExitCode> {
    let files = match &args.fs {
        Some(dir) => MemFiles::copy_of_dir(dir, OtherFiles::Skip)
            .with_context(|| format!("cannot read {} for --fs", dir.display()))?
            .snapshot()
            .unwrap_or_default(),
        None => Default::default(),
    };
    let scenario = Scenario {
        kernel: bytes,
        files,
        fuel: args.fuel,
    };
    for &kind in EngineKind::ALL {
        if let Some(point) = first_divergence(kind, &scenario)? {
            eprintln!(
                "DIVERGENCE: {} leaves the reference interpreter at pc {:#06x} ({}) after {} instructions, executing `{}`:\n{}",
                kind.name(),
                point.pc,
                point.pc,
                point.cycles,
                point.instruction,
                point.difference.trim_end()
            );
            return Ok(ExitCode::from(1));
        }
    }
    let mut report = run_reference(&scenario)?.report;
    report.engine = "both".to_string();
    print_report(args, &report)?;
    Ok(ExitCode::SUCCESS)
}

fn print_report(args: &RunArgs, report: &pxos::runtime::run::RunReport) -> Result<()> {
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
    Ok(())
}
