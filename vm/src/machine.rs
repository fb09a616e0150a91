//! The guest machine's state: eight registers, the program counter, 64 KiB of memory and
//! the retired-instruction count, with the "imperfect" memory access rules every engine
//! shares (out-of-bounds loads read 0, out-of-bounds stores are ignored).

use crate::text::thousands;
use thiserror::Error;

/// Bytes of guest memory.
pub const MEM_SIZE: usize = 65_536;

/// Number of general registers.
pub const NUM_REGS: usize = 8;

/// The register `CALL` and `RET` use as the stack pointer.
pub const SP: usize = 7;

/// A kernel that does not fit in guest memory: more than [`MEM_SIZE`] bytes. It is the one
/// error, with the one message, of everything that takes a kernel — loading a machine,
/// assembling, vetting ([`crate::vet`]), and in `pxos` the kernel loader and the version
/// store. A kernel is refused, never truncated.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq, Hash)]
#[error(
    "kernel is {} bytes; at most {} fit in memory",
    thousands(*size),
    thousands(MEM_SIZE as u64)
)]
pub struct KernelTooLarge {
    /// The kernel's size in bytes.
    pub size: u64,
}

impl KernelTooLarge {
    /// `Err` if `size` bytes do not fit in memory.
    ///
    /// # Errors
    ///
    /// [`KernelTooLarge`] when `size` is over [`MEM_SIZE`].
    pub fn check(size: usize) -> Result<(), KernelTooLarge> {
        if size > MEM_SIZE {
            Err(KernelTooLarge { size: size as u64 })
        } else {
            Ok(())
        }
    }
}

/// Bytes in one page of [`Machine`]'s record of written memory (64 pages of 1 KiB).
const PAGE: usize = 1_024;

/// One pxVM machine. Memory is zero-filled; the kernel is copied to address 0 and
/// execution starts at pc 0.
///
/// Equality compares the guest-visible state (registers, pc, cycles, memory); the
/// bookkeeping behind [`Machine::reload`] is not part of it.
#[derive(Clone)]
pub struct Machine {
    /// R0..R7.
    pub regs: [i32; NUM_REGS],
    /// Address of the next instruction; 0..=65,536 (65,536 only after running off the end).
    pub pc: u32,
    /// Instructions retired so far (HALT and faulting instructions are not counted).
    pub cycles: u64,
    /// Guest memory. Engines that cache translations of it must be told of writes made
    /// from outside an engine run (see each engine's documentation).
    pub mem: Box<[u8; MEM_SIZE]>,
    /// The pages the machine's own writes ([`Machine::store_i32`], [`Machine::store_u8`],
    /// `SyscallCtx::write_mem`) touched since the last reset, one bit per 1 KiB page.
    pub(crate) written_pages: u64,
    /// Bytes of the kernel loaded by the last reset.
    loaded: usize,
}

impl PartialEq for Machine {
    fn eq(&self, other: &Machine) -> bool {
        self.regs == other.regs
            && self.pc == other.pc
            && self.cycles == other.cycles
            && self.mem == other.mem
    }
}

impl Eq for Machine {}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("regs", &self.regs)
            .field("pc", &self.pc)
            .field("cycles", &self.cycles)
            .finish_non_exhaustive()
    }
}

fn zeroed_memory() -> Box<[u8; MEM_SIZE]> {
    vec![0u8; MEM_SIZE]
        .into_boxed_slice()
        .try_into()
        .expect("vector has MEM_SIZE bytes")
}

impl Machine {
    /// A machine with `kernel` loaded at address 0, registers zero, pc 0.
    pub fn new(kernel: &[u8]) -> Result<Machine, KernelTooLarge> {
        KernelTooLarge::check(kernel.len())?;
        let mut m = Machine {
            regs: [0; NUM_REGS],
            pc: 0,
            cycles: 0,
            mem: zeroed_memory(),
            written_pages: 0,
            loaded: 0,
        };
        // The memory is zero already: only the kernel is written (clearing the 64 KiB
        // again, as `reset` does, was most of a short kernel's run).
        m.mem[..kernel.len()].copy_from_slice(kernel);
        m.restart(kernel.len());
        Ok(m)
    }

