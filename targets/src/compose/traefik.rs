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
    /// One router per (port, path, TLS mode); several domains on one router share its rule.
    pub(super) fn traefik_labels(&mut self, s: &Service, sid: ServiceId) -> Labels {
        let mut labels = Labels::default();
        if self.host.proxy != Proxy::Traefik || self.routes[sid].is_empty() {
            return labels;
        }
        type RouteKey<'d> = (&'d str, Option<&'d str>, Tls);
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
            if d.tls == Tls::Off && self.traefik.redirects_http {
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
                .entry((d.port.name.as_str(), d.path_prefix.as_deref(), d.tls))
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
        let single = routers.len() == 1;
        for ((port, path, tls), domains) in &routers {
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
                }
                r
            };
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
            let base = format!("traefik.http.routers.{router}");
            labels.set(format!("{base}.rule"), rule);
            let entry = if *tls == Tls::Off {
                &self.traefik.http
            } else {
                &self.traefik.https
            };
            labels.set(format!("{base}.entrypoints"), entry.as_str());
            match tls {
                Tls::Auto => {
                    labels.set(
                        format!("{base}.tls.certresolver"),
                        self.traefik.resolver.as_str(),
                    );
                }
                Tls::Internal => {
                    labels.set(format!("{base}.tls"), "true");
                }
                Tls::Off => {}
            }
            if !single {
                labels.set(format!("{base}.service"), router.as_str());
            }
            let number = domains[0].port.number;
            labels.set(
                format!("traefik.http.services.{router}.loadbalancer.server.port"),
                number.to_string(),
            );
        }
        labels
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
