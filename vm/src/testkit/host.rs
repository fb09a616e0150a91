//! The recording host: a [`Host`] for engine tests that need no real services. It owns
//! the record of every syscall (with the registers it saw) and every [`VmEvent`], as
//! lines, and two syscalls that write guest memory so that host-made code changes are
//! exercised too. It never touches anything outside the guest's memory.

use super::agree::{Diff, Observe};
use crate::{Host, SyscallCtx, VmEvent};

/// `SYSCALL 7`: copy R3 bytes from R1 to R2 inside guest memory; R0 = 1 if it could.
pub const SYS_COPY: u8 = 7;
/// `SYSCALL 23`: write the three bytes `[R3 as u8, NOP, NOP]` at R2; R0 = 1 if it could.
pub const SYS_POKE: u8 = 23;

/// A host that records every syscall and event as a line. [`SYS_COPY`] and [`SYS_POKE`]
/// write guest memory; every other syscall sets R0 to its number.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recorder {
    /// One line per syscall (`sys 8 [0, 1, …]`, then what it did) and per event.
    pub lines: Vec<String>,
}

impl Host for Recorder {
    fn syscall(&mut self, num: u8, ctx: &mut SyscallCtx<'_>) {
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
