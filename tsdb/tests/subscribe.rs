//! Data subscriptions: the seed's walkthrough through the library API
//! (sync and async), and over REST with `tsdb subscribe`.

mod common;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tsdb::engine::Engine;
use tsdb::result::Output;
use tsdb::subscribe::{Subscription, subscribe_async};

const SQL: &str = "select ts, current, location from meters where current > 10";

fn ok(e: &Engine, sql: &str) {
    e.execute(sql, Some("power"))
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The seed's meters: d1001 10.3 A and 12.6 A, d1002 12.3 A, d1003 5.1 A.
fn seed(e: &Engine) {
    for sql in [
        "create database power",
        "create stable meters (ts timestamp, current float, voltage int, phase float) tags (location binary(64), groupid int)",
        "insert into d1001 using meters tags ('Beijing.Chaoyang', 2) values ('2018-10-03 14:38:05.000', 10.3, 219, 0.31) ('2018-10-03 14:38:15.000', 12.6, 218, 0.33)",
        "insert into d1002 using meters tags ('Beijing.Chaoyang', 3) values ('2018-10-03 14:38:16.800', 12.3, 221, 0.31)",
        "insert into d1003 using meters tags ('Beijing.Haidian', 2) values ('2018-10-03 14:38:05.500', 5.1, 220, 0.33)",
    ] {
        ok(e, sql);
    }
}

fn currents(out: Output) -> Vec<f64> {
    match out {
        Output::Rows { rows, .. } => rows.iter().map(|r| r[1].as_f64().unwrap()).collect(),
        other => panic!("expected rows, got {other:?}"),
    }
}

fn round(v: Vec<f64>) -> Vec<f64> {
    v.into_iter().map(|x| (x * 10.0).round() / 10.0).collect()
}

#[test]
fn seed_walkthrough_with_saved_progress() {
    let dir = common::temp_dir("subscribe-seed");
    let e = Arc::new(Engine::open(&dir.join("data")).unwrap());
    seed(&e);
    let sub = |restart: bool| {
        Subscription::subscribe(
            e.clone(),
            restart,
            "topic",
            SQL,
            Some("power"),
            Duration::ZERO,
        )
        .unwrap()
    };
    let mut s = sub(false);
    // history first, then only what is new
    assert_eq!(round(currents(s.consume().unwrap())), [10.3, 12.6, 12.3]);
    assert!(currents(s.consume().unwrap()).is_empty());
    ok(&e, "insert into d1001 values (now, 12.4, 221, 0.31)");
    ok(&e, "insert into d1003 values (now, 9.9, 221, 0.31)");
    // a row older than what d1002 delivered is never delivered (2.x)
    ok(
        &e,
        "insert into d1002 values ('2018-10-03 14:38:16.000', 13.0, 221, 0.31)",
    );
    assert_eq!(round(currents(s.consume().unwrap())), [12.4]);
    // the mark is the newest row scanned, matching or not: d1003's is its
    // 9.9 A row of `now`, so an older 11.0 A row is late; a new table's
    // old rows are new to the subscription (each table has its own mark)
    ok(
        &e,
        "insert into d1003 values ('2018-10-03 14:39:00.000', 11.0, 221, 0.31)",
    );
    ok(
        &e,
        "insert into d1004 using meters tags ('Beijing.Haidian', 3) values ('2018-10-03 14:38:00.000', 10.5, 220, 0.3)",
    );
    assert_eq!(round(currents(s.consume().unwrap())), [10.5]);
    assert!(
        dir.join("data/subscribe/topic").exists(),
        "progress is saved with each consume"
    );

    // a restarted subscriber resumes
    s.unsubscribe(true).unwrap();
    let mut s = sub(false);
    assert!(currents(s.consume().unwrap()).is_empty());
    // restart: everything again
    let mut s2 = sub(true);
    assert_eq!(
        round(currents(s2.consume().unwrap())),
        [10.5, 10.3, 12.6, 13.0, 12.3, 11.0, 12.4]
    );
    // unsubscribe(false) deletes the progress: the next subscribe starts over
    s.unsubscribe(false).unwrap();
    assert!(!dir.join("data/subscribe/topic").exists());
    drop(s2);
    let mut s = sub(false);
    assert_eq!(currents(s.consume().unwrap()).len(), 7);

    // errors
    let bad = |topic: &str, sql: &str| {
        Subscription::subscribe(e.clone(), false, topic, sql, Some("power"), Duration::ZERO)
            .err()
            .unwrap()
            .msg
    };
    assert!(bad("../x", SQL).starts_with("invalid topic '../x'"));
    assert_eq!(
        bad("t2", "select avg(current) from meters"),
        "a subscription delivers stored rows: its SELECT needs FROM and no aggregates, windows or grouping"
    );
}

#[test]
fn consume_waits_for_the_interval_and_async_calls_back() {
    let dir = common::temp_dir("subscribe-async");
    let e = Arc::new(Engine::open(&dir.join("data")).unwrap());
    seed(&e);
    let interval = Duration::from_millis(300);
    let mut s =
        Subscription::subscribe(e.clone(), false, "sync", SQL, Some("power"), interval).unwrap();
    let t = Instant::now();
    s.consume().unwrap();
    s.consume().unwrap();
    assert!(t.elapsed() >= interval, "the second consume waited");

    let got: Arc<Mutex<Vec<f64>>> = Arc::default();
    let sink = got.clone();
    let sub = Subscription::subscribe(
        e.clone(),
        false,
        "async",
        SQL,
        Some("power"),
        Duration::from_millis(20),
    )
    .unwrap();
    let a = subscribe_async(sub, move |r| {
        sink.lock().unwrap().extend(currents(r.unwrap()))
    });
    ok(&e, "insert into d1002 values (now, 15.5, 221, 0.31)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while got.lock().unwrap().len() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    a.unsubscribe(true).unwrap();
    assert_eq!(round(got.lock().unwrap().clone()), [10.3, 12.6, 12.3, 15.5]);
}

#[test]
fn rest_and_cli() {
    let dir = common::temp_dir("subscribe-rest");
    let server = common::Server::start(&dir.join("data"));
    for sql in [
        "create database power",
        "create stable power.meters (ts timestamp, current float, voltage int, phase float) tags (location binary(64), groupid int)",
        "insert into power.d1001 using power.meters tags ('Beijing.Chaoyang', 2) values ('2018-10-03 14:38:05.000', 10.3, 219, 0.31) ('2018-10-03 14:38:15.000', 12.6, 218, 0.33)",
        "insert into power.d1002 using power.meters tags ('Beijing.Chaoyang', 3) values ('2018-10-03 14:38:16.800', 12.3, 221, 0.31)",
    ] {
        assert_eq!(server.json(None, sql)["code"], 0, "{sql}");
    }
    let cli = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tsdb"))
            .args(["subscribe", "-P", &server.port().to_string(), "-d", "power"])
            .args(["--topic", "cli", "--sql", SQL])
            .args(extra)
            .env("TZ", "UTC")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let first = cli(&["--once"]);
    assert_eq!(
        first,
        "           ts            |       current        |            location            |\n\
         ==================================================================================\n \
         2018-10-03 14:38:05.000 |             10.30000 | Beijing.Chaoyang               |\n \
         2018-10-03 14:38:15.000 |             12.60000 | Beijing.Chaoyang               |\n \
         2018-10-03 14:38:16.800 |             12.30000 | Beijing.Chaoyang               |\n"
    );
    assert_eq!(cli(&["--once"]), "", "nothing new");
    assert!(dir.join("data/subscribe/cli").exists());
    assert_eq!(
        server.json(
            None,
            "insert into power.d1001 values ('2018-10-03 14:38:20.000', 12.4, 221, 0.31)"
        )["code"],
        0
    );
    let next = cli(&["--once"]);
    assert!(
        next.contains("2018-10-03 14:38:20.000 |             12.40000"),
        "{next}"
    );
    assert_eq!(next.lines().count(), 3);
    assert_eq!(cli(&["--once", "--restart"]).lines().count(), 6);
    // unsubscribe without keeping the progress: everything again
    cli(&["--unsubscribe"]);
    assert!(!dir.join("data/subscribe/cli").exists());
    assert_eq!(cli(&["--once"]).lines().count(), 6);
    // a running subscriber prints a new row within its interval
    let mut child = Command::new(env!("CARGO_BIN_EXE_tsdb"))
        .args(["subscribe", "-P", &server.port().to_string(), "-d", "power"])
        .args(["--topic", "cli", "--sql", SQL, "--interval", "100"])
        .env("TZ", "UTC")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.json(
        None,
        "insert into power.d1002 values ('2018-10-03 14:38:30.000', 20.5, 221, 0.31)",
    );
    std::thread::sleep(Duration::from_millis(600));
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("20.50000"), "{text}");
}
