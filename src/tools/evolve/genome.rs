//! Genomes and the mutation operators that know the ISA. A genome is a kernel's bytes;
//! operators see it as a sequence of items (decoded instructions, or raw bytes where
//! decoding gives none) so that they can change an operand, replace, insert, delete or
//! duplicate whole instructions — relocating jump and call targets past an edit so loops
//! survive it — cross two parents over at instruction boundaries, or flip raw bits.

use pxvm::isa::ALL_OPCODES;
use pxvm::{Decoded, Insn, Layout, Opcode, decode};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// One item of a genome: an instruction, or a byte that does not start one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item {
    Insn(Insn),
    Byte(u8),
}

impl Item {
    fn len(&self) -> usize {
        match self {
            Item::Insn(i) => i.op.len(),
            Item::Byte(_) => 1,
        }
    }
}

/// Split bytes into items by a linear sweep from address 0.
pub fn items(bytes: &[u8]) -> Vec<Item> {
    // Instructions are 1 to 7 bytes, mostly 3 to 7: room for a typical genome at once.
    let mut out = Vec::with_capacity(bytes.len() / 3 + 1);
    let mut pc = 0;
    while pc < bytes.len() {
        match decode(bytes, pc) {
            Ok(Decoded::Insn(insn)) => {
                out.push(Item::Insn(insn));
                pc += insn.op.len();
            }
            Ok(Decoded::Unknown(b)) => {
                out.push(Item::Byte(b));
                pc += 1;
            }
            Err(_) => {
                out.extend(bytes[pc..].iter().map(|&b| Item::Byte(b)));
                break;
            }
        }
    }
    out
}

/// Encode items back to bytes.
pub fn encode(items: &[Item]) -> Vec<u8> {
    const WORD: usize = pxvm::insn::MAX_INSN_LEN + 1;
    let len = items.iter().map(Item::len).sum();
    // Each instruction is written as a whole word (see `Insn::encoded`), so the buffer
    // has a word of room past the end.
    let mut out = vec![0; len + WORD];
    let mut at = 0;
    for item in items {
        match item {
            Item::Insn(insn) => {
                let (bytes, n) = insn.encoded();
                out[at..at + WORD].copy_from_slice(&bytes);
                at += n;
            }
            Item::Byte(b) => {
                out[at] = *b;
                at += 1;
            }
        }
    }
    out.truncate(len);
    out
}

/// Relative weights of the mutation operators (0 disables one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MutationRates {
    pub operand: u32,
    pub replace: u32,
    pub insert: u32,
    pub delete: u32,
    pub duplicate: u32,
    pub byte_flip: u32,
    /// Probability (percent) that a child is a crossover of two parents (then mutated).
    pub crossover_percent: u32,
    /// When above 0, children are varied by [`umad`] with this addition rate (0 to 1)
    /// instead of by one to three of the operators above (absent in older checkpoints: 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub umad: f64,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl Default for MutationRates {
    fn default() -> Self {
        MutationRates {
            operand: 40,
            replace: 15,
            insert: 15,
            delete: 15,
            duplicate: 5,
            byte_flip: 5,
            crossover_percent: 20,
            umad: 0.0,
        }
    }
}

/// What new instructions may contain: the syscalls the goal cares about.
#[derive(Clone, Debug)]
pub struct Alphabet {
    pub syscalls: Vec<u8>,
    /// The opcodes new instructions may use; empty means every opcode.
    pub opcodes: Vec<Opcode>,
    /// Largest genome, in bytes.
    pub max_len: usize,
    /// New register operands are drawn from R0..R`registers` (1 to 8).
    pub registers: u8,
    /// The registers the goal reads when the kernel halts (the answer). When not empty,
    /// an inserted instruction that writes a register usually writes one whose value is
    /// still read later (an *effective* instruction, after Brameier & Banzhaf's linear
    /// GP), so that insertions are seldom dead code.
    pub outputs: Vec<u8>,
    /// Constants the problem is known to need (e.g. 10 for counting decimal digits):
    /// a new immediate is one of them one time in three.
    pub constants: Vec<i32>,
}

