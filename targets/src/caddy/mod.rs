//! Caddy: a `Caddyfile` for every host with `proxy = caddy` that has domains: one site per
//! domain, reverse-proxying to the service's container by name.
//!
//! Where the host runs a Caddy service (the stdlib `caddy` template, or any `caddy` image)
//! that bind-mounts its Caddyfile from a relative path, the file is written there, next to
//! that service's compose file, so `docker compose up` picks it up; otherwise to
//! `caddy/<host>/Caddyfile`. The users file of `auth = basic_auth(users)` is the secret
//! `users`, mounted into the Caddy service by the compose target and imported at
//! `/run/secrets/<users>`; its value never enters the Caddyfile. Where the Caddy service
//! declares `metrics`, Caddy collects metrics and serves them on that port.

use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext, Target};
use std::fmt::Write as _;

pub struct Caddy;

/// Where Caddy's image reads its configuration.
const CONFIG_IN_CONTAINER: &str = "/etc/caddy/Caddyfile";

impl Target for Caddy {
    fn name(&self) -> &'static str {
        "caddy"
    }

    fn emit(&self, m: &Model, ctx: &EmitContext<'_>) -> (Vec<Artifact>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let mut diags = Vec::new();
        let mut by_host: List<HostId, Vec<&Domain>> = List::filled(m.hosts.len(), Vec::new());
        for d in &m.domains {
            let host = d.host;
            if m.hosts[host].proxy == Proxy::Caddy {
                if let Some(loc) = d
                    .middlewares
                    .iter()
                    .any(|mw| matches!(mw, Middleware::RateLimit { .. }))
                    .then_some(d.loc)
                {
                    diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!("Caddy cannot rate-limit `{}`: it has no rate limit of its own", d.name),
                            loc.file,
                            loc.span,
                        )
                        .label("its `rate_limit` has nothing to run in stock Caddy")
                        .help(format!("rate limits need the caddy-ratelimit plugin, which sparkc does not configure; route it through Traefik (`proxy = traefik` on host `{}`), or drop `rate_limit`", m.hosts[host].name)),
                    );
                }
                if d.name.starts_with("*.") && d.tls == Tls::Auto {
                    diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!("Caddy cannot obtain a certificate for `{}` by itself", d.name),
                            d.loc.file,
                            d.loc.span,
                        )
                        .label("a wildcard name with `tls = auto` (the default)")
                        .help(format!("a wildcard certificate needs the DNS-01 challenge, and stock Caddy has no DNS provider (the caddy-dns plugins, which sparkc does not configure): write `tls = internal`, or route it through Traefik with `acme {{ challenge = dns(...) }}` (`proxy = traefik` on host `{}`)", m.hosts[host].name)),
                    );
                } else if d.protocol == RouteProtocol::Http {
                    by_host[host].push(d);
                } else {
                    let what = if d.protocol == RouteProtocol::Tcp {
                        "TCP"
                    } else {
                        "UDP"
                    };
                    diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!("Caddy cannot route `{}` as {what}: it proxies HTTP only", d.name),
                            d.loc.file,
                            d.loc.span,
                        )
                        .label(format!("a {what} route"))
                        .help(format!("layer-4 routing needs the caddy-l4 plugin, which sparkc does not configure; route it through Traefik (`proxy = traefik` on host `{}`), or publish the port on the service itself", m.hosts[host].name)),
                    );
                }
            }
        }
        // The host's proxy container, on a Caddy host: its one Caddy service.
        let proxies = m.proxy_containers();
        fastcgi_files(m, &by_host, &proxies, &mut diags);
        for (hid, domains) in by_host.iter_enumerated() {
            // A host's Caddy reads its Caddyfile even before any domain routes through it
            // (the bind mount's source must exist, and its metrics serve the health check).
            if m.hosts[hid].proxy != Proxy::Caddy || (domains.is_empty() && proxies[hid].is_none())
            {
                continue;
            }
            let h = &m.hosts[hid];
            let fallback = format!("caddy/{}/Caddyfile", h.name);
            let path = if let Some(p) = proxies[hid] { Some(crate::placement::config_path(
                m,
                p,
                &crate::placement::ConfigFile {
                    what: "the Caddyfile",
                    in_container: CONFIG_IN_CONTAINER,
                    mount_from: "./Caddyfile",
                },
                fallback.clone(),
                &mut diags,
            )) } else {
                diags.push(
                    Diagnostic::warning(
                        Code::Fallback,
                        format!(
                            "host `{}` routes its domains through Caddy, but runs no Caddy service",
                            h.name
                        ),
                        h.loc.file,
                        h.loc.span,
                    )
                    .label("`proxy = caddy`")
                    .help(format!(
                        "the Caddyfile goes to `caddy/{}/Caddyfile` and names upstreams by container name, which resolves only for a Caddy container on their network: declare one with `import std.apps.{{caddy}}` and `service proxy on {} = caddy()`",
                        h.name, h.name
                    )),
                );
                None
            }
            .unwrap_or(fallback);
            let metrics = proxies[hid]
                .map(|p| &m.services[p])
                .and_then(|s| Some((s.metrics_port?, s.metrics_path.as_str())));
            out.push(Artifact {
                path,
                contents: caddyfile(m, domains, metrics, &crate::header(ctx.source, "caddy")),
            });
        }
        (out, diags)
    }
}

