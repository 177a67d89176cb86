//! Databases, super tables, tables and their tags, persisted in redb.
//!
//! The catalog is small and read on every statement, so it lives in memory
//! (behind the engine's lock) and every change is written through to one
//! redb file in the same call: a DDL statement that returned is durable.
//! Entries are JSON values under `db/<db>`, `st/<db>/<stable>`,
//! `tb/<db>/<table>`, anodes under `an/<id>`, streams under `sm/<id>` and
//! the counters under
//! `meta/...`.
//!
//! May import: `error`, `schema`, `storage`.

use std::collections::BTreeMap;
use std::path::Path;

use redb::{Database as Redb, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;

use crate::error::{DbError, Result};
pub use crate::schema::*;
use crate::storage::wal::{Pos, Syncer};

use std::sync::Arc;

const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("catalog");

/// The catalog: in memory, written through to redb.
pub struct Catalog {
    store: Redb,
    pub dbs: BTreeMap<String, DbEntry>,
    pub anodes: BTreeMap<u32, Anode>,
    pub streams: BTreeMap<u32, Stream>,
    pub next_uid: u64,
    /// The WAL, whose position each durable commit records.
    wal: Option<Arc<Syncer>>,
    /// The WAL position of the last durable commit: table creations logged
    /// in the WAL before it are in redb.
    pub durable_at: Pos,
    /// A lazy commit happened since the last durable one.
    lazy: bool,
    /// Counts the changes: an INSERT checked under the read lock is
    /// written only if no change came between
    /// ([`crate::exec::insert::Prepared`]). Every change commits, under the
    /// engine's write lock, so the commits are where it counts.
    pub generation: u64,
}

impl std::fmt::Debug for Catalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalog")
            .field("databases", &self.dbs.len())
            .finish()
    }
}

