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
//!
//! Late rows make a flush's blocks overlap older ones. After installing a
//! flush, [`Store::plan_merge`] (read lock) collects each run of
//! overlapping blocks with its columns, [`Merge::run`] and [`write_files`]
//! (no lock) rewrite it as disjoint blocks, and [`Store::install_merge`]
//! (write lock) swaps them in. Replaced blocks, and blocks of dropped
//! tables, are listed dead in the manifest; a file is deleted once all its
//! blocks are dead. Reads are right whether or not a merge has happened:
//! the newer block wins a timestamp.
//!
//! A file left at least half dead is rewritten after a flush with only its
//! live blocks, their chunks copied as they are ([`Store::plan_compact`],
//! [`Compaction::run`] unlocked, [`Store::install_compaction`]); `COMPACT
//! DATABASE` does so for every file of a database with a dead block. The
//! copy keeps the file's flush number, so which block is newer stays
//! as it was.
//!
//! May import: `error`, `schema`, `types`, its parent's `block`, `column`,
//! `damage`, `table`, `wal`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use serde::{Deserialize, Serialize};

use super::block::{self, Block, BlockMeta, Chunk, ColMeta, DataFile, Decoded, Src};
use super::column::{ColData, Kind, Values};
use super::damage;
use super::table::TableData;
use super::wal::sync_dir;
use crate::error::{DbError, Result};
use crate::schema::Column;
use crate::types::{UidMap, Value};

/// The list of live data files and how much of the WAL they cover.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Manifest {
    /// WAL segments up to this one are entirely in data files.
    pub covered_wal: u64,
    /// The next flush's number.
    pub next_seq: u64,
    pub files: Vec<FileRec>,
    /// Blocks replaced by a merge (file name -> block indexes): skipped
    /// when the files are opened; a file whose blocks are all dead is
    /// deleted.
    #[serde(default)]
    pub dead: BTreeMap<String, Vec<u32>>,
}

/// The manifest of the data files under `dir`, `None` when there is none.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>> {
    let path = dir.join("MANIFEST");
    match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            DbError::new(
                crate::error::code::FILE_CORRUPTED,
                format!("manifest {} does not parse ({e})", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(DbError::io(&format!("manifest {}", path.display()), e)),
    }
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
    /// `reach[i]`: the largest end of blocks `0..=i` (finds the first block
    /// that can reach a time by binary search, overlapping or not).
    reach: Vec<i64>,
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
        let mut m = i64::MIN;
        self.reach = self
            .blocks
            .iter()
            .map(|b| {
                m = m.max(b.meta.ts_max);
                m
            })
            .collect();
    }

    /// The blocks overlapping `[lo, hi]`, by start time, found by binary
    /// search on the starts and on the running maximum of the ends.
    pub fn in_range(&self, lo: i64, hi: i64) -> impl Iterator<Item = &Arc<Block>> {
        let end = self.blocks.partition_point(|b| b.meta.ts_min <= hi);
        let start = self.reach[..end].partition_point(|m| *m < lo);
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
    /// Shared with readers' snapshots (`State::data`).
    pub rows: Arc<TableData>,
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
    /// The flush number of the files.
    seq: u64,
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

/// Reads blocks' columns through the decoded-column cache. The store
/// holds one and a query's snapshot a clone, so a query reads without the
/// engine's lock: its blocks are `Arc`s whose files stay open, and a file a
/// merge or compaction deletes meanwhile is still read through its open
/// descriptor.
#[derive(Debug, Clone)]
pub struct Reader {
    cache: Arc<Mutex<Cache>>,
}

impl Reader {
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

    /// The stored row of table `t` at `ts`, newest block first, in the
    /// positions of `columns` (the schema after the timestamp).
    pub fn row_at(
        &self,
        t: &TableBlocks,
        ts: i64,
        columns: &[Column],
    ) -> Result<Option<Vec<Value>>> {
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
}

/// Block keys: unique in the process.
static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

/// How rows of one table are cut into blocks.
struct Cut<'c> {
    seq: u64,
    uid: u64,
    db: &'c str,
    columns: &'c [Column],
    part_len: i64,
    maxrows: usize,
}

impl Cut<'_> {
    /// Blocks of at most `maxrows` rows, none across a partition boundary,
    /// each added to its (database, partition) file group.
    /// The rows come as a memtable's flat run ([`TableData::run`]):
    /// timestamps in order and `width` values per row.
    fn blocks(
        &self,
        (ts, vals, width): (&[i64], &[Value], usize),
        groups: &mut HashMap<(String, i64), Group>,
    ) -> Vec<Arc<Block>> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < ts.len() {
            let partition = ts[start].div_euclid(self.part_len);
            let mut end = start;
            while end < ts.len()
                && end - start < self.maxrows
                && ts[end].div_euclid(self.part_len) == partition
            {
                end += 1;
            }
            let times: Vec<i64> = ts[start..end].to_vec();
            let mut cols = Vec::with_capacity(self.columns.len());
            let mut metas = Vec::with_capacity(self.columns.len());
            for (i, c) in self.columns.iter().enumerate() {
                let kind = Kind::of(c.ty);
                let data = ColData::from_values(
                    kind,
                    // a column added since the rows came is NULL in them
                    (start..end).map(|r| {
                        if i < width {
                            &vals[r * width + i]
                        } else {
                            &Value::Null
                        }
                    }),
                );
                metas.push(ColMeta {
                    id: c.id,
                    kind,
                    stats: data.stats(&times),
                });
                cols.push(Arc::new(data));
            }
            let meta = BlockMeta {
                uid: self.uid,
                rows: (end - start) as u32,
                ts_min: ts[start],
                ts_max: ts[end - 1],
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
            let b = Arc::new(Block {
                key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
                seq: self.seq,
                meta,
                src: RwLock::new(Src::Mem(decoded)),
            });
            let seq = self.seq;
            groups
                .entry((self.db.to_owned(), partition))
                .or_insert_with(|| {
                    (
                        FileRec {
                            name: format!("{}/p{partition}-f{seq}.tsf", self.db),
                            db: self.db.to_owned(),
                            partition,
                            part_len: self.part_len,
                            seq,
                            blocks: 0,
                        },
                        Vec::new(),
                    )
                })
                .1
                .push(b.clone());
            out.push(b);
            start = end;
        }
        out
    }
}

