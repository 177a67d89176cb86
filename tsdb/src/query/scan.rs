//! Reading one table's rows for the row-at-a-time path: its blocks'
//! columns turned into rows ([`Scanned`]), merged with its memtable, the
//! newer layer winning on equal timestamps ([`merge`]).
//!
//! May import: `catalog`, `error`, `limits`, `storage`, `types`.

use std::sync::Arc;

use super::Row;
use crate::catalog::Column;
use crate::error::Result;
use crate::storage::block::Block;
use crate::storage::column::{ColData, Values};
use crate::storage::store::{Reader, TableBlocks};
use crate::storage::table::TableData;
use crate::types::Value;

/// Rows read from blocks: `vals` holds `width` values per row, the schema's
/// columns after the timestamp (the ones a query does not use stay NULL).
#[derive(Debug, Default)]
pub struct Scanned {
    pub ts: Vec<i64>,
    pub vals: Vec<Value>,
    pub width: usize,
}

impl Scanned {
    fn row(&self, i: usize) -> &[Value] {
        &self.vals[i * self.width..(i + 1) * self.width]
    }
}

fn times(c: &ColData) -> &[i64] {
    match &c.values {
        Values::Int(v) => v,
        _ => &[],
    }
}

/// The rows of `tb` in `[lo, hi]` with the columns `need` marks, each
/// timestamp once (the newest block's row).
pub fn sealed_rows(
    store: &Reader,
    tb: &TableBlocks,
    columns: &[Column],
    need: &[bool],
    lo: i64,
    hi: i64,
) -> Result<Scanned> {
    let width = columns.len();
    let mut out = Scanned {
        width,
        ..Scanned::default()
    };
    // (block, its ts, its needed columns by schema position)
    type Loaded = (Arc<Block>, Arc<ColData>, Vec<Option<Arc<ColData>>>);
    let mut loaded: Vec<Loaded> = Vec::new();
    for b in tb.in_range(lo, hi) {
        crate::limits::check()?;
        let ts = store.ts(b)?;
        crate::limits::charge_bytes(times(&ts).len() * (8 + width * std::mem::size_of::<Value>()))?;
        let mut cols = Vec::with_capacity(width);
        for (c, n) in columns.iter().zip(need) {
            cols.push(if *n { store.column(b, c.id)? } else { None });
        }
        loaded.push((b.clone(), ts, cols));
    }
    let push = |out: &mut Scanned, l: &Loaded, i: usize| {
        out.ts.push(times(&l.1)[i]);
        for c in &l.2 {
            out.vals.push(c.as_ref().map_or(Value::Null, |c| c.get(i)));
        }
    };
    if tb.disjoint {
        for l in &loaded {
            let t = times(&l.1);
            let a = t.partition_point(|x| *x < lo);
            let b = t.partition_point(|x| *x <= hi);
            for i in a..b {
                push(&mut out, l, i);
            }
        }
        return Ok(out);
    }
    // overlapping blocks (late or rewritten rows): order every row by
    // (ts, newest block first) and keep the first of each timestamp
    let mut all: Vec<(i64, std::cmp::Reverse<u64>, usize, usize)> = Vec::new();
    for (bi, l) in loaded.iter().enumerate() {
        for (i, t) in times(&l.1).iter().enumerate() {
            if (lo..=hi).contains(t) {
                all.push((*t, std::cmp::Reverse(l.0.seq), bi, i));
            }
        }
    }
    all.sort_unstable();
    all.dedup_by_key(|r| r.0);
    for (_, _, bi, i) in all {
        push(&mut out, &loaded[bi], i);
    }
    Ok(out)
}

/// The newest row of `tb` (the newest block's, on a tie), as a one-row
/// [`Scanned`].
pub fn sealed_last(store: &Reader, tb: &TableBlocks, columns: &[Column]) -> Result<Scanned> {
    if tb.blocks.is_empty() {
        return Ok(Scanned::default());
    }
    Ok(match store.row_at(tb, tb.ts_max, columns)? {
        Some(vals) => Scanned {
            ts: vec![tb.ts_max],
            vals,
            width: columns.len(),
        },
        None => Scanned::default(),
    })
}

/// Merges a table's sealed rows and its memtable rows in `[lo, hi]` into
/// `rows`, in time order; on equal timestamps the memtable's row wins.
pub fn merge<'a>(
    sealed: Option<&'a Scanned>,
    mem: Option<&'a TableData>,
    lo: i64,
    hi: i64,
    src: usize,
    rows: &mut Vec<Row<'a>>,
) {
    let mut mem_it = mem.into_iter().flat_map(|m| m.range(lo, hi)).peekable();
    let Some(s) = sealed.filter(|s| !s.ts.is_empty()) else {
        rows.extend(mem_it.map(|(ts, vals)| Row { ts, vals, src }));
        return;
    };
    for (i, &ts) in s.ts.iter().enumerate() {
        while let Some((mts, vals)) = mem_it.next_if(|(mts, _)| *mts <= ts) {
            rows.push(Row { ts: mts, vals, src });
        }
        if rows.last().is_some_and(|r| r.ts == ts && r.src == src) {
            continue; // shadowed by the memtable
        }
        rows.push(Row {
            ts,
            vals: s.row(i),
            src,
        });
    }
    rows.extend(mem_it.map(|(ts, vals)| Row { ts, vals, src }));
}
