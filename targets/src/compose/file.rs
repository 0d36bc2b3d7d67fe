//! The compose target's output model: one `docker-compose.yml` as sparkc writes it, typed,
//! field by field in the order the file lists them. The emitter fills it from the model;
//! [`ComposeFile::write`] prints it straight into the file's text, in one pass, every
//! value's `$` doubled (Compose interpolates them) except in the references sparkc means
//! it to expand.

use crate::yaml::{Dollars, MapOut, Yaml};
use sparkc_core::model::Ulimit;

/// One compose project's file.
#[derive(Debug, Default)]
pub struct ComposeFile {
    /// The project name (`name:`).
    pub name: String,
    /// By service name, in model order.
    pub services: Vec<(String, ComposeService)>,
    /// Top-level sections, sorted by name.
    pub networks: Vec<(String, NetworkDef)>,
    pub volumes: Vec<(String, VolumeDef)>,
    pub secrets: Vec<(String, SecretDef)>,
    pub configs: Vec<(String, ConfigDef)>,
    /// Top-level extension fields (`x-...`), as written.
    pub extensions: Vec<(String, Yaml)>,
}

/// A top-level config: `file:`, `content:`, or `external:` with its Docker name.
#[derive(Debug)]
pub enum ConfigDef {
    File(String),
    Content(String),
    External(Option<String>),
}

#[derive(Debug)]
pub enum NetworkDef {
    /// Created elsewhere (outside the project, or by another stack): looked up by `name`, or
    /// by its key.
    External { name: Option<String> },
    /// Created by this project, under its own name.
    Owned {
        name: String,
        driver: Option<String>,
        driver_opts: Vec<(String, String)>,
        internal: bool,
    },
}

#[derive(Debug, Default)]
pub struct VolumeDef {
    pub driver: Option<String>,
    pub driver_opts: Vec<(String, String)>,
    pub external: bool,
    /// The Docker name, where it is not `<project>_<key>`.
    pub name: Option<String>,
}

#[derive(Debug)]
pub enum SecretDef {
    /// `environment: VAR`.
    Environment(String),
    /// `file: PATH`.
    File(String),
    /// `external: true`, and the Docker name where it is not the key.
    External(Option<String>),
}

/// A string value, or a reference for Compose to expand (`${VAR:?...}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Lit(String),
    Expand(String),
}

#[derive(Debug)]
pub enum CommandDef {
    /// A string: Compose splits it with shell quoting rules.
    Shell(Value),
    Exec(Vec<Value>),
}

