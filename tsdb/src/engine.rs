//! The engine: catalog + WAL + table data behind one lock, and statement
//! execution. DDL and INSERT live here; SELECT is in [`crate::query`].
//!
//! Durability order of an INSERT: tables it auto-creates are committed to
//! the catalog without an fsync and logged in the WAL (a durable catalog
//! commit, which every other DDL statement and every flush makes, records
//! the WAL position it covers; recovery re-creates the logged tables after
//! it), then the rows are appended to the WAL, then applied in memory, then
//! acknowledged. When the memtables pass a third of the
//! databases' `cache × blocks` they are frozen into blocks and written to
//! data files in the background ([`crate::storage::store`]). Recovery loads
//! the catalog, opens the data files and replays the WAL segments they do
//! not cover (records of tables that no longer exist are skipped by uid).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::catalog::{
    Catalog, Change, Column, Database, DbEntry, DbOptions, STable, Table, TableKind,
};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::result::{ColMeta, Output};
use crate::sql::ast::{
    self, AlterAction, ColumnDef, Expr, InsertTable, Lit, ObjName, Rows, ShowWhat, Statement,
    SubTable,
};
use crate::storage::store::{self, FlushJob, FreezeInput, Store};
use crate::storage::table::{TableData, Update};
use crate::storage::wal::{InsertRecord, Record, Wal};
use crate::types::{DataType, Precision, UidMap, Value, parse_timestamp};

/// How often the server drops expired partitions.
pub const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(60);
/// Longest database name (2.x docs: 32/33).
pub const MAX_DB_NAME: usize = 32;
/// Longest table name (2.x: 192).
pub const MAX_TABLE_NAME: usize = 192;
/// Longest column or tag name.
pub const MAX_COLUMN_NAME: usize = 64;
/// Columns of a table, timestamp included (2.x: 1024 in later releases).
pub const MAX_COLUMNS: usize = 1024;
/// Tags of a super table.
pub const MAX_TAGS: usize = 128;

/// Default budget of the decoded-block cache.
pub const BLOCK_CACHE_BYTES: usize = 512 << 20;

pub struct State {
    pub catalog: Catalog,
    /// The memtables: rows not yet frozen into blocks.
    pub data: UidMap<TableData>,
    /// Blocks: frozen and in data files.
    pub store: Store,
    /// The write-driven last-row cache: each table's newest row written
    /// since the start (older tables' come from their newest block).
    pub last: UidMap<(i64, Vec<Value>)>,
    wal: Wal,
    /// Approximate bytes in the memtables.
    mem_bytes: usize,
    /// A flush is between freeze and install.
    flushing: bool,
}

pub struct Engine {
    pub state: Arc<RwLock<State>>,
    /// Anodes' health and the HTTP client of analysis calls.
    pub analytics: Arc<crate::analytics::Analytics>,
    pub data_dir: PathBuf,
    syncer: Arc<crate::storage::wal::Syncer>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("data_dir", &self.data_dir)
            .finish()
    }
}

pub(crate) fn now_ms() -> i64 {
    Precision::Ms.now()
}

/// Checks a database, table or column name: letters, digits, `_`, not
/// starting with a digit.
fn check_name(kind: &str, name: &str, max: usize) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= max
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if !ok {
        fail!(
            code::INVALID_VALUE,
            "invalid {kind} name '{name}': letters, digits and '_' only, not starting with a digit, at most {max} characters"
        );
    }
    Ok(())
}

impl Engine {
    /// Opens (creating) the data directory: catalog, data files, then the
    /// replay of the WAL segments the files do not cover.
    pub fn open(dir: &Path) -> Result<Engine> {
        Engine::open_with(dir, BLOCK_CACHE_BYTES)
    }

