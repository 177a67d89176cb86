//! The write-ahead log: every acknowledged insert is in it before the
//! client hears "OK", so a killed server loses nothing it confirmed.
//!
//! A record is `u32 length | u32 CRC-32 of the payload | payload`, all
//! little-endian; one record holds all rows of one table from one
//! statement, so a batch is one sequential append. Replay stops at the first
//! short or corrupt record (a write cut off by a crash) and truncates the
//! file there, so the next append starts clean. With `WAL 1` (the default)
//! appends reach the OS page cache, which survives the process being killed;
//! `WAL 2` also fsyncs (`FSYNC 0`: every write; otherwise at most every
//! `fsync` ms).
//!
//! The log is a directory of numbered segments. When the memtables are
//! frozen for a flush the log rotates to a new segment; once the flush's
//! data files and manifest are on disk, the segments it covers are deleted
//! (see [`super::store`]).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::codec::{Reader, put_i64, put_u16, put_u32, put_u64, put_value};
use crate::catalog::Table;
use crate::error::{DbError, Result};
use crate::types::Value;

/// A larger length is corruption, not a record.
const MAX_RECORD: u32 = 1 << 30;

#[derive(Debug)]
pub struct Wal {
    dir: PathBuf,
    /// The segment appends go to.
    seq: u64,
    file: File,
    buf: Vec<u8>,
    syncer: Arc<Syncer>,
}

/// Group commit: fsyncs happen outside the engine's lock, and one fsync
/// covers every append written before it, so concurrent writers that need
/// durability share one disk flush instead of queueing for one each.
/// Offsets are logical: bytes appended since the log was opened, across
/// segments.
#[derive(Debug)]
pub struct Syncer {
    /// Bytes appended so far.
    written: AtomicU64,
    /// The current segment and its length: the log's position, which the
    /// catalog records with each durable commit.
    seg: AtomicU64,
    seg_len: AtomicU64,
    state: Mutex<SyncState>,
    /// The log's directory (a new segment's entry is synced with it).
    dir: PathBuf,
    /// fsyncs done (for tests and logs).
    pub syncs: AtomicU64,
}

#[derive(Debug)]
struct SyncState {
    /// The current segment (a rotation swaps it).
    file: File,
    /// Segments closed by rotations since the last fsync, and whether the
    /// directory holds a segment created since then: the next
    /// [`Syncer::sync_to`] syncs them first. A rotation happens under the
    /// engine's write lock, so it leaves the disk work to the writers that
    /// need it (`WAL 2`); with `WAL 1` nobody waits for a disk.
    closed: Vec<File>,
    dir_changed: bool,
    /// Bytes known to be on disk, and when that was last advanced.
    synced: u64,
    at: Instant,
}

impl Syncer {
    /// Returns once everything up to byte `offset` is on disk.
    pub fn sync_to(&self, offset: u64) -> Result<()> {
        let mut g = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if g.synced >= offset {
            return Ok(());
        }
        let target = self.written.load(Ordering::SeqCst);
        let io = |e| DbError::io("WAL fsync", e);
        for f in &g.closed {
            f.sync_data().map_err(io)?;
        }
        g.closed.clear();
        if g.dir_changed {
            sync_dir(&self.dir)?;
            g.dir_changed = false;
        }
        g.file.sync_data().map_err(io)?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        g.synced = target;
        g.at = Instant::now();
        Ok(())
    }

    /// The end of the log now.
    pub fn position(&self) -> Pos {
        Pos {
            seg: self.seg.load(Ordering::SeqCst),
            off: self.seg_len.load(Ordering::SeqCst),
        }
    }

    /// Milliseconds since the last fsync.
    pub fn since_sync_ms(&self) -> u128 {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .at
            .elapsed()
            .as_millis()
    }
}

/// A place in the log: a segment and a byte offset in it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Pos {
    pub seg: u64,
    pub off: u64,
}

/// What the log holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Insert(InsertRecord),
    /// A child table created by an INSERT (`USING ... TAGS`). Its catalog
    /// commit is not fsynced; this record makes it durable, until a durable
    /// catalog commit at a later position covers it.
    Create {
        db: String,
        table: Table,
    },
}

