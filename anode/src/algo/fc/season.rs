//! Seasonality: detection of the period (for `period=auto` and `auto`), the
//! tests that decide whether a model should be seasonal and how often to
//! difference, and classical decomposition.
//!
//! - [`detect_period`]: the autocorrelation of the first differences (so a
//!   trend or a random walk does not swamp it) has a peak at the season
//!   length that echoes at its multiples; the smallest lag whose echoed
//!   peak is within 10 % of the strongest wins, so a multiple of the season
//!   does not. In the spirit of augurs'
//!   `seasons` (which uses a periodogram), but with no FFT: the lags are
//!   capped at [`MAX_DETECT_LAG`] and the series at [`DETECT_WINDOW`] values.
//! - [`ndiffs`]: KPSS level-stationarity test (Kwiatkowski et al. 1992) at
//!   5 %, lag `⌊3√n/13⌋` as R's `forecast::ndiffs`, repeated up to `d = 2`.
//! - [`nsdiffs`]: seasonal strength of an STL decomposition
//!   (Wang, Smith & Hyndman 2006) above 0.64 → `D = 1`, R's default test.
//! - [`seasonal_test`]: the 90 % autocorrelation test of the Theta method
//!   (Hyndman & Billah 2003).
//! - [`decompose`]: classical decomposition by centred moving averages.
//!
//! May import: only `algo` itself.

/// Longest season [`detect_period`] looks for. Periods up to [`MAX_PERIOD`]
/// (a year of hourly values) can be given explicitly; detection stops at
/// two weeks of hourly values, which keeps it under a few milliseconds.
///
/// [`MAX_PERIOD`]: crate::algo::MAX_PERIOD
pub const MAX_DETECT_LAG: usize = 336;

/// Most recent values detection looks at.
pub const DETECT_WINDOW: usize = 20 * MAX_DETECT_LAG;

/// How far a season's autocorrelation peak must rise above the lowest
/// autocorrelation at a shorter lag.
const PROMINENCE: f64 = 0.15;

/// KPSS 5 % critical value for level stationarity (Kwiatkowski et al.
/// 1992, table 1).
const KPSS_CRIT_5: f64 = 0.463;

/// Seasonal strength above which the series is seasonally differenced
/// (R `forecast::nsdiffs`, test "seas").
const SEASONAL_STRENGTH_LIMIT: f64 = 0.64;

/// Autocorrelations `r_1..=r_max` of `x` (biased estimator, as R's `acf`).
pub fn acf(x: &[f64], max_lag: usize) -> Vec<f64> {
    let n = x.len();
    let mean = x.iter().sum::<f64>() / n as f64;
    let c: Vec<f64> = x.iter().map(|v| v - mean).collect();
    let c0: f64 = c.iter().map(|v| v * v).sum();
    if c0 == 0.0 || !c0.is_finite() {
        return vec![0.0; max_lag];
    }
    (1..=max_lag.min(n.saturating_sub(1)))
        .map(|k| c[k..].iter().zip(&c).map(|(a, b)| a * b).sum::<f64>() / c0)
        .collect()
}

