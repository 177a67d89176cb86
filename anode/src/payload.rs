//! Request validation shared by every analysis endpoint (spec §3.2).
//!
//! The checks run in upstream's order and with upstream's messages, because
//! a client that tests for a message should see the same one: `data`
//! present, at least two columns, columns 0 and 1 of equal length, the row
//! range, `schema` present, a `val` column. What upstream left to chance we
//! name: a missing `ts` column (Python silently used the last column),
//! NULLs and non-numbers in the data, mistyped envelope fields.
//!
//! May import: `error`, `options`, `protocol`.

use crate::bail;
use crate::error::Result;
use crate::options::Options;
use crate::protocol::{AnalysisRequest, Column};

/// Row limits of taosd's analysis operators (`ANALY_FORECAST_MIN_ROWS`,
/// `ANALY_FORECAST_MAX_ROWS`); the anomaly-detection path uses the same.
pub const MIN_ROWS: usize = 10;
pub const MAX_ROWS: usize = 40_000;

/// Timestamp precision of the `ts` column (`prec`). Imputation also accepts
/// seconds for its frequency arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    S,
    Ms,
    Us,
    Ns,
}

impl Precision {
    pub fn parse(s: &str) -> Option<Precision> {
        match s.to_ascii_lowercase().as_str() {
            "s" => Some(Precision::S),
            "ms" => Some(Precision::Ms),
            "us" => Some(Precision::Us),
            "ns" => Some(Precision::Ns),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::S => "s",
            Precision::Ms => "ms",
            Precision::Us => "us",
            Precision::Ns => "ns",
        }
    }

    /// Ticks of this precision in one second.
    pub fn per_second(self) -> i64 {
        match self {
            Precision::S => 1,
            Precision::Ms => 1_000,
            Precision::Us => 1_000_000,
            Precision::Ns => 1_000_000_000,
        }
    }
}

/// upstream's `SINGLE_COLUMN_ERROR_MSG`: a request of one column.
pub const SINGLE_COLUMN_MSG: &str = "only one column, primary timestamp column should be provided";

/// A request that passed the common checks.
#[derive(Debug)]
pub struct Payload {
    names: Vec<String>,
    data: Vec<Column>,
    pub rows: usize,
    val_index: usize,
    ts_index: Option<usize>,
    /// Lower-cased `algo` field, if present.
    pub algo: Option<String>,
    /// The option string, echoed back in the response.
    pub option: Option<String>,
    pub options: Options,
    pub wncheck: bool,
    pub request: AnalysisRequest,
}

