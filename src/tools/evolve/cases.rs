//! Input/output cases for `--goal cases`: each case sets a kernel's starting state
//! (registers, bytes at addresses, guest files) and says what must come out (output lines,
//! registers, memory ranges). A case file is JSON lines, one case per line:
//!
//! ```text
//! {"regs": {"R1": 5, "R2": 7}, "memory": {"0x8000": [1, 2]}, "files": {"file_5": "hi"},
//!  "expect": {"output": ["12"], "regs": {"R1": 12}, "memory": {"0x9000": [3]}}}
//! ```
//!
//! (on one line). Blank lines and lines starting with `#` are skipped. Error measures, per
//! kind, summed into the case's error: a register → the absolute difference of the two
//! i32 values (computed in i64, so it never overflows); a memory range → the absolute
//! difference of each byte; output lines → per expected line 0 if equal, the absolute
//! difference if both are integers (capped at [`PENALTY`]), else [`PENALTY`], and
//! [`PENALTY`] per missing or extra line; a run that does not halt → [`PENALTY`] more.
//! Running a case is a pure function of (genome, case): the machine is reset, the case's
//! state written, and the run uses a fresh in-memory file store.

use crate::runtime::host::PxHost;
use crate::runtime::host::files::MemFiles;
use crate::util::userfile;
use pxvm::machine::NUM_REGS;
use pxvm::{Exit, MEM_SIZE, Machine};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::path::Path;

/// The error of a mismatched or missing line, of a run that does not halt, and the cap of
/// an integer line's difference.
pub const PENALTY: f64 = 1_000_000.0;
/// The largest case file read.
pub const MAX_CASES_FILE_BYTES: u64 = 64 << 20;
/// The most cases one file may hold.
pub const MAX_CASES: usize = 100_000;

/// A case file that cannot be used: `FILE:LINE: field: problem`.
#[derive(Debug, thiserror::Error)]
pub enum CasesError {
    #[error(transparent)]
    File(#[from] userfile::FileError),
    #[error("{file}:{line}: {field}: {problem}")]
    Bad {
        file: String,
        line: usize,
        field: String,
        problem: String,
    },
    #[error("{0}: holds no cases (one JSON object per line)")]
    Empty(String),
    #[error("{0}: holds more than {MAX_CASES} cases")]
    TooMany(String),
}

/// What must come out of a case's run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expect {
    pub output: Option<Vec<String>>,
    pub regs: Vec<(usize, i32)>,
    pub memory: Vec<(usize, Vec<u8>)>,
}

/// One case: a starting state and what must come out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Case {
    pub regs: Vec<(usize, i32)>,
    pub memory: Vec<(usize, Vec<u8>)>,
    pub files: Vec<(String, Vec<u8>)>,
    pub expect: Expect,
}

impl Case {
    /// Set up `m` (already reset with the genome) for this case; the host to run it with.
    pub fn prepare(&self, m: &mut Machine, max_output_lines: usize) -> PxHost {
        for &(r, v) in &self.regs {
            m.regs[r] = v;
        }
        for (addr, bytes) in &self.memory {
            let range = *addr..addr + bytes.len();
            m.mem[range.clone()].copy_from_slice(bytes);
            m.mark_written(range);
        }
        let mut files = MemFiles::new();
        for (path, data) in &self.files {
            files.insert(path, data.clone());
        }
        PxHost::new(Box::new(files)).with_max_output_lines(max_output_lines)
    }

    /// The error of a finished run (see the module documentation).
    pub fn error(&self, exit: Exit, m: &Machine, sysout: &[String]) -> f64 {
        let mut e = if exit == Exit::Halt { 0.0 } else { PENALTY };
        for &(r, want) in &self.expect.regs {
            e += (i64::from(m.regs[r]) - i64::from(want)).unsigned_abs() as f64;
        }
        for (addr, want) in &self.expect.memory {
            for (g, w) in m.mem[*addr..addr + want.len()].iter().zip(want) {
                e += f64::from(g.abs_diff(*w));
            }
        }
        if let Some(want) = &self.expect.output {
            e += output_error(sysout, want);
        }
        e
    }

    /// Lines of output worth keeping (more cannot lower the error).
    pub fn max_output_lines(&self) -> usize {
        self.expect.output.as_ref().map_or(0, Vec::len) + 1
    }

