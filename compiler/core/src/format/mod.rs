//! `sparkc fmt`: one canonical layout for a source file, built from the syntax tree and its
//! trivia (every comment and blank line the parser kept).
//!
//! The layout: two spaces of indentation, one item per line with the author's blank lines
//! kept (runs of them become one), `name = value` with single spaces, lists, argument and
//! parameter lists on one line when they fit in 100 columns and otherwise one element per
//! line with a trailing comma. A body or record stays on one line only if its author wrote it
//! on one line and it fits — the one choice left to the author, as
//! prettier does for objects: `reserve { memory = 1GiB }` reads better inline, a host's
//! seven fields do not. Every literal is printed exactly as written (a `"""` string, a size,
//! an address), so formatting cannot change a value.
//!
//! Comments keep their order: a comment on its own line stays on its own line before what
//! followed it, a comment after code on the same line stays at the end of that line. A
//! declaration that does not parse is printed exactly as written.
//!
//! Formatting never changes meaning: [`format()`] parses what it printed and compares it with
//! the original — the same tree (spans aside), the same comments in the same order, the same
//! syntax errors — and refuses ([`Refused`]) rather than return anything else.

mod doc;

use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::ast::*;
use crate::syntax::parse;
use doc::Doc;

/// Why [`format()`] returned no text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The file is nested too deeply to parse (its diagnostic says where).
    Unparsable,
    /// The formatted text would not mean what the original means: a formatter bug, reported
    /// instead of acted on. The string says what differed.
    WouldChangeMeaning(String),
}

/// The formatted text of `text`, and the syntax errors of the original (their declarations
/// are printed as written). `Err` when formatting could not be done safely.
pub fn format(text: &str) -> Result<(String, Vec<Diagnostic>), Refused> {
    if crate::syntax::parser::too_deep(text).is_some() {
        return Err(Refused::Unparsable);
    }
    let (file, diags) = parse(FileId(0), text);
    let syntax: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| d.code == Code::Syntax)
        .collect();
    let out = print_file(text, &file);
    verify(text, &file, &syntax, &out)?;
    Ok((out, syntax))
}

/// The formatted text of a parsed file (not verified: see [`format()`]).
fn print_file(text: &str, file: &File) -> String {
    let mut f = Fmt {
        text,
        trivia: &file.trivia,
        next: 0,
        last_end: 0,
    };
    let doc = f.items(&file.items);
    // A byte order mark at the start stays (some editors want it); any other is dropped.
    let mut out = if text.starts_with('\u{FEFF}') {
        "\u{FEFF}".to_string()
    } else {
        String::new()
    };
    out.push_str(&doc::print(&doc));
    // A broken declaration running to the end of the file (an unclosed string, say) keeps
    // its last bytes: a newline added there would be part of it.
    let ends_broken = matches!(file.items.last(), Some(Item::Error(e)) if e.span.end as usize == text.len())
        && f.next >= file.trivia.len();
    if ends_broken {
        return out;
    }
    let kept = out.trim_end_matches(' ').len();
    out.truncate(kept);
    if !out.trim_start_matches('\u{FEFF}').is_empty() {
        out.push('\n');
    }
    out
}