impl Payload {
    /// Runs the checks of `validate_pay_load` in upstream order.
    pub fn validate(mut req: AnalysisRequest, check_rows: bool) -> Result<Payload> {
        let Some(data) = req.data.take() else {
            bail!("data attr does not exist in json");
        };
        if data.len() <= 1 {
            bail!("{SINGLE_COLUMN_MSG}");
        }
        let rows = data[0].0.len();
        if rows != data[1].0.len() {
            bail!("data inconsistent, number of rows are not identical");
        }
        if check_rows && !(MIN_ROWS..=MAX_ROWS).contains(&rows) {
            bail!("number of rows should between {MIN_ROWS} and {MAX_ROWS}, actual {rows} rows");
        }
        let Some(schema) = req.schema.take() else {
            bail!("schema is missing");
        };
        let names = schema_names(&schema)?;
        let Some(val_index) = names.iter().position(|n| n == "val") else {
            bail!("invalid schema info, data column is missing");
        };
        if names.len() != data.len() {
            bail!(
                "invalid schema info, schema has {} columns but data has {}",
                names.len(),
                data.len()
            );
        }
        let ts_index = names.iter().position(|n| n == "ts");
        let option = match req.option.take() {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s),
            Some(other) => bail!("invalid option, a string is expected, actual {other}"),
        };
        let options = Options::parse(option.as_deref());
        let algo = match req.algo.take() {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.trim().to_ascii_lowercase()),
            Some(other) => bail!("invalid algo, a string is expected, actual {other}"),
        };
        let wncheck = match &req.wncheck {
            None => true,
            Some(v) => truthy(v, "wncheck")?,
        };
        Ok(Payload {
            names,
            data,
            rows,
            val_index,
            ts_index,
            algo,
            option,
            options,
            wncheck,
            request: req,
        })
    }

    pub fn column_count(&self) -> usize {
        self.data.len()
    }

    /// The target series, as numbers. NULL or non-numeric values are named
    /// with their row: an algorithm never sees a hole it cannot handle.
    pub fn values(&self) -> Result<Vec<f64>> {
        self.numeric_column(self.val_index)
    }

    /// The last column named `name` (correlation's `val1` is found this way).
    pub fn values_of(&self, name: &str) -> Result<Option<Vec<f64>>> {
        match self.names.iter().rposition(|n| n == name) {
            None => Ok(None),
            Some(i) => self.numeric_column(i).map(Some),
        }
    }

    /// Every data column (all but `ts`) as numbers, `val` first and the
    /// others in schema order: the input of the multivariate detectors.
    pub fn data_columns(&self) -> Result<Vec<Vec<f64>>> {
        let others =
            (0..self.data.len()).filter(|&i| i != self.val_index && Some(i) != self.ts_index);
        std::iter::once(self.val_index)
            .chain(others)
            .map(|i| self.numeric_column(i))
            .collect()
    }

    /// The columns whose names pass `pick`, in schema order, as numbers
    /// (covariates: `past_dynamic_real*`, `dynamic_real*`).
    pub fn columns_named(&self, pick: impl Fn(&str) -> bool) -> Result<Vec<Vec<f64>>> {
        (0..self.names.len())
            .filter(|&i| pick(&self.names[i]))
            .map(|i| self.numeric_column(i))
            .collect()
    }

    fn numeric_column(&self, index: usize) -> Result<Vec<f64>> {
        let name = &self.names[index];
        let mut out = Vec::with_capacity(self.data[index].0.len());
        for (row, cell) in self.data[index].0.iter().enumerate() {
            match cell.as_f64() {
                Some(v) => out.push(v),
                None => bail!(
                    "invalid value in column {name} at row {row}: {}",
                    describe(*cell)
                ),
            }
        }
        Ok(out)
    }

    /// The `ts` column. Upstream silently took the last column when `ts` was
    /// missing; that turns a client's bug into nonsense windows, so here it
    /// is an error.
    pub fn timestamps(&self) -> Result<Vec<i64>> {
        let Some(index) = self.ts_index else {
            bail!("invalid schema info, timestamp column ts is missing");
        };
        let mut out = Vec::with_capacity(self.rows);
        for (row, cell) in self.data[index].0.iter().enumerate() {
            match cell.as_i64() {
                Some(v) => out.push(v),
                None => bail!(
                    "invalid timestamp in column ts at row {row}: {}",
                    describe(*cell)
                ),
            }
        }
        if out.len() != self.rows {
            bail!("data inconsistent, number of rows are not identical");
        }
        Ok(out)
    }

    /// `prec`, default `ms`.
    pub fn precision(&self, allow_seconds: bool) -> Result<Precision> {
        let p = match &self.request.prec {
            None | Some(serde_json::Value::Null) => return Ok(Precision::Ms),
            Some(serde_json::Value::String(s)) => Precision::parse(s),
            Some(_) => None,
        };
        match p {
            Some(Precision::S) if !allow_seconds => {}
            Some(p) => return Ok(p),
            None => {}
        }
        let shown = self
            .request
            .prec
            .as_ref()
            .map(value_text)
            .unwrap_or_default();
        bail!("invalid precision: {shown}, should be one of ms, us, ns")
    }
}

