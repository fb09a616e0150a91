//! `pxos fuzz`: differential fuzzing of every engine against the interpreter until time
//! is up; each divergent program is minimised and written as `.bin` plus `.json`.

use anyhow::{Context, Result};
use clap::Args;
use pxos::check::fuzz::{Finding, check_seed};
use pxos::util::userfile;
use rayon::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct FuzzArgs {
    /// How long to fuzz.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// The first seed; programs use seeds S, S+1, S+2, ... up to 18446744073709551615.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write divergent programs: a folder, or one to be made in an existing folder.
    #[arg(long, value_name = "DIR", default_value = "fuzz-out")]
    out: PathBuf,
}

const BATCH: u64 = 256;

pub fn fuzz(args: FuzzArgs) -> Result<ExitCode> {
    // A missing --out is made when the first divergence is written, but whether it can be
    // is checked now, not after the run.
    userfile::check_folder("--out", &args.out)?;
    let engines: Vec<_> = pxos::runtime::engines::EngineKind::ALL
        .iter()
        .map(|k| k.name())
        .collect();
    eprintln!(
        "fuzzing engines {} for {} s from seed {}",
        engines.join(", "),
        args.seconds,
        args.seed
    );
    let start = Instant::now();
    let limit = Duration::from_secs(args.seconds);
    // The next seed to try; `None` once u64::MAX has been tried (seeds never wrap).
    let mut next = Some(args.seed);
    let mut programs = 0u64;
    let mut findings = 0usize;
    while let Some(first) = next
        && start.elapsed() < limit
    {
        let last = first.saturating_add(BATCH - 1);
        let batch: Vec<Finding> = (first..=last)
            .into_par_iter()
            .filter_map(check_seed)
            .collect();
        programs += last - first + 1;
        next = last.checked_add(1);
        for finding in &batch {
            let path = write_finding(&args.out, finding)?;
            eprintln!(
                "DIVERGENCE seed {} -> {}\n{}",
                finding.seed,
                path.display(),
                finding.report
            );
        }
        findings += batch.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let next = match next {
        Some(seed) => format!("next seed {seed}"),
        None => format!("every seed up to {} tried", u64::MAX),
    };
    println!(
        "{programs} program{} in {secs:.1} s ({:.0} programs/s), {findings} divergent; {next}",
        if programs == 1 { "" } else { "s" },
        programs as f64 / secs.max(1e-9)
    );
    Ok(if findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_finding(dir: &Path, f: &Finding) -> Result<PathBuf> {
    userfile::make_folder("--out", dir)?;
    let bin = dir.join(format!("seed-{}.bin", f.seed));
    std::fs::write(&bin, &f.minimised.kernel)
        .with_context(|| format!("cannot write {}", bin.display()))?;
    let files: serde_json::Map<_, _> = f
        .minimised
        .files
        .iter()
        .map(|(k, v)| (k.clone(), json!(hex::encode(v))))
        .collect();
    let report = json!({
        "seed": f.seed,
        "fuel": f.minimised.fuel,
        "files_hex": files,
        "original_size": f.original.kernel.len(),
        "original_fuel": f.original.fuel,
        "minimised_size": f.minimised.kernel.len(),
        "divergence": f.report,
        "disassembly": pxvm::disasm::disassemble(&f.minimised.kernel),
    });
    let json_path = bin.with_extension("json");
    std::fs::write(&json_path, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    Ok(bin)
}
