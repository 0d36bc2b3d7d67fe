//! `sparkc lsp`: the language server, over stdio (`lsp-server` and `lsp-types`, as
//! rust-analyzer and ruff use). A thin shell over the driver: the open buffers are an
//! [`sparkc_driver::Overlay`] over the project on disk, every change re-checks through one
//! [`sparkc_driver::Driver`] per project (which re-parses only the changed file), and every
//! answer — diagnostics, hover, definition, references, rename, completion, formatting,
//! symbols, quick fixes — is read off the [`sparkc_driver::Compilation`] and the syntax tree.
//!
//! Messages are handled one at a time, in order. Before each, everything the client has sent
//! meanwhile is read: a burst of changes is checked once, and a request cancelled before it
//! was reached is answered as cancelled without being computed. A handler that panics
//! answers with an internal error; the server goes on.

pub mod convert;
mod features;
mod local;
mod server;

pub use server::serve;

/// Serve on stdin/stdout until the client says `exit`.
pub fn run_stdio() -> Result<(), String> {
    let (connection, io) = lsp_server::Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io.join().map_err(|e| format!("the connection failed: {e}"))
}