/// The season length of `y`, or 0 when it shows none.
pub fn detect_period(y: &[f64]) -> usize {
    let y = &y[y.len().saturating_sub(DETECT_WINDOW)..];
    let n = y.len();
    if n < 8 {
        return 0;
    }
    let diff: Vec<f64> = y.windows(2).map(|w| w[1] - w[0]).collect();
    // a period needs three full seasons to be seen
    let max_lag = (diff.len() / 3).min(MAX_DETECT_LAG);
    if max_lag < 3 {
        return 0;
    }
    let r = acf(&diff, max_lag + 1);
    let threshold = (2.5 / (diff.len() as f64).sqrt()).max(0.2);
    let at = |lag: usize| r[lag - 1];
    // A peak is the highest autocorrelation within ±10 % of its lag (so
    // 50 and 53 do not both count for a weekly season of 52.18) and rises
    // at least PROMINENCE above the lowest one before it (so the slow decay
    // of a smooth series is not a season).
    let is_peak = |l: usize| {
        let w = (l / 10).max(1);
        let hi = (l + w).min(r.len());
        let lowest = r[..l - 1].iter().copied().fold(f64::INFINITY, f64::min);
        at(l) > threshold
            && (l.saturating_sub(w).max(1)..=hi).all(|k| at(k) <= at(l))
            && at(l) - lowest >= PROMINENCE
    };
    // A season repeats: score a peak by the mean autocorrelation at its
    // first three multiples (each allowed ±1 lag for non-integer seasons
    // such as 52.18 weeks), so a short-lag bump with no echo loses.
    let score = |l: usize| {
        let ks: Vec<f64> = (1..=3)
            .map(|k| k * l)
            .filter(|&kl| kl < r.len())
            .map(|kl| at(kl).max(at(kl - 1)).max(at(kl + 1)))
            .collect();
        ks.iter().sum::<f64>() / ks.len() as f64
    };
    let peaks: Vec<(usize, f64)> = (2..=max_lag.min(r.len() - 1))
        .filter(|&l| is_peak(l))
        .map(|l| (l, score(l)))
        .collect();
    let best = peaks.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    peaks.iter().find(|p| p.1 >= 0.9 * best).map_or(0, |p| p.0)
}

/// The seasons of `y`, shortest first: the season [`detect_period`] finds,
/// then, once that season's classical pattern is subtracted, a longer one
/// (at least [`MIN_SECOND_SEASON_RATIO`] times the first) if the remainder
/// shows one — a weekly season of half-hourly demand behind its daily one.
/// Empty when `y` shows none. At most two: a third would need more than
/// [`DETECT_WINDOW`] values to be seen three times.
pub fn detect_periods(y: &[f64]) -> Vec<usize> {
    let first = detect_period(y);
    if first < 2 {
        return Vec::new();
    }
    let y = &y[y.len().saturating_sub(DETECT_WINDOW)..];
    let Some(idx) = decompose(y, first, false) else {
        return vec![first];
    };
    let rest: Vec<f64> = y
        .iter()
        .enumerate()
        .map(|(i, v)| v - idx[i % first])
        .collect();
    let second = detect_period(&rest);
    if second >= MIN_SECOND_SEASON_RATIO * first && second_is_real(&rest, second, first) {
        vec![first, second]
    } else {
        vec![first]
    }
}

/// Shortest second season, in multiples of the first: a remainder peak
/// closer than this is the first season's shape drifting, not a season.
pub const MIN_SECOND_SEASON_RATIO: usize = 3;

/// Whether the remainder's pattern at `long` is a season of its own: its
/// seasonal indices must explain at least [`SECOND_SEASON_SHARE`] of the
/// remainder's variance once the trend is gone (a longer cycle that the
/// first season's removal merely left behind explains little).
fn second_is_real(rest: &[f64], long: usize, first: usize) -> bool {
    let Some(idx) = decompose(rest, long, false) else {
        return false;
    };
    // detrend by a moving average of the long season, then compare variances
    let n = rest.len();
    let half = long / 2;
    if n < 2 * long + 2 || first == 0 {
        return false;
    }
    let (mut total, mut left) = (0.0, 0.0);
    let mut sum: f64 = rest[..long].iter().sum();
    for t in half..n - long + half {
        let trend = sum / long as f64;
        let v = rest[t] - trend;
        total += v * v;
        let r = v - idx[t % long];
        left += r * r;
        sum += rest[t - half + long] - rest[t - half];
    }
    total > 0.0 && 1.0 - left / total >= SECOND_SEASON_SHARE
}

/// Share of the detrended remainder's variance a second season must
/// explain (the seasonal-strength idea of Wang, Smith & Hyndman 2006, at a
/// level the weekly season of the shipped half-hourly demand clears easily).
const SECOND_SEASON_SHARE: f64 = 0.2;

