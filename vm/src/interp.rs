//! The interpreter: the reference engine and correctness oracle.
//!
//! [`run_reference`] is the definition: a plain loop around [`exec::step`]. [`run`] is the
//! same machine made fast: it keeps registers and pc in locals, reads each instruction as
//! one 8-byte little-endian word straight from guest memory (so self-modifying code needs
//! no bookkeeping — every fetch sees the current bytes) and executes every instruction
//! inline, SYSCALL, HALT and unknown opcodes included. Only a fetch within 8 bytes of the
//! end of memory goes through `exec::step` itself. While at least three units of fuel are
//! left, one dispatch may retire several instructions: arithmetic, then a comparison
//! (`CMP`, `SLT`, `SLTU`), then a `JZ`/`JNZ` — none of which stores, so the bytes read
//! for them are current — and a register-register dispatch whose branch goes back to
//! itself (`LOOP: SUB ; CMP ; JZ LOOP`) runs its further turns without fetching again;
//! the last few units are run one instruction per dispatch, so a budget ends on exactly
//! the reference's instruction. [`run_skipping_cycles`] is the same
//! loop with cycle detection compiled in (see [`crate::cycle`]), for many short runs with
//! a budget. Tests check that both agree with `run_reference` on random programs and
//! every fuel budget.

use crate::engine::{Engine, Exit};
use crate::exec::{Step, alu, step};
use crate::host::{Host, SyscallCtx, VmEvent};
use crate::isa::{Opcode, byte as op};
use crate::machine::{Machine, SP, jump_target};

/// Run `m` against `host` for at most `fuel` retired instructions, one [`step`] at a time.
/// This is the definition of pxVM execution; [`run`] must agree with it exactly.
pub fn run_reference<H: Host + ?Sized>(m: &mut Machine, host: &mut H, fuel: u64) -> Exit {
    for _ in 0..fuel {
        match step(m, host) {
            Step::Retired { .. } => {}
            Step::Halted => return Exit::Halt,
            Step::Faulted => return Exit::Error,
        }
    }
    Exit::Fuel
}

/// Run `m` against `host` for at most `fuel` retired instructions (fast path).
pub fn run<H: Host + ?Sized>(m: &mut Machine, host: &mut H, fuel: u64) -> Exit {
    run_fast::<H, false>(m, host, fuel)
}

/// [`run`], but a run caught in a cycle that touches neither memory nor the host skips
/// ahead to where its fuel would run out (see [`crate::cycle`]): the same exit, state and
/// cycle count as [`run`], in far fewer steps for kernels that loop until the budget ends,
/// as most random and evolved kernels do. Worth it where many short-lived kernels run
/// with a budget; plain [`run`] does not pay for the detection.
pub fn run_skipping_cycles<H: Host + ?Sized>(m: &mut Machine, host: &mut H, fuel: u64) -> Exit {
    run_fast::<H, true>(m, host, fuel)
}

/// The fast loop; with `SKIP_CYCLES`, with cycle detection compiled in. It runs in two
/// phases, each its own copy of the loop: while at least [`MAX_FUSED`] units of fuel are
/// left, with fused dispatches (see `run_phase`); then, for the last few, without.
#[inline(always)]
fn run_fast<H: Host + ?Sized, const SKIP_CYCLES: bool>(
    m: &mut Machine,
    host: &mut H,
    fuel: u64,
) -> Exit {
    // Every retired instruction uses one unit of fuel, so the cycle count is always
    // `end - left` (wrapping: `fuel` may be `u64::MAX`); it is only materialised when the machine is synced.
    let mut state = State {
        end: m.cycles.wrapping_add(fuel),
        left: fuel,
        regs: m.regs,
        pc: m.pc as usize,
        effects: 0,
        detector: crate::cycle::Detector::new(),
    };
    let exit = match run_phase::<H, SKIP_CYCLES, true>(m, host, &mut state) {
        Some(exit) => exit,
        None => run_phase::<H, SKIP_CYCLES, false>(m, host, &mut state)
            .expect("the unfused phase runs until the machine stops or the fuel is gone"),
    };
    m.regs = state.regs;
    m.pc = state.pc as u32;
    m.cycles = state.end.wrapping_sub(state.left);
    exit
}

