//! INSERT: values converted to the columns' types, child tables created
//! by `USING ... TAGS`, rows logged in the WAL, then applied.
//!
//! May import: `state`, `catalog`, `sql::ast`, `storage::wal`, `query`
//! (literal values), `types`, `error`, `result`.

use std::collections::HashSet;
use std::rc::Rc;

use crate::catalog::{Change, Column, DbEntry, DbOptions, Table, TableKind};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::query::literal::literal;
use crate::sql::ast::{Expr, InsertTable, Lit, ObjName, Rows, SubTable};
use crate::state::{State, db_name, resolve_db};
use crate::storage::table::Update;
use crate::storage::wal::InsertRecord;
use crate::types::{DataType, Precision, Value, parse_timestamp};

/// A value for a column of type `ty`: timestamps from strings and epochs.
/// A table's columns and its database's options, as one INSERT shares
/// them between clauses.
pub(crate) type Schema = Rc<(Vec<Column>, DbOptions)>;

pub(crate) fn column_value(
    e: &Expr,
    ty: DataType,
    col: &str,
    p: Precision,
    now: i64,
) -> Result<Value> {
    typed(literal(e, p, now)?, ty, col, p)
}

/// An INSERT value for a column of type `ty`. The statement's literals
/// are borrowed, not consumed, so that a statement checked under the read
/// lock can be checked again if the catalog changed before it was written;
/// a string is copied (numbers, the many-device case, cost nothing).
pub(crate) fn lit_value(e: &Lit, ty: DataType, col: &str, p: Precision, now: i64) -> Result<Value> {
    // the usual cases first, without the general conversion
    match (e, ty) {
        (Lit::Null, _) => return Ok(Value::Null),
        (Lit::Int(i), DataType::Timestamp) => return Ok(Value::Int(*i)),
        (Lit::Int(i), _)
            if ty
                .int_bounds()
                .is_some_and(|(lo, hi)| (lo..=hi).contains(i)) =>
        {
            return Ok(Value::Int(*i));
        }
        (Lit::Float(f), DataType::Double) => return Ok(Value::Double(*f)),
        (Lit::Str(s), DataType::Timestamp) => return Ok(Value::Int(parse_timestamp(s, p)?)),
        _ => {}
    }
    let v = match e {
        Lit::Null => Value::Null,
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Int(i) => Value::Int(*i),
        Lit::Float(f) => Value::Double(*f),
        Lit::Str(s) => Value::Str(s.clone()),
        Lit::Now => Value::Int(now),
        Lit::Expr(e) => literal(e, p, now)?,
    };
    typed(v, ty, col, p)
}

/// `v` as a value of type `ty`: timestamps from strings and epochs.
pub(crate) fn typed(v: Value, ty: DataType, col: &str, p: Precision) -> Result<Value> {
    if ty == DataType::Timestamp {
        return match v {
            Value::Str(s) => Ok(Value::Int(parse_timestamp(&s, p)?)),
            Value::Int(i) => Ok(Value::Int(i)),
            Value::Null => Ok(Value::Null),
            other => Err(DbError::invalid(format!(
                "invalid timestamp for column {col}: {other:?}"
            ))),
        };
    }
    ty.coerce(v, col)
}

/// An INSERT checked against the catalog (every table resolved, every
/// value converted and range-checked) and not yet written: what
/// [`State::prepare_insert`] makes under the read lock, so that concurrent
/// writers convert their statements side by side, and
/// [`State::commit_insert`] writes under the write lock, which is then held
/// only for the WAL append and the memtable inserts.
pub(crate) struct Prepared {
    /// The catalog generation the statement was checked against: a DDL
    /// statement in between (a dropped table, an added column) sends it
    /// back to be checked again.
    generation: u64,
    batch: Vec<(InsertRecord, Schema, Update)>,
    /// The smallest `FSYNC` among the clauses' databases with `WAL 2`.
    wal2_fsync: Option<i64>,
}

