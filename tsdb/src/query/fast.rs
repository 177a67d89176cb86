//! Aggregates read straight from column slices and block headers.
//!
//! COUNT, SUM, AVG, MIN, MAX, SPREAD, FIRST and LAST of plain columns, with
//! or without INTERVAL/SLIDING, grouped by tags or tbname or not, under a
//! WHERE of time bounds and tag conditions only. A block wholly inside the
//! time range and inside one window, overlapping no other layer, is
//! answered from its header without decoding; the others are folded over
//! their decoded column slices (layers that overlap, from late rows, are
//! merged into one segment first). Everything else takes the row path,
//! which gives the same answers (a test checks both on the same data).
//!
//! May import: `error`, `sql`, `storage`, `types`, its parent's `has_selector`,
//! `split_and`, `tag_only`, `time`, `ts_bound`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{
    Ctx, GroupKey, Groups, OutCol, Ref, Schema, Source, has_selector, split_and, tag_only, time,
    ts_bound,
};
use crate::error::Result;
use crate::sql::ast::{Expr, Fill, Select};
use crate::storage::block::Block;
use crate::storage::column::{ColData, Kind, Values};
use crate::storage::store::{Columns, Reader};
use crate::types::Value;

pub(crate) struct Query<'q, 'a> {
    pub store: &'q Reader,
    pub sel: &'q Select,
    pub columns: &'q [OutCol],
    pub keys: &'q [&'q Expr],
    pub schema: &'q Schema<'a>,
    pub sources: &'q [Source<'a>],
    /// The sources that pass the tag conditions.
    pub taking: &'q [usize],
    pub range: (i64, i64),
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    /// COUNT(*) or COUNT(ts): rows.
    Rows,
    Count,
    Sum,
    Avg,
    Min,
    Max,
    Spread,
    First,
    Last,
}

#[derive(Debug, Clone, Copy)]
struct Spec {
    func: Func,
    /// Column id and kind (none for [`Func::Rows`]).
    col: Option<(u16, Kind)>,
}

enum Out {
    Agg(usize),
    WStart,
    WEnd,
    /// The group key at this index.
    Key(usize),
}

#[derive(Debug, Clone)]
struct Acc {
    rows: i64,
    /// Non-NULL values seen.
    n: i64,
    sum_f: f64,
    sum_i: i64,
    lo_i: i64,
    hi_i: i64,
    lo_f: f64,
    hi_f: f64,
    /// FIRST and LAST only: boxed, so that the accumulators of other
    /// functions stay 72 bytes (a 10 M-row `interval(1m)` keeps 166,667 of
    /// them; with the two values inline they were 144 and their memory
    /// traffic showed in profiles).
    ends: Option<Box<Ends>>,
}

/// The earliest and latest value seen, with their timestamps.
#[derive(Debug, Clone, Default)]
struct Ends {
    first: Option<(i64, Value)>,
    last: Option<(i64, Value)>,
}

impl Default for Acc {
    fn default() -> Self {
        Acc {
            rows: 0,
            n: 0,
            sum_f: 0.0,
            sum_i: 0,
            lo_i: i64::MAX,
            hi_i: i64::MIN,
            lo_f: f64::INFINITY,
            hi_f: f64::NEG_INFINITY,
            ends: None,
        }
    }
}

impl Acc {
    fn first(&mut self, ts: i64, v: Value) {
        // the earliest; on a tie the table scanned first (as the row path)
        let e = self.ends.get_or_insert_default();
        if e.first.as_ref().is_none_or(|(t, _)| ts < *t) {
            e.first = Some((ts, v));
        }
    }
    fn last(&mut self, ts: i64, v: Value) {
        let e = self.ends.get_or_insert_default();
        if e.last.as_ref().is_none_or(|(t, _)| ts >= *t) {
            e.last = Some((ts, v));
        }
    }

