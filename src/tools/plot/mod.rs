//! Pictures of experiments and lineages: the fitness chart of one or more `pxos evolve
//! --log` files ([`log`] reads them, [`chart`] draws best / mean / held-out error, kernel
//! size and diversity per generation) and the lineage of a version store as a picture
//! ([`lineage`] collapses long chains of a plain tree and writes Graphviz; [`tree`] draws
//! it as a PNG). Drawing uses `plotters` into an RGB buffer with the DejaVu Sans font
//! compiled in ([`style`]): no system font is needed, and the same input gives the same
//! picture, byte for byte, on every machine.
//!
//! **Architecture Invariant:** like every tool, this module never uses the store: the CLI
//! turns a store's history into a plain [`lineage::Lineage`] (ids, parents, names,
//! statuses, marks) and passes it in. Pictures are returned as PNG bytes; writing them
//! is the caller's (through `util::userfile::write_output`, so nothing is half-written).

mod axis;
pub mod chart;
pub mod lineage;
pub mod log;
pub mod style;
pub mod text;
pub mod tree;

pub use chart::{ChartOptions, fitness_png};
pub use lineage::{Collapsed, Lineage, Mark, Version, VersionStatus};
pub use log::{Point, Run, read_log};
pub use tree::lineage_png;

use crate::util::userfile::FileError;

/// Why a picture could not be made. Each message names the file and says what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error(transparent)]
    File(#[from] FileError),
    /// A line that is not a generation of `pxos evolve --log`.
    #[error(
        "{path}: line {line} is not a line of a pxos evolve log ({reason}); `pxos evolve --log FILE` writes one"
    )]
    NotALog {
        path: String,
        line: u64,
        reason: String,
    },
    /// A log without a single generation.
    #[error(
        "{path} holds no generation: it is empty (an experiment logs a line after each generation)"
    )]
    Empty { path: String },
    /// Nothing to draw at all.
    #[error("nothing to draw: {0}")]
    Nothing(String),
    /// A picture beyond the size limits.
    #[error("{0}")]
    TooLarge(String),
    /// The drawing library failed (a bug, or a size it cannot handle).
    #[error("cannot draw the picture: {0}")]
    Draw(String),
}

impl PlotError {
    pub(crate) fn draw(e: impl std::fmt::Display) -> PlotError {
        PlotError::Draw(e.to_string())
    }
}
