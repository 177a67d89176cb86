//! The analysis endpoints as pure functions: request bytes in, response
//! bytes out. The HTTP layer only moves bytes and runs these off the async
//! workers; keeping them free of I/O makes every protocol rule testable
//! without a server.
//!
//! Processing order per endpoint follows upstream (spec §4.5–4.8):
//! decode → common validation → endpoint checks → white-noise check →
//! algorithm look-up → run → shape the answer. Where upstream fell back
//! silently to a default algorithm for unknown names, we refuse; where it
//! turned errors into `rows: 0` or HTML 500 pages, we answer `rows: -1`.
//!
//! May import: `algo`, `dynamic`, `envelope`, `error`, `options`, `payload`, `protocol`,
//! `python`, `stats`, `whitenoise`, `windows`.

use serde::Serialize;

use serde_json::{Map, Value};

use crate::algo::{AdInput, CorrOutput, FcInput, FcOutput, ImpInput, Registry};
use crate::bail;
use crate::dynamic::{Deployed, Dirs, Kind, Runs};
use crate::error::{AnodeError, Result};
use crate::options::parse_int;
use crate::payload::{Payload, json_f64, json_int, truthy, value_text};
use crate::protocol::{
    AlgoType, AnalysisRequest, AnomalyResponse, DtwResponse, ErrorResponse, ForecastRes,
    ForecastResponse, ImputationResponse, PearsonResponse, TlccResponse,
};
use crate::python::{PyCall, PyReply, check_model_name};
use crate::whitenoise::is_white_noise;
use crate::windows;

/// Default algorithms when a request names none (upstream's defaults).
pub const DEFAULT_AD_ALGO: &str = "ksigma";
pub const DEFAULT_FC_ALGO: &str = "holtwinters";
pub const DEFAULT_IMP_ALGO: &str = "linear";
/// taosd's default number of forecast rows.
pub const DEFAULT_FORECAST_ROWS: i64 = 10;
/// Most forecast rows one request may ask for (taosd itself stops at 1024).
pub const MAX_FORECAST_ROWS: i64 = 40_000;
/// Longest season a forecaster or detector accepts ([`crate::algo::MAX_PERIOD`]).
pub use crate::algo::MAX_PERIOD;
pub const DEFAULT_CONF: f64 = 0.95;
/// Default imputation frequency: taosd sends `S` (one second) unless told.
pub const DEFAULT_FREQ: &str = "1s";

pub const WHITE_NOISE_MSG: &str = "white noise data not processed";

/// What one request did, for the access log and the response.
#[derive(Debug)]
pub struct Outcome {
    /// The algorithm asked for, when the request got that far.
    pub algo: Option<String>,
    /// Input rows.
    pub rows: usize,
    pub body: Result<Vec<u8>>,
}

impl Outcome {
    /// The bytes to send: the success body or the `rows: -1` error body.
    pub fn into_bytes(self) -> Vec<u8> {
        match self.body {
            Ok(b) => b,
            Err(e) => error_body(e.message()),
        }
    }
}

/// What an endpoint function produced: a finished answer, or a run of a
/// Python algorithm to hand to the worker pool and finish afterwards.
pub enum Step {
    Done(Outcome),
    Python(PyJob),
}

/// A validated request whose algorithm runs in a Python worker.
pub struct PyJob {
    pub algo: String,
    pub rows: usize,
    pub call: PyCall,
    finish: Box<dyn FnOnce(PyReply) -> Result<Vec<u8>> + Send>,
}

impl std::fmt::Debug for PyJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PyJob")
            .field("algo", &self.algo)
            .field("rows", &self.rows)
            .finish()
    }
}

impl PyJob {
    /// Shapes the worker's reply (or its failure) into the answer.
    pub fn finish(self, reply: std::result::Result<PyReply, String>) -> Outcome {
        Outcome {
            algo: Some(self.algo),
            rows: self.rows,
            body: reply.map_err(AnodeError::new).and_then(self.finish),
        }
    }
}

/// The body of a step: bytes, or a Python run still to do.
enum Reply {
    Body(Vec<u8>),
    Python(PyCall, Box<dyn FnOnce(PyReply) -> Result<Vec<u8>> + Send>),
}

