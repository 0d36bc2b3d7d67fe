//! Traefik on a compose or swarm host: the routing labels of the services it serves, the
//! network it reaches each through, and whether it can see them at all.

use super::Emitter;
use super::file::Labels;
use indexmap::IndexMap;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;

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

impl Emitter<'_> {
    /// Routing labels for the domains that point at `s` when its host's proxy is Traefik.
    /// One router per (protocol, port, path, TLS mode, entry points); several domains on one
    /// router share its rule.
    pub(super) fn traefik_labels(&mut self, s: &Service, sid: ServiceId) -> Labels {
        let mut labels = Labels::default();
        if self.host.proxy != Proxy::Traefik || self.routes[sid].is_empty() {
            return labels;
        }
        type RouteKey<'d> = (RouteProtocol, &'d str, Option<&'d str>, Tls, &'d [String]);
        let mut routers: IndexMap<RouteKey, Vec<&Domain>> = IndexMap::new();
        for &did in &self.routes[sid] {
            let d = &self.m.domains[did];
            if let Some(users) = d.basic_auth {
                self.diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        format!(
                            "the compose target cannot yet put basic auth (`{}`) in front of `{}` behind Traefik",
                            self.m.secrets[users].name, d.name
                        ),
                        d.loc.file,
                        d.loc.span,
                    )
                    .label("Traefik would need the users file mounted into its own container")
                    .help("route this domain through a Caddy host, or protect the service itself until Traefik middlewares are supported"),
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
            routers
                .entry((
                    d.protocol,
                    d.port.name.as_str(),
                    d.path_prefix.as_deref(),
                    d.tls,
                    d.entrypoints.as_slice(),
                ))
                .or_default()
                .push(d);
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
        let configured = self
            .traefik_service
            .is_some_and(|t| self.m.services[t].proxy.is_some());
        for ((protocol, port, path, tls, entrypoints), domains) in &routers {
            // A router named after the service when it is its only one of its protocol.
            let single = routers.keys().filter(|k| k.0 == *protocol).count() == 1;
            let router = if single {
                s.name.clone()
            } else {
                let mut r = format!("{}-{port}", s.name);
                if let Some(p) = path {
                    r.push_str(&p.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
                }
                match tls {
                    Tls::Auto => {}
                    Tls::Internal => r.push_str("-internal"),
                    Tls::Off => r.push_str("-plain"),
                    Tls::Passthrough => r.push_str("-passthrough"),
                }
                if routers
                    .keys()
                    .filter(|k| (k.0, k.1, k.2, k.3) == (*protocol, *port, *path, *tls))
                    .count()
                    > 1
                {
                    for e in *entrypoints {
                        r.push('-');
                        r.push_str(e);
                    }
                }
                r
            };
            let layer = match protocol {
                RouteProtocol::Http => "http",
                RouteProtocol::Tcp => "tcp",
                RouteProtocol::Udp => "udp",
            };
            let base = format!("traefik.{layer}.routers.{router}");
            let rule = match protocol {
                RouteProtocol::Http => {
                    let hosts: Vec<String> = domains
                        .iter()
                        .map(|d| format!("Host(`{}`)", d.name))
                        .collect();
                    let mut rule = hosts.join(" || ");
                    if let Some(p) = path {
                        if hosts.len() > 1 {
                            rule = format!("({rule})");
                        }
                        rule = format!("{rule} && PathPrefix(`{p}`)");
                    }
                    Some(rule)
                }
                // Without TLS there is no server name to route by: the entry point's only route.
                RouteProtocol::Tcp if *tls == Tls::Off => Some("HostSNI(`*`)".to_string()),
                RouteProtocol::Tcp => Some(
                    domains
                        .iter()
                        .map(|d| format!("HostSNI(`{}`)", d.name))
                        .collect::<Vec<_>>()
                        .join(" || "),
                ),
                RouteProtocol::Udp => None,
            };
            if let Some(rule) = rule {
                labels.set(format!("{base}.rule"), rule);
            }
            let entry = if !entrypoints.is_empty() {
                entrypoints.join(",")
            } else if *tls == Tls::Off {
                self.traefik.http.clone()
            } else {
                self.traefik.https.clone()
            };
            labels.set(format!("{base}.entrypoints"), entry);
            let resolver = if configured {
                super::traefik_static::RESOLVER
            } else {
                self.traefik.resolver.as_str()
            };
            match (protocol, tls) {
                (RouteProtocol::Udp, _) | (_, Tls::Off) => {}
                (_, Tls::Auto) => labels.set(format!("{base}.tls.certresolver"), resolver),
                (_, Tls::Internal) => labels.set(format!("{base}.tls"), "true"),
                (_, Tls::Passthrough) => {
                    labels.set(format!("{base}.tls.passthrough"), "true");
                    // A sparkc-configured Traefik still obtains the name's certificate, for
                    // the service to read from its store (a certs dumper).
                    if configured && self.has_acme() {
                        labels.set(format!("{base}.tls.certresolver"), resolver);
                    }
                }
            }
            if !single || *protocol != RouteProtocol::Http {
                labels.set(format!("{base}.service"), router.as_str());
            }
            let number = domains[0].port.number;
            labels.set(
                format!("traefik.{layer}.services.{router}.loadbalancer.server.port"),
                number.to_string(),
            );
        }
        labels
    }

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
