//! The taosAdapter-compatible REST endpoint (spec B2): `POST /rest/sql`
//! and `/rest/sql/<db>` with the SQL text as the body and HTTP Basic auth;
//! answers in the 3.x JSON shape. SQL errors are HTTP 200 with
//! `{"code": <TDengine code>, "desc": ...}`; bad credentials are 401.
//! `GET /` and `/console/*` are the web console's files ([`crate::console`]).
//!
//! May import: `auth`, `config`, `console`, `error`, `limits`, `result`,
//! `schemaless`, `state`, `subscribe`, `types`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value as Json, json};

use crate::auth::{Sessions, Throttle};
use crate::error::{DbError, code};
use crate::limits::{Budgets, Cancel};
use crate::result::Output;
use crate::state::Engine;
use crate::types::{DataType, Precision, Value};

pub struct RestState {
    pub engine: Arc<Engine>,
    pub user: String,
    pub password: String,
    pub sessions: Sessions,
    pub throttle: Throttle,
    pub token_ttl: Duration,
    pub max_sql_bytes: usize,
    pub body_timeout: Duration,
    pub budgets: Budgets,
    /// Set when the server stops: running statements end at their next
    /// check instead of holding the stop up.
    pub stopping: Cancel,
}

impl RestState {
    /// The endpoint's state under `config`'s credentials and limits.
    pub fn new(engine: Arc<Engine>, config: &crate::config::Config) -> RestState {
        RestState {
            engine,
            user: config.user.clone(),
            password: config.password.clone(),
            sessions: Sessions::default(),
            throttle: Throttle::default(),
            token_ttl: config.token_ttl,
            max_sql_bytes: config.max_sql_bytes,
            body_timeout: config.net.body_timeout,
            budgets: config.budgets,
            stopping: Cancel::default(),
        }
    }
}

pub fn router(state: Arc<RestState>) -> Router {
    Router::new()
        .route("/rest/sql", post(sql_default))
        .route("/rest/sql/{db}", post(sql_db))
        .route("/rest/login/{user}/{password}", get(login))
        .route("/rest/subscribe/{topic}", post(consume).delete(unsubscribe))
        .route("/influxdb/v1/write", post(influx_write))
        .route("/", get(crate::console::index))
        .route("/console/{file}", get(crate::console::asset))
        .fallback(|uri: axum::http::Uri| async move {
            error(
                StatusCode::NOT_FOUND,
                404,
                &format!("not found: {}", uri.path()),
            )
        })
        .method_not_allowed_fallback(|m: axum::http::Method, uri: axum::http::Uri| async move {
            error(
                StatusCode::METHOD_NOT_ALLOWED,
                405,
                &format!("method {m} is not allowed for {}", uri.path()),
            )
        })
        .with_state(state)
}

/// The tsdb's error shape for the HTTP layer ([`anode::net`]): the HTTP
/// status is the code, as taosAdapter answers transport errors.
pub fn http_error_body(status: StatusCode, msg: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"code": status.as_u16(), "desc": msg})).unwrap_or_default()
}

fn error(status: StatusCode, code: u32, desc: &str) -> Response {
    (status, axum::Json(json!({"code": code, "desc": desc}))).into_response()
}

/// The caller's address (the accept loop records it; a router served
/// without it, as in a bench, counts every caller as one).
fn peer(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip())
}

/// Whether the request carries valid credentials: Basic user:password or
/// a live `Taosd` session token. Failures count against the caller.
fn authorized(state: &RestState, headers: &HeaderMap, ip: IpAddr) -> Result<(), Box<Response>> {
    verdict(state, ip, header_credentials(state, headers))
}

/// Whether the `Authorization` header holds Basic user:password or a live
/// `Taosd` session token.
fn header_credentials(state: &RestState, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            if let Some(b64) = v.strip_prefix("Basic ") {
                base64::engine::general_purpose::STANDARD
                    .decode(b64.trim())
                    .is_ok_and(|raw| raw == format!("{}:{}", state.user, state.password).as_bytes())
            } else if let Some(token) = v.strip_prefix("Taosd ") {
                state.sessions.check(token.trim())
            } else {
                false
            }
        })
}

/// The answer to a caller whose credentials were `ok` or not: refused
/// while its address is locked out, and a failure counts against it.
fn verdict(state: &RestState, ip: IpAddr, ok: bool) -> Result<(), Box<Response>> {
    if let Some(left) = state.throttle.locked(ip) {
        return Err(Box::new(locked_out(ip, left)));
    }
    if ok {
        Ok(())
    } else {
        state.throttle.failed(ip);
        Err(Box::new(unauthorized()))
    }
}