/// The most instructions one dispatch of the fused phase retires (arithmetic, comparison,
/// branch).
const MAX_FUSED: u64 = 3;

/// The fast loop's state between its phases.
struct State {
    /// The cycle count at which the fuel runs out: the count is `end - left`.
    end: u64,
    /// Fuel left.
    left: u64,
    regs: [i32; 8],
    pc: usize,
    /// With SKIP_CYCLES: stores that changed memory, syscalls, host events and reference
    /// steps so far.
    effects: u64,
    detector: crate::cycle::Detector,
}

/// One phase of the fast loop. With `FUSE`, it runs while at least [`MAX_FUSED`] units of
/// fuel are left, and an instruction followed by the one it fuses with retires both in one
/// dispatch (no fuel check is needed in between); it returns `None` when the fuel left falls
/// below [`MAX_FUSED`]. Without, it runs every instruction on its own until the machine
/// stops or the fuel is gone.
#[inline(always)]
fn run_phase<H: Host + ?Sized, const SKIP_CYCLES: bool, const FUSE: bool>(
    m: &mut Machine,
    host: &mut H,
    state: &mut State,
) -> Option<Exit> {
    let end = state.end;
    let mut left = state.left;
    let mut regs = state.regs;
    let mut pc = state.pc;
    let mut effects = state.effects;
    let detector = &mut state.detector;
    let exit = loop {
        if FUSE {
            if left < MAX_FUSED {
                break None;
            }
        } else if left == 0 {
            break Some(Exit::Fuel);
        }
        let Some(bytes) = m.mem.get(pc..pc + 8) else {
            effects += 1;
            match slow_step(m, host, &mut regs, pc, end.wrapping_sub(left)) {
                Ok(next) => {
                    pc = next;
                    left -= 1;
                    continue;
                }
                Err((exit, at)) => {
                    pc = at;
                    break Some(exit);
                }
            }
        };
        let w = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        // Operand fields, extracted only by the arms that use them: register bytes 1..3 and
        // 5, and the i32 starting at byte 1, 2 or 3 of the instruction. A register operand
        // is valid when it is below 8: `regs_ok!` checks all of an instruction's register
        // bytes with one mask (bits 3..7 of each must be clear), after which `reg!` indexes
        // with the low three bits, so no further bounds check is made.
        macro_rules! byte_at {
            ($n:literal) => {
                usize::from((w >> (8 * $n)) as u8)
            };
        }
        macro_rules! reg {
            ($n:literal) => {
                byte_at!($n) & 7
            };
        }
        macro_rules! regs_ok {
            ($($n:literal),+) => {
                w & ($(0xF8u64 << (8 * $n))|+) == 0
            };
        }
        macro_rules! i32_at {
            ($n:literal) => {
                (w >> (8 * $n)) as u32 as i32
            };
        }
        let code = w as u8;
        macro_rules! rrr_effect {
            ($opc:ident) => {
                if regs_ok!(1, 2, 3) {
                    regs[reg!(1)] = alu(Opcode::$opc, regs[reg!(2)], regs[reg!(3)]).unwrap_or(0);
                }
            };
        }
        macro_rules! rrr {
            ($opc:ident) => {{
                rrr_effect!($opc);
                pc += 4;
            }};
        }
        macro_rules! rri {
            ($opc:ident) => {{
                if regs_ok!(1, 2) {
                    regs[reg!(1)] = alu(Opcode::$opc, regs[reg!(2)], i32_at!(3)).unwrap_or(0);
                }
                pc += 7;
            }};
        }
        // Arithmetic (`rrr` or `rri`) followed by a comparison (`SUB R0, R0, R1 ;
        // CMP R3, R0, R2`) retires the comparison in the same dispatch when the budget
        // covers it, and the comparison goes on to `then_branch`. The comparison's opcode
        // byte is already in `w`; `$word` gives its four bytes (`None`: not in memory).
        macro_rules! then_compare {
            ($code:expr, $word:expr) => {
                if FUSE
                    && matches!($code, op::CMP | op::SLT | op::SLTU)
                    && let Some(word) = $word
                {
                    left -= 1;
                    compare(&mut regs, word);
                    pc += 4;
                    then_branch!();
                }
            };
        }
        // An `rrr` dispatch that ends in a branch back to itself (`LOOP: SUB ; CMP ; JZ
        // LOOP`) is a loop of one dispatch. Nothing in it stores, calls the host or changes
        // pc but the branch, so its bytes are as read the first time: its further turns run
        // here from the words already decoded, without a fetch or a dispatch (the taken
        // branch's pc is known, not loaded), while fuel for a whole turn is left.
        macro_rules! rrr_then_compare {
            ($opc:ident) => {{
                let start = pc;
                rrr!($opc);
                then_compare!((w >> 32) as u8, Some((w >> 32) as u32));
                if FUSE
                    && pc == start
                    && let Some(bytes) = m.mem.get(start + 8..start + 16)
                {
                    let branch = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
                    let (reg, jz) = ((branch >> 8) as u8, branch as u8 == op::JZ);
                    // `left` still holds the branch that just retired to here; a turn
                    // retires it and this turn's arithmetic and comparison, leaving the
                    // next branch's unit.
                    while left > MAX_FUSED {
                        left -= 3;
                        rrr_effect!($opc);
                        compare(&mut regs, (w >> 32) as u32);
                        if !branch_taken(&regs, reg, jz) {
                            pc = start + 14;
                            break;
                        }
                        pc = start;
                        transferred_from!(start + 8);
                    }
                }
            }};
        }
        macro_rules! rri_then_compare {
            ($opc:ident) => {{
                rri!($opc);
                then_compare!(
                    (w >> 56) as u8,
                    m.mem
                        .get(pc..pc + 4)
                        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
                );
            }};
        }
        // After a control transfer from `at`: with SKIP_CYCLES, a backward one (every cycle
        // has one) is shown to the cycle detector, with the fuel left once it retires.
        macro_rules! transferred_from {
            ($at:expr) => {
                if SKIP_CYCLES && pc <= $at {
                    left -= detector.after_backward_transfer(pc, &regs, effects, left - 1);
                }
            };
        }
        // A comparison followed by JZ or JNZ (`CMP R3, R0, R2 ; JZ R3, LOOP`: how loops
        // end) retires both in one dispatch when the budget covers both and the branch's
        // eight-byte word lies in memory; otherwise the branch is dispatched on its own.
        // Nothing is stored in between, so the branch bytes read here are current.
        macro_rules! then_branch {
            () => {
                if FUSE && let Some(bytes) = m.mem.get(pc..pc + 8) {
                    // Fields as in the JZ and JNZ arms, of this word (the macros above
                    // read the comparison's).
                    let next = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
                    let code = next as u8;
                    if code == op::JZ || code == op::JNZ {
                        left -= 1;
                        let at = pc;
                        let reg = (next >> 8) as u8;
                        let taken = branch_taken(&regs, reg, code == op::JZ);
                        pc = match jump_target((next >> 16) as u32 as i32) {
                            Some(t) if taken => t as usize,
                            _ => pc + 6,
                        };
                        transferred_from!(at);
                    }
                }
            };
        }
        // A comparison, then a branch fused with it (see `then_branch`).
        macro_rules! rrr_then_branch {
            ($opc:ident) => {{
                rrr!($opc);
                then_branch!();
            }};
        }
        // A store through the machine; with SKIP_CYCLES, one that changes memory counts as
        // an effect (one that writes what is already there cannot make a cycle's turns
        // differ).
        macro_rules! store {
            ($store:ident, $load:ident, $addr:expr, $value:expr, $stored:expr) => {{
                let (addr, value) = ($addr, $value);
                if SKIP_CYCLES && m.$load(addr) != $stored(value) {
                    effects += 1;
                }
                m.$store(addr, value);
            }};
        }
        macro_rules! store_i32 {
            ($addr:expr, $value:expr) => {
                store!(store_i32, load_i32, $addr, $value, |v: i32| v)
            };
        }
        macro_rules! store_u8 {
            ($addr:expr, $value:expr) => {
                store!(store_u8, load_u8, $addr, $value, |v: i32| v & 0xFF)
            };
        }
        match code {
            op::NOP => pc += 1,
            op::IMM8 => {
                if regs_ok!(1) {
                    regs[reg!(1)] = byte_at!(2) as i32;
                }
                pc += 3;
            }
            op::IMM32 => {
                if regs_ok!(1) {
                    regs[reg!(1)] = i32_at!(2);
                }
                pc += 6;
            }
            op::MOV => {
                if regs_ok!(1, 2) {
                    regs[reg!(1)] = regs[reg!(2)];
                }
                pc += 3;
            }
            op::ADD => rrr_then_compare!(ADD),
            op::SUB => rrr_then_compare!(SUB),
            op::MUL => rrr_then_compare!(MUL),
            op::DIV => rrr_then_compare!(DIV),
            op::MOD => rrr_then_compare!(MOD),
            op::AND => rrr_then_compare!(AND),
            op::OR => rrr_then_compare!(OR),
            op::XOR => rrr_then_compare!(XOR),
            op::SHL => rrr_then_compare!(SHL),
            op::SHR => rrr_then_compare!(SHR),
            op::SAR => rrr_then_compare!(SAR),
            op::SLT => rrr_then_branch!(SLT),
            op::SLTU => rrr_then_branch!(SLTU),
            op::CMP => rrr_then_branch!(CMP),
            op::ADDI => rri_then_compare!(ADDI),
            op::ANDI => rri_then_compare!(ANDI),
            op::ORI => rri_then_compare!(ORI),
            op::XORI => rri_then_compare!(XORI),
            op::SHLI => rri_then_compare!(SHLI),
            op::SHRI => rri_then_compare!(SHRI),
            op::SARI => rri_then_compare!(SARI),
            op::SLTI => rri_then_compare!(SLTI),
            op::JMP => {
                let at = pc;
                pc = jump_target(i32_at!(1)).map_or(pc + 5, |t| t as usize);
                transferred_from!(at);
            }
            op::JZ => {
                let at = pc;
                pc = match jump_target(i32_at!(2)) {
                    Some(t) if regs_ok!(1) && regs[reg!(1)] == 0 => t as usize,
                    _ => pc + 6,
                };
                transferred_from!(at);
            }
            op::JNZ => {
                let at = pc;
                pc = match jump_target(i32_at!(2)) {
                    Some(t) if regs_ok!(1) && regs[reg!(1)] != 0 => t as usize,
                    _ => pc + 6,
                };
                transferred_from!(at);
            }
            op::JR => {
                let at = pc;
                pc = match regs_ok!(1) {
                    true => jump_target(regs[reg!(1)]).map_or(pc + 2, |t| t as usize),
                    false => pc + 2,
                };
                transferred_from!(at);
            }
            op::CALL => match jump_target(i32_at!(1)) {
                Some(t) => {
                    let sp = regs[SP].wrapping_sub(4);
                    regs[SP] = sp;
                    store_i32!(sp, (pc + 5) as i32);
                    pc = t as usize;
                }
                None => pc += 5,
            },
            op::RET => {
                let sp = regs[SP];
                let target = m.load_i32(sp);
                regs[SP] = sp.wrapping_add(4);
                let at = pc;
                pc = jump_target(target).map_or(pc + 1, |t| t as usize);
                transferred_from!(at);
            }
            op::LOAD => {
                if regs_ok!(1) {
                    regs[reg!(1)] = m.load_i32(i32_at!(2));
                }
                pc += 6;
            }
            op::STORE => {
                if regs_ok!(5) {
                    store_i32!(i32_at!(1), regs[reg!(5)]);
                }
                pc += 6;
            }
            op::LDW => {
                if regs_ok!(1, 2) {
                    regs[reg!(1)] = m.load_i32(regs[reg!(2)].wrapping_add(i32_at!(3)));
                }
                pc += 7;
            }
            op::LDB => {
                if regs_ok!(1, 2) {
                    regs[reg!(1)] = m.load_u8(regs[reg!(2)].wrapping_add(i32_at!(3)));
                }
                pc += 7;
            }
            op::STW => {
                if regs_ok!(1, 2) {
                    store_i32!(regs[reg!(1)].wrapping_add(i32_at!(3)), regs[reg!(2)]);
                }
                pc += 7;
            }
            op::STB => {
                if regs_ok!(1, 2) {
                    store_u8!(regs[reg!(1)].wrapping_add(i32_at!(3)), regs[reg!(2)]);
                }
                pc += 7;
            }
            // A syscall: the host sees the registers and memory as the reference's
            // `execute` shows them (pc and cycles are not part of a `SyscallCtx`).
            op::SYSCALL => {
                m.regs = regs;
                host.syscall(byte_at!(1) as u8, &mut SyscallCtx::new(m));
                regs = m.regs;
                effects += 1;
                pc += 2;
            }
            // HALT: not counted; pc after the HALT byte.
            op::HALT => {
                pc += 1;
                break Some(Exit::Halt);
            }
            // Unknown opcodes: reported, skipped, counted.
            _ => {
                host.event(VmEvent::UnknownOpcode {
                    pc: pc as u32,
                    opcode: code,
                });
                effects += 1;
                pc += 1;
            }
        }
        left -= 1;
    };
    state.left = left;
    state.regs = regs;
    state.pc = pc;
    state.effects = effects;
    exit
}

