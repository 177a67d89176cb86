//! Local Outlier Factor (Breunig et al., SIGMOD 2000) as scikit-learn's
//! `LocalOutlierFactor(contamination="auto")` computes it on one feature.
//!
//! A point is an outlier when its LOF exceeds 1.5 (sklearn's fixed offset).
//! In one dimension the k nearest neighbours of every point are a window of
//! the sorted order, found for all points in one sweep: O(n log n + n k)
//! instead of a tree. Ties at the k-th distance are broken by input index.
//!
//! May import: `error`, `options`.

use serde_json::{Value, json};

use super::{ANOMALY, NORMAL};
use crate::algo::{AdInput, AnomalyDetector, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

pub const DEFAULT_NEIGHBORS: i64 = 10;
/// Most neighbours: the lists cost `n · k` indexes (80 MB at 40,000 rows),
/// and past a few hundred the factor no longer describes a neighbourhood.
pub const MAX_NEIGHBORS: i64 = 500;
/// sklearn's `offset_` for `contamination="auto"`: LOF > 1.5 is an outlier.
pub const OFFSET: f64 = 1.5;
/// sklearn adds this to the mean reachability distance.
const EPS: f64 = 1e-10;

pub struct Lof;

/// The negative outlier factor of every point (sklearn's
/// `negative_outlier_factor_`).
pub fn negative_outlier_factor(x: &[f64], neighbors: usize) -> Vec<f64> {
    let n = x.len();
    if n < 2 {
        return vec![-1.0; n];
    }
    let k = neighbors.clamp(1, n - 1);
    // (value, index) pairs are unique keys, so an unstable sort is exact.
    let mut sorted: Vec<(f64, usize)> = x.iter().copied().zip(0..).collect();
    sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (xs, order): (Vec<f64>, Vec<usize>) = sorted.into_iter().unzip();

    // Neighbour lists, flattened: point i's neighbours are nbr[i*k..(i+1)*k]
    // (u32: the protocol's 40,000 rows fit, at half the memory).
    let mut nbr = vec![0u32; n * k];
    let mut kdist = vec![0.0; n];
    let mut ties: Vec<usize> = Vec::new();
    // In one dimension the k nearest of the point at sorted position `pos`
    // are the window xs[lo..=lo+k] minus itself, and `lo` never moves left
    // as `pos` moves right: one sweep finds every window.
    let mut lo = 0usize;
    for pos in 0..n {
        let xi = xs[pos];
        lo = lo.max(pos.saturating_sub(k));
        while lo + k + 1 < n && xs[lo + k + 1] - xi < xi - xs[lo] {
            lo += 1;
        }
        let hi = lo + k;
        let kd = (xi - xs[lo]).max(xs[hi] - xi);
        let i = order[pos];
        kdist[i] = kd;
        let nbrs = &mut nbr[i * k..(i + 1) * k];
        let tie_outside =
            (lo > 0 && xi - xs[lo - 1] == kd) || (hi + 1 < n && xs[hi + 1] - xi == kd);
        if !tie_outside {
            // Every point within kd is in the window: the set is unique.
            let window = order[lo..pos].iter().chain(&order[pos + 1..=hi]);
            for (slot, &o) in nbrs.iter_mut().zip(window) {
                *slot = o as u32;
            }
            continue;
        }
        // More points at exactly kd than slots left: like a stable search,
        // the lowest input indexes among them win.
        let (mut a, mut b) = (lo, hi);
        while a > 0 && xi - xs[a - 1] <= kd {
            a -= 1;
        }
        while b + 1 < n && xs[b + 1] - xi <= kd {
            b += 1;
        }
        ties.clear();
        let mut filled = 0;
        for j in (a..=b).filter(|&j| j != pos) {
            if (xi - xs[j]).abs() < kd {
                nbrs[filled] = order[j] as u32;
                filled += 1;
            } else {
                ties.push(order[j]);
            }
        }
        ties.sort_unstable();
        for (slot, &o) in nbrs[filled..].iter_mut().zip(&ties) {
            *slot = o as u32;
        }
    }

    let lrd: Vec<f64> = (0..n)
        .map(|i| {
            let reach: f64 = nbr[i * k..(i + 1) * k]
                .iter()
                .map(|&o| {
                    let o = o as usize;
                    kdist[o].max((x[i] - x[o]).abs())
                })
                .sum();
            1.0 / (reach / k as f64 + EPS)
        })
        .collect();
    (0..n)
        .map(|i| {
            let ratio: f64 = nbr[i * k..(i + 1) * k]
                .iter()
                .map(|&o| lrd[o as usize] / lrd[i])
                .sum();
            -ratio / k as f64
        })
        .collect()
}

impl Describe for Lof {
    fn name(&self) -> &'static str {
        "lof"
    }
    fn desc(&self) -> &'static str {
        "Local Outlier Factor, Ref: M. M. Breunig, H. P. Kriegel, R. T. Ng, J. Sander.\n    LOF:Identifying Density-based Local Outliers. SIGMOD, 2000."
    }
    fn params(&self) -> Value {
        json!({ "algorithm": "auto", "neighbors": DEFAULT_NEIGHBORS })
    }
}

