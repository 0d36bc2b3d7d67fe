//! What the server answers, read off the last check of a project and the syntax tree.

use super::convert::{Lines, path_to_uri};
use super::local;
use super::server::Server;
use lsp_types::{self as lsp, Uri};
use sparkc_core::check::SymKind;
use sparkc_core::check::lower::fields_of;
use sparkc_core::source::{FileId, Span};
use sparkc_core::syntax::ast::{self, DeclKind, Item};
use sparkc_driver::Compilation;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The text of a document: its open buffer, else the file on disk.
fn buffer(s: &Server<'_>, path: &Path) -> Option<String> {
    s.docs
        .get(path)
        .map(|d| d.text.clone())
        .or_else(|| std::fs::read_to_string(path).ok())
}

/// The place a request is about: the project's check, the file in it and the byte offset.
struct Here<'s> {
    comp: &'s Compilation,
    root: PathBuf,
    file: FileId,
    offset: usize,
}

fn here<'s>(s: &'s mut Server<'_>, tdp: &lsp::TextDocumentPositionParams) -> Option<Here<'s>> {
    let encoding = s.encoding;
    let (path, ps) = s.analysed(&tdp.text_document.uri)?;
    let comp = ps.analysis.as_ref()?;
    let rel = ps.relative(&path)?;
    let file = comp.sources.find(&rel)?;
    let text = &comp.sources.get(file).text;
    let offset = Lines::new(text, encoding).offset(tdp.position);
    Some(Here {
        comp,
        root: ps.project.root.clone(),
        file,
        offset,
    })
}

/// The symbol named at `offset` (a use or the declaration itself) and the span of the name.
fn symbol_at(comp: &Compilation, file: FileId, offset: usize) -> Option<(usize, Span)> {
    let within = |sp: Span| sp.start as usize <= offset && offset <= sp.end as usize;
    comp.references
        .iter()
        .find(|r| r.file == file && within(r.span))
        .map(|r| (r.symbol, r.span))
        .or_else(|| {
            comp.symbols
                .list
                .iter()
                .position(|s| s.file == file && within(s.name_span))
                .map(|i| (i, comp.symbols.list[i].name_span))
        })
}

/// A location in a compilation's file: a user file by its path, a stdlib module by the copy
/// the server wrote of it.
fn location(
    s: &mut Server<'_>,
    comp_files: &[(String, bool, String)],
    root: &Path,
    file: FileId,
    span: Span,
) -> Option<lsp::Location> {
    let (name, is_stdlib, text) = comp_files.get(file.0 as usize)?;
    let path = if *is_stdlib {
        s.stdlib_file(name)?
    } else {
        root.join(name)
    };
    let lines = Lines::new(text, s.encoding);
    Some(lsp::Location {
        uri: path_to_uri(&path)?,
        range: lines.range(span.start as usize, span.end as usize),
    })
}

/// The files of a compilation, owned (names, stdlib or not, texts), so that the server can
/// be borrowed again while locations are made.
fn files_of(comp: &Compilation) -> Vec<(String, bool, String)> {
    comp.sources
        .files
        .iter()
        .map(|f| (f.name.clone(), f.is_stdlib, f.text.clone()))
        .collect()
}

// ---- hover -------------------------------------------------------------------------

pub fn hover(s: &mut Server<'_>, tdp: &lsp::TextDocumentPositionParams) -> Option<lsp::Hover> {
    let encoding = s.encoding;
    let (markdown, range, preview_of) = {
        let h = here(s, tdp)?;
        let text = &h.comp.sources.get(h.file).text;
        let lines = Lines::new(text, encoding);
        if let Some((sym, span)) = symbol_at(h.comp, h.file, h.offset) {
            let (md, preview) = describe_symbol(h.comp, sym);
            (
                md,
                lines.range(span.start as usize, span.end as usize),
                preview,
            )
        } else if let Some((md, span)) = {
            // What names no symbol: an argument's parameter or a field (one parse for both).
            let (parsed, _) = sparkc_core::syntax::parse(FileId(0), text);
            describe_argument(h.comp, &parsed, h.offset)
                .or_else(|| describe_field(&parsed, h.offset))
        } {
            (
                md,
                lines.range(span.start as usize, span.end as usize),
                None,
            )
        } else {
            return None;
        }
    };
    let mut value = markdown;
    // The host whose files show it: the service's, or the one whose proxy serves a domain.
    let host = preview_of.as_ref().and_then(|(kind, name)| {
        let (_, ps) = s.analysed(&tdp.text_document.uri)?;
        let m = &ps.analysis.as_ref()?.model;
        let host = match kind {
            DeclKind::Domain => m.domains.iter().find(|d| d.name == *name)?.host,
            _ => m.services.iter().find(|x| x.name == *name)?.host?,
        };
        Some(sparkc_core::model::Id::index(host))
    });
    if let Some((kind, name)) = preview_of
        && let Some((c, artifacts)) = s.previews(&tdp.text_document.uri, host)
        && let Some(p) = preview(c, artifacts, kind, &name)
    {
        value.push_str("\n\n---\n");
        value.push_str(&p);
    }
    Some(lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value,
        }),
        range: Some(range),
    })
}

/// The item a symbol is declared by, parsed again from its file.
fn item_of(comp: &Compilation, sym: usize) -> Option<(Item, String)> {
    let s = &comp.symbols.list[sym];
    let text = comp.sources.get(s.file).text.clone();
    // The declaration alone, from the start of its line (a 300 KB file is not parsed for a
    // hover); the whole file when it does not parse alone.
    let line = text[..s.name_span.start as usize]
        .rfind('\n')
        .map_or(0, |n| n + 1);
    let start = line + text[line..].len() - text[line..].trim_start().len();
    if let Some(item) = sparkc_core::syntax::parser::parse_item_at(s.file, &text, start)
        && item_name_span(&item) == Some(s.name_span)
    {
        return Some((item, text));
    }
    let (file, _) = sparkc_core::syntax::parse(s.file, &text);
    let item = file.items.into_iter().nth(s.item)?;
    Some((item, text))
}

fn item_name_span(item: &Item) -> Option<Span> {
    match item {
        Item::Decl(d) => Some(d.name.span),
        Item::Const(c) => Some(c.name.span),
        Item::Template(t) => Some(t.name.span),
        _ => None,
    }
}

/// Markdown for a symbol: its declaration's first line, its kind and its documentation; and
/// what to preview (a service's or domain's generated configuration).
fn describe_symbol(comp: &Compilation, sym: usize) -> (String, Option<(DeclKind, String)>) {
    let s = &comp.symbols.list[sym];
    let file = comp.sources.get(s.file);
    let mut md = String::new();
    let header = header_line(&file.text, s.name_span);
    let _ = write!(md, "```spark\n{header}\n```\n");
    let where_ = if file.is_stdlib {
        format!(
            "{} from the standard library `{}`",
            s.kind_name(),
            file.name
        )
    } else {
        format!("{} declared in `{}`", s.kind_name(), file.name)
    };
    md.push_str(&where_);
    let mut preview = None;
    if let Some((item, _)) = item_of(comp, sym) {
        let doc = match &item {
            Item::Const(c) => c.doc.clone(),
            Item::Decl(d) => {
                if matches!(d.kind, DeclKind::Service | DeclKind::Domain) {
                    preview = Some((d.kind, d.name.text.as_str().to_owned()));
                }
                d.doc.clone()
            }
            Item::Template(t) => {
                let mut doc = t.doc.clone();
                let params = t.param_docs(&file.text);
                if !params.is_empty() {
                    doc.push_str("\n\nParameters:");
                    for p in params {
                        let default = p.default.map_or(String::new(), |d| format!(" = `{d}`"));
                        let about = if p.doc.is_empty() {
                            String::new()
                        } else {
                            format!(" — {}", p.doc)
                        };
                        let _ = write!(doc, "\n- `{}: {}`{default}{about}", p.name, p.ty);
                    }
                }
                doc
            }
            _ => String::new(),
        };
        if !doc.is_empty() {
            md.push_str("\n\n");
            md.push_str(&doc);
        }
    }
    (md, preview)
}

