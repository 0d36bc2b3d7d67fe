//! Traefik's file provider: `routes.yml`, the routes no container carries — to an address
//! outside the project's containers (a VM, another host's service, a hypervisor's web UI),
//! redirects, the dashboard — and the middlewares that mean the same wherever they are used
//! (`_auth-<secret>`, `_security-headers`, `_compress`), defined once for every route of the
//! host, its labelled ones naming them `NAME@file`. Written for every sparkc-configured Traefik that mounts it (the stdlib
//! template does, at `/etc/traefik/routes.yml`), even with no such route, so the mount's
//! source exists.
//!
//! The routers are built by the same [`RouterWriter`] as the containers' labels: Traefik's
//! labels and its file provider are two spellings of one dynamic configuration, so the file
//! is the labels' keys as a tree (lists where Traefik's types have lists, the server as
//! `servers: [{url}]`), in Traefik's documented spelling.

use super::file::Labels;
use super::traefik::{
    RouteKey, RouterWriter, SKIP_VERIFY_TRANSPORT, Server, TraefikNames, name_suffixes,
};
use crate::yaml::Yaml;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;

/// Where Traefik reads the routes file, when its service mounts it.
pub const ROUTES_FILE_IN_CONTAINER: &str = "/etc/traefik/routes.yml";

/// The domains of host `hid` that no container carries.
pub(super) fn file_routes(m: &Model, hid: HostId) -> Vec<&Domain> {
    m.domains
        .iter()
        .filter(|d| d.host == hid && d.service().is_none())
        .collect()
}

/// Routes to addresses and redirects on a host whose Traefik sparkc does not configure:
/// they need the file provider sparkc turns on in its static file.
pub(super) fn unconfigured(m: &Model, hid: HostId, diags: &mut Vec<Diagnostic>) {
    for d in file_routes(m, hid) {
        diags.push(
            Diagnostic::error(
                Code::Unsupported,
                format!("`{}` needs Traefik's file provider, which sparkc turns on only in a Traefik it configures", d.name),
                d.loc.file,
                d.loc.span,
            )
            .label(match d.upstream {
                Upstream::Redirect(_) => "a redirect no container carries",
                _ => "a route to an address, which no container carries",
            })
            .help(format!(
                "run host `{}`'s Traefik from the stdlib (`service traefik on {} = traefik(...)`), or give your Traefik service `proxy {{ ... }}` and mount `./routes.yml` at `{ROUTES_FILE_IN_CONTAINER}`",
                m.hosts[hid].name, m.hosts[hid].name
            )),
        );
    }
}

