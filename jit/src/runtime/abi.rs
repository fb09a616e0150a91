//! The contract between the Rust dispatcher and compiled code: the [`Ctx`] block that
//! compiled code reads and writes (guest registers, remaining fuel, the exit pc, and the
//! pointers to guest memory, the code map, the entry table, the host-call helper and the
//! host's direct syscalls), the exit reasons compiled code returns, and the four Cranelift
//! signatures (the System V trampoline the dispatcher calls, the tail-call convention every
//! region function uses so that regions can chain to each other without growing the
//! stack, the C-convention host-call helper compiled code calls for SYSCALL, and the
//! C-convention direct syscalls it calls instead where the host has one), and the
//! [`StoreWindow`] promise the code cache makes to each compiled region.
//!
//! Invariant: this module depends on nothing else in the crate; the lowering (which emits
//! code against this contract) and the runtime (which calls that code) both build on it.

use cranelift_codegen::ir::{AbiParam, Signature, Type, types};
use cranelift_codegen::isa::CallConv;
use pxvm::machine::NUM_REGS;

/// Entries in the pc-indexed table of compiled entry points (one per guest address).
pub(crate) const ENTRY_COUNT: usize = pxvm::MEM_SIZE;

/// The state compiled code works on. The dispatcher fills it before each call into
/// compiled code and reads it back afterwards; compiled code loads the registers and fuel
/// into SSA variables on entry and stores them back only when it leaves (or chains).
#[repr(C)]
#[derive(Debug)]
pub(crate) struct Ctx {
    /// Guest R0..R7.
    pub regs: [i32; NUM_REGS],
    /// Instructions compiled code may still retire in this run.
    pub fuel: u64,
    /// Base of the guest's 64 KiB memory.
    pub mem: *mut u8,
    /// Base of the 64 KiB code map (non-zero bytes are covered by live translations).
    pub codemap: *const u8,
    /// Base of the entry table: `ENTRY_COUNT` code addresses, 0 where nothing is compiled.
    pub entries: *const usize,
    /// On exit: the guest pc to continue at.
    pub pc: u32,
    /// On a [`EXIT_CODE_WRITE`] exit: the first guest address written.
    pub write_addr: u32,
    /// On a [`EXIT_CODE_WRITE`] exit: the number of bytes written (1 or 4 for a store,
    /// any length for a syscall's buffer).
    pub write_len: u32,
    /// The helper compiled code calls to perform a SYSCALL (see [`HostCall`]).
    pub host_call: HostCall,
    /// What the helper needs beyond `Ctx` (the machine and the host); opaque to compiled
    /// code.
    pub link: *mut std::ffi::c_void,
    /// The host's direct syscalls (`pxvm::Host::direct_syscalls`; never null): compiled
    /// code calls entry `n`, if there is one, for `SYSCALL n` instead of [`HostCall`],
    /// with `host` and R0..R3, and takes R0 from its result.
    pub direct: *const pxvm::DirectTable,
    /// The address of the host (the data half of the `&mut dyn Host`), the first
    /// argument of every direct syscall.
    pub host: *mut std::ffi::c_void,
}

/// `host_call(ctx, num)`: perform syscall `num` with the registers in `ctx.regs` (which it
/// updates) and return 0 to go on in compiled code, or the exit reason to return with
/// ([`EXIT_CODE_WRITE`] with `write_addr`/`write_len` set, or [`EXIT_HOST_PANIC`]).
///
/// # Safety
///
/// `ctx` must point to the `Ctx` the dispatcher built for the current call into compiled
/// code (see `runtime::hostcall`).
pub(crate) type HostCall = unsafe extern "C" fn(*mut Ctx, u32) -> u32;

/// `ctx.pc` has no compiled entry (or is outside the table): the dispatcher decides.
pub(crate) const EXIT_JUMP: u32 = 0;
/// The block at `ctx.pc` needs more fuel than is left: the dispatcher steps the rest.
pub(crate) const EXIT_FUEL: u32 = 1;
/// A store wrote translated code: invalidate `write_addr .. write_addr + write_len`, then
/// continue at `ctx.pc` (the instruction after the store).
pub(crate) const EXIT_CODE_WRITE: u32 = 2;

/// The host panicked inside a syscall: the dispatcher resumes the panic.
pub(crate) const EXIT_HOST_PANIC: u32 = 3;

