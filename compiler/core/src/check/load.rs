//! Step 2a: load the entry file and everything it imports (files and stdlib modules),
//! parse each once, and report missing imports and import cycles.

use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::source::{FileId, LoadError, SourceFile, SourceProvider, SourceSet, Span, join_import};
use crate::syntax::{self, ast};
use std::sync::Arc;

/// Source files larger than this are refused before parsing.
pub const MAX_SOURCE_BYTES: usize = 16 * 1024 * 1024;

pub struct Loaded {
    pub sources: SourceSet,
    /// Parsed files, indexed like `sources`.
    pub files: Vec<Arc<ast::File>>,
    /// Template names each file brought in with `import std...`: (file, name, span, std file).
    pub std_imports: Vec<(FileId, ast::Name, FileId)>,
    /// The declarations sparkc adds by default (`check/defaults.rs`), when there are any:
    /// sparkc's source like the stdlib's, but its declarations are the project's.
    pub defaults: Option<FileId>,
}

/// Parsed files by content, kept across compilations: a re-check after one file changed
/// parses only that file (the language server's budget depends on it). Sound for any text:
/// an entry is used only for exactly the text it was parsed from.
#[derive(Default)]
pub struct ParseCache {
    entries: std::sync::Mutex<rustc_hash::FxHashMap<u64, std::sync::Arc<Cached>>>,
    /// Entries used since the last [`ParseCache::sweep`].
    used: std::sync::Mutex<rustc_hash::FxHashSet<u64>>,
    /// Texts parsed (not found in the cache), ever.
    parses: std::sync::atomic::AtomicUsize,
    /// The last text parsed under each file name: a changed file is parsed from it again
    /// ([`syntax::reparse`]), only around the change.
    last_of: std::sync::Mutex<rustc_hash::FxHashMap<String, u64>>,
}

struct Cached {
    text: String,
    file: Arc<ast::File>,
    diags: Vec<Diagnostic>,
    opaque: bool,
}

impl ParseCache {
    fn parse(&self, name: &str, text: String) -> Parsed {
        let key = crate::hash::content_hash(text.as_bytes());
        let previous = self
            .last_of
            .lock()
            .ok()
            .and_then(|mut l| l.insert(name.to_string(), key))
            .filter(|k| *k != key)
            .and_then(|k| self.entries.lock().ok()?.get(&k).cloned());
        let hit = self
            .entries
            .lock()
            .ok()
            .and_then(|e| e.get(&key).cloned())
            .filter(|c| c.text == text);
        if let Ok(mut used) = self.used.lock() {
            used.insert(key);
        }
        if let Some(c) = hit {
            return Parsed {
                text,
                file: c.file.clone(),
                diags: c.diags.clone(),
                opaque: c.opaque,
            };
        }
        // From the previous parse of this file, when it had no errors.
        let again = previous
            .filter(|prev| prev.diags.is_empty() && !prev.opaque)
            .filter(|_| syntax::looks_like_source(&text))
            .and_then(|prev| syntax::reparse::reparse(UNASSIGNED, &prev.text, &prev.file, &text));
        let p = match again {
            Some((file, diags)) => Parsed {
                text,
                file: Arc::new(file),
                diags,
                opaque: false,
            },
            None => parse_detached(text),
        };
        self.parses
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut e) = self.entries.lock() {
            e.insert(
                key,
                std::sync::Arc::new(Cached {
                    text: p.text.clone(),
                    file: p.file.clone(),
                    diags: p.diags.clone(),
                    opaque: p.opaque,
                }),
            );
        }
        p
    }

    /// Forget the files no compilation used since the last sweep.
    pub fn sweep(&self) {
        let used = self
            .used
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default();
        if let Ok(mut e) = self.entries.lock() {
            e.retain(|k, _| used.contains(k));
        }
    }

    /// How many texts it has parsed (rather than found), ever.
    pub fn parses(&self) -> usize {
        self.parses.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many parsed files it holds.
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub fn load(provider: &dyn SourceProvider, entry: &str, diags: &mut Vec<Diagnostic>) -> Loaded {
    load_cached(provider, entry, diags, None)
}

/// [`load`], taking parsed files from `cache` where their text is unchanged.
pub fn load_cached(
    provider: &dyn SourceProvider,
    entry: &str,
    diags: &mut Vec<Diagnostic>,
    cache: Option<&ParseCache>,
) -> Loaded {
    load_with_defaults(provider, entry, diags, cache, None)
}

/// [`load_cached`], and `defaults` (the text of the generated declarations) after the entry
/// and what it imports.
pub fn load_with_defaults(
    provider: &dyn SourceProvider,
    entry: &str,
    diags: &mut Vec<Diagnostic>,
    cache: Option<&ParseCache>,
    defaults: Option<&str>,
) -> Loaded {
    let mut l = Loader {
        cache,
        provider,
        loaded: Loaded {
            sources: SourceSet::default(),
            files: Vec::new(),
            std_imports: Vec::new(),
            defaults: None,
        },
        stack: Vec::new(),
        diags,
        parsed: rustc_hash::FxHashMap::default(),
    };
    let loaded = if is_source_name(entry) {
        provider.load_file(entry)
    } else {
        Err(LoadError::NotSource)
    };
    match loaded {
        Ok(text) => {
            l.add_and_walk(entry.to_string(), text, false);
        }
        Err(e) => {
            // No file to point at: report against an empty pseudo-file named after the entry.
            let id = l.loaded.sources.add(SourceFile {
                name: entry.to_string(),
                text: String::new(),
                is_stdlib: false,
                opaque: false,
            });
            l.loaded.files.push(Arc::default());
            l.diags.push(load_error(id, Span::default(), entry, &e));
        }
    }
    if let Some(text) = defaults {
        let id = l.add_and_walk(
            super::defaults::FILE_NAME.to_string(),
            text.to_string(),
            true,
        );
        l.loaded.defaults = Some(id);
    }
    l.loaded
}

/// Source files are `.spark` files: nothing else is read as source (a secrets file, a
/// system file), so nothing else can be quoted back in a diagnostic.
pub fn is_source_name(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|n| n.len() > ".spark".len() && n.ends_with(".spark"))
}

