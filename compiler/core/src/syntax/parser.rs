//! pest grammar → [`ast`](super::ast). Parsing never panics: a syntax error becomes one
//! diagnostic (pest stops at the first), malformed literals become diagnostics and
//! [`ExprKind::Error`] nodes so that checking can go on.

use super::ast::*;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use pest::Parser;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "syntax/grammar.pest"]
struct SparkParser;

/// Deepest bracket nesting accepted. Real inventories nest 4–5 levels; the limit keeps the
/// recursive-descent parser far from the stack's end on adversarial input.
pub const MAX_NESTING: usize = 128;

pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    if let Some(at) = too_deep(text) {
        diags.push(
            Diagnostic::error(
                Code::Syntax,
                "nesting is too deep",
                file,
                Span::new(at, at + 1),
            )
            .label(format!("more than {MAX_NESTING} nested brackets"))
            .help("flatten the structure; no infrastructure description needs this depth"),
        );
        return (File::default(), diags);
    }
    // A large file is cut between top-level items and its parts are parsed on every core.
    // Any part that does not parse on its own sends the whole file through the one-piece
    // parse, so diagnostics are always those of the whole file.
    if text.len() >= PARALLEL_MIN_BYTES {
        let cuts = item_boundaries(text, rayon::current_num_threads());
        if cuts.len() > 1 {
            use rayon::prelude::*;
            let ranges: Vec<(usize, usize)> = cuts
                .iter()
                .zip(cuts.iter().skip(1).chain(std::iter::once(&text.len())))
                .map(|(a, b)| (*a, *b))
                .collect();
            let parts: Vec<Option<(Vec<Item>, Vec<Diagnostic>)>> = ranges
                .par_iter()
                .map(|&(a, b)| parse_part(file, text, a, b).ok())
                .collect();
            if parts.iter().all(Option::is_some) {
                let mut items = Vec::new();
                for (i, d) in parts.into_iter().flatten() {
                    items.extend(i);
                    diags.extend(d);
                }
                return (File { items }, diags);
            }
        }
    }
    match parse_part(file, text, 0, text.len()) {
        Ok((items, d)) => {
            diags.extend(d);
            (File { items }, diags)
        }
        Err(e) => {
            diags.push(syntax_error(file, text, *e));
            (File::default(), diags)
        }
    }
}

/// Whether parsing `text` cut into `parts` (whatever its size) gives exactly what the one-piece
/// parse gives, whenever every part parses (otherwise `parse` uses the one-piece result
/// anyway). For the fuzzer, which checks it on every input.
#[doc(hidden)]
pub fn parts_agree(text: &str, parts: usize) -> bool {
    if too_deep(text).is_some() {
        return true; // `parse` refuses it before parsing anything
    }
    let cuts = item_boundaries(text, parts);
    let ends = cuts
        .iter()
        .skip(1)
        .copied()
        .chain(std::iter::once(text.len()));
    let mut items = Vec::new();
    let mut diags = Vec::new();
    for (a, b) in cuts.iter().copied().zip(ends) {
        match parse_part(FileId(0), text, a, b) {
            Ok((i, d)) => {
                items.extend(i);
                diags.extend(d);
            }
            Err(_) => return true,
        }
    }
    match parse_part(FileId(0), text, 0, text.len()) {
        Ok((whole, whole_diags)) => {
            format!("{whole:?}") == format!("{items:?}") && whole_diags == diags
        }
        Err(_) => false,
    }
}

/// Files at least this large are parsed in parts (below it, threads cost more than they save).
const PARALLEL_MIN_BYTES: usize = 128 * 1024;

/// The items of a part and the diagnostics converting them raised; or pest's syntax error.
type PartResult = Result<(Vec<Item>, Vec<Diagnostic>), Box<pest::error::Error<Rule>>>;