/// What the clauses of one statement that write to one table shape (a
/// super table's children, or one normal table) share: resolved once per
/// statement, where a many-device INSERT has thousands of clauses.
struct Shape<'s> {
    db: &'s str,
    name: &'s str,
    schema: Schema,
    /// The clock and the KEEP/DAYS range, in the database's precision.
    now: i64,
    lo: i64,
    hi: i64,
}

impl State {
    /// An INSERT: tables it auto-creates are created first, in one catalog
    /// transaction (they stay created even if a row is then refused, as in
    /// TDengine); then every row of every table is checked, and only then
    /// is anything written: one WAL append for the whole statement, so a
    /// statement is all or nothing (3.x; 2.x wrote clauses up to the first
    /// error).
    /// Returns the rows written and, when the statement must be on disk
    /// before it is acknowledged (WAL 2), the log offset to sync to.
    ///
    /// This is the write-locked path, for statements that create tables;
    /// the engine checks the others under the read lock first
    /// ([`State::prepare_insert`]).
    pub(crate) fn insert(
        &mut self,
        tables: Vec<InsertTable>,
        current: Option<&str>,
    ) -> Result<(usize, Option<u64>)> {
        let tables = self.expand_stable_inserts(tables, current)?;
        let mut created: Vec<(String, Table)> = Vec::new();
        // tables this statement creates, for its later clauses
        let mut creating: HashSet<(String, String)> = HashSet::new();
        for it in &tables {
            let Some(using) = &it.using else { continue };
            let db = it.table.db.as_deref().or(current);
            // the usual clause of a many-device INSERT names a table that
            // exists: no copy of its USING part, no tag evaluation
            if db
                .and_then(|d| self.catalog.dbs.get(d))
                .is_some_and(|d| d.tables.contains_key(&it.table.name))
            {
                continue;
            }
            let db = resolve_db(db, None)?;
            if !creating.insert((db.clone(), it.table.name.clone())) {
                continue;
            }
            let mut s = using.clone();
            s.name = it.table.clone();
            if let Some(mut t) = self.child_table(&db, &s, false)? {
                t.uid = self.catalog.next_uid;
                self.catalog.next_uid += 1;
                created.push((db, t));
            }
        }
        if !created.is_empty() {
            // durable through the WAL, not a catalog fsync per statement
            let changes: Vec<Change<'_>> = created
                .iter()
                .map(|(db, t)| Change::PutTable(db, t))
                .collect();
            self.catalog.commit_lazy(&changes)?;
            self.wal
                .append_creates(created.iter().map(|(db, t)| (db.as_str(), t)))?;
            for (db, t) in created {
                self.catalog
                    .dbs
                    .get_mut(&db)
                    .expect("checked")
                    .tables
                    .insert(t.name.clone(), t);
            }
        }
        let Some(prepared) = self.prepare_insert(&tables, current)? else {
            fail!(
                code::TABLE_NOT_EXIST,
                "a table of the INSERT was not created (internal error)"
            );
        };
        self.commit_insert(prepared)
            .expect("the catalog cannot change under the write lock")
    }

