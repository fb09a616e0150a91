//! Evolutionary search over kernels (`pxos evolve`): a population of genomes (kernels)
//! is mutated with ISA-aware operators (private `genome`; [`MutationRates`] weighs them),
//! each variant runs with a fuel budget and is scored against a [`Goal`] (input/output
//! cases: [`cases`]); tournaments or lexicase selection ([`Selection`]) pick parents, elites
//! survive. [`problems`] is the shipped suite of program-synthesis problems.
//!
//! Determinism: every random choice about an individual — its parents, crossover and
//! mutations, or in generation 0 its random code — comes from a ChaCha8 stream of its own,
//! derived from the seed, the generation and its index ([`rng_for`]), so individuals are
//! bred in parallel, and evaluated in parallel (a pure function of the genome). The same
//! seed and options give the same result on any machine with any number of threads, and a
//! run resumed from a checkpoint continues exactly as if it had never stopped. A child equal
//! to a member of the population, or to an earlier child, is not run again.
//!
//! Limits: a [`Config`] and a [`Checkpoint`] are checked ([`Config::validate`],
//! [`Checkpoint::validate`]) against the same bounds as the command line's options
//! ([`MAX_POPULATION`], [`MAX_GENERATIONS`], ...), so a damaged or hostile checkpoint gives
//! an error naming the field, never a panic or an allocation beyond the bounds. A
//! checkpoint records its goal ([`GoalRecord`]) so that a resumed run can refuse
//! another.

pub mod cases;
mod genome;
mod goal;
pub mod islands;
pub mod problems;
mod select;

pub use genome::{Alphabet, MutationRates, random_kernel};
pub use goal::{Fitness, Goal, GoalError, GoalMismatch, GoalRecord, Picture, Reference};
pub use select::Selection;

use crate::runtime::engines::EngineKind;
use crate::runtime::host::PxHost;
use pxvm::Machine;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;
use std::time::Instant;

/// The largest population (individuals per generation).
pub const MAX_POPULATION: usize = 100_000;
/// The most generations an experiment may plan.
pub const MAX_GENERATIONS: u64 = 1_000_000_000;
/// The largest weight of one mutation operator.
pub const MAX_WEIGHT: u32 = 1_000_000;
/// The largest `--size-weight`.
pub const MAX_SIZE_WEIGHT: f64 = 1_000_000.0;
/// The longest random kernel generation 0 may start with ([`Config::init_length`]).
pub const MAX_INIT_LENGTH: usize = 1_000;

/// An option or checkpoint field out of its bounds.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {problem}")]
pub struct Invalid {
    /// The field's name in the checkpoint (`population`, `config.max_len`, ...).
    pub field: &'static str,
    /// What is wrong, e.g. "is 0; it must be 1..=65,536".
    pub problem: String,
}

fn check<T: std::fmt::Display + PartialOrd>(
    field: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
    shown: &str,
) -> Result<(), Invalid> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(Invalid {
            field,
            problem: format!("is {value}; it must be {shown}"),
        })
    }
}

/// Options of an experiment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Config {
    pub seed: u64,
    pub population: usize,
    pub generations: u64,
    pub fuel: u64,
    /// The engine every variant runs on.
    #[serde(deserialize_with = "engine_field")]
    pub engine: EngineKind,
    pub elites: usize,
    pub tournament: usize,
    pub max_len: usize,
    pub rates: MutationRates,
    /// How parents are chosen (absent in older checkpoints: tournaments).
    #[serde(default)]
    pub selection: Selection,
    /// Parsimony: `size_weight` x size is added to the error used for ranking, elitism
    /// and tournaments (absent in older checkpoints: 0).
    #[serde(default)]
    pub size_weight: f64,
    /// Generation 0: when above 0, the seed kernel and random kernels of 1 to
    /// `init_length` instructions over the goal's alphabet (a search from scratch, as
    /// linear GP starts); when 0, the seed kernel and its mutants (a search around a
    /// kernel). Absent in older checkpoints: 0.
    #[serde(default)]
    pub init_length: usize,
}

/// `config.engine`, read as [`EngineKind`] reads it; an error names the field.
fn engine_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<EngineKind, D::Error> {
    EngineKind::deserialize(d).map_err(|e| serde::de::Error::custom(format!("config.engine: {e}")))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            seed: 0,
            population: 100,
            generations: 100,
            fuel: 1_000,
            engine: EngineKind::Tiered,
            elites: 2,
            tournament: 3,
            max_len: 1_024,
            rates: MutationRates::default(),
            selection: Selection::Tournament,
            size_weight: 0.0,
            init_length: 0,
        }
    }
}

