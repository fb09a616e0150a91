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
