//! The grammar of record: `grammar.pest`, run by pest, and the same tree building the parser
//! does. It is not how sparkc parses (see [`super::parser`]); it is the oracle the parser is
//! held to: for every input this accepts, the parser must build the same tree with the same
//! diagnostics, and for every input it rejects, the parser must report a syntax error (the
//! differential test over every fixture, example and fuzz corpus file, and the `parse` fuzz
//! target). Every grammar change updates both.

use super::ast::*;
use super::literal::{self, LitError, Number};
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};
use pest::Parser;
use pest::iterators::Pair;

#[derive(pest_derive::Parser)]
#[grammar = "syntax/grammar.pest"]
struct SparkParser;

/// The items of `text` and the diagnostics building them raised (malformed literals), or
/// `None` when the grammar rejects `text`.
pub fn parse(file: FileId, text: &str) -> Option<(Vec<Item>, Vec<Diagnostic>)> {
    let pairs = SparkParser::parse(Rule::file, text).ok()?;
    let mut cx = Cx {
        file,
        text,
        offset: 0,
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
    Some((items, cx.diags))
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
            text: p.as_str().into(),
            span: self.span(&p),
        }
    }

    fn doc(&self, at: Span) -> String {
        literal::doc_before(self.text, at.start as usize)
    }

    fn item(&mut self, p: Pair<Rule>) -> Option<Item> {
        let sp = self.span(&p);
        match p.as_rule() {
            Rule::import => {
                let inner = p.into_inner().nth(1)?;
                let target = if inner.as_rule() == Rule::import_file {
                    let s = inner.into_inner().next()?;
                    ImportTarget::File {
                        span: self.span(&s),
                        path: self.plain_string(s),
                    }
                } else {
                    let mut it = inner.into_inner();
                    let module = self.name(it.next()?);
                    let names = it
                        .next()
                        .map(|l| l.into_inner().map(|x| self.name(x)).collect())
                        .unwrap_or_default();
                    ImportTarget::Std { module, names }
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
                            d.placement = part.into_inner().nth(1).map(|x| self.name(x));
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
                let first = it.next()?;
                let name_expr = (first.as_rule() == Rule::string).then(|| {
                    let span = self.span(&first);
                    Box::new(Expr {
                        kind: self.string(first.clone()),
                        span,
                    })
                });
                let n = self.name(first);
                let mut d = self.empty_decl(DeclKind::Domain, n, sp);
                d.name_expr = name_expr;
                d.route = Some(self.expr(it.next()?));
                if let Some(b) = it.next() {
                    d.body = self.fields(b);
                }
                Some(Item::Decl(d))
            }
            Rule::secret_decl | Rule::var_decl => {
                let kind = if p.as_rule() == Rule::var_decl {
                    DeclKind::Variable
                } else {
                    DeclKind::Secret
                };
                let mut it = p.into_inner().skip(1);
                let n = self.name(it.next()?);
                let mut d = self.empty_decl(kind, n, sp);
                for part in it {
                    match part.as_rule() {
                        Rule::secret_source => {
                            let ssp = self.span(&part);
                            let mut si = part.into_inner().skip(1);
                            let kind = self.name(si.next()?);
                            let value = self.plain_string(si.next()?);
                            d.source = Some((kind, value, ssp));
                        }
                        Rule::var_default => {
                            d.default = Some(Box::new(self.expr(part.into_inner().nth(1)?)));
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
            name_expr: None,
            source: None,
            default: None,
            body: Vec::new(),
            span: sp,
            doc: self.doc(sp),
        }
    }

    fn type_expr(&mut self, p: Pair<Rule>) -> TypeExpr {
        let sp = self.span(&p);
        let Some(inner) = p.into_inner().next() else {
            return TypeExpr::Named(Name {
                text: smol_str::SmolStr::default(),
                span: sp,
            });
        };
        match inner.as_rule() {
            Rule::list_type => match inner.into_inner().next() {
                Some(t) => TypeExpr::List(Box::new(self.type_expr(t)), sp),
                None => TypeExpr::Named(Name {
                    text: smol_str::SmolStr::default(),
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
                    text: self.plain_string(key_pair).into(),
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
            Rule::int => self.number(Number::Int, s, sp),
            Rule::float => self.number(Number::Float, s, sp),
            Rule::size => self.number(Number::Size, s, sp),
            Rule::duration => self.number(Number::Duration, s, sp),
            Rule::port_proto => self.number(Number::PortProto, s, sp),
            Rule::port_range => self.number(Number::PortRange, s, sp),
            Rule::ipv4 => self.number(Number::Ipv4, s, sp),
            Rule::ipv6 => self.number(Number::Ipv6, s, sp),
            Rule::cidr4 => self.number(Number::Cidr4, s, sp),
            Rule::ip_port => self.number(Number::IpPort, s, sp),
            _ => ExprKind::Error,
        }
    }

    fn number(&mut self, kind: Number, s: &str, sp: Span) -> ExprKind {
        match literal::number(kind, s) {
            Ok(k) => k,
            Err(e) => {
                self.lit_error(e, sp);
                ExprKind::Error
            }
        }
    }

    fn lit_error(&mut self, e: LitError, sp: Span) {
        self.diags
            .push(Diagnostic::error(e.code, e.message, self.file, sp).help(e.help.to_string()));
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
                Rule::triple_dollar => literal::push_text_str(&mut parts, "${"),
                Rule::escape => {
                    let sp = self.span(&piece);
                    match literal::unescape(piece.as_str()) {
                        Some(c) => literal::push_text(&mut parts, c),
                        None => self.lit_error(literal::unknown_escape(piece.as_str()), sp),
                    }
                }
                _ => {
                    let t = piece.as_str();
                    literal::push_text_str(&mut parts, t);
                }
            }
        }
        if triple {
            literal::dedent(&mut parts);
        }
        ExprKind::Str(parts)
    }

    fn plain_string(&mut self, p: Pair<Rule>) -> String {
        let mut out = String::new();
        for piece in p.into_inner() {
            if piece.as_rule() == Rule::escape {
                if let Some(c) = literal::unescape(piece.as_str()) {
                    out.push(c);
                } else {
                    let sp = self.span(&piece);
                    self.lit_error(literal::unknown_escape(piece.as_str()), sp);
                }
            } else {
                out.push_str(piece.as_str());
            }
        }
        out
    }
}
