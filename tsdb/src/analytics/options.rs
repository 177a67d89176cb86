//! The option string of the analysis functions (spec analytics-sql §3):
//! `'algo=holtwinters, rows=10, conf=0.95'`.
//!
//! Parsed as taosd parses it, not as the anode does: split on `,`, skip
//! empty parts, split each on `=` and trim both sides, ignore a part that
//! does not give a key and a value (`'a ='`), refuse an empty key
//! (`' = a'`), keep the **first** value of a repeated key. Keys are
//! case-sensitive. The raw text still goes to the anode unchanged, so
//! algorithm keys (`k=2`, `period=12`) pass through unchecked here.
//!
//! May import: `error`.

use crate::error::{DbError, Result, code};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisOptions {
    /// The text as written, without its quotes: sent as `"option"`.
    pub raw: String,
    pairs: Vec<(String, String)>,
}

impl AnalysisOptions {
    /// `default` is the function's option text when the user gave none
    /// (`"algo=holtwinters"` for FORECAST, ...).
    pub fn parse(text: Option<&str>, default: &str) -> Result<AnalysisOptions> {
        let raw = text.unwrap_or(default).to_owned();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in raw.split(',') {
            if part.trim().is_empty() {
                continue;
            }
            let mut kv = part.splitn(2, '=');
            let key = kv.next().unwrap_or("").trim();
            let Some(value) = kv.next().map(str::trim) else {
                continue;
            };
            if key.is_empty() {
                return Err(DbError::new(
                    code::INVALID_PARA,
                    format!("Invalid parameters: option '{}' has no key", part.trim()),
                ));
            }
            if value.is_empty() || pairs.iter().any(|(k, _)| k == key) {
                continue;
            }
            pairs.push((key.to_owned(), value.to_owned()));
        }
        // the function's default algorithm when the user's text names none
        if !pairs.iter().any(|(k, _)| k == "algo") {
            if let Some(algo) = default.strip_prefix("algo=") {
                let algo = algo.split(',').next().unwrap_or(algo);
                pairs.push(("algo".into(), algo.to_owned()));
            }
        }
        Ok(AnalysisOptions { raw, pairs })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every key and value, in the order written (first of each key).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The algorithm, lower-cased for the lookup (spec §2).
    pub fn algo(&self) -> Result<String> {
        self.get("algo")
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| DbError::new(code::ANA_ALGO_NOT_FOUND, "Analysis algorithm is missing"))
    }

    /// An integer option; `what` names it in the error (0x80000118).
    pub fn int(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                DbError::new(
                    code::INVALID_PARA,
                    format!("Invalid parameters: {key}={v} is not an integer"),
                )
            }),
        }
    }

    pub fn float(&self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(Some(x)),
                _ => Err(DbError::new(
                    code::INVALID_PARA,
                    format!("Invalid parameters: {key}={v} is not a number"),
                )),
            },
        }
    }

    /// `wncheck` (default 1).
    pub fn wncheck(&self) -> Result<i64> {
        Ok(self.int("wncheck")?.unwrap_or(1))
    }

    /// The POST timeout: `timeout=` seconds in 1..=1200, default 60. Out of
    /// range is reset to 60 as taosd does (its system test expects
    /// `timeout=6000` and `timeout=0` to run); a value that is not a number
    /// is an error.
    pub fn timeout(&self) -> Result<std::time::Duration> {
        let secs = match self.int("timeout")? {
            Some(s) if (1..=super::MAX_TIMEOUT_SECS).contains(&s) => s,
            Some(s) => {
                tracing::debug!(timeout = s, "timeout out of 1..1200 s: using 60 s");
                super::DEFAULT_TIMEOUT_SECS
            }
            None => super::DEFAULT_TIMEOUT_SECS,
        };
        Ok(std::time::Duration::from_secs(secs as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn taosd_rules() {
        let o =
            AnalysisOptions::parse(Some(" algo = HoltWinters , conf = 0.5 "), "algo=x").unwrap();
        assert_eq!(o.algo().unwrap(), "holtwinters");
        assert_eq!(o.get("conf"), Some("0.5"));
        // trailing and doubled commas, a key without a value: accepted
        for ok in [
            "algo=holtwinters,conf=0.5,",
            "algo=holtwinters,,",
            "algo=holtwinters, a    =",
        ] {
            let o = AnalysisOptions::parse(Some(ok), "").unwrap();
            assert_eq!(o.algo().unwrap(), "holtwinters", "{ok}");
        }
        // an empty key fails
        let e = AnalysisOptions::parse(Some("algo=holtwinters,     =   a ,"), "").unwrap_err();
        assert_eq!(e.code, code::INVALID_PARA);
        // the first of a repeated key wins; keys are case-sensitive
        let o = AnalysisOptions::parse(Some("rows=3,rows=5,ROWS=7"), "algo=holtwinters").unwrap();
        assert_eq!(o.int("rows").unwrap(), Some(3));
        assert_eq!(o.int("ROWS").unwrap(), Some(7));
        assert_eq!(o.algo().unwrap(), "holtwinters");
        assert_eq!(o.raw, "rows=3,rows=5,ROWS=7");
        // defaults
        let o = AnalysisOptions::parse(None, "algo=iqr").unwrap();
        assert_eq!(
            (o.raw.as_str(), o.algo().unwrap().as_str()),
            ("algo=iqr", "iqr")
        );
        assert_eq!(o.wncheck().unwrap(), 1);
        // timeout: out of range is 60 s, garbage is an error
        for (t, secs) in [
            ("timeout=6000", 60),
            ("timeout=0", 60),
            ("timeout=120", 120),
        ] {
            let o = AnalysisOptions::parse(Some(t), "").unwrap();
            assert_eq!(o.timeout().unwrap().as_secs(), secs);
        }
        let o = AnalysisOptions::parse(Some("rows=abc"), "").unwrap();
        assert_eq!(o.int("rows").unwrap_err().code, code::INVALID_PARA);
        assert_eq!(
            AnalysisOptions::parse(Some("k=2"), "")
                .unwrap()
                .algo()
                .unwrap_err()
                .code,
            code::ANA_ALGO_NOT_FOUND
        );
    }
}
