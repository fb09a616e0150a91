//! `pxos bench`: the benchmark suite on each engine and natively, with every result
//! checked; a table (or one JSON document) on stdout, progress on stderr.

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use pxos::runtime::engines::EngineKind;
use pxos::tools::bench::{self, BenchOptions};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Only this kernel (countdown, fib_iter, fib_rec, sieve, matmul, memcpy,
    /// syscall_loop, self_patch_loop, kernel_v1).
    #[arg(long)]
    kernel: Option<String>,
    /// Only this engine (default: all); the native references (`native`, and
    /// `native-optimised` where LLVM changes the algorithm) are always measured.
    #[arg(long)]
    engine: Option<EngineKind>,
    /// Minimum sampling time per measurement, in milliseconds (each engine is measured
    /// twice: warm, and on a new engine for the first-run time). Sampling also stops at
    /// 30 samples (each at least about 2 ms of runs), so on small kernels a measurement
    /// may take less than this.
    #[arg(long, default_value_t = 300)]
    min_ms: u64,
    /// Print one JSON document instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn bench(args: BenchArgs) -> Result<ExitCode> {
    let kernels = bench::select(args.kernel.as_deref())?;
    let engines: Vec<EngineKind> = match args.engine {
        Some(kind) => vec![kind],
        None => EngineKind::ALL.to_vec(),
    };
    let options = BenchOptions {
        min_time: Duration::from_millis(args.min_ms),
        ..BenchOptions::default()
    };
    let steps: usize = kernels
        .iter()
        .map(|k| {
            engines.len()
                + usize::from(k.native.is_some())
                + usize::from(k.native_optimised.is_some())
        })
        .sum();
    let bar = ProgressBar::new(steps as u64).with_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").expect("static template"),
    );
    let report = bench::run(&kernels, &engines, &options, &mut |msg| {
        bar.set_message(msg.to_string());
        bar.inc(1);
    });
    bar.finish_and_clear();
    let report = report?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("machine: {}\n", report.machine);
        print!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
