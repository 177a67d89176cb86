//! `pca`: PyOD's PCA outlier score, so the same rows are flagged.
//!
//! The columns are standardised (`StandardScaler`: mean 0, population
//! std 1; a constant column keeps scale 1), the principal axes are the
//! eigenvectors of the sample covariance (scikit-learn 1.5's
//! `covariance_eigh`, signs fixed as its `svd_flip(u_based_decision=False)`
//! does: the largest-magnitude entry of each axis positive), and a row
//! scores `Σ_k ‖z − v_k‖ / r_k`: the Euclidean distance from the
//! standardised row `z` to each unit axis `v_k`, divided by that axis'
//! explained-variance ratio `r_k`. That is PyOD's formula (`cdist(X,
//! components_) / explained_variance_ratio_`) — a distance to the axis
//! *vector*, not to the axis line, so on one column it flags low values
//! before high ones (`|z − 1|`). Kept for parity; say so to users.
//!
//! `n_components`: an integer (how many axes, largest variance first) or a
//! float in (0, 1) (the fewest axes whose ratios add up past it); default
//! all. Options: `contamination` (0.1), `n_components`, `standardization`
//! (1), `valid_code`.
//!
//! Eigen-decomposition: cyclic Jacobi on an `ndarray` matrix, for at most
//! [`MAX_PCA_COLUMNS`] columns, where it converges in a few sweeps and is
//! accurate to the last digits; `ndarray-linalg` would bring LAPACK and a
//! system BLAS for this one call.
//!
//! May import: `error`, `options`, its parent's `RowScorer`.

use ndarray::{Array1, Array2, Axis};
use serde_json::{Value, json};

use super::RowScorer;
use crate::algo::Describe;
use crate::bail;
use crate::error::Result;
use crate::options::Options;

/// Most columns PCA takes: Jacobi costs about 10·d³ operations, a second at
/// 256 columns on these machines; the request limit (1,024 columns) would
/// make it a minute.
pub const MAX_PCA_COLUMNS: usize = 256;

pub struct Pca;

impl Describe for Pca {
    fn name(&self) -> &'static str {
        "pca"
    }
    fn desc(&self) -> &'static str {
        "Principal Component Analysis outlier score (PyOD's PCA), native"
    }
    fn params(&self) -> Value {
        json!({
            "contamination": super::DEFAULT_CONTAMINATION,
            "n_components": Value::Null,
            "standardization": 1,
        })
    }
}

/// How many axes to keep (option `n_components`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Keep {
    All,
    Count(usize),
    Ratio(f64),
}

fn keep(o: &Options) -> Result<Keep> {
    let Some(v) = o.get("n_components") else {
        return Ok(Keep::All);
    };
    let Ok(f) = crate::options::parse_float(v) else {
        bail!("n_components must be a number, got: '{v}'");
    };
    if f <= 0.0 || f.is_nan() {
        bail!("n_components should be greater than 0");
    }
    if f >= 1.0 && f.fract() != 0.0 {
        bail!("n_components must be a positive integer or a float in (0, 1) for variance ratio");
    }
    Ok(if f >= 1.0 {
        Keep::Count(f as usize)
    } else {
        Keep::Ratio(f)
    })
}

fn standardization(o: &Options) -> Result<bool> {
    let Some(v) = o.get("standardization") else {
        return Ok(true);
    };
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => bail!("standardization must be 0/1 or true/false, got: '{v}'"),
    }
}

impl RowScorer for Pca {
    fn scores(&self, columns: &[&[f64]], options: &Options) -> Result<Vec<f64>> {
        let keep = keep(options)?;
        let standardize = standardization(options)?;
        let n = columns.first().map_or(0, |c| c.len());
        let d = columns.len();
        if d > MAX_PCA_COLUMNS {
            bail!("pca takes at most {MAX_PCA_COLUMNS} columns, input: {d}");
        }
        if n == 0 || d == 0 {
            return Ok(Vec::new());
        }
        let mut x = Array2::from_shape_fn((n, d), |(i, j)| columns[j][i]);
        if standardize {
            for mut col in x.columns_mut() {
                let m = col.mean().unwrap_or(0.0);
                let sd = col.mapv(|v| (v - m) * (v - m)).mean().unwrap_or(0.0).sqrt();
                // scikit-learn's _handle_zeros_in_scale
                let scale = if sd < 10.0 * f64::EPSILON { 1.0 } else { sd };
                col.mapv_inplace(|v| (v - m) / scale);
            }
        }
        let (ratio, axes) = principal_axes(&x);
        let k = match keep {
            Keep::All => ratio.len(),
            Keep::Count(k) => {
                let most = n.min(d);
                if k > most {
                    bail!(
                        "n_components={k} must be between 0 and min(n_samples, n_features)={most}"
                    );
                }
                k
            }
            Keep::Ratio(r) => {
                // scikit-learn: searchsorted(cumsum, r, side="right") + 1
                let mut sum = 0.0;
                let below = ratio
                    .iter()
                    .take_while(|v| {
                        sum += **v;
                        sum <= r
                    })
                    .count();
                (below + 1).min(ratio.len())
            }
        };
        let scores: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|z| {
                (0..k)
                    .map(|a| {
                        let axis = axes.column(a);
                        let dist = z
                            .iter()
                            .zip(axis)
                            .map(|(p, q)| (p - q) * (p - q))
                            .sum::<f64>()
                            .sqrt();
                        dist / ratio[a]
                    })
                    .sum()
            })
            .collect();
        Ok(scores)
    }
}