#[derive(Debug)]
pub enum DependsOn {
    /// Plain start order, in the short list form.
    Started(Vec<String>),
    /// Each dependency with its condition (`service_healthy`, ...).
    Conditions(Vec<(String, &'static str)>),
}

#[derive(Debug)]
pub enum MountDef {
    /// `SOURCE:TARGET[:ro]`.
    Short(String),
    Long {
        kind: &'static str,
        source: Option<Value>,
        target: String,
        read_only: bool,
        /// Bind propagation (`rslave`).
        propagation: Option<&'static str>,
    },
}

#[derive(Debug, Default)]
pub struct BuildDef {
    pub context: String,
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    pub args: Vec<(String, String)>,
}

#[derive(Debug, Default)]
pub struct HealthcheckDef {
    pub disable: bool,
    pub test: Option<Vec<String>>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<i64>,
    pub start_period: Option<String>,
}

#[derive(Debug, Default)]
pub struct Resources {
    pub cpus: Option<String>,
    pub memory: Option<String>,
}

impl Resources {
    fn is_empty(&self) -> bool {
        self.cpus.is_none() && self.memory.is_none()
    }
}

#[derive(Debug, Default)]
pub struct RestartPolicyDef {
    pub condition: Option<String>,
    pub delay: Option<String>,
    pub max_attempts: Option<i64>,
    pub window: Option<String>,
}

impl RestartPolicyDef {
    fn is_empty(&self) -> bool {
        self.condition.is_none()
            && self.delay.is_none()
            && self.max_attempts.is_none()
            && self.window.is_none()
    }
}

#[derive(Debug, Default)]
pub struct UpdateDef {
    pub parallelism: Option<i64>,
    pub delay: Option<String>,
    pub failure_action: Option<String>,
    pub monitor: Option<String>,
    pub max_failure_ratio: Option<f64>,
    pub order: Option<String>,
}

impl UpdateDef {
    fn is_empty(&self) -> bool {
        self.parallelism.is_none()
            && self.delay.is_none()
            && self.failure_action.is_none()
            && self.monitor.is_none()
            && self.max_failure_ratio.is_none()
            && self.order.is_none()
    }
}

/// `deploy:`: resources everywhere, the rest on swarm only.
#[derive(Debug, Default)]
pub struct Deploy {
    /// Service labels (the swarm provider's routing labels).
    pub labels: Labels,
    pub replicas: Option<i64>,
    pub limits: Resources,
    pub reservations: Resources,
    pub restart_policy: Option<RestartPolicyDef>,
    pub update_config: Option<UpdateDef>,
    pub rollback_config: Option<UpdateDef>,
    pub placement: Vec<String>,
}

impl Deploy {
    fn is_empty(&self) -> bool {
        self.labels.is_empty()
            && self.replicas.is_none()
            && self.limits.is_empty()
            && self.reservations.is_empty()
            && self.restart_policy.is_none()
            && self.update_config.is_none()
            && self.rollback_config.is_none()
            && self.placement.is_empty()
    }
}

/// Labels in the order first set; setting one again replaces its value in place.
#[derive(Debug, Default)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn set(&mut self, k: impl Into<String>, v: impl Into<String>) {
        let (k, v) = (k.into(), v.into());
        match self.0.iter_mut().find(|(x, _)| *x == k) {
            Some(slot) => slot.1 = v,
            None => self.0.push((k, v)),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One service, its keys in the order the file lists them.
#[derive(Debug, Default)]
pub struct ComposeService {
    pub image: Option<Value>,
    pub build: Option<BuildDef>,
    pub container_name: Option<String>,
    pub hostname: Option<String>,
    pub entrypoint: Option<CommandDef>,
    pub command: Option<CommandDef>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub restart: Option<&'static str>,
    pub depends_on: Option<DependsOn>,
    pub environment: Vec<(String, Value)>,
    pub env_file: Vec<String>,
    pub ports: Vec<String>,
    pub expose: Vec<String>,
    pub volumes: Vec<MountDef>,
    pub networks: Vec<String>,
    pub network_mode: Option<String>,
    pub secrets: Vec<String>,
    /// `(config, target)`, in the long form (a target is always written).
    pub configs: Vec<(String, String)>,
    pub healthcheck: Option<HealthcheckDef>,
    pub labels: Labels,
    pub security_opt: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub devices: Vec<String>,
    pub tmpfs: Vec<String>,
    pub profiles: Vec<String>,
    pub privileged: bool,
    pub read_only: bool,
    pub init: bool,
    pub sysctls: Vec<(String, String)>,
    pub ulimits: Vec<(String, Ulimit)>,
    pub extra_hosts: Vec<(String, String)>,
    pub dns: Vec<String>,
    pub logging: Option<(String, Vec<(String, String)>)>,
    pub platform: Option<String>,
    pub pull_policy: Option<String>,
    pub stop_grace_period: Option<String>,
    pub shm_size: Option<String>,
    pub process: sparkc_core::model::ProcessSettings,
    pub deploy: Deploy,
    /// Keys sparkc does not model, passed through as written.
    pub passthrough: Vec<(String, Yaml)>,
}

impl ComposeFile {
    /// The file's YAML, after `header` (as `# ` comment lines).
    pub fn write(&self, header: &[String]) -> String {
        let mut out = String::with_capacity(512 + self.services.len() * 1024);
        for line in header {
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
        let mut doc = MapOut::document(&mut out, Dollars::Doubled);
        doc.str("name", &self.name);
        for (k, v) in &self.extensions {
            doc.yaml(k, v);
        }
        if self.services.is_empty() {
            doc.empty_map("services");
        } else {
            let mut services = doc.map("services");
            for (name, s) in &self.services {
                s.write(&mut services.map(name));
            }
        }
        if !self.networks.is_empty() {
            let mut section = doc.map("networks");
            for (name, n) in &self.networks {
                match n {
                    NetworkDef::External { name: docker } => {
                        let mut m = section.map(name);
                        m.bool("external", true);
                        opt(&mut m, "name", docker.as_ref());
                    }
                    NetworkDef::Owned {
                        name: own,
                        driver,
                        driver_opts,
                        internal,
                    } => {
                        let mut m = section.map(name);
                        m.str("name", own);
                        if let Some(d) = driver {
                            m.str("driver", d);
                        }
                        pairs(&mut m, "driver_opts", driver_opts);
                        if *internal {
                            m.bool("internal", true);
                        }
                    }
                }
            }
        }
        if !self.volumes.is_empty() {
            let mut section = doc.map("volumes");
            for (name, v) in &self.volumes {
                if v.driver.is_none() && !v.external && v.name.is_none() {
                    section.empty_map(name);
                    continue;
                }
                let mut m = section.map(name);
                opt(&mut m, "name", v.name.as_ref());
                if let Some(d) = &v.driver {
                    m.str("driver", d);
                }
                pairs(&mut m, "driver_opts", &v.driver_opts);
                if v.external {
                    m.bool("external", true);
                }
            }
        }
        if !self.configs.is_empty() {
            let mut section = doc.map("configs");
            for (name, c) in &self.configs {
                let mut m = section.map(name);
                match c {
                    ConfigDef::File(p) => m.str("file", p),
                    ConfigDef::Content(t) => m.str("content", t),
                    ConfigDef::External(docker) => {
                        m.bool("external", true);
                        opt(&mut m, "name", docker.as_ref());
                    }
                }
            }
        }
        if !self.secrets.is_empty() {
            let mut section = doc.map("secrets");
            for (name, sec) in &self.secrets {
                match sec {
                    SecretDef::Environment(var) => section.map(name).str("environment", var),
                    SecretDef::File(p) => section.map(name).str("file", p),
                    SecretDef::External(docker) => {
                        let mut m = section.map(name);
                        m.bool("external", true);
                        opt(&mut m, "name", docker.as_ref());
                    }
                }
            }
        }
        out
    }
}

fn pairs(m: &mut MapOut<'_>, k: &str, items: &[(String, String)]) {
    if !items.is_empty() {
        let mut inner = m.map(k);
        for (a, b) in items {
            inner.str(a, b);
        }
    }
}

fn list(m: &mut MapOut<'_>, k: &str, items: &[String]) {
    if !items.is_empty() {
        m.strs(k, items.iter().map(String::as_str));
    }
}

fn command(m: &mut MapOut<'_>, k: &str, c: Option<&CommandDef>) {
    match c {
        Some(CommandDef::Shell(s)) => value(m, k, s),
        Some(CommandDef::Exec(v)) if v.is_empty() => m.strs(k, []),
        Some(CommandDef::Exec(v)) => {
            let mut l = m.list(k);
            for w in v {
                match w {
                    Value::Lit(s) => l.str(s),
                    Value::Expand(s) => l.expand(s),
                }
            }
        }
        None => {}
    }
}

fn value(m: &mut MapOut<'_>, k: &str, v: &Value) {
    match v {
        Value::Lit(s) => m.str(k, s),
        Value::Expand(s) => m.expand(k, s),
    }
}

fn opt(m: &mut MapOut<'_>, k: &str, v: Option<&String>) {
    if let Some(v) = v {
        m.str(k, v);
    }
}

impl ComposeService {
    /// The process keys, each under its Compose name.
    fn write_process(&self, y: &mut MapOut<'_>) {
        let p = &self.process;
        if let Some(n) = p.pids_limit {
            y.int("pids_limit", i64::from(n));
        }
        if p.tty {
            y.bool("tty", true);
        }
        if p.stdin_open {
            y.bool("stdin_open", true);
        }
        opt(y, "stop_signal", p.stop_signal.as_ref());
        opt(y, "ipc", p.ipc.as_ref());
        opt(y, "pid", p.pid.as_ref());
        opt(y, "runtime", p.runtime.as_ref());
        list(y, "group_add", &p.group_add);
        if let Some(n) = p.mem_swappiness {
            y.int("mem_swappiness", i64::from(n));
        }
        if let Some(n) = p.oom_score_adj {
            y.int("oom_score_adj", i64::from(n));
        }
        opt(y, "cpuset", p.cpuset.as_ref());
        opt(y, "userns_mode", p.userns_mode.as_ref());
        opt(y, "cgroup_parent", p.cgroup_parent.as_ref());
        if !p.storage_opt.is_empty() {
            let mut m = y.map("storage_opt");
            for (k, v) in &p.storage_opt {
                m.str(k, v);
            }
        }
        match p.gpus {
            Some(None) => y.str("gpus", "all"),
            Some(Some(n)) => {
                let mut l = y.list("gpus");
                let mut d = l.map();
                d.int("count", i64::from(n));
            }
            None => {}
        }
    }

    fn write(&self, y: &mut MapOut<'_>) {
        if let Some(i) = &self.image {
            value(y, "image", i);
        }
        if let Some(b) = &self.build {
            let mut by = y.map("build");
            by.str("context", &b.context);
            opt(&mut by, "dockerfile", b.dockerfile.as_ref());
            opt(&mut by, "target", b.target.as_ref());
            pairs(&mut by, "args", &b.args);
        }
        opt(y, "container_name", self.container_name.as_ref());
        opt(y, "hostname", self.hostname.as_ref());
        command(y, "entrypoint", self.entrypoint.as_ref());
        command(y, "command", self.command.as_ref());
        opt(y, "user", self.user.as_ref());
        opt(y, "working_dir", self.working_dir.as_ref());
        if let Some(r) = self.restart {
            y.str("restart", r);
        }
        match &self.depends_on {
            Some(DependsOn::Started(names)) => list(y, "depends_on", names),
            Some(DependsOn::Conditions(deps)) => {
                let mut d = y.map("depends_on");
                for (name, cond) in deps {
                    d.map(name).str("condition", cond);
                }
            }
            None => {}
        }
        if !self.environment.is_empty() {
            let mut env = y.map("environment");
            for (k, v) in &self.environment {
                value(&mut env, k, v);
            }
        }
        list(y, "env_file", &self.env_file);
        list(y, "ports", &self.ports);
        list(y, "expose", &self.expose);
        if !self.volumes.is_empty() {
            let mut vols = y.list("volumes");
            for v in &self.volumes {
                match v {
                    MountDef::Short(s) => vols.str(s),
                    MountDef::Long {
                        kind,
                        source,
                        target,
                        read_only,
                        propagation,
                    } => {
                        let mut m = vols.map();
                        m.str("type", kind);
                        if let Some(src) = source {
                            value(&mut m, "source", src);
                        }
                        m.str("target", target);
                        if *read_only {
                            m.bool("read_only", true);
                        }
                        // As the short form does: a missing host directory is made, whether
                        // or not its path holds a variable.
                        if *kind == "bind" {
                            let mut bind = m.map("bind");
                            if let Some(p) = propagation {
                                bind.str("propagation", p);
                            }
                            bind.bool("create_host_path", true);
                        }
                    }
                }
            }
        }
        list(y, "networks", &self.networks);
        opt(y, "network_mode", self.network_mode.as_ref());
        list(y, "secrets", &self.secrets);
        if !self.configs.is_empty() {
            let mut l = y.list("configs");
            for (source, target) in &self.configs {
                let mut m = l.map();
                m.str("source", source);
                m.str("target", target);
            }
        }
        if let Some(h) = &self.healthcheck {
            let mut hy = y.map("healthcheck");
            if h.disable {
                hy.bool("disable", true);
            }
            if let Some(t) = &h.test {
                hy.strs("test", t.iter().map(String::as_str));
            }
            opt(&mut hy, "interval", h.interval.as_ref());
            opt(&mut hy, "timeout", h.timeout.as_ref());
            if let Some(r) = h.retries {
                hy.int("retries", r);
            }
            opt(&mut hy, "start_period", h.start_period.as_ref());
        }
        pairs(y, "labels", &self.labels.0);
        list(y, "security_opt", &self.security_opt);
        list(y, "cap_add", &self.cap_add);
        list(y, "cap_drop", &self.cap_drop);
        list(y, "devices", &self.devices);
        list(y, "tmpfs", &self.tmpfs);
        list(y, "profiles", &self.profiles);
        if self.privileged {
            y.bool("privileged", true);
        }
        if self.read_only {
            y.bool("read_only", true);
        }
        if self.init {
            y.bool("init", true);
        }
        pairs(y, "sysctls", &self.sysctls);
        if !self.ulimits.is_empty() {
            let mut u = y.map("ulimits");
            for (k, v) in &self.ulimits {
                match v {
                    Ulimit::Single(n) => u.int(k, *n),
                    Ulimit::SoftHard(a, b) => {
                        let mut m = u.map(k);
                        m.int("soft", *a);
                        m.int("hard", *b);
                    }
                }
            }
        }
        pairs(y, "extra_hosts", &self.extra_hosts);
        list(y, "dns", &self.dns);
        if let Some((driver, options)) = &self.logging {
            let mut l = y.map("logging");
            l.str("driver", driver);
            pairs(&mut l, "options", options);
        }
        opt(y, "platform", self.platform.as_ref());
        opt(y, "pull_policy", self.pull_policy.as_ref());
        opt(y, "stop_grace_period", self.stop_grace_period.as_ref());
        opt(y, "shm_size", self.shm_size.as_ref());
        self.write_process(y);
        if !self.deploy.is_empty() {
            self.deploy.write(&mut y.map("deploy"));
        }
        for (k, v) in &self.passthrough {
            y.yaml(k, v);
        }
    }
}

fn resources(m: &mut MapOut<'_>, k: &str, r: &Resources) {
    if !r.is_empty() {
        let mut inner = m.map(k);
        opt(&mut inner, "cpus", r.cpus.as_ref());
        opt(&mut inner, "memory", r.memory.as_ref());
    }
}

fn update(m: &mut MapOut<'_>, k: &str, u: Option<&UpdateDef>) {
    let Some(u) = u else { return };
    if u.is_empty() {
        m.empty_map(k);
        return;
    }
    let mut uy = m.map(k);
    if let Some(x) = u.parallelism {
        uy.int("parallelism", x);
    }
    opt(&mut uy, "delay", u.delay.as_ref());
    opt(&mut uy, "failure_action", u.failure_action.as_ref());
    opt(&mut uy, "monitor", u.monitor.as_ref());
    if let Some(x) = u.max_failure_ratio {
        uy.float("max_failure_ratio", x);
    }
    opt(&mut uy, "order", u.order.as_ref());
}

impl Deploy {
    fn write(&self, d: &mut MapOut<'_>) {
        pairs(d, "labels", &self.labels.0);
        if let Some(r) = self.replicas {
            d.int("replicas", r);
        }
        if !(self.limits.is_empty() && self.reservations.is_empty()) {
            let mut res = d.map("resources");
            resources(&mut res, "limits", &self.limits);
            resources(&mut res, "reservations", &self.reservations);
        }
        match &self.restart_policy {
            Some(rp) if rp.is_empty() => d.empty_map("restart_policy"),
            Some(rp) => {
                let mut r = d.map("restart_policy");
                opt(&mut r, "condition", rp.condition.as_ref());
                opt(&mut r, "delay", rp.delay.as_ref());
                if let Some(x) = rp.max_attempts {
                    r.int("max_attempts", x);
                }
                opt(&mut r, "window", rp.window.as_ref());
            }
            None => {}
        }
        update(d, "update_config", self.update_config.as_ref());
        update(d, "rollback_config", self.rollback_config.as_ref());
        if !self.placement.is_empty() {
            d.map("placement")
                .strs("constraints", self.placement.iter().map(String::as_str));
        }
    }
}
