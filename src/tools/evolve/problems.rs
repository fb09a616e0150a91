//! The shipped problem suite (`kernels/evolve/problems/`): integer program-synthesis
//! problems in the spirit of PSB1/PSB2, each a `NAME.json` (description, input registers,
//! output convention, instruction-set hint, default budget) with training cases
//! (`NAME.train.jsonl`) and held-out test cases (`NAME.test.jsonl`), built into the binary.
//! [`solve`] runs one problem from a seed kernel and stops at the first generation whose
//! best kernel has zero error on both training and held-out cases (a success).

use super::cases::{self, CaseGoal, CasesError};
use super::genome::MutationRates;
use super::goal::Goal;
use super::select::Selection;
use super::{Config, Evolution};
use crate::runtime::engines::EngineKind;
use serde::Deserialize;
use std::collections::BTreeMap;

macro_rules! problems {
    ($($name:literal),*) => {
        /// Every shipped problem: (name, spec JSON, training cases, test cases).
        pub const PROBLEMS: &[(&str, &str, &str, &str)] = &[$((
            $name,
            include_str!(concat!("../../../kernels/evolve/problems/", $name, ".json")),
            include_str!(concat!("../../../kernels/evolve/problems/", $name, ".train.jsonl")),
            include_str!(concat!("../../../kernels/evolve/problems/", $name, ".test.jsonl")),
        )),*];
    };
}

problems!(
    "larger",
    "absolute",
    "sum_to_n",
    "gcd",
    "collatz",
    "digits",
    "fuel_cost",
    "fibonacci"
);

/// A problem's default budget.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
pub struct Budget {
    pub generations: u64,
    pub population: usize,
    pub fuel: u64,
    /// Generation 0's random kernels are 1 to this many instructions long
    /// ([`Config::init_length`]).
    pub init_length: usize,
    /// Parsimony ([`Config::size_weight`]; absent: 0).
    #[serde(default)]
    pub size_weight: f64,
    /// UMAD's addition rate ([`super::genome::MutationRates::umad`]; absent: 0, off).
    #[serde(default)]
    pub umad: f64,
    /// Percent of children bred by crossover (absent: the default, 20).
    #[serde(default)]
    pub crossover: Option<u32>,
}

/// A problem's `NAME.json`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub name: String,
    pub description: String,
    /// Register → what it holds at boot.
    pub inputs: BTreeMap<String, String>,
    /// Where the answer must be (e.g. "max(a, b) in R1 at HALT").
    pub output: String,
    /// The instruction-set hint: the opcodes mutations may insert.
    pub opcodes: Vec<String>,
    /// The syscalls mutations may insert.
    pub syscalls: Vec<u8>,
    /// The registers new instructions may use: R0..R`registers` (1 to 8; absent: 8).
    #[serde(default = "all_registers")]
    pub registers: u8,
    /// Constants the problem needs, which new immediates favour (absent: none).
    #[serde(default)]
    pub constants: Vec<i32>,
    pub budget: Budget,
}

fn all_registers() -> u8 {
    pxvm::machine::NUM_REGS as u8
}

/// A loaded problem.
#[derive(Clone, Debug)]
pub struct Problem {
    pub spec: Spec,
    pub goal: CaseGoal,
}

/// A problem that cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProblemError {
    #[error("unknown problem '{0}' (the suite has: {list})", list = names().join(", "))]
    Unknown(String),
    #[error("problem {0}: {1}")]
    Spec(String, String),
    #[error(transparent)]
    Cases(#[from] CasesError),
}

/// The names of the shipped problems, in suite order.
pub fn names() -> Vec<&'static str> {
    PROBLEMS.iter().map(|p| p.0).collect()
}

