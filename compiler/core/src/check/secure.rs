//! Secure defaults: what a generated setup never does without the user saying so — put a
//! service that has no login of its own on the network, hand a container the Docker (or
//! containerd, podman) socket writable, open Traefik's API, or ask for a password over
//! plain HTTP.
//!
//! What a container *is* comes from its template or its image (`Service::runs`), through one
//! table (`KNOWN`); Traefik's own flags and environment are read the way Traefik reads
//! them (`traefik_setting`, held to the real binary by a consumer test); `network_mode = host` publishes every port; a mount of any
//! directory above a socket is a mount of the socket.

use crate::diag::{Code, Diagnostic};
use crate::model::traefik::{Setting, TraefikSource, go_bool, setting, traefik_source};
use crate::model::*;
use crate::source::Loc;

/// How a known image or template serves when someone reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No login at all, and control or secrets behind it: never published, routed only
    /// with `auth` (E0308).
    AdminSurface,
    /// No login, data worth keeping off the network: a warning when published (W0313).
    Unauthenticated,
}

struct Known {
    /// Template or image repository names (`-` and `_` match each other).
    apps: &'static [&'static str],
    kind: Kind,
    /// What anyone who reaches it gets.
    what: &'static str,
}

/// The one table of images and templates that serve without a login.
const KNOWN: &[Known] = &[
    Known {
        apps: &["prometheus"],
        kind: Kind::AdminSurface,
        what: "every metric and the query API",
    },
    Known {
        apps: &["cadvisor"],
        kind: Kind::AdminSurface,
        what: "every container's processes, mounts and usage",
    },
    Known {
        apps: &["alertmanager"],
        kind: Kind::AdminSurface,
        what: "the alerts, and silencing them",
    },
    Known {
        apps: &["garage-webui"],
        kind: Kind::AdminSurface,
        what: "the object store's buckets and access keys",
    },
    Known {
        apps: &["portainer", "portainer-ce", "portainer-ee"],
        kind: Kind::AdminSurface,
        what: "the Docker host (Portainer's first visitor creates its admin account)",
    },
    Known {
        apps: &["blackbox-exporter"],
        kind: Kind::Unauthenticated,
        what: "a prober that fetches any address it is asked to (a request forgery relay)",
    },
    Known {
        apps: &["node-exporter"],
        kind: Kind::Unauthenticated,
        what: "the host's hardware, file systems, processes and network",
    },
    Known {
        apps: &["pushgateway"],
        kind: Kind::Unauthenticated,
        what: "writing and deleting metrics",
    },
];

fn known(s: &Service) -> Option<&'static Known> {
    let names = s.app_names();
    KNOWN.iter().find(|k| {
        k.apps
            .iter()
            .any(|a| names.iter().flatten().any(|n| same_app(n, a)))
    })
}

/// Why a service counts as an admin surface, if it does.
enum Surface {
    /// `admin_surface = true`, written by the user or a template.
    Declared,
    Known(&'static str),
    /// Grafana with anonymous users that are administrators.
    AnonymousGrafanaAdmin(Loc),
}

fn admin_surface(s: &Service) -> Option<Surface> {
    if s.runs_any(&["grafana", "grafana-oss", "grafana-enterprise"])
        && env_truthy(s, "GF_AUTH_ANONYMOUS_ENABLED")
        && env_plain(s, "GF_AUTH_ANONYMOUS_ORG_ROLE")
            .is_some_and(|v| v.eq_ignore_ascii_case("admin"))
    {
        return Some(Surface::AnonymousGrafanaAdmin(s.loc_of("env")));
    }
    if s.field_locs.contains_key("admin_surface") {
        return s.admin_surface.then_some(Surface::Declared);
    }
    match known(s) {
        Some(k) if k.kind == Kind::AdminSurface => Some(Surface::Known(k.what)),
        _ => None,
    }
}

fn env_plain<'s>(s: &'s Service, key: &str) -> Option<&'s str> {
    s.env.iter().find_map(|(k, v)| match v {
        EnvValue::Plain(x) if k.eq_ignore_ascii_case(key) => Some(x.as_str()),
        _ => None,
    })
}

/// go-ini's (Grafana's) truth values.
fn env_truthy(s: &Service, key: &str) -> bool {
    env_plain(s, key).is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "1" | "t" | "true" | "y" | "yes" | "on"
        )
    })
}

/// How a service is reachable from outside its host, and where that was written.
enum Exposure {
    /// `network_mode = host`: every port it listens on is on the host's interfaces.
    HostNetwork(Loc),
    /// Published ports, `Some(private)`: whether every one is bound to a private address.
    Published { loc: Loc, private: bool },
}

