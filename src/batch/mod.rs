//! Headless batch runs: many kernels, one JSON line each (the `run --json` fields plus
//! the kernel's path and wall time), in parallel, resumable, and shardable across
//! machines ([`jobs::Shard`]); [`merge`] combines shard outputs. A broken kernel file
//! gives an error record and the batch goes on.

pub mod jobs;
pub mod merge;

use crate::engines::EngineKind;
use crate::host::files::DirFiles;
use crate::host::PxHost;
use crate::run::{run_kernel, RunReport};
use jobs::Job;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::HashSet;
use std::io::{self, BufRead, Write};
use std::path::Path;
use std::time::Instant;

/// How to run a batch.
#[derive(Clone, Debug)]
pub struct BatchOptions {
    pub engine: EngineKind,
    /// Fuel for kernels whose manifest line gives none.
    pub fuel: u64,
    /// Worker threads.
    pub threads: usize,
}

/// One output line.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub kernel: String,
    #[serde(flatten)]
    pub report: Option<RunReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub wall_ms: f64,
}

/// Run one job. Never fails: problems become an error record.
pub fn run_job(job: &Job, options: &BatchOptions) -> Record {
    let start = Instant::now();
    let result = (|| -> Result<RunReport, String> {
        let bytes = crate::kernel::load(&job.kernel).map_err(|e| e.to_string())?;
        let host = match &job.fs {
            Some(dir) => PxHost::new(Box::new(
                DirFiles::open(dir).map_err(|e| format!("cannot use {}: {e}", dir.display()))?,
            )),
            None => PxHost::default(),
        };
        let mut engine = options.engine.build();
        let outcome = run_kernel(
            &bytes,
            engine.as_mut(),
            host,
            job.fuel.unwrap_or(options.fuel),
        )
        .map_err(|e| e.to_string())?;
        Ok(outcome.report(options.engine.name()))
    })();
    let wall_ms = start.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(report) => Record {
            kernel: job.key(),
            report: Some(report),
            error: None,
            wall_ms,
        },
        Err(error) => Record {
            kernel: job.key(),
            report: None,
            error: Some(error),
            wall_ms,
        },
    }
}

/// Prepare an existing output file for resumption: cut a torn last line (left by a kill
/// mid-write) and return the kernels it already has records for.
pub fn resume(out: &Path) -> io::Result<HashSet<String>> {
    let Ok(data) = std::fs::read(out) else {
        return Ok(HashSet::new());
    };
    let complete = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if complete < data.len() {
        let file = std::fs::OpenOptions::new().write(true).open(out)?;
        file.set_len(complete as u64)?;
    }
    let mut done = HashSet::new();
    for line in data[..complete].lines() {
        let line = line?;
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
            if let Some(kernel) = value.get("kernel").and_then(|k| k.as_str()) {
                done.insert(kernel.to_string());
            }
        }
    }
    Ok(done)
}

/// Summary of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchSummary {
    pub ran: usize,
    pub errors: usize,
    pub skipped: usize,
}

/// Run `jobs` (skipping those in `done`) on a pool of `options.threads` threads, writing
/// each record as one JSON line to `out`, in input order, flushed chunk by chunk.
pub fn run(
    jobs: &[Job],
    done: &HashSet<String>,
    options: &BatchOptions,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> io::Result<BatchSummary> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.max(1))
        .build()
        .map_err(io::Error::other)?;
    let todo: Vec<&Job> = jobs.iter().filter(|j| !done.contains(&j.key())).collect();
    let mut summary = BatchSummary {
        skipped: jobs.len() - todo.len(),
        ..BatchSummary::default()
    };
    for chunk in todo.chunks(512) {
        let records: Vec<Record> =
            pool.install(|| chunk.par_iter().map(|job| run_job(job, options)).collect());
        for record in &records {
            serde_json::to_writer(&mut *out, record)?;
            out.write_all(b"\n")?;
            summary.ran += 1;
            summary.errors += usize::from(record.error.is_some());
        }
        out.flush()?;
        progress(records.len());
    }
    Ok(summary)
}