    /// [`Engine::open`] with a budget for the decoded-block cache.
    pub fn open_with(dir: &Path, cache_bytes: usize) -> Result<Engine> {
        let io = |e: std::io::Error| DbError::io(&format!("data directory {}", dir.display()), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let catalog_path = dir.join("catalog.redb");
        if !catalog_path.exists()
            && dir.join("data").is_dir()
            && !store::data_files(&dir.join("data"))?.is_empty()
        {
            // a new catalog would silently serve no table of those files
            fail!(
                code::FILE_CORRUPTED,
                "catalog {} is missing but data files exist: it holds every schema and cannot be rebuilt from them; restore it from a backup (tsdb check --data-dir {} lists what is there)",
                catalog_path.display(),
                dir.display()
            );
        }
        let catalog = Catalog::open(&catalog_path)?;
        let (mut store, covered) = Store::open(&dir.join("data"), cache_bytes)?;
        let file_damage = std::mem::take(&mut store.damage);
        // the single-file log of earlier versions becomes the first segment
        let legacy = dir.join("wal.log");
        if legacy.exists() && !dir.join("wal").exists() {
            std::fs::create_dir_all(dir.join("wal")).map_err(io)?;
            std::fs::rename(
                &legacy,
                dir.join("wal").join(format!("{:016}.log", covered + 1)),
            )
            .map_err(io)?;
        }
        let (wal, records, wal_damage) = Wal::open(&dir.join("wal"), covered)?;
        // a new data directory has no log yet: nothing is missing
        let fresh = covered == 0 && catalog.dbs.is_empty();
        let mut state = State {
            catalog,
            data: UidMap::default(),
            store,
            last: UidMap::default(),
            wal,
            mem_bytes: 0,
            flushing: false,
        };
        state.catalog.watch_wal(state.wal.syncer());
        let mut replayed = 0usize;
        // records of tables the catalog does not have: dropped since, or a
        // log from another data directory
        let mut unknown = 0usize;
        let mut tables = state.table_index();
        let mut created: Vec<(String, Table)> = Vec::new();
        for (pos, rec) in records {
            let rec = match rec {
                Record::Insert(rec) => rec,
                Record::Create { db, table } => {
                    // not yet in the catalog's last durable commit
                    if pos > state.catalog.durable_at && state.recreate(&db, &table) {
                        tables.insert(table.uid, (db.clone(), table.name.clone()));
                        created.push((db, table));
                    }
                    continue;
                }
            };
            let Some((db, table)) = tables.get(&rec.uid) else {
                unknown += 1;
                continue;
            };
            let (update, cols) = {
                let entry = &state.catalog.dbs[db];
                let update = Update::from_option(entry.db.as_ref().map_or(0, |d| d.options.update));
                (update, entry.columns_of(table).unwrap_or_default())
            };
            replayed += rec.len();
            state.apply(rec, &cols, update);
        }
        if !created.is_empty() {
            let changes: Vec<Change<'_>> = created
                .iter()
                .map(|(db, t)| Change::PutTable(db, t))
                .collect();
            state.catalog.commit(&changes)?;
        }
        tracing::info!(
            dir = %dir.display(),
            databases = state.catalog.dbs.len(),
            tables_created = created.len(),
            rows = replayed,
            "storage opened, WAL replayed"
        );
        if unknown > 0 {
            tracing::warn!(
                records = unknown,
                "WAL records for tables this catalog does not have were skipped (tables dropped since, or a WAL from another data directory)"
            );
        }
        let wal_damage: Vec<_> = wal_damage
            .into_iter()
            .filter(|d| !(fresh && d.is_missing()))
            .collect();
        let damaged = !wal_damage.is_empty();
        let mut reports = file_damage;
        reports.extend(crate::storage::recovery::wal_reports(
            dir,
            &wal_damage,
            &tables,
        )?);
        crate::storage::damage::report(dir, &reports)?;
        let engine = Engine {
            analytics: Arc::default(),
            syncer: state.wal.syncer(),
            state: Arc::new(RwLock::new(state)),
            data_dir: dir.to_owned(),
        };
        if damaged {
            // the damaged segments are in quarantine: what they held that
            // could be read goes to data files now, so they are needed no more
            engine.settle_wal()?;
        } else if engine.read().over_budget() {
            // a long replay can leave more than the memtables' budget
            engine.flush()?;
        }
        Ok(engine)
    }

    /// Flushes what the log holds and moves the log past every segment it
    /// had (after damage: those segments were reported and copied into
    /// quarantine, and are not to be read again).
    fn settle_wal(&self) -> Result<()> {
        self.flush()?;
        let mut st = self.write_when_idle();
        if st.data.values().all(|t| t.is_empty()) {
            let closed = st.wal.rotate()?;
            st.store.cover_wal(closed)?;
            st.wal.remove_upto(closed)?;
        }
        Ok(())
    }

    /// Freezes the memtables and writes them to data files now, waiting
    /// for it (`FLUSH DATABASE`, shutdown, tests). Waits for a background
    /// flush in progress first.
    pub fn flush(&self) -> Result<()> {
        let mut st = self.write_when_idle();
        let job = st.freeze()?;
        st.flushing = true;
        let dir = st.store.dir().to_owned();
        drop(st);
        match job {
            Some(job) => finish_flush(&self.state, &dir, job, true),
            None => {
                // nothing in memory: still merge what late rows left
                let tidied = tidy(&self.state, &dir, true);
                self.write().flushing = false;
                tidied
            }
        }
    }

    /// The state, write-locked once no flush or compaction is running (the
    /// caller sets `flushing` to run one).
    fn write_when_idle(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        loop {
            let st = self.write();
            if !st.flushing {
                return st;
            }
            drop(st);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Rewrites database `db`'s data files that hold dead blocks without
    /// them (`COMPACT DATABASE`); returns the files rewritten. Waits for a
    /// background flush in progress first.
    pub fn compact(&self, db: &str) -> Result<usize> {
        self.write_when_idle().flushing = true;
        let compacted = compact_files(&self.state, Some(db));
        self.write().flushing = false;
        compacted
    }

    /// Bytes of the live data files.
    pub fn data_file_bytes(&self) -> u64 {
        self.read().store.file_bytes()
    }

    /// Runs one statement. `db` is the current database (`USE`, or the REST
    /// URL's database).
    pub fn execute(&self, sql: &str, db: Option<&str>) -> Result<Output> {
        let stmt = crate::sql::parse(sql)?;
        match stmt {
            Statement::Select(sel) if is_system_table(&sel, "ins_damage") => {
                if sel.items.len() != 1 || sel.items[0].expr != crate::sql::ast::Expr::Star {
                    fail!(
                        code::NOT_SUPPORTED,
                        "only SELECT * is supported on information_schema.ins_damage"
                    );
                }
                Ok(damage_rows(&self.data_dir))
            }
            Statement::Select(sel) => crate::analytics::select(self, &sel, db)
                .unwrap_or_else(|| crate::query::select(&self.read(), &sel, db)),
            Statement::CreateAnode(url) => crate::analytics::ddl::create(self, &url),
            Statement::DropAnode(id) => crate::analytics::ddl::drop(self, id),
            Statement::UpdateAnode(id) => crate::analytics::ddl::update(self, id),
            Statement::ShowAnodes { full } => crate::analytics::ddl::show(self, full),
            Statement::ShowDatabases => Ok(self.read().show_databases()),
            Statement::ShowCreateDatabase(name) => self.read().show_create_database(&name),
            Statement::ShowCreateTable(name) => self.read().show_create_table(&name, db),
            Statement::Show {
                what,
                db: in_db,
                like,
            } => {
                let state = self.read();
                let db = resolve_db(in_db.as_deref(), db)?;
                state.show_tables(&db, what, like.as_deref())
            }
            Statement::Describe(name) => self.read().describe(&name, db),
            Statement::Use(name) => {
                let state = self.read();
                if !state.catalog.dbs.contains_key(&name) {
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                }
                Ok(Output::UseDb(name))
            }
            Statement::Insert(tables) => Ok(Output::Affected(self.insert_tables(tables, db)?)),
            Statement::CreateStream(cs) => crate::stream::create(self, &cs, db),
            Statement::ShowStreams => Ok(crate::stream::show(self)),
            Statement::KillStream(id) => crate::stream::kill(self, id),
            Statement::DropStream { name, if_exists } => {
                crate::stream::drop(self, &name, if_exists)
            }
            stmt @ (Statement::Drop { .. } | Statement::DropDatabase { .. }) => {
                let out = self.write().ddl(stmt, db)?;
                crate::stream::forget_dropped(self)?;
                Ok(out)
            }
            Statement::Flush(name) => {
                if !self.read().catalog.dbs.contains_key(&name) {
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                }
                self.flush()?;
                Ok(Output::Affected(0))
            }
            Statement::Compact(name) => {
                if !self.read().catalog.dbs.contains_key(&name) {
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                }
                self.compact(&name)?;
                Ok(Output::Affected(0))
            }
            other => self.write().ddl(other, db),
        }
    }

    /// Writes INSERT clauses (the statement, or a stream's results); returns
    /// the rows written once they are as durable as the database asks.
    pub(crate) fn insert_tables(
        &self,
        tables: Vec<InsertTable>,
        db: Option<&str>,
    ) -> Result<usize> {
        // fsync (WAL 2) after the lock is released: group commit
        let (n, sync_to, job) = {
            let mut st = self.write();
            let (n, sync_to) = st.insert(tables, db)?;
            // the rows are in: a flush that cannot start (the WAL
            // cannot rotate) must not turn this into an error
            let job = if st.over_budget() && !st.flushing {
                st.freeze().unwrap_or_else(|e| {
                    tracing::error!(error = %e, "cannot start a flush; retrying with the next insert");
                    None
                })
            } else {
                None
            };
            (n, sync_to, job.map(|j| (j, st.store.dir().to_owned())))
        };
        if let Some((job, dir)) = job {
            let state = self.state.clone();
            std::thread::Builder::new()
                .name("tsdb-flush".into())
                .spawn(move || {
                    // a failure is logged and retried with the next flush
                    let _ = finish_flush(&state, &dir, job, false);
                })
                .map_err(|e| DbError::io("starting a flush thread", e))?;
        }
        if let Some(offset) = sync_to {
            self.syncer.sync_to(offset)?;
        }
        Ok(n)
    }

    /// fsyncs of the WAL so far (group commit shares them between writers).
    pub fn wal_syncs(&self) -> u64 {
        self.syncer.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Drops data older than each database's `keep`, a whole `days`
    /// partition at a time (spec C3): a partition goes once all of it is
    /// older than `now - keep`, so data lives between `keep` and
    /// `keep + days`. Returns the rows dropped. The server calls this every
    /// [`RETENTION_EVERY`]; queries never see expired rows before that
    /// because inserts older than `now - keep` are refused anyway.
    pub fn expire(&self, now_ms: i64) -> usize {
        let mut state = self.write();
        let mut dropped = 0;
        let State {
            catalog,
            data,
            store,
            last,
            ..
        } = &mut *state;
        for (name, entry) in &catalog.dbs {
            let o = entry.options();
            let p = o.precision;
            let day = 86_400 * p.per_second();
            let now = now_ms.saturating_mul(p.per_ms());
            let part = o.partition_ticks();
            // the first partition not entirely older than now - keep
            let horizon = now - o.keep * day;
            let keep_from = horizon.div_euclid(part) * part;
            for t in entry.tables.values() {
                if last.get(&t.uid).is_some_and(|(ts, _)| *ts < keep_from) {
                    last.remove(&t.uid);
                }
                if let Some(d) = data.get_mut(&t.uid) {
                    dropped += d.drop_before(keep_from);
                }
            }
            let uids: Vec<u64> = entry.tables.values().map(|t| t.uid).collect();
            match store.expire(name, &uids, keep_from) {
                Ok(n) => dropped += n,
                Err(e) => {
                    tracing::error!(error = %e, db = %name, "retention: could not drop files")
                }
            }
        }
        if dropped > 0 {
            tracing::info!(rows = dropped, "retention: expired partitions dropped");
        }
        dropped
    }

    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// The database a statement addresses: its own qualifier, else the current.
pub fn resolve_db(explicit: Option<&str>, current: Option<&str>) -> Result<String> {
    match explicit.or(current) {
        Some(d) => Ok(d.to_owned()),
        None => Err(DbError::new(
            code::DB_NOT_SPECIFIED,
            "Database not specified or available (USE a database, or write db.table)",
        )),
    }
}

/// Rows of late-row merges per flush (the rest wait for the next one).
const MERGE_ROWS: usize = 4_000_000;

/// Writes a job's files (no lock held) and installs them; on failure the
/// blocks stay in memory and are retried with the next flush. Then merges
/// blocks that late rows made overlap, also mostly without the lock: all of
/// them when `full`, else those [`store::worth_merging`] says.
fn finish_flush(state: &RwLock<State>, dir: &Path, job: FlushJob, full: bool) -> Result<()> {
    let lock = || state.write().unwrap_or_else(|e| e.into_inner());
    let written = store::write_files(dir, job);
    {
        let mut st = lock();
        let State {
            catalog,
            store,
            wal,
            flushing,
            ..
        } = &mut *st;
        let installed = store
            .install(written, &|db| catalog.dbs.contains_key(db))
            .and_then(|covered| {
                // tables created by INSERTs are logged in these segments
                catalog.sync()?;
                wal.remove_upto(covered)?;
                Ok(covered)
            });
        match installed {
            Ok(covered) => tracing::debug!(
                files = store.file_count(),
                covered_wal = covered,
                "flush installed"
            ),
            Err(e) => {
                *flushing = false;
                return Err(e);
            }
        }
    }
    let tidied = tidy(state, dir, full);
    lock().flushing = false;
    tidied
}

/// After a flush: merges late rows into the blocks they fall in, then
/// rewrites the data files left at least half dead. Reads are right
/// whether or not either happens, so a failure is logged and returned.
fn tidy(state: &RwLock<State>, dir: &Path, full: bool) -> Result<()> {
    let merged = merge_late_rows(state, dir, full);
    if let Err(e) = &merged {
        tracing::warn!(error = %e, "merging late rows failed; reads still see every row");
    }
    let compacted = compact_files(state, None);
    if let Err(e) = &compacted {
        tracing::warn!(error = %e, "compacting data files failed; their dead blocks stay for now");
    }
    merged.and(compacted.map(|_| ()))
}

/// Rewrites data files without their dead blocks: those of database `db`
/// with any (`COMPACT DATABASE`), or with `None` those at least half dead.
/// Plans under the read lock, copies without a lock, swaps each file in
/// under the write lock. The caller holds `flushing`, so no flush or other
/// compaction runs meanwhile. Returns the files rewritten.
fn compact_files(state: &RwLock<State>, db: Option<&str>) -> Result<usize> {
    let (plans, dir) = {
        let st = state.read().unwrap_or_else(|e| e.into_inner());
        (st.store.plan_compact(db), st.store.dir().to_owned())
    };
    let n = plans.len();
    for plan in plans {
        let done = plan.run(&dir)?;
        let mut st = state.write().unwrap_or_else(|e| e.into_inner());
        st.store.install_compaction(done)?;
    }
    if n > 0 {
        tracing::info!(files = n, "data files compacted");
    }
    Ok(n)
}

/// Rewrites runs of blocks that overlap in time (rows that arrived late)
/// into disjoint blocks: columns are read under the read lock, merged and
/// written without a lock, and swapped in under the write lock.
fn merge_late_rows(state: &RwLock<State>, dir: &Path, full: bool) -> Result<()> {
    let plan = {
        let st = state.read().unwrap_or_else(|e| e.into_inner());
        let tables = st.table_index();
        let schema = |uid: u64| {
            let (db, name) = tables.get(&uid)?;
            let entry = &st.catalog.dbs[db];
            let cols = entry.columns_of(name)?;
            let o = entry.options();
            Some((
                db.clone(),
                cols[1..].to_vec(),
                o.partition_ticks(),
                o.block_rows(),
            ))
        };
        st.store
            .plan_merge(&schema, if full { usize::MAX } else { MERGE_ROWS }, full)?
    };
    let Some(plan) = plan else { return Ok(()) };
    match store::write_files(dir, plan.run()) {
        Ok(written) => {
            let mut st = state.write().unwrap_or_else(|e| e.into_inner());
            let State { catalog, store, .. } = &mut *st;
            store.install_merge(written, &|db| catalog.dbs.contains_key(db))
        }
        Err((job, e)) => {
            for (rec, _) in &job.groups {
                let _ = std::fs::remove_file(dir.join(&rec.name));
            }
            Err(e)
        }
    }
}

/// Flat rows (`w` values each) without those `drop` marks.
fn without_rows(ts: Vec<i64>, vals: Vec<Value>, w: usize, drop: &[bool]) -> (Vec<i64>, Vec<Value>) {
    let mut kept_ts = Vec::with_capacity(ts.len());
    let mut kept_vals = Vec::with_capacity(vals.len());
    let mut vals = vals.into_iter();
    for (i, t) in ts.into_iter().enumerate() {
        let row = vals.by_ref().take(w);
        if drop.get(i).copied().unwrap_or(false) {
            row.for_each(std::mem::drop);
        } else {
            kept_ts.push(t);
            kept_vals.extend(row);
        }
    }
    (kept_ts, kept_vals)
}

/// Memory `rows` memtable rows holding `vals` take, roughly (for the flush
/// trigger).
fn rows_bytes(rows: usize, vals: &[Value]) -> usize {
    let strings: usize = vals
        .iter()
        .map(|v| match v {
            Value::Str(s) => s.len(),
            _ => 0,
        })
        .sum();
    rows * 64 + std::mem::size_of_val(vals) + strings
}

impl DbEntry {
    /// Columns (timestamp first) and tags of a super, child or normal table
    /// (a normal table has no tags).
    pub fn layout(&self, name: &str) -> Option<(&[Column], &[Column])> {
        if let Some(s) = self.stables.get(name) {
            return Some((&s.columns, &s.tags));
        }
        match &self.tables.get(name)?.kind {
            TableKind::Normal { columns, .. } => Some((columns, &[])),
            TableKind::Child { stable, .. } => {
                let s = self.stables.get(stable)?;
                Some((&s.columns, &s.tags))
            }
        }
    }

    /// Columns (timestamp first) of a normal or child table.
    pub fn columns_of(&self, table: &str) -> Option<Vec<Column>> {
        let t = self.tables.get(table)?;
        match &t.kind {
            TableKind::Normal { columns, .. } => Some(columns.clone()),
            TableKind::Child { stable, .. } => Some(self.stables.get(stable)?.columns.clone()),
        }
    }

    pub fn options(&self) -> DbOptions {
        self.db
            .as_ref()
            .map(|d| d.options.clone())
            .unwrap_or_default()
    }
}

/// A literal of a DDL or INSERT statement as a value (`now`, `now - 1h`,
/// numbers, strings, NULL).
pub fn literal(e: &Expr, p: Precision, now: i64) -> Result<Value> {
    Ok(match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Int(i) => Value::Int(*i),
        Expr::Float(f) => Value::Double(*f),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Now => Value::Int(now),
        Expr::Neg(inner) => match literal(inner, p, now)? {
            Value::Int(i) => Value::Int(-i),
            Value::Double(d) => Value::Double(-d),
            v => return Err(DbError::invalid(format!("cannot negate {v:?}"))),
        },
        Expr::Binary { op, left, right } if matches!(op, ast::BinOp::Add | ast::BinOp::Sub) => {
            let base = match literal(left, p, now)? {
                Value::Str(s) => Value::Int(parse_timestamp(&s, p)?),
                v => v,
            };
            let Expr::Duration(d) = **right else {
                return Err(DbError::invalid(
                    "only a duration (such as 1h) can be added to a timestamp in a value",
                ));
            };
            let ticks = crate::query::time::duration_ticks(d, p)?;
            match base {
                Value::Int(t) if *op == ast::BinOp::Add => Value::Int(t + ticks),
                Value::Int(t) => Value::Int(t - ticks),
                _ => return Err(DbError::invalid("invalid timestamp arithmetic")),
            }
        }
        other => {
            return Err(DbError::invalid(format!(
                "a constant value is expected, not {other:?}"
            )));
        }
    })
}

/// A value for a column of type `ty`: timestamps from strings and epochs.
fn column_value(e: &Expr, ty: DataType, col: &str, p: Precision, now: i64) -> Result<Value> {
    typed(literal(e, p, now)?, ty, col, p)
}

/// An INSERT value for a column of type `ty` (its string moved, not copied).
fn lit_value(e: Lit, ty: DataType, col: &str, p: Precision, now: i64) -> Result<Value> {
    // the usual cases first, without the general conversion
    match (&e, ty) {
        (Lit::Null, _) => return Ok(Value::Null),
        (Lit::Int(i), DataType::Timestamp) => return Ok(Value::Int(*i)),
        (Lit::Int(i), _)
            if ty
                .int_bounds()
                .is_some_and(|(lo, hi)| (lo..=hi).contains(i)) =>
        {
            return Ok(Value::Int(*i));
        }
        (Lit::Float(f), DataType::Double) => return Ok(Value::Double(*f)),
        _ => {}
    }
    let v = match e {
        Lit::Null => Value::Null,
        Lit::Bool(b) => Value::Bool(b),
        Lit::Int(i) => Value::Int(i),
        Lit::Float(f) => Value::Double(f),
        Lit::Str(s) => Value::Str(s),
        Lit::Now => Value::Int(now),
        Lit::Expr(e) => literal(&e, p, now)?,
    };
    typed(v, ty, col, p)
}

/// `v` as a value of type `ty`: timestamps from strings and epochs.
fn typed(v: Value, ty: DataType, col: &str, p: Precision) -> Result<Value> {
    if ty == DataType::Timestamp {
        return match v {
            Value::Str(s) => Ok(Value::Int(parse_timestamp(&s, p)?)),
            Value::Int(i) => Ok(Value::Int(i)),
            Value::Null => Ok(Value::Null),
            other => Err(DbError::invalid(format!(
                "invalid timestamp for column {col}: {other:?}"
            ))),
        };
    }
    ty.coerce(v, col)
}

fn columns_from(defs: &[ColumnDef], first_id: u16) -> Vec<Column> {
    defs.iter()
        .enumerate()
        .map(|(i, d)| Column {
            id: first_id + i as u16,
            name: d.name.clone(),
            ty: d.ty,
        })
        .collect()
}

fn duration_days(e: &Expr, what: &str) -> Result<i64> {
    match e {
        Expr::Int(i) => Ok(*i),
        Expr::Duration(d) => match d.unit {
            'd' => Ok(d.count),
            'h' if d.count % 24 == 0 => Ok(d.count / 24),
            'm' if d.count % 1440 == 0 => Ok(d.count / 1440),
            _ => Err(DbError::invalid(format!(
                "{what} must be a whole number of days (such as 10 or 10d)"
            ))),
        },
        _ => Err(DbError::invalid(format!("{what} expects a number"))),
    }
}

fn int_option(e: &Expr, what: &str, lo: i64, hi: i64) -> Result<i64> {
    match e {
        Expr::Int(i) if (lo..=hi).contains(i) => Ok(*i),
        _ => Err(DbError::invalid(format!(
            "invalid option {what}: expected a number in [{lo}, {hi}]"
        ))),
    }
}

/// Applies `CREATE/ALTER DATABASE` options; `alter` allows only the
/// alterable ones.
fn set_options(o: &mut DbOptions, opts: &[(String, Expr)], alter: bool) -> Result<()> {
    for (k, v) in opts {
        let alterable = matches!(
            k.as_str(),
            "keep" | "blocks" | "cachelast" | "cachemodel" | "comp" | "replica" | "quorum"
        );
        if alter && !alterable {
            fail!(
                code::INVALID_VALUE,
                "option {} cannot be altered",
                k.to_uppercase()
            );
        }
        match k.as_str() {
            "keep" => o.keep = duration_days(v, "KEEP")?,
            "days" | "duration" => o.days = duration_days(v, "DAYS")?,
            "cache" => o.cache = int_option(v, "CACHE", 1, 128)?,
            "blocks" => o.blocks = int_option(v, "BLOCKS", 3, 1000)?,
            "buffer" => {
                // 3.x BUFFER (MB per vnode) = cache x blocks
                let mb = int_option(v, "BUFFER", 3, 16384)?;
                o.blocks = (mb / o.cache).clamp(3, 1000);
            }
            "update" => o.update = int_option(v, "UPDATE", 0, 2)? as u8,
            "cachelast" => o.cachelast = int_option(v, "CACHELAST", 0, 3)? as u8,
            "cachemodel" => {
                o.cachelast = match v {
                    Expr::Str(s) => match s.as_str() {
                        "none" => 0,
                        "last_row" => 1,
                        "last_value" => 2,
                        "both" => 3,
                        _ => fail!(code::INVALID_VALUE, "invalid CACHEMODEL '{s}'"),
                    },
                    _ => fail!(code::INVALID_VALUE, "CACHEMODEL expects a quoted name"),
                }
            }
            "precision" => match v {
                Expr::Str(s) => o.precision = Precision::parse(s)?,
                _ => fail!(code::INVALID_VALUE, "PRECISION expects 'ms', 'us' or 'ns'"),
            },
            "replica" => o.replica = int_option(v, "REPLICA", 1, 3)?,
            "quorum" => o.quorum = int_option(v, "QUORUM", 1, 2)?,
            "minrows" => o.minrows = int_option(v, "MINROWS", 10, 1000)?,
            "maxrows" => o.maxrows = int_option(v, "MAXROWS", 200, 10000)?,
            "comp" => o.comp = int_option(v, "COMP", 0, 2)?,
            "wal" | "wal_level" => o.wal = int_option(v, "WAL", 1, 2)? as u8,
            "fsync" | "wal_fsync_period" => o.fsync = int_option(v, "FSYNC", 0, 180_000)?,
            "vgroups" | "pages" | "pagesize" | "stt_trigger" | "single_stable" | "cachesize" => {}
            _ => fail!(
                code::INVALID_VALUE,
                "unknown database option {}",
                k.to_uppercase()
            ),
        }
    }
    if o.keep < o.days {
        fail!(
            code::INVALID_VALUE,
            "invalid option KEEP {}: must not be less than DAYS {}",
            o.keep,
            o.days
        );
    }
    Ok(())
}

impl State {
    /// Applies a WAL record to the memtable. Duplicate timestamps are
    /// resolved here against all older layers (frozen and sealed blocks
    /// too), so a read only has to let the newest layer win: `UPDATE 0`
    /// drops a row whose timestamp is stored anywhere; `UPDATE 2` fills the
    /// columns not given from the stored row.
    fn apply(&mut self, rec: InsertRecord, cols: &[Column], update: Update) {
        // position of each supplied column in the current schema
        let positions: Vec<Option<usize>> = rec
            .col_ids
            .iter()
            .map(|id| cols.iter().skip(1).position(|c| c.id == *id))
            .collect();
        let width = cols.len().saturating_sub(1);
        let mut given = vec![false; width];
        for p in positions.iter().flatten() {
            given[*p] = true;
        }
        let sealed_max = self.store.tables.get(&rec.uid).map(|t| t.ts_max);
        let table = self.data.entry(rec.uid).or_default();
        // every column, in schema order: the rows are stored as they came
        let identity =
            positions.len() == width && positions.iter().enumerate().all(|(i, p)| *p == Some(i));
        let w = rec.width();
        let InsertRecord {
            uid,
            mut ts,
            mut vals,
            ..
        } = rec;
        // The usual batch: every column, in order, newer than every block
        // (so no duplicate to resolve there): appended whole, or merged
        // whole into the memtable's newest rows when a concurrent writer's
        // batch overtook it.
        // Rows at or before the newest block's end may repeat a stored
        // timestamp: with UPDATE 0 those are dropped, found by one walk over
        // the blocks (other policies, every column given, just replace).
        if identity && !ts.is_empty() && ts.windows(2).all(|p| p[0] < p[1]) {
            let old = ts.partition_point(|&t| sealed_max.is_some_and(|m| t <= m));
            if old > 0 && update == Update::Discard {
                match self.store.stored_among(uid, &ts[..old]) {
                    Ok(stored) if stored.contains(&true) => {
                        let (kept_ts, kept_vals) = without_rows(ts, vals, w, &stored);
                        (ts, vals) = (kept_ts, kept_vals);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "duplicate check against stored blocks failed");
                    }
                }
            }
            let bytes = rows_bytes(ts.len(), &vals);
            if table.append(&ts, &mut vals) || table.merge_batch(&ts, &mut vals, update) {
                self.mem_bytes += bytes;
                self.cache_last(uid, sealed_max);
                return;
            }
        }
        let table = self.data.get_mut(&uid).expect("entered above");
        let mut vals = vals.into_iter();
        for ts in ts {
            let mut row = if identity {
                vals.by_ref().take(w).collect()
            } else {
                let mut row = vec![Value::Null; width];
                for (v, p) in vals.by_ref().take(w).zip(&positions) {
                    if let Some(p) = p {
                        row[*p] = v;
                    }
                }
                row
            };
            if update != Update::Replace
                && sealed_max.is_some_and(|m| ts <= m)
                && !table.contains(ts)
            {
                let stored = self.store.row_at(uid, ts, &cols[1..]).unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "duplicate check against stored blocks failed");
                    None
                });
                if let Some(old) = stored {
                    if update == Update::Discard {
                        continue;
                    }
                    for (i, v) in old.into_iter().enumerate() {
                        if !given[i] {
                            row[i] = v;
                        }
                    }
                }
            }
            self.mem_bytes += rows_bytes(1, &row);
            table.insert(ts, row, &given, update);
        }
        self.cache_last(uid, sealed_max);
    }

