//! The public face of the database: [`Engine`] opens a data directory
//! ([`crate::maintenance`]), runs statements ([`crate::dispatch`]) and
//! flushes; its state and the layers are described in [`crate::state`].
//! Nothing inside the crate imports this module.
//!
//! May import: `maintenance`, `state`.

pub use crate::maintenance::RETENTION_EVERY;
pub use crate::state::{BLOCK_CACHE_BYTES, Engine, State, resolve_db};
