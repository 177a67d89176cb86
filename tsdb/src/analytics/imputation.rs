//! `SELECT [_improwts,] IMPUTATION(col [, 'algo=...,freq=1s']) [, _impmark]
//! FROM ... [WHERE ...] [PARTITION BY ...]` (analytics-sql §7.1): the series
//! on a regular `freq` grid, the missing timestamps filled by the anode.
//! `_improwts` is the grid's timestamp, `_impmark` 1 for a filled row and 0
//! for an original one.
//!
//! Choices: taosd accepts only a bare unit as `freq` (`s`, `ms`, ...); a
//! count is accepted too (`10s`), and `ns` in a nanosecond database, as
//! the anode accepts them. taosd's default
//! algorithm is `moment`, which needs a MOMENT model server; when no anode
//! offers `moment` and the option names no algorithm, `linear` (ours) is
//! used, so `IMPUTATION(col)` works with the embedded anode.
//!
//! May import: `error`, `result`, `sql`, `state`, `types`, its parent's `call`,
//! `candidates`, `json_values`, `options`, `read_series`.

use serde_json::{Value as Json, json};

use super::call::{self, Projection};
use super::options::AnalysisOptions;
use super::{Shape, json_values, read_series};
use crate::error::{DbError, Result, code};
use crate::fail;
use crate::result::Output;
use crate::sql::ast::Select;
use crate::state::Engine;
use crate::types::{DataType, Precision, Value};

/// `ANALY_IMPUTATION_INPUT_MIN_ROWS` / `MAX_ROWS`.
pub const MIN_INPUT_ROWS: usize = 10;
pub const MAX_INPUT_ROWS: usize = 8192;
/// `ANALY_MAX_IMPUT_ROWS`: most rows one group may gain.
pub const MAX_ADDED_ROWS: i64 = 2048;
const DEFAULT_FREQ: &str = "1s";
const PREFERRED_ALGO: &str = "moment";
const FALLBACK_ALGO: &str = "linear";

fn invalid(msg: impl std::fmt::Display) -> DbError {
    DbError::new(code::INVALID_PARA, format!("Invalid parameters: {msg}"))
}

/// `freq` (`[count]unit`, unit one of d h m s ms us ns, parsed as the
/// anode parses it) in ticks of `p`.
pub fn freq_ticks(text: &str, p: Precision) -> Result<i64> {
    let ns = anode::service::parse_freq(text).map_err(invalid)?;
    let tick_ns = match p {
        Precision::Ms => 1_000_000,
        Precision::Us => 1_000,
        Precision::Ns => 1,
    };
    if ns % tick_ns != 0 {
        return Err(invalid(format!(
            "freq={text} is finer than the database precision {}",
            p.as_str()
        )));
    }
    Ok(ns / tick_ns)
}

