//! TDgpt 3.4's analysis tools: requests of their own shape under
//! `/api/v1/analysis/`, not algorithms of `/list`.
//!
//! - [`profile_search`]: the windows of a series most like a pattern.
//!
//! May import: `error`, its parent's `correlation` (FastDTW).

pub mod profile_search;
