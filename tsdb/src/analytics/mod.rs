//! Analysis SQL: the functions anodes serve (`FORECAST`, `ANOMALY_WINDOW`,
//! `IMPUTATION`, `DTW`, `DTW_PATH`, `TLCC`) and the anode DDL.
//!
//! # Layout
//!
//! - [`options`]: the `'algo=...,rows=...'` option string, parsed as taosd does.
//! - [`crate::anodes`]: which anode serves a call, their health, the HTTP
//!   client (re-exported here as [`Analytics`] and [`client`]).
//! - [`call`]: what the row-producing functions share (placement, column
//!   arguments, projection of results and pseudo-columns).
//! - [`forecast`], [`imputation`], [`correlation`], [`anomaly`]: the
//!   functions, each run in
//!   three steps: read the input rows under the engine's read lock, call the
//!   anode with no lock held (a call may take a minute), build the result.
//! - [`ddl`]: CREATE / DROP / UPDATE ANODE, SHOW ANODES.
//!
//! May import: `state`, `anodes`, `query`, `catalog`, `sql`, `types`,
//! `error`, `result`.

pub mod anomaly;
pub(crate) mod call;
pub mod correlation;
pub mod ddl;
pub mod forecast;
pub mod imputation;
pub mod options;

pub use crate::anodes::*;

use serde_json::Value as Json;

use crate::error::{DbError, Result, code};

/// One group (PARTITION BY) of an analysis function's input: timestamps and
/// the requested columns, rows with a NULL in any of them left out (taosd
/// sends the raw slot of a NULL; a NULL has no value to analyse).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The PARTITION BY values, in their order.
    pub key: Vec<crate::types::Value>,
    pub ts: Vec<i64>,
    pub cols: Vec<Vec<crate::types::Value>>,
}

/// The queried table's columns, tags and precision.
pub(crate) struct Shape {
    pub columns: Vec<crate::catalog::Column>,
    pub tags: Vec<crate::catalog::Column>,
    pub precision: crate::types::Precision,
}

impl Shape {
    pub fn of(
        engine: &crate::state::Engine,
        sel: &crate::sql::ast::Select,
        current: Option<&str>,
    ) -> Result<Shape> {
        let Some(from) = &sel.from else {
            return Err(DbError::invalid("an analysis function needs FROM"));
        };
        let st = engine.read();
        let db = crate::state::resolve_db(from.db.as_deref(), current)?;
        let entry = st.db(&db)?;
        let Some((columns, tags)) = entry.layout(&from.name) else {
            return Err(DbError::new(
                code::TABLE_NOT_EXIST,
                format!("Table does not exist: {} (database {db})", from.name),
            ));
        };
        Ok(Shape {
            columns: columns.to_vec(),
            tags: tags.to_vec(),
            precision: entry.options().precision,
        })
    }

    /// A value column (not the timestamp, not a tag) by name.
    pub fn column(&self, name: &str) -> Option<&crate::catalog::Column> {
        self.columns.iter().skip(1).find(|c| c.name == name)
    }

    pub fn is_tag(&self, name: &str) -> bool {
        name == "tbname" || self.tags.iter().any(|c| c.name == name)
    }
}

/// Whether a type is "mathable" for taosd: integers and floats, not BOOL,
/// TIMESTAMP or strings.
pub fn mathable(ty: crate::types::DataType) -> bool {
    use crate::types::DataType as T;
    ty.is_integer() || matches!(ty, T::Float | T::Double)
}

/// Reads `columns` (and the timestamp) of the query's table per PARTITION
/// BY group, under the engine's read lock, through the ordinary SELECT path
/// (so WHERE, super tables and partitions mean what they mean elsewhere).
/// Also returns the metadata of the key columns.
pub(crate) fn read_series(
    engine: &crate::state::Engine,
    sel: &crate::sql::ast::Select,
    current: Option<&str>,
    shape: &Shape,
    columns: &[String],
) -> Result<(Vec<Series>, Vec<crate::result::ColMeta>)> {
    let exprs: Vec<crate::sql::ast::Expr> = columns
        .iter()
        .map(|c| crate::sql::ast::Expr::Column(c.clone()))
        .collect();
    read_series_of(engine, sel, current, shape, &exprs)
}

