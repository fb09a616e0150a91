//! The version syscalls over a store, for `pxos boot`: [`StoreVersions`] answers
//! VERSION_GET (the id of the running version), VERSION_LIST (every id, oldest first) and
//! VERSION_SWITCH from a snapshot of the store taken at boot. A switch changes nothing
//! while the kernel runs: it is recorded in a [`SwitchRequest`] that the boot cycle reads
//! after the run, and takes effect for the next boot only if the kernel halted cleanly
//! (see `crate::lifecycle::boot` for how it ranks against SELF_MODIFY). Ids that do not fit an i32
//! are left out.

use super::db::Db;
use crate::runtime::host::VersionService;
use std::sync::{Arc, Mutex};

/// The most recent VERSION_SWITCH of a run, shared between the host's service and the
/// boot cycle.
#[derive(Clone, Debug, Default)]
pub struct SwitchRequest(Arc<Mutex<Option<u64>>>);

impl SwitchRequest {
    /// The requested version id, if any.
    pub fn get(&self) -> Option<u64> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set(&self, id: u64) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(id);
    }
}

/// The version service of one boot.
#[derive(Debug)]
pub struct StoreVersions {
    running: Option<i32>,
    ids: Vec<i32>,
    bootable: Vec<i32>,
    request: SwitchRequest,
}

impl StoreVersions {
    /// A service for a run of version `running` over `db`, recording switches in `request`.
    pub fn new(db: &Db, running: u64, request: SwitchRequest) -> StoreVersions {
        let ids = db.history.iter().filter_map(|e| i32::try_from(e.id).ok());
        let bootable = db
            .history
            .iter()
            .filter(|e| e.status.bootable())
            .filter_map(|e| i32::try_from(e.id).ok());
        StoreVersions {
            running: i32::try_from(running).ok(),
            ids: ids.collect(),
            bootable: bootable.collect(),
            request,
        }
    }
}

impl VersionService for StoreVersions {
    fn current_id(&self) -> Option<i32> {
        self.running
    }

    fn ids(&self) -> Vec<i32> {
        self.ids.clone()
    }

    /// Accept a switch to any bootable version (the last request of a run wins); refuse
    /// unknown, bad and missing ones.
    fn switch_to(&mut self, id: i32) -> bool {
        let ok = self.bootable.contains(&id);
        if ok {
            self.request.set(id as u64);
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::{Entry, Status};

    fn entry(id: u64, status: Status) -> Entry {
        Entry {
            id,
            version: format!("v{id}.0"),
            file: format!("kernel_v{id}.0.bin"),
            parent: None,
            date: "2025-01-01T00:00:00Z".into(),
            size: 1,
            parent_id: None,
            sha256: None,
            status,
            origin: None,
        }
    }

    #[test]
    fn answers_from_the_snapshot_and_records_switches() {
        let db = Db {
            history: vec![
                entry(1, Status::Good),
                entry(2, Status::Bad),
                entry(3, Status::Probation),
            ],
            ..Db::default()
        };
        let request = SwitchRequest::default();
        let mut s = StoreVersions::new(&db, 3, request.clone());
        assert_eq!(s.current_id(), Some(3));
        assert_eq!(s.ids(), [1, 2, 3]);
        assert!(!s.switch_to(2), "bad versions are refused");
        assert!(!s.switch_to(9), "unknown ids are refused");
        assert_eq!(request.get(), None);
        assert!(s.switch_to(1));
        assert_eq!(request.get(), Some(1));
        assert_eq!(
            s.current_id(),
            Some(3),
            "a switch takes effect at the next boot"
        );
    }
}
