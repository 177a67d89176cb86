//! `DTW(a, b [, 'radius=1'])`, `DTW_PATH(a, b [, 'radius=1'])` and
//! `TLCC(a, b [, 'lag_start=-1,lag_end=1'])` (analytics-sql §7.2): two
//! columns sent to the anode's `/correlation` (no timestamp column).
//!
//! - DTW: one DOUBLE row, the distance;
//! - DTW_PATH: one VARCHAR row `(i, j)` per step of the warping path;
//! - TLCC: one VARCHAR row `(lag, 0.1234)` per lag; a lag whose slice is
//!   constant has no correlation and shows `(lag, NULL)`;
//! - PEARSONR(a, b [, 'options']): one DOUBLE row, Pearson's coefficient,
//!   from TDgpt 3.4's `/api/v1/analysis/pearsonr` (a constant column gives
//!   0, as upstream answers). That route is not in `/list`, so every anode
//!   listing a correlation algorithm is asked; white-noise checking is off
//!   unless the options say `wncheck=1` (correlating noise is a fair
//!   question).
//!
//! taosd appends `,algo=dtw` / `,algo=tlcc` to the user's option text; here
//! too, and an `algo=` naming anything else is refused. `radius` and the
//! lags are checked as integers here (taosd's parsing casts loosely):
//! radius in [1, 10], `lag_start <= lag_end`, `|lag| <` the row count.
//!
//! May import: `error`, `result`, `sql`, `state`, `types`, its parent's `call`,
//! `candidates`, `check_rows`, `json_values`, `options`, `read_series`.

use serde_json::{Value as Json, json};

use super::call::{self, Projection};
use super::options::AnalysisOptions;
use super::{Shape, check_rows, json_values, read_series};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::result::Output;
use crate::sql::ast::Select;
use crate::state::Engine;
use crate::types::{DataType, Value};

/// Most input rows (`ANALY_CORRELATION_MAX_ROWS`).
pub const MAX_INPUT_ROWS: usize = 10_240;
/// Width of the VARCHAR rows of DTW_PATH and TLCC.
const TEXT_WIDTH: u32 = 64;

fn invalid(msg: impl std::fmt::Display) -> DbError {
    DbError::new(code::INVALID_PARA, format!("Invalid parameters: {msg}"))
}

/// The lags of TLCC.
struct Lags {
    start: i64,
    end: i64,
}

/// The option text sent, its algorithm and (TLCC) lags.
fn options(func: &str, text: Option<&str>) -> Result<(AnalysisOptions, &'static str, Lags)> {
    let (algo, default) = match func {
        "tlcc" => ("tlcc", "algo=tlcc,lag_start=-1,lag_end=1"),
        "pearsonr" => ("pearsonr", "algo=pearsonr,wncheck=0"),
        _ => ("dtw", "algo=dtw,radius=1"),
    };
    let text = text.map(|t| {
        let t = t.trim_end_matches([' ', ',']);
        if t.is_empty() {
            format!("algo={algo}")
        } else {
            format!("{t},algo={algo}")
        }
    });
    let opts = AnalysisOptions::parse(text.as_deref(), default)?;
    let named = opts.algo()?;
    if named != algo {
        return Err(invalid(format!(
            "{} runs algo={algo}, not algo={named}",
            func.to_uppercase()
        )));
    }
    let mut lags = Lags { start: -1, end: 1 };
    if algo == "pearsonr" {
        return Ok((opts, algo, lags));
    }
    if algo == "dtw" {
        if let Some(r) = opts.int("radius")? {
            if !(1..=10).contains(&r) {
                return Err(invalid(format!("radius={r}, must be in [1, 10]")));
            }
        }
    } else {
        lags.start = opts.int("lag_start")?.unwrap_or(-1);
        lags.end = opts.int("lag_end")?.unwrap_or(1);
        if lags.start > lags.end {
            return Err(invalid(format!(
                "lag_start={} is greater than lag_end={}",
                lags.start, lags.end
            )));
        }
    }
    Ok((opts, algo, lags))
}

