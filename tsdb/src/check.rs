//! `tsdb check [--repair] --data-dir DIR`: the offline verifier.
//!
//! Reads everything a server would, and more: the catalog, the manifest,
//! every data file's index and every chunk's checksum, every WAL segment
//! (with the same resynchronising scan as replay), and which WAL segments
//! are missing. It changes nothing unless told to repair; run it with the
//! server stopped.
//!
//! `--repair` does what can be done without losing intact data, keeping a
//! copy of everything it sets aside in `quarantine/`:
//! - a manifest that is damaged or missing is rebuilt from the data files
//!   ([`crate::storage::store::rebuild_manifest`]);
//! - blocks whose chunks do not read are marked dead in the manifest (the
//!   file is copied into quarantine first), so queries stop failing;
//! - then the engine is opened once, which quarantines data files whose
//!   index does not read and WAL segments with damage, replays every
//!   intact record, flushes, and reports each loss in `damage.jsonl`.
//!
//! A damaged catalog cannot be rebuilt from the other files (it holds the
//! schemas); `check` says so and leaves it.
//!
//! May import: `storage`, `catalog`, `state` (the engine's recovery),
//! `error`.

use std::path::Path;

use crate::error::Result;
use crate::storage::{block, damage, store, wal};

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The file, relative to the data directory.
    pub file: String,
    pub what: String,
    /// A data file's block whose chunks do not read (file, index).
    block: Option<(String, u32)>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Catalog,
    Manifest,
    DataIndex,
    DataChunk,
    Wal,
}

/// What `check` found.
#[derive(Debug, Default)]
pub struct Report {
    /// One line per thing checked that was fine.
    pub ok: Vec<String>,
    pub problems: Vec<Problem>,
}

impl Report {
    fn problem(&mut self, kind: Kind, file: impl Into<String>, what: impl Into<String>) {
        self.problems.push(Problem {
            file: file.into(),
            what: what.into(),
            block: None,
            kind,
        });
    }

    /// The report as the command prints it.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for l in &self.ok {
            out.push_str(&format!("ok       {l}\n"));
        }
        for p in &self.problems {
            out.push_str(&format!("DAMAGED  {}: {}\n", p.file, p.what));
        }
        out.push_str(&if self.problems.is_empty() {
            "no damage found\n".to_owned()
        } else {
            format!(
                "{} problem{} found\n",
                self.problems.len(),
                if self.problems.len() == 1 { "" } else { "s" }
            )
        });
        out
    }
}

/// Checks the data directory `dir` without changing it.
pub fn check(dir: &Path) -> Report {
    let mut r = Report::default();
    let data = dir.join("data");
    let files = if data.exists() {
        store::data_files(&data).unwrap_or_default()
    } else {
        Vec::new()
    };

    // the catalog
    let catalog_path = dir.join("catalog.redb");
    if catalog_path.exists() {
        match crate::catalog::Catalog::open(&catalog_path) {
            Ok(c) => r.ok.push(format!(
                "catalog.redb: {} databases, {} tables",
                c.dbs.len(),
                c.dbs.values().map(|d| d.tables.len()).sum::<usize>()
            )),
            Err(e) if e.msg.contains("already open") => r.problem(
                Kind::Catalog,
                "catalog.redb",
                "in use by a running server: stop it, then check again",
            ),
            Err(e) => r.problem(
                Kind::Catalog,
                "catalog.redb",
                format!(
                    "{}; it cannot be rebuilt from the other files: restore it from a backup",
                    e.msg
                ),
            ),
        }
    } else if !files.is_empty() {
        r.problem(
            Kind::Catalog,
            "catalog.redb",
            "missing while data files exist",
        );
    }

    // the manifest
    let manifest = match store::read_manifest(&data) {
        Ok(Some(m)) => {
            r.ok.push("data/MANIFEST".to_owned());
            Some(m)
        }
        Ok(None) if !files.is_empty() => {
            r.problem(
                Kind::Manifest,
                "data/MANIFEST",
                "missing while data files exist",
            );
            None
        }
        Ok(None) => None,
        Err(e) => {
            r.problem(Kind::Manifest, "data/MANIFEST", e.msg);
            None
        }
    };
    let named: Vec<String> = manifest
        .iter()
        .flat_map(|m| m.files.iter().map(|f| f.name.clone()))
        .collect();
    let covered = manifest.as_ref().map(|m| m.covered_wal);

    // data files: the index, then every chunk
    for path in &files {
        let name = store::relative_name(&data, path);
        let file = format!("data/{name}");
        if manifest.is_some() && !named.contains(&name) {
            r.ok.push(format!(
                "{file}: not in the manifest (a flush cut short; the server sets it aside)"
            ));
        }
        match block::open_file(path) {
            Err(e) => r.problem(Kind::DataIndex, &file, e.msg),
            Ok(blocks) => {
                let mut bad = 0;
                let mut rows = 0u64;
                let dead = manifest.as_ref().and_then(|m| m.dead.get(&name));
                for (i, (meta, src)) in blocks.iter().enumerate() {
                    if dead.is_some_and(|d| d.contains(&(i as u32))) {
                        continue; // replaced by a merge, or set aside
                    }
                    rows += u64::from(meta.rows);
                    if let Err(e) = read_block(meta, src) {
                        bad += 1;
                        r.problems.push(Problem {
                            file: file.clone(),
                            what: format!(
                                "block {i} (table uid {}, {} rows, timestamps {}..={}): {}",
                                meta.uid, meta.rows, meta.ts_min, meta.ts_max, e.msg
                            ),
                            block: Some((name.clone(), i as u32)),
                            kind: Kind::DataChunk,
                        });
                    }
                }
                if bad == 0 {
                    r.ok.push(format!("{file}: {} blocks, {rows} rows", blocks.len()));
                }
            }
        }
    }
    for name in &named {
        if !files
            .iter()
            .any(|p| store::relative_name(&data, p) == *name)
        {
            r.problem(
                Kind::DataIndex,
                format!("data/{name}"),
                "named by the manifest but missing",
            );
        }
    }

    // the WAL
    let wal_dir = dir.join("wal");
    let segs = if wal_dir.exists() {
        wal::segments(&wal_dir).unwrap_or_default()
    } else {
        Vec::new()
    };
    let live: Vec<u64> = segs
        .iter()
        .copied()
        .filter(|s| covered.is_none_or(|c| *s > c))
        .collect();
    // a new data directory has no log yet: nothing is missing
    let fresh = covered == Some(0) && files.is_empty() && !wal_dir.exists();
    if let (Some(c), false) = (covered, fresh) {
        for seq in wal::missing_segments(&live, c) {
            r.problem(
                Kind::Wal,
                format!("wal/{seq:016}.log"),
                "missing: rows acknowledged after the last flush that it held are lost",
            );
        }
    }
    for (k, seq) in live.iter().enumerate() {
        let file = format!("wal/{seq:016}.log");
        match wal::check_segment(&wal_dir, *seq, k + 1 == live.len()) {
            Err(e) => r.problem(Kind::Wal, &file, e.msg),
            Ok((records, damage)) if damage.is_empty() => {
                r.ok.push(format!("{file}: {records} records"));
            }
            Ok((records, damage)) => {
                for d in damage {
                    r.problem(
                        Kind::Wal,
                        &file,
                        format!(
                            "bytes {}..{} unreadable, at least {} record(s) lost; {records} intact records",
                            d.start, d.end, d.records
                        ),
                    );
                }
            }
        }
    }
    r
}