/// The option string's pairs as the params dict a Python algorithm gets,
/// after refusing a `model=` that would leave model-dir.
fn python_params(p: &Payload) -> Result<Map<String, Value>> {
    if let Some(model) = p.options.get("model") {
        check_model_name(model).map_err(AnodeError::new)?;
    }
    Ok(p.options
        .iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect())
}

/// `{"msg": ..., "rows": -1}` plus Flask's trailing newline.
pub fn error_body(msg: &str) -> Vec<u8> {
    to_json(&ErrorResponse {
        msg: msg.to_owned(),
        rows: -1,
    })
}

pub fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec(v).expect("response types always serialize");
    out.push(b'\n');
    out
}

/// Decodes the envelope. Broken JSON gets Flask's message shape (clients
/// match on it); valid JSON of the wrong shape says which field is wrong.
pub fn decode(body: &[u8]) -> Result<AnalysisRequest> {
    // The usual taosd-shaped body decodes in one pass; anything else, and
    // every error, goes through serde's general path below.
    if let Some(req) = crate::envelope::decode(body) {
        return Ok(req);
    }
    // serde would read a JSON array as a struct in field order; a request
    // is an object, so say so before decoding.
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') | None => {}
        Some(_) if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() => {
            bail!("invalid request format, a JSON object is expected")
        }
        Some(_) => {}
    }
    serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => {
            AnodeError::new(format!("invalid request format: {e}"))
        }
        _ => AnodeError::new(format!(
            "400 Bad Request: Failed to decode JSON object: {e}"
        )),
    })
}

/// Runs `f` on a validated payload, recording algorithm and rows.
fn run(body: &[u8], check_rows: bool, f: impl FnOnce(&Payload) -> Result<Reply>) -> Step {
    let payload = decode(body).and_then(|req| Payload::validate(req, check_rows));
    match payload {
        Err(e) => Step::Done(Outcome {
            algo: None,
            rows: 0,
            body: Err(e),
        }),
        Ok(p) => match f(&p) {
            Ok(Reply::Python(call, finish)) => Step::Python(PyJob {
                algo: call.algo.clone(),
                rows: p.rows,
                call,
                finish,
            }),
            other => Step::Done(Outcome {
                algo: p.algo.clone(),
                rows: p.rows,
                body: other.map(|r| match r {
                    Reply::Body(b) => b,
                    Reply::Python(..) => unreachable!("matched above"),
                }),
            }),
        },
    }
}

fn white_noise_check(p: &Payload, values: &[f64]) -> Result<()> {
    if p.wncheck && is_white_noise(values) {
        bail!("{WHITE_NOISE_MSG}");
    }
    Ok(())
}

