//! Anodes for tests: a fake one (fixed answers, and every way an anode can
//! fail) and our real one in process.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value as Json, json};

/// Our anode (native algorithms), served in process on a free port until
/// the runtime is dropped.
pub fn real_anode() -> (tokio::runtime::Runtime, SocketAddr) {
    real_anode_with(anode::config::Config::default())
}

/// Our anode with `config` (e.g. `tsfm_services` pointing at a
/// [`FakeModel`]).
pub fn real_anode_with(config: anode::config::Config) -> (tokio::runtime::Runtime, SocketAddr) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let state = rt.block_on(anode::http::build_state(&config, None));
    rt.spawn(anode::http::serve(listener, state, std::future::pending()));
    (rt, addr)
}

/// How the fake anode answers analysis POSTs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    Normal,
    Html,
    Garbage,
    Empty,
    Refuse,
    Slow,
    /// Reads the request and closes the connection without an answer.
    Die,
}

pub struct Fake {
    pub addr: String,
    mode: Arc<Mutex<Mode>>,
    pub list: Arc<Mutex<Json>>,
    /// Analysis POSTs answered or refused.
    pub hits: Arc<AtomicUsize>,
    pub last_body: Arc<Mutex<Json>>,
    stopped: Arc<AtomicBool>,
}

pub fn list_of(forecast: &[&str]) -> Json {
    json!({"protocol": 1.0, "version": 0.1, "details": [
        {"type": "anomaly-detection", "algo": [{"name": "iqr", "desc": "IQR"}, {"name": "ksigma"}]},
        {"type": "forecast", "algo": forecast.iter().map(|n| json!({"name": n})).collect::<Vec<_>>()},
        {"type": "imputation", "algo": [{"name": "linear"}]},
        {"type": "correlation", "algo": [{"name": "dtw"}, {"name": "tlcc"}]},
    ]})
}

impl Fake {
    pub fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let fake = Fake {
            addr: listener.local_addr().unwrap().to_string(),
            mode: Arc::new(Mutex::new(Mode::Normal)),
            list: Arc::new(Mutex::new(list_of(&["holtwinters", "moirai"]))),
            hits: Arc::default(),
            last_body: Arc::new(Mutex::new(Json::Null)),
            stopped: Arc::default(),
        };
        let (mode, list, hits, last, stopped) = (
            fake.mode.clone(),
            fake.list.clone(),
            fake.hits.clone(),
            fake.last_body.clone(),
            fake.stopped.clone(),
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                if stopped.load(Ordering::SeqCst) {
                    return; // the listener closes: connections are refused
                }
                let (mode, list, hits, last) = (
                    *mode.lock().unwrap(),
                    list.clone(),
                    hits.clone(),
                    last.clone(),
                );
                std::thread::spawn(move || serve(conn, mode, &list, &hits, &last));
            }
        });
        fake
    }

    pub fn set(&self, m: Mode) {
        *self.mode.lock().unwrap() = m;
    }

    /// Stops answering anything: the port refuses connections.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(&self.addr); // wakes the accept loop
    }
}

/// The path and body of one HTTP/1.1 request on `conn`.
fn read_request(conn: &TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let mut len = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    Some((path, body))
}

/// An HTTP/1.1 answer that closes the connection.
fn answer(status: &str, text: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    )
}

/// A foundation-model server (moirai's `/ds_predict`) for tests: records
/// the path and JSON body of every request and answers `reply`.
pub struct FakeModel {
    pub url: String,
    pub requests: Arc<Mutex<Vec<(String, Json)>>>,
}

impl FakeModel {
    pub fn start(reply: Json) -> FakeModel {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/ds_predict", listener.local_addr().unwrap());
        let requests: Arc<Mutex<Vec<(String, Json)>>> = Arc::default();
        let seen = requests.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let Some((path, body)) = read_request(&conn) else {
                    continue;
                };
                let body = serde_json::from_slice(&body).unwrap_or(Json::Null);
                seen.lock().unwrap().push((path, body));
                let _ = conn.write_all(answer("200 OK", &reply.to_string()).as_bytes());
            }
        });
        FakeModel { url, requests }
    }
}