impl Config {
    /// Check every option against its bounds; the error names the field as a checkpoint
    /// spells it (`config.population`, `config.rates.crossover_percent`, ...).
    pub fn validate(&self) -> Result<(), Invalid> {
        let thousands = |n: u64| crate::util::thousands(n);
        check(
            "config.population",
            self.population,
            2..=MAX_POPULATION,
            &format!("2..={}", thousands(MAX_POPULATION as u64)),
        )?;
        check(
            "config.generations",
            self.generations,
            0..=MAX_GENERATIONS,
            &format!("0..={}", thousands(MAX_GENERATIONS)),
        )?;
        check(
            "config.max_len",
            self.max_len,
            1..=pxvm::MEM_SIZE,
            &format!("1..={}", thousands(pxvm::MEM_SIZE as u64)),
        )?;
        check(
            "config.elites",
            self.elites,
            0..=self.population,
            "0..=config.population",
        )?;
        check(
            "config.init_length",
            self.init_length,
            0..=MAX_INIT_LENGTH,
            &format!("0..={}", thousands(MAX_INIT_LENGTH as u64)),
        )?;
        check(
            "config.tournament",
            self.tournament,
            1..=self.population,
            "1..=config.population",
        )?;
        if !(0.0..=MAX_SIZE_WEIGHT).contains(&self.size_weight) {
            return Err(Invalid {
                field: "config.size_weight",
                problem: format!("is {}; it must be 0..=1,000,000", self.size_weight),
            });
        }
        let r = &self.rates;
        for (field, w) in [
            ("config.rates.operand", r.operand),
            ("config.rates.replace", r.replace),
            ("config.rates.insert", r.insert),
            ("config.rates.delete", r.delete),
            ("config.rates.duplicate", r.duplicate),
            ("config.rates.byte_flip", r.byte_flip),
        ] {
            check(
                field,
                w,
                0..=MAX_WEIGHT,
                &format!("0..={}", thousands(u64::from(MAX_WEIGHT))),
            )?;
        }
        if !(0.0..=1.0).contains(&r.umad) {
            return Err(Invalid {
                field: "config.rates.umad",
                problem: format!("is {}; it must be a rate, 0..=1", r.umad),
            });
        }
        check(
            "config.rates.crossover_percent",
            r.crossover_percent,
            0..=100,
            "a percentage, 0..=100",
        )
    }
}

/// One member of the population.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Individual {
    pub genome: Vec<u8>,
    pub fitness: Fitness,
    /// The generation it was born in.
    pub born: u64,
    /// Its error on each training case (goals with cases only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<f64>,
    /// The genome as mutation sees it, once computed: a child keeps the items it was bred
    /// as, so a parent is decoded only if it came from elsewhere (a checkpoint, a
    /// migration). Derived from `genome`, so neither saved nor compared.
    #[serde(skip)]
    decoded: OnceLock<Vec<genome::Item>>,
}

impl Individual {
    /// A scored genome born in generation `born`, with its items if known (they must be
    /// `genome::items(&genome)`).
    fn new(
        genome: Vec<u8>,
        items: Option<Vec<genome::Item>>,
        scored: Scored,
        born: u64,
    ) -> Individual {
        let decoded = OnceLock::new();
        if let Some(items) = items {
            debug_assert_eq!(items, genome::items(&genome));
            let _ = decoded.set(items);
        }
        Individual {
            genome,
            fitness: scored.fitness,
            born,
            errors: scored.errors,
            decoded,
        }
    }

    /// The genome's items (see [`genome::items`]), decoded on first use.
    fn items(&self) -> &[genome::Item] {
        self.decoded.get_or_init(|| genome::items(&self.genome))
    }
}

impl PartialEq for Individual {
    fn eq(&self, other: &Individual) -> bool {
        self.genome == other.genome
            && self.fitness == other.fitness
            && self.born == other.born
            && self.errors == other.errors
    }
}

/// What one generation looked like (one JSON line of `--log`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GenerationLog {
    pub generation: u64,
    pub best_error: f64,
    pub best_cycles: u64,
    pub best_size: usize,
    pub mean_error: f64,
    /// Distinct genomes over population size.
    pub diversity: f64,
    pub evaluations: u64,
    pub cache_hits: u64,
    pub evaluations_per_second: f64,
    /// The best kernel's error on the held-out test cases (`--test-cases`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_error: Option<f64>,
}

/// The resumable state of an experiment.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub config: Config,
    /// Generations completed.
    pub generation: u64,
    pub population: Vec<Individual>,
    /// The best individual of each generation whose best improved, oldest first.
    pub lineage: Vec<Individual>,
    /// The goal the experiment pursues (absent in checkpoints of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goal: Option<GoalRecord>,
}

