//! Errors with TDengine's error codes, so REST clients and the shell see
//! what a TDengine user expects (`{"code": 9728, "desc": "..."}`).
//!
//! May import: nothing of the crate.

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
    /// TSDB_CODE_INVALID_MSG: `DROP ANODE 0`.
    pub const INVALID_MSG: u32 = 0x0115;
    /// TSDB_CODE_INVALID_PARA: bad `rows`, `every`, ... of an analysis option.
    pub const INVALID_PARA: u32 = 0x0118;
    /// TSDB_CODE_INVALID_JSON_FORMAT: an anode answered something not JSON.
    pub const INVALID_JSON: u32 = 0x011B;
    // anode management (mnode, analytics-sql §1.3)
    pub const ANODE_ALREADY_EXIST: u32 = 0x0430;
    pub const ANODE_NOT_EXIST: u32 = 0x0431;
    pub const ANODE_TOO_LONG_URL: u32 = 0x0432;
    pub const ANODE_INVALID_PROTOCOL: u32 = 0x0433;
    pub const ANODE_INVALID_VERSION: u32 = 0x0434;
    pub const ANODE_INVALID_ALGO_TYPE: u32 = 0x0435;
    pub const ANODE_TOO_LONG_ALGO_NAME: u32 = 0x0437;
    // analysis calls (analytics-sql §9)
    pub const ANA_URL_RSP_IS_NULL: u32 = 0x0440;
    pub const ANA_URL_CANT_ACCESS: u32 = 0x0441;
    pub const ANA_ALGO_NOT_FOUND: u32 = 0x0442;
    pub const ANA_ALGO_NOT_LOAD: u32 = 0x0443;
    pub const ANA_ANODE_RETURN_ERROR: u32 = 0x0445;
    pub const ANA_ANODE_TOO_MANY_ROWS: u32 = 0x0446;
    pub const ANA_WN_DATA: u32 = 0x0447;
    pub const ANA_INTERNAL_ERROR: u32 = 0x0448;
    pub const ANA_ANODE_NOT_ENOUGH_ROWS: u32 = 0x0449;
    pub const ANA_NO_COVARIATE: u32 = 0x044A;
    // parser codes of the analysis functions
    pub const PAR_AGG_FUNC_NESTING: u32 = 0x2627;
    pub const PAR_NOT_ALLOWED_FUNC: u32 = 0x264F;
    pub const PAR_INVALID_ANOMALY_WIN_TYPE: u32 = 0x2682;
    pub const PAR_INVALID_ANOMALY_WIN_COL: u32 = 0x2683;
    pub const PAR_INVALID_ANOMALY_WIN_OPT: u32 = 0x2684;
    // budgets of one statement (crate::limits)
    /// TSDB_CODE_TSC_EXCEED_SQL_LIMIT ("SQL statement too long").
    pub const SQL_TOO_LONG: u32 = 0x0227;
    /// TSDB_CODE_TSC_QUERY_KILLED: the client left, the server is stopping,
    /// or the statement ran past `[limits] query-timeout`.
    pub const QUERY_KILLED: u32 = 0x020F;
    /// TSDB_CODE_QRY_TOO_MANY_TIMEWINDOW ("Too many groups/time window in query").
    pub const TOO_MANY_WINDOWS: u32 = 0x070A;
    /// TSDB_CODE_QRY_NOT_ENOUGH_BUFFER ("Query buffer limit has reached"):
    /// an answer past `[limits] max-result-rows` / `max-query-mb`.
    pub const QUERY_BUFFER_LIMIT: u32 = 0x070B;
    /// Too many failed logins from one address (ours: TDengine has no
    /// login throttle; the number follows AUTH_FAILURE's 0x0357).
    pub const TOO_MANY_LOGINS: u32 = 0x0358;
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
