//! `SELECT [_frowts,] [_flow,] [_fhigh,] FORECAST(expr [, covariate ...]
//! [, 'options']) FROM ... [WHERE ...] [PARTITION BY ...]`
//! (analytics-sql §5). Each value argument is a column or, as TDengine
//! 3.3.6.4 allows, a scalar expression over the columns (`call::Input`).
//!
//! Choices where taosd's behaviour is a quirk (§11.7): a `conf` outside
//! (0, 1] is an error rather than silently 0.95 (a value in (1, 100] is
//! read as a percentage, the pre-3.3.6.4 form); a second FORECAST call
//! gets a message of its own instead of the one copied from INTERP; the
//! results are DOUBLE, as the newest taosd has them. `_fmodel` is ours: the
//! anode's `model_info` (what `auto` or `arima` chose), the same on every
//! row of a series, empty when the anode sends none.
//!
//! May import: `error`, `result`, `sql`, `state`, `types`, its parent's `call`,
//! `candidates`, `check_rows`, `json_values`, `options`, `read_series_of`.

use serde_json::{Value as Json, json};

use super::call::{self, Projection};
use super::options::AnalysisOptions;
use super::{Shape, check_rows, json_values, read_series_of};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::result::Output;
use crate::sql::ast::Select;
use crate::state::Engine;
use crate::types::{DataType, Value};

/// `ANALY_FORECAST_DEFAULT_ROWS`.
pub const DEFAULT_ROWS: i64 = 10;
/// `ANALY_FORECAST_RES_MAX_ROWS`.
pub const MAX_OUTPUT_ROWS: i64 = 1024;
/// `ANALY_FORECAST_MIN_ROWS` / `MAX_ROWS`.
pub const MIN_INPUT_ROWS: usize = 10;
pub const MAX_INPUT_ROWS: usize = 40_000;
/// `ANALY_TDTSFM_FORECAST_MIN_ROWS`.
pub const TDTSFM_MIN_ROWS: usize = 96;
pub const DEFAULT_CONF: f64 = 0.95;
/// `_fmodel`'s width: longer `model_info` texts are cut (ours are < 100).
pub const MODEL_INFO_LEN: usize = 1024;
/// At most this many historical covariates (docs).
pub const MAX_COVARIATES: usize = 10;

/// Foundation models take covariates; the classic algorithms do not.
fn takes_covariates(algo: &str) -> bool {
    algo.starts_with("moirai")
}

/// A covariate column and its future values (`dynamic_real_N`).
struct Covariate {
    input: call::Input,
    future: Option<Vec<f64>>,
}

