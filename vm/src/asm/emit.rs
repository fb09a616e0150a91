//! The two assembler passes over parsed lines. Pass 1 ([`layout`]) gives every line its
//! address and size, defines labels and constants, and evaluates the expressions that
//! decide sizes (`.zero`, `.align`, `.org`, `.equ`, which may only use names defined above
//! them). Pass 2 ([`emit`]) evaluates every operand against the full symbol table, checks
//! each against its slot in the opcode's [`Layout`], and writes the bytes. A line that has an
//! error still occupies its size, so later addresses and messages stay right.

use super::expr::{EvalError, Scope, Sym, Symbols, eval, to_i32};
use super::parser::{Arg, Body, Directive, Expr, Line};
use super::{Diag, Diags};
use crate::insn::Insn;
use crate::isa::{Layout, Opcode};
use crate::machine::MEM_SIZE;
use std::collections::HashSet;

/// Bytes of guest memory, as the assembler counts addresses.
const MEM: u64 = MEM_SIZE as u64;

/// Result of pass 1: each line's size (`None`: the line's error was reported in pass 1 and
/// it emits nothing), and where the program first grew past memory.
#[derive(Debug)]
pub(crate) struct Sizes {
    pub per_line: Vec<Option<u64>>,
    pub total: u64,
    /// (line, column) of the statement that took the program past 65,536 bytes.
    pub overflow_at: Option<(usize, usize)>,
}

/// One operand slot of an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Reg,
    U8,
    Imm,
}

fn slots(layout: Layout) -> &'static [Slot] {
    use Slot::*;
    match layout {
        Layout::None => &[],
        Layout::U8 => &[U8],
        Layout::Reg => &[Reg],
        Layout::RegU8 => &[Reg, U8],
        Layout::RegReg => &[Reg, Reg],
        Layout::RegRegReg => &[Reg, Reg, Reg],
        Layout::Imm => &[Imm],
        Layout::RegImm => &[Reg, Imm],
        Layout::ImmReg => &[Imm, Reg],
        Layout::RegRegImm => &[Reg, Reg, Imm],
    }
}

fn body_col(body: &Body) -> usize {
    match body {
        Body::Insn { col, .. } | Body::Data { col, .. } | Body::Equ { col, .. } => *col,
        Body::Invalid => 1,
    }
}

/// Evaluate, reporting a problem at `line` (silently failing for poisoned names).
fn value(
    e: &Expr,
    syms: &Symbols,
    scope: Scope<'_>,
    line: usize,
    diags: &mut Diags,
) -> Option<i64> {
    match eval(e, syms, scope) {
        Ok(v) => Some(v),
        Err(EvalError::Report(d)) => {
            diags.push(line, d);
            None
        }
        Err(EvalError::Silent) => None,
    }
}

/// Pass 1: addresses, sizes, labels and constants.
pub(crate) fn layout(lines: &[Line], syms: &mut Symbols, diags: &mut Diags) -> Sizes {
    let defined: HashSet<String> = lines
        .iter()
        .flat_map(|l| {
            let equ = match &l.body {
                Some(Body::Equ { name, .. }) => Some(name),
                _ => None,
            };
            l.labels.iter().chain(equ).map(|n| n.text.clone())
        })
        .collect();
    let mut pc: u64 = 0;
    let mut per_line = Vec::with_capacity(lines.len());
    let mut overflow_at = None;
    for line in lines {
        let n = line.number;
        for label in &line.labels {
            let sym = Sym::Label {
                value: pc as i64,
                line: n,
            };
            if let Err(d) = syms.define(&label.text, label.col, sym) {
                diags.push(n, d);
            }
        }
        let size = match &line.body {
            None | Some(Body::Invalid) => Some(0),
            Some(Body::Insn { op, .. }) => Some(op.len() as u64),
            Some(Body::Data { dir, col, args }) => {
                data_size(*dir, *col, args, pc, (syms, &defined), n, diags)
            }
            Some(Body::Equ { name, value: e, .. }) => {
                let scope = Scope::Above("a constant's value", &defined);
                let sym = match e.as_ref().and_then(|e| value(e, syms, scope, n, diags)) {
                    Some(value) => Sym::Const { value, line: n },
                    None => Sym::Poisoned { line: n },
                };
                if let Err(d) = syms.define(&name.text, name.col, sym) {
                    diags.push(n, d);
                }
                Some(0)
            }
        };
        pc += size.unwrap_or(0);
        if pc > MEM && overflow_at.is_none() {
            overflow_at = Some((n, line.body.as_ref().map_or(1, body_col)));
        }
        per_line.push(size);
    }
    Sizes {
        per_line,
        total: pc,
        overflow_at,
    }
}

/// A pass-1 failure: `Some` to report, `None` when already reported (a poisoned name).
type Fail = Option<Diag>;

/// The symbols defined so far, and every name the program defines anywhere.
type Names<'a> = (&'a Symbols, &'a HashSet<String>);

fn fail<T>(col: usize, message: String) -> Result<T, Fail> {
    Err(Some(Diag { col, message }))
}