    fn result(&self, s: &Spec) -> Value {
        let kind = s.col.map_or(Kind::Int, |c| c.1);
        if s.func == Func::Rows {
            return Value::Int(self.rows);
        }
        if s.func == Func::Count {
            return Value::Int(self.n);
        }
        if self.n == 0 {
            return Value::Null;
        }
        let ext = |i: i64, f: f64| match kind {
            Kind::Double => Value::Double(f),
            Kind::Bool => Value::Bool(i != 0),
            _ => Value::Int(i),
        };
        match s.func {
            Func::Sum if kind == Kind::Double => Value::Double(self.sum_f),
            Func::Sum => Value::Int(self.sum_i),
            Func::Avg => Value::Double(self.sum_f / self.n as f64),
            Func::Min => ext(self.lo_i, self.lo_f),
            Func::Max => ext(self.hi_i, self.hi_f),
            Func::Spread if kind == Kind::Double => Value::Double(self.hi_f - self.lo_f),
            Func::Spread => Value::Double(self.hi_i as f64 - self.lo_i as f64),
            Func::First => self
                .ends
                .as_ref()
                .and_then(|e| e.first.as_ref())
                .map_or(Value::Null, |f| f.1.clone()),
            Func::Last => self
                .ends
                .as_ref()
                .and_then(|e| e.last.as_ref())
                .map_or(Value::Null, |f| f.1.clone()),
            Func::Rows | Func::Count => unreachable!("answered above"),
        }
    }

    /// A whole block from its header.
    fn add_header(&mut self, s: &Spec, b: &Block) {
        self.rows += i64::from(b.meta.rows);
        let Some((id, kind)) = s.col else { return };
        let Some(c) = b.col_index(id).map(|i| &b.meta.cols[i]) else {
            return; // column added after the block was written: all NULL
        };
        let st = &c.stats;
        if st.non_null == 0 {
            return;
        }
        self.n += i64::from(st.non_null);
        self.sum_f += st.sum_f;
        self.sum_i = self.sum_i.wrapping_add(st.sum_i);
        match kind {
            Kind::Double => {
                if let (Some(lo), Some(hi)) = (st.min.as_f64(), st.max.as_f64()) {
                    self.lo_f = self.lo_f.min(lo);
                    self.hi_f = self.hi_f.max(hi);
                }
            }
            _ => {
                if let (Some(lo), Some(hi)) = (st.min.as_i64(), st.max.as_i64()) {
                    self.lo_i = self.lo_i.min(lo);
                    self.hi_i = self.hi_i.max(hi);
                }
            }
        }
        match s.func {
            Func::First => self.first(st.first_ts, st.first.clone()),
            Func::Last => self.last(st.last_ts, st.last.clone()),
            _ => {}
        }
    }

    /// Rows `p..q` of a decoded segment.
    fn add_rows(&mut self, s: &Spec, ts: &[i64], col: Option<&ColData>, p: usize, q: usize) {
        self.rows += (q - p) as i64;
        let Some(c) = col else { return };
        let live = |i: &usize| !c.is_null(*i);
        match s.func {
            Func::Rows => {}
            Func::First => {
                if let Some(i) = (p..q).find(live) {
                    self.first(ts[i], c.get(i));
                    self.n += 1;
                }
            }
            Func::Last => {
                if let Some(i) = (p..q).rev().find(live) {
                    self.last(ts[i], c.get(i));
                    self.n += 1;
                }
            }
            Func::Count => self.n += (p..q).filter(live).count() as i64,
            _ => {
                let sum = matches!(s.func, Func::Sum | Func::Avg);
                match (&c.values, &c.nulls) {
                    (Values::Double(v), None) => {
                        let v = &v[p..q];
                        if sum {
                            self.sum_f += sum_f64(v);
                        } else {
                            let (lo, hi) = min_max_f64(v);
                            self.lo_f = self.lo_f.min(lo);
                            self.hi_f = self.hi_f.max(hi);
                        }
                        self.n += v.len() as i64;
                    }
                    (Values::Int(v), None) => {
                        let v = &v[p..q];
                        if sum {
                            let total = sum_i64(v);
                            // the wrapping sum SUM reports, and the exact one as
                            // a double for AVG
                            self.sum_i = self.sum_i.wrapping_add(total as i64);
                            self.sum_f += total as f64;
                        } else {
                            let (lo, hi) = min_max_i64(v);
                            self.lo_i = self.lo_i.min(lo);
                            self.hi_i = self.hi_i.max(hi);
                        }
                        self.n += v.len() as i64;
                    }
                    (Values::Double(v), Some(nulls)) => {
                        for i in p..q {
                            if !nulls[i] {
                                let x = v[i];
                                self.sum_f += x;
                                self.lo_f = self.lo_f.min(x);
                                self.hi_f = self.hi_f.max(x);
                                self.n += 1;
                            }
                        }
                    }
                    (Values::Int(v), Some(nulls)) => {
                        for i in p..q {
                            if !nulls[i] {
                                let x = v[i];
                                self.sum_i = self.sum_i.wrapping_add(x);
                                self.sum_f += x as f64;
                                self.lo_i = self.lo_i.min(x);
                                self.hi_i = self.hi_i.max(x);
                                self.n += 1;
                            }
                        }
                    }
                    (Values::Str(_), _) => {}
                }
            }
        }
    }
}