/// Rows of one table from one statement, flat: row `i` is `ts[i]` and
/// `vals[i * w..(i + 1) * w]`, `w` being the number of columns supplied.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertRecord {
    pub uid: u64,
    /// Ids of the columns supplied (not the timestamp).
    pub col_ids: Vec<u16>,
    pub ts: Vec<i64>,
    /// One value per supplied column per row.
    pub vals: Vec<Value>,
}

impl InsertRecord {
    pub fn len(&self) -> usize {
        self.ts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.col_ids.len()
    }
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.log"))
}

/// The segment numbers in `dir`, ascending.
fn segments(dir: &Path) -> Result<Vec<u64>> {
    let io = |e: std::io::Error| DbError::io(&format!("WAL directory {}", dir.display()), e);
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(io)? {
        let name = e.map_err(io)?.file_name();
        let name = name.to_string_lossy();
        if let Some(seq) = name.strip_suffix(".log").and_then(|n| n.parse().ok()) {
            out.push(seq);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Reads the complete records of segment `seq` and cuts off a torn tail;
/// returns the file and its length.
fn replay(dir: &Path, seq: u64, records: &mut Vec<(Pos, Record)>) -> Result<(File, u64)> {
    let path = &segment_path(dir, seq);
    let io = |e: std::io::Error| DbError::io(&format!("WAL {}", path.display()), e);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let mut good = 0u64;
    {
        let mut r = BufReader::with_capacity(1 << 20, &mut file);
        let mut head = [0u8; 8];
        loop {
            if r.read_exact(&mut head).is_err() {
                break;
            }
            let len = u32::from_le_bytes(head[..4].try_into().expect("4"));
            let crc = u32::from_le_bytes(head[4..].try_into().expect("4"));
            if len > MAX_RECORD {
                break;
            }
            let mut payload = vec![0u8; len as usize];
            if r.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != crc {
                break;
            }
            match decode(&payload) {
                Some(rec) => {
                    good += 8 + u64::from(len);
                    records.push((
                        Pos {
                            seg: seq,
                            off: good,
                        },
                        rec,
                    ));
                }
                None => break,
            }
        }
    }
    let end = file.seek(SeekFrom::End(0)).map_err(io)?;
    if end != good {
        tracing::warn!(
            "WAL {}: {} bytes after the last complete record dropped (a write cut off by a crash)",
            path.display(),
            end - good
        );
        file.set_len(good).map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
    }
    Ok((file, good))
}

impl Wal {
    /// Opens (creating) the log in `dir` and returns the records of the
    /// segments after `covered` (those are already in data files and are
    /// deleted).
    pub fn open(dir: &Path, covered: u64) -> Result<(Wal, Vec<(Pos, Record)>)> {
        let io = |e: std::io::Error| DbError::io(&format!("WAL directory {}", dir.display()), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut records = Vec::new();
        let mut live = Vec::new();
        for seq in segments(dir)? {
            if seq <= covered {
                std::fs::remove_file(segment_path(dir, seq)).map_err(io)?;
            } else {
                live.push(seq);
            }
        }
        let mut file = None;
        for seq in &live {
            file = Some(replay(dir, *seq, &mut records)?);
        }
        let seq = live.last().copied().unwrap_or(covered + 1);
        let (file, len) = match file {
            Some(f) => f,
            None => replay(dir, seq, &mut records)?,
        };
        let syncer = Arc::new(Syncer {
            written: AtomicU64::new(0),
            seg: AtomicU64::new(seq),
            seg_len: AtomicU64::new(len),
            state: Mutex::new(SyncState {
                file: file.try_clone().map_err(io)?,
                closed: Vec::new(),
                dir_changed: false,
                synced: 0,
                at: Instant::now(),
            }),
            dir: dir.to_owned(),
            syncs: AtomicU64::new(0),
        });
        Ok((
            Wal {
                dir: dir.to_owned(),
                seq,
                file,
                buf: Vec::new(),
                syncer,
            },
            records,
        ))
    }

    /// The group-commit handle, to fsync outside the engine's lock.
    pub fn syncer(&self) -> Arc<Syncer> {
        self.syncer.clone()
    }

    /// Appends records in one write and returns the log's new length; the
    /// caller makes it durable with [`Syncer::sync_to`] when it must.
    pub fn append<'r>(
        &mut self,
        records: impl IntoIterator<Item = &'r InsertRecord>,
    ) -> Result<u64> {
        self.append_with(records, encode)
    }

    /// Appends the creation of child tables, each with its database (see
    /// [`Record::Create`]).
    pub fn append_creates<'t>(
        &mut self,
        tables: impl IntoIterator<Item = (&'t str, &'t Table)>,
    ) -> Result<u64> {
        self.append_with(tables, |(db, t), buf| encode_create(db, t, buf))
    }

    fn append_with<T>(
        &mut self,
        records: impl IntoIterator<Item = T>,
        encode: impl Fn(T, &mut Vec<u8>),
    ) -> Result<u64> {
        self.buf.clear();
        for rec in records {
            let start = self.buf.len();
            self.buf.extend_from_slice(&[0u8; 8]);
            encode(rec, &mut self.buf);
            let payload = &self.buf[start + 8..];
            let len = payload.len() as u32;
            let crc = crc32fast::hash(payload);
            self.buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
            self.buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        }
        let path = segment_path(&self.dir, self.seq);
        let io = |e: std::io::Error| DbError::io(&format!("WAL {}", path.display()), e);
        self.file.write_all(&self.buf).map_err(io)?;
        self.syncer
            .seg_len
            .fetch_add(self.buf.len() as u64, Ordering::SeqCst);
        let end = self
            .syncer
            .written
            .fetch_add(self.buf.len() as u64, Ordering::SeqCst)
            + self.buf.len() as u64;
        Ok(end)
    }

    /// Starts a new segment and returns the number of the one it closes.
    /// Nothing is fsynced here: the closed segment and the new directory
    /// entry are synced by the next [`Syncer::sync_to`], so writers waiting
    /// for durability of older appends are still covered, and a rotation
    /// under the engine's lock costs no disk flush.
    pub fn rotate(&mut self) -> Result<u64> {
        let next = self.seq + 1;
        let path = segment_path(&self.dir, next);
        let io = |e: std::io::Error| DbError::io(&format!("WAL {}", path.display()), e);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io)?;
        let mut g = self.syncer.state.lock().unwrap_or_else(|e| e.into_inner());
        let old = std::mem::replace(&mut g.file, file.try_clone().map_err(io)?);
        g.closed.push(old);
        g.dir_changed = true;
        self.syncer.seg.store(next, Ordering::SeqCst);
        self.syncer.seg_len.store(0, Ordering::SeqCst);
        drop(g);
        self.file = file;
        let closed = self.seq;
        self.seq = next;
        Ok(closed)
    }

    /// Deletes the segments up to `seq` (their rows are in data files).
    pub fn remove_upto(&self, seq: u64) -> Result<()> {
        for s in segments(&self.dir)? {
            if s <= seq && s != self.seq {
                std::fs::remove_file(segment_path(&self.dir, s))
                    .map_err(|e| DbError::io("WAL segment removal", e))?;
            }
        }
        Ok(())
    }
}

/// fsyncs a directory so a created or renamed file in it survives a crash.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| DbError::io(&format!("fsync of directory {}", dir.display()), e))
}

