//! Issue #13, the command line against careless and hostile use: closed pipes, inputs
//! that never end or block (devices, FIFOs), outputs that are links, FIFOs or the input
//! itself, and messages that say each thing once and begin with `pxos:`.

use super::cli_util::{mkfifo, pxos, pxos_into_closed_pipe, pxos_limited, stderr, stdout};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A store with a few versions, for `versions` and `boot`.
fn store(dir: &Path) -> String {
    let fs = dir.join("store");
    let o = pxos(&[
        "register",
        "v1.0",
        "kernels/self_evolve.asm",
        "--fs",
        s(&fs),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    fs.display().to_string()
}

#[test]
fn closed_pipes_end_pxos_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("64k.bin");
    std::fs::write(&big, vec![0x10u8; 65_536]).unwrap();
    let fs = store(dir.path());
    for args in [
        vec!["disasm", s(&big)],
        vec!["run", "kernels/kernel_v1.asm", "--json"],
        vec!["versions", "--fs", &fs],
        vec!["boot", "--fs", &fs, "--max-generations", "2"],
    ] {
        let o = pxos_into_closed_pipe(&args);
        assert_eq!(
            o.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?} ends as other tools do on a closed pipe: {:?} {}",
            o.status,
            stderr(&o)
        );
        assert_eq!(stderr(&o), "", "{args:?} says nothing");
    }
    // The interrupted boot left a consistent store.
    let o = pxos(&["verify", "--check", "--fs", &fs]);
    assert!(o.status.success(), "{}", stdout(&o));
}