    /// Reboot in place with `kernel`: memory cleared and reloaded, registers, pc and cycles
    /// zeroed. Reuses the memory allocation (cheap for many short runs).
    pub fn reset(&mut self, kernel: &[u8]) -> Result<(), KernelTooLarge> {
        KernelTooLarge::check(kernel.len())?;
        self.mem[..kernel.len()].copy_from_slice(kernel);
        self.mem[kernel.len()..].fill(0);
        self.restart(kernel.len());
        Ok(())
    }

    /// [`Machine::reset`] for many short runs: the same result, but only the previous
    /// kernel's bytes and the pages the machine's own writes touched are cleared, not all
    /// 64 KiB.
    ///
    /// It relies on every write to memory since the last reset having gone through the
    /// machine's store methods or `SyscallCtx::write_mem` — as the interpreters' do — or
    /// having been declared with [`Machine::mark_written`]. After an engine that writes
    /// memory through its own code (the JIT), use [`Machine::reset`].
    pub fn reload(&mut self, kernel: &[u8]) -> Result<(), KernelTooLarge> {
        KernelTooLarge::check(kernel.len())?;
        if self.loaded > kernel.len() {
            self.mem[kernel.len()..self.loaded].fill(0);
        }
        let mut pages = self.written_pages;
        while pages != 0 {
            let page = pages.trailing_zeros() as usize;
            self.mem[page * PAGE..(page + 1) * PAGE].fill(0);
            pages &= pages - 1;
        }
        self.mem[..kernel.len()].copy_from_slice(kernel);
        self.restart(kernel.len());
        Ok(())
    }

    /// Declare that `range` of memory was written other than through the machine's store
    /// methods, so that [`Machine::reload`] clears it.
    pub fn mark_written(&mut self, range: std::ops::Range<usize>) {
        mark_pages(&mut self.written_pages, &range);
    }

    fn restart(&mut self, loaded: usize) {
        self.regs = [0; NUM_REGS];
        self.pc = 0;
        self.cycles = 0;
        self.written_pages = 0;
        self.loaded = loaded;
    }

    /// Read the i32 at `addr`; 0 when `addr < 0` or `addr + 3 > 65,535`.
    #[inline]
    pub fn load_i32(&self, addr: i32) -> i32 {
        match word_index(addr) {
            Some(a) => i32::from_le_bytes([
                self.mem[a],
                self.mem[a + 1],
                self.mem[a + 2],
                self.mem[a + 3],
            ]),
            None => 0,
        }
    }

    /// Write the i32 at `addr`; ignored when out of bounds. Returns the address written.
    #[inline]
    pub fn store_i32(&mut self, addr: i32, value: i32) -> Option<usize> {
        let a = word_index(addr)?;
        self.mem[a..a + 4].copy_from_slice(&value.to_le_bytes());
        self.written_pages |= (1 << (a / PAGE)) | (1 << ((a + 3) / PAGE));
        Some(a)
    }

    /// Read the byte at `addr`, zero-extended; 0 when out of bounds.
    #[inline]
    pub fn load_u8(&self, addr: i32) -> i32 {
        match byte_index(addr) {
            Some(a) => i32::from(self.mem[a]),
            None => 0,
        }
    }

    /// Write the low byte of `value` at `addr`; ignored when out of bounds.
    #[inline]
    pub fn store_u8(&mut self, addr: i32, value: i32) -> Option<usize> {
        let a = byte_index(addr)?;
        self.mem[a] = value as u8;
        self.written_pages |= 1 << (a / PAGE);
        Some(a)
    }
}

