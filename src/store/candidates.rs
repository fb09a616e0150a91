//! The Phase 3 pipeline's persistent state, kept in versions.json under `"pipeline"` so that a
//! candidate's change of state and the version change it causes are one commit: the queue of
//! [`Candidate`]s with their [`State`]s, the active staged [`Rollout`] (at most one canary at
//! a time) and the background evolution's progress. The files a candidate owns (the file
//! taken from `build/`, its bytecode, its A/B report) live in `<store>/candidates/` and are
//! written before the commit that names them, like kernel files.
//!
//! This module only records; what moves a candidate from state to state (intake,
//! validation, A/B tests, windows, evolution) is `crate::lifecycle::pipeline`, and the boot cycle
//! (`crate::lifecycle::boot`) drives the rollout. Each operation here checks its input, writes nothing
//! if it is refused, and goes through `Store::commit`.

use super::db::{Db, Entry, EventKind, Status};
use super::error::{Result, StoreError};
use super::{Store, names, ops};
use crate::util::atomic;
use crate::util::date;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// The folder, in the store, of the candidates' files.
pub const CANDIDATES_DIR: &str = "candidates";

/// Where a candidate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A file dropped into `build/` and taken by `pxos watch`.
    Watch,
    /// A kernel's SELF_MODIFY request, when the policy routes it through the pipeline.
    SelfModify,
    /// The best kernel of a background evolution run.
    Evolve,
}

impl Origin {
    /// The snake-case name used in versions.json and listings.
    pub const fn as_str(self) -> &'static str {
        match self {
            Origin::Watch => "watch",
            Origin::SelfModify => "self_modify",
            Origin::Evolve => "evolve",
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a candidate is in the pipeline (see `crate::lifecycle::pipeline` for the diagram).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    /// Taken in, waiting for validation.
    Queued,
    /// Refused: not a kernel, failed a static check or its probation boot.
    Rejected { reason: String },
    /// Being validated (a crash here validates it again).
    Validating,
    /// Being A/B-tested against the current version.
    AbTesting,
    /// Failed its A/B test; `report` is the verdict in one line.
    AbFailed { report: String },
    /// Passed; waiting for an evolution window and for the previous canary to finish.
    Ready,
    /// Being rolled out: `stage` counts from 1.
    Canary { stage: usize },
    /// Passed its last stage and became the current version.
    Promoted,
    /// Failed a canary boot; its version is marked bad, the current version untouched.
    Reverted { reason: String },
    /// Its bytes equal a stored version or a candidate already in the pipeline.
    Duplicate { of: String },
}

impl State {
    /// The state's name, as in versions.json.
    pub fn name(&self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Rejected { .. } => "rejected",
            State::Validating => "validating",
            State::AbTesting => "ab_testing",
            State::AbFailed { .. } => "ab_failed",
            State::Ready => "ready",
            State::Canary { .. } => "canary",
            State::Promoted => "promoted",
            State::Reverted { .. } => "reverted",
            State::Duplicate { .. } => "duplicate",
        }
    }

    /// Whether the candidate has left the pipeline (nothing more happens to it).
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            State::Rejected { .. }
                | State::AbFailed { .. }
                | State::Promoted
                | State::Reverted { .. }
                | State::Duplicate { .. }
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Rejected { reason } => write!(f, "rejected({reason})"),
            State::AbFailed { report } => write!(f, "ab_failed({report})"),
            State::Canary { stage } => write!(f, "canary(stage {stage})"),
            State::Reverted { reason } => write!(f, "reverted({reason})"),
            State::Duplicate { of } => write!(f, "duplicate(of {of})"),
            other => f.write_str(other.name()),
        }
    }
}

/// One change of a candidate's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub date: String,
    /// The state entered (its name).
    pub state: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// A new kernel walking the pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub id: u64,
    pub origin: Origin,
    /// What it was made from, for people: `build/fast.asm`, `self_modify build/kernel_v2.bin
    /// from v1.0 (id 1)`, `evolve from v2.0 (id 2), seed 0`.
    pub source: String,
    #[serde(flatten)]
    pub state: State,
    /// The file taken from `build/`, kept in `candidates/` (the source of an `.asm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken: Option<String>,
    /// Its bytecode in `candidates/`, when it has any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The A/B report in `candidates/`, once tested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab_report: Option<String>,
    /// The version its A/B test compared it with (a test against another current version
    /// is repeated before the rollout starts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ab_against: Option<u64>,
    /// The version it became when its rollout started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<u64>,
    /// Every change of state, oldest first.
    #[serde(default)]
    pub history: Vec<Step>,
}

