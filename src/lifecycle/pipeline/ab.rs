//! A/B tests of kernel changes (`pxos ab A B`, and the pipeline's `ab_testing` state): both
//! kernels run every scenario of a workload on a fresh machine, and the results are
//! compared scenario by scenario. The VM is deterministic, so each scenario runs once per
//! kernel; nothing is sampled.
//!
//! **Workload.** A folder with one sub-folder per scenario (sorted by name):
//! ```text
//! workload/
//! ├── plain/                 a scenario: no files, the policy's fuel
//! └── with-input/
//!     ├── scenario.json      optional: {"fuel": 100000, "expect": ["line", …]}
//!     └── files/             optional: the guest files it starts with (file_7, build/…)
//! ```
//! No workload (or a missing folder) means one scenario, `boot`: a plain boot.
//!
//! **Verdict** ([`Verdict`]), in this order: `different output` if in any scenario the two
//! exits differ, the output lines differ, or B's lines differ from the scenario's `expect`;
//! else `better` if B's total cycles are fewer than A's, `equal` if the same, `worse` if
//! more. Memory is compared and reported but does not decide. **Passing** is the policy's
//! call ([`AbPolicy`]): by default the verdict must not be `different output`, B must halt
//! in every scenario, and B's total cycles may not exceed A's.

use super::policy::AbPolicy;
use crate::check::difftest::{Scenario, run_one};
use crate::runtime::engines::EngineKind;
use crate::runtime::host::files::{FileStore, OtherFiles};
use pxvm::Exit;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Largest scenario.json read.
const MAX_SCENARIO_FILE: u64 = 1 << 20;
/// Most scenarios in one workload.
pub const MAX_SCENARIOS: usize = 1_000;
/// Most bytes of guest files in one workload, all scenarios together.
pub const MAX_WORKLOAD_BYTES: usize = 256 << 20;

/// One scenario of a workload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbScenario {
    pub name: String,
    pub files: BTreeMap<String, Vec<u8>>,
    pub fuel: u64,
    pub expect: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    fuel: Option<u64>,
    expect: Option<Vec<String>>,
}

/// A workload that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WorkloadError {
    #[error("cannot read the workload {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("workload {}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

/// The store's workload folder `rel` (the policy's `workload`), refusing a path through a
/// symbolic link at any component inside the store (it would lead out of it).
pub fn store_workload(root: &Path, rel: &str) -> Result<PathBuf, WorkloadError> {
    let mut at = root.to_path_buf();
    for part in Path::new(rel).components() {
        at.push(part);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(WorkloadError::Invalid {
                path: at,
                message: "is a symbolic link; links are never followed".into(),
            });
        }
    }
    Ok(at)
}

