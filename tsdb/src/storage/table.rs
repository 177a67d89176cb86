//! The rows of one table in memory, ordered by timestamp, and its last-row
//! cache.

use std::collections::BTreeMap;

use crate::types::Value;

/// Duplicate-timestamp policy (the database's `UPDATE` option, spec C1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// 0: the stored row wins; the new one is discarded.
    Discard,
    /// 1: the new row replaces the stored one; columns not given are NULL.
    Replace,
    /// 2: columns given replace the stored ones, the others are kept.
    Partial,
}

impl Update {
    pub fn from_option(v: u8) -> Update {
        match v {
            1 => Update::Replace,
            2 => Update::Partial,
            _ => Update::Discard,
        }
    }
}

/// One table's rows in memory, in timestamp order, each timestamp once.
///
/// Rows that arrive in order (the usual case) are appended to a flat run:
/// one timestamp vector and one value vector of `width` values per row, no
/// allocation or tree node per row. A row older than the run's newest goes
/// to a small ordered map of late rows (or updates its run row in place);
/// the map is merged into the run once it holds an eighth as many rows, so
/// a late row costs O(log n) and a merge stays amortised O(1) per row.
/// Readers see both through [`TableData::range`], in order.
///
/// Values are positional: index `i` is the table's column `i + 1` (column
/// 0 is the timestamp, the key).
#[derive(Debug, Default, Clone)]
pub struct TableData {
    ts: Vec<i64>,
    vals: Vec<Value>,
    width: usize,
    late: BTreeMap<i64, Vec<Value>>,
}

impl TableData {
    pub fn len(&self) -> usize {
        self.ts.len() + self.late.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ts.is_empty() && self.late.is_empty()
    }

    fn run_row(&self, i: usize) -> &[Value] {
        &self.vals[i * self.width..(i + 1) * self.width]
    }

    /// Makes run rows `width` wide (a column was added: NULLs at the end).
    fn widen(&mut self, width: usize) {
        if width <= self.width {
            return;
        }
        let mut vals = Vec::with_capacity(self.ts.len() * width);
        for i in 0..self.ts.len() {
            vals.extend_from_slice(self.run_row(i));
            vals.resize((i + 1) * width, Value::Null);
        }
        self.vals = vals;
        self.width = width;
    }

    /// Inserts one row; `given[i]` says whether column `i + 1` was supplied.
    /// Returns whether the row was stored.
    pub fn insert(&mut self, ts: i64, mut row: Vec<Value>, given: &[bool], update: Update) -> bool {
        use std::collections::btree_map::Entry;
        self.widen(row.len());
        row.resize(self.width, Value::Null);
        if self.ts.last().is_none_or(|&last| ts > last) && !self.late.contains_key(&ts) {
            self.ts.push(ts);
            self.vals.extend(row);
            return true;
        }
        if let Ok(i) = self.ts.binary_search(&ts) {
            let w = self.width;
            return apply_policy(&mut self.vals[i * w..(i + 1) * w], row, given, update);
        }
        let stored = match self.late.entry(ts) {
            Entry::Vacant(slot) => {
                slot.insert(row);
                true
            }
            Entry::Occupied(mut slot) => {
                let old = slot.get_mut();
                old.resize(row.len(), Value::Null); // a column was added since
                apply_policy(old, row, given, update)
            }
        };
        if self.late.len() > 64 && self.late.len() * 8 > self.ts.len() {
            self.merge_late();
        }
        stored
    }

    /// Merges the late rows into the run.
    fn merge_late(&mut self) {
        if self.late.is_empty() {
            return;
        }
        let late = std::mem::take(&mut self.late);
        let w = self.width;
        // the run from the first late row on is rebuilt; before it, kept
        let first = *late.keys().next().expect("not empty");
        let cut = self.ts.partition_point(|&t| t < first);
        let tail_ts = self.ts.split_off(cut);
        let mut tail_vals = self.vals.split_off(cut * w).into_iter();
        let mut late = late.into_iter().peekable();
        for t in tail_ts {
            while let Some((lt, mut row)) = late.next_if(|(lt, _)| *lt < t) {
                row.resize(w, Value::Null);
                self.ts.push(lt);
                self.vals.extend(row);
            }
            self.ts.push(t);
            self.vals.extend(tail_vals.by_ref().take(w));
        }
        for (lt, mut row) in late {
            row.resize(w, Value::Null);
            self.ts.push(lt);
            self.vals.extend(row);
        }
    }

