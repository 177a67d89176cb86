//! `tsdb`: a compact time-series database core in the TDengine mould.
//!
//! Databases, super tables with tags, child and normal tables, INSERT with
//! auto-create, windowed SELECT (INTERVAL / SLIDING / FILL), `last_row`,
//! continuous queries, analysis SQL through anodes, a taosAdapter-compatible
//! REST endpoint and a `taos`-style shell.
//!
//! # Layout
//!
//! - [`sql`]: lexer, parser and AST of the SQL dialect.
//! - [`schema`]: the schema types; [`catalog`]: databases, tables and tags,
//!   written through to redb.
//! - [`storage`]: the write-ahead log and the rows of each table.
//! - [`engine`]: statement execution (DDL, INSERT) and recovery.
//! - [`query`]: SELECT: scan, filter, group, window, aggregate, fill.
//! - [`stream`]: continuous queries (`CREATE TABLE t AS SELECT ... INTERVAL`).
//! - [`subscribe`]: data subscriptions (subscribe / consume / unsubscribe).
//! - [`analytics`]: anodes and the analysis functions they serve.
//! - [`rest`]: `POST /rest/sql` with the taosAdapter JSON shape; [`auth`]:
//!   its session tokens and login throttling.
//! - [`render`]: the taos shell's table layout; [`shell`]: the client;
//!   [`import`]: CSV loading over REST; [`csv_values`]: CSV lines as VALUES
//!   rows (both use it).
//! - [`check`]: `tsdb check [--repair]`, the offline verifier.
//! - [`config`] reads `etc/tsdb.ini`; [`limits`] holds every bound on one
//!   statement (depth, widths, sizes, result budgets, run time).
//! - [`types`], [`result`], [`error`]: values, result sets, error codes.
//!
//! Rows are made durable by the WAL, kept in memtables, and flushed into
//! immutable columnar data files per table and time partition.

pub mod analytics;
pub mod auth;
pub mod catalog;
pub mod check;
pub mod config;
pub mod csv_values;
pub mod engine;
pub mod error;
pub mod import;
pub mod limits;
pub mod query;
pub mod render;
pub mod rest;
pub mod result;
pub mod schema;
pub mod shell;
pub mod sql;
pub mod storage;
pub mod stream;
pub mod subscribe;
pub mod types;