/// The scenarios of the workload folder `dir` (see the module docs); a missing folder is
/// the one plain `boot` scenario. Every scenario without a fuel gets `fuel`.
pub fn load_workload(dir: Option<&Path>, fuel: u64) -> Result<Vec<AbScenario>, WorkloadError> {
    let plain = || {
        vec![AbScenario {
            name: "boot".into(),
            files: BTreeMap::new(),
            fuel,
            expect: None,
        }]
    };
    let Some(dir) = dir else { return Ok(plain()) };
    let invalid = |path: &Path, message: String| WorkloadError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WorkloadError::Io { path, source }
    };
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(plain()),
        Err(e) => return Err(io(dir)(e)),
        Ok(m) if !m.is_dir() => {
            return Err(invalid(
                dir,
                crate::util::nofollow::not_a_folder(crate::util::nofollow::kind_of(&m)),
            ));
        }
        Ok(_) => {}
    }
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let kind = entry.file_type().map_err(io(&entry.path()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        if !kind.is_dir() {
            return Err(invalid(
                &entry.path(),
                "a workload holds only scenario folders (symlinks are not followed)".into(),
            ));
        }
        names.push(name);
    }
    names.sort();
    if names.is_empty() {
        return Err(invalid(dir, "has no scenario folders".into()));
    }
    if names.len() > MAX_SCENARIOS {
        return Err(invalid(
            dir,
            format!("has {} scenarios; at most {MAX_SCENARIOS}", names.len()),
        ));
    }
    let mut total = 0usize;
    names
        .into_iter()
        .map(|name| {
            let sdir = dir.join(&name);
            let spec_path = sdir.join("scenario.json");
            let spec = match std::fs::symlink_metadata(&spec_path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => ScenarioFile::default(),
                _ => {
                    let bytes = crate::util::nofollow::read_regular(&spec_path, MAX_SCENARIO_FILE)
                        .map_err(|e| invalid(&spec_path, e.to_string()))?
                        .map_err(|_| invalid(&spec_path, "is over 1 MiB".into()))?;
                    serde_json::from_slice(&bytes)
                        .map_err(|e| invalid(&spec_path, e.to_string()))?
                }
            };
            if spec
                .fuel
                .is_some_and(|f| f == 0 || f > super::policy::MAX_FUEL)
            {
                return Err(invalid(
                    &spec_path,
                    format!("fuel must be 1 ..= {}", super::policy::MAX_FUEL),
                ));
            }
            let files_dir = sdir.join("files");
            let files = match std::fs::symlink_metadata(&files_dir) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
                Err(e) => return Err(io(&files_dir)(e)),
                Ok(m) if !m.is_dir() => return Err(invalid(&files_dir, "is not a folder".into())),
                Ok(_) => crate::runtime::host::files::MemFiles::copy_of_dir(
                    &files_dir,
                    OtherFiles::Refuse,
                )
                .map_err(io(&files_dir))?
                .snapshot()
                .unwrap_or_default(),
            };
            total += files.values().map(Vec::len).sum::<usize>();
            if total > MAX_WORKLOAD_BYTES {
                return Err(invalid(
                    dir,
                    format!(
                        "its scenarios' files hold more than {} MiB in all",
                        MAX_WORKLOAD_BYTES >> 20
                    ),
                ));
            }
            Ok(AbScenario {
                name,
                files,
                fuel: spec.fuel.unwrap_or(fuel),
                expect: spec.expect,
            })
        })
        .collect()
}

/// How one kernel's run of a scenario ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    pub exit: Exit,
    pub cycles: u64,
    pub lines: usize,
    pub memory_sha256: String,
    /// The output lines (for `--png`; left out of reports).
    #[serde(skip)]
    pub sysout: Vec<String>,
}

/// The comparison of one scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScenarioReport {
    pub name: String,
    pub fuel: u64,
    pub a: Side,
    pub b: Side,
    pub output_equal: bool,
    /// The first line where the outputs differ: (line number from 1, A's, B's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_difference: Option<(usize, Option<String>, Option<String>)>,
    /// Whether B printed the scenario's `expect` lines (none if it sets none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_meets_expect: Option<bool>,
    pub memory_equal: bool,
    /// B's cycles over A's.
    pub cycle_ratio: f64,
}

/// The rule's answer; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Better,
    Equal,
    Worse,
    DifferentOutput,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Better => "better",
            Verdict::Equal => "equal",
            Verdict::Worse => "worse",
            Verdict::DifferentOutput => "different output",
        })
    }
}

/// A whole A/B test.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AbReport {
    pub a: String,
    pub b: String,
    pub scenarios: Vec<ScenarioReport>,
    pub total_cycles_a: u64,
    pub total_cycles_b: u64,
    pub cycle_ratio: f64,
    pub verdict: Verdict,
    /// Whether the policy lets B pass, and why (not).
    pub pass: bool,
    pub why: String,
}

impl AbReport {
    /// One line: verdict, cycles, and why it passes or not.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} vs {} cycles ({:.3}x) over {} scenario(s); {}",
            self.verdict,
            self.total_cycles_b,
            self.total_cycles_a,
            self.cycle_ratio,
            self.scenarios.len(),
            self.why
        )
    }

    /// The report as a table for people.
    pub fn table(&self) -> String {
        let mut out = format!("A = {}\nB = {}\n", self.a, self.b);
        out += &format!(
            "{:<20} {:>6} {:>6} {:>12} {:>12} {:>8}  {:<9} memory\n",
            "scenario", "exit A", "exit B", "cycles A", "cycles B", "B/A", "output"
        );
        for s in &self.scenarios {
            let output = if !s.output_equal {
                "different"
            } else if s.b_meets_expect == Some(false) {
                "unexpected"
            } else {
                "equal"
            };
            out += &format!(
                "{:<20} {:>6} {:>6} {:>12} {:>12} {:>7.3}x  {:<9} {}\n",
                s.name,
                s.a.exit,
                s.b.exit,
                s.a.cycles,
                s.b.cycles,
                s.cycle_ratio,
                output,
                if s.memory_equal { "equal" } else { "different" }
            );
            if let Some((line, a, b)) = &s.first_difference {
                out += &format!(
                    "    first difference at line {line}: A {:?}, B {:?}\n",
                    a.as_deref().unwrap_or("(none)"),
                    b.as_deref().unwrap_or("(none)")
                );
            }
        }
        out += &format!("verdict: {}\n", self.summary());
        out
    }
}

