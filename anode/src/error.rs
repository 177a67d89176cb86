//! Errors of the analysis service and how they reach the wire.
//!
//! Every error a client can cause is answered with HTTP 200 and
//! `{"msg": "...", "rows": -1}`: taosd reads only the body and treats
//! `rows < 0` as failure, so the message is what the SQL user finally sees.
//! Upstream swallowed some of these as `rows: 0` (looks like "no anomalies")
//! or let them escape as HTML 500 pages; we never do either.
//!
//! May import: nothing of the crate.

use std::fmt;

/// A request could not be served. The text is shown to the user verbatim,
/// so it names what was wrong and, where it helps, what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnodeError {
    msg: String,
}

impl AnodeError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self { msg: msg.into() }
    }

    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for AnodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for AnodeError {}

impl From<String> for AnodeError {
    fn from(msg: String) -> Self {
        Self { msg }
    }
}

impl From<&str> for AnodeError {
    fn from(msg: &str) -> Self {
        Self {
            msg: msg.to_owned(),
        }
    }
}

/// Shorthand for `Err(AnodeError::new(format!(...)))`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::AnodeError::new(format!($($arg)*)))
    };
}

pub type Result<T, E = AnodeError> = std::result::Result<T, E>;
