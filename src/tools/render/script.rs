//! Parsing a run's output lines into typed drawing commands. Every line parses to
//! something: a well-formed `CANVAS` (first line only), `SELECT`, `RECT` or `TEXT` line
//! becomes a drawing command, and everything else — PRINT lines, PRINT_INT numbers,
//! `# WARNING`/`# ERROR`/`# SELF_MODIFY` lines, unknown and malformed lines — becomes a
//! console line with a [`ConsoleKind`] that decides its color. Parsing never fails; only a
//! `CANVAS` line with numbers outside `1..=MAX_CANVAS` is rejected later, by the renderer.

/// An RGBA color, straight (not premultiplied) alpha.
pub type Rgba = [u8; 4];

/// A drawing command, as parsed and as kept on a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Draw {
    /// `RECT x y w h r g b a`: a filled rectangle with its top-left corner at (x, y).
    Rect {
        x: i32,
        y: i32,
        w: i32,
        h: i32,
        color: Rgba,
    },
    /// `TEXT x y r g b a <text>`: text with the top-left of its first cell at (x, y).
    Text {
        x: i32,
        y: i32,
        color: Rgba,
        text: String,
    },
}

/// The drawing layers, in compositing order (bottom first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    Background,
    Ui,
    Vm,
    Overlay,
}

impl Layer {
    /// The layer drawing commands go to before the first `SELECT`: the bottom one, so
    /// that unselected drawing never covers drawing on a selected layer.
    pub const DEFAULT: Layer = Layer::Background;

    /// The layer called `name` in a `SELECT` line.
    pub fn from_name(name: &str) -> Option<Layer> {
        Some(match name {
            "background" => Layer::Background,
            "ui" => Layer::Ui,
            "vm" => Layer::Vm,
            "overlay" => Layer::Overlay,
            _ => return None,
        })
    }

    /// Position in compositing order (0 = bottom).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a console line is, which decides how it is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConsoleKind {
    /// A PRINT line with a known message (`PRINT PXVM: ...`).
    Print,
    /// A PRINT_INT line (a signed decimal number).
    Number,
    /// `# WARNING ...` or `PRINT [vm warn] ...`.
    Warning,
    /// `# ERROR ...` or `# SELF_MODIFY ERROR ...`.
    Error,
    /// `# SELF_MODIFY: ...`.
    SelfModify,
    /// Anything else: unknown or malformed lines, shown as they are.
    Other,
}

/// One parsed output line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `CANVAS W H` as the first line: the picture's size (not yet range-checked).
    Canvas { width: i64, height: i64 },
    /// `SELECT <layer>`: later drawing goes to `layer`.
    Select(Layer),
    /// `RECT` or `TEXT`: something to draw on the current layer.
    Draw(Draw),
    /// A line for the console.
    Console { kind: ConsoleKind, text: String },
}

/// Parse every line; `lines[0]` may be a `CANVAS` line.
pub fn parse<S: AsRef<str>>(lines: &[S]) -> Vec<Command> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| parse_line(line.as_ref(), i == 0))
        .collect()
}

/// Parse one line; `first` says whether a `CANVAS` line is allowed here.
pub fn parse_line(line: &str, first: bool) -> Command {
    let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
    let parsed = match word {
        "CANVAS" if first => parse_canvas(rest),
        "SELECT" => Layer::from_name(rest).map(Command::Select),
        "RECT" => parse_rect(rest),
        "TEXT" => parse_text(rest),
        _ => None,
    };
    parsed.unwrap_or_else(|| console(line))
}

fn parse_canvas(rest: &str) -> Option<Command> {
    let [width, height] = numbers::<i64, 2>(rest)?;
    Some(Command::Canvas { width, height })
}

fn parse_rect(rest: &str) -> Option<Command> {
    let mut fields = rest.split(' ');
    let [x, y, w, h] = take::<i32, 4>(&mut fields)?;
    let color = take::<u8, 4>(&mut fields)?;
    if fields.next().is_some() {
        return None;
    }
    Some(Command::Draw(Draw::Rect { x, y, w, h, color }))
}

fn parse_text(rest: &str) -> Option<Command> {
    // Six numbers, then the text: everything after the next single space, as it is.
    let mut fields = rest.splitn(7, ' ');
    let [x, y] = take::<i32, 2>(&mut fields)?;
    let color = take::<u8, 4>(&mut fields)?;
    let text = fields.next().unwrap_or("").to_string();
    Some(Command::Draw(Draw::Text { x, y, color, text }))
}

/// Exactly `N` space-separated numbers.
fn numbers<T: std::str::FromStr, const N: usize>(s: &str) -> Option<[T; N]> {
    let mut fields = s.split(' ');
    let out = take(&mut fields)?;
    fields.next().is_none().then_some(out)
}

/// The next `N` fields as numbers (plain decimal, optional `-`).
fn take<'a, T: std::str::FromStr, const N: usize>(
    fields: &mut impl Iterator<Item = &'a str>,
) -> Option<[T; N]> {
    let mut out: [Option<T>; N] = std::array::from_fn(|_| None);
    for slot in &mut out {
        let field = fields.next()?;
        if field.starts_with('+') {
            return None;
        }
        *slot = Some(field.parse().ok()?);
    }
    Some(out.map(|v| v.expect("every slot filled above")))
}

