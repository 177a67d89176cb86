//! Anomaly detection (`type: "anomaly-detection"`, spec §5.1).
//!
//! The univariate detectors (ksigma, iqr, grubbs, shesd, lof) analyse `val`;
//! the PyOD family of TDgpt 3.4 (ecod, copod, hbos, iforest, pca) are
//! [`RowScorer`]s: each scores rows of every data column, and one blanket
//! implementation flags the top `contamination` share of scores, as PyOD's
//! `labels_` do ([`flag_top`]).
//!
//! May import: `error`, `options`, `stats`.

pub mod ecod;
pub mod grubbs;
pub mod hbos;
pub mod iforest;
pub mod iqr;
pub mod ksigma;
pub mod lof;
pub mod pca;
pub mod shesd;

use crate::algo::{AdInput, AnomalyDetector, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

/// Most data columns of one `/anomaly-detect` request. Upstream has no
/// bound; TDengine selects at most 4,096 columns, but a detector's cost
/// grows with the columns (PCA's covariance as their square), and 1,024 ×
/// 40,000 rows is already 320 MB of input.
pub const MAX_COLUMNS: usize = 1024;

/// PyOD's default `contamination`, and upstream's.
pub const DEFAULT_CONTAMINATION: f64 = 0.1;

/// The `contamination` option with upstream's checks (`pyod_util.py`):
/// a number in (0, 0.5].
pub fn contamination(o: &Options) -> Result<f64> {
    let Some(v) = o.get("contamination") else {
        return Ok(DEFAULT_CONTAMINATION);
    };
    let Ok(c) = crate::options::parse_float(v) else {
        bail!("contamination must be a number, got: '{v}'");
    };
    if c <= 0.0 || c > 0.5 || c.is_nan() {
        bail!("contamination value out of range, valid range (0, 0.5]");
    }
    Ok(c)
}

/// An integer option of the PyOD family with upstream's messages: Python
/// `int()` of the text, then at least `min`.
pub fn int_at_least(o: &Options, key: &str, default: i64, min: i64) -> Result<i64> {
    let Some(v) = o.get(key) else {
        return Ok(default);
    };
    let Ok(i) = crate::options::parse_int(v) else {
        bail!("{key} must be an integer, got: '{v}'");
    };
    if i < min {
        match min {
            1 => bail!("{key} should be greater than 0"),
            0 => bail!("{key} must be >= 0"),
            _ => bail!("{key} should be >= {min}"),
        }
    }
    Ok(i)
}

/// PyOD's `_process_decision_scores`: the threshold is numpy's
/// `percentile(scores, 100·(1 − c))` (linear), and a row is anomalous iff
/// its score is strictly above it. NaN scores are never flagged.
pub fn flag_top(scores: &[f64], contamination: f64) -> Vec<i64> {
    let mut finite: Vec<f64> = scores.iter().copied().filter(|v| !v.is_nan()).collect();
    if finite.is_empty() {
        return vec![NORMAL; scores.len()];
    }
    let q = 100.0 * (1.0 - contamination) / 100.0;
    let threshold = crate::stats::numpy_quantile_mut(&mut finite, q);
    scores
        .iter()
        .map(|s| if *s > threshold { ANOMALY } else { NORMAL })
        .collect()
}

/// The PyOD family: a detector that scores every row over all the data
/// columns (higher is more anomalous). PyOD's labelling turns the scores
/// into codes — the same for every member — so a scorer is an
/// [`AnomalyDetector`] through the blanket implementation below, which
/// reads `contamination`, checks the columns and flags the top share.
pub trait RowScorer: Describe {
    /// The row scores; the member's own options are checked here.
    fn scores(&self, columns: &[&[f64]], options: &Options) -> Result<Vec<f64>>;
}

impl<T: RowScorer> AnomalyDetector for T {
    fn detect(&self, input: AdInput<'_>, options: &Options) -> Result<Vec<i64>> {
        self.detect_columns(&[input.values], input.ts, options)
    }
    fn multivariate(&self) -> bool {
        true
    }
    fn detect_columns(&self, columns: &[&[f64]], _: &[i64], options: &Options) -> Result<Vec<i64>> {
        let c = contamination(options)?;
        check_columns(columns)?;
        Ok(flag_top(&self.scores(columns, options)?, c))
    }
}

/// The columns of a request as equally long slices; upstream's message
/// when they are not.
pub fn check_columns(columns: &[&[f64]]) -> Result<usize> {
    let n = columns.first().map_or(0, |c| c.len());
    if columns.iter().any(|c| c.len() != n) {
        bail!("multiple dimensions of data for anomaly detection are not equalled");
    }
    Ok(n)
}

/// Code the built-in detectors give an anomalous value.
pub const ANOMALY: i64 = -1;
/// Code of a normal value (upstream's default `valid_code`).
pub const NORMAL: i64 = 1;

/// Value-based verdicts (upstream's grubbs and shesd): a value is anomalous
/// iff it is (`listed_are_anomalies`) or is not (otherwise) among `listed`,
/// so every occurrence of a value gets the same code.
pub fn mark_by_value(x: &[f64], mut listed: Vec<f64>, listed_are_anomalies: bool) -> Vec<i64> {
    listed.sort_by(f64::total_cmp);
    x.iter()
        .map(|v| {
            let found = listed.binary_search_by(|k| k.total_cmp(v)).is_ok();
            if found == listed_are_anomalies {
                ANOMALY
            } else {
                NORMAL
            }
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod testdata {
    /// The upstream anomaly series (spec §9.1).
    pub const X17: [f64; 17] = [
        5.0, 14.0, 15.0, 15.0, 14.0, 19.0, 17.0, 16.0, 20.0, 22.0, 8.0, 21.0, 28.0, 11.0, 9.0,
        29.0, 40.0,
    ];

    pub fn ts(n: usize) -> Vec<i64> {
        (0..n as i64)
            .map(|i| 1_577_808_000_000 + 1000 * i)
            .collect()
    }

    /// Indexes `d` flags on [`X17`] with the option string `options`.
    pub fn flagged_x17(d: &dyn crate::algo::AnomalyDetector, options: &str) -> Vec<usize> {
        let t = ts(17);
        let input = crate::algo::AdInput {
            values: &X17,
            ts: &t,
        };
        anomalies(
            &d.detect(input, &crate::options::Options::parse(Some(options)))
                .unwrap(),
        )
    }

    /// The message `d` refuses [`X17`] with under `options`.
    pub fn refusal_x17(d: &dyn crate::algo::AnomalyDetector, options: &str) -> String {
        let t = ts(17);
        let input = crate::algo::AdInput {
            values: &X17,
            ts: &t,
        };
        d.detect(input, &crate::options::Options::parse(Some(options)))
            .unwrap_err()
            .to_string()
    }

    /// Indexes flagged anomalous.
    pub fn anomalies(codes: &[i64]) -> Vec<usize> {
        codes
            .iter()
            .enumerate()
            .filter(|(_, c)| **c != super::NORMAL)
            .map(|(i, _)| i)
            .collect()
    }
}
