//! `POST /api/v1/analysis/profile-search` (TDgpt 3.4): the windows of a
//! target series (or the profiles of a list) most like a source pattern, by
//! FastDTW distance or cosine similarity.
//!
//! Request, as upstream's `algo/tool/profile_search.py` reads it:
//! `normalization` none | min-max | z-score | centering (each series on its
//! own); `algo: {type: dtw | cosine, params: {radius 1..10, min_window,
//! max_window, window_size_step (dtw), window_sliding_step}}`; `result:
//! {num 1..500 | threshold, exclude_source, exclude_contained (dtw)}`;
//! `source_data` a list of numbers or `{data, ts}` (its `ts` gives the
//! window `exclude_source` drops: any candidate covering it); `target_data:
//! {ts, data}` where `data` is one series (windows of every size from
//! `min_window` to `max_window`, default the source's length, sliding by
//! `window_sliding_step`) or a list of profiles with `ts` `[start, end]`
//! pairs. Answer `{rows, metric_type: dtw_distance | cosine_similarity,
//! matches: [{criteria, ts_window, num}]}`, best first; ties keep the
//! candidate met first.
//!
//! Bounds (upstream's `ProfileSearchLimits`): source ≤ 10,000 values,
//! target ≤ 100,000 values in all, ≤ 10,000 profiles or window candidates,
//! ≤ 500 matches. Candidates are scored one at a time from slices of the
//! target — never materialised — and only the best `num` are kept (all
//! passing ones with `exclude_contained`, at most the 10,000 candidates).
//!
//! `exclude_contained` keeps, best first, each match that neither contains
//! nor is contained (strictly) in one already kept — upstream's greedy rule;
//! its oversampling retry loop ends with the same matches, so here the
//! greedy pass runs once over every passing candidate.
//!
//! May import: `error`, its parent's sibling `correlation::dtw`.

use std::collections::BinaryHeap;

use serde_json::{Map, Value, json};

use crate::algo::correlation::dtw::fastdtw;
use crate::bail;
use crate::error::Result;

pub const MIN_RADIUS: i64 = 1;
pub const MAX_RADIUS: i64 = 10;
pub const MAX_RESULTS: i64 = 500;
pub const MAX_SOURCE_LEN: usize = 10_000;
pub const MAX_TARGET_LEN: usize = 100_000;
pub const MAX_PROFILES: usize = 10_000;
pub const MAX_WINDOW_CANDIDATES: usize = 10_000;
/// Most DTW work one request may ask for, in cells of the warping band
/// (`Σ max(source, window) · (2·radius + 1)` over the candidates; FastDTW's
/// coarser levels add about as much again). Ours, not upstream's: within
/// upstream's other limits a request could ask for 2·10⁹ cells, 90 s of one
/// core here (and hours in Python); 3·10⁸ is about 15 s.
pub const MAX_DTW_CELLS: u64 = 300_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Norm {
    None,
    MinMax,
    ZScore,
    Centering,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Metric {
    Dtw { radius: usize },
    Cosine,
}

/// Where the candidates come from.
enum Target<'a> {
    Series {
        ts: &'a [Value],
        data: Vec<f64>,
        min_w: usize,
        max_w: usize,
        size_step: usize,
        slide: usize,
    },
    Profiles {
        ts: &'a [Value],
        profiles: Vec<Vec<f64>>,
        min_w: Option<usize>,
        max_w: Option<usize>,
    },
}

/// A scored candidate.
#[derive(Debug, Clone)]
struct Match {
    criteria: f64,
    seq: usize,
    window: [Value; 2],
    num: usize,
}

impl Match {
    /// Ordering key, smaller is better: distance up, similarity down, then
    /// the order the candidates were met in.
    fn rank(&self, metric: Metric) -> (f64, usize) {
        match metric {
            Metric::Dtw { .. } => (self.criteria, self.seq),
            Metric::Cosine => (-self.criteria, self.seq),
        }
    }
}

/// A match in the bounded heap: the worst of the kept ones on top.
struct Ranked(Match, Metric);

impl PartialEq for Ranked {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == std::cmp::Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        let (a, b) = (self.0.rank(self.1), o.0.rank(o.1));
        a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
    }
}

