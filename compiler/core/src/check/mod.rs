//! Step 2: load → collect symbols → evaluate → lower to the typed [`Model`] → project-wide rules.
//! Every independent error is collected; nothing stops at the first one.

pub mod coverage;
pub mod defaults;
pub mod eval;
pub mod load;
pub mod lower;
pub mod rules;
pub mod secure;

use crate::diag::{Code, Diagnostic};
use crate::model::Model;
use crate::source::{FileId, SourceProvider, SourceSet, Span};
use crate::syntax::ast::{self, DeclKind};
use rustc_hash::FxHashMap as HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SymKind {
    Const,
    Template,
    Decl(DeclKind),
}

#[derive(Debug, Clone)]
pub struct Sym {
    pub name: String,
    pub kind: SymKind,
    pub file: FileId,
    pub item: usize,
    pub name_span: Span,
    /// Declared by an item that does not parse: the name is known (what refers to it gets
    /// no "cannot find"), but it has no value and is not lowered.
    pub broken: bool,
}

impl Sym {
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            SymKind::Const => "constant",
            SymKind::Template => "template",
            SymKind::Decl(k) => k.keyword(),
        }
    }
}

/// Every name in the project's one namespace.
#[derive(Debug, Default)]
pub struct Symbols {
    pub list: Vec<Sym>,
    by_name: HashMap<String, usize>,
    /// Templates live in their own namespace: `service grafana = grafana(...)` is fine.
    templates_by_name: HashMap<String, usize>,
    /// Domains too: they are referred to by their name as a string (`target = "a.org"`), and
    /// a one-label name must not clash with a host's.
    domains_by_name: HashMap<String, usize>,
    /// The stdlib's files: a name in them means the stdlib's own, never a user's
    /// declaration (a template's volume `cache` is not the user's service `cache`).
    pub stdlib_files: Vec<FileId>,
}

impl Symbols {
    /// What `name`, written in `file`, refers to: in a stdlib file, only the stdlib's own.
    pub fn lookup_from(&self, file: FileId, name: &str) -> Option<usize> {
        let sym = self.lookup(name)?;
        let hygienic =
            !self.stdlib_files.contains(&file) || self.stdlib_files.contains(&self.list[sym].file);
        hygienic.then_some(sym)
    }
    /// A constant or declaration.
    pub fn lookup(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }
    pub fn lookup_template(&self, name: &str) -> Option<usize> {
        self.templates_by_name.get(name).copied()
    }
    /// A declared domain, by its name.
    pub fn lookup_domain(&self, name: &str) -> Option<usize> {
        self.domains_by_name.get(name).copied()
    }
    /// The names an identifier can refer to: constants and declarations, not templates or
    /// domains.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.list
            .iter()
            .filter(|s| !matches!(s.kind, SymKind::Template | SymKind::Decl(DeclKind::Domain)))
            .map(|s| s.name.as_str())
    }
    pub fn templates(&self) -> Vec<String> {
        self.list
            .iter()
            .filter(|s| s.kind == SymKind::Template)
            .map(|s| s.name.clone())
            .collect()
    }
    fn add(&mut self, sym: Sym, diags: &mut Vec<Diagnostic>) {
        let is_template = sym.kind == SymKind::Template;
        let is_domain = sym.kind == SymKind::Decl(DeclKind::Domain);
        let table = if is_template {
            &self.templates_by_name
        } else if is_domain {
            &self.domains_by_name
        } else {
            &self.by_name
        };
        if let Some(&prev) = table.get(&sym.name) {
            let p = &self.list[prev];
            if p.file == sym.file && p.item == sym.item {
                return;
            }
            if is_domain {
                // Several routes for one name (by path, protocol or entry point): each is
                // lowered; lowering reports two that claim the same requests. The first is
                // the one the name refers to.
                self.list.push(sym);
                return;
            }
            diags.push(
                Diagnostic::error(Code::Duplicate, format!("`{}` is declared twice", sym.name), sym.file, sym.name_span)
                    .label(format!("{} `{}` declared again here", sym.kind_name(), sym.name))
                    .with_secondary(p.file, p.name_span, format!("first declared here as a {}", p.kind_name()))
                    .help(if is_template {
                        "template names are unique (a stdlib import counts as a declaration); rename one"
                    } else {
                        "names are unique across hosts, services, secrets, networks, volumes and constants; rename one"
                    }),
            );
            return;
        }
        let table = if is_template {
            &mut self.templates_by_name
        } else if is_domain {
            &mut self.domains_by_name
        } else {
            &mut self.by_name
        };
        table.insert(sym.name.clone(), self.list.len());
        self.list.push(sym);
    }
}

