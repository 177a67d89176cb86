//! The sealed layer: every table's immutable blocks, the data files and
//! manifest that hold them, and the cache of decoded columns.
//!
//! A flush happens in two steps so writers wait for neither compression
//! nor the disk:
//!
//! 1. [`Store::freeze`] (under the engine's write lock) turns the memtables
//!    into in-memory blocks, which queries read at once, and rotates the
//!    WAL;
//! 2. [`write_files`] (no lock) compresses them into one data file per
//!    (database, partition) and fsyncs them; [`Store::install`] (under the
//!    lock again) points the blocks at their files, keeps their decoded
//!    columns in the cache, writes the manifest (new files, and the WAL
//!    segment now covered) and deletes the covered WAL segments.
//!
//! A crash anywhere in between loses nothing: until the manifest names the
//! new files they are ignored (and deleted at the next start) and the WAL
//! segments they came from are replayed.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use super::block::{self, Block, BlockMeta, ColMeta, Decoded, Src};
use super::column::{ColData, Kind, Values};
use super::table::TableData;
use super::wal::sync_dir;
use crate::catalog::Column;
use crate::error::{DbError, Result};
use crate::types::Value;

/// The list of live data files and how much of the WAL they cover.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Manifest {
    /// WAL segments up to this one are entirely in data files.
    covered_wal: u64,
    /// The next flush's number.
    next_seq: u64,
    files: Vec<FileRec>,
    /// Blocks replaced by a merge (file name -> block indexes): skipped
    /// when the files are opened; a file whose blocks are all dead is
    /// deleted.
    #[serde(default)]
    dead: BTreeMap<String, Vec<u32>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileRec {
    /// Path under the data directory: `<db>/p<partition>-f<seq>.tsf`.
    pub name: String,
    pub db: String,
    pub partition: i64,
    /// Partition length in ticks (to tell when it has expired).
    pub part_len: i64,
    pub seq: u64,
    /// Blocks in the file.
    #[serde(default)]
    pub blocks: u32,
}

/// One table's blocks, by start time.
#[derive(Debug, Default, Clone)]
pub struct TableBlocks {
    pub blocks: Vec<Arc<Block>>,
    /// Largest timestamp in any block.
    pub ts_max: i64,
    /// No two blocks share a timestamp range: rows are read block after
    /// block without merging.
    pub disjoint: bool,
}

impl TableBlocks {
    fn rebuild(&mut self) {
        self.blocks
            .sort_by_key(|b| (b.meta.ts_min, b.meta.ts_max, b.seq));
        self.ts_max = self
            .blocks
            .iter()
            .map(|b| b.meta.ts_max)
            .max()
            .unwrap_or(i64::MIN);
        self.disjoint = self
            .blocks
            .windows(2)
            .all(|w| w[1].meta.ts_min > w[0].meta.ts_max);
    }

    /// The blocks overlapping `[lo, hi]`, by start time: found by binary
    /// search when the blocks are disjoint (their ends are sorted too).
    pub fn in_range(&self, lo: i64, hi: i64) -> impl Iterator<Item = &Arc<Block>> {
        let end = self.blocks.partition_point(|b| b.meta.ts_min <= hi);
        let start = if self.disjoint {
            self.blocks[..end].partition_point(|b| b.meta.ts_max < lo)
        } else {
            0
        };
        self.blocks[start..end]
            .iter()
            .filter(move |b| b.meta.ts_max >= lo)
    }
}

/// A table to freeze: its memtable and what is needed to cut it into
/// blocks.
pub struct FreezeInput<'a> {
    pub uid: u64,
    pub db: &'a str,
    /// Schema columns after the timestamp, in the memtable's positions.
    pub columns: &'a [Column],
    /// Partition length in ticks (`days`).
    pub part_len: i64,
    pub maxrows: usize,
    pub rows: TableData,
}

/// The blocks of one data file to write.
pub type Group = (FileRec, Vec<Arc<Block>>);

/// Frozen blocks on their way to disk.
#[derive(Debug)]
pub struct FlushJob {
    /// The WAL segments up to this one are in these blocks (or older files).
    pub wal_seq: u64,
    pub groups: Vec<Group>,
    /// Blocks whose rows the new blocks took over (a merge of late rows).
    pub dead: Vec<Arc<Block>>,
}

/// Files written for a [`FlushJob`].
pub struct Written {
    job: FlushJob,
    srcs: Vec<Vec<Src>>,
}

