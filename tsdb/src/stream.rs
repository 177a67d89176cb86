//! Continuous queries (tsdb-sql A10, C5): `CREATE TABLE t AS SELECT ...
//! INTERVAL(i) [SLIDING(s)]` creates the table `t` and a stream that, as
//! time passes, computes each window once it has closed and appends its
//! row to `t`. `CREATE STREAM [IF NOT EXISTS] name [options] INTO t AS
//! SELECT ...` (3.x) is the same thing with a name.
//!
//! # Semantics (2.x, as the seed describes them)
//!
//! - Windows are those of the query's INTERVAL / SLIDING grid. Without a
//!   start bound the first is the window of the first matching row, so
//!   history is computed first (3.x `FILL_HISTORY 0` starts at the window
//!   of the creation time instead).
//! - A window `[s, e)` is computed when system time passes `e + delay`:
//!   `delay` is a tenth of the interval, at most 20 s (2.x's
//!   `streamCompDelayRatio` / `maxStreamCompDelay`), or the 3.x `WATERMARK`.
//!   Rows arriving after that do not change the written row (no recompute).
//! - `now` in the WHERE clause is frozen at creation. A window starting
//!   after the end bound (`ts <= now + 1h`) is never due: the stream then
//!   completes and stops itself.
//! - Empty windows write nothing. The result table is a normal table:
//!   `ts` (the window start), then one column per select item, named by its
//!   alias or its text with every other character than letters and digits
//!   made `_` (`avg(voltage)` → `avg_voltage_`).
//!
//! # Durability
//!
//! The stream (with the start of the next window to compute) is a catalog
//! entry. A run writes the rows of the due windows through the ordinary
//! INSERT path (WAL) and then moves `next` on; a crash in between computes
//! those windows again after the restart and writes the same timestamps,
//! which the table's duplicate rule absorbs: no gap, no duplicate row.
//! Windows that closed while the server was down are computed at the first
//! run after the restart.
//!
//! # Scheduling
//!
//! [`run_due`] is called by the server every [`TICK`] with the system time
//! (tests call it with their own clock). A run holds the read lock for one
//! query over at most [`BATCH_WINDOWS`] windows and the write lock for one
//! insert: inserts and queries are never held up for long. A failing query
//! is recorded in `SHOW STREAMS` and retried at the next tick.
//!
//! Not supported: GROUP BY / PARTITION BY, FILL, recomputing late windows
//! (3.x `IGNORE EXPIRED 0`), triggers other than window close.
//!
//! May import: `catalog`, `error`, `query`, `result`, `sql`, `state`, `types`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use crate::catalog::{Change, Stream};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::query::time::{Windows, duration_ticks};
use crate::result::{ColMeta, Output};
use crate::sql::ast::{
    BinOp, ColumnDef, CreateStream, Expr, InsertTable, Lit, ObjName, Rows, Select, SelectItem,
    Statement,
};
use crate::state::{Engine, State, resolve_db};
use crate::types::{DataType, Precision, Value};

/// How often the server looks for due windows.
pub const TICK: StdDuration = StdDuration::from_millis(250);
/// Most windows one run computes.
pub const BATCH_WINDOWS: usize = 4096;
/// 2.x `maxStreamCompDelay`.
pub const MAX_DELAY_MS: i64 = 20_000;

/// Serialises runs (the server's ticker, tests).
static RUNS: Mutex<()> = Mutex::new(());

/// A stream's query, ready to run.
struct Plan {
    /// `now` frozen, `_wstart` as the first item.
    sel: Select,
    windows: Windows,
    ts_col: String,
    /// The WHERE clause's time bounds (inclusive).
    lo: i64,
    hi: i64,
    precision: Precision,
}

fn ms_to_ticks(ms: i64, p: Precision) -> i64 {
    ms.saturating_mul(p.per_second()) / 1000
}

fn ticks_to_ms(t: i64, p: Precision) -> i64 {
    t.saturating_mul(1000) / p.per_second()
}

