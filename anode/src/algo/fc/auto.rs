//! `auto`: a forecaster that needs no options. It finds the season (the
//! `period` option when given, else `season::detect_periods`), fits AutoARIMA,
//! AutoETS and Theta with it — and MSTL with every season when the series
//! shows two (a weekly season behind a daily one) — and combines their
//! forecasts and bounds with
//! weights from a validation window: each member's chosen model (its orders,
//! its ETS form — not a new search) is refitted without the last `rows`
//! values, and weighs `(best MAE / its MAE)⁴` of how well it forecast them.
//!
//! Why a weighted combination: on our backtest (`anode backtest`,
//! docs/forecasting.md) no member wins everywhere — ARIMA follows the
//! cycles of lynx and sunspots that exponential smoothing cannot, ETS the
//! heart rate that ARIMA overfits — and the validation picks the right one
//! most of the time, while keeping a second member that validates nearly
//! as well guards against an unlucky window (the equal-weight mean, the M4
//! "comb" benchmark, and the best member alone both scored worse).
//!
//! Options: `period` (default: detected), `models` — which of `arima`,
//! `ets`, `theta`, `ces`, `mstl` to combine, separated by `|` (default
//! `arima|ets|theta`, plus `mstl` when two seasons are detected),
//! `combine` — `weighted` (default), `mean`, `best`.
//!
//! May import: `error`, `options`, its parent's `arima`, `autoarima`,
//! `base_params`, `ces`, `ets`, `mstl`, `season`, `theta`.

use serde_json::{Map, Value, json};

use super::{arima, autoarima, base_params, ces, ets, mstl, season, theta};
use crate::algo::{Describe, FcInput, FcOutput, Forecaster};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

pub struct Auto;

/// Members combined when `models` is not given.
pub const DEFAULT_MODELS: &str = "arima|ets|theta";

impl Describe for Auto {
    fn name(&self) -> &'static str {
        "auto"
    }
    fn desc(&self) -> &'static str {
        "automatic forecast: detects the season and combines AutoARIMA, AutoETS and Theta, native"
    }
    fn params(&self) -> Value {
        let mut p = base_params();
        p.insert("models".into(), json!(DEFAULT_MODELS));
        Value::Object(p)
    }
}

/// How the members' forecasts are combined (option `combine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    /// Equal weights.
    Mean,
    /// Weights `∝ MAE⁻⁴` of each member on a validation window.
    Weighted,
    /// The member with the smallest validation error alone.
    Best,
}

impl Combine {
    fn parse(v: &str) -> Result<Combine> {
        Ok(match v {
            "mean" => Combine::Mean,
            "weighted" => Combine::Weighted,
            "best" => Combine::Best,
            _ => bail!("combine parameter can only be 'mean', 'weighted' or 'best'"),
        })
    }
}

/// Shortest history the validation window is cut from: below it the
/// members are weighted equally.
const MIN_VALIDATION_HISTORY: usize = 24;

/// Exponent of the validation weights `(best MAE / MAE)^k`. Chosen on the
/// 3-fold backtest of the shipped series (docs/forecasting.md): mean MASE
/// 1.21 with k = 1, 1.16 with 2, 1.12 with 4, 1.10 with 8, 1.14 for the
/// best member alone; 4 keeps a second member that validates nearly as
/// well, which guards against a lucky validation window.
const WEIGHT_EXPONENT: i32 = 4;

/// Forecasts of a member's chosen model refitted to a shorter history.
type Validate<'a> = Box<dyn Fn(&[f64], usize) -> Option<Vec<f64>> + 'a>;

/// Fits a member on the whole history; returns its output and how to refit
/// the same specification (orders, ETS form) on a prefix for validation —
/// far cheaper than searching again.
fn run_member<'a>(
    name: &str,
    input: FcInput<'a>,
    periods: &[usize],
) -> Result<(FcOutput, Validate<'a>)> {
    let period = input.period;
    // MSTL takes the longer seasons through its `periods` option
    let longer: Vec<String> = periods.iter().skip(1).map(|p| p.to_string()).collect();
    let options = match name {
        "mstl" => Options::parse(Some(&format!("periods={}", longer.join("|")))),
        _ => Options::default(),
    };
    Ok(match name {
        "arima" => {
            let fit = autoarima::fit_auto(input, autoarima::Space::default())?;
            let out = autoarima::output(&fit, input);
            let v: Validate<'a> = Box::new(move |train, h| {
                arima::fit(train, fit.order, fit.method, Some(&fit)).map(|f| f.forecast(h).0)
            });
            (out, v)
        }
        "ets" => {
            let chosen = ets::fit_auto(input.values, period, *b"ZZZ", None)?;
            let out = chosen.output(input);
            (
                out,
                Box::new(move |train, h| chosen.refit_forecast(train, h)),
            )
        }
        _ => {
            let f = member(name).expect("names are validated");
            let out = f.forecast(input, &options)?;
            let v: Validate<'a> = Box::new(move |train, h| {
                let held = FcInput {
                    values: train,
                    rows: h,
                    return_conf: false,
                    ..input
                };
                f.forecast(held, &options).ok().map(|o| o.value)
            });
            (out, v)
        }
    })
}