/// Set the bits of the 1 KiB pages `range` touches in `pages`.
pub(crate) fn mark_pages(pages: &mut u64, range: &std::ops::Range<usize>) {
    if range.is_empty() {
        return;
    }
    let first = range.start / PAGE;
    let last = (range.end - 1).min(MEM_SIZE - 1) / PAGE;
    for page in first..=last {
        *pages |= 1 << page;
    }
}

/// The memory index of a 4-byte access at `addr`, if it lies wholly inside memory.
#[inline]
pub fn word_index(addr: i32) -> Option<usize> {
    if (0..=(MEM_SIZE as i32 - 4)).contains(&addr) {
        Some(addr as usize)
    } else {
        None
    }
}

/// The memory index of a 1-byte access at `addr`, if inside memory.
#[inline]
pub fn byte_index(addr: i32) -> Option<usize> {
    if (0..MEM_SIZE as i32).contains(&addr) {
        Some(addr as usize)
    } else {
        None
    }
}

/// `target` as a jump destination, if it is inside memory (0..65,535).
#[inline]
pub fn jump_target(target: i32) -> Option<u32> {
    byte_index(target).map(|a| a as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_bounds_match_the_original() {
        let mut m = Machine::new(&[]).unwrap();
        assert_eq!(m.store_i32(65_532, -2), Some(65_532));
        assert_eq!(m.load_i32(65_532), -2);
        assert_eq!(m.store_i32(65_533, 7), None);
        assert_eq!(m.load_i32(65_533), 0);
        assert_eq!(m.store_i32(-1, 7), None);
        assert_eq!(m.load_i32(-1), 0);
    }

    #[test]
    fn oversized_kernel_is_refused() {
        let err = Machine::new(&vec![0; MEM_SIZE + 1]).unwrap_err();
        assert_eq!(err, KernelTooLarge { size: 65_537 });
        assert_eq!(
            err.to_string(),
            "kernel is 65,537 bytes; at most 65,536 fit in memory"
        );
        assert!(Machine::new(&vec![1; MEM_SIZE]).is_ok());
    }

    #[test]
    fn reload_clears_what_was_written_and_the_old_kernel() {
        let mut m = Machine::new(&[1, 2, 3, 4, 5, 6]).unwrap();
        m.store_i32(1_022, -1);
        m.store_u8(40_000, 9);
        m.store_i32(65_532, 7);
        m.mark_written(5_000..5_001);
        m.mem[5_000] = 1;
        m.regs[2] = 4;
        m.reload(&[8, 9]).unwrap();
        assert_eq!(m, Machine::new(&[8, 9]).unwrap());
        m.reload(&[7; 3000]).unwrap();
        m.reload(&[1]).unwrap();
        assert_eq!(m, Machine::new(&[1]).unwrap());
        assert!(m.reload(&vec![0; MEM_SIZE + 1]).is_err());
    }

    proptest::proptest! {
        /// Whatever a program did — stores anywhere, the stack, self-modification — on
        /// either interpreter, `reload` leaves exactly a freshly loaded machine.
        #[test]
        fn reload_after_any_run_is_a_fresh_machine(
            code in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
            next in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            fuel in 0u64..3_000,
            reference in proptest::prelude::any::<bool>(),
        ) {
            let mut m = Machine::new(&code).unwrap();
            m.regs = [1_000, -3, 65_530, 40_000, 7, 123, 1 << 15, 60_000];
            if reference {
                crate::interp::run_reference(&mut m, &mut crate::host::NullHost, fuel);
            } else {
                crate::interp::run(&mut m, &mut crate::host::NullHost, fuel);
            }
            m.reload(&next).unwrap();
            proptest::prop_assert_eq!(m, Machine::new(&next).unwrap());
        }
    }

    #[test]
    fn reset_clears_everything() {
        let mut m = Machine::new(&[1, 2, 3]).unwrap();
        m.regs[3] = 9;
        m.pc = 77;
        m.cycles = 5;
        m.mem[1000] = 4;
        m.reset(&[9]).unwrap();
        assert_eq!(m, Machine::new(&[9]).unwrap());
    }
}
