//! Storage: the [`wal`], the memtables ([`table`]), and the sealed layer
//! ([`store`]) of immutable columnar blocks ([`block`], [`column`](mod@column)) in data
//! files. How they fit is described in [`store`]; [`damage`] reports what
//! could not be read and keeps damaged files in quarantine.
//!
//! May import: `error`, `schema`, `types`.

pub mod block;
pub mod codec;
pub mod column;
pub mod damage;
pub mod recovery;
pub mod store;
pub mod table;
pub mod wal;