/// Checks the SELECT of a continuous query and prepares it.
fn plan(state: &State, sel: &Select, db: Option<&str>, created_ms: i64) -> Result<Plan> {
    let Some(from) = &sel.from else {
        fail!(code::INVALID_VALUE, "a continuous query needs FROM");
    };
    let Some(iv) = &sel.interval else {
        fail!(
            code::INVALID_VALUE,
            "a continuous query needs INTERVAL (and SLIDING)"
        );
    };
    let unsupported = [
        (!sel.group_by.is_empty(), "GROUP BY"),
        (!sel.partition_by.is_empty(), "PARTITION BY"),
        (sel.fill.is_some(), "FILL"),
        (sel.anomaly.is_some(), "ANOMALY_WINDOW"),
        (!sel.order_by.is_empty(), "ORDER BY"),
        (sel.limit.is_some() || sel.slimit.is_some(), "LIMIT"),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(bad, _)| *bad) {
        return Err(DbError::unsupported(format!(
            "{what} is not supported in a continuous query"
        )));
    }
    let src_db = resolve_db(from.db.as_deref(), db)?;
    let entry = state.db(&src_db)?;
    let Some((columns, _)) = entry.layout(&from.name) else {
        fail!(
            code::TABLE_NOT_EXIST,
            "Table does not exist: {} (database {src_db})",
            from.name
        );
    };
    let precision = entry.options().precision;
    let now = ms_to_ticks(created_ms, precision);
    let mut sel = sel.clone();
    let mut freeze = |e: &mut Expr| {
        if *e == Expr::Now {
            *e = Expr::Int(now);
        }
    };
    if let Some(f) = &mut sel.filter {
        f.walk_mut(&mut freeze);
    }
    sel.items
        .retain(|i| !matches!(&i.expr, Expr::Column(n) if n == "_wstart"));
    if sel.items.is_empty() {
        fail!(
            code::INVALID_VALUE,
            "a continuous query needs an aggregate in its select list"
        );
    }
    sel.items.insert(
        0,
        SelectItem {
            expr: Expr::Column("_wstart".into()),
            alias: None,
            text: "_wstart".into(),
        },
    );
    let windows = Windows::new(iv, sel.sliding, precision)?;
    let ts_col = columns[0].name.clone();
    let (lo, hi) = crate::query::ts_range(sel.filter.as_ref(), &|n| n == ts_col, precision, now)?;
    Ok(Plan {
        sel,
        windows,
        ts_col,
        lo,
        hi,
        precision,
    })
}

impl Plan {
    /// The query restricted to `[from, to)`.
    fn bounded(&self, from: i64, to: i64) -> Select {
        let ts = || Box::new(Expr::Column(self.ts_col.clone()));
        let range = Expr::Binary {
            op: BinOp::And,
            left: Box::new(Expr::Binary {
                op: BinOp::Ge,
                left: ts(),
                right: Box::new(Expr::Int(from)),
            }),
            right: Box::new(Expr::Binary {
                op: BinOp::Lt,
                left: ts(),
                right: Box::new(Expr::Int(to)),
            }),
        };
        let mut sel = self.sel.clone();
        sel.filter = Some(match sel.filter.take() {
            None => range,
            Some(f) => Expr::Binary {
                op: BinOp::And,
                left: Box::new(f),
                right: Box::new(range),
            },
        });
        sel
    }

    /// The query's output columns (types included), from a run over no time.
    fn columns(&self, state: &State, db: Option<&str>) -> Result<Vec<ColMeta>> {
        match crate::query::select(state, &self.bounded(0, 0), db)? {
            Output::Rows { columns, .. } => Ok(columns),
            _ => Err(DbError::new(code::INTERNAL, "the query gave no columns")),
        }
    }

    /// The first row's timestamp, if the source has a matching row.
    fn first_ts(&self, state: &State, db: Option<&str>) -> Result<Option<i64>> {
        let sel = Select {
            items: vec![SelectItem {
                expr: Expr::Func {
                    name: "min".into(),
                    args: vec![Expr::Column(self.ts_col.clone())],
                },
                alias: None,
                text: "min".into(),
            }],
            from: self.sel.from.clone(),
            filter: self.sel.filter.clone(),
            ..Select::default()
        };
        Ok(match crate::query::select(state, &sel, db)? {
            Output::Rows { rows, .. } => rows.first().and_then(|r| r[0].as_i64()),
            _ => None,
        })
    }
}

