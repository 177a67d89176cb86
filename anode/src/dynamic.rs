//! Deployed models (TDgpt 3.4's "dynamic models"): a JSON configuration in
//! `dynamic-model-dir` (`<name>.json`, or `<name>/<name>.json`) becomes a
//! service under its file name, re-read on every `/list` and every request,
//! and `POST /deploy` / `POST /undeploy` add and remove them.
//!
//! A configuration is `{"algo", "best_params"?, "model_path"?,
//! "seasonal_order_s"?, "freq"?, ...}`, as upstream's `service_registry.py`
//! reads it. What each `algo` is and how it runs ([`ALGOS`]):
//!
//! - forecast, native: `arima` (fixed orders from `best_params` `p d q` and,
//!   with `seasonal_order_s`, `P D Q`; the native ARIMA's exact-likelihood
//!   fit and intervals), `holtwinters` and `theta` (`best_params` as their
//!   options; upstream raises "not implemented yet" for these two);
//! - forecast in the Python workers: `prophet` and `deepar` (PyTorch
//!   weights from `model_path` or `pytorch/weights.pt` beside the
//!   configuration, as upstream finds them) when the venv has prophet, or
//!   gluonts and torch (not in our requirements); else a clear message;
//! - anomaly detection in the Python workers: `iforest` (a scikit-learn
//!   pkl, window or point mode; or built from `best_params` and fitted on the
//!   request's data) and `svm` (a OneClassSVM pkl);
//! - regression (`POST /regression`): `linear`, `lasso`, `ridge`,
//!   `elasticnet`, `polynomial`, `svr` (`linear_regression` and
//!   `polynomial_regression` are accepted for the first and fifth);
//! - classification (`POST /classification`): `logistic_regression`,
//!   `decision_tree`.
//!
//! Model files are scikit-learn estimators saved with joblib: the estimator,
//! or `{"model": estimator, "pipeline": {...}}` (upstream's
//! `model_loader.py`). Loading a pkl runs code from it, so `model_path`
//! must lie inside `model-dir` or `dynamic-model-dir` (upstream takes any
//! path), and `/deploy` is an administrator's operation: keep the anode on
//! 127.0.0.1 (its default) or behind a proxy that guards `/deploy`.
//!
//! `/deploy` checks, in upstream's order and words: a JSON body with
//! `model_name` and `config` (or a multipart body whose `config` field
//! holds that JSON with `model_name` inside, as upstream's multipart form
//! has it, and a `model_binary` file); the name
//! `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$` (no path can be formed from it); no
//! deployed or built-in model of that name; a configuration this anode can
//! serve; a pkl that loads, has `.predict` and is the estimator its `algo`
//! needs (checked by a Python worker before anything is kept). Files are
//! written to temporary names and renamed into place, the pkl before the
//! configuration, so a crash leaves nothing half written and no
//! configuration without its model (its temporary files are swept at the
//! next start). `/undeploy` answers 404 for a name that
//! is not deployed, refuses built-in names and removes the pkl with the
//! configuration. Answers are upstream's `{"status": "success", "message"}`
//! / `{"status": "error", "error"}` with its HTTP codes.
//!
//! May import: `error`, `multipart`, `options`, `protocol`, `algo`.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::algo::fc::{arima, autoarima, holtwinters, theta};
use crate::algo::{Describe, FcInput, FcOutput, Forecaster};
use crate::bail;
use crate::error::Result;
use crate::options::Options;
use crate::protocol::AlgoInfo;

/// Longest model name (upstream's pattern allows 128 characters).
pub const MAX_NAME_LEN: usize = 128;
/// Largest configuration accepted by `/deploy` (a model file may be as
/// large as the server's body limit, `max-body`).
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// What a deployed model does: the `/list` group it appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Forecast,
    Anomaly,
    Regression,
    Classification,
}

impl Kind {
    /// Its `type` in `/list`.
    pub fn list_type(self) -> &'static str {
        match self {
            Kind::Forecast => "forecast",
            Kind::Anomaly => "anomaly-detection",
            Kind::Regression => "regression",
            Kind::Classification => "classification",
        }
    }
}

/// Where a deployed algorithm runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// On the native algorithms.
    Native,
    /// In a Python worker; `pkl` says whether a model file is needed.
    Python { pkl: Pkl },
}

/// Whether an algorithm needs a model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pkl {
    Never,
    Optional,
    Required,
    /// PyTorch weights (`deepar`): `model_path`, or `pytorch/weights.pt`
    /// beside the configuration; read by the worker when it runs, never
    /// uploaded or vetted with joblib.
    Weights,
}

