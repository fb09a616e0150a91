//! Checking a store and repairing it (`pxos verify`). The checks: versions.json parses
//! and is structurally sound (else it is rebuilt or fixed, see [`crate::store::db`]); every
//! version's kernel file exists with the recorded size and SHA-256 (a damaged one is
//! restored from its backup when the backup matches, else the version is marked `missing`
//! and can no longer be booted); the current version exists and is bootable;
//! `kernel_current.bin` is a copy of it; every parent is in the history; no temporary files
//! of interrupted writes are left; every kernel file belongs to a version. Each finding says
//! what was wrong and, when repairing, what was done. Without `repair` nothing is written.

use super::db::{Event, EventKind, Status};
use super::error::Result;
use super::names::{self, KernelFileKind};
use super::{atomic, date, kernel_problem, read_bounded, Store};
use crate::run::sha256_hex;
use serde::Serialize;
use std::fs;

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Harmless (a leftover temporary file, a checksum not yet recorded).
    Note,
    /// Worth knowing, not a broken store (a missing parent, a stale current copy, an
    /// unregistered kernel file).
    Warning,
    /// The store was inconsistent (damaged versions.json, lost or corrupt kernel, current
    /// version that cannot be booted).
    Error,
}

/// One thing `verify` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub message: String,
    /// Whether it was repaired (only when repairing, and only if it can be).
    pub repaired: bool,
}

/// What `verify` found and did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub versions: usize,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Whether no error is left unrepaired.
    pub fn consistent(&self) -> bool {
        !self
            .findings
            .iter()
            .any(|f| f.level == Level::Error && !f.repaired)
    }

    /// Whether anything was repaired.
    pub fn repaired_any(&self) -> bool {
        self.findings.iter().any(|f| f.repaired)
    }

    fn push(&mut self, level: Level, repaired: bool, message: String) {
        self.findings.push(Finding {
            level,
            message,
            repaired,
        });
    }
}

/// What was done (when repairing) or what repairing would do.
fn act(repair: bool, done: &'static str, todo: &'static str) -> String {
    if repair {
        done.to_string()
    } else {
        format!("`pxos verify` would {todo}")
    }
}

