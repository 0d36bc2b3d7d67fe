//! The syntax tree: what the user wrote, with byte spans, before any name is resolved.

use crate::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    /// Inline up to 23 bytes, shared beyond: cloning a name never allocates.
    pub text: smol_str::SmolStr,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub struct File {
    pub items: Vec<Item>,
    /// Every comment and blank line, in order, with its span (for the formatter).
    pub trivia: Vec<Trivia>,
}

#[derive(Debug, Clone)]
pub enum Item {
    Import(Import),
    Const(ConstDecl),
    Template(TemplateDecl),
    Decl(Decl),
    /// An item that does not parse (its syntax error is reported).
    Error(ErrorItem),
}

impl Item {
    /// The item's span.
    pub fn span(&self) -> Span {
        match self {
            Item::Import(i) => i.span,
            Item::Const(c) => c.span,
            Item::Template(t) => t.span,
            Item::Decl(d) => d.span,
            Item::Error(e) => e.span,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ErrorItem {
    /// From where the item starts to where the parser picked up again.
    pub span: Span,
    /// What it declares, when it got as far as `kind name`: the name is known, so that
    /// what refers to it gets no second error.
    pub declares: Option<Declared>,
}

#[derive(Debug, Clone)]
pub struct Declared {
    pub kind: DeclaredKind,
    pub name: Name,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclaredKind {
    Const,
    Template,
    Decl(DeclKind),
}

/// A comment or a blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trivia {
    pub kind: TriviaKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriviaKind {
    /// `// ...` to the end of the line.
    LineComment,
    /// `/// ...`: documents the declaration below it.
    DocComment,
    /// `/* ... */`
    BlockComment,
    /// A line holding nothing but whitespace (the span is the line, without its newline).
    BlankLine,
}

#[derive(Debug, Clone)]
pub struct Import {
    pub target: ImportTarget,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum ImportTarget {
    /// `import "hosts.spark"`: every declaration of that file joins the project.
    File { path: String, span: Span },
    /// `import std.apps.{mysql, redis}` or `import std.apps.mysql`.
    Std { module: Name, names: Vec<Name> },
}

#[derive(Debug, Clone)]
pub struct ConstDecl {
    pub name: Name,
    pub value: Expr,
    pub span: Span,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct TemplateDecl {
    pub name: Name,
    pub params: Vec<Param>,
    pub kind: Name,
    /// The template this one is built on (`= service mysql(...) { ... }`), if any.
    pub base: Option<Instance>,
    pub body: Vec<Field>,
    pub span: Span,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: Name,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub enum TypeExpr {
    Named(Name),
    List(Box<TypeExpr>, Span),
}

/// One parameter of a template as its documentation shows it: what the editor's hover and
/// `sparkc stdlib NAME` print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamDoc {
    pub name: String,
    /// `string`, `[string]`.
    pub ty: String,
    /// The default as written; `None`: the parameter must be given.
    pub default: Option<String>,
    /// Its doc comment, on one line.
    pub doc: String,
}

impl TemplateDecl {
    /// Its parameters, documented; `text` is the source the template is parsed from.
    pub fn param_docs(&self, text: &str) -> Vec<ParamDoc> {
        self.params
            .iter()
            .map(|p| ParamDoc {
                name: p.name.text.to_string(),
                ty: p.ty.name(),
                default: p
                    .default
                    .as_ref()
                    .and_then(|d| text.get(d.span.range()))
                    .map(str::to_string),
                doc: p.doc.split_whitespace().collect::<Vec<_>>().join(" "),
            })
            .collect()
    }
}

impl TypeExpr {
    /// As written: `string`, `[secret]`.
    pub fn name(&self) -> String {
        match self {
            TypeExpr::Named(n) => n.text.as_str().to_owned(),
            TypeExpr::List(inner, _) => format!("[{}]", inner.name()),
        }
    }

    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named(n) => n.span,
            TypeExpr::List(_, s) => *s,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeclKind {
    Host,
    Cluster,
    Service,
    Network,
    Volume,
    Config,
    Monitor,
    Receiver,
    Alert,
    Domain,
    Secret,
    Variable,
}

impl DeclKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: &[DeclKind] = &[
        DeclKind::Host,
        DeclKind::Cluster,
        DeclKind::Service,
        DeclKind::Secret,
        DeclKind::Variable,
        DeclKind::Network,
        DeclKind::Volume,
        DeclKind::Config,
        DeclKind::Domain,
        DeclKind::Monitor,
        DeclKind::Receiver,
        DeclKind::Alert,
    ];

    pub fn keyword(self) -> &'static str {
        match self {
            DeclKind::Host => "host",
            DeclKind::Service => "service",
            DeclKind::Network => "network",
            DeclKind::Volume => "volume",
            DeclKind::Config => "config",
            DeclKind::Monitor => "monitor",
            DeclKind::Receiver => "receiver",
            DeclKind::Alert => "alert",
            DeclKind::Cluster => "cluster",
            DeclKind::Domain => "domain",
            DeclKind::Secret => "secret",
            DeclKind::Variable => "var",
        }
    }
    pub fn from_keyword(s: &str) -> Option<DeclKind> {
        Some(match s {
            "host" => DeclKind::Host,
            "service" => DeclKind::Service,
            "network" => DeclKind::Network,
            "volume" => DeclKind::Volume,
            "config" => DeclKind::Config,
            "monitor" => DeclKind::Monitor,
            "receiver" => DeclKind::Receiver,
            "alert" => DeclKind::Alert,
            "cluster" => DeclKind::Cluster,
            "domain" => DeclKind::Domain,
            "secret" => DeclKind::Secret,
            "var" => DeclKind::Variable,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Decl {
    pub kind: DeclKind,
    pub name: Name,
    /// `on HOST`
    pub placement: Option<Name>,
    /// `= template(args)`
    pub instance: Option<Instance>,
    /// `domain x -> ROUTE`
    pub route: Option<Expr>,
    /// `domain "cloud.${zone}" -> ...`: the name as a string to evaluate (`name` then holds
    /// the string as written).
    pub name_expr: Option<Box<Expr>>,
    /// `secret x from env "VAR"`
    pub source: Option<(Name, String, Span)>,
    /// `var x default EXPR`
    pub default: Option<Box<Expr>>,
    pub body: Vec<Field>,
    pub span: Span,
    pub doc: String,
}

#[derive(Debug, Clone)]
pub struct Instance {
    pub template: Name,
    pub args: Vec<Arg>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Arg {
    pub name: Option<Name>,
    pub value: Expr,
}

#[derive(Debug, Clone)]
pub struct Field {
    pub key: Name,
    pub value: Expr,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum StrPart {
    Text(String),
    Interp(Expr),
}

#[derive(Debug, Clone)]
pub enum ExprKind {
    Str(Vec<StrPart>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// bytes
    Size(u64),
    /// milliseconds
    Duration(u64),
    Port(u32, Proto),
    PortRange(u32, u32, Proto),
    Ip(std::net::IpAddr),
    /// `127.0.0.1:9000`: an address and a port on it.
    IpPort(std::net::IpAddr, u32),
    Cidr(std::net::IpAddr, u8),
    List(Vec<Expr>),
    Record(Vec<Field>),
    Call(Name, Vec<Arg>),
    Path(Vec<Name>),
    Pair(Box<Expr>, Box<Expr>),
    /// A literal that was malformed; its diagnostic has already been reported.
    Error,
}
