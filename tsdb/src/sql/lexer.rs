//! Tokens of TDengine's SQL dialect.
//!
//! Keywords and unquoted identifiers are case-insensitive and lower-cased;
//! strings take single or double quotes with `\` escapes; backticks quote
//! identifiers. A number directly followed by a time unit (`30s`, `1m`,
//! `10a`, `1n`) is one duration token, as in `INTERVAL(1m)` and `now - 2h`.
//!
//! May import: `error`, `limits`.

use crate::error::{DbError, Result};
use crate::limits::{MAX_LITERAL_BYTES, MAX_TOKENS};

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Unquoted word, lower-cased.
    Word(String),
    /// `quoted` identifier, case kept.
    Quoted(String),
    Str(String),
    Int(i64),
    Float(f64),
    /// Count and unit letter (`b u a s m h d w n y`).
    Duration(i64, char),
    Sym(&'static str),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    /// Byte offset in the statement.
    pub pos: usize,
    /// Byte length of the token's source text.
    pub len: usize,
}

/// The symbol starting with `c` (and `next`), and its length in bytes.
/// `==` is read as `=`.
fn symbol(c: u8, next: Option<u8>) -> Option<(&'static str, usize)> {
    Some(match (c, next) {
        (b'<', Some(b'=')) => ("<=", 2),
        (b'>', Some(b'=')) => (">=", 2),
        (b'<', Some(b'>')) => ("<>", 2),
        (b'!', Some(b'=')) => ("!=", 2),
        (b'=', Some(b'=')) => ("=", 2),
        (b'(', _) => ("(", 1),
        (b')', _) => (")", 1),
        (b',', _) => (",", 1),
        (b';', _) => (";", 1),
        (b'.', _) => (".", 1),
        (b'*', _) => ("*", 1),
        (b'+', _) => ("+", 1),
        (b'-', _) => ("-", 1),
        (b'/', _) => ("/", 1),
        (b'%', _) => ("%", 1),
        (b'=', _) => ("=", 1),
        (b'<', _) => ("<", 1),
        (b'>', _) => (">", 1),
        (b':', _) => (":", 1),
        _ => return None,
    })
}

pub fn tokenize(sql: &str) -> Result<Vec<Token>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if out.len() == MAX_TOKENS {
            return Err(DbError::syntax(format!(
                "statement too long: more than {MAX_TOKENS} tokens; split it into several"
            )));
        }
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // -- comments to the end of the line
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let tok = if c == b'\'' || c == b'"' {
            let (s, end) = string(sql, i)?;
            i = end;
            Tok::Str(s)
        } else if c == b'`' {
            let end = sql[i + 1..].find('`').ok_or_else(|| {
                DbError::syntax(format!("unterminated quoted identifier at position {i}"))
            })?;
            let name = sql[i + 1..i + 1 + end].to_owned();
            i += end + 2;
            Tok::Quoted(name)
        } else if c.is_ascii_digit() {
            let (t, end) = number(sql, i)?;
            i = end;
            t
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] >= 0x80) {
                j += 1;
            }
            let w = sql[i..j].to_lowercase();
            i = j;
            Tok::Word(w)
        } else if let Some((s, n)) = symbol(c, b.get(i + 1).copied()) {
            i += n;
            Tok::Sym(s)
        } else {
            return Err(DbError::syntax(format!(
                "syntax error near \"{}\" (at position {i}): unexpected character",
                &sql[i..]
                    .chars()
                    .next()
                    .map(String::from)
                    .unwrap_or_default()
            )));
        };
        out.push(Token {
            tok,
            pos: start,
            len: i - start,
        });
    }
    out.push(Token {
        tok: Tok::End,
        pos: sql.len(),
        len: 0,
    });
    Ok(out)
}

