//! Rebuilding a lost or damaged versions.json from the kernel files in `kernels/`. Every
//! `kernel_<name>.bin` (and `kernel_<name>@<id>.bin`) that holds a loadable kernel becomes a
//! version again, oldest file first; backups, `kernel_current.bin`, temporary files and
//! anything else are skipped. What cannot be recovered — parents and boot statuses — is
//! reset: parents are unknown (null) and every version is on probation, so each is assessed
//! again on its next boot. The current version is the newest one whose kernel equals
//! `kernel_current.bin`, else the newest one. The rebuild is recorded as an event.

use super::db::{Db, Entry, Event, EventKind, Status};
use super::error::{Result, StoreError};
use super::names::{self, KernelFileKind};
use super::read_bounded;
use crate::util::date;
use crate::util::sha256_hex;
use std::fs;
use std::path::Path;
use std::time::SystemTime;

struct Found {
    name: String,
    explicit_id: Option<u64>,
    file: String,
    bytes: Vec<u8>,
    modified: SystemTime,
}

/// A database rebuilt from `<root>/kernels/`, with a message for each file skipped.
pub fn rebuild(root: &Path) -> Result<(Db, Vec<String>)> {
    let dir = root.join("kernels");
    let mut found = Vec::new();
    let mut msgs = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Db::default(), msgs)),
        Err(e) => return Err(StoreError::io("list", &dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(StoreError::io("list", &dir))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let KernelFileKind::Version { name, id } = names::classify(&file) else {
            continue;
        };
        let path = dir.join(&file);
        match read_bounded(&path) {
            Ok(bytes) if !bytes.is_empty() => found.push(Found {
                name,
                explicit_id: id,
                file,
                bytes,
                modified: entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            }),
            Ok(_) => msgs.push(format!("{}: empty; not a kernel, skipped", path.display())),
            Err(e) => msgs.push(format!("{e}; skipped")),
        }
    }
    found.sort_by(|a, b| (a.modified, &a.file).cmp(&(b.modified, &b.file)));

    // Files named `kernel_V@N.bin` must keep id N; the others are numbered oldest first
    // around them.
    let mut used: Vec<u64> = found.iter().filter_map(|f| f.explicit_id).collect();
    used.sort_unstable();
    let mut next = 1u64;
    let mut db = Db::default();
    for f in found {
        let id = match f.explicit_id {
            Some(id) if id > 0 && db.by_id(id).is_none() => id,
            Some(_) => {
                msgs.push(format!("{}: its id repeats another's; skipped", f.file));
                continue;
            }
            None => {
                while used.binary_search(&next).is_ok() {
                    next += 1;
                }
                let id = next;
                next += 1;
                id
            }
        };
        db.history.push(Entry {
            id,
            version: f.name,
            file: f.file,
            parent: None,
            date: date::format_utc(f.modified),
            size: f.bytes.len() as u64,
            parent_id: None,
            sha256: Some(sha256_hex(&f.bytes)),
            status: Status::Probation,
            origin: Some("rebuilt".to_string()),
        });
    }
    db.history.sort_by_key(|e| e.id);
    db.latest_id = db.history.iter().map(|e| e.id).max().unwrap_or(0);

    let current_copy = read_bounded(&dir.join(names::CURRENT_FILE))
        .ok()
        .map(|b| sha256_hex(&b));
    let current = db
        .history
        .iter()
        .rev()
        .find(|e| e.sha256 == current_copy)
        .or(db.history.last())
        .map(|e| e.id);
    db.set_current(current);
    if !db.history.is_empty() {
        db.events.push(Event {
            date: date::now_utc(),
            kind: EventKind::Rebuilt,
            from: None,
            from_id: None,
            to: db.current.clone(),
            to_id: db.current_id,
            reason: format!(
                "versions.json was missing or damaged; rebuilt from {} kernel file(s)",
                db.history.len()
            ),
        });
    }
    Ok((db, msgs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilds_versions_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let k = dir.path().join("kernels");
        fs::create_dir(&k).unwrap();
        fs::write(k.join("kernel_v1.0.bin"), [1, 0]).unwrap();
        fs::write(k.join("kernel_v1.0@5.bin"), [2, 0]).unwrap();
        fs::write(k.join("kernel_v1.0_backup.bin"), [1, 0]).unwrap();
        fs::write(k.join("kernel_current.bin"), [1, 0]).unwrap();
        fs::write(k.join(".kernel_v3.0.bin.tmp.1.2"), [9]).unwrap();
        fs::write(k.join("kernel_empty.bin"), []).unwrap();
        fs::write(k.join("readme.txt"), b"hi").unwrap();
        let (mut db, msgs) = rebuild(dir.path()).unwrap();
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        let ids: Vec<(u64, &str)> = db.history.iter().map(|e| (e.id, e.file.as_str())).collect();
        assert_eq!(ids, [(1, "kernel_v1.0.bin"), (5, "kernel_v1.0@5.bin")]);
        assert_eq!(db.latest_id, 5);
        assert_eq!(
            db.current_id,
            Some(1),
            "kernel_current.bin holds v1.0's bytes"
        );
        assert!(db.history.iter().all(|e| e.status == Status::Probation));
        assert!(db.sanitize().is_empty(), "a rebuilt database is sound");
        assert_eq!(db.events.len(), 1);
    }

    #[test]
    fn no_kernels_folder_means_an_empty_database() {
        let dir = tempfile::tempdir().unwrap();
        let (db, msgs) = rebuild(dir.path()).unwrap();
        assert!(db.history.is_empty() && msgs.is_empty());
    }
}
