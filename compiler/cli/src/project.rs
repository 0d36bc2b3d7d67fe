//! Finding and reading a project: `spark.toml`, the entry file, and a [`SourceProvider`]
//! over the project directory plus the embedded stdlib.

use serde::Deserialize;
use sparkc_core::source::{LoadError, SourceProvider};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "spark.toml";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub project: ProjectSection,
    /// Per-target options: `[targets.compose]`.
    #[serde(default)]
    pub targets: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    pub name: Option<String>,
    /// Entry source file, relative to the project directory.
    #[serde(default = "default_entry")]
    pub entry: String,
    /// Output directory, relative to the project directory.
    #[serde(default = "default_out")]
    pub out: String,
    /// Targets to build.
    #[serde(default = "default_targets")]
    pub build: Vec<String>,
}

impl Default for ProjectSection {
    fn default() -> Self {
        ProjectSection {
            name: None,
            entry: default_entry(),
            out: default_out(),
            build: default_targets(),
        }
    }
}

fn default_entry() -> String {
    "main.spark".into()
}
fn default_out() -> String {
    "out".into()
}
fn default_targets() -> Vec<String> {
    vec!["compose".into()]
}

/// A project on disk, ready to compile.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub entry: String,
    pub manifest: Manifest,
}

impl Project {
    /// `path`: a project directory, a `.spark` file, or `None` for the nearest `spark.toml`
    /// above the current directory.
    pub fn open(path: Option<&Path>) -> Result<Project, String> {
        match path {
            Some(p) if p.is_file() => {
                let root = p
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                let root = if root.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    root
                };
                let entry = match p.file_name().map(|n| n.to_str()) {
                    Some(Some(n)) => n.to_string(),
                    Some(None) => {
                        return Err(format!(
                            "the file name {:?} is not UTF-8; sparkc needs UTF-8 file names (they appear in diagnostics and generated headers): rename it",
                            p.file_name().unwrap_or_default()
                        ));
                    }
                    None => return Err(format!("`{}` is not a file", p.display())),
                };
                if !sparkc_core::check::load::is_source_name(&entry) {
                    return Err(format!(
                        "`{}` is not a .spark file; sparkc reads only .spark files as source",
                        p.display()
                    ));
                }
                // A single file still honours the manifest next to it, if any.
                let manifest = read_manifest(&root)?.unwrap_or_default();
                Ok(Project {
                    root,
                    entry,
                    manifest,
                })
            }
            Some(p) if p.is_dir() => {
                let manifest = read_manifest(p)?.ok_or_else(|| {
                    format!(
                        "no {MANIFEST} in `{}`; run `sparkc init` there, or pass a .spark file",
                        p.display()
                    )
                })?;
                let entry = manifest.project.entry.clone();
                let plain = !entry.is_empty()
                    && Path::new(&entry)
                        .components()
                        .all(|c| matches!(c, std::path::Component::Normal(_)));
                if !plain || !sparkc_core::check::load::is_source_name(&entry) {
                    return Err(format!(
                        "{}: `entry = {entry:?}` must name a .spark file inside the project directory",
                        p.join(MANIFEST).display()
                    ));
                }
                Ok(Project {
                    root: p.to_path_buf(),
                    entry,
                    manifest,
                })
            }
            Some(p) if p.to_str().is_none() => Err(format!(
                "`{}` does not exist; its name is not UTF-8, and sparkc needs UTF-8 file names",
                p.display()
            )),
            Some(p) => Err(format!("`{}` does not exist", p.display())),
            None => {
                let cwd = std::env::current_dir()
                    .map_err(|e| format!("cannot read the current directory: {e}"))?;
                let mut dir: Option<&Path> = Some(&cwd);
                while let Some(d) = dir {
                    if d.join(MANIFEST).is_file() {
                        return Project::open(Some(d));
                    }
                    dir = d.parent();
                }
                Err(format!(
                    "no {MANIFEST} here or in any parent directory; run `sparkc init`, or pass a project directory or .spark file"
                ))
            }
        }
    }

    pub fn out_dir(&self, override_out: Option<&Path>) -> PathBuf {
        match override_out {
            Some(o) => o.to_path_buf(),
            None => self.root.join(&self.manifest.project.out),
        }
    }

    pub fn target_options(&self, target: &str) -> BTreeMap<String, String> {
        self.manifest
            .targets
            .get(target)
            .map(|t| {
                t.iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            v.as_str().map_or_else(|| v.to_string(), str::to_string),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn read_manifest(dir: &Path) -> Result<Option<Manifest>, String> {
    let path = dir.join(MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads project files from disk and stdlib modules from the binary. A project file is read
/// only if its real path (links resolved) is inside the project directory.
pub struct FsProvider {
    root: PathBuf,
    /// `root` with links resolved; `None` if it cannot be resolved (then nothing is read).
    real_root: Option<PathBuf>,
}

impl FsProvider {
    pub fn new(root: &Path) -> FsProvider {
        FsProvider {
            root: root.to_path_buf(),
            real_root: root.canonicalize().ok(),
        }
    }
}

impl SourceProvider for FsProvider {
    fn load_file(&self, path: &str) -> Result<String, LoadError> {
        let full = self.root.join(path);
        let real = full.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::NotFound,
            _ => LoadError::Other(e.to_string()),
        })?;
        if !self.real_root.as_ref().is_some_and(|r| real.starts_with(r)) {
            return Err(LoadError::OutsideProject);
        }
        let meta = std::fs::metadata(&real).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => LoadError::NotFound,
            _ => LoadError::Other(e.to_string()),
        })?;
        if !meta.is_file() {
            return Err(LoadError::Other("not a regular file".into()));
        }
        if meta.len() > sparkc_core::check::load::MAX_SOURCE_BYTES as u64 {
            return Err(LoadError::TooLarge(meta.len()));
        }
        let bytes = std::fs::read(&real).map_err(|e| LoadError::Other(e.to_string()))?;
        String::from_utf8(bytes).map_err(|_| LoadError::NotUtf8)
    }
    fn load_std(&self, module: &str) -> Option<&str> {
        sparkc_stdlib::module(module)
    }
    fn std_modules(&self) -> Vec<String> {
        sparkc_stdlib::modules()
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}

/// In-memory provider for tests and embedders.
pub struct MemProvider {
    pub files: BTreeMap<String, String>,
}

impl MemProvider {
    /// Several files in one text, as the fuzzer and its replay test use them: the text up
    /// to the first line `--- NAME` is `main.spark`; each such line starts file NAME.
    pub fn from_bundle(text: &str) -> MemProvider {
        let mut files = BTreeMap::new();
        let mut name = "main.spark".to_string();
        let mut body = String::new();
        for line in text.split_inclusive('\n') {
            if let Some(n) = line.strip_prefix("--- ") {
                files.insert(std::mem::take(&mut name), std::mem::take(&mut body));
                name = n.trim().to_string();
            } else {
                body.push_str(line);
            }
        }
        files.insert(name, body);
        MemProvider { files }
    }
}

impl SourceProvider for MemProvider {
    fn load_file(&self, path: &str) -> Result<String, LoadError> {
        self.files.get(path).cloned().ok_or(LoadError::NotFound)
    }
    fn load_std(&self, module: &str) -> Option<&str> {
        sparkc_stdlib::module(module)
    }
    fn std_modules(&self) -> Vec<String> {
        sparkc_stdlib::modules()
            .into_iter()
            .map(str::to_string)
            .collect()
    }
}