/// `POST /anomaly-detect`.
pub fn anomaly_detect(reg: &Registry, body: &[u8]) -> Step {
    run(body, true, |p| {
        // ts plus the data columns
        if p.column_count() > crate::algo::ad::MAX_COLUMNS + 1 {
            bail!(
                "invalid data format, too many columns for anomaly-detection, allowed:{}, input:{}",
                crate::algo::ad::MAX_COLUMNS + 1,
                p.column_count()
            );
        }
        let values = p.values()?;
        // every data column, read once: upstream's base class checks their
        // lengths whichever detector runs; the multivariate ones use them
        let columns = if p.column_count() > 2 {
            let columns = p.data_columns()?;
            let slices: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            crate::algo::ad::check_columns(&slices)?;
            Some(columns)
        } else {
            None
        };
        white_noise_check(p, &values)?;
        let algo = p.algo.as_deref().unwrap_or(DEFAULT_AD_ALGO);
        let ts = p.timestamps()?;
        let Some(detector) = reg.detector(algo) else {
            let valid_code = p.options.int("valid_code", crate::algo::ad::NORMAL)?;
            let call = if let Some(d) = deployed(reg, algo, Kind::Anomaly)? {
                // every data column, row by row (upstream's input_data_lists)
                let columns = columns.unwrap_or_else(|| vec![values]);
                let mut header = d.python_header("run");
                header["columns"] = columns.len().into();
                header["valid_code"] = valid_code.into();
                PyCall {
                    algo: algo.to_owned(),
                    params: python_params(p)?,
                    values: row_major(&columns),
                    ts: ts.clone(),
                    dynamic: Some(header),
                }
            } else if reg.is_python(AlgoType::AnomalyDetection, algo) {
                PyCall {
                    algo: algo.to_owned(),
                    params: python_params(p)?,
                    values,
                    ts: ts.clone(),
                    dynamic: None,
                }
            } else {
                bail!("failed to load model: {algo}");
            };
            let (algo, option) = (algo.to_owned(), p.option.clone());
            return Ok(Reply::Python(
                call,
                Box::new(move |reply| {
                    let codes = reply.i64s(0).unwrap_or_default();
                    if codes.len() != ts.len() {
                        bail!(
                            "algorithm {algo} returned {} results for {} rows",
                            codes.len(),
                            ts.len()
                        );
                    }
                    Ok(anomaly_body(algo, option, &codes, &ts, valid_code))
                }),
            ));
        };
        let valid_code = if detector.honours_valid_code() {
            p.options.int("valid_code", crate::algo::ad::NORMAL)?
        } else {
            crate::algo::ad::NORMAL
        };
        // extreme magnitudes (±1e308, subnormals) are scaled exactly first
        let codes = if let Some(columns) = columns.filter(|_| detector.multivariate()) {
            let columns: Vec<Vec<f64>> = columns
                .into_iter()
                .map(|c| crate::stats::normalized(&c).map_or(c, |s| s.0))
                .collect();
            let slices: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
            detector.detect_columns(&slices, &ts, &p.options)?
        } else {
            let scaled = crate::stats::normalized(&values);
            detector.detect(
                AdInput {
                    values: scaled.as_ref().map_or(&values, |s| &s.0),
                    ts: &ts,
                },
                &p.options,
            )?
        };
        if codes.len() != values.len() {
            bail!(
                "algorithm {algo} returned {} results for {} rows",
                codes.len(),
                values.len()
            );
        }
        Ok(Reply::Body(anomaly_body(
            algo.to_owned(),
            p.option.clone(),
            &codes,
            &ts,
            valid_code,
        )))
    })
}

/// The deployed model `name` of `kind`, if one is deployed; a model of
/// another kind is an error that says so.
fn deployed(reg: &Registry, name: &str, kind: Kind) -> Result<Option<Deployed>> {
    let Some(d) = Dirs::of(reg).and_then(|dirs| crate::dynamic::find(&dirs, name)) else {
        return Ok(None);
    };
    if d.algo.kind != kind {
        bail!(
            "model {name} is of type {} ({}); this endpoint serves {} models",
            d.algo.kind.list_type(),
            d.algo.name,
            kind.list_type()
        );
    }
    Ok(Some(d))
}

/// Columns as one row-major matrix (what the Python bridge reshapes).
fn row_major(columns: &[Vec<f64>]) -> Vec<f64> {
    let rows = columns.first().map_or(0, Vec::len);
    let mut out = Vec::with_capacity(rows * columns.len());
    for r in 0..rows {
        out.extend(columns.iter().map(|c| c[r]));
    }
    out
}

/// Most feature columns of a `/regression` or `/classification` request.
pub const MAX_FEATURES: usize = 1024;
/// Most rows of one: the matrix goes to a worker in one frame.
pub const MAX_PREDICT_ROWS: usize = 1_000_000;

/// `POST /regression` and `POST /classification` (TDgpt 3.4): the data
/// columns become rows of features for a deployed scikit-learn model; the
/// answer is `{algo, option, res, rows}`. Upstream fed every column to the
/// model, the timestamp too; a column typed TIMESTAMP (9) or named `ts` is
/// left out here, since no model was trained on it.
pub fn predict(reg: &Registry, body: &[u8], kind: Kind) -> Step {
    let done = |algo: Option<String>, rows: usize, body: Result<Vec<u8>>| {
        Step::Done(Outcome { algo, rows, body })
    };
    let req = match decode(body) {
        Ok(r) => r,
        Err(e) => return done(None, 0, Err(e)),
    };
    match predict_call(reg, req, kind) {
        Err(e) => done(None, 0, Err(e)),
        Ok((call, rows, option)) => {
            let algo = call.algo.clone();
            let name = algo.clone();
            Step::Python(PyJob {
                algo: algo.clone(),
                rows,
                call,
                finish: Box::new(move |reply| {
                    let res = reply.header.get("res").cloned().unwrap_or(Value::Null);
                    let n = res.as_array().map_or(0, Vec::len);
                    if n != rows {
                        bail!(
                            "dynamic {} model {name} returned {n} predictions for {rows} input samples",
                            kind.list_type()
                        );
                    }
                    Ok(to_json(&serde_json::json!({
                        "algo": algo, "option": option, "res": res, "rows": rows,
                    })))
                }),
            })
        }
    }
}

