//! Fuzz targets of the SQL front end and the line-protocol writer, as a
//! property-test harness with a fixed seed: the parser, the VALUES
//! scanner, the schemaless writer and the whole engine get
//! generated statements (a grammar of expressions nested up to past the
//! depth limit, the golden files' statements mutated, token soup, random
//! text) on a thread with the 2 MiB stack the server's statement threads
//! have. Every case must answer (a result or an error) without a panic, a
//! stack overflow (which would abort the test binary) or a hang (a
//! watchdog fails the target when one case takes longer than
//! [`HANG_AFTER`]); the VALUES scanner must agree with the parser whenever
//! it answers.
//!
//! `FUZZ_CASES` (default 2,000 per target, what `make test` runs) and
//! `FUZZ_SEED` set the run; `tests/fuzz.sh` runs 100,000 per target in
//! release mode and prints the figures.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::Rng;
use tsdb::engine::Engine;

/// A case taking longer than this is a hang.
const HANG_AFTER: Duration = Duration::from_secs(10);
/// The stack of tokio's blocking threads, which run statements.
const STACK: usize = 2 << 20;

fn cases() -> usize {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

fn seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_f00d_1234_5678)
}

/// Runs `check` on `cases()` generated inputs on a 2 MiB thread, failing
/// on a panic (with the input) or a case that hangs.
fn drive(
    target: &'static str,
    generate: fn(&mut Rng) -> String,
    check: impl Fn(&str) -> bool + Send + Sync + 'static,
) {
    let n = cases();
    let done = Arc::new(AtomicUsize::new(0));
    let current = Arc::new(Mutex::new(String::new()));
    let (d, c) = (done.clone(), current.clone());
    let worker = std::thread::Builder::new()
        .name(format!("fuzz-{target}"))
        .stack_size(STACK)
        .spawn(move || {
            let mut rng = Rng(seed() ^ target.len() as u64);
            let mut failures = Vec::new();
            let mut accepted = 0;
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
        })
        .unwrap();
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
                "{target}: case {now} hangs (> {HANG_AFTER:?}): {}",
                &input[..input.len().min(500)]
            );
        }
    }
    let (failures, accepted) = worker.join().expect("the fuzz thread itself failed");
    println!(
        "fuzz {target}: {n} cases ({accepted} accepted, the rest refused with an error), {} crashes, 0 hangs, {:.1} s",
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{target}: {} inputs panicked, the first: {}",
        failures.len(),
        &failures[0][..failures[0].len().min(500)]
    );
}

fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[rng.below(items.len())]
}

const COLUMNS: &[&str] = &[
    "ts", "v", "f", "s", "b", "g", "tbname", "_wstart", "_wend", "_c0", "nope", "`v`",
];
const FUNCS: &[&str] = &[
    "count",
    "avg",
    "sum",
    "min",
    "max",
    "first",
    "last",
    "last_row",
    "spread",
    "stddev",
    "percentile",
    "apercentile",
    "twa",
    "elapsed",
    "abs",
    "ceil",
    "floor",
    "round",
    "sqrt",
    "server_version",
    "now",
    "forecast",
    "anomaly_window",
    "csum",
    "diff",
    "top",
    "bottom",
];
const LEAVES: &[&str] = &[
    "0",
    "1",
    "-1",
    "42",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "-1e308",
    "4.9e-324",
    "0.5",
    "'a'",
    "'北京'",
    "''",
    "'2020-01-01 00:00:00'",
    "'x''y'",
    "\"q\"",
    "null",
    "true",
    "false",
    "now",
    "1s",
    "10a",
    "1m",
    "1h",
    "1d",
    "1w",
    "1n",
    "1y",
    "213503982335d",
    "9223372036854775807d",
    "*",
];
const OPS: &[&str] = &[
    "+", "-", "*", "/", "%", "=", "<>", "!=", "<", "<=", ">", ">=", "and", "or", "like", "not like",
];