    /// After rows went into table `uid`'s memtable: its newest row is the
    /// table's newest unless the cache or (after a restart, before the
    /// cache knows) a block (`sealed_max`) has a newer.
    fn cache_last(&mut self, uid: u64, sealed_max: Option<i64>) {
        let Some((ts, row)) = self.data.get(&uid).and_then(|t| t.last_row()) else {
            return;
        };
        let newest = match self.last.get(&uid) {
            Some((t, _)) => *t <= ts,
            None => sealed_max.is_none_or(|m| m <= ts),
        };
        if newest {
            self.last.insert(uid, (ts, row.to_vec()));
        }
    }

    /// Puts a child table logged in the WAL back into the catalog (in
    /// memory) unless its database or super table is gone or a table of
    /// that name exists. Returns whether it did.
    fn recreate(&mut self, db: &str, table: &Table) -> bool {
        let Some(entry) = self.catalog.dbs.get_mut(db) else {
            return false;
        };
        let stable_ok = match &table.kind {
            TableKind::Child { stable, .. } => entry.stables.contains_key(stable),
            TableKind::Normal { .. } => true,
        };
        if !stable_ok || entry.tables.contains_key(&table.name) {
            return false;
        }
        entry.tables.insert(table.name.clone(), table.clone());
        self.catalog.next_uid = self.catalog.next_uid.max(table.uid + 1);
        true
    }