fn predict_call(
    reg: &Registry,
    req: AnalysisRequest,
    kind: Kind,
) -> Result<(PyCall, usize, Value)> {
    let algo = match &req.algo {
        Some(Value::String(a)) if !a.trim().is_empty() => a.trim().to_owned(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            bail!("missing required field: algo")
        }
        Some(other) => bail!("invalid algo, a string is expected, actual {other}"),
    };
    let Some(schema) = req.schema.as_ref().and_then(Value::as_array) else {
        bail!("missing required field: schema");
    };
    let Some(data) = req.data.as_ref().filter(|d| !d.is_empty()) else {
        bail!("missing required field: data");
    };
    if schema.len() != data.len() {
        bail!(
            "invalid schema info, schema has {} columns but data has {}",
            schema.len(),
            data.len()
        );
    }
    let is_ts = |e: &Value| {
        e.get(0).and_then(Value::as_str) == Some("ts")
            || e.get(1).and_then(Value::as_i64) == Some(9)
    };
    let features: Vec<usize> = (0..schema.len()).filter(|&i| !is_ts(&schema[i])).collect();
    if features.is_empty() {
        bail!("invalid data format: no feature column besides the timestamp");
    }
    if features.len() > MAX_FEATURES {
        bail!(
            "invalid data format: {} feature columns, at most {MAX_FEATURES}",
            features.len()
        );
    }
    let rows = data[0].0.len();
    if rows == 0 || rows > MAX_PREDICT_ROWS {
        bail!("invalid data format: {rows} rows, 1 to {MAX_PREDICT_ROWS} are accepted");
    }
    let mut columns = Vec::with_capacity(features.len());
    for &i in &features {
        let col = &data[i].0;
        if col.len() != rows {
            bail!("data inconsistent, number of rows are not identical");
        }
        let name = schema[i].get(0).and_then(Value::as_str).unwrap_or("?");
        let mut out = Vec::with_capacity(rows);
        for (row, cell) in col.iter().enumerate() {
            match (cell, cell.as_f64()) {
                // a NULL is NaN: the model's pipeline may fill it
                (crate::protocol::Cell::Null, _) => out.push(f64::NAN),
                (_, Some(v)) => out.push(v),
                (_, None) => bail!("invalid value in column {name} at row {row}"),
            }
        }
        columns.push(out);
    }
    let Some(d) = deployed(reg, &algo, kind)? else {
        bail!("failed to load model: {algo}");
    };
    let option = req.option.clone().unwrap_or(Value::Null);
    let mut header = d.python_header("run");
    header["columns"] = columns.len().into();
    let call = PyCall {
        algo: algo.clone(),
        params: Map::new(),
        values: row_major(&columns),
        ts: Vec::new(),
        dynamic: Some(header),
    };
    Ok((call, rows, option))
}

/// The anomaly windows of `codes` as the response body.
fn anomaly_body(
    algo: String,
    option: Option<String>,
    codes: &[i64],
    ts: &[i64],
    valid_code: i64,
) -> Vec<u8> {
    let w = windows::convert(codes, ts, valid_code);
    to_json(&AnomalyResponse {
        algo,
        rows: w.windows.len(),
        mask: w.mask,
        option,
        res: w.windows,
    })
}

/// Forecast control values, from the envelope first and the option string
/// second, with taosd's defaults (spec §4.6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastParams {
    pub rows: usize,
    pub start: i64,
    pub every: i64,
    pub conf: f64,
    pub return_conf: bool,
    pub period: usize,
    /// `period=auto`: detect the season (`algo::fc::season`).
    pub auto_period: bool,
}