/// Runs a profile search request.
pub fn search(req: &Value) -> Result<Value> {
    let Some(req) = req.as_object() else {
        bail!("invalid request format, a JSON object is expected");
    };
    let norm = match req.get("normalization") {
        None | Some(Value::Null) => Norm::None,
        Some(v) => match text(v).to_lowercase().as_str() {
            "none" => Norm::None,
            "min-max" => Norm::MinMax,
            "z-score" => Norm::ZScore,
            "centering" => Norm::Centering,
            other => bail!("unsupported normalization: {other}"),
        },
    };
    let Some(algo) = req.get("algo").and_then(Value::as_object) else {
        bail!("\"algo\" object is required and must be a dictionary");
    };
    let algo_type = algo
        .get("type")
        .map_or("dtw".to_owned(), |v| text(v).to_lowercase());
    if algo_type != "dtw" && algo_type != "cosine" {
        bail!("unsupported algo: {algo_type}");
    }
    let is_dtw = algo_type == "dtw";
    let empty = Map::new();
    let params = match algo.get("params") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => bail!("\"algo.params\" must be a dictionary"),
    };
    let result = match req.get("result") {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(_) => bail!("\"result\" must be a dictionary if provided"),
    };
    let (source, target) = match (req.get("source_data"), req.get("target_data")) {
        (Some(s), Some(t)) if !s.is_null() && !t.is_null() => (s, t),
        _ => bail!("\"source_data\" and \"target_data\" are required"),
    };
    let (ts_list, data_list) = match (target.get("ts"), target.get("data")) {
        (Some(ts), Some(data)) if !ts.is_null() && !data.is_null() => (ts, data),
        _ => bail!("\"target_data.ts\" and \"target_data.data\" are required"),
    };
    if !is_dtw && (params.contains_key("min_window") || params.contains_key("max_window")) {
        bail!("\"min_window\" and \"max_window\" can only be set for dtw algorithm");
    }
    let (threshold, top_n) = result_limits(result, is_dtw)?;
    let (source, source_window) = source_data(source)?;
    let exclude_contained = flag(result, "exclude_contained")?;
    if !is_dtw && result.contains_key("exclude_contained") {
        bail!("\"result.exclude_contained\" can only be set for dtw algorithm");
    }
    let exclude_source = flag(result, "exclude_source")?;
    let min_window = window_param(params, "min_window")?;
    let max_window = window_param(params, "max_window")?;
    if let (Some(a), Some(b)) = (min_window, max_window)
        && a > b
    {
        bail!("\"min_window\" cannot be larger than \"max_window\"");
    }
    if !is_dtw && params.contains_key("window_size_step") {
        bail!("\"window_size_step\" can only be set for dtw algorithm");
    }
    let size_step = step_param(params, "window_size_step")?;
    let slide = step_param(params, "window_sliding_step")?;
    let Some(ts) = ts_list.as_array() else {
        bail!("\"target_data.ts\" must be an array");
    };
    let is_profiles = data_list
        .as_array()
        .and_then(|a| a.first())
        .is_some_and(Value::is_array);
    let target = if is_profiles {
        let list = data_list.as_array().expect("checked");
        if list.len() > MAX_PROFILES {
            bail!(
                "\"target_data.data\" has too many profiles ({}); max is {MAX_PROFILES}",
                list.len()
            );
        }
        let mut profiles = Vec::with_capacity(list.len());
        let mut total = 0;
        for (i, p) in list.iter().enumerate() {
            let arr = numbers(p).filter(|a| !a.is_empty());
            let Some(arr) = arr else {
                bail!("input series must be a non-empty 1-D numeric array");
            };
            if arr.iter().any(|v| !v.is_finite()) {
                bail!("\"target_data.data[{i}]\" contains NaN or Inf");
            }
            if !is_dtw && arr.len() != source.len() {
                bail!(
                    "for cosine similarity, each profile in \"target_data.data\" must have the same length as \"source_data\" ({})",
                    source.len()
                );
            }
            total += arr.len();
            profiles.push(arr);
        }
        if total > MAX_TARGET_LEN {
            bail!(
                "total length of all profiles in \"target_data.data\" ({total}) exceeds maximum allowed ({MAX_TARGET_LEN})"
            );
        }
        Target::Profiles {
            ts,
            profiles,
            min_w: min_window,
            max_w: max_window,
        }
    } else {
        let Some(data) = numbers(data_list) else {
            bail!("\"target_data.data\" must be a 1-D numeric array");
        };
        if data.len() > MAX_TARGET_LEN {
            bail!(
                "\"target_data.data\" length {} exceeds maximum allowed ({MAX_TARGET_LEN})",
                data.len()
            );
        }
        if data.iter().any(|v| !v.is_finite()) {
            bail!("\"target_data.data\" contains NaN or Inf");
        }
        let n = data.len();
        let min_w = min_window.unwrap_or(source.len());
        let max_w = max_window.unwrap_or(source.len());
        let (lo, hi) = (min_w.min(n), max_w.min(n));
        if lo > 0 && hi >= lo {
            let count: usize = (lo..=hi)
                .step_by(size_step)
                .map(|w| (n - w) / slide + 1)
                .sum();
            if count > MAX_WINDOW_CANDIDATES {
                bail!(
                    "sliding window would generate {count} candidates, which exceeds the maximum of {MAX_WINDOW_CANDIDATES}; reduce target_data length or narrow the window range"
                );
            }
        }
        if ts.len() != n {
            bail!("\"target_data.ts\" length must equal \"target_data.data\" length for 1-D data");
        }
        if n == 0 {
            bail!("\"target_data.data\" cannot be empty");
        }
        if min_w > n {
            bail!(
                "min_window ({min_w}) exceeds target series length ({n}); reduce min_window or use a longer target series"
            );
        }
        Target::Series {
            ts,
            data,
            min_w,
            max_w: max_w.min(n),
            size_step,
            slide,
        }
    };
    let metric = if is_dtw {
        let r = match params.get("radius") {
            None | Some(Value::Null) => MIN_RADIUS,
            Some(v) => integer(v).ok_or_else(|| {
                crate::error::AnodeError::new("\"radius\" must be an integer".to_owned())
            })?,
        };
        if !(MIN_RADIUS..=MAX_RADIUS).contains(&r) {
            bail!("radius value out of range, valid range [{MIN_RADIUS}, {MAX_RADIUS}]");
        }
        Metric::Dtw { radius: r as usize }
    } else {
        Metric::Cosine
    };

    if let Metric::Dtw { radius } = metric {
        let band = 2 * radius as u64 + 1;
        let m = source.len() as u64;
        let cells: u64 = match &target {
            Target::Series {
                data,
                min_w,
                max_w,
                size_step,
                slide,
                ..
            } => (*min_w..=*max_w)
                .step_by(*size_step)
                .map(|w| ((data.len() - w) / slide + 1) as u64 * m.max(w as u64) * band)
                .sum(),
            Target::Profiles { profiles, .. } => {
                profiles.iter().map(|p| m.max(p.len() as u64) * band).sum()
            }
        };
        if cells > MAX_DTW_CELLS {
            bail!(
                "profile search would cost {cells} DTW cells (candidates × window × (2·radius + 1)), more than {MAX_DTW_CELLS}; narrow the windows, raise window_sliding_step or lower radius"
            );
        }
    }
    let src = normalize(&source, norm);
    let limit = top_n.unwrap_or(MAX_RESULTS as usize);
    let keep_all = is_dtw && exclude_contained;
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::new();
    let mut passed: Vec<Match> = Vec::new();
    let mut seq = 0;
    let mut scratch = Vec::new();
    let mut consider = |values: &[f64], window: [&Value; 2], num: usize| {
        seq += 1;
        normalize_into(values, norm, &mut scratch);
        let criteria = match metric {
            Metric::Dtw { radius } => fastdtw(&src, &scratch, radius).0,
            Metric::Cosine => cosine(&src, &scratch),
        };
        if let Some(t) = threshold {
            if is_dtw && criteria > t || !is_dtw && criteria < t {
                return;
            }
        }
        let m = Match {
            criteria,
            seq,
            window: [window[0].clone(), window[1].clone()],
            num,
        };
        if keep_all {
            passed.push(m);
        } else if heap.len() < limit {
            heap.push(Ranked(m, metric));
        } else if heap
            .peek()
            .is_some_and(|worst| Ranked(m.clone(), metric) < *worst)
        {
            heap.pop();
            heap.push(Ranked(m, metric));
        }
    };
    let covers_source = |a: &Value, b: &Value| match (&source_window, exclude_source) {
        (Some([s0, s1]), true) => le(a, s0) && le(s1, b),
        _ => false,
    };
    match &target {
        Target::Series {
            ts,
            data,
            min_w,
            max_w,
            size_step,
            slide,
        } => {
            for w in (*min_w..=*max_w).step_by(*size_step) {
                for start in (0..=data.len() - w).step_by(*slide) {
                    let end = start + w - 1;
                    if covers_source(&ts[start], &ts[end]) {
                        continue;
                    }
                    consider(&data[start..=end], [&ts[start], &ts[end]], w);
                }
            }
        }
        Target::Profiles {
            ts,
            profiles,
            min_w,
            max_w,
        } => {
            let mut any = false;
            for (i, p) in profiles.iter().enumerate() {
                if min_w.is_some_and(|m| p.len() < m) || max_w.is_some_and(|m| p.len() > m) {
                    continue;
                }
                let Some(pair) = ts.get(i) else {
                    bail!(
                        "when \"target_data.data\" is a list of profiles, \"target_data.ts\" and \"target_data.data\" must have matching lengths"
                    );
                };
                let Some([a, b]) = pair
                    .as_array()
                    .and_then(|v| <&[Value; 2]>::try_from(v.as_slice()).ok())
                else {
                    bail!(
                        "when \"target_data.data\" is a list of profiles, each corresponding item in \"target_data.ts\" must be a [start_ts, end_ts] pair"
                    );
                };
                if covers_source(a, b) {
                    continue;
                }
                any = true;
                consider(p, [a, b], p.len());
            }
            if !any {
                bail!("no candidate profiles after min_window/max_window filtering");
            }
        }
    }
    let mut matches: Vec<Match> = if keep_all {
        passed
    } else {
        heap.into_iter().map(|r| r.0).collect()
    };
    matches.sort_by(|a, b| {
        let (x, y) = (a.rank(metric), b.rank(metric));
        x.0.total_cmp(&y.0).then(x.1.cmp(&y.1))
    });
    if keep_all {
        matches = drop_contained(matches, limit);
    }
    matches.truncate(limit);
    let out: Vec<Value> = matches
        .into_iter()
        .map(|m| json!({"criteria": m.criteria, "ts_window": m.window, "num": m.num}))
        .collect();
    Ok(json!({
        "rows": out.len(),
        "metric_type": if is_dtw { "dtw_distance" } else { "cosine_similarity" },
        "matches": out,
    }))
}

