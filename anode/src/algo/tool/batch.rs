//! `POST /api/v1/analysis/batch` (also `/tool/batch`, TDgpt 3.4): a
//! "golden batch" — the typical course of a repeated process and an
//! envelope around it — from several windows of one series.
//!
//! Request `{ts, data, window: [[start, end], ...], config}`; each window's
//! points (`start ≤ ts ≤ end`; windows of fewer than 10 points are skipped)
//! go through, as upstream's `algo/tool/batch.py` does:
//!
//! 1. a Hampel filter (`hampel: {window_size 7, sigma 3, active}`): a point
//!    further than `sigma · 1.4826 · MAD` from the median of its
//!    neighbourhood becomes that median;
//! 2. a rate check (`derivative: {max_rate 50, active}`): a point whose rate
//!    of change from the previous point (per timestamp unit) exceeds
//!    `max_rate` is dropped, the first is kept; `max_rate ≤ 0` makes the
//!    whole answer empty, as upstream;
//! 3. resampling of the window's progress (0 at its first point, 1 at its
//!    last) onto `normalize: {target_len 1000, method linear | cubic}`
//!    points (scipy's `interp1d`; cubic is its not-a-knot spline, used from
//!    4 points);
//! 4. Savitzky–Golay smoothing (`savgol: {window 9, polyorder 2, active}`,
//!    scipy's `mode="interp"` edges);
//!
//! then the envelope across windows, point by point (`golden: {method
//! median_percentile | mean_std, lower_percentile 10, upper_percentile 90,
//! n_std 2}`). Answer `{rows, center, lower, upper}`.
//!
//! Differences, on purpose: upstream's Hampel neighbourhood is `[i − w,
//! i + w)` — one point short on the right; here it is the filter's
//! symmetric `[i − w, i + w]`. Upstream's `plot` defaults to true and writes
//! PNG files into the server's working directory on every request; here
//! `plot` is accepted and nothing is drawn. Duplicate timestamps inside a
//! window are refused (scipy's spline refuses them, its linear
//! interpolation divides by zero).
//!
//! May import: `error`, `stats`.

use serde_json::{Map, Value, json};

use crate::bail;
use crate::error::Result;

/// Windows a window needs at least this many points to count (upstream).
const MIN_WINDOW_POINTS: usize = 10;
/// Most points resampled per window: upstream has no bound; 1,000,000 ×
/// windows is the answer's size.
pub const MAX_TARGET_LEN: i64 = 100_000;
/// Most windows per request.
pub const MAX_WINDOWS: usize = 10_000;
/// Most resampled values held at once (windows × `target_len`): 80 MB.
/// Upstream has no bound (10,000 windows × 100,000 points would be 8 GB).
pub const MAX_BATCH_VALUES: usize = 10_000_000;
/// Most Hampel work (points × neighbourhood) per request: each point sorts
/// its neighbourhood, so an unbounded `window_size` is quadratic.
pub const MAX_HAMPEL_WORK: usize = 100_000_000;
/// Longest Savitzky–Golay window and highest order: the weights come from a
/// least-squares fit per window position, and high orders are ill-posed.
pub const MAX_SAVGOL_WINDOW: i64 = 1001;
pub const MAX_SAVGOL_ORDER: i64 = 10;
/// The MAD-to-σ factor of a normal distribution.
const MAD_SCALE: f64 = 1.4826;

