//! The fitness chart of one or more runs (`pxos plot`, `pxos evolve --plot`): three panels
//! over the generations — error (best, mean and, when logged, held-out), the best
//! kernel's size, and diversity — a title with a summary, and a legend column. With one
//! run each series has its own colour ([`style::BEST`], [`style::MEAN`], ...); with several,
//! each run has a colour of [`style::PALETTE`] (named after its file in the legend) and the
//! series differ by line: best thick, mean thin and light, held-out dashed. The error
//! panel switches to a symlog scale when errors spread over more than two decades.
//! A run of many generations is thinned to the extremes of each pixel column before
//! drawing, so the time and the picture do not grow with its length.

use super::axis::{label, Axis};
use super::log::{Point, Run};
use super::style::{self, FONT, GRID, INK, MUTED, PAPER};
use super::PlotError;
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
fn segments(points: &[Point], value: fn(&Point) -> Option<f64>, columns: usize) -> Vec<Vec<(f64, f64)>> {
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

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&INK)
}

fn bold(size: u32) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&INK)
}

/// `text` shortened with a leading `…` until it fits `width` pixels.
pub(super) fn fit(area: &Area, text: &str, style: &TextStyle, width: u32) -> String {
    let fits = |t: &str| {
        area.estimate_text_size(t, style)
            .map_or(true, |(w, _)| w <= width)
    };
    if fits(text) {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for start in 1..chars.len() {
        let t: String = std::iter::once('…').chain(chars[start..].iter().copied()).collect();
        if fits(&t) {
            return t;
        }
    }
    "…".to_string()
}

/// A short legend sample of `line` at (x, y), 36 pixels long.
fn sample(area: &Area, x: i32, y: i32, line: Line) -> Result<(), PlotError> {
    let style = ShapeStyle::from(line.color).stroke_width(line.width);
    if line.dashed {
        area.draw(&DashedPathElement::new(vec![(x, y), (x + 36, y)], 7, 4, style))
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
    series: &[(usize, fn(&Point) -> Option<f64>)],
    x_desc: bool,
) -> Result<(), PlotError> {
    area.draw_text(title, &bold(15), (64, 6))
        .map_err(PlotError::draw)?;
    let mut chart = ChartBuilder::on(area)
        .margin_top(30)
        .margin_right(20)
        .margin_bottom(6)
        .x_label_area_size(if x_desc { 48 } else { 26 })
        .y_label_area_size(64)
        .build_cartesian_2d(x, y)
        .map_err(PlotError::draw)?;
    let label_fmt = |v: &f64| label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_labels(10)
        .y_labels(if y.log { 12 } else { 6 })
        .x_label_formatter(&label_fmt)
        .y_label_formatter(&label_fmt)
        .bold_line_style(GRID)
        .light_line_style(PAPER)
        .axis_style(MUTED)
        .label_style(font(13).color(&MUTED))
        .axis_desc_style(font(14).color(&MUTED));
    if x_desc {
        mesh.x_desc("generation");
    }
    mesh.draw().map_err(PlotError::draw)?;
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
fn last(run: &Run, value: fn(&Point) -> Option<f64>) -> Option<(u64, f64)> {
    run.points
        .iter()
        .rev()
        .find_map(|p| value(p).map(|v| (p.generation, v)))
}

/// The legend column: the runs (one) or their colours (several), the line styles, and
/// for one run its last values.
fn legend(area: &Area, runs: &[Run], held: bool) -> Result<(), PlotError> {
    let err = PlotError::draw;
    let width = area.dim_in_pixel().0.saturating_sub(24);
    let mut y = 34;
    let heading = |y: i32, text: &str| area.draw_text(text, &bold(15), (8, y)).map_err(err);
    let names: [(&str, usize); 5] = [
        ("best error", 0),
        ("mean error", 1),
        ("held-out error", 2),
        ("kernel size", 3),
        ("diversity", 4),
    ];
    if runs.len() == 1 {
        let run = &runs[0];
        heading(y, "Run")?;
        y += 24;
        let name = fit(area, &run.name, &font(14), width);
        area.draw_text(&name, &font(14), (8, y)).map_err(err)?;
        y += 36;
        heading(y, "Lines")?;
        y += 26;
        let styles = lines(0, 1);
        for (name, which) in names {
            if which == 2 && !held {
                continue;
            }
            sample(area, 8, y + 8, styles[which])?;
            area.draw_text(name, &font(14), (54, y)).map_err(err)?;
            y += 24;
        }
        y += 16;
        heading(y, "Last generation")?;
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
            let fact = fit(area, &fact, &font(14), width);
            area.draw_text(&fact, &font(14).color(&MUTED), (8, y))
                .map_err(err)?;
            y += 21;
        }
        return Ok(());
    }
    heading(y, "Runs")?;
    y += 26;
    for (i, run) in runs.iter().enumerate() {
        sample(area, 8, y + 8, lines(i, runs.len())[0])?;
        let name = fit(area, &run.name, &font(14), width.saturating_sub(46));
        area.draw_text(&name, &font(14), (54, y)).map_err(err)?;
        y += 24;
    }
    y += 16;
    heading(y, "Lines")?;
    y += 26;
    let grey = style::PALETTE[7];
    let styles = lines(7, 2);
    for (name, which) in names {
        if which == 2 && !held {
            continue;
        }
        let mut line = styles[which];
        if which == 1 {
            line.color = style::lighter(grey, 0.55);
        }
        sample(area, 8, y + 8, line)?;
        area.draw_text(name, &font(14), (54, y)).map_err(err)?;
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
        let mut s = format!(
            "generations {}–{}",
            label(a as f64),
            label(b as f64)
        );
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
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&PAPER).map_err(PlotError::draw)?;
        let (top, body) = root.split_vertically(TITLE_H);
        let title = match (&options.title, runs) {
            (Some(t), _) => t.clone(),
            (None, [run]) => format!("Evolution of {}", run.name),
            (None, _) => format!("Evolution: {} runs", runs.len()),
        };
        let title = fit(&top, &title, &bold(22), w - 40);
        top.draw_text(&title, &bold(22), (20, 12))
            .map_err(PlotError::draw)?;
        let sub = fit(&top, &summary(runs), &font(14), w - 40);
        top.draw_text(&sub, &font(14).color(&MUTED), (20, 44))
            .map_err(PlotError::draw)?;
        let (plots, side) = body.split_horizontally(w - LEGEND_W);
        let held = runs.iter().any(Run::has_test_error);
        legend(&side, runs, held)?;

        let all = || runs.iter().flat_map(|r| r.points.iter());
        let (g0, g1) = all().fold((u64::MAX, 0), |(a, b), p| (a.min(p.generation), b.max(p.generation)));
        let x = Axis::linear(g0 as f64, g1 as f64, true);
        let errors = Axis::for_errors(
            all().flat_map(|p| [p.best_error, p.mean_error, p.test_error])
                .flatten(),
        );
        let max_size = all().filter_map(|p| p.size).fold(0.0, f64::max);
        let sizes = Axis::linear(0.0, (max_size * 1.1).max(1.0), true);
        let div = Axis::linear(0.0, 1.05, false);

        let ph = h - TITLE_H;
        let (upper, lower) = plots.split_vertically(ph / 2);
        let (middle, bottom) = lower.split_vertically(ph / 4);
        let error_title = if errors.log {
            "Error (log scale: 0, 1, 10, 100, …)"
        } else {
            "Error"
        };
        let mut series: Vec<(usize, fn(&Point) -> Option<f64>)> = vec![(1, mean)];
        if held {
            series.push((2, held_out));
        }
        series.push((0, best));
        panel(&upper, error_title, x, errors, runs, &series, false)?;
        panel(&middle, "Best kernel's size (bytes)", x, sizes, runs, &[(3, size)], false)?;
        panel(
            &bottom,
            "Diversity (distinct genomes / population)",
            x,
            div,
            runs,
            &[(4, diversity)],
            true,
        )?;
        root.present().map_err(PlotError::draw)?;
    }
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
        let segs = segments(&[p(1, Some(3.0)), p(2, None), p(3, Some(2.0)), p(4, Some(1.0))], best, 100);
        assert_eq!(segs, vec![vec![(1.0, 3.0)], vec![(3.0, 2.0), (4.0, 1.0)]]);
    }
}