    /// Checks an INSERT against the catalog without changing anything (the
    /// read lock is enough): every clause's table resolved, every value
    /// converted and range-checked. `None` when the statement must take
    /// the write-locked path ([`State::insert`]): it creates a table, or
    /// names its tables in a `tbname` column (the super-table form).
    pub(crate) fn prepare_insert(
        &self,
        tables: &[InsertTable],
        current: Option<&str>,
    ) -> Result<Option<Prepared>> {
        // each clause's table first: a statement that creates one goes the
        // write-locked path before any of its values is converted, so its
        // errors come in the same order either way
        let mut resolved = Vec::with_capacity(tables.len());
        let mut last_db: Option<(&str, &str, &DbEntry)> = None;
        for it in tables {
            if uses_tbname_form(it) {
                return Ok(None);
            }
            let db = db_name(it.table.db.as_deref(), current)?;
            let (db_key, entry) = match last_db {
                Some((name, key, entry)) if name == db => (key, entry),
                _ => {
                    let Some((key, entry)) = self.catalog.dbs.get_key_value(db) else {
                        fail!(code::DB_NOT_EXIST, "Database not exist: {db}");
                    };
                    last_db = Some((db, key.as_str(), entry));
                    (key.as_str(), entry)
                }
            };
            let name = &it.table.name;
            let Some(table) = entry.tables.get(name) else {
                if it.using.is_some() {
                    return Ok(None);
                }
                if entry.stables.contains_key(name) {
                    fail!(
                        code::INVALID_VALUE,
                        "cannot insert into super table {name}; insert into its child tables"
                    );
                }
                fail!(code::TABLE_NOT_EXIST, "Table does not exist: {name}");
            };
            resolved.push((db_key, entry, table));
        }
        let mut shapes: Vec<Shape<'_>> = Vec::new();
        let mut batch = Vec::with_capacity(tables.len());
        let mut wal2_fsync: Option<i64> = None;
        for (it, (db, entry, table)) in tables.iter().zip(resolved) {
            let name: &str = match &table.kind {
                TableKind::Child { stable, .. } => stable,
                TableKind::Normal { .. } => &table.name,
            };
            let k = match shapes.iter().position(|s| s.name == name && s.db == db) {
                Some(k) => k,
                None => {
                    let opts = entry.options();
                    let p = opts.precision;
                    let now = p.now();
                    let day = 86_400 * p.per_second();
                    shapes.push(Shape {
                        db,
                        name,
                        now,
                        lo: now - opts.keep * day,
                        hi: now + opts.days * day,
                        schema: Rc::new((
                            entry.columns_of(&table.name).expect("table exists"),
                            opts,
                        )),
                    });
                    shapes.len() - 1
                }
            };
            let shape = &shapes[k];
            let rec = record(it, table.uid, shape)?;
            let opts = &shape.schema.1;
            if opts.wal == 2 {
                wal2_fsync = Some(wal2_fsync.map_or(opts.fsync, |f| f.min(opts.fsync)));
            }
            batch.push((rec, shape.schema.clone(), Update::from_option(opts.update)));
        }
        Ok(Some(Prepared {
            generation: self.catalog.generation,
            batch,
            wal2_fsync,
        }))
    }

    /// Writes a prepared INSERT: one WAL append, then the memtables.
    /// Returns the rows written and the WAL offset to sync to (as
    /// [`State::insert`]), or `None`, writing nothing, when the catalog
    /// changed since the statement was checked.
    pub(crate) fn commit_insert(&mut self, p: Prepared) -> Option<Result<(usize, Option<u64>)>> {
        if p.generation != self.catalog.generation {
            return None;
        }
        let sync = p
            .wal2_fsync
            .is_some_and(|f| f == 0 || self.wal.syncer().since_sync_ms() >= f as u128);
        let end = match self.wal.append(p.batch.iter().map(|b| &b.0)) {
            Ok(end) => end,
            Err(e) => return Some(Err(e)),
        };
        let mut total = 0;
        for (rec, schema, update) in p.batch {
            total += rec.len();
            self.apply(rec, &schema.0, update);
        }
        Some(Ok((total, sync.then_some(end))))
    }

