//! `pxos evolve --islands`: the ring of islands in one process equals the same islands run
//! as separate processes exchanging migrants through a folder (real processes, started
//! together), and a missing island is reported instead of waited for.

use super::cli_util::{pxos, stderr, stdout};
use std::process::{Command, Stdio};

fn common(seed: &str) -> Vec<String> {
    [
        "evolve",
        seed,
        "--goal",
        "output",
        "--target",
        "1,2,3,5",
        "--population",
        "20",
        "--generations",
        "8",
        "--seed",
        "21",
        "--engine",
        "interp",
        "--islands",
        "3",
        "--migrate-every",
        "2",
        "--migrants",
        "3",
        "--json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn seed_kernel(dir: &std::path::Path) -> String {
    let path = dir.join("seed.asm");
    std::fs::write(&path, "IMM32 R1, 0\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    path.display().to_string()
}

#[test]
fn three_processes_equal_the_in_process_ring() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let args_ref: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut with_log = args_ref.clone();
    let log = dir.path().join("ring.jsonl");
    let log_arg = log.display().to_string();
    with_log.extend(["--log", &log_arg]);
    let o = pxos(&with_log);
    assert!(o.status.success(), "{}", stderr(&o));
    let ring: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let per_island = ring["per_island"].as_array().unwrap();
    assert_eq!(per_island.len(), 3);
    for i in 0..3 {
        let lines =
            std::fs::read_to_string(dir.path().join(format!("ring.island{i}.jsonl"))).unwrap();
        assert_eq!(lines.lines().count(), 8, "island {i}'s log");
    }

    let exchange = dir.path().join("exchange");
    std::fs::create_dir(&exchange).unwrap();
    let exchange_arg = exchange.display().to_string();
    let children: Vec<_> = (0..3)
        .map(|i| {
            let index = i.to_string();
            let mut a = args_ref.clone();
            a.extend(["--island", &index, "--exchange", &exchange_arg]);
            Command::new(env!("CARGO_BIN_EXE_pxos"))
                .args(&a)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "island {i}: {}", stderr(&o));
        let alone: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
        assert_eq!(alone["per_island"][0]["island"], i);
        assert_eq!(
            alone["per_island"][0], per_island[i],
            "island {i} run alone differs from the ring"
        );
    }
}

#[test]
fn a_missing_island_is_reported_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let mut a: Vec<&str> = args.iter().map(String::as_str).collect();
    let exchange = dir.path().display().to_string();
    a.extend([
        "--island",
        "1",
        "--exchange",
        &exchange,
        "--exchange-timeout",
        "1",
    ]);
    let o = pxos(&a);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains("island 0's migrants for generation 2 did not arrive within 1 s"),
        "{err}"
    );
}

#[test]
fn bad_island_options_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    let exchange = dir.path().display().to_string();
    for (extra, says) in [
        (
            vec!["--island", "3", "--exchange", exchange.as_str()],
            "--island 3 is not one of the 3 islands",
        ),
        (vec![], "--migrants 20 must be smaller than --population 20"),
        (vec!["--island", "0"], "--exchange"),
    ] {
        let mut a = base.clone();
        if extra.is_empty() {
            let at = a.iter().position(|x| *x == "--migrants").unwrap();
            a[at + 1] = "20";
        }
        a.extend(extra.iter().copied());
        let o = pxos(&a);
        assert_eq!(o.status.code(), Some(2), "{extra:?}");
        assert!(stderr(&o).contains(says), "{extra:?}: {}", stderr(&o));
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_link_in_the_exchange_is_refused_not_followed_or_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed_kernel(dir.path());
    let args = common(&seed);
    let base: Vec<&str> = args.iter().map(String::as_str).collect();
    // The exchange folder itself a link: refused before any work.
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let link_arg = link.display().to_string();
    let mut a = base.clone();
    a.extend(["--island", "1", "--exchange", &link_arg]);
    let o = pxos(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a symbolic link"), "{}", stderr(&o));
    assert_eq!(std::fs::read_dir(&real).unwrap().count(), 0);
    // A FIFO where the neighbour's migrants should be: an error naming it, no hang.
    let exchange = dir.path().join("exchange");
    std::fs::create_dir(&exchange).unwrap();
    let exchange_arg = exchange.display().to_string();
    let mut a = base.clone();
    a.extend([
        "--island",
        "1",
        "--exchange",
        &exchange_arg,
        "--exchange-timeout",
        "1",
    ]);
    assert_eq!(pxos(&a).status.code(), Some(2));
    let key = std::fs::read_dir(&exchange)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let neighbour = key.join("g0000000002-island0000.json");
    super::cli_util::mkfifo(&neighbour);
    let o = pxos(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a FIFO"), "{}", stderr(&o));
}
