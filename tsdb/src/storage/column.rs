//! One column of a block: its decoded form ([`ColData`]), its summary
//! ([`Stats`]) and its compressed form on disk.
//!
//! A chunk is `u8 flags | [null bitmap] | payload`. Timestamps, integers
//! and booleans are one `pco` stream of i64, floats one of f64 (NULL slots
//! hold the previous value, which costs pco almost nothing); strings are a
//! `pco` stream of byte lengths and the bytes compressed with `lz4`.
//! Streams too short for pco (the blocks of many small tables) take a
//! compact form of their own: steps, differences, decimal scaling.
//!
//! May import: `types`, its parent's `codec`.

use pco::ChunkConfig;

use super::codec::{Reader, put_i64, put_u32, put_u64, put_value};
use crate::types::{DataType, Value};

/// pco's level 4: nearly the ratio of the default 8 at a third of the
/// compression time (measured on 4 M noisy floats: 2.27 vs 2.25 B/value).
const PCO_LEVEL: usize = 4;

/// How a column's values are held, by SQL type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// TIMESTAMP and the integer types.
    Int,
    Bool,
    /// FLOAT and DOUBLE.
    Double,
    /// BINARY and NCHAR.
    Str,
}

impl Kind {
    pub fn of(ty: DataType) -> Kind {
        match ty {
            DataType::Bool => Kind::Bool,
            DataType::Float | DataType::Double => Kind::Double,
            DataType::Binary(_) | DataType::NChar(_) => Kind::Str,
            _ => Kind::Int,
        }
    }
    fn tag(self) -> u8 {
        self as u8
    }
    fn from_tag(t: u8) -> Option<Kind> {
        Some(match t {
            0 => Kind::Int,
            1 => Kind::Bool,
            2 => Kind::Double,
            3 => Kind::Str,
            _ => return None,
        })
    }
}