/// Reads and checks every chunk of a block.
fn read_block(meta: &block::BlockMeta, src: &block::Src) -> Result<()> {
    if let block::Src::File { file, ts, cols, .. } = src {
        file.read(*ts, meta.rows as usize)?;
        for c in cols {
            file.read(*c, meta.rows as usize)?;
        }
    }
    Ok(())
}

/// Repairs what `report` found in `dir` (see the module doc) and returns
/// what was done, one line each.
pub fn repair(dir: &Path, report: &Report) -> Result<Vec<String>> {
    let mut done = Vec::new();
    let data = dir.join("data");
    if report.problems.iter().any(|p| p.kind == Kind::Catalog) {
        done.push("catalog.redb left as it is: restore it from a backup".to_owned());
        return Ok(done);
    }
    if report.problems.iter().any(|p| p.kind == Kind::Manifest) {
        let mpath = data.join("MANIFEST");
        if mpath.exists() {
            let kept = damage::quarantine(dir, &mpath, "MANIFEST")?;
            done.push(format!("data/MANIFEST copied to {kept}"));
        }
        let catalog = crate::catalog::Catalog::open(&dir.join("catalog.redb"))?;
        let wal_dir = dir.join("wal");
        let segs = if wal_dir.exists() {
            wal::segments(&wal_dir)?
        } else {
            Vec::new()
        };
        let covered = match segs.first() {
            Some(first) => first - 1,
            None => {
                std::fs::create_dir_all(&wal_dir)
                    .map_err(|e| crate::error::DbError::io("WAL directory", e))?;
                wal::create_segment(&wal_dir, 1)?;
                0
            }
        };
        let part_len = |db: &str| catalog.dbs.get(db).map(|e| e.options().partition_ticks());
        let (n, left_out) = store::rebuild_manifest(&data, covered, &part_len)?;
        done.push(format!("data/MANIFEST rebuilt: {n} data files named"));
        for (name, why) in left_out {
            done.push(format!("data/{name} left out of the manifest: {why}"));
        }
    }
    let dead: Vec<(String, u32)> = report
        .problems
        .iter()
        .filter_map(|p| p.block.clone())
        .collect();
    if !dead.is_empty() {
        let mut copied = Vec::new();
        for (name, _) in &dead {
            if !copied.contains(name) {
                let kept = damage::quarantine(dir, &data.join(name), &name.replace('/', "-"))?;
                done.push(format!("data/{name} copied to {kept}"));
                copied.push(name.clone());
            }
        }
        store::mark_blocks_dead(&data, &dead)?;
        let reports: Vec<damage::Damage> = report
            .problems
            .iter()
            .filter(|p| p.block.is_some())
            .map(|p| damage::Damage {
                found_at: damage::now_ms(),
                kind: "data file".into(),
                file: p.file.clone(),
                start: 0,
                end: 0,
                lost: p.what.clone(),
                action: "block marked dead in the manifest by tsdb check --repair; the file is in quarantine".into(),
            })
            .collect();
        damage::report(dir, &reports)?;
        done.push(format!("{} damaged block(s) marked dead", dead.len()));
    }
    // the engine's own recovery: damaged indexes and WAL segments
    let engine = crate::state::Engine::open_with(dir, 0)?;
    engine.flush()?;
    drop(engine);
    done.push("opened and flushed: every intact WAL record is in data files".to_owned());
    Ok(done)
}