/// What one route does, as directives at `indent`: in a `route` block, in the order Traefik
/// applies the same middlewares (allow-list, login, body limit, path, headers, compression),
/// then the proxy.
fn route(m: &Model, f: &mut String, d: &Domain, indent: &str) {
    // Where requests go (`name:port` or an address's URL), and whether its certificate
    // goes unverified.
    let balanced = d.balance.health_check.is_some() || d.balance.sticky_cookie.is_some();
    let (upstream, insecure) = match &d.upstream {
        // To check or stick to each replica, Caddy needs each as an upstream: a compose
        // replica's container name (`<project>-<service>-<n>`) resolves to it alone.
        Upstream::Service { service, port } if balanced => (
            replica_names(m, *service)
                .iter()
                .map(|r| format!("{}{r}:{}", scheme_of(&port.speaks), port.number))
                .collect::<Vec<_>>()
                .join(" "),
            unverified(&port.speaks),
        ),
        Upstream::Service { service, port } => (
            format!(
                "{}{}:{}",
                scheme_of(&port.speaks),
                m.dns_name(*service),
                port.number
            ),
            unverified(&port.speaks),
        ),
        Upstream::Address(a) => (a.url(), !a.verify_tls),
        // Lowering routes a dashboard only through the Traefik it belongs to.
        Upstream::Dashboard { .. } => return,
        Upstream::Redirect(r) => {
            // Answered here: nothing else applies (lowering refuses the rest).
            let to = if r.keep_path {
                format!("{}{{uri}}", r.to)
            } else {
                r.to.clone()
            };
            let code = if r.permanent {
                "permanent"
            } else {
                "temporary"
            };
            let _ = writeln!(f, "{indent}redir {to} {code}");
            return;
        }
    };
    // A FastCGI server is asked with `php_fastcgi`, the script's path under its root.
    let fastcgi = match &d.upstream {
        Upstream::Service { port, .. } => match &port.speaks {
            Speaks::Fastcgi { root } => Some(root.as_str()),
            _ => None,
        },
        _ => None,
    };
    let plain = d.basic_auth.is_none()
        && d.forward_auth.is_none()
        && d.upstream_path.is_none()
        && d.middlewares.is_empty();
    // The request headers the proxy sets: the service's own address as `Host`, where the
    // route says so, and the route's own.
    let mut header_up: Vec<String> = Vec::new();
    if !d.balance.pass_host_header {
        header_up.push("Host {upstream_hostport}".to_string());
    } else if upstream.starts_with("https://") {
        // To an HTTPS upstream Caddy sends the upstream's own address by default.
        header_up.push("Host {host}".to_string());
    }
    for mw in &d.middlewares {
        if let Middleware::RequestHeaders(h) = mw {
            header_up.extend(h.iter().map(|(k, v)| format!("{k} \"{v}\"")));
        }
    }
    if plain {
        reverse_proxy(
            f, indent, &upstream, &header_up, insecure, &d.balance, fastcgi,
        );
        return;
    }
    let _ = writeln!(f, "{indent}route {{");
    let i = format!("{indent}\t");
    for mw in &d.middlewares {
        if let Middleware::AllowFrom(nets) = mw {
            let _ = writeln!(f, "{i}@denied not remote_ip {}", nets.join(" "));
            let _ = writeln!(f, "{i}respond @denied 403");
        }
    }
    // Before any login: a browser's preflight carries no credentials.
    for mw in &d.middlewares {
        if let Middleware::Cors {
            origins,
            methods,
            headers,
            max_age,
        } = mw
        {
            // Per allowed origin: its headers on every answer, and a preflight answered here.
            for (n, o) in origins.iter().enumerate() {
                let _ = writeln!(f, "{i}@cors{n} header Origin {o}");
                let _ = writeln!(f, "{i}header @cors{n} {{");
                let _ = writeln!(f, "{i}\tAccess-Control-Allow-Origin \"{o}\"");
                let _ = writeln!(f, "{i}\tVary Origin");
                let _ = writeln!(f, "{i}}}");
                let _ = writeln!(
                    f,
                    "{i}@preflight{n} {{\n{i}\tmethod OPTIONS\n{i}\theader Origin {o}\n{i}\theader Access-Control-Request-Method *\n{i}}}"
                );
                let _ = writeln!(f, "{i}header @preflight{n} {{");
                let _ = writeln!(
                    f,
                    "{i}\tAccess-Control-Allow-Methods \"{}\"",
                    methods.join(", ")
                );
                if !headers.is_empty() {
                    let _ = writeln!(
                        f,
                        "{i}\tAccess-Control-Allow-Headers \"{}\"",
                        headers.join(", ")
                    );
                }
                let _ = writeln!(f, "{i}\tAccess-Control-Max-Age \"{max_age}\"");
                let _ = writeln!(f, "{i}}}");
                let _ = writeln!(f, "{i}respond @preflight{n} 204");
            }
        }
    }
    if let Some(users) = d.basic_auth {
        let _ = writeln!(
            f,
            "{i}basic_auth {{\n{i}\timport {SECRETS_DIR}{}\n{i}}}",
            m.secrets[users].name
        );
    }
    if let Some(fa) = &d.forward_auth {
        let _ = writeln!(
            f,
            "{i}forward_auth {}:{} {{\n{i}\turi {}",
            m.dns_name(fa.service),
            fa.port.number,
            fa.path
        );
        if !fa.copy_headers.is_empty() {
            let _ = writeln!(f, "{i}\tcopy_headers {}", fa.copy_headers.join(" "));
        }
        let _ = writeln!(f, "{i}}}");
    }
    for mw in &d.middlewares {
        if let Middleware::MaxBody(b) = mw {
            let _ = writeln!(f, "{i}request_body {{\n{i}\tmax_size {b}\n{i}}}");
        }
    }
    match (d.path_prefix.as_deref(), d.upstream_path.as_deref()) {
        (Some(p), Some("/")) => {
            let _ = writeln!(f, "{i}uri strip_prefix {p}");
        }
        (Some(p), Some(to)) => {
            let _ = writeln!(
                f,
                "{i}uri path_regexp ^{}(.*) {to}$1",
                crate::regex_literal(p)
            );
        }
        (None, Some(to)) if to != "/" => {
            let _ = writeln!(f, "{i}rewrite * {to}{{uri}}");
        }
        _ => {}
    }
    let mut response: Vec<(String, String)> = Vec::new();
    for mw in &d.middlewares {
        match mw {
            Middleware::SecurityHeaders => response.extend(
                Middleware::SECURITY_HEADERS
                    .iter()
                    .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
            ),
            Middleware::ResponseHeaders(h) => {
                response.extend(h.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            _ => {}
        }
    }
    if !response.is_empty() {
        // Deferred: set as the response leaves, over what the service sent.
        let _ = writeln!(f, "{i}header {{");
        for (k, v) in &response {
            let _ = writeln!(f, "{i}\t{k} \"{v}\"");
        }
        let _ = writeln!(f, "{i}\tdefer\n{i}}}");
    }
    if d.middlewares.contains(&Middleware::Compress) {
        let _ = writeln!(f, "{i}encode zstd gzip");
    }
    reverse_proxy(f, &i, &upstream, &header_up, insecure, &d.balance, fastcgi);
    let _ = writeln!(f, "{indent}}}");
}

/// `php_fastcgi` looks for the requested file (and `index.php`) under the root in Caddy's own
/// file system before it asks the FastCGI server: where the host's Caddy has nothing mounted
/// there, every request but one for a `.php` path gets an empty page.
fn fastcgi_files(
    m: &Model,
    by_host: &List<HostId, Vec<&Domain>>,
    proxies: &List<HostId, Option<ServiceId>>,
    diags: &mut Vec<Diagnostic>,
) {
    for (hid, domains) in by_host.iter_enumerated() {
        let Some(caddy) = proxies[hid].map(|p| &m.services[p]) else {
            continue;
        };
        for d in domains {
            let Upstream::Service { service, port } = &d.upstream else {
                continue;
            };
            let Speaks::Fastcgi { root } = &port.speaks else {
                continue;
            };
            let mounted = caddy.volumes.iter().any(|v| {
                let t = v.target.trim_end_matches('/');
                root == t || root.starts_with(&format!("{t}/"))
            });
            if !mounted {
                diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        format!("`{}` has none of the files under `{root}`, where it looks before asking `{}`", caddy.name, m.services[*service].name),
                        d.loc.file,
                        d.loc.span,
                    )
                    .label("every request but one for a `.php` path would get an empty page")
                    .help(format!("mount the app's files into `{}` at the same path, read-only, from a volume both share: `volume app-files on HOST`, `app-files -> \"{root}\"` on `{}` and `ro(app-files -> \"{root}\")` among `{}`'s `volumes`", caddy.name, m.services[*service].name, caddy.name)),
                );
            }
        }
    }
}