/// The values of one column of a block, decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Integers, timestamps, and booleans as 0/1.
    Int(Vec<i64>),
    Double(Vec<f64>),
    Str(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColData {
    pub kind: Kind,
    pub values: Values,
    /// `nulls[i]` is true for a NULL; absent when there is none.
    pub nulls: Option<Vec<bool>>,
}

impl ColData {
    /// Builds a column from values of one kind (NULLs allowed).
    pub fn from_values<'v>(kind: Kind, vals: impl ExactSizeIterator<Item = &'v Value>) -> ColData {
        let n = vals.len();
        let mut nulls = vec![false; n];
        let mut any_null = false;
        let values = match kind {
            Kind::Int | Kind::Bool => {
                let mut out = Vec::with_capacity(n);
                let mut prev = 0i64;
                for (i, v) in vals.enumerate() {
                    match v {
                        Value::Int(x) => prev = *x,
                        Value::Bool(b) => prev = i64::from(*b),
                        _ => {
                            nulls[i] = true;
                            any_null = true;
                        }
                    }
                    out.push(prev);
                }
                Values::Int(out)
            }
            Kind::Double => {
                let mut out = Vec::with_capacity(n);
                let mut prev = 0f64;
                for (i, v) in vals.enumerate() {
                    match v.as_f64() {
                        Some(x) => prev = x,
                        None => {
                            nulls[i] = true;
                            any_null = true;
                        }
                    }
                    out.push(prev);
                }
                Values::Double(out)
            }
            Kind::Str => {
                let mut out = Vec::with_capacity(n);
                for (i, v) in vals.enumerate() {
                    match v {
                        Value::Str(s) => out.push(s.clone()),
                        _ => {
                            nulls[i] = true;
                            any_null = true;
                            out.push(String::new());
                        }
                    }
                }
                Values::Str(out)
            }
        };
        ColData {
            kind,
            values,
            nulls: any_null.then_some(nulls),
        }
    }

    pub fn len(&self) -> usize {
        match &self.values {
            Values::Int(v) => v.len(),
            Values::Double(v) => v.len(),
            Values::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn is_null(&self, i: usize) -> bool {
        self.nulls.as_ref().is_some_and(|n| n[i])
    }

    /// Row `i` as a SQL value.
    pub fn get(&self, i: usize) -> Value {
        if self.is_null(i) {
            return Value::Null;
        }
        match (&self.values, self.kind) {
            (Values::Int(v), Kind::Bool) => Value::Bool(v[i] != 0),
            (Values::Int(v), _) => Value::Int(v[i]),
            (Values::Double(v), _) => Value::Double(v[i]),
            (Values::Str(v), _) => Value::Str(v[i].clone()),
        }
    }

    /// Approximate memory held, for the block cache's budget.
    pub fn bytes(&self) -> usize {
        let nulls = self.nulls.as_ref().map_or(0, Vec::len);
        nulls
            + match &self.values {
                Values::Int(v) => v.len() * 8,
                Values::Double(v) => v.len() * 8,
                Values::Str(v) => v.iter().map(|s| s.len() + 24).sum(),
            }
    }

    /// The summary kept in the block index; `ts` are the block's
    /// timestamps.
    pub fn stats(&self, ts: &[i64]) -> Stats {
        let n = self.len();
        let mut s = Stats {
            non_null: 0,
            min: Value::Null,
            max: Value::Null,
            first: Value::Null,
            last: Value::Null,
            first_ts: 0,
            last_ts: 0,
            sum_f: 0.0,
            sum_i: 0,
        };
        let first = (0..n).find(|&i| !self.is_null(i));
        let last = (0..n).rev().find(|&i| !self.is_null(i));
        if let (Some(a), Some(b)) = (first, last) {
            s.first = self.get(a);
            s.last = self.get(b);
            s.first_ts = ts[a];
            s.last_ts = ts[b];
        }
        match &self.values {
            Values::Int(v) => {
                let (mut lo, mut hi) = (i64::MAX, i64::MIN);
                for (i, x) in v.iter().enumerate() {
                    if self.is_null(i) {
                        continue;
                    }
                    s.non_null += 1;
                    lo = lo.min(*x);
                    hi = hi.max(*x);
                    s.sum_i = s.sum_i.wrapping_add(*x);
                    s.sum_f += *x as f64;
                }
                if s.non_null > 0 {
                    let wrap = |x: i64| {
                        if self.kind == Kind::Bool {
                            Value::Bool(x != 0)
                        } else {
                            Value::Int(x)
                        }
                    };
                    s.min = wrap(lo);
                    s.max = wrap(hi);
                }
            }
            Values::Double(v) => {
                // the first of equal or incomparable values is kept, as the
                // row-by-row MIN/MAX does
                let (mut lo, mut hi): (Option<f64>, Option<f64>) = (None, None);
                for (i, x) in v.iter().enumerate() {
                    if self.is_null(i) {
                        continue;
                    }
                    s.non_null += 1;
                    s.sum_f += *x;
                    if lo.is_none_or(|l| *x < l) {
                        lo = Some(*x);
                    }
                    if hi.is_none_or(|h| *x > h) {
                        hi = Some(*x);
                    }
                }
                s.min = lo.map_or(Value::Null, Value::Double);
                s.max = hi.map_or(Value::Null, Value::Double);
            }
            Values::Str(_) => s.non_null = (0..n).filter(|&i| !self.is_null(i)).count() as u32,
        }
        s
    }

    /// The compressed chunk.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind.tag() | if self.nulls.is_some() { 0x80 } else { 0 });
        if let Some(nulls) = &self.nulls {
            let mut bits = vec![0u8; nulls.len().div_ceil(8)];
            for (i, n) in nulls.iter().enumerate() {
                if *n {
                    bits[i / 8] |= 1 << (i % 8);
                }
            }
            out.extend_from_slice(&bits);
        }
        let cfg = ChunkConfig::default().with_compression_level(PCO_LEVEL);
        let pco = |out: &mut Vec<u8>, bytes: Vec<u8>| {
            put_u32(out, bytes.len() as u32);
            out.extend_from_slice(&bytes);
        };
        match &self.values {
            Values::Int(v) => pco(out, compress(v, &cfg)),
            Values::Double(v) => pco(out, compress(v, &cfg)),
            Values::Str(v) => {
                let lens: Vec<u32> = v.iter().map(|s| s.len() as u32).collect();
                pco(out, compress(&lens, &cfg));
                let joined: Vec<u8> = v.iter().flat_map(|s| s.as_bytes()).copied().collect();
                let packed = lz4_flex::compress_prepend_size(&joined);
                put_u32(out, packed.len() as u32);
                out.extend_from_slice(&packed);
            }
        }
    }

    /// Decodes a chunk of `rows` values; `None` if it is damaged.
    pub fn decode(b: &[u8], rows: usize) -> Option<ColData> {
        let mut r = Reader::new(b);
        let flags = r.u8()?;
        let kind = Kind::from_tag(flags & 0x7f)?;
        let nulls = if flags & 0x80 != 0 {
            let bits = r.take(rows.div_ceil(8))?;
            Some(
                (0..rows)
                    .map(|i| bits[i / 8] & (1 << (i % 8)) != 0)
                    .collect(),
            )
        } else {
            None
        };
        let mut stream = || -> Option<&[u8]> {
            let n = r.u32()? as usize;
            r.take(n)
        };
        let values = match kind {
            Kind::Int | Kind::Bool => Values::Int(decompress(stream()?, rows)?),
            Kind::Double => Values::Double(decompress(stream()?, rows)?),
            Kind::Str => {
                let lens: Vec<u32> = decompress(stream()?, rows)?;
                let joined = lz4_flex::decompress_size_prepended(stream()?).ok()?;
                let mut out = Vec::with_capacity(rows);
                let mut at = 0usize;
                for l in lens {
                    let end = at.checked_add(l as usize)?;
                    out.push(String::from_utf8(joined.get(at..end)?.to_vec()).ok()?);
                    at = end;
                }
                Values::Str(out)
            }
        };
        Some(ColData {
            kind,
            values,
            nulls,
        })
    }
}

/// Below this many values a stream does not go to pco: its fixed cost per
/// chunk (tens of microseconds, and a header of tens of bytes) would
/// dominate the small blocks of many tables written at once. Such a
/// stream is stored in the compact form of [`small`] when that is
/// smaller, else raw.
const RAW_BELOW: usize = 256;

/// A number as pco takes it, with its raw little-endian form and its
/// compact form for short streams.
trait Num: pco::data_types::Number + Copy {
    const SIZE: usize;
    fn put(self, out: &mut Vec<u8>);
    fn get(b: &[u8]) -> Self;
    /// The compact form of a short stream, if this stream has one.
    fn put_small(v: &[Self], out: &mut Vec<u8>) -> Option<()>;
    fn get_small(b: &[u8], rows: usize) -> Option<Vec<Self>>;
}

macro_rules! num {
    ($t:ty) => {
        fn put(self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_le_bytes());
        }
        fn get(b: &[u8]) -> Self {
            <$t>::from_le_bytes(b.try_into().expect("sized"))
        }
    };
}