fn encode(rec: &InsertRecord, out: &mut Vec<u8>) {
    out.push(1); // kind: insert
    put_u64(out, rec.uid);
    put_u16(out, rec.col_ids.len() as u16);
    for id in &rec.col_ids {
        put_u16(out, *id);
    }
    put_u32(out, rec.ts.len() as u32);
    // room for fixed-size values; strings grow it
    out.reserve(rec.ts.len() * 8 + rec.vals.len() * 9);
    let w = rec.width();
    for (i, ts) in rec.ts.iter().enumerate() {
        put_i64(out, *ts);
        for v in &rec.vals[i * w..(i + 1) * w] {
            put_value(out, v);
        }
    }
}

fn encode_create(db: &str, t: &Table, out: &mut Vec<u8>) {
    out.push(2); // kind: create a child table
    put_u32(out, db.len() as u32);
    out.extend_from_slice(db.as_bytes());
    out.extend_from_slice(&serde_json::to_vec(t).expect("catalog entries serialise"));
}

fn decode(b: &[u8]) -> Option<Record> {
    let mut r = Reader::new(b);
    match r.u8()? {
        1 => decode_insert(r).map(Record::Insert),
        2 => {
            let n = r.u32()? as usize;
            let db = String::from_utf8(r.take(n)?.to_vec()).ok()?;
            let table = serde_json::from_slice(&b[r.i..]).ok()?;
            Some(Record::Create { db, table })
        }
        _ => None,
    }
}

