//! HTTP toward anodes, with taosd's error mapping (analytics-sql §4.1).
//!
//! Blocking (reqwest's blocking client): statements run on blocking
//! threads (`spawn_blocking` under the server), never on the async ones.
//! The client is built on first use, so an engine that never talks to an
//! anode never starts reqwest's background thread.
//!
//! May import: `error`.

use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value as Json;

use crate::error::{DbError, code};

/// Connecting to an anode: a listener that does not accept within this is
/// down (the POST timeout covers the answer, not the connect).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Why a call failed: the anode did not answer (another anode may), or it
/// answered something we cannot use (another anode would not do better).
#[derive(Debug)]
pub enum CallError {
    Unreachable(DbError),
    Answer(DbError),
}

impl CallError {
    pub fn into_db(self) -> DbError {
        match self {
            CallError::Unreachable(e) | CallError::Answer(e) => e,
        }
    }
}

#[derive(Default)]
pub struct Client {
    http: OnceLock<Option<reqwest::blocking::Client>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Client")
    }
}

/// `<stored url>/<path>`; a URL without a scheme is `http://` (as libcurl
/// takes it).
pub fn endpoint(url: &str, path: &str) -> String {
    if url.contains("://") {
        format!("{url}/{path}")
    } else {
        format!("http://{url}/{path}")
    }
}

impl Client {
    fn http(&self) -> Result<&reqwest::blocking::Client, DbError> {
        self.http
            .get_or_init(|| {
                reqwest::blocking::Client::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    // anodes are addressed directly, as taosd does; a
                    // proxy from the environment would only get in between
                    .no_proxy()
                    .build()
                    .map_err(|e| tracing::error!(error = %e, "cannot build the HTTP client"))
                    .ok()
            })
            .as_ref()
            .ok_or_else(|| {
                DbError::new(
                    code::ANA_INTERNAL_ERROR,
                    "Analysis internal error, not processed: no HTTP client",
                )
            })
    }

    /// GET `<url>/<path>` (`list`, `status`).
    pub fn get(&self, url: &str, path: &str, timeout: Duration) -> Result<Json, CallError> {
        let target = endpoint(url, path);
        let http = self.http().map_err(CallError::Answer)?;
        let rsp = http.get(&target).timeout(timeout).send();
        read(&target, rsp)
    }

    /// POST a JSON body to `<url>/<route>`.
    pub fn post(
        &self,
        url: &str,
        route: &str,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Json, CallError> {
        let target = endpoint(url, route);
        let http = self.http().map_err(CallError::Answer)?;
        let rsp = http
            .post(&target)
            .header("Content-Type", "application/json;charset=UTF-8")
            .body(body)
            .timeout(timeout)
            .send();
        read(&target, rsp)
    }
}

fn unreachable(target: &str, e: &reqwest::Error) -> CallError {
    let why = if e.is_timeout() {
        "no answer in time".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        // the full chain: "error sending request ... connection closed"
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    };
    CallError::Unreachable(DbError::new(
        code::ANA_URL_CANT_ACCESS,
        format!("Analysis service can't access: {target}: {why}"),
    ))
}

fn read(
    target: &str,
    rsp: reqwest::Result<reqwest::blocking::Response>,
) -> Result<Json, CallError> {
    let rsp = rsp.map_err(|e| unreachable(target, &e))?;
    let status = rsp.status();
    let body = rsp.bytes().map_err(|e| unreachable(target, &e))?;
    parse_body(target, status.as_u16(), &body).map_err(CallError::Answer)
}

/// An anode's answer as JSON, or the error taosd gives for it.
pub fn parse_body(target: &str, status: u16, body: &[u8]) -> Result<Json, DbError> {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(DbError::new(
            code::ANA_URL_RSP_IS_NULL,
            format!(
                "Analysis service response is NULL: {target} answered HTTP {status} with no body"
            ),
        ));
    }
    if trimmed.starts_with('<') {
        return Err(DbError::new(
            code::ANA_ANODE_RETURN_ERROR,
            format!(
                "Analysis failed since anode return error: {target} answered HTTP {status} with an HTML page"
            ),
        ));
    }
    serde_json::from_str(trimmed).map_err(|_| {
        let head: String = trimmed.chars().take(60).collect();
        DbError::new(
            code::INVALID_JSON,
            format!("Invalid json format: {target} answered HTTP {status}: {head:?}"),
        )
    })
}

