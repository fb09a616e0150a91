//! The fitness chart of one or more runs (`pxos plot`, `pxos evolve --plot`): three panels
//! over the generations — error (best, mean and, when logged, held-out), the best
//! kernel's size, and diversity — a title with a summary, and a legend column. With one
//! run each series has its own colour ([`style::BEST`], [`style::MEAN`], ...); with several,
//! each run has a colour of [`style::PALETTE`] (named after its file in the legend) and the
//! series differ by line: best thick, mean thin and light, held-out dashed. The error
//! panel switches to a symlog scale when errors spread over more than two decades.
//! A run of many generations is thinned to the extremes of each pixel column before
//! drawing, so the time and the picture do not grow with its length.

use super::PlotError;
use super::axis::{Axis, label};
use super::log::{Point, Run};
use super::style::{self, GRID, INK, MUTED, PAPER};
use super::text::{self, Align, Text};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// The chart's size and title.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartOptions {
    pub width: u32,
    pub height: u32,
    /// The title; `None`: "Evolution of NAME" (or "Evolution: N runs").
    pub title: Option<String>,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 1200,
            height: 900,
            title: None,
        }
    }
}

/// The smallest and largest chart sizes.
pub const MIN_SIZE: (u32, u32) = (480, 360);
pub const MAX_SIZE: (u32, u32) = (8000, 8000);
/// At most this many runs on one chart (the palette repeats after ten).
pub const MAX_RUNS: usize = 40;

/// The height of the title band and the width of the legend column, in pixels.
const TITLE_H: u32 = 70;
const LEGEND_W: u32 = 250;

/// How one series is drawn.
#[derive(Clone, Copy)]
struct Line {
    color: RGBColor,
    width: u32,
    dashed: bool,
}

/// The lines of run `i` of `n`: best, mean, held-out, size, diversity.
fn lines(i: usize, n: usize) -> [Line; 5] {
    let solid = |color, width| Line {
        color,
        width,
        dashed: false,
    };
    if n == 1 {
        return [
            solid(style::BEST, 3),
            solid(style::MEAN, 2),
            Line {
                color: style::HELD_OUT,
                width: 3,
                dashed: true,
            },
            solid(style::SIZE, 2),
            solid(style::DIVERSITY, 2),
        ];
    }
    let c = style::PALETTE[i % style::PALETTE.len()];
    [
        solid(c, 3),
        solid(style::lighter(c, 0.55), 2),
        Line {
            color: c,
            width: 2,
            dashed: true,
        },
        solid(c, 2),
        solid(c, 2),
    ]
}

/// The series of one run as runs of consecutive drawable points (a missing value breaks
/// the curve), thinned to at most about `columns` x 2 points.
fn segments(
    points: &[Point],
    value: fn(&Point) -> Option<f64>,
    columns: usize,
) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut open = false;
    for p in points {
        match value(p) {
            Some(v) => {
                let xy = (p.generation as f64, v);
                match out.last_mut() {
                    Some(seg) if open => seg.push(xy),
                    _ => out.push(vec![xy]),
                }
                open = true;
            }
            None => open = false,
        }
    }
    out.into_iter().map(|s| thin(s, columns)).collect()
}

/// `points` thinned to the first, the smallest and the largest value of each of
/// `columns` buckets (in order), when there are more than 4 x `columns`.
fn thin(points: Vec<(f64, f64)>, columns: usize) -> Vec<(f64, f64)> {
    let columns = columns.max(1);
    if points.len() <= 4 * columns {
        return points;
    }
    let per = points.len().div_ceil(columns);
    let mut out = Vec::with_capacity(3 * columns + 1);
    for chunk in points.chunks(per) {
        let lo = chunk.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1));
        let hi = chunk.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1));
        let (Some(lo), Some(hi)) = (lo, hi) else {
            continue;
        };
        out.push(chunk[0]);
        let (a, b) = if lo.0 <= hi.0 { (lo, hi) } else { (hi, lo) };
        out.extend([a, b]);
    }
    if let Some(&last) = points.last() {
        out.push(last);
    }
    out
}

/// One series' value at a point.
type Value = fn(&Point) -> Option<f64>;