/// One algorithm a configuration may name.
#[derive(Debug, Clone, Copy)]
pub struct Algo {
    pub name: &'static str,
    pub kind: Kind,
    pub runs: Runs,
}

const fn algo(name: &'static str, kind: Kind, runs: Runs) -> Algo {
    Algo { name, kind, runs }
}

const PKL_ONLY: Runs = Runs::Python { pkl: Pkl::Required };

/// Every algorithm a configuration may name (upstream's
/// `handlers/dynamic/*`). The Python bridge knows the estimator class each
/// pkl must hold.
pub const ALGOS: [Algo; 15] = [
    algo("arima", Kind::Forecast, Runs::Native),
    algo("holtwinters", Kind::Forecast, Runs::Native),
    algo("theta", Kind::Forecast, Runs::Native),
    algo("prophet", Kind::Forecast, Runs::Python { pkl: Pkl::Never }),
    algo("deepar", Kind::Forecast, Runs::Python { pkl: Pkl::Weights }),
    algo(
        "iforest",
        Kind::Anomaly,
        Runs::Python { pkl: Pkl::Optional },
    ),
    algo("svm", Kind::Anomaly, PKL_ONLY),
    algo("linear", Kind::Regression, PKL_ONLY),
    algo("lasso", Kind::Regression, PKL_ONLY),
    algo("ridge", Kind::Regression, PKL_ONLY),
    algo("elasticnet", Kind::Regression, PKL_ONLY),
    algo("polynomial", Kind::Regression, PKL_ONLY),
    algo("svr", Kind::Regression, PKL_ONLY),
    algo("logistic_regression", Kind::Classification, PKL_ONLY),
    algo("decision_tree", Kind::Classification, PKL_ONLY),
];

/// The table entry of a configuration's `algo` (case and `-`/`_` as
/// upstream compares them; the long regression names as the issue's).
pub fn lookup(algo: &str) -> Option<&'static Algo> {
    let norm = algo.to_ascii_lowercase().replace('-', "_");
    let norm = match norm.as_str() {
        "linear_regression" => "linear",
        "polynomial_regression" => "polynomial",
        other => other,
    };
    ALGOS.iter().find(|a| a.name == norm)
}

/// The directories a model may come from.
#[derive(Debug, Clone)]
pub struct Dirs {
    /// `dynamic-model-dir`: configurations and uploaded pkl files.
    pub dynamic: PathBuf,
    /// `model-dir`: a `model_path` may also point in here.
    pub models: PathBuf,
}

impl Dirs {
    /// The registry's directories, when deployed models are enabled.
    pub fn of(reg: &crate::algo::Registry) -> Option<Dirs> {
        let dynamic = reg.dynamic_dir.clone()?;
        let models = reg.model_dir.clone().unwrap_or_else(|| dynamic.clone());
        Some(Dirs { dynamic, models })
    }

    /// A configuration's `model_path`, relative ones against the dynamic
    /// directory, or why it cannot be used.
    fn model_path(&self, raw: &str) -> std::result::Result<PathBuf, String> {
        let path = Path::new(raw);
        let path = if path.is_absolute() {
            path.to_owned()
        } else {
            self.dynamic.join(path)
        };
        let Ok(real) = path.canonicalize() else {
            return Err(format!("model pkl file not found at {}", path.display()));
        };
        let inside = [&self.dynamic, &self.models]
            .iter()
            .filter_map(|d| d.canonicalize().ok())
            .any(|d| real.starts_with(d));
        if !inside {
            return Err(format!(
                "model_path {} is outside model-dir and dynamic-model-dir",
                path.display()
            ));
        }
        Ok(real)
    }
}

/// A deployed model: its name, configuration and files.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub name: String,
    pub algo: &'static Algo,
    pub config: Value,
    /// The configuration file.
    pub path: PathBuf,
    /// The model file, resolved; `None` without `model_path`.
    pub model_path: Option<PathBuf>,
}

impl Deployed {
    /// What the Python bridge needs to run it (`op` `run` or `check`).
    pub fn python_header(&self, op: &str) -> Value {
        json!({
            "op": op,
            "name": self.name,
            "algo": self.algo.name,
            "config": self.config,
            "model_path": self.model_path.as_ref().map(|p| p.display().to_string()),
            "config_dir": self.path.parent().map(|p| p.display().to_string()),
        })
    }
}

