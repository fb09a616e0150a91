//! The picture's frame around the kernel's drawing: a dark backdrop with a faint 50-pixel
//! grid (under every layer), and on top of every layer a title bar ("pxOS", the optional
//! title, the canvas size and counts), a console panel along the bottom showing the
//! latest console lines (numbered by output line, colored by kind), and a 1-pixel frame.
//! On a canvas smaller than [`MIN_CHROME_W`] x [`MIN_CHROME_H`] only the frame is drawn.

use super::canvas::Canvas;
use super::scene::{ConsoleLine, Scene};
use super::script::{ConsoleKind, Rgba};
use super::text::{self, CELL_H, CELL_W, Weight};

/// The backdrop under everything.
pub const BACKDROP: Rgba = [15, 17, 26, 255];
/// The grid lines drawn over the backdrop.
pub const GRID: Rgba = [22, 25, 37, 255];
const GRID_STEP: usize = 50;

const BAR: Rgba = [23, 26, 40, 255];
const PANEL: Rgba = [11, 13, 21, 245];
const RULE: Rgba = [50, 56, 82, 255];
const FRAME: Rgba = [62, 70, 102, 255];
const ACCENT: Rgba = [96, 196, 255, 255];
const BRIGHT: Rgba = [232, 236, 248, 255];
const MUTED: Rgba = [148, 156, 188, 255];
const DIM: Rgba = [92, 100, 130, 255];

/// Smallest canvas that gets a title bar and a console panel.
pub const MIN_CHROME_W: usize = 240;
pub const MIN_CHROME_H: usize = 160;

/// Height of the title bar.
pub const TITLE_H: usize = 28;
const MARGIN: i64 = 12;
const LINE_H: usize = CELL_H + 2;
const HEADER_H: usize = 26;
const PANEL_PAD: usize = 8;

/// Whether a canvas this size gets a title bar and console.
pub fn has_chrome(canvas: &Canvas) -> bool {
    canvas.width() >= MIN_CHROME_W && canvas.height() >= MIN_CHROME_H
}

/// The color of console text of `kind`.
pub fn kind_color(kind: ConsoleKind) -> Rgba {
    match kind {
        ConsoleKind::Print => [208, 214, 230, 255],
        ConsoleKind::Number => [122, 204, 255, 255],
        ConsoleKind::Warning => [246, 188, 84, 255],
        ConsoleKind::Error => [255, 108, 108, 255],
        ConsoleKind::SelfModify => [188, 154, 255, 255],
        ConsoleKind::Other => [140, 147, 168, 255],
    }
}

/// The faint grid (under every layer).
pub fn grid(canvas: &mut Canvas) {
    let (w, h) = (canvas.width() as i64, canvas.height() as i64);
    for x in (GRID_STEP..canvas.width()).step_by(GRID_STEP) {
        canvas.fill_rect(x as i64, 0, 1, h, GRID);
    }
    for y in (GRID_STEP..canvas.height()).step_by(GRID_STEP) {
        canvas.fill_rect(0, y as i64, w, 1, GRID);
    }
}

/// Title bar, console panel and frame (over every layer).
pub fn overlay(canvas: &mut Canvas, title: Option<&str>, scene: &Scene) {
    if has_chrome(canvas) {
        title_bar(canvas, title, scene);
        console(canvas, &scene.console);
    }
    let (w, h) = (canvas.width() as i64, canvas.height() as i64);
    canvas.outline(0, 0, w, h, FRAME);
}

/// `n` with thousands separators.
fn grouped(n: usize) -> String {
    crate::util::thousands(n as u64)
}

fn plural(n: usize, one: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {one}{s}", grouped(n))
}

