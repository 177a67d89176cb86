//! Time-lagged cross-correlation: for each lag in `lag_start..=lag_end`, the
//! Pearson correlation of `x[t]` with `y[t + lag]` over the overlap.
//!
//! May import: `error`, `options`.

use serde_json::{Value, json};

use crate::algo::{CorrOutput, Correlator, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

pub struct Tlcc;

/// numpy `corrcoef(a, b)[0, 1]`; NaN when either slice is constant.
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    let r = sab / (saa.sqrt() * sbb.sqrt());
    // numpy clips to [-1, 1] against rounding.
    if r.is_finite() {
        r.clamp(-1.0, 1.0)
    } else {
        f64::NAN
    }
}

impl Describe for Tlcc {
    fn name(&self) -> &'static str {
        "tlcc"
    }
    fn desc(&self) -> &'static str {
        "calculate the TLCC value for two time series data"
    }
    fn params(&self) -> Value {
        json!({ "lag_end": 1, "lag_start": -1 })
    }
}

impl Correlator for Tlcc {
    fn correlate(&self, x: &[f64], y: &[f64], options: &Options) -> Result<CorrOutput> {
        if x.len() != y.len() {
            bail!("input lists are mismatch, tlcc values not return");
        }
        let n = x.len() as i64;
        let lag_start = options.int("lag_start", -1)?;
        let lag_end = options.int("lag_end", 1)?;
        if lag_start.abs() >= n {
            bail!("lag_start value out of range, should be less than list length");
        }
        if lag_end.abs() >= n {
            bail!("lag_end value out of range, should be less than list length");
        }
        if lag_start > lag_end {
            bail!("lag_start should be less than or equal to lag_end value");
        }
        let n = n as usize;
        let lags: Vec<i64> = (lag_start..=lag_end).collect();
        let ccf = lags
            .iter()
            .map(|&lag| {
                let l = lag.unsigned_abs() as usize;
                if lag >= 0 {
                    pearson(&x[..n - l], &y[l..])
                } else {
                    pearson(&x[l..], &y[..n - l])
                }
            })
            .collect();
        Ok(CorrOutput::Tlcc { lags, ccf })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_vector() {
        let x = [1.0, 1.1, 1.0, 1.2, 1.1];
        let y = [1.0, 1.5, 1.3, 1.8, 1.6];
        let CorrOutput::Tlcc { lags, ccf } = Tlcc.correlate(&x, &y, &Options::default()).unwrap()
        else {
            panic!()
        };
        assert_eq!(lags, vec![-1, 0, 1]);
        let expect = [
            -0.2425356250363329,
            0.9210376169618041,
            -0.25087260300212755,
        ];
        for (c, e) in ccf.iter().zip(expect) {
            assert!((c - e).abs() < 1e-12, "{c} vs {e}");
        }
    }

    #[test]
    fn finds_a_known_shift() {
        let x: Vec<f64> = (0..100).map(|i| ((i * 7919) % 101) as f64).collect();
        let mut y = vec![0.0; 100];
        for i in 0..100 {
            y[(i + 3) % 100] = x[i];
        }
        let o = Options::parse(Some("lag_start=-20,lag_end=20"));
        let CorrOutput::Tlcc { lags, ccf } = Tlcc.correlate(&x, &y, &o).unwrap() else {
            panic!()
        };
        assert_eq!(lags.len(), 41);
        let best = (0..41).max_by(|&a, &b| ccf[a].total_cmp(&ccf[b])).unwrap();
        assert_eq!(lags[best], 3);
        assert!((ccf[best] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn constant_slice_is_nan_and_lags_are_validated() {
        let x = [1.0; 5];
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        let CorrOutput::Tlcc { ccf, .. } = Tlcc.correlate(&x, &y, &Options::default()).unwrap()
        else {
            panic!()
        };
        assert!(ccf.iter().all(|c| c.is_nan()));
        let err = |o: &str| {
            Tlcc.correlate(&y, &y, &Options::parse(Some(o)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("lag_start=-5"),
            "lag_start value out of range, should be less than list length"
        );
        assert_eq!(
            err("lag_end=7"),
            "lag_end value out of range, should be less than list length"
        );
        assert_eq!(
            err("lag_start=1,lag_end=0"),
            "lag_start should be less than or equal to lag_end value"
        );
        assert_eq!(
            Tlcc.correlate(&y, &y[..4], &Options::default())
                .unwrap_err()
                .to_string(),
            "input lists are mismatch, tlcc values not return"
        );
    }
}
