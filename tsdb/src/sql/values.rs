//! The fast path of `INSERT INTO ... VALUES`: one pass over the text,
//! straight to the statement, without the token list.
//!
//! Large INSERTs are almost all rows of plain literals, and tokenizing them
//! into a `Vec<Token>` first was the largest single cost of ingest. This
//! scanner takes the common shapes: table clauses with an optional
//! `db.` prefix, column list and `USING st [(tags)] TAGS (...)`, rows of
//! numbers, quoted strings, `NULL`, `NOW`, `TRUE` and `FALSE`. Anything
//! else (an expression such as `now - 1h`, a comment, a number out of
//! range, a syntax error) makes it give up, and the full parser reads the
//! statement from the start, so messages and positions are the parser's.
//! A test checks that both give the same statement on every shape.
//!
//! May import: `limits`, its parent's `ast`.

use super::ast::{InsertTable, Lit, ObjName, Rows, Statement, SubTable};

/// `sql` as an INSERT statement, when the fast path can take all of it.
pub fn insert(sql: &str) -> Option<Statement> {
    let mut s = Scan {
        sql,
        b: sql.as_bytes(),
        i: 0,
    };
    let first = s.word()?;
    if !(first.eq_ignore_ascii_case("insert") || first.eq_ignore_ascii_case("import")) {
        return None;
    }
    if !s.word()?.eq_ignore_ascii_case("into") {
        return None;
    }
    // room for the clauses at once (a one-row clause takes 60 bytes or
    // more of text): no vector doubling its way through fresh pages
    let mut tables = Vec::with_capacity(sql.len() / 60 + 1);
    loop {
        s.ws()?;
        let pos = s.i;
        let table = s.obj_name()?;
        let mut columns = None;
        if s.eat(b'(')? {
            columns = Some(s.ident_list()?);
        }
        let mut word = s.word()?;
        let using = if word.eq_ignore_ascii_case("using") {
            let stable = s.obj_name()?;
            let tag_names = if s.eat(b'(')? {
                Some(s.ident_list()?)
            } else {
                None
            };
            if !s.word()?.eq_ignore_ascii_case("tags") || !s.eat(b'(')? {
                return None;
            }
            let mut tags = Vec::with_capacity(4);
            s.literals(&mut tags)?;
            let tag_values = tags.into_iter().map(Lit::into_expr).collect();
            if s.eat(b'(')? {
                if columns.is_some() {
                    return None; // the parser's error
                }
                columns = Some(s.ident_list()?);
            }
            word = s.word()?;
            Some(Box::new(SubTable {
                name: table.clone(),
                if_not_exists: true,
                stable,
                tag_names,
                tag_values,
            }))
        } else {
            None
        };
        if !word.eq_ignore_ascii_case("values") {
            return None;
        }
        let mut rows = Rows::default();
        while s.eat(b'(')? {
            let before = rows.cells.len();
            s.literals(&mut rows.cells)?;
            let width = rows.cells.len() - before;
            if before == 0 {
                rows.width = width;
            } else if width != rows.width {
                return None; // the parser's message
            }
            s.eat(b',')?;
        }
        if rows.is_empty() {
            return None;
        }
        tables.push(InsertTable {
            table,
            using,
            columns,
            rows,
            pos,
        });
        match s.peek()? {
            None => break,
            Some(b';') => {
                s.i += 1;
                if s.peek()?.is_some() {
                    return None;
                }
                break;
            }
            Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b'`' => continue,
            Some(_) => return None,
        }
    }
    Some(Statement::Insert(tables))
}

/// Powers of ten an f64 holds exactly, for numbers of up to 15 digits.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

