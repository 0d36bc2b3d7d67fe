//! Step 2b: evaluate expressions. Constants and parameters are substituted, templates are
//! instantiated and merged with the user's overrides, string interpolation is done, and
//! references to declarations stay symbolic ([`Val::Ref`]) until lowering gives them a type.

use super::Symbols;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::source::{FileId, Loc, Span};
use crate::syntax::ast::{self, DeclKind, ExprKind, Proto, StrPart};
use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;
use std::rc::Rc;

#[derive(Debug, Clone)]
pub struct V {
    pub val: Val,
    pub loc: Loc,
}

pub type Rec = Vec<(ast::Name, V, FileId)>;

/// The types a template parameter may have (and `[T]`, a list of one of them).
pub const PARAM_TYPES: &[&str] = &[
    "any", "secret", "string", "int", "float", "bool", "size", "duration", "port", "ip", "cidr",
    "record", "service", "host", "network",
];

#[derive(Debug, Clone)]
pub enum Val {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Size(u64),
    Duration(u64),
    Port(u32, Proto),
    PortRange(u32, u32, Proto),
    Ip(IpAddr),
    /// `127.0.0.1:9000`.
    IpPort(IpAddr, u32),
    Cidr(IpAddr, u8),
    List(Vec<V>),
    Record(Rec),
    Call(ast::Name, Vec<(Option<ast::Name>, V)>),
    Pair(Box<V>, Box<V>),
    /// A declaration (symbol index) and the field path after it, not yet followed.
    Ref(usize, Vec<ast::Name>),
    /// `secret.path`: the file a compose/kubernetes secret is mounted at.
    SecretPath(usize),
    /// Text with pieces the deploy tool fills in: variables and secrets (`"x:${version}"`).
    Subst(Vec<Piece>),
    /// A bare name that is not in scope: an enum variant, a local name, or an error
    /// that lowering reports with the expected type in hand.
    Name(smol_str::SmolStr),
    /// Already reported.
    Error,
}

/// A piece of [`Val::Subst`] text.
#[derive(Debug, Clone)]
pub enum Piece {
    Text(String),
    /// A variable or a secret (its symbol), and where it is interpolated.
    Sym(usize, Loc),
}

/// A string being evaluated: the text since the last piece to fill in, and the pieces
/// before it (none, for a string with nothing to fill in: it stays one `String`).
#[derive(Default)]
struct TextBuilder {
    cur: String,
    done: Vec<Piece>,
}

impl TextBuilder {
    fn sym(&mut self, p: Piece) {
        if !self.cur.is_empty() {
            self.done.push(Piece::Text(std::mem::take(&mut self.cur)));
        }
        self.done.push(p);
    }

    fn finish(mut self) -> Val {
        if self.done.is_empty() {
            return Val::Str(self.cur);
        }
        if !self.cur.is_empty() {
            self.done.push(Piece::Text(self.cur));
        }
        Val::Subst(self.done)
    }
}

impl Val {
    /// How the value's type is named in "expected X, found Y".
    pub fn describe(&self, syms: &Symbols) -> String {
        match self {
            Val::Str(_) => "a string".into(),
            Val::Int(_) => "an integer".into(),
            Val::Float(_) => "a number".into(),
            Val::Bool(_) => "a boolean".into(),
            Val::Size(_) => "a size".into(),
            Val::Duration(_) => "a duration".into(),
            Val::Port(..) => "a port".into(),
            Val::PortRange(..) => "a port range".into(),
            Val::Ip(_) => "an IP address".into(),
            Val::IpPort(..) => "an address and port".into(),
            Val::Cidr(..) => "a CIDR network".into(),
            Val::List(_) => "a list".into(),
            Val::Record(_) => "a record".into(),
            Val::Call(n, _) => format!("`{}(...)`", n.text),
            Val::Pair(..) => "a mapping `a -> b`".into(),
            Val::Ref(s, path) if path.is_empty() => {
                format!("the {} `{}`", syms.list[*s].kind_name(), syms.list[*s].name)
            }
            Val::Ref(s, path) => format!(
                "`{}.{}`",
                syms.list[*s].name,
                path.iter()
                    .map(|n| n.text.as_str())
                    .collect::<Vec<_>>()
                    .join(".")
            ),
            Val::SecretPath(_) => "a secret's file path".into(),
            Val::Subst(_) => "a string completed at deploy time".into(),
            Val::Name(n) => format!("the name `{n}`"),
            Val::Error => "an invalid value".into(),
        }
    }
}

