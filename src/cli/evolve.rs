//! `pxos evolve`: an evolution experiment from the command line — goal and options in,
//! a progress bar and per-generation log out, ending with a report on the best kernel.
//!
//! Before the first generation every output (`--out`, `--log`, `--checkpoint`) is checked
//! to be writable, and a checkpoint to resume is checked like the options. A resumed
//! experiment keeps the options and goal it was started with: an option given again with
//! another value, or another goal (compared by the checkpoint's goal record), is refused.
//! Resuming trims `--log` lines of generations after the checkpoint's (written before an
//! interruption; they are run again) and removes the temporaries an interrupted
//! checkpoint write left.

use anyhow::{Context, Result, bail};
use clap::builder::RangedU64ValueParser;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use pxos::lifecycle::evolved::{self, Lineage};
use pxos::runtime::engines::EngineKind;
use pxos::runtime::kernel;
use pxos::store::Store;
use pxos::tools::evolve::islands::IslandsCheckpoint;
use pxos::tools::evolve::{
    Checkpoint, Config, Evolution, Goal, GoalMismatch, Individual, MAX_GENERATIONS,
    MAX_INIT_LENGTH, MAX_POPULATION, MAX_WEIGHT, MutationRates, Selection,
};
use pxos::tools::evolve::{cases, problems};
use pxos::util::userfile;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The largest `--target-file` read.
const MAX_TARGET_FILE_BYTES: u64 = 1 << 20;
/// The largest checkpoint read (of one population or of islands).
pub(super) const MAX_CHECKPOINT_BYTES: u64 = 1 << 30;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GoalKind {
    /// Print a target sequence of lines (--target or --target-file).
    Output,
    /// Render like a target PNG (--target-png).
    Draw,
    /// Reproduce a reference kernel's output and final data memory in fewer cycles
    /// (--reference).
    Faster,
    /// Meet input/output cases (--cases FILE, JSON lines; see README's evolution section).
    Cases,
}

/// `--selection`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SelectionArg {
    Tournament,
    Lexicase,
    EpsilonLexicase,
}

