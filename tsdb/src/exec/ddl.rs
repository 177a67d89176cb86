//! CREATE, DROP and ALTER of databases, super tables and tables, with
//! TDengine's name and size limits.
//!
//! May import: `state`, `catalog`, `sql::ast`, `query` (literal values),
//! `types`, `error`, `result`.

use crate::catalog::{Change, Column, Database, DbEntry, DbOptions, STable, Table, TableKind};
use crate::error::{DbError, Result, code};
use crate::exec::insert::column_value;
use crate::fail;
use crate::result::Output;
use crate::sql::ast::{AlterAction, ColumnDef, Expr, ObjName, Statement, SubTable};
use crate::state::{State, now_ms, resolve_db};
use crate::types::{DataType, Precision, Value};

/// Longest database name (2.x docs: 32/33).
pub const MAX_DB_NAME: usize = 32;
/// Longest table name (2.x: 192).
pub const MAX_TABLE_NAME: usize = 192;
/// Longest column or tag name.
pub const MAX_COLUMN_NAME: usize = 64;
/// Columns of a table, timestamp included (2.x: 1024 in later releases).
pub const MAX_COLUMNS: usize = 1024;
/// Tags of a super table.
pub const MAX_TAGS: usize = 128;

/// Checks a database, table or column name: letters, digits, `_`, not
/// starting with a digit.
pub(crate) fn check_name(kind: &str, name: &str, max: usize) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= max
        && !name.as_bytes()[0].is_ascii_digit()
        && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if !ok {
        fail!(
            code::INVALID_VALUE,
            "invalid {kind} name '{name}': letters, digits and '_' only, not starting with a digit, at most {max} characters"
        );
    }
    Ok(())
}

pub(crate) fn columns_from(defs: &[ColumnDef], first_id: u16) -> Vec<Column> {
    defs.iter()
        .enumerate()
        .map(|(i, d)| Column {
            id: first_id + i as u16,
            name: d.name.clone(),
            ty: d.ty,
        })
        .collect()
}

pub(crate) fn duration_days(e: &Expr, what: &str) -> Result<i64> {
    match e {
        Expr::Int(i) => Ok(*i),
        Expr::Duration(d) => match d.unit {
            'd' => Ok(d.count),
            'h' if d.count % 24 == 0 => Ok(d.count / 24),
            'm' if d.count % 1440 == 0 => Ok(d.count / 1440),
            _ => Err(DbError::invalid(format!(
                "{what} must be a whole number of days (such as 10 or 10d)"
            ))),
        },
        _ => Err(DbError::invalid(format!("{what} expects a number"))),
    }
}

pub(crate) fn int_option(e: &Expr, what: &str, lo: i64, hi: i64) -> Result<i64> {
    match e {
        Expr::Int(i) if (lo..=hi).contains(i) => Ok(*i),
        _ => Err(DbError::invalid(format!(
            "invalid option {what}: expected a number in [{lo}, {hi}]"
        ))),
    }
}