/// Lanes of the folds below: independent partial results, so that a
/// long slice is not one chain of dependent additions (an f64 addition
/// waits 4 cycles for the previous one; four lanes keep the adder busy and
/// let the compiler use vector instructions).
const LANES: usize = 4;

/// The sum of `v` in [`LANES`] partial sums (rounded differently from a
/// left-to-right sum, within the tolerance the row path is held to).
fn sum_f64(v: &[f64]) -> f64 {
    let mut acc = [0.0; LANES];
    let chunks = v.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The exact sum of `v` (an `i128` cannot overflow on a slice of `i64`).
fn sum_i64(v: &[i64]) -> i128 {
    v.iter().map(|&x| i128::from(x)).sum()
}

/// The least and greatest of `v` in [`LANES`] lanes, from `none` (the
/// answer for no values) with `min` and `max` (NaN ignored for `f64`, as
/// `f64::min` does).
fn min_max<T: Copy>(v: &[T], none: (T, T), min: fn(T, T) -> T, max: fn(T, T) -> T) -> (T, T) {
    let mut lo = [none.0; LANES];
    let mut hi = [none.1; LANES];
    let chunks = v.chunks_exact(LANES);
    let (mut tl, mut th) = none;
    for &x in chunks.remainder() {
        tl = min(tl, x);
        th = max(th, x);
    }
    for c in chunks {
        for i in 0..LANES {
            lo[i] = min(lo[i], c[i]);
            hi[i] = max(hi[i], c[i]);
        }
    }
    (
        lo.iter().fold(tl, |m, &x| min(m, x)),
        hi.iter().fold(th, |m, &x| max(m, x)),
    )
}

fn min_max_f64(v: &[f64]) -> (f64, f64) {
    min_max(v, (f64::INFINITY, f64::NEG_INFINITY), f64::min, f64::max)
}

fn min_max_i64(v: &[i64]) -> (i64, i64) {
    min_max(v, (i64::MAX, i64::MIN), Ord::min, Ord::max)
}

/// The function spec of an output column, if the fast path can compute it.
fn spec(e: &Expr, schema: &Schema<'_>) -> Option<Spec> {
    let Expr::Func { name, args } = e else {
        return None;
    };
    let func = match name.as_str() {
        "count" => Func::Count,
        "sum" => Func::Sum,
        "avg" => Func::Avg,
        "min" => Func::Min,
        "max" => Func::Max,
        "spread" => Func::Spread,
        "first" => Func::First,
        "last" => Func::Last,
        _ => return None,
    };
    match args.as_slice() {
        [Expr::Star] if func == Func::Count => Some(Spec {
            func: Func::Rows,
            col: None,
        }),
        [Expr::Column(n)] => match schema.lookup(n)? {
            Ref::Ts if func == Func::Count => Some(Spec {
                func: Func::Rows,
                col: None,
            }),
            Ref::Col(i) => {
                let c = &schema.columns[i + 1];
                let kind = Kind::of(c.ty);
                let numeric_only = !matches!(func, Func::Count | Func::First | Func::Last);
                if kind == Kind::Str && numeric_only {
                    return None; // the row path reports the error
                }
                Some(Spec {
                    func,
                    col: Some((c.id, kind)),
                })
            }
            _ => None,
        },
        _ => None,
    }
}

/// One table's (or group's) windows by start, ascending, each with one
/// accumulator per spec.
///
/// Sorted vectors, not a tree: a table's segments fold in time order, so
/// the window a row lands in is nearly always the last one or a new last
/// one (an append), and a 10 M-row `interval(1m)` makes 166,667 of them.
/// The accumulators lie in one flat vector, `width` per window, so a new
/// window allocates nothing most of the time. A segment that starts inside
/// an earlier window (a block boundary, sliding windows) finds it by binary
/// search; another table's windows join in one merging pass
/// ([`Windows::absorb`]).
#[derive(Default)]
struct Windows {
    width: usize,
    starts: Vec<i64>,
    accs: Vec<Acc>,
}

impl Windows {
    fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    /// The accumulators of the window at `start`, `specs` of them, created
    /// empty when new.
    fn at(&mut self, start: i64, specs: usize) -> &mut [Acc] {
        if self.starts.is_empty() {
            self.width = specs;
        }
        let w = self.width;
        let i = match self.starts.last() {
            Some(&last) if last == start => self.starts.len() - 1,
            Some(&last) if last > start => match self.starts.binary_search(&start) {
                Ok(i) => i,
                Err(i) => {
                    self.starts.insert(i, start);
                    self.accs
                        .splice(i * w..i * w, std::iter::repeat_n(Acc::default(), w));
                    i
                }
            },
            _ => {
                self.starts.push(start);
                if w == 1 {
                    self.accs.push(Acc::default()); // no iterator per window
                } else {
                    self.accs.extend(std::iter::repeat_n(Acc::default(), w));
                }
                self.starts.len() - 1
            }
        };
        &mut self.accs[i * w..(i + 1) * w]
    }

    /// Room for `n` more windows of `specs` accumulators each.
    fn reserve(&mut self, n: usize, specs: usize) {
        self.starts.reserve(n);
        self.accs.reserve(n * specs);
    }

    /// Each window's start and accumulators, in order.
    fn iter(&self) -> impl Iterator<Item = (i64, &[Acc])> {
        self.starts
            .iter()
            .copied()
            .zip(self.accs.chunks(self.width.max(1)))
    }

    /// The windows with their accumulators, in order, taken apart.
    fn into_entries(self) -> impl Iterator<Item = (i64, Vec<Acc>)> {
        let w = self.width;
        let mut accs = self.accs.into_iter();
        self.starts
            .into_iter()
            .map(move |s| (s, accs.by_ref().take(w).collect()))
    }
}

/// A group's windows: its first table's as they are (most groups have one
/// table), in a tree once a second table's join, since tables of a group
/// may cover other times and a sorted vector would shift on every new
/// window in the middle.
enum GroupWindows {
    Flat(Windows),
    Tree(BTreeMap<i64, Vec<Acc>>),
}

impl Default for GroupWindows {
    fn default() -> Self {
        GroupWindows::Flat(Windows::default())
    }
}

impl GroupWindows {
    fn is_empty(&self) -> bool {
        match self {
            GroupWindows::Flat(w) => w.is_empty(),
            GroupWindows::Tree(t) => t.is_empty(),
        }
    }

    fn len(&self) -> usize {
        match self {
            GroupWindows::Flat(w) => w.len(),
            GroupWindows::Tree(t) => t.len(),
        }
    }

    /// Adds one table's windows, merging the accumulators of windows the
    /// group has.
    fn absorb(&mut self, other: Windows) {
        let tree = match self {
            GroupWindows::Flat(w) if w.is_empty() => {
                *w = other;
                return;
            }
            GroupWindows::Flat(w) => {
                let mut tree = BTreeMap::new();
                tree.extend(std::mem::take(w).into_entries());
                *self = GroupWindows::Tree(tree);
                let GroupWindows::Tree(t) = self else {
                    unreachable!("just made")
                };
                t
            }
            GroupWindows::Tree(t) => t,
        };
        for (start, accs) in other.into_entries() {
            match tree.get_mut(&start) {
                None => {
                    tree.insert(start, accs);
                }
                Some(have) => {
                    for (h, a) in have.iter_mut().zip(accs) {
                        merge(h, a);
                    }
                }
            }
        }
    }

    /// Each window's start and accumulators, in order.
    fn iter(&self) -> Box<dyn Iterator<Item = (i64, &[Acc])> + '_> {
        match self {
            GroupWindows::Flat(w) => Box::new(w.iter()),
            GroupWindows::Tree(t) => Box::new(t.iter().map(|(s, a)| (*s, a.as_slice()))),
        }
    }
}

