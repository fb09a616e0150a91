//! `pxos merge`: combine batch outputs (e.g. the shards of one batch) into one, sorted
//! by kernel, one record per kernel. Two different records for one kernel (ignoring wall
//! time) are an error: they mean the shards did not run the same batch.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum MergeError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
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
        let text = std::fs::read_to_string(path).map_err(|source| MergeError::Io {
            path: path.clone(),
            source,
        })?;
        for (i, line) in text.lines().enumerate() {
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