/// A declaration's header, from the start of the line its name is on to its body's `{`,
/// on one line (a header broken over lines joined; cut after 300 characters).
fn header_line(text: &str, name: Span) -> String {
    let start = text[..name.start as usize].rfind('\n').map_or(0, |n| n + 1);
    let mut depth = 0i32;
    let mut end = text.len();
    let mut in_string = false;
    for (i, c) in text[start..].char_indices() {
        match c {
            '"' => in_string = !in_string,
            '(' | '[' if !in_string => depth += 1,
            ')' | ']' if !in_string => depth -= 1,
            '{' if !in_string && depth <= 0 => {
                end = start + i;
                break;
            }
            '\n' if depth <= 0 => {
                end = start + i;
                break;
            }
            _ => {}
        }
        if i > 2000 {
            end = start + i;
            break;
        }
    }
    let joined = text[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let joined = joined
        .replace("( ", "(")
        .replace(", )", ")")
        .replace(",)", ")");
    let mut out: String = joined.chars().take(300).collect();
    if out.len() < joined.len() {
        out.push_str(" ...");
    }
    out
}

/// The parameter a named argument of a template call gives (`mysql(database = ...)`): its
/// type, default and documentation.
fn describe_argument(
    comp: &Compilation,
    file: &ast::File,
    offset: usize,
) -> Option<(String, Span)> {
    let within = |sp: Span| sp.start as usize <= offset && offset <= sp.end as usize;
    let (instance, arg) = file.items.iter().find_map(|item| {
        let call = match item {
            Item::Decl(d) => d.instance.as_ref(),
            Item::Template(t) => t.base.as_ref(),
            _ => None,
        }?;
        let arg = call
            .args
            .iter()
            .find_map(|a| a.name.as_ref().filter(|n| within(n.span)))?;
        Some((call, arg))
    })?;
    let t = comp.symbols.lookup_template(&instance.template.text)?;
    let (Item::Template(tpl), tpl_text) = item_of(comp, t)? else {
        return None;
    };
    let p = tpl.params.iter().find(|p| p.name.text == arg.text)?;
    let mut md = format!(
        "```spark
{}: {}",
        p.name.text,
        &p.ty.name()
    );
    if let Some(d) = &p.default {
        let _ = write!(md, " = {}", &tpl_text[d.span.range()]);
    }
    let _ = write!(
        md,
        "
```
parameter of `{}`",
        tpl.name.text
    );
    if !p.doc.is_empty() {
        let _ = write!(
            md,
            "

{}",
            p.doc
        );
    }
    Some((md, arg.span))
}

/// The field key under `offset`, when it is a field of a declaration: its form and meaning
/// from the field table.
fn describe_field(file: &ast::File, offset: usize) -> Option<(String, Span)> {
    for item in &file.items {
        let Item::Decl(d) = item else {
            continue;
        };
        if !(d.span.start as usize <= offset && offset <= d.span.end as usize) {
            continue;
        }
        let f = d
            .body
            .iter()
            .find(|f| f.key.span.start as usize <= offset && offset <= f.key.span.end as usize)?;
        let doc = fields_of(d.kind)
            .into_iter()
            .find(|x| x.name == f.key.text)?;
        return Some((
            format!(
                "```spark\n{}\n```\n{} field `{}`: {}",
                doc.form,
                d.kind.keyword(),
                doc.name,
                doc.doc
            ),
            f.key.span,
        ));
    }
    None
}

/// What a service or a domain becomes: its block in the generated files.
fn preview(
    c: &Compilation,
    artifacts: &[sparkc_core::target::Artifact],
    kind: DeclKind,
    name: &str,
) -> Option<String> {
    let mut out = String::new();
    match kind {
        DeclKind::Service => {
            for a in artifacts
                .iter()
                .filter(|a| a.path.ends_with(".yml") || a.path.ends_with(".yaml"))
            {
                if let Some(block) = yaml_service_block(&a.contents, name) {
                    let _ = write!(out, "`{}`\n```yaml\n{block}```\n", a.path);
                }
            }
        }
        DeclKind::Domain => {
            for a in artifacts.iter().filter(|a| a.path.ends_with("Caddyfile")) {
                if let Some(block) = caddy_site_block(&a.contents, name) {
                    let _ = write!(out, "`{}`\n```caddyfile\n{block}```\n", a.path);
                }
            }
            // Behind Traefik, a domain is labels on its service.
            if out.is_empty() {
                let service = c
                    .model
                    .domains
                    .iter()
                    .find(|d| d.name == name)
                    .and_then(sparkc_core::model::Domain::service)
                    .map(|sid| c.model.services[sid].name.clone());
                if let Some(service) = service {
                    return preview(c, artifacts, DeclKind::Service, &service);
                }
                // A route no container carries: its entries in Traefik's routes file (its
                // router, service and middlewares are named after the host name).
                let base: String = name
                    .trim_start_matches("*.")
                    .chars()
                    .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
                    .collect();
                for a in artifacts.iter().filter(|a| a.path.ends_with("/routes.yml")) {
                    let blocks = routes_file_blocks(&a.contents, &base);
                    if !blocks.is_empty() {
                        let _ = write!(out, "`{}`\n```yaml\n{blocks}```\n", a.path);
                    }
                }
            }
        }
        _ => {}
    }
    (!out.is_empty()).then_some(out)
}

/// The entries of a routes file named `base` or `base-...` (four spaces in: a router, a
/// service or a middleware), each with its section and everything indented below it.
fn routes_file_blocks(text: &str, base: &str) -> String {
    let mut out = String::new();
    let mut section = "";
    let mut keep = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 2 {
            section = line.trim();
            keep = false;
        } else if indent == 4 {
            let key = line.trim().trim_end_matches(':');
            keep = key == base || key.strip_prefix(base).is_some_and(|r| r.starts_with('-'));
            if keep {
                let _ = writeln!(out, "# {section}");
            }
        }
        if keep && indent >= 4 {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `  NAME:` under `services:` and every line indented below it.
fn yaml_service_block(yaml: &str, name: &str) -> Option<String> {
    let services = yaml
        .find("\nservices:\n")
        .map(|n| n + 1)
        .or_else(|| yaml.starts_with("services:\n").then_some(0))?;
    let body = &yaml[services..];
    let mut out = String::new();
    let mut inside = false;
    for line in body.lines().skip(1) {
        if !line.starts_with("  ") && !line.is_empty() {
            break;
        }
        let key = line.strip_prefix("  ").filter(|l| !l.starts_with(' '));
        if let Some(k) = key {
            let k = k.trim_end_matches(':').trim_matches(['"', '\'']);
            inside = k == name;
            if inside {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The site block of a Caddyfile whose address line names `domain`.
fn caddy_site_block(caddyfile: &str, domain: &str) -> Option<String> {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut inside = false;
    for line in caddyfile.lines() {
        if depth == 0 && !inside {
            let addresses = line.trim_end_matches('{').trim();
            if addresses
                .split([',', ' '])
                .any(|a| a.trim().trim_start_matches("https://") == domain)
            {
                inside = true;
            }
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
        depth += line.matches('{').count();
        depth = depth.saturating_sub(line.matches('}').count());
        if inside && depth == 0 {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

// ---- definition, references, rename ------------------------------------------------

pub fn definition(
    s: &mut Server<'_>,
    tdp: &lsp::TextDocumentPositionParams,
) -> Option<lsp::GotoDefinitionResponse> {
    let (files, root, file, span) = {
        let h = here(s, tdp)?;
        let (file, span) = if let Some((sym, _)) = symbol_at(h.comp, h.file, h.offset) {
            let sym = &h.comp.symbols.list[sym];
            (sym.file, sym.name_span)
        } else {
            let (l, _) = local::local_at(h.comp, h.file, h.offset)?;
            local::occurrences(h.comp, &l).0?
        };
        (files_of(h.comp), h.root.clone(), file, span)
    };
    location(s, &files, &root, file, span).map(lsp::GotoDefinitionResponse::Scalar)
}

pub fn references(
    s: &mut Server<'_>,
    tdp: &lsp::TextDocumentPositionParams,
    include_declaration: bool,
) -> Option<Vec<lsp::Location>> {
    let (files, root, places) = {
        let h = here(s, tdp)?;
        let Some((sym, _)) = symbol_at(h.comp, h.file, h.offset) else {
            let (l, _) = local::local_at(h.comp, h.file, h.offset)?;
            let (def, mut all) = local::occurrences(h.comp, &l);
            if !include_declaration {
                all.retain(|p| Some(*p) != def);
            }
            return {
                let (files, root) = (files_of(h.comp), h.root.clone());
                Some(
                    all.into_iter()
                        .filter_map(|(f, sp)| location(s, &files, &root, f, sp))
                        .collect(),
                )
            };
        };
        let mut places: Vec<(FileId, Span)> = Vec::new();
        if include_declaration {
            let d = &h.comp.symbols.list[sym];
            places.push((d.file, d.name_span));
        }
        places.extend(
            h.comp
                .references
                .iter()
                .filter(|r| r.symbol == sym)
                .map(|r| (r.file, r.span)),
        );
        (files_of(h.comp), h.root.clone(), places)
    };
    Some(
        places
            .into_iter()
            .filter_map(|(f, sp)| location(s, &files, &root, f, sp))
            .collect(),
    )
}

/// The part of a reference's span that is the name (a domain is referred to by a string:
/// the quotes are not part of it).
fn name_part(text: &str, span: Span) -> Span {
    let t = &text[span.range()];
    if t.len() >= 2 && t.starts_with('"') && t.ends_with('"') {
        Span {
            start: span.start + 1,
            end: span.end - 1,
        }
    } else {
        span
    }
}

pub fn prepare_rename(
    s: &mut Server<'_>,
    tdp: &lsp::TextDocumentPositionParams,
) -> Option<lsp::PrepareRenameResponse> {
    let encoding = s.encoding;
    let h = here(s, tdp)?;
    let span = if let Some((sym, span)) = symbol_at(h.comp, h.file, h.offset) {
        if h.comp.sources.get(h.comp.symbols.list[sym].file).is_stdlib {
            return None;
        }
        span
    } else {
        let (l, span) = local::local_at(h.comp, h.file, h.offset)?;
        let (def, _) = local::occurrences(h.comp, &l);
        if def.is_some_and(|(f, _)| h.comp.sources.get(f).is_stdlib) {
            return None;
        }
        span
    };
    let text = &h.comp.sources.get(h.file).text;
    let span = name_part(text, span);
    let lines = Lines::new(text, encoding);
    Some(lsp::PrepareRenameResponse::RangeWithPlaceholder {
        range: lines.range(span.start as usize, span.end as usize),
        placeholder: text[span.range()].to_string(),
    })
}

pub fn rename(
    s: &mut Server<'_>,
    tdp: &lsp::TextDocumentPositionParams,
    new_name: &str,
) -> Result<Option<lsp::WorkspaceEdit>, String> {
    let encoding = s.encoding;
    let Some(h) = here(s, tdp) else {
        return Ok(None);
    };
    let Some((sym, _)) = symbol_at(h.comp, h.file, h.offset) else {
        let Some((l, _)) = local::local_at(h.comp, h.file, h.offset) else {
            return Ok(None);
        };
        let (def, all) = local::occurrences(h.comp, &l);
        let what = match &l {
            local::Local::Port { service, port } => format!("the port `{port}` of `{service}`"),
            local::Local::Param { name, .. } => format!("the parameter `{name}`"),
        };
        if def.is_some_and(|(f, _)| h.comp.sources.get(f).is_stdlib) {
            return Err(format!(
                "{what} is declared in the standard library; it cannot be renamed"
            ));
        }
        if let local::Local::Port { service, port } = &l
            && !local::declared_by_the_service(h.comp, service, port)
        {
            return Err(format!(
                "{what} is declared by the template `{service}` is made from; rename it there"
            ));
        }
        if !valid_name(new_name) {
            return Err(format!("`{new_name}` is not a valid name"));
        }
        if local::taken(h.comp, &l, new_name) {
            return Err(format!(
                "`{new_name}` is already the name of another one, next to {what}"
            ));
        }
        return Ok(Some(edits(h.comp, &h.root, all, new_name, encoding)));
    };
    let target = &h.comp.symbols.list[sym];
    if h.comp.sources.get(target.file).is_stdlib {
        return Err(format!(
            "`{}` is defined in the standard library; it cannot be renamed",
            target.name
        ));
    }
    let is_domain = target.kind == SymKind::Decl(DeclKind::Domain);
    let valid = if is_domain {
        valid_domain(new_name)
    } else {
        valid_name(new_name)
    };
    if !valid {
        return Err(format!(
            "`{new_name}` is not a valid {} name",
            target.kind_name()
        ));
    }
    let taken = match target.kind {
        SymKind::Template => h.comp.symbols.lookup_template(new_name),
        SymKind::Decl(DeclKind::Domain) => h.comp.symbols.lookup_domain(new_name),
        _ => h.comp.symbols.lookup(new_name),
    };
    if let Some(other) = taken.filter(|o| *o != sym) {
        let o = &h.comp.symbols.list[other];
        return Err(format!(
            "`{new_name}` is already the name of a {} (in `{}`)",
            o.kind_name(),
            h.comp.sources.get(o.file).name
        ));
    }
    let mut places = vec![(target.file, target.name_span)];
    places.extend(
        h.comp
            .references
            .iter()
            .filter(|r| r.symbol == sym)
            .map(|r| (r.file, r.span)),
    );
    Ok(Some(edits(h.comp, &h.root, places, new_name, encoding)))
}

/// One edit per place (in the user's files), each writing `new_name`.
fn edits(
    comp: &Compilation,
    root: &Path,
    places: Vec<(FileId, Span)>,
    new_name: &str,
    encoding: super::convert::Encoding,
) -> lsp::WorkspaceEdit {
    #[allow(clippy::mutable_key_type)] // the protocol's own map type; a `Uri` is not mutated
    let mut changes: HashMap<Uri, Vec<lsp::TextEdit>> = HashMap::new();
    for (file, span) in places {
        let f = comp.sources.get(file);
        if f.is_stdlib {
            continue;
        }
        let span = name_part(&f.text, span);
        let Some(uri) = path_to_uri(&root.join(&f.name)) else {
            continue;
        };
        let lines = Lines::new(&f.text, encoding);
        let edit = lsp::TextEdit {
            range: lines.range(span.start as usize, span.end as usize),
            new_text: new_name.to_string(),
        };
        let edits = changes.entry(uri).or_default();
        if !edits.contains(&edit) {
            edits.push(edit);
        }
    }
    lsp::WorkspaceEdit {
        changes: Some(changes),
        ..Default::default()
    }
}

fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        && !n.ends_with('-')
        && !n.contains("--")
        && !["import", "const", "template", "on", "from", "true", "false"].contains(&n)
}

fn valid_domain(n: &str) -> bool {
    let n = n.strip_prefix("*.").unwrap_or(n);
    let labels: Vec<&str> = n.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

// ---- completion --------------------------------------------------------------------

pub fn completion(
    s: &mut Server<'_>,
    tdp: &lsp::TextDocumentPositionParams,
) -> Option<lsp::CompletionResponse> {
    let encoding = s.encoding;
    let h = here(s, tdp)?;
    let text = &h.comp.sources.get(h.file).text;
    let offset = h.offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |n| n + 1);
    let prefix = &text[line_start..offset];
    let word_len = prefix
        .bytes()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        .count();
    let before = prefix[..prefix.len() - word_len].trim_end();
    let syms = &h.comp.symbols.list;
    let decls_of = |kind: DeclKind| -> Vec<lsp::CompletionItem> {
        syms.iter()
            .filter(|x| x.kind == SymKind::Decl(kind) && !x.broken)
            .map(|x| item(&x.name, lsp::CompletionItemKind::VALUE, kind.keyword(), ""))
            .collect()
    };
    let mut items: Vec<lsp::CompletionItem> = Vec::new();
    // Inside `= template(` ... at an argument's name: the template's parameters.
    if let Some(open) = prefix.rfind('(')
        && starts_declaration(prefix)
        && !prefix[open..].contains(')')
        && (before.ends_with('(') || before.ends_with(','))
    {
        let name_end = prefix[..open].trim_end();
        let n = name_end
            .bytes()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
            .count();
        let template = &name_end[name_end.len() - n..];
        if let Some(t) = h.comp.symbols.lookup_template(template)
            && let Some((Item::Template(tpl), tpl_text)) = item_of(h.comp, t)
        {
            for p in &tpl.params {
                let detail = match &p.default {
                    Some(d) => format!("{} = {}", &p.ty.name(), &tpl_text[d.span.range()]),
                    None => format!("{} (required)", &p.ty.name()),
                };
                let mut it = item(
                    &p.name.text,
                    lsp::CompletionItemKind::FIELD,
                    &detail,
                    &p.doc,
                );
                it.insert_text = Some(format!("{} = ", p.name.text));
                items.push(it);
            }
            return Some(lsp::CompletionResponse::Array(items));
        }
    }
    if let Some(service) = before.strip_suffix(".port.").map(|b| {
        let n = b
            .bytes()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
            .count();
        &b[b.len() - n..]
    }) {
        // `svc.port.` — the ports the service declares.
        if let Some(svc) = h.comp.model.services.iter().find(|x| x.name == service) {
            // A range is published, never routed to or probed: not offered after `.port.`.
            for p in svc.ports.iter().filter(|p| p.last == p.port) {
                items.push(item(
                    &p.name,
                    lsp::CompletionItemKind::FIELD,
                    &format!("port {}/{}", p.port, p.proto.as_str()),
                    "",
                ));
            }
        }
    } else if before.ends_with("->") && prefix.trim_start().starts_with("domain ") {
        // `domain NAME -> ` — where a route goes: a service (its `.port.` follows), an
        // address, a redirect, the proxy's dashboard.
        for (label, insert, doc) in [
            (
                "address(...)",
                "address(\"https://192.168.1.2:8006\")",
                "An address outside the project's containers: a VM, a NAS, a hypervisor's web UI (`verify_tls = false` for a self-signed certificate); `tcp://` and `udp://` for TCP and UDP routes.",
            ),
            (
                "redirect(...)",
                "redirect(\"https://example.org\")",
                "Answered with a redirect: permanent, the path and query kept (`permanent = false`, `keep_path = false`).",
            ),
            (
                "dashboard(...)",
                "dashboard(traefik)",
                "The proxy's own dashboard and API (a Traefik sparkc configures), only behind a login (`auth = ...`).",
            ),
        ] {
            let mut it = item(
                label,
                lsp::CompletionItemKind::FUNCTION,
                "route target",
                doc,
            );
            it.insert_text = Some(insert.to_string());
            items.push(it);
        }
        items.extend(decls_of(DeclKind::Service));
    } else if before.ends_with(" on") && starts_declaration(prefix) {
        items = decls_of(DeclKind::Host);
    } else if before.ends_with('=') && starts_declaration(prefix) && !prefix.contains('{') {
        // `service x on h = ` — templates: the project's and the stdlib's.
        for x in syms.iter().filter(|x| x.kind == SymKind::Template) {
            let file = &h.comp.sources.get(x.file).text;
            let line = file[..x.name_span.start as usize]
                .rfind('\n')
                .map_or(0, |n| n + 1);
            items.push(item(
                &x.name,
                lsp::CompletionItemKind::FUNCTION,
                "template",
                &sparkc_core::syntax::literal::doc_before(file, line),
            ));
        }
        for m in sparkc_stdlib::modules() {
            let name = m.rsplit('.').next().unwrap_or(m);
            if !items.iter().any(|i| i.label == name) {
                let mut it = item(
                    name,
                    lsp::CompletionItemKind::FUNCTION,
                    &format!("template from {m} (its import is added)"),
                    &stdlib_template_doc(m, name),
                );
                it.insert_text = Some(format!("{name}()"));
                let parent = m.rsplit_once('.').map_or("std.apps", |(p, _)| p);
                it.additional_text_edits = Some(vec![import_edit(text, encoding, parent, name)]);
                items.push(it);
            }
        }
    } else if let Some(field) = field_being_valued(before) {
        let kind = enclosing_kind(text, offset);
        if field == "depends_on" || before.contains("depends_on") && before.contains('[') {
            items = decls_of(DeclKind::Service);
        } else if field == "via" {
            items = decls_of(DeclKind::Host);
        } else if let Some(k) = kind
            && let Some(doc) = fields_of(k).into_iter().find(|f| f.name == field)
        {
            for alt in enum_values(doc.form) {
                items.push(item(
                    alt,
                    lsp::CompletionItemKind::ENUM_MEMBER,
                    doc.form,
                    "",
                ));
            }
        }
        if items.is_empty() {
            items = value_names(h.comp);
        }
    } else if before.is_empty() || before.ends_with('{') || before.ends_with(',') {
        // A field of the declaration the cursor is in.
        match enclosing_kind(text, offset) {
            Some(k) => {
                for f in fields_of(k) {
                    let mut it = item(f.name, lsp::CompletionItemKind::PROPERTY, f.form, f.doc);
                    it.insert_text = Some(if f.form.contains('{') && !f.form.contains('=') {
                        format!("{} {{ }}", f.name)
                    } else {
                        format!("{} = ", f.name)
                    });
                    items.push(it);
                }
            }
            None => {
                for kw in sparkc_core::syntax::ITEM_KEYWORDS {
                    items.push(item(kw, lsp::CompletionItemKind::KEYWORD, "", ""));
                }
            }
        }
    } else {
        items = value_names(h.comp);
    }
    Some(lsp::CompletionResponse::Array(items))
}

