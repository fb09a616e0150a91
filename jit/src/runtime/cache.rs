//! The code cache: which regions are compiled, the pc-indexed entry table compiled code and
//! the dispatcher look targets up in, invalidation when translated bytes are written, the
//! per-block patch policy, validation against memory at the start of every run, bounded
//! executable memory (a flush drops the whole Cranelift module), and entering compiled
//! code.
//!
//! Patch policy: every time a write invalidates a block, the block's patch count grows.
//! From [`LIVE_AFTER`] patches on, the block is compiled with its immediates read from
//! memory, so a loop that rewrites its own immediates stops invalidating anything; from
//! [`INTERPRET_AFTER`] patches on, the block is left to the interpreter for good.
//!
//! Tiers: with an `optimise_after` budget, a region is first compiled with the quick
//! settings ([`Tier::Quick`]) and entered with at most the fuel left in its budget; once
//! the guest instructions run from its entries reach the budget, it is compiled again from
//! the same root with the optimising settings and replaces the quick code (the same plan,
//! so the same semantics; only the machine code differs).

use super::abi::StoreWindow;
use super::abi::{Ctx, EXIT_CODE_WRITE, EXIT_FUEL};
use super::backend::{Backend, Compiled, Tier};
use super::codemap::CodeMap;
use super::hostcall::{Link, host_call};
use super::zeroed::EntryTable;
use crate::analysis::Plan;
use crate::analysis::scan::{BlockMode, RegionLimits, plan_region};
use pxvm::{Host, MEM_SIZE, Machine};
use std::collections::HashMap;
use std::ops::Range;
use std::panic::{self, AssertUnwindSafe};

/// Patches after which a block's immediates are read live.
pub const LIVE_AFTER: u8 = 2;
/// Patches after which a block is never compiled again.
pub const INTERPRET_AFTER: u8 = 6;

/// Bounds on the memory the cache may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CacheLimits {
    /// Executable memory (bytes, page-rounded) after which the cache is flushed.
    pub max_code_bytes: usize,
    /// Executable memory held by invalidated regions after which the cache is flushed.
    pub max_dead_bytes: usize,
    /// Most live regions.
    pub max_regions: usize,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_code_bytes: 64 << 20,
            max_dead_bytes: 16 << 20,
            max_regions: 8192,
        }
    }
}

/// Counters describing what the cache did, for tests, benches and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Regions compiled.
    pub compiles: u64,
    /// Guest instructions compiled, over all regions.
    pub compiled_insns: u64,
    /// Regions invalidated (by writes or by validation).
    pub invalidations: u64,
    /// Whole-cache flushes.
    pub flushes: u64,
    /// Calls from the dispatcher into compiled code.
    pub entries: u64,
    /// Regions alive now.
    pub live_regions: u64,
    /// Executable memory held now (page-rounded).
    pub code_bytes: u64,
    /// Quick regions compiled again with the optimising settings (not in `compiles`).
    pub optimised: u64,
}

/// One compiled region.
#[derive(Debug)]
struct Region {
    /// The pc it was planned from.
    root: u32,
    tier: Tier,
    /// Guest instructions retired by calls entering it (quick regions only).
    heat: u64,
    code: usize,
    bytes: usize,
    /// Block starts (the pcs this region may own in the entry table) and each block's end.
    blocks: Vec<(u32, u32)>,
    /// The guest bytes of the dependencies at compile time, concatenated.
    source: Vec<u8>,
    /// Where its stores skip the code map: no live region may depend on a byte in it.
    window: StoreWindow,
}