    /// The rows with `lo <= ts <= hi`, in order.
    pub fn range(&self, lo: i64, hi: i64) -> Range<'_> {
        let a = self.ts.partition_point(|&t| t < lo);
        let b = self.ts.partition_point(|&t| t <= hi);
        Range {
            data: self,
            run: a..b.max(a),
            late: if lo <= hi {
                Some(self.late.range(lo..=hi).peekable())
            } else {
                None
            },
        }
    }

    /// Whether a row has timestamp `ts`.
    pub fn contains(&self, ts: i64) -> bool {
        self.ts.binary_search(&ts).is_ok() || self.late.contains_key(&ts)
    }

    /// The row with the largest timestamp: the write-driven last-row cache
    /// is the end of the run (or of the late rows), found in O(1).
    pub fn last_row(&self) -> Option<(i64, &[Value])> {
        let run = self
            .ts
            .last()
            .map(|&t| (t, self.run_row(self.ts.len() - 1)));
        let late = self.late.last_key_value().map(|(t, r)| (*t, r.as_slice()));
        match (run, late) {
            (Some(r), Some(l)) => Some(if l.0 > r.0 { l } else { r }),
            (r, l) => r.or(l),
        }
    }

    /// Drops the rows older than `ts`; returns how many.
    pub fn drop_before(&mut self, ts: i64) -> usize {
        let cut = self.ts.partition_point(|&t| t < ts);
        self.ts.drain(..cut);
        self.vals.drain(..cut * self.width);
        let kept = self.late.split_off(&ts);
        let dropped = cut + self.late.len();
        self.late = kept;
        dropped
    }

    /// Removes the value of column position `pos` from every row.
    pub fn drop_column(&mut self, pos: usize) {
        if pos < self.width {
            let w = self.width;
            let mut k = 0;
            self.vals.retain(|_| {
                let keep = k % w != pos;
                k += 1;
                keep
            });
            self.width -= 1;
        }
        for row in self.late.values_mut() {
            if pos < row.len() {
                row.remove(pos);
            }
        }
    }

    /// The rows as one flat run: timestamps, then `width` values per row.
    pub fn into_run(mut self) -> (Vec<i64>, Vec<Value>, usize) {
        self.merge_late();
        (self.ts, self.vals, self.width)
    }

    /// Rows already in timestamp order, each timestamp once.
    pub fn from_sorted(rows: impl IntoIterator<Item = (i64, Vec<Value>)>, width: usize) -> Self {
        let mut t = TableData {
            width,
            ..TableData::default()
        };
        for (ts, mut row) in rows {
            debug_assert!(t.ts.last().is_none_or(|&l| ts > l));
            row.resize(width, Value::Null);
            t.ts.push(ts);
            t.vals.extend(row);
        }
        t
    }
}

/// A stored row meets a new one with the same timestamp.
fn apply_policy(old: &mut [Value], mut row: Vec<Value>, given: &[bool], update: Update) -> bool {
    match update {
        Update::Discard => false,
        Update::Replace => {
            for (o, v) in old.iter_mut().zip(row.drain(..)) {
                *o = v;
            }
            true
        }
        Update::Partial => {
            for (i, v) in row.drain(..).enumerate() {
                if given.get(i).copied().unwrap_or(false) && i < old.len() {
                    old[i] = v;
                }
            }
            true
        }
    }
}

/// Rows of a [`TableData`] in order: the run and the late rows merged.
pub struct Range<'a> {
    data: &'a TableData,
    run: std::ops::Range<usize>,
    late: Option<std::iter::Peekable<std::collections::btree_map::Range<'a, i64, Vec<Value>>>>,
}

