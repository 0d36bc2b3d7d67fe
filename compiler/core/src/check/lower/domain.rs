//! Domains: a public name routed by its service's host proxy to one of the service's ports,
//! over entry points of that proxy.

use super::{Field, FieldTable, Lowerer, check_domain};
use crate::check::SymKind;
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::DeclKind;

/// An HTTP header name as every proxy's configuration can hold it: letters, digits, `-`.
fn is_header_name(h: &str) -> bool {
    !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// What may follow `->`, for the help of a route to something else.
const ROUTE_TARGETS: &str = "a route goes to `SERVICE.port.NAME`, `address(\"https://192.168.1.2:8006\")`, `redirect(\"https://example.org\")` or `dashboard(traefik)`";

/// A URL as written, checked (`Lowerer::url`): `scheme://host[:port][/path]`.
pub(super) struct WrittenUrl {
    scheme: String,
    /// An IP address or a DNS name (an IPv6 address without its brackets).
    host: String,
    /// As written; `None`: the scheme's default.
    port: Option<u16>,
    /// `None` for none or `/`.
    path: Option<String>,
}

impl WrittenUrl {
    /// Its port, or the scheme's: 443 for `https`, else 80.
    fn port_or_default(&self) -> u16 {
        self.port
            .unwrap_or(if self.scheme == "https" { 443 } else { 80 })
    }
}

/// A character a URL path may hold as it is (anything else is percent-encoded).
fn is_url_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~/%!$&'()+,;=:@".contains(c)
}

/// The field that declares a middleware.
fn middleware_field(m: &Middleware) -> &'static str {
    match m {
        Middleware::AllowFrom(_) => "allow",
        Middleware::RateLimit { .. } => "rate_limit",
        Middleware::MaxBody(_) => "max_body",
        Middleware::SecurityHeaders => "security_headers",
        Middleware::RequestHeaders(_) => "request_headers",
        Middleware::ResponseHeaders(_) => "response_headers",
        Middleware::Compress => "compress",
        Middleware::Cors { .. } => "cors",
    }
}

/// An entry point as written: a port of a service (the proxy, if right), and where.
type WrittenEntryPoint = (ServiceId, PortRef, Loc);

/// A domain's fields as written, before its route is resolved.
#[derive(Default)]
pub(super) struct DomainFields {
    tls: Option<(Tls, Loc)>,
    basic_auth: Option<(SecretId, Loc)>,
    path_prefix: Option<(String, Loc)>,
    protocol: Option<(RouteProtocol, Loc)>,
    /// The entry points as written: each a (proxy service, its port) reference.
    /// (Empty when what was written did not resolve; `None` written nothing.)
    entrypoints: Option<(Vec<WrittenEntryPoint>, Loc)>,
    /// Whether `entrypoints = []` was written.
    no_entrypoints: bool,
    upstream_path: Option<(String, Loc)>,
    /// The route's middlewares, each with where it is written (order: the table's).
    middlewares: Vec<(Middleware, Loc)>,
    balance: Balance,
    forward_auth: Option<(ForwardAuth, Loc)>,
    /// Where a load-balancing field is written (the first one), for refusing it where it
    /// cannot apply (TCP, UDP, a redirect).
    balance_at: Option<Loc>,
    /// The host whose proxy serves the route, as written.
    via: Option<(HostId, Loc)>,
    /// `probe = none`: no default probe.
    no_probe: bool,
}