impl Alphabet {
    /// Every opcode and register, the given syscalls, no output registers.
    pub fn any(syscalls: Vec<u8>, max_len: usize) -> Alphabet {
        Alphabet {
            syscalls,
            opcodes: Vec::new(),
            max_len,
            registers: pxvm::machine::NUM_REGS as u8,
            outputs: Vec::new(),
            constants: Vec::new(),
        }
    }

    /// A hinted constant, one time in three (none without hints); `fits` filters them.
    fn constant(&self, rng: &mut ChaCha8Rng, fits: impl Fn(i32) -> bool) -> Option<i32> {
        let fitting: Vec<i32> = self
            .constants
            .iter()
            .copied()
            .filter(|&c| fits(c))
            .collect();
        (!fitting.is_empty() && rng.random_range(0..3) == 0)
            .then(|| fitting[rng.random_range(0..fitting.len())])
    }

    /// A new 8-bit immediate: a hinted constant that fits, or any byte.
    fn byte(&self, rng: &mut ChaCha8Rng) -> i32 {
        self.constant(rng, |c| (0..256).contains(&c))
            .unwrap_or_else(|| rng.random_range(0..256))
    }

    /// A new 32-bit immediate: a hinted constant, or a random one.
    fn imm(&self, rng: &mut ChaCha8Rng, items: &[Item]) -> i32 {
        self.constant(rng, |_| true)
            .unwrap_or_else(|| random_imm(rng, items))
    }

    fn register(&self, rng: &mut ChaCha8Rng) -> u8 {
        rng.random_range(0..self.registers.clamp(1, pxvm::machine::NUM_REGS as u8))
    }
}

/// Whether `op` writes its first register operand (and nothing else a later
/// instruction reads, but for `CALL`/`RET`'s stack pointer). One arm per kind of
/// opcode, no catch-all: a new opcode must say.
fn writes_first_register(op: Opcode) -> bool {
    use Opcode::*;
    match op {
        IMM8 | IMM32 | LOAD | MOV | LDW | LDB | ADDI | ANDI | ORI | XORI | SHLI | SHRI | SARI
        | SLTI | ADD | SUB | MUL | DIV | MOD | AND | OR | XOR | SHL | SHR | SAR | SLT | SLTU
        | CMP => true,
        NOP | JMP | HALT | SYSCALL | STORE | JZ | JNZ | JR | STW | STB | CALL | RET => false,
    }
}

/// The registers read before item `at` of `items` (after the last item when `at` is
/// `items.len()`), as a mask, by a backward sweep that ignores jumps: at the end and at
/// each `HALT` the goal's `outputs` are read; an instruction that writes its first
/// register kills it and reads its other register operands; any other instruction reads
/// all its register operands (a syscall, every register).
fn live_before(items: &[Item], outputs: &[u8], at: usize) -> u8 {
    let mask = |regs: &[u8]| {
        regs.iter()
            .filter(|&&r| usize::from(r) < pxvm::machine::NUM_REGS)
            .fold(0u8, |m, &r| m | 1 << r)
    };
    let at_halt = mask(outputs);
    let mut live = at_halt;
    for item in items[at.min(items.len())..].iter().rev() {
        live = match item {
            Item::Byte(_) => live,
            Item::Insn(insn) => {
                let regs = &insn.regs[..insn.op.layout().reg_count()];
                match insn.op {
                    Opcode::HALT => at_halt,
                    Opcode::SYSCALL => u8::MAX,
                    op if writes_first_register(op) => live & !mask(&regs[..1]) | mask(&regs[1..]),
                    _ => live | mask(regs),
                }
            }
        };
    }
    live
}

fn is_branch(op: Opcode) -> bool {
    matches!(op, Opcode::JMP | Opcode::JZ | Opcode::JNZ | Opcode::CALL)
}

