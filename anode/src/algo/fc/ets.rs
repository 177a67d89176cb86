//! AutoETS: the exponential-smoothing state-space family (error, trend,
//! season each none/additive/multiplicative, optionally damped), with the
//! model chosen by AICc — augurs' port of R `forecast::ets`.
//!
//! Options: `model` (three letters: error A/M/Z, trend N/A/M/Z, season N;
//! `Z` = choose; default `ZZN`) and `damped` (0/1).
//!
//! augurs does not implement seasonal ETS models, so neither do we: a
//! seasonal request is refused with a pointer to `mstl` (STL seasons with an
//! ETS trend) and `holtwinters` (additive/multiplicative seasons), rather
//! than silently fitting a model without the season.
//!
//! May import: `error`, `options`, its parent's `augurs_output`, `base_params`.

use augurs::Fit;
use augurs::ets::AutoETS;
use serde_json::{Map, Value, json};

use super::{augurs_output, base_params};
use crate::algo::{Describe, FcInput, FcOutput, Forecaster};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

pub struct Ets;

pub const SEASONAL_UNSUPPORTED: &str = "seasonal ETS models are not supported, use algo=mstl or algo=holtwinters with seasonal=add|mul and period";

impl Describe for Ets {
    fn name(&self) -> &'static str {
        "ets"
    }
    fn desc(&self) -> &'static str {
        "automatic exponential smoothing state space model (AutoETS), chosen by AICc"
    }
    fn params(&self) -> Value {
        let mut p = base_params();
        p.insert("model".into(), json!("ZZN"));
        p.insert("damped".into(), Value::Null);
        Value::Object(p)
    }
}

impl Forecaster for Ets {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        let y = input.values;
        let spec = options.string("model", "ZZN").to_ascii_uppercase();
        let valid = spec.len() == 3
            && matches!(spec.as_bytes()[0], b'A' | b'M' | b'Z')
            && spec.as_bytes()[1..]
                .iter()
                .all(|c| matches!(c, b'N' | b'A' | b'M' | b'Z'));
        if !valid {
            bail!("model parameter is not a valid ETS model");
        }
        if matches!(spec.as_bytes()[2], b'A' | b'M') {
            bail!("{SEASONAL_UNSUPPORTED}");
        }
        // `Z` for the season can only mean "none" here.
        let spec = format!("{}N", &spec[..2]);
        let mut auto = AutoETS::new(1, spec.as_str())
            .map_err(|e| crate::error::AnodeError::new(format!("invalid ETS model {spec}: {e}")))?;
        if let Some(d) = options.get("damped") {
            auto = auto
                .damped(match d {
                    "1" | "true" => true,
                    "0" | "false" => false,
                    _ => bail!("damped parameter can only be 0 or 1"),
                })
                .map_err(|e| {
                    crate::error::AnodeError::new(format!("invalid ETS model {spec}: {e}"))
                })?;
        }
        let fit = auto
            .fit(y)
            .map_err(|e| crate::error::AnodeError::new(format!("ETS fit failed: {e}")))?;
        let model = fit.model();
        let mut fitted = Map::new();
        fitted.insert("model".into(), json!(model.model_type().to_string()));
        fitted.insert("damped".into(), json!(model.damped()));
        fitted.insert("aicc".into(), json!(model.aicc()));
        let info = format!(
            "ETS({}{})",
            model.model_type(),
            if model.damped() { ", damped" } else { "" }
        );
        augurs_output(&fit, input, info, fitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::fc::holtwinters::tests::{AIR, X96};
    use crate::algo::fc::test_input as input;

    #[test]
    fn non_seasonal_auto_model() {
        let out = Ets
            .forecast(input(&X96, 10, 0), &Options::default())
            .unwrap();
        assert_eq!(out.value.len(), 10);
        let (lo, hi) = out.bounds.unwrap();
        assert!(
            lo.iter()
                .zip(&out.value)
                .zip(&hi)
                .all(|((l, v), h)| l < v && v < h)
        );
        // The level of this series sits near 19; any sane model agrees.
        assert!((out.value[0] - 19.6).abs() < 2.0, "{}", out.value[0]);
        assert!(out.model_info.unwrap().starts_with("ETS("));
    }

    #[test]
    fn trending_series_gets_a_trend_model() {
        // The airline series grows by about 2.6 passengers a month.
        let out = Ets
            .forecast(input(&AIR, 12, 0), &Options::default())
            .unwrap();
        let slope = (out.value[11] - out.value[0]) / 11.0;
        assert!((1.0..8.0).contains(&slope), "{slope}");
        let model = out.fitted.unwrap()["model"].as_str().unwrap().to_owned();
        assert_ne!(&model[1..2], "N", "{model}");
    }

    #[test]
    fn options_are_validated() {
        let err = |o: &str, p| {
            Ets.forecast(input(&X96, 5, p), &Options::parse(Some(o)))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("model=XYZ", 0),
            "model parameter is not a valid ETS model"
        );
        assert_eq!(
            err("model=NNN", 0),
            "model parameter is not a valid ETS model"
        );
        assert_eq!(err("damped=2", 0), "damped parameter can only be 0 or 1");
        assert_eq!(err("model=AAA", 12), SEASONAL_UNSUPPORTED);
        // `Z` for the season is accepted and means none.
        assert!(
            Ets.forecast(input(&X96, 5, 0), &Options::parse(Some("model=ZZZ")))
                .is_ok()
        );
    }
}
