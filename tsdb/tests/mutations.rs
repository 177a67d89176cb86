//! Nothing a client sends crashes the engine: 20,000 random edits of valid
//! statements (the golden files') must each give a result or an error, never
//! a panic, and the data must stay intact.

use std::panic::{AssertUnwindSafe, catch_unwind};

mod common;

use common::Rng;
use tsdb::engine::Engine;
use tsdb::result::Output;
use tsdb::types::Value;

const PIECES: &[&str] = &[
    "(",
    ")",
    ",",
    "'",
    "\"",
    "`",
    ";",
    "*",
    "-",
    "now",
    "null",
    "1m",
    "10a",
    "0",
    "-1",
    "9223372036854775807",
    "'2018-10-03 14:38:05.000'",
    "select",
    "from",
    "where",
    "interval",
    "sliding",
    "fill",
    "group by",
    "tbname",
    "using",
    "tags",
    "values",
    "and",
    "or",
    "in",
    "like",
    "between",
    "北京",
    "\\",
    "1e308",
    ".",
];

fn mutate(rng: &mut Rng, s: &str) -> String {
    let mut chars: Vec<char> = s.chars().collect();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(chars.len() + 1);
        match rng.below(4) {
            0 if !chars.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            1 => {
                let piece = PIECES[rng.below(PIECES.len())];
                for (k, c) in piece.chars().enumerate() {
                    chars.insert(at + k, c);
                }
            }
            2 if at < chars.len() => {
                chars[at] = PIECES[rng.below(PIECES.len())]
                    .chars()
                    .next()
                    .unwrap_or(' ')
            }
            _ => {
                let a = rng.below(chars.len());
                let b = rng.below(chars.len());
                if a < chars.len() && b < chars.len() {
                    chars.swap(a, b);
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_statements_never_panic() {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut statements = Vec::new();
    for f in ["seed.sql", "errors_and_ddl.sql"] {
        let text = std::fs::read_to_string(golden.join(f)).unwrap();
        let text = tsdb::shell::script_text(&text);
        let (stmts, _) = tsdb::shell::split_statements(&text);
        statements.extend(stmts);
    }
    let dir = std::env::temp_dir().join(format!("tsdb-mutations-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let e = Engine::open(&dir).unwrap();
    // a fixed table the mutations may query but not change
    e.execute("create database keepme", None).unwrap();
    e.execute("create table keepme.fixed (ts timestamp, v int)", None)
        .unwrap();
    e.execute(
        "insert into keepme.fixed values (1600000000000, 1) (1600000001000, 2)",
        None,
    )
    .unwrap();
    // the statements as they are, to set up power/db
    for s in &statements {
        let _ = e.execute(s, Some("power"));
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut errors = 0;
    for i in 0..20_000 {
        let base = &statements[rng.below(statements.len())];
        let sql = mutate(&mut rng, base);
        let db = if i % 2 == 0 { Some("power") } else { None };
        let t0 = std::time::Instant::now();
        let r = catch_unwind(AssertUnwindSafe(|| e.execute(&sql, db)));
        if t0.elapsed().as_millis() > 300 {
            eprintln!("SLOW {:?} {sql}", t0.elapsed());
        }
        match r {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                errors += 1;
                assert!(!err.msg.is_empty(), "empty message for {sql:?}");
            }
            Err(_) => panic!("the engine panicked on {sql:?}"),
        }
    }
    assert!(
        errors > 1_500,
        "most mutations should be refused, {errors} were"
    );
    let out = e.execute("select sum(v) from keepme.fixed", None).unwrap();
    let Output::Rows { rows, .. } = out else {
        panic!()
    };
    assert_eq!(rows, vec![vec![Value::Int(3)]]);
    let _ = std::fs::remove_dir_all(&dir);
}
