//! The statement dispatcher: [`Engine::execute`] parses a statement and
//! hands it to the layer that runs it. It is the top of the crate's
//! statement path: nothing below imports it.
//!
//! May import: every statement family (`exec`, `query`, `analytics`,
//! `stream`, `subscribe`), `state`, `sql`, `storage::damage`, `error`,
//! `result`, `types`.

use std::path::Path;

use crate::error::{Result, code};
use crate::fail;
use crate::result::{ColMeta, Output};
use crate::sql::ast::Statement;
use crate::state::{Engine, resolve_db};
use crate::types::{DataType, Value};

impl Engine {
    /// Runs one statement. `db` is the current database (`USE`, or the REST
    /// URL's database).
    pub fn execute(&self, sql: &str, db: Option<&str>) -> Result<Output> {
        let stmt = crate::sql::parse(sql)?;
        match stmt {
            Statement::Select(sel) if is_system_table(&sel, "ins_damage") => {
                star_only(&sel, "ins_damage")?;
                Ok(damage_rows(&self.data_dir))
            }
            Statement::Select(sel) if is_system_table(&sel, "ins_subscriptions") => {
                star_only(&sel, "ins_subscriptions")?;
                Ok(subscription_rows(&self.data_dir))
            }
            Statement::Select(sel) if is_system_table(&sel, "ins_disk_usage") => {
                star_only(&sel, "ins_disk_usage")?;
                Ok(self.disk_usage_rows())
            }
            Statement::Select(sel) => {
                crate::analytics::select(self, &sel, db).unwrap_or_else(|| {
                    crate::query::select_unlocked(self, &sel, db, &mut Default::default())
                })
            }
            Statement::CreateAnode(url) => crate::analytics::ddl::create(self, &url),
            Statement::DropAnode(id) => crate::analytics::ddl::drop(self, id),
            Statement::UpdateAnode(id) => crate::analytics::ddl::update(self, id),
            Statement::ShowAnodes { full } => crate::analytics::ddl::show(self, full),
            Statement::ShowDatabases => Ok(self.read().show_databases()),
            Statement::ShowCreateDatabase(name) => self.read().show_create_database(&name),
            Statement::ShowCreateTable(name) => self.read().show_create_table(&name, db),
            Statement::Show {
                what,
                db: in_db,
                like,
            } => {
                let state = self.read();
                let db = resolve_db(in_db.as_deref(), db)?;
                state.show_tables(&db, what, like.as_deref())
            }
            Statement::Describe(name) => self.read().describe(&name, db),
            Statement::Use(name) => {
                let state = self.read();
                if !state.catalog.dbs.contains_key(&name) {
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                }
                Ok(Output::UseDb(name))
            }
            Statement::Insert(tables) => Ok(Output::Affected(self.insert_tables(tables, db)?)),
            Statement::CreateStream(cs) => crate::stream::create(self, &cs, db),
            Statement::ShowStreams => Ok(crate::stream::show(self)),
            Statement::KillStream(id) => crate::stream::kill(self, id),
            Statement::DropStream { name, if_exists } => {
                crate::stream::drop(self, &name, if_exists)
            }
            stmt @ (Statement::Drop { .. } | Statement::DropDatabase { .. }) => {
                let out = self.write().ddl(stmt, db)?;
                crate::stream::forget_dropped(self)?;
                Ok(out)
            }
            Statement::Flush(name) => {
                if !self.read().catalog.dbs.contains_key(&name) {
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                }
                self.flush()?;
                Ok(Output::Affected(0))
            }
            Statement::Compact(name) => {
                if !self.read().catalog.dbs.contains_key(&name) {
                    fail!(code::DB_NOT_EXIST, "Database not exist: {name}");
                }
                self.compact(&name)?;
                Ok(Output::Affected(0))
            }
            other => self.write().ddl(other, db),
        }
    }
}

/// `SELECT * FROM information_schema.<name>`.
pub(crate) fn is_system_table(sel: &crate::sql::ast::Select, name: &str) -> bool {
    sel.from
        .as_ref()
        .is_some_and(|f| f.db.as_deref() == Some("information_schema") && f.name == name)
}

