//! Benchmarking the engines on the kernel suite ([`suite`]) against native references
//! ([`native`]): warm-up, repeated timed runs, medians, and a result check on every run
//! so that a wrong engine cannot post a fast time. `pxos bench` prints the report; the
//! criterion benches in `benches/` reuse the suite.

pub mod native;
pub mod suite;

use crate::engines::EngineKind;
use crate::host::PxHost;
use crate::run::run_kernel;
use serde::Serialize;
use std::time::{Duration, Instant};
use suite::BenchKernel;

/// How long to sample each (kernel, engine) pair.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Keep sampling until this much time has been spent (after warm-up)...
    pub min_time: Duration,
    /// ...and at least this many samples were taken...
    pub min_samples: usize,
    /// ...but never more than this many.
    pub max_samples: usize,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            min_time: Duration::from_millis(300),
            min_samples: 3,
            max_samples: 30,
        }
    }
}

/// One measured (kernel, engine) pair; `engine` is `native` for the reference.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub kernel: String,
    pub engine: String,
    /// Guest instructions retired per run (0 for native).
    pub guest_instructions: u64,
    pub samples: usize,
    /// Median wall time of one run, in nanoseconds.
    pub median_ns: f64,
    /// Guest instructions per second at the median.
    pub instructions_per_second: f64,
    /// This engine's median time over the native reference's (1.0 = native speed).
    pub ratio_to_native: Option<f64>,
    /// The interpreter's median time over this engine's (how many times faster).
    pub speedup_over_interp: Option<f64>,
}

/// A whole report.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    /// The CPU the numbers came from, and its core count.
    pub machine: String,
    pub rows: Vec<BenchRow>,
}

/// A run that did not produce the kernel's expected result.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{kernel}: {source}")]
    Assemble {
        kernel: String,
        source: pxvm::asm::AsmErrors,
    },
    #[error("{kernel} on {engine}: expected exit halt and output {expected:?}, got exit {exit} and output {got:?}")]
    WrongResult {
        kernel: String,
        engine: String,
        expected: Vec<String>,
        exit: String,
        got: Vec<String>,
    },
    #[error("unknown benchmark kernel '{0}' (expected one of: {1})")]
    UnknownKernel(String, String),
}

/// Pick kernels by name (`None`: the whole suite).
pub fn select(name: Option<&str>) -> Result<Vec<&'static BenchKernel>, BenchError> {
    match name {
        None => Ok(suite::SUITE.iter().collect()),
        Some(n) => BenchKernel::find(n).map(|k| vec![k]).ok_or_else(|| {
            let names: Vec<_> = suite::SUITE.iter().map(|k| k.name).collect();
            BenchError::UnknownKernel(n.to_string(), names.join(", "))
        }),
    }
}

