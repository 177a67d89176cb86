//! The InfluxDB line protocol, parsed:
//! `measurement[,tag=value...] field=value[,field=value...] [timestamp]`.
//!
//! The rules are InfluxDB's (docs.influxdata.com, "Line protocol"):
//! measurement names escape `,` and space with `\`; tag keys, tag values
//! and field keys also escape `=`; field values are floats (`1`, `1.5`,
//! `-2e3`), integers (`1i`), unsigned integers (`1u`), double-quoted
//! strings (`"a \"b\""`, escaping `"` and `\`) or booleans (`t`, `true`,
//! `F`, `FALSE`, ...); the timestamp is an integer in the request's
//! precision, and when absent the server's clock gives it. Blank lines and
//! `#` comments are skipped. An error names the line and what was
//! expected, and nothing of the request is written.
//!
//! May import: nothing else of the crate.

/// One field value, typed as the line wrote it.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    Float(f64),
    Int(i64),
    UInt(u64),
    Str(String),
    Bool(bool),
}

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub measurement: String,
    /// In the order written (duplicates refused).
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, Field)>,
    pub ts: Option<i64>,
    /// 1-based line number in the request.
    pub line: usize,
}

/// A line that is not line protocol: where and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub line: usize,
    pub msg: String,
}

/// Every point of `text`, or the first line that does not parse.
pub fn parse(text: &str) -> Result<Vec<Point>, LineError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r').trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let p = parse_line(line, i + 1).map_err(|msg| LineError { line: i + 1, msg })?;
        out.push(p);
    }
    Ok(out)
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl<'a> Cursor<'a> {
    /// The line's bytes (the text is kept for copying whole tokens).
    fn b(&self) -> &'a [u8] {
        self.s.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.b().get(self.i).copied()
    }

    /// Text up to (not including) the first unescaped byte of `stops`, with
    /// `\x` turned into `x` where `x` is one of `escapable` (any other
    /// backslash stays, as InfluxDB reads it).
    fn until(&mut self, stops: &[u8], escapable: &[u8]) -> Result<String, String> {
        // the usual token has no backslash: one copy of its text (stops
        // are ASCII, so both ends fall on character boundaries)
        let start = self.i;
        while let Some(c) = self.peek() {
            if c == b'\\' {
                break;
            }
            if stops.contains(&c) {
                return Ok(self.s[start..self.i].to_owned());
            }
            self.i += 1;
        }
        if self.peek().is_none() {
            return Ok(self.s[start..].to_owned());
        }
        self.i = start;
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == b'\\' {
                if let Some(&n) = self.b().get(self.i + 1) {
                    if escapable.contains(&n) {
                        out.push(n);
                        self.i += 2;
                        continue;
                    }
                }
                out.push(c);
                self.i += 1;
                continue;
            }
            if stops.contains(&c) {
                break;
            }
            out.push(c);
            self.i += 1;
        }
        String::from_utf8(out).map_err(|_| "not valid UTF-8".to_owned())
    }

    /// Steps over `c`, else an error saying `what()` was expected (made
    /// only then: an eager message cost four `format!`s a line).
    fn expect<S: std::fmt::Display>(&mut self, c: u8, what: impl Fn() -> S) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.i += 1;
                Ok(())
            }
            Some(x) => Err(format!(
                "expected {} at column {}, found '{}'",
                what(),
                self.i + 1,
                x as char
            )),
            None => Err(format!(
                "expected {} at column {}, found the end of the line",
                what(),
                self.i + 1
            )),
        }
    }
}

fn parse_line(line: &str, number: usize) -> Result<Point, String> {
    let mut c = Cursor { s: line, i: 0 };
    let measurement = c.until(b", ", b", ")?;
    if measurement.is_empty() {
        return Err("the measurement name is empty".to_owned());
    }
    let mut tags: Vec<(String, String)> = Vec::new();
    while c.peek() == Some(b',') {
        c.i += 1;
        let key = c.until(b"=, ", b",= ")?;
        c.expect(b'=', || format!("'=' after tag key '{key}'"))?;
        let value = c.until(b", ", b",= ")?;
        if key.is_empty() {
            return Err("a tag key is empty".to_owned());
        }
        if value.is_empty() {
            return Err(format!("tag '{key}' has no value"));
        }
        if tags.iter().any(|(k, _)| *k == key) {
            return Err(format!("tag '{key}' is given twice"));
        }
        tags.push((key, value));
    }
    c.expect(b' ', || "a space before the fields")?;
    while c.peek() == Some(b' ') {
        c.i += 1;
    }
    let mut fields: Vec<(String, Field)> = Vec::new();
    loop {
        let key = c.until(b"=, ", b",= ")?;
        if key.is_empty() {
            return Err(format!("a field key is empty (column {})", c.i + 1));
        }
        c.expect(b'=', || format!("'=' after field key '{key}'"))?;
        let value = if c.peek() == Some(b'"') {
            c.i += 1;
            let mut s = Vec::new();
            loop {
                match c.peek() {
                    None => {
                        return Err(format!("the string of field '{key}' has no closing quote"));
                    }
                    Some(b'\\') if matches!(c.b().get(c.i + 1), Some(b'"') | Some(b'\\')) => {
                        s.push(c.b()[c.i + 1]);
                        c.i += 2;
                    }
                    Some(b'"') => {
                        c.i += 1;
                        break;
                    }
                    Some(x) => {
                        s.push(x);
                        c.i += 1;
                    }
                }
            }
            Field::Str(String::from_utf8(s).map_err(|_| "not valid UTF-8".to_owned())?)
        } else {
            let raw = c.until(b", ", b"")?;
            typed(&raw).map_err(|why| format!("field '{key}' = {raw}: {why}"))?
        };
        if fields.iter().any(|(k, _)| *k == key) {
            return Err(format!("field '{key}' is given twice"));
        }
        fields.push((key, value));
        if c.peek() == Some(b',') {
            c.i += 1;
            continue;
        }
        break;
    }
    let rest = std::str::from_utf8(&c.b()[c.i..]).unwrap_or("").trim();
    let ts = if rest.is_empty() {
        None
    } else {
        Some(
            rest.parse::<i64>()
                .map_err(|_| format!("the timestamp '{rest}' is not an integer"))?,
        )
    };
    Ok(Point {
        measurement,
        tags,
        fields,
        ts,
        line: number,
    })
}

