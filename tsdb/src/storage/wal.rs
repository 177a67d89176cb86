//! The write-ahead log: every acknowledged insert is in it before the
//! client hears "OK", so a killed server loses nothing it confirmed.
//!
//! A segment starts with [`SEGMENT_MAGIC`]; a record is
//! `u32 magic | u32 length | u32 CRC-32 of length and payload | payload`,
//! all little-endian; one record holds all rows of one table from one
//! statement, so a batch is one sequential append. With `WAL 1` (the
//! default) appends reach the OS page cache, which survives the process
//! being killed; `WAL 2` also fsyncs (`FSYNC 0`: every write; otherwise at
//! most every `fsync` ms).
//!
//! Replay keeps every intact record. A record that fails its checksum (bit
//! rot, a bad disk, an operator's edit) is a damaged region: replay looks
//! for the next record magic after it, checks that record, and goes on, so
//! damage costs the damaged records and nothing after them. The only
//! damage dropped quietly is a torn tail: a last record whose length runs
//! past the end of the last segment, or a tail of zeros — a write cut off
//! by a crash; that tail is cut so appends start clean. A segment with any
//! other damage is never truncated or rewritten: it is reported
//! ([`WalDamage`]) for the engine to quarantine, log and flush past.
//! Segments of earlier versions (no segment magic, records without a
//! magic) are read as before, up to their first bad record.
//!
//! The log is a directory of numbered segments. When the memtables are
//! frozen for a flush the log rotates to a new segment; once the flush's
//! data files and manifest are on disk, the segments it covers are deleted
//! (see [`super::store`]). A segment between the last flushed one and the
//! newest that is not there is reported as missing.
//!
//! May import: `error`, `schema`, `types`, its parent's `codec`.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::codec::{Reader, put_i64, put_u16, put_u32, put_u64, put_value};
use crate::error::{DbError, Result};
use crate::schema::Table;
use crate::types::Value;

/// A larger length is corruption, not a record.
const MAX_RECORD: u32 = 1 << 30;
/// The first bytes of every segment of this format.
pub const SEGMENT_MAGIC: [u8; 8] = *b"TSDBWAL2";
/// The first bytes of every record: what replay looks for to find the
/// next record after damage. Not ASCII and not a small number, so text,
/// zeros and counts rarely imitate it, and a false match still has to
/// pass the CRC.
pub const RECORD_MAGIC: [u8; 4] = [0xD7, 0x41, 0x4C, 0x9E];
/// Record header: magic, length, CRC.
const HEADER: usize = 12;

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

pub fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016}.log"))
}

/// The segment numbers in `dir`, ascending.
pub fn segments(dir: &Path) -> Result<Vec<u64>> {
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

/// What replay could not read in one segment.
#[derive(Debug, Clone, PartialEq)]
pub struct WalDamage {
    pub seq: u64,
    pub path: PathBuf,
    /// `[start, end)` of the unreadable bytes (0..0: the segment is missing).
    pub start: u64,
    pub end: u64,
    /// Records lost, at least (0: only the segment header was damaged).
    pub records: usize,
    /// Tables and time ranges the damaged records seem to have held
    /// (their payloads decoded although the checksum failed): advice only.
    pub hints: Vec<Hint>,
}

/// A table uid and the first and last timestamp of a damaged record.
pub type Hint = (u64, i64, i64);

/// The log, its records (each with the position after it), and what
/// could not be read.
pub type Opened = (Wal, Vec<(Pos, Record)>, Vec<WalDamage>);

impl WalDamage {
    pub fn is_missing(&self) -> bool {
        self.start == 0 && self.end == 0
    }
}

/// The records of one segment's bytes, and its damage.
struct Scan {
    records: Vec<(u64, Record)>,
    /// Where the intact part ends: appends may go here.
    good_end: u64,
    /// A torn tail `[good_end, len)`, dropped quietly (last segment only).
    torn: bool,
    /// `(start, end, records lost, hints)` per damaged region.
    damage: Vec<(u64, u64, usize, Vec<Hint>)>,
}

enum Try {
    Record(Record, usize),
    /// The bytes end inside this record (a torn write if nothing follows).
    Incomplete,
    Bad,
}

/// One record at `i` of a segment of this format.
fn try_record(b: &[u8], i: usize) -> Try {
    if b.len() - i < HEADER {
        return if RECORD_MAGIC.starts_with(&b[i..]) || b[i..].iter().all(|x| *x == 0) {
            Try::Incomplete
        } else {
            Try::Bad
        };
    }
    if b[i..i + 4] != RECORD_MAGIC {
        return Try::Bad;
    }
    let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().expect("4"));
    if len > MAX_RECORD {
        return Try::Bad;
    }
    let end = i + HEADER + len as usize;
    if end > b.len() {
        return Try::Incomplete;
    }
    let crc = u32::from_le_bytes(b[i + 8..i + 12].try_into().expect("4"));
    if record_crc(&b[i + 4..i + 8], &b[i + HEADER..end]) != crc {
        return Try::Bad;
    }
    match decode(&b[i + HEADER..end]) {
        Some(rec) => Try::Record(rec, end),
        None => Try::Bad,
    }
}

