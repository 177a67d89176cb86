//! Data subscriptions with the 2.x semantics (tsdb-sql A11):
//! `subscribe(restart, topic, sql, interval)` → `consume()` →
//! `unsubscribe(keep_progress)`.
//!
//! The first consume delivers every row the SELECT matches (history), later
//! ones only rows not delivered before, tracked per table as the newest
//! timestamp scanned (so a row written later with an older timestamp is
//! never delivered, as in 2.x); the next consume scans each table from just
//! after it. Progress is saved after each consume in
//! `{data dir}/subscribe/<topic>` (JSON: the SQL and the per-table
//! timestamps), so a restarted subscriber resumes; `restart` ignores it, a
//! different SQL starts over, `unsubscribe(false)` deletes it.
//!
//! Three ways in:
//! - [`Subscription`] (sync: `consume` blocks until `interval` has passed
//!   since the previous one) and [`subscribe_async`] (a thread consumes
//!   every `interval` and calls back) on an in-process [`Engine`];
//! - REST: `POST /rest/subscribe/<topic>[?restart=1]` with the SELECT as
//!   the body answers the new rows in the `/rest/sql` JSON shape;
//!   `DELETE /rest/subscribe/<topic>[?keep=1]` unsubscribes. Progress is
//!   the server's (`{data dir}/subscribe/<topic>`); the interval is the
//!   caller's;
//! - `tsdb subscribe --topic T --sql "..." [--restart] [--interval ms]`,
//!   which polls the REST endpoint and prints rows as they arrive.
//!
//! The SELECT may project, compute and filter (no aggregates, windows or
//! grouping: each delivered row is a stored row).
//!
//! May import: `error`, `query`, `result`, `sql`, `state`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::error::{DbError, Result, code};
use crate::fail;
use crate::result::Output;
use crate::sql::ast::{Select, Statement};
use crate::state::Engine;

/// What a subscription has delivered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The SELECT the progress belongs to.
    pub sql: String,
    /// Newest timestamp delivered, per table.
    pub tables: BTreeMap<String, i64>,
}

/// Serialises consumes of one process on the progress files.
static FILES: Mutex<()> = Mutex::new(());

/// A topic names a file: letters, digits, `_`, `-` and `.` (not leading).
pub fn check_topic(topic: &str) -> Result<()> {
    let ok = !topic.is_empty()
        && topic.len() <= 192
        && !topic.starts_with('.')
        && topic
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.'));
    if !ok {
        fail!(
            code::INVALID_VALUE,
            "invalid topic '{topic}': letters, digits, '_', '-' and '.' only, at most 192 characters"
        );
    }
    Ok(())
}

fn progress_path(dir: &Path, topic: &str) -> PathBuf {
    dir.join("subscribe").join(topic)
}

/// The saved progress of `topic` for `sql` (empty when there is none, when
/// `restart`, or when it was saved for another SELECT).
pub fn load(dir: &Path, topic: &str, sql: &str, restart: bool) -> Result<Progress> {
    check_topic(topic)?;
    let fresh = Progress {
        sql: sql.to_owned(),
        tables: BTreeMap::new(),
    };
    if restart {
        return Ok(fresh);
    }
    let path = progress_path(dir, topic);
    match std::fs::read(&path) {
        Ok(bytes) => match serde_json::from_slice::<Progress>(&bytes) {
            Ok(p) if p.sql == sql => Ok(p),
            Ok(_) => {
                tracing::info!(topic, "the topic's SQL changed: starting over");
                Ok(fresh)
            }
            Err(e) => Err(DbError::new(
                code::INVALID_VALUE,
                format!("subscription progress {} is damaged: {e}", path.display()),
            )),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(fresh),
        Err(e) => Err(DbError::io(&format!("reading {}", path.display()), e)),
    }
}

/// Saves progress atomically (a temporary file renamed over the old one).
pub fn save(dir: &Path, topic: &str, p: &Progress) -> Result<()> {
    check_topic(topic)?;
    let path = progress_path(dir, topic);
    let io = |e| DbError::io(&format!("saving {}", path.display()), e);
    std::fs::create_dir_all(path.parent().expect("has a parent")).map_err(io)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec(p).expect("progress serialises")).map_err(io)?;
    std::fs::rename(&tmp, &path).map_err(io)
}

/// A topic with saved progress, as `information_schema.ins_subscriptions`
/// lists it.
#[derive(Debug)]
pub struct Topic {
    pub topic: String,
    pub progress: Progress,
    /// When its progress was last saved (ms since the epoch).
    pub consumed_at: Option<i64>,
}

/// Every topic with saved progress under `dir`, by name; unreadable files
/// are left out (a consume names the damage).
pub fn list(dir: &Path) -> Vec<Topic> {
    let Ok(entries) = std::fs::read_dir(dir.join("subscribe")) else {
        return Vec::new();
    };
    let mut out: Vec<Topic> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let topic = e.file_name().into_string().ok()?;
            check_topic(&topic).ok()?;
            if topic.ends_with(".tmp") {
                return None;
            }
            let progress = serde_json::from_slice(&std::fs::read(e.path()).ok()?).ok()?;
            let consumed_at = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64);
            Some(Topic {
                topic,
                progress,
                consumed_at,
            })
        })
        .collect();
    out.sort_by(|a, b| a.topic.cmp(&b.topic));
    out
}

/// Deletes the saved progress of `topic` (no error when there is none).
pub fn forget(dir: &Path, topic: &str) -> Result<()> {
    check_topic(topic)?;
    let path = progress_path(dir, topic);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(DbError::io(&format!("deleting {}", path.display()), e)),
    }
}

