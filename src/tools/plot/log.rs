//! Reading the per-generation log that `pxos evolve --log` appends to (one JSON object per
//! line, [`GenerationLog`]) into [`Run`]s: the series a chart draws. A log may hold several
//! experiments one after another (the log is appended to): a line whose generation does
//! not follow the previous one's starts a new run. A value that is not a finite number
//! (an unloadable population's `f64::MAX` error, a `null`) is a gap in its curve, not a
//! point. The last line of a log whose experiment was interrupted may be torn: an
//! unterminated last line that does not parse is ignored, as a resumed run ignores it.
//! Any other line that is not a generation's — or one holding a value no experiment writes,
//! such as an error below 0 or a diversity above 1 — is an error naming the line.

use super::PlotError;
use crate::tools::evolve::GenerationLog;
use crate::util::userfile;
use std::io::BufReader;
use std::path::Path;

/// The largest log read (a million generations take about 300 MB).
pub const MAX_LOG_BYTES: u64 = 1 << 30;
/// The longest line of a log (a generation's line is about 300 bytes).
const MAX_LINE_BYTES: usize = 64 << 10;

/// One generation's values; `None` where the log has none (or no finite one).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Point {
    pub generation: u64,
    pub best_error: Option<f64>,
    pub mean_error: Option<f64>,
    /// The best kernel's error on the held-out test cases.
    pub test_error: Option<f64>,
    /// The best kernel's size in bytes.
    pub size: Option<f64>,
    /// Distinct genomes over population size.
    pub diversity: Option<f64>,
}

/// One experiment's generations, in order, under the name its legend shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub name: String,
    pub points: Vec<Point>,
}

/// A number that can be drawn (finite, not the `f64::MAX` of an unloadable genome).
fn drawable(v: Option<f64>) -> Option<f64> {
    v.filter(|v| v.is_finite() && v.abs() < 1e300)
}

impl Point {
    /// The values of one generation's log line.
    pub fn of(line: &GenerationLog) -> Point {
        Point {
            generation: line.generation,
            best_error: drawable(Some(line.best_error)),
            mean_error: drawable(Some(line.mean_error)),
            test_error: drawable(line.test_error),
            size: Some(line.best_size as f64),
            diversity: drawable(Some(line.diversity)),
        }
    }
}

impl Run {
    /// A run from log lines held in memory (`pxos evolve --plot` without `--log`).
    pub fn from_lines(name: &str, lines: &[GenerationLog]) -> Run {
        Run {
            name: name.to_string(),
            points: lines.iter().map(Point::of).collect(),
        }
    }

    /// Whether any generation has a held-out error.
    pub fn has_test_error(&self) -> bool {
        self.points.iter().any(|p| p.test_error.is_some())
    }
}

/// One line of a log, or why it is not one.
fn parse_line(text: &[u8]) -> Result<Point, String> {
    let value: serde_json::Value =
        serde_json::from_slice(text).map_err(|e| format!("not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or_else(|| "not a JSON object".to_string())?;
    let generation = object
        .get("generation")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| "no \"generation\" number".to_string())?;
    if !object.contains_key("best_error") {
        return Err("no \"best_error\"".to_string());
    }
    let number = |key: &str| drawable(object.get(key).and_then(serde_json::Value::as_f64));
    // Values no experiment writes: a log that holds them was not written by one.
    for (key, range, what) in [
        (
            "best_error",
            0.0..=f64::INFINITY,
            "an error is never below 0",
        ),
        (
            "mean_error",
            0.0..=f64::INFINITY,
            "an error is never below 0",
        ),
        (
            "test_error",
            0.0..=f64::INFINITY,
            "an error is never below 0",
        ),
        ("best_size", 0.0..=f64::INFINITY, "a size is never below 0"),
        ("diversity", 0.0..=1.0, "diversity is a share, 0 to 1"),
    ] {
        if let Some(v) = number(key).filter(|v| !range.contains(v)) {
            return Err(format!("\"{key}\" is {v}; {what}"));
        }
    }
    Ok(Point {
        generation,
        best_error: number("best_error"),
        mean_error: number("mean_error"),
        test_error: number("test_error"),
        size: number("best_size"),
        diversity: number("diversity"),
    })
}

/// Split a log's points into runs: a generation that does not follow the previous one
/// starts a new run. One run is named `name`; several `name #1`, `name #2`, ...
pub fn split_runs(name: &str, points: Vec<Point>) -> Vec<Run> {
    let mut runs: Vec<Vec<Point>> = Vec::new();
    for p in points {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|q| p.generation > q.generation) => run.push(p),
            _ => runs.push(vec![p]),
        }
    }
    let several = runs.len() > 1;
    runs.into_iter()
        .enumerate()
        .map(|(i, points)| Run {
            name: if several {
                format!("{name} #{}", i + 1)
            } else {
                name.to_string()
            },
            points,
        })
        .collect()
}

