//! What an evolution experiment optimises. Each goal scores one run of a candidate kernel
//! as a [`Fitness`]: an error (0 = the goal is met) and the kernel's cycles and size, which
//! break ties. Goals: `output` (print a target sequence of lines), `draw` (render like a
//! target PNG), `faster` (reproduce a reference kernel's output and final data memory in
//! fewer cycles), `cases` (input/output cases, see [`super::cases`]; scored by the
//! evaluator, one run per case).

use super::genome::Alphabet;
use crate::util::userfile::{self, FileError};
use pxvm::syscalls::*;
use pxvm::{Exit, Machine};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;
use thiserror::Error;

/// The size every target picture must have (the renderer's default canvas).
pub const TARGET_SIZE: (u32, u32) = (800, 600);

/// The largest target PNG file read (an 800x600 RGBA picture stored uncompressed is
/// about 1.9 MB).
pub const MAX_PNG_BYTES: u64 = 32 << 20;

/// What a checkpoint records of its goal: the kind and a SHA-256 of everything that
/// defines it (target lines, target pixels, the reference run), so that a resumed
/// experiment can tell that it is given the same goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoalRecord {
    /// `output`, `draw` or `faster`.
    pub kind: String,
    pub sha256: String,
    /// For `draw`: the version of the picture error measure the scores were made with
    /// ([`PICTURE_MEASURE`]; absent in older checkpoints, where the hash tells it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<u32>,
}

/// Why a checkpoint's goal record is not the goal given now ([`Goal::compare`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GoalMismatch {
    /// The same kind of goal, but the checkpoint's scores were made with another picture
    /// measure (version `saved`; this pxos has `now`): they cannot be compared.
    Measure { saved: u32, now: u32 },
    /// Another goal, or other targets.
    Other,
}

impl std::fmt::Display for GoalRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = self.sha256.get(..12).unwrap_or(&self.sha256);
        write!(f, "{} (targets sha256 {short}...)", self.kind)
    }
}

/// How good one candidate is. Lower is better, compared lexicographically by the goal's
/// [`Goal::order`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fitness {
    /// 0 when the goal is met; grows with the distance from it.
    pub error: f64,
    pub cycles: u64,
    pub size: usize,
}

/// A goal that cannot be set up.
#[derive(Debug, Error)]
pub enum GoalError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("{}: not a PNG picture: {message}", path.display())]
    Png {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("{}: the target is {w}x{h}; it must be 800x600, the size kernels render at", path.display())]
    PngSize {
        path: std::path::PathBuf,
        w: u32,
        h: u32,
    },
    #[error("the target output is empty: give at least one line")]
    EmptyTarget,
    #[error(
        "the reference kernel did not halt within the fuel ({exit} after {cycles} cycles): raise --fuel"
    )]
    ReferenceDidNotHalt { exit: Exit, cycles: u64 },
    #[error("cannot render: {0}")]
    Render(String),
}

/// The version of the `draw` goal's error measure ([`picture_error`]), hashed into the
/// goal record: scores of different measures cannot be compared. Version 1 (scales 1, 8,
/// 32) hashed no version text.
const PICTURE_ERROR_VERSION: &[u8] = b"picture-error-v2: scales 1, 8, 32, 64, whole";

/// The number of [`PICTURE_ERROR_VERSION`], as the goal record's `measure` says it.
pub const PICTURE_MEASURE: u32 = 2;

/// The goal record's hash of a target picture, scored with the measure `version` names
/// (`None`: version 1, which hashed no version text).
fn picture_digest(p: &Picture, version: Option<&[u8]>) -> String {
    let mut h = Sha256::new();
    if let Some(v) = version {
        h.update(v);
    }
    h.update(p.width.to_le_bytes());
    h.update(p.height.to_le_bytes());
    h.update(&p.rgba);
    hex::encode(h.finalize())
}

/// A target picture, as RGBA pixels.
#[derive(Clone, Debug)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// The reference run a `faster` candidate must reproduce.
#[derive(Clone, Debug)]
pub struct Reference {
    pub sysout: Vec<String>,
    pub memory: Vec<u8>,
    pub kernel_len: usize,
    pub cycles: u64,
}

impl Reference {
    /// How many times faster than the reference a kernel scored `fitness` is: the
    /// reference's cycles over its cycles. `None` unless it reproduces the reference
    /// (error 0; a kernel that does not is no faster version of it) in at least one cycle.
    pub fn speedup(&self, fitness: &Fitness) -> Option<f64> {
        (fitness.error == 0.0 && fitness.cycles > 0)
            .then(|| self.cycles as f64 / fitness.cycles as f64)
    }
}

