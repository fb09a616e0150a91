//! The version database, `versions.json`: the seed's format (`current`, `latest_id`,
//! `history` entries of `id`, `version`, `file`, `parent`, `date`, `size`) plus the fields
//! pxOS adds — per entry `parent_id`, `sha256`, `status` and `origin`; at the top level
//! `current_id`, `last_good` and `events` (rollbacks, switches, repairs). A seed-format file
//! without the added fields loads as it is (its entries count as `good`).
//!
//! The history is kept in id order, so [`Db::by_id`] is a binary search; loops over the
//! whole history use an [`Index`]. Reading a damaged file is [`super::load`]'s job;
//! [`Db::sanitize`] checks a loaded database's structure and fixes what it can in memory
//! (the named checks of [`super::sanitize`]), each fix coming back as a message.

use super::candidates::PipelineState;
pub use super::index::Index;
use serde::{Deserialize, Serialize};

/// How far a version is trusted (boot assessment, after systemd's boot counting).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Has booted cleanly (halted within its fuel) at least once.
    Good,
    /// New: not yet booted cleanly. Its first failed boot marks it bad.
    Probation,
    /// Failed a boot while on probation; never booted again automatically.
    Bad,
    /// Its kernel file is lost or corrupt (found by `verify`); cannot be booted.
    Missing,
}

impl Status {
    /// The lower-case name used in versions.json and listings.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Good => "good",
            Status::Probation => "probation",
            Status::Bad => "bad",
            Status::Missing => "missing",
        }
    }

    /// Whether a version with this status may be booted.
    pub const fn bootable(self) -> bool {
        matches!(self, Status::Good | Status::Probation)
    }

    /// Entries written by the original (without a status) ran there: they count as good.
    fn legacy() -> Status {
        Status::Good
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One version in the history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: u64,
    pub version: String,
    /// The kernel's file name in `kernels/`.
    pub file: String,
    /// The parent version's name, if any.
    #[serde(default)]
    pub parent: Option<String>,
    /// When it was registered, `YYYY-MM-DDTHH:MM:SSZ`.
    pub date: String,
    /// The kernel's size in bytes.
    pub size: u64,
    /// The parent version's id (names can repeat; ids cannot).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<u64>,
    /// Hex SHA-256 of the kernel (absent in seed-format files until `verify` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default = "Status::legacy")]
    pub status: Status,
    /// How it got here: `register`, `self_modify <path>`, `rebuilt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// What an [`Event`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A version on probation failed its boot and the previous good version was restored.
    Rollback,
    /// `pxos rollback`: the current version moved back along the lineage.
    ManualRollback,
    /// `pxos switch`.
    Switch,
    /// A kernel's VERSION_SWITCH syscall, taken after it halted.
    GuestSwitch,
    /// A good version failed to boot; it stays current and good.
    BootFailed,
    /// versions.json was rebuilt from `kernels/`.
    Rebuilt,
    /// `verify` repaired something.
    Repair,
    /// A canary passed its last rollout stage and became the current version.
    Promoted,
    /// A canary failed a boot during its rollout and was marked bad.
    Reverted,
}

impl EventKind {
    /// The snake-case name used in versions.json and listings.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventKind::Rollback => "rollback",
            EventKind::ManualRollback => "manual_rollback",
            EventKind::Switch => "switch",
            EventKind::GuestSwitch => "guest_switch",
            EventKind::BootFailed => "boot_failed",
            EventKind::Rebuilt => "rebuilt",
            EventKind::Repair => "repair",
            EventKind::Promoted => "promoted",
            EventKind::Reverted => "reverted",
        }
    }
}

/// A change of the current version that is not a registration, or a repair: kept in
/// versions.json so that no rollback is ever silent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub date: String,
    pub kind: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_id: Option<u64>,
    pub reason: String,
}

