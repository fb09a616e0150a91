//! Autonomous evolution: inside an evolution window, when no candidate is in the pipeline,
//! the service runs `pxos evolve`'s search from the current version toward the policy's
//! goal, a chunk of generations per step, saving a checkpoint after each chunk
//! (`<store>/evolve/checkpoint.json`, crash-safe) so that a killed service resumes where it
//! stopped. When the budget is spent, the best kernel — if it beats the current version —
//! is submitted as a candidate (`origin: evolve`) and walks the same pipeline as any other:
//! it can only become current through its A/B test and the staged rollout. A version is
//! evolved from once; a new current version starts a new run.

use super::PipelineError;
use super::policy::{EvolveGoal, EvolvePolicy};
use crate::runtime::engines::EngineKind;
use crate::store::Store;
use crate::store::candidates::Origin;
use crate::tools::evolve::{Checkpoint, Config, Evolution, Goal};
use crate::util::atomic;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::{Duration, Instant};

/// Most wall time one step spends on generations (then it saves and yields).
const CHUNK: Duration = Duration::from_millis(500);

/// The checkpoint file: the run's identity beside the search state.
#[derive(Debug, Serialize, Deserialize)]
struct RunFile {
    from_id: u64,
    policy: EvolvePolicy,
    state: Checkpoint,
}

/// What one step of background evolution did.
#[derive(Debug, PartialEq, Eq)]
pub enum EvolveStep {
    /// Ran generations up to `generation` of `of`.
    Progress {
        from: String,
        generation: u64,
        of: u64,
    },
    /// Finished; submitted candidate `candidate` (or nothing better was found).
    Finished {
        from: String,
        candidate: Option<u64>,
        note: String,
    },
}

/// Largest checkpoint read.
const MAX_CHECKPOINT_BYTES: u64 = 256 << 20;

/// The checkpoint at `path`, if there is a readable one. A damaged one is never lost
/// without a word: a warning on stderr names it and says what was wrong; a regular file
/// that is not a checkpoint is kept aside as `checkpoint.json.damaged-<n>`; a symbolic
/// link, a FIFO or a device is removed (never followed or opened). Either way a fresh run
/// starts.
fn load_checkpoint(path: &Path) -> Option<RunFile> {
    use crate::util::nofollow;
    let warn = |what: String| {
        eprintln!(
            "pxos: warning: {} {what}; background evolution starts a fresh run",
            path.display()
        );
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn(format!("cannot be inspected ({e})"));
            return None;
        }
    };
    if meta.is_dir() {
        warn("is a folder, not a checkpoint file; it is left alone".into());
        return None;
    }
    if !meta.is_file() {
        let kind = nofollow::kind_of(&meta);
        match std::fs::remove_file(path) {
            Ok(()) => warn(format!(
                "was {kind}, not a checkpoint file; it was removed (never followed or opened)"
            )),
            Err(e) => warn(format!(
                "is {kind}, not a checkpoint file, and cannot be removed ({e})"
            )),
        }
        return None;
    }
    let why = match nofollow::read_regular(path, MAX_CHECKPOINT_BYTES) {
        Ok(Ok(bytes)) => match serde_json::from_slice(&bytes) {
            Ok(run) => return Some(run),
            Err(e) => format!("is not a checkpoint ({e})"),
        },
        Ok(Err(size)) => format!("is {size} bytes, more than a checkpoint can be"),
        Err(e) => {
            warn(format!("cannot be read ({e})"));
            return None;
        }
    };
    let aside = (1u32..)
        .map(|n| path.with_file_name(format!("checkpoint.json.damaged-{n}")))
        .find(|p| std::fs::symlink_metadata(p).is_err())
        .expect("a free name");
    match std::fs::rename(path, &aside) {
        Ok(()) => warn(format!("{why}; it was kept as {}", aside.display())),
        Err(e) => warn(format!("{why}; it could not be kept aside ({e})")),
    }
    None
}

fn goal_for(policy: &EvolvePolicy, kernel: &[u8]) -> Result<Goal, String> {
    match policy.goal {
        EvolveGoal::Faster => Goal::faster_than(kernel, policy.fuel).map_err(|e| e.to_string()),
        EvolveGoal::Output => Ok(Goal::Output(policy.target.clone())),
    }
}

