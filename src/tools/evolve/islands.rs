//! Islands: several populations evolving side by side, exchanging their best individuals
//! along a ring every few generations (island `i` receives from island `i - 1`), which
//! keeps more diversity than one large population. An [`Archipelago`] runs every island in
//! one process; [`run_island`] runs one island of the ring in this process and exchanges
//! migrants with the others through a shared folder ([`FolderExchange`]) — one island per
//! Slurm array task or Kubernetes Indexed Job pod.
//!
//! Determinism: island `i` evolves from its own seed ([`island_seed`]; island 0 keeps the
//! experiment's seed, so one island is the plain run), migration happens only at
//! generation boundaries, and an island's emigrants are a function of its population. So
//! for the same seed, options and island count, the islands of an [`Archipelago`] and the
//! same islands run as separate processes go through exactly the same populations.
//!
//! The folder exchange writes each island's emigrants for generation `g` as one file
//! (atomically, so a reader never sees half of it) under a folder named after the run's
//! key (a hash of the options, so files of another experiment are never mixed in), and
//! waits for its neighbour's file with a timeout: a missing neighbour is reported, not
//! waited on forever.
//!
//! Checkpoints ([`IslandsCheckpoint`]): every island's state (a ring) or one island's
//! (`--island I`), taken at a generation boundary — after the generation's migration — with
//! the ring's options and goal, so a resumed experiment continues exactly. A resumed island
//! process runs its generations after the checkpoint again from the same population, so it
//! writes the same migrants files again (an atomic overwrite with identical content) and
//! reads its neighbour's files of those generations again (unchanged: they are never
//! removed, and for one run key and generation there is only one content). The run key
//! leaves out the generation plan, so an island stopped at `--generations k` and resumed
//! with a longer plan meets its neighbours in the same folder.

use super::{Checkpoint, Config, Evolution, Individual, Invalid, check, sort};
use crate::tools::evolve::goal::{Goal, GoalRecord};
use crate::util::{FsError, atomic, nofollow, sha256_hex};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most islands an experiment may have.
pub const MAX_ISLANDS: usize = 1_024;

/// When and how many individuals move between islands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    /// Migrate after every generation that is a multiple of this (at least 1).
    pub every: u64,
    /// How many of an island's best individuals go to the next island, replacing its
    /// worst ones (at most the population minus one).
    pub migrants: usize,
}

impl Migration {
    /// Whether migration happens right after `generation`.
    pub fn due(&self, generation: u64) -> bool {
        self.every > 0 && generation > 0 && generation.is_multiple_of(self.every)
    }
}

