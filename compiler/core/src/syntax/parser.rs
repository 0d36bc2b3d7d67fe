//! Step 1: source text → syntax tree, by hand. Parsing never fails: it returns a tree and
//! diagnostics. A declaration that does not parse becomes an [`Item::Error`] that keeps the
//! name it declares (so other files that use the name get no false "cannot find"), the parser
//! resynchronises at the next line that starts an item, and every broken item of a file is
//! reported in one run. Comments and blank lines are kept with their spans
//! ([`File::trivia`]) for the formatter.
//!
//! It reads exactly the language of `grammar.pest`, the grammar of record: each function below
//! follows one rule (ordered choice, greedy repetition, the same lookaheads), and where the
//! grammar accepts an input, the tree and the diagnostics are the ones its oracle
//! ([`super::oracle`]) builds — held by a differential test over every fixture, example and
//! fuzz corpus file, and by the `parse` fuzz target. A grammar change updates both.

use super::ast::*;
use super::literal::{self, LitError, Number};
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// Deepest bracket nesting accepted. Real inventories nest 4–5 levels; the limit keeps the
/// recursive-descent parser far from the stack's end on adversarial input.
pub const MAX_NESTING: usize = 128;

/// Words no name may be (unless followed by a name character or `-`).
const KEYWORDS: &[&str] = &["import", "const", "template", "on", "from", "true", "false"];
const KINDS: &[(&str, DeclKind)] = &[
    ("host", DeclKind::Host),
    ("service", DeclKind::Service),
    ("network", DeclKind::Network),
    ("volume", DeclKind::Volume),
    ("config", DeclKind::Config),
    ("monitor", DeclKind::Monitor),
    ("receiver", DeclKind::Receiver),
    ("alert", DeclKind::Alert),
    ("cluster", DeclKind::Cluster),
];

pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    if let Some(at) = too_deep(text) {
        let d = Diagnostic::error(
            Code::Syntax,
            "nesting is too deep",
            file,
            Span::new(at, at + 1),
        )
        .label(format!("more than {MAX_NESTING} nested brackets"))
        .help("flatten the structure; no infrastructure description needs this depth");
        return (File::default(), vec![d]);
    }
    if text.len() >= PARALLEL_MIN_BYTES
        && let Some(parsed) = parse_in_parts(file, text)
    {
        return parsed;
    }
    parse_range(file, text, 0, text.len())
}

/// Files at least this large are parsed in parts on every core (below it, threads cost more
/// than they save).
const PARALLEL_MIN_BYTES: usize = 128 * 1024;

/// The items of `text[start..end]`, a run of whole items, with spans in the whole file (and
/// doc comments read from the text before `start`).
pub(crate) fn parse_range(
    file: FileId,
    text: &str,
    start: usize,
    end: usize,
) -> (File, Vec<Diagnostic>) {
    let text = &text[..end];
    let mut p = Parser {
        text,
        b: text.as_bytes(),
        pos: start,
        file,
        diags: Vec::new(),
        trivia: Vec::new(),
        trivia_end: start,
        fail_pos: start,
        expected: Vec::new(),
        quiet: 0,
    };
    let mut items = p.file();
    // Kept for the whole build (and by the driver's cache after it): without the slack that
    // growing by doubling leaves.
    items.shrink_to_fit();
    let mut trivia = p.trivia;
    trivia.shrink_to_fit();
    (File { items, trivia }, p.diags)
}

/// A large file cut between top-level items, its parts parsed on every core and joined in
/// order. `None` when it cannot be cut, or a part has a syntax error: the file is then parsed
/// whole, so that recovery and diagnostics are always those of the one-piece parse (a test
/// holds the two to the same tree).
fn parse_in_parts(file: FileId, text: &str) -> Option<(File, Vec<Diagnostic>)> {
    use rayon::prelude::*;
    let cuts = item_boundaries(text, rayon::current_num_threads() * 2);
    if cuts.len() < 2 {
        return None;
    }
    let ranges: Vec<(usize, usize)> = cuts
        .iter()
        .zip(cuts.iter().skip(1).chain(std::iter::once(&text.len())))
        .map(|(a, b)| (*a, *b))
        .collect();
    let parts: Vec<(File, Vec<Diagnostic>)> = ranges
        .par_iter()
        .map(|&(a, b)| parse_range(file, text, a, b))
        .collect();
    if parts
        .iter()
        .any(|(_, d)| d.iter().any(|d| d.code == Code::Syntax))
    {
        return None;
    }
    let mut whole = File {
        items: Vec::with_capacity(parts.iter().map(|(f, _)| f.items.len()).sum()),
        trivia: Vec::with_capacity(parts.iter().map(|(f, _)| f.trivia.len()).sum()),
    };
    let mut diags = Vec::new();
    for (f, d) in parts {
        whole.items.extend(f.items);
        whole.trivia.extend(f.trivia);
        diags.extend(d);
    }
    Some((whole, diags))
}

/// Up to `parts` cut positions (the first is 0) at lines that start a top-level item: column
/// 0, outside brackets, strings and comments, beginning with an item keyword. A cut in the
/// wrong place only costs time: that part has a syntax error and the file is parsed whole.
fn item_boundaries(text: &str, parts: usize) -> Vec<usize> {
    const STARTS: &[&[u8]] = &[
        b"service ",
        b"domain ",
        b"host ",
        b"secret ",
        b"var ",
        b"monitor ",
        b"receiver ",
        b"alert ",
        b"network ",
        b"volume ",
        b"config ",
        b"const ",
        b"template ",
        b"import ",
    ];
    /// The bytes that matter outside strings, and inside a "..." string.
    const fn table(bytes: &[u8]) -> [bool; 256] {
        let mut t = [false; 256];
        let mut i = 0;
        while i < bytes.len() {
            t[bytes[i] as usize] = true;
            i += 1;
        }
        t
    }
    const CODE: [bool; 256] = table(b"\"/{[()]}\n");
    const STR: [bool; 256] = table(b"\\\"\n");
    let bytes = text.as_bytes();
    let mut cuts = vec![0];
    let mut next_target = text.len() / parts.max(1);
    let (mut depth, mut i) = (0i64, 0usize);
    let mut in_str = false;
    while i < bytes.len() && cuts.len() < parts {
        let relevant = if in_str { &STR } else { &CODE };
        while i < bytes.len() && !relevant[bytes[i] as usize] {
            i += 1;
        }
        if i == bytes.len() {
            break;
        }
        let b = bytes[i];
        if in_str {
            match b {
                b'\\' => i += 1,
                _ => in_str = false,
            }
        } else {
            match b {
                b'"' if bytes[i..].starts_with(b"\"\"\"") => match text[i + 3..].find("\"\"\"") {
                    Some(e) => i += e + 5,
                    None => break,
                },
                b'"' => in_str = true,
                b'/' if bytes[i..].starts_with(b"//") => {
                    i = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                    continue;
                }
                b'/' if bytes[i..].starts_with(b"/*") => match text[i + 2..].find("*/") {
                    Some(e) => i += e + 3,
                    None => break,
                },
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' | b')' => depth -= 1,
                b'\n'
                    if depth == 0
                        && i + 1 >= next_target
                        && STARTS.iter().any(|k| bytes[i + 1..].starts_with(k)) =>
                {
                    cuts.push(i + 1);
                    next_target = (cuts.len() * text.len() / parts).max(i + 2);
                }
                _ => {}
            }
        }
        i += 1;
    }
    cuts
}

/// The one-piece parse, for the test that holds the parse in parts to it.
#[doc(hidden)]
/// The one item that starts at `start`, parsed alone (a language server's hover on one
/// declaration of a large file); `None` when it does not parse alone.
pub fn parse_item_at(file: FileId, text: &str, start: usize) -> Option<Item> {
    let end = next_item_line(text, start + 1);
    let (f, diags) = parse_range(file, text, start, end);
    if !diags.is_empty() || f.items.len() != 1 {
        return None;
    }
    f.items.into_iter().next()
}

pub fn parse_whole(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    parse_range(file, text, 0, text.len())
}