/// upstream's `MODEL_NAME_PATTERN`, and never `.` or `..`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    first_ok
        && name.len() <= MAX_NAME_LEN
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Reads one configuration file.
fn read(dirs: &Dirs, path: &Path, name: &str) -> std::result::Result<Deployed, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "failed to load dynamic model configuration, file: {}: {e}",
            path.display()
        )
    })?;
    let (algo, model_path) =
        check_config(dirs, &config, false).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Deployed {
        name: name.to_owned(),
        algo,
        config,
        path: path.to_owned(),
        model_path,
    })
}

/// The algorithm and model file of a configuration this anode can hold, or
/// why not. `uploading`: a model file comes with the request.
fn check_config(
    dirs: &Dirs,
    config: &Value,
    uploading: bool,
) -> std::result::Result<(&'static Algo, Option<PathBuf>), String> {
    let Some(obj) = config.as_object() else {
        return Err("invalid config format, expected a JSON object".to_owned());
    };
    let Some(name) = obj.get("algo").and_then(Value::as_str) else {
        return Err("missing 'algo' field in dynamic model configuration".to_owned());
    };
    let Some(algo) = lookup(name) else {
        return Err(format!(
            "unsupported algorithm '{}' in dynamic model configuration",
            name.to_ascii_lowercase()
        ));
    };
    let raw_path = match obj.get("model_path") {
        None | Some(Value::Null) => None,
        Some(Value::String(p)) if !uploading => Some(p.as_str()),
        Some(Value::String(_)) => None, // the upload replaces it
        Some(_) => return Err("model_path must be a string".to_owned()),
    };
    let pkl = match algo.runs {
        Runs::Python { pkl } => pkl,
        Runs::Native => Pkl::Never,
    };
    let has_file = uploading || raw_path.is_some();
    match pkl {
        Pkl::Weights if uploading => Err(format!(
            "{} models take PyTorch weights (model_path, or pytorch/weights.pt beside the configuration), not a model_binary upload",
            algo.name
        )),
        Pkl::Never if has_file => Err(format!(
            "{} models are built from best_params; a model file is not used",
            algo.name
        )),
        Pkl::Required if !has_file => Err(format!(
            "{} models require model_path (pkl file); best_params not supported",
            algo.name
        )),
        _ => {
            let path = raw_path.map(|p| dirs.model_path(p)).transpose()?;
            Ok((algo, path))
        }
    }
}

