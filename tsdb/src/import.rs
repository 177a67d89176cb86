//! `tsdb import`: loads a CSV file into one table over REST, in batches,
//! with a progress bar.
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

/// Imports `file`; returns the rows written.
pub fn import(client: &mut Client, file: &Path, spec: &ImportSpec<'_>) -> Result<u64, String> {
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

#[cfg(test)]
mod tests {
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