/// The formatted text must parse to the same tree, keep the same comments and report the
/// same syntax errors.
fn verify(text: &str, file: &File, syntax: &[Diagnostic], out: &str) -> Result<(), Refused> {
    let (again, diags) = parse(FileId(0), out);
    let messages = |ds: &mut dyn Iterator<Item = &Diagnostic>| -> Vec<String> {
        ds.filter(|d| d.code == Code::Syntax)
            .map(|d| d.message.clone())
            .collect()
    };
    let (before, after) = (messages(&mut syntax.iter()), messages(&mut diags.iter()));
    if before != after {
        return Err(Refused::WouldChangeMeaning(format!(
            "the syntax errors would change: {before:?} / {after:?}"
        )));
    }
    let comments = |t: &str, f: &File| -> Vec<String> {
        f.trivia
            .iter()
            .filter(|t| t.kind != TriviaKind::BlankLine)
            .map(|c| t[c.span.range()].trim_end().to_string())
            .collect()
    };
    let (before, after) = (comments(text, file), comments(out, &again));
    // Comments inside a declaration that does not parse are part of its text, which is
    // printed as written; the parser may not have listed them.
    if before != after && file.items.iter().all(|i| !matches!(i, Item::Error(_))) {
        return Err(Refused::WouldChangeMeaning(
            "the comments would change".to_string(),
        ));
    }
    if file.items.len() != again.items.len() {
        return Err(Refused::WouldChangeMeaning(format!(
            "{} items before, {} after",
            file.items.len(),
            again.items.len()
        )));
    }
    for (a, b) in file.items.iter().zip(&again.items) {
        let (a, b) = (
            without_spans(&format!("{a:?}")),
            without_spans(&format!("{b:?}")),
        );
        if a != b {
            let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
            let from = at.saturating_sub(60);
            return Err(Refused::WouldChangeMeaning(format!(
                "the trees differ at ...{}",
                a.get(from..(at + 20).min(a.len())).unwrap_or_default()
            )));
        }
    }
    Ok(())
}

/// A tree's debug text without its spans (`Span { start: 1, end: 2 }`).
fn without_spans(s: &str) -> String {
    const OPEN: &str = "Span { start: ";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(OPEN) {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let close = rest.find('}').map_or(rest.len(), |n| n + 1);
        rest = &rest[close..];
    }
    out.push_str(rest);
    out
}

/// How a sequence of elements is laid out between its brackets.
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `[a, b]` / `(a, b)`: flat when it fits, else one per line with a trailing comma.
    Commas,
    /// `[a, b]` flat when it fits, else as many per line as fit, with a trailing comma.
    Filled,
    /// `{ a = 1, b = 2 }`: flat when written flat and it fits, else one per line, no commas.
    Fields { flat: bool },
    /// The items of a file: one per line.
    Items,
}

struct Fmt<'t> {
    text: &'t str,
    trivia: &'t [Trivia],
    /// The first trivia not printed yet.
    next: usize,
    /// Where the last printed thing (token, element or comment) ends.
    last_end: u32,
}

/// The comments and blank lines before an element.
struct Leading {
    /// A blank line between the previous element and the first thing here.
    blank_before: bool,
    /// Each comment, and whether a blank line follows it.
    comments: Vec<(String, bool)>,
}

/// Whether `gap` (text between two printed things) holds a line with nothing on it.
fn has_blank_line(gap: &str) -> bool {
    let mut lines = gap.split('\n');
    lines.next();
    let mut inner: Vec<&str> = lines.collect();
    inner.pop();
    inner.iter().any(|l| l.trim().is_empty())
}

