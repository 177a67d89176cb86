//! The anodes a database knows, as a service: [`Analytics`] picks the anode
//! of a call (spread over the healthy anodes offering the algorithm, fail
//! over when one does not answer), keeps their health and validates
//! `/list`; [`client`] is the HTTP toward anodes with taosd's error
//! mapping. The anodes and their algorithm lists are part of the catalog
//! ([`crate::catalog::Anode`]): they survive restarts, as in taosd, and are
//! refreshed by `UPDATE ANODE`. Health is not persisted: it is what the
//! last call or background check saw.
//!
//! The engine holds one [`Analytics`]; the analysis functions
//! ([`crate::analytics`]) use it. May import: `catalog`, `error`.

pub mod client;

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::Value as Json;

use crate::catalog::{Anode, AnodeAlgo};
use crate::error::{DbError, Result, code};
use client::{CallError, Client};

/// `TSDB_ANALYTIC_ANODE_URL_LEN`.
pub const URL_LEN: usize = 128;
/// `TSDB_ANALYTIC_ALGO_NAME_LEN`.
pub const ALGO_NAME_LEN: usize = 64;
/// `ANALY_DEFAULT_TIMEOUT`, seconds.
pub const DEFAULT_TIMEOUT_SECS: i64 = 60;
/// `ANALY_MAX_TIMEOUT`, seconds.
pub const MAX_TIMEOUT_SECS: i64 = 1200;
/// GET `/list` (CREATE / UPDATE ANODE). taosd waits 100 ms, which fails
/// against any anode that is busy for a moment; we wait longer.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(5);
/// GET `/status` (SHOW ANODES, background checks).
pub const STATUS_TIMEOUT: Duration = Duration::from_secs(1);

/// Algorithm families in taosd's enum order, which is the order of
/// `SHOW ANODES FULL`: (type string of `/list`, POST route). The last two
/// are TDgpt 3.4's deployed scikit-learn models: an anode lists them only
/// while such a model is deployed; no SQL function calls them, but CREATE
/// ANODE must not refuse the anode for them and SHOW ANODES FULL shows them.
pub const ALGO_TYPES: [(&str, &str); 6] = [
    ("anomaly-detection", "anomaly-detect"),
    ("forecast", "forecast"),
    ("imputation", "imputation"),
    ("correlation", "correlation"),
    ("regression", "regression"),
    ("classification", "classification"),
];

/// The route that serves an algorithm type.
pub fn route_of(kind: &str) -> &'static str {
    ALGO_TYPES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("forecast", |(_, r)| r)
}

/// Anodes' health and the HTTP client: shared by every statement.
#[derive(Debug, Default)]
pub struct Analytics {
    client: Client,
    /// Anodes whose last call or check failed to reach them.
    down: Mutex<HashSet<u32>>,
    /// Round-robin position over the healthy anodes of an algorithm.
    turn: AtomicUsize,
    /// `[analytics] default-forecast-algo`; `None`: [`DEFAULT_FORECAST_ALGO`].
    default_forecast: Mutex<Option<String>>,
}

/// The algorithm of a FORECAST without `algo=`: our anodes' `auto`, which
/// needs no options and beats the seasonal-naive forecast where
/// `holtwinters` does not (docs/forecasting.md).
pub const DEFAULT_FORECAST_ALGO: &str = "auto";
/// TDengine's default, used when no anode offers the configured one (a
/// TDgpt anode has no `auto`).
pub const TDENGINE_FORECAST_ALGO: &str = "holtwinters";

impl Analytics {
    pub fn set_default_forecast_algo(&self, algo: &str) {
        *self.default_forecast.lock().expect("default lock") = Some(algo.to_owned());
    }

