//! Lookups over a whole database in constant time: [`Index`] maps ids and names to
//! entries once (a hash map each), so that listing, verifying, sanitizing and drawing a
//! store stay linear in its number of versions — a store that `boot --max-generations
//! 100000` builds must list in about a second. Loops over the history use an index;
//! single lookups use [`Db::by_id`] (a binary search) and need none.

use super::db::{Db, Entry};
use std::collections::HashMap;

/// Ids and names of a database's entries, mapped to their positions in the history.
#[derive(Debug)]
pub struct Index<'a> {
    db: &'a Db,
    ids: HashMap<u64, usize>,
    /// Per name, the positions of its entries in ascending id order.
    names: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Index<'a> {
    /// Index `db` (linear time). Of entries that repeat an id, the first is indexed.
    pub fn new(db: &'a Db) -> Index<'a> {
        let mut ids = HashMap::with_capacity(db.history.len());
        let mut names: HashMap<&str, Vec<usize>> = HashMap::new();
        for (at, e) in db.history.iter().enumerate() {
            ids.entry(e.id).or_insert(at);
            names.entry(e.version.as_str()).or_default().push(at);
        }
        for list in names.values_mut() {
            list.sort_by_key(|&at| db.history[at].id);
        }
        Index { db, ids, names }
    }

    /// The entry with id `id`.
    pub fn by_id(&self, id: u64) -> Option<&'a Entry> {
        self.ids.get(&id).map(|&at| &self.db.history[at])
    }

    /// The newest entry named `name` with an id below `below`.
    pub fn by_name_below(&self, name: &str, below: u64) -> Option<&'a Entry> {
        let list = self.names.get(name)?;
        let older = list.partition_point(|&at| self.db.history[at].id < below);
        older.checked_sub(1).map(|k| &self.db.history[list[k]])
    }

    /// `entry`'s parent, as [`Db::parent_of`] finds it.
    pub fn parent_of(&self, entry: &Entry) -> Option<&'a Entry> {
        match entry.parent_id {
            Some(id) => self.by_id(id),
            None => self.by_name_below(entry.parent.as_deref()?, entry.id),
        }
    }

    /// Every entry's children (by position in the history), children in history order.
    /// An entry recorded as its own parent is not its own child.
    pub fn children(&self) -> HashMap<u64, Vec<usize>> {
        let mut out: HashMap<u64, Vec<usize>> = HashMap::new();
        for (at, e) in self.db.history.iter().enumerate() {
            if let Some(p) = self.parent_of(e).filter(|p| p.id != e.id) {
                out.entry(p.id).or_default().push(at);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::db::Status;

    fn entry(id: u64, name: &str, parent: Option<&str>) -> Entry {
        Entry {
            id,
            version: name.to_string(),
            file: format!("kernel_{name}@{id}.bin"),
            parent: parent.map(str::to_string),
            date: "2025-01-01T00:00:00Z".into(),
            size: 1,
            parent_id: None,
            sha256: None,
            status: Status::Good,
            origin: None,
        }
    }

    #[test]
    fn names_resolve_to_the_newest_older_version() {
        let db = Db {
            history: vec![
                entry(1, "a", None),
                entry(2, "b", Some("a")),
                entry(3, "a", Some("b")),
                entry(4, "c", Some("a")),
            ],
            ..Db::default()
        };
        let index = Index::new(&db);
        let parent = |id| index.parent_of(db.by_id(id).unwrap()).map(|e| e.id);
        assert_eq!(parent(2), Some(1));
        assert_eq!(parent(3), Some(2));
        assert_eq!(parent(4), Some(3), "the newest `a` before it");
        for id in 1..=4 {
            let e = db.by_id(id).unwrap();
            assert_eq!(
                index.parent_of(e).map(|p| p.id),
                db.parent_of(e).map(|p| p.id)
            );
        }
        assert_eq!(index.children()[&1], [1]);
    }
}
