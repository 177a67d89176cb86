//! FastDTW (Salvador & Chan 2007) exactly as the `fastdtw` 0.3.4 package
//! computes it, including its tie-breaking, so that paths match upstream.
//!
//! Recursively halve both series, solve the coarse problem, project the
//! coarse path (widened by `radius`) onto the fine grid and run DTW inside
//! that window. Distance is `|a - b|`. Among equal costs the predecessor is
//! chosen in the order up, left, diagonal (Python's `min` keeps the first).

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

fn expand_window(path: &[(usize, usize)], len_x: usize, len_y: usize, radius: usize) -> Window {
    let r = radius as i64;
    // Mark the coarse cells within `radius` of the path, then the four fine
    // cells under each; a bitmap of the fine grid stays small enough here.
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
    let in_window = |i: usize, j: usize| {
        let (ci, cj) = (i / 2, j / 2);
        ci < cw && cj < ch && coarse[ci * ch + cj]
    };
    let mut rows = Vec::with_capacity(len_x);
    let mut start_j = 0;
    for i in 0..len_x {
        let mut lo = None;
        let mut hi = 0;
        for j in start_j..len_y {
            if in_window(i, j) {
                if lo.is_none() {
                    lo = Some(j);
                }
                hi = j;
            } else if lo.is_some() {
                break;
            }
        }
        match lo {
            Some(l) => {
                rows.push((l, hi));
                start_j = l;
            }
            // fastdtw would fail here; an empty row cannot happen for a
            // path that reaches the corner, but stay total.
            None => rows.push((start_j, start_j)),
        }
    }
    rows
}

/// DTW inside `window` (one column range per row of `x`), or over the full
/// grid when `window` is `None`.
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
    // cost[i][j] for 1-based i, j; row 0 holds only D[0,0] = 0.
    let width = ly + 1;
    let mut cost = vec![f64::INFINITY; (lx + 1) * width];
    // 0 = up (i-1, j), 1 = left (i, j-1), 2 = diagonal.
    let mut from = vec![0u8; (lx + 1) * width];
    cost[0] = 0.0;
    for (i0, &(lo, hi)) in rows.iter().enumerate() {
        let i = i0 + 1;
        let hi = hi.min(ly - 1);
        for (j0, yj) in y.iter().enumerate().take(hi + 1).skip(lo) {
            let j = j0 + 1;
            let dt = (x[i0] - yj).abs();
            let up = cost[(i - 1) * width + j] + dt;
            let left = cost[i * width + j - 1] + dt;
            let diag = cost[(i - 1) * width + j - 1] + dt;
            let (mut best, mut dir) = (up, 0);
            if left < best {
                (best, dir) = (left, 1);
            }
            if diag < best {
                (best, dir) = (diag, 2);
            }
            cost[i * width + j] = best;
            from[i * width + j] = dir;
        }
    }
    let mut path = Vec::with_capacity(lx + ly);
    let (mut i, mut j) = (lx, ly);
    while !(i == 0 && j == 0) {
        path.push((i - 1, j - 1));
        match from[i * width + j] {
            0 => i -= 1,
            1 => j -= 1,
            _ => {
                i -= 1;
                j -= 1;
            }
        }
    }
    path.reverse();
    (cost[lx * width + ly], path)
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
        let (distance, path) = fastdtw(x, y, radius as usize);
        Ok(CorrOutput::Dtw {
            distance,
            path: path.into_iter().map(|(i, j)| [i, j]).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
