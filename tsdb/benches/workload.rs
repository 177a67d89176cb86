//! The workloads against the tsdb, printed as a table:
//! ingest through the library API and over REST (one table; 10,000 child
//! tables), `interval(1m)` avg over the rows, count and max, and last_row
//! over the child tables.
//!
//!     cargo bench -p tsdb --bench workload                 # 10 M rows, 10,000 tables
//!     ROWS=1000000 TABLES=1000 cargo bench -p tsdb --bench workload
//!     ONLY=library cargo bench -p tsdb --bench workload    # one part (library, rest)
//!     REPEAT=9 ONLY=library cargo bench -p tsdb --bench workload
//!
//! `REPEAT` runs each library query that many times right after the ingest
//! (the memtable still holding its last rows) and then as many times after
//! a flush, and reports the medians; then, flushed, the JSON writer alone
//! on the window answer with `_wstart`, and that query over REST.
//!
//! REST runs in-process on 127.0.0.1:0 with 4 writer threads posting
//! 5,000-row INSERT statements (the shape).

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;

use common::{Conn, env, timed};
use tsdb::engine::Engine;
use tsdb::result::Output;

const BATCH: usize = 5000;
const WRITERS: usize = 4;
/// 2020-09-13 12:26:00 UTC (a minute boundary), one row per second from
/// there: 10 M rows make 166,667 one-minute windows.
const BASE: i64 = 1_599_999_960_000;

fn batch_sql(table: &str, from: usize, n: usize) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(n * 40 + 64);
    s.push_str("insert into ");
    s.push_str(table);
    s.push_str(" values ");
    for i in from..from + n {
        let ts = BASE + i as i64 * 1000;
        write!(s, "({ts},{},{}.5) ", i % 1000, i % 97).unwrap();
    }
    s
}

fn rows_of(o: &Output) -> usize {
    match o {
        Output::Rows { rows, .. } => rows.len(),
        _ => 0,
    }
}

/// An engine in `dir` with database `b` and the one-table schema `t`.
fn fresh(dir: &std::path::Path) -> Arc<Engine> {
    let engine = Arc::new(Engine::open(dir).unwrap());
    engine
        .execute("create database b keep 36500", None)
        .unwrap();
    engine
        .execute("create table t (ts timestamp, v int, w double)", Some("b"))
        .unwrap();
    engine
}

/// Posts `units` statements from WRITERS threads, each on its own
/// keep-alive connection (writer `w` takes units `w, w + WRITERS, ...`);
/// returns the seconds it took. The statements are made before the clock
/// starts, as `bench/influx.py` makes its line-protocol bodies.
fn write_concurrently(addr: &str, units: usize, sql: impl Fn(usize) -> String + Sync) -> f64 {
    let bodies: Vec<String> = (0..units).map(sql).collect();
    let bodies = &bodies;
    timed(|| {
        std::thread::scope(|sc| {
            for w in 0..WRITERS {
                sc.spawn(move || {
                    let mut conn = Conn::new(addr);
                    for unit in (w..units).step_by(WRITERS) {
                        conn.post("b", &bodies[unit]);
                    }
                });
            }
        })
    })
    .1
}