/// A point to come back to: the position, and how many diagnostics there were.
#[derive(Clone, Copy)]
struct Mark(usize, usize);

struct Parser<'t> {
    text: &'t str,
    b: &'t [u8],
    pos: usize,
    file: FileId,
    diags: Vec<Diagnostic>,
    trivia: Vec<Trivia>,
    /// How far whitespace and comments have been recorded (backtracking scans again).
    trivia_end: usize,
    /// The furthest position a token was expected at, and what was expected there.
    fail_pos: usize,
    expected: Vec<&'static str>,
    /// Inside an attempt whose failure is described as a whole (a value, a field).
    quiet: usize,
}

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl Parser<'_> {
    // ---- positions, tokens, failures ------------------------------------------

    fn mark(&self) -> Mark {
        Mark(self.pos, self.diags.len())
    }

    /// Back to `m`, forgetting what was reported since (PEG backtracking builds nothing).
    fn reset(&mut self, m: Mark) {
        self.pos = m.0;
        self.diags.truncate(m.1);
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at(&self, s: &str) -> bool {
        self.b[self.pos..].starts_with(s.as_bytes())
    }

    fn expect(&mut self, what: &'static str) {
        if self.quiet > 0 {
            return;
        }
        if self.pos > self.fail_pos {
            self.fail_pos = self.pos;
            self.expected.clear();
        }
        if self.pos == self.fail_pos && !self.expected.contains(&what) {
            self.expected.push(what);
        }
    }

    /// `f` with what it expects described by the caller instead.
    fn quietly<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> T {
        self.quiet += 1;
        let r = f(self);
        self.quiet -= 1;
        r
    }

    /// An optional continuation (`,`, `->`, `.`): not worth naming in "expected ...".
    fn eat_quiet(&mut self, s: &str) -> bool {
        if self.at(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// A punctuation token.
    fn eat(&mut self, s: &'static str, what: &'static str) -> bool {
        if self.at(s) {
            self.pos += s.len();
            true
        } else {
            self.expect(what);
            false
        }
    }

    /// Whether a keyword (`word` not followed by a name character) is here.
    fn at_word(&self, word: &str) -> bool {
        self.at(word)
            && self
                .b
                .get(self.pos + word.len())
                .is_none_or(|c| !ident_char(*c))
    }

    fn word(&mut self, word: &str, what: &'static str) -> Option<Span> {
        if self.at_word(word) {
            let s = self.pos;
            self.pos += word.len();
            Some(self.span_from(s))
        } else {
            self.expect(what);
            None
        }
    }

    fn lit_error(&mut self, e: LitError, sp: Span) {
        self.diags
            .push(Diagnostic::error(e.code, e.message, self.file, sp).help(e.help.to_string()));
    }

    /// `WHITESPACE` and `COMMENT`, as often as they come, recorded as trivia.
    fn skip(&mut self) {
        // A line is blank when a newline follows the previous one with only spaces between.
        let mut last_newline: Option<usize> = if self.pos == 0 { Some(0) } else { None };
        loop {
            match self.peek() {
                Some(b'\n') => {
                    if let Some(start) = last_newline {
                        self.keep(TriviaKind::BlankLine, start, self.pos);
                    }
                    self.pos += 1;
                    last_newline = Some(self.pos);
                }
                Some(b' ' | b'\t' | b'\r') => self.pos += 1,
                Some(0xEF) if self.at("\u{FEFF}") => self.pos += 3,
                Some(b'/') if self.at("//") => {
                    let start = self.pos;
                    let end = self.text[start..]
                        .find('\n')
                        .map_or(self.b.len(), |n| start + n);
                    let doc = self.text[start..].starts_with("///");
                    let kind = if doc {
                        TriviaKind::DocComment
                    } else {
                        TriviaKind::LineComment
                    };
                    self.keep(kind, start, end);
                    self.pos = end;
                    last_newline = None;
                }
                Some(b'/') if self.at("/*") => {
                    let start = self.pos;
                    match self.text[start + 2..].find("*/") {
                        Some(n) => {
                            let end = start + 2 + n + 2;
                            self.keep(TriviaKind::BlockComment, start, end);
                            self.pos = end;
                            last_newline = None;
                        }
                        // Not a comment: the token that follows cannot start with `/`.
                        None => break,
                    }
                }
                _ => break,
            }
        }
    }

    fn keep(&mut self, kind: TriviaKind, start: usize, end: usize) {
        if start >= self.trivia_end {
            self.trivia.push(Trivia {
                kind,
                span: Span::new(start, end),
            });
            self.trivia_end = end.max(start + 1);
        }
    }

    // ---- the file and its items ------------------------------------------------

    /// `file = SOI ~ item* ~ EOI`, with every item that does not parse kept as an error.
    fn file(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        // The last item that parsed: where it started, and how far it attempted to go.
        let mut last: Option<(Mark, usize, Vec<&'static str>)> = None;
        self.skip();
        while self.pos < self.b.len() {
            let start = self.mark();
            self.fail_pos = self.pos;
            self.expected.clear();
            if let Some(it) = self.item() {
                items.push(it);
                last = Some((start, self.fail_pos, std::mem::take(&mut self.expected)));
            } else {
                // An item that parsed by giving up an optional part it had begun (a body
                // with an error in it), followed by what is left of that part: the
                // earlier item is the broken one, and its furthest point the error.
                let from = match last.take() {
                    Some((m, furthest, expected)) if furthest > start.0 => {
                        items.pop();
                        if furthest >= self.fail_pos {
                            self.fail_pos = furthest;
                            self.expected = expected;
                        }
                        m
                    }
                    _ => start,
                };
                self.reset(from);
                items.push(self.broken_item(from.0));
            }
            self.skip();
        }
        items
    }

    /// `item = import | const_decl | template_decl | domain_decl | secret_decl | var_decl | decl`
    fn item(&mut self) -> Option<Item> {
        if self.at_word("import") {
            return self.import();
        }
        if self.at_word("const") {
            return self.const_decl();
        }
        if self.at_word("template") {
            return self.template_decl();
        }
        if self.at_word("domain") {
            return self.domain_decl();
        }
        if self.at_word("secret") {
            return self.secret_decl("secret", DeclKind::Secret);
        }
        if self.at_word("var") {
            return self.secret_decl("var", DeclKind::Variable);
        }
        if KINDS.iter().any(|(w, _)| self.at_word(w)) {
            return self.decl();
        }
        self.expect("a declaration (`host`, `service`, `network`, `volume`, `config`, `monitor`, `receiver`, `alert`, `domain`, `secret`, `var`), `const`, `template` or `import`");
        None
    }

    /// The item starting at `start` does not parse: one diagnostic at the furthest point it
    /// reached, an error item up to the next line that starts an item, and the name it
    /// declares, if it got that far.
    fn broken_item(&mut self, start: usize) -> Item {
        let next = next_item_line(self.text, start + 1);
        let end = if next < self.fail_pos {
            // It ran on into the next declaration: it was not finished before that line.
            let word = self.text[next..]
                .find([' ', '\t'])
                .map_or(self.b.len(), |n| next + n);
            self.diags.push(
                Diagnostic::error(
                    Code::Syntax,
                    "a declaration starts before the one above it is finished",
                    self.file,
                    Span::new(next, word),
                )
                .label("the next declaration starts here")
                .with_secondary(
                    self.file,
                    Span::new(start, start + 1),
                    "this one is still open",
                )
                .help("finish the declaration above: a closing `}`, `]` or `)` is missing"),
            );
            next
        } else {
            self.diags.push(self.syntax_error());
            next_item_line(self.text, self.fail_pos.max(start + 1))
        };
        let declares = self.declared_at(start);
        let trimmed = start + self.text[start..end].trim_end().len();
        self.pos = end;
        Item::Error(ErrorItem {
            // At least its first character (whole: a span never cuts one).
            span: Span::new(
                start,
                trimmed
                    .max(start + self.text[start..].chars().next().map_or(0, char::len_utf8))
                    .min(self.b.len()),
            ),
            declares,
        })
    }

    /// What `kind name` at `start` declares, read as far as it goes.
    fn declared_at(&mut self, start: usize) -> Option<Declared> {
        let saved = (self.pos, self.fail_pos, std::mem::take(&mut self.expected));
        self.pos = start;
        let kind = if self.at_word("const") {
            self.pos += "const".len();
            Some(DeclaredKind::Const)
        } else if self.at_word("template") {
            self.pos += "template".len();
            Some(DeclaredKind::Template)
        } else if self.at_word("secret") {
            self.pos += "secret".len();
            Some(DeclaredKind::Decl(DeclKind::Secret))
        } else if self.at_word("var") {
            self.pos += "var".len();
            Some(DeclaredKind::Decl(DeclKind::Variable))
        } else {
            KINDS.iter().find(|(w, _)| self.at_word(w)).map(|(w, k)| {
                self.pos += w.len();
                DeclaredKind::Decl(*k)
            })
        };
        let found = kind.and_then(|kind| {
            self.skip_without_trivia();
            self.ident().map(|name| Declared { kind, name })
        });
        self.pos = saved.0;
        self.fail_pos = saved.1;
        self.expected = saved.2;
        found
    }

    /// [`Parser::skip`] that records nothing (for looking around).
    fn skip_without_trivia(&mut self) {
        let end = self.trivia_end;
        let n = self.trivia.len();
        self.skip();
        self.trivia.truncate(n);
        self.trivia_end = end;
    }

    fn syntax_error(&self) -> Diagnostic {
        let pos = self.fail_pos.min(self.b.len());
        if let Some(q) = unclosed_string(self.text).filter(|q| *q <= pos) {
            let triple = self.text[q..].starts_with("\"\"\"");
            let (open, len) = if triple { ("\"\"\"", 3) } else { ("\"", 1) };
            return Diagnostic::error(Code::Syntax, "unterminated string", self.file, Span::new(q, q + len))
                .label(format!("this `{open}` is never closed"))
                .help(if triple {
                    "close the multi-line string with `\"\"\"`"
                } else {
                    "close the string with `\"` on the same line; for text over several lines use `\"\"\"...\"\"\"`, or `\\n` for a newline"
                });
        }
        let rest = &self.text[pos..];
        let end = rest.chars().next().map_or(pos, |c| pos + c.len_utf8());
        let found = if rest.is_empty() {
            "end of file".to_string()
        } else {
            let tok: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            format!("`{tok}`")
        };
        let mut expected = self.expected.clone();
        expected.sort_unstable();
        expected.dedup();
        let message = if expected.is_empty() {
            format!("unexpected {found}")
        } else {
            format!("expected {}, found {found}", join_or(&expected))
        };
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let keyword = crate::diag::did_you_mean(&word, super::ITEM_KEYWORDS.iter().copied())
            .filter(|_| self.expected.iter().any(|e| e.starts_with("a declaration")));
        let help = if rest.is_empty() {
            "the file ended early: is a closing `}` or `]` missing?".to_string()
        } else if let Some(k) = keyword {
            format!("did you mean `{k}`?")
        } else if rest.starts_with(':') {
            "fields are written `name = value`, not `name: value`".to_string()
        } else if rest.starts_with('\'') {
            "strings use double quotes: \"...\"".to_string()
        } else {
            "see `docs/language.md` for the syntax of declarations and values".to_string()
        };
        Diagnostic::error(Code::Syntax, message, self.file, Span::new(pos, end))
            .label("here")
            .help(help)
    }

    // The rules below keep pest's shape exactly: in a sequence `a ~ b` the whitespace
    // between is always consumed (also when `b` is an optional that then matches nothing, so
    // a rule's span runs over it), and `x*` is `(x ~ (skip ~ x)*)?`.

    /// `opt(x)`: `x`, or nothing and back where it started.
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let m = self.mark();
        let r = f(self);
        if r.is_none() {
            self.reset(m);
        }
        r
    }

    /// `x*` as pest runs it: `(x ~ (skip ~ x)*)?`.
    fn rep<T>(&mut self, mut f: impl FnMut(&mut Self) -> Option<T>) -> Vec<T> {
        let mut out = Vec::new();
        match self.opt(&mut f) {
            Some(x) => out.push(x),
            None => return out,
        }
        loop {
            let m = self.mark();
            self.skip();
            if let Some(x) = f(self) {
                out.push(x);
            } else {
                self.reset(m);
                return out;
            }
        }
    }

    /// `import = { kw_import ~ (import_file | import_std) }`
    fn import(&mut self) -> Option<Item> {
        let start = self.pos;
        self.word("import", "`import`")?;
        self.skip();
        let file = self.opt(|p| {
            let s = p.pos;
            let path = p.plain_string()?;
            Some(ImportTarget::File {
                path,
                span: p.span_from(s),
            })
        });
        let target = if let Some(t) = file {
            t
        } else {
            // import_std = { module_path ~ ("." ~ "{" ~ name_list ~ "}")? }
            let module = self.module_path()?;
            self.skip();
            let names = self
                .opt(|p| {
                    p.eat_quiet(".").then_some(())?;
                    p.skip();
                    p.eat("{", "`{`").then_some(())?;
                    p.skip();
                    let names = p.name_list()?;
                    p.skip();
                    p.eat("}", "`}`").then_some(names)
                })
                .unwrap_or_default();
            ImportTarget::Std { module, names }
        };
        Some(Item::Import(Import {
            target,
            span: self.span_from(start),
        }))
    }

    /// `module_path = ${ ident ~ ("." ~ ident)* }`
    fn module_path(&mut self) -> Option<Name> {
        let s = self.pos;
        self.ident()?;
        loop {
            let m = self.mark();
            if self.eat_quiet(".") && self.ident().is_some() {
                continue;
            }
            self.reset(m);
            break;
        }
        Some(Name {
            text: self.text[s..self.pos].into(),
            span: self.span_from(s),
        })
    }

    /// `x ~ ("," ~ x)* ~ ","?`, the shape of `name_list`, `params` and `args`.
    fn comma_list<T>(&mut self, mut f: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut out = vec![f(self)?];
        self.skip();
        out.extend(self.rep(|p| {
            p.eat_quiet(",").then_some(())?;
            p.skip();
            f(p)
        }));
        self.skip();
        self.opt(|p| p.eat_quiet(",").then_some(()));
        Some(out)
    }

    /// `name_list = { ident ~ ("," ~ ident)* ~ ","? }`
    fn name_list(&mut self) -> Option<Vec<Name>> {
        self.comma_list(Self::ident)
    }

    /// `const_decl = { kw_const ~ ident ~ "=" ~ expr }`
    fn const_decl(&mut self) -> Option<Item> {
        let start = self.pos;
        self.word("const", "`const`")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        self.eat("=", "`=`").then_some(())?;
        self.skip();
        let value = self.expr()?;
        Some(Item::Const(ConstDecl {
            name,
            value,
            span: self.span_from(start),
            doc: literal::doc_before(self.text, start),
        }))
    }

    /// `template_decl = { kw_template ~ ident ~ "(" ~ params? ~ ")" ~ "=" ~ kind ~
    /// (template_base ~ body? | body) }`
    fn template_decl(&mut self) -> Option<Item> {
        let start = self.pos;
        self.word("template", "`template`")?;
        self.skip();
        let name = self.ident()?;
        self.skip();
        self.eat("(", "`(`").then_some(())?;
        self.skip();
        let params = self.opt(Self::params).unwrap_or_default();
        self.skip();
        self.eat(")", "`)`").then_some(())?;
        self.skip();
        self.eat("=", "`=`").then_some(())?;
        self.skip();
        let kind = self.kind()?;
        self.skip();
        let based = self.opt(|p| {
            let base = p.template_base()?;
            p.skip();
            let body = p.opt(Self::body).unwrap_or_default();
            Some((base, body))
        });
        let (base, body) = match based {
            Some((base, body)) => (Some(base), body),
            None => (None, self.body()?),
        };
        Some(Item::Template(TemplateDecl {
            name,
            params,
            kind,
            base,
            body,
            span: self.span_from(start),
            doc: literal::doc_before(self.text, start),
        }))
    }

    /// `kind = @{ ("host" | "service" | "network" | "volume" | "config" | "monitor" | "receiver" | "alert" | "cluster") ~ !ident_char }`
    fn kind(&mut self) -> Option<Name> {
        for (w, _) in KINDS {
            if self.at_word(w) {
                let s = self.pos;
                self.pos += w.len();
                return Some(Name {
                    text: (*w).into(),
                    span: self.span_from(s),
                });
            }
        }
        self.expect(
            "a kind (`host`, `service`, `network`, `volume`, `monitor`, `receiver`, `alert`)",
        );
        None
    }

    /// `template_base = { ident ~ "(" ~ args? ~ ")" }`
    fn template_base(&mut self) -> Option<Instance> {
        let start = self.pos;
        let template = self.ident()?;
        self.skip();
        self.eat("(", "`(`").then_some(())?;
        let args = self.args_in_parens()?;
        Some(Instance {
            template,
            args,
            span: self.span_from(start),
        })
    }

    /// `~ args? ~ ")"`, after a `(`.
    fn args_in_parens(&mut self) -> Option<Vec<Arg>> {
        self.skip();
        let args = self.opt(Self::args).unwrap_or_default();
        self.skip();
        self.eat(")", "`)`").then_some(args)
    }

    /// `params = { param ~ ("," ~ param)* ~ ","? }`
    fn params(&mut self) -> Option<Vec<Param>> {
        self.comma_list(Self::param)
    }

    /// `param = { ident ~ ":" ~ type_expr ~ ("=" ~ expr)? }`
    fn param(&mut self) -> Option<Param> {
        let start = self.pos;
        let name = self.ident()?;
        self.skip();
        self.eat(":", "`:`").then_some(())?;
        self.skip();
        let ty = self.type_expr()?;
        self.skip();
        let default = self.opt(|p| {
            p.eat("=", "`=`").then_some(())?;
            p.skip();
            p.expr()
        });
        Some(Param {
            name,
            ty,
            default,
            doc: literal::doc_before(self.text, start),
        })
    }

    /// `type_expr = { list_type | ident }`, `list_type = { "[" ~ type_expr ~ "]" }`
    fn type_expr(&mut self) -> Option<TypeExpr> {
        let start = self.pos;
        let list = self.opt(|p| {
            p.eat("[", "`[`").then_some(())?;
            p.skip();
            let inner = p.type_expr()?;
            p.skip();
            p.eat("]", "`]`").then_some(inner)
        });
        match list {
            Some(inner) => Some(TypeExpr::List(Box::new(inner), self.span_from(start))),
            None => self.ident().map(TypeExpr::Named),
        }
    }

    /// `decl = { kind ~ ident ~ placement? ~ instance? ~ body? }`
    fn decl(&mut self) -> Option<Item> {
        let start = self.pos;
        let kind_name = self.kind()?;
        let kind = KINDS
            .iter()
            .find(|(w, _)| *w == kind_name.text)
            .map(|(_, k)| *k)?;
        self.skip();
        let name = self.ident()?;
        let mut d = self.empty_decl(kind, name, start);
        self.skip();
        // placement = { kw_on ~ ident }
        d.placement = self.opt(|p| {
            p.word("on", "`on`")?;
            p.skip();
            p.ident()
        });
        self.skip();
        // instance = { "=" ~ ident ~ "(" ~ args? ~ ")" }
        d.instance = self.opt(|p| {
            let s = p.pos;
            p.eat("=", "`=`").then_some(())?;
            p.skip();
            let mut i = p.template_base()?;
            i.span = p.span_from(s);
            Some(i)
        });
        self.skip();
        d.body = self.opt(Self::body).unwrap_or_default();
        d.span = self.span_from(start);
        Some(Item::Decl(d))
    }

    fn empty_decl(&self, kind: DeclKind, name: Name, start: usize) -> Decl {
        Decl {
            kind,
            name,
            placement: None,
            instance: None,
            route: None,
            name_expr: None,
            source: None,
            default: None,
            body: Vec::new(),
            span: Span::new(start, start),
            doc: literal::doc_before(self.text, start),
        }
    }

    /// `domain_decl = { kw_domain ~ (domain_name | string) ~ "->" ~ expr ~ body? }`
    fn domain_decl(&mut self) -> Option<Item> {
        let start = self.pos;
        self.word("domain", "`domain`")?;
        self.skip();
        let (name, name_expr) = if self.peek() == Some(b'"') {
            let e = self.string()?;
            let name = Name {
                text: self.text[e.span.start as usize..e.span.end as usize].into(),
                span: e.span,
            };
            (name, Some(Box::new(e)))
        } else {
            (self.domain_name()?, None)
        };
        let mut d = self.empty_decl(DeclKind::Domain, name, start);
        d.name_expr = name_expr;
        self.skip();
        self.eat("->", "`->`").then_some(())?;
        self.skip();
        d.route = Some(self.expr()?);
        self.skip();
        d.body = self.opt(Self::body).unwrap_or_default();
        d.span = self.span_from(start);
        Some(Item::Decl(d))
    }

    /// `domain_name = @{ ("*." )? ~ dns_label ~ ("." ~ dns_label)+ }`
    fn domain_name(&mut self) -> Option<Name> {
        let s = self.pos;
        if self.at("*.") {
            self.pos += 2;
        }
        let label = |p: &mut Self| {
            let n = p.b[p.pos..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b'_')
                .count();
            p.pos += n;
            n > 0
        };
        let mut labels = 0;
        if label(self) {
            loop {
                let at = self.pos;
                if self.peek() == Some(b'.') {
                    self.pos += 1;
                    if label(self) {
                        labels += 1;
                        continue;
                    }
                }
                self.pos = at;
                break;
            }
        }
        if labels == 0 {
            self.pos = s;
            self.expect("a domain name");
            return None;
        }
        Some(Name {
            text: self.text[s..self.pos].into(),
            span: self.span_from(s),
        })
    }

    /// `secret_decl = { kw_secret ~ ident ~ secret_source? ~ body? }`,
    /// `secret_source = { kw_from ~ ident ~ plain_string }`, and
    /// `var_decl = { kw_var ~ ident ~ secret_source? ~ var_default? ~ body? }`,
    /// `var_default = { kw_default ~ expr }`
    fn secret_decl(&mut self, keyword: &'static str, kind: DeclKind) -> Option<Item> {
        let start = self.pos;
        self.word(
            keyword,
            if kind == DeclKind::Variable {
                "`var`"
            } else {
                "`secret`"
            },
        )?;
        self.skip();
        let name = self.ident()?;
        let mut d = self.empty_decl(kind, name, start);
        self.skip();
        d.source = self.opt(|p| {
            let s = p.pos;
            p.word("from", "`from`")?;
            p.skip();
            let kind = p.ident()?;
            p.skip();
            let value = p.plain_string()?;
            Some((kind, value, p.span_from(s)))
        });
        if kind == DeclKind::Variable {
            self.skip();
            d.default = self.opt(|p| {
                p.word("default", "`default`")?;
                p.skip();
                p.expr().map(Box::new)
            });
        }
        self.skip();
        d.body = self.opt(Self::body).unwrap_or_default();
        d.span = self.span_from(start);
        Some(Item::Decl(d))
    }

    /// `body = { "{" ~ (field ~ ","?)* ~ "}" }` (and `record`)
    fn body(&mut self) -> Option<Vec<Field>> {
        self.eat("{", "`{`").then_some(())?;
        self.skip();
        let fields = self.rep(|p| {
            let f = p.field()?;
            p.skip();
            p.opt(|p| p.eat_quiet(",").then_some(()));
            Some(f)
        });
        self.skip();
        self.eat("}", "`}`").then_some(fields)
    }

    /// `field = { key ~ ("=" ~ expr | record) }`, `key = { ident | plain_string }`
    fn field(&mut self) -> Option<Field> {
        let start = self.pos;
        let key = if let Some(k) = self.quietly(|p| p.opt(Self::ident)) {
            k
        } else {
            let Some(text) = self.quietly(Self::plain_string) else {
                self.expect("a field (`name = value`)");
                return None;
            };
            Name {
                text: text.into(),
                span: self.span_from(start),
            }
        };
        self.skip();
        let value = match self.opt(|p| {
            p.eat("=", "`=`").then_some(())?;
            p.skip();
            p.expr()
        }) {
            Some(e) => e,
            None => self.record()?,
        };
        Some(Field {
            key,
            value,
            span: self.span_from(start),
        })
    }

    fn record(&mut self) -> Option<Expr> {
        let s = self.pos;
        let fields = self.body()?;
        Some(Expr {
            kind: ExprKind::Record(fields),
            span: self.span_from(s),
        })
    }

    // ---- expressions -----------------------------------------------------------

    /// `expr = { primary ~ ("->" ~ primary)? }`
    fn expr(&mut self) -> Option<Expr> {
        let start = self.pos;
        let lhs = self.primary()?;
        self.skip();
        let rhs = self.opt(|p| {
            p.eat_quiet("->").then_some(())?;
            p.skip();
            p.primary()
        });
        Some(match rhs {
            Some(rhs) => Expr {
                kind: ExprKind::Pair(Box::new(lhs), Box::new(rhs)),
                span: self.span_from(start),
            },
            None => lhs,
        })
    }

    /// `primary = _{ string | record | list | &(ASCII_DIGIT | "-") ~ (ipv6 | cidr4 | ipv4 |
    /// size | duration | port_range | port_proto | float | int) | boolean | call | ipv6 | path }`
    fn primary(&mut self) -> Option<Expr> {
        // A value that does not even start is "expected a value"; one that starts and then
        // breaks (a string, a list) says where inside.
        let at = self.pos;
        let before = if self.fail_pos == at {
            self.expected.len()
        } else {
            0
        };
        let r = self.primary_inner();
        if r.is_none() && self.fail_pos <= at && self.quiet == 0 {
            if self.fail_pos == at {
                self.expected.truncate(before);
            }
            self.expect("a value");
        }
        r
    }

    fn primary_inner(&mut self) -> Option<Expr> {
        let start = self.pos;
        match self.peek() {
            Some(b'"') => return self.string(),
            Some(b'{') => return self.record(),
            Some(b'[') => return self.list(),
            Some(c) if c.is_ascii_digit() || c == b'-' => {
                type Scan = fn(&[u8], usize) -> Option<usize>;
                const NUMBERS: [(Scan, Number); 10] = [
                    (scan_ipv6, Number::Ipv6),
                    (scan_ip_port, Number::IpPort),
                    (scan_cidr4, Number::Cidr4),
                    (scan_ipv4, Number::Ipv4),
                    (scan_size, Number::Size),
                    (scan_duration, Number::Duration),
                    (scan_port_range, Number::PortRange),
                    (scan_port_proto, Number::PortProto),
                    (scan_float, Number::Float),
                    (scan_int, Number::Int),
                ];
                for (scan, kind) in NUMBERS {
                    if let Some(end) = scan(self.b, start) {
                        return Some(self.number(kind, start, end));
                    }
                }
            }
            _ => {}
        }
        for word in ["true", "false"] {
            if self.at_word(word) {
                self.pos += word.len();
                return Some(Expr {
                    kind: ExprKind::Bool(word == "true"),
                    span: self.span_from(start),
                });
            }
        }
        // call = { ident ~ "(" ~ args? ~ ")" }
        let call = self.opt(|p| {
            let name = p.ident()?;
            p.skip();
            // Without `(` it is a path, not a broken call.
            p.eat_quiet("(").then_some(())?;
            let args = p.args_in_parens()?;
            Some((name, args))
        });
        if let Some((name, args)) = call {
            return Some(Expr {
                kind: ExprKind::Call(name, args),
                span: self.span_from(start),
            });
        }
        if let Some(end) = scan_ipv6(self.b, start) {
            return Some(self.number(Number::Ipv6, start, end));
        }
        // path = ${ ident ~ ("." ~ ident)* }
        let first = self.ident()?;
        let mut names = vec![first];
        loop {
            let m = self.mark();
            if self.eat_quiet(".")
                && let Some(n) = self.ident()
            {
                names.push(n);
                continue;
            }
            self.reset(m);
            break;
        }
        Some(Expr {
            kind: ExprKind::Path(names),
            span: self.span_from(start),
        })
    }

    fn number(&mut self, kind: Number, start: usize, end: usize) -> Expr {
        self.pos = end;
        let span = Span::new(start, end);
        let kind = match literal::number(kind, &self.text[start..end]) {
            Ok(k) => k,
            Err(e) => {
                self.lit_error(e, span);
                ExprKind::Error
            }
        };
        Expr { kind, span }
    }

    /// `list = { "[" ~ (expr ~ ("," ~ expr)* ~ ","?)? ~ "]" }`
    fn list(&mut self) -> Option<Expr> {
        let start = self.pos;
        self.eat("[", "`[`").then_some(())?;
        self.skip();
        let items = self.opt(|p| p.comma_list(Self::expr)).unwrap_or_default();
        self.skip();
        self.eat("]", "`]`").then_some(())?;
        Some(Expr {
            kind: ExprKind::List(items),
            span: self.span_from(start),
        })
    }

    /// `args = { arg ~ ("," ~ arg)* ~ ","? }`
    fn args(&mut self) -> Option<Vec<Arg>> {
        self.comma_list(Self::arg)
    }

    /// `arg = { (ident ~ "=" ~ expr) | expr }`
    fn arg(&mut self) -> Option<Arg> {
        let named = self.opt(|p| {
            let name = p.ident()?;
            p.skip();
            p.eat("=", "`=`").then_some(())?;
            p.skip();
            let value = p.expr()?;
            Some(Arg {
                name: Some(name),
                value,
            })
        });
        if named.is_some() {
            return named;
        }
        self.expect("a value");
        self.expr().map(|value| Arg { name: None, value })
    }

    /// `ident = @{ !(keyword ~ !(ident_char | "-")) ~ (ASCII_ALPHA | "_") ~ (ASCII_ALPHANUMERIC |
    /// "_" | ("-" ~ &(ASCII_ALPHANUMERIC | "_")))* }`
    fn ident(&mut self) -> Option<Name> {
        let s = self.pos;
        let first = self.peek();
        if !first.is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') {
            self.expect("a name");
            return None;
        }
        // `!(keyword ~ !(ident_char | "-"))`: the run of name characters is a keyword and
        // no `-` follows it (checked on the run, not by trying every keyword at `s`).
        let run = self.b[s..].iter().take_while(|c| ident_char(**c)).count();
        if (2..=8).contains(&run)
            && self.b.get(s + run) != Some(&b'-')
            && KEYWORDS.iter().any(|k| k.as_bytes() == &self.b[s..s + run])
        {
            self.expect("a name");
            return None;
        }
        let mut i = s + 1;
        while i < self.b.len() {
            let c = self.b[i];
            // A `-` only between name characters (`web-01`, not `web-`).
            let hyphen = c == b'-' && self.b.get(i + 1).is_some_and(|n| ident_char(*n));
            if !ident_char(c) && !hyphen {
                break;
            }
            i += 1;
        }
        self.pos = i;
        Some(Name {
            text: self.text[s..i].into(),
            span: Span::new(s, i),
        })
    }

    // ---- strings ---------------------------------------------------------------

    /// `string = ${ triple_string | quoted_string }`
    fn string(&mut self) -> Option<Expr> {
        let start = self.pos;
        let m = self.mark();
        let triple = self.at("\"\"\"");
        let mut parts: Vec<StrPart> = Vec::new();
        let ok = if triple {
            self.triple_string(&mut parts)
        } else {
            self.quoted_string(&mut parts)
        };
        if !ok {
            self.reset(m);
            self.expect("a string");
            return None;
        }
        if triple {
            literal::dedent(&mut parts);
        }
        Some(Expr {
            kind: ExprKind::Str(parts),
            span: self.span_from(start),
        })
    }

    /// `quoted_string = ${ !"\"\"\"" ~ "\"" ~ (interp | escape | str_text)* ~ "\"" }`
    fn quoted_string(&mut self, parts: &mut Vec<StrPart>) -> bool {
        self.pos += 1;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return true;
                }
                Some(b'$') if self.at("${") => match self.interp() {
                    Some(e) => parts.push(StrPart::Interp(e)),
                    None => return false,
                },
                Some(b'\\') => match self.escape() {
                    Some(Some(c)) => literal::push_text(parts, c),
                    Some(None) => {}
                    None => return false,
                },
                None | Some(b'\n') => return false,
                Some(_) => {
                    let s = self.pos;
                    while let Some(c) = self.peek() {
                        if c == b'"' || c == b'\\' || c == b'\n' || self.at("${") {
                            break;
                        }
                        self.pos += 1;
                    }
                    literal::push_text_str(parts, &self.text[s..self.pos]);
                }
            }
        }
    }

    /// `triple_string = ${ "\"\"\"" ~ (triple_dollar | interp | triple_text)* ~ "\"\"\"" }`,
    /// `triple_dollar = @{ "$${" }`: a literal `${`
    fn triple_string(&mut self, parts: &mut Vec<StrPart>) -> bool {
        self.pos += 3;
        loop {
            if self.at("\"\"\"") {
                self.pos += 3;
                return true;
            }
            if self.at("$${") {
                self.pos += 3;
                literal::push_text_str(parts, "${");
                continue;
            }
            if self.at("${") {
                match self.interp() {
                    Some(e) => parts.push(StrPart::Interp(e)),
                    None => return false,
                }
                continue;
            }
            if self.pos >= self.b.len() {
                return false;
            }
            let s = self.pos;
            while self.pos < self.b.len() && !self.at("\"\"\"") && !self.at("${") && !self.at("$${")
            {
                self.pos += 1;
            }
            literal::push_text_str(parts, &self.text[s..self.pos]);
        }
    }

    /// `interp = !{ "${" ~ expr ~ "}" }`
    fn interp(&mut self) -> Option<Expr> {
        self.pos += 2;
        self.skip();
        let e = self.expr()?;
        self.skip();
        self.eat("}", "`}`").then_some(e)
    }

    /// `escape = @{ "\\" ~ ANY }`: `Some(Some(c))` a known escape, `Some(None)` an unknown
    /// one (reported), `None` a backslash at the end of the file.
    fn escape(&mut self) -> Option<Option<char>> {
        let s = self.pos;
        let next = self.text[s + 1..].chars().next()?;
        self.pos = s + 1 + next.len_utf8();
        let written = &self.text[s..self.pos];
        if let Some(c) = literal::unescape(written) {
            Some(Some(c))
        } else {
            let e = literal::unknown_escape(written);
            self.lit_error(e, self.span_from(s));
            Some(None)
        }
    }

    /// `plain_string = ${ !"\"\"\"" ~ "\"" ~ (escape | plain_text)* ~ "\"" }`
    fn plain_string(&mut self) -> Option<String> {
        let m = self.mark();
        if self.peek() != Some(b'"') || self.at("\"\"\"") {
            self.expect("a string");
            return None;
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Some(out);
                }
                Some(b'\\') => match self.escape() {
                    Some(Some(c)) => out.push(c),
                    Some(None) => {}
                    None => break,
                },
                None | Some(b'\n') => break,
                Some(_) => {
                    let s = self.pos;
                    while let Some(c) = self.peek() {
                        if c == b'"' || c == b'\\' || c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                    out.push_str(&self.text[s..self.pos]);
                }
            }
        }
        self.reset(m);
        self.expect("a string");
        None
    }
}

