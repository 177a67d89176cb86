//! The server end to end: REST shape and auth, the shell's `-s`, and
//! recovery after `kill -9` during inserts.

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, raw, rest, status_and_json, temp_dir};
use serde_json::json;

#[test]
fn rest_answers_in_the_taosadapter_shape() {
    let s = Server::start(&temp_dir("rest").join("data"));
    // credentials
    let (code, body) = rest(&s.addr, None, "show databases", "cm9vdDp3cm9uZw==");
    assert_eq!(code, 401, "{body}");
    assert_eq!(body, r#"{"code":855,"desc":"Authentication failure"}"#);

    let ddl =
        json!({"code": 0, "column_meta": [["affected_rows", "INT", 4]], "data": [[0]], "rows": 1});
    assert_eq!(s.json(None, "create database power"), ddl);
    assert_eq!(
        s.json(Some("power"), "create table meters (ts timestamp, current float, voltage int, phase float) tags (location binary(64), groupId int)"),
        ddl
    );
    let v = s.json(
        Some("power"),
        "insert into d1001 using meters tags ('Beijing.Chaoyang', 2) values ('2018-10-03 14:38:05.000', 10.3, 219, 0.31) ('2018-10-03 14:38:15.320', 12.6, 218, NULL)",
    );
    assert_eq!(v["data"], json!([[2]]));
    // REST is stateless: without a database in the URL or the name, an error
    let v = s.json(None, "select * from d1001");
    assert_eq!(v["code"], 0x2616, "{v}");
    let v = s.json(None, "select * from power.d1001");
    assert_eq!(
        v,
        json!({
            "code": 0,
            "column_meta": [["ts", "TIMESTAMP", 8], ["current", "FLOAT", 4], ["voltage", "INT", 4], ["phase", "FLOAT", 4]],
            "data": [["2018-10-03T14:38:05Z", 10.3, 219, 0.31], ["2018-10-03T14:38:15.32Z", 12.6, 218, null]],
            "rows": 2
        })
    );
    let v = s.json(
        Some("power"),
        "select tbname, location, count(*) from meters group by tbname",
    );
    assert_eq!(
        v["column_meta"],
        json!([
            ["tbname", "VARCHAR", 192],
            ["location", "VARCHAR", 64],
            ["count(*)", "BIGINT", 8]
        ])
    );
    assert_eq!(v["data"], json!([["d1001", "Beijing.Chaoyang", 2]]));
    // SHOW with LIKE, created_time aside
    s.json(Some("power"), "create table nt (ts timestamp, x double)");
    let names = |sql: &str| -> Vec<String> {
        s.json(Some("power"), sql)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[0].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("show tables"), ["d1001", "nt"]);
    assert_eq!(names("show tables like 'd%'"), ["d1001"]);
    assert_eq!(names("show tables like 'n_'"), ["nt"]);
    assert_eq!(names("show stables"), ["meters"]);
    assert_eq!(names("show databases"), ["power"]);
    let v = s.json(Some("power"), "show stables");
    assert_eq!(
        &v["data"][0].as_array().unwrap()[2..],
        &[json!(4), json!(2), json!(1)]
    );
    let v = s.json(Some("power"), "show tables like 'd%'");
    assert_eq!(v["data"][0][3], "meters");
    // errors: TDengine's codes, HTTP 200
    let (code, body) = s.sql(Some("power"), "select * from");
    assert_eq!(code, 200);
    assert_eq!(
        body,
        r#"{"code":9728,"desc":"syntax error: unexpected end of statement, expected a table name"}"#
    );
    let v = s.json(Some("power"), "select * from nosuch");
    assert_eq!(
        v,
        json!({"code": 0x2603, "desc": "Table does not exist: nosuch (database power)"})
    );
    // bytes that are not UTF-8 get a JSON error too
    use std::io::{Read, Write};
    let mut t = std::net::TcpStream::connect(&s.addr).unwrap();
    t.write_all(b"POST /rest/sql HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cm9vdDp0YW9zZGF0YQ==\r\nContent-Length: 3\r\nConnection: close\r\n\r\n\xff\xfe;").unwrap();
    let mut raw = String::new();
    t.read_to_string(&mut raw).unwrap();
    assert!(
        raw.ends_with(r#"{"code":9728,"desc":"the SQL text is not valid UTF-8"}"#),
        "{raw}"
    );
    // unknown paths are 404 with a JSON body
    let mut t = std::net::TcpStream::connect(&s.addr).unwrap();
    write!(
        t,
        "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    t.read_to_string(&mut raw).unwrap();
    assert!(raw.starts_with("HTTP/1.1 404"), "{raw}");
}

#[test]
fn shell_runs_commands_with_taos_output() {
    let s = Server::start(&temp_dir("shell").join("data"));
    let out = Command::new(env!("CARGO_BIN_EXE_tsdb"))
        .args(["shell", "-h", "127.0.0.1", "-P", &s.port().to_string(), "-u", "root", "-p", "taosdata", "-s"])
        .arg("create database d; use d; create table t (ts timestamp, v int); insert into t values ('2020-01-01 00:00:00', 7); select * from t; select * from t where v > 7; select nope from t;")
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "a failed statement makes the exit status non-zero"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with("Query OK, 0 row(s) affected ("),
        "{stdout}"
    );
    assert_eq!(lines[2], "Database changed.");
    assert!(
        lines[6].starts_with("Query OK, 1 row(s) affected ("),
        "{stdout}"
    );
    assert_eq!(lines[8], "           ts            |      v      |");
    assert_eq!(lines[9], "=".repeat(40));
    assert_eq!(lines[10], " 2020-01-01 00:00:00.000 |           7 |");
    assert!(
        lines[11].starts_with("Query OK, 1 row(s) in set ("),
        "{stdout}"
    );
    // an empty result prints no header
    assert!(
        lines[13].starts_with("Query OK, 0 row(s) in set ("),
        "{stdout}"
    );
    assert!(
        stderr.starts_with("\nDB error: Invalid column name: nope ("),
        "{stderr}"
    );
}

/// Every insert the server acknowledged is there after `kill -9`.
#[test]
fn acknowledged_rows_survive_kill_9() {
    let data = temp_dir("crash").join("data");
    let mut s = Server::start(&data);
    // a 1 MB write cache: memtables are flushed to data files many times
    // while the writers run, so the kill also lands during flushes
    s.json(None, "create database crash cache 1 blocks 3");
    s.json(
        Some("crash"),
        "create table m (ts timestamp, v bigint, w double) tags (w_id int)",
    );
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 86_400_000;
    let acked: Arc<Mutex<BTreeSet<(i64, i64)>>> = Arc::default();
    let stop_at = Instant::now() + Duration::from_millis(1500);
    let mut writers = Vec::new();
    for w in 0..4i64 {
        let addr = s.addr.clone();
        let acked = acked.clone();
        writers.push(std::thread::spawn(move || {
            for batch in 0..100_000i64 {
                if Instant::now() > stop_at + Duration::from_secs(5) {
                    break;
                }
                let mut sql = format!("insert into t{w} using m tags ({w}) values ");
                let rows: Vec<i64> = (0..50)
                    .map(|j| base + w * 10_000_000 + batch * 50 + j)
                    .collect();
                for ts in &rows {
                    sql.push_str(&format!("({ts}, {ts}, 0.5) "));
                }
                let r = std::panic::catch_unwind(|| {
                    rest(&addr, Some("crash"), &sql, "cm9vdDp0YW9zZGF0YQ==")
                });
                match r {
                    Ok((200, body)) if body.contains("\"code\":0") => {
                        let mut a = acked.lock().unwrap();
                        for ts in rows {
                            a.insert((w, ts));
                        }
                    }
                    _ => break, // the server is gone
                }
            }
        }));
    }
    while Instant::now() < stop_at {
        std::thread::sleep(Duration::from_millis(20));
    }
    // kill -9 in the middle of the inserts
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    for w in writers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 1000,
        "only {} rows were acknowledged",
        acked.len()
    );
    drop(s);
    let files = std::fs::read_dir(data.join("data/crash")).map_or(0, |d| d.count());
    assert!(files > 0, "no data file was written before the kill");

    let s = Server::start(&data);
    for w in 0..4i64 {
        let v = s.json(Some("crash"), &format!("select ts, v from t{w}"));
        let stored: BTreeSet<i64> = v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[1].as_i64().unwrap())
            .collect();
        let missing: Vec<i64> = acked
            .iter()
            .filter(|(ww, ts)| *ww == w && !stored.contains(ts))
            .map(|x| x.1)
            .take(5)
            .collect();
        assert!(
            missing.is_empty(),
            "table t{w}: acknowledged rows lost, e.g. {missing:?}"
        );
    }
    let v = s.json(Some("crash"), "select count(*) from m");
    assert!(
        v["data"][0][0].as_i64().unwrap() >= acked.len() as i64,
        "{v}"
    );
}

