//! The damage matrix: for each kind of file (WAL segment, data file index
//! and chunks, manifest, catalog), damage at random offsets (flipped
//! bytes, a zeroed 4 KB page, truncation, a deleted file) over seeded
//! trials; every acknowledged row outside the damaged records or blocks
//! must come back, and the loss must be reported (`ins_damage`, `tsdb
//! check`). `DAMAGE_TRIALS` sets the trials per case (default 6, what
//! `make test` runs).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::Rng;
use tsdb::engine::Engine;
use tsdb::result::Output;
use tsdb::storage::wal::{RECORD_MAGIC, SEGMENT_MAGIC};
use tsdb::types::Value;

const BASE: i64 = 1_700_000_000_000;
/// Tables, and INSERT statements per table (one WAL record each).
const TABLES: u64 = 4;
const STATEMENTS: u64 = 50;
/// Rows per statement: 4 × 50 × 100 = 20,000 acknowledged rows.
const ROWS: u64 = 100;

fn trials() -> usize {
    std::env::var("DAMAGE_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6)
}

fn rows(o: Output) -> Vec<Vec<Value>> {
    match o {
        Output::Rows { rows, .. } => rows,
        other => panic!("{other:?}"),
    }
}

/// Row counts per table (`t0`..), as the server answers.
fn counts(e: &Engine) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for t in 0..TABLES {
        let n = match rows(
            e.execute(&format!("select count(*) from d.t{t}"), None)
                .unwrap(),
        )[0][0]
        {
            Value::Int(n) => n,
            ref v => panic!("{v:?}"),
        };
        out.insert(format!("t{t}"), n);
    }
    out
}

/// A data directory with 20,000 acknowledged rows: statement `s` of table
/// `t` holds rows `BASE + (s * ROWS + i) * 1000`. With `flush`, they are
/// in data files (two partitions per table); otherwise only in the WAL.
fn populated(name: &str, flush: bool) -> PathBuf {
    let dir = common::temp_dir(name);
    let e = Engine::open_with(&dir, 0).unwrap();
    e.execute("create database d keep 36500 days 1", None)
        .unwrap();
    for t in 0..TABLES {
        e.execute(
            &format!("create table d.t{t} (ts timestamp, v bigint)"),
            None,
        )
        .unwrap();
    }
    for s in 0..STATEMENTS {
        for t in 0..TABLES {
            let mut sql = format!("insert into d.t{t} values ");
            for i in 0..ROWS {
                let k = s * ROWS + i;
                // 86.4 s apart: 5,000 rows of a table span ~5 days
                sql.push_str(&format!("({}, {k}) ", BASE + k as i64 * 86_400));
            }
            e.execute(&sql, None).unwrap();
        }
    }
    if flush {
        e.flush().unwrap();
    }
    drop(e); // no flush at drop: what is not flushed is only in the WAL
    dir
}

/// The one live WAL segment and the byte span of each record in it, with
/// the table uid order (t0..) and rows it holds: `(start, end, table)`.
fn wal_spans(dir: &Path) -> (PathBuf, Vec<(usize, usize, usize)>) {
    let segs: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let seg = segs
        .iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap()
        .clone();
    let b = std::fs::read(&seg).unwrap();
    assert!(b.starts_with(&SEGMENT_MAGIC));
    let mut spans = Vec::new();
    let mut i = SEGMENT_MAGIC.len();
    let mut k = 0usize;
    while i < b.len() {
        assert_eq!(b[i..i + 4], RECORD_MAGIC);
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().unwrap()) as usize;
        spans.push((i, i + 12 + len, k % TABLES as usize));
        i += 12 + len;
        k += 1;
    }
    assert_eq!(spans.len() as u64, TABLES * STATEMENTS);
    (seg, spans)
}

fn damage_reports(e: &Engine) -> Vec<Vec<Value>> {
    rows(
        e.execute("select * from information_schema.ins_damage", None)
            .unwrap(),
    )
}

#[derive(Debug, Clone, Copy)]
enum Harm {
    Flip,
    ZeroPage,
    Truncate,
}

