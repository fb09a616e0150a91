//! [`JitEngine`]: the public engine, a [`Cache`] of compiled regions plus a [`Dispatcher`]
//! policy, implementing `pxvm::Engine`. [`JitEngine::jit`] compiles every block before
//! running it; [`JitEngine::tiered`] interprets and compiles what gets hot. Either agrees
//! with the interpreter on every observable, for every program and fuel budget.
//!
//! The cache belongs to the engine, not to a machine: one engine may run many machines (or
//! one machine across resets), because each run starts by checking the translated bytes
//! against the machine's memory and dropping what no longer matches.

use super::cache::{Cache, CacheLimits, CacheStats};
use super::dispatch::{Dispatcher, Policy};
use crate::analysis::scan::RegionLimits;
use pxvm::{Engine, Exit, Host, Machine};

/// Guest instructions a quick region of the `jit` engine runs before it is compiled again
/// with the optimising settings.
pub const OPTIMISE_AFTER: u64 = 1 << 16;

/// Everything tunable about a [`JitEngine`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JitConfig {
    pub policy: Policy,
    pub regions: RegionLimits,
    pub cache: CacheLimits,
    /// Compile regions with the quick settings first and optimise one once this many guest
    /// instructions ran from its entries; `None`: compile optimised at once.
    pub optimise_after: Option<u64>,
}

impl JitConfig {
    /// Compile every block before running it: quick code first, optimised code for the
    /// regions that run [`OPTIMISE_AFTER`] instructions.
    pub fn eager() -> JitConfig {
        JitConfig {
            policy: Policy::Eager,
            regions: RegionLimits::default(),
            cache: CacheLimits::default(),
            optimise_after: Some(OPTIMISE_AFTER),
        }
    }

    /// Interpret first; compile blocks entered often. The warm-up keeps short runs (a few
    /// thousand instructions) entirely in the interpreter, where compiling could not pay
    /// for itself; what it compiles has proved hot already, so it is optimised at once.
    pub fn tiered() -> JitConfig {
        JitConfig {
            policy: Policy::Tiered {
                warmup: 4096,
                threshold: 64,
            },
            optimise_after: None,
            ..JitConfig::eager()
        }
    }
}

/// The Cranelift JIT engine.
#[derive(Debug)]
pub struct JitEngine {
    name: &'static str,
    cache: Cache,
    dispatcher: Dispatcher,
}

impl JitEngine {
    /// The `jit` engine: compile every block before running it.
    pub fn jit() -> JitEngine {
        JitEngine::with_config("jit", JitConfig::eager())
    }

    /// The `tiered` engine: interpret, compile what is hot.
    pub fn tiered() -> JitEngine {
        JitEngine::with_config("tiered", JitConfig::tiered())
    }

    /// An engine with an explicit configuration, reporting `name`.
    pub fn with_config(name: &'static str, config: JitConfig) -> JitEngine {
        JitEngine {
            name,
            cache: Cache::new(config.cache, config.regions, config.optimise_after),
            dispatcher: Dispatcher::new(config.policy),
        }
    }

    /// What the code cache has done so far.
    pub fn stats(&self) -> CacheStats {
        self.cache.stats
    }

    /// Drop every translation and free the executable memory now.
    pub fn flush(&mut self) {
        self.cache.flush();
    }
}

impl Engine for JitEngine {
    fn name(&self) -> &'static str {
        self.name
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        self.dispatcher.run(&mut self.cache, m, host, fuel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_can_move_between_threads() {
        fn send<T: Send>() {}
        send::<JitEngine>();
    }
}
