//! The taosAdapter-compatible REST endpoint (spec B2): `POST /rest/sql`
//! and `/rest/sql/<db>` with the SQL text as the body and HTTP Basic auth;
//! answers in the 3.x JSON shape. SQL errors are HTTP 200 with
//! `{"code": <TDengine code>, "desc": ...}`; bad credentials are 401.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value as Json, json};

use crate::engine::Engine;
use crate::error::{DbError, code};
use crate::result::Output;
use crate::types::{DataType, Precision, Value, format_rfc3339};

/// Largest SQL text accepted (TDengine 3.x: 1 MB; ours allows big batches).
pub const MAX_SQL_BYTES: usize = 64 << 20;

pub struct RestState {
    pub engine: Arc<Engine>,
    pub user: String,
    pub password: String,
}

pub fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/rest/sql", post(sql_default))
        .route("/rest/sql/{db}", post(sql_db))
        .route("/rest/login/{user}/{password}", get(login))
        .route("/rest/subscribe/{topic}", post(consume).delete(unsubscribe))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                axum::Json(json!({"code": 404, "desc": "not found"})),
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_SQL_BYTES))
        .with_state(state)
}

fn authorized(state: &RestState, headers: &HeaderMap) -> bool {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(b64) = v.strip_prefix("Basic ") {
        let Ok(raw) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        let expected = format!("{}:{}", state.user, state.password);
        return raw == expected.as_bytes();
    }
    if let Some(token) = v.strip_prefix("Taosd ") {
        return token.trim() == token_of(state);
    }
    false
}

/// The `Taosd` token `/rest/login` hands out.
fn token_of(state: &RestState) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", state.user, state.password))
}

async fn login(
    State(s): State<Arc<RestState>>,
    Path((user, password)): Path<(String, String)>,
) -> Response {
    if user == s.user && password == s.password {
        axum::Json(json!({"code": 0, "desc": token_of(&s)})).into_response()
    } else {
        unauthorized()
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        axum::Json(json!({"code": code::AUTH_FAILURE, "desc": "Authentication failure"})),
    )
        .into_response()
}

async fn sql_default(State(s): State<Arc<RestState>>, headers: HeaderMap, body: Bytes) -> Response {
    run(s, headers, None, body).await
}

async fn sql_db(
    State(s): State<Arc<RestState>>,
    Path(db): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    run(s, headers, Some(db), body).await
}

/// The request's SQL text, once the caller is known; else the answer.
/// (When hyper hands over the body as one unshared buffer, that buffer
/// becomes the string: no second allocation for a large INSERT.)
fn sql_text(s: &RestState, headers: &HeaderMap, body: Bytes) -> Result<String, Box<Response>> {
    if !authorized(s, headers) {
        return Err(Box::new(unauthorized()));
    }
    String::from_utf8(Vec::from(body)).map_err(|_| {
        axum::Json(json!({"code": code::SYNTAX_ERROR, "desc": "the SQL text is not valid UTF-8"}))
            .into_response()
            .into()
    })
}

/// Runs engine work on a blocking thread.
async fn blocking(
    work: impl FnOnce() -> crate::error::Result<Output> + Send + 'static,
) -> crate::error::Result<Output> {
    match tokio::task::spawn_blocking(work).await {
        Ok(r) => r,
        Err(e) => Err(DbError::new(code::INTERNAL, format!("internal error: {e}"))),
    }
}

/// A result in the REST shape: the result set, or `{code, desc}`.
fn reply(out: &crate::error::Result<Output>) -> Response {
    match out {
        Ok(o) => axum::Json(to_json(o)).into_response(),
        Err(e) => axum::Json(json!({"code": e.code, "desc": e.msg})).into_response(),
    }
}