/// Each member's weight from a hold-out of the last `rows` values (at most
/// a quarter of the series).
fn validation_weights(
    validators: &[Validate<'_>],
    y: &[f64],
    rows: usize,
    period: usize,
    combine: Combine,
) -> Vec<f64> {
    let hv = rows.min(y.len() / 4).max(1);
    let train = &y[..y.len() - hv];
    if combine == Combine::Mean || train.len() < MIN_VALIDATION_HISTORY.max(2 * period + 4) {
        return vec![1.0; validators.len()];
    }
    let actual = &y[y.len() - hv..];
    let mae: Vec<f64> = validators
        .iter()
        .map(|v| match v(train, hv) {
            Some(f) => {
                f.iter()
                    .zip(actual)
                    .map(|(a, b)| (a - b).abs())
                    .sum::<f64>()
                    / hv as f64
            }
            None => f64::INFINITY,
        })
        .map(|m| if m.is_finite() { m } else { f64::INFINITY })
        .collect();
    let best = mae.iter().copied().fold(f64::INFINITY, f64::min);
    if !best.is_finite() {
        return vec![1.0; validators.len()];
    }
    let scale = y.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let floor = best.max(1e-12 * scale).max(f64::MIN_POSITIVE);
    match combine {
        Combine::Best => {
            let i = mae.iter().position(|m| *m == best).unwrap_or(0);
            (0..validators.len())
                .map(|k| f64::from(u8::from(k == i)))
                .collect()
        }
        _ => mae
            .iter()
            .map(|m| {
                if m.is_finite() {
                    (floor / m.max(floor)).powi(WEIGHT_EXPONENT)
                } else {
                    0.0
                }
            })
            .collect(),
    }
}

fn member(name: &str) -> Option<&'static dyn Forecaster> {
    Some(match name {
        "arima" => &autoarima::Arima,
        "ets" => &ets::Ets,
        "theta" => &theta::Theta,
        "ces" => &ces::Ces,
        "mstl" => &mstl::Mstl,
        _ => return None,
    })
}

