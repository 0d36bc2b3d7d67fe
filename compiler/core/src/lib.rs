//! sparkc-core: the compiler library. It does no I/O: sources come in through a
//! [`source::SourceProvider`], artifacts and diagnostics go out as values.
//!
//! Steps:
//! 1. [`syntax`]: parse each file (the hand-written parser, held to `grammar.pest`) into a
//!    syntax tree with spans; parsing never fails.
//! 2. [`check()`]: load imports, build the symbol table, evaluate constants and templates,
//!    lower every declaration to its type, and check project-wide rules.
//! 3. [`model`]: the result, the typed IR every target reads.
//! 4. [`target`]: the trait backends implement; they turn the model into in-memory artifacts.

// A library reports through its return values: nothing here prints.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

// pest runs without its `std` feature, whose stack guard measured a stack probe on every
// grammar rule call (5 % of a build); the parser bounds nesting itself (`MAX_NESTING`). The
// derived parser then names `alloc` directly.
extern crate alloc;

pub mod check;
pub mod diag;
pub mod format;
pub mod hash;
pub mod model;
pub mod source;
pub mod syntax;
pub mod target;

pub use check::{Checked, Reference, check, check_cached};