    /// Tables are gone: their memtables, blocks and cached last rows.
    fn forget_tables(&mut self, uids: &[u64]) {
        for uid in uids {
            self.data.remove(uid);
            self.last.remove(uid);
        }
        if let Err(e) = self.store.drop_tables(uids) {
            tracing::warn!(error = %e, "the dropped tables' blocks stay in their files");
        }
    }

    /// A column was dropped: remove its values (position `pos` after the
    /// timestamp) from the rows in memory. Blocks keep theirs, by id.
    fn drop_column_data(&mut self, uid: u64, pos: usize) {
        if let Some(d) = self.data.get_mut(&uid) {
            d.drop_column(pos);
        }
        if let Some((_, row)) = self.last.get_mut(&uid) {
            if pos < row.len() {
                row.remove(pos);
            }
        }
    }

    /// The memtables are past a third of the databases' `cache × blocks`
    /// (2.x commits when about a third of the blocks are in use).
    fn over_budget(&self) -> bool {
        let budget: i64 = self
            .catalog
            .dbs
            .values()
            .map(|e| {
                let o = e.options();
                o.cache * o.blocks
            })
            .sum();
        self.mem_bytes as i64 >= (budget << 20) / 3
    }

    /// Turns the memtables into blocks and rotates the WAL; `None` if there
    /// is nothing to flush.
    fn freeze(&mut self) -> Result<Option<FlushJob>> {
        if self.data.values().all(|t| t.is_empty()) {
            return Ok(None);
        }
        let wal_seq = self.wal.rotate()?;
        let tables = self.table_index();
        let data = std::mem::take(&mut self.data);
        self.mem_bytes = 0;
        let mut schemas: Vec<(u64, &str, Vec<Column>, DbOptions)> = Vec::new();
        let mut rows = Vec::new();
        for (uid, t) in data {
            let Some((db, name)) = tables.get(&uid) else {
                continue;
            };
            if t.is_empty() {
                continue; // not written since the last freeze: its memory goes
            }
            let entry = &self.catalog.dbs[db];
            let cols = entry.columns_of(name).unwrap_or_default();
            schemas.push((uid, db.as_str(), cols, entry.options()));
            rows.push(t);
        }
        let inputs = schemas
            .iter()
            .zip(rows)
            .map(|((uid, db, cols, o), rows)| FreezeInput {
                uid: *uid,
                db,
                columns: &cols[1..],
                part_len: o.partition_ticks(),
                maxrows: o.block_rows(),
                rows,
            })
            .collect();
        let (job, emptied) = self.store.freeze(wal_seq, inputs);
        // the next rows of these tables go into the same memory
        self.data.extend(emptied);
        self.flushing = true;
        Ok(Some(job))
    }

