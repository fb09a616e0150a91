//! Region formation: starting from one guest pc, decode basic blocks and follow their
//! static successors (jump targets, fall-throughs, CALL targets and return sites) into a
//! [`Plan`] — the blocks one Cranelift function will hold, the fuel each block must check
//! on entry, and the guest bytes the translation depends on. Nothing here touches
//! Cranelift; the plan is pure data that `lower` turns into code.
//!
//! A block is a run of compilable instructions. It ends after a control transfer or a
//! SYSCALL (every [`Flow`] but `Next`), before an instruction that is never compiled
//! (`Flow::Halt`, an unknown opcode, or one whose fetch would run past the end of memory),
//! or at a length limit. The dispatcher runs the instructions that are never compiled
//! with the reference `exec::step`. Invariant: every planned instruction is
//! compilable, and a block's instructions before its last all have `Flow::Next`.

use pxvm::insn::{Decoded, Insn, decode};
use pxvm::isa::{Flow, Layout, Opcode};
use pxvm::machine::jump_target;
use std::collections::HashMap;
use std::collections::VecDeque;

/// Size limits of one region (they bound compile time and code size per region).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionLimits {
    /// Most basic blocks in one region.
    pub max_blocks: usize,
    /// Most guest instructions in one region, over all its blocks.
    pub max_insns: usize,
    /// Most instructions in one basic block.
    pub max_block_len: usize,
}

impl Default for RegionLimits {
    fn default() -> Self {
        RegionLimits {
            max_blocks: 48,
            max_insns: 768,
            max_block_len: 64,
        }
    }
}

/// How the translator may treat the block starting at a pc (decided by the code cache
/// from how often that block was patched).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockMode {
    /// Immediates are compiled in as constants.
    Normal,
    /// The block keeps being patched: immediates of non-control instructions are read from
    /// guest memory when they execute, so rewriting them does not invalidate the code.
    LiveImmediates,
    /// Never compile this block; the dispatcher steps it.
    Interpret,
}

/// One guest instruction of a block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PlannedInsn {
    pub pc: u32,
    pub insn: Insn,
    /// Read the immediate from guest memory at run time instead of compiling it in.
    pub live: bool,
}

impl PlannedInsn {
    /// The pc of the following instruction.
    pub fn next(&self) -> u32 {
        self.pc + self.insn.op.len() as u32
    }

    /// Offset (from `pc`) and length of the immediate bytes this instruction reads live.
    pub fn live_bytes(&self) -> Option<(u32, u32)> {
        if !self.live {
            return None;
        }
        live_imm_span(self.insn.op)
    }
}

/// Where the immediate of `op` sits, if it is one the translator can read live (the
/// immediates of control transfers shape the region, so they are always compiled in).
fn live_imm_span(op: Opcode) -> Option<(u32, u32)> {
    match op.flow() {
        Flow::Next => match op.layout() {
            Layout::RegU8 => Some((2, 1)),
            Layout::RegImm => Some((2, 4)),
            Layout::ImmReg => Some((1, 4)),
            Layout::RegRegImm => Some((3, 4)),
            Layout::None
            | Layout::U8
            | Layout::Reg
            | Layout::RegReg
            | Layout::RegRegReg
            | Layout::Imm => None,
        },
        Flow::Jump
        | Flow::Branch
        | Flow::Indirect
        | Flow::Call
        | Flow::Return
        | Flow::Halt
        | Flow::Syscall => None,
    }
}

/// Whether an instruction with this flow is ever compiled: HALT is always stepped by the
/// dispatcher (with `exec::step`, the reference semantics). SYSCALL is compiled as a call
/// into the host (`lower::syscall`).
pub(crate) const fn compiled_flow(flow: Flow) -> bool {
    match flow {
        Flow::Next
        | Flow::Jump
        | Flow::Branch
        | Flow::Indirect
        | Flow::Call
        | Flow::Return
        | Flow::Syscall => true,
        Flow::Halt => false,
    }
}