/// One step of background evolution from the current version of the store at `root`
/// (which the caller has checked is due: a window is open and nothing is in flight). The
/// generations run without the store lock — `pxos boot` and the other commands go on
/// meanwhile —; the lock is taken only to submit the result.
pub fn step(root: &Path, policy: &EvolvePolicy) -> Result<Option<EvolveStep>, PipelineError> {
    let store = Store::open(root)?;
    let Some(current) = store.current().cloned() else {
        return Ok(None);
    };
    if store.pipeline().evolution.done_from.contains(&current.id) {
        return Ok(None);
    }
    let kernel = store.read_kernel(&current)?;
    drop(store);
    let from = format!("{} (id {})", current.version, current.id);
    let goal = match goal_for(policy, &kernel) {
        Ok(g) => g,
        Err(why) => {
            let mut store = Store::open_mut(root, false, &mut |_| {})?;
            store.record_evolution_done(current.id)?;
            return Ok(Some(EvolveStep::Finished {
                from,
                candidate: None,
                note: format!("cannot evolve from it: {why}"),
            }));
        }
    };
    let dir = root.join("evolve");
    crate::util::nofollow::check_folder(&dir)?;
    let path = dir.join("checkpoint.json");
    let saved: Option<RunFile> = load_checkpoint(&path).filter(|r: &RunFile| {
        r.from_id == current.id && r.policy == *policy && !r.state.population.is_empty()
    });
    let mut evo = match saved {
        Some(run) => Evolution::resume(run.state, &goal),
        None => {
            let config = Config {
                seed: policy.seed,
                population: policy.population,
                generations: policy.generations,
                fuel: policy.fuel,
                engine: EngineKind::Tiered,
                ..Config::default()
            };
            Evolution::start(config, &goal, &kernel)
        }
    };
    let started = Instant::now();
    while evo.state.generation < policy.generations && started.elapsed() < CHUNK {
        evo.step();
    }
    if evo.state.generation < policy.generations {
        let run = RunFile {
            from_id: current.id,
            policy: policy.clone(),
            state: evo.state.clone(),
        };
        let bytes = serde_json::to_vec(&run).map_err(|e| PipelineError::Evolve(e.to_string()))?;
        atomic::create_dir(&dir)?;
        atomic::write_atomic(&path, &bytes)?;
        return Ok(Some(EvolveStep::Progress {
            from,
            generation: evo.state.generation,
            of: policy.generations,
        }));
    }
    let best = evo.best().clone();
    let seed_fitness = evo.state.lineage.first().map(|i| i.fitness);
    let improved =
        best.genome != kernel && seed_fitness.is_none_or(|s| goal.better(&best.fitness, &s));
    let solved = match policy.goal {
        EvolveGoal::Faster => best.fitness.error == 0.0,
        EvolveGoal::Output => true,
    };
    let mut store = Store::open_mut(root, false, &mut |_| {})?;
    if store.current().map(|e| e.id) != Some(current.id) {
        let _ = std::fs::remove_file(&path);
        return Ok(Some(EvolveStep::Finished {
            from,
            candidate: None,
            note: "the current version changed meanwhile; the result is dropped".into(),
        }));
    }
    let store = &mut store;
    let (candidate, note) = if improved && solved {
        let source = format!(
            "evolve from {from}, goal {:?}, seed {}, {} generations",
            policy.goal, policy.seed, policy.generations
        )
        .to_lowercase();
        let c = super::intake::submit(store, Origin::Evolve, &source, &best.genome)?;
        let note = format!(
            "best: {} bytes, {} cycles, error {}",
            best.genome.len(),
            best.fitness.cycles,
            best.fitness.error
        );
        (Some(c.id), note)
    } else {
        (
            None,
            "nothing better than the current version was found".to_string(),
        )
    };
    store.record_evolution_done(current.id)?;
    let _ = std::fs::remove_file(&path);
    Ok(Some(EvolveStep::Finished {
        from,
        candidate,
        note,
    }))
}
