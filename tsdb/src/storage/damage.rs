//! What the server could not read, kept where an operator can see it.
//!
//! A damaged byte range (a WAL region that fails its checksum, a data
//! file whose index does not read, a missing WAL segment) is never
//! silently dropped: it is logged at error level when found, appended to
//! `{data-dir}/damage.jsonl` (so the facts survive restarts), listed by
//! `SELECT * FROM information_schema.ins_damage`, and the damaged file is
//! copied into `{data-dir}/quarantine/` before anything replaces it.
//!
//! May import: `error` and `wal::sync_dir`.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{DbError, Result};

/// The report file in the data directory.
pub const REPORT: &str = "damage.jsonl";
/// Where damaged files are kept.
pub const QUARANTINE: &str = "quarantine";

/// One damaged region (or missing file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Damage {
    /// When it was found (ms since the epoch).
    pub found_at: i64,
    /// `wal`, `data file`, `manifest`, `catalog`.
    pub kind: String,
    /// The file, relative to the data directory.
    pub file: String,
    /// The unreadable byte range `[start, end)` (0, 0 for a missing file).
    pub start: u64,
    pub end: u64,
    /// What was in it, as far as can be told.
    pub lost: String,
    /// What the server did about it.
    pub action: String,
}

impl Damage {
    /// The one-line form logged at error level.
    pub fn describe(&self) -> String {
        if self.start == 0 && self.end == 0 {
            format!(
                "{} {}: {}; {}",
                self.kind, self.file, self.lost, self.action
            )
        } else {
            format!(
                "{} {} bytes {}..{} unreadable: {}; {}",
                self.kind, self.file, self.start, self.end, self.lost, self.action
            )
        }
    }
}

/// Logs `found` at error level and appends it to the report file.
pub fn report(data_dir: &Path, found: &[Damage]) -> Result<()> {
    if found.is_empty() {
        return Ok(());
    }
    for d in found {
        tracing::error!(target: "tsdb::damage", "{}", d.describe());
    }
    let path = data_dir.join(REPORT);
    let io = |e: std::io::Error| DbError::io(&format!("damage report {}", path.display()), e);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    let mut text = Vec::new();
    for d in found {
        serde_json::to_writer(&mut text, d).expect("damage reports serialise");
        text.push(b'\n');
    }
    f.write_all(&text).map_err(io)?;
    f.sync_data().map_err(io)
}

/// Every damage report of the data directory, oldest first (a line that
/// does not parse is skipped: the report is advice, not data).
pub fn load(data_dir: &Path) -> Vec<Damage> {
    std::fs::read_to_string(data_dir.join(REPORT))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Copies `file` into the quarantine directory as `name` (an existing copy
/// of the same name gets a numbered sibling) and returns the copy's path
/// relative to the data directory.
pub fn quarantine(data_dir: &Path, file: &Path, name: &str) -> Result<String> {
    let dir = data_dir.join(QUARANTINE);
    let io = |e: std::io::Error| DbError::io(&format!("quarantine of {}", file.display()), e);
    std::fs::create_dir_all(&dir).map_err(io)?;
    let mut target: PathBuf = dir.join(name);
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("{name}.{n}"));
        n += 1;
    }
    std::fs::copy(file, &target).map_err(io)?;
    std::fs::File::open(&target)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    super::wal::sync_dir(&dir)?;
    Ok(target
        .strip_prefix(data_dir)
        .unwrap_or(&target)
        .display()
        .to_string())
}

/// Milliseconds since the epoch now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