    /// uid → (db, table) for every table.
    fn table_index(&self) -> HashMap<u64, (String, String)> {
        let mut m = HashMap::new();
        for (db, e) in &self.catalog.dbs {
            for (name, t) in &e.tables {
                m.insert(t.uid, (db.clone(), name.clone()));
            }
        }
        m
    }

    pub fn db(&self, name: &str) -> Result<&DbEntry> {
        self.catalog
            .dbs
            .get(name)
            .ok_or_else(|| DbError::new(code::DB_NOT_EXIST, format!("Database not exist: {name}")))
    }

    pub(crate) fn ddl(&mut self, stmt: Statement, current: Option<&str>) -> Result<Output> {
        match stmt {
            Statement::CreateDatabase {
                name,
                if_not_exists,
                options,
            } => {
                check_name("database", &name, MAX_DB_NAME)?;
                if self.catalog.dbs.contains_key(&name) {
                    if if_not_exists {
                        return Ok(Output::Affected(0));
                    }
                    fail!(code::DB_ALREADY_EXIST, "Database already exists: {name}");
                }
                let mut o = DbOptions::default();
                set_options(&mut o, &options, false)?;
                let db = Database {
                    name: name.clone(),
                    options: o,
                    created: now_ms(),
                };
                self.catalog.commit(&[Change::PutDb(&db)])?;
                self.catalog.dbs.insert(
                    name,
                    DbEntry {
                        db: Some(db),
                        ..DbEntry::default()
                    },
                );
                Ok(Output::Affected(0))
            }
            Statement::AlterDatabase { name, options } => {
                let mut db = self
                    .db(&name)?
                    .db
                    .clone()
                    .expect("loaded databases have a record");
                set_options(&mut db.options, &options, true)?;
                self.catalog.commit(&[Change::PutDb(&db)])?;
                self.catalog.dbs.get_mut(&name).expect("checked").db = Some(db);
                Ok(Output::Affected(0))
            }
            Statement::DropDatabase { name, if_exists } => {
                let Some(entry) = self.catalog.dbs.get(&name) else {
                    if if_exists {
                        return Ok(Output::Affected(0));
                    }
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                };
                let uids: Vec<u64> = entry.tables.values().map(|t| t.uid).collect();
                self.catalog.commit(&[Change::DelDb(&name)])?;
                self.catalog.dbs.remove(&name);
                for uid in &uids {
                    self.data.remove(uid);
                    self.last.remove(uid);
                }
                self.store.drop_db(&name, &uids)?;
                Ok(Output::Affected(0))
            }
            Statement::CreateTable {
                name,
                if_not_exists,
                columns,
                tags,
            } => self.create_table(&name, if_not_exists, &columns, &tags, current),
            Statement::CreateSubTables(subs) => {
                for s in &subs {
                    let db = resolve_db(s.name.db.as_deref(), current)?;
                    self.create_child(&db, s, !s.if_not_exists)?;
                }
                Ok(Output::Affected(0))
            }
            Statement::Drop {
                name,
                if_exists,
                stable,
            } => self.drop_table(&name, if_exists, stable, current),
            Statement::AlterTable {
                name,
                stable,
                action,
            } => self.alter_table(&name, stable, action, current),
            _ => Err(DbError::unsupported("statement not supported")),
        }
    }

