//! Column types, values, time precision and the timestamp formats.
//!
//! May import: `error`.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};

use crate::error::{DbError, Result, code};

/// Longest BINARY/NCHAR column (2.x: ~16,374 bytes per column).
pub const MAX_BINARY_LEN: u32 = 16_374;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataType {
    Timestamp,
    Bool,
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Float,
    Double,
    /// BINARY/VARCHAR(n): n bytes.
    Binary(u32),
    /// NCHAR(n): n characters.
    NChar(u32),
}

impl DataType {
    /// The name in `DESCRIBE` and REST `column_meta` (3.x names).
    pub fn name(self) -> &'static str {
        match self {
            DataType::Timestamp => "TIMESTAMP",
            DataType::Bool => "BOOL",
            DataType::TinyInt => "TINYINT",
            DataType::SmallInt => "SMALLINT",
            DataType::Int => "INT",
            DataType::BigInt => "BIGINT",
            DataType::Float => "FLOAT",
            DataType::Double => "DOUBLE",
            DataType::Binary(_) => "VARCHAR",
            DataType::NChar(_) => "NCHAR",
        }
    }

    /// Bytes (BINARY: declared bytes; NCHAR: declared characters, as REST).
    #[allow(clippy::len_without_is_empty)]
    pub fn len(self) -> u32 {
        match self {
            DataType::Bool | DataType::TinyInt => 1,
            DataType::SmallInt => 2,
            DataType::Int | DataType::Float => 4,
            DataType::Timestamp | DataType::BigInt | DataType::Double => 8,
            DataType::Binary(n) | DataType::NChar(n) => n,
        }
    }

    pub fn is_numeric(self) -> bool {
        !matches!(self, DataType::Binary(_) | DataType::NChar(_))
    }

    pub fn is_string(self) -> bool {
        matches!(self, DataType::Binary(_) | DataType::NChar(_))
    }

    pub fn is_integer(self) -> bool {
        matches!(
            self,
            DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt
        )
    }

    /// Converts a value for storage in a column of this type, with
    /// TDengine's range rules (the 2.x NULL sentinels are out of range).
    /// The values an integer type holds (TDengine keeps the most negative
    /// value of each width for NULL); `None` for other types.
    pub fn int_bounds(self) -> Option<(i64, i64)> {
        match self {
            DataType::TinyInt => Some((-127, 127)),
            DataType::SmallInt => Some((-32_767, 32_767)),
            DataType::Int => Some((-2_147_483_647, 2_147_483_647)),
            DataType::BigInt => Some((-i64::MAX, i64::MAX)),
            _ => None,
        }
    }

    pub fn coerce(self, v: Value, col: &str) -> Result<Value> {
        let bad = |what: &str| {
            Err(DbError::invalid(format!(
                "invalid value for column {col} of type {}: {what}",
                self.decl()
            )))
        };
        if v.is_null() {
            return Ok(Value::Null);
        }
        match self {
            DataType::Bool => match v {
                Value::Bool(b) => Ok(Value::Bool(b)),
                Value::Int(i) => Ok(Value::Bool(i != 0)),
                Value::Double(d) => Ok(Value::Bool(d != 0.0)),
                Value::Str(s) => match s.to_ascii_lowercase().as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => bad(&format!("'{s}'")),
                },
                Value::Null => unreachable!(),
            },
            DataType::TinyInt | DataType::SmallInt | DataType::Int | DataType::BigInt => {
                let i = match v {
                    Value::Int(i) => i,
                    Value::Bool(b) => i64::from(b),
                    Value::Double(d) if d.fract() == 0.0 && d.abs() < 9.2e18 => d as i64,
                    Value::Double(d) => return bad(&d.to_string()),
                    Value::Str(s) => match s.trim().parse::<i64>() {
                        Ok(i) => i,
                        Err(_) => return bad(&format!("'{s}'")),
                    },
                    Value::Null => unreachable!(),
                };
                let (lo, hi) = self.int_bounds().expect("an integer type");
                if i < lo || i > hi {
                    return bad(&format!("{i} is out of range [{lo}, {hi}]"));
                }
                Ok(Value::Int(i))
            }
            DataType::Float | DataType::Double => {
                let d = match v {
                    Value::Int(i) => i as f64,
                    Value::Double(d) => d,
                    Value::Bool(b) => f64::from(u8::from(b)),
                    Value::Str(s) => match s.trim().parse::<f64>() {
                        Ok(d) => d,
                        Err(_) => return bad(&format!("'{s}'")),
                    },
                    Value::Null => unreachable!(),
                };
                if self == DataType::Float {
                    if d.is_finite() && d.abs() > f64::from(f32::MAX) {
                        return bad(&format!("{d} is out of the FLOAT range"));
                    }
                    Ok(Value::Double(f64::from(d as f32)))
                } else {
                    Ok(Value::Double(d))
                }
            }
            DataType::Binary(n) | DataType::NChar(n) => {
                let s = match v {
                    Value::Str(s) => s,
                    Value::Int(i) => i.to_string(),
                    Value::Double(d) => d.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => unreachable!(),
                };
                let len = if matches!(self, DataType::NChar(_)) {
                    s.chars().count()
                } else {
                    s.len()
                };
                if len > n as usize {
                    return Err(DbError::invalid(format!(
                        "value too long for column {col} of type {}: {len} > {n}",
                        self.decl()
                    )));
                }
                Ok(Value::Str(s))
            }
            DataType::Timestamp => match v {
                Value::Int(i) => Ok(Value::Int(i)),
                _ => bad("a timestamp is expected"),
            },
        }
    }

    /// The declaration as written in SQL: `INT`, `BINARY(64)`.
    pub fn decl(self) -> String {
        match self {
            DataType::Binary(n) => format!("BINARY({n})"),
            DataType::NChar(n) => format!("NCHAR({n})"),
            t => t.name().to_owned(),
        }
    }
}

