//! Loops whose fuel checks can be amortised: for a root block `h` of a plan, its loop is
//! `h` with every block that is reachable from `h` and can reach `h` again along the
//! plan's static edges. Such a loop is *amortised* when every block of it ends in an
//! ordinary instruction, a jump or a conditional branch (no SYSCALL, CALL, RET or JR),
//! when it has no inner cycle (removing the edges into `h` leaves it acyclic, so one
//! iteration enters each of its blocks at most once), and when its header is not a
//! counted self-loop (those have their own fast copy, `counted`).
//!
//! For such a loop, one iteration takes at most [`AmortisedLoop::iteration_fuel`]: the
//! sum of the `need` of its fuel-tree roots, each entered at most once. So when at least
//! `copies` times that much fuel is left at the header, `copies` iterations in a row pass
//! every fuel check they meet, and the lowering runs them as unrolled copies of the loop
//! that take the fuel exactly as the ordinary code does but check none of it.
//!
//! Some of the loop's loads and stores address memory from a base register the loop
//! steps once per iteration by a constant or by a register it does not write
//! ([`GroupAccess`]): in copy `c` of a group such an access uses the exact integer address
//! `base + offset + (c + before) * step`, linear in `c`, so the lowering checks the first
//! and last copy's addresses once per group (inside memory for a load, inside the store
//! window for a store) and the copies access memory with no check of their own.
//!
//! Invariant: the blocks of an amortised loop are a set where, from `h`, every path either
//! leaves the set for good or comes back to `h`, entering each block of the set at most
//! once on the way; a block belongs to at most one amortised loop.

use super::Plan;
use super::counted;
use super::liveness::effect;
use pxvm::isa::{Flow, Memory, Opcode};
use std::collections::VecDeque;

/// Most guest instructions in all the copies of one loop (compile time and code size).
/// Measured on the bench suite: with 48, the register allocator spilled the memory base
/// in memcpy's counted loops (1.6x -> 1.95x native) for four more copies of its checksum
/// loop; 32 keeps it in a register and loses nothing elsewhere.
const MAX_COPIED_INSNS: usize = 32;
/// Most copies of one loop (iterations per fuel check).
const MAX_COPIES: usize = 8;

/// A loop whose fuel is checked once per group of iterations (see the module
/// documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AmortisedLoop {
    /// The header: a fuel-tree root, the only way into the loop's copies.
    pub header: usize,
    /// Whether each block of the plan belongs to the loop (`header` included).
    pub member: Vec<bool>,
    /// The most fuel one iteration can take (the `need` of every root in the loop).
    pub iteration_fuel: u64,
    /// Iterations per group: the loop is emitted this many times.
    pub copies: usize,
    /// The accesses whose addresses the group check proves for a whole group.
    pub accesses: Vec<GroupAccess>,
}

/// How a base register changes once per iteration of an amortised loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `ADDI r, r, k`.
    Imm(i32),
    /// `ADD r, r, s` or `ADD r, s, r`, with `s` a register the loop does not write.
    Reg(u8),
}

/// A load or store of an amortised loop at `base + offset`, where `base` is written in
/// the loop only by its [`Step`], once in every iteration: in copy `c` its address is
/// `base + offset + (c + before) * step`, with `base` the value at the group check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupAccess {
    /// The block and the index of the instruction in it.
    pub block: usize,
    pub insn: usize,
    pub base: u8,
    pub offset: i32,
    pub step: Step,
    /// Steps made in the same iteration before the access (0 or 1).
    pub before: i64,
    /// 4 (word) or 1 (byte).
    pub len: u32,
    pub store: bool,
}

impl AmortisedLoop {
    /// The fuel that must be left, before the header takes its own, for a whole group to
    /// pass every check it skips.
    pub fn group_fuel(&self) -> u64 {
        self.iteration_fuel * self.copies as u64
    }
}

/// Whether a block ending with this flow may belong to an amortised loop: only when it
/// continues along static edges the lowering can redirect into a copy.
const fn amortisable(flow: Flow) -> bool {
    match flow {
        Flow::Next | Flow::Jump | Flow::Branch => true,
        Flow::Indirect | Flow::Call | Flow::Return | Flow::Syscall | Flow::Halt => false,
    }
}

/// The successors of each block inside the plan, by index.
fn successors(plan: &Plan) -> Vec<Vec<usize>> {
    (plan.blocks.iter())
        .map(|b| {
            (b.succs.iter())
                .filter_map(|pc| plan.index.get(pc).copied())
                .collect()
        })
        .collect()
}

/// The amortised loops of `plan`, disjoint, in the order of their headers.
pub(crate) fn find(plan: &Plan) -> Vec<AmortisedLoop> {
    let n = plan.blocks.len();
    let succs = successors(plan);
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ss) in succs.iter().enumerate() {
        for &j in ss {
            preds[j].push(i);
        }
    }
    let mut claimed = vec![false; n];
    let mut loops = Vec::new();
    for h in 0..n {
        if plan.blocks[h].folded || claimed[h] {
            continue;
        }
        let Some(lp) = loop_at(plan, h, &succs, &preds) else {
            continue;
        };
        if (0..n).any(|i| lp.member[i] && claimed[i]) {
            continue;
        }
        for (claimed, &member) in claimed.iter_mut().zip(&lp.member) {
            *claimed |= member;
        }
        loops.push(lp);
    }
    loops
}