impl ForecastParams {
    pub fn from_payload(p: &Payload, ts: &[i64]) -> Result<ForecastParams> {
        let req = &p.request;
        let rows = match (&req.forecast_rows, p.options.get("rows")) {
            (Some(v), _) => json_int(v, "forecast_rows")?,
            (None, Some(s)) => parse_int(s)?,
            (None, None) => DEFAULT_FORECAST_ROWS,
        };
        if rows <= 0 {
            bail!("forecast rows is not specified yet");
        }
        if rows > MAX_FORECAST_ROWS {
            bail!("forecast rows should be between 1 and {MAX_FORECAST_ROWS}, actual {rows}");
        }
        let last = *ts.last().unwrap_or(&0);
        let every = match (&req.every, p.options.get("every")) {
            (Some(v), _) => json_int(v, "every")?,
            (None, Some(s)) => parse_int(s)?,
            // taosd: (maxTs - minTs) / (numRows - 1)
            (None, None) if ts.len() > 1 => (last - ts[0]) / (ts.len() as i64 - 1),
            (None, None) => 0,
        };
        if every <= 0 {
            bail!("time_step should be greater than 0");
        }
        let start = match (&req.start, p.options.get("start")) {
            (Some(v), _) => json_int(v, "start")?,
            (None, Some(s)) => parse_int(s)?,
            (None, None) => last.saturating_add(every),
        };
        let mut conf = match (&req.conf, p.options.get("conf")) {
            (Some(v), _) => json_f64(v, "conf")?,
            (None, Some(s)) => crate::options::parse_float(s)?,
            (None, None) => DEFAULT_CONF,
        };
        // Old taosd sent a percentage (95); newer ones a fraction (0.95).
        if conf > 1.0 {
            conf /= 100.0;
        }
        if !(conf > 0.0 && conf < 1.0) {
            bail!("invalid value of conf, should between 0 and 1.0");
        }
        let return_conf = match &req.return_conf {
            Some(v) => truthy(v, "return_conf")?,
            None => true,
        };
        // `period=auto`: found from the values by the caller
        let auto_period = p.options.get("period") == Some("auto");
        let period = if auto_period {
            0
        } else {
            p.options.int("period", 0)?
        };
        if period < 0 {
            bail!("periods should be greater than 0");
        }
        if period > MAX_PERIOD {
            bail!(
                "period value out of range, valid range [0, {MAX_PERIOD}] (a year of hourly values)"
            );
        }
        Ok(ForecastParams {
            rows: rows as usize,
            start,
            every,
            conf,
            return_conf,
            period: period as usize,
            auto_period,
        })
    }
}

/// A forecast of values scaled by `2^-e`, brought back to their scale.
fn unscale(out: &mut FcOutput, e: i32) {
    let back = |v: &mut Vec<f64>| {
        for x in v.iter_mut() {
            *x = crate::stats::pow2_scale(*x, e);
        }
    };
    back(&mut out.value);
    if let Some((lo, hi)) = &mut out.bounds {
        back(lo);
        back(hi);
    }
    out.sse = out.sse.map(|s| crate::stats::pow2_scale(s, 2 * e));
    out.mse = out.mse.map(|s| crate::stats::pow2_scale(s, 2 * e));
}

