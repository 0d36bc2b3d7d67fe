//! Docker Compose: one `docker-compose.yml` per host and stack, plus `.env.example`.
//!
//! Capabilities: everything in [`Service`] for `runtime = compose`; on `runtime = swarm`
//! also `deploy:` update/rollback/placement. What a runtime cannot express is an E0401
//! error, or a W0402 warning where a documented fallback exists.

mod deploy;
pub mod file;
mod service;
mod traefik;
mod traefik_file;
mod traefik_static;

use crate::placement::{project_dir, relative_inside};
use crate::yaml::Yaml;
use file::{ComposeFile, ConfigDef, NetworkDef, SecretDef, Value, VolumeDef};
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
            if let Some(h) = s.host
                && !s.external
            {
                by_host[h].entry(s.stack.as_deref()).or_default().push(sid);
            }
        }
        let mut routes: List<ServiceId, Vec<DomainId>> = List::filled(m.services.len(), Vec::new());
        for (did, d) in m.domains.iter_enumerated() {
            if let Some(sid) = d.service() {
                routes[sid].push(did);
            }
        }
        // A host's top-level passthrough: only extension fields, said once per host.
        for h in &m.hosts {
            for (k, p) in &h.passthrough_compose {
                if !k.starts_with("x-") {
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownField,
                            format!("`{k}` is not an extension field; a host passes through only `x-...` keys"),
                            p.loc.file,
                            p.loc.span,
                        )
                        .label("not an `x-` key")
                        .help("the top-level sections sparkc writes (`services`, `networks`, `volumes`, `secrets`, `configs`) come from declarations, and `include` would add services no check sees; extension fields are `x-...`"),
                    );
                }
            }
        }
        let proxies = m.configured_proxies();
        // Traefik's static files first: the config-hash label of the Traefik that reads one
        // covers it like any other generated file.
        let statics = traefik_static::static_files(m, ctx, &proxies, &mut diags);
        let generated: std::borrow::Cow<'_, [Artifact]> = if statics.is_empty() {
            std::borrow::Cow::Borrowed(ctx.generated)
        } else {
            std::borrow::Cow::Owned(ctx.generated.iter().chain(&statics).cloned().collect())
        };
        let mut traefik_services = m.proxy_containers();
        for hid in m.hosts.ids() {
            if m.hosts[hid].proxy != Proxy::Traefik {
                traefik_services[hid] = None;
            }
        }
        let hosts = HostFacts {
            routes,
            traefik: traefik::TraefikNames::from_options(ctx.options),
            traefik_services,
            generated: &generated,
        };
        // One compose project per (host, stack); each is emitted independently, on every
        // core, and the results are joined in this order.
        let mut units: Vec<(HostId, Option<&str>, &[ServiceId])> = Vec::new();
        for (hid, h) in m.hosts.iter_enumerated() {
            if ctx.only_hosts.is_some_and(|only| !only.contains(&hid)) {
                continue;
            }
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
        out.extend(statics);
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
    "configs",
    "profiles",
    "dns",
    "platform",
    "pull_policy",
    "stop_grace_period",
    "shm_size",
    "pids_limit",
    "tty",
    "stdin_open",
    "stop_signal",
    "ipc",
    "pid",
    "runtime",
    "group_add",
    "mem_swappiness",
    "oom_score_adj",
    "cpuset",
    "userns_mode",
    "cgroup_parent",
    "storage_opt",
    "gpus",
    "deploy",
    "mem_limit",
    "cpus",
];

/// Label that changes when a generated file the service mounts changes: Compose then
/// recreates exactly the consumers whose configuration changed.
pub const CONFIG_HASH_LABEL: &str = "sparkc.config-hash";

/// What every compose project needs to know beyond its own services, computed once.
struct HostFacts<'a> {
    /// The domains routed to each service.
    routes: List<ServiceId, Vec<DomainId>>,
    traefik: traefik::TraefikNames,
    /// Each host's Traefik service: the one configured by sparkc, else the one service
    /// that runs Traefik.
    traefik_services: List<HostId, Option<ServiceId>>,
    /// What the other targets and this one's static files generated.
    generated: &'a [Artifact],
}

