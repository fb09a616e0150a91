//! Guest memory accesses in Cranelift IR: loads that read 0 outside memory, stores that
//! are ignored outside memory and that leave compiled code (after completing) when they
//! hit bytes covered by a translation, and the region's store window, inside which a
//! store needs one compare and nothing else.
//!
//! Invariant: every guest address is checked against the 64 KiB bounds before it is added
//! to the memory base, so compiled code can only touch the guest's own memory — except
//! under `Checks::Unchecked*` (a counted loop's fast copy, see `fastloop`, or an access an
//! amortised loop's group check proved, see `amortise`), whose entry
//! checks have already proven every address of the loop inside memory (loads) or inside
//! the store window (stores); there an access may also address memory from a base
//! register anchored for a group of iterations (`Lowerer::anchored`).

use super::{Checks, Lowerer};
use crate::analysis::RegSet;
use crate::runtime::abi::off;
use cranelift_codegen::ir::Endianness;
use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{Block, InstBuilder, MemFlagsData, Value, types};
use pxvm::MEM_SIZE;

/// Highest address at which a 4-byte access fits.
const WORD_MAX: i64 = MEM_SIZE as i64 - 4;
/// Highest byte address.
const BYTE_MAX: i64 = MEM_SIZE as i64 - 1;
/// Largest immediate offset (either sign) of an access that may use an anchored base
/// register (see `Lowerer::anchored`).
const ANCHORED_OFFSET: i64 = 1 << 30;

/// Flags for guest memory: little-endian, possibly unaligned, never trapping (the address
/// has been bounds-checked).
pub(super) fn guest_flags() -> MemFlagsData {
    MemFlagsData::new()
        .with_notrap()
        .with_endianness(Endianness::Little)
}

/// Flags for the code-map base in `Ctx`.
fn ctx_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Flags for the code map: it does not change while compiled code runs.
fn codemap_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap().with_readonly()
}

