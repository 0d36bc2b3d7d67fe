//! Docker Compose: one `docker-compose.yml` per host and stack, plus `.env.example`.
//!
//! Capabilities: everything in [`Service`] for `runtime = compose`; on `runtime = swarm`
//! also `deploy:` update/rollback/placement. What a runtime cannot express is an E0401
//! error, or a W0402 warning where a documented fallback exists.

use crate::placement::{project_dir, relative_inside};
use crate::yaml::{Yaml, YamlMap, render};
use indexmap::IndexMap;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext, OptionKind, Target, TargetOption};
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub struct Compose;

impl Target for Compose {
    fn name(&self) -> &'static str {
        "compose"
    }

    fn reads_generated(&self) -> bool {
        true
    }

    fn options(&self) -> &'static [TargetOption] {
        &[
            TargetOption {
                name: "traefik_entrypoint_http",
                kind: OptionKind::Name,
                doc: "Traefik's plain-HTTP entry point that `tls = off` routes use (default `web`)",
                example: "\"web\"",
            },
            TargetOption {
                name: "traefik_entrypoint_https",
                kind: OptionKind::Name,
                doc: "Traefik's HTTPS entry point (default `websecure`)",
                example: "\"websecure\"",
            },
            TargetOption {
                name: "traefik_certresolver",
                kind: OptionKind::Name,
                doc: "Traefik's certificate resolver for `tls = auto` (default `le`)",
                example: "\"le\"",
            },
            TargetOption {
                name: "traefik_redirects_http",
                kind: OptionKind::Bool,
                doc: "whether Traefik redirects all plain HTTP to HTTPS (default true, as the stdlib template does)",
                example: "false",
            },
        ]
    }

    fn emit(&self, m: &Model, ctx: &EmitContext<'_>) -> (Vec<Artifact>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let mut diags = Vec::new();
        // Group each host's services by stack; `None` (the host's own project) first.
        let mut by_host: List<HostId, BTreeMap<Option<&str>, Vec<ServiceId>>> =
            List::filled(m.hosts.len(), BTreeMap::new());
        for (sid, s) in m.services.iter_enumerated() {
            if let Some(h) = s.host {
                by_host[h].entry(s.stack.as_deref()).or_default().push(sid);
            }
        }
        let mut routes: List<ServiceId, Vec<DomainId>> = List::filled(m.services.len(), Vec::new());
        for (did, d) in m.domains.iter_enumerated() {
            routes[d.service].push(did);
        }
        let hosts = HostFacts {
            routes,
            traefik: TraefikNames::from_options(ctx.options),
            traefik_services: m.app_per_host("traefik"),
        };
        // One compose project per (host, stack); each is emitted independently, on every
        // core, and the results are joined in this order.
        let mut units: Vec<(HostId, Option<&str>, &[ServiceId])> = Vec::new();
        for (hid, h) in m.hosts.iter_enumerated() {
            if matches!(h.runtime, Runtime::Compose | Runtime::Swarm) {
                for (stack, services) in &by_host[hid] {
                    units.push((hid, *stack, services));
                }
            }
        }
        use rayon::prelude::*;
        let results: Vec<(Vec<Artifact>, Vec<Diagnostic>)> = units
            .into_par_iter()
            .map(|(hid, stack, services)| project_files(m, ctx, hid, stack, services, &hosts))
            .collect();
        for (a, d) in results {
            out.extend(a);
            diags.extend(d);
        }
        (out, diags)
    }
}

/// The compose service keys sparkc models (each from typed fields): a passthrough may not
/// set them behind the model's back.
pub const MODELLED_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "networks",
    "network_mode",
    "depends_on",
    "healthcheck",
    "restart",
    "labels",
    "container_name",
    "hostname",
    "user",
    "working_dir",
    "security_opt",
    "cap_add",
    "cap_drop",
    "devices",
    "privileged",
    "read_only",
    "init",
    "sysctls",
    "ulimits",
    "tmpfs",
    "extra_hosts",
    "logging",
    "secrets",
    "profiles",
    "dns",
    "platform",
    "pull_policy",
    "stop_grace_period",
    "shm_size",
    "deploy",
    "mem_limit",
    "cpus",
];

/// Label that changes when a generated file the service mounts changes: Compose then
/// recreates exactly the consumers whose configuration changed.
pub const CONFIG_HASH_LABEL: &str = "sparkc.config-hash";

/// What every compose project needs to know beyond its own services, computed once.
struct HostFacts {
    /// The domains routed to each service.
    routes: List<ServiceId, Vec<DomainId>>,
    traefik: TraefikNames,
    /// Each host's Traefik service, if it declares exactly one.
    traefik_services: List<HostId, Option<ServiceId>>,
}

