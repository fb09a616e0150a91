//! Names and values: the symbol table (labels, `.equ` constants and the predefined syscall
//! constants from [`crate::syscalls::NAMED`]) and the evaluation of `+`/`-` expressions
//! against it, with the range rules every operand shares (an i32 expression may be written
//! from -2^31 up to 2^32-1; 0x80000000..=0xFFFFFFFF mean their two's complement).

use super::parser::{Atom, Expr, register_number};
use super::{Diag, Symbol, SymbolKind, shorten};
use std::collections::{HashMap, HashSet};

/// Smallest value an i32 expression may have.
pub(crate) const MIN_VALUE: i64 = i32::MIN as i64;
/// Largest value an i32 expression may have (read back as its two's complement).
pub(crate) const MAX_VALUE: i64 = u32::MAX as i64;

/// What a name means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sym {
    /// A label: the address of what follows it.
    Label { value: i64, line: usize },
    /// An `.equ` / `NAME = e` constant.
    Const { value: i64, line: usize },
    /// A constant from `pxvm::syscalls::NAMED`.
    Predefined { value: i64 },
    /// A constant whose definition was in error. Uses of it fail silently: the definition
    /// already reported the problem.
    Poisoned { line: usize },
}

/// A use of a name that could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EvalError {
    /// Report this.
    Report(Diag),
    /// Already reported elsewhere (a poisoned constant).
    Silent,
}

impl From<Diag> for EvalError {
    fn from(d: Diag) -> Self {
        EvalError::Report(d)
    }
}

/// The symbol table.
#[derive(Debug, Clone)]
pub(crate) struct Symbols {
    map: HashMap<String, Sym>,
}

impl Symbols {
    /// A table holding only the predefined constants.
    pub fn new() -> Symbols {
        let map = crate::syscalls::NAMED
            .iter()
            .map(|&(name, n)| {
                (
                    name.to_string(),
                    Sym::Predefined {
                        value: i64::from(n),
                    },
                )
            })
            .collect();
        Symbols { map }
    }

    pub fn get(&self, name: &str) -> Option<Sym> {
        self.map.get(name).copied()
    }

    /// Define `name` on `line`, or say why it cannot be.
    pub fn define(&mut self, name: &str, col: usize, sym: Sym) -> Result<(), Diag> {
        let line_of = |s: Sym| match s {
            Sym::Label { line, .. } | Sym::Const { line, .. } | Sym::Poisoned { line } => {
                Some(line)
            }
            Sym::Predefined { .. } => None,
        };
        let shown = shorten(name);
        let message = if register_number(name).is_some() {
            format!("'{shown}' is a register name; it cannot name a label or constant")
        } else if let Some(old) = self.get(name) {
            match (old, line_of(old)) {
                (Sym::Predefined { value }, _) => format!(
                    "'{shown}' is a predefined constant (syscall {value}) and cannot be redefined"
                ),
                (Sym::Label { .. }, Some(line)) => {
                    format!("label '{shown}' already defined at line {line}")
                }
                (_, Some(line)) => format!("constant '{shown}' already defined at line {line}"),
                (_, None) => format!("'{shown}' is already defined"),
            }
        } else {
            self.map.insert(name.to_string(), sym);
            return Ok(());
        };
        Err(Diag { col, message })
    }

    /// Every user-defined label and constant (not the predefined ones, not poisoned ones).
    pub fn user_defined(&self) -> impl Iterator<Item = (&str, Symbol)> {
        self.map.iter().filter_map(|(k, &v)| {
            let (kind, value, line) = match v {
                Sym::Label { value, line } => (SymbolKind::Label, value, line),
                Sym::Const { value, line } => (SymbolKind::Constant, value, line),
                Sym::Predefined { .. } | Sym::Poisoned { .. } => return None,
            };
            Some((k.as_str(), Symbol { kind, value, line }))
        })
    }
}

/// Where an expression is evaluated, for the message about names not yet defined.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// Every name in the program may be used (instruction operands, `.byte`, `.word`).
    Whole,
    /// Only names defined above may be used (in the named directive); `later` holds every
    /// name the program defines anywhere, to tell "defined below" from "undefined".
    Above(&'a str, &'a HashSet<String>),
}

/// Evaluate `expr`; the result is in `MIN_VALUE..=MAX_VALUE` or an error at `expr`.
pub(crate) fn eval(expr: &Expr, syms: &Symbols, scope: Scope<'_>) -> Result<i64, EvalError> {
    let mut total: i64 = 0;
    for term in &expr.terms {
        let value = match &term.atom {
            Atom::Num(v) => *v,
            Atom::Name(name) => lookup(name, term.col, syms, scope)?,
        };
        let signed = if term.neg { -value } else { value };
        total = total.checked_add(signed).ok_or_else(|| Diag {
            col: expr.col,
            message: format!("value of '{}' overflows", shorten(&expr.text)),
        })?;
    }
    if !(MIN_VALUE..=MAX_VALUE).contains(&total) {
        return Err(Diag {
            col: expr.col,
            message: format!(
                "value {total} of '{}' does not fit in 32 bits (-2147483648..=4294967295)",
                shorten(&expr.text)
            ),
        }
        .into());
    }
    Ok(total)
}