fn typed(raw: &str) -> Result<Field, &'static str> {
    match raw {
        "t" | "T" | "true" | "True" | "TRUE" => return Ok(Field::Bool(true)),
        "f" | "F" | "false" | "False" | "FALSE" => return Ok(Field::Bool(false)),
        "" => return Err("no value"),
        _ => {}
    }
    if let Some(n) = raw.strip_suffix('i') {
        return n
            .parse()
            .map(Field::Int)
            .map_err(|_| "not a 64-bit integer");
    }
    if let Some(n) = raw.strip_suffix('u') {
        return n
            .parse()
            .map(Field::UInt)
            .map_err(|_| "not an unsigned 64-bit integer");
    }
    match raw.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Field::Float(x)),
        _ => Err("not a number, string or boolean"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Point {
        let mut p = parse(line).unwrap();
        assert_eq!(p.len(), 1);
        p.remove(0)
    }

    #[test]
    fn the_documented_forms() {
        let p = one(
            "weather,location=us-midwest,season=summer temperature=82,humid=0.5 1465839830100400200",
        );
        assert_eq!(p.measurement, "weather");
        assert_eq!(
            p.tags,
            [
                ("location".into(), "us-midwest".into()),
                ("season".into(), "summer".into())
            ]
        );
        assert_eq!(
            p.fields,
            [
                ("temperature".into(), Field::Float(82.0)),
                ("humid".into(), Field::Float(0.5))
            ]
        );
        assert_eq!(p.ts, Some(1465839830100400200));
        let p = one("m a=1i,b=2u,c=-3.5e2,d=\"x y, \\\"z\\\" \\\\\",e=t,f=FALSE");
        assert_eq!(
            p.fields,
            [
                ("a".into(), Field::Int(1)),
                ("b".into(), Field::UInt(2)),
                ("c".into(), Field::Float(-350.0)),
                ("d".into(), Field::Str("x y, \"z\" \\".into())),
                ("e".into(), Field::Bool(true)),
                ("f".into(), Field::Bool(false)),
            ]
        );
        assert_eq!(p.ts, None);
    }

    #[test]
    fn escapes() {
        let p = one(r"my\ meas\,ure,tag\ k\=ey=val\,ue\ 1 field\ key=1");
        assert_eq!(p.measurement, "my meas,ure");
        assert_eq!(p.tags, [("tag k=ey".into(), "val,ue 1".into())]);
        assert_eq!(p.fields[0].0, "field key");
        // a backslash before anything else stays
        assert_eq!(one(r"m,t=a\b v=1").tags[0].1, r"a\b");
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let pts = parse("# a comment\n\nm v=1 10\r\n  m v=2 20\n").unwrap();
        assert_eq!(pts.len(), 2);
        assert_eq!((pts[0].line, pts[1].line), (3, 4));
        assert_eq!(pts[1].ts, Some(20));
    }

    #[test]
    fn errors_name_the_line() {
        let cases = [
            (
                "m",
                "expected a space before the fields at column 2, found the end of the line",
            ),
            (
                "m v",
                "expected '=' after field key 'v' at column 4, found the end of the line",
            ),
            ("m v=", "field 'v' = : no value"),
            (
                "m v=abc",
                "field 'v' = abc: not a number, string or boolean",
            ),
            ("m v=1x", "field 'v' = 1x: not a number, string or boolean"),
            (
                "m v=99999999999999999999i",
                "field 'v' = 99999999999999999999i: not a 64-bit integer",
            ),
            ("m v=-1u", "field 'v' = -1u: not an unsigned 64-bit integer"),
            ("m v=\"open", "the string of field 'v' has no closing quote"),
            ("m v=1 12x", "the timestamp '12x' is not an integer"),
            (",t=1 v=1", "the measurement name is empty"),
            (
                "m,t v=1",
                "expected '=' after tag key 't' at column 4, found ' '",
            ),
            ("m,t= v=1", "tag 't' has no value"),
            ("m,t=1,t=2 v=1", "tag 't' is given twice"),
            ("m v=1,v=2", "field 'v' is given twice"),
            ("m =1", "a field key is empty (column 3)"),
            (
                "m v=NaN",
                "field 'v' = NaN: not a number, string or boolean",
            ),
            (
                "m v=inf",
                "field 'v' = inf: not a number, string or boolean",
            ),
        ];
        for (text, msg) in cases {
            let e = parse(&format!("m v=1\n{text}")).unwrap_err();
            assert_eq!(
                e,
                LineError {
                    line: 2,
                    msg: msg.to_owned()
                },
                "{text}"
            );
        }
    }
}
