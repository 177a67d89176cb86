//! The rows of one table in memory, ordered by timestamp, and its last-row
//! cache.
//!
//! May import: `types`.

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

/// How many rows of the run a batch may move per row of its own when it
/// merges in ([`TableData::merge_batch`]): moving a row is a copy of a few
/// dozen bytes, a late-row entry an allocation and a tree insert, so a
/// batch a few dozen times older than the newest rows still merges (four
/// REST writers drift that far apart under load).
const MERGE_REACH: usize = 32;

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
        if self.ts.is_empty() {
            // nothing to move (and a cleared run keeps its buffer)
            self.width = width;
            for row in self.late.values_mut() {
                row.resize(width, Value::Null);
            }
            return;
        }
        let mut vals = Vec::with_capacity(self.ts.len() * width);
        for i in 0..self.ts.len() {
            vals.extend_from_slice(self.run_row(i));
            vals.resize((i + 1) * width, Value::Null);
        }
        self.vals = vals;
        self.width = width;
        for row in self.late.values_mut() {
            row.resize(width, Value::Null);
        }
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

    /// Appends rows that are in strictly increasing timestamp order and all
    /// newer than every row held, each `width` wide (`vals` is emptied): an
    /// in-order batch costs a copy, no work per row. Returns false, taking
    /// nothing, when the rows do not qualify; [`TableData::insert`] them.
    pub fn append(&mut self, ts: &[i64], vals: &mut Vec<Value>) -> bool {
        let Some(&first) = ts.first() else {
            return true;
        };
        if vals.len() % ts.len() != 0 {
            return false;
        }
        let w = vals.len() / ts.len();
        self.widen(w);
        let newest = self.ts.last().max(self.late.keys().next_back()).copied();
        if w != self.width
            || newest.is_some_and(|n| first <= n)
            || !ts.windows(2).all(|p| p[0] < p[1])
        {
            return false;
        }
        self.ts.extend_from_slice(ts);
        self.vals.append(vals);
        true
    }

    /// Merges rows in strictly increasing timestamp order, every column
    /// given (`width` each; `vals` is emptied), into the run: a batch that
    /// arrived a little late (concurrent writers overtaking each other) costs
    /// one merge of it with the run's rows from its first timestamp on, not
    /// a late-row entry per row. A timestamp already held follows `update`.
    /// Returns false, taking nothing, when the rows do not qualify or the
    /// rows after its start are more than [`MERGE_REACH`] times as many
    /// (then the late-row map is cheaper); [`TableData::insert`] them.
    pub fn merge_batch(&mut self, ts: &[i64], vals: &mut Vec<Value>, update: Update) -> bool {
        let (Some(&first), Some(&last)) = (ts.first(), ts.last()) else {
            return true;
        };
        if vals.len() % ts.len() != 0 {
            return false;
        }
        let w = vals.len() / ts.len();
        self.widen(w);
        let cut = self.ts.partition_point(|&t| t < first);
        if w != self.width
            || self.ts.len() - cut > MERGE_REACH * ts.len()
            || self.late.range(first..=last).next().is_some()
            || !ts.windows(2).all(|p| p[0] < p[1])
        {
            return false;
        }
        if self.ts.get(cut).is_none_or(|&t| t > last) {
            // the batch falls between two held rows (concurrent writers'
            // batches do not interleave): one move of the rows after it
            self.ts.splice(cut..cut, ts.iter().copied());
            self.vals.splice(cut * w..cut * w, vals.drain(..));
            return true;
        }
        let tail_ts = self.ts.split_off(cut);
        let mut tail_vals = self.vals.split_off(cut * w).into_iter();
        let mut new_vals = std::mem::take(vals).into_iter();
        let mut old = tail_ts.into_iter().peekable();
        for &t in ts {
            while let Some(o) = old.next_if(|&o| o < t) {
                self.ts.push(o);
                self.vals.extend(tail_vals.by_ref().take(w));
            }
            let row = new_vals.by_ref().take(w);
            if old.next_if_eq(&t).is_some() {
                // every column given: Partial is Replace here
                let kept = tail_vals.by_ref().take(w);
                self.ts.push(t);
                if update == Update::Discard {
                    self.vals.extend(kept);
                    row.for_each(drop);
                } else {
                    kept.for_each(drop);
                    self.vals.extend(row);
                }
            } else {
                self.ts.push(t);
                self.vals.extend(row);
            }
        }
        self.ts.extend(old);
        self.vals.extend(tail_vals);
        true
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

    /// The rows in `[lo, hi]` as slices of the run, when no late row falls
    /// there (the usual case): their timestamps, their values row-major,
    /// and the row width. Lets an aggregate read the memtable in place.
    pub fn run_slices(&self, lo: i64, hi: i64) -> Option<(&[i64], &[Value], usize)> {
        if self.width == 0 || lo > hi || self.late.range(lo..=hi).next().is_some() {
            return None;
        }
        let a = self.ts.partition_point(|&t| t < lo);
        let b = self.ts.partition_point(|&t| t <= hi).max(a);
        Some((
            &self.ts[a..b],
            &self.vals[a * self.width..b * self.width],
            self.width,
        ))
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
    pub fn run(&mut self) -> (&[i64], &[Value], usize) {
        self.merge_late();
        (&self.ts, &self.vals, self.width)
    }

    /// Drops every row but keeps the memory: a table's next memtable
    /// fills the pages its last one had, without page faults or growing
    /// copies on the write path.
    pub fn clear(&mut self) {
        self.ts.clear();
        self.vals.clear();
        self.late.clear();
        self.width = 0;
    }

    /// A run of rows in strictly increasing timestamp order, `width`
    /// values each.
    pub fn from_run(ts: Vec<i64>, vals: Vec<Value>, width: usize) -> Self {
        debug_assert!(ts.windows(2).all(|w| w[0] < w[1]));
        debug_assert_eq!(vals.len(), ts.len() * width);
        TableData {
            ts,
            vals,
            width,
            late: BTreeMap::new(),
        }
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
    fn append_takes_only_ordered_rows_newer_than_all() {
        let v = |a: i64| Value::Int(a);
        let mut t = TableData::default();
        assert!(t.append(&[1, 2, 3], &mut vec![v(10), v(20), v(30)]));
        let mut refused = vec![v(0), v(0)];
        assert!(!t.append(&[3, 4], &mut refused), "3 is stored");
        assert!(!t.append(&[5, 5], &mut refused), "not increasing");
        assert!(!t.append(&[6, 5], &mut refused), "not increasing");
        assert!(!t.append(&[6, 7], &mut vec![v(0)]), "ragged");
        assert_eq!(refused.len(), 2, "a refused batch is left whole");
        t.insert(0, vec![v(0)], &[true], Update::Replace); // a late row
        assert!(t.append(&[4], &mut vec![v(40)]));
        // a column added since: older rows read NULL in it
        assert!(t.append(&[5], &mut vec![v(50), v(51)]));
        let got: Vec<(i64, Vec<Value>)> = t
            .range(i64::MIN, i64::MAX)
            .map(|(ts, r)| (ts, r.to_vec()))
            .collect();
        let row = |ts: i64, a: i64, b: Value| (ts, vec![v(a), b]);
        assert_eq!(
            got,
            vec![
                row(0, 0, Value::Null),
                row(1, 10, Value::Null),
                row(2, 20, Value::Null),
                row(3, 30, Value::Null),
                row(4, 40, Value::Null),
                row(5, 50, v(51)),
            ]
        );
    }

    #[test]
    fn a_cleared_memtable_keeps_its_memory_and_takes_any_width() {
        let v = |a: i64| Value::Int(a);
        let mut t = TableData::default();
        let ts: Vec<i64> = (0..1000).collect();
        assert!(t.append(&ts, &mut (0..2000).map(v).collect()));
        t.insert(-1, vec![v(7), v(8)], &[true, true], Update::Replace);
        let cap = t.vals.capacity();
        t.clear();
        assert!(t.is_empty());
        assert_eq!(t.range(i64::MIN, i64::MAX).count(), 0);
        // a column added meanwhile: rows come three wide into the same buffer
        assert!(t.append(&[5, 6], &mut (1..=6).map(v).collect()));
        assert_eq!(t.vals.capacity(), cap);
        let got: Vec<(i64, Vec<Value>)> = t
            .range(i64::MIN, i64::MAX)
            .map(|(ts, r)| (ts, r.to_vec()))
            .collect();
        assert_eq!(
            got,
            vec![(5, vec![v(1), v(2), v(3)]), (6, vec![v(4), v(5), v(6)])]
        );
    }

    #[test]
    fn a_batch_merges_into_the_run_by_the_update_policy() {
        let v = |a: i64| Value::Int(a);
        for update in [Update::Discard, Update::Replace, Update::Partial] {
            let mut t = TableData::default();
            assert!(t.append(&[10, 20, 30, 40], &mut vec![v(1), v(2), v(3), v(4)]));
            let mut batch = vec![v(-1), v(-2), v(-3), v(-4)];
            assert!(!t.merge_batch(&[25, 15, 35, 45], &mut batch, update));
            assert_eq!(batch.len(), 4, "an unordered batch is left whole");
            assert!(t.merge_batch(&[15, 20, 35, 50], &mut batch, update));
            assert!(batch.is_empty());
            let got: Vec<(i64, Value)> = t
                .range(i64::MIN, i64::MAX)
                .map(|(ts, r)| (ts, r[0].clone()))
                .collect();
            let at20 = if update == Update::Discard { 2 } else { -2 };
            assert_eq!(
                got,
                vec![
                    (10, v(1)),
                    (15, v(-1)),
                    (20, v(at20)),
                    (30, v(3)),
                    (35, v(-3)),
                    (40, v(4)),
                    (50, v(-4))
                ],
                "{update:?}"
            );
        }
        // batches in the gaps between held rows, and before all of them
        let mut t = TableData::default();
        assert!(t.append(&[10, 20, 30], &mut vec![v(1), v(2), v(3)]));
        assert!(t.merge_batch(&[21, 22], &mut vec![v(21), v(22)], Update::Replace));
        assert!(t.merge_batch(&[1, 2], &mut vec![v(-1), v(-2)], Update::Replace));
        assert!(t.merge_batch(&[25], &mut vec![v(25)], Update::Discard));
        let got: Vec<(i64, Value)> = t
            .range(i64::MIN, i64::MAX)
            .map(|(ts, r)| (ts, r[0].clone()))
            .collect();
        let want: Vec<(i64, Value)> = [
            (1, -1),
            (2, -2),
            (10, 1),
            (20, 2),
            (21, 21),
            (22, 22),
            (25, 25),
            (30, 3),
        ]
        .into_iter()
        .map(|(ts, x)| (ts, v(x)))
        .collect();
        assert_eq!(got, want);
        // a batch far older than the run's rows after it goes row by row
        let mut t = TableData::default();
        let ts: Vec<i64> = (100..200).collect();
        assert!(t.append(&ts, &mut (100..200).map(v).collect()));
        assert!(!t.merge_batch(&[5], &mut vec![v(5)], Update::Replace));
        let ts: Vec<i64> = (190..210).step_by(2).collect(); // half stored
        assert!(t.merge_batch(&ts, &mut vec![v(0); 10], Update::Replace));
        assert_eq!(t.len(), 105);
        // nor does it cross a late row
        t.insert(50, vec![v(50)], &[true], Update::Replace);
        assert!(!t.merge_batch(&[40, 60], &mut vec![v(4), v(6)], Update::Replace));
    }

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
                // rows with every column try the batch path first
                let appended = given == [true, true] && t.append(&[ts], &mut row.clone());
                if appended {
                    assert!(!model.contains_key(&ts), "append took a stored {ts}");
                } else if given != [true, true]
                    || n % 2 == 0
                    || !t.merge_batch(&[ts], &mut row.clone(), update)
                {
                    t.insert(ts, row.clone(), &given, update);
                }
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
            let mut run = t.clone();
            let (ts, vals, w) = run.run();
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