/// Explained-variance ratios (descending) and the matching unit axes as
/// columns, of the centred sample covariance of `x`'s rows.
fn principal_axes(x: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = x.nrows();
    let mean = x
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(x.ncols()));
    let centred = x - &mean;
    let denom = (n.max(2) - 1) as f64;
    let cov = centred.t().dot(&centred) / denom;
    let (values, vectors) = symmetric_eigen(cov);
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let values: Vec<f64> = order.iter().map(|&i| values[i].max(0.0)).collect();
    let total: f64 = values.iter().sum();
    let d = vectors.nrows();
    let mut axes = Array2::zeros((d, order.len()));
    for (k, &i) in order.iter().enumerate() {
        let mut v = vectors.column(i).to_owned();
        // svd_flip(u_based_decision=False): the largest |entry| positive
        let big = v
            .iter()
            .copied()
            .fold(0.0f64, |a, e| if e.abs() > a.abs() { e } else { a });
        if big < 0.0 {
            v.mapv_inplace(|e| -e);
        }
        axes.column_mut(k).assign(&v);
    }
    let ratio = values
        .iter()
        .map(|v| if total > 0.0 { v / total } else { f64::NAN })
        .collect();
    (ratio, axes)
}

/// Sweeps of cyclic Jacobi before giving up; a symmetric matrix of a few
/// dozen rows converges in under ten.
const MAX_SWEEPS: usize = 100;

/// Eigenvalues and eigenvectors (as columns) of a symmetric matrix, by the
/// cyclic Jacobi method (Golub & Van Loan §8.5).
fn symmetric_eigen(mut a: Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let d = a.nrows();
    let mut v = Array2::eye(d);
    for _ in 0..MAX_SWEEPS {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[[i, j]] * a[[i, j]])
            .sum();
        let scale: f64 = a.iter().map(|e| e * e).sum();
        if off <= f64::EPSILON * f64::EPSILON * scale || off == 0.0 {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[[p, q]];
                if apq == 0.0 {
                    continue;
                }
                let theta = (a[[q, q]] - a[[p, p]]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[[k, p]], a[[k, q]]);
                    a[[k, p]] = c * akp - s * akq;
                    a[[k, q]] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[[p, k]], a[[q, k]]);
                    a[[p, k]] = c * apk - s * aqk;
                    a[[q, k]] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[[k, p]], v[[k, q]]);
                    v[[k, p]] = c * vkp - s * vkq;
                    v[[k, q]] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[[i, i]]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{flagged_x17, refusal_x17};

    #[test]
    fn the_upstream_series() {
        // PyOD 2.0.5, contamination 0.1: the two lowest values (|z − 1|)
        assert_eq!(flagged_x17(&Pca, ""), vec![0, 10]);
    }

    #[test]
    fn jacobi_recovers_a_known_decomposition() {
        let a = ndarray::arr2(&[[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]]);
        let (vals, vecs) = symmetric_eigen(a.clone());
        for (i, lambda) in vals.iter().enumerate() {
            let v = vecs.column(i);
            let av = a.dot(&v);
            for k in 0..3 {
                assert!((av[k] - lambda * v[k]).abs() < 1e-12, "{vals:?}");
            }
        }
        let mut sorted = vals.clone();
        sorted.sort_by(f64::total_cmp);
        // eigenvalues of this matrix: 3 − √3, 3, 3 + √3
        let want = [3.0 - 3f64.sqrt(), 3.0, 3.0 + 3f64.sqrt()];
        for (g, w) in sorted.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{sorted:?}");
        }
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(
            refusal_x17(&Pca, "n_components=1.5"),
            "n_components must be a positive integer or a float in (0, 1) for variance ratio"
        );
        assert_eq!(
            refusal_x17(&Pca, "n_components=0"),
            "n_components should be greater than 0"
        );
        assert_eq!(
            refusal_x17(&Pca, "n_components=2"),
            "n_components=2 must be between 0 and min(n_samples, n_features)=1"
        );
        assert_eq!(
            refusal_x17(&Pca, "standardization=maybe"),
            "standardization must be 0/1 or true/false, got: 'maybe'"
        );
    }
}
