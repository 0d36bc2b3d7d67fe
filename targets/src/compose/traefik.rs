//! Traefik on a compose or swarm host: the routing labels of the services it serves, the
//! network it reaches each through, and whether it can see them at all.

use super::Emitter;
use super::file::Labels;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;

/// What makes routes to one service share a router: everything but the host name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RouteKey<'d> {
    protocol: RouteProtocol,
    pub(super) upstream: &'d Upstream,
    path: Option<&'d str>,
    tls: Tls,
    entrypoints: &'d [String],
    basic_auth: Option<SecretId>,
    upstream_path: Option<&'d str>,
    middlewares: &'d [Middleware],
    balance: &'d Balance,
    forward_auth: Option<&'d ForwardAuth>,
}

impl<'d> RouteKey<'d> {
    pub(super) fn of(d: &'d Domain) -> Self {
        RouteKey {
            protocol: d.protocol,
            upstream: &d.upstream,
            path: d.path_prefix.as_deref(),
            tls: d.tls,
            entrypoints: &d.entrypoints,
            basic_auth: d.basic_auth,
            upstream_path: d.upstream_path.as_deref(),
            middlewares: &d.middlewares,
            balance: &d.balance,
            forward_auth: d.forward_auth.as_ref(),
        }
    }
}

/// The Traefik entry point and certificate resolver names routing labels refer to; the
/// stdlib `traefik` template defines these names. `[targets.compose]` options override them.
pub(super) struct TraefikNames {
    http: String,
    https: String,
    resolver: String,
    /// Whether Traefik redirects everything on the HTTP entry point to HTTPS (the stdlib
    /// template does), which makes a plain-HTTP route unreachable.
    redirects_http: bool,
}

impl TraefikNames {
    pub(super) fn from_options(o: &sparkc_core::target::TargetOptions) -> Self {
        let get = |k: &str, d: &str| o.get(k).cloned().unwrap_or_else(|| d.to_string());
        TraefikNames {
            http: get("traefik_entrypoint_http", "web"),
            https: get("traefik_entrypoint_https", "websecure"),
            resolver: get("traefik_certresolver", "le"),
            redirects_http: get("traefik_redirects_http", "true") != "false",
        }
    }
}

/// The servers transport, defined once in the routes file, of the ports whose certificate
/// Traefik does not verify (`https(..., verify_tls = false)`).
pub(super) const SKIP_VERIFY_TRANSPORT: &str = "_skip-verify";

