//! Nothing outside the folders the user named is touched (issue #13, item 8): guest file
//! syscalls on a `--fs` folder do not follow symbolic links on any path component and do
//! not open FIFOs (the syscall fails softly, R0 = 0), on every engine; a store whose
//! `kernels/` or `build/` is a link is refused; kernel files that are links or FIFOs are
//! never read or written through. Real links and real FIFOs throughout.

use super::cli_util::mkfifo;
use super::filesys::{call, results};
use super::store_util::{self, arg, asm, open, pxos, stderr};
use pxos::check::difftest::Observed;
use pxos::runtime::engines::EngineKind;
use pxos::runtime::host::PxHost;
use pxos::runtime::host::files::DirFiles;
use pxos::store::{Store, StoreError};
use pxvm::Opcode::STORE;
use pxvm::testkit::code::*;
use pxvm::testkit::{Run, assert_same, boot};
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

const OPEN: u8 = 20;
const WRITE: u8 = 22;
const READ: u8 = 23;

/// Run `code` on the reference and on every engine, each with a fresh folder made by
/// `setup` (given the outer folder, which holds `fs/` — the guest's folder — and
/// whatever lies outside it) as the guest's `--fs` folder; `after` checks each folder
/// afterwards. Fails if the engines disagree on anything observable. Returns the
/// reference's observation.
fn run_on_folders(code: &[u8], setup: &dyn Fn(&Path), after: &dyn Fn(&Path)) -> Observed {
    let run = |engine: &mut dyn pxvm::Engine| {
        let outer = tempfile::tempdir().unwrap();
        fs::create_dir(outer.path().join("fs")).unwrap();
        setup(outer.path());
        let files = DirFiles::open(&outer.path().join("fs")).unwrap();
        let run = Run::on(engine, boot(code), PxHost::new(Box::new(files)), 10_000);
        after(outer.path());
        run
    };
    let reference = run(&mut pxvm::interp::Reference);
    for &kind in EngineKind::ALL {
        assert_same(&reference, &run(kind.build().as_mut()), "engines disagree");
    }
    Observed::of(&reference)
}

#[test]
fn guest_files_do_not_follow_links_or_open_fifos() {
    let code = program(&[
        imm32(1, 0x5844_4142), // "BADX"
        ins(STORE, [1, 0, 0], 0x2000),
        call(OPEN, 7, 1, 0, 0), // file_7 -> ../out/victim.txt: not a file -> 0
        call(OPEN, 7, 2, 0, 1), // create through the link -> 0
        call(WRITE, 1, 0x2000, 4, 2), // no handle -> 0
        call(OPEN, 6, 0, 0, 3), // file_6 -> ../secret.txt: not readable -> 0
        call(OPEN, 8, 0, 0, 4), // file_8 is a FIFO -> 0 (and no hang)
        call(OPEN, 8, 2, 0, 5), // create over the FIFO -> 0
        call(OPEN, 301, 2, 0, 6), // build -> ../outside: -> 0
        call(OPEN, 9, 0, 0, 7), // file_9, a regular file -> handle 1
        call(READ, 1, 0x3000, 100, 8), // reads "plain" -> 5
        call(OPEN, 5, 2, 0, 9), // a new file -> handle 2
        call(WRITE, 2, 0x2000, 4, 10), // -> 4
        halt(),
    ]);
    let setup = |outer: &Path| {
        let fs_ = outer.join("fs");
        fs::create_dir(outer.join("out")).unwrap();
        fs::write(outer.join("out/victim.txt"), b"victim").unwrap();
        fs::write(outer.join("secret.txt"), b"secret").unwrap();
        fs::create_dir(outer.join("outside")).unwrap();
        symlink("../out/victim.txt", fs_.join("file_7")).unwrap();
        symlink(outer.join("secret.txt"), fs_.join("file_6")).unwrap();
        mkfifo(&fs_.join("file_8"));
        symlink("../outside", fs_.join("build")).unwrap();
        fs::write(fs_.join("file_9"), b"plain").unwrap();
    };
    let after = |outer: &Path| {
        assert_eq!(fs::read(outer.join("out/victim.txt")).unwrap(), b"victim");
        assert_eq!(fs::read_dir(outer.join("outside")).unwrap().count(), 0);
        let fs_ = outer.join("fs");
        assert!(
            fs::symlink_metadata(fs_.join("file_7"))
                .unwrap()
                .is_symlink()
        );
        assert_eq!(fs::read(fs_.join("file_5")).unwrap(), b"BADX");
    };
    let o = run_on_folders(&code, &setup, &after);
    assert_eq!(
        results(&o.memory, 11),
        [0, 0, 0, 0, 0, 0, 0, 1, 5, 2, 4],
        "only the regular files were reached"
    );
    assert_eq!(&o.memory[0x3000..0x3005], b"plain");
}

#[test]
fn a_link_in_the_middle_of_a_guest_path_is_not_followed() {
    // build/ is a real folder, but build/kernel_v2.bin is a link out of the store.
    let code = program(&[call(OPEN, 301, 0, 0, 0), call(OPEN, 301, 2, 0, 1), halt()]);
    let setup = |outer: &Path| {
        fs::create_dir(outer.join("fs/build")).unwrap();
        fs::write(outer.join("k.bin"), b"outside").unwrap();
        symlink("../../k.bin", outer.join("fs/build/kernel_v2.bin")).unwrap();
    };
    let after = |outer: &Path| assert_eq!(fs::read(outer.join("k.bin")).unwrap(), b"outside");
    let o = run_on_folders(&code, &setup, &after);
    assert_eq!(results(&o.memory, 2), [0, 0]);
}

