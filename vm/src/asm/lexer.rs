//! The lexer: turns one source line into tokens (names, numbers, character and string
//! literals, punctuation), each carrying its 1-based character column and byte span, and
//! stops at a `;` comment. It owns the spelling of literals — number prefixes, character
//! and string escapes — and reports the first malformed token on a line as a [`Diag`].

use super::Diag;
use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    /// A name: `[A-Za-z_.][A-Za-z0-9_.]*` (mnemonic, register, directive, label, constant).
    Ident(String),
    /// A number or character literal, already evaluated (0..=0xFFFF_FFFF).
    Num(i64),
    /// A string literal's bytes, escapes resolved (UTF-8 for non-ASCII text).
    Str(Vec<u8>),
    Comma,
    Colon,
    Plus,
    Minus,
    Equals,
}

/// One token with its position in the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: Tok,
    /// 1-based column of the token's first character (characters, not bytes; a tab is one).
    pub col: usize,
    /// Byte range of the token's text in the line.
    pub span: Range<usize>,
}

/// The largest number literal accepted.
const MAX_LITERAL: u64 = 0xFFFF_FFFF;

/// A line's characters with their byte offsets, so columns and spans are both cheap.
struct Cursor<'a> {
    line: &'a str,
    chars: Vec<(usize, char)>,
}

impl Cursor<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).map(|&(_, c)| c)
    }

    fn byte(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.line.len(), |&(b, _)| b)
    }
}

