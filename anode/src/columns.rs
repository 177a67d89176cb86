//! Decoding the `data` columns, the bulk of every request.
//!
//! serde_json validates the body and hands us `data` as raw text; this
//! module turns it into cells without an intermediate value per number.
//! Numbers take an exact fast path — an integer mantissa of at most 19
//! digits (read eight at a time with SWAR arithmetic) that fits 2^53, scaled by an exact power of ten up to 10^22, is
//! correctly rounded by one IEEE multiplication or division (Clinger 1990) —
//! which covers taosd's `%f` output (`1.100000`) and every timestamp. Any
//! other number is parsed by the standard library, which is also exact.
//! The input is already known to be valid JSON, so only its shape is checked.

use crate::protocol::{Cell, Column};

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

/// Accumulates a run of digits into `mantissa`; returns how many were
/// read. Past `MAX_DIGITS` digits in all, `overflow` is set and the rest
/// are skipped (the exact slow path then parses the text).
#[inline(always)]
fn digits_run(
    b: &[u8],
    i: &mut usize,
    mantissa: &mut u64,
    digits: &mut u32,
    overflow: &mut bool,
) -> u32 {
    let start = *i;
    while *digits + 8 <= MAX_DIGITS {
        let Some(chunk) = b.get(*i..*i + 8) else {
            break;
        };
        let v = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        if !eight_digits(v) {
            break;
        }
        *mantissa = *mantissa * 100_000_000 + parse_eight(v);
        *digits += 8;
        *i += 8;
    }
    while let Some(&c) = b.get(*i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        if *digits < MAX_DIGITS {
            *mantissa = *mantissa * 10 + u64::from(d);
            *digits += 1;
        } else {
            *overflow = true;
        }
        *i += 1;
    }
    (*i - start) as u32
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

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// Skips a string starting at the opening quote.
    fn skip_string(&mut self) {
        self.i += 1;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return;
                }
                _ => self.i += 1,
            }
        }
    }

    /// Skips a nested array or object starting at its opening bracket.
    fn skip_nested(&mut self) {
        let mut depth = 0usize;
        while self.i < self.b.len() {
            match self.b[self.i] {
                b'"' => {
                    self.skip_string();
                    continue;
                }
                b'[' | b'{' => depth += 1,
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return;
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }

    fn number(&mut self) -> Cell {
        // Work on locals: through `&mut self` the index would be reloaded
        // from memory on every byte.
        let b = self.b;
        let start = self.i;
        let mut i = start;
        let neg = b[i] == b'-';
        if neg {
            i += 1;
        }
        let mut mantissa: u64 = 0;
        let mut digits = 0u32;
        let mut exp10: i32 = 0;
        let mut overflow = false;
        digits_run(b, &mut i, &mut mantissa, &mut digits, &mut overflow);
        let mut integral = true;
        if b.get(i) == Some(&b'.') {
            integral = false;
            i += 1;
            let before = digits;
            digits_run(b, &mut i, &mut mantissa, &mut digits, &mut overflow);
            exp10 -= (digits - before) as i32;
        }
        if matches!(b.get(i), Some(b'e' | b'E')) {
            integral = false;
            i += 1;
            let mut eneg = false;
            if let Some(&c @ (b'+' | b'-')) = b.get(i) {
                eneg = c == b'-';
                i += 1;
            }
            let mut e: i32 = 0;
            while let Some(&c) = b.get(i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                e = e.saturating_mul(10).saturating_add(i32::from(d));
                i += 1;
            }
            exp10 = exp10.saturating_add(if eneg { -e } else { e });
        }
        self.i = i;
        if integral && !overflow && !(neg && mantissa == 0) {
            let v = if neg {
                -(mantissa as i128)
            } else {
                mantissa as i128
            };
            if let Ok(v) = i64::try_from(v) {
                return Cell::Int(v);
            }
            // Beyond i64, as serde_json: a float.
        }
        if !overflow && mantissa <= MAX_EXACT && exp10.unsigned_abs() <= 22 {
            let m = mantissa as f64;
            let v = if exp10 >= 0 {
                m * POW10[exp10 as usize]
            } else {
                m / POW10[(-exp10) as usize]
            };
            return Cell::Float(if neg { -v } else { v });
        }
        std::str::from_utf8(&b[start..i])
            .ok()
            .and_then(|t| t.parse::<f64>().ok())
            .map_or(Cell::Invalid, Cell::Float)
    }

    fn cell(&mut self) -> Cell {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'n') => {
                self.i += 4;
                Cell::Null
            }
            Some(b't') => {
                self.i += 4;
                Cell::Int(1)
            }
            Some(b'f') => {
                self.i += 5;
                Cell::Int(0)
            }
            Some(b'"') => {
                self.skip_string();
                Cell::Invalid
            }
            Some(b'[' | b'{') => {
                self.skip_nested();
                Cell::Invalid
            }
            _ => Cell::Invalid,
        }
    }
}