/// `{"rows": -1, "msg": ...}`: the anode refused. White noise has a code of
/// its own (0x80000447); the message is kept as the detail either way.
pub fn refused(answer: &Json) -> Option<DbError> {
    let rows = answer.get("rows").and_then(Json::as_i64);
    if rows.is_some_and(|r| r >= 0) {
        return None;
    }
    let msg = answer
        .get("msg")
        .and_then(Json::as_str)
        .unwrap_or("(no message)");
    if rows.is_none() && answer.get("msg").is_none() {
        return Some(DbError::new(
            code::ANA_ANODE_RETURN_ERROR,
            "Analysis failed since anode return error: the answer has no rows",
        ));
    }
    if msg.to_ascii_lowercase().contains("white noise") {
        return Some(DbError::new(code::ANA_WN_DATA, white_noise_text(msg)));
    }
    Some(DbError::new(
        code::ANA_ANODE_RETURN_ERROR,
        format!("Analysis failed since anode return error: {msg}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_map_to_taosd_codes() {
        let t = "http://h:1/forecast";
        assert_eq!(
            parse_body(t, 200, b"").unwrap_err().code,
            code::ANA_URL_RSP_IS_NULL
        );
        assert_eq!(
            parse_body(t, 502, b"<html>bad gateway</html>")
                .unwrap_err()
                .code,
            code::ANA_ANODE_RETURN_ERROR
        );
        let e = parse_body(t, 200, b"garbage!").unwrap_err();
        assert_eq!(e.code, code::INVALID_JSON);
        assert!(e.msg.contains("\"garbage!\""), "{}", e.msg);
        let ok = parse_body(t, 200, br#"{"rows": -1, "msg": "x"}"#).unwrap();
        let e = refused(&ok).unwrap();
        assert_eq!(e.code, code::ANA_ANODE_RETURN_ERROR);
        assert_eq!(e.msg, "Analysis failed since anode return error: x");
        let wn = serde_json::json!({"rows": -1, "msg": "input data is white noise"});
        assert_eq!(refused(&wn).unwrap().code, code::ANA_WN_DATA);
        assert!(refused(&serde_json::json!({"rows": 3})).is_none());
        assert_eq!(
            endpoint("127.0.0.1:6050", "list"),
            "http://127.0.0.1:6050/list"
        );
        assert_eq!(endpoint("http://a:1", "status"), "http://a:1/status");
    }
}

/// The refusal of white-noise input, said once with what to do: the
/// anode's usual message repeats the error's own name, so only an unusual
/// one is quoted.
pub fn white_noise_text(anode_msg: &str) -> String {
    let why = if anode_msg.eq_ignore_ascii_case("white noise data not processed") {
        String::new()
    } else {
        format!(" (the anode said: {anode_msg})")
    };
    format!(
        "white-noise data not processed: the input looks like random noise, with nothing to forecast or detect{why}; add wncheck=0 to the options to skip this check"
    )
}

#[cfg(test)]
mod white_noise_tests {
    #[test]
    fn says_it_once_with_the_way_out() {
        assert_eq!(
            super::white_noise_text("white noise data not processed"),
            "white-noise data not processed: the input looks like random noise, with nothing to forecast or detect; add wncheck=0 to the options to skip this check"
        );
        assert!(
            super::white_noise_text("white noise: p=0.9")
                .contains("(the anode said: white noise: p=0.9)")
        );
    }
}
