//! `iforest`: Isolation Forest (Liu, Ting & Zhou 2008) over every data
//! column, flagging the top `contamination` share of scores as PyOD's
//! `IForest` does.
//!
//! Each of `n_estimators` trees is grown on `min(256, n)` rows drawn
//! without replacement: a node splits on a random column at a uniform
//! random value between that column's minimum and maximum in the node,
//! until one row is left, the rows are equal, or the depth reaches
//! `⌈log2 ψ⌉` (scikit-learn's `max_depth`). A row's path length is the
//! depth of its leaf plus `c(size)`, the expected path length of a binary
//! search tree of the leaf's size; its score is `2^(−E[h]/c(ψ))`.
//!
//! Randomness: a SplitMix64 stream seeded by `random_state` (42), one
//! stream per tree, so answers are identical for identical requests — but
//! not scikit-learn's numbers (its Mersenne Twister draws differ); tests
//! check the detection of injected anomalies instead.
//!
//! Options: `contamination` (0.1), `n_estimators` (100, at most
//! [`MAX_ESTIMATORS`]), `random_state` (42), `valid_code`.
//!
//! May import: `error`, `options`, its parent's `RowScorer`, `int_at_least`.

use serde_json::{Value, json};

use super::{RowScorer, int_at_least};
use crate::algo::Describe;
use crate::bail;
use crate::error::Result;
use crate::options::Options;

/// PyOD's and upstream's defaults.
pub const DEFAULT_ESTIMATORS: i64 = 100;
pub const DEFAULT_RANDOM_STATE: i64 = 42;
/// Rows each tree is grown on (scikit-learn's `max_samples="auto"`).
const SUBSAMPLE: usize = 256;
/// Most trees: 10,000 trees over 40,000 rows take about a second; upstream
/// has no bound and a large value only burns the worker.
pub const MAX_ESTIMATORS: i64 = 10_000;

pub struct IForest;

impl Describe for IForest {
    fn name(&self) -> &'static str {
        "iforest"
    }
    fn desc(&self) -> &'static str {
        "Isolation Forest (PyOD's IForest), native"
    }
    fn params(&self) -> Value {
        json!({
            "contamination": super::DEFAULT_CONTAMINATION,
            "n_estimators": DEFAULT_ESTIMATORS,
            "random_state": DEFAULT_RANDOM_STATE,
        })
    }
}

impl RowScorer for IForest {
    fn scores(&self, columns: &[&[f64]], options: &Options) -> Result<Vec<f64>> {
        let trees = int_at_least(options, "n_estimators", DEFAULT_ESTIMATORS, 1)?;
        if trees > MAX_ESTIMATORS {
            bail!("n_estimators should be <= {MAX_ESTIMATORS}");
        }
        let seed = int_at_least(options, "random_state", DEFAULT_RANDOM_STATE, 0)? as u64;
        if columns.first().is_none_or(|c| c.is_empty()) {
            return Ok(Vec::new());
        }
        Ok(scores(columns, trees as usize, seed))
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and good enough for
/// choosing split columns and values.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in 0..n.
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n as u64) >> 32) as usize
    }
}

/// Expected path length of an unsuccessful search in a binary search tree
/// of `n` keys (the paper's `c(n)`, scikit-learn's `_average_path_length`).
fn average_path(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let m = (n - 1) as f64;
            2.0 * (m.ln() + 0.577_215_664_901_532_9) - 2.0 * m / n as f64
        }
    }
}

/// A node of a grown tree: an inner split or a leaf's path-length value.
enum Node {
    Split {
        column: usize,
        at: f64,
        left: usize,
        right: usize,
    },
    Leaf(f64),
}