/// How a call into compiled code ended, after the machine has been updated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Left {
    /// Continue at `m.pc` (look up or compile, or step).
    Jump,
    /// The block at `m.pc` needs more fuel than remains: step the rest.
    Fuel,
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    limits: CacheLimits,
    region_limits: RegionLimits,
    /// Guest instructions a quick region runs before it is optimised; `None`: compile
    /// optimised at once.
    optimise_after: Option<u64>,
    backend: Option<Box<Backend>>,
    /// `ENTRY_COUNT` code addresses once a backend exists, else empty.
    entries: EntryTable,
    codemap: CodeMap,
    regions: Slots<Region>,
    /// Live regions by code address.
    by_code: HashMap<usize, u32>,
    dead_bytes: usize,
    /// Patch counts by block start.
    patches: HashMap<u32, u8>,
    /// Addresses never to compile at (a bitmap, allocated on first use).
    interpret: Vec<u64>,
    /// Set when the host cannot run Cranelift code: compile nothing, ever.
    unsupported: bool,
    pub stats: CacheStats,
}

impl Cache {
    pub fn new(
        limits: CacheLimits,
        region_limits: RegionLimits,
        optimise_after: Option<u64>,
    ) -> Cache {
        Cache {
            limits,
            region_limits,
            optimise_after,
            ..Cache::default()
        }
    }

    /// Whether no translation is alive (so no write can need invalidating).
    pub fn is_empty(&self) -> bool {
        self.codemap.is_empty()
    }

    /// The compiled entry for `pc`, if any.
    #[inline]
    pub fn lookup(&self, pc: u32) -> Option<usize> {
        self.entries.get(pc as usize).copied().filter(|&c| c != 0)
    }

    fn interpret_only(&self, pc: u32) -> bool {
        self.interpret
            .get(pc as usize / 64)
            .is_some_and(|w| w >> (pc % 64) & 1 != 0)
    }

    fn mark_interpret(&mut self, range: Range<u32>) {
        if self.interpret.is_empty() {
            self.interpret = vec![0; MEM_SIZE / 64];
        }
        for pc in range.start..range.end.min(MEM_SIZE as u32) {
            self.interpret[pc as usize / 64] |= 1 << (pc % 64);
        }
    }

    fn mode(&self, pc: u32) -> BlockMode {
        if self.interpret_only(pc) {
            BlockMode::Interpret
        } else if self.patches.get(&pc).is_some_and(|&n| n >= LIVE_AFTER) {
            BlockMode::LiveImmediates
        } else {
            BlockMode::Normal
        }
    }

    /// Compile the region starting at `pc` and return its entry, or `None` if the
    /// instruction there is not compilable, the block is left to the interpreter, or the
    /// host cannot run compiled code.
    pub fn compile(&mut self, pc: u32, mem: &[u8; MEM_SIZE]) -> Option<usize> {
        let tier = match self.optimise_after {
            Some(_) => Tier::Quick,
            None => Tier::Optimised,
        };
        let (code, insns) = self.compile_at(pc, mem, tier)?;
        self.stats.compiles += 1;
        self.stats.compiled_insns += insns;
        Some(code)
    }

    /// The fuel to enter `code` (an entry of this cache) with when `left` remains: a quick
    /// region gets at most what is left of its budget, so that it comes back to be
    /// optimised.
    pub fn slice(&self, code: usize, left: u64) -> u64 {
        let region = self.by_code.get(&code).and_then(|&id| self.regions.get(id));
        match (region, self.optimise_after) {
            (Some(r), Some(budget)) if r.tier == Tier::Quick => {
                left.min(budget.saturating_sub(r.heat).max(1))
            }
            _ => left,
        }
    }

    /// A call entering `code` retired `used` instructions; `cut` when it stopped because
    /// its slice (not the run's fuel) ran out. A quick region whose budget is used up is
    /// compiled again, optimised, from the same root; if that fails it keeps its quick code
    /// and is never cut again.
    pub fn warm(&mut self, code: usize, used: u64, cut: bool, mem: &[u8; MEM_SIZE]) {
        let Some(budget) = self.optimise_after else {
            return;
        };
        let Some(&id) = self.by_code.get(&code) else {
            return;
        };
        let Some(region) = self.regions.get_mut(id) else {
            return;
        };
        if region.tier != Tier::Quick {
            return;
        }
        region.heat = region.heat.saturating_add(used);
        if region.heat < budget && !cut {
            return;
        }
        region.tier = Tier::Optimised;
        let root = region.root;
        if self.compile_at(root, mem, Tier::Optimised).is_some() {
            self.stats.optimised += 1;
            // The optimised region took over the entries; the quick one goes (if a flush
            // has not taken it already), replaced rather than invalidated.
            if self.by_code.get(&code) == Some(&id) {
                self.remove(id);
            }
        }
    }