/// The blocks reachable from `start` through blocks `within`, going on from none of
/// `stop` (`start` itself is in the result only when it is reached again).
fn reachable(next: &[Vec<usize>], start: usize, within: &[bool], stop: usize) -> Vec<bool> {
    let mut seen = vec![false; next.len()];
    let mut queue: VecDeque<usize> = next[start].iter().copied().collect();
    while let Some(i) = queue.pop_front() {
        if !within[i] || seen[i] {
            continue;
        }
        seen[i] = true;
        if i != stop {
            queue.extend(next[i].iter().copied());
        }
    }
    seen
}

/// The amortised loop headed by root `h`, if there is one. Its members are the blocks
/// on a way from `h` back to `h`; blocks on a cycle that avoids `h` (an inner loop, or an
/// outer one that `h` is nested in) are dropped, with whatever only they connected to `h`,
/// until none is left.
fn loop_at(
    plan: &Plan,
    h: usize,
    succs: &[Vec<usize>],
    preds: &[Vec<usize>],
) -> Option<AmortisedLoop> {
    let n = plan.blocks.len();
    let mut within = vec![true; n];
    let member = loop {
        let from = reachable(succs, h, &within, h);
        if !from[h] {
            return None; // no way back to h
        }
        let to = reachable(preds, h, &within, h);
        let member: Vec<bool> = (0..n).map(|i| i == h || (from[i] && to[i])).collect();
        let cyclic: Vec<usize> = (0..n)
            .filter(|&i| i != h && member[i] && reachable(succs, i, &member, h)[i])
            .collect();
        if cyclic.is_empty() {
            break member;
        }
        within = member;
        for i in cyclic {
            within[i] = false;
        }
    };
    let blocks = || (0..n).filter(|&i| member[i]);
    if blocks().any(|i| {
        let last = plan.blocks[i].insns[plan.blocks[i].insns.len() - 1];
        !amortisable(last.insn.op.flow())
    }) {
        return None;
    }
    if counted::analyse(&plan.blocks[h]).is_some() {
        return None;
    }
    let insns: usize = blocks().map(|i| plan.blocks[i].insns.len()).sum();
    let copies = (MAX_COPIED_INSNS / insns).min(MAX_COPIES);
    if copies < 2 {
        return None;
    }
    let iteration_fuel = blocks()
        .filter(|&i| !plan.blocks[i].folded)
        .map(|i| plan.blocks[i].need)
        .sum();
    let accesses = group_accesses(plan, h, &member, succs);
    Some(AmortisedLoop {
        header: h,
        member,
        iteration_fuel,
        copies,
        accesses,
    })
}

