//! The lineage picture (`pxos versions tree --png`): a [`Collapsed`] lineage drawn as
//! `git log --graph` draws history — one node per row, a chain continuing down its column,
//! each branch hanging off it one column to the right (the heaviest child, the one with
//! the largest subtree, continues the column; the others are drawn first, as in
//! `pxos versions tree`). Boxes are coloured by status, collapsed chains dashed, the
//! current version framed in blue and tagged, a promoted one starred; a header holds the
//! title, a summary and the key. Branches nest at most log2(n) columns deep, so the picture
//! is as wide as its longest label and as tall as its number of nodes.

use super::PlotError;
use super::lineage::{Collapsed, NodeKind, VersionStatus, colors};
use super::style::{self, INK, MUTED, PAPER};
use super::text::{self, Text};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// At most this many rows (collapsed nodes) are drawn; `--dot` has no limit.
pub const MAX_ROWS: usize = 2_000;

const MARGIN: i32 = 24;
const HEADER_H: i32 = 112;
const ROW_H: i32 = 34;
const BOX_H: i32 = 26;
const INDENT: i32 = 30;
/// The column's line runs this far right of its boxes' left edge.
const TRUNK: i32 = 14;
const PAD: i32 = 10;
const MIN_WIDTH: i32 = 820;
/// The widest label drawn, in pixels (longer ones are shortened).
const MAX_LABEL_W: i32 = 900;

const EDGE: RGBColor = RGBColor(158, 158, 158);
const CURRENT: RGBColor = RGBColor(21, 101, 192);
const PROMOTED: RGBColor = RGBColor(184, 134, 11);

