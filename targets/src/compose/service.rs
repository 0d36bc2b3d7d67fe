//! One service's keys: image and build, command, start order, environment, ports, mounts,
//! networks, health check, labels and the rest, in the order the file lists them.

use super::file::{
    BuildDef, CommandDef, ComposeService, DependsOn, HealthcheckDef, Labels, MountDef, Value,
};
use super::{CONFIG_HASH_LABEL, Emitter, MODELLED_KEYS, bytes, dur, raw};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;
use std::fmt::Write as _;

pub(super) fn pairs(m: &Map<String, String>) -> Vec<(String, String)> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

impl Emitter<'_> {
    fn command(&mut self, c: &Command) -> CommandDef {
        match c {
            Command::Shell(s) => CommandDef::Shell(self.text(s)),
            Command::Exec(v) => CommandDef::Exec(v.iter().map(|w| self.text(w)).collect()),
        }
    }

    pub(super) fn service(&mut self, s: &Service, sid: ServiceId) -> ComposeService {
        self.swarm_traefik(s);
        let mut y = ComposeService {
            image: s.image.as_ref().map(|i| self.text(i)),
            ..ComposeService::default()
        };
        if let Some(b) = &s.build {
            if self.swarm() {
                self.fallback(s, "build", format!("swarm ignores `build` of `{}`", s.name), "swarm deploys only images: build and push the image first, and set `image` too");
            }
            y.build = Some(BuildDef {
                context: b.context.clone(),
                dockerfile: b.dockerfile.clone(),
                target: b.target.clone(),
                args: b.args.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            });
        }
        if s.container_name.is_some() && self.swarm() {
            self.unsupported(
                s,
                "container_name",
                "swarm services cannot have a fixed `container_name`".into(),
                "remove it; swarm names tasks itself",
            );
        }
        y.container_name.clone_from(&s.container_name);
        y.hostname.clone_from(&s.hostname);
        y.entrypoint = s.entrypoint.as_ref().map(|c| self.command(c));
        y.command = s.command.as_ref().map(|c| self.command(c));
        y.user.clone_from(&s.user);
        y.working_dir.clone_from(&s.working_dir);
        y.restart = s.restart.map(|r| match r {
            Restart::No => "no",
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::UnlessStopped => "unless-stopped",
        });
        y.depends_on = self.depends_on(s);
        y.environment = self.environment(s);
        y.env_file.clone_from(&s.env_file);
        for v in &s.volumes {
            self.node_local_mount(s, v);
        }
        y.healthcheck = s.healthcheck.as_ref().map(|h| self.healthcheck(s, h));
        // From here to the labels, only text: a check (no text wanted) skips it.
        let deploy_labels = if self.text {
            self.service_text(s, sid, &mut y)
        } else {
            // The routing labels' diagnostics.
            let _ = self.traefik_labels(s, sid);
            Labels::default()
        };
        y.security_opt.clone_from(&s.security_opt);
        y.cap_add.clone_from(&s.cap_add);
        y.cap_drop.clone_from(&s.cap_drop);
        y.devices.clone_from(&s.devices);
        y.tmpfs.clone_from(&s.tmpfs);
        y.profiles.clone_from(&s.profiles);
        if s.privileged && self.swarm() {
            self.unsupported(
                s,
                "privileged",
                format!("swarm services cannot run privileged (`{}`)", s.name),
                "grant the capabilities it needs with `cap_add` instead",
            );
        }
        y.privileged = s.privileged;
        y.read_only = s.read_only;
        y.init = s.init;
        y.sysctls = pairs(&s.sysctls);
        y.ulimits = s
            .ulimits
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        y.extra_hosts = s
            .extra_hosts
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        y.dns = s.dns.iter().map(ToString::to_string).collect();
        y.logging = s
            .logging
            .as_ref()
            .map(|l| (l.driver.clone(), pairs(&l.options)));
        y.platform.clone_from(&s.platform);
        y.pull_policy.clone_from(&s.pull_policy);
        y.stop_grace_period = s.stop_grace_period.map(dur);
        y.shm_size = s.shm_size.map(bytes);
        if self.swarm() {
            // `docker stack deploy` ignores these: refused rather than dropped.
            let p = &s.process;
            for (field, set) in [
                ("ipc", p.ipc.is_some()),
                ("pid", p.pid.is_some()),
                ("runtime", p.runtime.is_some()),
                ("gpus", p.gpus.is_some()),
                ("userns_mode", p.userns_mode.is_some()),
                ("cgroup_parent", p.cgroup_parent.is_some()),
                ("storage_opt", !p.storage_opt.is_empty()),
            ] {
                if set {
                    self.unsupported(
                        s,
                        field,
                        format!("swarm services have no `{field}` (`{}`)", s.name),
                        "run it on a `runtime = compose` host, or remove it",
                    );
                }
            }
        }
        y.process = s.process.clone();
        y.deploy = self.deploy(s, deploy_labels);
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
            y.passthrough.push((k.clone(), raw(&p.value)));
        }
        y
    }

    /// The parts of a compose service that are only text (ports, mounts, networks, secrets,
    /// labels): what a check skips.
    /// Returns the labels that go under `deploy.labels` (swarm's routing labels).
    fn service_text(&mut self, s: &Service, sid: ServiceId, y: &mut ComposeService) -> Labels {
        y.ports = s.publish.iter().map(published).collect();
        // Declared ports that are not published are exposed to the project's networks only.
        // A container in another's network namespace exposes nothing of its own (Docker
        // refuses `expose` there: "conflicting options: port exposing and the container type
        // network mode"), nor does one in the host's.
        let own_namespace = !matches!(
            s.network_mode,
            Some(NetworkMode::Service(_) | NetworkMode::Host)
        );
        y.expose = s
            .ports
            .iter()
            .filter(|_| !s.no_expose && own_namespace)
            .filter(|p| {
                !s.publish.iter().any(|x| {
                    x.container.0 <= p.port && p.last <= x.container.1 && x.proto == p.proto
                })
            })
            .map(|p| {
                let mut text = p.port.to_string();
                if p.last != p.port {
                    let _ = write!(text, "-{}", p.last);
                }
                if p.proto == Proto::Udp {
                    text.push_str("/udp");
                }
                text
            })
            .collect();
        for v in &s.volumes {
            let m = self.mount(v);
            y.volumes.push(m);
        }
        y.networks = s
            .networks
            .iter()
            .map(|n| self.m.networks[*n].name.clone())
            .collect();
        if !y.networks.is_empty() && s.default_network {
            // The project's own network; compose defines it without a top-level entry.
            y.networks.push("default".to_string());
        }
        y.network_mode = s.network_mode.map(|nm| match nm {
            NetworkMode::Host => "host".to_string(),
            NetworkMode::None => "none".to_string(),
            NetworkMode::Bridge => "bridge".to_string(),
            NetworkMode::Service(id) => format!("service:{}", self.m.services[id].name),
        });
        y.secrets = s
            .secrets
            .iter()
            .map(|id| self.m.secrets[*id].name.clone())
            .collect();
        y.configs = s
            .configs
            .iter()
            .map(|c| (self.m.configs[c.config].name.clone(), c.target.clone()))
            .collect();
        // Traefik's docker provider reads container labels; its swarm provider reads the
        // service's, under `deploy.labels`.
        let routing = self.traefik_labels(s, sid);
        let (mut labels, deploy_labels) = if self.swarm() {
            (Labels::default(), routing)
        } else {
            (routing, Labels::default())
        };
        for (k, v) in &s.labels {
            labels.set(k.as_str(), v.as_str());
        }
        if let Some(hash) = self.config_hash(s) {
            labels.set(CONFIG_HASH_LABEL, hash);
        }
        y.labels = labels;
        deploy_labels
    }

    fn depends_on(&mut self, s: &Service) -> Option<DependsOn> {
        if s.depends_on.is_empty() {
            return None;
        }
        if self.swarm() {
            self.fallback(s, "depends_on", format!("swarm ignores the start order of `{}`", s.name), "swarm starts services in any order and restarts them until they are healthy; the dependency is still written for `docker compose`");
        }
        let mut deps: Vec<(String, &'static str)> = Vec::new();
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
            match deps.iter_mut().find(|(n, _)| *n == dep.name) {
                Some(slot) => slot.1 = cond,
                None => deps.push((dep.name.clone(), cond)),
            }
        }
        // Plain start order reads best in the short list form compose documents first.
        let all_started = s
            .depends_on
            .iter()
            .all(|d| d.condition == DependCondition::Started);
        Some(if all_started {
            DependsOn::Started(deps.into_iter().map(|(n, _)| n).collect())
        } else {
            DependsOn::Conditions(deps)
        })
    }

    fn environment(&mut self, s: &Service) -> Vec<(String, Value)> {
        let mut env = Vec::with_capacity(s.env.len());
        for (k, v) in &s.env {
            let val = match v {
                EnvValue::Plain(p) => Value::Lit(p.clone()),
                EnvValue::Text(t) => self.text(t),
                EnvValue::Secret(id) => {
                    if let Some(var) = self.secret_var(*id) {
                        Value::Expand(format!(
                            "${{{var}:?secret {} is not set}}",
                            self.m.secrets[*id].name
                        ))
                    } else {
                        let sec = &self.m.secrets[*id];
                        let from = if matches!(sec.source, SecretSource::External(_)) {
                            "is external"
                        } else {
                            "comes from a file"
                        };
                        self.unsupported(s, "env", format!("secret `{}` {from}; compose cannot put a file's content into `{k}`", sec.name), &format!("mount it (`secrets = [{0}]`) and point the program at `{0}.path`, e.g. `{k}_FILE = {0}.path`", sec.name));
                        continue;
                    }
                }
            };
            env.push((k.clone(), val));
        }
        env
    }

    fn healthcheck(&mut self, s: &Service, h: &Healthcheck) -> HealthcheckDef {
        let mut hy = HealthcheckDef::default();
        hy.test = match &h.test {
            HealthTest::Disabled => {
                hy.disable = true;
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
        hy.interval = h.interval.map(dur);
        hy.timeout = h.timeout.map(dur);
        hy.retries = h.retries;
        hy.start_period = h.start_period.map(dur);
        hy
    }
}

/// `[ADDRESS:]HOST:CONTAINER[/udp]`, ranges as `A-B`.
fn published(p: &Publish) -> String {
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
    text
}

impl Emitter<'_> {
    /// The `SOURCE:TARGET[:ro]` form of a mount where compose reads it back unchanged: a
    /// named volume, or a bind whose source is unmistakably a path. Anything else (a path the
    /// deploy tool completes, whose value may hold a `:`) keeps the long form.
    fn mount(&mut self, v: &Mount) -> MountDef {
        let short = match &v.source {
            MountSource::Volume(n) => Some(n.as_str()),
            MountSource::Bind(p) => p
                .as_lit()
                .filter(|p| p.starts_with('/') || p.starts_with("./") || p.starts_with("../")),
            MountSource::Tmpfs => None,
        };
        if let Some(source) = short
            && !source.contains(':')
            && !v.target.contains(':')
            && v.target.starts_with('/')
        {
            let options = [
                v.read_only.then_some("ro"),
                v.propagation.map(Propagation::as_str),
            ];
            let mut text = format!("{source}:{}", v.target);
            for (i, o) in options.into_iter().flatten().enumerate() {
                text.push(if i == 0 { ':' } else { ',' });
                text.push_str(o);
            }
            return MountDef::Short(text);
        }
        let (kind, source) = match &v.source {
            MountSource::Volume(n) => ("volume", Some(Value::Lit(n.clone()))),
            MountSource::Bind(p) => ("bind", Some(self.text(p))),
            MountSource::Tmpfs => ("tmpfs", None),
        };
        MountDef::Long {
            kind,
            source,
            target: v.target.clone(),
            read_only: v.read_only,
            propagation: v.propagation.map(Propagation::as_str),
        }
    }
}
