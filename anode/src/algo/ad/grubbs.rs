//! Iterative two-sided Grubbs test (`outlier-utils` `smirnov_grubbs.test`).
//!
//! Repeatedly remove the value furthest from the mean while its G statistic
//! exceeds the critical value at significance `1 - alpha`. As upstream, the
//! verdict is value based: every occurrence of a removed value is anomalous.
//!
//! May import: `error`, `options`, `stats`, its parent's `mark_by_value`.

use serde_json::{Value, json};

use super::mark_by_value;
use crate::algo::{AdInput, AnomalyDetector, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;
use crate::stats::{mean, pstd, t_isf};

pub const DEFAULT_ALPHA: f64 = 0.95;

pub struct Grubbs;

/// The values that survive the test, in input order.
pub fn remaining(x: &[f64], significance: f64) -> Vec<f64> {
    let mut data = x.to_vec();
    while data.len() >= 3 {
        let n = data.len() as f64;
        let (m, sd) = (mean(&data), pstd(&data));
        let mut target = 0;
        let mut dev = f64::NEG_INFINITY;
        for (i, v) in data.iter().enumerate() {
            let d = (v - m).abs();
            if d > dev {
                (target, dev) = (i, d);
            }
        }
        let g = dev / sd;
        let t = t_isf(significance / (2.0 * n), n - 2.0);
        let g_crit = (n - 1.0) / n.sqrt() * (t * t / (n - 2.0 + t * t)).sqrt();
        // NaN (a constant series) compares false and ends the loop.
        if g > g_crit {
            data.remove(target);
        } else {
            break;
        }
    }
    data
}

impl Describe for Grubbs {
    fn name(&self) -> &'static str {
        "grubbs"
    }
    fn desc(&self) -> &'static str {
        "Grubbs' test is to detect the presence of one outlier in a data set that is normally\n    distributed"
    }
    fn params(&self) -> Value {
        json!({ "alpha": DEFAULT_ALPHA })
    }
}

impl AnomalyDetector for Grubbs {
    fn detect(&self, input: AdInput<'_>, options: &Options) -> Result<Vec<i64>> {
        let alpha = options.float("alpha", DEFAULT_ALPHA)?;
        if !(alpha > 0.0 && alpha < 1.0) {
            bail!("invalid alpha value, valid range is (0, 1)");
        }
        let kept = remaining(input.values, 1.0 - alpha);
        Ok(mark_by_value(input.values, kept, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{X17, anomalies, ts};

    fn run(opt: &str, x: &[f64]) -> Result<Vec<usize>> {
        let t = ts(x.len());
        Grubbs
            .detect(AdInput { values: x, ts: &t }, &Options::parse(Some(opt)))
            .map(|c| anomalies(&c))
    }

    #[test]
    fn spec_vector() {
        assert_eq!(run("alpha=0.95", &X17).unwrap(), vec![16]);
        assert_eq!(run("", &X17).unwrap(), vec![16]);
    }

    #[test]
    fn removes_repeatedly_and_marks_equal_values() {
        // outlier-utils removes 30 and then 18.
        let x = [
            10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2, 9.8, 10.1, 9.9, 10.3, 9.7, 30.0, 10.0, 9.6,
            18.0,
        ];
        assert_eq!(run("", &x).unwrap(), vec![12, 15]);
        // Two equal extremes mask each other (as in outlier-utils).
        let x = [
            10.0, 11.0, 9.0, 10.5, 9.5, 10.0, 10.2, 9.8, 10.1, 9.9, 100.0, 60.0, 100.0,
        ];
        assert!(run("", &x).unwrap().is_empty());
    }

    #[test]
    fn alpha_is_validated() {
        for bad in ["alpha=1", "alpha=0", "alpha=1.5"] {
            assert_eq!(
                run(bad, &X17).unwrap_err().message(),
                "invalid alpha value, valid range is (0, 1)"
            );
        }
    }

    #[test]
    fn constant_series_is_normal() {
        assert!(run("", &[2.0; 12]).unwrap().is_empty());
    }
}