/// A value. All integer types and timestamps are `Int`, FLOAT and DOUBLE
/// are `Double` (a FLOAT is rounded through f32 when stored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Double(f64),
    Str(String),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Double(d) => Some(*d),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Double(d) if d.is_finite() => Some(*d as i64),
            _ => None,
        }
    }

    /// SQL comparison; `None` when either side is NULL or types differ.
    pub fn cmp_sql(&self, other: &Value) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => None,
            (Value::Str(a), Value::Str(b)) => Some(a.cmp(b)),
            (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
            (Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
            (a, b) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        }
    }
}

/// Timestamp precision of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Precision {
    #[default]
    Ms,
    Us,
    Ns,
}

impl Precision {
    pub fn parse(s: &str) -> Result<Precision> {
        match s.to_ascii_lowercase().as_str() {
            "ms" => Ok(Precision::Ms),
            "us" => Ok(Precision::Us),
            "ns" => Ok(Precision::Ns),
            _ => Err(DbError::invalid(format!(
                "invalid precision '{s}', expected 'ms', 'us' or 'ns'"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Ms => "ms",
            Precision::Us => "us",
            Precision::Ns => "ns",
        }
    }

    /// Ticks per second.
    pub fn per_second(self) -> i64 {
        match self {
            Precision::Ms => 1_000,
            Precision::Us => 1_000_000,
            Precision::Ns => 1_000_000_000,
        }
    }

    /// Ticks per millisecond.
    pub fn per_ms(self) -> i64 {
        self.per_second() / 1000
    }

    /// Digits of the fraction of a second.
    pub fn digits(self) -> usize {
        match self {
            Precision::Ms => 3,
            Precision::Us => 6,
            Precision::Ns => 9,
        }
    }

    /// The current time in this precision.
    pub fn now(self) -> i64 {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        match self {
            Precision::Ms => d.as_millis() as i64,
            Precision::Us => d.as_micros() as i64,
            Precision::Ns => d.as_nanos() as i64,
        }
    }
}

/// Parses a timestamp string: `YYYY-MM-DD HH:MM:SS[.fff]` in local time, or
/// RFC 3339 with an offset (`2013-04-12T15:52:01.123+08:00`, `...+0800`).
pub fn parse_timestamp(s: &str, p: Precision) -> Result<i64> {
    let t = s.trim();
    let bad = || DbError::new(code::INVALID_VALUE, format!("invalid timestamp: '{s}'"));
    // chrono is lenient about field widths ("2018-10-014:38" would pass as
    // the 1st); TDengine wants YYYY-MM-DD, then a space, 'T' or the end.
    let b = t.as_bytes();
    let date_ok = b.len() >= 10
        && b[..10].iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
        && matches!(b.get(10), None | Some(b' ' | b'T'));
    if !date_ok {
        return Err(bad());
    }
    let dt: DateTime<chrono::FixedOffset> = if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        dt
    } else if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z") {
        dt
    } else {
        let naive = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f"))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists"))
            })
            .map_err(|_| bad())?;
        Local
            .from_local_datetime(&naive)
            .earliest()
            .ok_or_else(bad)?
            .fixed_offset()
    };
    let ns = dt.timestamp_nanos_opt().ok_or_else(bad)?;
    Ok(match p {
        Precision::Ms => ns.div_euclid(1_000_000),
        Precision::Us => ns.div_euclid(1_000),
        Precision::Ns => ns,
    })
}