/// Whether a background flush should merge a run of overlapping blocks
/// now: when it is small, or when the newest flush brought at least a third
/// of its rows. Writers that drift apart (one lags the others by minutes)
/// make runs that grow with every flush; rewriting those each time would
/// cost many times the ingest itself, so they wait for an explicit flush
/// (`FLUSH DATABASE`, shutdown) and reads merge them meanwhile.
pub fn worth_merging(run: &[Arc<Block>]) -> bool {
    let total: u64 = run.iter().map(|b| u64::from(b.meta.rows)).sum();
    let newest = run.iter().map(|b| b.seq).max().unwrap_or(0);
    let fresh: u64 = run
        .iter()
        .filter(|b| b.seq == newest)
        .map(|b| u64::from(b.meta.rows))
        .sum();
    total <= 65_536 || total <= 3 * fresh
}

/// A block is small when it holds fewer than `maxrows` / this many rows:
/// a table that gets a row per tick from a many-device ingest gets a block
/// of a few dozen rows per flush, each with its own index entry and
/// per-column summaries (about 70 bytes a column), more than the rows
/// themselves take once compressed.
const SMALL_BLOCK_FRACTION: usize = 4;

/// Consecutive small blocks of one partition are merged into one block
/// once this many have gathered (all of them at an explicit flush). With a
/// flush adding one block of `r` rows, a row is rewritten about
/// `log(maxrows / 4r) / log(8)` + 1 times before its block stops being
/// small: about twice for 50-row flushes and the default `maxrows`.
const SMALL_RUN_MERGE: usize = 8;

/// Rows of small-block runs one background merge takes (the rest wait for
/// the next flush). Their columns are read under the engine's read lock
/// and swapped in under its write lock, which INSERTs wait for: merging
/// all 10,000 tables of a many-device ingest at once doubled the INSERT
/// p99 under a stream and a subscription (`cargo bench --bench stream`).
/// A quarter of a million rows is about 1,300 such tables a flush, more
/// than one flush's share of 10,000 tables merged every eighth flush.
const SMALL_MERGE_ROWS: usize = 1 << 18;

/// Runs of consecutive small blocks, each within one partition, that
/// are due to be merged ([`SMALL_RUN_MERGE`]; two suffice when `full`).
/// `singles` are blocks that overlap no other, by start time.
fn small_runs(
    singles: Vec<Vec<Arc<Block>>>,
    part_len: i64,
    maxrows: usize,
    full: bool,
) -> Vec<Vec<Arc<Block>>> {
    let due = if full { 2 } else { SMALL_RUN_MERGE };
    let small = (maxrows / SMALL_BLOCK_FRACTION).max(1);
    let mut out = Vec::new();
    let mut run: Vec<Arc<Block>> = Vec::new();
    let mut run_part = None;
    for b in singles.into_iter().flatten() {
        let part = b.meta.ts_min.div_euclid(part_len.max(1));
        let fits =
            (b.meta.rows as usize) < small && b.meta.ts_max.div_euclid(part_len.max(1)) == part;
        if !fits || run_part != Some(part) {
            if run.len() >= due {
                out.push(std::mem::take(&mut run));
            }
            run.clear();
            run_part = None;
        }
        if fits {
            run_part = Some(part);
            run.push(b);
        }
    }
    if run.len() >= due {
        out.push(run);
    }
    out
}

/// A block's timestamps and its columns in schema order.
pub type Columns = (Arc<ColData>, Vec<Option<Arc<ColData>>>);

/// A run of one table's blocks that overlap in time, with their columns.
pub struct Run {
    uid: u64,
    db: String,
    columns: Vec<Column>,
    part_len: i64,
    maxrows: usize,
    old: Vec<Arc<Block>>,
    /// Per old block: timestamps and the columns (schema order).
    data: Vec<Columns>,
}

impl Run {
    /// How the run's rows are cut into the new blocks of flush `seq`.
    fn cut(&self, seq: u64) -> Cut<'_> {
        Cut {
            seq,
            uid: self.uid,
            db: &self.db,
            columns: &self.columns,
            part_len: self.part_len,
            maxrows: self.maxrows,
        }
    }
}

