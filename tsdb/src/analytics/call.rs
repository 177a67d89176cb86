//! What the row-producing analysis functions (FORECAST, IMPUTATION, DTW,
//! DTW_PATH, TLCC, PEARSONR) share: where they may be called, their column
//! arguments, and the projection of their results with their
//! pseudo-columns, the PARTITION BY keys and constants (analytics-sql §5.2,
//! §7).
//!
//! May import: `catalog`, `error`, `query`, `result`, `sql`, `types`, its
//! parent's `mathable`.

use super::{Series, Shape, mathable};
use crate::catalog::Column;
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::query::agg;
use crate::result::{ColMeta, Output};
use crate::sql::ast::{Expr, Select};
use crate::types::{DataType, Precision, Value};

/// The functions whose result rows come from an anode, with their
/// pseudo-columns.
pub const FUNCTIONS: [(&str, &[&str]); 6] = [
    ("forecast", &["_frowts", "_flow", "_fhigh", "_fmodel"]),
    ("imputation", &["_improwts", "_impmark"]),
    ("dtw", &[]),
    ("dtw_path", &[]),
    ("tlcc", &[]),
    ("pearsonr", &[]),
];

fn pseudo_columns(func: &str) -> &'static [&'static str] {
    FUNCTIONS
        .iter()
        .find(|(f, _)| *f == func)
        .map_or(&[], |(_, p)| p)
}

pub fn not_allowed(msg: impl Into<String>) -> DbError {
    DbError::new(code::PAR_NOT_ALLOWED_FUNC, msg)
}

/// The analysis function the statement calls (anywhere in its select list),
/// or an error when it calls two different ones.
pub fn called(sel: &Select) -> Result<Option<&'static str>> {
    let mut found: Option<&'static str> = None;
    let mut second = None;
    for item in &sel.items {
        item.expr.walk(&mut |x| {
            if let Expr::Func { name, .. } = x {
                if let Some((f, _)) = FUNCTIONS.iter().find(|(f, _)| f == name) {
                    match found {
                        None => found = Some(f),
                        Some(g) if g != *f => second = Some(*f),
                        Some(_) => {}
                    }
                }
            }
        });
    }
    if let (Some(a), Some(b)) = (found, second) {
        return Err(not_allowed(format!(
            "{} and {} cannot be called in one query",
            a.to_uppercase(),
            b.to_uppercase()
        )));
    }
    Ok(found)
}

/// Checks where `func` is called (§5.2: once, as a select item of its own;
/// not with windows or GROUP BY; its pseudo-columns not in WHERE) and
/// returns its arguments split into the column arguments and the option
/// string.
pub fn arguments<'a>(sel: &'a Select, func: &str) -> Result<(&'a [Expr], Option<&'a str>)> {
    let upper = func.to_uppercase();
    if sel.interval.is_some()
        || sel.anomaly.is_some()
        || sel.row_window.is_some()
        || !sel.group_by.is_empty()
    {
        return Err(not_allowed(format!(
            "{upper} function is not supported in window query or group query"
        )));
    }
    let pseudo = pseudo_columns(func);
    if let Some(f) = &sel.filter {
        let mut bad = None;
        f.walk(&mut |x| match x {
            Expr::Column(n) if pseudo.contains(&n.as_str()) => bad = Some(n.clone()),
            Expr::Func { name, .. } if name == func => bad = Some(upper.clone()),
            _ => {}
        });
        if let Some(n) = bad {
            return Err(not_allowed(format!("{n} is not allowed in where clause")));
        }
    }
    let mut calls = 0;
    for item in &sel.items {
        item.expr.walk(&mut |x| {
            if matches!(x, Expr::Func { name, .. } if name == func) {
                calls += 1;
            }
        });
    }
    if calls > 1 {
        return Err(not_allowed(format!(
            "{upper} can be called only once in a query"
        )));
    }
    let Some(Expr::Func { args, .. }) = sel
        .items
        .iter()
        .map(|i| &i.expr)
        .find(|e| matches!(e, Expr::Func { name, .. } if name == func))
    else {
        return Err(not_allowed(format!(
            "{upper} must be a select item of its own, not part of an expression"
        )));
    };
    Ok(match args.split_last() {
        Some((Expr::Str(o), rest)) => (rest, Some(o.as_str())),
        _ => (args.as_slice(), None),
    })
}

/// A column argument of `func`: a numeric column of the table (not the
/// timestamp, not a tag, not an expression).
pub fn value_column<'s>(shape: &'s Shape, func: &str, arg: &Expr) -> Result<&'s Column> {
    let upper = func.to_uppercase();
    match arg {
        Expr::Column(n) => {
            let col = match shape.column(n) {
                Some(col) => col,
                None if shape.is_tag(n) => {
                    fail!(code::INVALID_VALUE, "{upper} cannot use the tag {n}")
                }
                None if shape.columns[0].name == *n => fail!(
                    code::INVALID_VALUE,
                    "{upper} only support mathable column: {n} is the timestamp"
                ),
                None => fail!(code::INVALID_COLUMN, "Invalid column name: {n}"),
            };
            if !mathable(col.ty) {
                fail!(
                    code::INVALID_VALUE,
                    "{upper} only support mathable column: {n} is {}",
                    col.ty.name()
                );
            }
            Ok(col)
        }
        Expr::Func { name, .. } if agg::is_aggregate(name) => fail!(
            code::PAR_AGG_FUNC_NESTING,
            "Aggregate functions do not support nesting: {name} inside {upper}"
        ),
        _ => fail!(
            code::INVALID_VALUE,
            "{upper} takes columns of the table (and the option string last)"
        ),
    }
}

