//! Functions that return several rows per group: `DIFF(col[, ignore_negative])`,
//! `TOP(col, k)` and `BOTTOM(col, k)` (spec A7).
//!
//! Each picks rows of the group (sorted by time); the other select items
//! are evaluated on the picked rows, and the timestamp comes first (2.x
//! returns it implicitly). They cannot be combined with INTERVAL or with
//! aggregates, and a super table needs GROUP BY / PARTITION BY tbname for
//! DIFF (a difference across tables means nothing).
//!
//! May import: `error`, `sql`, `types`, its parent's `eval`.

use super::{Ctx, Row, eval};
use crate::error::{Result, code};
use crate::fail;
use crate::sql::ast::Expr;
use crate::types::Value;

/// Largest `k` of TOP/BOTTOM.
pub const MAX_TOP_K: i64 = 100;

pub fn is_multirow(name: &str) -> bool {
    matches!(name, "diff" | "top" | "bottom")
}

/// The picked rows and the function's value for each.
pub fn pick<'a>(
    name: &str,
    args: &[Expr],
    rows: &[Row<'a>],
    cx: &Ctx<'_, 'a>,
) -> Result<Vec<(Row<'a>, Value)>> {
    let Some(arg) = args.first() else {
        fail!(
            code::INVALID_VALUE,
            "function {name} needs a column argument"
        );
    };
    let mut vals = Vec::with_capacity(rows.len());
    for r in rows {
        let one = [*r];
        let sub = cx.over(&one, None);
        let v = eval(arg, &sub)?;
        if matches!(v, Value::Str(_)) {
            fail!(
                code::INVALID_VALUE,
                "function {name} applies to numeric columns"
            );
        }
        vals.push(v);
    }
    match name {
        "diff" => {
            let ignore_negative = match args.get(1) {
                None => false,
                Some(Expr::Int(0)) => false,
                Some(Expr::Int(1)) => true,
                Some(_) => fail!(
                    code::INVALID_VALUE,
                    "the second parameter of diff must be 0 or 1"
                ),
            };
            let mut out = Vec::new();
            let mut prev: Option<&Value> = None;
            for (r, v) in rows.iter().zip(&vals) {
                if v.is_null() {
                    continue;
                }
                if let Some(p) = prev {
                    let d = match (p, v) {
                        (Value::Int(a), Value::Int(b)) => Value::Int(b.wrapping_sub(*a)),
                        (a, b) => {
                            Value::Double(b.as_f64().unwrap_or(0.0) - a.as_f64().unwrap_or(0.0))
                        }
                    };
                    let negative = d.as_f64().is_some_and(|x| x < 0.0);
                    if !(ignore_negative && negative) {
                        out.push((*r, d));
                    }
                }
                prev = Some(v);
            }
            Ok(out)
        }
        _ => {
            let k = match args.get(1) {
                Some(Expr::Int(k)) if (1..=MAX_TOP_K).contains(k) => *k as usize,
                _ => fail!(
                    code::INVALID_VALUE,
                    "{name}: k must be an integer in [1, {MAX_TOP_K}]"
                ),
            };
            let mut idx: Vec<usize> = (0..rows.len()).filter(|&i| !vals[i].is_null()).collect();
            // ties: the earlier row wins (the 2.0 docs' rule)
            idx.sort_by(|&a, &b| {
                let o = vals[a]
                    .cmp_sql(&vals[b])
                    .unwrap_or(std::cmp::Ordering::Equal);
                let o = if name == "top" { o.reverse() } else { o };
                o.then(a.cmp(&b))
            });
            idx.truncate(k);
            idx.sort_unstable();
            Ok(idx
                .into_iter()
                .map(|i| (rows[i], vals[i].clone()))
                .collect())
        }
    }
}
