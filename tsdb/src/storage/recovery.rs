//! Turns what the WAL could not read into damage reports: each damaged
//! segment is copied into quarantine once, and each region gets a report
//! naming the file, the byte range, how many records it held and, where
//! their payloads still decode, the tables and timestamps they carried.
//!
//! May import: `wal`, `damage`, `error`.

use std::collections::HashMap;
use std::path::Path;

use super::damage::{Damage, now_ms, quarantine};
use super::wal::WalDamage;
use crate::error::Result;

/// Reports for `found` (damage of the log in `{data_dir}/wal`); `tables`
/// names tables by uid as `(database, table)`.
pub fn wal_reports(
    data_dir: &Path,
    found: &[WalDamage],
    tables: &HashMap<u64, (String, String)>,
) -> Result<Vec<Damage>> {
    let mut kept: HashMap<u64, String> = HashMap::new();
    let mut out = Vec::new();
    for d in found {
        let file = d
            .path
            .strip_prefix(data_dir)
            .unwrap_or(&d.path)
            .display()
            .to_string();
        if d.is_missing() {
            out.push(Damage {
                found_at: now_ms(),
                kind: "wal".into(),
                file,
                start: 0,
                end: 0,
                lost: format!(
                    "WAL segment {} is missing: rows acknowledged after the last flush that it held are lost",
                    d.seq
                ),
                action: "started from the data files and the segments that are there".into(),
            });
            continue;
        }
        let copy = match kept.get(&d.seq) {
            Some(c) => c.clone(),
            None => {
                let c = quarantine(data_dir, &d.path, &format!("wal-{:016}.log", d.seq))?;
                kept.insert(d.seq, c.clone());
                c
            }
        };
        out.push(Damage {
            found_at: now_ms(),
            kind: "wal".into(),
            file,
            start: d.start,
            end: d.end,
            lost: lost_text(d, tables),
            action: format!(
                "segment copied to {copy}; every intact record before and after the region was replayed and flushed"
            ),
        });
    }
    Ok(out)
}

fn lost_text(d: &WalDamage, tables: &HashMap<u64, (String, String)>) -> String {
    if d.records == 0 {
        return "no record header in the region (the segment header or padding): no rows lost"
            .into();
    }
    let mut text = format!(
        "at least {} WAL record{} (each the rows of one INSERT into one table)",
        d.records,
        if d.records == 1 { "" } else { "s" }
    );
    if !d.hints.is_empty() {
        let held: Vec<String> = d
            .hints
            .iter()
            .map(|(uid, lo, hi)| {
                let name = tables
                    .get(uid)
                    .map_or_else(|| format!("table uid {uid}"), |(db, t)| format!("{db}.{t}"));
                format!("{name} timestamps {lo}..={hi}")
            })
            .collect();
        text.push_str(&format!(
            ", apparently holding {} (unverified)",
            held.join(", ")
        ));
    }
    text
}
