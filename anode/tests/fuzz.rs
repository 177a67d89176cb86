//! Fuzz targets of the anode's request path, as a property-test harness
//! with a fixed seed: the one-pass envelope decoder, the option-string
//! parser and whole requests through every native algorithm, on mutated
//! valid requests, structurally damaged JSON (deep nesting, wrong types,
//! huge numbers) and random bytes. Every case must answer without a panic
//! or a hang (a watchdog fails a target when one case takes longer than
//! [`HANG_AFTER`]); the envelope decoder must only accept what serde's
//! path accepts too; every endpoint answer must be JSON with `rows`.
//!
//! `FUZZ_CASES` (default 2,000 per target, what `make test` runs) and
//! `FUZZ_SEED` set the run; `tests/fuzz.sh` runs 100,000 per target.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anode::algo::Registry;
use anode::options::Options;
use anode::service::Endpoint;
use serde_json::{Value, json};

const HANG_AFTER: Duration = Duration::from_secs(10);

fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Runs `check` on `cases()` inputs, failing on a panic or a hang.
fn drive(
    target: &'static str,
    generate: fn(&mut Rng) -> Vec<u8>,
    check: impl Fn(&[u8]) -> bool + Send + Sync + 'static,
) {
    let n = cases();
    let done = Arc::new(AtomicUsize::new(0));
    let current = Arc::new(Mutex::new(Vec::new()));
    let (d, c) = (done.clone(), current.clone());
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f00d_8765_4321u64);
    let worker = std::thread::spawn(move || {
        let mut rng = Rng(seed ^ target.len() as u64);
        let (mut failures, mut accepted) = (Vec::new(), 0);
        for _ in 0..n {
            let input = generate(&mut rng);
            *c.lock().unwrap() = input.clone();
            match catch_unwind(AssertUnwindSafe(|| check(&input))) {
                Ok(ok) => accepted += usize::from(ok),
                Err(_) => failures.push(input),
            }
            d.fetch_add(1, Ordering::Relaxed);
        }
        (failures, accepted)
    });
    let started = Instant::now();
    let mut last = (0, Instant::now());
    while !worker.is_finished() {
        std::thread::sleep(Duration::from_millis(100));
        let now = done.load(Ordering::Relaxed);
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > HANG_AFTER {
            let input = current.lock().unwrap().clone();
            panic!(
                "{target}: case {now} hangs: {}",
                String::from_utf8_lossy(&input[..input.len().min(500)])
            );
        }
    }
    let (failures, accepted): (Vec<Vec<u8>>, usize) = worker.join().unwrap();
    println!(
        "fuzz {target}: {n} cases ({accepted} accepted, the rest refused with an error), {} crashes, 0 hangs, {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{target}: {} inputs panicked, the first: {}",
        failures.len(),
        String::from_utf8_lossy(&failures[0][..failures[0].len().min(500)])
    );
}

const T0: i64 = 1_577_808_000_000;