/// Best first, keeps a match unless it strictly contains or is strictly
/// contained in one kept before it; stops at `limit`.
fn drop_contained(matches: Vec<Match>, limit: usize) -> Vec<Match> {
    let contains = |outer: &[Value; 2], inner: &[Value; 2]| {
        le(&outer[0], &inner[0])
            && le(&inner[1], &outer[1])
            && (lt(&outer[0], &inner[0]) || lt(&inner[1], &outer[1]))
    };
    let mut kept: Vec<Match> = Vec::new();
    for m in matches {
        if kept.len() >= limit {
            break;
        }
        if !kept
            .iter()
            .any(|k| contains(&k.window, &m.window) || contains(&m.window, &k.window))
        {
            kept.push(m);
        }
    }
    kept
}

fn as_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}
fn le(a: &Value, b: &Value) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x <= y,
        _ => as_f64(a) <= as_f64(b),
    }
}
fn lt(a: &Value, b: &Value) -> bool {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => x < y,
        _ => as_f64(a) < as_f64(b),
    }
}

/// Python `str(v)` of a JSON scalar, for the messages that echo one.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON list of numbers (booleans and strings are not numbers here).
fn numbers(v: &Value) -> Option<Vec<f64>> {
    v.as_array()?.iter().map(Value::as_f64).collect()
}