    /// The algorithm of a FORECAST without `algo=`: the configured one if
    /// some anode offers it, else TDengine's `holtwinters`.
    pub fn default_forecast_algo<'a>(&self, anodes: impl Iterator<Item = &'a Anode>) -> String {
        let want = self
            .default_forecast
            .lock()
            .expect("default lock")
            .clone()
            .unwrap_or_else(|| DEFAULT_FORECAST_ALGO.to_owned());
        let mut anodes = anodes;
        if anodes.any(|a| {
            a.algos
                .iter()
                .any(|x| x.kind == "forecast" && x.name.eq_ignore_ascii_case(&want))
        }) {
            want
        } else {
            TDENGINE_FORECAST_ALGO.to_owned()
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn is_down(&self, id: u32) -> bool {
        self.down.lock().expect("health lock").contains(&id)
    }

    fn mark(&self, id: u32, up: bool) {
        let mut down = self.down.lock().expect("health lock");
        let changed = if up {
            down.remove(&id)
        } else {
            down.insert(id)
        };
        if changed {
            if up {
                tracing::info!(anode = id, "anode answers again");
            } else {
                tracing::warn!(anode = id, "anode does not answer");
            }
        }
    }

    /// GET `/list` and its algorithms, checked as mnode checks them.
    pub fn fetch_list(&self, url: &str) -> Result<Vec<AnodeAlgo>> {
        let list = self
            .client
            .get(url, "list", LIST_TIMEOUT)
            .map_err(CallError::into_db)?;
        parse_list(&list)
    }

    /// `status` of `SHOW ANODES`: what `/status` says, `offline` when it
    /// does not answer. Records the health it saw.
    pub fn status(&self, id: u32, url: &str) -> String {
        match self.client.get(url, "status", STATUS_TIMEOUT) {
            Ok(j) => {
                self.mark(id, true);
                match j.get("status").and_then(Json::as_str) {
                    Some(s) if !s.is_empty() => s.chars().take(10).collect(),
                    _ => "offline".into(),
                }
            }
            Err(CallError::Unreachable(_)) => {
                self.mark(id, false);
                "offline".into()
            }
            Err(CallError::Answer(_)) => {
                self.mark(id, true);
                "offline".into()
            }
        }
    }

    /// The statuses of several anodes, asked in parallel.
    pub fn statuses(&self, anodes: &[(u32, String)]) -> Vec<String> {
        std::thread::scope(|s| {
            let handles: Vec<_> = anodes
                .iter()
                .map(|(id, url)| s.spawn(move || self.status(*id, url)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| "offline".into()))
                .collect()
        })
    }

    /// The background check: asks every anode for `/status` so a dead one
    /// is skipped before a user's query has to find out.
    pub fn check(&self, anodes: &[(u32, String)]) {
        let _ = self.statuses(anodes);
    }

    /// POSTs `body` to `route` of one of `candidates` (id, url), which all
    /// offer the algorithm. Healthy anodes take turns; an anode that does not
    /// answer is marked down and the next one is tried, the ones marked down
    /// last (they may be back). An anode that answers with an error is not
    /// retried elsewhere: the same input would fail the same way.
    pub fn call(
        &self,
        candidates: &[(u32, String)],
        route: &str,
        body: &Json,
        timeout: Duration,
    ) -> Result<Json> {
        let body = serde_json::to_vec(body).expect("JSON of values");
        type Anodes<'a> = Vec<&'a (u32, String)>;
        let (mut up, down): (Anodes<'_>, Anodes<'_>) =
            candidates.iter().partition(|(id, _)| !self.is_down(*id));
        if !up.is_empty() {
            let k = self.turn.fetch_add(1, Ordering::Relaxed) % up.len();
            up.rotate_left(k);
        }
        let mut last = None;
        for (id, url) in up.into_iter().chain(down) {
            match self.client.post(url, route, body.clone(), timeout) {
                Ok(answer) => {
                    self.mark(*id, true);
                    if let Some(e) = client::refused(&answer) {
                        return Err(e);
                    }
                    return Ok(answer);
                }
                Err(CallError::Answer(e)) => {
                    self.mark(*id, true);
                    return Err(e);
                }
                Err(CallError::Unreachable(e)) => {
                    tracing::warn!(anode = id, error = %e, "trying the next anode");
                    self.mark(*id, false);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            DbError::new(code::ANA_ALGO_NOT_LOAD, "Analysis algorithm not loaded")
        }))
    }
}

/// The anodes offering `kind:algo` (algo lower-cased), highest id first,
/// or 0x80000443 when none does.
pub fn candidates<'a>(
    anodes: impl Iterator<Item = &'a Anode>,
    kind: &str,
    algo: &str,
) -> Result<Vec<(u32, String)>> {
    let mut found: Vec<(u32, String)> = anodes
        .filter(|a| {
            a.algos
                .iter()
                .any(|x| x.kind == kind && x.name.eq_ignore_ascii_case(algo))
        })
        .map(|a| (a.id, a.url.clone()))
        .collect();
    found.sort_by_key(|a| std::cmp::Reverse(a.0));
    if found.is_empty() {
        return Err(DbError::new(
            code::ANA_ALGO_NOT_LOAD,
            format!("Analysis algorithm not loaded: no anode offers {kind} algorithm {algo}"),
        ));
    }
    Ok(found)
}