pub fn run(engine: &Engine, sel: &Select, current: Option<&str>) -> Result<Output> {
    let (cols, text) = call::arguments(sel, "forecast")?;
    let shape = Shape::of(engine, sel, current)?;
    if cols.is_empty() {
        return Err(DbError::invalid("FORECAST needs a column to forecast"));
    }
    let mut inputs: Vec<call::Input> = Vec::new();
    for c in cols {
        let input = call::value_input(&shape, "forecast", c)?;
        // a repeated column is dropped (taosd's system test)
        if !inputs.iter().any(|i| i.name == input.name) {
            inputs.push(input);
        }
    }
    let default_algo = engine
        .analytics
        .default_forecast_algo(engine.read().catalog.anodes.values());
    let opts = AnalysisOptions::parse(text, &format!("algo={default_algo}"))?;
    let algo = opts.algo()?;
    let rows = opts.int("rows")?.unwrap_or(DEFAULT_ROWS);
    if rows <= 0 {
        fail!(
            code::INVALID_PARA,
            "Invalid parameters: rows={rows}, must be positive"
        );
    }
    if rows > MAX_OUTPUT_ROWS {
        fail!(
            code::ANA_ANODE_TOO_MANY_ROWS,
            "Analysis failed since too many input rows for anode: rows={rows}, at most {MAX_OUTPUT_ROWS} forecast rows"
        );
    }
    let conf = match opts.float("conf")? {
        None => DEFAULT_CONF,
        Some(c) if c > 0.0 && c <= 1.0 => c,
        Some(c) if c > 1.0 && c <= 100.0 => c / 100.0,
        Some(c) => fail!(
            code::INVALID_PARA,
            "Invalid parameters: conf={c}, must be in (0, 1]"
        ),
    };
    let every = opts.int("every")?;
    if let Some(e) = every {
        if e <= 0 {
            fail!(
                code::INVALID_PARA,
                "Invalid parameters: every={e}, must be positive"
            );
        }
    }
    let start = opts.int("start")?;
    let wncheck = opts.wncheck()?;
    let timeout = opts.timeout()?;
    let target = inputs.remove(0);
    let covariates = covariates(&opts, &target.name, inputs, rows)?;
    if !covariates.is_empty() && !takes_covariates(&algo) {
        fail!(
            code::ANA_NO_COVARIATE,
            "Not support co-variate/multi-variate forecast: {algo} forecasts one column"
        );
    }
    if covariates.len() > MAX_COVARIATES {
        fail!(
            code::INVALID_PARA,
            "Invalid parameters: at most {MAX_COVARIATES} covariates, got {}",
            covariates.len()
        );
    }

    // FORECAST, _frowts, _flow, _fhigh, _fmodel
    let types = [
        DataType::Double,
        DataType::Timestamp,
        DataType::Double,
        DataType::Double,
        DataType::Binary(MODEL_INFO_LEN as u32),
    ];
    let mut projection = Projection::new(sel, "forecast", &types, shape.precision)?;
    let return_conf = projection.selects(2) || projection.selects(3);

    // the algorithm must be known before any data is read
    let candidates = super::candidates(engine.read().catalog.anodes.values(), "forecast", &algo)?;
    let mut read_cols = vec![target.expr.clone()];
    read_cols.extend(covariates.iter().map(|c| c.input.expr.clone()));
    let (groups, key_meta) = read_series_of(engine, sel, current, &shape, &read_cols)?;
    projection.key_types(&key_meta);
    let min_rows = if algo == "tdtsfm_1" {
        TDTSFM_MIN_ROWS
    } else {
        MIN_INPUT_ROWS
    };
    let value_ty = target.ty;
    let mut out_rows: Vec<Vec<Value>> = Vec::new();
    for g in &groups {
        check_rows("FORECAST", g.ts.len(), min_rows, MAX_INPUT_ROWS)?;
        let every = every.unwrap_or_else(|| default_every(&g.ts));
        let start = start.unwrap_or_else(|| g.ts.last().copied().unwrap_or(0) + every);
        let mut schema = vec![
            json!(["ts", "TIMESTAMP", 8]),
            json!(["val", value_ty.name(), value_ty.len()]),
        ];
        let mut data = vec![json!(g.ts), Json::from(json_values(&g.cols[0]))];
        let (mut past, mut future) = (0, 0);
        for (i, c) in covariates.iter().enumerate() {
            let ty = c.input.ty;
            let mut vals = json_values(&g.cols[i + 1]);
            let name = match &c.future {
                Some(f) => {
                    future += 1;
                    vals.extend(f.iter().map(|x| Json::from(*x)));
                    format!("dynamic_real_{future}")
                }
                None => {
                    past += 1;
                    format!("past_dynamic_real_{past}")
                }
            };
            schema.push(json!([name, ty.name(), ty.len()]));
            data.push(Json::from(vals));
        }
        let mut body = json!({
            "schema": schema,
            "data": data,
            "option": opts.raw,
            "algo": algo,
            "prec": shape.precision.as_str(),
            "wncheck": wncheck,
            "return_conf": i64::from(return_conf),
            "forecast_rows": rows,
            "conf": conf,
            "every": every,
            "start": start,
            "rows": g.ts.len(),
            "protocol": 1.0,
        });
        if !covariates.is_empty() {
            body["type"] = json!("covariate");
        }
        let answer = engine
            .analytics
            .call(&candidates, "forecast", &body, timeout)?;
        let res = forecast_rows(&answer, rows as usize)?;
        let model = answer
            .get("model_info")
            .and_then(Json::as_str)
            .map_or(String::new(), |m| {
                m.chars().take(MODEL_INFO_LEN).collect::<String>()
            });
        for r in 0..rows as usize {
            let value = res.value[r];
            // an algorithm without an interval: both bounds are the value
            let (low, high) = res
                .bounds
                .as_ref()
                .map_or((value, value), |b| (b.0[r], b.1[r]));
            let fields = [
                call::num(Some(value)),
                Value::Int(res.ts[r]),
                call::num(Some(low)),
                call::num(Some(high)),
                Value::Str(model.clone()),
            ];
            out_rows.push(projection.row(g, &fields));
        }
    }
    Ok(projection.output(out_rows, sel, shape.precision))
}

