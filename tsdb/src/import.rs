//! `tsdb import`: loads a CSV file into one table over REST, in batches,
//! with a progress bar; or (`--line-protocol`) an InfluxDB line-protocol
//! file into a database through the schemaless writer.
//!
//! The file is TDengine's `INSERT ... FILE` format: one row per line,
//! comma-separated values in column order, strings and timestamps
//! single-quoted (unquoted timestamps are epoch values in the database's
//! precision); `--header` skips a first line of column names. Unquoted
//! fields that are not numbers, `NULL`, `true` or `false` are quoted.
//!
//! May import: `csv_values`, `shell`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use crate::csv_values::row;
use crate::shell::Client;

/// Rows per INSERT statement (the benchmark's batch size).
pub const DEFAULT_BATCH: usize = 5000;

pub struct ImportSpec<'a> {
    pub db: &'a str,
    pub table: &'a str,
    /// `USING stable TAGS (...)` to create the table if needed.
    pub using: Option<(&'a str, &'a str)>,
    pub batch: usize,
    pub header: bool,
}

/// `file`, opened, and a progress bar of its bytes on stderr.
fn open_with_bar(file: &Path) -> Result<(std::fs::File, indicatif::ProgressBar), String> {
    let f =
        std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(size),
        indicatif::ProgressDrawTarget::stderr(),
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {msg} ({elapsed}, {eta} left)",
        )
        .map_err(|e| e.to_string())?,
    );
    Ok((f, bar))
}

/// Imports `file`; returns the rows written.
pub fn import(client: &mut Client, file: &Path, spec: &ImportSpec<'_>) -> Result<u64, String> {
    let (f, bar) = open_with_bar(file)?;
    client.db = Some(spec.db.to_owned());
    let head = match spec.using {
        Some((st, tags)) => format!(
            "insert into {} using {st} tags ({tags}) values ",
            spec.table
        ),
        None => format!("insert into {} values ", spec.table),
    };
    let started = Instant::now();
    let mut sql = String::with_capacity(spec.batch * 64);
    let (mut rows, mut in_batch, mut read, mut last_no) = (0u64, 0usize, 0u64, 0u64);
    let flush = |sql: &mut String, n: usize, line_no: u64| -> Result<u64, String> {
        let answer = client.query(sql)?;
        sql.clear();
        if answer["code"].as_i64() != Some(0) {
            return Err(format!(
                "rows up to line {line_no}: {}",
                answer["desc"].as_str().unwrap_or("unknown error")
            ));
        }
        Ok(n as u64)
    };
    for (no, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: line {}: {e}", file.display(), no + 1))?;
        read += line.len() as u64 + 1;
        last_no = no as u64 + 1;
        if (no == 0 && spec.header) || line.trim().is_empty() {
            continue;
        }
        if in_batch == 0 {
            sql.push_str(&head);
        }
        row(&line, &mut sql);
        in_batch += 1;
        if in_batch == spec.batch {
            rows += flush(&mut sql, in_batch, no as u64 + 1)?;
            in_batch = 0;
            bar.set_position(read);
            bar.set_message(format!("{rows} rows"));
        }
    }
    if in_batch > 0 {
        rows += flush(&mut sql, in_batch, last_no)?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "imported {rows} rows into {}.{} in {secs:.2} s ({:.0} rows/s)",
        spec.db,
        spec.table,
        rows as f64 / secs.max(1e-9)
    );
    Ok(rows)
}

/// Imports an InfluxDB line-protocol file into database `db` through
/// `POST /influxdb/v1/write` (the server's schemaless writer creates and
/// widens the super tables), `batch` lines per request; returns the lines
/// written. A refused batch stops the import with the server's message,
/// its line number counted in the file.
pub fn import_lines(
    client: &Client,
    file: &Path,
    db: &str,
    precision: &str,
    batch: usize,
) -> Result<u64, String> {
    let (f, bar) = open_with_bar(file)?;
    let path = format!(
        "/influxdb/v1/write?db={}&precision={}",
        percent(db),
        percent(precision)
    );
    let started = Instant::now();
    let mut body = String::with_capacity(batch * 64);
    // the file's line number of each line in `body`
    let mut numbers: Vec<u64> = Vec::with_capacity(batch);
    let (mut written, mut read) = (0u64, 0u64);
    let send = |body: &mut String, numbers: &mut Vec<u64>| -> Result<u64, String> {
        let answer = client.request("POST", &path, body)?;
        if !answer.is_null() {
            let desc = answer["desc"].as_str().unwrap_or("unknown error");
            return Err(in_file_lines(desc, numbers));
        }
        let n = numbers.len() as u64;
        body.clear();
        numbers.clear();
        Ok(n)
    };
    for (no, line) in BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: line {}: {e}", file.display(), no + 1))?;
        read += line.len() as u64 + 1;
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        body.push_str(&line);
        body.push('\n');
        numbers.push(no as u64 + 1);
        if numbers.len() == batch {
            written += send(&mut body, &mut numbers)?;
            bar.set_position(read);
            bar.set_message(format!("{written} lines"));
        }
    }
    if !numbers.is_empty() {
        written += send(&mut body, &mut numbers)?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "imported {written} lines into {db} in {secs:.2} s ({:.0} lines/s)",
        written as f64 / secs.max(1e-9)
    );
    Ok(written)
}

/// The server's message with its `line N` (of the request) turned into the
/// file's line number.
fn in_file_lines(desc: &str, numbers: &[u64]) -> String {
    for (at, _) in desc.match_indices("line ") {
        let digits: String = desc[at + 5..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(n) = digits.parse::<usize>() {
            if let Some(file_line) = n.checked_sub(1).and_then(|i| numbers.get(i)) {
                return format!(
                    "{}line {file_line}{}",
                    &desc[..at],
                    &desc[at + 5 + digits.len()..]
                );
            }
        }
    }
    format!(
        "lines {}..{}: {desc}",
        numbers.first().unwrap_or(&0),
        numbers.last().unwrap_or(&0)
    )
}

/// Percent-encodes a query-string value.
fn percent(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_lines_become_file_lines() {
        let numbers = [10, 12, 13];
        assert_eq!(
            super::in_file_lines("line protocol, line 2: tag 't' has no value", &numbers),
            "line protocol, line 12: tag 't' has no value"
        );
        assert_eq!(
            super::in_file_lines("Database not exist", &numbers),
            "lines 10..13: Database not exist"
        );
        assert_eq!(super::percent("a b&c"), "a%20b%26c");
    }

    use super::*;

    #[test]
    fn csv_lines_become_value_tuples() {
        let mut s = String::new();
        row(
            "'2018-10-03 14:38:05.000',10.3,219,'Beijing, Chaoyang',NULL",
            &mut s,
        );
        assert_eq!(
            s,
            "('2018-10-03 14:38:05.000', 10.3, 219, 'Beijing, Chaoyang', NULL) "
        );
        s.clear();
        row("1538548685000,abc,it's", &mut s);
        assert_eq!(s, "(1538548685000, 'abc', 'it\\'s') ");
    }
}