fn ratio(b: u64, a: u64) -> f64 {
    if a == 0 {
        if b == 0 { 1.0 } else { f64::INFINITY }
    } else {
        b as f64 / a as f64
    }
}

fn run_side(kernel: &[u8], s: &AbScenario) -> Result<Side, String> {
    let scenario = Scenario {
        kernel: kernel.to_vec(),
        files: s.files.clone(),
        fuel: s.fuel,
    };
    let seen = run_one(EngineKind::Tiered, &scenario).map_err(|e| e.to_string())?;
    Ok(Side {
        exit: seen.report.exit,
        cycles: seen.report.cycles,
        lines: seen.report.sysout.len(),
        memory_sha256: seen.report.memory_sha256,
        sysout: seen.report.sysout,
    })
}

/// Run kernel `a` (labelled `a_name`) and kernel `b` over `scenarios` and judge B by
/// `policy`. An error names the kernel that could not be loaded.
pub fn ab_test(
    a_name: &str,
    a: &[u8],
    b_name: &str,
    b: &[u8],
    scenarios: &[AbScenario],
    policy: &AbPolicy,
) -> Result<AbReport, String> {
    let mut reports = Vec::with_capacity(scenarios.len());
    for s in scenarios {
        let sa = run_side(a, s).map_err(|e| format!("{a_name}: {e}"))?;
        let sb = run_side(b, s).map_err(|e| format!("{b_name}: {e}"))?;
        let first_difference = (0..sa.sysout.len().max(sb.sysout.len()))
            .find(|&i| sa.sysout.get(i) != sb.sysout.get(i))
            .map(|i| (i + 1, sa.sysout.get(i).cloned(), sb.sysout.get(i).cloned()));
        reports.push(ScenarioReport {
            name: s.name.clone(),
            fuel: s.fuel,
            output_equal: first_difference.is_none() && sa.exit == sb.exit,
            first_difference,
            b_meets_expect: s.expect.as_ref().map(|e| *e == sb.sysout),
            memory_equal: sa.memory_sha256 == sb.memory_sha256,
            cycle_ratio: ratio(sb.cycles, sa.cycles),
            a: sa,
            b: sb,
        });
    }
    let total_a: u64 = reports.iter().map(|r| r.a.cycles).sum();
    let total_b: u64 = reports.iter().map(|r| r.b.cycles).sum();
    let different = reports
        .iter()
        .any(|r| !r.output_equal || r.b_meets_expect == Some(false));
    let verdict = if different {
        Verdict::DifferentOutput
    } else {
        match total_b.cmp(&total_a) {
            std::cmp::Ordering::Less => Verdict::Better,
            std::cmp::Ordering::Equal => Verdict::Equal,
            std::cmp::Ordering::Greater => Verdict::Worse,
        }
    };
    let not_halted = reports.iter().find(|r| r.b.exit != Exit::Halt);
    let cycle_ratio = ratio(total_b, total_a);
    let (pass, why) = if different && !policy.allow_different_output {
        let r = reports
            .iter()
            .find(|r| !r.output_equal || r.b_meets_expect == Some(false));
        (
            false,
            format!(
                "fails: output differs in scenario {:?}",
                r.map_or("", |r| r.name.as_str())
            ),
        )
    } else if let Some(r) = not_halted {
        (
            false,
            format!(
                "fails: B ended with exit={} in scenario {:?}",
                r.b.exit, r.name
            ),
        )
    } else if cycle_ratio > policy.max_cycles_ratio {
        (
            false,
            format!(
                "fails: B takes {cycle_ratio:.3}x A's cycles; the policy allows at most {}x",
                policy.max_cycles_ratio
            ),
        )
    } else {
        (
            true,
            format!(
                "passes (at most {}x A's cycles allowed)",
                policy.max_cycles_ratio
            ),
        )
    };
    Ok(AbReport {
        a: a_name.to_string(),
        b: b_name.to_string(),
        scenarios: reports,
        total_cycles_a: total_a,
        total_cycles_b: total_b,
        cycle_ratio,
        verdict,
        pass,
        why,
    })
}

