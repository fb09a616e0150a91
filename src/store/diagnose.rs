//! The diagnosis of `pxos verify` (see [`super::verify`]): reads the store, writes nothing,
//! and lists each problem with its repair. The checks, in order:
//!
//! - what loading found (a rebuilt or repaired versions.json; the damaged file is kept);
//! - every version's kernel file holds the recorded size and SHA-256. A damaged or lost
//!   kernel is restored from any file in `kernels/` whose SHA-256 matches the record —
//!   its backup, `kernel_current.bin`, another version's file, in that order — and only
//!   without one is the version marked `missing` (it can no longer be booted). A kernel
//!   file that is a link, a FIFO or a device is never read; it counts as lost;
//! - the database's structure ([`super::sanitize`]); that a version id is left to give;
//!   that every parent is in the history;
//! - `kernel_current.bin` is a copy of the current kernel;
//! - no temporary files of interrupted writes are left; every kernel file belongs to a
//!   version;
//! - `build/` holds no symbolic link, FIFO or device (never followed: reported).
//!
//! Each file is read once and every lookup goes through a hash map, so the diagnosis is
//! linear in the number of versions.

use super::db::{Db, Entry, Status};
use super::names::{self, KernelFileKind};
use super::verify::{Diagnosis, Fix, Item, Level};
use super::{Store, kernel_problem, read_bounded};
use crate::util::nofollow;
use crate::util::sha256_hex;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

impl Store {
    /// Diagnose the store (see the module docs); nothing is written.
    pub fn diagnose(&self) -> Diagnosis {
        let mut db = self.db().clone();
        let mut items: Vec<Item> = self
            .problems
            .iter()
            .map(|p| Item::fixed_by(Level::Error, p.clone(), Fix::Database, "", ""))
            .collect();
        if let Some(path) = self.damaged_copy() {
            items.push(Item::fixed_by(
                Level::Note,
                "versions.json was damaged".to_string(),
                Fix::Database,
                &format!("the file as it was is kept as {}", path.display()),
                &format!("keep the file as it was as {}", path.display()),
            ));
        }
        let listing = self.listing();
        self.check_kernels(&mut db, &listing, &mut items);
        for msg in db.sanitize() {
            items.push(Item::fixed_by(Level::Error, msg, Fix::Database, "", ""));
        }
        items.extend(ids_left(&mut db, &listing));
        for msg in db.lineage_warnings() {
            items.push(Item::report(Level::Warning, msg));
        }
        items.extend(self.check_current_copy(&db, &items));
        items.extend(self.check_strays(&db, &listing));
        items.extend(self.check_build());
        Diagnosis { db, items }
    }

    /// The names in `kernels/` and in the store folder.
    fn listing(&self) -> Listing {
        let names = |dir: &Path| -> Vec<String> {
            let Ok(entries) = fs::read_dir(dir) else {
                return Vec::new();
            };
            let mut out: Vec<String> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            out.sort();
            out
        };
        Listing {
            kernels: names(&self.kernels_dir()),
            root: names(self.root()),
        }
    }

    /// Every version's kernel against its record; restores and `missing` marks.
    fn check_kernels(&self, db: &mut Db, listing: &Listing, items: &mut Vec<Item>) {
        let mut damaged: Vec<(usize, String)> = Vec::new();
        let mut intact: HashMap<String, String> = HashMap::new();
        for (at, e) in db.history.iter_mut().enumerate() {
            let path = self.kernel_path(&e.file);
            let bytes = match read_bounded(&path) {
                Ok(bytes) => bytes,
                Err(err) => {
                    damaged.push((at, err.to_string()));
                    continue;
                }
            };
            if let Some(problem) = kernel_problem(e, &bytes) {
                damaged.push((at, format!("{}: {problem}", path.display())));
                continue;
            }
            let sha = sha256_hex(&bytes);
            intact.entry(sha.clone()).or_insert_with(|| e.file.clone());
            if e.sha256.is_none() {
                e.sha256 = Some(sha);
                items.push(Item::fixed_by(
                    Level::Note,
                    format!("{}: its SHA-256 is not in versions.json", path.display()),
                    Fix::Database,
                    "recorded",
                    "record it",
                ));
            }
            if e.status == Status::Missing {
                e.status = Status::Probation;
                items.push(Item::fixed_by(
                    Level::Warning,
                    format!(
                        "{}: the kernel of {} (id {}), marked missing, is whole again",
                        path.display(),
                        e.version,
                        e.id
                    ),
                    Fix::Database,
                    "back on probation",
                    "put it back on probation",
                ));
            }
        }
        let mut sources = Sources::new(self, listing, intact, db);
        for (at, problem) in damaged {
            let e = &mut db.history[at];
            let who = format!("kernel of {} (id {})", e.version, e.id);
            match sources.find(e) {
                Some((from, bytes)) => {
                    let was_missing = e.status == Status::Missing;
                    if was_missing {
                        e.status = Status::Probation;
                    }
                    let from = from.display();
                    items.push(Item::fixed_by(
                        Level::Error,
                        format!("{who}: {problem}"),
                        Fix::Restore {
                            file: e.file.clone(),
                            bytes,
                        },
                        &format!(
                            "restored from {from}, whose SHA-256 matches the record{}",
                            if was_missing {
                                "; back on probation"
                            } else {
                                ""
                            }
                        ),
                        &format!("restore it from {from}, whose SHA-256 matches the record"),
                    ));
                }
                None if e.status == Status::Missing => {} // already known and recorded
                None => {
                    e.status = Status::Missing;
                    items.push(Item::fixed_by(
                        Level::Error,
                        format!("{who}: {problem}; no file in kernels/ matches its SHA-256"),
                        Fix::Database,
                        "marked missing (it cannot be booted)",
                        "mark it missing (it cannot be booted)",
                    ));
                }
            }
        }
    }

