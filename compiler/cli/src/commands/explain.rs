use crate::{ExitStatus, Global};
use sparkc_core::diag::Code;

/// Print the long explanation of a diagnostic code (e.g. E0302).
#[derive(clap::Args)]
pub struct Explain {
    code: String,
}

impl Explain {
    pub fn run(self, _: &Global) -> Result<ExitStatus, String> {
        match Code::parse(&self.code) {
            Some(c) => {
                super::stdout(&sparkc::explain(c));
                Ok(ExitStatus::Success)
            }
            None => Err(format!(
                "unknown diagnostic code `{}`; codes look like E0302 (see docs/diagnostics/)",
                self.code
            )),
        }
    }
}
