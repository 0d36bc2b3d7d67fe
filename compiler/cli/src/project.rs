//! Finding and reading a project on disk: `spark.toml`, the entry file, the output
//! directory, and [`FsWorld`], the project directory as the driver's world.

use sparkc_core::source::LoadError;
use sparkc_driver::{Config, World};
pub use sparkc_driver::{MANIFEST, Manifest};
use std::path::{Path, PathBuf};

/// A project on disk, ready to compile.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub entry: String,
    /// spark.toml (its defaults when there is none).
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
                match manifest_dir_above(&cwd) {
                    Some(d) => Project::open(Some(d)),
                    None => Err(format!(
                        "no {MANIFEST} here or in any parent directory; run `sparkc init`, or pass a project directory or .spark file"
                    )),
                }
            }
        }
    }

    /// The project a source file belongs to: the nearest directory above it with a
    /// spark.toml, or the file alone.
    pub fn of_file(file: &Path) -> Result<Project, String> {
        match file.parent().and_then(manifest_dir_above) {
            Some(d) => Project::open(Some(d)),
            None => Project::open(Some(file)),
        }
    }

    pub fn out_dir(&self, override_out: Option<&Path>) -> PathBuf {
        match override_out {
            Some(o) => o.to_path_buf(),
            None => self.root.join(&self.manifest.project.out),
        }
    }

    /// What the driver compiles: the entry (a single file's own name, or spark.toml's) and
    /// everything spark.toml says about targets.
    pub fn config(&self) -> Config {
        let mut c = Config::from_manifest(self.manifest.clone());
        c.entry.clone_from(&self.entry);
        c
    }
}

/// The nearest of `dir` and its parents that holds a spark.toml.
pub fn manifest_dir_above(dir: &Path) -> Option<&Path> {
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.join(MANIFEST).is_file() {
            return Some(d);
        }
        at = d.parent();
    }
    None
}

fn read_manifest(dir: &Path) -> Result<Option<Manifest>, String> {
    let path = dir.join(MANIFEST);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Manifest::parse(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The project directory as the driver's world. A file is read only if its real path (links
/// resolved) is inside the project directory.
pub struct FsWorld {
    root: PathBuf,
    /// `root` with links resolved; `None` if it cannot be resolved (then nothing is read).
    real_root: Option<PathBuf>,
}

impl FsWorld {
    pub fn new(root: &Path) -> FsWorld {
        FsWorld {
            root: root.to_path_buf(),
            real_root: root.canonicalize().ok(),
        }
    }
}

impl World for FsWorld {
    /// Regular files only, symlinks neither followed nor listed, hidden entries skipped, at
    /// most 1,000 files.
    fn list(&self, dir: &str) -> Result<Vec<String>, LoadError> {
        fn walk(root: &Path, rel: &str, out: &mut Vec<String>) -> Result<(), LoadError> {
            let entries = std::fs::read_dir(root.join(rel)).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => LoadError::NotFound,
                _ => LoadError::Other(e.to_string()),
            })?;
            for e in entries.flatten() {
                let Some(name) = e.file_name().to_str().map(str::to_string) else {
                    continue;
                };
                if name.starts_with('.') || out.len() >= 1000 {
                    continue;
                }
                let path = format!("{rel}/{name}");
                match e.file_type() {
                    Ok(t) if t.is_dir() => walk(root, &path, out)?,
                    Ok(t) if t.is_file() => out.push(path),
                    _ => {}
                }
            }
            Ok(())
        }
        let plain = Path::new(dir)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !plain || dir.is_empty() {
            return Err(LoadError::OutsideProject);
        }
        // The directory itself must be inside the project, links resolved.
        let real = self
            .root
            .join(dir)
            .canonicalize()
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => LoadError::NotFound,
                _ => LoadError::Other(e.to_string()),
            })?;
        if !self.real_root.as_ref().is_some_and(|r| real.starts_with(r)) {
            return Err(LoadError::OutsideProject);
        }
        let mut out = Vec::new();
        walk(&self.root, dir.trim_end_matches('/'), &mut out)?;
        out.sort();
        Ok(out)
    }

    fn read(&self, path: &str) -> Result<String, LoadError> {
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
}
