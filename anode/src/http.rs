//! The HTTP edge: routes, limits, the worker-pool hand-off, access logs.
//!
//! `/`, `/status`, `/list` and `/models` answer from bytes prepared at
//! start-up (taosd gives GETs 100 ms). An analysis request is read under the
//! body limit, then parsed, computed and serialised on the [`Pool`] of
//! `workers` threads — never on an async worker — under the request
//! timeout. Every failure is JSON: handled errors are HTTP 200 with
//! `rows: -1` (taosd reads only the body); unknown paths, wrong methods and
//! oversized bodies keep their HTTP status but still carry a JSON body.
//!
//! May import: `algo`, `config`, `dynamic`, `models`, `net`, `pool`, `protocol`, `python`,
//! `service`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde_json::Value;

use crate::algo::Registry;
use crate::config::Config;
use crate::pool::{JobError, Pool, panic_text};
use crate::protocol::{BANNER, PROTOCOL_VERSION, StatusResponse};
use crate::python::supervisor::PyPool;
use crate::service::{Endpoint, Step, error_body, to_json};

/// Shared state of the server.
pub struct AppState {
    registry: Arc<Registry>,
    list: Bytes,
    status: Bytes,
    models: Bytes,
    pool: Pool,
    /// The Python workers, when a venv was usable at start-up.
    python: Option<PyPool>,
    timeout: Duration,
    max_body: usize,
    net: crate::net::NetLimits,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("registry", &self.registry)
            .field("timeout", &self.timeout)
            .field("max_body", &self.max_body)
            .finish()
    }
}

impl AppState {
    pub fn new(registry: Registry, config: &Config) -> Self {
        AppState {
            list: Bytes::from(to_json(&registry.list())),
            status: Bytes::from(to_json(&StatusResponse {
                protocol: PROTOCOL_VERSION,
                status: "ready".to_owned(),
            })),
            models: Bytes::from(to_json(&crate::models::scan(&config.model_dir))),
            registry: Arc::new(registry),
            pool: Pool::new(config.workers, "anode-worker"),
            python: None,
            timeout: config.request_timeout,
            max_body: config.max_body_bytes,
            net: config.net,
        }
    }
}

impl AppState {
    /// The `/list` answer, with the deployed models as they are now (upstream
    /// re-syncs its dynamic models on every `/list`).
    fn list_now(&self) -> Bytes {
        let Some(dirs) = crate::dynamic::Dirs::of(&self.registry) else {
            return self.list.clone();
        };
        let deployed = crate::dynamic::list_entries(&dirs);
        if deployed.is_empty() {
            return self.list.clone();
        }
        let mut list = self.registry.list();
        for (kind, info) in deployed {
            // `regression` and `classification` appear only with a model of
            // theirs: taosd refuses a /list with a type it does not know
            let kind = kind.list_type();
            match list.details.iter_mut().find(|g| g.algo_type == kind) {
                Some(group) => group.algo.push(info),
                None => list.details.push(crate::protocol::AlgoGroup {
                    algo: vec![info],
                    algo_type: kind.to_owned(),
                }),
            }
        }
        Bytes::from(to_json(&list))
    }

    /// Algorithms served, native and Python.
    pub fn algorithm_count(&self) -> usize {
        self.registry.names().count() + self.registry.python_count()
    }

    /// Serves the Python algorithms of `registry` with these workers.
    pub fn with_python(mut self, python: Option<PyPool>) -> Self {
        self.python = python;
        self
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(banner))
        .route("/status", get(|State(s): State<Arc<AppState>>| async move { json(StatusCode::OK, s.status.clone()) }))
        .route("/list", get(|State(s): State<Arc<AppState>>| async move { json(StatusCode::OK, s.list_now()) }))
        .route("/models", get(|State(s): State<Arc<AppState>>| async move { json(StatusCode::OK, s.models.clone()) }))
        .route("/anomaly-detect", analysis_route(Endpoint::AnomalyDetect))
        .route("/forecast", analysis_route(Endpoint::Forecast))
        .route("/imputation", analysis_route(Endpoint::Imputation))
        .route("/correlation", analysis_route(Endpoint::Correlation))
        .route("/api/v1/analysis/pearsonr", analysis_route(Endpoint::Pearsonr))
        .route("/api/v1/analysis/profile-search", analysis_route(Endpoint::ProfileSearch))
        .route("/api/v1/analysis/batch", analysis_route(Endpoint::Batch))
        .route("/tool/batch", analysis_route(Endpoint::Batch))
        .route("/regression", analysis_route(Endpoint::Regression))
        .route("/classification", analysis_route(Endpoint::Classification))
        .route("/deploy", post(deploy))
        .route("/undeploy", post(undeploy))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

fn json(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The anode's error shape for the HTTP layer ([`crate::net`]).
fn http_error_body(_: StatusCode, msg: &str) -> Vec<u8> {
    error_body(msg)
}

fn json_error(status: StatusCode, msg: &str) -> Response {
    json(status, error_body(msg))
}

async fn banner() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        BANNER,
    )
        .into_response()
}

