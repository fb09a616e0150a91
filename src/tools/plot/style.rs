//! What every picture of [`super`] shares: the fonts (DejaVu Sans, compiled in and
//! registered with `plotters` once, so no system font is ever looked up), the colours
//! (public, so tests can find a curve's pixels) and the RGB buffer → PNG step.

use super::PlotError;
use plotters::style::{FontStyle, RGBColor};
use std::sync::OnceLock;

/// The font family every text of the pictures uses (registered by [`fonts`]).
pub const FONT: &str = "sans-serif";

/// Register DejaVu Sans (regular and bold) under [`FONT`], once per process.
pub fn fonts() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the compiled-in DejaVu Sans font does not parse".to_string())?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "the compiled-in DejaVu Sans Bold font does not parse".to_string())
        })
        .clone()
        .map_err(PlotError::Draw)
}

/// Ten distinguishable colours (Tableau 10), one per run when several logs share a chart.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// One run's chart: the best error's curve.
pub const BEST: RGBColor = PALETTE[0];
/// One run's chart: the mean error's curve.
pub const MEAN: RGBColor = PALETTE[1];
/// One run's chart: the held-out (test-case) error's curve.
pub const HELD_OUT: RGBColor = PALETTE[2];
/// One run's chart: the best kernel's size.
pub const SIZE: RGBColor = PALETTE[4];
/// One run's chart: diversity.
pub const DIVERSITY: RGBColor = PALETTE[5];

/// Text.
pub const INK: RGBColor = RGBColor(33, 33, 33);
/// Secondary text (subtitles, axis descriptions).
pub const MUTED: RGBColor = RGBColor(97, 97, 97);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(230, 230, 230);
/// Background.
pub const PAPER: RGBColor = RGBColor(255, 255, 255);

/// `c` mixed with white: `amount` 0 keeps `c`, 1 gives white.
pub fn lighter(c: RGBColor, amount: f64) -> RGBColor {
    let mix = |v: u8| (f64::from(v) + (255.0 - f64::from(v)) * amount).round() as u8;
    RGBColor(mix(c.0), mix(c.1), mix(c.2))
}

/// The largest picture drawn, in pixels (width x height), about 190 MB of RGB.
pub const MAX_PIXELS: u64 = 64 << 20;

/// A white RGB buffer of `width` x `height`, refused beyond [`MAX_PIXELS`].
pub fn buffer(width: u32, height: u32, what: &str) -> Result<Vec<u8>, PlotError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > MAX_PIXELS {
        return Err(PlotError::TooLarge(format!(
            "{what} would be {width}x{height} pixels, more than the {} pixels pxos draws",
            crate::util::thousands(MAX_PIXELS)
        )));
    }
    Ok(vec![255; pixels as usize * 3])
}

/// An RGB buffer as PNG file bytes.
pub fn png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>, PlotError> {
    let rgba: Vec<u8> = rgb
        .chunks_exact(3)
        .flat_map(|p| [p[0], p[1], p[2], 255])
        .collect();
    crate::tools::render::encode_rgba_png(width, height, &rgba).map_err(PlotError::draw)
}
