//! `pxos batch` and `pxos merge`.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pxos::batch::{self, jobs, BatchOptions};
use pxos::engines::EngineKind;
use pxos::run::DEFAULT_FUEL;
use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

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
    /// Worker threads (default: one per core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard K of N (0 <= K < N): a deterministic 1/N of the inputs.
    #[arg(long, value_name = "K/N")]
    shard: Option<jobs::Shard>,
    /// Append records to FILE; kernels already recorded there are skipped (resumable).
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
}

pub fn batch(args: BatchArgs) -> Result<ExitCode> {
    let mut all = jobs::collect(&args.inputs)?;
    if let Some(shard) = args.shard {
        all.retain(|job| shard.takes(job));
    }
    let options = BatchOptions {
        engine: args.engine,
        fuel: args.fuel,
        threads: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
    };
    let (done, mut sink): (HashSet<String>, Box<dyn Write>) = match &args.out {
        Some(path) => {
            let done = batch::resume(path)
                .with_context(|| format!("cannot resume from {}", path.display()))?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            (done, Box::new(std::io::BufWriter::new(file)))
        }
        None => (HashSet::new(), Box::new(std::io::stdout().lock())),
    };
    let bar = ProgressBar::new(all.len() as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} kernels {per_sec}")
            .expect("static template"),
    );
    let start = std::time::Instant::now();
    let summary = batch::run(&all, &done, &options, sink.as_mut(), &mut |n| {
        bar.inc(n as u64)
    })?;
    bar.finish_and_clear();
    eprintln!(
        "batch: {} kernels run ({} errors), {} already done, in {:.2} s",
        summary.ran,
        summary.errors,
        summary.skipped,
        start.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn merge(args: MergeArgs) -> Result<ExitCode> {
    let records = batch::merge::merge(&args.inputs)?;
    let mut text = String::new();
    for record in &records {
        text += &serde_json::to_string(record)?;
        text.push('\n');
    }
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    eprintln!("merge: {} records", records.len());
    Ok(ExitCode::SUCCESS)
}
