//! Python algorithms end to end: the real binary, its worker processes and
//! the venv (`python/setup_venv.py` creates it when missing; no test here
//! is skipped for want of it).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{Value, json};

/// Worker start-up imports numpy, pandas, statsmodels and pmdarima.
const READY: Duration = Duration::from_secs(120);

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

/// The repository's venv, created as `make test` would.
fn venv() -> &'static Path {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    VENV.get_or_init(|| {
        let status = Command::new("python3")
            .args(["python/setup_venv.py", "--venv", ".venv"])
            .current_dir(repo())
            .status()
            .expect("python3 must be installed");
        assert!(status.success(), "python/setup_venv.py failed");
        repo().join(".venv")
    })
}

/// A server whose Python workers serve the test plugins.
fn server(name: &str, model_dir: Option<&Path>, anode: &str) -> Server {
    let venv = venv().to_owned();
    let model_dir = model_dir.map_or_else(|| repo().join("models"), Path::to_owned);
    Server::start_with(name, READY, Some(repo()), |dir| {
        format!(
            "[uwsgi]\nhttp = 127.0.0.1:0\nvirtualenv = {}\n[taosanode]\napp-log = {}\nmodel-dir = {}\n\
             [anode]\npython-dir = python\nplugin-dir = anode/tests/plugins\n{anode}",
            venv.display(),
            dir.join("app.log").display(),
            model_dir.display()
        )
    })
}

fn t(i: usize) -> i64 {
    1_577_808_000_000 + i as i64 * 1000
}

