//! `pxos evolve --islands N`: an island experiment (`pxos::tools::evolve::islands`) — all N
//! islands in this process (a ring, migrants every `--migrate-every` generations), or with
//! `--island I --exchange DIR` only island I, exchanging migrants with the other islands'
//! processes through DIR (one island per Slurm array task or Kubernetes pod). Either way the
//! islands go through the same populations for the same seed and options, and the report
//! lists each island's best kernel so runs can be compared. Island runs use their whole
//! generation budget (an island that stopped early would leave its neighbour waiting).
//!
//! `--checkpoint FILE` saves every island's state (or, with `--island I`, island I's) after
//! each generation's migration; `--resume` continues from it exactly. A resumed experiment
//! keeps its island count, migration, options and goal: any of them given again with
//! another value is refused, as is a ring's checkpoint resumed as one island or the other
//! way round. As for one population, resuming trims log lines of generations after the
//! checkpoint's and removes the temporaries an interrupted checkpoint write left.

use anyhow::{Context, Result};
use clap::Args;
use clap::builder::RangedU64ValueParser;
use pxos::tools::evolve::islands::{
    Archipelago, FolderExchange, IslandsCheckpoint, MAX_ISLANDS, Migration, island_config,
    run_island, run_key,
};
use pxos::tools::evolve::{Config, Evolution, GenerationLog, Goal, Individual};
use pxos::util::userfile;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, Args)]
pub struct IslandArgs {
    /// Evolve N islands (populations of --population each) along a ring, 2 to 1,024.
    #[arg(long, value_name = "N",
          value_parser = RangedU64ValueParser::<usize>::new().range(2..=MAX_ISLANDS as u64),
          conflicts_with_all = ["fs", "promote", "problem_suite"])]
    pub islands: Option<usize>,
    /// With --islands: migrate after every G-th generation [default: 10].
    #[arg(long, value_name = "G", requires = "islands",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub migrate_every: Option<u64>,
    /// With --islands: how many of an island's best go to the next island [default: 2].
    #[arg(long, value_name = "M", requires = "islands")]
    pub migrants: Option<usize>,
    /// With --islands: run only island I (0 to N-1) in this process, exchanging migrants
    /// through --exchange.
    #[arg(long, value_name = "I", requires_all = ["islands", "exchange"])]
    pub island: Option<usize>,
    /// With --island: the folder all islands' processes share for migrants.
    #[arg(long, value_name = "DIR", requires = "island")]
    pub exchange: Option<PathBuf>,
    /// With --island: how long to wait for a neighbour's migrants, in seconds [default:
    /// 600]; past it the island stops with an error naming the missing island.
    #[arg(long, value_name = "SECS", requires = "island",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub exchange_timeout: Option<u64>,
}

/// Where the outputs of an island run go.
#[derive(Debug)]
pub struct Outputs<'a> {
    pub log: Option<&'a Path>,
    /// `--out`, checked (and opened if a FIFO or device) before the run.
    pub out: Option<userfile::PreparedOutput>,
    pub json: bool,
    /// `--checkpoint`: saved after every generation.
    pub checkpoint: Option<&'a Path>,
}

/// Read and check the island experiment's checkpoint at `path`; a single population's is
/// refused, saying how to resume it.
pub fn load_checkpoint(path: &Path) -> Result<IslandsCheckpoint> {
    let bytes = userfile::read_bounded(path, super::evolve::MAX_CHECKPOINT_BYTES, "a checkpoint")?;
    let state: IslandsCheckpoint = match serde_json::from_slice(&bytes) {
        Ok(state) => state,
        Err(e) => {
            if serde_json::from_slice::<pxos::tools::evolve::Checkpoint>(&bytes).is_ok() {
                anyhow::bail!(
                    "{}: holds one population's experiment, not an island experiment; resume it without --islands",
                    path.display()
                );
            }
            return Err(e).with_context(|| {
                format!(
                    "{}: not a pxos evolve checkpoint of an island experiment",
                    path.display()
                )
            });
        }
    };
    state
        .validate()
        .with_context(|| format!("{}: damaged checkpoint", path.display()))?;
    Ok(state)
}