/// The start address of item `index` of `items` (the length of the code before it).
fn address_of(items: &[Item], index: usize) -> usize {
    items[..index].iter().map(Item::len).sum()
}

/// The start address of a random item of `items` (not empty).
fn random_address(rng: &mut ChaCha8Rng, items: &[Item]) -> i32 {
    address_of(items, rng.random_range(0..items.len())) as i32
}

/// Shift branch targets at or after `at` by `delta` bytes.
fn relocate(items: &mut [Item], at: usize, delta: isize) {
    for item in items {
        if let Item::Insn(insn) = item
            && is_branch(insn.op)
            && insn.imm >= at as i32
        {
            insn.imm = insn.imm.wrapping_add(delta as i32);
        }
    }
}

fn random_imm(rng: &mut ChaCha8Rng, items: &[Item]) -> i32 {
    match rng.random_range(0..10) {
        0..=5 => rng.random_range(-4..=16),
        6 | 7 => rng.random_range(-1000..=1000),
        8 if !items.is_empty() => random_address(rng, items),
        _ => rng.random(),
    }
}

/// A kernel of `len` random instructions over `alphabet` (each drawn by [`random_insn`],
/// so a jump may target an instruction before it).
pub fn random_kernel(rng: &mut ChaCha8Rng, len: usize, alphabet: &Alphabet) -> Vec<u8> {
    let mut items = Vec::with_capacity(len);
    for _ in 0..len {
        let insn = random_insn(rng, &items, alphabet);
        items.push(Item::Insn(insn));
    }
    encode(&items)
}

/// A kernel of `len` random instructions over `alphabet`, grown as insertion mutations
/// grow one: each instruction goes to a random place and, usually, writes a register
/// still read after it (see [`Alphabet::outputs`]), so little of it is dead code.
pub fn random_effective_kernel(rng: &mut ChaCha8Rng, len: usize, alphabet: &Alphabet) -> Vec<u8> {
    let mut items: Vec<Item> = Vec::with_capacity(len);
    for _ in 0..len {
        insert_random(rng, &mut items, alphabet);
    }
    encode_clamped(&items, alphabet)
}

/// Insert a random (usually effective) instruction at a random place of `items`,
/// relocating the branch targets past it.
fn insert_random(rng: &mut ChaCha8Rng, items: &mut Vec<Item>, alphabet: &Alphabet) {
    let at = rng.random_range(0..=items.len());
    let new = random_insn(rng, items, alphabet);
    let new = effective(rng, new, items, at, alphabet);
    let at_addr = address_of(items, at);
    relocate(items, at_addr, new.op.len() as isize);
    items.insert(at, Item::Insn(new));
}

/// A random instruction over the ISA (syscalls limited to the alphabet).
pub fn random_insn(rng: &mut ChaCha8Rng, items: &[Item], alphabet: &Alphabet) -> Insn {
    loop {
        let ops: &[Opcode] = if alphabet.opcodes.is_empty() {
            ALL_OPCODES
        } else {
            &alphabet.opcodes
        };
        let op = ops[rng.random_range(0..ops.len())];
        if op == Opcode::HALT && rng.random_bool(0.7) {
            continue;
        }
        let mut regs = [
            alphabet.register(rng),
            alphabet.register(rng),
            alphabet.register(rng),
        ];
        let layout = op.layout();
        // Operands the layout lacks are zero, as decoding leaves them.
        regs[layout.reg_count()..].fill(0);
        let imm = match layout {
            Layout::U8 if op == Opcode::SYSCALL => {
                if alphabet.syscalls.is_empty() {
                    continue;
                }
                i32::from(alphabet.syscalls[rng.random_range(0..alphabet.syscalls.len())])
            }
            Layout::U8 | Layout::RegU8 => alphabet.byte(rng),
            l if l.has_imm() && is_branch(op) && !items.is_empty() => random_address(rng, items),
            l if l.has_imm() => alphabet.imm(rng, items),
            _ => 0,
        };
        return Insn::new(op, regs, imm);
    }
}