/// Whether the proxy talks TLS to a port without verifying its certificate.
fn unverified(speaks: &Speaks) -> bool {
    matches!(speaks, Speaks::Https { verify_tls: false })
}

/// The scheme Caddy's upstream address carries for what a port speaks (none: plain HTTP, and
/// FastCGI, which `php_fastcgi` speaks).
fn scheme_of(speaks: &Speaks) -> &'static str {
    match speaks {
        Speaks::Https { .. } => "https://",
        Speaks::H2c => "h2c://",
        Speaks::Http | Speaks::Fastcgi { .. } => "",
    }
}

/// `reverse_proxy` to `upstream` (one, or the replicas separated by spaces), with the request
/// headers it sets; `insecure`: TLS to it without verifying its certificate (a self-signed
/// one); `balance`: the health check and sticky cookie over the replicas; `fastcgi`: the
/// FastCGI server's document root, where it is one (`php_fastcgi`, which proxies the same way).
fn reverse_proxy(
    f: &mut String,
    indent: &str,
    upstream: &str,
    header_up: &[String],
    insecure: bool,
    balance: &Balance,
    fastcgi: Option<&str>,
) {
    let balanced = balance.health_check.is_some() || balance.sticky_cookie.is_some();
    let directive = match fastcgi {
        Some(root) => {
            let _ = writeln!(f, "{indent}root * {root}");
            "php_fastcgi"
        }
        None => "reverse_proxy",
    };
    if header_up.is_empty() && !insecure && !balanced {
        let _ = writeln!(f, "{indent}{directive} {upstream}");
        return;
    }
    let _ = writeln!(f, "{indent}{directive} {upstream} {{");
    if let Some(c) = &balance.sticky_cookie {
        let _ = writeln!(f, "{indent}\tlb_policy cookie {c}");
    }
    if let Some(h) = &balance.health_check {
        let _ = writeln!(f, "{indent}\thealth_uri {}", h.path);
        let _ = writeln!(
            f,
            "{indent}\thealth_interval {}",
            sparkc_core::model::units::format_duration(h.interval)
        );
    }
    for h in header_up {
        let _ = writeln!(f, "{indent}\theader_up {h}");
    }
    if insecure {
        let _ = writeln!(
            f,
            "{indent}\ttransport http {{\n{indent}\t\ttls_insecure_skip_verify\n{indent}\t}}"
        );
    }
    let _ = writeln!(f, "{indent}}}");
}

