//! SELECT: scan, filter, group, window, aggregate, fill, order, limit.
//!
//! - [`eval`](mod@eval): rows, the evaluation context, operators, expression types.
//! - [`time`]: durations and window alignment; [`window`]: INTERVAL and FILL.
//! - [`row_window`]: SESSION and STATE_WINDOW.
//! - [`agg`]: the aggregate and selector functions; [`multirow`]: DIFF, TOP, BOTTOM.
//!
//! A query gathers the rows of its table (or of the child tables of a super
//! table whose tags pass the tag conditions) inside the time range read off
//! the WHERE clause, filters them with the whole WHERE, then either projects
//! them or groups them (GROUP BY / PARTITION BY tags or tbname), cuts each
//! group into INTERVAL windows and evaluates the select list per group or
//! window.
//!
//! Choices where TDengine versions differ (spec C8): an aggregate query over
//! no rows answers one row (COUNT 0, other aggregates NULL) as 3.x does,
//! unless it selects FIRST/LAST/LAST_ROW, which answer no row in both. With
//! INTERVAL the window start is returned first, named `ts` (2.x), unless
//! `_wstart` is selected; with GROUP BY the group columns are appended (2.x)
//! unless selected.
//!
//! May import: `catalog`, `error`, `limits`, `result`, `sql`, `state`,
//! `storage`, `types`.

pub mod agg;
pub mod eval;
pub(crate) mod fast;
pub mod literal;
pub mod multirow;
pub(crate) mod row_window;
pub mod scan;
pub mod time;
pub mod window;

pub use eval::{Ctx, Ref, Row, SERVER_VERSION, Schema, Source, eval};
use eval::{truth, type_of};

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::catalog::{Column, Table, TableKind};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::result::{ColMeta, Output};
use crate::sql::ast::{BinOp, Expr, RowWindow, Select};
use crate::state::{Engine, State, resolve_db};
use crate::storage::store::{Reader, TableBlocks};
use crate::storage::table::TableData;
use crate::types::{DataType, Precision, Value, parse_timestamp};

/// Lower and upper (inclusive) timestamp bounds implied by the top-level
/// AND of the WHERE clause.
fn time_range(filter: Option<&Expr>, schema: &Schema<'_>, now: i64) -> Result<(i64, i64)> {
    let is_ts = |n: &str| schema.lookup(n) == Some(Ref::Ts);
    ts_range(filter, &is_ts, schema.precision, now)
}

/// [`time_range`] for a timestamp column known by `is_ts`.
pub(crate) fn ts_range(
    filter: Option<&Expr>,
    is_ts: &dyn Fn(&str) -> bool,
    precision: Precision,
    now: i64,
) -> Result<(i64, i64)> {
    let (mut lo, mut hi) = (i64::MIN, i64::MAX);
    if let Some(f) = filter {
        let mut conj = Vec::new();
        split_and(f, &mut conj);
        for c in conj {
            if let Some((a, b)) = bound_of(c, is_ts, precision, now)? {
                lo = lo.max(a);
                hi = hi.min(b);
            }
        }
    }
    Ok((lo, hi))
}

/// The inclusive time range one conjunct of a WHERE clause stands for, if
/// it is `ts <op> constant` (either side; `<`, `<=`, `>`, `>=`, `=`) or
/// `ts BETWEEN a AND b` with timestamp constants. `None` for anything else,
/// which then has to be evaluated row by row.
pub(crate) fn ts_bound(c: &Expr, schema: &Schema<'_>, now: i64) -> Result<Option<(i64, i64)>> {
    let is_ts = |n: &str| schema.lookup(n) == Some(Ref::Ts);
    bound_of(c, &is_ts, schema.precision, now)
}

fn bound_of(
    c: &Expr,
    ts_col: &dyn Fn(&str) -> bool,
    precision: Precision,
    now: i64,
) -> Result<Option<(i64, i64)>> {
    let is_ts = |e: &Expr| matches!(e, Expr::Column(n) if ts_col(n));
    let constant = |e: &Expr| -> Result<Option<i64>> {
        let mut has_col = false;
        e.walk(&mut |x| has_col |= matches!(x, Expr::Column(_) | Expr::Func { .. }));
        if has_col {
            return Ok(None);
        }
        let v = crate::query::literal::literal(e, precision, now)?;
        Ok(match v {
            Value::Int(i) => Some(i),
            Value::Str(s) => Some(parse_timestamp(&s, precision)?),
            _ => None,
        })
    };
    Ok(match c {
        Expr::Binary { op, left, right } => {
            let (op, v) = if is_ts(left) {
                (*op, right)
            } else if is_ts(right) {
                let flipped = match op {
                    BinOp::Lt => BinOp::Gt,
                    BinOp::Le => BinOp::Ge,
                    BinOp::Gt => BinOp::Lt,
                    BinOp::Ge => BinOp::Le,
                    o => *o,
                };
                (flipped, left)
            } else {
                return Ok(None);
            };
            let Some(t) = constant(v)? else {
                return Ok(None);
            };
            match op {
                BinOp::Gt => Some((t.saturating_add(1), i64::MAX)),
                BinOp::Ge => Some((t, i64::MAX)),
                BinOp::Lt => Some((i64::MIN, t.saturating_sub(1))),
                BinOp::Le => Some((i64::MIN, t)),
                BinOp::Eq => Some((t, t)),
                _ => None,
            }
        }
        Expr::Between {
            expr,
            low,
            high,
            negated: false,
        } if is_ts(expr) => match (constant(low)?, constant(high)?) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        },
        _ => None,
    })
}

/// The conjuncts of a top-level AND.
fn split_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match e {
        Expr::Binary {
            op: BinOp::And,
            left,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        _ => out.push(e),
    }
}

