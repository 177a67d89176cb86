//! `theta`: the standard Theta method (Assimakopoulos & Nikolopoulos 2000)
//! in Hyndman & Billah's (2003) form — simple exponential smoothing with a
//! drift of half the series' linear slope — after a classical seasonal
//! decomposition when the 90 % autocorrelation test finds the season.
//!
//! Options (upstream's): `decomposition_type` `multiplicative` (default) or
//! `additive`, and `period`.
//!
//! Bounds: the SES variance `σ²(1 + (h−1)α²)`, reseasonalised.
//!
//! May import: `error`, `options`, its parent's `base_params`, `bounds`,
//! `optimize`, `season`.

use serde_json::{Map, Value, json};

use super::optimize::brent;
use super::{base_params, bounds, season};
use crate::algo::{Describe, FcInput, FcOutput, Forecaster};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

pub struct Theta;

impl Describe for Theta {
    fn name(&self) -> &'static str {
        "theta"
    }
    fn desc(&self) -> &'static str {
        "forecast algorithm by using the standard Theta method, native"
    }
    fn params(&self) -> Value {
        let mut p = base_params();
        p.insert("decomposition_type".into(), json!("multiplicative"));
        Value::Object(p)
    }
}

/// SES with level `l0 = x[0]`: the SSE of the one-step errors and the
/// final level.
fn ses(x: &[f64], alpha: f64) -> (f64, f64) {
    let mut l = x[0];
    let mut sse = 0.0;
    for &v in &x[1..] {
        let e = v - l;
        sse += e * e;
        l += alpha * e;
    }
    (sse, l)
}

/// The Theta forecast of a (deseasonalised) series: values, standard
/// errors, α, drift and the SSE.
pub fn theta_forecast(x: &[f64], h: usize) -> (Vec<f64>, Vec<f64>, f64, f64, f64) {
    let n = x.len();
    let (alpha, _) = brent(|a| ses(x, a).0, 0.0001, 0.9999, 1e-8, 200);
    let (sse, level) = ses(x, alpha);
    // slope of the least-squares line through the series (the θ = 0 line)
    let nt = n as f64;
    let mt = (nt - 1.0) / 2.0;
    let my = x.iter().sum::<f64>() / nt;
    let sxy: f64 = x
        .iter()
        .enumerate()
        .map(|(t, v)| (t as f64 - mt) * (v - my))
        .sum();
    let sxx: f64 = (0..n).map(|t| (t as f64 - mt).powi(2)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    let drift = slope / 2.0;
    let tail = (1.0 - alpha).powi(n as i32);
    let sigma2 = sse / (n - 1).max(1) as f64;
    let mut value = Vec::with_capacity(h);
    let mut se = Vec::with_capacity(h);
    for i in 1..=h {
        let hf = i as f64;
        value.push(level + drift * ((hf - 1.0) + 1.0 / alpha - tail / alpha));
        se.push((sigma2 * (1.0 + (hf - 1.0) * alpha * alpha)).sqrt());
    }
    (value, se, alpha, drift, sse)
}

impl Forecaster for Theta {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        let kind = options
            .string("decomposition_type", "multiplicative")
            .to_ascii_lowercase();
        let mult = match kind.as_str() {
            "multiplicative" => true,
            "additive" => false,
            _ => bail!("decomposition_type parameter can only be 'additive' or 'multiplicative'"),
        };
        let y = input.values;
        let m = input.period;
        if y.len() < 3 {
            bail!("number of input data is less than 3, theta needs at least 3 values");
        }
        let seasonal = m >= 2 && season::seasonal_test(y, m);
        if seasonal && mult && y.iter().any(|v| *v <= 0.0) {
            bail!("multiplicative decomposition requires strictly positive input data");
        }
        let idx = if seasonal {
            season::decompose(y, m, mult)
        } else {
            None
        };
        let x: Vec<f64> = match &idx {
            Some(s) => y
                .iter()
                .enumerate()
                .map(|(t, v)| if mult { v / s[t % m] } else { v - s[t % m] })
                .collect(),
            None => y.to_vec(),
        };
        let (mut value, mut se, alpha, drift, sse) = theta_forecast(&x, input.rows);
        if let Some(s) = &idx {
            let n = y.len();
            for (i, (v, e)) in value.iter_mut().zip(se.iter_mut()).enumerate() {
                let k = s[(n + i) % m];
                if mult {
                    *v *= k;
                    *e *= k;
                } else {
                    *v += k;
                }
            }
        }
        let info = match &idx {
            Some(_) => format!("Theta(alpha={alpha:.4}, drift={drift:.6}, {kind} season {m})"),
            None => format!("Theta(alpha={alpha:.4}, drift={drift:.6})"),
        };
        let mut fitted = Map::new();
        fitted.insert("alpha".into(), json!(alpha));
        fitted.insert("drift".into(), json!(drift));
        fitted.insert("seasonal".into(), json!(idx.is_some()));
        Ok(FcOutput {
            bounds: input.return_conf.then(|| bounds(&value, &se, input.conf)),
            value,
            sse: Some(sse),
            mse: None,
            period: if idx.is_some() { m } else { 0 },
            model_info: Some(info),
            fitted: Some(fitted),
            fitted_points: y.len() - 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::fc::holtwinters::tests::AIR;
    use crate::algo::fc::test_input as input;

    #[test]
    fn a_line_is_continued_at_half_slope_plus_level_catch_up() {
        // y = 2t: SES lags a trend; Theta adds half the slope as drift.
        let y: Vec<f64> = (0..50).map(|t| 2.0 * t as f64).collect();
        let (v, _, alpha, drift, _) = theta_forecast(&y, 3);
        assert!((drift - 1.0).abs() < 1e-12);
        assert!(alpha > 0.99, "{alpha}");
        // the level sits at the last value; forecasts climb by 1 a step
        assert!((v[1] - v[0] - 1.0).abs() < 1e-9);
        assert!((v[0] - 99.0).abs() < 0.1, "{}", v[0]);
    }

    #[test]
    fn seasonal_airline() {
        let out = Theta
            .forecast(input(&AIR, 12, 12), &Options::default())
            .unwrap();
        assert!(out.model_info.unwrap().contains("multiplicative season 12"));
        assert!(out.value[6] > out.value[10] + 50.0, "{:?}", out.value);
        let (lo, hi) = out.bounds.unwrap();
        assert!(lo[0] < out.value[0] && out.value[0] < hi[0]);
    }

    #[test]
    fn options_are_validated() {
        let err = Theta
            .forecast(
                input(&AIR, 2, 12),
                &Options::parse(Some("decomposition_type=x")),
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "decomposition_type parameter can only be 'additive' or 'multiplicative'"
        );
        let neg: Vec<f64> = AIR.iter().map(|v| v - 300.0).collect();
        let err = Theta
            .forecast(input(&neg, 2, 12), &Options::default())
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "multiplicative decomposition requires strictly positive input data"
        );
        assert!(
            Theta
                .forecast(
                    input(&neg, 2, 12),
                    &Options::parse(Some("decomposition_type=additive"))
                )
                .is_ok()
        );
    }
}