/// The files of one compose project: `docker-compose.yml`, and `.env.example` when the
/// file reads environment variables.
fn project_files(
    m: &Model,
    ctx: &EmitContext<'_>,
    hid: HostId,
    stack: Option<&str>,
    services: &[ServiceId],
    facts: &HostFacts,
) -> (Vec<Artifact>, Vec<Diagnostic>) {
    let h = &m.hosts[hid];
    let mut out = Vec::new();
    let mut diags = Vec::new();
    let dir = project_dir(h, stack);
    let project = stack.unwrap_or(h.name.as_str());
    let mut e = Emitter {
        m,
        host: h,
        hid,
        stack,
        diags: &mut diags,
        env_vars: BTreeMap::new(),
        routes: &facts.routes,
        traefik: &facts.traefik,
        traefik_service: facts.traefik_services[hid],
        generated: ctx.generated,
    };
    let mut doc = e.file(project, services);
    escape_interpolation(&mut doc);
    let env_vars = std::mem::take(&mut e.env_vars);
    let header = crate::header(ctx.source, "compose");
    match render(&doc, &header, ctx) {
        Ok(text) => out.push(Artifact {
            path: format!("{dir}/docker-compose.yml"),
            contents: text,
        }),
        Err(err) => diags.push(Diagnostic::error(
            Code::Unsupported,
            format!("cannot serialise compose file: {err}"),
            h.loc.file,
            h.loc.span,
        )),
    }
    if !env_vars.is_empty() {
        // Not the generated-file header: this file is meant to be copied, and the copy must
        // read as the user's own.
        let mut env = format!(
            "# Template for `.env`, written by sparkc from {} (target: compose): the variables\n\
             # docker-compose.yml reads. Copy it to `.env` beside docker-compose.yml and fill in\n\
             # the values. The copy is yours: sparkc never reads, writes or removes `.env`.\n\
             # Never commit the filled-in file.\n",
            ctx.source
        );
        for (var, secrets) in &env_vars {
            let _ = write!(env, "\n# secret {}\n{var}=\n", secrets.join(", "));
        }
        out.push(Artifact {
            path: format!("{dir}/.env.example"),
            contents: env,
        });
    }
    (out, diags)
}

struct Emitter<'a> {
    m: &'a Model,
    host: &'a Host,
    hid: HostId,
    stack: Option<&'a str>,
    diags: &'a mut Vec<Diagnostic>,
    /// Environment variables the file reads (for `.env.example`), with the secrets behind them.
    env_vars: BTreeMap<String, Vec<String>>,
    /// The domains routed to each service.
    routes: &'a List<ServiceId, Vec<DomainId>>,
    traefik: &'a TraefikNames,
    /// The Traefik service declared on this host, if exactly one.
    traefik_service: Option<ServiceId>,
    /// What the other targets generated, for the config-hash label.
    generated: &'a [Artifact],
}

/// The Traefik entry point and certificate resolver names routing labels refer to; the
/// stdlib `traefik` template defines these names. `[targets.compose]` options override them.
struct TraefikNames {
    http: String,
    https: String,
    resolver: String,
    /// Whether Traefik redirects everything on the HTTP entry point to HTTPS (the stdlib
    /// template does), which makes a plain-HTTP route unreachable.
    redirects_http: bool,
}

impl TraefikNames {
    fn from_options(o: &sparkc_core::target::TargetOptions) -> Self {
        let get = |k: &str, d: &str| o.get(k).cloned().unwrap_or_else(|| d.to_string());
        TraefikNames {
            http: get("traefik_entrypoint_http", "web"),
            https: get("traefik_entrypoint_https", "websecure"),
            resolver: get("traefik_certresolver", "le"),
            redirects_http: get("traefik_redirects_http", "true") != "false",
        }
    }
}

/// A value as it is. Compose interpolates `$` in every value (not in keys): the finished
/// document goes through [`escape_interpolation`], which writes every literal `$` as `$$`, so
/// no field can miss it. Only [`Yaml::Expand`] strings, the references sparkc means Compose
/// to expand, keep their `$`.
fn lit(s: &str) -> Yaml {
    Yaml::Str(s.to_string())
}

/// Every literal `$` in every value of the document as `$$`.
fn escape_interpolation(doc: &mut Yaml) {
    doc.map_strings(&|s| s.contains('$').then(|| s.replace('$', "$$")));
}

fn dur(ms: u64) -> Yaml {
    Yaml::Str(sparkc_core::model::units::format_duration(ms))
}

/// Compose byte sizes are strings with binary units (`512m`, `4g`).
fn bytes(b: u64) -> Yaml {
    for (unit, n) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if b >= n && b.is_multiple_of(n) {
            return Yaml::Str(format!("{}{unit}", b / n));
        }
    }
    Yaml::Str(format!("{b}b"))
}

