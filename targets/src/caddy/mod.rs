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
            if let Some(host) = m.services[d.service].host
                && m.hosts[host].proxy == Proxy::Caddy
            {
                if d.protocol == RouteProtocol::Http {
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
        let proxies = m.app_per_host("caddy");
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
    for d in domains {
        let port = d.port.number;
        let site = match d.tls {
            Tls::Off => format!("http://{}", d.name),
            // Only TCP routes pass TLS through; those are refused above.
            Tls::Auto | Tls::Internal | Tls::Passthrough => d.name.clone(),
        };
        let _ = writeln!(f, "\n{site} {{");
        if d.tls == Tls::Internal {
            f.push_str("\ttls internal\n");
        }
        let route = |f: &mut String, indent: &str| {
            if let Some(users) = d.basic_auth {
                let _ = writeln!(
                    f,
                    "{indent}basic_auth {{\n{indent}\timport {SECRETS_DIR}{}\n{indent}}}",
                    m.secrets[users].name
                );
            }
            let _ = writeln!(f, "{indent}reverse_proxy {}:{port}", m.dns_name(d.service));
        };
        match d.path_prefix.as_deref() {
            None => route(&mut f, "\t"),
            Some(p) => {
                // Only the prefix is routed; any other path is not found, as behind Traefik.
                let _ = writeln!(f, "\thandle {p}* {{");
                route(&mut f, "\t\t");
                f.push_str("\t}\n\thandle {\n\t\trespond 404\n\t}\n");
            }
        }
        f.push_str("}\n");
    }
    f
}
