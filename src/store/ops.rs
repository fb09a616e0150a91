//! The store's changes: registering a version, switching and rolling back the current
//! version, backing a kernel up, the atomic replacement a SELF_MODIFY request leads to
//! ([`Store::evolve`]) and boot assessment ([`Store::assess`]). Each checks its input
//! first and writes nothing if it is refused; each then goes through `Store::commit`, which
//! writes kernel files before versions.json (see the module docs of [`crate::store`]).

use super::db::{Db, Entry, Event, EventKind, Status};
use super::error::{Result, StoreError};
use super::{Store, names};
use crate::util::atomic;
use crate::util::date;
use crate::util::sha256_hex;
use std::path::PathBuf;

/// Check that `bytes` can be a kernel: 1 to 65,536 bytes.
pub fn validate_kernel(bytes: &[u8]) -> Result<()> {
    if bytes.is_empty() {
        return Err(StoreError::KernelEmpty);
    }
    Ok(pxvm::KernelTooLarge::check(bytes.len())?)
}

/// The result of [`Store::assess`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assessment {
    /// The version booted cleanly; `promoted` if it just left probation.
    Good { promoted: bool },
    /// A version on probation failed: it is now bad and the current version is `to`
    /// (none if no good version exists).
    RolledBack { to: Option<Entry> },
    /// A good version failed; it stays good and current (recorded as an event).
    Failed,
}

impl Store {
    /// Register `bytes` as version `name` (child of version `parent`, an id) and make it
    /// current, on probation. A name used before gets a fresh id and its own file (see
    /// [`names`]). Refuses bad names, empty and oversized kernels and unknown parents
    /// before writing anything.
    pub fn register(
        &mut self,
        name: &str,
        bytes: &[u8],
        parent: Option<u64>,
        origin: &str,
    ) -> Result<Entry> {
        self.add_version(name, bytes, parent, origin, true)
    }

    /// Record `bytes` as version `name` (child of version `parent`) without changing the
    /// current version: for lineages grown outside the boot cycle, such as the bests of an
    /// evolution experiment. The version is on probation until it boots. Same checks as
    /// [`Store::register`].
    pub fn record(
        &mut self,
        name: &str,
        bytes: &[u8],
        parent: Option<u64>,
        origin: &str,
    ) -> Result<Entry> {
        self.add_version(name, bytes, parent, origin, false)
    }

    /// [`Store::register`] and [`Store::record`]: add a version, optionally making it current.
    fn add_version(
        &mut self,
        name: &str,
        bytes: &[u8],
        parent: Option<u64>,
        origin: &str,
        make_current: bool,
    ) -> Result<Entry> {
        names::validate(name)?;
        validate_kernel(bytes)?;
        self.require_lock()?;
        let parent = parent.map(|id| self.get_by_id(id).cloned()).transpose()?;
        let mut db = self.db.clone();
        let entry = new_entry(&mut db, &self.root, name, bytes, parent.as_ref(), origin)?;
        db.history.push(entry.clone());
        if make_current {
            db.set_current(Some(entry.id));
        }
        self.commit(db, &[(&entry.file, bytes)], false)?;
        Ok(entry)
    }

    /// Whether a version can still be added: `latest_id` leaves an id to give. The boot
    /// cycle checks it before it runs a kernel that might ask to be replaced.
    pub fn ensure_id_left(&self) -> Result<()> {
        match self.db.latest_id.checked_add(1) {
            Some(_) => Ok(()),
            None => Err(StoreError::IdsExhausted {
                root: self.root.clone(),
            }),
        }
    }

    /// Back up version `id`'s kernel to `kernels/kernel_<V>_backup.bin`; returns its path.
    pub fn backup(&mut self, id: u64) -> Result<PathBuf> {
        self.require_lock()?;
        let entry = self.get_by_id(id)?;
        let bytes = self.read_kernel(entry)?;
        let path = self.kernel_path(&names::backup_file(&entry.file));
        atomic::write_atomic(&path, &bytes)?;
        Ok(path)
    }

