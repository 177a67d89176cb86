//! Analysis SQL end to end through the engine: anode DDL, FORECAST and
//! ANOMALY_WINDOW against a fake anode (fixed answers, and every way an
//! anode can fail) and against our real anode, and failover between two
//! anodes (analytics-sql §10).

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::anodes::{Fake, FakeModel, Mode, list_of, real_anode, real_anode_with};
use serde_json::json;
use tsdb::engine::Engine;
use tsdb::error::code;
use tsdb::result::Output;
use tsdb::types::Value;

fn open(name: &str) -> (Engine, std::path::PathBuf) {
    let dir = common::temp_dir(name);
    (Engine::open(&dir.join("data")).unwrap(), dir)
}

/// A fresh engine with a fake anode registered as anode 1.
fn with_fake(name: &str) -> (Engine, std::path::PathBuf, Fake) {
    let (e, dir) = open(name);
    let fake = Fake::start();
    ok(&e, &format!("create anode '{}'", fake.addr));
    (e, dir, fake)
}

fn rows(out: Output) -> Vec<Vec<Value>> {
    match out {
        Output::Rows { rows, .. } => rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

fn q(e: &Engine, sql: &str) -> Vec<Vec<Value>> {
    rows(
        e.execute(sql, Some("d0"))
            .unwrap_or_else(|e| panic!("{sql}: {e}")),
    )
}

fn ok(e: &Engine, sql: &str) {
    e.execute(sql, Some("d0"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The error code of a statement that must fail.
fn err(e: &Engine, sql: &str) -> u32 {
    match e.execute(sql, Some("d0")) {
        Ok(o) => panic!("{sql} should fail, got {o:?}"),
        Err(e) => e.code,
    }
}

const X17: [i64; 17] = [
    5, 14, 15, 15, 14, 19, 17, 16, 20, 22, 8, 21, 28, 11, 9, 29, 40,
];
const T0: i64 = 1_700_000_000_000;

/// The system test's data (spec §10.2): `ct1` with X17 at 1 ms spacing.
fn setup(e: &Engine, n: usize) {
    ok(e, "create database if not exists d0");
    ok(
        e,
        "create table if not exists stb (ts timestamp, c1 int, c2 float, c3 double, c4 tinyint, c5 bigint, c6 varchar(12)) tags (t1 int)",
    );
    ok(e, "create table if not exists ct1 using stb tags(1000)");
    let values: Vec<String> = X17[..n]
        .iter()
        .enumerate()
        .map(|(i, v)| format!("({}, {v}, {v}, {v}, {v}, {v}, 'a')", T0 + i as i64))
        .collect();
    ok(e, &format!("insert into ct1 values {}", values.join(" ")));
}

#[test]
fn anode_ddl_persists_and_reports_errors() {
    let (e, dir) = open("anode-ddl");
    // nothing listening (a port we just closed)
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    assert_eq!(
        err(&e, &format!("create anode '{dead}'")),
        code::ANA_URL_CANT_ACCESS
    );
    assert!(q(&e, "show anodes").is_empty());
    assert_eq!(err(&e, "drop anode 1"), code::ANODE_NOT_EXIST);
    assert_eq!(err(&e, "drop anode 0"), code::INVALID_MSG);
    assert_eq!(err(&e, "update anode 3"), code::ANODE_NOT_EXIST);
    let long = format!("'{}'", "h".repeat(129));
    assert_eq!(
        err(&e, &format!("create anode {long}")),
        code::ANODE_TOO_LONG_URL
    );

    let fake = Fake::start();
    ok(&e, &format!("create anode '{}'", fake.addr));
    // the same URL in other case, with a scheme it is another URL
    assert_eq!(
        err(&e, &format!("create anode '{}'", fake.addr.to_uppercase())),
        code::ANODE_ALREADY_EXIST
    );
    let shown = q(&e, "show anodes");
    assert_eq!(shown.len(), 1);
    assert_eq!(
        shown[0][..3],
        [
            Value::Int(1),
            Value::Str(fake.addr.clone()),
            Value::Str("ready".into())
        ]
    );
    assert_eq!(
        shown[0][3], shown[0][4],
        "update_time equals create_time at first"
    );
    let full = q(&e, "show anodes full");
    let names: Vec<(String, String)> = full
        .iter()
        .map(|r| match (&r[1], &r[2]) {
            (Value::Str(t), Value::Str(a)) => (t.clone(), a.clone()),
            _ => panic!("{r:?}"),
        })
        .collect();
    let want = [
        ("anomaly-detection", "iqr"),
        ("anomaly-detection", "ksigma"),
        ("forecast", "holtwinters"),
        ("forecast", "moirai"),
        ("imputation", "linear"),
        ("correlation", "dtw"),
        ("correlation", "tlcc"),
    ];
    assert_eq!(
        names,
        want.map(|(a, b)| (a.to_owned(), b.to_owned())).to_vec()
    );
    assert_eq!(full[0][4], Value::Str("IQR".into()), "note from /list desc");
    assert_eq!(
        q(&e, "select * from information_schema.ins_anodes_full").len(),
        7
    );

    // bad /list answers (spec §10.5)
    let bad = Fake::start();
    for (list, code) in [
        (
            json!({"protocol": 2.0, "version": 0.1, "details": []}),
            code::ANODE_INVALID_PROTOCOL,
        ),
        (
            json!({"protocol": 1.0, "version": 0, "details": []}),
            code::ANODE_INVALID_VERSION,
        ),
        (
            json!({"protocol": 1.0, "version": 0.1, "details": [{"type": "x", "algo": []}]}),
            code::ANODE_INVALID_ALGO_TYPE,
        ),
    ] {
        *bad.list.lock().unwrap() = list;
        assert_eq!(err(&e, &format!("create anode '{}'", bad.addr)), code);
    }
    assert_eq!(
        q(&e, "show anodes").len(),
        1,
        "a failed create keeps nothing"
    );

    // UPDATE replaces the algorithm list
    *fake.list.lock().unwrap() = list_of(&["arima"]);
    std::thread::sleep(Duration::from_millis(5));
    ok(&e, "update anode 1");
    let full = q(&e, "show anodes full");
    assert_eq!(full.len(), 6);
    assert_eq!(full[2][2], Value::Str("arima".into()));
    let shown = q(&e, "show anodes");
    assert!(
        shown[0][4].as_i64() > shown[0][3].as_i64(),
        "update_time moved"
    );
    ok(&e, "update all anodes");

    // survives a restart; status is live: offline once the anode is gone
    drop(e);
    let e = Engine::open(&dir.join("data")).unwrap();
    assert_eq!(q(&e, "show anodes full").len(), 6);
    fake.stop();
    assert_eq!(q(&e, "show anodes")[0][2], Value::Str("offline".into()));
    assert_eq!(err(&e, "update all anodes"), code::ANA_URL_CANT_ACCESS);
    ok(&e, "drop anode 1");
    assert!(q(&e, "show anodes").is_empty());
    setup(&e, 17);
    // no anode offers anything now (spec §10.1)
    assert_eq!(
        err(&e, "select forecast(c1) from ct1"),
        code::ANA_ALGO_NOT_LOAD
    );
    assert_eq!(
        err(&e, "select count(*) from ct1 anomaly_window(c1)"),
        code::ANA_ALGO_NOT_LOAD
    );
}

#[test]
fn forecast_builds_taosd_requests_and_rows() {
    let (e, _dir, fake) = with_fake("forecast");
    setup(&e, 8);
    // too few rows, a VARCHAR column
    assert_eq!(
        err(
            &e,
            "select _frowts, forecast(c1, 'algo=holtwinters') from ct1"
        ),
        code::ANA_ANODE_NOT_ENOUGH_ROWS
    );
    assert_eq!(
        err(
            &e,
            "select _frowts, forecast(c6, 'algo=holtwinters') from ct1"
        ),
        code::INVALID_VALUE
    );
    setup(&e, 17);
    assert_eq!(q(&e, "select count(*) from ct1"), [[Value::Int(17)]]);

    let got = q(
        &e,
        "select _frowts,_flow,_fhigh,forecast(c1,'algo=holtwinters,conf=0.5,wncheck=1,period=0,start=1700000000000,every=2') from ct1",
    );
    assert_eq!(got.len(), 10);
    for (i, r) in got.iter().enumerate() {
        let v = 10.0 + i as f64;
        assert_eq!(
            r,
            &vec![
                Value::Int(T0 + 2 * i as i64),
                Value::Double(v - 1.0),
                Value::Double(v + 1.0),
                Value::Double(v)
            ]
        );
    }
    // the request body as taosd builds it (§4.4, §5.6)
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(
        body["schema"],
        json!([["ts", "TIMESTAMP", 8], ["val", "INT", 4]])
    );
    assert_eq!(body["data"][0][0], json!(T0));
    assert_eq!(body["data"][1], json!(X17));
    assert_eq!(
        body["option"],
        "algo=holtwinters,conf=0.5,wncheck=1,period=0,start=1700000000000,every=2"
    );
    assert_eq!(
        (
            &body["algo"],
            &body["prec"],
            &body["wncheck"],
            &body["rows"]
        ),
        (&json!("holtwinters"), &json!("ms"), &json!(1), &json!(17))
    );
    assert_eq!(
        (
            &body["forecast_rows"],
            &body["conf"],
            &body["every"],
            &body["start"]
        ),
        (&json!(10), &json!(0.5), &json!(2), &json!(T0))
    );
    assert_eq!(
        (&body["return_conf"], &body["protocol"]),
        (&json!(1), &json!(1.0))
    );

    // a scalar expression over the columns (TDengine 3.3.6.4+): its values,
    // evaluated row by row, go to the anode as DOUBLE
    let got = q(
        &e,
        "select forecast(c1 * 2 + abs(c2) - c2, 'algo=holtwinters,rows=3') from ct1",
    );
    assert_eq!(got.len(), 3);
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(body["schema"][1], json!(["val", "DOUBLE", 8]));
    let sent: Vec<f64> = body["data"][1]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let c1: Vec<f64> = X17.iter().map(|&x| x as f64).collect();
    let c2: Vec<f64> = q(&e, "select c2 from ct1")
        .iter()
        .map(|r| r[0].as_f64().unwrap())
        .collect();
    let want: Vec<f64> = c1
        .iter()
        .zip(&c2)
        .map(|(a, b)| a * 2.0 + b.abs() - b)
        .collect();
    assert_eq!(sent, want);
    for (sql, code) in [
        (
            "select forecast(sum(c1)) from ct1",
            code::PAR_AGG_FUNC_NESTING,
        ),
        ("select forecast(1 + 2) from ct1", code::INVALID_VALUE),
        ("select forecast(c6 + 1) from ct1", code::INVALID_VALUE),
        ("select forecast(nosuch * 2) from ct1", code::INVALID_COLUMN),
    ] {
        assert_eq!(err(&e, sql), code, "{sql}");
    }

    // defaults: rows 10, every = mean spacing, start = last + every, no bounds asked
    let got = q(&e, "select _frowts, forecast(c2, 'rows=5') from ct1");
    assert_eq!(got.len(), 5);
    assert_eq!(got[0][0], Value::Int(T0 + 17));
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(body["schema"][1], json!(["val", "FLOAT", 4]));
    assert_eq!(
        (&body["return_conf"], &body["conf"], &body["every"]),
        (&json!(0), &json!(0.95), &json!(1))
    );
    // no algo: `auto` is the default only where an anode offers it (this
    // fake, like a TDgpt anode, does not: TDengine's holtwinters)
    assert_eq!(body["algo"], "holtwinters");
    *fake.list.lock().unwrap() = list_of(&["holtwinters", "moirai", "auto"]);
    ok(&e, "update all anodes");
    q(&e, "select _frowts, forecast(c2, 'rows=5') from ct1");
    assert_eq!(fake.last_body.lock().unwrap()["algo"], "auto");
    // [analytics] default-forecast-algo
    e.analytics.set_default_forecast_algo("holtwinters");
    q(&e, "select _frowts, forecast(c2, 'rows=5') from ct1");
    assert_eq!(fake.last_body.lock().unwrap()["algo"], "holtwinters");
    e.analytics.set_default_forecast_algo("auto");
    // an explicit algo always wins
    q(
        &e,
        "select _frowts, forecast(c2, 'algo=holtwinters,rows=5') from ct1",
    );
    assert_eq!(fake.last_body.lock().unwrap()["algo"], "holtwinters");

    // options as the system test writes them
    for okq in [
        "select _frowts, forecast(c1, 'algo=holtwinters,timeout=6000') from ct1",
        "select _frowts, forecast(c1, 'algo=holtwinters,timeout=0') from ct1",
        "select _frowts, forecast(c1, ' algo = holtwinters , conf = 0.5 ') from ct1",
        "select _frowts, forecast(c1, 'algo=holtwinters,conf=0.5,') from ct1",
        "select _frowts, forecast(c1, 'algo=holtwinters,,') from ct1",
        "select _frowts, forecast(c1, 'algo=holtwinters, a    =') from ct1",
        "select forecast(c2, c2, c2, c2, 'algo=holtwinters') from ct1",
    ] {
        assert_eq!(q(&e, okq).len(), 10, "{okq}");
    }
    for (bad, want) in [
        (
            "select forecast(c1, 'algo=holtwinters,rows=1025') from ct1",
            code::ANA_ANODE_TOO_MANY_ROWS,
        ),
        (
            "select forecast(c1, 'algo=holtwinters,rows=0') from ct1",
            code::INVALID_PARA,
        ),
        (
            "select forecast(c1, 'algo=holtwinters,rows=-10') from ct1",
            code::INVALID_PARA,
        ),
        (
            "select forecast(c1, 'algo=holtwinters,rows=abc') from ct1",
            code::INVALID_PARA,
        ),
        (
            "select forecast(c1, 'algo=holtwinters,every=0') from ct1",
            code::INVALID_PARA,
        ),
        (
            "select forecast(c1, 'algo=holtwinters,     =   a ,') from ct1",
            code::INVALID_PARA,
        ),
        (
            "select forecast(c1, 'algo=iqr') from ct1",
            code::ANA_ALGO_NOT_LOAD,
        ),
        ("select forecast(c1, c2) from ct1", code::ANA_NO_COVARIATE),
        (
            "select forecast(c1), count(*) from ct1",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select forecast(c1) from ct1 interval(1s)",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select c2, forecast(c1) from ct1",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select forecast(c1), forecast(c2) from ct1",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select forecast(max(c1)) from ct1",
            code::PAR_AGG_FUNC_NESTING,
        ),
        ("select forecast(t1) from ct1", code::INVALID_VALUE),
        (
            "select forecast(c1) from ct1 where _frowts > 0",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
    ] {
        assert_eq!(err(&e, bad), want, "{bad}");
    }

    // covariates (foundation models) and future values (§5.4)
    let got = q(
        &e,
        "select _frowts, forecast(c2, c3, c1, 'algo=moirai,rows=3,dynamic_real_1=[1 2 3],dynamic_real_1_col=c3') from ct1",
    );
    assert_eq!(got.len(), 3);
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(body["type"], "covariate");
    assert_eq!(
        body["schema"],
        json!([
            ["ts", "TIMESTAMP", 8],
            ["val", "FLOAT", 4],
            ["dynamic_real_1", "DOUBLE", 8],
            ["past_dynamic_real_1", "INT", 4]
        ])
    );
    assert_eq!(body["data"][2].as_array().unwrap().len(), 17 + 3);
    for bad in [
        "dynamic_real_1=[1 1 1 1],dynamic_real_1_col=c3",
        "dynamic_real_1=(1 1 1),dynamic_real_1_col=c3",
        "dynamic_real_1=[1, 1, 1],dynamic_real_1_col=c3",
        "dynamic_real_1=['abc'],dynamic_real_1_col=c3",
        "dynamic_real_1=[1 1 1],dynamic_real_1_col=c2",
        "dynamic_real_1=[1 1 1],dynamic_real_1_col=c5",
        "dynamic_real_1=[1 1 1]",
    ] {
        let sql = format!("select forecast(c2, c3, c1, \"algo=moirai,rows=3,{bad}\") from ct1");
        assert_eq!(err(&e, &sql), code::INVALID_PARA, "{bad}");
    }

    // PARTITION BY: one request per group, its rows carry the key
    ok(&e, "create table ct2 using stb tags(2000)");
    let values: Vec<String> = (0..12)
        .map(|i| format!("({}, {i}, 1, 1, 1, 1, 'b')", T0 + i))
        .collect();
    ok(&e, &format!("insert into ct2 values {}", values.join(" ")));
    let before = fake.hits.load(Ordering::SeqCst);
    let got = q(
        &e,
        "select tbname, t1, _frowts, forecast(c1, 'rows=2') from stb partition by tbname, t1",
    );
    assert_eq!(fake.hits.load(Ordering::SeqCst) - before, 2);
    let keys: Vec<(Value, Value)> = got.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    let k = |t: &str, v: i64| (Value::Str(t.into()), Value::Int(v));
    assert_eq!(
        keys,
        [
            k("ct1", 1000),
            k("ct1", 1000),
            k("ct2", 2000),
            k("ct2", 2000)
        ]
    );
    assert_eq!(got[2][2], Value::Int(T0 + 12));
}

#[test]
fn anomaly_windows_become_query_windows() {
    let (e, _dir, fake) = with_fake("anomaly");
    ok(&e, "create database d0");
    ok(
        &e,
        "create table ad (ts timestamp, val double, s varchar(8)) tags (site int)",
    );
    for (t, site) in [("a1", 1), ("a2", 2)] {
        let values: Vec<String> = (0..10)
            .map(|i| format!("({}, {}, 'x')", T0 + 1000 * i, i * site))
            .collect();
        ok(
            &e,
            &format!(
                "insert into {t} using ad tags({site}) values {}",
                values.join(" ")
            ),
        );
    }
    // res [[t3,t3],[t7,t9]] over t1..t10 at 1 s (spec §10.5)
    let got = q(
        &e,
        "select _wstart, _wend, count(*), sum(val) from a2 anomaly_window(val, 'algo=ksigma,k=2')",
    );
    assert_eq!(
        got,
        [
            vec![
                Value::Int(T0 + 2000),
                Value::Int(T0 + 2001),
                Value::Int(1),
                Value::Double(4.0)
            ],
            vec![
                Value::Int(T0 + 6000),
                Value::Int(T0 + 8000),
                Value::Int(3),
                Value::Double(42.0)
            ],
        ]
    );
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(
        body["schema"],
        json!([["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8]])
    );
    assert_eq!(
        (&body["option"], &body["algo"], &body["rows"]),
        (&json!("algo=ksigma,k=2"), &json!("ksigma"), &json!(10))
    );
    // _anomalymark: the anode's code of each window; the pseudo-columns
    // alone make a query
    assert_eq!(
        q(
            &e,
            "select _wstart, _anomalymark, _wduration from a2 anomaly_window(val)"
        ),
        [
            [Value::Int(T0 + 2000), Value::Int(-1), Value::Int(1)],
            [Value::Int(T0 + 6000), Value::Int(-2), Value::Int(2000)],
        ]
    );
    assert_eq!(
        err(&e, "select _anomalymark from a2"),
        code::PAR_NOT_ALLOWED_FUNC
    );
    // the default algorithm is iqr
    q(&e, "select count(*) from a1 anomaly_window(val)");
    assert_eq!(fake.last_body.lock().unwrap()["algo"], "iqr");
    // per partition, with the key beside the windows
    let got = q(
        &e,
        "select tbname, _wstart, count(*) from ad partition by tbname anomaly_window(val) order by _wstart",
    );
    assert_eq!(got.len(), 4);
    assert_eq!(got[0][0], Value::Str("a1".into()));
    assert_eq!(
        got[3][..3],
        [
            Value::Str("a2".into()),
            Value::Int(T0 + 6000),
            Value::Int(3)
        ]
    );
    for (bad, want) in [
        (
            "select count(*) from a1 anomaly_window(s)",
            code::PAR_INVALID_ANOMALY_WIN_TYPE,
        ),
        (
            "select count(*) from a1 anomaly_window(site)",
            code::PAR_INVALID_ANOMALY_WIN_COL,
        ),
        (
            "select count(*) from a1 anomaly_window(val, 'algo=iqr, = 3')",
            code::PAR_INVALID_ANOMALY_WIN_OPT,
        ),
        (
            "select count(*) from a1 anomaly_window(val, 'algo=holtwinters')",
            code::ANA_ALGO_NOT_LOAD,
        ),
        (
            "select val from a1 anomaly_window(val)",
            code::INVALID_VALUE,
        ),
        (
            "select count(*) from a1 where ts < 1700000003000 anomaly_window(val)",
            code::ANA_ANODE_NOT_ENOUGH_ROWS,
        ),
    ] {
        assert_eq!(err(&e, bad), want, "{bad}");
    }
}

#[test]
fn anode_failures_are_clear_errors() {
    let (e, _dir, fake) = with_fake("failures");
    setup(&e, 17);
    let sql = "select forecast(c1, 'timeout=1') from ct1";
    for (mode, want, text) in [
        (Mode::Html, code::ANA_ANODE_RETURN_ERROR, "HTML"),
        (Mode::Garbage, code::INVALID_JSON, "this is not json"),
        (Mode::Empty, code::ANA_URL_RSP_IS_NULL, "no body"),
        (
            Mode::Refuse,
            code::ANA_ANODE_RETURN_ERROR,
            "anode return error: x",
        ),
        (Mode::Slow, code::ANA_URL_CANT_ACCESS, "no answer in time"),
        (Mode::Die, code::ANA_URL_CANT_ACCESS, "can't access"),
    ] {
        fake.set(mode);
        let t = Instant::now();
        let e1 = e.execute(sql, Some("d0")).unwrap_err();
        assert_eq!(e1.code, want, "{mode:?}: {}", e1.msg);
        assert!(e1.msg.contains(text), "{mode:?}: {}", e1.msg);
        assert!(
            t.elapsed() < Duration::from_millis(2900),
            "{mode:?} took {:?}",
            t.elapsed()
        );
        // and the next query is served
        fake.set(Mode::Normal);
        assert_eq!(q(&e, sql).len(), 10, "after {mode:?}");
        assert_eq!(q(&e, "select count(*) from ct1"), [[Value::Int(17)]]);
    }
}

#[test]
fn requests_spread_and_fail_over() {
    let (e, _dir) = open("failover");
    let (a, b) = (Fake::start(), Fake::start());
    ok(&e, &format!("create anode '{}'", a.addr));
    ok(&e, &format!("create anode '{}'", b.addr));
    setup(&e, 17);
    let sql = "select forecast(c1) from ct1";
    for _ in 0..6 {
        assert_eq!(q(&e, sql).len(), 10);
    }
    let (ha, hb) = (a.hits.load(Ordering::SeqCst), b.hits.load(Ordering::SeqCst));
    assert_eq!((ha, hb), (3, 3), "two healthy anodes take turns");
    // one dies: every query still answers, from the other
    b.stop();
    for _ in 0..4 {
        assert_eq!(q(&e, sql).len(), 10);
    }
    assert_eq!(a.hits.load(Ordering::SeqCst), 3 + 4);
    assert_eq!(q(&e, "show anodes")[1][2], Value::Str("offline".into()));
    // an anode that answers with an error is not retried elsewhere
    a.set(Mode::Refuse);
    assert_eq!(err(&e, sql), code::ANA_ANODE_RETURN_ERROR);
}

#[test]
fn real_anode_forecasts_and_finds_anomalies() {
    let (_rt, addr) = real_anode();

    let (e, _dir) = open("real");
    ok(&e, &format!("create anode 'http://{addr}'"));
    assert!(q(&e, "show anodes full").len() >= 10);
    ok(&e, "create database d0");
    ok(&e, "create table ad_sample (ts timestamp, val int)");
    let values: Vec<String> = X17
        .iter()
        .enumerate()
        .map(|(i, v)| format!("({}, {v})", 1_577_808_000_000 + 1000 * i as i64))
        .collect();
    ok(
        &e,
        &format!("insert into ad_sample values {}", values.join(" ")),
    );
    // the system test's forecast (analytics-sql §10.2): data[0][3] is
    // 28.784811943 with the Python anode (statsmodels' optimiser)
    setup(&e, 17);
    let got = q(
        &e,
        "select _frowts,_flow,_fhigh,forecast(c1,'algo=holtwinters,conf=0.5,wncheck=1,period=0,start=1700000000000,every=2') from ct1",
    );
    assert_eq!(got.len(), 10);
    for (i, r) in got.iter().enumerate() {
        assert_eq!(r[0], Value::Int(T0 + 2 * i as i64));
        let (lo, hi, v) = (
            r[1].as_f64().unwrap(),
            r[2].as_f64().unwrap(),
            r[3].as_f64().unwrap(),
        );
        assert!((v - 28.784811943).abs() < 1e-5, "{v}");
        assert!(lo < v && v < hi, "{lo} {v} {hi}");
    }
    let with_rows = q(
        &e,
        "select _frowts, forecast(c1,'algo=holtwinters,every=100,rows=5,start=1700000000000') from ct1",
    );
    let ts: Vec<Value> = with_rows.iter().map(|r| r[0].clone()).collect();
    assert_eq!(
        ts,
        (0..5).map(|i| Value::Int(T0 + 100 * i)).collect::<Vec<_>>()
    );
    // IQR flags the last point (40) alone
    let got = q(
        &e,
        "select _wstart, _wend, _anomalymark, count(*), max(val) from ad_sample anomaly_window(val, 'algo=iqr')",
    );
    assert_eq!(
        got,
        [[
            Value::Int(1_577_808_016_000),
            Value::Int(1_577_808_016_001),
            Value::Int(-1),
            Value::Int(1),
            Value::Int(40)
        ]]
    );

    // TDgpt 3.4's multivariate detectors over several columns: ECOD flags
    // rows 0 and 16 of val alone, row 0 alone once val2 is added (PyOD
    // 2.0.5 on the same matrix)
    ok(&e, "create table mv (ts timestamp, val int, val2 double)");
    let values: Vec<String> = X17
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let other = if i == 3 { 500.0 } else { 10.0 + (i % 5) as f64 };
            format!("({}, {v}, {other})", 1_577_808_000_000 + 1000 * i as i64)
        })
        .collect();
    ok(&e, &format!("insert into mv values {}", values.join(" ")));
    let starts =
        |sql: &str| -> Vec<Value> { q(&e, sql).into_iter().map(|r| r[0].clone()).collect() };
    assert_eq!(
        starts("select _wstart, count(*) from mv anomaly_window(val, 'algo=ecod')"),
        [Value::Int(1_577_808_000_000), Value::Int(1_577_808_016_000)]
    );
    assert_eq!(
        starts("select _wstart, count(*) from mv anomaly_window(val, val2, 'algo=ecod')"),
        [Value::Int(1_577_808_000_000)]
    );
    assert_eq!(
        starts("select _wstart, count(*) from mv anomaly_window((val, val2), 'algo=ecod')"),
        [Value::Int(1_577_808_000_000)]
    );
    // a univariate detector reads the first column only
    assert_eq!(
        starts("select _wstart, count(*) from mv anomaly_window(val, val2, 'algo=iqr')"),
        starts("select _wstart, count(*) from mv anomaly_window(val, 'algo=iqr')")
    );

    // DTW of the protocol spec's vectors (§5.4): 1.6 along 7 steps
    ok(&e, "create table cr (ts timestamp, x double, y double)");
    let xs = [1.0, 1.1, 1.0, 1.2, 1.1];
    let ys = [1.0, 1.5, 1.3, 1.8, 1.6];
    for (i, (x, y)) in xs.iter().zip(ys).enumerate() {
        ok(
            &e,
            &format!("insert into cr values ({}, {x}, {y})", T0 + i as i64),
        );
    }
    let d = q(&e, "select dtw(x, y, 'radius=2') from cr")[0][0]
        .as_f64()
        .unwrap();
    assert!((d - 1.6).abs() < 1e-12, "{d}");
    let path: Vec<Value> = q(&e, "select dtw_path(x, y) from cr")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        path,
        [
            "(0, 0)", "(1, 0)", "(2, 0)", "(3, 1)", "(3, 2)", "(3, 3)", "(4, 4)"
        ]
        .map(|s| Value::Str(s.into()))
    );
    // PEARSONR through /api/v1/analysis/pearsonr: scipy's 0.92103761696
    let r = q(&e, "select pearsonr(x, y) from cr")[0][0]
        .as_f64()
        .unwrap();
    assert!((r - 0.921_037_616_961_804_1).abs() < 1e-12, "{r}");
    // TLCC at lag 0 of a series with itself shifted by nothing: 1
    let got = q(&e, "select tlcc(x, x, 'lag_start=0,lag_end=0') from cr");
    assert_eq!(got, [[Value::Str("(0, 1.0000)".into())]]);
    // linear imputation of a 1 s series with two gaps
    ok(&e, "create table gaps (ts timestamp, v int)");
    let values: Vec<String> = (0..14)
        .filter(|i| *i != 3 && *i != 7)
        .map(|i| format!("({}, {})", T0 + 1000 * i, 2 * i))
        .collect();
    ok(&e, &format!("insert into gaps values {}", values.join(" ")));
    let got = q(
        &e,
        "select _improwts, imputation(v, 'wncheck=0'), _impmark from gaps",
    );
    assert_eq!(got.len(), 14);
    for (i, r) in got.iter().enumerate() {
        let i = i as i64;
        let filled = i64::from(i == 3 || i == 7);
        assert_eq!(r[0], Value::Int(T0 + 1000 * i));
        assert!(
            (r[1].as_f64().unwrap() - 2.0 * i as f64).abs() < 1e-9,
            "{r:?}"
        );
        assert_eq!(r[2], Value::Int(filled));
    }
}

/// Covariate forecasting from SQL through our anode to a moirai model
/// server: the request the model server receives, field by field.
#[test]
fn covariate_forecast_reaches_the_model_server() {
    let model = FakeModel::start(json!({
        "output": [20.5, 21.5, 22.5, 23.5],
        "lower": [19.0, 20.0, 21.0, 22.0],
        "upper": [22.0, 23.0, 24.0, 25.0],
    }));
    let mut config = anode::config::Config::default();
    config
        .tsfm_services
        .insert("moirai".into(), model.url.clone());
    let (_rt, addr) = real_anode_with(config);
    let (e, _dir) = open("covariates");
    ok(&e, &format!("create anode 'http://{addr}'"));
    ok(&e, "create database d0");
    ok(
        &e,
        "create table m (ts timestamp, val double, past_co double, future_co double)",
    );
    let rows: Vec<String> = (0..12)
        .map(|i| format!("({}, {}, {}, {})", T0 + 1000 * i, 10 + i, 100 + i, 200 + i))
        .collect();
    ok(&e, &format!("insert into m values {}", rows.join(" ")));
    let got = q(
        &e,
        "select _frowts, _flow, _fhigh, forecast(val, past_co, future_co, \
         'algo=moirai,rows=4,dynamic_real_1=[1 1 1 1],dynamic_real_1_col=future_co') from m",
    );
    let want: Vec<Vec<Value>> = (0..4)
        .map(|i| {
            vec![
                Value::Int(T0 + 12_000 + 1000 * i),
                Value::Double(19.0 + i as f64),
                Value::Double(22.0 + i as f64),
                Value::Double(20.5 + i as f64),
            ]
        })
        .collect();
    assert_eq!(got, want);
    let requests = model.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    let (path, body) = &requests[0];
    assert_eq!(path, "/ds_predict");
    let history = |base: i64| (0..12).map(|i| (base + i) as f64).collect::<Vec<f64>>();
    assert_eq!(body["input"], json!(history(10)));
    assert_eq!(
        body["ts"],
        json!((0..12).map(|i| T0 + 1000 * i).collect::<Vec<_>>())
    );
    assert_eq!(body["next_len"], 4);
    assert_eq!(body["conf_interval"], 0.95);
    assert_eq!(body["past_dynamic_real"], json!([history(100)]));
    let mut future = history(200);
    future.extend([1.0; 4]);
    assert_eq!(body["dynamic_real"], json!([future]));
    assert_eq!(
        body.as_object().unwrap().len(),
        6,
        "input, ts, next_len, past_dynamic_real, dynamic_real, conf_interval: {body}"
    );
    drop(requests);
    // a model without covariates is refused them by the tsdb already (the
    // anode would say so too: algo::fc::tsfm's tests); a dead server is named
    let err_text = |sql: &str| match e.execute(sql, Some("d0")) {
        Err(err) => err.to_string(),
        Ok(_) => panic!("{sql} ran"),
    };
    let msg = err_text("select forecast(val, past_co, 'algo=timemoe-fc,rows=4') from m");
    assert!(
        msg.contains(
            "Not support co-variate/multi-variate forecast: timemoe-fc forecasts one column"
        ),
        "{msg}"
    );
    let msg = err_text("select forecast(val, 'algo=timesfm,rows=4') from m");
    assert!(
        msg.contains("failed to connect the service: http://127.0.0.1:6065/ds_predict"),
        "{msg}"
    );
}

/// IMPUTATION by `moment` (TDgpt's MOMENT proxy): the anode asks the model
/// server, as upstream does, and the filled grid comes back to SQL; `moment`
/// becomes the default once an anode offers it, as in taosd.
#[test]
fn moment_imputation_reaches_the_model_server() {
    // eleven seconds with the sixth missing; the server fills it
    let grid: Vec<i64> = (0..11).map(|i| T0 + 1000 * i).collect();
    let have: Vec<i64> = grid.iter().copied().filter(|&t| t != T0 + 5000).collect();
    let value = |t: i64| ((t - T0) / 1000) as f64;
    let model = FakeModel::start(json!({
        "target": grid.iter().map(|&t| value(t)).collect::<Vec<_>>(),
        "mask": grid.iter().map(|&t| i64::from(t == T0 + 5000)).collect::<Vec<_>>(),
        "ts": grid,
    }));
    let mut config = anode::config::Config::default();
    config.tsfm_services.insert(
        "moment".into(),
        model.url.replace("/ds_predict", "/imputation"),
    );
    let (_rt, addr) = real_anode_with(config);
    let (e, _dir) = open("moment");
    ok(&e, &format!("create anode 'http://{addr}'"));
    ok(&e, "create database d0");
    ok(&e, "create table g (ts timestamp, v double)");
    let rows: Vec<String> = have
        .iter()
        .map(|&t| format!("({t}, {})", value(t)))
        .collect();
    ok(&e, &format!("insert into g values {}", rows.join(" ")));
    let got = q(
        &e,
        "select _improwts, imputation(v, 'freq=1s,wncheck=0'), _impmark from g",
    );
    let want: Vec<Vec<Value>> = grid
        .iter()
        .map(|&t| {
            vec![
                Value::Int(t),
                Value::Double(value(t)),
                Value::Int(i64::from(t == T0 + 5000)),
            ]
        })
        .collect();
    assert_eq!(got, want);
    let requests = model.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    let (path, body) = &requests[0];
    assert_eq!(path, "/imputation");
    assert_eq!(
        body,
        &json!({"input": have.iter().map(|&t| value(t)).collect::<Vec<_>>(), "ts": have,
                "precision": "ms", "freq": "1S"})
    );
}

/// TDgpt 3.4's deployed models: a configuration POSTed to `/deploy` is
/// listed (and shown by SHOW ANODES FULL after UPDATE ANODE), forecasts
/// from SQL, and `/undeploy` removes it.
#[test]
fn a_deployed_arima_model_from_deploy_to_undeploy() {
    let models = std::env::temp_dir().join(format!("tsdb-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&models);
    let config = anode::config::Config {
        model_dir: models.clone(),
        ..Default::default()
    };
    let (_rt, addr) = real_anode_with(config);
    let http = reqwest::blocking::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let r = http
            .post(format!("http://{addr}{path}"))
            .json(&body)
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<serde_json::Value>().unwrap())
    };
    let deploy = json!({"model_name": "monthly", "config": {
        "algo": "arima", "best_params": {"p": 1, "d": 1, "q": 0, "P": 0, "D": 1, "Q": 0},
        "seasonal_order_s": 12, "freq": "MS"}});
    let (code, answer) = post("/deploy", deploy.clone());
    assert_eq!(code, 200, "{answer}");
    assert_eq!(answer["message"], "Model monthly deployed successfully");
    let (code, answer) = post("/deploy", deploy);
    assert_eq!(
        (code, answer["error"].clone()),
        (400, json!("Model with name monthly already exists"))
    );
    let (code, answer) = post(
        "/deploy",
        json!({"model_name": "../x", "config": {"algo": "arima"}}),
    );
    assert_eq!(
        (code, answer["error"].clone()),
        (400, json!("Invalid model_name in request payload"))
    );
    assert!(models.join("dynamic/monthly.json").is_file());

    let (e, _dir) = open("deployed");
    ok(&e, &format!("create anode 'http://{addr}'"));
    let listed: Vec<Value> = q(&e, "show anodes full")
        .into_iter()
        .filter(|r| r[2] == Value::Str("monthly".into()))
        .map(|r| r[1].clone())
        .collect();
    assert_eq!(listed, [Value::Str("forecast".into())]);
    ok(&e, "create database d0");
    ok(&e, "create table air (ts timestamp, val double)");
    // a seasonal series of 48 months
    let rows: Vec<String> = (0..48)
        .map(|i| {
            let season = [
                0.0, 2.0, 5.0, 9.0, 12.0, 15.0, 14.0, 11.0, 7.0, 4.0, 1.0, -1.0,
            ][i % 12];
            format!(
                "({}, {})",
                T0 - 86_400_000 * 30 * (48 - i as i64),
                100.0 + i as f64 + season
            )
        })
        .collect();
    ok(&e, &format!("insert into air values {}", rows.join(" ")));
    let got = q(
        &e,
        "select _fmodel, forecast(val, 'algo=monthly,rows=12') from air",
    );
    assert_eq!(got.len(), 12);
    assert_eq!(
        got[0][0],
        Value::Str("SARIMAX(1, 1, 0)x(0, 1, 0, 12)".into())
    );
    // the season carried on: month 5 (index 53 → 53 % 12 = 5) is the peak
    let values: Vec<f64> = got.iter().map(|r| r[1].as_f64().unwrap()).collect();
    let peak = values.iter().cloned().fold(f64::MIN, f64::max);
    assert_eq!(values[5], peak, "{values:?}");

    let (code, answer) = post("/undeploy", json!({"model_name": "monthly"}));
    assert_eq!(code, 200, "{answer}");
    let (code, _) = post("/undeploy", json!({"model_name": "monthly"}));
    assert_eq!(code, 404);
    let (code, answer) = post("/undeploy", json!({"model_name": "arima"}));
    assert_eq!(
        (code, answer["error"].clone()),
        (
            400,
            json!("try to unregister built-in model:'arima', operation not allowed")
        )
    );
    ok(&e, "update all anodes");
    assert!(
        q(&e, "show anodes full")
            .iter()
            .all(|r| r[2] != Value::Str("monthly".into()))
    );
    let _ = std::fs::remove_dir_all(&models);
}

#[test]
fn corr_is_computed_locally() {
    let (e, _dir) = open("corr");
    ok(&e, "create database d0");
    ok(
        &e,
        "create table st (ts timestamp, a int, b double, c double, k int, n int, s varchar(4), g bool) tags (t int)",
    );
    let xs = [1, 2, 3, 4, 5];
    let ys = [2, 4, 5, 4, 5];
    for (tb, t) in [("c1", 1), ("c2", 2)] {
        let rows: Vec<String> = xs
            .iter()
            .zip(ys)
            .map(|(x, y)| {
                format!(
                    "({}, {x}, {y}, {}, 7, NULL, 'z', true)",
                    T0 + x + 10 * t,
                    -x
                )
            })
            .collect();
        ok(
            &e,
            &format!(
                "insert into {tb} using st tags({t}) values {}",
                rows.join(" ")
            ),
        );
    }
    let one = |sql: &str| q(&e, sql)[0][0].clone();
    // no anode registered: CORR needs none
    let r = one("select corr(a, b) from c1").as_f64().unwrap();
    assert!((r - 6.0 / 60f64.sqrt()).abs() < 1e-12, "{r}");
    assert_eq!(one("select corr(a, c) from c1"), Value::Double(-1.0));
    assert_eq!(one("select corr(a, k) from c1"), Value::Double(0.0));
    assert_eq!(one("select corr(1, 1) from c1"), Value::Double(0.0));
    assert_eq!(one("select corr(a, n) from c1"), Value::Null);
    assert_eq!(one("select corr(n, a) from c1"), Value::Null);
    // over the super table: both children's rows
    let r = one("select corr(a, b) from st").as_f64().unwrap();
    assert!((r - 6.0 / 60f64.sqrt()).abs() < 1e-12, "{r}");
    let per: Vec<Vec<Value>> = q(&e, "select corr(a, c) from st partition by tbname");
    assert_eq!(per, [[Value::Double(-1.0)], [Value::Double(-1.0)]]);
    for bad in [
        "select corr(a) from c1",
        "select corr(a, s) from c1",
        "select corr(a, b, b) from c1",
        "select corr(a, g) from c1",
    ] {
        assert_eq!(err(&e, bad), code::INVALID_VALUE, "{bad}");
    }
}

#[test]
fn imputation_fills_the_grid() {
    let (e, _dir, fake) = with_fake("imputation");
    ok(&e, "create database d0");
    ok(
        &e,
        "create table m (ts timestamp, v int, s varchar(4)) tags (site int)",
    );
    // 12 points on a 1 s grid with t3 and t7 missing
    for (t, site) in [("m1", 1), ("m2", 2)] {
        let values: Vec<String> = (0..14)
            .filter(|i| *i != 3 && *i != 7)
            .map(|i| format!("({}, {}, 'x')", T0 + 1000 * i, i * site))
            .collect();
        ok(
            &e,
            &format!(
                "insert into {t} using m tags({site}) values {}",
                values.join(" ")
            ),
        );
    }
    let got = q(
        &e,
        "select _improwts, imputation(v, 'algo=linear,freq=1s'), _impmark from m1",
    );
    assert_eq!(got.len(), 14);
    assert_eq!(
        got[2..5],
        [
            [Value::Int(T0 + 2000), Value::Double(2.0), Value::Int(0)],
            [Value::Int(T0 + 3000), Value::Double(-1.0), Value::Int(1)],
            [Value::Int(T0 + 4000), Value::Double(4.0), Value::Int(0)],
        ]
    );
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(
        (
            &body["algo"],
            &body["freq"],
            &body["prec"],
            &body["rows"],
            &body["option"]
        ),
        (
            &json!("linear"),
            &json!("1s"),
            &json!("ms"),
            &json!(12),
            &json!("algo=linear,freq=1s")
        )
    );
    assert_eq!(
        body["schema"],
        json!([["ts", "TIMESTAMP", 8], ["val", "INT", 4]])
    );
    // no algo named and no anode offers moment: linear; freq 1s by default
    q(&e, "select imputation(v) from m1");
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(
        (&body["algo"], &body["freq"]),
        (&json!("linear"), &json!("1s"))
    );
    // per partition, keys beside
    let got = q(
        &e,
        "select tbname, _impmark, imputation(v, 'algo=linear') from m partition by tbname",
    );
    assert_eq!(got.len(), 28);
    assert_eq!(
        got[14 + 7],
        [Value::Str("m2".into()), Value::Int(1), Value::Double(-1.0)]
    );
    for (bad, want) in [
        (
            "select imputation(v, 'freq=1x') from m1",
            code::INVALID_PARA,
        ),
        (
            "select imputation(v, 'freq=10us') from m1",
            code::INVALID_PARA,
        ),
        // 1 ms grid over 13 s: 12,990 rows to add, more than 2048
        (
            "select imputation(v, 'freq=1ms') from m1",
            code::INVALID_PARA,
        ),
        // 10..8192 input rows
        (
            "select imputation(v) from m1 where ts < 1700000005000",
            code::INVALID_PARA,
        ),
        ("select imputation(s) from m1", code::INVALID_VALUE),
        ("select imputation(site) from m1", code::INVALID_VALUE),
        ("select imputation(v, v) from m1", code::INVALID_VALUE),
        (
            "select imputation(v, 'algo=moment') from m1",
            code::ANA_ALGO_NOT_LOAD,
        ),
        ("select _impmark, v from m1", code::INVALID_COLUMN),
        (
            "select imputation(v), v from m1",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select imputation(v), forecast(v) from m1",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select imputation(v) from m1 interval(1s)",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select imputation(v) from m1 where _impmark = 1",
            code::PAR_NOT_ALLOWED_FUNC,
        ),
        (
            "select count(*) from m1 where _impmark = 1",
            code::INVALID_COLUMN,
        ),
    ] {
        assert_eq!(err(&e, bad), want, "{bad}");
    }
}

#[test]
fn dtw_and_tlcc_rows() {
    let (e, _dir, fake) = with_fake("correlation");
    ok(&e, "create database d0");
    ok(
        &e,
        "create table c (ts timestamp, x double, y float, s varchar(4))",
    );
    let xs = [1.0, 1.1, 1.0, 1.2, 1.1];
    let ys = [1.0, 1.5, 1.3, 1.8, 1.6];
    let values: Vec<String> = xs
        .iter()
        .zip(ys)
        .enumerate()
        .map(|(i, (x, y))| format!("({}, {x}, {y}, 'a')", T0 + i as i64))
        .collect();
    ok(&e, &format!("insert into c values {}", values.join(" ")));
    assert_eq!(
        q(&e, "select dtw(x, y, 'radius=2') from c"),
        [[Value::Double(1.6000000000000003)]]
    );
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(
        body,
        json!({"schema": [["val", "DOUBLE", 8], ["val1", "FLOAT", 4]],
               "data": [xs, ys.map(|y| y as f32 as f64)],
               "option": "radius=2,algo=dtw", "algo": "dtw", "wncheck": 1, "rows": 5, "protocol": 1.0})
    );
    let path: Vec<Value> = q(&e, "select dtw_path(x, y) from c")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(
        path,
        [
            "(0, 0)", "(1, 0)", "(2, 0)", "(3, 1)", "(3, 2)", "(3, 3)", "(4, 4)"
        ]
        .map(|s| Value::Str(s.into()))
    );
    assert_eq!(
        fake.last_body.lock().unwrap()["option"],
        "algo=dtw,radius=1"
    );
    let got: Vec<Value> = q(
        &e,
        "select tlcc(x, y, 'lag_start=-1,lag_end=1,wncheck=0') from c",
    )
    .into_iter()
    .map(|r| r[0].clone())
    .collect();
    assert_eq!(
        got,
        ["(-1, -0.2425)", "(0, 0.9210)", "(1, NULL)"].map(|s| Value::Str(s.into()))
    );
    let body = fake.last_body.lock().unwrap().clone();
    assert_eq!(
        (&body["option"], &body["wncheck"]),
        (
            &json!("lag_start=-1,lag_end=1,wncheck=0,algo=tlcc"),
            &json!(0)
        )
    );
    for (bad, want) in [
        ("select dtw(x, y, 'radius=0') from c", code::INVALID_PARA),
        ("select dtw(x, y, 'radius=11') from c", code::INVALID_PARA),
        ("select dtw(x, y, 'algo=tlcc') from c", code::INVALID_PARA),
        (
            "select tlcc(x, y, 'lag_start=1,lag_end=-1') from c",
            code::INVALID_PARA,
        ),
        // |lag| must be below the 5 rows
        (
            "select tlcc(x, y, 'lag_start=-5,lag_end=0') from c",
            code::INVALID_PARA,
        ),
        ("select dtw(x) from c", code::INVALID_VALUE),
        ("select dtw(x, s) from c", code::INVALID_VALUE),
        ("select dtw(x, max(y)) from c", code::PAR_AGG_FUNC_NESTING),
        ("select dtw(x, y), x from c", code::PAR_NOT_ALLOWED_FUNC),
        (
            "select dtw(x, y) from c where ts > 0 and ts < 1",
            code::ANA_ANODE_NOT_ENOUGH_ROWS,
        ),
    ] {
        assert_eq!(err(&e, bad), want, "{bad}");
    }
}