/// The SELECT of a subscription, checked.
fn parse(sql: &str) -> Result<Select> {
    let Statement::Select(sel) = crate::sql::parse(sql)? else {
        fail!(code::INVALID_VALUE, "a subscription takes a SELECT");
    };
    let grouped = sel.interval.is_some()
        || sel.anomaly.is_some()
        || sel.row_window.is_some()
        || !sel.group_by.is_empty()
        || !sel.partition_by.is_empty()
        || sel
            .items
            .iter()
            .any(|i| crate::query::has_aggregate(&i.expr));
    if grouped || sel.from.is_none() {
        fail!(
            code::INVALID_VALUE,
            "a subscription delivers stored rows: its SELECT needs FROM and no aggregates, windows or grouping"
        );
    }
    Ok(*sel)
}

/// Runs `sql` and returns the rows `progress` has not seen, moving it on.
///
/// Each table is scanned from just after its saved timestamp only, so a
/// consume costs the rows written since the previous one, not the history.
/// Progress moves to each table's newest timestamp at the time of the scan
/// (read under the same lock as the rows), whether or not its rows matched.
pub fn consume_rows(
    engine: &Engine,
    sql: &str,
    db: Option<&str>,
    progress: &mut Progress,
) -> Result<Output> {
    let sel = parse(sql)?;
    let mut scope = crate::query::Scope {
        after: Some(&progress.tables),
        ..Default::default()
    };
    let out = crate::query::select_unlocked(engine, &sel, db, &mut scope)?;
    let newest = std::mem::take(&mut scope.newest);
    for (table, ts) in newest {
        let e = progress.tables.entry(table).or_insert(i64::MIN);
        *e = (*e).max(ts);
    }
    Ok(out)
}

/// One consume of `topic` with its progress in `dir`: load, run, save.
pub fn consume_topic(
    engine: &Engine,
    dir: &Path,
    topic: &str,
    sql: &str,
    db: Option<&str>,
    restart: bool,
) -> Result<Output> {
    let _files = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let mut p = load(dir, topic, sql, restart)?;
    advance(engine, dir, topic, sql, db, &mut p)
}

/// [`consume_rows`], then the progress saved; `progress` moves on only
/// once it is saved. The caller holds [`FILES`].
fn advance(
    engine: &Engine,
    dir: &Path,
    topic: &str,
    sql: &str,
    db: Option<&str>,
    progress: &mut Progress,
) -> Result<Output> {
    let mut p = progress.clone();
    let out = consume_rows(engine, sql, db, &mut p)?;
    save(dir, topic, &p)?;
    *progress = p;
    Ok(out)
}

/// A subscription on an in-process engine (sync mode).
pub struct Subscription {
    engine: Arc<Engine>,
    topic: String,
    sql: String,
    db: Option<String>,
    interval: Duration,
    progress: Progress,
    last: Option<Instant>,
}

impl Subscription {
    /// `taos_subscribe`: resumes the topic's saved progress unless
    /// `restart`.
    pub fn subscribe(
        engine: Arc<Engine>,
        restart: bool,
        topic: &str,
        sql: &str,
        db: Option<&str>,
        interval: Duration,
    ) -> Result<Subscription> {
        parse(sql)?;
        let progress = load(&engine.data_dir, topic, sql, restart)?;
        Ok(Subscription {
            engine,
            topic: topic.to_owned(),
            sql: sql.to_owned(),
            db: db.map(str::to_owned),
            interval,
            progress,
            last: None,
        })
    }

    /// `taos_consume`: the rows not delivered before; blocks until
    /// `interval` has passed since the previous consume. Progress is saved
    /// each time.
    pub fn consume(&mut self) -> Result<Output> {
        if let Some(last) = self.last {
            let due = last + self.interval;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        self.last = Some(Instant::now());
        let _files = FILES.lock().unwrap_or_else(|e| e.into_inner());
        advance(
            &self.engine,
            &self.engine.data_dir,
            &self.topic,
            &self.sql,
            self.db.as_deref(),
            &mut self.progress,
        )
    }

    /// `taos_unsubscribe`: keeps the progress for the next subscribe, or
    /// deletes it.
    pub fn unsubscribe(self, keep_progress: bool) -> Result<()> {
        if keep_progress {
            save(&self.engine.data_dir, &self.topic, &self.progress)
        } else {
            forget(&self.engine.data_dir, &self.topic)
        }
    }
}

/// A subscription whose consumes run on a thread (async mode).
pub struct AsyncSubscription {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Subscription>>,
}

/// `taos_subscribe` with a callback: a thread consumes every `interval`
/// (at most that often) and calls `callback` with each result.
pub fn subscribe_async(
    sub: Subscription,
    mut callback: impl FnMut(Result<Output>) + Send + 'static,
) -> AsyncSubscription {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let thread = std::thread::spawn(move || {
        let mut sub = sub;
        while !flag.load(Ordering::SeqCst) {
            let r = sub.consume();
            callback(r);
            // wait out the interval in small steps so that a stop is quick
            let until = Instant::now() + sub.interval;
            while !flag.load(Ordering::SeqCst) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10).min(sub.interval));
            }
        }
        sub
    });
    AsyncSubscription {
        stop,
        thread: Some(thread),
    }
}

impl AsyncSubscription {
    /// Stops the thread (after its current consume) and unsubscribes.
    pub fn unsubscribe(mut self, keep_progress: bool) -> Result<()> {
        self.stop.store(true, Ordering::SeqCst);
        let sub = self
            .thread
            .take()
            .expect("joined once")
            .join()
            .map_err(|_| DbError::new(code::INTERNAL, "the subscription thread panicked"))?;
        sub.unsubscribe(keep_progress)
    }
}

impl Drop for AsyncSubscription {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