/// The doc comment of the template `name` in the stdlib module `module`, read off its text.
fn stdlib_template_doc(module: &str, name: &str) -> String {
    let Some(text) = sparkc_stdlib::module(module) else {
        return String::new();
    };
    text.find(&format!("template {name}("))
        .map(|at| sparkc_core::syntax::literal::doc_before(text, at))
        .unwrap_or_default()
}

fn item(
    label: &str,
    kind: lsp::CompletionItemKind,
    detail: &str,
    doc: &str,
) -> lsp::CompletionItem {
    lsp::CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: (!detail.is_empty()).then(|| detail.to_string()),
        documentation: (!doc.is_empty()).then(|| {
            lsp::Documentation::MarkupContent(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: doc.to_string(),
            })
        }),
        ..Default::default()
    }
}

/// Constants and declarations a value can name.
fn value_names(comp: &Compilation) -> Vec<lsp::CompletionItem> {
    comp.symbols
        .list
        .iter()
        .filter(|x| {
            !matches!(x.kind, SymKind::Template | SymKind::Decl(DeclKind::Domain))
                && !comp.sources.get(x.file).is_stdlib
        })
        .map(|x| {
            item(
                &x.name,
                lsp::CompletionItemKind::VARIABLE,
                x.kind_name(),
                "",
            )
        })
        .collect()
}

