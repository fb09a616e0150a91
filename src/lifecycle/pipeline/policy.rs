//! The store's evolution policy, `<store>/policy.json`: how SELF_MODIFY requests are taken,
//! the fuel of validation and A/B runs, the workload, what an A/B test must show, the
//! rollout stages, the evolution windows and the background evolution's goal. A missing
//! file means the defaults, which keep the seed's behaviour (SELF_MODIFY installs directly
//! on probation). Unknown fields and bad values are errors that name the field.
//! `pxos policy set KEY VALUE` changes one field by its dotted name ([`Policy::set`]).

use super::window::Window;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Most fuel of a validation boot or an A/B scenario: a second or so on the slowest
/// engine, so that no kernel can hold the service (and the store lock) for long.
pub const MAX_FUEL: u64 = 1_000_000_000;

/// Most fuel of one evaluation in background evolution.
pub const MAX_EVOLVE_FUEL: u64 = 10_000_000;

/// Largest policy.json read.
const MAX_POLICY_BYTES: u64 = 1 << 20;

/// The policy file's name in the store folder.
pub const POLICY_FILE: &str = "policy.json";

/// How a kernel's SELF_MODIFY request is taken by `pxos boot`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SelfModifyRoute {
    /// The seed's behaviour: the new kernel is installed at once, on probation.
    #[default]
    Direct,
    /// The new kernel becomes a candidate and walks the pipeline (validation, A/B, rollout).
    Pipeline,
}

/// What an A/B test must show for a candidate to pass.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AbPolicy {
    /// Most total cycles of the candidate over the current version's (1.0: no more cycles).
    pub max_cycles_ratio: f64,
    /// Whether a candidate whose output differs may pass (false: outputs must be equal).
    pub allow_different_output: bool,
}

impl Default for AbPolicy {
    fn default() -> Self {
        AbPolicy {
            max_cycles_ratio: 1.0,
            allow_different_output: false,
        }
    }
}

/// The staged rollout of a candidate that passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RolloutPolicy {
    /// Share of boots (percent, rising, the last 100) that boot the canary, per stage.
    pub stages: Vec<u8>,
    /// Clean canary boots needed to pass each stage.
    pub boots_per_stage: u64,
}

impl Default for RolloutPolicy {
    fn default() -> Self {
        RolloutPolicy {
            stages: vec![10, 50, 100],
            boots_per_stage: 3,
        }
    }
}

/// The goal of background evolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvolveGoal {
    /// Same output and data memory as the current version, in fewer cycles.
    Faster,
    /// Print `target` (one line each).
    Output,
}

/// Background evolution: inside a window, when no candidate is in the pipeline, search
/// from the current version and submit the best kernel found as a candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvolvePolicy {
    pub goal: EvolveGoal,
    /// For `output`: the lines to print.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target: Vec<String>,
    /// The budget of one run.
    #[serde(default = "defaults::generations")]
    pub generations: u64,
    #[serde(default = "defaults::population")]
    pub population: usize,
    #[serde(default)]
    pub seed: u64,
    /// Fuel of each evaluated kernel.
    #[serde(default = "defaults::evolve_fuel")]
    pub fuel: u64,
}

mod defaults {
    pub fn generations() -> u64 {
        200
    }
    pub fn population() -> usize {
        100
    }
    pub fn evolve_fuel() -> u64 {
        10_000
    }
    pub fn fuel() -> u64 {
        1_000_000
    }
    pub fn workload() -> String {
        "workload".to_string()
    }
}

/// The whole policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub self_modify: SelfModifyRoute,
    /// Fuel of a validation boot and of each A/B scenario that does not set its own.
    pub fuel: u64,
    /// The A/B workload folder, relative to the store (a missing folder: one plain boot).
    pub workload: String,
    pub ab: AbPolicy,
    pub rollout: RolloutPolicy,
    /// When promotions start and background evolution runs; empty: always.
    pub windows: Vec<Window>,
    /// Background evolution, or none.
    pub evolve: Option<EvolvePolicy>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            self_modify: SelfModifyRoute::Direct,
            fuel: defaults::fuel(),
            workload: defaults::workload(),
            ab: AbPolicy::default(),
            rollout: RolloutPolicy::default(),
            windows: Vec::new(),
            evolve: None,
        }
    }
}

/// A policy that cannot be read or used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Read(#[from] crate::util::FsError),
    #[error("{}: {message} (fix or remove the file: without it the defaults apply)", path.display())]
    Invalid { path: PathBuf, message: String },
    #[error("policy key {key:?}: {message}")]
    Key { key: String, message: String },
}

/// The bounds of each numeric key, inclusive: what [`Policy::check`] enforces and what
/// `pxos policy keys` shows ([`keys`]), from this one table.
pub const BOUNDS: &[(&str, u64, u64)] = &[
    ("fuel", 1, MAX_FUEL),
    ("rollout.boots_per_stage", 1, 1_000_000),
    ("evolve.generations", 1, 1_000_000),
    ("evolve.population", 2, 100_000),
    ("evolve.fuel", 1, MAX_EVOLVE_FUEL),
];

