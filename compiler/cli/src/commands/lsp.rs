use crate::{ExitStatus, Global};

/// Run the language server on stdin/stdout (for editors: diagnostics, hover with a preview of
/// the generated files, definition, references, rename, completion, formatting, symbols).
#[derive(clap::Args)]
pub struct Lsp {
    /// Accepted for editors that pass it; stdio is the only transport.
    #[arg(long, hide = true)]
    stdio: bool,
}

impl Lsp {
    pub fn run(self, _g: &Global) -> Result<ExitStatus, String> {
        let _ = self.stdio;
        sparkc::lsp::run_stdio()?;
        Ok(ExitStatus::Success)
    }
}