/// Whether the line starts a declaration (`service x ...`).
fn starts_declaration(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    DeclKind::from_keyword(first).is_some()
}

/// In `key = `, `key = [a, `: the key.
fn field_being_valued(before: &str) -> Option<&str> {
    let eq = before.rfind('=')?;
    let after = &before[eq + 1..];
    if after.contains(']') || after.contains('"') {
        return None;
    }
    let key = before[..eq].trim_end();
    let n = key
        .bytes()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'-')
        .count();
    let k = &key[key.len() - n..];
    (!k.is_empty()).then_some(k)
}

/// `a | b | c` alternatives of a field's form that are plain words.
fn enum_values(form: &str) -> Vec<&str> {
    let Some((_, rhs)) = form.split_once('=') else {
        return Vec::new();
    };
    if !rhs.contains('|') {
        return Vec::new();
    }
    rhs.split('|')
        .map(str::trim)
        .filter(|a| {
            !a.is_empty()
                && a.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
        .collect()
}

/// The kind of the declaration whose body directly holds `offset` (not inside a nested
/// record): the nearest line above starting with a kind keyword, and one open `{` between.
fn enclosing_kind(text: &str, offset: usize) -> Option<DeclKind> {
    let before = &text[..offset];
    let mut start = None;
    let mut at = before.len();
    while let Some(n) = before[..at]
        .rfind('\n')
        .map(|n| n + 1)
        .or((at > 0).then_some(0))
    {
        let line = &before[n..];
        let word = line.split_whitespace().next().unwrap_or("");
        if let Some(k) = DeclKind::from_keyword(word)
            && !line.starts_with(char::is_whitespace)
        {
            start = Some((n, k));
            break;
        }
        if n == 0 {
            break;
        }
        at = n - 1;
    }
    let (from, kind) = start?;
    let mut depth = 0i32;
    let mut in_string = false;
    for c in before[from..].chars() {
        match c {
            '"' => in_string = !in_string,
            '{' | '[' | '(' if !in_string => depth += 1,
            '}' | ']' | ')' if !in_string => depth -= 1,
            _ => {}
        }
    }
    (depth == 1).then_some(kind)
}

// ---- formatting, symbols, quick fixes ----------------------------------------------

pub fn formatting(s: &mut Server<'_>, uri: &Uri) -> Option<Vec<lsp::TextEdit>> {
    let path = super::convert::uri_to_path(uri)?;
    let text = buffer(s, &path)?;
    let (out, _) = sparkc_core::format::format(&text).ok()?;
    if out == text {
        return Some(Vec::new());
    }
    let lines = Lines::new(&text, s.encoding);
    Some(vec![lsp::TextEdit {
        range: lines.range(0, text.len()),
        new_text: out,
    }])
}

#[allow(deprecated)] // `DocumentSymbol::deprecated`, a required field of the type
pub fn document_symbols(s: &mut Server<'_>, uri: &Uri) -> Option<lsp::DocumentSymbolResponse> {
    let path = super::convert::uri_to_path(uri)?;
    let text = buffer(s, &path)?;
    let (file, _) = sparkc_core::syntax::parse(FileId(0), &text);
    let lines = Lines::new(&text, s.encoding);
    let mut out = Vec::new();
    for item in &file.items {
        let (name, kind, detail, span, name_span, children) = match item {
            Item::Decl(d) => {
                let children: Vec<lsp::DocumentSymbol> = d
                    .body
                    .iter()
                    .map(|f| lsp::DocumentSymbol {
                        name: f.key.text.as_str().to_owned(),
                        detail: None,
                        kind: lsp::SymbolKind::FIELD,
                        tags: None,
                        deprecated: None,
                        range: lines.range(f.key.span.start as usize, f.value.span.end as usize),
                        selection_range: lines
                            .range(f.key.span.start as usize, f.key.span.end as usize),
                        children: None,
                    })
                    .collect();
                (
                    d.name.text.as_str().to_owned(),
                    symbol_kind(d.kind),
                    d.kind.keyword(),
                    d.span,
                    d.name.span,
                    Some(children),
                )
            }
            Item::Const(c) => (
                c.name.text.as_str().to_owned(),
                lsp::SymbolKind::CONSTANT,
                "const",
                c.span,
                c.name.span,
                None,
            ),
            Item::Template(t) => (
                t.name.text.as_str().to_owned(),
                lsp::SymbolKind::FUNCTION,
                "template",
                t.span,
                t.name.span,
                None,
            ),
            _ => continue,
        };
        let end = text[..span.end as usize]
            .trim_end()
            .len()
            .max(name_span.end as usize);
        out.push(lsp::DocumentSymbol {
            name,
            detail: Some(detail.to_string()),
            kind,
            tags: None,
            deprecated: None,
            range: lines.range(span.start as usize, end),
            selection_range: lines.range(name_span.start as usize, name_span.end as usize),
            children,
        });
    }
    Some(lsp::DocumentSymbolResponse::Nested(out))
}

fn symbol_kind(k: DeclKind) -> lsp::SymbolKind {
    match k {
        DeclKind::Host => lsp::SymbolKind::MODULE,
        DeclKind::Cluster => lsp::SymbolKind::STRUCT,
        DeclKind::Service => lsp::SymbolKind::CLASS,
        DeclKind::Network => lsp::SymbolKind::INTERFACE,
        DeclKind::Volume => lsp::SymbolKind::PACKAGE,
        DeclKind::Monitor => lsp::SymbolKind::EVENT,
        DeclKind::Receiver => lsp::SymbolKind::FUNCTION,
        DeclKind::Alert => lsp::SymbolKind::OPERATOR,
        DeclKind::Config => lsp::SymbolKind::FILE,
        DeclKind::Domain => lsp::SymbolKind::NAMESPACE,
        DeclKind::Secret => lsp::SymbolKind::KEY,
        DeclKind::Variable => lsp::SymbolKind::VARIABLE,
    }
}

#[allow(deprecated)] // `SymbolInformation::deprecated`, a required field of the type
pub fn workspace_symbols(s: &mut Server<'_>, query: &str) -> Option<lsp::WorkspaceSymbolResponse> {
    let q = query.to_lowercase();
    let encoding = s.encoding;
    let roots: Vec<PathBuf> = s.projects.keys().cloned().collect();
    let mut out = Vec::new();
    for root in roots {
        let Some(uri) = s
            .docs
            .keys()
            .find(|p| p.starts_with(&root))
            .and_then(|p| path_to_uri(p))
        else {
            continue;
        };
        let Some((_, ps)) = s.analysed(&uri) else {
            continue;
        };
        let Some(c) = &ps.analysis else {
            continue;
        };
        for sym in &c.symbols.list {
            let f = c.sources.get(sym.file);
            if f.is_stdlib || !sym.name.to_lowercase().contains(&q) {
                continue;
            }
            let Some(uri) = path_to_uri(&root.join(&f.name)) else {
                continue;
            };
            let lines = Lines::new(&f.text, encoding);
            out.push(lsp::SymbolInformation {
                name: sym.name.clone(),
                kind: match sym.kind {
                    SymKind::Decl(k) => symbol_kind(k),
                    SymKind::Const => lsp::SymbolKind::CONSTANT,
                    SymKind::Template => lsp::SymbolKind::FUNCTION,
                },
                tags: None,
                deprecated: None,
                location: lsp::Location {
                    uri,
                    range: lines.range(sym.name_span.start as usize, sym.name_span.end as usize),
                },
                container_name: Some(sym.kind_name().to_string()),
            });
        }
    }
    Some(lsp::WorkspaceSymbolResponse::Flat(out))
}

/// "give `svc` `networks = [a, b]`" (E0311's help): that field set in the service's
/// declaration, wherever it is — replaced if it has one, added if not.
fn network_action(
    s: &mut Server<'_>,
    uri: &Uri,
    help: &str,
    d: &lsp::Diagnostic,
) -> Option<lsp::CodeActionOrCommand> {
    let rest = help.split("give `").nth(1)?;
    let (service, rest) = rest.split_once("` `networks = [")?;
    let list = rest.split(']').next()?;
    let encoding = s.encoding;
    let (_, ps) = s.analysed(uri)?;
    let c = ps.analysis.as_ref()?;
    let sym = &c.symbols.list[c.symbols.lookup(service)?];
    let file = c.sources.get(sym.file);
    if file.is_stdlib {
        return None;
    }
    let target = path_to_uri(&ps.project.root.join(&file.name))?;
    let (parsed, _) = sparkc_core::syntax::parse(sym.file, &file.text);
    let Some(Item::Decl(decl)) = parsed.items.get(sym.item) else {
        return None;
    };
    let lines = Lines::new(&file.text, encoding);
    let value = format!("[{list}]");
    let edit = if let Some(f) = decl.body.iter().find(|f| f.key.text == "networks") {
        lsp::TextEdit {
            range: lines.range(f.value.span.start as usize, f.value.span.end as usize),
            new_text: value,
        }
    } else if file.text[decl.span.range()].trim_end().ends_with('}') {
        // Into the body, after its `{`.
        let open = file.text[decl.span.range()]
            .find('{')
            .map_or(decl.span.end as usize, |n| decl.span.start as usize + n + 1);
        lsp::TextEdit {
            range: lines.range(open, open),
            new_text: format!("\n  networks = {value}"),
        }
    } else {
        let end = decl.span.start as usize + file.text[decl.span.range()].trim_end().len();
        lsp::TextEdit {
            range: lines.range(end, end),
            new_text: format!(" {{\n  networks = {value}\n}}"),
        }
    };
    Some(quick_fix(
        format!("Put `{service}` on `{list}`"),
        target,
        edit,
        d,
    ))
}

/// A preferred quick fix for `d`: one edit in one file.
fn quick_fix(
    title: String,
    uri: Uri,
    edit: lsp::TextEdit,
    d: &lsp::Diagnostic,
) -> lsp::CodeActionOrCommand {
    #[allow(clippy::mutable_key_type)] // the protocol's own map type; a `Uri` is not mutated
    let changes = HashMap::from([(uri, vec![edit])]);
    lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
        title,
        kind: Some(lsp::CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.clone()]),
        edit: Some(lsp::WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        }),
        is_preferred: Some(true),
        ..Default::default()
    })
}