/// A change to write through.
pub enum Change<'a> {
    PutDb(&'a Database),
    DelDb(&'a str),
    PutSTable(&'a str, &'a STable),
    DelSTable(&'a str, &'a str),
    PutTable(&'a str, &'a Table),
    DelTable(&'a str, &'a str),
    PutAnode(&'a Anode),
    DelAnode(u32),
    PutStream(&'a Stream),
    DelStream(u32),
}

impl Catalog {
    pub fn open(path: &Path) -> Result<Catalog> {
        let store = Redb::create(path)
            .map_err(|e| DbError::io(&format!("catalog {}", path.display()), e))?;
        let mut c = Catalog {
            store,
            dbs: BTreeMap::new(),
            anodes: BTreeMap::new(),
            streams: BTreeMap::new(),
            next_uid: 1,
            wal: None,
            durable_at: Pos::default(),
            lazy: false,
            generation: 0,
        };
        c.load()?;
        Ok(c)
    }

    fn load(&mut self) -> Result<()> {
        let err = |e: &dyn std::fmt::Display| DbError::io("reading the catalog", e);
        let txn = self.store.begin_read().map_err(|e| err(&e))?;
        let table = match txn.open_table(ENTRIES) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(err(&e)),
        };
        for item in table.iter().map_err(|e| err(&e))? {
            let (k, v) = item.map_err(|e| err(&e))?;
            let key = k.value().to_owned();
            let bytes = v.value();
            let parts: Vec<&str> = key.splitn(3, '/').collect();
            match parts.as_slice() {
                ["db", name] => {
                    let d: Database = serde_json::from_slice(bytes).map_err(|e| err(&e))?;
                    self.dbs.entry((*name).to_owned()).or_default().db = Some(d);
                }
                ["st", db, name] => {
                    let s: STable = serde_json::from_slice(bytes).map_err(|e| err(&e))?;
                    self.dbs
                        .entry((*db).to_owned())
                        .or_default()
                        .stables
                        .insert((*name).to_owned(), s);
                }
                ["tb", db, name] => {
                    let t: Table = serde_json::from_slice(bytes).map_err(|e| err(&e))?;
                    self.next_uid = self.next_uid.max(t.uid + 1);
                    self.dbs
                        .entry((*db).to_owned())
                        .or_default()
                        .tables
                        .insert((*name).to_owned(), t);
                }
                ["an", _] => {
                    let a: Anode = serde_json::from_slice(bytes).map_err(|e| err(&e))?;
                    self.anodes.insert(a.id, a);
                }
                ["sm", _] => {
                    let s: Stream = serde_json::from_slice(bytes).map_err(|e| err(&e))?;
                    self.streams.insert(s.id, s);
                }
                ["meta", "next_uid"] => {
                    let n: u64 = serde_json::from_slice(bytes).map_err(|e| err(&e))?;
                    self.next_uid = self.next_uid.max(n);
                }
                ["meta", "wal_pos"] => {
                    self.durable_at = serde_json::from_slice(bytes).map_err(|e| err(&e))?;
                }
                _ => {}
            }
        }
        // entries of databases whose record is missing are leftovers
        self.dbs.retain(|_, e| e.db.is_some());
        Ok(())
    }

    /// From now on durable commits record the position of this WAL.
    pub fn watch_wal(&mut self, wal: Arc<Syncer>) {
        self.wal = Some(wal);
    }

    /// Writes `changes` in one transaction, fsynced, with the WAL's
    /// position (which also makes every earlier lazy commit durable).
    pub fn commit(&mut self, changes: &[Change<'_>]) -> Result<()> {
        let pos = self.wal.as_ref().map(|w| w.position());
        self.generation += 1;
        self.write(changes, pos)?;
        if let Some(p) = pos {
            self.durable_at = p;
        }
        self.lazy = false;
        Ok(())
    }

    /// Writes `changes` without an fsync: the caller has logged them in
    /// the WAL ([`crate::storage::wal::Record::Create`]).
    pub fn commit_lazy(&mut self, changes: &[Change<'_>]) -> Result<()> {
        self.generation += 1;
        self.write(changes, None)?;
        self.lazy = true;
        Ok(())
    }

    /// A durable commit of nothing: every lazy commit so far is on disk
    /// (before the WAL segments that logged them are deleted). Nothing to
    /// do when there was none: every flush calls this under the engine's
    /// write lock, and a redb commit is a few fsyncs.
    pub fn sync(&mut self) -> Result<()> {
        if !self.lazy {
            return Ok(());
        }
        self.commit(&[])
    }

    fn write(&self, changes: &[Change<'_>], durable: Option<Pos>) -> Result<()> {
        let err = |e: &dyn std::fmt::Display| DbError::io("writing the catalog", e);
        let mut txn = self.store.begin_write().map_err(|e| err(&e))?;
        if durable.is_none() && self.wal.is_some() {
            txn.set_durability(redb::Durability::None)
                .map_err(|e| err(&e))?;
        }
        {
            let mut t = txn.open_table(ENTRIES).map_err(|e| err(&e))?;
            for c in changes {
                match c {
                    Change::PutDb(d) => {
                        t.insert(format!("db/{}", d.name).as_str(), to_json(*d).as_slice())
                            .map_err(|e| err(&e))?;
                    }
                    Change::DelDb(name) => {
                        t.remove(format!("db/{name}").as_str())
                            .map_err(|e| err(&e))?;
                        // every table and super table of the database
                        let prefixes = [format!("st/{name}/"), format!("tb/{name}/")];
                        for p in prefixes {
                            let keys: Vec<String> = t
                                .range(p.as_str()..)
                                .map_err(|e| err(&e))?
                                .map_while(|r| {
                                    let k = r.ok()?.0.value().to_owned();
                                    k.starts_with(&p).then_some(k)
                                })
                                .collect();
                            for k in keys {
                                t.remove(k.as_str()).map_err(|e| err(&e))?;
                            }
                        }
                    }
                    Change::PutSTable(db, s) => {
                        t.insert(
                            format!("st/{db}/{}", s.name).as_str(),
                            to_json(*s).as_slice(),
                        )
                        .map_err(|e| err(&e))?;
                    }
                    Change::DelSTable(db, name) => {
                        t.remove(format!("st/{db}/{name}").as_str())
                            .map_err(|e| err(&e))?;
                    }
                    Change::PutTable(db, tb) => {
                        t.insert(
                            format!("tb/{db}/{}", tb.name).as_str(),
                            to_json(*tb).as_slice(),
                        )
                        .map_err(|e| err(&e))?;
                    }
                    Change::DelTable(db, name) => {
                        t.remove(format!("tb/{db}/{name}").as_str())
                            .map_err(|e| err(&e))?;
                    }
                    Change::PutAnode(a) => {
                        t.insert(format!("an/{}", a.id).as_str(), to_json(*a).as_slice())
                            .map_err(|e| err(&e))?;
                    }
                    Change::DelAnode(id) => {
                        t.remove(format!("an/{id}").as_str()).map_err(|e| err(&e))?;
                    }
                    Change::PutStream(s) => {
                        t.insert(format!("sm/{}", s.id).as_str(), to_json(*s).as_slice())
                            .map_err(|e| err(&e))?;
                    }
                    Change::DelStream(id) => {
                        t.remove(format!("sm/{id}").as_str()).map_err(|e| err(&e))?;
                    }
                }
            }
            let next = to_json(&self.next_uid);
            t.insert("meta/next_uid", next.as_slice())
                .map_err(|e| err(&e))?;
            if let Some(pos) = durable {
                t.insert("meta/wal_pos", to_json(&pos).as_slice())
                    .map_err(|e| err(&e))?;
            }
        }
        txn.commit().map_err(|e| err(&e))
    }
}

/// A catalog entry as the JSON bytes stored in redb.
fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("catalog entries serialise")
}