/// `value` of the numeric key `key` within its [`BOUNDS`], or (key, what is wrong).
fn check_bounds(key: &'static str, value: u64) -> Result<(), (&'static str, String)> {
    match BOUNDS.iter().find(|b| b.0 == key) {
        Some(&(_, lo, hi)) if !(lo..=hi).contains(&value) => {
            Err((key, format!("must be {lo} ..= {hi}")))
        }
        _ => Ok(()),
    }
}

/// Every key `pxos policy set` accepts, with what its value looks like (a numeric key's
/// bounds are added by [`keys`]).
pub const KEYS: &[(&str, &str)] = &[
    ("self_modify", "direct | pipeline"),
    ("fuel", "instructions"),
    ("workload", "folder relative to the store"),
    ("ab.max_cycles_ratio", "number >= 0, e.g. 1.0"),
    ("ab.allow_different_output", "true | false"),
    ("rollout.stages", "percentages, e.g. 10,50,100"),
    ("rollout.boots_per_stage", "clean boots"),
    (
        "windows",
        "`always` or windows separated by `;`, e.g. daily 02:00-04:00 UTC; sat 00:00-06:00 UTC",
    ),
    ("evolve", "off"),
    ("evolve.goal", "faster | output"),
    ("evolve.target", "comma-separated output lines"),
    ("evolve.generations", "generations per run"),
    ("evolve.population", "kernels per generation"),
    ("evolve.seed", "integer"),
    ("evolve.fuel", "instructions per evaluation"),
];

/// [`KEYS`] as `pxos policy keys` shows them: numeric keys with their [`BOUNDS`].
pub fn keys() -> Vec<(&'static str, String)> {
    KEYS.iter()
        .map(|&(key, what)| match BOUNDS.iter().find(|b| b.0 == key) {
            Some((_, lo, hi)) => (key, format!("{what} ({lo} ..= {hi})")),
            None => (key, what.to_string()),
        })
        .collect()
}