/// Whether `e` uses only tags and tbname (evaluated once per table).
fn tag_only(e: &Expr, schema: &Schema<'_>) -> bool {
    let mut ok = true;
    let mut any = false;
    e.walk(&mut |x| match x {
        Expr::Column(n) => match schema.lookup(n) {
            Some(Ref::Tag(_) | Ref::Tbname) => any = true,
            _ => ok = false,
        },
        Expr::Func { .. } => ok = false,
        _ => {}
    });
    ok && any
}

pub(crate) fn has_aggregate(e: &Expr) -> bool {
    let mut found = false;
    e.walk(&mut |x| {
        if let Expr::Func { name, .. } = x {
            found |= agg::is_aggregate(name);
        }
    });
    found
}

/// Whether `e` reads the column (or pseudo-column) `name`.
fn mentions(e: &Expr, name: &str) -> bool {
    let mut found = false;
    e.walk(&mut |x| found |= matches!(x, Expr::Column(n) if n == name));
    found
}

/// One output column: its expression, name and type.
pub(crate) struct OutCol {
    expr: Expr,
    name: String,
    ty: DataType,
}

/// A window given from outside the query (an anode's anomaly window):
/// closed `[start, end]`, or only the point `start` when `one_point`.
/// `mark` is what `_anomalymark` shows for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    pub start: i64,
    pub end: i64,
    pub one_point: bool,
    pub mark: i64,
}

/// The pseudo-column of an anomaly window's code (`mask` of the anode).
pub const ANOMALY_MARK: &str = "_anomalymark";

/// Windows per group (the PARTITION BY values).
pub type Spans = BTreeMap<Vec<GroupKey>, Vec<Span>>;

/// A SELECT over `state`, the caller holding the lock throughout (a
/// stream's plan, which reads more under the same lock). Callers that lock
/// only to read use [`select_unlocked`].
pub fn select(state: &State, sel: &Select, current: Option<&str>) -> Result<Output> {
    View::take(state, sel, current)?.select(sel, current, &mut Scope::default())
}

/// A SELECT within `scope` that holds the engine's read lock only while
/// its [`View`] is taken: the scan, the windows and the answer run after
/// the lock is released, so writers do not wait for them.
pub fn select_unlocked(
    engine: &Engine,
    sel: &Select,
    current: Option<&str>,
    scope: &mut Scope<'_>,
) -> Result<Output> {
    let view = View::take(&engine.read(), sel, current)?;
    view.select(sel, current, scope)
}

/// What a caller adds to a SELECT beyond its text, and what it learns back.
#[derive(Debug, Default)]
pub struct Scope<'a> {
    /// Windows per group (ANOMALY_WINDOW).
    pub spans: Option<&'a Spans>,
    /// Per table, the rows up to this timestamp are left out (a
    /// subscription's progress): the scan starts after it.
    pub after: Option<&'a BTreeMap<String, i64>>,
    /// Out, when `after` is given: each table that took part (passed the tag
    /// conditions and has rows) and its newest timestamp, read from the same
    /// snapshot as the rows.
    pub newest: BTreeMap<String, i64>,
}

/// What one SELECT reads, taken under the engine's read lock and read
/// without it (issue 19, part 2: reads never block writes). Taking it
/// costs, per table, two reference counts and copies of its name, tags and
/// cached last row; the scan, the windows and the answer, which take tens
/// of milliseconds over many tables, run after the lock is released.
/// Memtables and block lists are shared `Arc`s: a writer that changes a
/// table a view holds copies that table's memtable (or block list) first,
/// and the view keeps reading the rows as they were when it was taken; the
/// blocks' files stay open while a view holds them.
pub struct View {
    from: Option<FromView>,
}

struct FromView {
    precision: Precision,
    columns: Vec<Column>,
    tags: Vec<Column>,
    stable: bool,
    tables: Vec<TableView>,
    reader: Reader,
}

struct TableView {
    name: String,
    tags: Vec<Value>,
    data: Option<Arc<TableData>>,
    blocks: Option<Arc<TableBlocks>>,
    last: Option<(i64, Vec<Value>)>,
}

impl TableView {
    fn of(state: &State, t: &Table, tags: &[Value]) -> TableView {
        TableView {
            name: t.name.clone(),
            tags: tags.to_vec(),
            data: state.data.get(&t.uid).cloned(),
            blocks: state.store.tables.get(&t.uid).cloned(),
            last: state.last.get(&t.uid).cloned(),
        }
    }

    fn source(&self) -> Source<'_> {
        Source {
            name: &self.name,
            tags: &self.tags,
            data: self.data.as_deref(),
            blocks: self.blocks.as_deref(),
            last: self.last.as_ref(),
        }
    }
}

impl View {
    /// The tables `sel` reads (the table, or the super table's children)
    /// as they are in `state` now.
    pub fn take(state: &State, sel: &Select, current: Option<&str>) -> Result<View> {
        let Some(from) = &sel.from else {
            return Ok(View { from: None });
        };
        let db = resolve_db(from.db.as_deref(), current)?;
        let entry = state.db(&db)?;
        let precision = entry.options().precision;
        let reader = state.store.reader().clone();
        let view = if let Some(st) = entry.stables.get(&from.name) {
            FromView {
                precision,
                columns: st.columns.clone(),
                tags: st.tags.clone(),
                stable: true,
                tables: entry
                    .tables
                    .values()
                    .filter_map(|t| match &t.kind {
                        TableKind::Child { stable, tags } if *stable == st.name => {
                            Some(TableView::of(state, t, tags))
                        }
                        _ => None,
                    })
                    .collect(),
                reader,
            }
        } else if let Some(t) = entry.tables.get(&from.name) {
            let (columns, tags, tag_vals): (&[Column], &[Column], &[Value]) = match &t.kind {
                TableKind::Normal { columns, .. } => (columns, &[], &[]),
                TableKind::Child { stable, tags } => {
                    let st = &entry.stables[stable];
                    (&st.columns, &st.tags, tags)
                }
            };
            FromView {
                precision,
                columns: columns.to_vec(),
                tags: tags.to_vec(),
                stable: false,
                tables: vec![TableView::of(state, t, tag_vals)],
                reader,
            }
        } else {
            fail!(
                code::TABLE_NOT_EXIST,
                "Table does not exist: {} (database {db})",
                from.name
            );
        };
        Ok(View { from: Some(view) })
    }