/// The edit that imports `name` from the stdlib module `parent` into `text`: into its
/// `import parent.{...}` if it has one, else on a new line above the first declaration.
fn import_edit(
    text: &str,
    encoding: super::convert::Encoding,
    parent: &str,
    name: &str,
) -> lsp::TextEdit {
    let lines = Lines::new(text, encoding);
    let (file, _) = sparkc_core::syntax::parse(FileId(0), text);
    let existing = file.items.iter().find_map(|i| match i {
        Item::Import(ast::Import {
            target: ast::ImportTarget::Std { module: m, names },
            ..
        }) if m.text == parent && !names.is_empty() => names.last().map(|n| n.span.end),
        _ => None,
    });
    if let Some(after) = existing {
        lsp::TextEdit {
            range: lines.range(after as usize, after as usize),
            new_text: format!(", {name}"),
        }
    } else {
        let at = file
            .items
            .iter()
            .find(|i| !matches!(i, Item::Import(_)))
            .map_or(0, |i| i.span().start) as usize;
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        lsp::TextEdit {
            range: lines.range(line_start, line_start),
            new_text: format!("import {parent}.{{{name}}}\n"),
        }
    }
}

/// "Add `import std.apps.{x}`": into the file's `import std.apps.{...}` if it has one, else
/// a new line above the first declaration.
fn import_action(
    s: &Server<'_>,
    uri: &Uri,
    module: &str,
    d: &lsp::Diagnostic,
) -> lsp::CodeActionOrCommand {
    let text = super::convert::uri_to_path(uri)
        .and_then(|p| s.docs.get(&p).map(|d| d.text.clone()))
        .unwrap_or_default();
    let (parent, name) = module.rsplit_once('.').unwrap_or(("std.apps", module));
    let edit = import_edit(&text, s.encoding, parent, name);
    quick_fix(
        format!("Import `{name}` from `{parent}`"),
        uri.clone(),
        edit,
        d,
    )
}