pub fn run(engine: &Engine, sel: &Select, current: Option<&str>) -> Result<Output> {
    let (cols, text) = call::arguments(sel, "imputation")?;
    let shape = Shape::of(engine, sel, current)?;
    let [col] = cols else {
        fail!(
            code::INVALID_VALUE,
            "IMPUTATION takes one column (and the option string last)"
        );
    };
    let column = call::value_column(&shape, "imputation", col)?.clone();

    let named = text.is_some_and(|t| {
        AnalysisOptions::parse(Some(t), "")
            .map(|o| o.get("algo").is_some())
            .unwrap_or(false)
    });
    let default_algo = if named
        || super::candidates(
            engine.read().catalog.anodes.values(),
            "imputation",
            PREFERRED_ALGO,
        )
        .is_ok()
    {
        PREFERRED_ALGO
    } else {
        FALLBACK_ALGO
    };
    let opts = AnalysisOptions::parse(text, &format!("algo={default_algo}"))?;
    let algo = opts.algo()?;
    let freq = opts.get("freq").unwrap_or(DEFAULT_FREQ).to_owned();
    let step = freq_ticks(&freq, shape.precision)?;
    let wncheck = opts.wncheck()?;
    let timeout = opts.timeout()?;

    // IMPUTATION, _improwts, _impmark
    let types = [DataType::Double, DataType::Timestamp, DataType::Int];
    let mut projection = Projection::new(sel, "imputation", &types, shape.precision)?;
    let candidates = super::candidates(engine.read().catalog.anodes.values(), "imputation", &algo)?;
    let (groups, key_meta) = read_series(
        engine,
        sel,
        current,
        &shape,
        std::slice::from_ref(&column.name),
    )?;
    projection.key_types(&key_meta);

    let mut out_rows = Vec::new();
    for g in &groups {
        let n = g.ts.len();
        if !(MIN_INPUT_ROWS..=MAX_INPUT_ROWS).contains(&n) {
            return Err(invalid(format!(
                "IMPUTATION takes {MIN_INPUT_ROWS} to {MAX_INPUT_ROWS} rows, got {n}"
            )));
        }
        let span = g.ts[n - 1] - g.ts[0];
        let added = span / step + 1 - n as i64;
        if added > MAX_ADDED_ROWS {
            return Err(invalid(format!(
                "freq={freq} would add {added} rows, at most {MAX_ADDED_ROWS}"
            )));
        }
        let body = json!({
            "schema": [["ts", "TIMESTAMP", 8], ["val", column.ty.name(), column.ty.len()]],
            "data": [g.ts, json_values(&g.cols[0])],
            "option": opts.raw,
            "algo": algo,
            "freq": freq,
            "prec": shape.precision.as_str(),
            "wncheck": wncheck,
            "rows": n,
            "protocol": 1.0,
        });
        let answer = engine
            .analytics
            .call(&candidates, "imputation", &body, timeout)?;
        for fields in imputed_rows(&answer)? {
            out_rows.push(projection.row(g, &fields));
        }
    }
    Ok(projection.output(out_rows, sel, shape.precision))
}

/// `{rows, ts, target, mask}` → `[value, ts, mark]` per row.
fn imputed_rows(answer: &Json) -> Result<Vec<[Value; 3]>> {
    let rows = answer
        .get("rows")
        .and_then(Json::as_u64)
        .ok_or_else(|| call::bad_answer("the imputation answer has no rows"))?
        as usize;
    let array = |key: &str| -> Result<&Vec<Json>> {
        let a = answer
            .get(key)
            .and_then(Json::as_array)
            .ok_or_else(|| call::bad_answer(format!("the imputation answer has no {key}")))?;
        if a.len() != rows {
            return Err(call::bad_answer(format!(
                "{key} has {} values, rows is {rows}",
                a.len()
            )));
        }
        Ok(a)
    };
    let (ts, target, mask) = (array("ts")?, array("target")?, array("mask")?);
    (0..rows)
        .map(|i| {
            // the MOMENT server sends its timestamps as floats
            let t = ts[i]
                .as_f64()
                .ok_or_else(|| call::bad_answer("a timestamp of ts is not a number"))?;
            Ok([
                call::num(target[i].as_f64()),
                Value::Int(t.round() as i64),
                Value::Int(mask[i].as_i64().unwrap_or(0)),
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freq_in_ticks() {
        assert_eq!(freq_ticks("s", Precision::Ms).unwrap(), 1000);
        assert_eq!(freq_ticks("10s", Precision::Ms).unwrap(), 10_000);
        assert_eq!(freq_ticks("1M", Precision::Us).unwrap(), 60_000_000);
        assert_eq!(freq_ticks("us", Precision::Ns).unwrap(), 1000);
        assert_eq!(freq_ticks("2d", Precision::Ms).unwrap(), 172_800_000);
        assert_eq!(freq_ticks("10ns", Precision::Ns).unwrap(), 10);
        for bad in ["", "0s", "1x", "s1", "-1s", "1ns"] {
            let e = freq_ticks(bad, Precision::Ms).unwrap_err();
            assert_eq!(e.code, code::INVALID_PARA, "{bad}");
        }
        let e = freq_ticks("10us", Precision::Ms).unwrap_err();
        assert_eq!(
            e.msg,
            "Invalid parameters: freq=10us is finer than the database precision ms"
        );
    }
}
