//! Algorithms: one module each, four small traits, one registry.
//!
//! An algorithm describes itself ([`Describe`]: name, description, default
//! parameters for `/list`) and implements the trait of its family. The
//! [`Registry`] holds them in registration order and answers `/list` and
//! name look-ups; nothing else knows the set of algorithms. Algorithms are
//! pure functions of their input and options, so one instance serves every
//! request concurrently (upstream copied its service object per request for
//! the same reason).
//!
//! May import: `error`, `options`, `payload`, `protocol`, `stats`.

/// Longest season a forecaster or detector accepts: a leap year of hourly
/// values. Seasonal fits cost time and memory in proportion to the period
/// (its initial states), and a season longer than this is a trend.
pub const MAX_PERIOD: i64 = 8784;

pub mod ad;
pub mod correlation;
pub mod fc;
pub mod imputation;
pub mod model_server;
pub mod tool;

use serde_json::{Map, Value};

use crate::error::Result;
use crate::options::Options;
use crate::payload::Precision;
use crate::protocol::{
    AlgoGroup, AlgoInfo, AlgoType, LIST_VERSION, ListResponse, PROTOCOL_VERSION,
};

/// Longest algorithm name taosd can store (`TSDB_ANALYTIC_ALGO_NAME_LEN` 64,
/// including the NUL).
pub const MAX_ALGO_NAME_LEN: usize = 63;

pub trait Describe: Send + Sync {
    /// Lower-case name used in `algo=`.
    fn name(&self) -> &'static str;
    fn desc(&self) -> &'static str;
    /// Default parameters as `/list` shows them.
    fn params(&self) -> Value {
        Value::Object(Map::new())
    }
}

/// Input of an anomaly detector.
#[derive(Debug, Clone, Copy)]
pub struct AdInput<'a> {
    pub values: &'a [f64],
    pub ts: &'a [i64],
}

pub trait AnomalyDetector: Describe {
    /// One code per input value: `1` is normal, anything else anomalous
    /// (the built-ins use `-1`).
    fn detect(&self, input: AdInput<'_>, options: &Options) -> Result<Vec<i64>>;

    /// Whether the `valid_code` option applies. Upstream's base
    /// `set_params` consumed it; iqr overrode `set_params` and ignores it.
    fn honours_valid_code(&self) -> bool {
        true
    }

    /// Whether the detector looks at every data column together (the PyOD
    /// family). The others analyse `val` alone, as upstream's base class
    /// keeps only the first column for them.
    fn multivariate(&self) -> bool {
        false
    }

    /// One code per row of several equally long columns, `val` first.
    fn detect_columns(
        &self,
        columns: &[&[f64]],
        ts: &[i64],
        options: &Options,
    ) -> Result<Vec<i64>> {
        let values = columns.first().copied().unwrap_or(&[]);
        self.detect(AdInput { values, ts }, options)
    }
}

/// Input of a forecaster, after the framework validated the envelope.
#[derive(Debug, Clone, Copy)]
pub struct FcInput<'a> {
    pub values: &'a [f64],
    pub ts: &'a [i64],
    /// Number of values to forecast.
    pub rows: usize,
    /// Confidence level of the bounds, in (0, 1).
    pub conf: f64,
    pub return_conf: bool,
    /// `period` option; 0 means none.
    pub period: usize,
    /// Covariate columns, for the models that take them.
    pub covariates: Covariates<'a>,
}

/// Covariates of a forecast (TDgpt's covariate forecasting): columns named
/// `past_dynamic_real*` hold history only, `dynamic_real*` history and the
/// values of the forecast rows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Covariates<'a> {
    pub past: &'a [Vec<f64>],
    pub future: &'a [Vec<f64>],
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FcOutput {
    pub value: Vec<f64>,
    pub bounds: Option<(Vec<f64>, Vec<f64>)>,
    /// Sum of squared one-step in-sample errors, when the model has one.
    pub sse: Option<f64>,
    /// Mean squared error when the model reports it directly (Python
    /// algorithms); otherwise the service derives it from `sse`.
    pub mse: Option<f64>,
    /// Seasonal period actually used.
    pub period: usize,
    pub model_info: Option<String>,
    pub fitted: Option<Map<String, Value>>,
    /// Number of in-sample errors the SSE was taken over (for the MSE).
    pub fitted_points: usize,
}

