//! Static checks a new kernel must pass before a host installs it — the same for a file
//! dropped into a store's `build/` and for a SELF_MODIFY request: it holds 1 to 65,536
//! bytes (never truncated), it is not assembly source text handed over as bytes, and every
//! instruction reachable from address 0 is a defined one.
//!
//! **Reachable** follows every edge the machine could take without knowing register
//! values: the next instruction, and the target of `JMP`, `JZ`, `JNZ` and `CALL` (whose
//! out-of-range targets fall through, as the machine does). `JR`, `RET` and `HALT` end a
//! path (their targets are only known at run time). The kernel sits at address 0 of zeroed
//! memory, so a path that runs off its end meets `HALT` (byte 0) — which is what the
//! machine would do too. Code reached only through `JR`/`RET` or written at run time is not
//! checked: these checks refuse what is certainly not a kernel, not every kernel that
//! could misbehave (a boot on probation catches the rest).

use crate::insn::{Decoded, decode};
use crate::isa::{Flow, Opcode};
use crate::{KernelTooLarge, MEM_SIZE};
use std::fmt;

/// Why bytes are not a kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VetError {
    /// No bytes.
    Empty,
    /// More than fits in memory.
    TooLarge(KernelTooLarge),
    /// The bytes are assembly source text, not bytecode.
    AssemblyText { line: usize },
    /// An undefined opcode byte is reachable from address 0.
    UndefinedOpcode { byte: u8, addr: usize },
}

impl fmt::Display for VetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VetError::Empty => f.write_str("the kernel is empty"),
            VetError::TooLarge(too_large) => too_large.fmt(f),
            VetError::AssemblyText { line } => write!(
                f,
                "the bytes are assembly source text (line {line} is an instruction), not bytecode; assemble it first"
            ),
            VetError::UndefinedOpcode { byte, addr } => write!(
                f,
                "undefined opcode 0x{byte:02X} at address {addr}, reachable from address 0"
            ),
        }
    }
}

impl std::error::Error for VetError {}

/// Run every check on `bytes` (see the module docs).
pub fn vet(bytes: &[u8]) -> Result<(), VetError> {
    if bytes.is_empty() {
        return Err(VetError::Empty);
    }
    KernelTooLarge::check(bytes.len()).map_err(VetError::TooLarge)?;
    if let Some(line) = assembly_line(bytes) {
        return Err(VetError::AssemblyText { line });
    }
    first_undefined_reachable(bytes)
}

/// If `bytes` is printable text in which some line starts with an instruction mnemonic
/// (or a label followed by one), that line's number (1-based).
pub fn assembly_line(bytes: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(bytes).ok()?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return None;
    }
    text.lines().enumerate().find_map(|(i, line)| {
        let code = line.split(';').next().unwrap_or("");
        let code = code.rsplit(':').next().unwrap_or(code);
        let word = code.split_whitespace().next()?;
        let word = word.trim_end_matches(',');
        (Opcode::from_mnemonic(word).is_some() || word.starts_with('.')).then_some(i + 1)
    })
}

/// The first undefined opcode reachable from address 0, in address order.
fn first_undefined_reachable(bytes: &[u8]) -> Result<(), VetError> {
    let mut mem = vec![0u8; MEM_SIZE];
    mem[..bytes.len()].copy_from_slice(bytes);
    let mut seen = vec![false; MEM_SIZE];
    let mut todo = vec![0usize];
    let mut worst: Option<(usize, u8)> = None;
    while let Some(pc) = todo.pop() {
        if pc >= MEM_SIZE || seen[pc] {
            continue;
        }
        seen[pc] = true;
        let insn = match decode(&mem, pc) {
            Ok(Decoded::Insn(insn)) => insn,
            Ok(Decoded::Unknown(byte)) => {
                if worst.is_none_or(|(a, _)| pc < a) {
                    worst = Some((pc, byte));
                }
                continue;
            }
            // Running past the end of memory is an error the machine reports; not ours.
            Err(_) => continue,
        };
        let next = pc + insn.op.len();
        let target = usize::try_from(insn.imm).ok().filter(|&t| t < MEM_SIZE);
        match insn.op.flow() {
            Flow::Halt | Flow::Indirect | Flow::Return => {}
            Flow::Jump => todo.push(target.unwrap_or(next)),
            Flow::Branch | Flow::Call => {
                todo.push(next);
                todo.extend(target);
            }
            Flow::Next | Flow::Syscall => todo.push(next),
        }
    }
    match worst {
        Some((addr, byte)) => Err(VetError::UndefinedOpcode { byte, addr }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;

    #[test]
    fn a_real_kernel_passes() {
        let k = assemble(
            "start: IMM32 R1, 3\nloop: ADDI R1, R1, -1\nJNZ R1, loop\nCALL f\nHALT\nf: RET\n",
            "k.asm",
        )
        .unwrap();
        assert_eq!(vet(&k), Ok(()));
    }

    #[test]
    fn refuses_empty_oversized_text_and_undefined_code() {
        assert_eq!(vet(&[]), Err(VetError::Empty));
        assert_eq!(
            vet(&vec![1; MEM_SIZE + 1]),
            Err(VetError::TooLarge(KernelTooLarge { size: 65_537 }))
        );
        assert_eq!(
            vet(b"; a kernel\nstart:  IMM32 R1, 1\nHALT\n"),
            Err(VetError::AssemblyText { line: 2 })
        );
        // NOP, JMP 7, then an undefined byte at 6 that is jumped over, and one at 7.
        let k = [0x01, 0x40, 7, 0, 0, 0, 0xEE, 0xEF];
        assert_eq!(
            vet(&k),
            Err(VetError::UndefinedOpcode {
                byte: 0xEF,
                addr: 7
            })
        );
    }

    #[test]
    fn unreachable_data_is_fine() {
        // HALT followed by data bytes that are not instructions.
        assert_eq!(vet(&[0x00, 0xEE, 0xEF, b'h', b'i']), Ok(()));
    }

    #[test]
    fn plain_text_that_is_not_assembly_is_left_to_the_other_checks() {
        assert_eq!(assembly_line(b"hello world\n"), None);
        assert!(vet(b"hello world\n").is_err(), "'h' is not an opcode");
    }
}