fn expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(4) == 0 {
        return match rng.below(3) {
            0 => pick(rng, COLUMNS).to_owned(),
            _ => pick(rng, LEAVES).to_owned(),
        };
    }
    match rng.below(9) {
        0 => format!("({})", expr(rng, depth - 1)),
        1 => format!("-{}", expr(rng, depth - 1)),
        2 => format!("not {}", expr(rng, depth - 1)),
        3 => {
            let args: Vec<String> = (0..rng.below(4)).map(|_| expr(rng, depth - 1)).collect();
            format!("{}({})", pick(rng, FUNCS), args.join(", "))
        }
        4 => format!(
            "{} between {} and {}",
            expr(rng, depth - 1),
            expr(rng, depth - 1),
            expr(rng, depth - 1)
        ),
        5 => {
            let items: Vec<String> = (0..1 + rng.below(5))
                .map(|_| expr(rng, depth - 1))
                .collect();
            format!("{} in ({})", expr(rng, depth - 1), items.join(", "))
        }
        6 => format!("{} is not null", expr(rng, depth - 1)),
        _ => format!(
            "{} {} {}",
            expr(rng, depth - 1),
            pick(rng, OPS),
            expr(rng, depth - 1)
        ),
    }
}

/// An expression over `t`'s columns that the engine accepts more often
/// than not (so the evaluators, not only the checks, are exercised).
fn sane_expr(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.below(3) == 0 {
        return pick(rng, &["v", "f", "1", "2.5", "-3", "v", "f", "1e300", "0"]).to_owned();
    }
    match rng.below(5) {
        0 => format!("({})", sane_expr(rng, depth - 1)),
        1 => format!("abs({})", sane_expr(rng, depth - 1)),
        2 => format!("-{}", sane_expr(rng, depth - 1)),
        _ => format!(
            "{} {} {}",
            sane_expr(rng, depth - 1),
            pick(rng, &["+", "-", "*", "/", "%"]),
            sane_expr(rng, depth - 1)
        ),
    }
}

fn sane_select(rng: &mut Rng) -> String {
    let agg = rng.below(2) == 0;
    let items: Vec<String> = (0..1 + rng.below(3))
        .map(|_| {
            let d = 1 + rng.below(4);
            let e = sane_expr(rng, d);
            if agg {
                format!(
                    "{}({e})",
                    pick(
                        rng,
                        &[
                            "count", "avg", "sum", "min", "max", "spread", "stddev", "first",
                            "last"
                        ]
                    )
                )
            } else {
                e
            }
        })
        .collect();
    let d = 1 + rng.below(3);
    let cond = format!(
        "{} {} {}",
        sane_expr(rng, d),
        pick(rng, &["<", ">", "=", "<>", ">="]),
        sane_expr(rng, 1)
    );
    let mut s = format!(
        "select {} from {} where {cond}",
        items.join(", "),
        pick(rng, &["t", "st", "c1"])
    );
    if agg && rng.below(2) == 0 {
        s += &format!(
            " interval({}) {}",
            pick(rng, &["1s", "10s", "1m", "1h", "1d", "1n"]),
            pick(
                rng,
                &[
                    "",
                    "fill(null)",
                    "fill(prev)",
                    "fill(linear)",
                    "fill(value, 0)",
                    "sliding(5s)"
                ]
            )
        );
    }
    if !agg && rng.below(2) == 0 {
        s += pick(rng, &[" order by ts desc", " limit 2", " limit 1 offset 1"]);
    }
    s
}

/// Deep on purpose now and then: up to twice the depth limit.
fn nesting(rng: &mut Rng) -> String {
    let n = 100 + rng.below(200);
    match rng.below(4) {
        0 => format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        1 => format!("{}1", "not ".repeat(n)),
        2 => format!("1{}", " + 1".repeat(n)),
        _ => format!("{}v{}", "abs(".repeat(n), ")".repeat(n)),
    }
}