/// The whole of versions.json.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Db {
    /// The current version's name (the seed's field).
    pub current: Option<String>,
    /// The current version's id (authoritative when names repeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_id: Option<u64>,
    /// The highest id ever given; the next version gets `latest_id + 1`.
    #[serde(default)]
    pub latest_id: u64,
    /// Every version, in id order.
    #[serde(default)]
    pub history: Vec<Entry>,
    /// The version that most recently booted cleanly: where a failed probation rolls back to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_good: Option<u64>,
    /// Rollbacks, switches and repairs, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<Event>,
    /// The Phase 3 pipeline: candidates, the rollout, background evolution.
    #[serde(default, skip_serializing_if = "PipelineState::is_empty")]
    pub pipeline: PipelineState,
}

impl Db {
    /// Parse versions.json.
    pub fn parse(bytes: &[u8]) -> Result<Db, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// versions.json's bytes: pretty-printed, with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// The entry with id `id` (a binary search: the history is kept in id order — by
    /// [`Db::sanitize`] on load, and by every change, which appends a new highest id).
    pub fn by_id(&self, id: u64) -> Option<&Entry> {
        let at = self.history.binary_search_by_key(&id, |e| e.id).ok()?;
        self.history.get(at)
    }

    pub(crate) fn by_id_mut(&mut self, id: u64) -> Option<&mut Entry> {
        let at = self.history.binary_search_by_key(&id, |e| e.id).ok()?;
        self.history.get_mut(at)
    }

    /// The newest entry named `name`.
    pub fn by_name(&self, name: &str) -> Option<&Entry> {
        self.history.iter().rev().find(|e| e.version == name)
    }

    /// The current version's entry.
    pub fn current_entry(&self) -> Option<&Entry> {
        match self.current_id {
            Some(id) => self.by_id(id),
            None => self.current.as_deref().and_then(|n| self.by_name(n)),
        }
    }

    /// `entry`'s parent: by id if recorded, else the newest version of the recorded name
    /// that is older than `entry` (a parent always exists before its child). For many
    /// lookups build an [`Index`] once instead.
    pub fn parent_of(&self, entry: &Entry) -> Option<&Entry> {
        match entry.parent_id {
            Some(id) => self.by_id(id),
            None => {
                let name = entry.parent.as_deref()?;
                let older = self.history.iter().take_while(|e| e.id < entry.id);
                older.filter(|e| e.version == name).last()
            }
        }
    }

    /// Whether a version is named `name`.
    pub fn name_taken(&self, name: &str) -> bool {
        self.history.iter().any(|e| e.version == name)
    }

    /// Whether an entry uses kernel file `file` (ignoring ASCII case, so that names which
    /// differ only in case get distinct files on case-insensitive file systems too).
    pub fn file_in_use(&self, file: &str) -> bool {
        self.history
            .iter()
            .any(|e| e.file.eq_ignore_ascii_case(file))
    }

    /// Make `id` current (both fields).
    pub(crate) fn set_current(&mut self, id: Option<u64>) {
        self.current_id = id;
        self.current = id.and_then(|id| self.by_id(id)).map(|e| e.version.clone());
    }

    /// Where a failed version `failed` rolls back to: the version that last booted cleanly,
    /// else its nearest good ancestor, else the newest good version.
    pub fn fallback_for(&self, failed: u64) -> Option<u64> {
        let good =
            |id: u64| id != failed && self.by_id(id).is_some_and(|e| e.status == Status::Good);
        if let Some(id) = self.last_good.filter(|&id| good(id)) {
            return Some(id);
        }
        if let Some(e) = self.ancestors(failed).into_iter().find(|e| good(e.id)) {
            return Some(e.id);
        }
        self.history.iter().rev().map(|e| e.id).find(|&id| good(id))
    }

    /// The ancestors of `id`, nearest first (stops at a missing parent or a cycle).
    pub fn ancestors(&self, id: u64) -> Vec<&Entry> {
        let index = Index::new(self);
        let mut out: Vec<&Entry> = Vec::new();
        let mut seen = std::collections::HashSet::from([id]);
        let mut at = self.by_id(id).and_then(|e| index.parent_of(e));
        while let Some(e) = at {
            if !seen.insert(e.id) {
                break;
            }
            out.push(e);
            at = index.parent_of(e);
        }
        out
    }

