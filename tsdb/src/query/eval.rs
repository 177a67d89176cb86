//! Expressions over rows: the row model ([`Row`], [`Source`], [`Schema`]),
//! the evaluation context ([`Ctx`]), operators, scalar functions and the
//! output type of an expression.
//!
//! May import: `catalog`, `error`, `limits`, `sql`, `storage`, `types`, its
//! parent's `agg`, `multirow`, `time`.

use super::{agg, multirow, time};
use crate::catalog::Column;
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::sql::ast::{BinOp, Expr, InSet};
use crate::storage::store::TableBlocks;
use crate::storage::table::TableData;
use crate::types::{DataType, Precision, Value, parse_timestamp};

pub const SERVER_VERSION: &str = concat!("3.3.7.0-tsdb-", env!("CARGO_PKG_VERSION"));

/// One table taking part in a query.
pub struct Source<'a> {
    pub name: &'a str,
    pub tags: &'a [Value],
    /// The memtable.
    pub data: Option<&'a TableData>,
    /// The sealed blocks.
    pub blocks: Option<&'a TableBlocks>,
    /// The cached last row.
    pub last: Option<&'a (i64, Vec<Value>)>,
}

impl Source<'_> {
    /// The newest timestamp the table holds (cache, memtable or blocks).
    pub fn newest(&self) -> Option<i64> {
        let cached = self.last.map(|(t, _)| *t);
        let mem = self.data.and_then(|d| d.last_row()).map(|(t, _)| t);
        let sealed = self
            .blocks
            .filter(|b| !b.blocks.is_empty())
            .map(|b| b.ts_max);
        cached.max(mem).max(sealed)
    }
}

/// Where a name points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ref {
    Ts,
    Col(usize),
    Tag(usize),
    Tbname,
}

/// The shape of the queried table.
pub struct Schema<'a> {
    pub columns: &'a [Column],
    pub tags: &'a [Column],
    pub stable: bool,
    pub precision: Precision,
}

impl Schema<'_> {
    pub fn lookup(&self, name: &str) -> Option<Ref> {
        if name == "tbname" {
            return Some(Ref::Tbname);
        }
        if name == "_c0" || name == "_rowts" || self.columns.first().is_some_and(|c| c.name == name)
        {
            return Some(Ref::Ts);
        }
        if let Some(i) = self.columns.iter().skip(1).position(|c| c.name == name) {
            return Some(Ref::Col(i));
        }
        self.tags.iter().position(|c| c.name == name).map(Ref::Tag)
    }

    pub fn type_of(&self, r: Ref) -> DataType {
        match r {
            Ref::Ts => DataType::Timestamp,
            Ref::Col(i) => self.columns[i + 1].ty,
            Ref::Tag(i) => self.tags[i].ty,
            Ref::Tbname => DataType::Binary(192),
        }
    }
}

/// A row during a query.
#[derive(Clone, Copy)]
pub struct Row<'a> {
    pub ts: i64,
    pub vals: &'a [Value],
    pub src: usize,
}

/// What expressions are evaluated against.
pub struct Ctx<'q, 'a> {
    pub schema: &'q Schema<'a>,
    pub sources: &'q [Source<'a>],
    pub now: i64,
    /// The rows of the current group or window (sorted by ts), or one row.
    pub rows: &'q [Row<'a>],
    /// The current window `[start, end)`, when windowed.
    pub window: Option<(i64, i64)>,
}

impl<'q, 'a> Ctx<'q, 'a> {
    /// The same context over other rows (one row, a group, a window).
    pub fn over(&self, rows: &'q [Row<'a>], window: Option<(i64, i64)>) -> Ctx<'q, 'a> {
        Ctx {
            schema: self.schema,
            sources: self.sources,
            now: self.now,
            rows,
            window,
        }
    }

    /// Evaluates `e` for table `src` alone: its tags and name, no row.
    pub fn eval_for_table(&self, e: &Expr, src: usize) -> Result<Value> {
        let probe = [Row {
            ts: 0,
            vals: &[],
            src,
        }];
        let cx = Ctx {
            schema: self.schema,
            sources: self.sources,
            now: self.now,
            rows: &probe,
            window: None,
        };
        eval(e, &cx)
    }

    pub(crate) fn field(&self, r: Ref, row: &Row<'_>) -> Value {
        match r {
            Ref::Ts => Value::Int(row.ts),
            Ref::Col(i) => row.vals.get(i).cloned().unwrap_or(Value::Null),
            Ref::Tag(i) => self.sources[row.src]
                .tags
                .get(i)
                .cloned()
                .unwrap_or(Value::Null),
            Ref::Tbname => Value::Str(self.sources[row.src].name.to_owned()),
        }
    }
}