fn statement(rng: &mut Rng) -> String {
    let e = |rng: &mut Rng| {
        if rng.below(20) == 0 {
            nesting(rng)
        } else {
            let d = 1 + rng.below(5);
            expr(rng, d)
        }
    };
    match rng.below(6) {
        0..=2 => {
            let items: Vec<String> = (0..1 + rng.below(4)).map(|_| e(rng)).collect();
            let mut s = format!(
                "select {} from {}",
                items.join(", "),
                pick(
                    rng,
                    &["t", "st", "h.t", "nope", "information_schema.ins_anodes"]
                )
            );
            if rng.below(2) == 0 {
                s += &format!(" where {}", e(rng));
            }
            if rng.below(3) == 0 {
                s += &format!(
                    " interval({}) {}",
                    pick(
                        rng,
                        &["1s", "10a", "1m", "1n", "1y", "300000y", "0s", "1d, 1h"]
                    ),
                    pick(
                        rng,
                        &[
                            "",
                            "sliding(1s)",
                            "fill(null)",
                            "fill(linear)",
                            "fill(value, 1)",
                            "fill(prev)"
                        ]
                    )
                );
            } else if rng.below(4) == 0 {
                s += pick(
                    rng,
                    &[
                        " session(ts, 1s)",
                        " state_window(v)",
                        " partition by tbname",
                    ],
                );
            }
            if rng.below(3) == 0 {
                s += pick(
                    rng,
                    &[
                        " group by g",
                        " group by tbname",
                        " order by ts desc",
                        " order by v",
                    ],
                );
            }
            if rng.below(3) == 0 {
                s += &format!(
                    " limit {}",
                    pick(
                        rng,
                        &["0", "1", "10", "-1", "5 offset 2", "9223372036854775807"]
                    )
                );
            }
            s
        }
        3 => {
            let rows: Vec<String> = (0..1 + rng.below(3))
                .map(|_| {
                    let vals: Vec<String> = (0..1 + rng.below(5)).map(|_| e(rng)).collect();
                    format!("({})", vals.join(", "))
                })
                .collect();
            format!(
                "insert into {} values {}",
                pick(rng, &["t", "c1", "h.t", "c2 using st tags (1)"]),
                rows.join(" ")
            )
        }
        4 => format!(
            "create table if not exists c{} using st tags ({})",
            rng.below(5),
            e(rng)
        ),
        _ => {
            let n = 1 + rng.below(12);
            (0..n)
                .map(|_| match rng.below(3) {
                    0 => pick(rng, LEAVES),
                    1 => pick(rng, OPS),
                    _ => pick(
                        rng,
                        &[
                            "select",
                            "from",
                            "where",
                            "(",
                            ")",
                            ",",
                            "interval",
                            "values",
                            "insert into",
                            "tags",
                            "using",
                            ";",
                            "create",
                            "table",
                            "stable",
                            "show",
                            "describe",
                            "alter",
                            "drop",
                        ],
                    ),
                })
                .collect::<Vec<_>>()
                .join(" ")
        }
    }
}

/// The golden files' statements, cut and spliced.
fn mutated(rng: &mut Rng) -> String {
    static CORPUS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let corpus = CORPUS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            if entry.path().extension().is_some_and(|e| e == "sql") {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                out.extend(
                    text.split(';')
                        .map(|s| s.trim().to_owned())
                        .filter(|s| !s.is_empty() && !s.starts_with("--")),
                );
            }
        }
        out
    });
    let mut s: Vec<char> = corpus[rng.below(corpus.len())].chars().collect();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(s.len() + 1);
        match rng.below(4) {
            0 if at < s.len() => {
                let end = (at + 1 + rng.below(10)).min(s.len());
                s.drain(at..end);
            }
            1 => {
                let piece = if rng.below(2) == 0 {
                    pick(rng, LEAVES).to_owned()
                } else {
                    nesting(rng)
                };
                for (k, ch) in piece.chars().enumerate() {
                    s.insert(at + k, ch);
                }
            }
            2 => s.insert(at, char::from_u32(rng.below(0x3000) as u32).unwrap_or('?')),
            _ => {
                let other = &corpus[rng.below(corpus.len())];
                let tail: String = other.chars().skip(rng.below(other.len() + 1)).collect();
                s.truncate(at);
                s.extend(tail.chars());
            }
        }
    }
    s.into_iter().collect()
}

fn any_sql(rng: &mut Rng) -> String {
    match rng.below(12) {
        10 | 11 => sane_select(rng),
        0..=4 => statement(rng),
        5..=8 => mutated(rng),
        _ => (0..rng.below(64))
            .map(|_| char::from_u32(rng.below(0x800) as u32).unwrap_or(' '))
            .collect(),
    }
}