impl From<SelectionArg> for Selection {
    fn from(s: SelectionArg) -> Selection {
        match s {
            SelectionArg::Tournament => Selection::Tournament,
            SelectionArg::Lexicase => Selection::Lexicase,
            SelectionArg::EpsilonLexicase => Selection::EpsilonLexicase,
        }
    }
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
    /// For --goal cases: the training cases (JSON lines: starting regs/memory/files and
    /// the expected output/regs/memory).
    #[arg(long, value_name = "FILE")]
    cases: Option<PathBuf>,
    /// For --goal cases: held-out cases, never used for selection; the best kernel's
    /// error on them is reported at the end and in --log (test_error).
    #[arg(long, value_name = "FILE")]
    test_cases: Option<PathBuf>,
    /// For --goal cases: the instruction-set hint, the only opcodes mutations may insert
    /// (comma-separated mnemonics, e.g. ADD,SUB,MOV,JZ,HALT) [default: all].
    #[arg(long, value_name = "OPS")]
    opcodes: Option<String>,
    /// For --goal cases: new instructions use only registers R0..R<N-1>, 1 to 8
    /// [default: 8, all].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=8))]
    registers: Option<u8>,
    /// For --goal cases: constants new immediates favour, comma-separated (e.g. 10,3).
    #[arg(
        long,
        value_name = "INTS",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
    constants: Option<Vec<i32>>,
    /// Run a problem of the shipped suite (kernels/evolve/problems/) with its budget;
    /// stops at the first kernel with zero error on training and held-out cases.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["goal", "problem_suite", "cases", "test_cases"])]
    problem: Option<String>,
    /// Run every problem of the suite over --seeds seeds with lexicase and tournament
    /// selection and report the success rates and median generations to success.
    #[arg(long, conflicts_with_all = ["goal", "seed_kernel", "checkpoint", "fs", "out", "log", "plot"])]
    problem_suite: bool,
    /// For --problem-suite: seeds per problem and selection, 1 to 1,000 [default: 10].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1000), requires = "problem_suite")]
    seeds: Option<u64>,
    /// For --problem-suite: only these problems (comma-separated).
    #[arg(long, value_name = "NAMES", requires = "problem_suite")]
    problems: Option<String>,
    /// How parents are chosen [default: lexicase for --goal cases and --problem,
    /// tournament otherwise].
    #[arg(long, value_enum)]
    selection: Option<SelectionArg>,
    /// Parsimony: add W x size (bytes) to the error used for ranking, elitism and
    /// tournaments, 0 to 1,000,000 [default: the problem's budget for --problem; else 0];
    /// above 0, lexicase also breaks its last
    /// tie by size (at 0 it breaks ties at random, keeping neutral variants).
    #[arg(long, value_name = "W")]
    size_weight: Option<f64>,
    /// Random seed: the same seed and options give the same result on any machine
    /// [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Individuals per generation, 2 to 100,000 [default: 100].
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(2..=MAX_POPULATION as u64))]
    population: Option<usize>,
    /// Generations to run, up to 1,000,000,000 [default: 100; with --resume: the
    /// checkpoint's plan; give it to run further].
    #[arg(long, value_parser = clap::value_parser!(u64).range(0..=MAX_GENERATIONS))]
    generations: Option<u64>,
    /// Instruction budget for each variant's run, at least 1 [default: 1000].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    fuel: Option<u64>,
    /// Engine for the runs [default: tiered].
    #[arg(long)]
    engine: Option<EngineKind>,
    /// Evaluation threads, 1 to 1,024 (default: one per core). Results do not depend on it.
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..=super::batch::MAX_JOBS))]
    jobs: Option<usize>,
    /// Start from scratch: generation 0 is the seed kernel and random kernels of 1 to N
    /// instructions over the goal's alphabet (cut to --max-len bytes, as every kernel of
    /// the search is), 0 to 1,000 [default: the problem's budget for --problem; else 0: the
    /// seed kernel and its mutants].
    #[arg(long, value_name = "N", value_parser = RangedU64ValueParser::<usize>::new().range(0..=MAX_INIT_LENGTH as u64))]
    init_length: Option<usize>,
    /// Largest kernel the search may grow, in bytes, 1 to 65,536, and at least the seed
    /// kernel's size [default: 1024].
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..=pxvm::MEM_SIZE as u64))]
    max_len: Option<usize>,
    /// Mutation weights, e.g. operand=40,replace=15,insert=15,delete=15,duplicate=5,byte_flip=5.
    #[arg(long, value_name = "NAME=W,...")]
    mutation: Option<String>,
    /// Percent of children made by crossover of two parents [default: 20].
    #[arg(long)]
    crossover: Option<u32>,
    /// Vary children by uniform mutation by addition and deletion (UMAD, as PushGP does)
    /// with this addition rate, 0 to 1 (e.g. 0.1), instead of by one to three point
    /// mutations [default: the problem's budget for --problem; else 0, off].
    #[arg(long, value_name = "RATE", value_parser = parse_rate, allow_negative_numbers = true)]
    umad: Option<f64>,
    /// Append one JSON line per generation to FILE.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// At the end, draw the run's chart (error, size, diversity per generation) as a PNG
    /// (as `pxos plot` draws a log; from --log if given, so a resumed run is whole).
    #[arg(long, value_name = "PNG")]
    plot: Option<PathBuf>,
    /// Save the experiment's state to FILE after every generation.
    #[arg(long, value_name = "FILE")]
    checkpoint: Option<PathBuf>,
    /// Continue the experiment saved in --checkpoint, with its options and goal (give
    /// the same --goal and targets again, and for islands --islands N and --island I;
    /// options may be left out).
    #[arg(long, requires = "checkpoint")]
    resume: bool,
    /// Write the best kernel's bytecode here.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Print the final report as one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    islands: super::evolve_islands::IslandArgs,
}

