//! Forecasting (`type: "forecast"`, spec §5.2).
//!
//! The framework (see `service`) validates the envelope, builds the result
//! timestamps `start + i·every` and the response; a forecaster only maps
//! history to `rows` values and, when asked, bounds at level `conf`.
//!
//! May import: `error`, `stats`.

pub mod arima;
pub mod auto;
pub mod autoarima;
pub mod ces;
pub mod ets;
pub mod holtwinters;
mod kernels;
pub mod mstl;
pub mod optimize;
pub mod season;
pub mod theta;
pub mod tsfm;

use serde_json::{Map, Value, json};

use crate::algo::{FcInput, FcOutput};
use crate::error::{AnodeError, Result};

/// Most recent values the exponential-smoothing searches (`ets`, `ces`)
/// fit: their cost is models × evaluations × n (a 40,000-value AutoETS
/// took 3.1 s); a longer history moves their forecasts little.
pub const MAX_SMOOTHING_FIT_POINTS: usize = 5_000;

/// Parameters every forecaster shows in `/list` (upstream's base
/// `get_params`).
pub fn base_params() -> Map<String, Value> {
    let v = json!({
        "conf": 0.95,
        "every": 0,
        "forecast_rows": 0,
        "period": 0,
        "return_conf": 1,
        "start": 0,
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Symmetric bounds `value ± z·σ_h` from per-horizon standard errors.
pub fn bounds(value: &[f64], se: &[f64], conf: f64) -> (Vec<f64>, Vec<f64>) {
    let z = crate::stats::z_two_sided(conf);
    value
        .iter()
        .zip(se)
        .map(|(v, s)| (v - z * s, v + z * s))
        .unzip()
}

/// Cumulative ETS(A,·,·) forecast variances (Hyndman et al. 2008, class 1):
/// `σ²_h = σ² (1 + Σ_{j<h} c_j²)` with `c_j = α(1 + jβ) + γ·[j ≡ 0 mod m]`.
/// Exact for additive models, the usual approximation for multiplicative ones.
pub fn ets_standard_errors(
    sigma2: f64,
    alpha: f64,
    beta: f64,
    gamma: f64,
    m: usize,
    rows: usize,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows);
    let mut acc = 1.0;
    for h in 1..=rows {
        out.push((sigma2 * acc).sqrt());
        let j = h as f64;
        let seasonal = if m > 0 && h % m == 0 { gamma } else { 0.0 };
        let c = alpha * (1.0 + j * beta) + seasonal;
        acc += c * c;
    }
    out
}

/// Forecast, bounds and in-sample SSE of a fitted augurs model.
pub(crate) fn augurs_output<P>(
    fit: &P,
    input: FcInput<'_>,
    model_info: String,
    fitted: Map<String, Value>,
) -> Result<FcOutput>
where
    P: augurs::Predict,
    P::Error: std::fmt::Display,
{
    let level = input.return_conf.then_some(input.conf);
    let fc = fit
        .predict(input.rows, level)
        .map_err(|e| AnodeError::new(format!("forecast failed: {e}")))?;
    let in_sample = fit
        .predict_in_sample(None)
        .map_err(|e| AnodeError::new(format!("in-sample fit failed: {e}")))?;
    let sse = input
        .values
        .iter()
        .zip(&in_sample.point)
        .map(|(a, b)| (a - b) * (a - b))
        .filter(|e| e.is_finite())
        .sum();
    Ok(FcOutput {
        bounds: fc.intervals.map(|i| (i.lower, i.upper)),
        value: fc.point,
        sse: Some(sse),
        period: input.period,
        model_info: Some(model_info),
        fitted: Some(fitted),
        mse: None,
        fitted_points: input.values.len(),
    })
}

#[cfg(test)]
pub(crate) fn test_input(values: &[f64], rows: usize, period: usize) -> FcInput<'_> {
    FcInput {
        values,
        ts: &[],
        rows,
        conf: 0.95,
        return_conf: true,
        period,
        covariates: Default::default(),
    }
}
