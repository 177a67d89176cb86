//! Python algorithms: TDgpt plugins and our own, run in supervised worker
//! processes that embed CPython in the virtual environment.
//!
//! # Layout
//!
//! - [`frame`]: the byte frames between the anode and a worker (a JSON header
//!   plus raw little-endian arrays).
//! - [`supervisor`]: the pool of worker processes: start-up, dispatch,
//!   timeouts, memory limits, crash detection and respawning.
//! - `worker` (feature `python`): the worker process itself, the `anode
//!   python-worker` sub-command. It initialises CPython with a PEP 587
//!   `PyConfig` whose `executable` is the venv's interpreter, imports
//!   `python/anode_bridge.py` and serves frames on its stdin/stdout.
//!
//! Why processes and not threads: a Python algorithm may hold the GIL for
//! seconds, crash the interpreter (a C extension's segfault, `os._exit`),
//! loop forever or eat memory. In its own process any of that costs one
//! request and one respawn; the HTTP service and the native algorithms never
//! notice.
//!
//! May import: `algo`, `config`, `protocol`.

pub mod frame;
pub mod supervisor;
#[cfg(feature = "python")]
pub mod worker;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::protocol::AlgoType;

/// One run of a Python algorithm.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PyCall {
    pub algo: String,
    /// The option string's keys (strings) plus, for forecasts, the control
    /// values upstream's framework added (`rows`, `start_ts`, ...).
    pub params: Map<String, Value>,
    pub values: Vec<f64>,
    pub ts: Vec<i64>,
    /// A deployed model's run or check (`dynamic::Deployed::python_header`
    /// plus the input's shape): `values` then holds the data columns row by
    /// row.
    pub dynamic: Option<Value>,
}

/// A worker's answer: its header fields and its buffers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PyReply {
    pub header: Map<String, Value>,
    pub buffers: Vec<Vec<u8>>,
}

impl PyReply {
    pub fn f64s(&self, i: usize) -> Option<Vec<f64>> {
        self.buffers.get(i).and_then(|b| frame::bytes_f64(b))
    }

    pub fn i64s(&self, i: usize) -> Option<Vec<i64>> {
        self.buffers.get(i).and_then(|b| frame::bytes_i64(b))
    }
}

/// A Python algorithm as a worker announces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PyAlgorithm {
    #[serde(rename = "type")]
    pub algo_type: String,
    pub name: String,
    #[serde(default)]
    pub desc: String,
    #[serde(default)]
    pub params: Value,
    #[serde(default)]
    pub status: String,
    /// False for users' plugin files.
    #[serde(default)]
    pub builtins: bool,
}

impl PyAlgorithm {
    pub fn kind(&self) -> Option<AlgoType> {
        match self.algo_type.as_str() {
            "anomaly-detection" => Some(AlgoType::AnomalyDetection),
            "forecast" => Some(AlgoType::Forecast),
            _ => None,
        }
    }
}

/// A plugin file or class the worker could not load, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub file: String,
    pub error: String,
}

/// The first frame of a worker: its interpreter and what it can run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hello {
    pub python: String,
    pub prefix: String,
    pub numpy: Option<String>,
    pub algorithms: Vec<PyAlgorithm>,
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

/// A `model=` value must stay inside `model-dir`. This is the lexical half
/// of the rule, checked before any worker sees the request; the bridge's
/// `resolve_model_path` also refuses symlinks that lead out.
pub fn check_model_name(name: &str) -> Result<(), String> {
    let bad = name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name.split('/').any(|part| part == "..");
    if bad {
        return Err(format!(
            "invalid model name '{name}': model= must name a model inside model-dir, without absolute paths or '..'"
        ));
    }
    Ok(())
}

/// Starts the worker pool and registers its algorithms in `registry`.
/// Without a usable venv the anode still serves its native algorithms; the
/// log says why the Python ones are absent.
pub async fn start(
    registry: &mut crate::algo::Registry,
    spec: supervisor::Spec,
) -> Option<supervisor::PyPool> {
    let workers = spec.workers;
    match supervisor::PyPool::start(spec).await {
        Ok((pool, hello)) => {
            for s in &hello.skipped {
                tracing::warn!(target: "anode::python", "plugin {} skipped: {}", s.file, s.error);
            }
            let mut names = Vec::new();
            for a in hello.algorithms {
                let Some(kind) = a.kind() else { continue };
                let info = crate::protocol::AlgoInfo {
                    desc: a.desc,
                    name: a.name.clone(),
                    params: a.params,
                    status: Some(if a.status.is_empty() {
                        "READY".to_owned()
                    } else {
                        a.status
                    }),
                    builtins: Some(a.builtins),
                };
                if registry.add_python(kind, info) {
                    names.push(a.name);
                }
            }
            tracing::info!(
                target: "anode::python",
                prefix = %hello.prefix,
                python = %hello.python,
                numpy = %hello.numpy.as_deref().unwrap_or("not installed"),
                workers,
                "Python algorithms: {}",
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            );
            Some(pool)
        }
        Err(e) => {
            tracing::warn!(target: "anode::python", "Python algorithms are not available: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        assert!(check_model_name("sample-ad-autoencoder").is_ok());
        assert!(check_model_name("v2/model").is_ok());
        for bad in [
            "../etc/passwd",
            "/etc/passwd",
            "a/../../b",
            "..",
            "a\\..\\b",
        ] {
            let e = check_model_name(bad).unwrap_err();
            assert!(e.starts_with(&format!("invalid model name '{bad}'")), "{e}");
        }
    }
}
