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
//! - [`http`]: axum routes, limits, access logs; [`pool`]: the worker threads;
//!   [`net`]: the accept loop (connection cap, timeouts, JSON for every
//!   HTTP-layer error), shared with the tsdb; [`sd_notify`]: readiness
//!   for systemd `Type=notify` units, shared too.
//! - [`config`], [`config_py`], [`logging`], [`models`]: `taosanode.ini` (or
//!   TDgpt 3.4.1's `taosanode.config.py`), tracing, `model-dir`.
//! - [`dynamic`]: deployed models (`/deploy`, `/undeploy`, the
//!   `dynamic-model-dir`), TDgpt 3.4's dynamic models; [`multipart`]: the
//!   form bodies that upload their model files.
//! - [`backtest`]: `anode backtest`, the forecasters scored on real series
//!   shipped in `data/series/`.
//!
//! Everything but `protocol`, `options`, `payload`, `envelope` and `error`
//! sits behind the `server` feature (on by default): with
//! `default-features = false` the crate is the wire protocol alone, with
//! serde as its only dependency.

#[cfg(feature = "server")]
pub mod algo;
#[cfg(feature = "server")]
pub mod backtest;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod config_py;
#[cfg(feature = "server")]
pub mod dynamic;
pub mod envelope;
pub mod error;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod logging;
#[cfg(feature = "server")]
pub mod models;
#[cfg(feature = "server")]
pub mod multipart;
#[cfg(feature = "server")]
pub mod net;
pub mod options;
pub mod payload;
#[cfg(feature = "server")]
pub mod pool;
pub mod protocol;
#[cfg(feature = "server")]
pub mod python;
#[cfg(feature = "server")]
pub mod sd_notify;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod stats;
#[cfg(feature = "server")]
pub mod whitenoise;
#[cfg(feature = "server")]
pub mod windows;