fn insert_sql(rng: &mut Rng) -> String {
    let lit = |rng: &mut Rng| -> String {
        match rng.below(8) {
            0 => format!("{}", rng.next() as i64 >> rng.below(64)),
            1 => format!("{}.{}", rng.below(100_000), rng.below(1000)),
            2 => format!("'{}'", pick(rng, &["a", "北京", "it\\'s", "x\\ny", ""])),
            3 => pick(rng, &["null", "now", "true", "false", "NULL", "Now"]).to_owned(),
            4 => pick(
                rng,
                &[
                    "now - 1h", "now+10a", "1e308", "-0", "00012", "1.", ".5", "1e", "--1", "- 1",
                    "0x10",
                ],
            )
            .to_owned(),
            5 => format!("{}", 1_600_000_000_000i64 + rng.below(1_000_000) as i64),
            6 => format!(
                "'2020-01-0{} 00:00:00.{:03}'",
                1 + rng.below(9),
                rng.below(1000)
            ),
            _ => pick(rng, LEAVES).to_owned(),
        }
    };
    let mut s = String::from(pick(
        rng,
        &[
            "insert into ",
            "INSERT INTO ",
            "import into ",
            "insert into h.",
        ],
    ));
    for t in 0..1 + rng.below(3) {
        if t > 0 {
            s.push(' ');
        }
        s += pick(rng, &["t", "`t`", "c1", "d1001"]);
        if rng.below(4) == 0 {
            s += &format!(" using st tags ({})", lit(rng));
        }
        if rng.below(4) == 0 {
            s += pick(rng, &[" (ts, v)", " (ts,v,s)", " (ts)"]);
        }
        s += pick(rng, &[" values ", " VALUES", " values"]);
        for _ in 0..1 + rng.below(4) {
            let vals: Vec<String> = (0..1 + rng.below(4)).map(|_| lit(rng)).collect();
            s += &format!("({})", vals.join(pick(rng, &[",", ", ", " ,"])));
        }
    }
    if rng.below(5) == 0 {
        let mut chars: Vec<char> = s.chars().collect();
        let at = rng.below(chars.len());
        chars.remove(at);
        s = chars.into_iter().collect();
    }
    s
}