    /// Make version `id` current (for `pxos switch`: `kind` [`EventKind::Switch`]). A bad
    /// or missing version is refused unless `force`, which puts a bad one back on
    /// probation; so is one whose kernel file is damaged. The switch is recorded as an
    /// event with `reason`.
    pub fn switch(&mut self, id: u64, force: bool, kind: EventKind, reason: &str) -> Result<()> {
        self.require_lock()?;
        let target = self.get_by_id(id)?.clone();
        self.read_kernel(&target)?;
        let mut db = self.db.clone();
        if !target.status.bootable() {
            if !force || target.status == Status::Missing {
                return Err(StoreError::NotBootable {
                    name: target.version,
                    id,
                    status: target.status.as_str(),
                });
            }
            if let Some(e) = db.by_id_mut(id) {
                e.status = Status::Probation;
            }
        }
        push_event(&mut db, kind, id, reason);
        db.set_current(Some(id));
        self.commit(db, &[], false)
    }

    /// The version `current` booted cleanly and then asked (VERSION_SWITCH) to make
    /// version `to` current: record both in one change.
    pub fn guest_switch(&mut self, current: u64, to: u64) -> Result<()> {
        self.require_lock()?;
        let target = self.get_by_id(to)?;
        if !target.status.bootable() {
            return Err(StoreError::NotBootable {
                name: target.version.clone(),
                id: to,
                status: target.status.as_str(),
            });
        }
        self.read_kernel(target)?;
        let mut db = self.db.clone();
        mark_clean(&mut db, current);
        push_event(
            &mut db,
            EventKind::GuestSwitch,
            to,
            "the kernel asked for it with VERSION_SWITCH",
        );
        db.set_current(Some(to));
        self.commit(db, &[], false)
    }

    /// Move the current version `steps` generations back along its lineage, counting only
    /// bootable ancestors; recorded as a manual rollback. Returns the new current version.
    pub fn rollback(&mut self, steps: u32) -> Result<Entry> {
        self.require_lock()?;
        let current = self.current().cloned().ok_or(StoreError::NoCurrent {
            root: self.root.clone(),
        })?;
        let ancestors: Vec<Entry> = self
            .db
            .ancestors(current.id)
            .into_iter()
            .filter(|e| e.status.bootable())
            .cloned()
            .collect();
        let target = match steps.checked_sub(1) {
            Some(k) => ancestors.get(k as usize).cloned(),
            None => Some(current.clone()),
        };
        let Some(target) = target else {
            return Err(StoreError::RollbackTooFar {
                steps,
                available: ancestors.len() as u32,
                from: current.version,
            });
        };
        self.read_kernel(&target)?;
        if target.id != current.id {
            let mut db = self.db.clone();
            push_event(
                &mut db,
                EventKind::ManualRollback,
                target.id,
                &format!("pxos rollback --steps {steps}"),
            );
            db.set_current(Some(target.id));
            self.commit(db, &[], false)?;
        }
        Ok(target)
    }

    /// The atomic replacement after the current version booted cleanly and requested a new
    /// kernel (SELF_MODIFY): mark the current version good, back its kernel up, register
    /// `bytes` as its child (named by [`names::child_name`]) on probation, and make the
    /// child current — one commit. Returns the child.
    pub fn evolve(&mut self, bytes: &[u8], origin: &str) -> Result<Entry> {
        validate_kernel(bytes)?;
        self.require_lock()?;
        let current = self.current().cloned().ok_or(StoreError::NoCurrent {
            root: self.root.clone(),
        })?;
        let current_bytes = self.read_kernel(&current)?;
        let mut db = self.db.clone();
        mark_clean(&mut db, current.id);
        let name = names::child_name(&current.version, |n| db.name_taken(n));
        let entry = new_entry(&mut db, &self.root, &name, bytes, Some(&current), origin)?;
        db.history.push(entry.clone());
        db.set_current(Some(entry.id));
        let backup = names::backup_file(&current.file);
        self.commit(
            db,
            &[(&backup, &current_bytes), (&entry.file, bytes)],
            false,
        )?;
        Ok(entry)
    }

