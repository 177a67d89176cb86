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

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::{DbError, Result};
use crate::types::Value;

/// A larger length is corruption, not a record.
const MAX_RECORD: u32 = 1 << 30;

#[derive(Debug)]
pub struct Wal {
    file: File,
    path: PathBuf,
    buf: Vec<u8>,
    syncer: Arc<Syncer>,
}

/// Group commit: fsyncs happen outside the engine's lock, and one fsync
/// covers every append written before it, so concurrent writers that need
/// durability share one disk flush instead of queueing for one each.
#[derive(Debug)]
pub struct Syncer {
    file: File,
    /// Bytes appended so far (the log's length).
    written: AtomicU64,
    /// Bytes known to be on disk, and when that was last advanced.
    synced: Mutex<(u64, Instant)>,
    /// fsyncs done (for tests and logs).
    pub syncs: AtomicU64,
}

impl Syncer {
    /// Returns once everything up to byte `offset` is on disk.
    pub fn sync_to(&self, offset: u64) -> Result<()> {
        let mut g = self.synced.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 >= offset {
            return Ok(());
        }
        let target = self.written.load(Ordering::SeqCst);
        self.file
            .sync_data()
            .map_err(|e| DbError::io("WAL fsync", e))?;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *g = (target, Instant::now());
        Ok(())
    }

    /// Milliseconds since the last fsync.
    pub fn since_sync_ms(&self) -> u128 {
        self.synced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .1
            .elapsed()
            .as_millis()
    }
}

/// Rows of one table from one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct InsertRecord {
    pub uid: u64,
    /// Ids of the columns supplied (not the timestamp).
    pub col_ids: Vec<u16>,
    /// Timestamp and one value per supplied column.
    pub rows: Vec<(i64, Vec<Value>)>,
}

impl Wal {
    /// Opens (creating) the log and returns the records in it.
    pub fn open(path: &Path) -> Result<(Wal, Vec<InsertRecord>)> {
        let io = |e: std::io::Error| DbError::io(&format!("WAL {}", path.display()), e);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let mut records = Vec::new();
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
                    Some(rec) => records.push(rec),
                    None => break,
                }
                good += 8 + u64::from(len);
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
        let syncer = Arc::new(Syncer {
            file: file.try_clone().map_err(io)?,
            written: AtomicU64::new(good),
            synced: Mutex::new((good, Instant::now())),
            syncs: AtomicU64::new(0),
        });
        Ok((
            Wal {
                file,
                path: path.to_owned(),
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
        let io = |e: std::io::Error| DbError::io(&format!("WAL {}", self.path.display()), e);
        self.file.write_all(&self.buf).map_err(io)?;
        let end = self
            .syncer
            .written
            .fetch_add(self.buf.len() as u64, Ordering::SeqCst)
            + self.buf.len() as u64;
        Ok(end)
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode(rec: &InsertRecord, out: &mut Vec<u8>) {
    out.push(1); // kind: insert
    out.extend_from_slice(&rec.uid.to_le_bytes());
    out.extend_from_slice(&(rec.col_ids.len() as u16).to_le_bytes());
    for id in &rec.col_ids {
        out.extend_from_slice(&id.to_le_bytes());
    }
    out.extend_from_slice(&(rec.rows.len() as u32).to_le_bytes());
    for (ts, vals) in &rec.rows {
        out.extend_from_slice(&ts.to_le_bytes());
        for v in vals {
            match v {
                Value::Null => out.push(0),
                Value::Bool(b) => {
                    out.push(1);
                    out.push(u8::from(*b));
                }
                Value::Int(i) => {
                    out.push(2);
                    out.extend_from_slice(&i.to_le_bytes());
                }
                Value::Double(d) => {
                    out.push(3);
                    out.extend_from_slice(&d.to_le_bytes());
                }
                Value::Str(s) => {
                    out.push(4);
                    put_str(out, s);
                }
            }
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.i..self.i + n)?;
        self.i += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2)
            .map(|s| u16::from_le_bytes(s.try_into().expect("2")))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|s| u32::from_le_bytes(s.try_into().expect("4")))
    }
    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|s| u64::from_le_bytes(s.try_into().expect("8")))
    }
}

fn decode(b: &[u8]) -> Option<InsertRecord> {
    let mut r = Reader { b, i: 0 };
    if r.u8()? != 1 {
        return None;
    }
    let uid = r.u64()?;
    let ncols = r.u16()? as usize;
    let mut col_ids = Vec::with_capacity(ncols);
    for _ in 0..ncols {
        col_ids.push(r.u16()?);
    }
    let nrows = r.u32()? as usize;
    let mut rows = Vec::with_capacity(nrows.min(1 << 20));
    for _ in 0..nrows {
        let ts = r.u64()? as i64;
        let mut vals = Vec::with_capacity(ncols);
        for _ in 0..ncols {
            vals.push(match r.u8()? {
                0 => Value::Null,
                1 => Value::Bool(r.u8()? != 0),
                2 => Value::Int(r.u64()? as i64),
                3 => Value::Double(f64::from_bits(r.u64()?)),
                4 => {
                    let n = r.u32()? as usize;
                    Value::Str(String::from_utf8(r.take(n)?.to_vec()).ok()?)
                }
                _ => return None,
            });
        }
        rows.push((ts, vals));
    }
    (r.i == b.len()).then_some(InsertRecord { uid, col_ids, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_and_a_torn_tail_is_dropped() {
        let dir = std::env::temp_dir().join(format!("tsdb-wal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wal.log");
        let _ = std::fs::remove_file(&path);
        let rec = InsertRecord {
            uid: 7,
            col_ids: vec![1, 2, 3],
            rows: vec![
                (
                    1000,
                    vec![Value::Double(10.3), Value::Int(219), Value::Null],
                ),
                (
                    2000,
                    vec![Value::Bool(true), Value::Str("北京".into()), Value::Int(-1)],
                ),
            ],
        };
        {
            let (mut w, recs) = Wal::open(&path).unwrap();
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
        let (mut w, recs) = Wal::open(&path).unwrap();
        assert_eq!(recs, vec![rec.clone(), rec.clone()]);
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, full);
        w.append(std::slice::from_ref(&rec)).unwrap();
        drop(w);
        let (_, recs) = Wal::open(&path).unwrap();
        assert_eq!(recs.len(), 3);
        // a flipped bit ends the log at the damaged record
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 3] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        let (_, recs) = Wal::open(&path).unwrap();
        assert_eq!(recs.len(), 2);
    }
}