/// The pipeline's settings, upstream's defaults first.
#[derive(Debug, Clone, PartialEq)]
struct Config {
    hampel: Option<(usize, f64)>,
    max_rate: Option<f64>,
    target_len: usize,
    cubic: bool,
    savgol: Option<(usize, usize)>,
    golden: Golden,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Golden {
    MedianPercentile { lower: f64, upper: f64 },
    MeanStd { n_std: f64 },
}

/// Runs a batch request.
pub fn golden_batch(req: &Value) -> Result<Value> {
    let (Some(data), Some(ts), Some(windows)) = (
        req.get("data").filter(|v| !v.is_null()),
        req.get("ts").filter(|v| !v.is_null()),
        req.get("window").filter(|v| !v.is_null()),
    ) else {
        bail!("'data', 'ts', and 'window' are required fields in the payload.");
    };
    let config = config(req.get("config"))?;
    let values = numbers(data, "data")?;
    let ts = numbers(ts, "ts")?;
    if values.len() != ts.len() {
        bail!("'ts' and 'data' must have the same length");
    }
    let Some(windows) = windows.as_array() else {
        bail!("'window' must be a list of [start, end] pairs");
    };
    if windows.len() > MAX_WINDOWS {
        bail!("too many windows: {}, at most {MAX_WINDOWS}", windows.len());
    }
    if windows.len().saturating_mul(config.target_len) > MAX_BATCH_VALUES {
        bail!(
            "{} windows of {} points each would hold more than {MAX_BATCH_VALUES} values; lower normalize.target_len or send fewer windows",
            windows.len(),
            config.target_len
        );
    }
    if let Some((w, _)) = config.hampel
        && values.len().saturating_mul(2 * w + 1) > MAX_HAMPEL_WORK
    {
        bail!(
            "hampel window_size {w} over {} points is more than {MAX_HAMPEL_WORK} neighbourhood values; lower hampel.window_size",
            values.len()
        );
    }
    if config.max_rate.is_some_and(|r| r <= 0.0) {
        return Ok(answer(&[], &[], &[]));
    }
    let mut batches: Vec<Vec<f64>> = Vec::new();
    for w in windows {
        let pair = w.as_array().filter(|p| p.len() == 2);
        let Some((start, end)) = pair.and_then(|p| Some((p[0].as_f64()?, p[1].as_f64()?))) else {
            bail!("'window' must be a list of [start, end] pairs");
        };
        let (t, v): (Vec<f64>, Vec<f64>) = ts
            .iter()
            .zip(&values)
            .filter(|(t, _)| **t >= start && **t <= end)
            .map(|(t, v)| (*t, *v))
            .unzip();
        if v.len() < MIN_WINDOW_POINTS {
            continue;
        }
        batches.push(process(&t, &v, &config)?);
    }
    if batches.is_empty() {
        return Ok(answer(&[], &[], &[]));
    }
    let (center, lower, upper) = envelope(&batches, config.golden);
    Ok(answer(&center, &lower, &upper))
}

fn answer(center: &[f64], lower: &[f64], upper: &[f64]) -> Value {
    json!({"rows": lower.len(), "center": center, "lower": lower, "upper": upper})
}

fn numbers(v: &Value, name: &str) -> Result<Vec<f64>> {
    let Some(arr) = v.as_array() else {
        bail!("'{name}' must be a list of numbers");
    };
    arr.iter()
        .enumerate()
        .map(|(i, x)| match x.as_f64() {
            Some(f) if f.is_finite() => Ok(f),
            _ => bail!("'{name}' must be a list of numbers: item {i} is {x}"),
        })
        .collect()
}

/// Upstream's defaults, updated section by section from `config`.
fn config(given: Option<&Value>) -> Result<Config> {
    let empty = Map::new();
    let section = |name: &str| -> Result<&Map<String, Value>> {
        match given.and_then(|c| c.get(name)) {
            None | Some(Value::Null) => Ok(&empty),
            Some(Value::Object(m)) => Ok(m),
            Some(other) => bail!("config.{name} must be an object, actual {other}"),
        }
    };
    if let Some(g) = given
        && !g.is_null()
        && !g.is_object()
    {
        bail!("config must be an object");
    }
    let num = |m: &Map<String, Value>, key: &str, default: f64| -> Result<f64> {
        match m.get(key) {
            None => Ok(default),
            Some(v) => match v.as_f64() {
                Some(f) if f.is_finite() => Ok(f),
                _ => bail!("config {key} must be a number, actual {v}"),
            },
        }
    };
    let int = |m: &Map<String, Value>, key: &str, default: i64| -> Result<i64> {
        match m.get(key) {
            None => Ok(default),
            Some(v) => match v.as_i64() {
                Some(i) => Ok(i),
                None => bail!("config {key} must be an integer, actual {v}"),
            },
        }
    };
    let active = |m: &Map<String, Value>| -> bool {
        m.get("active")
            .is_none_or(|v| v.as_bool().unwrap_or_else(|| v.as_i64() != Some(0)))
    };
    let h = section("hampel")?;
    let (hw, hs) = (int(h, "window_size", 7)?, num(h, "sigma", 3.0)?);
    if active(h) && (hw <= 0 || hs > 3.0) {
        bail!("invalid parameters for hampel filter, window size:{hw}, sigma:{hs}");
    }
    let d = section("derivative")?;
    let n = section("normalize")?;
    let target_len = int(n, "target_len", 1000)?;
    if !(1..=MAX_TARGET_LEN).contains(&target_len) {
        bail!("config target_len must be in [1, {MAX_TARGET_LEN}], actual {target_len}");
    }
    let method = n.get("method").and_then(Value::as_str).unwrap_or("linear");
    let s = section("savgol")?;
    let (sw, sp) = (int(s, "window", 9)?, int(s, "polyorder", 2)?);
    if active(s) {
        if sw <= 0 || sw % 2 == 0 {
            bail!("Savitzky-Golay window must be a positive odd integer, input size: {sw}");
        }
        if sp < 0 || sp >= sw {
            bail!("polyorder must be less than window_length.");
        }
        if sw > MAX_SAVGOL_WINDOW || sp > MAX_SAVGOL_ORDER {
            bail!(
                "Savitzky-Golay window at most {MAX_SAVGOL_WINDOW} and polyorder at most {MAX_SAVGOL_ORDER}, input: {sw}, {sp}"
            );
        }
        if sw > target_len {
            bail!(
                "If mode is 'interp', window_length must be less than or equal to the size of x."
            );
        }
    }
    let g = section("golden")?;
    let golden = match g
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("median_percentile")
    {
        "mean_std" => Golden::MeanStd {
            n_std: num(g, "n_std", 2.0)?,
        },
        _ => {
            let (lower, upper) = (
                num(g, "lower_percentile", 10.0)?,
                num(g, "upper_percentile", 90.0)?,
            );
            for p in [lower, upper] {
                if !(0.0..=100.0).contains(&p) {
                    bail!("Percentiles must be in the range [0, 100]");
                }
            }
            Golden::MedianPercentile { lower, upper }
        }
    };
    Ok(Config {
        hampel: active(h).then_some((hw as usize, hs)),
        max_rate: active(d).then_some(num(d, "max_rate", 50.0)?),
        target_len: target_len as usize,
        cubic: method == "cubic",
        savgol: active(s).then_some((sw as usize, sp as usize)),
        golden,
    })
}

/// One window through the filters and the resampling.
fn process(t: &[f64], v: &[f64], c: &Config) -> Result<Vec<f64>> {
    let v = match c.hampel {
        Some((w, sigma)) => hampel(v, w, sigma),
        None => v.to_vec(),
    };
    let (t, v) = match c.max_rate {
        Some(rate) => rate_check(t, &v, rate),
        None => (t.to_vec(), v),
    };
    if t.windows(2).any(|p| p[1] <= p[0]) {
        bail!("timestamps within a window must be distinct and ascending");
    }
    let resampled = resample(&t, &v, c.target_len, c.cubic);
    Ok(match c.savgol {
        Some((w, p)) => savgol(&resampled, w, p),
        None => resampled,
    })
}

fn hampel(v: &[f64], w: usize, sigma: f64) -> Vec<f64> {
    let mut out = v.to_vec();
    let mut window = Vec::with_capacity(2 * w + 1);
    for i in 0..v.len() {
        window.clear();
        window.extend_from_slice(&v[i.saturating_sub(w)..(i + w + 1).min(v.len())]);
        let median = crate::stats::median_mut(&mut window);
        for x in window.iter_mut() {
            *x = (*x - median).abs();
        }
        let mad = MAD_SCALE * crate::stats::median_mut(&mut window);
        if mad != 0.0 && (v[i] - median).abs() > sigma * mad {
            out[i] = median;
        }
    }
    out
}

/// Drops points whose rate from the previous *input* point exceeds `max`.
fn rate_check(t: &[f64], v: &[f64], max: f64) -> (Vec<f64>, Vec<f64>) {
    let keep = |i: usize| {
        i == 0 || {
            let rate = (v[i] - v[i - 1]) / (t[i] - t[i - 1]);
            rate.abs() <= max
        }
    };
    (0..t.len())
        .filter(|&i| keep(i))
        .map(|i| (t[i], v[i]))
        .unzip()
}

/// The window resampled at `len` evenly spaced points of its progress.
fn resample(t: &[f64], v: &[f64], len: usize, cubic: bool) -> Vec<f64> {
    let (lo, hi) = (t[0], t[t.len() - 1]);
    let range = hi - lo;
    let x: Vec<f64> = t
        .iter()
        .map(|ti| if range > 0.0 { (ti - lo) / range } else { 0.0 })
        .collect();
    let step = if len > 1 { 1.0 / (len - 1) as f64 } else { 0.0 };
    let grid = (0..len).map(|i| {
        if i + 1 == len && len > 1 {
            1.0
        } else {
            i as f64 * step
        }
    });
    if cubic && v.len() >= 4 {
        let m = not_a_knot_second_derivatives(&x, v);
        grid.map(|g| spline_at(&x, v, &m, g)).collect()
    } else if x.len() == 1 {
        grid.map(|_| v[0]).collect()
    } else {
        grid.map(|g| {
            // scipy interp1d: searchsorted(left), clipped to 1..n-1
            let idx = x.partition_point(|xi| *xi < g).clamp(1, x.len() - 1);
            let (x0, x1, y0, y1) = (x[idx - 1], x[idx], v[idx - 1], v[idx]);
            let slope = (y1 - y0) / (x1 - x0);
            slope * (g - x0) + y0
        })
        .collect()
    }
}

/// Second derivatives at the knots of the not-a-knot cubic spline through
/// `(x, y)`: the standard tridiagonal system, with the end conditions
/// (third derivative continuous at `x[1]` and `x[n−2]`) eliminated into
/// its first and last rows.
fn not_a_knot_second_derivatives(x: &[f64], y: &[f64]) -> Vec<f64> {
    let n = x.len();
    let h: Vec<f64> = x.windows(2).map(|p| p[1] - p[0]).collect();
    let slope: Vec<f64> = (0..n - 1).map(|i| (y[i + 1] - y[i]) / h[i]).collect();
    // rows i = 1..n-2: h[i-1] M[i-1] + 2(h[i-1]+h[i]) M[i] + h[i] M[i+1] = r[i]
    let k = n - 2;
    let (mut a, mut b, mut c, mut r) = (vec![0.0; k], vec![0.0; k], vec![0.0; k], vec![0.0; k]);
    for i in 1..n - 1 {
        let j = i - 1;
        a[j] = h[i - 1];
        b[j] = 2.0 * (h[i - 1] + h[i]);
        c[j] = h[i];
        r[j] = 6.0 * (slope[i] - slope[i - 1]);
    }
    // M0 = M1 (1 + h0/h1) − M2 h0/h1, into row 1
    let (h0, h1) = (h[0], h[1]);
    b[0] += a[0] * (1.0 + h0 / h1);
    c[0] -= a[0] * h0 / h1;
    // M[n-1] = M[n-2] (1 + hl/hp) − M[n-3] hl/hp, into row n-2
    let (hp, hl) = (h[n - 3], h[n - 2]);
    b[k - 1] += c[k - 1] * (1.0 + hl / hp);
    a[k - 1] -= c[k - 1] * hl / hp;
    let inner = if k == 1 {
        // n = 4 would make k = 2; k = 1 cannot happen (n ≥ 4)
        vec![r[0] / b[0]]
    } else {
        thomas(&a, &b, &c, &r)
    };
    let mut m = vec![0.0; n];
    m[1..n - 1].copy_from_slice(&inner);
    m[0] = m[1] * (1.0 + h0 / h1) - m[2] * h0 / h1;
    m[n - 1] = m[n - 2] * (1.0 + hl / hp) - m[n - 3] * hl / hp;
    m
}

/// Solves a tridiagonal system (sub-diagonal `a[1..]`, diagonal `b`,
/// super-diagonal `c[..k-1]`).
fn thomas(a: &[f64], b: &[f64], c: &[f64], r: &[f64]) -> Vec<f64> {
    let k = b.len();
    let (mut cp, mut rp) = (vec![0.0; k], vec![0.0; k]);
    cp[0] = c[0] / b[0];
    rp[0] = r[0] / b[0];
    for i in 1..k {
        let den = b[i] - a[i] * cp[i - 1];
        cp[i] = c[i] / den;
        rp[i] = (r[i] - a[i] * rp[i - 1]) / den;
    }
    let mut out = vec![0.0; k];
    out[k - 1] = rp[k - 1];
    for i in (0..k - 1).rev() {
        out[i] = rp[i] - cp[i] * out[i + 1];
    }
    out
}

fn spline_at(x: &[f64], y: &[f64], m: &[f64], t: f64) -> f64 {
    let i = x.partition_point(|xi| *xi <= t).clamp(1, x.len() - 1) - 1;
    let h = x[i + 1] - x[i];
    let (l, r) = (x[i + 1] - t, t - x[i]);
    m[i] * l.powi(3) / (6.0 * h)
        + m[i + 1] * r.powi(3) / (6.0 * h)
        + (y[i] / h - m[i] * h / 6.0) * l
        + (y[i + 1] / h - m[i + 1] * h / 6.0) * r
}

/// Least-squares polynomial of degree `p` through `(pos, y)`: its
/// coefficients (lowest degree first), by the normal equations (the
/// positions are centred, so the small system stays well conditioned).
fn polyfit(pos: &[f64], y: &[f64], p: usize) -> Vec<f64> {
    let d = p + 1;
    let mut ata = vec![vec![0.0; d]; d];
    let mut aty = vec![0.0; d];
    for (x, v) in pos.iter().zip(y) {
        let mut pw = vec![1.0; d];
        for j in 1..d {
            pw[j] = pw[j - 1] * x;
        }
        for i in 0..d {
            aty[i] += pw[i] * v;
            for j in 0..d {
                ata[i][j] += pw[i] * pw[j];
            }
        }
    }
    // Gaussian elimination with partial pivoting
    for col in 0..d {
        let piv = (col..d)
            .max_by(|&a, &b| ata[a][col].abs().total_cmp(&ata[b][col].abs()))
            .unwrap_or(col);
        ata.swap(col, piv);
        aty.swap(col, piv);
        let diag = ata[col][col];
        if diag == 0.0 {
            continue;
        }
        for row in col + 1..d {
            let f = ata[row][col] / diag;
            let (top, bottom) = ata.split_at_mut(row);
            for (x, p) in bottom[0][col..].iter_mut().zip(&top[col][col..]) {
                *x -= f * p;
            }
            aty[row] -= f * aty[col];
        }
    }
    let mut coef = vec![0.0; d];
    for i in (0..d).rev() {
        let s: f64 = (i + 1..d).map(|k| ata[i][k] * coef[k]).sum();
        coef[i] = if ata[i][i] == 0.0 {
            0.0
        } else {
            (aty[i] - s) / ata[i][i]
        };
    }
    coef
}

fn poly_at(coef: &[f64], x: f64) -> f64 {
    coef.iter().rev().fold(0.0, |acc, c| acc * x + c)
}

/// scipy `savgol_filter(x, w, p)` with `mode="interp"`: the centre value of
/// the window's least-squares polynomial inside, the polynomial of the first
/// and last `w` points at the edges.
fn savgol(x: &[f64], w: usize, p: usize) -> Vec<f64> {
    let n = x.len();
    let half = w / 2;
    let pos: Vec<f64> = (0..w).map(|i| i as f64 - half as f64).collect();
    // convolution weights: the polynomial's value at 0 is linear in y
    let weights: Vec<f64> = (0..w)
        .map(|k| {
            let e: Vec<f64> = (0..w).map(|i| f64::from(u8::from(i == k))).collect();
            polyfit(&pos, &e, p)[0]
        })
        .collect();
    let mut out = vec![0.0; n];
    for i in half..n - half {
        out[i] = weights
            .iter()
            .zip(&x[i - half..=i + half])
            .map(|(a, b)| a * b)
            .sum();
    }
    let first = polyfit(&pos, &x[..w], p);
    let last = polyfit(&pos, &x[n - w..], p);
    for i in 0..half {
        out[i] = poly_at(&first, pos[i]);
        out[n - half + i] = poly_at(&last, pos[w - half + i]);
    }
    out
}

/// Centre, lower and upper line across the batches, point by point.
fn envelope(batches: &[Vec<f64>], g: Golden) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let len = batches[0].len();
    let k = batches.len() as f64;
    let mut column = Vec::with_capacity(batches.len());
    let (mut center, mut lower, mut upper) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..len {
        column.clear();
        column.extend(batches.iter().map(|b| b[i]));
        match g {
            Golden::MeanStd { n_std } => {
                let mean = column.iter().sum::<f64>() / k;
                let sd = (column.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / k).sqrt();
                center.push(mean);
                upper.push(mean + n_std * sd);
                lower.push(mean - n_std * sd);
            }
            Golden::MedianPercentile {
                lower: lo,
                upper: hi,
            } => {
                column.sort_by(f64::total_cmp);
                center.push(crate::stats::quantile_sorted(&column, 0.5));
                lower.push(crate::stats::numpy_quantile_sorted(&column, lo / 100.0));
                upper.push(crate::stats::numpy_quantile_sorted(&column, hi / 100.0));
            }
        }
    }
    (center, lower, upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spline_reproduces_a_cubic() {
        // a not-a-knot spline through points of a cubic is that cubic
        let f = |x: f64| 2.0 * x.powi(3) - x * x + 0.5 * x - 3.0;
        let x = [0.0, 0.1, 0.35, 0.5, 0.8, 1.0];
        let y: Vec<f64> = x.iter().map(|v| f(*v)).collect();
        let m = not_a_knot_second_derivatives(&x, &y);
        for t in [0.05, 0.2, 0.6, 0.95] {
            assert!((spline_at(&x, &y, &m, t) - f(t)).abs() < 1e-12, "{t}");
        }
    }

    #[test]
    fn savgol_keeps_a_quadratic_and_smooths_noise() {
        let q: Vec<f64> = (0..30)
            .map(|i| 0.5 * (i * i) as f64 - 3.0 * i as f64)
            .collect();
        for (a, b) in savgol(&q, 9, 2).iter().zip(&q) {
            assert!((a - b).abs() < 1e-9, "{a} {b}");
        }
        // known weights of the 5-point quadratic filter: (−3, 12, 17, 12, −3)/35
        let spike: Vec<f64> = (0..11).map(|i| f64::from(u8::from(i == 5))).collect();
        let s = savgol(&spike, 5, 2);
        assert!(
            (s[5] - 17.0 / 35.0).abs() < 1e-12 && (s[3] + 3.0 / 35.0).abs() < 1e-12,
            "{s:?}"
        );
    }

    #[test]
    fn a_golden_batch_of_repeated_runs() {
        // five runs of the same ramp with different noise and one spike
        let mut ts = Vec::new();
        let mut data = Vec::new();
        let mut windows = Vec::new();
        for run in 0..5 {
            let t0 = run * 1000;
            for i in 0..50 {
                ts.push(t0 + i * 10);
                let noise = ((run * 7 + i * 13) % 5) as f64 * 0.01;
                data.push(i as f64 * 0.1 + noise + if i == 20 && run == 2 { 50.0 } else { 0.0 });
            }
            windows.push(json!([t0, t0 + 490]));
        }
        let out = golden_batch(&json!({
            "ts": ts, "data": data, "window": windows,
            "config": {"normalize": {"target_len": 100}},
        }))
        .unwrap();
        assert_eq!(out["rows"], 100);
        let center = out["center"].as_array().unwrap();
        let (lo, hi) = (
            out["lower"].as_array().unwrap(),
            out["upper"].as_array().unwrap(),
        );
        // the spike is filtered out: the envelope stays near the ramp
        for i in 0..100 {
            let c = center[i].as_f64().unwrap();
            let ramp = i as f64 / 99.0 * 4.9;
            assert!((c - ramp).abs() < 0.1, "{i}: {c} vs {ramp}");
            assert!(lo[i].as_f64().unwrap() <= c && c <= hi[i].as_f64().unwrap());
        }
    }

    #[test]
    fn upstream_messages() {
        let err = |v: Value| golden_batch(&v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"ts": [1]})),
            "'data', 'ts', and 'window' are required fields in the payload."
        );
        assert_eq!(
            err(json!({"ts": [1], "data": [1], "window": [], "config": {"savgol": {"window": 8}}})),
            "Savitzky-Golay window must be a positive odd integer, input size: 8"
        );
        assert_eq!(
            err(
                json!({"ts": [1], "data": [1], "window": vec![json!([0, 1]); 101], "config": {"normalize": {"target_len": 100_000}, "savgol": {"active": false}}})
            ),
            "101 windows of 100000 points each would hold more than 10000000 values; lower normalize.target_len or send fewer windows"
        );
        assert_eq!(
            err(json!({"ts": [1], "data": [1], "window": [], "config": {"hampel": {"sigma": 4}}})),
            "invalid parameters for hampel filter, window size:7, sigma:4"
        );
        let empty = golden_batch(&json!({"ts": [1], "data": [1], "window": [[0, 5]]})).unwrap();
        assert_eq!(
            empty,
            json!({"rows": 0, "center": [], "lower": [], "upper": []})
        );
    }
}
