//! Issue 6's benchmark: a continuous query over 10,000 child tables under a
//! sustained insert load of 100 k rows/s, and how soon a subscription
//! delivers new rows under that load.
//!
//!     cargo bench -p tsdb --bench stream          # 10,000 tables, 100 k rows/s, 20 s
//!     TABLES=1000 RATE=20000 SECS=10 cargo bench -p tsdb --bench stream
//!
//! The server runs in-process (REST on 127.0.0.1:0 and the stream
//! scheduler, as `tsdb serve` has them). 4 writers post, every 100 ms, one
//! INSERT each with a quarter of the tick's rows (one row per child table
//! at 10,000 tables and 100 k rows/s), timestamped with the tick's time.
//! Two phases of SECS seconds each:
//!
//! 1. the load alone (the baseline of INSERT latency);
//! 2. the load with `create table avg_vol as select avg(voltage),
//!    count(voltage) from meters where ts > now interval(2s) sliding(1s)`
//!    and a subscription (library API, sync, INTERVAL_MS = 1000) to
//!    `select ts, current from meters where current > 100`, matched only by
//!    probe rows that a fifth thread inserts into child table `probe` every
//!    200 ms.
//!
//! It reports the INSERT latency of both phases (the scheduler must not
//! hold writers up), each window's lag (from the window's end to its row in
//! `avg_vol`; the stream keeps up when the lag stays near the delay of
//! interval/10 plus the 250 ms tick and does not grow), whether every
//! window counted every row written into it, and each probe's delivery
//! latency (from its INSERT's acknowledgement to the consume that returned
//! it; the target is within 2 × the interval).

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{env, post, quantile};
use tsdb::engine::Engine;
use tsdb::result::Output;
use tsdb::stream::Scheduler;
use tsdb::subscribe::Subscription;
use tsdb::types::Value;

const WRITERS: usize = 4;
const TICK_MS: i64 = 100;
const PROBE_MS: u64 = 200;
/// The stream's window and sliding, ms.
const WINDOW_MS: i64 = 2000;
const SLIDING_MS: i64 = 1000;

fn now_ms() -> i64 {
    tsdb::types::Precision::Ms.now()
}

fn rows(o: Output) -> Vec<Vec<Value>> {
    match o {
        Output::Rows { rows, .. } => rows,
        other => panic!("expected rows, got {other:?}"),
    }
}

/// The load: from `t0` for `secs`, WRITERS threads each post their share
/// of every tick's rows. Returns each INSERT's latency (ms, from its
/// scheduled time to the answer, so falling behind shows) and the number of
/// rows per tick timestamp that were acknowledged.
fn load(
    addr: &str,
    tables: usize,
    rate: usize,
    t0: i64,
    secs: u64,
) -> (Vec<f64>, Vec<(i64, usize)>) {
    let per_tick = (rate as i64 * TICK_MS / 1000) as usize;
    let ticks = secs as i64 * 1000 / TICK_MS;
    let lat = Mutex::new(Vec::new());
    let acked = Mutex::new(BTreeMap::<i64, usize>::new());
    let start = Instant::now();
    std::thread::scope(|sc| {
        for w in 0..WRITERS {
            let (lat, acked) = (&lat, &acked);
            sc.spawn(move || {
                let mut sql = String::new();
                for k in 0..ticks {
                    let due = Duration::from_millis((k * TICK_MS) as u64);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        std::thread::sleep(wait);
                    }
                    let tick_ts = t0 + k * TICK_MS;
                    sql.clear();
                    sql.push_str("insert into ");
                    let mut n = 0;
                    for i in (w..per_tick).step_by(WRITERS) {
                        // row i of the tick: table i mod tables, 1 ms apart
                        // when a table takes more than one row per tick
                        let t = i % tables;
                        let ts = tick_ts + (i / tables) as i64;
                        let current = 5 + (i % 7);
                        let voltage = 218 + (t % 5);
                        sql.push_str(&format!("d{t} values ({ts},{current},{voltage},0.3) "));
                        n += 1;
                    }
                    if n == 0 {
                        continue;
                    }
                    post(addr, "b", &sql);
                    lat.lock()
                        .unwrap()
                        .push((start.elapsed() - due).as_secs_f64() * 1e3);
                    *acked.lock().unwrap().entry(tick_ts).or_default() += n;
                }
            });
        }
    });
    let acked = acked.into_inner().unwrap().into_iter().collect();
    (lat.into_inner().unwrap(), acked)
}

fn line(name: &str, v: &mut [f64]) -> String {
    format!(
        "{name}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples)",
        quantile(v, 0.5),
        quantile(v, 0.99),
        quantile(v, 1.0),
        v.len()
    )
}

