//! The disassembler: bytecode to a listing that is itself valid assembly and reassembles to
//! exactly the same bytes (`assemble(&disassemble(x)) == x` for every byte string that
//! fits in memory). It decodes linearly from address 0, as the machine would run straight-line
//! code; branch and call targets that land on a decoded item get `L_XXXX` labels; unknown
//! opcodes and a truncated final instruction are written as `.byte`, and a long run of
//! trailing zero bytes (HALTs) as `.zero`.

use crate::insn::{Decoded, Insn, decode};
use crate::isa::Layout;
use std::fmt::Write as _;

/// Trailing runs of at least this many zero bytes are listed as `.zero N`.
const ZERO_RUN: usize = 16;

/// Width the instruction text is padded to before the `;` comment.
const TEXT_WIDTH: usize = 28;

/// Decode `bytes` linearly from address 0: every item with its address. Stops before a
/// known opcode whose operands run past the end (see [`truncated_tail`]).
pub fn instructions(bytes: &[u8]) -> Vec<(usize, Decoded)> {
    let mut items = Vec::new();
    let mut pc = 0;
    while let Ok(d) = decode(bytes, pc) {
        items.push((pc, d));
        pc += d.len();
    }
    items
}

/// Where the linear decoding of `bytes` ends in an instruction cut short by the end of
/// the input, if it does: that instruction's address.
pub fn truncated_tail(bytes: &[u8]) -> Option<usize> {
    let end = instructions(bytes)
        .last()
        .map_or(0, |&(pc, d)| pc + d.len());
    (end < bytes.len()).then_some(end)
}

/// The address an instruction transfers control to, if it is a direct branch or call
/// (`JMP`, `JZ`, `JNZ`, `CALL`: the block-ending instructions that carry an immediate).
pub fn branch_target(insn: &Insn) -> Option<i32> {
    (insn.op.ends_block() && insn.op.layout().has_imm()).then_some(insn.imm)
}

/// The label the listing gives address `addr`.
pub fn label_name(addr: usize) -> String {
    format!("L_{addr:04X}")
}