/// The seed of island `island` of an experiment seeded with `seed`: island 0 keeps it.
pub fn island_seed(seed: u64, island: usize) -> u64 {
    seed.wrapping_add((island as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The configuration of island `island`: the experiment's, with the island's seed.
pub fn island_config(config: &Config, island: usize) -> Config {
    Config {
        seed: island_seed(config.seed, island),
        ..config.clone()
    }
}

impl Evolution<'_> {
    /// This island's emigrants: copies of its `count` best individuals, best first.
    pub fn emigrants(&self, count: usize) -> Vec<Individual> {
        self.state.population.iter().take(count).cloned().collect()
    }

    /// Take `incoming` individuals in place of the worst ones (never the best one), then
    /// rank the population again. The individuals keep the fitness they were scored with
    /// (scoring is a pure function of the genome, the same on every island).
    pub fn immigrate(&mut self, incoming: &[Individual]) {
        let pop = &mut self.state.population;
        let room = pop.len().saturating_sub(1);
        let take = incoming.len().min(room);
        pop.truncate(pop.len() - take);
        pop.extend_from_slice(&incoming[..take]);
        sort(self.goal, self.state.config.size_weight, pop);
    }
}

/// Every island of a ring in one process.
#[allow(missing_debug_implementations)] // holds evaluators' caches
pub struct Archipelago<'g> {
    pub islands: Vec<Evolution<'g>>,
    pub migration: Migration,
}

impl<'g> Archipelago<'g> {
    /// `count` islands, each started from `seed_kernel` with its own seed.
    pub fn start(
        config: &Config,
        count: usize,
        migration: Migration,
        goal: &'g Goal,
        seed_kernel: &[u8],
    ) -> Archipelago<'g> {
        let islands = (0..count.max(1))
            .map(|i| Evolution::start(island_config(config, i), goal, seed_kernel))
            .collect();
        Archipelago { islands, migration }
    }

    /// Continue the ring saved in `checkpoint` (check it first with
    /// [`IslandsCheckpoint::validate`]; it holds every island).
    pub fn resume(checkpoint: IslandsCheckpoint, goal: &'g Goal) -> Archipelago<'g> {
        let islands = checkpoint
            .states
            .into_iter()
            .map(|state| Evolution::resume(state, goal))
            .collect();
        Archipelago {
            islands,
            migration: checkpoint.migration,
        }
    }

    /// One generation on every island (in island order), then migration if it is due.
    /// Returns each island's log line and whether its best improved.
    pub fn step(&mut self) -> Vec<(super::GenerationLog, bool)> {
        let logs: Vec<_> = self
            .islands
            .iter_mut()
            .map(|island| island.step())
            .collect();
        let generation = self.islands[0].state.generation;
        if self.migration.due(generation) && self.islands.len() > 1 {
            let outgoing: Vec<Vec<Individual>> = self
                .islands
                .iter()
                .map(|island| island.emigrants(self.migration.migrants))
                .collect();
            let n = self.islands.len();
            for (i, island) in self.islands.iter_mut().enumerate() {
                island.immigrate(&outgoing[(i + n - 1) % n]);
            }
        }
        logs
    }

    /// The island holding the best individual (the lowest index among equals) and that
    /// individual.
    pub fn best(&self) -> (usize, &Individual) {
        let mut best = 0;
        for (i, island) in self.islands.iter().enumerate().skip(1) {
            let lead = &self.islands[best];
            let w = lead.state.config.size_weight;
            if super::better(lead.goal, w, &island.best().fitness, &lead.best().fitness) {
                best = i;
            }
        }
        (best, self.islands[best].best())
    }
}

/// Why an island could not exchange its migrants.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Fs(#[from] FsError),
    #[error("island {from}'s migrants for generation {generation} did not arrive within {} s (waited for {}); is that island's task running?", timeout.as_secs(), path.display())]
    Missing {
        from: usize,
        generation: u64,
        timeout: Duration,
        path: PathBuf,
    },
    #[error("{}: {problem}", path.display())]
    Damaged { path: PathBuf, problem: String },
}

/// The largest migrants file read (a hostile or damaged one is refused, not read whole).
const MAX_MIGRANTS_BYTES: u64 = 256 << 20;

/// Exchanging migrants with the neighbours through a folder every island can reach.
#[derive(Debug)]
pub struct FolderExchange {
    folder: PathBuf,
    island: usize,
    islands: usize,
    timeout: Duration,
    poll: Duration,
}

impl FolderExchange {
    /// The exchange of island `island` of `islands` for the experiment `run_key` (see
    /// [`run_key`]), in `root/<run_key>/`.
    pub fn new(
        root: &Path,
        run_key: &str,
        island: usize,
        islands: usize,
        timeout: Duration,
    ) -> Result<FolderExchange, ExchangeError> {
        nofollow::check_folder(root)?;
        let folder = root.join(run_key);
        atomic::create_dir(&folder)?;
        Ok(FolderExchange {
            folder,
            island,
            islands,
            timeout,
            poll: Duration::from_millis(20),
        })
    }

    fn file(&self, generation: u64, island: usize) -> PathBuf {
        self.folder
            .join(format!("g{generation:010}-island{island:04}.json"))
    }