/// Every deployed model in the dynamic directory, and a note per file that
/// is skipped.
pub fn scan(dirs: &Dirs) -> (Vec<Deployed>, Vec<String>) {
    let (mut found, mut notes) = (Vec::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir(&dirs.dynamic) else {
        return (found, notes);
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let (file, name) = if p.is_dir() {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            (p.join(format!("{name}.json")), name)
        } else if p.extension().is_some_and(|e| e == "json") {
            let name = p
                .file_stem()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned();
            (p.clone(), name)
        } else {
            continue;
        };
        if !file.is_file() || !valid_name(&name) {
            continue;
        }
        match read(dirs, &file, &name) {
            Ok(d) => found.push(d),
            Err(e) => notes.push(e),
        }
    }
    (found, notes)
}

/// Removes the temporary files a deploy interrupted by a crash left in the
/// dynamic directory (`.<name>...pkl.tmp`, `.<name>.json.tmp`): called at
/// start-up, when no deploy of this process can be in flight. Returns how
/// many went.
pub fn sweep_temporaries(dirs: &Dirs) -> usize {
    let Ok(entries) = std::fs::read_dir(&dirs.dynamic) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with('.') && (name.ends_with(".pkl.tmp") || name.ends_with(".json.tmp"))
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// The deployed model `name`, if any.
pub fn find(dirs: &Dirs, name: &str) -> Option<Deployed> {
    if !valid_name(name) {
        return None;
    }
    [
        dirs.dynamic.join(format!("{name}.json")),
        dirs.dynamic.join(name).join(format!("{name}.json")),
    ]
    .iter()
    .find(|p| p.is_file())
    .and_then(|p| read(dirs, p, name).ok())
}

/// `/list` entries of the deployed models, with their kinds;
/// `builtins: false`.
pub fn list_entries(dirs: &Dirs) -> Vec<(Kind, AlgoInfo)> {
    scan(dirs)
        .0
        .iter()
        .map(|d| {
            let info = AlgoInfo {
                name: d.name.clone(),
                desc: format!("dynamic generated model training from {}", d.algo.name),
                params: d.config.get("best_params").cloned().unwrap_or(json!({})),
                status: Some("READY".to_owned()),
                builtins: Some(false),
            };
            (d.algo.kind, info)
        })
        .collect()
}

/// An answer of `/deploy` or `/undeploy` that refuses: upstream's
/// `{"status": "error", "error"}` with its HTTP status.
pub fn error(status: u16, msg: impl Into<String>) -> (u16, Value) {
    (status, json!({"status": "error", "error": msg.into()}))
}

/// A `/deploy` request that passed every check but the model file's.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    /// The configuration to write (`model_path` set for an upload).
    pub config: Value,
    /// The model as it will be served once committed.
    pub deployed: Deployed,
    /// An uploaded model file, staged under a temporary name.
    pub staged: Option<PathBuf>,
}

impl Plan {
    /// Whether a Python worker must vet the model file before the commit.
    pub fn needs_check(&self) -> bool {
        let weights = self.deployed.algo.runs == Runs::Python { pkl: Pkl::Weights };
        self.deployed.model_path.is_some() && !weights
    }
}

/// The checks of `POST /deploy` up to the model file: a JSON body
/// `{model_name, config}`, or a multipart one (`content_type` carries its
/// boundary). An uploaded pkl is staged in the dynamic directory under a
/// temporary name; `builtin` says whether a name is taken by a built-in
/// algorithm.
pub fn plan(
    dirs: &Dirs,
    body: &[u8],
    content_type: &str,
    builtin: impl Fn(&str) -> bool,
) -> std::result::Result<Plan, (u16, Value)> {
    let (payload, upload) = if let Some(boundary) = crate::multipart::boundary(content_type) {
        let parts = crate::multipart::parse(body, &boundary).map_err(|e| error(400, e))?;
        let field = |n: &str| parts.iter().find(|p| p.name == n);
        let payload = match field("config") {
            None => Value::Null,
            Some(p) => serde_json::from_slice(&p.data)
                .map_err(|_| error(400, "Invalid config JSON in multipart request"))?,
        };
        if payload.is_object() && payload.get("model_name").is_none() {
            return Err(error(
                400,
                "Missing required fields in request payload, required: model_name and config",
            ));
        }
        // upstream's multipart form: `config` is the whole payload
        let payload = match payload {
            Value::Object(mut o) => {
                let name = o.remove("model_name").unwrap_or(Value::Null);
                json!({"model_name": name, "config": Value::Object(o)})
            }
            other => other,
        };
        (payload, field("model_binary").map(|p| p.data.clone()))
    } else {
        if body.len() > MAX_CONFIG_BYTES {
            return Err(error(
                400,
                format!("configuration larger than {MAX_CONFIG_BYTES} bytes"),
            ));
        }
        (serde_json::from_slice(body).unwrap_or(Value::Null), None)
    };
    let Some(obj) = payload.as_object().filter(|o| !o.is_empty()) else {
        return Err(error(400, "Missing payload in request"));
    };
    let (Some(name), Some(config)) = (obj.get("model_name"), obj.get("config")) else {
        return Err(error(
            400,
            "Missing required fields in request payload, required: model_name and config",
        ));
    };
    let Some(name) = name.as_str().filter(|n| valid_name(n)) else {
        return Err(error(400, "Invalid model_name in request payload"));
    };
    if builtin(name) {
        return Err(error(
            400,
            format!("Model with name {name} already exists (a built-in algorithm)"),
        ));
    }
    // any file of that name counts, readable or not
    let taken = |p: PathBuf| p.exists();
    if taken(dirs.dynamic.join(format!("{name}.json"))) || taken(dirs.dynamic.join(name)) {
        return Err(error(400, format!("Model with name {name} already exists")));
    }
    if upload.as_ref().is_some_and(Vec::is_empty) {
        return Err(error(
            400,
            "Invalid model pkl file: the model_binary file is empty",
        ));
    }
    let (algo, model_path) = check_config(dirs, config, upload.is_some())
        .map_err(|e| error(400, format!("Error deploying model {name}: {e}")))?;
    let mut config = config.clone();
    let (staged, model_path) = match upload {
        None => (None, model_path),
        Some(bytes) => {
            // unique: two uploads of one name must not share a file
            static STAGED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = STAGED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let staged = dirs
                .dynamic
                .join(format!(".{name}.{}.{n}.pkl.tmp", std::process::id()));
            let write = std::fs::create_dir_all(&dirs.dynamic)
                .and_then(|()| std::fs::write(&staged, &bytes));
            if let Err(e) = write {
                let _ = std::fs::remove_file(&staged);
                return Err(error(
                    500,
                    format!("Error saving model {name} pkl file: {e}"),
                ));
            }
            config["model_path"] = json!(format!("{name}.pkl"));
            (Some(staged.clone()), Some(staged))
        }
    };
    Ok(Plan {
        name: name.to_owned(),
        deployed: Deployed {
            name: name.to_owned(),
            algo,
            config: config.clone(),
            path: dirs.dynamic.join(format!("{name}.json")),
            model_path,
        },
        config,
        staged,
    })
}

/// Gives up a plan whose model file was refused: `why` is the checker's
/// message.
pub fn refuse(plan: Plan, why: &str) -> (u16, Value) {
    if let Some(staged) = &plan.staged {
        let _ = std::fs::remove_file(staged);
    }
    error(400, format!("Invalid model pkl file: {why}"))
}

/// Keeps a vetted plan: the pkl is renamed into place, then the
/// configuration is written through a temporary file and a rename.
pub fn commit(dirs: &Dirs, plan: Plan) -> (u16, Value) {
    // One commit at a time: two deploys of one name both pass `plan`'s
    // check; the second must find the first's configuration here, before it
    // renames its pkl over the first's.
    static COMMIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = COMMIT.lock().unwrap_or_else(|e| e.into_inner());
    let name = &plan.name;
    if dirs.dynamic.join(format!("{name}.json")).exists() {
        if let Some(staged) = &plan.staged {
            let _ = std::fs::remove_file(staged);
        }
        return error(400, format!("Model with name {name} already exists"));
    }
    if let Some(staged) = &plan.staged {
        let target = dirs.dynamic.join(format!("{name}.pkl"));
        if let Err(e) = std::fs::rename(staged, &target) {
            let _ = std::fs::remove_file(staged);
            return error(500, format!("Error saving model {name} pkl file: {e}"));
        }
    }
    if let Err(e) = write_atomically(&dirs.dynamic, name, &plan.config) {
        if plan.staged.is_some() {
            let _ = std::fs::remove_file(dirs.dynamic.join(format!("{name}.pkl")));
        }
        let status = if e.kind() == std::io::ErrorKind::AlreadyExists {
            400
        } else {
            500
        };
        return error(
            status,
            format!("Error saving model {name} configuration: {e}"),
        );
    }
    (
        200,
        json!({"status": "success", "message": format!("Model {name} deployed successfully")}),
    )
}

/// `POST /deploy` of a configuration without a model file to vet (tests,
/// and the server when no pkl is involved).
pub fn deploy(
    dirs: &Dirs,
    body: &[u8],
    content_type: &str,
    builtin: impl Fn(&str) -> bool,
) -> (u16, Value) {
    match plan(dirs, body, content_type, builtin) {
        Err(answer) => answer,
        Ok(p) if p.needs_check() => refuse(p, "model files are vetted by the Python workers"),
        Ok(p) => commit(dirs, p),
    }
}

/// Writes `<dir>/<name>.json` through a temporary file and a rename.
fn write_atomically(dir: &Path, name: &str, config: &Value) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{name}.json.tmp"));
    let text = serde_json::to_vec_pretty(config).expect("JSON of a value");
    std::fs::write(&tmp, text)?;
    // a second deploy of the same name racing this one: the first rename wins
    let target = dir.join(format!("{name}.json"));
    if target.exists() {
        let _ = std::fs::remove_file(&tmp);
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("Model with name {name} already exists"),
        ));
    }
    std::fs::rename(&tmp, &target)
}

