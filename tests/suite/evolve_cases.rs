//! `pxos evolve --goal cases` and the problem suite end to end: a case goal is solved with
//! a fixed seed and generalises to held-out cases, results do not depend on the thread
//! count or on a checkpoint resume under lexicase, bad case files are clear errors naming
//! the file, line and field, and `--problem` / `--problem-suite` report success.

use super::cli_util::{pxos, stderr, stdout};
use std::path::Path;

fn evolve(args: &[&str]) -> serde_json::Value {
    let o = pxos(args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap()
}

/// Cases of "R1 = R1 + R2", training and held out.
fn add_cases(dir: &Path) -> (String, String) {
    let write = |name: &str, pairs: &[(i32, i32)]| {
        let text: String = pairs
            .iter()
            .map(|(a, b)| {
                format!(
                    "{{\"regs\":{{\"R1\":{a},\"R2\":{b}}},\"expect\":{{\"regs\":{{\"R1\":{}}}}}}}\n",
                    a + b
                )
            })
            .collect();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    (
        write(
            "train.jsonl",
            &[(1, 2), (5, -7), (0, 0), (100, 3), (-4, -4)],
        ),
        write("test.jsonl", &[(9, 9), (-50, 20), (1234, 1)]),
    )
}

fn seed(dir: &Path) -> String {
    let path = dir.join("seed.asm");
    std::fs::write(&path, "HALT\n").unwrap();
    path.display().to_string()
}

#[test]
fn a_case_goal_is_solved_and_generalises_the_same_with_one_or_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = add_cases(dir.path());
    let seed = seed(dir.path());
    let log = dir.path().join("log.jsonl");
    let base = [
        "evolve",
        &seed,
        "--goal",
        "cases",
        "--cases",
        &train,
        "--test-cases",
        &test,
        "--population",
        "60",
        "--generations",
        "30",
        "--seed",
        "3",
        "--engine",
        "interp",
        "--opcodes",
        "ADD,SUB,MOV,IMM8,HALT",
        "--json",
    ];
    let one = evolve(&[&base[..], &["--jobs", "1", "--log", log.to_str().unwrap()]].concat());
    let two = evolve(&[&base[..], &["--jobs", "2"]].concat());
    assert_eq!(one, two);
    assert_eq!(one["selection"], "lexicase");
    assert_eq!(one["best"]["error"], 0.0, "{one}");
    assert_eq!(one["test_error"], 0.0, "{one}");
    let lines = std::fs::read_to_string(&log).unwrap();
    let last: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
    assert_eq!(last["test_error"], 0.0, "{last}");
    let tournament = evolve(&[&base[..], &["--selection", "tournament"]].concat());
    assert_eq!(tournament["selection"], "tournament");
    assert_ne!(
        tournament["lineage"], one["lineage"],
        "another selection, another search"
    );
}

#[test]
fn a_lexicase_run_resumes_exactly_and_refuses_other_cases() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = add_cases(dir.path());
    let seed = seed(dir.path());
    let ckpt = dir.path().join("c.ckpt");
    let ckpt = ckpt.to_str().unwrap();
    let common = [
        "--goal",
        "cases",
        "--cases",
        &train,
        "--population",
        "20",
        "--seed",
        "3",
        "--engine",
        "interp",
        "--selection",
        "epsilon-lexicase",
        "--size-weight",
        "0.1",
        "--opcodes",
        "ADD,SUB,MOV,IMM8,HALT",
        "--json",
    ];
    let whole_ckpt = dir.path().join("whole.ckpt");
    let whole = evolve(
        &[
            &[
                "evolve",
                seed.as_str(),
                "--generations",
                "12",
                "--checkpoint",
                whole_ckpt.to_str().unwrap(),
            ][..],
            &common[..],
        ]
        .concat(),
    );
    evolve(
        &[
            &[
                "evolve",
                seed.as_str(),
                "--generations",
                "6",
                "--checkpoint",
                ckpt,
            ],
            &common[..],
        ]
        .concat(),
    );
    let resumed = evolve(
        &[
            &[
                "evolve",
                "--resume",
                "--generations",
                "12",
                "--checkpoint",
                ckpt,
            ],
            &common[..],
        ]
        .concat(),
    );
    // The evaluation counters are per process (the cache starts empty on resume); the
    // whole state — every individual with its per-case errors — must be equal.
    for key in ["best", "lineage", "generations"] {
        assert_eq!(resumed[key], whole[key], "{key}");
    }
    let state = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let saved = state(&whole_ckpt);
    assert_eq!(state(Path::new(ckpt)), saved);
    assert_eq!(saved["config"]["selection"], "epsilon-lexicase");
    assert!(saved["population"][0]["errors"].as_array().unwrap().len() == 5);
    let other = pxos(&[
        "evolve",
        "--resume",
        "--checkpoint",
        ckpt,
        "--goal",
        "cases",
        "--cases",
        &test,
    ]);
    assert_eq!(other.status.code(), Some(2));
    assert!(
        stderr(&other).contains("pursues goal cases"),
        "{}",
        stderr(&other)
    );
}