/// A result column's name: the alias, or the text with every character
/// other than a letter or digit made `_`.
fn column_name(item: &SelectItem) -> String {
    item.alias.clone().unwrap_or_else(|| {
        item.text
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect()
    })
}

/// `CREATE TABLE t AS SELECT` / `CREATE STREAM`.
pub fn create(engine: &Engine, cs: &CreateStream, current: Option<&str>) -> Result<Output> {
    let created = crate::state::now_ms();
    let mut st = engine.write();
    let target_db = resolve_db(cs.target.db.as_deref(), current)?;
    let name = cs.name.clone().unwrap_or_else(|| cs.target.name.clone());
    if st.catalog.streams.values().any(|s| s.name == name) {
        if cs.if_not_exists {
            return Ok(Output::Affected(0));
        }
        fail!(code::INVALID_VALUE, "Stream already exists: {name}");
    }
    let p = plan(&st, &cs.select, current, created)?;
    let mut history = cs.name.is_none(); // 3.x: FILL_HISTORY 0 by default
    let mut delay = (p.windows.end(0) / 10).min(ms_to_ticks(MAX_DELAY_MS, p.precision));
    for (key, value) in &cs.options {
        let word = |e: &Expr| match e {
            Expr::Column(w) => w.clone(),
            Expr::Int(i) => i.to_string(),
            _ => String::new(),
        };
        match (key.as_str(), word(value).as_str()) {
            ("trigger", "window_close") | ("ignore_expired", "1") | ("ignore_update", "1") => {}
            ("fill_history", v @ ("0" | "1")) => history = v == "1",
            ("watermark", _) => match value {
                Expr::Duration(d) => delay = duration_ticks(*d, p.precision)?,
                _ => fail!(code::INVALID_VALUE, "WATERMARK takes a duration such as 5s"),
            },
            ("delete_mark", _) => {}
            ("max_delay", _) => {}
            ("trigger", t) => {
                return Err(DbError::unsupported(format!(
                    "TRIGGER {} is not supported: windows are computed when they close",
                    t.to_uppercase()
                )));
            }
            ("ignore_expired", "0") => {
                return Err(DbError::unsupported(
                    "IGNORE EXPIRED 0 is not supported: late rows do not recompute a window",
                ));
            }
            (k, v) => fail!(
                code::INVALID_VALUE,
                "invalid stream option: {} {v}",
                k.to_uppercase()
            ),
        }
    }
    let meta = p.columns(&st, current)?;
    let mut columns = vec![ColumnDef {
        name: "ts".into(),
        ty: DataType::Timestamp,
    }];
    for (item, m) in p.sel.items.iter().zip(&meta).skip(1) {
        let mut name = column_name(item);
        while columns.iter().any(|c| c.name == name) {
            name.push('_');
        }
        columns.push(ColumnDef { name, ty: m.ty });
    }
    st.ddl(
        Statement::CreateTable {
            name: ObjName {
                db: Some(target_db.clone()),
                name: cs.target.name.clone(),
            },
            if_not_exists: false,
            columns,
            tags: Vec::new(),
        },
        current,
    )?;
    let s = Stream {
        id: st.catalog.streams.keys().next_back().map_or(1, |id| id + 1),
        name,
        db: current.map(str::to_owned),
        target_db,
        target: cs.target.name.clone(),
        sql: cs.sql.clone(),
        created,
        delay,
        next: None,
        history,
        rows: 0,
        last_run: None,
        error: None,
        completed: false,
    };
    st.catalog.commit(&[Change::PutStream(&s)])?;
    tracing::info!(stream = s.id, name = %s.name, sql = %s.sql, "stream created");
    st.catalog.streams.insert(s.id, s);
    Ok(Output::Affected(0))
}

/// `KILL STREAM id`.
pub fn kill(engine: &Engine, id: i64) -> Result<Output> {
    let mut st = engine.write();
    let Some(id) = u32::try_from(id)
        .ok()
        .filter(|id| st.catalog.streams.contains_key(id))
    else {
        fail!(code::INVALID_VALUE, "Stream not exist: {id}");
    };
    st.catalog.commit(&[Change::DelStream(id)])?;
    st.catalog.streams.remove(&id);
    Ok(Output::Affected(0))
}