/// A place in the sources where a name refers to a symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub file: FileId,
    pub span: Span,
    /// Index into [`Symbols::list`].
    pub symbol: usize,
}

/// The result of checking a project.
pub struct Checked {
    pub sources: SourceSet,
    pub model: Model,
    pub diagnostics: Vec<Diagnostic>,
    /// Every declaration, constant and template, with where it is declared.
    pub symbols: Symbols,
    /// Every use of a symbol's name, in source order (declarations themselves excluded).
    pub references: Vec<Reference>,
    /// Wall time per stage, in pipeline order (for `sparkc build --timings` and the benchmarks).
    pub timings: Vec<(String, std::time::Duration)>,
    /// The declarations sparkc added by default, and the file they are in.
    pub defaults: Option<(FileId, defaults::Defaults)>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Move what a target reported inside the generated defaults to what caused them.
    pub fn relocate_defaults(&self, diags: &mut [Diagnostic]) {
        if let Some((file, d)) = &self.defaults {
            d.relocate(*file, diags);
        }
    }
}

pub fn check(provider: &dyn SourceProvider, entry: &str) -> Checked {
    check_cached(provider, entry, None)
}

/// [`check`], reusing the parse of every file whose text `cache` has seen.
///
/// Where the model of the sources as written calls for defaults (`defaults.rs`), the
/// sources are checked again with them: that check is the result.
pub fn check_cached(
    provider: &dyn SourceProvider,
    entry: &str,
    cache: Option<&load::ParseCache>,
) -> Checked {
    let (defaults, mut timings) = match check_once(provider, entry, cache, None) {
        Ok(written) => return written,
        Err(planned) => planned,
    };
    // With the defaults loaded, none is planned again.
    let Ok(mut full) = check_once(provider, entry, cache, Some(&defaults)) else {
        unreachable_plan()
    };
    let file = full.sources.find(defaults::FILE_NAME);
    full.defaults = file.map(|f| (f, defaults));
    for (stage, t) in full.timings.drain(..) {
        match timings.iter_mut().find(|(s, _)| *s == stage) {
            Some((_, sum)) => *sum += t,
            None => timings.push((stage, t)),
        }
    }
    full.timings = timings;
    full
}

fn unreachable_plan() -> ! {
    panic!("defaults planned with the defaults loaded; this is a bug in sparkc")
}

/// The defaults a first check found due, and its stages' times so far.
type Planned = (defaults::Defaults, Vec<(String, std::time::Duration)>);

