//! The pxVM assembler: source text to bytecode. This module owns the public API
//! ([`assemble`], [`assemble_with_symbols`], the located [`AsmError`]s) and runs the
//! pipeline: `lexer` and `parser` turn each line into labels and one statement,
//! `emit` lays the program out (pass 1) and writes its bytes (pass 2), and `expr` holds
//! the symbol table and evaluates expressions. Operand shapes come from the ISA table
//! ([`crate::isa::Opcode::layout`]), so a new opcode needs no change here.
//!
//! # Syntax
//! One statement per line; `;` starts a comment. `NAME:` defines a label (a statement may
//! follow on the same line). Names are `[A-Za-z_.][A-Za-z0-9_.]*`, case-sensitive;
//! mnemonics, registers (`R0`..`R7`, and `R8`..`R255` which encode no-op instructions) and
//! directives are case-insensitive. Expressions are terms joined by `+` and `-`, each term a
//! decimal, `0x` hex or `0b` binary number, a character (`'A'`, `'\n'`), or a name; they
//! must lie in -2^31..=2^32-1 (the upper half is the two's complement of a negative i32).
//! Predefined constants: every name in [`crate::syscalls::NAMED`]. Directives: `.byte`,
//! `.word`, `.string "text"`, `.asciz "text"`, `.zero N`, `.align N`, `.org ADDR`,
//! `.equ NAME, e` and `NAME = e`.

mod emit;
mod expr;
mod lexer;
mod parser;

use std::collections::BTreeMap;
use thiserror::Error;

/// One assembly error, located.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{file}:{line}:{col}: {message}")]
pub struct AsmError {
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column of the offending token, counted in characters (a tab counts one).
    pub col: usize,
    pub message: String,
}

/// All errors found in one source (at most [`MAX_ERRORS`] plus one line saying how many
/// more there were), in line order.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct AsmErrors {
    pub errors: Vec<AsmError>,
}

/// The most errors reported for one source.
pub const MAX_ERRORS: usize = 50;

/// What a symbol in [`Program::symbols`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymbolKind {
    /// A label: its value is the address of what follows it (0..=65,536).
    Label,
    /// A constant from `.equ NAME, e` or `NAME = e`.
    Constant,
}

/// A user-defined symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol {
    pub kind: SymbolKind,
    /// The value as evaluated, in -2^31..=2^32-1 (the encoded i32 is its low 32 bits).
    pub value: i64,
    /// 1-based line of the definition.
    pub line: usize,
}

/// An assembled program with its symbol table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The bytecode, at most 65,536 bytes.
    pub bytes: Vec<u8>,
    /// Every label and constant the source defined (not the predefined syscall names).
    pub symbols: BTreeMap<String, Symbol>,
}

/// Assemble `source` (named `file` in error messages) to bytecode.
pub fn assemble(source: &str, file: &str) -> Result<Vec<u8>, AsmErrors> {
    assemble_with_symbols(source, file).map(|p| p.bytes)
}

/// Assemble `source` (named `file` in error messages), returning the bytes and the labels
/// and constants it defined.
pub fn assemble_with_symbols(source: &str, file: &str) -> Result<Program, AsmErrors> {
    let mut diags = Diags::default();
    let mut lines = Vec::new();
    for (i, text) in source.split('\n').enumerate() {
        let number = i + 1;
        let text = text.strip_suffix('\r').unwrap_or(text);
        let (line, err) = match lexer::lex_line(text) {
            Ok(toks) => parser::parse_line(number, text, &toks),
            Err(d) => (
                parser::Line {
                    number,
                    labels: Vec::new(),
                    body: None,
                },
                Some(d),
            ),
        };
        if let Some(d) = err {
            diags.push(number, d);
        }
        lines.push(line);
    }

    let mut syms = expr::Symbols::new();
    let sizes = emit::layout(&lines, &mut syms, &mut diags);
    if let Some((line, col)) = sizes.overflow_at {
        let message = crate::KernelTooLarge { size: sizes.total }.to_string();
        diags.push(line, Diag { col, message });
    }
    let mut out = emit::Out {
        bytes: Vec::new(),
        live: sizes.overflow_at.is_none(),
    };
    emit::emit(&lines, &sizes, &syms, &mut diags, &mut out);

    if !diags.is_empty() {
        return Err(diags.finish(file));
    }
    let symbols = syms
        .user_defined()
        .map(|(name, sym)| (name.to_string(), sym))
        .collect();
    Ok(Program {
        bytes: out.bytes,
        symbols,
    })
}

/// A problem on the line being processed: its column and message (the line is added when
/// it is pushed to [`Diags`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Diag {
    pub col: usize,
    pub message: String,
}

/// The errors collected so far. Keeps a bounded number; counts the rest.
#[derive(Debug, Default)]
pub(crate) struct Diags {
    kept: Vec<(usize, Diag)>,
    dropped: usize,
}

/// How many errors are kept before sorting (more than [`MAX_ERRORS`], so that the first
/// ones in line order survive the two passes).
const KEEP: usize = 4 * MAX_ERRORS;

impl Diags {
    pub fn push(&mut self, line: usize, diag: Diag) {
        if self.kept.len() < KEEP {
            self.kept.push((line, diag));
        } else {
            self.dropped += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// Sort by position, cap at [`MAX_ERRORS`] and attach the file name.
    pub fn finish(mut self, file: &str) -> AsmErrors {
        self.kept.sort_by_key(|(line, d)| (*line, d.col));
        let more = self.dropped + self.kept.len().saturating_sub(MAX_ERRORS);
        let mut errors: Vec<AsmError> = self
            .kept
            .into_iter()
            .take(MAX_ERRORS)
            .map(|(line, d)| AsmError {
                file: file.to_string(),
                line,
                col: d.col,
                message: d.message,
            })
            .collect();
        if more > 0 {
            let (line, col) = errors.last().map_or((1, 1), |e| (e.line, e.col));
            errors.push(AsmError {
                file: file.to_string(),
                line,
                col,
                message: format!("too many errors; {more} more not shown"),
            });
        }
        AsmErrors { errors }
    }
}

/// `text`, cut to a readable length for quoting in a message.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_cuts_long_text_on_char_boundaries() {
        assert_eq!(shorten("abc"), "abc");
        let long = "é".repeat(50);
        assert_eq!(shorten(&long), format!("{}...", "é".repeat(40)));
    }

    #[test]
    fn errors_are_sorted_and_capped() {
        let src = "BAD\n".repeat(60);
        let errs = assemble(&src, "f.asm").unwrap_err();
        assert_eq!(errs.errors.len(), MAX_ERRORS + 1);
        assert_eq!(errs.errors[0].line, 1);
        assert_eq!(errs.errors[49].line, 50);
        assert_eq!(
            errs.errors[50].message,
            "too many errors; 10 more not shown"
        );
    }

    #[test]
    fn symbols_are_returned() {
        let p = assemble_with_symbols("N = 0xFFFFFFFF\nSTART: NOP\nEND:", "t").unwrap();
        assert_eq!(p.bytes, vec![0x01]);
        assert_eq!(
            p.symbols["N"],
            Symbol {
                kind: SymbolKind::Constant,
                value: 0xFFFF_FFFF,
                line: 1
            }
        );
        assert_eq!(
            p.symbols["END"],
            Symbol {
                kind: SymbolKind::Label,
                value: 1,
                line: 3
            }
        );
        assert_eq!(p.symbols.len(), 3);
    }
}
