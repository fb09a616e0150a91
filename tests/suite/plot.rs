//! Pictures end to end (issue #12, "Pictures"): `pxos plot` on the log of a real
//! `pxos evolve` run — the PNG is decoded and each series' colour is looked for where its
//! panel is, its curve spanning the generations and the best error going down — and on
//! two logs at once; `pxos evolve --plot`; the lineage of a 200-generation store as
//! Graphviz (chains collapsed: few nodes) and as a PNG of bounded size; and the bad inputs,
//! each a `pxos: ...` error with status 2 that leaves the output as it was.

use super::cli_util::{mkfifo, pxos, stderr, stdout};
use super::store_util::{arg, asm, open};
use plotters::style::RGBColor;
use pxos::tools::plot::style::{self, PALETTE};
use std::path::Path;

/// A decoded PNG: width, height, RGBA rows.
struct Picture {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl Picture {
    fn load(path: &Path) -> Picture {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .unwrap();
        let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgba).unwrap();
        assert_eq!(info.color_type, png::ColorType::Rgba);
        Picture {
            width: info.width,
            height: info.height,
            rgba,
        }
    }

    /// The pixels of exactly `c` with y in `rows` (x, y).
    fn pixels(&self, c: RGBColor, rows: std::ops::Range<u32>) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for y in rows.start..rows.end.min(self.height) {
            for x in 0..self.width {
                let i = ((y * self.width + x) * 4) as usize;
                if self.rgba[i..i + 3] == [c.0, c.1, c.2] {
                    out.push((x, y));
                }
            }
        }
        out
    }
}

/// The chart's panels at the default 1200x900: a 70-pixel title band, then the error
/// panel (half of the rest), size and diversity (a quarter each); the legend column is
/// the last 250 pixels.
const ERROR_ROWS: std::ops::Range<u32> = 70..485;
const SIZE_ROWS: std::ops::Range<u32> = 485..692;
const DIVERSITY_ROWS: std::ops::Range<u32> = 692..900;
const PLOT_RIGHT: u32 = 950;

/// The pixels of `c` in `rows` left of the legend column.
fn curve(p: &Picture, c: RGBColor, rows: std::ops::Range<u32>) -> Vec<(u32, u32)> {
    p.pixels(c, rows)
        .into_iter()
        .filter(|&(x, _)| x < PLOT_RIGHT)
        .collect()
}

fn seed_kernel(dir: &Path) -> String {
    let path = dir.join("seed.asm");
    std::fs::write(&path, "IMM32 R1, 0\nSYSCALL SYS_PRINT_INT\nHALT\n").unwrap();
    path.display().to_string()
}

