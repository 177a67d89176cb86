//! Literal values of expressions: numbers, strings, booleans, `now ± d`
//! and time strings, in a database's precision.
//!
//! May import: `sql::ast`, `types`, `error`, `query::time`.

use crate::error::{DbError, Result};
use crate::sql::ast::{self, Expr};
use crate::types::{Precision, Value, parse_timestamp};

/// A literal of a DDL or INSERT statement as a value (`now`, `now - 1h`,
/// numbers, strings, NULL).
pub fn literal(e: &Expr, p: Precision, now: i64) -> Result<Value> {
    Ok(match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Int(i) => Value::Int(*i),
        Expr::Float(f) => Value::Double(*f),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Now => Value::Int(now),
        Expr::Neg(inner) => match literal(inner, p, now)? {
            Value::Int(i) => Value::Int(i.checked_neg().ok_or_else(out_of_range)?),
            Value::Double(d) => Value::Double(-d),
            v => return Err(DbError::invalid(format!("cannot negate {v:?}"))),
        },
        Expr::Binary { op, left, right } if matches!(op, ast::BinOp::Add | ast::BinOp::Sub) => {
            let base = match literal(left, p, now)? {
                Value::Str(s) => Value::Int(parse_timestamp(&s, p)?),
                v => v,
            };
            let Expr::Duration(d) = **right else {
                return Err(DbError::invalid(
                    "only a duration (such as 1h) can be added to a timestamp in a value",
                ));
            };
            let ticks = crate::query::time::duration_ticks(d, p)?;
            match base {
                Value::Int(t) if *op == ast::BinOp::Add => {
                    Value::Int(t.checked_add(ticks).ok_or_else(out_of_range)?)
                }
                Value::Int(t) => Value::Int(t.checked_sub(ticks).ok_or_else(out_of_range)?),
                _ => return Err(DbError::invalid("invalid timestamp arithmetic")),
            }
        }
        other => {
            return Err(DbError::invalid(format!(
                "a constant value is expected, not {other:?}"
            )));
        }
    })
}

/// Timestamp arithmetic past the range of a 64-bit tick count.
fn out_of_range() -> DbError {
    DbError::invalid("timestamp arithmetic out of range: the result does not fit a timestamp")
}
