//! Evolution windows and the clock. A window is written `DAYS HH:MM-HH:MM UTC`, where DAYS is
//! `daily`, a weekday (`mon` … `sun`) or a range of them (`mon-fri`); an end before the
//! start runs past midnight (`daily 23:00-01:00 UTC` is two hours). Only UTC is accepted, so
//! a window means the same on every machine. The clock is the system's, unless the
//! environment variable `PXOS_NOW` gives an instant (`2026-12-01T03:00:00Z`): tests and
//! dry runs move time without sleeping.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable that replaces the system clock.
pub const NOW_VAR: &str = "PXOS_NOW";

const DAY: u64 = 86_400;
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Seconds since the Unix epoch (UTC).
pub type Instant = u64;

/// The current instant: `PXOS_NOW` if set (an error if it does not parse), else the
/// system clock.
pub fn now() -> Result<Instant, String> {
    match std::env::var(NOW_VAR) {
        Ok(text) => parse_instant(&text).map_err(|e| format!("{NOW_VAR}={text:?}: {e}")),
        Err(_) => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())),
    }
}

/// Parse `YYYY-MM-DDTHH:MM:SSZ` (the form versions.json writes).
pub fn parse_instant(text: &str) -> Result<Instant, String> {
    let bad = || "expected an instant such as 2026-12-01T03:00:00Z".to_string();
    let b = text.as_bytes();
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| -> Result<u64, String> {
        let s = &text[r];
        if s.bytes().all(|c| c.is_ascii_digit()) {
            s.parse().map_err(|_| bad())
        } else {
            Err(bad())
        }
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || s > 59
    {
        return Err(bad());
    }
    Ok(days_from_civil(y as i64, mo as u32, d as u32) as u64 * DAY + h * 3600 + mi * 60 + s)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        2 if (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// 0 = Monday … 6 = Sunday (1970-01-01 was a Thursday).
fn weekday(day: u64) -> usize {
    ((day + 3) % 7) as usize
}

/// One window of the week.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    /// Weekdays it starts on (0 = Monday).
    days: [bool; 7],
    /// Minutes after midnight.
    start: u32,
    /// Length in minutes (1 ..= 1440).
    minutes: u32,
    text: String,
}

impl Window {
    /// Whether `t` falls inside the window (a window that started yesterday and runs past
    /// midnight counts).
    pub fn contains(&self, t: Instant) -> bool {
        let day = t / DAY;
        let minute = (t % DAY / 60) as u32;
        [(day, minute), (day.wrapping_sub(1), minute + 1440)]
            .into_iter()
            .filter(|&(d, _)| d <= day)
            .any(|(d, m)| self.days[weekday(d)] && m >= self.start && m < self.start + self.minutes)
    }

    /// The first instant at or after `t` when the window opens.
    pub fn next_open(&self, t: Instant) -> Instant {
        let today = t / DAY;
        (0..8)
            .map(|k| today + k)
            .filter(|&d| self.days[weekday(d)])
            .map(|d| d * DAY + u64::from(self.start) * 60)
            .find(|&s| s >= t)
            .unwrap_or(t)
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for Window {
    type Err = String;

    fn from_str(text: &str) -> Result<Window, String> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days, span, zone] = parts[..] else {
            return Err(format!(
                "window {text:?}: expected `DAYS HH:MM-HH:MM UTC`, e.g. `daily 02:00-04:00 UTC` or `sat 00:00-06:00 UTC`"
            ));
        };
        if !zone.eq_ignore_ascii_case("utc") {
            return Err(format!(
                "window {text:?}: only UTC times are accepted (got {zone:?})"
            ));
        }
        let day_index = |d: &str| {
            WEEKDAYS
                .iter()
                .position(|w| w.eq_ignore_ascii_case(d))
                .ok_or_else(|| {
                    format!("window {text:?}: {d:?} is not a weekday (mon … sun) or `daily`")
                })
        };
        let mut set = [false; 7];
        if days.eq_ignore_ascii_case("daily") {
            set = [true; 7];
        } else if let Some((a, b)) = days.split_once('-') {
            let (a, b) = (day_index(a)?, day_index(b)?);
            let mut d = a;
            loop {
                set[d] = true;
                if d == b {
                    break;
                }
                d = (d + 1) % 7;
            }
        } else {
            set[day_index(days)?] = true;
        }
        let (from, to) = span
            .split_once('-')
            .ok_or_else(|| format!("window {text:?}: expected a time span HH:MM-HH:MM"))?;
        let minute = |s: &str| -> Result<u32, String> {
            let bad = || format!("window {text:?}: {s:?} is not a time HH:MM (00:00 … 24:00)");
            let (h, m) = s.split_once(':').ok_or_else(bad)?;
            if !(h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())) {
                return Err(bad());
            }
            let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
            if h > 24 || m > 59 || (h == 24 && m != 0) || s.len() != 5 {
                return Err(bad());
            }
            Ok(h * 60 + m)
        };
        let (start, end) = (minute(from)?, minute(to)?);
        if start == 1440 {
            return Err(format!("window {text:?}: a window cannot start at 24:00"));
        }
        let minutes = if end > start {
            end - start
        } else {
            end + 1440 - start
        };
        Ok(Window {
            days: set,
            start,
            minutes,
            text: text.to_string(),
        })
    }
}

impl Serialize for Window {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Window, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Whether `t` is inside one of `windows` (no windows: always).
pub fn open(windows: &[Window], t: Instant) -> bool {
    windows.is_empty() || windows.iter().any(|w| w.contains(t))
}

/// The next instant after `t` when a window opens (none if there are no windows).
pub fn next_open(windows: &[Window], t: Instant) -> Option<Instant> {
    windows.iter().map(|w| w.next_open(t)).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    #[test]
    fn instants_round_trip_with_the_store_dates() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T12:34:56Z",
            "2026-12-01T03:00:00Z",
        ] {
            assert_eq!(crate::util::date::format_unix(at(s)), s);
        }
        assert!(parse_instant("2026-02-30T00:00:00Z").is_err());
        assert!(parse_instant("2026-12-01 03:00:00").is_err());
    }

    #[test]
    fn daily_and_weekday_windows() {
        let w: Window = "daily 02:00-04:00 UTC".parse().unwrap();
        assert!(w.contains(at("2026-12-01T02:00:00Z")));
        assert!(w.contains(at("2026-12-01T03:59:59Z")));
        assert!(!w.contains(at("2026-12-01T04:00:00Z")));
        assert_eq!(
            w.next_open(at("2026-12-01T05:00:00Z")),
            at("2026-12-02T02:00:00Z")
        );
        // 2026-12-05 is a Saturday.
        let sat: Window = "sat 00:00-06:00 UTC".parse().unwrap();
        assert!(sat.contains(at("2026-12-05T05:00:00Z")));
        assert!(!sat.contains(at("2026-12-04T05:00:00Z")));
        assert_eq!(
            sat.next_open(at("2026-12-01T00:00:00Z")),
            at("2026-12-05T00:00:00Z")
        );
    }

    #[test]
    fn windows_past_midnight_and_ranges() {
        let w: Window = "fri 23:00-01:00 UTC".parse().unwrap();
        assert!(w.contains(at("2026-12-04T23:30:00Z")));
        assert!(
            w.contains(at("2026-12-05T00:30:00Z")),
            "Saturday 00:30 is still Friday's window"
        );
        assert!(!w.contains(at("2026-12-05T23:30:00Z")));
        let wk: Window = "mon-fri 09:00-17:00 UTC".parse().unwrap();
        assert!(wk.contains(at("2026-12-01T10:00:00Z")));
        assert!(!wk.contains(at("2026-12-06T10:00:00Z")));
    }

    #[test]
    fn bad_windows_say_what_is_wrong() {
        for (text, says) in [
            ("daily 02:00-04:00", "expected"),
            ("daily 02:00-04:00 CET", "only UTC"),
            ("someday 02:00-04:00 UTC", "not a weekday"),
            ("daily 2:00-25:00 UTC", "not a time"),
            ("daily +1:00-02:00 UTC", "not a time"),
        ] {
            let err = text.parse::<Window>().unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
