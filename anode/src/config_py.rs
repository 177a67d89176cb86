//! TDgpt 3.4.1's gunicorn-era configuration, `taosanode.config.py`, read
//! into the equivalent `taosanode.ini` text so that one parser checks both.
//!
//! The file is Python — upstream's computes paths with `os.path` and thread
//! counts with `multiprocessing` — so it is *run*, as gunicorn runs it:
//! `python3` (or `$TDGPT_PYTHON`) executes it with `runpy.run_path` and
//! prints the names we read as JSON. It is the operator's own configuration
//! file, which gunicorn executes in the same way; reading the assignments
//! without running them would get every computed value wrong.
//!
//! | config.py | taosanode.ini |
//! |---|---|
//! | `bind` | `[uwsgi] http` |
//! | `workers`, `threads` | `[uwsgi] processes`, `threads` (their product sizes the algorithm pool) |
//! | `timeout` | `[anode] request-timeout` (seconds) |
//! | `virtualenv` | `[uwsgi] virtualenv` |
//! | `app_log`, `model_dir`, `log_level`, `draw_result`, `dynamic_model_dir` | `[taosanode] app-log`, `model-dir`, `log-level`, `draw-result`, `dynamic-model-dir` |
//! | `models = {key: {port, endpoint, algo_name}}` | `[tsfm-service] <algo> = http://127.0.0.1:<port><endpoint>` |
//!
//! gunicorn's own settings (`worker_class`, `keepalive`, `accesslog`,
//! `pidfile`, ...) mean nothing here and are skipped.
//!
//! May import: nothing of the crate.

use std::path::Path;
use std::process::Command;

/// The names read from the file.
const NAMES: [&str; 11] = [
    "bind",
    "workers",
    "threads",
    "timeout",
    "virtualenv",
    "app_log",
    "model_dir",
    "log_level",
    "draw_result",
    "models",
    "dynamic_model_dir",
];

/// The model keys of upstream's `models` whose service is named otherwise.
const SERVICE_NAMES: [(&str, &str); 2] = [("tdtsfm", "tdtsfm_1"), ("timemoe", "timemoe-fc")];

/// The ini text equivalent to the config.py at `path`, and notes for the
/// log; an error says why the file could not be read.
pub fn to_ini(path: &Path) -> Result<(String, Vec<String>), String> {
    let python = std::env::var("TDGPT_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = format!(
        "import json, runpy, sys\n\
         ns = runpy.run_path(sys.argv[1])\n\
         names = {NAMES:?}\n\
         print(json.dumps({{k: ns[k] for k in names if k in ns}}, default=str))\n"
    );
    let out = Command::new(&python)
        .args(["-c", &script])
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run {python} to read it: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.trim().lines().last().unwrap_or("no message").to_owned();
        return Err(format!("running it with {python} failed: {last}"));
    }
    let values: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{python} printed no JSON: {e}"))?;
    Ok(translate(&values))
}

/// The ini text for the names `config.py` defined.
pub fn translate(v: &serde_json::Value) -> (String, Vec<String>) {
    use std::fmt::Write;
    let text = |key: &str| -> Option<String> {
        match v.get(key)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_owned()),
            // gunicorn takes `threads = cpu_count() / 4 + 1` as a float
            serde_json::Value::Number(n) => Some(match n.as_f64() {
                Some(f) if f.fract() != 0.0 => (f.floor() as i64).to_string(),
                _ => n.to_string(),
            }),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        }
    };
    let mut ini = String::new();
    let mut notes = Vec::new();
    let section = |name: &str, pairs: &[(&str, Option<String>)], ini: &mut String| {
        let present: Vec<_> = pairs
            .iter()
            .filter_map(|(k, v)| Some((k, v.as_ref()?)))
            .collect();
        if !present.is_empty() {
            let _ = writeln!(ini, "[{name}]");
            for (k, v) in present {
                let _ = writeln!(ini, "{k} = {v}");
            }
        }
    };
    section(
        "uwsgi",
        &[
            ("http", text("bind")),
            ("processes", text("workers")),
            ("threads", text("threads")),
            ("virtualenv", text("virtualenv")),
        ],
        &mut ini,
    );
    section(
        "taosanode",
        &[
            ("app-log", text("app_log")),
            ("model-dir", text("model_dir")),
            ("log-level", text("log_level")),
            ("draw-result", text("draw_result")),
            ("dynamic-model-dir", text("dynamic_model_dir")),
        ],
        &mut ini,
    );
    section("anode", &[("request-timeout", text("timeout"))], &mut ini);
    if let Some(models) = v.get("models").and_then(|m| m.as_object()) {
        let mut services = Vec::new();
        for (key, spec) in models {
            let (Some(port), Some(endpoint)) = (
                spec.get("port").and_then(|p| p.as_u64()),
                spec.get("endpoint").and_then(|e| e.as_str()),
            ) else {
                notes.push(format!("models[{key:?}] has no port and endpoint; skipped"));
                continue;
            };
            let name = SERVICE_NAMES
                .iter()
                .find(|(k, _)| k == key)
                .map_or(key.as_str(), |(_, n)| n);
            services.push((
                name.to_owned(),
                Some(format!("http://127.0.0.1:{port}{endpoint}")),
            ));
        }
        let pairs: Vec<(&str, Option<String>)> = services
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        section("tsfm-service", &pairs, &mut ini);
    }
    (ini, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn upstream_names_become_ini_keys() {
        let (ini, notes) = translate(&json!({
            "bind": "0.0.0.0:6035", "workers": 2, "threads": 2.5, "timeout": 1200,
            "app_log": "/var/log/taos/taosanode/taosanode.app.log", "log_level": "DEBUG",
            "draw_result": false, "model_dir": "/usr/local/taos/taosanode/model/",
            "models": {"tdtsfm": {"port": 6061, "endpoint": "/tdtsfm"},
                       "moirai": {"port": 6064, "endpoint": "/ds_predict"},
                       "broken": {"script": "x.py"}},
            "dynamic_model_dir": "/tmp/dyn",
        }));
        assert_eq!(
            ini,
            "[uwsgi]\nhttp = 0.0.0.0:6035\nprocesses = 2\nthreads = 2\n\
             [taosanode]\napp-log = /var/log/taos/taosanode/taosanode.app.log\n\
             model-dir = /usr/local/taos/taosanode/model/\nlog-level = DEBUG\ndraw-result = 0\n\
             dynamic-model-dir = /tmp/dyn\n\
             [anode]\nrequest-timeout = 1200\n\
             [tsfm-service]\nmoirai = http://127.0.0.1:6064/ds_predict\n\
             tdtsfm_1 = http://127.0.0.1:6061/tdtsfm\n"
        );
        assert_eq!(notes.len(), 1, "{notes:?}");
    }
}