fn diag(col: usize, message: impl Into<String>) -> Diag {
    Diag {
        col,
        message: message.into(),
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == '.'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Split `line` (without its line terminator) into tokens, stopping at a `;` comment.
pub(crate) fn lex_line(line: &str) -> Result<Vec<Token>, Diag> {
    let cur = Cursor {
        line,
        chars: line.char_indices().collect(),
    };
    let mut tokens = Vec::new();
    let mut i = 0;
    while let Some(c) = cur.at(i) {
        let start = i;
        let kind = match c {
            ';' => break,
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ',' | ':' | '+' | '-' | '=' => {
                i += 1;
                match c {
                    ',' => Tok::Comma,
                    ':' => Tok::Colon,
                    '+' => Tok::Plus,
                    '-' => Tok::Minus,
                    _ => Tok::Equals,
                }
            }
            c if is_ident_start(c) => {
                while cur.at(i).is_some_and(is_ident_char) {
                    i += 1;
                }
                Tok::Ident(line[cur.byte(start)..cur.byte(i)].to_string())
            }
            c if c.is_ascii_digit() => {
                while cur
                    .at(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                {
                    i += 1;
                }
                let text = &line[cur.byte(start)..cur.byte(i)];
                Tok::Num(parse_number(text).map_err(|m| diag(start + 1, m))?)
            }
            '\'' => {
                let (value, next) = lex_char(&cur, i)?;
                i = next;
                Tok::Num(value)
            }
            '"' => {
                let (bytes, next) = lex_string(&cur, i)?;
                i = next;
                Tok::Str(bytes)
            }
            other => {
                return Err(diag(
                    start + 1,
                    format!("unexpected character '{}'", other.escape_debug()),
                ));
            }
        };
        tokens.push(Token {
            kind,
            col: start + 1,
            span: cur.byte(start)..cur.byte(i),
        });
    }
    Ok(tokens)
}

/// Parse a number literal: decimal, `0x` hex or `0b` binary, at most `0xFFFFFFFF`.
fn parse_number(text: &str) -> Result<i64, String> {
    let lower = text.to_ascii_lowercase();
    let (digits, radix, kind) = if let Some(rest) = lower.strip_prefix("0x") {
        (rest, 16, "hex")
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (rest, 2, "binary")
    } else {
        (lower.as_str(), 10, "decimal")
    };
    let shown = super::shorten(text);
    if digits.is_empty() {
        return Err(format!(
            "invalid number '{shown}': no digits after the prefix"
        ));
    }
    if let Some(bad) = digits.chars().find(|c| !c.is_digit(radix)) {
        return Err(format!(
            "invalid number '{shown}': '{bad}' is not a {kind} digit"
        ));
    }
    // Leading zeros cannot overflow; strip them so long zero runs parse.
    let significant = digits.trim_start_matches('0');
    match u64::from_str_radix(
        if significant.is_empty() {
            "0"
        } else {
            significant
        },
        radix,
    ) {
        Ok(v) if v <= MAX_LITERAL => Ok(v as i64),
        _ => Err(format!(
            "number '{shown}' is too large (at most 0xFFFFFFFF)"
        )),
    }
}

/// Resolve the escape whose backslash is at char index `i`; returns the byte and the index
/// after the escape. `quote` names the literal kind for messages.
fn lex_escape(cur: &Cursor<'_>, i: usize) -> Result<(u8, usize), Diag> {
    let col = i + 1;
    let Some(c) = cur.at(i + 1) else {
        return Err(diag(col, "unfinished escape at end of line"));
    };
    let byte = match c {
        'n' => b'\n',
        't' => b'\t',
        'r' => b'\r',
        '0' => 0,
        '\\' => b'\\',
        '\'' => b'\'',
        '"' => b'"',
        'x' => {
            let hi = cur.at(i + 2).and_then(|c| c.to_digit(16));
            let lo = cur.at(i + 3).and_then(|c| c.to_digit(16));
            return match (hi, lo) {
                (Some(hi), Some(lo)) => Ok(((hi * 16 + lo) as u8, i + 4)),
                _ => Err(diag(col, "escape '\\x' needs two hex digits, e.g. '\\x1F'")),
            };
        }
        other => {
            return Err(diag(
                col,
                format!(
                    "unknown escape '\\{}' (expected \\n \\t \\r \\0 \\\\ \\' \\\" or \\xNN)",
                    other.escape_debug()
                ),
            ));
        }
    };
    Ok((byte, i + 2))
}

/// Lex a character literal whose opening quote is at char index `i`.
fn lex_char(cur: &Cursor<'_>, i: usize) -> Result<(i64, usize), Diag> {
    let col = i + 1;
    let (value, next) = match cur.at(i + 1) {
        None => return Err(diag(col, "unterminated character literal")),
        Some('\'') => return Err(diag(col, "empty character literal ''")),
        Some('\\') => lex_escape(cur, i + 1)?,
        Some(c) if c.is_ascii() => (c as u8, i + 2),
        Some(c) => {
            return Err(diag(
                col,
                format!(
                    "character literal '{}' is not ASCII; write its value as a number",
                    c.escape_debug()
                ),
            ));
        }
    };
    match cur.at(next) {
        Some('\'') => Ok((i64::from(value), next + 1)),
        None => Err(diag(col, "unterminated character literal")),
        Some(_) => Err(diag(
            col,
            "character literal holds more than one character (use \"...\" for text)",
        )),
    }
}

/// Lex a string literal whose opening quote is at char index `i`.
fn lex_string(cur: &Cursor<'_>, i: usize) -> Result<(Vec<u8>, usize), Diag> {
    let mut bytes = Vec::new();
    let mut j = i + 1;
    loop {
        match cur.at(j) {
            None => return Err(diag(i + 1, "unterminated string (missing closing '\"')")),
            Some('"') => return Ok((bytes, j + 1)),
            Some('\\') => {
                let (b, next) = lex_escape(cur, j)?;
                bytes.push(b);
                j = next;
            }
            Some(c) => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                j += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(line: &str) -> Vec<Tok> {
        lex_line(line)
            .unwrap()
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn numbers_in_every_base() {
        assert_eq!(
            kinds("42 0x1F 0X1f 0b101 0 0xFFFFFFFF 000000000000000000000007"),
            vec![
                Tok::Num(42),
                Tok::Num(31),
                Tok::Num(31),
                Tok::Num(5),
                Tok::Num(0),
                Tok::Num(0xFFFF_FFFF),
                Tok::Num(7)
            ]
        );
    }

    #[test]
    fn bad_numbers_are_located() {
        let e = lex_line("  12ab").unwrap_err();
        assert_eq!(e.col, 3);
        assert!(
            e.message.contains("'a' is not a decimal digit"),
            "{}",
            e.message
        );
        assert!(lex_line("0x").unwrap_err().message.contains("no digits"));
        assert!(
            lex_line("0x100000000")
                .unwrap_err()
                .message
                .contains("too large")
        );
        assert!(
            lex_line("99999999999999999999999")
                .unwrap_err()
                .message
                .contains("too large")
        );
    }

    #[test]
    fn char_literals_and_escapes() {
        assert_eq!(
            kinds(r"'A' '\n' '\\' '\'' '\0' ';' '\x41'"),
            vec![
                Tok::Num(65),
                Tok::Num(10),
                Tok::Num(92),
                Tok::Num(39),
                Tok::Num(0),
                Tok::Num(59),
                Tok::Num(65)
            ]
        );
        assert!(lex_line("''").unwrap_err().message.contains("empty"));
        assert!(
            lex_line("'ab'")
                .unwrap_err()
                .message
                .contains("more than one")
        );
        assert!(lex_line("'a").unwrap_err().message.contains("unterminated"));
        assert!(lex_line("'é'").unwrap_err().message.contains("not ASCII"));
    }

    #[test]
    fn strings_keep_semicolons_and_resolve_escapes() {
        assert_eq!(
            kinds(r#""a;b\t\x7f\"é" ; comment"#),
            vec![Tok::Str(b"a;b\t\x7f\"\xc3\xa9".to_vec())]
        );
        let e = lex_line(r#"  "abc"#).unwrap_err();
        assert_eq!(e.col, 3);
        assert!(e.message.contains("unterminated string"));
        let e = lex_line(r#""a\qb""#).unwrap_err();
        assert_eq!(e.col, 3);
        assert!(e.message.contains("unknown escape '\\q'"));
    }

    #[test]
    fn columns_count_characters() {
        let t = lex_line("é\tX:").unwrap_err();
        assert_eq!(t.col, 1);
        let toks = lex_line("\tLOOP: NOP ; done").unwrap();
        assert_eq!(toks.len(), 3);
        assert_eq!(toks[0].col, 2);
        assert_eq!(toks[1].kind, Tok::Colon);
        assert_eq!(toks[2].col, 8);
    }
}