fn lookup(name: &str, col: usize, syms: &Symbols, scope: Scope<'_>) -> Result<i64, EvalError> {
    let shown = shorten(name);
    match syms.get(name) {
        Some(Sym::Label { value, .. } | Sym::Const { value, .. } | Sym::Predefined { value }) => {
            Ok(value)
        }
        Some(Sym::Poisoned { .. }) => Err(EvalError::Silent),
        None => {
            let message = match scope {
                _ if register_number(name).is_some() => {
                    format!("register '{shown}' cannot be used in an expression")
                }
                Scope::Above(dir, later) if later.contains(name) => format!(
                    "'{shown}' is not defined above this line; {dir} may only use names defined above it"
                ),
                _ => format!("undefined label '{shown}'"),
            };
            Err(Diag { col, message }.into())
        }
    }
}

/// An expression's value as the i32 it encodes (0x80000000..=0xFFFFFFFF wrap to negative).
pub(crate) fn to_i32(value: i64) -> i32 {
    value as u32 as i32
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex_line;
    use super::super::parser::{Arg, Body, parse_line};
    use super::*;

    fn expr(text: &str) -> Expr {
        let line = format!(".word {text}");
        let (l, e) = parse_line(1, &line, &lex_line(&line).unwrap());
        assert!(e.is_none(), "{e:?}");
        let Some(Body::Data { args, .. }) = l.body else {
            panic!()
        };
        let Some(Arg::Expr(e)) = args.into_iter().next() else {
            panic!()
        };
        e
    }

    fn value(text: &str, syms: &Symbols) -> Result<i64, EvalError> {
        eval(&expr(text), syms, Scope::Whole)
    }

    #[test]
    fn sums_and_names() {
        let mut s = Symbols::new();
        s.define(
            "DATA",
            1,
            Sym::Label {
                value: 0x40,
                line: 1,
            },
        )
        .unwrap();
        s.define(
            "END",
            1,
            Sym::Label {
                value: 0x50,
                line: 2,
            },
        )
        .unwrap();
        assert_eq!(value("DATA+4", &s), Ok(0x44));
        assert_eq!(value("END-DATA", &s), Ok(0x10));
        assert_eq!(value("-0x10 + 'A'", &s), Ok(49));
        assert_eq!(value("SYS_SELF_MODIFY", &s), Ok(99));
        assert_eq!(to_i32(value("0xFFFFFFFF", &s).unwrap()), -1);
        assert_eq!(to_i32(value("-0x80000000", &s).unwrap()), i32::MIN);
    }

    #[test]
    fn out_of_range_and_undefined() {
        let s = Symbols::new();
        let Err(EvalError::Report(d)) = value("0xFFFFFFFF + 1", &s) else {
            panic!()
        };
        assert!(
            d.message.contains("does not fit in 32 bits"),
            "{}",
            d.message
        );
        let Err(EvalError::Report(d)) = value("-0x80000001", &s) else {
            panic!()
        };
        assert!(d.message.contains("-2147483649"), "{}", d.message);
        let Err(EvalError::Report(d)) = value("1 + NOPE", &s) else {
            panic!()
        };
        assert_eq!(d.col, 11);
        assert_eq!(d.message, "undefined label 'NOPE'");
        let Err(EvalError::Report(d)) =
            eval(&expr("1 + R3"), &s, Scope::Above(".org", &HashSet::new()))
        else {
            panic!()
        };
        assert!(d.message.contains("register 'R3'"));
        let later: HashSet<String> = ["LATER".to_string()].into();
        let Err(EvalError::Report(d)) = eval(&expr("LATER"), &s, Scope::Above(".org", &later))
        else {
            panic!()
        };
        assert!(d.message.contains("not defined above"), "{}", d.message);
        let Err(EvalError::Report(d)) = eval(&expr("NEVER"), &s, Scope::Above(".org", &later))
        else {
            panic!()
        };
        assert_eq!(d.message, "undefined label 'NEVER'");
    }

    #[test]
    fn redefinitions_are_refused() {
        let mut s = Symbols::new();
        s.define("A", 1, Sym::Label { value: 0, line: 3 }).unwrap();
        let d = s
            .define("A", 5, Sym::Const { value: 0, line: 9 })
            .unwrap_err();
        assert_eq!(d.message, "label 'A' already defined at line 3");
        let d = s
            .define("SYS_PRINT", 1, Sym::Const { value: 0, line: 9 })
            .unwrap_err();
        assert!(d.message.contains("predefined constant (syscall 1)"));
        let d = s
            .define("r12", 1, Sym::Label { value: 0, line: 9 })
            .unwrap_err();
        assert!(d.message.contains("register name"));
        s.define("P", 1, Sym::Poisoned { line: 4 }).unwrap();
        assert_eq!(value("P", &s), Err(EvalError::Silent));
    }
}