/// The routes file of host `hid`'s Traefik: its dynamic configuration as a YAML tree.
pub(super) fn routes_file(m: &Model, hid: HostId, proxy: ServiceId, names: &TraefikNames) -> Yaml {
    let writer = RouterWriter {
        m,
        names,
        configured: true,
        has_acme: m.services[proxy]
            .proxy
            .as_deref()
            .is_some_and(|p| p.acme.is_some()),
        shared_in_file: false,
    };
    let mut routers: Vec<(RouteKey<'_>, Vec<&Domain>)> = Vec::new();
    for d in file_routes(m, hid) {
        let key = RouteKey::of(d);
        match routers.iter_mut().find(|(k, _)| *k == key) {
            Some((_, ds)) => ds.push(d),
            None => routers.push((key, vec![d])),
        }
    }
    let mut labels = Labels::default();
    let mut taken: Vec<String> = Vec::new();
    for (key, domains) in &routers {
        // Named after the first host name: `pve-example-org`, then what tells it apart.
        let mut router: String = domains[0]
            .name
            .trim_start_matches("*.")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        if domains[0].name.starts_with("*.") {
            router.insert_str(0, "any-");
        }
        let siblings: Vec<(RouteKey<'_>, Vec<&Domain>)> = routers
            .iter()
            .filter(|(_, ds)| ds[0].name == domains[0].name)
            .cloned()
            .collect();
        if siblings.len() > 1 {
            name_suffixes(&mut router, key, &siblings);
        }
        while taken.contains(&router) {
            router.push('_');
        }
        taken.push(router.clone());
        let server = match key.upstream {
            Upstream::Address(a) if !a.scheme.starts_with("http") => Server::Address(a.authority()),
            Upstream::Address(a) => Server::Url(a.url(), !a.verify_tls),
            Upstream::Redirect(_) => Server::Internal("noop@internal"),
            Upstream::Dashboard { .. } => Server::Internal("api@internal"),
            Upstream::Service { .. } => continue,
        };
        writer.router(
            &mut labels,
            &router,
            key,
            domains,
            Some(router.as_str()),
            server,
        );
    }
    // The shared middlewares of the host's labelled routes: defined here once, named by
    // their labels as `NAME@file`. A route's middlewares written out (and all but the shared
    // kept) once for each different set of shared ones it uses, not once per route.
    let mut shared = Labels::default();
    let mut seen = std::collections::BTreeSet::new();
    for d in m
        .domains
        .iter()
        .filter(|d| d.host == hid && d.service().is_some() && d.protocol == RouteProtocol::Http)
    {
        let uses = (
            d.basic_auth,
            d.middlewares.contains(&Middleware::SecurityHeaders),
            d.middlewares.contains(&Middleware::Compress),
        );
        if uses != (None, false, false) && seen.insert(uses) {
            writer.middleware_labels(&mut shared, "", &RouteKey::of(d));
        }
    }
    for (k, v) in shared.iter() {
        if k.starts_with("traefik.http.middlewares._") {
            labels.set(k, v);
        }
    }
    // The transport of the labelled routes to a port whose certificate is not verified.
    let unverified = m.domains.iter().any(|d| {
        d.host == hid
            && matches!(&d.upstream, Upstream::Service { port, .. }
                if matches!(port.speaks, Speaks::Https { verify_tls: false }))
    });
    if unverified {
        labels.set(
            format!("traefik.http.serverstransports.{SKIP_VERIFY_TRANSPORT}.insecureskipverify"),
            "true",
        );
    }
    tree(&labels)
}

/// Keys whose value is a list in Traefik's dynamic configuration (comma-separated in a
/// label).
const LISTS: &[&str] = &[
    "entrypoints",
    "middlewares",
    "sourcerange",
    "prefixes",
    "accesscontrolalloworiginlist",
    "accesscontrolallowmethods",
    "accesscontrolallowheaders",
    "authresponseheaders",
];

/// Traefik's documented spelling of the keys labels write in lower case (both are read:
/// the file provider matches keys without regard to case).
const SPELLING: &[(&str, &str)] = &[
    ("entrypoints", "entryPoints"),
    ("loadbalancer", "loadBalancer"),
    ("serverstransport", "serversTransport"),
    ("serverstransports", "serversTransports"),
    ("insecureskipverify", "insecureSkipVerify"),
    ("certresolver", "certResolver"),
    ("redirectregex", "redirectRegex"),
    ("ipallowlist", "ipAllowList"),
    ("sourcerange", "sourceRange"),
    ("ratelimit", "rateLimit"),
    ("basicauth", "basicAuth"),
    ("usersfile", "usersFile"),
    ("forwardauth", "forwardAuth"),
    ("authresponseheaders", "authResponseHeaders"),
    ("maxrequestbodybytes", "maxRequestBodyBytes"),
    ("stripprefix", "stripPrefix"),
    ("replacepathregex", "replacePathRegex"),
    ("addprefix", "addPrefix"),
    ("stsseconds", "stsSeconds"),
    ("stsincludesubdomains", "stsIncludeSubdomains"),
    ("customframeoptionsvalue", "customFrameOptionsValue"),
    ("contenttypenosniff", "contentTypeNosniff"),
    ("referrerpolicy", "referrerPolicy"),
    ("customrequestheaders", "customRequestHeaders"),
    ("customresponseheaders", "customResponseHeaders"),
    (
        "accesscontrolalloworiginlist",
        "accessControlAllowOriginList",
    ),
    ("accesscontrolallowmethods", "accessControlAllowMethods"),
    ("accesscontrolallowheaders", "accessControlAllowHeaders"),
    ("accesscontrolmaxage", "accessControlMaxAge"),
    ("addvaryheader", "addVaryHeader"),
    ("healthcheck", "healthCheck"),
    ("passhostheader", "passHostHeader"),
    ("httponly", "httpOnly"),
];

/// The labels' keys as one tree: `traefik.http.routers.x.rule` is `http: routers: x: rule`.
fn tree(labels: &Labels) -> Yaml {
    let mut doc = Yaml::map();
    // HTTP first, then TCP and UDP, each in the order written.
    let layer = |k: &str| match k.split('.').nth(1) {
        Some("http") => 0,
        Some("tcp") => 1,
        _ => 2,
    };
    let mut sorted: Vec<(&str, &str)> = labels.iter().collect();
    sorted.sort_by_key(|(k, _)| layer(k));
    for (key, value) in sorted {
        let parts: Vec<&str> = key
            .strip_prefix("traefik.")
            .unwrap_or(key)
            .split('.')
            .collect();
        let Some((&raw_last, path)) = parts.split_last() else {
            continue;
        };
        // Header names and values are the user's: kept as written, always strings.
        let in_headers = path
            .iter()
            .any(|p| matches!(*p, "customrequestheaders" | "customresponseheaders"));
        let spelled = |p: &str| -> String {
            if in_headers && !matches!(p, "customrequestheaders" | "customresponseheaders") {
                return p.to_string();
            }
            SPELLING
                .iter()
                .find(|(k, _)| *k == p)
                .map_or(p, |(_, v)| v)
                .to_string()
        };
        // A service's one server: `server.url` in a label, `servers: [{url}]` in a file.
        let (path, last): (Vec<String>, String) = if path.last() == Some(&"server") {
            (
                path[..path.len() - 1].iter().map(|p| spelled(p)).collect(),
                format!("servers.{}", spelled(raw_last)),
            )
        } else {
            (path.iter().map(|p| spelled(p)).collect(), spelled(raw_last))
        };
        let mut node = &mut doc;
        for p in &path {
            node = child(node, p);
        }
        let scalar = if in_headers {
            Yaml::str(value)
        } else if LISTS.contains(&raw_last) {
            Yaml::List(value.split(',').map(Yaml::str).collect())
        } else {
            match value {
                "true" => Yaml::Bool(true),
                "false" => Yaml::Bool(false),
                v if !v.is_empty()
                    && v.len() < 16
                    && v.bytes().all(|b| b.is_ascii_digit())
                    && !(v.len() > 1 && v.starts_with('0')) =>
                {
                    Yaml::Int(v.parse().unwrap_or_default())
                }
                v => Yaml::str(v),
            }
        };
        if let Some(field) = last.strip_prefix("servers.") {
            let mut server = Yaml::map();
            server.set(field, scalar);
            node.set("servers", Yaml::List(vec![server]));
        } else {
            node.set(last.as_str(), scalar);
        }
    }
    doc
}

/// The map at `key` in `node`, made if missing; `key[N]` is the `N`th map of the list at
/// `key` (`tls.domains[0].main`).
fn child<'y>(node: &'y mut Yaml, key: &str) -> &'y mut Yaml {
    if !matches!(node, Yaml::Map(_)) {
        *node = Yaml::map();
    }
    let indexed = key
        .strip_suffix(']')
        .and_then(|k| k.split_once('['))
        .and_then(|(k, n)| Some((k, n.parse::<usize>().ok()?)));
    let Yaml::Map(m) = node else {
        return node;
    };
    match indexed {
        Some((k, n)) => {
            let list = m
                .entry(k.to_string())
                .or_insert_with(|| Yaml::List(Vec::new()));
            if !matches!(list, Yaml::List(_)) {
                *list = Yaml::List(Vec::new());
            }
            let Yaml::List(items) = list else {
                return list;
            };
            while items.len() <= n {
                items.push(Yaml::map());
            }
            &mut items[n]
        }
        None => m.entry(key.to_string()).or_insert_with(Yaml::map),
    }
}