/// CRC-32 of a record's length bytes and payload.
fn record_crc(len: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(payload);
    h.finalize()
}

/// The next record magic at or after `from`.
fn find_magic(b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .windows(4)
        .position(|w| w == RECORD_MAGIC)
        .map(|p| from + p)
}

/// Whether an intact record starts anywhere at or after `from`.
fn intact_after(b: &[u8], from: usize) -> bool {
    let mut i = from;
    while let Some(m) = find_magic(b, i) {
        if matches!(try_record(b, m), Try::Record(..)) {
            return true;
        }
        i = m + 1;
    }
    false
}

/// What a damaged region seems to have held: the headers in it, and the
/// table and time range of each payload that still decodes.
fn damaged_contents(b: &[u8], start: usize, end: usize) -> (usize, Vec<Hint>) {
    let mut headers = 0;
    let mut hints = Vec::new();
    let mut i = start;
    while let Some(at) = find_magic(&b[..end], i) {
        headers += 1;
        if end - at >= HEADER {
            let len = u32::from_le_bytes(b[at + 4..at + 8].try_into().expect("4")) as usize;
            if let Some(Record::Insert(r)) = b.get(at + HEADER..at + HEADER + len).and_then(decode)
            {
                let lo = r.ts.iter().min().copied().unwrap_or(0);
                let hi = r.ts.iter().max().copied().unwrap_or(0);
                hints.push((r.uid, lo, hi));
            }
        }
        i = at + 1;
    }
    (headers, hints)
}

/// Scans a segment of this format (after its magic) with resynchronisation.
fn scan(b: &[u8]) -> Scan {
    let mut out = Scan {
        records: Vec::new(),
        good_end: SEGMENT_MAGIC.len() as u64,
        torn: false,
        damage: Vec::new(),
    };
    let mut i = SEGMENT_MAGIC.len();
    let mut bad: Option<usize> = None;
    if !b.starts_with(&SEGMENT_MAGIC) {
        // a damaged segment header: the records after it still count
        bad = Some(0);
        i = find_magic(b, 0).unwrap_or(b.len());
    }
    while i < b.len() {
        match try_record(b, i) {
            Try::Record(rec, end) => {
                if let Some(s) = bad.take() {
                    let (n, hints) = damaged_contents(b, s, i);
                    out.damage
                        .push((s as u64, i as u64, lost_records(s, n), hints));
                }
                out.records.push((end as u64, rec));
                out.good_end = end as u64;
                i = end;
            }
            other => {
                // a write cut off by a crash is the end of the log: a
                // record cut short, or zeros, with nothing intact after it
                let cut = matches!(other, Try::Incomplete) || b[i..].iter().all(|x| *x == 0);
                if bad.is_none() && cut && !intact_after(b, i + 1) {
                    out.torn = true;
                    return out;
                }
                bad.get_or_insert(i);
                i = find_magic(b, i + 1).unwrap_or(b.len());
            }
        }
    }
    if let Some(s) = bad {
        let (n, hints) = damaged_contents(b, s, b.len());
        out.damage
            .push((s as u64, b.len() as u64, lost_records(s, n), hints));
    }
    out
}