/// A basic block of the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PlannedBlock {
    pub start: u32,
    /// At least one instruction.
    pub insns: Vec<PlannedInsn>,
    /// The pc after the last instruction (may be 65,536).
    pub next: u32,
    /// Static successors (pcs) this block may continue at, in order, duplicates kept (a
    /// JZ whose target is its own fall-through lists it twice).
    pub succs: Vec<u32>,
    /// Where execution is likely to come back to after this block without a static
    /// edge: the return site of a CALL.
    /// Worth compiling in the same region; entered through the entry table.
    pub companions: Vec<u32>,
    /// Whether this block's fuel is paid by its only predecessor (see `fold_fuel_checks`).
    pub folded: bool,
    /// The non-folded block whose checked entry paid for this block (itself if not
    /// folded).
    pub root: usize,
    /// Fuel the checked entry of this block requires: its own length plus the most any
    /// chain of folded successors needs (for a root, also what its entry takes).
    pub need: u64,
    /// Instructions from the start of `root` to the end of this block, along the unique
    /// path of folded edges.
    pub prefix: u64,
}

impl PlannedBlock {
    pub fn len(&self) -> u64 {
        self.insns.len() as u64
    }
}

/// A region: blocks (the first is the entry) and the guest bytes the code depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub blocks: Vec<PlannedBlock>,
    /// Block index by start pc.
    pub index: HashMap<u32, usize>,
    /// Sorted, disjoint byte ranges `[start, end)` the translation depends
    /// on: every instruction byte except immediates read live.
    pub deps: Vec<(u32, u32)>,
    pub insn_count: usize,
}

impl Plan {
    /// Whether block `j` can reach itself through the region's static edges (it is in a
    /// loop of the region).
    pub fn in_cycle(&self, j: usize) -> bool {
        let succs = |k: usize| {
            self.blocks[k]
                .succs
                .iter()
                .filter_map(|pc| self.index.get(pc).copied())
        };
        let mut seen = vec![false; self.blocks.len()];
        let mut stack: Vec<usize> = succs(j).collect();
        while let Some(k) = stack.pop() {
            if k == j {
                return true;
            }
            if !std::mem::replace(&mut seen[k], true) {
                stack.extend(succs(k));
            }
        }
        false
    }

    /// The fuel the checked entry of block `j` takes: the root's `need`, less what the
    /// path from the root to `j` would already have taken (0 for a root). The value may
    /// wrap for a folded block (compiled code subtracts it modulo 2^64); every exit from
    /// the tree adds back what was not used.
    pub fn entry_take(&self, j: usize) -> u64 {
        let block = &self.blocks[j];
        self.blocks[block.root].need - (block.prefix - block.len())
    }
}

/// Whether the instruction at `pc` can start (or continue) a compiled block.
pub(crate) fn compilable_at(mem: &[u8], pc: u32) -> Option<Insn> {
    match decode(mem, pc as usize) {
        Ok(Decoded::Insn(insn)) if compiled_flow(insn.op.flow()) => Some(insn),
        _ => None,
    }
}

/// Decode the block at `start`; `None` if its first instruction is not compilable.
fn scan_block(mem: &[u8], start: u32, mode: BlockMode, max_len: usize) -> Option<PlannedBlock> {
    let mut insns = Vec::new();
    let mut pc = start;
    while insns.len() < max_len {
        let Some(insn) = compilable_at(mem, pc) else {
            break;
        };
        let live = mode == BlockMode::LiveImmediates && live_imm_span(insn.op).is_some();
        let planned = PlannedInsn { pc, insn, live };
        insns.push(planned);
        pc = planned.next();
        if insn.op.ends_block() {
            break;
        }
    }
    let last = *insns.last()?;
    let next = last.next();
    let succs = static_successors(&last, next);
    let mut companions = Vec::new();
    if last.insn.op.flow() == Flow::Call && jump_target(last.insn.imm).is_some() {
        companions.push(next);
    }
    Some(PlannedBlock {
        start,
        insns,
        next,
        succs,
        companions,
        folded: false,
        root: 0,
        need: 0,
        prefix: 0,
    })
}

