//! White-noise check: the Ljung–Box test at lag 16 (spec §3.4).
//!
//! Upstream calls statsmodels' `acorr_ljungbox(x, lags=[6, 12, 16])` and
//! looks only at the lag-16 p-value; a series is white noise when that
//! p-value is at least 0.05, and analysing white noise is refused. Series of
//! 16 values or fewer are never called white noise (the 3.3.7 rule).
//!
//! May import: `stats`.

use crate::stats::chi2_sf;

/// The lag whose p-value decides.
pub const LAG: usize = 16;
/// Significance level: p ≥ this means "white noise".
pub const ALPHA: f64 = 0.05;

/// `chi2.isf(0.05, 16)`: `p ≥ 0.05` exactly when `Q ≤` this, so the
/// decision needs no distribution function.
pub const Q_CRITICAL: f64 = 26.296_227_604_864_23;

/// Ljung–Box p-value at `lag`; NaN for a constant series (no
/// autocorrelation is defined), which counts as "not white noise" as in
/// statsmodels.
pub fn ljung_box_pvalue(x: &[f64], lag: usize) -> f64 {
    chi2_sf(ljung_box_q(x, lag), lag as f64)
}

/// The Ljung–Box statistic `Q = n(n+2) Σ r_k² / (n−k)`.
pub fn ljung_box_q(x: &[f64], lag: usize) -> f64 {
    let n = x.len();
    let m = crate::stats::mean(x);
    let d: Vec<f64> = x.iter().map(|v| v - m).collect();
    let denom: f64 = d.iter().map(|v| v * v).sum();
    let mut q = 0.0;
    for k in 1..=lag.min(n.saturating_sub(1)) {
        let num = lagged_dot(&d[k..], &d[..n - k]);
        let r = num / denom;
        q += r * r / (n - k) as f64;
    }
    q * (n * (n + 2)) as f64
}

/// `Σ a_i b_i` with four independent accumulators: a single running sum
/// is bound by the latency of floating-point addition.
fn lagged_dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..4 {
            acc[i] += x[i] * y[i];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

pub fn is_white_noise(x: &[f64]) -> bool {
    if x.len() <= LAG {
        return false;
    }
    // NaN (constant series) compares false: not white noise.
    ljung_box_q(x, LAG) <= Q_CRITICAL
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const X17: [f64; 17] = [
        5.0, 14.0, 15.0, 15.0, 14.0, 19.0, 17.0, 16.0, 20.0, 22.0, 8.0, 21.0, 28.0, 11.0, 9.0,
        29.0, 40.0,
    ];

    #[test]
    fn critical_value_is_the_alpha_quantile() {
        assert!((chi2_sf(Q_CRITICAL, LAG as f64) - ALPHA).abs() < 1e-12);
    }

    #[test]
    fn spec_vectors() {
        assert!((ljung_box_pvalue(&X17, 6) - 0.29112).abs() < 1e-5);
        assert!((ljung_box_pvalue(&X17, 12) - 0.55655).abs() < 1e-5);
        assert!((ljung_box_pvalue(&X17, 16) - 0.0037670).abs() < 1e-7);
        assert!(!is_white_noise(&X17));
        assert!(!is_white_noise(&[]));
        assert!(
            !is_white_noise(&X17[..16]),
            "16 values are too few to judge"
        );
        assert!(
            !is_white_noise(&[3.0; 40]),
            "a constant series is not white noise"
        );
    }
}
