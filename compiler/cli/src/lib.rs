//! The sparkc command line, as a library so tests can drive it: project loading from disk,
//! diagnostic rendering, and atomic artifact writing. The compiler itself is `sparkc-core`.
pub mod project;
pub mod render;
pub mod stamp;
pub mod starter;
pub mod write;

use sparkc_core::diag::Diagnostic;
use sparkc_core::source::{SourceProvider, SourceSet};
use sparkc_core::target::{Artifact, EmitContext, TargetOptions};

/// What one run of the pipeline produced.
pub struct Compiled {
    pub sources: SourceSet,
    pub diagnostics: Vec<Diagnostic>,
    /// Sorted by path; empty when checking found errors.
    pub artifacts: Vec<Artifact>,
    /// Wall time per stage: the checker's, then `emit <target>` for each target.
    pub timings: Vec<(String, std::time::Duration)>,
}

impl Compiled {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    /// Diagnostics as a person reads them, without colour.
    pub fn rendered(&self) -> String {
        render::human(&self.diagnostics, &self.sources, false)
    }
}

/// The whole pipeline: check, then, if there are no errors, emit every named target.
pub fn compile(
    provider: &dyn SourceProvider,
    entry: &str,
    targets: &[String],
    options: &dyn Fn(&str) -> TargetOptions,
) -> Result<Compiled, String> {
    pipeline(provider, entry, targets, options, true)
}

/// [`compile`], for diagnostics only (`sparkc check`): targets still run, for their own
/// diagnostics and artifact paths, but the artifacts' text may be left empty.
pub fn check(
    provider: &dyn SourceProvider,
    entry: &str,
    targets: &[String],
    options: &dyn Fn(&str) -> TargetOptions,
) -> Result<Compiled, String> {
    pipeline(provider, entry, targets, options, false)
}

fn pipeline(
    provider: &dyn SourceProvider,
    entry: &str,
    targets: &[String],
    options: &dyn Fn(&str) -> TargetOptions,
    text: bool,
) -> Result<Compiled, String> {
    let checked = sparkc_core::check(provider, entry);
    let mut diagnostics = checked.diagnostics;
    let mut timings = checked.timings;
    let mut artifacts = Vec::new();
    if !diagnostics.iter().any(Diagnostic::is_error) {
        let mut chosen = Vec::new();
        for name in targets {
            let target = sparkc_targets::by_name(name).ok_or_else(|| {
                let known: Vec<&str> = sparkc_targets::builtin().iter().map(|t| t.name()).collect();
                format!("unknown target `{name}`; known: {}", known.join(", "))
            })?;
            chosen.push((name, target));
        }
        // Targets that read the others' files run last, in the order given.
        chosen.sort_by_key(|(_, t)| t.reads_generated());
        for (name, target) in chosen {
            let opts = options(name);
            let start = std::time::Instant::now();
            let none = Vec::new();
            let (a, d) = target.emit(
                &checked.model,
                &EmitContext {
                    source: entry,
                    options: &opts,
                    text,
                    generated: if target.reads_generated() {
                        &artifacts
                    } else {
                        &none
                    },
                },
            );
            timings.push((format!("emit {name}"), start.elapsed()));
            artifacts.extend(a);
            diagnostics.extend(d);
        }
        let stdlib: Vec<bool> = checked.sources.files.iter().map(|f| f.is_stdlib).collect();
        sparkc_core::diag::relocate_into_user_files(&mut diagnostics, |f| {
            stdlib.get(f.0 as usize).copied().unwrap_or(false)
        });
        artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        if let Some(w) = artifacts.windows(2).find(|w| w[0].path == w[1].path) {
            return Err(format!(
                "two targets write `{}`; give one of them another `path` option",
                w[0].path
            ));
        }
    }
    Ok(Compiled {
        sources: checked.sources,
        diagnostics,
        artifacts,
        timings,
    })
}

/// [`compile`] a project on disk with the targets and options of its `spark.toml`.
pub fn compile_project(project: &project::Project) -> Result<Compiled, String> {
    project_pipeline(project, true)
}

/// [`check`] a project on disk: its diagnostics, as `compile_project` reports them.
pub fn check_project(project: &project::Project) -> Result<Compiled, String> {
    project_pipeline(project, false)
}

fn project_pipeline(project: &project::Project, text: bool) -> Result<Compiled, String> {
    let provider = project::FsProvider::new(&project.root);
    // spark.toml is checked first; with an error in it no target runs (a wrong option would
    // reach the files), but the sources are still checked.
    let mut manifest = None;
    let mut manifest_diags = Vec::new();
    if let Some(text) = &project.manifest_text {
        let probe = sparkc_core::source::FileId(u32::MAX);
        manifest_diags = project.check_manifest(probe);
        manifest = Some(text.clone());
    }
    let targets: Vec<String> = if manifest_diags.iter().any(Diagnostic::is_error) {
        Vec::new()
    } else {
        project.build_targets()
    };
    let mut c = pipeline(
        &provider,
        &project.entry,
        &targets,
        &|t| project.target_options(t),
        text,
    )
    .map_err(|e| format!("spark.toml: {e}"))?;
    if let Some(text) = manifest {
        let id = c.sources.add(sparkc_core::source::SourceFile {
            name: project::MANIFEST.to_string(),
            text,
            is_stdlib: false,
            opaque: false,
        });
        for mut d in manifest_diags {
            for l in std::iter::once(&mut d.primary).chain(d.secondary.iter_mut()) {
                l.file = id;
            }
            c.diagnostics.push(d);
        }
        if c.diagnostics.iter().any(Diagnostic::is_error) {
            c.artifacts.clear();
        }
    }
    Ok(c)
}

/// The long explanation of a diagnostic code, from `docs/diagnostics/<CODE>.md`.
pub fn explain(code: sparkc_core::diag::Code) -> String {
    let page = EXPLANATIONS
        .iter()
        .find(|(c, _)| *c == code.as_str())
        .map(|(_, t)| *t);
    match page {
        Some(t) => t.to_string(),
        None => format!("{}: {}\n", code.as_str(), code.summary()),
    }
}

include!(concat!(env!("OUT_DIR"), "/explanations.rs"));

#[cfg(test)]
mod tests {
    #[test]
    fn every_code_has_an_explanation_page() {
        for c in sparkc_core::diag::Code::ALL {
            assert!(
                super::EXPLANATIONS.iter().any(|(n, _)| *n == c.as_str()),
                "docs/diagnostics/{c}.md is missing"
            );
        }
    }
}