/// The single value argument of `.zero`, `.align` or `.org`, evaluated with names above.
fn single_value(dir: Directive, col: usize, args: &[Arg], names: Names<'_>) -> Result<i64, Fail> {
    let (syms, defined) = names;
    let what = match dir {
        Directive::Zero => "a byte count (.zero N)",
        Directive::Align => "an alignment (.align N)",
        _ => "an address (.org ADDR)",
    };
    match args {
        [Arg::Expr(e)] => eval(e, syms, Scope::Above(dir.name(), defined)).map_err(|e| match e {
            EvalError::Report(d) => Some(d),
            EvalError::Silent => None,
        }),
        [Arg::Str { col, .. }] => {
            fail(*col, format!("{} takes {what}, found a string", dir.name()))
        }
        _ => fail(
            args.get(1).map_or(col, Arg::col),
            format!("{} takes {what}, found {} values", dir.name(), args.len()),
        ),
    }
}

/// The size of a data directive at address `pc`, reporting any problem.
fn data_size(
    dir: Directive,
    col: usize,
    args: &[Arg],
    pc: u64,
    names: Names<'_>,
    line: usize,
    diags: &mut Diags,
) -> Option<u64> {
    match try_data_size(dir, col, args, pc, names) {
        Ok(n) => Some(n),
        Err(Some(d)) => {
            diags.push(line, d);
            None
        }
        Err(None) => None,
    }
}

fn try_data_size(
    dir: Directive,
    col: usize,
    args: &[Arg],
    pc: u64,
    names: Names<'_>,
) -> Result<u64, Fail> {
    let max = MEM as i64;
    match dir {
        Directive::Byte | Directive::Word if args.is_empty() => {
            fail(col, format!("{} needs at least one value", dir.name()))
        }
        Directive::Byte => Ok(args.len() as u64),
        Directive::Word => Ok(4 * args.len() as u64),
        Directive::String | Directive::Asciz => match args {
            [Arg::Str { bytes, .. }] => Ok(bytes.len() as u64 + u64::from(dir == Directive::Asciz)),
            [Arg::Expr(e)] => fail(
                e.col,
                format!(
                    "{} takes one string (\"text\"), found '{}'",
                    dir.name(),
                    super::shorten(&e.text)
                ),
            ),
            _ => fail(
                args.get(1).map_or(col, Arg::col),
                format!(
                    "{} takes one string (\"text\"), found {} arguments",
                    dir.name(),
                    args.len()
                ),
            ),
        },
        Directive::Zero => {
            let n = single_value(dir, col, args, names)?;
            if (0..=max).contains(&n) {
                Ok(n as u64)
            } else {
                fail(
                    args[0].col(),
                    format!(".zero count {n} is out of range (0..=65536)"),
                )
            }
        }
        Directive::Align => {
            let n = single_value(dir, col, args, names)?;
            if (1..=max).contains(&n) && (n as u64).is_power_of_two() {
                let n = n as u64;
                Ok((n - pc % n) % n)
            } else {
                fail(
                    args[0].col(),
                    format!(".align {n} is not a power of two from 1 to 65536"),
                )
            }
        }
        Directive::Org => {
            let a = single_value(dir, col, args, names)?;
            if !(0..=max).contains(&a) {
                fail(
                    args[0].col(),
                    format!(".org address {a} is outside memory (0..=65536)"),
                )
            } else if (a as u64) < pc {
                fail(
                    args[0].col(),
                    format!(
                        ".org {a:#06x} would move backwards: this line is at address {pc:#06x}"
                    ),
                )
            } else {
                Ok(a as u64 - pc)
            }
        }
    }
}

/// Where pass 2 writes. When the program is too large for memory nothing is kept (the
/// errors are still checked), so a huge source never makes a huge allocation.
#[derive(Debug)]
pub(crate) struct Out {
    pub bytes: Vec<u8>,
    pub live: bool,
}

impl Out {
    fn extend(&mut self, bytes: &[u8]) {
        if self.live {
            self.bytes.extend_from_slice(bytes);
        }
    }

    fn pad(&mut self, n: u64) {
        if self.live {
            self.bytes.resize(self.bytes.len() + n as usize, 0);
        }
    }
}

/// Pass 2: evaluate operands and write bytes.
pub(crate) fn emit(
    lines: &[Line],
    sizes: &Sizes,
    syms: &Symbols,
    diags: &mut Diags,
    out: &mut Out,
) {
    for (line, &size) in lines.iter().zip(&sizes.per_line) {
        let Some(size) = size else { continue };
        let before = out.bytes.len();
        match &line.body {
            Some(Body::Insn { op, col, args }) => {
                match insn(*op, *col, args, syms, line.number, diags) {
                    Some(insn) => out.extend(&insn.encode()),
                    None => out.pad(size),
                }
            }
            Some(Body::Data { dir, args, .. }) => {
                data(*dir, args, size, syms, line.number, diags, out)
            }
            _ => {}
        }
        debug_assert!(!out.live || out.bytes.len() - before == size as usize);
    }
}