    fn hash(&self, h: &mut Sha256) {
        let pairs = |h: &mut Sha256, tag: u8, xs: &[(usize, i32)]| {
            h.update([tag]);
            h.update((xs.len() as u64).to_le_bytes());
            for &(r, v) in xs {
                h.update((r as u64).to_le_bytes());
                h.update(v.to_le_bytes());
            }
        };
        let bytes = |h: &mut Sha256, b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        let ranges = |h: &mut Sha256, tag: u8, xs: &[(usize, Vec<u8>)]| {
            h.update([tag]);
            h.update((xs.len() as u64).to_le_bytes());
            for (a, b) in xs {
                h.update((*a as u64).to_le_bytes());
                bytes(h, b);
            }
        };
        pairs(h, 1, &self.regs);
        ranges(h, 2, &self.memory);
        h.update([3]);
        h.update((self.files.len() as u64).to_le_bytes());
        for (p, d) in &self.files {
            bytes(h, p.as_bytes());
            bytes(h, d);
        }
        pairs(h, 4, &self.expect.regs);
        ranges(h, 5, &self.expect.memory);
        match &self.expect.output {
            None => h.update([6]),
            Some(lines) => {
                h.update([7]);
                h.update((lines.len() as u64).to_le_bytes());
                for l in lines {
                    bytes(h, l.as_bytes());
                }
            }
        }
    }
}

/// The goal `--goal cases` pursues: training cases (the search's error is the sum of their
/// errors; lexicase selection sees each), held-out test cases (never used for selection;
/// the best kernel's error on them is reported), and what new instructions may contain.
#[derive(Clone, Debug, Default)]
pub struct CaseGoal {
    pub train: Vec<Case>,
    pub test: Vec<Case>,
    /// Syscalls mutations may insert; `None`: PRINT_INT when a case expects output, plus
    /// the file syscalls when a case has files.
    pub syscalls: Option<Vec<u8>>,
    /// Opcodes mutations may insert; empty: all.
    pub opcodes: Vec<pxvm::Opcode>,
    /// New register operands use R0..R`registers` (1 to 8; 8: all).
    pub registers: u8,
    /// Constants new immediates favour (the problem's hint; empty: none).
    pub constants: Vec<i32>,
}

impl CaseGoal {
    /// The syscalls new instructions may use (see [`CaseGoal::syscalls`]).
    pub fn alphabet_syscalls(&self) -> Vec<u8> {
        use pxvm::syscalls::*;
        if let Some(s) = &self.syscalls {
            return s.clone();
        }
        let mut out = Vec::new();
        if self.train.iter().any(|c| c.expect.output.is_some()) {
            out.push(SYS_PRINT_INT);
        }
        if self.train.iter().any(|c| !c.files.is_empty()) {
            out.extend([SYS_FS_OPEN, SYS_FS_READ, SYS_FS_WRITE, SYS_FS_CLOSE]);
        }
        out
    }

    /// Output lines worth keeping per run.
    pub fn max_output_lines(&self) -> usize {
        self.train
            .iter()
            .chain(&self.test)
            .map(Case::max_output_lines)
            .max()
            .unwrap_or(1)
    }

    /// Feed everything that defines this goal into `h`.
    pub fn digest_into(&self, h: &mut Sha256) {
        hash_all(h, &self.train);
        hash_all(h, &self.test);
        h.update(self.alphabet_syscalls());
        h.update((self.opcodes.len() as u64).to_le_bytes());
        h.update(self.opcodes.iter().map(|&o| o as u8).collect::<Vec<u8>>());
        // Hashed only when it narrows the registers, so records made before the hint
        // existed still match.
        if usize::from(self.registers) != pxvm::machine::NUM_REGS {
            h.update(b"registers");
            h.update([self.registers]);
        }
        if !self.constants.is_empty() {
            h.update(b"constants");
            h.update((self.constants.len() as u64).to_le_bytes());
            for c in &self.constants {
                h.update(c.to_le_bytes());
            }
        }
    }

    /// The registers the training cases expect an answer in, at `HALT`.
    pub fn output_registers(&self) -> Vec<u8> {
        let mut regs: Vec<u8> = self
            .train
            .iter()
            .flat_map(|c| c.expect.regs.iter().map(|&(r, _)| r as u8))
            .collect();
        regs.sort_unstable();
        regs.dedup();
        regs
    }
}

/// An opcode by its mnemonic (any case), e.g. for a problem's instruction-set hint.
pub fn opcode(name: &str) -> Option<pxvm::Opcode> {
    pxvm::isa::ALL_OPCODES
        .iter()
        .copied()
        .find(|o| o.mnemonic().eq_ignore_ascii_case(name))
}