    /// Runs `sel` (the statement the view was taken for) on the view.
    pub fn select(
        &self,
        sel: &Select,
        current: Option<&str>,
        scope: &mut Scope<'_>,
    ) -> Result<Output> {
        match &self.from {
            None => constant_select(sel, current),
            Some(v) => select_from(v, sel, scope),
        }
    }
}

/// [`View::select`] of a statement with a FROM clause.
fn select_from(view: &FromView, sel: &Select, scope: &mut Scope<'_>) -> Result<Output> {
    let spans = scope.spans;
    let precision = view.precision;
    let now = precision.now();
    let schema = Schema {
        columns: &view.columns,
        tags: &view.tags,
        stable: view.stable,
        precision,
    };
    let sources: Vec<Source<'_>> = view.tables.iter().map(TableView::source).collect();

    // the select list, with * and first(*)/last(*)/last_row(*) expanded
    let mut outs: Vec<OutCol> = Vec::new();
    for item in &sel.items {
        match &item.expr {
            Expr::Star => {
                for c in schema.columns {
                    outs.push(OutCol {
                        expr: Expr::Column(c.name.clone()),
                        name: c.name.clone(),
                        ty: c.ty,
                    });
                }
                if schema.stable {
                    for c in schema.tags {
                        outs.push(OutCol {
                            expr: Expr::Column(c.name.clone()),
                            name: c.name.clone(),
                            ty: c.ty,
                        });
                    }
                }
            }
            Expr::Func { name, args }
                if args.first() == Some(&Expr::Star)
                    && matches!(name.as_str(), "first" | "last" | "last_row") =>
            {
                for c in schema.columns {
                    let expr = Expr::Func {
                        name: name.clone(),
                        args: vec![Expr::Column(c.name.clone())],
                    };
                    outs.push(OutCol {
                        ty: c.ty,
                        expr,
                        name: format!("{name}({})", c.name),
                    });
                }
            }
            e => outs.push(OutCol {
                ty: type_of(e, &schema)?,
                expr: e.clone(),
                name: item.alias.clone().unwrap_or_else(|| item.text.clone()),
            }),
        }
    }
    let base = Ctx {
        schema: &schema,
        sources: &sources,
        now,
        rows: &[],
        window: None,
    };
    // an ANOMALY_WINDOW query may select only the windows' pseudo-columns
    let windows_only = spans.is_some()
        && outs.iter().all(|o| {
            matches!(&o.expr, Expr::Column(n)
                if matches!(n.as_str(), "_wstart" | "_wend" | "_wduration" | ANOMALY_MARK))
        });
    let aggregate = windows_only || outs.iter().any(|o| has_aggregate(&o.expr));
    if spans.is_none() && outs.iter().any(|o| mentions(&o.expr, ANOMALY_MARK)) {
        fail!(
            code::PAR_NOT_ALLOWED_FUNC,
            "{ANOMALY_MARK} is only allowed with ANOMALY_WINDOW"
        );
    }
    // the window clause cutting each group, by its name in messages
    let window_kind = match (&sel.interval, &sel.row_window) {
        (Some(_), _) => Some("INTERVAL"),
        (None, Some(RowWindow::Session { .. })) => Some("SESSION"),
        (None, Some(RowWindow::State(_))) => Some("STATE_WINDOW"),
        (None, None) => None,
    };
    let row_cut = match &sel.row_window {
        Some(rw) => Some(row_window::Cut::new(rw, &schema)?),
        None => None,
    };
    let multi: Vec<usize> = outs
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(&o.expr, Expr::Func { name, .. } if multirow::is_multirow(name)))
        .map(|(i, _)| i)
        .collect();
    if !multi.is_empty() {
        if multi.len() > 1 || aggregate {
            fail!(
                code::INVALID_VALUE,
                "DIFF, TOP and BOTTOM cannot be combined with each other or with aggregates"
            );
        }
        if let Some(w) = window_kind {
            fail!(
                code::INVALID_VALUE,
                "DIFF, TOP and BOTTOM cannot be used with {w}"
            );
        }
        let by_table = sel
            .group_by
            .iter()
            .chain(&sel.partition_by)
            .any(|k| matches!(k, Expr::Column(n) if n == "tbname"));
        let is_diff = matches!(&outs[multi[0]].expr, Expr::Func { name, .. } if name == "diff");
        if is_diff && schema.stable && !by_table {
            fail!(
                code::INVALID_VALUE,
                "DIFF on a super table needs GROUP BY tbname (or PARTITION BY tbname)"
            );
        }
    }
    if let Some(f) = &sel.filter {
        if has_aggregate(f) {
            fail!(
                code::INVALID_VALUE,
                "aggregate functions are not allowed in WHERE"
            );
        }
    }
    if let (Some(w), false) = (window_kind, aggregate) {
        let a = if w == "INTERVAL" { "an" } else { "a" };
        fail!(
            code::INVALID_VALUE,
            "{a} {w} query needs an aggregate function in its select list"
        );
    }
    if spans.is_some() && (!aggregate || !multi.is_empty()) {
        fail!(
            code::INVALID_VALUE,
            "an ANOMALY_WINDOW query needs aggregate functions or window pseudo-columns (and no DIFF, TOP or BOTTOM) in its select list"
        );
    }
    if sel.interval.is_none() && (sel.fill.is_some() || sel.sliding.is_some()) {
        fail!(code::INVALID_VALUE, "FILL and SLIDING need INTERVAL");
    }
    if let Some(w) = window_kind {
        for o in &outs {
            let mut bad = false;
            o.expr.walk(&mut |x| {
                bad |= matches!(x, Expr::Func { name, .. } if name == "last_row");
            });
            if bad {
                return Err(DbError::invalid(format!(
                    "LAST_ROW cannot be used with {w}"
                )));
            }
        }
    }

    // tables by tag conditions, then rows in the time range
    let (lo, hi) = time_range(sel.filter.as_ref(), &schema, now)?;
    let tag_conds: Vec<&Expr> = match &sel.filter {
        Some(f) => {
            let mut v = Vec::new();
            split_and(f, &mut v);
            v.into_iter().filter(|e| tag_only(e, &schema)).collect()
        }
        None => Vec::new(),
    };
    // The last-row cache: a query of only LAST_ROW (plus tags / tbname)
    // with at most tag conditions reads each table's newest row, O(1) per
    // table, instead of scanning.
    let filter_is_tags_only = match &sel.filter {
        None => true,
        Some(f) => {
            let mut all = Vec::new();
            split_and(f, &mut all);
            all.iter().all(|e| tag_only(e, &schema))
        }
    };
    let last_row_only = filter_is_tags_only
        && window_kind.is_none()
        && outs.iter().all(|o| match &o.expr {
            // last_row(any column), or a tag / tbname beside it
            Expr::Func { name, .. } => name == "last_row",
            Expr::Column(n) => matches!(schema.lookup(n), Some(Ref::Tag(_) | Ref::Tbname)),
            _ => false,
        })
        && outs
            .iter()
            .any(|o| matches!(&o.expr, Expr::Func { name, .. } if name == "last_row"));
    // GROUP BY / PARTITION BY keys
    let keys: Vec<&Expr> = sel.group_by.iter().chain(&sel.partition_by).collect();
    for k in &keys {
        match k {
            Expr::Column(n)
                if matches!(
                    schema.lookup(n),
                    Some(Ref::Tag(_) | Ref::Tbname | Ref::Col(_))
                ) => {}
            _ => fail!(
                code::INVALID_VALUE,
                "GROUP BY / PARTITION BY take tags, tbname or a column"
            ),
        }
    }
    // implicit columns (2.x): window start first, group keys last
    let mut columns: Vec<OutCol> = Vec::new();
    let selected: Vec<String> = outs
        .iter()
        .filter_map(|o| match &o.expr {
            Expr::Column(n) => Some(n.clone()),
            _ => None,
        })
        .collect();
    let selects = |name: &str| selected.iter().any(|n| n == name);
    if window_kind.is_some() && !selects("_wstart") {
        columns.push(OutCol {
            expr: Expr::Column("_wstart".into()),
            name: schema.columns[0].name.clone(),
            ty: DataType::Timestamp,
        });
    }
    if !multi.is_empty() && !selected.iter().any(|n| schema.lookup(n) == Some(Ref::Ts)) {
        let ts = &schema.columns[0];
        columns.push(OutCol {
            expr: Expr::Column(ts.name.clone()),
            name: ts.name.clone(),
            ty: DataType::Timestamp,
        });
    }
    let multi_col = multi.first().map(|m| m + columns.len());
    let outs_exprs: Vec<Expr> = outs.iter().map(|o| o.expr.clone()).collect();
    columns.extend(outs);
    if aggregate && !sel.group_by.is_empty() {
        for k in &sel.group_by {
            if let Expr::Column(n) = k {
                if !selects(n) {
                    columns.push(OutCol {
                        ty: type_of(k, &schema)?,
                        expr: k.clone(),
                        name: n.clone(),
                    });
                }
            }
        }
    }

    // the columns the query reads (blocks decode only those)
    let mut need = vec![false; schema.columns.len().saturating_sub(1)];
    {
        let mut mark = |e: &Expr| {
            e.walk(&mut |x| {
                if let Expr::Column(n) = x {
                    if let Some(Ref::Col(i)) = schema.lookup(n) {
                        need[i] = true;
                    }
                }
            })
        };
        columns.iter().for_each(|o| mark(&o.expr));
        sel.filter.iter().for_each(&mut mark);
        sel.group_by.iter().for_each(&mut mark);
        sel.partition_by.iter().for_each(&mut mark);
        sel.order_by.iter().for_each(|(e, _)| mark(e));
        if let Some(RowWindow::State(e)) = &sel.row_window {
            mark(e);
        }
    }
    let value_cols = &schema.columns[1..];
    // which tables take part (tag conditions), and their sealed rows
    let mut taking: Vec<usize> = Vec::with_capacity(sources.len());
    for (si, _) in sources.iter().enumerate() {
        let mut keep = true;
        for c in &tag_conds {
            keep &= truth(&base.eval_for_table(c, si)?) == Some(true);
        }
        if !keep {
            continue;
        }
        if lo <= hi {
            taking.push(si);
        }
    }
    // a table's own lower bound (a subscription's progress)
    let after = scope.after;
    let lo_of = |si: usize| match after.and_then(|a| a.get(sources[si].name)) {
        Some(&t) => lo.max(t.saturating_add(1)),
        None => lo,
    };
    if after.is_some() {
        for &si in &taking {
            if let Some(t) = sources[si].newest() {
                scope.newest.insert(sources[si].name.to_owned(), t);
            }
        }
    }
    // aggregates of plain columns over data without overlapping layers:
    // read column slices and block headers instead of rows
    let fast = match (spans, after, &row_cut) {
        (Some(_), _, _) | (_, Some(_), _) | (_, _, Some(_)) => None,
        (None, None, None) => fast::aggregate(&fast::Query {
            store: &view.reader,
            sel,
            columns: &columns,
            keys: &keys,
            schema: &schema,
            sources: &sources,
            taking: &taking,
            range: (lo, hi),
            now,
        })?,
    };
    let group_order = group_order(&sel.order_by, &keys);
    if let Some(mut groups) = fast {
        sort_groups(&mut groups, &group_order);
        let blocks = page(groups, sel.slimit).into_iter().map(|g| g.1).collect();
        return finish(blocks, sel, columns, &schema, !keys.is_empty(), precision);
    }
    let mut sealed: Vec<Option<scan::Scanned>> = (0..sources.len()).map(|_| None).collect();
    for &si in &taking {
        let src = &sources[si];
        let Some(tb) = src.blocks.filter(|t| !t.blocks.is_empty()) else {
            continue;
        };
        if last_row_only && src.last.is_some() {
            continue; // the cache has it
        }
        if last_row_only {
            let mem_last = src.data.and_then(|d| d.last_row()).map(|(t, _)| t);
            if mem_last.is_none_or(|t| t < tb.ts_max) {
                sealed[si] = Some(scan::sealed_last(&view.reader, tb, value_cols)?);
            }
            continue;
        }
        sealed[si] = Some(scan::sealed_rows(
            &view.reader,
            tb,
            value_cols,
            &need,
            lo_of(si),
            hi,
        )?);
    }
    let mut rows: Vec<Row<'_>> = Vec::new();
    for &si in &taking {
        let src = &sources[si];
        if let (true, Some((ts, vals))) = (last_row_only, src.last) {
            rows.push(Row {
                ts: *ts,
                vals,
                src: si,
            });
            continue;
        }
        if last_row_only {
            match (&sealed[si], src.data.and_then(|d| d.last_row())) {
                (Some(s), _) if !s.ts.is_empty() => rows.push(Row {
                    ts: s.ts[0],
                    vals: &s.vals,
                    src: si,
                }),
                (_, Some((ts, vals))) => rows.push(Row { ts, vals, src: si }),
                _ => {}
            }
            continue;
        }
        let before = rows.len();
        scan::merge(sealed[si].as_ref(), src.data, lo_of(si), hi, si, &mut rows);
        crate::limits::charge_bytes((rows.len() - before) * std::mem::size_of::<Row<'_>>())?;
    }
    if let Some(f) = &sel.filter {
        let mut kept = Vec::with_capacity(rows.len());
        for r in rows {
            crate::limits::tick()?;
            let one = [r];
            let cx = base.over(&one, None);
            if truth(&eval(f, &cx)?) == Some(true) {
                kept.push(r);
            }
        }
        rows = kept;
    }

    let mut groups = group_rows(rows, &keys, &base)?;
    sort_groups(&mut groups, &group_order);
    let group_list = page(groups, sel.slimit);

    let mut blocks: Vec<Vec<Vec<Value>>> = Vec::with_capacity(group_list.len());
    for (gkey, grows) in &group_list {
        let mut block: Vec<Vec<Value>> = Vec::new();
        if let Some(&mi) = multi.first() {
            let Expr::Func { name, args } = &outs_exprs[mi] else {
                unreachable!()
            };
            let cx = base.over(grows, None);
            for (row, v) in multirow::pick(name, args, grows, &cx)? {
                crate::limits::charge_row(columns.len())?;
                let one = [row];
                let rcx = base.over(&one, None);
                let mut out = Vec::with_capacity(columns.len());
                for (ci, c) in columns.iter().enumerate() {
                    if Some(ci) == multi_col {
                        out.push(v.clone());
                    } else {
                        out.push(eval(&c.expr, &rcx)?);
                    }
                }
                block.push(out);
            }
        } else if !aggregate {
            // rows come in time order: without ORDER BY, LIMIT n OFFSET k
            // needs only the first n + k (per group, as `finish` pages)
            let cap = match (sel.order_by.is_empty(), sel.limit) {
                (true, Some((n, off))) => (n.max(0) as usize).saturating_add(off.max(0) as usize),
                _ => usize::MAX,
            };
            for r in grows.iter().take(cap) {
                crate::limits::charge_row(columns.len())?;
                let one = [*r];
                let cx = base.over(&one, None);
                let mut row = Vec::with_capacity(columns.len());
                for c in &columns {
                    row.push(eval(&c.expr, &cx)?);
                }
                block.push(row);
            }
        } else if let Some(spans) = spans {
            for sp in spans.get(gkey).into_iter().flatten() {
                let from = grows.partition_point(|r| r.ts < sp.start);
                let last = if sp.one_point { sp.start } else { sp.end };
                let to = grows.partition_point(|r| r.ts <= last);
                let win = &grows[from..to.max(from)];
                if !win.is_empty() {
                    let cx = base.over(win, Some((sp.start, sp.end)));
                    block.push(window_row(&columns, &cx, Some(sp.mark))?);
                }
            }
        } else if let Some(cut) = &row_cut {
            for r in cut.windows(grows, &base)? {
                let win = &grows[r];
                let cx = base.over(win, Some((win[0].ts, win[win.len() - 1].ts)));
                block.push(window_row(&columns, &cx, None)?);
            }
        } else if let Some(iv) = &sel.interval {
            let w = time::Windows::new(iv, sel.sliding, precision)?;
            block = window::windowed(
                &columns,
                grows,
                &w,
                sel.fill.as_ref(),
                (lo, hi),
                &schema,
                &sources,
                now,
            )?;
        } else {
            let cx = base.over(grows, None);
            if !grows.is_empty() || !has_selector(&columns) {
                let mut row = Vec::with_capacity(columns.len());
                for c in &columns {
                    row.push(eval(&c.expr, &cx)?);
                }
                block.push(row);
            }
        }
        blocks.push(block);
    }
    finish(blocks, sel, columns, &schema, !keys.is_empty(), precision)
}

