//! Immutable columnar blocks and the data files that hold them.
//!
//! A block is up to `maxrows` rows of one table inside one `DAYS`
//! partition, in timestamp order, one compressed chunk per column. A data
//! file holds the blocks of one database and partition written by one
//! flush:
//!
//! ```text
//! "TSDBLK01" | chunks ... | index | u64 index offset | u64 index length | u32 index CRC | "TSDBEND1"
//! ```
//!
//! The index lists every block (table uid, rows, time range) with, per
//! column, its id, kind, chunk location and CRC, and its [`Stats`]. Files
//! are written once, fsynced, then named in the manifest; they are never
//! modified.
//!
//! May import: `error`, its parent's `codec`, `column`.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::codec::{Reader, put_i64, put_u16, put_u32, put_u64};
use super::column::{ColData, Kind, Stats};
use crate::error::{DbError, Result, code};

const MAGIC: &[u8; 8] = b"TSDBLK01";
const END: &[u8; 8] = b"TSDBEND1";
const FOOTER: usize = 8 + 8 + 4 + 8;

/// Where a chunk is in its file.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Chunk {
    pub off: u64,
    pub len: u32,
    pub crc: u32,
}

/// One column of a block in the index.
#[derive(Debug, Clone, PartialEq)]
pub struct ColMeta {
    pub id: u16,
    pub kind: Kind,
    pub stats: Stats,
}

/// What the index says about a block.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockMeta {
    pub uid: u64,
    pub rows: u32,
    pub ts_min: i64,
    pub ts_max: i64,
    pub cols: Vec<ColMeta>,
}

/// A block's decoded columns: the timestamps and each stored column.
#[derive(Debug)]
pub struct Decoded {
    pub ts: Arc<ColData>,
    pub cols: Vec<Arc<ColData>>,
}

/// Where a block's data is: still in memory (frozen, its file not yet
/// written) or in a data file.
#[derive(Debug)]
pub enum Src {
    Mem(Arc<Decoded>),
    File {
        file: Arc<DataFile>,
        /// The block's position in the file's index.
        index: u32,
        ts: Chunk,
        cols: Vec<Chunk>,
    },
}

#[derive(Debug)]
pub struct Block {
    /// Unique in the process: the block cache's key.
    pub key: u64,
    /// The flush that wrote it: a larger one is newer and shadows an older
    /// block's row with the same timestamp.
    pub seq: u64,
    pub meta: BlockMeta,
    pub src: RwLock<Src>,
}

impl Block {
    /// The position of column `id` among the block's columns.
    pub fn col_index(&self, id: u16) -> Option<usize> {
        self.meta.cols.iter().position(|c| c.id == id)
    }
}

/// An open data file.
#[derive(Debug)]
pub struct DataFile {
    pub path: PathBuf,
    file: File,
}

impl DataFile {
    /// Reads and checks one chunk, then decodes it.
    pub fn read(&self, c: Chunk, rows: usize) -> Result<ColData> {
        let mut buf = vec![0u8; c.len as usize];
        self.read_raw(c, &mut buf)?;
        ColData::decode(&buf, rows).ok_or_else(|| self.damaged("a chunk does not decode"))
    }

    /// Reads one chunk's bytes into `buf` (its length) and checks them.
    fn read_raw(&self, c: Chunk, buf: &mut [u8]) -> Result<()> {
        self.file
            .read_exact_at(buf, c.off)
            .map_err(|e| DbError::io(&format!("data file {}", self.path.display()), e))?;
        if crc32fast::hash(buf) != c.crc {
            return Err(self.damaged("a chunk's checksum does not match"));
        }
        Ok(())
    }

    fn damaged(&self, what: &str) -> DbError {
        DbError::new(
            code::FILE_CORRUPTED,
            format!("data file {} is damaged: {what}", self.path.display()),
        )
    }
}

/// Writes `blocks` (all decoded) to a new file at `path`, fsynced, and
/// returns each block's chunk locations in the open file.
pub fn write_file(path: &Path, blocks: &[Arc<Block>]) -> Result<Vec<Src>> {
    let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
    out.extend_from_slice(MAGIC);
    let mut locs: Vec<(Chunk, Vec<Chunk>)> = Vec::with_capacity(blocks.len());
    let chunk = |out: &mut Vec<u8>, c: &ColData| {
        let off = out.len();
        c.encode(out);
        Chunk {
            off: off as u64,
            len: (out.len() - off) as u32,
            crc: crc32fast::hash(&out[off..]),
        }
    };
    for b in blocks {
        let Src::Mem(d) = &*b.src.read().unwrap_or_else(|e| e.into_inner()) else {
            unreachable!("a block is written once, from memory");
        };
        let ts = chunk(&mut out, &d.ts);
        let cols = d.cols.iter().map(|c| chunk(&mut out, c)).collect();
        locs.push((ts, cols));
    }
    let metas: Vec<&BlockMeta> = blocks.iter().map(|b| &b.meta).collect();
    finish_file(path, out, &metas, locs)
}

/// Writes a new file at `path` holding `blocks` (each with its chunks in
/// `from`, the file they are in now) as they are, without decoding them:
/// a compaction of `from` that leaves its dead blocks behind. Each chunk's
/// checksum is checked on the way.
pub fn copy_file(
    path: &Path,
    from: &DataFile,
    blocks: &[(&BlockMeta, Chunk, &[Chunk])],
) -> Result<Vec<Src>> {
    let mut out: Vec<u8> = Vec::with_capacity(1 << 20);
    out.extend_from_slice(MAGIC);
    let mut locs: Vec<(Chunk, Vec<Chunk>)> = Vec::with_capacity(blocks.len());
    let copy = |out: &mut Vec<u8>, c: Chunk| -> Result<Chunk> {
        let off = out.len();
        out.resize(off + c.len as usize, 0);
        from.read_raw(c, &mut out[off..])?;
        Ok(Chunk {
            off: off as u64,
            ..c
        })
    };
    for (_, ts, cols) in blocks {
        let ts = copy(&mut out, *ts)?;
        let cols = cols
            .iter()
            .map(|c| copy(&mut out, *c))
            .collect::<Result<_>>()?;
        locs.push((ts, cols));
    }
    let metas: Vec<&BlockMeta> = blocks.iter().map(|b| b.0).collect();
    finish_file(path, out, &metas, locs)
}

