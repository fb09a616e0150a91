//! `pxos evolve`: an evolution experiment from the command line — goal and options in,
//! a progress bar and per-generation log out, ending with a report on the best kernel.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pxos::engines::EngineKind;
use pxos::evolve::genome::MutationRates;
use pxos::evolve::goal::Goal;
use pxos::evolve::{Checkpoint, Config, Evolution, Individual};
use pxos::kernel;
use pxos::store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GoalKind {
    /// Print a target sequence of lines (--target or --target-file).
    Output,
    /// Render like a target PNG (--target-png).
    Draw,
    /// Reproduce a reference kernel's output and final data memory in fewer cycles
    /// (--reference).
    Faster,
}

#[derive(Debug, Args)]
pub struct EvolveArgs {
    /// The seed kernel (.asm or bytecode). With --resume or --from-version, omit it.
    seed_kernel: Option<PathBuf>,
    /// Start from this version of the store (--fs) instead of a kernel file.
    #[arg(
        long,
        value_name = "NAME",
        requires = "fs",
        conflicts_with = "seed_kernel"
    )]
    from_version: Option<String>,
    /// Record the lineage in this version store: each generation whose best improved
    /// registers it (as `evo-s<seed>-g<generation>`, child of the previous best), so
    /// `pxos versions tree` shows the evolutionary history. The current version is not
    /// changed unless --promote.
    #[arg(long, value_name = "DIR")]
    fs: Option<PathBuf>,
    /// At the end, install the best kernel as the store's current kernel through the same
    /// path as SYS_SELF_MODIFY (backup, child version on probation) and boot it once:
    /// if it fails, it is marked bad and the previous version is restored.
    #[arg(long, requires = "fs")]
    promote: bool,
    /// What to optimise.
    #[arg(long, value_enum)]
    goal: Option<GoalKind>,
    /// For --goal output: the target lines, comma-separated (e.g. 0,1,1,2,3,5).
    #[arg(long)]
    target: Option<String>,
    /// For --goal output: a file with one target line per line.
    #[arg(long, value_name = "FILE")]
    target_file: Option<PathBuf>,
    /// For --goal draw: the target picture (800x600 PNG).
    #[arg(long, value_name = "PNG")]
    target_png: Option<PathBuf>,
    /// For --goal faster: the reference kernel (.asm or bytecode).
    #[arg(long, value_name = "KERNEL")]
    reference: Option<PathBuf>,
    /// Random seed: the same seed and options give the same result on any machine.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Individuals per generation.
    #[arg(long, default_value_t = 100)]
    population: usize,
    /// Generations to run.
    #[arg(long, default_value_t = 100)]
    generations: u64,
    /// Instruction budget for each variant's run.
    #[arg(long, default_value_t = 1_000)]
    fuel: u64,
    /// Engine for the runs.
    #[arg(long, default_value = "tiered")]
    engine: EngineKind,
    /// Evaluation threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    jobs: Option<usize>,
    /// Largest kernel the search may grow, in bytes.
    #[arg(long, default_value_t = 1_024)]
    max_len: usize,
    /// Mutation weights, e.g. operand=40,replace=15,insert=15,delete=15,duplicate=5,byte_flip=5.
    #[arg(long, value_name = "NAME=W,...")]
    mutation: Option<String>,
    /// Percent of children made by crossover of two parents.
    #[arg(long)]
    crossover: Option<u32>,
    /// Append one JSON line per generation to FILE.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Save the experiment's state to FILE after every generation.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Continue the experiment saved in --checkpoint.
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Write the best kernel's bytecode here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the final report as one JSON object.
    #[arg(long)]
    json: bool,
}

fn parse_rates(spec: Option<&str>, crossover: Option<u32>) -> Result<MutationRates> {
    let mut rates = MutationRates::default();
    if let Some(spec) = spec {
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .with_context(|| format!("--mutation: expected NAME=WEIGHT, found '{part}'"))?;
            let weight: u32 = weight.trim().parse().with_context(|| {
                format!("--mutation: '{weight}' is not a weight (0, 1, 2, ...)")
            })?;
            let slot = match name.trim() {
                "operand" => &mut rates.operand,
                "replace" => &mut rates.replace,
                "insert" => &mut rates.insert,
                "delete" => &mut rates.delete,
                "duplicate" => &mut rates.duplicate,
                "byte_flip" => &mut rates.byte_flip,
                other => bail!(
                    "--mutation: unknown operator '{other}' (expected operand, replace, insert, delete, duplicate, byte_flip)"
                ),
            };
            *slot = weight;
        }
    }
    if let Some(c) = crossover {
        if c > 100 {
            bail!("--crossover is a percentage (0..=100), not {c}");
        }
        rates.crossover_percent = c;
    }
    Ok(rates)
}