pub struct Evaluator<'a> {
    pub files: &'a [std::sync::Arc<ast::File>],
    pub syms: &'a Symbols,
    pub diags: &'a mut Vec<Diagnostic>,
    consts: HashMap<usize, V>,
    records: HashMap<usize, Rc<Rec>>,
    busy: Vec<usize>,
    /// Templates being instantiated through `= kind base(...)` chains, for cycle detection.
    template_stack: Vec<usize>,
    /// Symbols referred to anywhere, for the unused-declaration warning.
    pub used: Vec<bool>,
    /// Services named inside the text of a declaration being evaluated (`"${db}:3306"`),
    /// by that declaration: it connects to them by name.
    mentions: HashMap<usize, Vec<(usize, Loc)>>,
    /// The user declaration being lowered: every diagnostic raised meanwhile is about it.
    pub subject: Option<crate::diag::Subject>,
    /// Every place a name resolved to a symbol (for go-to-definition, references, rename).
    pub references: Vec<(Loc, usize)>,
}

/// Parameter values visible while evaluating a template body.
pub type Params = HashMap<smol_str::SmolStr, V>;

impl<'a> Evaluator<'a> {
    pub fn new(
        files: &'a [std::sync::Arc<ast::File>],
        syms: &'a Symbols,
        diags: &'a mut Vec<Diagnostic>,
    ) -> Self {
        Evaluator {
            files,
            syms,
            diags,
            consts: HashMap::default(),
            records: HashMap::default(),
            busy: Vec::new(),
            template_stack: Vec::new(),
            used: vec![false; syms.list.len()],
            mentions: HashMap::default(),
            subject: None,
            references: Vec::new(),
        }
    }

