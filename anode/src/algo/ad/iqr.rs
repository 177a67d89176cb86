//! Inter-quartile range: anomalies lie below `q1 - 1.5 IQR` or above
//! `q3 + 1.5 IQR`, with numpy's linear quantiles.
//!
//! May import: `error`, `options`, `stats`.

use super::{ANOMALY, NORMAL};
use crate::algo::{AdInput, AnomalyDetector, Describe};
use crate::error::Result;
use crate::options::Options;
use crate::stats::quantile_mut;

pub struct Iqr;

impl Iqr {
    pub fn bounds(x: &[f64]) -> (f64, f64) {
        let mut s = x.to_vec();
        let (q1, q3) = (quantile_mut(&mut s, 0.25), quantile_mut(&mut s, 0.75));
        let iqr = q3 - q1;
        (q1 - 1.5 * iqr, q3 + 1.5 * iqr)
    }
}

impl Describe for Iqr {
    fn name(&self) -> &'static str {
        "iqr"
    }
    fn desc(&self) -> &'static str {
        "found the anomaly data according to the inter-quartile range"
    }
}

impl AnomalyDetector for Iqr {
    fn detect(&self, input: AdInput<'_>, _options: &Options) -> Result<Vec<i64>> {
        let x = input.values;
        if x.is_empty() {
            return Ok(Vec::new());
        }
        let (lo, hi) = Self::bounds(x);
        Ok(x.iter()
            .map(|&v| if v < lo || v > hi { ANOMALY } else { NORMAL })
            .collect())
    }

    fn honours_valid_code(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{X17, anomalies, ts};

    #[test]
    fn spec_vectors() {
        assert_eq!(Iqr::bounds(&X17), (3.5, 31.5));
        let t = ts(17);
        // Options are ignored, including k (upstream test sets k=2).
        let c = Iqr
            .detect(
                AdInput {
                    values: &X17,
                    ts: &t,
                },
                &Options::parse(Some("k=2")),
            )
            .unwrap();
        assert_eq!(anomalies(&c), vec![16]);

        let x10 = [5.0, 14.0, 15.0, 15.0, 14.0, 19.0, 17.0, 16.0, 20.0, 44.0];
        assert_eq!(Iqr::bounds(&x10), (7.875, 24.875));
        let t = ts(10);
        let c = Iqr
            .detect(
                AdInput {
                    values: &x10,
                    ts: &t,
                },
                &Options::default(),
            )
            .unwrap();
        assert_eq!(anomalies(&c), vec![0, 9]);
    }
}