impl Num for i64 {
    const SIZE: usize = 8;
    num!(i64);
    fn put_small(v: &[i64], out: &mut Vec<u8>) -> Option<()> {
        small::put_ints(v, out);
        Some(())
    }
    fn get_small(b: &[u8], rows: usize) -> Option<Vec<i64>> {
        small::get_ints(b, rows)
    }
}

impl Num for u32 {
    const SIZE: usize = 4;
    num!(u32);
    fn put_small(v: &[u32], out: &mut Vec<u8>) -> Option<()> {
        let ints: Vec<i64> = v.iter().map(|&x| i64::from(x)).collect();
        small::put_ints(&ints, out);
        Some(())
    }
    fn get_small(b: &[u8], rows: usize) -> Option<Vec<u32>> {
        small::get_ints(b, rows)?
            .into_iter()
            .map(|x| u32::try_from(x).ok())
            .collect()
    }
}

impl Num for f64 {
    const SIZE: usize = 8;
    num!(f64);
    fn put_small(v: &[f64], out: &mut Vec<u8>) -> Option<()> {
        small::put_decimals(v, out)
    }
    fn get_small(b: &[u8], rows: usize) -> Option<Vec<f64>> {
        small::get_decimals(b, rows)
    }
}

/// The compact form of short streams (stream kind `2`): what makes the
/// small blocks of many-device tables small.
///
/// - integers: a mode byte; `0`: the first value and one step, when every
///   difference is that step (regular timestamps: about ten bytes for the
///   whole stream); `1`: the first value, then each difference. Numbers are
///   zigzag LEB128, differences wrapping, so any `i64` round-trips;
/// - floats: when every value is a decimal number of at most
///   [`MAX_DECIMALS`] places (as sensors and line protocol write them), a
///   byte `k` and the integers `value × 10^k` as above; a value that does
///   not come back bit for bit (NaN, infinities, -0.0, more places) leaves
///   the stream raw.
///
/// Written by this version on; older versions read kinds `0` and `1` only.
mod small {
    /// The most decimal places a float stream is scaled by.
    pub const MAX_DECIMALS: u8 = 9;

