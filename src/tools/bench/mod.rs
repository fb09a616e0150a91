//! Benchmarking the engines on the kernel suite ([`SUITE`]) against native references
//! (Rust functions computing the same, private): warm-up, repeated timed runs, medians, and
//! a result check on every run so that a wrong engine cannot post a fast time. "vs native"
//! is relative to the step-by-step reference (`native`: the guest's loads, stores, calls
//! and iterations); where LLVM left free runs a different algorithm, that one is reported
//! too (`native-optimised`). `pxos bench` prints the report; the criterion benches in
//! `benches/` reuse the suite.

mod native;
mod suite;

pub use suite::{BenchKernel, SUITE};

use crate::runtime::engines::EngineKind;
use crate::runtime::host::PxHost;
use crate::runtime::run::run_kernel;
use pxvm::Engine;
use serde::Serialize;
use std::time::{Duration, Instant};

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

/// The engine name of the step-by-step native reference's rows, which every "vs native"
/// ratio is relative to.
pub const NATIVE: &str = "native";

/// The engine name of the unconstrained native reference's rows (`native::optimised`),
/// reported after [`NATIVE`] for the kernels that have one.
pub const NATIVE_OPTIMISED: &str = "native-optimised";

/// One measured (kernel, engine) pair; `engine` is [`NATIVE`] or [`NATIVE_OPTIMISED`] for
/// the native references.
#[derive(Clone, Debug, Serialize)]
pub struct BenchRow {
    pub kernel: String,
    pub engine: String,
    /// Guest instructions retired per run (0 for the native references).
    pub guest_instructions: u64,
    pub samples: usize,
    /// Median wall time of one run, in nanoseconds, on an engine that has run this kernel
    /// before (the JIT engines reuse the code they compiled then: this is execution).
    pub median_ns: f64,
    /// Median wall time of one run on a new engine, in nanoseconds: what a single run
    /// costs, compiling included (`None` for the native references).
    pub first_run_ns: Option<f64>,
    /// Guest instructions per second at the median.
    pub instructions_per_second: f64,
    /// This engine's median time over the step-by-step native reference's (1.0 = native
    /// speed; below 1.0 for `native-optimised` shows what LLVM's freedom buys).
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
    #[error(
        "{kernel} on {engine}: expected exit halt and output {expected:?}, got exit {exit} and output {got:?}"
    )]
    WrongResult {
        kernel: String,
        engine: String,
        expected: Vec<String>,
        exit: pxvm::Exit,
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

/// Run one kernel once on `engine` (of kind `kind`), checking the result.
fn run_checked(
    kernel: &BenchKernel,
    (kind, engine): (EngineKind, &mut dyn Engine),
    bytes: &[u8],
    expected: &Option<Vec<String>>,
) -> Result<u64, BenchError> {
    let outcome = run_kernel(bytes, engine, PxHost::default(), u64::MAX)
        .expect("suite kernels fit in memory");
    let ok = outcome.exit == pxvm::Exit::Halt
        && expected.as_ref().is_none_or(|e| *e == outcome.host.sysout);
    if !ok {
        return Err(BenchError::WrongResult {
            kernel: kernel.name.to_string(),
            engine: kind.name().to_string(),
            expected: expected.clone().unwrap_or_default(),
            exit: outcome.exit,
            got: outcome.host.sysout,
        });
    }
    Ok(outcome.machine.cycles)
}

/// Time a native reference on problem size `n`.
fn sample_native(
    options: &BenchOptions,
    f: fn(i32) -> i32,
    n: i32,
) -> Result<(f64, usize), BenchError> {
    sample(options, || {
        std::hint::black_box(f(std::hint::black_box(n)));
        Ok(())
    })
}

/// A report row for a native reference.
fn native_row(
    kernel: &BenchKernel,
    engine: &str,
    median_ns: f64,
    samples: usize,
    ratio_to_native: f64,
) -> BenchRow {
    BenchRow {
        kernel: kernel.name.to_string(),
        engine: engine.to_string(),
        guest_instructions: 0,
        samples,
        median_ns,
        instructions_per_second: 0.0,
        first_run_ns: None,
        ratio_to_native: Some(ratio_to_native),
        speedup_over_interp: None,
    }
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
                progress(&format!("{} on {NATIVE}", kernel.name));
                let (ns, samples) = sample_native(options, f, n)?;
                rows.push(native_row(kernel, NATIVE, ns, samples, 1.0));
                if let Some(optimised) = kernel.native_optimised {
                    progress(&format!("{} on {NATIVE_OPTIMISED}", kernel.name));
                    let (opt_ns, samples) = sample_native(options, optimised, n)?;
                    rows.push(native_row(
                        kernel,
                        NATIVE_OPTIMISED,
                        opt_ns,
                        samples,
                        opt_ns / ns,
                    ));
                }
                Some(ns)
            }
            _ => None,
        };
        let mut interp_ns = None;
        for &kind in engines {
            progress(&format!("{} on {}", kernel.name, kind.name()));
            // A new engine per run: the first-run cost, compiling included...
            let (first_ns, _) = sample(options, || {
                let mut fresh = kind.build();
                run_checked(kernel, (kind, fresh.as_mut()), &bytes, &expected).map(drop)
            })?;
            // ...then one engine for every run: execution with the code already compiled.
            let mut warm = kind.build();
            let instructions = run_checked(kernel, (kind, warm.as_mut()), &bytes, &expected)?;
            let (ns, samples) = sample(options, || {
                run_checked(kernel, (kind, warm.as_mut()), &bytes, &expected).map(drop)
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
                first_run_ns: Some(first_ns),
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
            "| kernel | engine | guest instructions | median time | first run | guest instr/s | vs native | speedup over interp |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
        );
        for r in &self.rows {
            let ips = if r.guest_instructions == 0 {
                "–".to_string()
            } else {
                format!("{:.0} M", r.instructions_per_second / 1e6)
            };
            let native = r.ratio_to_native.map_or("–".into(), |x| format!("{x:.2}x"));
            let speedup = match (r.engine.as_str(), r.speedup_over_interp) {
                ("interp" | NATIVE | NATIVE_OPTIMISED, _) | (_, None) => "–".to_string(),
                (_, Some(x)) => format!("{x:.1}x"),
            };
            let instrs = if r.guest_instructions == 0 {
                "–".to_string()
            } else {
                r.guest_instructions.to_string()
            };
            let first = r.first_run_ns.map_or("–".into(), format_ns);
            out += &format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
                r.kernel,
                r.engine,
                instrs,
                format_ns(r.median_ns),
                first,
                ips,
                native,
                speedup
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimised_reference_gets_its_own_row_after_native_only_where_there_is_one() {
        let quick = BenchOptions {
            min_time: Duration::ZERO,
            min_samples: 1,
            max_samples: 1,
        };
        let kernels = select(Some("fib_rec"))
            .unwrap()
            .into_iter()
            .chain(select(Some("fib_iter")).unwrap())
            .collect::<Vec<_>>();
        let report = run(&kernels, &[], &quick, &mut |_| {}).unwrap();
        let rows: Vec<_> = report
            .rows
            .iter()
            .map(|r| (r.kernel.as_str(), r.engine.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                ("fib_rec", NATIVE),
                ("fib_rec", NATIVE_OPTIMISED),
                ("fib_iter", NATIVE)
            ]
        );
        let optimised = &report.rows[1];
        assert_eq!(optimised.guest_instructions, 0);
        assert_eq!(
            optimised.ratio_to_native,
            Some(optimised.median_ns / report.rows[0].median_ns)
        );
        let expected = format!(
            "| fib_rec | native-optimised | – | {} | – | – | {:.2}x | – |",
            format_ns(optimised.median_ns),
            optimised.ratio_to_native.unwrap()
        );
        assert!(
            report.table().lines().any(|l| l == expected),
            "{expected}\n{}",
            report.table()
        );
    }

    #[test]
    fn engine_rows_report_the_warm_run_and_the_first_run() {
        let quick = BenchOptions {
            min_time: Duration::ZERO,
            min_samples: 1,
            max_samples: 1,
        };
        let kernels = select(Some("fib_rec")).unwrap();
        let report = run(&kernels, &[EngineKind::Jit], &quick, &mut |_| {}).unwrap();
        let jit = report.rows.iter().find(|r| r.engine == "jit").unwrap();
        let first = jit.first_run_ns.expect("an engine row has a first run");
        assert!(first > 0.0 && jit.median_ns > 0.0);
        assert_eq!(
            jit.ratio_to_native,
            Some(jit.median_ns / report.rows[0].median_ns)
        );
        let line = format!(
            "| fib_rec | jit | {} | {} | {} |",
            jit.guest_instructions,
            format_ns(jit.median_ns),
            format_ns(first)
        );
        assert!(
            report.table().lines().any(|l| l.starts_with(&line)),
            "{line}\n{}",
            report.table()
        );
        assert!(
            report
                .rows
                .iter()
                .all(|r| r.engine != "jit" || r.first_run_ns.is_some())
        );
        assert!(
            report.rows[0].first_run_ns.is_none(),
            "native rows have no first run"
        );
    }
}