/// An ORDER BY of group keys only (`GROUP BY tbname ORDER BY tbname
/// DESC`) orders the groups, before SLIMIT picks some: each term as
/// `(index in keys, descending)`. Any other ORDER BY orders the rows
/// within each group (empty here).
fn group_order(order_by: &[(Expr, bool)], keys: &[&Expr]) -> Vec<(usize, bool)> {
    let by: Option<Vec<(usize, bool)>> = order_by
        .iter()
        .map(|(e, desc)| keys.iter().position(|k| *k == e).map(|i| (i, *desc)))
        .collect();
    by.unwrap_or_default()
}

/// Sorts groups by the keys `by` names (stable: ties keep key order).
fn sort_groups<T>(groups: &mut [(Vec<GroupKey>, T)], by: &[(usize, bool)]) {
    if by.is_empty() {
        return;
    }
    groups.sort_by(|(a, _), (b, _)| {
        by.iter()
            .map(|&(i, desc)| {
                let o = a[i].cmp(&b[i]);
                if desc { o.reverse() } else { o }
            })
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
}

/// The rows (each table's together, in time order) in groups by `keys`,
/// groups in key order, each group's rows in time order.
///
/// Keys of tags and tbname only are evaluated once per table, and the
/// tables sorted by them (`GROUP BY tbname` over 10,000 tables is 10,000
/// keys, not one per row); other keys once per row.
fn group_rows<'a>(
    mut rows: Vec<Row<'a>>,
    keys: &[&Expr],
    base: &Ctx<'_, 'a>,
) -> Result<Groups<Vec<Row<'a>>>> {
    if keys.is_empty() {
        // one group: the rows as scanned (each table's already in time order)
        if rows.iter().any(|r| r.src != rows[0].src) {
            rows.sort_by_key(|r| (r.ts, r.src));
        }
        return Ok(vec![(Vec::new(), rows)]);
    }
    let key_of = |cx: &Ctx<'_, 'a>, src: Option<usize>| -> Result<Vec<GroupKey>> {
        keys.iter()
            .map(|k| {
                Ok(GroupKey(match src {
                    Some(si) => cx.eval_for_table(k, si)?,
                    None => eval(k, cx)?,
                }))
            })
            .collect()
    };
    // runs of rows with one key: `(key, start)`, a run ending where the next starts
    let mut runs: Vec<(Vec<GroupKey>, usize)> = Vec::new();
    if keys.iter().all(|k| tag_only(k, base.schema)) {
        for (i, r) in rows.iter().enumerate() {
            if i == 0 || rows[i - 1].src != r.src {
                runs.push((key_of(base, Some(r.src))?, i));
            }
        }
    } else {
        for (i, r) in rows.iter().enumerate() {
            let one = [*r];
            runs.push((key_of(&base.over(&one, None), None)?, i));
        }
    }
    let ends: Vec<usize> = runs
        .iter()
        .skip(1)
        .map(|r| r.1)
        .chain([rows.len()])
        .collect();
    let mut runs: Vec<(Vec<GroupKey>, std::ops::Range<usize>)> = runs
        .into_iter()
        .zip(ends)
        .map(|((k, from), to)| (k, from..to))
        .collect();
    // stable: runs of one key stay in scan order
    runs.sort_by(|a, b| a.0.cmp(&b.0));
    let mut groups: Groups<Vec<Row<'a>>> = Vec::new();
    for (key, range) in runs {
        match groups.last_mut() {
            Some((k, g)) if (*k).cmp(&key).is_eq() => g.extend_from_slice(&rows[range]),
            _ => groups.push((key, rows[range].to_vec())),
        }
    }
    for (_, g) in &mut groups {
        // a group of one table's rows is in time order already
        if g.iter().any(|r| r.src != g[0].src) {
            g.sort_by_key(|r| (r.ts, r.src));
        }
    }
    Ok(groups)
}