/// Parse `text[start..end]`, a run of whole items, with spans in the whole file.
fn parse_part(file: FileId, text: &str, start: usize, end: usize) -> PartResult {
    let pairs = SparkParser::parse(Rule::file, &text[start..end]).map_err(Box::new)?;
    let mut cx = Cx {
        file,
        text,
        offset: start,
        diags: Vec::new(),
    };
    let mut items = Vec::new();
    for pair in pairs.flatten().take(1) {
        for item in pair.into_inner() {
            if item.as_rule() == Rule::EOI {
                continue;
            }
            if let Some(it) = cx.item(item) {
                items.push(it);
            }
        }
    }
    Ok((items, cx.diags))
}

/// Up to `parts` cut positions (the first is 0) at lines that start a top-level item: column
/// 0, outside brackets, strings and comments, and beginning with a declaration keyword. A cut
/// in the wrong place only costs time: that part fails to parse and the file is parsed whole.
fn item_boundaries(text: &str, parts: usize) -> Vec<usize> {
    const STARTS: &[&str] = &[
        "service ",
        "domain ",
        "host ",
        "secret ",
        "monitor ",
        "network ",
        "volume ",
        "const ",
        "template ",
        "import ",
    ];
    let bytes = text.as_bytes();
    let mut cuts = vec![0];
    let mut next_target = text.len() / parts.max(1);
    let (mut depth, mut i) = (0i64, 0usize);
    let (mut in_str, mut in_triple) = (false, false);
    while i < bytes.len() && cuts.len() < parts {
        let b = bytes[i];
        if in_triple {
            if bytes[i..].starts_with(b"\"\"\"") {
                in_triple = false;
                i += 3;
                continue;
            }
        } else if in_str {
            match b {
                b'\\' => i += 1,
                b'"' => in_str = false,
                _ => {}
            }
        } else if bytes[i..].starts_with(b"\"\"\"") {
            in_triple = true;
            i += 3;
            continue;
        } else if bytes[i..].starts_with(b"//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
            continue;
        } else if bytes[i..].starts_with(b"/*") {
            match text[i + 2..].find("*/") {
                Some(e) => i += e + 4,
                None => break,
            }
            continue;
        } else {
            match b {
                b'"' => in_str = true,
                b'{' | b'[' | b'(' => depth += 1,
                b'}' | b']' | b')' => depth -= 1,
                b'\n'
                    if depth == 0
                        && i + 1 >= next_target
                        && STARTS
                            .iter()
                            .any(|k| bytes[i + 1..].starts_with(k.as_bytes())) =>
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

/// Where nesting first exceeds [`MAX_NESTING`], if it does: brackets, strings and `${...}`
/// interpolations, counted as the parser will see them (closing brackets inside strings and
/// comments do not count). The parser recurses once per level and has no other stack bound.
fn too_deep(text: &str) -> Option<usize> {
    #[derive(PartialEq)]
    enum Open {
        Bracket,
        Interpolation,
        Str,
        TripleStr,
    }
    let b = text.as_bytes();
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    while i < b.len() {
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

fn rule_name(r: &Rule) -> Option<&'static str> {
    Some(match r {
        Rule::EOI => "end of file",
        Rule::import => "`import`",
        Rule::const_decl => "`const`",
        Rule::template_decl => "`template`",
        Rule::decl | Rule::kind => {
            "a declaration (`host`, `service`, `network`, `volume`, `monitor`)"
        }
        Rule::domain_decl => "`domain`",
        Rule::secret_decl => "`secret`",
        Rule::ident | Rule::key | Rule::path => "a name",
        Rule::field => "a field (`name = value`)",
        Rule::expr | Rule::arg => "a value",
        Rule::body | Rule::record => "`{`",
        Rule::list => "`[`",
        Rule::string | Rule::plain_string => "a string",
        Rule::domain_name => "a domain name",
        Rule::placement | Rule::kw_on => "`on`",
        Rule::instance => "`= template(...)`",
        Rule::template_base => "a template to build on (`mysql(...)`)",
        Rule::params | Rule::param => "a parameter",
        Rule::type_expr => "a type",
        Rule::kw_from | Rule::secret_source => "`from`",
        Rule::module_path => "a module path",
        Rule::name_list => "a list of names",
        Rule::args => "arguments",
        _ => return None,
    })
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

fn syntax_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diagnostic {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    if let Some(q) = unclosed_string(text).filter(|q| *q <= pos) {
        let triple = text[q..].starts_with("\"\"\"");
        let (open, len) = if triple { ("\"\"\"", 3) } else { ("\"", 1) };
        return Diagnostic::error(Code::Syntax, "unterminated string", file, Span::new(q, q + len))
            .label(format!("this `{open}` is never closed"))
            .help(if triple {
                "close the multi-line string with `\"\"\"`"
            } else {
                "close the string with `\"` on the same line; for text over several lines use `\"\"\"...\"\"\"`, or `\\n` for a newline"
            });
    }
    let end = text[pos..]
        .chars()
        .next()
        .map_or(pos, |c| pos + c.len_utf8());
    let found = match text[pos..].chars().next() {
        None => "end of file".to_string(),
        Some(_) => {
            let tok: String = text[pos..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .take(20)
                .collect();
            format!("`{tok}`")
        }
    };
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives.iter().filter_map(rule_name).collect();
            names.sort();
            names.dedup();
            names
        }
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&expected))
    };
    let mut d = Diagnostic::error(Code::Syntax, message, file, Span::new(pos, end)).label("here");
    d.help = Some(syntax_help(text, pos).to_string());
    d
}

fn syntax_help(text: &str, pos: usize) -> &'static str {
    let rest = &text[pos..];
    if rest.is_empty() {
        "the file ended early: is a closing `}` or `]` missing?"
    } else if rest.starts_with(':') {
        "fields are written `name = value`, not `name: value`"
    } else if rest.starts_with('\'') {
        "strings use double quotes: \"...\""
    } else {
        "see `docs/language.md` for the syntax of declarations and values"
    }
}

fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [a] => a.to_string(),
        [rest @ .., last] => format!("{} or {}", rest.join(", "), last),
    }
}