fn goal_from(args: &EvolveArgs) -> Result<Goal> {
    let Some(kind) = args.goal else {
        bail!("say what to optimise with --goal output, --goal draw or --goal faster");
    };
    Ok(match kind {
        GoalKind::Output => {
            let lines: Vec<String> = match (&args.target, &args.target_file) {
                (Some(t), None) => t.split(',').map(|s| s.trim().to_string()).collect(),
                (None, Some(f)) => std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read {}", f.display()))?
                    .lines()
                    .map(str::to_string)
                    .collect(),
                (Some(_), Some(_)) => bail!("give --target or --target-file, not both"),
                (None, None) => bail!("--goal output needs --target LINES or --target-file FILE"),
            };
            if lines.is_empty() || lines.iter().all(String::is_empty) {
                bail!("the target output is empty: give at least one line");
            }
            Goal::Output(lines)
        }
        GoalKind::Draw => {
            let Some(png) = &args.target_png else {
                bail!("--goal draw needs --target-png PNG");
            };
            Goal::draw_from(png)?
        }
        GoalKind::Faster => {
            let Some(reference) = &args.reference else {
                bail!("--goal faster needs --reference KERNEL");
            };
            let bytes = kernel::load(reference)?;
            Goal::faster_than(&bytes, args.fuel)
                .with_context(|| format!("reference kernel {}", reference.display()))?
        }
    })
}

/// Records each improvement of the best in a version store.
struct Lineage {
    root: PathBuf,
    seed: u64,
    /// The version the next record descends from.
    parent: Option<u64>,
}

impl Lineage {
    fn name(&self, born: u64) -> String {
        format!("evo-s{}-g{}", self.seed, born)
    }

    /// Register `best` (unless a resumed run registered it already). The store is locked
    /// only while it is written, so other commands can use it during a long experiment.
    fn record(&mut self, best: &Individual) -> Result<()> {
        let name = self.name(best.born);
        let mut store = super::manage::open_mut(&self.root, true)?;
        let id = match store.db().by_name(&name) {
            Some(entry) if store.read_kernel(entry).is_ok_and(|k| k == best.genome) => entry.id,
            _ => {
                let origin = format!(
                    "pxos evolve: generation {}, error {}, {} cycles",
                    best.born, best.fitness.error, best.fitness.cycles
                );
                store.record(&name, &best.genome, self.parent, &origin)?.id
            }
        };
        self.parent = Some(id);
        Ok(())
    }
}

/// `--promote`: the best kernel replaces the current one as a SELF_MODIFY request would,
/// then boots once for its assessment. Returns what that boot did.
fn promote(
    root: &Path,
    best: &Individual,
    engine: EngineKind,
    fuel: u64,
) -> Result<pxos::boot::Generation> {
    let mut store = super::manage::open_mut(root, true)?;
    let origin = format!("pxos evolve --promote (generation {})", best.born);
    if store.current().is_some() {
        store.evolve(&best.genome, &origin)?;
    } else {
        store.register("evo-best", &best.genome, None, &origin)?;
    }
    let options = pxos::boot::BootOptions {
        engine,
        fuel,
        max_generations: 1,
    };
    let mut booted = None;
    pxos::boot::boot(&mut store, &options, &mut |g| booted = Some(g.clone()))?;
    booted.ok_or_else(|| anyhow::anyhow!("the promoted kernel was not booted"))
}