/// Line protocol: lines of a few measurements built from pieces that
/// matter to the parser and the schemaless writer (escapes, quotes, typed
/// values that clash with earlier ones, new fields and tags), mostly valid
/// so that the writer's schema changes run; a few pieces and changed bytes
/// that are not.
fn line_protocol(rng: &mut Rng) -> String {
    // escaped names parse, and the tsdb's table names refuse them
    const MEASUREMENTS: &[&str] = &["cpu", "weather", "mem", "cpu", "m\\ x"];
    const TAGS: &[&str] = &[
        "host=a",
        "host=b\\ 1",
        "region=eu\\,w",
        "rack=r1",
        "host=a-much-longer-host-name-than-16",
    ];
    // one type per field name but `v`, whose float and integer clash
    const FIELDS: &[&str] = &[
        "f=1.5",
        "f=-2e3",
        "i=1i",
        "i=-7i",
        "u=3u",
        "b=t",
        "b=FALSE",
        "s=\"a b, c\"",
        "s=\"q\\\"\"",
        "s=\"a string longer than sixteen characters\"",
        "w=1e308",
        "v=1",
        "v=1i",
    ];
    const BAD: &[&str] = &[
        "`q v=1",
        "cpu, v=1",
        "cpu,t= v=1",
        "cpu v=1e400",
        "cpu v=NaN",
        "cpu x=18446744073709551615u",
        "cpu y=\"open",
        "cpu v",
        "cpu =1",
        "cpu v=1 x",
        "cpu,_ts=1 v=1",
    ];
    const TIMES: &[&str] = &[
        "",
        " 1700000000000000000",
        " 1700000000500000000",
        " 1700000001000000000",
    ];
    let mut out = String::new();
    for _ in 0..1 + rng.below(4) {
        if rng.below(16) == 0 {
            out.push_str(pick(rng, BAD));
            out.push('\n');
            continue;
        }
        // distinct keys (a repeated key is one of the BAD lines' errors)
        let mut keys: Vec<&str> = Vec::new();
        let mut distinct = |rng: &mut Rng, from: &[&'static str]| -> Option<&'static str> {
            let item = pick(rng, from);
            let key = item.split('=').next().unwrap_or(item);
            (!keys.contains(&key)).then(|| {
                keys.push(key);
                item
            })
        };
        let mut line = pick(rng, MEASUREMENTS).to_owned();
        for _ in 0..rng.below(3) {
            if let Some(tag) = distinct(rng, TAGS) {
                line.push(',');
                line.push_str(tag);
            }
        }
        line.push(' ');
        let mut fields = Vec::new();
        for _ in 0..1 + rng.below(3) {
            fields.extend(distinct(rng, FIELDS));
        }
        if fields.is_empty() {
            fields.push("f=1.5");
        }
        line.push_str(&fields.join(","));
        line.push_str(pick(rng, TIMES));
        if rng.below(16) == 0 {
            let mut chars: Vec<char> = line.chars().collect();
            let at = rng.below(chars.len() + 1);
            match rng.below(3) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 => chars.insert(
                    at,
                    pick(rng, &[" ", ",", "=", "\\", "\""])
                        .chars()
                        .next()
                        .unwrap(),
                ),
                _ => chars.insert(at, char::from_u32(rng.below(0x800) as u32).unwrap_or('?')),
            }
            line = chars.into_iter().collect();
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn fuzz_line_protocol() {
    let dir = common::temp_dir("fuzz-lp");
    let engine = Arc::new(Engine::open(&dir).unwrap());
    let e = engine.clone();
    drive("line-protocol", line_protocol, move |text| {
        let parsed = tsdb::schemaless::line::parse(text).is_ok();
        let written =
            tsdb::schemaless::write(&e, "lp", text, tsdb::schemaless::RequestPrecision::Ns).is_ok();
        // nothing is written from a request that does not parse
        assert!(parsed || !written, "unparsable but written: {text:?}");
        written
    });
    // the engine still answers
    assert!(engine.execute("show lp.stables", None).is_ok());
}

#[test]
fn fuzz_sql_parser() {
    drive("sql-parser", any_sql, |sql| tsdb::sql::parse(sql).is_ok());
}

#[test]
fn fuzz_values_scanner_agrees_with_the_parser() {
    drive("values-scanner", insert_sql, |sql| {
        let Some(fast) = tsdb::sql::values::insert(sql) else {
            return false;
        };
        assert_eq!(
            tsdb::sql::parser::parse(sql),
            Ok(fast),
            "the scanner and the parser disagree on {sql}"
        );
        true
    });
}

#[test]
fn fuzz_engine_statements() {
    let dir = common::temp_dir("fuzz-engine");
    let engine = Engine::open(&dir).unwrap();
    for sql in [
        "create database h",
        "create table h.t (ts timestamp, v int, f double, s binary(16), b bool)",
        "create stable h.st (ts timestamp, v int, f double) tags (g int)",
        "create table h.c1 using h.st tags (1)",
        "insert into h.t values ('2020-01-01 00:00:00', 1, 1.5, 'a', true) ('2020-01-01 00:00:10', 2, null, 'b', false) ('2020-06-01 00:00:00', 3, -1e300, '北京', true)",
        "insert into h.c1 values ('2020-01-01 00:00:00', 1, 0.5) ('2020-01-01 00:01:00', 5, 2.5)",
    ] {
        engine.execute(sql, None).unwrap();
    }
    let engine = Arc::new(engine);
    let e = engine.clone();
    drive("engine", any_sql, move |sql| {
        // what is dropped cannot be checked afterwards; parsing it is
        // covered by the parser target
        if sql.to_ascii_lowercase().contains("drop") {
            return false;
        }
        // the server's budgets: nothing may run away
        let budgets = tsdb::limits::Budgets {
            max_result_rows: 100_000,
            max_query_bytes: 256 << 20,
            timeout: Some(Duration::from_secs(5)),
        };
        tsdb::limits::with_budget(budgets, Vec::new(), || e.execute(sql, Some("h"))).is_ok()
    });
    // the data is intact
    let out = engine.execute("select count(*) from h.t", None).unwrap();
    let tsdb::result::Output::Rows { rows, .. } = out else {
        panic!()
    };
    assert!(matches!(rows[0][0], tsdb::types::Value::Int(n) if n >= 3));
}