fn mutate_operand(rng: &mut ChaCha8Rng, insn: &mut Insn, items: &[Item], alphabet: &Alphabet) {
    let layout = insn.op.layout();
    let regs = layout.reg_count();
    if regs > 0 && (!layout.has_imm() || rng.random_bool(0.5)) {
        insn.regs[rng.random_range(0..regs)] = alphabet.register(rng);
        return;
    }
    match layout {
        Layout::U8 if insn.op == Opcode::SYSCALL && !alphabet.syscalls.is_empty() => {
            insn.imm = i32::from(alphabet.syscalls[rng.random_range(0..alphabet.syscalls.len())]);
        }
        Layout::U8 | Layout::RegU8 => insn.imm = alphabet.byte(rng),
        _ if is_branch(insn.op) && !items.is_empty() => insn.imm = random_address(rng, items),
        _ if layout.has_imm() => {
            insn.imm = match rng.random_range(0..5) {
                0 => insn.imm.wrapping_add(rng.random_range(-3..=3)),
                1 => insn.imm.wrapping_add(rng.random_range(-64..=64)),
                2 => insn.imm.wrapping_mul(2),
                3 => insn.imm / 2,
                _ => alphabet.imm(rng, items),
            }
        }
        _ => {}
    }
}

/// Mutate `genome` once with an operator chosen by `rates` (see [`mutate_items`]).
pub fn mutate(
    rng: &mut ChaCha8Rng,
    genome: &[u8],
    rates: &MutationRates,
    alphabet: &Alphabet,
) -> Vec<u8> {
    let mut items = items(genome);
    mutate_items(rng, &mut items, rates, alphabet);
    encode(&items)
}

/// Mutate a decoded genome in place, once, with an operator chosen by `rates`; the result
/// fits `alphabet.max_len` (cut there, as bytes, when it grew past it).
pub fn mutate_items(
    rng: &mut ChaCha8Rng,
    items: &mut Vec<Item>,
    rates: &MutationRates,
    alphabet: &Alphabet,
) {
    let weights = [
        rates.operand,
        rates.replace,
        rates.insert,
        rates.delete,
        rates.duplicate,
        rates.byte_flip,
    ];
    let total: u32 = weights.iter().sum();
    if total == 0 || items.is_empty() {
        let insn = random_insn(rng, items, alphabet);
        *items = vec![Item::Insn(insn)];
        return clamp(items, alphabet);
    }
    let mut pick = rng.random_range(0..total);
    let op = weights
        .iter()
        .position(|&w| {
            if pick < w {
                true
            } else {
                pick -= w;
                false
            }
        })
        .unwrap_or(0);
    let i = rng.random_range(0..items.len());
    match op {
        0 => {
            items[i] = match items[i] {
                Item::Insn(mut insn) => {
                    mutate_operand(rng, &mut insn, items, alphabet);
                    Item::Insn(insn)
                }
                Item::Byte(_) => Item::Insn(random_insn(rng, items, alphabet)),
            };
        }
        1 => {
            let new = random_insn(rng, items, alphabet);
            let new = effective(rng, new, items, i, alphabet);
            let delta = new.op.len() as isize - items[i].len() as isize;
            let addr = address_of(items, i);
            items[i] = Item::Insn(new);
            relocate(items, addr + 1, delta);
        }
        2 => insert_random(rng, items, alphabet),
        // A kernel of one item keeps it (deleting would leave nothing to run).
        3 => {
            if items.len() > 1 {
                let addr = address_of(items, i);
                let removed = items.remove(i);
                relocate(items, addr + 1, -(removed.len() as isize));
            }
        }
        4 => {
            let run = rng.random_range(1..=4).min(items.len() - i);
            let copy: Vec<Item> = items[i..i + run].to_vec();
            let bytes: usize = copy.iter().map(Item::len).sum();
            let at = rng.random_range(0..=items.len());
            let at_addr = address_of(items, at);
            relocate(items, at_addr, bytes as isize);
            items.splice(at..at, copy);
        }
        _ => {
            let mut bytes = encode(items);
            let b = rng.random_range(0..bytes.len());
            bytes[b] ^= 1 << rng.random_range(0..8);
            *items = self::items(&bytes);
        }
    }
    clamp(items, alphabet)
}

