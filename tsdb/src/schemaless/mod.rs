//! Schemaless ingest: InfluxDB line protocol written as TDengine's
//! schemaless writer writes it (taosAdapter's `POST /influxdb/v1/write`).
//!
//! - a measurement is a super table, created on first sight; its tags are
//!   NCHAR tags, its fields columns (float → DOUBLE, `i` and `u` integers →
//!   BIGINT, strings → NCHAR, booleans → BOOL), the timestamp column `_ts`;
//!   a measurement without tags gets TDengine's placeholder tag `_tag_null`;
//! - each distinct tag set is a child table named `t_` + a 128-bit hash of
//!   the measurement and its sorted tags (TDengine hashes with MD5; ours is
//!   FNV-1a, so names differ from TDengine's but are as stable);
//! - a new field or tag later is an `ALTER STABLE ... ADD COLUMN / TAG`, a
//!   longer string an `ALTER ... MODIFY`; a field whose type differs from
//!   its column's is refused with both types named;
//! - the database is created if missing (as taosAdapter's schemaless
//!   writer does), timestamps are converted from the request's precision
//!   to the database's (truncating), a line without one takes the server's
//!   clock.
//!
//! The schema changes are ordinary DDL statements and the rows one INSERT
//! (built as the parser's INSERT clauses, not as SQL text), so a request's
//! rows are all written or none (its DDL stays).
//!
//! May import: `error`, `schema`, `sql`, `state`, `types` (and runs
//! statements through [`Engine::execute`] and [`Engine::insert_tables`]).

pub mod line;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::{DbError, Result, code};
use crate::fail;
use crate::schema::Column;
use crate::sql::ast::{Expr, InsertTable, Lit, ObjName, Rows, SubTable};
use crate::state::Engine;
use crate::types::{DataType, Precision, UidMap};
use line::{Field, Point};

/// The timestamp column of a super table the writer creates (TDengine's).
pub const TS_COLUMN: &str = "_ts";
/// The tag of a measurement written without tags (TDengine's).
pub const NULL_TAG: &str = "_tag_null";
/// Narrowest string column or tag created; wider values widen it.
pub const MIN_STRING_WIDTH: u32 = 16;
/// Widest NCHAR (TDengine: 16,374 bytes of UCS-4 = 4,093 characters).
pub const MAX_NCHAR_WIDTH: u32 = 4093;

/// The timestamp precision of a request (`precision=`): InfluxDB's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RequestPrecision {
    Ns,
    Us,
    Ms,
    S,
    Minutes,
    Hours,
}

impl RequestPrecision {
    /// `n`/`ns` (the default), `u`/`us`/`µ`, `ms`, `s`, `m`, `h`.
    pub fn parse(v: Option<&str>) -> Result<RequestPrecision> {
        Ok(match v.unwrap_or("ns") {
            "" | "n" | "ns" => RequestPrecision::Ns,
            "u" | "us" | "µ" => RequestPrecision::Us,
            "ms" => RequestPrecision::Ms,
            "s" => RequestPrecision::S,
            "m" => RequestPrecision::Minutes,
            "h" => RequestPrecision::Hours,
            other => fail!(
                code::INVALID_VALUE,
                "invalid precision '{other}': expected ns, u, ms, s, m or h"
            ),
        })
    }

    /// Nanoseconds per unit.
    fn nanos(self) -> i128 {
        match self {
            RequestPrecision::Ns => 1,
            RequestPrecision::Us => 1_000,
            RequestPrecision::Ms => 1_000_000,
            RequestPrecision::S => 1_000_000_000,
            RequestPrecision::Minutes => 60_000_000_000,
            RequestPrecision::Hours => 3_600_000_000_000,
        }
    }

    /// `t` in this unit as a timestamp of precision `p`.
    fn convert(self, t: i64, p: Precision) -> Option<i64> {
        let per: i128 = match p {
            Precision::Ms => 1_000_000,
            Precision::Us => 1_000,
            Precision::Ns => 1,
        };
        i64::try_from((t as i128 * self.nanos()).div_euclid(per)).ok()
    }
}

