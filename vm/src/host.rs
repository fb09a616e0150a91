//! The boundary between a guest and its host: the [`Host`] trait through which every
//! syscall goes, the [`SyscallCtx`] a syscall sees (registers and memory, with guest-memory
//! writes recorded so that engines caching translations can invalidate them), the
//! [`DirectTable`] of syscalls a host can perform on registers alone (which compiled code
//! may call with no `SyscallCtx` and no register file in memory), and the [`VmEvent`]s the
//! machine itself reports (unknown opcodes, fetch faults).

use crate::machine::{MEM_SIZE, Machine, NUM_REGS};
use std::ffi::c_void;
use std::fmt;
use std::ops::Range;

/// What a syscall handler may see and change.
#[derive(Debug)]
pub struct SyscallCtx<'a> {
    /// R0..R7; R0 conventionally carries the result.
    pub regs: &'a mut [i32; NUM_REGS],
    mem: &'a mut [u8; MEM_SIZE],
    written: Option<Range<usize>>,
    /// The machine's record of written pages (see `Machine::reload`).
    written_pages: &'a mut u64,
}

impl<'a> SyscallCtx<'a> {
    /// A context over a machine's registers and memory.
    pub fn new(machine: &'a mut Machine) -> SyscallCtx<'a> {
        SyscallCtx {
            regs: &mut machine.regs,
            mem: &mut machine.mem,
            written: None,
            written_pages: &mut machine.written_pages,
        }
    }

    /// A context over a machine's memory with the registers held elsewhere: an engine
    /// that keeps the guest registers outside the machine while it runs (the JIT's
    /// context block) hands them to the host where they are.
    pub fn with_regs(regs: &'a mut [i32; NUM_REGS], machine: &'a mut Machine) -> SyscallCtx<'a> {
        SyscallCtx {
            regs,
            mem: &mut machine.mem,
            written: None,
            written_pages: &mut machine.written_pages,
        }
    }

    /// Guest memory, read-only.
    pub fn mem(&self) -> &[u8; MEM_SIZE] {
        self.mem
    }

    /// The guest bytes `addr .. addr + len`, if the whole range is inside memory.
    pub fn mem_range(&self, addr: i32, len: i32) -> Option<&[u8]> {
        let range = checked_range(addr, len)?;
        Some(&self.mem[range])
    }

    /// Copy `data` into guest memory at `addr`. Returns false (and writes nothing) unless
    /// the whole range is inside memory.
    pub fn write_mem(&mut self, addr: i32, data: &[u8]) -> bool {
        let Ok(len) = i32::try_from(data.len()) else {
            return false;
        };
        let Some(range) = checked_range(addr, len) else {
            return false;
        };
        self.mem[range.clone()].copy_from_slice(data);
        crate::machine::mark_pages(self.written_pages, &range);
        self.written = Some(match self.written.take() {
            Some(w) => w.start.min(range.start)..w.end.max(range.end),
            None => range,
        });
        true
    }

    /// The span of guest memory this syscall wrote, if any.
    #[inline]
    pub fn written(&self) -> Option<Range<usize>> {
        self.written.clone()
    }
}

/// `addr .. addr + len` as an index range, if `len >= 0` and it lies inside memory.
pub fn checked_range(addr: i32, len: i32) -> Option<Range<usize>> {
    if addr < 0 || len < 0 {
        return None;
    }
    let end = addr as usize + len as usize;
    (end <= MEM_SIZE).then_some(addr as usize..end)
}

/// Something the machine itself reports while running. Each has one exact output line
/// (its `Display`), the one the original VM appended to its output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmEvent {
    /// An unknown opcode byte was executed (and skipped) at `pc`.
    UnknownOpcode { pc: u32, opcode: u8 },
    /// Fetching an instruction byte at `pc` (always 65,536) failed; the machine stopped.
    FetchFault { pc: u32 },
}

impl fmt::Display for VmEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            VmEvent::UnknownOpcode { opcode, .. } => {
                write!(f, "# WARNING: unknown opcode 0x{opcode:02X}")
            }
            VmEvent::FetchFault { pc } => write!(
                f,
                "# ERROR at PC={pc}: RuntimeError: PC out of bounds: {pc}"
            ),
        }
    }
}