impl Candidate {
    /// The names of its files in `candidates/`.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        [&self.taken, &self.kernel, &self.ab_report]
            .into_iter()
            .filter_map(|f| f.as_deref())
    }
}

/// Whether `name` names a file directly inside a folder (no separator, not `.`/`..`,
/// not hidden): the only names a candidate's files may have.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

/// The active staged rollout: the canary's version and how far it got. The stages are
/// copied from the policy when the rollout starts, so changing the policy does not move a
/// rollout under way.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rollout {
    pub candidate: u64,
    pub version_id: u64,
    /// The current version when the rollout started (what the canary was tested
    /// against); if another version becomes current, the rollout is abandoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u64>,
    /// Share of boots (percent) that boot the canary, per stage.
    pub stages: Vec<u8>,
    /// Clean canary boots needed to pass a stage.
    pub boots_per_stage: u64,
    /// 0-based index into `stages`.
    pub stage: usize,
    /// Boots (canary or current) since this stage began: the schedule's position.
    pub stage_boots: u64,
    /// Clean canary boots in this stage.
    pub clean_boots: u64,
}

impl Rollout {
    /// Whether boot number `stage_boots` of this stage boots the canary: the canary takes
    /// boot n exactly when ⌊(n+1)·p/100⌋ > ⌊n·p/100⌋, which spreads a share of p percent
    /// evenly (10 % boots the canary on the 10th, 20th, … boot; 50 % every second boot).
    pub fn canary_turn(&self) -> bool {
        let p = u64::from(*self.stages.get(self.stage).unwrap_or(&100)).min(100);
        let n = self.stage_boots;
        (n + 1) * p / 100 > n * p / 100
    }
}

/// Progress of background evolution (see `crate::lifecycle::pipeline::autonomous`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvolutionProgress {
    /// Version ids that a finished run started from (a version is evolved from once).
    #[serde(default)]
    pub done_from: Vec<u64>,
}

/// The pipeline's part of versions.json.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineState {
    /// The highest candidate id ever given.
    #[serde(default)]
    pub last_candidate: u64,
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Rollout>,
    #[serde(default)]
    pub evolution: EvolutionProgress,
}

impl PipelineState {
    /// Whether nothing was ever recorded (then versions.json leaves the field out).
    pub fn is_empty(&self) -> bool {
        *self == PipelineState::default()
    }

    /// The candidate with id `id`.
    pub fn get(&self, id: u64) -> Option<&Candidate> {
        self.candidates.iter().find(|c| c.id == id)
    }

    fn get_mut(&mut self, id: u64) -> Option<&mut Candidate> {
        self.candidates.iter_mut().find(|c| c.id == id)
    }

    /// A candidate still in the pipeline whose bytecode has this SHA-256.
    pub fn in_flight_with(&self, sha256: &str) -> Option<&Candidate> {
        self.candidates
            .iter()
            .find(|c| !c.state.is_final() && c.sha256.as_deref() == Some(sha256))
    }
}

/// What a canary boot led to ([`Store::record_canary_boot`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CanaryOutcome {
    /// Clean; the stage goes on (`clean` of `needed` clean boots so far).
    Counted {
        stage: usize,
        clean: u64,
        needed: u64,
    },
    /// Clean, and the stage was passed: the rollout moves to `stage` (1-based).
    NextStage { stage: usize },
    /// Clean, and the last stage was passed: the canary is the current version now.
    Promoted { version: String, id: u64 },
    /// It failed: its version is marked bad and the rollout ended.
    Reverted { version: String, id: u64 },
}

impl Store {
    /// The candidates' folder.
    pub fn candidates_dir(&self) -> PathBuf {
        self.root().join(CANDIDATES_DIR)
    }

    /// The pipeline's recorded state.
    pub fn pipeline(&self) -> &PipelineState {
        &self.db().pipeline
    }