impl Emitter<'_> {
    /// Routing labels for the domains that point at `s` when its host's proxy is Traefik.
    /// One router per (protocol, port, path, TLS mode, entry points); several domains on one
    /// router share its rule.
    pub(super) fn traefik_labels(&mut self, s: &Service, sid: ServiceId) -> Labels {
        let mut labels = Labels::default();
        if self.host.proxy != Proxy::Traefik || self.routes[sid].is_empty() {
            return labels;
        }
        let shared_in_file = self.traefik_service.is_some_and(|t| {
            self.m.services[t].proxy.is_some()
                && crate::placement::mounted_file(
                    self.m,
                    t,
                    super::traefik_file::ROUTES_FILE_IN_CONTAINER,
                )
                .is_some()
        });
        let mut routers: Vec<(RouteKey<'_>, Vec<&Domain>)> = Vec::new();
        for &did in &self.routes[sid] {
            let d = &self.m.domains[did];
            // Not verifying a certificate takes a servers transport, which only the file
            // provider defines: the routes file of a Traefik sparkc configures.
            if let Upstream::Service { port, .. } = &d.upstream
                && matches!(port.speaks, Speaks::Https { verify_tls: false })
                && !shared_in_file
            {
                self.diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        format!("`{}` goes to a port whose certificate Traefik is not to verify, which takes Traefik's file provider", d.name),
                        d.loc.file,
                        d.loc.span,
                    )
                    .label(format!("`{}` is `https(..., verify_tls = false)`", port.name))
                    .help("run the host's Traefik from the stdlib (`traefik(...)`), which reads sparkc's routes file; or give the port a certificate Traefik trusts and drop `verify_tls = false`"),
                );
                continue;
            }
            // With a Traefik configured by hand, its entry points are the options' names;
            // a sparkc-configured one has checked its routes in lowering.
            if d.entrypoints.is_empty() && d.tls == Tls::Off && self.traefik.redirects_http {
                self.diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        format!("`{}` asks for plain HTTP, but Traefik redirects every HTTP request to HTTPS", d.name),
                        d.loc.file,
                        d.loc.span,
                    )
                    .label("this route would never be reached")
                    .help("drop `tls = off`; or, if your Traefik serves plain HTTP on its `web` entry point, set `traefik_redirects_http = \"false\"` under `[targets.compose]` in spark.toml"),
                );
                continue;
            }
            if let Upstream::Service { port, .. } = &d.upstream
                && matches!(port.speaks, Speaks::Fastcgi { .. })
            {
                self.diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        format!("`{}` routes to a FastCGI port, and Traefik cannot speak FastCGI", d.name),
                        d.loc.file,
                        d.loc.span,
                    )
                    .label(format!("`{}` is `fastcgi(...)`", port.name))
                    .help("put a web server that speaks FastCGI in front of it (an nginx or Caddy container, or the image's `-apache` variant) and route to its HTTP port, or serve this host's domains with `proxy = caddy`"),
                );
                continue;
            }
            let key = RouteKey::of(d);
            match routers.iter_mut().find(|(k, _)| *k == key) {
                Some((_, ds)) => ds.push(d),
                None => routers.push((key, vec![d])),
            }
        }
        // Every diagnostic is above; what follows is only text.
        if routers.is_empty() || !self.text {
            return labels;
        }
        labels.set("traefik.enable", "true");
        if let Some(net) = self.traefik_network(sid) {
            // Each provider reads its own key: the docker one, or the swarm one on swarm.
            let key = if self.swarm() {
                "traefik.swarm.network"
            } else {
                "traefik.docker.network"
            };
            labels.set(key, net);
        }
        let writer = RouterWriter {
            m: self.m,
            names: self.traefik,
            configured: self
                .traefik_service
                .is_some_and(|t| self.m.services[t].proxy.is_some()),
            has_acme: self.has_acme(),
            shared_in_file,
        };
        let names: Vec<String> = routers
            .iter()
            .map(|(key, _)| {
                let port = match key.upstream {
                    Upstream::Service { port, .. } => port.name.as_str(),
                    _ => "",
                };
                // A router named after the service when it is its only one of its protocol.
                let single = routers
                    .iter()
                    .filter(|(k, _)| k.protocol == key.protocol)
                    .count()
                    == 1;
                if single {
                    s.name.clone()
                } else {
                    let mut r = format!("{}-{port}", s.name);
                    name_suffixes(&mut r, key, &routers);
                    r
                }
            })
            .collect();
        for (i, (key, domains)) in routers.iter().enumerate() {
            let Upstream::Service { port, .. } = key.upstream else {
                continue;
            };
            let router = names[i].as_str();
            // Routers to one port, balanced alike, share one service: the first one's.
            let owner = routers
                .iter()
                .position(|(k, _)| {
                    (k.protocol, k.upstream, k.balance) == (key.protocol, key.upstream, key.balance)
                })
                .unwrap_or(i);
            // A lone HTTP router's service is the one Traefik derives from the container.
            let single = router == s.name;
            let service =
                (!single || key.protocol != RouteProtocol::Http).then_some(names[owner].as_str());
            let server = if owner == i {
                Server::Port(port.number, port.speaks.clone())
            } else {
                Server::Elsewhere
            };
            writer.router(&mut labels, router, key, domains, service, server);
        }
        labels
    }
}

