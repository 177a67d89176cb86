//! Wire types of the taosanode REST protocol (spec §3, §4).
//!
//! This module depends only on serde, so the tsdb shares the exact shapes it
//! sends and parses. Response structs list their fields in alphabetical
//! order: Flask sorts keys, and keeping the same byte layout makes answers
//! diffable against the Python service. Floats go through serde_json, which
//! writes non-finite values as `null` — taosd's cJSON rejects `NaN`, so a
//! NaN must never reach the wire.
//!
//! May import: nothing of the crate.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// `protocol` value of `/status` and `/list`; taosd accepts 0.1 or 1.0.
pub const PROTOCOL_VERSION: f64 = 1.0;
/// `version` value of `/list`; taosd requires it to be positive.
pub const LIST_VERSION: f64 = 0.1;

/// The `GET /` banner. We speak the 3.3.7 generation of the protocol and say
/// so in the form scripts that parse the banner already understand.
pub const BANNER: &str =
    "TDgpt - TDengine TSDB\u{a9} Time-Series Data Analytics Platform (ver 3.3.7.1)";

/// Algorithm families, in the order `/list` reports them (3.3.7 order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AlgoType {
    #[serde(rename = "forecast")]
    Forecast,
    #[serde(rename = "anomaly-detection")]
    AnomalyDetection,
    #[serde(rename = "imputation")]
    Imputation,
    #[serde(rename = "correlation")]
    Correlation,
}

impl AlgoType {
    pub const ALL: [AlgoType; 4] = [
        AlgoType::Forecast,
        AlgoType::AnomalyDetection,
        AlgoType::Imputation,
        AlgoType::Correlation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlgoType::Forecast => "forecast",
            AlgoType::AnomalyDetection => "anomaly-detection",
            AlgoType::Imputation => "imputation",
            AlgoType::Correlation => "correlation",
        }
    }

    /// The POST path that serves this family.
    pub fn url_suffix(self) -> &'static str {
        match self {
            AlgoType::Forecast => "forecast",
            AlgoType::AnomalyDetection => "anomaly-detect",
            AlgoType::Imputation => "imputation",
            AlgoType::Correlation => "correlation",
        }
    }

    /// taosd matches type names case-insensitively and skips unknown ones.
    pub fn parse(s: &str) -> Option<AlgoType> {
        AlgoType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for AlgoType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusResponse {
    pub protocol: f64,
    pub status: String,
}

/// `GET /list`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ListResponse {
    pub details: Vec<AlgoGroup>,
    pub protocol: f64,
    pub version: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlgoGroup {
    pub algo: Vec<AlgoInfo>,
    #[serde(rename = "type")]
    pub algo_type: String,
}

/// One algorithm in `/list`. taosd reads only `name`; `status` is the newer
/// builds' per-algorithm state (`READY` / `UNAVAIL`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlgoInfo {
    #[serde(default)]
    pub desc: String,
    pub name: String,
    #[serde(default)]
    pub params: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// TDgpt 3.4: whether the algorithm ships with the anode (deployed
    /// models and users' plugins are not built-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtins: Option<bool>,
}

/// Every handled error: HTTP 200, `rows: -1`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorResponse {
    pub msg: String,
    pub rows: i64,
}

/// `POST /anomaly-detect` success.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnomalyResponse {
    pub algo: String,
    pub mask: Vec<i64>,
    pub option: Option<String>,
    pub res: Vec<[i64; 2]>,
    pub rows: usize,
}

/// `POST /forecast` success. `res` is `[ts[], value[]]` or
/// `[ts[], value[], lower[], upper[]]` when `return_conf` is set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ForecastResponse {
    pub algo: String,
    /// The fitted model's parameters (smoothing weights, chosen components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fitted: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_info: Option<String>,
    /// Mean squared one-step error of the fit (upstream sent the SSE here).
    pub mse: Option<f64>,
    pub option: Option<String>,
    pub period: i64,
    pub res: ForecastRes,
    pub rows: usize,
    /// Sum of squared one-step errors, what upstream called `mse`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sse: Option<f64>,
}

/// The `res` arrays of a forecast: timestamps are integers, the rest floats.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ForecastRes {
    pub ts: Vec<i64>,
    pub value: Vec<f64>,
    pub bounds: Option<(Vec<f64>, Vec<f64>)>,
}

impl Serialize for ForecastRes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(if self.bounds.is_some() { 4 } else { 2 }))?;
        seq.serialize_element(&self.ts)?;
        seq.serialize_element(&self.value)?;
        if let Some((lo, hi)) = &self.bounds {
            seq.serialize_element(lo)?;
            seq.serialize_element(hi)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ForecastRes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let arrays: Vec<Vec<f64>> = Vec::deserialize(d)?;
        let mut it = arrays.into_iter();
        let ts = it
            .next()
            .ok_or_else(|| de::Error::custom("forecast res has no timestamp array"))?
            .into_iter()
            .map(|t| t as i64)
            .collect();
        let value = it
            .next()
            .ok_or_else(|| de::Error::custom("forecast res has no value array"))?;
        let bounds = match (it.next(), it.next()) {
            (Some(lo), Some(hi)) => Some((lo, hi)),
            _ => None,
        };
        Ok(ForecastRes { ts, value, bounds })
    }
}

/// `POST /imputation` success: a regular grid with the gaps filled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImputationResponse {
    pub algo: String,
    /// 1 where the value was generated, 0 where it is an input value.
    pub mask: Vec<u8>,
    pub option: Option<String>,
    pub rows: usize,
    pub target: Vec<f64>,
    pub ts: Vec<i64>,
}