/// Output lines against expected lines (see the module documentation).
fn output_error(out: &[String], want: &[String]) -> f64 {
    let mut e = 0.0;
    for (i, w) in want.iter().enumerate() {
        e += match out.get(i) {
            Some(g) if g == w => 0.0,
            Some(g) => match (g.trim().parse::<i64>(), w.trim().parse::<i64>()) {
                (Ok(g), Ok(w)) => (g.abs_diff(w) as f64).min(PENALTY),
                _ => PENALTY,
            },
            None => PENALTY,
        };
    }
    e + out.len().saturating_sub(want.len()) as f64 * PENALTY
}

/// Feed the SHA-256 of a list of cases into `h` (for a goal's record).
fn hash_all(h: &mut Sha256, cases: &[Case]) {
    h.update((cases.len() as u64).to_le_bytes());
    for c in cases {
        c.hash(h);
    }
}

/// Read a case file (at most [`MAX_CASES_FILE_BYTES`], a regular file).
pub fn load(path: &Path) -> Result<Vec<Case>, CasesError> {
    let text = userfile::read_text_bounded(path, MAX_CASES_FILE_BYTES, "a cases file")?;
    parse(&text, &path.display().to_string())
}

/// Parse JSON-lines cases; `file` names the source in errors.
pub(super) fn parse(text: &str, file: &str) -> Result<Vec<Case>, CasesError> {
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if cases.len() == MAX_CASES {
            return Err(CasesError::TooMany(file.to_string()));
        }
        let bad = |field: &str, problem: String| CasesError::Bad {
            file: file.to_string(),
            line: i + 1,
            field: field.to_string(),
            problem,
        };
        cases.push(parse_case(t).map_err(|(f, p)| bad(&f, p))?);
    }
    if cases.is_empty() {
        return Err(CasesError::Empty(file.to_string()));
    }
    Ok(cases)
}

type Bad = (String, String);