/// Quick fixes from the diagnostics' help: "did you mean `x`?" replaces the word; "imported
/// first: `import std.apps.x`" adds the import.
pub fn code_actions(
    s: &mut Server<'_>,
    p: &lsp::CodeActionParams,
) -> Option<lsp::CodeActionResponse> {
    let mut out = Vec::new();
    for d in &p.context.diagnostics {
        let Some(serde_json::Value::String(help)) = &d.data else {
            continue;
        };
        if let Some(action) = network_action(s, &p.text_document.uri, help, d) {
            out.push(action);
            continue;
        }
        if let Some(module) = help
            .split("imported first: `import ")
            .nth(1)
            .and_then(|r| r.split('`').next())
        {
            out.push(import_action(s, &p.text_document.uri, module, d));
            continue;
        }
        let Some(rest) = help.split("did you mean `").nth(1) else {
            continue;
        };
        let Some(fix) = rest.split('`').next() else {
            continue;
        };
        out.push(quick_fix(
            format!("Change to `{fix}`"),
            p.text_document.uri.clone(),
            lsp::TextEdit {
                range: d.range,
                new_text: fix.to_string(),
            },
            d,
        ));
    }
    Some(out)
}

// ---- semantic tokens and inlay hints -----------------------------------------------

/// The token types the server reports, in the legend's order.
pub const TOKEN_TYPES: &[lsp::SemanticTokenType] = &[
    lsp::SemanticTokenType::KEYWORD,
    lsp::SemanticTokenType::COMMENT,
    lsp::SemanticTokenType::STRING,
    lsp::SemanticTokenType::NUMBER,
    lsp::SemanticTokenType::PROPERTY,
    lsp::SemanticTokenType::NAMESPACE,
    lsp::SemanticTokenType::CLASS,
    lsp::SemanticTokenType::VARIABLE,
    lsp::SemanticTokenType::FUNCTION,
    lsp::SemanticTokenType::ENUM_MEMBER,
    lsp::SemanticTokenType::TYPE,
];
/// The modifiers, in the legend's order.
pub const TOKEN_MODIFIERS: &[lsp::SemanticTokenModifier] = &[
    lsp::SemanticTokenModifier::DECLARATION,
    lsp::SemanticTokenModifier::READONLY,
    lsp::SemanticTokenModifier::DEFAULT_LIBRARY,
];

