//! Errors with TDengine's error codes, so REST clients and the shell see
//! what a TDengine user expects (`{"code": 9728, "desc": "..."}`).

/// TDengine error numbers (3.x `taoserror.h`), the ones this core raises.
pub mod code {
    pub const SYNTAX_ERROR: u32 = 0x2600;
    pub const INVALID_COLUMN: u32 = 0x2602;
    pub const TABLE_NOT_EXIST: u32 = 0x2603;
    pub const DB_NOT_SPECIFIED: u32 = 0x2616;
    pub const INVALID_VALUE: u32 = 0x2617;
    pub const NOT_SUPPORTED: u32 = 0x2664;
    pub const DB_ALREADY_EXIST: u32 = 0x0381;
    pub const DB_NOT_EXIST: u32 = 0x0388;
    pub const TABLE_ALREADY_EXIST: u32 = 0x0362;
    pub const STABLE_NOT_EXIST: u32 = 0x0364;
    pub const TIMESTAMP_OUT_OF_RANGE: u32 = 0x060B;
    pub const AUTH_FAILURE: u32 = 0x0357;
    pub const INTERNAL: u32 = 0x0100;
    pub const IO: u32 = 0x0104;
    /// TSDB_CODE_TDB_FILE_CORRUPTED ("TSDB file corrupted").
    pub const FILE_CORRUPTED: u32 = 0x0612;
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{msg}")]
pub struct DbError {
    pub code: u32,
    pub msg: String,
}

impl DbError {
    pub fn new(code: u32, msg: impl Into<String>) -> Self {
        DbError {
            code,
            msg: msg.into(),
        }
    }

    pub fn syntax(msg: impl Into<String>) -> Self {
        DbError::new(code::SYNTAX_ERROR, msg)
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        DbError::new(code::INVALID_VALUE, msg)
    }

    pub fn unsupported(msg: impl Into<String>) -> Self {
        DbError::new(code::NOT_SUPPORTED, msg)
    }

    pub fn io(what: &str, e: impl std::fmt::Display) -> Self {
        DbError::new(code::IO, format!("{what}: {e}"))
    }
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

/// Returns early with an error of the given code.
#[macro_export]
macro_rules! fail {
    ($code:expr, $($arg:tt)*) => {
        return Err($crate::error::DbError::new($code, format!($($arg)*)))
    };
}