/// Applies `CREATE/ALTER DATABASE` options; `alter` allows only the
/// alterable ones.
pub(crate) fn set_options(o: &mut DbOptions, opts: &[(String, Expr)], alter: bool) -> Result<()> {
    for (k, v) in opts {
        let alterable = matches!(
            k.as_str(),
            "keep" | "blocks" | "cachelast" | "cachemodel" | "comp" | "replica" | "quorum"
        );
        if alter && !alterable {
            fail!(
                code::INVALID_VALUE,
                "option {} cannot be altered",
                k.to_uppercase()
            );
        }
        match k.as_str() {
            "keep" => o.keep = duration_days(v, "KEEP")?,
            "days" | "duration" => o.days = duration_days(v, "DAYS")?,
            "cache" => o.cache = int_option(v, "CACHE", 1, 128)?,
            "blocks" => o.blocks = int_option(v, "BLOCKS", 3, 1000)?,
            "buffer" => {
                // 3.x BUFFER (MB per vnode) = cache x blocks
                let mb = int_option(v, "BUFFER", 3, 16384)?;
                o.blocks = (mb / o.cache).clamp(3, 1000);
            }
            "update" => o.update = int_option(v, "UPDATE", 0, 2)? as u8,
            "cachelast" => o.cachelast = int_option(v, "CACHELAST", 0, 3)? as u8,
            "cachemodel" => {
                o.cachelast = match v {
                    Expr::Str(s) => match s.as_str() {
                        "none" => 0,
                        "last_row" => 1,
                        "last_value" => 2,
                        "both" => 3,
                        _ => fail!(code::INVALID_VALUE, "invalid CACHEMODEL '{s}'"),
                    },
                    _ => fail!(code::INVALID_VALUE, "CACHEMODEL expects a quoted name"),
                }
            }
            "precision" => match v {
                Expr::Str(s) => o.precision = Precision::parse(s)?,
                _ => fail!(code::INVALID_VALUE, "PRECISION expects 'ms', 'us' or 'ns'"),
            },
            "replica" => o.replica = int_option(v, "REPLICA", 1, 3)?,
            "quorum" => o.quorum = int_option(v, "QUORUM", 1, 2)?,
            "minrows" => o.minrows = int_option(v, "MINROWS", 10, 1000)?,
            "maxrows" => o.maxrows = int_option(v, "MAXROWS", 200, 10000)?,
            "comp" => o.comp = int_option(v, "COMP", 0, 2)?,
            "wal" | "wal_level" => o.wal = int_option(v, "WAL", 1, 2)? as u8,
            "fsync" | "wal_fsync_period" => o.fsync = int_option(v, "FSYNC", 0, 180_000)?,
            "vgroups" | "pages" | "pagesize" | "stt_trigger" | "single_stable" | "cachesize" => {}
            _ => fail!(
                code::INVALID_VALUE,
                "unknown database option {}",
                k.to_uppercase()
            ),
        }
    }
    if o.keep < o.days {
        fail!(
            code::INVALID_VALUE,
            "invalid option KEEP {}: must not be less than DAYS {}",
            o.keep,
            o.days
        );
    }
    Ok(())
}

impl State {
    pub(crate) fn ddl(&mut self, stmt: Statement, current: Option<&str>) -> Result<Output> {
        match stmt {
            Statement::CreateDatabase {
                name,
                if_not_exists,
                options,
            } => {
                check_name("database", &name, MAX_DB_NAME)?;
                if self.catalog.dbs.contains_key(&name) {
                    if if_not_exists {
                        return Ok(Output::Affected(0));
                    }
                    fail!(code::DB_ALREADY_EXIST, "Database already exists: {name}");
                }
                let mut o = DbOptions::default();
                set_options(&mut o, &options, false)?;
                let db = Database {
                    name: name.clone(),
                    options: o,
                    created: now_ms(),
                };
                self.catalog.commit(&[Change::PutDb(&db)])?;
                self.catalog.dbs.insert(
                    name,
                    DbEntry {
                        db: Some(db),
                        ..DbEntry::default()
                    },
                );
                Ok(Output::Affected(0))
            }
            Statement::AlterDatabase { name, options } => {
                let mut db = self
                    .db(&name)?
                    .db
                    .clone()
                    .expect("loaded databases have a record");
                set_options(&mut db.options, &options, true)?;
                self.catalog.commit(&[Change::PutDb(&db)])?;
                self.catalog.dbs.get_mut(&name).expect("checked").db = Some(db);
                Ok(Output::Affected(0))
            }
            Statement::DropDatabase { name, if_exists } => {
                let Some(entry) = self.catalog.dbs.get(&name) else {
                    if if_exists {
                        return Ok(Output::Affected(0));
                    }
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                };
                let uids: Vec<u64> = entry.tables.values().map(|t| t.uid).collect();
                self.catalog.commit(&[Change::DelDb(&name)])?;
                self.catalog.dbs.remove(&name);
                for uid in &uids {
                    self.data.remove(uid);
                    self.last.remove(uid);
                }
                self.store.drop_db(&name, &uids)?;
                Ok(Output::Affected(0))
            }
            Statement::CreateTable {
                name,
                if_not_exists,
                columns,
                tags,
            } => self.create_table(&name, if_not_exists, &columns, &tags, current),
            Statement::CreateSubTables(subs) => {
                for s in &subs {
                    let db = resolve_db(s.name.db.as_deref(), current)?;
                    self.create_child(&db, s, !s.if_not_exists)?;
                }
                Ok(Output::Affected(0))
            }
            Statement::Drop {
                name,
                if_exists,
                stable,
            } => self.drop_table(&name, if_exists, stable, current),
            Statement::AlterTable {
                name,
                stable,
                action,
            } => self.alter_table(&name, stable, action, current),
            _ => Err(DbError::unsupported("statement not supported")),
        }
    }

