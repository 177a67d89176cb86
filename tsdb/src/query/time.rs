//! Durations and time windows (spec A2, A8, C6, C7).
//!
//! Windows are aligned to the Unix epoch (plus the offset), not to the first
//! row: `start = ((ts - offset - interval) div sliding + 1) * sliding + offset`
//! with floor division. `d`/`w` windows begin at local midnight (the grid
//! is shifted by the local UTC offset); `n`/`y` windows are calendar months
//! and years in local time, starting on months whose index since 1900-01 is
//! a multiple of the count (years: whose year - 1900 is).
//!
//! May import: `error`, `sql`, `types`.

use chrono::{Datelike, Local, NaiveDate, Offset, TimeZone};

use crate::error::{DbError, Result};
use crate::sql::ast::{Duration, Interval};
use crate::types::Precision;

/// Shortest INTERVAL and SLIDING (2.x `minIntervalTime`, `minSlidingTime`).
pub const MIN_WINDOW_MS: i64 = 10;
/// Most rows a FILL query may produce.
pub const MAX_FILL_ROWS: usize = 10_000_000;

/// A fixed duration in ticks of `p`; calendar units are refused.
/// Longest calendar window: 1,000 years. Month arithmetic goes through
/// the calendar, whose range ends ~262,000 years out; no data spans more.
pub const MAX_CALENDAR_MONTHS: i64 = 12_000;

pub fn duration_ticks(d: Duration, p: Precision) -> Result<i64> {
    let per_s = p.per_second();
    let per_unit = match d.unit {
        'b' if p == Precision::Ns => 1,
        'u' if p != Precision::Ms => per_s / 1_000_000,
        'b' | 'u' => {
            return Err(DbError::invalid(format!(
                "duration unit '{}' is finer than the database precision {}",
                d.unit,
                p.as_str()
            )));
        }
        'a' => p.per_ms(),
        's' => per_s,
        'm' => 60 * per_s,
        'h' => 3600 * per_s,
        'd' => 86_400 * per_s,
        'w' => 7 * 86_400 * per_s,
        // a bare number: already in database precision
        't' => 1,
        'n' | 'y' => {
            return Err(DbError::invalid(
                "natural month/year units (n, y) are allowed only in INTERVAL and SLIDING",
            ));
        }
        other => return Err(DbError::invalid(format!("invalid duration unit '{other}'"))),
    };
    d.count.checked_mul(per_unit).ok_or_else(|| {
        DbError::invalid(format!(
            "duration {}{} is out of range: it does not fit a {} timestamp",
            d.count,
            d.unit,
            p.as_str()
        ))
    })
}

/// Local UTC offset in ticks (today's; daylight-saving changes are not
/// followed).
fn local_offset_ticks(p: Precision) -> i64 {
    let secs = Local::now().offset().fix().local_minus_utc();
    i64::from(secs) * p.per_second()
}

/// A validated window specification.
#[derive(Debug, Clone, Copy)]
pub struct Windows {
    p: Precision,
    /// Calendar months per window (n, y units), else 0.
    months: i64,
    interval: i64,
    sliding: i64,
    offset: i64,
    /// Shift of the grid for day/week units (local midnight).
    shift: i64,
}

impl Windows {
    pub fn new(iv: &Interval, sliding: Option<Duration>, p: Precision) -> Result<Windows> {
        let calendar = |d: Duration| match d.unit {
            'n' => Some(d.count),
            'y' => Some(d.count.saturating_mul(12)),
            _ => None,
        };
        if iv.every.count <= 0 {
            return Err(DbError::invalid("interval value must be positive"));
        }
        if calendar(iv.every).is_some_and(|m| m > MAX_CALENDAR_MONTHS) {
            return Err(DbError::invalid(format!(
                "interval value is too large: at most {}y ({MAX_CALENDAR_MONTHS}n)",
                MAX_CALENDAR_MONTHS / 12
            )));
        }
        if let Some(months) = calendar(iv.every) {
            if let Some(s) = sliding {
                if calendar(s) != Some(months) {
                    return Err(DbError::invalid(
                        "does not support sliding when interval is natural month/year",
                    ));
                }
            }
            let offset = match iv.offset {
                None => 0,
                Some(o) if o.unit == 'y' && iv.every.unit == 'n' => {
                    return Err(DbError::invalid(
                        "cannot use year as offset when interval is month",
                    ));
                }
                Some(o) if calendar(o).is_some() => {
                    return Err(DbError::invalid(
                        "calendar offsets of calendar intervals are not supported",
                    ));
                }
                Some(o) => duration_ticks(o, p)?,
            };
            return Ok(Windows {
                p,
                months,
                interval: 0,
                sliding: 0,
                offset,
                shift: 0,
            });
        }
        let interval = duration_ticks(iv.every, p)?;
        let min = MIN_WINDOW_MS * p.per_ms();
        if interval < min {
            return Err(DbError::invalid(format!(
                "Interval cannot be less than {MIN_WINDOW_MS} ms (10a)"
            )));
        }
        let sliding = match sliding {
            Some(s) => duration_ticks(s, p)?,
            None => interval,
        };
        if sliding < min {
            return Err(DbError::invalid(format!(
                "sliding value cannot be less than {MIN_WINDOW_MS} ms (10a)"
            )));
        }
        if sliding > interval {
            return Err(DbError::invalid(
                "sliding value no larger than the interval value",
            ));
        }
        if sliding * 100 < interval {
            return Err(DbError::invalid(
                "sliding value can not less than 1% of interval value",
            ));
        }
        let offset = match iv.offset {
            Some(o) => duration_ticks(o, p)?,
            None => 0,
        };
        if offset < 0 || offset >= interval {
            return Err(DbError::invalid(
                "Interval offset should be shorter than interval",
            ));
        }
        let shift = if matches!(iv.every.unit, 'd' | 'w') {
            local_offset_ticks(p)
        } else {
            0
        };
        Ok(Windows {
            p,
            months: 0,
            interval,
            sliding,
            offset,
            shift,
        })
    }