pub fn run(engine: &Engine, sel: &Select, current: Option<&str>, func: &str) -> Result<Output> {
    let upper = func.to_uppercase();
    let (cols, text) = call::arguments(sel, func)?;
    let shape = Shape::of(engine, sel, current)?;
    let [a, b] = cols else {
        fail!(
            code::INVALID_VALUE,
            "{upper} takes two columns (and the option string last)"
        );
    };
    let a = call::value_column(&shape, func, a)?.clone();
    let b = call::value_column(&shape, func, b)?.clone();
    let (opts, algo, lags) = options(func, text)?;
    let wncheck = match func {
        "pearsonr" => opts.int("wncheck")?.unwrap_or(0),
        _ => opts.wncheck()?,
    };
    let timeout = opts.timeout()?;
    let ty = match func {
        "dtw" | "pearsonr" => DataType::Double,
        _ => DataType::Binary(TEXT_WIDTH),
    };
    let mut projection = Projection::new(sel, func, &[ty], shape.precision)?;
    let candidates = if algo == "pearsonr" {
        correlation_anodes(engine)?
    } else {
        super::candidates(engine.read().catalog.anodes.values(), "correlation", algo)?
    };
    let route = match algo {
        "pearsonr" => "api/v1/analysis/pearsonr",
        _ => "correlation",
    };
    let names = [a.name.clone(), b.name.clone()];
    let (groups, key_meta) = read_series(engine, sel, current, &shape, &names)?;
    projection.key_types(&key_meta);

    let mut out_rows = Vec::new();
    for g in &groups {
        let n = g.ts.len();
        check_rows(&upper, n, 1, MAX_INPUT_ROWS)?;
        if algo == "tlcc"
            && (lags.start.unsigned_abs() >= n as u64 || lags.end.unsigned_abs() >= n as u64)
        {
            return Err(invalid(format!(
                "lags {}..{} need more than {n} rows",
                lags.start, lags.end
            )));
        }
        let body = json!({
            "schema": [["val", a.ty.name(), a.ty.len()], ["val1", b.ty.name(), b.ty.len()]],
            "data": [json_values(&g.cols[0]), json_values(&g.cols[1])],
            "option": opts.raw,
            "algo": algo,
            "wncheck": wncheck,
            "rows": n,
            "protocol": 1.0,
        });
        let answer = engine.analytics.call(&candidates, route, &body, timeout)?;
        for value in values(func, &answer)? {
            out_rows.push(projection.row(g, &[value]));
        }
    }
    Ok(projection.output(out_rows, sel, shape.precision))
}

/// Every anode listing a correlation algorithm, highest id first (the
/// anodes that can answer `/api/v1/analysis/pearsonr`).
fn correlation_anodes(engine: &Engine) -> Result<Vec<(u32, String)>> {
    let state = engine.read();
    let mut found: Vec<(u32, String)> = state
        .catalog
        .anodes
        .values()
        .filter(|a| a.algos.iter().any(|x| x.kind == "correlation"))
        .map(|a| (a.id, a.url.clone()))
        .collect();
    found.sort_by_key(|a| std::cmp::Reverse(a.0));
    if found.is_empty() {
        fail!(
            code::ANA_ALGO_NOT_LOAD,
            "Analysis algorithm not loaded: no anode offers correlation (PEARSONR needs one)"
        );
    }
    Ok(found)
}