fn schema_names(schema: &serde_json::Value) -> Result<Vec<String>> {
    let Some(entries) = schema.as_array() else {
        bail!("invalid schema info, an array of [name, type, bytes] is expected");
    };
    entries
        .iter()
        .map(|e| {
            match e
                .as_array()
                .and_then(|a| a.first())
                .and_then(|n| n.as_str())
            {
                Some(name) => Ok(name.to_owned()),
                None => bail!(
                    "invalid schema info, an array of [name, type, bytes] is expected, actual {e}"
                ),
            }
        })
        .collect()
}

fn describe(cell: crate::protocol::Cell) -> &'static str {
    use crate::protocol::Cell;
    match cell {
        Cell::Null => "null",
        Cell::Float(f) if !f.is_finite() => "not a finite number",
        Cell::Float(_) => "not an integer",
        Cell::Int(_) => "out of range",
        Cell::Invalid => "not a number",
    }
}

/// Text of a JSON value for messages: strings without their quotes.
pub fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Python truthiness for the flag-like fields (`wncheck`, `return_conf`),
/// which taosd sends as 0/1 and old clients as bools or strings.
pub fn truthy(v: &serde_json::Value, field: &str) -> Result<bool> {
    use serde_json::Value;
    Ok(match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "0" | "false" | "no" | "off" => false,
            "1" | "true" | "yes" | "on" => true,
            _ => bail!("invalid {field} value: {s}, should be 0 or 1"),
        },
        other => bail!("invalid {field} value: {other}, should be 0 or 1"),
    })
}

/// An integer envelope field, accepting integral floats and numeric strings
/// the way Python's `int()` does for the values taosd writes.
pub fn json_int(v: &serde_json::Value, field: &str) -> Result<i64> {
    use serde_json::Value;
    let parsed = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64)
        }),
        Value::String(s) => crate::options::parse_int(s).ok(),
        _ => None,
    };
    match parsed {
        Some(i) => Ok(i),
        None => bail!(
            "invalid {field} value: {}, an integer is expected",
            value_text(v)
        ),
    }
}