impl AnomalyDetector for Lof {
    fn detect(&self, input: AdInput<'_>, options: &Options) -> Result<Vec<i64>> {
        let neighbors = options.int("neighbors", DEFAULT_NEIGHBORS)?;
        if neighbors < 1 {
            bail!("neighbors value out of range, should be greater than 0");
        }
        if neighbors > MAX_NEIGHBORS {
            bail!("neighbors value out of range, should be at most {MAX_NEIGHBORS}");
        }
        // The search structure changes nothing but speed; accept sklearn's
        // names so existing option strings keep working.
        match options.string("algorithm", "auto") {
            "auto" | "ball_tree" | "kd_tree" | "brute" => {}
            other => bail!(
                "invalid algorithm value: {other}, should be one of auto, ball_tree, kd_tree, brute"
            ),
        }
        Ok(negative_outlier_factor(input.values, neighbors as usize)
            .into_iter()
            .map(|f| if f < -OFFSET { ANOMALY } else { NORMAL })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{X17, anomalies, ts};

    #[test]
    fn spec_vector() {
        let nof = negative_outlier_factor(&X17, 10);
        assert!((nof[15] + 1.5686).abs() < 1e-4, "{}", nof[15]);
        assert!((nof[16] + 2.5750).abs() < 1e-4, "{}", nof[16]);
        assert!((nof[12] + 1.4891).abs() < 1e-4, "{}", nof[12]);
        let t = ts(17);
        let c = Lof
            .detect(
                AdInput {
                    values: &X17,
                    ts: &t,
                },
                &Options::parse(Some("period=3")),
            )
            .unwrap();
        assert_eq!(anomalies(&c), vec![15, 16]);
    }

    #[test]
    fn neighbours_are_capped_at_n_minus_one() {
        // sklearn: k = 3 here, every point sees all others; no outlier.
        let nof = negative_outlier_factor(&[1.0, 2.0, 3.0, 50.0], 10);
        let expect = [-0.99313494, -1.00234652, -1.01155811, -0.99313494];
        for (a, b) in nof.iter().zip(expect) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    #[test]
    fn all_factors_match_sklearn() {
        let expect = [
            -1.40636931,
            -1.0183753,
            -0.97083715,
            -0.97083715,
            -1.0183753,
            -0.90856288,
            -0.93866923,
            -0.93866923,
            -0.95268953,
            -1.08280445,
            -1.14565154,
            -0.99655159,
            -1.48912658,
            -1.0442613,
            -1.08771426,
            -1.56858291,
            -2.57502974,
        ];
        for (a, b) in negative_outlier_factor(&X17, 10).iter().zip(expect) {
            assert!((a - b).abs() < 1e-7, "{a} vs {b}");
        }
    }

    #[test]
    fn ties_at_the_kth_distance_take_the_lowest_indexes() {
        // Brute force with (distance, index) order as the reference.
        let x: [f64; 14] = [
            5.0, 1.0, 3.0, 3.0, 1.0, 5.0, 3.0, 9.0, 1.0, 3.0, 7.0, 5.0, 2.0, 4.0,
        ];
        let k = 3;
        let brute: Vec<Vec<usize>> = (0..x.len())
            .map(|i| {
                let mut c: Vec<(f64, usize)> = (0..x.len())
                    .filter(|&j| j != i)
                    .map(|j| ((x[i] - x[j]).abs(), j))
                    .collect();
                c.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                c.into_iter().take(k).map(|c| c.1).collect()
            })
            .collect();
        let kdist: Vec<f64> = brute
            .iter()
            .enumerate()
            .map(|(i, nb)| nb.iter().map(|&o| (x[i] - x[o]).abs()).fold(0.0, f64::max))
            .collect();
        let lrd: Vec<f64> = brute
            .iter()
            .enumerate()
            .map(|(i, nb)| {
                let s: f64 = nb.iter().map(|&o| kdist[o].max((x[i] - x[o]).abs())).sum();
                1.0 / (s / k as f64 + 1e-10)
            })
            .collect();
        let expect: Vec<f64> = brute
            .iter()
            .enumerate()
            .map(|(i, nb)| -nb.iter().map(|&o| lrd[o] / lrd[i]).sum::<f64>() / k as f64)
            .collect();
        assert_eq!(negative_outlier_factor(&x, k), expect);
    }

    #[test]
    fn options_are_validated() {
        let t = ts(17);
        let run = |o: &str| {
            Lof.detect(
                AdInput {
                    values: &X17,
                    ts: &t,
                },
                &Options::parse(Some(o)),
            )
        };
        assert_eq!(
            run("neighbors=0").unwrap_err().message(),
            "neighbors value out of range, should be greater than 0"
        );
        assert!(run("algorithm=kd_tree").is_ok());
        assert!(run("algorithm=quad").is_err());
    }
}
