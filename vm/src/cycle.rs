//! Cycle detection for [`crate::interp::run_skipping_cycles`]: a run that comes back to
//! the same pc with the same registers, with no syscall, host event or store that changed
//! memory in between (a store of what is already there changes nothing), will repeat that
//! stretch until its fuel runs out — memory is unchanged and the host is untouched, so
//! every instruction sees what it saw the first time. Short evolved and
//! random kernels end this way more often than not (`L: ADD R1, R2, R3 ; JMP L`), and
//! running such a cycle to the end of a large budget is pure waste.
//!
//! The detector is Brent's algorithm over the states seen after backward control
//! transfers (every cycle in pc space contains one): it keeps one snapshot, compares each
//! new state with it, and moves the snapshot forward at power-of-two distances, so a cycle
//! of λ transfers is found within a few λ after it starts, with one comparison per
//! transfer and no allocation. Once found, the whole periods that fit in the remaining
//! budget are skipped — the state after them is the state now — and the rest runs as
//! usual, so the run ends on exactly the instruction, state and cycle count that running
//! every instruction would give.

/// The longest cycle looked for, in backward transfers; the search gives up after about
/// twice as many transfers without finding one.
const LONGEST_PERIOD: u32 = 64;

/// The state compared: pc, registers, and the count of effects (stores that changed
/// memory, syscalls, host events) so far — equal counts mean no effect in between.
#[derive(Clone, Copy, PartialEq, Eq)]
struct State {
    pc: usize,
    regs: [i32; 8],
    effects: u64,
}

/// One run's detector (see the module documentation).
pub(crate) struct Detector {
    snapshot: Option<(State, u64)>,
    since_snapshot: u32,
    power: u32,
    done: bool,
}

impl Detector {
    pub(crate) fn new() -> Detector {
        Detector {
            snapshot: None,
            since_snapshot: 0,
            power: 1,
            done: false,
        }
    }

    /// Called after a backward control transfer has retired, with the new pc, the
    /// registers, the effects so far and the fuel left. Returns how much fuel to skip: a
    /// whole number of periods of the cycle just found (0 if none).
    #[inline(always)]
    pub(crate) fn after_backward_transfer(
        &mut self,
        pc: usize,
        regs: &[i32; 8],
        effects: u64,
        left: u64,
    ) -> u64 {
        if self.done {
            return 0;
        }
        let now = State {
            pc,
            regs: *regs,
            effects,
        };
        if let Some((seen, seen_left)) = self.snapshot
            && seen == now
        {
            // Fuel only goes down, and a transfer retires at least one instruction.
            let period = seen_left - left;
            self.done = true;
            return left / period * period;
        }
        self.since_snapshot += 1;
        if self.since_snapshot >= self.power {
            if self.power >= LONGEST_PERIOD {
                // No short cycle so far: most likely a loop that counts, which never
                // repeats; stop paying for the comparisons.
                self.done = true;
                return 0;
            }
            self.snapshot = Some((now, left));
            self.since_snapshot = 0;
            self.power *= 2;
        }
        0
    }
}
