//! SHOW DATABASES / STABLES / TABLES / CREATE ..., DESCRIBE.
//!
//! May import: `state`, `catalog`, `query` (LIKE), `types`, `error`,
//! `result`.

use crate::catalog::{Column, TableKind};
use crate::error::{Result, code};
use crate::fail;
use crate::query::eval::like_match;
use crate::result::{ColMeta, Output};
use crate::sql::ast::{ObjName, ShowWhat};
use crate::state::{State, resolve_db};
use crate::types::{DataType, Precision, Value};

impl State {
    pub(crate) fn show_create_database(&self, name: &str) -> Result<Output> {
        let o = self.db(name)?.options();
        let text = format!(
            "CREATE DATABASE {name} KEEP {} DAYS {} CACHE {} BLOCKS {} MINROWS {} MAXROWS {} WAL {} FSYNC {} COMP {} CACHELAST {} PRECISION '{}' UPDATE {}",
            o.keep,
            o.days,
            o.cache,
            o.blocks,
            o.minrows,
            o.maxrows,
            o.wal,
            o.fsync,
            o.comp,
            o.cachelast,
            o.precision.as_str(),
            o.update
        );
        Ok(Output::Rows {
            columns: vec![
                ColMeta::new("Database", DataType::Binary(32)),
                ColMeta::new("Create Database", DataType::Binary(1024)),
            ],
            rows: vec![vec![Value::Str(name.to_owned()), Value::Str(text)]],
            precision: Precision::Ms,
        })
    }