/// [`read_series`] of expressions over the table's columns (FORECAST's
/// scalar arguments), evaluated row by row by the query engine.
pub(crate) fn read_series_of(
    engine: &crate::state::Engine,
    sel: &crate::sql::ast::Select,
    current: Option<&str>,
    shape: &Shape,
    columns: &[crate::sql::ast::Expr],
) -> Result<(Vec<Series>, Vec<crate::result::ColMeta>)> {
    use crate::result::Output;
    use crate::sql::ast::{Expr, Select, SelectItem};
    let item = |e: Expr| SelectItem {
        text: format!("{e:?}"),
        expr: e,
        alias: None,
    };
    let mut items = vec![item(Expr::Column(shape.columns[0].name.clone()))];
    items.extend(columns.iter().cloned().map(item));
    items.extend(sel.partition_by.iter().cloned().map(item));
    let inner = Select {
        items,
        from: sel.from.clone(),
        filter: sel.filter.clone(),
        partition_by: sel.partition_by.clone(),
        slimit: sel.slimit,
        ..Select::default()
    };
    let out = crate::query::select_unlocked(engine, &inner, current, &mut Default::default())?;
    let Output::Rows {
        columns: meta,
        rows,
        ..
    } = out
    else {
        return Err(DbError::new(code::INTERNAL, "the input query gave no rows"));
    };
    let n = columns.len();
    let key_meta = meta[1 + n..].to_vec();
    let mut groups: Vec<Series> = Vec::new();
    for row in rows {
        let key = row[1 + n..].to_vec();
        if groups.last().is_none_or(|g| g.key != key) {
            groups.push(Series {
                key,
                ts: Vec::new(),
                cols: vec![Vec::new(); n],
            });
        }
        if row[1..=n].iter().any(crate::types::Value::is_null) {
            continue;
        }
        let g = groups.last_mut().expect("pushed above");
        g.ts.push(row[0].as_i64().unwrap_or_default());
        for (c, v) in g.cols.iter_mut().zip(&row[1..=n]) {
            c.push(v.clone());
        }
    }
    if groups.is_empty() && sel.partition_by.is_empty() {
        groups.push(Series {
            key: Vec::new(),
            ts: Vec::new(),
            cols: vec![Vec::new(); n],
        });
    }
    Ok((groups, key_meta))
}

/// A column's values as JSON numbers: integers as integers, floats as
/// floats (what taosd's `%d` / `%f` write).
pub(crate) fn json_values(vals: &[crate::types::Value]) -> Vec<Json> {
    vals.iter()
        .map(|v| match v {
            crate::types::Value::Int(i) => Json::from(*i),
            crate::types::Value::Double(d) => Json::from(*d),
            crate::types::Value::Bool(b) => Json::from(i64::from(*b)),
            _ => Json::Null,
        })
        .collect()
}

/// The row-count limits of one group, with taosd's codes.
pub(crate) fn check_rows(what: &str, n: usize, min: usize, max: usize) -> Result<()> {
    if n < min {
        return Err(DbError::new(
            code::ANA_ANODE_NOT_ENOUGH_ROWS,
            format!(
                "Analysis failed since not enough rows: {what} needs at least {min} rows, got {n}"
            ),
        ));
    }
    if n > max {
        return Err(DbError::new(
            code::ANA_ANODE_TOO_MANY_ROWS,
            format!(
                "Analysis failed since too many input rows for anode: {what} takes at most {max} rows, got {n}"
            ),
        ));
    }
    Ok(())
}

/// A SELECT that needs an anode (FORECAST, ANOMALY_WINDOW, IMPUTATION,
/// DTW, DTW_PATH, TLCC) or reads the
/// anode tables of `information_schema`; `None` for any other SELECT.
pub fn select(
    engine: &crate::state::Engine,
    sel: &crate::sql::ast::Select,
    current: Option<&str>,
) -> Option<Result<crate::result::Output>> {
    if let Some(from) = &sel.from {
        if from.db.as_deref() == Some("information_schema") {
            let full = match from.name.as_str() {
                "ins_anodes" => false,
                "ins_anodes_full" => true,
                _ => return None,
            };
            if sel.items.len() != 1 || sel.items[0].expr != crate::sql::ast::Expr::Star {
                return Some(Err(DbError::unsupported(format!(
                    "only SELECT * is supported on information_schema.{}",
                    from.name
                ))));
            }
            return Some(ddl::show(engine, full));
        }
    }
    if sel.anomaly.is_some() {
        return Some(anomaly::run(engine, sel, current));
    }
    match call::called(sel) {
        Err(e) => Some(Err(e)),
        Ok(None) => None,
        Ok(Some("forecast")) => Some(forecast::run(engine, sel, current)),
        Ok(Some("imputation")) => Some(imputation::run(engine, sel, current)),
        Ok(Some(f)) => Some(correlation::run(engine, sel, current, f)),
    }
}