/// A value argument of FORECAST: a column, or (TDengine 3.3.6.4+) a scalar
/// expression over the table's columns, such as `val * 1.8 + 32`.
#[derive(Debug, Clone)]
pub struct Input {
    /// The column's name; an expression's is its parsed form (it only
    /// tells arguments apart).
    pub name: String,
    pub expr: Expr,
    /// The column's type; an expression's values are sent as DOUBLE.
    pub ty: DataType,
}

/// [`value_column`] for a column; for an expression, its columns, `*` and
/// aggregates inside it meet [`value_column`]'s checks (and refusals), and
/// it holds at least one column.
pub fn value_input(shape: &Shape, func: &str, arg: &Expr) -> Result<Input> {
    if let Expr::Column(_) = arg {
        let col = value_column(shape, func, arg)?;
        return Ok(Input {
            name: col.name.clone(),
            expr: arg.clone(),
            ty: col.ty,
        });
    }
    let (mut err, mut columns) = (None, 0);
    arg.walk(&mut |x| {
        let checked = match x {
            Expr::Column(_) => {
                columns += 1;
                true
            }
            Expr::Star => true,
            Expr::Func { name, .. } => agg::is_aggregate(name),
            _ => false,
        };
        if checked && err.is_none() {
            err = value_column(shape, func, x).err();
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    if columns == 0 {
        fail!(
            code::INVALID_VALUE,
            "{} needs a column of the table in each value argument",
            func.to_uppercase()
        );
    }
    Ok(Input {
        name: format!("{arg:?}"),
        expr: arg.clone(),
        ty: DataType::Double,
    })
}

/// What an output column is made of.
enum Out {
    /// The function's value (0) or one of its pseudo-columns (1..).
    Field(usize),
    Key(usize),
    Const(Value),
}

/// The select list of an analysis query: the function, its pseudo-columns,
/// the PARTITION BY keys and constants, nothing else.
pub struct Projection {
    outs: Vec<(Out, ColMeta)>,
}

impl Projection {
    /// `types[0]` is the function's result type, `types[1 + i]` that of its
    /// i-th pseudo-column (in [`FUNCTIONS`] order).
    pub fn new(
        sel: &Select,
        func: &str,
        types: &[DataType],
        precision: Precision,
    ) -> Result<Projection> {
        let pseudo = pseudo_columns(func);
        let mut outs = Vec::with_capacity(sel.items.len());
        for item in &sel.items {
            let name = item.alias.clone().unwrap_or_else(|| item.text.clone());
            let (out, ty) = match &item.expr {
                Expr::Func { name, .. } if name == func => (Out::Field(0), types[0]),
                Expr::Column(n) if pseudo.contains(&n.as_str()) => {
                    let i = 1 + pseudo.iter().position(|p| p == n).expect("found");
                    (Out::Field(i), types[i])
                }
                e if sel.partition_by.contains(e) => {
                    let k = sel.partition_by.iter().position(|p| p == e).expect("found");
                    (Out::Key(k), DataType::Int) // typed from the input
                }
                e @ (Expr::Int(_) | Expr::Float(_) | Expr::Str(_) | Expr::Bool(_) | Expr::Null) => {
                    let v = crate::query::literal::literal(e, precision, precision.now())?;
                    let ty = match &v {
                        Value::Int(_) => DataType::BigInt,
                        Value::Double(_) => DataType::Double,
                        Value::Bool(_) => DataType::Bool,
                        Value::Str(s) => DataType::Binary(s.len().max(1) as u32),
                        Value::Null => DataType::Binary(1),
                    };
                    (Out::Const(v), ty)
                }
                _ => {
                    let mut allowed: Vec<&str> = pseudo.to_vec();
                    allowed.extend(["the PARTITION BY keys", "constants"]);
                    return Err(not_allowed(format!(
                        "{}: only {} can be selected with {}",
                        item.text,
                        allowed.join(", "),
                        func.to_uppercase()
                    )));
                }
            };
            outs.push((out, ColMeta::new(name, ty)));
        }
        Ok(Projection { outs })
    }

    /// Whether field `i` (0 = the value, 1.. = pseudo-columns) is selected.
    pub fn selects(&self, i: usize) -> bool {
        self.outs
            .iter()
            .any(|(o, _)| matches!(o, Out::Field(f) if *f == i))
    }

    /// Types the key columns from the input query's metadata.
    pub fn key_types(&mut self, key_meta: &[ColMeta]) {
        for (out, meta) in &mut self.outs {
            if let Out::Key(k) = out {
                meta.ty = key_meta[*k].ty;
            }
        }
    }

    /// One output row of group `g` from the function's `fields`.
    pub fn row(&self, g: &Series, fields: &[Value]) -> Vec<Value> {
        self.outs
            .iter()
            .map(|(o, _)| match o {
                Out::Field(i) => fields[*i].clone(),
                Out::Key(k) => g.key[*k].clone(),
                Out::Const(v) => v.clone(),
            })
            .collect()
    }

    pub fn output(self, rows: Vec<Vec<Value>>, sel: &Select, precision: Precision) -> Output {
        Output::Rows {
            columns: self.outs.into_iter().map(|(_, m)| m).collect(),
            rows: crate::query::page(rows, sel.limit),
            precision,
        }
    }
}

/// A finite number, or NULL (the anode may send `null` for an undefined
/// value).
pub fn num(x: Option<f64>) -> Value {
    match x {
        Some(x) if x.is_finite() => Value::Double(x),
        _ => Value::Null,
    }
}

/// An error in an anode's answer.
pub fn bad_answer(why: impl std::fmt::Display) -> DbError {
    DbError::new(
        code::ANA_ANODE_RETURN_ERROR,
        format!("Analysis failed since anode return error: {why}"),
    )
}
