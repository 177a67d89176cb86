//! Hostile and careless clients against the real server: every reproducer
//! of issue 15 (deep nesting, huge statements, runaway results, slow or
//! idle connections, malformed HTTP, password guessing, the interactive
//! shell) answers a clear JSON error and leaves the server up.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, raw, rest, status_and_json, temp_dir};

/// root:taosdata
const BASIC: &str = "cm9vdDp0YW9zZGF0YQ==";

/// `(code, desc)` of a refused statement.
fn refused(s: &Server, sql: &str) -> (u64, String) {
    let (status, body) = s.sql(Some("h"), sql);
    assert_eq!(status, 200, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_ne!(j["code"], 0, "{}", &body[..body.len().min(300)]);
    (
        j["code"].as_u64().unwrap(),
        j["desc"].as_str().unwrap().to_owned(),
    )
}

fn setup(s: &Server) {
    for sql in [
        "create database h",
        "create table h.t (ts timestamp, v int, s binary(16))",
        "create stable h.st (ts timestamp, v int) tags (g int)",
        "insert into h.t values ('2020-01-01 00:00:00', 1, 'a') ('2020-12-31 00:00:00', 2, 'b')",
    ] {
        let j = s.json(None, sql);
        assert_eq!(j["code"], 0, "{sql}: {j}");
    }
}

fn nest(open: &str, inner: &str, close: &str, n: usize) -> String {
    format!("{}{inner}{}", open.repeat(n), close.repeat(n))
}

#[test]
fn deep_wide_and_huge_statements_are_refused_and_the_server_stays_up() {
    let s = Server::start(&temp_dir("hostile-sql").join("data"));
    setup(&s);
    let deep = "expression is nested too deeply: more than 128 levels";
    let cases: Vec<(String, u64, &str)> = vec![
        (
            format!("select {}", nest("(", "1", ")", 1200)),
            0x2600,
            deep,
        ),
        (
            format!("select * from t where {}", nest("(", "v = 1", ")", 2000)),
            0x2600,
            deep,
        ),
        (format!("select 1{}", "+1".repeat(10_000)), 0x2600, deep),
        (
            format!(
                "select * from t where {}",
                vec!["v = 1"; 10_000].join(" or ")
            ),
            0x2600,
            deep,
        ),
        (format!("select {}1", "not ".repeat(100_000)), 0x2600, deep),
        (
            format!("select {} from t", nest("abs(", "v", ")", 100_000)),
            0x2600,
            deep,
        ),
        (format!("select {}1", "- ".repeat(100_000)), 0x2600, deep),
        (
            format!(
                "insert into t values (now, {}, 'x')",
                nest("(", "1", ")", 5000)
            ),
            0x2600,
            deep,
        ),
        (
            format!(
                "create table c1 using st tags ({})",
                nest("(", "1", ")", 5000)
            ),
            0x2600,
            deep,
        ),
        (
            format!("select {} from t", vec!["v"; 500_000].join(",")),
            0x2600,
            "too many columns in the select list: more than 4096",
        ),
        (
            format!("select * from t where s = '{}'", "x".repeat(10 << 20)),
            0x2600,
            "string literal too long: 10485760 bytes at position 26, the limit is 65496",
        ),
        (
            format!(
                "select * from t where v in ({})",
                (0..100_000)
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            0x2600,
            "IN list too long: more than 65536 items",
        ),
        (
            format!(
                "select * from t where v in ({})",
                vec!["1"; 5_000_000].join(",")
            ),
            0x2600,
            "statement too long: more than 4194304 tokens; split it into several",
        ),
        (
            "select count(*) from t interval(300000y)".to_owned(),
            0x2617,
            "interval value is too large: at most 1000y (12000n)",
        ),
        (
            "insert into t values (now + 213503982335d, 1, 'x')".to_owned(),
            0x2617,
            "duration 213503982335d is out of range: it does not fit a ms timestamp (table t, row 1)",
        ),
        (
            "select count(*) from t where ts > now - 9223372036854775807d".to_owned(),
            0x2617,
            "duration 9223372036854775807d is out of range: it does not fit a ms timestamp",
        ),
    ];
    for (sql, code, desc) in &cases {
        let started = Instant::now();
        let (c, d) = refused(&s, sql);
        assert_eq!(
            (c, d.as_str()),
            (*code, *desc),
            "{}",
            &sql[..sql.len().min(80)]
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{} took {:?}",
            &sql[..80.min(sql.len())],
            started.elapsed()
        );
    }
    // the limits themselves are allowed
    let ok = format!("select {} from t", nest("(", "v", ")", 120));
    assert_eq!(s.json(Some("h"), &ok)["rows"], 2);
    let wide = format!("select {} from t", vec!["v"; 4096].join(","));
    assert_eq!(s.json(Some("h"), &wide)["rows"], 2);
    let list = format!(
        "select v from t where s in ({})",
        (0..65_536)
            .map(|i| format!("'{i}'"))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(s.json(Some("h"), &list)["rows"], 0);
    let list = "select v from t where v in (2, 7) and s in ('b', 'q')";
    assert_eq!(s.json(Some("h"), list)["data"], serde_json::json!([[2]]));
    // and the server is still there
    assert_eq!(s.json(None, "select server_version()")["rows"], 1);
}

#[test]
fn runaway_results_are_refused_before_they_are_built() {
    let config = "[limits]\nmax-result-rows = 1000\nmax-query-mb = 64\n";
    let s = Server::start_with(&temp_dir("hostile-results").join("data"), Some(config));
    setup(&s);
    // a year of 4 s windows: refused up front (TDengine's code and text)
    let (code, desc) = refused(
        &s,
        "select count(*) from t where ts >= '2020-01-01' and ts < '2021-01-01' interval(4s) fill(null)",
    );
    assert_eq!(code, 0x070A);
    assert_eq!(
        desc,
        "Too many groups/time window in query: FILL would make 7905600 windows, more than 1000 ([limits] max-result-rows); narrow the time range or widen the interval"
    );
    let rows: Vec<String> = (0..1500)
        .map(|i| format!("({}, {i}, 'r')", 1_600_000_000_000i64 + i))
        .collect();
    s.json(
        Some("h"),
        &format!("insert into t values {}", rows.join(" ")),
    );
    let (code, desc) = refused(&s, "select * from t");
    assert_eq!(code, 0x070B);
    assert_eq!(
        desc,
        "Query buffer limit has reached: the answer has more than 1000 rows ([limits] max-result-rows); narrow the time range or add LIMIT"
    );
    // what fits is answered
    assert_eq!(
        s.json(Some("h"), "select * from t limit 1000")["rows"],
        1000
    );
    assert_eq!(
        s.json(Some("h"), "select count(*) from t")["data"],
        serde_json::json!([[1502]])
    );
}

/// 200,000 rows and a statement that takes minutes over them: a 60,000-item
/// IN list of expressions is compared item by item, row by row.
fn slow_setup(s: &Server) -> String {
    s.json(None, "create database h");
    s.json(None, "create table h.t (ts timestamp, v int)");
    for chunk in 0..10 {
        let rows: Vec<String> = (0..20_000)
            .map(|i| format!("({}, {i})", 1_600_000_000_000i64 + chunk * 20_000 + i))
            .collect();
        let j = s.json(
            Some("h"),
            &format!("insert into t values {}", rows.join(" ")),
        );
        assert_eq!(j["code"], 0);
    }
    format!(
        "select count(*) from t where v in ({})",
        (0..60_000)
            .map(|i| format!("{}+0", -i - 1))
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[test]
fn a_statement_stops_at_its_timeout() {
    let s = Server::start_with(
        &temp_dir("hostile-timeout").join("data"),
        Some("[limits]\nquery-timeout = 1\n"),
    );
    let slow = slow_setup(&s);
    let started = Instant::now();
    let (code, desc) = refused(&s, &slow);
    assert_eq!(code, 0x020F);
    assert_eq!(
        desc,
        "statement stopped: it ran longer than 1 s ([limits] query-timeout)"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_statement_stops_when_its_client_leaves_and_when_the_server_stops() {
    let data = temp_dir("hostile-leave").join("data");
    let mut s = Server::start_with(&data, Some("[limits]\nquery-timeout = 0\n"));
    let slow = slow_setup(&s);
    // the client leaves: the statement stops, so an INSERT (which waits for
    // running queries) goes through at once
    let mut c = TcpStream::connect(&s.addr).unwrap();
    write!(
        c,
        "POST /rest/sql/h HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {BASIC}\r\nContent-Length: {}\r\n\r\n{slow}",
        slow.len()
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    drop(c);
    let started = Instant::now();
    assert_eq!(
        s.json(Some("h"), "insert into t values (now, 1)")["code"],
        0
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // SIGTERM with a long statement running: the server stops in seconds
    let addr = s.addr.clone();
    let runner = std::thread::spawn(move || rest(&addr, Some("h"), &slow, BASIC));
    std::thread::sleep(Duration::from_millis(500));
    let started = Instant::now();
    Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .unwrap();
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let (code, body) = runner.join().unwrap();
    assert_eq!(code, 200);
    assert!(
        body.contains("statement stopped: the server is shutting down"),
        "{body}"
    );
}

#[test]
fn session_tokens_are_random_and_guessing_is_locked_out() {
    let s = Server::start(&temp_dir("hostile-auth").join("data"));
    let get = |path: &str| -> (u16, serde_json::Value) {
        status_and_json(&raw(
            &s.addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
            Duration::from_secs(10),
        ))
    };
    let (status, j) = get("/rest/login/root/taosdata");
    assert_eq!(status, 200);
    let token = j["desc"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(get("/rest/login/root/taosdata").1["desc"], token.as_str());
    let with = |auth: &str| {
        status_and_json(&raw(
            &s.addr,
            format!(
                "POST /rest/sql HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: 23\r\nConnection: close\r\n\r\nselect server_version()"
            )
            .as_bytes(),
            Duration::from_secs(10),
        ))
    };
    assert_eq!(with(&format!("Taosd {token}")).0, 200);
    // the old computable token (base64 of user:password) is no token
    let (status, j) = with(&format!("Taosd {BASIC}"));
    assert_eq!((status, j["code"].as_u64()), (401, Some(0x0357)));
    // ten wrong guesses (that one was the first) lock the address out,
    // even for the right password, and say for how long
    for _ in 0..9 {
        assert_eq!(get("/rest/login/root/guess").0, 401);
    }
    let started = Instant::now();
    let (status, j) = get("/rest/login/root/taosdata");
    assert_eq!(status, 429);
    let desc = j["desc"].as_str().unwrap();
    assert!(
        desc.starts_with("too many failed logins from 127.0.0.1: try again in "),
        "{desc}"
    );
    assert!(
        desc.ends_with(" s (at most 10 failures per 60 s)"),
        "{desc}"
    );
    assert_eq!(with(&format!("Basic {BASIC}")).0, 429);
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn http_layer_errors_are_json() {
    let s = Server::start_with(
        &temp_dir("hostile-http").join("data"),
        Some("[limits]\nmax-sql-bytes = 1000\n"),
    );
    let ask = |req: &[u8]| status_and_json(&raw(&s.addr, req, Duration::from_secs(10)));
    let (status, j) = ask(b"HELLO THERE\r\n\r\n");
    assert_eq!(status, 400);
    assert_eq!(j["code"], 400);
    assert_eq!(j["desc"], "bad request: the HTTP request could not be read");
    let (status, j) = ask(b"GET /rest/sql HTTP/9.9\r\nHost: x\r\n\r\n");
    assert_eq!((status, j["code"].as_u64()), (400, Some(400)));
    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(600_000)
    );
    let (status, j) = ask(huge.as_bytes());
    assert_eq!(status, 431);
    assert_eq!(
        j["desc"],
        "request headers too large (at most ~400 KB in 100 headers)"
    );
    let (status, j) = ask(b"GET /rest/sql HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 405);
    assert_eq!(j["desc"], "method GET is not allowed for /rest/sql");
    let (status, j) = ask(b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(
        (status, j["desc"].as_str()),
        (404, Some("not found: /nowhere"))
    );
    let big = "x".repeat(2000);
    let (status, j) = ask(
        format!(
            "POST /rest/sql HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {BASIC}\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n{big}"
        )
        .as_bytes(),
    );
    assert_eq!(status, 413);
    assert_eq!(j["code"], 0x0227);
    assert_eq!(
        j["desc"],
        "SQL statement too long: more than 1000 bytes ([limits] max-sql-bytes)"
    );
}

#[test]
fn slow_and_idle_connections_are_cut_and_never_crowd_out_others() {
    let s = Server::start_with(
        &temp_dir("hostile-conn").join("data"),
        Some("[server]\nheader-timeout = 2\nbody-timeout = 1\n"),
    );
    // a body that stops coming: 408 in JSON
    let started = Instant::now();
    let answer = raw(
        &s.addr,
        format!(
            "POST /rest/sql HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {BASIC}\r\nContent-Length: 100\r\n\r\nselect"
        )
        .as_bytes(),
        Duration::from_secs(10),
    );
    let (status, j) = status_and_json(&answer);
    assert_eq!(status, 408);
    assert_eq!(
        j["desc"],
        "request body not received: nothing arrived for 1 s (body-timeout)"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    // a head that never ends: the connection is closed
    let started = Instant::now();
    let answer = raw(
        &s.addr,
        b"POST /rest/sql HTTP/1.1\r\nHost: x\r\n",
        Duration::from_secs(10),
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{answer}");
    // 1,100 idle half-sent connections (past the default 1,024 descriptors):
    // SQL still answers at once
    let _ = rlimit::increase_nofile_limit(4096);
    let mut idle = Vec::new();
    for _ in 0..1100 {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.write_all(b"POST /rest/sql HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        idle.push(c);
    }
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(s.json(None, "select server_version()")["rows"], 1);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    // and after the header timeout they are gone
    std::thread::sleep(Duration::from_secs(3));
    let mut closed = 0;
    for c in &mut idle {
        c.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut b = [0u8; 16];
        if matches!(c.read(&mut b), Ok(0)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 1100);
}

#[test]
fn connections_past_the_cap_get_a_json_503() {
    let s = Server::start_with(
        &temp_dir("hostile-cap").join("data"),
        Some("[server]\nmax-connections = 20\n"),
    );
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut c = TcpStream::connect(&s.addr).unwrap();
        c.write_all(b"POST /rest/sql HTTP/1.1\r\n").unwrap();
        idle.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (status, j) = status_and_json(&raw(
        &s.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(5),
    ));
    assert_eq!(status, 503);
    assert_eq!(
        j["desc"],
        "too many connections: the server holds at most 20 (max-connections)"
    );
    drop(idle);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(s.json(None, "select server_version()")["rows"], 1);
}

/// The shell driven through a pseudo-terminal (Python's `pty`), with
/// `$HOME` set: it starts, answers, and keeps its history file.
#[test]
fn the_interactive_shell_starts_and_keeps_history() {
    let s = Server::start(&temp_dir("hostile-shell").join("data"));
    let home = temp_dir("hostile-shell-home");
    let driver = r#"
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b""
def read_for(secs):
    global out
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:
                return
            if not data:
                return
            out += data
read_for(2)
os.write(fd, b"select server_version();\r")
read_for(2)
os.write(fd, b"select nope from;\r")
read_for(2)
os.write(fd, b"quit\r")
read_for(3)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace"))
sys.stdout.write("\nEXIT %d\n" % os.waitstatus_to_exitcode(status))
"#;
    let out = Command::new("python3")
        .args(["-c", driver, env!("CARGO_BIN_EXE_tsdb"), "shell", "-P"])
        .arg(s.port().to_string())
        .env("HOME", &home)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("panicked"), "{text}");
    assert!(text.contains("Welcome to the tsdb shell"), "{text}");
    assert!(text.contains("taos> "), "{text}");
    assert!(text.contains("3.3.7.0-tsdb-"), "{text}");
    assert!(text.contains("DB error: syntax error"), "{text}");
    assert!(text.trim_end().ends_with("EXIT 0"), "{text}");
    let history = std::fs::read_to_string(home.join(".tsdb_history")).unwrap();
    assert!(history.contains("select server_version();"), "{history}");

    // piped standard input, as a script would
    let mut child = Command::new(env!("CARGO_BIN_EXE_tsdb"))
        .args(["shell", "-P", &s.port().to_string()])
        .env("HOME", &home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"select server_status();\nquit\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stdout.contains("server_status()"), "{stdout}");
}