fn decode_insert(mut r: Reader<'_>) -> Option<InsertRecord> {
    let uid = r.u64()?;
    let ncols = r.u16()? as usize;
    let mut col_ids = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        col_ids.push(r.u16()?);
    }
    let nrows = r.u32()? as usize;
    let mut ts = Vec::with_capacity(nrows.min(1 << 20));
    let mut vals = Vec::with_capacity((nrows * ncols).min(1 << 20));
    for _ in 0..nrows {
        ts.push(r.i64()?);
        for _ in 0..ncols {
            vals.push(r.value()?);
        }
    }
    r.done().then_some(InsertRecord {
        uid,
        col_ids,
        ts,
        vals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_and_a_torn_tail_is_dropped() {
        let dir = std::env::temp_dir().join(format!("tsdb-wal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let path = segment_path(&dir, 1);
        let rec = InsertRecord {
            uid: 7,
            col_ids: vec![1, 2, 3],
            ts: vec![1000, 2000],
            vals: vec![
                Value::Double(10.3),
                Value::Int(219),
                Value::Null,
                Value::Bool(true),
                Value::Str("北京".into()),
                Value::Int(-1),
            ],
        };
        {
            let (mut w, recs) = Wal::open(&dir, 0).unwrap();
            assert!(recs.is_empty());
            let end = w.append(&[rec.clone(), rec.clone()]).unwrap();
            w.syncer().sync_to(end).unwrap();
            w.syncer().sync_to(end).unwrap();
            assert_eq!(
                w.syncer().syncs.load(Ordering::Relaxed),
                1,
                "one fsync covers both"
            );
        }
        // a torn write: half a record at the end
        let mut bytes = std::fs::read(&path).unwrap();
        let full = bytes.len();
        let torn = bytes[..full / 4].to_vec();
        bytes.extend_from_slice(&torn);
        std::fs::write(&path, &bytes).unwrap();
        let (mut w, recs) = Wal::open(&dir, 0).unwrap();
        let got: Vec<Record> = recs.into_iter().map(|r| r.1).collect();
        assert_eq!(
            got,
            vec![Record::Insert(rec.clone()), Record::Insert(rec.clone())]
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, full);
        w.append(std::slice::from_ref(&rec)).unwrap();
        drop(w);
        let (_, recs) = Wal::open(&dir, 0).unwrap();
        assert_eq!(recs.len(), 3);
        // a flipped bit ends the log at the damaged record
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let (_, recs) = Wal::open(&dir, 0).unwrap();
        assert_eq!(recs.len(), 2);
    }

    /// A rotation does no disk work; the next sync covers the closed
    /// segment, the directory and the new segment, and the log reads back
    /// across both segments.
    #[test]
    fn a_rotation_leaves_the_fsync_to_the_next_sync() {
        let dir = std::env::temp_dir().join(format!("tsdb-wal-rot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let rec = |uid| InsertRecord {
            uid,
            col_ids: vec![1],
            ts: vec![1000],
            vals: vec![Value::Int(1)],
        };
        let (mut w, _) = Wal::open(&dir, 0).unwrap();
        let syncs = |w: &Wal| w.syncer().syncs.load(Ordering::Relaxed);
        let first = w.append(&[rec(1)]).unwrap();
        assert_eq!(w.rotate().unwrap(), 1);
        assert_eq!(syncs(&w), 0, "no fsync under the engine's lock");
        let end = w.append(&[rec(2)]).unwrap();
        {
            let g = w.syncer.state.lock().unwrap();
            assert_eq!((g.closed.len(), g.dir_changed), (1, true));
        }
        w.syncer().sync_to(first).unwrap();
        assert_eq!(syncs(&w), 1);
        {
            let g = w.syncer.state.lock().unwrap();
            assert_eq!((g.closed.len(), g.dir_changed, g.synced), (0, false, end));
        }
        w.syncer().sync_to(end).unwrap();
        assert_eq!(syncs(&w), 1, "the first sync covered the new segment too");
        drop(w);
        let (_, recs) = Wal::open(&dir, 0).unwrap();
        let uids: Vec<u64> = recs
            .into_iter()
            .map(|(_, r)| match r {
                Record::Insert(i) => i.uid,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(uids, [1, 2]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