/// An evolution goal.
#[derive(Clone, Debug)]
pub enum Goal {
    Output(Vec<String>),
    Draw(Picture),
    Faster(Reference),
    Cases(super::cases::CaseGoal),
}

impl Goal {
    /// Load a target PNG (8-bit RGBA or RGB, any PNG the `png` crate reads). The file
    /// must be a regular file of at most [`MAX_PNG_BYTES`], and its header must say
    /// 800x600 — checked before any pixel is decoded or any buffer allocated.
    pub fn draw_from(path: &Path) -> Result<Goal, GoalError> {
        let bytes = userfile::read_bounded(path, MAX_PNG_BYTES, "a target picture")?;
        let bad = |e: png::DecodingError| GoalError::Png {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let mut decoder = png::Decoder::new(std::io::Cursor::new(&bytes[..]));
        decoder.set_transformations(
            png::Transformations::normalize_to_color8() | png::Transformations::ALPHA,
        );
        let mut reader = decoder.read_info().map_err(bad)?;
        let (w, h) = (reader.info().width, reader.info().height);
        if (w, h) != TARGET_SIZE {
            return Err(GoalError::PngSize {
                path: path.to_path_buf(),
                w,
                h,
            });
        }
        let size = reader.output_buffer_size().ok_or_else(|| GoalError::Png {
            path: path.to_path_buf(),
            message: "the picture's size overflows".to_string(),
        })?;
        let mut buf = vec![0; size];
        let info = reader.next_frame(&mut buf).map_err(bad)?;
        let pixels = (w * h) as usize;
        let rgba: Vec<u8> = match info.color_type {
            png::ColorType::Rgba if buf.len() >= pixels * 4 => buf[..pixels * 4].to_vec(),
            png::ColorType::GrayscaleAlpha if buf.len() >= pixels * 2 => buf[..pixels * 2]
                .chunks(2)
                .flat_map(|p| [p[0], p[0], p[0], p[1]])
                .collect(),
            other => {
                return Err(GoalError::Png {
                    path: path.to_path_buf(),
                    message: format!("unsupported color type {other:?}"),
                });
            }
        };
        Ok(Goal::Draw(Picture {
            width: w,
            height: h,
            rgba,
        }))
    }

    /// What a checkpoint records of this goal (see [`GoalRecord`]).
    pub fn record(&self) -> GoalRecord {
        let mut h = Sha256::new();
        let lines = |h: &mut Sha256, lines: &[String]| {
            h.update((lines.len() as u64).to_le_bytes());
            for l in lines {
                h.update((l.len() as u64).to_le_bytes());
                h.update(l.as_bytes());
            }
        };
        match self {
            Goal::Output(target) => lines(&mut h, target),
            Goal::Draw(p) => {
                return GoalRecord {
                    kind: self.name().to_string(),
                    sha256: picture_digest(p, Some(PICTURE_ERROR_VERSION)),
                    measure: Some(PICTURE_MEASURE),
                };
            }
            Goal::Faster(r) => {
                lines(&mut h, &r.sysout);
                h.update(&r.memory);
                h.update((r.kernel_len as u64).to_le_bytes());
                h.update(r.cycles.to_le_bytes());
            }
            Goal::Cases(c) => c.digest_into(&mut h),
        }
        GoalRecord {
            kind: self.name().to_string(),
            sha256: hex::encode(h.finalize()),
            measure: None,
        }
    }

    /// Whether `saved`, a checkpoint's goal record, is this goal: the same kind and
    /// targets (and for `draw`, the same picture measure — told by the hash in a record
    /// older than the `measure` field).
    pub fn compare(&self, saved: &GoalRecord) -> Result<(), GoalMismatch> {
        let now = self.record();
        if let Goal::Draw(p) = self
            && saved.kind == now.kind
        {
            let measure = match saved.measure {
                Some(m) => Some(m),
                None if saved.sha256 == picture_digest(p, None) => Some(1),
                None => None,
            };
            if let Some(m) = measure.filter(|&m| m != PICTURE_MEASURE) {
                return Err(GoalMismatch::Measure {
                    saved: m,
                    now: PICTURE_MEASURE,
                });
            }
        }
        if saved.kind == now.kind && saved.sha256 == now.sha256 {
            Ok(())
        } else {
            Err(GoalMismatch::Other)
        }
    }

    /// Run the reference kernel once to learn what `faster` candidates must reproduce.
    pub fn faster_than(kernel: &[u8], fuel: u64) -> Result<Goal, GoalError> {
        let mut m = Machine::new(kernel).map_err(|e| GoalError::Render(e.to_string()))?;
        let mut host = crate::runtime::host::PxHost::default();
        let exit = pxvm::interp::run(&mut m, &mut host, fuel);
        if exit != Exit::Halt {
            return Err(GoalError::ReferenceDidNotHalt {
                exit,
                cycles: m.cycles,
            });
        }
        Ok(Goal::Faster(Reference {
            sysout: host.sysout,
            memory: m.mem.to_vec(),
            kernel_len: kernel.len(),
            cycles: m.cycles,
        }))
    }

    /// A name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Goal::Output(_) => "output",
            Goal::Draw(_) => "draw",
            Goal::Faster(_) => "faster",
            Goal::Cases(_) => "cases",
        }
    }

    /// The syscalls new instructions may use.
    pub fn syscalls(&self) -> Vec<u8> {
        match self {
            Goal::Output(_) => vec![SYS_PRINT_INT],
            Goal::Draw(_) => vec![SYS_RECT, SYS_TEXT, SYS_LAYER_USE, SYS_PRINT],
            Goal::Faster(r) => {
                if r.sysout.is_empty() {
                    vec![]
                } else {
                    vec![SYS_PRINT_INT, SYS_PRINT]
                }
            }
            Goal::Cases(c) => c.alphabet_syscalls(),
        }
    }

    /// The opcodes new instructions may use (empty: all).
    pub fn opcodes(&self) -> Vec<pxvm::Opcode> {
        match self {
            Goal::Cases(c) => c.opcodes.clone(),
            _ => Vec::new(),
        }
    }

    /// What new instructions may contain, for genomes of at most `max_len` bytes.
    pub fn alphabet(&self, max_len: usize) -> Alphabet {
        let (registers, outputs, constants) = match self {
            Goal::Cases(c) => (c.registers, c.output_registers(), c.constants.clone()),
            _ => (pxvm::machine::NUM_REGS as u8, Vec::new(), Vec::new()),
        };
        Alphabet {
            syscalls: self.syscalls(),
            opcodes: self.opcodes(),
            max_len,
            registers,
            outputs,
            constants,
        }
    }

    /// Output lines worth keeping per run (more cannot improve the score).
    pub fn max_output_lines(&self) -> usize {
        match self {
            Goal::Output(t) => t.len() * 2 + 8,
            Goal::Draw(_) => 4_096,
            Goal::Faster(r) => r.sysout.len() + 8,
            Goal::Cases(c) => c.max_output_lines(),
        }
    }

    /// The order in which fitnesses compare: error first, then `output`/`draw` prefer
    /// shorter kernels and `faster` fewer cycles.
    pub fn order(&self, f: &Fitness) -> (f64, u64, u64) {
        match self {
            Goal::Faster(_) => (f.error, f.cycles, f.size as u64),
            _ => (f.error, f.size as u64, f.cycles),
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(&self, a: &Fitness, b: &Fitness) -> bool {
        let (x, y) = (self.order(a), self.order(b));
        x.0.total_cmp(&y.0)
            .then(x.1.cmp(&y.1))
            .then(x.2.cmp(&y.2))
            .is_lt()
    }

    /// Score one finished run.
    pub fn score(&self, exit: Exit, m: &Machine, sysout: &[String], size: usize) -> Fitness {
        // A run that did not halt is never a solution, however close its output.
        let unfinished = if exit == Exit::Halt { 0.0 } else { 0.5 };
        let error = match self {
            Goal::Output(target) => lines_error(sysout, target) + unfinished,
            Goal::Draw(target) => picture_error(sysout, target) + unfinished,
            Goal::Faster(r) => {
                let data_from = r.kernel_len.max(size).min(r.memory.len());
                let memory_diff = m.mem[data_from..]
                    .iter()
                    .zip(&r.memory[data_from..])
                    .filter(|(a, b)| a != b)
                    .count();
                lines_error(sysout, &r.sysout) + memory_diff as f64 / 64.0 + unfinished * 4.0
            }
            // One run cannot score a case goal: the evaluator runs each case.
            Goal::Cases(_) => f64::MAX,
        };
        Fitness {
            error,
            cycles: m.cycles,
            size,
        }
    }
}

/// Distance between output and target lines: per target line 0 if equal, less than 1 for
/// a number close to the target number, 1 otherwise; 1 for each extra line.
pub fn lines_error(out: &[String], target: &[String]) -> f64 {
    let mut error = 0.0;
    for (i, want) in target.iter().enumerate() {
        error += match out.get(i) {
            Some(got) if got == want => 0.0,
            Some(got) => match (got.parse::<f64>(), want.parse::<f64>()) {
                (Ok(g), Ok(w)) => 0.5 + 0.5 * ((g - w).abs() / (w.abs() + 1.0)).min(1.0),
                _ => 1.0,
            },
            None => 1.0,
        };
    }
    error + out.len().saturating_sub(target.len()) as f64
}

/// Rows of the 800x600 picture that hold the drawing (below the title bar, above the
/// console panel); only these are compared, so the chrome's text does not count.
const DRAWING_ROWS: std::ops::Range<usize> = 32..480;

/// The drawing area sampled every 4 pixels: (columns, rows, RGB samples).
fn samples(rgba: &[u8], w: usize, h: usize) -> (usize, usize, Vec<[f64; 3]>) {
    let rows: Vec<usize> = DRAWING_ROWS.step_by(4).filter(|&y| y < h).collect();
    let cols = w.div_ceil(4);
    let mut out = Vec::with_capacity(rows.len() * cols);
    for &y in &rows {
        for x in (0..w).step_by(4) {
            let i = (y * w + x) * 4;
            out.push([
                f64::from(rgba[i]),
                f64::from(rgba[i + 1]),
                f64::from(rgba[i + 2]),
            ]);
        }
    }
    (cols, rows.len(), out)
}

/// Mean absolute color difference of `a` and `b` averaged over cells of `k` x `k` samples.
fn cell_difference(cols: usize, rows: usize, a: &[[f64; 3]], b: &[[f64; 3]], k: usize) -> f64 {
    let mut total = 0.0;
    let mut cells = 0.0;
    for cy in (0..rows).step_by(k) {
        for cx in (0..cols).step_by(k) {
            let mut diff = [0.0; 3];
            let mut n = 0.0;
            for y in cy..(cy + k).min(rows) {
                for x in cx..(cx + k).min(cols) {
                    let (p, q) = (a[y * cols + x], b[y * cols + x]);
                    for c in 0..3 {
                        diff[c] += p[c] - q[c];
                    }
                    n += 1.0;
                }
            }
            total += diff.iter().map(|d: &f64| d.abs()).sum::<f64>() / (3.0 * n);
            cells += 1.0;
        }
    }
    total / cells
}

/// How far the rendered output is from the target over the drawing area, at five scales:
/// the mean color difference per 4-pixel sample, per 32-, 128- and 256-pixel cell, and over
/// the whole drawing area. The coarse scales give credit for a shape of the right color
/// that is near its place, not only for one that already overlaps it, and the whole-area
/// scale for drawing the right amount of each color at all, so the search has a slope
/// from an empty canvas to shapes in place (with only the first three scales the README's
/// `draw` example never improved: any square the seed drew away from the target scored
/// worse than drawing nothing, and the search deleted it). A completely different
/// picture scores about 10. [`PICTURE_ERROR_VERSION`] names this measure in the goal
/// record, so a checkpoint scored by an earlier one is refused rather than mixed.
fn picture_error(sysout: &[String], target: &Picture) -> f64 {
    let Ok(image) = crate::tools::render::render(sysout) else {
        return 10.0;
    };
    if (image.width(), image.height()) != (target.width, target.height) {
        return 10.0;
    }
    let (w, h) = (target.width as usize, target.height as usize);
    let (cols, rows, got) = samples(image.rgba(), w, h);
    let (_, _, want) = samples(&target.rgba, w, h);
    let fine = cell_difference(cols, rows, &got, &want, 1);
    let mid = cell_difference(cols, rows, &got, &want, 8);
    let coarse = cell_difference(cols, rows, &got, &want, 32);
    let half = cell_difference(cols, rows, &got, &want, 64);
    let whole = cell_difference(cols, rows, &got, &want, cols.max(rows));
    (fine + mid + coarse + half + whole) / 5.0 / 25.5
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn line_error_rewards_closeness() {
        let target = lines(&["1", "1", "2", "3"]);
        assert_eq!(lines_error(&target, &target), 0.0);
        let near = lines_error(&lines(&["1", "1", "2", "4"]), &target);
        let far = lines_error(&lines(&["1", "1", "2", "400"]), &target);
        let missing = lines_error(&lines(&["1", "1", "2"]), &target);
        assert!(
            0.0 < near && near < far && far <= missing,
            "{near} {far} {missing}"
        );
        assert_eq!(
            lines_error(&lines(&["1", "1", "2", "3", "5"]), &target),
            1.0
        );
    }

    #[test]
    fn speedup_counts_only_kernels_that_reproduce_the_reference() {
        let kernel =
            pxvm::asm::assemble("IMM32 R1, 7\nSYSCALL SYS_PRINT_INT\nHALT\n", "t").unwrap();
        let Goal::Faster(reference) = Goal::faster_than(&kernel, 100).unwrap() else {
            panic!("faster_than makes a faster goal");
        };
        assert!(reference.cycles > 0);
        let fitness = |error, cycles| Fitness {
            error,
            cycles,
            size: 4,
        };
        let half = reference.cycles / 2;
        assert_eq!(
            reference.speedup(&fitness(0.0, half)),
            Some(reference.cycles as f64 / half as f64)
        );
        assert_eq!(
            reference.speedup(&fitness(0.0, reference.cycles)),
            Some(1.0)
        );
        assert_eq!(reference.speedup(&fitness(0.5, half)), None);
        assert_eq!(reference.speedup(&fitness(0.0, 0)), None);
    }

    /// The output lines of `source` run to its end.
    fn drawn(source: &str) -> Vec<String> {
        let kernel = pxvm::asm::assemble(source, "t").unwrap();
        let mut m = Machine::new(&kernel).unwrap();
        let mut host = crate::runtime::host::PxHost::default();
        assert_eq!(pxvm::interp::run(&mut m, &mut host, 1_000), Exit::Halt);
        host.sysout
    }

    fn square(x: i32, y: i32, size: i32) -> String {
        format!(
            "IMM32 R1, {x}\nIMM32 R2, {y}\nIMM32 R3, {size}\nIMM32 R4, {size}\n\
             IMM32 R5, 5\nSYSCALL SYS_RECT\n"
        )
    }

    #[test]
    fn picture_error_is_lower_the_nearer_a_shape_is_to_the_target() {
        // The README's draw example (kernels/evolve/draw_target.asm): a 200-pixel
        // light-blue square at (100, 100) and a white bar beside it.
        let target_source = include_str!("../../../kernels/evolve/draw_target.asm");
        let target_lines = drawn(target_source);
        let image = crate::tools::render::render(&target_lines).unwrap();
        let target = Picture {
            width: image.width(),
            height: image.height(),
            rgba: image.rgba().to_vec(),
        };
        let error = |source: &str| picture_error(&drawn(source), &target);
        let exact = error(target_source);
        let near = error(&format!("{}HALT\n", square(150, 150, 60)));
        // The README's seed (kernels/evolve/draw_seed.asm): a square touching the target
        // square's corner only (it scores a little worse than an empty canvas; its mutants
        // nearer the target score better).
        let beside = error(include_str!("../../../kernels/evolve/draw_seed.asm"));
        let nothing = error("HALT\n");
        assert!(exact < 1e-9, "the target itself: {exact}");
        assert!(
            exact < near && near < beside && near < nothing,
            "exact {exact} < near {near} < beside {beside}, near < nothing {nothing}"
        );
    }

    #[test]
    fn faster_needs_a_halting_reference() {
        let spin = pxvm::asm::assemble("L: JMP L\n", "t").unwrap();
        assert!(matches!(
            Goal::faster_than(&spin, 100),
            Err(GoalError::ReferenceDidNotHalt { .. })
        ));
    }

    /// A `draw` checkpoint's record is told apart by its picture measure: one written
    /// before the record had a `measure` (version 1 hashed no version text) is named as
    /// such, one of this measure without the field still matches.
    #[test]
    fn draw_records_tell_the_picture_measure() {
        let picture = Picture {
            width: 2,
            height: 1,
            rgba: vec![1, 2, 3, 4, 5, 6, 7, 8],
        };
        let goal = Goal::Draw(picture.clone());
        let now = goal.record();
        assert_eq!(now.measure, Some(PICTURE_MEASURE));
        assert_eq!(goal.compare(&now), Ok(()));
        let unmarked = GoalRecord {
            measure: None,
            ..now.clone()
        };
        assert_eq!(goal.compare(&unmarked), Ok(()));
        let v1 = GoalRecord {
            kind: "draw".into(),
            sha256: picture_digest(&picture, None),
            measure: None,
        };
        let measure = Err(GoalMismatch::Measure { saved: 1, now: 2 });
        assert_eq!(goal.compare(&v1), measure);
        let other = Goal::Draw(Picture {
            rgba: vec![0; 8],
            ..picture
        });
        assert_eq!(other.compare(&now), Err(GoalMismatch::Other));
        assert_eq!(
            Goal::Output(lines(&["1"])).compare(&now),
            Err(GoalMismatch::Other)
        );
    }
}