#[derive(Clone, Copy)]
enum Tok {
    Keyword = 0,
    Comment,
    Str,
    Number,
    Property,
    Namespace,
    Class,
    Variable,
    Function,
    EnumMember,
    Type,
}

const DECLARATION: u32 = 1;
const READONLY: u32 = 2;
const DEFAULT_LIBRARY: u32 = 4;

fn token_of_kind(kind: SymKind) -> (Tok, u32) {
    match kind {
        SymKind::Const | SymKind::Decl(DeclKind::Secret | DeclKind::Variable) => {
            (Tok::Variable, READONLY)
        }
        SymKind::Template => (Tok::Function, 0),
        SymKind::Decl(DeclKind::Host | DeclKind::Domain) => (Tok::Namespace, 0),
        SymKind::Decl(DeclKind::Service) => (Tok::Class, 0),
        SymKind::Decl(_) => (Tok::Variable, 0),
    }
}

/// Every token of a document worth colouring: keywords, comments, literals, field keys, and
/// each name by what it names (from the last check, where the file is part of it).
pub fn semantic_tokens(s: &mut Server<'_>, uri: &Uri) -> Option<lsp::SemanticTokensResult> {
    let path = super::convert::uri_to_path(uri)?;
    let encoding = s.encoding;
    let text = buffer(s, &path)?;
    let mut toks: Vec<(usize, usize, Tok, u32)> = Vec::new();
    // Names by what they refer to, from the check (when the buffer is what was checked).
    let mut named: HashMap<(usize, usize), (Tok, u32)> = HashMap::new();
    if let Some((_, ps)) = s.analysed(uri)
        && let Some(c) = &ps.analysis
        && let Some(rel) = ps.relative(&path)
        && let Some(file) = c.sources.find(&rel)
        && c.sources.get(file).text == text
    {
        for r in c.references.iter().filter(|r| r.file == file) {
            let sym = &c.symbols.list[r.symbol];
            let (t, mut m) = token_of_kind(sym.kind);
            if c.sources.get(sym.file).is_stdlib {
                m |= DEFAULT_LIBRARY;
            }
            named.insert((r.span.start as usize, r.span.end as usize), (t, m));
        }
    }
    let (file, _) = sparkc_core::syntax::parse(FileId(0), &text);
    for t in &file.trivia {
        if t.kind != ast::TriviaKind::BlankLine {
            toks.push((t.span.start as usize, t.span.end as usize, Tok::Comment, 0));
        }
    }
    let mut v = TokenWalk {
        text: &text,
        toks: &mut toks,
        named: &named,
    };
    for item in &file.items {
        v.item(item);
    }
    toks.sort_by_key(|t| (t.0, t.1));
    toks.dedup_by(|b, a| b.0 < a.1); // overlapping: the first (outermost) stays
    let lines = Lines::new(&text, encoding);
    let mut data = Vec::new();
    let (mut last_line, mut last_col) = (0u32, 0u32);
    for (start, end, tok, mods) in toks {
        // One token per line (clients need not support multi-line tokens).
        let mut from = start;
        while from < end {
            let line_end = text[from..end].find('\n').map_or(end, |n| from + n);
            let (a, b) = (lines.position(from), lines.position(line_end));
            if b.character > a.character {
                let delta_line = a.line - last_line;
                let delta_start = if delta_line == 0 {
                    a.character - last_col
                } else {
                    a.character
                };
                data.push(lsp::SemanticToken {
                    delta_line,
                    delta_start,
                    length: b.character - a.character,
                    token_type: tok as u32,
                    token_modifiers_bitset: mods,
                });
                (last_line, last_col) = (a.line, a.character);
            }
            from = line_end + 1;
        }
    }
    Some(lsp::SemanticTokensResult::Tokens(lsp::SemanticTokens {
        result_id: None,
        data,
    }))
}

struct TokenWalk<'a> {
    text: &'a str,
    toks: &'a mut Vec<(usize, usize, Tok, u32)>,
    named: &'a HashMap<(usize, usize), (Tok, u32)>,
}

