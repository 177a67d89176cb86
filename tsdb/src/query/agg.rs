//! Aggregate and selector functions over the rows of a group or window.
//!
//! May import: `error`, `sql`, `types`, its parent's `eval`.

use super::{Ctx, Ref, Schema, eval};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::sql::ast::Expr;
use crate::types::{DataType, Value};

pub fn is_aggregate(name: &str) -> bool {
    matches!(
        name,
        "count"
            | "avg"
            | "sum"
            | "min"
            | "max"
            | "first"
            | "last"
            | "last_row"
            | "spread"
            | "stddev"
            | "percentile"
            | "apercentile"
            | "twa"
            | "elapsed"
            | "corr"
    )
}

fn column_arg<'e>(name: &str, args: &'e [Expr]) -> Result<&'e Expr> {
    match args.first() {
        Some(e) => Ok(e),
        None => fail!(
            code::INVALID_VALUE,
            "function {name} needs a column argument"
        ),
    }
}

pub fn result_type(name: &str, args: &[Expr], schema: &Schema<'_>) -> Result<DataType> {
    let arg_ty = || -> Result<DataType> {
        let e = column_arg(name, args)?;
        match e {
            Expr::Column(n) => schema.lookup(n).map(|r| schema.type_of(r)).ok_or_else(|| {
                DbError::new(code::INVALID_COLUMN, format!("Invalid column name: {n}"))
            }),
            Expr::Star => Ok(DataType::BigInt),
            _ => Ok(DataType::Double),
        }
    };
    Ok(match name {
        "count" => DataType::BigInt,
        "sum" => {
            let t = arg_ty()?;
            if t.is_integer() || t == DataType::Bool {
                DataType::BigInt
            } else {
                DataType::Double
            }
        }
        "min" | "max" | "first" | "last" | "last_row" => arg_ty()?,
        "elapsed" => DataType::Double,
        _ => DataType::Double,
    })
}

/// The values of the argument over the rows, with their timestamps.
fn values(name: &str, args: &[Expr], cx: &Ctx<'_, '_>) -> Result<Vec<(i64, Value)>> {
    let e = column_arg(name, args)?;
    if matches!(e, Expr::Star) {
        fail!(code::INVALID_VALUE, "{name}(*) is not supported");
    }
    // fast path: a plain column
    if let Expr::Column(n) = e {
        if let Some(r) = cx.schema.lookup(n) {
            return Ok(cx
                .rows
                .iter()
                .map(|row| (row.ts, cx.field(r, row)))
                .collect());
        }
    }
    let mut out = Vec::with_capacity(cx.rows.len());
    for row in cx.rows {
        let one = [*row];
        let sub = cx.over(&one, cx.window);
        out.push((row.ts, eval(e, &sub)?));
    }
    Ok(out)
}

fn numeric(name: &str, vals: &[(i64, Value)]) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(vals.len());
    for (_, v) in vals {
        match v {
            Value::Null => {}
            Value::Str(_) => fail!(
                code::INVALID_VALUE,
                "function {name} applies to numeric columns"
            ),
            v => out.push(v.as_f64().expect("numeric")),
        }
    }
    Ok(out)
}

fn param(name: &str, args: &[Expr], i: usize) -> Result<f64> {
    match args.get(i) {
        Some(Expr::Int(v)) => Ok(*v as f64),
        Some(Expr::Float(v)) => Ok(*v),
        _ => fail!(
            code::INVALID_VALUE,
            "function {name} needs a numeric parameter {}",
            i + 1
        ),
    }
}

/// Linear interpolation between order statistics (numpy's default).
pub fn percentile_sorted(xs: &[f64], p: f64) -> f64 {
    let pos = p / 100.0 * (xs.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    xs[lo] + (xs[hi] - xs[lo]) * (pos - lo as f64)
}

pub fn compute(name: &str, args: &[Expr], cx: &Ctx<'_, '_>) -> Result<Value> {
    if name == "count" {
        return Ok(match args.first() {
            None | Some(Expr::Star) => Value::Int(cx.rows.len() as i64),
            Some(Expr::Column(n)) if cx.schema.lookup(n) == Some(Ref::Ts) => {
                Value::Int(cx.rows.len() as i64)
            }
            Some(_) => {
                let v = values(name, args, cx)?;
                Value::Int(v.iter().filter(|(_, x)| !x.is_null()).count() as i64)
            }
        });
    }
    if name == "corr" {
        return corr(args, cx);
    }
    if name == "last_row" {
        // the row with the largest timestamp, NULLs included
        let e = column_arg(name, args)?;
        let Some(last) = cx.rows.iter().max_by_key(|r| (r.ts, r.src)) else {
            return Ok(Value::Null);
        };
        let one = [*last];
        let sub = cx.over(&one, cx.window);
        return eval(e, &sub);
    }
    // a plain column is read in place; anything else is evaluated first
    if let [Expr::Column(n)] = args {
        if let Some(r) = cx.schema.lookup(n) {
            if let Some(v) = fold(name, cx.rows.iter().map(|row| cx.field(r, row)))? {
                return Ok(v);
            }
        }
    }
    let vals = values(name, args, cx)?;
    if let Some(v) = fold(name, vals.iter().map(|(_, v)| v.clone()))? {
        return Ok(v);
    }
    Ok(match name {
        "stddev" => {
            let xs = numeric(name, &vals)?;
            if xs.is_empty() {
                Value::Null
            } else {
                let n = xs.len() as f64;
                let mean = xs.iter().sum::<f64>() / n;
                Value::Double((xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt())
            }
        }
        "percentile" | "apercentile" => {
            let p = param(name, args, 1)?;
            if !(0.0..=100.0).contains(&p) {
                fail!(
                    code::INVALID_VALUE,
                    "{name}: the percentile must be in [0, 100], got {p}"
                );
            }
            let mut xs = numeric(name, &vals)?;
            if xs.is_empty() {
                Value::Null
            } else {
                xs.sort_by(f64::total_cmp);
                Value::Double(percentile_sorted(&xs, p))
            }
        }
        "twa" => {
            let pts: Vec<(i64, f64)> = vals
                .iter()
                .filter_map(|(t, v)| Some((*t, v.as_f64()?)))
                .collect();
            match pts.len() {
                0 => Value::Null,
                1 => Value::Double(pts[0].1),
                _ => {
                    let span = (pts[pts.len() - 1].0 - pts[0].0) as f64;
                    if span == 0.0 {
                        Value::Double(pts[0].1)
                    } else {
                        let area: f64 = pts
                            .windows(2)
                            .map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0) as f64)
                            .sum();
                        Value::Double(area / span)
                    }
                }
            }
        }
        "elapsed" => match (cx.rows.first(), cx.rows.last()) {
            (Some(a), Some(b)) => Value::Double((b.ts - a.ts) as f64),
            _ => Value::Null,
        },
        _ => fail!(code::INVALID_VALUE, "Invalid function name: {name}"),
    })
}

