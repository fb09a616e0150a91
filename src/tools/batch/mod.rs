//! Headless batch runs: many kernels, one JSON line each (the `run --json` fields plus
//! the kernel's path and wall time), in parallel, resumable, and shardable across
//! machines ([`Shard`]); [`merge`] combines shard outputs. The kernels to run are
//! [`collect`]ed from files, folders and manifests. A broken kernel file
//! gives an error record and the batch goes on.
//!
//! The output file ([`open_output`]) is locked while a batch appends to it, so two batches
//! given the same `--out` never interleave their lines: the second is refused; `pxos merge`
//! takes the same lock to write its `--out` ([`write_locked`]). Records are written in input
//! order, each flushed as soon as it and the records before it are done ([`run`]). Reading
//! the output back for resumption keeps at most [`RESUME_HEAD_BYTES`] of a line in memory,
//! refuses a line that is not a record, and ([`Output::check`]) records made with another
//! engine, fuel or shard.

mod jobs;
mod merge;

pub use jobs::{InputError, Job, MAX_MANIFEST_BYTES, Shard, collect};
pub use merge::{MAX_RECORD_BYTES, MergeError, merge, without_wall_time};

use crate::runtime::engines::EngineKind;
use crate::runtime::host::PxHost;
use crate::runtime::host::files::DirFiles;
use crate::runtime::run::{RunReport, run_kernel};
use crate::util::userfile::{self, FileError};
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
    /// The shard this batch runs (`--shard K/N`), written in each record.
    pub shard: Option<Shard>,
}

