//! INTERVAL windows of one group, and FILL of the empty ones.
//!
//! May import: `error`, `limits`, `sql`, `types`, its parent's `eval`,
//! `has_aggregate`, `time`.

use super::{Ctx, OutCol, Row, Schema, Source, eval, has_aggregate, time};
use crate::error::{Result, code};
use crate::fail;
use crate::sql::ast::{Expr, Fill};
use crate::types::Value;

/// INTERVAL windows of one group, with FILL.
#[allow(clippy::too_many_arguments)]
pub(crate) fn windowed(
    columns: &[OutCol],
    rows: &[Row<'_>],
    w: &time::Windows,
    fill: Option<&Fill>,
    range: (i64, i64),
    schema: &Schema<'_>,
    sources: &[Source<'_>],
    now: i64,
) -> Result<Vec<Vec<Value>>> {
    let fill = fill.unwrap_or(&Fill::None);
    let filling = !matches!(fill, Fill::None);
    // window starts to produce
    // No rows, no windows: FILL does not invent a whole range of empty
    // windows (3.x has NULL_F/VALUE_F for that).
    let (first, last) = match (rows.first(), rows.last()) {
        (Some(a), Some(b)) => (a.ts, b.ts),
        _ => return Ok(Vec::new()),
    };
    let (from, to) = if filling && range.0 != i64::MIN && range.1 != i64::MAX {
        (range.0.min(first), range.1.max(last))
    } else {
        (first, last)
    };
    if filling {
        // refused before any window is made, as TDengine does
        let windows = w.count_between(from, to);
        if let Some(max) = crate::limits::max_result_rows().filter(|m| windows > *m as u64) {
            fail!(
                code::TOO_MANY_WINDOWS,
                "Too many groups/time window in query: FILL would make {windows} windows, more than {max} ([limits] max-result-rows); narrow the time range or widen the interval"
            );
        }
    }
    let mut out: Vec<Option<Vec<Value>>> = Vec::new();
    let mut starts = Vec::new();
    let mut s = w.first_start(from);
    let mut lo_idx = 0usize;
    while s <= to {
        let e = w.end(s);
        while lo_idx < rows.len() && rows[lo_idx].ts < s {
            lo_idx += 1;
        }
        let mut hi_idx = lo_idx;
        while hi_idx < rows.len() && rows[hi_idx].ts < e {
            hi_idx += 1;
        }
        let win = &rows[lo_idx..hi_idx];
        if win.is_empty() {
            crate::limits::tick()?;
            if filling {
                crate::limits::charge_row(columns.len())?;
                out.push(None);
                starts.push(s);
            }
        } else {
            let cx = Ctx {
                schema,
                sources,
                now,
                rows: win,
                window: Some((s, e)),
            };
            crate::limits::charge_row(columns.len())?;
            let mut row = Vec::with_capacity(columns.len());
            for c in columns {
                row.push(eval(&c.expr, &cx)?);
            }
            out.push(Some(row));
            starts.push(s);
        }
        if out.len() > time::MAX_FILL_ROWS {
            fail!(
                code::INVALID_VALUE,
                "the query would produce more than {} rows; narrow the time range",
                time::MAX_FILL_ROWS
            );
        }
        s = w.next(s);
    }
    if !filling {
        return Ok(out.into_iter().flatten().collect());
    }
    // which output columns are computed (aggregates) and which are carried
    let computed: Vec<bool> = columns.iter().map(|c| has_aggregate(&c.expr)).collect();
    let template = out.iter().flatten().next().cloned();
    let mut result: Vec<Vec<Value>> = Vec::with_capacity(out.len());
    let fill_values: Vec<Value> = match fill {
        Fill::Value(v) => v
            .iter()
            .map(|e| crate::query::literal::literal(e, schema.precision, now))
            .collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    // nearest non-empty window before and after each window: O(n), so a
    // long filled range stays linear
    let mut prev_full = vec![None; out.len()];
    let mut next_full = vec![None; out.len()];
    let mut last = None;
    for k in 0..out.len() {
        prev_full[k] = last;
        if out[k].is_some() {
            last = Some(k);
        }
    }
    last = None;
    for k in (0..out.len()).rev() {
        next_full[k] = last;
        if out[k].is_some() {
            last = Some(k);
        }
    }
    for (k, slot) in out.iter().enumerate() {
        if let Some(r) = slot {
            result.push(r.clone());
            continue;
        }
        let s = starts[k];
        let mut row = Vec::with_capacity(columns.len());
        let mut agg_i = 0usize;
        for (ci, c) in columns.iter().enumerate() {
            if !computed[ci] {
                let v = match &c.expr {
                    Expr::Column(n) if n == "_wstart" => Value::Int(s),
                    Expr::Column(n) if n == "_wend" => Value::Int(w.end(s)),
                    _ => template.as_ref().map_or(Value::Null, |t| t[ci].clone()),
                };
                row.push(v);
                continue;
            }
            let v = match fill {
                Fill::Null | Fill::None => Value::Null,
                Fill::Value(_) => {
                    let v = fill_values.get(agg_i).cloned().unwrap_or(Value::Null);
                    c.ty.coerce(v, &c.name).unwrap_or(Value::Null)
                }
                Fill::Prev => result.last().map_or(Value::Null, |r| r[ci].clone()),
                Fill::Next => next_full[k]
                    .and_then(|j| out[j].as_ref())
                    .map_or(Value::Null, |r| r[ci].clone()),
                Fill::Linear => {
                    let prev = prev_full[k]
                        .map(|j| (starts[j], out[j].as_ref().expect("full")[ci].clone()));
                    let next = next_full[k]
                        .map(|j| (starts[j], out[j].as_ref().expect("full")[ci].clone()));
                    match (prev, next) {
                        (Some((t0, v0)), Some((t1, v1))) => match (v0.as_f64(), v1.as_f64()) {
                            (Some(a), Some(b)) if t1 > t0 => {
                                let x = a + (b - a) * (s - t0) as f64 / (t1 - t0) as f64;
                                c.ty.coerce(Value::Double(x), &c.name)
                                    .unwrap_or(Value::Double(x))
                            }
                            _ => Value::Null,
                        },
                        _ => Value::Null,
                    }
                }
            };
            agg_i += 1;
            row.push(v);
        }
        result.push(row);
    }
    Ok(result)
}