/// Decodes `[[...], [...], ...]`, already validated as JSON by serde_json.
pub fn parse_columns(text: &str) -> Result<Vec<Column>, String> {
    let mut c = Cursor {
        b: text.as_bytes(),
        i: 0,
    };
    if c.peek() != Some(b'[') {
        return Err("invalid type for data, expected an array of columns".to_owned());
    }
    c.i += 1;
    let mut columns = Vec::with_capacity(2);
    if c.peek() == Some(b']') {
        return Ok(columns);
    }
    loop {
        if c.peek() != Some(b'[') {
            return Err(format!(
                "invalid type for data column {}, expected an array of numbers",
                columns.len()
            ));
        }
        c.i += 1;
        let mut cells = Vec::with_capacity(columns.first().map_or(64, |c: &Column| c.0.len()));
        if c.peek() == Some(b']') {
            c.i += 1;
        } else {
            loop {
                cells.push(c.cell());
                match c.peek() {
                    Some(b',') => c.i += 1,
                    Some(b']') => {
                        c.i += 1;
                        break;
                    }
                    _ => return Err("malformed data column".to_owned()),
                }
            }
        }
        columns.push(Column(cells));
        match c.peek() {
            Some(b',') => c.i += 1,
            Some(b']') => return Ok(columns),
            _ => return Err("malformed data array".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(text: &str) -> Vec<Vec<Cell>> {
        parse_columns(text)
            .unwrap()
            .into_iter()
            .map(|c| c.0)
            .collect()
    }

    /// The reference for one number: an integer if it is one that fits
    /// i64 (as serde_json decides), else the correctly rounded f64 of the
    /// standard library. (serde_json's own float parser is off by one ulp
    /// on some inputs unless built with `float_roundtrip`.)
    fn exact(token: &str) -> Cell {
        let t = token.trim();
        if !t.contains(['.', 'e', 'E']) && t != "-0" {
            if let Ok(i) = t.parse::<i64>() {
                return Cell::Int(i);
            }
        }
        Cell::Float(t.parse::<f64>().unwrap())
    }

    fn check_numbers(tokens: &[String]) {
        let text = format!("[[{}]]", tokens.join(","));
        let got = ours(&text);
        assert_eq!(got[0].len(), tokens.len());
        for (cell, token) in got[0].iter().zip(tokens) {
            let want = exact(token);
            let same = match (cell, want) {
                (Cell::Float(a), Cell::Float(b)) => a.to_bits() == b.to_bits(),
                (a, b) => *a == b,
            };
            assert!(same, "token {token} parsed as {cell:?}, expected {want:?}");
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

    #[test]
    fn other_json_values_are_cells_too() {
        let got = ours(r#"[ [null, true, false, "x\"]", [1, [2]], {"a": "]"}, 7 ] , [] ]"#);
        assert_eq!(
            got,
            vec![
                vec![
                    Cell::Null,
                    Cell::Int(1),
                    Cell::Int(0),
                    Cell::Invalid,
                    Cell::Invalid,
                    Cell::Invalid,
                    Cell::Int(7)
                ],
                vec![]
            ]
        );
    }

    #[test]
    fn shape_errors() {
        assert_eq!(
            parse_columns("5").unwrap_err(),
            "invalid type for data, expected an array of columns"
        );
        assert_eq!(
            parse_columns("[[1], 2]").unwrap_err(),
            "invalid type for data column 1, expected an array of numbers"
        );
        assert!(parse_columns("[]").unwrap().is_empty());
    }
}
