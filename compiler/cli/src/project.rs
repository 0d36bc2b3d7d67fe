//! Finding and reading a project: `spark.toml`, the entry file, and a [`SourceProvider`]
//! over the project directory plus the embedded stdlib.

use serde::Deserialize;
use sparkc_core::diag::{Code, Diagnostic, did_you_mean};
use sparkc_core::source::{FileId, LoadError, SourceProvider, Span};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const MANIFEST: &str = "spark.toml";

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    #[serde(default)]
    pub project: ProjectSection,
    /// Per-target options: `[targets.compose]`, with where each was written.
    #[serde(default)]
    pub targets: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
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
    pub build: Vec<Spanned<String>>,
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
fn default_targets() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "compose".into())]
}

/// A project on disk, ready to compile.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub entry: String,
    pub manifest: Manifest,
    /// The text of spark.toml, if there is one (diagnostics point into it).
    pub manifest_text: Option<String>,
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
                let (manifest, manifest_text) = match read_manifest(&root)? {
                    Some((m, t)) => (m, Some(t)),
                    None => (Manifest::default(), None),
                };
                Ok(Project {
                    root,
                    entry,
                    manifest,
                    manifest_text,
                })
            }
            Some(p) if p.is_dir() => {
                let (manifest, text) = read_manifest(p)?.ok_or_else(|| {
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
                    manifest_text: Some(text),
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
                    .map(|(k, v)| (k.get_ref().clone(), option_text(v.get_ref())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Build these targets instead of the manifest's (tests build every target).
    pub fn set_build_targets(&mut self, targets: Vec<String>) {
        self.manifest.project.build = targets.into_iter().map(|t| Spanned::new(0..0, t)).collect();
    }

    /// The targets to build, as spark.toml names them.
    pub fn build_targets(&self) -> Vec<String> {
        self.manifest
            .project
            .build
            .iter()
            .map(|t| t.get_ref().clone())
            .collect()
    }

    /// What is wrong in spark.toml's choice of targets and their options, pointing into it
    /// (`file`: its id in the source set): a target that does not exist, an option a target
    /// does not read, a value of the wrong kind; a warning for options of a target the
    /// project does not build.
    pub fn check_manifest(&self, file: FileId) -> Vec<Diagnostic> {
        let builtin = sparkc_targets::builtin();
        let names: Vec<&str> = builtin.iter().map(|t| t.name()).collect();
        let at = |r: std::ops::Range<usize>| Span::new(r.start, r.end);
        let unknown_target = |name: &str, span: Span, what: &str| {
            let mut d = Diagnostic::error(
                Code::ManifestSetting,
                format!("there is no target `{name}`"),
                file,
                span,
            )
            .label(what.to_string());
            d.help = Some(match did_you_mean(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? The targets are: {}", names.join(", ")),
                None => format!("the targets are: {}", names.join(", ")),
            });
            d
        };
        let mut diags = Vec::new();
        for t in &self.manifest.project.build {
            if !names.contains(&t.get_ref().as_str()) {
                diags.push(unknown_target(t.get_ref(), at(t.span()), "in `build`"));
            }
        }
        for (table, options) in &self.manifest.targets {
            let Some(target) = builtin.iter().find(|t| t.name() == table.get_ref()) else {
                diags.push(unknown_target(
                    table.get_ref(),
                    at(table.span()),
                    "a `[targets...]` table",
                ));
                continue;
            };
            if !self
                .manifest
                .project
                .build
                .iter()
                .any(|b| b.get_ref() == table.get_ref())
            {
                diags.push(
                    Diagnostic::warning(
                        Code::ManifestUnused,
                        format!(
                            "options for `{}`, which this project does not build",
                            table.get_ref()
                        ),
                        file,
                        at(table.span()),
                    )
                    .label("not in `build`")
                    .help(format!(
                        "add \"{}\" to `build = [...]` in [project], or remove the table",
                        table.get_ref()
                    )),
                );
            }
            let known = target.options();
            for (key, value) in options {
                let Some(opt) = known.iter().find(|o| o.name == key.get_ref()) else {
                    let list: Vec<&str> = known.iter().map(|o| o.name).collect();
                    let mut d = Diagnostic::error(
                        Code::ManifestSetting,
                        format!(
                            "the {} target has no option `{}`",
                            table.get_ref(),
                            key.get_ref()
                        ),
                        file,
                        at(key.span()),
                    )
                    .label("unknown option");
                    d.help = Some(match did_you_mean(key.get_ref(), list.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if list.is_empty() => {
                            format!("the {} target takes no options", table.get_ref())
                        }
                        None => format!("its options are: {}", list.join(", ")),
                    });
                    diags.push(d);
                    continue;
                };
                let text = option_text(value.get_ref());
                let is_string = value.get_ref().is_str();
                let wrong_type = match opt.kind {
                    sparkc_core::target::OptionKind::Bool => {
                        !value.get_ref().is_bool() && !is_string
                    }
                    _ => !is_string,
                };
                let wrong = match opt.kind.check(&text) {
                    Err(e) => Some(e),
                    Ok(()) if wrong_type => Some("a string"),
                    Ok(()) => None,
                };
                if let Some(expected) = wrong {
                    diags.push(
                        Diagnostic::error(
                            Code::ManifestSetting,
                            format!("`{}` must be {expected}", key.get_ref()),
                            file,
                            at(value.span()),
                        )
                        .label(format!("{}: {}", key.get_ref(), opt.doc))
                        .help(format!(
                            "for example `{} = {}`",
                            key.get_ref(),
                            opt.example
                        )),
                    );
                }
            }
        }
        diags.sort_by_key(|d| d.primary.span.start);
        diags
    }
}

/// An option's value as the target reads it: a string's text, anything else as TOML writes it.
fn option_text(v: &toml::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn read_manifest(dir: &Path) -> Result<Option<(Manifest, String)>, String> {
    let path = dir.join(MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text)
        .map(|m| Some((m, text)))
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
