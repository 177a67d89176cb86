//! FastDTW (Salvador & Chan 2007) exactly as the `fastdtw` 0.3.4 package
//! computes it, including its tie-breaking, so that paths match upstream.
//!
//! Recursively halve both series, solve the coarse problem, project the
//! coarse path (widened by `radius`) onto the fine grid and run DTW inside
//! that window. Distance is `|a - b|`. Among equal costs the predecessor is
//! chosen in the order up, left, diagonal (Python's `min` keeps the first).
//!
//! May import: `error`, `options`, `stats`.

use serde_json::{Value, json};

use crate::algo::{CorrOutput, Correlator, Describe};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

pub const DEFAULT_RADIUS: i64 = 1;
pub const MAX_RADIUS: i64 = 10;

pub struct Dtw;

/// The window of one row: the contiguous columns `lo..=hi`.
type Window = Vec<(usize, usize)>;

fn reduce_by_half(x: &[f64]) -> Vec<f64> {
    x.chunks_exact(2).map(|c| (c[0] + c[1]) / 2.0).collect()
}

/// The fine-grid window of a coarse path widened by `radius`: fastdtw
/// marks every coarse cell within `radius` (in both directions) of the
/// path and takes the four fine cells under each. A monotone path's cells
/// within `radius` rows of coarse row `ci` span a contiguous column range,
/// so each row's window is one range: `O(rows · radius)` time and memory
/// where a bitmap of the grid would cost `O(rows²)` (400 MB at 40,000 rows).
fn expand_window(path: &[(usize, usize)], len_x: usize, len_y: usize, radius: usize) -> Window {
    // the path's column range in each coarse row
    let coarse_rows = path.iter().map(|p| p.0 + 1).max().unwrap_or(0);
    let mut span = vec![(usize::MAX, 0usize); coarse_rows];
    for &(i, j) in path {
        span[i].0 = span[i].0.min(j);
        span[i].1 = span[i].1.max(j);
    }
    let mut rows = Vec::with_capacity(len_x);
    let mut start_j = 0;
    for i in 0..len_x {
        let ci = i / 2;
        let near = ci.saturating_sub(radius)..(ci + radius + 1).min(coarse_rows);
        let (lo_c, hi_c) = span[near]
            .iter()
            .filter(|s| s.0 != usize::MAX)
            .fold((usize::MAX, 0), |a, s| (a.0.min(s.0), a.1.max(s.1)));
        let run = (lo_c != usize::MAX).then(|| {
            let lo = (2 * lo_c.saturating_sub(radius)).max(start_j);
            let hi = (2 * (hi_c + radius) + 1).min(len_y - 1);
            (lo, hi)
        });
        match run.filter(|(lo, hi)| lo <= hi) {
            Some((lo, hi)) => {
                rows.push((lo, hi));
                start_j = lo;
            }
            // fastdtw would fail here; an empty row cannot happen for a
            // path that reaches the corner, but stay total.
            None => rows.push((start_j, start_j)),
        }
    }
    rows
}

/// DTW inside `window` (one column range per row of `x`), or over the full
/// grid when `window` is `None`. Only the window's cells are stored.
fn dtw(x: &[f64], y: &[f64], window: Option<&Window>) -> (f64, Vec<(usize, usize)>) {
    let (lx, ly) = (x.len(), y.len());
    let full: Window;
    let rows = match window {
        Some(w) => w,
        None => {
            full = vec![(0, ly.saturating_sub(1)); lx];
            &full
        }
    };
    // Row i (1-based) holds columns lo..=hi (1-based) at offset[i]; row 0
    // holds only D[0,0] = 0. Outside a row's range the cost is infinite.
    let mut bounds = Vec::with_capacity(lx + 1);
    let mut offset = Vec::with_capacity(lx + 2);
    bounds.push((0usize, 0usize));
    offset.push(0usize);
    offset.push(1usize);
    for &(lo, hi) in rows {
        let hi = hi.min(ly - 1);
        let (lo1, hi1) = (lo + 1, (hi + 1).max(lo + 1));
        bounds.push((lo1, hi1));
        let last = *offset.last().expect("offset starts non-empty");
        offset.push(last + (hi1 - lo1 + 1));
    }
    let cells = *offset.last().expect("offset starts non-empty");
    let mut cost = vec![f64::INFINITY; cells];
    // 0 = up (i-1, j), 1 = left (i, j-1), 2 = diagonal.
    let mut from = vec![0u8; cells];
    cost[0] = 0.0;
    let at = |bounds: &[(usize, usize)], i: usize, j: usize| -> Option<usize> {
        let (lo, hi) = bounds[i];
        (j >= lo && j <= hi).then(|| offset[i] + (j - lo))
    };
    let get =
        |cost: &[f64], i: usize, j: usize| at(&bounds, i, j).map_or(f64::INFINITY, |k| cost[k]);
    for i in 1..=lx {
        let (lo, hi) = bounds[i];
        let hi = hi.min(ly);
        for j in lo..=hi {
            let dt = (x[i - 1] - y[j - 1]).abs();
            let up = get(&cost, i - 1, j) + dt;
            let left = get(&cost, i, j - 1) + dt;
            let diag = get(&cost, i - 1, j - 1) + dt;
            let (mut best, mut dir) = (up, 0);
            if left < best {
                (best, dir) = (left, 1);
            }
            if diag < best {
                (best, dir) = (diag, 2);
            }
            let k = offset[i] + (j - bounds[i].0);
            cost[k] = best;
            from[k] = dir;
        }
    }
    let mut path = Vec::with_capacity(lx + ly);
    let (mut i, mut j) = (lx, ly);
    // finite costs always lead back to (0, 0); the loop stays total
    // whatever the window
    while i > 0 && j > 0 {
        path.push((i - 1, j - 1));
        match at(&bounds, i, j).map_or(2, |k| from[k]) {
            0 => i -= 1,
            1 => j -= 1,
            _ => {
                i -= 1;
                j -= 1;
            }
        }
    }
    path.reverse();
    (get(&cost, lx, ly), path)
}