impl TokenWalk<'_> {
    fn push(&mut self, span: Span, tok: Tok, mods: u32) {
        self.toks
            .push((span.start as usize, span.end as usize, tok, mods));
    }
    /// The keyword at the start of an item.
    fn keyword_at(&mut self, start: u32) {
        let rest = &self.text[start as usize..];
        let n = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        self.push(
            Span::new(start as usize, start as usize + n),
            Tok::Keyword,
            0,
        );
    }
    fn name(&mut self, n: &ast::Name, fallback: (Tok, u32)) {
        let key = (n.span.start as usize, n.span.end as usize);
        let (t, m) = self.named.get(&key).copied().unwrap_or(fallback);
        self.push(n.span, t, m);
    }
    fn item(&mut self, item: &Item) {
        match item {
            Item::Import(i) => {
                self.keyword_at(i.span.start);
                if let ast::ImportTarget::Std { module, names } = &i.target {
                    self.push(module.span, Tok::Namespace, DEFAULT_LIBRARY);
                    for n in names {
                        self.push(n.span, Tok::Function, DEFAULT_LIBRARY);
                    }
                } else if let ast::ImportTarget::File { span, .. } = &i.target {
                    self.push(*span, Tok::Str, 0);
                }
            }
            Item::Const(c) => {
                self.keyword_at(c.span.start);
                self.push(c.name.span, Tok::Variable, DECLARATION | READONLY);
                self.expr(&c.value);
            }
            Item::Template(t) => {
                self.keyword_at(t.span.start);
                self.push(t.name.span, Tok::Function, DECLARATION);
                for p in &t.params {
                    self.push(p.name.span, Tok::Variable, DECLARATION);
                    self.push(p.ty.span(), Tok::Type, 0);
                    if let Some(d) = &p.default {
                        self.expr(d);
                    }
                }
                self.push(t.kind.span, Tok::Keyword, 0);
                if let Some(b) = &t.base {
                    self.name(&b.template, (Tok::Function, 0));
                    self.args(&b.args);
                }
                self.fields(&t.body);
            }
            Item::Decl(d) => {
                self.keyword_at(d.span.start);
                let (t, m) = token_of_kind(SymKind::Decl(d.kind));
                self.push(d.name.span, t, m | DECLARATION);
                if let Some(h) = &d.placement {
                    self.name(h, (Tok::Namespace, 0));
                }
                if let Some(i) = &d.instance {
                    self.name(&i.template, (Tok::Function, 0));
                    self.args(&i.args);
                }
                if let Some(r) = &d.route {
                    self.expr(r);
                }
                if let Some((kind, _, span)) = &d.source {
                    self.push(kind.span, Tok::EnumMember, 0);
                    let quote = self.text[kind.span.end as usize..span.end as usize]
                        .find('"')
                        .map_or(span.end as usize, |n| kind.span.end as usize + n);
                    self.push(Span::new(quote, span.end as usize), Tok::Str, 0);
                }
                self.fields(&d.body);
            }
            Item::Error(_) => {}
        }
    }
    fn args(&mut self, args: &[ast::Arg]) {
        for a in args {
            if let Some(n) = &a.name {
                self.push(n.span, Tok::Property, 0);
            }
            self.expr(&a.value);
        }
    }
    fn fields(&mut self, fields: &[ast::Field]) {
        for f in fields {
            self.push(f.key.span, Tok::Property, 0);
            self.expr(&f.value);
        }
    }
    fn expr(&mut self, e: &ast::Expr) {
        use ast::ExprKind as K;
        match &e.kind {
            K::Str(parts) => {
                // The string's pieces around its interpolations.
                let mut at = e.span.start as usize;
                for p in parts {
                    if let ast::StrPart::Interp(x) = p {
                        let open = self.text[at..x.span.start as usize]
                            .rfind("${")
                            .map_or(x.span.start as usize, |n| at + n);
                        self.push(Span::new(at, open), Tok::Str, 0);
                        self.expr(x);
                        at = self.text[x.span.end as usize..e.span.end as usize]
                            .find('}')
                            .map_or(x.span.end as usize, |n| x.span.end as usize + n + 1);
                    }
                }
                self.push(Span::new(at, e.span.end as usize), Tok::Str, 0);
            }
            K::Int(_)
            | K::Float(_)
            | K::Size(_)
            | K::Duration(_)
            | K::Port(..)
            | K::PortRange(..)
            | K::Ip(_)
            | K::IpPort(..)
            | K::Cidr(..) => self.push(e.span, Tok::Number, 0),
            K::Bool(_) => self.push(e.span, Tok::Keyword, 0),
            K::List(items) => items.iter().for_each(|x| self.expr(x)),
            K::Record(fields) => self.fields(fields),
            K::Call(name, args) => {
                self.name(name, (Tok::Function, DEFAULT_LIBRARY));
                self.args(args);
            }
            K::Path(names) => {
                let mut first = true;
                for n in names {
                    if first {
                        self.name(n, (Tok::EnumMember, 0));
                        first = false;
                    } else {
                        self.push(n.span, Tok::Property, 0);
                    }
                }
            }
            K::Pair(a, b) => {
                self.expr(a);
                self.expr(b);
            }
            K::Error => {}
        }
    }
}

/// Inlay hints in `range`: after a template call, the parameters it leaves at their
/// defaults (`version = "8.4"`); after `svc.port.name`, the port's number.
pub fn inlay_hints(
    s: &mut Server<'_>,
    uri: &Uri,
    range: lsp::Range,
) -> Option<Vec<lsp::InlayHint>> {
    let encoding = s.encoding;
    let path = super::convert::uri_to_path(uri)?;
    let (_, ps) = s.analysed(uri)?;
    let c = ps.analysis.as_ref()?;
    let rel = ps.relative(&path)?;
    let file = c.sources.find(&rel)?;
    let text = &c.sources.get(file).text;
    let lines = Lines::new(text, encoding);
    let (from, to) = (lines.offset(range.start), lines.offset(range.end));
    let (parsed, _) = sparkc_core::syntax::parse(file, text);
    let mut hints = Vec::new();
    for item in &parsed.items {
        let instance = match item {
            Item::Decl(d) => d.instance.as_ref(),
            Item::Template(t) => t.base.as_ref(),
            _ => continue,
        };
        let span = item.span();
        if (span.end as usize) < from || (span.start as usize) > to {
            continue;
        }
        if let Some(i) = instance
            && let Some(t) = c.symbols.lookup_template(&i.template.text)
            && let Some((Item::Template(tpl), tpl_text)) = item_of(c, t)
        {
            let given: Vec<&str> = i
                .args
                .iter()
                .filter_map(|a| a.name.as_ref().map(|n| n.text.as_str()))
                .collect();
            let positional = i.args.iter().filter(|a| a.name.is_none()).count();
            let defaults: Vec<String> = tpl
                .params
                .iter()
                .skip(positional)
                .filter(|p| !given.contains(&p.name.text.as_str()))
                .filter_map(|p| {
                    let d = p.default.as_ref()?;
                    Some(format!("{} = {}", p.name.text, &tpl_text[d.span.range()]))
                })
                .collect();
            if !defaults.is_empty() {
                let close = i.span.end as usize - 1;
                hints.push(lsp::InlayHint {
                    position: lines.position(close),
                    label: lsp::InlayHintLabel::String(if i.args.is_empty() {
                        defaults.join(", ")
                    } else {
                        format!(", {}", defaults.join(", "))
                    }),
                    kind: Some(lsp::InlayHintKind::PARAMETER),
                    text_edits: None,
                    tooltip: Some(lsp::InlayHintTooltip::String(format!(
                        "the defaults of `{}` this call keeps",
                        tpl.name.text
                    ))),
                    padding_left: None,
                    padding_right: None,
                    data: None,
                });
            }
        }
        let mut exprs = Vec::new();
        local::exprs(item, &mut exprs);
        for e in exprs {
            let Some((svc, port)) = local::port_ref(e) else {
                continue;
            };
            if let Some(p) = c
                .model
                .services
                .iter()
                .find(|x| x.name == svc.text)
                .and_then(|x| x.port(&port.text))
            {
                hints.push(lsp::InlayHint {
                    position: lines.position(e.span.end as usize),
                    label: lsp::InlayHintLabel::String(format!(": {}", p.port)),
                    kind: Some(lsp::InlayHintKind::TYPE),
                    text_edits: None,
                    tooltip: None,
                    padding_left: None,
                    padding_right: None,
                    data: None,
                });
            }
        }
    }
    hints.sort_by_key(|h| (h.position.line, h.position.character));
    Some(hints)
}

#[cfg(test)]
mod tests {
    use super::routes_file_blocks;

    #[test]
    fn a_routes_file_preview_holds_the_routes_entries_only() {
        let text = "http:\n  routers:\n    pve-example-org:\n      rule: \"Host(`pve.example.org`)\"\n      middlewares:\n      - pve-example-org-allow\n    pve-example-org2:\n      rule: other\n    nas-example-org:\n      rule: \"Host(`nas.example.org`)\"\n  middlewares:\n    pve-example-org-allow:\n      ipAllowList: {}\n  services:\n    pve-example-org:\n      loadBalancer: {}\n";
        let got = routes_file_blocks(text, "pve-example-org");
        assert_eq!(
            got,
            "# routers:\n    pve-example-org:\n      rule: \"Host(`pve.example.org`)\"\n      middlewares:\n      - pve-example-org-allow\n# middlewares:\n    pve-example-org-allow:\n      ipAllowList: {}\n# services:\n    pve-example-org:\n      loadBalancer: {}\n"
        );
    }
}