/// `DROP STREAM [IF EXISTS] name`.
pub fn drop(engine: &Engine, name: &str, if_exists: bool) -> Result<Output> {
    let id = engine
        .read()
        .catalog
        .streams
        .values()
        .find(|s| s.name == name)
        .map(|s| s.id);
    match id {
        Some(id) => kill(engine, i64::from(id)),
        None if if_exists => Ok(Output::Affected(0)),
        None => fail!(code::INVALID_VALUE, "Stream not exist: {name}"),
    }
}

/// Ends the streams whose result table is gone (after a DROP).
pub fn forget_dropped(engine: &Engine) -> Result<()> {
    let mut st = engine.write();
    let gone: Vec<u32> = st
        .catalog
        .streams
        .values()
        .filter(|s| {
            st.catalog
                .dbs
                .get(&s.target_db)
                .is_none_or(|d| !d.tables.contains_key(&s.target))
        })
        .map(|s| s.id)
        .collect();
    if gone.is_empty() {
        return Ok(());
    }
    let changes: Vec<Change<'_>> = gone.iter().map(|id| Change::DelStream(*id)).collect();
    st.catalog.commit(&changes)?;
    for id in gone {
        tracing::info!(stream = id, "result table dropped: stream ended");
        st.catalog.streams.remove(&id);
    }
    Ok(())
}

/// `SHOW STREAMS`.
pub fn show(engine: &Engine) -> Output {
    let st = engine.read();
    let columns = vec![
        ColMeta::new("id", DataType::Int),
        ColMeta::new("name", DataType::Binary(64)),
        ColMeta::new("target", DataType::Binary(129)),
        ColMeta::new("sql", DataType::Binary(1024)),
        ColMeta::new("status", DataType::Binary(10)),
        ColMeta::new("created_time", DataType::Timestamp),
        ColMeta::new("last_run", DataType::Timestamp),
        ColMeta::new("rows_written", DataType::BigInt),
        ColMeta::new("next_window", DataType::Timestamp),
        ColMeta::new("error", DataType::Binary(256)),
    ];
    let rows = st
        .catalog
        .streams
        .values()
        .map(|s| {
            let status = if s.completed {
                "completed"
            } else if s.error.is_some() {
                "failing"
            } else {
                "running"
            };
            // `next` is in the source's ticks
            let precision = stream_plan(&st, s).map_or(Precision::Ms, |p| p.precision);
            let opt = |v: Option<i64>| v.map_or(Value::Null, Value::Int);
            vec![
                Value::Int(i64::from(s.id)),
                Value::Str(s.name.clone()),
                Value::Str(format!("{}.{}", s.target_db, s.target)),
                Value::Str(s.sql.clone()),
                Value::Str(status.into()),
                Value::Int(s.created),
                opt(s.last_run),
                Value::Int(s.rows as i64),
                opt(s.next.map(|t| ticks_to_ms(t, precision))),
                s.error.clone().map_or(Value::Null, Value::Str),
            ]
        })
        .collect();
    Output::Rows {
        columns,
        rows,
        precision: Precision::Ms,
    }
}

/// A stored stream's plan (its SQL parsed and checked again: the source
/// may have changed since).
fn stream_plan(st: &State, s: &Stream) -> Result<Plan> {
    match crate::sql::parse(&s.sql)? {
        Statement::Select(sel) => plan(st, &sel, s.db.as_deref(), s.created),
        _ => Err(DbError::new(code::INTERNAL, "a stream's SQL is a SELECT")),
    }
}