/// The pcs a block ending in `last` continues at without a dynamic lookup.
fn static_successors(last: &PlannedInsn, next: u32) -> Vec<u32> {
    let insn = &last.insn;
    let target = jump_target(insn.imm);
    match insn.op.flow() {
        Flow::Jump | Flow::Call => vec![target.unwrap_or(next)],
        Flow::Branch => match target.filter(|_| insn.regs_valid()) {
            Some(t) => vec![t, next],
            None => vec![next],
        },
        // A block ending in an ordinary instruction (a length limit) falls through; JR and
        // RET jump dynamically, and fall through when the target is outside memory.
        Flow::Next | Flow::Indirect | Flow::Return => vec![next],
        // SYSCALL goes on after the call; HALT is never planned (see `compiled_flow`).
        Flow::Syscall | Flow::Halt => vec![next],
    }
}

/// Build the region that starts at `entry`. `mode` says how each block start may be
/// compiled. Returns `None` when the entry itself cannot be compiled.
pub(crate) fn plan_region(
    mem: &[u8],
    entry: u32,
    limits: &RegionLimits,
    mode: impl Fn(u32) -> BlockMode,
) -> Option<Plan> {
    compilable_at(mem, entry)?;
    let mut blocks: Vec<PlannedBlock> = Vec::new();
    let mut index = HashMap::new();
    let mut queue = VecDeque::from([entry]);
    let mut insn_count = 0usize;
    while let Some(pc) = queue.pop_front() {
        if blocks.len() >= limits.max_blocks || index.contains_key(&pc) {
            continue;
        }
        let m = mode(pc);
        if m == BlockMode::Interpret {
            continue;
        }
        let Some(block) = scan_block(mem, pc, m, limits.max_block_len) else {
            continue;
        };
        if !blocks.is_empty() && insn_count + block.insns.len() > limits.max_insns {
            continue;
        }
        insn_count += block.insns.len();
        queue.extend(block.succs.iter().copied());
        queue.extend(block.companions.iter().copied());
        index.insert(pc, blocks.len());
        blocks.push(block);
    }
    if blocks.is_empty() {
        return None;
    }
    insn_count -= split_at_block_starts(&mut blocks, &index);
    let (mut blocks, index) = rediscover(blocks, &index);
    fold_fuel_checks(&mut blocks, &index);
    let deps = dependencies(&blocks);
    Some(Plan {
        blocks,
        index,
        deps,
        insn_count,
    })
}

/// End every block where another block of the region starts inside it (a jump target
/// found after the block was scanned), so that it falls through to that block instead of
/// repeating its instructions. Each loop then has one header, which the fuel folding
/// and the pending comparisons depend on. Returns how many instructions were dropped.
fn split_at_block_starts(blocks: &mut [PlannedBlock], index: &HashMap<u32, usize>) -> usize {
    let mut dropped = 0;
    for block in blocks.iter_mut() {
        let cut = (block.insns.iter().skip(1)).position(|p| index.contains_key(&p.pc));
        if let Some(k) = cut.map(|k| k + 1) {
            let at = block.insns[k].pc;
            dropped += block.insns.len() - k;
            block.insns.truncate(k);
            block.next = at;
            block.succs = vec![at];
            block.companions.clear();
        }
    }
    dropped
}

