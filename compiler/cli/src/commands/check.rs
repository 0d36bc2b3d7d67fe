use crate::{ExitStatus, Format, Global};
use sparkc::project::Project;

/// Check the project and print diagnostics only.
#[derive(clap::Args)]
pub struct Check {
    /// Project directory or single .spark file (default: nearest spark.toml).
    path: Option<std::path::PathBuf>,
}

impl Check {
    pub fn run(self, g: &Global) -> Result<ExitStatus, String> {
        let project = Project::open(self.path.as_deref())?;
        let c = sparkc::check_project(&project)?;
        super::print_diags(g, &c.diagnostics, &c.sources, None, Some(&project.root));
        let errors = c.errors();
        if g.format != Format::Json {
            let warnings = c.diagnostics.len() - errors;
            if errors > 0 {
                eprintln!("{errors} error(s), {warnings} warning(s)");
            } else {
                eprintln!(
                    "ok: {} file(s) checked, {warnings} warning(s)",
                    c.sources.files.iter().filter(|f| !f.is_stdlib).count()
                );
            }
        }
        super::exit_without_freeing(c);
        Ok(if errors > 0 {
            ExitStatus::Failure
        } else {
            ExitStatus::Success
        })
    }
}