impl DomainFields {
    /// What is written that shapes a proxied request — its middlewares, a login, the path
    /// the upstream sees, load balancing — by field and where: what a redirect or a route
    /// through a proxy sparkc does not configure cannot carry.
    fn shaping_fields(&self) -> Vec<(&'static str, Loc)> {
        let mut out: Vec<(&'static str, Loc)> = self
            .middlewares
            .iter()
            .map(|(m, l)| (middleware_field(m), *l))
            .collect();
        out.extend(self.basic_auth.map(|(_, l)| ("auth", l)));
        out.extend(self.forward_auth.as_ref().map(|(_, l)| ("auth", *l)));
        out.extend(
            self.upstream_path
                .as_ref()
                .map(|(_, l)| ("upstream_path", *l)),
        );
        out.extend(
            self.balance_at
                .map(|l| ("health_check` / `sticky_cookie", l)),
        );
        out
    }
}

/// Every field a domain declaration may have (its route is `-> SERVICE.port.NAME`).
pub(super) static FIELDS: FieldTable<DomainFields> = FieldTable::new(&[
    Field {
        name: "tls",
        form: "tls = auto | internal | off | passthrough",
        doc: "Its certificate: a public one by ACME (default), one from the proxy's internal CA, plain HTTP, or TLS passed through to the service (a TCP route by SNI).",
        lower: |l, v, d| {
            let tls = match l.variant(v, "TLS mode", &["auto", "internal", "off", "passthrough"]) {
                Some("internal") => Tls::Internal,
                Some("off") => Tls::Off,
                Some("passthrough") => Tls::Passthrough,
                _ => Tls::Auto,
            };
            d.tls = Some((tls, v.loc));
        },
    },
    Field {
        name: "auth",
        form: "auth = basic_auth(users) | forward_auth(authelia.port.http, path = \"/api/verify\", copy = [\"Remote-User\"])",
        doc: "A login in front of it: `users` is a secret holding the proxy's users file; or a service the proxy asks for every request (authentik, Authelia), copying headers of its answer onto the request.",
        lower: |l, v, d| match &v.val {
            Val::Call(n, args) if n.text == "basic_auth" && args.len() == 1 => {
                let a = args[0].1.clone();
                d.basic_auth = l.secret_ref(&a).map(|id| (id, v.loc));
            }
            Val::Call(n, args) if n.text == "forward_auth" => {
                let (mut target, mut path, mut copy) = (None, "/".to_string(), Vec::new());
                for (name, a) in args {
                    match name.as_ref().map(|n| n.text.as_str()) {
                        None if target.is_none() => target = l.port_ref(a),
                        Some("path") => path = l.url_path(a).unwrap_or(path),
                        Some("copy") => {
                            for h in l.strings(a) {
                                if is_header_name(&h) {
                                    copy.push(h);
                                } else {
                                    l.malformed::<()>(
                                        a,
                                        format!("`{h}` is not an HTTP header name"),
                                        "a header name is letters, digits and `-` (`Remote-User`)",
                                    );
                                }
                            }
                        }
                        _ => {
                            l.mismatch::<()>(a, "`forward_auth(SERVICE.port.P, path = \"/verify\", copy = [\"Remote-User\"])`");
                        }
                    }
                }
                match target {
                    Some((service, port)) => {
                        d.forward_auth = Some((
                            ForwardAuth {
                                service,
                                port,
                                path,
                                copy_headers: copy,
                            },
                            v.loc,
                        ));
                    }
                    None if args.iter().all(|(n, _)| n.is_some()) => {
                        l.ev.err(
                            Diagnostic::error(Code::MissingField, "forward auth needs the service that decides", v.loc.file, v.loc.span)
                                .help("name its port first: `forward_auth(authelia.port.http, path = \"/api/verify\")`"),
                        );
                    }
                    None => {}
                }
            }
            _ => {
                l.mismatch::<()>(
                    v,
                    "`basic_auth(SECRET)` or `forward_auth(SERVICE.port.P, ...)`",
                );
            }
        },
    },
    Field {
        name: "path",
        form: "path = \"/api\"",
        doc: "Routes only this path and everything below it (`/`: the whole site).",
        lower: |l, v, d| d.path_prefix = l.url_path(v).map(|p| (p, v.loc)),
    },
    Field {
        name: "upstream_path",
        form: "upstream_path = \"/\"",
        doc: "The path the service sees in place of `path`: `/` strips it, `/metrics` rewrites it (`/exporter/db/x` arrives as `/metrics/x`).",
        lower: |l, v, d| d.upstream_path = l.url_path_or_root(v).map(|p| (p, v.loc)),
    },
    Field {
        name: "allow",
        form: "allow = [10.0.0.0/8, 192.168.1.10]",
        doc: "Only clients from these networks or addresses reach it; others get 403.",
        lower: |l, v, d| {
            let mut nets = Vec::new();
            let items = l.list(v).unwrap_or_default();
            let written = !items.is_empty();
            for item in items {
                match &item.val {
                    Val::Cidr(ip, p) => nets.push(format!("{ip}/{p}")),
                    Val::Ip(ip) => nets.push(match ip {
                        std::net::IpAddr::V4(_) => format!("{ip}/32"),
                        std::net::IpAddr::V6(_) => format!("{ip}/128"),
                    }),
                    _ => {
                        l.mismatch::<()>(item, "an address or network (`10.0.0.0/8`)");
                    }
                }
            }
            if !written {
                l.ev.err(
                    Diagnostic::error(Code::MissingField, "an allow-list with no network admits nobody", v.loc.file, v.loc.span)
                        .help("list the networks that may reach it, e.g. `allow = [192.168.1.0/24]`, or remove `allow`"),
                );
            } else if !nets.is_empty() {
                d.middlewares.push((Middleware::AllowFrom(nets), v.loc));
            }
        },
    },
    Field {
        name: "rate_limit",
        form: "rate_limit { average = 100, burst = 50 }",
        doc: "At most `average` requests a second from one client, `burst` more at once; beyond that, 429.",
        lower: |l, v, d| {
            let Some(rec) = l.record(v) else { return };
            let (mut average, mut burst) = (None, None);
            for (k, fv, kf) in rec {
                match k.text.as_str() {
                    "average" => average = l.int(fv, 1, 1_000_000),
                    "burst" => burst = l.int(fv, 1, 1_000_000),
                    _ => l.unknown_sub(&k.text, k.span, *kf, "rate_limit", &["average", "burst"]),
                }
            }
            let Some(average) = average.and_then(|a| u32::try_from(a).ok()) else {
                l.ev.err(
                    Diagnostic::error(Code::MissingField, "a rate limit needs its `average`", v.loc.file, v.loc.span)
                        .help("write `rate_limit { average = 100, burst = 50 }`: requests a second, and how many more at once"),
                );
                return;
            };
            let burst = burst.and_then(|b| u32::try_from(b).ok()).unwrap_or(average);
            d.middlewares
                .push((Middleware::RateLimit { average, burst }, v.loc));
        },
    },
    Field {
        name: "max_body",
        form: "max_body = 10MB",
        doc: "Requests with a larger body get 413.",
        lower: |l, v, d| {
            if let Some(b) = l.size(v) {
                d.middlewares.push((Middleware::MaxBody(b), v.loc));
            }
        },
    },
    Field {
        name: "security_headers",
        form: "security_headers = true",
        doc: "HSTS (a year, with subdomains), `X-Frame-Options: SAMEORIGIN`, `X-Content-Type-Options: nosniff` and a strict referrer policy on every response.",
        lower: |l, v, d| {
            if l.bool(v) == Some(true) {
                d.middlewares.push((Middleware::SecurityHeaders, v.loc));
            }
        },
    },
    Field {
        name: "request_headers",
        form: "request_headers { X-Forwarded-Prefix = \"/app\" }",
        doc: "Headers set on each request before it reaches the service.",
        lower: |l, v, d| {
            let h = l.header_map(v);
            if !h.is_empty() {
                d.middlewares.push((Middleware::RequestHeaders(h), v.loc));
            }
        },
    },
    Field {
        name: "response_headers",
        form: "response_headers { Cache-Control = \"no-store\" }",
        doc: "Headers set on each response before it reaches the client.",
        lower: |l, v, d| {
            let h = l.header_map(v);
            if !h.is_empty() {
                d.middlewares.push((Middleware::ResponseHeaders(h), v.loc));
            }
        },
    },
    Field {
        name: "compress",
        form: "compress = true",
        doc: "Responses are compressed as the client accepts (gzip, zstd, brotli).",
        lower: |l, v, d| {
            if l.bool(v) == Some(true) {
                d.middlewares.push((Middleware::Compress, v.loc));
            }
        },
    },
    Field {
        name: "cors",
        form: "cors { origins = [\"https://app.example.org\"], methods = [\"GET\", \"POST\"], headers = [\"Content-Type\"], max_age = 10m }",
        doc: "Browsers on these origins may call it: the proxy answers preflight requests and adds `Access-Control-Allow-*` for an allowed `Origin` (methods default to GET, POST, HEAD; max_age to 10m).",
        lower: |l, v, d| {
            let Some(rec) = l.record(v) else { return };
            let mut origins = Vec::new();
            let mut methods = vec!["GET".to_string(), "POST".to_string(), "HEAD".to_string()];
            let mut headers = Vec::new();
            let mut max_age = 600;
            for (k, fv, kf) in rec {
                match k.text.as_str() {
                    "origins" => {
                        for o in l.strings(fv) {
                            let ok = (o.starts_with("https://") || o.starts_with("http://"))
                                && o.split_once("://").is_some_and(|(_, h)| {
                                    !h.is_empty()
                                        && !h.contains(['/', ' ', '"', ',', '`', '{', '}', '\\'])
                                });
                            if ok {
                                origins.push(o);
                            } else {
                                l.malformed::<()>(fv, format!("`{o}` is not an origin"), "an origin is a scheme and a host, with a port if any: `https://app.example.org`, no path");
                            }
                        }
                    }
                    "methods" => {
                        methods = l.strings(fv);
                        if let Some(bad) = methods
                            .iter()
                            .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase()))
                        {
                            let bad = bad.clone();
                            l.malformed::<()>(
                                fv,
                                format!("`{bad}` is not an HTTP method"),
                                "methods are upper-case: `GET`, `POST`, `PUT`, `DELETE`",
                            );
                        }
                    }
                    "headers" => {
                        headers = l.strings(fv);
                        if let Some(bad) = headers.iter().find(|h| !is_header_name(h)) {
                            let bad = bad.clone();
                            l.malformed::<()>(
                                fv,
                                format!("`{bad}` is not an HTTP header name"),
                                "a header name is letters, digits and `-` (`Content-Type`)",
                            );
                        }
                    }
                    "max_age" => {
                        if let Some(ms) = l.duration(fv) {
                            max_age = ms / 1000;
                        }
                    }
                    _ => l.unknown_sub(
                        &k.text,
                        k.span,
                        *kf,
                        "cors",
                        &["origins", "methods", "headers", "max_age"],
                    ),
                }
            }
            if origins.is_empty() {
                l.ev.err(
                    Diagnostic::error(Code::MissingField, "CORS needs the origins it allows", v.loc.file, v.loc.span)
                        .help("write `cors { origins = [\"https://app.example.org\"] }`: the sites whose pages may call this one"),
                );
                return;
            }
            d.middlewares.push((
                Middleware::Cors {
                    origins,
                    methods,
                    headers,
                    max_age,
                },
                v.loc,
            ));
        },
    },
    Field {
        name: "health_check",
        form: "health_check { path = \"/healthz\", interval = 10s }",
        doc: "The proxy asks each replica for `path` every `interval` (default 10s); one that does not answer 2xx or 3xx gets no requests until it does.",
        lower: |l, v, d| {
            let Some(rec) = l.record(v) else { return };
            let (mut path, mut interval) = (None, 10_000);
            for (k, fv, kf) in rec {
                match k.text.as_str() {
                    "path" => path = l.url_path(fv),
                    "interval" => {
                        if let Some(ms) = l.duration(fv) {
                            interval = ms.max(1000);
                        }
                    }
                    _ => l.unknown_sub(&k.text, k.span, *kf, "health_check", &["path", "interval"]),
                }
            }
            let Some(path) = path else {
                l.ev.err(
                    Diagnostic::error(Code::MissingField, "a health check needs its `path`", v.loc.file, v.loc.span)
                        .help("write `health_check { path = \"/healthz\" }`: the path each replica answers with 2xx when it can take requests"),
                );
                return;
            };
            d.balance.health_check = Some(HealthProbe { path, interval });
            d.balance_at.get_or_insert(v.loc);
        },
    },
    Field {
        name: "sticky_cookie",
        form: "sticky_cookie = \"api_affinity\"",
        doc: "A client keeps going to the replica it first reached, by a cookie of this name the proxy sets.",
        lower: |l, v, d| {
            let Some(name) = l.str(v) else { return };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                l.malformed::<()>(
                    v,
                    format!("`{name}` is not a cookie name"),
                    "a cookie name is letters, digits, `_` and `-`",
                );
                return;
            }
            d.balance.sticky_cookie = Some(name);
            d.balance_at.get_or_insert(v.loc);
        },
    },
    Field {
        name: "pass_host_header",
        form: "pass_host_header = false",
        doc: "Whether the service sees the client's `Host` header (default) or the address the proxy connects to.",
        lower: |l, v, d| {
            if let Some(b) = l.bool(v) {
                d.balance.pass_host_header = b;
            }
        },
    },
    Field {
        name: "protocol",
        form: "protocol = http | tcp | udp",
        doc: "What it carries: HTTP by host name and path (default), a TCP stream by TLS server name (default with `tls = passthrough`), UDP datagrams (default to a UDP port).",
        lower: |l, v, d| {
            d.protocol = l
                .variant(v, "route protocol", &["http", "tcp", "udp"])
                .map(|p| {
                    let p = match p {
                        "tcp" => RouteProtocol::Tcp,
                        "udp" => RouteProtocol::Udp,
                        _ => RouteProtocol::Http,
                    };
                    (p, v.loc)
                });
        },
    },
    Field {
        name: "entrypoints",
        form: "entrypoints = [proxy.port.websecure]",
        doc: "The entry points it listens on: ports its host's proxy publishes (default: the HTTPS one on 443, or the one on 80 with `tls = off`).",
        lower: |l, v, d| {
            let mut out = Vec::new();
            let items = l.list(v).unwrap_or_default();
            d.no_entrypoints = matches!(v.val, Val::List(ref x) if x.is_empty());
            for item in items {
                if let Some((sid, port)) = l.port_ref(item) {
                    out.push((sid, port, item.loc));
                }
            }
            d.entrypoints = Some((out, v.loc));
        },
    },
    Field {
        name: "probe",
        form: "probe = none",
        doc: "`none`: no default HTTPS probe for it (given where the project runs a blackbox exporter), and no W0316 for a public domain nobody probes.",
        lower: |l, v, d| d.no_probe = l.variant(v, "probe setting", &["none"]).is_some(),
    },
    Field {
        name: "via",
        form: "via = edge",
        doc: "The host whose proxy serves it: default the service's host, or, for an address or a redirect, the one host with a proxy. A service of another host is reached at its published port.",
        lower: |l, v, d| {
            if let Some(sym) = l.decl_ref(v, DeclKind::Host) {
                d.via = l.host_ids.get(&sym).map(|&h| (h, v.loc));
            }
        },
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn domain(&mut self, sym: usize) -> Option<Domain> {
        let d = self.decl(sym);
        let loc = self.loc_of(sym);
        // `domain "cloud.${zone}"`: the name is the string's value, known now (a variable
        // read at deploy time is E0214).
        let name: String = match &d.name_expr {
            Some(e) => {
                let v = self.ev.eval(e, loc.file, None);
                self.str(&v)?
            }
            None => d.name.text.to_string(),
        };
        let f = self.fields(sym, &FIELDS);
        let rv = d.route.as_ref().map(|r| self.ev.eval(r, loc.file, None));
        self.domain_from(name, loc, &f, rv.as_ref())
    }

    /// A route named `name` (declared at `loc`) with the written fields `f`, to what `rv`
    /// says (`None`: nothing, already reported): a `domain` declaration's, or one of a
    /// service's `domains`.
    pub(super) fn domain_from(
        &mut self,
        name: String,
        loc: Loc,
        f: &super::Fields,
        rv: Option<&V>,
    ) -> Option<Domain> {
        if let Err(why) = check_domain(&name) {
            self.ev.err(
                Diagnostic::error(Code::MalformedLiteral, format!("`{name}` is not a valid domain name: {why}"), loc.file, loc.span)
                    .label("not a domain name")
                    .help("a domain is dot-separated labels of letters, digits and `-`, e.g. cloud.example.org or *.example.org"),
            );
        }
        let mut written = DomainFields::default();
        self.lower_fields(f, &FIELDS, &mut written, |_| true);
        let rv = rv?;
        let upstream = self.route_upstream(rv)?;
        // What the route forwards to, as a port (a TCP or UDP address is one too).
        let port = match &upstream {
            Upstream::Service { port, .. } => Some(port.clone()),
            Upstream::Address(a) if matches!(a.scheme.as_str(), "tcp" | "udp") => Some(PortRef {
                name: a.url(),
                number: a.port,
                proto: if a.scheme == "udp" {
                    crate::syntax::ast::Proto::Udp
                } else {
                    crate::syntax::ast::Proto::Tcp
                },
                speaks: Speaks::Http,
            }),
            _ => None,
        };
        let host = self.route_host(&name, &upstream, written.via, rv.loc)?;
        if self.model.hosts[host].proxy == Proxy::External {
            self.external_route(&written, &upstream, host, rv.loc)?;
        }
        let ends_at = match &upstream {
            Upstream::Service { service, .. } => Some(*service),
            _ => None,
        };
        let upstream = self.across_hosts(upstream, host, written.via.map(|(_, l)| l), rv.loc)?;
        let protocol = self.route_protocol(&written, port.as_ref(), &upstream, rv.loc)?;
        if let (None, Some(("/", at))) = (
            &written.path_prefix,
            written
                .upstream_path
                .as_ref()
                .map(|(p, l)| (p.as_str(), *l)),
        ) {
            self.ev.err(
                Diagnostic::error(Code::BadRoute, "nothing to strip: the route has no `path`", at.file, at.span)
                    .label("`/` strips the route's path")
                    .help("give the route a `path = \"/app\"` to strip, or remove `upstream_path` (a whole site arrives as it is)"),
            );
            return None;
        }
        let tls = match (written.tls, protocol) {
            (Some((t, _)), _) => t,
            (None, RouteProtocol::Udp) => Tls::Off,
            (None, _) => Tls::Auto,
        };
        if let Upstream::Redirect(r) = &upstream {
            self.redirect_fits(&written, r, &name, tls, rv.loc)?;
        }
        if let Upstream::Dashboard { proxy } = upstream {
            self.dashboard_fits(&written, proxy, host, rv.loc)?;
        }
        let entrypoints = self.route_entrypoints(&written, host, protocol, tls, loc)?;
        self.route_fits_proxy(
            &name,
            host,
            protocol,
            tls,
            written.tls.map_or(loc, |(_, l)| l),
        )?;
        Some(Domain {
            name: name.clone(),
            loc,
            host,
            upstream,
            ends_at,
            tls,
            basic_auth: written.basic_auth.map(|(id, _)| id),
            path_prefix: written.path_prefix.map(|(p, _)| p),
            upstream_path: written.upstream_path.map(|(p, _)| p),
            middlewares: written.middlewares.into_iter().map(|(m, _)| m).collect(),
            balance: written.balance,
            forward_auth: written.forward_auth.map(|(f, _)| f),
            protocol,
            entrypoints,
            default_probe: !written.no_probe,
        })
    }

    /// Where a route goes, as written after `->`: `svc.port.NAME`, `address("https://...")`
    /// or `redirect("https://...")`.
    fn route_upstream(&mut self, v: &V) -> Option<Upstream> {
        match &v.val {
            Val::Call(n, args) if n.text == "address" => {
                let (mut url, mut verify_tls) = (None, None);
                for (name, a) in args {
                    match name.as_ref().map(|n| n.text.as_str()) {
                        None if url.is_none() => url = Some(a),
                        Some("verify_tls") => verify_tls = self.bool(a),
                        _ => {
                            self.mismatch::<()>(
                                a,
                                "`address(\"https://192.168.1.2:8006\", verify_tls = false)`",
                            );
                        }
                    }
                }
                let Some(url) = url else {
                    return self.mismatch(v, "`address(\"http://HOST:PORT\")`");
                };
                let written = self.url(url, &["http", "https", "tcp", "udp"])?;
                if !written.scheme.starts_with("http") && written.port.is_none() {
                    return self.malformed(
                        url,
                        format!(
                            "a {} address needs its port",
                            written.scheme.to_ascii_uppercase()
                        ),
                        "write `tcp://192.168.1.5:993`",
                    );
                }
                let port = written.port_or_default();
                let WrittenUrl {
                    scheme, host, path, ..
                } = written;
                if path.is_some() {
                    return self.malformed(
                        url,
                        "an upstream address has no path".to_string(),
                        "write `scheme://host:port` only; to have the upstream see another path, add `upstream_path = \"/app\"`",
                    );
                }
                if scheme != "https" && verify_tls == Some(false) {
                    let at = args
                        .iter()
                        .find(|(n, _)| n.as_ref().is_some_and(|n| n.text == "verify_tls"))
                        .map_or(v.loc, |(_, a)| a.loc);
                    self.ev.err(
                        Diagnostic::error(
                            Code::BadRoute,
                            "plain HTTP has no certificate to verify",
                            at.file,
                            at.span,
                        )
                        .label("`verify_tls` on an `http://` upstream")
                        .help("remove `verify_tls`, or use `https://` if the upstream speaks TLS"),
                    );
                    return None;
                }
                Some(Upstream::Address(AddressUpstream {
                    scheme,
                    host,
                    port,
                    verify_tls: verify_tls.unwrap_or(true),
                }))
            }
            Val::Call(n, args) if n.text == "redirect" => {
                let (mut url, mut permanent, mut keep_path) = (None, true, true);
                for (name, a) in args {
                    match name.as_ref().map(|n| n.text.as_str()) {
                        None if url.is_none() => url = Some(a),
                        Some("permanent") => permanent = self.bool(a).unwrap_or(permanent),
                        Some("keep_path") => keep_path = self.bool(a).unwrap_or(keep_path),
                        _ => {
                            self.mismatch::<()>(a, "`redirect(\"https://example.org\", permanent = true, keep_path = true)`");
                        }
                    }
                }
                let Some(url) = url else {
                    return self.mismatch(v, "`redirect(\"https://example.org\")`");
                };
                let WrittenUrl {
                    scheme,
                    host,
                    port,
                    path,
                } = self.url(url, &["http", "https"])?;
                let mut to = if host.contains(':') {
                    format!("{scheme}://[{host}]")
                } else {
                    format!("{scheme}://{host}")
                };
                // As written: a port only where one is.
                if let Some(port) = port {
                    to.push(':');
                    to.push_str(&port.to_string());
                }
                if let Some(p) = path {
                    to.push_str(p.trim_end_matches('/'));
                }
                Some(Upstream::Redirect(Redirect {
                    to,
                    keep_path,
                    permanent,
                }))
            }
            Val::Call(n, args) if n.text == "dashboard" => {
                let [(None, a)] = args.as_slice() else {
                    return self.mismatch(
                        v,
                        "`dashboard(PROXY)`: the Traefik service whose dashboard it is",
                    );
                };
                let sym = self.decl_ref(a, DeclKind::Service)?;
                let proxy = *self.service_ids.get(&sym)?;
                let p = &self.model.services[proxy];
                let configured = p.proxy.is_some()
                    && p.host
                        .is_some_and(|h| self.model.hosts[h].proxy == Proxy::Traefik);
                if !configured {
                    let name = p.name.clone();
                    self.ev.err(
                        Diagnostic::error(Code::BadRoute, format!("`{name}` is not a Traefik that sparkc configures"), a.loc.file, a.loc.span)
                            .label("no dashboard sparkc can turn on")
                            .help("name the host's Traefik from the stdlib (`traefik(...)`) or one with `proxy { ... }`: sparkc turns its dashboard on in the traefik.yml it writes (Caddy has none)"),
                    );
                    return None;
                }
                Some(Upstream::Dashboard { proxy })
            }
            Val::Call(n, _) => {
                let forms = ["address", "redirect", "dashboard"];
                let help = match did_you_mean(&n.text, forms.iter().copied()) {
                    Some(f) => format!("did you mean `{f}(...)`?"),
                    None => ROUTE_TARGETS.to_string(),
                };
                self.ev.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("a route cannot go to `{}(...)`", n.text),
                        v.loc.file,
                        v.loc.span,
                    )
                    .label("not a route target")
                    .help(help),
                );
                None
            }
            Val::Str(text) => {
                let help = format!("an address is written `address(\"{text}\")`; {ROUTE_TARGETS}");
                self.ev.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        "a route goes to a service's port, an address or a redirect, not a string",
                        v.loc.file,
                        v.loc.span,
                    )
                    .label("a string")
                    .help(help),
                );
                None
            }
            _ => self
                .port_ref(v)
                .map(|(service, port)| Upstream::Service { service, port }),
        }
    }

    /// `scheme://host[:port][/path]`, checked: the scheme one of `schemes`.
    pub(super) fn url(&mut self, v: &V, schemes: &[&str]) -> Option<WrittenUrl> {
        let text = self.str(v)?;
        let help = "write `https://192.168.1.2:8006` or `https://example.org/path`: a scheme, a host name or address, an optional port and path";
        let Some((scheme, rest)) = text.split_once("://") else {
            return self.malformed(v, format!("`{text}` is not a URL"), help);
        };
        if !schemes.contains(&scheme) {
            return self.malformed(
                v,
                format!("`{scheme}` is not a scheme a route can send to"),
                &{
                    let all: Vec<String> = schemes.iter().map(|s| format!("`{s}://`")).collect();
                    match all.split_last() {
                        Some((last, rest)) if !rest.is_empty() => {
                            format!("write {} or {last}", rest.join(", "))
                        }
                        _ => format!("write {}", all.concat()),
                    }
                },
            );
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        if rest.contains(['?', '#', '@']) {
            return self.malformed(
                v,
                format!("`{text}` has a query, a fragment or credentials"),
                help,
            );
        }
        let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
            let Some((h, after)) = inner.split_once(']') else {
                return self.malformed(v, format!("`{text}` has an unclosed `[`"), help);
            };
            (h, after.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        let host_ok = host.parse::<std::net::IpAddr>().is_ok()
            || (!host.starts_with("*.") && check_domain(host).is_ok())
            || (!host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        if !host_ok {
            return self.malformed(
                v,
                format!("`{host}` is not a host name or an IP address"),
                help,
            );
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return self.malformed(
                        v,
                        format!("`{p}` is not a port number"),
                        "a port is 1 to 65535",
                    );
                }
            },
        };
        let path = match path {
            None | Some("/") => None,
            Some(p) => {
                if !p.chars().all(is_url_path_char) {
                    return self.malformed(
                        v,
                        format!("path `{p}` holds characters a URL path cannot hold as they are"),
                        "percent-encode them (a space is `%20`)",
                    );
                }
                Some(p.to_string())
            }
        };
        Some(WrittenUrl {
            scheme: scheme.to_string(),
            host: host.to_string(),
            port,
            path,
        })
    }

    /// The host whose proxy serves a route: `via`, else the service's host, else the one
    /// host with a proxy.
    fn route_host(
        &mut self,
        name: &str,
        upstream: &Upstream,
        via: Option<(HostId, Loc)>,
        at: Loc,
    ) -> Option<HostId> {
        let host = match (via, upstream) {
            (Some((h, _)), _) => h,
            (None, Upstream::Service { service, .. }) => self.model.services[*service].host?,
            (None, Upstream::Dashboard { proxy }) => self.model.services[*proxy].host?,
            (None, _) => {
                let with_proxy: Vec<HostId> = self
                    .model
                    .hosts
                    .iter_enumerated()
                    .filter(|(_, h)| matches!(h.proxy, Proxy::Caddy | Proxy::Traefik))
                    .map(|(id, _)| id)
                    .collect();
                if let [one] = with_proxy[..] {
                    one
                } else {
                    let names: Vec<&str> = with_proxy
                        .iter()
                        .map(|&h| self.model.hosts[h].name.as_str())
                        .collect();
                    self.ev.err(
                        Diagnostic::error(Code::MissingField, format!("which host's proxy serves `{name}`?"), at.file, at.span)
                            .label("not a service: no host to take the proxy from")
                            .help(if names.is_empty() {
                                "no host has a proxy: give one `proxy = traefik` or `proxy = caddy`, and name it: `via = HOST`".to_string()
                            } else {
                                format!("name it: `via = HOST` (hosts with a proxy: {})", names.join(", "))
                            }),
                    );
                    return None;
                }
            }
        };
        let h = &self.model.hosts[host];
        if h.proxy == Proxy::None {
            let at = via.map_or(at, |(_, l)| l);
            let hn = h.name.clone();
            self.ev.err(
                Diagnostic::error(Code::BadRoute, format!("host `{hn}` has no proxy to route `{name}`"), at.file, at.span)
                    .label("no proxy here")
                    .help(format!("give `{hn}` a proxy (`proxy = traefik` or `proxy = caddy`; `proxy = external` if one outside the project serves it), or route via a host that has one: `via = HOST`")),
            );
            return None;
        }
        Some(host)
    }

    /// A service on another host than the route's proxy: reached at its host's address and
    /// the port the service publishes there.
    /// For each host, whether the container of its proxy (Caddy or Traefik, by template or
    /// image) runs with `network_mode = host`.
    pub(super) fn proxies_on_host_network(&self) -> List<HostId, bool> {
        let proxies = self.model.proxy_containers();
        let mut out = List::filled(self.model.hosts.len(), false);
        for (hid, p) in proxies.iter_enumerated() {
            out[hid] =
                p.is_some_and(|p| self.model.services[p].network_mode == Some(NetworkMode::Host));
        }
        out
    }

    fn across_hosts(
        &mut self,
        upstream: Upstream,
        host: HostId,
        via_at: Option<Loc>,
        route_at: Loc,
    ) -> Option<Upstream> {
        let Upstream::Service { service, port } = &upstream else {
            return Some(upstream);
        };
        let s = &self.model.services[*service];
        // A proxy in the host's own network namespace has no container DNS: it reaches a
        // container of its host at the port that container publishes.
        let proxy_on_host = self
            .proxy_on_host_network
            .get(host)
            .copied()
            .unwrap_or(false);
        if proxy_on_host && s.host == Some(host) && !s.external {
            let (sn, pn) = (s.name.clone(), port.name.clone());
            let at = route_at;
            let Some((address, published)) =
                self.model.from_same_host(*service, port.number, port.proto)
            else {
                self.ev.err(
                    Diagnostic::error(Code::BadRoute, format!("`{sn}` does not publish port `{pn}`, and its host's proxy runs in the host's network"), at.file, at.span)
                        .label("a proxy with `network_mode = host` reaches containers only at published ports")
                        .help(format!("publish it on the loopback address: `publish = [{{ address = 127.0.0.1, host_port = N, port = {pn} }}]`")),
                );
                return None;
            };
            return Some(Upstream::Address(AddressUpstream {
                scheme: "http".into(),
                host: address.to_string(),
                port: published,
                verify_tls: true,
            }));
        }
        if (s.host == Some(host) && !s.external) || s.host.is_none() {
            return Some(upstream);
        }
        let at = via_at.unwrap_or(s.loc);
        let Some(other) = s.host.map(|h| &self.model.hosts[h]) else {
            return Some(upstream);
        };
        let (sn, on, pn) = (s.name.clone(), other.name.clone(), port.name.clone());
        match self.model.from_outside(*service, port.number, port.proto) {
            Ok((address, published_port)) => Some(Upstream::Address(AddressUpstream {
                scheme: "http".into(),
                host: address.to_string(),
                port: published_port,
                verify_tls: true,
            })),
            Err(OutsideGap::NotPublished) => {
                self.ev.err(
                    Diagnostic::error(Code::BadRoute, format!("`{sn}` runs on `{on}` and does not publish port `{pn}` there"), at.file, at.span)
                        .label("the proxy of another host cannot reach it")
                        .help(format!("publish it on `{on}` (`publish = [{pn}]` on `{sn}`), or route via `{on}`'s own proxy")),
                );
                None
            }
            Err(OutsideGap::LoopbackOnly) => {
                self.ev.err(
                    Diagnostic::error(
                        Code::BadRoute,
                        format!("`{sn}` publishes port `{pn}` on `{on}`'s loopback only"),
                        at.file,
                        at.span,
                    )
                    .label("the proxy of another host cannot reach it")
                    .help(format!(
                        "publish it on `{on}`'s network address, or route via `{on}`'s own proxy"
                    )),
                );
                None
            }
            Err(OutsideGap::NoAddress) => {
                self.ev.err(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("host `{on}` has no address the proxy could reach `{sn}` at"),
                        at.file,
                        at.span,
                    )
                    .label("routed from another host")
                    .help(format!("give `{on}` its address: `address = 192.168.1.10`")),
                );
                None
            }
        }
    }

    /// A route through a proxy outside the project is a name sparkc knows (for monitors and
    /// links) and configures nothing for: what would configure that proxy would do nothing.
    fn external_route(
        &mut self,
        w: &DomainFields,
        upstream: &Upstream,
        host: HostId,
        at: Loc,
    ) -> Option<()> {
        let mut written = w.shaping_fields();
        written.extend(w.entrypoints.as_ref().map(|(_, l)| ("entrypoints", *l)));
        if !matches!(upstream, Upstream::Service { .. }) {
            written.push(("->", at));
        }
        let hn = self.model.hosts[host].name.clone();
        let mut ok = true;
        for (what, l) in written {
            let msg = if what == "->" {
                "only a service's port can be routed by a proxy outside the project".to_string()
            } else {
                format!("`{what}` would do nothing: sparkc does not configure host `{hn}`'s proxy")
            };
            self.ev.err(
                Diagnostic::error(Code::BadRoute, msg, l.file, l.span)
                    .label("`proxy = external`")
                    .help(format!("configure it in the proxy that serves `{hn}`, and remove it here; or let sparkc run the proxy (`proxy = traefik` or `proxy = caddy`)")),
            );
            ok = false;
        }
        ok.then_some(())
    }

    /// A proxy's dashboard is served by that proxy, and controls or reads every route: only
    /// behind a login.
    fn dashboard_fits(
        &mut self,
        w: &DomainFields,
        proxy: ServiceId,
        host: HostId,
        at: Loc,
    ) -> Option<()> {
        let p = &self.model.services[proxy];
        if p.host != Some(host) {
            let (pn, hn) = (p.name.clone(), self.model.hosts[host].name.clone());
            let at = w.via.map_or(at, |(_, l)| l);
            self.ev.err(
                Diagnostic::error(
                    Code::BadRoute,
                    format!(
                        "`{pn}`'s dashboard is served by `{pn}` itself, not by the proxy of `{hn}`"
                    ),
                    at.file,
                    at.span,
                )
                .label("another host's proxy")
                .help("remove `via`: the route goes on the dashboard's own proxy"),
            );
            return None;
        }
        let mut ok = true;
        for (what, l) in [
            w.upstream_path.as_ref().map(|(_, l)| ("upstream_path", *l)),
            w.balance_at.map(|l| ("health_check` / `sticky_cookie", l)),
        ]
        .into_iter()
        .flatten()
        {
            self.ev.err(
                Diagnostic::error(
                    Code::BadRoute,
                    format!("`{what}` does not apply to a proxy's dashboard"),
                    l.file,
                    l.span,
                )
                .label("the dashboard is the proxy's own")
                .help("remove it: the dashboard lives at `/dashboard/` and its API at `/api`"),
            );
            ok = false;
        }
        if w.basic_auth.is_none() && w.forward_auth.is_none() {
            let pn = p.name.clone();
            self.ev.err(
                Diagnostic::error(Code::UnprotectedAdmin, format!("`{pn}`'s dashboard without a login"), at.file, at.span)
                    .label("anyone who can reach this name reads every route, service and middleware")
                    .help("require a login: `auth = basic_auth(admins)` with `secret admins from file \"./secrets/admins.htpasswd\"`, or `auth = forward_auth(...)`"),
            );
            ok = false;
        }
        ok.then_some(())
    }

    /// A redirect is answered by the proxy alone: nothing of a proxied route applies, and it
    /// must not point at itself.
    fn redirect_fits(
        &mut self,
        w: &DomainFields,
        r: &Redirect,
        name: &str,
        tls: Tls,
        at: Loc,
    ) -> Option<()> {
        let written = w.shaping_fields();
        let mut ok = true;
        for (what, l) in written {
            self.ev.err(
                Diagnostic::error(Code::BadRoute, format!("`{what}` does not apply to a redirect"), l.file, l.span)
                    .label("on a route that only redirects")
                    .help("the proxy answers every request with the redirect itself: remove this, or declare it on the route the redirect goes to"),
            );
            ok = false;
        }
        let (scheme, rest) = r.to.split_once("://").unwrap_or(("", ""));
        let target_host = rest.split(['/', ':']).next().unwrap_or("");
        let same_scheme = (scheme == "http") == (tls == Tls::Off);
        if target_host.eq_ignore_ascii_case(name)
            && same_scheme
            && w.path_prefix.is_none()
            && r.keep_path
        {
            self.ev.err(
                Diagnostic::error(Code::BadRoute, format!("`{name}` redirects to itself"), at.file, at.span)
                    .label("every request would be sent here again")
                    .help("redirect to another name (`www.example.org` to `https://example.org`) or scheme (a plain-HTTP route to `https://` itself), or give the route a `path`"),
            );
            ok = false;
        }
        ok.then_some(())
    }

    /// What a route carries, and whether what is written fits it: written, else UDP to a UDP
    /// port, TCP with TLS passthrough, else HTTP.
    fn route_protocol(
        &mut self,
        w: &DomainFields,
        port: Option<&PortRef>,
        upstream: &Upstream,
        at: Loc,
    ) -> Option<RouteProtocol> {
        let udp_port = port.is_some_and(|p| p.proto == crate::syntax::ast::Proto::Udp);
        let tcp_address = matches!(upstream, Upstream::Address(a) if a.scheme == "tcp");
        let protocol = match w.protocol {
            Some((p, _)) => p,
            None if udp_port => RouteProtocol::Udp,
            None if tcp_address => RouteProtocol::Tcp,
            None if matches!(w.tls, Some((Tls::Passthrough, _))) => RouteProtocol::Tcp,
            None => RouteProtocol::Http,
        };
        let name = |p: RouteProtocol| match p {
            RouteProtocol::Http => "an HTTP",
            RouteProtocol::Tcp => "a TCP",
            RouteProtocol::Udp => "a UDP",
        };
        let bad = |l: &mut Self, loc: Loc, msg: String, help: &str| {
            l.ev.err(
                Diagnostic::error(Code::BadRoute, msg, loc.file, loc.span)
                    .label(format!("on {} route", name(protocol)))
                    .help(help.to_string()),
            );
        };
        let mut ok = true;
        let Some(port) = port else {
            if protocol != RouteProtocol::Http {
                let at = w.protocol.map_or(at, |(_, l)| l);
                let what = match upstream {
                    Upstream::Redirect(_) => "a redirect",
                    Upstream::Dashboard { .. } => "a proxy's dashboard",
                    _ => "a route to an address",
                };
                bad(
                    self,
                    at,
                    format!("{what} is HTTP"),
                    "remove `protocol`: the proxy answers or forwards HTTP requests here (a TCP or UDP route goes to a service's port)",
                );
                return None;
            }
            return Some(protocol);
        };
        if let Upstream::Address(a) = upstream
            && (protocol == RouteProtocol::Http) != a.scheme.starts_with("http")
        {
            let at = w.protocol.map_or(at, |(_, l)| l);
            bad(
                self,
                at,
                format!(
                    "`{}` is not an address {} route sends to",
                    a.url(),
                    name(protocol)
                ),
                "an HTTP route goes to `http://` or `https://`, a TCP route to `tcp://HOST:PORT`, a UDP route to `udp://HOST:PORT`",
            );
            return None;
        }
        if udp_port != (protocol == RouteProtocol::Udp) {
            let at = w.protocol.map_or(at, |(_, l)| l);
            bad(
                self,
                at,
                format!(
                    "port `{}` is {}, but this is {} route",
                    port.name,
                    if udp_port { "UDP" } else { "TCP" },
                    name(protocol)
                ),
                "a UDP route goes to a UDP port (`port { turn = 3478/udp }`), an HTTP or TCP route to a TCP one",
            );
            ok = false;
        }
        if protocol != RouteProtocol::Http {
            if let Some((_, l)) = w.path_prefix {
                bad(
                    self,
                    l,
                    "only an HTTP route has a path".into(),
                    "a TCP route is chosen by its TLS server name, a UDP route by its entry point: remove `path`",
                );
                ok = false;
            }
            if let Some(l) = w
                .basic_auth
                .map(|(_, l)| l)
                .or(w.forward_auth.as_ref().map(|(_, l)| *l))
            {
                bad(
                    self,
                    l,
                    "only an HTTP route can ask for a login".into(),
                    "the service behind a TCP or UDP route checks its own credentials: remove `auth`",
                );
                ok = false;
            }
            let http_only = w
                .upstream_path
                .iter()
                .map(|(_, l)| ("upstream_path", *l))
                .chain(w.balance_at.map(|l| ("health_check` / `sticky_cookie", l)))
                .chain(w.middlewares.iter().filter_map(|(m, l)| {
                    // An allow-list filters TCP streams as well (not datagrams: no proxy
                    // sparkc configures filters UDP by source).
                    let tcp_too = matches!(m, Middleware::AllowFrom(_));
                    (!(tcp_too && protocol == RouteProtocol::Tcp))
                        .then(|| (middleware_field(m), *l))
                }))
                .collect::<Vec<_>>();
            for (field, l) in http_only {
                bad(
                    self,
                    l,
                    format!("`{field}` does not apply to {} route", name(protocol)),
                    "a TCP or UDP route forwards bytes as they come, with no paths, headers or bodies to act on (a TCP route can have `allow`): remove it, or route HTTP (`protocol = http`)",
                );
                ok = false;
            }
        }
        match (protocol, w.tls) {
            (RouteProtocol::Http, Some((Tls::Passthrough, l))) => {
                bad(
                    self,
                    l,
                    "TLS passthrough is for a TCP route".into(),
                    "write `protocol = tcp` to pass the TLS stream through to the service (it terminates TLS itself), or drop `tls = passthrough` to have the proxy terminate HTTPS",
                );
                ok = false;
            }
            (RouteProtocol::Udp, Some((t, l))) if t != Tls::Off => {
                bad(
                    self,
                    l,
                    "a UDP route has no TLS".into(),
                    "remove `tls`: datagrams are forwarded as they come (DTLS, if any, is the service's)",
                );
                ok = false;
            }
            _ => {}
        }
        ok.then_some(protocol)
    }

    /// The entry points a route listens on: as written, each a port its host's proxy
    /// publishes; else the default for its protocol and TLS mode. Empty when the host's
    /// proxy is not configured by sparkc.
    fn route_entrypoints(
        &mut self,
        w: &DomainFields,
        host: HostId,
        protocol: RouteProtocol,
        tls: Tls,
        loc: Loc,
    ) -> Option<Vec<String>> {
        let Some(proxy) = self.proxies.get(host).copied().flatten() else {
            if let Some((_, at)) = &w.entrypoints {
                let h = &self.model.hosts[host];
                self.ev.err(
                    Diagnostic::error(
                        Code::UnknownEntryPoint,
                        format!("host `{}` has no proxy configured by sparkc, whose entry points a route could name", h.name),
                        at.file,
                        at.span,
                    )
                    .label("entry points of what?")
                    .help("run the host's proxy from the stdlib (`service traefik on HOST = traefik(...)`), or give your proxy service `proxy { ... }`; with a proxy configured by hand, the entry point names come from the target options"),
                );
                return None;
            }
            return Some(Vec::new());
        };
        let p = &self.model.services[proxy];
        let published = |port: &PortRef| {
            p.publish.iter().any(|x| {
                x.container.0 <= port.number
                    && port.number <= x.container.1
                    && x.proto == port.proto
            })
        };
        let mut out = Vec::new();
        let want_udp = protocol == RouteProtocol::Udp;
        if let Some((list, at)) = &w.entrypoints {
            let mut ok = true;
            for (sid, port, l) in list {
                let msg = if *sid != proxy {
                    Some((
                        format!(
                            "`{}` is not the proxy of host `{}`",
                            self.model.services[*sid].name, self.model.hosts[host].name
                        ),
                        format!(
                            "name a port of `{}`, the host's proxy: `{}.port.NAME`",
                            p.name, p.name
                        ),
                    ))
                } else if !published(port) {
                    Some((
                        format!(
                            "`{}` does not publish port `{}`: no request reaches it from outside",
                            p.name, port.name
                        ),
                        format!(
                            "publish it on `{}` (`publish = [..., {}]`), or name an entry point it publishes",
                            p.name, port.name
                        ),
                    ))
                } else if (port.proto == crate::syntax::ast::Proto::Udp) != want_udp {
                    Some((
                        format!("entry point `{}` is {}, the route is not", port.name, if want_udp { "TCP" } else { "UDP" }),
                        "a UDP route listens on UDP entry points (`3478/udp`), HTTP and TCP routes on TCP ones".to_string(),
                    ))
                } else {
                    None
                };
                match msg {
                    Some((m, help)) => {
                        self.ev.err(
                            Diagnostic::error(Code::UnknownEntryPoint, m, l.file, l.span)
                                .label("not an entry point of this route's proxy")
                                .help(help),
                        );
                        ok = false;
                    }
                    None if !out.contains(&port.name) => out.push(port.name.clone()),
                    None => {}
                }
            }
            if w.no_entrypoints {
                self.ev.err(
                    Diagnostic::error(Code::UnknownEntryPoint, "a route needs an entry point to listen on", at.file, at.span)
                        .help(format!("name one of `{}`'s published ports, e.g. `[{}.port.{}]`, or remove `entrypoints` for the default", p.name, p.name, p.ports.first().map_or("web", |x| x.name.as_str()))),
                );
                ok = false;
            }
            return (ok && !list.is_empty()).then_some(out);
        }
        // The default: HTTPS on 443, plain HTTP on 80; TCP and UDP routes name theirs.
        let number = match (protocol, tls) {
            (RouteProtocol::Http, Tls::Off) => 80,
            (RouteProtocol::Http, _) => 443,
            _ => {
                self.ev.err(
                    Diagnostic::error(Code::UnknownEntryPoint, format!("a {} route needs its entry points named", if want_udp { "UDP" } else { "TCP" }), loc.file, loc.span)
                        .label("listening where?")
                        .help(format!("declare and publish a port on `{}` for it and name it: `entrypoints = [{}.port.NAME]`", p.name, p.name)),
                );
                return None;
            }
        };
        let found = p.ports.iter().find(|x| {
            x.port == number
                && x.proto == crate::syntax::ast::Proto::Tcp
                && published(&PortRef {
                    name: x.name.clone(),
                    number: x.port,
                    proto: x.proto,
                    speaks: x.speaks.clone(),
                })
        });
        if let Some(x) = found {
            return Some(vec![x.name.clone()]);
        }
        let what = if tls == Tls::Off {
            "plain-HTTP"
        } else {
            "HTTPS"
        };
        self.ev.err(
            Diagnostic::error(
                Code::UnknownEntryPoint,
                format!(
                    "`{}` publishes no port {number}, where {what} routes listen by default",
                    p.name
                ),
                loc.file,
                loc.span,
            )
            .label("no default entry point")
            .help(format!(
                "name the entry point: `entrypoints = [{}.port.NAME]`",
                p.name
            )),
        );
        None
    }

    /// What a sparkc-configured proxy must have for a route: an ACME account for a public
    /// certificate, DNS-01 for a wildcard one.
    fn route_fits_proxy(
        &mut self,
        name: &str,
        host: HostId,
        protocol: RouteProtocol,
        tls: Tls,
        at: Loc,
    ) -> Option<()> {
        let Some(proxy) = self.proxies.get(host).copied().flatten() else {
            return Some(());
        };
        let p = &self.model.services[proxy];
        let settings = p.proxy.as_deref()?;
        if tls == Tls::Auto && protocol != RouteProtocol::Udp && settings.acme.is_none() {
            self.ev.err(
                Diagnostic::error(Code::MissingField, format!("a public certificate needs an ACME account on `{}`", p.name), at.file, at.span)
                    .label("`tls = auto` (the default)")
                    .help(format!("add `acme {{ email = \"ops@example.org\", storage = \"/letsencrypt/acme.json\" }}` to `proxy {{ ... }}` on `{}`, or write `tls = internal`", p.name)),
            );
            return None;
        }
        let wildcard = name.starts_with("*.");
        if wildcard
            && tls == Tls::Auto
            && settings
                .acme
                .as_ref()
                .is_some_and(|a| !matches!(a.challenge, AcmeChallenge::Dns { .. }))
        {
            self.ev.err(
                Diagnostic::error(Code::BadRoute, format!("a certificate for `{name}` needs the DNS-01 challenge"), at.file, at.span)
                    .label("`tls = auto` (the default) for a wildcard name")
                    .help(format!("a CA proves control of every name below `{}` only through DNS: set `acme {{ challenge = dns(cloudflare, CF_DNS_API_TOKEN = cf_token) }}` in `proxy {{ ... }}` on `{}` (your DNS provider and its credentials as secrets), or write `tls = internal`", &name[2..], p.name)),
            );
            return None;
        }
        // A plain-HTTP route on an entry point that redirects to HTTPS is served there: the
        // redirect answers only what no route claims (the static file gives it the lowest
        // priority).
        Some(())
    }

    /// A path the service sees: absolute, as a route's; `/` kept (it means "stripped").
    pub(super) fn url_path_or_root(&mut self, v: &V) -> Option<String> {
        if matches!(&v.val, Val::Str(s) if s.as_str() == "/") {
            return Some("/".to_string());
        }
        self.url_path(v)
    }

    /// Headers to set: names of letters, digits and `-`; values of printable characters that
    /// no proxy's configuration syntax reads specially (quotes, braces, backticks, `\\`).
    fn header_map(&mut self, v: &V) -> Map<String, String> {
        let mut out = Map::default();
        let Some(rec) = self.record(v) else {
            return out;
        };
        for (k, fv, kf) in rec {
            let name = k.text.as_str();
            if !is_header_name(name) {
                self.ev.err(
                    Diagnostic::error(
                        Code::MalformedLiteral,
                        format!("`{name}` is not an HTTP header name"),
                        *kf,
                        k.span,
                    )
                    .help("a header name is letters, digits and `-` (`X-Frame-Options`)"),
                );
                continue;
            }
            let Some(value) = self.str(fv) else { continue };
            if !value
                .chars()
                .all(|c| (' '..='~').contains(&c) && !"\"\\{}`".contains(c))
            {
                self.malformed::<()>(
                    fv,
                    format!(
                        "header `{name}` has a value a proxy's configuration cannot hold as it is"
                    ),
                    "use printable ASCII without quotes, braces, backticks or backslashes",
                );
                continue;
            }
            out.insert(name.to_string(), value);
        }
        out
    }

    /// A route's path: absolute, with only characters a URL path holds as they are (proxies
    /// embed it in their own syntax: Traefik's `PathPrefix`(`...`), a Caddyfile matcher).
    /// `/` is the whole site, the same as no path: `None`, decided here once.
    fn url_path(&mut self, v: &V) -> Option<String> {
        let p = self.str(v)?;
        if !p.starts_with('/') {
            self.malformed(
                v,
                format!("path `{p}` does not start with `/`"),
                "write an absolute URL path, e.g. \"/api\"",
            )
        } else if !p.chars().all(is_url_path_char) {
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
                            if def.last != def.port {
                                let (first, last) = (def.port, def.last);
                                let loc = Loc {
                                    file: v.loc.file,
                                    span: n.span,
                                };
                                return self.range_refused(loc, first, last, "a route or probe");
                            }
                            Some((
                                id,
                                PortRef {
                                    name: def.name.clone(),
                                    number: def.port,
                                    proto: def.proto,
                                    speaks: def.speaks.clone(),
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
