//! The real `tsdb` binary on 127.0.0.1:0, for end-to-end tests.
#![allow(dead_code)]

pub mod anodes;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub data: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tsdb-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Server {
    /// Starts `tsdb serve` on a free port with data in `data` (UTC clock).
    pub fn start(data: &Path) -> Server {
        Server::start_with(data, None)
    }

    /// [`Server::start`] with `config` as its `tsdb.ini` (written beside
    /// `data`).
    pub fn start_with(data: &Path, config: Option<&str>) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tsdb"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data);
        if let Some(text) = config {
            let file = data.with_extension("ini");
            std::fs::create_dir_all(data.parent().unwrap()).unwrap();
            std::fs::write(&file, text).unwrap();
            cmd.arg("--config").arg(file);
        }
        let mut child = cmd
            .env("TZ", "UTC")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("tsdb did not start");
        Server {
            child,
            addr,
            data: data.to_owned(),
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// POST /rest/sql[/db] with root:taosdata; (status, body).
    pub fn sql(&self, db: Option<&str>, sql: &str) -> (u16, String) {
        rest(&self.addr, db, sql, "cm9vdDp0YW9zZGF0YQ==")
    }

    pub fn json(&self, db: Option<&str>, sql: &str) -> serde_json::Value {
        let (code, body) = self.sql(db, sql);
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"))
    }
}

pub fn rest(addr: &str, db: Option<&str>, sql: &str, auth: &str) -> (u16, String) {
    let path = db.map_or("/rest/sql".to_owned(), |d| format!("/rest/sql/{d}"));
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{sql}",
        sql.len()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// xorshift64*: reproducible random tests without a dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Sends `request` as raw bytes and reads until the server closes or
/// `wait` passes; the whole answer as text.
pub fn raw(addr: &str, request: &[u8], wait: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(wait)).unwrap();
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The status and the JSON body of a raw HTTP answer.
pub fn status_and_json(answer: &str) -> (u16, serde_json::Value) {
    let status = answer
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer:?}"));
    let body = answer.split_once("\r\n\r\n").map_or("", |x| x.1);
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer:?}"));
    (status, json)
}