/// FIRST, LAST, MIN, MAX, SUM, AVG and SPREAD in one pass over the values,
/// NULLs skipped, without collecting them (a full-table MAX reads 10 M
/// rows). `None` for the functions that need all values at once.
fn fold(name: &str, vals: impl DoubleEndedIterator<Item = Value>) -> Result<Option<Value>> {
    let mut it = vals.filter(|v| !v.is_null());
    Ok(Some(match name {
        "first" => it.next().unwrap_or(Value::Null),
        "last" => it.next_back().unwrap_or(Value::Null),
        "min" | "max" => {
            let want = if name == "min" {
                std::cmp::Ordering::Less
            } else {
                std::cmp::Ordering::Greater
            };
            // ties and incomparable values keep the earlier one
            let mut best: Option<Value> = None;
            for v in it {
                match &best {
                    Some(b) if v.cmp_sql(b) != Some(want) => {}
                    _ => best = Some(v),
                }
            }
            best.unwrap_or(Value::Null)
        }
        "sum" | "avg" | "spread" => {
            // SUM stays an integer while every value is one
            let (mut n, mut ints, mut int_acc) = (0usize, true, 0i64);
            let (mut acc, mut lo, mut hi) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
            for v in it {
                match v {
                    Value::Str(_) => fail!(
                        code::INVALID_VALUE,
                        "function {name} applies to numeric columns"
                    ),
                    Value::Int(_) | Value::Bool(_) => {
                        int_acc = int_acc.wrapping_add(v.as_i64().unwrap_or(0));
                    }
                    _ => ints = false,
                }
                let x = v.as_f64().unwrap_or(0.0);
                n += 1;
                acc += x;
                lo = lo.min(x);
                hi = hi.max(x);
            }
            match (name, n) {
                (_, 0) => Value::Null,
                ("sum", _) if ints => Value::Int(int_acc),
                ("sum", _) => Value::Double(acc),
                ("avg", _) => Value::Double(acc / n as f64),
                _ => Value::Double(hi - lo),
            }
        }
        _ => return Ok(None),
    }))
}

/// `CORR(a, b)` (analytics-sql §7.3): Pearson's correlation over the rows
/// where both are non-NULL, computed here with no anode. NULL when no row
/// has both; 0 when either side is constant (taosd's rule).
fn corr(args: &[Expr], cx: &Ctx<'_, '_>) -> Result<Value> {
    if args.len() != 2 {
        fail!(
            code::INVALID_VALUE,
            "CORR takes two numeric arguments, got {}",
            args.len()
        );
    }
    for a in args {
        if let Expr::Column(n) = a {
            if let Some(r) = cx.schema.lookup(n) {
                let ty = cx.schema.type_of(r);
                if ty.is_string() || ty == DataType::Bool {
                    fail!(
                        code::INVALID_VALUE,
                        "CORR applies to numeric columns: {n} is {}",
                        ty.name()
                    );
                }
            }
        }
    }
    let xs = values("corr", &args[..1], cx)?;
    let ys = values("corr", &args[1..], cx)?;
    let (mut n, mut sx, mut sy) = (0f64, 0f64, 0f64);
    let mut pairs = Vec::with_capacity(xs.len());
    for ((_, x), (_, y)) in xs.iter().zip(&ys) {
        let (Some(x), Some(y)) = (x.as_f64(), y.as_f64()) else {
            if matches!(x, Value::Str(_)) || matches!(y, Value::Str(_)) {
                fail!(code::INVALID_VALUE, "CORR applies to numeric values");
            }
            continue;
        };
        n += 1.0;
        sx += x;
        sy += y;
        pairs.push((x, y));
    }
    if pairs.is_empty() {
        return Ok(Value::Null);
    }
    // two passes around the means: no cancellation on large offsets
    let (mx, my) = (sx / n, sy / n);
    let (mut cov, mut vx, mut vy) = (0f64, 0f64, 0f64);
    for (x, y) in pairs {
        cov += (x - mx) * (y - my);
        vx += (x - mx) * (x - mx);
        vy += (y - my) * (y - my);
    }
    if vx == 0.0 || vy == 0.0 {
        return Ok(Value::Double(0.0));
    }
    Ok(Value::Double(cov / (vx * vy).sqrt()))
}
