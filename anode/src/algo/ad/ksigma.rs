//! k-sigma: values further than `k` population standard deviations from the
//! mean are anomalies (strict inequality, numpy's `std` with ddof 0).
//!
//! May import: `error`, `options`, `stats`.

use serde_json::{Value, json};

use super::{ANOMALY, NORMAL};
use crate::algo::{AdInput, AnomalyDetector, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;
use crate::stats::{mean, pstd};

pub const DEFAULT_K: i64 = 3;

pub struct KSigma;

impl KSigma {
    /// The `(lower, upper)` bounds for `k`.
    pub fn bounds(x: &[f64], k: f64) -> (f64, f64) {
        let (m, s) = (mean(x), pstd(x));
        (m - k * s, m + k * s)
    }
}

impl Describe for KSigma {
    fn name(&self) -> &'static str {
        "ksigma"
    }
    fn desc(&self) -> &'static str {
        "the k-sigma algorithm (or 3\u{3c3} rule) expresses a conventional heuristic that nearly all\n    values are taken to lie within k (usually three) standard deviations of the mean, and thus\n    it is empirically useful to treat 99.7% probability as near certainty"
    }
    fn params(&self) -> Value {
        json!({ "k": DEFAULT_K })
    }
}

impl AnomalyDetector for KSigma {
    fn detect(&self, input: AdInput<'_>, options: &Options) -> Result<Vec<i64>> {
        let k = options.int("k", DEFAULT_K)?;
        if !(1..=3).contains(&k) {
            bail!("k value out of range, valid range [1, 3]");
        }
        let x = input.values;
        if x.is_empty() {
            return Ok(Vec::new());
        }
        let (lo, hi) = Self::bounds(x, k as f64);
        Ok(x.iter()
            .map(|&v| if v < lo || v > hi { ANOMALY } else { NORMAL })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{X17, anomalies, ts};

    fn run(k: &str) -> Result<Vec<usize>> {
        let t = ts(17);
        KSigma
            .detect(
                AdInput {
                    values: &X17,
                    ts: &t,
                },
                &Options::parse(Some(k)),
            )
            .map(|c| anomalies(&c))
    }

    #[test]
    fn spec_vectors() {
        let (lo, hi) = KSigma::bounds(&X17, 1.0);
        assert!((lo - 9.46231).abs() < 1e-5 && (hi - 26.18475).abs() < 1e-5);
        assert_eq!(run("k=1").unwrap(), vec![0, 10, 12, 14, 15, 16]);
        let (lo, hi) = KSigma::bounds(&X17, 2.0);
        assert!((lo - 1.10109).abs() < 1e-5 && (hi - 34.54597).abs() < 1e-5);
        assert_eq!(run("k=2").unwrap(), vec![16]);
        let (lo, hi) = KSigma::bounds(&X17, 3.0);
        assert!((lo + 7.26014).abs() < 1e-5 && (hi - 42.90720).abs() < 1e-5);
        assert_eq!(run("").unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn k_is_validated() {
        assert_eq!(
            run("k=4").unwrap_err().message(),
            "k value out of range, valid range [1, 3]"
        );
        assert_eq!(
            run("k=0").unwrap_err().message(),
            "k value out of range, valid range [1, 3]"
        );
        assert_eq!(
            run("k=2.0").unwrap_err().message(),
            "invalid literal for int() with base 10: '2.0'"
        );
    }

    #[test]
    fn constant_series_has_no_anomaly() {
        let v = [4.0; 12];
        let t = ts(12);
        let c = KSigma
            .detect(AdInput { values: &v, ts: &t }, &Options::default())
            .unwrap();
        assert!(c.iter().all(|&c| c == NORMAL));
    }
}
