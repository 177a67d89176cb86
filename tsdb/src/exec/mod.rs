//! Statement families that change the database: [`ddl`] (CREATE, DROP,
//! ALTER, USE), [`insert`] (INSERT and the rows streams write), [`show`]
//! (SHOW, DESCRIBE). Each adds methods to [`crate::state::State`]; the dispatcher
//! ([`crate::dispatch`]) and streams call them.
//!
//! May import: `state`, `maintenance` (a background flush when the
//! memtables are full), `catalog`, `sql`, `storage`, `query` (literal
//! values, LIKE), `types`, `error`, `result`.

pub mod ddl;
pub mod insert;
pub mod show;

use crate::error::{DbError, Result};
use crate::maintenance::finish_flush;
use crate::sql::ast::InsertTable;
use crate::state::Engine;

impl Engine {
    /// Writes INSERT clauses (the statement, or a stream's results); returns
    /// the rows written once they are as durable as the database asks.
    pub(crate) fn insert_tables(
        &self,
        tables: Vec<InsertTable>,
        db: Option<&str>,
    ) -> Result<usize> {
        // Checked under the read lock, beside other writers' statements;
        // written under the write lock if the catalog has not changed
        // since (else checked again there), or wholly under the write lock
        // when the statement creates tables.
        let prepared = self.read().prepare_insert(&tables, db)?;
        // fsync (WAL 2) after the lock is released: group commit
        let (n, sync_to, job) = {
            let mut st = self.write();
            let (n, sync_to) = match prepared.and_then(|p| st.commit_insert(p)) {
                Some(written) => written?,
                None => st.insert(tables, db)?,
            };
            // the rows are in: a flush that cannot start (the WAL
            // cannot rotate) must not turn this into an error
            let job = if st.over_budget() && !st.flushing {
                st.freeze().unwrap_or_else(|e| {
                    tracing::error!(error = %e, "cannot start a flush; retrying with the next insert");
                    None
                })
            } else {
                None
            };
            (n, sync_to, job.map(|j| (j, st.store.dir().to_owned())))
        };
        if let Some((job, dir)) = job {
            let state = self.state.clone();
            std::thread::Builder::new()
                .name("tsdb-flush".into())
                .spawn(move || {
                    // a failure is logged and retried with the next flush
                    let _ = finish_flush(&state, &dir, job, false);
                })
                .map_err(|e| DbError::io("starting a flush thread", e))?;
        }
        if let Some(offset) = sync_to {
            self.syncer.sync_to(offset)?;
        }
        Ok(n)
    }
}