impl Forecaster for Auto {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        let periods = if input.period >= 2 {
            vec![input.period]
        } else {
            season::detect_periods(input.values)
        };
        let period = periods.first().copied().unwrap_or(0);
        let mut list = options.string("models", DEFAULT_MODELS).to_string();
        if options.get("models").is_none() && periods.len() >= 2 {
            list.push_str("|mstl");
        }
        let names: Vec<&str> = list
            .split(['|', ' ', ';'])
            .filter(|s| !s.is_empty())
            .collect();
        let mut members: Vec<&str> = Vec::new();
        for n in &names {
            if member(n).is_none() {
                bail!("models can only list arima, ets, theta, ces and mstl, actual {n}");
            }
            if !members.contains(n) {
                members.push(n);
            }
        }
        if members.is_empty() {
            bail!("models can only list arima, ets, theta, ces and mstl, actual none");
        }
        let combine = Combine::parse(options.string("combine", "weighted"))?;
        let sub = FcInput {
            period,
            return_conf: true,
            ..input
        };
        let mut outs = Vec::new();
        let mut validators = Vec::new();
        let mut failures = Vec::new();
        for name in &members {
            match run_member(name, sub, &periods) {
                Ok((o, v)) => {
                    outs.push(o);
                    validators.push(v);
                }
                Err(e) => failures.push(format!("{name}: {e}")),
            }
        }
        if outs.is_empty() {
            bail!("no model could be fitted: {}", failures.join("; "));
        }
        let weights = validation_weights(&validators, input.values, input.rows, period, combine);
        let total: f64 = weights.iter().sum();
        let mean = |get: &dyn Fn(&FcOutput) -> &Vec<f64>| -> Vec<f64> {
            (0..input.rows)
                .map(|i| {
                    outs.iter()
                        .zip(&weights)
                        .map(|(o, w)| w * get(o)[i])
                        .sum::<f64>()
                        / total
                })
                .collect()
        };
        let value = mean(&|o| &o.value);
        let bounds = if input.return_conf && outs.iter().all(|o| o.bounds.is_some()) {
            let lo = mean(&|o| &o.bounds.as_ref().expect("checked").0);
            let hi = mean(&|o| &o.bounds.as_ref().expect("checked").1);
            Some((lo, hi))
        } else {
            None
        };
        let infos: Vec<String> = outs
            .iter()
            .zip(&weights)
            .filter(|(_, w)| **w / total >= 0.005)
            .map(|(o, w)| {
                format!(
                    "{:.2}×{}",
                    w / total,
                    o.model_info.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let seasons: Vec<String> = periods.iter().map(|p| p.to_string()).collect();
        let info = if periods.len() > 1 {
            format!("auto(periods={}): {}", seasons.join("|"), infos.join(" + "))
        } else {
            format!("auto(period={period}): {}", infos.join(" + "))
        };
        let mut fitted = Map::new();
        fitted.insert("period".into(), json!(period));
        if periods.len() > 1 {
            fitted.insert("periods".into(), json!(periods));
        }
        fitted.insert(
            "weights".into(),
            json!(weights.iter().map(|w| w / total).collect::<Vec<_>>()),
        );
        if !failures.is_empty() {
            fitted.insert("failed".into(), json!(failures));
        }
        // in-sample one-step MSE: the weighted mean of the members that have one
        let member_mse: Vec<(f64, f64)> = outs
            .iter()
            .zip(&weights)
            .filter_map(|(o, w)| {
                let m = o
                    .mse
                    .or_else(|| o.sse.map(|s| s / o.fitted_points.max(1) as f64))?;
                (m.is_finite() && *w > 0.0).then_some((m, *w))
            })
            .collect();
        let mse_weight: f64 = member_mse.iter().map(|p| p.1).sum();
        let mse = (mse_weight > 0.0)
            .then(|| member_mse.iter().map(|(m, w)| m * w).sum::<f64>() / mse_weight);
        Ok(FcOutput {
            value,
            bounds,
            sse: None,
            mse,
            period,
            model_info: Some(info),
            fitted: Some(fitted),
            fitted_points: input.values.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::fc::holtwinters::tests::AIR;
    use crate::algo::fc::test_input as input;

    #[test]
    fn airline_with_no_options() {
        let out = Auto
            .forecast(input(&AIR, 12, 0), &Options::default())
            .unwrap();
        assert_eq!(out.period, 12);
        let info = out.model_info.unwrap();
        assert!(info.starts_with("auto(period=12): 0."), "{info}");
        assert!(info.contains("×SARIMAX("), "{info}");
        assert!(info.contains("ETS(") && info.contains("Theta("), "{info}");
        assert!(out.value[6] > out.value[10] + 50.0, "{:?}", out.value);
        let (lo, hi) = out.bounds.unwrap();
        assert!(
            lo.iter()
                .zip(&out.value)
                .zip(&hi)
                .all(|((l, v), h)| l < v && v < h)
        );
        // an in-sample MSE of the airline's scale (one-step errors of 10–20)
        let mse = out.mse.unwrap();
        assert!((50.0..600.0).contains(&mse), "{mse}");
    }

    #[test]
    fn two_seasons_bring_in_mstl() {
        let taylor: Vec<f64> = include_str!("../../../data/series/taylor.csv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.trim().parse().unwrap())
            .collect();
        let out = Auto
            .forecast(input(&taylor, 48, 0), &Options::default())
            .unwrap();
        let info = out.model_info.unwrap();
        assert!(info.starts_with("auto(periods=48|336): "), "{info}");
        assert!(info.contains("×MSTL(periods=[48, 336]"), "{info}");
        assert_eq!(out.fitted.unwrap()["periods"], json!([48, 336]));
        // a season given explicitly is the only one
        let told = Auto
            .forecast(input(&taylor, 48, 48), &Options::default())
            .unwrap();
        assert!(!told.model_info.unwrap().contains("MSTL"));
    }

    #[test]
    fn members_are_validated() {
        let e = Auto
            .forecast(
                input(&AIR, 2, 0),
                &Options::parse(Some("models=arima|prophet")),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "models can only list arima, ets, theta, ces and mstl, actual prophet"
        );
        let one = Auto
            .forecast(input(&AIR, 2, 12), &Options::parse(Some("models=theta")))
            .unwrap();
        let theta = theta::Theta
            .forecast(input(&AIR, 2, 12), &Options::default())
            .unwrap();
        assert_eq!(one.value, theta.value);
    }
}
