//! Headless batch runs: many kernels, one JSON line each (the `run --json` fields plus
//! the kernel's path and wall time), in parallel, resumable, and shardable across
//! machines ([`Shard`]); [`merge`] combines shard outputs. The kernels to run are
//! [`collect`]ed from files, folders and manifests. A broken kernel file
//! gives an error record and the batch goes on.
//!
//! The output file ([`open_output`]) is locked while a batch appends to it, so two batches
//! given the same `--out` never interleave their lines: the second is refused. Reading it
//! back for resumption keeps at most [`RESUME_HEAD_BYTES`] of a line in memory.

mod jobs;
mod merge;

pub use jobs::{InputError, Job, MAX_MANIFEST_BYTES, Shard, collect};
pub use merge::{MAX_RECORD_BYTES, MergeError, merge, without_wall_time};

use crate::runtime::engines::EngineKind;
use crate::runtime::host::PxHost;
use crate::runtime::host::files::DirFiles;
use crate::runtime::run::{RunReport, run_kernel};
use crate::util::userfile::{self, FileError};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;
use thiserror::Error;

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
    /// Why a folder entry was not run (a symbolic link, a FIFO, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub wall_ms: f64,
}

/// Run one job. Never fails: problems become an error record.
pub fn run_job(job: &Job, options: &BatchOptions) -> Record {
    if let Some(why) = &job.skip {
        return Record {
            kernel: job.key(),
            report: None,
            error: None,
            skipped: Some(why.clone()),
            wall_ms: 0.0,
        };
    }
    let start = Instant::now();
    let result = (|| -> Result<RunReport, String> {
        let bytes = crate::runtime::kernel::load(&job.kernel).map_err(|e| e.to_string())?;
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
            skipped: None,
            wall_ms,
        },
        Err(error) => Record {
            kernel: job.key(),
            report: None,
            error: Some(error),
            skipped: None,
            wall_ms,
        },
    }
}

/// How much of each output line resumption keeps in memory; a longer line (a run with
/// a very long output) is parsed again from the file, streaming.
pub const RESUME_HEAD_BYTES: usize = 64 << 10;

/// Why a batch output cannot be used.
#[derive(Debug, Error)]
pub enum OutputError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{} is being written by another pxos batch (it holds the file's lock); wait for that batch to finish or give another --out", path.display())]
    Locked { path: PathBuf },
}

/// An output file opened for a batch: records are appended to `file`; `done` holds the
/// kernels it already has records for. A regular file stays locked (exclusively) until
/// `file` is dropped.
#[derive(Debug)]
pub struct Output {
    pub file: File,
    pub done: HashSet<String>,
}

/// Open (creating it and its folder if needed) and lock the batch output `path`, cut a
/// torn last line (left by a kill mid-write) and learn which kernels it already has
/// records for. Another batch holding the lock is an error ([`OutputError::Locked`]),
/// never a wait. A FIFO or device (`/dev/null`, `/dev/full`) is written through: there is
/// nothing to resume or lock.
pub fn open_output(path: &Path) -> Result<Output, OutputError> {
    let write_err = |error| FileError::Write {
        path: path.to_path_buf(),
        error,
    };
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return Ok(Output {
            file: userfile::open_append(path)?,
            done: HashSet::new(),
        });
    }
    // A cluster job names its output in a folder that may not exist yet
    // (`--out results/shard-3.jsonl`): make it, as a batch would fail otherwise.
    if let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(write_err)?;
    }
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(write_err)?;
    let meta = file.metadata().map_err(write_err)?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            what: userfile::describe(&meta),
        }
        .into());
    }
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(OutputError::Locked {
                path: path.to_path_buf(),
            });
        }
        Err(TryLockError::Error(error)) => return Err(write_err(error).into()),
    }
    let done = resume(&file, path)?;
    Ok(Output { file, done })
}

/// The one field resumption needs from a record.
#[derive(Deserialize)]
struct KernelField {
    kernel: String,
}

/// Read the records of the (locked) output `file` at `path`, cut a torn last line and
/// return the kernels recorded.
fn resume(file: &File, path: &Path) -> Result<HashSet<String>, FileError> {
    let read_err = |error| FileError::Read {
        path: path.to_path_buf(),
        error,
    };
    let mut reader = BufReader::new(file);
    let mut head = Vec::new();
    let mut done = HashSet::new();
    let mut long_lines = Vec::new();
    let mut offset = 0u64;
    let mut complete = 0u64;
    loop {
        let (len, ended) = userfile::read_line_head(&mut reader, &mut head, RESUME_HEAD_BYTES)
            .map_err(read_err)?;
        if !ended {
            break; // the end, or a torn last line
        }
        if len as usize <= RESUME_HEAD_BYTES {
            if let Ok(record) = serde_json::from_slice::<KernelField>(&head) {
                done.insert(record.kernel);
            }
        } else {
            long_lines.push((offset, len));
        }
        offset += len;
        complete = offset;
    }
    if !long_lines.is_empty() {
        use std::io::{Read, Seek, SeekFrom};
        let mut again = File::open(path).map_err(read_err)?;
        for (start, len) in long_lines {
            again.seek(SeekFrom::Start(start)).map_err(read_err)?;
            let line = BufReader::new((&mut again).take(len));
            if let Ok(record) = serde_json::from_reader::<_, KernelField>(line) {
                done.insert(record.kernel);
            }
        }
    }
    let size = file.metadata().map_err(read_err)?.len();
    if complete < size {
        file.set_len(complete).map_err(|error| FileError::Write {
            path: path.to_path_buf(),
            error,
        })?;
    }
    Ok(done)
}

/// Summary of a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Records written (runs, errors and skipped entries).
    pub ran: usize,
    /// Records of kernels that could not be loaded or run.
    pub errors: usize,
    /// Folder entries not run (symbolic links, FIFOs, devices), each with a record.
    pub skipped: usize,
    /// Kernels the output already had records for.
    pub already_done: usize,
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
        already_done: jobs.len() - todo.len(),
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
            summary.skipped += usize::from(record.skipped.is_some());
        }
        out.flush()?;
        progress(records.len());
    }
    Ok(summary)
}