/// The Caddyfile of one host; `metrics`: the port and path the Caddy service is scraped at.
fn caddyfile(
    m: &Model,
    domains: &[&Domain],
    metrics: Option<(u16, &str)>,
    header: &[String],
) -> String {
    let mut f = String::new();
    for line in header {
        let _ = writeln!(f, "# {line}");
    }
    if let Some((port, path)) = metrics {
        // Metrics are collected once turned on globally, and served on a port of their own
        // (the admin API's /metrics listens on the container's loopback only).
        // The global options block comes first: right after the header, as `caddy fmt` has it.
        let _ = write!(f, "{{\n\tmetrics\n}}\n\n:{port} {{\n\tmetrics {path}\n}}\n");
    }
    // One site block per address: routes to one host name by path are its `handle` blocks,
    // which Caddy tries most specific path first.
    let mut sites: Vec<(String, Tls, Vec<&Domain>)> = Vec::new();
    for d in domains {
        let site = match d.tls {
            Tls::Off => format!("http://{}", d.name),
            // Only TCP routes pass TLS through; those are refused above.
            Tls::Auto | Tls::Internal | Tls::Passthrough => d.name.clone(),
        };
        match sites.iter_mut().find(|(s, _, _)| *s == site) {
            Some((_, _, ds)) => ds.push(d),
            None => sites.push((site, d.tls, vec![d])),
        }
    }
    for (site, tls, routes) in &sites {
        let _ = writeln!(f, "\n{site} {{");
        if *tls == Tls::Internal {
            f.push_str("\ttls internal\n");
        }
        let whole_site = routes.iter().find(|d| d.path_prefix.is_none());
        if routes.len() == 1 && whole_site.is_some() {
            route(m, &mut f, routes[0], "\t");
        } else {
            // A path and what is below it (`/app` is not `/application`): two paths, so a
            // named matcher; Caddy tries handles with named matchers in the order written,
            // so the longest path first.
            let mut by_path: Vec<(&str, &Domain)> = routes
                .iter()
                .filter_map(|d| Some((d.path_prefix.as_deref()?, *d)))
                .collect();
            by_path.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
            for (p, d) in by_path {
                let name: String = p
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                if p.ends_with('/') {
                    let _ = writeln!(f, "\t@path{name} path {p}*");
                } else {
                    let _ = writeln!(f, "\t@path{name} path {p} {p}/*");
                }
                let _ = writeln!(f, "\thandle @path{name} {{");
                route(m, &mut f, d, "\t\t");
                f.push_str("\t}\n");
            }
            // Any other path: the whole-site route if there is one, else not found, as
            // behind Traefik.
            f.push_str("\thandle {\n");
            match whole_site {
                Some(d) => route(m, &mut f, d, "\t\t"),
                None => f.push_str("\t\trespond 404\n"),
            }
            f.push_str("\t}\n");
        }
        f.push_str("}\n");
    }
    f
}

/// The container name of each of a service's replicas, as Compose names them:
/// `<project>-<service>-<n>` (the project is its stack, else its host), or its own
/// `container_name`.
fn replica_names(m: &Model, sid: ServiceId) -> Vec<String> {
    let s = &m.services[sid];
    if let Some(n) = &s.container_name {
        return vec![n.clone()];
    }
    let project = s
        .stack
        .as_deref()
        .or_else(|| m.host_of(sid).map(|h| h.name.as_str()))
        .unwrap_or("");
    let count = s.replicas.unwrap_or(1).max(1);
    (1..=count)
        .map(|n| format!("{project}-{}-{n}", s.name))
        .collect()
}
