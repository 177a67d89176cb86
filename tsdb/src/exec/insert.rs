//! INSERT: values converted to the columns' types, child tables created
//! by `USING ... TAGS`, rows logged in the WAL, then applied.
//!
//! May import: `state`, `catalog`, `sql::ast`, `storage::wal`, `query`
//! (literal values), `types`, `error`, `result`.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use crate::catalog::{Change, Column, DbOptions, Table, TableKind};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::query::literal::literal;
use crate::sql::ast::{Expr, InsertTable, Lit, ObjName, Rows, SubTable};
use crate::state::{State, resolve_db};
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

/// An INSERT value for a column of type `ty` (its string moved, not copied).
pub(crate) fn lit_value(e: Lit, ty: DataType, col: &str, p: Precision, now: i64) -> Result<Value> {
    // the usual cases first, without the general conversion
    match (&e, ty) {
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
        _ => {}
    }
    let v = match e {
        Lit::Null => Value::Null,
        Lit::Bool(b) => Value::Bool(b),
        Lit::Int(i) => Value::Int(i),
        Lit::Float(f) => Value::Double(f),
        Lit::Str(s) => Value::Str(s),
        Lit::Now => Value::Int(now),
        Lit::Expr(e) => literal(&e, p, now)?,
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

impl State {
    /// An INSERT: tables it auto-creates are created first, in one catalog
    /// transaction (they stay created even if a row is then refused, as in
    /// TDengine); then every row of every table is checked, and only then
    /// is anything written: one WAL append for the whole statement, so a
    /// statement is all or nothing (3.x; 2.x wrote clauses up to the first
    /// error).
    /// Returns the rows written and, when the statement must be on disk
    /// before it is acknowledged (WAL 2), the log offset to sync to.
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
        let mut batch = Vec::with_capacity(tables.len());
        let mut sync = false;
        {
            let mut schemas = HashMap::new();
            for it in tables {
                let db = resolve_db(it.table.db.as_deref(), current)?;
                let (rec, schema) = self.insert_record(&db, it, &mut schemas)?;
                let opts = &schema.1;
                sync |= opts.wal == 2
                    && (opts.fsync == 0 || self.wal.syncer().since_sync_ms() >= opts.fsync as u128);
                let update = Update::from_option(opts.update);
                batch.push((rec, schema, update));
            }
        }
        let end = self.wal.append(batch.iter().map(|b| &b.0))?;
        let mut total = 0;
        for (rec, schema, update) in batch {
            total += rec.len();
            self.apply(rec, &schema.0, update);
        }
        Ok((total, sync.then_some(end)))
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
        let uses_form = |it: &InsertTable| {
            it.using.is_none()
                && it
                    .columns
                    .as_ref()
                    .is_some_and(|c| c.iter().any(|n| n == "tbname"))
        };
        if !tables.iter().any(uses_form) {
            return Ok(tables);
        }
        let mut out = Vec::with_capacity(tables.len());
        for it in tables {
            if !uses_form(&it) {
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
                        using: Some(SubTable {
                            name,
                            if_not_exists: true,
                            stable: it.table.clone(),
                            tag_names: Some(tag_idx.iter().map(|&i| names[i].clone()).collect()),
                            tag_values: tag_idx
                                .iter()
                                .map(|&i| row[i].clone().into_expr())
                                .collect(),
                        }),
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

    /// The WAL record of one table clause, all values checked, and the
    /// table's schema (from `schemas` when another clause of the statement
    /// had the same super table: a many-device INSERT names it thousands of
    /// times, and each copy of its columns costs an allocation per column).
    pub(crate) fn insert_record<'s>(
        &'s self,
        db: &str,
        it: InsertTable,
        schemas: &mut HashMap<(&'s str, &'s str), Schema>,
    ) -> Result<(InsertRecord, Schema)> {
        let Some((db_key, entry)) = self.catalog.dbs.get_key_value(db) else {
            fail!(code::DB_NOT_EXIST, "Database not exist: {db}");
        };
        let name = &it.table.name;
        let Some(table) = entry.tables.get(name) else {
            if entry.stables.contains_key(name) {
                fail!(
                    code::INVALID_VALUE,
                    "cannot insert into super table {name}; insert into its child tables"
                );
            }
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {name}");
        };
        let uid = table.uid;
        let shape: &'s str = match &table.kind {
            TableKind::Child { stable, .. } => stable,
            TableKind::Normal { .. } => &table.name,
        };
        let schema = schemas
            .entry((db_key.as_str(), shape))
            .or_insert_with(|| {
                Rc::new((
                    entry.columns_of(name).expect("table exists"),
                    entry.options(),
                ))
            })
            .clone();
        let (cols, opts) = (&schema.0, &schema.1);
        let p = opts.precision;
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
        let now = p.now();
        let lo = now - opts.keep * 86_400 * p.per_second();
        let hi = now + opts.days * 86_400 * p.per_second();
        let nrows = it.rows.len();
        let mut ts = Vec::with_capacity(nrows);
        let mut vals = Vec::with_capacity(nrows * (targets.len() - 1));
        let mut cells = it.rows.cells.into_iter();
        for (r, &ci) in (0..nrows).flat_map(|r| targets.iter().map(move |ci| (r, ci))) {
            let e = cells.next().expect("every row is as wide as targets");
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
        // Within one statement, equal timestamps collapse as the policy says
        // (2.x sorted the batch and kept the first for UPDATE 0).
        let col_ids: Vec<u16> = targets
            .iter()
            .filter(|&&i| i != 0)
            .map(|&i| cols[i].id)
            .collect();
        let rec = InsertRecord {
            uid,
            col_ids,
            ts,
            vals,
        };
        Ok((rec, schema))
    }
}