/// Time `f` (which performs `per_call` runs): warm up once, then sample per the options.
/// Returns the median time of one run and the sample count.
fn sample(
    options: &BenchOptions,
    mut f: impl FnMut() -> Result<(), BenchError>,
) -> Result<(f64, usize), BenchError> {
    let t = Instant::now();
    f()?;
    let once = t.elapsed();
    // Batch tiny workloads so each sample is at least ~2 ms long.
    let batch =
        (Duration::from_millis(2).as_nanos() / once.as_nanos().max(1)).clamp(1, 100_000) as usize;
    let mut times = Vec::new();
    let start = Instant::now();
    while times.len() < options.max_samples
        && (times.len() < options.min_samples || start.elapsed() < options.min_time)
    {
        let t = Instant::now();
        for _ in 0..batch {
            f()?;
        }
        times.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    times.sort_by(f64::total_cmp);
    Ok((times[times.len() / 2], times.len()))
}

/// Run one kernel on one engine once, checking the result.
fn run_checked(
    kernel: &BenchKernel,
    kind: EngineKind,
    bytes: &[u8],
    expected: &Option<Vec<String>>,
) -> Result<u64, BenchError> {
    let mut engine = kind.build();
    let outcome = run_kernel(bytes, engine.as_mut(), PxHost::default(), u64::MAX)
        .expect("suite kernels fit in memory");
    let ok = outcome.exit == pxvm::Exit::Halt
        && expected.as_ref().is_none_or(|e| *e == outcome.host.sysout);
    if !ok {
        return Err(BenchError::WrongResult {
            kernel: kernel.name.to_string(),
            engine: kind.name().to_string(),
            expected: expected.clone().unwrap_or_default(),
            exit: outcome.exit.to_string(),
            got: outcome.host.sysout,
        });
    }
    Ok(outcome.machine.cycles)
}

/// Benchmark `kernels` on `engines` (and natively), reporting progress through `progress`.
pub fn run(
    kernels: &[&BenchKernel],
    engines: &[EngineKind],
    options: &BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BenchReport, BenchError> {
    let mut rows = Vec::new();
    for kernel in kernels {
        let bytes = kernel
            .bytecode(kernel.param)
            .map_err(|source| BenchError::Assemble {
                kernel: kernel.name.to_string(),
                source,
            })?;
        let expected = kernel.expected_output(kernel.param);
        let native_ns = match (kernel.native, kernel.param) {
            (Some(f), Some(n)) => {
                progress(&format!("{} on native", kernel.name));
                let (ns, samples) = sample(options, || {
                    std::hint::black_box(f(n));
                    Ok(())
                })?;
                rows.push(BenchRow {
                    kernel: kernel.name.to_string(),
                    engine: "native".to_string(),
                    guest_instructions: 0,
                    samples,
                    median_ns: ns,
                    instructions_per_second: 0.0,
                    ratio_to_native: Some(1.0),
                    speedup_over_interp: None,
                });
                Some(ns)
            }
            _ => None,
        };
        let mut interp_ns = None;
        for &kind in engines {
            progress(&format!("{} on {}", kernel.name, kind.name()));
            let instructions = run_checked(kernel, kind, &bytes, &expected)?;
            let (ns, samples) = sample(options, || {
                run_checked(kernel, kind, &bytes, &expected).map(drop)
            })?;
            if kind == EngineKind::Interp {
                interp_ns = Some(ns);
            }
            rows.push(BenchRow {
                kernel: kernel.name.to_string(),
                engine: kind.name().to_string(),
                guest_instructions: instructions,
                samples,
                median_ns: ns,
                instructions_per_second: instructions as f64 / (ns / 1e9),
                ratio_to_native: native_ns.map(|n| ns / n),
                speedup_over_interp: interp_ns.map(|i| i / ns),
            });
        }
    }
    Ok(BenchReport {
        machine: machine_description(),
        rows,
    })
}

/// The CPU model and core count, from /proc/cpuinfo where there is one.
pub fn machine_description() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model}, {cores} cores")
}

/// Human-readable duration.
pub fn format_ns(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

impl BenchReport {
    /// The report as a Markdown table (what the README's performance section shows).
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| kernel | engine | guest instructions | median time | guest instr/s | vs native | speedup over interp |\n|---|---|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.rows {
            let ips = if r.guest_instructions == 0 {
                "–".to_string()
            } else {
                format!("{:.0} M", r.instructions_per_second / 1e6)
            };
            let native = r.ratio_to_native.map_or("–".into(), |x| format!("{x:.2}x"));
            let speedup = match (r.engine.as_str(), r.speedup_over_interp) {
                ("interp" | "native", _) | (_, None) => "–".to_string(),
                (_, Some(x)) => format!("{x:.1}x"),
            };
            let instrs = if r.guest_instructions == 0 {
                "–".to_string()
            } else {
                r.guest_instructions.to_string()
            };
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                r.kernel,
                r.engine,
                instrs,
                format_ns(r.median_ns),
                ips,
                native,
                speedup
            );
        }
        out
    }
}