/// A JSON integer (not a bool, not a float with a fraction).
fn integer(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn flag(result: &Map<String, Value>, key: &str) -> Result<bool> {
    match result.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => bail!("\"result.{key}\" must be a boolean"),
    }
}

fn window_param(params: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let Some(i) = integer(v) else {
                bail!("\"{key}\" must be an integer");
            };
            if i < 1 {
                bail!("\"{key}\" must be greater than or equal to 1");
            }
            Ok(Some(i as usize))
        }
    }
}

fn step_param(params: &Map<String, Value>, key: &str) -> Result<usize> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(1),
        Some(Value::Bool(_)) => bail!("\"{key}\" must be an integer"),
        Some(v) => match integer(v) {
            Some(i) if i >= 1 => Ok(i as usize),
            Some(_) => bail!("\"{key}\" must be greater than or equal to 1"),
            None => bail!("\"{key}\" must be an integer"),
        },
    }
}

/// `(threshold, num)` of `result`: exactly one of them.
fn result_limits(
    result: &Map<String, Value>,
    is_dtw: bool,
) -> Result<(Option<f64>, Option<usize>)> {
    let (num, threshold) = (result.get("num"), result.get("threshold"));
    match (num, threshold) {
        (Some(_), Some(_)) => bail!("\"num\" and \"threshold\" cannot be set at the same time"),
        (None, None) => bail!("either \"num\" or \"threshold\" must be provided"),
        (None, Some(t)) => {
            let t = match t {
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                Value::String(s) => s.trim().parse::<f64>().map_err(|_| {
                    crate::error::AnodeError::new(
                        "\"result.threshold\" must be a number".to_owned(),
                    )
                })?,
                _ => bail!("\"result.threshold\" must be a number"),
            };
            if !t.is_finite() {
                bail!("\"result.threshold\" cannot be NaN or Inf");
            }
            if is_dtw && t < 0.0 {
                bail!("for dtw algorithm, \"result.threshold\" must be non-negative");
            }
            if !is_dtw && !(-1.0..=1.0).contains(&t) {
                bail!("for cosine similarity, \"result.threshold\" must be in range [-1, 1]");
            }
            Ok((Some(t), None))
        }
        (Some(n), None) => {
            let n = match n {
                Value::Number(x) => x.as_i64().or_else(|| x.as_f64().map(|f| f.trunc() as i64)),
                Value::String(s) => s.trim().parse::<i64>().ok(),
                _ => None,
            };
            let Some(n) = n else {
                bail!("\"result.num\" must be an integer");
            };
            if !(1..=MAX_RESULTS).contains(&n) {
                bail!("\"result.num\" must be in range [1, {MAX_RESULTS}]");
            }
            Ok((None, Some(n as usize)))
        }
    }
}