// ---- number-like literals: where each rule's match ends, if it matches at `i` ---------

fn digits(b: &[u8], i: usize) -> usize {
    b[i.min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// `!ident_char` at `i`.
fn no_ident_char(b: &[u8], i: usize) -> bool {
    b.get(i).is_none_or(|c| !ident_char(*c))
}

fn minus(b: &[u8], i: usize) -> usize {
    i + usize::from(b.get(i) == Some(&b'-'))
}

/// `digit+`, or `None`.
fn digits1(b: &[u8], i: usize) -> Option<usize> {
    let n = digits(b, i);
    (n > 0).then_some(i + n)
}

fn lit(b: &[u8], i: usize, s: &str) -> Option<usize> {
    b[i.min(b.len())..]
        .starts_with(s.as_bytes())
        .then_some(i + s.len())
}

/// `int = @{ "-"? ~ ASCII_DIGIT+ ~ !ident_char }`
fn scan_int(b: &[u8], i: usize) -> Option<usize> {
    let e = digits1(b, minus(b, i))?;
    no_ident_char(b, e).then_some(e)
}

/// `float = @{ "-"? ~ ASCII_DIGIT+ ~ "." ~ ASCII_DIGIT+ ~ !("." | ident_char) }`
fn scan_float(b: &[u8], i: usize) -> Option<usize> {
    let e = digits1(b, minus(b, i))?;
    let e = digits1(b, lit(b, e, ".")?)?;
    (no_ident_char(b, e) && b.get(e) != Some(&b'.')).then_some(e)
}

/// `size = @{ "-"? ~ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+)? ~ size_unit ~ !ident_char }`
fn scan_size(b: &[u8], i: usize) -> Option<usize> {
    let mut e = digits1(b, minus(b, i))?;
    if let Some(f) = lit(b, e, ".").and_then(|d| digits1(b, d)) {
        e = f;
    }
    let units = ["KiB", "MiB", "GiB", "TiB", "KB", "MB", "GB", "TB", "B"];
    let e = units.iter().find_map(|u| lit(b, e, u))?;
    no_ident_char(b, e).then_some(e)
}

/// `duration = @{ "-"? ~ (ASCII_DIGIT+ ~ dur_unit)+ ~ !ident_char }`
fn scan_duration(b: &[u8], i: usize) -> Option<usize> {
    let mut e = minus(b, i);
    let mut n = 0;
    while let Some(d) = digits1(b, e) {
        let Some(u) = ["ms", "s", "m", "h", "d"].iter().find_map(|u| lit(b, d, u)) else {
            break;
        };
        e = u;
        n += 1;
    }
    (n > 0 && no_ident_char(b, e)).then_some(e)
}

/// `proto = @{ "tcp" | "udp" }`
fn proto(b: &[u8], i: usize) -> Option<usize> {
    lit(b, i, "tcp").or_else(|| lit(b, i, "udp"))
}

/// `port_range = @{ ASCII_DIGIT+ ~ "-" ~ ASCII_DIGIT+ ~ ("/" ~ proto)? ~ !ident_char }`
fn scan_port_range(b: &[u8], i: usize) -> Option<usize> {
    let e = digits1(b, lit(b, digits1(b, i)?, "-")?)?;
    let e = lit(b, e, "/").and_then(|p| proto(b, p)).unwrap_or(e);
    no_ident_char(b, e).then_some(e)
}

/// `port_proto = @{ ASCII_DIGIT+ ~ "/" ~ proto ~ !ident_char }`
fn scan_port_proto(b: &[u8], i: usize) -> Option<usize> {
    let e = proto(b, lit(b, digits1(b, i)?, "/")?)?;
    no_ident_char(b, e).then_some(e)
}

/// `ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+){3}`
fn dotted_quad(b: &[u8], i: usize) -> Option<usize> {
    let mut e = digits1(b, i)?;
    for _ in 0..3 {
        e = digits1(b, lit(b, e, ".")?)?;
    }
    Some(e)
}

/// `ipv4 = @{ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+){3} ~ !(ident_char | ".") }`
fn scan_ipv4(b: &[u8], i: usize) -> Option<usize> {
    let e = dotted_quad(b, i)?;
    (no_ident_char(b, e) && b.get(e) != Some(&b'.')).then_some(e)
}

/// `ip_port = @{ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+){3} ~ ":" ~ ASCII_DIGIT+ ~
/// !(ident_char | "." | ":") }`
fn scan_ip_port(b: &[u8], i: usize) -> Option<usize> {
    let e = digits1(b, lit(b, dotted_quad(b, i)?, ":")?)?;
    (no_ident_char(b, e) && !matches!(b.get(e), Some(b'.' | b':'))).then_some(e)
}

/// `cidr4 = @{ ASCII_DIGIT+ ~ ("." ~ ASCII_DIGIT+){3} ~ "/" ~ ASCII_DIGIT+ ~ !ident_char }`
fn scan_cidr4(b: &[u8], i: usize) -> Option<usize> {
    let e = digits1(b, lit(b, dotted_quad(b, i)?, "/")?)?;
    no_ident_char(b, e).then_some(e)
}

/// `ipv6 = @{ ASCII_HEX_DIGIT{0,4} ~ (":" ~ ASCII_HEX_DIGIT{0,4}){2,8} ~ ("/" ~ ASCII_DIGIT+)? ~
/// !ident_char }`
fn scan_ipv6(b: &[u8], i: usize) -> Option<usize> {
    let hex = |at: usize| {
        b[at.min(b.len())..]
            .iter()
            .take(4)
            .take_while(|c| c.is_ascii_hexdigit())
            .count()
    };
    let mut e = i + hex(i);
    let mut groups = 0;
    while groups < 8 {
        let Some(c) = lit(b, e, ":") else { break };
        e = c + hex(c);
        groups += 1;
    }
    if groups < 2 {
        return None;
    }
    if let Some(p) = lit(b, e, "/").and_then(|s| digits1(b, s)) {
        e = p;
    }
    no_ident_char(b, e).then_some(e)
}

// ---- recovery and bounds ---------------------------------------------------------

/// Where the next line at or after `from` starts that begins, at its first column, with a
/// word that starts an item; the end of the text if none does.
fn next_item_line(text: &str, from: usize) -> usize {
    let mut at = from.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    let starts_item = |line: usize| {
        let rest = &text[line..];
        super::ITEM_KEYWORDS.iter().any(|k| {
            rest.starts_with(k)
                && rest[k.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        })
    };
    // The line the failure is at may itself be the next item (a declaration left open).
    if (at == 0 || text.as_bytes()[at - 1] == b'\n') && starts_item(at) {
        return at;
    }
    while let Some(n) = text[at..].find('\n') {
        let line = at + n + 1;
        if starts_item(line) {
            return line;
        }
        at = line;
    }
    text.len()
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [a] => a.to_string(),
        [rest @ .., last] => format!("{} or {}", rest.join(", "), last),
    }
}

/// The opening quote of the first string literal that is never closed: a `"..."` that
/// reaches the end of its line, or a `"""...` that reaches the end of the file. Comments and
/// the code inside `${...}` are followed as the grammar reads them.
pub fn unclosed_string(text: &str) -> Option<usize> {
    enum Open {
        Str(usize),
        Triple(usize),
        /// `${` inside a string; the count is of `{` opened within it.
        Interp(usize),
    }
    let b = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let at = |s: &[u8]| b[i..].starts_with(s);
        match stack.last_mut() {
            Some(Open::Str(start)) => match b[i] {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'\n' => return Some(*start),
                b'$' if at(b"${") => {
                    stack.push(Open::Interp(0));
                    i += 1;
                }
                _ => {}
            },
            Some(Open::Triple(_)) => {
                if at(b"\"\"\"") {
                    stack.pop();
                    i += 2;
                } else if at(b"${") {
                    stack.push(Open::Interp(0));
                    i += 1;
                }
            }
            top => {
                let depth = match top {
                    Some(Open::Interp(d)) => Some(d),
                    _ => None,
                };
                match b[i] {
                    b'"' if at(b"\"\"\"") => {
                        stack.push(Open::Triple(i));
                        i += 2;
                    }
                    b'"' => stack.push(Open::Str(i)),
                    b'/' if at(b"//") => {
                        i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                        continue;
                    }
                    b'/' if at(b"/*") => {
                        i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
                        continue;
                    }
                    b'{' => {
                        if let Some(d) = depth {
                            *d += 1;
                        }
                    }
                    b'}' => match depth {
                        Some(0) => {
                            stack.pop();
                        }
                        Some(d) => *d -= 1,
                        None => {}
                    },
                    _ => {}
                }
            }
        }
        i += 1;
    }
    stack.into_iter().find_map(|o| match o {
        Open::Str(s) | Open::Triple(s) => Some(s),
        Open::Interp(_) => None,
    })
}

/// Where nesting first exceeds [`MAX_NESTING`], if it does: brackets, strings and `${...}`
/// interpolations, counted as the parser will see them (closing brackets inside strings and
/// comments do not count). The parser recurses once per level and has no other stack bound.
pub(crate) fn too_deep(text: &str) -> Option<usize> {
    #[derive(PartialEq)]
    enum Open {
        Bracket,
        Interpolation,
        Str,
        TripleStr,
    }
    /// The bytes that can change the nesting, in each state; the scan skips the others.
    const fn table(bytes: &[u8]) -> [bool; 256] {
        let mut t = [false; 256];
        let mut i = 0;
        while i < bytes.len() {
            t[bytes[i] as usize] = true;
            i += 1;
        }
        t
    }
    const CODE: [bool; 256] = table(b"\"{[()]}/");
    const STR: [bool; 256] = table(b"\\\"\n$");
    const TRIPLE: [bool; 256] = table(b"\"$");
    let b = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let relevant = match stack.last() {
            Some(Open::Str) => &STR,
            Some(Open::TripleStr) => &TRIPLE,
            _ => &CODE,
        };
        while i < b.len() && !relevant[b[i] as usize] {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        let at = |k: usize, s: &[u8]| b[k..].starts_with(s);
        let opened = match stack.last() {
            Some(Open::Str) => match b[i] {
                b'\\' => {
                    i += 1; // the escaped character, whatever it is
                    None
                }
                // A quoted string ends on its line (an unterminated one is reported).
                b'"' | b'\n' => {
                    stack.pop();
                    None
                }
                b'$' if at(i, b"${") => {
                    i += 1;
                    Some(Open::Interpolation)
                }
                _ => None,
            },
            Some(Open::TripleStr) => {
                if at(i, b"\"\"\"") {
                    stack.pop();
                    i += 2;
                    None
                } else if at(i, b"${") {
                    i += 1;
                    Some(Open::Interpolation)
                } else {
                    None
                }
            }
            _ => match b[i] {
                b'"' if at(i, b"\"\"\"") => {
                    i += 2;
                    Some(Open::TripleStr)
                }
                b'"' => Some(Open::Str),
                b'{' | b'[' | b'(' => Some(Open::Bracket),
                b'}' | b']' | b')' => {
                    stack.pop();
                    None
                }
                b'/' if at(i, b"//") => {
                    i = text[i..].find('\n').map_or(b.len(), |n| i + n);
                    None
                }
                b'/' if at(i, b"/*") => {
                    i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 1);
                    None
                }
                _ => None,
            },
        };
        if let Some(o) = opened {
            stack.push(o);
            if stack.len() > MAX_NESTING {
                return Some(i);
            }
        }
        i += 1;
    }
    None
}