    /// Compile the region rooted at `pc` at `tier` and install it; its entry and its
    /// instruction count.
    fn compile_at(&mut self, pc: u32, mem: &[u8; MEM_SIZE], tier: Tier) -> Option<(usize, u64)> {
        if self.unsupported || self.interpret_only(pc) {
            return None;
        }
        let plan = plan_region(&mem[..], pc, &self.region_limits, |p| self.mode(p))?;
        self.make_room();
        if self.backend.is_none() {
            match Backend::new() {
                Some(b) => self.backend = Some(Box::new(b)),
                None => {
                    self.unsupported = true;
                    return None;
                }
            }
            if self.entries.is_empty() {
                self.entries = EntryTable::zeroed();
            }
        }
        let mut window = self.codemap.free_window(&plan.deps);
        window.spot = self.codemap.free_spot(&plan);
        let backend = self.backend.as_mut()?;
        // A compile error (out of memory for code, or a bug) must not take the host down:
        // leave this entry to the interpreter from now on. A panic inside Cranelift leaves
        // its module in an unknown state, so that module is dropped (nothing of it runs).
        let outcome =
            panic::catch_unwind(AssertUnwindSafe(|| backend.compile(&plan, window, tier)));
        let compiled = match outcome {
            Ok(Ok(c)) => c,
            Ok(Err(_)) => {
                self.mark_interpret(pc..pc + 1);
                return None;
            }
            Err(_) => {
                self.flush();
                self.mark_interpret(pc..pc + 1);
                return None;
            }
        };
        self.install(&plan, (pc, tier), compiled, window, mem);
        Some((compiled.addr, plan.insn_count as u64))
    }

    /// Flush when the cache holds too much.
    fn make_room(&mut self) {
        let code = self.backend.as_ref().map_or(0, |b| b.code_bytes);
        let live = self.regions.live();
        if code > self.limits.max_code_bytes
            || self.dead_bytes > self.limits.max_dead_bytes
            || live >= self.limits.max_regions
        {
            self.flush();
        }
    }

    fn install(
        &mut self,
        plan: &Plan,
        (root, tier): (u32, Tier),
        compiled: Compiled,
        window: StoreWindow,
        mem: &[u8; MEM_SIZE],
    ) {
        // Regions that store into the new code's bytes without looking at the code map
        // must go (they are compiled again, around it, when next needed).
        let blind: Vec<u32> = (self.regions.iter())
            .filter(|(_, r)| r.window.overlaps(&plan.deps))
            .map(|(id, _)| id)
            .collect();
        let mut counted = Vec::new();
        for id in blind {
            self.kill(id, None, &mut counted);
        }
        let Compiled { addr: code, bytes } = compiled;
        let mut source = Vec::new();
        for &(s, e) in &plan.deps {
            source.extend_from_slice(&mem[s as usize..e as usize]);
        }
        let blocks = plan.blocks.iter().map(|b| (b.start, b.next)).collect();
        // Folded blocks are entered only from their predecessor inside the region.
        for b in plan.blocks.iter().filter(|b| !b.folded) {
            self.entries.set(b.start, code);
        }
        let id = self.regions.insert(Region {
            root,
            tier,
            heat: 0,
            code,
            bytes,
            blocks,
            source,
            window,
        });
        self.codemap.add(id, plan.deps.clone());
        self.by_code.insert(code, id);
        self.stats.live_regions += 1;
        self.stats.code_bytes = self.backend.as_ref().map_or(0, |b| b.code_bytes) as u64;
    }

