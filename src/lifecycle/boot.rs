//! The boot cycle (`pxos boot`): boot the store's current version on a fresh machine with a
//! fresh engine (so a JIT's code cache never outlives its kernel), with the store's `build/`
//! and `guest/` folders as the guest's files and the version syscalls answered from the store; then act on how
//! the run ended, and boot again, generation after generation, up to a limit.
//!
//! After a run of version V:
//! - **halt with a SELF_MODIFY request**: V is good; V's kernel is backed up, the requested
//!   kernel is registered as V's child (on probation) and made current — one atomic change
//!   ([`Store::evolve`]) — and the child boots next. If the kernel also asked for a
//!   VERSION_SWITCH, **SELF_MODIFY takes precedence**: the new kernel would otherwise be
//!   lost, while a switch names a version that stays in the store and can be asked for
//!   again. The ignored switch is reported.
//! - **halt with a VERSION_SWITCH request** (and no SELF_MODIFY): V is good, the requested
//!   version becomes current (recorded as a `guest_switch` event) and boots next.
//! - **halt with no request**: V is good; the cycle ends.
//! - **error or fuel** (it did not halt within its fuel): any request is discarded. If V was
//!   on probation it is marked bad and the previous good version becomes current again —
//!   the rollback is recorded as an event — and the cycle ends (booting the restored version
//!   again would only repeat its evolution into the kernel that just failed). If V was
//!   already good, it stays good and current, the failure is recorded, and the cycle ends.
//!
//! The cycle also ends after `max_generations` boots; a replacement requested by the last
//! boot is still installed, on probation, and boots first next time.
//!
//! **Phase 3.** When the store's policy routes SELF_MODIFY through the pipeline
//! (`self_modify: pipeline`), a request becomes a candidate (`crate::lifecycle::pipeline`) instead of a
//! version, and the cycle ends. While a candidate is being rolled out, every boot first
//! asks the rollout's deterministic schedule ([`Rollout::canary_turn`]) whether this boot
//! is the canary's: if so the canary boots instead of the current version (its requests are
//! ignored), and its clean halt counts toward its stage — after the last stage it becomes
//! current (`promoted`) — while a failure reverts it at once (marked bad, the current
//! version untouched); the cycle ends after a canary boot. Each boot records which
//! version the schedule chose.

use crate::lifecycle::pipeline::PipelineError;
use crate::lifecycle::pipeline::{self, Policy, PolicyError, SelfModifyRoute};
use crate::runtime::engines::EngineKind;
use crate::runtime::host::PxHost;
use crate::runtime::host::files::{DirFiles, FileStore};
use crate::runtime::run::{RunOutcome, run_kernel};
use crate::store::candidates::{CanaryOutcome, Origin, Rollout};
use crate::store::{Assessment, Entry, StoreVersions, SwitchRequest};
use crate::store::{Status, Store, StoreError};
use pxvm::Exit;
use serde::Serialize;
use thiserror::Error;

/// How to run the cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BootOptions {
    pub engine: EngineKind,
    /// Instruction budget of each boot.
    pub fuel: u64,
    /// Most boots in this cycle.
    pub max_generations: u32,
}

/// Why the cycle could not go on.
#[derive(Debug, Error)]
pub enum BootError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot boot {version}: {source}")]
    Load {
        version: String,
        source: pxvm::KernelTooLarge,
    },
    #[error("cannot use {} as the guest's file folder: {source}", path.display())]
    Files {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
}

