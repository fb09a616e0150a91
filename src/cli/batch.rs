//! `pxos batch` and `pxos merge`. A batch exits with status 0 when every record is a
//! run, 1 when some kernels could not be loaded or run (their records hold the error; the
//! summary line on stderr counts them), 2 for bad usage or an unusable input or output.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pxos::runtime::engines::EngineKind;
use pxos::runtime::run::DEFAULT_FUEL;
use pxos::tools::batch::{self, BatchOptions, Shard};
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// The most worker threads `--jobs` may ask for.
pub const MAX_JOBS: u64 = 1024;

#[derive(Debug, Args)]
pub struct BatchArgs {
    /// Kernel files (.asm or bytecode), folders of them, or .jsonl manifests
    /// (one {"kernel": PATH, "fuel": N, "fs": DIR} per line).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The engine.
    #[arg(long, default_value = "tiered")]
    engine: EngineKind,
    /// Fuel for each kernel (a manifest line may set its own).
    #[arg(long, default_value_t = DEFAULT_FUEL)]
    fuel: u64,
    /// Worker threads, 1 to 1,024 (default: one per core).
    #[arg(long, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_JOBS))]
    jobs: Option<usize>,
    /// Run only shard K of N (0 <= K < N): a deterministic 1/N of the inputs.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Append records to FILE; kernels already recorded there are skipped (resumable).
    /// The file is locked while the batch runs: a second batch with the same FILE is
    /// refused.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Batch outputs to combine (e.g. one per shard).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Write the merged records here (default: stdout).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// The inputs are the outputs of `--shard K/N` with this N: check that each holds one
    /// shard and that no shard is missing (an error names the missing ones; nothing is
    /// written).
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<u64>::new().range(1..=1_000_000))]
    expect_shards: Option<u64>,
}

pub fn batch(args: BatchArgs) -> Result<ExitCode> {
    let mut all = batch::collect(&args.inputs)?;
    if let Some(shard) = args.shard {
        all.retain(|job| shard.takes(job));
    }
    let options = BatchOptions {
        engine: args.engine,
        fuel: args.fuel,
        threads: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        shard: args.shard,
    };
    let (done, mut sink): (HashSet<String>, Box<dyn Write>) = match &args.out {
        Some(path) => {
            let out = batch::open_output(path)?;
            out.check(&all, &options)?;
            (out.done, Box::new(std::io::BufWriter::new(out.file)))
        }
        None => (HashSet::new(), Box::new(std::io::stdout().lock())),
    };
    let bar = ProgressBar::new(all.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} kernels {per_sec}")
            .expect("static template"),
    );
    let start = std::time::Instant::now();
    let out_name = args
        .out
        .as_ref()
        .map_or("standard output".to_string(), |p| p.display().to_string());
    let summary = batch::run(&all, &done, &options, sink.as_mut(), &mut |n| {
        bar.inc(n as u64)
    })
    .with_context(|| format!("cannot write {out_name}"))?;
    bar.finish_and_clear();
    let skipped = if summary.skipped > 0 {
        format!(
            ", {} skipped (not regular files; see their records)",
            summary.skipped
        )
    } else {
        String::new()
    };
    eprintln!(
        "batch: {} kernels run ({} errors{skipped}), {} already done, in {:.2} s",
        summary.ran - summary.skipped,
        summary.errors,
        summary.already_done,
        start.elapsed().as_secs_f64()
    );
    if summary.errors > 0 {
        eprintln!(
            "pxos: {} of {} kernels could not be loaded or run; their records say why (exit status 1)",
            summary.errors,
            summary.ran - summary.skipped
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn merge(args: MergeArgs) -> Result<ExitCode> {
    let records = batch::merge(&args.inputs, args.expect_shards)?;
    let mut text = String::new();
    for record in &records {
        text += &serde_json::to_string(record)?;
        text.push('\n');
    }
    match &args.out {
        Some(path) => batch::write_locked(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    eprintln!("merge: {} records", records.len());
    Ok(ExitCode::SUCCESS)
}