/// A column type as DDL writes it (`nchar(16)`, `double`, ...).
fn sql_type(t: DataType) -> String {
    match t {
        DataType::NChar(w) => format!("nchar({w})"),
        t => t.name().to_ascii_lowercase(),
    }
}

/// The column type a field's value needs.
fn field_type(f: &Field) -> DataType {
    match f {
        Field::Float(_) => DataType::Double,
        Field::Int(_) | Field::UInt(_) => DataType::BigInt,
        Field::Bool(_) => DataType::Bool,
        Field::Str(s) => DataType::NChar(width(s)),
    }
}

fn width(s: &str) -> u32 {
    (s.chars().count() as u32).max(MIN_STRING_WIDTH)
}

/// Whether a column of type `have` takes a value needing `need`.
fn fits(have: DataType, need: DataType) -> bool {
    match (have, need) {
        (DataType::NChar(h), DataType::NChar(n)) => n <= h,
        (DataType::Binary(h), DataType::NChar(n)) => n <= h,
        (h, n) => h == n,
    }
}

fn same_kind(have: DataType, need: DataType) -> bool {
    matches!(
        (have, need),
        (DataType::NChar(_) | DataType::Binary(_), DataType::NChar(_))
    ) || have == need
}

fn quote_ident(s: &str) -> Result<String> {
    if s.contains('`') || s.len() > 192 {
        fail!(
            code::INVALID_VALUE,
            "name '{s}' cannot be a table or column name (a backquote, or longer than 192 bytes)"
        );
    }
    Ok(format!("`{s}`"))
}

/// The child table of a tag set: `t_` and 32 hex digits.
pub fn child_name(measurement: &str, tags: &[(String, String)]) -> String {
    let (h1, h2) = child_hash(measurement, tags);
    hex_name(h1, h2)
}

/// `t_` and the two hashes' 32 hex digits, without the formatting
/// machinery (once per line of a request, where `format!` was a tenth of
/// the ingest).
fn hex_name(h1: u64, h2: u64) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(34);
    s.push_str("t_");
    for h in [h1, h2] {
        for i in (0..16).rev() {
            s.push(char::from(HEX[((h >> (i * 4)) & 0xf) as usize]));
        }
    }
    s
}