    fn create_table(
        &mut self,
        name: &ObjName,
        if_not_exists: bool,
        columns: &[ColumnDef],
        tags: &[ColumnDef],
        current: Option<&str>,
    ) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        check_name("table", &name.name, MAX_TABLE_NAME)?;
        let entry = self.db(&db)?;
        if entry.tables.contains_key(&name.name) || entry.stables.contains_key(&name.name) {
            if if_not_exists {
                return Ok(Output::Affected(0));
            }
            fail!(
                code::TABLE_ALREADY_EXIST,
                "Table already exists: {}",
                name.name
            );
        }
        if columns.first().map(|c| c.ty) != Some(DataType::Timestamp) {
            fail!(
                code::INVALID_COLUMN,
                "the first column must be of type TIMESTAMP"
            );
        }
        if columns.len() < 2 {
            fail!(
                code::INVALID_COLUMN,
                "a table needs at least one column besides the timestamp"
            );
        }
        if columns.len() + tags.len() > MAX_COLUMNS {
            fail!(
                code::INVALID_COLUMN,
                "too many columns: at most {MAX_COLUMNS} including tags"
            );
        }
        if tags.len() > MAX_TAGS {
            fail!(code::INVALID_COLUMN, "too many tags: at most {MAX_TAGS}");
        }
        let mut seen = std::collections::HashSet::new();
        for c in columns.iter().chain(tags) {
            check_name("column", &c.name, MAX_COLUMN_NAME)?;
            if !seen.insert(c.name.as_str()) {
                fail!(code::INVALID_COLUMN, "duplicated column name: {}", c.name);
            }
        }
        let cols = columns_from(columns, 0);
        let created = now_ms();
        if tags.is_empty() {
            let t = Table {
                name: name.name.clone(),
                uid: self.catalog.next_uid,
                kind: TableKind::Normal {
                    next_id: cols.len() as u16,
                    columns: cols,
                },
                created,
            };
            self.catalog.next_uid += 1;
            self.catalog.commit(&[Change::PutTable(&db, &t)])?;
            self.catalog
                .dbs
                .get_mut(&db)
                .expect("checked")
                .tables
                .insert(t.name.clone(), t);
        } else {
            let tag_cols = columns_from(tags, cols.len() as u16);
            let st = STable {
                name: name.name.clone(),
                next_id: (cols.len() + tag_cols.len()) as u16,
                columns: cols,
                tags: tag_cols,
                created,
            };
            self.catalog.commit(&[Change::PutSTable(&db, &st)])?;
            self.catalog
                .dbs
                .get_mut(&db)
                .expect("checked")
                .stables
                .insert(st.name.clone(), st);
        }
        Ok(Output::Affected(0))
    }

    /// Creates a child table; an existing one is an error only if `strict`.
    /// Returns whether it was created.
    fn create_child(&mut self, db: &str, s: &SubTable, strict: bool) -> Result<bool> {
        let t = self.child_table(db, s, strict)?;
        let Some(t) = t else { return Ok(false) };
        self.catalog.commit(&[Change::PutTable(db, &t)])?;
        self.catalog.next_uid += 1;
        self.catalog
            .dbs
            .get_mut(db)
            .expect("checked")
            .tables
            .insert(t.name.clone(), t);
        Ok(true)
    }

    /// The child table `s` describes, or `None` if it exists (and not strict).
    fn child_table(&self, db: &str, s: &SubTable, strict: bool) -> Result<Option<Table>> {
        check_name("table", &s.name.name, MAX_TABLE_NAME)?;
        let entry = self.db(db)?;
        if entry.tables.contains_key(&s.name.name) || entry.stables.contains_key(&s.name.name) {
            if strict {
                fail!(
                    code::TABLE_ALREADY_EXIST,
                    "Table already exists: {}",
                    s.name.name
                );
            }
            return Ok(None);
        }
        let sdb = s.stable.db.as_deref().unwrap_or(db);
        if sdb != db {
            fail!(
                code::INVALID_VALUE,
                "a child table must be in the database of its super table"
            );
        }
        let Some(st) = entry.stables.get(&s.stable.name) else {
            fail!(
                code::STABLE_NOT_EXIST,
                "super table {} does not exist in database {db}",
                s.stable.name
            );
        };
        let p = entry.options().precision;
        let now = p.now();
        let mut tags = vec![Value::Null; st.tags.len()];
        match &s.tag_names {
            None => {
                if s.tag_values.len() != st.tags.len() {
                    fail!(
                        code::INVALID_VALUE,
                        "super table {} has {} tags, {} values given",
                        st.name,
                        st.tags.len(),
                        s.tag_values.len()
                    );
                }
                for (i, (tag, e)) in st.tags.iter().zip(&s.tag_values).enumerate() {
                    tags[i] = column_value(e, tag.ty, &tag.name, p, now)?;
                }
            }
            Some(names) => {
                if names.len() != s.tag_values.len() {
                    fail!(
                        code::INVALID_VALUE,
                        "{} tag names but {} values",
                        names.len(),
                        s.tag_values.len()
                    );
                }
                for (n, e) in names.iter().zip(&s.tag_values) {
                    let Some(i) = st.tags.iter().position(|t| &t.name == n) else {
                        fail!(code::INVALID_COLUMN, "invalid tag name: {n}");
                    };
                    tags[i] = column_value(e, st.tags[i].ty, n, p, now)?;
                }
            }
        }
        Ok(Some(Table {
            name: s.name.name.clone(),
            uid: self.catalog.next_uid,
            kind: TableKind::Child {
                stable: st.name.clone(),
                tags,
            },
            created: now_ms(),
        }))
    }

    fn drop_table(
        &mut self,
        name: &ObjName,
        if_exists: bool,
        stable: bool,
        current: Option<&str>,
    ) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        if let Some(st) = entry.stables.get(&name.name) {
            let children: Vec<(String, u64)> = entry
                .tables
                .values()
                .filter(
                    |t| matches!(&t.kind, TableKind::Child { stable, .. } if *stable == st.name),
                )
                .map(|t| (t.name.clone(), t.uid))
                .collect();
            let mut changes: Vec<Change<'_>> = children
                .iter()
                .map(|(n, _)| Change::DelTable(&db, n))
                .collect();
            changes.push(Change::DelSTable(&db, &name.name));
            self.catalog.commit(&changes)?;
            let e = self.catalog.dbs.get_mut(&db).expect("checked");
            e.stables.remove(&name.name);
            for (n, _) in &children {
                e.tables.remove(n);
            }
            let uids: Vec<u64> = children.iter().map(|c| c.1).collect();
            self.forget_tables(&uids);
            return Ok(Output::Affected(0));
        }
        if stable && entry.tables.contains_key(&name.name) {
            fail!(
                code::INVALID_VALUE,
                "{} is not a super table (use DROP TABLE)",
                name.name
            );
        }
        let Some(t) = entry.tables.get(&name.name) else {
            if if_exists {
                return Ok(Output::Affected(0));
            }
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
        };
        let uid = t.uid;
        self.catalog.commit(&[Change::DelTable(&db, &name.name)])?;
        self.catalog
            .dbs
            .get_mut(&db)
            .expect("checked")
            .tables
            .remove(&name.name);
        self.forget_tables(&[uid]);
        Ok(Output::Affected(0))
    }

    fn alter_table(
        &mut self,
        name: &ObjName,
        stable: bool,
        action: AlterAction,
        current: Option<&str>,
    ) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        let p = entry.options().precision;
        if let AlterAction::SetTag(tag, e) = &action {
            let Some(t) = entry.tables.get(&name.name) else {
                fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
            };
            let TableKind::Child {
                stable: st_name,
                tags,
            } = &t.kind
            else {
                fail!(
                    code::INVALID_VALUE,
                    "{} is not a child table; only child tables have tag values",
                    name.name
                );
            };
            let st = &entry.stables[st_name];
            let Some(i) = st.tags.iter().position(|c| &c.name == tag) else {
                fail!(code::INVALID_COLUMN, "invalid tag name: {tag}");
            };
            let mut tags = tags.clone();
            tags[i] = column_value(e, st.tags[i].ty, tag, p, p.now())?;
            let mut t = t.clone();
            t.kind = TableKind::Child {
                stable: st_name.clone(),
                tags,
            };
            self.catalog.commit(&[Change::PutTable(&db, &t)])?;
            self.catalog
                .dbs
                .get_mut(&db)
                .expect("checked")
                .tables
                .insert(t.name.clone(), t);
            return Ok(Output::Affected(0));
        }
        if let Some(st) = entry.stables.get(&name.name) {
            let mut st = st.clone();
            let children: Vec<Table> = entry
                .tables
                .values()
                .filter(
                    |t| matches!(&t.kind, TableKind::Child { stable, .. } if *stable == st.name),
                )
                .cloned()
                .collect();
            let mut changed_children = Vec::new();
            let mut dropped_pos = None;
            match action {
                AlterAction::AddColumn(c) => {
                    add_column(&mut st.columns, &st.tags, &mut st.next_id, c)?;
                }
                AlterAction::DropColumn(c) => {
                    dropped_pos = Some(drop_column(&mut st.columns, &c)?);
                }
                AlterAction::ModifyColumn(c) => widen(&mut st.columns, &c)?,
                AlterAction::AddTag(c) => {
                    add_column(&mut st.tags, &st.columns, &mut st.next_id, c)?;
                    for mut t in children.clone() {
                        if let TableKind::Child { tags, .. } = &mut t.kind {
                            tags.push(Value::Null);
                        }
                        changed_children.push(t);
                    }
                }
                AlterAction::DropTag(tag) => {
                    if st.tags.len() == 1 {
                        fail!(code::INVALID_VALUE, "a super table needs at least one tag");
                    }
                    let Some(i) = st.tags.iter().position(|c| c.name == tag) else {
                        fail!(code::INVALID_COLUMN, "invalid tag name: {tag}");
                    };
                    st.tags.remove(i);
                    for mut t in children.clone() {
                        if let TableKind::Child { tags, .. } = &mut t.kind {
                            tags.remove(i);
                        }
                        changed_children.push(t);
                    }
                }
                AlterAction::RenameTag(old, new) => {
                    check_name("tag", &new, MAX_COLUMN_NAME)?;
                    if st.tags.iter().chain(&st.columns).any(|c| c.name == new) {
                        fail!(code::INVALID_COLUMN, "duplicated column name: {new}");
                    }
                    let Some(t) = st.tags.iter_mut().find(|c| c.name == old) else {
                        fail!(code::INVALID_COLUMN, "invalid tag name: {old}");
                    };
                    t.name = new;
                }
                AlterAction::ModifyTag(c) => widen(&mut st.tags, &c)?,
                AlterAction::SetTag(..) => unreachable!("handled above"),
            }
            let mut changes = vec![Change::PutSTable(&db, &st)];
            changes.extend(changed_children.iter().map(|t| Change::PutTable(&db, t)));
            self.catalog.commit(&changes)?;
            if let Some(pos) = dropped_pos {
                for t in &children {
                    self.drop_column_data(t.uid, pos - 1);
                }
            }
            let e = self.catalog.dbs.get_mut(&db).expect("checked");
            for t in changed_children {
                e.tables.insert(t.name.clone(), t);
            }
            e.stables.insert(st.name.clone(), st);
            return Ok(Output::Affected(0));
        }
        if stable {
            fail!(
                code::STABLE_NOT_EXIST,
                "super table {} does not exist in database {db}",
                name.name
            );
        }
        let Some(t) = entry.tables.get(&name.name) else {
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
        };
        let mut t = t.clone();
        let TableKind::Normal { columns, next_id } = &mut t.kind else {
            fail!(
                code::INVALID_VALUE,
                "the schema of child table {} changes through its super table",
                name.name
            );
        };
        let mut dropped_pos = None;
        match action {
            AlterAction::AddColumn(c) => add_column(columns, &[], next_id, c)?,
            AlterAction::DropColumn(c) => dropped_pos = Some(drop_column(columns, &c)?),
            AlterAction::ModifyColumn(c) => widen(columns, &c)?,
            _ => fail!(
                code::INVALID_VALUE,
                "{} is a normal table: it has no tags",
                name.name
            ),
        }
        self.catalog.commit(&[Change::PutTable(&db, &t)])?;
        if let Some(pos) = dropped_pos {
            self.drop_column_data(t.uid, pos - 1);
        }
        self.catalog
            .dbs
            .get_mut(&db)
            .expect("checked")
            .tables
            .insert(t.name.clone(), t);
        Ok(Output::Affected(0))
    }

    /// An INSERT: tables it auto-creates are created first, in one catalog
    /// transaction (they stay created even if a row is then refused, as in
    /// TDengine); then every row of every table is checked, and only then
    /// is anything written: one WAL append for the whole statement, so a
    /// statement is all or nothing (3.x; 2.x wrote clauses up to the first
    /// error).
    /// Returns the rows written and, when the statement must be on disk
    /// before it is acknowledged (WAL 2), the log offset to sync to.
    fn insert(
        &mut self,
        tables: Vec<InsertTable>,
        current: Option<&str>,
    ) -> Result<(usize, Option<u64>)> {
        let tables = self.expand_stable_inserts(tables, current)?;
        let mut created: Vec<(String, Table)> = Vec::new();
        for it in &tables {
            let Some(using) = &it.using else { continue };
            let db = resolve_db(it.table.db.as_deref(), current)?;
            if created
                .iter()
                .any(|(d, t)| *d == db && t.name == it.table.name)
            {
                continue;
            }
            let mut s = using.clone();
            s.name = it.table.clone();
            if let Some(mut t) = self.child_table(&db, &s, false)? {
                t.uid = self.catalog.next_uid;
                self.catalog.next_uid += 1;
                created.push((db, t));
            }
        }
        if !created.is_empty() {
            // durable through the WAL, not a catalog fsync per statement
            let changes: Vec<Change<'_>> = created
                .iter()
                .map(|(db, t)| Change::PutTable(db, t))
                .collect();
            self.catalog.commit_lazy(&changes)?;
            self.wal
                .append_creates(created.iter().map(|(db, t)| (db.as_str(), t)))?;
            for (db, t) in created {
                self.catalog
                    .dbs
                    .get_mut(&db)
                    .expect("checked")
                    .tables
                    .insert(t.name.clone(), t);
            }
        }
        let mut batch = Vec::with_capacity(tables.len());
        let mut sync = false;
        for it in tables {
            let db = resolve_db(it.table.db.as_deref(), current)?;
            let (rec, cols, opts) = self.insert_record(&db, it)?;
            sync |= opts.wal == 2
                && (opts.fsync == 0 || self.wal.syncer().since_sync_ms() >= opts.fsync as u128);
            batch.push((rec, cols, Update::from_option(opts.update)));
        }
        let end = self.wal.append(batch.iter().map(|b| &b.0))?;
        let mut total = 0;
        for (rec, cols, update) in batch {
            total += rec.len();
            self.apply(rec, &cols, update);
        }
        Ok((total, sync.then_some(end)))
    }

    /// The 3.x super-table form, `INSERT INTO meters (tbname, location,
    /// groupId, ts, current, ...) VALUES ('d31001', ...)`: each row goes to
    /// the child table its `tbname` names, created from the row's tag values
    /// if it does not exist. Clauses without the form pass unchanged.
    fn expand_stable_inserts(
        &self,
        tables: Vec<InsertTable>,
        current: Option<&str>,
    ) -> Result<Vec<InsertTable>> {
        let uses_form = |it: &InsertTable| {
            it.using.is_none()
                && it
                    .columns
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|n| n == "tbname"))
        };
        if !tables.iter().any(uses_form) {
            return Ok(tables);
        }
        let mut out = Vec::with_capacity(tables.len());
        for it in tables {
            if !uses_form(&it) {
                out.push(it);
                continue;
            }
            let db = resolve_db(it.table.db.as_deref(), current)?;
            let entry = self.db(&db)?;
            let Some(st) = entry.stables.get(&it.table.name) else {
                fail!(
                    code::STABLE_NOT_EXIST,
                    "tbname in the column list needs a super table; {} is not one",
                    it.table.name
                );
            };
            let names = it.columns.as_ref().expect("checked");
            if it.rows.width != names.len() {
                fail!(
                    code::INVALID_VALUE,
                    "row 1 of {} has {} values, {} expected",
                    it.table.name,
                    it.rows.width,
                    names.len()
                );
            }
            let tb = names.iter().position(|n| n == "tbname").expect("checked");
            let tag_idx: Vec<usize> = (0..names.len())
                .filter(|&i| st.tags.iter().any(|t| t.name == names[i]))
                .collect();
            let col_idx: Vec<usize> = (0..names.len())
                .filter(|&i| i != tb && !tag_idx.contains(&i))
                .collect();
            // rows per child table, in first-seen order
            let mut children: Vec<(String, InsertTable)> = Vec::new();
            for (r, row) in it.rows.iter().enumerate() {
                let Lit::Str(child) = &row[tb] else {
                    fail!(
                        code::INVALID_VALUE,
                        "tbname must be a quoted table name (row {})",
                        r + 1
                    );
                };
                let child = child.to_lowercase();
                let values = col_idx.iter().map(|&i| row[i].clone());
                if let Some((_, c)) = children.iter_mut().find(|(n, _)| *n == child) {
                    c.rows.push(values);
                    continue;
                }
                let name = ObjName {
                    db: it.table.db.clone(),
                    name: child.clone(),
                };
                let mut rows = Rows::new(col_idx.len());
                rows.push(values);
                children.push((
                    child,
                    InsertTable {
                        table: name.clone(),
                        using: Some(SubTable {
                            name,
                            if_not_exists: true,
                            stable: it.table.clone(),
                            tag_names: Some(tag_idx.iter().map(|&i| names[i].clone()).collect()),
                            tag_values: tag_idx
                                .iter()
                                .map(|&i| row[i].clone().into_expr())
                                .collect(),
                        }),
                        columns: Some(col_idx.iter().map(|&i| names[i].clone()).collect()),
                        rows,
                        pos: it.pos,
                    },
                ));
            }
            out.extend(children.into_iter().map(|(_, c)| c));
        }
        Ok(out)
    }

    /// The WAL record of one table clause, all values checked.
    fn insert_record(
        &self,
        db: &str,
        it: InsertTable,
    ) -> Result<(InsertRecord, Vec<Column>, DbOptions)> {
        let entry = self.db(db)?;
        let name = &it.table.name;
        let Some(table) = entry.tables.get(name) else {
            if entry.stables.contains_key(name) {
                fail!(
                    code::INVALID_VALUE,
                    "cannot insert into super table {name}; insert into its child tables"
                );
            }
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {name}");
        };
        let uid = table.uid;
        let cols = entry.columns_of(name).expect("table exists");
        let opts = entry.options();
        let p = opts.precision;
        // which schema columns the values are for
        let targets: Vec<usize> = match &it.columns {
            None => (0..cols.len()).collect(),
            Some(names) => {
                let mut v = Vec::with_capacity(names.len());
                for n in names {
                    let Some(i) = cols.iter().position(|c| &c.name == n) else {
                        fail!(
                            code::INVALID_COLUMN,
                            "invalid column name: {n} (table {name})"
                        );
                    };
                    if v.contains(&i) {
                        fail!(code::INVALID_COLUMN, "duplicated column name: {n}");
                    }
                    v.push(i);
                }
                if !v.contains(&0) {
                    fail!(
                        code::INVALID_COLUMN,
                        "the timestamp column {} must be given",
                        cols[0].name
                    );
                }
                v
            }
        };
        // every row is as wide as the first (the parser checks)
        if it.rows.width != targets.len() {
            fail!(
                code::INVALID_VALUE,
                "row 1 of table {name} has {} values, {} expected",
                it.rows.width,
                targets.len()
            );
        }
        let now = p.now();
        let lo = now - opts.keep * 86_400 * p.per_second();
        let hi = now + opts.days * 86_400 * p.per_second();
        let nrows = it.rows.len();
        let mut ts = Vec::with_capacity(nrows);
        let mut vals = Vec::with_capacity(nrows * (targets.len() - 1));
        let mut cells = it.rows.cells.into_iter();
        for (r, &ci) in (0..nrows).flat_map(|r| targets.iter().map(move |ci| (r, ci))) {
            let e = cells.next().expect("every row is as wide as targets");
            let c = &cols[ci];
            let v = lit_value(e, c.ty, &c.name, p, now).map_err(|e| {
                DbError::new(e.code, format!("{} (table {name}, row {})", e.msg, r + 1))
            })?;
            if ci != 0 {
                vals.push(v);
                continue;
            }
            let Value::Int(t) = v else {
                fail!(
                    code::INVALID_VALUE,
                    "the timestamp must not be NULL (table {name}, row {})",
                    r + 1
                );
            };
            if t < lo || t > hi {
                fail!(
                    code::TIMESTAMP_OUT_OF_RANGE,
                    "Timestamp data out of range: {} is not within KEEP {} days and DAYS {} days of now (table {name})",
                    crate::types::format_local(t, p),
                    opts.keep,
                    opts.days
                );
            }
            ts.push(t);
        }
        // Within one statement, equal timestamps collapse as the policy says
        // (2.x sorted the batch and kept the first for UPDATE 0).
        let col_ids: Vec<u16> = targets
            .iter()
            .filter(|&&i| i != 0)
            .map(|&i| cols[i].id)
            .collect();
        let rec = InsertRecord {
            uid,
            col_ids,
            ts,
            vals,
        };
        Ok((rec, cols, opts))
    }

    fn show_create_database(&self, name: &str) -> Result<Output> {
        let o = self.db(name)?.options();
        let text = format!(
            "CREATE DATABASE {name} KEEP {} DAYS {} CACHE {} BLOCKS {} MINROWS {} MAXROWS {} WAL {} FSYNC {} COMP {} CACHELAST {} PRECISION '{}' UPDATE {}",
            o.keep,
            o.days,
            o.cache,
            o.blocks,
            o.minrows,
            o.maxrows,
            o.wal,
            o.fsync,
            o.comp,
            o.cachelast,
            o.precision.as_str(),
            o.update
        );
        Ok(Output::Rows {
            columns: vec![
                ColMeta::new("Database", DataType::Binary(32)),
                ColMeta::new("Create Database", DataType::Binary(1024)),
            ],
            rows: vec![vec![Value::Str(name.to_owned()), Value::Str(text)]],
            precision: Precision::Ms,
        })
    }

    fn show_create_table(&self, name: &ObjName, current: Option<&str>) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        let defs = |cols: &[Column]| {
            cols.iter()
                .map(|c| format!("{} {}", c.name, c.ty.decl()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let text = if let Some(st) = entry.stables.get(&name.name) {
            format!(
                "CREATE TABLE {} ({}) TAGS ({})",
                st.name,
                defs(&st.columns),
                defs(&st.tags)
            )
        } else if let Some(t) = entry.tables.get(&name.name) {
            match &t.kind {
                TableKind::Normal { columns, .. } => {
                    format!("CREATE TABLE {} ({})", t.name, defs(columns))
                }
                TableKind::Child { stable, tags } => {
                    let vals: Vec<String> = tags
                        .iter()
                        .map(|v| match v {
                            Value::Null => "NULL".to_owned(),
                            Value::Str(s) => format!("\"{s}\""),
                            Value::Int(i) => i.to_string(),
                            Value::Double(d) => d.to_string(),
                            Value::Bool(b) => b.to_string(),
                        })
                        .collect();
                    format!(
                        "CREATE TABLE {} USING {stable} TAGS ({})",
                        t.name,
                        vals.join(",")
                    )
                }
            }
        } else {
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
        };
        Ok(Output::Rows {
            columns: vec![
                ColMeta::new("Table", DataType::Binary(192)),
                ColMeta::new("Create Table", DataType::Binary(1024)),
            ],
            rows: vec![vec![Value::Str(name.name.clone()), Value::Str(text)]],
            precision: Precision::Ms,
        })
    }

    fn show_databases(&self) -> Output {
        let cols = vec![
            ColMeta::new("name", DataType::Binary(32)),
            ColMeta::new("created_time", DataType::Timestamp),
            ColMeta::new("ntables", DataType::Int),
            ColMeta::new("vgroups", DataType::Int),
            ColMeta::new("replica", DataType::SmallInt),
            ColMeta::new("quorum", DataType::SmallInt),
            ColMeta::new("days", DataType::SmallInt),
            ColMeta::new("keep", DataType::Binary(24)),
            ColMeta::new("cache(MB)", DataType::Int),
            ColMeta::new("blocks", DataType::Int),
            ColMeta::new("minrows", DataType::Int),
            ColMeta::new("maxrows", DataType::Int),
            ColMeta::new("wallevel", DataType::TinyInt),
            ColMeta::new("fsync", DataType::Int),
            ColMeta::new("comp", DataType::TinyInt),
            ColMeta::new("cachelast", DataType::TinyInt),
            ColMeta::new("precision", DataType::Binary(3)),
            ColMeta::new("update", DataType::TinyInt),
            ColMeta::new("status", DataType::Binary(10)),
        ];
        let rows = self
            .catalog
            .dbs
            .values()
            .filter_map(|e| {
                let d = e.db.as_ref()?;
                let o = &d.options;
                Some(vec![
                    Value::Str(d.name.clone()),
                    Value::Int(d.created),
                    Value::Int(e.tables.len() as i64),
                    Value::Int(1),
                    Value::Int(o.replica),
                    Value::Int(o.quorum),
                    Value::Int(o.days),
                    Value::Str(o.keep.to_string()),
                    Value::Int(o.cache),
                    Value::Int(o.blocks),
                    Value::Int(o.minrows),
                    Value::Int(o.maxrows),
                    Value::Int(i64::from(o.wal)),
                    Value::Int(o.fsync),
                    Value::Int(o.comp),
                    Value::Int(i64::from(o.cachelast)),
                    Value::Str(o.precision.as_str().to_owned()),
                    Value::Int(i64::from(o.update)),
                    Value::Str("ready".into()),
                ])
            })
            .collect();
        Output::Rows {
            columns: cols,
            rows,
            precision: Precision::Ms,
        }
    }

    fn show_tables(&self, db: &str, what: ShowWhat, like: Option<&str>) -> Result<Output> {
        let entry = self.db(db)?;
        let matches = |n: &str| like.is_none_or(|p| like_match(n, p));
        Ok(match what {
            ShowWhat::STables => Output::Rows {
                columns: vec![
                    ColMeta::new("name", DataType::Binary(192)),
                    ColMeta::new("created_time", DataType::Timestamp),
                    ColMeta::new("columns", DataType::SmallInt),
                    ColMeta::new("tags", DataType::SmallInt),
                    ColMeta::new("tables", DataType::Int),
                ],
                rows: entry
                    .stables
                    .values()
                    .filter(|s| matches(&s.name))
                    .map(|s| {
                        let n = entry
                            .tables
                            .values()
                            .filter(|t| matches!(&t.kind, TableKind::Child { stable, .. } if *stable == s.name))
                            .count();
                        vec![
                            Value::Str(s.name.clone()),
                            Value::Int(s.created),
                            Value::Int(s.columns.len() as i64),
                            Value::Int(s.tags.len() as i64),
                            Value::Int(n as i64),
                        ]
                    })
                    .collect(),
                precision: Precision::Ms,
            },
            ShowWhat::Tables => Output::Rows {
                columns: vec![
                    ColMeta::new("table_name", DataType::Binary(192)),
                    ColMeta::new("created_time", DataType::Timestamp),
                    ColMeta::new("columns", DataType::SmallInt),
                    ColMeta::new("stable_name", DataType::Binary(192)),
                ],
                rows: entry
                    .tables
                    .values()
                    .filter(|t| matches(&t.name))
                    .map(|t| {
                        let (ncols, st) = match &t.kind {
                            TableKind::Normal { columns, .. } => (columns.len(), Value::Null),
                            TableKind::Child { stable, .. } => (
                                entry.stables.get(stable).map_or(0, |s| s.columns.len()),
                                Value::Str(stable.clone()),
                            ),
                        };
                        vec![
                            Value::Str(t.name.clone()),
                            Value::Int(t.created),
                            Value::Int(ncols as i64),
                            st,
                        ]
                    })
                    .collect(),
                precision: Precision::Ms,
            },
        })
    }

    fn describe(&self, name: &ObjName, current: Option<&str>) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        let (cols, tags): (Vec<Column>, Vec<Column>) =
            if let Some(st) = entry.stables.get(&name.name) {
                (st.columns.clone(), st.tags.clone())
            } else if let Some(t) = entry.tables.get(&name.name) {
                match &t.kind {
                    TableKind::Normal { columns, .. } => (columns.clone(), Vec::new()),
                    TableKind::Child { stable, .. } => {
                        let st = &entry.stables[stable];
                        (st.columns.clone(), st.tags.clone())
                    }
                }
            } else {
                fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
            };
        let row = |c: &Column, note: &str| {
            vec![
                Value::Str(c.name.clone()),
                Value::Str(c.ty.name().replace("VARCHAR", "BINARY")),
                Value::Int(i64::from(c.ty.len())),
                Value::Str(note.to_owned()),
            ]
        };
        let mut rows: Vec<Vec<Value>> = cols.iter().map(|c| row(c, "")).collect();
        rows.extend(tags.iter().map(|c| row(c, "TAG")));
        Ok(Output::Rows {
            columns: vec![
                ColMeta::new("Field", DataType::Binary(64)),
                ColMeta::new("Type", DataType::Binary(18)),
                ColMeta::new("Length", DataType::Int),
                ColMeta::new("Note", DataType::Binary(10)),
            ],
            rows,
            precision: Precision::Ms,
        })
    }
}