    pub(crate) fn create_table(
        &mut self,
        name: &ObjName,
        if_not_exists: bool,
        columns: &[ColumnDef],
        tags: &[ColumnDef],
        current: Option<&str>,
    ) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        check_name("table", &name.name, MAX_TABLE_NAME)?;
        let entry = self.db(&db)?;
        if entry.tables.contains_key(&name.name) || entry.stables.contains_key(&name.name) {
            if if_not_exists {
                return Ok(Output::Affected(0));
            }
            fail!(
                code::TABLE_ALREADY_EXIST,
                "Table already exists: {}",
                name.name
            );
        }
        if columns.first().map(|c| c.ty) != Some(DataType::Timestamp) {
            fail!(
                code::INVALID_COLUMN,
                "the first column must be of type TIMESTAMP"
            );
        }
        if columns.len() < 2 {
            fail!(
                code::INVALID_COLUMN,
                "a table needs at least one column besides the timestamp"
            );
        }
        if columns.len() + tags.len() > MAX_COLUMNS {
            fail!(
                code::INVALID_COLUMN,
                "too many columns: at most {MAX_COLUMNS} including tags"
            );
        }
        if tags.len() > MAX_TAGS {
            fail!(code::INVALID_COLUMN, "too many tags: at most {MAX_TAGS}");
        }
        let mut seen = std::collections::HashSet::new();
        for c in columns.iter().chain(tags) {
            check_name("column", &c.name, MAX_COLUMN_NAME)?;
            if !seen.insert(c.name.as_str()) {
                fail!(code::INVALID_COLUMN, "duplicated column name: {}", c.name);
            }
        }
        let cols = columns_from(columns, 0);
        let created = now_ms();
        if tags.is_empty() {
            let t = Table {
                name: name.name.clone(),
                uid: self.catalog.next_uid,
                kind: TableKind::Normal {
                    next_id: cols.len() as u16,
                    columns: cols,
                },
                created,
            };
            self.catalog.next_uid += 1;
            self.catalog.commit(&[Change::PutTable(&db, &t)])?;
            self.catalog
                .dbs
                .get_mut(&db)
                .expect("checked")
                .tables
                .insert(t.name.clone(), t);
        } else {
            let tag_cols = columns_from(tags, cols.len() as u16);
            let st = STable {
                name: name.name.clone(),
                next_id: (cols.len() + tag_cols.len()) as u16,
                columns: cols,
                tags: tag_cols,
                created,
            };
            self.catalog.commit(&[Change::PutSTable(&db, &st)])?;
            self.catalog
                .dbs
                .get_mut(&db)
                .expect("checked")
                .stables
                .insert(st.name.clone(), st);
        }
        Ok(Output::Affected(0))
    }

    /// Creates a child table; an existing one is an error only if `strict`.
    /// Returns whether it was created.
    pub(crate) fn create_child(&mut self, db: &str, s: &SubTable, strict: bool) -> Result<bool> {
        let t = self.child_table(db, s, strict)?;
        let Some(t) = t else { return Ok(false) };
        self.catalog.commit(&[Change::PutTable(db, &t)])?;
        self.catalog.next_uid += 1;
        self.catalog
            .dbs
            .get_mut(db)
            .expect("checked")
            .tables
            .insert(t.name.clone(), t);
        Ok(true)
    }

    /// The child table `s` describes, or `None` if it exists (and not strict).
    pub(crate) fn child_table(
        &self,
        db: &str,
        s: &SubTable,
        strict: bool,
    ) -> Result<Option<Table>> {
        check_name("table", &s.name.name, MAX_TABLE_NAME)?;
        let entry = self.db(db)?;
        if entry.tables.contains_key(&s.name.name) || entry.stables.contains_key(&s.name.name) {
            if strict {
                fail!(
                    code::TABLE_ALREADY_EXIST,
                    "Table already exists: {}",
                    s.name.name
                );
            }
            return Ok(None);
        }
        let sdb = s.stable.db.as_deref().unwrap_or(db);
        if sdb != db {
            fail!(
                code::INVALID_VALUE,
                "a child table must be in the database of its super table"
            );
        }
        let Some(st) = entry.stables.get(&s.stable.name) else {
            fail!(
                code::STABLE_NOT_EXIST,
                "super table {} does not exist in database {db}",
                s.stable.name
            );
        };
        let p = entry.options().precision;
        let now = p.now();
        let mut tags = vec![Value::Null; st.tags.len()];
        match &s.tag_names {
            None => {
                if s.tag_values.len() != st.tags.len() {
                    fail!(
                        code::INVALID_VALUE,
                        "super table {} has {} tags, {} values given",
                        st.name,
                        st.tags.len(),
                        s.tag_values.len()
                    );
                }
                for (i, (tag, e)) in st.tags.iter().zip(&s.tag_values).enumerate() {
                    tags[i] = column_value(e, tag.ty, &tag.name, p, now)?;
                }
            }
            Some(names) => {
                if names.len() != s.tag_values.len() {
                    fail!(
                        code::INVALID_VALUE,
                        "{} tag names but {} values",
                        names.len(),
                        s.tag_values.len()
                    );
                }
                for (n, e) in names.iter().zip(&s.tag_values) {
                    let Some(i) = st.tags.iter().position(|t| &t.name == n) else {
                        fail!(code::INVALID_COLUMN, "invalid tag name: {n}");
                    };
                    tags[i] = column_value(e, st.tags[i].ty, n, p, now)?;
                }
            }
        }
        Ok(Some(Table {
            name: s.name.name.clone(),
            uid: self.catalog.next_uid,
            kind: TableKind::Child {
                stable: st.name.clone(),
                tags,
            },
            created: now_ms(),
        }))
    }

    pub(crate) fn drop_table(
        &mut self,
        name: &ObjName,
        if_exists: bool,
        stable: bool,
        current: Option<&str>,
    ) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        if let Some(st) = entry.stables.get(&name.name) {
            let children: Vec<(String, u64)> = entry
                .tables
                .values()
                .filter(
                    |t| matches!(&t.kind, TableKind::Child { stable, .. } if *stable == st.name),
                )
                .map(|t| (t.name.clone(), t.uid))
                .collect();
            let mut changes: Vec<Change<'_>> = children
                .iter()
                .map(|(n, _)| Change::DelTable(&db, n))
                .collect();
            changes.push(Change::DelSTable(&db, &name.name));
            self.catalog.commit(&changes)?;
            let e = self.catalog.dbs.get_mut(&db).expect("checked");
            e.stables.remove(&name.name);
            for (n, _) in &children {
                e.tables.remove(n);
            }
            let uids: Vec<u64> = children.iter().map(|c| c.1).collect();
            self.forget_tables(&uids);
            return Ok(Output::Affected(0));
        }
        if stable && entry.tables.contains_key(&name.name) {
            fail!(
                code::INVALID_VALUE,
                "{} is not a super table (use DROP TABLE)",
                name.name
            );
        }
        let Some(t) = entry.tables.get(&name.name) else {
            if if_exists {
                return Ok(Output::Affected(0));
            }
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
        };
        let uid = t.uid;
        self.catalog.commit(&[Change::DelTable(&db, &name.name)])?;
        self.catalog
            .dbs
            .get_mut(&db)
            .expect("checked")
            .tables
            .remove(&name.name);
        self.forget_tables(&[uid]);
        Ok(Output::Affected(0))
    }

    pub(crate) fn alter_table(
        &mut self,
        name: &ObjName,
        stable: bool,
        action: AlterAction,
        current: Option<&str>,
    ) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        let p = entry.options().precision;
        if let AlterAction::SetTag(tag, e) = &action {
            let Some(t) = entry.tables.get(&name.name) else {
                fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
            };
            let TableKind::Child {
                stable: st_name,
                tags,
            } = &t.kind
            else {
                fail!(
                    code::INVALID_VALUE,
                    "{} is not a child table; only child tables have tag values",
                    name.name
                );
            };
            let st = &entry.stables[st_name];
            let Some(i) = st.tags.iter().position(|c| &c.name == tag) else {
                fail!(code::INVALID_COLUMN, "invalid tag name: {tag}");
            };
            let mut tags = tags.clone();
            tags[i] = column_value(e, st.tags[i].ty, tag, p, p.now())?;
            let mut t = t.clone();
            t.kind = TableKind::Child {
                stable: st_name.clone(),
                tags,
            };
            self.catalog.commit(&[Change::PutTable(&db, &t)])?;
            self.catalog
                .dbs
                .get_mut(&db)
                .expect("checked")
                .tables
                .insert(t.name.clone(), t);
            return Ok(Output::Affected(0));
        }
        if let Some(st) = entry.stables.get(&name.name) {
            let mut st = st.clone();
            let children: Vec<Table> = entry
                .tables
                .values()
                .filter(
                    |t| matches!(&t.kind, TableKind::Child { stable, .. } if *stable == st.name),
                )
                .cloned()
                .collect();
            let mut changed_children = Vec::new();
            let mut dropped_pos = None;
            match action {
                AlterAction::AddColumn(c) => {
                    add_column(&mut st.columns, &st.tags, &mut st.next_id, c)?;
                }
                AlterAction::DropColumn(c) => {
                    dropped_pos = Some(drop_column(&mut st.columns, &c)?);
                }
                AlterAction::ModifyColumn(c) => widen(&mut st.columns, &c)?,
                AlterAction::AddTag(c) => {
                    add_column(&mut st.tags, &st.columns, &mut st.next_id, c)?;
                    for mut t in children.clone() {
                        if let TableKind::Child { tags, .. } = &mut t.kind {
                            tags.push(Value::Null);
                        }
                        changed_children.push(t);
                    }
                }
                AlterAction::DropTag(tag) => {
                    if st.tags.len() == 1 {
                        fail!(code::INVALID_VALUE, "a super table needs at least one tag");
                    }
                    let Some(i) = st.tags.iter().position(|c| c.name == tag) else {
                        fail!(code::INVALID_COLUMN, "invalid tag name: {tag}");
                    };
                    st.tags.remove(i);
                    for mut t in children.clone() {
                        if let TableKind::Child { tags, .. } = &mut t.kind {
                            tags.remove(i);
                        }
                        changed_children.push(t);
                    }
                }
                AlterAction::RenameTag(old, new) => {
                    check_name("tag", &new, MAX_COLUMN_NAME)?;
                    if st.tags.iter().chain(&st.columns).any(|c| c.name == new) {
                        fail!(code::INVALID_COLUMN, "duplicated column name: {new}");
                    }
                    let Some(t) = st.tags.iter_mut().find(|c| c.name == old) else {
                        fail!(code::INVALID_COLUMN, "invalid tag name: {old}");
                    };
                    t.name = new;
                }
                AlterAction::ModifyTag(c) => widen(&mut st.tags, &c)?,
                AlterAction::SetTag(..) => unreachable!("handled above"),
            }
            let mut changes = vec![Change::PutSTable(&db, &st)];
            changes.extend(changed_children.iter().map(|t| Change::PutTable(&db, t)));
            self.catalog.commit(&changes)?;
            if let Some(pos) = dropped_pos {
                for t in &children {
                    self.drop_column_data(t.uid, pos - 1);
                }
            }
            let e = self.catalog.dbs.get_mut(&db).expect("checked");
            for t in changed_children {
                e.tables.insert(t.name.clone(), t);
            }
            e.stables.insert(st.name.clone(), st);
            return Ok(Output::Affected(0));
        }
        if stable {
            fail!(
                code::STABLE_NOT_EXIST,
                "super table {} does not exist in database {db}",
                name.name
            );
        }
        let Some(t) = entry.tables.get(&name.name) else {
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
        };
        let mut t = t.clone();
        let TableKind::Normal { columns, next_id } = &mut t.kind else {
            fail!(
                code::INVALID_VALUE,
                "the schema of child table {} changes through its super table",
                name.name
            );
        };
        let mut dropped_pos = None;
        match action {
            AlterAction::AddColumn(c) => add_column(columns, &[], next_id, c)?,
            AlterAction::DropColumn(c) => dropped_pos = Some(drop_column(columns, &c)?),
            AlterAction::ModifyColumn(c) => widen(columns, &c)?,
            _ => fail!(
                code::INVALID_VALUE,
                "{} is a normal table: it has no tags",
                name.name
            ),
        }
        self.catalog.commit(&[Change::PutTable(&db, &t)])?;
        if let Some(pos) = dropped_pos {
            self.drop_column_data(t.uid, pos - 1);
        }
        self.catalog
            .dbs
            .get_mut(&db)
            .expect("checked")
            .tables
            .insert(t.name.clone(), t);
        Ok(Output::Affected(0))
    }
}

