//! Correlation of two series (`type: "correlation"`, spec §5.4): `dtw`
//! (distance and warping path) and `tlcc` (time-lagged cross-correlation).
//!
//! May import: only `algo` itself.

pub mod dtw;
pub mod pearson;
pub mod tlcc;