/// What the host did after one boot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Installed the requested kernel as `new_version` and made it current.
    Evolved {
        new_version: String,
        new_id: u64,
        /// A VERSION_SWITCH of the same run, ignored because SELF_MODIFY takes precedence.
        #[serde(skip_serializing_if = "Option::is_none")]
        ignored_switch: Option<u64>,
    },
    /// Made the version the kernel asked for with VERSION_SWITCH current.
    Switched { to_version: String, to_id: u64 },
    /// Nothing requested; the cycle ends.
    Halted,
    /// The version on probation failed: marked bad, current rolled back to `to_version`
    /// (none if no good version exists).
    RolledBack {
        to_version: Option<String>,
        to_id: Option<u64>,
        discarded_request: bool,
    },
    /// A good version failed; it stays current.
    Failed { discarded_request: bool },
    /// The kernel's SELF_MODIFY request became a candidate of the pipeline (policy
    /// `self_modify: pipeline`); the cycle ends.
    Queued {
        candidate: u64,
        candidate_state: String,
    },
    /// The rollout's canary booted (instead of the current version).
    Canary {
        /// `counted`, `next_stage`, `promoted` or `reverted`.
        result: &'static str,
        detail: String,
        discarded_request: bool,
    },
}

/// Which version a boot during a rollout booted, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RolloutBoot {
    /// The rollout's stage (from 1) and the canary's share of boots in it.
    pub stage: usize,
    pub share_percent: u8,
    /// The boot's number within the stage (from 0), the schedule's input.
    pub stage_boot: u64,
    /// `canary` or `current`.
    pub booted: &'static str,
    pub canary: String,
    pub canary_id: u64,
}

/// One boot of the cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Generation {
    /// 1 for the first boot of this cycle.
    pub generation: u32,
    pub version: String,
    pub id: u64,
    /// Its status when it booted (`probation` or `good`).
    pub status: Status,
    pub engine: &'static str,
    pub exit: Exit,
    pub cycles: u64,
    pub pc: u32,
    pub sysout: Vec<String>,
    /// During a rollout: what the schedule chose for this boot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<RolloutBoot>,
    #[serde(flatten)]
    pub action: Action,
}

impl Generation {
    /// One line for people: the version, how the run ended, what the host did.
    pub fn summary(&self) -> String {
        let what = match &self.action {
            Action::Evolved {
                new_version,
                new_id,
                ignored_switch,
            } => {
                let mut s = format!("evolved into {new_version} (id {new_id}, on probation)");
                if let Some(id) = ignored_switch {
                    s += &format!(
                        "; VERSION_SWITCH to id {id} ignored (SELF_MODIFY takes precedence)"
                    );
                }
                s
            }
            Action::Switched { to_version, to_id } => {
                format!("switched to {to_version} (id {to_id}) as the kernel asked")
            }
            Action::Halted => "halted; no replacement requested".to_string(),
            Action::RolledBack {
                to_version,
                to_id,
                discarded_request,
            } => {
                let to = match (to_version, to_id) {
                    (Some(v), Some(id)) => format!("rolled back to {v} (id {id})"),
                    _ => "no good version to roll back to; none is current".to_string(),
                };
                let dropped = if *discarded_request {
                    "; its request was discarded"
                } else {
                    ""
                };
                format!("FAILED on probation: marked bad, {to}{dropped}")
            }
            Action::Failed { discarded_request } => {
                let dropped = if *discarded_request {
                    "; its request was discarded"
                } else {
                    ""
                };
                format!("FAILED (it stays good and current; the failure is recorded){dropped}")
            }
            Action::Queued {
                candidate,
                candidate_state,
            } => format!(
                "halted; its SELF_MODIFY request is candidate {candidate} of the pipeline ({candidate_state})"
            ),
            Action::Canary { detail, .. } => detail.clone(),
        };
        let what = match &self.rollout {
            Some(r) => format!(
                "{what} [rollout stage {} ({} %), boot {} of the stage: {}]",
                r.stage,
                r.share_percent,
                r.stage_boot + 1,
                r.booted
            ),
            None => what,
        };
        format!(
            "[gen {}] {} (id {}, {}) [{}] exit={} cycles={} -> {what}",
            self.generation,
            self.version,
            self.id,
            self.status,
            self.engine,
            self.exit,
            self.cycles
        )
    }
}