/// Runs of blocks to merge into new, disjoint blocks: blocks that overlap
/// (late rows), or small blocks in a row ([`SMALL_RUN_MERGE`]).
pub struct Merge {
    /// The new blocks' flush number: newer than every block merged, older
    /// than every later flush.
    seq: u64,
    runs: Vec<Run>,
}

impl Merge {
    /// Merges each run (the newest block's row wins a timestamp) into new
    /// blocks: a job for [`write_files`] whose `dead` are the old blocks.
    pub fn run(self) -> FlushJob {
        let mut groups: HashMap<(String, i64), Group> = HashMap::new();
        let mut dead = Vec::new();
        for r in self.runs {
            // a run of small blocks that overlap nothing: their rows in order
            if r.old
                .windows(2)
                .all(|w| w[1].meta.ts_min > w[0].meta.ts_max)
            {
                let mut times = Vec::new();
                let mut vals = Vec::new();
                for (ts, cols) in &r.data {
                    let Values::Int(t) = &ts.values else {
                        continue;
                    };
                    times.extend_from_slice(t);
                    for j in 0..t.len() {
                        vals.extend(
                            cols.iter()
                                .map(|c| c.as_ref().map_or(Value::Null, |c| c.get(j))),
                        );
                    }
                }
                let mut rows = TableData::from_run(times, vals, r.columns.len());
                r.cut(self.seq).blocks(rows.run(), &mut groups);
                dead.extend(r.old);
                continue;
            }
            let mut order: Vec<usize> = (0..r.old.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(r.old[i].seq));
            let mut rows: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
            for i in order {
                let (ts, cols) = &r.data[i];
                let Values::Int(times) = &ts.values else {
                    continue;
                };
                for (j, t) in times.iter().enumerate() {
                    rows.entry(*t).or_insert_with(|| {
                        cols.iter()
                            .map(|c| c.as_ref().map_or(Value::Null, |c| c.get(j)))
                            .collect()
                    });
                }
            }
            let mut rows = TableData::from_sorted(rows, r.columns.len());
            r.cut(self.seq).blocks(rows.run(), &mut groups);
            dead.extend(r.old);
        }
        FlushJob {
            wal_seq: 0,
            groups: groups.into_values().collect(),
            dead,
        }
    }
}

#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    manifest: Manifest,
    /// Shared with readers' snapshots (`query::View`): a change copies the
    /// one table's list if a snapshot holds it.
    pub tables: UidMap<Arc<TableBlocks>>,
    reader: Reader,
    /// A job whose files could not be written: retried with the next.
    failed: Option<FlushJob>,
    /// Data files found unreadable at open (already quarantined and out
    /// of the manifest), for the engine to report.
    pub damage: Vec<damage::Damage>,
}

/// Writes a new manifest for the data files under `dir` (the manifest was
/// damaged or lost): every file whose index reads is named again with its
/// database, partition and flush number (from its name, `<db>/p<partition>
/// -f<seq>[-c<n>].tsf`), `part_len` giving each database's partition
/// length; blocks once replaced by merges come back as older versions,
/// which newer blocks shadow. The WAL is covered up to `covered`. Returns
/// the files named and those left out, with why.
pub fn rebuild_manifest(
    dir: &Path,
    covered: u64,
    part_len: &dyn Fn(&str) -> Option<i64>,
) -> Result<(usize, Vec<(String, String)>)> {
    let mut m = Manifest {
        covered_wal: covered,
        next_seq: 1,
        files: Vec::new(),
        dead: BTreeMap::new(),
    };
    let mut left_out = Vec::new();
    for path in data_files(dir)? {
        let name = relative_name(dir, &path);
        let parsed = name.split_once('/').and_then(|(db, file)| {
            let stem = file.strip_suffix(".tsf")?.strip_prefix('p')?;
            let (part, rest) = stem.split_once("-f")?;
            let seq = rest.split('-').next()?;
            Some((
                db.to_owned(),
                part.parse::<i64>().ok()?,
                seq.parse::<u64>().ok()?,
            ))
        });
        let Some((db, partition, seq)) = parsed else {
            left_out.push((name, "not a data file name".to_owned()));
            continue;
        };
        let Some(part_len) = part_len(&db) else {
            left_out.push((name, format!("database {db} is not in the catalog")));
            continue;
        };
        match block::open_file(&path) {
            Ok(blocks) => {
                m.next_seq = m.next_seq.max(seq + 1);
                m.files.push(FileRec {
                    name,
                    db,
                    partition,
                    part_len,
                    seq,
                    blocks: blocks.len() as u32,
                });
            }
            Err(e) => left_out.push((name, e.msg)),
        }
    }
    let n = m.files.len();
    Store::offline(dir, m).write_manifest()?;
    Ok((n, left_out))
}

/// Marks blocks dead in the manifest of `dir` (`(file name, block index)`):
/// blocks whose chunks do not read, so queries stop failing on them.
pub fn mark_blocks_dead(dir: &Path, blocks: &[(String, u32)]) -> Result<()> {
    let mut m = read_manifest(dir)?.ok_or_else(|| {
        DbError::new(
            crate::error::code::FILE_CORRUPTED,
            format!("manifest {} is missing", dir.join("MANIFEST").display()),
        )
    })?;
    for (name, i) in blocks {
        let d = m.dead.entry(name.clone()).or_default();
        if !d.contains(i) {
            d.push(*i);
        }
    }
    Store::offline(dir, m).write_manifest()
}