async fn run(s: Arc<RestState>, headers: HeaderMap, db: Option<String>, body: Bytes) -> Response {
    let sql = match sql_text(&s, &headers, body) {
        Ok(sql) => sql,
        Err(answer) => return *answer,
    };
    let engine = s.engine.clone();
    let started = std::time::Instant::now();
    let out = blocking(move || engine.execute(&sql, db.as_deref())).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    match &out {
        Ok(_) => tracing::debug!(target: "tsdb::rest", elapsed_ms, ok = true),
        Err(e) => {
            tracing::debug!(target: "tsdb::rest", elapsed_ms, ok = false, code = e.code, "{}", e.msg)
        }
    }
    reply(&out)
}

/// A query parameter that is 1/true.
fn flag(q: &std::collections::HashMap<String, String>, key: &str) -> bool {
    q.get(key)
        .is_some_and(|v| matches!(v.as_str(), "1" | "true" | "yes"))
}

/// `POST /rest/subscribe/<topic>[?restart=1][&db=<db>]`, the SELECT as the
/// body: the rows the topic has not delivered yet (crate::subscribe).
async fn consume(
    State(s): State<Arc<RestState>>,
    Path(topic): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let sql = match sql_text(&s, &headers, body) {
        Ok(sql) => sql,
        Err(answer) => return *answer,
    };
    let engine = s.engine.clone();
    let restart = flag(&q, "restart");
    let db = q.get("db").cloned();
    reply(
        &blocking(move || {
            crate::subscribe::consume_topic(
                &engine,
                &engine.data_dir,
                &topic,
                sql.trim().trim_end_matches(';'),
                db.as_deref(),
                restart,
            )
        })
        .await,
    )
}

/// `DELETE /rest/subscribe/<topic>[?keep=1]`: without `keep` the topic's
/// progress is deleted.
async fn unsubscribe(
    State(s): State<Arc<RestState>>,
    Path(topic): Path<String>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !authorized(&s, &headers) {
        return unauthorized();
    }
    let engine = s.engine.clone();
    let keep = flag(&q, "keep");
    reply(
        &blocking(move || {
            if keep {
                crate::subscribe::check_topic(&topic)?;
            } else {
                crate::subscribe::forget(&engine.data_dir, &topic)?;
            }
            Ok(Output::Affected(0))
        })
        .await,
    )
}

/// A value as REST JSON.
pub fn value_json(v: &Value, ty: DataType, p: Precision) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) if ty == DataType::Timestamp => Json::String(format_rfc3339(*i, p)),
        Value::Int(i) if ty == DataType::Bool => Json::Bool(*i != 0),
        Value::Int(i) if matches!(ty, DataType::Float | DataType::Double) => json!(*i as f64),
        Value::Int(i) => json!(i),
        Value::Double(d) if ty == DataType::Float => {
            // print a FLOAT as its shortest f32 form: 10.3, not 10.300000190734863
            let f = *d as f32;
            if f.is_finite() {
                serde_json::from_str(&f.to_string()).unwrap_or(Json::Null)
            } else {
                Json::Null
            }
        }
        Value::Double(d) if d.is_finite() => json!(d),
        Value::Double(_) => Json::Null,
        Value::Str(s) => Json::String(s.clone()),
    }
}

pub fn to_json(o: &Output) -> Json {
    match o {
        Output::Rows {
            columns,
            rows,
            precision,
        } => {
            let meta: Vec<Json> = columns
                .iter()
                .map(|c| json!([c.name, c.ty.name(), c.ty.len()]))
                .collect();
            let data: Vec<Json> = rows
                .iter()
                .map(|r| {
                    Json::Array(
                        r.iter()
                            .zip(columns)
                            .map(|(v, c)| value_json(v, c.ty, *precision))
                            .collect(),
                    )
                })
                .collect();
            json!({"code": 0, "column_meta": meta, "data": data, "rows": rows.len()})
        }
        Output::Affected(n) => {
            json!({"code": 0, "column_meta": [["affected_rows", "INT", 4]], "data": [[n]], "rows": 1})
        }
        Output::UseDb(_) => {
            json!({"code": 0, "column_meta": [["affected_rows", "INT", 4]], "data": [[0]], "rows": 1})
        }
    }
}
