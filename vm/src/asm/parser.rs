//! The parser: turns one line's tokens into a [`Line`] — its labels and at most one
//! statement (an instruction, a data directive, or a constant definition) — without
//! evaluating anything. It owns the statement grammar: `LABEL:` prefixes, `.equ NAME, e`
//! and `NAME = e`, comma-separated operand lists and `+`/`-` expressions. Whether an
//! operand is the right kind for its slot is checked later, in `emit`.

use super::lexer::{Tok, Token};
use super::{Diag, shorten};
use crate::isa::Opcode;

/// A name as written, with its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Name {
    pub text: String,
    pub col: usize,
}

/// One term of an expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Atom {
    Num(i64),
    Name(String),
}

/// A signed term: `-X` or `+X`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub neg: bool,
    pub atom: Atom,
    pub col: usize,
}

/// A sum of terms, with its column and source text for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Expr {
    pub terms: Vec<Term>,
    pub col: usize,
    pub text: String,
}

impl Expr {
    /// The register this operand names, if it is exactly one register name:
    /// `Some(Ok(n))` for `R0`..`R255`, `Some(Err(()))` for a register-like name out of range.
    pub fn register(&self) -> Option<Result<u8, ()>> {
        match self.terms.as_slice() {
            [
                Term {
                    neg: false,
                    atom: Atom::Name(name),
                    ..
                },
            ] if self.text == *name => register_number(name),
            _ => None,
        }
    }
}

/// One operand or directive argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Arg {
    Expr(Expr),
    Str { bytes: Vec<u8>, col: usize },
}

impl Arg {
    pub fn col(&self) -> usize {
        match self {
            Arg::Expr(e) => e.col,
            Arg::Str { col, .. } => *col,
        }
    }
}

/// A data or layout directive (`.equ` is parsed into [`Body::Equ`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Directive {
    Byte,
    Word,
    String,
    Asciz,
    Zero,
    Align,
    Org,
}

impl Directive {
    pub fn name(self) -> &'static str {
        match self {
            Directive::Byte => ".byte",
            Directive::Word => ".word",
            Directive::String => ".string",
            Directive::Asciz => ".asciz",
            Directive::Zero => ".zero",
            Directive::Align => ".align",
            Directive::Org => ".org",
        }
    }
}

const DIRECTIVES: &[Directive] = &[
    Directive::Byte,
    Directive::Word,
    Directive::String,
    Directive::Asciz,
    Directive::Zero,
    Directive::Align,
    Directive::Org,
];

/// The statement part of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Body {
    Insn {
        op: Opcode,
        col: usize,
        args: Vec<Arg>,
    },
    Data {
        dir: Directive,
        col: usize,
        args: Vec<Arg>,
    },
    /// `.equ NAME, e` or `NAME = e`; `value` is `None` when the expression did not parse
    /// (the name is then defined as poisoned, so its uses do not cascade into more errors).
    Equ {
        name: Name,
        col: usize,
        value: Option<Expr>,
    },
    /// A statement that did not parse; its size is unknown and taken as zero.
    Invalid,
}

/// One parsed source line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    /// 1-based line number.
    pub number: usize,
    pub labels: Vec<Name>,
    pub body: Option<Body>,
}

/// If `name` is spelled like a register (`R` or `r` then decimal digits), its number, or
/// `Err(())` when the number is above 255.
pub(crate) fn register_number(name: &str) -> Option<Result<u8, ()>> {
    let digits = name.strip_prefix(['R', 'r'])?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    if significant.len() > 3 {
        return Some(Err(()));
    }
    Some(
        significant
            .parse::<u16>()
            .map_or(Ok(0), |n| u8::try_from(n).map_err(|_| ())),
    )
}

