//! The real `anode` binary on 127.0.0.1:0, for end-to-end tests.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    pub addr: String,
    pub log: PathBuf,
    pub dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh directory for one test server.
pub fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("anode-e2e-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl Server {
    /// Starts the binary with a fresh directory holding its ini and log;
    /// `extra` is appended to the ini. Waits up to `ready` for it to listen.
    pub fn start(name: &str, extra: &str, ready: Duration) -> Server {
        Server::start_with(name, ready, None, |dir| {
            format!(
                "[uwsgi]\nhttp = 127.0.0.1:0\n[taosanode]\napp-log = {}\nlog-level = INFO\nmodel-dir = {}\n{extra}",
                dir.join("app.log").display(),
                dir.display()
            )
        })
    }

    /// Starts the binary in `cwd` (default: the test's) with the ini that
    /// `ini` writes for the server's fresh directory; the app-log must be
    /// `<dir>/app.log`.
    pub fn start_with(
        name: &str,
        ready: Duration,
        cwd: Option<&std::path::Path>,
        ini: impl FnOnce(&std::path::Path) -> String,
    ) -> Server {
        let dir = fresh_dir(name);
        let ini_path = dir.join("taosanode.ini");
        std::fs::write(&ini_path, ini(&dir)).unwrap();
        let log = dir.join("app.log");
        Server::spawn(dir, log, ready, |cmd| {
            if let Some(cwd) = cwd {
                cmd.current_dir(cwd);
            }
            cmd.arg("--config").arg(&ini_path);
        })
    }

    /// Starts the binary as `configure` sets it up, in `dir` (removed when
    /// the server is dropped), logging to `log`.
    pub fn spawn(
        dir: std::path::PathBuf,
        log: std::path::PathBuf,
        ready: Duration,
        configure: impl FnOnce(&mut Command),
    ) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anode"));
        configure(&mut cmd);
        let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = rx.recv_timeout(ready).expect("anode did not start");
        Server {
            child,
            addr,
            log,
            dir,
        }
    }

    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        request(&self.addr, method, path, body)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The app-log once it contains every one of `needles` (the log is
    /// written by a background thread), or as it is after 10 s.
    pub fn log_with(&self, needles: &[&str]) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log_text();
            if needles.iter().all(|n| log.contains(n)) || std::time::Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Process ids of the server's children (its Python workers).
    pub fn children(&self) -> Vec<u32> {
        let me = self.child.id();
        let mut kids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // "pid (comm) state ppid ..."; comm may hold spaces, so split after ')'
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid == Some(me) {
                kids.push(pid);
            }
        }
        kids
    }
}

pub fn request(addr: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    request_as(
        addr,
        method,
        path,
        "application/json;charset=UTF-8",
        body.as_bytes(),
    )
}

/// [`request`] with any content type and a binary body. A server that
/// refuses the body may close before all of it is sent; its answer is
/// still read.
pub fn request_as(
    addr: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let raw = String::from_utf8_lossy(&raw);
    let status = raw[9..12].parse().unwrap();
    let body = raw
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The JSON lines an oracle script in `anode/tests/` prints when run by
/// the venv's Python with `cases` and `seed`, or `None` (with the reason
/// printed) when there is no venv or the script exits 3 (its packages are
/// missing).
pub fn oracle(script: &str, cases: usize, seed: u32) -> Option<Vec<serde_json::Value>> {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let venv = std::env::var_os("ANODE_VENV").map_or_else(|| repo.join(".venv"), Into::into);
    let py = venv.join("bin/python");
    if !py.exists() {
        eprintln!("SKIP {script}: no venv at .venv (run `make venv`)");
        return None;
    }
    let out = Command::new(&py)
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests")
                .join(script),
        )
        .args([cases.to_string(), seed.to_string()])
        .output()
        .expect("the venv's python runs");
    if out.status.code() == Some(3) {
        eprintln!(
            "SKIP {script}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        out.stdout
            .lines()
            .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
            .collect(),
    )
}