/// Records lost in a region starting at `start` with `headers` record
/// headers still readable in it: a region past the segment header starts
/// where a record was due, so at least one (a zeroed page hides the
/// headers of the records inside it: the count is a lower bound).
fn lost_records(start: usize, headers: usize) -> usize {
    if start == 0 { headers } else { headers.max(1) }
}

/// A segment of an earlier version (records without a magic): its
/// complete records up to the first bad one.
fn scan_legacy(b: &[u8]) -> Scan {
    let mut out = Scan {
        records: Vec::new(),
        good_end: 0,
        torn: false,
        damage: Vec::new(),
    };
    let mut i = 0usize;
    while b.len() - i >= 8 {
        let len = u32::from_le_bytes(b[i..i + 4].try_into().expect("4"));
        let crc = u32::from_le_bytes(b[i + 4..i + 8].try_into().expect("4"));
        let end = i + 8 + len as usize;
        if len > MAX_RECORD || end > b.len() {
            break;
        }
        let payload = &b[i + 8..end];
        let Some(rec) = (crc32fast::hash(payload) == crc)
            .then(|| decode(payload))
            .flatten()
        else {
            break;
        };
        out.records.push((end as u64, rec));
        i = end;
        out.good_end = i as u64;
    }
    if i < b.len() {
        if b.len() - i < 8
            || i + 8 + u32::from_le_bytes(b[i..i + 4].try_into().expect("4")) as usize > b.len()
        {
            out.torn = true;
        } else {
            out.damage.push((i as u64, b.len() as u64, 1, Vec::new()));
        }
    }
    out
}

/// A segment read whole: its scan, its damage, and whether it is of an
/// earlier version's format.
struct Segment {
    path: PathBuf,
    len: u64,
    legacy: bool,
    scanned: Scan,
    damage: Vec<WalDamage>,
}

/// Reads and scans segment `seq`; `last` says whether it is the newest
/// (only there is a torn tail a crash's doing rather than damage).
fn read_segment(dir: &Path, seq: u64, last: bool) -> Result<Segment> {
    let path = segment_path(dir, seq);
    let bytes =
        std::fs::read(&path).map_err(|e| DbError::io(&format!("WAL {}", path.display()), e))?;
    // an earlier version's segment has no magic and no framed record
    let legacy = !bytes.starts_with(&SEGMENT_MAGIC) && !intact_after(&bytes, 0);
    let mut scanned = if legacy {
        scan_legacy(&bytes)
    } else {
        scan(&bytes)
    };
    let mut damage: Vec<WalDamage> = std::mem::take(&mut scanned.damage)
        .into_iter()
        .map(|(start, end, records, hints)| WalDamage {
            seq,
            path: path.clone(),
            start,
            end,
            records,
            hints,
        })
        .collect();
    if scanned.torn && !last {
        // only the newest segment is written when a crash cuts a write
        damage.push(WalDamage {
            seq,
            path: path.clone(),
            start: scanned.good_end,
            end: bytes.len() as u64,
            records: 1,
            hints: Vec::new(),
        });
    }
    Ok(Segment {
        path,
        len: bytes.len() as u64,
        legacy,
        scanned,
        damage,
    })
}

/// Reads segment `seq`: its records (with their positions) and damage.
/// Only a torn tail of the last segment is cut off, and only then is the
/// file returned for appending.
fn replay(
    dir: &Path,
    seq: u64,
    last: bool,
    records: &mut Vec<(Pos, Record)>,
    damage: &mut Vec<WalDamage>,
) -> Result<Option<(File, u64)>> {
    let seg = read_segment(dir, seq, last)?;
    let io = |e: std::io::Error| DbError::io(&format!("WAL {}", seg.path.display()), e);
    records.extend(
        seg.scanned
            .records
            .into_iter()
            .map(|(off, rec)| (Pos { seg: seq, off }, rec)),
    );
    let damaged = !seg.damage.is_empty();
    damage.extend(seg.damage);
    if !last || damaged || seg.legacy {
        return Ok(None);
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&seg.path)
        .map_err(io)?;
    if seg.scanned.torn {
        tracing::warn!(
            "WAL {}: {} bytes of a record cut off by a crash dropped (the write was never acknowledged)",
            seg.path.display(),
            seg.len - seg.scanned.good_end
        );
        file.set_len(seg.scanned.good_end).map_err(io)?;
    }
    file.seek(SeekFrom::End(0)).map_err(io)?;
    Ok(Some((file, seg.scanned.good_end)))
}