/// `POST /correlation` with `algo=dtw`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DtwResponse {
    pub distance: f64,
    pub option: Option<String>,
    pub path: Vec<[usize; 2]>,
    pub rows: usize,
}

/// `POST /correlation` with `algo=tlcc`. A constant slice has no defined
/// correlation; it is sent as `null` rather than upstream's invalid `NaN`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TlccResponse {
    pub ccf_vals: Vec<Option<f64>>,
    pub lags: Vec<i64>,
    pub option: Option<String>,
    pub rows: usize,
}

/// `POST /api/v1/analysis/pearsonr` (TDgpt 3.4): scipy's `pearsonr` of
/// `val` against `val1`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PearsonResponse {
    pub correlation_coefficient: f64,
    pub option: Option<String>,
    pub p_value: f64,
    pub rows: usize,
}

/// The request envelope taosd writes (spec §3.1). Scalars are kept as raw
/// JSON values so that a mistyped field gets a message naming it instead of
/// a generic decode error, and so that unknown keys are ignored.
#[derive(Debug, Default, PartialEq, Deserialize)]
pub struct AnalysisRequest {
    pub schema: Option<serde_json::Value>,
    pub data: Option<Vec<Column>>,
    pub option: Option<serde_json::Value>,
    pub algo: Option<serde_json::Value>,
    pub prec: Option<serde_json::Value>,
    pub wncheck: Option<serde_json::Value>,
    pub rows: Option<serde_json::Value>,
    pub forecast_rows: Option<serde_json::Value>,
    pub conf: Option<serde_json::Value>,
    pub start: Option<serde_json::Value>,
    pub every: Option<serde_json::Value>,
    pub return_conf: Option<serde_json::Value>,
    pub freq: Option<serde_json::Value>,
}

/// One value of a data column. taosd writes integers, `%f` floats and, for
/// NULL, `null`; anything else is kept as `Invalid` so that validation can
/// name the row instead of failing the whole decode.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Int(i64),
    Float(f64),
    Null,
    Invalid,
}

impl Cell {
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Cell::Int(i) => Some(i as f64),
            Cell::Float(f) if f.is_finite() => Some(f),
            _ => None,
        }
    }

    /// Timestamps must be whole numbers; `1.5e12` style floats are accepted
    /// when integral, as Python's `int()` would.
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(i),
            Cell::Float(f) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
                Some(f as i64)
            }
            _ => None,
        }
    }
}

/// A data column. Decoded by hand (no intermediate `serde_json::Value`), as
/// this is the hot path of every request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Column(pub Vec<Cell>);

impl<'de> Deserialize<'de> for Column {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ColumnVisitor;
        impl<'de> Visitor<'de> for ColumnVisitor {
            type Value = Column;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Column, A::Error> {
                let mut cells = Vec::with_capacity(seq.size_hint().unwrap_or(64));
                while let Some(c) = seq.next_element::<Cell>()? {
                    cells.push(c);
                }
                Ok(Column(cells))
            }
        }
        d.deserialize_seq(ColumnVisitor)
    }
}

impl<'de> Deserialize<'de> for Cell {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CellVisitor;
        impl<'de> Visitor<'de> for CellVisitor {
            type Value = Cell;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or null")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Cell, E> {
                Ok(Cell::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Cell, E> {
                Ok(i64::try_from(v).map_or(Cell::Float(v as f64), Cell::Int))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Cell, E> {
                Ok(Cell::Float(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Cell, E> {
                Ok(Cell::Int(v as i64))
            }
            fn visit_unit<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_none<E>(self) -> Result<Cell, E> {
                Ok(Cell::Null)
            }
            fn visit_str<E>(self, _: &str) -> Result<Cell, E> {
                Ok(Cell::Invalid)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Cell, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Cell::Invalid)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Cell, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Cell::Invalid)
            }
        }
        d.deserialize_any(CellVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_decode_every_json_kind() {
        let col: Column = serde_json::from_str(
            r#"[1, -2, 1.5, null, true, "x", [1], {"a":1}, 18446744073709551615]"#,
        )
        .unwrap();
        assert_eq!(
            col.0,
            vec![
                Cell::Int(1),
                Cell::Int(-2),
                Cell::Float(1.5),
                Cell::Null,
                Cell::Int(1),
                Cell::Invalid,
                Cell::Invalid,
                Cell::Invalid,
                Cell::Float(18446744073709551615.0),
            ]
        );
        assert_eq!(Cell::Float(1.5e12).as_i64(), Some(1_500_000_000_000));
        assert_eq!(Cell::Float(1.5).as_i64(), None);
        assert_eq!(Cell::Null.as_f64(), None);
    }

    #[test]
    fn forecast_res_round_trips_with_and_without_bounds() {
        let r = ForecastRes {
            ts: vec![1, 2],
            value: vec![0.5, f64::NAN],
            bounds: None,
        };
        assert_eq!(serde_json::to_string(&r).unwrap(), "[[1,2],[0.5,null]]");
        let with: ForecastRes = serde_json::from_str("[[1],[2.0],[1.0],[3.0]]").unwrap();
        assert_eq!(with.bounds, Some((vec![1.0], vec![3.0])));
    }

    #[test]
    fn list_keys_are_sorted_on_the_wire() {
        let l = ListResponse {
            details: vec![AlgoGroup {
                algo: vec![AlgoInfo {
                    desc: "d".into(),
                    name: "n".into(),
                    params: serde_json::json!({}),
                    status: None,
                    builtins: None,
                }],
                algo_type: "forecast".into(),
            }],
            protocol: PROTOCOL_VERSION,
            version: LIST_VERSION,
        };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"details":[{"algo":[{"desc":"d","name":"n","params":{}}],"type":"forecast"}],"protocol":1.0,"version":0.1}"#
        );
    }
}
