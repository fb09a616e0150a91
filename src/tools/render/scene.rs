//! From parsed commands to a scene, and painting it. A [`Scene`] sorts the drawing
//! commands into their layers (keeping their order within a layer) and collects the
//! console lines; [`Scene::paint`] then paints the layers bottom first onto one canvas.
//! Painting layer by layer onto one buffer gives the same picture as compositing
//! separately painted layers ("source over" is associative), with one canvas of memory.
//! The work is bounded: each command costs its visible area only, and once
//! [`PIXEL_BUDGET`] pixels have been painted, further commands are skipped (and counted),
//! so a hostile script of a million full-canvas rectangles still renders quickly.

use super::canvas::Canvas;
pub use super::script::Draw;
use super::script::{Command, ConsoleKind, Layer};
use super::text::{self, Weight};

/// The most pixels one render paints for the script's commands (about 700 full 800x600
/// canvases).
pub const PIXEL_BUDGET: u64 = 1 << 28;

/// A line of the console panel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleLine {
    /// Its 1-based line number in the output, or `None` for the renderer's own notes.
    pub number: Option<usize>,
    pub kind: ConsoleKind,
    pub text: String,
}

/// Everything to draw, sorted into layers, plus the console.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scene {
    /// The drawing commands of each layer, bottom layer first, in script order.
    pub layers: [Vec<Draw>; 4],
    /// Every console line, in order.
    pub console: Vec<ConsoleLine>,
    /// How many RECT and TEXT commands the script has.
    pub rects: usize,
    pub texts: usize,
}

impl Scene {
    /// Sort `commands` (as parsed from the output lines, in order) into a scene.
    /// `Canvas` commands are the caller's business and are skipped here.
    pub fn new(commands: Vec<Command>) -> Scene {
        let mut scene = Scene::default();
        let mut layer = Layer::DEFAULT;
        for (i, command) in commands.into_iter().enumerate() {
            let draw = match command {
                Command::Canvas { .. } => continue,
                Command::Select(l) => {
                    layer = l;
                    continue;
                }
                Command::Console { kind, text } => {
                    scene.console.push(ConsoleLine {
                        number: Some(i + 1),
                        kind,
                        text,
                    });
                    continue;
                }
                Command::Draw(draw) => {
                    match draw {
                        Draw::Rect { .. } => scene.rects += 1,
                        Draw::Text { .. } => scene.texts += 1,
                    }
                    draw
                }
            };
            scene.layers[layer.index()].push(draw);
        }
        scene
    }

