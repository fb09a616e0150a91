//! The host-call helper: the `extern "C"` function compiled code calls for SYSCALL
//! ([`host_call`], an `abi::HostCall`), and the [`Link`] through which it reaches the
//! machine and the host of the current run. It performs the syscall exactly as
//! `pxvm::exec::step` does — a `SyscallCtx` over the same registers (where compiled code
//! keeps them, `Ctx::regs`) and the machine's memory, so the same register writeback,
//! memory writes and written-page record — and tells
//! compiled code whether it may go on: not when the syscall wrote bytes a translation
//! depends on (the dispatcher must invalidate them first), nor when the host panicked
//! (the panic is kept here and resumed by the dispatcher once compiled code has returned,
//! so that it never unwinds through compiled frames).
//!
//! Cycles and fuel are compiled code's business (the SYSCALL's cycle was paid with its
//! block); the host sees neither. SELF_MODIFY, VERSION_SWITCH and the output limit are
//! host state, recorded by the host and acted on by its owner after the run, exactly as
//! after an interpreted SYSCALL, so they need nothing here.

use super::abi::{Ctx, EXIT_CODE_WRITE, EXIT_HOST_PANIC};
use pxvm::{Host, MEM_SIZE, Machine, SyscallCtx};
use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// What the helper reaches through `Ctx::link` during one call into compiled code.
pub(crate) struct Link<'a> {
    /// The machine being run (its registers are out of date while compiled code runs:
    /// the current ones are in `Ctx::regs`).
    pub machine: *mut Machine,
    /// The host (raw, because direct syscalls reach it through `Ctx::host`, an address
    /// derived from this same pointer: neither access invalidates the other).
    pub host: *mut (dyn Host + 'a),
    /// A panic of the host, to be resumed once compiled code has returned.
    pub panic: Option<Box<dyn Any + Send>>,
}

/// Perform syscall `num` for compiled code (see `abi::HostCall`).
///
/// # Safety
///
/// `ctx` must point to the `Ctx` that `Cache::enter` built for the call into compiled
/// code now running: its `link` points to a live [`Link`] whose `machine` is the machine
/// `ctx.mem` points into, and `ctx.codemap` points to `MEM_SIZE` bytes. Compiled code
/// holds no reference into the machine across the call (it reloads the registers from
/// `ctx` afterwards and re-reads memory through `ctx.mem`).
pub(crate) unsafe extern "C" fn host_call(ctx: *mut Ctx, num: u32) -> u32 {
    // SAFETY: per this function's contract `ctx` is the live `Ctx` of the current call,
    // and nothing else accesses it until we return (compiled code is waiting on us).
    let ctx = unsafe { &mut *ctx };
    // SAFETY: `ctx.link` points to the `Link` on `Cache::enter`'s stack, alive for the
    // whole call into compiled code, and only this helper uses it meanwhile.
    let link = unsafe { &mut *ctx.link.cast::<Link<'_>>() };
    // SAFETY: `link.machine` is the machine `Cache::enter` borrows mutably for the call;
    // compiled code only touches it through `ctx.mem`, and it is suspended in this call
    // until the reference below is dropped.
    let machine = unsafe { &mut *link.machine };
    // SAFETY: `link.host` comes from the `&mut dyn Host` `Cache::enter` holds for the
    // call; compiled code is suspended in this call, so no direct syscall (the only other
    // user, through `Ctx::host`) runs until the reference below is dropped.
    let host = unsafe { &mut *link.host };
    // The host works on `ctx.regs` in place (compiled code stored every register there
    // and reloads them after the call); `machine.regs` is stale until `Cache::enter`
    // copies them back.
    let regs = &mut ctx.regs;
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
        let mut sc = SyscallCtx::with_regs(regs, machine);
        host.syscall(num as u8, &mut sc);
        sc.written()
    }));
    match outcome {
        Ok(None) => 0,
        Ok(Some(range)) => {
            // SAFETY: `ctx.codemap` points to the code map's `MEM_SIZE` bytes (a region
            // exists, or no compiled code would be running), which nothing changes while
            // compiled code runs.
            let codemap = unsafe { std::slice::from_raw_parts(ctx.codemap, MEM_SIZE) };
            if !super::codemap::covered(codemap, &range) {
                return 0;
            }
            let end = range.end.min(MEM_SIZE);
            ctx.write_addr = range.start as u32;
            ctx.write_len = (end - range.start) as u32;
            EXIT_CODE_WRITE
        }
        Err(payload) => {
            link.panic = Some(payload);
            EXIT_HOST_PANIC
        }
    }
}
