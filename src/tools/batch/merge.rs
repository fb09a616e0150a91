//! `pxos merge`: combine batch outputs (e.g. the shards of one batch) into one, sorted
//! by kernel, one record per kernel. Two different records for one kernel (ignoring wall
//! time) are an error: they mean the shards did not run the same batch. Inputs must be
//! regular files, read line by line with each line at most [`MAX_RECORD_BYTES`].
//!
//! Each record of a `--shard K/N` batch says so (`"shard": "K/N"`); the merged records leave
//! that field out, so merged shards equal one unsharded run. Told how many shards the batch
//! had ([`merge`]'s `expect_shards`), merge also checks that the merge is complete: every
//! record carries a shard of that count (and the shard its kernel hashes to,
//! [`super::jobs::shard_of`]), each input holds the records of one shard, and every shard
//! has records. A missing shard is an error naming it, never a smaller result.

use crate::util::userfile::{self, FileError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The longest record line merged.
pub const MAX_RECORD_BYTES: usize = 256 << 20;

#[derive(Debug, Error)]
pub enum MergeError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("cannot read {}: line {line}: {error}", path.display())]
    Io {
        path: PathBuf,
        line: usize,
        error: std::io::Error,
    },
    #[error("{}:{line}: not a batch record: {message}", path.display())]
    Record {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("kernel {kernel} has two different records ({}:{first_line} and {}:{second_line})", first.display(), second.display())]
    Conflict {
        kernel: String,
        first: PathBuf,
        first_line: usize,
        second: PathBuf,
        second_line: usize,
    },
    #[error("{}:{line}: {message}; with --expect-shards {count}, every input must be the output of a `pxos batch --shard K/{count}`", path.display())]
    NotOfShards {
        path: PathBuf,
        line: usize,
        count: u64,
        message: String,
    },
    #[error("{} holds records of shards {first} and {second} of {count}: it is not the output of one `pxos batch --shard K/{count}` (another shard count, or another batch)", path.display())]
    MixedShards {
        path: PathBuf,
        first: u64,
        second: u64,
        count: u64,
    },
    #[error("{}", missing_shards(missing, *count))]
    MissingShards { missing: Vec<u64>, count: u64 },
}

/// The message of [`MergeError::MissingShards`].
fn missing_shards(missing: &[u64], count: u64) -> String {
    let list = missing
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let (shards, outputs, them) = if missing.len() == 1 {
        ("shard", "its output is", "it")
    } else {
        ("shards", "their outputs are", "them")
    };
    format!(
        "incomplete: no records from {shards} {list} of {count} ({outputs} missing or empty); \
         run {them} again (`pxos batch --shard {first}/{count} ...`) and merge again \
         (a shard with no kernels at all also shows here: use fewer shards than kernels)",
        first = missing.first().copied().unwrap_or(0)
    )
}

/// The record without its wall time, for comparing runs.
pub fn without_wall_time(record: &Value) -> Value {
    let mut r = record.clone();
    if let Some(map) = r.as_object_mut() {
        map.remove("wall_ms");
    }
    r
}

/// Merge the records of `inputs`, sorted by kernel. With `expect_shards: Some(N)`, the
/// inputs must be the outputs of `--shard K/N` runs, one shard each, and every K in 0..N
/// must have records ([`MergeError::MissingShards`] names those that have none).
pub fn merge(inputs: &[PathBuf], expect_shards: Option<u64>) -> Result<Vec<Value>, MergeError> {
    let mut by_kernel: BTreeMap<String, (Value, &Path, usize)> = BTreeMap::new();
    let mut seen_shards = std::collections::BTreeSet::new();
    for path in inputs {
        let mut file_shard = None;
        let (file, _) = userfile::open_regular(path)?;
        let mut reader = std::io::BufReader::new(file);
        let mut buf = Vec::new();
        for i in 0.. {
            let got = userfile::read_line_bounded(&mut reader, &mut buf, MAX_RECORD_BYTES)
                .map_err(|error| MergeError::Io {
                    path: path.clone(),
                    line: i + 1,
                    error,
                })?;
            if got.is_none() {
                break;
            }
            let line = String::from_utf8_lossy(&buf);
            let line = line.as_ref();
            if line.trim().is_empty() {
                continue;
            }
            let bad = |message: String| MergeError::Record {
                path: path.clone(),
                line: i + 1,
                message,
            };
            let mut record: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let kernel = record
                .get("kernel")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("no \"kernel\" field".into()))?
                .to_string();
            if !["exit", "error", "skipped"]
                .iter()
                .any(|f| record.get(f).is_some())
            {
                return Err(bad(
                    "no \"exit\", \"error\" or \"skipped\" field: not the result of a run".into(),
                ));
            }
            // Which shard made it: checked below, and not part of the merged record.
            let shard = record.as_object_mut().and_then(|map| map.remove("shard"));
            if let Some(count) = expect_shards {
                let not_of = |message: String| MergeError::NotOfShards {
                    path: path.clone(),
                    line: i + 1,
                    count,
                    message,
                };
                let text = match &shard {
                    None => {
                        return Err(not_of(format!(
                            "the record of {kernel} has no \"shard\" field (made without --shard, or by an older pxos)"
                        )));
                    }
                    Some(v) => v.as_str().unwrap_or_default().to_string(),
                };
                let recorded: super::Shard = text.parse().map_err(|_| {
                    not_of(format!(
                        "the record of {kernel} has a bad \"shard\" field {shard:?}",
                        shard = shard.as_ref().map(Value::to_string).unwrap_or_default()
                    ))
                })?;
                if recorded.count != count {
                    return Err(not_of(format!(
                        "the record of {kernel} was made by --shard {recorded}, a batch of {} shards, not {count}",
                        recorded.count
                    )));
                }
                let of_kernel = super::jobs::shard_of(&kernel, count);
                if recorded.index != of_kernel {
                    return Err(not_of(format!(
                        "the record of {kernel} says --shard {recorded}, but that kernel is in shard {of_kernel}/{count}"
                    )));
                }
                let shard = recorded.index;
                match file_shard {
                    None => file_shard = Some(shard),
                    Some(first) if first != shard => {
                        return Err(MergeError::MixedShards {
                            path: path.clone(),
                            first,
                            second: shard,
                            count,
                        });
                    }
                    Some(_) => {}
                }
                seen_shards.insert(shard);
            }
            match by_kernel.get(&kernel) {
                Some((existing, first, first_line)) => {
                    if without_wall_time(existing) != without_wall_time(&record) {
                        return Err(MergeError::Conflict {
                            kernel,
                            first: first.to_path_buf(),
                            first_line: *first_line,
                            second: path.clone(),
                            second_line: i + 1,
                        });
                    }
                }
                None => {
                    by_kernel.insert(kernel, (record, path, i + 1));
                }
            }
        }
    }
    if let Some(count) = expect_shards {
        let missing: Vec<u64> = (0..count).filter(|k| !seen_shards.contains(k)).collect();
        if !missing.is_empty() {
            return Err(MergeError::MissingShards { missing, count });
        }
    }
    Ok(by_kernel.into_values().map(|(r, _, _)| r).collect())
}