/// Read the log at `path` (a regular file, at most [`MAX_LOG_BYTES`]) into its runs,
/// named `name` (see [`split_runs`]). An empty log, or one holding anything but
/// generation lines, is an error.
pub fn read_log(path: &Path, name: &str) -> Result<Vec<Run>, PlotError> {
    let shown = path.display().to_string();
    let (file, meta) = userfile::open_regular(path)?;
    if meta.len() > MAX_LOG_BYTES {
        return Err(userfile::FileError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_LOG_BYTES,
            what: "a log",
        }
        .into());
    }
    let read_err = |error| {
        PlotError::File(userfile::FileError::Read {
            path: path.to_path_buf(),
            error,
        })
    };
    let mut reader = BufReader::new(file);
    let mut line = Vec::new();
    let mut points = Vec::new();
    let mut number = 0u64;
    loop {
        let ended = match userfile::read_line_bounded(&mut reader, &mut line, MAX_LINE_BYTES) {
            Ok(Some(ended)) => ended,
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                return Err(PlotError::NotALog {
                    path: shown,
                    line: number + 1,
                    reason: e.to_string(),
                });
            }
            Err(e) => return Err(read_err(e)),
        };
        number += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_line(&line) {
            Ok(p) => points.push(p),
            // A torn last line: an interrupted experiment was writing it.
            Err(_) if !ended => break,
            Err(reason) => {
                return Err(PlotError::NotALog {
                    path: shown,
                    line: number,
                    reason,
                });
            }
        }
    }
    if points.is_empty() {
        return Err(PlotError::Empty { path: shown });
    }
    Ok(split_runs(name, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(generation: u64) -> Point {
        Point {
            generation,
            ..Point::default()
        }
    }

    #[test]
    fn appended_experiments_are_separate_runs() {
        let runs = split_runs("a.jsonl", vec![at(1), at(2), at(3), at(1), at(2)]);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].name, "a.jsonl #1");
        assert_eq!(runs[1].points.len(), 2);
        assert_eq!(split_runs("a", vec![at(5), at(6)])[0].name, "a");
    }

    #[test]
    fn lines_parse_with_gaps_for_what_cannot_be_drawn() {
        let p = parse_line(
            br#"{"generation":4,"best_error":1.7976931348623157e308,"mean_error":2.5,"diversity":0.5,"best_size":12}"#,
        )
        .unwrap();
        assert_eq!(p.generation, 4);
        assert_eq!(p.best_error, None);
        assert_eq!(p.mean_error, Some(2.5));
        assert_eq!(p.test_error, None);
        assert_eq!(p.size, Some(12.0));
        assert!(parse_line(br#"{"generation":1}"#).is_err());
        assert!(parse_line(br#"{"kernel":"a.asm","exit":"halt"}"#).is_err());
        assert!(parse_line(b"[1,2]").is_err());
        for bad in [
            r#"{"generation":1,"best_error":-5}"#,
            r#"{"generation":1,"best_error":1,"mean_error":-0.5}"#,
            r#"{"generation":1,"best_error":1,"test_error":-1}"#,
            r#"{"generation":1,"best_error":1,"best_size":-3}"#,
            r#"{"generation":1,"best_error":1,"diversity":1.5}"#,
        ] {
            let e = parse_line(bad.as_bytes()).unwrap_err();
            assert!(e.contains(" is -") || e.contains("1.5"), "{bad}: {e}");
        }
    }
}