/// The function's rows from the anode's answer.
fn values(func: &str, answer: &Json) -> Result<Vec<Value>> {
    let array = |key: &str| -> Result<&Vec<Json>> {
        answer
            .get(key)
            .and_then(Json::as_array)
            .ok_or_else(|| call::bad_answer(format!("the {func} answer has no {key}")))
    };
    let rows = answer.get("rows").and_then(Json::as_u64).unwrap_or(0) as usize;
    Ok(match func {
        "pearsonr" => {
            let r = answer.get("correlation_coefficient").and_then(Json::as_f64);
            if r.is_none() {
                return Err(call::bad_answer(
                    "the pearsonr answer has no correlation_coefficient",
                ));
            }
            vec![call::num(r)]
        }
        "dtw" => {
            let d = answer.get("distance").and_then(Json::as_f64);
            if d.is_none() {
                return Err(call::bad_answer("the dtw answer has no distance"));
            }
            vec![call::num(d)]
        }
        "dtw_path" => {
            let path = array("path")?;
            if path.len() != rows {
                return Err(call::bad_answer(format!(
                    "path has {} steps, rows is {rows}",
                    path.len()
                )));
            }
            path.iter()
                .map(|step| {
                    let ij = step
                        .as_array()
                        .filter(|p| p.len() == 2)
                        .and_then(|p| Some((p[0].as_u64()?, p[1].as_u64()?)))
                        .ok_or_else(|| call::bad_answer("a step of path is not [i, j]"))?;
                    Ok(Value::Str(format!("({}, {})", ij.0, ij.1)))
                })
                .collect::<Result<_>>()?
        }
        _ => {
            let (lags, ccf) = (array("lags")?, array("ccf_vals")?);
            if lags.len() != ccf.len() {
                return Err(call::bad_answer(format!(
                    "{} lags but {} ccf_vals",
                    lags.len(),
                    ccf.len()
                )));
            }
            lags.iter()
                .zip(ccf)
                .map(|(lag, c)| {
                    let lag = lag
                        .as_i64()
                        .ok_or_else(|| call::bad_answer("a lag is not an integer"))?;
                    Ok(Value::Str(match c.as_f64() {
                        Some(c) if c.is_finite() => format!("({lag}, {c:.4})"),
                        _ => format!("({lag}, NULL)"),
                    }))
                })
                .collect::<Result<_>>()?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_as_sent() {
        let (o, algo, _) = options("dtw", None).unwrap();
        assert_eq!((o.raw.as_str(), algo), ("algo=dtw,radius=1", "dtw"));
        let (o, _, _) = options("dtw_path", Some("radius=2")).unwrap();
        assert_eq!(o.raw, "radius=2,algo=dtw");
        let (o, algo, lags) = options("tlcc", Some("lag_start=-2,lag_end=3,")).unwrap();
        assert_eq!(
            (o.raw.as_str(), algo, lags.start, lags.end),
            ("lag_start=-2,lag_end=3,algo=tlcc", "tlcc", -2, 3)
        );
        let (o, _, lags) = options("tlcc", None).unwrap();
        assert_eq!(
            (o.raw.as_str(), lags.start, lags.end),
            ("algo=tlcc,lag_start=-1,lag_end=1", -1, 1)
        );
        for (f, bad) in [
            ("dtw", "radius=0"),
            ("dtw", "radius=11"),
            ("dtw", "radius=1.5"),
            ("dtw", "algo=tlcc"),
            ("tlcc", "lag_start=2,lag_end=1"),
            ("tlcc", "lag_end=x"),
        ] {
            let e = options(f, Some(bad)).err().unwrap();
            assert_eq!(e.code, code::INVALID_PARA, "{f} {bad}");
        }
    }

    #[test]
    fn answers_become_rows() {
        let dtw =
            json!({"distance": 1.6000000000000003, "path": [[0,0],[1,0],[2,0],[3,1]], "rows": 4});
        assert_eq!(
            values("dtw", &dtw).unwrap(),
            vec![Value::Double(1.6000000000000003)]
        );
        assert_eq!(
            values("dtw_path", &dtw).unwrap(),
            ["(0, 0)", "(1, 0)", "(2, 0)", "(3, 1)"]
                .map(|s| Value::Str(s.into()))
                .to_vec()
        );
        let tlcc = json!({"ccf_vals": [-0.2425356250363329, 0.9210376169618041, null], "lags": [-1, 0, 1], "rows": 3});
        assert_eq!(
            values("tlcc", &tlcc).unwrap(),
            ["(-1, -0.2425)", "(0, 0.9210)", "(1, NULL)"]
                .map(|s| Value::Str(s.into()))
                .to_vec()
        );
        let short = json!({"distance": 1.0, "path": [[0,0]], "rows": 2});
        assert_eq!(
            values("dtw_path", &short).unwrap_err().code,
            code::ANA_ANODE_RETURN_ERROR
        );
    }
}