fn to_datetime(ts: i64, p: Precision) -> Option<DateTime<Local>> {
    let (secs, sub) = (ts.div_euclid(p.per_second()), ts.rem_euclid(p.per_second()));
    let nanos = sub * (1_000_000_000 / p.per_second());
    Local.timestamp_opt(secs, nanos as u32).single()
}

/// `2018-10-03 14:38:05.000` in local time, as the taos shell prints.
pub fn format_local(ts: i64, p: Precision) -> String {
    match to_datetime(ts, p) {
        Some(dt) => {
            let frac = match p {
                Precision::Ms => format!("{:03}", dt.timestamp_subsec_millis()),
                Precision::Us => format!("{:06}", dt.timestamp_subsec_micros()),
                Precision::Ns => format!("{:09}", dt.timestamp_subsec_nanos()),
            };
            format!("{}.{frac}", dt.format("%Y-%m-%d %H:%M:%S"))
        }
        None => ts.to_string(),
    }
}

/// RFC 3339 in local time with the fraction's trailing zeros trimmed, as
/// taosAdapter answers: `2022-07-30T06:44:40.32Z`.
pub fn format_rfc3339(ts: i64, p: Precision) -> String {
    let Some(dt) = to_datetime(ts, p) else {
        return ts.to_string();
    };
    let frac = match p {
        Precision::Ms => format!("{:03}", dt.timestamp_subsec_millis()),
        Precision::Us => format!("{:06}", dt.timestamp_subsec_micros()),
        Precision::Ns => format!("{:09}", dt.timestamp_subsec_nanos()),
    };
    let frac = frac.trim_end_matches('0');
    let offset = dt.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_owned()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let o = offset.abs();
        format!("{sign}{:02}:{:02}", o / 3600, o % 3600 / 60)
    };
    let base = dt.format("%Y-%m-%dT%H:%M:%S");
    if frac.is_empty() {
        format!("{base}{zone}")
    } else {
        format!("{base}.{frac}{zone}")
    }
}

/// Appends [`format_rfc3339`]'s text for `ts` to `out` without making a
/// string: the REST writer calls it for every timestamp of a result (a
/// 1-minute INTERVAL over a month is 43,200 of them), where chrono's
/// formatter and the intermediate strings cost more than the query. The
/// offset still comes from chrono's local time zone ([`LocalOffsets`]),
/// so DST and zone history come out as before (a test compares both).
pub fn write_rfc3339(out: &mut Vec<u8>, ts: i64, p: Precision, offsets: &mut LocalOffsets) {
    let per = p.per_second();
    let (secs, sub) = (ts.div_euclid(per), ts.rem_euclid(per));
    let offset = match offsets.at(secs) {
        Some(offset) => offset,
        None => {
            out.extend_from_slice(format_rfc3339(ts, p).as_bytes());
            return;
        }
    };
    let local = secs + offset;
    let (days, sod) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let date = match offsets.date {
        Some((day, date)) if day == days => date,
        _ => {
            let (y, m, d) = civil_from_days(days);
            if !(0..=9999).contains(&y) {
                out.extend_from_slice(format_rfc3339(ts, p).as_bytes());
                return;
            }
            let mut date = *b"0000-00-00";
            fill_digits(&mut date[..4], y);
            fill_digits(&mut date[5..7], m);
            fill_digits(&mut date[8..], d);
            offsets.date = Some((days, date));
            date
        }
    };
    let mut time = *b"T00:00:00";
    fill_digits(&mut time[1..3], sod / 3600);
    fill_digits(&mut time[4..6], sod % 3600 / 60);
    fill_digits(&mut time[7..], sod % 60);
    out.extend_from_slice(&date);
    out.extend_from_slice(&time);
    if sub != 0 {
        let width = match p {
            Precision::Ms => 3,
            Precision::Us => 6,
            Precision::Ns => 9,
        };
        // the fraction without its trailing zeros
        let (mut frac, mut n) = (sub, width);
        while frac % 10 == 0 {
            frac /= 10;
            n -= 1;
        }
        out.push(b'.');
        put_digits(out, frac, n);
    }
    if offset == 0 {
        out.push(b'Z');
    } else {
        out.push(if offset < 0 { b'-' } else { b'+' });
        let o = offset.abs();
        put_digits(out, o / 3600, 2);
        out.push(b':');
        put_digits(out, o % 3600 / 60, 2);
    }
}

