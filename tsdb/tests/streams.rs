//! Continuous queries through the engine, with the scheduler driven by the
//! test's clock (`stream::run_due(engine, now)`) instead of sleeps.

mod common;

use tsdb::engine::Engine;
use tsdb::result::Output;
use tsdb::stream::run_due;
use tsdb::types::Value;

fn rows(e: &Engine, sql: &str) -> Vec<Vec<Value>> {
    match e
        .execute(sql, Some("power"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    {
        Output::Rows { rows, .. } => rows,
        other => panic!("{sql}: expected rows, got {other:?}"),
    }
}

fn ok(e: &Engine, sql: &str) {
    e.execute(sql, Some("power"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn err(e: &Engine, sql: &str) -> String {
    match e.execute(sql, Some("power")) {
        Ok(o) => panic!("{sql} should fail, got {o:?}"),
        Err(e) => e.msg,
    }
}

/// A whole minute ten minutes ago: recent enough for `keep`.
fn base() -> i64 {
    let now = tsdb::types::Precision::Ms.now();
    now / 60_000 * 60_000 - 10 * 60_000
}

/// The seed's meters with rows around `b`.
fn seed(e: &Engine, b: i64) {
    ok(e, "create database if not exists power");
    ok(
        e,
        "create stable if not exists meters (ts timestamp, current float, voltage int, phase float) tags (location binary(64), groupid int)",
    );
    ok(
        e,
        &format!(
            "insert into d1001 using meters tags ('Beijing.Chaoyang', 2) values ({}, 10.3, 219, 0.31) ({}, 12.6, 218, 0.33)",
            b + 5_000,
            b + 15_000
        ),
    );
    ok(
        e,
        &format!(
            "insert into d1002 using meters tags ('Beijing.Chaoyang', 3) values ({}, 12.3, 221, 0.31) ({}, 11.0, 220, 0.30)",
            b + 16_800,
            b + 65_000
        ),
    );
}

fn as_f64(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

#[test]
fn avg_vol_computes_closed_windows_once() {
    let dir = common::temp_dir("stream-avg-vol");
    let e = Engine::open(&dir.join("data")).unwrap();
    let b = base();
    seed(&e, b);
    ok(
        &e,
        "create table avg_vol as select avg(voltage) from meters interval(1m) sliding(30s)",
    );
    // the result table: ts, then avg(voltage) as avg_voltage_
    let desc = rows(&e, "describe avg_vol");
    let names: Vec<&Value> = desc.iter().map(|r| &r[0]).collect();
    assert_eq!(
        names,
        [&Value::Str("ts".into()), &Value::Str("avg_voltage_".into())]
    );
    assert_eq!(desc[1][1], Value::Str("DOUBLE".into()));

    // nothing closed yet at b + 30 s (window [b-30s, b+30s) needs +6 s)
    assert_eq!(run_due(&e, b + 30_000), 0);
    // at b + 200 s: windows starting b-30s .. b+90s are closed (+6 s delay);
    // b+90s and later hold no row
    let n = run_due(&e, b + 200_000);
    assert_eq!(n, 4);
    let got = rows(&e, "select ts, avg_voltage_ from avg_vol");
    let want = [
        (b - 30_000, (219.0 + 218.0 + 221.0) / 3.0),
        (b, (219.0 + 218.0 + 221.0) / 3.0),
        (b + 30_000, 220.0),
        (b + 60_000, 220.0),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (r, (ts, avg)) in got.iter().zip(want) {
        assert_eq!(r[0], Value::Int(ts));
        assert!((as_f64(&r[1]) - avg).abs() < 1e-9, "{r:?}");
    }
    // the same clock again: nothing new
    assert_eq!(run_due(&e, b + 200_000), 0);

    // a late row in computed windows does not change them (2.x)
    ok(
        &e,
        &format!("insert into d1001 values ({}, 1.0, 300, 0.1)", b + 10_000),
    );
    // a new row at b + 250 s falls in the windows b+210s and b+240s
    ok(
        &e,
        &format!("insert into d1001 values ({}, 1.0, 230, 0.1)", b + 250_000),
    );
    assert_eq!(run_due(&e, b + 400_000), 2);
    let got = rows(&e, "select ts, avg_voltage_ from avg_vol");
    assert_eq!(got.len(), 6);
    assert!(
        (as_f64(&got[0][1]) - 219.0 - 1.0 / 3.0).abs() < 1e-9,
        "late row ignored"
    );
    assert_eq!(got[4][0], Value::Int(b + 210_000));
    assert_eq!(got[5][0], Value::Int(b + 240_000));
    assert_eq!(got[5][1], Value::Double(230.0));

    // SHOW STREAMS: id, name, target, sql, status, created, last run, rows, next window, error
    let shown = rows(&e, "show streams");
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0][1], Value::Str("avg_vol".into()));
    assert_eq!(shown[0][2], Value::Str("power.avg_vol".into()));
    assert_eq!(
        shown[0][3],
        Value::Str("select avg(voltage) from meters interval(1m) sliding(30s)".into())
    );
    assert_eq!(shown[0][4], Value::Str("running".into()));
    assert_eq!(shown[0][6], Value::Int(b + 400_000));
    assert_eq!(shown[0][7], Value::Int(6));
    assert_eq!(shown[0][9], Value::Null);

    // a restart resumes where it was: no gap, no duplicate
    drop(e);
    let e = Engine::open(&dir.join("data")).unwrap();
    assert_eq!(rows(&e, "show streams").len(), 1);
    assert_eq!(run_due(&e, b + 400_000), 0);
    ok(
        &e,
        &format!("insert into d1002 values ({}, 1.0, 240, 0.1)", b + 405_000),
    );
    assert_eq!(run_due(&e, b + 600_000), 2);
    let got = rows(&e, "select ts from avg_vol");
    assert_eq!(got.len(), 8);
    let mut ts: Vec<i64> = got.iter().map(|r| r[0].as_i64().unwrap()).collect();
    ts.dedup();
    assert_eq!(ts.len(), 8);
    assert_eq!(ts[6..], [b + 360_000, b + 390_000]);

    // dropping the result table ends the stream
    ok(&e, "drop table avg_vol");
    assert!(rows(&e, "show streams").is_empty());
    assert_eq!(run_due(&e, b + 900_000), 0);
}

#[test]
fn bounds_kill_and_errors() {
    let dir = common::temp_dir("stream-bounds");
    let e = Engine::open(&dir.join("data")).unwrap();
    let now = tsdb::types::Precision::Ms.now();
    let b = base();
    seed(&e, b);
    // bounded by the frozen now: only rows after creation, for one minute
    ok(
        &e,
        "create table bounded as select count(*), max(voltage) from meters where ts > now and ts <= now + 1m interval(10s)",
    );
    let created = rows(&e, "show streams")[0][5].as_i64().unwrap();
    assert!(created >= now);
    // history before `now` is outside the bound; rows inside it count
    for (dt, v) in [(5_000, 1), (6_000, 2), (45_000, 3), (70_000, 4)] {
        ok(
            &e,
            &format!("insert into d1001 values ({}, 1.0, {v}, 0.1)", created + dt),
        );
    }
    assert!(run_due(&e, created + 10 * 60_000) >= 2);
    let got = rows(&e, "select count___, max_voltage_ from bounded");
    let counts: i64 = got.iter().map(|r| r[0].as_i64().unwrap()).sum();
    assert_eq!(
        counts, 3,
        "the row past the end bound is not counted: {got:?}"
    );
    let shown = rows(&e, "show streams");
    assert_eq!(shown[0][4], Value::Str("completed".into()));
    // a completed stream writes nothing more
    ok(
        &e,
        &format!(
            "insert into d1001 values ({}, 1.0, 9, 0.1)",
            created + 20_000
        ),
    );
    assert_eq!(run_due(&e, created + 20 * 60_000), 0);

    // the 3.x form: a name, options, FILL_HISTORY 0 (no history)
    ok(
        &e,
        "create stream s1 watermark 1s into m1 as select _wstart, count(*) as n from meters interval(1m)",
    );
    ok(
        &e,
        "create stream if not exists s1 into m1 as select count(*) from meters interval(1m)",
    );
    let shown = rows(&e, "show streams");
    assert_eq!(shown.len(), 2);
    assert_eq!(shown[1][1], Value::Str("s1".into()));
    assert_eq!(
        rows(&e, "describe m1")
            .iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>(),
        [Value::Str("ts".into()), Value::Str("n".into())]
    );
    run_due(&e, created + 30 * 60_000);
    let m1 = rows(&e, "select ts, n from m1");
    assert!(
        m1.iter()
            .all(|r| r[0].as_i64().unwrap() >= created / 60_000 * 60_000),
        "no window before the creation: {m1:?}"
    );
    ok(&e, "drop stream s1");
    ok(&e, "drop stream if exists s1");
    assert_eq!(err(&e, "drop stream s1"), "Stream not exist: s1");

    // KILL STREAM (2.x also conn:id)
    let id = rows(&e, "show streams")[0][0].as_i64().unwrap();
    ok(&e, &format!("kill stream 0:{id}"));
    assert!(rows(&e, "show streams").is_empty());
    assert_eq!(err(&e, "kill stream 99"), "Stream not exist: 99");

    for (sql, msg) in [
        (
            "create table x1 as select avg(voltage) from meters",
            "a continuous query needs INTERVAL (and SLIDING)",
        ),
        (
            "create table x2 as select avg(voltage) from meters partition by tbname interval(1m)",
            "PARTITION BY is not supported in a continuous query",
        ),
        (
            "create table x3 as select avg(voltage) from nope interval(1m)",
            "Table does not exist: nope (database power)",
        ),
        (
            "create table d1001 as select avg(voltage) from meters interval(1m)",
            "Table already exists: d1001",
        ),
        (
            "create stream s2 trigger at_once into x4 as select count(*) from meters interval(1m)",
            "TRIGGER AT_ONCE is not supported: windows are computed when they close",
        ),
        (
            "create stream s3 ignore expired 0 into x5 as select count(*) from meters interval(1m)",
            "IGNORE EXPIRED 0 is not supported: late rows do not recompute a window",
        ),
    ] {
        let got = err(&e, sql);
        assert!(got.contains(msg), "{sql}: {got}");
    }
    assert!(rows(&e, "show streams").is_empty());
}
