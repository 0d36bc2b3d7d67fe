use crate::{ExitStatus, Format, Global};
use sparkc::project::Project;
use sparkc::write::OutDir;
use sparkc_core::source::SourceSet;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

/// Check the project and write its artifacts into the out dir.
#[derive(clap::Args)]
pub struct Build {
    /// Project directory or single .spark file (default: nearest spark.toml).
    path: Option<PathBuf>,
    /// Output directory (default: `out` from spark.toml).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write nothing; exit 1 and list the files that differ from what would be generated.
    #[arg(long)]
    check: bool,
    /// Also overwrite generated files edited by hand, and files sparkc did not write.
    #[arg(long)]
    force: bool,
    /// Print the wall time of each stage to stderr (`timing STAGE MS`).
    #[arg(long)]
    timings: bool,
}

impl Build {
    pub fn run(self, g: &Global) -> Result<ExitStatus, String> {
        let start = Instant::now();
        let project = Project::open(self.path.as_deref())?;
        let out_path = project.out_dir(self.out.as_deref());
        // A check opens the out dir first, for the stamp; a build opens (and creates) it only
        // once there is something to write, so a failed build leaves none behind.
        let checked_out = if self.check {
            Some(OutDir::open(&out_path, &project.root, false)?)
        } else {
            None
        };
        // Nothing changed since a clean build: no need to compile to know.
        if let Some(out) = &checked_out
            && out.up_to_date(|i| sparkc::stamp::unchanged(&project, i))
        {
            if g.format == Format::Json {
                super::stdout(&format!(
                    "{}\n",
                    sparkc::render::json(&[], &SourceSet::default(), Some(Vec::new()))
                ));
            } else {
                eprintln!("up to date (unchanged since the last build)");
            }
            if self.timings {
                eprintln!("timing stamp {:.3}", start.elapsed().as_secs_f64() * 1e3);
            }
            return Ok(ExitStatus::Success);
        }
        let mut c = sparkc::compile_project(&project)?;
        let print_timings = |c: &sparkc::Compiled| {
            if self.timings {
                for (stage, t) in &c.timings {
                    eprintln!("timing {stage} {:.3}", t.as_secs_f64() * 1e3);
                }
                eprintln!("timing total {:.3}", start.elapsed().as_secs_f64() * 1e3);
            }
        };
        if c.errors() > 0 {
            super::print_diags(g, &c.diagnostics, &c.sources, None, Some(&project.root));
            if g.format != Format::Json {
                eprintln!("{} error(s); nothing written", c.errors());
            }
            return Ok(ExitStatus::Failure);
        }
        let written = Instant::now();
        let mut out = match checked_out {
            Some(out) => out,
            None => OutDir::open(&out_path, &project.root, true)?,
        };
        for n in &out.notes {
            eprintln!("warning: {n}");
        }
        let plan = out.plan(&c.artifacts)?;
        if self.check {
            c.timings.push(("compare".to_string(), written.elapsed()));
            print_timings(&c);
            let differ = plan.differences(&c.artifacts);
            super::print_diags(
                g,
                &c.diagnostics,
                &c.sources,
                Some(differ.clone()),
                Some(&project.root),
            );
            if g.format != Format::Json {
                let mut list = String::new();
                for f in &differ {
                    let _ = writeln!(list, "{}", out_path.join(f).display());
                }
                super::stdout(&list);
                if differ.is_empty() {
                    eprintln!("up to date: {} file(s)", c.artifacts.len());
                } else {
                    eprintln!(
                        "{} file(s) differ from what `sparkc build` would write",
                        differ.len()
                    );
                }
            }
            super::exit_without_freeing(c);
            return Ok(if differ.is_empty() {
                ExitStatus::Success
            } else {
                ExitStatus::Failure
            });
        }
        // Only a build without any diagnostic is stamped: the fast check must not hide one.
        let inputs = c
            .diagnostics
            .is_empty()
            .then(|| sparkc::stamp::inputs(&project, &c.sources));
        let applied = out.apply(&c.artifacts, &plan, self.force, inputs)?;
        c.timings.push(("write".to_string(), written.elapsed()));
        print_timings(&c);
        super::print_diags(
            g,
            &c.diagnostics,
            &c.sources,
            Some(c.artifacts.iter().map(|a| a.path.clone()).collect()),
            Some(&project.root),
        );
        if g.format != Format::Json {
            for k in &plan.kept {
                eprintln!(
                    "note: left {} in place: an earlier build generated it, it was edited since, and it is no longer generated",
                    out_path.join(k).display()
                );
            }
            eprintln!(
                "wrote {} of {} file(s) to {}{}",
                applied.written,
                c.artifacts.len(),
                out_path.display(),
                if applied.removed == 0 {
                    String::new()
                } else {
                    format!(", removed {} stale", applied.removed)
                }
            );
        }
        super::exit_without_freeing(c);
        Ok(ExitStatus::Success)
    }
}