/// The local zone's UTC offset for the timestamps of one answer,
/// remembered for a whole UTC hour when the offset at the hour's first and
/// last second agree.
///
/// Why: chrono's `Local` reads the clock and a thread-local cache on every
/// lookup (to notice a changed `TZ`), which was a third of writing a
/// 166,667-row window answer; the timestamps of an answer mostly share
/// their hour. Exact unless a zone changed its offset twice within one
/// hour and back to where it started, which no zone in the tz database
/// has done (transitions are months, at the least days, apart).
#[derive(Default)]
pub struct LocalOffsets {
    /// The hour (UTC seconds / 3600) `offset` holds for, if any.
    hour: Option<i64>,
    offset: i64,
    /// The last local day written (days since 1970-01-01) and its
    /// `YYYY-MM-DD`: an answer's timestamps mostly share their day, and the
    /// calendar arithmetic was a third of writing one.
    date: Option<(i64, [u8; 10])>,
}

impl LocalOffsets {
    /// The offset in seconds at UTC second `secs`; `None` out of chrono's
    /// range.
    pub fn at(&mut self, secs: i64) -> Option<i64> {
        let hour = secs.div_euclid(3600);
        if self.hour == Some(hour) {
            return Some(self.offset);
        }
        let lookup = |s: i64| {
            Local
                .timestamp_opt(s, 0)
                .single()
                .map(|dt| i64::from(dt.offset().local_minus_utc()))
        };
        let (first, last) = (lookup(hour * 3600), lookup(hour * 3600 + 3599));
        match (first, last) {
            (Some(a), Some(b)) if a == b => {
                self.hour = Some(hour);
                self.offset = a;
                Some(a)
            }
            // a transition inside this hour: this second's own offset
            _ => {
                self.hour = None;
                lookup(secs)
            }
        }
    }
}

