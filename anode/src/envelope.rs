//! A one-pass decoder for the usual request envelope.
//!
//! Every analysis request is dominated by its `data` columns: through
//! serde's visitor each number costs a token scan plus a conversion, and a
//! `RawValue` detour scans them twice. This decoder walks the top-level
//! object once, converts the columns in place, and hands the few other
//! values (small: `schema`, `option`, scalars) to serde_json. It accepts
//! only the plain shape taosd writes — numbers, `null`, `true`, `false` in
//! the columns, keys without escapes, no duplicate known keys — and answers
//! `None` for anything else, so the caller falls back to serde's path,
//! which decides and words every error exactly as before.
//!
//! Numbers follow the JSON grammar strictly. Their value comes from
//! Clinger's exact fast path — a mantissa of at most 19 digits (read eight
//! at a time with SWAR arithmetic) that fits 2^53, scaled by an exact power
//! of ten up to 10^22, is correctly rounded by one IEEE multiplication or
//! division — which covers taosd's `%f` output and every timestamp; any
//! other number goes through the standard library's exact parser.
//!
//! May import: `protocol`.

use crate::protocol::{AnalysisRequest, Cell, Column};

/// 10^0 ..= 10^22: exactly representable as f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];
const MAX_EXACT: u64 = 1 << 53;
/// Digits a u64 mantissa always holds.
const MAX_DIGITS: u32 = 19;

/// Whether the 8 bytes of `v` are all ASCII digits.
fn eight_digits(v: u64) -> bool {
    (v.wrapping_add(0x4646_4646_4646_4646) | v.wrapping_sub(0x3030_3030_3030_3030))
        & 0x8080_8080_8080_8080
        == 0
}

/// The value of 8 ASCII digits loaded little-endian (first digit in the
/// lowest byte), in three multiplications instead of eight dependent ones.
fn parse_eight(v: u64) -> u64 {
    let v = v.wrapping_sub(0x3030_3030_3030_3030);
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let lo = (v & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
    let hi = ((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
    lo.wrapping_add(hi) >> 32
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    #[inline]
    fn ws(&mut self) {
        let mut i = self.i;
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.b.get(i) {
            i += 1;
        }
        self.i = i;
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        (self.b.get(self.i..self.i + word.len())? == word).then(|| self.i += word.len())
    }

    /// Accumulates a run of digits; returns how many were read. Past
    /// `MAX_DIGITS` digits in all, `overflow` is set and the rest skipped.
    #[inline(always)]
    fn digits(&mut self, mantissa: &mut u64, count: &mut u32, overflow: &mut bool) -> usize {
        let b = self.b;
        let mut i = self.i;
        let start = i;
        while *count + 8 <= MAX_DIGITS {
            let Some(chunk) = b.get(i..i + 8) else { break };
            let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            if !eight_digits(v) {
                break;
            }
            *mantissa = *mantissa * 100_000_000 + parse_eight(v);
            *count += 8;
            i += 8;
        }
        while let Some(&c) = b.get(i) {
            let d = c.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if *count < MAX_DIGITS {
                *mantissa = *mantissa * 10 + u64::from(d);
                *count += 1;
            } else {
                *overflow = true;
            }
            i += 1;
        }
        self.i = i;
        i - start
    }

    /// A number in strict JSON grammar, as serde_json would type it
    /// (integers that fit i64 stay integers; `-0` and the rest are floats).
    fn number(&mut self) -> Option<Cell> {
        let start = self.i;
        let neg = self.b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let (mut mantissa, mut count, mut overflow) = (0u64, 0u32, false);
        let first = *self.b.get(self.i)?;
        let int_digits = self.digits(&mut mantissa, &mut count, &mut overflow);
        if int_digits == 0 || (first == b'0' && int_digits > 1) {
            return None;
        }
        let mut exp10: i32 = 0;
        let mut integral = true;
        if self.b.get(self.i) == Some(&b'.') {
            integral = false;
            self.i += 1;
            let before = count;
            if self.digits(&mut mantissa, &mut count, &mut overflow) == 0 {
                return None;
            }
            exp10 -= (count - before) as i32;
        }
        if let Some(b'e' | b'E') = self.b.get(self.i) {
            integral = false;
            self.i += 1;
            let mut eneg = false;
            if let Some(&c @ (b'+' | b'-')) = self.b.get(self.i) {
                eneg = c == b'-';
                self.i += 1;
            }
            let (mut e, mut e_count, mut e_overflow) = (0u64, 0u32, false);
            if self.digits(&mut e, &mut e_count, &mut e_overflow) == 0 {
                return None;
            }
            let e = if e_overflow {
                i32::MAX
            } else {
                i32::try_from(e).unwrap_or(i32::MAX)
            };
            exp10 = exp10.saturating_add(if eneg { -e } else { e });
        }
        if integral && !overflow && !(neg && mantissa == 0) {
            let v = if neg {
                -(mantissa as i128)
            } else {
                mantissa as i128
            };
            if let Ok(v) = i64::try_from(v) {
                return Some(Cell::Int(v));
            }
        }
        if !overflow && mantissa <= MAX_EXACT && exp10.unsigned_abs() <= 22 {
            let m = mantissa as f64;
            let v = if exp10 >= 0 {
                m * POW10[exp10 as usize]
            } else {
                m / POW10[(-exp10) as usize]
            };
            return Some(Cell::Float(if neg { -v } else { v }));
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).ok()?;
        let v: f64 = text.parse().ok()?;
        // serde_json refuses numbers out of f64 range
        v.is_finite().then_some(Cell::Float(v))
    }

    fn cell(&mut self) -> Option<Cell> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b'n' => self.literal(b"null").map(|_| Cell::Null),
            b't' => self.literal(b"true").map(|_| Cell::Int(1)),
            b'f' => self.literal(b"false").map(|_| Cell::Int(0)),
            _ => None,
        }
    }

    fn columns(&mut self) -> Option<Vec<Column>> {
        self.eat(b'[')?;
        let mut columns = Vec::with_capacity(2);
        if self.eat(b']').is_some() {
            return Some(columns);
        }
        loop {
            self.eat(b'[')?;
            let mut cells = Vec::with_capacity(columns.first().map_or(64, |c: &Column| c.0.len()));
            if self.eat(b']').is_none() {
                loop {
                    cells.push(self.cell()?);
                    match self.peek()? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            break;
                        }
                        _ => return None,
                    }
                }
            }
            columns.push(Column(cells));
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(columns);
                }
                _ => return None,
            }
        }
    }

    /// The extent of any value, for serde_json to decode and validate.
    fn skip_value(&mut self) -> Option<(usize, usize)> {
        self.ws();
        let start = self.i;
        let b = self.b;
        match *b.get(self.i)? {
            b'"' => self.skip_string()?,
            b'[' | b'{' => {
                let mut depth = 0usize;
                loop {
                    match *b.get(self.i)? {
                        b'"' => {
                            self.skip_string()?;
                            continue;
                        }
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                self.i += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.i += 1;
                }
            }
            _ => {
                while let Some(&c) = b.get(self.i) {
                    if matches!(c, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') {
                        break;
                    }
                    self.i += 1;
                }
            }
        }
        Some((start, self.i))
    }

    fn skip_string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            match *self.b.get(self.i)? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                _ => self.i += 1,
            }
        }
    }

    /// The extent of an object key without escapes or control characters.
    fn key(&mut self) -> Option<(usize, usize)> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match *self.b.get(self.i)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
        let end = self.i;
        self.i += 1;
        Some((start, end))
    }
}