/// The files of one compose project: `docker-compose.yml`, and `.env.example` when the
/// file reads environment variables.
fn project_files(
    m: &Model,
    ctx: &EmitContext<'_>,
    hid: HostId,
    stack: Option<&str>,
    services: &[ServiceId],
    facts: &HostFacts<'_>,
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
        generated: facts.generated,
        text: ctx.text,
    };
    let file = e.file(project, services);
    let env_vars = std::mem::take(&mut e.env_vars);
    out.push(Artifact {
        path: format!("{dir}/docker-compose.yml"),
        // `sparkc check` wants the paths and the diagnostics, not the text.
        contents: if ctx.text {
            file.write(&crate::header(ctx.source, "compose"))
        } else {
            String::new()
        },
    });
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
        for (var, read) in &env_vars {
            if let Some(id) = read.variable {
                let x = &m.variables[id];
                let about = x
                    .doc
                    .lines()
                    .next()
                    .map_or(String::new(), |l| format!(": {l}"));
                match &x.default {
                    // Commented out: the default applies until the copy sets another value.
                    Some(d) => {
                        let _ =
                            write!(env, "\n# var {} (default {d}){about}\n#{var}={d}\n", x.name);
                    }
                    None => {
                        let _ = write!(env, "\n# var {} (required){about}\n{var}=\n", x.name);
                    }
                }
            } else {
                let _ = write!(env, "\n# secret {}\n{var}=\n", read.secrets.join(", "));
            }
        }
        out.push(Artifact {
            path: format!("{dir}/.env.example"),
            contents: env,
        });
    }
    (out, diags)
}

/// What reads one environment variable of a compose file: secrets, or a variable.
#[derive(Default)]
struct EnvRead {
    secrets: Vec<String>,
    variable: Option<VariableId>,
}

struct Emitter<'a> {
    m: &'a Model,
    host: &'a Host,
    hid: HostId,
    stack: Option<&'a str>,
    diags: &'a mut Vec<Diagnostic>,
    /// Environment variables the file reads (for `.env.example`), with what reads them.
    env_vars: BTreeMap<String, EnvRead>,
    /// The domains routed to each service.
    routes: &'a List<ServiceId, Vec<DomainId>>,
    traefik: &'a traefik::TraefikNames,
    /// The Traefik service declared on this host, if exactly one.
    traefik_service: Option<ServiceId>,
    /// What the other targets generated, for the config-hash label.
    generated: &'a [Artifact],
    /// Whether the file's text is wanted: a check needs the diagnostics only, and skips
    /// what only the text would show (the routing labels).
    text: bool,
}

/// A bind mount's source as written (`${media_root}/movies`), for messages.
fn bind_source(m: &Model, v: &Mount) -> String {
    match &v.source {
        MountSource::Bind(p) => p.as_written(m),
        MountSource::Volume(n) => n.clone(),
        MountSource::Tmpfs => "tmpfs".into(),
    }
}

fn dur(ms: u64) -> String {
    sparkc_core::model::units::format_duration(ms)
}

/// Compose byte sizes are strings with binary units (`512m`, `4g`).
fn bytes(b: u64) -> String {
    for (unit, n) in [("g", 1u64 << 30), ("m", 1 << 20), ("k", 1 << 10)] {
        if b >= n && b.is_multiple_of(n) {
            return format!("{}{unit}", b / n);
        }
    }
    format!("{b}b")
}