#[test]
fn wal_damage_costs_only_the_damaged_records() {
    let mut rng = Rng(0xDA3A_6E00_1234_0001);
    for trial in 0..trials() {
        for harm in [Harm::Flip, Harm::ZeroPage, Harm::Truncate] {
            let dir = populated(&format!("dmg-wal-{trial}-{harm:?}"), false);
            let (seg, spans) = wal_spans(&dir);
            let mut b = std::fs::read(&seg).unwrap();
            let len = b.len();
            let at = SEGMENT_MAGIC.len() + rng.below(len - SEGMENT_MAGIC.len() - 16);
            let hit = match harm {
                Harm::Flip => {
                    for k in 0..8 {
                        b[at + k] ^= 0x5A;
                    }
                    (at, at + 8)
                }
                Harm::ZeroPage => {
                    let end = (at + 4096).min(len);
                    b[at..end].fill(0);
                    (at, end)
                }
                Harm::Truncate => {
                    b.truncate(at);
                    (at, len)
                }
            };
            std::fs::write(&seg, &b).unwrap();
            let mut want: BTreeMap<String, i64> =
                (0..TABLES).map(|t| (format!("t{t}"), 0)).collect();
            let mut lost = 0;
            for (s, e, t) in &spans {
                if *e <= hit.0 || *s >= hit.1 {
                    *want.get_mut(&format!("t{t}")).unwrap() += ROWS as i64;
                } else {
                    lost += 1;
                }
            }
            let e = Engine::open_with(&dir, 0).unwrap();
            assert_eq!(
                counts(&e),
                want,
                "trial {trial}, {harm:?} at {hit:?}: {lost} records hit"
            );
            let reports = damage_reports(&e);
            match harm {
                // a cut-off end is a torn tail: dropped quietly, by design
                Harm::Truncate => {}
                _ => {
                    assert_eq!(reports.len(), 1, "{harm:?}: {reports:?}");
                    let Value::Str(action) = &reports[0][6] else {
                        panic!()
                    };
                    assert!(
                        action.starts_with("segment copied to quarantine/wal-"),
                        "{action}"
                    );
                    assert!(dir.join("quarantine").read_dir().unwrap().count() == 1);
                }
            }
            drop(e);
            // the next start neither loses more nor reports again
            let e = Engine::open_with(&dir, 0).unwrap();
            assert_eq!(counts(&e), want);
            assert_eq!(damage_reports(&e).len(), reports.len());
            drop(e);
            let after = tsdb::check::check(&dir);
            assert!(after.problems.is_empty(), "{}", after.text());
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[test]
fn a_deleted_wal_is_reported_and_the_data_files_still_serve() {
    let dir = populated("dmg-wal-gone", true);
    // 400 more rows only in the WAL
    {
        let e = Engine::open_with(&dir, 0).unwrap();
        let mut sql = String::from("insert into d.t0 values ");
        for i in 0..400 {
            sql.push_str(&format!("({}, {i}) ", BASE - 1000 * (i + 1)));
        }
        e.execute(&sql, None).unwrap();
    }
    std::fs::remove_dir_all(dir.join("wal")).unwrap();
    let report = tsdb::check::check(&dir);
    assert_eq!(report.problems.len(), 1, "{}", report.text());
    assert!(
        report
            .text()
            .contains("missing: rows acknowledged after the last flush that it held are lost")
    );
    let e = Engine::open_with(&dir, 0).unwrap();
    let want: BTreeMap<String, i64> = (0..TABLES)
        .map(|t| (format!("t{t}"), (STATEMENTS * ROWS) as i64))
        .collect();
    assert_eq!(counts(&e), want);
    let reports = damage_reports(&e);
    assert_eq!(reports.len(), 1);
    assert_eq!(
        reports[0][5],
        Value::Str(
            "WAL segment 2 is missing: rows acknowledged after the last flush that it held are lost"
                .into()
        )
    );
    drop(e);
    let e = Engine::open_with(&dir, 0).unwrap();
    assert_eq!(damage_reports(&e).len(), 1, "reported once");
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The data files of `d`, largest first.
fn data_files(dir: &Path) -> Vec<PathBuf> {
    let mut f: Vec<PathBuf> = std::fs::read_dir(dir.join("data/d"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    f.sort_by_key(|p| std::cmp::Reverse(std::fs::metadata(p).unwrap().len()));
    f
}

#[test]
fn data_file_damage_costs_only_its_blocks_and_check_repairs_it() {
    let mut rng = Rng(0xDA3A_6E00_1234_0002);
    let full: i64 = (STATEMENTS * ROWS) as i64;
    for trial in 0..trials() {
        for case in 0..4 {
            let dir = populated(&format!("dmg-data-{trial}-{case}"), true);
            let files = data_files(&dir);
            assert!(files.len() >= 2, "{files:?}");
            let victim = &files[rng.below(files.len())];
            let mut b = std::fs::read(victim).unwrap();
            let len = b.len();
            match case {
                // flipped bytes in the chunks
                0 => {
                    let at = 8 + rng.below(len / 2);
                    for k in 0..8 {
                        b[at + k] ^= 0xFF;
                    }
                }
                // a zeroed page at the end: the index and footer
                1 => {
                    let from = len.saturating_sub(4096).max(8);
                    b[from..].fill(0);
                }
                // truncated
                2 => b.truncate(len / 3),
                // deleted
                _ => b.clear(),
            }
            if case == 3 {
                std::fs::remove_file(victim).unwrap();
            } else {
                std::fs::write(victim, &b).unwrap();
            }
            let report = tsdb::check::check(&dir);
            assert!(
                !report.problems.is_empty(),
                "case {case}: {}",
                report.text()
            );
            let name = victim.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                report.text().contains(&name),
                "check names the file: {}",
                report.text()
            );

            // the server starts; other files are untouched
            let e = Engine::open_with(&dir, 0).unwrap();
            let served = counts(&e);
            let total: i64 = served.values().sum();
            assert!(
                total < full * TABLES as i64 || case == 0,
                "case {case}: {served:?}"
            );
            drop(e);
            let done = tsdb::check::repair(&dir, &report).unwrap();
            assert!(!done.is_empty());
            assert!(
                tsdb::check::check(&dir).problems.is_empty(),
                "{:?}",
                tsdb::check::check(&dir).text()
            );
            let e = Engine::open_with(&dir, 0).unwrap();
            // every query works again; each table keeps every row outside the victim
            for t in 0..TABLES {
                e.execute(
                    &format!("select avg(v), max(ts) from d.t{t} interval(1d)"),
                    None,
                )
                .unwrap();
            }
            let after = counts(&e);
            let lost: i64 = full * TABLES as i64 - after.values().sum::<i64>();
            assert!(
                lost > 0 && lost < full * TABLES as i64 / 2,
                "case {case}: {after:?}"
            );
            assert!(!damage_reports(&e).is_empty());
            drop(e);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[test]
fn a_lost_manifest_is_rebuilt_and_nothing_is_lost() {
    for harm in ["flip", "delete"] {
        let dir = populated(&format!("dmg-manifest-{harm}"), true);
        let m = dir.join("data/MANIFEST");
        if harm == "flip" {
            let mut b = std::fs::read(&m).unwrap();
            b[2] ^= 0x20;
            b[10] = b'}';
            std::fs::write(&m, &b).unwrap();
        } else {
            std::fs::remove_file(&m).unwrap();
        }
        let err = Engine::open_with(&dir, 0).unwrap_err();
        assert!(
            err.msg.contains("`tsdb check --repair --data-dir"),
            "{}",
            err.msg
        );
        let report = tsdb::check::check(&dir);
        assert_eq!(report.problems.len(), 1, "{}", report.text());
        tsdb::check::repair(&dir, &report).unwrap();
        let e = Engine::open_with(&dir, 0).unwrap();
        let want: BTreeMap<String, i64> = (0..TABLES)
            .map(|t| (format!("t{t}"), (STATEMENTS * ROWS) as i64))
            .collect();
        assert_eq!(counts(&e), want, "{harm}");
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_damaged_catalog_is_named_by_check() {
    let dir = populated("dmg-catalog", true);
    std::fs::remove_file(dir.join("catalog.redb")).unwrap();
    let err = Engine::open_with(&dir, 0).unwrap_err();
    assert!(
        err.msg.contains(
            "is missing but data files exist: it holds every schema and cannot be rebuilt from them; restore it from a backup"
        ),
        "{}",
        err.msg
    );
    assert!(
        !dir.join("catalog.redb").exists(),
        "no empty catalog was made"
    );
    let report = tsdb::check::check(&dir);
    assert_eq!(
        report.text().lines().find(|l| l.starts_with("DAMAGED")),
        Some("DAMAGED  catalog.redb: missing while data files exist")
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tsdb_check_exits_non_zero_on_damage_and_repairs() {
    let dir = populated("dmg-cli", false);
    let run = |repair: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tsdb"));
        c.args(["check", "--data-dir"]).arg(&dir);
        if repair {
            c.arg("--repair");
        }
        c.output().unwrap()
    };
    let out = run(false);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("no damage found\n"));
    let (seg, spans) = wal_spans(&dir);
    let mut b = std::fs::read(&seg).unwrap();
    b[spans[10].0 + 20] ^= 1;
    std::fs::write(&seg, &b).unwrap();
    let out = run(false);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = format!(
        "DAMAGED  wal/{}: bytes {}..{} unreadable, at least 1 record(s) lost; 199 intact records",
        seg.file_name().unwrap().to_string_lossy(),
        spans[10].0,
        spans[10].1
    );
    assert!(text.contains(&line), "{text}");
    let out = run(true);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("after repair:") && text.ends_with("no damage found\n"),
        "{text}"
    );
    let e = Engine::open_with(&dir, 0).unwrap();
    assert_eq!(counts(&e).values().sum::<i64>(), 199 * ROWS as i64);
    drop(e);
    let _ = std::fs::remove_dir_all(&dir);
}