/// Every data file under `dir` (`<db>/<name>.tsf`).
pub fn data_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |e: std::io::Error| DbError::io(&format!("data directory {}", dir.display()), e);
    let mut out = Vec::new();
    for db in std::fs::read_dir(dir).map_err(io)? {
        let db = db.map_err(io)?;
        if !db.file_type().map_err(io)?.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(db.path()).map_err(io)? {
            out.push(f.map_err(io)?.path());
        }
    }
    out.sort();
    Ok(out)
}

/// `<db>/<file>` of a data file under `dir`.
pub fn relative_name(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

impl Store {
    /// A store of `dir` with `manifest`, no block opened and no block
    /// cache: what [`Store::open`] starts from, and what writes a manifest
    /// offline (`tsdb check --repair`).
    fn offline(dir: &Path, manifest: Manifest) -> Store {
        Store {
            dir: dir.to_owned(),
            tables: UidMap::default(),
            reader: Reader {
                cache: Arc::new(Mutex::new(Cache {
                    map: HashMap::new(),
                    bytes: 0,
                    limit: 0,
                    clock: 0,
                })),
            },
            failed: None,
            manifest,
            damage: Vec::new(),
        }
    }

    /// Opens the data files the manifest names and returns the WAL
    /// segment they cover. A file the manifest does not name (a flush cut
    /// short; its rows are still in the WAL) is moved into quarantine, not
    /// deleted. A named file that is missing or whose index does not read
    /// is copied into quarantine, dropped from the manifest and reported
    /// ([`Store::damage`]); its rows are not served. A manifest that does
    /// not parse, or is missing while data files exist, stops the start:
    /// `tsdb check --repair` rebuilds it from the files.
    pub fn open(dir: &Path, cache_bytes: usize) -> Result<(Store, u64)> {
        let io = |e: std::io::Error| DbError::io(&format!("data directory {}", dir.display()), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let mpath = dir.join("MANIFEST");
        let read = read_manifest(dir).map_err(|e| {
            DbError::new(
                e.code,
                format!(
                    "{}; `tsdb check --repair --data-dir {}` rebuilds it from the data files",
                    e.msg,
                    dir.parent().unwrap_or(dir).display()
                ),
            )
        })?;
        let manifest: Manifest = match read {
            Some(m) => m,
            None => {
                if let Some(f) = data_files(dir)?.first() {
                    return Err(DbError::new(
                        crate::error::code::FILE_CORRUPTED,
                        format!(
                            "manifest {} is missing but data files exist (such as {}); `tsdb check --repair --data-dir {}` rebuilds it from them",
                            mpath.display(),
                            f.display(),
                            dir.parent().unwrap_or(dir).display()
                        ),
                    ));
                }
                Manifest::default()
            }
        };
        let mut store = Store::offline(dir, Manifest::default());
        store.cache().limit = cache_bytes;
        let data_dir = dir.parent().unwrap_or(dir).to_owned();
        let live: std::collections::HashSet<&str> =
            manifest.files.iter().map(|f| f.name.as_str()).collect();
        for path in data_files(dir)? {
            let name = relative_name(dir, &path);
            if !live.contains(name.as_str()) {
                let kept = damage::quarantine(&data_dir, &path, &name.replace('/', "-"))?;
                tracing::info!(file = %name, kept = %kept, "a data file no manifest names (a flush cut short) moved to quarantine");
                std::fs::remove_file(&path).map_err(io)?;
            }
        }
        let mut manifest = manifest;
        let mut rows = 0u64;
        let mut unreadable = Vec::new();
        for rec in &manifest.files {
            let path = dir.join(&rec.name);
            let blocks = match block::open_file(&path) {
                Ok(b) => b,
                Err(e) => {
                    unreadable.push((rec.clone(), e.msg));
                    continue;
                }
            };
            let dead = manifest.dead.get(&rec.name);
            for (i, (meta, src)) in blocks.into_iter().enumerate() {
                if dead.is_some_and(|d| d.contains(&(i as u32))) {
                    continue;
                }
                rows += u64::from(meta.rows);
                store.add(rec.seq, meta, src);
            }
        }
        if !unreadable.is_empty() {
            for (rec, why) in &unreadable {
                let path = dir.join(&rec.name);
                let size = std::fs::metadata(&path).map_or(0, |m| m.len());
                let action = if path.exists() {
                    let kept = damage::quarantine(&data_dir, &path, &rec.name.replace('/', "-"))?;
                    std::fs::remove_file(&path).map_err(io)?;
                    format!("file moved to {kept}; the manifest no longer names it")
                } else {
                    "the manifest no longer names it".to_owned()
                };
                store.damage.push(damage::Damage {
                    found_at: damage::now_ms(),
                    kind: "data file".into(),
                    file: format!("data/{}", rec.name),
                    start: 0,
                    end: size,
                    lost: format!(
                        "{why}: its {} blocks of database {} (partition starting at {}) are not served",
                        rec.blocks, rec.db, rec.partition
                    ),
                    action,
                });
            }
            let gone: Vec<&str> = unreadable.iter().map(|(r, _)| r.name.as_str()).collect();
            manifest.files.retain(|f| !gone.contains(&f.name.as_str()));
            for name in gone {
                manifest.dead.remove(name);
            }
            store.manifest = manifest.clone();
            store.write_manifest()?;
        }
        for t in store.tables.values_mut() {
            Arc::make_mut(t).rebuild();
        }
        tracing::info!(files = manifest.files.len(), rows, "data files opened");
        let covered = manifest.covered_wal;
        store.manifest = manifest;
        Ok((store, covered))
    }

    fn add(&mut self, seq: u64, meta: BlockMeta, src: Src) -> Arc<Block> {
        let b = Arc::new(Block {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            seq,
            meta,
            src: RwLock::new(src),
        });
        Arc::make_mut(self.tables.entry(b.meta.uid).or_default())
            .blocks
            .push(b.clone());
        b
    }

    /// Turns memtables into blocks that queries read at once, cut by
    /// partition and `maxrows`. `wal_seq` is the WAL segment just closed.
    /// Late rows make blocks that overlap older ones; [`Store::plan_merge`]
    /// merges them afterwards, outside the engine's lock.
    /// The memtables come back emptied, their memory kept for reuse.
    pub fn freeze(
        &mut self,
        wal_seq: u64,
        inputs: Vec<FreezeInput<'_>>,
    ) -> (FlushJob, Vec<(u64, Arc<TableData>)>) {
        let seq = self.manifest.next_seq;
        self.manifest.next_seq += 1;
        let mut groups: HashMap<(String, i64), Group> = HashMap::new();
        let mut emptied = Vec::with_capacity(inputs.len());
        for mut t in inputs {
            let cut = Cut {
                seq,
                uid: t.uid,
                db: t.db,
                columns: t.columns,
                part_len: t.part_len,
                maxrows: t.maxrows,
            };
            // a query's snapshot may hold the memtable: then it is read in
            // place (no late rows) or copied, and the table starts afresh
            let blocks = match Arc::get_mut(&mut t.rows) {
                Some(rows) => cut.blocks(rows.run(), &mut groups),
                None => match t.rows.run_slices(i64::MIN, i64::MAX) {
                    Some(run) => cut.blocks(run, &mut groups),
                    None => cut.blocks(TableData::clone(&t.rows).run(), &mut groups),
                },
            };
            let tb = Arc::make_mut(self.tables.entry(t.uid).or_default());
            tb.blocks.extend(blocks);
            tb.rebuild();
            match Arc::get_mut(&mut t.rows) {
                Some(rows) => rows.clear(),
                None => t.rows = Arc::default(),
            }
            emptied.push((t.uid, t.rows));
        }
        let mut job = FlushJob {
            wal_seq,
            groups: groups.into_values().collect(),
            dead: Vec::new(),
        };
        // a job that failed earlier goes again, first
        if let Some(old) = self.failed.take() {
            let mut g = old.groups;
            g.append(&mut job.groups);
            job.groups = g;
        }
        (job, emptied)
    }

    /// Finds each table's runs of blocks that overlap in time (late rows)
    /// and reads their columns, up to about `max_rows` rows; unless `full`,
    /// only the runs [`worth_merging`] now. `schema` gives
    /// a table's database, columns after the timestamp, partition length
    /// and `maxrows`. Runs under the engine's read lock; [`Merge::run`]
    /// does the rest without it.
    pub fn plan_merge(
        &self,
        schema: &dyn Fn(u64) -> Option<(String, Vec<Column>, i64, usize)>,
        max_rows: usize,
        full: bool,
    ) -> Result<Option<Merge>> {
        let mut runs = Vec::new();
        let mut rows = 0usize;
        let mut small_rows = 0usize;
        for (uid, tb) in &self.tables {
            if rows >= max_rows || (tb.disjoint && tb.blocks.len() < 2) {
                continue;
            }
            let Some((db, columns, part_len, maxrows)) = schema(*uid) else {
                continue;
            };
            // maximal runs of overlapping blocks (blocks are by start time)
            let mut groups: Vec<Vec<Arc<Block>>> = Vec::new();
            let mut run_end = i64::MIN;
            for b in &tb.blocks {
                if b.meta.ts_min > run_end || groups.is_empty() {
                    groups.push(Vec::new());
                }
                run_end = run_end.max(b.meta.ts_max);
                groups.last_mut().expect("pushed").push(b.clone());
            }
            let (mut merging, singles): (Vec<_>, Vec<_>) =
                groups.into_iter().partition(|g| g.len() > 1);
            merging.retain(|g| full || worth_merging(g));
            for run in small_runs(singles, part_len, maxrows, full) {
                if !full && small_rows >= SMALL_MERGE_ROWS {
                    break;
                }
                small_rows += run.iter().map(|b| b.meta.rows as usize).sum::<usize>();
                merging.push(run);
            }
            for old in merging {
                let mut data = Vec::with_capacity(old.len());
                for b in &old {
                    let mut cols = Vec::with_capacity(columns.len());
                    for c in &columns {
                        cols.push(self.column(b, c.id)?);
                    }
                    rows += b.meta.rows as usize;
                    data.push((self.ts(b)?, cols));
                }
                runs.push(Run {
                    uid: *uid,
                    db: db.clone(),
                    columns: columns.clone(),
                    part_len,
                    maxrows,
                    old,
                    data,
                });
            }
        }
        if runs.is_empty() {
            return Ok(None);
        }
        Ok(Some(Merge {
            seq: self.manifest.next_seq,
            runs,
        }))
    }

    /// Takes over merged blocks written by [`Merge::run`] and
    /// [`write_files`]: the runs they replace leave their tables (and are
    /// recorded dead in the manifest). If a replaced block is gone meanwhile
    /// (its table dropped, its partition expired) the merge is dropped.
    pub fn install_merge(
        &mut self,
        written: Written,
        live_dbs: &dyn Fn(&str) -> bool,
    ) -> Result<()> {
        if !written.job.dead.iter().all(|b| self.holds(b)) {
            for (rec, _) in &written.job.groups {
                let _ = std::fs::remove_file(self.dir.join(&rec.name));
            }
            return Ok(());
        }
        self.manifest.next_seq = self.manifest.next_seq.max(written.seq + 1);
        for b in &written.job.dead {
            if let Some(t) = self.tables.get_mut(&b.meta.uid) {
                Arc::make_mut(t).blocks.retain(|x| !Arc::ptr_eq(x, b));
            }
        }
        for (_, blocks) in &written.job.groups {
            for b in blocks {
                Arc::make_mut(self.tables.entry(b.meta.uid).or_default())
                    .blocks
                    .push(b.clone());
            }
        }
        let touched: Vec<u64> = written.job.dead.iter().map(|b| b.meta.uid).collect();
        for uid in touched {
            if let Some(t) = self.tables.get_mut(&uid) {
                Arc::make_mut(t).rebuild();
            }
        }
        self.install(Ok(written), live_dbs).map(|_| ())
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
        let Written { job, srcs, .. } = match written {
            Ok(w) => w,
            Err((job, e)) => {
                tracing::error!(error = %e, "flush failed; its rows stay in memory and in the WAL");
                self.failed = Some(job);
                return Err(e);
            }
        };
        self.mark_dead(&job.dead);
        let mut cache = self.reader.cache();
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
        // blocks whose table was dropped (or partition expired) meanwhile
        let orphans: Vec<Arc<Block>> = job
            .groups
            .iter()
            .flat_map(|g| &g.1)
            .filter(|b| !self.holds(b))
            .cloned()
            .collect();
        self.mark_dead(&orphans);
        self.manifest.covered_wal = self.manifest.covered_wal.max(job.wal_seq);
        self.reap_and_save()?;
        Ok(self.manifest.covered_wal)
    }

    /// Records in the manifest that the WAL up to segment `seq` is no
    /// longer needed (its rows are in data files, or were reported lost).
    pub fn cover_wal(&mut self, seq: u64) -> Result<()> {
        self.manifest.covered_wal = self.manifest.covered_wal.max(seq);
        self.write_manifest()
    }

    /// Records file-backed blocks as dead in the manifest (not yet saved)
    /// and drops their decoded columns from the cache.
    fn mark_dead(&mut self, blocks: &[Arc<Block>]) {
        let keys: std::collections::HashSet<u64> = blocks.iter().map(|b| b.key).collect();
        for b in blocks {
            if let Src::File { file, index, .. } = &*b.src.read().unwrap_or_else(|e| e.into_inner())
            {
                if let Ok(name) = file.path.strip_prefix(&self.dir) {
                    let name = name.to_string_lossy().into_owned();
                    self.manifest.dead.entry(name).or_default().push(*index);
                }
            }
        }
        if !keys.is_empty() {
            self.cache().map.retain(|k, _| !keys.contains(&k.0));
        }
    }

    /// Saves the manifest without the files whose every block is dead, then
    /// deletes those files.
    fn reap_and_save(&mut self) -> Result<()> {
        let (gone, kept): (Vec<FileRec>, Vec<FileRec>) = std::mem::take(&mut self.manifest.files)
            .into_iter()
            .partition(|f| {
                self.manifest
                    .dead
                    .get(&f.name)
                    .is_some_and(|d| d.len() as u32 >= f.blocks && f.blocks > 0)
            });
        self.manifest.files = kept;
        self.forget(&gone);
        self.write_manifest()?;
        for f in gone {
            let _ = std::fs::remove_file(self.dir.join(&f.name));
        }
        Ok(())
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

    /// Forgets tables' blocks: recorded dead in the manifest, and files
    /// left with no live block are deleted. (Blocks still being written
    /// are marked when their flush is installed.)
    pub fn drop_tables(&mut self, uids: &[u64]) -> Result<()> {
        let mut dead = Vec::new();
        for uid in uids {
            if let Some(t) = self.tables.remove(uid) {
                dead.extend(t.blocks.iter().cloned());
            }
        }
        if dead.is_empty() {
            return Ok(());
        }
        self.mark_dead(&dead);
        self.reap_and_save()
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
                let t = Arc::make_mut(t);
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
        self.reader.ts(b)
    }

    /// Column `id` of a block; `None` if the block has no such column (it
    /// was added later): every value is NULL.
    pub fn column(&self, b: &Block, id: u16) -> Result<Option<Arc<ColData>>> {
        self.reader.column(b, id)
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.reader.cache()
    }

    /// What reads blocks, for a snapshot that outlives the engine's lock.
    pub fn reader(&self) -> &Reader {
        &self.reader
    }

    /// The stored row of table `uid` at `ts`, newest block first, in the
    /// positions of `columns` (the schema after the timestamp).
    pub fn row_at(&self, uid: u64, ts: i64, columns: &[Column]) -> Result<Option<Vec<Value>>> {
        match self.tables.get(&uid) {
            Some(t) => self.reader.row_at(t, ts, columns),
            None => Ok(None),
        }
    }

    /// For timestamps in increasing order, whether a block of table `uid`
    /// holds each: one walk over the blocks they reach, not a lookup per row.
    pub fn stored_among(&self, uid: u64, ts: &[i64]) -> Result<Vec<bool>> {
        let mut found = vec![false; ts.len()];
        let (Some(t), Some(&lo), Some(&hi)) = (self.tables.get(&uid), ts.first(), ts.last()) else {
            return Ok(found);
        };
        for b in t.in_range(lo, hi) {
            let tsc = self.ts(b)?;
            let Values::Int(times) = &tsc.values else {
                continue;
            };
            let (mut i, mut j) = (ts.partition_point(|&x| x < b.meta.ts_min), 0);
            while i < ts.len() && j < times.len() {
                match ts[i].cmp(&times[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        found[i] = true;
                        i += 1;
                        j += 1;
                    }
                }
            }
        }
        Ok(found)
    }

    /// Whether block `b` is still one of its table's blocks (not merged
    /// away, dropped or expired).
    fn holds(&self, b: &Arc<Block>) -> bool {
        self.tables
            .get(&b.meta.uid)
            .is_some_and(|t| t.blocks.iter().any(|x| Arc::ptr_eq(x, b)))
    }

    /// Live data files, for logs.
    pub fn file_count(&self) -> usize {
        self.manifest.files.len()
    }

    /// Bytes of the live data files (for logs and tests).
    pub fn file_bytes(&self) -> u64 {
        self.manifest
            .files
            .iter()
            .filter_map(|f| std::fs::metadata(self.dir.join(&f.name)).ok())
            .map(|m| m.len())
            .sum()
    }

    /// Data files to rewrite without their dead blocks: every file of
    /// database `db` with a dead block (`COMPACT DATABASE`), or with `None`
    /// the files at least [`COMPACT_DEAD_SHARE`] dead. Runs under the
    /// engine's read lock; [`Compaction::run`] does the rest without it.
    pub fn plan_compact(&self, db: Option<&str>) -> Vec<Compaction> {
        let worth = |f: &FileRec| {
            let dead = self.manifest.dead.get(&f.name).map_or(0, Vec::len);
            dead > 0
                && match db {
                    Some(db) => f.db == db,
                    None => dead as f64 >= f64::from(f.blocks) * COMPACT_DEAD_SHARE,
                }
        };
        let files: HashMap<PathBuf, &FileRec> = self
            .manifest
            .files
            .iter()
            .filter(|f| worth(f))
            .map(|f| (self.dir.join(&f.name), f))
            .collect();
        if files.is_empty() {
            return Vec::new();
        }
        let mut plans: HashMap<PathBuf, Compaction> = HashMap::new();
        for tb in self.tables.values() {
            for b in &tb.blocks {
                let src = b.src.read().unwrap_or_else(|e| e.into_inner());
                let Src::File { file, ts, cols, .. } = &*src else {
                    continue;
                };
                let Some(rec) = files.get(&file.path) else {
                    continue;
                };
                plans
                    .entry(file.path.clone())
                    .or_insert_with(|| Compaction {
                        old: (*rec).clone(),
                        new: FileRec {
                            name: self.compacted_name(rec),
                            ..(*rec).clone()
                        },
                        file: file.clone(),
                        blocks: Vec::new(),
                    })
                    .blocks
                    .push((b.clone(), *ts, cols.clone()));
            }
        }
        plans.into_values().collect()
    }

    /// A name for the compacted copy of `rec`: its name with `-c<n>`, the
    /// first `n` no file has. (One compaction or flush runs at a time.)
    fn compacted_name(&self, rec: &FileRec) -> String {
        let stem = rec.name.trim_end_matches(".tsf");
        let stem = match stem.rsplit_once("-c") {
            Some((s, n)) if !n.is_empty() && n.bytes().all(|c| c.is_ascii_digit()) => s,
            _ => stem,
        };
        (1u32..)
            .map(|n| format!("{stem}-c{n}.tsf"))
            .find(|name| {
                self.manifest.files.iter().all(|f| f.name != *name) && !self.dir.join(name).exists()
            })
            .expect("a free name")
    }

    /// Takes over a compacted file: its blocks point at it, the manifest
    /// names it instead of the old file, which is deleted. Blocks that died
    /// meanwhile (merged, dropped) are recorded dead in the new file; if
    /// the old file went meanwhile (all its blocks dead, its partition
    /// expired, its database dropped), the new one is deleted instead.
    pub fn install_compaction(&mut self, c: Compacted) -> Result<()> {
        let Compacted { plan, srcs } = c;
        if self.manifest.files.iter().all(|f| f.name != plan.old.name) {
            let _ = std::fs::remove_file(self.dir.join(&plan.new.name));
            return Ok(());
        }
        let mut dead = Vec::new();
        for (i, ((b, ..), src)) in plan.blocks.iter().zip(srcs).enumerate() {
            let mut slot = b.src.write().unwrap_or_else(|e| e.into_inner());
            let in_old = matches!(&*slot, Src::File { file, .. } if Arc::ptr_eq(file, &plan.file));
            if in_old && self.holds(b) {
                *slot = src;
            } else {
                dead.push(i as u32);
            }
        }
        self.manifest.files.retain(|f| f.name != plan.old.name);
        self.manifest.dead.remove(&plan.old.name);
        if !dead.is_empty() {
            self.manifest.dead.insert(plan.new.name.clone(), dead);
        }
        self.manifest.files.push(FileRec {
            blocks: plan.blocks.len() as u32,
            ..plan.new
        });
        self.reap_and_save()?;
        let _ = std::fs::remove_file(&plan.file.path);
        Ok(())
    }
}

/// A file is rewritten without its dead blocks once this share of its
/// blocks is dead (dropped tables, blocks replaced by merges of late rows):
/// then at most half of a file is dead weight, and a rewrite copies at
/// least as much as it frees.
pub const COMPACT_DEAD_SHARE: f64 = 0.5;

/// One data file to rewrite without its dead blocks ([`Store::plan_compact`]).
#[derive(Debug)]
pub struct Compaction {
    old: FileRec,
    new: FileRec,
    /// The old file, open.
    file: Arc<DataFile>,
    /// Its live blocks and where their chunks are in it.
    blocks: Vec<(Arc<Block>, Chunk, Vec<Chunk>)>,
}

/// A compaction whose new file is written ([`Store::install_compaction`]).
#[derive(Debug)]
pub struct Compacted {
    plan: Compaction,
    srcs: Vec<Src>,
}

impl Compaction {
    /// Copies the live blocks' chunks into the new file, fsynced (no lock:
    /// the chunks are immutable). On failure the new file is removed.
    pub fn run(self, dir: &Path) -> Result<Compacted> {
        let path = dir.join(&self.new.name);
        let blocks: Vec<(&BlockMeta, Chunk, &[Chunk])> = self
            .blocks
            .iter()
            .map(|(b, ts, cols)| (&b.meta, *ts, cols.as_slice()))
            .collect();
        match block::copy_file(&path, &self.file, &blocks) {
            Ok(srcs) => {
                drop(blocks);
                sync_dir(path.parent().unwrap_or(dir))?;
                Ok(Compacted { plan: self, srcs })
            }
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
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
    let seq = job.groups.iter().map(|g| g.0.seq).max().unwrap_or(0);
    Ok(Written { job, srcs, seq })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block of `rows` rows from `lo` to `hi`, holding no columns (what
    /// [`small_runs`] reads is the index entry).
    fn block(lo: i64, hi: i64, rows: u32) -> Arc<Block> {
        let ts = Value::Int(lo);
        Arc::new(Block {
            key: 0,
            seq: 1,
            meta: BlockMeta {
                uid: 1,
                rows,
                ts_min: lo,
                ts_max: hi,
                cols: Vec::new(),
            },
            src: RwLock::new(Src::Mem(Arc::new(block::Decoded {
                ts: Arc::new(ColData::from_values(Kind::Int, [&ts].into_iter())),
                cols: Vec::new(),
            }))),
        })
    }

    fn starts(runs: &[Vec<Arc<Block>>]) -> Vec<Vec<i64>> {
        runs.iter()
            .map(|r| r.iter().map(|b| b.meta.ts_min).collect())
            .collect()
    }

    /// Small blocks merge once eight have gathered in one partition (two
    /// at an explicit flush); a big block or a partition boundary ends a
    /// run, and a block across a boundary never joins one.
    #[test]
    fn small_runs_gather_within_a_partition() {
        // partitions of 1,000 ticks; maxrows 400, so small is under 100 rows
        let singles = |v: &[(i64, i64, u32)]| -> Vec<Vec<Arc<Block>>> {
            v.iter()
                .map(|&(lo, hi, n)| vec![block(lo, hi, n)])
                .collect()
        };
        let seven: Vec<(i64, i64, u32)> = (0..7).map(|i| (i * 10, i * 10 + 5, 50)).collect();
        assert!(small_runs(singles(&seven), 1000, 400, false).is_empty());
        assert_eq!(
            starts(&small_runs(singles(&seven), 1000, 400, true)),
            vec![vec![0, 10, 20, 30, 40, 50, 60]]
        );
        let mut eight = seven.clone();
        eight.push((70, 75, 99));
        assert_eq!(
            starts(&small_runs(singles(&eight), 1000, 400, false)),
            vec![vec![0, 10, 20, 30, 40, 50, 60, 70]]
        );
        // a block of 100 rows is not small: it splits the run
        let mut split = seven.clone();
        split.insert(3, (25, 28, 100));
        split.push((70, 75, 50));
        assert!(small_runs(singles(&split), 1000, 400, false).is_empty());
        assert_eq!(
            starts(&small_runs(singles(&split), 1000, 400, true)),
            vec![vec![0, 10, 20], vec![30, 40, 50, 60, 70]]
        );
        // a partition boundary ends a run; a block across one stays alone
        let across = singles(&[
            (900, 950, 5),
            (960, 990, 5),
            (995, 1005, 5),
            (1010, 1020, 5),
            (1030, 1040, 5),
        ]);
        assert_eq!(
            starts(&small_runs(across, 1000, 400, true)),
            vec![vec![900, 960], vec![1010, 1030]]
        );
    }
}