fn main() {
    let rows = env("ROWS", 10_000_000);
    let tables = env("TABLES", 10_000);
    let table_rows = env("TABLE_ROWS", 1_000_000);
    let dir = std::env::temp_dir().join(format!("tsdb-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let only = std::env::var("ONLY").unwrap_or_default();
    let part = |name: &str| only.is_empty() || only == name;
    let mut report: Vec<(String, String)> = Vec::new();
    if part("library") {
        library(&dir, rows, &mut report);
    }
    if part("rest") {
        rest(&dir, rows, tables, table_rows, &mut report);
    }
    println!("{:<60} result", "workload");
    for (k, v) in report {
        println!("{k:<60} {v}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ingest through the library API into one table, then the queries over it.
fn library(dir: &std::path::Path, rows: usize, report: &mut Vec<(String, String)>) {
    let engine = fresh(&dir.join("lib"));
    let mut secs = 0.0;
    for from in (0..rows).step_by(BATCH) {
        let sql = batch_sql("t", from, BATCH.min(rows - from));
        let (_, s) = timed(|| engine.execute(&sql, Some("b")).unwrap());
        secs += s;
    }
    report.push((
        "library ingest, 1 table".into(),
        format!("{:.2} M rows/s", rows as f64 / secs / 1e6),
    ));

    let repeat = env("REPEAT", 1).max(1);
    let median = |sql: &str| -> (Output, f64) {
        median_of(repeat, || engine.execute(sql, Some("b")).unwrap())
    };
    for stage in ["right after ingest", "flushed"] {
        if stage == "flushed" {
            engine.flush().unwrap();
        }
        let (o, s) = median("select avg(v) from t interval(1m)");
        report.push((
            format!(
                "interval(1m) avg over {rows} rows ({} windows), {stage}",
                rows_of(&o)
            ),
            format!("{:.1} ms", s * 1e3),
        ));
        let (_, s) = median("select count(*) from t");
        report.push((format!("count(*), {stage}"), format!("{:.1} ms", s * 1e3)));
        let (_, s) = median("select max(v) from t");
        report.push((format!("max(v), {stage}"), format!("{:.1} ms", s * 1e3)));
    }
    // the JSON writer alone, on that answer with its `_wstart` column
    let o = engine
        .execute("select _wstart, avg(v) from t interval(1m)", Some("b"))
        .unwrap();
    let (_, s) = median_of(repeat, || tsdb::rest::to_json_bytes(&o).len());
    report.push((
        format!(
            "the JSON of that answer ({} rows, _wstart and avg)",
            rows_of(&o)
        ),
        format!("{:.1} ms", s * 1e3),
    ));
    // the same window query over REST, flushed: the answer as the client
    // reads it (one keep-alive connection, the body read to its end)
    let (addr, _server) = common::serve(engine.clone());
    let mut conn = Conn::new(&addr);
    let (_, s) = median_of(repeat, || {
        conn.post("b", "select _wstart, avg(v) from t interval(1m)")
    });
    report.push((
        "interval(1m) avg over REST, flushed".into(),
        format!("{:.1} ms", s * 1e3),
    ));
}

/// `f` run `repeat` times (at least once): its last result and the median
/// of its times.
fn median_of<T>(repeat: usize, mut f: impl FnMut() -> T) -> (T, f64) {
    let mut last = None;
    let mut secs: Vec<f64> = (0..repeat.max(1))
        .map(|_| {
            let (r, s) = timed(&mut f);
            last = Some(r);
            s
        })
        .collect();
    secs.sort_by(f64::total_cmp);
    (last.expect("ran at least once"), secs[secs.len() / 2])
}

/// Ingest over REST into one table and over many child tables, then
/// last_row over the child tables.
fn rest(
    dir: &std::path::Path,
    rows: usize,
    tables: usize,
    table_rows: usize,
    report: &mut Vec<(String, String)>,
) {
    let engine = fresh(&dir.join("rest"));
    engine
        .execute(
            "create table st (ts timestamp, v int, w double) tags (id int)",
            Some("b"),
        )
        .unwrap();
    let (addr, _server) = common::serve(engine.clone());

    let s = write_concurrently(&addr, rows.div_ceil(BATCH), |unit| {
        let from = unit * BATCH;
        batch_sql("t", from, BATCH.min(rows - from))
    });
    report.push((
        format!("REST ingest, 1 table, {WRITERS} writers"),
        format!("{:.2} M rows/s", rows as f64 / s / 1e6),
    ));

    // many tables: TABLE_ROWS rows over TABLES child tables, auto-created
    let per_table = (table_rows / tables).max(1);
    let tables_per_batch = (BATCH / per_table).max(1);
    let s = write_concurrently(&addr, tables.div_ceil(tables_per_batch), |unit| {
        let first = unit * tables_per_batch;
        let mut sql = String::from("insert into ");
        for t in first..(first + tables_per_batch).min(tables) {
            use std::fmt::Write;
            write!(sql, "c{t} using st tags ({t}) values ").unwrap();
            for i in 0..per_table {
                let ts = BASE + i as i64 * 1000;
                write!(sql, "({ts},{i},{t}.5) ").unwrap();
            }
        }
        sql
    });
    report.push((
        format!(
            "REST ingest, {} rows over {tables} child tables",
            per_table * tables
        ),
        format!("{:.2} M rows/s", (per_table * tables) as f64 / s / 1e6),
    ));
    let (o, s) = timed(|| {
        engine
            .execute("select last_row(*) from st group by tbname", Some("b"))
            .unwrap()
    });
    report.push((
        format!("last_row over {} child tables", rows_of(&o)),
        format!("{:.0} ms", s * 1e3),
    ));
}