impl Checkpoint {
    /// Check a loaded checkpoint as the command line's options are checked, and that it
    /// is whole: as many individuals as the population size, every genome 1 to 65,536
    /// bytes, the generation count in bounds.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.config.validate()?;
        check(
            "generation",
            self.generation,
            0..=MAX_GENERATIONS,
            &format!("0..={}", crate::util::thousands(MAX_GENERATIONS)),
        )?;
        if self.population.len() != self.config.population {
            return Err(Invalid {
                field: "population",
                problem: format!(
                    "holds {} individuals; config.population says {}",
                    self.population.len(),
                    self.config.population
                ),
            });
        }
        if self.generation > self.config.generations {
            return Err(Invalid {
                field: "generation",
                problem: format!(
                    "is {}, past the plan of {} generations (config.generations)",
                    self.generation, self.config.generations
                ),
            });
        }
        for (field, list) in [("population", &self.population), ("lineage", &self.lineage)] {
            for (i, ind) in list.iter().enumerate() {
                ind.check(self.generation).map_err(|problem| Invalid {
                    field,
                    problem: format!("[{i}]{problem}"),
                })?;
            }
        }
        Ok(())
    }
}

impl Individual {
    /// What makes a saved individual impossible in an experiment at `generation`: a
    /// genome that is no kernel, a size that is not the genome's, an error below 0, a
    /// birth after `generation`. The problem starts with the field (`.born is ...`).
    fn check(&self, generation: u64) -> Result<(), String> {
        let len = self.genome.len();
        if len == 0 || len > pxvm::MEM_SIZE {
            return Err(format!(
                " has a genome of {len} bytes; a kernel is 1..=65,536 bytes"
            ));
        }
        if self.fitness.size != len {
            return Err(format!(
                ".fitness.size is {}; its genome has {len} bytes",
                self.fitness.size
            ));
        }
        // `-0.0` is 0; JSON holds no NaN or infinity, but a NaN is refused all the same.
        let negative = |e: f64| e.is_nan() || e < 0.0;
        if negative(self.fitness.error) {
            return Err(format!(
                ".fitness.error is {}; an error is 0 or more",
                self.fitness.error
            ));
        }
        if let Some((c, e)) = self.errors.iter().enumerate().find(|(_, e)| negative(**e)) {
            return Err(format!(".errors[{c}] is {e}; an error is 0 or more"));
        }
        if self.born > generation {
            return Err(format!(
                ".born is {}, after the checkpoint's generation {generation}",
                self.born
            ));
        }
        Ok(())
    }
}

/// Evaluates genomes against a goal. A genome equal to one already scored in the
/// population, or earlier in the same batch, takes that score instead of running again
/// (a score is a pure function of the genome).
///
/// Evaluation is the experiment's hot loop, so nothing in it is rebuilt per genome: each
/// worker thread keeps its [`Bench`]es (machine, engine, host) from batch to batch in a
/// small pool, the interpreter's machine is reloaded by clearing only what the last run
/// wrote ([`Machine::reload`]), the host is recycled ([`PxHost::recycle`]), genomes are
/// matched by a fast non-cryptographic hash over borrowed bytes (no copy), and the
/// interpreter skips the rest of a run caught in a cycle that touches neither memory nor
/// the host ([`pxvm::interp::run_skipping_cycles`]: the same result as running it out) —
/// most random and evolved kernels that do not halt end that way. There is no cache
/// across generations: in a run of 1,000 random 100-instruction kernels 8 % of children
/// repeat a genome, nearly all of them one in the population, and keeping every genome
/// ever scored cost more in copies and rehashing than it saved.
#[allow(missing_debug_implementations)] // holds a goal
pub struct Evaluator<'g> {
    goal: &'g Goal,
    engine: EngineKind,
    fuel: u64,
    pub evaluations: u64,
    pub cache_hits: u64,
}

/// One worker's machine, engine and host, reused from genome to genome.
///
/// The machine is reloaded by clearing only what the last (interpreted) run wrote
/// ([`Machine::reload`]); the host is recycled ([`PxHost::recycle`]), so scoring an
/// `output`, `draw` or `faster` genome allocates nothing but its output lines. A JIT engine
/// is built afresh for each genome: its hotness counts and code cache describe one
/// program, and carried over to unrelated genomes they would make it compile code no
/// genome runs long enough to pay for.
#[allow(missing_debug_implementations)] // holds an engine
pub struct Bench {
    machine: Machine,
    kind: EngineKind,
    host: PxHost,
}