struct Cx<'t> {
    file: FileId,
    /// The whole file (doc comments are looked up in it).
    text: &'t str,
    /// Where the chunk being converted starts in `text`.
    offset: usize,
    diags: Vec<Diagnostic>,
}

impl Cx<'_> {
    /// A pair's span in the whole file (`offset`: where the parsed chunk starts).
    fn span(&self, p: &Pair<Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.offset + s.start(), self.offset + s.end())
    }

    fn name(&self, p: Pair<Rule>) -> Name {
        Name {
            text: p.as_str().to_string(),
            span: self.span(&p),
        }
    }

    fn error(&mut self, code: Code, msg: impl Into<String>, sp: Span, help: &str) {
        self.diags
            .push(Diagnostic::error(code, msg, self.file, sp).help(help.to_string()));
    }

    fn doc(&self, at: Span) -> String {
        doc_before(self.text, at.start as usize)
    }

    fn item(&mut self, p: Pair<Rule>) -> Option<Item> {
        let sp = self.span(&p);
        match p.as_rule() {
            Rule::import => {
                let inner = p.into_inner().nth(1)?;
                let target = match inner.as_rule() {
                    Rule::import_file => {
                        let s = inner.into_inner().next()?;
                        ImportTarget::File {
                            span: self.span(&s),
                            path: self.plain_string(s),
                        }
                    }
                    _ => {
                        let mut it = inner.into_inner();
                        let module = self.name(it.next()?);
                        let names = it
                            .next()
                            .map(|l| l.into_inner().map(|x| self.name(x)).collect())
                            .unwrap_or_default();
                        ImportTarget::Std { module, names }
                    }
                };
                Some(Item::Import(Import { target, span: sp }))
            }
            Rule::const_decl => {
                let mut it = p.into_inner().skip(1);
                let n = self.name(it.next()?);
                let value = self.expr(it.next()?);
                Some(Item::Const(ConstDecl {
                    name: n,
                    value,
                    span: sp,
                    doc: self.doc(sp),
                }))
            }
            Rule::template_decl => {
                let mut it = p.into_inner().skip(1);
                let n = self.name(it.next()?);
                let mut params = Vec::new();
                let mut next = it.next()?;
                if next.as_rule() == Rule::params {
                    for param in next.into_inner() {
                        let psp = self.span(&param);
                        let mut pi = param.into_inner();
                        let pname = self.name(pi.next()?);
                        let ty = self.type_expr(pi.next()?);
                        let default = pi.next().map(|e| self.expr(e));
                        params.push(Param {
                            name: pname,
                            ty,
                            default,
                            doc: self.doc(psp),
                        });
                    }
                    next = it.next()?;
                }
                let kind = self.name(next);
                let mut base = None;
                let mut body = Vec::new();
                for part in it {
                    if part.as_rule() == Rule::template_base {
                        let isp = self.span(&part);
                        let mut ii = part.into_inner();
                        let template = self.name(ii.next()?);
                        let args = ii.next().map(|a| self.args(a)).unwrap_or_default();
                        base = Some(Instance {
                            template,
                            args,
                            span: isp,
                        });
                    } else {
                        body = self.fields(part);
                    }
                }
                Some(Item::Template(TemplateDecl {
                    name: n,
                    params,
                    kind,
                    base,
                    body,
                    span: sp,
                    doc: self.doc(sp),
                }))
            }
            Rule::decl => {
                let mut it = p.into_inner();
                let kind_pair = it.next()?;
                let kind = DeclKind::from_keyword(kind_pair.as_str())?;
                let n = self.name(it.next()?);
                let mut d = self.empty_decl(kind, n, sp);
                for part in it {
                    match part.as_rule() {
                        Rule::placement => {
                            d.placement = part.into_inner().nth(1).map(|x| self.name(x))
                        }
                        Rule::instance => {
                            let isp = self.span(&part);
                            let mut ii = part.into_inner();
                            let template = self.name(ii.next()?);
                            let args = ii.next().map(|a| self.args(a)).unwrap_or_default();
                            d.instance = Some(Instance {
                                template,
                                args,
                                span: isp,
                            });
                        }
                        Rule::body => d.body = self.fields(part),
                        _ => {}
                    }
                }
                Some(Item::Decl(d))
            }
            Rule::domain_decl => {
                let mut it = p.into_inner().skip(1);
                let n = self.name(it.next()?);
                let mut d = self.empty_decl(DeclKind::Domain, n, sp);
                d.route = Some(self.expr(it.next()?));
                if let Some(b) = it.next() {
                    d.body = self.fields(b);
                }
                Some(Item::Decl(d))
            }
            Rule::secret_decl => {
                let mut it = p.into_inner().skip(1);
                let n = self.name(it.next()?);
                let mut d = self.empty_decl(DeclKind::Secret, n, sp);
                for part in it {
                    match part.as_rule() {
                        Rule::secret_source => {
                            let ssp = self.span(&part);
                            let mut si = part.into_inner().skip(1);
                            let kind = self.name(si.next()?);
                            let value = self.plain_string(si.next()?);
                            d.source = Some((kind, value, ssp));
                        }
                        Rule::body => d.body = self.fields(part),
                        _ => {}
                    }
                }
                Some(Item::Decl(d))
            }
            _ => None,
        }
    }

    fn empty_decl(&self, kind: DeclKind, name: Name, sp: Span) -> Decl {
        Decl {
            kind,
            name,
            placement: None,
            instance: None,
            route: None,
            source: None,
            body: Vec::new(),
            span: sp,
            doc: self.doc(sp),
        }
    }

    fn type_expr(&mut self, p: Pair<Rule>) -> TypeExpr {
        let sp = self.span(&p);
        let Some(inner) = p.into_inner().next() else {
            return TypeExpr::Named(Name {
                text: String::new(),
                span: sp,
            });
        };
        match inner.as_rule() {
            Rule::list_type => match inner.into_inner().next() {
                Some(t) => TypeExpr::List(Box::new(self.type_expr(t)), sp),
                None => TypeExpr::Named(Name {
                    text: String::new(),
                    span: sp,
                }),
            },
            _ => TypeExpr::Named(self.name(inner)),
        }
    }

    fn fields(&mut self, p: Pair<Rule>) -> Vec<Field> {
        p.into_inner().filter_map(|f| self.field(f)).collect()
    }

    fn field(&mut self, p: Pair<Rule>) -> Option<Field> {
        let sp = self.span(&p);
        let mut it = p.into_inner();
        let key_pair = it.next()?.into_inner().next()?;
        let key = match key_pair.as_rule() {
            Rule::plain_string => {
                let ksp = self.span(&key_pair);
                Name {
                    text: self.plain_string(key_pair),
                    span: ksp,
                }
            }
            _ => self.name(key_pair),
        };
        let value = self.expr(it.next()?);
        Some(Field {
            key,
            value,
            span: sp,
        })
    }

    fn args(&mut self, p: Pair<Rule>) -> Vec<Arg> {
        let mut out = Vec::new();
        for a in p.into_inner() {
            let mut it = a.into_inner();
            let Some(first) = it.next() else { continue };
            match it.next() {
                Some(value) => out.push(Arg {
                    name: Some(self.name(first)),
                    value: self.expr(value),
                }),
                None => out.push(Arg {
                    name: None,
                    value: self.expr(first),
                }),
            }
        }
        out
    }

    fn expr(&mut self, p: Pair<Rule>) -> Expr {
        let sp = self.span(&p);
        match p.as_rule() {
            Rule::expr => {
                let mut it = p.into_inner();
                let Some(first) = it.next() else {
                    return Expr {
                        kind: ExprKind::Error,
                        span: sp,
                    };
                };
                let lhs = self.expr(first);
                match it.next() {
                    Some(rhs) => {
                        let rhs = self.expr(rhs);
                        Expr {
                            kind: ExprKind::Pair(Box::new(lhs), Box::new(rhs)),
                            span: sp,
                        }
                    }
                    None => lhs,
                }
            }
            _ => Expr {
                kind: self.expr_kind(p, sp),
                span: sp,
            },
        }
    }

    fn expr_kind(&mut self, p: Pair<Rule>, sp: Span) -> ExprKind {
        let s = p.as_str();
        match p.as_rule() {
            Rule::record => ExprKind::Record(self.fields(p)),
            Rule::list => ExprKind::List(p.into_inner().map(|e| self.expr(e)).collect()),
            Rule::call => {
                let mut it = p.into_inner();
                let Some(n) = it.next() else {
                    return ExprKind::Error;
                };
                let args = it.next().map(|a| self.args(a)).unwrap_or_default();
                ExprKind::Call(self.name(n), args)
            }
            Rule::path => ExprKind::Path(p.into_inner().map(|x| self.name(x)).collect()),
            Rule::boolean => ExprKind::Bool(s == "true"),
            Rule::string => self.string(p),
            Rule::int => match s.parse::<i64>() {
                Ok(v) => ExprKind::Int(v),
                Err(_) => {
                    self.malformed(sp, "integer is too large", "integers must fit in 64 bits")
                }
            },
            Rule::float => match s.parse::<f64>() {
                Ok(v) if v.is_finite() => ExprKind::Float(v),
                _ => self.malformed(sp, "number is too large", "write a smaller number"),
            },
            Rule::size => self.size(s, sp),
            Rule::duration => self.duration(s, sp),
            Rule::port_proto => {
                let (num, proto) = s.split_once('/').unwrap_or((s, "tcp"));
                match num.parse::<u32>() {
                    Ok(n) => ExprKind::Port(n, parse_proto(proto)),
                    Err(_) => self.malformed(sp, "port number is too large", "ports are 1..65535"),
                }
            }
            Rule::port_range => {
                let (range, proto) = s.split_once('/').unwrap_or((s, "tcp"));
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                match (a.parse::<u32>(), b.parse::<u32>()) {
                    (Ok(a), Ok(b)) => ExprKind::PortRange(a, b, parse_proto(proto)),
                    _ => self.malformed(sp, "port number is too large", "ports are 1..65535"),
                }
            }
            Rule::ipv4 => match s.parse::<std::net::Ipv4Addr>() {
                Ok(ip) => ExprKind::Ip(ip.into()),
                Err(_) => self.malformed(
                    sp,
                    format!("`{s}` is not an IPv4 address"),
                    "an IPv4 address is four numbers 0..255 separated by dots, e.g. 192.168.1.10",
                ),
            },
            Rule::ipv6 => self.cidr_or_ip(s, sp, true),
            Rule::cidr4 => self.cidr_or_ip(s, sp, false),
            _ => ExprKind::Error,
        }
    }

    fn cidr_or_ip(&mut self, s: &str, sp: Span, v6: bool) -> ExprKind {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let ip: Option<std::net::IpAddr> = if v6 {
            addr.parse::<std::net::Ipv6Addr>().ok().map(Into::into)
        } else {
            addr.parse::<std::net::Ipv4Addr>().ok().map(Into::into)
        };
        let max = if v6 { 128 } else { 32 };
        match (ip, prefix) {
            (Some(ip), None) => ExprKind::Ip(ip),
            (Some(ip), Some(p)) => match p.parse::<u8>() {
                Ok(p) if p <= max => ExprKind::Cidr(ip, p),
                _ => self.malformed(
                    sp,
                    format!("`{s}` has an invalid prefix length"),
                    if v6 { "an IPv6 prefix is 0..128" } else { "an IPv4 prefix is 0..32, e.g. 10.0.0.0/8" },
                ),
            },
            (None, _) => self.malformed(
                sp,
                format!("`{s}` is not an {} address", if v6 { "IPv6" } else { "IPv4" }),
                if v6 {
                    "an IPv6 address is up to eight groups of hex digits separated by `:`, e.g. 2001:db8::1"
                } else {
                    "an IPv4 address is four numbers 0..255 separated by dots, e.g. 10.0.0.0/8"
                },
            ),
        }
    }

    fn malformed(&mut self, sp: Span, msg: impl Into<String>, help: &str) -> ExprKind {
        self.error(Code::MalformedLiteral, msg, sp, help);
        ExprKind::Error
    }

    fn size(&mut self, s: &str, sp: Span) -> ExprKind {
        if s.starts_with('-') {
            self.error(
                Code::OutOfRange,
                "a size cannot be negative",
                sp,
                "sizes are 0 or more, e.g. 512MiB",
            );
            return ExprKind::Error;
        }
        let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let mult: u64 = match unit {
            "B" => 1,
            "KB" => 1000,
            "MB" => 1000u64.pow(2),
            "GB" => 1000u64.pow(3),
            "TB" => 1000u64.pow(4),
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            _ => 1 << 40,
        };
        let bytes = if let Some((int, frac)) = num.split_once('.') {
            let v: f64 = format!("{int}.{frac}").parse().unwrap_or(f64::INFINITY);
            let b = v * mult as f64;
            if b.is_finite() && b < u64::MAX as f64 {
                Some(b.round() as u64)
            } else {
                None
            }
        } else {
            num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult))
        };
        match bytes {
            Some(b) => ExprKind::Size(b),
            None => self.malformed(sp, "size is too large", "sizes must be below 16 EiB"),
        }
    }

    fn duration(&mut self, s: &str, sp: Span) -> ExprKind {
        if s.starts_with('-') {
            self.error(
                Code::OutOfRange,
                "a duration cannot be negative",
                sp,
                "durations are 0 or more, e.g. 30s",
            );
            return ExprKind::Error;
        }
        let mut total: u64 = 0;
        let mut num = String::new();
        let mut chars = s.chars().peekable();
        let mut last_rank = u8::MAX;
        while let Some(c) = chars.next() {
            if c.is_ascii_digit() {
                num.push(c);
                continue;
            }
            let (unit, rank) = match c {
                'm' if chars.peek() == Some(&'s') => {
                    chars.next();
                    (1, 0)
                }
                's' => (1000, 1),
                'm' => (60_000, 2),
                'h' => (3_600_000, 3),
                _ => (86_400_000, 4),
            };
            if rank >= last_rank {
                return self.malformed(
                    sp,
                    format!("`{s}` repeats or misorders its units"),
                    "write units from largest to smallest, each once, e.g. 1h30m",
                );
            }
            last_rank = rank;
            let Some(v) = num.parse::<u64>().ok().and_then(|n| n.checked_mul(unit)) else {
                return self.malformed(sp, "duration is too large", "write a smaller duration");
            };
            total = match total.checked_add(v) {
                Some(t) => t,
                None => {
                    return self.malformed(sp, "duration is too large", "write a smaller duration");
                }
            };
            num.clear();
        }
        ExprKind::Duration(total)
    }

    fn string(&mut self, p: Pair<Rule>) -> ExprKind {
        let mut parts: Vec<StrPart> = Vec::new();
        let Some(inner) = p.into_inner().next() else {
            return ExprKind::Str(parts);
        };
        let triple = inner.as_rule() == Rule::triple_string;
        for piece in inner.into_inner() {
            match piece.as_rule() {
                Rule::interp => {
                    if let Some(e) = piece.into_inner().next() {
                        parts.push(StrPart::Interp(self.expr(e)));
                    }
                }
                Rule::escape => {
                    let sp = self.span(&piece);
                    match unescape(piece.as_str()) {
                        Some(c) => push_text(&mut parts, c),
                        None => {
                            self.error(
                                Code::MalformedLiteral,
                                format!("unknown escape `{}`", piece.as_str()),
                                sp,
                                "known escapes: \\n \\t \\r \\\\ \\\" \\$",
                            );
                        }
                    }
                }
                _ => {
                    let t = piece.as_str();
                    push_text_str(&mut parts, t);
                }
            }
        }
        if triple {
            dedent(&mut parts);
        }
        ExprKind::Str(parts)
    }

    fn plain_string(&mut self, p: Pair<Rule>) -> String {
        let mut out = String::new();
        for piece in p.into_inner() {
            if piece.as_rule() == Rule::escape {
                match unescape(piece.as_str()) {
                    Some(c) => out.push(c),
                    None => self.error(
                        Code::MalformedLiteral,
                        format!("unknown escape `{}`", piece.as_str()),
                        self.span(&piece),
                        "known escapes: \\n \\t \\r \\\\ \\\" \\$",
                    ),
                }
            } else {
                out.push_str(piece.as_str());
            }
        }
        out
    }
}