#[test]
fn asm_refuses_to_overwrite_its_own_source() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("k.asm");
    std::fs::copy("kernels/kernel_v1.asm", &src).unwrap();
    let before = std::fs::read(&src).unwrap();
    let link = dir.path().join("link.bin");
    std::os::unix::fs::symlink(&src, &link).unwrap();
    let dotted = dir.path().join(".").join("k.asm");
    for out in [&src, &link, &dotted] {
        let o = pxos(&["asm", s(&src), "-o", s(out)]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(
            stderr(&o).starts_with("pxos: ")
                && stderr(&o).contains("is the same file as the source file"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read(&src).unwrap(), before, "the source is intact");
    }
}

#[test]
fn outputs_write_through_links_and_fifos() {
    let dir = tempfile::tempdir().unwrap();
    // A link to a picture: the link stays, its target gets the picture.
    let real = dir.path().join("real.png");
    std::fs::write(&real, b"old").unwrap();
    let link = dir.path().join("link.png");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = pxos(&["run", "kernels/kernel_v1.asm", "--png", s(&link)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read(&real).unwrap().starts_with(b"\x89PNG"));

    // A FIFO: the picture goes through it and the FIFO stays a FIFO. The test holds the
    // FIFO open for reading (and writing, so opening never blocks), non-blocking.
    let fifo = dir.path().join("fifo.png");
    mkfifo(&fifo);
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let o = pxos(&["run", "kernels/kernel_v1.asm", "--png", s(&fifo)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match std::io::Read::read(&mut reader, &mut buf) {
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(got.starts_with(b"\x89PNG"), "{} bytes", got.len());
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );

    // An evolve checkpoint behind a link: the link stays.
    let seed = dir.path().join("seed.asm");
    std::fs::write(&seed, "IMM32 R1, 0\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    let ck_real = dir.path().join("ck-real.json");
    std::fs::write(&ck_real, b"{}").unwrap();
    let ck = dir.path().join("ck.json");
    std::os::unix::fs::symlink(&ck_real, &ck).unwrap();
    let o = pxos(&[
        "evolve",
        s(&seed),
        "--goal",
        "output",
        "--target",
        "1",
        "--population",
        "4",
        "--generations",
        "1",
        "--engine",
        "interp",
        "--checkpoint",
        s(&ck),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        std::fs::symlink_metadata(&ck)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ck_real).unwrap()).unwrap();
    assert_eq!(saved["generation"], 1);

    // A folder is refused, before the run.
    let o = pxos(&["run", "kernels/kernel_v1.asm", "--png", s(dir.path())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("it is a folder"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty());
}

#[test]
fn inputs_that_never_end_or_block_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("k.bin");
    mkfifo(&fifo);
    let folder = dir.path().join("d.bin");
    std::fs::create_dir(&folder).unwrap();
    let zero_asm = dir.path().join("zero.asm");
    std::os::unix::fs::symlink("/dev/zero", &zero_asm).unwrap();
    let seed = dir.path().join("seed.asm");
    std::fs::write(&seed, "HALT\n").unwrap();
    let fs = dir.path().join("store");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["run", "/dev/zero"], "a character device"),
        (vec!["run", s(&fifo)], "a FIFO"),
        (vec!["run", s(&folder)], "a folder"),
        (vec!["run", s(&zero_asm)], "a character device"),
        (vec!["disasm", "/dev/zero"], "a character device"),
        (
            vec!["register", "v1.0", "/dev/zero", "--fs", s(&fs)],
            "a character device",
        ),
        (vec!["merge", "/dev/zero"], "a character device"),
        (vec!["merge", s(&fifo)], "a FIFO"),
        (
            vec!["evolve", "/dev/zero", "--goal", "output", "--target", "1"],
            "a character device",
        ),
        (
            vec![
                "evolve",
                s(&seed),
                "--goal",
                "output",
                "--target-file",
                "/dev/zero",
            ],
            "a character device",
        ),
        (
            vec![
                "evolve",
                s(&seed),
                "--goal",
                "draw",
                "--target-png",
                s(&fifo),
            ],
            "a FIFO",
        ),
    ];
    for (args, needle) in cases {
        let o = pxos_limited(1024, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("pxos: ") && stderr(&o).contains(needle),
            "{args:?}: {}",
            stderr(&o)
        );
        assert!(
            stderr(&o).contains("not a regular file"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    assert!(!fs.join("versions.json").exists(), "nothing registered");
}

#[test]
fn batch_out_to_a_full_device_fails_cleanly() {
    let o = pxos_limited(
        1024,
        &["batch", "kernels/kernel_v1.asm", "--out", "/dev/full"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot write /dev/full") && stderr(&o).contains("No space left"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn messages_say_each_cause_once_and_begin_with_pxos() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.asm");
    std::fs::write(&bad, "NOP\nIMM33 R1, 2\n").unwrap();
    let locked = dir.path().join("store");
    std::fs::create_dir_all(locked.join("pxos.lock")).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["run", "no/such/kernel.bin"],
            "No such file or directory",
        ),
        (vec!["asm", s(&bad)], "bad.asm:2:"),
        (
            vec![
                "register",
                "v1.0",
                "kernels/kernel_v1.asm",
                "--fs",
                s(&locked),
            ],
            "is a folder",
        ),
    ];
    for (args, cause) in cases {
        let o = pxos(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.starts_with("pxos: "), "{args:?}: {err}");
        assert_eq!(err.matches(cause).count(), 1, "{args:?}: {err}");
    }
    // clap's usage errors, like every other error, begin with `pxos:` (exit status 2).
    for args in [
        vec!["run"],
        vec!["frobnicate"],
        vec!["run", "kernels/kernel_v1.asm", "--fuel", "-1"],
        vec!["batch", "kernels", "--jobs", "x"],
    ] {
        let o = pxos(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).starts_with("pxos: "), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("error:"), "{args:?}: {}", stderr(&o));
    }
    let o = pxos(&["--help"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("Usage:"), "{}", stdout(&o));
}

/// Run `pxos ARGS` with a deadline: a hang fails the test instead of stalling the suite.
fn pxos_within(args: &[&str], secs: u64) -> std::process::Output {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pxos"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("pxos {args:?} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn an_output_fifo_nobody_reads_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.fifo");
    mkfifo(&fifo);
    for option in ["--checkpoint", "--log", "--out"] {
        let o = pxos_within(
            &[
                "evolve",
                "kernels/evolve/fib_seed.asm",
                "--goal",
                "output",
                "--target",
                "1",
                "--generations",
                "2",
                "--population",
                "4",
                option,
                s(&fifo),
            ],
            60,
        );
        assert_eq!(o.status.code(), Some(2), "{option}: {}", stderr(&o));
        // A checkpoint is read back by --resume: never a FIFO, read or not.
        let says = match option {
            "--checkpoint" => "is a FIFO (named pipe), not a regular file",
            _ => "a FIFO that no process is reading",
        };
        assert!(
            stderr(&o).contains(says) && stderr(&o).contains(option),
            "{option}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn standard_output_that_cannot_be_written_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s");
    assert!(
        pxos(&[
            "register",
            "v1.0",
            "kernels/kernel_v1.asm",
            "--fs",
            s(&store)
        ])
        .status
        .success()
    );
    std::fs::create_dir_all(store.join("build")).unwrap();
    std::fs::write(store.join("build/k.asm"), "HALT\n").unwrap();
    for args in [
        vec!["status", "--fs", s(&store)],
        vec!["versions", "--fs", s(&store)],
        vec!["watch", "--once", "--fs", s(&store)],
        vec!["run", "kernels/kernel_v1.asm"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pxos"))
            .args(&args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(full)
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("pxos: cannot write to standard output"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}
