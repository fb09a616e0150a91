//! The structural checks of a loaded database ([`Db::sanitize`]), each a named function
//! that fixes what it finds in memory and says so:
//!
//! - a file name that does not belong to the entry's version is set to the one the store
//!   gives it (it follows from the name and id), keeping the entry;
//! - entries a store could not have written are dropped (their files are left alone):
//!   [`ENTRY_CHECKS`] — an invalid name, id 0, an impossible size, a malformed SHA-256,
//!   an id or file used by an earlier entry;
//! - a parent that is not older than its child (a version that is its own parent, or a
//!   parent cycle, which only a hand-edited file can hold) is cleared, the entry kept;
//! - `latest_id` is raised to the highest id;
//! - `current` must name a bootable version, `last_good` a good one.
//!
//! Everything runs in linear time (hash sets and an [`Index`]).

use super::db::{Db, Entry, Status};
use super::index::Index;
use super::names;
use std::collections::HashSet;

/// What the entries kept so far use (for the uniqueness checks).
#[derive(Debug, Default)]
pub struct Seen {
    ids: HashSet<u64>,
    files: HashSet<String>,
}

/// A check of one entry: the problem, if any, that makes it one no store could write.
type EntryCheck = fn(&Entry, &Seen) -> Option<String>;

/// The entry checks, in the order they are tried (the first failing one is reported).
pub const ENTRY_CHECKS: &[EntryCheck] = &[
    name_is_valid,
    id_is_not_zero,
    size_is_possible,
    sha256_is_well_formed,
    id_is_unique,
    file_is_unique,
];

fn name_is_valid(e: &Entry, _: &Seen) -> Option<String> {
    names::validate(&e.version).err().map(|err| err.to_string())
}

fn id_is_not_zero(e: &Entry, _: &Seen) -> Option<String> {
    (e.id == 0).then(|| "id 0 is not a valid id".to_string())
}

fn size_is_possible(e: &Entry, _: &Seen) -> Option<String> {
    (e.size == 0 || e.size > pxvm::MEM_SIZE as u64)
        .then(|| format!("size {} is impossible for a kernel", e.size))
}

fn sha256_is_well_formed(e: &Entry, _: &Seen) -> Option<String> {
    e.sha256
        .as_ref()
        .filter(|h| !super::db::is_sha256(h))
        .map(|_| "sha256 is not 64 lower-case hex digits".to_string())
}

fn id_is_unique(e: &Entry, seen: &Seen) -> Option<String> {
    seen.ids
        .contains(&e.id)
        .then(|| format!("id {} is used by an earlier entry", e.id))
}

fn file_is_unique(e: &Entry, seen: &Seen) -> Option<String> {
    seen.files
        .contains(&e.file)
        .then(|| format!("file {} is used by an earlier entry", e.file))
}

/// A repair of the whole database; returns one message per fix.
type DbCheck = fn(&mut Db) -> Vec<String>;

/// The database checks, in order (later ones rely on the earlier ones' fixes).
pub const DB_CHECKS: &[DbCheck] = &[
    drop_impossible_entries,
    parents_are_older,
    latest_id_covers_every_id,
    current_is_bootable,
    last_good_is_good,
    super::candidates::candidate_counter_covers_every_candidate,
    super::candidates::rollout_names_a_bootable_canary,
];

/// Run every check; see the module docs.
pub fn sanitize(db: &mut Db) -> Vec<String> {
    DB_CHECKS.iter().flat_map(|check| check(db)).collect()
}

/// Drop the entries that fail an [`ENTRY_CHECKS`] check; sort the rest by id.
fn drop_impossible_entries(db: &mut Db) -> Vec<String> {
    let mut msgs = Vec::new();
    let mut seen = Seen::default();
    let mut kept = Vec::with_capacity(db.history.len());
    for mut e in std::mem::take(&mut db.history) {
        if let Some(fixed) = file_name_restored(&e, &seen) {
            msgs.push(format!(
                "versions.json: the entry for {:?} (id {}) named the file {:?}, which the store never gives it; set to {fixed:?}",
                e.version, e.id, e.file
            ));
            e.file = fixed;
        }
        match ENTRY_CHECKS.iter().find_map(|check| check(&e, &seen)) {
            Some(p) => msgs.push(format!(
                "versions.json: dropped the entry for {:?} (id {}): {p}",
                e.version, e.id
            )),
            None => {
                seen.ids.insert(e.id);
                seen.files.insert(e.file.clone());
                kept.push(e);
            }
        }
    }
    kept.sort_by_key(|e| e.id);
    db.history = kept;
    msgs
}

