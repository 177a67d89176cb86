//! Storage against a model: random inserts (out of order, duplicate
//! timestamps, some columns left out) under each UPDATE policy, with
//! flushes to data files and restarts in between, must read back exactly
//! what a plain ordered map with the policy's rules holds.

use std::collections::BTreeMap;

mod common;

use common::Rng;
use tsdb::engine::Engine;
use tsdb::result::Output;
use tsdb::types::Value;

fn rows(o: Output) -> Vec<Vec<Value>> {
    match o {
        Output::Rows { rows, .. } => rows,
        o => panic!("expected rows, got {o:?}"),
    }
}

const BASE: i64 = 1_700_000_000_000;
const COLS: [&str; 4] = ["i", "f", "s", "b"];

fn value(col: usize, x: usize) -> (String, Value) {
    match col {
        0 => (format!("{}", x as i64 - 500), Value::Int(x as i64 - 500)),
        1 => {
            let f = x as f64 / 4.0;
            (format!("{f}"), Value::Double(f))
        }
        2 => (format!("'s{x}'"), Value::Str(format!("s{x}"))),
        _ => (
            if x % 2 == 0 { "true" } else { "false" }.to_owned(),
            Value::Bool(x % 2 == 0),
        ),
    }
}

/// The model's rule for one row (spec C1).
fn model_insert(m: &mut BTreeMap<i64, Vec<Value>>, update: u8, ts: i64, row: Vec<Option<Value>>) {
    let full: Vec<Value> = row
        .iter()
        .map(|v| v.clone().unwrap_or(Value::Null))
        .collect();
    match m.get_mut(&ts) {
        None => {
            m.insert(ts, full);
        }
        Some(old) => match update {
            0 => {}
            1 => *old = full,
            _ => {
                for (i, v) in row.into_iter().enumerate() {
                    if let Some(v) = v {
                        old[i] = v;
                    }
                }
            }
        },
    }
}

fn check(e: &Engine, db: &str, m: &BTreeMap<i64, Vec<Value>>, rng: &mut Rng, step: usize) {
    let all = rows(e.execute("select * from t", Some(db)).unwrap());
    let want: Vec<Vec<Value>> = m
        .iter()
        .map(|(ts, r)| {
            let mut v = vec![Value::Int(*ts)];
            v.extend(r.iter().cloned());
            v
        })
        .collect();
    assert_eq!(all.len(), want.len(), "{db} step {step}: row count");
    assert_eq!(all, want, "{db} step {step}: select *");
    // a time range, the count shortcut, and aggregates
    let a = BASE + rng.below(3000) as i64;
    let b = a + rng.below(2000) as i64;
    let inside: Vec<&Vec<Value>> = m.range(a..=b).map(|(_, r)| r).collect();
    let got = rows(
        e.execute(
            &format!("select count(*), count(i), max(i), min(f), first(s), last(s) from t where ts >= {a} and ts <= {b}"),
            Some(db),
        )
        .unwrap(),
    );
    let nonnull = |c: usize| inside.iter().filter(|r| !r[c].is_null()).count() as i64;
    let ints = inside.iter().filter_map(|r| r[0].as_i64());
    let floats = inside.iter().filter_map(|r| r[1].as_f64());
    let strs: Vec<&Value> = inside
        .iter()
        .map(|r| &r[2])
        .filter(|v| !v.is_null())
        .collect();
    let want = vec![
        Value::Int(inside.len() as i64),
        Value::Int(nonnull(0)),
        ints.max().map_or(Value::Null, Value::Int),
        floats
            .min_by(f64::total_cmp)
            .map_or(Value::Null, Value::Double),
        strs.first().cloned().cloned().unwrap_or(Value::Null),
        strs.last().cloned().cloned().unwrap_or(Value::Null),
    ];
    if inside.is_empty() {
        // FIRST/LAST over no rows: no row
        assert!(got.is_empty(), "{db} step {step}: {got:?}");
    } else {
        assert_eq!(
            got,
            vec![want],
            "{db} step {step}: aggregates in [{a}, {b}]"
        );
    }
    let last = rows(e.execute("select last_row(*) from t", Some(db)).unwrap());
    let want_last: Vec<Vec<Value>> = m
        .iter()
        .next_back()
        .map(|(ts, r)| {
            let mut v = vec![Value::Int(*ts)];
            v.extend(r.iter().cloned());
            v
        })
        .into_iter()
        .collect();
    assert_eq!(last, want_last, "{db} step {step}: last_row");
}

