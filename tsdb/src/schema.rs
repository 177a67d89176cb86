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
    pub tables: Tables,
}

/// A database's tables by name: found by a hash probe, listed in name
/// order.
///
/// Why both: a many-device INSERT looks up thousands of names a statement,
/// and a B-tree search compares about 25 heap strings on the way (a cache
/// miss each; 7–12 % of the ingest in `memcmp`), where a hash probe
/// compares one; while SHOW TABLES, a super table's children in a query
/// (and so which table's row wins a FIRST tie) go in name order. The
/// tables live in one slot vector both maps point into.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    slots: Vec<Option<Table>>,
    /// Slots emptied by removals, for the next insert.
    free: Vec<usize>,
    by_hash: std::collections::HashMap<String, usize>,
    by_name: BTreeMap<String, usize>,
}

impl Tables {
    fn slot(&self, i: usize) -> &Table {
        self.slots[i]
            .as_ref()
            .expect("a named slot holds its table")
    }

    pub fn get(&self, name: &str) -> Option<&Table> {
        self.by_hash.get(name).map(|&i| self.slot(i))
    }

    pub fn get_key_value(&self, name: &str) -> Option<(&String, &Table)> {
        self.by_hash
            .get_key_value(name)
            .map(|(k, &i)| (k, self.slot(i)))
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Table> {
        let i = *self.by_hash.get(name)?;
        self.slots[i].as_mut()
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.by_hash.contains_key(name)
    }

    /// Puts `table` under `name`; the table it replaces, if any.
    pub fn insert(&mut self, name: String, table: Table) -> Option<Table> {
        if let Some(&i) = self.by_hash.get(&name) {
            return self.slots[i].replace(table);
        }
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(table);
                i
            }
            None => {
                self.slots.push(Some(table));
                self.slots.len() - 1
            }
        };
        self.by_name.insert(name.clone(), i);
        self.by_hash.insert(name, i);
        None
    }

    pub fn remove(&mut self, name: &str) -> Option<Table> {
        let i = self.by_hash.remove(name)?;
        self.by_name.remove(name);
        self.free.push(i);
        self.slots[i].take()
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    /// Names and tables, in name order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&String, &Table)> {
        self.by_name.iter().map(|(k, &i)| (k, self.slot(i)))
    }

    /// The tables, in name order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Table> {
        self.by_name.values().map(|&i| self.slot(i))
    }

    /// The names, in order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &String> {
        self.by_name.keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, uid: u64) -> Table {
        Table {
            name: name.to_owned(),
            uid,
            kind: TableKind::Child {
                stable: "st".into(),
                tags: vec![Value::Int(uid as i64)],
            },
            created: 0,
        }
    }

    /// The hashed and the ordered view agree through inserts, replacements
    /// and removals (whose slots are reused), against a plain B-tree.
    #[test]
    fn tables_agree_with_a_btree() {
        let mut t = Tables::default();
        let mut model: BTreeMap<String, Table> = BTreeMap::new();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for step in 0..5_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let name = format!("d{}", x % 300);
            match x % 5 {
                0 | 1 => assert_eq!(t.remove(&name), model.remove(&name), "step {step}"),
                _ => {
                    let new = table(&name, step);
                    assert_eq!(
                        t.insert(name.clone(), new.clone()),
                        model.insert(name.clone(), new),
                        "step {step}"
                    );
                }
            }
            assert_eq!(t.len(), model.len());
            assert_eq!(t.get(&name), model.get(&name));
            assert_eq!(t.contains_key(&name), model.contains_key(&name));
            assert_eq!(
                t.get_key_value(&name).map(|(k, v)| (k.clone(), v.uid)),
                model.get_key_value(&name).map(|(k, v)| (k.clone(), v.uid))
            );
        }
        assert!(t.iter().eq(model.iter()));
        assert!(t.values().rev().eq(model.values().rev()));
        assert!(t.keys().eq(model.keys()));
        assert!(
            t.slots.len() <= 300,
            "removed slots are reused: {}",
            t.slots.len()
        );
        if let Some(k) = model.keys().next().cloned() {
            t.get_mut(&k).expect("present").created = 7;
            assert_eq!(t.get(&k).map(|x| x.created), Some(7));
        }
    }
}
