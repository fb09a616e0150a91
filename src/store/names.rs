//! Version names and the file names made from them. A version name becomes part of a file
//! name (`kernels/kernel_<name>.bin`), so [`validate`] refuses anything that could escape
//! the folder or clash with the store's own files. [`kernel_file`] keeps file names unique
//! when a name is registered twice, and [`child_name`] is the naming rule for the versions
//! that SELF_MODIFY creates.
//!
//! **File names.** Version `V` with id `N` is stored as `kernel_V.bin`, unless another entry
//! already uses that file (a duplicate name, as the seed allows: "Duplicate versions →
//! increment ID, continue"); then it is `kernel_V@N.bin`. `@` is refused in names, so such a
//! file can never be another version's. A backup of `kernel_X.bin` is `kernel_X_backup.bin`
//! (for plain names, the seed's `kernel_<V>_backup.bin`); names ending in `_backup` and the
//! name `current` are refused so that neither backups nor `kernel_current.bin` can clash.
//!
//! **Children.** A version `vX.Y` (decimal X and Y) evolves into `v(X+1).0` — the seed's
//! v1.0 → v2.0 — or, if that is taken, `v(X+1).1`, `v(X+1).2`, … . A name ending in `-N`
//! evolves into `-(N+1)` (then `-(N+2)`, … if taken); any other name `NAME` into `NAME-2`.

use super::error::{Result, StoreError};

/// Longest version name, in bytes.
pub const MAX_NAME_LEN: usize = 100;

/// The copy of the active kernel, in `kernels/`.
pub const CURRENT_FILE: &str = "kernel_current.bin";