#[test]
fn import_loads_a_csv_file_in_batches() {
    let dir = temp_dir("import");
    let s = Server::start(&dir.join("data"));
    s.json(None, "create database imp");
    s.json(
        Some("imp"),
        "create table m (ts timestamp, v int, note binary(16)) tags (site binary(8))",
    );
    let base = 1_600_000_000_000i64;
    let mut csv = String::from("ts,v,note\n");
    for i in 0..12_345i64 {
        csv.push_str(&format!("{},{},'n{}'\n", base + i * 1000, i % 1000, i % 7));
    }
    // a timestamp as text, and a string with a comma
    csv.push_str("'2020-09-13 12:26:40.000',5,'a, b'\n");
    let file = dir.join("rows.csv");
    std::fs::write(&file, csv).unwrap();
    // `tsdb import -P <port> -d imp -t t1 <extra> <file>`
    let import = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tsdb"))
            .args([
                "import",
                "-P",
                &s.port().to_string(),
                "-d",
                "imp",
                "-t",
                "t1",
            ])
            .args(extra)
            .arg(&file)
            .env("TZ", "UTC")
            .output()
            .unwrap()
    };
    let out = import(&[
        "--using", "m", "--tags", "'north'", "--batch", "5000", "--header",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("imported 12346 rows into imp.t1"),
        "{stderr}"
    );
    let v = s.json(
        Some("imp"),
        "select count(*), sum(v), last(note), site from m group by site",
    );
    // 2020-09-13 12:26:40 UTC is base: the last line updated nothing (UPDATE 0 keeps the first)
    assert_eq!(
        v["data"],
        json!([[
            12_345,
            (0..12_345i64).map(|i| i % 1000).sum::<i64>(),
            "n3",
            "north"
        ]]),
        "{v}"
    );
    // a bad line stops the import with the server's message
    std::fs::write(&file, "1600000000000,1,'ok'\n1600000001000,x,'bad'\n").unwrap();
    let out = import(&[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tsdb import: rows up to line 2: invalid value for column v of type INT: 'x' (table t1, row 2)"),
        "{stderr}"
    );
}

#[test]
fn shell_reads_insert_files_and_writes_csv_exports() {
    let dir = temp_dir("files");
    let s = Server::start(&dir.join("data"));
    let rows = dir.join("rows.csv");
    std::fs::write(
        &rows,
        "'2020-01-01 00:00:00.000',1,'a, b'\n'2020-01-01 00:00:01.000',2,NULL\n",
    )
    .unwrap();
    let out = dir.join("out.csv");
    let sql = format!(
        "create database f; use f; create table t (ts timestamp, v int, s binary(8)); insert into t file '{}'; select * from t >> {};",
        rows.display(),
        out.display()
    );
    let run = Command::new(env!("CARGO_BIN_EXE_tsdb"))
        .args(["shell", "-P", &s.port().to_string(), "-s", &sql])
        .env("TZ", "UTC")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("Query OK, 2 row(s) affected"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "ts,v,s\n'2020-01-01 00:00:00.000',1,'a, b'\n'2020-01-01 00:00:01.000',2,NULL\n"
    );
    // over REST the server cannot read the client's file
    let v = s.json(
        Some("f"),
        &format!("insert into t file '{}'", rows.display()),
    );
    assert_eq!(v["code"], 0x2664, "{v}");
}

/// Child tables created by INSERT are durable through the WAL (their
/// catalog commit is not fsynced): after `kill -9` right after the insert
/// they are back, with tags and rows, and a table dropped afterwards stays
/// dropped.
#[test]
fn auto_created_tables_survive_kill_9() {
    let data = temp_dir("autocreate").join("data");
    let mut s = Server::start(&data);
    s.json(None, "create database ac");
    s.json(
        Some("ac"),
        "create stable m (ts timestamp, v int) tags (site binary(8))",
    );
    let mut sql = String::from("insert into ");
    for i in 0..20 {
        sql.push_str(&format!("c{i} using m tags ('s{i}') values (now, {i}) "));
    }
    assert_eq!(s.json(Some("ac"), &sql)["data"][0][0], 20);
    s.json(Some("ac"), "drop table c7");
    s.json(
        Some("ac"),
        "insert into c20 using m tags ('late') values (now, 20)",
    );
    s.child.kill().unwrap();
    s.child.wait().unwrap();
    drop(s);

    let s = Server::start(&data);
    let v = s.json(Some("ac"), "select count(*), sum(v) from m");
    assert_eq!(v["data"][0][0], 20, "{v}");
    assert_eq!(v["data"][0][1], (0..=20).sum::<i64>() - 7, "{v}");
    let v = s.json(Some("ac"), "select site from c20");
    assert_eq!(v["data"][0][0], "late", "{v}");
    let v = s.json(Some("ac"), "select * from c7");
    assert_eq!(v["code"], 0x2603, "{v}");
    // new tables after the restart get new uids: nothing collides
    s.json(
        Some("ac"),
        "insert into c21 using m tags ('new') values (now, 21)",
    );
    let v = s.json(Some("ac"), "select count(*) from m");
    assert_eq!(v["data"][0][0], 21, "{v}");
}

/// The first hour of a new user: the sample data loads twice over without
/// an error and leaves TDengine's walkthrough (database `power`) free; the
/// shell's `-d` is quiet, `--echo` shows each statement; the embedded anode
/// writes its app-log; one anode URL spelled two ways is one anode.
#[test]
fn the_first_hour_has_no_surprises() {
    let dir = temp_dir("first-hour");
    let app_log = dir.join("log").join("anode.app.log");
    let anode_ini = dir.join("taosanode.ini");
    std::fs::write(
        &anode_ini,
        format!(
            "[uwsgi]\nhttp = 127.0.0.1:0\n[taosanode]\napp-log = {}\nmodel-dir = {}\n[anode]\npython-workers = 1\n",
            app_log.display(),
            dir.display()
        ),
    )
    .unwrap();
    let config = format!(
        "[analytics]\nembedded-anode = 127.0.0.1:0\nanode-config = {}\n",
        anode_ini.display()
    );
    let s = Server::start_with(&dir.join("data"), Some(&config));
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap();
    let shell = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tsdb"))
            .args(["shell", "-P", &s.port().to_string()])
            .args(args)
            .current_dir(repo)
            .env("TZ", "UTC")
            .output()
            .unwrap()
    };
    for _ in 0..2 {
        let out = shell(&["-f", "demo/load.sql"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let count = |sql: &str| s.json(None, sql)["data"][0][0].clone();
    assert_eq!(count("select count(*) from demo.meters"), 8);
    assert_eq!(count("select count(*) from demo.passengers"), 144);
    // TDengine's walkthrough, as its documentation writes it
    for sql in [
        "create database power",
        "create stable power.meters (ts timestamp, current float, voltage int, phase float) tags (groupId int, location binary(24))",
        "create table power.d1001 using power.meters tags (2, 'California.SanFrancisco')",
        "insert into power.d1001 values (now, 10.3, 219, 0.31)",
    ] {
        assert_eq!(s.json(None, sql)["code"], 0, "{sql}");
    }
    // -d is quiet; --echo prints each statement before its result
    let out = shell(&["-d", "power", "--echo", "-s", "select count(*) from d1001;"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Database changed."), "{text}");
    assert!(
        text.starts_with("taos> select count(*) from d1001;\n"),
        "{text}"
    );
    // the embedded anode's log lines are in its app-log
    let log = std::fs::read_to_string(&app_log).unwrap_or_default();
    assert!(log.contains("embedded anode on http://127.0.0.1:"), "{log}");
    // one anode, however its URL is spelled
    let shown = s.json(None, "show anodes");
    let url = shown["data"][0][1].as_str().unwrap().to_owned();
    assert!(!url.starts_with("http"), "{url}");
    let again = s.json(None, &format!("create anode 'HTTP://{url}/'"));
    assert_eq!(again["code"], 0x0430, "{again}");
    assert_eq!(again["desc"], format!("Anode already exists: {url}"));
}

/// The web console's files: typed, cached by ETag, framed by a CSP; a
/// missing one is a JSON 404. The page itself needs no credentials.
#[test]
fn the_console_is_served_with_types_and_caching() {
    let s = Server::start(&temp_dir("console").join("data"));
    let get = |path: &str, extra: &str| {
        raw(
            &s.addr,
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n")
                .as_bytes(),
            Duration::from_secs(10),
        )
    };
    let header = |answer: &str, name: &str| -> Option<String> {
        let head = answer.split("\r\n\r\n").next().unwrap();
        head.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_owned))
    };
    let page = get("/", "");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert_eq!(
        header(&page, "content-type").unwrap(),
        "text/html; charset=utf-8"
    );
    assert!(
        header(&page, "content-security-policy")
            .unwrap()
            .starts_with("default-src 'self'")
    );
    assert!(page.contains("<script src=\"/console/console.js\"></script>"));
    for (file, ty) in [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("uPlot.iife.min.js", "text/javascript; charset=utf-8"),
        ("uPlot.min.css", "text/css; charset=utf-8"),
    ] {
        let a = get(&format!("/console/{file}"), "");
        assert!(a.starts_with("HTTP/1.1 200"), "{file}: {a}");
        assert_eq!(header(&a, "content-type").unwrap(), ty, "{file}");
        assert_eq!(header(&a, "cache-control").unwrap(), "no-cache");
        let etag = header(&a, "etag").unwrap();
        let again = get(
            &format!("/console/{file}"),
            &format!("If-None-Match: {etag}\r\n"),
        );
        assert!(again.starts_with("HTTP/1.1 304"), "{file}: {again}");
        let stale = get(&format!("/console/{file}"), "If-None-Match: \"other\"\r\n");
        assert!(stale.starts_with("HTTP/1.1 200"), "{file}");
    }
    let (status, body) = status_and_json(&get("/console/../etc/passwd", ""));
    assert_eq!(status, 404, "{body}");
    let (status, body) = status_and_json(&get("/console/nope.js", ""));
    assert_eq!(
        (status, body),
        (
            404,
            json!({"code": 404, "desc": "not found: /console/nope.js"})
        )
    );
}

/// `information_schema.ins_subscriptions` and `ins_disk_usage`, which the
/// console's operations view shows.
#[test]
fn subscriptions_and_disk_usage_are_listed() {
    let s = Server::start(&temp_dir("sysviews").join("data"));
    s.json(None, "create database d1");
    s.json(None, "create table d1.t (ts timestamp, v int)");
    let v = s.json(
        None,
        "insert into d1.t values (1700000001000, 1) (1700000002000, 2) (1700000003000, 3)",
    );
    assert_eq!(v["data"], json!([[3]]), "{v}");
    let v = s.json(None, "select * from information_schema.ins_disk_usage");
    assert_eq!(v["data"], json!([["d1", 1, 0, 0, 3]]), "{v}");
    s.json(None, "flush database d1");
    // the files are written in the background
    let started = Instant::now();
    let v = loop {
        let v = s.json(None, "select * from information_schema.ins_disk_usage");
        if v["data"][0][2] != 0 || started.elapsed() > Duration::from_secs(10) {
            break v;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let row = &v["data"][0];
    assert_eq!(
        (&row[0], &row[1], &row[4]),
        (&json!("d1"), &json!(1), &json!(0)),
        "{v}"
    );
    assert!(
        row[2].as_i64().unwrap() >= 1 && row[3].as_i64().unwrap() > 0,
        "{v}"
    );

    let v = s.json(None, "select * from information_schema.ins_subscriptions");
    assert_eq!(v["rows"], 0, "{v}");
    let consume = "POST /rest/subscribe/topic_a HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cm9vdDp0YW9zZGF0YQ==\r\nContent-Length: 20\r\nConnection: close\r\n\r\nselect * from d1.t  ";
    let (status, _) = status_and_json(&raw(&s.addr, consume.as_bytes(), Duration::from_secs(10)));
    assert_eq!(status, 200);
    let v = s.json(None, "select * from information_schema.ins_subscriptions");
    let names: Vec<_> = v["column_meta"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c[0].clone())
        .collect();
    assert_eq!(
        names,
        ["topic_name", "sql", "tables", "last_ts", "consumed_at"]
    );
    let row = &v["data"][0];
    assert_eq!(row[0], "topic_a");
    assert_eq!(row[1], "select * from d1.t");
    assert_eq!(row[2], 1);
    assert_eq!(row[3], "2023-11-14T22:13:23Z");
    let v = s.json(
        None,
        "select topic_name from information_schema.ins_subscriptions",
    );
    assert_eq!(
        v["desc"],
        "only SELECT * is supported on information_schema.ins_subscriptions"
    );
}