/// One check of the sources, with `defaults` when given. Without them, `Err` as soon as the
/// lowered model calls for defaults: the rest of this check would be thrown away, so it is
/// not done.
fn check_once(
    provider: &dyn SourceProvider,
    entry: &str,
    cache: Option<&load::ParseCache>,
    defaults: Option<&defaults::Defaults>,
) -> Result<Checked, Planned> {
    let mut timings = Vec::new();
    let mut clock = std::time::Instant::now();
    let mut lap = |stage: &str, timings: &mut Vec<(String, std::time::Duration)>| {
        let now = std::time::Instant::now();
        timings.push((stage.to_string(), now - clock));
        clock = now;
    };
    let mut diags = Vec::new();
    let loaded = load::load_with_defaults(
        provider,
        entry,
        &mut diags,
        cache,
        defaults.map(|d| d.text.as_str()),
    );
    lap("parse", &mut timings);
    let mut syms = Symbols::default();
    for (fi, file) in loaded.files.iter().enumerate() {
        let fid = FileId(fi as u32);
        if loaded.sources.get(fid).is_stdlib && loaded.defaults != Some(fid) {
            continue;
        }
        for (ii, item) in file.items.iter().enumerate() {
            let (name, kind, broken) = match item {
                ast::Item::Import(_) => continue,
                ast::Item::Error(e) => match &e.declares {
                    Some(d) => (
                        &d.name,
                        match d.kind {
                            ast::DeclaredKind::Const => SymKind::Const,
                            ast::DeclaredKind::Template => SymKind::Template,
                            ast::DeclaredKind::Decl(k) => SymKind::Decl(k),
                        },
                        true,
                    ),
                    None => continue,
                },
                ast::Item::Const(c) => (&c.name, SymKind::Const, false),
                ast::Item::Template(t) => {
                    eval::Evaluator::check_param_types(t, fid, &mut diags);
                    (&t.name, SymKind::Template, false)
                }
                ast::Item::Decl(d) => (&d.name, SymKind::Decl(d.kind), false),
            };
            syms.add(
                Sym {
                    name: name.text.as_str().to_owned(),
                    kind,
                    file: fid,
                    item: ii,
                    name_span: name.span,
                    broken,
                },
                &mut diags,
            );
        }
    }
    // Stdlib templates become visible under the name they were imported by.
    let mut references = Vec::new();
    for (from, name, std_file) in &loaded.std_imports {
        let file = &loaded.files[std_file.0 as usize];
        let found = file.items.iter().enumerate().find_map(|(ii, it)| match it {
            ast::Item::Template(t) if t.name.text == name.text => Some((ii, t.name.span)),
            _ => None,
        });
        if !syms.stdlib_files.contains(std_file) {
            syms.stdlib_files.push(*std_file);
        }
        if let Some((ii, span)) = found {
            references.push((*from, name.span, name.text.as_str().to_owned()));
            syms.add(
                Sym {
                    name: name.text.as_str().to_owned(),
                    kind: SymKind::Template,
                    file: *std_file,
                    item: ii,
                    name_span: span,
                    broken: false,
                },
                &mut diags,
            );
        }
    }
    lap("resolve", &mut timings);
    let (model, used, evaluated_refs) = {
        let mut ev = eval::Evaluator::new(&loaded.files, &syms, &mut diags);
        let mut lw = lower::Lowerer::new(&mut ev);
        lw.lower_all();
        let model = lw.finish();
        (
            model,
            std::mem::take(&mut ev.used),
            std::mem::take(&mut ev.references),
        )
    };
    if defaults.is_none()
        && let Some(planned) = defaults::plan(&model, &syms)
    {
        lap("evaluate", &mut timings);
        return Err((planned, timings));
    }
    let mut references: Vec<Reference> = references
        .into_iter()
        .filter_map(|(file, span, name)| {
            Some(Reference {
                file,
                span,
                symbol: syms.lookup_template(&name)?,
            })
        })
        .chain(evaluated_refs.into_iter().map(|(loc, symbol)| Reference {
            file: loc.file,
            span: loc.span,
            symbol,
        }))
        .collect();
    references.sort_unstable();
    references.dedup();
    // With errors, "unused" is mostly a cascade (a failed instantiation uses nothing).
    if !diags.iter().any(Diagnostic::is_error) {
        unused(&syms, &used, &loaded, &mut diags);
    }
    lap("evaluate", &mut timings);
    let mut loaded = loaded;
    secret_files_as_source(&model, &mut loaded, &mut diags);
    rules::check_model(&model, &mut diags);
    coverage::check(&model, &mut diags);
    // Into the generated declarations first (what a template they use set), then to what
    // caused each.
    let stdlib: Vec<bool> = loaded.sources.files.iter().map(|f| f.is_stdlib).collect();
    let generated = loaded.defaults;
    crate::diag::relocate_into_user_files(&mut diags, |f| {
        stdlib[f.0 as usize] && Some(f) != generated
    });
    if let (Some(d), Some(file)) = (defaults, generated) {
        d.relocate(file, &mut diags);
    }
    // Placed: which declaration each was raised under no longer matters, and the same
    // diagnostic raised under two (a service's record evaluated for another's reference,
    // on another thread) is then one.
    for d in &mut diags {
        d.subject = None;
    }
    diags.sort_by(|a, b| {
        (a.primary.file, a.primary.span.start, a.code).cmp(&(
            b.primary.file,
            b.primary.span.start,
            b.code,
        ))
    });
    diags.dedup();
    lap("rules", &mut timings);
    Ok(Checked {
        sources: loaded.sources,
        model,
        diagnostics: diags,
        symbols: syms,
        references,
        timings,
        defaults: None,
    })
}