fn operand_count_message(op: Opcode, found: usize) -> String {
    let want = slots(op.layout()).len();
    match want {
        0 => format!("{op} takes no operands, found {found}"),
        1 => format!(
            "{op} takes 1 operand ({}), found {found}",
            op.operand_syntax()
        ),
        n => format!(
            "{op} takes {n} operands ({}), found {found}",
            op.operand_syntax()
        ),
    }
}

/// Check and evaluate one instruction's operands.
fn insn(
    op: Opcode,
    col: usize,
    args: &[Arg],
    syms: &Symbols,
    line: usize,
    diags: &mut Diags,
) -> Option<Insn> {
    let slots = slots(op.layout());
    if args.len() != slots.len() {
        let col = args.get(slots.len()).map_or(col, Arg::col);
        let message = operand_count_message(op, args.len());
        diags.push(line, Diag { col, message });
        return None;
    }
    let names: Vec<&str> = op.operand_syntax().split(", ").collect();
    let mut regs = [0u8; 3];
    let mut nregs = 0;
    let mut imm = 0i32;
    let mut ok = true;
    for (i, (slot, arg)) in slots.iter().zip(args).enumerate() {
        let name = names.get(i).copied().unwrap_or("operand");
        match operand(*slot, name, arg, syms) {
            Ok(Operand::Reg(r)) => {
                regs[nregs] = r;
                nregs += 1;
            }
            Ok(Operand::Imm(v)) => imm = v,
            Err(EvalError::Report(d)) => {
                diags.push(line, d);
                ok = false;
            }
            Err(EvalError::Silent) => ok = false,
        }
    }
    ok.then_some(Insn::new(op, regs, imm))
}

enum Operand {
    Reg(u8),
    Imm(i32),
}

fn found(arg: &Arg) -> String {
    match arg {
        Arg::Str { .. } => "a string".to_string(),
        Arg::Expr(e) => format!("'{}'", super::shorten(&e.text)),
    }
}

fn operand(slot: Slot, name: &str, arg: &Arg, syms: &Symbols) -> Result<Operand, EvalError> {
    let col = arg.col();
    let fail = |message: String| Err(EvalError::Report(Diag { col, message }));
    let expr = match arg {
        Arg::Expr(e) => e,
        Arg::Str { .. } if slot == Slot::Reg => {
            return fail(format!(
                "expected a register (R0..R7), found {}",
                found(arg)
            ));
        }
        Arg::Str { .. } => return fail(format!("expected a value ({name}), found a string")),
    };
    match (slot, expr.register()) {
        (Slot::Reg, Some(Ok(r))) => Ok(Operand::Reg(r)),
        (_, Some(Err(()))) => fail(format!(
            "register '{}' does not exist (R0..R7; R8..R255 encode as no-ops)",
            super::shorten(&expr.text)
        )),
        (Slot::Reg, None) => fail(format!(
            "expected a register (R0..R7), found {}",
            found(arg)
        )),
        (Slot::U8 | Slot::Imm, Some(Ok(_))) => fail(format!(
            "expected a value ({name}), found register '{}'",
            expr.text
        )),
        (Slot::Imm, None) => Ok(Operand::Imm(to_i32(eval(expr, syms, Scope::Whole)?))),
        (Slot::U8, None) => {
            let v = eval(expr, syms, Scope::Whole)?;
            match u8::try_from(v) {
                Ok(b) => Ok(Operand::Imm(i32::from(b))),
                Err(_) => fail(format!("value {v} does not fit in a byte (0..=255)")),
            }
        }
    }
}

/// Pass 2 for a data directive whose size pass 1 accepted.
fn data(
    dir: Directive,
    args: &[Arg],
    size: u64,
    syms: &Symbols,
    line: usize,
    diags: &mut Diags,
    out: &mut Out,
) {
    match dir {
        Directive::Byte | Directive::Word => {
            let width = if dir == Directive::Byte { 1 } else { 4 };
            for arg in args {
                let v = match arg {
                    Arg::Str { col, .. } => {
                        let message = format!(
                            "{} takes numbers, found a string (use .string or .asciz for text)",
                            dir.name()
                        );
                        diags.push(line, Diag { col: *col, message });
                        None
                    }
                    Arg::Expr(e) => value(e, syms, Scope::Whole, line, diags),
                };
                match (dir, v) {
                    (Directive::Byte, Some(v)) if (-128..=255).contains(&v) => {
                        out.extend(&[v as u8])
                    }
                    (Directive::Byte, Some(v)) => {
                        let message = format!("value {v} does not fit in a byte (-128..=255)");
                        diags.push(
                            line,
                            Diag {
                                col: arg.col(),
                                message,
                            },
                        );
                        out.pad(1);
                    }
                    (_, Some(v)) => out.extend(&to_i32(v).to_le_bytes()),
                    (_, None) => out.pad(width),
                }
            }
        }
        Directive::String | Directive::Asciz => {
            if let [Arg::Str { bytes, .. }] = args {
                out.extend(bytes);
                if dir == Directive::Asciz {
                    out.extend(&[0]);
                }
            }
        }
        Directive::Zero | Directive::Align | Directive::Org => out.pad(size),
    }
}