/// `/list` → algorithms, with mnode's checks (analytics-sql §1.3).
pub fn parse_list(list: &Json) -> Result<Vec<AnodeAlgo>> {
    let protocol = list.get("protocol").and_then(Json::as_f64).unwrap_or(0.0);
    let p = (protocol * 1000.0) as i64;
    if p != 100 && p != 1000 {
        return Err(DbError::new(
            code::ANODE_INVALID_PROTOCOL,
            format!("Anode invalid protocol: {protocol} (expected 0.1 or 1.0)"),
        ));
    }
    let version = list.get("version").and_then(Json::as_f64).unwrap_or(0.0);
    if version <= 0.0 {
        return Err(DbError::new(
            code::ANODE_INVALID_VERSION,
            format!("Anode invalid version: {version}"),
        ));
    }
    let Some(details) = list.get("details").and_then(Json::as_array) else {
        return Err(DbError::new(
            code::ANODE_INVALID_PROTOCOL,
            "Anode invalid protocol: /list has no details array",
        ));
    };
    let mut out = Vec::new();
    for group in details {
        let kind = group.get("type").and_then(Json::as_str).unwrap_or("");
        let Some((kind, _)) = ALGO_TYPES
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
        else {
            return Err(DbError::new(
                code::ANODE_INVALID_ALGO_TYPE,
                format!("Anode invalid algorithm type: {kind:?}"),
            ));
        };
        for a in group
            .get("algo")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = a.get("name").and_then(Json::as_str) else {
                continue;
            };
            if name.len() > ALGO_NAME_LEN {
                return Err(DbError::new(
                    code::ANODE_TOO_LONG_ALGO_NAME,
                    format!("Anode too long algorithm name: {name}"),
                ));
            }
            out.push(AnodeAlgo {
                kind: (*kind).to_owned(),
                name: name.to_owned(),
                status: a
                    .get("status")
                    .and_then(Json::as_str)
                    .unwrap_or("READY")
                    .to_owned(),
                note: a
                    .get("desc")
                    .and_then(Json::as_str)
                    .unwrap_or("")
                    .chars()
                    .take(256)
                    .collect(),
            });
        }
    }
    // SHOW ANODES FULL order: type enum, then as listed
    out.sort_by_key(|a| ALGO_TYPES.iter().position(|(k, _)| *k == a.kind));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_checks() {
        let ok = json!({"protocol": 1.0, "version": 0.1, "details": [
            {"type": "forecast", "algo": [{"name": "holtwinters", "desc": "HW"}]},
            {"type": "classification", "algo": [{"name": "tree"}]},
            {"type": "anomaly-detection", "algo": [{"name": "iqr"}, {"name": "ksigma"}]}]});
        let algos = parse_list(&ok).unwrap();
        let names: Vec<_> = algos
            .iter()
            .map(|a| (a.kind.as_str(), a.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("anomaly-detection", "iqr"),
                ("anomaly-detection", "ksigma"),
                ("forecast", "holtwinters"),
                ("classification", "tree")
            ]
        );
        assert_eq!(algos[2].note, "HW");
        let code_of = |j: Json| parse_list(&j).unwrap_err().code;
        assert_eq!(
            code_of(json!({"protocol": 2.0, "version": 0.1, "details": []})),
            code::ANODE_INVALID_PROTOCOL
        );
        assert_eq!(
            code_of(json!({"protocol": 0.1, "version": 0, "details": []})),
            code::ANODE_INVALID_VERSION
        );
        assert_eq!(
            code_of(
                json!({"protocol": 1, "version": 1, "details": [{"type": "magic", "algo": []}]})
            ),
            code::ANODE_INVALID_ALGO_TYPE
        );
        let long = "x".repeat(65);
        assert_eq!(
            code_of(
                json!({"protocol": 1, "version": 1, "details": [{"type": "forecast", "algo": [{"name": long}]}]})
            ),
            code::ANODE_TOO_LONG_ALGO_NAME
        );
    }

    #[test]
    fn candidates_highest_id_first() {
        let a = |id: u32, names: &[&str]| Anode {
            id,
            url: format!("h:{id}"),
            created: 0,
            updated: 0,
            algos: names
                .iter()
                .map(|n| AnodeAlgo {
                    kind: "forecast".into(),
                    name: (*n).into(),
                    status: "READY".into(),
                    note: String::new(),
                })
                .collect(),
        };
        let list = [
            a(1, &["holtwinters"]),
            a(2, &["arima"]),
            a(3, &["HoltWinters"]),
        ];
        let c = candidates(list.iter(), "forecast", "holtwinters").unwrap();
        assert_eq!(c.iter().map(|x| x.0).collect::<Vec<_>>(), [3, 1]);
        let e = candidates(list.iter(), "anomaly-detection", "holtwinters").unwrap_err();
        assert_eq!(e.code, code::ANA_ALGO_NOT_LOAD);
    }
}