/// Each group's key and the rows of its windows, groups in key order;
/// `None` when the query needs the row path.
pub(crate) fn aggregate(q: &Query<'_, '_>) -> Result<Option<Groups<Vec<Vec<Value>>>>> {
    let sel = q.sel;
    if matches!(&sel.fill, Some(f) if !matches!(f, Fill::None)) {
        return Ok(None);
    }
    if let Some(f) = &sel.filter {
        let mut conj = Vec::new();
        split_and(f, &mut conj);
        // every other condition must be one the time range already applies
        for c in conj {
            if !tag_only(c, q.schema) && ts_bound(c, q.schema, q.now)?.is_none() {
                return Ok(None);
            }
        }
    }
    for k in q.keys {
        if !matches!(k, Expr::Column(n) if matches!(q.schema.lookup(n), Some(Ref::Tag(_) | Ref::Tbname)))
        {
            return Ok(None);
        }
    }
    let mut specs: Vec<Spec> = Vec::new();
    let mut outs: Vec<Out> = Vec::new();
    for c in q.columns {
        match &c.expr {
            Expr::Column(n) if n == "_wstart" && sel.interval.is_some() => outs.push(Out::WStart),
            Expr::Column(n) if n == "_wend" && sel.interval.is_some() => outs.push(Out::WEnd),
            e @ Expr::Column(_) if q.keys.contains(&e) => outs.push(Out::Key(
                q.keys.iter().position(|k| *k == e).expect("checked"),
            )),
            e => {
                let Some(s) = spec(e, q.schema) else {
                    return Ok(None);
                };
                outs.push(Out::Agg(specs.len()));
                specs.push(s);
            }
        }
    }
    if specs.is_empty() {
        return Ok(None);
    }
    let windows = match &sel.interval {
        Some(iv) => Some(time::Windows::new(iv, sel.sliding, q.schema.precision)?),
        None => None,
    };

    // groups: key -> windows
    let mut groups: BTreeMap<Vec<GroupKey>, GroupWindows> = BTreeMap::new();
    let cx = Ctx {
        schema: q.schema,
        sources: q.sources,
        now: q.now,
        rows: &[],
        window: None,
    };
    for &si in q.taking {
        let mut key = Vec::with_capacity(q.keys.len());
        for k in q.keys {
            key.push(GroupKey(cx.eval_for_table(k, si)?));
        }
        let mut wins = Windows::default();
        scan_source(q, &specs, windows.as_ref(), &q.sources[si], &mut wins)?;
        if wins.is_empty() && !q.keys.is_empty() {
            continue; // a group exists only with rows
        }
        // the group's first table (often its only one) moves in whole
        groups.entry(key).or_default().absorb(wins);
    }
    if groups.is_empty() && q.keys.is_empty() {
        groups.insert(Vec::new(), GroupWindows::default());
    }
    let selector = has_selector(q.columns);
    let mut out = Vec::with_capacity(groups.len());
    for (key, mut wins) in groups {
        if windows.is_none() && wins.is_empty() && !selector {
            // an aggregate over no rows still answers one row
            let mut one = Windows::default();
            one.at(0, specs.len());
            wins.absorb(one);
        }
        let mut block = Vec::with_capacity(wins.len());
        for (start, accs) in wins.iter() {
            let mut row = Vec::with_capacity(outs.len());
            for o in &outs {
                row.push(match o {
                    Out::Agg(i) => accs[*i].result(&specs[*i]),
                    Out::WStart => Value::Int(start),
                    Out::WEnd => Value::Int(windows.as_ref().map_or(start, |w| w.end(start))),
                    Out::Key(i) => key[*i].0.clone(),
                });
            }
            block.push(row);
        }
        out.push((key, block));
    }
    Ok(Some(out))
}

