use crate::{ExitStatus, Global};
use sparkc::project::Project;
use std::fmt::Write as _;

/// List the targets: built-in, shipped template targets, and the project's own.
#[derive(clap::Args)]
pub struct Targets {
    /// Project directory (default: the nearest spark.toml, if any).
    path: Option<std::path::PathBuf>,
}

impl Targets {
    pub fn run(self, _g: &Global) -> Result<ExitStatus, String> {
        let mut out = String::from("built-in targets:\n");
        for t in sparkc_targets::builtin() {
            let options: Vec<&str> = t.options().iter().map(|o| o.name).collect();
            if options.is_empty() {
                let _ = writeln!(out, "  {}", t.name());
            } else {
                let _ = writeln!(out, "  {:<14}options: {}", t.name(), options.join(", "));
            }
        }
        out.push_str("template targets shipped with sparkc:\n");
        for t in sparkc_targets::template::shipped() {
            let _ = writeln!(out, "  {:<14}{}", t.name, t.doc);
        }
        // The project's own, when there is a project here.
        let project = match &self.path {
            Some(p) => Some(Project::open(Some(p))?),
            None => Project::open(None).ok(),
        };
        if let Some(p) = project {
            let defined = p.manifest.template_dirs();
            let built = p.manifest.build_targets();
            out.push_str("this project's template targets:\n");
            if defined.is_empty() {
                out.push_str("  (none; see docs/templates.md)\n");
            }
            for (name, (dir, _)) in &defined {
                let state = if built.contains(name) {
                    ""
                } else {
                    " (not in build)"
                };
                let _ = writeln!(out, "  {name:<14}templates in {dir}{state}");
            }
            let _ = writeln!(out, "this project builds: {}", built.join(", "));
        }
        super::stdout(&out);
        Ok(ExitStatus::Success)
    }
}