/// Decoded columns by (block key, column id), bounded by bytes; the least
/// recently used go first.
#[derive(Debug)]
struct Cache {
    map: HashMap<(u64, u16), (Arc<ColData>, u64)>,
    bytes: usize,
    limit: usize,
    clock: u64,
}

/// The cache's id for a block's timestamp column.
const TS_ID: u16 = u16::MAX;

impl Cache {
    fn get(&mut self, key: (u64, u16)) -> Option<Arc<ColData>> {
        self.clock += 1;
        let clock = self.clock;
        self.map.get_mut(&key).map(|(c, used)| {
            *used = clock;
            c.clone()
        })
    }

    fn put(&mut self, key: (u64, u16), c: Arc<ColData>) {
        self.clock += 1;
        self.bytes += c.bytes();
        if let Some((old, _)) = self.map.insert(key, (c, self.clock)) {
            self.bytes -= old.bytes();
        }
        if self.bytes > self.limit {
            // evict the least recently used down to 3/4 of the budget
            let mut by_age: Vec<((u64, u16), u64)> =
                self.map.iter().map(|(k, (_, used))| (*k, *used)).collect();
            by_age.sort_unstable_by_key(|(_, used)| *used);
            for (k, _) in by_age {
                if self.bytes <= self.limit / 4 * 3 {
                    break;
                }
                if let Some((c, _)) = self.map.remove(&k) {
                    self.bytes -= c.bytes();
                }
            }
        }
    }
}

#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    pub tables: HashMap<u64, TableBlocks>,
    cache: Mutex<Cache>,
    next_key: u64,
    /// A job whose files could not be written: retried with the next.
    failed: Option<FlushJob>,
}

impl Store {
    /// Opens the data files the manifest names (deleting any it does not:
    /// leftovers of a flush cut short) and returns the WAL segment they
    /// cover.
    pub fn open(dir: &Path, cache_bytes: usize) -> Result<(Store, u64)> {
        let io = |e: std::io::Error| DbError::io(&format!("data directory {}", dir.display()), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let mpath = dir.join("MANIFEST");
        let manifest: Manifest = match std::fs::read(&mpath) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                DbError::new(
                    crate::error::code::FILE_CORRUPTED,
                    format!("manifest {} does not parse: {e}", mpath.display()),
                )
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => return Err(io(e)),
        };
        let mut store = Store {
            dir: dir.to_owned(),
            tables: HashMap::new(),
            cache: Mutex::new(Cache {
                map: HashMap::new(),
                bytes: 0,
                limit: cache_bytes,
                clock: 0,
            }),
            next_key: 0,
            failed: None,
            manifest: Manifest::default(),
        };
        let live: std::collections::HashSet<&str> =
            manifest.files.iter().map(|f| f.name.as_str()).collect();
        for db in std::fs::read_dir(dir).map_err(io)? {
            let db = db.map_err(io)?;
            if !db.file_type().map_err(io)?.is_dir() {
                continue;
            }
            for f in std::fs::read_dir(db.path()).map_err(io)? {
                let f = f.map_err(io)?;
                let name = format!(
                    "{}/{}",
                    db.file_name().to_string_lossy(),
                    f.file_name().to_string_lossy()
                );
                if !live.contains(name.as_str()) {
                    tracing::info!(file = %name, "removing a data file no manifest names");
                    std::fs::remove_file(f.path()).map_err(io)?;
                }
            }
        }
        let mut rows = 0u64;
        for rec in &manifest.files {
            let blocks = block::open_file(&dir.join(&rec.name))?;
            let dead = manifest.dead.get(&rec.name);
            for (i, (meta, src)) in blocks.into_iter().enumerate() {
                if dead.is_some_and(|d| d.contains(&(i as u32))) {
                    continue;
                }
                rows += u64::from(meta.rows);
                store.add(rec.seq, meta, src);
            }
        }
        for t in store.tables.values_mut() {
            t.rebuild();
        }
        tracing::info!(files = manifest.files.len(), rows, "data files opened");
        let covered = manifest.covered_wal;
        store.manifest = manifest;
        Ok((store, covered))
    }

    fn add(&mut self, seq: u64, meta: BlockMeta, src: Src) -> Arc<Block> {
        self.next_key += 1;
        let b = Arc::new(Block {
            key: self.next_key,
            seq,
            meta,
            src: RwLock::new(src),
        });
        self.tables
            .entry(b.meta.uid)
            .or_default()
            .blocks
            .push(b.clone());
        b
    }

