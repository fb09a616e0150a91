//! Options naming folders and outputs are checked before any work, with a `pxos:` message
//! that names the option and the path: a missing parent of `--fs` is never created, a
//! file where a folder belongs is named for what it is.

use super::cli_util::{pxos, stderr, stdout};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn run_fs_creates_only_its_last_component_and_refuses_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("no/such/store");
    let o = pxos(&["run", "kernels/kernel_v1.asm", "--fs", s(&typo)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "pxos: --fs {}: the folder {} does not exist\n",
            typo.display(),
            dir.path().join("no/such").display()
        )
    );
    assert!(stdout(&o).is_empty(), "nothing ran: {}", stdout(&o));
    assert!(!dir.path().join("no").exists(), "no parent is created");

    let file = dir.path().join("afile");
    std::fs::write(&file, b"keep").unwrap();
    let o = pxos(&["run", "kernels/kernel_v1.asm", "--fs", s(&file)]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        stderr(&o),
        format!(
            "pxos: --fs {} is a regular file, not a folder\n",
            file.display()
        )
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep");

    // A new store in an existing folder is made, as README's `--fs /tmp/v1` does.
    let new = dir.path().join("v1");
    let o = pxos(&["run", "kernels/kernel_v1.asm", "--fs", s(&new)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(new.is_dir());
}

#[test]
fn a_batch_manifest_fs_never_creates_missing_parents() {
    let dir = tempfile::tempdir().unwrap();
    let kernel = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kernels/kernel_v1.asm");
    let manifest = dir.path().join("jobs.jsonl");
    std::fs::write(
        &manifest,
        format!(
            "{{\"kernel\": \"{}\", \"fs\": \"no/such/store\"}}\n",
            kernel.display()
        ),
    )
    .unwrap();
    let o = pxos(&["batch", s(&manifest)]);
    let out = stdout(&o);
    assert!(
        out.contains("the folder") && out.contains("does not exist"),
        "{out}{}",
        stderr(&o)
    );
    assert!(!dir.path().join("no").exists(), "no parent is created");
}

#[test]
fn fuzz_seeds_never_wrap_and_out_is_checked_first() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("found");
    let o = pxos(&[
        "fuzz",
        "--seconds",
        "5",
        "--seed",
        "18446744073709551615",
        "--out",
        s(&out),
    ]);
    assert!(
        o.status.code() == Some(0) || o.status.code() == Some(1),
        "{}",
        stderr(&o)
    );
    let text = stdout(&o);
    assert!(text.starts_with("1 program in "), "{text}");
    assert!(
        text.contains("every seed up to 18446744073709551615 tried"),
        "{text}"
    );

    let file = dir.path().join("afile");
    std::fs::write(&file, b"x").unwrap();
    let fifo = dir.path().join("fifo");
    super::cli_util::mkfifo(&fifo);
    for (bad, why) in [
        (
            file.clone(),
            format!("{} is a regular file, not a folder", file.display()),
        ),
        (
            fifo.clone(),
            format!("{} is a FIFO (named pipe), not a folder", fifo.display()),
        ),
        (
            dir.path().join("no/such/dir"),
            format!(
                "{}: the folder {} does not exist",
                dir.path().join("no/such/dir").display(),
                dir.path().join("no/such").display()
            ),
        ),
    ] {
        let o = pxos(&["fuzz", "--seconds", "60", "--out", s(&bad)]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert_eq!(stderr(&o), format!("pxos: --out {why}\n"));
    }
}