impl Generation {
    /// The record of boot `generation` of `entry`, which ended as `outcome`.
    fn of_run(
        generation: u32,
        entry: Entry,
        opts: &BootOptions,
        outcome: RunOutcome,
        rollout: Option<RolloutBoot>,
        action: Action,
    ) -> Generation {
        Generation {
            generation,
            version: entry.version,
            id: entry.id,
            status: entry.status,
            engine: opts.engine.name(),
            exit: outcome.exit,
            cycles: outcome.machine.cycles,
            pc: outcome.machine.pc,
            sysout: outcome.host.sysout,
            rollout,
            action,
        }
    }
}

/// Why the cycle ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The last kernel halted without asking for anything.
    Halted,
    /// The last kernel's SELF_MODIFY request went to the pipeline as a candidate (policy
    /// `self_modify: pipeline`): it is not installed by this cycle.
    Queued,
    /// The last kernel failed on probation and was rolled back.
    RolledBack,
    /// The last kernel, already good, failed.
    Failed,
    /// `max_generations` boots were done.
    Limit,
    /// The rollout's canary booted.
    Canary,
}

/// The end of a cycle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BootSummary {
    pub generations: u32,
    pub stop: Stop,
    /// The current version afterwards.
    pub current: Option<String>,
    pub current_id: Option<u64>,
}

/// Run the boot cycle on `store` (opened for changes), calling `on_generation` after each
/// boot has been acted on.
pub fn boot(
    store: &mut Store,
    opts: &BootOptions,
    on_generation: &mut dyn FnMut(&Generation),
) -> Result<BootSummary, BootError> {
    store.refresh_current_copy()?;
    let policy = Policy::load(store.root())?;
    let mut stop = Stop::Limit;
    let mut done = 0;
    for generation in 1..=opts.max_generations {
        abandon_stale_rollout(store)?;
        let g = match store.pipeline().rollout.clone() {
            // With no current version to share boots with, every boot is the canary's.
            Some(r) if r.canary_turn() || store.current().is_none() => {
                boot_canary(store, opts, generation, &r)?
            }
            Some(r) => {
                store.record_current_boot()?;
                let mut g = boot_once(store, opts, generation, &policy)?;
                g.rollout = Some(rollout_boot(store, &r, "current"));
                g
            }
            None => boot_once(store, opts, generation, &policy)?,
        };
        done = generation;
        on_generation(&g);
        match g.action {
            Action::Evolved { .. } | Action::Switched { .. } => continue,
            Action::Halted => stop = Stop::Halted,
            Action::Queued { .. } => stop = Stop::Queued,
            Action::RolledBack { .. } => stop = Stop::RolledBack,
            Action::Failed { .. } => stop = Stop::Failed,
            Action::Canary { .. } => stop = Stop::Canary,
        }
        break;
    }
    let current = store.current();
    Ok(BootSummary {
        generations: done,
        stop,
        current: current.map(|e| e.version.clone()),
        current_id: current.map(|e| e.id),
    })
}

/// A rollout belongs to the version that was current when it started (the canary was
/// A/B-tested against it). If another version became current since — `pxos switch`,
/// `register`, `rollback`, or a switch to the canary itself — the rollout is abandoned:
/// promoting the canary could otherwise replace a version it was never compared with.
fn abandon_stale_rollout(store: &mut Store) -> Result<(), BootError> {
    let Some(r) = store.pipeline().rollout.clone() else {
        return Ok(());
    };
    let current = store.current().map(|e| e.id);
    if r.base.is_none() || r.base == current {
        return Ok(());
    }
    let name = |id: Option<u64>| {
        id.and_then(|id| store.get_by_id(id).ok())
            .map_or("none".to_string(), |e| {
                format!("{} (id {})", e.version, e.id)
            })
    };
    let reason = format!(
        "the current version changed from {} to {} since the canary's A/B test",
        name(r.base),
        name(current)
    );
    store.abandon_rollout(&reason)?;
    Ok(())
}