async fn not_found(uri: Uri) -> Response {
    json_error(StatusCode::NOT_FOUND, &format!("not found: {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    json_error(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method {method} is not allowed for {}", uri.path()),
    )
}

fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic_text(&*err);
    tracing::error!(%detail, "handler panicked");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("internal error: {detail}"),
    )
}

/// `POST` of one analysis endpoint.
fn analysis_route(endpoint: Endpoint) -> MethodRouter<Arc<AppState>> {
    post(move |State(s): State<Arc<AppState>>, h: HeaderMap, b: Body| analysis(s, endpoint, h, b))
}

/// `POST /deploy` and `POST /undeploy` (TDgpt 3.4): their answers and
/// status codes are upstream's (`{"status", "message" | "error"}`).
async fn deploy(State(s): State<Arc<AppState>>, h: HeaderMap, b: Body) -> Response {
    model_admin(s, h, b, true).await
}

async fn undeploy(State(s): State<Arc<AppState>>, h: HeaderMap, b: Body) -> Response {
    model_admin(s, h, b, false).await
}

async fn model_admin(
    state: Arc<AppState>,
    headers: HeaderMap,
    body: Body,
    deploying: bool,
) -> Response {
    let path = if deploying { "/deploy" } else { "/undeploy" };
    let answer = |code: u16, body: Value| {
        tracing::info!(target: "anode::access", path, code, ok = code == 200);
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        json(status, to_json(&body))
    };
    let refuse = |code: u16, msg: &str| {
        let (code, body) = crate::dynamic::error(code, msg);
        answer(code, body)
    };
    let Some(dirs) = crate::dynamic::Dirs::of(&state.registry) else {
        return refuse(404, "deployed models are not enabled");
    };
    let bytes = match crate::net::read_body(body, state.max_body, state.net.body_timeout).await {
        Ok(b) => b,
        Err(e) => return refuse(e.status().as_u16(), &e.to_string()),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let registry = state.registry.clone();
    let builtin = move |n: &str| registry.has(n);
    if !deploying {
        let work = state
            .pool
            .run(move || crate::dynamic::undeploy(&dirs, &bytes, builtin));
        return match work.await {
            Ok((code, body)) => answer(code, body),
            Err(_) => refuse(500, "internal error"),
        };
    }
    let plan_dirs = dirs.clone();
    let plan = state
        .pool
        .run(move || crate::dynamic::plan(&plan_dirs, &bytes, &content_type, builtin))
        .await;
    let plan = match plan {
        Ok(Ok(plan)) => plan,
        Ok(Err((code, body))) => return answer(code, body),
        Err(_) => return refuse(500, "internal error"),
    };
    if plan.needs_check() {
        // a Python worker loads the pkl and checks it before it is kept
        let verdict = match &state.python {
            None => Err(
                "model files are loaded by the Python workers, which are not running".to_owned(),
            ),
            Some(py) => {
                let call = crate::python::PyCall {
                    algo: plan.name.clone(),
                    dynamic: Some(plan.deployed.python_header("check")),
                    ..Default::default()
                };
                let deadline = tokio::time::Instant::now() + state.timeout;
                py.call(call, deadline).await.map(|_| ())
            }
        };
        if let Err(why) = verdict {
            let work = state.pool.run(move || crate::dynamic::refuse(plan, &why));
            return match work.await {
                Ok((code, body)) => answer(code, body),
                Err(_) => refuse(500, "internal error"),
            };
        }
    }
    match state
        .pool
        .run(move || crate::dynamic::commit(&dirs, plan))
        .await
    {
        Ok((code, body)) => answer(code, body),
        Err(_) => refuse(500, "internal error"),
    }
}

/// `application/json` or any `*/*+json`, parameters ignored (Flask's
/// `request.is_json`).
fn is_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

async fn analysis(
    state: Arc<AppState>,
    endpoint: Endpoint,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let path = endpoint.path();
    if !is_json(&headers) {
        tracing::info!(target: "anode::access", path, ok = false, "rejected: not a JSON request");
        return json_error(StatusCode::OK, "invalid request format");
    }
    let bytes = match crate::net::read_body(body, state.max_body, state.net.body_timeout).await {
        Ok(b) => b,
        Err(e) => {
            tracing::info!(target: "anode::access", path, ok = false, "rejected body: {e}");
            return json_error(e.status(), &e.to_string());
        }
    };

    let registry = state.registry.clone();
    let deadline = tokio::time::Instant::from(started + state.timeout);
    let work = state.pool.run(move || endpoint.step(&registry, &bytes));
    let mut result = tokio::time::timeout_at(deadline, work).await;
    if let Ok(Ok(Step::Python(mut job))) = result {
        // The Python run has its own deadline inside the pool, which names
        // the cause when it passes; shaping the answer goes back to the pool.
        // the input moves to the worker; `finish` needs only the rest
        let call = std::mem::take(&mut job.call);
        let reply = match &state.python {
            Some(py) => py.call(call, deadline).await,
            None => Err("the Python workers are not running".to_owned()),
        };
        let finish = state.pool.run(move || Step::Done(job.finish(reply)));
        result = tokio::time::timeout_at(deadline + Duration::from_secs(1), finish).await;
    }
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    let result = result.map(|r| {
        r.map(|step| match step {
            Step::Done(outcome) => outcome,
            Step::Python(job) => job.finish(Err("internal error: unfinished Python step".into())),
        })
    });
    match result {
        Ok(Ok(outcome)) => {
            let algo = outcome.algo.clone().unwrap_or_default();
            let rows = outcome.rows;
            match &outcome.body {
                Ok(_) => {
                    tracing::info!(target: "anode::access", path, %algo, rows, elapsed_ms, ok = true)
                }
                Err(e) => {
                    tracing::info!(target: "anode::access", path, %algo, rows, elapsed_ms, ok = false, msg = %e)
                }
            }
            json(StatusCode::OK, outcome.into_bytes())
        }
        Ok(Err(err)) => {
            let detail = match err {
                JobError::Panicked(text) => text,
                JobError::Closed => "the service is shutting down".to_owned(),
            };
            tracing::error!(target: "anode::access", path, elapsed_ms, ok = false, %detail, "no result");
            json_error(
                StatusCode::OK,
                &format!("internal error while processing {path}: {detail}"),
            )
        }
        Err(_) => {
            tracing::warn!(target: "anode::access", path, elapsed_ms, ok = false, "timed out");
            json_error(
                StatusCode::OK,
                &format!("request timed out after {}", human_duration(state.timeout)),
            )
        }
    }
}

/// `1200 s`, `2.5 s`, `1 ms`.
fn human_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{} s", d.as_secs_f64())
    }
}