pub(crate) fn add_column(
    list: &mut Vec<Column>,
    others: &[Column],
    next_id: &mut u16,
    c: ColumnDef,
) -> Result<()> {
    check_name("column", &c.name, MAX_COLUMN_NAME)?;
    if list.iter().chain(others).any(|x| x.name == c.name) {
        fail!(code::INVALID_COLUMN, "duplicated column name: {}", c.name);
    }
    if list.len() + others.len() >= MAX_COLUMNS {
        fail!(
            code::INVALID_COLUMN,
            "too many columns: at most {MAX_COLUMNS} including tags"
        );
    }
    list.push(Column {
        id: *next_id,
        name: c.name,
        ty: c.ty,
    });
    *next_id += 1;
    Ok(())
}

/// Removes a column; returns its position (never 0, the timestamp).
pub(crate) fn drop_column(list: &mut Vec<Column>, name: &str) -> Result<usize> {
    let Some(i) = list.iter().position(|c| c.name == name) else {
        fail!(code::INVALID_COLUMN, "invalid column name: {name}");
    };
    if i == 0 {
        fail!(
            code::INVALID_COLUMN,
            "the timestamp column cannot be dropped"
        );
    }
    if list.len() <= 2 {
        fail!(
            code::INVALID_COLUMN,
            "a table needs at least one column besides the timestamp"
        );
    }
    list.remove(i);
    Ok(i)
}

/// MODIFY: only BINARY/NCHAR may be widened.
pub(crate) fn widen(list: &mut [Column], c: &ColumnDef) -> Result<()> {
    let Some(old) = list.iter_mut().find(|x| x.name == c.name) else {
        fail!(code::INVALID_COLUMN, "invalid column name: {}", c.name);
    };
    match (old.ty, c.ty) {
        (DataType::Binary(a), DataType::Binary(b)) | (DataType::NChar(a), DataType::NChar(b))
            if b >= a =>
        {
            old.ty = c.ty;
            Ok(())
        }
        _ => fail!(
            code::INVALID_VALUE,
            "only BINARY and NCHAR columns can be modified, and only to a larger length"
        ),
    }
}