pub fn evolve(args: EvolveArgs) -> Result<ExitCode> {
    let goal = goal_from(&args)?;
    if args.population < 2 {
        bail!("--population must be at least 2");
    }
    if args.max_len == 0 || args.max_len > pxvm::MEM_SIZE {
        bail!("--max-len must be 1..={}", pxvm::MEM_SIZE);
    }
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    let mut log = match &args.log {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("cannot write {}", path.display()))?,
        ),
        None => None,
    };
    let mut evo = if args.resume {
        let path = args
            .checkpoint
            .as_ref()
            .expect("clap requires --checkpoint");
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut state: Checkpoint = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not a pxos evolve checkpoint", path.display()))?;
        state.config.generations = args.generations;
        let engine: EngineKind = state.config.engine.parse().map_err(anyhow::Error::msg)?;
        Evolution::resume(state, &goal, engine)
    } else {
        let seed = match (&args.seed_kernel, &args.from_version) {
            (Some(path), _) => kernel::load(path)?,
            (None, Some(name)) => {
                let root = args.fs.as_ref().expect("clap requires --fs");
                let store = Store::open(root)?;
                let entry = store.get(name)?;
                store.read_kernel(entry)?
            }
            (None, None) => {
                bail!("give a seed kernel (.asm or bytecode) or --from-version NAME to start from")
            }
        };
        let config = Config {
            seed: args.seed,
            population: args.population,
            generations: args.generations,
            fuel: args.fuel,
            engine: args.engine.name().to_string(),
            max_len: args.max_len,
            rates: parse_rates(args.mutation.as_deref(), args.crossover)?,
            ..Config::default()
        };
        pool.install(|| Evolution::start(config, &goal, args.engine, &seed))
    };
    let mut lineage = match &args.fs {
        Some(root) => {
            let parent = match &args.from_version {
                Some(name) => Some(Store::open(root)?.get(name)?.id),
                None => None,
            };
            let mut lineage = Lineage {
                root: root.clone(),
                seed: evo.state.config.seed,
                parent,
            };
            for best in evo.state.lineage.clone() {
                lineage.record(&best)?;
            }
            Some(lineage)
        }
        None => None,
    };
    let todo = evo
        .state
        .config
        .generations
        .saturating_sub(evo.state.generation);
    let bar = ProgressBar::new(todo).with_style(
        ProgressStyle::with_template("{bar:30} gen {pos}/{len} {msg}").expect("static template"),
    );
    while evo.state.generation < evo.state.config.generations {
        let (line, improved) = pool.install(|| evo.step());
        if let (true, Some(lineage)) = (improved, &mut lineage) {
            lineage.record(evo.best())?;
        }
        bar.set_message(format!(
            "best error {:.3} cycles {} size {} · {:.0} evals/s",
            line.best_error, line.best_cycles, line.best_size, line.evaluations_per_second
        ));
        bar.inc(1);
        if let Some(f) = &mut log {
            writeln!(f, "{}", serde_json::to_string(&line)?)?;
        }
        if let Some(path) = &args.checkpoint {
            pxos::store::atomic::write_atomic(path, &serde_json::to_vec(&evo.state)?)?;
        }
    }
    bar.finish_and_clear();
    let best = evo.best().clone();
    if let Some(out) = &args.out {
        std::fs::write(out, &best.genome)
            .with_context(|| format!("cannot write {}", out.display()))?;
    }
    let lineage: Vec<_> = evo
        .state
        .lineage
        .iter()
        .map(|i| serde_json::json!({"generation": i.born, "error": i.fitness.error, "cycles": i.fitness.cycles, "size": i.fitness.size}))
        .collect();
    let promoted = match (args.promote, &args.fs) {
        (true, Some(root)) => {
            let engine: EngineKind = evo
                .state
                .config
                .engine
                .parse()
                .map_err(anyhow::Error::msg)?;
            Some(promote(root, &best, engine, evo.state.config.fuel)?)
        }
        _ => None,
    };
    if args.json {
        let report = serde_json::json!({
            "promoted": promoted,
            "goal": goal.name(),
            "generations": evo.state.generation,
            "evaluations": evo.evaluator.evaluations,
            "cache_hits": evo.evaluator.cache_hits,
            "best": {
                "error": best.fitness.error,
                "cycles": best.fitness.cycles,
                "size": best.fitness.size,
                "born": best.born,
                "bytecode_hex": hex::encode(&best.genome),
            },
            "lineage": lineage,
        });
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "goal {}: best after {} generations: error {}, {} cycles, {} bytes (born in generation {})",
            goal.name(),
            evo.state.generation,
            best.fitness.error,
            best.fitness.cycles,
            best.fitness.size,
            best.born
        );
        println!(
            "{} evaluations, {} cache hits",
            evo.evaluator.evaluations, evo.evaluator.cache_hits
        );
        println!("lineage (each improvement of the best):");
        for i in &evo.state.lineage {
            println!(
                "  generation {:>5}: error {:.4}, {} cycles, {} bytes",
                i.born, i.fitness.error, i.fitness.cycles, i.fitness.size
            );
        }
        println!("best kernel:");
        print!("{}", pxvm::disasm::disassemble(&best.genome));
        if let Some(g) = &promoted {
            println!("promoted through the boot cycle:\n{}", g.summary());
        }
    }
    Ok(ExitCode::SUCCESS)
}
