//! The pixel buffer: an opaque RGBA canvas with straight-alpha "source over" blending and
//! clipped rectangle fills. Coordinates are `i64`, so any `i32` position plus any `i32`
//! size is exact; every fill is clipped to the canvas first, so its cost is the visible
//! area only (an off-canvas rectangle costs nothing, whatever its size).

use super::script::Rgba;

/// An opaque RGBA picture being painted (every pixel's alpha stays 255).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Canvas {
    width: usize,
    height: usize,
    px: Vec<u8>,
}

/// The visible part of a rectangle: columns `x0..x1`, rows `y0..y1`, all on the canvas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clip {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Clip {
    /// The number of pixels inside.
    pub fn area(&self) -> u64 {
        ((self.x1 - self.x0) * (self.y1 - self.y0)) as u64
    }
}

/// `v / 255`, rounded, for `v` in `0..=255 * 255`.
#[inline]
fn div255(v: u32) -> u32 {
    let t = v + 128;
    (t + (t >> 8)) >> 8
}

/// Blend `src` with opacity `alpha` over the opaque pixel `dst`.
#[inline]
fn blend_into(dst: &mut [u8], src: Rgba, alpha: u32) {
    let inv = 255 - alpha;
    for c in 0..3 {
        dst[c] = div255(u32::from(src[c]) * alpha + u32::from(dst[c]) * inv) as u8;
    }
    dst[3] = 255;
}