fn hex(c: &str) -> RGBColor {
    let v = u32::from_str_radix(c.trim_start_matches('#'), 16).unwrap_or(0);
    RGBColor((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

/// Where each node goes: (row, column), rows counting blank rows between separate trees.
fn layout(c: &Collapsed) -> (Vec<(i32, i32)>, i32) {
    let n = c.nodes.len();
    let mut size = vec![1usize; n];
    // Parents come before their children in `nodes`: backwards is a post-order.
    for i in (0..n).rev() {
        if let Some(p) = c.nodes[i].parent {
            size[p] += size[i];
        }
    }
    let mut place = vec![(0, 0); n];
    let mut row = 0;
    for (k, &root) in c.roots.iter().enumerate() {
        if k > 0 {
            row += 1;
        }
        let mut stack = vec![(root, 0)];
        while let Some((node, col)) = stack.pop() {
            place[node] = (row, col);
            row += 1;
            let kids = &c.nodes[node].children;
            let Some(&heavy) = kids.iter().max_by_key(|&&k| (size[k], k)) else {
                continue;
            };
            stack.push((heavy, col));
            for &k in kids.iter().rev().filter(|&&k| k != heavy) {
                stack.push((k, col + 1));
            }
        }
    }
    (place, row)
}

/// One node's texts, measured.
struct Label {
    title: String,
    detail: String,
    tags: Vec<(String, RGBColor)>,
    title_w: i32,
    box_w: i32,
}

fn label(c: &Collapsed, n: usize) -> Label {
    let title = text::fit(&c.title(n), 14.0, true, MAX_LABEL_W, false);
    let detail = c.detail(n);
    let title_w = text::width(&title, 14.0, true);
    let box_w = PAD + title_w + 10 + text::width(&detail, 13.0, false) + PAD;
    let mark = c.mark(n);
    let mut tags = Vec::new();
    if mark.current {
        tags.push(("◀ current".to_string(), CURRENT));
    }
    if mark.promoted {
        tags.push(("★ promoted".to_string(), PROMOTED));
    }
    Label {
        title,
        detail,
        tags,
        title_w,
        box_w,
    }
}

fn x_of(col: i32) -> i32 {
    MARGIN + col * INDENT
}

fn y_of(row: i32) -> i32 {
    MARGIN + HEADER_H + row * ROW_H + ROW_H / 2
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn line(
    area: &Area,
    points: Vec<(i32, i32)>,
    color: RGBColor,
    width: u32,
) -> Result<(), PlotError> {
    area.draw(&PathElement::new(
        points,
        ShapeStyle::from(color).stroke_width(width),
    ))
    .map_err(PlotError::draw)
}

/// A box at (x, y) (top left) of `w` x `h`: filled, with a border (dashed, or `thick`).
fn framed(
    area: &Area,
    (x, y, w, h): (i32, i32, i32, i32),
    fill: RGBColor,
    border: RGBColor,
    dashed: bool,
    thick: i32,
) -> Result<(), PlotError> {
    let err = PlotError::draw;
    area.draw(&Rectangle::new([(x, y), (x + w, y + h)], fill.filled()))
        .map_err(err)?;
    if dashed {
        let corners = vec![(x, y), (x + w, y), (x + w, y + h), (x, y + h), (x, y)];
        return area
            .draw(&DashedPathElement::new(
                corners,
                5,
                3,
                ShapeStyle::from(border),
            ))
            .map_err(err);
    }
    for k in 0..thick.max(1) {
        area.draw(&Rectangle::new(
            [(x - k, y - k), (x + w + k, y + h + k)],
            ShapeStyle::from(border),
        ))
        .map_err(err)?;
    }
    Ok(())
}

/// The header: title, summary and the key of colours and marks.
fn header(
    area: &Area,
    c: &Collapsed,
    title: &str,
    width: i32,
    texts: &mut Vec<Text>,
) -> Result<(), PlotError> {
    let room = width - 2 * MARGIN;
    texts.push(
        Text::new(
            MARGIN,
            MARGIN,
            text::fit(title, 20.0, true, room, false),
            20.0,
            INK,
        )
        .bold(),
    );
    let chains = c
        .nodes
        .iter()
        .filter(|n| matches!(n.kind, NodeKind::Chain { .. }))
        .count();
    let summary = format!(
        "{} versions in {} boxes; {} chain(s) of {}+ plain versions collapsed (… = the versions between)",
        crate::util::thousands(c.versions() as u64),
        crate::util::thousands(c.nodes.len() as u64),
        chains,
        super::lineage::MIN_CHAIN
    );
    texts.push(Text::new(
        MARGIN,
        MARGIN + 32,
        text::fit(&summary, 13.0, false, room, false),
        13.0,
        MUTED,
    ));
    let mut x = MARGIN;
    let y = MARGIN + 62;
    let mut key = |x: &mut i32, name: &str| {
        texts.push(Text::new(*x + 30, y, name, 13.0, INK));
        *x += 30 + text::width(name, 13.0, false) + 22;
    };
    for (name, status) in [
        ("good", Some(VersionStatus::Good)),
        ("probation", Some(VersionStatus::Probation)),
        ("bad", Some(VersionStatus::Bad)),
        ("missing", Some(VersionStatus::Missing)),
        ("collapsed chain", None),
    ] {
        let (fill, border) = colors(status);
        framed(
            area,
            (x, y, 22, 16),
            hex(fill),
            hex(border),
            status.is_none(),
            1,
        )?;
        key(&mut x, name);
    }
    framed(area, (x, y, 22, 16), PAPER, CURRENT, false, 3)?;
    key(&mut x, "current");
    texts.push(Text::new(x, y, "★ promoted", 13.0, PROMOTED).bold());
    Ok(())
}

/// Draw `c` under `title` as PNG file bytes.
pub fn lineage_png(c: &Collapsed, title: &str) -> Result<Vec<u8>, PlotError> {
    if c.nodes.is_empty() {
        return Err(PlotError::Nothing("the store has no versions".to_string()));
    }
    let (place, rows) = layout(c);
    if rows as usize > MAX_ROWS {
        return Err(PlotError::TooLarge(format!(
            "the lineage has {} boxes even with its chains collapsed, more than the {} a picture holds; use --dot",
            crate::util::thousands(c.nodes.len() as u64),
            crate::util::thousands(MAX_ROWS as u64)
        )));
    }
    style::fonts()?;
    let labels: Vec<Label> = (0..c.nodes.len()).map(|n| label(c, n)).collect();
    let right = labels
        .iter()
        .zip(&place)
        .map(|(l, &(_, col))| {
            let tags: i32 = l
                .tags
                .iter()
                .map(|(t, _)| 12 + text::width(t, 13.0, true))
                .sum();
            x_of(col) + l.box_w + tags
        })
        .max()
        .unwrap_or(0);
    let width = (right + MARGIN).max(MIN_WIDTH);
    let height = MARGIN + HEADER_H + rows * ROW_H + MARGIN;
    let (w, h) = (width as u32, height as u32);
    let mut buf = style::buffer(w, h, "the lineage picture")?;
    let mut texts = Vec::new();
    {
        let area = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        area.fill(&PAPER).map_err(PlotError::draw)?;
        header(&area, c, title, width, &mut texts)?;
        // Edges first, boxes over them.
        for (n, node) in c.nodes.iter().enumerate() {
            let Some(p) = node.parent else {
                continue;
            };
            let ((pr, pc), (nr, nc)) = (place[p], place[n]);
            let trunk = x_of(pc) + TRUNK;
            let from = y_of(pr) + BOX_H / 2;
            if nc == pc {
                line(
                    &area,
                    vec![(trunk, from), (trunk, y_of(nr) - BOX_H / 2)],
                    EDGE,
                    2,
                )?;
            } else {
                line(
                    &area,
                    vec![(trunk, from), (trunk, y_of(nr)), (x_of(nc), y_of(nr))],
                    EDGE,
                    2,
                )?;
            }
        }
        for (n, l) in labels.iter().enumerate() {
            let (row, col) = place[n];
            let (x, y) = (x_of(col), y_of(row) - BOX_H / 2);
            let status = c.status(n);
            let (fill, border) = colors(status);
            let current = c.mark(n).current;
            let border = if current { CURRENT } else { hex(border) };
            framed(
                &area,
                (x, y, l.box_w, BOX_H),
                hex(fill),
                border,
                status.is_none(),
                if current { 3 } else { 1 },
            )?;
            let ink = if status.is_none() { MUTED } else { INK };
            texts.push(Text::new(x + PAD, y + 6, l.title.clone(), 14.0, ink).bold());
            texts.push(Text::new(
                x + PAD + l.title_w + 10,
                y + 7,
                l.detail.clone(),
                13.0,
                MUTED,
            ));
            let mut tx = x + l.box_w + 12;
            for (tag, color) in &l.tags {
                texts.push(Text::new(tx, y + 7, tag.clone(), 13.0, *color).bold());
                tx += text::width(tag, 13.0, true) + 12;
            }
        }
        area.present().map_err(PlotError::draw)?;
    }
    text::draw_all(&mut buf, w, h, &texts)?;
    style::png(w, h, &buf)
}
