//! Source files and spans. The library never reads files itself: an embedder hands it a
//! [`SourceProvider`] (the CLI reads from disk, the LSP from open buffers, tests from memory).

use serde::Serialize;

/// Index of a file in a [`SourceSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct FileId(pub u32);

/// A byte range in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, PartialOrd, Ord)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A span in a specific file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Loc {
    pub file: FileId,
    pub span: Span,
}

/// One loaded source file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in diagnostics: a project-relative path, or `<std/apps/mysql.spark>`.
    pub name: String,
    pub text: String,
    pub is_stdlib: bool,
    /// Not sparkc source (it does not start like a declaration), or a file a secret is read
    /// from: diagnostics point into it by line and column but never show its text.
    pub opaque: bool,
}

impl SourceFile {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }
}

/// Where each line of a text starts: line and column of any offset by binary search, so that
/// locating many diagnostics in one file stays linear.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<u32>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        LineIndex { starts }
    }
    /// The 0-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts
            .partition_point(|s| *s as usize <= offset)
            .saturating_sub(1)
    }
    /// Where 0-based `line` starts; the text's length past the last line.
    pub fn line_start(&self, line: usize, text: &str) -> usize {
        self.starts.get(line).map_or(text.len(), |s| *s as usize)
    }
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
    /// 1-based line and column (in characters) of a byte offset, as [`SourceFile::line_col`].
    pub fn line_col(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.line_of(offset);
        let start = self.line_start(line, text).min(offset);
        (line + 1, text[start..offset].chars().count() + 1)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// All files of one compilation, indexed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceSet {
    pub files: Vec<SourceFile>,
}

impl SourceSet {
    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        FileId((self.files.len() - 1) as u32)
    }
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }
    pub fn find(&self, name: &str) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.name == name)
            .map(|i| FileId(i as u32))
    }
}

/// Why a source could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    NotFound,
    /// The path resolves (through a link) to a file outside the project directory.
    OutsideProject,
    /// Not a `.spark` file: never read as source.
    NotSource,
    NotUtf8,
    TooLarge(u64),
    Other(String),
}

/// Where sources come from. Paths are project-relative, `/`-separated, already normalised
/// by [`join_import`]; stdlib modules are dotted (`std.apps.mysql`).
pub trait SourceProvider {
    fn load_file(&self, path: &str) -> Result<String, LoadError>;
    /// Source text of a stdlib module, e.g. `std.apps.mysql`.
    fn load_std(&self, module: &str) -> Option<&str>;
    /// All stdlib module names (for suggestions).
    fn std_modules(&self) -> Vec<String>;
}

/// Resolve `import "x.spark"` written in file `from` to a normalised project-relative path.
/// Returns `None` when the path escapes the project root or is absolute.
pub fn join_import(from: &str, target: &str) -> Option<String> {
    if target.starts_with('/') || target.contains('\0') || target.contains('\\') {
        return None;
    }
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn imports_are_joined_and_confined() {
        assert_eq!(
            join_import("main.spark", "hosts.spark").as_deref(),
            Some("hosts.spark")
        );
        assert_eq!(
            join_import("a/b.spark", "../c.spark").as_deref(),
            Some("c.spark")
        );
        assert_eq!(join_import("main.spark", "../x.spark"), None);
        assert_eq!(join_import("main.spark", "/etc/passwd"), None);
    }
    #[test]
    fn line_index_agrees_with_line_col() {
        let f = SourceFile {
            name: "x".into(),
            text: "ab\ncäd\n\nx".into(),
            is_stdlib: false,
            opaque: false,
        };
        let idx = LineIndex::new(&f.text);
        for o in 0..=f.text.len() + 2 {
            assert_eq!(idx.line_col(&f.text, o), f.line_col(o), "offset {o}");
        }
        assert_eq!(idx.line_count(), 4);
    }

    #[test]
    fn line_col_counts_chars() {
        let f = SourceFile {
            name: "x".into(),
            text: "ab\ncäd".into(),
            is_stdlib: false,
            opaque: false,
        };
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(3), (2, 1));
        assert_eq!(f.line_col(6), (2, 3));
    }
}
