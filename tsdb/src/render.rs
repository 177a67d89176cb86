//! The `taos` shell's output (spec B1): horizontal tables with centred
//! headers, type-dependent widths and number formats, and the outcome
//! lines (`Query OK, N row(s) in set (0.001165s)`).
//!
//! It renders REST answers (column types by name, timestamps as RFC 3339),
//! since the shell talks to the server over REST.
//!
//! May import: nothing of the crate.

use chrono::{DateTime, Local};
use serde_json::Value as Json;

/// `maxBinaryDisplayWidth`: longest BINARY/NCHAR cell.
pub const DEFAULT_DISPLAY_WIDTH: usize = 30;

#[derive(Debug, Clone, PartialEq)]
pub struct Col {
    pub name: String,
    pub ty: String,
    pub len: usize,
}

/// Digits of the fraction to show for a timestamp column: 3, 6 or 9, as
/// many as the longest value has (REST trims trailing zeros).
pub fn ts_digits(rows: &[Vec<Json>], i: usize) -> usize {
    let mut d = 3;
    for r in rows {
        if let Some(Json::String(s)) = r.get(i) {
            if let Some(frac) = s.split('.').nth(1) {
                let n = frac.chars().take_while(char::is_ascii_digit).count();
                d = d.max(if n > 6 {
                    9
                } else if n > 3 {
                    6
                } else {
                    3
                });
            }
        }
    }
    d
}

fn type_width(c: &Col, ts_digits: usize, display: usize) -> usize {
    match c.ty.as_str() {
        "BOOL" => 5,
        "TINYINT" => 4,
        "SMALLINT" => 6,
        "INT" => 11,
        "BIGINT" => 21,
        "FLOAT" => 20,
        "DOUBLE" => 25,
        "TIMESTAMP" => 20 + ts_digits,
        "NCHAR" => (4 * c.len).min(display),
        _ => c.len.min(display),
    }
}

/// Display width of a string (CJK characters take two cells).
fn text_width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            if (0x1100..=0x115F).contains(&u)
                || (0x2E80..=0xA4CF).contains(&u)
                || (0xAC00..=0xD7A3).contains(&u)
                || (0xF900..=0xFAFF).contains(&u)
                || (0xFF00..=0xFF60).contains(&u)
                || (0xFFE0..=0xFFE6).contains(&u)
            {
                2
            } else {
                1
            }
        })
        .sum()
}

/// An RFC 3339 timestamp from REST in local time with `digits` of fraction.
pub fn local_time(s: &str, digits: usize) -> String {
    match DateTime::parse_from_rfc3339(s) {
        Ok(dt) => {
            let l = dt.with_timezone(&Local);
            let frac = match digits {
                3 => format!("{:03}", l.timestamp_subsec_millis()),
                6 => format!("{:06}", l.timestamp_subsec_micros()),
                _ => format!("{:09}", l.timestamp_subsec_nanos()),
            };
            format!("{}.{frac}", l.format("%Y-%m-%d %H:%M:%S"))
        }
        Err(_) => s.to_owned(),
    }
}

fn cell(v: &Json, c: &Col, w: usize, digits: usize) -> String {
    let numeric = !matches!(
        c.ty.as_str(),
        "VARCHAR" | "BINARY" | "NCHAR" | "JSON" | "TIMESTAMP"
    );
    match v {
        Json::Null => {
            if numeric {
                format!("{:>w$}", "NULL")
            } else {
                format!("{:<w$}", "NULL")
            }
        }
        Json::Bool(b) => format!("{:>w$}", b.to_string()),
        Json::Number(n) => match c.ty.as_str() {
            "FLOAT" => format!("{:>w$.5}", n.as_f64().unwrap_or(0.0)),
            "DOUBLE" => {
                let x = n.as_f64().unwrap_or(0.0);
                let s = format!("{x:.9}");
                if s.len() > w.max(25) {
                    format!("{:>w$}", format_exp(x))
                } else {
                    format!("{s:>w$}")
                }
            }
            _ => format!("{:>w$}", n.to_string()),
        },
        Json::String(s) if c.ty == "TIMESTAMP" => format!("{:<w$}", local_time(s, digits)),
        Json::String(s) => {
            let tw = text_width(s);
            if tw <= w {
                format!("{s}{}", " ".repeat(w - tw))
            } else {
                // cut to w - 3 cells and end with "..."
                let mut out = String::new();
                let mut used = 0;
                for ch in s.chars() {
                    let cw = text_width(&ch.to_string());
                    if used + cw > w.saturating_sub(3) {
                        break;
                    }
                    out.push(ch);
                    used += cw;
                }
                format!("{out}{}...", " ".repeat(w.saturating_sub(3) - used))
            }
        }
        other => format!("{:<w$}", other.to_string()),
    }
}