/// Assembly text of `insn`, with the immediate written as `imm_text`.
fn insn_text(insn: &Insn, imm_text: &str) -> String {
    let [a, b, c] = insn.regs;
    let m = insn.op.mnemonic();
    match insn.op.layout() {
        Layout::None => m.to_string(),
        Layout::U8 | Layout::Imm => format!("{m} {imm_text}"),
        Layout::Reg => format!("{m} R{a}"),
        Layout::RegU8 | Layout::RegImm => format!("{m} R{a}, {imm_text}"),
        Layout::RegReg => format!("{m} R{a}, R{b}"),
        Layout::RegRegReg => format!("{m} R{a}, R{b}, R{c}"),
        Layout::ImmReg => format!("{m} {imm_text}, R{a}"),
        Layout::RegRegImm => format!("{m} R{a}, R{b}, {imm_text}"),
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

fn byte_list(bytes: &[u8]) -> String {
    let list: Vec<String> = bytes.iter().map(|b| format!("{b:#04x}")).collect();
    format!(".byte {}", list.join(", "))
}

/// One listing line: indented text, then `; ADDR: BYTES` and an optional note.
fn push_line(out: &mut String, text: &str, addr: usize, bytes: &[u8], note: &str) {
    let _ = write!(out, "    {text:<TEXT_WIDTH$} ; {addr:04X}: ");
    if note.is_empty() {
        out.push_str(&hex_bytes(bytes));
    } else {
        let _ = write!(out, "{:<20} {note}", hex_bytes(bytes));
    }
    out.push('\n');
}

/// A listing of `bytes` that reassembles to exactly `bytes` (for inputs of at most 65,536
/// bytes, the most the assembler emits). Format:
///
/// ```text
/// ; 25 bytes
///     IMM32 R1, 1                  ; 0000: 11 01 01 00 00 00
/// L_0013:
///     JZ R2, L_0013                ; 0013: 41 02 13 00 00 00
///     .byte 0x80                   ; 0019: 80                   (unknown opcode)
/// ```
pub fn disassemble(bytes: &[u8]) -> String {
    let items = instructions(bytes);
    let end = items.last().map_or(0, |&(pc, d)| pc + d.len());

    // Item starts, then the ones some branch targets.
    let mut starts = vec![false; bytes.len()];
    for &(pc, _) in &items {
        starts[pc] = true;
    }
    let mut labeled = vec![false; bytes.len()];
    for (_, d) in &items {
        if let Decoded::Insn(insn) = d
            && let Some(t) = branch_target(insn).and_then(|t| usize::try_from(t).ok())
            && starts.get(t) == Some(&true)
        {
            labeled[t] = true;
        }
    }

    // Trailing HALTs (zero bytes) to list as `.zero`.
    let halts = items
        .iter()
        .rev()
        .take_while(|(_, d)| *d == Decoded::Insn(Insn::bare(crate::isa::Opcode::HALT)))
        .count();
    let zero_from = if end == bytes.len() && halts >= ZERO_RUN {
        items.len() - halts
    } else {
        items.len()
    };

    let mut out = String::with_capacity(bytes.len() * 48 + 16);
    let _ = writeln!(out, "; {} bytes", bytes.len());
    for &(pc, d) in &items[..zero_from] {
        if labeled[pc] {
            let _ = writeln!(out, "{}:", label_name(pc));
        }
        let raw = &bytes[pc..pc + d.len()];
        match d {
            Decoded::Insn(insn) => {
                let imm_text = match branch_target(&insn) {
                    Some(t) if usize::try_from(t).is_ok_and(|t| labeled.get(t) == Some(&true)) => {
                        label_name(t as usize)
                    }
                    _ => insn.imm.to_string(),
                };
                push_line(&mut out, &insn_text(&insn, &imm_text), pc, raw, "");
            }
            Decoded::Unknown(b) => {
                push_line(&mut out, &byte_list(&[b]), pc, raw, "(unknown opcode)");
            }
        }
    }
    if zero_from < items.len() {
        push_zero_runs(&mut out, items[zero_from].0, bytes.len(), &labeled);
    }
    if end < bytes.len() {
        let raw = &bytes[end..];
        let note = match crate::isa::Opcode::from_byte(raw[0]) {
            Some(op) => format!("(truncated {op}: needs {} bytes)", op.len()),
            None => "(truncated)".to_string(),
        };
        push_line(&mut out, &byte_list(raw), end, raw, &note);
    }
    out
}

/// List zero bytes `from..to` as `.zero` runs, split where a label must go.
fn push_zero_runs(out: &mut String, from: usize, to: usize, labeled: &[bool]) {
    let mut start = from;
    while start < to {
        if labeled[start] {
            let _ = writeln!(out, "{}:", label_name(start));
        }
        let stop = (start + 1..to).find(|&a| labeled[a]).unwrap_or(to);
        let n = stop - start;
        let _ = writeln!(
            out,
            "    {:<TEXT_WIDTH$} ; {start:04X}: {n} zero bytes (HALT)",
            format!(".zero {n}")
        );
        start = stop;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::isa::Opcode;

    #[test]
    fn format_matches_the_documented_shape() {
        let mut bytes = Insn::new(Opcode::IMM32, [1, 0, 0], 1).encode();
        bytes.extend(Insn::new(Opcode::JZ, [2, 0, 0], 6).encode());
        bytes.push(0x80);
        let text = disassemble(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "; 13 bytes");
        assert_eq!(
            lines[1],
            "    IMM32 R1, 1                  ; 0000: 11 01 01 00 00 00"
        );
        assert_eq!(lines[2], "L_0006:");
        assert_eq!(
            lines[3],
            "    JZ R2, L_0006                ; 0006: 41 02 06 00 00 00"
        );
        assert_eq!(
            lines[4],
            "    .byte 0x80                   ; 000C: 80                   (unknown opcode)"
        );
        assert_eq!(lines.len(), 5);
    }

    #[test]
    fn targets_outside_or_mid_instruction_stay_numeric() {
        // JMP 2 lands inside its own operands; JMP 5 is past the end.
        let mut bytes = Insn::new(Opcode::JMP, [0; 3], 2).encode();
        bytes.extend(Insn::new(Opcode::CALL, [0; 3], 500).encode());
        let text = disassemble(&bytes);
        assert!(text.contains("JMP 2 "), "{text}");
        assert!(text.contains("CALL 500 "), "{text}");
        assert!(!text.contains("L_"), "{text}");
    }

    #[test]
    fn truncated_tail_and_zero_runs() {
        assert_eq!(truncated_tail(&[0x11, 1, 2]), Some(0));
        assert_eq!(truncated_tail(&[0x01, 0x11]), Some(1));
        assert_eq!(truncated_tail(&[0x01]), None);
        let text = disassemble(&[0x01, 0x11, 1]);
        assert!(text.contains(".byte 0x11, 0x01"), "{text}");
        assert!(text.contains("(truncated IMM32: needs 6 bytes)"), "{text}");

        let mut bytes = vec![0x40, 30, 0, 0, 0];
        bytes.resize(40, 0);
        let text = disassemble(&bytes);
        assert!(text.contains(".zero 25"), "{text}");
        assert!(text.contains("L_001E:\n    .zero 10"), "{text}");
        assert!(text.contains("JMP L_001E"), "{text}");
    }

    #[test]
    fn empty_input_is_just_the_header() {
        assert_eq!(disassemble(&[]), "; 0 bytes\n");
        assert!(instructions(&[]).is_empty());
    }
}
