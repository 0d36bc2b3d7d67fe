//! Domains: a public name routed by its service's host proxy to one of the service's ports.

use super::{Field, FieldTable, Lowerer, check_domain};
use crate::check::SymKind;
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::DeclKind;

/// A domain's fields as written, before its route is resolved.
#[derive(Default)]
pub(super) struct DomainFields {
    tls: Option<Tls>,
    basic_auth: Option<SecretId>,
    path_prefix: Option<String>,
}

/// Every field a domain declaration may have (its route is `-> SERVICE.port.NAME`).
pub(super) static FIELDS: FieldTable<DomainFields> = FieldTable::new(&[
    Field {
        name: "tls",
        form: "tls = auto | internal | off",
        doc: "Its certificate: a public one by ACME (default), one from the proxy's internal CA, or plain HTTP.",
        lower: |l, v, d| {
            d.tls = match l.variant(v, "TLS mode", &["auto", "internal", "off"]) {
                Some("internal") => Some(Tls::Internal),
                Some("off") => Some(Tls::Off),
                _ => Some(Tls::Auto),
            }
        },
    },
    Field {
        name: "auth",
        form: "auth = basic_auth(users)",
        doc: "A login in front of it: `users` is a secret holding the proxy's users file.",
        lower: |l, v, d| match &v.val {
            Val::Call(n, args) if n.text == "basic_auth" && args.len() == 1 => {
                let a = args[0].1.clone();
                d.basic_auth = l.secret_ref(&a);
            }
            _ => {
                l.mismatch::<()>(v, "`basic_auth(SECRET)`");
            }
        },
    },
    Field {
        name: "path",
        form: "path = \"/api\"",
        doc: "Routes only this path and everything below it (`/`: the whole site).",
        lower: |l, v, d| d.path_prefix = l.url_path(v),
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn domain(&mut self, sym: usize) -> Option<Domain> {
        let d = self.decl(sym);
        let loc = self.loc_of(sym);
        if let Err(why) = check_domain(&d.name.text) {
            self.ev.err(
                Diagnostic::error(Code::MalformedLiteral, format!("`{}` is not a valid domain name: {why}", d.name.text), loc.file, loc.span)
                    .help("a domain is dot-separated labels of letters, digits and `-`, e.g. cloud.example.org or *.example.org"),
            );
        }
        let f = self.fields(sym, &FIELDS);
        let mut written = DomainFields::default();
        self.lower_fields(&f, &FIELDS, &mut written, |_| true);
        let route = d.route.as_ref()?;
        let rv = self.ev.eval(route, loc.file, None);
        let (service, port) = self.port_ref(&rv)?;
        Some(Domain {
            name: d.name.text.as_str().to_owned(),
            loc,
            service,
            port,
            tls: written.tls.unwrap_or(Tls::Auto),
            basic_auth: written.basic_auth,
            path_prefix: written.path_prefix,
        })
    }

    /// A route's path: absolute, with only characters a URL path holds as they are (proxies
    /// embed it in their own syntax: Traefik's `PathPrefix`(`...`), a Caddyfile matcher).
    /// `/` is the whole site, the same as no path: `None`, decided here once.
    fn url_path(&mut self, v: &V) -> Option<String> {
        let p = self.str(v)?;
        let plain = |c: char| c.is_ascii_alphanumeric() || "-._~/%!$&'()+,;=:@".contains(c);
        if !p.starts_with('/') {
            self.malformed(
                v,
                format!("path `{p}` does not start with `/`"),
                "write an absolute URL path, e.g. \"/api\"",
            )
        } else if !p.chars().all(plain) {
            self.malformed(
                v,
                format!("path `{p}` holds characters a URL path cannot hold as they are"),
                "use letters, digits and `-._~/`, and percent-encode anything else (a space is `%20`); wildcards are implied: a path routes everything below it",
            )
        } else {
            (p != "/").then_some(p)
        }
    }

    /// `svc.port.NAME`: a service and one of its declared ports.
    pub(crate) fn port_ref(&mut self, v: &V) -> Option<(ServiceId, PortRef)> {
        match &v.val {
            Val::Ref(sym, path)
                if self.ev.syms.list[*sym].kind == SymKind::Decl(DeclKind::Service) =>
            {
                let id = *self.service_ids.get(sym)?;
                match path.as_slice() {
                    [p, n] if p.text == "port" => {
                        let svc = &self.model.services[id];
                        if let Some(def) = svc.port(&n.text) {
                            Some((
                                id,
                                PortRef {
                                    name: def.name.clone(),
                                    number: def.port,
                                    proto: def.proto,
                                },
                            ))
                        } else {
                            let svc = svc.clone();
                            self.unknown_port(
                                &n.text,
                                Loc {
                                    file: v.loc.file,
                                    span: n.span,
                                },
                                &svc,
                            );
                            None
                        }
                    }
                    _ => {
                        let svc = &self.model.services[id];
                        let example = svc.ports.first().map_or("http", |p| p.name.as_str());
                        let name = svc.name.clone();
                        self.ev.err(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                "expected a port of a service",
                                v.loc.file,
                                v.loc.span,
                            )
                            .label("which port?")
                            .help(format!("name the port: `{name}.port.{example}`")),
                        );
                        None
                    }
                }
            }
            _ => {
                let sym_opt = match &v.val {
                    Val::Ref(s, _) => Some(*s),
                    _ => None,
                };
                match sym_opt {
                    Some(s) => {
                        let v2 = V {
                            val: Val::Ref(s, Vec::new()),
                            loc: v.loc,
                        };
                        self.decl_ref(&v2, DeclKind::Service);
                    }
                    None => {
                        self.mismatch::<()>(v, "a service port `service.port.NAME`");
                    }
                }
                None
            }
        }
    }
}