struct Scan<'a> {
    sql: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    /// Skips white space; `None` at a comment (the parser handles those).
    fn ws(&mut self) -> Option<()> {
        while let Some(&c) = self.b.get(self.i) {
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if c == b'-' && self.b.get(self.i + 1) == Some(&b'-') {
                return None;
            } else {
                break;
            }
        }
        Some(())
    }

    /// The next byte after white space (`Some(None)` at the end).
    fn peek(&mut self) -> Option<Option<u8>> {
        self.ws()?;
        Some(self.b.get(self.i).copied())
    }

    /// Takes `c` if it comes next.
    fn eat(&mut self, c: u8) -> Option<bool> {
        if self.peek()? == Some(c) {
            self.i += 1;
            Some(true)
        } else {
            Some(false)
        }
    }

    /// An ASCII word, as written. Words with other characters go to the
    /// parser.
    fn word(&mut self) -> Option<&'a str> {
        self.ws()?;
        let start = self.i;
        let first = *self.b.get(start)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let mut j = start + 1;
        while let Some(&c) = self.b.get(j) {
            if c.is_ascii_alphanumeric() || c == b'_' {
                j += 1;
            } else if c >= 0x80 {
                return None;
            } else {
                break;
            }
        }
        self.i = j;
        Some(&self.sql[start..j])
    }

    /// A name: a word, lower-cased, or a `quoted` one as written.
    fn ident(&mut self) -> Option<String> {
        if self.peek()? == Some(b'`') {
            let len = self.sql[self.i + 1..].find('`')?;
            let name = self.sql[self.i + 1..self.i + 1 + len].to_owned();
            self.i += len + 2;
            return Some(name);
        }
        self.word().map(str::to_ascii_lowercase)
    }

    fn obj_name(&mut self) -> Option<ObjName> {
        let first = self.ident()?;
        if self.eat(b'.')? {
            Some(ObjName {
                db: Some(first),
                name: self.ident()?,
            })
        } else {
            Some(ObjName {
                db: None,
                name: first,
            })
        }
    }

    /// Names up to and including `)`.
    fn ident_list(&mut self) -> Option<Vec<String>> {
        let mut v = vec![self.ident()?];
        while self.eat(b',')? {
            v.push(self.ident()?);
        }
        self.eat(b')')?.then_some(v)
    }

    /// Literals up to and including `)`, appended to `v`.
    fn literals(&mut self, v: &mut Vec<Lit>) -> Option<()> {
        loop {
            v.push(self.literal()?);
            match self.peek()? {
                Some(b',') => self.i += 1,
                Some(b')') => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// One literal, which must be followed by `,` or `)` (else it is part
    /// of an expression: the parser's).
    fn literal(&mut self) -> Option<Lit> {
        let c = self.peek()??;
        let e = match c {
            b'\'' | b'"' => Lit::Str(self.string(c)?),
            b'0'..=b'9' => self.number(false)?,
            b'-' | b'+' if self.b.get(self.i + 1).is_some_and(u8::is_ascii_digit) => {
                self.i += 1;
                self.number(c == b'-')?
            }
            _ => {
                let w = self.word()?;
                if w.eq_ignore_ascii_case("null") {
                    Lit::Null
                } else if w.eq_ignore_ascii_case("now") {
                    Lit::Now
                } else if w.eq_ignore_ascii_case("true") {
                    Lit::Bool(true)
                } else if w.eq_ignore_ascii_case("false") {
                    Lit::Bool(false)
                } else {
                    return None;
                }
            }
        };
        matches!(self.peek()?, Some(b',' | b')')).then_some(e)
    }

    /// A quoted string with the lexer's escapes (`\n`, `\t`, `\x` → x).
    fn string(&mut self, quote: u8) -> Option<String> {
        let start = self.i + 1;
        let mut j = start;
        // the common case: no escape, one copy
        while let Some(&c) = self.b.get(j) {
            if c == quote {
                if j - start > crate::limits::MAX_LITERAL_BYTES {
                    return None; // the parser's error
                }
                self.i = j + 1;
                return Some(self.sql[start..j].to_owned());
            }
            if c == b'\\' {
                break;
            }
            j += 1;
        }
        let mut out = String::from(&self.sql[start..j]);
        let mut chars = self.sql[j..].char_indices();
        while let Some((k, ch)) = chars.next() {
            if ch == '\\' {
                match chars.next()? {
                    (_, 'n') => out.push('\n'),
                    (_, 't') => out.push('\t'),
                    (_, e) => out.push(e),
                }
            } else if ch as u32 == u32::from(quote) {
                if out.len() > crate::limits::MAX_LITERAL_BYTES {
                    return None; // the parser's error
                }
                self.i = j + k + 1;
                return Some(out);
            } else {
                out.push(ch);
            }
        }
        None // unterminated: the parser's error
    }

    /// A number as the lexer reads it (digits, fraction, exponent); a
    /// letter after it (a duration, a typo) goes to the parser.
    fn number(&mut self, negative: bool) -> Option<Lit> {
        let b = self.b;
        let start = self.i;
        let mut j = start;
        let mut int: i64 = 0;
        let mut digits = 0;
        while let Some(&c) = b.get(j) {
            if !c.is_ascii_digit() {
                break;
            }
            int = int.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
            digits += 1;
            j += 1;
        }
        let mut float = false;
        let mut exact = None; // digits / 10^k when both are exact in an f64
        if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
            float = true;
            j += 1;
            let (mut mantissa, mut k) = (int, 0usize);
            while let Some(&c) = b.get(j).filter(|c| c.is_ascii_digit()) {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(i64::from(c - b'0'));
                k += 1;
                j += 1;
            }
            // below 2^53 and 10^22: one correctly rounded division
            if digits + k <= 15 {
                exact = Some(mantissa as f64 / POW10[k]);
            }
        }
        if matches!(b.get(j), Some(b'e' | b'E')) {
            let mut k = j + 1;
            if matches!(b.get(k), Some(b'+' | b'-')) {
                k += 1;
            }
            if b.get(k).is_some_and(u8::is_ascii_digit) {
                while b.get(k).is_some_and(u8::is_ascii_digit) {
                    k += 1;
                }
                float = true;
                exact = None;
                j = k;
            }
        }
        if b.get(j)
            .is_some_and(|c| c.is_ascii_alphabetic() || *c >= 0x80)
        {
            return None;
        }
        self.i = j;
        if float {
            let v = match exact {
                Some(v) => v,
                None => self.sql[start..j].parse().ok()?,
            };
            return Some(Lit::Float(if negative { -v } else { v }));
        }
        // 18 digits always fit; longer ones take the parser's checks
        if digits > 18 {
            return None;
        }
        Some(Lit::Int(if negative { -int } else { int }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path takes `sql` and agrees with the parser.
    fn fast(sql: &str) {
        let got = insert(sql).unwrap_or_else(|| panic!("the fast path gave up on {sql}"));
        assert_eq!(got, super::super::parser::parse(sql).unwrap(), "{sql}");
    }

    /// The fast path leaves `sql` to the parser.
    fn slow(sql: &str) {
        assert_eq!(insert(sql), None, "{sql}");
    }

    #[test]
    fn agrees_with_the_parser() {
        for sql in [
            "insert into d1001 values ('2018-10-03 14:38:05.000', 10.3, 219, 0.31)",
            "INSERT INTO power.D1001 VALUES (1538548685000, 10.3, 219, 0.31) (1538548695000, 12.6, 218, 0.33);",
            "insert into t values(1,-2,+3.5e2,-4.25)(2,NULL,true,FALSE),(3,'a\\'b\\n',\"x\",now)",
            "insert into t (ts, v) values (now, 1) t2 values (2, 'é ü')",
            "import into t values (1, 0.5e-3, 7E2, 123456789012345678)",
            "insert into d21001 using meters tags ('Beijing.Chaoyang', 2) values ('2021-07-13 14:06:32.272', 10.2, 219, 0.32)",
            "insert into d1 using power.meters (location) tags ('x') (ts, current) values (1, 2) d2 using meters tags (-1, 'y') values (3, 4)",
            "insert into `Mixed` values (1, 2)",
            "insert into c0 using st tags (0) values (1599999960000,0,0.5) (1599999961000,1,0.5) c1 using st tags (1) values (1599999960000,0,1.5) ",
            "insert into t values (1, '')",
        ] {
            fast(sql);
        }
    }

    /// The next of a linear congruential sequence, and 1 to `most` decimal
    /// digits drawn from it (leading zeros now and then).
    fn random_digits(x: &mut u64, most: usize) -> String {
        *x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let digits = 1 + (*x >> 59) as usize % most;
        (0..digits)
            .map(|i| char::from(b'0' + ((*x >> (i * 3 % 60)) % 10) as u8))
            .collect()
    }

    #[test]
    fn integers_read_as_the_standard_parse_does() {
        let mut x: u64 = 7;
        for n in 0..20_000 {
            let text = random_digits(&mut x, 18);
            let want: i64 = text.parse().unwrap();
            let sql = format!("insert into t values ({text}, -{text}) ({text}.5, 1)");
            let Some(Statement::Insert(t)) = insert(&sql) else {
                panic!("{sql}")
            };
            let frac: f64 = format!("{text}.5").parse().unwrap();
            assert_eq!(
                t[0].rows.cells,
                [
                    Lit::Int(want),
                    Lit::Int(-want),
                    Lit::Float(frac),
                    Lit::Int(1)
                ],
                "{text} (case {n})"
            );
        }
    }

    #[test]
    fn short_decimals_read_as_the_standard_parse_does() {
        let mut x: u64 = 1;
        for n in 0..20_000 {
            let text = random_digits(&mut x, 16);
            let digits = text.len();
            let point = (x >> 40) as usize % digits;
            let s = format!("{}.{}", &text[..point.max(1)], &text[point.max(1)..]);
            let s = if s.ends_with('.') { format!("{s}0") } else { s };
            let sql = format!("insert into t values (1, {s}, -{s})");
            let Some(Statement::Insert(t)) = insert(&sql) else {
                panic!("{sql}")
            };
            let want: f64 = s.parse().unwrap();
            assert_eq!(
                t[0].rows.cells[1..],
                [Lit::Float(want), Lit::Float(-want)],
                "{s} (case {n})"
            );
        }
    }

    #[test]
    fn gives_up_where_the_parser_decides() {
        for sql in [
            "select * from t",
            "insert into t values (now - 1h, 1)",
            "insert into t values (1, 2 + 3)",
            "insert into t values (1, 1m)",
            "insert into t values (1, 12345678901234567890)",
            "insert into t values (1, 2,)",
            "insert into t values (1, 2",
            "insert into t values ('unterminated, 2)",
            "insert into t -- comment\n values (1, 2)",
            "insert into t values",
            "insert into t file '/tmp/x.csv'",
            "insert into t values (1, 2) 5",
            "insert into t values (1, 2); select 1",
            "insert into tä values (1, 2)",
            "insert into t (a) using st tags (1) (b) values (1, 2)",
            "insert into t values (1, abs(2))",
            "insert into t values (1, - 2)",
            "insert into t values (1, 2) (3)",
        ] {
            slow(sql);
        }
    }
}