impl Lowerer<'_> {
    /// The i32 at a dynamic guest address, 0 out of bounds.
    pub(super) fn load_word(&mut self, addr: Value) -> Value {
        self.load_checked(addr, WORD_MAX, false, true)
    }

    /// The return address a RET pops: as `load_word`, but with the out-of-bounds 0 passed
    /// straight on the branch edge rather than from a cold block (measured: better for
    /// call-heavy code, where the popped value feeds the return-site compares at once).
    pub(super) fn load_return_address(&mut self, addr: Value) -> Value {
        self.load_checked(addr, WORD_MAX, false, false)
    }

    pub(super) fn load_word_static(&mut self, addr: i32) -> Value {
        if pxvm::machine::word_index(addr).is_some() {
            self.b
                .ins()
                .load(types::I32, guest_flags(), self.env.mem, addr)
        } else {
            self.c32(0)
        }
    }

    /// The byte at a dynamic guest address, zero-extended, 0 out of bounds.
    pub(super) fn load_byte(&mut self, addr: Value) -> Value {
        self.load_checked(addr, BYTE_MAX, true, true)
    }

    /// Load from `addr` if `addr <= max` (unsigned, so negative addresses fail), else 0.
    /// A branch, not a select: in-bounds accesses are the predictable common case, and the
    /// address is only added to the memory base once it is known to be inside. With
    /// `cold_outside` the 0 comes from a cold block of its own, which keeps the in-bounds
    /// path straight-line (measured: matmul's inner loop runs ~7% faster).
    ///
    /// The check is made on the zero-extended host index, which the access then uses:
    /// comparing the 32-bit sum instead would give it two uses in two blocks, and
    /// Cranelift would compute it twice.
    fn load_checked(&mut self, addr: Value, max: i64, byte: bool, cold_outside: bool) -> Value {
        let idx = self.b.ins().uextend(self.env.ptr, addr);
        if !self.checks.per_access() {
            return self.load_at(idx, byte);
        }
        let ok = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, idx, max);
        let inside = self.b.create_block();
        let done = self.b.create_block();
        let v = self.b.append_block_param(done, types::I32);
        if cold_outside {
            let outside = self.b.create_block();
            self.b.set_cold_block(outside);
            self.b.ins().brif(ok, inside, &[], outside, &[]);
            self.b.seal_block(outside);
            self.b.switch_to_block(outside);
            let zero = self.c32(0);
            self.b.ins().jump(done, &[zero.into()]);
        } else {
            let zero = self.c32(0);
            self.b.ins().brif(ok, inside, &[], done, &[zero.into()]);
        }
        self.b.seal_block(inside);
        self.b.switch_to_block(inside);
        let loaded = self.load_at(idx, byte);
        self.b.ins().jump(done, &[loaded.into()]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
        v
    }

    /// The word or byte at guest memory index `idx` (a host-width value known to be inside
    /// memory).
    fn load_at(&mut self, idx: Value, byte: bool) -> Value {
        let p = self.b.ins().iadd(self.env.mem, idx);
        self.load_host(p, 0, byte)
    }

    /// The word or byte at host address `p + disp` (known to be inside guest memory).
    fn load_host(&mut self, p: Value, disp: i32, byte: bool) -> Value {
        let flags = match self.checks {
            Checks::Checked | Checks::Unchecked => guest_flags(),
            Checks::UncheckedPure => guest_flags().with_readonly().with_can_move(),
        };
        if byte {
            self.b.ins().uload8(types::I32, flags, p, disp)
        } else {
            self.b.ins().load(types::I32, flags, p, disp)
        }
    }

    /// In a counted loop's fast copy, an access at `base + offset` whose base register is
    /// anchored (`fastloop::anchor_bases`): the host pointer and displacement to use
    /// instead of computing the 32-bit guest address and widening it, or `None`.
    ///
    /// Sound because the entry checks proved, in 64-bit arithmetic, that the address of
    /// this access, `X + delta + offset` (with `X` the exact, unwrapped value the register
    /// would have at the anchor), is inside memory. With `|offset| <= ANCHORED_OFFSET` and
    /// `|delta|` a few steps of less than 64 KiB each (two consecutive iterations' addresses
    /// are both inside memory), `X` is within the `i32` range, so the guest register holds
    /// exactly `X`, the anchor is `mem + X`, and `anchor + delta + offset` is the host
    /// address of the guest's own wrapped 32-bit address.
    pub(super) fn anchored(&self, base: u8, offset: i32) -> Option<(Value, i32)> {
        if self.checks.per_access() || i64::from(offset).abs() > ANCHORED_OFFSET {
            return None;
        }
        let a = self.anchors[usize::from(base)]?;
        let disp = i32::try_from(a.delta + i64::from(offset)).ok()?;
        Some((a.ptr, disp))
    }

    /// Load from an anchored address (see `anchored`): a word, or a zero-extended byte.
    pub(super) fn load_anchored(&mut self, (p, disp): (Value, i32), byte: bool) -> Value {
        self.load_host(p, disp, byte)
    }

    /// Store the low `len` bytes of `v` at an anchored address (see `anchored`).
    pub(super) fn store_anchored(&mut self, (p, disp): (Value, i32), v: Value, len: u32) {
        self.store_host(p, disp, v, len);
    }

    /// Store the low `len` (4 or 1) bytes of `v` at a dynamic guest address; ignored out of
    /// bounds. If the bytes are covered by a translation, leave for the dispatcher after
    /// the store, resuming at `resume`, giving back the fuel of the `after` instructions
    /// that will not run (plus `leave_refund`).
    ///
    /// The common case is one compare: a store inside the region's store window is in
    /// bounds and hits no translation, so it just stores. Anything else takes a cold path
    /// with the full bounds check and the code-map load.
    pub(super) fn store(&mut self, addr: Value, v: Value, len: u32, resume: u32, after: u64) {
        if !self.checks.per_access() {
            let idx = self.b.ins().uextend(self.env.ptr, addr);
            self.store_bytes(idx, v, len);
            return;
        }
        let slow = self.b.create_block();
        let done = self.b.create_block();
        self.b.set_cold_block(slow);
        let limit = self.env.window.limit(len);
        if limit == 0 {
            self.b.ins().jump(slow, &[]);
        } else {
            let lo = i64::from(self.env.window.lo);
            let from_lo = self.b.ins().iadd_imm_s(addr, -lo);
            let inside =
                self.b
                    .ins()
                    .icmp_imm_u(IntCC::UnsignedLessThan, from_lo, i64::from(limit));
            let fast = self.b.create_block();
            self.b.ins().brif(inside, fast, &[], slow, &[]);
            self.b.seal_block(fast);
            self.b.switch_to_block(fast);
            let idx = self.b.ins().uextend(self.env.ptr, addr);
            self.store_bytes(idx, v, len);
            self.b.ins().jump(done, &[]);
        }
        self.b.seal_block(slow);
        self.b.switch_to_block(slow);
        self.store_outside_window(addr, v, len, (resume, after), done);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
    }

    /// The cold side of `store`: bounds check, store, then the code-map load, leaving for
    /// the dispatcher (at `resume`, giving back `after`) if the bytes are translated;
    /// otherwise on to `done`.
    fn store_outside_window(
        &mut self,
        addr: Value,
        v: Value,
        len: u32,
        (resume, after): (u32, u64),
        done: Block,
    ) {
        let max = if len == 4 { WORD_MAX } else { BYTE_MAX };
        let idx = self.b.ins().uextend(self.env.ptr, addr);
        let ok = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThanOrEqual, idx, max);
        let in_bounds = self.b.create_block();
        self.b.set_cold_block(in_bounds);
        self.b.ins().brif(ok, in_bounds, &[], done, &[]);
        self.b.seal_block(in_bounds);
        self.b.switch_to_block(in_bounds);
        self.store_bytes(idx, v, len);
        let codemap = (self.b.ins()).load(self.env.ptr, ctx_flags(), self.env.ctx, off::CODEMAP);
        let cm = self.b.ins().iadd(codemap, idx);
        let hit = if len == 4 {
            self.b.ins().load(types::I32, codemap_flags(), cm, 0)
        } else {
            self.b.ins().uload8(types::I32, codemap_flags(), cm, 0)
        };
        let leave = self.b.create_block();
        self.b.set_cold_block(leave);
        self.b.ins().brif(hit, leave, &[], done, &[]);
        self.b.seal_block(leave);
        self.b.switch_to_block(leave);
        self.materialize(RegSet::ALL);
        self.refund(self.cur.leave_refund + after);
        let resume = self.c32(resume as i32);
        let len = self.c32(len as i32);
        let exit = self.frame.code_write_exit;
        self.b
            .ins()
            .jump(exit, &[resume.into(), addr.into(), len.into()]);
    }

    /// Store the low `len` (4 or 1) bytes of `v` at guest memory index `idx` (a host-width
    /// value known to be inside memory).
    fn store_bytes(&mut self, idx: Value, v: Value, len: u32) {
        let p = self.b.ins().iadd(self.env.mem, idx);
        self.store_host(p, 0, v, len);
    }

    /// Store the low `len` (4 or 1) bytes of `v` at host address `p + disp` (known to be
    /// inside guest memory).
    fn store_host(&mut self, p: Value, disp: i32, v: Value, len: u32) {
        if len == 4 {
            self.b.ins().store(guest_flags(), v, p, disp);
        } else {
            self.b.ins().istore8(guest_flags(), v, p, disp);
        }
    }

    /// Store at guest index `a`, inside the region's spot (`StoreWindow::spot`): in
    /// memory, and no translation depends on it while this region lives.
    pub(super) fn store_spot(&mut self, a: usize, v: Value, len: u32) {
        let p = self.env.mem;
        self.store_host(p, a as i32, v, len);
    }

    /// A STORE whose address is read live and was `a` (inside the spot) when compiled:
    /// while it still is, `store_spot`; otherwise the checked `store`.
    pub(super) fn store_spot_if(
        &mut self,
        addr: Value,
        a: usize,
        v: Value,
        len: u32,
        (resume, after): (u32, u64),
    ) {
        let same = (self.b.ins()).icmp_imm_u(IntCC::Equal, addr, a as i64);
        let hit = self.b.create_block();
        let other = self.b.create_block();
        let done = self.b.create_block();
        self.b.set_cold_block(other);
        self.b.ins().brif(same, hit, &[], other, &[]);
        self.b.seal_block(hit);
        self.b.switch_to_block(hit);
        self.store_spot(a, v, len);
        self.b.ins().jump(done, &[]);
        self.b.seal_block(other);
        self.b.switch_to_block(other);
        self.store(addr, v, len, resume, after);
        self.b.ins().jump(done, &[]);
        self.b.seal_block(done);
        self.b.switch_to_block(done);
    }

    /// Store at a guest address known when compiling.
    pub(super) fn store_static(&mut self, addr: i32, v: Value, resume: u32, after: u64) {
        if pxvm::machine::word_index(addr).is_none() {
            return; // ignored, as the interpreter ignores it
        }
        let a = self.c32(addr);
        self.store(a, v, 4, resume, after);
    }
}
