//! Pearson's correlation coefficient and its two-sided p-value, as scipy's
//! `stats.pearsonr` computes them (TDgpt 3.4's `/api/v1/analysis/pearsonr`).
//!
//! `r` is the dot product of the centred series scaled to unit length,
//! clipped to [−1, 1]; the p-value is `2·I_{(1−|r|)/2}(n/2 − 1, n/2 − 1)`
//! (the exact null distribution of `r`, a Beta(n/2 − 1, n/2 − 1) on
//! [−1, 1], as scipy uses). A constant series has no correlation: upstream
//! answers NaN from scipy as 0 with p-value 1, and so does this.
//!
//! May import: `error`.

use statrs::function::beta::beta_reg;

use crate::bail;
use crate::error::Result;

/// `(r, p)` of `x` against `y`.
pub fn pearsonr(x: &[f64], y: &[f64]) -> Result<(f64, f64)> {
    if x.len() != y.len() {
        bail!("x and y must have the same length.");
    }
    let n = x.len();
    if n < 2 {
        bail!("x and y must have length at least 2.");
    }
    if n == 2 {
        // scipy: the sign of the two slopes, p-value 1
        let r = (x[1] - x[0]).signum() * (y[1] - y[0]).signum();
        let r = if x[1] == x[0] || y[1] == y[0] { 0.0 } else { r };
        return Ok((r, 1.0));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / n as f64;
    let (mx, my) = (mean(x), mean(y));
    let nx = x.iter().map(|v| (v - mx) * (v - mx)).sum::<f64>().sqrt();
    let ny = y.iter().map(|v| (v - my) * (v - my)).sum::<f64>().sqrt();
    if nx == 0.0 || ny == 0.0 || !nx.is_finite() || !ny.is_finite() {
        return Ok((0.0, 1.0));
    }
    let r: f64 = x
        .iter()
        .zip(y)
        .map(|(a, b)| ((a - mx) / nx) * ((b - my) / ny))
        .sum::<f64>()
        .clamp(-1.0, 1.0);
    if !r.is_finite() {
        return Ok((0.0, 1.0));
    }
    let ab = n as f64 / 2.0 - 1.0;
    let p = 2.0 * beta_reg(ab, ab, (1.0 - r.abs()) / 2.0);
    Ok((r, p.min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scipy_reference_values() {
        // scipy 1.15 stats.pearsonr
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        let y = [2.0, 1.0, 4.0, 3.0, 7.0, 8.0, 6.0, 9.0, 10.0, 12.0];
        let (r, p) = pearsonr(&x, &y).unwrap();
        assert!((r - 0.946_314_052_952_102_2).abs() < 1e-13, "{r}");
        assert!((p - 3.405_362_285_476_732e-5).abs() < 1e-15, "{p}");
        let (r, p) = pearsonr(&x, &x.map(|v| -3.0 * v + 1.0)).unwrap();
        assert_eq!((r, p), (-1.0, 0.0));
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(
            pearsonr(&[1.0; 5], &[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap(),
            (0.0, 1.0)
        );
        assert_eq!(
            pearsonr(&[1.0, 2.0], &[1.0]).unwrap_err().to_string(),
            "x and y must have the same length."
        );
        assert_eq!(pearsonr(&[1.0, 2.0], &[3.0, 1.0]).unwrap(), (-1.0, 1.0));
    }
}