/// Whether `y` is seasonal with period `m` by the 90 % autocorrelation
/// test of the Theta method.
pub fn seasonal_test(y: &[f64], m: usize) -> bool {
    let n = y.len();
    if m < 2 || n < 3 * m {
        return false;
    }
    let r = acf(y, m);
    if r.len() < m {
        return false;
    }
    let s: f64 = r[..m - 1].iter().map(|v| v * v).sum();
    let limit = 1.645 * ((1.0 + 2.0 * s) / n as f64).sqrt();
    r[m - 1].abs() > limit
}

/// Seasonal indices of a classical decomposition, one per position in the
/// season (position `i` is that of `y[i]`): ratios to a centred moving
/// average (multiplicative, normalised to mean 1) or differences
/// (additive, normalised to mean 0). `None` when `y` is shorter than two
/// seasons.
pub fn decompose(y: &[f64], m: usize, multiplicative: bool) -> Option<Vec<f64>> {
    let n = y.len();
    if m < 2 || n < 2 * m {
        return None;
    }
    // centred moving average of order m (2×m for even m)
    let half = m / 2;
    let mut sums = vec![0.0; m];
    let mut counts = vec![0usize; m];
    for t in half..n - half {
        let ma = if m % 2 == 1 {
            y[t - half..=t + half].iter().sum::<f64>() / m as f64
        } else {
            let inner: f64 = y[t - half + 1..t + half].iter().sum();
            (inner + 0.5 * (y[t - half] + y[t + half])) / m as f64
        };
        let v = if multiplicative { y[t] / ma } else { y[t] - ma };
        if v.is_finite() {
            sums[t % m] += v;
            counts[t % m] += 1;
        }
    }
    let mut idx: Vec<f64> = sums
        .iter()
        .zip(&counts)
        .map(|(s, &c)| {
            if c > 0 {
                s / c as f64
            } else if multiplicative {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let mean = idx.iter().sum::<f64>() / m as f64;
    for v in &mut idx {
        if multiplicative {
            *v /= mean;
        } else {
            *v -= mean;
        }
    }
    Some(idx)
}

/// KPSS statistic for level stationarity with `⌊3√n/13⌋` Bartlett lags.
pub fn kpss(y: &[f64]) -> f64 {
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let e: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let mut s = 0.0;
    let mut eta = 0.0;
    for v in &e {
        s += v;
        eta += s * s;
    }
    let lags = (3.0 * (n as f64).sqrt() / 13.0) as usize;
    let mut lrv: f64 = e.iter().map(|v| v * v).sum::<f64>();
    for k in 1..=lags.min(n - 1) {
        let w = 1.0 - k as f64 / (lags as f64 + 1.0);
        lrv += 2.0 * w * e[k..].iter().zip(&e).map(|(a, b)| a * b).sum::<f64>();
    }
    lrv /= n as f64;
    if lrv.is_nan() || lrv <= 0.0 {
        return 0.0;
    }
    eta / (n as f64 * n as f64 * lrv)
}

/// Number of first differences that make `y` level-stationary (0–`max_d`).
pub fn ndiffs(y: &[f64], max_d: usize) -> usize {
    let mut x = y.to_vec();
    let mut d = 0;
    while d < max_d && x.len() > 10 {
        let (lo, hi) = x
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(*v), b.max(*v))
            });
        if hi - lo <= 1e-12 * hi.abs().max(1.0) || kpss(&x) <= KPSS_CRIT_5 {
            break;
        }
        x = x.windows(2).map(|w| w[1] - w[0]).collect();
        d += 1;
    }
    d
}

/// Seasonal differences needed (0 or 1) by the seasonal-strength rule.
pub fn nsdiffs(y: &[f64], m: usize) -> usize {
    usize::from(seasonal_strength(y, m) > SEASONAL_STRENGTH_LIMIT)
}