    /// The 3.x super-table form, `INSERT INTO meters (tbname, location,
    /// groupId, ts, current, ...) VALUES ('d31001', ...)`: each row goes to
    /// the child table its `tbname` names, created from the row's tag values
    /// if it does not exist. Clauses without the form pass unchanged.
    pub(crate) fn expand_stable_inserts(
        &self,
        tables: Vec<InsertTable>,
        current: Option<&str>,
    ) -> Result<Vec<InsertTable>> {
        if !tables.iter().any(uses_tbname_form) {
            return Ok(tables);
        }
        let mut out = Vec::with_capacity(tables.len());
        for it in tables {
            if !uses_tbname_form(&it) {
                out.push(it);
                continue;
            }
            let db = resolve_db(it.table.db.as_deref(), current)?;
            let entry = self.db(&db)?;
            let Some(st) = entry.stables.get(&it.table.name) else {
                fail!(
                    code::STABLE_NOT_EXIST,
                    "tbname in the column list needs a super table; {} is not one",
                    it.table.name
                );
            };
            let names = it.columns.as_ref().expect("checked");
            if it.rows.width != names.len() {
                fail!(
                    code::INVALID_VALUE,
                    "row 1 of {} has {} values, {} expected",
                    it.table.name,
                    it.rows.width,
                    names.len()
                );
            }
            let tb = names.iter().position(|n| n == "tbname").expect("checked");
            let tag_idx: Vec<usize> = (0..names.len())
                .filter(|&i| st.tags.iter().any(|t| t.name == names[i]))
                .collect();
            let col_idx: Vec<usize> = (0..names.len())
                .filter(|&i| i != tb && !tag_idx.contains(&i))
                .collect();
            // rows per child table, in first-seen order
            let mut children: Vec<(String, InsertTable)> = Vec::new();
            for (r, row) in it.rows.iter().enumerate() {
                let Lit::Str(child) = &row[tb] else {
                    fail!(
                        code::INVALID_VALUE,
                        "tbname must be a quoted table name (row {})",
                        r + 1
                    );
                };
                let child = child.to_lowercase();
                let values = col_idx.iter().map(|&i| row[i].clone());
                if let Some((_, c)) = children.iter_mut().find(|(n, _)| *n == child) {
                    c.rows.push(values);
                    continue;
                }
                let name = ObjName {
                    db: it.table.db.clone(),
                    name: child.clone(),
                };
                let mut rows = Rows::new(col_idx.len());
                rows.push(values);
                children.push((
                    child,
                    InsertTable {
                        table: name.clone(),
                        using: Some(Box::new(SubTable {
                            name,
                            if_not_exists: true,
                            stable: it.table.clone(),
                            tag_names: Some(tag_idx.iter().map(|&i| names[i].clone()).collect()),
                            tag_values: tag_idx
                                .iter()
                                .map(|&i| row[i].clone().into_expr())
                                .collect(),
                        })),
                        columns: Some(col_idx.iter().map(|&i| names[i].clone()).collect()),
                        rows,
                        pos: it.pos,
                    },
                ));
            }
            out.extend(children.into_iter().map(|(_, c)| c));
        }
        Ok(out)
    }
}

/// Whether a clause is the 3.x super-table form, its child tables named
/// in a `tbname` column ([`State::expand_stable_inserts`]).
fn uses_tbname_form(it: &InsertTable) -> bool {
    it.using.is_none()
        && it
            .columns
            .as_ref()
            .is_some_and(|c| c.iter().any(|n| n == "tbname"))
}