    fn put_varint(mut x: u64, out: &mut Vec<u8>) {
        while x >= 0x80 {
            out.push((x as u8) | 0x80);
            x >>= 7;
        }
        out.push(x as u8);
    }

    fn get_varint(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut x = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            x |= u64::from(byte & 0x7f).checked_shl(shift)?;
            if byte & 0x80 == 0 {
                return Some(x);
            }
        }
        None
    }

    fn zigzag(x: i64) -> u64 {
        ((x << 1) ^ (x >> 63)) as u64
    }

    fn unzigzag(x: u64) -> i64 {
        ((x >> 1) as i64) ^ -((x & 1) as i64)
    }

    pub fn put_ints(v: &[i64], out: &mut Vec<u8>) {
        let Some(&first) = v.first() else {
            out.push(0);
            return;
        };
        let step = v.get(1).map_or(0, |s| s.wrapping_sub(first));
        let regular = v.windows(2).all(|w| w[1].wrapping_sub(w[0]) == step);
        out.push(if regular { 0 } else { 1 });
        put_varint(zigzag(first), out);
        if regular {
            put_varint(zigzag(step), out);
        } else {
            for w in v.windows(2) {
                put_varint(zigzag(w[1].wrapping_sub(w[0])), out);
            }
        }
    }

    pub fn get_ints(b: &[u8], rows: usize) -> Option<Vec<i64>> {
        let (&mode, _) = b.split_first()?;
        let mut at = 1;
        if rows == 0 {
            return (b.len() == 1 && mode == 0).then(Vec::new);
        }
        let mut x = unzigzag(get_varint(b, &mut at)?);
        let mut out = Vec::with_capacity(rows);
        out.push(x);
        match mode {
            0 => {
                let step = unzigzag(get_varint(b, &mut at)?);
                for _ in 1..rows {
                    x = x.wrapping_add(step);
                    out.push(x);
                }
            }
            1 => {
                for _ in 1..rows {
                    x = x.wrapping_add(unzigzag(get_varint(b, &mut at)?));
                    out.push(x);
                }
            }
            _ => return None,
        }
        (at == b.len()).then_some(out)
    }

    fn scale(k: u8) -> f64 {
        10f64.powi(i32::from(k))
    }

    /// The integers of `v` at the fewest decimal places that bring every
    /// value back exactly.
    fn as_decimals(v: &[f64]) -> Option<(u8, Vec<i64>)> {
        // beyond 2^53 an f64 no longer holds every integer
        const EXACT: f64 = 9_007_199_254_740_992.0;
        'places: for k in 0..=MAX_DECIMALS {
            let s = scale(k);
            let mut ints = Vec::with_capacity(v.len());
            for &x in v {
                let m = (x * s).round();
                if !m.is_finite() || m.abs() > EXACT {
                    return None;
                }
                let m = m as i64;
                if (m as f64 / s).to_bits() != x.to_bits() {
                    continue 'places;
                }
                ints.push(m);
            }
            return Some((k, ints));
        }
        None
    }

    pub fn put_decimals(v: &[f64], out: &mut Vec<u8>) -> Option<()> {
        let (k, ints) = as_decimals(v)?;
        out.push(k);
        put_ints(&ints, out);
        Some(())
    }

    pub fn get_decimals(b: &[u8], rows: usize) -> Option<Vec<f64>> {
        let (&k, rest) = b.split_first()?;
        if k > MAX_DECIMALS {
            return None;
        }
        let s = scale(k);
        Some(
            get_ints(rest, rows)?
                .into_iter()
                .map(|m| m as f64 / s)
                .collect(),
        )
    }
}

