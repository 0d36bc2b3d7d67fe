//! Domains and monitors declared inside a service (`domains = [...]`, `monitors = [...]`),
//! so that a template brings its own route and probe. Each entry is lowered after every
//! service, through the same field table and checks as a `domain` or `monitor`
//! declaration: the two cannot differ.

use crate::check::eval::{Rec, V, Val};
use crate::check::lower::{Lowerer, domain, monitor};
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::{self, DeclKind};
use std::rc::Rc;

/// An entry of a service's `domains` or `monitors`, kept for lowering once every service
/// (and, for a monitor, every domain) is known.
#[derive(Debug, Clone)]
pub(crate) struct NestedDecl {
    pub service: ServiceId,
    pub kind: DeclKind,
    pub value: V,
}

impl Lowerer<'_, '_> {
    /// Keeps each entry of `domains` or `monitors` for later (`none`: none).
    pub(crate) fn nest(&mut self, kind: DeclKind, v: &V) {
        if Self::is_none(v) {
            return;
        }
        let entries: Vec<V> = match &v.val {
            Val::Record(_) => vec![v.clone()],
            _ => match self.list(v) {
                Some(items) => items.to_vec(),
                None => return,
            },
        };
        for value in entries {
            if matches!(value.val, Val::Record(_)) {
                self.nested.push(NestedDecl {
                    service: self.current_service,
                    kind,
                    value,
                });
            } else {
                let what = if kind == DeclKind::Domain {
                    "a route `{ name = \"app.example.org\", port = http, ... }`"
                } else {
                    "a monitor `{ name = \"up\", path = \"/healthz\", alert = down_for(5m) }`"
                };
                self.mismatch::<()>(&value, what);
            }
        }
    }

    /// Where a declaration a service brings is reported: at `loc` where the service's own
    /// body wrote it, else (a template's) at the service, which tells two instances apart.
    fn nested_loc(&self, sym: usize, loc: Loc) -> Loc {
        let own = self.loc_of(sym);
        let span = self.decl(sym).span;
        if loc.file == own.file && span.start <= loc.span.start && loc.span.end <= span.end {
            loc
        } else {
            own
        }
    }

    /// Whether a monitor's `target` names one of the service's own ports: a bare name that
    /// is no declaration, or one that is but which the service also has a port of (a host
    /// named as a target stays a host).
    fn names_own_port(&self, id: ServiceId, v: &Val) -> bool {
        match v {
            Val::Name(_) => true,
            Val::Ref(sym, path) if path.is_empty() => {
                let name = &self.ev.syms.list[*sym].name;
                self.model.services[id].port(name).is_some()
            }
            _ => false,
        }
    }

    /// The name of a service's first HTTP route: the first of its own `domains` that was
    /// lowered, else the first `domain` declared to it (in name order).
    fn first_route(&self, id: ServiceId) -> Option<String> {
        let routed = |name: &str| {
            self.model.domains.iter().any(|d| {
                d.name == name && d.ends_at == Some(id) && d.protocol == RouteProtocol::Http
            })
        };
        let own = self
            .nested
            .iter()
            .filter(|n| n.service == id && n.kind == DeclKind::Domain);
        own.filter_map(|n| match &n.value.val {
            Val::Record(rec) => match field(rec, "name")?.val {
                Val::Str(name) => Some(name),
                _ => None,
            },
            _ => None,
        })
        .find(|name| routed(name))
        .or_else(|| {
            self.model
                .domains
                .iter()
                .find(|d| d.ends_at == Some(id) && d.protocol == RouteProtocol::Http)
                .map(|d| d.name.clone())
        })
    }

    /// The entries of one kind services declare, each with its service's declaration.
    fn nested_of(&self, kind: DeclKind) -> Vec<(usize, NestedDecl)> {
        if self.nested.is_empty() {
            return Vec::new();
        }
        // Each service's declaration, looked up once (not a scan of every service per entry).
        let syms: rustc_hash::FxHashMap<ServiceId, usize> = self
            .service_ids
            .iter()
            .map(|(&sym, &id)| (id, sym))
            .collect();
        self.nested
            .iter()
            .filter(|n| n.kind == kind)
            .filter_map(|n| Some((*syms.get(&n.service)?, n.clone())))
            .collect()
    }

    /// The routes services declare, lowered as `domain` declarations are.
    pub(crate) fn nested_domains(&mut self) -> Vec<Domain> {
        let mut out = Vec::new();
        for (sym, n) in self.nested_of(DeclKind::Domain) {
            self.enter(sym);
            let Val::Record(rec) = &n.value.val else {
                continue;
            };
            let name_v = field(rec, "name");
            let port_v = field(rec, "port");
            let f = self.known_fields(
                Rc::new(rec.clone()),
                "route",
                &domain::FIELDS,
                &["name", "port"],
            );
            let Some(name_v) = name_v else {
                self.ev.err(
                    Diagnostic::error(Code::MissingField, "a route needs its `name`", n.value.loc.file, n.value.loc.span)
                        .label("which domain?")
                        .help("write the domain it answers to: `{ name = \"app.example.org\", port = http }`"),
                );
                continue;
            };
            let Some(name) = self.str(&name_v) else {
                continue;
            };
            let Some(route) = self.own_port_route(sym, n.service, port_v.as_ref(), n.value.loc)
            else {
                continue;
            };
            let loc = self.nested_loc(sym, name_v.loc);
            if let Some(d) = self.domain_from(name, loc, &f, Some(&route)) {
                out.push(d);
            }
        }
        self.ev.subject = None;
        out
    }