    /// Start of the first window that contains `ts`.
    pub fn first_start(&self, ts: i64) -> i64 {
        if self.months > 0 {
            let (idx, _) = self.month_index(ts - self.offset);
            return self.month_start(idx.div_euclid(self.months) * self.months) + self.offset;
        }
        let t = ts + self.shift - self.offset;
        ((t - self.interval).div_euclid(self.sliding) + 1) * self.sliding + self.offset - self.shift
    }

    /// About how many windows start in `[from, to]` (exact for fixed
    /// windows; calendar windows count 28-day months, an upper bound).
    pub fn count_between(&self, from: i64, to: i64) -> u64 {
        let span = (i128::from(to) - i128::from(from)).max(0);
        let step = if self.months > 0 {
            i128::from(self.months) * 28 * 86_400 * i128::from(self.p.per_second())
        } else {
            i128::from(self.sliding)
        };
        u64::try_from(span / step.max(1) + 1).unwrap_or(u64::MAX)
    }

    /// The window start after `start`.
    pub fn next(&self, start: i64) -> i64 {
        if self.months > 0 {
            let (idx, _) = self.month_index(start - self.offset);
            return self.month_start(idx + self.months) + self.offset;
        }
        start + self.sliding
    }

    /// End (exclusive) of the window starting at `start`.
    pub fn end(&self, start: i64) -> i64 {
        if self.months > 0 {
            return self.next(start);
        }
        start + self.interval
    }

    /// Months since 1900-01 of `ts` in local time.
    fn month_index(&self, ts: i64) -> (i64, ()) {
        let secs = ts.div_euclid(self.p.per_second());
        let dt = Local
            .timestamp_opt(secs, 0)
            .single()
            .unwrap_or_else(|| Local.timestamp_opt(0, 0).single().expect("epoch"));
        (
            i64::from(dt.year() - 1900) * 12 + i64::from(dt.month0()),
            (),
        )
    }

    /// Local midnight of the first day of month `idx` (since 1900-01).
    /// Past the calendar's range (±262,000 years) the answer saturates,
    /// which is past every timestamp a table can hold.
    fn month_start(&self, idx: i64) -> i64 {
        let year = i32::try_from(1900 + idx.div_euclid(12)).unwrap_or(i32::MAX);
        let month = idx.rem_euclid(12) as u32 + 1;
        let start = NaiveDate::from_ymd_opt(year, month, 1)
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .and_then(|midnight| Local.from_local_datetime(&midnight).earliest());
        match start {
            Some(dt) => dt.timestamp().saturating_mul(self.p.per_second()),
            None if idx < 0 => i64::MIN,
            None => i64::MAX,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(count: i64, unit: char) -> Duration {
        Duration { count, unit }
    }

    #[test]
    fn epoch_aligned_sliding_windows() {
        let iv = Interval {
            every: d(1, 'm'),
            offset: None,
        };
        let w = Windows::new(&iv, Some(d(30, 's')), Precision::Ms).unwrap();
        // 14:38:05 belongs to [14:37:30, 14:38:30) and [14:38:00, 14:39:00)
        let ts = 1_538_548_685_000; // 2018-10-03 06:38:05 UTC
        let s = w.first_start(ts);
        assert_eq!(s, ts - 35_000);
        assert_eq!(w.next(s), ts - 5_000);
        assert_eq!(w.end(s), ts + 25_000);
        // offset shifts the grid
        let iv = Interval {
            every: d(1, 'm'),
            offset: Some(d(10, 's')),
        };
        let w = Windows::new(&iv, None, Precision::Ms).unwrap();
        assert_eq!(w.first_start(ts), ts - 55_000);
    }

    #[test]
    fn validation_messages() {
        let iv = |c, u| Interval {
            every: d(c, u),
            offset: None,
        };
        let err = |r: Result<Windows>| r.unwrap_err().msg;
        assert_eq!(
            err(Windows::new(&iv(5, 'a'), None, Precision::Ms)),
            "Interval cannot be less than 10 ms (10a)"
        );
        assert_eq!(
            err(Windows::new(&iv(1, 'm'), Some(d(2, 'm')), Precision::Ms)),
            "sliding value no larger than the interval value"
        );
        assert_eq!(
            err(Windows::new(&iv(10, 'm'), Some(d(5, 's')), Precision::Ms)),
            "sliding value can not less than 1% of interval value"
        );
        assert_eq!(
            err(Windows::new(&iv(1, 'n'), Some(d(1, 'd')), Precision::Ms)),
            "does not support sliding when interval is natural month/year"
        );
        let o = Interval {
            every: d(1, 'm'),
            offset: Some(d(1, 'm')),
        };
        assert_eq!(
            err(Windows::new(&o, None, Precision::Ms)),
            "Interval offset should be shorter than interval"
        );
    }
}
