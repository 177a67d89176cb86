//! Criterion benchmarks of the algorithm kernels on a 1,000-point series,
//! and of one whole request (parse, validate, compute, serialise) through
//! `service`, which is what the HTTP numbers in `bench/http.sh` add up to.

use anode::algo::{AdInput, FcInput, Registry};
use anode::options::Options;
use criterion::{Criterion, black_box, criterion_group, criterion_main};

const N: usize = 1000;

/// Daily-seasonal series with noise and a few spikes: not white noise, so
/// every algorithm does its full work.
fn series() -> (Vec<f64>, Vec<i64>) {
    let mut s: u64 = 42;
    let mut noise = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((s >> 33) % 1000) as f64 / 1000.0 - 0.5
    };
    let values = (0..N)
        .map(|i| {
            let season = 10.0 * (i as f64 * std::f64::consts::TAU / 24.0).sin();
            let spike = if i % 197 == 0 { 40.0 } else { 0.0 };
            100.0 + 0.01 * i as f64 + season + 4.0 * noise() + spike
        })
        .collect();
    let ts = (0..N as i64)
        .map(|i| 1_577_808_000_000 + i * 60_000)
        .collect();
    (values, ts)
}

fn kernels(c: &mut Criterion) {
    let reg = Registry::native();
    let (x, ts) = series();
    let mut g = c.benchmark_group("anomaly-detection/1000");
    for (algo, opt) in [
        ("ksigma", "k=3"),
        ("iqr", ""),
        ("grubbs", ""),
        ("lof", "neighbors=10"),
        ("shesd", "period=24"),
    ] {
        let d = reg.detector(algo).unwrap();
        let o = Options::parse(Some(opt));
        g.bench_function(algo, |b| {
            b.iter(|| {
                d.detect(
                    AdInput {
                        values: black_box(&x),
                        ts: &ts,
                    },
                    &o,
                )
                .unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("forecast/1000");
    for (name, algo, opt, period) in [
        ("holtwinters-ses", "holtwinters", "", 0),
        ("holtwinters-holt", "holtwinters", "trend=add", 0),
        (
            "holtwinters-seasonal",
            "holtwinters",
            "trend=add,seasonal=add",
            24,
        ),
        ("ets", "ets", "", 0),
        ("mstl", "mstl", "", 24),
        // the load test's request: AutoARIMA with no period
        ("arima", "arima", "", 0),
    ] {
        let f = reg.forecaster(algo).unwrap();
        let o = Options::parse(Some(opt));
        let input = FcInput {
            values: &x,
            ts: &ts,
            rows: 10,
            conf: 0.95,
            return_conf: true,
            period,
            covariates: Default::default(),
        };
        g.bench_function(name, |b| {
            b.iter(|| f.forecast(black_box(input), &o).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("correlation/1000");
    let y: Vec<f64> = x.iter().skip(3).chain(x.iter().take(3)).copied().collect();
    for (algo, opt) in [("dtw", "radius=1"), ("tlcc", "lag_start=-20,lag_end=20")] {
        let a = reg.correlator(algo).unwrap();
        let o = Options::parse(Some(opt));
        g.bench_function(algo, |b| {
            b.iter(|| a.correlate(black_box(&x), &y, &o).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("other/1000");
    g.bench_function("white-noise-check", |b| {
        b.iter(|| anode::whitenoise::is_white_noise(black_box(&x)))
    });
    // A whole /anomaly-detect request: the service-side cost per HTTP call.
    // taosd writes values with `%f` (six decimals); other clients may send
    // shortest round-trip floats (up to 17 digits), which take the slower
    // exact path of the column decoder.
    let col = |v: &[String]| v.join(",");
    let ts_text: Vec<String> = ts.iter().map(|t| t.to_string()).collect();
    for (name, vals) in [
        (
            "request-ksigma-taosd",
            x.iter().map(|v| format!("{v:.6}")).collect::<Vec<_>>(),
        ),
        (
            "request-ksigma-17digits",
            x.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>(),
        ),
    ] {
        let body = format!(
            r#"{{"schema":[["ts","TIMESTAMP",8],["val","DOUBLE",8]],"data":[[{}],[{}]],"algo":"ksigma","option":"algo=ksigma","prec":"ms","wncheck":1,"rows":{N},"protocol":1.0}}"#,
            col(&ts_text),
            col(&vals)
        )
        .into_bytes();
        g.bench_function(name, |b| {
            b.iter(|| {
                anode::service::Endpoint::AnomalyDetect
                    .run(&reg, black_box(&body))
                    .into_bytes()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