impl<'t> Fmt<'t> {
    fn src(&self, span: Span) -> &'t str {
        &self.text[span.range()]
    }

    /// Where the first token at or after `pos` starts (comments and whitespace skipped).
    fn token_after(&self, pos: u32) -> u32 {
        let pos = pos as usize;
        crate::syntax::first_token(&self.text[pos..]).map_or(self.text.len(), |n| pos + n) as u32
    }

    fn gap_is_blank(&self, from: u32, to: u32) -> bool {
        from < to && has_blank_line(&self.text[from as usize..to as usize])
    }

    /// The comments before `pos` not printed yet, and the blank lines between them.
    fn leading(&mut self, pos: u32) -> Leading {
        let mut l = Leading {
            blank_before: false,
            comments: Vec::new(),
        };
        while let Some(t) = self.trivia.get(self.next) {
            if t.span.start >= pos {
                break;
            }
            self.next += 1;
            if t.kind == TriviaKind::BlankLine {
                continue;
            }
            let blank = self.gap_is_blank(self.last_end, t.span.start);
            match l.comments.last_mut() {
                Some(last) => last.1 = blank,
                None => l.blank_before = blank,
            }
            l.comments
                .push((self.src(t.span).trim_end().to_string(), false));
            self.last_end = self.last_end.max(t.span.end);
        }
        let blank = self.gap_is_blank(self.last_end, pos);
        match l.comments.last_mut() {
            Some(last) => last.1 = blank,
            None => l.blank_before = blank,
        }
        l
    }

    /// The comments left inside an element that ended at `end` and those after it on the
    /// same line, as line suffixes.
    fn trailing(&mut self, end: u32) -> Vec<Doc> {
        let mut out = Vec::new();
        let mut after = end as usize;
        while let Some(t) = self.trivia.get(self.next) {
            let start = t.span.start as usize;
            let same_line = start >= after && !self.text[after..start].contains('\n');
            if start >= end as usize && !same_line {
                break;
            }
            self.next += 1;
            if t.kind != TriviaKind::BlankLine {
                out.push(Doc::LineSuffix(format!(" {}", self.src(t.span).trim_end())));
                after = after.max(t.span.end as usize);
            }
        }
        self.last_end = self.last_end.max(after as u32);
        out
    }

    fn has_comments(&self, from: u32, to: u32) -> bool {
        self.trivia[self.next..]
            .iter()
            .take_while(|t| t.span.start < to)
            .any(|t| t.span.start > from && t.kind != TriviaKind::BlankLine)
    }

    /// Skips the trivia inside a span printed as written.
    fn skip_trivia_before(&mut self, end: u32) {
        while self
            .trivia
            .get(self.next)
            .is_some_and(|t| t.span.start < end)
        {
            self.next += 1;
        }
    }

    /// A sequence of elements between the opening bracket at `open` (none for a file's
    /// items) and the closing one at `close`, with their comments.
    fn elements<T>(
        &mut self,
        elems: &[T],
        extent: impl Fn(&Self, &T) -> Span,
        doc_of: impl FnMut(&mut Self, &T) -> Doc,
        open: Option<u32>,
        close: u32,
        layout: Layout,
    ) -> Doc {
        self.elements_glued(elems, extent, doc_of, |_, _| false, open, close, layout)
    }

    /// [`Self::elements`], where `glued` says which elements must stay on the line of the one
    /// before, as written (a broken item that starts right after the previous one: a line
    /// break there would change how it reads).
    #[allow(clippy::too_many_arguments)]
    fn elements_glued<T>(
        &mut self,
        elems: &[T],
        extent: impl Fn(&Self, &T) -> Span,
        mut doc_of: impl FnMut(&mut Self, &T) -> Doc,
        glued: impl Fn(&Self, &T) -> bool,
        open: Option<u32>,
        close: u32,
        layout: Layout,
    ) -> Doc {
        let (first_break, between, last_break) = match layout {
            Layout::Commas => (Doc::SoftLine, Doc::Line, Doc::SoftLine),
            Layout::Filled => (Doc::SoftLine, Doc::FillLine, Doc::SoftLine),
            Layout::Fields { flat: true } => (Doc::Line, Doc::Line, Doc::Line),
            Layout::Fields { flat: false } => (Doc::HardLine, Doc::HardLine, Doc::HardLine),
            Layout::Items => (Doc::Concat(vec![]), Doc::HardLine, Doc::Concat(vec![])),
        };
        let mut parts = Vec::new();
        if let Some(open) = open {
            self.last_end = open + 1;
            parts.extend(self.trailing(open + 1));
        }
        for (i, e) in elems.iter().enumerate() {
            let span = extent(self, e);
            if i > 0 && glued(self, e) {
                parts.push(Doc::text(
                    &self.text[self.last_end as usize..span.start as usize],
                ));
                self.skip_trivia_before(span.start);
                parts.push(doc_of(self, e));
                self.last_end = self.last_end.max(span.end);
                if elems.get(i + 1).is_none_or(|n| !glued(self, n)) {
                    parts.extend(self.trailing(span.end));
                }
                continue;
            }
            let lead = self.leading(span.start);
            if i == 0 {
                parts.push(first_break.clone());
            } else if lead.blank_before {
                parts.push(Doc::BlankLine);
            } else {
                parts.push(between.clone());
            }
            for (c, blank_after) in lead.comments {
                parts.push(Doc::Text(c));
                parts.push(if blank_after {
                    Doc::BlankLine
                } else {
                    Doc::HardLine
                });
            }
            parts.push(doc_of(self, e));
            self.last_end = self.last_end.max(span.end);
            let last = i + 1 == elems.len();
            match layout {
                Layout::Commas | Layout::Filled if last => parts.push(Doc::IfBroken(",")),
                Layout::Commas | Layout::Filled => parts.push(Doc::text(",")),
                Layout::Fields { .. } if !last => parts.push(Doc::IfFlat(",")),
                _ => {}
            }
            if elems.get(i + 1).is_none_or(|n| !glued(self, n)) {
                parts.extend(self.trailing(span.end));
            }
        }
        // Comments after the last element, before the closing bracket.
        let dangling = self.leading(close);
        let had_elements = !elems.is_empty();
        for (n, (c, _)) in dangling.comments.into_iter().enumerate() {
            // A file of nothing but comments starts with its first one.
            if n > 0 || had_elements || layout != Layout::Items {
                parts.push(Doc::HardLine);
            }
            parts.push(Doc::Text(c));
        }
        self.last_end = self.last_end.max(close);
        if parts.is_empty() {
            return Doc::Concat(vec![]);
        }
        let inner = Doc::Concat(parts);
        if layout == Layout::Items {
            return inner;
        }
        Doc::Concat(vec![Doc::nest(inner), last_break])
    }

    fn items(&mut self, items: &[Item]) -> Doc {
        let end = self.text.len() as u32;
        self.elements_glued(
            items,
            Self::item_extent,
            Self::item,
            Self::glued,
            None,
            end,
            Layout::Items,
        )
    }

    /// A broken item that starts on the line the previous item ends on.
    fn glued(&self, item: &Item) -> bool {
        matches!(item, Item::Error(e)
            if !self.text[self.last_end.min(e.span.start) as usize..e.span.start as usize].contains('\n'))
    }

    /// Where an item's first token starts and its last ends (item spans may run on over the
    /// whitespace after them).
    fn item_extent(&self, item: &Item) -> Span {
        let (start, end) = match item {
            Item::Import(i) => (i.span.start, self.import_end(i)),
            Item::Const(c) => (c.span.start, c.value.span.end),
            Item::Template(t) => (
                t.span.start,
                self.template_body(t).map_or_else(
                    || t.base.as_ref().map_or(t.span.end, |b| b.span.end),
                    |(_, close)| close + 1,
                ),
            ),
            Item::Decl(d) => (
                d.span.start,
                self.decl_body(d)
                    .map_or_else(|| self.decl_header_end(d), |(_, close)| close + 1),
            ),
            Item::Error(e) if e.span.end as usize == self.text.len() => (e.span.start, e.span.end),
            Item::Error(e) => (
                e.span.start,
                e.span.start + self.src(e.span).trim_end().len() as u32,
            ),
        };
        Span { start, end }
    }

    fn import_end(&self, i: &Import) -> u32 {
        match &i.target {
            ImportTarget::File { span, .. } => span.end,
            ImportTarget::Std { module, names } => match names.last() {
                None => module.span.end,
                Some(last) => {
                    let mut at = self.token_after(last.span.end);
                    if self.text.as_bytes().get(at as usize) == Some(&b',') {
                        at = self.token_after(at + 1);
                    }
                    at + 1
                }
            },
        }
    }

    fn decl_header_end(&self, d: &Decl) -> u32 {
        let mut end = d.name.span.end;
        if let Some(p) = &d.placement {
            end = end.max(p.span.end);
        }
        if let Some(i) = &d.instance {
            end = end.max(i.span.end);
        }
        if let Some(r) = &d.route {
            end = end.max(r.span.end);
        }
        if let Some((_, _, s)) = &d.source {
            end = end.max(s.end);
        }
        if let Some(e) = &d.default {
            end = end.max(e.span.end);
        }
        end
    }

    /// The `{` and `}` of a declaration's body, when it has one.
    fn decl_body(&self, d: &Decl) -> Option<(u32, u32)> {
        self.body_after(self.decl_header_end(d), d.span)
    }

    fn template_body(&self, t: &TemplateDecl) -> Option<(u32, u32)> {
        let header_end = t.base.as_ref().map_or(t.kind.span.end, |b| b.span.end);
        self.body_after(header_end, t.span)
    }

    /// A body is there when the first token after the header is `{`; the parser then ends
    /// the item's span at its `}`.
    fn body_after(&self, header_end: u32, span: Span) -> Option<(u32, u32)> {
        let open = self.token_after(header_end);
        (open < span.end && self.text.as_bytes()[open as usize] == b'{')
            .then(|| (open, span.end - 1))
    }

    fn item(&mut self, item: &Item) -> Doc {
        match item {
            Item::Import(i) => self.import(i),
            Item::Const(c) => Doc::Concat(vec![
                Doc::text(format!("const {} = ", c.name.text)),
                self.expr(&c.value),
            ]),
            Item::Template(t) => self.template(t),
            Item::Decl(d) => self.decl(d),
            Item::Error(e) if e.span.end as usize == self.text.len() => {
                self.skip_trivia_before(e.span.end);
                Doc::text(self.src(e.span))
            }
            Item::Error(e) => {
                // The blank lines after its text stay for the next item.
                let written = self.src(e.span).trim_end();
                self.skip_trivia_before(e.span.start + written.len() as u32);
                Doc::text(written)
            }
        }
    }

    fn import(&mut self, i: &Import) -> Doc {
        match &i.target {
            ImportTarget::File { span, .. } => Doc::text(format!("import {}", self.src(*span))),
            ImportTarget::Std { module, names } if names.is_empty() => {
                Doc::text(format!("import {}", module.text))
            }
            ImportTarget::Std { module, names } => {
                let dot = self.token_after(module.span.end);
                let open = self.token_after(dot + 1);
                let close = self.import_end(i) - 1;
                let inner = self.elements(
                    names,
                    |_, n| n.span,
                    |_, n| Doc::text(n.text.as_str()),
                    Some(open),
                    close,
                    Layout::Commas,
                );
                Doc::group(Doc::Concat(vec![
                    Doc::text(format!("import {}.{{", module.text)),
                    inner,
                    Doc::text("}"),
                ]))
            }
        }
    }

    fn template(&mut self, t: &TemplateDecl) -> Doc {
        let open = self.token_after(t.name.span.end);
        let close = match t.params.last() {
            None => self.token_after(open + 1),
            Some(p) => {
                let mut at = self.token_after(param_span(p).end);
                if self.text.as_bytes().get(at as usize) == Some(&b',') {
                    at = self.token_after(at + 1);
                }
                at
            }
        };
        let params = self.elements(
            &t.params,
            |_, p| param_span(p),
            Self::param,
            Some(open),
            close,
            Layout::Commas,
        );
        let mut parts = vec![
            Doc::group(Doc::Concat(vec![
                Doc::text(format!("template {}(", t.name.text)),
                params,
                Doc::text(")"),
            ])),
            Doc::text(format!(" = {}", t.kind.text)),
        ];
        if let Some(base) = &t.base {
            parts.push(Doc::text(" "));
            parts.push(self.call(&base.template, &base.args, base.span.end - 1));
        }
        if let Some((open, close)) = self.template_body(t) {
            parts.push(Doc::text(" "));
            parts.push(self.braces(&t.body, open, close));
        }
        Doc::Concat(parts)
    }

    fn param(&mut self, p: &Param) -> Doc {
        let mut parts = vec![Doc::text(format!("{}: {}", p.name.text, type_text(&p.ty)))];
        if let Some(d) = &p.default {
            parts.push(Doc::text(" = "));
            parts.push(self.expr(d));
        }
        Doc::Concat(parts)
    }

    fn decl(&mut self, d: &Decl) -> Doc {
        let mut parts = vec![Doc::text(format!("{} {}", d.kind.keyword(), d.name.text))];
        if let Some(host) = &d.placement {
            parts.push(Doc::text(format!(" on {}", host.text)));
        }
        if let Some(i) = &d.instance {
            parts.push(Doc::text(" = "));
            parts.push(self.call(&i.template, &i.args, i.span.end - 1));
        }
        if let Some(route) = &d.route {
            parts.push(Doc::text(" -> "));
            parts.push(self.expr(route));
        }
        if let Some((kind, _, span)) = &d.source {
            let quote = self.token_after(kind.span.end);
            parts.push(Doc::text(format!(
                " from {} {}",
                kind.text,
                &self.text[quote as usize..span.end as usize]
            )));
        }
        if let Some(e) = &d.default {
            parts.push(Doc::text(" default "));
            parts.push(self.expr(e));
        }
        if let Some((open, close)) = self.decl_body(d) {
            parts.push(Doc::text(" "));
            parts.push(self.braces(&d.body, open, close));
        }
        Doc::Concat(parts)
    }

    /// Fields between the `{` at `open` and the `}` at `close`.
    fn braces(&mut self, fields: &[Field], open: u32, close: u32) -> Doc {
        let written_flat = !self.text[open as usize..close as usize].contains('\n');
        let inner = self.elements(
            fields,
            |_, f| field_extent(f),
            Self::field,
            Some(open),
            close,
            Layout::Fields { flat: written_flat },
        );
        if matches!(&inner, Doc::Concat(p) if p.is_empty()) {
            return Doc::text("{}");
        }
        Doc::group(Doc::Concat(vec![Doc::text("{"), inner, Doc::text("}")]))
    }

    fn field(&mut self, f: &Field) -> Doc {
        let key = self.src(f.key.span).to_string();
        match &f.value.kind {
            ExprKind::Record(_) => {
                Doc::Concat(vec![Doc::text(format!("{key} ")), self.expr(&f.value)])
            }
            _ => Doc::Concat(vec![Doc::text(format!("{key} = ")), self.expr(&f.value)]),
        }
    }

    /// `name(args)` whose `)` is at `close`.
    fn call(&mut self, name: &Name, args: &[Arg], close: u32) -> Doc {
        let open = self.token_after(name.span.end);
        // One plain value hugs its parentheses: `shell("a long command")` never breaks.
        if let [Arg { name: None, value }] = args
            && !matches!(
                value.kind,
                ExprKind::List(_) | ExprKind::Record(_) | ExprKind::Call(..) | ExprKind::Pair(..)
            )
            && !self.has_comments(open, close)
        {
            return Doc::Concat(vec![
                Doc::text(format!("{}(", name.text)),
                self.expr(value),
                Doc::text(")"),
            ]);
        }
        let inner = self.elements(
            args,
            |_, a| arg_span(a),
            Self::arg,
            Some(open),
            close,
            Layout::Commas,
        );
        Doc::group(Doc::Concat(vec![
            Doc::text(format!("{}(", name.text)),
            inner,
            Doc::text(")"),
        ]))
    }

    fn arg(&mut self, a: &Arg) -> Doc {
        match &a.name {
            Some(n) => Doc::Concat(vec![
                Doc::text(format!("{} = ", n.text)),
                self.expr(&a.value),
            ]),
            None => self.expr(&a.value),
        }
    }

    fn expr(&mut self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::List(items) => {
                // Plain values (a command's arguments, say) fill lines like words.
                let fill = items.len() > 1
                    && items.iter().all(|x| is_plain(&x.kind))
                    && !self.has_comments(e.span.start, e.span.end);
                let inner = self.elements(
                    items,
                    |_, x| x.span,
                    Self::expr,
                    Some(e.span.start),
                    e.span.end - 1,
                    if fill { Layout::Filled } else { Layout::Commas },
                );
                Doc::group(Doc::Concat(vec![Doc::text("["), inner, Doc::text("]")]))
            }
            ExprKind::Record(fields) => self.braces(fields, e.span.start, e.span.end - 1),
            ExprKind::Call(name, args) => self.call(name, args, e.span.end - 1),
            ExprKind::Pair(a, b) => {
                Doc::Concat(vec![self.expr(a), Doc::text(" -> "), self.expr(b)])
            }
            _ => Doc::text(self.src(e.span)),
        }
    }
}

