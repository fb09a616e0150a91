//! The engines a user can choose with `--engine`, by name, and constructing them.

use pxvm::{Engine, Interpreter};
use pxvm_jit::JitEngine;
use std::fmt;
use std::str::FromStr;

/// An engine choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The reference interpreter.
    Interp,
    /// The Cranelift JIT: compiles every block before running it.
    Jit,
    /// Interprets, and compiles the blocks that get hot with the JIT.
    Tiered,
}

impl EngineKind {
    /// Every engine, in the order they are listed to users.
    pub const ALL: &'static [EngineKind] =
        &[EngineKind::Interp, EngineKind::Jit, EngineKind::Tiered];

    /// The engine's name on the command line and in reports.
    pub const fn name(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::Jit => "jit",
            EngineKind::Tiered => "tiered",
        }
    }

    /// A fresh engine of this kind.
    pub fn build(self) -> Box<dyn Engine> {
        match self {
            EngineKind::Interp => Box::new(Interpreter),
            EngineKind::Jit => Box::new(JitEngine::jit()),
            EngineKind::Tiered => Box::new(JitEngine::tiered()),
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for EngineKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EngineKind::ALL
            .iter()
            .copied()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = EngineKind::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown engine '{s}' (expected one of: {})",
                    names.join(", ")
                )
            })
    }
}
