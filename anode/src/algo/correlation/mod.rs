//! Correlation of two series (`type: "correlation"`, spec §5.4): `dtw`
//! (distance and warping path) and `tlcc` (time-lagged cross-correlation).

pub mod dtw;
pub mod tlcc;
