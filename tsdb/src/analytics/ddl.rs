//! `CREATE / DROP / UPDATE [ALL] ANODE[S]`, `SHOW ANODES [FULL]` and the
//! `information_schema.ins_anodes[_full]` tables (analytics-sql §1).
//!
//! HTTP (`/list`, `/status`) happens with no engine lock held; the catalog
//! is then changed under the write lock, checking again what another
//! statement may have changed in between.
//!
//! May import: `catalog`, `error`, `result`, `state`, `types`.

use super::URL_LEN;
use crate::catalog::{Anode, Change};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::result::{ColMeta, Output};
use crate::state::{Engine, State, now_ms};
use crate::types::{DataType, Precision, Value};

fn not_there(id: i64) -> DbError {
    DbError::new(code::ANODE_NOT_EXIST, format!("Anode not there: {id}"))
}

/// The anode registered under `url` (URLs compare case-insensitively).
fn anode_at(st: &State, url: &str) -> Option<u32> {
    st.catalog
        .anodes
        .values()
        .find(|a| normalize_url(&a.url) == normalize_url(url))
        .map(|a| a.id)
}

pub fn create(engine: &Engine, url: &str) -> Result<Output> {
    create_anode(engine, url).map(|_| Output::Affected(0))
}

/// An anode URL as it is kept and compared: trimmed, without `http://`
/// (taosd talks plain HTTP and stores `host:port`) or a trailing `/`, in
/// lower case, so `http://127.0.0.1:6050/` and `127.0.0.1:6050` are one
/// anode.
pub fn normalize_url(url: &str) -> String {
    let u = url.trim();
    let u = if u.len() >= 7 && u[..7].eq_ignore_ascii_case("http://") {
        &u[7..]
    } else {
        u
    };
    u.trim_end_matches('/').to_ascii_lowercase()
}

/// `CREATE ANODE`; returns the new id.
fn create_anode(engine: &Engine, url: &str) -> Result<u32> {
    let url = &normalize_url(url);
    if url.len() > URL_LEN {
        fail!(
            code::ANODE_TOO_LONG_URL,
            "Anode too long url: {} bytes, at most {URL_LEN}",
            url.len()
        );
    }
    if url.trim().is_empty() {
        fail!(
            code::ANA_URL_CANT_ACCESS,
            "Analysis service can't access: empty url"
        );
    }
    if anode_at(&engine.read(), url).is_some() {
        fail!(code::ANODE_ALREADY_EXIST, "Anode already exists: {url}");
    }
    let algos = engine.analytics.fetch_list(url)?;
    let mut st = engine.write();
    // another statement may have created it while /list was asked
    if anode_at(&st, url).is_some() {
        fail!(code::ANODE_ALREADY_EXIST, "Anode already exists: {url}");
    }
    let id = st.catalog.anodes.keys().next_back().map_or(1, |m| m + 1);
    let now = now_ms();
    let anode = Anode {
        id,
        url: url.to_owned(),
        created: now,
        updated: now,
        algos,
    };
    st.catalog.commit(&[Change::PutAnode(&anode)])?;
    tracing::info!(
        anode = id,
        url,
        algorithms = anode.algos.len(),
        "anode created"
    );
    st.catalog.anodes.insert(id, anode);
    Ok(id)
}

pub fn drop(engine: &Engine, id: i64) -> Result<Output> {
    if id <= 0 {
        fail!(
            code::INVALID_MSG,
            "Invalid message: anode id {id} must be positive"
        );
    }
    let mut st = engine.write();
    let key = u32::try_from(id).map_err(|_| not_there(id))?;
    if !st.catalog.anodes.contains_key(&key) {
        return Err(not_there(id));
    }
    st.catalog.commit(&[Change::DelAnode(key)])?;
    st.catalog.anodes.remove(&key);
    tracing::info!(anode = id, "anode dropped");
    Ok(Output::Affected(0))
}

