use crate::{ExitStatus, Global};
use std::fmt::Write as _;

/// List the stdlib's modules with their first doc line.
#[derive(clap::Args)]
pub struct Stdlib {}

impl Stdlib {
    pub fn run(self, _: &Global) -> Result<ExitStatus, String> {
        let mut text_out = String::new();
        for m in sparkc_stdlib::modules() {
            let text = sparkc_stdlib::module(m).unwrap_or("");
            let doc = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("///"))
                .unwrap_or("")
                .trim();
            let _ = writeln!(text_out, "{m:34} {doc}");
        }
        super::stdout(&text_out);
        Ok(ExitStatus::Success)
    }
}
