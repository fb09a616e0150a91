//! The guest machine's state: eight registers, the program counter, 64 KiB of memory and
//! the retired-instruction count, with the "imperfect" memory access rules every engine
//! shares (out-of-bounds loads read 0, out-of-bounds stores are ignored).

use thiserror::Error;

/// Bytes of guest memory.
pub const MEM_SIZE: usize = 65_536;

/// Number of general registers.
pub const NUM_REGS: usize = 8;

/// The register `CALL` and `RET` use as the stack pointer.
pub const SP: usize = 7;

/// A kernel image that cannot be loaded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum LoadError {
    #[error("kernel is {size} bytes; the machine has {MEM_SIZE} bytes of memory")]
    TooLarge { size: usize },
}

/// One pxVM machine. Memory is zero-filled; the kernel is copied to address 0 and
/// execution starts at pc 0.
#[derive(Clone, PartialEq, Eq)]
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
}

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
    pub fn new(kernel: &[u8]) -> Result<Machine, LoadError> {
        let mut m = Machine {
            regs: [0; NUM_REGS],
            pc: 0,
            cycles: 0,
            mem: zeroed_memory(),
        };
        m.reset(kernel)?;
        Ok(m)
    }

    /// Reboot in place with `kernel`: memory cleared and reloaded, registers, pc and cycles
    /// zeroed. Reuses the memory allocation (cheap for many short runs).
    pub fn reset(&mut self, kernel: &[u8]) -> Result<(), LoadError> {
        if kernel.len() > MEM_SIZE {
            return Err(LoadError::TooLarge { size: kernel.len() });
        }
        self.mem[..kernel.len()].copy_from_slice(kernel);
        self.mem[kernel.len()..].fill(0);
        self.regs = [0; NUM_REGS];
        self.pc = 0;
        self.cycles = 0;
        Ok(())
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
        Some(a)
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
        assert_eq!(
            Machine::new(&vec![0; MEM_SIZE + 1]).unwrap_err(),
            LoadError::TooLarge { size: MEM_SIZE + 1 }
        );
        assert!(Machine::new(&vec![1; MEM_SIZE]).is_ok());
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