    /// Boot assessment of version `id` (the current one): `clean` if it halted within its
    /// fuel. A clean boot makes a version on probation good. A failed boot makes a version
    /// on probation bad and rolls back to [`Db::fallback_for`] (recorded with `reason`); a
    /// good version that fails stays good and current, and the failure is recorded.
    pub fn assess(&mut self, id: u64, clean: bool, reason: &str) -> Result<Assessment> {
        self.require_lock()?;
        let entry = self.get_by_id(id)?.clone();
        let mut db = self.db.clone();
        if clean {
            let promoted = entry.status == Status::Probation;
            mark_clean(&mut db, id);
            if db != self.db {
                self.commit(db, &[], false)?;
            }
            return Ok(Assessment::Good { promoted });
        }
        if entry.status != Status::Probation {
            db.events.push(Event {
                date: date::now_utc(),
                kind: EventKind::BootFailed,
                from: Some(entry.version.clone()),
                from_id: Some(id),
                to: None,
                to_id: None,
                reason: reason.to_string(),
            });
            self.commit(db, &[], false)?;
            return Ok(Assessment::Failed);
        }
        if let Some(e) = db.by_id_mut(id) {
            e.status = Status::Bad;
        }
        let to = db.fallback_for(id);
        db.events.push(Event {
            date: date::now_utc(),
            kind: EventKind::Rollback,
            from: Some(entry.version.clone()),
            from_id: Some(id),
            to: to.and_then(|t| db.by_id(t)).map(|e| e.version.clone()),
            to_id: to,
            reason: format!("{reason}; {} (id {id}) marked bad", entry.version),
        });
        db.set_current(to);
        self.commit(db, &[], true)?;
        Ok(Assessment::RolledBack {
            to: to.and_then(|t| self.db.by_id(t)).cloned(),
        })
    }
}

/// A clean boot of `id`: off probation, and the version to roll back to from now on.
fn mark_clean(db: &mut Db, id: u64) {
    if let Some(e) = db.by_id_mut(id) {
        if e.status == Status::Probation {
            e.status = Status::Good;
        }
        if e.status == Status::Good {
            db.last_good = Some(id);
        }
    }
}

/// Record an event of `kind` moving from the current version to version `to`.
pub(crate) fn push_event(db: &mut Db, kind: EventKind, to: u64, reason: &str) {
    let from = db.current_entry().map(|e| (e.version.clone(), e.id));
    db.events.push(Event {
        date: date::now_utc(),
        kind,
        from: from.as_ref().map(|f| f.0.clone()),
        from_id: from.map(|f| f.1),
        to: db.by_id(to).map(|e| e.version.clone()),
        to_id: Some(to),
        reason: reason.to_string(),
    });
}

/// A new entry for `name` in `db` (taking the next id), on probation.
pub(crate) fn new_entry(
    db: &mut Db,
    root: &std::path::Path,
    name: &str,
    bytes: &[u8],
    parent: Option<&Entry>,
    origin: &str,
) -> Result<Entry> {
    let id = db
        .latest_id
        .checked_add(1)
        .ok_or(StoreError::IdsExhausted {
            root: root.to_path_buf(),
        })?;
    db.latest_id = id;
    Ok(Entry {
        id,
        version: name.to_string(),
        file: names::kernel_file(name, id, |f| db.file_in_use(f)),
        parent: parent.map(|p| p.version.clone()),
        date: date::now_utc(),
        size: bytes.len() as u64,
        parent_id: parent.map(|p| p.id),
        sha256: Some(sha256_hex(bytes)),
        status: Status::Probation,
        origin: Some(origin.to_string()),
    })
}