    /// Turns memtables into blocks that queries read at once, cut by
    /// partition and `maxrows`. `wal_seq` is the WAL segment just closed.
    pub fn freeze(&mut self, wal_seq: u64, inputs: Vec<FreezeInput<'_>>) -> FlushJob {
        let seq = self.manifest.next_seq;
        self.manifest.next_seq += 1;
        let mut groups: HashMap<(String, i64), Group> = HashMap::new();
        let mut touched = Vec::new();
        let mut dead = Vec::new();
        for mut t in inputs {
            // late rows: merge the blocks they fall into, so a table's
            // blocks stay disjoint (reads then need no merging)
            if self.failed.is_none() {
                match self.take_overlapping(&mut t) {
                    Ok(mut d) => dead.append(&mut d),
                    Err(e) => tracing::warn!(error = %e, uid = t.uid, "late rows not merged"),
                }
            }
            let rows: Vec<(i64, Vec<Value>)> = t.rows.rows.into_iter().collect();
            let mut start = 0;
            while start < rows.len() {
                let partition = rows[start].0.div_euclid(t.part_len);
                let mut end = start;
                while end < rows.len()
                    && end - start < t.maxrows
                    && rows[end].0.div_euclid(t.part_len) == partition
                {
                    end += 1;
                }
                let part = &rows[start..end];
                let times: Vec<i64> = part.iter().map(|r| r.0).collect();
                let mut cols = Vec::with_capacity(t.columns.len());
                let mut metas = Vec::with_capacity(t.columns.len());
                for (i, c) in t.columns.iter().enumerate() {
                    let kind = Kind::of(c.ty);
                    let data = ColData::from_values(
                        kind,
                        part.iter().map(|r| r.1.get(i).unwrap_or(&Value::Null)),
                    );
                    metas.push(ColMeta {
                        id: c.id,
                        kind,
                        stats: data.stats(&times),
                    });
                    cols.push(Arc::new(data));
                }
                let meta = BlockMeta {
                    uid: t.uid,
                    rows: part.len() as u32,
                    ts_min: part[0].0,
                    ts_max: part[part.len() - 1].0,
                    cols: metas,
                };
                let decoded = Arc::new(Decoded {
                    ts: Arc::new(ColData {
                        kind: Kind::Int,
                        values: Values::Int(times),
                        nulls: None,
                    }),
                    cols,
                });
                let b = self.add(seq, meta, Src::Mem(decoded));
                groups
                    .entry((t.db.to_owned(), partition))
                    .or_insert_with(|| {
                        (
                            FileRec {
                                name: format!("{}/p{partition}-f{seq}.tsf", t.db),
                                db: t.db.to_owned(),
                                partition,
                                part_len: t.part_len,
                                seq,
                                blocks: 0,
                            },
                            Vec::new(),
                        )
                    })
                    .1
                    .push(b);
                start = end;
            }
            touched.push(t.uid);
        }
        for uid in touched {
            if let Some(t) = self.tables.get_mut(&uid) {
                t.rebuild();
            }
        }
        let mut job = FlushJob {
            wal_seq,
            groups: groups.into_values().collect(),
            dead,
        };
        // a job that failed earlier goes again, first
        if let Some(old) = self.failed.take() {
            let mut g = old.groups;
            g.append(&mut job.groups);
            job.groups = g;
            job.dead.extend(old.dead);
        }
        job
    }

    /// Moves the rows of the blocks that the memtable's time range overlaps
    /// into the memtable (its own rows win: they are newer) and takes those
    /// blocks out of the table. Returns them.
    fn take_overlapping(&mut self, t: &mut FreezeInput<'_>) -> Result<Vec<Arc<Block>>> {
        let (Some(first), Some(last)) = (
            t.rows.rows.keys().next().copied(),
            t.rows.rows.keys().next_back().copied(),
        ) else {
            return Ok(Vec::new());
        };
        let Some(tb) = self.tables.get(&t.uid) else {
            return Ok(Vec::new());
        };
        if first > tb.ts_max {
            return Ok(Vec::new());
        }
        let mut old: Vec<Arc<Block>> = tb.in_range(first, last).cloned().collect();
        // newest first: the first row seen for a timestamp wins
        old.sort_by_key(|b| std::cmp::Reverse(b.seq));
        for b in &old {
            let ts = self.ts(b)?;
            let Values::Int(times) = &ts.values else {
                continue;
            };
            let mut cols = Vec::with_capacity(t.columns.len());
            for c in t.columns {
                cols.push(self.column(b, c.id)?);
            }
            for (i, ts) in times.iter().enumerate() {
                t.rows.rows.entry(*ts).or_insert_with(|| {
                    cols.iter()
                        .map(|c| c.as_ref().map_or(Value::Null, |c| c.get(i)))
                        .collect()
                });
            }
        }
        let tb = self.tables.get_mut(&t.uid).expect("checked");
        tb.blocks.retain(|b| !old.iter().any(|o| Arc::ptr_eq(o, b)));
        tb.rebuild();
        Ok(old)
    }

