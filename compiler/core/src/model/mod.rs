//! The typed infrastructure model: the one IR every target reads. Everything here is
//! resolved, checked and sorted by name, so targets never see syntax and never re-check.

pub mod ids;
pub mod reach;
pub mod traefik;
pub mod units;

pub use ids::{DomainId, HostId, Id, List, NetworkId, SecretId, ServiceId};

use crate::source::Loc;
pub use crate::syntax::ast::Proto;
use indexmap::IndexMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Default)]
pub struct Model {
    pub hosts: List<HostId, Host>,
    pub services: List<ServiceId, Service>,
    pub secrets: List<SecretId, Secret>,
    pub networks: List<NetworkId, Network>,
    pub volumes: Vec<Volume>,
    pub domains: List<DomainId, Domain>,
    pub monitors: Vec<Monitor>,
}

impl Model {
    /// Each host's services, in model order, in one pass over the services.
    pub fn services_by_host(&self) -> List<HostId, Vec<&Service>> {
        let mut by_host = List::filled(self.hosts.len(), Vec::new());
        for s in &self.services {
            if let Some(list) = s.host.and_then(|h| by_host.get_mut(h)) {
                list.push(s);
            }
        }
        by_host
    }

    /// The host service `sid` runs on (`None` only in a model with errors).
    pub fn host_of(&self, sid: ServiceId) -> Option<&Host> {
        self.services[sid].host.and_then(|h| self.hosts.get(h))
    }

    /// For each host, the one service on it that runs `app` (e.g. `traefik`): made from the
    /// template of that name, or from an image whose repository is named so. `None` where
    /// there is none, or more than one. One pass over the services.
    pub fn app_per_host(&self, app: &str) -> List<HostId, Option<ServiceId>> {
        let mut found: List<HostId, (usize, Option<ServiceId>)> =
            List::filled(self.hosts.len(), (0, None));
        for (sid, s) in self.services.iter_enumerated() {
            if let Some(slot) = s.host.and_then(|h| found.get_mut(h))
                && s.runs(app)
            {
                *slot = (slot.0 + 1, Some(sid));
            }
        }
        let mut one = List::filled(self.hosts.len(), None);
        for (hid, &(n, sid)) in found.iter_enumerated() {
            if n == 1 {
                one[hid] = sid;
            }
        }
        one
    }

    /// The one service anywhere that runs `app`; `None` when there is none, or several.
    pub fn app_anywhere(&self, app: &str) -> Option<ServiceId> {
        let mut found = self
            .services
            .ids()
            .filter(|&sid| self.services[sid].runs(app));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// Whether the container of `from` can connect to `to` by its service name: both on one
    /// host and attached to a common container network (the project's default network, or
    /// a declared one), following `network_mode = service(x)` to the namespace it shares.
    pub fn reach(&self, from: ServiceId, to: ServiceId) -> Reach {
        if from == to {
            return Reach::Yes;
        }
        if self.services[from].host != self.services[to].host {
            return Reach::No;
        }
        match (self.attachment(from), self.attachment(to)) {
            (Attachment::Unknown, _) | (_, Attachment::Unknown) => Reach::Unknown,
            (Attachment::Isolated, _) | (_, Attachment::Isolated) => Reach::No,
            (
                Attachment::Networks {
                    declared: a,
                    project_default: da,
                },
                Attachment::Networks {
                    declared: b,
                    project_default: db,
                },
            ) => {
                let shared_default = da.is_some() && da == db;
                if shared_default || a.iter().any(|n| b.contains(n)) {
                    Reach::Yes
                } else {
                    Reach::No
                }
            }
        }
    }

    /// The container networks a service is attached to.
    pub fn attachment(&self, sid: ServiceId) -> Attachment<'_> {
        let Some(owner) = self.namespace_owner(sid) else {
            return Attachment::Unknown;
        };
        let s = &self.services[owner];
        match s.network_mode {
            Some(NetworkMode::None) => Attachment::Isolated,
            Some(NetworkMode::Host | NetworkMode::Bridge | NetworkMode::Service(_)) => {
                Attachment::Unknown
            }
            None => Attachment::Networks {
                declared: &s.networks,
                project_default: (s.networks.is_empty() || s.default_network)
                    .then_some(s.stack.as_deref()),
            },
        }
    }

    /// The name other containers reach `sid` by: its own, or, for `network_mode = service(x)`,
    /// the name of the service that owns the namespace it shares.
    pub fn dns_name(&self, sid: ServiceId) -> &str {
        &self.services[self.namespace_owner(sid).unwrap_or(sid)].name
    }