    /// Invalidate region `id`; with `patched`, count a patch for each of its blocks that
    /// overlaps `written`.
    fn kill(&mut self, id: u32, patched: Option<&Range<usize>>, counted: &mut Vec<u32>) {
        let Some(region) = self.remove(id) else {
            return;
        };
        self.stats.invalidations += 1;
        let Some(w) = patched else {
            return;
        };
        for &(start, end) in &region.blocks {
            let hit = (start as usize) < w.end && w.start < end as usize;
            if hit && !counted.contains(&start) {
                counted.push(start);
                let n = self.patches.entry(start).or_insert(0);
                *n = n.saturating_add(1);
                if *n >= INTERPRET_AFTER {
                    self.mark_interpret(start..end);
                }
            }
        }
    }

    /// Drop region `id` from every table (its entries, the code map) and count its code
    /// as dead; the region, if it was alive.
    fn remove(&mut self, id: u32) -> Option<Region> {
        let region = self.regions.take(id)?;
        self.by_code.remove(&region.code);
        for &(start, _) in &region.blocks {
            if self.entries.get(start as usize) == Some(&region.code) {
                self.entries.set(start, 0);
            }
        }
        self.codemap.remove(id);
        self.dead_bytes += region.bytes;
        self.stats.live_regions = self.stats.live_regions.saturating_sub(1);
        Some(region)
    }

    /// Guest memory `range` was written: invalidate every translation that depends on it.
    #[inline]
    pub fn note_write(&mut self, range: Range<usize>) {
        if self.codemap.is_empty() || !self.codemap.any(&range) {
            return;
        }
        let mut counted = Vec::new();
        for id in self.codemap.regions_touching(&range) {
            self.kill(id, Some(&range), &mut counted);
        }
    }

    /// Drop every translation whose source bytes no longer match `mem` (memory changed
    /// outside a run: a reset, a new kernel, a different machine). When anything changed,
    /// the patch history is forgotten too: it described other code.
    pub fn validate(&mut self, mem: &[u8; MEM_SIZE]) {
        if self.codemap.is_empty() {
            return;
        }
        let mut stale = Vec::new();
        for (id, region) in self.regions.iter() {
            let deps = self.codemap.deps(id);
            let mut at = 0;
            let same = deps.iter().all(|&(s, e)| {
                let n = (e - s) as usize;
                let ok = mem[s as usize..e as usize] == region.source[at..at + n];
                at += n;
                ok
            });
            if !same {
                stale.push(id);
            }
        }
        if !stale.is_empty() {
            let mut counted = Vec::new();
            for id in stale {
                self.kill(id, None, &mut counted);
            }
            self.patches.clear();
            self.interpret.clear();
        }
    }

    /// Drop every translation and free the executable memory.
    pub fn flush(&mut self) {
        self.regions.clear();
        self.by_code.clear();
        // A fresh table (made with the next backend) rather than clearing every page.
        self.entries = EntryTable::default();
        self.codemap.clear();
        self.dead_bytes = 0;
        // Dropping the backend frees its module; no table refers to its code any more.
        self.backend = None;
        self.stats.flushes += 1;
        self.stats.live_regions = 0;
        self.stats.code_bytes = 0;
    }

