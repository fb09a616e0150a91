//! The dispatcher: the Rust loop that owns a run. It enters compiled code where the cache
//! has (or, per the engine's policy, may build) an entry for the current pc, and otherwise
//! executes exactly one instruction with `pxvm::exec::step` — the reference semantics — so
//! HALT, unknown opcodes, fetch faults and fuel tails are exact by construction (compiled
//! code makes SYSCALLs itself, see `hostcall`). Every guest write the stepped instruction
//! reports (stores, CALL pushes, syscall buffers), and every write compiled code leaves
//! for, is passed to the cache, which invalidates translations of those bytes.
//!
//! Two policies share the loop: `jit` compiles every block before running it; `tiered`
//! first runs the plain (fast) interpreter for a warm-up while nothing is compiled — so
//! short runs allocate and compile nothing and cost what the interpreter costs — then
//! steps, counts entries into blocks, and compiles a region when its entry becomes hot —
//! preferring the region `jit` would have compiled, so that hot code is the same code.
//! Both bound the compile work of one run relative to the instructions it retired.
//!
//! A quick region (see `cache`'s tiers) is entered with at most its slice of the fuel;
//! running out of the slice is not the end of the run: the region has proved hot, is
//! compiled again optimised, and the loop goes on at the pc where it stopped.

use super::cache::{Cache, Left};
use crate::analysis::scan::compiled_flow;
use pxvm::exec::{Step, step};
use pxvm::isa::Opcode;
use pxvm::{Engine, Exit, Host, Interpreter, MEM_SIZE, Machine};

/// When to compile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Compile every block before it runs.
    Eager,
    /// Interpret; compile a block once it has been entered `threshold` times, counting
    /// only after the engine has stepped `warmup` instructions.
    Tiered { warmup: u64, threshold: u16 },
}

/// Guest instructions a run may compile before it has retired anything; beyond that, one
/// compiled instruction per [`COMPILE_RATIO`] retired instructions.
const COMPILE_ALLOWANCE: u64 = 16_384;
const COMPILE_RATIO: u64 = 512;

/// Dispatcher state that outlives one run.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    pub policy: Policy,
    /// Entry counts by pc (tiered), allocated when counting starts.
    counts: Vec<u16>,
    /// Instructions stepped over the engine's life (tiered warm-up).
    stepped: u64,
}

/// Per-run accounting of compile work.
struct Budget {
    fuel: u64,
    compiled_at_start: u64,
}

impl Budget {
    fn allows(&self, cache: &Cache, left: u64) -> bool {
        let compiled = cache.stats.compiled_insns - self.compiled_at_start;
        let retired = self.fuel - left;
        compiled <= COMPILE_ALLOWANCE + retired / COMPILE_RATIO
    }
}

/// By opcode byte: whether a new block may start after the instruction (after a control
/// transfer, and after anything that is never compiled). A table, because this is asked
/// after every stepped instruction.
const ENDS_BLOCK: [bool; 256] = {
    let mut table = [true; 256];
    let mut byte = 0;
    while byte < 256 {
        if let Some(op) = Opcode::from_byte(byte as u8) {
            table[byte] = op.ends_block();
        }
        byte += 1;
    }
    table
};

/// By opcode byte: instructions no block ever starts with (HALT, unknown opcodes: see
/// `scan::compiled_flow`), so the dispatcher steps them without looking for
/// compiled code.
const NEVER_COMPILED: [bool; 256] = {
    let mut table = [true; 256];
    let mut byte = 0;
    while byte < 256 {
        if let Some(op) = Opcode::from_byte(byte as u8) {
            table[byte] = !compiled_flow(op.flow());
        }
        byte += 1;
    }
    table
};

#[inline]
fn ends_block(byte: Option<u8>) -> bool {
    byte.is_none_or(|b| ENDS_BLOCK[usize::from(b)])
}

impl Dispatcher {
    pub fn new(policy: Policy) -> Dispatcher {
        Dispatcher {
            policy,
            counts: Vec::new(),
            stepped: 0,
        }
    }

