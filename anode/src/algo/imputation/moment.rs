//! `moment`: TDgpt's imputation by the MOMENT foundation model (CMU), which
//! runs in a model server of its own, as upstream's `algo/imputat/moment.py`
//! calls it.
//!
//! The anode POSTs `{"input", "ts", "precision", "freq"}` (`freq` in pandas'
//! spelling, as upstream's framework converted it: `1S`, `5T`, `1L`) and
//! reads `target`, `mask` and `ts` back. The URL is `[tsfm-service] moment`
//! (or `models` of a `taosanode.config.py`), and a request may name another
//! with `host=`. Unlike upstream, which lists `moment` always (at
//! `DEFAULT_URL`), it is served only when configured: taosd makes `moment`
//! IMPUTATION's default wherever an anode lists it, and without a server
//! every such query would fail where `linear` answers. A server that cannot be reached,
//! answers 404 or another status, or sends an answer of the wrong shape gets
//! an error naming the URL; no NaN or mismatched lengths pass through.
//!
//! May import: `error`, `options`, `algo::model_server`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::algo::model_server::{self, post};
use crate::algo::{Describe, ImpInput, ImpOutput, Imputer};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

/// upstream's default URL of the MOMENT server (documentation: ours needs
/// one configured).
pub const DEFAULT_URL: &str = "http://127.0.0.1:6062/imputation";

pub struct Moment {
    pub url: String,
    pub timeout: Duration,
}

impl Describe for Moment {
    fn name(&self) -> &'static str {
        "moment"
    }
    fn desc(&self) -> &'static str {
        "Time-Series Foundation Model by CMU (model server)"
    }
    fn params(&self) -> Value {
        json!({"host": self.url})
    }
}

/// A grid step as pandas' frequency string, in the largest unit that
/// divides it (upstream sent `str(value) + {'d':'D','h':'H','m':'T','s':'S','ms':'L','us':'U'}`).
pub fn pandas_freq(step_ns: i64) -> String {
    const UNITS: [(i64, &str); 7] = [
        (86_400_000_000_000, "D"),
        (3_600_000_000_000, "H"),
        (60_000_000_000, "T"),
        (1_000_000_000, "S"),
        (1_000_000, "L"),
        (1_000, "U"),
        (1, "N"),
    ];
    let (unit, name) = UNITS
        .iter()
        .find(|(u, _)| step_ns % u == 0)
        .copied()
        .unwrap_or((1, "N"));
    format!("{}{name}", step_ns / unit)
}

impl Imputer for Moment {
    fn impute(&self, input: ImpInput<'_>, options: &Options) -> Result<ImpOutput> {
        let url = model_server::url(options, &self.url);
        let step_ns = input.step * (1_000_000_000 / input.precision.per_second());
        let body = json!({
            "input": input.values,
            "ts": input.ts,
            "precision": input.precision.as_str(),
            "freq": pandas_freq(step_ns),
        });
        let answer = post(&url, &body, self.timeout)?;
        let Some(target) = model_server::numbers(&answer, "target") else {
            bail!("the model server {url} sent no usable target (finite numbers)");
        };
        let ts: Option<Vec<i64>> = answer
            .get("ts")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_i64).collect());
        let mask: Option<Vec<u8>> = answer.get("mask").and_then(Value::as_array).and_then(|a| {
            a.iter()
                .map(|v| v.as_u64().filter(|m| *m <= 1).map(|m| m as u8))
                .collect()
        });
        let (Some(ts), Some(mask)) = (ts, mask) else {
            bail!("the model server {url} sent no ts and mask (integers, mask 0 or 1)");
        };
        if ts.len() != target.len() || mask.len() != target.len() {
            bail!(
                "the model server {url} sent {} ts, {} target and {} mask values",
                ts.len(),
                target.len(),
                mask.len()
            );
        }
        Ok(ImpOutput { ts, target, mask })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_in_pandas_spelling() {
        assert_eq!(pandas_freq(1_000_000_000), "1S");
        assert_eq!(pandas_freq(300_000_000_000), "5T");
        assert_eq!(pandas_freq(7_200_000_000_000), "2H");
        assert_eq!(pandas_freq(1_500_000_000), "1500L");
        assert_eq!(pandas_freq(86_400_000_000_000), "1D");
        assert_eq!(pandas_freq(1_000), "1U");
        assert_eq!(pandas_freq(7), "7N");
    }

    #[test]
    fn a_dead_server_is_named() {
        let m = Moment {
            url: "http://127.0.0.1:9/imputation".into(),
            timeout: Duration::from_secs(2),
        };
        let e = m
            .impute(
                ImpInput {
                    values: &[1.0, 2.0],
                    ts: &[0, 2000],
                    precision: crate::payload::Precision::Ms,
                    step: 1000,
                },
                &Options::default(),
            )
            .unwrap_err();
        assert!(
            e.message()
                .starts_with("failed to connect the service: http://127.0.0.1:9/imputation"),
            "{e}"
        );
    }
}