    /// `kernel_current.bin` against the current kernel (as it will be after restores).
    fn check_current_copy(&self, db: &Db, items: &[Item]) -> Option<Item> {
        let path = self.kernel_path(names::CURRENT_FILE);
        let shown = path.display();
        let kind = match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_file() => None,
            Ok(meta) => Some(nofollow::kind_of(&meta)),
            Err(_) => Some("missing"),
        };
        let fix = |problem: String, done, todo| {
            Some(Item::fixed_by(
                Level::Warning,
                problem,
                Fix::CurrentCopy,
                done,
                todo,
            ))
        };
        let Some(cur) = db.current_entry() else {
            return match kind {
                Some("missing") => None,
                Some(kind) => fix(
                    format!("{shown} is {kind}, and no version is current"),
                    "removed",
                    "remove it",
                ),
                None => fix(
                    format!("{shown} exists but no version is current"),
                    "removed",
                    "remove it",
                ),
            };
        };
        let restored = items.iter().find_map(|i| match &i.fix {
            Fix::Restore { file, bytes } if *file == cur.file => Some(bytes.clone()),
            _ => None,
        });
        let wanted = restored.or_else(|| read_bounded(&self.kernel_path(&cur.file)).ok())?;
        let state = match kind {
            Some("missing") => "is missing, not a copy of".to_string(),
            Some(kind) => format!("is {kind}, not a copy of"),
            None if read_bounded(&path).is_ok_and(|b| b == wanted) => return None,
            None => "is not a copy of".to_string(),
        };
        fix(
            format!("{shown} {state} the current version {}", cur.version),
            "rewritten",
            "rewrite it",
        )
    }

    /// Temporary files to sweep up, and kernel files no version owns.
    fn check_strays(&self, db: &Db, listing: &Listing) -> Vec<Item> {
        let owned: HashSet<&str> = db.history.iter().map(|e| e.file.as_str()).collect();
        let mut items = Vec::new();
        let mut temps = Vec::new();
        let kernels = self.kernels_dir();
        let places = [
            (self.root(), &listing.root),
            (kernels.as_path(), &listing.kernels),
        ];
        for (dir, names) in places {
            for name in names {
                let path = dir.join(name);
                match names::classify(name) {
                    KernelFileKind::Temporary => temps.push(path),
                    KernelFileKind::Version { .. }
                        if dir == kernels && !owned.contains(name.as_str()) =>
                    {
                        items.push(Item::report(Level::Warning, stray_message(&path)));
                    }
                    _ => {}
                }
            }
        }
        items.extend(temps.into_iter().map(|t| {
            Item::fixed_by(
                Level::Note,
                format!("{}: temporary file of an interrupted write", t.display()),
                Fix::RemoveTemp(t),
                "removed",
                "remove it",
            )
        }));
        items
    }
}

impl Store {
    /// Entries of `build/` that nothing reads: a symbolic link, FIFO or device there is
    /// never followed or opened — a kernel that looks for its successor there finds none,
    /// and `pxos watch` refuses it — so a self-evolving kernel would stop evolving without
    /// a word. Reported, not removed (it was put there by someone).
    fn check_build(&self) -> Vec<Item> {
        let build = self.root().join("build");
        let Ok(entries) = fs::read_dir(&build) else {
            return Vec::new();
        };
        let mut out: Vec<(String, &'static str)> = entries
            .flatten()
            .filter_map(|e| {
                let meta = fs::symlink_metadata(e.path()).ok()?;
                (!meta.is_file() && !meta.is_dir()).then(|| {
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        nofollow::kind_of(&meta),
                    )
                })
            })
            .collect();
        out.sort();
        out.into_iter()
            .map(|(name, kind)| {
                Item::report(
                    Level::Warning,
                    format!(
                        "{} is {kind}: pxOS never follows or opens it, so a kernel reading it finds no file and `pxos watch` refuses it",
                        build.join(name).display()
                    ),
                )
            })
            .collect()
    }
}

