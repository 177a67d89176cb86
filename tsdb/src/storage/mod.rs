//! Storage: the [`wal`] and the rows of each table ([`table`]).
//!
//! This first version keeps all rows in memory and rebuilds them from the
//! WAL at start-up. The next step, and how it is meant to fit:
//!
//! - Immutable columnar blocks per (table, `DAYS` partition), written when
//!   the memtables pass `cache × blocks` (oldest first), with a header of
//!   per-column count/min/max/first/last and the time range; numbers and
//!   timestamps compressed with `pco`, strings with `zstd`. A manifest
//!   names the live blocks; after it is synced the WAL is truncated to what
//!   is still only in memory.
//! - Duplicate timestamps are resolved at insert time against sealed data
//!   (binary search of a block's ts column; `UPDATE 2` copies the sealed
//!   row's other columns into the new row), so reads only need "a newer
//!   layer shadows an older one": memtable over newer blocks over older.
//! - Queries read column slices: block headers answer count/min/max of
//!   whole blocks, time ranges skip blocks, and the query's row locator
//!   becomes (block, index) instead of a `&[Value]` row.
//! - `KEEP` deletes whole partition files instead of splitting memtables.

pub mod table;
pub mod wal;
