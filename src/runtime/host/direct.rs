//! The host's direct syscalls (`pxvm::Host::direct_syscalls`): the syscalls that need
//! only R0..R3 and no guest memory — PRINT, PRINT_INT and FS_CLOSE — as `extern "C"`
//! functions that compiled code calls straight, with no `SyscallCtx`, no dispatch on the
//! syscall number and no register file in memory. Each calls the same method
//! `PxHost::syscall` calls, so the two paths cannot drift apart.

use super::PxHost;
use pxvm::syscalls::{SYS_FS_CLOSE, SYS_PRINT, SYS_PRINT_INT};
use pxvm::{DirectSyscall, DirectTable};
use std::ffi::c_void;

/// The direct syscalls by number.
pub(super) static TABLE: DirectTable = {
    let mut t: DirectTable = [None; 256];
    t[SYS_PRINT as usize] = Some(print as DirectSyscall);
    t[SYS_PRINT_INT as usize] = Some(print_int as DirectSyscall);
    t[SYS_FS_CLOSE as usize] = Some(fs_close as DirectSyscall);
    t
};

/// The host behind a direct syscall's `host` argument.
///
/// # Safety
///
/// `host` is the address of a `PxHost` valid for exclusive access for `'a` (the
/// `DirectSyscall` contract: only `PxHost::direct_syscalls` hands out [`TABLE`]).
unsafe fn host<'a>(host: *mut c_void) -> &'a mut PxHost {
    // SAFETY: per this function's contract.
    unsafe { &mut *host.cast::<PxHost>() }
}

/// SYS_PRINT: the message line for id R1; R0 unchanged.
unsafe extern "C" fn print(h: *mut c_void, r0: i32, r1: i32, _: i32, _: i32) -> i32 {
    let mut r = [0; 8];
    r[1] = r1;
    // SAFETY: `h` is a `PxHost` per the `DirectSyscall` contract.
    unsafe { host(h) }.print(&r);
    r0
}

/// SYS_PRINT_INT: R1 as a decimal line; R0 unchanged.
unsafe extern "C" fn print_int(h: *mut c_void, r0: i32, r1: i32, _: i32, _: i32) -> i32 {
    // SAFETY: `h` is a `PxHost` per the `DirectSyscall` contract.
    unsafe { host(h) }.print_int(r1);
    r0
}

/// SYS_FS_CLOSE: close handle R1; R0 = 1 if it was open.
unsafe extern "C" fn fs_close(h: *mut c_void, _: i32, r1: i32, _: i32, _: i32) -> i32 {
    // SAFETY: `h` is a `PxHost` per the `DirectSyscall` contract.
    unsafe { host(h) }.fs_close(r1)
}