/// `every` by default: the mean spacing of the input.
fn default_every(ts: &[i64]) -> i64 {
    match (ts.first(), ts.last()) {
        (Some(a), Some(b)) if ts.len() > 1 => ((b - a) / (ts.len() as i64 - 1)).max(1),
        _ => 1,
    }
}

/// The forecast arrays of an answer: ts, value and, when sent, the bounds.
struct Res {
    ts: Vec<i64>,
    value: Vec<f64>,
    bounds: Option<(Vec<f64>, Vec<f64>)>,
}

fn forecast_rows(answer: &Json, rows: usize) -> Result<Res> {
    let Some(res) = answer.get("res").and_then(Json::as_array) else {
        return Err(call::bad_answer("the forecast answer has no res"));
    };
    let array = |i: usize| -> Result<Vec<f64>> {
        let a = res
            .get(i)
            .and_then(Json::as_array)
            .ok_or_else(|| call::bad_answer(format!("the forecast answer has no res[{i}]")))?;
        if a.len() < rows {
            return Err(call::bad_answer(format!(
                "res[{i}] has {} values, {rows} forecast rows were asked",
                a.len()
            )));
        }
        Ok(a[..rows]
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect())
    };
    let ts = array(0)?.into_iter().map(|t| t as i64).collect();
    let value = array(1)?;
    let bounds = if res.len() >= 4 {
        Some((array(2)?, array(3)?))
    } else {
        None
    };
    Ok(Res { ts, value, bounds })
}

/// The covariate arguments with their `dynamic_real_N` future values
/// (§5.4/5.5): `dynamic_real_N=[v v v]` (brackets, spaces, exactly `rows`
/// numbers) and `dynamic_real_N_col=<one of the covariate arguments>`.
fn covariates(
    opts: &AnalysisOptions,
    target: &str,
    columns: Vec<call::Input>,
    rows: i64,
) -> Result<Vec<Covariate>> {
    let bad = |m: String| DbError::new(code::INVALID_PARA, format!("Invalid parameters: {m}"));
    let mut out: Vec<Covariate> = columns
        .into_iter()
        .map(|input| Covariate {
            input,
            future: None,
        })
        .collect();
    for (key, value) in opts.pairs() {
        let Some(n) = key.strip_prefix("dynamic_real_") else {
            continue;
        };
        if let Some(n) = n.strip_suffix("_col") {
            if opts.get(&format!("dynamic_real_{n}")).is_none() {
                return Err(bad(format!("{key} has no dynamic_real_{n}")));
            }
            continue;
        }
        let inner = value
            .strip_prefix('[')
            .and_then(|v| v.strip_suffix(']'))
            .ok_or_else(|| bad(format!("{key}={value}: expected [v v ...]")))?;
        let values: Vec<f64> = inner
            .split_whitespace()
            .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                bad(format!(
                    "{key}={value}: expected numbers separated by spaces"
                ))
            })?;
        if values.len() as i64 != rows {
            return Err(bad(format!(
                "{key} has {} values, rows={rows}",
                values.len()
            )));
        }
        let col_key = format!("{key}_col");
        let Some(col) = opts.get(&col_key) else {
            return Err(bad(format!("{key} needs {col_key}")));
        };
        if col == target {
            return Err(bad(format!("{col_key}={col} is the forecast column")));
        }
        let Some(c) = out.iter_mut().find(|c| c.input.name == col) else {
            return Err(bad(format!(
                "{col_key}={col} is not a covariate argument of FORECAST"
            )));
        };
        c.future = Some(values);
    }
    Ok(out)
}
