//! Shared helpers for the snapshot, consumer and robustness tests; the pipeline itself is
//! `sparkc_driver::compile`, the same function the binary runs.

pub mod http;
pub mod real;

use sparkc::Compiled;
use sparkc::project::Project;
pub use sparkc_driver::{Config, MemWorld, World};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Compile a project directory or a single file as `sparkc build` would.
pub fn compile(path: &Path) -> Compiled {
    let project = Project::open(Some(path)).unwrap_or_else(|e| panic!("{e}"));
    sparkc::compile_project(&project).unwrap_or_else(|e| panic!("{e}"))
}

/// Compile sources from any world with the given targets and default options.
pub fn compile_with(world: &dyn World, entry: &str, targets: &[String]) -> Compiled {
    let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
    sparkc_driver::compile(world, &Config::new(entry, &targets)).unwrap_or_else(|e| panic!("{e}"))
}

/// One source text as `main.spark`.
pub fn single(text: &str) -> MemWorld {
    MemWorld::single(text)
}

/// A compilation's diagnostics as a person reads them, without colour.
pub trait Rendered {
    fn rendered(&self) -> String;
}

impl Rendered for Compiled {
    fn rendered(&self) -> String {
        sparkc::rendered(self)
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

/// Every valid single-file program under `snapshots/build/`.
pub fn build_fixtures() -> Vec<PathBuf> {
    spark_files("snapshots/build")
}

/// Every invalid-program fixture under `snapshots/check/<stage>/`.
pub fn check_fixtures() -> Vec<PathBuf> {
    spark_files("snapshots/check")
}

/// Every `.spark` file under a workspace folder, at any depth, sorted.
pub fn spark_files(dir: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "spark") {
                out.push(p);
            }
        }
    }
    let mut v = Vec::new();
    walk(&workspace().join(dir), &mut v);
    v.sort();
    v
}

/// Compile one valid-program fixture with every built-in target and default options.
pub fn compile_build_fixture(path: &Path) -> Compiled {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
    compile_with(&MemWorld::single(text), "main.spark", &every_target())
}

/// An invalid-program fixture, compiled with every built-in target (so that a target's own
/// diagnostics have fixtures too); diagnostics name the fixture file.
pub fn compile_check_fixture(path: &Path) -> Compiled {
    let mut project = Project::open(Some(path)).unwrap_or_else(|e| panic!("{e}"));
    project.manifest.set_build_targets(every_target());
    sparkc::compile_project(&project).unwrap_or_else(|e| panic!("{e}"))
}

/// An invalid-program fixture through the checker alone, no target run.
pub fn compile_checker_only(path: &Path) -> Compiled {
    let mut project = Project::open(Some(path)).unwrap_or_else(|e| panic!("{e}"));
    project.manifest.set_build_targets(Vec::new());
    sparkc::compile_project(&project).unwrap_or_else(|e| panic!("{e}"))
}

fn every_target() -> Vec<String> {
    sparkc_targets::builtin()
        .iter()
        .map(|t| t.name().to_string())
        .collect()
}

/// Every valid program the consumer tests feed to the real tools: the examples and the
/// build fixtures, with their artifacts.
pub fn valid_programs() -> Vec<(String, Compiled)> {
    let mut v: Vec<(String, Compiled)> = examples()
        .into_iter()
        .map(|p| (p.display().to_string(), compile(&p)))
        .collect();
    v.extend(
        build_fixtures()
            .into_iter()
            .map(|p| (p.display().to_string(), compile_build_fixture(&p))),
    );
    v.push(("the `sparkc init` starter".to_string(), compile_starter()));
    v
}

/// The project `sparkc init` writes, with the targets its manifest builds.
pub fn compile_starter() -> Compiled {
    let provider = MemWorld::single(sparkc::starter::MAIN);
    let targets = ["compose".to_string(), "caddy".to_string()];
    assert!(
        sparkc::starter::MANIFEST.contains(r#"build = ["compose", "caddy"]"#),
        "the starter's manifest builds other targets than this test"
    );
    compile_with(&provider, "main.spark", &targets)
}

/// The `.spark` files of a project directory, by file name.
pub fn project_files(dir: &std::path::Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "spark") {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.insert(name, std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    files
}

/// Deterministic pseudo-random numbers (xorshift), so failures reproduce.
pub struct Rng(pub u64);
impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// `text` broken in one of five ways (`kind` 0..5): a bracket deleted, two letters
/// swapped, a line duplicated, junk inserted, a span deleted.
pub fn mutate(text: &str, kind: usize, rng: &mut Rng) -> String {
    let mut s = text.to_string();
    match kind {
        0 => {
            // delete a brace or bracket
            let idx: Vec<usize> = s
                .char_indices()
                .filter(|(_, c)| "{}[]()".contains(*c))
                .map(|(i, _)| i)
                .collect();
            if !idx.is_empty() {
                s.remove(idx[rng.below(idx.len())]);
            }
        }
        1 => {
            // misspell a word: swap two adjacent letters
            let idx: Vec<usize> = s
                .char_indices()
                .filter(|(i, c)| {
                    c.is_ascii_alphabetic()
                        && s[i + 1..].starts_with(|d: char| d.is_ascii_alphabetic())
                })
                .map(|(i, _)| i)
                .collect();
            if !idx.is_empty() {
                let i = idx[rng.below(idx.len())];
                let mut b = s.into_bytes();
                b.swap(i, i + 1);
                s = String::from_utf8(b).unwrap_or_default();
            }
        }
        2 => {
            // duplicate a line
            let lines: Vec<&str> = s.lines().collect();
            let i = rng.below(lines.len());
            let mut out: Vec<&str> = lines[..=i.min(lines.len().saturating_sub(1))].to_vec();
            out.extend_from_slice(&lines[i.min(lines.len())..]);
            s = out.join("\n");
        }
        3 => {
            // random bytes (valid UTF-8 replacement) at a random place
            let at = rng.below(s.len());
            let at = (0..=at).rev().find(|i| s.is_char_boundary(*i)).unwrap_or(0);
            let junk: String = (0..=rng.below(8))
                .map(|_| char::from_u32(33 + (rng.next_u64() % 0x2000) as u32).unwrap_or('?'))
                .collect();
            s.insert_str(at, &junk);
        }
        _ => {
            // delete a random span
            let a = rng.below(s.len());
            let b = (a + 1 + rng.below(40)).min(s.len());
            if s.is_char_boundary(a) && s.is_char_boundary(b) {
                s.replace_range(a..b, "");
            }
        }
    }
    s
}