/// One output row of a window whose rows and bounds `cx` holds; `mark` is
/// the anomaly window's `_anomalymark`.
fn window_row(columns: &[OutCol], cx: &Ctx<'_, '_>, mark: Option<i64>) -> Result<Vec<Value>> {
    columns
        .iter()
        .map(|c| match (&c.expr, mark) {
            (Expr::Column(n), Some(m)) if n == ANOMALY_MARK => Ok(Value::Int(m)),
            (e, _) => eval(e, cx),
        })
        .collect()
}

/// Whether an output column uses FIRST, LAST or LAST_ROW: such a query
/// over no rows answers no row (an aggregate alone answers one).
fn has_selector(columns: &[OutCol]) -> bool {
    columns.iter().any(|c| {
        let mut s = false;
        c.expr.walk(&mut |x| {
            if let Expr::Func { name, .. } = x {
                s |= matches!(name.as_str(), "first" | "last" | "last_row");
            }
        });
        s
    })
}

/// ORDER BY and LIMIT over each group's output rows (per group when the
/// query groups), then the result.
fn finish(
    blocks: Vec<Vec<Vec<Value>>>,
    sel: &Select,
    columns: Vec<OutCol>,
    schema: &Schema<'_>,
    per_group_limit: bool,
    precision: Precision,
) -> Result<Output> {
    let mut out_rows: Vec<Vec<Value>> = Vec::new();
    for mut block in blocks {
        order(&mut block, &sel.order_by, &columns, schema)?;
        if per_group_limit {
            block = page(block, sel.limit);
        }
        out_rows.extend(block);
    }
    if !per_group_limit {
        out_rows = page(out_rows, sel.limit);
    }
    Ok(Output::Rows {
        columns: columns
            .into_iter()
            .map(|c| ColMeta::new(c.name, c.ty))
            .collect(),
        rows: out_rows,
        precision,
    })
}

