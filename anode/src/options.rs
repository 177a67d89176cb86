//! The algorithm option string, `"algo=ksigma,k=2,wncheck=0"`.
//!
//! Parsed exactly as taosanalytics' `parse_options` does (spec §3.3), so the
//! same SQL option string means the same thing here: split on `,`, skip
//! pieces without `=` or shorter than 3 characters, split on `=` keeping only
//! the first two parts, trim, skip empty keys or values, and let later
//! duplicates win. Keys are case-sensitive and values stay strings until an
//! algorithm asks for a typed value; the typed getters produce the same
//! messages Python's `int()` / `float()` would, because users know them.
//!
//! May import: `error`.

use std::collections::BTreeMap;

use crate::bail;
use crate::error::Result;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    map: BTreeMap<String, String>,
}

impl Options {
    pub fn parse(text: Option<&str>) -> Self {
        let mut map = BTreeMap::new();
        for piece in text.unwrap_or("").split(',') {
            let piece = piece.trim();
            if !piece.contains('=') || piece.chars().count() < 3 {
                continue;
            }
            let mut kv = piece.split('=');
            let key = kv.next().unwrap_or("").trim();
            let value = kv.next().unwrap_or("").trim();
            if key.is_empty() || value.is_empty() {
                continue;
            }
            map.insert(key.to_owned(), value.to_owned());
        }
        Self { map }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Integer option; `int("2.0")` fails in Python and fails here.
    pub fn int(&self, key: &str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_int(v),
        }
    }

    /// Float option, with Python `float()`'s error text.
    pub fn float(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_float(v),
        }
    }

    pub fn string<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// A 0/1/true/false style flag.
    pub fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => match v.to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => bail!("{key} should be 0 or 1, actual '{v}'"),
            },
        }
    }
}

/// Python `int(str)` for the strings an option can hold.
pub fn parse_int(v: &str) -> Result<i64> {
    let t = v.trim().replace('_', "");
    match t.parse::<i64>() {
        Ok(i) if !t.is_empty() && !v.trim().starts_with('_') => Ok(i),
        _ => bail!("invalid literal for int() with base 10: '{v}'"),
    }
}

/// Python `float(str)` for the strings an option can hold.
pub fn parse_float(v: &str) -> Result<f64> {
    let t = v.trim();
    let lower = t.to_ascii_lowercase();
    let parsed = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" | "nan" => None,
        _ => t.parse::<f64>().ok(),
    };
    match parsed {
        Some(f) => Ok(f),
        None => bail!("could not convert string to float: '{v}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_example() {
        let o = Options::parse(Some("algo=ksigma,k=2,invalid_option=invalid_str"));
        let got: Vec<_> = o.iter().collect();
        assert_eq!(
            got,
            vec![
                ("algo", "ksigma"),
                ("invalid_option", "invalid_str"),
                ("k", "2")
            ]
        );
    }

    #[test]
    fn skips_malformed_pieces_and_later_duplicates_win() {
        let o = Options::parse(Some(" k = 1 ,noeq,=3,x=,a=b=c,ab,k=2,  ,z=9"));
        assert_eq!(o.get("k"), Some("2"));
        assert_eq!(o.get("a"), Some("b"), "text after a second '=' is dropped");
        assert_eq!(o.get("x"), None);
        assert_eq!(o.get("z"), Some("9"));
        assert_eq!(o.len(), 3);
        assert!(Options::parse(None).is_empty());
        assert!(Options::parse(Some("")).is_empty());
    }

    #[test]
    fn keys_are_case_sensitive() {
        let o = Options::parse(Some("K=1,k=2"));
        assert_eq!(o.get("K"), Some("1"));
        assert_eq!(o.get("k"), Some("2"));
    }

    #[test]
    fn typed_getters_use_python_messages() {
        let o = Options::parse(Some("k=2.0,f=abc,i=12,g=1e-3"));
        assert_eq!(
            o.int("k", 3).unwrap_err().message(),
            "invalid literal for int() with base 10: '2.0'"
        );
        assert_eq!(o.int("i", 3).unwrap(), 12);
        assert_eq!(o.int("missing", 3).unwrap(), 3);
        assert_eq!(
            o.float("f", 0.0).unwrap_err().message(),
            "could not convert string to float: 'abc'"
        );
        assert_eq!(o.float("g", 0.0).unwrap(), 1e-3);
        assert_eq!(parse_int("-7").unwrap(), -7);
        assert!(parse_float("nan").is_err(), "NaN never enters an algorithm");
    }
}