/// Check that `name` can be a version name; the error says why not.
pub fn validate(name: &str) -> Result<()> {
    let reason = if name.is_empty() {
        Some("the name is empty")
    } else if name.len() > MAX_NAME_LEN {
        Some("the name is longer than 100 bytes")
    } else if name.contains(['/', '\\']) {
        Some("it contains a path separator (`/` or `\\`)")
    } else if name.contains("..") {
        Some("it contains `..`")
    } else if name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if name.contains('@') {
        Some("`@` is reserved for the file names of duplicate versions")
    } else if name.contains([':', '*', '?', '"', '<', '>', '|']) {
        Some("it contains a character not allowed in file names (: * ? \" < > |)")
    } else if name.eq_ignore_ascii_case("current") {
        Some("`current` names the copy of the active kernel (kernel_current.bin)")
    } else if name.to_ascii_lowercase().ends_with("_backup") {
        Some("names ending in `_backup` are reserved for backup files")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(StoreError::InvalidName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The kernel file for version `name` with id `id`: `kernel_<name>.bin`, or
/// `kernel_<name>@<id>.bin` if `in_use` says the plain file name is taken (compared
/// without regard to ASCII case, for case-insensitive file systems).
pub fn kernel_file(name: &str, id: u64, in_use: impl Fn(&str) -> bool) -> String {
    let plain = format!("kernel_{name}.bin");
    if in_use(&plain) {
        format!("kernel_{name}@{id}.bin")
    } else {
        plain
    }
}

/// Whether `file` is a kernel file name the store could have given version `name` with id
/// `id` (so a versions.json entry cannot point anywhere else).
pub fn is_file_of(file: &str, name: &str, id: u64) -> bool {
    file == format!("kernel_{name}.bin") || file == format!("kernel_{name}@{id}.bin")
}

/// The backup of kernel file `file`: `kernel_X.bin` → `kernel_X_backup.bin`.
pub fn backup_file(file: &str) -> String {
    let stem = file.strip_suffix(".bin").unwrap_or(file);
    format!("{stem}_backup.bin")
}

/// What a file in `kernels/` is, judged by its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelFileKind {
    /// A version's kernel: its name and, for `kernel_V@N.bin`, its id.
    Version { name: String, id: Option<u64> },
    /// `kernel_current.bin`.
    Current,
    /// A backup (`*_backup.bin`).
    Backup,
    /// A temporary file of an interrupted write.
    Temporary,
    /// Anything else.
    Other,
}

/// Classify a file name found in `kernels/`.
pub fn classify(file: &str) -> KernelFileKind {
    if crate::util::atomic::is_temp_name(file) {
        return KernelFileKind::Temporary;
    }
    if file == CURRENT_FILE {
        return KernelFileKind::Current;
    }
    let Some(stem) = file
        .strip_prefix("kernel_")
        .and_then(|s| s.strip_suffix(".bin"))
    else {
        return KernelFileKind::Other;
    };
    if stem.ends_with("_backup") {
        return KernelFileKind::Backup;
    }
    let (name, id) = match stem.rsplit_once('@') {
        Some((name, id)) => match id.parse::<u64>() {
            // Only the canonical spelling the store writes (no sign, no leading zeros).
            Ok(n) if n.to_string() == id => (name, Some(n)),
            _ => return KernelFileKind::Other,
        },
        None => (stem, None),
    };
    if validate(name).is_err() {
        return KernelFileKind::Other;
    }
    KernelFileKind::Version {
        name: name.to_string(),
        id,
    }
}

/// The name of a new version evolved from `parent` (see the module docs); `taken` says
/// which names are already used. Always returns a valid name that is not taken.
pub fn child_name(parent: &str, taken: impl Fn(&str) -> bool) -> String {
    let free = |s: &String| validate(s).is_ok() && !taken(s);
    if let Some(major) = major_of(parent)
        && let Some(next) = major.checked_add(1)
        && let Some(name) = (0u64..).map(|minor| format!("v{next}.{minor}")).find(free)
    {
        return name;
    }
    let (base, n) = match parent.rsplit_once('-') {
        Some((base, n)) if is_digits(n) => (base, n.parse::<u64>().unwrap_or(1)),
        _ => (parent, 1),
    };
    if let Some(name) = (1u64..)
        .map_while(|k| n.checked_add(k))
        .take(1_000_000)
        .map(|k| format!("{base}-{k}"))
        .find(free)
    {
        return name;
    }
    // The parent's name is too long to extend: fall back to a short generated name.
    (1u64..)
        .map(|k| format!("gen-{k}"))
        .find(free)
        .unwrap_or_else(|| "gen".to_string())
}

/// X of a `vX.Y` name.
fn major_of(name: &str) -> Option<u64> {
    let (major, minor) = name.strip_prefix('v')?.split_once('.')?;
    (is_digits(major) && is_digits(minor))
        .then(|| major.parse().ok())
        .flatten()
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_names_that_are_not_file_safe() {
        for bad in [
            "",
            "a/b",
            "a\\b",
            "..",
            "x..y",
            "a\nb",
            "tab\t",
            "nul\0",
            "del\u{7f}",
            "current",
            "CURRENT",
            "v1_backup",
            "x_BACKUP",
            "a@b",
            "c:d",
            "q?",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate(&"x".repeat(101)).is_err());
        for good in [
            "v1.0",
            "v2.0",
            "exp-1",
            "α",
            "current2",
            "backup",
            "a.b.c",
            &"x".repeat(100),
        ] {
            validate(good).unwrap_or_else(|e| panic!("{good:?} refused: {e}"));
        }
    }

    #[test]
    fn error_message_names_the_reason() {
        let e = validate("../etc").unwrap_err().to_string();
        assert!(e.contains("../etc") && e.contains("path separator"), "{e}");
    }

    #[test]
    fn duplicate_names_get_an_id_suffix() {
        assert_eq!(kernel_file("v1.0", 1, |_| false), "kernel_v1.0.bin");
        assert_eq!(
            kernel_file("v1.0", 7, |f| f == "kernel_v1.0.bin"),
            "kernel_v1.0@7.bin"
        );
        assert!(is_file_of("kernel_v1.0@7.bin", "v1.0", 7));
        assert!(!is_file_of("kernel_v1.0@7.bin", "v1.0", 8));
        assert!(!is_file_of("../x.bin", "v1.0", 1));
        assert_eq!(backup_file("kernel_v1.0.bin"), "kernel_v1.0_backup.bin");
        assert_eq!(backup_file("kernel_v1.0@7.bin"), "kernel_v1.0@7_backup.bin");
    }

    #[test]
    fn classifies_kernel_folder_entries() {
        let version = |name: &str, id| KernelFileKind::Version {
            name: name.to_string(),
            id,
        };
        assert_eq!(classify("kernel_v1.0.bin"), version("v1.0", None));
        assert_eq!(classify("kernel_v1.0@3.bin"), version("v1.0", Some(3)));
        assert_eq!(classify("kernel_current.bin"), KernelFileKind::Current);
        assert_eq!(classify("kernel_v1.0_backup.bin"), KernelFileKind::Backup);
        assert_eq!(
            classify(".kernel_v1.0.bin.tmp.9.0"),
            KernelFileKind::Temporary
        );
        assert_eq!(classify("notes.txt"), KernelFileKind::Other);
        assert_eq!(classify("kernel_v1.0@x.bin"), KernelFileKind::Other);
        assert_eq!(classify("kernel_.bin"), KernelFileKind::Other);
    }

    #[test]
    fn children_follow_the_naming_rule() {
        let none = |_: &str| false;
        assert_eq!(child_name("v1.0", none), "v2.0");
        assert_eq!(child_name("v9.3", none), "v10.0");
        assert_eq!(child_name("v1.0", |n| n == "v2.0" || n == "v2.1"), "v2.2");
        assert_eq!(child_name("exp", none), "exp-2");
        assert_eq!(child_name("exp-2", none), "exp-3");
        assert_eq!(child_name("exp-2", |n| n == "exp-3"), "exp-4");
        assert_eq!(child_name("v1", none), "v1-2");
        assert_eq!(
            child_name(&format!("v{}.0", u64::MAX), none),
            format!("v{}.0-2", u64::MAX)
        );
        let long = "x".repeat(100);
        assert_eq!(child_name(&long, none), "gen-1");
    }
}
