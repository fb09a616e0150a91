//! The pipeline's steps. [`step`] does one unit of work on a store, under its lock, and
//! commits it: record a file a crash left claimed, take one file from `build/`, move one
//! candidate one state on (queued → validating → ab_testing → ready / rejected /
//! ab_failed), start the rollout of a ready candidate inside a window, or run a chunk of
//! background evolution. Every state is on disk after every step, so a service killed at
//! any instant resumes at the step it was in (a candidate found `validating` or
//! `ab_testing` is simply tested again: both are pure functions of the bytes). The policy
//! is read at every step, so `pxos policy set` needs no restart.

use super::PipelineError;
use super::ab::{ab_test, load_workload};
use super::autonomous::{self, EvolveStep};
use super::intake::{self, kernel_of};
use super::policy::Policy;
use super::validate::validate;
use super::window::{self, Instant};
use crate::store::Store;
use crate::store::candidates::{Candidate, State};
use std::path::Path;

/// What one step did, for the service's log.
#[derive(Debug, PartialEq, Eq)]
pub enum Did {
    /// A candidate was recorded (taken from `build/`, or recovered after a crash).
    Took(Candidate),
    /// A candidate moved on: its id and its new state.
    Moved { id: u64, state: State, note: String },
    /// Background evolution went on.
    Evolved(EvolveStep),
}

impl std::fmt::Display for Did {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Did::Took(c) => write!(
                f,
                "candidate {} from {} ({}): {}",
                c.id, c.source, c.origin, c.state
            ),
            Did::Moved { id, state, note } if note.is_empty() || *note == state.to_string() => {
                write!(f, "candidate {id}: {state}")
            }
            Did::Moved { id, state, note } => write!(f, "candidate {id}: {state} — {note}"),
            Did::Evolved(EvolveStep::Progress {
                from,
                generation,
                of,
            }) => {
                write!(f, "evolution from {from}: generation {generation} of {of}")
            }
            Did::Evolved(EvolveStep::Finished {
                from,
                candidate: Some(id),
                note,
            }) => {
                write!(
                    f,
                    "evolution from {from} finished: submitted candidate {id} ({note})"
                )
            }
            Did::Evolved(EvolveStep::Finished {
                from,
                candidate: None,
                note,
            }) => {
                write!(f, "evolution from {from} finished: {note}")
            }
        }
    }
}

/// What is left when no step can be taken now.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Idle {
    /// Files in `build/` not taken yet, with why.
    pub waiting_files: Vec<(String, &'static str)>,
    /// When a window next opens, if something waits for one.
    pub wake_at: Option<Instant>,
}

/// The outcome of [`step`].
#[derive(Debug)]
pub enum Outcome {
    Did(Did),
    Idle(Idle),
}

/// Take one step on the store at `root` at instant `now` (see the module docs).
pub fn step(root: &Path, now: Instant) -> Result<Outcome, PipelineError> {
    let mut store = Store::open_mut(root, false, &mut |_| {})?;
    let policy = Policy::load(root)?;
    if let Some(c) = intake::recover(&mut store)?.pop() {
        return Ok(Outcome::Did(Did::Took(c)));
    }
    let scan = intake::scan_build(root)?;
    if let Some(name) = scan.ready.first() {
        return Ok(Outcome::Did(Did::Took(intake::claim(&mut store, name)?)));
    }
    if let Some(did) = advance(&mut store, &policy)? {
        return Ok(Outcome::Did(did));
    }
    let open = window::open(&policy.windows, now);
    let wake_at = || window::next_open(&policy.windows, now);
    let ready = store
        .pipeline()
        .candidates
        .iter()
        .find(|c| c.state == State::Ready)
        .cloned();
    let in_flight = store.pipeline().rollout.is_some()
        || store
            .pipeline()
            .candidates
            .iter()
            .any(|c| !c.state.is_final());
    let mut idle = Idle {
        waiting_files: scan.waiting,
        wake_at: None,
    };
    if let Some(c) = ready
        && store.pipeline().rollout.is_none()
    {
        if !open {
            idle.wake_at = wake_at();
            return Ok(Outcome::Idle(idle));
        }
        return Ok(Outcome::Did(start_rollout(&mut store, &policy, &c)?));
    }
    if let (Some(evolve), false) = (&policy.evolve, in_flight) {
        let due = store
            .current()
            .is_some_and(|cur| !store.pipeline().evolution.done_from.contains(&cur.id));
        if due {
            if !open {
                idle.wake_at = wake_at();
                return Ok(Outcome::Idle(idle));
            }
            drop(store); // the generations run without the store lock
            if let Some(s) = autonomous::step(root, evolve)? {
                return Ok(Outcome::Did(Did::Evolved(s)));
            }
            return Ok(Outcome::Idle(idle));
        }
    }
    Ok(Outcome::Idle(idle))
}

