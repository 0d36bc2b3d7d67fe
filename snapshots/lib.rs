//! Shared helpers for the snapshot, consumer and robustness tests.

use sparkc::project::{FsProvider, Project};
use sparkc_core::diag::Diagnostic;
use sparkc_core::source::SourceSet;
use sparkc_core::target::{Artifact, EmitContext};
use std::path::{Path, PathBuf};

pub struct Output {
    pub sources: SourceSet,
    pub diagnostics: Vec<Diagnostic>,
    pub artifacts: Vec<Artifact>,
}

impl Output {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    /// Diagnostics as a human would see them (no colour, fixed width).
    pub fn rendered(&self) -> String {
        sparkc::render::human(&self.diagnostics, &self.sources, false)
    }
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compile a project directory or a single file with every built-in target.
pub fn compile(path: &Path) -> Output {
    let project = Project::open(Some(path)).unwrap_or_else(|e| panic!("{e}"));
    compile_with(
        &FsProvider {
            root: project.root.clone(),
        },
        &project.entry,
        &project.manifest.project.build,
    )
}

pub fn compile_with(
    provider: &dyn sparkc_core::source::SourceProvider,
    entry: &str,
    targets: &[String],
) -> Output {
    let checked = sparkc_core::check(provider, entry);
    let mut diagnostics = checked.diagnostics;
    let mut artifacts = Vec::new();
    if !diagnostics.iter().any(Diagnostic::is_error) {
        for name in targets {
            let Some(t) = sparkc_targets::by_name(name) else {
                continue;
            };
            let options = Default::default();
            let (a, d) = t.emit(
                &checked.model,
                &EmitContext {
                    source: entry,
                    options: &options,
                },
            );
            artifacts.extend(a);
            diagnostics.extend(d);
        }
    }
    artifacts.sort_by(|a, b| a.path.cmp(&b.path));
    Output {
        sources: checked.sources,
        diagnostics,
        artifacts,
    }
}

/// Every example project directory.
pub fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(workspace().join("examples"))
        .map(|r| {
            r.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("spark.toml").is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}