fn merge(into: &mut Acc, a: Acc) {
    into.rows += a.rows;
    into.n += a.n;
    into.sum_f += a.sum_f;
    into.sum_i = into.sum_i.wrapping_add(a.sum_i);
    into.lo_i = into.lo_i.min(a.lo_i);
    into.hi_i = into.hi_i.max(a.hi_i);
    into.lo_f = into.lo_f.min(a.lo_f);
    into.hi_f = into.hi_f.max(a.hi_f);
    let Some(ends) = a.ends else { return };
    if let Some((t, v)) = ends.first {
        into.first(t, v);
    }
    if let Some((t, v)) = ends.last {
        into.last(t, v);
    }
}

/// Folds one table into `wins`: its blocks in time order, then its
/// memtable. Blocks that overlap in time (late rows not merged yet), and
/// the memtable where it overlaps blocks, are first merged into one
/// segment, the newest layer winning a timestamp.
fn scan_source(
    q: &Query<'_, '_>,
    specs: &[Spec],
    w: Option<&time::Windows>,
    src: &Source<'_>,
    wins: &mut Windows,
) -> Result<()> {
    let (lo, hi) = q.range;
    // the memtable in place when it can be (no late rows in the range),
    // else as a list of rows
    let slices = src.data.and_then(|m| m.run_slices(lo, hi));
    let mem: Vec<(i64, &[Value])> = match (slices, src.data) {
        (None, Some(m)) => m.range(lo, hi).collect(),
        _ => Vec::new(),
    };
    let mem_first = match slices {
        Some((ts, _, _)) => ts.first().copied().unwrap_or(i64::MAX),
        None => mem.first().map_or(i64::MAX, |r| r.0),
    };
    // runs of blocks overlapping each other; the last ones may also
    // overlap the memtable
    let mut runs: Vec<Vec<&Arc<Block>>> = Vec::new();
    let mut end = i64::MIN;
    if let Some(tb) = src.blocks {
        for b in tb.in_range(lo, hi) {
            if runs.is_empty() || b.meta.ts_min > end {
                runs.push(Vec::new());
            }
            end = end.max(b.meta.ts_max);
            runs.last_mut().expect("pushed").push(b);
        }
    }
    // room for all of the table's windows at once when it is the first
    // into them: a 10 M-row table makes 166,667, and growing the vector by
    // doubling copied the accumulators over and over
    if let (Some(w), true) = (w, wins.is_empty()) {
        let (mem_rows, mem_last) = match slices {
            Some((ts, _, _)) => (ts.len(), ts.last().copied()),
            None => (mem.len(), mem.last().map(|r| r.0)),
        };
        let rows = mem_rows
            + runs
                .iter()
                .flatten()
                .map(|b| b.meta.rows as usize)
                .sum::<usize>();
        let first = runs
            .first()
            .map_or(mem_first, |r| r[0].meta.ts_min.min(mem_first))
            .max(lo);
        let last = end.max(mem_last.unwrap_or(i64::MIN)).min(hi);
        if rows > 0 && first <= last {
            let (s, l) = (w.first_start(first), w.first_start(last));
            let step = (w.next(s) - s).max(1);
            let n = usize::try_from(l.saturating_sub(s) / step + 1).unwrap_or(usize::MAX);
            wins.reserve(n.min(rows), specs.len());
        }
    }
    // from the first run the memtable reaches, everything is one segment
    let k = runs
        .iter()
        .position(|run| run.iter().any(|b| b.meta.ts_max >= mem_first))
        .unwrap_or(runs.len());
    for run in &runs[..k] {
        if run.len() == 1 {
            block_segment(q, specs, w, run[0], wins)?;
        } else {
            let (t, cols) = merged_segment(q, specs, run, &[])?;
            let cols: Vec<Option<&ColData>> = cols.iter().map(Option::as_ref).collect();
            fold_segment(specs, w, &t, &cols, (lo, hi), wins);
        }
    }
    if k < runs.len() {
        let tail: Vec<&Arc<Block>> = runs[k..].iter().flatten().copied().collect();
        let mem = match slices {
            Some((ts, vals, width)) => ts.iter().copied().zip(vals.chunks_exact(width)).collect(),
            None => mem,
        };
        let (t, cols) = merged_segment(q, specs, &tail, &mem)?;
        let cols: Vec<Option<&ColData>> = cols.iter().map(Option::as_ref).collect();
        fold_segment(specs, w, &t, &cols, (lo, hi), wins);
    } else if let Some((ts, vals, width)) = slices.filter(|s| !s.0.is_empty()) {
        let cols = mem_columns(q, specs, vals.chunks_exact(width));
        let cols: Vec<Option<&ColData>> = cols.iter().map(Option::as_ref).collect();
        fold_segment(specs, w, ts, &cols, (lo, hi), wins);
    } else if !mem.is_empty() {
        let t: Vec<i64> = mem.iter().map(|r| r.0).collect();
        let cols = mem_columns(q, specs, mem.iter().map(|r| r.1));
        let cols: Vec<Option<&ColData>> = cols.iter().map(Option::as_ref).collect();
        fold_segment(specs, w, &t, &cols, (lo, hi), wins);
    }
    Ok(())
}