/// One output line.
#[derive(Clone, Debug, Serialize)]
pub struct Record {
    pub kernel: String,
    /// The fuel the kernel was given (the batch's `--fuel` or its manifest line's).
    pub fuel: u64,
    /// The batch's `--shard K/N` ("K/N"), if it had one: `pxos merge --expect-shards`
    /// checks it, and leaves it out of the merged records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
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
    let fuel = job.fuel.unwrap_or(options.fuel);
    let shard = options.shard.map(|s| s.to_string());
    if let Some(why) = &job.skip {
        return Record {
            kernel: job.key(),
            fuel,
            shard,
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
        let outcome = run_kernel(&bytes, engine.as_mut(), host, fuel).map_err(|e| e.to_string())?;
        Ok(outcome.report(options.engine.name()))
    })();
    let wall_ms = start.elapsed().as_secs_f64() * 1e3;
    match result {
        Ok(report) => Record {
            kernel: job.key(),
            fuel,
            shard,
            report: Some(report),
            error: None,
            skipped: None,
            wall_ms,
        },
        Err(error) => Record {
            kernel: job.key(),
            fuel,
            shard,
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
    #[error("{}:{line}: not a batch record ({message}); a batch appends only to a file of its own records: remove the line or give another --out", path.display())]
    NotRecord {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("{}:{line}: the record of {kernel} was made with {recorded}, but this batch runs with {now}; one file must not mix the two: give another --out (or the same options)", path.display())]
    Mismatch {
        path: PathBuf,
        line: u64,
        kernel: String,
        recorded: String,
        now: String,
    },
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
    /// What the records say about how they were made, for [`Output::check`].
    recorded: Vec<Recorded>,
    path: PathBuf,
}

impl Output {
    /// Refuse to go on appending to records made with another engine, fuel or shard than
    /// this batch's (`jobs` with `options`): the file would mix two runs, and its kernels
    /// would count as done though this batch would give another result. Records of
    /// kernels not among `jobs` are checked for the engine and shard alone.
    pub fn check(&self, jobs: &[Job], options: &BatchOptions) -> Result<(), OutputError> {
        let fuel: std::collections::HashMap<String, u64> = jobs
            .iter()
            .map(|j| (j.key(), j.fuel.unwrap_or(options.fuel)))
            .collect();
        let engine = options.engine.name();
        let shard = options.shard.map(|s| s.to_string());
        let describe_shard = |s: &Option<String>| {
            s.as_ref()
                .map_or("no --shard".to_string(), |s| format!("--shard {s}"))
        };
        for r in &self.recorded {
            let mismatch = |recorded: String, now: String| OutputError::Mismatch {
                path: self.path.clone(),
                line: r.line,
                kernel: r.kernel.clone(),
                recorded,
                now,
            };
            if let Some(e) = &r.engine
                && e != engine
            {
                return Err(mismatch(
                    format!("--engine {e}"),
                    format!("--engine {engine}"),
                ));
            }
            if let (Some(f), Some(&now)) = (r.fuel, fuel.get(&r.kernel))
                && f != now
            {
                return Err(mismatch(format!("fuel {f}"), format!("fuel {now}")));
            }
            // Records from before records carried a fuel and shard say nothing of them.
            if r.fuel.is_some() && r.shard != shard {
                return Err(mismatch(describe_shard(&r.shard), describe_shard(&shard)));
            }
        }
        Ok(())
    }
}

/// What resumption reads of a record: its kernel and how it was made.
#[derive(Debug)]
struct Recorded {
    line: u64,
    kernel: String,
    engine: Option<String>,
    fuel: Option<u64>,
    shard: Option<String>,
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
            recorded: Vec::new(),
            path: path.to_path_buf(),
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
    lock(&file, path)?;
    // A `pxos merge --out` of this file replaces it (a new inode) while it holds the old
    // one's lock: a lock taken on the old file once the merge let go holds nothing.
    if !std::fs::metadata(path).is_ok_and(|now| same_inode(&now, &meta)) {
        drop(file);
        return open_output(path);
    }
    let recorded = resume(&file, path)?;
    Ok(Output {
        file,
        done: recorded.iter().map(|r| r.kernel.clone()).collect(),
        recorded,
        path: path.to_path_buf(),
    })
}

fn lock(file: &File, path: &Path) -> Result<(), OutputError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(OutputError::Locked {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(error)) => Err(FileError::Write {
            path: path.to_path_buf(),
            error,
        }
        .into()),
    }
}

fn same_inode(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

/// Write `bytes` to `path` as [`userfile::write_output`] does (a regular file replaced
/// atomically), holding the lock a batch takes on its `--out` ([`open_output`]) meanwhile:
/// a file a running batch appends to is refused ([`OutputError::Locked`]) and left as it
/// is, and a batch started meanwhile is refused, or (once the file is replaced) resumes
/// from the new one. `pxos merge --out` writes through this.
pub fn write_locked(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let held = match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            let file = File::open(path).map_err(|error| FileError::Write {
                path: path.to_path_buf(),
                error,
            })?;
            lock(&file, path)?;
            Some((file, false))
        }
        // Not there yet: make it (empty) and lock it, so that no batch starts on it before
        // it is written; removed again if the write fails.
        Err(e)
            if e.kind() == io::ErrorKind::NotFound && std::fs::symlink_metadata(path).is_err() =>
        {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(file) => {
                    lock(&file, path)?;
                    Some((file, true))
                }
                Err(_) => None, // write_output says why
            }
        }
        _ => None, // a device, a FIFO, a folder, a dangling link: write_output decides
    };
    let written = userfile::write_output(path, bytes);
    if written.is_err()
        && let Some((_, true)) = &held
    {
        let _ = std::fs::remove_file(path);
    }
    written?;
    drop(held);
    Ok(())
}

/// The fields resumption reads from a record. A record is an object with a `kernel`
/// and at least one of `exit` (a run), `error` and `skipped`.
#[derive(Deserialize)]
struct RecordFields {
    kernel: String,
    exit: Option<serde::de::IgnoredAny>,
    error: Option<serde::de::IgnoredAny>,
    skipped: Option<serde::de::IgnoredAny>,
    engine: Option<String>,
    fuel: Option<u64>,
    shard: Option<String>,
}

/// Parse the record on line `line`.
fn parse_record(
    parsed: serde_json::Result<RecordFields>,
    path: &Path,
    line: u64,
) -> Result<Recorded, OutputError> {
    let bad = |message: String| OutputError::NotRecord {
        path: path.to_path_buf(),
        line,
        message,
    };
    let r = parsed.map_err(|e| bad(e.to_string()))?;
    if r.exit.is_none() && r.error.is_none() && r.skipped.is_none() {
        return Err(bad(
            "no \"exit\", \"error\" or \"skipped\" field: not the result of a run".into(),
        ));
    }
    Ok(Recorded {
        line,
        kernel: r.kernel,
        engine: r.engine,
        fuel: r.fuel,
        shard: r.shard,
    })
}