/// The whole service state: the native algorithms, and the Python ones
/// when `worker` is given: the executable that runs `python-worker` (the
/// `anode` binary), started in the venv of `config`. The `anode` binary
/// and the tsdb's embedded anode are both built here.
pub async fn build_state(config: &Config, worker: Option<std::path::PathBuf>) -> Arc<AppState> {
    let mut registry = Registry::native();
    registry.dynamic_dir = Some(config.dynamic_dir());
    registry.model_dir = Some(config.model_dir.clone());
    if let Some(dirs) = crate::dynamic::Dirs::of(&registry) {
        let swept = crate::dynamic::sweep_temporaries(&dirs);
        if swept > 0 {
            tracing::warn!(
                "removed {swept} temporary files of interrupted deploys from {}",
                dirs.dynamic.display()
            );
        }
    }
    for model in crate::algo::fc::tsfm::Tsfm::all(
        |name| config.tsfm_services.get(name).cloned(),
        config.request_timeout,
    ) {
        registry.add_forecaster(Box::new(model));
    }
    // `moment` only with a configured server: it would otherwise become
    // IMPUTATION's default (taosd's) and fail where `linear` works
    if let Some(url) = config.tsfm_services.get("moment") {
        registry.add_imputer(Box::new(crate::algo::imputation::moment::Moment {
            url: url.clone(),
            timeout: config.request_timeout,
        }));
    }
    let python = match worker {
        Some(exe) => {
            let native = registry.names().map(|n| n.1.to_owned()).collect();
            let spec = crate::python::supervisor::Spec::from_config(config, exe, native);
            crate::python::start(&mut registry, spec).await
        }
        None => None,
    };
    Arc::new(AppState::new(registry, config).with_python(python))
}

/// Serves until `shutdown` resolves, then finishes the requests in flight.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.net;
    crate::net::serve(listener, router(state), limits, http_error_body, shutdown).await
}
