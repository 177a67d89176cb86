//! `hbos`: Histogram-based Outlier Score (Goldstein & Dengel 2012), as
//! PyOD computes it with static bins, so the same rows are flagged.
//!
//! Per column, numpy's `histogram(x, bins=n_bins, density=True)` over
//! `[min, max]` (`±0.5` around a constant column); a value's score is
//! `log2(density + α)` of its bin found as `digitize(..., right=True)` does
//! (`e[k−1] < x ≤ e[k]`: a value on an inner edge belongs to the lower bin
//! here although the histogram counted it in the upper one — PyOD's quirk,
//! kept so decisions match). Values outside the edges take the nearest bin
//! within half a bin width (`tol`), else the lowest score. A row's score is
//! minus the sum over columns; the top `contamination` share is flagged.
//!
//! Options: `contamination` (0.1), `n_bins` (10, at least 2, at most
//! [`MAX_BINS`]), `valid_code`.
//!
//! May import: `error`, `options`, `payload` (its row limit), its parent's
//! `RowScorer`, `int_at_least`.

use serde_json::{Value, json};

use super::{RowScorer, int_at_least};
use crate::algo::Describe;
use crate::bail;
use crate::error::Result;
use crate::options::Options;

/// PyOD's defaults.
pub const DEFAULT_BINS: i64 = 10;
const ALPHA: f64 = 0.1;
const TOL: f64 = 0.5;
/// Most bins: the most rows a request holds (more bins than values only
/// adds empty ones, and each costs memory per column).
pub const MAX_BINS: i64 = crate::payload::MAX_ROWS as i64;

pub struct Hbos;

impl Describe for Hbos {
    fn name(&self) -> &'static str {
        "hbos"
    }
    fn desc(&self) -> &'static str {
        "Histogram-based Outlier Score (PyOD's HBOS), native"
    }
    fn params(&self) -> Value {
        json!({ "contamination": super::DEFAULT_CONTAMINATION, "n_bins": DEFAULT_BINS })
    }
}

impl RowScorer for Hbos {
    fn scores(&self, columns: &[&[f64]], options: &Options) -> Result<Vec<f64>> {
        let bins = int_at_least(options, "n_bins", DEFAULT_BINS, 2)?;
        if bins > MAX_BINS {
            bail!("n_bins should be <= {MAX_BINS}");
        }
        let n = columns.first().map_or(0, |c| c.len());
        let mut scores = vec![0.0; n];
        for col in columns {
            for (s, v) in scores.iter_mut().zip(column_scores(col, bins as usize)) {
                *s -= v;
            }
        }
        Ok(scores)
    }
}

/// `log2(density + α)` of each value's bin.
fn column_scores(x: &[f64], bins: usize) -> Vec<f64> {
    let (mut lo, mut hi) = x
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    if x.is_empty() {
        return Vec::new();
    }
    if lo == hi {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    // numpy linspace(lo, hi, bins + 1)
    let step = (hi - lo) / bins as f64;
    let mut edges: Vec<f64> = (0..=bins).map(|i| i as f64 * step + lo).collect();
    edges[bins] = hi;
    // numpy histogram: e[k] ≤ x < e[k+1], the last bin closed
    let mut counts = vec![0usize; bins];
    for v in x {
        let k = edges
            .partition_point(|e| e <= v)
            .saturating_sub(1)
            .min(bins - 1);
        counts[k] += 1;
    }
    let total: usize = counts.iter().sum();
    let score: Vec<f64> = (0..bins)
        .map(|k| {
            let density = counts[k] as f64 / (edges[k + 1] - edges[k]) / total as f64;
            (density + ALPHA).log2()
        })
        .collect();
    let lowest = score.iter().copied().fold(f64::INFINITY, f64::min);
    x.iter()
        .map(|&v| {
            // digitize(right=True): the number of edges strictly below v
            let ind = edges.partition_point(|e| *e < v);
            if ind == 0 {
                let width = edges[1] - edges[0];
                if edges[0] - v <= width * TOL {
                    score[0]
                } else {
                    lowest
                }
            } else if ind == bins + 1 {
                let width = edges[bins] - edges[bins - 1];
                if v - edges[bins] <= width * TOL {
                    score[bins - 1]
                } else {
                    lowest
                }
            } else {
                score[ind - 1]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{flagged_x17, refusal_x17};

    #[test]
    fn the_upstream_series() {
        // PyOD 2.0.5, contamination 0.1: the 40 alone
        assert_eq!(flagged_x17(&Hbos, ""), vec![16]);
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(refusal_x17(&Hbos, "n_bins=1"), "n_bins should be >= 2");
        assert_eq!(
            refusal_x17(&Hbos, "n_bins=2.5"),
            "n_bins must be an integer, got: '2.5'"
        );
        assert_eq!(
            refusal_x17(&Hbos, "n_bins=40001"),
            "n_bins should be <= 40000"
        );
    }

    #[test]
    fn inner_edges_go_to_the_lower_bin() {
        // edges 0, 5, 10: the 5 sits on the inner edge; the histogram
        // counts it in the upper bin, digitize(right=True) scores it with
        // the lower one
        let s = column_scores(&[0.0, 1.0, 2.0, 5.0, 10.0], 2);
        let lower = (3.0 / 5.0 / 5.0 + ALPHA).log2();
        assert_eq!(s[3], lower);
    }
}