impl<'a> Iterator for Range<'a> {
    type Item = (i64, &'a [Value]);

    fn next(&mut self) -> Option<Self::Item> {
        let d = self.data;
        let run_ts = (self.run.start < self.run.end).then(|| d.ts[self.run.start]);
        let late_ts = self.late.as_mut().and_then(|l| l.peek()).map(|(t, _)| **t);
        match (run_ts, late_ts) {
            (Some(r), l) if l.is_none_or(|l| r < l) => {
                let i = self.run.start;
                self.run.start += 1;
                Some((r, d.run_row(i)))
            }
            (_, Some(_)) => {
                let (t, row) = self.late.as_mut()?.next()?;
                Some((*t, row.as_slice()))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_policies() {
        let v = |a: i64, b: i64| vec![Value::Int(a), Value::Int(b)];
        let mut t = TableData::default();
        assert!(t.insert(1, v(1, 1), &[true, true], Update::Discard));
        assert!(!t.insert(1, v(2, 2), &[true, true], Update::Discard));
        let at = |t: &TableData, ts: i64| t.range(ts, ts).next().unwrap().1.to_vec();
        assert_eq!(at(&t, 1), v(1, 1));
        assert!(t.insert(
            1,
            vec![Value::Int(3), Value::Null],
            &[true, false],
            Update::Replace
        ));
        assert_eq!(at(&t, 1), vec![Value::Int(3), Value::Null]);
        t.insert(1, v(9, 4), &[false, true], Update::Partial);
        assert_eq!(at(&t, 1), v(3, 4));
        t.insert(0, v(0, 0), &[true, true], Update::Discard);
        assert_eq!(t.last_row().unwrap().0, 1);
    }

    /// Rows in any order, with duplicates, under each policy: the run and
    /// the late rows read as one ordered map would.
    #[test]
    fn late_rows_read_in_order_like_a_map() {
        for update in [Update::Discard, Update::Replace, Update::Partial] {
            let mut t = TableData::default();
            let mut model: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
            // a pseudo-random walk with many late and repeated timestamps
            let mut x: u64 = 7;
            for n in 0..5000i64 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let ts = n - (x >> 60) as i64 * (x >> 33 & 63) as i64;
                let row = vec![Value::Int(n), Value::Int(ts)];
                let given = [true, n % 3 != 0];
                t.insert(ts, row.clone(), &given, update);
                match (model.get_mut(&ts), update) {
                    (None, _) => {
                        model.insert(ts, row);
                    }
                    (Some(_), Update::Discard) => {}
                    (Some(old), Update::Replace) => *old = row,
                    (Some(old), Update::Partial) => {
                        for i in 0..2 {
                            if given[i] {
                                old[i] = row[i].clone();
                            }
                        }
                    }
                }
            }
            let got: Vec<(i64, Vec<Value>)> = t
                .range(i64::MIN, i64::MAX)
                .map(|(ts, r)| (ts, r.to_vec()))
                .collect();
            let want: Vec<(i64, Vec<Value>)> = model.clone().into_iter().collect();
            assert_eq!(got, want, "{update:?}");
            assert_eq!(t.len(), model.len());
            let mid: Vec<i64> = t.range(1000, 2000).map(|(ts, _)| ts).collect();
            let want_mid: Vec<i64> = model.range(1000..=2000).map(|(k, _)| *k).collect();
            assert_eq!(mid, want_mid);
            assert_eq!(t.last_row().map(|r| r.0), model.keys().last().copied());
            let (ts, vals, w) = t.clone().into_run();
            assert_eq!(ts, model.keys().copied().collect::<Vec<_>>());
            assert_eq!(vals.len(), ts.len() * w);
            // dropping old rows and a column
            let dropped = t.drop_before(2500);
            assert_eq!(dropped, model.range(..2500).count());
            t.drop_column(0);
            let got: Vec<(i64, Vec<Value>)> = t
                .range(i64::MIN, i64::MAX)
                .map(|(ts, r)| (ts, r.to_vec()))
                .collect();
            let want: Vec<(i64, Vec<Value>)> = model
                .range(2500..)
                .map(|(k, r)| (*k, vec![r[1].clone()]))
                .collect();
            assert_eq!(got, want);
        }
    }
}
