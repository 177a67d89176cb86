//! Golden SQL files: each `tests/golden/NAME.sql` runs through the real
//! shell (`tsdb shell -f`) against a fresh real server, and the output
//! (stdout and stderr, in order, elapsed times masked) must equal
//! `NAME.out`; `tests/golden/analytics/` likewise, with anodes.
//! `UPDATE_GOLDEN=1 cargo test -p tsdb --test golden` rewrites
//! the `.out` files; review the diff before committing it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::anodes::{Fake, list_of, real_anode};
use common::{Server, temp_dir};

/// `(0.000383s)` → `(T s)`: elapsed times differ between runs.
fn mask_times(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(" (") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        let num: String = tail
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        if !num.is_empty() && num.contains('.') && tail[num.len()..].starts_with("s)") {
            out.push_str(" (T s)");
            rest = &tail[num.len() + 2..];
        } else {
            out.push_str(" (");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Runs every `.sql` file of `dir` and compares (or, with UPDATE_GOLDEN,
/// rewrites) its `.out`. Each `(placeholder, value)` of `subst` is put in
/// the SQL before it runs and taken out of the output again.
fn run_golden(dir: &Path, subst: &[(&str, String)]) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut failures = Vec::new();
    for sql in files {
        let name = sql.file_stem().unwrap().to_string_lossy().into_owned();
        let data = temp_dir(&format!("golden-{name}"));
        let server = Server::start(&data.join("data"));
        let mut text = std::fs::read_to_string(&sql).unwrap();
        for (k, v) in subst {
            text = text.replace(k, v);
        }
        let script = data.join("script.sql");
        std::fs::write(&script, text).unwrap();
        let log = data.join("out.txt");
        let f = std::fs::File::create(&log).unwrap();
        let status = Command::new(env!("CARGO_BIN_EXE_tsdb"))
            .args(["shell", "-P", &server.port().to_string(), "-f"])
            .arg(&script)
            .env("TZ", "UTC")
            .stdout(Stdio::from(f.try_clone().unwrap()))
            .stderr(Stdio::from(f))
            .status()
            .unwrap();
        let mut got = mask_times(&std::fs::read_to_string(&log).unwrap());
        for (k, v) in subst {
            got = got.replace(v.as_str(), k);
        }
        let expected_path = sql.with_extension("out");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != expected {
            failures.push(format!(
                "{name}: output differs (shell exit {status})\n--- expected\n{expected}\n--- got\n{got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn golden_sql_files() {
    run_golden(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden"),
        &[],
    );
}

/// The analytics conformance cases (analytics-sql §10): `${FAKE}` is an
/// anode with fixed answers, `${ANODE}` our real anode.
#[test]
fn golden_analytics_files() {
    let fake = Fake::start();
    *fake.list.lock().unwrap() = list_of(&["holtwinters", "arima", "moirai"]);
    let (_rt, real) = real_anode();
    run_golden(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/analytics"),
        &[
            ("${FAKE}", fake.addr.clone()),
            ("${ANODE}", real.to_string()),
        ],
    );
}

#[test]
fn masking() {
    assert_eq!(
        mask_times("Query OK, 3 row(s) in set (0.001165s)\nDB error: x (y) (0.2s)"),
        "Query OK, 3 row(s) in set (T s)\nDB error: x (y) (T s)"
    );
}
