//! Traefik's static configuration, generated: `traefik.yml` for each host whose Traefik
//! service has `proxy { ... }` settings, written where that service bind-mounts
//! `/etc/traefik/traefik.yml` from. Its entry points are the service's ports (with their
//! protocol), redirections and the ACME resolver come from `proxy { ... }`, the provider is
//! the host's runtime's (docker, or swarm on a swarm host), never exposing a container by
//! default. The API and dashboard are turned on only for a route to them (`-> dashboard(traefik)`,
//! behind its login), never on an entry point of their own.
//!
//! Traefik takes its static configuration from one source: with this file, it ignores its
//! `TRAEFIK_*` environment and command-line flags (and `traefik healthcheck` reads the file
//! too, for the ping entry point).

use super::traefik_file::ROUTES_FILE_IN_CONTAINER;
use crate::placement::{ConfigFile, config_path, mounted_file};
use crate::yaml::Yaml;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext};

/// Where Traefik looks for its static configuration first.
pub const STATIC_FILE_IN_CONTAINER: &str = "/etc/traefik/traefik.yml";

/// The certificate resolver the static file defines for `tls = auto` routes.
pub const RESOLVER: &str = "le";

/// The static configuration file of every host's sparkc-configured Traefik.
pub(super) fn static_files(
    m: &Model,
    ctx: &EmitContext<'_>,
    proxies: &List<HostId, Option<ServiceId>>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Artifact> {
    let mut out = Vec::new();
    let names = super::traefik::TraefikNames::from_options(ctx.options);
    for (hid, sid) in proxies.iter_enumerated() {
        let h = &m.hosts[hid];
        if h.proxy != Proxy::Traefik
            || !matches!(h.runtime, Runtime::Compose | Runtime::Swarm)
            || ctx.only_hosts.is_some_and(|only| !only.contains(&hid))
        {
            continue;
        }
        let Some((sid, settings)) =
            sid.and_then(|sid| Some((sid, m.services[sid].proxy.as_deref()?)))
        else {
            super::traefik_file::unconfigured(m, hid, diags);
            continue;
        };
        let s = &m.services[sid];
        let path = config_path(
            m,
            sid,
            &ConfigFile {
                what: "traefik.yml",
                in_container: STATIC_FILE_IN_CONTAINER,
                mount_from: "./traefik.yml",
            },
            format!("traefik/{}/traefik.yml", h.name),
            diags,
        );
        ignored_settings(s, diags);
        let routes_at = mounted_file(m, sid, ROUTES_FILE_IN_CONTAINER);
        // Entry points where a plain-HTTP route is served despite the redirect to HTTPS.
        let plain: Vec<&str> = m
            .domains
            .iter()
            .filter(|d| d.host == hid && d.tls == Tls::Off && d.protocol == RouteProtocol::Http)
            .flat_map(|d| d.entrypoints.iter().map(String::as_str))
            .collect();
        let dashboard = m
            .domains
            .iter()
            .any(|d| d.upstream == Upstream::Dashboard { proxy: sid });
        let mut doc = static_config(
            s,
            settings,
            h.runtime == Runtime::Swarm,
            routes_at.is_some(),
            &plain,
        );
        if dashboard {
            // Served only through its route (behind the route's login), never on an
            // entry point of its own (`insecure` stays off).
            let mut api = Yaml::map();
            api.set("dashboard", Yaml::Bool(true));
            doc.set("api", api);
        }
        let header = crate::header(ctx.source, "compose");
        let contents = crate::yaml::render(&doc, &header, ctx).unwrap_or_default();
        out.push(Artifact { path, contents });
        match routes_at {
            Some(path) => {
                let doc = super::traefik_file::routes_file(m, hid, sid, &names);
                let contents = crate::yaml::render(&doc, &header, ctx).unwrap_or_default();
                out.push(Artifact { path, contents });
            }
            None => {
                if let Some(d) = super::traefik_file::file_routes(m, hid).first() {
                    diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!("Traefik `{}` reads no routes file, and `{}` needs one", s.name, d.name),
                            d.loc.file,
                            d.loc.span,
                        )
                        .label("no container carries this route: Traefik's file provider does")
                        .help(format!("mount the routes file sparkc writes into `{}`, as the stdlib template does: `volumes = [ro(\"./routes.yml\" -> \"{ROUTES_FILE_IN_CONTAINER}\")]`", s.name))
                        .about(s.subject()),
                    );
                }
            }
        }
    }
    out
}