fn add_column(
    list: &mut Vec<Column>,
    others: &[Column],
    next_id: &mut u16,
    c: ColumnDef,
) -> Result<()> {
    check_name("column", &c.name, MAX_COLUMN_NAME)?;
    if list.iter().chain(others).any(|x| x.name == c.name) {
        fail!(code::INVALID_COLUMN, "duplicated column name: {}", c.name);
    }
    if list.len() + others.len() >= MAX_COLUMNS {
        fail!(
            code::INVALID_COLUMN,
            "too many columns: at most {MAX_COLUMNS} including tags"
        );
    }
    list.push(Column {
        id: *next_id,
        name: c.name,
        ty: c.ty,
    });
    *next_id += 1;
    Ok(())
}

/// Removes a column; returns its position (never 0, the timestamp).
fn drop_column(list: &mut Vec<Column>, name: &str) -> Result<usize> {
    let Some(i) = list.iter().position(|c| c.name == name) else {
        fail!(code::INVALID_COLUMN, "invalid column name: {name}");
    };
    if i == 0 {
        fail!(
            code::INVALID_COLUMN,
            "the timestamp column cannot be dropped"
        );
    }
    if list.len() <= 2 {
        fail!(
            code::INVALID_COLUMN,
            "a table needs at least one column besides the timestamp"
        );
    }
    list.remove(i);
    Ok(i)
}