/// A quoted string starting at `i`; returns it and the index after it.
fn string(sql: &str, i: usize) -> Result<(String, usize)> {
    let quote = sql.as_bytes()[i] as char;
    let mut out = String::new();
    let mut chars = sql[i + 1..].char_indices();
    while let Some((k, ch)) = chars.next() {
        if ch == '\\' {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, e)) => out.push(e),
                None => break,
            }
        } else if ch == quote {
            if out.len() > MAX_LITERAL_BYTES {
                return Err(DbError::syntax(format!(
                    "string literal too long: {} bytes at position {i}, the limit is {MAX_LITERAL_BYTES}",
                    out.len()
                )));
            }
            return Ok((out, i + 1 + k + 1));
        } else {
            out.push(ch);
        }
    }
    Err(DbError::syntax(format!(
        "unterminated string starting at position {i}"
    )))
}

fn number(sql: &str, i: usize) -> Result<(Tok, usize)> {
    let b = sql.as_bytes();
    let mut j = i;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    let mut float = false;
    if j < b.len() && b[j] == b'.' && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        float = true;
        j += 1;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
    }
    if j < b.len() && (b[j] == b'e' || b[j] == b'E') {
        let mut k = j + 1;
        if k < b.len() && (b[k] == b'+' || b[k] == b'-') {
            k += 1;
        }
        if k < b.len() && b[k].is_ascii_digit() {
            while k < b.len() && b[k].is_ascii_digit() {
                k += 1;
            }
            float = true;
            j = k;
        }
    }
    let text = &sql[i..j];
    // a duration: integer immediately followed by one unit letter
    if !float && j < b.len() && b[j].is_ascii_alphabetic() {
        let unit = (b[j] as char).to_ascii_lowercase();
        let next_is_word = b
            .get(j + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
        if "buasmhdwny".contains(unit) && !next_is_word {
            let n = text
                .parse::<i64>()
                .map_err(|_| DbError::syntax(format!("duration {text}{unit} is too large")))?;
            return Ok((Tok::Duration(n, unit), j + 1));
        }
        return Err(DbError::syntax(format!(
            "syntax error near \"{}\" (at position {i}): invalid number",
            &sql[i..(j + 1).min(sql.len())]
        )));
    }
    if float {
        let v = text
            .parse::<f64>()
            .map_err(|_| DbError::syntax(format!("invalid number {text}")))?;
        Ok((Tok::Float(v), j))
    } else {
        match text.parse::<i64>() {
            Ok(v) => Ok((Tok::Int(v), j)),
            // Integer literals beyond BIGINT are an error in TDengine.
            Err(_) => Err(DbError::invalid(format!(
                "integer {text} is out of the BIGINT range"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn words_strings_numbers_durations() {
        assert_eq!(
            toks("SELECT avg(voltage) FROM Meters interval(1m) sliding(30s);"),
            vec![
                Tok::Word("select".into()),
                Tok::Word("avg".into()),
                Tok::Sym("("),
                Tok::Word("voltage".into()),
                Tok::Sym(")"),
                Tok::Word("from".into()),
                Tok::Word("meters".into()),
                Tok::Word("interval".into()),
                Tok::Sym("("),
                Tok::Duration(1, 'm'),
                Tok::Sym(")"),
                Tok::Word("sliding".into()),
                Tok::Sym("("),
                Tok::Duration(30, 's'),
                Tok::Sym(")"),
                Tok::Sym(";"),
                Tok::End,
            ]
        );
        assert_eq!(
            toks(r#"'it\'s' "Beijing.Chaoyang" 10.3 -2 1e3 `Name`"#),
            vec![
                Tok::Str("it's".into()),
                Tok::Str("Beijing.Chaoyang".into()),
                Tok::Float(10.3),
                Tok::Sym("-"),
                Tok::Int(2),
                Tok::Float(1000.0),
                Tok::Quoted("Name".into()),
                Tok::End,
            ]
        );
    }

    #[test]
    fn errors_name_the_position() {
        let e = tokenize("select 'abc").unwrap_err();
        assert_eq!(e.msg, "unterminated string starting at position 7");
        let e = tokenize("select 12x from t").unwrap_err();
        assert_eq!(
            e.msg,
            "syntax error near \"12x\" (at position 7): invalid number"
        );
        let e = tokenize("select 99999999999999999999").unwrap_err();
        assert_eq!(
            e.msg,
            "integer 99999999999999999999 is out of the BIGINT range"
        );
    }
}