/// A syscall performed on registers alone: `f(host, r0, r1, r2, r3)` returns the new R0.
///
/// # Safety
///
/// `host` must be the address of the host (the value itself, not a wrapper around it)
/// whose [`Host::direct_syscalls`] returned the table holding `f`, valid for exclusive
/// access for the whole call.
pub type DirectSyscall = unsafe extern "C" fn(*mut c_void, i32, i32, i32, i32) -> i32;

/// A host's direct syscalls by number (`None`: the syscall goes through [`Host::syscall`]).
pub type DirectTable = [Option<DirectSyscall>; 256];

/// The table of a host with no direct syscalls.
pub static NO_DIRECT: DirectTable = [None; 256];

/// The host a guest runs against. Every engine calls it identically: the same syscalls
/// with the same machine state, and the same events, in the same order.
pub trait Host {
    /// Perform syscall `num` (the `SYSCALL` instruction's operand).
    fn syscall(&mut self, num: u8, ctx: &mut SyscallCtx<'_>);

    /// The syscalls this host can perform on registers alone, which an engine may call
    /// instead of [`Host::syscall`] (the JIT does, with no `SyscallCtx` and without
    /// putting the guest registers in memory). Each entry `f` for a syscall `n` is the
    /// host's promise that, for every state of the host, `f(self, R0, R1, R2, R3)` does
    /// exactly what `syscall(n, ctx)` does with those registers: it reads no other
    /// register and no guest memory, writes no guest memory and no register but R0 (set
    /// to what `f` returns; a syscall that leaves R0 alone returns R0), and never panics
    /// (a panic in an `extern "C"` function aborts the process). The functions are called
    /// with the address of `self`, so a host that wraps another must not hand on the
    /// inner host's table.
    fn direct_syscalls(&self) -> &'static DirectTable {
        &NO_DIRECT
    }

    /// The machine reports an event (its `Display` is the output line the original VM
    /// appended).
    fn event(&mut self, event: VmEvent);
}

/// A host with no services: every syscall sets R0 = 0, events are dropped. Useful for
/// benchmarks and engine tests that need no I/O.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullHost;

impl Host for NullHost {
    fn syscall(&mut self, _num: u8, ctx: &mut SyscallCtx<'_>) {
        ctx.regs[0] = 0;
    }

    fn direct_syscalls(&self) -> &'static DirectTable {
        /// Every syscall: R0 = 0.
        unsafe extern "C" fn zero(_: *mut c_void, _: i32, _: i32, _: i32, _: i32) -> i32 {
            0
        }
        static ALL: DirectTable = [Some(zero as DirectSyscall); 256];
        &ALL
    }

    fn event(&mut self, _event: VmEvent) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_lines_match_the_original() {
        assert_eq!(
            VmEvent::UnknownOpcode {
                pc: 3,
                opcode: 0xab
            }
            .to_string(),
            "# WARNING: unknown opcode 0xAB"
        );
        assert_eq!(
            VmEvent::FetchFault { pc: 65536 }.to_string(),
            "# ERROR at PC=65536: RuntimeError: PC out of bounds: 65536"
        );
    }

    #[test]
    fn writes_outside_memory_change_nothing() {
        let mut m = Machine::new(&[]).unwrap();
        let mut ctx = SyscallCtx::new(&mut m);
        assert!(!ctx.write_mem(65_535, &[1, 2]));
        assert!(!ctx.write_mem(-1, &[1]));
        assert_eq!(ctx.written(), None);
        assert!(ctx.write_mem(10, &[1, 2]));
        assert!(ctx.write_mem(4, &[1]));
        assert_eq!(ctx.written(), Some(4..12));
    }

    #[test]
    fn a_context_with_its_own_registers_writes_the_machines_memory() {
        let mut m = Machine::new(&[]).unwrap();
        let mut regs = [7; NUM_REGS];
        let mut ctx = SyscallCtx::with_regs(&mut regs, &mut m);
        ctx.regs[0] = 1;
        assert!(ctx.write_mem(2048, &[9]));
        assert_eq!(ctx.written(), Some(2048..2049));
        assert_eq!(regs[0], 1);
        assert_eq!(m.regs, [0; NUM_REGS]);
        assert_eq!(m.mem[2048], 9);
        // The write is on the machine's record, so `reload` clears it.
        m.reload(&[]).unwrap();
        assert_eq!(m.mem[2048], 0);
    }
}
