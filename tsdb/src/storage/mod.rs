//! Storage: the [`wal`] and the rows of each table ([`table`]).
//!
//! This first version keeps all rows in memory and rebuilds them from the
//! WAL at start-up; flushing to immutable columnar files per time partition
//! is the next step (see the README's status).

pub mod table;
pub mod wal;
