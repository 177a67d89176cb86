//! Deployed models (TDgpt 3.4's "dynamic models"): a JSON configuration in
//! `dynamic-model-dir` (`<name>.json`, or `<name>/<name>.json`) becomes a
//! forecast service under its file name, re-read on every `/list` and every
//! request, and `POST /deploy` / `POST /undeploy` add and remove them.
//!
//! A configuration is `{"algo", "best_params"?, "seasonal_order_s"?,
//! "freq"?, ...}`, as upstream's `service_registry.py` reads it. Served
//! natively: `arima` (fixed orders from `best_params` `p d q` and, with
//! `seasonal_order_s`, `P D Q`; exact-likelihood fit and intervals of the
//! native ARIMA), and `holtwinters` and `theta` with `best_params` as their
//! options (upstream raises "not implemented yet" for these two). `prophet`
//! and `deepar` need packages this anode does not ship and answer so; model
//! files (`model_path`, multipart `model_binary` pkl uploads) need the
//! Python workers' joblib and are refused with that reason. `freq` is
//! recorded, not used: the series is taken as regular, where upstream
//! resampled it with pandas' `asfreq`.
//!
//! `/deploy` checks, in upstream's order and words: a JSON body with
//! `model_name` and `config`; the name `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`
//! (no path can be formed from it); no deployed or built-in model of that
//! name; a configuration this anode can serve. The file is written to a
//! temporary name and renamed into place, so a crash leaves nothing half
//! written. `/undeploy` answers 404 for a name that is not deployed and
//! refuses built-in names. Answers are upstream's `{"status": "success",
//! "message"}` / `{"status": "error", "error"}` with its HTTP codes.
//!
//! May import: `error`, `options`, `protocol`, `algo`.

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
/// Largest configuration accepted by `/deploy`.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// The algorithms a configuration may name, and whether they are served.
const ALGOS: [(&str, Option<&str>); 5] = [
    ("arima", None),
    ("holtwinters", None),
    ("theta", None),
    ("prophet", Some("the prophet package")),
    ("deepar", Some("gluonts and PyTorch")),
];

/// A deployed model: its name, configuration and file.
#[derive(Debug, Clone)]
pub struct Deployed {
    pub name: String,
    pub algo: String,
    pub config: Value,
    pub path: PathBuf,
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
fn read(path: &Path, name: &str) -> std::result::Result<Deployed, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "failed to load dynamic model configuration, file: {}: {e}",
            path.display()
        )
    })?;
    let algo = check_config(&config).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(Deployed {
        name: name.to_owned(),
        algo,
        config,
        path: path.to_owned(),
    })
}

/// The algorithm of a configuration this anode can hold, or why not.
fn check_config(config: &Value) -> std::result::Result<String, String> {
    let Some(obj) = config.as_object() else {
        return Err("invalid config format, expected a JSON object".to_owned());
    };
    let Some(algo) = obj.get("algo").and_then(Value::as_str) else {
        return Err("missing 'algo' field in dynamic model configuration".to_owned());
    };
    let algo = algo.to_ascii_lowercase();
    if !ALGOS.iter().any(|(a, _)| *a == algo) {
        return Err(format!(
            "unsupported algorithm '{algo}' in dynamic model configuration"
        ));
    }
    if obj.get("model_path").is_some_and(|p| !p.is_null()) {
        return Err("model files (model_path) need the Python workers' joblib, which deployed models do not use yet".to_owned());
    }
    Ok(algo)
}

/// Every deployed model in `dir`, and a note per file that is skipped.
pub fn scan(dir: &Path) -> (Vec<Deployed>, Vec<String>) {
    let (mut found, mut notes) = (Vec::new(), Vec::new());
    let Ok(entries) = std::fs::read_dir(dir) else {
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
        match read(&file, &name) {
            Ok(d) => found.push(d),
            Err(e) => notes.push(e),
        }
    }
    (found, notes)
}

/// The deployed model `name` in `dir`, if any.
pub fn find(dir: &Path, name: &str) -> Option<Deployed> {
    if !valid_name(name) {
        return None;
    }
    [
        dir.join(format!("{name}.json")),
        dir.join(name).join(format!("{name}.json")),
    ]
    .iter()
    .find(|p| p.is_file())
    .and_then(|p| read(p, name).ok())
}

/// `/list` entries of the deployed models (forecasters), `builtins: false`.
pub fn list_entries(dir: &Path) -> Vec<AlgoInfo> {
    scan(dir)
        .0
        .iter()
        .map(|d| AlgoInfo {
            name: d.name.clone(),
            desc: format!("dynamic generated model training from {}", d.algo),
            params: d.config.get("best_params").cloned().unwrap_or(json!({})),
            status: Some("READY".to_owned()),
            builtins: Some(false),
        })
        .collect()
}