/// Usually (9 times in 10) make `insn`, about to be placed before item `at`, write a
/// register read later (see [`Alphabet::outputs`]); unchanged if it writes none, or
/// none is read later.
fn effective(
    rng: &mut ChaCha8Rng,
    insn: Insn,
    items: &[Item],
    at: usize,
    alphabet: &Alphabet,
) -> Insn {
    if alphabet.outputs.is_empty() {
        return insn;
    }
    effective_given(
        rng,
        insn,
        live_before(items, &alphabet.outputs, at),
        alphabet,
    )
}

/// [`effective`] given the registers `live` where `insn` goes.
fn effective_given(rng: &mut ChaCha8Rng, mut insn: Insn, live: u8, alphabet: &Alphabet) -> Insn {
    if alphabet.outputs.is_empty() || !writes_first_register(insn.op) || rng.random_bool(0.1) {
        return insn;
    }
    let allowed = live & (u8::MAX >> (8 - alphabet.registers.clamp(1, 8)));
    if allowed != 0 {
        let choices: Vec<u8> = (0..8).filter(|r| allowed & 1 << r != 0).collect();
        insn.regs[0] = choices[rng.random_range(0..choices.len())];
    }
    insn
}

/// Cut `items` to `alphabet.max_len` bytes (an instruction cut in two leaves its first
/// bytes as raw bytes), and leave them as [`items`] decodes their encoding: a raw byte that
/// starts an instruction (the rest of a cut one, with code now after it) is decoded
/// afresh. An empty genome becomes `HALT`.
fn clamp(items: &mut Vec<Item>, alphabet: &Alphabet) {
    let max_len = alphabet.max_len.max(1);
    let mut len = 0;
    let mut canonical = true;
    for item in items.iter() {
        len += item.len();
        canonical &= !matches!(item, Item::Byte(b) if Opcode::from_byte(*b).is_some());
    }
    if len > max_len || !canonical {
        let mut bytes = encode(items);
        bytes.truncate(max_len);
        *items = self::items(&bytes);
    }
    if items.is_empty() {
        items.push(Item::Insn(Insn::new(Opcode::HALT, [0; 3], 0)));
    }
}

/// `items` cut to `alphabet.max_len` bytes, encoded (an empty genome is `HALT`).
pub fn encode_clamped(items: &[Item], alphabet: &Alphabet) -> Vec<u8> {
    let mut bytes = encode(items);
    bytes.truncate(alphabet.max_len.max(1));
    if bytes.is_empty() {
        bytes.push(Opcode::HALT as u8);
    }
    bytes
}