/// Byte offsets of [`Ctx`] fields, as compiled code addresses them.
pub(crate) mod off {
    use crate::runtime::abi::Ctx;
    use std::mem::offset_of;
    pub const REGS: i32 = offset_of!(Ctx, regs) as i32;
    pub const FUEL: i32 = offset_of!(Ctx, fuel) as i32;
    pub const MEM: i32 = offset_of!(Ctx, mem) as i32;
    pub const CODEMAP: i32 = offset_of!(Ctx, codemap) as i32;
    pub const ENTRIES: i32 = offset_of!(Ctx, entries) as i32;
    pub const PC: i32 = offset_of!(Ctx, pc) as i32;
    pub const WRITE_ADDR: i32 = offset_of!(Ctx, write_addr) as i32;
    pub const WRITE_LEN: i32 = offset_of!(Ctx, write_len) as i32;
    pub const HOST_CALL: i32 = offset_of!(Ctx, host_call) as i32;
    pub const DIRECT: i32 = offset_of!(Ctx, direct) as i32;
    pub const HOST: i32 = offset_of!(Ctx, host) as i32;
}

/// The Rust-callable entry into compiled code: `trampoline(ctx, pc, code)` calls the region
/// function at `code` with `(ctx, pc)` and returns its exit reason.
///
/// # Safety
///
/// `code` must be the entry of a live region function of the module that built this
/// trampoline, and `ctx` must point to a `Ctx` whose `mem` and `codemap` point to
/// `MEM_SIZE` valid bytes and whose `entries` points to `ENTRY_COUNT` valid entries, each
/// 0 or the entry of a live region function of the same module, for the whole call.
pub(crate) type Trampoline = unsafe extern "C" fn(*mut Ctx, u32, usize) -> u32;

/// Signature of every region function: `(ctx, pc) -> exit reason`, tail-call convention.
pub(crate) fn region_signature(ptr: Type) -> Signature {
    let mut sig = Signature::new(CallConv::Tail);
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(types::I32));
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// Signature of the host-call helper ([`HostCall`]): `(ctx, num) -> status`, the
/// platform's C convention.
pub(crate) fn host_call_signature(ptr: Type, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(types::I32));
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// Signature of a direct syscall (`pxvm::DirectSyscall`): `(host, r0, r1, r2, r3) -> r0`,
/// the platform's C convention.
pub(crate) fn direct_signature(ptr: Type, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(ptr));
    for _ in 0..4 {
        sig.params.push(AbiParam::new(types::I32));
    }
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// Signature of the trampoline: `(ctx, pc, code) -> exit reason`, the platform's C
/// convention (so that Rust can call it as [`Trampoline`]).
pub(crate) fn trampoline_signature(ptr: Type, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(ptr));
    sig.params.push(AbiParam::new(types::I32));
    sig.params.push(AbiParam::new(ptr));
    sig.returns.push(AbiParam::new(types::I32));
    sig
}

/// Guest addresses `[lo, hi)` that compiled code may store into with no other check: they
/// lie inside memory and hold no byte any live translation depends on. `spot` is a second,
/// small such range (empty if `spot.0 == spot.1`): the bytes the region's absolute STOREs
/// hit when it was compiled, where none of the window's whole pages can be (a loop that
/// patches its own immediates stores between the bytes its code depends on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoreWindow {
    pub lo: u32,
    pub hi: u32,
    pub spot: (u32, u32),
}

impl StoreWindow {
    /// A store of `len` bytes at `a` lies inside the window iff
    /// `a.wrapping_sub(lo) < limit(len)` (unsigned); 0 means no store does.
    pub fn limit(&self, len: u32) -> u32 {
        (self.hi - self.lo).saturating_sub(len - 1)
    }

    /// Whether any byte of `deps` lies inside the window or the spot.
    pub fn overlaps(&self, deps: &[(u32, u32)]) -> bool {
        let (a, b) = self.spot;
        deps.iter()
            .any(|&(s, e)| (s < self.hi && self.lo < e) || (s < b && a < e))
    }

    /// Whether the `len` bytes at `addr` all lie inside the spot.
    pub fn spot_holds(&self, addr: u32, len: u32) -> bool {
        self.spot.0 <= addr && u64::from(addr) + u64::from(len) <= u64::from(self.spot.1)
    }
}