fn serve(
    mut conn: TcpStream,
    mode: Mode,
    list: &Mutex<Json>,
    hits: &AtomicUsize,
    last: &Mutex<Json>,
) {
    let Some((path, body)) = read_request(&conn) else {
        return;
    };
    let reply = match path.as_str() {
        "/list" => answer("200 OK", &list.lock().unwrap().to_string()),
        "/status" => answer("200 OK", r#"{"protocol": 1.0, "status": "ready"}"#),
        route => {
            hits.fetch_add(1, Ordering::SeqCst);
            let req: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
            *last.lock().unwrap() = req.clone();
            match mode {
                Mode::Die => return,
                Mode::Html => answer("502 Bad Gateway", "<html><body>bad gateway</body></html>"),
                Mode::Garbage => answer("200 OK", "this is not json"),
                Mode::Empty => answer("200 OK", ""),
                Mode::Refuse => answer("200 OK", r#"{"msg": "x", "rows": -1}"#),
                Mode::Slow | Mode::Normal => {
                    if mode == Mode::Slow {
                        std::thread::sleep(Duration::from_secs(3));
                    }
                    answer("200 OK", &fixed_answer(route, &req).to_string())
                }
            }
        }
    };
    let _ = conn.write_all(reply.as_bytes());
}

/// Forecast: value `10 + i`, bounds ±1, timestamps from `start`/`every`.
/// Anomaly: the 3rd point alone and the 7th-9th points (spec §10.5), codes
/// -1 and -2. Imputation: the 1 s grid, a filled point valued -1.
/// Correlation: the protocol spec's dtw and tlcc answers (§4.8).
fn fixed_answer(route: &str, req: &Json) -> Json {
    if route == "/correlation" {
        return if req["algo"] == "dtw" {
            json!({"distance": 1.6000000000000003, "option": req["option"], "rows": 7,
                   "path": [[0,0],[1,0],[2,0],[3,1],[3,2],[3,3],[4,4]]})
        } else {
            json!({"ccf_vals": [-0.2425356250363329, 0.9210376169618041, null],
                   "lags": [-1, 0, 1], "option": req["option"], "rows": 3})
        };
    }
    if route == "/forecast" {
        let n = req["forecast_rows"].as_i64().unwrap();
        let (start, every) = (
            req["start"].as_i64().unwrap(),
            req["every"].as_i64().unwrap(),
        );
        let ts: Vec<i64> = (0..n).map(|i| start + i * every).collect();
        let v: Vec<f64> = (0..n).map(|i| 10.0 + i as f64).collect();
        let lo: Vec<f64> = v.iter().map(|x| x - 1.0).collect();
        let hi: Vec<f64> = v.iter().map(|x| x + 1.0).collect();
        let res = if req["return_conf"] == 1 {
            json!([ts, v, lo, hi])
        } else {
            json!([ts, v])
        };
        return json!({"algo": req["algo"], "option": req["option"], "rows": n, "res": res});
    }
    let ts: Vec<i64> = req["data"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect();
    if route == "/imputation" {
        let vals = req["data"][1].as_array().unwrap();
        let (mut grid, mut target, mut mask) = (Vec::new(), Vec::new(), Vec::new());
        let mut t = ts[0];
        while t <= *ts.last().unwrap() {
            match ts.iter().position(|x| *x == t) {
                Some(i) => (target.push(vals[i].clone()), mask.push(0)),
                None => (target.push(json!(-1.0)), mask.push(1)),
            };
            grid.push(t as f64); // as the MOMENT server sends them
            t += 1000;
        }
        return json!({"algo": req["algo"], "rows": grid.len(), "ts": grid, "target": target, "mask": mask});
    }
    json!({"algo": req["algo"], "rows": 2, "res": [[ts[2], ts[2]], [ts[6], ts[8]]], "mask": [-1, -2]})
}
