//! An evolution experiment's results in a version store (`pxos evolve --fs`, `--promote`):
//! its lineage — each improvement of the best recorded as a version, the child of the
//! previous one ([`Lineage`]) — and the promotion of its best kernel to the current one
//! through the boot cycle ([`promote`]).
//!
//! **Architecture Invariant:** like the rest of the lifecycle, this changes a store only
//! through `crate::store`'s operations, and it opens no store itself: the caller passes one,
//! opened and locked as it chooses (the CLI takes the lock for each write only, so that
//! other commands can use the store during a long experiment).

use super::boot::{self, BootError, BootOptions, Generation};
use crate::runtime::engines::EngineKind;
use crate::store::{Entry, Result, Store};
use crate::tools::evolve::Individual;

/// The lineage of one experiment in a store: the versions its successive bests are
/// recorded as (`evo-s<seed>-g<generation>`, each the child of the one before).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lineage {
    seed: u64,
    /// The version the next record descends from.
    parent: Option<u64>,
}

impl Lineage {
    /// The lineage of the experiment with seed `seed`, descending from version id
    /// `parent` (the version it started from, if it started from one).
    pub fn new(seed: u64, parent: Option<u64>) -> Lineage {
        Lineage { seed, parent }
    }

    /// The version name of the best born in generation `born`.
    pub fn version_name(&self, born: u64) -> String {
        format!("evo-s{}-g{}", self.seed, born)
    }

    /// Record `best` in `store` as the child of the previous record, unless it is there
    /// already (a resumed experiment recorded it before it stopped: the version of that
    /// name holding the same kernel). Either way the next record descends from it.
    ///
    /// # Errors
    ///
    /// What [`Store::record`] refuses (the store is left as it was).
    pub fn record(&mut self, store: &mut Store, best: &Individual) -> Result<()> {
        let id = match recorded(store, &self.version_name(best.born), &best.genome) {
            Some(id) => id,
            None => self.add(store, best)?.id,
        };
        self.parent = Some(id);
        Ok(())
    }

    /// The new version for `best`.
    fn add(&self, store: &mut Store, best: &Individual) -> Result<Entry> {
        let origin = format!(
            "pxos evolve: generation {}, error {}, {} cycles",
            best.born, best.fitness.error, best.fitness.cycles
        );
        let name = self.version_name(best.born);
        store.record(&name, &best.genome, self.parent, &origin)
    }
}

/// The id of the version named `name` if its kernel is `genome`.
fn recorded(store: &Store, name: &str, genome: &[u8]) -> Option<u64> {
    let entry = store.db().by_name(name)?;
    store
        .read_kernel(entry)
        .is_ok_and(|kernel| kernel == genome)
        .then_some(entry.id)
}

/// Install `best` as the current kernel of `store` as a SELF_MODIFY request would (the
/// current version backed up, `best` its child on probation; in a store with no current
/// version, `best` is registered as `evo-best`), then boot it once, on `engine` with
/// `fuel`, for its assessment: if it fails, it is marked bad and the previous version is
/// current again. Returns what that boot did.
///
/// # Errors
///
/// What the store refuses, or why the boot could not run.
pub fn promote(
    store: &mut Store,
    best: &Individual,
    engine: EngineKind,
    fuel: u64,
) -> std::result::Result<Generation, BootError> {
    let origin = format!("pxos evolve --promote (generation {})", best.born);
    if store.current().is_some() {
        store.evolve(&best.genome, &origin)?;
    } else {
        store.register("evo-best", &best.genome, None, &origin)?;
    }
    let options = BootOptions {
        engine,
        fuel,
        max_generations: 1,
    };
    let mut booted = None;
    boot::boot(store, &options, &mut |g| booted = Some(g.clone()))?;
    Ok(booted.expect("a boot cycle of one generation that returns Ok has booted once"))
}
