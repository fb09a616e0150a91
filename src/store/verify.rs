//! `pxos verify`: checking a store and repairing it, in three steps —
//!
//! 1. **diagnose** ([`super::diagnose`]): read everything, change nothing; each problem
//!    becomes an [`Item`]: what is wrong, and the [`Fix`] that repairs it;
//! 2. **apply** (only when repairing): restored kernels first, then versions.json (the
//!    commit point, with the damaged original kept beside it), then
//!    `kernel_current.bin`, then leftover temporary files — the store's usual write order;
//! 3. **report**: each finding says what was wrong and what was done, and is marked
//!    repaired only once the write that repairs it has succeeded. A write that fails stops
//!    the repair and is itself reported; what it did not reach stays unrepaired.
//!
//! Without repairing, nothing is written and each finding says what a repair would do.

use super::Store;
use super::db::{Event, EventKind};
use crate::util::atomic;
use crate::util::date;
use serde::Serialize;
use std::fs;
use std::path::PathBuf;

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
    /// version that cannot be booted, no version id left).
    Error,
}

/// One thing `verify` found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub message: String,
    /// Whether it was repaired (only when repairing, and only once the repair is written).
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
}

/// How a finding is repaired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fix {
    /// Nothing to write: reported only.
    Report,
    /// Part of the repaired database, written when versions.json is.
    Database,
    /// Write `bytes` (a copy whose SHA-256 matches the record) as kernel file `file`.
    Restore { file: String, bytes: Vec<u8> },
    /// Make `kernel_current.bin` a copy of the current kernel (or remove it).
    CurrentCopy,
    /// Remove a temporary file of an interrupted write.
    RemoveTemp(PathBuf),
}

/// One problem found by the diagnosis, and its repair.
#[derive(Clone, Debug)]
pub struct Item {
    pub level: Level,
    /// What is wrong.
    pub problem: String,
    /// What the repair does, in the past tense ("restored from …"), and as a plan
    /// ("restore it from …"); empty if the problem says it all.
    pub done: String,
    pub todo: String,
    pub fix: Fix,
}

impl Item {
    /// A finding that is only reported.
    pub fn report(level: Level, problem: String) -> Item {
        Item::fixed_by(level, problem, Fix::Report, "", "")
    }

    /// A finding with its repair.
    pub fn fixed_by(level: Level, problem: String, fix: Fix, done: &str, todo: &str) -> Item {
        Item {
            level,
            problem,
            done: done.to_string(),
            todo: todo.to_string(),
            fix,
        }
    }

    /// The finding: the problem, then what was (or would be, or could not be) done.
    fn finding(&self, repairing: bool, repaired: bool) -> Finding {
        let mut message = self.problem.clone();
        if !self.done.is_empty() {
            message += "; ";
            message += &match (repairing, repaired) {
                (_, true) => self.done.clone(),
                (false, _) => format!("`pxos verify` would {}", self.todo),
                (true, false) => format!("not repaired (it would {})", self.todo),
            };
        }
        Finding {
            level: self.level,
            message,
            repaired,
        }
    }
}

/// What the diagnosis found: the repaired database and the items.
#[derive(Clone, Debug)]
pub struct Diagnosis {
    pub db: super::Db,
    pub items: Vec<Item>,
}

impl Store {
    /// Check the store; with `repair` (which needs the lock), also repair it: diagnose
    /// (findings with their fixes), apply the fixes, report.
    pub fn verify(&mut self, repair: bool) -> super::Result<Report> {
        if repair {
            self.require_lock()?;
        }
        let diagnosis = self.diagnose();
        let versions = diagnosis.db.history.len();
        let outcome = if repair {
            self.apply(diagnosis)
        } else {
            Outcome::unrepaired(diagnosis.items)
        };
        Ok(outcome.report(versions, repair))
    }

    /// Write the fixes in the store's write order, one step after another; a step marks its
    /// items repaired once its writes have succeeded, and a step that fails stops the
    /// repair.
    fn apply(&mut self, diagnosis: Diagnosis) -> Outcome {
        let Diagnosis { db, items } = diagnosis;
        let mut outcome = Outcome::unrepaired(items);
        outcome.stopped = self
            .restore_kernels(&mut outcome)
            .and_then(|()| self.write_database(db, &mut outcome))
            .and_then(|()| self.rewrite_current_copy(&mut outcome))
            .and_then(|()| self.remove_temporaries(&mut outcome))
            .err();
        outcome
    }