fn ok(args: &[&str]) -> String {
    let o = pxos(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    stdout(&o)
}

/// Refused with status 2 and a `pxos: ` message containing `says`.
fn refused(args: &[&str], says: &str) {
    let o = pxos(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.starts_with("pxos: ") && err.contains(says),
        "{args:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// A small output-goal run with a fixed seed, logged to `log` (and drawn to `plot`).
fn evolve(dir: &Path, seed: &str, log: &Path, plot: Option<&Path>) {
    let kernel = seed_kernel(dir);
    let mut args = vec![
        "evolve",
        &kernel,
        "--goal",
        "output",
        "--target",
        "0,1,1,2,3",
        "--population",
        "30",
        "--generations",
        "25",
        "--seed",
        seed,
        "--engine",
        "interp",
        "--log",
        arg(log),
    ];
    if let Some(p) = plot {
        args.extend(["--plot", arg(p)]);
    }
    ok(&args);
}

#[test]
fn plot_draws_every_series_of_a_real_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.jsonl");
    let from_evolve = dir.path().join("evolve.png");
    evolve(dir.path(), "5", &log, Some(&from_evolve));
    let png = dir.path().join("fitness.png");
    let said = ok(&["plot", arg(&log), "-o", arg(&png)]);
    assert!(said.contains("1 run(s), 25 generation(s)"), "{said}");

    let p = Picture::load(&png);
    assert_eq!((p.width, p.height), (1200, 900));
    let best = curve(&p, style::BEST, ERROR_ROWS);
    assert!(
        best.len() > 300,
        "the best error's curve: {} pixels",
        best.len()
    );
    let left = best.iter().map(|b| b.0).min().unwrap();
    let right = best.iter().map(|b| b.0).max().unwrap();
    assert!(
        left < 120 && right > 880,
        "it spans the generations: {left}..{right}"
    );
    // The best error went down: its curve ends lower in the picture than it starts.
    let y_at = |x: u32| {
        let ys: Vec<u32> = best.iter().filter(|b| b.0 == x).map(|b| b.1).collect();
        ys.iter().sum::<u32>() / ys.len() as u32
    };
    assert!(
        y_at(left) < y_at(right),
        "the error fell: y {} -> {}",
        y_at(left),
        y_at(right)
    );
    assert!(
        curve(&p, style::MEAN, ERROR_ROWS).len() > 300,
        "the mean error"
    );
    assert!(curve(&p, style::SIZE, SIZE_ROWS).len() > 300, "the size");
    assert!(
        curve(&p, style::DIVERSITY, DIVERSITY_ROWS).len() > 300,
        "the diversity"
    );
    assert!(
        curve(&p, style::SIZE, ERROR_ROWS).is_empty()
            && curve(&p, style::BEST, SIZE_ROWS).is_empty(),
        "each series in its own panel"
    );
    assert!(
        curve(&p, style::HELD_OUT, 0..900).is_empty(),
        "no held-out cases, no curve"
    );

    // The same log gives the same picture; `evolve --plot` drew the same run.
    let again = dir.path().join("again.png");
    ok(&["plot", arg(&log), "-o", arg(&again)]);
    assert_eq!(std::fs::read(&png).unwrap(), std::fs::read(&again).unwrap());
    let e = Picture::load(&from_evolve);
    assert_eq!((e.width, e.height), (1200, 900));
    assert_eq!(curve(&e, style::BEST, ERROR_ROWS), best, "the same curve");
}

#[test]
fn two_logs_share_one_chart_in_two_colours() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    evolve(dir.path(), "5", &a, None);
    evolve(dir.path(), "6", &b, None);
    let png = dir.path().join("both.png");
    let said = ok(&[
        "plot",
        arg(&a),
        arg(&b),
        "-o",
        arg(&png),
        "--width",
        "1000",
        "--height",
        "700",
    ]);
    assert!(said.contains("2 run(s), 50 generation(s)"), "{said}");
    let p = Picture::load(&png);
    assert_eq!((p.width, p.height), (1000, 700));
    for (i, c) in PALETTE[..2].iter().enumerate() {
        let px: Vec<(u32, u32)> = p
            .pixels(*c, 70..700)
            .into_iter()
            .filter(|&(x, _)| x < 1000 - 250)
            .collect();
        assert!(px.len() > 500, "run {i}'s colour: {} pixels", px.len());
        let xs = (
            px.iter().map(|q| q.0).min().unwrap(),
            px.iter().map(|q| q.0).max().unwrap(),
        );
        assert!(
            xs.0 < 120 && xs.1 > 650,
            "run {i} spans the generations: {xs:?}"
        );
        // Its legend sample, in the legend column.
        assert!(
            !p.pixels(*c, 70..300).iter().all(|&(x, _)| x < 750),
            "run {i} in the legend"
        );
    }
}

#[test]
fn held_out_error_is_drawn_when_logged() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("absolute.jsonl");
    ok(&[
        "evolve",
        "--problem",
        "absolute",
        "--seed",
        "1",
        "--generations",
        "12",
        "--log",
        arg(&log),
    ]);
    let png = dir.path().join("absolute.png");
    ok(&["plot", arg(&log), "-o", arg(&png)]);
    let p = Picture::load(&png);
    assert!(
        curve(&p, style::HELD_OUT, ERROR_ROWS).len() > 100,
        "the held-out error's dashes"
    );
    assert!(curve(&p, style::BEST, ERROR_ROWS).len() > 100);
}

/// A store 200 generations deep, as the boot cycle grows one: each version boots cleanly
/// and asks for its child; every 50 generations a child fails its boot (a bad leaf) and
/// the parent goes on; the last version was installed by `pxos evolve --promote`.
fn deep_store(dir: &Path) {
    let kernel = asm("HALT\n");
    let mut store = open(dir);
    store.register("v1.0", &kernel, None, "register").unwrap();
    for generation in 2..=200 {
        let current = store.current().unwrap().id;
        store.assess(current, true, "halted").unwrap();
        if generation % 50 == 0 {
            let bad = store
                .register(
                    &format!("crash{generation}"),
                    &kernel,
                    Some(current),
                    "test",
                )
                .unwrap();
            store.assess(bad.id, false, "crashed").unwrap();
            assert_eq!(store.current().unwrap().id, current, "rolled back");
        }
        let origin = if generation == 200 {
            "pxos evolve --promote (generation 200)"
        } else {
            "self_modify build/next.bin"
        };
        store.evolve(&kernel, origin).unwrap();
    }
}