/// Tokens of one line plus the line text, for quoting what was found.
struct Parser<'a> {
    text: &'a str,
    toks: &'a [Token],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.kind)
    }

    fn peek_at(&self, ahead: usize) -> Option<&Tok> {
        self.toks.get(self.pos + ahead).map(|t| &t.kind)
    }

    /// Column of the current token, or just past the end of the last one.
    fn col(&self) -> usize {
        match self.toks.get(self.pos) {
            Some(t) => t.col,
            None => self
                .toks
                .last()
                .map_or(1, |t| t.col + self.text[t.span.clone()].chars().count()),
        }
    }

    /// How the current token looks, for "found ..." in messages.
    fn found(&self) -> String {
        match self.toks.get(self.pos) {
            None => "end of line".to_string(),
            Some(t) => match &t.kind {
                Tok::Str(_) => format!("string {}", shorten(&self.text[t.span.clone()])),
                _ => format!("'{}'", shorten(&self.text[t.span.clone()])),
            },
        }
    }

    fn error(&self, expected: &str) -> Diag {
        Diag {
            col: self.col(),
            message: format!("expected {expected}, found {}", self.found()),
        }
    }

    /// `[+|-] atom ((+|-) [+|-] atom)*`
    fn expr(&mut self) -> Result<Expr, Diag> {
        let start = self.pos;
        let mut terms = Vec::new();
        let mut neg = false;
        loop {
            let col = self.col();
            match self.peek() {
                Some(Tok::Minus) => {
                    neg = !neg;
                    self.pos += 1;
                }
                Some(Tok::Plus) => self.pos += 1,
                _ => {}
            }
            let atom = match self.peek() {
                Some(Tok::Num(v)) => Atom::Num(*v),
                Some(Tok::Ident(name)) => Atom::Name(name.clone()),
                _ => return Err(self.error("a number, name or character")),
            };
            self.pos += 1;
            terms.push(Term { neg, atom, col });
            match self.peek() {
                Some(Tok::Plus) => neg = false,
                Some(Tok::Minus) => neg = true,
                _ => break,
            }
            self.pos += 1;
        }
        let first = &self.toks[start];
        let last = &self.toks[self.pos - 1];
        Ok(Expr {
            terms,
            col: first.col,
            text: self.text[first.span.start..last.span.end].to_string(),
        })
    }

    /// A comma-separated list of strings and expressions, up to the end of the line.
    fn args(&mut self) -> Result<Vec<Arg>, Diag> {
        let mut args = Vec::new();
        if self.peek().is_none() {
            return Ok(args);
        }
        loop {
            match self.peek() {
                Some(Tok::Str(bytes)) => {
                    args.push(Arg::Str {
                        bytes: bytes.clone(),
                        col: self.col(),
                    });
                    self.pos += 1;
                }
                Some(Tok::Comma) | None => return Err(self.error("an operand")),
                _ => args.push(Arg::Expr(self.expr()?)),
            }
            match self.peek() {
                None => return Ok(args),
                Some(Tok::Comma) => self.pos += 1,
                Some(_) => return Err(self.error("',' or end of line")),
            }
        }
    }

    /// The rest of a constant definition after its name and separator.
    fn equ_value(&mut self) -> Result<Expr, Diag> {
        let e = self.expr()?;
        match self.peek() {
            None => Ok(e),
            Some(_) => Err(self.error("end of line after the constant's value")),
        }
    }
}

/// Parse one line's tokens. A line that fails to parse still yields its labels, and a
/// failed constant definition still yields its name, so one error does not cause others.
pub(crate) fn parse_line(number: usize, text: &str, toks: &[Token]) -> (Line, Option<Diag>) {
    let mut p = Parser { text, toks, pos: 0 };
    let mut line = Line {
        number,
        labels: Vec::new(),
        body: None,
    };
    while let (Some(Tok::Ident(name)), Some(Tok::Colon)) = (p.peek(), p.peek_at(1)) {
        line.labels.push(Name {
            text: name.clone(),
            col: p.col(),
        });
        p.pos += 2;
    }
    let Some(first) = p.peek().cloned() else {
        return (line, None);
    };
    let col = p.col();
    let Tok::Ident(word) = first else {
        let e = p.error("a mnemonic, directive or label");
        line.body = Some(Body::Invalid);
        return (line, Some(e));
    };
    p.pos += 1;
    let (body, err) = parse_body(&mut p, word, col);
    line.body = Some(body);
    (line, err)
}

fn parse_body(p: &mut Parser<'_>, word: String, col: usize) -> (Body, Option<Diag>) {
    // `NAME = expr`
    if p.peek() == Some(&Tok::Equals) {
        p.pos += 1;
        let name = Name { text: word, col };
        return equ_body(p, name, col);
    }
    if word.starts_with('.') {
        if word.eq_ignore_ascii_case(".equ") {
            return parse_equ(p, col);
        }
        let Some(dir) = DIRECTIVES
            .iter()
            .copied()
            .find(|d| d.name().eq_ignore_ascii_case(&word))
        else {
            let d = Diag {
                col,
                message: format!(
                    "unknown directive '{}' (expected .byte, .word, .string, .asciz, .zero, .align, .org or .equ)",
                    shorten(&word)
                ),
            };
            return (Body::Invalid, Some(d));
        };
        return match p.args() {
            Ok(args) => (Body::Data { dir, col, args }, None),
            Err(d) => (Body::Invalid, Some(d)),
        };
    }
    let Some(op) = Opcode::from_mnemonic(&word) else {
        let hint = if p.peek().is_none() {
            " (a label needs a ':' after it)"
        } else {
            ""
        };
        let d = Diag {
            col,
            message: format!("unknown mnemonic '{}'{hint}", shorten(&word)),
        };
        return (Body::Invalid, Some(d));
    };
    match p.args() {
        Ok(args) => (Body::Insn { op, col, args }, None),
        Err(d) => (Body::Invalid, Some(d)),
    }
}