/// A float envelope field (number or numeric string).
pub fn json_f64(v: &serde_json::Value, field: &str) -> Result<f64> {
    use serde_json::Value;
    let parsed = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => crate::options::parse_float(s).ok(),
        _ => None,
    };
    match parsed {
        Some(f) if f.is_finite() => Ok(f),
        _ => bail!(
            "invalid {field} value: {}, a number is expected",
            value_text(v)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(json: &str) -> AnalysisRequest {
        serde_json::from_str(json).unwrap()
    }

    fn err(json: &str, check_rows: bool) -> String {
        Payload::validate(req(json), check_rows)
            .unwrap_err()
            .to_string()
    }

    const TEN: &str = "[1,2,3,4,5,6,7,8,9,10]";

    #[test]
    fn validation_messages_in_upstream_order() {
        assert_eq!(
            err(r#"{"schema":[]}"#, true),
            "data attr does not exist in json"
        );
        assert_eq!(
            err(r#"{"data":[[1,2]]}"#, true),
            "only one column, primary timestamp column should be provided"
        );
        assert_eq!(
            err(r#"{"data":[[1,2],[1]]}"#, true),
            "data inconsistent, number of rows are not identical"
        );
        assert_eq!(
            err(
                r#"{"data":[[1,2,3,4,5,6,7,8,9],[1,2,3,4,5,6,7,8,9]]}"#,
                true
            ),
            "number of rows should between 10 and 40000, actual 9 rows"
        );
        assert_eq!(
            err(&format!(r#"{{"data":[{TEN},{TEN}]}}"#), true),
            "schema is missing"
        );
        assert_eq!(
            err(
                &format!(
                    r#"{{"data":[{TEN},{TEN}],"schema":[["ts","TIMESTAMP",8],["v","INT",4]]}}"#
                ),
                true
            ),
            "invalid schema info, data column is missing"
        );
        // Row limits are not applied when the endpoint does not ask for them.
        assert_eq!(
            err(r#"{"data":[[1,2],[1,2]],"schema":[["ts"]]}"#, false),
            "invalid schema info, data column is missing"
        );
    }

    #[test]
    fn too_many_rows() {
        let big: Vec<i64> = (0..40_001).collect();
        let col = serde_json::to_string(&big).unwrap();
        assert_eq!(
            err(&format!(r#"{{"data":[{col},{col}]}}"#), true),
            "number of rows should between 10 and 40000, actual 40001 rows"
        );
    }

    #[test]
    fn nulls_and_strings_are_named_with_their_row() {
        let p = Payload::validate(
            req(
                r#"{"data":[[1,2,3,4,5,6,7,8,9,10],[1,2,null,4,5,6,7,8,9,10]],
                   "schema":[["ts","TIMESTAMP",8],["val","INT",4]]}"#,
            ),
            true,
        )
        .unwrap();
        assert_eq!(
            p.values().unwrap_err().to_string(),
            "invalid value in column val at row 2: null"
        );
        let p = Payload::validate(
            req(r#"{"data":[[1,2,3,4,5,6,7,8,9,"x"],[1,2,3,4,5,6,7,8,9,10]],
                   "schema":[["ts","TIMESTAMP",8],["val","INT",4]]}"#),
            true,
        )
        .unwrap();
        assert_eq!(
            p.timestamps().unwrap_err().to_string(),
            "invalid timestamp in column ts at row 9: not a number"
        );
    }

    #[test]
    fn missing_ts_is_an_error_not_the_last_column() {
        let p = Payload::validate(
            req(&format!(
                r#"{{"data":[{TEN},{TEN}],"schema":[["x","INT",4],["val","INT",4]]}}"#
            )),
            true,
        )
        .unwrap();
        assert_eq!(
            p.timestamps().unwrap_err().to_string(),
            "invalid schema info, timestamp column ts is missing"
        );
    }

    #[test]
    fn envelope_fields() {
        let p = Payload::validate(
            req(&format!(
                r#"{{"data":[{TEN},{TEN}],"schema":[["ts","TIMESTAMP",8],["val","INT",4]],
                    "algo":"KSigma","option":"algo=ksigma,k=2","wncheck":"0","prec":"US"}}"#
            )),
            true,
        )
        .unwrap();
        assert_eq!(p.algo.as_deref(), Some("ksigma"));
        assert_eq!(p.options.get("k"), Some("2"));
        assert!(!p.wncheck);
        assert_eq!(p.precision(false).unwrap(), Precision::Us);
        assert_eq!(p.values().unwrap()[9], 10.0);
        let bad = Payload::validate(
            req(&format!(
                r#"{{"data":[{TEN},{TEN}],"schema":[["ts","TIMESTAMP",8],["val","INT",4]],"prec":"s"}}"#
            )),
            true,
        )
        .unwrap();
        assert_eq!(
            bad.precision(false).unwrap_err().to_string(),
            "invalid precision: s, should be one of ms, us, ns"
        );
        assert_eq!(bad.precision(true).unwrap(), Precision::S);
    }

    #[test]
    fn json_scalars() {
        use serde_json::json;
        assert_eq!(json_int(&json!(10), "x").unwrap(), 10);
        assert_eq!(json_int(&json!(10.0), "x").unwrap(), 10);
        assert_eq!(json_int(&json!("12"), "x").unwrap(), 12);
        assert_eq!(
            json_int(&json!("abc"), "forecast_rows")
                .unwrap_err()
                .to_string(),
            "invalid forecast_rows value: abc, an integer is expected"
        );
        assert_eq!(json_f64(&json!("0.9"), "conf").unwrap(), 0.9);
        assert!(truthy(&json!(1), "w").unwrap());
        assert!(!truthy(&json!(false), "w").unwrap());
        assert!(truthy(&json!("x"), "w").is_err());
    }
}