fn locked_out(ip: IpAddr, seconds_left: u64) -> Response {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        code::TOO_MANY_LOGINS,
        &format!(
            "too many failed logins from {ip}: try again in {seconds_left} s (at most {} failures per {} s)",
            crate::auth::MAX_FAILURES,
            crate::auth::FAILURE_WINDOW.as_secs()
        ),
    )
}

async fn login(
    State(s): State<Arc<RestState>>,
    Path((user, password)): Path<(String, String)>,
    req: Request,
) -> Response {
    let ip = peer(&req);
    if let Some(left) = s.throttle.locked(ip) {
        return locked_out(ip, left);
    }
    if user != s.user || password != s.password {
        s.throttle.failed(ip);
        return unauthorized();
    }
    s.throttle.succeeded(ip);
    match s.sessions.issue(s.token_ttl) {
        Ok(token) => axum::Json(json!({"code": 0, "desc": token})).into_response(),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            code::INTERNAL,
            &format!("cannot make a session token: {e}"),
        ),
    }
}

fn unauthorized() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        code::AUTH_FAILURE,
        "Authentication failure",
    )
}

async fn sql_default(State(s): State<Arc<RestState>>, req: Request) -> Response {
    run(s, None, req).await
}

async fn sql_db(State(s): State<Arc<RestState>>, Path(db): Path<String>, req: Request) -> Response {
    run(s, Some(db), req).await
}

/// The request's SQL text, once the caller is known; else the answer.
/// (When hyper hands over the body as one unshared buffer, that buffer
/// becomes the string: no second allocation for a large INSERT.)
async fn sql_text(s: &RestState, req: Request) -> Result<String, Box<Response>> {
    let ip = peer(&req);
    let (parts, body) = req.into_parts();
    authorized(s, &parts.headers, ip)?;
    let bytes = read(s, body).await?;
    String::from_utf8(Vec::from(bytes)).map_err(|_| {
        axum::Json(json!({"code": code::SYNTAX_ERROR, "desc": "the SQL text is not valid UTF-8"}))
            .into_response()
            .into()
    })
}

/// The body, at most `max-sql-bytes`, each part within `body-timeout`.
async fn read(s: &RestState, body: Body) -> Result<axum::body::Bytes, Box<Response>> {
    anode::net::read_body(body, s.max_sql_bytes, s.body_timeout)
        .await
        .map_err(|e| {
            let answer = match e {
                anode::net::BodyError::TooLarge(limit) => {
                    let err = crate::limits::sql_too_long(limit);
                    error(StatusCode::PAYLOAD_TOO_LARGE, err.code, &err.msg)
                }
                e => error(e.status(), u32::from(e.status().as_u16()), &e.to_string()),
            };
            Box::new(answer)
        })
}

/// Sets the statement's cancel flag when dropped before [`Self::done`]:
/// axum drops the handler's future when the client goes away.
struct ClientGone(Option<Cancel>);

impl ClientGone {
    fn done(mut self) {
        self.0 = None;
    }
}

impl Drop for ClientGone {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.client_left();
        }
    }
}

/// Runs one statement on a blocking thread under the server's budgets; it
/// stops early if the client leaves or the server stops.
async fn statement(
    s: &RestState,
    work: impl FnOnce() -> crate::error::Result<Output> + Send + 'static,
) -> crate::error::Result<Output> {
    let cancel = Cancel::default();
    let guard = ClientGone(Some(cancel.clone()));
    let budgets = s.budgets;
    let cancels = vec![cancel, s.stopping.clone()];
    let out =
        tokio::task::spawn_blocking(move || crate::limits::run_statement(budgets, cancels, work))
            .await;
    guard.done();
    match out {
        Ok(r) => r,
        Err(e) => Err(DbError::new(code::INTERNAL, format!("internal error: {e}"))),
    }
}