fn title_bar(canvas: &mut Canvas, title: Option<&str>, scene: &Scene) {
    let w = canvas.width() as i64;
    canvas.fill_rect(0, 0, w, TITLE_H as i64 - 1, BAR);
    canvas.fill_rect(0, TITLE_H as i64 - 1, w, 1, RULE);
    let y = ((TITLE_H - CELL_H) / 2) as i64;
    canvas.fill_rect(MARGIN, y + 5, 6, 6, ACCENT);
    let mut x = MARGIN + 14;
    text::draw(canvas, x, y, "pxOS", BRIGHT, Weight::Bold);
    x += text::width("pxOS");

    // On the right the counts and size, or just the size, whichever fits.
    let size = format!("{}\u{d7}{}", canvas.width(), canvas.height());
    let full = format!(
        "{}  \u{b7}  {}  \u{b7}  {size}",
        plural(scene.rects, "rect"),
        plural(scene.texts, "text"),
    );
    let mut right = w - MARGIN;
    for stats in [full, size] {
        let stats_x = w - MARGIN - text::width(&stats);
        if stats_x >= x + 2 * CELL_W as i64 {
            text::draw(canvas, stats_x, y, &stats, DIM, Weight::Regular);
            right = stats_x;
            break;
        }
    }
    // The title between them, cut to fit, or left out if it cannot show 6 characters.
    const SEP: &str = "  \u{b7}  ";
    let Some(title) = title.filter(|t| !t.is_empty()) else {
        return;
    };
    let room = (right - x - text::width(SEP) - 3 * CELL_W as i64) / CELL_W as i64;
    if room >= 6 {
        text::draw(canvas, x, y, SEP, DIM, Weight::Regular);
        let shown = text::fit(title, room as usize);
        text::draw(
            canvas,
            x + text::width(SEP),
            y,
            &shown,
            MUTED,
            Weight::Regular,
        );
    }
}

fn console(canvas: &mut Canvas, lines: &[ConsoleLine]) {
    let (w, h) = (canvas.width() as i64, canvas.height());
    let max_rows = ((h * 2 / 5).saturating_sub(HEADER_H + PANEL_PAD) / LINE_H).max(1);
    let rows = lines.len().min(max_rows);
    let panel_h = HEADER_H + rows.max(1) * LINE_H + PANEL_PAD;
    let top = (h - panel_h) as i64;
    canvas.fill_rect(0, top, w, panel_h as i64, PANEL);
    canvas.fill_rect(0, top, w, 1, RULE);

    let header_y = top + 6;
    text::draw(canvas, MARGIN, header_y, "CONSOLE", MUTED, Weight::Bold);
    let note = if lines.len() > rows {
        format!("last {rows} of {} lines", grouped(lines.len()))
    } else {
        plural(lines.len(), "line")
    };
    text::draw(
        canvas,
        w - MARGIN - text::width(&note),
        header_y,
        &note,
        DIM,
        Weight::Regular,
    );

    let mut y = top + HEADER_H as i64;
    if lines.is_empty() {
        text::draw(canvas, MARGIN, y, "(no output)", DIM, Weight::Regular);
        return;
    }
    let shown = &lines[lines.len() - rows..];
    let widest = shown.iter().filter_map(|l| l.number).max().unwrap_or(0);
    let digits = widest.to_string().len().max(2);
    let rule_x = MARGIN + (digits * CELL_W) as i64 + 8;
    let text_x = rule_x + 10;
    let cells = ((w - MARGIN - text_x) / CELL_W as i64).max(0) as usize;
    canvas.fill_rect(rule_x, y, 1, (rows * LINE_H) as i64, RULE);
    for line in shown {
        let number = line.number.map_or(String::new(), |n| n.to_string());
        let number_x = rule_x - 8 - text::width(&number);
        text::draw(canvas, number_x, y, &number, DIM, Weight::Regular);
        let color = kind_color(line.kind);
        if matches!(
            line.kind,
            ConsoleKind::Warning | ConsoleKind::Error | ConsoleKind::SelfModify
        ) {
            canvas.fill_rect(rule_x - 1, y + 1, 3, LINE_H as i64 - 2, color);
        }
        let shown = text::fit(&line.text, cells);
        match shown.split_once(": ") {
            Some((prefix, rest)) if line.kind == ConsoleKind::Print && prefix == "PXVM" => {
                text::draw(canvas, text_x, y, "PXVM:", MUTED, Weight::Regular);
                let rest_x = text_x + text::width("PXVM: ");
                text::draw(canvas, rest_x, y, rest, color, Weight::Regular);
            }
            _ => text::draw(canvas, text_x, y, &shown, color, Weight::Regular),
        }
        y += LINE_H as i64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(plural(1, "rect"), "1 rect");
        assert_eq!(plural(1000, "rect"), "1,000 rects");
    }
}