impl Store {
    /// Check the store; with `repair` (which needs the lock), also repair it.
    pub fn verify(&mut self, repair: bool) -> Result<Report> {
        if repair {
            self.require_lock()?;
        }
        let mut report = Report::default();
        let mut db = self.db.clone();
        for p in &self.problems {
            report.push(Level::Error, repair, p.clone());
        }

        // Kernel files.
        let mut restores: Vec<(String, Vec<u8>)> = Vec::new();
        for e in db.history.iter_mut() {
            let path = self.kernel_path(&e.file);
            let problem = match read_bounded(&path) {
                Ok(bytes) => match kernel_problem(e, &bytes) {
                    None => {
                        if e.sha256.is_none() {
                            e.sha256 = Some(sha256_hex(&bytes));
                            report.push(
                                Level::Note,
                                repair,
                                format!(
                                    "{}: its SHA-256 is not in versions.json; {}",
                                    path.display(),
                                    act(repair, "recorded", "record it")
                                ),
                            );
                        }
                        if e.status == Status::Missing {
                            e.status = Status::Probation;
                            report.push(
                                Level::Warning,
                                repair,
                                format!(
                                    "{}: the kernel of {} (id {}), marked missing, is whole again; {}",
                                    path.display(),
                                    e.version,
                                    e.id,
                                    act(repair, "back on probation", "put it back on probation")
                                ),
                            );
                        }
                        continue;
                    }
                    Some(p) => p,
                },
                Err(err) => err.to_string(),
            };
            if e.status == Status::Missing {
                continue; // already known and recorded
            }
            let backup = self.kernel_path(&names::backup_file(&e.file));
            let restorable = read_bounded(&backup)
                .ok()
                .filter(|b| kernel_problem(e, b).is_none() && e.sha256.is_some());
            match restorable {
                Some(bytes) => {
                    report.push(
                        Level::Error,
                        repair,
                        format!(
                            "kernel of {} (id {}): {problem}; {} {}",
                            e.version,
                            e.id,
                            act(repair, "restored from", "restore it from"),
                            backup.display()
                        ),
                    );
                    restores.push((e.file.clone(), bytes));
                }
                None => {
                    report.push(
                        Level::Error,
                        repair,
                        format!(
                            "kernel of {} (id {}): {problem}; no matching backup; {} (it cannot be booted)",
                            e.version,
                            e.id,
                            act(repair, "marked missing", "mark it missing")
                        ),
                    );
                    e.status = Status::Missing;
                }
            }
        }
        for msg in db.sanitize() {
            report.push(Level::Error, repair, msg);
        }
        for msg in db.lineage_warnings() {
            report.push(Level::Warning, false, msg);
        }

        // The current copy.
        let copy_path = self.kernel_path(names::CURRENT_FILE);
        let copy = fs::read(&copy_path).ok();
        let mut stale_copy = false;
        if db.current_entry().is_none() && copy.is_some() {
            stale_copy = true;
            report.push(
                Level::Warning,
                repair,
                format!(
                    "{} exists but no version is current; {}",
                    copy_path.display(),
                    act(repair, "removed", "remove it")
                ),
            );
        }
        if let Some(cur) = db.current_entry() {
            let wanted = restores
                .iter()
                .find(|(f, _)| *f == cur.file)
                .map(|(_, b)| b.clone())
                .or_else(|| read_bounded(&self.kernel_path(&cur.file)).ok());
            if wanted.is_some() && copy != wanted {
                stale_copy = true;
                report.push(
                    Level::Warning,
                    repair,
                    format!(
                        "{} is {} the current version {}; {}",
                        copy_path.display(),
                        if copy.is_some() {
                            "not a copy of"
                        } else {
                            "missing, not a copy of"
                        },
                        cur.version,
                        act(repair, "rewritten", "rewrite it")
                    ),
                );
            }
        }

        // Stray files.
        let mut temps = Vec::new();
        for dir in [self.root.clone(), self.kernels_dir()] {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let path = dir.join(&name);
                match names::classify(&name) {
                    KernelFileKind::Temporary => temps.push(path),
                    KernelFileKind::Version { .. }
                        if dir == self.kernels_dir()
                            && !db.history.iter().any(|e| e.file == name) =>
                    {
                        report.push(
                            Level::Warning,
                            false,
                            format!(
                                "{} belongs to no version (left by an interrupted registration, or put there by hand); `pxos register NAME {}` adds it",
                                path.display(),
                                path.display()
                            ),
                        );
                    }
                    _ => {}
                }
            }
        }
        for t in &temps {
            report.push(
                Level::Note,
                repair,
                format!(
                    "{}: temporary file of an interrupted write; {}",
                    t.display(),
                    act(repair, "removed", "remove it")
                ),
            );
        }

        report.versions = db.history.len();
        if repair {
            for (file, bytes) in &restores {
                atomic::write_atomic(&self.kernel_path(file), bytes)?;
            }
            let fixed = report
                .findings
                .iter()
                .filter(|f| f.repaired && f.level > Level::Note)
                .count();
            if db != self.db || !self.problems.is_empty() {
                if fixed > 0 {
                    db.events.push(Event {
                        date: date::now_utc(),
                        kind: EventKind::Repair,
                        from: None,
                        from_id: None,
                        to: db.current.clone(),
                        to_id: db.current_id,
                        reason: format!("pxos verify repaired {fixed} problem(s)"),
                    });
                }
                self.commit(db, &[], stale_copy)?;
            } else if stale_copy {
                self.refresh_current_copy()?;
            }
            for t in &temps {
                let _ = fs::remove_file(t);
            }
            if !temps.is_empty() {
                atomic::sync_dir(&self.kernels_dir())?;
            }
        }
        Ok(report)
    }
}