fn base(rng: &mut Rng) -> (Endpoint, Value) {
    let n = 10 + rng.below(60);
    let ts: Vec<i64> = (0..n as i64).map(|i| T0 + 1000 * i).collect();
    let vals: Vec<Value> = (0..n)
        .map(|i| match rng.below(400) {
            0 => Value::Null,
            1..=9 => json!(1e300),
            _ => json!(((i as f64) / 3.0).sin() * 10.0 + (rng.below(100) as f64) / 10.0),
        })
        .collect();
    let algos = [
        (Endpoint::AnomalyDetect, "ksigma"),
        (Endpoint::AnomalyDetect, "iqr"),
        (Endpoint::AnomalyDetect, "grubbs"),
        (Endpoint::AnomalyDetect, "shesd"),
        (Endpoint::AnomalyDetect, "lof"),
        (Endpoint::AnomalyDetect, "ecod"),
        (Endpoint::AnomalyDetect, "copod"),
        (Endpoint::AnomalyDetect, "hbos"),
        (Endpoint::AnomalyDetect, "iforest"),
        (Endpoint::AnomalyDetect, "pca"),
        (Endpoint::Forecast, "holtwinters"),
        (Endpoint::Forecast, "ets"),
        (Endpoint::Forecast, "mstl"),
        (Endpoint::Imputation, "linear"),
        (Endpoint::Correlation, "dtw"),
        (Endpoint::Correlation, "tlcc"),
    ];
    let (endpoint, algo) = algos[rng.below(algos.len())];
    let options = [
        "",
        ",k=2",
        ",period=4",
        ",period=0",
        ",period=-3",
        ",period=99999",
        ",neighbors=3",
        ",neighbors=100000",
        ",radius=10",
        ",radius=0",
        ",max_anoms=0.4",
        ",alpha=0.5",
        ",trend=add,seasonal=add",
        ",conf=2",
        ",lag_start=-5,lag_end=5",
        ",freq=1s",
        ",wncheck=0",
        ",k=nan",
        ",k=1e309",
        ",period=4.5",
        ",contamination=0.5",
        ",contamination=0",
        ",n_bins=2",
        ",n_bins=100000",
        ",n_estimators=3",
        ",n_components=0.5",
        ",n_components=7",
        ",standardization=0",
    ];
    let option = format!("algo={algo}{}", options[rng.below(options.len())]);
    let mut v = json!({
        "schema": [["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8]],
        "data": [ts, vals], "algo": algo, "option": option, "prec": "ms",
        "rows": n, "protocol": 1.0, "wncheck": usize::from(rng.below(8) == 0),
    });
    match endpoint {
        Endpoint::Forecast => {
            v["forecast_rows"] = json!(1 + rng.below(30));
            v["start"] = json!(T0 + 1000 * n as i64);
            v["every"] = json!(1000);
            v["conf"] = json!(0.95);
            v["return_conf"] = json!(1);
        }
        Endpoint::Correlation => {
            let other: Vec<f64> = (0..n).map(|i| ((i as f64) / 4.0).cos()).collect();
            v["schema"] = json!([["val", "DOUBLE", 8], ["val1", "DOUBLE", 8]]);
            v["data"] = json!([v["data"][1].clone(), other]);
        }
        Endpoint::AnomalyDetect if rng.below(2) == 0 => {
            // more data columns (now and then a ragged or constant one)
            for c in 1..=1 + rng.below(3) {
                let len = if rng.below(10) == 0 { n / 2 } else { n };
                let col: Vec<f64> = (0..len)
                    .map(|i| {
                        if rng.below(8) == 0 {
                            1.0
                        } else {
                            ((i * c) as f64).cos()
                        }
                    })
                    .collect();
                v["schema"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!([format!("val{c}"), "DOUBLE", 8]));
                v["data"].as_array_mut().unwrap().push(json!(col));
            }
        }
        _ => {}
    }
    (endpoint, v)
}

/// A request of a TDgpt 3.4 tool: pearsonr, profile search or the golden
/// batch, with options across (and past) their ranges.
fn tool(rng: &mut Rng) -> (Endpoint, Value) {
    let n = 10 + rng.below(300);
    let ts: Vec<i64> = (0..n as i64).map(|i| T0 + 1000 * i).collect();
    let data: Vec<f64> = (0..n)
        .map(|i| ((i as f64) / 5.0).sin() * 10.0 + (rng.below(100) as f64) / 10.0)
        .collect();
    let pick = |rng: &mut Rng, options: &[Value]| options[rng.below(options.len())].clone();
    match rng.below(4) {
        3 => {
            // deployed models (see `deployed_registry`): a regression or a
            // classification over feature columns, or a deployed forecaster
            // and detector through their usual endpoints
            let k = 1 + rng.below(4);
            let mut schema = vec![json!(["ts", "TIMESTAMP", 8])];
            let mut cols = vec![json!(ts)];
            for c in 0..k {
                schema.push(json!([format!("x{c}"), "DOUBLE", 8]));
                cols.push(json!(
                    data.iter().map(|v| v * (c + 1) as f64).collect::<Vec<_>>()
                ));
            }
            let model = pick(
                rng,
                &[
                    json!("lin"),
                    json!("tree"),
                    json!("air"),
                    json!("det"),
                    json!("none"),
                    json!(""),
                ],
            );
            let endpoint = [
                Endpoint::Regression,
                Endpoint::Classification,
                Endpoint::Forecast,
                Endpoint::AnomalyDetect,
            ][rng.below(4)];
            if matches!(endpoint, Endpoint::Forecast | Endpoint::AnomalyDetect) {
                schema[1] = json!(["val", "DOUBLE", 8]);
            }
            (
                endpoint,
                json!({"algo": model, "schema": schema, "data": cols, "option": null,
                       "prec": "ms", "wncheck": 0, "forecast_rows": 5}),
            )
        }
        0 => {
            let other: Vec<f64> = data.iter().map(|v| v * 0.5 + 1.0).collect();
            (
                Endpoint::Pearsonr,
                json!({"schema": [["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8], ["val1", "DOUBLE", 8]],
                       "data": [ts, data, other], "wncheck": rng.below(2)}),
            )
        }
        1 => {
            let m = 1 + rng.below(9);
            let at = rng.below(n - m);
            let algo = pick(rng, &[json!("dtw"), json!("cosine"), json!("knn")]);
            let params = pick(
                rng,
                &[
                    json!({}),
                    json!({"radius": 3, "min_window": 2, "max_window": 40, "window_size_step": 3}),
                    json!({"radius": 0}),
                    json!({"window_sliding_step": 0}),
                    json!({"min_window": 1_000_000}),
                ],
            );
            let result = pick(
                rng,
                &[
                    json!({"num": 5}),
                    json!({"threshold": 0.5, "exclude_contained": true}),
                    json!({"num": 501}),
                    json!({"num": 3, "exclude_source": true}),
                    json!({}),
                ],
            );
            let target = if rng.below(4) == 0 {
                json!({"ts": [[ts[0], ts[5]], [ts[6], ts[9]]], "data": [&data[..6], &data[6..10]]})
            } else {
                json!({"ts": ts, "data": data})
            };
            (
                Endpoint::ProfileSearch,
                json!({"normalization": pick(rng, &[json!("z-score"), json!("min-max"), json!("l2")]),
                       "algo": {"type": algo, "params": params}, "result": result,
                       "source_data": {"data": &data[at..at + m], "ts": &ts[at..at + m]},
                       "target_data": target}),
            )
        }
        _ => {
            let config = pick(
                rng,
                &[
                    json!({}),
                    json!({"normalize": {"target_len": 50, "method": "cubic"}}),
                    json!({"savgol": {"window": 8}}),
                    json!({"savgol": {"window": 3, "polyorder": 5}}),
                    json!({"derivative": {"max_rate": 0}}),
                    json!({"golden": {"method": "mean_std"}, "hampel": {"window_size": 0}}),
                    json!({"normalize": {"target_len": 0}}),
                ],
            );
            let windows: Vec<Value> = (0..1 + rng.below(5))
                .map(|_| {
                    let a = ts[rng.below(n)];
                    json!([a, a + 1000 * rng.below(100) as i64])
                })
                .collect();
            (
                Endpoint::Batch,
                json!({"ts": ts, "data": data, "window": windows, "config": config}),
            )
        }
    }
}

/// A JSON value of a random kind, now and then nested deeply.
fn junk(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => json!(-1),
        2 => json!(1e308),
        3 => json!(u64::MAX),
        4 => json!("x"),
        5 => json!([]),
        6 => json!({}),
        7 => json!(true),
        8 => {
            let mut v = json!(1);
            for _ in 0..1 + rng.below(300) {
                v = json!([v]);
            }
            v
        }
        _ => json!([[1, 2], [3]]),
    }
}

fn request(rng: &mut Rng) -> (Endpoint, Vec<u8>) {
    let (endpoint, mut v) = if rng.below(4) == 0 {
        tool(rng)
    } else {
        base(rng)
    };
    // structural damage
    for _ in 0..rng.below(3).saturating_sub(1) {
        let keys = [
            "schema",
            "data",
            "algo",
            "option",
            "prec",
            "rows",
            "wncheck",
            "forecast_rows",
            "start",
            "every",
            "conf",
            "return_conf",
            "source_data",
            "target_data",
            "window",
            "config",
            "result",
        ];
        let key = keys[rng.below(keys.len())];
        match rng.below(3) {
            0 => {
                v.as_object_mut().unwrap().remove(key);
            }
            1 => v[key] = junk(rng),
            _ => {
                if let Some(col) = v["data"]
                    .get_mut(rng.below(2))
                    .and_then(Value::as_array_mut)
                {
                    if !col.is_empty() {
                        let at = rng.below(col.len());
                        col[at] = junk(rng);
                    }
                }
            }
        }
    }
    let mut bytes = v.to_string().into_bytes();
    // byte-level damage
    if rng.below(5) == 0 && !bytes.is_empty() {
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = b"{}[],:\"0-e.9 \\x"[rng.below(15)],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
            if bytes.is_empty() {
                break;
            }
        }
    }
    (endpoint, bytes)
}

fn request_bytes(rng: &mut Rng) -> Vec<u8> {
    let (endpoint, mut bytes) = request(rng);
    // the endpoint travels in the first byte
    bytes.insert(0, endpoint as u8);
    bytes
}

fn endpoint_of(b: u8) -> Endpoint {
    match b {
        0 => Endpoint::AnomalyDetect,
        1 => Endpoint::Forecast,
        2 => Endpoint::Imputation,
        3 => Endpoint::Correlation,
        4 => Endpoint::Pearsonr,
        5 => Endpoint::ProfileSearch,
        6 => Endpoint::Batch,
        7 => Endpoint::Regression,
        _ => Endpoint::Classification,
    }
}

/// The native algorithms plus a dynamic directory with one deployed model
/// of each kind (their pkl is a stand-in: without Python workers those
/// requests end in the workers' absence, after every check before it).
fn deployed_registry() -> Registry {
    let root = std::env::temp_dir().join(format!("anode-fuzz-dyn-{}", std::process::id()));
    let dynamic = root.join("dynamic");
    std::fs::create_dir_all(&dynamic).unwrap();
    std::fs::write(dynamic.join("m.pkl"), b"stand-in").unwrap();
    for (name, config) in [
        ("lin", json!({"algo": "linear", "model_path": "m.pkl"})),
        (
            "tree",
            json!({"algo": "decision_tree", "model_path": "m.pkl"}),
        ),
        (
            "det",
            json!({"algo": "iforest", "best_params": {"window_size": 5}}),
        ),
        (
            "air",
            json!({"algo": "arima", "best_params": {"p": 1, "d": 1, "q": 0}}),
        ),
    ] {
        std::fs::write(dynamic.join(format!("{name}.json")), config.to_string()).unwrap();
    }
    let mut registry = Registry::native();
    registry.dynamic_dir = Some(dynamic);
    registry.model_dir = Some(root);
    registry
}

#[test]
fn fuzz_envelope_decoder() {
    drive(
        "envelope",
        |rng| request(rng).1,
        |body| match anode::envelope::decode(body) {
            Some(fast) => {
                // the fast path only takes what serde's path takes too
                let slow: anode::protocol::AnalysisRequest = serde_json::from_slice(body)
                    .unwrap_or_else(|e| {
                        panic!(
                            "decode accepted what serde refuses ({e}): {}",
                            String::from_utf8_lossy(body)
                        )
                    });
                assert_eq!(fast.algo, slow.algo);
                assert_eq!(fast.option, slow.option);
                assert_eq!(fast.rows, slow.rows);
                assert_eq!(
                    fast.data.as_ref().map(Vec::len),
                    slow.data.as_ref().map(Vec::len)
                );
                true
            }
            None => false,
        },
    );
}

#[test]
fn fuzz_option_parser() {
    drive(
        "options",
        |rng| {
            let pieces = [
                "algo",
                "=",
                ",",
                "k",
                "period",
                "  ",
                "2",
                "-1",
                "1e309",
                "nan",
                "inf",
                "0x10",
                "北京",
                "==",
                ",,",
                "a=b=c",
                "9223372036854775808",
                "1.5",
                "true",
                "",
            ];
            (0..rng.below(16))
                .map(|_| pieces[rng.below(pieces.len())])
                .collect::<String>()
                .into_bytes()
        },
        |text| {
            let text = String::from_utf8_lossy(text);
            let o = Options::parse(Some(&text));
            for key in ["algo", "k", "period", "a", "北京"] {
                let _ = o.int(key, 3);
                let _ = o.float(key, 0.5);
                let _ = o.flag(key, true);
                let _ = o.string(key, "");
            }
            !o.is_empty()
        },
    );
}

#[test]
fn fuzz_requests_through_every_algorithm() {
    let registry = Arc::new(deployed_registry());
    drive("requests", request_bytes, move |input| {
        let endpoint = endpoint_of(input[0]);
        let outcome = endpoint.run(&registry, &input[1..]);
        let ok = outcome.body.is_ok();
        if std::env::var_os("FUZZ_SHOW").is_some() {
            if let Err(e) = &outcome.body {
                println!("refused: {}", e.message());
            }
        }
        let v: Value = serde_json::from_slice(&outcome.into_bytes()).expect("an answer is JSON");
        assert!(v["rows"].is_i64(), "{v}");
        ok
    });
}