    /// Run compiled code at `code` (an entry of this cache for `m.pc`) with at most `fuel`
    /// instructions, its SYSCALLs calling `host`; update the machine and return how it
    /// left and how much fuel it used. A panic of the host is resumed here, after compiled
    /// code has returned.
    pub fn enter(
        &mut self,
        code: usize,
        m: &mut Machine,
        host: &mut dyn Host,
        fuel: u64,
    ) -> (Left, u64) {
        let Some(backend) = self.backend.as_ref() else {
            return (Left::Jump, 0);
        };
        let (regs, pc) = (m.regs, m.pc);
        let machine: *mut Machine = m;
        // SAFETY: `machine` comes from `m`, a valid exclusive reference; this only takes
        // the address of its memory (no access to the bytes).
        let mem = unsafe { (*machine).mem.as_mut_ptr() };
        let direct: *const pxvm::DirectTable = host.direct_syscalls();
        let host = std::ptr::from_mut(host);
        let mut link = Link {
            machine,
            host,
            panic: None,
        };
        let mut ctx = Ctx {
            regs,
            fuel,
            mem,
            codemap: self.codemap.as_ptr(),
            entries: self.entries.as_ptr(),
            pc,
            write_addr: 0,
            write_len: 0,
            host_call,
            link: std::ptr::addr_of_mut!(link).cast(),
            direct,
            host: host.cast(),
        };
        let trampoline = backend.trampoline();
        self.stats.entries += 1;
        // Compiled code calls `ctx.host_call` with `ctx` itself, whose `link` points to
        // `link` (alive until after the call) holding this very machine, as `host_call`
        // requires; the helper catches every panic, so none unwinds through compiled code.
        // Direct syscalls get `ctx.host`, the address of the host whose table `ctx.direct`
        // is, as `pxvm::DirectSyscall` requires (a panic in one aborts: it is `extern "C"`).
        // SAFETY: `code` comes from `self.entries` (or a compile just now), so it is the
        // finalized entry of a region function of `backend`'s module, which stays alive
        // (no flush can happen during the call). The region code only dereferences:
        // `ctx` (valid for the call); `ctx.mem + a` with `a` bounds-checked to
        // 0..MEM_SIZE against the machine's 64 KiB memory, which `m` lends us exclusively
        // for the call (per access, inside the region's store window — which lies inside
        // memory — or, in a counted loop's fast copy, for every iteration at once on entry:
        // `fastloop`); `ctx.codemap + a` likewise (the map has MEM_SIZE bytes because a
        // region exists); and `ctx.entries + 8 * pc` for pc < ENTRY_COUNT, the length of
        // `self.entries`. Every address in the entry table is a live function of this
        // module with the same signature, so the tail calls stay inside valid code.
        let reason = unsafe { trampoline(&mut ctx, pc, code) };
        if let Some(payload) = link.panic.take() {
            m.regs = ctx.regs;
            panic::resume_unwind(payload);
        }
        let used = fuel.saturating_sub(ctx.fuel);
        m.regs = ctx.regs;
        m.pc = ctx.pc.min(MEM_SIZE as u32);
        m.cycles += used;
        match reason {
            EXIT_FUEL => (Left::Fuel, used),
            EXIT_CODE_WRITE => {
                let start = (ctx.write_addr as usize).min(MEM_SIZE);
                let end = (start + ctx.write_len as usize).min(MEM_SIZE);
                self.note_write(start..end);
                (Left::Jump, used)
            }
            _ => (Left::Jump, used),
        }
    }
}

/// Regions by id: a slot per id, reused after its region is dropped, so ids stay small
/// (they index the code map) and a dropped id is never seen by `iter`.
#[derive(Debug)]
struct Slots<T> {
    slots: Vec<Option<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slots<T> {
    fn default() -> Self {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Slots<T> {
    /// Keep `value` under a free id (a reused one if any) and return the id.
    fn insert(&mut self, value: T) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = Some(value);
                id
            }
            None => {
                self.slots.push(Some(value));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Remove and return the value under `id`, freeing the id.
    fn take(&mut self, id: u32) -> Option<T> {
        let value = self.slots.get_mut(id as usize).and_then(Option::take)?;
        self.free.push(id);
        Some(value)
    }

    fn get(&self, id: u32) -> Option<&T> {
        self.slots.get(id as usize)?.as_ref()
    }

    fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        self.slots.get_mut(id as usize)?.as_mut()
    }

    /// The values kept, with their ids.
    fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        (self.slots.iter().enumerate()).filter_map(|(id, v)| Some((id as u32, v.as_ref()?)))
    }

    /// How many values are kept.
    fn live(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
    }
}