/// The migration of the experiment: the options', or a resumed one's, which the options
/// given again must agree with (as must the island count and `--island`).
fn migration_of(
    args: &IslandArgs,
    islands: usize,
    saved: Option<&IslandsCheckpoint>,
    checkpoint: Option<&Path>,
) -> Result<Migration> {
    let Some(saved) = saved else {
        return Ok(Migration {
            every: args.migrate_every.unwrap_or(10),
            migrants: args.migrants.unwrap_or(2),
        });
    };
    let path = checkpoint
        .expect("a resumed experiment has a checkpoint")
        .display();
    let keep = "a resumed experiment keeps its options (leave it out, or start a new experiment)";
    if islands != saved.islands {
        anyhow::bail!(
            "--islands {islands} differs from the experiment in {path}, which has {} islands; {keep}",
            saved.islands
        );
    }
    for (option, given, had) in [
        ("--migrate-every", args.migrate_every, saved.migration.every),
        (
            "--migrants",
            args.migrants.map(|m| m as u64),
            saved.migration.migrants as u64,
        ),
    ] {
        if let Some(v) = given.filter(|v| *v != had) {
            anyhow::bail!(
                "{option} {v} differs from the experiment in {path}, which has {had}; {keep}"
            );
        }
    }
    match (args.island, saved.island) {
        (Some(a), Some(b)) if a != b => anyhow::bail!(
            "--island {a} differs from the island in {path}, island {b} of {islands}; resume each island from its own checkpoint"
        ),
        (Some(a), None) => anyhow::bail!(
            "{path} holds every island of a ring run in one process; resume it without --island {a}"
        ),
        (None, Some(b)) => anyhow::bail!(
            "{path} holds island {b} of {islands}, run as its own process; resume it with --island {b} --exchange DIR"
        ),
        _ => Ok(saved.migration),
    }
}

/// Before a resumed island writes its log again: remove the lines of generations after
/// the checkpoint's.
fn trim_island_log(path: Option<&Path>, generation: u64) -> Result<()> {
    match path {
        Some(log) => super::evolve::trim_resumed_log(log, generation),
        None => Ok(()),
    }
}

/// Write `checkpoint` to `path` atomically.
fn save(path: &Path, checkpoint: &IslandsCheckpoint) -> Result<()> {
    userfile::write_output(path, &serde_json::to_vec(checkpoint)?)?;
    Ok(())
}

/// Where an island experiment starts.
#[derive(Debug)]
pub enum Start<'a> {
    /// A new experiment from this seed kernel.
    Seed(&'a [u8]),
    /// The experiment saved in this checkpoint (checked; `--checkpoint` is its file).
    Resume(Box<IslandsCheckpoint>),
}

