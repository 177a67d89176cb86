//! The shared state: catalog + WAL + table data behind one lock
//! ([`State`]), the handle every layer holds ([`Engine`]), and what reading
//! and applying rows need. It runs no statement and starts no flush: the
//! statement families ([`crate::exec`], [`crate::dispatch`]), queries
//! ([`crate::query`]), analysis ([`crate::analytics`]), streams and
//! subscriptions read and change it; opening, recovery and the storage work
//! that flushes it live in [`crate::maintenance`].
//!
//! Durability order of an INSERT: tables it auto-creates are committed to
//! the catalog without an fsync and logged in the WAL (a durable catalog
//! commit, which every other DDL statement and every flush makes, records
//! the WAL position it covers; recovery re-creates the logged tables after
//! it), then the rows are appended to the WAL, then applied in memory, then
//! acknowledged.
//!
//! May import: `catalog`, `schema`, `storage`, `sql::ast`, `types`,
//! `error`, `result`, and the anode registry's handle (`anodes`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use crate::catalog::{Catalog, Column, DbEntry, DbOptions, Table, TableKind};
use crate::error::{DbError, Result, code};
use crate::storage::store::Store;
use crate::storage::table::{TableData, Update};
use crate::storage::wal::{InsertRecord, Wal};
use crate::types::{Precision, UidMap, Value};

/// Default budget of the decoded-block cache (`[storage] block-cache-mb`).
/// It is most of the process's memory after a large ingest (blocks just
/// written stay decoded): 256 MB holds the 10 M-row benchmarks' fresh
/// blocks of one table (160 MB decoded) and keeps the process under the
/// 600 MB issue 19 asks for after a 10 M-row many-device ingest (measured
/// 490–513 MB; with 512 MB, 801–846 MB over line protocol).
pub const BLOCK_CACHE_BYTES: usize = 256 << 20;

pub struct State {
    pub catalog: Catalog,
    /// The memtables: rows not yet frozen into blocks. Shared with readers'
    /// snapshots ([`crate::query::View`]): a write to a table a snapshot
    /// holds copies that table's memtable first (`Arc::make_mut`), so a
    /// query reads without the lock and a writer never waits for it.
    pub data: UidMap<Arc<TableData>>,
    /// Blocks: frozen and in data files.
    pub store: Store,
    /// The write-driven last-row cache: each table's newest row written
    /// since the start (older tables' come from their newest block).
    pub last: UidMap<(i64, Vec<Value>)>,
    pub(crate) wal: Wal,
    /// Approximate bytes in the memtables.
    pub(crate) mem_bytes: usize,
    /// A flush is between freeze and install.
    pub(crate) flushing: bool,
}