    /// `port = http` of a service's route, as the `svc.port.http` a `domain` declaration
    /// writes; without one, the service's only port.
    fn own_port_route(
        &mut self,
        sym: usize,
        id: ServiceId,
        port: Option<&V>,
        at: Loc,
    ) -> Option<V> {
        let s = &self.model.services[id];
        let (name, loc) = match port.map(|p| (&p.val, p.loc)) {
            Some((Val::Name(n), loc)) => (n.clone(), loc),
            Some((Val::Ref(r, path), loc)) if path.is_empty() => {
                (self.ev.syms.list[*r].name.as_str().into(), loc)
            }
            Some(_) => {
                return self.mismatch(port?, "the name of one of its ports (`port = http`)");
            }
            None if s.ports.len() == 1 => (s.ports[0].name.as_str().into(), at),
            None => {
                let help = match s.ports.first() {
                    None => "declare the port it serves (`port { http = 8080 }`) and name it: `port = http`".to_string(),
                    Some(p) => format!("name one of its ports: `port = {}`", p.name),
                };
                self.ev.err(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("which port of `{}` does the route go to?", s.name),
                        at.file,
                        at.span,
                    )
                    .label("no `port`")
                    .help(help),
                );
                return None;
            }
        };
        let key = |text: &str| ast::Name {
            text: text.into(),
            span: loc.span,
        };
        Some(V {
            val: Val::Ref(sym, vec![key("port"), key(&name)]),
            loc,
        })
    }

    /// The monitors services declare, lowered as `monitor` declarations are: named
    /// `SERVICE-NAME`, probing the service's first route unless they say otherwise.
    pub(crate) fn nested_monitors(&mut self) -> Vec<Monitor> {
        let mut out = Vec::new();
        for (sym, n) in self.nested_of(DeclKind::Monitor) {
            self.enter(sym);
            let Val::Record(rec) = &n.value.val else {
                continue;
            };
            let mut rec = rec.clone();
            let service = self.model.services[n.service].name.clone();
            let (own, loc) = match field(&rec, "name") {
                Some(v) => match self.str(&v) {
                    Some(s) => (s, v.loc),
                    None => continue,
                },
                None => ("up".to_string(), n.value.loc),
            };
            let loc = self.nested_loc(sym, loc);
            let name = format!("{service}-{own}");
            if !super::is_safe_name(&own) {
                self.malformed::<()>(
                    &n.value,
                    format!("`{own}` cannot be part of a monitor name"),
                    "monitor names become job and alert names: use letters, digits, `-` and `_`",
                );
                continue;
            }
            if let Some(first) = self
                .model
                .monitors
                .iter()
                .chain(&out)
                .find(|m| m.name == name)
            {
                self.ev.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("monitor `{name}` is declared twice"),
                        loc.file,
                        loc.span,
                    )
                    .with_secondary(first.loc.file, first.loc.span, "first declared here")
                    .help("give the service's monitor another `name`"),
                );
                continue;
            }
            match field(&rec, "target") {
                // `target = http`: one of the service's own ports.
                Some(t) if self.names_own_port(n.service, &t.val) => {
                    let port = self.own_port_route(sym, n.service, Some(&t), t.loc);
                    let Some(port) = port else { continue };
                    set(&mut rec, "target", port);
                }
                Some(_) => {}
                None => {
                    // The service's first route, as a monitor of it would name it.
                    let Some(d) = self.first_route(n.service) else {
                        self.ev.err(
                            Diagnostic::error(Code::MissingField, format!("monitor `{name}` has no `target`"), n.value.loc.file, n.value.loc.span)
                                .label("the service has no route to probe")
                                .help("route it (`domains = [{ name = \"app.example.org\", port = http }]`), or probe one of its ports: `target = http`"),
                        );
                        continue;
                    };
                    let target = V {
                        val: Val::Str(d),
                        loc: n.value.loc,
                    };
                    set(&mut rec, "target", target);
                }
            }
            let f = self.known_fields(Rc::new(rec), "monitor", &monitor::FIELDS, &["name"]);
            if let Some(m) = self.monitor_from(name, loc, &f) {
                out.push(m);
            }
        }
        self.ev.subject = None;
        out
    }
}

/// The value of `key` in a record.
fn field(rec: &Rec, key: &str) -> Option<V> {
    rec.iter()
        .find(|(k, _, _)| k.text == key)
        .map(|(_, v, _)| v.clone())
}

/// Sets `key` in a record, as if written.
fn set(rec: &mut Rec, key: &str, v: V) {
    let file = v.loc.file;
    if let Some(slot) = rec.iter_mut().find(|(k, _, _)| k.text == key) {
        slot.1 = v;
    } else {
        let name = ast::Name {
            text: key.into(),
            span: v.loc.span,
        };
        rec.push((name, v, file));
    }
}