/// The WAL record of one table clause of table `uid`, every value
/// converted to its column's type and every timestamp within the
/// database's KEEP and DAYS.
fn record(it: &InsertTable, uid: u64, shape: &Shape<'_>) -> Result<InsertRecord> {
    let (cols, opts) = (&shape.schema.0, &shape.schema.1);
    let p = opts.precision;
    let name = &it.table.name;
    // which schema columns the values are for
    let targets: Vec<usize> = match &it.columns {
        None => (0..cols.len()).collect(),
        Some(names) => {
            let mut v = Vec::with_capacity(names.len());
            for n in names {
                let Some(i) = cols.iter().position(|c| &c.name == n) else {
                    fail!(
                        code::INVALID_COLUMN,
                        "invalid column name: {n} (table {name})"
                    );
                };
                if v.contains(&i) {
                    fail!(code::INVALID_COLUMN, "duplicated column name: {n}");
                }
                v.push(i);
            }
            if !v.contains(&0) {
                fail!(
                    code::INVALID_COLUMN,
                    "the timestamp column {} must be given",
                    cols[0].name
                );
            }
            v
        }
    };
    // every row is as wide as the first (the parser checks)
    if it.rows.width != targets.len() {
        fail!(
            code::INVALID_VALUE,
            "row 1 of table {name} has {} values, {} expected",
            it.rows.width,
            targets.len()
        );
    }
    let (now, lo, hi) = (shape.now, shape.lo, shape.hi);
    let nrows = it.rows.len();
    let mut ts = Vec::with_capacity(nrows);
    let mut vals = Vec::with_capacity(nrows * (targets.len() - 1));
    for (r, row) in it.rows.iter().enumerate() {
        for (e, &ci) in row.iter().zip(&targets) {
            let c = &cols[ci];
            let v = lit_value(e, c.ty, &c.name, p, now).map_err(|e| {
                DbError::new(e.code, format!("{} (table {name}, row {})", e.msg, r + 1))
            })?;
            if ci != 0 {
                vals.push(v);
                continue;
            }
            let Value::Int(t) = v else {
                fail!(
                    code::INVALID_VALUE,
                    "the timestamp must not be NULL (table {name}, row {})",
                    r + 1
                );
            };
            if t < lo || t > hi {
                fail!(
                    code::TIMESTAMP_OUT_OF_RANGE,
                    "Timestamp data out of range: {} is not within KEEP {} days and DAYS {} days of now (table {name})",
                    crate::types::format_local(t, p),
                    opts.keep,
                    opts.days
                );
            }
            ts.push(t);
        }
    }
    // Within one statement, equal timestamps collapse as the policy says
    // (2.x sorted the batch and kept the first for UPDATE 0).
    let col_ids: Vec<u16> = targets
        .iter()
        .filter(|&&i| i != 0)
        .map(|&i| cols[i].id)
        .collect();
    Ok(InsertRecord {
        uid,
        col_ids,
        ts,
        vals,
    })
}

#[cfg(test)]
mod tests {
    use crate::sql::ast::Statement;
    use crate::state::Engine;
    use crate::types::Value;

    fn clauses(sql: &str) -> Vec<crate::sql::ast::InsertTable> {
        match crate::sql::parse(sql).unwrap() {
            Statement::Insert(t) => t,
            other => panic!("not an insert: {other:?}"),
        }
    }

    /// A statement checked under the read lock is not written when a DDL
    /// statement came between: the column it was converted for is gone.
    #[test]
    fn a_catalog_change_sends_a_prepared_insert_back() {
        let dir = std::env::temp_dir().join(format!("tsdb-prepare-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let e = Engine::open(&dir).unwrap();
        e.execute("create database p keep 36500", None).unwrap();
        e.execute("create table p.t (ts timestamp, a int, b double)", None)
            .unwrap();
        let tables = clauses("insert into p.t values (1700000000000, 1, 2.5)");
        let prepared = e.read().prepare_insert(&tables, None).unwrap().unwrap();
        e.execute("alter table p.t drop column a", None).unwrap();
        assert!(e.write().commit_insert(prepared).is_none());
        // checked again, the statement no longer fits the table
        let err = e.write().insert(tables, None).unwrap_err();
        assert_eq!(err.msg, "row 1 of table t has 3 values, 2 expected");
        // without a change in between it is written as prepared
        let tables = clauses("insert into p.t values (1700000000000, 2.5)");
        let prepared = e.read().prepare_insert(&tables, None).unwrap().unwrap();
        let (n, _) = e.write().commit_insert(prepared).unwrap().unwrap();
        assert_eq!(n, 1);
        let out = e.execute("select b from p.t", None).unwrap();
        let crate::result::Output::Rows { rows, .. } = out else {
            panic!("expected rows, got {out:?}");
        };
        assert_eq!(rows, vec![vec![Value::Double(2.5)]]);
        // a clause that creates its table takes the write-locked path
        e.execute(
            "create stable p.st (ts timestamp, v int) tags (k int)",
            None,
        )
        .unwrap();
        let tables = clauses("insert into p.d1 using p.st tags (1) values (1700000000000, 7)");
        assert!(e.read().prepare_insert(&tables, None).unwrap().is_none());
        drop(e);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
