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

/// One table's data. Values are positional: index `i` is the table's
/// column `i + 1` (column 0 is the timestamp, the key).
#[derive(Debug, Default)]
pub struct TableData {
    pub rows: BTreeMap<i64, Vec<Value>>,
}

impl TableData {
    /// Inserts one row; `given[i]` says whether column `i + 1` was supplied.
    /// Returns whether the row was stored.
    pub fn insert(&mut self, ts: i64, mut row: Vec<Value>, given: &[bool], update: Update) -> bool {
        use std::collections::btree_map::Entry;
        match self.rows.entry(ts) {
            Entry::Vacant(slot) => {
                slot.insert(row);
                true
            }
            Entry::Occupied(mut slot) => match update {
                Update::Discard => false,
                Update::Replace => {
                    *slot.get_mut() = row;
                    true
                }
                Update::Partial => {
                    let old = slot.get_mut();
                    if old.len() < row.len() {
                        old.resize(row.len(), Value::Null);
                    }
                    for (i, v) in row.drain(..).enumerate() {
                        if given.get(i).copied().unwrap_or(false) {
                            old[i] = v;
                        }
                    }
                    true
                }
            },
        }
    }

    /// The row with the largest timestamp: the write-driven last-row cache
    /// is the end of the ordered map, found in O(log n) without a scan.
    pub fn last_row(&self) -> Option<(i64, &Vec<Value>)> {
        self.rows.last_key_value().map(|(t, r)| (*t, r))
    }

    /// Removes the value of column position `pos` from every row.
    pub fn drop_column(&mut self, pos: usize) {
        for row in self.rows.values_mut() {
            if pos < row.len() {
                row.remove(pos);
            }
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
        assert_eq!(t.rows[&1], v(1, 1));
        assert!(t.insert(
            1,
            vec![Value::Int(3), Value::Null],
            &[true, false],
            Update::Replace
        ));
        assert_eq!(t.rows[&1], vec![Value::Int(3), Value::Null]);
        t.insert(1, v(9, 4), &[false, true], Update::Partial);
        assert_eq!(t.rows[&1], v(3, 4));
        t.insert(0, v(0, 0), &[true, true], Update::Discard);
        assert_eq!(t.last_row().unwrap().0, 1);
    }
}