pub struct Engine {
    pub state: Arc<RwLock<State>>,
    /// Anodes' health and the HTTP client of analysis calls.
    pub analytics: Arc<crate::anodes::Analytics>,
    pub data_dir: PathBuf,
    pub(crate) syncer: Arc<crate::storage::wal::Syncer>,
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

impl Engine {
    pub(crate) fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, write-locked once no flush or compaction is running (the
    /// caller sets `flushing` to run one).
    pub(crate) fn write_when_idle(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        loop {
            let st = self.write();
            if !st.flushing {
                return st;
            }
            drop(st);
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// Bytes of the live data files.
    pub fn data_file_bytes(&self) -> u64 {
        self.read().store.file_bytes()
    }

    /// fsyncs of the WAL so far (group commit shares them between writers).
    pub fn wal_syncs(&self) -> u64 {
        self.syncer.syncs.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The database a statement addresses: its own qualifier, else the current.
pub fn resolve_db(explicit: Option<&str>, current: Option<&str>) -> Result<String> {
    db_name(explicit, current).map(str::to_owned)
}

/// [`resolve_db`] without the copy (an INSERT asks once per clause).
pub(crate) fn db_name<'a>(explicit: Option<&'a str>, current: Option<&'a str>) -> Result<&'a str> {
    explicit.or(current).ok_or_else(|| {
        DbError::new(
            code::DB_NOT_SPECIFIED,
            "Database not specified or available (USE a database, or write db.table)",
        )
    })
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

impl State {
    /// Applies a WAL record to the memtable. Duplicate timestamps are
    /// resolved here against all older layers (frozen and sealed blocks
    /// too), so a read only has to let the newest layer win: `UPDATE 0`
    /// drops a row whose timestamp is stored anywhere; `UPDATE 2` fills the
    /// columns not given from the stored row.
    pub(crate) fn apply(&mut self, rec: InsertRecord, cols: &[Column], update: Update) {
        let width = cols.len().saturating_sub(1);
        // every column, in schema order: the rows are stored as they came
        let identity = rec.col_ids.len() == width
            && rec
                .col_ids
                .iter()
                .zip(cols.iter().skip(1))
                .all(|(id, c)| *id == c.id);
        // The newest block matters only for rows not newer than every row
        // stored: the last-row cache, when it holds the table, is at or
        // after every block's end (it takes a row only at or after them,
        // and blocks only take rows it has seen), so rows all newer than
        // it skip the block list (a cache miss per clause of a
        // many-device INSERT).
        let newer_than_all = self
            .last
            .get(&rec.uid)
            .is_some_and(|(t, _)| rec.ts.iter().all(|x| x > t));
        let sealed_max = if newer_than_all {
            None
        } else {
            self.store.tables.get(&rec.uid).map(|t| t.ts_max)
        };
        let table = Arc::make_mut(self.data.entry(rec.uid).or_default());
        let w = rec.width();
        let InsertRecord {
            uid,
            col_ids,
            mut ts,
            mut vals,
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
        // position of each supplied column in the current schema
        let positions: Vec<Option<usize>> = col_ids
            .iter()
            .map(|id| cols.iter().skip(1).position(|c| c.id == *id))
            .collect();
        let mut given = vec![false; width];
        for p in positions.iter().flatten() {
            given[*p] = true;
        }
        let table = Arc::make_mut(self.data.get_mut(&uid).expect("entered above"));
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
    pub(crate) fn cache_last(&mut self, uid: u64, sealed_max: Option<i64>) {
        let Some((ts, row)) = self.data.get(&uid).and_then(|t| t.last_row()) else {
            return;
        };
        let newest = match self.last.get(&uid) {
            Some((t, _)) => *t <= ts,
            None => sealed_max.is_none_or(|m| m <= ts),
        };
        if newest {
            // in place: a many-device INSERT updates thousands of entries
            // per statement, and a fresh vector each is an allocation each
            match self.last.entry(uid) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let (t, r) = e.get_mut();
                    *t = ts;
                    r.clear();
                    r.extend_from_slice(row);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert((ts, row.to_vec()));
                }
            }
        }
    }

    /// Puts a child table logged in the WAL back into the catalog (in
    /// memory) unless its database or super table is gone or a table of
    /// that name exists. Returns whether it did.
    pub(crate) fn recreate(&mut self, db: &str, table: &Table) -> bool {
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
        self.catalog.generation += 1;
        self.catalog.next_uid = self.catalog.next_uid.max(table.uid + 1);
        true
    }

    /// Tables are gone: their memtables, blocks and cached last rows.
    pub(crate) fn forget_tables(&mut self, uids: &[u64]) {
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
    pub(crate) fn drop_column_data(&mut self, uid: u64, pos: usize) {
        if let Some(d) = self.data.get_mut(&uid) {
            Arc::make_mut(d).drop_column(pos);
        }
        if let Some((_, row)) = self.last.get_mut(&uid) {
            if pos < row.len() {
                row.remove(pos);
            }
        }
    }

    /// The memtables are past a third of the databases' `cache × blocks`
    /// (2.x commits when about a third of the blocks are in use).
    pub(crate) fn over_budget(&self) -> bool {
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

    /// uid → (db, table) for every table.
    pub(crate) fn table_index(&self) -> HashMap<u64, (String, String)> {
        let mut m = HashMap::new();
        for (db, e) in &self.catalog.dbs {
            for (name, t) in e.tables.iter() {
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
}

/// Flat rows (`w` values each) without those `drop` marks.
pub(crate) fn without_rows(
    ts: Vec<i64>,
    vals: Vec<Value>,
    w: usize,
    drop: &[bool],
) -> (Vec<i64>, Vec<Value>) {
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
pub(crate) fn rows_bytes(rows: usize, vals: &[Value]) -> usize {
    let strings: usize = vals
        .iter()
        .map(|v| match v {
            Value::Str(s) => s.len(),
            _ => 0,
        })
        .sum();
    rows * 64 + std::mem::size_of_val(vals) + strings
}
