//! Services: the field table, and the fields that need no file of their own. Ports,
//! mounts, health and deployment are lowered in this folder's other files.

mod deploy;
mod health;
mod mounts;
mod nested;
mod ports;
mod proxy;

pub(crate) use nested::NestedDecl;

use super::{Field, FieldTable, Lowerer, is_safe_name};
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::DeclKind;

/// Every field a service declaration may have, in the order the reference lists them.
pub(crate) static FIELDS: FieldTable<Service> = FieldTable::new(&[
    Field {
        name: "image",
        form: "image = \"nginx:1.27\"",
        doc: "The image it runs: `[registry/]name[:tag][@digest]`.",
        lower: |l, v, s| s.image = l.image(v),
    },
    Field {
        name: "build",
        form: "build = \"./dir\" | { context, dockerfile, target, args }",
        doc: "Build the image from source.",
        lower: |l, v, s| s.build = l.build(v).map(Box::new),
    },
    Field {
        name: "command",
        form: "command = \"sh -c ...\" | [\"exe\", \"arg\"]",
        doc: "Overrides the image's command: a string runs in a shell, a list is exec form.",
        lower: |l, v, s| s.command = l.command(v),
    },
    Field {
        name: "entrypoint",
        form: "entrypoint = \"...\" | [\"...\"]",
        doc: "Overrides the image's entrypoint (string: shell form, list: exec form).",
        lower: |l, v, s| s.entrypoint = l.command(v),
    },
    Field {
        name: "env",
        form: "env { NAME = value }",
        doc: "Environment variables: plain values, or secrets (passed at deploy time, never written).",
        lower: |l, v, s| (s.env, s.connects_to) = l.env(v),
    },
    Field {
        name: "env_file",
        form: "env_file = [\"./app.env\"]",
        doc: "Files of environment variables, read at deploy time.",
        lower: |l, v, s| s.env_file = l.strings(v),
    },
    Field {
        name: "port",
        form: "port { NAME = 8080, dns = 53/udp, ui = https(8443), rpc = grpc(50051), fpm = fastcgi(9000, root = \"/var/www/html\") }",
        doc: "Its container ports, by name: what `publish`, domains, monitors and health checks refer to; `https(...)` (`verify_tls = false` for a self-signed certificate), `h2c(...)`/`grpc(...)` and `fastcgi(...)` say what a proxy must speak to it; a range (`relay = 49160-49200/udp`) is only published or exposed.",
        lower: |l, v, s| s.ports = l.ports(v),
    },
    Field {
        name: "expose",
        form: "expose = none",
        doc: "`none`: its unpublished ports are not listed under compose's `expose` (which only documents them: containers on a shared network reach every port anyway).",
        lower: |l, v, s| s.no_expose = l.variant(v, "expose setting", &["none"]).is_some(),
    },
    Field {
        name: "publish",
        form: "publish = [8080 -> http, 127.0.0.1:9000 -> admin, http]",
        doc: "Ports published on the host (`[name]`: the same number on the host); `none` publishes none of a template's.",
        lower: |l, v, s| s.publish = l.publish(v, s),
    },
    Field {
        name: "volumes",
        form: "volumes = [data -> \"/var/lib/x\", \"./conf\" -> \"/etc/x\", ro(...)]",
        doc: "Mounts: a named volume (bare name), a path (`./` or `/`), `tmpfs`; `ro(...)` for read-only.",
        lower: |l, v, s| s.volumes = l.mounts(v, s.host, &s.name),
    },
    Field {
        name: "networks",
        form: "networks = [web, default]",
        doc: "The declared networks it is on (`default`: also its compose project's own).",
        lower: |l, v, s| l.networks(v, s),
    },
    Field {
        name: "network_mode",
        form: "network_mode = host | none | bridge | service(x)",
        doc: "A network namespace other than its networks.",
        lower: |l, v, s| s.network_mode = l.network_mode(v),
    },
    Field {
        name: "depends_on",
        form: "depends_on = [db, healthy(db), started(x), completed(x)]",
        doc: "Services that must be up first (plain `x`: healthy when `x` has a health check).",
        lower: |l, v, s| s.depends_on = l.depends(v),
    },
    Field {
        name: "healthcheck",
        form: "healthcheck { test = cmd(...) | shell(\"...\") | http(port = p, path = \"/\"), interval, timeout, retries, start_period } | none",
        doc: "Its health check; `none` turns off the image's own.",
        lower: |l, v, s| s.healthcheck = l.healthcheck(v, s),
    },
    Field {
        name: "health_client",
        form: "health_client = curl | wget",
        doc: "The HTTP client its image ships, which runs an `http(...)` health check.",
        lower: |l, v, s| s.health_client = l.health_client(v),
    },
    Field {
        name: "metrics",
        form: "metrics = http",
        doc: "The port Prometheus scrapes.",
        lower: |l, v, s| s.metrics_port = l.single_port(v, s, "metrics"),
    },
    Field {
        name: "metrics_path",
        form: "metrics_path = \"/metrics\"",
        doc: "The path Prometheus scrapes (default `/metrics`).",
        lower: |l, v, s| l.metrics_path(v, s),
    },
    Field {
        name: "metrics_interval",
        form: "metrics_interval = 1h",
        doc: "How often Prometheus scrapes it (default: the global `scrape_interval`): a speed test every hour, not every 30 s.",
        lower: |l, v, s| s.metrics_interval = l.duration(v),
    },
    Field {
        name: "metrics_timeout",
        form: "metrics_timeout = 5s",
        doc: "How long a scrape may take (default 10 s, or the interval when shorter); at most the interval.",
        lower: |l, v, s| s.metrics_timeout = l.duration(v),
    },
    Field {
        name: "metrics_scheme",
        form: "metrics_scheme = http | https",
        doc: "Whether Prometheus scrapes it over HTTPS (default `http`).",
        lower: |l, v, s| {
            s.metrics_https = l.variant(v, "scheme", &["http", "https"]) == Some("https");
        },
    },
    Field {
        name: "metrics_auth",
        form: "metrics_auth = bearer(SECRET) | basic(\"prometheus\", SECRET)",
        doc: "The credentials its metrics endpoint asks for: a bearer token, or a user and password; the secret is mounted into the project's Prometheus.",
        lower: |l, v, s| s.metrics_auth = l.metrics_auth(v),
    },
    Field {
        name: "panels",
        form: "panels = [panel(\"Queries\", \"rate(x_total{$service}[$__rate_interval])\", unit = \"ops\", legend = \"{{db}}\")]",
        doc: "Grafana panels of its metrics, on a dashboard of its own (the grafana target); `$service` in a query stands for the matchers of its series.",
        lower: |l, v, s| s.panels = l.panels(v),
    },
    Field {
        name: "domains",
        form: "domains = [{ name = \"status.example.org\", port = http, auth = basic_auth(users) }]",
        doc: "Routes to its own ports declared with it, so that a template brings its route: each takes a domain's fields, with the `name` it answers to and the `port` it goes to (default: its only port).",
        lower: |l, v, _| l.nest(DeclKind::Domain, v),
    },
    Field {
        name: "monitors",
        form: "monitors = [{ name = \"up\", path = \"/alive\", alert = down_for(5m) }]",
        doc: "Monitors of it declared with it: each takes a monitor's fields and is named `SERVICE-NAME` (default name `up`); it probes the service's first route unless `target` says otherwise (`target = http`: one of its ports).",
        lower: |l, v, _| l.nest(DeclKind::Monitor, v),
    },
    Field {
        name: "restart",
        form: "restart = no | always | on-failure | unless-stopped",
        doc: "When the container is restarted.",
        lower: |l, v, s| s.restart = l.restart(v),
    },
    Field {
        name: "labels",
        form: "labels { \"key\" = \"value\" }",
        doc: "Container labels.",
        lower: |l, v, s| s.labels = l.text_map(v),
    },
    Field {
        name: "container_name",
        form: "container_name = \"name\"",
        doc: "A fixed container name.",
        lower: |l, v, s| s.container_name = l.str(v),
    },
    Field {
        name: "hostname",
        form: "hostname = \"name\"",
        doc: "The container's hostname.",
        lower: |l, v, s| s.hostname = l.str(v),
    },
    Field {
        name: "user",
        form: "user = \"1000:1000\"",
        doc: "The user the process runs as.",
        lower: |l, v, s| s.user = l.text(v),
    },
    Field {
        name: "working_dir",
        form: "working_dir = \"/app\"",
        doc: "The working directory.",
        lower: |l, v, s| s.working_dir = l.str(v),
    },
    Field {
        name: "security_opt",
        form: "security_opt = [\"no-new-privileges:true\"]",
        doc: "Security options.",
        lower: |l, v, s| s.security_opt = l.strings(v),
    },
    Field {
        name: "cap_add",
        form: "cap_add = [\"NET_ADMIN\"]",
        doc: "Linux capabilities added.",
        lower: |l, v, s| s.cap_add = l.strings(v),
    },
    Field {
        name: "cap_drop",
        form: "cap_drop = [\"ALL\"]",
        doc: "Linux capabilities dropped.",
        lower: |l, v, s| s.cap_drop = l.strings(v),
    },
    Field {
        name: "devices",
        form: "devices = [\"/dev/dri:/dev/dri\"]",
        doc: "Host devices passed in.",
        lower: |l, v, s| s.devices = l.strings(v),
    },
    Field {
        name: "privileged",
        form: "privileged = true",
        doc: "Runs privileged (never set unless written).",
        lower: |l, v, s| s.privileged = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "admin_surface",
        form: "admin_surface = true",
        doc: "Serves an admin UI or API without a login of its own: a domain to it needs `auth`, and it may not `publish`.",
        lower: |l, v, s| s.admin_surface = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "external",
        form: "external = true",
        doc: "It runs on its host already, outside sparkc (an OS package, an appliance's exporter): no container is written for it; Prometheus, probes and proxies reach its ports at the host's address.",
        lower: |l, v, s| s.external = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "read_only",
        form: "read_only = true",
        doc: "The root file system is read-only.",
        lower: |l, v, s| s.read_only = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "init",
        form: "init = true",
        doc: "Runs an init process as PID 1.",
        lower: |l, v, s| s.init = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "sysctls",
        form: "sysctls { \"net.core.somaxconn\" = 1024 }",
        doc: "Kernel parameters in its namespace.",
        lower: |l, v, s| s.sysctls = l.text_map(v),
    },
    Field {
        name: "ulimits",
        form: "ulimits { nofile = { soft = 20000, hard = 40000 }, nproc = 512 }",
        doc: "Resource limits.",
        lower: |l, v, s| s.ulimits = l.ulimits(v),
    },
    Field {
        name: "tmpfs",
        form: "tmpfs = [\"/tmp\"]",
        doc: "Paths mounted as tmpfs.",
        lower: |l, v, s| s.tmpfs = l.strings(v),
    },
    Field {
        name: "extra_hosts",
        form: "extra_hosts { \"db.local\" = 10.0.0.5 }",
        doc: "Extra `/etc/hosts` entries.",
        lower: |l, v, s| s.extra_hosts = l.extra_hosts(v),
    },
    Field {
        name: "logging",
        form: "logging { driver = \"json-file\", options { max-size = \"10m\" } }",
        doc: "Its logging driver and options.",
        lower: |l, v, s| s.logging = l.logging(v).map(Box::new),
    },
    Field {
        name: "secrets",
        form: "secrets = [db_password]",
        doc: "Secrets mounted as files under `/run/secrets/` (a `${s.path}` in its text mounts one too).",
        lower: |l, v, s| l.secrets(v, s),
    },
    Field {
        name: "configs",
        form: "configs = [nginx_conf -> \"/etc/nginx/nginx.conf\"]",
        doc: "Configs handed to it as read-only files (a bare name is read at `/NAME`); on swarm, every node has them.",
        lower: |l, v, s| s.configs = l.config_mounts(v),
    },
    Field {
        name: "profiles",
        form: "profiles = [\"debug\"]",
        doc: "Compose profiles it belongs to.",
        lower: |l, v, s| s.profiles = l.strings(v),
    },
    Field {
        name: "dns",
        form: "dns = [9.9.9.9]",
        doc: "DNS servers.",
        lower: |l, v, s| s.dns = l.ips(v),
    },
    Field {
        name: "platform",
        form: "platform = \"linux/arm64\"",
        doc: "The image platform.",
        lower: |l, v, s| s.platform = l.str(v),
    },
    Field {
        name: "pull_policy",
        form: "pull_policy = always | never | missing | build",
        doc: "When the image is pulled.",
        lower: |l, v, s| {
            s.pull_policy = l
                .variant(v, "pull policy", &["always", "never", "missing", "build"])
                .map(str::to_string);
        },
    },
    Field {
        name: "stop_grace_period",
        form: "stop_grace_period = 30s",
        doc: "Time between SIGTERM and SIGKILL.",
        lower: |l, v, s| s.stop_grace_period = l.duration(v),
    },
    Field {
        name: "shm_size",
        form: "shm_size = 256MiB",
        doc: "Size of `/dev/shm`.",
        lower: |l, v, s| s.shm_size = l.size(v),
    },
    Field {
        name: "pids_limit",
        form: "pids_limit = 512",
        doc: "At most this many processes in the container.",
        lower: |l, v, s| {
            s.process.pids_limit = l.int(v, 1, i64::from(u32::MAX)).map(|n| n as u32);
        },
    },
    Field {
        name: "tty",
        form: "tty = true",
        doc: "Allocate a terminal.",
        lower: |l, v, s| s.process.tty = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "stdin_open",
        form: "stdin_open = true",
        doc: "Keep standard input open.",
        lower: |l, v, s| s.process.stdin_open = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "stop_signal",
        form: "stop_signal = \"SIGINT\"",
        doc: "The signal that stops it (default the image's, else SIGTERM).",
        lower: |l, v, s| s.process.stop_signal = l.signal(v),
    },
    Field {
        name: "ipc",
        form: "ipc = host | private | shareable | none",
        doc: "Its IPC namespace.",
        lower: |l, v, s| {
            s.process.ipc = l
                .variant(
                    v,
                    "mode of IPC namespace",
                    &["host", "private", "shareable", "none"],
                )
                .map(str::to_string);
        },
    },
    Field {
        name: "pid",
        form: "pid = host",
        doc: "Share the host's PID namespace (it sees every process of the host).",
        lower: |l, v, s| s.process.pid = l.variant(v, "PID mode", &["host"]).map(str::to_string),
    },
    Field {
        name: "runtime",
        form: "runtime = \"nvidia\"",
        doc: "The container runtime the engine starts it with (`nvidia`, `runsc`).",
        lower: |l, v, s| s.process.runtime = l.runtime_name(v),
    },
    Field {
        name: "group_add",
        form: "group_add = [\"video\", \"render\"]",
        doc: "Extra groups its user is in, by name or id.",
        lower: |l, v, s| s.process.group_add = l.group_names(v),
    },
    Field {
        name: "mem_swappiness",
        form: "mem_swappiness = 0",
        doc: "How readily the kernel swaps its memory, 0 (never) to 100.",
        lower: |l, v, s| s.process.mem_swappiness = l.int(v, 0, 100).map(|n| n as u8),
    },
    Field {
        name: "oom_score_adj",
        form: "oom_score_adj = -500",
        doc: "How likely the kernel's OOM killer picks it, -1000 (never) to 1000.",
        lower: |l, v, s| s.process.oom_score_adj = l.int(v, -1000, 1000).map(|n| n as i32),
    },
    Field {
        name: "cpuset",
        form: "cpuset = \"0-3,6\"",
        doc: "The CPUs it may run on.",
        lower: |l, v, s| s.process.cpuset = l.cpuset(v),
    },
    Field {
        name: "userns_mode",
        form: "userns_mode = host",
        doc: "Run in the host's user namespace (when the engine remaps users).",
        lower: |l, v, s| {
            s.process.userns_mode = l
                .variant(v, "user namespace mode", &["host"])
                .map(str::to_string);
        },
    },
    Field {
        name: "cgroup_parent",
        form: "cgroup_parent = \"/homelab\"",
        doc: "The cgroup it runs under.",
        lower: |l, v, s| s.process.cgroup_parent = l.str(v),
    },
    Field {
        name: "storage_opt",
        form: "storage_opt { size = \"20G\" }",
        doc: "Options of its writable layer's storage driver (a size limit needs overlay2 on xfs with pquota).",
        lower: |l, v, s| s.process.storage_opt = l.text_map(v),
    },
    Field {
        name: "gpus",
        form: "gpus = all | 1",
        doc: "GPUs passed through to it: every one, or that many.",
        lower: |l, v, s| {
            s.process.gpus = match &v.val {
                Val::Name(n) if n.as_str() == "all" => Some(None),
                _ => l.int(v, 1, 64).map(|n| Some(n as u32)),
            };
        },
    },
    Field {
        name: "cpus",
        form: "cpus = 1.5",
        doc: "CPU limit, in cores.",
        lower: |l, v, s| s.cpus = l.float(v, 0.01),
    },
    Field {
        name: "memory",
        form: "memory = 512MiB",
        doc: "Memory limit.",
        lower: |l, v, s| s.memory = l.size(v),
    },
    Field {
        name: "reserve",
        form: "reserve { cpus = 0.5, memory = 256MiB }",
        doc: "What it reserves; the host must have it (E0303).",
        lower: |l, v, s| l.reserve(v, s),
    },
    Field {
        name: "replicas",
        form: "replicas = 3",
        doc: "Number of containers (Swarm).",
        lower: |l, v, s| s.replicas = l.int(v, 0, 10_000),
    },
    Field {
        name: "update",
        form: "update { parallelism, delay, failure_action, monitor, max_failure_ratio, order }",
        doc: "Rolling-update policy (Swarm).",
        lower: |l, v, s| s.update = l.update_policy(v, "update").map(Box::new),
    },
    Field {
        name: "rollback",
        form: "rollback { parallelism, delay, failure_action, monitor, max_failure_ratio, order }",
        doc: "Rollback policy (Swarm).",
        lower: |l, v, s| s.rollback = l.update_policy(v, "rollback").map(Box::new),
    },
    Field {
        name: "restart_policy",
        form: "restart_policy { condition, delay, max_attempts, window }",
        doc: "Restart policy (Swarm).",
        lower: |l, v, s| s.restart_policy = l.restart_policy(v).map(Box::new),
    },
    Field {
        name: "placement",
        form: "placement = [\"node.role == manager\"]",
        doc: "Placement constraints (Swarm).",
        lower: |l, v, s| s.placement = l.strings(v),
    },
    Field {
        name: "stack",
        form: "stack = \"name\"",
        doc: "Its own compose project on the host (default: the host's).",
        lower: |l, v, s| s.stack = l.stack_name(v),
    },
    Field {
        name: "passthrough",
        form: "passthrough { compose = { stop_signal = \"SIGQUIT\" } }",
        doc: "Compose keys sparkc does not model yet, passed through unchecked.",
        lower: |l, v, s| s.passthrough_compose = l.passthrough(v),
    },
    Field {
        name: "proxy",
        form: "proxy { redirect = [web -> websecure], acme { email, storage, challenge }, ping = ping }",
        doc: "It is its host's reverse proxy, configured by sparkc: its ports are its entry points, the published ones the ones routes listen on.",
        lower: |l, v, s| s.proxy = l.proxy_settings(v, s).map(Box::new),
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn service(&mut self, sym: usize) -> Service {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        self.path_secrets.clear();
        let mut s = Service {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            host: self.placement_host(sym, true),
            template: decl
                .instance
                .as_ref()
                .map(|i| i.template.text.as_str().to_owned()),
            metrics_path: "/metrics".to_string(),
            field_locs: self.record_locs(&f, &FIELDS),
            ..Service::default()
        };
        if !is_safe_name(&s.name) {
            let loc = s.loc;
            self.ev.err(
                Diagnostic::error(Code::UnsafePath, format!("`{}` cannot be a service name", s.name), loc.file, loc.span)
                    .help("service names become compose service and DNS names: use lower-case letters, digits, `-` and `_`"),
            );
        }
        // Ports first: publish, metrics and health checks refer to them by name.
        self.lower_fields(&f, &FIELDS, &mut s, |k| k == "port");
        self.lower_fields(&f, &FIELDS, &mut s, |k| k != "port");
        self.dns_credentials(&mut s);
        if s.metrics_port.is_none() {
            for field in [
                "metrics_path",
                "metrics_interval",
                "metrics_timeout",
                "metrics_scheme",
                "metrics_auth",
            ] {
                if let Some(at) = s.field_locs.get(field).copied() {
                    self.ev.err(
                        Diagnostic::error(
                            Code::MissingField,
                            format!("`{field}` on a service Prometheus does not scrape"),
                            at.file,
                            at.span,
                        )
                        .label("no `metrics` port")
                        .help(
                            "name the port it serves metrics on: `metrics = http`; or remove this",
                        )
                        .about(s.subject()),
                    );
                }
            }
        }
        for id in std::mem::take(&mut self.path_secrets) {
            if !s.secrets.contains(&id) {
                s.secrets.push(id);
            }
        }
        // A secret's path written anywhere in the service's text (`"file://${pw.path}"`, a
        // template's command, a constant, or `/run/secrets/pw` by hand) is read there at
        // run time, so the secret is mounted: a path is never left pointing at nothing.
        for id in self.secrets_read_by_path(&s) {
            if !s.secrets.contains(&id) {
                s.secrets.push(id);
            }
        }
        // Services named in its text (`"--mysqld.address=${db}:3306"`) are connected to too;
        // each once, where first named.
        for (target, loc) in self.ev.take_mentions(sym) {
            if let Some(&id) = self.service_ids.get(&target) {
                s.connects_to.push(Connection { service: id, loc });
            }
        }
        let mut seen = rustc_hash::FxHashSet::default();
        s.connects_to.retain(|c| seen.insert(c.service));
        // Only when nothing was written that meant to be an image: a malformed image, a
        // misspelled `imgae` or a failed template already has its own diagnostic.
        let attempted = f.get("image").is_some()
            || f.get("build").is_some()
            || decl.instance.is_some()
            || f.rec
                .iter()
                .any(|(k, _, _)| did_you_mean(&k.text, ["image", "build"]).is_some());
        if s.image.is_none() && s.build.is_none() && !attempted && !s.external {
            let loc = s.loc;
            self.ev.err(
                Diagnostic::error(Code::MissingField, format!("service `{}` has neither `image` nor `build`", s.name), loc.file, loc.span)
                    .label("what does it run?")
                    .help("set `image = \"name:tag\"`, `build = \"./dir\"`, or instantiate a stdlib app: `= mysql(...)`"),
            );
        }
        s
    }

    /// `port { http = 8080, dns = 53/udp }`
    fn ports(&mut self, v: &V) -> Vec<PortDef> {
        let mut out = Vec::new();
        if let Some(rec) = self.record(v) {
            for (k, pv, kf) in rec {
                if Self::is_none(pv) {
                    continue;
                }
                let Some((pv, speaks)) = self.port_speaks(pv) else {
                    continue;
                };
                let range = match &pv.val {
                    Val::PortRange(a, b, proto) => {
                        let (Some(a), Some(b)) =
                            (self.port_number(&pv, *a), self.port_number(&pv, *b))
                        else {
                            continue;
                        };
                        if a > b {
                            self.malformed::<()>(
                                &pv,
                                format!("the port range {a}-{b} runs backwards"),
                                "write the lower port first",
                            );
                            continue;
                        }
                        if speaks != Speaks::Http {
                            self.malformed::<()>(
                                &pv,
                                "a port range is published as it is, not spoken to".into(),
                                "declare the range as plain numbers: `relay = 49160-49200/udp`",
                            );
                            continue;
                        }
                        Some((a, b, *proto))
                    }
                    _ => self.port(&pv).map(|(p, proto)| (p, p, proto)),
                };
                if let Some((port, last, proto)) = range {
                    out.push(PortDef {
                        name: k.text.as_str().to_owned(),
                        port,
                        last,
                        proto,
                        speaks,
                        loc: Loc {
                            file: *kf,
                            span: k.span,
                        },
                    });
                }
            }
        }
        out
    }

    /// A port's number, and what it speaks: `8080` (HTTP), `https(8443)`, `h2c(50051)`,
    /// `grpc(50051)`, `fastcgi(9000, root = "/var/www/html")`.
    fn port_speaks(&mut self, v: &V) -> Option<(V, Speaks)> {
        const FORM: &str = "a port (`8080`, `53/udp`) or what it speaks: `https(8443)` (`https(8443, verify_tls = false)` for a self-signed certificate), `h2c(50051)`, `grpc(50051)`, `fastcgi(9000, root = \"/var/www/html\")`";
        let Val::Call(n, args) = &v.val else {
            return Some((v.clone(), Speaks::Http));
        };
        let number = args
            .iter()
            .find(|(name, _)| name.is_none())
            .map(|(_, a)| a.clone());
        let named = |k: &str| {
            args.iter()
                .find(|(name, _)| name.as_ref().is_some_and(|n| n.text == k))
                .map(|(_, a)| a.clone())
        };
        let fastcgi = n.text == "fastcgi";
        let https = n.text == "https";
        // Named arguments: `root`, of a FastCGI port only; `verify_tls`, of an HTTPS one.
        let unknown = args
            .iter()
            .find(|(name, _)| {
                name.as_ref().is_some_and(|k| {
                    !(fastcgi && k.text == "root" || https && k.text == "verify_tls")
                })
            })
            .map(|(_, a)| a.clone());
        let speaks = match n.text.as_str() {
            "http" => Speaks::Http,
            "https" => Speaks::Https {
                verify_tls: match named("verify_tls") {
                    Some(b) => self.bool(&b)?,
                    None => true,
                },
            },
            "h2c" | "grpc" => Speaks::H2c,
            "fastcgi" => {
                let Some(root) = named("root") else {
                    self.ev.err(
                        Diagnostic::error(Code::MissingField, "a FastCGI port needs its document root", v.loc.file, v.loc.span)
                            .label("where are the PHP files?")
                            .help("write the path the FastCGI server finds them at: `fastcgi(9000, root = \"/var/www/html\")`"),
                    );
                    return None;
                };
                let root = self.str(&root)?;
                if !root.starts_with('/') || self.control_char_in_path(v, &root) {
                    return self.malformed(
                        v,
                        format!("`{root}` is not an absolute path"),
                        "the document root inside the FastCGI container, e.g. `/var/www/html`",
                    );
                }
                Speaks::Fastcgi { root }
            }
            _ => return self.mismatch(v, FORM),
        };
        if let Some(a) = unknown {
            return self.mismatch(&a, FORM);
        }
        let Some(number) = number else {
            return self.mismatch(v, FORM);
        };
        Some((number, speaks))
    }

    fn networks(&mut self, v: &V, s: &mut Service) {
        let Some(items) = self.list(v) else {
            return;
        };
        for i in items {
            // `default`: the compose project's own network, not a declaration.
            if matches!(&i.val, Val::Name(n) if n == "default") {
                s.default_network = true;
                continue;
            }
            if let Some(n) = self.decl_ref(i, DeclKind::Network)
                && let Some(id) = self.network_ids.get(&n)
            {
                s.networks.push(*id);
            }
        }
    }

    fn network_mode(&mut self, v: &V) -> Option<NetworkMode> {
        match &v.val {
            Val::Call(n, args) if n.text == "service" && args.len() == 1 => {
                let a = args[0].1.clone();
                self.decl_ref(&a, DeclKind::Service)
                    .and_then(|x| self.service_ids.get(&x))
                    .map(|id| NetworkMode::Service(*id))
            }
            _ => match self.variant(v, "network mode", &["host", "none", "bridge"]) {
                Some("host") => Some(NetworkMode::Host),
                Some("none") => Some(NetworkMode::None),
                Some(_) => Some(NetworkMode::Bridge),
                None => None,
            },
        }
    }

    fn metrics_path(&mut self, v: &V, s: &mut Service) {
        if let Some(p) = self.str(v) {
            if p.starts_with('/') {
                s.metrics_path = p;
            } else {
                self.malformed::<()>(
                    v,
                    format!("metrics path `{p}` does not start with `/`"),
                    "write an absolute URL path, e.g. \"/metrics\"",
                );
            }
        }
    }

    /// `bearer(SECRET)` or `basic("user", SECRET)`.
    fn metrics_auth(&mut self, v: &V) -> Option<MetricsAuth> {
        match &v.val {
            Val::Call(n, args) if n.text == "bearer" && args.len() == 1 => {
                self.secret_ref(&args[0].1).map(MetricsAuth::Bearer)
            }
            Val::Call(n, args) if n.text == "basic" && args.len() == 2 => {
                let user = self.str(&args[0].1);
                let password = self.secret_ref(&args[1].1);
                Some(MetricsAuth::Basic {
                    user: user?,
                    password: password?,
                })
            }
            _ => self.mismatch(v, "`bearer(SECRET)` or `basic(\"user\", SECRET)`"),
        }
    }

    /// `"SIGINT"` (or `"INT"`, or a number).
    fn signal(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        let name = s.strip_prefix("SIG").unwrap_or(&s);
        let ok = !name.is_empty()
            && (name.bytes().all(|b| b.is_ascii_digit())
                || name.bytes().all(|b| {
                    b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'+' || b == b'-'
                }));
        if ok {
            Some(s)
        } else {
            self.malformed(
                v,
                format!("`{s}` is not a signal"),
                "name it as the kernel does, `SIGINT`, `SIGQUIT`, `SIGRTMIN+3`, or by number",
            )
        }
    }

    /// A runtime's name ([`is_word`]).
    fn runtime_name(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        if is_word(&s) {
            Some(s)
        } else {
            self.malformed(
                v,
                format!("`{s}` is not a container runtime's name"),
                "the name the engine registers it under, e.g. `nvidia` or `runsc`",
            )
        }
    }

    /// Groups by name or id.
    fn group_names(&mut self, v: &V) -> Vec<String> {
        let mut out = Vec::new();
        for item in self.list(v).unwrap_or_default() {
            let name = match &item.val {
                Val::Int(n) if *n >= 0 => Some(n.to_string()),
                _ => self.str(item),
            };
            let Some(name) = name else { continue };
            if !is_word(&name) {
                self.malformed::<()>(
                    item,
                    format!("`{name}` is not a group name or id"),
                    "a group as /etc/group names it, or its number",
                );
                continue;
            }
            out.push(name);
        }
        out
    }

    /// `"0-3,6"`: CPU numbers and ranges.
    fn cpuset(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        let ok = !s.is_empty()
            && s.split(',').all(|part| {
                let mut ends = part.splitn(2, '-');
                let a = ends.next().unwrap_or("");
                let b = ends.next();
                let num = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
                num(a) && b.is_none_or(|b| num(b) && b.parse::<u32>().ok() >= a.parse::<u32>().ok())
            });
        if ok {
            Some(s)
        } else {
            self.malformed(
                v,
                format!("`{s}` is not a set of CPUs"),
                "CPU numbers and ranges, comma-separated: `0-3,6`",
            )
        }
    }

    /// `[panel("Title", "PromQL with {$service}", unit = "ops", legend = "{{label}}")]`.
    fn panels(&mut self, v: &V) -> Vec<Panel> {
        const FORM: &str = "`panel(\"Title\", \"rate(x_total{$service}[5m])\", unit = \"ops\", legend = \"{{label}}\")`";
        let mut out = Vec::new();
        for item in self.list(v).unwrap_or_default() {
            let Val::Call(n, args) = &item.val else {
                self.mismatch::<()>(item, FORM);
                continue;
            };
            if n.text != "panel" {
                self.mismatch::<()>(item, FORM);
                continue;
            }
            let (mut title, mut expr, mut unit, mut legend) = (None, None, None, None);
            let mut positional = 0;
            for (name, a) in args {
                match name.as_ref().map(|n| n.text.as_str()) {
                    None if positional == 0 => {
                        title = self.str(a);
                        positional += 1;
                    }
                    None if positional == 1 => {
                        expr = self.str(a).map(|e| (e, a.loc));
                        positional += 1;
                    }
                    Some("unit") => unit = self.str(a),
                    Some("legend") => legend = self.str(a),
                    _ => {
                        self.mismatch::<()>(a, FORM);
                    }
                }
            }
            let (Some(title), Some((expr, at))) = (title, expr) else {
                if positional < 2 {
                    self.ev.err(
                        Diagnostic::error(
                            Code::MissingField,
                            "a panel needs a title and a query",
                            item.loc.file,
                            item.loc.span,
                        )
                        .label("what does it chart?")
                        .help(format!("write {FORM}")),
                    );
                }
                continue;
            };
            if !expr.contains("$service") {
                self.ev.err(
                    Diagnostic::error(Code::MalformedLiteral, "a panel's query does not select its service's series", at.file, at.span)
                        .label("no `$service` in it")
                        .help("write `$service` among the matchers of each metric (`rate(x_total{$service}[5m])`): it becomes the job and instance of this service, so the panel charts this service and no other"),
                );
                continue;
            }
            let unit = unit.unwrap_or_else(|| "short".to_string());
            if unit.is_empty()
                || !unit
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | ':' | '.'))
            {
                self.ev.err(
                    Diagnostic::error(
                        Code::MalformedLiteral,
                        format!("`{unit}` is not a Grafana unit id"),
                        item.loc.file,
                        item.loc.span,
                    )
                    .help("a unit id such as `short`, `bytes`, `ops`, `reqps`, `percent`, `s`"),
                );
                continue;
            }
            out.push(Panel {
                title,
                expr,
                unit,
                legend: legend.unwrap_or_default(),
                loc: item.loc,
            });
        }
        out
    }

    fn health_client(&mut self, v: &V) -> Option<HealthClient> {
        match self.variant(v, "health check client", &["curl", "wget"]) {
            Some("curl") => Some(HealthClient::Curl),
            Some(_) => Some(HealthClient::Wget),
            None => None,
        }
    }

    fn restart(&mut self, v: &V) -> Option<Restart> {
        match self.variant(
            v,
            "restart policy",
            &["no", "always", "on-failure", "unless-stopped"],
        ) {
            Some("no") => Some(Restart::No),
            Some("always") => Some(Restart::Always),
            Some("on-failure") => Some(Restart::OnFailure),
            Some(_) => Some(Restart::UnlessStopped),
            None => None,
        }
    }

    fn extra_hosts(&mut self, v: &V) -> Map<String, std::net::IpAddr> {
        let mut out = Map::default();
        if let Some(rec) = self.record(v) {
            for (k, iv, _) in rec {
                if let Some(ip) = self.ip(iv) {
                    out.insert(k.text.as_str().to_owned(), ip);
                }
            }
        }
        out
    }

    fn secrets(&mut self, v: &V, s: &mut Service) {
        if let Some(items) = self.list(v) {
            for i in items {
                if let Some(id) = self.secret_ref(i)
                    && !s.secrets.contains(&id)
                {
                    s.secrets.push(id);
                }
            }
        }
    }

    fn ips(&mut self, v: &V) -> Vec<std::net::IpAddr> {
        match self.list(v) {
            Some(items) => items.iter().filter_map(|i| self.ip(i)).collect(),
            None => Vec::new(),
        }
    }

    fn reserve(&mut self, v: &V, s: &mut Service) {
        if let Some(rec) = self.record(v) {
            for (k, rv, kf) in rec {
                match k.text.as_str() {
                    "cpus" => s.reserve_cpus = self.float(rv, 0.0),
                    "memory" => s.reserve_memory = self.size(rv),
                    _ => self.unknown_sub(&k.text, k.span, *kf, "reserve", &["cpus", "memory"]),
                }
            }
        }
    }

    /// The declared secrets whose mounted path appears in the service's text.
    fn secrets_read_by_path(&self, s: &Service) -> Vec<SecretId> {
        let mut texts: Vec<&str> = Vec::new();
        fn lits(t: &Text) -> impl Iterator<Item = &str> {
            t.0.iter().filter_map(|p| match p {
                Piece::Lit(l) => Some(l.as_str()),
                _ => None,
            })
        }
        fn command(c: Option<&Command>) -> Vec<&str> {
            match c {
                Some(Command::Shell(t)) => lits(t).collect(),
                Some(Command::Exec(v)) => v.iter().flat_map(lits).collect(),
                None => Vec::new(),
            }
        }
        texts.extend(command(s.command.as_ref()));
        texts.extend(command(s.entrypoint.as_ref()));
        texts.extend(s.env.values().flat_map(|v| match v {
            EnvValue::Plain(t) => vec![t.as_str()],
            EnvValue::Text(t) => lits(t).collect(),
            EnvValue::Secret(_) => Vec::new(),
        }));
        if let Some(h) = &s.healthcheck {
            match &h.test {
                HealthTest::Exec(v) => texts.extend(v.iter().map(String::as_str)),
                HealthTest::Shell(t) => texts.push(t),
                HealthTest::Http { .. } | HealthTest::Disabled => {}
            }
        }
        let mut out = Vec::new();
        for t in texts.into_iter().filter(|t| t.contains(SECRETS_DIR)) {
            for name in secret_paths_in(t) {
                if let Some(id) = self
                    .model
                    .secrets
                    .iter_enumerated()
                    .find_map(|(id, x)| (x.name == name).then_some(id))
                    && !out.contains(&id)
                {
                    out.push(id);
                }
            }
        }
        out
    }

    /// The environment, and the services it names (`DB_HOST = db`: this one connects to `db`).
    fn env(&mut self, v: &V) -> (Map<String, EnvValue>, Vec<Connection>) {
        let mut out = Map::default();
        let mut named = Vec::new();
        let Some(rec) = self.record(v) else {
            return (out, named);
        };
        for (k, ev, _) in rec {
            if Self::is_none(ev) {
                continue;
            }
            let deferred = match &ev.val {
                Val::Subst(_) => true,
                Val::Ref(s, p) => p.is_empty() && self.is_variable(*s),
                _ => false,
            };
            if self.is_secret(ev) {
                if let Some(id) = self.secret_ref(ev) {
                    out.insert(k.text.as_str().to_owned(), EnvValue::Secret(id));
                }
            } else if deferred {
                if let Some(t) = self.deploy_text(ev, true, "an environment value") {
                    out.insert(k.text.as_str().to_owned(), EnvValue::Text(t));
                }
            } else if let Some(t) = self.text(ev) {
                if let Val::Ref(sym, path) = &ev.val
                    && path.is_empty()
                    && let Some(&id) = self.service_ids.get(sym)
                {
                    named.push(Connection {
                        service: id,
                        loc: ev.loc,
                    });
                }
                out.insert(k.text.as_str().to_owned(), EnvValue::Plain(t));
            }
        }
        (out, named)
    }

    fn build(&mut self, v: &V) -> Option<Build> {
        if let Val::Str(s) = &v.val {
            return Some(Build {
                context: s.clone(),
                ..Build::default()
            });
        }
        let rec = self.record(v)?;
        let mut b = Build::default();
        let mut has_context = false;
        for (k, fv, kf) in rec {
            match k.text.as_str() {
                "context" => {
                    b.context = self.str(fv).unwrap_or_default();
                    has_context = true;
                }
                "dockerfile" => b.dockerfile = self.str(fv),
                "target" => b.target = self.str(fv),
                "args" => b.args = self.text_map(fv),
                _ => self.unknown_sub(
                    &k.text,
                    k.span,
                    *kf,
                    "build",
                    &["context", "dockerfile", "target", "args"],
                ),
            }
        }
        if !has_context {
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    "`build` needs a `context`",
                    v.loc.file,
                    v.loc.span,
                )
                .help("write `build = { context = \"./dir\" }` or simply `build = \"./dir\"`"),
            );
        }
        Some(b)
    }
}

/// Letters, digits, `-`, `_` and `.`, at least one: a runtime's or a group's name.
fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