    /// The id the next candidate gets (not reserved until [`Store::add_candidate`]).
    pub fn next_candidate_id(&self) -> Result<u64> {
        self.pipeline()
            .last_candidate
            .checked_add(1)
            .ok_or(StoreError::CandidateIdsExhausted {
                root: self.root().to_path_buf(),
            })
    }

    /// Write `files` (name, bytes) into `candidates/` — a real folder, never a link — each
    /// crash-safely, with one fsync of the folder; before the commit that names them.
    fn write_candidate_files(&self, files: &[(&str, &[u8])]) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let dir = self.candidates_dir();
        crate::util::nofollow::check_folder(&dir)?;
        atomic::create_dir(&dir)?;
        for (name, bytes) in files {
            atomic::write_synced(&dir.join(name), bytes)?;
        }
        atomic::sync_dir(&dir)?;
        Ok(())
    }

    /// Record a new candidate (its id must be [`Store::next_candidate_id`]) with `files`
    /// (name, bytes) written into `candidates/` first.
    pub fn add_candidate(
        &mut self,
        mut candidate: Candidate,
        files: &[(&str, &[u8])],
    ) -> Result<()> {
        self.require_lock()?;
        self.write_candidate_files(files)?;
        let mut db = self.db().clone();
        let state = candidate.state.clone();
        enter(&mut candidate, state, "");
        db.pipeline.last_candidate = db.pipeline.last_candidate.max(candidate.id);
        db.pipeline.candidates.push(candidate);
        self.commit(db, &[], false)
    }

    /// Move candidate `id` to `state`.
    pub fn set_candidate_state(&mut self, id: u64, state: State, note: &str) -> Result<()> {
        self.require_lock()?;
        let mut db = self.db().clone();
        enter(candidate_mut(&mut db, id, self.root())?, state, note);
        self.commit(db, &[], false)
    }

    /// Record candidate `id`'s A/B test against version `against` (none if there was no
    /// current version): the report file `report` (written into `candidates/` first) and
    /// the state it leads to.
    pub fn record_ab(
        &mut self,
        id: u64,
        state: State,
        note: &str,
        report: (&str, &[u8]),
        against: Option<u64>,
    ) -> Result<()> {
        self.require_lock()?;
        self.write_candidate_files(&[report])?;
        let mut db = self.db().clone();
        let c = candidate_mut(&mut db, id, self.root())?;
        c.ab_report = Some(report.0.to_string());
        c.ab_against = against;
        enter(c, state, note);
        self.commit(db, &[], false)
    }

    /// Start the rollout of candidate `id` (state `ready`) with kernel `bytes`: register it
    /// as a child of the current version, on probation but not current, make it the canary
    /// at stage 1 — one commit.
    pub fn start_canary(
        &mut self,
        id: u64,
        bytes: &[u8],
        stages: &[u8],
        boots_per_stage: u64,
    ) -> Result<Entry> {
        self.require_lock()?;
        ops::validate_kernel(bytes)?;
        let current = self.current().cloned();
        let mut db = self.db().clone();
        let base = current
            .as_ref()
            .map_or("v1.0", |c| c.version.as_str())
            .to_string();
        let name = if current.is_some() {
            names::child_name(&base, |n| db.name_taken(n))
        } else {
            names::child_name("v0.0", |n| db.name_taken(n))
        };
        let c = candidate_mut(&mut db, id, self.root())?;
        let origin = format!("{} {} (candidate {id})", c.origin, c.source);
        let entry = ops::new_entry(
            &mut db,
            self.root(),
            &name,
            bytes,
            current.as_ref(),
            &origin,
        )?;
        db.history.push(entry.clone());
        let c = candidate_mut(&mut db, id, self.root())?;
        c.version_id = Some(entry.id);
        enter(
            c,
            State::Canary { stage: 1 },
            &format!("registered as {} (id {})", entry.version, entry.id),
        );
        db.pipeline.rollout = Some(Rollout {
            candidate: id,
            version_id: entry.id,
            base: current.as_ref().map(|c| c.id),
            stages: stages.to_vec(),
            boots_per_stage: boots_per_stage.max(1),
            stage: 0,
            stage_boots: 0,
            clean_boots: 0,
        });
        self.commit(db, &[(&entry.file, bytes)], false)?;
        Ok(entry)
    }

    /// A boot of the current version while a rollout is active: advance the schedule.
    pub fn record_current_boot(&mut self) -> Result<()> {
        self.require_lock()?;
        let mut db = self.db().clone();
        if let Some(r) = db.pipeline.rollout.as_mut() {
            r.stage_boots += 1;
            self.commit(db, &[], false)?;
        }
        Ok(())
    }

    /// A boot of the canary ended, `clean` or not (`reason` says how): count it, move to the
    /// next stage, promote it after the last one, or revert it — one commit.
    pub fn record_canary_boot(&mut self, clean: bool, reason: &str) -> Result<CanaryOutcome> {
        self.require_lock()?;
        let mut db = self.db().clone();
        let Some(mut r) = db.pipeline.rollout.take() else {
            return Err(StoreError::NoRollout {
                root: self.root().to_path_buf(),
            });
        };
        let entry = db
            .by_id(r.version_id)
            .cloned()
            .ok_or(StoreError::UnknownId {
                id: r.version_id,
                root: self.root().to_path_buf(),
            })?;
        let stage = r.stage + 1;
        let outcome = if !clean {
            if let Some(e) = db.by_id_mut(entry.id) {
                e.status = Status::Bad;
            }
            let why = format!("canary boot in stage {stage} failed: {reason}");
            push(&mut db, EventKind::Reverted, &entry, &why);
            enter(
                candidate_mut(&mut db, r.candidate, self.root())?,
                State::Reverted {
                    reason: why.clone(),
                },
                "",
            );
            CanaryOutcome::Reverted {
                version: entry.version.clone(),
                id: entry.id,
            }
        } else {
            r.stage_boots += 1;
            r.clean_boots += 1;
            if r.clean_boots < r.boots_per_stage {
                let out = CanaryOutcome::Counted {
                    stage,
                    clean: r.clean_boots,
                    needed: r.boots_per_stage,
                };
                db.pipeline.rollout = Some(r);
                out
            } else if stage < r.stages.len() {
                r.stage += 1;
                r.stage_boots = 0;
                r.clean_boots = 0;
                let note = format!("stage {stage} passed ({} clean boots)", r.boots_per_stage);
                enter(
                    candidate_mut(&mut db, r.candidate, self.root())?,
                    State::Canary { stage: stage + 1 },
                    &note,
                );
                db.pipeline.rollout = Some(r);
                CanaryOutcome::NextStage { stage: stage + 1 }
            } else {
                if let Some(e) = db.by_id_mut(entry.id) {
                    e.status = Status::Good;
                }
                let why = format!("canary passed all {} stage(s)", r.stages.len());
                push(&mut db, EventKind::Promoted, &entry, &why);
                db.set_current(Some(entry.id));
                db.last_good = Some(entry.id);
                enter(
                    candidate_mut(&mut db, r.candidate, self.root())?,
                    State::Promoted,
                    &why,
                );
                CanaryOutcome::Promoted {
                    version: entry.version.clone(),
                    id: entry.id,
                }
            }
        };
        self.commit(db, &[], false)?;
        Ok(outcome)
    }

    /// End the rollout without a verdict on the canary (the current version changed under
    /// it: it was tested against another one): its candidate is reverted with `reason`,
    /// its version stays as it is, and the event is recorded.
    pub fn abandon_rollout(&mut self, reason: &str) -> Result<()> {
        self.require_lock()?;
        let mut db = self.db().clone();
        let Some(r) = db.pipeline.rollout.take() else {
            return Ok(());
        };
        let why = format!("rollout abandoned: {reason}");
        if let Some(entry) = db.by_id(r.version_id).cloned() {
            push(&mut db, EventKind::Reverted, &entry, &why);
        }
        if let Some(c) = db.pipeline.get_mut(r.candidate) {
            enter(c, State::Reverted { reason: why }, "");
        }
        self.commit(db, &[], false)
    }

    /// Record that background evolution finished a run from version `from`.
    pub fn record_evolution_done(&mut self, from: u64) -> Result<()> {
        self.require_lock()?;
        let mut db = self.db().clone();
        if !db.pipeline.evolution.done_from.contains(&from) {
            db.pipeline.evolution.done_from.push(from);
            self.commit(db, &[], false)?;
        }
        Ok(())
    }
}

