//! Text of the pictures: DejaVu Sans (regular and bold, compiled in) laid out with
//! `ab_glyph` — advances, kerning and each glyph's own bearings — and blended into the RGB
//! buffer after `plotters` has drawn the shapes. (`plotters`' own text drawing drops the
//! glyphs' side bearings, which spaces letters unevenly, so every visible text is drawn
//! here: a picture collects [`Text`]s while it draws, then [`draw_all`] renders them.)

use super::PlotError;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use plotters::style::RGBColor;
use std::sync::OnceLock;

/// How a text sits on its anchor's x.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// One line of text: `x` by `align`, `y` the top of its line.
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    pub x: i32,
    pub y: i32,
    pub text: String,
    pub size: f32,
    pub color: RGBColor,
    pub bold: bool,
    pub align: Align,
}

impl Text {
    /// Left-aligned text with its top at (x, y).
    pub fn new(x: i32, y: i32, text: impl Into<String>, size: f32, color: RGBColor) -> Text {
        Text {
            x,
            y,
            text: text.into(),
            size,
            color,
            bold: false,
            align: Align::Left,
        }
    }

    pub fn bold(mut self) -> Text {
        self.bold = true;
        self
    }

    pub fn align(mut self, align: Align) -> Text {
        self.align = align;
        self
    }
}

/// The two faces, parsed once.
fn face(bold: bool) -> Result<&'static FontRef<'static>, PlotError> {
    static FACES: OnceLock<Option<(FontRef<'static>, FontRef<'static>)>> = OnceLock::new();
    let faces = FACES.get_or_init(|| {
        let regular = FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
        let bold = FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
        Some((regular, bold))
    });
    match faces {
        Some((r, b)) => Ok(if bold { b } else { r }),
        None => Err(PlotError::Draw(
            "the compiled-in DejaVu Sans font does not parse".to_string(),
        )),
    }
}

/// The width of `text` in pixels.
pub fn width(text: &str, size: f32, bold: bool) -> i32 {
    let Ok(font) = face(bold) else {
        return 0;
    };
    let font = font.as_scaled(PxScale::from(size));
    let mut w: f32 = 0.0;
    let mut prev = None;
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            w += font.kern(p, id);
        }
        w += font.h_advance(id);
        prev = Some(id);
    }
    w.ceil() as i32
}

/// `text` shortened with `…` (at its start if `keep_end`, else at its end) until it is at
/// most `max` pixels wide.
pub fn fit(text: &str, size: f32, bold: bool, max: i32, keep_end: bool) -> String {
    if width(text, size, bold) <= max {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for cut in 1..chars.len() {
        let t: String = if keep_end {
            std::iter::once('…')
                .chain(chars[cut..].iter().copied())
                .collect()
        } else {
            chars[..chars.len() - cut]
                .iter()
                .copied()
                .chain(std::iter::once('…'))
                .collect()
        };
        if width(&t, size, bold) <= max {
            return t;
        }
    }
    "…".to_string()
}

/// Blend `t` into the `w` x `h` RGB buffer `rgb`.
pub fn draw(rgb: &mut [u8], w: u32, h: u32, t: &Text) -> Result<(), PlotError> {
    let font = face(t.bold)?;
    let scale = PxScale::from(t.size);
    let scaled = font.as_scaled(scale);
    let x0 = match t.align {
        Align::Left => t.x,
        Align::Center => t.x - width(&t.text, t.size, t.bold) / 2,
        Align::Right => t.x - width(&t.text, t.size, t.bold),
    };
    let baseline = t.y as f32 + scaled.ascent();
    let mut caret = x0 as f32;
    let mut prev = None;
    for c in t.text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        prev = Some(id);
        let glyph = id.with_scale_and_position(scale, point(caret, baseline));
        caret += scaled.h_advance(id);
        let Some(outline) = font.outline_glyph(glyph) else {
            continue;
        };
        let bounds = outline.px_bounds();
        outline.draw(|gx, gy, coverage| {
            let x = bounds.min.x as i64 + i64::from(gx);
            let y = bounds.min.y as i64 + i64::from(gy);
            if x < 0 || y < 0 || x >= i64::from(w) || y >= i64::from(h) {
                return;
            }
            let i = ((y as usize) * w as usize + x as usize) * 3;
            let a = coverage.clamp(0.0, 1.0);
            for (k, c) in [t.color.0, t.color.1, t.color.2].into_iter().enumerate() {
                let old = f32::from(rgb[i + k]);
                rgb[i + k] = (old + (f32::from(c) - old) * a).round() as u8;
            }
        });
    }
    Ok(())
}

/// Draw every text of `texts`, in order.
pub fn draw_all(rgb: &mut [u8], w: u32, h: u32, texts: &[Text]) -> Result<(), PlotError> {
    for t in texts {
        draw(rgb, w, h, t)?;
    }
    Ok(())
}