pub trait Forecaster: Describe {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput>;

    /// Whether the values go out as sent (a model server), rather than
    /// scaled by a power of two first when their magnitude is extreme.
    fn takes_raw_values(&self) -> bool {
        false
    }
}

/// Input of an imputation algorithm.
#[derive(Debug, Clone, Copy)]
pub struct ImpInput<'a> {
    pub values: &'a [f64],
    pub ts: &'a [i64],
    pub precision: Precision,
    /// Grid step in ticks of `precision`.
    pub step: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImpOutput {
    pub ts: Vec<i64>,
    pub target: Vec<f64>,
    pub mask: Vec<u8>,
}

pub trait Imputer: Describe {
    fn impute(&self, input: ImpInput<'_>, options: &Options) -> Result<ImpOutput>;
}

#[derive(Debug, Clone, PartialEq)]
pub enum CorrOutput {
    Dtw {
        distance: f64,
        path: Vec<[usize; 2]>,
    },
    Tlcc {
        lags: Vec<i64>,
        ccf: Vec<f64>,
    },
}

pub trait Correlator: Describe {
    fn correlate(&self, x: &[f64], y: &[f64], options: &Options) -> Result<CorrOutput>;
}

/// Every algorithm the service offers, in `/list` order.
#[derive(Default)]
pub struct Registry {
    ad: Vec<Box<dyn AnomalyDetector>>,
    fc: Vec<Box<dyn Forecaster>>,
    imp: Vec<Box<dyn Imputer>>,
    corr: Vec<Box<dyn Correlator>>,
    /// Algorithms served by the Python workers, as they announced them.
    python: Vec<(AlgoType, AlgoInfo)>,
    /// Where deployed models live (`dynamic-model-dir`); the service reads
    /// them from there on every request (see `dynamic`).
    pub dynamic_dir: Option<std::path::PathBuf>,
    /// `model-dir`: a deployed model's `model_path` may point in here too.
    pub model_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Registry {
    /// The native algorithms.
    pub fn native() -> Self {
        let mut r = Registry::default();
        r.add_forecaster(Box::new(fc::holtwinters::HoltWinters));
        r.add_forecaster(Box::new(fc::ets::Ets));
        r.add_forecaster(Box::new(fc::autoarima::Arima));
        r.add_forecaster(Box::new(fc::theta::Theta));
        r.add_forecaster(Box::new(fc::ces::Ces));
        r.add_forecaster(Box::new(fc::auto::Auto));
        r.add_forecaster(Box::new(fc::mstl::Mstl));
        r.add_detector(Box::new(ad::ksigma::KSigma));
        r.add_detector(Box::new(ad::iqr::Iqr));
        r.add_detector(Box::new(ad::grubbs::Grubbs));
        r.add_detector(Box::new(ad::shesd::Shesd));
        r.add_detector(Box::new(ad::lof::Lof));
        r.add_detector(Box::new(ad::ecod::ECOD));
        r.add_detector(Box::new(ad::ecod::COPOD));
        r.add_detector(Box::new(ad::hbos::Hbos));
        r.add_detector(Box::new(ad::iforest::IForest));
        r.add_detector(Box::new(ad::pca::Pca));
        r.add_imputer(Box::new(imputation::linear::Linear));
        r.add_correlator(Box::new(correlation::dtw::Dtw));
        r.add_correlator(Box::new(correlation::tlcc::Tlcc));
        r
    }

    fn check_name(&self, name: &str) {
        assert!(
            !name.is_empty()
                && name.len() <= MAX_ALGO_NAME_LEN
                && name == name.to_ascii_lowercase(),
            "algorithm name {name:?} must be lower-case and 1..={MAX_ALGO_NAME_LEN} bytes"
        );
        assert!(
            !self.names().any(|n| n.1 == name),
            "algorithm {name} registered twice"
        );
    }

    pub fn add_detector(&mut self, a: Box<dyn AnomalyDetector>) {
        self.check_name(a.name());
        self.ad.push(a);
    }

    pub fn add_forecaster(&mut self, a: Box<dyn Forecaster>) {
        self.check_name(a.name());
        self.fc.push(a);
    }

    pub fn add_imputer(&mut self, a: Box<dyn Imputer>) {
        self.check_name(a.name());
        self.imp.push(a);
    }

    pub fn add_correlator(&mut self, a: Box<dyn Correlator>) {
        self.check_name(a.name());
        self.corr.push(a);
    }

    /// Registers an algorithm of the Python workers. A name the registry
    /// already has is refused (the workers skip native names themselves).
    pub fn add_python(&mut self, kind: AlgoType, info: AlgoInfo) -> bool {
        if self.names().any(|n| n.1 == info.name)
            || self.python.iter().any(|(_, i)| i.name == info.name)
        {
            return false;
        }
        self.python.push((kind, info));
        true
    }

    /// Whether `name` is a Python algorithm of type `kind`.
    pub fn is_python(&self, kind: AlgoType, name: &str) -> bool {
        self.python
            .iter()
            .any(|(k, i)| *k == kind && i.name == name)
    }

    /// Whether `name` is taken by a native or Python algorithm.
    pub fn has(&self, name: &str) -> bool {
        self.names().any(|n| n.1 == name) || self.python.iter().any(|(_, i)| i.name == name)
    }

    pub fn python_count(&self) -> usize {
        self.python.len()
    }

    pub fn detector(&self, name: &str) -> Option<&dyn AnomalyDetector> {
        self.ad.iter().find(|a| a.name() == name).map(|b| &**b)
    }

    pub fn forecaster(&self, name: &str) -> Option<&dyn Forecaster> {
        self.fc.iter().find(|a| a.name() == name).map(|b| &**b)
    }

    pub fn imputer(&self, name: &str) -> Option<&dyn Imputer> {
        self.imp.iter().find(|a| a.name() == name).map(|b| &**b)
    }

    pub fn correlator(&self, name: &str) -> Option<&dyn Correlator> {
        self.corr.iter().find(|a| a.name() == name).map(|b| &**b)
    }

    /// `(type, name)` of every algorithm, in `/list` order.
    pub fn names(&self) -> impl Iterator<Item = (AlgoType, &'static str)> + '_ {
        self.fc
            .iter()
            .map(|a| (AlgoType::Forecast, a.name()))
            .chain(
                self.ad
                    .iter()
                    .map(|a| (AlgoType::AnomalyDetection, a.name())),
            )
            .chain(self.imp.iter().map(|a| (AlgoType::Imputation, a.name())))
            .chain(self.corr.iter().map(|a| (AlgoType::Correlation, a.name())))
    }

    /// The `/list` answer. All four families are always present, as in 3.3.7.
    pub fn list(&self) -> ListResponse {
        fn infos<T: Describe + ?Sized>(v: &[Box<T>]) -> Vec<AlgoInfo> {
            v.iter()
                .map(|a| AlgoInfo {
                    desc: a.desc().to_owned(),
                    name: a.name().to_owned(),
                    params: a.params(),
                    status: Some("READY".to_owned()),
                    builtins: Some(true),
                })
                .collect()
        }
        let group = |t: AlgoType, mut algo: Vec<AlgoInfo>| {
            algo.extend(
                self.python
                    .iter()
                    .filter(|(k, _)| *k == t)
                    .map(|(_, i)| i.clone()),
            );
            AlgoGroup {
                algo,
                algo_type: t.as_str().to_owned(),
            }
        };
        ListResponse {
            details: vec![
                group(AlgoType::Forecast, infos(&self.fc)),
                group(AlgoType::AnomalyDetection, infos(&self.ad)),
                group(AlgoType::Imputation, infos(&self.imp)),
                group(AlgoType::Correlation, infos(&self.corr)),
            ],
            protocol: PROTOCOL_VERSION,
            version: LIST_VERSION,
        }
    }
}