fn parse_proto(s: &str) -> Proto {
    if s == "udp" { Proto::Udp } else { Proto::Tcp }
}

fn unescape(s: &str) -> Option<char> {
    Some(match s.chars().nth(1)? {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '\\' => '\\',
        '"' => '"',
        '$' => '$',
        _ => return None,
    })
}

fn push_text(parts: &mut Vec<StrPart>, c: char) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push(c);
    } else {
        parts.push(StrPart::Text(c.to_string()));
    }
}

fn push_text_str(parts: &mut Vec<StrPart>, s: &str) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push_str(s);
    } else {
        parts.push(StrPart::Text(s.to_string()));
    }
}

/// `"""` strings: drop the first newline and the common indentation, so they can be
/// indented with the surrounding code.
fn dedent(parts: &mut [StrPart]) {
    let mut text = String::new();
    for p in parts.iter() {
        match p {
            StrPart::Text(t) => text.push_str(t),
            StrPart::Interp(_) => text.push('x'),
        }
    }
    let indent = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut at_line_start = false;
    for (i, p) in parts.iter_mut().enumerate() {
        if let StrPart::Text(t) = p {
            let mut out = String::with_capacity(t.len());
            let mut src = t.as_str();
            if i == 0
                && let Some(rest) = src.strip_prefix("\r\n").or_else(|| src.strip_prefix('\n'))
            {
                src = rest;
                at_line_start = true;
            }
            for ch_line in src.split_inclusive('\n') {
                let mut line = ch_line;
                if at_line_start {
                    let strip = line.len() - line.trim_start_matches([' ', '\t']).len();
                    line = &line[strip.min(indent)..];
                }
                out.push_str(line);
                at_line_start = line.ends_with('\n');
            }
            *t = out;
        } else {
            at_line_start = false;
        }
    }
    // A closing `"""` on its own line leaves trailing indentation: trim it.
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        let trimmed = t.trim_end_matches([' ', '\t']).len();
        t.truncate(trimmed);
    }
}