fn exposure(s: &Service) -> Option<Exposure> {
    if s.network_mode == Some(NetworkMode::Host) {
        return Some(Exposure::HostNetwork(s.loc_of("network_mode")));
    }
    // Ports published on the loopback address only are reachable from the host alone.
    let open: Vec<&Publish> = s
        .publish
        .iter()
        .filter(|p| !p.address.is_some_and(|a| a.is_loopback()))
        .collect();
    if open.is_empty() {
        return None;
    }
    let private = open.iter().all(|p| p.address.is_some_and(is_private));
    Some(Exposure::Published {
        loc: s.loc_of("publish"),
        private,
    })
}

pub(crate) fn is_private(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_link_local() || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

pub fn check(m: &Model, diags: &mut Vec<Diagnostic>) {
    for d in &m.domains {
        // However the proxy reaches it: an admin surface behind an address is one too.
        let Some(sid) = d.ends_at else { continue };
        let s = &m.services[sid];
        if d.basic_auth.is_none()
            && let Some(why) = admin_surface(s)
        {
            let mut diag = Diagnostic::error(
                Code::UnprotectedAdmin,
                format!("`{}` routes to `{}`, an admin surface, without authentication", d.name, s.name),
                d.loc.file,
                d.loc.span,
            )
            .label("anyone who can reach this domain controls or reads the service")
            .with_secondary(s.loc.file, s.loc.span, surface_text(&why))
            .help(format!("require a login at the proxy: `domain {} -> ... {{ auth = basic_auth(users) }}` with `secret users from file \"./users.htpasswd\"`", d.name));
            if let Surface::AnonymousGrafanaAdmin(l) = why {
                diag = diag.with_secondary(l.file, l.span, "anonymous visitors are Grafana admins");
            }
            diags.push(diag);
        }
        if d.basic_auth.is_some() && d.tls == Tls::Off {
            diags.push(
                Diagnostic::error(
                    Code::PlainTextCredentials,
                    format!("`{}` asks for a password over plain HTTP", d.name),
                    d.loc.file,
                    d.loc.span,
                )
                .label("`tls = off` with `auth`: every login crosses the network readable")
                .help("serve it over HTTPS (`tls = auto`, or `tls = internal` for names only your machines resolve)"),
            );
        }
    }
    for s in &m.services {
        published_surfaces(s, diags);
        traefik(s, diags);
        sockets(s, diags);
    }
    api_internal_routers(m, diags);
}

fn surface_text(why: &Surface) -> String {
    match why {
        Surface::Declared => {
            "an admin surface without a login of its own (`admin_surface`)".to_string()
        }
        Surface::Known(what) => format!("serves {what} without a login"),
        Surface::AnonymousGrafanaAdmin(_) => {
            "Grafana whose anonymous visitors are admins".to_string()
        }
    }
}

fn published_surfaces(s: &Service, diags: &mut Vec<Diagnostic>) {
    let Some(exp) = exposure(s) else { return };
    let (loc, how, private) = match &exp {
        Exposure::HostNetwork(l) => (
            *l,
            "shares its host's network, which publishes every port it listens on",
            false,
        ),
        Exposure::Published { loc, private } => (*loc, "publishes a port on its host", *private),
    };
    if let Some(why) = admin_surface(s) {
        diags.push(
            Diagnostic::error(
                Code::UnprotectedAdmin,
                format!("`{}` is an admin surface and {how}", s.name),
                loc.file,
                loc.span,
            )
            .label("reachable around the proxy and its authentication")
            .with_secondary(s.loc.file, s.loc.span, surface_text(&why))
            .help(match exp {
                Exposure::HostNetwork(_) => "drop `network_mode = host`, and route a domain with `auth = basic_auth(users)` to it",
                Exposure::Published { .. } => "remove `publish` (or publish on 127.0.0.1 only), and route a domain with `auth = basic_auth(users)` to it",
            })
            .about(s.subject()),
        );
        return;
    }
    if private {
        return;
    }
    let what = match known(s) {
        Some(k) if k.kind == Kind::AdminSurface => {
            // `admin_surface = false` on something sparkc knows has no login.
            Some(format!(
                "{} without a login, and `admin_surface = false` says that is meant",
                k.what
            ))
        }
        Some(k) => Some(format!("{} without a login", k.what)),
        None => None,
    }
    .or_else(|| {
        (s.runs("redis") && !redis_has_password(s))
            .then(|| "every key, to anyone (Redis without `--requirepass`)".to_string())
    })
    .or_else(|| {
        let admin = s.runs("garage").then(|| s.port("admin")).flatten()?;
        s.publish
            .iter()
            .any(|p| p.container.0 <= admin.port && admin.port <= p.container.1)
            .then(|| "Garage's admin API".to_string())
    });
    if let Some(what) = what {
        diags.push(
            Diagnostic::warning(
                Code::ExposedUnauthenticated,
                format!("`{}` {how}: it serves {what}", s.name),
                loc.file,
                loc.span,
            )
            .label("reachable by anyone who reaches the host")
            .help(private_publish_help(s))
            .about(s.subject()),
        );
    }
}

/// How to publish `s`'s first published port on a private address instead.
fn private_publish_help(s: &Service) -> String {
    let example = s.publish.first().map(|p| {
        let name = s
            .ports
            .iter()
            .find(|d| d.port == p.container.0)
            .map_or_else(|| p.container.0.to_string(), |d| d.name.clone());
        format!(
            " (`publish = [{{ address = 10.0.0.5, host_port = {}, port = {name} }}]`)",
            p.host.0
        )
    });
    format!(
        "publish it on a private or loopback address only{}, or reach it over the container network and leave it unpublished",
        example.unwrap_or_default()
    )
}

fn redis_has_password(s: &Service) -> bool {
    command_words(&s.command)
        .into_iter()
        .chain(command_words(&s.entrypoint))
        .any(|w| w.to_ascii_lowercase().contains("requirepass"))
        || s.env.keys().any(|k| {
            k.eq_ignore_ascii_case("REDIS_PASSWORD")
                || k.eq_ignore_ascii_case("REDIS_PASSWORD_FILE")
        })
}

fn traefik(s: &Service, diags: &mut Vec<Diagnostic>) {
    if !s.runs("traefik") {
        return;
    }
    if let Setting::Set { value, field } = setting(s, "api.insecure")
        && go_bool(&value) == Some(true)
    {
        let loc = s.loc_of(field);
        diags.push(
            Diagnostic::error(
                Code::UnprotectedAdmin,
                format!("`{}` serves the Traefik dashboard and API without authentication", s.name),
                loc.file,
                loc.span,
            )
            .label("`api.insecure` opens the dashboard on port 8080 to anyone who reaches it")
            .help("drop `api.insecure`, and route the dashboard behind a login: `domain traefik.example.org -> dashboard(traefik) { auth = basic_auth(admins) }` (on a Traefik sparkc configures)")
            .about(s.subject()),
        );
    }
    if matches!(traefik_source(s), TraefikSource::Env) && !s.env_file.is_empty() {
        let loc = s.loc_of("env_file");
        diags.push(
            Diagnostic::error(
                Code::UnprotectedAdmin,
                format!("`{}` takes Traefik's static configuration from its environment, and an `env_file` can change it unseen", s.name),
                loc.file,
                loc.span,
            )
            .label("`TRAEFIK_API_INSECURE=true` in this file would open the dashboard without a password")
            .help("set Traefik's settings in `env { ... }`, where sparkc checks them, and pass credentials as secrets (`secret cf_token from env \"CF_DNS_API_TOKEN\"`, then `CF_DNS_API_TOKEN = cf_token`)")
            .about(s.subject()),
        );
    }
}

/// Routers to Traefik's own API (`service = api@internal`) in labels: each needs an
/// authentication middleware (basic, digest or forward auth) defined in labels too, or one
/// from another provider (`name@file`), which sparkc cannot see and trusts.
fn api_internal_routers(m: &Model, diags: &mut Vec<Diagnostic>) {
    let mut auth_middlewares: Vec<&str> = Vec::new();
    for s in &m.services {
        for k in s.labels.keys() {
            let lower = k.to_ascii_lowercase();
            if let Some(rest) = lower.strip_prefix("traefik.http.middlewares.")
                && let Some((name, kind)) = rest.split_once('.')
                && matches!(
                    kind.split('.').next(),
                    Some("basicauth" | "digestauth" | "forwardauth")
                )
            {
                auth_middlewares.push(&k["traefik.http.middlewares.".len()..][..name.len()]);
            }
        }
    }
    for s in &m.services {
        for (k, v) in &s.labels {
            let lower = k.to_ascii_lowercase();
            let Some(router) = lower
                .strip_prefix("traefik.http.routers.")
                .and_then(|r| r.strip_suffix(".service"))
            else {
                continue;
            };
            if !v.trim().eq_ignore_ascii_case("api@internal") {
                continue;
            }
            let middlewares = s.labels.iter().find_map(|(mk, mv)| {
                mk.eq_ignore_ascii_case(&format!("traefik.http.routers.{router}.middlewares"))
                    .then_some(mv.as_str())
            });
            let protected = middlewares.is_some_and(|list| {
                list.split(',').map(str::trim).any(|mw| {
                    mw.contains('@') && !mw.ends_with("@docker") && !mw.ends_with("@swarm")
                        || auth_middlewares.iter().any(|a| {
                            a.eq_ignore_ascii_case(
                                mw.trim_end_matches("@docker").trim_end_matches("@swarm"),
                            )
                        })
                })
            });
            if !protected {
                let loc = s.loc_of("labels");
                diags.push(
                    Diagnostic::error(
                        Code::UnprotectedAdmin,
                        format!("router `{router}` serves Traefik's API and dashboard without authentication"),
                        loc.file,
                        loc.span,
                    )
                    .label("`service = api@internal` without an authentication middleware")
                    .help(format!("declare the route instead of labels: `domain traefik.example.org -> dashboard(traefik) {{ auth = basic_auth(admins) }}`; or add a basic-auth middleware to router `{router}`: `\"traefik.http.middlewares.dashboard-auth.basicauth.usersfile\" = \"/run/secrets/users\"` and `\"traefik.http.routers.{router}.middlewares\" = \"dashboard-auth\"`"))
                    .about(s.subject()),
                );
            }
        }
    }
}

/// The sockets that hand whoever can write to them the container engine, and so the host.
const SOCKETS: &[&str] = &[
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/var/run/containerd/containerd.sock",
    "/run/containerd/containerd.sock",
    "/var/run/podman/podman.sock",
    "/run/podman/podman.sock",
    "/var/run/crio/crio.sock",
    "/run/crio/crio.sock",
];

/// The engine socket a writable bind mount of `source` reaches, if any: the socket itself,
/// a directory above one (`/`, `/run`, `/var/run`), a rootless engine's socket under
/// `/run/user/`, or any `docker.sock`, `podman.sock` or `containerd.sock` elsewhere.
fn socket_reached(source: &str) -> Option<String> {
    let p = source.trim_end_matches('/');
    let p = if p.is_empty() { "/" } else { p };
    for sock in SOCKETS {
        if *sock == p || p == "/" || sock.starts_with(&format!("{p}/")) {
            return Some((*sock).to_string());
        }
    }
    if p == "/run/user" || p.starts_with("/run/user/") {
        return Some(format!("{p}/... (a rootless engine's socket)"));
    }
    let name = p.rsplit('/').next().unwrap_or(p);
    matches!(name, "docker.sock" | "podman.sock" | "containerd.sock").then(|| p.to_string())
}

fn sockets(s: &Service, diags: &mut Vec<Diagnostic>) {
    for v in &s.volumes {
        let MountSource::Bind(p) = &v.source else {
            continue;
        };
        // A path the deploy tool completes is checked by its literal text (`/var/run/${x}`
        // is not known to be the socket).
        let Some(p) = p.as_lit() else {
            continue;
        };
        if v.read_only || !p.starts_with('/') {
            continue;
        }
        let Some(sock) = socket_reached(p) else {
            continue;
        };
        let what = if sock == p {
            format!("`{}` mounts the engine socket `{p}` writable", s.name)
        } else {
            format!(
                "`{}` mounts `{p}` writable, and with it the engine socket `{sock}`",
                s.name
            )
        };
        diags.push(
            Diagnostic::error(Code::WritableDockerSocket, what, v.loc.file, v.loc.span)
                .label("mounted writable")
                .help(format!("mount it read-only: `ro(\"{p}\" -> \"{}\")`. Read-only does not narrow the engine's API itself; to limit what the container may ask, put a socket proxy in front", v.target))
                .about(s.subject()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_behind_their_directories() {
        for (src, reached) in [
            ("/var/run/docker.sock", true),
            ("/var/run", true),
            ("/run", true),
            ("/", true),
            ("/var/run/", true),
            ("/run/containerd", true),
            ("/run/user/1000", true),
            ("/srv/docker.sock", true),
            ("/var", true),
            ("/srv/data", false),
            ("/var/lib/docker", false),
            ("/run/secrets", false),
        ] {
            assert_eq!(socket_reached(src).is_some(), reached, "{src}");
        }
    }
}