/// `POST /forecast`.
pub fn forecast(reg: &Registry, body: &[u8]) -> Step {
    run(body, true, |p| {
        let values = p.values()?;
        white_noise_check(p, &values)?;
        let ts = p.timestamps()?;
        let prec = p.precision(false)?;
        let mut fp = ForecastParams::from_payload(p, &ts)?;
        if fp.auto_period {
            fp.period = crate::algo::fc::season::detect_period(&values);
        }
        let algo = p.algo.as_deref().unwrap_or(DEFAULT_FC_ALGO);
        let native = reg.forecaster(algo);
        // else a deployed model, read from its directory now (TDgpt 3.4):
        // native ones run here, the others in a Python worker
        let (deployed, dynamic) = match native {
            Some(_) => (None, None),
            None => match deployed(reg, algo, Kind::Forecast)? {
                Some(d) if d.algo.runs == Runs::Native => {
                    (Some(crate::dynamic::DeployedForecaster(d)), None)
                }
                Some(d) => (None, Some(d.python_header("run"))),
                None => (None, None),
            },
        };
        let Some(forecaster) =
            native.or(deployed.as_ref().map(|d| d as &dyn crate::algo::Forecaster))
        else {
            if dynamic.is_none() && !reg.is_python(AlgoType::Forecast, algo) {
                bail!("failed to load model: {algo}");
            }
            // The keys upstream's framework added to the option dict.
            let mut params = python_params(p)?;
            params.insert("rows".into(), fp.rows.into());
            params.insert("start_ts".into(), fp.start.into());
            params.insert("time_step".into(), fp.every.into());
            params.insert("conf".into(), fp.conf.into());
            params.insert("return_conf".into(), i64::from(fp.return_conf).into());
            params.insert("precision".into(), prec.as_str().into());
            if fp.auto_period {
                params.insert("period".into(), fp.period.to_string().into());
            }
            let call = PyCall {
                algo: algo.to_owned(),
                params,
                values,
                ts,
                dynamic,
            };
            let (algo, option) = (algo.to_owned(), p.option.clone());
            return Ok(Reply::Python(
                call,
                Box::new(move |reply| {
                    let value = reply.f64s(0).unwrap_or_default();
                    let bounds = match (reply.f64s(1), reply.f64s(2)) {
                        (Some(lo), Some(hi)) => Some((lo, hi)),
                        _ => None,
                    };
                    let out = FcOutput {
                        value,
                        bounds,
                        mse: reply.header.get("mse").and_then(Value::as_f64),
                        period: fp.period,
                        model_info: reply
                            .header
                            .get("model_info")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                        ..FcOutput::default()
                    };
                    forecast_body(algo, option, fp, out)
                }),
            ));
        };
        // extreme magnitudes (±1e308, subnormals) are fitted scaled by an
        // exact power of two, and the forecast scaled back
        let scaled = if forecaster.takes_raw_values() {
            None
        } else {
            crate::stats::normalized(&values)
        };
        let past = p.columns_named(|n| n.starts_with("past_dynamic_real"))?;
        let future = p.columns_named(|n| n.starts_with("dynamic_real"))?;
        let mut out = forecaster.forecast(
            FcInput {
                values: scaled.as_ref().map_or(&values, |s| &s.0),
                ts: &ts,
                rows: fp.rows,
                conf: fp.conf,
                return_conf: fp.return_conf,
                period: fp.period,
                covariates: crate::algo::Covariates {
                    past: &past,
                    future: &future,
                },
            },
            &p.options,
        )?;
        if let Some((_, e)) = scaled {
            unscale(&mut out, e);
        }
        forecast_body(algo.to_owned(), p.option.clone(), fp, out).map(Reply::Body)
    })
}

/// Checks a forecaster's output and shapes the response body.
fn forecast_body(
    algo: String,
    option: Option<String>,
    fp: ForecastParams,
    out: FcOutput,
) -> Result<Vec<u8>> {
    {
        if out.value.len() != fp.rows {
            bail!(
                "result length is not identical, ts rows:{}  res rows:{}",
                fp.rows,
                out.value.len()
            );
        }
        if let Some((lo, hi)) = &out.bounds {
            if lo.len() != fp.rows || hi.len() != fp.rows {
                bail!(
                    "result length is not identical in confidence, ts rows:{}, lower confidence rows:{}, upper confidence rows{}",
                    fp.rows,
                    lo.len(),
                    hi.len()
                );
            }
        }
        let mut res_ts = Vec::with_capacity(fp.rows);
        for i in 0..fp.rows as i64 {
            match i
                .checked_mul(fp.every)
                .and_then(|d| d.checked_add(fp.start))
            {
                Some(t) => res_ts.push(t),
                None => bail!(
                    "forecast timestamps overflow: start {} every {}",
                    fp.start,
                    fp.every
                ),
            }
        }
        // taosd rejects four arrays when it asked for two.
        let bounds = if fp.return_conf {
            Some(
                out.bounds
                    .unwrap_or_else(|| (out.value.clone(), out.value.clone())),
            )
        } else {
            None
        };
        let mse = out
            .mse
            .or_else(|| out.sse.map(|s| s / out.fitted_points.max(1) as f64));
        Ok(to_json(&ForecastResponse {
            algo,
            fitted: out.fitted,
            model_info: out.model_info,
            mse,
            option,
            period: out.period as i64,
            res: ForecastRes {
                ts: res_ts,
                value: out.value,
                bounds,
            },
            rows: fp.rows,
            sse: out.sse,
        }))
    }
}