    pub(crate) fn show_create_table(
        &self,
        name: &ObjName,
        current: Option<&str>,
    ) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        let defs = |cols: &[Column]| {
            cols.iter()
                .map(|c| format!("{} {}", c.name, c.ty.decl()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let text = if let Some(st) = entry.stables.get(&name.name) {
            format!(
                "CREATE TABLE {} ({}) TAGS ({})",
                st.name,
                defs(&st.columns),
                defs(&st.tags)
            )
        } else if let Some(t) = entry.tables.get(&name.name) {
            match &t.kind {
                TableKind::Normal { columns, .. } => {
                    format!("CREATE TABLE {} ({})", t.name, defs(columns))
                }
                TableKind::Child { stable, tags } => {
                    let vals: Vec<String> = tags
                        .iter()
                        .map(|v| match v {
                            Value::Null => "NULL".to_owned(),
                            Value::Str(s) => format!("\"{s}\""),
                            Value::Int(i) => i.to_string(),
                            Value::Double(d) => d.to_string(),
                            Value::Bool(b) => b.to_string(),
                        })
                        .collect();
                    format!(
                        "CREATE TABLE {} USING {stable} TAGS ({})",
                        t.name,
                        vals.join(",")
                    )
                }
            }
        } else {
            fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
        };
        Ok(Output::Rows {
            columns: vec![
                ColMeta::new("Table", DataType::Binary(192)),
                ColMeta::new("Create Table", DataType::Binary(1024)),
            ],
            rows: vec![vec![Value::Str(name.name.clone()), Value::Str(text)]],
            precision: Precision::Ms,
        })
    }

    pub(crate) fn show_databases(&self) -> Output {
        let cols = vec![
            ColMeta::new("name", DataType::Binary(32)),
            ColMeta::new("created_time", DataType::Timestamp),
            ColMeta::new("ntables", DataType::Int),
            ColMeta::new("vgroups", DataType::Int),
            ColMeta::new("replica", DataType::SmallInt),
            ColMeta::new("quorum", DataType::SmallInt),
            ColMeta::new("days", DataType::SmallInt),
            ColMeta::new("keep", DataType::Binary(24)),
            ColMeta::new("cache(MB)", DataType::Int),
            ColMeta::new("blocks", DataType::Int),
            ColMeta::new("minrows", DataType::Int),
            ColMeta::new("maxrows", DataType::Int),
            ColMeta::new("wallevel", DataType::TinyInt),
            ColMeta::new("fsync", DataType::Int),
            ColMeta::new("comp", DataType::TinyInt),
            ColMeta::new("cachelast", DataType::TinyInt),
            ColMeta::new("precision", DataType::Binary(3)),
            ColMeta::new("update", DataType::TinyInt),
            ColMeta::new("status", DataType::Binary(10)),
        ];
        let rows = self
            .catalog
            .dbs
            .values()
            .filter_map(|e| {
                let d = e.db.as_ref()?;
                let o = &d.options;
                Some(vec![
                    Value::Str(d.name.clone()),
                    Value::Int(d.created),
                    Value::Int(e.tables.len() as i64),
                    Value::Int(1),
                    Value::Int(o.replica),
                    Value::Int(o.quorum),
                    Value::Int(o.days),
                    Value::Str(o.keep.to_string()),
                    Value::Int(o.cache),
                    Value::Int(o.blocks),
                    Value::Int(o.minrows),
                    Value::Int(o.maxrows),
                    Value::Int(i64::from(o.wal)),
                    Value::Int(o.fsync),
                    Value::Int(o.comp),
                    Value::Int(i64::from(o.cachelast)),
                    Value::Str(o.precision.as_str().to_owned()),
                    Value::Int(i64::from(o.update)),
                    Value::Str("ready".into()),
                ])
            })
            .collect();
        Output::Rows {
            columns: cols,
            rows,
            precision: Precision::Ms,
        }
    }

    pub(crate) fn show_tables(
        &self,
        db: &str,
        what: ShowWhat,
        like: Option<&str>,
    ) -> Result<Output> {
        let entry = self.db(db)?;
        let matches = |n: &str| like.is_none_or(|p| like_match(n, p));
        Ok(match what {
            ShowWhat::STables => Output::Rows {
                columns: vec![
                    ColMeta::new("name", DataType::Binary(192)),
                    ColMeta::new("created_time", DataType::Timestamp),
                    ColMeta::new("columns", DataType::SmallInt),
                    ColMeta::new("tags", DataType::SmallInt),
                    ColMeta::new("tables", DataType::Int),
                ],
                rows: entry
                    .stables
                    .values()
                    .filter(|s| matches(&s.name))
                    .map(|s| {
                        let n = entry
                            .tables
                            .values()
                            .filter(|t| matches!(&t.kind, TableKind::Child { stable, .. } if *stable == s.name))
                            .count();
                        vec![
                            Value::Str(s.name.clone()),
                            Value::Int(s.created),
                            Value::Int(s.columns.len() as i64),
                            Value::Int(s.tags.len() as i64),
                            Value::Int(n as i64),
                        ]
                    })
                    .collect(),
                precision: Precision::Ms,
            },
            ShowWhat::Tables => Output::Rows {
                columns: vec![
                    ColMeta::new("table_name", DataType::Binary(192)),
                    ColMeta::new("created_time", DataType::Timestamp),
                    ColMeta::new("columns", DataType::SmallInt),
                    ColMeta::new("stable_name", DataType::Binary(192)),
                ],
                rows: entry
                    .tables
                    .values()
                    .filter(|t| matches(&t.name))
                    .map(|t| {
                        let (ncols, st) = match &t.kind {
                            TableKind::Normal { columns, .. } => (columns.len(), Value::Null),
                            TableKind::Child { stable, .. } => (
                                entry.stables.get(stable).map_or(0, |s| s.columns.len()),
                                Value::Str(stable.clone()),
                            ),
                        };
                        vec![
                            Value::Str(t.name.clone()),
                            Value::Int(t.created),
                            Value::Int(ncols as i64),
                            st,
                        ]
                    })
                    .collect(),
                precision: Precision::Ms,
            },
        })
    }

    pub(crate) fn describe(&self, name: &ObjName, current: Option<&str>) -> Result<Output> {
        let db = resolve_db(name.db.as_deref(), current)?;
        let entry = self.db(&db)?;
        let (cols, tags): (Vec<Column>, Vec<Column>) =
            if let Some(st) = entry.stables.get(&name.name) {
                (st.columns.clone(), st.tags.clone())
            } else if let Some(t) = entry.tables.get(&name.name) {
                match &t.kind {
                    TableKind::Normal { columns, .. } => (columns.clone(), Vec::new()),
                    TableKind::Child { stable, .. } => {
                        let st = &entry.stables[stable];
                        (st.columns.clone(), st.tags.clone())
                    }
                }
            } else {
                fail!(code::TABLE_NOT_EXIST, "Table does not exist: {}", name.name);
            };
        let row = |c: &Column, note: &str| {
            vec![
                Value::Str(c.name.clone()),
                Value::Str(c.ty.name().replace("VARCHAR", "BINARY")),
                Value::Int(i64::from(c.ty.len())),
                Value::Str(note.to_owned()),
            ]
        };
        let mut rows: Vec<Vec<Value>> = cols.iter().map(|c| row(c, "")).collect();
        rows.extend(tags.iter().map(|c| row(c, "TAG")));
        Ok(Output::Rows {
            columns: vec![
                ColMeta::new("Field", DataType::Binary(64)),
                ColMeta::new("Type", DataType::Binary(18)),
                ColMeta::new("Length", DataType::Int),
                ColMeta::new("Note", DataType::Binary(10)),
            ],
            rows,
            precision: Precision::Ms,
        })
    }
}
