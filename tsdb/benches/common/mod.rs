//! What the tsdb benches share: settings from the environment, an
//! in-process REST server and a minimal HTTP client.

#![allow(dead_code)] // each bench uses its own part

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use tsdb::engine::Engine;
use tsdb::rest::{RestState, router};

/// `name` from the environment, or `default`.
pub fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed().as_secs_f64())
}

/// POSTs `sql` to `/rest/sql/<db>` and panics unless it succeeded.
pub fn post(addr: &str, db: &str, sql: &str) {
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "POST /rest/sql/{db} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cm9vdDp0YW9zZGF0YQ==\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sql.len()
    )
    .unwrap();
    s.write_all(sql.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    assert!(raw.contains("\"code\":0"), "{}", &raw[..raw.len().min(300)]);
}

/// A keep-alive HTTP/1.1 connection posting SQL to `/rest/sql/<db>`, as
/// a client library holds one (the InfluxDB side of `bench/influx.py` does).
pub struct Conn {
    s: std::io::BufReader<TcpStream>,
}

impl Conn {
    pub fn new(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).expect("connect");
        s.set_nodelay(true).unwrap();
        Conn {
            s: std::io::BufReader::new(s),
        }
    }

    /// POSTs `sql` and panics unless it succeeded.
    pub fn post(&mut self, db: &str, sql: &str) {
        use std::io::BufRead;
        let w = self.s.get_mut();
        write!(
            w,
            "POST /rest/sql/{db} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cm9vdDp0YW9zZGF0YQ==\r\nContent-Length: {}\r\n\r\n",
            sql.len()
        )
        .unwrap();
        w.write_all(sql.as_bytes()).unwrap();
        let mut len = 0;
        let mut line = String::new();
        loop {
            line.clear();
            self.s.read_line(&mut line).unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
            }
        }
        let mut body = vec![0; len];
        self.s.read_exact(&mut body).unwrap();
        // the answer's first key (a scan of a large answer would be timed)
        assert!(
            body.starts_with(b"{\"code\":0"),
            "{}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
}

/// Serves `engine` over REST on 127.0.0.1:0; returns the address and the
/// runtime that runs it (dropping it stops the server).
pub fn serve(engine: Arc<Engine>) -> (String, tokio::runtime::Runtime) {
    let state = Arc::new(RestState::new(engine, &tsdb::config::Config::default()));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    rt.spawn(async move { axum::serve(listener, router(state)).await });
    (addr, rt)
}

/// The `q`-quantile (0..=1) of `v` (sorted here), by nearest rank.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}