    /// Publish this island's `outgoing` migrants for `generation` and return the ones its
    /// neighbour (island `i - 1`) published for the same generation.
    pub fn swap(
        &self,
        generation: u64,
        outgoing: &[Individual],
    ) -> Result<Vec<Individual>, ExchangeError> {
        let bytes = serde_json::to_vec(outgoing).expect("individuals serialise");
        atomic::write_atomic(&self.file(generation, self.island), &bytes)?;
        let from = (self.island + self.islands - 1) % self.islands;
        let path = self.file(generation, from);
        let start = Instant::now();
        loop {
            match nofollow::read_regular(&path, MAX_MIGRANTS_BYTES) {
                Ok(Ok(bytes)) => return parse_migrants(&path, &bytes),
                Ok(Err(size)) => {
                    return Err(ExchangeError::Damaged {
                        path,
                        problem: format!("is {size} bytes, more than a migrants file holds"),
                    });
                }
                Err(FsError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            if start.elapsed() >= self.timeout {
                return Err(ExchangeError::Missing {
                    from,
                    generation,
                    timeout: self.timeout,
                    path,
                });
            }
            std::thread::sleep(self.poll);
        }
    }
}

fn parse_migrants(path: &Path, bytes: &[u8]) -> Result<Vec<Individual>, ExchangeError> {
    let damaged = |problem: String| ExchangeError::Damaged {
        path: path.to_path_buf(),
        problem,
    };
    let migrants: Vec<Individual> =
        serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
    if let Some(bad) = migrants
        .iter()
        .find(|m| m.genome.is_empty() || m.genome.len() > pxvm::MEM_SIZE)
    {
        return Err(damaged(format!(
            "holds a genome of {} bytes; a kernel holds 1 to 65,536",
            bad.genome.len()
        )));
    }
    Ok(migrants)
}

/// The key of an island experiment: the same for every island of one run (the options,
/// the goal, the island count and the migration), different for any other run, so two
/// experiments sharing an exchange folder never read each other's migrants. The
/// generation plan is left out: it does not change any generation's populations, and an
/// island stopped early and resumed with a longer plan is still the same run.
pub fn run_key(config: &Config, goal: &Goal, islands: usize, migration: Migration) -> String {
    let text = serde_json::json!({
        "config": Config {
            generations: 0,
            ..config.clone()
        },
        "goal": goal.record(),
        "islands": islands,
        "migration": migration,
    })
    .to_string();
    sha256_hex(text.as_bytes())[..16].to_string()
}

/// Run island `exchange.island` for `generations` generations (from where `evolution`
/// stands), swapping migrants through `exchange` whenever `migration` is due. `each` sees
/// every generation's log line as soon as the generation is bred (before its migration),
/// `boundary` the island after each generation's migration (where a checkpoint is taken);
/// an error of either stops the run.
pub fn run_island<E: From<ExchangeError>>(
    evolution: &mut Evolution<'_>,
    migration: Migration,
    exchange: &FolderExchange,
    generations: u64,
    mut each: impl FnMut(&super::GenerationLog, bool) -> Result<(), E>,
    mut boundary: impl FnMut(&Evolution<'_>) -> Result<(), E>,
) -> Result<(), E> {
    while evolution.state.generation < generations {
        let (log, improved) = evolution.step();
        each(&log, improved)?;
        let generation = evolution.state.generation;
        if migration.due(generation) && exchange.islands > 1 {
            let incoming = exchange.swap(generation, &evolution.emigrants(migration.migrants))?;
            evolution.immigrate(&incoming);
        }
        boundary(evolution)?;
    }
    Ok(())
}

/// The resumable state of an island experiment: every island of a ring run in one process,
/// or one island run as its own process (`island`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct IslandsCheckpoint {
    /// How many islands the ring has.
    pub islands: usize,
    pub migration: Migration,
    /// The experiment's options (island 0's seed; island `i` has [`island_seed`]).
    pub config: Config,
    /// The goal the experiment pursues.
    pub goal: GoalRecord,
    /// `Some(i)`: the state of island `i` alone, run as its own process with a folder
    /// exchange; `None`: every island's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub island: Option<usize>,
    /// Each island's state, in island order (one state when `island` is `Some`), all at
    /// the same generation.
    pub states: Vec<Checkpoint>,
}

impl IslandsCheckpoint {
    /// The checkpoint of every island of `archipelago`, an experiment with options
    /// `config` pursuing `goal`.
    pub fn of_ring(archipelago: &Archipelago<'_>, config: &Config, goal: &Goal) -> Self {
        IslandsCheckpoint {
            islands: archipelago.islands.len(),
            migration: archipelago.migration,
            config: config.clone(),
            goal: goal.record(),
            island: None,
            states: archipelago
                .islands
                .iter()
                .map(|i| i.state.clone())
                .collect(),
        }
    }

    /// The checkpoint of island `island` of `islands`, whose state is `evolution`'s.
    pub fn of_island(
        evolution: &Evolution<'_>,
        island: usize,
        islands: usize,
        migration: Migration,
        config: &Config,
        goal: &Goal,
    ) -> Self {
        IslandsCheckpoint {
            islands,
            migration,
            config: config.clone(),
            goal: goal.record(),
            island: Some(island),
            states: vec![evolution.state.clone()],
        }
    }

    /// Generations completed (every island's).
    pub fn generation(&self) -> u64 {
        self.states.first().map_or(0, |s| s.generation)
    }

    /// Check a loaded checkpoint as the command line's options are checked, and that it is
    /// whole and consistent: every island's state valid, with the experiment's options and
    /// the island's seed, the experiment's goal and the same generation; the migration
    /// within the population.
    pub fn validate(&self) -> Result<(), Invalid> {
        check(
            "islands",
            self.islands,
            2..=MAX_ISLANDS,
            &format!("2..={}", crate::util::thousands(MAX_ISLANDS as u64)),
        )?;
        self.config.validate()?;
        check(
            "migration.every",
            self.migration.every,
            1..=super::MAX_GENERATIONS,
            &format!("1..={}", crate::util::thousands(super::MAX_GENERATIONS)),
        )?;
        check(
            "migration.migrants",
            self.migration.migrants,
            0..=self.config.population - 1,
            "smaller than config.population",
        )?;
        let expected = match self.island {
            Some(i) => {
                check("island", i, 0..=self.islands - 1, "0..islands")?;
                1
            }
            None => self.islands,
        };
        if self.states.len() != expected {
            return Err(Invalid {
                field: "states",
                problem: format!(
                    "holds {} island state(s); {expected} expected",
                    self.states.len()
                ),
            });
        }
        let generation = self.generation();
        for (k, state) in self.states.iter().enumerate() {
            let island = self.island.unwrap_or(k);
            let bad = |problem: String| Invalid {
                field: "states",
                problem: format!("[{k}] {problem}"),
            };
            if state.generation != generation {
                return Err(bad(format!(
                    "generation is {}; the other islands are at {generation}",
                    state.generation
                )));
            }
            state.validate().map_err(|e| bad(e.to_string()))?;
            if state.config != island_config(&self.config, island) {
                return Err(bad(format!(
                    "config is not the experiment's config with island {island}'s seed"
                )));
            }
            if state.goal.as_ref() != Some(&self.goal) {
                return Err(bad("goal is not the experiment's goal".into()));
            }
        }
        Ok(())
    }

    /// Plan `generations` generations in all (a resumed experiment given a new plan).
    pub fn plan(&mut self, generations: u64) {
        self.config.generations = generations;
        for state in &mut self.states {
            state.config.generations = generations;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::engines::EngineKind;

    fn goal() -> Goal {
        Goal::Output(vec!["1".into(), "2".into(), "3".into()])
    }

    fn config() -> Config {
        Config {
            seed: 11,
            population: 24,
            generations: 12,
            engine: EngineKind::Interp,
            ..Config::default()
        }
    }

    fn seed_kernel() -> Vec<u8> {
        pxvm::asm::assemble("IMM32 R1, 7\nSYSCALL 10\nHALT\n", "seed.asm").unwrap()
    }

    const MIGRATION: Migration = Migration {
        every: 3,
        migrants: 2,
    };

    #[test]
    fn one_island_is_the_plain_run() {
        let goal = goal();
        let mut plain = Evolution::start(config(), &goal, &seed_kernel());
        let mut islands = Archipelago::start(&config(), 1, MIGRATION, &goal, &seed_kernel());
        for _ in 0..6 {
            plain.step();
            islands.step();
        }
        assert_eq!(plain.state, islands.islands[0].state);
    }

    #[test]
    fn migration_moves_the_best_along_the_ring() {
        let goal = goal();
        let mut a = Archipelago::start(&config(), 3, MIGRATION, &goal, &seed_kernel());
        for _ in 0..2 {
            a.step();
        }
        // Generation 3 by hand: after the step, island i takes island i-1's best.
        let before: Vec<Vec<Individual>> = {
            let mut copy = Vec::new();
            for island in &mut a.islands {
                island.step();
                copy.push(island.emigrants(MIGRATION.migrants));
            }
            copy
        };
        for (i, island) in a.islands.iter_mut().enumerate() {
            island.immigrate(&before[(i + 2) % 3]);
        }
        for (i, island) in a.islands.iter().enumerate() {
            let from = &before[(i + 2) % 3];
            for m in from {
                assert!(
                    island.state.population.contains(m),
                    "island {i} lacks a migrant"
                );
            }
            assert_eq!(island.state.population.len(), 24);
        }
    }

    #[test]
    fn islands_in_threads_through_a_folder_equal_the_archipelago() {
        let goal = goal();
        let generations = 9;
        let mut a = Archipelago::start(&config(), 3, MIGRATION, &goal, &seed_kernel());
        for _ in 0..generations {
            a.step();
        }
        let dir = tempfile::tempdir().unwrap();
        let key = run_key(&config(), &goal, 3, MIGRATION);
        let states: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|i| {
                    let (goal, dir, key) = (&goal, dir.path(), key.as_str());
                    s.spawn(move || {
                        let exchange =
                            FolderExchange::new(dir, key, i, 3, Duration::from_secs(60)).unwrap();
                        let mut evolution =
                            Evolution::start(island_config(&config(), i), goal, &seed_kernel());
                        run_island::<ExchangeError>(
                            &mut evolution,
                            MIGRATION,
                            &exchange,
                            generations,
                            |_, _| Ok(()),
                            |_| Ok(()),
                        )
                        .unwrap();
                        evolution.state
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (i, state) in states.iter().enumerate() {
            assert_eq!(state, &a.islands[i].state, "island {i} differs");
        }
    }

    #[test]
    fn a_missing_neighbour_is_reported_not_awaited_forever() {
        let goal = goal();
        let dir = tempfile::tempdir().unwrap();
        let key = run_key(&config(), &goal, 2, MIGRATION);
        let exchange =
            FolderExchange::new(dir.path(), &key, 1, 2, Duration::from_millis(100)).unwrap();
        let mut evolution = Evolution::start(island_config(&config(), 1), &goal, &seed_kernel());
        let err = run_island::<ExchangeError>(
            &mut evolution,
            MIGRATION,
            &exchange,
            5,
            |_, _| Ok(()),
            |_| Ok(()),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("island 0's migrants for generation 3 did not arrive"),
            "{text}"
        );
        assert_eq!(evolution.state.generation, 3);
    }

    #[test]
    fn a_damaged_migrants_file_is_an_error_naming_it() {
        let goal = goal();
        let dir = tempfile::tempdir().unwrap();
        let key = run_key(&config(), &goal, 2, MIGRATION);
        let exchange = FolderExchange::new(dir.path(), &key, 1, 2, Duration::from_secs(5)).unwrap();
        let neighbour = dir.path().join(&key).join("g0000000003-island0000.json");
        std::fs::write(&neighbour, b"[{\"genome\": [] , \"fitness\": 3}]").unwrap();
        let err = exchange.swap(3, &[]).unwrap_err().to_string();
        assert!(err.contains("g0000000003-island0000.json"), "{err}");
    }

    #[test]
    fn another_experiment_has_another_key() {
        let goal = goal();
        let k = run_key(&config(), &goal, 3, MIGRATION);
        let other = Config {
            seed: 12,
            ..config()
        };
        assert_ne!(k, run_key(&other, &goal, 3, MIGRATION));
        assert_ne!(k, run_key(&config(), &goal, 4, MIGRATION));
        assert_eq!(k, run_key(&config(), &goal, 3, MIGRATION));
        // The generation plan is not part of the run: a longer one meets the same files.
        let longer = Config {
            generations: 40,
            ..config()
        };
        assert_eq!(k, run_key(&longer, &goal, 3, MIGRATION));
    }

    /// Run `f` on a pool of `threads` threads (results must not depend on the count).
    fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(f)
    }

    /// A ring of 3 islands run for `steps` generations, or for `stop` generations, saved,
    /// checked, reloaded from JSON and resumed for the rest.
    fn ring(threads: usize, steps: u64, stop: Option<u64>) -> Vec<Checkpoint> {
        let goal = goal();
        on_threads(threads, || {
            let mut a = Archipelago::start(&config(), 3, MIGRATION, &goal, &seed_kernel());
            for s in 0..steps {
                if Some(s) == stop {
                    let saved = IslandsCheckpoint::of_ring(&a, &config(), &goal);
                    let json = serde_json::to_vec(&saved).unwrap();
                    let loaded: IslandsCheckpoint = serde_json::from_slice(&json).unwrap();
                    loaded.validate().unwrap();
                    assert_eq!(loaded.generation(), s);
                    a = Archipelago::resume(loaded, &goal);
                }
                a.step();
            }
            a.islands.into_iter().map(|i| i.state).collect()
        })
    }

    #[test]
    fn a_ring_resumed_from_its_checkpoint_continues_exactly_on_one_or_two_threads() {
        let whole = ring(1, 10, None);
        // Stopped right after a migration (generation 6) and between two (generation 4).
        assert_eq!(whole, ring(2, 10, Some(6)));
        assert_eq!(whole, ring(1, 10, Some(4)));
        assert_eq!(whole, ring(2, 10, Some(4)));
    }

    #[test]
    fn an_island_process_resumed_from_its_checkpoint_continues_exactly() {
        let goal = goal();
        let whole = ring(2, 9, None);
        let dir = tempfile::tempdir().unwrap();
        let key = run_key(&config(), &goal, 3, MIGRATION);
        // Every island to generation 5, checkpointed; island 1's checkpoint of generation 2
        // is kept too, as if it had been killed then and its later checkpoints were lost.
        let run = |i: usize, from: Option<IslandsCheckpoint>, to: u64| {
            let (goal, dir, key) = (&goal, dir.path(), key.as_str());
            move || {
                let exchange =
                    FolderExchange::new(dir, key, i, 3, Duration::from_secs(60)).unwrap();
                let mut evolution = match from {
                    Some(mut c) => {
                        c.validate().unwrap();
                        Evolution::resume(c.states.remove(0), goal)
                    }
                    None => Evolution::start(island_config(&config(), i), goal, &seed_kernel()),
                };
                let mut saved = Vec::new();
                run_island::<ExchangeError>(
                    &mut evolution,
                    MIGRATION,
                    &exchange,
                    to,
                    |_, _| Ok(()),
                    |e| {
                        let c = IslandsCheckpoint::of_island(e, i, 3, MIGRATION, &config(), goal);
                        saved.push(serde_json::to_vec(&c).unwrap());
                        Ok(())
                    },
                )
                .unwrap();
                let saved: Vec<IslandsCheckpoint> = saved
                    .iter()
                    .map(|b| serde_json::from_slice(b).unwrap())
                    .collect();
                (evolution.state, saved)
            }
        };
        let first: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..3).map(|i| s.spawn(run(i, None, 5))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let resumed: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = first
                .iter()
                .enumerate()
                .map(|(i, (_, saved))| {
                    let at = if i == 1 { 1 } else { 4 };
                    assert_eq!(saved[at].generation(), at as u64 + 1);
                    s.spawn(run(i, Some(saved[at].clone()), 9))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap().0).collect()
        });
        assert_eq!(resumed, whole);
    }

    #[test]
    fn an_inconsistent_islands_checkpoint_is_refused_naming_the_field() {
        let goal = goal();
        let a = Archipelago::start(&config(), 3, MIGRATION, &goal, &seed_kernel());
        let good = IslandsCheckpoint::of_ring(&a, &config(), &goal);
        good.validate().unwrap();
        type Edit = fn(&mut IslandsCheckpoint);
        let cases: Vec<(Edit, &str)> = vec![
            (|c| c.islands = 0, "islands is 0"),
            (
                |c| c.islands = 4,
                "states holds 3 island state(s); 4 expected",
            ),
            (|c| c.migration.every = 0, "migration.every is 0"),
            (|c| c.migration.migrants = 24, "migration.migrants is 24"),
            (|c| c.island = Some(3), "island is 3"),
            (
                |c| c.island = Some(0),
                "states holds 3 island state(s); 1 expected",
            ),
            (
                |c| c.states.swap(0, 1),
                "states [0] config is not the experiment's config with island 0's seed",
            ),
            (|c| c.states[2].generation = 1, "states [2] generation is 1"),
            (
                |c| c.states[1].population.clear(),
                "states [1] population holds 0",
            ),
            (
                |c| c.states[1].goal = Some(Goal::Output(vec!["9".into()]).record()),
                "states [1] goal",
            ),
            (|c| c.config.population = 0, "config.population is 0"),
        ];
        for (edit, says) in cases {
            let mut bad = good.clone();
            edit(&mut bad);
            let err = bad.validate().unwrap_err().to_string();
            assert!(err.contains(says), "{says}: {err}");
        }
    }
}