fn parse_case(line: &str) -> Result<Case, Bad> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| ("(line)".to_string(), format!("not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| ("(line)".to_string(), "is not a JSON object".to_string()))?;
    for key in obj.keys() {
        if !["regs", "memory", "files", "expect"].contains(&key.as_str()) {
            return Err((
                key.clone(),
                "unknown field (expected regs, memory, files, expect)".to_string(),
            ));
        }
    }
    let expect_obj = match obj.get("expect") {
        Some(Value::Object(o)) => o,
        Some(_) => return Err(("expect".into(), "must be an object".into())),
        None => {
            return Err((
                "expect".into(),
                "missing: say what must come out (output, regs and/or memory)".into(),
            ));
        }
    };
    for key in expect_obj.keys() {
        if !["output", "regs", "memory"].contains(&key.as_str()) {
            return Err((
                format!("expect.{key}"),
                "unknown field (expected output, regs, memory)".to_string(),
            ));
        }
    }
    let output = match expect_obj.get("output") {
        None => None,
        Some(Value::Array(lines)) => Some(
            lines
                .iter()
                .enumerate()
                .map(|(i, l)| match l {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) if n.is_i64() => Ok(n.to_string()),
                    _ => Err((
                        format!("expect.output[{i}]"),
                        "must be a string or an integer".to_string(),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(_) => return Err(("expect.output".into(), "must be an array of lines".into())),
    };
    let expect = Expect {
        output,
        regs: regs(expect_obj.get("regs"), "expect.regs")?,
        memory: memory(expect_obj.get("memory"), "expect.memory")?,
    };
    if expect.output.is_none() && expect.regs.is_empty() && expect.memory.is_empty() {
        return Err((
            "expect".into(),
            "is empty: give output, regs and/or memory".into(),
        ));
    }
    Ok(Case {
        regs: regs(obj.get("regs"), "regs")?,
        memory: memory(obj.get("memory"), "memory")?,
        files: files(obj.get("files"))?,
        expect,
    })
}

fn object<'v>(v: Option<&'v Value>, field: &str) -> Result<Option<&'v Map<String, Value>>, Bad> {
    match v {
        None => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(_) => Err((field.to_string(), "must be an object".to_string())),
    }
}

fn regs(v: Option<&Value>, field: &str) -> Result<Vec<(usize, i32)>, Bad> {
    let mut out = Vec::new();
    for (name, value) in object(v, field)?.into_iter().flatten() {
        let at = format!("{field}.{name}");
        let r = name
            .strip_prefix(['R', 'r'])
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&r| r < NUM_REGS)
            .ok_or_else(|| (at.clone(), "is not a register (R0..R7)".to_string()))?;
        let x = value
            .as_i64()
            .and_then(|x| i32::try_from(x).ok())
            .ok_or_else(|| (at.clone(), format!("{value} is not an i32")))?;
        out.push((r, x));
    }
    out.sort_unstable();
    Ok(out)
}

fn address(s: &str) -> Option<usize> {
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => usize::from_str_radix(hex, 16).ok()?,
        None => s.parse().ok()?,
    };
    (n < MEM_SIZE).then_some(n)
}

fn memory(v: Option<&Value>, field: &str) -> Result<Vec<(usize, Vec<u8>)>, Bad> {
    let mut out = Vec::new();
    for (key, value) in object(v, field)?.into_iter().flatten() {
        let at = format!("{field}.{key}");
        let addr = address(key).ok_or_else(|| {
            (
                at.clone(),
                "is not an address (0..=65535, decimal or 0x hex)".to_string(),
            )
        })?;
        let bytes = byte_array(value).ok_or_else(|| {
            (
                at.clone(),
                "must be an array of bytes (0..=255)".to_string(),
            )
        })?;
        if addr + bytes.len() > MEM_SIZE {
            return Err((at, format!("{} bytes run past 65,536", bytes.len())));
        }
        out.push((addr, bytes));
    }
    out.sort();
    Ok(out)
}

fn byte_array(v: &Value) -> Option<Vec<u8>> {
    v.as_array()?
        .iter()
        .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
        .collect()
}

fn files(v: Option<&Value>) -> Result<Vec<(String, Vec<u8>)>, Bad> {
    let mut out = Vec::new();
    for (path, value) in object(v, "files")?.into_iter().flatten() {
        let at = format!("files.{path}");
        if path.is_empty() {
            return Err((at, "the path is empty".to_string()));
        }
        let data = match value {
            Value::String(s) => s.as_bytes().to_vec(),
            other => byte_array(other).ok_or_else(|| {
                (
                    at.clone(),
                    "must be a string or an array of bytes".to_string(),
                )
            })?,
        };
        out.push((path.clone(), data));
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_case_parses() {
        let c = parse(
            "# comment\n\n{\"regs\":{\"R1\":5,\"r2\":-7},\"memory\":{\"0x8000\":[1,2]},\"files\":{\"file_5\":\"hi\"},\"expect\":{\"output\":[\"12\",3],\"regs\":{\"R1\":12},\"memory\":{\"36864\":[3]}}}\n",
            "t.jsonl",
        )
        .unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].regs, vec![(1, 5), (2, -7)]);
        assert_eq!(c[0].memory, vec![(0x8000, vec![1, 2])]);
        assert_eq!(c[0].files, vec![("file_5".to_string(), b"hi".to_vec())]);
        assert_eq!(
            c[0].expect.output,
            Some(vec!["12".to_string(), "3".to_string()])
        );
        assert_eq!(c[0].expect.memory, vec![(0x9000, vec![3])]);
    }

    #[test]
    fn errors_name_the_line_and_field() {
        for (text, want) in [
            ("{\"expect\":{\"regs\":{\"R9\":1}}}", "t:1: expect.regs.R9:"),
            ("\n{\"regs\":{\"R1\":1}}", "t:2: expect: missing"),
            (
                "{\"expect\":{\"memory\":{\"0xFFFF\":[1,2]}}}",
                "t:1: expect.memory.0xFFFF:",
            ),
            (
                "{\"regs\":{\"R1\":\"x\"},\"expect\":{\"regs\":{\"R1\":1}}}",
                "t:1: regs.R1:",
            ),
            ("{\"expect\":{}}", "t:1: expect: is empty"),
            ("{\"expec\":{}}", "t:1: expec: unknown field"),
            ("not json", "t:1: (line): not JSON"),
        ] {
            let e = parse(text, "t").unwrap_err().to_string();
            assert!(e.starts_with(want), "{text}: {e}");
        }
    }

    #[test]
    fn error_measures_per_kind() {
        let lines = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(output_error(&lines(&["5"]), &lines(&["5"])), 0.0);
        assert_eq!(output_error(&lines(&["3"]), &lines(&["5"])), 2.0);
        assert_eq!(output_error(&lines(&["x"]), &lines(&["5"])), PENALTY);
        assert_eq!(output_error(&lines(&[]), &lines(&["5"])), PENALTY);
        assert_eq!(output_error(&lines(&["5", "6"]), &lines(&["5"])), PENALTY);
        let case = Case {
            expect: Expect {
                regs: vec![(1, i32::MAX)],
                ..Expect::default()
            },
            ..Case::default()
        };
        let mut m = Machine::new(&[0]).unwrap();
        m.regs[1] = i32::MIN;
        assert_eq!(case.error(Exit::Halt, &m, &[]), u32::MAX as f64);
        assert_eq!(case.error(Exit::Fuel, &m, &[]), u32::MAX as f64 + PENALTY);
    }
}