/// Settings Traefik would ignore: with a configuration file it reads neither its `TRAEFIK_*`
/// environment nor its flags, and a setting written there would silently do nothing.
fn ignored_settings(s: &Service, diags: &mut Vec<Diagnostic>) {
    let flags = sparkc_core::model::command_words(&s.command)
        .into_iter()
        .chain(sparkc_core::model::command_words(&s.entrypoint))
        .any(|w| w.starts_with('-'));
    let env: Vec<&str> = s
        .env
        .keys()
        .filter(|k| k.starts_with("TRAEFIK_"))
        .map(String::as_str)
        .collect();
    for (field, what) in [
        (
            "env",
            (!env.is_empty()).then(|| format!("`{}`", env.join("`, `"))),
        ),
        (
            "command",
            flags.then(|| "its command-line flags".to_string()),
        ),
    ] {
        let Some(what) = what else { continue };
        let loc = s.loc_of(field);
        diags.push(
            Diagnostic::error(
                Code::Unsupported,
                format!("Traefik `{}` reads the traefik.yml sparkc generates, and ignores {what}", s.name),
                loc.file,
                loc.span,
            )
            .label("never read")
            .help("Traefik takes its static configuration from one source, the file: set entry points as ports, redirects, ACME and ping in `proxy { ... }`; or drop `proxy { ... }` and configure this Traefik yourself")
            .about(s.subject()),
        );
    }
}

fn static_config(
    s: &Service,
    p: &ProxySettings,
    swarm: bool,
    routes_file: bool,
    plain_routes_on: &[&str],
) -> Yaml {
    let mut doc = Yaml::map();
    let mut eps = Yaml::map();
    // A range (a relay range beside the proxy) is published, not listened on by Traefik.
    for port in s.ports.iter().filter(|p| p.last == p.port) {
        let mut ep = Yaml::map();
        let address = match port.proto {
            sparkc_core::syntax::ast::Proto::Tcp => format!(":{}", port.port),
            sparkc_core::syntax::ast::Proto::Udp => format!(":{}/udp", port.port),
        };
        ep.set("address", Yaml::str(address));
        if let Some((_, to)) = p.redirects.iter().find(|(from, _)| *from == port.name) {
            let mut entry = Yaml::map();
            entry.set("to", Yaml::str(to.as_str()));
            entry.set("scheme", Yaml::str("https"));
            // Traefik's redirect is a router of the highest priority; where routes are
            // served over plain HTTP, the lowest, so it answers only what they do not claim.
            if plain_routes_on.contains(&port.name.as_str()) {
                entry.set("priority", Yaml::Int(1));
            }
            let mut redirections = Yaml::map();
            redirections.set("entryPoint", entry);
            let mut http = Yaml::map();
            http.set("redirections", redirections);
            ep.set("http", http);
        }
        eps.set(port.name.as_str(), ep);
    }
    doc.set("entryPoints", eps);
    if let Some(ping) = &p.ping {
        let mut y = Yaml::map();
        y.set("entryPoint", Yaml::str(ping.as_str()));
        doc.set("ping", y);
    }
    if let Some(metrics) = s
        .metrics_port
        .and_then(|n| s.ports.iter().find(|x| x.port == n))
    {
        let mut prom = Yaml::map();
        prom.set("entryPoint", Yaml::str(metrics.name.as_str()));
        let mut y = Yaml::map();
        y.set("prometheus", prom);
        doc.set("metrics", y);
    }
    if let Some(acme) = &p.acme {
        let mut a = Yaml::map();
        a.set("email", Yaml::str(acme.email.as_str()));
        a.set("storage", Yaml::str(acme.storage.as_str()));
        if let Some(ca) = &acme.ca_server {
            a.set("caServer", Yaml::str(ca.as_str()));
        }
        match &acme.challenge {
            AcmeChallenge::TlsAlpn => a.set("tlsChallenge", Yaml::map()),
            AcmeChallenge::Http(ep) => {
                let mut c = Yaml::map();
                c.set("entryPoint", Yaml::str(ep.as_str()));
                a.set("httpChallenge", c);
            }
            // Its credentials are the service's environment (`<VARIABLE>_FILE`).
            AcmeChallenge::Dns { provider, .. } => {
                let mut c = Yaml::map();
                c.set("provider", Yaml::str(provider.as_str()));
                a.set("dnsChallenge", c);
            }
        }
        let mut resolver = Yaml::map();
        resolver.set("acme", a);
        let mut resolvers = Yaml::map();
        resolvers.set(RESOLVER, resolver);
        doc.set("certificatesResolvers", resolvers);
    }
    let mut provider = Yaml::map();
    if swarm {
        provider.set("endpoint", Yaml::str("unix:///var/run/docker.sock"));
    }
    provider.set("exposedByDefault", Yaml::Bool(false));
    let mut providers = Yaml::map();
    providers.set(if swarm { "swarm" } else { "docker" }, provider);
    if routes_file {
        let mut file = Yaml::map();
        file.set("filename", Yaml::str(ROUTES_FILE_IN_CONTAINER));
        providers.set("file", file);
    }
    doc.set("providers", providers);
    doc
}