/// Read the records of the (locked) output `file` at `path`, cut a torn last line and
/// return the records. A complete line that is not a record is an error naming it
/// (nothing is cut then).
fn resume(file: &File, path: &Path) -> Result<Vec<Recorded>, OutputError> {
    let read_err = |error| FileError::Read {
        path: path.to_path_buf(),
        error,
    };
    let mut reader = BufReader::new(file);
    let mut head = Vec::new();
    let mut recorded = Vec::new();
    let mut long_lines = Vec::new();
    let mut offset = 0u64;
    let mut complete = 0u64;
    let mut line = 0u64;
    loop {
        let (len, ended) = userfile::read_line_head(&mut reader, &mut head, RESUME_HEAD_BYTES)
            .map_err(read_err)?;
        if !ended {
            break; // the end, or a torn last line
        }
        line += 1;
        if len as usize <= RESUME_HEAD_BYTES {
            if !head.trim_ascii().is_empty() {
                recorded.push(parse_record(serde_json::from_slice(&head), path, line)?);
            }
        } else {
            long_lines.push((offset, len, line));
        }
        offset += len;
        complete = offset;
    }
    if !long_lines.is_empty() {
        use std::io::{Read, Seek, SeekFrom};
        let mut again = File::open(path).map_err(read_err)?;
        for (start, len, line) in long_lines {
            again.seek(SeekFrom::Start(start)).map_err(read_err)?;
            let text = BufReader::new((&mut again).take(len));
            recorded.push(parse_record(serde_json::from_reader(text), path, line)?);
        }
        recorded.sort_by_key(|r| r.line);
    }
    let size = file.metadata().map_err(read_err)?.len();
    if complete < size {
        file.set_len(complete).map_err(|error| FileError::Write {
            path: path.to_path_buf(),
            error,
        })?;
    }
    Ok(recorded)
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

/// How many records past the oldest unwritten one workers may run ahead: finished
/// records wait in memory until every earlier one is written, so a slow kernel holds back
/// at most this many.
const AHEAD: usize = 4096;

/// Run `jobs` (skipping those in `done`) on `options.threads` worker threads, writing
/// each record as one JSON line to `out`, in input order, flushed as soon as it and every
/// record before it are done: a batch killed at any point has its finished records (but
/// those still waiting on an earlier, slower kernel) on disk, and its output is a prefix
/// of the uninterrupted run's.
pub fn run(
    jobs: &[Job],
    done: &HashSet<String>,
    options: &BatchOptions,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(usize),
) -> io::Result<BatchSummary> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex, mpsc};
    let todo: Vec<&Job> = jobs.iter().filter(|j| !done.contains(&j.key())).collect();
    let mut summary = BatchSummary {
        already_done: jobs.len() - todo.len(),
        ..BatchSummary::default()
    };
    let threads = options.threads.max(1).min(todo.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    // How many records are written, for the workers' window.
    let written = (Mutex::new(0usize), Condvar::new());
    let (tx, rx) = mpsc::channel::<(usize, Record)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (todo, next, stop, written) = (&todo, &next, &stop, &written);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= todo.len() {
                        break;
                    }
                    let mut w = written.0.lock().unwrap_or_else(|e| e.into_inner());
                    while i >= *w + AHEAD && !stop.load(Ordering::Relaxed) {
                        w = written.1.wait(w).unwrap_or_else(|e| e.into_inner());
                    }
                    drop(w);
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if tx.send((i, run_job(todo[i], options))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = std::collections::BTreeMap::new();
        let mut next_out = 0;
        let mut write_all = || -> io::Result<()> {
            for (i, record) in rx.iter() {
                waiting.insert(i, record);
                while let Some(record) = waiting.remove(&next_out) {
                    serde_json::to_writer(&mut *out, &record)?;
                    out.write_all(b"\n")?;
                    out.flush()?;
                    next_out += 1;
                    *written.0.lock().unwrap_or_else(|e| e.into_inner()) = next_out;
                    written.1.notify_all();
                    summary.ran += 1;
                    summary.errors += usize::from(record.error.is_some());
                    summary.skipped += usize::from(record.skipped.is_some());
                    progress(1);
                }
            }
            Ok(())
        };
        let result = write_all();
        if result.is_err() {
            // Workers stop at their next kernel; their sends fail once `rx` is gone.
            stop.store(true, Ordering::Relaxed);
            written.1.notify_all();
        }
        result
    })?;
    Ok(summary)
}