    /// A fresh evaluator over the same sources for another thread, knowing the constants
    /// this one has evaluated; what it reports goes to `diags`. [`Evaluator::absorb`] takes
    /// back what it recorded.
    pub fn fork<'b>(
        files: &'b [std::sync::Arc<ast::File>],
        syms: &'b Symbols,
        consts: HashMap<usize, V>,
        diags: &'b mut Vec<Diagnostic>,
    ) -> Evaluator<'b> {
        let mut ev = Evaluator::new(files, syms, diags);
        ev.consts = consts;
        ev
    }

    /// The constants evaluated so far, for [`Evaluator::fork`].
    pub fn consts(&self) -> HashMap<usize, V> {
        self.consts.clone()
    }

    /// What a fork recorded: the symbols it saw used, the references it resolved.
    pub fn absorb(&mut self, used: &[bool], references: Vec<(Loc, usize)>) {
        for (mine, theirs) in self.used.iter_mut().zip(used) {
            *mine |= *theirs;
        }
        self.references.extend(references);
    }

    /// The services whose names the text of declaration `sym` contains, where (taken: each
    /// declaration is lowered once).
    pub fn take_mentions(&mut self, sym: usize) -> Vec<(usize, Loc)> {
        self.mentions.remove(&sym).unwrap_or_default()
    }

    pub fn err(&mut self, d: Diagnostic) {
        match &self.subject {
            Some(s) => self.diags.push(d.about(s.clone())),
            None => self.diags.push(d),
        }
    }

    pub fn eval(&mut self, e: &ast::Expr, file: FileId, params: Option<&Params>) -> V {
        let loc = Loc { file, span: e.span };
        let val = match &e.kind {
            ExprKind::Int(i) => Val::Int(*i),
            ExprKind::Float(f) => Val::Float(*f),
            ExprKind::Bool(b) => Val::Bool(*b),
            ExprKind::Size(s) => Val::Size(*s),
            ExprKind::Duration(d) => Val::Duration(*d),
            ExprKind::Port(p, pr) => Val::Port(*p, *pr),
            ExprKind::PortRange(a, b, pr) => Val::PortRange(*a, *b, *pr),
            ExprKind::Ip(ip) => Val::Ip(*ip),
            ExprKind::IpPort(ip, p) => Val::IpPort(*ip, *p),
            ExprKind::Cidr(ip, p) => Val::Cidr(*ip, *p),
            ExprKind::Error => Val::Error,
            ExprKind::Str(parts) => self.string(parts, file, params),
            ExprKind::List(items) => {
                Val::List(items.iter().map(|i| self.eval(i, file, params)).collect())
            }
            ExprKind::Record(fields) => Val::Record(self.record(fields, file, params)),
            ExprKind::Call(name, args) => Val::Call(
                name.clone(),
                args.iter()
                    .map(|a| (a.name.clone(), self.eval(&a.value, file, params)))
                    .collect(),
            ),
            ExprKind::Pair(a, b) => Val::Pair(
                Box::new(self.eval(a, file, params)),
                Box::new(self.eval(b, file, params)),
            ),
            ExprKind::Path(names) => return self.path(names, loc, params),
        };
        V { val, loc }
    }

    /// Evaluate a body, reporting fields written twice.
    pub fn record(&mut self, fields: &[ast::Field], file: FileId, params: Option<&Params>) -> Rec {
        let mut out: Rec = Vec::with_capacity(fields.len());
        for f in fields {
            if let Some((first, _, ffile)) = out.iter().find(|(k, _, _)| k.text == f.key.text) {
                let d = Diagnostic::error(Code::Duplicate, format!("field `{}` is set twice", f.key.text), file, f.key.span)
                    .label("set again here")
                    .with_secondary(*ffile, first.span, "first set here")
                    .help("remove one of the two; to override a template's value, set it once in the declaration's body");
                self.err(d);
                continue;
            }
            let v = self.eval(&f.value, file, params);
            out.push((f.key.clone(), v, file));
        }
        out
    }

    fn path(&mut self, names: &[ast::Name], loc: Loc, params: Option<&Params>) -> V {
        let first = &names[0];
        let base = if let Some(v) = params.and_then(|p| p.get(&first.text)) {
            V {
                val: v.val.clone(),
                loc: v.loc,
            }
        } else if let Some(sym) = self.syms.lookup_from(loc.file, &first.text) {
            self.used[sym] = true;
            if self.syms.list[sym].broken {
                // Its declaration's syntax error is reported; nothing more to say here.
                return V {
                    val: Val::Error,
                    loc,
                };
            }
            self.references.push((
                Loc {
                    file: loc.file,
                    span: first.span,
                },
                sym,
            ));
            match self.syms.list[sym].kind {
                super::SymKind::Decl(_) => {
                    return V {
                        val: Val::Ref(sym, names[1..].to_vec()),
                        loc,
                    };
                }
                // Templates have their own namespace and never come back from `lookup`.
                super::SymKind::Const | super::SymKind::Template => self.const_value(sym),
            }
        } else if names.len() == 1 {
            return V {
                val: Val::Name(first.text.clone()),
                loc,
            };
        } else {
            self.unresolved(&first.text, loc.file, first.span);
            return V {
                val: Val::Error,
                loc,
            };
        };
        let mut v = base;
        v.loc = loc;
        for n in &names[1..] {
            v = self.field_of(v, n, loc.file);
        }
        v
    }

    /// Report a name that is in scope nowhere. Bare names stay [`Val::Name`] until a field
    /// decides what they may be (an enum variant such as `proxy = caddy` is fine even when
    /// a template `caddy` is imported), so this runs only where a value was required.
    pub fn unresolved(&mut self, name: &str, file: FileId, span: Span) {
        if self.syms.lookup_template(name).is_some() {
            self.err(
                Diagnostic::error(
                    Code::WrongKind,
                    format!("`{name}` is a template, not a value"),
                    file,
                    span,
                )
                .label("a template makes declarations")
                .help(format!(
                    "instantiate it in a declaration: `service x on HOST = {name}(...)`"
                )),
            );
            return;
        }
        let mut d = Diagnostic::error(
            Code::Unresolved,
            format!("cannot find `{name}`"),
            file,
            span,
        )
        .label("not declared anywhere in the project");
        d.help = Some(match did_you_mean(name, self.syms.names()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "declare it, or import the file or stdlib module that declares it".into(),
        });
        self.err(d);
    }

    /// `v.name`: a field of a record, or a step further along a reference.
    pub fn field_of(&mut self, v: V, n: &ast::Name, file: FileId) -> V {
        match v.val {
            Val::Record(rec) => {
                if let Some((_, fv, _)) = rec.iter().find(|(k, _, _)| k.text == n.text) {
                    V {
                        val: fv.val.clone(),
                        loc: v.loc,
                    }
                } else {
                    let mut d = Diagnostic::error(
                        Code::UnknownField,
                        format!("no field `{}` here", n.text),
                        file,
                        n.span,
                    );
                    if let Some(s) =
                        did_you_mean(&n.text, rec.iter().map(|(k, _, _)| k.text.as_str()))
                    {
                        d = d.help(format!("did you mean `{s}`?"));
                    } else {
                        let keys: Vec<&str> = rec.iter().map(|(k, _, _)| k.text.as_str()).collect();
                        d = d.help(format!("the record has: {}", keys.join(", ")));
                    }
                    self.err(d);
                    V {
                        val: Val::Error,
                        loc: v.loc,
                    }
                }
            }
            Val::Ref(s, mut path) => {
                path.push(n.clone());
                V {
                    val: Val::Ref(s, path),
                    loc: v.loc,
                }
            }
            Val::Error => v,
            other => {
                let what = other.describe(self.syms);
                self.err(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("{what} has no field `{}`", n.text),
                        file,
                        n.span,
                    )
                    .help("only records and declarations have fields"),
                );
                V {
                    val: Val::Error,
                    loc: v.loc,
                }
            }
        }
    }

    fn const_value(&mut self, sym: usize) -> V {
        if let Some(v) = self.consts.get(&sym) {
            return v.clone();
        }
        let s = &self.syms.list[sym];
        if self.busy.contains(&sym) {
            let d = Diagnostic::error(
                Code::TemplateRecursion,
                format!("`{}` refers to itself", s.name),
                s.file,
                s.name_span,
            )
            .help("a constant's value cannot depend on itself");
            self.err(d);
            return V {
                val: Val::Error,
                loc: Loc {
                    file: s.file,
                    span: s.name_span,
                },
            };
        }
        let (file, item) = (s.file, s.item);
        let ast::Item::Const(c) = &self.files[file.0 as usize].items[item] else {
            return V {
                val: Val::Error,
                loc: Loc {
                    file,
                    span: s.name_span,
                },
            };
        };
        self.busy.push(sym);
        let v = self.eval(&c.value, file, None);
        self.busy.pop();
        self.consts.insert(sym, v.clone());
        v
    }

    /// Follow a reference to its value (`web01.address`, `db.port.mysql`).
    pub fn deref(&mut self, sym: usize, path: &[ast::Name], loc: Loc) -> V {
        let s = &self.syms.list[sym];
        if s.kind == super::SymKind::Decl(DeclKind::Variable) {
            if let Some(p) = path.first() {
                self.err(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("a variable has no field `{}`", p.text),
                        loc.file,
                        p.span,
                    )
                    .label("unknown field")
                    .help(format!(
                        "use the variable itself (`{}`): its value is read at deploy time",
                        s.name
                    )),
                );
                return V {
                    val: Val::Error,
                    loc,
                };
            }
            return V {
                val: Val::Ref(sym, Vec::new()),
                loc,
            };
        }
        if s.kind == super::SymKind::Decl(DeclKind::Secret) {
            return match path {
                [] => V {
                    val: Val::Ref(sym, Vec::new()),
                    loc,
                },
                [p] if p.text == "path" => V {
                    val: Val::SecretPath(sym),
                    loc,
                },
                [p, ..] => {
                    self.err(
                        Diagnostic::error(
                            Code::UnknownField,
                            format!("a secret has no field `{}`", p.text),
                            loc.file,
                            p.span,
                        )
                        .help("a secret has one field, `path`: the file it is mounted at"),
                    );
                    V {
                        val: Val::Error,
                        loc,
                    }
                }
            };
        }
        let rec = self.decl_record(sym);
        // Clone only the field the path starts with, not the whole declaration.
        let found = path
            .first()
            .and_then(|n| rec.iter().find(|(k, _, _)| k.text == n.text))
            .map(|(_, fv, _)| fv.val.clone());
        let (mut v, rest) = match found {
            Some(val) => (V { val, loc }, &path[1..]),
            None => (
                V {
                    val: Val::Record((*rec).clone()),
                    loc,
                },
                path,
            ),
        };
        for n in rest {
            v = self.field_of(v, n, loc.file);
            v.loc = loc;
        }
        v
    }

    /// The merged record of a declaration: template body (if any) overridden by its own body.
    /// A declaration's record for the one place that lowers it: taken out of the cache, so
    /// records are not all held at once (a later reference computes it again).
    pub fn take_decl_record(&mut self, sym: usize) -> Rc<Rec> {
        let rec = self.decl_record(sym);
        self.records.remove(&sym);
        rec
    }

    pub fn decl_record(&mut self, sym: usize) -> Rc<Rec> {
        if let Some(r) = self.records.get(&sym) {
            return r.clone();
        }
        let s = &self.syms.list[sym];
        if self.busy.contains(&sym) {
            let d = Diagnostic::error(
                Code::TemplateRecursion,
                format!("`{}` refers to its own fields", s.name),
                s.file,
                s.name_span,
            )
            .help("a declaration's fields cannot be computed from themselves");
            self.err(d);
            return Rc::new(Vec::new());
        }
        let (file, item) = (s.file, s.item);
        let files = self.files;
        let ast::Item::Decl(decl) = &files[file.0 as usize].items[item] else {
            return Rc::new(Vec::new());
        };
        self.busy.push(sym);
        let own = self.record(&decl.body, file, None);
        let rec = match &decl.instance {
            Some(inst) => match self.instantiate(inst, decl.kind, file, None) {
                Some(base) => self.merge(base, own),
                None => own,
            },
            // `add(...)` and `remove(...)` without a template are reported here.
            None if own.iter().any(|(_, v, _)| changes_a_list(v)) => self.merge(Vec::new(), own),
            None => own,
        };
        self.busy.pop();
        let rc = Rc::new(rec);
        self.records.insert(sym, rc.clone());
        rc
    }

    /// Evaluate `inst` (a template call written in `file`; its arguments may use `outer`,
    /// the parameters of a template being built on this one) into the record it makes.
    fn instantiate(
        &mut self,
        inst: &ast::Instance,
        kind: DeclKind,
        file: FileId,
        outer: Option<&Params>,
    ) -> Option<Rec> {
        let found = self.syms.lookup_template(&inst.template.text);
        if let Some(t) = found {
            self.references.push((
                Loc {
                    file,
                    span: inst.template.span,
                },
                t,
            ));
        }
        if found.is_some_and(|t| self.syms.list[t].broken) {
            return None;
        }
        let Some(tsym) = found else {
            let mut d = Diagnostic::error(
                Code::Unresolved,
                format!("cannot find template `{}`", inst.template.text),
                file,
                inst.template.span,
            )
            .label("no such template");
            let templates = self.syms.templates();
            d.help = Some(
                match did_you_mean(&inst.template.text, templates.iter().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "stdlib apps are imported first: `import std.apps.{}`",
                        inst.template.text
                    ),
                },
            );
            self.err(d);
            return None;
        };
        self.used[tsym] = true;
        let ts = &self.syms.list[tsym];
        let (tfile, titem) = (ts.file, ts.item);
        let files = self.files;
        let ast::Item::Template(t) = &files[tfile.0 as usize].items[titem] else {
            return None;
        };
        if t.kind.text != kind.keyword() {
            self.err(
                Diagnostic::error(
                    Code::WrongKind,
                    format!(
                        "template `{}` makes a {}, not a {}",
                        t.name.text,
                        t.kind.text,
                        kind.keyword()
                    ),
                    file,
                    inst.template.span,
                )
                .with_secondary(tfile, t.kind.span, "declared here")
                .help(format!("use it in a `{}` declaration", t.kind.text)),
            );
            return None;
        }
        // Bind arguments to parameters.
        let mut given: Vec<(Option<usize>, &ast::Arg)> = Vec::new();
        let mut positional = 0usize;
        for a in &inst.args {
            if let Some(n) = &a.name {
                if let Some(i) = t.params.iter().position(|p| p.name.text == n.text) {
                    given.push((Some(i), a));
                } else {
                    let mut d = Diagnostic::error(
                        Code::UnknownParam,
                        format!("template `{}` has no parameter `{}`", t.name.text, n.text),
                        file,
                        n.span,
                    )
                    .with_secondary(
                        tfile,
                        t.name.span,
                        "template declared here",
                    );
                    d.help = Some(
                        match did_you_mean(&n.text, t.params.iter().map(|p| p.name.text.as_str())) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!(
                                "its parameters are: {}; fields of the {} itself go in the `{{ ... }}` body after the call",
                                t.params
                                    .iter()
                                    .map(|p| p.name.text.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", "),
                                t.kind.text
                            ),
                        },
                    );
                    self.err(d);
                }
            } else {
                if positional < t.params.len() {
                    given.push((Some(positional), a));
                } else {
                    self.err(
                        Diagnostic::error(
                            Code::UnknownParam,
                            format!(
                                "template `{}` takes {} parameters",
                                t.name.text,
                                t.params.len()
                            ),
                            file,
                            a.value.span,
                        )
                        .label("one argument too many")
                        .help("remove the argument, or name it: `param = value`"),
                    );
                }
                positional += 1;
            }
        }
        let mut params: Params = HashMap::default();
        let mut missing = Vec::new();
        for (i, p) in t.params.iter().enumerate() {
            let v = match given.iter().find(|(gi, _)| *gi == Some(i)) {
                Some((_, a)) => {
                    let v = self.eval(&a.value, file, outer);
                    let declared = Loc {
                        file: tfile,
                        span: Span::new(p.name.span.start as usize, p.ty.span().end as usize),
                    };
                    self.check_param_type(&v, &p.ty, &p.name.text, declared)
                }
                // A default may use the parameters before it (`database: string = app`).
                None => {
                    if let Some(d) = &p.default {
                        self.eval(d, tfile, Some(&params))
                    } else {
                        missing.push(p.name.text.as_str());
                        V {
                            val: Val::Error,
                            loc: Loc {
                                file,
                                span: inst.span,
                            },
                        }
                    }
                }
            };
            params.insert(p.name.text.clone(), v);
        }
        if !missing.is_empty() {
            self.err(
                Diagnostic::error(
                    Code::MissingParam,
                    format!(
                        "template `{}` needs {} {}",
                        t.name.text,
                        if missing.len() == 1 {
                            "parameter"
                        } else {
                            "parameters"
                        },
                        missing
                            .iter()
                            .map(|m| format!("`{m}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    file,
                    inst.span,
                )
                .label("missing here")
                .with_secondary(tfile, t.name.span, "template declared here")
                .help(format!(
                    "pass them by name: `{}({} = ...)`",
                    t.name.text, missing[0]
                )),
            );
        }
        let own = self.record(&t.body, tfile, Some(&params));
        let Some(base) = &t.base else {
            return Some(own);
        };
        // A template built on another: the base's record, then this one's fields over it.
        if let Some(pos) = self.template_stack.iter().position(|x| *x == tsym) {
            let chain: Vec<&str> = self.template_stack[pos..]
                .iter()
                .chain(std::iter::once(&tsym))
                .map(|x| self.syms.list[*x].name.as_str())
                .collect();
            self.err(
                Diagnostic::error(
                    Code::TemplateRecursion,
                    format!(
                        "template `{}` is built on itself: {}",
                        t.name.text,
                        chain.join(" → ")
                    ),
                    tfile,
                    base.template.span,
                )
                .label("this chain of templates comes back here")
                .help("a template may build on another template, never on itself"),
            );
            return None;
        }
        self.template_stack.push(tsym);
        let base_rec = self.instantiate(base, kind, tfile, Some(&params));
        self.template_stack.pop();
        Some(self.merge(base_rec?, own))
    }

    /// Check an argument against a parameter's declared type.
    fn check_param_type(&mut self, v: &V, ty: &ast::TypeExpr, param: &str, declared: Loc) -> V {
        let ok = self.conforms(v, ty);
        match ok {
            Ok(()) => v.clone(),
            Err((code, expected)) => {
                let found = v.val.describe(self.syms);
                let mut d = Diagnostic::error(
                    code,
                    format!("parameter `{param}` expects {expected}, found {found}"),
                    v.loc.file,
                    v.loc.span,
                )
                .label(format!("expected {expected}"))
                .with_secondary(
                    declared.file,
                    declared.span,
                    "the parameter is declared here",
                );
                d.help = Some(match code {
                    Code::PlainAsSecret => "declare a secret (`secret name from env \"VAR\"`) and pass its name: secret values never appear in sources or artifacts".into(),
                    Code::SecretAsPlain => "this parameter ends up in plain text; pass a plain value".into(),
                    _ => format!("pass {expected}"),
                });
                self.err(d);
                V {
                    val: Val::Error,
                    loc: v.loc,
                }
            }
        }
    }

    /// Report every parameter type name that is not one of [`PARAM_TYPES`] (`strnig`).
    pub fn check_param_types(
        template: &ast::TemplateDecl,
        file: FileId,
        diags: &mut Vec<Diagnostic>,
    ) {
        fn walk(ty: &ast::TypeExpr, file: FileId, diags: &mut Vec<Diagnostic>) {
            match ty {
                ast::TypeExpr::List(inner, _) => walk(inner, file, diags),
                ast::TypeExpr::Named(n) if !PARAM_TYPES.contains(&n.text.as_str()) => {
                    let mut d = Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{}` is not a type", n.text),
                        file,
                        n.span,
                    )
                    .label("unknown parameter type");
                    // What other languages call them, and near misses of those.
                    const ALIASES: &[(&str, &str)] = &[
                        ("integer", "int"),
                        ("number", "float"),
                        ("str", "string"),
                        ("text", "string"),
                        ("boolean", "bool"),
                        ("map", "record"),
                        ("object", "record"),
                        ("dict", "record"),
                        ("address", "ip"),
                    ];
                    let alias = crate::diag::did_you_mean(&n.text, ALIASES.iter().map(|(a, _)| *a))
                        .and_then(|a| ALIASES.iter().find(|(x, _)| *x == a))
                        .map(|(_, t)| *t);
                    let near = crate::diag::did_you_mean(&n.text, PARAM_TYPES.iter().copied());
                    d.help = Some(match near.or(alias) {
                        Some(t) => format!("did you mean `{t}`?"),
                        None => format!(
                            "parameter types are: {}, and `[T]` for a list",
                            PARAM_TYPES.join(", ")
                        ),
                    });
                    diags.push(d);
                }
                ast::TypeExpr::Named(_) => {}
            }
        }
        for p in &template.params {
            walk(&p.ty, file, diags);
        }
    }

    fn conforms(&self, v: &V, ty: &ast::TypeExpr) -> Result<(), (Code, String)> {
        let is_secret = matches!(&v.val, Val::Ref(s, p) if p.is_empty() && self.syms.list[*s].kind == super::SymKind::Decl(DeclKind::Secret));
        let name = match ty {
            ast::TypeExpr::List(inner, _) => {
                return match &v.val {
                    Val::List(items) => items.iter().try_for_each(|i| self.conforms(i, inner)),
                    Val::Error => Ok(()),
                    _ => Err((Code::TypeMismatch, "a list".into())),
                };
            }
            ast::TypeExpr::Named(n) => n.text.as_str(),
        };
        if matches!(v.val, Val::Error) || name == "any" {
            return Ok(());
        }
        if name == "secret" {
            return if is_secret {
                Ok(())
            } else {
                Err((Code::PlainAsSecret, "a secret".into()))
            };
        }
        if is_secret {
            return Err((Code::SecretAsPlain, format!("a plain {name}")));
        }
        let decl_kind = |k: DeclKind| matches!(&v.val, Val::Ref(s, p) if p.is_empty() && self.syms.list[*s].kind == super::SymKind::Decl(k));
        let ok = match name {
            // A variable, or text with one, is a string the deploy tool completes: lowering
            // says where that cannot be.
            "string" => {
                matches!(v.val, Val::Str(_) | Val::Subst(_)) || decl_kind(DeclKind::Variable)
            }
            "int" => matches!(v.val, Val::Int(_)),
            "float" => matches!(v.val, Val::Int(_) | Val::Float(_)),
            "bool" => matches!(v.val, Val::Bool(_)),
            "size" => matches!(v.val, Val::Size(_)),
            "duration" => matches!(v.val, Val::Duration(_)),
            "port" => matches!(v.val, Val::Int(_) | Val::Port(..)),
            "ip" => matches!(v.val, Val::Ip(_)),
            "cidr" => matches!(v.val, Val::Cidr(..)),
            "record" => matches!(v.val, Val::Record(_)),
            "service" => decl_kind(DeclKind::Service),
            "host" => decl_kind(DeclKind::Host),
            "network" => decl_kind(DeclKind::Network),
            _ => true,
        };
        let article = match name {
            "int" | "ip" => "an",
            _ => "a",
        };
        if ok {
            Ok(())
        } else {
            Err((Code::TypeMismatch, format!("{article} {name}")))
        }
    }

    fn string(&mut self, parts: &[StrPart], file: FileId, params: Option<&Params>) -> Val {
        // Most strings are one literal: no pieces to build.
        if let [StrPart::Text(t)] = parts {
            return Val::Str(t.clone());
        }
        let mut text = TextBuilder::default();
        for p in parts {
            match p {
                StrPart::Text(t) => text.cur.push_str(t),
                StrPart::Interp(e) => {
                    let v = self.eval(e, file, params);
                    if !self.interpolate(v, &mut text) {
                        return Val::Error;
                    }
                }
            }
        }
        text.finish()
    }

    /// Add what `${v}` stands for to `text`: a variable or a secret stays a piece for the
    /// deploy tool (lowering says where it cannot fill it in), anything else becomes text.
    fn interpolate(&mut self, v: V, text: &mut TextBuilder) -> bool {
        match &v.val {
            Val::Ref(s, path)
                if path.is_empty()
                    && matches!(
                        self.syms.list[*s].kind,
                        super::SymKind::Decl(DeclKind::Secret | DeclKind::Variable)
                    ) =>
            {
                text.sym(Piece::Sym(*s, v.loc));
                true
            }
            Val::Subst(inner) => {
                for p in inner {
                    match p {
                        Piece::Text(t) => text.cur.push_str(t),
                        sym @ Piece::Sym(..) => text.sym(sym.clone()),
                    }
                }
                true
            }
            Val::Ref(s, path) if !path.is_empty() => {
                let inner = self.deref(*s, path, v.loc);
                if matches!(inner.val, Val::Subst(_)) {
                    return self.interpolate(inner, text);
                }
                match self.to_text(inner) {
                    Some(t) => {
                        text.cur.push_str(&t);
                        true
                    }
                    None => false,
                }
            }
            _ => match self.to_text(v) {
                Some(t) => {
                    text.cur.push_str(&t);
                    true
                }
                None => false,
            },
        }
    }

    /// The text of a value interpolated into a string.
    pub fn to_text(&mut self, v: V) -> Option<String> {
        Some(match v.val {
            Val::Str(s) => s,
            Val::Int(i) => i.to_string(),
            Val::Float(f) => f.to_string(),
            Val::Bool(b) => b.to_string(),
            Val::Size(b) => b.to_string(),
            Val::Duration(ms) => crate::model::units::format_duration(ms),
            Val::Port(p, _) => p.to_string(),
            Val::Ip(ip) => ip.to_string(),
            Val::IpPort(ip, p) => format!("{ip}:{p}"),
            Val::Cidr(ip, p) => format!("{ip}/{p}"),
            Val::SecretPath(s) => {
                format!("{}{}", crate::model::SECRETS_DIR, self.syms.list[s].name)
            }
            Val::Ref(s, path) => {
                let sym = &self.syms.list[s];
                if sym.kind == super::SymKind::Decl(DeclKind::Service)
                    && let Some(&within) = self.busy.last()
                    && within != s
                {
                    self.mentions.entry(within).or_default().push((s, v.loc));
                }
                if path.is_empty() {
                    // A service's or host's name is its DNS name on the compose network.
                    return Some(sym.name.clone());
                }
                let inner = self.deref(s, &path, v.loc);
                return self.to_text(inner);
            }
            Val::Error => return None,
            Val::Name(n) => {
                self.unresolved(&n, v.loc.file, v.loc.span);
                return None;
            }
            other => {
                let what = other.describe(self.syms);
                self.err(
                    Diagnostic::error(Code::TypeMismatch, format!("cannot interpolate {what} into a string"), v.loc.file, v.loc.span)
                        .help("only strings, numbers, sizes, durations, ports, addresses and names can be interpolated"),
                );
                return None;
            }
        })
    }
}

/// Whether `v` is, or holds in a record, `add(...)` or `remove(...)`.
fn changes_a_list(v: &V) -> bool {
    match &v.val {
        Val::Call(n, _) => matches!(n.text.as_str(), "add" | "remove"),
        Val::Record(r) => r.iter().any(|(_, x, _)| changes_a_list(x)),
        _ => false,
    }
}

/// Whether two values are the same, wherever they are written: what `remove(...)` matches
/// a template's list entries by.
pub fn same_value(a: &Val, b: &Val) -> bool {
    let all = |x: &[V], y: &[V]| {
        x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_value(&p.val, &q.val))
    };
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Float(x), Val::Float(y)) => x.to_bits() == y.to_bits(),
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Size(x), Val::Size(y)) | (Val::Duration(x), Val::Duration(y)) => x == y,
        (Val::Port(x, p), Val::Port(y, q)) => x == y && p == q,
        (Val::PortRange(x, x2, p), Val::PortRange(y, y2, q)) => x == y && x2 == y2 && p == q,
        (Val::Ip(x), Val::Ip(y)) => x == y,
        (Val::IpPort(x, p), Val::IpPort(y, q)) => x == y && p == q,
        (Val::Cidr(x, n), Val::Cidr(y, m)) => x == y && n == m,
        (Val::List(x), Val::List(y)) => all(x, y),
        (Val::Record(x), Val::Record(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p.0.text == q.0.text && same_value(&p.1.val, &q.1.val))
        }
        (Val::Call(n, x), Val::Call(m, y)) => {
            n.text == m.text
                && x.len() == y.len()
                && x.iter().zip(y).all(|(p, q)| {
                    p.0.as_ref().map(|k| &k.text) == q.0.as_ref().map(|k| &k.text)
                        && same_value(&p.1.val, &q.1.val)
                })
        }
        (Val::Pair(a1, b1), Val::Pair(a2, b2)) => {
            same_value(&a1.val, &a2.val) && same_value(&b1.val, &b2.val)
        }
        (Val::Ref(s, p), Val::Ref(t, q)) => {
            s == t && p.len() == q.len() && p.iter().zip(q).all(|(x, y)| x.text == y.text)
        }
        (Val::SecretPath(s), Val::SecretPath(t)) => s == t,
        (Val::Name(x), Val::Name(y)) => x == y,
        _ => false,
    }
}

impl Evaluator<'_> {
    /// Override `base` (what a template provides) with `over` (the body written on top of
    /// it): records merge key by key, `add(...)` and `remove(...)` change a list the
    /// template provides, everything else is replaced.
    pub fn merge(&mut self, mut base: Rec, over: Rec) -> Rec {
        for (k, v, f) in over {
            let Some((bk, bv, bf)) = base.iter_mut().find(|(bk, _, _)| bk.text == k.text) else {
                let v = self.list_change(&k, None, &v).unwrap_or(v);
                base.push((k, v, f));
                continue;
            };
            if let (Val::Record(b), Val::Record(o)) = (&mut bv.val, &v.val) {
                let taken = std::mem::take(b);
                let merged = self.merge(taken, o.clone());
                if let Val::Record(b) = &mut bv.val {
                    *b = merged;
                }
                bv.loc = v.loc;
            } else if let Some(changed) = self.list_change(&k, Some(&*bv), &v) {
                *bv = changed;
            } else {
                *bv = v;
            }
            *bk = k;
            *bf = f;
        }
        base
    }

    /// `add(x, y)` / `remove(x)` over the list `base` a template provides for `key`: the
    /// changed list; `None` when `over` is neither. A change to nothing, or a removal of an
    /// entry the list does not hold, is reported (a typo would otherwise change nothing).
    fn list_change(&mut self, key: &ast::Name, base: Option<&V>, over: &V) -> Option<V> {
        let Val::Call(name, args) = &over.val else {
            return None;
        };
        let adding = match name.text.as_str() {
            "add" => true,
            "remove" => false,
            _ => return None,
        };
        let error = V {
            val: Val::Error,
            loc: over.loc,
        };
        if let Some((Some(n), _)) = args.iter().find(|(n, _)| n.is_some()) {
            self.err(
                Diagnostic::error(
                    Code::UnknownParam,
                    format!("`{}(...)` takes list entries, not `{}`", name.text, n.text),
                    over.loc.file,
                    n.span,
                )
                .label("not an entry")
                .help(format!(
                    "write the entries themselves: `{}(a, b)`",
                    name.text
                )),
            );
            return Some(error);
        }
        let items = match base.map(|b| &b.val) {
            Some(Val::List(items)) => items.clone(),
            Some(Val::Error) => return Some(error),
            other => {
                let has = match other {
                    None => format!("no template sets `{}`", key.text),
                    Some(v) => format!("its template sets {}", v.describe(self.syms)),
                };
                self.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!(
                            "`{}(...)` changes a list a template provides, but `{}` has none",
                            name.text, key.text
                        ),
                        over.loc.file,
                        over.loc.span,
                    )
                    .label(has)
                    .help(format!("write the whole list: `{} = [...]`", key.text)),
                );
                return Some(error);
            }
        };
        let mut out = items;
        for (_, a) in args {
            if adding {
                out.push(a.clone());
            } else if let Some(i) = out.iter().position(|x| same_value(&x.val, &a.val)) {
                out.remove(i);
            } else if !matches!(a.val, Val::Error) {
                self.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("the template's `{}` has no such entry", key.text),
                        a.loc.file,
                        a.loc.span,
                    )
                    .label("not in the list")
                    .help("`remove(...)` takes entries as the template writes them; `sparkc stdlib NAME` shows a stdlib template's fields"),
                );
            }
        }
        Some(V {
            val: Val::List(out),
            loc: over.loc,
        })
    }
}
