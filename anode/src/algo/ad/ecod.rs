//! `ecod` and `copod`: outlier scores from the empirical tail probabilities
//! of each column (Li et al. 2022, ECOD; Li et al. 2020, COPOD), as PyOD
//! computes them, so the same rows are flagged.
//!
//! Per column, `U_l = −ln F(x)` and `U_r = −ln F̄(x)` with the empirical
//! CDF `F(x) = #(v ≤ x)/n` (numpy's `linspace` probabilities; equal values
//! share the last one's) and `F̄(x) = #(v ≥ x)/n`; the skewness sign picks
//! the tail (`U_skew`). ECOD scores a row by `Σ max(U_l, U_r, U_skew)`,
//! COPOD by `Σ max(U_skew, (U_l + U_r)/2)`. The top `contamination` share
//! of scores is flagged ([`flag_top`](super::flag_top)). Both are O(n log n) per column.
//!
//! One deliberate difference: PyOD's skewness of a constant column is NaN,
//! which makes every score NaN and flags nothing; here a constant column has
//! skewness sign 0 and contributes nothing (every value sits in both tails
//! with probability 1, `−ln 1 = 0`), so the other columns still decide.
//!
//! Options: `contamination` (0.1, in (0, 0.5]), `valid_code`.
//!
//! May import: `error`, `options`, its parent's `RowScorer`.

use serde_json::{Value, json};

use super::RowScorer;
use crate::algo::Describe;
use crate::error::Result;
use crate::options::Options;

/// ECOD or COPOD: the same tail scores, combined by [`Rule`].
pub struct Tails(Rule);

/// `ecod`.
pub const ECOD: Tails = Tails(Rule::Ecod);
/// `copod`.
pub const COPOD: Tails = Tails(Rule::Copod);

impl Describe for Tails {
    fn name(&self) -> &'static str {
        match self.0 {
            Rule::Ecod => "ecod",
            Rule::Copod => "copod",
        }
    }
    fn desc(&self) -> &'static str {
        match self.0 {
            Rule::Ecod => {
                "Empirical-Cumulative-distribution-based Outlier Detection (PyOD's ECOD), native"
            }
            Rule::Copod => "Copula-Based Outlier Detection (PyOD's COPOD), native",
        }
    }
    fn params(&self) -> Value {
        json!({ "contamination": super::DEFAULT_CONTAMINATION })
    }
}

/// How a column's tail scores combine into its contribution to a row.
#[derive(Clone, Copy)]
pub enum Rule {
    Ecod,
    Copod,
}

impl RowScorer for Tails {
    fn scores(&self, columns: &[&[f64]], _: &Options) -> Result<Vec<f64>> {
        Ok(scores(columns, self.0))
    }
}

/// The row scores over all columns.
fn scores(columns: &[&[f64]], rule: Rule) -> Vec<f64> {
    let n = columns.first().map_or(0, |c| c.len());
    let mut total = vec![0.0; n];
    for col in columns {
        let (left, right) = tails(col);
        let sign = skew_sign(col);
        for i in 0..n {
            let (ul, ur) = (-left[i].ln(), -right[i].ln());
            // PyOD: U_l·(−sign(s − 1)) + U_r·sign(s + 1) with s ∈ {−1, 0, 1}
            let uskew = match sign {
                s if s < 0 => ul,
                s if s > 0 => ur,
                _ => ul + ur,
            };
            total[i] += match rule {
                Rule::Ecod => ul.max(ur).max(uskew),
                Rule::Copod => uskew.max((ul + ur) / 2.0),
            };
        }
    }
    total
}

/// PyOD's `column_ecdf` of `x` and of `−x` — the left and right tail
/// probabilities — from one sort: numpy's `linspace(1/n, 1, n)` by rank,
/// equal values sharing the probability of the last of their run (in
/// ascending order for the left tail, descending for the right).
fn tails(x: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    // numpy's argsort is a quicksort, unstable; ties get one probability,
    // so the order among equal values does not matter
    let mut order: Vec<(f64, u32)> = x.iter().enumerate().map(|(i, v)| (*v, i as u32)).collect();
    order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let start = 1.0 / n as f64;
    let step = if n > 1 {
        (1.0 - start) / (n - 1) as f64
    } else {
        0.0
    };
    let prob = |rank: usize| {
        if rank == n - 1 {
            1.0
        } else {
            rank as f64 * step + start
        }
    };
    let (mut left, mut right) = (vec![0.0; n], vec![0.0; n]);
    let mut first = 0;
    while first < n {
        let mut last = first;
        while last + 1 < n && order[last + 1].0 == order[first].0 {
            last += 1;
        }
        // ascending: the run ends at `last`; descending: at `n − 1 − first`
        let (pl, pr) = (prob(last), prob(n - 1 - first));
        for &(_, i) in &order[first..=last] {
            left[i as usize] = pl;
            right[i as usize] = pr;
        }
        first = last + 1;
    }
    (left, right)
}

/// `np.finfo(float64).resolution`, scipy's yardstick for a constant column.
const SCIPY_RESOLUTION: f64 = 1e-15;

/// The sign of scipy's (biased) skewness; 0 for a constant column, where
/// scipy answers NaN (see the module doc).
fn skew_sign(x: &[f64]) -> i8 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let m2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let m3 = x.iter().map(|v| (v - mean).powi(3)).sum::<f64>() / n;
    // scipy's "precision loss" test for a constant column
    if m2 <= (SCIPY_RESOLUTION * mean).powi(2) {
        return 0;
    }
    let s = m3 / m2.powf(1.5);
    if s > 0.0 {
        1
    } else if s < 0.0 {
        -1
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::AnomalyDetector;
    use crate::algo::ad::testdata::{X17, anomalies, flagged_x17, refusal_x17, ts};

    #[test]
    fn ecdf_ties_share_the_last_probability() {
        let (p, q) = tails(&[3.0, 1.0, 3.0, 2.0]);
        assert_eq!(p, vec![1.0, 0.25, 1.0, 0.5]);
        assert_eq!(q, vec![0.5, 1.0, 0.5, 0.75]);
    }

    #[test]
    fn the_upstream_series() {
        // PyOD 2.0.5 on X17, contamination 0.1: the 5 and the 40 (ECOD),
        // the 29 and the 40 (COPOD)
        assert_eq!(flagged_x17(&ECOD, ""), vec![0, 16]);
        assert_eq!(flagged_x17(&COPOD, ""), vec![15, 16]);
    }

    #[test]
    fn options_are_checked() {
        let range = "contamination value out of range, valid range (0, 0.5]";
        assert_eq!(refusal_x17(&ECOD, "contamination=0.6"), range);
        assert_eq!(refusal_x17(&ECOD, "contamination=0"), range);
        assert_eq!(
            refusal_x17(&COPOD, "contamination=a"),
            "contamination must be a number, got: 'a'"
        );
    }

    #[test]
    fn a_constant_column_does_not_blind_the_others() {
        let t = ts(17);
        let flat = [7.0; 17];
        let codes = ECOD
            .detect_columns(&[&X17, &flat], &t, &Options::default())
            .unwrap();
        assert_eq!(anomalies(&codes), vec![0, 16]);
    }
}