/// The source values and, from `{data, ts}`, its `[first, last]` ts.
fn source_data(v: &Value) -> Result<(Vec<f64>, Option<[Value; 2]>)> {
    let (data, ts) = match v {
        Value::Object(m) => {
            let Some(d) = m.get("data") else {
                bail!("\"source_data.data\" is required when \"source_data\" is an object");
            };
            (d, m.get("ts").filter(|t| !t.is_null()))
        }
        other => (other, None),
    };
    let Some(arr) = numbers(data).filter(|a| !a.is_empty()) else {
        bail!("\"source_data\" must be a non-empty 1-D numeric array");
    };
    if arr.len() > MAX_SOURCE_LEN {
        bail!(
            "\"source_data\" length {} exceeds maximum allowed ({MAX_SOURCE_LEN})",
            arr.len()
        );
    }
    if arr.iter().any(|x| !x.is_finite()) {
        bail!("\"source_data\" contains NaN or Inf");
    }
    let window = match ts {
        None => None,
        Some(Value::Array(t)) if t.len() == arr.len() => {
            Some([t[0].clone(), t[t.len() - 1].clone()])
        }
        Some(_) => bail!("\"source_data.ts\" must have the same length as \"source_data.data\""),
    };
    Ok((arr, window))
}

fn normalize(x: &[f64], norm: Norm) -> Vec<f64> {
    let mut out = Vec::new();
    normalize_into(x, norm, &mut out);
    out
}