/// A frequency like `10s`, `1ms`, `h` in nanoseconds.
pub fn parse_freq(text: &str) -> Result<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (count, unit) = lower.split_at(split);
    let count: i64 = if count.is_empty() {
        1
    } else {
        count.parse().unwrap_or(0)
    };
    let unit_ns: i64 = match unit {
        "d" => 86_400_000_000_000,
        "h" => 3_600_000_000_000,
        "m" => 60_000_000_000,
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" => 1_000,
        "ns" => 1,
        _ => 0,
    };
    match count.checked_mul(unit_ns) {
        Some(ns) if ns > 0 => Ok(ns),
        _ => bail!(
            "invalid freq: {text}, should be a count and one of d, h, m, s, ms, us, ns (e.g. 10s)"
        ),
    }
}

/// `POST /imputation`.
pub fn imputation(reg: &Registry, body: &[u8]) -> Step {
    run(body, true, |p| {
        let values = p.values()?;
        white_noise_check(p, &values)?;
        let ts = p.timestamps()?;
        let prec = p.precision(true)?;
        let freq_text = match (&p.request.freq, p.options.get("freq")) {
            (Some(v), _) => value_text(v),
            (None, Some(s)) => s.to_owned(),
            (None, None) => DEFAULT_FREQ.to_owned(),
        };
        let freq_ns = parse_freq(&freq_text)?;
        let tick_ns = 1_000_000_000 / prec.per_second();
        if freq_ns % tick_ns != 0 {
            bail!(
                "freq {freq_text} is finer than the timestamp precision {}",
                prec.as_str()
            );
        }
        let step = freq_ns / tick_ns;
        for w in ts.windows(2) {
            if w[1] - w[0] < step {
                bail!(
                    "invalid freq or precision for the input ts list, freq:{freq_text}, prec:{}, ts interval between: {} {}",
                    prec.as_str(),
                    w[0],
                    w[1]
                );
            }
        }
        let algo = p.algo.as_deref().unwrap_or(DEFAULT_IMP_ALGO);
        let Some(imputer) = reg.imputer(algo) else {
            bail!("failed to load model: {algo}");
        };
        let out = imputer.impute(
            ImpInput {
                values: &values,
                ts: &ts,
                precision: prec,
                step,
            },
            &p.options,
        )?;
        Ok(Reply::Body(to_json(&ImputationResponse {
            algo: algo.to_owned(),
            rows: out.ts.len(),
            mask: out.mask,
            option: p.option.clone(),
            target: out.target,
            ts: out.ts,
        })))
    })
}

/// `POST /correlation`.
pub fn correlation(reg: &Registry, body: &[u8]) -> Step {
    run(body, false, |p| {
        let Some(algo) = p.algo.as_deref() else {
            bail!("algo is missing in requests");
        };
        let x = p.values()?;
        let Some(y) = p.values_of("val1")? else {
            bail!("correlation needs a second series, column val1 is missing");
        };
        white_noise_check(p, &x)?;
        let Some(correlator) = reg.correlator(algo) else {
            bail!("unsupported algo: {algo}");
        };
        Ok(Reply::Body(
            match correlator.correlate(&x, &y, &p.options)? {
                CorrOutput::Dtw { distance, path } => to_json(&DtwResponse {
                    distance,
                    option: p.option.clone(),
                    rows: path.len(),
                    path,
                }),
                CorrOutput::Tlcc { lags, ccf } => to_json(&TlccResponse {
                    ccf_vals: ccf
                        .into_iter()
                        .map(|c| c.is_finite().then_some(c))
                        .collect(),
                    rows: lags.len(),
                    lags,
                    option: p.option.clone(),
                }),
            },
        ))
    })
}