    /// The data directory (for [`write_files`], which runs unlocked).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes over the result of [`write_files`]. On failure the blocks stay
    /// in memory (their WAL segments are kept) and go again with the next
    /// flush. `live_dbs` says which databases still exist.
    pub fn install(
        &mut self,
        written: Result<Written, (FlushJob, DbError)>,
        live_dbs: &dyn Fn(&str) -> bool,
    ) -> Result<u64> {
        let Written { job, srcs } = match written {
            Ok(w) => w,
            Err((job, e)) => {
                tracing::error!(error = %e, "flush failed; its rows stay in memory and in the WAL");
                self.failed = Some(job);
                return Err(e);
            }
        };
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        for b in &job.dead {
            if let Src::File { file, index, .. } = &*b.src.read().unwrap_or_else(|e| e.into_inner())
            {
                if let Ok(name) = file.path.strip_prefix(&self.dir) {
                    let name = name.to_string_lossy().into_owned();
                    self.manifest.dead.entry(name).or_default().push(*index);
                }
            }
            cache.map.retain(|k, _| k.0 != b.key);
        }
        for ((rec, blocks), srcs) in job.groups.iter().zip(srcs) {
            for (b, src) in blocks.iter().zip(srcs) {
                let mut slot = b.src.write().unwrap_or_else(|e| e.into_inner());
                // recently written data stays decoded: it is what queries read
                if let Src::Mem(d) = &*slot {
                    cache.put((b.key, TS_ID), d.ts.clone());
                    for (c, data) in b.meta.cols.iter().zip(&d.cols) {
                        cache.put((b.key, c.id), data.clone());
                    }
                }
                *slot = src;
            }
            if live_dbs(&rec.db) {
                let mut rec = rec.clone();
                rec.blocks = blocks.len() as u32;
                self.manifest.files.push(rec);
            } else {
                let _ = std::fs::remove_file(self.dir.join(&rec.name));
            }
        }
        drop(cache);
        // files whose every block was merged away
        let (gone, kept): (Vec<FileRec>, Vec<FileRec>) = std::mem::take(&mut self.manifest.files)
            .into_iter()
            .partition(|f| {
                self.manifest
                    .dead
                    .get(&f.name)
                    .is_some_and(|d| d.len() as u32 >= f.blocks && f.blocks > 0)
            });
        self.manifest.files = kept;
        self.manifest.covered_wal = self.manifest.covered_wal.max(job.wal_seq);
        self.forget(&gone);
        self.write_manifest()?;
        for f in gone {
            let _ = std::fs::remove_file(self.dir.join(&f.name));
        }
        Ok(self.manifest.covered_wal)
    }

    /// Drops the dead-block lists of files that are going.
    fn forget(&mut self, gone: &[FileRec]) {
        for f in gone {
            self.manifest.dead.remove(&f.name);
        }
    }

