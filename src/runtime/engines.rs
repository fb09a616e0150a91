//! The engines a user can choose with `--engine`, by name, and constructing them.

use pxvm::{Engine, Interpreter};
use pxvm_jit::JitEngine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An engine choice. Written by its name (`interp`, `jit`, `tiered`) on the command line,
/// in reports and in JSON (a checkpoint's `config.engine`); read back the same way, an
/// unknown name refused with the command line's message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EngineKind {
    /// The fast interpreter (`pxvm::interp::run`), proven equal to the reference.
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
        f.pad(self.name())
    }
}

impl Serialize for EngineKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EngineKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_spells_an_engine_by_its_name() {
        for &kind in EngineKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
            assert_eq!(serde_json::from_str::<EngineKind>(&json).unwrap(), kind);
        }
        let err = serde_json::from_str::<EngineKind>("\"warp\"").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("unknown engine 'warp' (expected one of: interp, jit, tiered)"),
            "{err}"
        );
    }
}