/// versions.json's `pipeline` read tolerantly, as the rest of the file is (`super::load`):
/// a candidate that does not read is dropped alone (its files stay in `candidates/`), a
/// field that does not read takes its default, each with a message.
pub(crate) fn read_pipeline(value: serde_json::Value, msgs: &mut Vec<String>) -> PipelineState {
    use serde_json::Value;
    let Value::Object(mut fields) = value else {
        msgs.push("versions.json: \"pipeline\" is not an object; the pipeline's state is left out (the damaged file that is kept holds it)".into());
        return PipelineState::default();
    };
    let mut field = |name: &str| -> Option<Value> {
        let v = fields.remove(name)?;
        (!v.is_null()).then_some(v)
    };
    let mut out = PipelineState::default();
    if let Some(v) = field("last_candidate") {
        match serde_json::from_value(v) {
            Ok(n) => out.last_candidate = n,
            Err(e) => msgs.push(format!(
                "versions.json: pipeline.last_candidate {e}; recomputed from the candidates"
            )),
        }
    }
    match field("candidates") {
        Some(Value::Array(items)) => {
            for (at, item) in items.into_iter().enumerate() {
                let id = item.get("id").and_then(Value::as_u64);
                match serde_json::from_value::<Candidate>(item) {
                    Ok(c) if !c.files().all(is_plain_file_name) => msgs.push(format!(
                        "versions.json: pipeline candidate {at} (id {}) names a file outside candidates/; dropped",
                        c.id
                    )),
                    Ok(c) if out.candidates.iter().all(|k| k.id != c.id) => out.candidates.push(c),
                    Ok(c) => msgs.push(format!(
                        "versions.json: pipeline candidate {at} repeats id {}; dropped",
                        c.id
                    )),
                    Err(e) => msgs.push(format!(
                        "versions.json: pipeline candidate {at}{} {e}; dropped",
                        id.map_or(String::new(), |id| format!(" (id {id})"))
                    )),
                }
            }
        }
        Some(_) => msgs.push("versions.json: pipeline.candidates is not a list; left out".into()),
        None => {}
    }
    if let Some(v) = field("rollout") {
        match serde_json::from_value(v) {
            Ok(r) => out.rollout = Some(r),
            Err(e) => msgs.push(format!(
                "versions.json: pipeline.rollout {e}; the rollout is ended"
            )),
        }
    }
    if let Some(v) = field("evolution") {
        match serde_json::from_value(v) {
            Ok(e) => out.evolution = e,
            Err(e) => msgs.push(format!("versions.json: pipeline.evolution {e}; reset")),
        }
    }
    out
}