/// Whether the parser agrees with the grammar of record on `text`: where the grammar accepts
/// it, the same items and diagnostics and no syntax error; where it rejects it, a syntax
/// error. Inputs nested beyond [`MAX_NESTING`] are refused by the parser before any grammar
/// question arises. For the differential test and the fuzzer.
#[doc(hidden)]
pub fn agrees_with_grammar(text: &str) -> Result<(), String> {
    if too_deep(text).is_some() {
        return Ok(());
    }
    let (mine, my_diags) = parse(FileId(0), text);
    let syntax_errors = my_diags.iter().filter(|d| d.code == Code::Syntax).count();
    match super::oracle::parse(FileId(0), text) {
        Some((items, diags)) => {
            if syntax_errors > 0 {
                return Err(format!(
                    "the grammar accepts it, the parser reports: {}",
                    my_diags[0].message
                ));
            }
            if items.len() != mine.items.len() {
                return Err(format!(
                    "the grammar finds {} items, the parser {}",
                    items.len(),
                    mine.items.len()
                ));
            }
            for (a, b) in items.iter().zip(&mine.items) {
                let (a, b) = (format!("{a:?}"), format!("{b:?}"));
                if a != b {
                    let at = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
                    let from = at.saturating_sub(80);
                    return Err(format!(
                        "the trees differ:\n grammar: ...{}\n parser:  ...{}",
                        a.get(from..(at + 80).min(a.len())).unwrap_or(&a),
                        b.get(from..(at + 80).min(b.len())).unwrap_or(&b)
                    ));
                }
            }
            if diags != my_diags {
                return Err(format!("the diagnostics differ: {diags:?} / {my_diags:?}"));
            }
            Ok(())
        }
        None if syntax_errors == 0 => Err("the grammar rejects it, the parser accepts it".into()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> File {
        let (f, d) = parse(FileId(0), src);
        assert!(d.is_empty(), "{d:#?}");
        f
    }

    #[test]
    fn literals() {
        let f = ok(
            "const a = [30s, 1h30m, 512MiB, 4GiB, 100GB, 10.0.0.1, 10.0.0.0/8, 2001:db8::1, 53/udp, 8000-8010, 0.5, \"x${a}y\", true, db.port.mysql, 80 -> http]",
        );
        let Item::Const(c) = &f.items[0] else {
            panic!("{:?}", f.items)
        };
        let ExprKind::List(items) = &c.value.kind else {
            panic!("{:?}", c.value)
        };
        assert!(matches!(items[0].kind, ExprKind::Duration(30_000)));
        assert!(matches!(items[1].kind, ExprKind::Duration(5_400_000)));
        assert!(matches!(items[2].kind, ExprKind::Size(536_870_912)));
        assert!(matches!(items[4].kind, ExprKind::Size(100_000_000_000)));
        assert!(matches!(items[5].kind, ExprKind::Ip(_)));
        assert!(matches!(items[6].kind, ExprKind::Cidr(_, 8)));
        assert!(matches!(
            items[7].kind,
            ExprKind::Ip(std::net::IpAddr::V6(_))
        ));
        assert!(matches!(items[8].kind, ExprKind::Port(53, Proto::Udp)));
        assert!(matches!(
            items[9].kind,
            ExprKind::PortRange(8000, 8010, Proto::Tcp)
        ));
        assert!(matches!(items[10].kind, ExprKind::Float(_)));
        assert!(matches!(items[11].kind, ExprKind::Str(ref p) if p.len() == 3));
        assert!(matches!(items[13].kind, ExprKind::Path(ref p) if p.len() == 3));
        assert!(matches!(items[14].kind, ExprKind::Pair(..)));
    }

    #[test]
    fn declarations() {
        let f = ok(r#"
            import std.apps.{mysql, redis}
            import "hosts.spark"
            /// The web host.
            host web-01 { address = 203.0.113.10, memory = 8GiB }
            secret db_pw from env "DB_PW"
            service db on web-01 = mysql(database = "x", password = db_pw) { memory = 1GiB }
            domain cloud.example.org -> cloud.http { tls = true }
            template t(a: string, b: [int] = []) = service { image = "x:${a}" }
        "#);
        assert_eq!(f.items.len(), 7);
        let Item::Decl(h) = &f.items[2] else { panic!() };
        assert_eq!(h.doc, "The web host.");
        assert_eq!(h.name.text, "web-01");
    }

    #[test]
    fn bad_literals_are_diagnosed_not_fatal() {
        let (f, d) = parse(
            FileId(0),
            "const a = 300.1.1.1\nconst b = 10.0.0.0/40\nconst c = -5GiB\n",
        );
        assert_eq!(f.items.len(), 3);
        let codes: Vec<_> = d.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                Code::MalformedLiteral,
                Code::MalformedLiteral,
                Code::OutOfRange
            ]
        );
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = format!("const a = {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let (_, d) = parse(FileId(0), &src);
        assert_eq!(d[0].code, Code::Syntax);
    }

    #[test]
    fn triple_strings_dedent() {
        let f = ok("const a = \"\"\"\n    line1\n      line2\n    \"\"\"");
        let Item::Const(c) = &f.items[0] else {
            panic!()
        };
        let ExprKind::Str(p) = &c.value.kind else {
            panic!()
        };
        let StrPart::Text(t) = &p[0] else { panic!() };
        assert_eq!(t, "line1\n  line2\n");
    }

    /// Found by the formatter's round trip: each of these changed a declaration's doc when
    /// only the layout changed.
    #[test]
    fn a_doc_comment_documents_only_what_starts_its_line() {
        let doc_of = |src: &str, i: usize| match &ok(src).items[i] {
            Item::Decl(d) => d.doc.clone(),
            Item::Template(t) => t.doc.clone(),
            _ => panic!("not a declaration"),
        };
        assert_eq!(doc_of("/// web\nhost web {}\n", 0), "web");
        // A parameter on the template's own line is not documented by the template's doc.
        let f = ok("/// t\ntemplate t(a: string) = service { image = a }\n");
        let Item::Template(t) = &f.items[0] else {
            panic!("not a template")
        };
        assert_eq!(t.doc, "t");
        assert_eq!(t.params[0].doc, "");
        // The last line of a multi-line string that starts with `///` documents nothing.
        let src = "const s = \"\"\"\n/// not a doc \"\"\"\nhost a {}\n";
        assert_eq!(doc_of(src, 1), "");
        // A byte order mark before the doc comment or the declaration is whitespace.
        assert_eq!(doc_of("\u{FEFF}/// web\nhost web {}\n", 0), "web");
        assert_eq!(doc_of("/// web\n\u{FEFF}host web {}\n", 0), "web");
    }

    #[test]
    fn a_broken_items_span_never_cuts_a_character() {
        let src = "\u{a0}\nhost a {}\n";
        let (f, d) = parse(FileId(0), src);
        assert!(!d.is_empty());
        for item in &f.items {
            if let Item::Error(e) = item {
                assert!(src.is_char_boundary(e.span.end as usize), "{e:?}");
            }
        }
    }

    #[test]
    fn an_item_keyword_alone_on_its_line_is_where_parsing_picks_up() {
        let (f, d) = parse(FileId(0), "volume\n\n//c\nimport\n");
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(f.items.len(), 2);
    }

    #[test]
    fn comments_and_blank_lines_are_kept_with_their_spans() {
        let src = "// head\n\n/// doc\nhost a { /* inline */ runtime = compose } // tail\n\n\nconst b = 1\n";
        let f = ok(src);
        let kinds: Vec<(TriviaKind, &str)> = f
            .trivia
            .iter()
            .map(|t| (t.kind, &src[t.span.range()]))
            .collect();
        assert_eq!(
            kinds,
            [
                (TriviaKind::LineComment, "// head"),
                (TriviaKind::BlankLine, ""),
                (TriviaKind::DocComment, "/// doc"),
                (TriviaKind::BlockComment, "/* inline */"),
                (TriviaKind::LineComment, "// tail"),
                (TriviaKind::BlankLine, ""),
                (TriviaKind::BlankLine, ""),
            ]
        );
    }

    #[test]
    fn every_broken_item_is_reported_and_the_rest_parses() {
        let src = "host a {\n  runtime: compose\n}\nhost b { runtime = compose }\nservice c on b {\nservice d on b { image = \"x:1\" }\nconst e = [1, 2\nconst f = 3\n";
        let (f, d) = parse(FileId(0), src);
        let syntax: Vec<usize> = d
            .iter()
            .filter(|d| d.code == Code::Syntax)
            .map(|d| d.primary.span.start as usize)
            .collect();
        assert_eq!(syntax.len(), 3, "{d:#?}");
        let names: Vec<String> = f
            .items
            .iter()
            .map(|i| match i {
                Item::Decl(d) => d.name.text.as_str().to_owned(),
                Item::Const(c) => c.name.text.as_str().to_owned(),
                Item::Error(e) => format!(
                    "broken {}",
                    e.declares.as_ref().map_or("?", |d| d.name.text.as_str())
                ),
                _ => "other".to_string(),
            })
            .collect();
        assert_eq!(names, ["broken a", "b", "broken c", "d", "broken e", "f"]);
        // The colon is reported where it is.
        assert_eq!(&src[syntax[0]..=syntax[0]], ":");
    }
}