fn body(values: &[f64], algo: &str, option: &str, extra: Value) -> String {
    let mut b = json!({
        "schema": [["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8]],
        "data": [(0..values.len()).map(t).collect::<Vec<_>>(), values],
        "algo": algo,
        "option": format!("algo={algo}{option}"),
        "prec": "ms",
        "wncheck": 0,
        "rows": values.len(),
        "protocol": 1.0,
    });
    for (k, v) in extra.as_object().unwrap() {
        b[k] = v.clone();
    }
    b.to_string()
}

fn post(s: &Server, path: &str, body: &str) -> Value {
    let (code, text) = s.request("POST", path, body);
    assert_eq!(code, 200, "{text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn detect(s: &Server, values: &[f64], algo: &str, option: &str) -> Value {
    post(s, "/anomaly-detect", &body(values, algo, option, json!({})))
}

fn msg(v: &Value) -> &str {
    assert_eq!(v["rows"], -1, "{v}");
    v["msg"].as_str().unwrap()
}

const X17: [f64; 17] = [
    5., 14., 15., 15., 14., 19., 17., 16., 20., 22., 8., 21., 28., 11., 9., 29., 40.,
];

/// Box & Jenkins' airline passengers, 1949-1960 (monthly, thousands).
const AIRLINE: [f64; 144] = [
    112., 118., 132., 129., 121., 135., 148., 148., 136., 119., 104., 118., 115., 126., 141., 135.,
    125., 149., 170., 170., 158., 133., 114., 140., 145., 150., 178., 163., 172., 178., 199., 199.,
    184., 162., 146., 166., 171., 180., 193., 181., 183., 218., 230., 242., 209., 191., 172., 194.,
    196., 196., 236., 235., 229., 243., 264., 272., 237., 211., 180., 201., 204., 188., 235., 227.,
    234., 264., 302., 293., 259., 229., 203., 229., 242., 233., 267., 269., 270., 315., 364., 347.,
    312., 274., 237., 278., 284., 277., 317., 313., 318., 374., 413., 405., 355., 306., 271., 306.,
    315., 301., 356., 348., 355., 422., 465., 467., 404., 347., 305., 336., 340., 318., 362., 348.,
    363., 435., 491., 505., 404., 359., 310., 337., 360., 342., 406., 396., 420., 472., 548., 559.,
    463., 407., 362., 405., 417., 391., 419., 461., 472., 535., 622., 606., 508., 461., 390., 432.,
];

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs()
}

#[test]
fn plugins_models_and_arima() {
    // A model-dir with the shipped model, and a symlink that leads out of it.
    let models = std::env::temp_dir().join(format!("anode-models-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&models);
    let sub = models.join("sample-ad-autoencoder");
    std::fs::create_dir_all(&sub).unwrap();
    let shipped = repo().join("models/sample-ad-autoencoder/sample-ad-autoencoder.npz");
    std::fs::copy(&shipped, sub.join("sample-ad-autoencoder.npz")).unwrap();
    let outside = std::env::temp_dir().join(format!("anode-outside-{}.npz", std::process::id()));
    std::fs::copy(&shipped, &outside).unwrap();
    let _ = std::fs::remove_file(sub.join("evil.npz"));
    std::os::unix::fs::symlink(&outside, sub.join("evil.npz")).unwrap();

    let s = server("plugins", Some(&models), "python-workers = 2\n");

    // The catalogue: ours, the unmodified TDgpt plugins, natives first.
    let list: Value = serde_json::from_str(&s.request("GET", "/list", "").1).unwrap();
    let names = |t: &str| -> Vec<String> {
        list["details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["type"] == t)
            .unwrap()["algo"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names("forecast"),
        [
            "holtwinters",
            "ets",
            "arima",
            "theta",
            "ces",
            "auto",
            "mstl",
            "tdtsfm_1",
            "timemoe-fc",
            "chronos",
            "moirai",
            "timesfm",
            "pmdarima",
            "noop",
            "myfc"
        ]
    );
    assert_eq!(
        names("anomaly-detection"),
        [
            "ksigma",
            "iqr",
            "grubbs",
            "shesd",
            "lof",
            "ecod",
            "copod",
            "hbos",
            "iforest",
            "pca",
            "sample_ad_model",
            "faulty",
            "myad"
        ]
    );
    let log = s.log_with(&["broken.py skipped", "shadow.py skipped", "numpy="]);
    assert!(
        log.contains("broken.py skipped: No module named 'module_that_does_not_exist'"),
        "{log}"
    );
    assert!(
        log.contains("shadow.py skipped: _KsigmaService: ksigma is a native algorithm"),
        "{log}"
    );
    // The start-up line names the interpreter: the venv, whatever PATH says.
    let venv = std::fs::canonicalize(venv()).unwrap();
    assert!(
        log.contains(&format!("prefix={}", venv.display())) && log.contains("numpy=1.26.4"),
        "{log}"
    );
    assert!(log.contains("python=3.11"), "{log}");

    // /models lists model-dir.
    let models_list: Value = serde_json::from_str(&s.request("GET", "/models", "").1).unwrap();
    assert!(
        models_list["sample-ad-autoencoder"].is_object(),
        "{models_list}"
    );

    // The TDgpt docs' plugins, served unchanged.
    let v = detect(&s, &X17, "myad", "");
    assert_eq!(v["res"], json!([[t(16), t(16)]]), "{v}");
    let fc = body(
        &[1., 2., 3., 4., 5., 6., 7., 8., 9., 10.5],
        "myfc",
        "",
        json!({"forecast_rows": 3, "start": 5000, "every": 10, "return_conf": 1, "conf": 0.95}),
    );
    let v = post(&s, "/forecast", &fc);
    assert_eq!(
        v["res"],
        json!([
            [5000, 5010, 5020],
            [10.5, 10.5, 10.5],
            [9.5, 9.5, 9.5],
            [11.5, 11.5, 11.5]
        ]),
        "{v}"
    );
    assert_eq!(
        (v["algo"].as_str(), v["rows"].as_i64()),
        (Some("myfc"), Some(3))
    );

    // A Python exception's message reaches the client; the worker lives on.
    let v = detect(&s, &X17, "faulty", ",how=raise");
    assert_eq!(msg(&v), "faulty algorithm: bad value 42 in the input");
    // A plugin printing to stdout does not break the frames.
    let v = detect(&s, &X17, "faulty", ",how=print");
    assert_eq!(v["rows"], 0, "{v}");

    // pmdarima on the airline series: seasonal, with 95 % bounds around it.
    let v = post(
        &s,
        "/forecast",
        &body(
            &AIRLINE,
            "pmdarima",
            ",period=12",
            json!({"forecast_rows": 12, "return_conf": 1, "conf": 0.95}),
        ),
    );
    assert_eq!(v["model_info"], "SARIMAX(0, 1, 1)x(2, 1, 0, 12)", "{v}");
    let col = |i: usize| -> Vec<f64> {
        v["res"][i]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect()
    };
    let (value, lower, upper) = (col(1), col(2), col(3));
    assert_eq!(value.len(), 12);
    // pmdarima 2.0.4 / statsmodels 0.14.4 on this series
    assert!(close(value[0], 451.347076, 1e-4), "{value:?}");
    assert!(close(lower[0], 428.961576, 1e-4), "{lower:?}");
    assert!(close(upper[0], 473.732577, 1e-4), "{upper:?}");
    assert!(close(v["mse"].as_f64().unwrap(), 240.957294, 1e-4), "{v}");
    for i in 0..12 {
        assert!(lower[i] < value[i] && value[i] < upper[i], "{i}: {v}");
    }
    // the intervals widen with the horizon
    assert!(upper[11] - lower[11] > upper[0] - lower[0]);
    assert_eq!(v["res"][0][0], t(144));

    // The model-file algorithm: a spike in the trained behaviour is found.
    let mut series: Vec<f64> = (0..96)
        .map(|i| {
            let i = i as f64;
            100.0 + 10.0 * (2.0 * std::f64::consts::PI * i / 24.0).sin() + 0.3 * (i * 12.9898).sin()
        })
        .collect();
    series[60] += 25.0;
    let v = detect(
        &s,
        &series,
        "sample_ad_model",
        ",model=sample-ad-autoencoder",
    );
    assert_eq!(v["res"], json!([[t(60), t(60)]]), "{v}");
    let v = detect(&s, &series, "sample_ad_model", "");
    assert_eq!(msg(&v), "model needs to be specified");
    let v = detect(&s, &series, "sample_ad_model", ",model=missing");
    assert_eq!(
        msg(&v),
        "failed to load model: missing.npz not found in model-dir"
    );
    // model= may not leave model-dir: '..', absolute paths, symlinks out.
    for bad in ["../../etc/passwd", "/etc/passwd", "a/../../x"] {
        let v = detect(&s, &series, "sample_ad_model", &format!(",model={bad}"));
        assert_eq!(
            msg(&v),
            format!(
                "invalid model name '{bad}': model= must name a model inside model-dir, without absolute paths or '..'"
            )
        );
    }
    let v = detect(&s, &series, "sample_ad_model", ",model=evil");
    assert_eq!(
        msg(&v),
        "invalid model name 'evil': it resolves outside model-dir"
    );
    let _ = std::fs::remove_dir_all(&models);
    let _ = std::fs::remove_file(&outside);
}

#[test]
fn crashes_timeouts_and_memory_cost_one_request() {
    let s = server(
        "faults",
        None,
        "python-workers = 2\npython-timeout = 3\npython-memory-limit = 300MB\n",
    );
    let ok = |s: &Server| {
        let v = detect(s, &X17, "myad", "");
        assert_eq!(v["rows"], 1, "{v}");
    };

    // A segfault in the algorithm (a C-level crash), then a hard exit.
    let v = detect(&s, &X17, "faulty", ",how=crash");
    assert_eq!(
        msg(&v),
        "python worker crashed while running faulty (killed by signal 11 (SIGSEGV)); it was replaced"
    );
    ok(&s);
    let v = detect(&s, &X17, "faulty", ",how=exit");
    assert_eq!(
        msg(&v),
        "python worker crashed while running faulty (exited with status 7); it was replaced"
    );
    ok(&s);
    // Stray bytes on the worker's own pipes: one request, one restart.
    let v = detect(&s, &X17, "faulty", ",how=scribble");
    let m = msg(&v);
    assert!(
        m.starts_with("python worker broke the protocol while running faulty (stray bytes where a frame should start: \"a plugin scr\"")
            && m.ends_with("; a plugin may have written to the worker's pipes); it was killed and replaced"),
        "{m}"
    );
    ok(&s);
    ok(&s);

    // Memory beyond the limit.
    let v = detect(&s, &X17, "faulty", ",how=memory");
    let m = msg(&v);
    assert!(
        m.starts_with("python algorithm faulty used ")
            && m.ends_with(" MB of memory, more than the worker limit of 300 MB; its worker was killed and replaced"),
        "{m}"
    );
    ok(&s);
    // The worker killed for its memory restarts in the background; wait
    // until both answer at once (two 0.3 s runs finishing together), so the
    // timing below measures the loop, not a start-up.
    let both_ready = Instant::now() + Duration::from_secs(60);
    loop {
        let started = Instant::now();
        let pair: Vec<_> = (0..2)
            .map(|_| {
                let addr = s.addr.clone();
                std::thread::spawn(move || {
                    common::request(
                        &addr,
                        "POST",
                        "/anomaly-detect",
                        &body(&X17, "faulty", ",how=sleep,seconds=0.3", json!({})),
                    )
                })
            })
            .collect();
        for t in pair {
            t.join().unwrap();
        }
        if started.elapsed() < Duration::from_millis(550) {
            break;
        }
        assert!(
            Instant::now() < both_ready,
            "two Python workers never became ready"
        );
    }

    // An endless loop: times out, while the other worker, the native
    // algorithms and /status keep answering at once.
    let addr = s.addr.clone();
    let looping = std::thread::spawn(move || {
        let started = Instant::now();
        let (_, text) = common::request(
            &addr,
            "POST",
            "/anomaly-detect",
            &body(&X17, "faulty", ",how=loop", json!({})),
        );
        (text, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        let started = Instant::now();
        ok(&s);
        let v = detect(&s, &X17, "ksigma", "");
        assert_eq!(v["algo"], "ksigma", "{v}");
        assert_eq!(s.request("GET", "/status", "").0, 200);
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
    let (text, took) = looping.join().unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        msg(&v),
        "python algorithm faulty did not finish within 3 s; its worker was killed and replaced"
    );
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "{took:?}"
    );
    ok(&s);
}

#[test]
fn killing_a_worker_by_hand() {
    let s = server("kill", None, "python-workers = 1\n");
    let kill = |pid: u32| {
        assert!(
            Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
    };
    let workers = s.children();
    assert_eq!(workers.len(), 1, "{workers:?}");

    // Killed while idle: the next request does not notice.
    kill(workers[0]);
    std::thread::sleep(Duration::from_millis(200));
    let v = detect(&s, &X17, "myad", "");
    assert_eq!(v["res"], json!([[t(16), t(16)]]), "{v}");
    let replaced = s.children();
    assert_eq!(replaced.len(), 1);
    assert_ne!(replaced, workers);

    // Killed mid-request: that request gets a JSON error, the next succeeds.
    let addr = s.addr.clone();
    let slow = std::thread::spawn(move || {
        common::request(
            &addr,
            "POST",
            "/anomaly-detect",
            &body(&X17, "faulty", ",how=sleep,seconds=30", json!({})),
        )
        .1
    });
    std::thread::sleep(Duration::from_millis(500));
    kill(replaced[0]);
    let v: Value = serde_json::from_str(&slow.join().unwrap()).unwrap();
    assert_eq!(
        msg(&v),
        "python worker crashed while running faulty (killed by signal 9 (SIGKILL)); it was replaced"
    );
    let v = detect(&s, &X17, "myad", "");
    assert_eq!(v["rows"], 1, "{v}");
    let log = s.log_with(&["while idle; starting a new one"]);
    assert!(log.contains("while idle; starting a new one"), "{log}");
}

#[test]
fn without_a_venv_only_native_algorithms_are_served() {
    let s = Server::start_with("novenv", READY, Some(repo()), |dir| {
        format!(
            "[uwsgi]\nhttp = 127.0.0.1:0\nvirtualenv = {}\n[taosanode]\napp-log = {}\n",
            dir.join("no-such-venv").display(),
            dir.join("app.log").display()
        )
    });
    let list = s.request("GET", "/list", "").1;
    assert!(
        list.contains("\"ksigma\"") && !list.contains("\"pmdarima\""),
        "{list}"
    );
    let log = s.log_with(&["Python algorithms are not available"]);
    assert!(
        log.contains("Python algorithms are not available: no virtual environment at")
            && log.contains("no-such-venv (create it with `python3 python/setup_venv.py`)"),
        "{log}"
    );
    let v = detect(&s, &X17, "pmdarima", "");
    assert_eq!(msg(&v), "failed to load model: pmdarima");
}

/// TDgpt 3.4.1's gunicorn-era `taosanode.config.py` (ours in `etc/`, in
/// upstream's shape: paths computed from the file's place, thread counts
/// from the cores) starts the anode, named by `TDGPT_CONF`; its model ports
/// become the foundation models' URLs.
#[test]
fn gunicorn_config_py_starts_the_anode() {
    let dir = common::fresh_dir("config-py");
    std::fs::create_dir_all(dir.join("cfg")).unwrap();
    std::fs::create_dir_all(dir.join("log")).unwrap();
    std::fs::create_dir_all(dir.join("model")).unwrap();
    let text = std::fs::read_to_string(repo().join("etc/taosanode.config.py")).unwrap();
    assert!(text.contains("bind = \"127.0.0.1:6050\""));
    // a free port instead of the fixed one; nothing else changes
    let text = text.replace("bind = \"127.0.0.1:6050\"", "bind = \"127.0.0.1:0\"");
    let conf = dir.join("cfg/taosanode.config.py");
    std::fs::write(&conf, text).unwrap();
    let log = dir.join("log/taosanode.app.log");
    let server = Server::spawn(dir.clone(), log.clone(), Duration::from_secs(30), |cmd| {
        // upstream's file puts paths under its own install directory where
        // GITHUB_ACTIONS is set (and under /var elsewhere)
        cmd.env("TDGPT_CONF", &conf).env("GITHUB_ACTIONS", "1");
    });
    let (status, body) = server.request("GET", "/list", "");
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&body).unwrap();
    let moirai = list["details"][0]["algo"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "moirai")
        .unwrap()
        .clone();
    assert_eq!(moirai["params"]["host"], "http://127.0.0.1:6064/ds_predict");
    let logged = server.log_with(&["listening on"]);
    assert!(
        logged.contains("listening on http://127.0.0.1:"),
        "{logged}"
    );
    // a config.py that does not run is a start-up error naming it
    let broken = dir.join("cfg/broken.config.py");
    std::fs::write(&broken, "bind = undefined_name\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_anode"))
        .arg("-c")
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.config.py: running it with python3 failed: NameError: name 'undefined_name' is not defined"),
        "{err}"
    );
}

/// A POST with any content type and a binary body, its answer as JSON.
fn post_raw(addr: &str, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
    let (status, text) = common::request_as(addr, "POST", path, content_type, body);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// upstream's multipart `/deploy`: `config` holds the payload, model_name
/// inside, and `model_binary` the pkl.
fn deploy_form(addr: &str, config: &str, pkl: &[u8]) -> (u16, Value) {
    let mut body = format!(
        "--XbX\r\nContent-Disposition: form-data; name=\"config\"\r\n\r\n{config}\r\n--XbX\r\nContent-Disposition: form-data; name=\"model_binary\"; filename=\"m.pkl\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(pkl);
    body.extend_from_slice(b"\r\n--XbX--\r\n");
    post_raw(addr, "/deploy", "multipart/form-data; boundary=XbX", &body)
}

/// The `[start, end]` windows of a run of -1 codes, as the anode answers.
fn windows_of(codes: &[i64], ts: impl Fn(usize) -> i64) -> Vec<Value> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &c) in codes.iter().chain([1].iter()).enumerate() {
        match (c == -1, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(json!([ts(s), ts(i - 1)]));
                start = None;
            }
            _ => {}
        }
    }
    out
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn deployed_scikit_learn_models_end_to_end() {
    let models = common::fresh_dir("deploy-models");
    let out = Command::new(venv().join("bin/python"))
        .arg(repo().join("anode/tests/deploy_models.py"))
        .arg(&models)
        .arg("7")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oracle: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cases = &oracle["cases"];
    let pkl = |name: &str| std::fs::read(models.join(format!("{name}.pkl"))).unwrap();
    let s = server("deploy", Some(&models), "max-body-size = 4MB\n");
    let addr = s.addr.clone();
    let dynamic = models.join("dynamic");
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&dynamic)
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };

    // deployed by upload, each with its kind's algo name (upstream's spellings)
    for (name, algo) in [
        ("lin", "linear_regression"),
        ("ridge", "ridge"),
        ("poly", "polynomial"),
        ("logit", "logistic_regression"),
        ("tree", "decision_tree"),
        ("svm", "svm"),
        ("ifw", "iforest"),
    ] {
        let (code, answer) = deploy_form(
            &addr,
            &format!(r#"{{"model_name": "{name}", "algo": "{algo}"}}"#),
            &pkl(name),
        );
        assert_eq!(
            (code, answer["message"].as_str()),
            (
                200,
                Some(format!("Model {name} deployed successfully").as_str())
            ),
            "{answer}"
        );
    }
    // and by a configuration whose model_path points into model-dir
    let (code, answer) = post_raw(
        &addr,
        "/deploy",
        "application/json",
        json!({"model_name": "lin2", "config": {"algo": "linear", "model_path": "../lin.pkl"}})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(code, 200, "{answer}");

    // every failure is a JSON error and leaves nothing behind
    let before = listing();
    let forms: [(&str, Vec<u8>, &str); 7] = [
        (
            r#"{"model_name": "lin", "algo": "linear"}"#,
            pkl("lin"),
            "Model with name lin already exists",
        ),
        (
            r#"{"model_name": "../x", "algo": "linear"}"#,
            b"x".to_vec(),
            "Invalid model_name in request payload",
        ),
        (
            r#"{"model_name": "np", "algo": "linear"}"#,
            pkl("nopredict"),
            "Invalid model pkl file: pkl file contains non-model object of type: int",
        ),
        (
            r#"{"model_name": "ls", "algo": "svr"}"#,
            pkl("list"),
            "Invalid model pkl file: pkl file must contain a model or dict with 'model' key, got: list",
        ),
        (
            r#"{"model_name": "wrong", "algo": "svm"}"#,
            pkl("lin"),
            "Invalid model pkl file: svm needs a OneClassSVM model, the pkl holds a LinearRegression",
        ),
        (
            r#"{"model_name": "bad", "algo": "svr"}"#,
            pkl("garbage"),
            "Invalid model pkl file: not a joblib pickle (KeyError: 110)",
        ),
        (
            r#"{"model_name": "j", "algo": "#,
            b"x".to_vec(),
            "Invalid config JSON in multipart request",
        ),
    ];
    for (config, file, want) in forms {
        let (code, answer) = deploy_form(&addr, config, &file);
        assert_eq!(
            (code, answer["error"].as_str()),
            (400, Some(want)),
            "{config}"
        );
    }
    let (code, answer) = post_raw(
        &addr,
        "/deploy",
        "application/json",
        br#"{"model_name": "gone", "config": {"algo": "svr", "model_path": "gone.pkl"}}"#,
    );
    let want = format!(
        "Error deploying model gone: model pkl file not found at {}",
        dynamic.join("gone.pkl").display()
    );
    assert_eq!((code, answer["error"].as_str()), (400, Some(want.as_str())));
    // over max-body-size: 413, still upstream's JSON shape
    let (code, answer) = deploy_form(
        &addr,
        r#"{"model_name": "huge", "algo": "svr"}"#,
        &vec![0u8; 5 << 20],
    );
    assert_eq!(
        (code, &answer["status"]),
        (413, &json!("error")),
        "{answer}"
    );
    assert_eq!(listing(), before, "a refused deploy left files");

    // a configuration dropped into the directory by hand is served too
    std::fs::create_dir_all(dynamic.join("dropped")).unwrap();
    std::fs::write(
        dynamic.join("dropped/dropped.json"),
        r#"{"algo": "svm", "model_path": "../svm.pkl"}"#,
    )
    .unwrap();

    // /list: each model under its type, not built-in
    let list: Value = serde_json::from_str(&s.request("GET", "/list", "").1).unwrap();
    let group = |kind: &str| -> Vec<String> {
        list["details"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["type"] == kind)
            .flat_map(|g| g["algo"].as_array().unwrap().clone())
            .filter(|a| {
                a["builtins"] == false
                    && a["desc"]
                        .as_str()
                        .is_some_and(|d| d.starts_with("dynamic generated model"))
            })
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(group("regression"), ["lin", "lin2", "poly", "ridge"]);
    assert_eq!(group("classification"), ["logit", "tree"]);
    assert_eq!(group("anomaly-detection"), ["dropped", "ifw", "svm"]);

    // /regression and /classification answer as scikit-learn does
    let predict = |path: &str, algo: &str, x: &Value| {
        let cols = x.as_array().unwrap();
        let mut schema = vec![json!(["ts", "TIMESTAMP", 8])];
        schema.extend((0..cols.len()).map(|i| json!([format!("x{i}"), "DOUBLE", 8])));
        let n = cols[0].as_array().unwrap().len();
        let mut data = vec![json!((0..n).map(t).collect::<Vec<_>>())];
        data.extend(cols.iter().cloned());
        post(
            &s,
            path,
            &json!({"algo": algo, "schema": schema, "data": data, "option": null}).to_string(),
        )
    };
    for (algo, case) in [
        ("lin", "lin"),
        ("lin2", "lin"),
        ("ridge", "ridge"),
        ("poly", "poly"),
    ] {
        let got = predict("/regression", algo, &cases[case]["x"]);
        let want = f64s(&cases[case]["want"]);
        assert_eq!(got["rows"], want.len(), "{got}");
        assert_eq!(got["algo"], algo);
        for (g, w) in f64s(&got["res"]).iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "{algo}: {g} vs {w}"
            );
        }
    }
    for algo in ["logit", "tree"] {
        let got = predict("/classification", algo, &cases[algo]["x"]);
        assert_eq!(got["res"], cases[algo]["want"], "{algo}");
    }
    assert_eq!(
        msg(&predict("/regression", "tree", &cases["lin"]["x"])),
        "model tree is of type classification (decision_tree); this endpoint serves regression models"
    );
    assert_eq!(
        msg(&predict("/regression", "nosuch", &cases["lin"]["x"])),
        "failed to load model: nosuch"
    );
    assert_eq!(
        msg(&post(
            &s,
            "/regression",
            r#"{"schema": [["x", "DOUBLE", 8]], "data": [[1]]}"#
        )),
        "missing required field: algo"
    );
    // two features where the model was trained on one
    assert!(
        msg(&predict("/regression", "poly", &cases["lin"]["x"])).contains("features"),
        "a shape mismatch names the features"
    );

    // anomaly detection: a one-class SVM over (val, val1), an isolation
    // forest over windows of val
    let svm_x = cases["svm"]["x"].as_array().unwrap();
    let n = svm_x[0].as_array().unwrap().len();
    let body_svm = json!({
        "schema": [["ts", "TIMESTAMP", 8], ["val", "DOUBLE", 8], ["val1", "DOUBLE", 8]],
        "data": [(0..n).map(t).collect::<Vec<_>>(), svm_x[0], svm_x[1]],
        "algo": "svm", "option": "algo=svm", "prec": "ms", "wncheck": 0, "rows": n,
    });
    let got = post(&s, "/anomaly-detect", &body_svm.to_string());
    let want: Vec<i64> = cases["svm"]["want"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(got["res"], json!(windows_of(&want, t)), "{got}");
    assert!(!windows_of(&want, t).is_empty());
    let dropped = body_svm.to_string().replace("svm", "dropped");
    assert_eq!(post(&s, "/anomaly-detect", &dropped)["res"], got["res"]);
    let series = f64s(&cases["ifw"]["x"][0]);
    let got = detect(&s, &series, "ifw", "");
    let want: Vec<i64> = cases["ifw"]["want"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let want_windows = windows_of(&want, t);
    assert_eq!(got["res"], json!(want_windows), "{got}");
    assert!(want_windows.iter().any(|w| w[0].as_i64() <= Some(t(100))));
    // a regression model is not a detector
    assert_eq!(
        msg(&detect(&s, &series, "lin", "")),
        "model lin is of type regression (linear); this endpoint serves anomaly-detection models"
    );

    // forecasters whose packages the venv lacks say which
    for (name, algo, want) in [
        (
            "ph",
            "prophet",
            "deployed model ph runs prophet, which is not installed in the anode's venv (pip install prophet)",
        ),
        (
            "dar",
            "deepar",
            "deployed model dar runs deepar, which needs gluonts and PyTorch in the anode's venv (pip install gluonts torch)",
        ),
    ] {
        let (code, _) = post_raw(
            &addr,
            "/deploy",
            "application/json",
            json!({"model_name": name, "config": {"algo": algo, "best_params": {}}})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(code, 200);
        let got = post(
            &s,
            "/forecast",
            &body(&AIRLINE, name, "", json!({"forecast_rows": 3})),
        );
        assert!(msg(&got).starts_with(want), "{got}");
    }

    // undeploy: the configuration and the uploaded pkl go; model-dir's stays
    let (code, answer) = post_raw(
        &addr,
        "/undeploy",
        "application/json",
        br#"{"model_name": "lin"}"#,
    );
    assert_eq!(
        (code, answer["message"].as_str()),
        (200, Some("Model lin undeployed successfully"))
    );
    let (code, _) = post_raw(
        &addr,
        "/undeploy",
        "application/json",
        br#"{"model_name": "lin2"}"#,
    );
    assert_eq!(code, 200);
    assert!(!dynamic.join("lin.pkl").exists() && !dynamic.join("lin.json").exists());
    assert!(
        models.join("lin.pkl").exists(),
        "a model_path outside the dynamic dir is the user's"
    );
    assert_eq!(
        msg(&predict("/regression", "lin", &cases["lin"]["x"])),
        "failed to load model: lin"
    );
    let _ = std::fs::remove_dir_all(&models);
}