/// LIMIT / SLIMIT: `(count, offset)` of a list, or all of it.
pub(crate) fn page<T>(items: Vec<T>, limit: Option<(i64, i64)>) -> Vec<T> {
    match limit {
        Some((n, off)) => items
            .into_iter()
            .skip(off as usize)
            .take(n as usize)
            .collect(),
        None => items,
    }
}

/// Groups with their keys, in key order unless sorted otherwise.
pub(crate) type Groups<T> = Vec<(Vec<GroupKey>, T)>;

/// A group key with a total order (NULLs first).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupKey(pub Value);

impl Eq for GroupKey {}

impl PartialOrd for GroupKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for GroupKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        match (&self.0, &other.0) {
            (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
            (Value::Null, _) => std::cmp::Ordering::Less,
            (_, Value::Null) => std::cmp::Ordering::Greater,
            (a, b) => a.cmp_sql(b).unwrap_or(std::cmp::Ordering::Equal),
        }
    }
}

/// ORDER BY over output rows: by output column name, alias or expression.
fn order(
    block: &mut [Vec<Value>],
    by: &[(Expr, bool)],
    columns: &[OutCol],
    schema: &Schema<'_>,
) -> Result<()> {
    if by.is_empty() {
        return Ok(());
    }
    let mut keys = Vec::new();
    for (e, desc) in by {
        let idx = columns.iter().position(|c| {
            c.expr == *e
                || matches!(e, Expr::Column(n) if *n == c.name
                    || (schema.lookup(n) == Some(Ref::Ts) && matches!(&c.expr, Expr::Column(m) if m == "_wstart" || schema.lookup(m) == Some(Ref::Ts))))
        });
        let Some(idx) = idx else {
            fail!(
                code::INVALID_VALUE,
                "ORDER BY must name a column of the result"
            );
        };
        keys.push((idx, *desc));
    }
    block.sort_by(|a, b| {
        for (i, desc) in &keys {
            let o = GroupKey(a[*i].clone()).cmp(&GroupKey(b[*i].clone()));
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
    Ok(())
}

/// SELECT without FROM: server functions and constants.
fn constant_select(sel: &Select, current: Option<&str>) -> Result<Output> {
    let columns: &[Column] = &[];
    let schema = Schema {
        columns,
        tags: &[],
        stable: false,
        precision: Precision::Ms,
    };
    let now = Precision::Ms.now();
    let cx = Ctx {
        schema: &schema,
        sources: &[],
        now,
        rows: &[],
        window: None,
    };
    let mut cols = Vec::new();
    let mut row = Vec::new();
    for item in &sel.items {
        let v = match &item.expr {
            Expr::Func { name, .. } if name == "database" => {
                current.map_or(Value::Null, |d| Value::Str(d.to_owned()))
            }
            e => eval(e, &cx)?,
        };
        cols.push(ColMeta::new(
            item.alias.clone().unwrap_or_else(|| item.text.clone()),
            type_of(&item.expr, &schema)?,
        ));
        row.push(v);
    }
    Ok(Output::Rows {
        columns: cols,
        rows: vec![row],
        precision: Precision::Ms,
    })
}

#[cfg(test)]
mod tests {
    use crate::result::Output;
    use crate::state::Engine;
    use crate::types::Value;

    fn rows(o: Output) -> Vec<Vec<Value>> {
        match o {
            Output::Rows { rows, .. } => rows,
            other => panic!("{other:?}"),
        }
    }

    /// The last-row shortcut and the column path's count answer what a scan would.
    #[test]
    fn shortcuts_agree_with_scans() {
        let dir = std::env::temp_dir().join(format!("tsdb-query-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let e = Engine::open(&dir).unwrap();
        e.execute("create database d", None).unwrap();
        e.execute(
            "create table st (ts timestamp, v int, w int) tags (g int)",
            Some("d"),
        )
        .unwrap();
        for t in 0..5 {
            let mut sql = format!("insert into c{t} using st tags ({}) values ", t % 2);
            for i in 0..50 {
                sql.push_str(&format!(
                    "({}, {}, {}) ",
                    1_700_000_000_000i64 + i * 1000 + t,
                    i * t,
                    if i == 49 {
                        "null".to_string()
                    } else {
                        i.to_string()
                    }
                ));
            }
            e.execute(&sql, Some("d")).unwrap();
        }
        let fast = rows(
            e.execute(
                "select last_row(*), tbname from st group by tbname",
                Some("d"),
            )
            .unwrap(),
        );
        assert_eq!(fast.len(), 5);
        for (t, r) in fast.iter().enumerate() {
            // the newest row of each table, its NULL included
            assert_eq!(r[0], Value::Int(1_700_000_000_000 + 49_000 + t as i64));
            assert_eq!(r[1], Value::Int(49 * t as i64));
            assert_eq!(r[2], Value::Null);
            assert_eq!(r[3], Value::Str(format!("c{t}")));
        }
        // a column condition disables the shortcut, and the answer follows it
        let scanned = rows(
            e.execute(
                "select last_row(v) from st where w >= 0 group by tbname",
                Some("d"),
            )
            .unwrap(),
        );
        assert_eq!(scanned[4][0], Value::Int(48 * 4));
        let fast = rows(
            e.execute("select last_row(v) from st where g = 1", Some("d"))
                .unwrap(),
        );
        assert_eq!(fast, vec![vec![Value::Int(49 * 3)]]);
        assert_eq!(
            rows(e.execute("select count(*) from st", Some("d")).unwrap()),
            vec![vec![Value::Int(250)]]
        );
        assert_eq!(
            rows(
                e.execute("select count(*) from st where g = 0", Some("d"))
                    .unwrap()
            ),
            vec![vec![Value::Int(150)]]
        );
        assert_eq!(
            rows(
                e.execute("select count(*) from st where w > 10", Some("d"))
                    .unwrap()
            ),
            vec![vec![Value::Int(5 * 38)]]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// WAL 2 with FSYNC 0: every acknowledged insert was fsynced, and
    /// concurrent writers share fsyncs (never more than one per statement).
    #[test]
    fn group_commit_under_concurrent_writers() {
        let dir = std::env::temp_dir().join(format!("tsdb-group-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let e = std::sync::Arc::new(Engine::open(&dir).unwrap());
        e.execute("create database g wal 2 fsync 0", None).unwrap();
        e.execute("create table t (ts timestamp, v int)", Some("g"))
            .unwrap();
        let now = crate::types::Precision::Ms.now();
        std::thread::scope(|s| {
            for w in 0..8i64 {
                let e = e.clone();
                s.spawn(move || {
                    for i in 0..50i64 {
                        let sql = format!(
                            "insert into t values ({}, {w})",
                            now - 1_000_000 + w * 1000 + i
                        );
                        assert_eq!(e.execute(&sql, Some("g")).unwrap(), Output::Affected(1));
                    }
                });
            }
        });
        let syncs = e.wal_syncs();
        assert!(
            (1..=400).contains(&syncs),
            "{syncs} fsyncs for 400 statements"
        );
        assert_eq!(
            rows(e.execute("select count(*) from t", Some("g")).unwrap()),
            vec![vec![Value::Int(400)]]
        );
        drop(e);
        // reopened from the WAL: all 400 rows
        let e = Engine::open(&dir).unwrap();
        assert_eq!(
            rows(e.execute("select count(*) from t", Some("g")).unwrap()),
            vec![vec![Value::Int(400)]]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// WAL records name columns by id, so replay after ADD/DROP COLUMN puts
    /// every value back under the right column; a dropped and re-created
    /// table does not get its old rows back.
    #[test]
    fn replay_follows_schema_changes() {
        let dir = std::env::temp_dir().join(format!("tsdb-replay-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let e = Engine::open(&dir).unwrap();
            e.execute("create database d", None).unwrap();
            e.execute(
                "create table t (ts timestamp, a int, b int, c int)",
                Some("d"),
            )
            .unwrap();
            e.execute("insert into t values (1600000000000, 1, 2, 3)", Some("d"))
                .unwrap();
            e.execute("alter table t drop column b", Some("d")).unwrap();
            e.execute("alter table t add column b double", Some("d"))
                .unwrap();
            e.execute("insert into t values (1600000001000, 4, 5, 6.5)", Some("d"))
                .unwrap();
            e.execute("create table gone (ts timestamp, v int)", Some("d"))
                .unwrap();
            e.execute("insert into gone values (1600000000000, 9)", Some("d"))
                .unwrap();
            e.execute("drop table gone", Some("d")).unwrap();
            e.execute("create table gone (ts timestamp, v int)", Some("d"))
                .unwrap();
        }
        let e = Engine::open(&dir).unwrap();
        assert_eq!(
            rows(e.execute("select * from t", Some("d")).unwrap()),
            vec![
                vec![
                    Value::Int(1_600_000_000_000),
                    Value::Int(1),
                    Value::Int(3),
                    Value::Null
                ],
                vec![
                    Value::Int(1_600_000_001_000),
                    Value::Int(4),
                    Value::Int(5),
                    Value::Double(6.5)
                ],
            ]
        );
        assert_eq!(
            rows(e.execute("select count(*) from gone", Some("d")).unwrap()),
            vec![vec![Value::Int(0)]]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// KEEP drops whole DAYS partitions once all of them is too old.
    #[test]
    fn retention_drops_whole_partitions() {
        let dir = std::env::temp_dir().join(format!("tsdb-keep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let e = Engine::open(&dir).unwrap();
        e.execute("create database r keep 10 days 2", None).unwrap();
        e.execute("create table t (ts timestamp, v int)", Some("r"))
            .unwrap();
        let day = 86_400_000i64;
        let now = crate::types::Precision::Ms.now();
        // one row per day, 9.5 days back to today
        let mut sql = String::from("insert into t values ");
        for k in 0..10 {
            sql.push_str(&format!("({}, {k}) ", now - 9 * day - day / 2 + k * day));
        }
        e.execute(&sql, Some("r")).unwrap();
        assert_eq!(e.expire(now), 0, "nothing is older than keep yet");
        // five days later: partitions entirely before now+5d-10d go
        let later = now + 5 * day;
        let horizon = later - 10 * day;
        let part_start = horizon.div_euclid(2 * day) * 2 * day;
        let expected_gone = (0..10)
            .filter(|k| now - 9 * day - day / 2 + k * day < part_start)
            .count();
        // the rows 9.5, 8.5 and 7.5 days back are always in a partition
        // wholly before the horizon; the 6.5- and 5.5-day ones depend on
        // where "now" falls in the 2-day partition grid (this assertion
        // said ≥ 4 and failed a quarter of the day)
        assert!((3..=5).contains(&expected_gone), "{expected_gone}");
        assert_eq!(e.expire(later), expected_gone);
        let left = rows(e.execute("select count(*) from t", Some("r")).unwrap());
        assert_eq!(left, vec![vec![Value::Int(10 - expected_gone as i64)]]);
        // what stays starts in the partition holding now - keep
        let first = rows(e.execute("select first(ts) from t", Some("r")).unwrap());
        let Value::Int(first) = first[0][0] else {
            panic!()
        };
        assert!(first >= part_start && part_start > horizon - 2 * day);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