/// Decodes the envelope in one pass, or `None` when the body needs serde's
/// general path (unusual shape, or an error to be worded).
pub fn decode(body: &[u8]) -> Option<AnalysisRequest> {
    let mut c = Cursor { b: body, i: 0 };
    let mut req = AnalysisRequest::default();
    let mut seen = 0u32;
    c.eat(b'{')?;
    if c.eat(b'}').is_none() {
        loop {
            let (ks, ke) = c.key()?;
            c.eat(b':')?;
            let slot = match &body[ks..ke] {
                b"data" => 0,
                b"schema" => 1,
                b"option" => 2,
                b"algo" => 3,
                b"prec" => 4,
                b"wncheck" => 5,
                b"rows" => 6,
                b"forecast_rows" => 7,
                b"conf" => 8,
                b"start" => 9,
                b"every" => 10,
                b"return_conf" => 11,
                b"freq" => 12,
                _ => u32::MAX,
            };
            if slot == 0 {
                if seen & 1 != 0 {
                    return None;
                }
                seen |= 1;
                if c.peek()? == b'n' {
                    c.literal(b"null")?;
                } else {
                    req.data = Some(c.columns()?);
                }
            } else {
                let (s, e) = c.skip_value()?;
                let text = &body[s..e];
                if slot == u32::MAX {
                    serde_json::from_slice::<serde::de::IgnoredAny>(text).ok()?;
                } else {
                    if seen & (1 << slot) != 0 {
                        return None;
                    }
                    seen |= 1 << slot;
                    let v: Option<serde_json::Value> = serde_json::from_slice(text).ok()?;
                    let field = match slot {
                        1 => &mut req.schema,
                        2 => &mut req.option,
                        3 => &mut req.algo,
                        4 => &mut req.prec,
                        5 => &mut req.wncheck,
                        6 => &mut req.rows,
                        7 => &mut req.forecast_rows,
                        8 => &mut req.conf,
                        9 => &mut req.start,
                        10 => &mut req.every,
                        11 => &mut req.return_conf,
                        _ => &mut req.freq,
                    };
                    *field = v;
                }
            }
            match c.peek()? {
                b',' => c.i += 1,
                b'}' => {
                    c.i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    c.ws();
    (c.i == body.len()).then_some(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde(body: &str) -> Option<AnalysisRequest> {
        serde_json::from_str(body).ok()
    }

    /// The fast path must agree with serde's wherever it answers.
    fn same(body: &str) {
        let fast = decode(body.as_bytes()).unwrap_or_else(|| panic!("fast path declined: {body}"));
        assert_eq!(Some(fast), serde(body), "{body}");
    }

    #[test]
    fn taosd_bodies_agree_with_serde() {
        same(
            "{\n\"schema\": [\n  [\"ts\", \"TIMESTAMP\", 8],\n  [\"val\", \"INT\", 4]\n],\n\"data\": [\n[\n1577808000000,\n1577808001000\n],\n[\n5.000000,\n-14.250000\n]\n],\n\"option\": \"algo=iqr\",\n\"algo\": \"iqr\",\n\"prec\": \"ms\",\n\"wncheck\": 1,\n\"rows\": 2,\n\"protocol\": 1.0\n}",
        );
        same(
            r#"{"data":[[1,2],[null,true,false,0,-0,1e2,2.5E-3]],"return_conf":1,"forecast_rows":10,"conf":0.950000,"every":1000,"start":1577808096000,"extra":{"a":[1,"]"]},"freq":"1s"}"#,
        );
        same(r#"{}"#);
        same(r#"{"data":null,"option":null}"#);
        same(r#" { "data" : [ ] } "#);
    }

    #[test]
    fn declines_what_serde_must_decide() {
        for body in [
            r#"{"data":[[1,2],["x"]]}"#,
            r#"{"data":[[01]]}"#,
            r#"{"data":[[1.]]}"#,
            r#"{"data":[[-]]}"#,
            r#"{"data":[[1e]]}"#,
            r#"{"data":[[1,]]}"#,
            r#"{"data":[[1],]}"#,
            r#"{"data":[[1]],}"#,
            r#"{"data":[[1]]} x"#,
            r#"{"data":[[1]],"data":[[2]]}"#,
            r#"{"algo":"a","algo":"b"}"#,
            r#"{"d\u0061ta":[[1]]}"#,
            r#"{"data":[[nul]]}"#,
            r#"{"data":[[1e400]]}"#,
            r#"{"algo":"unterminated}"#,
            r#"{"option":[1,2}"#,
            r#"[1,2]"#,
            "",
        ] {
            assert!(decode(body.as_bytes()).is_none(), "{body}");
        }
    }

    /// The reference for one number: an integer if it is one that fits i64,
    /// else the correctly rounded f64 (serde_json's own float parser is off
    /// by one ulp on some long inputs unless built with `float_roundtrip`).
    fn exact(token: &str) -> Cell {
        if !token.contains(['.', 'e', 'E']) && token != "-0" {
            if let Ok(i) = token.parse::<i64>() {
                return Cell::Int(i);
            }
        }
        Cell::Float(token.parse::<f64>().unwrap())
    }

    fn check_numbers(tokens: &[String]) {
        let body = format!(r#"{{"data":[[{}]]}}"#, tokens.join(","));
        let got = decode(body.as_bytes()).unwrap().data.unwrap();
        assert_eq!(got[0].0.len(), tokens.len());
        for (cell, token) in got[0].0.iter().zip(tokens) {
            let want = exact(token);
            let same = match (cell, want) {
                (Cell::Float(a), Cell::Float(b)) => a.to_bits() == b.to_bits(),
                (a, b) => *a == b,
            };
            assert!(same, "token {token} decoded as {cell:?}, expected {want:?}");
        }
    }

    #[test]
    fn eight_digit_swar() {
        for t in ["00000000", "12345678", "99999999", "10000001", "09876543"] {
            let v = u64::from_le_bytes(t.as_bytes().try_into().unwrap());
            assert!(eight_digits(v));
            assert_eq!(parse_eight(v), t.parse::<u64>().unwrap());
        }
        for t in ["1234567.", "/2345678", ":2345678", "1234 678", "123456-8"] {
            assert!(
                !eight_digits(u64::from_le_bytes(t.as_bytes().try_into().unwrap())),
                "{t}"
            );
        }
    }

    #[test]
    fn numbers_are_exact() {
        let tokens = [
            "1577808000000",
            "-3",
            "0",
            "-0",
            "1.100000",
            "0.1",
            "1e3",
            "2.5E-3",
            "1.7976931348623157e308",
            "5e-324",
            "123456789012345678901234",
            "0.30000000000000004",
            "9007199254740993.0",
            "18446744073709551615",
            "9223372036854775807",
            "-9223372036854775808",
            "12345678.123456",
            "0.00000000000000000000000000000000008393625781394631",
            "-1.5e-7",
            "100000000000000000000.5",
            "0.000000",
            "1234567890123456789",
            "12345678901234567890",
            "0.1234567890123456789",
            "1.0e+2",
        ];
        check_numbers(&tokens.map(String::from));
    }

    #[test]
    fn random_numbers_are_exact() {
        let mut s: u64 = 7;
        let tokens: Vec<String> = (0..20_000)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                match i % 4 {
                    0 => format!("{:.6}", (s >> 11) as f64 / (1u64 << 40) as f64 * 1e4 - 5e3),
                    1 => format!("{}", f64::from_bits(s >> 2 | 0x3000_0000_0000_0000)),
                    2 => format!("{}e{}", (s >> 40) as i64 - 8_000_000, (s % 40) as i64 - 20),
                    _ => format!("{}", (s >> 1) as i64),
                }
            })
            .collect();
        check_numbers(&tokens);
    }
}