impl Canvas {
    /// A `width` x `height` canvas filled with `background` (made opaque).
    pub fn new(width: usize, height: usize, background: Rgba) -> Canvas {
        let [r, g, b, _] = background;
        Canvas {
            width,
            height,
            px: [r, g, b, 255].repeat(width * height),
        }
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// The pixel at (x, y), if it is on the canvas.
    #[cfg(test)]
    pub fn pixel(&self, x: usize, y: usize) -> Option<Rgba> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y * self.width + x) * 4;
        Some([self.px[i], self.px[i + 1], self.px[i + 2], self.px[i + 3]])
    }

    /// The RGBA bytes, row by row.
    pub fn into_rgba(self) -> Vec<u8> {
        self.px
    }

    /// The visible part of the rectangle at (x, y) of size w x h; `None` if nothing of it
    /// is visible (also for a zero or negative size).
    pub fn clip(&self, x: i64, y: i64, w: i64, h: i64) -> Option<Clip> {
        if w <= 0 || h <= 0 {
            return None;
        }
        let span = |start: i64, len: i64, limit: usize| -> Option<(usize, usize)> {
            let limit = limit as i64;
            let lo = start.clamp(0, limit);
            let hi = start.saturating_add(len).clamp(0, limit);
            (lo < hi).then_some((lo as usize, hi as usize))
        };
        let (x0, x1) = span(x, w, self.width)?;
        let (y0, y1) = span(y, h, self.height)?;
        Some(Clip { x0, y0, x1, y1 })
    }

    /// Fill the visible part `clip` with `color`, blended by its alpha.
    pub fn fill(&mut self, clip: Clip, color: Rgba) {
        let alpha = u32::from(color[3]);
        if alpha == 0 {
            return;
        }
        let opaque = [color[0], color[1], color[2], 255];
        for y in clip.y0..clip.y1 {
            let row = (y * self.width + clip.x0) * 4..(y * self.width + clip.x1) * 4;
            let pixels = self.px[row].chunks_exact_mut(4);
            if alpha == 255 {
                pixels.for_each(|p| p.copy_from_slice(&opaque));
            } else {
                pixels.for_each(|p| blend_into(p, color, alpha));
            }
        }
    }

    /// Fill the rectangle at (x, y) of size w x h (clipped); returns the pixels touched.
    pub fn fill_rect(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgba) -> u64 {
        match self.clip(x, y, w, h) {
            Some(clip) => {
                self.fill(clip, color);
                clip.area()
            }
            None => 0,
        }
    }

    /// Blend `color` over the pixel at (x, y) with its alpha scaled by `coverage`
    /// (0 = untouched, 255 = the color's own alpha). Off-canvas pixels are ignored.
    pub fn blend(&mut self, x: i64, y: i64, color: Rgba, coverage: u8) {
        if x < 0 || y < 0 || x >= self.width as i64 || y >= self.height as i64 {
            return;
        }
        let alpha = div255(u32::from(color[3]) * u32::from(coverage));
        if alpha == 0 {
            return;
        }
        let i = (y as usize * self.width + x as usize) * 4;
        blend_into(&mut self.px[i..i + 4], color, alpha);
    }

    /// A 1-pixel outline just inside the rectangle at (x, y) of size w x h.
    pub fn outline(&mut self, x: i64, y: i64, w: i64, h: i64, color: Rgba) {
        if w <= 0 || h <= 0 {
            return;
        }
        self.fill_rect(x, y, w, 1, color);
        if h > 1 {
            self.fill_rect(x, y + h - 1, w, 1, color);
        }
        if h > 2 {
            self.fill_rect(x, y + 1, 1, h - 2, color);
            if w > 1 {
                self.fill_rect(x + w - 1, y + 1, 1, h - 2, color);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BG: Rgba = [10, 20, 30, 255];

    #[test]
    fn div255_is_exact_rounding() {
        for v in 0..=255 * 255 {
            assert_eq!(div255(v), (v + 127) / 255, "{v}");
        }
    }

    #[test]
    fn opaque_fill_inside_and_outside() {
        let mut c = Canvas::new(20, 10, BG);
        assert_eq!(c.fill_rect(2, 3, 4, 5, [200, 100, 50, 255]), 20);
        assert_eq!(c.pixel(2, 3), Some([200, 100, 50, 255]));
        assert_eq!(c.pixel(5, 7), Some([200, 100, 50, 255]));
        for (x, y) in [(1, 3), (6, 3), (2, 2), (2, 8)] {
            assert_eq!(c.pixel(x, y), Some(BG), "({x},{y})");
        }
    }

    #[test]
    fn half_alpha_blends_and_zero_alpha_does_nothing() {
        let mut c = Canvas::new(4, 4, [0, 0, 0, 255]);
        c.fill_rect(0, 0, 2, 2, [255, 100, 0, 128]);
        assert_eq!(c.pixel(0, 0), Some([128, 50, 0, 255]));
        c.fill_rect(0, 0, 4, 4, [255, 255, 255, 0]);
        assert_eq!(c.pixel(0, 0), Some([128, 50, 0, 255]));
        assert_eq!(c.pixel(3, 3), Some([0, 0, 0, 255]));
        c.blend(3, 3, [255, 255, 255, 255], 255);
        assert_eq!(c.pixel(3, 3), Some([255, 255, 255, 255]));
        c.blend(-1, 3, [255, 255, 255, 255], 255);
        c.blend(4, 3, [255, 255, 255, 255], 255);
    }

    #[test]
    fn clipping_extremes() {
        let c = Canvas::new(800, 600, BG);
        let (min, max) = (i64::from(i32::MIN), i64::from(i32::MAX));
        assert_eq!(
            c.clip(min, min, max, max),
            None,
            "ends at -1, just off-canvas"
        );
        assert_eq!(
            c.clip(min, min, max * 2, max * 2),
            Some(Clip {
                x0: 0,
                y0: 0,
                x1: 800,
                y1: 600
            })
        );
        assert_eq!(
            c.clip(-5, 590, 10, max),
            Some(Clip {
                x0: 0,
                y0: 590,
                x1: 5,
                y1: 600
            })
        );
        assert_eq!(c.clip(max, max, max, max), None);
        assert_eq!(c.clip(800, 0, 1, 1), None);
        assert_eq!(c.clip(0, 0, 0, 10), None);
        assert_eq!(c.clip(0, 0, -10, 10), None);
        assert_eq!(c.clip(i64::MAX, i64::MAX, i64::MAX, i64::MAX), None);
    }

    #[test]
    fn outline_draws_only_the_border() {
        let mut c = Canvas::new(5, 5, BG);
        c.outline(0, 0, 5, 5, [255, 255, 255, 255]);
        assert_eq!(c.pixel(0, 0), Some([255; 4]));
        assert_eq!(c.pixel(4, 2), Some([255; 4]));
        assert_eq!(c.pixel(2, 4), Some([255; 4]));
        assert_eq!(c.pixel(2, 2), Some(BG));
    }
}