/// Put the blocks back in discovery order — breadth first from the entry, along the
/// successors and then the companions, as `plan_region` found them — now that splitting
/// has changed the edges: folding trusts that order to tell a block's dominating
/// predecessor from a back edge.
fn rediscover(
    blocks: Vec<PlannedBlock>,
    index: &HashMap<u32, usize>,
) -> (Vec<PlannedBlock>, HashMap<u32, usize>) {
    let mut order = Vec::with_capacity(blocks.len());
    let mut seen = vec![false; blocks.len()];
    let mut queue = VecDeque::from([0usize]);
    seen[0] = true;
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for pc in blocks[i].succs.iter().chain(&blocks[i].companions) {
            if let Some(&j) = index.get(pc)
                && !seen[j]
            {
                seen[j] = true;
                queue.push_back(j);
            }
        }
    }
    // Blocks only a split block's lost companions led to keep their old order, last.
    order.extend((0..blocks.len()).filter(|&i| !seen[i]));
    let mut slots: Vec<Option<PlannedBlock>> = blocks.into_iter().map(Some).collect();
    let blocks: Vec<PlannedBlock> = order.iter().map(|&i| slots[i].take().unwrap()).collect();
    let index = (blocks.iter().enumerate())
        .map(|(i, b)| (b.start, i))
        .collect();
    (blocks, index)
}

/// Decide which blocks have their fuel paid by their predecessor, and what each checked
/// entry takes. A block is folded when exactly one static edge inside the region reaches
/// it, that edge comes from a block discovered earlier (so folding is acyclic: the folded
/// edges form trees whose roots are the non-folded blocks), and that predecessor has no
/// backward edge to a block outside its tree. A root's checked entry
/// requires and takes the fuel of the longest path through its tree (`need`); a block
/// leaving the tree gives back what its path did not use (`need(root) - prefix`). Folded
/// blocks have no entry of their own, so a loop pays once per iteration.
fn fold_fuel_checks(blocks: &mut [PlannedBlock], index: &HashMap<u32, usize>) {
    let n = blocks.len();
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, b) in blocks.iter().enumerate() {
        for s in &b.succs {
            if let Some(&j) = index.get(s) {
                preds[j].push(i);
            }
        }
    }
    let candidate: Vec<bool> = (0..n)
        .map(|j| matches!(preds[j][..], [p] if p < j))
        .collect();
    // A block that also branches back to a block with its own check (a loop back edge)
    // folds none of its children: otherwise that hot edge would have to give back the
    // children's fuel every time it is taken. A forward branch to such a block (a loop
    // exit, a join) does not stop folding: it is the colder way, and giving back is one
    // addition on it, while folding saves a check on the way into the child.
    let forks: Vec<bool> = blocks
        .iter()
        .map(|b| {
            b.succs.iter().any(|s| {
                index
                    .get(s)
                    .is_some_and(|&j| !candidate[j] && blocks[j].start <= b.start)
            })
        })
        .collect();
    for j in 0..n {
        blocks[j].folded = candidate[j] && !forks[preds[j][0]];
    }
    for i in (0..n).rev() {
        let mut extra = 0;
        for s in &blocks[i].succs {
            if let Some(&j) = index.get(s)
                && blocks[j].folded
                && j > i
            {
                extra = extra.max(blocks[j].need);
            }
        }
        blocks[i].need = blocks[i].len() + extra;
    }
    for j in 0..n {
        let (root, prefix) = match preds[j][..] {
            [p] if blocks[j].folded => (blocks[p].root, blocks[p].prefix),
            _ => (j, 0),
        };
        blocks[j].root = root;
        blocks[j].prefix = prefix + blocks[j].len();
    }
}