/// Two FNV-1a hashes (different seeds) of `measurement,k=v,...` with the
/// tags sorted: the digits of [`child_name`], fed the text piece by piece
/// rather than built into a string first.
fn child_hash(measurement: &str, tags: &[(String, String)]) -> (u64, u64) {
    let mut sorted: Vec<&(String, String)> = tags.iter().collect();
    sorted.sort_unstable();
    let mut h = (0xcbf2_9ce4_8422_2325_u64, 0x6c62_272e_07bb_0142_u64);
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            h.0 = (h.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
            h.1 = (h.1 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    feed(measurement.as_bytes());
    for (k, v) in sorted {
        feed(b",");
        feed(k.as_bytes());
        feed(b"=");
        feed(v.as_bytes());
    }
    h
}

/// Writes the line-protocol `text` into database `db`; the rows written.
///
/// A clause for a child table that exists goes without its `USING` part
/// (building it was a dozen allocations a line, for a part the INSERT
/// ignores when the table exists); if such a table is dropped before the
/// INSERT runs, the request goes once more with every clause whole.
pub fn write(engine: &Engine, db: &str, text: &str, precision: RequestPrecision) -> Result<usize> {
    match write_once(engine, db, text, precision, false) {
        Err(e) if e.code == code::TABLE_NOT_EXIST => write_once(engine, db, text, precision, true),
        r => r,
    }
}

/// [`write`], each clause with its `USING` part when `whole`, else only
/// those whose child table does not exist yet.
fn write_once(
    engine: &Engine,
    db: &str,
    text: &str,
    precision: RequestPrecision,
    whole: bool,
) -> Result<usize> {
    let points = line::parse(text).map_err(|e| {
        DbError::new(
            code::INVALID_VALUE,
            format!("line protocol, line {}: {}", e.line, e.msg),
        )
    })?;
    if points.is_empty() {
        return Ok(0);
    }
    let qdb = quote_ident(db)?;
    if !engine.read().catalog.dbs.contains_key(db) {
        engine.execute(&format!("create database if not exists {qdb}"), None)?;
    }
    let db_precision = engine
        .read()
        .catalog
        .dbs
        .get(db)
        .map(|e| e.options().precision)
        .unwrap_or_default();
    let mut by_measurement: BTreeMap<&str, Vec<&Point>> = BTreeMap::new();
    for p in &points {
        by_measurement.entry(&p.measurement).or_default().push(p);
    }
    let now = db_precision.now();
    // the rows as INSERT clauses (the parsed form of `INSERT INTO child
    // USING stable (tags) TAGS (...) (columns) VALUES ...`): no SQL text
    // is made and parsed again
    let mut tables: Vec<InsertTable> = Vec::new();
    // clauses that may need their USING part: (clause, its first point,
    // the measurement's index in `tag_orders`)
    let mut using: Vec<(usize, &Point, usize)> = Vec::new();
    let mut tag_orders: Vec<(&str, Vec<String>)> = Vec::new();
    for (m, pts) in &by_measurement {
        // a refused schema change names the measurement's first line
        let (ts_name, tag_order) = reconcile(engine, db, m, pts).map_err(|e| {
            if e.msg.starts_with("line ") {
                return e;
            }
            let line = pts.first().map_or(0, |p| p.line);
            DbError::new(e.code, format!("line {line}: {}", e.msg))
        })?;
        // clauses by child table and field set, in first-seen order: the
        // clauses of a child found by its name's first hash, the rest
        // compared (one clause a child, in the usual request)
        let mut index: UidMap<Vec<usize>> = UidMap::default();
        for p in pts {
            let (h1, h2) = child_hash(m, &p.tags);
            let mut names: Vec<&str> = p.fields.iter().map(|(k, _)| k.as_str()).collect();
            names.sort_unstable();
            let ts = match p.ts {
                None => now,
                Some(t) => precision.convert(t, db_precision).ok_or_else(|| {
                    DbError::new(
                        code::TIMESTAMP_OUT_OF_RANGE,
                        format!("line {}: timestamp {t} is out of range", p.line),
                    )
                })?,
            };
            let mut row = Vec::with_capacity(names.len() + 1);
            row.push(Lit::Int(ts));
            for n in &names {
                let v = &p.fields.iter().find(|(k, _)| k == n).expect("named").1;
                row.push(match v {
                    Field::Float(x) => Lit::Float(*x),
                    Field::Int(i) => Lit::Int(*i),
                    Field::UInt(u) => Lit::Int(i64::try_from(*u).map_err(|_| {
                        DbError::new(
                            code::INVALID_VALUE,
                            format!("line {}: field '{n}' = {u}u does not fit BIGINT", p.line),
                        )
                    })?),
                    Field::Bool(b) => Lit::Bool(*b),
                    Field::Str(s) => Lit::Str(s.clone()),
                });
            }
            let child = hex_name(h1, h2);
            let same = |t: &InsertTable| {
                t.table.name == child
                    && t.columns.as_ref().is_some_and(|c| {
                        c.len() == names.len() + 1 && c[1..].iter().zip(&names).all(|(a, b)| a == b)
                    })
            };
            let clauses = index.entry(h1).or_default();
            if let Some(&i) = clauses.iter().find(|&&i| same(&tables[i])) {
                tables[i].rows.push(row);
                continue;
            }
            clauses.push(tables.len());
            using.push((tables.len(), p, tag_orders.len()));
            let mut columns = Vec::with_capacity(names.len() + 1);
            columns.push(ts_name.clone());
            columns.extend(names.iter().map(|n| (*n).to_owned()));
            let mut rows = Rows::new(columns.len());
            rows.push(row);
            tables.push(InsertTable {
                table: ObjName {
                    db: Some(db.to_owned()),
                    name: child,
                },
                using: None,
                columns: Some(columns),
                rows,
                pos: 0,
            });
        }
        tag_orders.push((m, tag_order));
    }
    // the USING parts of the children not created yet
    let missing: Vec<bool> = {
        let st = engine.read();
        let entry = st.catalog.dbs.get(db);
        using
            .iter()
            .map(|(i, ..)| {
                whole || !entry.is_some_and(|e| e.tables.contains_key(&tables[*i].table.name))
            })
            .collect()
    };
    for ((i, p, k), missing) in using.into_iter().zip(missing) {
        if !missing {
            continue;
        }
        let (m, tag_order) = &tag_orders[k];
        let tag_values = tag_order
            .iter()
            .map(|t| {
                p.tags
                    .iter()
                    .find(|(k, _)| k == t)
                    .map_or(Expr::Null, |(_, v)| Expr::Str(v.clone()))
            })
            .collect();
        let t = &mut tables[i];
        t.using = Some(Box::new(SubTable {
            name: t.table.clone(),
            if_not_exists: true,
            stable: ObjName {
                db: Some(db.to_owned()),
                name: (*m).to_owned(),
            },
            tag_names: Some(tag_order.clone()),
            tag_values,
        }));
    }
    engine.insert_tables(tables, None)
}

/// Creates or alters the super table `m` so that every point of `pts`
/// fits; its timestamp column's name and the tags to name in INSERTs.
fn reconcile(engine: &Engine, db: &str, m: &str, pts: &[&Point]) -> Result<(String, Vec<String>)> {
    // what this request needs, by name, in first-seen order
    // (name, the column type the values need, the line that first named it)
    let mut fields: Vec<(String, DataType, usize)> = Vec::new();
    let mut tags: Vec<(String, u32)> = Vec::new();
    for p in pts {
        for (k, v) in &p.fields {
            let ty = field_type(v);
            match fields.iter_mut().find(|(n, _, _)| n == k) {
                None => fields.push((k.clone(), ty, p.line)),
                Some((_, need, first)) => match (*need, ty) {
                    (DataType::NChar(a), DataType::NChar(b)) => *need = DataType::NChar(a.max(b)),
                    (a, b) if a == b => {}
                    (a, b) => fail!(
                        code::INVALID_VALUE,
                        "line {}: field '{k}' of '{m}' is {} here but {} on line {first}",
                        p.line,
                        b.name(),
                        a.name()
                    ),
                },
            }
        }
        for (k, v) in &p.tags {
            let w = width(v);
            match tags.iter_mut().find(|(n, _)| n == k) {
                None => tags.push((k.clone(), w)),
                Some((_, have)) => *have = (*have).max(w),
            }
        }
    }
    for (name, need, line) in &fields {
        if let DataType::NChar(w) = *need {
            if w > MAX_NCHAR_WIDTH {
                fail!(
                    code::INVALID_VALUE,
                    "line {line}: field '{name}' holds {w} characters, at most {MAX_NCHAR_WIDTH}"
                );
            }
        }
    }
    if let Some((name, w)) = tags.iter().find(|(_, w)| *w > MAX_NCHAR_WIDTH) {
        fail!(
            code::INVALID_VALUE,
            "tag '{name}' of '{m}' holds {w} characters, at most {MAX_NCHAR_WIDTH}"
        );
    }
    let (qdb, qm) = (quote_ident(db)?, quote_ident(m)?);
    let existing = existing(engine, db, m);
    let Some((columns, stable_tags)) = existing else {
        let mut ddl = format!(
            "create stable if not exists {qdb}.{qm} ({} timestamp",
            quote_ident(TS_COLUMN)?
        );
        for (name, need, _) in &fields {
            write!(ddl, ", {} {}", quote_ident(name)?, sql_type(*need)).expect("string");
        }
        ddl.push_str(") tags (");
        let mut tag_defs: Vec<String> = tags
            .iter()
            .map(|(n, w)| Ok(format!("{} nchar({w})", quote_ident(n)?)))
            .collect::<Result<_>>()?;
        if tag_defs.is_empty() {
            tag_defs.push(format!(
                "{} nchar({MIN_STRING_WIDTH})",
                quote_ident(NULL_TAG)?
            ));
        }
        ddl.push_str(&tag_defs.join(", "));
        ddl.push(')');
        engine.execute(&ddl, None)?;
        let mut order: Vec<String> = tags.into_iter().map(|(n, _)| n).collect();
        if order.is_empty() {
            order.push(NULL_TAG.to_owned());
        }
        return Ok((TS_COLUMN.to_owned(), order));
    };
    for (name, need, line) in &fields {
        match columns.iter().find(|c| c.name == *name) {
            None => {
                engine.execute(
                    &format!(
                        "alter stable {qdb}.{qm} add column {} {}",
                        quote_ident(name)?,
                        sql_type(*need)
                    ),
                    None,
                )?;
            }
            Some(c) if fits(c.ty, *need) => {}
            Some(c) if same_kind(c.ty, *need) => {
                widen(engine, &format!("{qdb}.{qm}"), "column", name, c.ty, *need)?
            }
            Some(c) => fail!(
                code::INVALID_VALUE,
                "line {line}: field '{name}' of '{m}' is {} but its column is {}",
                need.name(),
                c.ty.name()
            ),
        }
    }
    for (name, w) in &tags {
        match stable_tags.iter().find(|c| c.name == *name) {
            None => {
                engine.execute(
                    &format!(
                        "alter stable {qdb}.{qm} add tag {} nchar({w})",
                        quote_ident(name)?
                    ),
                    None,
                )?;
            }
            Some(c) if fits(c.ty, DataType::NChar(*w)) => {}
            Some(c) if same_kind(c.ty, DataType::NChar(*w)) => widen(
                engine,
                &format!("{qdb}.{qm}"),
                "tag",
                name,
                c.ty,
                DataType::NChar(*w),
            )?,
            Some(c) => fail!(
                code::INVALID_VALUE,
                "tag '{name}' of '{m}' is a string but the super table's tag is {}",
                c.ty.name()
            ),
        }
    }
    let mut order: Vec<String> = tags.into_iter().map(|(n, _)| n).collect();
    if order.is_empty() {
        // an INSERT names at least one tag: the first, as NULL
        order.push(stable_tags[0].name.clone());
    }
    Ok((columns[0].name.clone(), order))
}

/// `ALTER STABLE ... MODIFY COLUMN|TAG` so that string column or tag
/// `name` (now `have`) holds `need`'s width, keeping BINARY or NCHAR.
fn widen(
    engine: &Engine,
    stable: &str,
    what: &str,
    name: &str,
    have: DataType,
    need: DataType,
) -> Result<()> {
    let DataType::NChar(w) = need else {
        unreachable!("only strings widen")
    };
    let t = match have {
        DataType::Binary(_) => format!("binary({w})"),
        _ => format!("nchar({w})"),
    };
    let sql = format!(
        "alter stable {stable} modify {what} {} {t}",
        quote_ident(name)?
    );
    engine.execute(&sql, None).map(|_| ())
}

/// The columns and tags of super table `m`, if it exists.
fn existing(engine: &Engine, db: &str, m: &str) -> Option<(Vec<Column>, Vec<Column>)> {
    let st = engine.read();
    let entry = st.catalog.dbs.get(db)?;
    let s = entry.stables.get(m)?;
    Some((s.columns.clone(), s.tags.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precisions_convert_and_truncate() {
        let p = RequestPrecision::parse(None).unwrap();
        assert_eq!(
            p.convert(1_465_839_830_100_400_200, Precision::Ms),
            Some(1_465_839_830_100)
        );
        assert_eq!(p.convert(-1, Precision::Ms), Some(-1));
        let s = RequestPrecision::parse(Some("s")).unwrap();
        assert_eq!(s.convert(2, Precision::Ns), Some(2_000_000_000));
        assert_eq!(s.convert(i64::MAX, Precision::Ns), None);
        let e = RequestPrecision::parse(Some("x")).unwrap_err();
        assert_eq!(
            e.msg,
            "invalid precision 'x': expected ns, u, ms, s, m or h"
        );
    }

    #[test]
    fn child_names_ignore_tag_order() {
        let a = child_name("m", &[("a".into(), "1".into()), ("b".into(), "2".into())]);
        let b = child_name("m", &[("b".into(), "2".into()), ("a".into(), "1".into())]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 34);
        assert_ne!(a, child_name("m", &[("a".into(), "1".into())]));
        assert_ne!(
            a,
            child_name("n", &[("a".into(), "1".into()), ("b".into(), "2".into())])
        );
    }

    #[test]
    fn names_with_backquotes_are_refused() {
        assert!(quote_ident("a`b").is_err());
        assert_eq!(quote_ident("a b").unwrap(), "`a b`");
    }
}