/// The system tables answer `SELECT *` only.
fn star_only(sel: &crate::sql::ast::Select, table: &str) -> Result<()> {
    if sel.items.len() != 1 || sel.items[0].expr != crate::sql::ast::Expr::Star {
        fail!(
            code::NOT_SUPPORTED,
            "only SELECT * is supported on information_schema.{table}"
        );
    }
    Ok(())
}

/// `information_schema.ins_subscriptions`: each topic with saved progress
/// ([`crate::subscribe`]): its SELECT, how many tables it has delivered
/// from, the newest timestamp delivered and when it last consumed.
pub(crate) fn subscription_rows(data_dir: &Path) -> Output {
    let rows = crate::subscribe::list(data_dir)
        .into_iter()
        .map(|t| {
            vec![
                Value::Str(t.topic),
                Value::Str(t.progress.sql),
                Value::Int(t.progress.tables.len() as i64),
                t.progress
                    .tables
                    .values()
                    .max()
                    .map_or(Value::Null, |ts| Value::Int(*ts)),
                t.consumed_at.map_or(Value::Null, Value::Int),
            ]
        })
        .collect();
    Output::Rows {
        columns: vec![
            ColMeta::new("topic_name", DataType::Binary(192)),
            ColMeta::new("sql", DataType::Binary(4096)),
            ColMeta::new("tables", DataType::Int),
            ColMeta::new("last_ts", DataType::Timestamp),
            ColMeta::new("consumed_at", DataType::Timestamp),
        ],
        rows,
        precision: crate::types::Precision::Ms,
    }
}

impl Engine {
    /// `information_schema.ins_disk_usage`: per database, its tables, its
    /// data files and their bytes, and the rows still only in memtables
    /// (and the WAL, which all databases share).
    fn disk_usage_rows(&self) -> Output {
        let files_dir = self.data_dir.join("data");
        let st = self.read();
        let rows = st
            .catalog
            .dbs
            .iter()
            .filter(|(_, e)| e.db.is_some())
            .map(|(name, e)| {
                let (files, bytes) = std::fs::read_dir(files_dir.join(name))
                    .map(|dir| {
                        dir.filter_map(|f| f.ok()?.metadata().ok())
                            .filter(|m| m.is_file())
                            .fold((0i64, 0i64), |(n, b), m| (n + 1, b + m.len() as i64))
                    })
                    .unwrap_or((0, 0));
                vec![
                    Value::Str(name.clone()),
                    Value::Int(e.tables.len() as i64),
                    Value::Int(files),
                    Value::Int(bytes),
                    Value::Int(
                        e.tables
                            .values()
                            .filter_map(|t| st.data.get(&t.uid))
                            .map(|d| d.len() as i64)
                            .sum(),
                    ),
                ]
            })
            .collect();
        Output::Rows {
            columns: vec![
                ColMeta::new("db_name", DataType::Binary(64)),
                ColMeta::new("ntables", DataType::BigInt),
                ColMeta::new("data_files", DataType::BigInt),
                ColMeta::new("data_bytes", DataType::BigInt),
                ColMeta::new("memtable_rows", DataType::BigInt),
            ],
            rows,
            precision: crate::types::Precision::Ms,
        }
    }
}

/// `information_schema.ins_damage`: every damage report of the data
/// directory ([`crate::storage::damage`]), oldest first.
pub(crate) fn damage_rows(data_dir: &Path) -> Output {
    let rows = crate::storage::damage::load(data_dir)
        .into_iter()
        .map(|d| {
            vec![
                Value::Int(d.found_at),
                Value::Str(d.kind),
                Value::Str(d.file),
                Value::Int(d.start as i64),
                Value::Int(d.end as i64),
                Value::Str(d.lost),
                Value::Str(d.action),
            ]
        })
        .collect();
    Output::Rows {
        columns: vec![
            ColMeta::new("found_at", DataType::Timestamp),
            ColMeta::new("kind", DataType::Binary(16)),
            ColMeta::new("file", DataType::Binary(256)),
            ColMeta::new("start_byte", DataType::BigInt),
            ColMeta::new("end_byte", DataType::BigInt),
            ColMeta::new("lost", DataType::Binary(1024)),
            ColMeta::new("action", DataType::Binary(1024)),
        ],
        rows,
        precision: crate::types::Precision::Ms,
    }
}