/// A file a secret is read from is never source: an import of it is refused, and the
/// file's text never appears in a diagnostic (its own are dropped). A secret's path is
/// relative to where the generated files are deployed; any source whose path ends with it
/// counts.
fn secret_files_as_source(model: &Model, loaded: &mut load::Loaded, diags: &mut Vec<Diagnostic>) {
    use crate::model::SecretSource;
    let paths: Vec<(&str, String)> = model
        .secrets
        .iter()
        .filter_map(|s| match &s.source {
            SecretSource::File(p) => {
                crate::source::join_import("x", p).map(|n| (s.name.as_str(), n))
            }
            SecretSource::Env(_) | SecretSource::External(_) => None,
        })
        .filter(|(_, p)| !p.is_empty())
        .collect();
    if paths.is_empty() {
        return;
    }
    for fi in 0..loaded.sources.files.len() {
        let f = &loaded.sources.files[fi];
        if f.is_stdlib {
            continue;
        }
        let Some((secret, _)) = paths
            .iter()
            .find(|(_, p)| f.name == *p || f.name.ends_with(&format!("/{p}")))
        else {
            continue;
        };
        let id = FileId(fi as u32);
        let name = f.name.clone();
        loaded.sources.files[fi].opaque = true;
        diags.retain(|d| d.primary.file != id);
        for d in diags.iter_mut() {
            d.secondary.retain(|l| l.file != id);
        }
        let mut sites = Vec::new();
        for (from, file) in loaded.files.iter().enumerate() {
            let from_name = &loaded.sources.files[from].name;
            for item in &file.items {
                if let ast::Item::Import(ast::Import {
                    target: ast::ImportTarget::File { path, span },
                    ..
                }) = item
                    && crate::source::join_import(from_name, path).as_deref() == Some(&name)
                {
                    sites.push((FileId(from as u32), *span));
                }
            }
        }
        if sites.is_empty() {
            sites.push((id, Span::default()));
        }
        for (file, span) in sites {
            diags.push(
                Diagnostic::error(
                    Code::ImportRefused,
                    format!("`{name}` is the file of secret `{secret}`"),
                    file,
                    span,
                )
                .label("a secret's file is never read as source")
                .help("sparkc never reads a secret's value; import the .spark file with your declarations, and keep the secret's file apart from the sources"),
            );
        }
    }
}

/// Warn about declarations nothing refers to: constants, secrets, networks, volumes and
/// templates (hosts, services, domains and monitors are used by existing).
fn unused(syms: &Symbols, used: &[bool], loaded: &load::Loaded, diags: &mut Vec<Diagnostic>) {
    for (i, s) in syms.list.iter().enumerate() {
        if s.broken || used.get(i).copied().unwrap_or(true) {
            continue;
        }
        let what = match s.kind {
            SymKind::Const => "constant",
            SymKind::Template => "template",
            SymKind::Decl(DeclKind::Secret) => "secret",
            SymKind::Decl(DeclKind::Network) => "network",
            SymKind::Decl(DeclKind::Volume) => "volume",
            SymKind::Decl(DeclKind::Variable) => "variable",
            SymKind::Decl(DeclKind::Config) => "config",
            SymKind::Decl(_) => continue,
        };
        // A stdlib template is reported where it was imported.
        let (file, span, help) = if loaded.sources.get(s.file).is_stdlib {
            match loaded
                .std_imports
                .iter()
                .find(|(_, n, f)| *f == s.file && n.text == s.name)
            {
                Some((from, n, _)) => (*from, n.span, "remove it from the import list"),
                None => continue,
            }
        } else {
            (s.file, s.name_span, "remove it, or use it")
        };
        diags.push(
            Diagnostic::warning(
                Code::Unused,
                format!("{what} `{}` is never used", s.name),
                file,
                span,
            )
            .label("declared here, referred to nowhere")
            .help(help),
        );
    }
}