/// The byte ranges the translation of `blocks` depends on, merged.
fn dependencies(blocks: &[PlannedBlock]) -> Vec<(u32, u32)> {
    let mut ranges = Vec::new();
    for insn in blocks.iter().flat_map(|b| &b.insns) {
        let (pc, end) = (insn.pc, insn.next());
        match insn.live_bytes() {
            Some((o, l)) => {
                ranges.push((pc, pc + o));
                if pc + o + l < end {
                    ranges.push((pc + o + l, end));
                }
            }
            None => ranges.push((pc, end)),
        }
    }
    ranges.sort_unstable();
    let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
    for (s, e) in ranges {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use pxvm::Insn;

    fn enc(op: Opcode, regs: [u8; 3], imm: i32) -> Vec<u8> {
        Insn::new(op, regs, imm).encode()
    }

    fn mem_with(code: &[u8]) -> Vec<u8> {
        let mut mem = vec![0u8; pxvm::MEM_SIZE];
        mem[..code.len()].copy_from_slice(code);
        mem
    }

    #[test]
    fn countdown_loop_folds_the_back_jump() {
        // 0: SUB R0,R0,R1 ; 4: JZ R0, 20 ; 10: JMP 0 ; 15..: HALT
        let code = [
            enc(Opcode::SUB, [0, 0, 1], 0),
            enc(Opcode::JZ, [0, 0, 0], 20),
            enc(Opcode::JMP, [0; 3], 0),
        ]
        .concat();
        let mem = mem_with(&code);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).unwrap();
        assert_eq!(plan.blocks.len(), 2, "20 is a HALT, not compilable");
        assert_eq!(plan.blocks[0].need, 3);
        assert!(plan.blocks[1].folded);
        assert_eq!(plan.deps, vec![(0, 15)]);
    }

    #[test]
    fn a_loop_entered_by_falling_through_gets_one_header() {
        // 0: IMM8 R0,0 ; 3: JZ R1,28 (the loop header) ; 9: ADDI R1,R1,-1 ;
        // 16: STB R1,R0,0 ; 23: JMP 3 ; 28: HALT
        let code = [
            enc(Opcode::IMM8, [0, 0, 0], 0),
            enc(Opcode::JZ, [1, 0, 0], 28),
            enc(Opcode::ADDI, [1, 1, 0], -1),
            enc(Opcode::STB, [1, 0, 0], 0),
            enc(Opcode::JMP, [0; 3], 3),
        ]
        .concat();
        assert_eq!(code.len(), 28);
        let mem = mem_with(&code);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).unwrap();
        // The first block was scanned through the header before the back jump named it:
        // it now ends there instead of repeating the JZ.
        let starts: Vec<u32> = plan.blocks.iter().map(|b| b.start).collect();
        assert_eq!(starts, vec![0, 3, 9]);
        assert_eq!(
            (plan.blocks[0].insns.len(), plan.blocks[0].succs.clone()),
            (1, vec![3])
        );
        assert_eq!(plan.insn_count, 5, "no instruction is planned twice");
        // The header is a root (two ways in); the body, reached only from it, is folded
        // into it, so the loop pays for its fuel once per iteration.
        assert!(!plan.blocks[1].folded);
        assert!(plan.blocks[2].folded);
        assert_eq!(plan.blocks[1].need, 4);
    }

    #[test]
    fn live_immediates_leave_holes_in_the_dependencies() {
        let code = enc(Opcode::IMM32, [1, 0, 0], 7);
        let mem = mem_with(&code);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| {
            BlockMode::LiveImmediates
        })
        .unwrap();
        assert!(plan.blocks[0].insns[0].live);
        // IMM32 at 0..6 (immediate 2..6), then HALT at 6 ends the block.
        assert_eq!(plan.deps, vec![(0, 2)]);
    }

    #[test]
    fn nothing_to_compile_at_halt_but_a_syscall_is_a_block_of_its_own() {
        let mem = mem_with(&[0x00]);
        assert!(plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).is_none());
        // SYSCALL 1, then HALT: one block, the syscall alone, falling through to 2.
        let mem = mem_with(&[0xF0, 1, 0x00]);
        let plan = plan_region(&mem, 0, &RegionLimits::default(), |_| BlockMode::Normal).unwrap();
        assert_eq!(plan.blocks.len(), 1);
        assert_eq!(plan.blocks[0].insns.len(), 1);
        assert_eq!(plan.blocks[0].succs, vec![2]);
    }
}