fn load_error(file: FileId, span: Span, path: &str, e: &LoadError) -> Diagnostic {
    match e {
        LoadError::NotSource => Diagnostic::error(
            Code::ImportRefused,
            format!("`{path}` is not a .spark file"),
            file,
            span,
        )
        .label("sparkc reads only .spark files as source")
        .help("import the .spark file that declares what you need; a secret's file is named by `secret NAME from file \"...\"`, never imported"),
        LoadError::OutsideProject => Diagnostic::error(
            Code::ImportRefused,
            format!("`{path}` is a link to a file outside the project"),
            file,
            span,
        )
        .label("resolves outside the project directory")
        .help("sources must live inside the project directory; copy the file into the project instead of linking to it"),
        LoadError::NotFound => Diagnostic::error(
            Code::ImportNotFound,
            format!("cannot find `{path}`"),
            file,
            span,
        )
        .label("imported here")
        .help("import paths are relative to the importing file and stay inside the project"),
        LoadError::NotUtf8 => Diagnostic::error(
            Code::InvalidSource,
            format!("`{path}` is not UTF-8 text"),
            file,
            span,
        )
        .help("sparkc sources are UTF-8 text files; is this a binary file?"),
        LoadError::TooLarge(n) => Diagnostic::error(
            Code::InvalidSource,
            format!("`{path}` is too large ({n} bytes)"),
            file,
            span,
        )
        .help(format!(
            "source files are limited to {} MiB",
            MAX_SOURCE_BYTES >> 20
        )),
        LoadError::Other(m) => Diagnostic::error(
            Code::ImportNotFound,
            format!("cannot read `{path}`: {m}"),
            file,
            span,
        )
        .help("check the file's permissions"),
    }
}

struct Loader<'a> {
    cache: Option<&'a ParseCache>,
    provider: &'a dyn SourceProvider,
    loaded: Loaded,
    /// Files being walked (the import chain), for cycle detection.
    stack: Vec<FileId>,
    diags: &'a mut Vec<Diagnostic>,
    /// Imported files read and parsed ahead (in parallel) but not yet added, by path.
    parsed: rustc_hash::FxHashMap<String, Parsed>,
}

/// A file parsed before it has an id: its diagnostics point at [`UNASSIGNED`] until added.
struct Parsed {
    text: String,
    /// Shared with the cache: a file's tree exists once, however many compilations use it.
    file: Arc<ast::File>,
    diags: Vec<Diagnostic>,
    opaque: bool,
}