/// One block that overlaps no other layer: from its header when it lies
/// wholly inside the range and one window, else from its column slices.
fn block_segment(
    q: &Query<'_, '_>,
    specs: &[Spec],
    w: Option<&time::Windows>,
    b: &Block,
    wins: &mut Windows,
) -> Result<()> {
    let (lo, hi) = q.range;
    let whole = b.meta.ts_min >= lo && b.meta.ts_max <= hi;
    let one_window = match w {
        None => Some(0),
        Some(w) => {
            let s = w.first_start(b.meta.ts_min);
            (w.end(s) > b.meta.ts_max && w.next(s) > b.meta.ts_max).then_some(s)
        }
    };
    if let (true, Some(start)) = (whole, one_window) {
        let accs = wins.at(start, specs.len());
        for (a, s) in accs.iter_mut().zip(specs) {
            a.add_header(s, b);
        }
        return Ok(());
    }
    let (ts, cols) = load(q, specs, b)?;
    let Values::Int(t) = &ts.values else {
        return Ok(());
    };
    let cols: Vec<Option<&ColData>> = cols.iter().map(|c| c.as_deref()).collect();
    fold_segment(specs, w, t, &cols, (lo, hi), wins);
    Ok(())
}

/// A block's timestamps and the columns the specs read.
fn load(q: &Query<'_, '_>, specs: &[Spec], b: &Block) -> Result<Columns> {
    let ts = q.store.ts(b)?;
    let mut cols = Vec::with_capacity(specs.len());
    for s in specs {
        cols.push(match s.col {
            Some((id, _)) => q.store.column(b, id)?,
            None => None,
        });
    }
    Ok((ts, cols))
}