impl Bench {
    /// A machine and an engine of `kind`.
    pub fn new(kind: EngineKind) -> Bench {
        Bench {
            machine: Machine::new(&[]).expect("empty kernel fits"),
            kind,
            host: PxHost::default(),
        }
    }

    /// Load `genome` as on a fresh machine; `false` if it does not fit.
    fn load(&mut self, genome: &[u8]) -> bool {
        // The interpreter writes memory only through the machine, so clearing what it
        // wrote is enough; after compiled code, everything is cleared.
        let loaded = match self.kind {
            EngineKind::Interp => self.machine.reload(genome),
            EngineKind::Jit | EngineKind::Tiered => self.machine.reset(genome),
        };
        loaded.is_ok()
    }

    /// Run the loaded genome against `host` for at most `fuel` instructions.
    fn run(&mut self, host: &mut PxHost, fuel: u64) -> pxvm::Exit {
        run_on(self.kind, &mut self.machine, host, fuel)
    }

    /// Run the loaded genome against the bench's own host, recycled as a default host
    /// keeping at most `lines` output lines.
    fn run_own_host(&mut self, lines: usize, fuel: u64) -> pxvm::Exit {
        self.host.recycle(lines);
        run_on(self.kind, &mut self.machine, &mut self.host, fuel)
    }
}

fn run_on(kind: EngineKind, machine: &mut Machine, host: &mut PxHost, fuel: u64) -> pxvm::Exit {
    match kind {
        EngineKind::Interp => pxvm::interp::run_skipping_cycles(machine, host, fuel),
        EngineKind::Jit | EngineKind::Tiered => kind.build().run(machine, host, fuel),
    }
}

