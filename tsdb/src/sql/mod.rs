//! SQL: [`lexer`] → [`parser`] → [`ast`].

pub mod ast;
pub mod lexer;
pub mod parser;

pub use parser::parse;
