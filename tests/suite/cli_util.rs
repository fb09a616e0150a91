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

/// The text of a repository file.
pub fn repo_file(path: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The command of a script whose line starts with `start` (after indentation): that line
/// and the lines it continues onto (`\`), with runs of blanks made one space.
pub fn command(script: &str, start: &str) -> String {
    let mut lines = script
        .lines()
        .skip_while(|line| !line.trim_start().starts_with(start));
    let mut text = String::new();
    for line in lines.by_ref() {
        text += line.trim_end_matches('\\');
        text.push(' ');
        if !line.ends_with('\\') {
            break;
        }
    }
    assert!(!text.is_empty(), "no line starts with {start} in {script}");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