/// Computes every due window of every stream at system time `now_ms`.
/// Returns the rows written.
pub fn run_due(engine: &Engine, now_ms: i64) -> u64 {
    let _one = RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let ids: Vec<u32> = engine
        .read()
        .catalog
        .streams
        .values()
        .filter(|s| !s.completed)
        .map(|s| s.id)
        .collect();
    let mut total = 0;
    for id in ids {
        // a long backlog is worked off batch by batch
        loop {
            match run_one(engine, id, now_ms) {
                Ok((n, more)) => {
                    total += n;
                    if !more {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(stream = id, error = %e, "stream run failed");
                    record(engine, id, |s| s.error = Some(e.msg.clone()));
                    break;
                }
            }
        }
    }
    total
}

/// The server's scheduler: a thread that runs [`run_due`] with the system
/// clock every [`TICK`] until the handle is dropped.
pub struct Scheduler {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scheduler {
    pub fn spawn(engine: Arc<Engine>) -> std::io::Result<Scheduler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tsdb-streams".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    run_due(&engine, Precision::Ms.now());
                }
            })?;
        Ok(Scheduler {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Updates a stream's catalog entry (if it still exists).
fn record(engine: &Engine, id: u32, change: impl FnOnce(&mut Stream)) {
    let mut st = engine.write();
    let Some(mut s) = st.catalog.streams.get(&id).cloned() else {
        return;
    };
    change(&mut s);
    if st.catalog.streams.get(&id) == Some(&s) {
        return;
    }
    match st.catalog.commit(&[Change::PutStream(&s)]) {
        Ok(()) => {
            st.catalog.streams.insert(id, s);
        }
        Err(e) => tracing::error!(stream = id, error = %e, "cannot save the stream"),
    }
}

/// One batch of due windows of one stream: rows written, and whether more
/// windows are due.
fn run_one(engine: &Engine, id: u32, now_ms: i64) -> Result<(u64, bool)> {
    let (stream, rows, next, more, completed) = {
        let st = engine.read();
        let Some(s) = st.catalog.streams.get(&id).cloned() else {
            return Ok((0, false));
        };
        let p = stream_plan(&st, &s)?;
        let now = ms_to_ticks(now_ms, p.precision);
        let first = match s.next {
            Some(n) => n,
            None if !s.history => p
                .windows
                .first_start(ms_to_ticks(s.created, p.precision).max(p.lo)),
            None => match p.first_ts(&st, s.db.as_deref())? {
                Some(t) => p.windows.first_start(t),
                None => return Ok((0, false)), // no row yet
            },
        };
        // the due windows: closed for `delay`, not past the end bound
        let mut starts = Vec::new();
        let mut w = first;
        while starts.len() < BATCH_WINDOWS
            && w <= p.hi
            && p.windows.end(w).saturating_add(s.delay) <= now
        {
            starts.push(w);
            w = p.windows.next(w);
        }
        let completed = w > p.hi;
        if starts.is_empty() {
            if completed != s.completed || s.next != Some(first) {
                std::mem::drop(st);
                record(engine, id, |s| {
                    s.completed = completed;
                    s.next = Some(first);
                });
            }
            return Ok((0, false));
        }
        let (lo, hi) = (starts[0], *starts.last().expect("not empty"));
        // the windows are computed after the lock is released
        let sel = p.bounded(lo, p.windows.end(hi));
        let view = crate::query::View::take(&st, &sel, s.db.as_deref())?;
        std::mem::drop(st);
        let out = view.select(&sel, s.db.as_deref(), &mut crate::query::Scope::default())?;
        let Output::Rows { rows, .. } = out else {
            return Err(DbError::new(code::INTERNAL, "the query gave no rows"));
        };
        let rows: Vec<Vec<Value>> = rows
            .into_iter()
            .filter(|r| r[0].as_i64().is_some_and(|t| (lo..=hi).contains(&t)))
            .collect();
        let more = starts.len() == BATCH_WINDOWS;
        (s, rows, w, more, completed)
    };
    let n = rows.len() as u64;
    if !rows.is_empty() {
        let mut cells = Rows::new(rows[0].len());
        for r in rows {
            cells.push(r.into_iter().map(value_lit));
        }
        let table = InsertTable {
            table: ObjName {
                db: Some(stream.target_db.clone()),
                name: stream.target.clone(),
            },
            using: None,
            columns: None,
            rows: cells,
            pos: 0,
        };
        engine.insert_tables(vec![table], None)?;
    }
    record(engine, id, |s| {
        s.next = Some(next);
        s.rows += n;
        s.last_run = Some(now_ms);
        s.error = None;
        s.completed = completed;
    });
    Ok((n, more))
}

fn value_lit(v: Value) -> Lit {
    match v {
        Value::Null => Lit::Null,
        Value::Bool(b) => Lit::Bool(b),
        Value::Int(i) => Lit::Int(i),
        Value::Double(d) => Lit::Float(d),
        Value::Str(s) => Lit::Str(s),
    }
}
