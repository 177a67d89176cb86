//! `anode`: a TDgpt-compatible analysis node.
//!
//! It speaks the taosanode REST protocol (the 3.3.7 generation: `/`,
//! `/status`, `/list`, `/models`, `/anomaly-detect`, `/forecast`,
//! `/imputation`, `/correlation`) so that a TDengine server, or our own
//! tsdb, can register it with `CREATE ANODE` and call it from SQL. The
//! algorithms are native Rust.
//!
//! # Layout
//!
//! - [`protocol`]: wire types shared with the tsdb (serde only).
//! - [`options`]: the `algo=...,k=...` option string.
//! - [`envelope`]: the one-pass decoder of usual requests; [`payload`]:
//!   envelope validation with upstream's messages.
//! - [`whitenoise`], [`windows`], [`stats`]: the shared numerics.
//! - [`algo`]: one module per algorithm behind four small traits, and the
//!   [`algo::Registry`] that `/list` is built from.
//! - [`service`]: each endpoint as a function from request to response bytes.
//! - [`http`]: axum routes, limits, access logs; [`pool`]: the worker threads.
//! - [`config`], [`logging`], [`models`]: `taosanode.ini`, tracing, `model-dir`.

pub mod algo;
pub mod config;
pub mod envelope;
pub mod error;
pub mod http;
pub mod logging;
pub mod models;
pub mod options;
pub mod payload;
pub mod pool;
pub mod protocol;
pub mod service;
pub mod stats;
pub mod whitenoise;
pub mod windows;