/// Run the island experiment `args` describes.
pub fn run(
    args: &IslandArgs,
    islands: usize,
    config: Config,
    goal: &Goal,
    start: Start<'_>,
    threads: usize,
    outputs: Outputs<'_>,
) -> Result<ExitCode> {
    let (seed_kernel, saved): (&[u8], _) = match start {
        Start::Seed(kernel) => (kernel, None),
        Start::Resume(state) => (&[], Some(*state)),
    };
    let migration = migration_of(args, islands, saved.as_ref(), outputs.checkpoint)?;
    if migration.migrants >= config.population {
        anyhow::bail!(
            "--migrants {} must be smaller than --population {}",
            migration.migrants,
            config.population
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let generations = config.generations;
    if let Some(path) = outputs.checkpoint {
        userfile::remove_stale_temporaries(path);
    }
    let saved = saved.map(|mut s| {
        s.plan(generations);
        s
    });
    // The generation the run ends at: the plan, or the checkpoint's if it is past it.
    let (bests, reached): (Vec<(usize, Individual)>, u64) = match args.island {
        Some(me) => {
            if me >= islands {
                anyhow::bail!(
                    "--island {me} is not one of the {islands} islands (0 to {})",
                    islands - 1
                );
            }
            let dir = args.exchange.as_deref().expect("clap requires --exchange");
            let key = run_key(&config, goal, islands, migration);
            let timeout = Duration::from_secs(args.exchange_timeout.unwrap_or(600));
            let exchange = FolderExchange::new(dir, &key, me, islands, timeout)
                .with_context(|| format!("--exchange {}", dir.display()))?;
            let mut evolution = match saved {
                Some(mut state) => {
                    trim_island_log(outputs.log, state.generation())?;
                    Evolution::resume(state.states.remove(0), goal)
                }
                None => {
                    pool.install(|| Evolution::start(island_config(&config, me), goal, seed_kernel))
                }
            };
            let mut log = open_log(outputs.log)?;
            pool.install(|| {
                run_island(
                    &mut evolution,
                    migration,
                    &exchange,
                    generations,
                    |line, _| write_line(&mut log, line),
                    |evolution| match outputs.checkpoint {
                        Some(path) => save(
                            path,
                            &IslandsCheckpoint::of_island(
                                evolution, me, islands, migration, &config, goal,
                            ),
                        ),
                        None => Ok(()),
                    },
                )
            })?;
            (
                vec![(me, evolution.best().clone())],
                evolution.state.generation,
            )
        }
        None => {
            let logs: Vec<Option<PathBuf>> = (0..islands)
                .map(|i| outputs.log.map(|p| island_log(p, i)))
                .collect();
            let mut archipelago = match saved {
                Some(state) => {
                    for log in &logs {
                        trim_island_log(log.as_deref(), state.generation())?;
                    }
                    Archipelago::resume(state, goal)
                }
                None => pool
                    .install(|| Archipelago::start(&config, islands, migration, goal, seed_kernel)),
            };
            let mut logs = logs
                .iter()
                .map(|p| open_log(p.as_deref()))
                .collect::<Result<Vec<_>>>()?;
            while archipelago.islands[0].state.generation < generations {
                let lines = pool.install(|| archipelago.step());
                for (log, (line, _)) in logs.iter_mut().zip(&lines) {
                    write_line(log, line)?;
                }
                if let Some(path) = outputs.checkpoint {
                    save(
                        path,
                        &IslandsCheckpoint::of_ring(&archipelago, &config, goal),
                    )?;
                }
            }
            let best = archipelago.best().0;
            let mut all: Vec<_> = archipelago
                .islands
                .iter()
                .enumerate()
                .map(|(i, island)| (i, island.best().clone()))
                .collect();
            // The experiment's best first.
            all.swap(0, best);
            all[1..].sort_by_key(|(i, _)| *i);
            (all, archipelago.islands[0].state.generation)
        }
    };
    if let Some(out) = outputs.out {
        out.write(&bests[0].1.genome).context("--out")?;
    }
    report(&bests, goal, islands, migration, reached, outputs.json)?;
    Ok(ExitCode::SUCCESS)
}

/// The log file of island `i` of an in-process run: `run.jsonl` → `run.island<i>.jsonl`.
pub(super) fn island_log(path: &Path, island: usize) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.island{island}.{}", ext.to_string_lossy()),
        None => format!("{stem}.island{island}"),
    };
    path.with_file_name(name)
}

fn open_log(path: Option<&Path>) -> Result<Option<(PathBuf, std::fs::File)>> {
    match path {
        Some(p) => Ok(Some((
            p.to_path_buf(),
            userfile::open_append(p).context("--log")?,
        ))),
        None => Ok(None),
    }
}

fn write_line(log: &mut Option<(PathBuf, std::fs::File)>, line: &GenerationLog) -> Result<()> {
    if let Some((path, file)) = log {
        super::evolve::write_log_line(file, path, line)?;
    }
    Ok(())
}

fn report(
    bests: &[(usize, Individual)],
    goal: &Goal,
    islands: usize,
    migration: Migration,
    generations: u64,
    json: bool,
) -> Result<()> {
    // The experiment's best comes first.
    let (best_island, best) = (bests[0].0, &bests[0].1);
    if json {
        let per_island: Vec<_> = {
            let mut sorted: Vec<_> = bests.iter().collect();
            sorted.sort_by_key(|(i, _)| *i);
            sorted
                .into_iter()
                .map(|(i, b)| {
                    let mut entry = super::evolve::individual_json(b);
                    entry["island"] = serde_json::json!(i);
                    entry
                })
                .collect()
        };
        let report = serde_json::json!({
            "islands": islands,
            "migrate_every": migration.every,
            "migrants": migration.migrants,
            "generations": generations,
            "best_island": best_island,
            "best": super::evolve::individual_json(best),
            "faster": super::evolve::faster_json(goal, best),
            "per_island": per_island,
        });
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} island(s) of {islands}, {generations} generations, {} migrant(s) every {}: best on island {best_island}: error {}, {} cycles, {} bytes (born in generation {})",
            bests.len(),
            migration.migrants,
            migration.every,
            best.fitness.error,
            best.fitness.cycles,
            best.fitness.size,
            best.born
        );
        if let Some(line) = super::evolve::faster_line(goal, best) {
            println!("{line}");
        }
        for (i, b) in bests {
            println!(
                "  island {i:>4}: error {}, {} cycles, {} bytes",
                b.fitness.error, b.fitness.cycles, b.fitness.size
            );
        }
        println!("best kernel:");
        print!("{}", pxvm::disasm::disassemble(&best.genome));
    }
    Ok(())
}