/// A value printed as one word: a literal or a name.
fn is_plain(k: &ExprKind) -> bool {
    !matches!(
        k,
        ExprKind::List(_) | ExprKind::Record(_) | ExprKind::Call(..) | ExprKind::Pair(..)
    )
}

fn type_text(t: &TypeExpr) -> String {
    match t {
        TypeExpr::Named(n) => n.text.as_str().to_owned(),
        TypeExpr::List(inner, _) => format!("[{}]", type_text(inner)),
    }
}

/// A field from its key to the end of its value (a field's span runs on over what follows).
fn field_extent(f: &Field) -> Span {
    Span {
        start: f.key.span.start,
        end: f.value.span.end,
    }
}

fn param_span(p: &Param) -> Span {
    let end = p.default.as_ref().map_or(p.ty.span().end, |d| d.span.end);
    Span {
        start: p.name.span.start,
        end,
    }
}

fn arg_span(a: &Arg) -> Span {
    Span {
        start: a.name.as_ref().map_or(a.value.span.start, |n| n.span.start),
        end: a.value.span.end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        match format(src) {
            Ok((out, _)) => out,
            Err(e) => panic!("refused: {e:?}\n{src}"),
        }
    }

    #[test]
    fn layout() {
        let src = "host   web{address=10.0.0.1\nruntime=compose}\nservice db on web=mysql(database=\"x\",user=\"y\"){reserve{memory=1GiB}}\n";
        assert_eq!(
            fmt(src),
            "host web {\n  address = 10.0.0.1\n  runtime = compose\n}\nservice db on web = mysql(database = \"x\", user = \"y\") { reserve { memory = 1GiB } }\n"
        );
    }

    #[test]
    fn comments_and_blank_lines_are_kept() {
        let src = "// head\n\n\n/// The web host.\nhost web { // trailing\n  // own line\n  address = 10.0.0.1 // after\n\n  runtime = compose\n  // last\n}\n// end\n";
        let out = fmt(src);
        assert_eq!(
            out,
            "// head\n\n/// The web host.\nhost web { // trailing\n  // own line\n  address = 10.0.0.1 // after\n\n  runtime = compose\n  // last\n}\n// end\n"
        );
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn long_argument_lists_break_one_per_line() {
        let src = "service cloud on m300 = nextcloud(db = db, database = \"nextcloud\", db_user = \"nextcloud\", db_password = db_password)\n";
        assert_eq!(
            fmt(src),
            "service cloud on m300 = nextcloud(\n  db = db,\n  database = \"nextcloud\",\n  db_user = \"nextcloud\",\n  db_password = db_password,\n)\n"
        );
    }

    #[test]
    fn a_broken_declaration_is_printed_as_written() {
        let src = "host  a {}\nservice b on { image = \n\nhost   c {}\n";
        let (out, errors) = format(src).unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(out, "host a {}\nservice b on { image =\n\nhost c {}\n");
    }
}