/// Evaluates `e` on the context's rows: aggregates over all of them, plain
/// columns from the first.
pub fn eval(e: &Expr, cx: &Ctx<'_, '_>) -> Result<Value> {
    Ok(match e {
        Expr::Null => Value::Null,
        Expr::Bool(b) => Value::Bool(*b),
        Expr::Int(i) => Value::Int(*i),
        Expr::Float(f) => Value::Double(*f),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Now => Value::Int(cx.now),
        Expr::Duration(d) => Value::Int(time::duration_ticks(*d, cx.schema.precision)?),
        Expr::Star => fail!(code::SYNTAX_ERROR, "'*' is not allowed here"),
        Expr::Column(name) => match name.as_str() {
            "_wstart" => cx.window.map_or(Value::Null, |w| Value::Int(w.0)),
            "_wend" => cx.window.map_or(Value::Null, |w| Value::Int(w.1)),
            "_wduration" => cx.window.map_or(Value::Null, |w| Value::Int(w.1 - w.0)),
            super::ANOMALY_MARK => fail!(
                code::PAR_NOT_ALLOWED_FUNC,
                "{name} is only allowed as a select item of an ANOMALY_WINDOW query"
            ),
            _ => {
                let Some(r) = cx.schema.lookup(name) else {
                    fail!(code::INVALID_COLUMN, "Invalid column name: {name}");
                };
                match cx.rows.first() {
                    Some(row) => cx.field(r, row),
                    None => Value::Null,
                }
            }
        },
        Expr::Func { name, args } => {
            if agg::is_aggregate(name) {
                return agg::compute(name, args, cx);
            }
            if multirow::is_multirow(name) {
                fail!(
                    code::INVALID_VALUE,
                    "{name} must be the only function of its select list"
                );
            }
            scalar(name, args, cx)?
        }
        Expr::Neg(inner) => match eval(inner, cx)? {
            Value::Int(i) => Value::Int(-i),
            Value::Double(d) => Value::Double(-d),
            Value::Null => Value::Null,
            v => fail!(code::INVALID_VALUE, "cannot negate {v:?}"),
        },
        Expr::Not(inner) => match truth(&eval(inner, cx)?) {
            Some(b) => Value::Bool(!b),
            None => Value::Null,
        },
        Expr::Binary { op, left, right } => {
            let l = eval(left, cx)?;
            // a string column against a string literal: compared in place,
            // not copied per row (a literal may be 64 KB)
            if let (Value::Str(ls), Expr::Str(rs)) = (&l, &**right) {
                if let Some(o) = compare_op(*op) {
                    return Ok(Value::Bool(o(ls.as_str().cmp(rs.as_str()))));
                }
            }
            // a string compared with a timestamp is a time literal
            let r = eval(right, cx)?;
            let (l, r) = time_literals(left, l, right, r, cx)?;
            binary(*op, &l, &r)?
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            let v = eval(expr, cx)?;
            let lo = eval(low, cx)?;
            let hi = eval(high, cx)?;
            let (v, lo) = time_literals(expr, v, low, lo, cx)?;
            let (v, hi) = time_literals(expr, v, high, hi, cx)?;
            match (v.cmp_sql(&lo), v.cmp_sql(&hi)) {
                (Some(a), Some(b)) => Value::Bool((a.is_ge() && b.is_le()) != *negated),
                _ => Value::Null,
            }
        }
        Expr::InList {
            expr,
            list,
            negated,
            set,
        } => {
            let v = eval(expr, cx)?;
            if v.is_null() {
                return Ok(Value::Null);
            }
            let probed = match (set.as_deref(), &v) {
                (Some(InSet::Ints(s)), Value::Int(i)) => Some(s.contains(i)),
                (Some(InSet::Strs(s)), Value::Str(x)) => Some(s.contains(x)),
                _ => None,
            };
            if let Some(found) = probed {
                return Ok(Value::Bool(found != *negated));
            }
            let mut found = false;
            for item in list {
                // a long list of expressions costs per item, not per row
                crate::limits::tick()?;
                let x = eval(item, cx)?;
                let (v2, x) = time_literals(expr, v.clone(), item, x, cx)?;
                if v2.cmp_sql(&x) == Some(std::cmp::Ordering::Equal) {
                    found = true;
                    break;
                }
            }
            Value::Bool(found != *negated)
        }
        Expr::IsNull { expr, negated } => Value::Bool(eval(expr, cx)?.is_null() != *negated),
    })
}