/// A rate, 0 to 1.
fn parse_rate(text: &str) -> std::result::Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
        .ok_or_else(|| format!("'{text}' is not a rate (0 to 1, e.g. 0.1)"))
}

/// `--mutation` and `--crossover` applied to `rates`.
fn parse_rates(
    mut rates: MutationRates,
    spec: Option<&str>,
    crossover: Option<u32>,
) -> Result<MutationRates> {
    if let Some(spec) = spec {
        for part in spec.split(',').filter(|p| !p.trim().is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .with_context(|| format!("--mutation: expected NAME=WEIGHT, found '{part}'"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .ok()
                .filter(|&w| w <= MAX_WEIGHT)
                .with_context(|| {
                    format!("--mutation: '{weight}' is not a weight (0 to {MAX_WEIGHT})")
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

/// The goal the options describe; `fuel` is the experiment's (a `faster` reference runs
/// with it).
fn goal_from(args: &EvolveArgs, fuel: u64) -> Result<Goal> {
    if let Some(name) = &args.problem {
        return Ok(Goal::Cases(problems::load(name)?.goal));
    }
    let Some(kind) = args.goal else {
        bail!(
            "say what to optimise with --goal output, --goal draw, --goal faster or --goal cases (or --problem NAME)"
        );
    };
    Ok(match kind {
        GoalKind::Cases => {
            let Some(train) = &args.cases else {
                bail!("--goal cases needs --cases FILE");
            };
            Goal::Cases(cases::CaseGoal {
                train: cases::load(train)?,
                test: match &args.test_cases {
                    Some(f) => cases::load(f)?,
                    None => Vec::new(),
                },
                opcodes: match &args.opcodes {
                    Some(list) => list
                        .split(',')
                        .filter(|o| !o.trim().is_empty())
                        .map(|o| {
                            cases::opcode(o.trim()).with_context(|| {
                                format!("--opcodes: unknown opcode '{}'", o.trim())
                            })
                        })
                        .collect::<Result<Vec<_>>>()?,
                    None => Vec::new(),
                },
                syscalls: None,
                registers: args.registers.unwrap_or(pxvm::machine::NUM_REGS as u8),
                constants: args.constants.clone().unwrap_or_default(),
            })
        }
        GoalKind::Output => {
            let lines: Vec<String> = match (&args.target, &args.target_file) {
                (Some(t), None) => t.split(',').map(|s| s.trim().to_string()).collect(),
                (None, Some(f)) => {
                    userfile::read_text_bounded(f, MAX_TARGET_FILE_BYTES, "a target file")?
                        .lines()
                        .map(str::to_string)
                        .collect()
                }
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
            Goal::faster_than(&bytes, fuel)
                .with_context(|| format!("reference kernel {}", reference.display()))?
        }
    })
}

/// The kernel an experiment starts from: the file given, the store version given, or (for
/// a problem) `HALT`.
fn seed_kernel(args: &EvolveArgs, problem: bool) -> Result<Vec<u8>> {
    Ok(match (&args.seed_kernel, &args.from_version) {
        (Some(path), _) => kernel::load(path)?,
        (None, None) if problem => problems::SEED_KERNEL.to_vec(),
        (None, Some(name)) => {
            let root = args.fs.as_ref().expect("clap requires --fs");
            let store = Store::open(root)?;
            let entry = store.get(name)?;
            store.read_kernel(entry)?
        }
        (None, None) => {
            bail!("give a seed kernel (.asm or bytecode) or --from-version NAME to start from")
        }
    })
}

/// An individual as the JSON reports show it: fitness, birth and bytecode.
pub(super) fn individual_json(i: &Individual) -> serde_json::Value {
    serde_json::json!({
        "error": i.fitness.error,
        "cycles": i.fitness.cycles,
        "size": i.fitness.size,
        "born": i.born,
        "bytecode_hex": hex::encode(&i.genome),
    })
}

/// For `--goal faster`: the reference kernel's cycles (`--reference`, usually the seed
/// kernel too), the best kernel's and the speedup, as the reports show them (`faster` in `--json`; `null` for other goals). The
/// speedup is `null` while the best does not reproduce the reference.
pub(super) fn faster_json(goal: &Goal, best: &Individual) -> serde_json::Value {
    match goal {
        Goal::Faster(reference) => serde_json::json!({
            "reference_cycles": reference.cycles,
            "best_cycles": best.fitness.cycles,
            "speedup": reference.speedup(&best.fitness),
        }),
        _ => serde_json::Value::Null,
    }
}

/// For `--goal faster`: the human report's line on the reference's cycles and the speedup.
pub(super) fn faster_line(goal: &Goal, best: &Individual) -> Option<String> {
    let Goal::Faster(reference) = goal else {
        return None;
    };
    let (from, to) = (reference.cycles, best.fitness.cycles);
    Some(match reference.speedup(&best.fitness) {
        Some(speedup) => format!(
            "reference: {from} cycles; best: {to} cycles, {speedup:.2}x faster ({from}/{to})"
        ),
        None if best.fitness.error != 0.0 => format!(
            "reference: {from} cycles; best: {to} cycles, but it does not reproduce the reference's output and memory yet (error {})",
            best.fitness.error
        ),
        None => format!("reference: {from} cycles; best: {to} cycles"),
    })
}

/// Read and check the checkpoint at `path`.
fn load_checkpoint(path: &Path) -> Result<Checkpoint> {
    let bytes = userfile::read_bounded(path, MAX_CHECKPOINT_BYTES, "a checkpoint")?;
    let state: Checkpoint = match serde_json::from_slice(&bytes) {
        Ok(state) => state,
        Err(e) => {
            if let Ok(ring) = serde_json::from_slice::<IslandsCheckpoint>(&bytes) {
                bail!(
                    "{} holds an island experiment ({} islands); resume it with --islands {}",
                    path.display(),
                    ring.islands,
                    ring.islands
                );
            }
            return Err(e)
                .with_context(|| format!("{} is not a pxos evolve checkpoint", path.display()));
        }
    };
    state
        .validate()
        .with_context(|| format!("{}: damaged checkpoint", path.display()))?;
    Ok(state)
}

/// Refuse an option given again on `--resume` with another value than the checkpoint's.
fn same_as_saved<T: PartialEq + std::fmt::Display>(
    option: &str,
    given: Option<T>,
    saved: T,
    checkpoint: &Path,
) -> Result<()> {
    match given {
        Some(v) if v != saved => bail!(
            "{option} {v} differs from the experiment in {}, which has {saved}; a resumed experiment keeps its options (leave {option} out, or start a new experiment)",
            checkpoint.display()
        ),
        _ => Ok(()),
    }
}

/// The configuration of a resumed experiment: the checkpoint's, with a new `--generations`
/// plan if given; any other option given must agree with it.
fn resumed_config(args: &EvolveArgs, saved: &Config, path: &Path) -> Result<Config> {
    same_as_saved("--seed", args.seed, saved.seed, path)?;
    same_as_saved("--population", args.population, saved.population, path)?;
    same_as_saved("--fuel", args.fuel, saved.fuel, path)?;
    same_as_saved("--engine", args.engine, saved.engine, path)?;
    same_as_saved("--max-len", args.max_len, saved.max_len, path)?;
    same_as_saved(
        "--selection",
        args.selection.map(Selection::from),
        saved.selection,
        path,
    )?;
    same_as_saved("--size-weight", args.size_weight, saved.size_weight, path)?;
    same_as_saved("--init-length", args.init_length, saved.init_length, path)?;
    same_as_saved("--umad", args.umad, saved.rates.umad, path)?;
    if args.mutation.is_some() || args.crossover.is_some() {
        let given = parse_rates(
            saved.rates.clone(),
            args.mutation.as_deref(),
            args.crossover,
        )?;
        if given != saved.rates {
            bail!(
                "--mutation/--crossover differ from the experiment in {} ({:?}); a resumed experiment keeps its options (leave them out, or start a new experiment)",
                path.display(),
                saved.rates
            );
        }
    }
    let mut config = saved.clone();
    if let Some(g) = args.generations {
        config.generations = g;
    }
    Ok(config)
}

/// Remove the trailing `--log` lines of generations after `generation` (a run interrupted
/// between writing a generation's log line and its checkpoint wrote them; the resumed run
/// writes them again), and a torn last line. Earlier lines — another experiment's
/// included — are kept. Returns how many lines were removed.
fn trim_log(path: &Path, generation: u64) -> Result<usize> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(0);
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut reader = BufReader::new(&file);
    let mut head = Vec::new();
    let mut lines: Vec<(u64, Option<u64>)> = Vec::new(); // (start, generation)
    let mut offset = 0;
    let mut complete = 0;
    loop {
        let (len, ended) = userfile::read_line_head(&mut reader, &mut head, 4096)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if !ended {
            break;
        }
        let generation = serde_json::from_slice::<serde_json::Value>(&head)
            .ok()
            .and_then(|v| v.get("generation").and_then(serde_json::Value::as_u64));
        lines.push((offset, generation));
        offset += len;
        complete = offset;
    }
    let mut cut = complete;
    let mut removed = 0;
    while let Some(&(start, Some(g))) = lines.last() {
        if g <= generation {
            break;
        }
        cut = start;
        removed += 1;
        lines.pop();
    }
    if cut < file.metadata()?.len() {
        file.set_len(cut)
            .with_context(|| format!("cannot trim {}", path.display()))?;
    }
    Ok(removed)
}

/// Before a resumed experiment appends to its log `path` again: remove the lines of
/// generations after the checkpoint's `generation` ([`trim_log`]), saying so.
pub(super) fn trim_resumed_log(path: &Path, generation: u64) -> Result<()> {
    let removed = trim_log(path, generation)?;
    if removed > 0 {
        eprintln!(
            "pxos: note: removed {removed} line(s) of generations after {generation} from {} (an interrupted run logged them; they run again)",
            path.display()
        );
    }
    Ok(())
}

/// Append `line` to the log `file` (at `path`) as one JSON line, in one write: a line is
/// never split between two writes, so a reader (or a crash) never sees half of one.
pub(super) fn write_log_line(
    file: &mut std::fs::File,
    path: &Path,
    line: &pxos::tools::evolve::GenerationLog,
) -> Result<()> {
    let mut text = serde_json::to_vec(line)?;
    text.push(b'\n');
    file.write_all(&text)
        .with_context(|| format!("--log: cannot write {}", path.display()))
}

/// The outputs of an experiment, checked before any work.
#[derive(Debug)]
struct Outputs {
    /// `--out`, opened already if it is a FIFO or device.
    out: Option<userfile::PreparedOutput>,
    /// `--plot`, likewise.
    plot: Option<userfile::PreparedOutput>,
}

impl Outputs {
    /// Check every output as its write will: none may name an input or another output,
    /// each must be writable, a checkpoint must be a regular file (it is replaced every
    /// generation and read back), and a FIFO `--out` or `--plot` must have a reader now.
    fn check(args: &EvolveArgs) -> Result<Outputs> {
        let outputs: Vec<(&str, &Path)> = [
            ("--checkpoint", &args.checkpoint),
            ("--log", &args.log),
            ("--out", &args.out),
            ("--plot", &args.plot),
        ]
        .into_iter()
        .filter_map(|(option, path)| Some((option, path.as_deref()?)))
        .collect();
        let inputs: Vec<(&str, &Path)> = [
            ("the seed kernel", &args.seed_kernel),
            ("--target-file", &args.target_file),
            ("--target-png", &args.target_png),
            ("--reference", &args.reference),
            ("--cases", &args.cases),
            ("--test-cases", &args.test_cases),
        ]
        .into_iter()
        .filter_map(|(what, path)| Some((what, path.as_deref()?)))
        .collect();
        userfile::check_distinct(&outputs, &inputs)?;
        for (option, path) in &outputs {
            userfile::check_output(path).context(*option)?;
        }
        if let Some(path) = &args.checkpoint
            && let Ok(meta) = std::fs::metadata(path)
            && !meta.is_file()
        {
            bail!(
                "--checkpoint {} is {}, not a regular file: a checkpoint is replaced after every generation and read back by --resume",
                path.display(),
                userfile::describe(&meta)
            );
        }
        let prepare = |option: &str, path: &Option<PathBuf>| {
            path.as_deref()
                .map(|p| userfile::prepare_output(p).context(option.to_string()))
                .transpose()
        };
        Ok(Outputs {
            out: prepare("--out", &args.out)?,
            plot: prepare("--plot", &args.plot)?,
        })
    }

    /// Hold the files the experiment writes all along — the checkpoint and the log (each
    /// island's log for islands in one process) — for as long as the locks live.
    fn lock(&self, args: &EvolveArgs) -> Result<Vec<userfile::OutputLock>> {
        let mut files: Vec<(&str, PathBuf)> = Vec::new();
        if let Some(path) = &args.checkpoint {
            files.push(("--checkpoint", path.clone()));
        }
        if let Some(log) = &args.log {
            match (args.islands.islands, args.islands.island) {
                (Some(n), None) => files
                    .extend((0..n).map(|i| ("--log", super::evolve_islands::island_log(log, i)))),
                _ => files.push(("--log", log.clone())),
            }
        }
        let mut locks = Vec::new();
        for (option, path) in files {
            locks.extend(userfile::lock_output(&path).context(option)?);
        }
        Ok(locks)
    }
}

pub fn evolve(args: EvolveArgs) -> Result<ExitCode> {
    if args.problem_suite {
        return super::evolve_suite::suite(
            args.seeds.unwrap_or(10),
            args.problems.as_deref(),
            args.jobs,
            args.json,
        );
    }
    if args.goal != Some(GoalKind::Cases) && args.problem.is_none() {
        for (option, given) in [
            ("--cases", args.cases.is_some()),
            ("--test-cases", args.test_cases.is_some()),
            ("--opcodes", args.opcodes.is_some()),
            ("--registers", args.registers.is_some()),
            ("--constants", args.constants.is_some()),
        ] {
            if given {
                bail!("{option} belongs to --goal cases");
            }
        }
    }
    let problem = match &args.problem {
        Some(name) => Some(problems::load(name)?),
        None => None,
    };
    let budget = problem.as_ref().map(|p| p.spec.budget);
    let cases_goal = args.goal == Some(GoalKind::Cases) || problem.is_some();
    if let (true, Some(seed)) = (args.resume, &args.seed_kernel) {
        eprintln!(
            "pxos: note: the seed kernel {} is not used: --resume continues the experiment from its checkpoint",
            seed.display()
        );
    }
    // Every output is checked before any work: a typo must not cost a whole experiment.
    let outputs = Outputs::check(&args)?;
    // A resumed experiment: one population's, or (with --islands) the islands'.
    let (saved, saved_islands) = match (&args.checkpoint, args.resume, args.islands.islands) {
        (Some(path), true, None) => (Some(load_checkpoint(path)?), None),
        (Some(path), true, Some(_)) => (None, Some(super::evolve_islands::load_checkpoint(path)?)),
        _ => (None, None),
    };
    let saved_config = saved
        .as_ref()
        .map(|s| &s.config)
        .or(saved_islands.as_ref().map(|s| &s.config));
    let saved_goal = match (&saved, &saved_islands) {
        (Some(state), _) => Some(state.goal.as_ref()),
        (_, Some(ring)) => Some(Some(&ring.goal)),
        _ => None,
    };
    let population = args
        .population
        .unwrap_or(budget.map_or(100, |b| b.population));
    let config = match (saved_config, &args.checkpoint) {
        (Some(saved), Some(path)) => resumed_config(&args, saved, path)?,
        _ => Config {
            seed: args.seed.unwrap_or(0),
            population,
            // Tournaments of 3, or of the whole population when it is smaller.
            tournament: Config::default().tournament.min(population),
            generations: args
                .generations
                .unwrap_or(budget.map_or(100, |b| b.generations)),
            fuel: args.fuel.unwrap_or(budget.map_or(1_000, |b| b.fuel)),
            engine: args.engine.unwrap_or(if budget.is_some() {
                EngineKind::Interp
            } else {
                EngineKind::Tiered
            }),
            selection: args.selection.map_or(
                if cases_goal {
                    Selection::Lexicase
                } else {
                    Selection::Tournament
                },
                Selection::from,
            ),
            size_weight: args
                .size_weight
                .unwrap_or(budget.map_or(0.0, |b| b.size_weight)),
            init_length: args
                .init_length
                .unwrap_or(budget.map_or(0, |b| b.init_length)),
            max_len: args.max_len.unwrap_or(1_024),
            rates: MutationRates {
                umad: args.umad.unwrap_or(budget.map_or(0.0, |b| b.umad)),
                ..parse_rates(
                    MutationRates::default(),
                    args.mutation.as_deref(),
                    args.crossover.or(budget.and_then(|b| b.crossover)),
                )?
            },
            ..Config::default()
        },
    };
    config.validate()?;
    let goal = goal_from(&args, config.fuel)?;
    if let (Some(saved_goal), Some(path)) = (saved_goal, &args.checkpoint) {
        match saved_goal.map(|record| (record, goal.compare(record))) {
            Some((_, Err(GoalMismatch::Measure { saved, now }))) => bail!(
                "the experiment in {} was made with picture measure v{saved}; this pxos uses v{now}, and errors of the two measures cannot be compared: resume it with the pxos that started it, or start a new experiment",
                path.display()
            ),
            Some((record, Err(GoalMismatch::Other))) => bail!(
                "the experiment in {} pursues goal {record}, not the goal given now, {}; give the same --goal and targets to resume it, or start a new experiment",
                path.display(),
                goal.record()
            ),
            Some((_, Ok(()))) => {}
            None => eprintln!(
                "pxos: warning: {} records no goal (an older checkpoint); it cannot be checked that --goal {} is the one it was started with",
                path.display(),
                goal.name()
            ),
        }
    }
    let threads = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // A new experiment's seed kernel, which the search must not cut.
    let seed = match saved.is_some() || saved_islands.is_some() {
        true => None,
        false => Some(seed_kernel(&args, problem.is_some())?),
    };
    if let Some(seed) = &seed
        && seed.len() > config.max_len
    {
        let which = match &args.seed_kernel {
            Some(path) => format!("the seed kernel {}", path.display()),
            None => "the seed kernel".to_string(),
        };
        bail!(
            "--max-len {} is smaller than {which} ({} bytes): the search would cut it; give --max-len {} or more",
            config.max_len,
            seed.len(),
            seed.len()
        );
    }
    // Held until the experiment ends: a second pxos on the same log or checkpoint is
    // refused instead of mixing its lines or states with this one's.
    let _locks = outputs.lock(&args)?;
    if let Some(islands) = args.islands.islands {
        let start = match (saved_islands, &seed) {
            (Some(state), _) => super::evolve_islands::Start::Resume(Box::new(state)),
            (None, seed) => super::evolve_islands::Start::Seed(seed.as_deref().unwrap_or(&[])),
        };
        let outputs = super::evolve_islands::Outputs {
            log: args.log.as_deref(),
            out: outputs.out,
            json: args.json,
            checkpoint: args.checkpoint.as_deref(),
        };
        return super::evolve_islands::run(
            &args.islands,
            islands,
            config,
            &goal,
            start,
            threads,
            outputs,
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()?;
    if let Some(path) = &args.checkpoint {
        userfile::remove_stale_temporaries(path);
    }
    let mut evo = match saved {
        Some(mut state) => {
            state.config = config;
            if let Some(log) = &args.log {
                trim_resumed_log(log, state.generation)?;
            }
            Evolution::resume(state, &goal)
        }
        None => {
            let seed = seed.expect("a new experiment has a seed kernel");
            pool.install(|| Evolution::start(config, &goal, &seed))
        }
    };
    let mut log = match &args.log {
        Some(path) => Some(userfile::open_append(path).context("--log")?),
        None => None,
    };
    let mut lineage = match &args.fs {
        Some(root) => {
            let parent = match &args.from_version {
                Some(name) => Some(Store::open(root)?.get(name)?.id),
                None => None,
            };
            let mut lineage = Lineage::new(evo.state.config.seed, parent);
            for best in &evo.state.lineage {
                lineage.record(&mut super::manage::open_mut(root, true)?, best)?;
            }
            Some((root, lineage))
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
    let mut solved = problem.is_some()
        && evo.best().fitness.error == 0.0
        && evo.evaluator.test_error(&evo.best().genome) == Some(0.0);
    let mut plotted = Vec::new();
    while !solved && evo.state.generation < evo.state.config.generations {
        let (line, improved) = pool.install(|| evo.step());
        solved = problem.is_some() && line.best_error == 0.0 && line.test_error == Some(0.0);
        if let (true, Some((root, lineage))) = (improved, &mut lineage) {
            // The store is locked only while it is written.
            lineage.record(&mut super::manage::open_mut(root, true)?, evo.best())?;
        }
        bar.set_message(format!(
            "best error {:.3} cycles {} size {} · {:.0} evals/s",
            line.best_error, line.best_cycles, line.best_size, line.evaluations_per_second
        ));
        bar.inc(1);
        if args.plot.is_some() {
            plotted.push(line.clone());
        }
        if let (Some(f), Some(path)) = (&mut log, &args.log) {
            write_log_line(f, path, &line)?;
        }
        if let Some(path) = &args.checkpoint {
            userfile::write_output(path, &serde_json::to_vec(&evo.state)?)?;
        }
    }
    bar.finish_and_clear();
    let best = evo.best().clone();
    let test_error = evo.evaluator.test_error(&best.genome);
    if let Some(out) = outputs.out {
        out.write(&best.genome).context("--out")?;
    }
    if let Some(png) = outputs.plot {
        let what = match &args.problem {
            Some(name) => format!("--problem {name}"),
            None => format!("--goal {}", goal.name()),
        };
        let title = format!("pxos evolve {what} --seed {}", evo.state.config.seed);
        super::plot::after_evolve(png, args.log.as_deref(), &plotted, title)?;
    }
    let lineage: Vec<_> = evo
        .state
        .lineage
        .iter()
        .map(|i| serde_json::json!({"generation": i.born, "error": i.fitness.error, "cycles": i.fitness.cycles, "size": i.fitness.size}))
        .collect();
    let promoted = match (args.promote, &args.fs) {
        (true, Some(root)) => {
            let mut store = super::manage::open_mut(root, true)?;
            let config = &evo.state.config;
            Some(evolved::promote(
                &mut store,
                &best,
                config.engine,
                config.fuel,
            )?)
        }
        _ => None,
    };
    if args.json {
        let report = serde_json::json!({
            "promoted": promoted,
            "goal": goal.name(),
            "problem": args.problem,
            "selection": evo.state.config.selection.name(),
            "solved": problem.is_some().then_some(solved),
            "test_error": test_error,
            "generations": evo.state.generation,
            "evaluations": evo.evaluator.evaluations,
            "cache_hits": evo.evaluator.cache_hits,
            "best": individual_json(&best),
            "faster": faster_json(&goal, &best),
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
        if let Some(line) = faster_line(&goal, &best) {
            println!("{line}");
        }
        if let Some(t) = test_error {
            println!("error on the held-out test cases: {t}");
        }
        if let (Some(name), true) = (&args.problem, solved) {
            println!(
                "problem {name} solved in generation {}",
                evo.state.generation
            );
        }
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