    /// Check the structure and fix what can be fixed in memory (see [`super::sanitize`]).
    /// Returns one message per problem; an empty list means the database was sound.
    pub fn sanitize(&mut self) -> Vec<String> {
        super::sanitize::sanitize(self)
    }

    /// Warnings about lineage: parents named in entries but absent from the history.
    pub fn lineage_warnings(&self) -> Vec<String> {
        let index = Index::new(self);
        self.history
            .iter()
            .filter(|e| {
                (e.parent.is_some() || e.parent_id.is_some()) && index.parent_of(e).is_none()
            })
            .map(|e| {
                let parent = match (&e.parent, e.parent_id) {
                    (Some(name), Some(id)) => format!("{name} (id {id})"),
                    (Some(name), None) => name.clone(),
                    (None, Some(id)) => format!("id {id}"),
                    (None, None) => String::new(),
                };
                format!(
                    "version {} (id {}) names parent {parent}, which is not in the history",
                    e.version, e.id
                )
            })
            .collect()
    }
}

/// Whether `s` is a lower-case hex SHA-256.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = r#"{
      "current": "v2.0",
      "latest_id": 2,
      "history": [
        {"id": 1, "version": "v1.0", "file": "kernel_v1.0.bin", "parent": null,
         "date": "2025-11-14T23:10:32Z", "size": 400},
        {"id": 2, "version": "v2.0", "file": "kernel_v2.0.bin", "parent": "v1.0",
         "date": "2025-11-14T23:15:45Z", "size": 480}
      ]
    }"#;

    #[test]
    fn reads_the_seed_format() {
        let mut db = Db::parse(SEED.as_bytes()).unwrap();
        assert!(db.sanitize().is_empty());
        let cur = db.current_entry().unwrap();
        assert_eq!((cur.id, cur.status), (2, Status::Good));
        assert_eq!(db.parent_of(cur).unwrap().version, "v1.0");
        assert_eq!(db.current_id, Some(2));
        assert!(db.lineage_warnings().is_empty());
    }

    #[test]
    fn writes_the_seed_fields_first_and_round_trips() {
        let mut db = Db::parse(SEED.as_bytes()).unwrap();
        db.sanitize();
        let text = String::from_utf8(db.to_json()).unwrap();
        let keys = [
            "\"id\"",
            "\"version\"",
            "\"file\"",
            "\"parent\"",
            "\"date\"",
            "\"size\"",
        ];
        let pos: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(Db::parse(text.as_bytes()).unwrap(), db);
    }

    #[test]
    fn a_file_name_that_could_escape_the_folder_is_restored() {
        let text = SEED.replace("kernel_v2.0.bin", "../../etc/passwd");
        let mut db = Db::parse(text.as_bytes()).unwrap();
        let msgs = db.sanitize();
        assert_eq!(db.history.len(), 2);
        assert!(
            msgs.iter()
                .any(|m| m.contains("\"../../etc/passwd\"")
                    && m.contains("set to \"kernel_v2.0.bin\"")),
            "{msgs:?}"
        );
        assert_eq!(db.history[1].file, "kernel_v2.0.bin");
        // current named that entry, and still does.
        assert_eq!(db.current.as_deref(), Some("v2.0"));
    }

    #[test]
    fn repairs_counters_and_reports_missing_parents() {
        let text = SEED
            .replace("\"latest_id\": 2", "\"latest_id\": 0")
            .replace("\"parent\": \"v1.0\"", "\"parent\": \"v0.9\"");
        let mut db = Db::parse(text.as_bytes()).unwrap();
        let msgs = db.sanitize();
        assert_eq!(db.latest_id, 2);
        assert_eq!(msgs.len(), 1, "{msgs:?}");
        assert_eq!(db.lineage_warnings().len(), 1);
    }

    #[test]
    fn fallback_prefers_the_last_good_then_ancestors() {
        let mut db = Db::parse(SEED.as_bytes()).unwrap();
        db.sanitize();
        db.by_id_mut(2).unwrap().status = Status::Probation;
        assert_eq!(db.fallback_for(2), Some(1));
        db.by_id_mut(1).unwrap().status = Status::Bad;
        assert_eq!(db.fallback_for(2), None);
    }
}