/// The path, TLS mode, entry points and number that tell a router from its siblings with
/// the same upstream: `<base>-api-internal-websecure-2`.
pub(super) fn name_suffixes(
    r: &mut String,
    key: &RouteKey<'_>,
    routers: &[(RouteKey<'_>, Vec<&Domain>)],
) {
    let same_but_entrypoints = |k: &RouteKey<'_>| {
        (k.protocol, k.upstream, k.path, k.tls) == (key.protocol, key.upstream, key.path, key.tls)
    };
    if let Some(p) = key.path {
        r.push_str(&p.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    }
    match key.tls {
        Tls::Auto => {}
        Tls::Internal => r.push_str("-internal"),
        Tls::Off => r.push_str("-plain"),
        Tls::Passthrough => r.push_str("-passthrough"),
    }
    if routers
        .iter()
        .any(|(k, _)| same_but_entrypoints(k) && k.entrypoints != key.entrypoints)
    {
        for e in key.entrypoints {
            r.push('-');
            r.push_str(e);
        }
    }
    // Routes that differ only in their middlewares: numbered, in declaration order.
    let twins: Vec<&RouteKey<'_>> = routers
        .iter()
        .map(|(k, _)| k)
        .filter(|k| same_but_entrypoints(k) && k.entrypoints == key.entrypoints)
        .collect();
    if twins.len() > 1 {
        let n = twins.iter().position(|k| *k == key).unwrap_or(0);
        if n > 0 {
            r.push('-');
            r.push_str(&(n + 1).to_string());
        }
    }
}

/// `Host(`a.example.org`)`; for `*.example.org`, one label below it, as a regular
/// expression (`HostRegexp`, `HostSNIRegexp`): Traefik's `Host` takes no wildcards.
fn host_rule(matcher: &str, name: &str) -> String {
    match name.strip_prefix("*.") {
        Some(below) => format!(
            "{matcher}Regexp(`^[^.]+\\.{}$`)",
            crate::regex_literal(below)
        ),
        None => format!("{matcher}(`{name}`)"),
    }
}

/// Where a router's service sends requests.
pub(super) enum Server {
    /// The container's port (the docker provider knows its address), and what it speaks.
    Port(u16, Speaks),
    /// An address; `true`: its certificate is not verified.
    Url(String, bool),
    /// A TCP or UDP address, `host:port`.
    Address(String),
    /// One of Traefik's own services: `noop@internal` for a router that answers itself (a
    /// redirect), `api@internal` for the dashboard.
    Internal(&'static str),
    /// The service another router defines (one port, balanced alike): only named.
    Elsewhere,
}

/// Writes routers, their services and middlewares as labels, or as the same keys for the
/// file provider (`routes.yml`).
pub(super) struct RouterWriter<'a> {
    pub(super) m: &'a Model,
    pub(super) names: &'a TraefikNames,
    /// Whether the host's Traefik is configured by sparkc (its resolver is the static file's).
    pub(super) configured: bool,
    /// Whether that Traefik has an ACME account.
    pub(super) has_acme: bool,
    /// Whether the middlewares that mean the same wherever they are used (`_auth-<secret>`,
    /// `_security-headers`, `_compress`) are defined once, in the host's routes file, and
    /// only named (`@file`) here; else each router's labels define them too.
    pub(super) shared_in_file: bool,
}

impl RouterWriter<'_> {
    /// One router for `domains` (which share `key`), named `router`; `service`: the name
    /// of the service it defines and names (`None`: the one Traefik derives).
    pub(super) fn router(
        &self,
        labels: &mut Labels,
        router: &str,
        key: &RouteKey<'_>,
        domains: &[&Domain],
        service: Option<&str>,
        server: Server,
    ) {
        let RouteKey {
            protocol,
            path,
            tls,
            entrypoints,
            ..
        } = *key;
        let (protocol, path, tls) = (&protocol, &path, &tls);

        let layer = match protocol {
            RouteProtocol::Http => "http",
            RouteProtocol::Tcp => "tcp",
            RouteProtocol::Udp => "udp",
        };
        let base = format!("traefik.{layer}.routers.{router}");
        let rule = match protocol {
            RouteProtocol::Http => {
                let hosts: Vec<String> =
                    domains.iter().map(|d| host_rule("Host", &d.name)).collect();
                let mut rule = hosts.join(" || ");
                if let Some(p) = path {
                    if hosts.len() > 1 {
                        rule = format!("({rule})");
                    }
                    // The path and what is below it, not every path that starts with
                    // its letters (`/app` is not `/application`).
                    if p.ends_with('/') {
                        rule = format!("{rule} && PathPrefix(`{p}`)");
                    } else {
                        rule = format!("{rule} && (Path(`{p}`) || PathPrefix(`{p}/`))");
                    }
                }
                Some(rule)
            }
            // Without TLS there is no server name to route by: the entry point's only route.
            RouteProtocol::Tcp if *tls == Tls::Off => Some("HostSNI(`*`)".to_string()),
            RouteProtocol::Tcp => Some(
                domains
                    .iter()
                    .map(|d| host_rule("HostSNI", &d.name))
                    .collect::<Vec<_>>()
                    .join(" || "),
            ),
            RouteProtocol::Udp => None,
        };
        if let Some(rule) = rule {
            labels.set(format!("{base}.rule"), rule);
            // Traefik tries the longest rule first, and a wildcard's regular expression is
            // longer than most names: a wildcard router comes after every named one (as
            // behind Caddy, where the more specific name wins), longer paths first.
            if domains.iter().any(|d| d.name.starts_with("*.")) {
                let priority = 1 + path.map_or(0, str::len);
                labels.set(format!("{base}.priority"), priority.to_string());
            }
        }
        let entry = if !entrypoints.is_empty() {
            entrypoints.join(",")
        } else if *tls == Tls::Off {
            self.names.http.clone()
        } else {
            self.names.https.clone()
        };
        labels.set(format!("{base}.entrypoints"), entry);
        let resolver = if self.configured {
            super::traefik_static::RESOLVER
        } else {
            self.names.resolver.as_str()
        };
        match (protocol, tls) {
            (RouteProtocol::Udp, _) | (_, Tls::Off) => {}
            (_, Tls::Auto) => {
                labels.set(format!("{base}.tls.certresolver"), resolver);
                // A regular expression names no certificate: the wildcard ones, named.
                let wildcards = domains.iter().filter(|d| d.name.starts_with("*."));
                for (i, d) in wildcards.enumerate() {
                    labels.set(format!("{base}.tls.domains[{i}].main"), d.name.as_str());
                }
            }
            (_, Tls::Internal) => labels.set(format!("{base}.tls"), "true"),
            (_, Tls::Passthrough) => {
                labels.set(format!("{base}.tls.passthrough"), "true");
                // A sparkc-configured Traefik still obtains the name's certificate, for
                // the service to read from its store (a certs dumper).
                if self.configured
                    && self.has_acme
                    && matches!(key.upstream, Upstream::Service { .. })
                {
                    labels.set(format!("{base}.tls.certresolver"), resolver);
                }
            }
        }
        if *protocol == RouteProtocol::Http {
            let names = self.middleware_labels(labels, router, key);
            if !names.is_empty() {
                labels.set(format!("{base}.middlewares"), names.join(","));
            }
        } else if *protocol == RouteProtocol::Tcp {
            // A TCP route's one middleware (lowering refuses the others).
            for m in key.middlewares {
                if let Middleware::AllowFrom(nets) = m {
                    let name = format!("{router}-allow");
                    labels.set(
                        format!("traefik.tcp.middlewares.{name}.ipallowlist.sourcerange"),
                        nets.join(","),
                    );
                    labels.set(format!("{base}.middlewares"), name);
                }
            }
        }
        let (name_it, lb_name) = match service {
            Some(n) => (true, n),
            None => (false, router),
        };
        if let Server::Internal(name) = server {
            labels.set(format!("{base}.service"), name);
            return;
        }
        if name_it {
            labels.set(format!("{base}.service"), lb_name);
        }
        if let Server::Elsewhere = server {
            return;
        }
        let lb = format!("traefik.{layer}.services.{lb_name}.loadbalancer");
        match server {
            Server::Internal(_) | Server::Elsewhere => {}
            Server::Port(number, speaks) => {
                labels.set(format!("{lb}.server.port"), number.to_string());
                match speaks {
                    _ if layer != "http" => {}
                    Speaks::Https { verify_tls } => {
                        labels.set(format!("{lb}.server.scheme"), "https".to_string());
                        if !verify_tls {
                            labels.set(
                                format!("{lb}.serverstransport"),
                                format!("{SKIP_VERIFY_TRANSPORT}@file"),
                            );
                        }
                    }
                    Speaks::H2c => labels.set(format!("{lb}.server.scheme"), "h2c".to_string()),
                    Speaks::Http | Speaks::Fastcgi { .. } => {}
                }
            }
            Server::Address(address) => {
                labels.set(format!("{lb}.server.address"), address);
            }
            Server::Url(url, insecure) => {
                labels.set(format!("{lb}.server.url"), url);
                if insecure {
                    let transport = format!("{lb_name}-insecure");
                    labels.set(
                        format!("traefik.{layer}.serverstransports.{transport}.insecureskipverify"),
                        "true",
                    );
                    labels.set(format!("{lb}.serverstransport"), transport);
                }
            }
        }
        if *protocol == RouteProtocol::Http {
            let b = key.balance;
            if let Some(h) = &b.health_check {
                labels.set(format!("{lb}.healthcheck.path"), h.path.as_str());
                labels.set(
                    format!("{lb}.healthcheck.interval"),
                    sparkc_core::model::units::format_duration(h.interval),
                );
            }
            if let Some(c) = &b.sticky_cookie {
                labels.set(format!("{lb}.sticky.cookie.name"), c.as_str());
                labels.set(format!("{lb}.sticky.cookie.httponly"), "true");
                if *tls != Tls::Off {
                    labels.set(format!("{lb}.sticky.cookie.secure"), "true");
                }
            }
            if !b.pass_host_header {
                labels.set(format!("{lb}.passhostheader"), "false");
            }
        }
    }

    /// The middlewares of one HTTP router, defined as labels; their names in the order they
    /// apply. A router's own are `<router>-<what>`; one that means the same wherever it is
    /// used (a users file, security headers, compression) has one name, starting with `_`
    /// (which no service name, and so no router name, does), defined identically on every
    /// container that uses it: Traefik merges them into one, defined while any of them runs.
    pub(super) fn middleware_labels(
        &self,
        labels: &mut Labels,
        router: &str,
        key: &RouteKey<'_>,
    ) -> Vec<String> {
        let mut names = Vec::new();
        // A shared middleware (`_...`) defined in the routes file is only named here.
        let in_file = self.shared_in_file;
        let mut define = |labels: &mut Labels, name: String, settings: Vec<(String, String)>| {
            if in_file && name.starts_with('_') {
                names.push(format!("{name}@file"));
                return;
            }
            for (k, v) in settings {
                labels.set(format!("traefik.http.middlewares.{name}.{k}"), v);
            }
            names.push(name);
        };
        let kv = |k: &str, v: String| (k.to_string(), v);
        if let Upstream::Redirect(r) = key.upstream {
            // The request's URL is `scheme://host/path?query`; what follows the host is kept.
            let (regex, replacement) = if r.keep_path {
                (
                    "^https?://[^/]+(.*)$".to_string(),
                    format!("{}${{1}}", r.to),
                )
            } else {
                ("^.*$".to_string(), r.to.clone())
            };
            define(
                labels,
                format!("{router}-redirect"),
                vec![
                    kv("redirectregex.regex", regex),
                    kv("redirectregex.replacement", replacement),
                    kv("redirectregex.permanent", r.permanent.to_string()),
                ],
            );
        }
        for m in key.middlewares {
            if let Middleware::AllowFrom(nets) = m {
                define(
                    labels,
                    format!("{router}-allow"),
                    vec![kv("ipallowlist.sourcerange", nets.join(","))],
                );
            }
        }
        // Before any login: a browser's preflight carries no credentials.
        for m in key.middlewares {
            if let Middleware::Cors {
                origins,
                methods,
                headers,
                max_age,
            } = m
            {
                let mut settings = vec![
                    kv("headers.accesscontrolalloworiginlist", origins.join(",")),
                    kv("headers.accesscontrolallowmethods", methods.join(",")),
                    kv("headers.accesscontrolmaxage", max_age.to_string()),
                    kv("headers.addvaryheader", "true".into()),
                ];
                if !headers.is_empty() {
                    settings.push(kv("headers.accesscontrolallowheaders", headers.join(",")));
                }
                define(labels, format!("{router}-cors"), settings);
            }
        }
        for m in key.middlewares {
            if let Middleware::RateLimit { average, burst } = m {
                define(
                    labels,
                    format!("{router}-ratelimit"),
                    vec![
                        kv("ratelimit.average", average.to_string()),
                        kv("ratelimit.burst", burst.to_string()),
                    ],
                );
            }
        }
        if let Some(users) = key.basic_auth {
            let secret = &self.m.secrets[users].name;
            define(
                labels,
                format!("_auth-{secret}"),
                vec![kv("basicauth.usersfile", format!("{SECRETS_DIR}{secret}"))],
            );
        }
        if let Some(fa) = key.forward_auth {
            let mut settings = vec![kv(
                "forwardauth.address",
                format!(
                    "http://{}:{}{}",
                    self.m.dns_name(fa.service),
                    fa.port.number,
                    fa.path
                ),
            )];
            if !fa.copy_headers.is_empty() {
                settings.push(kv(
                    "forwardauth.authresponseheaders",
                    fa.copy_headers.join(","),
                ));
            }
            define(labels, format!("{router}-forwardauth"), settings);
        }
        for m in key.middlewares {
            if let Middleware::MaxBody(b) = m {
                define(
                    labels,
                    format!("{router}-maxbody"),
                    vec![kv("buffering.maxrequestbodybytes", b.to_string())],
                );
            }
        }
        match (key.path, key.upstream_path) {
            (Some(p), Some("/")) => define(
                labels,
                format!("{router}-strip"),
                vec![kv("stripprefix.prefixes", p.to_string())],
            ),
            (Some(p), Some(to)) => define(
                labels,
                format!("{router}-rewrite"),
                vec![
                    kv(
                        "replacepathregex.regex",
                        format!("^{}(.*)", crate::regex_literal(p)),
                    ),
                    kv("replacepathregex.replacement", format!("{to}$1")),
                ],
            ),
            (None, Some(to)) if to != "/" => define(
                labels,
                format!("{router}-prefix"),
                vec![kv("addprefix.prefix", to.to_string())],
            ),
            _ => {}
        }
        for m in key.middlewares {
            match m {
                Middleware::SecurityHeaders => define(
                    labels,
                    "_security-headers".to_string(),
                    Middleware::SECURITY_HEADERS
                        .iter()
                        .map(|(k, v)| {
                            kv(
                                &format!("headers.customresponseheaders.{k}"),
                                (*v).to_string(),
                            )
                        })
                        .collect(),
                ),
                Middleware::RequestHeaders(h) => define(
                    labels,
                    format!("{router}-request-headers"),
                    h.iter()
                        .map(|(k, v)| kv(&format!("headers.customrequestheaders.{k}"), v.clone()))
                        .collect(),
                ),
                Middleware::ResponseHeaders(h) => define(
                    labels,
                    format!("{router}-response-headers"),
                    h.iter()
                        .map(|(k, v)| kv(&format!("headers.customresponseheaders.{k}"), v.clone()))
                        .collect(),
                ),
                _ => {}
            }
        }
        if key.middlewares.contains(&Middleware::Compress) {
            define(
                labels,
                "_compress".to_string(),
                vec![kv("compress", "true".into())],
            );
        }
        names
    }
}

impl Emitter<'_> {
    /// Whether this host's sparkc-configured Traefik has an ACME account.
    fn has_acme(&self) -> bool {
        self.traefik_service
            .and_then(|t| self.m.services[t].proxy.as_deref())
            .is_some_and(|p| p.acme.is_some())
    }

    /// The network Traefik should use to reach a service on several networks: the first
    /// declared one that the host's Traefik is on too. Without the label Traefik picks any of
    /// the service's addresses, and requests time out when it picks one it cannot reach.
    fn traefik_network(&self, sid: ServiceId) -> Option<String> {
        let Attachment::Networks {
            declared,
            project_default,
        } = self.m.attachment(sid)
        else {
            return None;
        };
        if declared.len() + usize::from(project_default.is_some()) < 2 {
            return None;
        }
        let proxy = self.traefik_service?;
        let Attachment::Networks {
            declared: proxy_nets,
            ..
        } = self.m.attachment(proxy)
        else {
            return None;
        };
        declared
            .iter()
            .find(|n| proxy_nets.contains(n))
            .map(|n| self.m.networks[*n].name.clone())
    }

    /// On a swarm host, Traefik finds the services to route through its swarm provider
    /// (`deploy.labels`); with only the docker provider it sees none of them.
    pub(super) fn swarm_traefik(&mut self, s: &Service) {
        if !self.swarm() || self.host.proxy != Proxy::Traefik || !s.runs("traefik") {
            return;
        }
        if sparkc_core::model::traefik::section_on(s, "providers.swarm") == Some(false) {
            let loc = s.loc;
            self.diags.push(
                Diagnostic::error(
                    Code::Unsupported,
                    format!("Traefik `{}` runs on swarm host `{}` without its swarm provider", s.name, self.host.name),
                    loc.file,
                    loc.span,
                )
                .label("routes on swarm are service labels, which only the swarm provider reads")
                .help("use the stdlib's `traefik_swarm(...)` (`import std.apps.{traefik_swarm}`), or turn the provider on: `TRAEFIK_PROVIDERS_SWARM = \"true\"`")
                .about(s.subject()),
            );
        }
    }
}