/// The `///` doc comment lines directly above `offset`.
pub fn doc_before(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let mut lines: Vec<&str> = Vec::new();
    for line in before
        .lines()
        .rev()
        .skip(usize::from(!before.ends_with('\n')))
    {
        let t = line.trim();
        if let Some(d) = t.strip_prefix("///") {
            lines.push(d.strip_prefix(' ').unwrap_or(d));
        } else {
            break;
        }
    }
    lines.reverse();
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large file parsed in parts gives exactly what the one-piece parse gives: items,
    /// spans, doc comments and diagnostics, also when keywords hide in strings and comments.
    #[test]
    fn parts_parse_like_the_whole() {
        let mut src = String::from("import std.apps.{redis}\n");
        for i in 0..3000 {
            src.push_str(&format!(
                "/// doc {i}\nservice s{i} on h{} = redis(maxmemory = {}MiB) {{\n  env {{ A = \"x\\\" service in a string {{\" }}\n}}\n/* block\nservice in a comment\n*/\ndomain d{i}.example.org -> s{i}.port.redis\nconst c{i} = \"\"\"\nhost in a triple {{\n\"\"\"\n",
                i % 7,
                64 + i
            ));
        }
        assert!(src.len() > PARALLEL_MIN_BYTES);
        let cuts = item_boundaries(&src, 4);
        assert_eq!(cuts.len(), 4, "{cuts:?}");
        let (whole, whole_diags) = parse_part(FileId(0), &src, 0, src.len()).unwrap_or_default();
        let (parted, parted_diags) = parse(FileId(0), &src);
        assert_eq!(format!("{whole:?}"), format!("{:?}", parted.items));
        assert_eq!(whole_diags, parted_diags);
        assert_eq!(parted.items.len(), 1 + 3 * 3000);
        // A syntax error in one part: the whole file's first error, as before.
        let broken = src.replacen("service s2999 on", "service s2999 on on", 1);
        let (f, d) = parse(FileId(0), &broken);
        assert!(f.items.is_empty());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::Syntax);
    }

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
            panic!()
        };
        let ExprKind::List(items) = &c.value.kind else {
            panic!()
        };
        let kinds: Vec<String> = items
            .iter()
            .map(|e| format!("{:?}", e.kind).chars().take(12).collect())
            .collect();
        assert!(
            matches!(items[0].kind, ExprKind::Duration(30_000)),
            "{kinds:?}"
        );
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
}