/// Sanitize check: the candidate counter covers every candidate id (else the next
/// candidate would reuse an id and claim another's files).
pub(crate) fn candidate_counter_covers_every_candidate(db: &mut Db) -> Vec<String> {
    let max = db
        .pipeline
        .candidates
        .iter()
        .map(|c| c.id)
        .max()
        .unwrap_or(0);
    if db.pipeline.last_candidate >= max {
        return Vec::new();
    }
    let was = db.pipeline.last_candidate;
    db.pipeline.last_candidate = max;
    vec![format!(
        "versions.json: pipeline.last_candidate {was} was below the highest candidate id {max}; raised"
    )]
}

/// Sanitize check: the rollout's canary is a version of the store that may boot, and its
/// candidate exists; else the rollout is ended and its candidate reverted.
pub(crate) fn rollout_names_a_bootable_canary(db: &mut Db) -> Vec<String> {
    let Some(r) = db.pipeline.rollout.clone() else {
        return Vec::new();
    };
    let problem = match db.by_id(r.version_id) {
        None => Some(format!(
            "its canary, version id {}, is not in the history",
            r.version_id
        )),
        Some(e) if !e.status.bootable() => Some(format!(
            "its canary {} (id {}) is {}",
            e.version, e.id, e.status
        )),
        Some(_) if db.pipeline.get(r.candidate).is_none() => Some(format!(
            "its candidate {} is not in the pipeline",
            r.candidate
        )),
        Some(_) if r.stages.is_empty() || r.stage >= r.stages.len() => Some(format!(
            "its stage {} is not one of its {} stages",
            r.stage + 1,
            r.stages.len()
        )),
        Some(_) => None,
    };
    let Some(problem) = problem else {
        return Vec::new();
    };
    db.pipeline.rollout = None;
    if let Some(c) = db.pipeline.get_mut(r.candidate) {
        enter(
            c,
            State::Reverted {
                reason: format!("the rollout was ended: {problem}"),
            },
            "",
        );
    }
    vec![format!(
        "versions.json: the rollout of candidate {} was ended: {problem}",
        r.candidate
    )]
}