#[test]
fn storage_matches_a_model_across_flushes_and_restarts() {
    let dir = std::env::temp_dir().join(format!("tsdb-storage-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut e = Engine::open(&dir).unwrap();
    let mut models: Vec<BTreeMap<i64, Vec<Value>>> = vec![BTreeMap::new(); 3];
    for u in 0..3 {
        // maxrows 200: many small blocks per flush
        e.execute(
            &format!("create database u{u} update {u} maxrows 200 keep 36500 days 1"),
            None,
        )
        .unwrap();
        e.execute(
            "create table t (ts timestamp, i int, f double, s binary(8), b bool)",
            Some(&format!("u{u}")),
        )
        .unwrap();
    }
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for step in 0..120 {
        for (u, m) in models.iter_mut().enumerate() {
            let db = format!("u{u}");
            // a batch: mostly new rows at the end, some late or repeated
            let n = 1 + rng.below(60);
            let given: Vec<usize> = (0..4).filter(|_| rng.below(4) != 0).collect();
            let mut batch = Vec::new();
            for _ in 0..n {
                let ts = if rng.below(5) == 0 {
                    BASE + rng.below(5000) as i64 // anywhere: late or duplicate
                } else {
                    BASE + 5000 + step as i64 * 100 + rng.below(100) as i64
                };
                let mut row = vec![None; 4];
                let mut texts = Vec::new();
                for c in &given {
                    let (text, v) = if rng.below(8) == 0 {
                        ("null".to_owned(), Value::Null)
                    } else {
                        value(*c, rng.below(1000))
                    };
                    texts.push(text);
                    row[*c] = Some(v);
                }
                batch.push((ts, row, texts));
            }
            // a third of the batches in strictly increasing order (a client
            // writing in order; the engine takes those whole)
            if rng.below(3) == 0 {
                batch.sort_by_key(|r| r.0);
                batch.dedup_by_key(|r| r.0);
            }
            let mut sql = String::from("insert into t (ts");
            for c in &given {
                sql.push(',');
                sql.push_str(COLS[*c]);
            }
            sql.push_str(") values ");
            for (ts, _, texts) in &batch {
                sql.push_str(&format!("({ts}"));
                for text in texts {
                    sql.push(',');
                    sql.push_str(text);
                }
                sql.push_str(") ");
            }
            e.execute(&sql, Some(&db)).unwrap();
            // within one statement the rows apply in order, as in the engine
            for (ts, row, _) in batch {
                model_insert(m, u as u8, ts, row);
            }
        }
        match rng.below(10) {
            0..=2 => e.execute("flush database u0", None).map(|_| ()).unwrap(),
            3 => {
                drop(e);
                e = Engine::open(&dir).unwrap();
            }
            _ => {}
        }
        if step % 10 == 9 {
            for (u, m) in models.iter().enumerate() {
                check(&e, &format!("u{u}"), m, &mut rng, step);
            }
        }
    }
    // everything flushed, reopened: only data files, no WAL replay
    e.flush().unwrap();
    drop(e);
    let e = Engine::open(&dir).unwrap();
    for (u, m) in models.iter().enumerate() {
        check(&e, &format!("u{u}"), m, &mut rng, 999);
    }
    let files = std::fs::read_dir(dir.join("data/u0")).unwrap().count();
    assert!(files >= 1, "flushes wrote data files");
    // late rows were merged into the blocks they fell in: no table has
    // blocks overlapping in time, and merged-away files are gone
    let st = e.state.read().unwrap();
    assert!(st.store.tables.values().all(|t| t.disjoint));
    let blocks: usize = st.store.tables.values().map(|t| t.blocks.len()).sum();
    assert!(blocks >= 3, "{blocks} blocks");
    drop(st);
    let wal: Vec<_> = std::fs::read_dir(dir.join("wal")).unwrap().collect();
    assert_eq!(wal.len(), 1, "covered WAL segments are deleted");
    let _ = std::fs::remove_dir_all(&dir);
}

fn rng_val(rng: &mut Rng, n: usize) -> i64 {
    rng.below(n) as i64
}

fn close(a: &[Vec<Value>], b: &[Vec<Value>]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.len() == y.len()
                && x.iter().zip(y).all(|(u, v)| match (u, v) {
                    (Value::Double(p), Value::Double(q)) => {
                        (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0)
                    }
                    _ => u == v,
                })
        })
}