/// The test of a comparison operator on an ordering.
fn compare_op(op: BinOp) -> Option<fn(std::cmp::Ordering) -> bool> {
    Some(match op {
        BinOp::Eq => std::cmp::Ordering::is_eq,
        BinOp::Ne => std::cmp::Ordering::is_ne,
        BinOp::Lt => std::cmp::Ordering::is_lt,
        BinOp::Le => std::cmp::Ordering::is_le,
        BinOp::Gt => std::cmp::Ordering::is_gt,
        BinOp::Ge => std::cmp::Ordering::is_ge,
        _ => return None,
    })
}

/// Turns a string compared with the timestamp column into a timestamp.
pub(crate) fn time_literals(
    le: &Expr,
    l: Value,
    re: &Expr,
    r: Value,
    cx: &Ctx<'_, '_>,
) -> Result<(Value, Value)> {
    let is_time = |e: &Expr| match e {
        Expr::Column(n) => {
            matches!(n.as_str(), "_wstart" | "_wend")
                || cx
                    .schema
                    .lookup(n)
                    .is_some_and(|r| cx.schema.type_of(r) == DataType::Timestamp)
        }
        Expr::Now => true,
        _ => false,
    };
    let p = cx.schema.precision;
    let conv = |v: Value| -> Result<Value> {
        match v {
            Value::Str(s) => Ok(Value::Int(parse_timestamp(&s, p)?)),
            v => Ok(v),
        }
    };
    Ok(match (is_time(le), is_time(re)) {
        (true, false) => (l, conv(r)?),
        (false, true) => (conv(l)?, r),
        _ => (l, r),
    })
}

pub(crate) fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        Value::Int(i) => Some(*i != 0),
        Value::Double(d) => Some(*d != 0.0),
        Value::Str(s) => Some(!s.is_empty()),
    }
}

fn binary(op: BinOp, l: &Value, r: &Value) -> Result<Value> {
    Ok(match op {
        BinOp::And => match (truth(l), truth(r)) {
            (Some(false), _) | (_, Some(false)) => Value::Bool(false),
            (Some(true), Some(true)) => Value::Bool(true),
            _ => Value::Null,
        },
        BinOp::Or => match (truth(l), truth(r)) {
            (Some(true), _) | (_, Some(true)) => Value::Bool(true),
            (Some(false), Some(false)) => Value::Bool(false),
            _ => Value::Null,
        },
        BinOp::Like | BinOp::NotLike => match (l, r) {
            (Value::Str(s), Value::Str(p)) => Value::Bool(like_match(s, p) == (op == BinOp::Like)),
            (Value::Null, _) | (_, Value::Null) => Value::Null,
            _ => fail!(
                code::INVALID_VALUE,
                "LIKE applies to BINARY and NCHAR values"
            ),
        },
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let test = compare_op(op).expect("a comparison operator");
            match l.cmp_sql(r) {
                None => Value::Null,
                Some(o) => Value::Bool(test(o)),
            }
        }
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
            // arithmetic results are DOUBLE (spec A6); timestamps stay integer
            match (l, r) {
                (Value::Null, _) | (_, Value::Null) => Value::Null,
                (Value::Int(a), Value::Int(b)) if matches!(op, BinOp::Add | BinOp::Sub) => {
                    Value::Double(if op == BinOp::Add {
                        *a as f64 + *b as f64
                    } else {
                        *a as f64 - *b as f64
                    })
                }
                _ => {
                    let (Some(a), Some(b)) = (l.as_f64(), r.as_f64()) else {
                        fail!(code::INVALID_VALUE, "arithmetic applies to numbers");
                    };
                    Value::Double(match op {
                        BinOp::Add => a + b,
                        BinOp::Sub => a - b,
                        BinOp::Mul => a * b,
                        BinOp::Div => a / b,
                        _ => a % b,
                    })
                }
            }
        }
    })
}