/// `.equ NAME, expr` (the directive word already consumed).
fn parse_equ(p: &mut Parser<'_>, col: usize) -> (Body, Option<Diag>) {
    let Some(Tok::Ident(name)) = p.peek().cloned() else {
        let mut d = p.error("a constant name");
        d.message.push_str(" (.equ NAME, value)");
        return (Body::Invalid, Some(d));
    };
    let name = Name {
        text: name,
        col: p.col(),
    };
    p.pos += 1;
    if p.peek() != Some(&Tok::Comma) {
        let mut d = p.error("','");
        d.message.push_str(" (.equ NAME, value)");
        return (
            Body::Equ {
                name,
                col,
                value: None,
            },
            Some(d),
        );
    }
    p.pos += 1;
    equ_body(p, name, col)
}

/// The constant definition `name = <the expression at p>`: a value, or the error that
/// kept it from having one (the name is still defined, so uses of it do not cascade).
fn equ_body(p: &mut Parser<'_>, name: Name, col: usize) -> (Body, Option<Diag>) {
    let (value, diag) = match p.equ_value() {
        Ok(e) => (Some(e), None),
        Err(d) => (None, Some(d)),
    };
    (Body::Equ { name, col, value }, diag)
}

#[cfg(test)]
mod tests {
    use super::super::lexer::lex_line;
    use super::*;

    fn parse(text: &str) -> (Line, Option<Diag>) {
        parse_line(1, text, &lex_line(text).unwrap())
    }

    #[test]
    fn registers_are_recognised_by_spelling() {
        assert_eq!(register_number("R0"), Some(Ok(0)));
        assert_eq!(register_number("r7"), Some(Ok(7)));
        assert_eq!(register_number("R255"), Some(Ok(255)));
        assert_eq!(register_number("R007"), Some(Ok(7)));
        assert_eq!(register_number("R256"), Some(Err(())));
        assert_eq!(register_number("R99999999999999999999"), Some(Err(())));
        assert_eq!(register_number("R"), None);
        assert_eq!(register_number("R1x"), None);
        assert_eq!(register_number("START"), None);
    }

    #[test]
    fn labels_then_instruction() {
        let (line, err) = parse("A: B: IMM32 R1, X+4 - 'a'");
        assert!(err.is_none());
        assert_eq!(line.labels.len(), 2);
        let Some(Body::Insn { op, args, .. }) = line.body else {
            panic!("not an insn")
        };
        assert_eq!(op, Opcode::IMM32);
        assert_eq!(args.len(), 2);
        let Arg::Expr(e) = &args[1] else { panic!() };
        assert_eq!(e.text, "X+4 - 'a'");
        assert_eq!(e.terms.len(), 3);
        assert!(e.terms[2].neg);
    }

    #[test]
    fn unary_and_binary_minus_combine() {
        let (line, _) = parse(".word 5 - -3, -X");
        let Some(Body::Data { args, .. }) = line.body else {
            panic!()
        };
        let Arg::Expr(e) = &args[0] else { panic!() };
        assert!(!e.terms[0].neg && !e.terms[1].neg);
        let Arg::Expr(e) = &args[1] else { panic!() };
        assert!(e.terms[0].neg);
    }

    #[test]
    fn missing_comma_and_empty_operand_are_errors() {
        let (_, err) = parse("IMM32 R1 5");
        let err = err.unwrap();
        assert_eq!(err.col, 10);
        assert_eq!(err.message, "expected ',' or end of line, found '5'");
        let (_, err) = parse("ADD R1,,R2");
        assert_eq!(err.unwrap().message, "expected an operand, found ','");
        let (_, err) = parse("ADD R1, R2,");
        let err = err.unwrap();
        assert_eq!(err.message, "expected an operand, found end of line");
        assert_eq!(err.col, 12);
    }

    #[test]
    fn constants_both_forms() {
        let (line, err) = parse("X = 5");
        assert!(err.is_none());
        assert!(matches!(line.body, Some(Body::Equ { value: Some(_), .. })));
        let (line, err) = parse(".EQU Y, X+1");
        assert!(err.is_none());
        assert!(matches!(line.body, Some(Body::Equ { value: Some(_), .. })));
        let (line, err) = parse(".equ Y X");
        assert!(err.unwrap().message.contains("expected ','"));
        assert!(matches!(line.body, Some(Body::Equ { value: None, .. })));
    }
}