fn best(p: &Point) -> Option<f64> {
    p.best_error
}
fn mean(p: &Point) -> Option<f64> {
    p.mean_error
}
fn held_out(p: &Point) -> Option<f64> {
    p.test_error
}
fn size(p: &Point) -> Option<f64> {
    p.size
}
fn diversity(p: &Point) -> Option<f64> {
    p.diversity
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// `text` at `area`'s (x, y).
fn at(area: &Area, x: i32, y: i32, text: impl Into<String>, size: f32, color: RGBColor) -> Text {
    let (bx, by) = area.get_base_pixel();
    Text::new(bx + x, by + y, text, size, color)
}

/// A short legend sample of `line` at (x, y), 36 pixels long.
fn sample(area: &Area, x: i32, y: i32, line: Line) -> Result<(), PlotError> {
    let style = ShapeStyle::from(line.color).stroke_width(line.width);
    if line.dashed {
        area.draw(&DashedPathElement::new(
            vec![(x, y), (x + 36, y)],
            7,
            4,
            style,
        ))
    } else {
        area.draw(&PathElement::new(vec![(x, y), (x + 36, y)], style))
    }
    .map_err(PlotError::draw)
}

/// One panel: its title, axes and the given series of every run.
#[allow(clippy::too_many_arguments)]
fn panel(
    area: &Area,
    title: &str,
    x: Axis,
    y: Axis,
    runs: &[Run],
    series: &[(usize, Value)],
    x_desc: bool,
    texts: &mut Vec<Text>,
) -> Result<(), PlotError> {
    texts.push(at(area, 64, 6, title, 15.0, INK).bold());
    let mut chart = ChartBuilder::on(area)
        .margin_top(30)
        .margin_right(20)
        .margin_bottom(6)
        .x_label_area_size(if x_desc { 48 } else { 26 })
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(PlotError::draw)?;
    let (x_ticks, y_ticks) = (10, if y.log { 12 } else { 6 });
    let none = |_: &f64| String::new();
    chart
        .configure_mesh()
        .x_labels(x_ticks)
        .y_labels(y_ticks)
        .x_label_formatter(&none)
        .y_label_formatter(&none)
        .bold_line_style(GRID)
        .light_line_style(PAPER)
        .axis_style(MUTED)
        .draw()
        .map_err(PlotError::draw)?;
    // The tick labels, where the mesh put its lines.
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    for v in x.ticks(x_ticks) {
        let px = x.map(&v, (xs.start, xs.end - 1));
        texts.push(Text::new(px, ys.end + 7, label(v), 13.0, MUTED).align(Align::Center));
    }
    for v in y.ticks(y_ticks) {
        let py = y.map(&v, (ys.end - 1, ys.start));
        texts.push(Text::new(xs.start - 9, py - 8, label(v), 13.0, MUTED).align(Align::Right));
    }
    if x_desc {
        let mid = (xs.start + xs.end) / 2;
        texts.push(Text::new(mid, ys.end + 27, "generation", 14.0, MUTED).align(Align::Center));
    }
    let columns = area.dim_in_pixel().0 as usize;
    for (i, run) in runs.iter().enumerate() {
        let styles = lines(i, runs.len());
        for &(which, value) in series {
            let line = styles[which];
            let style = ShapeStyle::from(line.color).stroke_width(line.width);
            for seg in segments(&run.points, value, columns) {
                if seg.len() == 1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(seg[0], 3, style.filled())))
                        .map_err(PlotError::draw)?;
                } else if line.dashed {
                    chart
                        .draw_series(DashedLineSeries::new(seg, 9, 5, style))
                        .map_err(PlotError::draw)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(seg, style))
                        .map_err(PlotError::draw)?;
                }
            }
        }
    }
    Ok(())
}

/// The last value of a series in a run.
fn last(run: &Run, value: Value) -> Option<(u64, f64)> {
    run.points
        .iter()
        .rev()
        .find_map(|p| value(p).map(|v| (p.generation, v)))
}

