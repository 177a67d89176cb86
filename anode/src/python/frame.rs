//! The frames between the anode and its Python workers.
//!
//! A frame is a JSON header and a few raw buffers, so arrays cross the
//! process boundary as little-endian f64/i64 bytes instead of JSON numbers:
//!
//! ```text
//! "ANF1" | u32 header length | u32 buffer count | header | (u64 length | bytes) per buffer
//! ```
//!
//! The magic makes stray bytes on the pipe (a plugin writing where it
//! should not) a protocol error at once instead of a length read from
//! text; the supervisor then kills and replaces the worker.
//!
//! All integers are little-endian. Both blocking ([`read_frame`],
//! [`write_frame`], used by the worker) and async ([`read_frame_async`],
//! [`write_frame_async`], used by the supervisor) forms are here, so the two
//! ends cannot drift apart.
//!
//! May import: only `python` itself.

use std::io::{self, Read, Write};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest header: a catalogue of many plugins with their parameters.
pub const MAX_HEADER: usize = 16 << 20;
/// More buffers than any message uses (a forecast returns three).
pub const MAX_BUFFERS: usize = 16;
/// Largest buffer: far above 40,000 rows of f64, far below memory.
pub const MAX_BUFFER: u64 = 1 << 30;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    pub header: Vec<u8>,
    pub buffers: Vec<Vec<u8>>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

fn check_prefix(header_len: usize, count: usize) -> io::Result<()> {
    if header_len > MAX_HEADER {
        return Err(invalid(format!(
            "frame header of {header_len} bytes is too large"
        )));
    }
    if count > MAX_BUFFERS {
        return Err(invalid(format!("frame with {count} buffers")));
    }
    Ok(())
}

fn check_buffer(len: u64) -> io::Result<usize> {
    if len > MAX_BUFFER {
        return Err(invalid(format!("frame buffer of {len} bytes is too large")));
    }
    Ok(len as usize)
}

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"ANF1";

fn prefix(header: &[u8], count: usize) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[..4].copy_from_slice(&MAGIC);
    p[4..8].copy_from_slice(&(header.len() as u32).to_le_bytes());
    p[8..].copy_from_slice(&(count as u32).to_le_bytes());
    p
}

/// Header length and buffer count of a frame prefix.
fn parse_prefix(p: &[u8; 12]) -> io::Result<(usize, usize)> {
    if p[..4] != MAGIC {
        return Err(invalid(format!(
            "stray bytes where a frame should start: {:?}",
            String::from_utf8_lossy(&p[..])
        )));
    }
    let header_len = u32::from_le_bytes(p[4..8].try_into().expect("4 bytes")) as usize;
    let count = u32::from_le_bytes(p[8..].try_into().expect("4 bytes")) as usize;
    check_prefix(header_len, count)?;
    Ok((header_len, count))
}

/// Reads one frame; `None` at a clean end of stream (the peer closed).
pub fn read_frame(r: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut p = [0u8; 12];
    match r.read_exact(&mut p) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let (header_len, count) = parse_prefix(&p)?;
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header)?;
    let mut buffers = Vec::with_capacity(count);
    for _ in 0..count {
        let mut l = [0u8; 8];
        r.read_exact(&mut l)?;
        let mut b = vec![0u8; check_buffer(u64::from_le_bytes(l))?];
        r.read_exact(&mut b)?;
        buffers.push(b);
    }
    Ok(Some(Frame { header, buffers }))
}

/// Writes one frame and flushes.
pub fn write_frame(w: &mut impl Write, header: &[u8], buffers: &[&[u8]]) -> io::Result<()> {
    w.write_all(&prefix(header, buffers.len()))?;
    w.write_all(header)?;
    for b in buffers {
        w.write_all(&(b.len() as u64).to_le_bytes())?;
        w.write_all(b)?;
    }
    w.flush()
}

pub async fn read_frame_async(r: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<Frame>> {
    let mut p = [0u8; 12];
    match r.read_exact(&mut p).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let (header_len, count) = parse_prefix(&p)?;
    let mut header = vec![0u8; header_len];
    r.read_exact(&mut header).await?;
    let mut buffers = Vec::with_capacity(count);
    for _ in 0..count {
        let mut b = vec![0u8; check_buffer(r.read_u64_le().await?)?];
        r.read_exact(&mut b).await?;
        buffers.push(b);
    }
    Ok(Some(Frame { header, buffers }))
}

pub async fn write_frame_async(
    w: &mut (impl AsyncWrite + Unpin),
    header: &[u8],
    buffers: &[&[u8]],
) -> io::Result<()> {
    w.write_all(&prefix(header, buffers.len())).await?;
    w.write_all(header).await?;
    for b in buffers {
        w.write_all(&(b.len() as u64).to_le_bytes()).await?;
        w.write_all(b).await?;
    }
    w.flush().await
}

/// f64 values as little-endian bytes.
pub fn f64_bytes(v: &[f64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// i64 values as little-endian bytes.
pub fn i64_bytes(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn bytes_f64(b: &[u8]) -> Option<Vec<f64>> {
    (b.len() % 8 == 0).then(|| {
        b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    })
}

pub fn bytes_i64(b: &[u8]) -> Option<Vec<i64>> {
    (b.len() % 8 == 0).then(|| {
        b.chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_blocking_and_async() {
        let header = br#"{"algo":"arima"}"#;
        let values = f64_bytes(&[1.5, -2.0, f64::NAN]);
        let ts = i64_bytes(&[1, i64::MIN, i64::MAX]);
        let mut wire = Vec::new();
        write_frame(&mut wire, header, &[&values, &ts]).unwrap();
        assert_eq!(wire.len(), 12 + header.len() + 2 * (8 + 24));
        let f = read_frame(&mut wire.as_slice()).unwrap().unwrap();
        assert_eq!(f.header, header);
        assert_eq!(bytes_i64(&f.buffers[1]).unwrap(), [1, i64::MIN, i64::MAX]);
        let v = bytes_f64(&f.buffers[0]).unwrap();
        assert_eq!(&v[..2], &[1.5, -2.0]);
        assert!(v[2].is_nan());

        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let g = rt
            .block_on(async {
                let mut out = Vec::new();
                write_frame_async(&mut out, header, &[&values, &ts])
                    .await
                    .unwrap();
                assert_eq!(out, wire);
                read_frame_async(&mut out.as_slice()).await
            })
            .unwrap()
            .unwrap();
        assert_eq!(g, f);
    }

    #[test]
    fn end_of_stream_and_garbage() {
        assert_eq!(read_frame(&mut [].as_slice()).unwrap(), None);
        // a prefix claiming a huge header is refused, not allocated
        let mut bad = Vec::from(MAGIC);
        bad.extend_from_slice(&u32::MAX.to_le_bytes());
        bad.extend_from_slice(&0u32.to_le_bytes());
        let e = read_frame(&mut bad.as_slice()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        // a frame cut short is an error, not a clean end
        let mut wire = Vec::new();
        write_frame(&mut wire, b"{}", &[&[1, 2, 3]]).unwrap();
        wire.truncate(wire.len() - 1);
        assert!(read_frame(&mut wire.as_slice()).is_err());
        assert_eq!(bytes_f64(&[0; 7]), None);
        // text where a frame should start (a plugin's stray write)
        let e = read_frame(&mut b"hello from a plugin\n".as_slice()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stray bytes where a frame should start: \"hello from a\""
        );
    }
}