/// Move the oldest candidate that is queued, validating or A/B testing one state on.
fn advance(store: &mut Store, policy: &Policy) -> Result<Option<Did>, PipelineError> {
    let Some(c) = store
        .pipeline()
        .candidates
        .iter()
        .find(|c| {
            matches!(
                c.state,
                State::Queued | State::Validating | State::AbTesting
            )
        })
        .cloned()
    else {
        return Ok(None);
    };
    let bytes = match kernel_of(store, &c) {
        Ok(b) => b,
        Err(why) => return moved(store, c.id, State::Rejected { reason: why }, ""),
    };
    match c.state {
        State::Queued => moved(store, c.id, State::Validating, ""),
        State::Validating => match validate(&bytes, policy.fuel) {
            Ok(cycles) => moved(
                store,
                c.id,
                State::AbTesting,
                &format!("probation boot halted after {cycles} cycles on every engine"),
            ),
            Err(reason) => moved(store, c.id, State::Rejected { reason }, ""),
        },
        _ => ab(store, policy, &c, &bytes),
    }
}

fn moved(
    store: &mut Store,
    id: u64,
    state: State,
    note: &str,
) -> Result<Option<Did>, PipelineError> {
    store.set_candidate_state(id, state.clone(), note)?;
    Ok(Some(Did::Moved {
        id,
        state,
        note: note.to_string(),
    }))
}

/// A/B-test candidate `c` against the current version over the policy's workload.
fn ab(
    store: &mut Store,
    policy: &Policy,
    c: &Candidate,
    bytes: &[u8],
) -> Result<Option<Did>, PipelineError> {
    let report_file = format!("c{}.ab.json", c.id);
    let Some(current) = store.current().cloned() else {
        let note = "no current version to compare with; nothing to test";
        let report = serde_json::json!({ "a": null, "b": format!("candidate {}", c.id), "verdict": "untested", "why": note });
        let bytes = serde_json::to_vec_pretty(&report).unwrap_or_default();
        store.record_ab(c.id, State::Ready, note, (&report_file, &bytes), None)?;
        return Ok(Some(Did::Moved {
            id: c.id,
            state: State::Ready,
            note: note.into(),
        }));
    };
    let a = store.read_kernel(&current)?;
    let workload = super::ab::store_workload(store.root(), &policy.workload)
        .map_err(PipelineError::Workload)?;
    let scenarios = match load_workload(Some(&workload), policy.fuel) {
        Ok(s) => s,
        Err(e) => return Err(PipelineError::Workload(e)),
    };
    let a_name = format!("{} (id {})", current.version, current.id);
    let b_name = format!("candidate {}", c.id);
    let state_note = match ab_test(&a_name, &a, &b_name, bytes, &scenarios, &policy.ab) {
        Ok(report) => {
            let json = serde_json::to_vec_pretty(&report).unwrap_or_default();
            let state = if report.pass {
                State::Ready
            } else {
                State::AbFailed {
                    report: report.summary(),
                }
            };
            (state, report.summary(), json)
        }
        Err(why) => {
            let json =
                serde_json::to_vec_pretty(&serde_json::json!({ "error": why })).unwrap_or_default();
            (
                State::AbFailed {
                    report: why.clone(),
                },
                why,
                json,
            )
        }
    };
    store.record_ab(
        c.id,
        state_note.0.clone(),
        &state_note.1,
        (&report_file, &state_note.2),
        Some(current.id),
    )?;
    Ok(Some(Did::Moved {
        id: c.id,
        state: state_note.0,
        note: state_note.1,
    }))
}

/// Start the rollout of ready candidate `c` (testing it again first if the current version
/// changed since its A/B test).
fn start_rollout(store: &mut Store, policy: &Policy, c: &Candidate) -> Result<Did, PipelineError> {
    let current = store.current().map(|e| e.id);
    if c.ab_against != current {
        let note = "the current version changed since its A/B test; testing again";
        store.set_candidate_state(c.id, State::AbTesting, note)?;
        return Ok(Did::Moved {
            id: c.id,
            state: State::AbTesting,
            note: note.into(),
        });
    }
    let bytes = match kernel_of(store, c) {
        Ok(b) => b,
        Err(reason) => {
            store.set_candidate_state(
                c.id,
                State::Rejected {
                    reason: reason.clone(),
                },
                "",
            )?;
            return Ok(Did::Moved {
                id: c.id,
                state: State::Rejected { reason },
                note: String::new(),
            });
        }
    };
    let entry = store.start_canary(
        c.id,
        &bytes,
        &policy.rollout.stages,
        policy.rollout.boots_per_stage,
    )?;
    let stage0 = policy.rollout.stages.first().copied().unwrap_or(100);
    Ok(Did::Moved {
        id: c.id,
        state: State::Canary { stage: 1 },
        note: format!(
            "registered as {} (id {}); `pxos boot` boots it for {stage0} % of boots in stage 1",
            entry.version, entry.id
        ),
    })
}