/// Anomaly scores `2^(−E[h]/c(ψ))` of every row.
fn scores(columns: &[&[f64]], trees: usize, seed: u64) -> Vec<f64> {
    let n = columns[0].len();
    let psi = n.min(SUBSAMPLE);
    let max_depth = (psi.max(2) as f64).log2().ceil() as usize;
    let mut depth_sum = vec![0.0; n];
    let mut nodes: Vec<Node> = Vec::new();
    let mut all: Vec<usize> = (0..n).collect();
    for t in 0..trees {
        let mut rng = SplitMix(seed ^ (t as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
        // partial Fisher–Yates: the first ψ of `all` are the sample
        for i in 0..psi {
            let j = i + rng.below(n - i);
            all.swap(i, j);
        }
        let mut sample = all[..psi].to_vec();
        nodes.clear();
        grow(columns, &mut sample, 0, max_depth, &mut rng, &mut nodes);
        for (row, sum) in depth_sum.iter_mut().enumerate() {
            *sum += path_length(columns, &nodes, row);
        }
    }
    let norm = average_path(psi).max(f64::MIN_POSITIVE);
    depth_sum
        .iter()
        .map(|s| 2f64.powf(-(s / trees as f64) / norm))
        .collect()
}

/// Grows the subtree of `rows` at `depth`; returns its node index.
fn grow(
    columns: &[&[f64]],
    rows: &mut [usize],
    depth: usize,
    max_depth: usize,
    rng: &mut SplitMix,
    nodes: &mut Vec<Node>,
) -> usize {
    let me = nodes.len();
    nodes.push(Node::Leaf(depth as f64 + average_path(rows.len())));
    if rows.len() <= 1 || depth >= max_depth {
        return me;
    }
    // a random column that is not constant in the node (scikit-learn's
    // random splitter skips constant features the same way)
    let mut candidates: Vec<usize> = (0..columns.len()).collect();
    while !candidates.is_empty() {
        let pick = rng.below(candidates.len());
        let column = candidates.swap_remove(pick);
        let col = columns[column];
        let (lo, hi) = rows
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &r| {
                (a.min(col[r]), b.max(col[r]))
            });
        if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
            continue;
        }
        let at = lo + rng.unit() * (hi - lo);
        let at = if at >= hi { lo } else { at };
        // rows ≤ at go left
        let mut split = 0;
        for i in 0..rows.len() {
            if col[rows[i]] <= at {
                rows.swap(i, split);
                split += 1;
            }
        }
        let (l, r) = rows.split_at_mut(split);
        let left = grow(columns, l, depth + 1, max_depth, rng, nodes);
        let right = grow(columns, r, depth + 1, max_depth, rng, nodes);
        nodes[me] = Node::Split {
            column,
            at,
            left,
            right,
        };
        return me;
    }
    me
}

fn path_length(columns: &[&[f64]], nodes: &[Node], row: usize) -> f64 {
    let mut i = 0;
    loop {
        match nodes[i] {
            Node::Leaf(h) => return h,
            Node::Split {
                column,
                at,
                left,
                right,
            } => {
                i = if columns[column][row] <= at {
                    left
                } else {
                    right
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{anomalies, ts};
    use crate::algo::{AdInput, AnomalyDetector};

    /// 1,000 rows of two correlated noisy columns with 10 injected points
    /// off the relation (in range on each column alone for half of them).
    fn injected() -> (Vec<f64>, Vec<f64>, Vec<usize>) {
        let mut rng = SplitMix(7);
        let mut a = Vec::new();
        let mut b = Vec::new();
        for _ in 0..1000 {
            let x = rng.unit() * 10.0;
            a.push(x);
            b.push(2.0 * x + rng.unit() - 0.5);
        }
        let planted = vec![50, 150, 250, 350, 450, 550, 650, 750, 850, 950];
        for (k, &i) in planted.iter().enumerate() {
            if k % 2 == 0 {
                a[i] = 25.0 + k as f64;
                b[i] = -10.0;
            } else {
                // inside each column's range, far off the relation
                a[i] = 1.0;
                b[i] = 18.0;
            }
        }
        (a, b, planted)
    }

    #[test]
    fn finds_the_injected_rows() {
        let (a, b, planted) = injected();
        let t = ts(a.len());
        let codes = IForest
            .detect_columns(&[&a, &b], &t, &Options::parse(Some("contamination=0.01")))
            .unwrap();
        let found = anomalies(&codes);
        let hits = planted.iter().filter(|i| found.contains(i)).count();
        assert!(hits >= 9, "found {found:?}, planted {planted:?}");
        assert!(found.len() <= 11, "{found:?}");
    }

    #[test]
    fn identical_requests_identical_answers_and_seeds_matter() {
        let (a, b, _) = injected();
        let t = ts(a.len());
        let run = |o: &str| {
            IForest
                .detect_columns(&[&a, &b], &t, &Options::parse(Some(o)))
                .unwrap()
        };
        assert_eq!(run(""), run(""));
        assert_eq!(scores(&[&a, &b], 10, 1), scores(&[&a, &b], 10, 1));
        assert_ne!(scores(&[&a, &b], 10, 1), scores(&[&a, &b], 10, 2));
    }

    #[test]
    fn options_are_checked() {
        let (a, _, _) = injected();
        let t = ts(a.len());
        let err = |o: &str| {
            IForest
                .detect(AdInput { values: &a, ts: &t }, &Options::parse(Some(o)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("n_estimators=0"),
            "n_estimators should be greater than 0"
        );
        assert_eq!(err("n_estimators=10001"), "n_estimators should be <= 10000");
        assert_eq!(err("random_state=-1"), "random_state must be >= 0");
    }

    #[test]
    fn path_length_constants() {
        assert_eq!(average_path(1), 0.0);
        assert_eq!(average_path(2), 1.0);
        // c(256) = 2·(ln 255 + γ) − 2·255/256 ≈ 10.2448
        assert!((average_path(256) - 10.2448).abs() < 1e-3);
    }
}