/// A stream: `0` then pco's bytes, `1` then the raw values, or `2` then
/// the compact form of a short stream ([`small`]).
fn compress<T: Num>(v: &[T], cfg: &ChunkConfig) -> Vec<u8> {
    if v.len() < RAW_BELOW {
        let mut compact = vec![2];
        if T::put_small(v, &mut compact).is_some() && compact.len() < 1 + v.len() * T::SIZE {
            return compact;
        }
        let mut out = Vec::with_capacity(1 + v.len() * T::SIZE);
        out.push(1);
        for x in v {
            x.put(&mut out);
        }
        return out;
    }
    let mut out = vec![0];
    out.extend(
        pco::standalone::simple_compress(v, cfg)
            .expect("pco accepts any numbers with its defaults"),
    );
    out
}

fn decompress<T: Num>(b: &[u8], rows: usize) -> Option<Vec<T>> {
    let (kind, body) = b.split_first()?;
    let v: Vec<T> = match kind {
        0 => pco::standalone::simple_decompress(body).ok()?,
        1 if body.len() == rows * T::SIZE => body.chunks_exact(T::SIZE).map(T::get).collect(),
        2 => T::get_small(body, rows)?,
        _ => return None,
    };
    (v.len() == rows).then_some(v)
}

/// A column's summary in the block index: what answers COUNT, MIN, MAX,
/// SUM, AVG, SPREAD, FIRST and LAST of a whole block without decoding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub non_null: u32,
    pub min: Value,
    pub max: Value,
    pub first: Value,
    pub last: Value,
    /// Timestamps of `first` and `last`.
    pub first_ts: i64,
    pub last_ts: i64,
    /// Sums in row order: as f64, and as wrapping i64 for integer columns.
    pub sum_f: f64,
    pub sum_i: i64,
}