const UNASSIGNED: FileId = FileId(u32::MAX);

fn parse_detached(text: String) -> Parsed {
    if !syntax::looks_like_source(&text) {
        return not_source(text);
    }
    let (file, diags) = syntax::parse(UNASSIGNED, &text);
    Parsed {
        text,
        file: Arc::new(file),
        diags,
        opaque: false,
    }
}

/// A file that does not start like sparkc source: one diagnostic that quotes nothing of it
/// (it may be a secret, a system file, anything), and the file is never shown.
fn not_source(text: String) -> Parsed {
    let at = syntax::first_token(&text).unwrap_or(0);
    let first = text[at..].chars().next().map_or(0, char::len_utf8);
    let word: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(16)
        .collect();
    let help = match did_you_mean(&word, syntax::ITEM_KEYWORDS.iter().copied()) {
        Some(k) => format!(
            "did you mean `{k}`? A source file holds declarations (`host`, `service`, `secret`, ...), constants, templates and imports"
        ),
        None => "a source file holds declarations (`host`, `service`, `secret`, ...), constants, templates and imports; is this the file you meant? Its text is not shown".to_string(),
    };
    let d = Diagnostic::error(
        Code::Syntax,
        "this file is not sparkc source",
        UNASSIGNED,
        Span::new(at, at + first),
    )
    .label("a declaration or an import must start here")
    .help(help);
    Parsed {
        text,
        file: Arc::default(),
        diags: vec![d],
        opaque: true,
    }
}