/// The column-slice path (block headers, decoded slices, the memtable as
/// columns) and the row path answer every aggregate query alike. A WHERE
/// term that is always true but not a time bound forces the row path.
#[test]
fn fast_and_row_paths_agree() {
    let dir = std::env::temp_dir().join(format!("tsdb-paths-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let e = Engine::open(&dir).unwrap();
    e.execute("create database p maxrows 200 keep 36500 update 1", None)
        .unwrap();
    let db = Some("p");
    e.execute(
        "create stable st (ts timestamp, v int, f double, s binary(6), b bool) tags (g int, loc binary(8))",
        db,
    )
    .unwrap();
    let mut rng = Rng(42);
    for (round, from) in [(0, 0i64), (1, 10_000)] {
        for t in 0..3 {
            let mut sql = format!(
                "insert into t{t} using st tags ({}, 'l{}') values ",
                t % 2,
                t
            );
            let mut ts = BASE + from * 1000 + t * 7;
            for _ in 0..1200 {
                ts += 1000 + rng.below(4) as i64 * 1000 * i64::from(rng.below(20) == 0) * 30;
                let (a, b, c, d) = (
                    rng_val(&mut rng, 200) - 100,
                    rng_val(&mut rng, 10_000) as f64 / 8.0,
                    rng_val(&mut rng, 99),
                    rng_val(&mut rng, 2) == 0,
                );
                // t2 has no NULL: its column slices take the folds for
                // columns without a null map
                let mut v = |s: String| {
                    if t != 2 && rng.below(7) == 0 {
                        "null".into()
                    } else {
                        s
                    }
                };
                let iv = v(format!("{a}"));
                let fv = v(format!("{b}"));
                let sv = v(format!("'x{c}'"));
                let bv = v(format!("{d}"));
                sql.push_str(&format!("({ts},{iv},{fv},{sv},{bv}) "));
            }
            e.execute(&sql, db).unwrap();
        }
        if round == 0 {
            e.flush().unwrap(); // blocks, then a memtable after them
        }
    }
    let lo = BASE + 200_000;
    let hi = BASE + 12_000_000;
    let queries = [
        "select count(*), count(v), sum(v), avg(f), min(v), max(f), spread(v), first(s), last(b) from st".to_owned(),
        "select count(*), sum(f), min(b), max(v), first(f), last(s) from t1".to_owned(),
        format!("select count(*), avg(v), max(f), first(v), last(v) from st where ts >= {lo} and ts < {hi}"),
        "select _wstart, _wend, count(*), avg(v), sum(f), first(s), last(s) from st interval(5m)".to_owned(),
        "select count(*), avg(f), min(v), max(v) from st interval(4m) sliding(1m)".to_owned(),
        format!("select count(*), spread(f) from st where ts between {lo} and {hi} interval(7m, 2m) group by tbname"),
        "select count(*), sum(v), last(f) from st group by loc".to_owned(),
        "select avg(v), max(f) from st where g = 1 partition by tbname interval(10m)".to_owned(),
        "select count(*), min(f) from st interval(1n)".to_owned(),
        format!("select count(*), first(v), last(v) from st where ts > {}", hi + 100_000_000),
        format!("select count(*), avg(v) from st where ts > {}", hi + 100_000_000),
        // a bound the time range cannot use (not a timestamp) stays a filter
        "select count(*), max(v) from st where ts < 1.5".to_owned(),
        "select count(*), avg(v) from st interval(10m) order by ts desc limit 5".to_owned(),
        "select count(*) from st".to_owned(),
    ];
    let check = |stage: &str| {
        for q in &queries {
            compare(&e, db, q, stage);
        }
    };
    check("blocks, then memtable");
    // late rows, half of them rewriting stored rows, make the memtable
    // overlap the blocks
    for t in 0..3 {
        let stored = rows(e.execute(&format!("select ts from t{t}"), db).unwrap());
        let mut sql = format!("insert into t{t} values ");
        for (i, r) in stored.iter().take(1200).step_by(4).enumerate() {
            let Value::Int(ts) = r[0] else { unreachable!() };
            // a rewrite of a stored row (UPDATE 1: it wins) and a new one
            sql.push_str(&format!("({ts}, {i}, {}.25, 'late', false) ", i % 17));
            sql.push_str(&format!("({}, null, 1.5, null, true) ", ts + 1));
        }
        e.execute(&sql, db).unwrap();
    }
    check("late rows in the memtable");
    e.flush().unwrap();
    check("merged");
    let _ = std::fs::remove_dir_all(&dir);
}

fn compare(e: &Engine, db: Option<&str>, q: &str, stage: &str) {
    {
        let fast = rows(e.execute(q, db).unwrap_or_else(|err| panic!("{q}: {err}")));
        let forced = if q.contains(" where ") {
            q.replacen(" where ", " where (v is null or v is not null) and ", 1)
        } else {
            let at = [" interval", " group", " partition", " order"]
                .iter()
                .filter_map(|k| q.find(k))
                .min()
                .unwrap_or(q.len());
            format!(
                "{} where (v is null or v is not null){}",
                &q[..at],
                &q[at..]
            )
        };
        let slow = rows(e.execute(&forced, db).unwrap());
        assert!(!slow.is_empty() || q.contains("first"), "{q}: no rows");
        assert!(
            close(&fast, &slow),
            "{stage}: {q}\nfast: {fast:?}\nrows: {slow:?}"
        );
    }
}

/// `last_row` after a restart whose WAL holds only a late row: the newest
/// row is in a block, not the replayed one.
#[test]
fn last_row_after_restart_with_a_late_row() {
    let dir = std::env::temp_dir().join(format!("tsdb-lastrow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let e = Engine::open(&dir).unwrap();
    e.execute("create database l keep 36500", None).unwrap();
    e.execute("create table t (ts timestamp, v int)", Some("l"))
        .unwrap();
    e.execute(
        &format!("insert into t values ({BASE}, 1) ({}, 2)", BASE + 1000),
        Some("l"),
    )
    .unwrap();
    e.flush().unwrap();
    e.execute(
        &format!("insert into t values ({}, 3)", BASE + 500),
        Some("l"),
    )
    .unwrap();
    let want = vec![vec![Value::Int(BASE + 1000), Value::Int(2)]];
    assert_eq!(
        rows(e.execute("select last_row(*) from t", Some("l")).unwrap()),
        want
    );
    drop(e);
    let e = Engine::open(&dir).unwrap();
    assert_eq!(
        rows(e.execute("select last_row(*) from t", Some("l")).unwrap()),
        want
    );
    e.execute(
        &format!("insert into t values ({}, 4)", BASE + 2000),
        Some("l"),
    )
    .unwrap();
    assert_eq!(
        rows(e.execute("select last_row(*) from t", Some("l")).unwrap()),
        vec![vec![Value::Int(BASE + 2000), Value::Int(4)]]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A damaged data file: the query that reads the damaged chunk gets a
/// clear error naming the file, other tables still answer; a file whose
/// index is damaged stops the start with the file's name (nothing is
/// silently dropped).
#[test]
fn damaged_data_files_are_reported() {
    let dir = std::env::temp_dir().join(format!("tsdb-damaged-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let e = Engine::open_with(&dir, 0).unwrap(); // no cache: reads go to the files
    e.execute("create database d keep 36500", None).unwrap();
    e.execute("create database ok keep 36500", None).unwrap();
    for db in ["d", "ok"] {
        e.execute("create table t (ts timestamp, v double)", Some(db))
            .unwrap();
        let mut sql = String::from("insert into t values ");
        for i in 0..1000 {
            sql.push_str(&format!("({}, {}.5) ", BASE + i * 1000, i));
        }
        e.execute(&sql, Some(db)).unwrap();
    }
    e.flush().unwrap();
    drop(e);
    let file = std::fs::read_dir(dir.join("data/d"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[20] ^= 0xff; // inside the first block's timestamp chunk
    std::fs::write(&file, &bytes).unwrap();

    let e = Engine::open_with(&dir, 0).unwrap();
    let err = e
        .execute("select avg(v) from t interval(1m)", Some("d"))
        .unwrap_err();
    assert_eq!(err.code, 0x0612);
    assert!(
        err.msg
            .contains("is damaged: a chunk's checksum does not match")
            && err.msg.contains(".tsf"),
        "{}",
        err.msg
    );
    // the header still answers count; the other database is untouched
    assert_eq!(
        rows(e.execute("select count(*) from t", Some("d")).unwrap()),
        vec![vec![Value::Int(1000)]]
    );
    assert_eq!(
        rows(
            e.execute("select max(v), count(*) from t where v > 10", Some("ok"))
                .unwrap()
        ),
        vec![vec![Value::Double(999.5), Value::Int(990)]]
    );
    drop(e);

    // a damaged index: the file is set aside and reported, the rest serves
    let n = bytes.len();
    bytes[n - 30] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let e = Engine::open(&dir).unwrap();
    assert_eq!(
        rows(e.execute("select count(*) from t", Some("d")).unwrap()),
        vec![vec![Value::Int(0)]]
    );
    assert_eq!(
        rows(e.execute("select count(*) from t", Some("ok")).unwrap()),
        vec![vec![Value::Int(1000)]]
    );
    assert_eq!(
        e.execute("select file from information_schema.ins_damage", None)
            .unwrap_err()
            .msg,
        "only SELECT * is supported on information_schema.ins_damage"
    );
    let report: Vec<Vec<Value>> = rows(
        e.execute("select * from information_schema.ins_damage", None)
            .unwrap(),
    )
    .into_iter()
    .map(|r| vec![r[2].clone(), r[5].clone(), r[6].clone()])
    .collect();
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(report.len(), 1);
    assert_eq!(report[0][0], Value::Str(format!("data/d/{name}")));
    assert_eq!(
        report[0][1],
        Value::Str(format!(
            "data file {} is damaged: the index checksum does not match: its 1 blocks of database d (partition starting at {}) are not served",
            file.display(),
            name.trim_start_matches('p').split("-f").next().unwrap()
        ))
    );
    assert_eq!(
        report[0][2],
        Value::Str(format!(
            "file moved to quarantine/d-{name}; the manifest no longer names it"
        ))
    );
    assert!(!file.exists() && dir.join(format!("quarantine/d-{name}")).exists());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh engine in a new directory named after `test`, with database
/// `f` and super table `st (ts, v int) tags (k int)` in it.
fn with_stable(test: &str) -> (std::path::PathBuf, Engine) {
    let dir = std::env::temp_dir().join(format!("tsdb-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let e = Engine::open(&dir).unwrap();
    e.execute("create database f keep 36500", None).unwrap();
    e.execute(
        "create stable st (ts timestamp, v int) tags (k int)",
        Some("f"),
    )
    .unwrap();
    (dir, e)
}

/// Dropping tables frees their blocks: a data file goes once none of its
/// blocks belongs to a live table, across restarts too.
#[test]
fn dropped_tables_free_their_files() {
    let (dir, e) = with_stable("dropfree");
    let db = Some("f");
    for t in ["a", "b", "c"] {
        e.execute(
            &format!(
                "insert into {t} using st tags (1) values ({BASE}, 1) ({}, 2)",
                BASE + 1
            ),
            db,
        )
        .unwrap();
    }
    e.flush().unwrap();
    let files = || {
        std::fs::read_dir(dir.join("data/f"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(files(), 1, "one flush, one partition: one file");
    e.execute("drop table a", db).unwrap();
    assert_eq!(files(), 1);
    drop(e);
    let e = Engine::open(&dir).unwrap();
    let st = e.state.read().unwrap();
    assert_eq!(st.store.tables.len(), 2, "a's block is not loaded again");
    drop(st);
    assert_eq!(
        rows(e.execute("select count(*) from st", db).unwrap()),
        vec![vec![Value::Int(4)]]
    );
    e.execute("drop stable st", db).unwrap();
    assert_eq!(files(), 0, "no live block left: the file is deleted");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A data file whose blocks are partly dead is rewritten without them:
/// by `COMPACT DATABASE`, or after a flush once half its blocks are dead.
/// The copy reads back the same rows, from the new file, across a restart.
#[test]
fn dead_blocks_are_compacted_away() {
    let (dir, e) = with_stable("compact");
    let db = Some("f");
    // more than a quarter of `maxrows`: not a small block, which a flush
    // would merge with the next row's block instead
    const ROWS: i64 = 2000;
    // values that do not compress away, so each table's block has weight
    let v = |k: i64, i: i64| (i * 2_654_435_761 + k * 97) % 1_000_003;
    for (k, t) in ["a", "b", "c", "d"].iter().enumerate() {
        let mut sql = format!("insert into {t} using st tags ({k}) values ");
        for i in 0..ROWS {
            sql.push_str(&format!("({}, {}) ", BASE + i, v(k as i64, i)));
        }
        e.execute(&sql, db).unwrap();
    }
    let sum = |k: i64| (0..ROWS).map(|i| v(k, i)).sum::<i64>();
    e.flush().unwrap();
    let files = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir.join("data/f"))
            .unwrap()
            .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sums = |e: &Engine| {
        rows(
            e.execute("select sum(v), count(*) from st group by k", db)
                .unwrap(),
        )
    };
    let want = |ks: &[i64]| -> Vec<Vec<Value>> {
        ks.iter()
            .map(|&k| vec![Value::Int(sum(k)), Value::Int(ROWS), Value::Int(k)])
            .collect()
    };
    let first = files();
    assert_eq!(first.len(), 1, "{first:?}");
    let full = e.data_file_bytes();

    // a quarter dead: left alone by flushes, rewritten on request
    e.execute("drop table a", db).unwrap();
    e.flush().unwrap();
    assert_eq!(files(), first);
    e.execute("compact database f", None).unwrap();
    let second = files();
    assert_eq!(second.len(), 1);
    assert_ne!(second, first);
    assert!(second[0].ends_with("-c1.tsf"), "{second:?}");
    let three = e.data_file_bytes();
    assert!(
        three < full * 4 / 5 && three > full / 2,
        "{three} of {full} bytes"
    );
    assert_eq!(sums(&e), want(&[1, 2, 3]));
    assert_eq!(e.compact("f").unwrap(), 0, "nothing dead is left");

    // two of three dead: the next flush rewrites it
    e.execute("drop table b", db).unwrap();
    e.execute("drop table c", db).unwrap();
    assert_eq!(files(), second);
    e.execute(&format!("insert into d values ({}, 7)", BASE + 5000), db)
        .unwrap();
    e.flush().unwrap();
    let third = files();
    assert_eq!(third.len(), 2, "{third:?}");
    assert!(third.iter().any(|f| f.ends_with("-c2.tsf")), "{third:?}");
    assert!(!third.contains(&second[0]));
    drop(e);

    // no cache: the rows come from the new files
    let e = Engine::open_with(&dir, 0).unwrap();
    assert_eq!(files(), third);
    assert_eq!(
        rows(e.execute("select sum(v), count(*) from d", db).unwrap()),
        vec![vec![Value::Int(sum(3) + 7), Value::Int(ROWS + 1)]]
    );
    e.execute("compact database f", None).unwrap();
    assert_eq!(files(), third, "no dead block: nothing rewritten");
    let err = e.execute("compact database nosuch", None).unwrap_err();
    assert_eq!(err.msg, "Database not exist: nosuch");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Writers of many-device statements run side by side (each checked under
/// the read lock) while another thread changes the catalog: every
/// acknowledged row is there once, in the table it was written to, and a
/// column added meanwhile reads NULL in the rows written before it.
#[test]
fn concurrent_many_table_inserts_beside_ddl() {
    let (dir, e) = with_stable("manytables");
    let e = std::sync::Arc::new(e);
    const WRITERS: usize = 4;
    const TABLES: usize = 200;
    const ROUNDS: usize = 30;
    e.execute(
        &format!(
            "insert into {}",
            (0..TABLES)
                .map(|k| format!("f.d{k} using f.st tags ({k}) values ({BASE}, 0)"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        None,
    )
    .unwrap();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let e = e.clone();
            std::thread::spawn(move || {
                let mut written = 0;
                for r in 0..ROUNDS {
                    let tick = BASE + 1 + (r * WRITERS + w) as i64;
                    let sql = format!(
                        "insert into {}",
                        (0..TABLES)
                            .map(|k| {
                                format!("f.d{k} using f.st tags ({k}) (ts, v) values ({tick}, {w})")
                            })
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    match e.execute(&sql, None).unwrap() {
                        Output::Affected(n) => written += n,
                        o => panic!("{o:?}"),
                    }
                }
                written
            })
        })
        .collect();
    let ddl = {
        let e = e.clone();
        std::thread::spawn(move || {
            for i in 0..10 {
                e.execute(&format!("alter stable f.st add column c{i} int"), None)
                    .unwrap();
                e.execute(&format!("create table f.n{i} (ts timestamp, v int)"), None)
                    .unwrap();
                e.execute(&format!("drop table f.n{i}"), None).unwrap();
            }
        })
    };
    let written: usize = writers.into_iter().map(|h| h.join().unwrap()).sum();
    ddl.join().unwrap();
    assert_eq!(written, WRITERS * ROUNDS * TABLES);
    let count = |sql: &str| match &rows(e.execute(sql, Some("f")).unwrap())[..] {
        [row] => row[0].clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        count("select count(*) from st"),
        Value::Int((TABLES + written) as i64)
    );
    assert_eq!(
        count("select count(*) from d7"),
        Value::Int((1 + WRITERS * ROUNDS) as i64)
    );
    assert_eq!(
        count(&format!("select c9 from d7 where ts = {BASE}")),
        Value::Null
    );
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A row per table per flush (the many-device pattern) leaves each table
/// one block, not one per flush: small blocks merge as they gather, their
/// old files go, and every row reads back, across a restart too.
#[test]
fn small_blocks_merge_as_they_gather() {
    let (dir, e) = with_stable("smallmerge");
    let db = Some("f");
    const TABLES: i64 = 5;
    const FLUSHES: i64 = 12;
    for f in 0..FLUSHES {
        let sql: String = (0..TABLES)
            .map(|k| {
                format!(
                    "d{k} using st tags ({k}) values ({}, {})",
                    BASE + f,
                    k * 100 + f
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        e.execute(&format!("insert into {sql}"), db).unwrap();
        e.flush().unwrap();
    }
    let blocks = |e: &Engine| -> usize {
        let st = e.state.read().unwrap();
        st.store.tables.values().map(|t| t.blocks.len()).sum()
    };
    let want: Vec<Vec<Value>> = (0..TABLES)
        .map(|k| {
            let sum: i64 = (0..FLUSHES).map(|f| k * 100 + f).sum();
            vec![Value::Int(sum), Value::Int(FLUSHES), Value::Int(k)]
        })
        .collect();
    let sums = |e: &Engine| {
        rows(
            e.execute(
                "select sum(v), count(*), k from st group by k order by k",
                db,
            )
            .unwrap(),
        )
    };
    assert_eq!(blocks(&e), TABLES as usize);
    assert_eq!(sums(&e), want);
    let files = std::fs::read_dir(dir.join("data/f")).unwrap().count();
    assert!(files <= 2, "{files} data files left");
    drop(e);
    let e = Engine::open(&dir).unwrap();
    assert_eq!(blocks(&e), TABLES as usize);
    assert_eq!(sums(&e), want);
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A query's view (issue 19, part 2) reads the tables as they were when it
/// was taken, with the engine's lock released: rows written, a flush, a
/// dropped table and a compaction that deletes the file its blocks are in
/// all happen after, and the view still answers the old rows (read through
/// the deleted file's open descriptor), while a new query sees the new.
#[test]
fn a_view_reads_what_was_there_when_taken() {
    let (dir, e) = with_stable("view");
    let db = Some("f");
    const ROWS: i64 = 2000;
    for (k, t) in ["a", "b"].iter().enumerate() {
        let mut sql = format!("insert into {t} using st tags ({k}) values ");
        for i in 0..ROWS {
            sql.push_str(&format!("({}, {}) ", BASE + i, i + 1));
        }
        e.execute(&sql, db).unwrap();
    }
    e.flush().unwrap();
    // ten rows in a's memtable too
    let more = |from: i64| {
        let mut sql = "insert into a values ".to_owned();
        for i in from..from + 10 {
            sql.push_str(&format!("({}, 1000000) ", BASE + i));
        }
        e.execute(&sql, db).unwrap();
    };
    more(ROWS);
    // a late row in a's memtable, and one row in b's
    e.execute(&format!("insert into a values ({}, 7)", BASE - 1), db)
        .unwrap();
    e.execute(&format!("insert into b values ({}, 5)", BASE + ROWS), db)
        .unwrap();
    let sql = "select count(*), sum(v) from st";
    let tsdb::sql::ast::Statement::Select(sel) = tsdb::sql::parse(sql).unwrap() else {
        unreachable!()
    };
    let view = tsdb::query::View::take(&e.state.read().unwrap(), &sel, db).unwrap();
    let files_then: Vec<_> = std::fs::read_dir(dir.join("data/f"))
        .unwrap()
        .map(|f| f.unwrap().path())
        .collect();
    let old_sum = 2 * (ROWS * (ROWS + 1) / 2) + 10 * 1_000_000 + 7 + 5;
    let old = vec![vec![Value::Int(2 * ROWS + 12), Value::Int(old_sum)]];

    // after the view: a flush of the memtables it holds (a's with a late
    // row, b's without), writes, a dropped table and a compaction that
    // deletes the data file its blocks are in
    e.flush().unwrap();
    more(ROWS + 10);
    e.flush().unwrap();
    e.execute("drop table b", db).unwrap();
    e.execute("compact database f", None).unwrap();
    assert!(
        files_then.iter().all(|p| !p.exists()),
        "merges and compactions deleted the files the view's blocks are in: {files_then:?}"
    );
    more(ROWS + 20);

    let scope = &mut tsdb::query::Scope::default();
    assert_eq!(rows(view.select(&sel, db, scope).unwrap()), old);
    assert_eq!(
        rows(e.execute(sql, db).unwrap()),
        vec![vec![
            Value::Int(ROWS + 31),
            Value::Int(ROWS * (ROWS + 1) / 2 + 30 * 1_000_000 + 7)
        ]]
    );
    // and again, after the view's copies are gone
    drop(view);
    assert_eq!(
        rows(e.execute("select count(*) from a", db).unwrap()),
        vec![vec![Value::Int(ROWS + 31)]]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Queries read snapshots (issue 19, part 2) taken atomically: while one
/// writer inserts statements of one row into each of 50 tables and
/// another thread flushes and merges, concurrent queries over the super
/// table only ever see whole statements (a count that is a multiple of 50,
/// a sum that matches it), never fewer rows than a query before them, and
/// the last sees every row.
#[test]
fn concurrent_queries_see_whole_statements() {
    let (dir, e) = with_stable("snapatomic");
    let e = std::sync::Arc::new(e);
    const TABLES: i64 = 50;
    const STATEMENTS: i64 = 300;
    let statement = |s: i64| {
        let mut sql = "insert into ".to_owned();
        for k in 0..TABLES {
            sql.push_str(&format!(
                "f.d{k} using f.st tags ({k}) values ({}, {s}) ",
                BASE + s
            ));
        }
        sql
    };
    e.execute(&statement(0), None).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let e = e.clone();
        std::thread::spawn(move || {
            for s in 1..STATEMENTS {
                e.execute(&statement(s), None).unwrap();
            }
        })
    };
    let flusher = {
        let (e, done) = (e.clone(), done.clone());
        std::thread::spawn(move || {
            let mut flushes = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                e.flush().unwrap();
                flushes += 1;
                std::thread::sleep(std::time::Duration::from_millis(3));
            }
            flushes
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (e, done) = (e.clone(), done.clone());
            std::thread::spawn(move || {
                let (mut seen, mut queries) = (0i64, 0);
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let out = rows(
                        e.execute("select count(*), sum(v) from st", Some("f"))
                            .unwrap(),
                    );
                    let (Value::Int(n), sum) = (&out[0][0], &out[0][1]) else {
                        panic!("{out:?}")
                    };
                    assert_eq!(n % TABLES, 0, "a statement seen in part: {n} rows");
                    let whole = n / TABLES; // statements 0..whole, each v = s
                    assert_eq!(sum, &Value::Int(TABLES * whole * (whole - 1) / 2));
                    assert!(*n >= seen, "{n} rows after {seen}");
                    seen = *n;
                    queries += 1;
                }
                queries
            })
        })
        .collect();
    writer.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let queries: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let flushes = flusher.join().unwrap();
    assert!(
        queries > 10 && flushes > 2,
        "{queries} queries, {flushes} flushes"
    );
    assert_eq!(
        rows(e.execute("select count(*) from st", Some("f")).unwrap()),
        vec![vec![Value::Int(TABLES * STATEMENTS)]]
    );
    let _ = std::fs::remove_dir_all(&dir);
}