/// MODIFY: only BINARY/NCHAR may be widened.
fn widen(list: &mut [Column], c: &ColumnDef) -> Result<()> {
    let Some(old) = list.iter_mut().find(|x| x.name == c.name) else {
        fail!(code::INVALID_COLUMN, "invalid column name: {}", c.name);
    };
    match (old.ty, c.ty) {
        (DataType::Binary(a), DataType::Binary(b)) | (DataType::NChar(a), DataType::NChar(b))
            if b >= a =>
        {
            old.ty = c.ty;
            Ok(())
        }
        _ => fail!(
            code::INVALID_VALUE,
            "only BINARY and NCHAR columns can be modified, and only to a larger length"
        ),
    }
}

/// SQL LIKE with `%` and `_` (and `\` escapes).
pub fn like_match(s: &str, pattern: &str) -> bool {
    fn go(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|k| go(&s[k..], &p[1..])),
            Some('_') => !s.is_empty() && go(&s[1..], &p[1..]),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && go(&s[1..], &p[2..]),
            Some(c) => s.first() == Some(c) && go(&s[1..], &p[1..]),
        }
    }
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&s, &p)
}

/// `SELECT * FROM information_schema.<name>`.
fn is_system_table(sel: &crate::sql::ast::Select, name: &str) -> bool {
    sel.from
        .as_ref()
        .is_some_and(|f| f.db.as_deref() == Some("information_schema") && f.name == name)
}

/// `information_schema.ins_damage`: every damage report of the data
/// directory ([`crate::storage::damage`]), oldest first.
fn damage_rows(data_dir: &Path) -> Output {
    let rows = crate::storage::damage::load(data_dir)
        .into_iter()
        .map(|d| {
            vec![
                Value::Int(d.found_at),
                Value::Str(d.kind),
                Value::Str(d.file),
                Value::Int(d.start as i64),
                Value::Int(d.end as i64),
                Value::Str(d.lost),
                Value::Str(d.action),
            ]
        })
        .collect();
    Output::Rows {
        columns: vec![
            ColMeta::new("found_at", DataType::Timestamp),
            ColMeta::new("kind", DataType::Binary(16)),
            ColMeta::new("file", DataType::Binary(256)),
            ColMeta::new("start_byte", DataType::BigInt),
            ColMeta::new("end_byte", DataType::BigInt),
            ColMeta::new("lost", DataType::Binary(1024)),
            ColMeta::new("action", DataType::Binary(1024)),
        ],
        rows,
        precision: crate::types::Precision::Ms,
    }
}
