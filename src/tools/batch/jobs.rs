//! Turning `pxos batch` inputs into a list of jobs: kernel files, folders (searched for
//! `.asm` and `.bin` files, sorted), and manifests (`.jsonl`: one JSON object per line,
//! `{"kernel": PATH, "fuel": N, "fs": DIR}`, paths relative to the manifest's folder).
//! Also the deterministic sharding that spreads one batch over many machines.
//!
//! Every kernel goes by its canonical path ([`canonical`]: absolute, symbolic links in the
//! input resolved), in records, resumption and sharding alike, so the same kernel has the
//! same name and lands in the same shard however its input was spelled (`kernels`,
//! `./kernels/`, `/shared/kernels`, a link to it).
//!
//! A folder walk never follows a symbolic link (so no cycle, and no walk out of the
//! folder) and never opens a FIFO, device or socket (which could block forever): such an
//! entry becomes a job that is skipped with a record saying why.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One kernel to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The kernel file, as it will appear in the output's `kernel` field: its canonical
    /// path ([`canonical`]).
    pub kernel: PathBuf,
    /// Fuel for this kernel (`None`: the batch's `--fuel`).
    pub fuel: Option<u64>,
    /// A folder backing this kernel's guest files (`None`: in memory).
    pub fs: Option<PathBuf>,
    /// Why this entry of a folder is not run (a symbolic link, a FIFO, ...): it gets a
    /// record with this reason instead.
    pub skip: Option<String>,
}

impl Job {
    /// The key that identifies the job in outputs, resumption and sharding.
    pub fn key(&self) -> String {
        self.kernel.display().to_string()
    }
}

/// A problem with the inputs themselves (a broken kernel file is not one: it becomes an
/// error record and the batch goes on).
#[derive(Debug, Error)]
pub enum InputError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Manifest {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    File(crate::util::userfile::FileError),
    #[error("bad --shard '{0}': expected K/N with 0 <= K < N, e.g. 0/4")]
    Shard(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    kernel: PathBuf,
    fuel: Option<u64>,
    fs: Option<PathBuf>,
}

/// The name a kernel goes by: its absolute path with symbolic links resolved, the same for
/// every spelling of it. A path that does not exist (it becomes an error record) is made
/// absolute without resolving anything.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

fn is_kernel_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("asm") || e.eq_ignore_ascii_case("bin"))
}

fn is_manifest(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
}

/// The largest manifest read.
pub const MAX_MANIFEST_BYTES: u64 = 64 << 20;

/// Collect the kernel files under `dir`, sorted, without following symbolic links; links
/// and non-regular kernel-named entries become skipped jobs.
fn walk(dir: &Path, out: &mut Vec<Job>) -> Result<(), InputError> {
    let io = |source| InputError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.and_then(|e| Ok((e.path(), e.file_type()?))))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (path, kind) in entries {
        let skip = |why: &str| Job {
            kernel: path.clone(),
            fuel: None,
            fs: None,
            skip: Some(why.to_string()),
        };
        if kind.is_symlink() {
            out.push(skip(
                "a symbolic link: batch does not follow links inside a folder (name the target itself)",
            ));
        } else if kind.is_dir() {
            walk(&path, out)?;
        } else if !is_kernel_file(&path) {
            continue;
        } else if kind.is_file() {
            out.push(Job {
                kernel: path,
                fuel: None,
                fs: None,
                skip: None,
            });
        } else {
            let what = std::fs::symlink_metadata(&path).map_or("not a regular file", |m| {
                crate::util::userfile::describe(&m)
            });
            out.push(skip(&format!("{what}, not a regular file")));
        }
    }
    Ok(())
}

fn read_manifest(path: &Path) -> Result<Vec<Job>, InputError> {
    let text = crate::util::userfile::read_text_bounded(path, MAX_MANIFEST_BYTES, "a manifest")
        .map_err(InputError::File)?;
    let manifest = canonical(path);
    let base = manifest.parent().unwrap_or(Path::new("/"));
    let mut jobs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let entry: ManifestLine = serde_json::from_str(line).map_err(|e| InputError::Manifest {
            path: path.to_path_buf(),
            line: i + 1,
            message: e.to_string(),
        })?;
        jobs.push(Job {
            kernel: canonical(&base.join(entry.kernel)),
            fuel: entry.fuel,
            fs: entry.fs.map(|fs| base.join(fs)),
            skip: None,
        });
    }
    Ok(jobs)
}

/// Expand the command line's inputs into jobs, in order, each kernel named by its
/// [`canonical`] path. A path that does not exist is kept as a job (it becomes an error
/// record), so one typo does not stop a batch.
pub fn collect(inputs: &[PathBuf]) -> Result<Vec<Job>, InputError> {
    let mut jobs = Vec::new();
    for input in inputs {
        if input.is_dir() {
            walk(&canonical(input), &mut jobs)?;
        } else if is_manifest(input) {
            jobs.extend(read_manifest(input)?);
        } else {
            jobs.push(Job {
                kernel: canonical(input),
                fuel: None,
                fs: None,
                skip: None,
            });
        }
    }
    Ok(jobs)
}

/// Shard `K/N`: which of N machines this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InputError::Shard(s.to_string());
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = k.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// Which of `count` shards the kernel named `key` (a record's `kernel` field) belongs to:
/// by a hash of the name, so the split does not depend on the order of inputs and is the
/// same on every machine.
pub fn shard_of(key: &str, count: u64) -> u64 {
    let digest = Sha256::digest(key.as_bytes());
    let h = u64::from_le_bytes(digest[..8].try_into().expect("8 bytes"));
    h % count.max(1)
}

impl Shard {
    /// Whether this shard takes `job` ([`shard_of`] its key).
    pub fn takes(&self, job: &Job) -> bool {
        shard_of(&job.key(), self.count) == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_jobs() {
        let jobs: Vec<Job> = (0..200)
            .map(|i| Job {
                kernel: PathBuf::from(format!("k/{i}.bin")),
                fuel: None,
                fs: None,
                skip: None,
            })
            .collect();
        let mut taken = vec![0; jobs.len()];
        for index in 0..4 {
            let shard = Shard { index, count: 4 };
            for (i, job) in jobs.iter().enumerate() {
                taken[i] += usize::from(shard.takes(job));
            }
        }
        assert!(taken.iter().all(|&t| t == 1));
        let first = Shard { index: 0, count: 4 };
        let n = jobs.iter().filter(|j| first.takes(j)).count();
        assert!((30..70).contains(&n), "{n} of 200 in shard 0/4");
    }

    #[test]
    fn shard_syntax() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        for bad in ["4/4", "1/0", "x/2", "3", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