#[test]
fn the_lineage_of_a_200_generation_store_is_a_small_picture() {
    let dir = tempfile::tempdir().unwrap();
    let fs = dir.path().join("store");
    deep_store(&fs);
    let text = ok(&["versions", "tree", "--fs", arg(&fs)]);
    let versions = text.lines().filter(|l| l.contains("(id ")).count();
    let stored = pxos::store::Store::open(&fs).unwrap().db().history.len();
    assert!(stored > 200, "{stored} versions");
    assert_eq!(versions, stored, "the text tree has every version");

    let dot = ok(&["versions", "tree", "--dot", "--fs", arg(&fs)]);
    assert!(
        dot.starts_with("digraph lineage {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    let nodes = dot.lines().filter(|l| l.contains(" [label=")).count();
    let edges = dot.matches(" -> ").count();
    assert!(nodes <= 16, "chains collapsed: {nodes} nodes\n{dot}");
    assert_eq!(edges, nodes - 1, "one tree");
    assert!(
        dot.contains("47 versions"),
        "a collapsed chain says its length\n{dot}"
    );
    assert!(!dot.contains("\"v5.0\\n"), "v5.0 is inside a chain");
    assert!(dot.contains("v2.0 … v48.0"), "{dot}");
    assert_eq!(
        dot.matches("· bad").count(),
        4,
        "every failed child is shown"
    );
    assert_eq!(dot.matches("◀ current").count(), 1);
    assert_eq!(dot.matches("★ promoted").count(), 1);

    let png = dir.path().join("lineage.png");
    let said = ok(&["versions", "tree", "--png", arg(&png), "--fs", arg(&fs)]);
    assert!(said.contains(&format!("{stored} versions in")), "{said}");
    let p = Picture::load(&png);
    assert!(p.width >= 820 && p.width <= 1400, "width {}", p.width);
    assert!(
        p.height <= 112 + 48 + 34 * 16,
        "height {}: one row per node",
        p.height
    );
    // The current version's blue frame and the bad leaves' red borders are drawn.
    assert!(p.pixels(RGBColor(21, 101, 192), 150..p.height).len() > 100);
    assert!(p.pixels(RGBColor(198, 40, 40), 150..p.height).len() > 100);
}

#[test]
fn bad_inputs_are_clear_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = d.join("out.png");
    std::fs::write(&out, "before").unwrap();
    let kept = || {
        assert_eq!(
            std::fs::read(&out).unwrap(),
            b"before",
            "the output is untouched"
        )
    };
    let o = arg(&out);

    refused(
        &["plot", arg(&d.join("nope.jsonl")), "-o", o],
        "cannot read",
    );
    kept();
    let empty = d.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    refused(&["plot", arg(&empty), "-o", o], "holds no generation");
    kept();
    let text = d.join("notes.txt");
    std::fs::write(&text, "{\"generation\":1,\"best_error\":3}\nhello\n").unwrap();
    refused(
        &["plot", arg(&text), "-o", o],
        "line 2 is not a line of a pxos evolve log",
    );
    kept();
    let batch = d.join("batch.jsonl");
    std::fs::write(&batch, "{\"kernel\":\"a.asm\",\"exit\":\"halt\"}\n").unwrap();
    refused(
        &["plot", arg(&batch), "-o", o],
        "line 1 is not a line of a pxos evolve log",
    );
    let fifo = d.join("fifo");
    mkfifo(&fifo);
    refused(&["plot", arg(&fifo), "-o", o], "FIFO");
    refused(&["plot", arg(d), "-o", o], "folder");
    kept();

    // A good log, outputs that cannot be written.
    let log = d.join("run.jsonl");
    std::fs::write(
        &log,
        "{\"generation\":1,\"best_error\":3,\"best_size\":9,\"mean_error\":5,\"diversity\":1}\n",
    )
    .unwrap();
    refused(
        &["plot", arg(&log), "-o", arg(&d.join("no/such/dir.png"))],
        "does not exist",
    );
    refused(&["plot", arg(&log), "-o", arg(d)], "it is a folder");
    refused(
        &["plot", arg(&log), "-o", arg(&log)],
        "is the same file as the log",
    );
    refused(
        &["plot", arg(&log), "-o", o, "--width", "10"],
        "10 is not in 480..=8000",
    );
    assert!(std::fs::read(&log).unwrap().starts_with(b"{\"generation\""));
    ok(&["plot", arg(&log), "-o", o]);
    assert_eq!(
        Picture::load(&out).width,
        1200,
        "one generation is a chart too"
    );

    // evolve --plot: checked before the run.
    let kernel = seed_kernel(d);
    refused(
        &[
            "evolve",
            &kernel,
            "--goal",
            "output",
            "--target",
            "1",
            "--log",
            arg(&log),
            "--plot",
            arg(&log),
        ],
        "--plot",
    );
    refused(
        &[
            "evolve",
            &kernel,
            "--goal",
            "output",
            "--target",
            "1",
            "--plot",
            arg(&d.join("no/x.png")),
        ],
        "does not exist",
    );

    // versions tree --png: the output is checked first.
    let fs = d.join("store");
    let mut store = open(&fs);
    store
        .register("v1.0", &asm("HALT\n"), None, "register")
        .unwrap();
    drop(store);
    refused(
        &[
            "versions",
            "tree",
            "--png",
            arg(&d.join("no/t.png")),
            "--fs",
            arg(&fs),
        ],
        "does not exist",
    );
    refused(
        &["versions", "tree", "--png", o, "--dot", "--fs", arg(&fs)],
        "cannot be used with",
    );
}
