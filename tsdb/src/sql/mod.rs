//! SQL: [`lexer`] → [`parser`] → [`ast`]; [`values`] is the fast path of
//! large INSERTs.
//!
//! May import: `error`, `limits`, `types`.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod values;

/// Parses one statement: an INSERT of plain literals by [`values`], every
/// other statement (and every INSERT it gives up on) by the [`parser`].
pub fn parse(sql: &str) -> crate::error::Result<ast::Statement> {
    match values::insert(sql) {
        Some(stmt) => Ok(stmt),
        None => parser::parse(sql),
    }
}