    /// Step 1: write each [`Fix::Restore`] kernel file, then sync `kernels/`.
    fn restore_kernels(&mut self, outcome: &mut Outcome) -> super::Result<()> {
        let restores = outcome.items.iter().filter_map(|item| match &item.fix {
            Fix::Restore { file, bytes } => Some((file, bytes)),
            _ => None,
        });
        let mut any = false;
        for (file, bytes) in restores {
            atomic::write_synced(&self.kernel_path(file), bytes)?;
            any = true;
        }
        if any {
            atomic::sync_dir(&self.kernels_dir())?;
        }
        outcome.mark(|fix| matches!(fix, Fix::Restore { .. }));
        Ok(())
    }

    /// Step 2: write the repaired database as versions.json (the commit point), with an
    /// event that says how many problems the repair fixed — if it differs from the store's
    /// or a [`Fix::Database`] item asks for the write (a damaged file to keep).
    fn write_database(&mut self, mut db: super::Db, outcome: &mut Outcome) -> super::Result<()> {
        let wanted = outcome.items.iter().any(|i| i.fix == Fix::Database);
        if !wanted && db == *self.db() {
            return Ok(());
        }
        let fixed = outcome
            .items
            .iter()
            .filter(|i| i.level > Level::Note && i.fix != Fix::Report)
            .count();
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
        self.commit(db, &[], false)?;
        outcome.mark(|fix| *fix == Fix::Database);
        Ok(())
    }

    /// Step 3: make `kernel_current.bin` a copy of the current kernel, if an item asks.
    fn rewrite_current_copy(&mut self, outcome: &mut Outcome) -> super::Result<()> {
        if outcome.items.iter().any(|i| i.fix == Fix::CurrentCopy) {
            self.refresh_current_copy()?;
            outcome.mark(|fix| *fix == Fix::CurrentCopy);
        }
        Ok(())
    }

    /// Step 4: remove the temporary files of interrupted writes, then sync their folders.
    fn remove_temporaries(&mut self, outcome: &mut Outcome) -> super::Result<()> {
        let mut folders = Vec::new();
        for item in &outcome.items {
            if let Fix::RemoveTemp(path) = &item.fix {
                fs::remove_file(path).map_err(super::StoreError::io("remove", path))?;
                folders.extend(path.parent().map(|p| p.to_path_buf()));
            }
        }
        folders.sort();
        folders.dedup();
        for folder in &folders {
            atomic::sync_dir(folder)?;
        }
        outcome.mark(|fix| matches!(fix, Fix::RemoveTemp(_)));
        Ok(())
    }
}

/// The diagnosis's items, which of them are repaired, and the error that stopped the
/// repair, if one did.
#[derive(Debug)]
struct Outcome {
    items: Vec<Item>,
    repaired: Vec<bool>,
    stopped: Option<super::StoreError>,
}

impl Outcome {
    /// Nothing repaired (yet).
    fn unrepaired(items: Vec<Item>) -> Outcome {
        Outcome {
            repaired: vec![false; items.len()],
            items,
            stopped: None,
        }
    }

    /// Mark repaired the items whose fix is `applied` (items only reported never are).
    fn mark(&mut self, applied: impl Fn(&Fix) -> bool) {
        for (item, repaired) in self.items.iter().zip(&mut self.repaired) {
            if item.fix != Fix::Report && applied(&item.fix) {
                *repaired = true;
            }
        }
    }

    /// The report: one finding per item, then the error that stopped the repair.
    fn report(self, versions: usize, repairing: bool) -> Report {
        let mut findings: Vec<Finding> = self
            .items
            .iter()
            .zip(&self.repaired)
            .map(|(item, &repaired)| item.finding(repairing, repaired))
            .collect();
        if let Some(err) = self.stopped {
            findings.push(Finding {
                level: Level::Error,
                message: format!("the repair stopped: {err}"),
                repaired: false,
            });
        }
        Report { versions, findings }
    }
}