fn main() {
    let tables = env("TABLES", 10_000);
    let rate = env("RATE", 100_000);
    let secs = env("SECS", 20) as u64;
    let interval = Duration::from_millis(env("INTERVAL_MS", 1000) as u64);
    let dir = std::env::temp_dir().join(format!("tsdb-bench-stream-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let engine = Arc::new(Engine::open(&dir).unwrap());
    let db = Some("b");
    for sql in [
        "create database b",
        "create stable meters (ts timestamp, current float, voltage int, phase float) tags (location binary(64), groupid int)",
        "create table probe using meters tags ('probe', -1)",
    ] {
        engine.execute(sql, db).unwrap();
    }
    for first in (0..tables).step_by(1000) {
        let mut sql = String::from("create table ");
        for t in first..(first + 1000).min(tables) {
            sql.push_str(&format!(
                "d{t} using meters tags ('Beijing.Chaoyang', {}) ",
                t % 10
            ));
        }
        engine.execute(&sql, db).unwrap();
    }
    let (addr, _server) = common::serve(engine.clone());
    let _scheduler = Scheduler::spawn(engine.clone()).unwrap();
    println!(
        "{tables} child tables, {rate} rows/s from {WRITERS} writers every {TICK_MS} ms, {secs} s per phase"
    );

    // 1. the load alone
    let (mut base, _) = load(&addr, tables, rate, now_ms(), secs);
    println!("{}", line("INSERT latency, load alone", &mut base));

    // 2. with the stream and a subscription
    engine
        .execute(
            &format!(
                "create table avg_vol as select avg(voltage), count(voltage) from meters where ts > now interval({WINDOW_MS}a) sliding({SLIDING_MS}a)"
            ),
            db,
        )
        .unwrap();
    let stop = AtomicBool::new(false);
    let stop_probes = AtomicBool::new(false);
    let probes = Mutex::new(Vec::<Instant>::new()); // acknowledged, by probe number
    let delivered = Mutex::new(BTreeMap::<usize, Instant>::new());
    let windows = Mutex::new(BTreeMap::<i64, (Instant, i64)>::new()); // start → (seen, count)
    let t0 = now_ms();
    let t0_instant = Instant::now();
    let (mut with, acked) = std::thread::scope(|sc| {
        // the subscriber
        let sub_engine = engine.clone();
        let (stop, delivered) = (&stop, &delivered);
        sc.spawn(move || {
            let sql = "select ts, current from meters where current > 100";
            let mut s =
                Subscription::subscribe(sub_engine, true, "bench", sql, Some("b"), interval)
                    .unwrap();
            while !stop.load(Ordering::Relaxed) {
                let got = rows(s.consume().unwrap());
                let at = Instant::now();
                let mut d = delivered.lock().unwrap();
                for r in got {
                    let id = r[1].as_f64().unwrap() as usize - 1000;
                    d.entry(id).or_insert(at);
                }
            }
            s.unsubscribe(false).unwrap();
        });
        // the probes
        let (probes, addr, stop_probes) = (&probes, &addr, &stop_probes);
        sc.spawn(move || {
            let mut k = 0;
            while !stop_probes.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(PROBE_MS));
                post(
                    addr,
                    "b",
                    &format!(
                        "insert into probe (ts, current) values ({}, {})",
                        now_ms(),
                        1000 + k
                    ),
                );
                probes.lock().unwrap().push(Instant::now());
                k += 1;
            }
        });
        // the watcher of avg_vol
        let (watch_engine, windows) = (&engine, &windows);
        sc.spawn(move || {
            let mut last = 0i64;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
                let out = watch_engine
                    .execute(
                        &format!("select ts, count_voltage_ from avg_vol where ts > {last}"),
                        Some("b"),
                    )
                    .unwrap();
                let at = Instant::now();
                let mut w = windows.lock().unwrap();
                for r in rows(out) {
                    let ts = r[0].as_i64().unwrap();
                    w.entry(ts).or_insert((at, r[1].as_i64().unwrap()));
                    last = last.max(ts);
                }
            }
        });
        let r = load(addr, tables, rate, t0, secs);
        // let the last windows close and the last probes arrive
        stop_probes.store(true, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(WINDOW_MS as u64) + 2 * interval);
        stop.store(true, Ordering::Relaxed);
        r
    });
    println!(
        "{}",
        line(
            "INSERT latency, with the stream and the subscription",
            &mut with
        )
    );

    // the stream: each window's lag and count
    let per_ts: BTreeMap<i64, usize> = acked.into_iter().collect();
    let last_ts = t0 + (secs as i64 * 1000 / TICK_MS - 1) * TICK_MS;
    let windows = windows.into_inner().unwrap();
    let (mut lags, mut complete, mut expected_windows) = (Vec::new(), 0, 0);
    let mut ws = (t0 + 1).div_euclid(SLIDING_MS) * SLIDING_MS - WINDOW_MS + SLIDING_MS;
    while ws + WINDOW_MS <= last_ts + TICK_MS {
        let we = ws + WINDOW_MS;
        if ws > t0 {
            // a window wholly inside the load
            expected_windows += 1;
            let expect: usize = per_ts.range(ws..we).map(|(_, n)| n).sum();
            if let Some((seen, count)) = windows.get(&ws) {
                let end = t0_instant + Duration::from_millis((we - t0) as u64);
                lags.push(seen.saturating_duration_since(end).as_secs_f64() * 1e3);
                complete += usize::from(*count as usize == expect);
            }
        }
        ws += SLIDING_MS;
    }
    println!(
        "stream: {} of {expected_windows} windows written, {complete} counted every acknowledged row",
        lags.len()
    );
    println!("{}", line("stream lag after window end", &mut lags));

    // the subscription
    let probes = probes.into_inner().unwrap();
    let delivered = delivered.into_inner().unwrap();
    let mut latency: Vec<f64> = probes
        .iter()
        .enumerate()
        .filter_map(|(k, acked)| {
            delivered
                .get(&k)
                .map(|at| at.saturating_duration_since(*acked).as_secs_f64() * 1e3)
        })
        .collect();
    println!(
        "subscription: {} of {} probes delivered; interval {} ms",
        latency.len(),
        probes.len(),
        interval.as_millis()
    );
    println!(
        "{}",
        line("delivery latency after the INSERT's answer", &mut latency)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