/// What the schedule chose for a boot of rollout `r` (as it was before the boot).
fn rollout_boot(store: &Store, r: &Rollout, booted: &'static str) -> RolloutBoot {
    RolloutBoot {
        stage: r.stage + 1,
        share_percent: r.stages.get(r.stage).copied().unwrap_or(100),
        stage_boot: r.stage_boots,
        booted,
        canary: store
            .get_by_id(r.version_id)
            .map(|e| e.version.clone())
            .unwrap_or_default(),
        canary_id: r.version_id,
    }
}

/// The guest's files during `pxos boot`: `build/…` is the store's `build/` (where the
/// seed's kernels leave `build/kernel_v2.bin` for SELF_MODIFY), every other file
/// (`file_N`) lives in the store's `guest/` folder, never beside versions.json.
#[derive(Debug)]
struct BootFiles(DirFiles);

impl BootFiles {
    fn map(path: &str) -> String {
        if path.starts_with("build/") {
            path.to_string()
        } else {
            format!("{GUEST_DIR}/{path}")
        }
    }
}

/// The folder, in a store, of the files kernels create while `pxos boot` runs them
/// (other than `build/`).
pub const GUEST_DIR: &str = "guest";

impl FileStore for BootFiles {
    fn exists(&self, path: &str) -> bool {
        self.0.exists(&Self::map(path))
    }
    fn create(&mut self, path: &str) -> bool {
        self.0.create(&Self::map(path))
    }
    fn size(&self, path: &str) -> Option<u64> {
        self.0.size(&Self::map(path))
    }
    fn read(&self, path: &str, offset: usize, len: usize) -> Option<Vec<u8>> {
        self.0.read(&Self::map(path), offset, len)
    }
    fn write(&mut self, path: &str, offset: usize, data: &[u8]) -> bool {
        self.0.write(&Self::map(path), offset, data)
    }
}

/// Run `entry`'s kernel on a fresh machine and engine, with the store folder as the
/// guest's files and the version syscalls answered from the store.
fn run_version(
    store: &Store,
    opts: &BootOptions,
    entry: &Entry,
    request: &SwitchRequest,
) -> Result<RunOutcome, BootError> {
    let kernel = store.read_kernel(entry)?;
    let files = DirFiles::open(store.root()).map_err(|source| BootError::Files {
        path: store.root().to_path_buf(),
        source,
    })?;
    let host = PxHost::new(Box::new(BootFiles(files))).with_versions(Box::new(StoreVersions::new(
        store.db(),
        entry.id,
        request.clone(),
    )));
    let mut engine = opts.engine.build();
    run_kernel(&kernel, engine.as_mut(), host, opts.fuel).map_err(|source| BootError::Load {
        version: entry.version.clone(),
        source,
    })
}

/// Boot the rollout's canary once (its turn in the schedule) and record the result.
fn boot_canary(
    store: &mut Store,
    opts: &BootOptions,
    generation: u32,
    r: &Rollout,
) -> Result<Generation, BootError> {
    let entry = store.get_by_id(r.version_id)?.clone();
    let chose = rollout_boot(store, r, "canary");
    let request = SwitchRequest::default();
    let outcome = match run_version(store, opts, &entry, &request) {
        Ok(outcome) => outcome,
        // A canary that cannot even be loaded fails its boot: reverted, not retried forever.
        Err(BootError::Store(e)) => {
            return canary_unreadable(store, opts, generation, entry, chose, &e);
        }
        Err(e) => return Err(e),
    };
    let discarded_request = outcome.host.pending.is_some() || request.get().is_some();
    let clean = outcome.exit == Exit::Halt;
    let reason = format!(
        "boot with {} ended with exit={} after {} cycles (fuel {})",
        opts.engine, outcome.exit, outcome.machine.cycles, opts.fuel
    );
    let (result, detail) = match store.record_canary_boot(clean, &reason)? {
        CanaryOutcome::Counted {
            stage,
            clean,
            needed,
        } => (
            "counted",
            format!("canary boot clean ({clean} of {needed} in stage {stage})"),
        ),
        CanaryOutcome::NextStage { stage } => (
            "next_stage",
            format!("canary boot clean; stage passed, now in stage {stage}"),
        ),
        CanaryOutcome::Promoted { version, id } => (
            "promoted",
            format!(
                "canary boot clean; last stage passed: {version} (id {id}) PROMOTED to current"
            ),
        ),
        CanaryOutcome::Reverted { version, id } => (
            "reverted",
            format!(
                "canary FAILED: {version} (id {id}) marked bad and REVERTED; the current version is untouched"
            ),
        ),
    };
    let action = Action::Canary {
        result,
        detail,
        discarded_request,
    };
    Ok(Generation::of_run(
        generation,
        entry,
        opts,
        outcome,
        Some(chose),
        action,
    ))
}