    /// The service whose network namespace `sid` uses: itself, or where a chain of
    /// `network_mode = service(x)` ends. `None` for a cycle (reported by the dependency rules).
    pub fn namespace_owner(&self, sid: ServiceId) -> Option<ServiceId> {
        let mut at = sid;
        for _ in 0..=self.services.len() {
            match self.services[at].network_mode {
                Some(NetworkMode::Service(t)) => at = t,
                _ => return Some(at),
            }
        }
        None
    }
}

/// Whether one container can connect to another by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Yes,
    No,
    /// Host or bridge networking: reachability depends on ports outside the model.
    Unknown,
}

/// What a service's container is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment<'m> {
    Networks {
        /// The declared networks it lists.
        declared: &'m [NetworkId],
        /// `Some(stack)`: also the default network of its compose project (the host's own
        /// project for `None`, a stack's otherwise).
        project_default: Option<Option<&'m str>>,
    },
    /// `network_mode = none`.
    Isolated,
    /// `network_mode = host` or `bridge`.
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Runtime {
    /// Docker Compose on one machine.
    Compose,
    /// Docker Swarm: compose files with `deploy:`.
    Swarm,
    /// A Kubernetes node (later targets).
    Kubernetes,
    /// Runs no containers itself (a hypervisor, a VM that only hosts a cluster role).
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proxy {
    Caddy,
    Traefik,
    None,
}

#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    pub loc: Loc,
    pub doc: String,
    pub address: Option<IpAddr>,
    pub runtime: Runtime,
    pub proxy: Proxy,
    pub cpus: Option<f64>,
    pub memory: Option<u64>,
    pub disk: Option<u64>,
    pub os: Option<String>,
    /// The hypervisor this host is a VM on (`host vm on hypervisor`).
    pub parent: Option<HostId>,
    pub hypervisor: bool,
    pub field_locs: IndexMap<&'static str, Loc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `"sh -c ..."`: run by a shell.
    Shell(String),
    /// `["mysqld", "--x"]`: exec form.
    Exec(Vec<String>),
}

/// The words of a command as the program receives them: Compose splits a string command
/// with shell quoting rules; a word that is itself a shell line (`sh -c "traefik --x"`) is
/// split too, so flags inside it are seen.
pub fn command_words(c: &Option<Command>) -> Vec<String> {
    let mut out = Vec::new();
    match c {
        Some(Command::Exec(v)) => {
            for w in v {
                if w.contains(char::is_whitespace) {
                    out.extend(shell_words(w));
                } else {
                    out.push(w.clone());
                }
            }
        }
        Some(Command::Shell(t)) => out.extend(shell_words(t)),
        None => {}
    }
    out
}

/// Split a line into words as a POSIX shell does for quoting: `'...'`, `"..."`, `\x`.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                for q in chars.by_ref() {
                    if q == '\'' {
                        break;
                    }
                    cur.push(q);
                }
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => {
                            if let Some(n) = chars.next() {
                                cur.push(n);
                            }
                        }
                        _ => cur.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            _ => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    out
}

#[derive(Debug, Clone, PartialEq)]
pub enum EnvValue {
    Plain(String),
    Secret(SecretId),
}

#[derive(Debug, Clone)]
pub struct PortDef {
    pub name: String,
    pub port: u16,
    pub proto: Proto,
    pub loc: Loc,
}

/// A reference to one of a service's declared ports, resolved by the checker: readers never
/// look a port up again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRef {
    pub name: String,
    pub number: u16,
    pub proto: Proto,
}