fn strs(items: &[String]) -> Yaml {
    Yaml::List(items.iter().map(|s| lit(s)).collect())
}

fn command(c: &Command) -> Yaml {
    match c {
        Command::Shell(s) => lit(s),
        Command::Exec(v) => strs(v),
    }
}

fn raw(r: &Raw) -> Yaml {
    match r {
        Raw::Str(s) => lit(s),
        Raw::Int(i) => Yaml::Int(*i),
        Raw::Float(f) => Yaml::Float(*f),
        Raw::Bool(b) => Yaml::Bool(*b),
        Raw::List(l) => Yaml::List(l.iter().map(raw).collect()),
        Raw::Map(m) => Yaml::Map(m.iter().map(|(k, v)| (k.clone(), raw(v))).collect()),
    }
}

impl Emitter<'_> {
    fn swarm(&self) -> bool {
        self.host.runtime == Runtime::Swarm
    }

    fn unsupported(&mut self, s: &Service, field: &str, msg: String, help: &str) {
        let loc = s.loc_of(field);
        self.diags.push(
            Diagnostic::error(Code::Unsupported, msg, loc.file, loc.span)
                .label("the compose target cannot express this")
                .help(help.to_string())
                .about(s.subject()),
        );
    }

    fn fallback(&mut self, s: &Service, field: &str, msg: String, help: &str) {
        let loc = s.loc_of(field);
        self.diags.push(
            Diagnostic::warning(Code::Fallback, msg, loc.file, loc.span)
                .help(help.to_string())
                .about(s.subject()),
        );
    }

    /// Routing labels for the domains that point at `s` when its host's proxy is Traefik.
    /// One router per (port, path, TLS mode); several domains on one router share its rule.
    fn traefik_labels(&mut self, s: &Service, sid: ServiceId) -> YamlMap {
        let mut labels = YamlMap::default();
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
        if routers.is_empty() {
            return labels;
        }
        labels.insert("traefik.enable".into(), Yaml::str("true"));
        if let Some(net) = self.traefik_network(sid) {
            // Each provider reads its own key: the docker one, or the swarm one on swarm.
            let key = if self.swarm() {
                "traefik.swarm.network"
            } else {
                "traefik.docker.network"
            };
            labels.insert(key.into(), lit(&net));
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
            labels.insert(format!("{base}.rule"), lit(&rule));
            let entry = if *tls == Tls::Off {
                &self.traefik.http
            } else {
                &self.traefik.https
            };
            labels.insert(format!("{base}.entrypoints"), lit(entry));
            match tls {
                Tls::Auto => {
                    labels.insert(
                        format!("{base}.tls.certresolver"),
                        lit(&self.traefik.resolver),
                    );
                }
                Tls::Internal => {
                    labels.insert(format!("{base}.tls"), Yaml::str("true"));
                }
                Tls::Off => {}
            }
            if !single {
                labels.insert(format!("{base}.service"), lit(&router));
            }
            let number = domains[0].port.number;
            labels.insert(
                format!("traefik.http.services.{router}.loadbalancer.server.port"),
                Yaml::Str(number.to_string()),
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

    /// A hash of the generated files `s` reads through its bind mounts (a mounted file, or
    /// every file in a mounted directory), so that Compose recreates the container when only
    /// their content changes: a service's configuration hash covers its labels, not the
    /// files it mounts. `None` when it mounts none.
    fn config_hash(&self, s: &Service) -> Option<String> {
        let dir = project_dir(self.host, self.stack);
        let mut read: Vec<&Artifact> = Vec::new();
        for v in &s.volumes {
            let MountSource::Bind(p) = &v.source else {
                continue;
            };
            let Some(rel) = relative_inside(p) else {
                continue;
            };
            let path = format!("{dir}/{rel}");
            let under = format!("{path}/");
            read.extend(
                self.generated
                    .iter()
                    .filter(|a| a.path == path || a.path.starts_with(&under)),
            );
        }
        if read.is_empty() {
            return None;
        }
        read.sort_by(|a, b| a.path.cmp(&b.path));
        read.dedup_by(|a, b| a.path == b.path);
        let mut h = sparkc_core::hash::Fnv64::default();
        for a in read {
            h.write(a.path.as_bytes());
            h.write(&[0]);
            h.write(a.contents.as_bytes());
            h.write(&[0]);
        }
        Some(format!("{:016x}", h.finish()))
    }

    /// On swarm, a bind mount's source is read on whichever node runs the task, and exists
    /// only where it was made (a deploy directory, a data directory): W0403, unless the
    /// service is pinned to one node or the path is one every node has.
    fn node_local_mount(&mut self, s: &Service, v: &Mount) {
        let MountSource::Bind(p) = &v.source else {
            return;
        };
        if !self.swarm() {
            return;
        }
        let everywhere = [
            "/var/run/",
            "/run/",
            "/proc",
            "/sys",
            "/dev",
            "/etc/localtime",
            "/etc/timezone",
        ];
        if p == "/"
            || everywhere
                .iter()
                .any(|e| p.starts_with(e) || p == e.trim_end_matches('/'))
        {
            return;
        }
        let pinned = s.placement.iter().any(|c| {
            let c = c.replace(' ', "");
            c.starts_with("node.hostname==") || c.starts_with("node.id==")
        });
        if pinned {
            return;
        }
        self.diags.push(
            Diagnostic::warning(
                Code::NodeLocalMount,
                format!("`{}` bind-mounts `{p}` on swarm host `{}`", s.name, self.host.name),
                v.loc.file,
                v.loc.span,
            )
            .label("read on whichever node runs the task; it exists only on the node that has it")
            .help(format!(
                "pin the service to the node that has it (`placement = [\"node.hostname == NODE\"]`), or use a named volume; a generated file must be on every node that may run `{}`",
                s.name
            ))
            .about(s.subject()),
        );
    }

    /// On a swarm host, Traefik finds the services to route through its swarm provider
    /// (`deploy.labels`); with only the docker provider it sees none of them.
    fn swarm_traefik(&mut self, s: &Service) {
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

    fn secret_var(&mut self, id: SecretId) -> Option<String> {
        let sec = &self.m.secrets[id];
        match &sec.source {
            SecretSource::Env(var) => {
                let e = self.env_vars.entry(var.clone()).or_default();
                if !e.contains(&sec.name) {
                    e.push(sec.name.clone());
                }
                Some(var.clone())
            }
            SecretSource::File(_) => None,
        }
    }

    fn file(&mut self, project: &str, services: &[ServiceId]) -> Yaml {
        let mut doc = Yaml::map();
        doc.set("name", Yaml::str(project));
        let mut svc_map = YamlMap::default();
        let mut volumes: BTreeMap<String, Yaml> = BTreeMap::new();
        let mut networks: BTreeMap<String, Yaml> = BTreeMap::new();
        let mut secrets: BTreeMap<String, Yaml> = BTreeMap::new();
        for &sid in services {
            let s = &self.m.services[sid];
            let y = self.service(s, sid);
            svc_map.insert(s.name.clone(), y);
            for mnt in &s.volumes {
                if let MountSource::Volume(v) = &mnt.source {
                    let decl = self
                        .m
                        .volumes
                        .iter()
                        .find(|x| &x.name == v && x.host == self.hid);
                    let mut vy = Yaml::map();
                    if let Some(d) = decl {
                        if let Some(dr) = &d.driver {
                            vy.set("driver", lit(dr));
                        }
                        if d.external {
                            vy.set("external", Yaml::Bool(true));
                        }
                    }
                    volumes.insert(v.clone(), vy);
                }
            }
            for n in &s.networks {
                let net = &self.m.networks[*n];
                let mut ny = Yaml::map();
                let owned_here = net.stack.as_deref() == self.stack;
                if net.external || !owned_here {
                    // An external network is looked up by its key, without a project prefix.
                    ny.set("external", Yaml::Bool(true));
                } else {
                    // The owner names it, so other stacks find it without the project prefix.
                    ny.set("name", lit(&net.name));
                    if let Some(d) = &net.driver {
                        ny.set("driver", lit(d));
                    } else if self.swarm() {
                        ny.set("driver", Yaml::str("overlay"));
                    }
                    if net.internal {
                        ny.set("internal", Yaml::Bool(true));
                    }
                }
                networks.insert(net.name.clone(), ny);
            }
            for id in &s.secrets {
                let sec = &self.m.secrets[*id];
                let mut sy = Yaml::map();
                match &sec.source {
                    SecretSource::Env(_) => {
                        if self.swarm() {
                            self.unsupported(
                                s,
                                "secrets",
                                format!("swarm cannot create secret `{}` from an environment variable", sec.name),
                                "on swarm, give the secret a file source (`secret x from file \"./x\"`) or create it with `docker secret create` and reference it as external",
                            );
                        }
                        let var = self.secret_var(*id).unwrap_or_default();
                        sy.set("environment", Yaml::str(var));
                    }
                    SecretSource::File(p) => sy.set("file", lit(p)),
                }
                secrets.insert(sec.name.clone(), sy);
            }
        }
        doc.set("services", Yaml::Map(svc_map));
        if !networks.is_empty() {
            doc.set("networks", Yaml::Map(networks.into_iter().collect()));
        }
        if !volumes.is_empty() {
            doc.set("volumes", Yaml::Map(volumes.into_iter().collect()));
        }
        if !secrets.is_empty() {
            doc.set("secrets", Yaml::Map(secrets.into_iter().collect()));
        }
        doc
    }

    fn service(&mut self, s: &Service, sid: ServiceId) -> Yaml {
        self.swarm_traefik(s);
        let mut y = Yaml::map();
        if let Some(img) = &s.image {
            y.set("image", lit(img));
        }
        if let Some(b) = &s.build {
            if self.swarm() {
                self.fallback(s, "build", format!("swarm ignores `build` of `{}`", s.name), "swarm deploys only images: build and push the image first, and set `image` too");
            }
            let mut by = Yaml::map();
            by.set("context", lit(&b.context));
            if let Some(d) = &b.dockerfile {
                by.set("dockerfile", lit(d));
            }
            if let Some(t) = &b.target {
                by.set("target", lit(t));
            }
            if !b.args.is_empty() {
                by.set(
                    "args",
                    Yaml::Map(b.args.iter().map(|(k, v)| (k.clone(), lit(v))).collect()),
                );
            }
            y.set("build", by);
        }
        if let Some(c) = &s.container_name {
            if self.swarm() {
                self.unsupported(
                    s,
                    "container_name",
                    "swarm services cannot have a fixed `container_name`".into(),
                    "remove it; swarm names tasks itself",
                );
            }
            y.set("container_name", lit(c));
        }
        if let Some(h) = &s.hostname {
            y.set("hostname", lit(h));
        }
        if let Some(c) = &s.entrypoint {
            y.set("entrypoint", command(c));
        }
        if let Some(c) = &s.command {
            y.set("command", command(c));
        }
        if let Some(u) = &s.user {
            y.set("user", lit(u));
        }
        if let Some(w) = &s.working_dir {
            y.set("working_dir", lit(w));
        }
        if let Some(r) = s.restart {
            let text = match r {
                Restart::No => "no",
                Restart::Always => "always",
                Restart::OnFailure => "on-failure",
                Restart::UnlessStopped => "unless-stopped",
            };
            y.set("restart", Yaml::str(text));
        }
        if !s.depends_on.is_empty() {
            if self.swarm() {
                self.fallback(s, "depends_on", format!("swarm ignores the start order of `{}`", s.name), "swarm starts services in any order and restarts them until they are healthy; the dependency is still written for `docker compose`");
            }
            let mut deps = YamlMap::default();
            for d in &s.depends_on {
                let dep = &self.m.services[d.service];
                if d.condition == DependCondition::Healthy
                    && dep
                        .healthcheck
                        .as_ref()
                        .is_none_or(|h| h.test == HealthTest::Disabled)
                {
                    self.diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!(
                                "`{}` waits for `{}` to be healthy, but it has no health check",
                                s.name, dep.name
                            ),
                            d.loc.file,
                            d.loc.span,
                        )
                        .help("give the dependency a `healthcheck`, or wait with `started(...)`")
                        .about(s.subject()),
                    );
                }
                let cond = match d.condition {
                    DependCondition::Started => "service_started",
                    DependCondition::Healthy => "service_healthy",
                    DependCondition::Completed => "service_completed_successfully",
                };
                let mut dy = Yaml::map();
                dy.set("condition", Yaml::str(cond));
                deps.insert(dep.name.clone(), dy);
            }
            // Plain start order reads best in the short list form compose documents first.
            let all_started = s
                .depends_on
                .iter()
                .all(|d| d.condition == DependCondition::Started);
            if all_started {
                y.set(
                    "depends_on",
                    Yaml::List(deps.keys().map(|name| lit(name)).collect()),
                );
            } else {
                y.set("depends_on", Yaml::Map(deps));
            }
        }
        if !s.env.is_empty() {
            let mut env = YamlMap::default();
            for (k, v) in &s.env {
                let val = match v {
                    EnvValue::Plain(p) => lit(p),
                    EnvValue::Secret(id) => {
                        if let Some(var) = self.secret_var(*id) {
                            Yaml::Expand(format!(
                                "${{{var}:?secret {} is not set}}",
                                self.m.secrets[*id].name
                            ))
                        } else {
                            let sec = &self.m.secrets[*id];
                            self.unsupported(s, "env", format!("secret `{}` comes from a file; compose cannot put a file's content into `{k}`", sec.name), &format!("mount it (`secrets = [{0}]`) and point the program at `{0}.path`, e.g. `{k}_FILE = {0}.path`", sec.name));
                            continue;
                        }
                    }
                };
                env.insert(k.clone(), val);
            }
            y.set("environment", Yaml::Map(env));
        }
        if !s.env_file.is_empty() {
            y.set("env_file", strs(&s.env_file));
        }
        if !s.publish.is_empty() {
            let mut ports = Vec::new();
            for p in &s.publish {
                let range = |(a, b): (u16, u16)| {
                    if a == b {
                        a.to_string()
                    } else {
                        format!("{a}-{b}")
                    }
                };
                let mut text = String::new();
                if let Some(addr) = p.address {
                    let _ = match addr {
                        std::net::IpAddr::V6(v6) => write!(text, "[{v6}]:"),
                        std::net::IpAddr::V4(v4) => write!(text, "{v4}:"),
                    };
                }
                let _ = write!(text, "{}:{}", range(p.host), range(p.container));
                if p.proto == Proto::Udp {
                    text.push_str("/udp");
                }
                ports.push(Yaml::Str(text));
            }
            y.set("ports", Yaml::List(ports));
        }
        // Declared ports that are not published are exposed to the project's networks only.
        let exposed: Vec<Yaml> = s
            .ports
            .iter()
            .filter(|p| {
                !s.publish.iter().any(|x| {
                    x.container.0 <= p.port && p.port <= x.container.1 && x.proto == p.proto
                })
            })
            .map(|p| {
                Yaml::Str(if p.proto == Proto::Udp {
                    format!("{}/udp", p.port)
                } else {
                    p.port.to_string()
                })
            })
            .collect();
        if !exposed.is_empty() {
            y.set("expose", Yaml::List(exposed));
        }
        if !s.volumes.is_empty() {
            let mut vols = Vec::new();
            for v in &s.volumes {
                self.node_local_mount(s, v);
                if let Some(short) = short_mount(v) {
                    vols.push(short);
                    continue;
                }
                let mut vy = Yaml::map();
                match &v.source {
                    MountSource::Volume(n) => {
                        vy.set("type", Yaml::str("volume"));
                        vy.set("source", lit(n));
                    }
                    MountSource::Bind(p) => {
                        vy.set("type", Yaml::str("bind"));
                        vy.set("source", lit(p));
                    }
                    MountSource::Tmpfs => vy.set("type", Yaml::str("tmpfs")),
                }
                vy.set("target", lit(&v.target));
                if v.read_only {
                    vy.set("read_only", Yaml::Bool(true));
                }
                vols.push(vy);
            }
            y.set("volumes", Yaml::List(vols));
        }
        if !s.networks.is_empty() {
            let mut list: Vec<Yaml> = s
                .networks
                .iter()
                .map(|n| lit(&self.m.networks[*n].name))
                .collect();
            if s.default_network {
                // The project's own network; compose defines it without a top-level entry.
                list.push(Yaml::str("default"));
            }
            y.set("networks", Yaml::List(list));
        }
        if let Some(nm) = s.network_mode {
            let mode = match nm {
                NetworkMode::Host => "host".to_string(),
                NetworkMode::None => "none".to_string(),
                NetworkMode::Bridge => "bridge".to_string(),
                NetworkMode::Service(id) => format!("service:{}", self.m.services[id].name),
            };
            y.set("network_mode", lit(&mode));
        }
        if !s.secrets.is_empty() {
            y.set(
                "secrets",
                Yaml::List(
                    s.secrets
                        .iter()
                        .map(|id| lit(&self.m.secrets[*id].name))
                        .collect(),
                ),
            );
        }
        if let Some(h) = &s.healthcheck {
            let mut hy = Yaml::map();
            let test = match &h.test {
                HealthTest::Disabled => {
                    hy.set("disable", Yaml::Bool(true));
                    None
                }
                HealthTest::Exec(v) => Some(
                    std::iter::once("CMD".to_string())
                        .chain(v.iter().cloned())
                        .collect::<Vec<_>>(),
                ),
                HealthTest::Shell(c) => Some(vec!["CMD-SHELL".to_string(), c.clone()]),
                HealthTest::Http { port, path } => {
                    let url = format!("http://localhost:{port}{path}");
                    match s.health_client {
                        Some(HealthClient::Curl) => Some(vec![
                            "CMD".into(),
                            "curl".into(),
                            "-fsS".into(),
                            "-o".into(),
                            "/dev/null".into(),
                            url,
                        ]),
                        Some(HealthClient::Wget) => Some(vec![
                            "CMD".into(),
                            "wget".into(),
                            "-q".into(),
                            "--spider".into(),
                            url,
                        ]),
                        None => {
                            let loc = h.loc;
                            self.diags.push(
                                Diagnostic::error(Code::Unsupported, format!("compose cannot run an HTTP health check for `{}`: no HTTP client is known in its image", s.name), loc.file, loc.span)
                                    .label("compose runs health checks inside the container")
                                    .help("say which client the image ships (`health_client = curl` or `wget`), or test with `cmd(...)`")
                                    .about(s.subject()),
                            );
                            None
                        }
                    }
                }
            };
            if let Some(t) = test {
                hy.set("test", strs(&t));
            }
            if let Some(i) = h.interval {
                hy.set("interval", dur(i));
            }
            if let Some(i) = h.timeout {
                hy.set("timeout", dur(i));
            }
            if let Some(r) = h.retries {
                hy.set("retries", Yaml::Int(r));
            }
            if let Some(i) = h.start_period {
                hy.set("start_period", dur(i));
            }
            y.set("healthcheck", hy);
        }
        // Traefik's docker provider reads container labels; its swarm provider reads the
        // service's, under `deploy.labels`.
        let routing = self.traefik_labels(s, sid);
        let (mut labels, deploy_labels) = if self.swarm() {
            (YamlMap::default(), routing)
        } else {
            (routing, YamlMap::default())
        };
        for (k, v) in &s.labels {
            labels.insert(k.clone(), lit(v));
        }
        if let Some(hash) = self.config_hash(s) {
            labels.insert(CONFIG_HASH_LABEL.into(), Yaml::Str(hash));
        }
        if !labels.is_empty() {
            y.set("labels", Yaml::Map(labels));
        }
        for (key, list) in [
            ("security_opt", &s.security_opt),
            ("cap_add", &s.cap_add),
            ("cap_drop", &s.cap_drop),
            ("devices", &s.devices),
            ("tmpfs", &s.tmpfs),
            ("profiles", &s.profiles),
        ] {
            if !list.is_empty() {
                y.set(key, strs(list));
            }
        }
        if s.privileged {
            if self.swarm() {
                self.unsupported(
                    s,
                    "privileged",
                    format!("swarm services cannot run privileged (`{}`)", s.name),
                    "grant the capabilities it needs with `cap_add` instead",
                );
            }
            y.set("privileged", Yaml::Bool(true));
        }
        if s.read_only {
            y.set("read_only", Yaml::Bool(true));
        }
        if s.init {
            y.set("init", Yaml::Bool(true));
        }
        if !s.sysctls.is_empty() {
            y.set(
                "sysctls",
                Yaml::Map(s.sysctls.iter().map(|(k, v)| (k.clone(), lit(v))).collect()),
            );
        }
        if !s.ulimits.is_empty() {
            let mut u = YamlMap::default();
            for (k, v) in &s.ulimits {
                u.insert(
                    k.clone(),
                    match v {
                        Ulimit::Single(n) => Yaml::Int(*n),
                        Ulimit::SoftHard(a, b) => {
                            let mut m = Yaml::map();
                            m.set("soft", Yaml::Int(*a));
                            m.set("hard", Yaml::Int(*b));
                            m
                        }
                    },
                );
            }
            y.set("ulimits", Yaml::Map(u));
        }
        if !s.extra_hosts.is_empty() {
            y.set(
                "extra_hosts",
                Yaml::Map(
                    s.extra_hosts
                        .iter()
                        .map(|(k, v)| (k.clone(), Yaml::Str(v.to_string())))
                        .collect(),
                ),
            );
        }
        if !s.dns.is_empty() {
            y.set(
                "dns",
                Yaml::List(s.dns.iter().map(|d| Yaml::Str(d.to_string())).collect()),
            );
        }
        if let Some(l) = &s.logging {
            let mut ly = Yaml::map();
            ly.set("driver", lit(&l.driver));
            if !l.options.is_empty() {
                ly.set(
                    "options",
                    Yaml::Map(l.options.iter().map(|(k, v)| (k.clone(), lit(v))).collect()),
                );
            }
            y.set("logging", ly);
        }
        if let Some(p) = &s.platform {
            y.set("platform", lit(p));
        }
        if let Some(p) = &s.pull_policy {
            y.set("pull_policy", Yaml::str(p.as_str()));
        }
        if let Some(d) = s.stop_grace_period {
            y.set("stop_grace_period", dur(d));
        }
        if let Some(b) = s.shm_size {
            y.set("shm_size", bytes(b));
        }
        let deploy = self.deploy(s, deploy_labels);
        if !deploy.is_empty() {
            y.set("deploy", deploy);
        }
        for (k, p) in &s.passthrough_compose {
            if MODELLED_KEYS.contains(&k.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        Code::UnknownField,
                        format!("`{k}` is modelled by sparkc; it cannot be passed through"),
                        p.loc.file,
                        p.loc.span,
                    )
                    .label("use the typed field")
                    .help("passthrough is for compose keys sparkc does not model; typed fields are checked, passthrough is not")
                    .about(s.subject()),
                );
                continue;
            }
            y.set(k.clone(), raw(&p.value));
        }
        y
    }

    fn deploy(&mut self, s: &Service, labels: YamlMap) -> Yaml {
        let mut d = Yaml::map();
        if !labels.is_empty() {
            d.set("labels", Yaml::Map(labels));
        }
        if let Some(r) = s.replicas {
            if s.container_name.is_some() && r > 1 {
                self.unsupported(
                    s,
                    "replicas",
                    format!("`{}` has a fixed container_name and {r} replicas", s.name),
                    "containers need distinct names: remove `container_name`",
                );
            }
            d.set("replicas", Yaml::Int(r));
        }
        let mut res = Yaml::map();
        let mut limits = Yaml::map();
        if let Some(c) = s.cpus {
            limits.set("cpus", Yaml::Str(format!("{c}")));
        }
        if let Some(mm) = s.memory {
            limits.set("memory", bytes(mm));
        }
        let mut reservations = Yaml::map();
        if let Some(c) = s.reserve_cpus {
            reservations.set("cpus", Yaml::Str(format!("{c}")));
        }
        if let Some(mm) = s.reserve_memory {
            reservations.set("memory", bytes(mm));
        }
        if !limits.is_empty() {
            res.set("limits", limits);
        }
        if !reservations.is_empty() {
            res.set("reservations", reservations);
        }
        if !res.is_empty() {
            d.set("resources", res);
        }
        let swarm_only = [
            ("update", s.update.is_some()),
            ("rollback", s.rollback.is_some()),
            ("placement", !s.placement.is_empty()),
            ("restart_policy", s.restart_policy.is_some()),
        ];
        if !self.swarm() {
            for (field, set) in swarm_only {
                if set {
                    self.unsupported(
                        s,
                        field,
                        format!(
                            "`{field}` of `{}` only applies to swarm; host `{}` runs compose",
                            s.name, self.host.name
                        ),
                        "remove it, or set `runtime = swarm` on the host",
                    );
                }
            }
            return d;
        }
        if let Some(rp) = &s.restart_policy {
            let mut r = Yaml::map();
            if let Some(c) = &rp.condition {
                r.set("condition", Yaml::str(c.as_str()));
            }
            if let Some(x) = rp.delay {
                r.set("delay", dur(x));
            }
            if let Some(x) = rp.max_attempts {
                r.set("max_attempts", Yaml::Int(x));
            }
            if let Some(x) = rp.window {
                r.set("window", dur(x));
            }
            d.set("restart_policy", r);
        } else if let Some(r) = s.restart {
            let cond = match r {
                Restart::No => "none",
                Restart::OnFailure => "on-failure",
                Restart::Always | Restart::UnlessStopped => "any",
            };
            let mut ry = Yaml::map();
            ry.set("condition", Yaml::str(cond));
            d.set("restart_policy", ry);
        }
        for (key, pol) in [
            ("update_config", &s.update),
            ("rollback_config", &s.rollback),
        ] {
            if let Some(u) = pol {
                let mut uy = Yaml::map();
                if let Some(x) = u.parallelism {
                    uy.set("parallelism", Yaml::Int(x));
                }
                if let Some(x) = u.delay {
                    uy.set("delay", dur(x));
                }
                if let Some(x) = &u.failure_action {
                    uy.set("failure_action", Yaml::str(x.as_str()));
                }
                if let Some(x) = u.monitor {
                    uy.set("monitor", dur(x));
                }
                if let Some(x) = u.max_failure_ratio {
                    uy.set("max_failure_ratio", Yaml::Float(x));
                }
                if let Some(x) = &u.order {
                    uy.set("order", Yaml::str(x.as_str()));
                }
                d.set(key, uy);
            }
        }
        if !s.placement.is_empty() {
            let mut p = Yaml::map();
            p.set("constraints", strs(&s.placement));
            d.set("placement", p);
        }
        d
    }
}

/// The `SOURCE:TARGET[:ro]` form of a mount, where compose reads it back unchanged: a named
/// volume, or a bind whose source is unmistakably a path. Anything else keeps the long form.
fn short_mount(v: &Mount) -> Option<Yaml> {
    let source = match &v.source {
        MountSource::Volume(n) => n,
        MountSource::Bind(p)
            if p.starts_with('/') || p.starts_with("./") || p.starts_with("../") =>
        {
            p
        }
        _ => return None,
    };
    if source.contains(':') || v.target.contains(':') || !v.target.starts_with('/') {
        return None;
    }
    let ro = if v.read_only { ":ro" } else { "" };
    Some(Yaml::Str(format!("{source}:{}{ro}", v.target)))
}