    /// Run `m` for at most `fuel` retired instructions.
    pub fn run(
        &mut self,
        cache: &mut Cache,
        m: &mut Machine,
        host: &mut dyn Host,
        fuel: u64,
    ) -> Exit {
        cache.validate(&m.mem);
        let budget = Budget {
            fuel,
            compiled_at_start: cache.stats.compiled_insns,
        };
        let mut left = fuel;
        let start = m.pc;
        if let Some(exit) = self.warm_up(cache, m, host, &mut left) {
            return exit;
        }
        let mut at_entry = true;
        loop {
            if left == 0 {
                return Exit::Fuel;
            }
            let pc = m.pc;
            let byte = m.mem.get(pc as usize).copied();
            if at_entry && byte.is_some_and(|b| !NEVER_COMPILED[usize::from(b)]) {
                let code = match cache.lookup(pc) {
                    Some(code) => Some(code),
                    None if self.wants_compile(pc) && budget.allows(cache, left) => {
                        let code = self.compile(cache, pc, &m.mem, start);
                        if code.is_none() {
                            self.cool(pc);
                        }
                        code
                    }
                    None => None,
                };
                if let Some(code) = code {
                    let slice = cache.slice(code, left);
                    let (how, used) = cache.enter(code, m, host, slice);
                    left -= used.min(left);
                    // Out of fuel for the slice, not for the run: the region is hot.
                    let cut = how == Left::Fuel && slice < left + used;
                    cache.warm(code, used, cut, &m.mem);
                    match how {
                        Left::Fuel if !cut => return self.step_out(cache, m, host, left),
                        Left::Jump | Left::Fuel => continue,
                    }
                }
            }
            if let Some(exit) = self.step(cache, m, host) {
                return exit;
            }
            left -= 1;
            at_entry = ends_block(byte) || self.policy == Policy::Eager;
        }
    }

    /// Tiered, during the warm-up, with nothing compiled: run the plain interpreter (no
    /// per-instruction bookkeeping is needed while no translation exists to invalidate).
    fn warm_up(
        &mut self,
        cache: &Cache,
        m: &mut Machine,
        host: &mut dyn Host,
        left: &mut u64,
    ) -> Option<Exit> {
        let Policy::Tiered { warmup, .. } = self.policy else {
            return None;
        };
        if self.stepped >= warmup || !cache.is_empty() {
            return None;
        }
        let chunk = (warmup - self.stepped).min(*left);
        let before = m.cycles;
        let exit = Interpreter.run(m, host, chunk);
        let retired = m.cycles - before;
        self.stepped += retired;
        *left -= retired.min(*left);
        (exit != Exit::Fuel).then_some(exit)
    }

    /// Whether to compile at `pc` now (counting the entry for the tiered policy).
    fn wants_compile(&mut self, pc: u32) -> bool {
        match self.policy {
            Policy::Eager => true,
            Policy::Tiered { warmup, threshold } => {
                if self.stepped < warmup {
                    return false;
                }
                if self.counts.is_empty() {
                    self.counts = vec![0; MEM_SIZE];
                }
                let Some(c) = self.counts.get_mut(pc as usize) else {
                    return false;
                };
                *c = c.saturating_add(1);
                *c >= threshold
            }
        }
    }

    /// Compile for an entry at `pc`. Tiered first tries the region `jit` would have
    /// compiled first — the one starting where this run started — and uses it if it gives
    /// `pc` an entry: after warming up, tiered then runs the very code `jit` runs (the same
    /// function, laid out the same way). A region rooted at the hot block instead holds
    /// the same loop at another offset, and a loop's speed can depend on where it lands
    /// (measured: countdown ran at half speed with its loop across a 64-byte boundary).
    fn compile(
        &mut self,
        cache: &mut Cache,
        pc: u32,
        mem: &[u8; MEM_SIZE],
        start: u32,
    ) -> Option<usize> {
        let like_jit = match self.policy {
            Policy::Eager => false,
            Policy::Tiered { .. } => start != pc && cache.lookup(start).is_none(),
        };
        if like_jit
            && cache.compile(start, mem).is_some()
            && let Some(code) = cache.lookup(pc)
        {
            return Some(code);
        }
        cache.compile(pc, mem)
    }

    /// Compiling at `pc` failed (nothing compilable there): start counting afresh, so a hot
    /// HALT costs one failed attempt per `threshold` entries.
    fn cool(&mut self, pc: u32) {
        if let Some(c) = self.counts.get_mut(pc as usize) {
            *c = 0;
        }
    }

    /// Execute one instruction with the reference semantics; `Some` when the run ends.
    #[inline]
    fn step(&mut self, cache: &mut Cache, m: &mut Machine, host: &mut dyn Host) -> Option<Exit> {
        self.stepped += 1;
        match step(m, host) {
            Step::Retired { wrote } => {
                if let Some(range) = wrote {
                    cache.note_write(range);
                }
                None
            }
            Step::Halted => Some(Exit::Halt),
            Step::Faulted => Some(Exit::Error),
        }
    }

    /// The remaining fuel is less than the next block needs: step until it is used up.
    fn step_out(
        &mut self,
        cache: &mut Cache,
        m: &mut Machine,
        host: &mut dyn Host,
        mut left: u64,
    ) -> Exit {
        while left > 0 {
            if let Some(exit) = self.step(cache, m, host) {
                return exit;
            }
            left -= 1;
        }
        Exit::Fuel
    }
}