/// The accesses of the loop headed by `h` (blocks `member`) whose address steps by the
/// same amount every iteration (see [`GroupAccess`]).
fn group_accesses(
    plan: &Plan,
    h: usize,
    member: &[bool],
    succs: &[Vec<usize>],
) -> Vec<GroupAccess> {
    let n = plan.blocks.len();
    // Every write of every register in the loop: (block, index, instruction).
    let mut writes: [Vec<(usize, usize)>; 8] = Default::default();
    for i in (0..n).filter(|&i| member[i]) {
        for (k, p) in plan.blocks[i].insns.iter().enumerate() {
            for r in effect(p).defs.iter() {
                writes[r].push((i, k));
            }
        }
    }
    // The step of register `r` and where it is, if `r` is written only by a step that every
    // iteration makes.
    let step_of = |r: u8| -> Option<(Step, usize, usize)> {
        let [(w, at)] = writes[usize::from(r)][..] else {
            return None;
        };
        let p = &plan.blocks[w].insns[at];
        let [a, b, c] = p.insn.regs;
        if p.live || !p.insn.regs_valid() || a != r {
            return None;
        }
        let step = match p.insn.op {
            Opcode::ADDI if b == r => Step::Imm(p.insn.imm),
            Opcode::ADD if b == r && c != r => Step::Reg(c),
            Opcode::ADD if c == r && b != r => Step::Reg(b),
            _ => return None,
        };
        if let Step::Reg(s) = step
            && !writes[usize::from(s)].is_empty()
        {
            return None;
        }
        // Every way from h back to h passes block w (the loop is acyclic apart from h).
        if w != h {
            let mut without = member.to_vec();
            without[w] = false;
            if reachable(succs, h, &without, h)[h] {
                return None;
            }
        }
        Some((step, w, at))
    };
    let mut accesses = Vec::new();
    for i in (0..n).filter(|&i| member[i]) {
        for (k, p) in plan.blocks[i].insns.iter().enumerate() {
            let data = match p.insn.op.memory() {
                Memory::LoadWord | Memory::StoreWord | Memory::LoadByte | Memory::StoreByte => {
                    p.insn.op.memory().data()
                }
                Memory::None
                | Memory::LoadAbs
                | Memory::StoreAbs
                | Memory::Push
                | Memory::Pop
                | Memory::Host => None,
            };
            let Some(d) = data else { continue };
            let Some(operand) = d.base_operand else {
                continue;
            };
            if p.live || !p.insn.regs_valid() {
                continue;
            }
            let base = p.insn.regs[operand];
            let Some((step, w, at)) = step_of(base) else {
                continue;
            };
            // The steps made before the access in its iteration: known when the step is in
            // the access's block, or when the access is in the header (entered first).
            let before = if w == i {
                i64::from(at < k)
            } else if i == h {
                0
            } else {
                continue;
            };
            accesses.push(GroupAccess {
                block: i,
                insn: k,
                base,
                offset: p.insn.imm,
                step,
                before,
                len: d.width,
                store: d.store,
            });
        }
    }
    accesses
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::scan::{BlockMode, RegionLimits, plan_region};

    /// The loops of the region at the start of `kernels/bench/<name>.asm`, each as (the
    /// label of its header, how many blocks it has, its iteration fuel, its copies).
    fn loops_of(name: &str) -> Vec<(String, usize, u64, usize)> {
        let path = format!("{}/../kernels/bench/{name}.asm", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap();
        let program = pxvm::asm::assemble_with_symbols(&source, &path).unwrap();
        let mut mem = vec![0u8; pxvm::MEM_SIZE];
        mem[..program.bytes.len()].copy_from_slice(&program.bytes);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).unwrap();
        let label = |pc: u32| {
            (program.symbols.iter())
                .find(|(_, s)| s.value == i64::from(pc))
                .map_or(format!("{pc}"), |(name, _)| name.clone())
        };
        find(&plan)
            .into_iter()
            .map(|lp| {
                let members = lp.member.iter().filter(|&&m| m).count();
                let header = label(plan.blocks[lp.header].start);
                (header, members, lp.iteration_fuel, lp.copies)
            })
            .collect()
    }

    #[test]
    fn the_benchmarks_loops() {
        let expect = |name: &str, want: &[(&str, usize, u64, usize)]| {
            let want: Vec<_> = (want.iter())
                .map(|&(l, m, f, c)| (l.to_string(), m, f, c))
                .collect();
            assert_eq!(loops_of(name), want, "{name}");
        };
        // SUB / CMP / JZ on itself: eight copies of three instructions.
        expect("countdown", &[("LOOP", 1, 3, 8)]);
        // The exit test and the body (folded into it): one root per iteration.
        expect("fib_iter", &[("FIB_LOOP", 2, 6, 5)]);
        // The inner loop (CROSS and its body), and the outer loop's way round that skips
        // it (OUTER and NEXT: CROSS, on a cycle of its own, is left out of it).
        expect("sieve", &[("OUTER", 2, 7, 6), ("CROSS", 2, 6, 5)]);
        // The fill loop of B's rows, also going round the loop of rows (its header is no
        // counted loop: SLTI), so each iteration enters at most three roots; MUL_K is a
        // counted loop and every other loop has an inner one.
        expect("matmul", &[("FILL_J", 3, 14, 2)]);
        // The checksum (not counted: R5 is written twice); the copies are counted loops.
        expect("memcpy", &[("SUM", 1, 8, 4)]);
        // A syscall in every loop.
        expect("syscall_loop", &[]);
    }

    /// The sieve's group accesses: OUTER's `LDB R4, R1, FLAGS` (in the header, R1 stepped
    /// by `ADDI R1, R1, 1` in NEXT) and CROSS's `STB R2, R3, FLAGS` (before `ADD R2, R2,
    /// R1` in its block).
    #[test]
    fn the_sieves_group_accesses() {
        let path = format!("{}/../kernels/bench/sieve.asm", env!("CARGO_MANIFEST_DIR"));
        let source = std::fs::read_to_string(&path).unwrap();
        let program = pxvm::asm::assemble_with_symbols(&source, &path).unwrap();
        let mut mem = vec![0u8; pxvm::MEM_SIZE];
        mem[..program.bytes.len()].copy_from_slice(&program.bytes);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).unwrap();
        // (base, offset, step, before, len, store) of each access of each loop.
        type Summary = (u8, i32, Step, i64, u32, bool);
        let got: Vec<Vec<Summary>> = (find(&plan).iter())
            .map(|lp| {
                (lp.accesses.iter())
                    .map(|a| (a.base, a.offset, a.step, a.before, a.len, a.store))
                    .collect()
            })
            .collect();
        assert_eq!(
            got,
            [
                vec![(1, 0x1000, Step::Imm(1), 0, 1, false)],
                vec![(2, 0x1000, Step::Reg(1), 0, 1, true)],
            ]
        );
    }
}