/// Classify a line that is not a drawing command, and choose the text to show for it.
fn console(line: &str) -> Command {
    let (kind, text) = if let Some(msg) = line.strip_prefix("PRINT [vm warn] ") {
        (ConsoleKind::Warning, format!("[vm warn] {msg}"))
    } else if let Some(msg) = line.strip_prefix("PRINT ") {
        (ConsoleKind::Print, msg.to_string())
    } else if let Some(msg) = line.strip_prefix("# SELF_MODIFY ERROR") {
        (ConsoleKind::Error, format!("SELF_MODIFY ERROR{msg}"))
    } else if let Some(msg) = line.strip_prefix("# SELF_MODIFY") {
        (ConsoleKind::SelfModify, format!("SELF_MODIFY{msg}"))
    } else if let Some(msg) = line.strip_prefix("# WARNING") {
        (ConsoleKind::Warning, format!("WARNING{msg}"))
    } else if let Some(msg) = line.strip_prefix("# ERROR") {
        (ConsoleKind::Error, format!("ERROR{msg}"))
    } else if is_decimal(line) {
        (ConsoleKind::Number, line.to_string())
    } else {
        (ConsoleKind::Other, line.to_string())
    };
    Command::Console { kind, text }
}

fn is_decimal(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Command {
        parse_line(line, false)
    }

    fn kind(line: &str) -> (ConsoleKind, String) {
        match one(line) {
            Command::Console { kind, text } => (kind, text),
            other => panic!("{line:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn drawing_commands() {
        assert_eq!(
            one("RECT 50 50 100 100 40 40 100 255"),
            Command::Draw(Draw::Rect {
                x: 50,
                y: 50,
                w: 100,
                h: 100,
                color: [40, 40, 100, 255]
            })
        );
        assert_eq!(
            one("RECT -2147483648 2147483647 -5 0 0 0 0 0"),
            Command::Draw(Draw::Rect {
                x: i32::MIN,
                y: i32::MAX,
                w: -5,
                h: 0,
                color: [0; 4]
            })
        );
        assert_eq!(
            one("TEXT 10 -20 255 255 255 255 PXVM  ready. "),
            Command::Draw(Draw::Text {
                x: 10,
                y: -20,
                color: [255; 4],
                text: "PXVM  ready. ".into()
            })
        );
        assert_eq!(
            one("TEXT 1 2 3 4 5 6"),
            Command::Draw(Draw::Text {
                x: 1,
                y: 2,
                color: [3, 4, 5, 6],
                text: String::new()
            })
        );
        for (name, layer) in [
            ("background", Layer::Background),
            ("ui", Layer::Ui),
            ("vm", Layer::Vm),
            ("overlay", Layer::Overlay),
        ] {
            assert_eq!(one(&format!("SELECT {name}")), Command::Select(layer));
        }
    }

    #[test]
    fn canvas_only_on_the_first_line() {
        let cmds = parse(&["CANVAS 800 600", "CANVAS 10 10"]);
        assert_eq!(
            cmds[0],
            Command::Canvas {
                width: 800,
                height: 600
            }
        );
        assert_eq!(kind("CANVAS 10 10").0, ConsoleKind::Other);
        assert!(matches!(&cmds[1], Command::Console { .. }));
        // Out-of-range numbers still parse (the renderer rejects them clearly).
        assert_eq!(
            parse_line("CANVAS 99999 -1", true),
            Command::Canvas {
                width: 99999,
                height: -1
            }
        );
        assert!(matches!(
            parse_line("CANVAS 800", true),
            Command::Console { .. }
        ));
    }

    #[test]
    fn console_lines_are_classified() {
        assert_eq!(
            kind("PRINT PXVM: PXVM booting..."),
            (ConsoleKind::Print, "PXVM: PXVM booting...".into())
        );
        assert_eq!(
            kind("PRINT [vm warn] unknown message_id 9"),
            (
                ConsoleKind::Warning,
                "[vm warn] unknown message_id 9".into()
            )
        );
        assert_eq!(kind("-2147483648").0, ConsoleKind::Number);
        assert_eq!(kind("55").0, ConsoleKind::Number);
        assert_eq!(
            kind("# WARNING: unknown opcode 0xFF"),
            (ConsoleKind::Warning, "WARNING: unknown opcode 0xFF".into())
        );
        assert_eq!(
            kind("# ERROR at PC=65536: RuntimeError: PC out of bounds: 65536").0,
            ConsoleKind::Error
        );
        assert_eq!(
            kind("# SELF_MODIFY: New kernel loaded (65 bytes)").0,
            ConsoleKind::SelfModify
        );
        assert_eq!(
            kind("# SELF_MODIFY ERROR: Cannot load build/kernel_v2.bin").0,
            ConsoleKind::Error
        );
    }

    #[test]
    fn malformed_lines_are_console_text() {
        for line in [
            "",
            " ",
            "RECT",
            "RECT 1 2 3 4 5 6 7",
            "RECT 1 2 3 4 5 6 7 8 9",
            "RECT 1 2 3 4 256 0 0 0",
            "RECT 1 2 3 4 -1 0 0 0",
            "RECT 2147483648 0 1 1 0 0 0 0",
            "RECT 1  2 3 4 5 6 7 8",
            "RECT +1 2 3 4 5 6 7 8",
            "RECT a b c d e f g h",
            "TEXT 1 2 3 4 5",
            "TEXT 1 2 3 4 5 x hello",
            "SELECT",
            "SELECT nowhere",
            "SELECT ui ",
            "rect 1 2 3 4 5 6 7 8",
            "hello world",
            "\u{0}\u{7f}\u{fffd}",
            "1.5",
            "--3",
        ] {
            match one(line) {
                Command::Console { text, .. } => assert_eq!(text, line),
                other => panic!("{line:?} parsed as {other:?}"),
            }
        }
    }
}