thread_local! {
    /// Benches of finished batches, kept for the thread's next batch (at most
    /// [`POOL_LIMIT`]), so that scoring a generation does not allocate and clear 64 KiB
    /// machines again.
    static POOL: std::cell::RefCell<Vec<Bench>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most benches a thread keeps between batches.
const POOL_LIMIT: usize = 4;

/// A bench taken from the thread's pool, given back when dropped.
struct Pooled(Option<Bench>);

impl Pooled {
    fn take(kind: EngineKind) -> Pooled {
        let bench = POOL
            .with(|pool| {
                let mut pool = pool.borrow_mut();
                let i = pool.iter().position(|b| b.kind == kind)?;
                Some(pool.swap_remove(i))
            })
            .unwrap_or_else(|| Bench::new(kind));
        Pooled(Some(bench))
    }

    fn bench(&mut self) -> &mut Bench {
        self.0.as_mut().expect("a pooled bench until dropped")
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(bench) = self.0.take() {
            // A thread being torn down has no pool to return to; the bench is dropped.
            let _ = POOL.try_with(|pool| {
                let mut pool = pool.borrow_mut();
                if pool.len() < POOL_LIMIT {
                    pool.push(bench);
                }
            });
        }
    }
}

impl<'g> Evaluator<'g> {
    pub fn new(goal: &'g Goal, engine: EngineKind, fuel: u64) -> Evaluator<'g> {
        Evaluator {
            goal,
            engine,
            fuel,
            evaluations: 0,
            cache_hits: 0,
        }
    }

    /// A machine and engine to score genomes with (one per thread).
    pub fn bench(&self) -> Bench {
        Bench::new(self.engine)
    }

    /// Score one genome (no cache).
    pub fn score(&self, bench: &mut Bench, genome: &[u8]) -> Scored {
        if let Goal::Cases(c) = self.goal {
            return self.score_cases(bench, genome, &c.train);
        }
        if !bench.load(genome) {
            return Scored::unloadable(genome.len());
        }
        let exit = bench.run_own_host(self.goal.max_output_lines(), self.fuel);
        Scored {
            fitness: self
                .goal
                .score(exit, &bench.machine, &bench.host.sysout, genome.len()),
            errors: Vec::new(),
        }
    }

    /// Score one genome on `cases`: one run per case from the case's starting state, the
    /// error the sum of the cases' errors, the cycles the sum of the runs' cycles.
    pub fn score_cases(&self, bench: &mut Bench, genome: &[u8], cases: &[cases::Case]) -> Scored {
        let lines = self.goal.max_output_lines();
        let mut errors = Vec::with_capacity(cases.len());
        let mut cycles = 0u64;
        for case in cases {
            if !bench.load(genome) {
                return Scored::unloadable(genome.len());
            }
            let mut host = case.prepare(&mut bench.machine, lines);
            let exit = bench.run(&mut host, self.fuel);
            cycles = cycles.saturating_add(bench.machine.cycles);
            errors.push(case.error(exit, &bench.machine, &host.sysout));
        }
        Scored {
            fitness: Fitness {
                error: errors.iter().sum(),
                cycles,
                size: genome.len(),
            },
            errors,
        }
    }

    /// The error of `genome` on the goal's held-out test cases (`None` without any).
    pub fn test_error(&self, genome: &[u8]) -> Option<f64> {
        let Goal::Cases(c) = self.goal else {
            return None;
        };
        if c.test.is_empty() {
            return None;
        }
        Some(
            self.score_cases(&mut self.bench(), genome, &c.test)
                .fitness
                .error,
        )
    }

    /// Score many genomes in parallel: a genome equal to one of `known` (scored by this
    /// evaluator's goal before) takes its score, and each distinct other genome runs once.
    pub fn score_all(&mut self, genomes: &[Vec<u8>], known: &[Individual]) -> Vec<Scored> {
        /// Where a genome's score comes from.
        #[derive(Clone, Copy)]
        enum Source {
            Known(usize),
            Run(usize),
        }
        let mut sources: HashMap<&[u8], Source, rustc_hash::FxBuildHasher> =
            HashMap::with_capacity_and_hasher(known.len() + genomes.len(), Default::default());
        for (i, ind) in known.iter().enumerate() {
            sources.entry(&ind.genome).or_insert(Source::Known(i));
        }
        let mut todo: Vec<&[u8]> = Vec::new();
        let source: Vec<Source> = genomes
            .iter()
            .map(|g| {
                *sources.entry(g).or_insert_with(|| {
                    todo.push(g);
                    Source::Run(todo.len() - 1)
                })
            })
            .collect();
        let this = &*self;
        let scored: Vec<Scored> = todo
            .par_iter()
            .map_init(
                || Pooled::take(this.engine),
                |bench, g| this.score(bench.bench(), g),
            )
            .collect();
        self.evaluations += todo.len() as u64;
        self.cache_hits += (genomes.len() - todo.len()) as u64;
        source
            .into_iter()
            .map(|s| match s {
                Source::Known(i) => Scored {
                    fitness: known[i].fitness,
                    errors: known[i].errors.clone(),
                },
                Source::Run(j) => scored[j].clone(),
            })
            .collect()
    }
}

/// A genome's score: its fitness and, for goals with cases, its error on each case.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    pub fitness: Fitness,
    pub errors: Vec<f64>,
}

impl Scored {
    fn unloadable(size: usize) -> Scored {
        Scored {
            fitness: Fitness {
                error: f64::MAX,
                cycles: 0,
                size,
            },
            errors: Vec::new(),
        }
    }
}

/// The random stream for individual `index` of generation `generation`: the seed's ChaCha8
/// stream number `generation`, from word `index` x 2^32 (far more words than breeding one
/// child draws), so it depends on nothing drawn for any other individual.
fn rng_for(seed: u64, generation: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(generation);
    rng.set_word_pos((index as u128) << 32);
    rng
}

/// An experiment in progress.
#[allow(missing_debug_implementations)] // holds the evaluator's cache
pub struct Evolution<'g> {
    pub state: Checkpoint,
    pub evaluator: Evaluator<'g>,
    goal: &'g Goal,
    alphabet: Alphabet,
}

