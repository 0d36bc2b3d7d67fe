//! Names the symbol table does not hold, found in the syntax tree: a service's ports
//! (`port { http = 80 }`, used as `svc.port.http`) and a template's parameters (used inside
//! the template). Definition, references and rename read them from here.

use sparkc_core::source::{FileId, Span};
use sparkc_core::syntax::ast::{self, DeclKind, Expr, ExprKind, Item};
use sparkc_driver::Compilation;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    /// The port `port` of the service `service`.
    Port { service: String, port: String },
    /// The parameter `name` of the template that is item `item` of `file`.
    Param {
        file: FileId,
        item: usize,
        name: String,
    },
}

fn within(sp: Span, offset: usize) -> bool {
    sp.start as usize <= offset && offset <= sp.end as usize
}

fn parse(comp: &Compilation, file: FileId) -> ast::File {
    sparkc_core::syntax::parse(file, &comp.sources.get(file).text).0
}

/// Every expression of an item, nested ones included.
pub fn exprs<'a>(item: &'a Item, out: &mut Vec<&'a Expr>) {
    fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Expr>) {
        out.push(e);
        match &e.kind {
            ExprKind::List(xs) => xs.iter().for_each(|x| walk(x, out)),
            ExprKind::Record(fs) => fs.iter().for_each(|f| walk(&f.value, out)),
            ExprKind::Call(_, args) => args.iter().for_each(|a| walk(&a.value, out)),
            ExprKind::Pair(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            ExprKind::Str(parts) => {
                for p in parts {
                    if let ast::StrPart::Interp(x) = p {
                        walk(x, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut top: Vec<&Expr> = Vec::new();
    match item {
        Item::Const(c) => top.push(&c.value),
        Item::Template(t) => {
            top.extend(t.params.iter().filter_map(|p| p.default.as_ref()));
            if let Some(b) = &t.base {
                top.extend(b.args.iter().map(|a| &a.value));
            }
            top.extend(t.body.iter().map(|f| &f.value));
        }
        Item::Decl(d) => {
            if let Some(i) = &d.instance {
                top.extend(i.args.iter().map(|a| &a.value));
            }
            top.extend(d.route.iter());
            top.extend(d.body.iter().map(|f| &f.value));
        }
        _ => {}
    }
    for e in top {
        walk(e, out);
    }
}

/// `svc.port.NAME`: the service, the port's name.
pub fn port_ref(e: &Expr) -> Option<(&ast::Name, &ast::Name)> {
    match &e.kind {
        ExprKind::Path(n) if n.len() == 3 && n[1].text == "port" => Some((&n[0], &n[2])),
        _ => None,
    }
}

/// The ports a declaration's body declares: the keys of its `port { ... }` record.
fn port_decls(d: &ast::Decl) -> impl Iterator<Item = &ast::Name> {
    d.body
        .iter()
        .filter(|f| f.key.text == "port")
        .filter_map(|f| match &f.value.kind {
            ExprKind::Record(fs) => Some(fs.iter().map(|x| &x.key)),
            _ => None,
        })
        .flatten()
}

/// The port or parameter named at `offset` in `file`, and the span of the name there.
pub fn local_at(comp: &Compilation, file: FileId, offset: usize) -> Option<(Local, Span)> {
    let parsed = parse(comp, file);
    for (ii, item) in parsed.items.iter().enumerate() {
        if let Item::Decl(d) = item
            && d.kind == DeclKind::Service
            && let Some(k) = port_decls(d).find(|k| within(k.span, offset))
        {
            return Some((
                Local::Port {
                    service: d.name.text.as_str().to_owned(),
                    port: k.text.as_str().to_owned(),
                },
                k.span,
            ));
        }
        let mut es = Vec::new();
        exprs(item, &mut es);
        for e in es {
            if let Some((svc, port)) = port_ref(e)
                && within(port.span, offset)
            {
                return Some((
                    Local::Port {
                        service: svc.text.as_str().to_owned(),
                        port: port.text.as_str().to_owned(),
                    },
                    port.span,
                ));
            }
        }
        if let Item::Template(t) = item {
            let param = |name: &str| Local::Param {
                file,
                item: ii,
                name: name.to_string(),
            };
            if let Some(p) = t.params.iter().find(|p| within(p.name.span, offset)) {
                return Some((param(&p.name.text), p.name.span));
            }
            let mut es = Vec::new();
            exprs(item, &mut es);
            for e in es {
                if let ExprKind::Path(n) = &e.kind
                    && within(n[0].span, offset)
                    && t.params.iter().any(|p| p.name.text == n[0].text)
                {
                    return Some((param(&n[0].text), n[0].span));
                }
            }
        }
    }
    None
}

/// A name's place: a file of the compilation and a span in it.
pub type Place = (FileId, Span);

/// Where a local name is defined, and every place it is written (the definition first, when
/// it is in a user's file).
pub fn occurrences(comp: &Compilation, l: &Local) -> (Option<Place>, Vec<Place>) {
    match l {
        Local::Param { file, item, name } => {
            let parsed = parse(comp, *file);
            let Some(Item::Template(t)) = parsed.items.get(*item) else {
                return (None, Vec::new());
            };
            let def = t
                .params
                .iter()
                .find(|p| p.name.text == name.as_str())
                .map(|p| (*file, p.name.span));
            let mut all: Vec<(FileId, Span)> = def.into_iter().collect();
            let mut es = Vec::new();
            exprs(&parsed.items[*item], &mut es);
            for e in es {
                if let ExprKind::Path(n) = &e.kind
                    && n[0].text == name.as_str()
                {
                    all.push((*file, n[0].span));
                }
            }
            // `template(name = ...)` at every call of the template, in the user's files.
            for (i, f) in comp.sources.files.iter().enumerate() {
                if f.is_stdlib || f.opaque {
                    continue;
                }
                let fid = FileId(i as u32);
                for other in &parse(comp, fid).items {
                    let call = match other {
                        Item::Decl(d) => d.instance.as_ref(),
                        Item::Template(o) => o.base.as_ref(),
                        _ => None,
                    };
                    if let Some(c) = call.filter(|c| c.template.text == t.name.text) {
                        all.extend(
                            c.args
                                .iter()
                                .filter_map(|a| a.name.as_ref())
                                .filter(|n| n.text == name.as_str())
                                .map(|n| (fid, n.span)),
                        );
                    }
                }
            }
            (def, all)
        }
        Local::Port { service, port } => {
            let mut def = None;
            let mut uses = Vec::new();
            for (i, f) in comp.sources.files.iter().enumerate() {
                if f.is_stdlib || f.opaque {
                    continue;
                }
                let fid = FileId(i as u32);
                for item in &parse(comp, fid).items {
                    if let Item::Decl(d) = item
                        && d.kind == DeclKind::Service
                        && d.name.text == service.as_str()
                        && let Some(k) = port_decls(d).find(|k| k.text == port.as_str())
                    {
                        def = Some((fid, k.span));
                    }
                    let mut es = Vec::new();
                    exprs(item, &mut es);
                    for e in es {
                        if let Some((s, p)) = port_ref(e)
                            && s.text == service.as_str()
                            && p.text == port.as_str()
                        {
                            uses.push((fid, p.span));
                        }
                    }
                }
            }
            // Declared by the service's template, not by the user: the model knows where.
            if def.is_none() {
                def = comp
                    .model
                    .services
                    .iter()
                    .find(|s| s.name == *service)
                    .and_then(|s| s.port(port))
                    .map(|p| (p.loc.file, p.loc.span));
            }
            let mut all: Vec<(FileId, Span)> = def
                .filter(|(f, _)| !comp.sources.get(*f).is_stdlib)
                .into_iter()
                .collect();
            all.extend(uses);
            (def, all)
        }
    }
}

/// The names a local name may not be renamed to: the service's other ports, the template's
/// other parameters.
pub fn taken(comp: &Compilation, l: &Local, new: &str) -> bool {
    match l {
        Local::Port { service, port } => comp
            .model
            .services
            .iter()
            .find(|s| s.name == *service)
            .is_some_and(|s| s.ports.iter().any(|p| p.name == new && p.name != *port)),
        Local::Param { file, item, name } => {
            matches!(parse(comp, *file).items.get(*item), Some(Item::Template(t))
                if t.params.iter().any(|p| p.name.text == new && p.name.text != name.as_str()))
        }
    }
}

/// Whether a port is declared in its service's own body (not by the template it is made
/// from: renaming that one would rename it for every service of the template).
pub fn declared_by_the_service(comp: &Compilation, service: &str, port: &str) -> bool {
    comp.sources.files.iter().enumerate().any(|(i, f)| {
        !f.is_stdlib
            && parse(comp, FileId(i as u32)).items.iter().any(|item| {
                matches!(item, Item::Decl(d) if d.kind == DeclKind::Service
                    && d.name.text == service
                    && port_decls(d).any(|k| k.text == port))
            })
    })
}