impl Stats {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.non_null);
        for v in [&self.min, &self.max, &self.first, &self.last] {
            put_value(out, v);
        }
        put_i64(out, self.first_ts);
        put_i64(out, self.last_ts);
        put_u64(out, self.sum_f.to_bits());
        put_i64(out, self.sum_i);
    }

    pub fn decode(r: &mut Reader<'_>) -> Option<Stats> {
        Some(Stats {
            non_null: r.u32()?,
            min: r.value()?,
            max: r.value()?,
            first: r.value()?,
            last: r.value()?,
            first_ts: r.i64()?,
            last_ts: r.i64()?,
            sum_f: r.f64()?,
            sum_i: r.i64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Num + std::fmt::Debug>(v: &[T]) -> Vec<u8> {
        let cfg = ChunkConfig::default();
        let c = compress(v, &cfg);
        let back: Vec<T> = decompress(&c, v.len()).expect("decodes");
        let bits = |x: &T| {
            let mut b = Vec::new();
            x.put(&mut b);
            b
        };
        assert_eq!(
            back.iter().map(bits).collect::<Vec<_>>(),
            v.iter().map(bits).collect::<Vec<_>>(),
            "{v:?}"
        );
        c
    }

    #[test]
    fn short_streams_are_compact_and_exact() {
        // regular timestamps: one step for the whole stream
        let ts: Vec<i64> = (0..100).map(|i| 1_700_000_000_000 + i * 1000).collect();
        let c = round_trip(&ts);
        assert_eq!(c[0], 2);
        assert!(c.len() <= 12, "{} bytes", c.len());
        // irregular and extreme integers
        round_trip(&[i64::MIN, i64::MAX, 0, -1, 1, i64::MIN, 7]);
        round_trip::<i64>(&[]);
        round_trip(&[42i64]);
        // two-decimal readings: about a byte or two each instead of eight
        let mut x = 220.0f64;
        let readings: Vec<f64> = (0..100)
            .map(|i| {
                x = ((x * 100.0).round() + f64::from((i * 7) % 11) - 5.0) / 100.0;
                x
            })
            .collect();
        let c = round_trip(&readings);
        assert_eq!((c[0], c[1]), (2, 2), "kind 2, two decimal places");
        assert!(c.len() < 200, "{} bytes", c.len());
        // what cannot come back exactly stays raw
        for odd in [
            vec![1.5, f64::NAN],
            vec![f64::INFINITY, 1.0],
            vec![-0.0, 1.0],
            vec![0.1 + 0.2, 1.0],
            vec![1e300, 1.0],
            vec![std::f64::consts::PI],
        ] {
            let c = round_trip(&odd);
            assert_eq!(c[0], 1, "{odd:?} stays raw");
        }
        round_trip(&[0.0f64, 12.25, -3.5, 1e-9]);
        round_trip(&[u32::MAX, 0, 5]);
    }

    #[test]
    fn damaged_short_streams_are_refused_not_panics() {
        for b in [
            vec![2u8],
            vec![2, 7],
            vec![2, 0, 0x80],
            vec![
                2, 1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            vec![2, 0, 2, 2, 9],
        ] {
            assert!(decompress::<i64>(&b, 3).is_none(), "{b:?}");
            assert!(decompress::<f64>(&b, 3).is_none(), "{b:?}");
            assert!(decompress::<u32>(&b, 3).is_none(), "{b:?}");
        }
        // a u32 stream whose integers do not fit u32
        let mut c = vec![2];
        small::put_ints(&[-1, 5], &mut c);
        assert!(decompress::<u32>(&c, 2).is_none());
    }

    #[test]
    fn chunks_round_trip_with_nulls_and_stats() {
        let cases: Vec<(Kind, Vec<Value>)> = vec![
            (
                Kind::Int,
                vec![Value::Int(5), Value::Null, Value::Int(-3), Value::Int(9)],
            ),
            (
                Kind::Bool,
                vec![Value::Bool(true), Value::Bool(false), Value::Null],
            ),
            (
                Kind::Double,
                vec![Value::Double(1.5), Value::Double(-0.25), Value::Null],
            ),
            (
                Kind::Str,
                vec![
                    Value::Str("北京".into()),
                    Value::Null,
                    Value::Str(String::new()),
                ],
            ),
            (Kind::Double, vec![]),
            // long enough for pco (short streams are stored raw)
            (
                Kind::Double,
                (0..1000)
                    .map(|i| {
                        if i % 97 == 0 {
                            Value::Null
                        } else {
                            Value::Double(i as f64 * 0.1)
                        }
                    })
                    .collect(),
            ),
            (
                Kind::Str,
                (0..600)
                    .map(|i| Value::Str(format!("s{}", i % 13)))
                    .collect(),
            ),
        ];
        for (kind, vals) in cases {
            let c = ColData::from_values(kind, vals.iter());
            let mut buf = Vec::new();
            c.encode(&mut buf);
            let back = ColData::decode(&buf, vals.len()).expect("decodes");
            assert_eq!(back, c);
            let got: Vec<Value> = (0..vals.len()).map(|i| back.get(i)).collect();
            assert_eq!(got, vals);
            // a truncated chunk is refused, not a panic
            if !buf.is_empty() {
                assert!(ColData::decode(&buf[..buf.len() - 1], vals.len()).is_none());
            }
        }
        let c = ColData::from_values(
            Kind::Int,
            [Value::Null, Value::Int(7), Value::Int(-2), Value::Null].iter(),
        );
        let s = c.stats(&[10, 20, 30, 40]);
        assert_eq!(
            (
                s.non_null,
                s.min.clone(),
                s.max.clone(),
                s.first.clone(),
                s.last.clone(),
                s.sum_i,
                s.sum_f,
                (s.first_ts, s.last_ts)
            ),
            (
                2,
                Value::Int(-2),
                Value::Int(7),
                Value::Int(7),
                Value::Int(-2),
                5,
                5.0,
                (20, 30)
            )
        );
        let mut buf = Vec::new();
        s.encode(&mut buf);
        assert_eq!(Stats::decode(&mut Reader::new(&buf)), Some(s));
    }
}