/// The canary's kernel cannot be read (lost or damaged): revert it.
fn canary_unreadable(
    store: &mut Store,
    opts: &BootOptions,
    generation: u32,
    entry: Entry,
    chose: RolloutBoot,
    error: &StoreError,
) -> Result<Generation, BootError> {
    store.record_canary_boot(false, &format!("its kernel cannot be read: {error}"))?;
    Ok(Generation {
        generation,
        version: entry.version.clone(),
        id: entry.id,
        status: entry.status,
        engine: opts.engine.name(),
        // Nothing ran: the kernel could not be read, which reports as a run that failed.
        exit: Exit::Error,
        cycles: 0,
        pc: 0,
        sysout: Vec::new(),
        rollout: Some(chose),
        action: Action::Canary {
            result: "reverted",
            detail: format!(
                "canary FAILED: its kernel cannot be read ({error}); {} (id {}) marked bad and REVERTED; the current version is untouched",
                entry.version, entry.id
            ),
            discarded_request: false,
        },
    })
}

/// Boot the current version once and act on the result.
fn boot_once(
    store: &mut Store,
    opts: &BootOptions,
    generation: u32,
    policy: &Policy,
) -> Result<Generation, BootError> {
    let entry = store
        .current()
        .cloned()
        .ok_or_else(|| StoreError::NoCurrent {
            root: store.root().to_path_buf(),
        })?;
    store.ensure_id_left()?;
    let request = SwitchRequest::default();
    let mut outcome = run_version(store, opts, &entry, &request)?;
    let switch = request.get().filter(|&id| id != entry.id);
    let pending = outcome.host.pending.take();
    let action = if outcome.exit == Exit::Halt {
        let routed = policy.self_modify == SelfModifyRoute::Pipeline;
        if let Some(p) = pending.as_ref().filter(|_| routed) {
            store.assess(entry.id, true, "")?;
            let source = format!(
                "self_modify {} from {} (id {})",
                p.path, entry.version, entry.id
            );
            let c = pipeline::submit(store, Origin::SelfModify, &source, &p.bytes)?;
            Action::Queued {
                candidate: c.id,
                candidate_state: c.state.to_string(),
            }
        } else if let Some(p) = &pending {
            let child = store.evolve(&p.bytes, &format!("self_modify {}", p.path))?;
            Action::Evolved {
                new_version: child.version,
                new_id: child.id,
                ignored_switch: switch,
            }
        } else if let Some(to) = switch {
            store.guest_switch(entry.id, to)?;
            let to_version = store.get_by_id(to)?.version.clone();
            Action::Switched {
                to_version,
                to_id: to,
            }
        } else {
            store.assess(entry.id, true, "")?;
            Action::Halted
        }
    } else {
        let discarded_request = pending.is_some() || switch.is_some();
        let reason = format!(
            "boot with {} ended with exit={} after {} cycles (fuel {})",
            opts.engine, outcome.exit, outcome.machine.cycles, opts.fuel
        );
        match store.assess(entry.id, false, &reason)? {
            Assessment::RolledBack { to } => Action::RolledBack {
                to_version: to.as_ref().map(|e| e.version.clone()),
                to_id: to.map(|e| e.id),
                discarded_request,
            },
            _ => Action::Failed { discarded_request },
        }
    };
    Ok(Generation::of_run(
        generation, entry, opts, outcome, None, action,
    ))
}