/// Execute the comparison (`CMP`, `SLT` or `SLTU`) whose four-byte encoding is `word`.
/// The three cases are written out rather than passed to [`alu`] with an opcode known
/// only at run time: that was slower on countdown in one side-by-side run on a busy
/// Xeon (1.58–1.69 G against 1.79 G guest instructions/s), alu's whole jump table being
/// inside the loop of one dispatch; the interpreter tests hold them equal to `exec::step`.
#[inline(always)]
fn compare(regs: &mut [i32; 8], word: u32) {
    let [code, d, a, b] = word.to_le_bytes();
    if (d | a | b) < 8 {
        let (a, b) = (regs[usize::from(a & 7)], regs[usize::from(b & 7)]);
        regs[usize::from(d & 7)] = i32::from(match code {
            op::CMP => a == b,
            op::SLT => a < b,
            _ => (a as u32) < (b as u32),
        });
    }
}

/// Whether a `JZ` (`jz`) or `JNZ` on register byte `reg` is taken: never for a register
/// byte past R7 (the instruction is then a no-op, as in `exec::step`).
#[inline(always)]
fn branch_taken(regs: &[i32; 8], reg: u8, jz: bool) -> bool {
    reg < 8 && (regs[usize::from(reg & 7)] == 0) == jz
}