/// The file name the store gives the entry's version, if the entry names another: a kernel
/// file's name follows from the version's name and id (`kernel_V.bin`, or `kernel_V@ID.bin`
/// when an earlier entry has that), so a damaged `file` field is restored rather than the
/// whole entry dropped (which could make another version current). Whether the file
/// exists and holds the recorded bytes is checked when the store is verified.
fn file_name_restored(e: &Entry, seen: &Seen) -> Option<String> {
    if names::is_file_of(&e.file, &e.version, e.id) || names::validate(&e.version).is_err() {
        return None;
    }
    Some(names::kernel_file(&e.version, e.id, |f| {
        seen.files.contains(f)
    }))
}

/// A parent exists before its child, so a parent id at or above the child's own is
/// impossible: it is how a self-parent or a parent cycle shows. Such a parent is cleared
/// (the version becomes a root of the lineage); the entry is kept.
fn parents_are_older(db: &mut Db) -> Vec<String> {
    let index = Index::new(db);
    let mut broken = Vec::new();
    for (at, e) in db.history.iter().enumerate() {
        let problem = match (e.parent_id, &e.parent) {
            (Some(id), _) if id == e.id => "names itself as its parent".to_string(),
            (Some(id), _) if id > e.id => {
                format!("names parent id {id}, which is newer than it (a parent cycle)")
            }
            (None, Some(name)) if *name == e.version && index.parent_of(e).is_none() => {
                "names itself as its parent".to_string()
            }
            _ => continue,
        };
        broken.push((at, problem));
    }
    broken
        .into_iter()
        .map(|(at, problem)| {
            let e = &mut db.history[at];
            e.parent = None;
            e.parent_id = None;
            format!(
                "versions.json: version {} (id {}) {problem}; its parent is cleared, the version kept",
                e.version, e.id
            )
        })
        .collect()
}

fn latest_id_covers_every_id(db: &mut Db) -> Vec<String> {
    let max = db.history.iter().map(|e| e.id).max().unwrap_or(0);
    if db.latest_id >= max {
        return Vec::new();
    }
    let msg = format!(
        "versions.json: latest_id {} was below the highest id {max}; raised",
        db.latest_id
    );
    db.latest_id = max;
    vec![msg]
}

/// `current` and `current_id` name one bootable version; else the last good version (or
/// the newest bootable one) becomes current.
fn current_is_bootable(db: &mut Db) -> Vec<String> {
    let wanted = db.current_entry().map(|e| (e.id, e.status));
    let named = db.current.is_some() || db.current_id.is_some();
    match wanted {
        Some((id, status)) if status.bootable() => {
            let before = db.current.clone();
            db.set_current(Some(id));
            if before == db.current {
                return Vec::new();
            }
            vec![format!(
                "versions.json: current named {} but current_id {id} is {}; corrected",
                quoted(&before),
                quoted(&db.current)
            )]
        }
        _ if named => {
            let what = match wanted {
                Some((id, status)) => format!("version id {id}, which is {status}"),
                None => {
                    let id = db.current_id.map(|id| format!(" (id {id})"));
                    format!(
                        "{}{}, which is not in the history",
                        quoted(&db.current),
                        id.unwrap_or_default()
                    )
                }
            };
            let to = db
                .last_good
                .filter(|&id| db.by_id(id).is_some_and(|e| e.status == Status::Good))
                .or_else(|| {
                    let bootable = db.history.iter().rev().find(|e| e.status.bootable());
                    bootable.map(|e| e.id)
                });
            db.set_current(to);
            vec![format!(
                "versions.json: current was {what}; now {}",
                quoted(&db.current)
            )]
        }
        _ => Vec::new(),
    }
}

fn last_good_is_good(db: &mut Db) -> Vec<String> {
    let Some(id) = db.last_good else {
        return Vec::new();
    };
    if db.by_id(id).is_some_and(|e| e.status == Status::Good) {
        return Vec::new();
    }
    db.last_good = None;
    vec![format!(
        "versions.json: last_good {id} is not a good version; cleared"
    )]
}

/// A version name for messages: `"v2.0"`, or `none`.
fn quoted(name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{n:?}"),
        None => "none".to_string(),
    }
}