/// `POST /undeploy` with `{model_name}`.
pub fn undeploy(dirs: &Dirs, body: &[u8], builtin: impl Fn(&str) -> bool) -> (u16, Value) {
    let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(obj) = payload.as_object().filter(|o| !o.is_empty()) else {
        return error(400, "Missing JSON payload in request");
    };
    let Some(name) = obj.get("model_name") else {
        return error(400, "Missing required field model_name in request payload");
    };
    let Some(name) = name.as_str().filter(|n| valid_name(n)) else {
        return error(400, "Invalid model_name in request payload");
    };
    if builtin(name) {
        return error(
            400,
            format!("try to unregister built-in model:'{name}', operation not allowed"),
        );
    }
    let Some(d) = find(dirs, name) else {
        return error(404, format!("Model {name} not found"));
    };
    if let Err(e) = std::fs::remove_file(&d.path) {
        return error(500, format!("Error undeploying model {name}: {e}"));
    }
    // the model file /deploy stored with it (a model_path elsewhere is the
    // user's and stays)
    let own = d.path.with_extension("pkl");
    if d.model_path.is_some() && d.model_path == own.canonicalize().ok() {
        let _ = std::fs::remove_file(own);
    }
    (
        200,
        json!({"status": "success", "message": format!("Model {name} undeployed successfully")}),
    )
}