/// `max(0, 1 − Var(R) / Var(S + R))` of an STL decomposition; 0 when `y`
/// is shorter than two seasons.
pub fn seasonal_strength(y: &[f64], m: usize) -> f64 {
    if m < 2 || y.len() < 2 * m + 1 {
        return 0.0;
    }
    let x: Vec<f32> = y.iter().map(|v| *v as f32).collect();
    match stlrs::params().fit(&x, m) {
        Ok(stl) => stl.seasonal_strength(),
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::fc::holtwinters::tests::AIR;

    /// Uniform noise in [−½, ½) from a seeded 64-bit LCG (Knuth's MMIX).
    fn noise(seed: u64) -> impl FnMut() -> f64 {
        let mut s = seed;
        move || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }
    }

    #[test]
    fn airline_season_is_twelve() {
        assert_eq!(detect_period(&AIR), 12);
        assert!(seasonal_test(&AIR, 12));
        assert_eq!(nsdiffs(&AIR, 12), 1);
        assert_eq!(ndiffs(&AIR, 2), 1);
    }

    #[test]
    fn sine_with_noise_and_trend() {
        let mut noise = noise(11);
        let y: Vec<f64> = (0..500)
            .map(|i| {
                0.05 * i as f64 + (i as f64 * std::f64::consts::TAU / 24.0).sin() * 5.0 + noise()
            })
            .collect();
        assert_eq!(detect_period(&y), 24);
    }

    #[test]
    fn no_period_in_a_line_or_constant() {
        let line: Vec<f64> = (0..200).map(|i| i as f64).collect();
        assert_eq!(detect_period(&line), 0);
        assert_eq!(detect_period(&[5.0; 100]), 0);
        assert_eq!(detect_period(&[1.0, 2.0, 3.0]), 0);
        assert_eq!(ndiffs(&[5.0; 100], 2), 0);
    }

    #[test]
    fn seasons_of_the_shipped_series() {
        let series = |text: &str| -> Vec<f64> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| l.trim().parse().unwrap())
                .collect()
        };
        let taylor = series(include_str!("../../../data/series/taylor.csv"));
        assert_eq!(detect_periods(&taylor), [48, 336]);
        // one season: monthly, weekly (52.18 a year), and none
        assert_eq!(detect_periods(&AIR), [12]);
        let co2 = series(include_str!("../../../data/series/co2.csv"));
        assert_eq!(detect_periods(&co2), [53]);
        let nile = series(include_str!("../../../data/series/nile.csv"));
        assert!(detect_periods(&nile).is_empty());
        // a synthetic daily + weekly pattern of hourly values: quieter weekends
        let mut noise = noise(5);
        let y: Vec<f64> = (0..2000)
            .map(|i| {
                let day = (i as f64 * std::f64::consts::TAU / 24.0).sin() * 5.0;
                let weekend = (i / 24) % 7 >= 5;
                let level = if weekend { 0.4 * day - 2.0 } else { day };
                level + noise()
            })
            .collect();
        assert_eq!(detect_periods(&y), [24, 168]);
    }

    #[test]
    fn kpss_of_a_random_walk_rejects() {
        let mut s: u64 = 3;
        let mut y = vec![0.0];
        for i in 1..300 {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            y.push(y[i - 1] + ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5));
        }
        assert!(kpss(&y) > KPSS_CRIT_5, "{}", kpss(&y));
        assert!(ndiffs(&y, 2) >= 1);
    }

    #[test]
    fn decomposition_recovers_a_pattern() {
        let pat = [1.2, 0.8, 1.0, 1.0];
        let y: Vec<f64> = (0..40).map(|i| 10.0 * pat[i % 4]).collect();
        let idx = decompose(&y, 4, true).unwrap();
        for (a, b) in idx.iter().zip(pat) {
            assert!((a - b).abs() < 1e-9, "{idx:?}");
        }
    }
}