/// The legend column: the run (one) or the runs' colours (several), the line styles, and
/// for one run its last values.
fn legend(area: &Area, runs: &[Run], held: bool, texts: &mut Vec<Text>) -> Result<(), PlotError> {
    let width = area.dim_in_pixel().0 as i32 - 24;
    let mut y = 34;
    let names: [(&str, usize); 5] = [
        ("best error", 0),
        ("mean error", 1),
        ("held-out error", 2),
        ("kernel size", 3),
        ("diversity", 4),
    ];
    if runs.len() == 1 {
        let run = &runs[0];
        texts.push(at(area, 8, y, "Run", 15.0, INK).bold());
        y += 24;
        texts.push(at(
            area,
            8,
            y,
            text::fit(&run.name, 14.0, false, width, true),
            14.0,
            INK,
        ));
        y += 36;
        texts.push(at(area, 8, y, "Lines", 15.0, INK).bold());
        y += 26;
        let styles = lines(0, 1);
        for (name, which) in names {
            if which == 2 && !held {
                continue;
            }
            sample(area, 8, y + 9, styles[which])?;
            texts.push(at(area, 54, y, name, 14.0, INK));
            y += 24;
        }
        y += 16;
        texts.push(at(area, 8, y, "Last generation", 15.0, INK).bold());
        y += 24;
        let mut facts = Vec::new();
        if let Some(p) = run.points.last() {
            facts.push(format!("generation {}", label(p.generation as f64)));
        }
        for (name, value, unit) in [
            ("best error", best as fn(&Point) -> Option<f64>, ""),
            ("mean error", mean, ""),
            ("held-out error", held_out, ""),
            ("size", size, " bytes"),
            ("diversity", diversity, ""),
        ] {
            if let Some((_, v)) = last(run, value) {
                facts.push(format!("{name} {}{unit}", label(v)));
            }
        }
        for fact in facts {
            texts.push(at(
                area,
                8,
                y,
                text::fit(&fact, 14.0, false, width, false),
                14.0,
                MUTED,
            ));
            y += 21;
        }
        return Ok(());
    }
    texts.push(at(area, 8, y, "Runs", 15.0, INK).bold());
    y += 26;
    for (i, run) in runs.iter().enumerate() {
        sample(area, 8, y + 9, lines(i, runs.len())[0])?;
        let name = text::fit(&run.name, 14.0, false, width - 46, true);
        texts.push(at(area, 54, y, name, 14.0, INK));
        y += 24;
    }
    y += 16;
    texts.push(at(area, 8, y, "Lines (error panel)", 15.0, INK).bold());
    y += 26;
    let grey = style::PALETTE[7];
    let styles = lines(7, 2);
    for (name, which) in &names[..3] {
        if *which == 2 && !held {
            continue;
        }
        let mut line = styles[*which];
        if *which == 1 {
            line.color = style::lighter(grey, 0.55);
        }
        sample(area, 8, y + 9, line)?;
        texts.push(at(area, 54, y, *name, 14.0, INK));
        y += 24;
    }
    Ok(())
}

/// The title's second line: what the runs did.
fn summary(runs: &[Run]) -> String {
    let gens = |r: &Run| {
        (
            r.points.first().map_or(0, |p| p.generation),
            r.points.last().map_or(0, |p| p.generation),
        )
    };
    if let [run] = runs {
        let (a, b) = gens(run);
        let mut s = format!("generations {}–{}", label(a as f64), label(b as f64));
        let first = run.points.iter().find_map(|p| p.best_error);
        if let (Some(f), Some((_, l))) = (first, last(run, best)) {
            s += &format!(" · best error {} → {}", label(f), label(l));
        }
        if let Some((_, t)) = last(run, held_out) {
            s += &format!(" · held-out error {}", label(t));
        }
        return s;
    }
    let lo = runs.iter().map(|r| gens(r).0).min().unwrap_or(0);
    let hi = runs.iter().map(|r| gens(r).1).max().unwrap_or(0);
    let bests: Vec<String> = runs
        .iter()
        .filter_map(|r| last(r, best).map(|(_, v)| label(v)))
        .collect();
    format!(
        "{} runs · generations {}–{} · final best errors {}",
        runs.len(),
        label(lo as f64),
        label(hi as f64),
        bests.join(", ")
    )
}

