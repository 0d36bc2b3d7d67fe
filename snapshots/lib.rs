//! Shared helpers for the snapshot, consumer and robustness tests; the pipeline itself is
//! `sparkc::compile`, the same function the binary runs.

use sparkc::Compiled;
use sparkc::project::Project;
use sparkc_core::source::SourceProvider;
use std::path::{Path, PathBuf};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compile a project directory or a single file as `sparkc build` would.
pub fn compile(path: &Path) -> Compiled {
    let project = Project::open(Some(path)).unwrap_or_else(|e| panic!("{e}"));
    sparkc::compile_project(&project).unwrap_or_else(|e| panic!("{e}"))
}

/// Compile sources from any provider with the given targets and default options.
pub fn compile_with(provider: &dyn SourceProvider, entry: &str, targets: &[String]) -> Compiled {
    sparkc::compile(provider, entry, targets, &|_| Default::default())
        .unwrap_or_else(|e| panic!("{e}"))
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
