//! `... FROM tb [WHERE ...] [PARTITION BY ...] ANOMALY_WINDOW(col [, 'options'])`
//! (analytics-sql §6): the anode's anomalous runs become the query's windows.
//!
//! Three steps: the column is read per group under the read lock; each
//! group is sent to `/anomaly-detect` with no lock held; the query then runs
//! as a window query over the returned windows (a second read, so rows
//! inserted in between count in the aggregates of a window they fall in).
//!
//! Windows are closed `[skey, ekey]`. taosd widens a one-point window
//! (`skey >= ekey`) to `ekey = skey + 1` and then tests rows once as
//! half-open and once as closed (§6.3, a quirk); here such a window holds
//! only its own point and reports `_wend = skey + 1`, as the docs show.
//!
//! `_anomalymark` shows each window's code from the anode's `mask` (one per
//! window, usually -1), or -1 when the anode sends none. Several columns
//! may be named (3.4.1's syntax, `ANOMALY_WINDOW(c1, c2, 'algo=ecod')`):
//! each is checked and all are sent; the multivariate detectors use every
//! one, the univariate ones the first.
//!
//! May import: `error`, `query`, `result`, `sql`, `state`, its parent's
//! `candidates`, `check_rows`, `json_values`, `mathable`, `options`,
//! `read_series`.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use super::options::AnalysisOptions;
use super::{Shape, check_rows, json_values, mathable, read_series};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::query::{GroupKey, Span, Spans};
use crate::result::Output;
use crate::sql::ast::{Expr, Select};
use crate::state::Engine;

/// `ANALY_ANOMALY_WINDOW_MAX_ROWS`.
pub const MAX_INPUT_ROWS: usize = 8192;
/// The anode needs this many points.
pub const MIN_INPUT_ROWS: usize = 10;
const DEFAULT_OPTION: &str = "algo=iqr";

pub fn run(engine: &Engine, sel: &Select, current: Option<&str>) -> Result<Output> {
    let Some(aw) = &sel.anomaly else {
        return Err(DbError::new(code::INTERNAL, "no ANOMALY_WINDOW clause"));
    };
    if sel.interval.is_some() || sel.sliding.is_some() || sel.fill.is_some() {
        fail!(
            code::INVALID_VALUE,
            "ANOMALY_WINDOW cannot be combined with INTERVAL, SLIDING or FILL"
        );
    }
    if !sel.group_by.is_empty() {
        fail!(
            code::INVALID_VALUE,
            "ANOMALY_WINDOW groups with PARTITION BY, not GROUP BY"
        );
    }
    let shape = Shape::of(engine, sel, current)?;
    let mut columns = Vec::new();
    for c in &aw.columns {
        let Expr::Column(n) = c else {
            fail!(
                code::PAR_INVALID_ANOMALY_WIN_TYPE,
                "ANOMALY_WINDOW takes columns, not expressions"
            );
        };
        let Some(col) = shape.column(n) else {
            if shape.is_tag(n) {
                fail!(
                    code::PAR_INVALID_ANOMALY_WIN_COL,
                    "ANOMALY_WINDOW cannot use the tag {n}"
                );
            }
            if shape.columns[0].name == *n {
                fail!(
                    code::PAR_INVALID_ANOMALY_WIN_TYPE,
                    "ANOMALY_WINDOW needs a numeric column: {n} is the timestamp"
                );
            }
            fail!(code::INVALID_COLUMN, "Invalid column name: {n}");
        };
        if !mathable(col.ty) {
            fail!(
                code::PAR_INVALID_ANOMALY_WIN_TYPE,
                "ANOMALY_WINDOW needs a numeric column: {n} is {}",
                col.ty.name()
            );
        }
        columns.push(col.clone());
    }
    let opts = AnalysisOptions::parse(aw.options.as_deref(), DEFAULT_OPTION).map_err(|e| {
        DbError::new(
            code::PAR_INVALID_ANOMALY_WIN_OPT,
            format!("invalid ANOMALY_WINDOW option: {}", e.msg),
        )
    })?;
    let algo = opts.algo()?;
    let wncheck = opts.wncheck()?;
    let timeout = opts.timeout()?;
    let candidates = super::candidates(
        engine.read().catalog.anodes.values(),
        "anomaly-detection",
        &algo,
    )?;
    // Every named column goes to the anode as val, val1, val2, ...: the
    // multivariate detectors (ecod, copod, hbos, iforest, pca) use them all,
    // the others `val` alone (TDgpt 3.4's rule).
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let (groups, _) = read_series(engine, sel, current, &shape, &names)?;
    let mut spans: Spans = BTreeMap::new();
    for g in &groups {
        check_rows("ANOMALY_WINDOW", g.ts.len(), MIN_INPUT_ROWS, MAX_INPUT_ROWS)?;
        let mut schema = vec![json!(["ts", "TIMESTAMP", 8])];
        let mut data = vec![json!(g.ts)];
        for (i, c) in columns.iter().enumerate() {
            let name = if i == 0 {
                "val".to_owned()
            } else {
                format!("val{i}")
            };
            schema.push(json!([name, c.ty.name(), c.ty.len()]));
            data.push(Json::from(json_values(&g.cols[i])));
        }
        let body = json!({
            "schema": schema,
            "data": data,
            "option": opts.raw,
            "algo": algo,
            "prec": shape.precision.as_str(),
            "wncheck": wncheck,
            "rows": g.ts.len(),
            "protocol": 1.0,
        });
        let answer = engine
            .analytics
            .call(&candidates, "anomaly-detect", &body, timeout)?;
        let key = g.key.iter().cloned().map(GroupKey).collect();
        spans.insert(key, windows(&answer)?);
    }
    let mut scope = crate::query::Scope {
        spans: Some(&spans),
        ..Default::default()
    };
    crate::query::select_unlocked(engine, sel, current, &mut scope)
}

/// `res: [[skey, ekey], ...]` → spans.
fn windows(answer: &Json) -> Result<Vec<Span>> {
    let bad = |why: &str| {
        DbError::new(
            code::ANA_ANODE_RETURN_ERROR,
            format!("Analysis failed since anode return error: {why}"),
        )
    };
    let rows = answer.get("rows").and_then(Json::as_i64).unwrap_or(0);
    if rows == 0 {
        return Ok(Vec::new());
    }
    let res = answer
        .get("res")
        .and_then(Json::as_array)
        .ok_or_else(|| bad("the anomaly answer has no res"))?;
    // one code per window (v3.3.7+); -1 when the anode sends none
    let marks: Option<Vec<i64>> = match answer.get("mask") {
        None | Some(Json::Null) => None,
        Some(m) => Some(
            m.as_array()
                .filter(|m| m.len() == res.len())
                .and_then(|m| m.iter().map(Json::as_i64).collect())
                .ok_or_else(|| bad("mask is not one integer per window of res"))?,
        ),
    };
    let mut out = Vec::with_capacity(res.len());
    for (i, w) in res.iter().enumerate() {
        let mark = marks.as_ref().map_or(-1, |m| m[i]);
        let pair = w
            .as_array()
            .filter(|p| p.len() == 2)
            .and_then(|p| Some((p[0].as_i64()?, p[1].as_i64()?)))
            .ok_or_else(|| bad("a window of res is not [skey, ekey]"))?;
        let (start, end) = pair;
        out.push(if start >= end {
            Span {
                start,
                end: start + 1,
                one_point: true,
                mark,
            }
        } else {
            Span {
                start,
                end,
                one_point: false,
                mark,
            }
        });
    }
    Ok(out)
}