/// The names found in the store's two folders.
struct Listing {
    kernels: Vec<String>,
    root: Vec<String>,
}

fn stray_message(path: &Path) -> String {
    match fs::symlink_metadata(path) {
        Ok(meta) if !meta.is_file() => format!(
            "{} is {} and belongs to no version; pxOS does not read it",
            path.display(),
            nofollow::kind_of(&meta)
        ),
        _ => format!(
            "{} belongs to no version (left by an interrupted registration, or put there by hand); `pxos register NAME {}` adds it",
            path.display(),
            path.display()
        ),
    }
}

/// `latest_id` must leave an id for the next version. At 2^64 - 1 it is lowered to the
/// highest id in use (in the history, the events or a `kernel_V@N.bin` file name) if that
/// is lower; else no repair is possible.
fn ids_left(db: &mut Db, listing: &Listing) -> Option<Item> {
    if db.latest_id < u64::MAX {
        return None;
    }
    let files = listing
        .kernels
        .iter()
        .filter_map(|f| match names::classify(f) {
            KernelFileKind::Version { id, .. } => id,
            _ => None,
        });
    let events = db
        .events
        .iter()
        .flat_map(|ev| [ev.from_id, ev.to_id])
        .flatten();
    let used = db.history.iter().map(|e| e.id).chain(events).chain(files);
    let highest = used.max().unwrap_or(0);
    let problem = format!(
        "versions.json: latest_id is {}, the largest id there is: no version can be added",
        u64::MAX
    );
    if highest == u64::MAX {
        return Some(Item::report(
            Level::Error,
            format!("{problem}, and id {highest} is in use (register into a new store)"),
        ));
    }
    db.latest_id = highest;
    Some(Item::fixed_by(
        Level::Error,
        problem,
        Fix::Database,
        &format!("lowered to {highest}, the highest id in use"),
        &format!("lower it to {highest}, the highest id in use"),
    ))
}

/// Where a damaged kernel can be restored from: any file in `kernels/` whose SHA-256 is
/// the recorded one. Files are hashed at most once, the ones no version owns only if
/// needed.
struct Sources<'a> {
    store: &'a Store,
    /// SHA-256 → a version's intact kernel file.
    intact: HashMap<String, String>,
    /// SHA-256 → other regular files (backups, `kernel_current.bin`, strays), filled on
    /// first use.
    others: Option<HashMap<String, String>>,
    listing: &'a Listing,
    owned: HashSet<String>,
}

impl<'a> Sources<'a> {
    fn new(
        store: &'a Store,
        listing: &'a Listing,
        intact: HashMap<String, String>,
        db: &Db,
    ) -> Sources<'a> {
        Sources {
            store,
            intact,
            others: None,
            listing,
            owned: db.history.iter().map(|e| e.file.clone()).collect(),
        }
    }

    /// A file whose bytes are `e`'s recorded kernel, with those bytes: its backup first,
    /// then `kernel_current.bin`, then any other. None if no SHA-256 is recorded.
    fn find(&mut self, e: &Entry) -> Option<(PathBuf, Vec<u8>)> {
        let sha = e.sha256.as_ref()?;
        let preferred = [names::backup_file(&e.file), names::CURRENT_FILE.to_string()];
        if let Some(found) = preferred.iter().find_map(|f| self.matching(f, e)) {
            return Some(found);
        }
        if let Some(file) = self.intact.get(sha).cloned()
            && let Some(found) = self.matching(&file, e)
        {
            return Some(found);
        }
        let file = self.others().get(sha).cloned()?;
        self.matching(&file, e)
    }

    fn matching(&self, file: &str, e: &Entry) -> Option<(PathBuf, Vec<u8>)> {
        let path = self.store.kernel_path(file);
        let bytes = read_bounded(&path).ok()?;
        kernel_problem(e, &bytes).is_none().then_some((path, bytes))
    }

    fn others(&mut self) -> &HashMap<String, String> {
        self.others.get_or_insert_with(|| {
            let mut map = HashMap::new();
            for name in &self.listing.kernels {
                if self.owned.contains(name) || crate::util::atomic::is_temp_name(name) {
                    continue;
                }
                if let Ok(bytes) = read_bounded(&self.store.kernel_path(name)) {
                    map.entry(sha256_hex(&bytes))
                        .or_insert_with(|| name.clone());
                }
            }
            map
        })
    }
}