#[test]
fn a_bad_cases_file_is_a_clear_error_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let seed = seed(dir.path());
    let bad = dir.path().join("bad.jsonl");
    for (text, field) in [
        (
            "{\"expect\":{\"regs\":{\"R1\":1}}}\n{\"regs\":{\"R9\":1},\"expect\":{\"regs\":{\"R1\":1}}}\n",
            ":2: regs.R9: is not a register",
        ),
        ("{\"regs\":{\"R1\":1}}\n", ":1: expect: missing"),
        (
            "{\"memory\":{\"0x10000\":[1]},\"expect\":{\"regs\":{\"R1\":1}}}\n",
            ":1: memory.0x10000: is not an address",
        ),
        (
            "{\"expect\":{\"output\":[1.5]}}\n",
            ":1: expect.output[0]: must be",
        ),
    ] {
        std::fs::write(&bad, text).unwrap();
        let o = pxos(&[
            "evolve",
            &seed,
            "--goal",
            "cases",
            "--cases",
            bad.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        let want = format!("pxos: {}{field}", bad.display());
        assert!(
            stderr(&o).starts_with(&want),
            "{}\nwanted {want}",
            stderr(&o)
        );
    }
    let o = pxos(&["evolve", &seed, "--goal", "cases"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--cases FILE"), "{}", stderr(&o));
}

#[test]
fn output_memory_and_file_cases_are_scored() {
    // A kernel that prints R1 + 1: the search only has to keep it.
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed.asm");
    std::fs::write(&seed, "ADDI R1, R1, 1\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    let cases = dir.path().join("c.jsonl");
    std::fs::write(
        &cases,
        "{\"regs\":{\"R1\":4},\"memory\":{\"0x8000\":[7]},\"files\":{\"file_5\":\"x\"},\"expect\":{\"output\":[\"5\"],\"memory\":{\"0x8000\":[7]}}}\n\
         {\"regs\":{\"R1\":-3},\"expect\":{\"output\":[\"-2\"]}}\n",
    )
    .unwrap();
    let r = evolve(&[
        "evolve",
        seed.to_str().unwrap(),
        "--goal",
        "cases",
        "--cases",
        cases.to_str().unwrap(),
        "--generations",
        "0",
        "--population",
        "3",
        "--engine",
        "interp",
        "--json",
    ]);
    assert_eq!(r["best"]["error"], 0.0, "{r}");
    assert_eq!(r["best"]["born"], 0, "{r}");
}

#[test]
fn a_problem_is_solved_and_the_suite_reports_success_rates() {
    let r = evolve(&["evolve", "--problem", "absolute", "--seed", "1", "--json"]);
    assert_eq!(r["solved"], true, "{r}");
    assert_eq!(r["test_error"], 0.0);
    assert!(
        r["generations"].as_u64().unwrap() < 200,
        "stopped at success: {r}"
    );
    let o = pxos(&[
        "evolve",
        "--problem-suite",
        "--seeds",
        "2",
        "--problems",
        "absolute",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let rows: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["selection"], "lexicase");
    assert_eq!(rows[1]["selection"], "tournament");
    for row in rows {
        assert_eq!(row["seeds"], 2);
        let rate = row["success_rate"].as_f64().unwrap();
        assert_eq!(rate, row["successes"].as_f64().unwrap() / 2.0);
    }
    let o = pxos(&["evolve", "--problem", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("unknown problem 'nope'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn conflicting_or_repeated_problem_options_are_refused() {
    let empty = tempfile::NamedTempFile::new().unwrap();
    let o = super::cli_util::pxos(&[
        "evolve",
        "--problem",
        "absolute",
        "--cases",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        super::cli_util::stderr(&o).starts_with("pxos: "),
        "{}",
        super::cli_util::stderr(&o)
    );
    let o = super::cli_util::pxos(&[
        "evolve",
        "--problem-suite",
        "--seeds",
        "1",
        "--problems",
        "absolute,absolute",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        super::cli_util::stderr(&o).contains("--problems names \"absolute\" twice"),
        "{}",
        super::cli_util::stderr(&o)
    );
}

/// `--umad RATE` breeds by uniform mutation by addition and deletion: a problem is still
/// solved with it, the checkpoint records the rate (a resume with another is refused), and
/// a rate outside 0..=1 is refused naming the option.
#[test]
fn umad_variation_solves_is_checkpointed_and_checks_its_rate() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("c.json");
    let ckpt = ckpt.to_str().unwrap();
    let r = evolve(&[
        "evolve",
        "--problem",
        "absolute",
        "--seed",
        "1",
        "--umad",
        "0.1",
        "--crossover",
        "0",
        "--checkpoint",
        ckpt,
        "--json",
    ]);
    assert_eq!(r["solved"], true, "{r}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt).unwrap()).unwrap();
    assert_eq!(saved["config"]["rates"]["umad"], 0.1, "{saved}");
    assert_eq!(saved["config"]["rates"]["crossover_percent"], 0);
    let o = pxos(&[
        "evolve",
        "--problem",
        "absolute",
        "--resume",
        "--checkpoint",
        ckpt,
        "--umad",
        "0.2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--umad"), "{}", stderr(&o));
    for bad in ["1.5", "-0.1", "x"] {
        let o = pxos(&["evolve", "--problem", "absolute", "--umad", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad}");
        assert!(stderr(&o).contains("--umad"), "{bad}: {}", stderr(&o));
    }
}