/// The spec columns of memtable rows.
fn mem_columns<'v>(
    q: &Query<'_, '_>,
    specs: &[Spec],
    rows: impl ExactSizeIterator<Item = &'v [Value]> + Clone,
) -> Vec<Option<ColData>> {
    specs
        .iter()
        .map(|s| {
            let (id, kind) = s.col?;
            let pos = q.schema.columns[1..].iter().position(|c| c.id == id)?;
            let vals = rows.clone().map(|r| r.get(pos).unwrap_or(&Value::Null));
            Some(ColData::from_values(kind, vals))
        })
        .collect()
}

/// Overlapping blocks (and memtable rows) as one segment in time order,
/// each timestamp once: the memtable's row, else the newest block's.
fn merged_segment(
    q: &Query<'_, '_>,
    specs: &[Spec],
    run: &[&Arc<Block>],
    mem: &[(i64, &[Value])],
) -> Result<(Vec<i64>, Vec<Option<ColData>>)> {
    let mut loaded = Vec::with_capacity(run.len());
    for b in run {
        loaded.push(load(q, specs, b)?);
    }
    // (ts, newest first, layer, row); the memtable is layer `run.len()`
    let mut all: Vec<(i64, std::cmp::Reverse<u64>, usize, usize)> = Vec::new();
    for (bi, (ts, _)) in loaded.iter().enumerate() {
        if let Values::Int(t) = &ts.values {
            let seq = std::cmp::Reverse(run[bi].seq);
            all.extend(t.iter().enumerate().map(|(i, x)| (*x, seq, bi, i)));
        }
    }
    let m = run.len();
    all.extend(
        mem.iter()
            .enumerate()
            .map(|(i, r)| (r.0, std::cmp::Reverse(u64::MAX), m, i)),
    );
    all.sort_unstable();
    all.dedup_by_key(|r| r.0);
    let t: Vec<i64> = all.iter().map(|r| r.0).collect();
    let mem_cols = mem_columns(q, specs, mem.iter().map(|r| r.1));
    let cols = specs
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let (_, kind) = s.col?;
            let vals: Vec<Value> = all
                .iter()
                .map(|&(_, _, layer, i)| {
                    let c = if layer == m {
                        mem_cols[si].as_ref()
                    } else {
                        loaded[layer].1[si].as_deref()
                    };
                    c.map_or(Value::Null, |c| c.get(i))
                })
                .collect();
            Some(ColData::from_values(kind, vals.iter()))
        })
        .collect();
    Ok((t, cols))
}

