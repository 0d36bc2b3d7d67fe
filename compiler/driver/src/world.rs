//! Where the sources come from. A [`World`] holds a project's own files; the driver adds
//! the stdlib (one binding, whatever the world). [`MemWorld`] is a project in memory (tests,
//! embedders, the fuzzer); [`Overlay`] puts unsaved editor buffers over another world, as
//! Gleam's language server does with its file-system proxy.

use sparkc_core::source::{LoadError, SourceProvider};
use std::collections::BTreeMap;

/// A project's files, by project-relative `/`-separated path.
pub trait World: Sync {
    fn read(&self, path: &str) -> Result<String, LoadError>;
    /// Every file under the directory `dir`, at any depth, as project-relative paths, sorted
    /// (a template target's templates). Hidden entries are not listed.
    fn list(&self, dir: &str) -> Result<Vec<String>, LoadError> {
        let _ = dir;
        Err(LoadError::NotFound)
    }
}

/// The paths of `files` under `dir` (not hidden), sorted.
fn under<'a>(dir: &str, files: impl Iterator<Item = &'a String>) -> Vec<String> {
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut v: Vec<String> = files
        .filter(|p| {
            p.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.split('/').any(|part| part.starts_with('.')))
        })
        .cloned()
        .collect();
    v.sort();
    v
}

/// A project held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemWorld {
    pub files: BTreeMap<String, String>,
}

impl MemWorld {
    pub fn new(files: impl IntoIterator<Item = (String, String)>) -> MemWorld {
        MemWorld {
            files: files.into_iter().collect(),
        }
    }

    /// One file, `main.spark`.
    pub fn single(text: impl Into<String>) -> MemWorld {
        MemWorld::new([("main.spark".to_string(), text.into())])
    }

    /// Several files in one text, as the fuzzer and its replay test use them: the text up
    /// to the first line `--- NAME` is `main.spark`; each such line starts file NAME.
    pub fn from_bundle(text: &str) -> MemWorld {
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
        MemWorld { files }
    }
}

impl World for MemWorld {
    fn read(&self, path: &str) -> Result<String, LoadError> {
        self.files.get(path).cloned().ok_or(LoadError::NotFound)
    }
    fn list(&self, dir: &str) -> Result<Vec<String>, LoadError> {
        Ok(under(dir, self.files.keys()))
    }
}

/// Unsaved buffers over another world: a path with a buffer reads the buffer, any other the
/// world beneath.
pub struct Overlay<'w> {
    base: &'w dyn World,
    buffers: BTreeMap<String, String>,
}

impl<'w> Overlay<'w> {
    pub fn new(base: &'w dyn World) -> Self {
        Overlay {
            base,
            buffers: BTreeMap::new(),
        }
    }
    /// Open or change a buffer.
    pub fn set(&mut self, path: impl Into<String>, text: impl Into<String>) {
        self.buffers.insert(path.into(), text.into());
    }
    /// Close a buffer: the path reads the world beneath again.
    pub fn remove(&mut self, path: &str) {
        self.buffers.remove(path);
    }
}

impl World for Overlay<'_> {
    fn read(&self, path: &str) -> Result<String, LoadError> {
        match self.buffers.get(path) {
            Some(t) => Ok(t.clone()),
            None => self.base.read(path),
        }
    }
    fn list(&self, dir: &str) -> Result<Vec<String>, LoadError> {
        let mut all = self.base.list(dir).unwrap_or_default();
        all.extend(under(dir, self.buffers.keys()));
        all.sort();
        all.dedup();
        Ok(all)
    }
}

/// A world with the stdlib bound to it, as the checker reads sources.
pub(crate) struct WithStdlib<'w>(pub &'w dyn World);

impl SourceProvider for WithStdlib<'_> {
    fn load_file(&self, path: &str) -> Result<String, LoadError> {
        self.0.read(path)
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
