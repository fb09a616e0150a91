//! Text in a monospaced bitmap font: Noto Sans Mono, pre-rasterized at a 16-pixel line
//! height with 8-bit coverage (the `noto-sans-mono-bitmap` crate, compiled in — no system
//! fonts, nothing loaded at run time). Every character takes one 7x16 cell; characters the
//! font lacks are drawn as U+FFFD, control characters as spaces. Text is clipped to the
//! canvas cell by cell, so a string far off the canvas costs only its length.

use super::canvas::Canvas;
use super::script::Rgba;
use noto_sans_mono_bitmap::{FontWeight, RasterHeight, get_raster, get_raster_width};

const SIZE: RasterHeight = RasterHeight::Size16;

/// The width of one character cell, in pixels.
pub const CELL_W: usize = get_raster_width(FontWeight::Regular, SIZE);
/// The height of one character cell (the line height), in pixels.
pub const CELL_H: usize = SIZE.val();

const _: () = assert!(get_raster_width(FontWeight::Bold, SIZE) == CELL_W);

/// The font weights available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Weight {
    Regular,
    Bold,
}

impl Weight {
    fn font(self) -> FontWeight {
        match self {
            Weight::Regular => FontWeight::Regular,
            Weight::Bold => FontWeight::Bold,
        }
    }
}

/// The width in pixels of `text` (one cell per character).
pub fn width(text: &str) -> i64 {
    text.chars().count() as i64 * CELL_W as i64
}

/// `text` cut to at most `cells` characters, ending in `...` when something was cut.
pub fn fit(text: &str, cells: usize) -> String {
    if text.chars().count() <= cells {
        return text.to_string();
    }
    let keep = cells.saturating_sub(3);
    let mut out: String = text.chars().take(keep).collect();
    out.extend(std::iter::repeat_n('.', cells - keep));
    out
}

/// Draw `text` with the top-left corner of its first cell at (x, y), in `color` (its alpha
/// scales the glyphs' coverage).
pub fn draw(canvas: &mut Canvas, x: i64, y: i64, text: &str, color: Rgba, weight: Weight) {
    let (w, h) = (canvas.width() as i64, canvas.height() as i64);
    if y >= h || y + CELL_H as i64 <= 0 || x >= w || color[3] == 0 {
        return;
    }
    // Skip the cells left of the canvas without walking them one by one.
    let skip = if x < 0 {
        ((-x) / CELL_W as i64) as usize
    } else {
        0
    };
    let mut gx = x + (skip * CELL_W) as i64;
    for c in text.chars().skip(skip) {
        if gx >= w {
            break;
        }
        draw_char(canvas, gx, y, c, color, weight);
        gx += CELL_W as i64;
    }
}

fn draw_char(canvas: &mut Canvas, x: i64, y: i64, c: char, color: Rgba, weight: Weight) {
    if c.is_whitespace() || c.is_control() {
        return;
    }
    let font = weight.font();
    let Some(glyph) = get_raster(c, font, SIZE).or_else(|| get_raster('\u{fffd}', font, SIZE))
    else {
        return;
    };
    for (row, pixels) in glyph.rows().enumerate() {
        for (col, &coverage) in pixels.iter().enumerate() {
            if coverage != 0 {
                // Stems are rasterized at 250..=254; stretch a little so they come out
                // solid, in exactly the text's color.
                let coverage = coverage.saturating_add(coverage / 32);
                canvas.blend(x + col as i64, y + row as i64, color, coverage);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BG: Rgba = [0, 0, 0, 255];

    fn inked(c: &Canvas, x0: usize, y0: usize, x1: usize, y1: usize) -> Vec<Rgba> {
        let mut out = Vec::new();
        for y in y0..y1 {
            for x in x0..x1 {
                let p = c.pixel(x, y).unwrap();
                if p != BG {
                    out.push(p);
                }
            }
        }
        out
    }

    #[test]
    fn cell_size() {
        assert_eq!((CELL_W, CELL_H), (7, 16));
        assert_eq!(width("abc"), 21);
    }

    #[test]
    fn draws_inside_its_cells_in_its_color() {
        let mut c = Canvas::new(100, 50, BG);
        draw(&mut c, 10, 20, "Hi", [0, 255, 0, 255], Weight::Regular);
        let ink = inked(&c, 10, 20, 10 + 2 * CELL_W, 20 + CELL_H);
        assert!(ink.len() > 10, "{} inked pixels", ink.len());
        assert!(ink.iter().all(|p| p[0] == 0 && p[2] == 0 && p[1] > 0));
        assert!(ink.contains(&[0, 255, 0, 255]), "some pixel fully covered");
        let total = inked(&c, 0, 0, 100, 50).len();
        assert_eq!(total, ink.len(), "nothing outside the cells");
    }

    #[test]
    fn spaces_and_transparent_text_draw_nothing() {
        let mut c = Canvas::new(50, 20, BG);
        draw(&mut c, 0, 0, " \t\n", [255; 4], Weight::Bold);
        draw(&mut c, 0, 0, "XYZ", [255, 255, 255, 0], Weight::Regular);
        assert!(inked(&c, 0, 0, 50, 20).is_empty());
    }

    #[test]
    fn unknown_characters_still_draw() {
        let mut c = Canvas::new(20, 20, BG);
        draw(&mut c, 0, 0, "\u{4e16}", [255; 4], Weight::Regular);
        assert!(!inked(&c, 0, 0, 20, 20).is_empty());
    }

    #[test]
    fn clipped_at_every_edge() {
        let mut c = Canvas::new(30, 30, BG);
        let long = "W".repeat(100_000);
        for (x, y) in [
            (-100, 5),
            (25, 5),
            (5, -10),
            (5, 25),
            (i64::from(i32::MIN), 0),
            (i64::from(i32::MAX), 0),
            (0, i64::from(i32::MIN)),
        ] {
            draw(&mut c, x, y, &long, [255; 4], Weight::Regular);
        }
        assert!(!inked(&c, 0, 0, 30, 30).is_empty());
    }

    #[test]
    fn fit_cuts_with_dots() {
        assert_eq!(fit("hello", 5), "hello");
        assert_eq!(fit("hello world", 8), "hello...");
        assert_eq!(fit("hello", 2), "..");
    }
}