/// `fastdtw.fastdtw(x, y, radius)`.
pub fn fastdtw(x: &[f64], y: &[f64], radius: usize) -> (f64, Vec<(usize, usize)>) {
    let min_size = radius + 2;
    if x.len() < min_size || y.len() < min_size {
        return dtw(x, y, None);
    }
    let (xs, ys) = (reduce_by_half(x), reduce_by_half(y));
    let (_, coarse) = fastdtw(&xs, &ys, radius);
    let window = expand_window(&coarse, x.len(), y.len(), radius);
    dtw(x, y, Some(&window))
}

impl Describe for Dtw {
    fn name(&self) -> &'static str {
        "dtw"
    }
    fn desc(&self) -> &'static str {
        "found the dynamic time wrap for two given time series data"
    }
    fn params(&self) -> Value {
        json!({ "radius": DEFAULT_RADIUS })
    }
}

impl Correlator for Dtw {
    fn correlate(&self, x: &[f64], y: &[f64], options: &Options) -> Result<CorrOutput> {
        let radius = options.int("radius", DEFAULT_RADIUS)?;
        if !(1..=MAX_RADIUS).contains(&radius) {
            bail!("radius value out of range, valid range [1, {MAX_RADIUS}]");
        }
        if x.is_empty() || y.is_empty() {
            bail!("input lists are empty, dtw needs at least one value in each");
        }
        // The path does not change when both series are scaled by one
        // power of two, and the distance scales with them: extreme
        // magnitudes are measured scaled, exactly.
        let both: Vec<f64> = x.iter().chain(y).copied().collect();
        let (distance, path) = match crate::stats::normalized(&both) {
            Some((scaled, e)) => {
                let (d, path) = fastdtw(&scaled[..x.len()], &scaled[x.len()..], radius as usize);
                (crate::stats::pow2_scale(d, e), path)
            }
            None => fastdtw(x, y, radius as usize),
        };
        if !distance.is_finite() {
            bail!(
                "values too large for dtw: the distance between the series overflows a double (about 1.8e308)"
            );
        }
        Ok(CorrOutput::Dtw {
            distance,
            path: path.into_iter().map(|(i, j)| [i, j]).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fastdtw's own window construction (a bitmap of the coarse grid),
    /// kept as the reference for the row-range version.
    fn bitmap_window(path: &[(usize, usize)], len_x: usize, len_y: usize, radius: usize) -> Window {
        let r = radius as i64;
        let (cw, ch) = (
            len_x.div_ceil(2) + 1 + radius,
            len_y.div_ceil(2) + 1 + radius,
        );
        let mut coarse = vec![false; cw * ch];
        for &(i, j) in path {
            for a in -r..=r {
                for b in -r..=r {
                    let (ci, cj) = (i as i64 + a, j as i64 + b);
                    if ci >= 0 && cj >= 0 && (ci as usize) < cw && (cj as usize) < ch {
                        coarse[ci as usize * ch + cj as usize] = true;
                    }
                }
            }
        }
        let in_window = |i: usize, j: usize| coarse[(i / 2) * ch + j / 2];
        let mut rows = Vec::new();
        let mut start_j = 0;
        for i in 0..len_x {
            let mut lo = None;
            let mut hi = 0;
            for j in start_j..len_y {
                if in_window(i, j) {
                    lo.get_or_insert(j);
                    hi = j;
                } else if lo.is_some() {
                    break;
                }
            }
            let l = lo.unwrap_or(start_j);
            rows.push((l, if lo.is_some() { hi } else { start_j }));
            start_j = l;
        }
        rows
    }

    #[test]
    fn row_range_windows_match_the_bitmap() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for case in 0..300 {
            let (lx, ly) = (4 + (rnd() % 60) as usize, 4 + (rnd() % 60) as usize);
            let x: Vec<f64> = (0..lx).map(|_| (rnd() % 1000) as f64 / 10.0).collect();
            let y: Vec<f64> = (0..ly).map(|_| (rnd() % 1000) as f64 / 10.0).collect();
            let radius = 1 + case % 3;
            let (_, coarse) = fastdtw(&reduce_by_half(&x), &reduce_by_half(&y), radius);
            assert_eq!(
                expand_window(&coarse, lx, ly, radius),
                bitmap_window(&coarse, lx, ly, radius),
                "case {case}: {lx} x {ly}, radius {radius}"
            );
        }
    }

    #[test]
    fn long_series_cost_memory_in_proportion_to_their_length() {
        // 40,000 rows each: a full grid would be 14 GB
        let x: Vec<f64> = (0..40_000).map(|i| (i as f64 / 50.0).sin()).collect();
        let y: Vec<f64> = (0..40_000)
            .map(|i| ((i as f64 + 9.0) / 50.0).sin())
            .collect();
        let out = Dtw
            .correlate(&x, &y, &Options::parse(Some("radius=10")))
            .unwrap();
        let CorrOutput::Dtw { distance, path } = out else {
            panic!()
        };
        assert!(distance.is_finite() && distance < 40.0, "{distance}");
        assert_eq!(path.first(), Some(&[0, 0]));
        assert_eq!(path.last(), Some(&[39_999, 39_999]));
    }

    #[test]
    fn extreme_values_are_an_error_or_an_answer() {
        let run = |x: &[f64], y: &[f64]| Dtw.correlate(x, y, &Options::parse(None));
        let err = run(&[1e308, -1e308, 1.0], &[-1e308, 1e308, 2.0]).unwrap_err();
        assert_eq!(
            err.message(),
            "values too large for dtw: the distance between the series overflows a double (about 1.8e308)"
        );
        let CorrOutput::Dtw { distance, .. } = run(&[1e308; 30], &[1e308; 20]).unwrap() else {
            panic!()
        };
        assert_eq!(distance, 0.0);
        let CorrOutput::Dtw { distance, .. } = run(&[5e-324, 0.0, 5e-324], &[0.0; 4]).unwrap()
        else {
            panic!()
        };
        assert_eq!(distance, 1e-323);
        let CorrOutput::Dtw { distance, path } = run(&[3.0; 50], &[3.0; 40]).unwrap() else {
            panic!()
        };
        assert_eq!(distance, 0.0);
        assert_eq!(path.last(), Some(&[49, 39]));
    }

    const X: [f64; 5] = [1.0, 1.1, 1.0, 1.2, 1.1];
    const Y: [f64; 5] = [1.0, 1.5, 1.3, 1.8, 1.6];

    #[test]
    fn spec_vector() {
        for r in ["radius=1", "radius=2", ""] {
            let out = Dtw.correlate(&X, &Y, &Options::parse(Some(r))).unwrap();
            let CorrOutput::Dtw { distance, path } = out else {
                panic!()
            };
            assert_eq!(distance, 1.6000000000000003);
            assert_eq!(
                path,
                vec![[0, 0], [1, 0], [2, 0], [3, 1], [3, 2], [3, 3], [4, 4]]
            );
        }
    }

    #[test]
    fn windowed_matches_full_on_longer_series() {
        let x: Vec<f64> = (0..200).map(|i| (i as f64 / 10.0).sin()).collect();
        let y: Vec<f64> = (0..180).map(|i| ((i as f64 + 7.0) / 10.0).sin()).collect();
        let (d_fast, p) = fastdtw(&x, &y, 3);
        let (d_full, _) = dtw(&x, &y, None);
        assert!(d_fast >= d_full - 1e-12);
        assert!(d_fast <= d_full * 1.05 + 1e-9, "{d_fast} vs {d_full}");
        assert_eq!(p.first(), Some(&(0, 0)));
        assert_eq!(p.last(), Some(&(199, 179)));
    }

    #[test]
    fn radius_is_validated() {
        for bad in ["radius=0", "radius=11"] {
            assert_eq!(
                Dtw.correlate(&X, &Y, &Options::parse(Some(bad)))
                    .unwrap_err()
                    .to_string(),
                "radius value out of range, valid range [1, 10]"
            );
        }
    }
}
