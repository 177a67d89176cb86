//! Small numeric helpers with numpy's and scipy's exact conventions.
//!
//! The reference results were produced by numpy/scipy; matching them to the
//! last digit needs the same definitions (population std, linear quantiles,
//! upper-tail t quantiles computed without `1 - p` cancellation).
//!
//! May import: nothing of the crate.

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal, StudentsT};

pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// numpy `std(x)` (ddof = 0), two-pass like numpy for accuracy.
pub fn pstd(x: &[f64]) -> f64 {
    let m = mean(x);
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len() as f64).sqrt()
}

/// numpy `quantile(x, q)` with the default linear interpolation, on data
/// that is already sorted ascending.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// numpy `quantile(x, q)` with numpy's own interpolation (`_lerp`): from
/// the upper neighbour when the fraction is ½ or more, so a threshold lands
/// on the same double numpy computes (PyOD decisions compare against it).
pub fn numpy_quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let hi = (lo + 1).min(n - 1);
    numpy_lerp(sorted[lo], sorted[hi], h - lo as f64)
}

/// numpy's `_lerp(a, b, t)`: from `b` backwards when `t ≥ ½`.
fn numpy_lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// [`numpy_quantile_sorted`] by selection in O(n); reorders `x`.
pub fn numpy_quantile_mut(x: &mut [f64], q: f64) -> f64 {
    let n = x.len();
    let h = (n - 1) as f64 * q;
    let lo = (h.floor() as usize).min(n - 1);
    let (_, a, right) = x.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    let b = right.iter().copied().fold(f64::INFINITY, f64::min);
    let b = if right.is_empty() { a } else { b };
    numpy_lerp(a, b, h - lo as f64)
}

/// numpy `quantile(x, q)` by selection in O(n); reorders `x`.
pub fn quantile_mut(x: &mut [f64], q: f64) -> f64 {
    let h = (x.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let (_, v_lo, right) = x.select_nth_unstable_by(lo, f64::total_cmp);
    let v_lo = *v_lo;
    let frac = h - lo as f64;
    if frac == 0.0 || right.is_empty() {
        return v_lo;
    }
    let v_hi = right.iter().copied().fold(f64::INFINITY, f64::min);
    v_lo + frac * (v_hi - v_lo)
}

/// numpy `median`.
pub fn median(x: &[f64]) -> f64 {
    median_mut(&mut x.to_vec())
}

/// numpy `median` in O(n) by selection; reorders `x`.
pub fn median_mut(x: &mut [f64]) -> f64 {
    let n = x.len();
    if n == 0 {
        return f64::NAN;
    }
    let (left, mid, _) = x.select_nth_unstable_by(n / 2, f64::total_cmp);
    let mid = *mid;
    if n % 2 == 1 {
        mid
    } else {
        let below = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (below + mid) / 2.0
    }
}

/// scipy `t.isf(p, df)`: the value exceeded with probability `p`.
pub fn t_isf(p: f64, df: f64) -> f64 {
    if df.is_nan() || df <= 0.0 || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    match StudentsT::new(0.0, 1.0, df) {
        // The distribution is symmetric: isf(p) = -ppf(p), which keeps full
        // precision for the tiny p of outlier tests.
        Ok(t) => -t.inverse_cdf(p),
        Err(_) => f64::NAN,
    }
}

/// scipy `t.ppf(p, df)`.
pub fn t_ppf(p: f64, df: f64) -> f64 {
    t_isf(1.0 - p, df)
}

/// Upper tail of the chi-squared distribution, `1 - cdf(q)`.
pub fn chi2_sf(q: f64, df: f64) -> f64 {
    match ChiSquared::new(df) {
        Ok(c) => c.sf(q),
        Err(_) => f64::NAN,
    }
}

/// Two-sided standard-normal critical value for confidence `conf`
/// (1.959964 for 0.95).
pub fn z_two_sided(conf: f64) -> f64 {
    Normal::standard().inverse_cdf(0.5 + conf / 2.0)
}

/// Magnitudes past 2^±500 (±1e150): sums of squares of such values
/// overflow (or underflow to zero), which breaks every variance and
/// least-squares step.
const EXTREME_EXPONENT: i32 = 500;

/// `x` scaled by a power of two that brings its largest finite magnitude
/// near 1, with the exponent taken out (`x = scaled · 2^e`), when that
/// magnitude is extreme; else `None`. Scaling by a power of two is exact
/// (no bit is lost), and detectors compare ratios, so their answers do not
/// change; linear forecasters' outputs scale back by `2^e`.
pub fn normalized(x: &[f64]) -> Option<(Vec<f64>, i32)> {
    let m = x
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |a, v| a.max(v.abs()));
    if m == 0.0 {
        return None;
    }
    let e = m.log2().floor() as i32;
    if e.abs() < EXTREME_EXPONENT {
        return None;
    }
    Some((x.iter().map(|v| pow2_scale(*v, -e)).collect(), e))
}

/// `v · 2^e` without overflowing the factor (|e| may pass 1023).
pub fn pow2_scale(v: f64, e: i32) -> f64 {
    let half = e / 2;
    v * 2f64.powi(half) * 2f64.powi(e - half)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_conventions() {
        let x = [
            5.0, 14.0, 15.0, 15.0, 14.0, 19.0, 17.0, 16.0, 20.0, 22.0, 8.0, 21.0, 28.0, 11.0, 9.0,
            29.0, 40.0,
        ];
        assert!((mean(&x) - 17.823529411764707).abs() < 1e-12);
        assert!((pstd(&x) - 8.361222075873606).abs() < 1e-12);
        let mut s = x.to_vec();
        s.sort_by(f64::total_cmp);
        assert_eq!(quantile_sorted(&s, 0.25), 14.0);
        assert_eq!(quantile_sorted(&s, 0.75), 21.0);
        assert_eq!(median(&[3.0, 1.0, 2.0, 10.0]), 2.5);
        for q in [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0] {
            assert_eq!(
                quantile_mut(&mut x.to_vec(), q),
                quantile_sorted(&s, q),
                "q = {q}"
            );
        }
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn scipy_quantiles() {
        // scipy.stats.t.isf(0.05 / 34, 15)
        assert!((t_isf(0.05 / 34.0, 15.0) - 3.5446767899400027).abs() < 1e-9);
        assert!((t_ppf(0.975, 10.0) - 2.228_138_851_986_273_5).abs() < 1e-9);
        assert!((z_two_sided(0.95) - 1.959_963_984_540_054).abs() < 1e-9);
        // scipy.stats.chi2.sf(26.2962276, 16)
        assert!((chi2_sf(26.296_227_6, 16.0) - 0.05000000006389179).abs() < 1e-12);
        assert!(t_isf(0.1, 0.0).is_nan());
    }
}