/// A result in the REST shape: the result set, or `{code, desc}`.
fn reply(out: &crate::error::Result<Output>) -> Response {
    match out {
        Ok(o) => {
            let mut r = Response::new(Body::from(to_json_bytes(o)));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => axum::Json(json!({"code": e.code, "desc": e.msg})).into_response(),
    }
}

async fn run(s: Arc<RestState>, db: Option<String>, req: Request) -> Response {
    let sql = match sql_text(&s, req).await {
        Ok(sql) => sql,
        Err(answer) => return *answer,
    };
    let engine = s.engine.clone();
    let started = std::time::Instant::now();
    let out = statement(&s, move || engine.execute(&sql, db.as_deref())).await;
    let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
    match &out {
        Ok(_) => tracing::debug!(target: "tsdb::rest", elapsed_ms, ok = true),
        Err(e) => {
            tracing::debug!(target: "tsdb::rest", elapsed_ms, ok = false, code = e.code, "{}", e.msg)
        }
    }
    reply(&out)
}

/// `POST /influxdb/v1/write?db=<db>[&precision=ns|u|ms|s|m|h]`, the body
/// InfluxDB line protocol ([`crate::schemaless`]), as taosAdapter answers
/// it: credentials as HTTP Basic, a session token, or taosAdapter's `u` and
/// `p` parameters; `204 No Content` when every line is written, `400` with
/// `{code, desc}` naming the line when one is not (nothing is written).
async fn influx_write(
    State(s): State<Arc<RestState>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
    req: Request,
) -> Response {
    let ip = peer(&req);
    let (parts, body) = req.into_parts();
    let ok = match (q.get("u"), q.get("p")) {
        (Some(u), Some(p)) => *u == s.user && *p == s.password,
        _ => header_credentials(&s, &parts.headers),
    };
    if let Err(answer) = verdict(&s, ip, ok) {
        return *answer;
    }
    let Some(db) = q.get("db").filter(|d| !d.is_empty()).cloned() else {
        return error(
            StatusCode::BAD_REQUEST,
            code::INVALID_VALUE,
            "the database is missing: /influxdb/v1/write?db=<database>",
        );
    };
    let precision =
        match crate::schemaless::RequestPrecision::parse(q.get("precision").map(String::as_str)) {
            Ok(p) => p,
            Err(e) => return error(StatusCode::BAD_REQUEST, e.code, &e.msg),
        };
    let bytes = match read(&s, body).await {
        Ok(b) => b,
        Err(answer) => return *answer,
    };
    let Ok(text) = String::from_utf8(Vec::from(bytes)) else {
        return error(
            StatusCode::BAD_REQUEST,
            code::INVALID_VALUE,
            "the line protocol is not valid UTF-8",
        );
    };
    let engine = s.engine.clone();
    let out = statement(&s, move || {
        crate::schemaless::write(&engine, &db, &text, precision).map(Output::Affected)
    })
    .await;
    match out {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(StatusCode::BAD_REQUEST, e.code, &e.msg),
    }
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
    req: Request,
) -> Response {
    let sql = match sql_text(&s, req).await {
        Ok(sql) => sql,
        Err(answer) => return *answer,
    };
    let engine = s.engine.clone();
    let restart = flag(&q, "restart");
    let db = q.get("db").cloned();
    reply(
        &statement(&s, move || {
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
    req: Request,
) -> Response {
    if let Err(answer) = authorized(&s, req.headers(), peer(&req)) {
        return *answer;
    }
    let engine = s.engine.clone();
    let keep = flag(&q, "keep");
    reply(
        &statement(&s, move || {
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

/// One cell's JSON, written straight into `out`: a large result is mostly
/// cells, and a `Json` value (with a formatted string for each timestamp)
/// per cell cost more than the query. The tests hold the `Json`-value
/// form this replaced, as the reference it must match byte for byte.
fn write_value(
    out: &mut Vec<u8>,
    v: &Value,
    ty: DataType,
    p: Precision,
    offsets: &mut crate::types::LocalOffsets,
) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Int(i) if ty == DataType::Timestamp => {
            out.push(b'"');
            crate::types::write_rfc3339(out, *i, p, offsets);
            out.push(b'"');
        }
        Value::Int(i) if ty == DataType::Bool => {
            out.extend_from_slice(if *i != 0 { b"true" } else { b"false" })
        }
        Value::Int(i) if matches!(ty, DataType::Float | DataType::Double) => {
            number(out, &(*i as f64))
        }
        Value::Int(i) => number(out, i),
        // a FLOAT as its shortest f32 form: 10.3, not 10.300000190734863;
        // a whole one as an integer (7, not 7.0), as the reference reads
        // f32's own text back
        Value::Double(d) if ty == DataType::Float && (*d as f32).is_finite() => {
            let f = *d as f32;
            let whole = f.fract() == 0.0 && !(f == 0.0 && f.is_sign_negative());
            if whole && f >= 0.0 && f64::from(f) < 18_446_744_073_709_551_616.0 {
                number(out, &(f as u64))
            } else if whole && f < 0.0 && f64::from(f) >= -9_223_372_036_854_775_808.0 {
                number(out, &(f as i64))
            } else {
                number(out, &f)
            }
        }
        Value::Double(d) if ty != DataType::Float && d.is_finite() => number(out, d),
        Value::Double(_) => out.extend_from_slice(b"null"),
        Value::Str(s) => {
            serde_json::to_writer(&mut *out, s.as_str()).ok();
        }
    }
}

/// A number as serde_json writes it (the shortest form that reads back).
fn number<T: serde::Serialize>(out: &mut Vec<u8>, x: &T) {
    serde_json::to_writer(&mut *out, x).ok();
}

/// A result in the taosAdapter JSON shape, written straight to bytes a
/// cell at a time: a result of millions of rows never exists as a tree of
/// JSON values (which cost several times the rows themselves).
pub fn to_json_bytes(o: &Output) -> Vec<u8> {
    let (columns, rows, precision) = match o {
        Output::Rows {
            columns,
            rows,
            precision,
        } => (columns, rows, precision),
        // DDL, INSERT and USE: taosAdapter's one-row `affected_rows` answer
        other => {
            let n = match other {
                Output::Affected(n) => *n,
                _ => 0,
            };
            let answer = json!({"code": 0, "column_meta": [["affected_rows", "INT", 4]], "data": [[n]], "rows": 1});
            return serde_json::to_vec(&answer).unwrap_or_default();
        }
    };
    let meta: Vec<Json> = columns
        .iter()
        .map(|c| json!([c.name, c.ty.name(), c.ty.len()]))
        .collect();
    // sized for the whole answer up front, by an estimate per column type
    let per_row: usize = 2 + columns
        .iter()
        .map(|c| match c.ty {
            DataType::Timestamp => 28,
            DataType::Bool => 6,
            DataType::Binary(n) | DataType::NChar(n) => 3 + (n as usize).min(32),
            _ => 14,
        })
        .sum::<usize>();
    let mut out = Vec::with_capacity(64 + rows.len() * per_row);
    out.extend_from_slice(b"{\"code\":0,\"column_meta\":");
    serde_json::to_writer(&mut out, &meta).ok();
    out.extend_from_slice(b",\"data\":[");
    let mut offsets = crate::types::LocalOffsets::default();
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'[');
        for (j, (v, c)) in r.iter().zip(columns).enumerate() {
            if j > 0 {
                out.push(b',');
            }
            write_value(&mut out, v, c.ty, *precision, &mut offsets);
        }
        out.push(b']');
    }
    out.extend_from_slice(format!("],\"rows\":{}}}", rows.len()).as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::ColMeta;
    use crate::types::format_rfc3339;

    /// The writer this module had: a cell as a `Json` value.
    fn value_json(v: &Value, ty: DataType, p: Precision) -> Json {
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

    /// The whole answer as a tree of `Json` values.
    fn to_json(o: &Output) -> Json {
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

    /// The direct writer says byte for byte what the `Json` route says.
    #[test]
    fn the_cell_writer_agrees_with_value_json() {
        let columns = vec![
            ColMeta::new("ts", DataType::Timestamp),
            ColMeta::new("f", DataType::Float),
            ColMeta::new("d", DataType::Double),
            ColMeta::new("i", DataType::BigInt),
            ColMeta::new("b", DataType::Bool),
            ColMeta::new("s", DataType::NChar(32)),
        ];
        let floats = [
            10.3,
            1e-7,
            3.4e38,
            1e300,
            -0.0,
            0.1,
            f64::NAN,
            f64::INFINITY,
            123456.789,
            5e-324,
        ];
        let mut rows = Vec::new();
        for (k, x) in floats.iter().enumerate() {
            rows.push(vec![
                Value::Int(1_538_548_685_000 + k as i64 * 1_234_567),
                Value::Double(*x),
                Value::Double(*x),
                Value::Int(i64::MIN + k as i64),
                Value::Int(k as i64 % 2),
                Value::Str(format!("\"q\"\\ \u{1} 北京 {k}")),
            ]);
        }
        rows.push(vec![
            Value::Null,
            Value::Int(7),
            Value::Int(-3),
            Value::Int(i64::MAX),
            Value::Bool(true),
            Value::Null,
        ]);
        for precision in [Precision::Ms, Precision::Us, Precision::Ns] {
            let o = Output::Rows {
                columns: columns.clone(),
                rows: rows.clone(),
                precision,
            };
            let direct = String::from_utf8(to_json_bytes(&o)).unwrap();
            let via_json = serde_json::to_string(&to_json(&o)).unwrap();
            assert_eq!(direct, via_json);
        }
    }
}