/// Both kernels' renders side by side, one row per scenario, as PNG bytes.
pub fn side_by_side_png(report: &AbReport) -> std::io::Result<Vec<u8>> {
    let mut rows = Vec::new();
    for s in &report.scenarios {
        let title = |k: &str, who: &str| crate::tools::render::RenderOptions {
            title: Some(format!("{who}: {k} - {}", s.name)),
        };
        let a = crate::tools::render::render_with(&s.a.sysout, &title(&report.a, "A"))?;
        let b = crate::tools::render::render_with(&s.b.sysout, &title(&report.b, "B"))?;
        rows.push((a, b));
    }
    const GAP: usize = 8;
    let width = rows
        .iter()
        .map(|(a, b)| a.width() as usize + GAP + b.width() as usize)
        .max()
        .unwrap_or(1);
    let height: usize = rows
        .iter()
        .map(|(a, b)| a.height().max(b.height()) as usize + GAP)
        .sum::<usize>()
        .max(1);
    let mut rgba = vec![0u8; width * height * 4];
    for px in rgba.chunks_mut(4) {
        px[3] = 255;
    }
    let mut top = 0;
    for (a, b) in &rows {
        for (img, left) in [(a, 0), (b, a.width() as usize + GAP)] {
            let w = img.width() as usize;
            for y in 0..img.height() as usize {
                let src = &img.rgba()[y * w * 4..(y + 1) * w * 4];
                let at = ((top + y) * width + left) * 4;
                rgba[at..at + w * 4].copy_from_slice(src);
            }
        }
        top += a.height().max(b.height()) as usize + GAP;
    }
    crate::tools::render::encode_rgba_png(width as u32, height as u32, &rgba)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(src: &str) -> Vec<u8> {
        pxvm::asm::assemble(src, "k.asm").unwrap()
    }

    #[test]
    fn verdicts_follow_the_rule() {
        let plain = load_workload(None, 100_000).unwrap();
        let slow = k(
            "IMM32 R1, 5\nIMM32 R2, 0\nloop: ADDI R2, R2, 7\nADDI R1, R1, -1\nJNZ R1, loop\nMOV R1, R2\nSYSCALL 10\nHALT\n",
        );
        let fast = k("IMM32 R1, 35\nSYSCALL 10\nHALT\n");
        let other = k("IMM32 R1, 36\nSYSCALL 10\nHALT\n");
        let loops = k("loop: JMP loop\n");
        let policy = AbPolicy::default();
        let r = ab_test("slow", &slow, "fast", &fast, &plain, &policy).unwrap();
        assert_eq!(
            (r.verdict, r.pass),
            (Verdict::Better, true),
            "{}",
            r.table()
        );
        let r = ab_test("fast", &fast, "slow", &slow, &plain, &policy).unwrap();
        assert_eq!((r.verdict, r.pass), (Verdict::Worse, false));
        let r = ab_test("fast", &fast, "fast", &fast, &plain, &policy).unwrap();
        assert_eq!((r.verdict, r.pass), (Verdict::Equal, true));
        let r = ab_test("fast", &fast, "other", &other, &plain, &policy).unwrap();
        assert_eq!((r.verdict, r.pass), (Verdict::DifferentOutput, false));
        assert_eq!(
            r.scenarios[0].first_difference,
            Some((1, Some("35".into()), Some("36".into())))
        );
        let r = ab_test("fast", &fast, "loops", &loops, &plain, &policy).unwrap();
        assert_eq!((r.verdict, r.pass), (Verdict::DifferentOutput, false));
    }
}
