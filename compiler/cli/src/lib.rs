//! The sparkc command line, as a library so tests can drive it: project loading from disk,
//! diagnostic rendering, and atomic artifact writing. The compiler itself is `sparkc-core`.
pub mod project;
pub mod render;
pub mod write;

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
