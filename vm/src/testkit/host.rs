//! The recording host: a [`Host`] for engine tests that need no real services. It owns
//! the record of every syscall (with the registers it saw) and every [`VmEvent`], as
//! lines, two syscalls that write guest memory so that host-made code changes are
//! exercised too, and one direct syscall ([`SYS_MIX`], see `Host::direct_syscalls`) so
//! that engines calling direct syscalls are checked against the ones that do not. It
//! never touches anything outside the guest's memory.

use super::agree::{Diff, Observe};
use crate::{DirectSyscall, DirectTable, Host, SyscallCtx, VmEvent};
use std::ffi::c_void;

/// `SYSCALL 7`: copy R3 bytes from R1 to R2 inside guest memory; R0 = 1 if it could.
pub const SYS_COPY: u8 = 7;
/// `SYSCALL 23`: write the three bytes `[R3 as u8, NOP, NOP]` at R2; R0 = 1 if it could.
pub const SYS_POKE: u8 = 23;

/// `SYSCALL 40`, a direct syscall: records R0..R3 and sets R0 to a mix of them.
pub const SYS_MIX: u8 = 40;

/// A host that records every syscall and event as a line. [`SYS_COPY`] and [`SYS_POKE`]
/// write guest memory; every other syscall sets R0 to its number.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recorder {
    /// One line per syscall (`sys 8 [0, 1, …]`, then what it did) and per event.
    pub lines: Vec<String>,
}

impl Recorder {
    /// [`SYS_MIX`], on the registers alone.
    fn mix(&mut self, r: [i32; 4]) -> i32 {
        let out = r[0].wrapping_mul(3) ^ r[1].wrapping_add(r[2]).wrapping_sub(r[3]);
        self.lines.push(format!("mix {r:?} {out}"));
        out
    }
}

/// [`SYS_MIX`] as a direct syscall.
///
/// # Safety
///
/// `host` is the address of a `Recorder` valid for exclusive access (`DirectSyscall`).
unsafe extern "C" fn direct_mix(host: *mut c_void, r0: i32, r1: i32, r2: i32, r3: i32) -> i32 {
    // SAFETY: per this function's contract (the table below is only handed out by
    // `Recorder::direct_syscalls`), `host` points to a `Recorder` nobody else accesses.
    let host = unsafe { &mut *host.cast::<Recorder>() };
    host.mix([r0, r1, r2, r3])
}

impl Host for Recorder {
    fn direct_syscalls(&self) -> &'static DirectTable {
        static TABLE: DirectTable = {
            let mut t: DirectTable = [None; 256];
            t[SYS_MIX as usize] = Some(direct_mix as DirectSyscall);
            t
        };
        &TABLE
    }

    fn syscall(&mut self, num: u8, ctx: &mut SyscallCtx<'_>) {
        if num == SYS_MIX {
            let r = &mut *ctx.regs;
            r[0] = self.mix([r[0], r[1], r[2], r[3]]);
            return;
        }
        self.lines.push(format!("sys {num} {:?}", ctx.regs));
        match num {
            SYS_COPY => {
                let (src, dst, len) = (ctx.regs[1], ctx.regs[2], ctx.regs[3]);
                let data = ctx.mem_range(src, len).map(<[u8]>::to_vec);
                let ok = data.is_some_and(|d| ctx.write_mem(dst, &d));
                ctx.regs[0] = i32::from(ok);
                self.lines.push(format!("copy {src} {dst} {len} {ok}"));
            }
            SYS_POKE => {
                let (addr, byte) = (ctx.regs[2], ctx.regs[3] as u8);
                let ok = ctx.write_mem(addr, &[byte, 0x01, 0x01]);
                ctx.regs[0] = i32::from(ok);
                self.lines.push(format!("poke {addr} {byte} {ok}"));
            }
            n => ctx.regs[0] = i32::from(n),
        }
    }

    fn event(&mut self, event: VmEvent) {
        self.lines.push(event.to_string());
    }
}

impl Observe for Recorder {
    fn compare(&self, other: &Self, diff: &mut Diff) {
        diff.lines("host lines", &self.lines, &other.lines);
    }
}