/// `v` as decimal digits filling `buf`, zero-padded (`v` ≥ 0).
fn fill_digits(buf: &mut [u8], mut v: i64) {
    for b in buf.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `v` as `n` decimal digits, zero-padded (`v` ≥ 0, `n` ≤ 9).
fn put_digits(out: &mut Vec<u8>, v: i64, n: usize) {
    let mut buf = [b'0'; 9];
    fill_digits(&mut buf[..n], v);
    out.extend_from_slice(&buf[..n]);
}

/// The proleptic Gregorian date of a day count from 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc3339_writer_agrees_with_the_formatter() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for p in [Precision::Ms, Precision::Us, Precision::Ns] {
            let per = p.per_second();
            let mut cases: Vec<i64> = vec![
                0,
                -1,
                1,
                per,
                -per,
                951_782_400 * per,
                4_102_444_800 * per - 1,
            ];
            for _ in 0..20_000 {
                // 1900..2100, with and without fractions
                let secs = (next() % 6_311_390_400) as i64 - 2_208_988_800;
                let sub = match next() % 3 {
                    0 => 0,
                    1 => (next() % per as u64) as i64,
                    _ => (next() % 1000) as i64 * (per / 1000).max(1),
                };
                cases.push(secs.saturating_mul(per).saturating_add(sub));
            }
            cases.push(i64::MAX);
            cases.push(i64::MIN);
            for ts in cases {
                let mut out = Vec::new();
                write_rfc3339(&mut out, ts, p, &mut LocalOffsets::default());
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format_rfc3339(ts, p),
                    "{ts} {p:?}"
                );
            }
        }
    }

    /// One [`LocalOffsets`] over an answer's worth of increasing
    /// timestamps, two years of them 7 min 13 s apart (every DST change of
    /// the zone the tests run in, and the hours around it), writes what the
    /// per-value formatter does. [`remembered_offsets_in_zones_with_dst`]
    /// runs it again in zones that have changes.
    #[test]
    fn remembered_offsets_agree_across_dst_changes() {
        if let Some(tz) = std::env::var_os(TZ_CHILD) {
            // the zone must have taken: each of those is off UTC in July
            let july = LocalOffsets::default().at(1_561_939_200);
            assert_ne!(july, Some(0), "TZ={tz:?} was not applied");
        }
        for p in [Precision::Ms, Precision::Ns] {
            let per = p.per_second();
            let mut offsets = LocalOffsets::default();
            let mut secs = 1_546_300_800; // 2019-01-01T00:00:00Z
            while secs < 1_609_459_200 {
                let ts = secs * per + 7 * (per / 1000);
                let mut out = Vec::new();
                write_rfc3339(&mut out, ts, p, &mut offsets);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    format_rfc3339(ts, p),
                    "{ts}"
                );
                secs += 433;
            }
        }
    }

    /// Set in the child processes of [`remembered_offsets_in_zones_with_dst`].
    const TZ_CHILD: &str = "TSDB_TEST_TZ_CHILD";

    /// The test above in New York (DST), Lord Howe (a 30-minute DST) and
    /// Kathmandu (+05:45), each in a child process of this test binary
    /// with `TZ` set: chrono reads the zone once per process.
    #[test]
    fn remembered_offsets_in_zones_with_dst() {
        if std::env::var_os(TZ_CHILD).is_some() {
            return;
        }
        for tz in ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu"] {
            let file = std::path::Path::new("/usr/share/zoneinfo").join(tz);
            assert!(
                file.exists(),
                "{} is missing: install tzdata",
                file.display()
            );
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "types::tests::remembered_offsets_agree_across_dst_changes",
                ])
                .env("TZ", tz)
                .env(TZ_CHILD, tz)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "TZ={tz}: {text}");
            assert!(text.contains("1 passed"), "TZ={tz}: {text}");
        }
    }

    #[test]
    fn timestamps_round_trip() {
        let ts = parse_timestamp("2018-10-03T14:38:05.000+08:00", Precision::Ms).unwrap();
        assert_eq!(ts, 1_538_548_685_000);
        assert_eq!(
            parse_timestamp("2018-10-03T14:38:05.5+0800", Precision::Us).unwrap(),
            1_538_548_685_500_000
        );
        let local = parse_timestamp("2018-10-03 14:38:05.800", Precision::Ms).unwrap();
        assert_eq!(
            format_local(local, Precision::Ms),
            "2018-10-03 14:38:05.800"
        );
        assert!(parse_timestamp("2018-13-03 14:38:05", Precision::Ms).is_err());
        assert!(parse_timestamp("2018-10-014:38:00", Precision::Ms).is_err());
        assert!(parse_timestamp("18-10-01 14:38:00", Precision::Ms).is_err());
        assert_eq!(
            parse_timestamp("2018-10-03", Precision::Ms).unwrap(),
            parse_timestamp("2018-10-03 00:00:00", Precision::Ms).unwrap()
        );
    }

    #[test]
    fn coercion_follows_tdengine_ranges() {
        assert_eq!(
            DataType::TinyInt.coerce(Value::Int(127), "c").unwrap(),
            Value::Int(127)
        );
        assert!(DataType::TinyInt.coerce(Value::Int(-128), "c").is_err());
        assert_eq!(
            DataType::Float.coerce(Value::Double(10.3), "c").unwrap(),
            Value::Double(f64::from(10.3f32))
        );
        let e = DataType::Binary(3)
            .coerce(Value::Str("abcd".into()), "loc")
            .unwrap_err();
        assert_eq!(
            e.msg,
            "value too long for column loc of type BINARY(3): 4 > 3"
        );
        assert_eq!(
            DataType::NChar(2)
                .coerce(Value::Str("北京".into()), "c")
                .unwrap(),
            Value::Str("北京".into())
        );
    }
}

/// A map keyed by table uid. Uids are small integers the catalog hands out
/// in order, and a query over a super table looks up three such maps per
/// child table, so they hash with one multiply instead of SipHash (no
/// client picks uids, so there is nothing to flood).
pub type UidMap<V> = std::collections::HashMap<u64, V, std::hash::BuildHasherDefault<UidHasher>>;

/// Fibonacci hashing of a `u64` key (see [`UidMap`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct UidHasher(u64);

impl std::hash::Hasher for UidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // only u64 keys are hashed; this keeps other keys correct, if slow
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, k: u64) {
        self.0 = (self.0 ^ k).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