fn scalar(name: &str, args: &[Expr], cx: &Ctx<'_, '_>) -> Result<Value> {
    let arg = |i: usize| -> Result<Value> {
        match args.get(i) {
            Some(e) => eval(e, cx),
            None => fail!(code::INVALID_VALUE, "function {name} needs an argument"),
        }
    };
    let num = |v: Value, f: fn(f64) -> f64| -> Value {
        match v.as_f64() {
            Some(x) => Value::Double(f(x)),
            None => Value::Null,
        }
    };
    Ok(match name {
        "abs" => num(arg(0)?, f64::abs),
        "ceil" => num(arg(0)?, f64::ceil),
        "floor" => num(arg(0)?, f64::floor),
        "round" => num(arg(0)?, f64::round),
        "sqrt" => num(arg(0)?, f64::sqrt),
        "server_version" => Value::Str(SERVER_VERSION.into()),
        "client_version" => Value::Str(SERVER_VERSION.into()),
        "server_status" => Value::Int(1),
        "database" => Value::Null,
        "timezone" => Value::Str(chrono::Local::now().format("%Z (%z)").to_string()),
        _ => fail!(code::INVALID_VALUE, "Invalid function name: {name}"),
    })
}

/// The output type of a select expression.
pub(crate) fn type_of(e: &Expr, schema: &Schema<'_>) -> Result<DataType> {
    Ok(match e {
        Expr::Null | Expr::Int(_) | Expr::Duration(_) => DataType::BigInt,
        Expr::Bool(_) => DataType::Bool,
        Expr::Float(_) => DataType::Double,
        Expr::Str(s) => DataType::Binary(s.len().max(1) as u32),
        Expr::Now => DataType::Timestamp,
        Expr::Column(n) => match n.as_str() {
            "_wstart" | "_wend" => DataType::Timestamp,
            "_wduration" => DataType::BigInt,
            super::ANOMALY_MARK => DataType::Int,
            _ => schema.lookup(n).map(|r| schema.type_of(r)).ok_or_else(|| {
                DbError::new(code::INVALID_COLUMN, format!("Invalid column name: {n}"))
            })?,
        },
        Expr::Func { name, args } => {
            if agg::is_aggregate(name) {
                agg::result_type(name, args, schema)?
            } else if multirow::is_multirow(name) {
                match args.first() {
                    Some(Expr::Column(n)) => {
                        let t = schema
                            .lookup(n)
                            .map(|r| schema.type_of(r))
                            .unwrap_or(DataType::Double);
                        if name == "diff" && t == DataType::Float {
                            DataType::Double
                        } else if t.is_integer() {
                            DataType::BigInt
                        } else {
                            t
                        }
                    }
                    _ => DataType::Double,
                }
            } else {
                match name.as_str() {
                    "server_version" | "client_version" | "timezone" | "database" => {
                        DataType::Binary(64)
                    }
                    "server_status" => DataType::Int,
                    _ => DataType::Double,
                }
            }
        }
        Expr::Neg(inner) => type_of(inner, schema)?,
        Expr::Binary {
            op: BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod,
            ..
        } => DataType::Double,
        _ => DataType::Bool,
    })
}

/// SQL LIKE with `%` and `_` (and `\` escapes).
pub fn like_match(s: &str, pattern: &str) -> bool {
    fn go(s: &[char], p: &[char]) -> bool {
        match p.first() {
            None => s.is_empty(),
            Some('%') => (0..=s.len()).any(|k| go(&s[k..], &p[1..])),
            Some('_') => !s.is_empty() && go(&s[1..], &p[1..]),
            Some('\\') if p.len() > 1 => s.first() == Some(&p[1]) && go(&s[1..], &p[2..]),
            Some(c) => s.first() == Some(c) && go(&s[1..], &p[1..]),
        }
    }
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    go(&s, &p)
}