/// The segments that should be there but are not: every one from the
/// first not covered by data files (`covered + 1`) to the newest of `live`
/// (the segments after `covered`, ascending).
pub fn missing_segments(live: &[u64], covered: u64) -> Vec<u64> {
    let newest = live.last().copied().unwrap_or(covered + 1);
    (covered + 1..=newest)
        .filter(|s| live.binary_search(s).is_err())
        .collect()
}

/// Checks segment `seq` without changing it: its intact records and
/// what could not be read (a torn tail of the newest segment is not
/// damage).
pub fn check_segment(dir: &Path, seq: u64, last: bool) -> Result<(usize, Vec<WalDamage>)> {
    let seg = read_segment(dir, seq, last)?;
    Ok((seg.scanned.records.len(), seg.damage))
}

/// Creates segment `seq` with its magic.
pub fn create_segment(dir: &Path, seq: u64) -> Result<File> {
    let path = segment_path(dir, seq);
    let io = |e: std::io::Error| DbError::io(&format!("WAL {}", path.display()), e);
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(io)?;
    file.write_all(&SEGMENT_MAGIC).map_err(io)?;
    Ok(file)
}

impl Wal {
    /// Opens (creating) the log in `dir` and returns the records of the
    /// segments after `covered` (those are already in data files and are
    /// deleted), and what could not be read: damaged regions and missing
    /// segments. When the newest segment is damaged or of an earlier
    /// format, appends go to a new segment; the damaged ones stay as they
    /// are until a flush covers them.
    pub fn open(dir: &Path, covered: u64) -> Result<Opened> {
        let io = |e: std::io::Error| DbError::io(&format!("WAL directory {}", dir.display()), e);
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut records = Vec::new();
        let mut damage = Vec::new();
        let mut live = Vec::new();
        for seq in segments(dir)? {
            if seq <= covered {
                std::fs::remove_file(segment_path(dir, seq)).map_err(io)?;
            } else {
                live.push(seq);
            }
        }
        let newest = live.last().copied().unwrap_or(covered + 1);
        for seq in missing_segments(&live, covered) {
            damage.push(WalDamage {
                seq,
                path: segment_path(dir, seq),
                start: 0,
                end: 0,
                records: 0,
                hints: Vec::new(),
            });
        }
        let mut file = None;
        for (k, seq) in live.iter().enumerate() {
            file = replay(dir, *seq, k + 1 == live.len(), &mut records, &mut damage)?;
        }
        let (seq, file, len) = match file {
            Some((f, len)) => (newest, f, len),
            None => {
                let seq = if live.is_empty() { newest } else { newest + 1 };
                (seq, create_segment(dir, seq)?, SEGMENT_MAGIC.len() as u64)
            }
        };
        let syncer = Arc::new(Syncer {
            written: AtomicU64::new(0),
            seg: AtomicU64::new(seq),
            seg_len: AtomicU64::new(len),
            state: Mutex::new(SyncState {
                file: file.try_clone().map_err(io)?,
                closed: Vec::new(),
                dir_changed: true,
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
            damage,
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
            self.buf.extend_from_slice(&[0u8; HEADER]);
            encode(rec, &mut self.buf);
            let len = ((self.buf.len() - start - HEADER) as u32).to_le_bytes();
            let crc = record_crc(&len, &self.buf[start + HEADER..]);
            self.buf[start..start + 4].copy_from_slice(&RECORD_MAGIC);
            self.buf[start + 4..start + 8].copy_from_slice(&len);
            self.buf[start + 8..start + HEADER].copy_from_slice(&crc.to_le_bytes());
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
        let file = create_segment(&self.dir, next)?;
        let mut g = self.syncer.state.lock().unwrap_or_else(|e| e.into_inner());
        let old = std::mem::replace(&mut g.file, file.try_clone().map_err(io)?);
        g.closed.push(old);
        g.dir_changed = true;
        self.syncer.seg.store(next, Ordering::SeqCst);
        self.syncer
            .seg_len
            .store(SEGMENT_MAGIC.len() as u64, Ordering::SeqCst);
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

    fn rec(uid: u64) -> InsertRecord {
        InsertRecord {
            uid,
            col_ids: vec![1, 2, 3],
            ts: vec![1000 + uid as i64, 2000 + uid as i64],
            vals: vec![
                Value::Double(10.3),
                Value::Int(219),
                Value::Null,
                Value::Bool(true),
                Value::Str("北京".into()),
                Value::Int(-1),
            ],
        }
    }

    fn uids(recs: &[(Pos, Record)]) -> Vec<u64> {
        recs.iter()
            .map(|(_, r)| match r {
                Record::Insert(i) => i.uid,
                other => panic!("{other:?}"),
            })
            .collect()
    }

    /// A log of records 1..=n in segment 1; the byte offsets of each.
    fn log_of(dir: &Path, n: u64) -> Vec<(u64, u64)> {
        let _ = std::fs::remove_dir_all(dir);
        let (mut w, recs, damage) = Wal::open(dir, 0).unwrap();
        assert!(recs.is_empty() && damage.iter().all(|d| d.is_missing()));
        let mut spans = Vec::new();
        let mut at = SEGMENT_MAGIC.len() as u64;
        for uid in 1..=n {
            w.append(&[rec(uid)]).unwrap();
            let end = std::fs::metadata(segment_path(dir, 1)).unwrap().len();
            spans.push((at, end));
            at = end;
        }
        spans
    }

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("tsdb-wal-{name}-{}", std::process::id()))
    }

    #[test]
    fn records_survive_and_a_torn_tail_is_dropped() {
        let dir = temp("torn");
        let spans = log_of(&dir, 2);
        let path = segment_path(&dir, 1);
        {
            let (w, _, _) = Wal::open(&dir, 0).unwrap();
            let end = std::fs::metadata(&path).unwrap().len();
            w.syncer().sync_to(end).unwrap();
        }
        // a torn write: the first half of a third record
        let mut bytes = std::fs::read(&path).unwrap();
        let full = bytes.len();
        let (a, b) = spans[0];
        let half = bytes[a as usize..(a + (b - a) / 2) as usize].to_vec();
        bytes.extend_from_slice(&half);
        std::fs::write(&path, &bytes).unwrap();
        let (mut w, recs, damage) = Wal::open(&dir, 0).unwrap();
        assert_eq!(uids(&recs), [1, 2]);
        assert!(damage.is_empty(), "{damage:?}");
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, full);
        w.append(&[rec(3)]).unwrap();
        drop(w);
        let (_, recs, _) = Wal::open(&dir, 0).unwrap();
        assert_eq!(uids(&recs), [1, 2, 3]);
        // a tail of zeros (a file extended, its data never written) too
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[0u8; 4096]);
        std::fs::write(&path, &bytes).unwrap();
        let (_, recs, damage) = Wal::open(&dir, 0).unwrap();
        assert_eq!((uids(&recs), damage.len()), (vec![1, 2, 3], 0));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn damage_costs_only_the_damaged_records_and_nothing_is_cut() {
        let dir = temp("flip");
        let path = segment_path(&dir, 1);
        for victim in 0..5usize {
            let spans = log_of(&dir, 5);
            let mut bytes = std::fs::read(&path).unwrap();
            let (a, b) = spans[victim];
            // eight flipped bytes in the middle of the record
            for k in 0..8 {
                bytes[((a + b) / 2) as usize + k] ^= 0xA5;
            }
            std::fs::write(&path, &bytes).unwrap();
            let (_, recs, damage) = Wal::open(&dir, 0).unwrap();
            let want: Vec<u64> = (1..=5).filter(|u| *u != victim as u64 + 1).collect();
            assert_eq!(uids(&recs), want, "victim {victim}");
            assert_eq!(damage.len(), 1, "{damage:?}");
            assert_eq!((damage[0].start, damage[0].end), (a, b), "victim {victim}");
            assert_eq!(damage[0].records, 1);
            // never truncated, never rewritten
            assert_eq!(std::fs::read(&path).unwrap(), bytes);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_zeroed_page_a_lost_header_and_a_missing_segment_are_reported() {
        let dir = temp("zero");
        let path = segment_path(&dir, 1);
        let spans = log_of(&dir, 200);
        let mut bytes = std::fs::read(&path).unwrap();
        // a zeroed 4 KB page in the middle of the segment
        let mid = bytes.len() / 2;
        bytes[mid..mid + 4096].fill(0);
        std::fs::write(&path, &bytes).unwrap();
        let (_, recs, damage) = Wal::open(&dir, 0).unwrap();
        let lost: Vec<u64> = spans
            .iter()
            .enumerate()
            .filter(|(_, (a, b))| (*b as usize) > mid && (*a as usize) < mid + 4096)
            .map(|(i, _)| i as u64 + 1)
            .collect();
        let want: Vec<u64> = (1..=200).filter(|u| !lost.contains(u)).collect();
        assert_eq!(uids(&recs), want);
        assert_eq!(damage.len(), 1);
        let first = spans[lost[0] as usize - 1].0;
        let last = spans[*lost.last().unwrap() as usize - 1].1;
        assert_eq!((damage[0].start, damage[0].end), (first, last));
        assert!((1..=lost.len()).contains(&damage[0].records), "{damage:?}");

        // the segment header itself
        let spans = log_of(&dir, 3);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..8].copy_from_slice(b"garbage!");
        std::fs::write(&path, &bytes).unwrap();
        let (_, recs, damage) = Wal::open(&dir, 0).unwrap();
        assert_eq!(uids(&recs), [1, 2, 3]);
        assert_eq!(
            (damage[0].start, damage[0].end, damage[0].records),
            (0, spans[0].0, 0)
        );

        // segment 2 gone between 1 and 3
        let _ = std::fs::remove_dir_all(&dir);
        {
            let (mut w, _, _) = Wal::open(&dir, 0).unwrap();
            w.append(&[rec(1)]).unwrap();
            w.rotate().unwrap();
            w.append(&[rec(2)]).unwrap();
            w.rotate().unwrap();
            w.append(&[rec(3)]).unwrap();
        }
        std::fs::remove_file(segment_path(&dir, 2)).unwrap();
        let (_, recs, damage) = Wal::open(&dir, 0).unwrap();
        assert_eq!(uids(&recs), [1, 3]);
        assert_eq!(damage.len(), 1);
        assert!(damage[0].is_missing() && damage[0].seq == 2, "{damage:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn segments_of_the_earlier_format_are_read() {
        let dir = temp("legacy");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut bytes = Vec::new();
        for uid in [1, 2] {
            let mut payload = Vec::new();
            encode(&rec(uid), &mut payload);
            bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
            bytes.extend_from_slice(&payload);
        }
        std::fs::write(segment_path(&dir, 1), &bytes).unwrap();
        let (mut w, recs, damage) = Wal::open(&dir, 0).unwrap();
        assert_eq!((uids(&recs), damage.len()), (vec![1, 2], 0));
        // appends go to a new segment of this format
        w.append(&[rec(3)]).unwrap();
        drop(w);
        assert!(
            std::fs::read(segment_path(&dir, 2))
                .unwrap()
                .starts_with(&SEGMENT_MAGIC)
        );
        let (_, recs, _) = Wal::open(&dir, 0).unwrap();
        assert_eq!(uids(&recs), [1, 2, 3]);
        let _ = std::fs::remove_dir_all(&dir);
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
        let (mut w, _, _) = Wal::open(&dir, 0).unwrap();
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
        let (_, recs, _) = Wal::open(&dir, 0).unwrap();
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