/// Execute one instruction with the reference [`step`], syncing the fast loop's locals
/// with the machine around it. Returns the next pc, or the exit and the pc if the machine
/// stopped.
#[cold]
#[inline(never)]
fn slow_step<H: Host + ?Sized>(
    m: &mut Machine,
    host: &mut H,
    regs: &mut [i32; 8],
    pc: usize,
    cycles: u64,
) -> Result<usize, (Exit, usize)> {
    m.regs = *regs;
    m.pc = pc as u32;
    m.cycles = cycles;
    let result = step(m, host);
    *regs = m.regs;
    let pc = m.pc as usize;
    match result {
        Step::Retired { .. } => Ok(pc),
        Step::Halted => Err((Exit::Halt, pc)),
        Step::Faulted => Err((Exit::Error, pc)),
    }
}

/// The interpreter as an [`Engine`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Interpreter;

impl Engine for Interpreter {
    fn name(&self) -> &'static str {
        "interp"
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        run(m, host, fuel)
    }
}

/// [`run_skipping_cycles`] as an [`Engine`].
#[derive(Debug, Default, Clone, Copy)]
pub struct CycleSkippingInterpreter;

impl Engine for CycleSkippingInterpreter {
    fn name(&self) -> &'static str {
        "interp-skipping-cycles"
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        run_skipping_cycles(m, host, fuel)
    }
}

/// The reference stepper ([`run_reference`]) as an [`Engine`]: slow, and the definition
/// every other engine, the fast interpreter included, is compared with.
#[derive(Debug, Default, Clone, Copy)]
pub struct Reference;

impl Engine for Reference {
    fn name(&self) -> &'static str {
        "reference"
    }

    fn run(&mut self, m: &mut Machine, host: &mut dyn Host, fuel: u64) -> Exit {
        run_reference(m, host, fuel)
    }
}
