//! TDgpt 3.4's analysis tools: requests of their own shape under
//! `/api/v1/analysis/`, not algorithms of `/list`.
//!
//! - [`profile_search`]: the windows of a series most like a pattern.
//! - [`batch`]: the "golden batch" of repeated runs and its envelope.
//!
//! May import: `error`, `stats`, its parent's `correlation` (FastDTW).

pub mod batch;
pub mod profile_search;