    /// Paint every layer, bottom first, within `budget` pixels; returns how many commands
    /// were skipped for lack of budget.
    pub fn paint(&self, canvas: &mut Canvas, budget: u64) -> usize {
        let mut left = budget;
        let mut skipped = 0;
        for draw in self.layers.iter().flatten() {
            let (x, y) = match draw {
                Draw::Rect { x, y, .. } | Draw::Text { x, y, .. } => (i64::from(*x), i64::from(*y)),
            };
            let (w, h) = match draw {
                Draw::Rect { w, h, .. } => (i64::from(*w), i64::from(*h)),
                Draw::Text { text, .. } => (text::width(text), text::CELL_H as i64),
            };
            let Some(clip) = canvas.clip(x, y, w, h) else {
                continue;
            };
            if clip.area() > left {
                skipped += 1;
                continue;
            }
            left -= clip.area();
            match draw {
                Draw::Rect { color, .. } => canvas.fill(clip, *color),
                Draw::Text { color, text, .. } => {
                    text::draw(canvas, x, y, text, *color, Weight::Regular)
                }
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::render::script::{Rgba, parse};

    const BG: Rgba = [0, 0, 0, 255];
    const RED: Rgba = [255, 0, 0, 255];
    const BLUE: Rgba = [0, 0, 255, 255];

    fn paint(lines: &[&str]) -> Canvas {
        let mut c = Canvas::new(40, 40, BG);
        assert_eq!(Scene::new(parse(lines)).paint(&mut c, PIXEL_BUDGET), 0);
        c
    }

    #[test]
    fn layers_sort_and_keep_order() {
        let s = Scene::new(parse(&[
            "RECT 0 0 1 1 1 1 1 1",
            "SELECT overlay",
            "RECT 0 0 2 2 2 2 2 2",
            "PRINT PXVM: hi",
            "SELECT background",
            "TEXT 0 0 3 3 3 3 x",
            "SELECT nowhere",
            "RECT 0 0 4 4 4 4 4 4",
        ]));
        assert_eq!(s.layers[Layer::Background.index()].len(), 3);
        assert_eq!(s.layers[Layer::Overlay.index()].len(), 1);
        assert_eq!((s.rects, s.texts), (3, 1));
        assert_eq!(s.console.len(), 2, "PRINT and the bad SELECT");
        assert_eq!(s.console[0].number, Some(4));
        assert!(matches!(s.layers[0][2], Draw::Rect { w: 4, .. }));
    }

    #[test]
    fn later_background_draws_under_ui() {
        let c = paint(&[
            "SELECT ui",
            "RECT 0 0 10 10 255 0 0 255",
            "SELECT background",
            "RECT 0 0 20 20 0 0 255 255",
        ]);
        assert_eq!(c.pixel(5, 5), Some(RED));
        assert_eq!(c.pixel(15, 15), Some(BLUE));
        assert_eq!(c.pixel(25, 25), Some(BG));
    }

    #[test]
    fn every_layer_in_order() {
        let c = paint(&[
            "SELECT overlay",
            "RECT 0 0 1 1 4 4 4 255",
            "SELECT vm",
            "RECT 0 0 2 2 3 3 3 255",
            "SELECT ui",
            "RECT 0 0 3 3 2 2 2 255",
            "SELECT background",
            "RECT 0 0 4 4 1 1 1 255",
        ]);
        for (i, v) in [4, 3, 2, 1].into_iter().enumerate() {
            assert_eq!(c.pixel(i, i), Some([v, v, v, 255]), "pixel {i}");
        }
    }

    #[test]
    fn unselected_drawing_is_on_the_bottom_layer() {
        let c = paint(&[
            "RECT 0 0 10 10 255 0 0 255",
            "SELECT ui",
            "RECT 5 5 10 10 0 0 255 255",
        ]);
        assert_eq!(c.pixel(7, 7), Some(BLUE));
    }

    #[test]
    fn hostile_rects_run_fast_and_clip() {
        let min = i32::MIN;
        let max = i32::MAX;
        let mut lines = vec![
            format!("RECT {min} {min} {max} {max} 255 0 0 255"),
            format!("RECT {max} {max} {max} {max} 255 0 0 255"),
            format!("RECT {min} 0 {max} {max} 255 0 0 255"),
            format!("RECT 0 {min} {max} {max} 255 0 0 255"),
            format!("RECT -1000000000 -1000000000 {max} {max} 0 0 255 255"),
            format!("RECT 30 30 {min} {min} 255 0 0 255"),
            format!("TEXT {min} {min} 255 0 0 255 off"),
            format!("TEXT {max} 0 255 0 0 255 off"),
        ];
        // Many rectangles just off the canvas, each with a huge area.
        lines.extend(std::iter::repeat_n(
            format!("RECT -2000000000 0 1999999999 {max} 255 0 0 255"),
            100_000,
        ));
        let mut c = Canvas::new(40, 40, BG);
        Scene::new(parse(&lines)).paint(&mut c, PIXEL_BUDGET);
        for (x, y) in [(0, 0), (39, 39), (20, 3)] {
            assert_eq!(c.pixel(x, y), Some(BLUE), "({x},{y})");
        }
    }

    #[test]
    fn the_budget_skips_what_does_not_fit() {
        let lines = vec!["RECT 0 0 40 40 255 0 0 255"; 10];
        let mut c = Canvas::new(40, 40, BG);
        let skipped = Scene::new(parse(&lines)).paint(&mut c, 3 * 1600 + 5);
        assert_eq!(skipped, 7);
        assert_eq!(c.pixel(0, 0), Some(RED));
    }
}