/// Folds the rows of one decoded segment (ascending `t`) inside `range`
/// into their windows.
fn fold_segment(
    specs: &[Spec],
    w: Option<&time::Windows>,
    t: &[i64],
    cols: &[Option<&ColData>],
    range: (i64, i64),
    wins: &mut Windows,
) {
    let a = t.partition_point(|x| *x < range.0);
    let b = t.partition_point(|x| *x <= range.1);
    if a >= b {
        return;
    }
    // this segment's windows, at most: room for them at once (a memtable
    // segment may span thousands of windows; a block's few dozen change
    // little, as the vector grows by doubling anyway)
    if let Some(w) = w {
        let (s, last) = (w.first_start(t[a]), w.first_start(t[b - 1]));
        if wins.starts.last().is_none_or(|&l| l < s) {
            let step = (w.next(s) - s).max(1);
            let n = usize::try_from((last - s) / step + 1).unwrap_or(0);
            wins.reserve(n.min(b - a), specs.len());
        }
    }
    let mut add = |start: i64, p: usize, q: usize| {
        let accs = wins.at(start, specs.len());
        for ((acc, s), c) in accs.iter_mut().zip(specs).zip(cols) {
            acc.add_rows(s, t, *c, p, q);
        }
    };
    let Some(w) = w else {
        add(0, a, b);
        return;
    };
    let t = &t[..b];
    let mut s = w.first_start(t[a]);
    let mut p = a; // no row before p is in a window from s on
    let mut took = 0; // rows in the previous window: the guess for this one
    loop {
        let e = w.end(s);
        p += first_at_or_after(&t[p..], s);
        // regular series: the window ends where the last one's length says
        // (two reads), else the search
        let guess = p + took;
        let q = if took > 0 && guess < t.len() && t[guess - 1] < e && t[guess] >= e {
            guess
        } else {
            p + first_at_or_after(&t[p..], e)
        };
        took = q - p;
        if p < q {
            add(s, p, q);
        }
        // the next window holding a row: skip the empty ones between
        let n = w.next(s);
        let r = if n == e {
            q // tumbling windows
        } else {
            p + first_at_or_after(&t[p..], n)
        };
        if r >= b {
            break;
        }
        s = n.max(w.first_start(t[r]));
        p = r;
    }
}

/// The index of the first of `t` (ascending) at or after `x`, searched
/// from the front by doubling steps: windows hold few rows each, so this
/// costs the logarithm of the rows skipped, not of the whole segment.
fn first_at_or_after(t: &[i64], x: i64) -> usize {
    let mut hi = 1;
    while hi < t.len() && t[hi - 1] < x {
        hi *= 2;
    }
    let lo = hi / 2;
    let hi = hi.min(t.len());
    lo + t[lo..hi].partition_point(|v| *v < x)
}

#[cfg(test)]
mod tests {
    use super::{first_at_or_after, min_max_f64, min_max_i64, sum_f64, sum_i64};

    /// The lane folds agree with a plain loop on every length around the
    /// lane count, NaN left out of the extremes, integer sums exact where
    /// an `i64` would overflow.
    #[test]
    fn lane_folds_agree_with_a_plain_loop() {
        for n in 0..13 {
            let v: Vec<f64> = (0..n)
                .map(|i| ((i * 37) % 11) as f64 * 0.25 - 1.0)
                .collect();
            let plain: f64 = v.iter().sum();
            assert!((sum_f64(&v) - plain).abs() < 1e-12, "n = {n}");
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert_eq!(min_max_f64(&v), (lo, hi), "n = {n}");
            let w: Vec<i64> = (0..n).map(|i| (i as i64 * 7919) % 101 - 50).collect();
            assert_eq!(sum_i64(&w), w.iter().map(|&x| i128::from(x)).sum::<i128>());
            let (l, h) = (w.iter().copied().min(), w.iter().copied().max());
            assert_eq!(
                min_max_i64(&w),
                (l.unwrap_or(i64::MAX), h.unwrap_or(i64::MIN))
            );
        }
        let nan = [1.0, f64::NAN, -2.0, 3.0, f64::NAN];
        assert_eq!(min_max_f64(&nan), (-2.0, 3.0));
        assert_eq!(sum_i64(&[i64::MAX; 6]), 6 * i128::from(i64::MAX));
    }

    #[test]
    fn the_doubling_search_agrees_with_a_binary_search() {
        for len in 0..70 {
            let t: Vec<i64> = (0..len).map(|i| i * 3 - 5).collect();
            for x in -8..len * 3 {
                assert_eq!(
                    first_at_or_after(&t, x),
                    t.partition_point(|v| *v < x),
                    "len {len}, x {x}"
                );
            }
        }
    }
}