/// Uniform mutation by addition and deletion (UMAD; Helmuth, McPhee & Spector, 2018: the
/// variation behind PushGP's results on the PSB1 and PSB2 suites). Before each item, and
/// after the last, a new random (usually effective) instruction is inserted with
/// probability `rate`; then every item is deleted with probability `rate / (1 + rate)`,
/// so the length is unchanged on average. Many small edits spread over the whole genome
/// reach variants that one to three point mutations seldom do. Branch targets follow the
/// items they pointed at (to the next kept item when theirs was deleted); new branches
/// target items of the parent.
pub fn umad(rng: &mut ChaCha8Rng, items: &mut Vec<Item>, rate: f64, alphabet: &Alphabet) {
    let rate = rate.clamp(0.0, 1.0);
    let delete = rate / (1.0 + rate);
    let old_len = items.len();
    // The registers live before each item, for effective insertions.
    let live: Vec<u8> = (0..=old_len)
        .map(|at| live_before(items, &alphabet.outputs, at))
        .collect();
    // The parent's item starts, and past the end its length.
    let mut starts = Vec::with_capacity(old_len + 1);
    let mut addr = 0;
    for item in items.iter() {
        starts.push(addr);
        addr += item.len();
    }
    let old_bytes = addr;
    starts.push(old_bytes);
    // (item, the parent's index it came from, or None for an inserted one).
    let mut child: Vec<(Item, Option<usize>)> = Vec::with_capacity(old_len + old_len / 4 + 2);
    for at in 0..=old_len {
        if rng.random_bool(rate) {
            let new = random_insn(rng, items, alphabet);
            let new = effective_given(rng, new, live[at], alphabet);
            child.push((Item::Insn(new), None));
        }
        if at < old_len {
            child.push((items[at], Some(at)));
        }
    }
    child.retain(|_| !rng.random_bool(delete));
    // Where each parent item (or, when deleted, the next kept one) now starts.
    let mut kept = vec![false; old_len];
    let mut new_start = vec![0usize; old_len + 1];
    let mut addr = 0;
    let mut next_old = 0;
    for (item, from) in &child {
        if let Some(k) = from {
            kept[*k] = true;
            while next_old <= *k {
                new_start[next_old] = addr;
                next_old += 1;
            }
        }
        addr += item.len();
    }
    let new_bytes = addr;
    new_start[next_old..].fill(new_bytes);
    let map = |target: i32| -> i32 {
        let Ok(t) = usize::try_from(target) else {
            return target;
        };
        if t >= old_bytes {
            return (t - old_bytes + new_bytes) as i32;
        }
        // The parent item holding byte t, and t's offset in it.
        let k = starts.partition_point(|&s| s <= t) - 1;
        let offset = if kept[k] { t - starts[k] } else { 0 };
        (new_start[k] + offset) as i32
    };
    *items = child
        .into_iter()
        .map(|(item, _)| match item {
            Item::Insn(mut insn) if is_branch(insn.op) => {
                insn.imm = map(insn.imm);
                Item::Insn(insn)
            }
            other => other,
        })
        .collect();
    clamp(items, alphabet)
}

