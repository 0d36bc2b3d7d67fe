//! Step 1: source text → syntax tree. See [`parser::parse`].
pub mod ast;
pub mod parser;
pub use parser::{parse, parts_agree};
