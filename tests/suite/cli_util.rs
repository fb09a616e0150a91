//! Running the `pxos` binary from tests.

use std::process::{Command, Output};

/// Run `pxos ARGS` in the repository root.
pub fn pxos(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run pxos")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Run `pxos ARGS` (in the repository root) with its address space limited to
/// `megabytes`, so that a run that would read or allocate without bound fails fast
/// instead of exhausting the machine, and ended after 120 s (a safety net: pxos must never
/// block on these inputs; the tests need well under a second).
pub fn pxos_limited(megabytes: u64, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -v {}; exec timeout 120 \"$0\" \"$@\"",
            megabytes * 1024
        ))
        .arg(env!("CARGO_BIN_EXE_pxos"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run pxos")
}

/// Run `pxos ARGS` with its standard output a pipe whose reader is already closed (as in
/// `pxos ... | head -1` once `head` has exited).
pub fn pxos_into_closed_pipe(args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(writer)
        .output()
        .expect("run pxos")
}

/// Make a FIFO (named pipe) at `path`.
pub fn mkfifo(path: &std::path::Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
    assert!(status.success(), "mkfifo {}", path.display());
}