fn candidate_mut<'d>(db: &'d mut Db, id: u64, root: &std::path::Path) -> Result<&'d mut Candidate> {
    db.pipeline.get_mut(id).ok_or(StoreError::UnknownCandidate {
        id,
        root: root.to_path_buf(),
    })
}

fn enter(c: &mut Candidate, state: State, note: &str) {
    let note = if note.is_empty() {
        state.to_string()
    } else {
        note.to_string()
    };
    c.history.push(Step {
        date: date::now_utc(),
        state: state.name().to_string(),
        note,
    });
    c.state = state;
}

fn push(db: &mut Db, kind: EventKind, canary: &Entry, reason: &str) {
    ops::push_event(db, kind, canary.id, reason);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(p: u8) -> Rollout {
        Rollout {
            candidate: 1,
            version_id: 2,
            base: Some(1),
            stages: vec![p],
            boots_per_stage: 1,
            stage: 0,
            stage_boots: 0,
            clean_boots: 0,
        }
    }

    fn turns(p: u8, n: u64) -> Vec<u64> {
        let mut r = rollout(p);
        (0..n)
            .filter(|&i| {
                r.stage_boots = i;
                r.canary_turn()
            })
            .collect()
    }

    #[test]
    fn the_schedule_spreads_the_share_evenly() {
        assert_eq!(turns(10, 30), [9, 19, 29]);
        assert_eq!(turns(50, 6), [1, 3, 5]);
        assert_eq!(turns(100, 3), [0, 1, 2]);
        assert_eq!(turns(0, 50), Vec::<u64>::new());
        assert_eq!(turns(25, 100).len(), 25);
    }

    #[test]
    fn a_candidate_naming_a_file_outside_its_folder_is_dropped() {
        let json = serde_json::json!({
            "last_candidate": 2,
            "candidates": [
                {"id": 1, "origin": "watch", "source": "build/a.asm", "state": "queued", "kernel": "../../../etc/passwd"},
                {"id": 2, "origin": "watch", "source": "build/b.asm", "state": "queued", "kernel": "c2.bin"}
            ]
        });
        let mut msgs = Vec::new();
        let p = read_pipeline(json, &mut msgs);
        assert_eq!(p.candidates.iter().map(|c| c.id).collect::<Vec<_>>(), [2]);
        assert!(
            msgs[0].contains("names a file outside candidates/"),
            "{msgs:?}"
        );
    }

    #[test]
    fn one_bad_candidate_costs_only_itself() {
        let json = serde_json::json!({
            "last_candidate": 3,
            "candidates": [
                {"id": 1, "origin": "watch", "source": "build/a.asm", "state": "queued"},
                {"id": 2, "origin": "martian", "source": "build/b.asm", "state": "queued"},
                {"id": 3, "origin": "watch", "source": "build/c.asm", "state": "rejected", "reason": "x"}
            ],
            "rollout": "broken"
        });
        let mut msgs = Vec::new();
        let p = read_pipeline(json, &mut msgs);
        assert_eq!(
            p.candidates.iter().map(|c| c.id).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(p.last_candidate, 3);
        assert!(p.rollout.is_none());
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("pipeline candidate 1 (id 2)"), "{msgs:?}");
    }

    #[test]
    fn states_serialise_flat_with_their_fields() {
        let c = Candidate {
            id: 3,
            origin: Origin::Watch,
            source: "build/a.asm".into(),
            state: State::Rejected {
                reason: "too large".into(),
            },
            taken: None,
            kernel: None,
            size: None,
            sha256: None,
            ab_report: None,
            ab_against: None,
            version_id: None,
            history: vec![],
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["state"], "rejected");
        assert_eq!(json["reason"], "too large");
        assert_eq!(json["origin"], "watch");
        let back: Candidate = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        assert_eq!(c.state.to_string(), "rejected(too large)");
    }
}
