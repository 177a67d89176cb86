//! Time-series foundation models (TDgpt's `tdtsfm_1`, `timemoe-fc`,
//! `chronos`, `moirai`, `timesfm`): forecasts come from a model server, as
//! upstream's `algo/tsfm.py` asks it.
//!
//! The anode POSTs `{"input", "ts", "next_len", "past_dynamic_real",
//! "dynamic_real", "conf_interval"}` to the model's URL and reads `output`
//! and, when the server sends them, `lower` and `upper` (without them the
//! bounds are the forecast itself, as upstream answers). The URL is the
//! configured one (`[tsfm-service]` in `taosanode.ini`, `models` in a
//! `taosanode.config.py`), else upstream's default port on 127.0.0.1, and a
//! request may name another with the option `host=` (`https://` is sent as
//! `http://`, a bare `host:port/path` gets `http://`, as upstream does).
//!
//! Covariates: `past_dynamic_real*` columns (history only) and
//! `dynamic_real*` columns (history and the forecast rows) are passed
//! through to `moirai`; the other models answer upstream's `covariate
//! forecast is not supported yet` — for future covariates too, where
//! upstream would send them to a model that ignores them.
//!
//! The call runs on a compute worker with a timeout (the anode's request
//! timeout); a server that cannot be reached, answers 404 or another status,
//! or sends no usable `output` gets an error naming the URL.
//!
//! May import: `error`, `options`, its parent's `base_params`, `algo::model_server`.

use std::time::Duration;

use serde_json::{Value, json};

use super::base_params;
use crate::algo::model_server::{self, clip, post};
use crate::algo::{Describe, FcInput, FcOutput, Forecaster};
use crate::bail;
use crate::error::Result;
use crate::options::Options;

/// The models: name, upstream's default URL (TDgpt 3.4's
/// `taosanode.config.py` ports), description, whether it takes covariates.
pub const MODELS: [(&str, &str, &str, bool); 5] = [
    (
        "tdtsfm_1",
        "http://127.0.0.1:6061/tdtsfm",
        "Time-Series Foundation Model based on transformer by TAOS DATA (model server)",
        false,
    ),
    (
        "timemoe-fc",
        "http://127.0.0.1:6062/ds_predict",
        "Time-MoE: Billion-Scale Time Series Foundation Models with Mixture of Experts (model server)",
        false,
    ),
    (
        "chronos",
        "http://127.0.0.1:6063/ds_predict",
        "Chronos time-series foundation model by Amazon (model server)",
        false,
    ),
    (
        "moirai",
        "http://127.0.0.1:6064/ds_predict",
        "Time-Series Foundation Model by SalesForce Inc. (model server, covariates)",
        true,
    ),
    (
        "timesfm",
        "http://127.0.0.1:6065/ds_predict",
        "Time-Series Foundation Model by Google Inc. (model server)",
        false,
    ),
];

/// One model behind its server.
pub struct Tsfm {
    name: &'static str,
    desc: &'static str,
    url: String,
    covariates: bool,
    timeout: Duration,
}

impl Tsfm {
    /// Every model, at `url_of(name)` or upstream's default.
    pub fn all(url_of: impl Fn(&str) -> Option<String>, timeout: Duration) -> Vec<Tsfm> {
        MODELS
            .iter()
            .map(|(name, default, desc, covariates)| Tsfm {
                name,
                desc,
                url: url_of(name).unwrap_or_else(|| (*default).to_owned()),
                covariates: *covariates,
                timeout,
            })
            .collect()
    }
}

impl Describe for Tsfm {
    fn name(&self) -> &'static str {
        self.name
    }
    fn desc(&self) -> &'static str {
        self.desc
    }
    fn params(&self) -> Value {
        let mut p = base_params();
        p.insert("host".into(), json!(self.url));
        Value::Object(p)
    }
}

impl Forecaster for Tsfm {
    fn takes_raw_values(&self) -> bool {
        true
    }

    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        if input.values.len() < input.period {
            bail!("number of input data is less than the periods");
        }
        if input.rows == 0 {
            bail!("forecast rows is not specified yet");
        }
        let cov = input.covariates;
        if !self.covariates && (!cov.past.is_empty() || !cov.future.is_empty()) {
            bail!("covariate forecast is not supported yet");
        }
        let url = model_server::url(options, &self.url);
        let body = json!({
            "input": input.values,
            "ts": input.ts,
            "next_len": input.rows,
            "past_dynamic_real": cov.past,
            "dynamic_real": cov.future,
            "conf_interval": input.conf,
        });
        let answer = post(&url, &body, self.timeout)?;
        let series = |key: &str| model_server::numbers(&answer, key);
        let Some(value) = series("output") else {
            bail!(
                "the model server {url} sent no numeric output: {}",
                clip(&answer.to_string())
            );
        };
        if value.len() < input.rows {
            bail!(
                "the model server {url} sent {} values for {} rows",
                value.len(),
                input.rows
            );
        }
        let value: Vec<f64> = value[..input.rows].to_vec();
        let bounds = input
            .return_conf
            .then(|| match (series("lower"), series("upper")) {
                (Some(lo), Some(hi)) if lo.len() >= input.rows && hi.len() >= input.rows => {
                    (lo[..input.rows].to_vec(), hi[..input.rows].to_vec())
                }
                _ => (value.clone(), value.clone()),
            });
        Ok(FcOutput {
            value,
            bounds,
            period: input.period,
            model_info: Some(format!("{} at {url}", self.name)),
            fitted_points: input.values.len(),
            ..FcOutput::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covariates_only_for_moirai_and_a_dead_server_is_named() {
        let models = Tsfm::all(
            |_| Some("http://127.0.0.1:9/none".into()),
            Duration::from_secs(2),
        );
        let past = vec![vec![1.0; 20]];
        let values = vec![1.0; 20];
        let mut input = crate::algo::fc::test_input(&values, 3, 0);
        input.covariates.past = &past;
        let timemoe = models.iter().find(|m| m.name == "timemoe-fc").unwrap();
        assert_eq!(
            timemoe
                .forecast(input, &Options::default())
                .unwrap_err()
                .to_string(),
            "covariate forecast is not supported yet"
        );
        let moirai = models.iter().find(|m| m.name == "moirai").unwrap();
        let err = moirai
            .forecast(input, &Options::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("failed to connect the service: http://127.0.0.1:9/none: "),
            "{err}"
        );
    }
}