    fn write_manifest(&self) -> Result<()> {
        let path = self.dir.join("MANIFEST");
        let tmp = self.dir.join("MANIFEST.tmp");
        let io = |e: std::io::Error| DbError::io(&format!("manifest {}", path.display()), e);
        let body = serde_json::to_vec_pretty(&self.manifest).expect("manifest serialises");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(io)?;
            f.write_all(&body).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, &path).map_err(io)?;
        sync_dir(&self.dir)
    }

    /// Forgets a table's blocks (its files are reclaimed when their
    /// partition expires or the database is dropped).
    pub fn drop_table(&mut self, uid: u64) {
        self.tables.remove(&uid);
    }

    /// Deletes a database's files; `uids` are its tables.
    pub fn drop_db(&mut self, db: &str, uids: &[u64]) -> Result<()> {
        for uid in uids {
            self.tables.remove(uid);
        }
        let (gone, kept): (Vec<FileRec>, Vec<FileRec>) = std::mem::take(&mut self.manifest.files)
            .into_iter()
            .partition(|f| f.db == db);
        self.manifest.files = kept;
        self.forget(&gone);
        self.write_manifest()?;
        for f in gone {
            let _ = std::fs::remove_file(self.dir.join(&f.name));
        }
        let _ = std::fs::remove_dir(self.dir.join(db));
        Ok(())
    }

    /// Drops the partitions of `db` that end at or before `keep_from`;
    /// `uids` are its tables. Returns the rows dropped.
    pub fn expire(&mut self, db: &str, uids: &[u64], keep_from: i64) -> Result<usize> {
        let mut dropped = 0usize;
        for uid in uids {
            if let Some(t) = self.tables.get_mut(uid) {
                let before = t.blocks.len();
                t.blocks.retain(|b| {
                    let gone = b.meta.ts_max < keep_from;
                    if gone {
                        dropped += b.meta.rows as usize;
                    }
                    !gone
                });
                if t.blocks.len() != before {
                    t.rebuild();
                }
            }
        }
        let (gone, kept): (Vec<FileRec>, Vec<FileRec>) = std::mem::take(&mut self.manifest.files)
            .into_iter()
            .partition(|f| f.db == db && (f.partition + 1) * f.part_len <= keep_from);
        self.manifest.files = kept;
        if !gone.is_empty() {
            self.forget(&gone);
            self.write_manifest()?;
            for f in gone {
                let _ = std::fs::remove_file(self.dir.join(&f.name));
            }
        }
        Ok(dropped)
    }

    /// A block's timestamps.
    pub fn ts(&self, b: &Block) -> Result<Arc<ColData>> {
        self.load(b, TS_ID, None)
    }

    /// Column `id` of a block; `None` if the block has no such column (it
    /// was added later): every value is NULL.
    pub fn column(&self, b: &Block, id: u16) -> Result<Option<Arc<ColData>>> {
        match b.col_index(id) {
            Some(i) => self.load(b, id, Some(i)).map(Some),
            None => Ok(None),
        }
    }

    fn load(&self, b: &Block, id: u16, index: Option<usize>) -> Result<Arc<ColData>> {
        let chunk = {
            let src = b.src.read().unwrap_or_else(|e| e.into_inner());
            match &*src {
                Src::Mem(d) => {
                    return Ok(match index {
                        None => d.ts.clone(),
                        Some(i) => d.cols[i].clone(),
                    });
                }
                Src::File { file, ts, cols, .. } => (file.clone(), index.map_or(*ts, |i| cols[i])),
            }
        };
        if let Some(c) = self.cache().get((b.key, id)) {
            return Ok(c);
        }
        // decode outside the cache's lock: queries decode in parallel
        let data = Arc::new(chunk.0.read(chunk.1, b.meta.rows as usize)?);
        self.cache().put((b.key, id), data.clone());
        Ok(data)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The stored row of table `uid` at `ts`, newest block first, in the
    /// positions of `columns` (the schema after the timestamp).
    pub fn row_at(&self, uid: u64, ts: i64, columns: &[Column]) -> Result<Option<Vec<Value>>> {
        let Some(t) = self.tables.get(&uid) else {
            return Ok(None);
        };
        if ts > t.ts_max {
            return Ok(None);
        }
        let mut candidates: Vec<&Arc<Block>> = t.in_range(ts, ts).collect();
        candidates.sort_by_key(|b| std::cmp::Reverse(b.seq));
        for b in candidates {
            let tsc = self.ts(b)?;
            let Values::Int(times) = &tsc.values else {
                continue;
            };
            if let Ok(i) = times.binary_search(&ts) {
                let mut row = Vec::with_capacity(columns.len());
                for c in columns {
                    row.push(match self.column(b, c.id)? {
                        Some(d) => d.get(i),
                        None => Value::Null,
                    });
                }
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Rows flushed to files so far (live files only), for logs.
    pub fn file_count(&self) -> usize {
        self.manifest.files.len()
    }
}

/// Compresses and writes a job's blocks, one file per group, fsynced. Runs
/// without the engine's lock.
pub fn write_files(dir: &Path, job: FlushJob) -> Result<Written, (FlushJob, DbError)> {
    let mut srcs = Vec::with_capacity(job.groups.len());
    for (rec, blocks) in &job.groups {
        let path = dir.join(&rec.name);
        let res = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .map_err(|e| DbError::io("data directory", e))
            .and_then(|_| block::write_file(&path, blocks));
        match res {
            Ok(s) => srcs.push(s),
            Err(e) => return Err((job, e)),
        }
    }
    let dirs: std::collections::BTreeSet<PathBuf> =
        job.groups.iter().map(|(r, _)| dir.join(&r.db)).collect();
    for d in dirs {
        if let Err(e) = sync_dir(&d) {
            return Err((job, e));
        }
    }
    Ok(Written { job, srcs })
}
