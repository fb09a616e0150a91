//! The value axes of the charts: linear, or "symlog" — log10(1 + v), which draws 0 (a
//! solved run's error) at the bottom and still spreads errors over many decades — with
//! round tick values (1, 2, 5 x 10^k; decades on a symlog axis) and short labels
//! (`1,500`, `20k`, `3M`, `0.25`).

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// An axis from `lo` to `hi` (`lo < hi`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axis {
    pub lo: f64,
    pub hi: f64,
    /// log10(1 + v) instead of v.
    pub log: bool,
    /// Ticks at whole numbers only (generations, bytes).
    pub integer: bool,
}

impl Axis {
    /// A linear axis over `lo..hi`, widened if empty.
    pub fn linear(lo: f64, hi: f64, integer: bool) -> Axis {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else if integer {
            (lo - 1.0, lo + 1.0)
        } else {
            (lo - 0.5, lo + 0.5)
        };
        Axis {
            lo,
            hi,
            log: false,
            integer,
        }
    }

    /// An axis for non-negative `values` (errors): from 0 to a little above the largest,
    /// symlog when they spread over more than two decades.
    pub fn for_errors(values: impl Iterator<Item = f64>) -> Axis {
        let (mut max, mut min, mut min_positive) = (0.0f64, f64::INFINITY, f64::INFINITY);
        for v in values {
            max = max.max(v);
            min = min.min(v);
            if v > 0.0 {
                min_positive = min_positive.min(v);
            }
        }
        if max <= 0.0 {
            return Axis::linear(0.0, 1.0, false);
        }
        if max / min_positive >= 100.0 && max >= 10.0 {
            // The top at 1.15 x the largest value, in log space.
            let top = 10f64.powf(symlog(max) * 1.04) - 1.0;
            // From the decade below the smallest value (0 if it is below 10): errors that
            // never got near 0 do not leave the panel's lower half empty.
            let lo = if min >= 10.0 {
                10f64.powf(min.log10().floor())
            } else {
                0.0
            };
            Axis {
                lo,
                hi: top.max(max * 1.05),
                log: true,
                integer: false,
            }
        } else {
            Axis::linear(0.0, max * 1.08, false)
        }
    }

    fn t(&self, v: f64) -> f64 {
        if self.log { symlog(v) } else { v }
    }

    /// The tick values, at most `max` of them.
    pub fn ticks(&self, max: usize) -> Vec<f64> {
        let max = max.max(2);
        if self.log {
            let mut ticks = if self.lo <= 0.0 {
                vec![0.0]
            } else {
                Vec::new()
            };
            let mut decade = self.lo.max(1.0);
            while decade <= self.hi {
                ticks.push(decade);
                decade *= 10.0;
            }
            // Thin out decades when they are too many for the room.
            let step = ticks.len().div_ceil(max);
            if step > 1 {
                ticks = ticks.into_iter().step_by(step).collect();
            }
            return ticks;
        }
        let span = self.hi - self.lo;
        let raw = span / max as f64;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * magnitude)
            .find(|&s| span / s <= max as f64)
            .unwrap_or(10.0 * magnitude);
        let step = if self.integer {
            step.max(1.0).round()
        } else {
            step
        };
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last).map(|k| k as f64 * step).collect()
    }
}

/// log10(1 + |v|) with v's sign.
pub fn symlog(v: f64) -> f64 {
    v.signum() * (1.0 + v.abs()).log10()
}

/// A tick's label: short and round.
pub fn label(v: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    if a >= 1e9 {
        trim(format!("{:.1}", v / 1e9)) + "G"
    } else if a >= 1e6 {
        trim(format!("{:.1}", v / 1e6)) + "M"
    } else if a >= 1e4 {
        trim(format!("{:.1}", v / 1e3)) + "k"
    } else if a >= 1000.0 && v % 1000.0 == 0.0 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1000.0 && v.fract() == 0.0 {
        crate::util::thousands(a as u64).to_string()
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        trim(format!("{v:.3}"))
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (a, b) = (self.t(self.lo), self.t(self.hi));
        let f = (self.t(*value) - a) / (b - a);
        let f = f.clamp(-10.0, 10.0);
        limit.0 + (f * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        self.ticks(hint.max_num_points())
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_in_range() {
        let a = Axis::linear(0.0, 97.0, false);
        assert_eq!(a.ticks(6), vec![0.0, 20.0, 40.0, 60.0, 80.0]);
        let g = Axis::linear(1.0, 3.0, true);
        assert_eq!(g.ticks(10), vec![1.0, 2.0, 3.0]);
        let e = Axis::for_errors([0.0, 3.0, 4_000.0].into_iter());
        assert!(e.log);
        assert_eq!(e.ticks(10), vec![0.0, 1.0, 10.0, 100.0, 1000.0]);
        assert!(!Axis::for_errors([2.0, 5.0].into_iter()).log);
        let high = Axis::for_errors([12_000.0, 4e6].into_iter());
        assert_eq!(high.lo, 10_000.0);
        assert_eq!(high.ticks(10), vec![1e4, 1e5, 1e6]);
    }

    #[test]
    fn labels_are_short() {
        assert_eq!(label(0.0), "0");
        assert_eq!(label(1500.0), "1,500");
        assert_eq!(label(20_000.0), "20k");
        assert_eq!(label(1000.0), "1k");
        assert_eq!(label(3_000_000.0), "3M");
        assert_eq!(label(0.25), "0.25");
        assert_eq!(label(0.1 + 0.2), "0.3");
    }

    #[test]
    fn symlog_maps_zero_to_the_bottom() {
        let e = Axis::for_errors([0.0, 3.0, 10_000.0].into_iter());
        assert!(e.log);
        assert_eq!(e.map(&0.0, (400, 0)), 400);
        assert!(e.map(&10_000.0, (400, 0)) > 0);
        let y = |v: f64| e.map(&v, (400, 0));
        let (d1, d2) = (y(10.0) - y(100.0), y(100.0) - y(1000.0));
        assert!(
            (d1 - d2).abs() <= 4 && d1 > 50,
            "decades are evenly spread: {d1} {d2}"
        );
    }
}