/// Appends the index and footer to `out` (the magic and chunks), writes it
/// to `path`, fsynced, and returns each block's place in the open file.
fn finish_file(
    path: &Path,
    mut out: Vec<u8>,
    metas: &[&BlockMeta],
    locs: Vec<(Chunk, Vec<Chunk>)>,
) -> Result<Vec<Src>> {
    let io = |e: std::io::Error| DbError::io(&format!("data file {}", path.display()), e);
    let index_off = out.len();
    put_u32(&mut out, metas.len() as u32);
    for (m, (ts, cols)) in metas.iter().zip(&locs) {
        put_u64(&mut out, m.uid);
        put_u32(&mut out, m.rows);
        put_i64(&mut out, m.ts_min);
        put_i64(&mut out, m.ts_max);
        put_chunk(&mut out, ts);
        put_u16(&mut out, m.cols.len() as u16);
        for (c, loc) in m.cols.iter().zip(cols) {
            put_u16(&mut out, c.id);
            out.push(c.kind as u8);
            put_chunk(&mut out, loc);
            c.stats.encode(&mut out);
        }
    }
    let index_len = out.len() - index_off;
    let crc = crc32fast::hash(&out[index_off..]);
    put_u64(&mut out, index_off as u64);
    put_u64(&mut out, index_len as u64);
    put_u32(&mut out, crc);
    out.extend_from_slice(END);
    let mut f = File::create(path).map_err(io)?;
    f.write_all(&out).map_err(io)?;
    f.sync_all().map_err(io)?;
    let file = Arc::new(DataFile {
        path: path.to_owned(),
        file: File::open(path).map_err(io)?,
    });
    let srcs = locs
        .into_iter()
        .enumerate()
        .map(|(i, (ts, cols))| Src::File {
            file: file.clone(),
            index: i as u32,
            ts,
            cols,
        })
        .collect();
    Ok(srcs)
}

fn put_chunk(out: &mut Vec<u8>, c: &Chunk) {
    put_u64(out, c.off);
    put_u32(out, c.len);
    put_u32(out, c.crc);
}

fn chunk(r: &mut Reader<'_>) -> Option<Chunk> {
    Some(Chunk {
        off: r.u64()?,
        len: r.u32()?,
        crc: r.u32()?,
    })
}

/// Opens a data file and reads its index: the blocks' metadata and chunk
/// locations.
pub fn open_file(path: &Path) -> Result<Vec<(BlockMeta, Src)>> {
    let io = |e: std::io::Error| DbError::io(&format!("data file {}", path.display()), e);
    let file = File::open(path).map_err(io)?;
    let df = Arc::new(DataFile {
        path: path.to_owned(),
        file,
    });
    let len = df.file.metadata().map_err(io)?.len();
    if len < (MAGIC.len() + FOOTER) as u64 {
        return Err(df.damaged("too short"));
    }
    let mut foot = [0u8; FOOTER];
    df.file
        .read_exact_at(&mut foot, len - FOOTER as u64)
        .map_err(io)?;
    let mut r = Reader::new(&foot);
    let (off, ilen, crc) = (
        r.u64().expect("8"),
        r.u64().expect("8"),
        r.u32().expect("4"),
    );
    if r.take(8) != Some(END.as_slice()) || off.saturating_add(ilen) > len - FOOTER as u64 {
        return Err(df.damaged("bad footer"));
    }
    let mut index = vec![0u8; ilen as usize];
    df.file.read_exact_at(&mut index, off).map_err(io)?;
    if crc32fast::hash(&index) != crc {
        return Err(df.damaged("the index checksum does not match"));
    }
    let parse = |index: &[u8]| -> Option<Vec<(BlockMeta, Src)>> {
        let mut r = Reader::new(index);
        let n = r.u32()? as usize;
        let mut out = Vec::with_capacity(n.min(1 << 16));
        for index in 0..n as u32 {
            let uid = r.u64()?;
            let rows = r.u32()?;
            let ts_min = r.i64()?;
            let ts_max = r.i64()?;
            let ts = chunk(&mut r)?;
            let ncols = r.u16()? as usize;
            let mut metas = Vec::with_capacity(ncols);
            let mut locs = Vec::with_capacity(ncols);
            for _ in 0..ncols {
                let id = r.u16()?;
                let kind = match r.u8()? {
                    0 => Kind::Int,
                    1 => Kind::Bool,
                    2 => Kind::Double,
                    3 => Kind::Str,
                    _ => return None,
                };
                locs.push(chunk(&mut r)?);
                metas.push(ColMeta {
                    id,
                    kind,
                    stats: Stats::decode(&mut r)?,
                });
            }
            out.push((
                BlockMeta {
                    uid,
                    rows,
                    ts_min,
                    ts_max,
                    cols: metas,
                },
                Src::File {
                    file: df.clone(),
                    index,
                    ts,
                    cols: locs,
                },
            ));
        }
        r.done().then_some(out)
    };
    let blocks = parse(&index).ok_or_else(|| df.damaged("the index does not parse"))?;
    Ok(blocks)
}