/// numpy's arithmetic of upstream's `_normalize_series` (population std; a
/// constant series becomes zeros) into `out`.
fn normalize_into(x: &[f64], norm: Norm, out: &mut Vec<f64>) {
    out.clear();
    let n = x.len() as f64;
    match norm {
        Norm::None => out.extend_from_slice(x),
        Norm::Centering => {
            let m = x.iter().sum::<f64>() / n;
            out.extend(x.iter().map(|v| v - m));
        }
        Norm::ZScore => {
            let m = x.iter().sum::<f64>() / n;
            let sd = (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt();
            if sd == 0.0 {
                out.resize(x.len(), 0.0);
            } else {
                out.extend(x.iter().map(|v| (v - m) / sd));
            }
        }
        Norm::MinMax => {
            let lo = x.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if hi == lo {
                out.resize(x.len(), 0.0);
            } else {
                out.extend(x.iter().map(|v| (v - lo) / (hi - lo)));
            }
        }
    }
}

fn cosine(a: &[f64], b: &[f64]) -> f64 {
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let den = norm(a) * norm(b);
    if den == 0.0 {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / den
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(req: Value) -> Value {
        search(&req).unwrap()
    }

    #[test]
    fn finds_the_planted_pattern_first() {
        // a ramp planted at 40..49 of a flat series with wiggles
        let mut data: Vec<f64> = (0..100).map(|i| ((i * 7) % 5) as f64 * 0.1).collect();
        for k in 0..10 {
            data[40 + k] = k as f64;
        }
        let ts: Vec<i64> = (0..100).map(|i| 1000 * i).collect();
        let source: Vec<f64> = (0..10).map(f64::from).collect();
        let got = run(json!({
            "algo": {"type": "dtw", "params": {"radius": 2}},
            "result": {"num": 3},
            "source_data": source,
            "target_data": {"ts": ts, "data": data},
        }));
        assert_eq!(got["metric_type"], "dtw_distance");
        assert_eq!(got["rows"], 3);
        assert_eq!(got["matches"][0]["ts_window"], json!([40_000, 49_000]));
        assert_eq!(got["matches"][0]["criteria"], 0.0);
        assert_eq!(got["matches"][0]["num"], 10);
        // cosine: the same window scores 1
        let got = run(json!({
            "algo": {"type": "cosine"},
            "normalization": "z-score",
            "result": {"num": 1},
            "source_data": source,
            "target_data": {"ts": ts, "data": data},
        }));
        assert_eq!(got["metric_type"], "cosine_similarity");
        assert_eq!(got["matches"][0]["ts_window"], json!([40_000, 49_000]));
        assert!((got["matches"][0]["criteria"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn exclusions() {
        let data: Vec<f64> = (0..30).map(|i| ((i % 10) as f64).sin()).collect();
        let ts: Vec<i64> = (0..30).collect();
        let source = json!({"data": &data[10..15], "ts": &ts[10..15]});
        let base = |result: Value| {
            run(json!({
                "algo": {"type": "dtw", "params": {"min_window": 4, "max_window": 6}},
                "result": result,
                "source_data": source,
                "target_data": {"ts": ts, "data": data},
            }))
        };
        // the source itself (and windows covering it) are dropped
        let all = base(json!({"num": 500}));
        let without = base(json!({"num": 500, "exclude_source": true}));
        let covering = |w: &Value| w[0].as_i64().unwrap() <= 10 && w[1].as_i64().unwrap() >= 14;
        let n_cover = all["matches"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| covering(&m["ts_window"]))
            .count();
        assert!(n_cover > 0);
        assert_eq!(
            without["rows"].as_u64().unwrap() as usize,
            all["rows"].as_u64().unwrap() as usize - n_cover
        );
        // no kept match contains another
        let distinct = base(json!({"num": 10, "exclude_contained": true}));
        let ms = distinct["matches"].as_array().unwrap();
        for a in ms {
            for b in ms {
                let (a0, a1) = (
                    a["ts_window"][0].as_i64().unwrap(),
                    a["ts_window"][1].as_i64().unwrap(),
                );
                let (b0, b1) = (
                    b["ts_window"][0].as_i64().unwrap(),
                    b["ts_window"][1].as_i64().unwrap(),
                );
                let strictly = a0 <= b0 && b1 <= a1 && (a0 < b0 || b1 < a1);
                assert!(!strictly, "{a} contains {b}");
            }
        }
    }

    #[test]
    fn upstream_messages() {
        let err = |req: Value| search(&req).unwrap_err().to_string();
        let ok_target = json!({"ts": [1, 2, 3], "data": [1, 2, 3]});
        assert_eq!(
            err(
                json!({"algo": {"type": "dtw"}, "result": {"num": 1, "threshold": 1}, "source_data": [1], "target_data": ok_target})
            ),
            "\"num\" and \"threshold\" cannot be set at the same time"
        );
        assert_eq!(
            err(
                json!({"algo": {"type": "dtw"}, "result": {}, "source_data": [1], "target_data": ok_target})
            ),
            "either \"num\" or \"threshold\" must be provided"
        );
        assert_eq!(
            err(
                json!({"algo": {"type": "knn"}, "result": {"num": 1}, "source_data": [1], "target_data": ok_target})
            ),
            "unsupported algo: knn"
        );
        assert_eq!(
            err(json!({"algo": "dtw", "source_data": [1], "target_data": ok_target})),
            "\"algo\" object is required and must be a dictionary"
        );
        assert_eq!(
            err(
                json!({"algo": {"type": "dtw", "params": {"radius": 11}}, "result": {"num": 1}, "source_data": [1], "target_data": ok_target})
            ),
            "radius value out of range, valid range [1, 10]"
        );
        assert_eq!(
            err(
                json!({"algo": {"type": "cosine", "params": {"min_window": 2}}, "result": {"num": 1}, "source_data": [1], "target_data": ok_target})
            ),
            "\"min_window\" and \"max_window\" can only be set for dtw algorithm"
        );
        assert_eq!(
            err(
                json!({"algo": {"type": "dtw"}, "result": {"num": 501}, "source_data": [1], "target_data": ok_target})
            ),
            "\"result.num\" must be in range [1, 500]"
        );
        assert_eq!(
            err(
                json!({"normalization": "l2", "algo": {"type": "dtw"}, "result": {"num": 1}, "source_data": [1], "target_data": ok_target})
            ),
            "unsupported normalization: l2"
        );
        // within upstream's limits, but about 90 s of DTW: refused up front
        let walk: Vec<f64> = (0..100_000).map(|i| (i % 7) as f64).collect();
        let ts: Vec<i64> = (0..100_000).collect();
        assert_eq!(
            err(
                json!({"algo": {"type": "dtw", "params": {"radius": 10, "window_sliding_step": 10}},
                "result": {"num": 5}, "source_data": &walk[..10_000],
                "target_data": {"ts": ts, "data": walk}})
            ),
            "profile search would cost 1890210000 DTW cells (candidates × window × (2·radius + 1)), more than 300000000; narrow the windows, raise window_sliding_step or lower radius"
        );
        let long: Vec<f64> = vec![1.0; 100_000];
        let ts: Vec<i64> = (0..100_000).collect();
        assert_eq!(
            err(
                json!({"algo": {"type": "dtw"}, "result": {"num": 1}, "source_data": vec![1.0; 100], "target_data": {"ts": ts, "data": long}})
            ),
            "sliding window would generate 99901 candidates, which exceeds the maximum of 10000; reduce target_data length or narrow the window range"
        );
        assert_eq!(
            err(
                json!({"algo": {"type": "dtw"}, "result": {"num": 1}, "source_data": [1, 2, 3, 4], "target_data": ok_target})
            ),
            "min_window (4) exceeds target series length (3); reduce min_window or use a longer target series"
        );
    }

    #[test]
    fn profiles_with_windows() {
        let got = run(json!({
            "algo": {"type": "cosine"},
            "result": {"threshold": 0.9},
            "source_data": [1, 2, 3],
            "target_data": {"ts": [[0, 2], [10, 12], [20, 22]], "data": [[2, 4, 6], [3, 2, 1], [1, 2, 3.5]]},
        }));
        assert_eq!(got["rows"], 2);
        assert_eq!(got["matches"][0]["ts_window"], json!([0, 2]));
        assert_eq!(got["matches"][1]["ts_window"], json!([20, 22]));
    }
}