/// A store made by `register v1.0` of `kernel`.
fn store_with(kernel: &[u8]) -> tempfile::TempDir {
    let outer = tempfile::tempdir().unwrap();
    let mut s = open(&outer.path().join("s"));
    s.register("v1.0", kernel, None, "register").unwrap();
    outer
}

#[test]
fn a_store_with_a_linked_kernels_or_build_folder_is_refused() {
    let kernel = store_util::kernel("self_evolve.asm");
    for folder in ["kernels", "build"] {
        let outer = store_with(&kernel);
        let store = outer.path().join("s");
        let elsewhere = outer.path().join("outside");
        fs::rename(store.join(folder), &elsewhere).unwrap();
        symlink("../outside", store.join(folder)).unwrap();
        let before = store_util::snapshot(&elsewhere);
        let err = Store::open(&store).unwrap_err();
        assert!(
            matches!(err, StoreError::Fs(pxos::util::FsError::NotAFolder { .. })),
            "{folder}: {err}"
        );
        assert!(err.to_string().contains("a symbolic link"), "{err}");
        for args in [
            vec!["boot", "--max-generations", "3"],
            vec!["versions"],
            vec!["verify"],
            vec!["register", "v2.0", "kernels/kernel_v1.asm"],
        ] {
            let mut args = args.clone();
            args.extend(["--fs", arg(&store)]);
            let o = pxos(&args);
            assert_eq!(o.status.code(), Some(2), "{args:?}");
            let err = stderr(&o);
            assert!(
                err.starts_with("pxos: ") && err.contains(&format!("{folder} is a symbolic link")),
                "{args:?}: {err}"
            );
        }
        assert_eq!(
            store_util::snapshot(&elsewhere),
            before,
            "{folder}: written through"
        );
    }
}

#[test]
fn kernel_files_that_are_links_or_fifos_are_never_read_through() {
    let k1 = asm("HALT");
    let outer = store_with(&k1);
    let store = outer.path().join("s");
    let kernels = store.join("kernels");
    // v1.0's kernel becomes a link to a file outside holding the very same bytes, and
    // kernel_current.bin a FIFO.
    let outside = outer.path().join("outside.bin");
    fs::write(&outside, &k1).unwrap();
    fs::remove_file(kernels.join("kernel_v1.0.bin")).unwrap();
    symlink(&outside, kernels.join("kernel_v1.0.bin")).unwrap();
    fs::remove_file(kernels.join("kernel_current.bin")).unwrap();
    mkfifo(&kernels.join("kernel_current.bin"));

    let mut s = open(&store);
    let entry = s.get("v1.0").unwrap().clone();
    let err = s.read_kernel(&entry).unwrap_err().to_string();
    assert!(err.contains("is a symbolic link"), "{err}");
    let report = s.verify(true).unwrap();
    let text: Vec<&str> = report.findings.iter().map(|f| f.message.as_str()).collect();
    assert!(
        text.iter().any(|m| m.contains("is a symbolic link")),
        "{text:?}"
    );
    assert!(text.iter().any(|m| m.contains("a FIFO")), "{text:?}");
    // No copy of v1.0's kernel is left inside the store: it is marked missing, and the
    // file outside is untouched.
    assert!(
        text.iter().any(|m| m.contains("marked missing")),
        "{text:?}"
    );
    assert_eq!(fs::read(&outside).unwrap(), k1);
    assert!(
        fs::symlink_metadata(kernels.join("kernel_v1.0.bin"))
            .unwrap()
            .is_symlink()
    );
    let err = s
        .switch(1, true, pxos::store::EventKind::Switch, "t")
        .unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}

#[test]
fn a_linked_lock_or_versions_file_is_refused() {
    for file in ["versions.json", "pxos.lock"] {
        let outer = store_with(&asm("HALT"));
        let store = outer.path().join("s");
        let target = outer.path().join("target");
        fs::write(&target, b"{}").unwrap();
        let _ = fs::remove_file(store.join(file));
        symlink(&target, store.join(file)).unwrap();
        let o = pxos(&[
            "register",
            "v2.0",
            "kernels/kernel_v1.asm",
            "--fs",
            arg(&store),
        ]);
        assert_eq!(o.status.code(), Some(2), "{file}");
        assert!(
            stderr(&o).contains("is a symbolic link"),
            "{file}: {}",
            stderr(&o)
        );
        assert_eq!(fs::read(&target).unwrap(), b"{}", "{file}");
    }
}

/// A link or FIFO planted at `build/kernel_v2.bin` is never followed (a self-evolving
/// kernel finds no successor and stops evolving), and `verify` says why instead of
/// calling the store clean; the link's target is untouched and nothing is removed.
#[test]
fn verify_reports_what_in_build_is_never_followed() {
    let outer = store_with(&store_util::kernel("self_evolve.asm"));
    let store = outer.path().join("s");
    fs::write(outer.path().join("victim"), b"keep").unwrap();
    fs::create_dir_all(store.join("build")).unwrap();
    symlink("../../victim", store.join("build/kernel_v2.bin")).unwrap();
    mkfifo(&store.join("build/pipe.asm"));
    let mut s = open(&store);
    let report = s.verify(true).unwrap();
    let text: Vec<String> = report.findings.iter().map(|f| f.message.clone()).collect();
    for (name, kind) in [("kernel_v2.bin", "a symbolic link"), ("pipe.asm", "a FIFO")] {
        assert!(
            text.iter()
                .any(|m| m.contains(&format!("build/{name} is {kind}"))
                    && m.contains("never follows")),
            "{name}: {text:?}"
        );
    }
    assert!(report.consistent(), "a warning, not damage: {text:?}");
    assert!(store.join("build/kernel_v2.bin").symlink_metadata().is_ok());
    assert_eq!(fs::read(outer.path().join("victim")).unwrap(), b"keep");
}
