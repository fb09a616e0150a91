//! `pxos boot`: run the store's boot cycle (see `pxos::lifecycle::boot`) and print one line per
//! generation — the kernel's output lines first unless `--quiet` — or, with `--json`, one
//! JSON object per generation.

use super::manage::{StoreArg, open_mut};
use anyhow::Result;
use clap::Args;
use pxos::lifecycle::boot::{BootOptions, Stop, boot as boot_cycle};
use pxos::runtime::engines::EngineKind;
use pxos::runtime::run::DEFAULT_FUEL;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct BootArgs {
    /// The engine (a fresh instance for every boot).
    #[arg(long, default_value = "tiered")]
    engine: EngineKind,
    /// Each boot stops after this many retired instructions (a boot that does not halt
    /// within it fails its assessment).
    #[arg(long, default_value_t = DEFAULT_FUEL, value_parser = clap::value_parser!(u64).range(1..))]
    fuel: u64,
    /// Most boots (generations) in this run.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    max_generations: u32,
    /// Print one JSON object per generation.
    #[arg(long)]
    json: bool,
    /// Leave out the kernels' output lines.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    store: StoreArg,
}

pub fn boot(args: BootArgs) -> Result<ExitCode> {
    let mut store = open_mut(&args.store.fs, false)?;
    let opts = BootOptions {
        engine: args.engine,
        fuel: args.fuel,
        max_generations: args.max_generations,
    };
    let mut failed_json = None;
    let summary = boot_cycle(&mut store, &opts, &mut |g| {
        if args.json {
            let mut g = g.clone();
            if args.quiet {
                g.sysout.clear();
            }
            match serde_json::to_string(&g) {
                Ok(line) => println!("{line}"),
                Err(e) => failed_json = Some(e),
            }
        } else {
            if !args.quiet {
                for line in &g.sysout {
                    println!("{line}");
                }
            }
            println!("{}", g.summary());
        }
    })?;
    if let Some(e) = failed_json {
        return Err(e.into());
    }
    if !args.json {
        let why = match summary.stop {
            Stop::Halted => "the kernel halted without asking for a replacement",
            Stop::Queued => {
                "the kernel's SELF_MODIFY request went to the pipeline as a candidate (`pxos status` follows it)"
            }
            Stop::RolledBack if summary.current.is_none() => {
                "a version on probation failed and no good version was left to roll back to (`pxos switch --force NAME` puts a version marked bad back on probation)"
            }
            Stop::RolledBack => "a version on probation failed and was rolled back",
            Stop::Failed => "a good version failed",
            Stop::Limit => "the generation limit was reached",
            Stop::Canary => "the rollout's canary booted (one canary boot per cycle)",
        };
        let current = match (&summary.current, summary.current_id) {
            (Some(v), Some(id)) => format!("{v} (id {id})"),
            _ => "none".to_string(),
        };
        println!(
            "boot: {} generation(s); stopped because {why}; current version: {current}",
            summary.generations
        );
    }
    Ok(ExitCode::SUCCESS)
}
