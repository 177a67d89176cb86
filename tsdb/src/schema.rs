//! The schema types: databases and their options, super tables, tables
//! and their columns and tags, anodes and streams, as the catalog keeps
//! them (JSON in redb) and the WAL logs table creations. They are their
//! own module so that the storage layer (which writes them) and the
//! catalog (which writes through the WAL's positions) need not import each
//! other; [`crate::catalog`] re-exports them.
//!
//! May import: `types`, `error`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::types::{DataType, Precision, Value};

/// A column or tag with its stable id (ids are never reused, so WAL records
/// written before an ALTER still map to the right column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub id: u16,
    pub name: String,
    pub ty: DataType,
}

/// Database options with TDengine 2.x defaults (spec A3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DbOptions {
    /// Retention in days.
    pub keep: i64,
    /// Days covered by one data file (and the future limit of a timestamp).
    pub days: i64,
    pub cache: i64,
    pub blocks: i64,
    pub update: u8,
    pub cachelast: u8,
    pub precision: Precision,
    pub replica: i64,
    pub quorum: i64,
    pub minrows: i64,
    pub maxrows: i64,
    pub comp: i64,
    pub wal: u8,
    pub fsync: i64,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            keep: 3650,
            days: 10,
            cache: 16,
            blocks: 6,
            update: 0,
            cachelast: 0,
            precision: Precision::Ms,
            replica: 1,
            quorum: 1,
            minrows: 100,
            maxrows: 4096,
            comp: 2,
            wal: 1,
            fsync: 3000,
        }
    }
}

impl DbOptions {
    /// Length of a `DAYS` partition (one data file), in ticks.
    pub fn partition_ticks(&self) -> i64 {
        self.days.max(1) * 86_400 * self.precision.per_second()
    }

    /// Rows of a block (`MAXROWS`).
    pub fn block_rows(&self) -> usize {
        self.maxrows.clamp(1, 1 << 20) as usize
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Database {
    pub name: String,
    pub options: DbOptions,
    /// Creation time, ms since the epoch.
    pub created: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct STable {
    pub name: String,
    /// First column is the timestamp.
    pub columns: Vec<Column>,
    pub tags: Vec<Column>,
    pub created: i64,
    pub next_id: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TableKind {
    Normal { columns: Vec<Column>, next_id: u16 },
    Child { stable: String, tags: Vec<Value> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    /// Unique for the life of the catalog: data of a dropped table never
    /// reappears in a new table of the same name.
    pub uid: u64,
    pub kind: TableKind,
    pub created: i64,
}

/// An analysis node (`CREATE ANODE`), with the algorithms its `/list`
/// gave at creation or the last `UPDATE ANODE`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anode {
    pub id: u32,
    /// As written in `CREATE ANODE`, case kept.
    pub url: String,
    /// ms since the epoch.
    pub created: i64,
    pub updated: i64,
    /// In `SHOW ANODES FULL` order: type, then as the anode listed them.
    pub algos: Vec<AnodeAlgo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnodeAlgo {
    /// `anomaly-detection`, `forecast`, `imputation`, `correlation`.
    pub kind: String,
    pub name: String,
    /// `READY` / `UNAVAIL` as `/list` said.
    pub status: String,
    /// The `/list` description.
    pub note: String,
}

/// A continuous query (`CREATE TABLE t AS SELECT ... INTERVAL ...` /
/// `CREATE STREAM`) and its progress. See [`crate::stream`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stream {
    pub id: u32,
    /// The 3.x stream name, or the result table's name (2.x).
    pub name: String,
    /// The current database when it was created (resolves the SELECT).
    pub db: Option<String>,
    /// The result table.
    pub target_db: String,
    pub target: String,
    /// The SELECT as written.
    pub sql: String,
    /// ms since the epoch; also the frozen `now` of the SELECT.
    pub created: i64,
    /// Delay after a window ends before it is computed, in ticks.
    pub delay: i64,
    /// Start of the next window to compute (ticks); `None` until the
    /// source has a row (or the start bound is known).
    pub next: Option<i64>,
    /// 3.x `FILL_HISTORY 0`: start with the window of the creation time.
    pub history: bool,
    pub rows: u64,
    /// ms since the epoch of the last run that computed windows.
    pub last_run: Option<i64>,
    pub error: Option<String>,
    /// Past its end bound: no more windows.
    pub completed: bool,
}

/// One database and everything in it.
#[derive(Debug, Clone, Default)]
pub struct DbEntry {
    pub db: Option<Database>,
    pub stables: BTreeMap<String, STable>,
    pub tables: BTreeMap<String, Table>,
}