impl Loader<'_> {
    fn parse(&self, name: &str, text: String) -> Parsed {
        match self.cache {
            Some(c) => c.parse(name, text),
            None => parse_detached(text),
        }
    }

    fn add_and_walk(&mut self, name: String, text: String, is_stdlib: bool) -> FileId {
        let parsed = if text.len() > MAX_SOURCE_BYTES {
            Err(text.len())
        } else {
            Ok(self.parse(&name, text))
        };
        self.add_parsed_and_walk(name, parsed, is_stdlib)
    }

    /// Read every file `file` imports that is not loaded yet and parse them all at once,
    /// spread over the machine's cores; the walk then takes them from `self.parsed`.
    fn parse_imports_ahead(&mut self, id: FileId) {
        let from = self.loaded.sources.get(id);
        if from.is_stdlib {
            return;
        }
        let mut texts = Vec::new();
        for item in &self.loaded.files[id.0 as usize].items {
            if let ast::Item::Import(ast::Import {
                target: ast::ImportTarget::File { path, .. },
                ..
            }) = item
                && let Some(joined) = join_import(&from.name, path)
                && is_source_name(&joined)
                && self.loaded.sources.find(&joined).is_none()
                && !self.parsed.contains_key(&joined)
                && !texts.iter().any(|(n, _)| *n == joined)
                && let Ok(text) = self.provider.load_file(&joined)
                && text.len() <= MAX_SOURCE_BYTES
            {
                texts.push((joined, text));
            }
        }
        use rayon::prelude::*;
        let cache = self.cache;
        let parsed: Vec<(String, Parsed)> = texts
            .into_par_iter()
            .map(|(name, text)| {
                let parsed = match cache {
                    Some(c) => c.parse(&name, text),
                    None => parse_detached(text),
                };
                (name, parsed)
            })
            .collect();
        self.parsed.extend(parsed);
    }

    fn add_parsed_and_walk(
        &mut self,
        name: String,
        parsed: Result<Parsed, usize>,
        is_stdlib: bool,
    ) -> FileId {
        let parsed = match parsed {
            Ok(p) => p,
            Err(len) => return self.add_too_large(name, len, is_stdlib),
        };
        let id = self.loaded.sources.add(SourceFile {
            name,
            text: parsed.text,
            is_stdlib,
            opaque: parsed.opaque,
        });
        self.diags.extend(parsed.diags.into_iter().map(|mut d| {
            for label in std::iter::once(&mut d.primary).chain(d.secondary.iter_mut()) {
                if label.file == UNASSIGNED {
                    label.file = id;
                }
            }
            d
        }));
        self.loaded.files.push(parsed.file);
        self.stack.push(id);
        self.parse_imports_ahead(id);
        let imports: Vec<ast::Import> = self.loaded.files[id.0 as usize]
            .items
            .iter()
            .filter_map(|i| {
                if let ast::Item::Import(im) = i {
                    Some(im.clone())
                } else {
                    None
                }
            })
            .collect();
        for im in imports {
            self.import(id, &im);
        }
        self.stack.pop();
        id
    }

    fn add_too_large(&mut self, name: String, len: usize, is_stdlib: bool) -> FileId {
        let id = self.loaded.sources.add(SourceFile {
            name: name.clone(),
            text: String::new(),
            is_stdlib,
            opaque: false,
        });
        self.loaded.files.push(Arc::default());
        self.diags.push(load_error(
            id,
            Span::default(),
            &name,
            &LoadError::TooLarge(len as u64),
        ));
        id
    }

    fn import(&mut self, from: FileId, im: &ast::Import) {
        match &im.target {
            ast::ImportTarget::File { path, span } => {
                let from_name = self.loaded.sources.get(from).name.clone();
                if self.loaded.sources.get(from).is_stdlib {
                    return;
                }
                let Some(joined) = join_import(&from_name, path) else {
                    self.diags.push(
                        Diagnostic::error(Code::ImportNotFound, format!("import path `{path}` leaves the project"), from, *span)
                            .label("not inside the project directory")
                            .help("imports are relative to the importing file and may not be absolute or climb above the project root"),
                    );
                    return;
                };
                if !is_source_name(&joined) {
                    self.diags
                        .push(load_error(from, *span, &joined, &LoadError::NotSource));
                    return;
                }
                if let Some(existing) = self.loaded.sources.find(&joined) {
                    if let Some(pos) = self.stack.iter().position(|f| *f == existing) {
                        let cycle: Vec<String> = self.stack[pos..]
                            .iter()
                            .map(|f| self.loaded.sources.get(*f).name.clone())
                            .chain(std::iter::once(joined.clone()))
                            .collect();
                        self.diags.push(
                            Diagnostic::error(Code::ImportCycle, "import cycle", from, *span)
                                .label(format!("`{joined}` is already being imported"))
                                .help(format!(
                                    "the files import each other: {}; move the shared declarations into a file that both import",
                                    cycle.join(" → ")
                                )),
                        );
                    }
                    return;
                }
                if let Some(p) = self.parsed.remove(&joined) {
                    self.add_parsed_and_walk(joined, Ok(p), false);
                    return;
                }
                match self.provider.load_file(&joined) {
                    Ok(text) => {
                        self.add_and_walk(joined, text, false);
                    }
                    Err(e) => self.diags.push(load_error(from, *span, &joined, &e)),
                }
            }
            ast::ImportTarget::Std { module, names } => {
                // `import std.apps.mysql` names one module; `import std.apps.{a, b}` several.
                let pairs: Vec<(String, ast::Name)> = if names.is_empty() {
                    let last = module.text.rsplit('.').next().unwrap_or("").to_string();
                    let start = module.span.end as usize - last.len();
                    vec![(
                        module.text.as_str().to_owned(),
                        ast::Name {
                            text: last.into(),
                            span: Span::new(start, module.span.end as usize),
                        },
                    )]
                } else {
                    names
                        .iter()
                        .map(|n| (format!("{}.{}", module.text, n.text), n.clone()))
                        .collect()
                };
                for (full, name) in pairs {
                    let key = format!("<{}.spark>", full.replace('.', "/"));
                    let file = match self.loaded.sources.find(&key) {
                        Some(f) => f,
                        None => {
                            if let Some(text) = self.provider.load_std(&full) {
                                self.add_and_walk(key, text.to_string(), true)
                            } else {
                                let modules = self.provider.std_modules();
                                let mut d = Diagnostic::error(
                                    Code::ImportNotFound,
                                    format!("the stdlib has no module `{full}`"),
                                    from,
                                    if names.is_empty() {
                                        module.span
                                    } else {
                                        name.span
                                    },
                                )
                                .label("not in the stdlib");
                                d.help = Some(
                                    match did_you_mean(&full, modules.iter().map(String::as_str)) {
                                        Some(s) => format!("did you mean `{s}`?"),
                                        None => "run `sparkc stdlib` to list the stdlib's modules"
                                            .to_string(),
                                    },
                                );
                                self.diags.push(d);
                                continue;
                            }
                        }
                    };
                    self.loaded.std_imports.push((from, name, file));
                }
            }
        }
    }
}