/// Draw the chart of `runs` into an RGB buffer of `options.width` x `options.height`.
pub fn fitness_rgb(runs: &[Run], options: &ChartOptions) -> Result<Vec<u8>, PlotError> {
    let (w, h) = (options.width, options.height);
    if !(MIN_SIZE.0..=MAX_SIZE.0).contains(&w) || !(MIN_SIZE.1..=MAX_SIZE.1).contains(&h) {
        return Err(PlotError::TooLarge(format!(
            "a chart of {w}x{h} pixels: the width must be {}..={} and the height {}..={}",
            MIN_SIZE.0, MAX_SIZE.0, MIN_SIZE.1, MAX_SIZE.1
        )));
    }
    if runs.iter().all(|r| r.points.is_empty()) {
        return Err(PlotError::Nothing("no generation in the logs".to_string()));
    }
    if runs.len() > MAX_RUNS {
        return Err(PlotError::TooLarge(format!(
            "{} runs on one chart; at most {MAX_RUNS} can be told apart",
            runs.len()
        )));
    }
    style::fonts()?;
    let mut buf = style::buffer(w, h, "the chart")?;
    let mut texts = Vec::new();
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&PAPER).map_err(PlotError::draw)?;
        let (top, body) = root.split_vertically(TITLE_H);
        let title = match (&options.title, runs) {
            (Some(t), _) => t.clone(),
            (None, [run]) => format!("Evolution of {}", run.name),
            (None, _) => format!("Evolution: {} runs", runs.len()),
        };
        let room = w as i32 - 40;
        texts.push(
            at(
                &top,
                20,
                12,
                text::fit(&title, 22.0, true, room, false),
                22.0,
                INK,
            )
            .bold(),
        );
        let sub = text::fit(&summary(runs), 14.0, false, room, false);
        texts.push(at(&top, 20, 44, sub, 14.0, MUTED));
        let (plots, side) = body.split_horizontally(w - LEGEND_W);
        let held = runs.iter().any(Run::has_test_error);
        legend(&side, runs, held, &mut texts)?;

        let all = || runs.iter().flat_map(|r| r.points.iter());
        let (g0, g1) = all().fold((u64::MAX, 0), |(a, b), p| {
            (a.min(p.generation), b.max(p.generation))
        });
        let x = Axis::linear(g0 as f64, g1 as f64, true);
        let errors = Axis::for_errors(
            all()
                .flat_map(|p| [p.best_error, p.mean_error, p.test_error])
                .flatten(),
        );
        let max_size = all().filter_map(|p| p.size).fold(0.0, f64::max);
        let sizes = Axis::linear(0.0, (max_size * 1.1).max(1.0), true);
        let div = Axis::linear(0.0, 1.05, false);

        let ph = h - TITLE_H;
        let (upper, lower) = plots.split_vertically(ph / 2);
        let (middle, bottom) = lower.split_vertically(ph / 4);
        let error_title = if errors.log {
            "Error (log scale)"
        } else {
            "Error"
        };
        let mut series: Vec<(usize, Value)> = vec![(1, mean)];
        if held {
            series.push((2, held_out));
        }
        series.push((0, best));
        panel(
            &upper,
            error_title,
            x,
            errors,
            runs,
            &series,
            false,
            &mut texts,
        )?;
        panel(
            &middle,
            "Best kernel's size (bytes)",
            x,
            sizes,
            runs,
            &[(3, size)],
            false,
            &mut texts,
        )?;
        panel(
            &bottom,
            "Diversity (distinct genomes / population)",
            x,
            div,
            runs,
            &[(4, diversity)],
            true,
            &mut texts,
        )?;
        root.present().map_err(PlotError::draw)?;
    }
    text::draw_all(&mut buf, w, h, &texts)?;
    Ok(buf)
}

/// [`fitness_rgb`] as PNG file bytes.
pub fn fitness_png(runs: &[Run], options: &ChartOptions) -> Result<Vec<u8>, PlotError> {
    let rgb = fitness_rgb(runs, options)?;
    style::png(options.width, options.height, &rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runs_are_thinned_to_their_extremes() {
        let points: Vec<(f64, f64)> = (0..10_000).map(|i| (i as f64, (i % 97) as f64)).collect();
        let thinned = thin(points, 100);
        assert!(thinned.len() <= 301, "{}", thinned.len());
        assert!(thinned.iter().any(|p| p.1 == 96.0));
        assert!(thinned.iter().any(|p| p.1 == 0.0));
        assert!(thinned.windows(2).all(|w| w[0].0 <= w[1].0), "in order");
        assert_eq!(thinned.last().unwrap().0, 9_999.0);
    }

    #[test]
    fn a_missing_value_breaks_the_curve() {
        let p = |g, e| Point {
            generation: g,
            best_error: e,
            ..Point::default()
        };
        let segs = segments(
            &[
                p(1, Some(3.0)),
                p(2, None),
                p(3, Some(2.0)),
                p(4, Some(1.0)),
            ],
            best,
            100,
        );
        assert_eq!(segs, vec![vec![(1.0, 3.0)], vec![(3.0, 2.0), (4.0, 1.0)]]);
    }
}