impl Policy {
    /// The policy of the store at `root` (the defaults if it has no policy file).
    pub fn load(root: &Path) -> Result<Policy, PolicyError> {
        let path = root.join(POLICY_FILE);
        if matches!(std::fs::symlink_metadata(&path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        {
            return Ok(Policy::default());
        }
        // A regular file only (never through a link, never blocking on a FIFO), bounded.
        let bytes =
            crate::util::nofollow::read_regular(&path, MAX_POLICY_BYTES)?.map_err(|size| {
                PolicyError::Invalid {
                    path: path.clone(),
                    message: format!("is {size} bytes; a policy is at most 1 MiB"),
                }
            })?;
        let policy: Policy = serde_json::from_slice(&bytes).map_err(|e| PolicyError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        policy
            .check()
            .map_err(|(key, message)| PolicyError::Invalid {
                path,
                message: format!("{key}: {message}"),
            })?;
        Ok(policy)
    }

    /// The policy as pretty-printed JSON with a final newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Check the values that serde cannot: (field, what is wrong).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        check_bounds("fuel", self.fuel)?;
        if !(self.ab.max_cycles_ratio >= 0.0 && self.ab.max_cycles_ratio.is_finite()) {
            return Err(("ab.max_cycles_ratio", "must be a finite number >= 0".into()));
        }
        let s = &self.rollout.stages;
        if s.is_empty()
            || s.iter().any(|&p| p == 0 || p > 100)
            || s.windows(2).any(|w| w[0] > w[1])
            || s.last() != Some(&100)
        {
            return Err((
                "rollout.stages",
                format!("{s:?}: percentages 1..=100, rising, ending with 100"),
            ));
        }
        if s.len() > 10 {
            return Err(("rollout.stages", "at most 10 stages".into()));
        }
        check_bounds("rollout.boots_per_stage", self.rollout.boots_per_stage)?;
        if Path::new(&self.workload).is_absolute()
            || self.workload.split(['/', '\\']).any(|c| c == "..")
        {
            return Err((
                "workload",
                "must be a folder inside the store (relative, no `..`)".into(),
            ));
        }
        if let Some(e) = &self.evolve {
            check_bounds("evolve.generations", e.generations)?;
            check_bounds("evolve.population", e.population as u64)?;
            check_bounds("evolve.fuel", e.fuel)?;
            if e.goal == EvolveGoal::Output && e.target.is_empty() {
                return Err(("evolve.target", "the output goal needs target lines".into()));
            }
            if e.target.iter().any(|t| t.is_empty() || t.contains('\n')) {
                return Err((
                    "evolve.target",
                    "target lines must be non-empty, one line each".into(),
                ));
            }
        }
        Ok(())
    }

    /// Set field `key` (a dotted name from [`KEYS`]) from its text `value`; the whole
    /// policy is checked afterwards. Errors name the key.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), PolicyError> {
        let err = |message: String| PolicyError::Key {
            key: key.to_string(),
            message,
        };
        fn num<T: std::str::FromStr>(v: &str) -> Result<T, String> {
            v.trim()
                .parse()
                .map_err(|_| format!("{v:?} is not a valid number here"))
        }
        fn evolve(p: &mut Policy) -> &mut EvolvePolicy {
            p.evolve.get_or_insert(EvolvePolicy {
                goal: EvolveGoal::Faster,
                target: Vec::new(),
                generations: defaults::generations(),
                population: defaults::population(),
                seed: 0,
                fuel: defaults::evolve_fuel(),
            })
        }
        let mut next = self.clone();
        match key {
            "self_modify" => {
                next.self_modify = match value {
                    "direct" => SelfModifyRoute::Direct,
                    "pipeline" => SelfModifyRoute::Pipeline,
                    _ => return Err(err(format!("{value:?}: expected direct or pipeline"))),
                }
            }
            "fuel" => next.fuel = num(value).map_err(err)?,
            "workload" => next.workload = value.to_string(),
            "ab.max_cycles_ratio" => next.ab.max_cycles_ratio = num(value).map_err(err)?,
            "ab.allow_different_output" => {
                next.ab.allow_different_output = num::<bool>(value)
                    .map_err(|_| err(format!("{value:?}: expected true or false")))?
            }
            "rollout.stages" => {
                next.rollout.stages = value
                    .split(',')
                    .map(num::<u8>)
                    .collect::<Result<_, _>>()
                    .map_err(err)?
            }
            "rollout.boots_per_stage" => next.rollout.boots_per_stage = num(value).map_err(err)?,
            "windows" => {
                next.windows = if value.trim() == "always" || value.trim().is_empty() {
                    Vec::new()
                } else {
                    value
                        .split(';')
                        .map(|w| w.trim().parse())
                        .collect::<Result<_, _>>()
                        .map_err(err)?
                }
            }
            "evolve" => {
                if value != "off" {
                    return Err(err(format!(
                        "{value:?}: only `off` (turn it on with evolve.goal)"
                    )));
                }
                next.evolve = None
            }
            "evolve.goal" => {
                evolve(&mut next).goal = match value {
                    "faster" => EvolveGoal::Faster,
                    "output" => EvolveGoal::Output,
                    "off" => {
                        next.evolve = None;
                        return self.replace_checked(next, key);
                    }
                    _ => return Err(err(format!("{value:?}: expected faster, output or off"))),
                }
            }
            "evolve.target" => {
                evolve(&mut next).target = value.split(',').map(|s| s.trim().to_string()).collect()
            }
            "evolve.generations" => evolve(&mut next).generations = num(value).map_err(err)?,
            "evolve.population" => evolve(&mut next).population = num(value).map_err(err)?,
            "evolve.seed" => evolve(&mut next).seed = num(value).map_err(err)?,
            "evolve.fuel" => evolve(&mut next).fuel = num(value).map_err(err)?,
            _ => {
                let known: Vec<&str> = KEYS.iter().map(|k| k.0).collect();
                return Err(err(format!(
                    "unknown key; the keys are {}",
                    known.join(", ")
                )));
            }
        }
        self.replace_checked(next, key)
    }

    fn replace_checked(&mut self, next: Policy, key: &str) -> Result<(), PolicyError> {
        next.check().map_err(|(field, message)| PolicyError::Key {
            key: if field == key {
                key.to_string()
            } else {
                format!("{key} (then {field})")
            },
            message,
        })?;
        *self = next;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_the_seed_behaviour_and_round_trip() {
        let p = Policy::default();
        assert_eq!(p.self_modify, SelfModifyRoute::Direct);
        assert!(p.check().is_ok());
        let back: Policy = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(back, p);
        let empty: Policy = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, p);
    }

    #[test]
    fn set_changes_one_field_and_names_bad_ones() {
        let mut p = Policy::default();
        p.set("rollout.stages", "50,100").unwrap();
        p.set("windows", "daily 02:00-04:00 UTC; sat 00:00-06:00 UTC")
            .unwrap();
        p.set("evolve.goal", "faster").unwrap();
        assert_eq!(p.rollout.stages, [50, 100]);
        assert_eq!(p.windows.len(), 2);
        assert_eq!(p.evolve.as_ref().unwrap().generations, 200);
        for (key, value, says) in [
            ("rollout.stages", "50,20", "rising"),
            ("rollout.stages", "x", "not a valid number"),
            ("self_modify", "sometimes", "direct or pipeline"),
            ("nonsense", "1", "unknown key"),
            ("windows", "daily 02:00-04:00", "expected"),
            ("evolve.population", "1", "2 ..= 100000"),
            ("fuel", "18446744073709551615", "1 ..= 1000000000"),
            ("evolve.fuel", "100000000", "1 ..= 10000000"),
            ("evolve", "offf", "only `off`"),
            ("evolve.target", ",", "non-empty"),
        ] {
            let e = p.clone().set(key, value).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(says), "{key}={value}: {e}");
        }
    }

    #[test]
    fn unknown_fields_in_the_file_are_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(POLICY_FILE),
            r#"{"self_modfy": "pipeline"}"#,
        )
        .unwrap();
        let e = Policy::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("self_modfy"), "{e}");
        std::fs::write(
            dir.path().join(POLICY_FILE),
            r#"{"rollout": {"stages": [10]}}"#,
        )
        .unwrap();
        let e = Policy::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("rollout.stages"), "{e}");
    }
}
