//! `pxos evolve --problem-suite`: every shipped problem run over K seeds with lexicase and
//! with tournament selection, each run with the problem's default budget from the `HALT`
//! seed kernel; reports per problem and selection the success rate (a success: zero error
//! on the held-out cases) and the median generations to success, as a table or JSON.

use anyhow::{Context, Result};
use pxos::tools::evolve::{Selection, problems};
use rayon::prelude::*;
use std::process::ExitCode;
use std::time::Instant;

/// One row of the table.
#[derive(Debug, serde::Serialize)]
struct Row {
    problem: String,
    selection: &'static str,
    seeds: u64,
    successes: u64,
    success_rate: f64,
    /// Median generations to success over the successful seeds.
    median_generations: Option<f64>,
    /// Wall-clock seconds of all the seeds' runs.
    seconds: f64,
}

fn median(mut xs: Vec<u64>) -> Option<f64> {
    xs.sort_unstable();
    let n = xs.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(xs[n / 2] as f64),
        _ => Some((xs[n / 2 - 1] + xs[n / 2]) as f64 / 2.0),
    }
}

pub fn suite(seeds: u64, only: Option<&str>, jobs: Option<usize>, json: bool) -> Result<ExitCode> {
    let names: Vec<String> = match only {
        Some(list) => {
            let mut names: Vec<String> = Vec::new();
            for name in list.split(',').map(|s| s.trim().to_string()) {
                if names.contains(&name) {
                    anyhow::bail!("--problems names {name:?} twice");
                }
                names.push(name);
            }
            names
        }
        None => problems::names().iter().map(|s| s.to_string()).collect(),
    };
    let loaded = names
        .iter()
        .map(|n| problems::load(n))
        .collect::<Result<Vec<_>, _>>()?;
    let threads =
        jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let mut rows = Vec::new();
    for problem in &loaded {
        for selection in [Selection::Lexicase, Selection::Tournament] {
            let start = Instant::now();
            // Seeds run side by side (each run's evaluations are parallel too); every run
            // is deterministic, so the table does not depend on the thread count.
            let outcomes = pool
                .install(|| {
                    (0..seeds)
                        .into_par_iter()
                        .map(|seed| {
                            let config = problems::config(problem, seed, selection);
                            problems::solve(problem, config, problems::SEED_KERNEL, &mut |_| {})
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .with_context(|| format!("problem {}", problem.spec.name))?;
            let gens: Vec<u64> = outcomes
                .iter()
                .filter(|o| o.solved)
                .map(|o| o.generations)
                .collect();
            let row = Row {
                problem: problem.spec.name.clone(),
                selection: selection.name(),
                seeds,
                successes: gens.len() as u64,
                success_rate: gens.len() as f64 / seeds as f64,
                median_generations: median(gens),
                seconds: start.elapsed().as_secs_f64(),
            };
            if !json {
                if rows.is_empty() {
                    println!(
                        "{:<10} {:<10} {:>9} {:>6} {:>12} {:>8}",
                        "problem", "selection", "successes", "rate", "median gens", "seconds"
                    );
                }
                println!(
                    "{:<10} {:<10} {:>9} {:>5.0}% {:>12} {:>8.1}",
                    row.problem,
                    row.selection,
                    format!("{}/{}", row.successes, row.seeds),
                    row.success_rate * 100.0,
                    row.median_generations
                        .map_or("-".to_string(), |g| format!("{g}")),
                    row.seconds
                );
            }
            rows.push(row);
        }
    }
    if json {
        println!("{}", serde_json::to_string(&rows)?);
    }
    Ok(ExitCode::SUCCESS)
}