/// A child of `a` and `b`: `a`'s items before a random boundary, `b`'s from another.
pub fn crossover_items(
    rng: &mut ChaCha8Rng,
    a: &[Item],
    b: &[Item],
    alphabet: &Alphabet,
) -> Vec<Item> {
    let cut_a = rng.random_range(0..=a.len());
    let cut_b = rng.random_range(0..=b.len());
    let mut child = Vec::with_capacity(cut_a + b.len() - cut_b + 8);
    child.extend_from_slice(&a[..cut_a]);
    child.extend_from_slice(&b[cut_b..]);
    clamp(&mut child, alphabet);
    child
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn alphabet() -> Alphabet {
        Alphabet::any(vec![10], 4096)
    }

    #[test]
    fn items_round_trip_any_bytes() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..200 {
            let len = rng.random_range(0..64);
            let bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            assert_eq!(encode(&items(&bytes)), bytes);
        }
    }

    #[test]
    fn inserting_keeps_loops_pointing_at_their_heads() {
        // IMM32 R1, 5 ; loop (6): ADDI R1, R1, -1 ; JNZ R1, 6 ; HALT
        use pxvm::testkit::code::{halt, imm32, jnz, program, rri};
        let prog = program(&[imm32(1, 5), rri(Opcode::ADDI, 1, 1, -1), jnz(1, 6), halt()]);
        let mut items = items(&prog);
        relocate(&mut items, 0, 3);
        items.insert(0, Item::Insn(Insn::new(Opcode::MOV, [2, 1, 0], 0)));
        let bytes = encode(&items);
        let mut m = pxvm::Machine::new(&bytes).unwrap();
        let exit = pxvm::interp::run(&mut m, &mut pxvm::NullHost, 1000);
        assert_eq!(exit, pxvm::Exit::Halt);
        assert_eq!(m.cycles, 1 + 1 + 5 * 2);
    }

    #[test]
    fn mutation_is_deterministic_and_bounded() {
        let seed =
            pxvm::asm::assemble("IMM32 R1, 5\nL: ADDI R1, R1, -1\nJNZ R1, L\nHALT\n", "t").unwrap();
        let run = |s| {
            let mut rng = ChaCha8Rng::seed_from_u64(s);
            let mut g = seed.clone();
            for _ in 0..500 {
                g = mutate(
                    &mut rng,
                    &g,
                    &MutationRates::default(),
                    &Alphabet::any(vec![10], 64),
                );
                assert!(!g.is_empty() && g.len() <= 64);
            }
            g
        };
        assert_eq!(run(3), run(3));
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let child = encode(&crossover_items(
            &mut rng,
            &items(&seed),
            &items(&seed),
            &alphabet(),
        ));
        assert!(child.len() <= 2 * seed.len());
    }

    /// Mutation and crossover leave items exactly as decoding their bytes gives them (the
    /// population keeps a child's items instead of decoding its genome again), also when
    /// genomes are cut mid-instruction at `max_len` and raw bytes are flipped.
    #[test]
    fn bred_items_are_the_items_of_their_bytes() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let rates = MutationRates {
            byte_flip: 30,
            ..MutationRates::default()
        };
        for max_len in [1, 7, 20, 64, 4096] {
            let alphabet = Alphabet::any(vec![10], max_len);
            let mut pool: Vec<Vec<Item>> = (0..8)
                .map(|_| items(&random_kernel(&mut rng, 12, &alphabet)))
                .collect();
            for _ in 0..400 {
                let (a, b) = (rng.random_range(0..8), rng.random_range(0..8));
                let mut child = if rng.random_bool(0.3) {
                    crossover_items(&mut rng, &pool[a], &pool[b], &alphabet)
                } else {
                    pool[a].clone()
                };
                if rng.random_bool(0.2) {
                    umad(&mut rng, &mut child, 0.1, &alphabet);
                } else {
                    mutate_items(&mut rng, &mut child, &rates, &alphabet);
                }
                let bytes = encode(&child);
                assert!(!bytes.is_empty() && bytes.len() <= max_len.max(1));
                assert_eq!(items(&bytes), child, "max_len {max_len}: {bytes:?}");
                pool[b] = child;
            }
        }
    }

    /// UMAD's insertions leave every branch on the instruction it targeted: a loop whose
    /// instructions all survive, with `NOP`s added anywhere (inside it too), computes what
    /// it computed before; and a rate of 0 changes nothing.
    #[test]
    fn umad_keeps_branches_on_their_instructions() {
        use pxvm::testkit::code::{halt, imm32, jnz, program, rri, rrr};
        // R1 = 5; loop (6): R2 += R1; R1 -= 1; JNZ R1, loop; HALT  => R2 = 15
        let prog = program(&[
            imm32(1, 5),
            rrr(Opcode::ADD, 2, 2, 1),
            rri(Opcode::ADDI, 1, 1, -1),
            jnz(1, 6),
            halt(),
        ]);
        let original = items(&prog);
        let nops = Alphabet {
            opcodes: vec![Opcode::NOP],
            ..alphabet()
        };
        let run = |bytes: &[u8]| {
            let mut m = pxvm::Machine::new(bytes).unwrap();
            let exit = pxvm::interp::run(&mut m, &mut pxvm::NullHost, 10_000);
            (exit, m.regs)
        };
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut unchanged = original.clone();
        umad(&mut rng, &mut unchanged, 0.0, &nops);
        assert_eq!(unchanged, original);
        let (mut checked, mut grown) = (0, 0);
        for _ in 0..300 {
            let mut child = original.clone();
            umad(&mut rng, &mut child, 0.3, &nops);
            let kept: Vec<Item> = child
                .iter()
                .copied()
                .filter(|i| !matches!(i, Item::Insn(insn) if insn.op == Opcode::NOP))
                .collect();
            if kept == original {
                checked += 1;
                grown += usize::from(child.len() > original.len());
                assert_eq!(run(&encode(&child)), run(&prog), "{child:?}");
            }
        }
        assert!(
            checked > 20 && grown > 10,
            "{checked} children kept every instruction, {grown} grew"
        );
    }

    #[test]
    fn umad_keeps_the_length_on_average() {
        let mut rng = ChaCha8Rng::seed_from_u64(22);
        let alphabet = alphabet();
        let parent = items(&random_kernel(&mut rng, 50, &alphabet));
        let total: usize = (0..400)
            .map(|_| {
                let mut child = parent.clone();
                umad(&mut rng, &mut child, 0.1, &alphabet);
                child.len()
            })
            .sum();
        let mean = total as f64 / 400.0;
        assert!((47.0..=53.0).contains(&mean), "mean length {mean}");
    }

    fn hinted() -> Alphabet {
        Alphabet {
            registers: 3,
            outputs: vec![1],
            constants: vec![10],
            opcodes: vec![Opcode::ADDI, Opcode::ADD, Opcode::IMM8, Opcode::JNZ],
            ..Alphabet::any(vec![], 4096)
        }
    }

    #[test]
    fn new_instructions_keep_to_the_registers_and_favour_the_constants() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let alphabet = hinted();
        let (mut tens, mut imms) = (0, 0);
        let rates = MutationRates {
            byte_flip: 0,
            ..MutationRates::default()
        };
        for _ in 0..100 {
            let mut g = vec![Opcode::HALT as u8];
            for _ in 0..20 {
                g = mutate(&mut rng, &g, &rates, &alphabet);
            }
            for item in items(&g) {
                let Item::Insn(insn) = item else {
                    panic!("only instructions: {g:?}")
                };
                let n = insn.op.layout().reg_count();
                assert!(insn.regs[..n].iter().all(|&r| r < 3), "{insn:?} in {g:?}");
                if matches!(insn.op, Opcode::ADDI | Opcode::IMM8) {
                    imms += 1;
                    tens += usize::from(insn.imm == 10);
                }
            }
        }
        assert!(
            imms > 100 && tens * 6 > imms,
            "10 in {tens} of {imms} immediates"
        );
    }

    #[test]
    fn live_before_follows_the_answer_backwards() {
        use pxvm::testkit::code::{halt, program, rrr};
        // R2 = R0 + R3 ; R1 = R2 + R2 ; HALT ; R3 = R1 + R1 (dead, after HALT)
        let prog = program(&[
            rrr(Opcode::ADD, 2, 0, 3),
            rrr(Opcode::ADD, 1, 2, 2),
            halt(),
            rrr(Opcode::ADD, 3, 1, 1),
        ]);
        let decoded = items(&prog);
        let live: Vec<u8> = (0..=decoded.len())
            .map(|at| live_before(&decoded, &[1], at))
            .collect();
        let set = |regs: &[u8]| regs.iter().fold(0u8, |m, r| m | 1 << r);
        assert_eq!(
            live,
            vec![set(&[0, 3]), set(&[2]), set(&[1]), set(&[1, 1]), set(&[1])]
        );
        // An insertion before the second ADD writes R2 (the only register read there)
        // nine times in ten.
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let alphabet = Alphabet {
            registers: 8,
            ..hinted()
        };
        let writes_r2 = (0..1000)
            .filter(|_| {
                let insn = Insn::new(Opcode::ADD, [5, 0, 0], 0);
                effective(&mut rng, insn, &items(&prog), 1, &alphabet).regs[0] == 2
            })
            .count();
        assert!((850..=950).contains(&writes_r2), "{writes_r2}");
    }
}
