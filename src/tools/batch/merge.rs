//! `pxos merge`: combine batch outputs (e.g. the shards of one batch) into one, sorted
//! by kernel, one record per kernel. Two different records for one kernel (ignoring wall
//! time) are an error: they mean the shards did not run the same batch. Inputs must be
//! regular files, read line by line with each line at most [`MAX_RECORD_BYTES`].

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
    #[error("kernel {kernel} has two different records ({} and {})", first.display(), second.display())]
    Conflict {
        kernel: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// The record without its wall time, for comparing runs.
pub fn without_wall_time(record: &Value) -> Value {
    let mut r = record.clone();
    if let Some(map) = r.as_object_mut() {
        map.remove("wall_ms");
    }
    r
}

/// Merge the records of `inputs`, sorted by kernel.
pub fn merge(inputs: &[PathBuf]) -> Result<Vec<Value>, MergeError> {
    let mut by_kernel: BTreeMap<String, (Value, &Path)> = BTreeMap::new();
    for path in inputs {
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
            let record: Value = serde_json::from_str(line).map_err(|e| bad(e.to_string()))?;
            let kernel = record
                .get("kernel")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("no \"kernel\" field".into()))?
                .to_string();
            match by_kernel.get(&kernel) {
                Some((existing, first)) => {
                    if without_wall_time(existing) != without_wall_time(&record) {
                        return Err(MergeError::Conflict {
                            kernel,
                            first: first.to_path_buf(),
                            second: path.clone(),
                        });
                    }
                }
                None => {
                    by_kernel.insert(kernel, (record, path));
                }
            }
        }
    }
    Ok(by_kernel.into_values().map(|(r, _)| r).collect())
}
