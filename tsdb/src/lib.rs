//! `tsdb`: a compact time-series database core in the TDengine mould.
//!
//! Databases, super tables with tags, child and normal tables, INSERT with
//! auto-create, windowed SELECT (INTERVAL / SLIDING / FILL), `last_row`,
//! continuous queries, analysis SQL through anodes, a taosAdapter-compatible
//! REST endpoint and a `taos`-style shell.
//!
//! # Layout
//!
//! From the bottom up; a module imports only modules above it in this list
//! (`tests/layers.rs` fails on a cycle, and on an import a module's own
//! `May import:` line does not name):
//!
//! - [`error`], [`types`], [`result`], [`limits`]: error codes, values,
//!   result sets, every bound on one statement.
//! - [`sql`]: lexer, parser and AST of the SQL dialect.
//! - [`schema`]: the schema types; [`storage`]: the write-ahead log,
//!   memtables, columnar blocks and data files, damage reports;
//!   [`catalog`]: databases, tables and tags, written through to redb.
//! - [`anodes`]: the anodes a database knows, their health, the HTTP client.
//! - [`state`]: catalog + storage behind one lock ([`state::State`]) and
//!   the handle every layer holds ([`state::Engine`]).
//! - [`maintenance`]: opening (recovery), flush, merge, compaction,
//!   retention.
//! - [`query`]: SELECT: scan, filter, group, window, aggregate, fill.
//! - [`exec`]: the statement families that change the database: DDL,
//!   INSERT, SHOW.
//! - [`analytics`]: the analysis functions and the anode DDL; [`stream`]:
//!   continuous queries; [`subscribe`]: data subscriptions.
//! - [`dispatch`]: [`state::Engine::execute`], the one entry of every
//!   statement; nothing below imports it. [`engine`] re-exports the
//!   public face (`Engine`).
//! - [`check`]: `tsdb check [--repair]`, the offline verifier.
//! - [`schemaless`]: InfluxDB line protocol into super tables, as
//!   TDengine's schemaless writer does (statements through `dispatch`).
//! - [`auth`], [`config`], [`rest`], [`console`]: the server: session
//!   tokens and login throttling, `etc/tsdb.ini`, `POST /rest/sql` in the
//!   taosAdapter JSON shape, `POST /influxdb/v1/write`, the web console's
//!   embedded files at `/`.
//! - [`render`], [`csv_values`], [`shell`], [`import`]: the clients: the
//!   taos table layout, CSV lines as VALUES rows, the shell, CSV loading.
//!
//! Where a new statement goes: its parse in [`sql::parser`], its run in
//! the family it belongs to ([`exec`] for one that changes the database,
//! [`query`] for a SELECT), one arm in [`dispatch`].
//!
//! Rows are made durable by the WAL, kept in memtables, and flushed into
//! immutable columnar data files per table and time partition.

pub mod analytics;
pub mod anodes;
pub mod auth;
pub mod catalog;
pub mod check;
pub mod config;
pub mod console;
pub mod csv_values;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod exec;
pub mod import;
pub mod limits;
pub mod maintenance;
pub mod query;
pub mod render;
pub mod rest;
pub mod result;
pub mod schema;
pub mod schemaless;
pub mod shell;
pub mod sql;
pub mod state;
pub mod storage;
pub mod stream;
pub mod subscribe;
pub mod types;