fn error(status: u16, msg: impl Into<String>) -> (u16, Value) {
    (status, json!({"status": "error", "error": msg.into()}))
}

/// `POST /deploy` with a JSON body `{model_name, config}`; `builtin` says
/// whether a name is taken by a built-in algorithm.
pub fn deploy(
    dir: &Path,
    body: &[u8],
    multipart: bool,
    builtin: impl Fn(&str) -> bool,
) -> (u16, Value) {
    if multipart {
        return error(
            400,
            "model_binary uploads need the Python workers' joblib, which deployed models do not use yet; deploy a configuration (JSON) instead",
        );
    }
    if body.len() > MAX_CONFIG_BYTES {
        return error(
            400,
            format!("configuration larger than {MAX_CONFIG_BYTES} bytes"),
        );
    }
    let payload: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(obj) = payload.as_object().filter(|o| !o.is_empty()) else {
        return error(400, "Missing payload in request");
    };
    let (Some(name), Some(config)) = (obj.get("model_name"), obj.get("config")) else {
        return error(
            400,
            "Missing required fields in request payload, required: model_name and config",
        );
    };
    let Some(name) = name.as_str().filter(|n| valid_name(n)) else {
        return error(400, "Invalid model_name in request payload");
    };
    if builtin(name) {
        return error(
            400,
            format!("Model with name {name} already exists (a built-in algorithm)"),
        );
    }
    // any file of that name counts, readable or not
    if dir.join(format!("{name}.json")).exists() || dir.join(name).exists() {
        return error(400, format!("Model with name {name} already exists"));
    }
    if let Err(e) = check_config(config) {
        return error(400, format!("Error deploying model {name}: {e}"));
    }
    if let Err(e) = write_atomically(dir, name, config) {
        return error(500, format!("Error saving model {name} configuration: {e}"));
    }
    (
        200,
        json!({"status": "success", "message": format!("Model {name} deployed successfully")}),
    )
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
pub fn undeploy(dir: &Path, body: &[u8], builtin: impl Fn(&str) -> bool) -> (u16, Value) {
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
    let Some(d) = find(dir, name) else {
        return error(404, format!("Model {name} not found"));
    };
    if let Err(e) = std::fs::remove_file(&d.path) {
        return error(500, format!("Error undeploying model {name}: {e}"));
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
        if let Some((_, Some(needs))) = ALGOS.iter().find(|(a, _)| *a == d.algo) {
            bail!(
                "deployed model {} runs {}, which needs {needs}; this anode does not ship it",
                d.name,
                d.algo
            );
        }
        let mut out = match d.algo.as_str() {
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

    #[test]
    fn deploy_list_serve_undeploy() {
        let dir = std::env::temp_dir().join(format!("anode-dyn-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let builtin = |n: &str| n == "arima";
        let body = json!({"model_name": "air", "config": {"algo": "arima",
            "best_params": {"p": 1, "d": 1, "q": 0, "P": 0, "D": 1, "Q": 0}, "seasonal_order_s": 12}});
        let (status, answer) = deploy(&dir, body.to_string().as_bytes(), false, builtin);
        assert_eq!(
            (status, answer["message"].clone()),
            (200, json!("Model air deployed successfully"))
        );
        let (status, answer) = deploy(&dir, body.to_string().as_bytes(), false, builtin);
        assert_eq!(
            (status, answer["error"].clone()),
            (400, json!("Model with name air already exists"))
        );
        let list = list_entries(&dir);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "air");
        assert_eq!(list[0].builtins, Some(false));
        // served: the classic airline model, a seasonal forecast
        let d = find(&dir, "air").unwrap();
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
        let (status, _) = undeploy(&dir, br#"{"model_name": "air"}"#, builtin);
        assert_eq!(status, 200);
        let (status, answer) = undeploy(&dir, br#"{"model_name": "air"}"#, builtin);
        assert_eq!(
            (status, answer["error"].clone()),
            (404, json!("Model air not found"))
        );
        // no stray temporary files
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn refusals() {
        let dir = std::env::temp_dir().join(format!("anode-dyn-r-{}", std::process::id()));
        let builtin = |n: &str| n == "arima";
        let err = |body: &str| {
            let (s, a) = deploy(&dir, body.as_bytes(), false, builtin);
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
        let (s, a) = deploy(&dir, b"{}", true, builtin);
        assert_eq!(s, 400);
        assert!(
            a["error"]
                .as_str()
                .unwrap()
                .starts_with("model_binary uploads need")
        );
        let (s, a) = undeploy(&dir, br#"{"model_name": "arima"}"#, builtin);
        assert_eq!(
            (s, a["error"].clone()),
            (
                400,
                json!("try to unregister built-in model:'arima', operation not allowed")
            )
        );
        assert!(!dir.exists(), "nothing was written");
    }
}
