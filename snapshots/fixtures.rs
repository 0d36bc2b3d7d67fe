//! One input, one snapshot, found automatically:
//! - `snapshots/check/<stage>/*.spark`: invalid programs, compiled with every target; the
//!   snapshot is the rendered diagnostics. The folder names the stage that catches the
//!   program first — `syntax`, `resolve`, `types`, `rules` (the checker's model rules) or
//!   `targets` (the checker accepts it, a target refuses it) — and the test holds each
//!   fixture to its folder.
//! - `snapshots/build/*.spark`: valid programs, built with every target; the snapshot is
//!   every artifact, sectioned.
//! - `examples/*/spark.toml`: valid projects; the snapshot is every artifact, sectioned.
//! - `snapshots/manifest/*/spark.toml`: projects whose spark.toml is wrong; the snapshot is
//!   the rendered diagnostics, which point into it.
//! - `snapshots/model/*.spark`: valid programs; the snapshot is the model as `sparkc model`
//!   prints it (the versioned contract other tools read).

use sparkc::Compiled;
use sparkc_snapshots::Rendered;
use sparkc_snapshots::{compile, compile_build_fixture, compile_check_fixture, workspace};
use std::fmt::Write as _;
use std::path::Path;

fn settings(dir: &Path, input: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(dir);
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s.set_input_file(input);
    s
}

/// The stage that catches an invalid program first: the checker's earliest stage with an
/// error (by code: E00xx syntax, E01xx resolve, E02xx types, E03xx rules), or `targets`
/// when the checker alone reports none.
fn caught_by(path: &Path) -> &'static str {
    let checker_alone = sparkc_snapshots::compile_checker_only(path);
    let first = checker_alone
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code.as_str())
        .min();
    match first.map(|c| &c[..3]) {
        Some("E00") => "syntax",
        Some("E01") => "resolve",
        Some("E02") => "types",
        Some("E03") => "rules",
        _ => "targets",
    }
}

fn check_fixture(path: &Path) -> datatest_stable::Result<()> {
    let stage = caught_by(path);
    let folder = path
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if folder != stage {
        return Err(format!(
            "{} is caught by the {stage} stage first: move it (and its .snap) to snapshots/check/{stage}/",
            path.display()
        )
        .into());
    }
    let out = compile_check_fixture(path);
    if out.errors() == 0 {
        return Err(format!(
            "{} is an invalid-program fixture but compiled without errors",
            path.display()
        )
        .into());
    }
    for d in &out.diagnostics {
        if d.help.is_none() {
            return Err(
                format!("{}: diagnostic {} has no help text", path.display(), d.code).into(),
            );
        }
    }
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    settings(dir, path).bind(|| insta::assert_snapshot!(name, out.rendered()));
    Ok(())
}

/// Artifacts (and any warnings) of a valid program, sectioned by path.
fn artifacts_text(out: &Compiled) -> String {
    let mut text = String::new();
    if !out.diagnostics.is_empty() {
        text.push_str("## Diagnostics\n");
        text.push_str(&out.rendered());
    }
    for a in &out.artifacts {
        let _ = write!(text, "--- {} ---\n{}", a.path, a.contents);
    }
    text
}

fn valid(what: &Path, out: Compiled, again: Compiled) -> datatest_stable::Result<String> {
    if out.errors() > 0 {
        return Err(format!("{} has errors:\n{}", what.display(), out.rendered()).into());
    }
    if out.artifacts.is_empty() {
        return Err(format!("{} produces no artifacts", what.display()).into());
    }
    if again.artifacts != out.artifacts {
        return Err(format!(
            "{} compiles to different bytes on a second run",
            what.display()
        )
        .into());
    }
    Ok(artifacts_text(&out))
}

fn build_fixture(path: &Path) -> datatest_stable::Result<()> {
    let text = valid(
        path,
        compile_build_fixture(path),
        compile_build_fixture(path),
    )?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    settings(dir, path).bind(|| insta::assert_snapshot!(name, text));
    Ok(())
}

fn example(path: &Path) -> datatest_stable::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let text = valid(dir, compile(dir), compile(dir))?;
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    settings(&workspace().join("snapshots/examples"), path)
        .bind(|| insta::assert_snapshot!(name, text));
    Ok(())
}

fn manifest_fixture(path: &Path) -> datatest_stable::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let out = compile(dir);
    if out.diagnostics.is_empty() {
        return Err(format!(
            "{} is a manifest fixture without a diagnostic",
            dir.display()
        )
        .into());
    }
    if out.diagnostics.iter().any(|d| d.help.is_none()) {
        return Err(format!("{}: a diagnostic without help", dir.display()).into());
    }
    let name = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    settings(&workspace().join("snapshots/manifest"), path)
        .bind(|| insta::assert_snapshot!(name, out.rendered()));
    Ok(())
}

fn model_fixture(path: &Path) -> datatest_stable::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let world = sparkc_snapshots::MemWorld::single(text);
    let c = sparkc_driver::compile(&world, &sparkc_snapshots::Config::new("main.spark", &[]))?;
    if !c.diagnostics.is_empty() {
        return Err(format!("{} has diagnostics:\n{}", path.display(), c.rendered()).into());
    }
    let json = serde_json::to_string_pretty(&c.model_document())?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = path.parent().unwrap_or(Path::new("."));
    settings(dir, path).bind(|| insta::assert_snapshot!(name, json));
    Ok(())
}

datatest_stable::harness! {
    { test = check_fixture, root = "check", pattern = r"\.spark$" },
    { test = build_fixture, root = "build", pattern = r"\.spark$" },
    { test = example, root = "../examples", pattern = r"spark\.toml$" },
    { test = manifest_fixture, root = "manifest", pattern = r"spark\.toml$" },
    { test = model_fixture, root = "model", pattern = r"\.spark$" },
}
