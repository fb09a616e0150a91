//! Rendering a run's output lines (`sysout`, a small drawing script) to a picture.
//!
//! The script: an optional first line `CANVAS W H` sets the size (default 800x600, each
//! side 1..=[`MAX_CANVAS`]); `RECT x y w h r g b a` fills a rectangle and
//! `TEXT x y r g b a <text>` writes text (top-left of the first 7x16 character cell at
//! (x, y)), both alpha-blended over what is below and clipped to the canvas (a zero or
//! negative size draws nothing); `SELECT <layer>` sends later drawing to one of the layers,
//! composited bottom to top as background, ui, vm, overlay. Drawing before any `SELECT`
//! goes to the background layer, so it never covers drawing on a selected layer. Every
//! other line — PRINT messages, PRINT_INT numbers, `# WARNING`/`# ERROR`/`# SELF_MODIFY`
//! lines, and unknown or malformed lines — is console text, never an error.
//!
//! The picture: a dark backdrop with a faint grid under the layers; over them a title bar
//! ("pxOS", an optional title, the canvas size and counts), a console panel along the
//! bottom with the latest console lines (warnings amber, errors red, SELF_MODIFY violet,
//! numbers blue), and a 1-pixel frame. Rendering is deterministic, takes time bounded by
//! the visible area (a budget of 2^28 pixels) and memory bounded by the canvas and
//! the input.
//!
//! Internals (private): `script` parses lines, `scene` sorts them into layers and paints
//! them, `canvas` holds pixels, `text` draws the bitmap font, `chrome` draws the frame. The
//! API is this module's functions ([`render`], [`render_png`], ...) and [`RenderOptions`].

mod canvas;
mod chrome;
mod scene;
mod script;
mod text;

use canvas::Canvas;
use scene::Scene;
use script::Command;
use std::io;
use std::path::Path;

/// The canvas size when the script has no `CANVAS` line.
pub const DEFAULT_WIDTH: u32 = 800;
pub const DEFAULT_HEIGHT: u32 = 600;
/// The largest canvas side a `CANVAS` line may ask for.
pub const MAX_CANVAS: u32 = 4096;

/// Why a script cannot be rendered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RenderError {
    /// A `CANVAS` line asked for a size outside 1..=MAX_CANVAS.
    #[error("CANVAS {width} {height}: each side must be 1..={MAX_CANVAS} pixels")]
    BadCanvas { width: i64, height: i64 },
}

impl From<RenderError> for io::Error {
    fn from(err: RenderError) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidInput, err)
    }
}

/// How to render, beyond the script itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Shown in the title bar after "pxOS" (e.g. the kernel's file name).
    pub title: Option<String>,
}

/// A rendered picture: opaque RGBA pixels, row by row.
#[derive(Clone, PartialEq, Eq)]
pub struct Image {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Image({}x{})", self.width, self.height)
    }
}

impl Image {
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The RGBA bytes, row by row (`4 * width * height` bytes).
    pub fn rgba(&self) -> &[u8] {
        &self.rgba
    }

    /// The pixel at (x, y), if it is in the picture.
    pub fn pixel(&self, x: u32, y: u32) -> Option<[u8; 4]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 4;
        self.rgba[i..i + 4].try_into().ok()
    }
}

/// Render `lines` with default options.
pub fn render<S: AsRef<str>>(lines: &[S]) -> Result<Image, RenderError> {
    render_with(lines, &RenderOptions::default())
}

/// Render `lines` with `options`.
pub fn render_with<S: AsRef<str>>(
    lines: &[S],
    options: &RenderOptions,
) -> Result<Image, RenderError> {
    let commands = script::parse(lines);
    let (width, height) = match commands.first() {
        Some(&Command::Canvas { width, height }) => {
            let ok = |v: i64| (1..=i64::from(MAX_CANVAS)).contains(&v);
            if !ok(width) || !ok(height) {
                return Err(RenderError::BadCanvas { width, height });
            }
            (width as usize, height as usize)
        }
        _ => (DEFAULT_WIDTH as usize, DEFAULT_HEIGHT as usize),
    };
    let mut scene = Scene::new(commands);
    let mut canvas = Canvas::new(width, height, chrome::BACKDROP);
    chrome::grid(&mut canvas);
    let skipped = scene.paint(&mut canvas, scene::PIXEL_BUDGET);
    if skipped > 0 {
        scene.console.push(scene::ConsoleLine {
            number: None,
            kind: script::ConsoleKind::Warning,
            text: format!("render: pixel budget spent; {skipped} drawing commands skipped"),
        });
    }
    chrome::overlay(&mut canvas, options.title.as_deref(), &scene);
    Ok(Image {
        width: width as u32,
        height: height as u32,
        rgba: canvas.into_rgba(),
    })
}

/// `image` as PNG file bytes (8-bit RGBA).
pub fn encode_png(image: &Image) -> io::Result<Vec<u8>> {
    encode_rgba_png(image.width, image.height, &image.rgba)
}

/// `width` × `height` RGBA pixels, row by row, as PNG file bytes (8-bit RGBA); also for
/// pictures composed from several renders (`pxos ab --png`).
pub fn encode_rgba_png(width: u32, height: u32, rgba: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header().map_err(io::Error::other)?;
    writer.write_image_data(rgba).map_err(io::Error::other)?;
    writer.finish().map_err(io::Error::other)?;
    Ok(out)
}

/// Render `lines` (a run's `sysout`) as a PNG at `path` (800x600 unless the first line is
/// `CANVAS W H`).
pub fn render_png(lines: &[String], path: &Path) -> io::Result<()> {
    render_png_with(lines, path, &RenderOptions::default())
}

/// Render `lines` with `options` as a PNG at `path`, a user-named output (see
/// [`crate::util::userfile::write_output`]): a regular file is replaced atomically, so a failed
/// render or write leaves whatever was there before; a symbolic link is followed, a device
/// or FIFO written through, a folder refused.
pub fn render_png_with<S: AsRef<str>>(
    lines: &[S],
    path: &Path,
    options: &RenderOptions,
) -> io::Result<()> {
    let image = render_with(lines, options)?;
    let bytes = encode_png(&image)?;
    crate::util::userfile::write_output(path, &bytes).map_err(io::Error::other)
}

#[cfg(test)]
mod tests;