/// A passed-through value as written.
fn raw(r: &Raw) -> Yaml {
    match r {
        Raw::Str(s) => Yaml::Str(s.clone()),
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
            let Some(rel) = p.as_lit().and_then(relative_inside) else {
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
        // A path the deploy tool completes is judged by what it starts with.
        let p = p.literal_prefix();
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
                format!("`{}` bind-mounts `{}` on swarm host `{}`", s.name, bind_source(self.m, v), self.host.name),
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

    fn secret_var(&mut self, id: SecretId) -> Option<String> {
        let sec = &self.m.secrets[id];
        match &sec.source {
            SecretSource::Env(var) => {
                let e = self.env_vars.entry(var.clone()).or_default();
                if !e.secrets.contains(&sec.name) {
                    e.secrets.push(sec.name.clone());
                }
                Some(var.clone())
            }
            SecretSource::File(_) | SecretSource::External(_) => None,
        }
    }

    /// Text compose completes: its literal `$` doubled, each variable `${VAR:-default}` (or
    /// `${VAR:?...}` when it has no default), each secret `${VAR:?...}`.
    fn text(&mut self, t: &Text) -> Value {
        if let Some(s) = t.as_lit() {
            return Value::Lit(s.to_string());
        }
        let mut out = String::new();
        for p in &t.0 {
            match p {
                Piece::Lit(s) => out.push_str(&s.replace('$', "$$")),
                Piece::Variable(id) => {
                    let x = &self.m.variables[*id];
                    self.env_vars.entry(x.env.clone()).or_default().variable = Some(*id);
                    match &x.default {
                        Some(d) => {
                            let _ = write!(out, "${{{}:-{}}}", x.env, d.replace('$', "$$"));
                        }
                        None => {
                            let _ = write!(out, "${{{}:?variable {} is not set}}", x.env, x.name);
                        }
                    }
                }
                Piece::Secret(id) => {
                    // Lowering lets only secrets read from the environment into text.
                    if let Some(var) = self.secret_var(*id) {
                        let _ = write!(
                            out,
                            "${{{var}:?secret {} is not set}}",
                            self.m.secrets[*id].name
                        );
                    }
                }
            }
        }
        Value::Expand(out)
    }

    fn file(&mut self, project: &str, services: &[ServiceId]) -> ComposeFile {
        let mut file = ComposeFile {
            name: project.to_string(),
            services: Vec::with_capacity(services.len()),
            ..ComposeFile::default()
        };
        let mut volumes: BTreeMap<String, VolumeDef> = BTreeMap::new();
        let mut networks: BTreeMap<String, NetworkDef> = BTreeMap::new();
        let mut secrets: BTreeMap<String, SecretDef> = BTreeMap::new();
        let mut configs: BTreeMap<String, ConfigDef> = BTreeMap::new();
        for &sid in services {
            let s = &self.m.services[sid];
            let y = self.service(s, sid);
            file.services.push((s.name.clone(), y));
            for mnt in &s.volumes {
                if let MountSource::Volume(v) = &mnt.source {
                    let decl = self
                        .m
                        .volumes
                        .iter()
                        .find(|x| &x.name == v && x.host == self.hid);
                    volumes.insert(
                        v.clone(),
                        VolumeDef {
                            driver: decl.and_then(|d| d.driver.clone()),
                            driver_opts: decl
                                .map(|d| service::pairs(&d.driver_opts))
                                .unwrap_or_default(),
                            external: decl.is_some_and(|d| d.external),
                            name: decl.and_then(|d| d.docker_name.clone()),
                        },
                    );
                }
            }
            for n in &s.networks {
                let net = &self.m.networks[*n];
                let owned_here = net.stack.as_deref() == self.stack;
                let def = if net.external || !owned_here {
                    // An external network is looked up by its key, without a project prefix,
                    // or by the Docker name it was given.
                    NetworkDef::External {
                        name: net.docker_name.clone(),
                    }
                } else {
                    // The owner names it, so other stacks find it without the project prefix.
                    NetworkDef::Owned {
                        name: net.docker_name.clone().unwrap_or_else(|| net.name.clone()),
                        driver_opts: service::pairs(&net.driver_opts),
                        driver: net
                            .driver
                            .clone()
                            .or_else(|| self.swarm().then(|| "overlay".to_string())),
                        internal: net.internal,
                    }
                };
                networks.insert(net.name.clone(), def);
            }
            for id in &s.secrets {
                let sec = &self.m.secrets[*id];
                let def = match &sec.source {
                    SecretSource::Env(_) => {
                        if self.swarm() {
                            self.unsupported(
                                s,
                                "secrets",
                                format!("swarm cannot create secret `{}` from an environment variable", sec.name),
                                "on swarm, give the secret a file source (`secret x from file \"./x\"`) or create it with `docker secret create` and declare it `external = true`",
                            );
                        }
                        SecretDef::Environment(self.secret_var(*id).unwrap_or_default())
                    }
                    SecretSource::File(p) => SecretDef::File(p.clone()),
                    SecretSource::External(name) => {
                        if !self.swarm() {
                            self.unsupported(
                                s,
                                "secrets",
                                format!("docker compose cannot give `{}` the external secret `{}`: only swarm stores secrets", s.name, sec.name),
                                "on a compose host, read the secret from a file or the environment (`secret x from file \"./x\"`); `external = true` is for secrets made with `docker secret create` on swarm",
                            );
                        }
                        SecretDef::External((name != &sec.name).then(|| name.clone()))
                    }
                };
                secrets.insert(sec.name.clone(), def);
            }
            for mount in &s.configs {
                let c = &self.m.configs[mount.config];
                let def = match &c.source {
                    ConfigSource::File(p) => ConfigDef::File(p.clone()),
                    ConfigSource::Content(t) => ConfigDef::Content(t.clone()),
                    ConfigSource::External(name) => {
                        if !self.swarm() {
                            let (file, span) = (mount.loc.file, mount.loc.span);
                            self.diags.push(
                                Diagnostic::error(
                                    Code::Unsupported,
                                    format!("docker compose cannot give `{}` the external config `{}`: only swarm stores configs", s.name, c.name),
                                    file,
                                    span,
                                )
                                .label("the compose target cannot express this")
                                .help("on a compose host, give the config a `file` or its `content`; `external = true` is for configs made with `docker config create` on swarm")
                                .about(s.subject()),
                            );
                        }
                        ConfigDef::External((name != &c.name).then(|| name.clone()))
                    }
                };
                configs.insert(c.name.clone(), def);
            }
        }
        file.configs = configs.into_iter().collect();
        // (A key that is not `x-` is reported once per host, in `emit`.)
        for (k, p) in &self.host.passthrough_compose {
            if k.starts_with("x-") {
                file.extensions.push((k.clone(), raw(&p.value)));
            }
        }
        file.networks = networks.into_iter().collect();
        file.volumes = volumes.into_iter().collect();
        file.secrets = secrets.into_iter().collect();
        file
    }
}
