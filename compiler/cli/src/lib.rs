//! The sparkc command line, as a library so tests can drive it: the project on disk (its
//! file-system world), diagnostic rendering, the writer and the stamp. Compiling is the
//! driver's (`sparkc-driver`); nothing of the pipeline lives here.
pub mod lsp;
pub mod project;
pub mod render;
pub mod stamp;
pub mod starter;
pub mod write;

pub use sparkc_driver::{Compilation, Config};

/// What one run of the pipeline produced.
pub type Compiled = Compilation;

/// Compile a project on disk with the targets and options of its `spark.toml`.
pub fn compile_project(project: &project::Project) -> Result<Compilation, String> {
    sparkc_driver::compile(&project::FsWorld::new(&project.root), &project.config())
        .map_err(|e| format!("spark.toml: {e}"))
}

/// [`compile_project`] for diagnostics only (`sparkc check`): targets still run, for their
/// own diagnostics and artifact paths, but skip serialising.
pub fn check_project(project: &project::Project) -> Result<Compilation, String> {
    sparkc_driver::compile(
        &project::FsWorld::new(&project.root),
        &project.config().check_only(),
    )
    .map_err(|e| format!("spark.toml: {e}"))
}

/// Diagnostics as a person reads them, without colour.
pub fn rendered(c: &Compilation) -> String {
    render::human(&c.diagnostics, &c.sources, false)
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