#[derive(Debug, Clone)]
pub struct Publish {
    pub address: Option<IpAddr>,
    /// First and last host port (equal for a single port).
    pub host: (u16, u16),
    /// First and last container port.
    pub container: (u16, u16),
    pub proto: Proto,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MountSource {
    /// A named volume of the service's compose project.
    Volume(String),
    /// A host path (relative paths are relative to the generated compose file).
    Bind(String),
    Tmpfs,
}

#[derive(Debug, Clone)]
pub struct Mount {
    pub source: MountSource,
    pub target: String,
    pub read_only: bool,
    pub loc: Loc,
}

/// A container's network namespace other than its networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkMode {
    Host,
    None,
    Bridge,
    /// Shares the namespace of another service.
    Service(ServiceId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependCondition {
    Started,
    Healthy,
    Completed,
}

#[derive(Debug, Clone)]
pub struct Dependency {
    pub service: ServiceId,
    pub condition: DependCondition,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HealthTest {
    Exec(Vec<String>),
    Shell(String),
    /// An HTTP GET against one of the service's own ports.
    Http {
        port: u16,
        path: String,
    },
    Disabled,
}

#[derive(Debug, Clone)]
pub struct Healthcheck {
    pub test: HealthTest,
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub retries: Option<i64>,
    pub start_period: Option<u64>,
    pub loc: Loc,
}

impl Healthcheck {
    /// `healthcheck = none`: turn off the image's own health check.
    pub fn disabled(loc: Loc) -> Self {
        Healthcheck {
            test: HealthTest::Disabled,
            interval: None,
            timeout: None,
            retries: None,
            start_period: None,
            loc,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

#[derive(Debug, Clone, Default)]
pub struct Build {
    pub context: String,
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    pub args: IndexMap<String, String>,
}

/// Swarm rolling-update / rollback policy.
#[derive(Debug, Clone, Default)]
pub struct UpdatePolicy {
    pub parallelism: Option<i64>,
    pub delay: Option<u64>,
    pub failure_action: Option<String>,
    pub monitor: Option<u64>,
    pub max_failure_ratio: Option<f64>,
    pub order: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RestartPolicy {
    pub condition: Option<String>,
    pub delay: Option<u64>,
    pub max_attempts: Option<i64>,
    pub window: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct Logging {
    pub driver: String,
    pub options: IndexMap<String, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Ulimit {
    Single(i64),
    SoftHard(i64, i64),
}

/// A value passed through verbatim to one target (`passthrough { compose = {...} }`).
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Raw>),
    Map(IndexMap<String, Raw>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthClient {
    Curl,
    Wget,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub loc: Loc,
    pub doc: String,
    /// Where it runs; `None` only when its placement did not resolve (reported).
    pub host: Option<HostId>,
    /// Compose project the service belongs to; `None`: the host's default project.
    pub stack: Option<String>,
    /// The template this service was instantiated from, if any.
    pub template: Option<String>,
    pub image: Option<String>,
    pub build: Option<Build>,
    pub command: Option<Command>,
    pub entrypoint: Option<Command>,
    pub env: IndexMap<String, EnvValue>,
    pub env_file: Vec<String>,
    pub ports: Vec<PortDef>,
    pub publish: Vec<Publish>,
    pub volumes: Vec<Mount>,
    pub networks: Vec<NetworkId>,
    /// `default` listed in `networks`: also on its compose project's default network (a
    /// service without `networks` is on it anyway).
    pub default_network: bool,
    pub network_mode: Option<NetworkMode>,
    /// Services this one connects to by name: an environment value that is a service
    /// reference (`DB_HOST = db`), where it was written.
    pub connects_to: Vec<(ServiceId, Loc)>,
    pub depends_on: Vec<Dependency>,
    pub healthcheck: Option<Healthcheck>,
    /// Which HTTP client the image ships, for HTTP health checks.
    pub health_client: Option<HealthClient>,
    /// The container port Prometheus scrapes, and the path (default `/metrics`).
    pub metrics_port: Option<u16>,
    pub metrics_path: String,
    pub restart: Option<Restart>,
    pub labels: IndexMap<String, String>,
    pub container_name: Option<String>,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    pub security_opt: Vec<String>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub devices: Vec<String>,
    pub privileged: bool,
    /// Serves an admin UI or API without a login of its own (Prometheus, cAdvisor): it may
    /// be reached only through a domain with `auth`, never published.
    pub admin_surface: bool,
    pub read_only: bool,
    pub init: bool,
    pub sysctls: IndexMap<String, String>,
    pub ulimits: IndexMap<String, Ulimit>,
    pub tmpfs: Vec<String>,
    pub extra_hosts: IndexMap<String, IpAddr>,
    pub logging: Option<Logging>,
    pub secrets: Vec<SecretId>,
    pub profiles: Vec<String>,
    pub dns: Vec<IpAddr>,
    pub platform: Option<String>,
    pub pull_policy: Option<String>,
    pub stop_grace_period: Option<u64>,
    pub shm_size: Option<u64>,
    pub cpus: Option<f64>,
    pub memory: Option<u64>,
    pub reserve_cpus: Option<f64>,
    pub reserve_memory: Option<u64>,
    pub replicas: Option<i64>,
    pub update: Option<UpdatePolicy>,
    pub rollback: Option<UpdatePolicy>,
    pub restart_policy: Option<RestartPolicy>,
    pub placement: Vec<String>,
    pub passthrough_compose: IndexMap<String, Raw>,
    pub field_locs: IndexMap<&'static str, Loc>,
}

impl Service {
    /// The user's declaration of this service, for diagnostics about fields its template set.
    pub fn subject(&self) -> crate::diag::Subject {
        crate::diag::Subject {
            file: self.loc.file,
            span: self.loc.span,
            template: self.template.clone(),
        }
    }
    pub fn port(&self, name: &str) -> Option<&PortDef> {
        self.ports.iter().find(|p| p.name == name)
    }
    /// Where a field was written (falls back to the declaration).
    pub fn loc_of(&self, field: &str) -> Loc {
        self.field_locs.get(field).copied().unwrap_or(self.loc)
    }
    /// Whether this service runs `app`: made from the template of that name, or from an
    /// image whose repository is named so (`traefik:v3.1`, `docker.io/library/traefik`).
    /// Templates are named with `_`, images usually with `-`: both spellings match.
    pub fn runs(&self, app: &str) -> bool {
        let same = |name: &str| {
            name.len() == app.len()
                && name
                    .bytes()
                    .zip(app.bytes())
                    .all(|(a, b)| a == b || (a == b'-' && b == b'_') || (a == b'_' && b == b'-'))
        };
        self.template.as_deref().is_some_and(same)
            || self
                .image
                .as_deref()
                .is_some_and(|i| same(image_repository_name(i)))
    }
}

/// The last path segment of an image reference, without tag or digest.
fn image_repository_name(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// Where a container finds its mounted secrets (Compose and Swarm): `/run/secrets/NAME`.
pub const SECRETS_DIR: &str = "/run/secrets/";

/// The secrets `text` reads by path (`/run/secrets/NAME`), as the names after the directory.
pub fn secret_paths_in(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices(SECRETS_DIR).map(move |(i, _)| {
        let rest = &text[i + SECRETS_DIR.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        &rest[..end]
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum SecretSource {
    /// Read from an environment variable at deploy time.
    Env(String),
    /// Read from a file on the deploy machine.
    File(String),
}

#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub loc: Loc,
    pub doc: String,
    pub source: SecretSource,
}

#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    pub loc: Loc,
    /// `None`: an external network declared without `on`, expected on every host that uses it.
    pub host: Option<HostId>,
    /// The stack that creates it; other stacks on the host join it as external.
    pub stack: Option<String>,
    pub internal: bool,
    pub driver: Option<String>,
    pub external: bool,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub name: String,
    pub loc: Loc,
    pub host: HostId,
    pub driver: Option<String>,
    pub external: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tls {
    /// Public certificate (ACME / Let's Encrypt).
    Auto,
    /// Certificate from an internal CA.
    Internal,
    Off,
}

#[derive(Debug, Clone)]
pub struct Domain {
    pub name: String,
    pub loc: Loc,
    pub service: ServiceId,
    pub port: PortRef,
    pub tls: Tls,
    /// Basic-auth users file secret, if the route needs auth.
    pub basic_auth: Option<SecretId>,
    /// The path the route is limited to (`/api`); `None` for the whole site (`path = "/"` too).
    pub path_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Http,
    Https,
    Tcp,
    Icmp,
}

#[derive(Debug, Clone)]
pub enum MonitorTarget {
    Domain(DomainId),
    Service(ServiceId, PortRef),
    Host(HostId),
}

#[derive(Debug, Clone)]
pub struct Monitor {
    pub name: String,
    pub loc: Loc,
    pub target: MonitorTarget,
    pub probe: Probe,
    pub interval: Option<u64>,
    pub down_for: Option<u64>,
}

/// The order every name list in the model and its artifacts follows: digit runs compare by
/// value (`svc-2` before `svc-12`), everything else byte-wise; ties fall back to byte order,
/// so the order is total and independent of declaration order.
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        if x[i].is_ascii_digit() && y[j].is_ascii_digit() {
            let (si, sj) = (i, j);
            while i < x.len() && x[i].is_ascii_digit() {
                i += 1;
            }
            while j < y.len() && y[j].is_ascii_digit() {
                j += 1;
            }
            // Compare the runs as numbers of any length: strip leading zeros, then by
            // length, then digit by digit.
            fn trim(s: &[u8]) -> &[u8] {
                &s[s.iter().take_while(|c| **c == b'0').count()..]
            }
            let (p, q) = (trim(&x[si..i]), trim(&y[sj..j]));
            let ord = p.len().cmp(&q.len()).then_with(|| p.cmp(q));
            if ord != Ordering::Equal {
                return ord;
            }
        } else {
            if x[i] != y[j] {
                return x[i].cmp(&y[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (x.len() - i).cmp(&(y.len() - j)).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("svc-2", "svc-12"), Less);
        assert_eq!(natural_cmp("svc-12", "svc-2"), Greater);
        assert_eq!(natural_cmp("host-0", "host-0"), Equal);
        assert_eq!(natural_cmp("a", "a-1"), Less);
        assert_eq!(natural_cmp("db", "cache"), Greater);
        assert_eq!(natural_cmp("x01", "x1"), Less);
        assert_eq!(
            natural_cmp("x99999999999999999999999", "x100000000000000000000000"),
            Less
        );
        let mut v = vec!["web-10", "web-9", "api", "web-1", "web-01"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["api", "web-01", "web-1", "web-9", "web-10"]);
    }
}