/// `UPDATE ANODE id` (`Some`) or `UPDATE ALL ANODES`, which stops at the
/// first anode that fails, as taosd does.
pub fn update(engine: &Engine, id: Option<i64>) -> Result<Output> {
    let targets: Vec<(u32, String)> = {
        let st = engine.read();
        match id {
            Some(id) => {
                let a = u32::try_from(id)
                    .ok()
                    .and_then(|k| st.catalog.anodes.get(&k))
                    .ok_or_else(|| not_there(id))?;
                vec![(a.id, a.url.clone())]
            }
            None => st
                .catalog
                .anodes
                .values()
                .map(|a| (a.id, a.url.clone()))
                .collect(),
        }
    };
    for (id, url) in targets {
        let algos = engine.analytics.fetch_list(&url)?;
        let mut st = engine.write();
        // dropped meanwhile: nothing to update
        let Some(mut a) = st.catalog.anodes.get(&id).cloned() else {
            continue;
        };
        a.algos = algos;
        a.updated = now_ms();
        st.catalog.commit(&[Change::PutAnode(&a)])?;
        st.catalog.anodes.insert(id, a);
    }
    Ok(Output::Affected(0))
}

fn col(name: &str, ty: DataType) -> ColMeta {
    ColMeta::new(name, ty)
}

/// `SHOW ANODES` (status asked live, in parallel) or `SHOW ANODES FULL`.
pub fn show(engine: &Engine, full: bool) -> Result<Output> {
    let anodes: Vec<Anode> = engine.read().catalog.anodes.values().cloned().collect();
    if full {
        let mut rows = Vec::new();
        for a in &anodes {
            for x in &a.algos {
                rows.push(vec![
                    Value::Int(a.id.into()),
                    Value::Str(x.kind.clone()),
                    Value::Str(x.name.clone()),
                    Value::Str(x.status.clone()),
                    Value::Str(x.note.clone()),
                ]);
            }
        }
        return Ok(Output::Rows {
            columns: vec![
                col("id", DataType::Int),
                col("type", DataType::Binary(24)),
                col("algo", DataType::Binary(64)),
                col("status", DataType::Binary(10)),
                col("note", DataType::Binary(256)),
            ],
            rows,
            precision: Precision::Ms,
        });
    }
    let targets: Vec<(u32, String)> = anodes.iter().map(|a| (a.id, a.url.clone())).collect();
    let statuses = engine.analytics.statuses(&targets);
    let rows = anodes
        .iter()
        .zip(statuses)
        .map(|(a, status)| {
            vec![
                Value::Int(a.id.into()),
                Value::Str(a.url.clone()),
                Value::Str(status),
                Value::Int(a.created),
                Value::Int(a.updated),
            ]
        })
        .collect();
    Ok(Output::Rows {
        columns: vec![
            col("id", DataType::Int),
            col("url", DataType::Binary(URL_LEN as u32)),
            col("status", DataType::Binary(10)),
            col("create_time", DataType::Timestamp),
            col("update_time", DataType::Timestamp),
        ],
        rows,
        precision: Precision::Ms,
    })
}

/// The background check of every anode's `/status`.
pub fn check(engine: &Engine) {
    let targets: Vec<(u32, String)> = engine
        .read()
        .catalog
        .anodes
        .values()
        .map(|a| (a.id, a.url.clone()))
        .collect();
    engine.analytics.check(&targets);
}

/// Registers the embedded anode at `url`: created when no anode has that
/// URL (anode 1 in a new data directory), its algorithms refreshed when one
/// has (a restart: the Python algorithms may have changed).
pub fn register(engine: &Engine, url: &str) -> Result<u32> {
    let known = anode_at(&engine.read(), url);
    match known {
        Some(id) => {
            update(engine, Some(id.into()))?;
            Ok(id)
        }
        None => create_anode(engine, url),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_normalised() {
        for u in [
            "127.0.0.1:6050",
            "http://127.0.0.1:6050",
            "HTTP://127.0.0.1:6050/",
            " 127.0.0.1:6050// ",
        ] {
            assert_eq!(super::normalize_url(u), "127.0.0.1:6050", "{u}");
        }
        assert_eq!(
            super::normalize_url("http://Anode.Example:6050"),
            "anode.example:6050"
        );
    }
}
