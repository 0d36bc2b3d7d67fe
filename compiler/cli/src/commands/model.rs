use crate::{ExitStatus, Global};
use sparkc::project::Project;

/// Print the checked model as JSON on stdout: the versioned contract for templates and
/// other tools (see docs/MODEL.md). With errors, prints the diagnostics instead.
#[derive(clap::Args)]
pub struct Model {
    /// Project directory or single .spark file (default: nearest spark.toml).
    path: Option<std::path::PathBuf>,
    /// One line instead of indented.
    #[arg(long)]
    compact: bool,
}

impl Model {
    pub fn run(self, g: &Global) -> Result<ExitStatus, String> {
        let project = Project::open(self.path.as_deref())?;
        let c = sparkc::check_project(&project)?;
        if c.errors() > 0 {
            super::print_diags(g, &c.diagnostics, &c.sources, None, Some(&project.root));
            return Ok(ExitStatus::Failure);
        }
        let doc = c.model_document();
        let json = if self.compact {
            serde_json::to_string(&doc)
        } else {
            serde_json::to_string_pretty(&doc)
        }
        .map_err(|e| format!("cannot serialise the model: {e}"))?;
        super::stdout(&format!("{json}\n"));
        // Warnings go to stderr, so stdout stays one JSON document.
        if !c.diagnostics.is_empty() && g.format != crate::Format::Json {
            super::print_diags(g, &c.diagnostics, &c.sources, None, Some(&project.root));
        }
        Ok(ExitStatus::Success)
    }
}
