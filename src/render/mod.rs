//! Rendering a run's output lines (a small drawing script) to a PNG picture.
//! (Being written: see the render issue work in progress.)

use std::path::Path;

/// Render `lines` (a run's `sysout`) as an 800x600 PNG at `path`.
pub fn render_png(lines: &[String], path: &Path) -> std::io::Result<()> {
    let _ = (lines, path);
    Err(std::io::Error::other("renderer not written yet"))
}