/// Load the shipped problem `name`.
pub fn load(name: &str) -> Result<Problem, ProblemError> {
    let &(_, json, train, test) = PROBLEMS
        .iter()
        .find(|p| p.0 == name)
        .ok_or_else(|| ProblemError::Unknown(name.to_string()))?;
    let spec: Spec =
        serde_json::from_str(json).map_err(|e| ProblemError::Spec(name.into(), e.to_string()))?;
    let opcodes = spec
        .opcodes
        .iter()
        .map(|o| {
            cases::opcode(o)
                .ok_or_else(|| ProblemError::Spec(name.into(), format!("unknown opcode {o}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !(1..=pxvm::machine::NUM_REGS as u8).contains(&spec.registers) {
        return Err(ProblemError::Spec(
            name.into(),
            format!("registers is {}; it must be 1..=8", spec.registers),
        ));
    }
    let goal = CaseGoal {
        train: cases::parse(train, &format!("{name}.train.jsonl"))?,
        test: cases::parse(test, &format!("{name}.test.jsonl"))?,
        syscalls: Some(spec.syscalls.clone()),
        opcodes,
        constants: spec.constants.clone(),
        registers: spec.registers,
    };
    Ok(Problem { spec, goal })
}

/// The trivial seed kernel problems start from: `HALT`.
pub const SEED_KERNEL: &[u8] = &[0x00];

/// How one run of a problem ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Zero error on training and held-out cases.
    pub solved: bool,
    /// Generations run (the generation of success when solved).
    pub generations: u64,
    pub train_error: f64,
    pub test_error: f64,
    pub best: Vec<u8>,
    pub evaluations: u64,
}

/// Run `problem` with `config` (its seed, budget and selection) from `seed_kernel`,
/// stopping at the first success; `on_generation` sees each generation's log line.
pub fn solve(
    problem: &Problem,
    config: Config,
    seed_kernel: &[u8],
    on_generation: &mut dyn FnMut(&super::GenerationLog),
) -> Result<Outcome, super::Invalid> {
    config.validate()?;
    let goal = Goal::Cases(problem.goal.clone());
    let mut evo = Evolution::start(config, &goal, seed_kernel);
    let solved = |evo: &Evolution| {
        evo.best().fitness.error == 0.0 && evo.evaluator.test_error(&evo.best().genome) == Some(0.0)
    };
    let mut done = solved(&evo);
    while !done && evo.state.generation < evo.state.config.generations {
        let (line, _) = evo.step();
        on_generation(&line);
        done = line.best_error == 0.0 && line.test_error == Some(0.0);
    }
    Ok(Outcome {
        solved: done,
        generations: evo.state.generation,
        train_error: evo.best().fitness.error,
        test_error: evo.evaluator.test_error(&evo.best().genome).unwrap_or(0.0),
        best: evo.best().genome.clone(),
        evaluations: evo.evaluator.evaluations,
    })
}

/// The configuration of a problem's run: its budget, the given seed and selection.
pub fn config(problem: &Problem, seed: u64, selection: Selection) -> Config {
    Config {
        seed,
        population: problem.spec.budget.population,
        generations: problem.spec.budget.generations,
        fuel: problem.spec.budget.fuel,
        init_length: problem.spec.budget.init_length,
        size_weight: problem.spec.budget.size_weight,
        engine: EngineKind::Interp,
        selection,
        rates: MutationRates {
            umad: problem.spec.budget.umad,
            crossover_percent: problem
                .spec
                .budget
                .crossover
                .unwrap_or(MutationRates::default().crossover_percent),
            ..MutationRates::default()
        },
        ..Config::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(bytes: &[u8]) -> Vec<i64> {
        bytes
            .chunks(4)
            .map(|w| i64::from(i32::from_le_bytes([w[0], w[1], w[2], w[3]])))
            .collect()
    }

    /// Independent reference implementations of the problems.
    fn reference(name: &str, c: &cases::Case) -> i64 {
        let r = |i: usize| i64::from(c.regs.iter().find(|(n, _)| *n == i).map_or(0, |&(_, v)| v));
        let (a, b) = (r(1), r(2));
        match name {
            "larger" => a.max(b),
            "absolute" => a.abs(),
            "sum_to_n" => (1..=a).sum(),
            "gcd" => {
                let (mut x, mut y) = (a, b);
                while y != 0 {
                    (x, y) = (y, x % y);
                }
                x
            }
            "collatz" => {
                let (mut n, mut s) = (a, 0);
                while n != 1 {
                    n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
                    s += 1;
                }
                s
            }
            "digits" => a.to_string().len() as i64,
            "fuel_cost" => {
                let (addr, list) = &c.memory[0];
                assert_eq!(*addr as i64, a);
                assert_eq!(list.len() as i64, 4 * b);
                words(list).iter().map(|m| m / 3 - 2).sum()
            }
            "fibonacci" => {
                let (mut x, mut y) = (0i64, 1i64);
                for _ in 0..a {
                    (x, y) = (y, x + y);
                }
                x
            }
            other => panic!("no reference for {other}"),
        }
    }

    #[test]
    fn every_problem_loads_and_its_cases_match_the_reference() {
        assert!(PROBLEMS.len() >= 8);
        for name in names() {
            let p = load(name).unwrap();
            assert_eq!(p.spec.name, name);
            // The budget is within the options' bounds (size_weight included).
            assert_eq!(
                config(&p, 0, Selection::Lexicase).validate(),
                Ok(()),
                "{name}"
            );
            assert!(
                p.goal.train.len() >= 20 && p.goal.test.len() >= 50,
                "{name}"
            );
            for c in p.goal.train.iter().chain(&p.goal.test) {
                assert_eq!(c.expect.regs.len(), 1, "{name}");
                let (reg, want) = c.expect.regs[0];
                assert_eq!(reg, 1);
                assert_eq!(i64::from(want), reference(name, c), "{name}: {c:?}");
            }
        }
    }

    /// Every problem can be solved within its hint: `NAME.solution.asm`, written by hand,
    /// uses only the hinted opcodes and registers and has zero error on the training and
    /// held-out cases (so a failed search is the search's failure, not the hint's).
    #[test]
    fn every_problem_has_a_solution_within_its_hint() {
        for name in names() {
            let p = load(name).unwrap();
            let path = format!(
                "{}/kernels/evolve/problems/{name}.solution.asm",
                env!("CARGO_MANIFEST_DIR")
            );
            let source = std::fs::read_to_string(&path).unwrap();
            let kernel = pxvm::asm::assemble(&source, &path).unwrap();
            let mut pc = 0;
            while pc < kernel.len() {
                let Ok(pxvm::Decoded::Insn(insn)) = pxvm::decode(&kernel, pc) else {
                    panic!("{name}: no instruction at {pc:#x}");
                };
                assert!(p.goal.opcodes.contains(&insn.op), "{name}: {:?}", insn.op);
                let regs = &insn.regs[..insn.op.layout().reg_count()];
                assert!(
                    regs.iter().all(|&r| r < p.goal.registers),
                    "{name}: {insn:?} uses a register past R{}",
                    p.goal.registers - 1
                );
                pc += insn.op.len();
            }
            let goal = Goal::Cases(p.goal.clone());
            let evaluator =
                super::super::Evaluator::new(&goal, EngineKind::Interp, p.spec.budget.fuel);
            let scored = evaluator.score(&mut evaluator.bench(), &kernel);
            assert_eq!(scored.fitness.error, 0.0, "{name}: training error");
            assert_eq!(
                evaluator.test_error(&kernel),
                Some(0.0),
                "{name}: held-out error"
            );
        }
    }

    #[test]
    fn an_easy_problem_is_solved_with_a_fixed_seed() {
        let p = load("absolute").unwrap();
        let config = Config {
            generations: 120,
            population: 150,
            ..config(&p, 1, Selection::Lexicase)
        };
        let out = solve(&p, config, SEED_KERNEL, &mut |_| {}).unwrap();
        assert!(out.solved, "{out:?}");
        assert_eq!((out.train_error, out.test_error), (0.0, 0.0));
    }
}