/// `POST /api/v1/analysis/pearsonr` (TDgpt 3.4): the same envelope as
/// `/correlation` (white-noise check of `val` on unless `wncheck` is 0, as
/// upstream), `val1` the second series.
pub fn pearsonr(body: &[u8]) -> Step {
    let step = run(body, false, |p| {
        let x = p.values()?;
        white_noise_check(p, &x)?;
        let Some(y) = p.values_of("val1")? else {
            bail!("{PEARSONR_SECOND_COLUMN}");
        };
        let (r, pv) = crate::algo::correlation::pearson::pearsonr(&x, &y)?;
        Ok(Reply::Body(to_json(&PearsonResponse {
            correlation_coefficient: r,
            option: p.option.clone(),
            p_value: pv,
            rows: 1,
        })))
    });
    // upstream words the common one-column refusal for this endpoint
    match step {
        Step::Done(Outcome {
            body: Err(e),
            algo,
            rows,
        }) if e.to_string() == crate::payload::SINGLE_COLUMN_MSG => Step::Done(Outcome {
            algo,
            rows,
            body: Err(AnodeError::new(PEARSONR_SECOND_COLUMN)),
        }),
        other => other,
    }
}

/// upstream's refusal of a pearsonr request without `val1`.
const PEARSONR_SECOND_COLUMN: &str = "a second data column is required for pearsonr";

/// A TDgpt 3.4 tool: a JSON request of its own shape, answered by `tool`.
fn tool(
    name: &str,
    body: &[u8],
    tool: fn(&serde_json::Value) -> Result<serde_json::Value>,
) -> Step {
    let answer = serde_json::from_slice::<serde_json::Value>(body)
        .map_err(|e| {
            AnodeError::new(format!(
                "400 Bad Request: Failed to decode JSON object: {e}"
            ))
        })
        .and_then(|req| tool(&req));
    let rows = answer
        .as_ref()
        .ok()
        .and_then(|a| a["rows"].as_u64())
        .unwrap_or(0) as usize;
    Step::Done(Outcome {
        algo: Some(name.to_owned()),
        rows,
        body: answer.map(|a| to_json(&a)),
    })
}

/// `POST /api/v1/analysis/profile-search` (see `algo::tool::profile_search`).
pub fn profile_search(body: &[u8]) -> Step {
    tool(
        "profile-search",
        body,
        crate::algo::tool::profile_search::search,
    )
}

/// `POST /api/v1/analysis/batch` and `/tool/batch` (see `algo::tool::batch`).
pub fn batch(body: &[u8]) -> Step {
    tool("batch", body, crate::algo::tool::batch::golden_batch)
}

/// Which analysis an endpoint runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    AnomalyDetect,
    Forecast,
    Imputation,
    Correlation,
    Pearsonr,
    ProfileSearch,
    Batch,
    Regression,
    Classification,
}

impl Endpoint {
    /// Runs the endpoint to the end where no Python worker is needed; a
    /// Python algorithm comes back as [`Step::Python`] for the caller to run.
    pub fn step(self, reg: &Registry, body: &[u8]) -> Step {
        match self {
            Endpoint::AnomalyDetect => anomaly_detect(reg, body),
            Endpoint::Forecast => forecast(reg, body),
            Endpoint::Imputation => imputation(reg, body),
            Endpoint::Correlation => correlation(reg, body),
            Endpoint::Pearsonr => pearsonr(body),
            Endpoint::ProfileSearch => profile_search(body),
            Endpoint::Batch => batch(body),
            Endpoint::Regression => predict(reg, body, Kind::Regression),
            Endpoint::Classification => predict(reg, body, Kind::Classification),
        }
    }

    /// Runs the endpoint without Python workers (tests, benchmarks): a
    /// Python algorithm gets an error answer.
    pub fn run(self, reg: &Registry, body: &[u8]) -> Outcome {
        match self.step(reg, body) {
            Step::Done(outcome) => outcome,
            Step::Python(job) => job.finish(Err(
                "Python algorithms need the server's worker pool".to_owned()
            )),
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Endpoint::AnomalyDetect => "/anomaly-detect",
            Endpoint::Forecast => "/forecast",
            Endpoint::Imputation => "/imputation",
            Endpoint::Correlation => "/correlation",
            Endpoint::Pearsonr => "/api/v1/analysis/pearsonr",
            Endpoint::ProfileSearch => "/api/v1/analysis/profile-search",
            Endpoint::Batch => "/api/v1/analysis/batch",
            Endpoint::Regression => "/regression",
            Endpoint::Classification => "/classification",
        }
    }
}
