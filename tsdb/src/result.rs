//! What a statement returns.
//!
//! May import: `types`.

use crate::types::{DataType, Precision, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ColMeta {
    pub name: String,
    pub ty: DataType,
}

impl ColMeta {
    pub fn new(name: impl Into<String>, ty: DataType) -> Self {
        ColMeta {
            name: name.into(),
            ty,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A result set; timestamps are in `precision`.
    Rows {
        columns: Vec<ColMeta>,
        rows: Vec<Vec<Value>>,
        precision: Precision,
    },
    /// DDL and INSERT: rows written (0 for DDL).
    Affected(usize),
    /// `USE db`.
    UseDb(String),
}
