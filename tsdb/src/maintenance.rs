//! Storage maintenance of the engine: opening a data directory (recovery:
//! catalog, data files, WAL replay, damage reports), flushing memtables to
//! data files in the background, merging late rows, compaction and
//! retention. Beside [`crate::storage`], below every statement.
//!
//! When the memtables pass a third of the databases' `cache × blocks` they
//! are frozen into blocks and written to data files in the background
//! ([`crate::storage::store`]). Recovery loads the catalog, opens the data
//! files and replays the WAL segments they do not cover (records of tables
//! that no longer exist are skipped by uid).
//!
//! May import: `state`, `catalog`, `storage`, `types`, `error`.

use std::path::Path;
use std::sync::{Arc, RwLock};

use crate::catalog::{Catalog, Change, Column, DbOptions, Table};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::state::{BLOCK_CACHE_BYTES, Engine, State};
use crate::storage::store::{self, FlushJob, FreezeInput, Store};
use crate::storage::table::Update;
use crate::storage::wal::{Record, Wal};
use crate::types::UidMap;

/// How often the server drops expired partitions.
pub const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

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
    pub(crate) fn settle_wal(&self) -> Result<()> {
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

    /// Rewrites database `db`'s data files that hold dead blocks without
    /// them (`COMPACT DATABASE`); returns the files rewritten. Waits for a
    /// background flush in progress first.
    pub fn compact(&self, db: &str) -> Result<usize> {
        self.write_when_idle().flushing = true;
        let compacted = compact_files(&self.state, Some(db));
        self.write().flushing = false;
        compacted
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
                    // copied (a snapshot holds it) only when rows go
                    if d.range(i64::MIN, keep_from.saturating_sub(1))
                        .next()
                        .is_some()
                    {
                        dropped += Arc::make_mut(d).drop_before(keep_from);
                    }
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
}

/// Rows of late-row merges per flush (the rest wait for the next one).
const MERGE_ROWS: usize = 4_000_000;

/// Writes a job's files (no lock held) and installs them; on failure the
/// blocks stay in memory and are retried with the next flush. Then merges
/// blocks that late rows made overlap, also mostly without the lock: all of
/// them when `full`, else those [`store::worth_merging`] says.
pub(crate) fn finish_flush(
    state: &RwLock<State>,
    dir: &Path,
    job: FlushJob,
    full: bool,
) -> Result<()> {
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
pub(crate) fn tidy(state: &RwLock<State>, dir: &Path, full: bool) -> Result<()> {
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
pub(crate) fn compact_files(state: &RwLock<State>, db: Option<&str>) -> Result<usize> {
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
pub(crate) fn merge_late_rows(state: &RwLock<State>, dir: &Path, full: bool) -> Result<()> {
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

impl State {
    /// Turns the memtables into blocks and rotates the WAL; `None` if there
    /// is nothing to flush.
    pub(crate) fn freeze(&mut self) -> Result<Option<FlushJob>> {
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
}