/// The forecaster a deployed model runs.
pub struct DeployedForecaster(pub Deployed);

impl Describe for DeployedForecaster {
    fn name(&self) -> &'static str {
        "deployed"
    }
    fn desc(&self) -> &'static str {
        "a deployed model"
    }
}

impl Forecaster for DeployedForecaster {
    fn forecast(&self, input: FcInput<'_>, options: &Options) -> Result<FcOutput> {
        let d = &self.0;
        let params = d.config.get("best_params").cloned().unwrap_or(json!({}));
        match d.algo.runs {
            Runs::Native => {}
            Runs::Python { .. } => bail!(
                "deployed model {} runs {} in the Python workers",
                d.name,
                d.algo.name
            ),
        }
        let mut out = match d.algo.name {
            "arima" => {
                let int = |k: &str| params.get(k).and_then(Value::as_u64).map(|v| v as usize);
                let (Some(p), Some(dd), Some(q)) = (int("p"), int("d"), int("q")) else {
                    bail!("best_params missing p/d/q, cannot build ARIMA model");
                };
                let s = d
                    .config
                    .get("seasonal_order_s")
                    .and_then(Value::as_u64)
                    .unwrap_or(0) as usize;
                let (sp, sd, sq) = if s >= 2 {
                    let (Some(a), Some(b), Some(c)) = (int("P"), int("D"), int("Q")) else {
                        bail!("best_params missing P/D/Q, cannot build seasonal ARIMA model");
                    };
                    (a, b, c)
                } else {
                    (0, 0, 0)
                };
                if p + q + sp + sq > 20 || dd > 2 || sd > 1 {
                    bail!("best_params out of range: at most 20 AR and MA terms, d ≤ 2, D ≤ 1");
                }
                let order = arima::Order {
                    p,
                    d: dd,
                    q,
                    sp,
                    sd,
                    sq,
                    m: if s >= 2 { s } else { 1 },
                    // statsmodels' default trend: a constant only without differencing
                    constant: dd + sd == 0,
                };
                let Some(fit) = arima::fit(input.values, order, arima::Method::Ml, None)
                    .or_else(|| arima::fit(input.values, order, arima::Method::Css, None))
                else {
                    bail!(
                        "failed to fit {} to {} values",
                        order.sarimax(),
                        input.values.len()
                    );
                };
                autoarima::output(&fit, input)
            }
            algo => {
                // best_params as the algorithm's options
                let text: Vec<String> = params
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| match v {
                                Value::String(s) => format!("{k}={s}"),
                                other => format!("{k}={other}"),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                // the request's own options win over best_params
                let merged =
                    Options::parse(Some(&format!("{},{}", text.join(","), to_text(options))));
                let f: &dyn Forecaster = if algo == "theta" {
                    &theta::Theta
                } else {
                    &holtwinters::HoltWinters
                };
                f.forecast(input, &merged)?
            }
        };
        let mut fitted = out.fitted.take().unwrap_or_default();
        fitted.insert("deployed".into(), json!(d.name));
        fitted.insert("best_params".into(), params);
        out.fitted = Some(fitted);
        Ok(out)
    }
}

fn to_text(o: &Options) -> String {
    o.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_as_upstream_allows_them() {
        for ok in ["a", "m1", "arima_v2.1-b", &"x".repeat(128)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "_a",
            "a/b",
            "../x",
            "a b",
            &"x".repeat(129),
            "é",
        ] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    fn dirs(tag: &str) -> Dirs {
        let root = std::env::temp_dir().join(format!("anode-dyn-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        Dirs {
            dynamic: root.join("dynamic"),
            models: root,
        }
    }

    const JSON: &str = "application/json";

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn deploy_list_serve_undeploy() {
        let dirs = dirs("serve");
        let builtin = |n: &str| n == "arima";
        let body = json!({"model_name": "air", "config": {"algo": "arima",
            "best_params": {"p": 1, "d": 1, "q": 0, "P": 0, "D": 1, "Q": 0}, "seasonal_order_s": 12}});
        let (status, answer) = deploy(&dirs, body.to_string().as_bytes(), JSON, builtin);
        assert_eq!(
            (status, answer["message"].clone()),
            (200, json!("Model air deployed successfully"))
        );
        let (status, answer) = deploy(&dirs, body.to_string().as_bytes(), JSON, builtin);
        assert_eq!(
            (status, answer["error"].clone()),
            (400, json!("Model with name air already exists"))
        );
        let list = list_entries(&dirs);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].0, Kind::Forecast);
        assert_eq!(list[0].1.name, "air");
        assert_eq!(list[0].1.builtins, Some(false));
        // served: the classic airline model, a seasonal forecast
        let d = find(&dirs, "air").unwrap();
        let air = crate::algo::fc::holtwinters::tests::AIR;
        let out = DeployedForecaster(d)
            .forecast(
                crate::algo::fc::test_input(&air, 12, 12),
                &Options::default(),
            )
            .unwrap();
        assert_eq!(
            out.model_info.as_deref(),
            Some("SARIMAX(1, 1, 0)x(0, 1, 0, 12)")
        );
        assert!(out.value[6] > out.value[10], "{:?}", out.value);
        let (status, _) = undeploy(&dirs, br#"{"model_name": "air"}"#, builtin);
        assert_eq!(status, 200);
        let (status, answer) = undeploy(&dirs, br#"{"model_name": "air"}"#, builtin);
        assert_eq!(
            (status, answer["error"].clone()),
            (404, json!("Model air not found"))
        );
        // no stray temporary files
        assert_eq!(std::fs::read_dir(&dirs.dynamic).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(&dirs.models);
    }

    #[test]
    fn kinds_and_model_files() {
        let dirs = dirs("kinds");
        std::fs::create_dir_all(&dirs.dynamic).unwrap();
        std::fs::write(dirs.models.join("reg.pkl"), b"x").unwrap();
        let outside =
            std::env::temp_dir().join(format!("anode-outside-{}.pkl", std::process::id()));
        std::fs::write(&outside, b"x").unwrap();
        let check = |config: Value, uploading: bool| {
            check_config(&dirs, &config, uploading).map(|(a, p)| (a.name, a.kind, p.is_some()))
        };
        assert_eq!(
            check(
                json!({"algo": "Linear_Regression", "model_path": "../reg.pkl"}),
                false
            ),
            Ok(("linear", Kind::Regression, true))
        );
        assert_eq!(
            check(json!({"algo": "decision-tree"}), true),
            Ok(("decision_tree", Kind::Classification, false))
        );
        assert_eq!(
            check(
                json!({"algo": "iforest", "best_params": {"window_size": 10}}),
                false
            ),
            Ok(("iforest", Kind::Anomaly, false))
        );
        assert_eq!(
            check(json!({"algo": "deepar", "freq": "D"}), false),
            Ok(("deepar", Kind::Forecast, false))
        );
        assert!(
            check(json!({"algo": "deepar"}), true)
                .unwrap_err()
                .starts_with("deepar models take PyTorch weights")
        );
        assert_eq!(
            check(json!({"algo": "svm"}), false).unwrap_err(),
            "svm models require model_path (pkl file); best_params not supported"
        );
        assert_eq!(
            check(json!({"algo": "arima", "model_path": "../reg.pkl"}), false).unwrap_err(),
            "arima models are built from best_params; a model file is not used"
        );
        assert!(
            check(json!({"algo": "svr", "model_path": "nope.pkl"}), false)
                .unwrap_err()
                .starts_with("model pkl file not found at ")
        );
        assert!(
            check(
                json!({"algo": "svr", "model_path": outside.display().to_string()}),
                false
            )
            .unwrap_err()
            .ends_with("is outside model-dir and dynamic-model-dir")
        );
        assert_eq!(
            check(json!({"algo": "svr", "model_path": 3}), false).unwrap_err(),
            "model_path must be a string"
        );
        let _ = std::fs::remove_file(outside);
        let _ = std::fs::remove_dir_all(&dirs.models);
    }

    #[test]
    fn multipart_uploads_are_staged_and_vetted() {
        let dirs = dirs("upload");
        let ct = "multipart/form-data; boundary=B";
        let form = |config: &str, pkl: &[u8]| {
            let mut b = format!(
                "--B\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\n{config}\r\n--B\r\nContent-Disposition: form-data; name=\"model_binary\"; filename=\"m.pkl\"\r\n\r\n"
            )
            .into_bytes();
            b.extend_from_slice(pkl);
            b.extend_from_slice(b"\r\n--B--\r\n");
            b
        };
        let none = |_: &str| false;
        let body = form(r#"{"model_name": "r1", "algo": "ridge"}"#, b"PKL");
        let plan = plan(&dirs, &body, ct, none).unwrap();
        assert!(plan.needs_check());
        assert_eq!(
            plan.config,
            json!({"algo": "ridge", "model_path": "r1.pkl"})
        );
        assert!(plan.staged.as_ref().unwrap().is_file());
        // refused: the staged file goes, nothing is kept
        let (s, a) = refuse(plan, "no predict");
        assert_eq!(
            (s, a["error"].clone()),
            (400, json!("Invalid model pkl file: no predict"))
        );
        assert_eq!(std::fs::read_dir(&dirs.dynamic).unwrap().count(), 0);
        // accepted: pkl and configuration, then undeploy removes both; a
        // second upload of the name, planned before the first commits, is
        // refused at its commit and leaves no file
        let plan = super::plan(&dirs, &body, ct, none).unwrap();
        let rival = super::plan(&dirs, &body, ct, none).unwrap();
        assert_ne!(rival.staged, plan.staged);
        assert_eq!(commit(&dirs, plan).0, 200);
        let (s, a) = commit(&dirs, rival);
        assert_eq!(
            (s, a["error"].clone()),
            (400, json!("Model with name r1 already exists"))
        );
        let d = find(&dirs, "r1").unwrap();
        assert_eq!(
            d.model_path,
            dirs.dynamic.join("r1.pkl").canonicalize().ok()
        );
        assert_eq!(std::fs::read(dirs.dynamic.join("r1.pkl")).unwrap(), b"PKL");
        assert_eq!(undeploy(&dirs, br#"{"model_name": "r1"}"#, none).0, 200);
        assert_eq!(std::fs::read_dir(&dirs.dynamic).unwrap().count(), 0);
        // what a crash mid-deploy leaves is swept at the next start
        let left = super::plan(&dirs, &body, ct, none).unwrap();
        std::fs::write(dirs.dynamic.join(".r1.json.tmp"), b"{").unwrap();
        std::fs::write(dirs.dynamic.join("keep.json"), b"{}").unwrap();
        assert!(left.staged.as_ref().unwrap().is_file());
        assert_eq!(sweep_temporaries(&dirs), 2);
        assert_eq!(listing(&dirs.dynamic), ["keep.json"]);
        let err = |body: &[u8]| super::plan(&dirs, body, ct, none).unwrap_err().1["error"].clone();
        assert_eq!(
            err(&form("{oops", b"P")),
            json!("Invalid config JSON in multipart request")
        );
        assert_eq!(
            err(&form(r#"{"algo": "ridge"}"#, b"P")),
            json!("Missing required fields in request payload, required: model_name and config")
        );
        assert_eq!(
            err(&form(r#"{"model_name": "e", "algo": "ridge"}"#, b"")),
            json!("Invalid model pkl file: the model_binary file is empty")
        );
        assert_eq!(
            err(b"garbage"),
            json!("multipart body without its boundary")
        );
        let _ = std::fs::remove_dir_all(&dirs.models);
    }

    #[test]
    fn refusals() {
        let dirs = dirs("refuse");
        let builtin = |n: &str| n == "arima";
        let err = |body: &str| {
            let (s, a) = deploy(&dirs, body.as_bytes(), JSON, builtin);
            (s, a["error"].as_str().unwrap_or("").to_owned())
        };
        assert_eq!(err("{}").1, "Missing payload in request");
        assert_eq!(err("not json").1, "Missing payload in request");
        assert_eq!(
            err(r#"{"model_name": "x"}"#).1,
            "Missing required fields in request payload, required: model_name and config"
        );
        assert_eq!(
            err(r#"{"model_name": "../etc/passwd", "config": {"algo": "arima"}}"#).1,
            "Invalid model_name in request payload"
        );
        assert_eq!(
            err(r#"{"model_name": "arima", "config": {"algo": "arima"}}"#).1,
            "Model with name arima already exists (a built-in algorithm)"
        );
        assert_eq!(
            err(r#"{"model_name": "m", "config": {"algo": "lstm"}}"#).1,
            "Error deploying model m: unsupported algorithm 'lstm' in dynamic model configuration"
        );
        let (s, a) = undeploy(&dirs, br#"{"model_name": "arima"}"#, builtin);
        assert_eq!(
            (s, a["error"].clone()),
            (
                400,
                json!("try to unregister built-in model:'arima', operation not allowed")
            )
        );
        assert!(!dirs.models.exists(), "nothing was written");
    }
}