impl<'g> Evolution<'g> {
    /// A new experiment from a seed kernel: generation 0 is the seed and its mutants, or
    /// the seed and random kernels (see [`Config::init_length`]).
    pub fn start(config: Config, goal: &'g Goal, seed_kernel: &[u8]) -> Evolution<'g> {
        let alphabet = goal.alphabet(config.max_len);
        let others = (1..config.population.max(2)).into_par_iter().map(|index| {
            let mut rng = rng_for(config.seed, 0, index);
            if config.init_length > 0 {
                let len = rng.random_range(1..=config.init_length);
                genome::random_effective_kernel(&mut rng, len, &alphabet)
            } else {
                genome::mutate(&mut rng, seed_kernel, &config.rates, &alphabet)
            }
        });
        let genomes: Vec<Vec<u8>> = rayon::iter::once(seed_kernel.to_vec())
            .chain(others)
            .collect();
        let mut evaluator = Evaluator::new(goal, config.engine, config.fuel);
        let fitness = evaluator.score_all(&genomes, &[]);
        let mut population: Vec<Individual> = genomes
            .into_iter()
            .zip(fitness)
            .map(|(genome, s)| Individual::new(genome, None, s, 0))
            .collect();
        sort(goal, config.size_weight, &mut population);
        let lineage = vec![population[0].clone()];
        Evolution {
            state: Checkpoint {
                config,
                generation: 0,
                population,
                lineage,
                goal: Some(goal.record()),
            },
            evaluator,
            goal,
            alphabet,
        }
    }

    /// Continue an experiment from a checkpoint (check it first with
    /// [`Checkpoint::validate`]; a checkpoint without a goal record gets `goal`'s).
    pub fn resume(mut state: Checkpoint, goal: &'g Goal) -> Evolution<'g> {
        state.goal.get_or_insert_with(|| goal.record());
        let alphabet = goal.alphabet(state.config.max_len);
        let evaluator = Evaluator::new(goal, state.config.engine, state.config.fuel);
        Evolution {
            state,
            evaluator,
            goal,
            alphabet,
        }
    }

    /// The best individual so far.
    ///
    /// Every constructor leaves at least two individuals ([`Checkpoint::validate`]
    /// refuses an empty population).
    pub fn best(&self) -> &Individual {
        &self.state.population[0]
    }

    /// The index of a tournament's winner in `pop`.
    fn tournament(&self, rng: &mut ChaCha8Rng, pop: &[Individual]) -> usize {
        let w = self.state.config.size_weight;
        let mut best = rng.random_range(0..pop.len());
        for _ in 1..self.state.config.tournament.max(1) {
            let other = rng.random_range(0..pop.len());
            if better(self.goal, w, &pop[other].fitness, &pop[best].fitness) {
                best = other;
            }
        }
        best
    }

    /// The index of a parent in `pop`.
    fn parent(
        &self,
        rng: &mut ChaCha8Rng,
        pop: &[Individual],
        lexicase: Option<&select::Lexicase>,
    ) -> usize {
        match lexicase {
            None => self.tournament(rng, pop),
            Some(lexicase) => lexicase.select(rng, pop, self.state.config.size_weight > 0.0),
        }
    }

    /// Child `index` of the next generation: a parent (or a crossover of two) mutated one
    /// to three times, every choice drawn from the child's own stream.
    fn breed(
        &self,
        index: usize,
        generation: u64,
        pop: &[Individual],
        lexicase: Option<&select::Lexicase>,
    ) -> (Vec<u8>, Vec<genome::Item>) {
        let config = &self.state.config;
        let mut rng = rng_for(config.seed, generation, index);
        let a = self.parent(&mut rng, pop, lexicase);
        let mut child = if rng.random_range(0..100) < config.rates.crossover_percent {
            let b = self.parent(&mut rng, pop, lexicase);
            genome::crossover_items(&mut rng, pop[a].items(), pop[b].items(), &self.alphabet)
        } else {
            // Room for the insertions to come without moving.
            let mut copy = Vec::with_capacity(pop[a].items().len() + 8);
            copy.extend_from_slice(pop[a].items());
            copy
        };
        if config.rates.umad > 0.0 {
            genome::umad(&mut rng, &mut child, config.rates.umad, &self.alphabet);
        } else {
            let mutations =
                1 + usize::from(rng.random_bool(0.3)) + usize::from(rng.random_bool(0.1));
            for _ in 0..mutations {
                genome::mutate_items(&mut rng, &mut child, &config.rates, &self.alphabet);
            }
        }
        (genome::encode(&child), child)
    }

    /// Breed and score one generation. Returns its log line and whether the best improved.
    pub fn step(&mut self) -> (GenerationLog, bool) {
        let start = Instant::now();
        let (evals0, hits0) = (self.evaluator.evaluations, self.evaluator.cache_hits);
        let generation = self.state.generation.saturating_add(1);
        let config = self.state.config.clone();
        let pop = &self.state.population;
        let elites = config.elites.min(pop.len());
        let lexicase = match config.selection {
            Selection::Tournament => None,
            s => Some(select::Lexicase::new(pop, s)),
        };
        let (children, items): (Vec<Vec<u8>>, Vec<Vec<genome::Item>>) =
            (0..config.population.max(2).saturating_sub(elites))
                .into_par_iter()
                .map(|index| self.breed(index, generation, pop, lexicase.as_ref()))
                .unzip();
        let fitness = self.evaluator.score_all(&children, pop);
        let mut next: Vec<Individual> = pop[..elites].to_vec();
        next.extend(
            children
                .into_iter()
                .zip(items)
                .zip(fitness)
                .map(|((genome, items), s)| Individual::new(genome, Some(items), s, generation)),
        );
        sort(self.goal, config.size_weight, &mut next);
        let previous_best = self.state.population[0].fitness;
        self.state.population = next;
        self.state.generation = generation;
        let improved = better(
            self.goal,
            config.size_weight,
            &self.best().fitness,
            &previous_best,
        );
        if improved {
            self.state.lineage.push(self.best().clone());
        }
        let pop = &self.state.population;
        let distinct: HashSet<&Vec<u8>, rustc_hash::FxBuildHasher> =
            pop.iter().map(|i| &i.genome).collect();
        let finite: Vec<f64> = pop
            .iter()
            .map(|i| i.fitness.error)
            .filter(|e| e.is_finite() && *e < f64::MAX)
            .collect();
        let evaluations = self.evaluator.evaluations - evals0;
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        let best = self.best().fitness;
        (
            GenerationLog {
                generation,
                best_error: best.error,
                best_cycles: best.cycles,
                best_size: best.size,
                mean_error: finite.iter().sum::<f64>() / finite.len().max(1) as f64,
                diversity: distinct.len() as f64 / pop.len() as f64,
                evaluations,
                cache_hits: self.evaluator.cache_hits - hits0,
                evaluations_per_second: evaluations as f64 / secs,
                test_error: self.evaluator.test_error(&self.best().genome),
            },
            improved,
        )
    }
}

/// Where a fitness ranks, as a key whose order is the ranking: the goal's order, with
/// `size_weight` x size added to the error (compared as `f64::total_cmp` compares, through
/// the same bit trick, so that keys are plain integers).
fn rank_key(goal: &Goal, size_weight: f64, f: &Fitness) -> (i64, u64, u64) {
    let (error, second, third) = goal.order(f);
    let error = if size_weight > 0.0 && error < f64::MAX {
        error + size_weight * f.size as f64
    } else {
        error
    };
    let bits = error.to_bits() as i64;
    (bits ^ (((bits >> 63) as u64) >> 1) as i64, second, third)
}

/// The ranking order of two fitnesses (see [`rank_key`]).
fn compare(goal: &Goal, size_weight: f64, a: &Fitness, b: &Fitness) -> std::cmp::Ordering {
    rank_key(goal, size_weight, a).cmp(&rank_key(goal, size_weight, b))
}

/// Whether `a` ranks strictly before `b` (see [`compare`]).
fn better(goal: &Goal, size_weight: f64, a: &Fitness, b: &Fitness) -> bool {
    compare(goal, size_weight, a, b).is_lt()
}

/// Best first; ties keep their order (a stable sort keeps runs deterministic).
fn sort(goal: &Goal, size_weight: f64, pop: &mut [Individual]) {
    pop.sort_by_cached_key(|i| rank_key(goal, size_weight, &i.fitness));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed() -> Vec<u8> {
        pxvm::asm::assemble("IMM32 R1, 1\nSYSCALL 10\nHALT\n", "seed.asm").unwrap()
    }

    fn target() -> Goal {
        Goal::Output(["1", "2", "3"].iter().map(|s| s.to_string()).collect())
    }

    /// Run `f` on a pool of `threads` threads (results must not depend on the count).
    fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(f)
    }

    /// An experiment planned for `generations`, stopped after `steps`.
    fn evolve(threads: usize, generations: u64, steps: u64) -> Checkpoint {
        let goal = target();
        on_threads(threads, || {
            let config = Config {
                seed: 7,
                population: 40,
                generations,
                engine: EngineKind::Interp,
                ..Config::default()
            };
            let mut evo = Evolution::start(config, &goal, &seed());
            for _ in 0..steps {
                evo.step();
            }
            evo.state
        })
    }

    /// A bench reused from genome to genome (its machine reloaded, its host recycled)
    /// scores every genome as a fresh bench does: random kernels over the whole ISA and
    /// every syscall, and a genome that opens a file its predecessor created.
    #[test]
    fn a_reused_bench_scores_as_a_fresh_one() {
        let goal = Goal::Output((0..10).map(|i| i.to_string()).collect());
        let alphabet = Alphabet::any(
            pxvm::syscalls::NAMED.iter().map(|&(_, n)| n).collect(),
            4096,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut genomes: Vec<Vec<u8>> = (0..300)
            .map(|i| random_kernel(&mut rng, 20 + i % 150, &alphabet))
            .collect();
        let asm = |src: &str| pxvm::asm::assemble(src, "t.asm").unwrap();
        genomes.push(asm("IMM32 R1, 5\nIMM32 R2, 2\nSYSCALL 20\nHALT\n"));
        genomes.push(asm(
            "IMM32 R1, 5\nIMM32 R2, 0\nSYSCALL 20\nMOV R1, R0\nSYSCALL 10\nHALT\n",
        ));
        for engine in [EngineKind::Interp, EngineKind::Tiered] {
            let evaluator = Evaluator::new(&goal, engine, 1_000);
            let mut reused = evaluator.bench();
            for g in &genomes {
                let fresh = evaluator.score(&mut evaluator.bench(), g);
                assert_eq!(evaluator.score(&mut reused, g), fresh, "{engine}: {g:?}");
            }
        }
    }

    /// The integer rank keys order errors as `f64::total_cmp` does.
    #[test]
    fn rank_keys_order_errors_as_total_cmp() {
        let goal = target();
        let errors = [
            -f64::MAX,
            -2.5,
            -0.0,
            0.0,
            1e-300,
            0.5,
            1.0,
            7.25,
            1e300,
            f64::MAX,
            f64::INFINITY,
        ];
        let fitness = |error| Fitness {
            error,
            cycles: 3,
            size: 9,
        };
        for a in errors {
            for b in errors {
                let key = |e| rank_key(&goal, 0.0, &fitness(e)).0;
                assert_eq!(key(a).cmp(&key(b)), a.total_cmp(&b), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn same_seed_same_result_whatever_the_threads() {
        assert_eq!(evolve(1, 15, 15), evolve(2, 15, 15));
    }

    #[test]
    fn resuming_from_a_checkpoint_continues_exactly() {
        let goal = target();
        let whole = evolve(2, 12, 12);
        let half = evolve(2, 12, 6);
        let json = serde_json::to_string(&half).unwrap();
        let restored: Checkpoint = serde_json::from_str(&json).unwrap();
        let mut evo = Evolution::resume(restored, &goal);
        for _ in 0..6 {
            evo.step();
        }
        assert_eq!(evo.state, whole);
    }

    /// A lexicase run on the `absolute` problem, planned for 10 generations, stopped after
    /// `steps`.
    fn lexicase(threads: usize, steps: u64, resume_at: Option<u64>) -> Checkpoint {
        let problem = problems::load("absolute").unwrap();
        let goal = Goal::Cases(problem.goal);
        on_threads(threads, || {
            let config = Config {
                seed: 11,
                population: 40,
                generations: 10,
                engine: EngineKind::Interp,
                selection: Selection::EpsilonLexicase,
                size_weight: 0.01,
                ..Config::default()
            };
            let mut evo = Evolution::start(config, &goal, &[0]);
            for s in 0..steps {
                if Some(s) == resume_at {
                    let json = serde_json::to_string(&evo.state).unwrap();
                    evo = Evolution::resume(serde_json::from_str(&json).unwrap(), &goal);
                }
                let (line, _) = evo.step();
                assert!(line.test_error.is_some());
            }
            evo.state
        })
    }

    #[test]
    fn lexicase_on_cases_is_deterministic_across_threads_and_resumes() {
        let one = lexicase(1, 10, None);
        assert_eq!(one, lexicase(2, 10, None));
        assert_eq!(one, lexicase(2, 10, Some(4)));
        assert!(one.population.iter().all(|i| i.errors.len() == 40));
        assert!(one.lineage.len() >= 2, "the search improved");
    }

    #[test]
    fn the_readme_draw_example_improves_on_its_first_generation() {
        let asm = |source: &str| pxvm::asm::assemble(source, "t").unwrap();
        let target = asm(include_str!("../../../kernels/evolve/draw_target.asm"));
        let mut m = Machine::new(&target).unwrap();
        let mut host = PxHost::default();
        assert_eq!(
            pxvm::interp::run(&mut m, &mut host, 1_000),
            pxvm::Exit::Halt
        );
        let image = crate::tools::render::render(&host.sysout).unwrap();
        let goal = Goal::Draw(goal::Picture {
            width: image.width(),
            height: image.height(),
            rgba: image.rgba().to_vec(),
        });
        let seed = asm(include_str!("../../../kernels/evolve/draw_seed.asm"));
        let config = Config {
            population: 60,
            generations: 20,
            engine: EngineKind::Interp,
            ..Config::default()
        };
        let mut evo = Evolution::start(config, &goal, &seed);
        for _ in 0..20 {
            evo.step();
        }
        // With a measure whose coarsest scale was 128 pixels, generation 0's best was the
        // empty canvas (every square the seed's mutants drew scored worse) and no child
        // ever beat it.
        let first = evo.state.lineage.first().unwrap().fitness.error;
        let best = evo.best().fitness.error;
        assert!(best < 0.9 * first, "no progress: {first} -> {best}");
        assert!(evo.best().genome.len() > 1, "the best kernel draws nothing");
    }

    #[test]
    fn evolution_makes_progress_on_a_small_output_goal() {
        let state = evolve(2, 40, 40);
        let first = state.lineage.first().unwrap().fitness.error;
        let best = state.population[0].fitness.error;
        assert!(best < first, "no progress: {first} -> {best}");
    }
}