/// `%.15e` as C prints it: `1.234500000000000e+30`.
fn format_exp(x: f64) -> String {
    let s = format!("{x:.15e}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// The table of a result set (header, rule, rows), without the outcome line.
pub fn table(cols: &[Col], rows: &[Vec<Json>], display: usize) -> String {
    let digits: Vec<usize> = (0..cols.len()).map(|i| ts_digits(rows, i)).collect();
    let widths: Vec<usize> = cols
        .iter()
        .enumerate()
        .map(|(i, c)| text_width(&c.name).max(type_width(c, digits[i], display)))
        .collect();
    let mut out = String::new();
    for (c, w) in cols.iter().zip(&widths) {
        let len = text_width(&c.name);
        let left = (w - len) / 2;
        out.push(' ');
        out.push_str(&" ".repeat(left));
        out.push_str(&c.name);
        out.push_str(&" ".repeat(w - len - left));
        out.push_str(" |");
    }
    out.push('\n');
    out.push_str(&"=".repeat(widths.iter().map(|w| w + 3).sum()));
    out.push('\n');
    for r in rows {
        for (i, (c, w)) in cols.iter().zip(&widths).enumerate() {
            out.push(' ');
            out.push_str(&cell(r.get(i).unwrap_or(&Json::Null), c, *w, digits[i]));
            out.push_str(" |");
        }
        out.push('\n');
    }
    out
}

/// Vertical layout (`\G`).
pub fn vertical(cols: &[Col], rows: &[Vec<Json>]) -> String {
    let name_w = cols.iter().map(|c| text_width(&c.name)).max().unwrap_or(0);
    let mut out = String::new();
    for (n, r) in rows.iter().enumerate() {
        out.push_str(&format!(
            "*************************** {}.row ***************************\n",
            n + 1
        ));
        for (i, c) in cols.iter().enumerate() {
            let digits = ts_digits(rows, i);
            let v = cell(r.get(i).unwrap_or(&Json::Null), c, 0, digits);
            out.push_str(&format!("{:>name_w$}: {}\n", c.name, v.trim()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn col(name: &str, ty: &str, len: usize) -> Col {
        Col {
            name: name.into(),
            ty: ty.into(),
            len,
        }
    }

    #[test]
    fn the_docs_example_exactly() {
        let cols = [
            col("current", "FLOAT", 4),
            col("voltage", "INT", 4),
            col("phase", "FLOAT", 4),
        ];
        let rows = vec![vec![json!(10.3), json!(219), json!(0.31)]];
        let rule = "=".repeat(60);
        let expected = [
            "       current        |   voltage   |        phase         |",
            rule.as_str(),
            "             10.30000 |         219 |              0.31000 |",
            "",
        ];
        assert_eq!(table(&cols, &rows, 30), expected.join("\n"));
        let count = [col("count(*)", "BIGINT", 8)];
        assert_eq!(
            table(&count, &[vec![json!(3)]], 30),
            "       count(*)        |\n========================\n                     3 |\n"
        );
    }

    #[test]
    fn strings_nulls_and_long_values() {
        let cols = [col("location", "VARCHAR", 64), col("v", "INT", 4)];
        let rows = vec![
            vec![json!("Beijing.Chaoyang"), json!(null)],
            vec![json!("a string that is longer than thirty cells"), json!(1)],
        ];
        let t = table(&cols, &rows, 30);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[2], " Beijing.Chaoyang               |        NULL |");
        assert_eq!(lines[3], " a string that is longer tha... |           1 |");
        assert_eq!(format_exp(1.2345e30), "1.234500000000000e+30");
    }
}
