#![deny(missing_docs)]
//! The typed infrastructure model: the one IR every target reads. Everything here is
//! resolved, checked and sorted by name, so targets never see syntax and never re-check.

pub mod ids;
pub mod reach;
pub mod traefik;
pub mod units;

pub use ids::{ConfigId, DomainId, HostId, Id, List, NetworkId, SecretId, ServiceId, VariableId};

use crate::source::Loc;
pub use crate::syntax::ast::Proto;
/// An ordered map of the model (insertion order is the order written). `FxHash`: the keys
/// are short and chosen by the project's own author, not by an attacker.
pub type Map<K, V> = indexmap::IndexMap<K, V, rustc_hash::FxBuildHasher>;
use std::net::IpAddr;

/// The version of the model's serialised form (`sparkc model`). Raised on every change a
/// reader could notice: a field removed, renamed or changed in meaning or unit. Adding a
/// field does not raise it; readers ignore fields they do not know.
pub const MODEL_VERSION: u32 = 3;

/// The whole checked project. Every list is sorted by name (`natural_cmp`); ids are indices
/// into these lists.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Model {
    /// Every host, sorted by name.
    pub hosts: List<HostId, Host>,
    /// Every service, templates instantiated, sorted by name.
    pub services: List<ServiceId, Service>,
    /// Every secret (names and sources only: values never enter the model).
    pub secrets: List<SecretId, Secret>,
    /// Every variable the deploy tool reads from its environment.
    pub variables: List<VariableId, Variable>,
    /// Every config file handed to containers.
    pub configs: List<ConfigId, Config>,
    /// Every declared network.
    pub networks: List<NetworkId, Network>,
    /// Every declared named volume.
    pub volumes: Vec<Volume>,
    /// Every domain, each routed to one port of one service.
    pub domains: List<DomainId, Domain>,
    /// Every monitor (a probe with an alert).
    pub monitors: Vec<Monitor>,
    /// Every alert rule written in PromQL, sorted by name.
    pub alerts: Vec<AlertRule>,
    /// Every receiver of alerts, sorted by name.
    pub receivers: Vec<Receiver>,
    /// Every Kubernetes cluster, sorted by name.
    pub clusters: Vec<Cluster>,
}

/// A Kubernetes (k3s) cluster of hosts (`cluster NAME { servers = [...], agents = [...] }`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Cluster {
    /// The declared name.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// Its doc comment.
    pub doc: String,
    /// Its control-plane hosts; the first initialises it, the others join it.
    pub servers: Vec<HostId>,
    /// Its worker hosts, which join it.
    pub agents: Vec<HostId>,
    /// The k3s release its members install (`v1.31.4+k3s1`).
    pub version: String,
    /// The secret every member joins with, read from the environment when the members are
    /// provisioned; never written.
    pub token: Option<SecretId>,
    /// Where its API is reached (default: the first server's address).
    pub api: Option<IpAddr>,
    /// The address pools its load balancer hands to services, by name.
    pub pools: Vec<AddressPool>,
    /// Where each field was written, by field name.
    pub field_locs: FieldLocs,
}

impl Cluster {
    /// Its servers, then its agents.
    pub fn members(&self) -> impl Iterator<Item = HostId> + '_ {
        self.servers.iter().chain(&self.agents).copied()
    }

    /// The address its members join at: `api`, else the first server's.
    pub fn api_address(&self, m: &Model) -> Option<IpAddr> {
        self.api
            .or_else(|| self.servers.first().and_then(|&s| m.hosts[s].address))
    }
}

/// A range of addresses a cluster's load balancer hands out (`public = range(192.168.1.200,
/// 192.168.1.210)`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddressPool {
    /// Its name (an ingress class's pool).
    pub name: String,
    /// Its first address.
    pub first: IpAddr,
    /// Its last address.
    pub last: IpAddr,
    /// Where it is written.
    pub loc: Loc,
}

impl AddressPool {
    /// Whether `ip` is in it.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.first, self.last, ip) {
            (IpAddr::V4(a), IpAddr::V4(b), IpAddr::V4(x)) => a <= x && x <= b,
            (IpAddr::V6(a), IpAddr::V6(b), IpAddr::V6(x)) => a <= x && x <= b,
            _ => false,
        }
    }

    /// Whether it and `other` share an address.
    pub fn overlaps(&self, other: &AddressPool) -> bool {
        self.contains(other.first)
            || self.contains(other.last)
            || other.contains(self.first)
            || other.contains(self.last)
    }
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

    /// Each host's reverse proxy configured by sparkc: its first service with `proxy { ... }`
    /// settings (lowering reports a second one).
    pub fn configured_proxies(&self) -> List<HostId, Option<ServiceId>> {
        let mut found = List::filled(self.hosts.len(), None);
        for (sid, s) in self.services.iter_enumerated() {
            if s.proxy.is_some()
                && let Some(slot) = s.host.and_then(|h| found.get_mut(h))
                && slot.is_none()
            {
                *slot = Some(sid);
            }
        }
        found
    }

    /// Each host's proxy container: the one that serves its domains, as its `proxy` says. On
    /// a Traefik host, the service sparkc configures (`proxy { ... }`), else its one Traefik
    /// service; on a Caddy host, its one Caddy service; `None` where the host names no proxy
    /// sparkc can see (`external`, `none`) or runs none, or several, of its kind. Every
    /// question about "the host's proxy" (who gets the users file, who must reach the
    /// routed services, who reads the generated files) asks this one.
    pub fn proxy_containers(&self) -> List<HostId, Option<ServiceId>> {
        let configured = self.configured_proxies();
        let traefik = self.app_per_host("traefik");
        let caddy = self.app_per_host("caddy");
        let mut out = List::filled(self.hosts.len(), None);
        for (hid, h) in self.hosts.iter_enumerated() {
            out[hid] = match h.proxy {
                Proxy::Traefik => configured[hid].or(traefik[hid]),
                Proxy::Caddy => caddy[hid],
                Proxy::External | Proxy::None => None,
            };
        }
        out
    }

    /// The host port a route's first entry point listens on: the port its host's proxy
    /// publishes for it (`None` without a proxy sparkc configures, or entry points).
    pub fn entrypoint_port(&self, d: &Domain) -> Option<u16> {
        let entry = d.entrypoints.first()?;
        let proxy = self.configured_proxies().get(d.host).copied().flatten()?;
        let s = &self.services[proxy];
        let port = s.ports.iter().find(|p| &p.name == entry)?;
        s.publish
            .iter()
            .find(|x| {
                x.container.0 <= port.port && port.port <= x.container.1 && x.proto == port.proto
            })
            .map(|x| x.host.0 + (port.port - x.container.0))
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
        if self.services[from].host != self.services[to].host
            || self.services[from].external
            || self.services[to].external
        {
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

    /// Where another host reaches port `port` of `sid`: the address it is published on (its
    /// host's address when it is published on every address) and the host port; with host
    /// networking, the host's address and the port itself.
    pub fn from_outside(
        &self,
        sid: ServiceId,
        port: u16,
        proto: Proto,
    ) -> Result<(IpAddr, u16), OutsideGap> {
        let host_address = || {
            self.host_of(sid)
                .and_then(|h| h.address)
                .ok_or(OutsideGap::NoAddress)
        };
        let owner = self.namespace_owner(sid).unwrap_or(sid);
        if self.services[owner].network_mode == Some(NetworkMode::Host)
            || self.services[sid].external
        {
            return host_address().map(|a| (a, port));
        }
        let s = &self.services[owner];
        let p = s
            .publish
            .iter()
            .find(|x| x.container.0 <= port && port <= x.container.1 && x.proto == proto)
            .ok_or(OutsideGap::NotPublished)?;
        let host_port = p.host.0 + (port - p.container.0);
        match p.address {
            Some(a) if a.is_loopback() => Err(OutsideGap::LoopbackOnly),
            Some(a) if !a.is_unspecified() => Ok((a, host_port)),
            _ => host_address().map(|a| (a, host_port)),
        }
    }

    /// Where a process in the host's own network namespace on `sid`'s host (a proxy with
    /// `network_mode = host`) reaches `sid`'s container `port`: the port it publishes, at the
    /// loopback address when it binds every address or the loopback, else the address it
    /// binds. A service in the host's namespace is at the loopback itself. `None`: it does
    /// not publish the port.
    pub fn from_same_host(&self, sid: ServiceId, port: u16, proto: Proto) -> Option<(IpAddr, u16)> {
        let loopback = IpAddr::from([127, 0, 0, 1]);
        let owner = self.namespace_owner(sid).unwrap_or(sid);
        if self.services[owner].network_mode == Some(NetworkMode::Host)
            || self.services[sid].external
        {
            return Some((loopback, port));
        }
        let p = self.services[owner]
            .publish
            .iter()
            .find(|x| x.container.0 <= port && port <= x.container.1 && x.proto == proto)?;
        let host_port = p.host.0 + (port - p.container.0);
        match p.address {
            Some(a) if !a.is_unspecified() && !a.is_loopback() => Some((a, host_port)),
            _ => Some((loopback, host_port)),
        }
    }

    /// Whether `from`'s container connects to `to` by its container name (both containers on
    /// one host), rather than at the address and port `to` is reached at from outside
    /// ([`Model::from_outside`]): across hosts, and to a service that runs outside sparkc.
    pub fn by_name(&self, from: ServiceId, to: ServiceId) -> bool {
        let (a, b) = (&self.services[from], &self.services[to]);
        a.host == b.host && !a.external && !b.external
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
    /// It can.
    Yes,
    /// It cannot.
    No,
    /// Host or bridge networking: reachability depends on ports outside the model.
    Unknown,
}

/// How Prometheus logs in to a metrics endpoint; the secret is mounted into the project's
/// Prometheus and read from its file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsAuth {
    /// `Authorization: Bearer <token>`.
    Bearer(SecretId),
    /// HTTP basic authentication.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: SecretId,
    },
}

impl MetricsAuth {
    /// The secret it reads.
    pub fn secret(&self) -> SecretId {
        match self {
            MetricsAuth::Bearer(s) | MetricsAuth::Basic { password: s, .. } => *s,
        }
    }
}

/// Why another host cannot reach a service's port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideGap {
    /// The port is not published on the service's host.
    NotPublished,
    /// It is published on loopback only.
    LoopbackOnly,
    /// It is published on every address, and the host declares none.
    NoAddress,
}

/// What a service's container is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attachment<'m> {
    /// Container networks.
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

/// What runs a host's containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
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

/// The reverse proxy a host runs for its domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proxy {
    /// Caddy, configured by a generated Caddyfile.
    Caddy,
    /// Traefik, configured by container labels.
    Traefik,
    /// A proxy outside the project (a router's port forward to a published port, a tunnel):
    /// its domains are names (for monitors, links), and sparkc writes no configuration for
    /// them.
    External,
    /// No proxy: domains cannot route to this host.
    None,
}

/// A machine: bare metal, a VM, or a hypervisor.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Host {
    /// The declared name (`host web01 { ... }`).
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// Its doc comment (`/// ...` above the declaration), without the slashes.
    pub doc: String,
    /// Its IP address, if declared.
    pub address: Option<IpAddr>,
    /// What runs its containers.
    pub runtime: Runtime,
    /// The reverse proxy that serves its domains.
    pub proxy: Proxy,
    /// CPU cores it has (`cpus = 4`).
    pub cpus: Option<f64>,
    /// Memory it has, in bytes.
    pub memory: Option<u64>,
    /// Disk it has, in bytes.
    pub disk: Option<u64>,
    /// Operating system, free text (`debian-12`).
    pub os: Option<String>,
    /// The hypervisor this host is a VM on (`host vm on hypervisor`).
    pub parent: Option<HostId>,
    /// A hypervisor (`runtime = proxmox`): its VMs are the hosts with `parent` set to it.
    pub hypervisor: bool,
    /// The exporters sparkc runs on it when the project has a Prometheus (`exporters = [...]`);
    /// `None`: the default, a node-exporter and cAdvisor on a compose host with services.
    pub exporters: Option<Vec<Exporter>>,
    /// Top-level keys written into each of its compose files as they are
    /// (`passthrough { compose = { "x-backup" = {...} } }`): extension fields.
    pub passthrough_compose: Map<String, Passthrough>,
    /// The network its `address` is on (`subnet = 192.168.1.0/24`): the prefix of its
    /// static address.
    pub subnet: Option<Subnet>,
    /// Its default gateway.
    pub gateway: Option<IpAddr>,
    /// The DNS servers it asks.
    pub nameservers: Vec<IpAddr>,
    /// How its hypervisor creates it (`vm { id = 101, clone_from = 9000 }`): a VM sparkc
    /// provisions, with cloud-init.
    pub vm: Option<Box<VmSettings>>,
    /// The login user provisioning creates (default `ops`), with sudo, by SSH key only.
    pub admin_user: Option<String>,
    /// The SSH public keys that may log in as the admin user.
    pub ssh_keys: Vec<String>,
    /// Packages provisioning installs.
    pub packages: Vec<String>,
    /// Its time zone (`Europe/Berlin`).
    pub timezone: Option<String>,
    /// Where each field was written, by field name.
    pub field_locs: FieldLocs,
}

/// An IP network: an address and a prefix length (`192.168.1.0/24`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Subnet {
    /// Its first address (the host bits zero).
    pub address: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

impl Subnet {
    /// Whether `ip` is inside it.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }

    /// Whether `ip` is the network's own address or (IPv4) its broadcast address: no host
    /// can have it.
    pub fn is_reserved(&self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) if self.prefix < 31 => {
                let host_bits = u32::MAX >> self.prefix;
                let a = u32::from(a);
                a == u32::from(n) || a == u32::from(n) | host_bits
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// How a hypervisor creates a VM (`vm { ... }` on a host placed on a hypervisor), as the
/// Proxmox provisioning script does: a full clone of a cloud-init template, sized by the
/// host's `cpus`, `memory` and `disk`, on a bridge.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VmSettings {
    /// Its VM id on the hypervisor (Proxmox: 100 and above).
    pub id: u32,
    /// The id of the template VM it is cloned from (`clone_from`: a cloud image with
    /// cloud-init).
    pub template: u32,
    /// The storage its disk is on (default `local-lvm`).
    pub storage: String,
    /// The bridge its network interface is on (default `vmbr0`).
    pub bridge: String,
    /// The VLAN tag of its interface.
    pub vlan: Option<u16>,
    /// The template's boot disk, which is grown to `disk` (default `scsi0`).
    pub disk_device: String,
    /// The storage that holds the cloud-init snippets (default `local`, whose snippets are
    /// under `/var/lib/vz/snippets`).
    pub snippets: String,
    /// Where it is written.
    pub loc: Loc,
}

/// How a container runs as a process, as Compose's service keys of the same names say.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ProcessSettings {
    /// At most this many processes (`pids_limit`).
    pub pids_limit: Option<u32>,
    /// A terminal is allocated (`tty`).
    pub tty: bool,
    /// Standard input kept open (`stdin_open`).
    pub stdin_open: bool,
    /// The signal that stops it (`SIGINT`, `SIGQUIT`).
    pub stop_signal: Option<String>,
    /// Its IPC namespace: `host`, `private`, `shareable` or `none`.
    pub ipc: Option<String>,
    /// Its PID namespace: `host`.
    pub pid: Option<String>,
    /// The container runtime (`nvidia`, `runsc`).
    pub runtime: Option<String>,
    /// Extra groups its user is in (names or ids).
    pub group_add: Vec<String>,
    /// How readily the kernel swaps its memory, 0–100.
    pub mem_swappiness: Option<u8>,
    /// How likely the OOM killer picks it, -1000–1000.
    pub oom_score_adj: Option<i32>,
    /// The CPUs it may run on (`0-3,6`).
    pub cpuset: Option<String>,
    /// Its user namespace: `host`.
    pub userns_mode: Option<String>,
    /// The cgroup it runs under.
    pub cgroup_parent: Option<String>,
    /// Options of its writable layer's storage driver (`size = "20G"`).
    pub storage_opt: Map<String, String>,
    /// GPUs passed through: `None` none, `Some(None)` all, `Some(Some(n))` that many.
    pub gpus: Option<Option<u32>>,
}

/// A Grafana panel of a service's own metrics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Panel {
    /// Its title.
    pub title: String,
    /// The PromQL query; `$service` stands for the matchers that select this service's
    /// series (its job and instance), filled in by the grafana target.
    pub expr: String,
    /// Grafana's unit id (`short`, `bytes`, `ops`, `percent`, `s`).
    pub unit: String,
    /// The legend of each series (`{{datname}}`); empty: Grafana's default.
    pub legend: String,
    /// Where it is written.
    pub loc: Loc,
}

/// An exporter sparkc runs on a host by default (see `check/defaults.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exporter {
    /// Prometheus' node exporter: the host's CPU, memory, disks and network.
    Node,
    /// cAdvisor: each container's resources.
    Cadvisor,
}

impl Exporter {
    /// The stdlib template that runs it.
    pub fn template(self) -> &'static str {
        match self {
            Exporter::Node => "node_exporter",
            Exporter::Cadvisor => "cadvisor",
        }
    }
}

/// A command line, as written.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// `"sh -c ..."`: run by a shell.
    Shell(Text),
    /// `["mysqld", "--x"]`: exec form.
    Exec(Vec<Text>),
}

/// The words of a command as the program receives them: Compose splits a string command
/// with shell quoting rules; a word that is itself a shell line (`sh -c "traefik --x"`) is
/// split too, so flags inside it are seen.
pub fn command_words(c: &Option<Command>) -> Vec<String> {
    // What the deploy tool fills in is not known here: `${}` holds its place in the word.
    let text = |t: &Text| t.render(|_| "${}".into());
    let mut out = Vec::new();
    match c {
        Some(Command::Exec(v)) => {
            for w in v.iter().map(text) {
                if w.contains(char::is_whitespace) {
                    out.extend(shell_words(&w));
                } else {
                    out.push(w);
                }
            }
        }
        Some(Command::Shell(t)) => out.extend(shell_words(&text(t))),
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

/// The value of an environment variable.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvValue {
    /// A literal value.
    Plain(String),
    /// The value of a secret, read at deploy time.
    Secret(SecretId),
    /// Text the deploy tool completes: literal pieces around variables and secrets it reads
    /// from its environment (`postgres://app:${db_password}@db/app`).
    Text(Text),
}

/// Text that the deploy tool completes from its environment: what sparkc writes as
/// `${VAR:-default}` in a compose file. Fields that sparkc must know in full (a domain,
/// a port, a Caddyfile's contents) take a plain `String`; the fields a deploy tool fills in
/// (an `env` value, the image, a bind mount's source) take this.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Text(pub Vec<Piece>);

/// In the model's JSON, text with nothing to fill in is a string (as every such field was
/// before variables); other text is `{"pieces": [{"lit": "x:"}, {"variable": 0}]}`.
impl serde::Serialize for Text {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if let Some(lit) = self.as_lit() {
            return s.serialize_str(lit);
        }
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry("pieces", &self.0)?;
        m.end()
    }
}

/// One piece of a [`Text`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    /// Written as it is.
    Lit(String),
    /// The value of a variable, read at deploy time.
    Variable(VariableId),
    /// The value of a secret read from an environment variable, at deploy time.
    Secret(SecretId),
}

impl Text {
    /// Text without anything to fill in.
    pub fn lit(s: impl Into<String>) -> Text {
        Text(vec![Piece::Lit(s.into())])
    }

    /// The whole text, when it has nothing to fill in.
    pub fn as_lit(&self) -> Option<&str> {
        match self.0.as_slice() {
            [] => Some(""),
            [Piece::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// The literal text before the first piece to fill in (all of it, when there is none).
    pub fn literal_prefix(&self) -> &str {
        match self.0.first() {
            Some(Piece::Lit(s)) => s,
            _ => "",
        }
    }

    /// The text with every piece filled in by `fill`: for messages (`${puid}`), checks
    /// (a variable's default) and the targets' own syntax.
    pub fn render(&self, mut fill: impl FnMut(&Piece) -> String) -> String {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(s) => out.push_str(s),
                other => out.push_str(&fill(other)),
            }
        }
        out
    }

    /// As written in the sources: `${name}` for each piece to fill in.
    pub fn as_written(&self, m: &Model) -> String {
        self.render(|p| match p {
            Piece::Variable(v) => format!("${{{}}}", m.variables[*v].name),
            Piece::Secret(s) => format!("${{{}}}", m.secrets[*s].name),
            Piece::Lit(_) => String::new(),
        })
    }
}

/// A value the deploy tool reads from its environment that is not a secret: a path, a user
/// id, a time zone, a version (`var puid from env "PUID" default "1000"`). Unlike a
/// secret's, its default may be written into the artifacts and `.env.example`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Variable {
    /// The declared name.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// Its doc comment, without the slashes.
    pub doc: String,
    /// The environment variable it is read from.
    pub env: String,
    /// Its value when the environment does not set it; `None`: the deploy fails without it.
    pub default: Option<String>,
}

/// A named container port of a service.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PortDef {
    /// The port's name (`ports { http = 8080 }`): what domains and monitors refer to.
    pub name: String,
    /// The container port (the first of a range).
    pub port: u16,
    /// The last container port of a range (`49160-49200/udp`, a TURN server's relays);
    /// equal to `port` for a single port. A range is published or exposed, never routed to,
    /// probed or scraped.
    pub last: u16,
    /// `tcp` or `udp`.
    pub proto: Proto,
    /// What it speaks, where a proxy must know (`port { php = fastcgi(9000, root = ...) }`).
    pub speaks: Speaks,
    /// Where it is declared.
    pub loc: Loc,
}

/// What a port speaks, for a proxy that forwards to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaks {
    /// Plain HTTP (the default; also any TCP or UDP protocol a route does not proxy as HTTP).
    #[default]
    Http,
    /// HTTPS: the proxy talks TLS to it.
    Https {
        /// Whether the proxy verifies its certificate (`false`: a self-signed one, as an
        /// appliance's UI has).
        verify_tls: bool,
    },
    /// HTTP/2 without TLS (`h2c`; gRPC servers).
    H2c,
    /// FastCGI (php-fpm), serving the PHP files under `root` in its container; the proxy
    /// needs the same files at the same path for anything but PHP.
    Fastcgi {
        /// The document root, as the FastCGI server sees it.
        root: String,
    },
}

/// A reference to one of a service's declared ports, resolved by the checker: readers never
/// look a port up again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortRef {
    /// The port's name in the service's `ports`.
    pub name: String,
    /// Its container port.
    pub number: u16,
    /// Its protocol.
    pub proto: Proto,
    /// What it speaks.
    pub speaks: Speaks,
}

/// A port (range) published on the host.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Publish {
    /// The host address it binds to; `None`: every address.
    pub address: Option<IpAddr>,
    /// First and last host port (equal for a single port).
    pub host: (u16, u16),
    /// First and last container port.
    pub container: (u16, u16),
    /// `tcp` or `udp`.
    pub proto: Proto,
    /// Where it is written.
    pub loc: Loc,
}

/// What a mount mounts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MountSource {
    /// A named volume of the service's compose project.
    Volume(String),
    /// A host path (relative paths are relative to the generated compose file), which may
    /// hold variables (`${media_root}/movies`).
    Bind(Text),
    /// A tmpfs: memory, gone when the container stops.
    Tmpfs,
}

/// A mount into a container.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mount {
    /// What is mounted.
    pub source: MountSource,
    /// The path inside the container.
    pub target: String,
    /// Mounted read-only (`:ro`).
    pub read_only: bool,
    /// How mounts made below the source later reach the container (bind mounts only).
    pub propagation: Option<Propagation>,
    /// Where it is written.
    pub loc: Loc,
}

/// Bind propagation: whether mounts made later under a bind mount's source (a USB disk,
/// an NFS share mounted by the host) appear inside the container, and the other way round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Propagation {
    /// Neither way (Docker's default for a bind is `rprivate`).
    Private,
    /// Neither way, for the mounts below too.
    Rprivate,
    /// Both ways.
    Shared,
    /// Both ways, for the mounts below too.
    Rshared,
    /// From the host into the container only.
    Slave,
    /// From the host into the container only, for the mounts below too.
    Rslave,
}

impl Propagation {
    /// The mode a modifier names (`rslave`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "private" => Self::Private,
            "rprivate" => Self::Rprivate,
            "shared" => Self::Shared,
            "rshared" => Self::Rshared,
            "slave" => Self::Slave,
            "rslave" => Self::Rslave,
            _ => return None,
        })
    }

    /// Its name as Docker writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Rprivate => "rprivate",
            Self::Shared => "shared",
            Self::Rshared => "rshared",
            Self::Slave => "slave",
            Self::Rslave => "rslave",
        }
    }
}

/// A container's network namespace other than its networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkMode {
    /// The host's network stack.
    Host,
    /// No network.
    None,
    /// Docker's default bridge.
    Bridge,
    /// Shares the namespace of another service.
    Service(ServiceId),
}

/// What a dependency must have reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DependCondition {
    /// The container has started.
    Started,
    /// Its health check passes.
    Healthy,
    /// It ran to completion successfully.
    Completed,
}

/// A service another connects to by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Connection {
    /// The service connected to.
    pub service: ServiceId,
    /// Where its name is written.
    pub loc: Loc,
}

/// A start-order dependency on another service.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Dependency {
    /// The service depended on.
    pub service: ServiceId,
    /// What it must have reached before this one starts.
    pub condition: DependCondition,
    /// Where it is written.
    pub loc: Loc,
}

/// What a health check runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthTest {
    /// A command in exec form.
    Exec(Vec<String>),
    /// A command run by a shell.
    Shell(String),
    /// An HTTP GET against one of the service's own ports.
    Http {
        /// The container port.
        port: u16,
        /// The request path.
        path: String,
    },
    /// `healthcheck = none`: the image's own check is turned off.
    Disabled,
}

/// A container health check.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Healthcheck {
    /// What is run.
    pub test: HealthTest,
    /// Time between checks, in milliseconds.
    pub interval: Option<u64>,
    /// Time a check may take, in milliseconds.
    pub timeout: Option<u64>,
    /// Consecutive failures before the container is unhealthy.
    pub retries: Option<i64>,
    /// Grace period after start, in milliseconds.
    pub start_period: Option<u64>,
    /// Where it is written.
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

/// When a container is restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Restart {
    /// Never restarted.
    No,
    /// Always restarted.
    Always,
    /// Restarted when it exits with an error.
    OnFailure,
    /// Restarted unless stopped by hand.
    UnlessStopped,
}

/// How an image is built from source.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Build {
    /// The build context directory.
    pub context: String,
    /// The Dockerfile, relative to the context.
    pub dockerfile: Option<String>,
    /// The build stage to stop at.
    pub target: Option<String>,
    /// Build arguments.
    pub args: Map<String, String>,
}

/// Swarm rolling-update / rollback policy.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct UpdatePolicy {
    /// Containers updated at once.
    pub parallelism: Option<i64>,
    /// Time between batches, in milliseconds.
    pub delay: Option<u64>,
    /// `pause`, `continue` or `rollback`.
    pub failure_action: Option<String>,
    /// Time each task is watched for failure, in milliseconds.
    pub monitor: Option<u64>,
    /// Failure rate tolerated (0 to 1).
    pub max_failure_ratio: Option<f64>,
    /// `stop-first` or `start-first`.
    pub order: Option<String>,
}

/// Swarm restart policy.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RestartPolicy {
    /// `none`, `on-failure` or `any`.
    pub condition: Option<String>,
    /// Time between restarts, in milliseconds.
    pub delay: Option<u64>,
    /// Restarts before giving up.
    pub max_attempts: Option<i64>,
    /// Time a restart must stay up to count as successful, in milliseconds.
    pub window: Option<u64>,
}

/// A container's logging driver.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Logging {
    /// The logging driver (`json-file`, `journald`).
    pub driver: String,
    /// Its options.
    pub options: Map<String, String>,
}

/// A resource limit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ulimit {
    /// Soft and hard limit alike.
    Single(i64),
    /// Soft, then hard limit.
    SoftHard(i64, i64),
}

/// A key passed through to one target, unchecked by sparkc (the target refuses keys it models).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Passthrough {
    /// The value, as written.
    pub value: Raw,
    /// Where the key is written.
    pub loc: Loc,
}

/// A value passed through verbatim to one target (`passthrough { compose = {...} }`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Raw {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A number with a fraction.
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A list.
    List(Vec<Raw>),
    /// A map, in declaration order.
    Map(Map<String, Raw>),
}

/// The HTTP client an image ships, which runs HTTP health checks inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthClient {
    /// `curl`.
    Curl,
    /// `wget` (busybox or GNU).
    Wget,
}

/// A container: declared, or instantiated from a template.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Service {
    /// The declared name: also its container's DNS name on its networks.
    pub name: String,
    /// Where it is declared (or instantiated from a template).
    pub loc: Loc,
    /// Its doc comment, without the slashes.
    pub doc: String,
    /// Where it runs; `None` only when its placement did not resolve (reported).
    pub host: Option<HostId>,
    /// Compose project the service belongs to; `None`: the host's default project.
    pub stack: Option<String>,
    /// The template this service was instantiated from, if any.
    pub template: Option<String>,
    /// The image reference (`nextcloud:29`).
    pub image: Option<Text>,
    /// Built from source instead of (or as well as) pulled.
    pub build: Option<Box<Build>>,
    /// Overrides the image's command.
    pub command: Option<Command>,
    /// Overrides the image's entrypoint.
    pub entrypoint: Option<Command>,
    /// Environment variables, in declaration order.
    pub env: Map<String, EnvValue>,
    /// Files of environment variables, read at deploy time.
    pub env_file: Vec<String>,
    /// Its declared container ports, by name.
    pub ports: Vec<PortDef>,
    /// Ports published on the host.
    pub publish: Vec<Publish>,
    /// What is mounted into the container.
    pub volumes: Vec<Mount>,
    /// The declared networks it is attached to.
    pub networks: Vec<NetworkId>,
    /// `default` listed in `networks`: also on its compose project's default network (a
    /// service without `networks` is on it anyway).
    pub default_network: bool,
    /// A network namespace other than its networks, if set.
    pub network_mode: Option<NetworkMode>,
    /// Services this one connects to by name: an environment value that is a service
    /// reference (`DB_HOST = db`), where it was written.
    pub connects_to: Vec<Connection>,
    /// Services that must be up before it starts.
    pub depends_on: Vec<Dependency>,
    /// Its health check, if it has one (or turned off).
    pub healthcheck: Option<Healthcheck>,
    /// Which HTTP client the image ships, for HTTP health checks.
    pub health_client: Option<HealthClient>,
    /// The container port Prometheus scrapes, and the path (default `/metrics`).
    pub metrics_port: Option<u16>,
    /// The path Prometheus scrapes.
    pub metrics_path: String,
    /// How often Prometheus scrapes it, in milliseconds; `None`: the global interval.
    pub metrics_interval: Option<u64>,
    /// How long a scrape may take, in milliseconds; `None`: Prometheus's default (10 s, or
    /// the interval when shorter).
    pub metrics_timeout: Option<u64>,
    /// Whether its metrics are served over HTTPS.
    pub metrics_https: bool,
    /// The credentials its metrics endpoint asks for.
    pub metrics_auth: Option<MetricsAuth>,
    /// The restart policy.
    pub restart: Option<Restart>,
    /// Container labels the user declared (targets add their own).
    pub labels: Map<String, String>,
    /// A fixed container name.
    pub container_name: Option<String>,
    /// The container's hostname.
    pub hostname: Option<String>,
    /// The user the process runs as (`1000:1000`).
    pub user: Option<String>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// `security_opt` entries.
    pub security_opt: Vec<String>,
    /// Linux capabilities added.
    pub cap_add: Vec<String>,
    /// Linux capabilities dropped.
    pub cap_drop: Vec<String>,
    /// Host devices passed in (`/dev/dri:/dev/dri`).
    pub devices: Vec<String>,
    /// Runs privileged.
    pub privileged: bool,
    /// Serves an admin UI or API without a login of its own (Prometheus, cAdvisor): it may
    /// be reached only through a domain with `auth`, never published.
    pub admin_surface: bool,
    /// `expose = none`: its unpublished ports are not listed under compose's `expose`.
    pub no_expose: bool,
    /// Grafana panels charting its metrics (`panels = [panel(...)]`, usually set by its
    /// template), on a dashboard of its own.
    pub panels: Vec<Panel>,
    /// Runs on its host already, outside sparkc (an OS package, an appliance's agent): no
    /// target writes a container for it, and its ports are reached at its host's address.
    pub external: bool,
    /// The root file system is read-only.
    pub read_only: bool,
    /// Runs an init process as PID 1.
    pub init: bool,
    /// Kernel parameters set in its namespace.
    pub sysctls: Map<String, String>,
    /// Resource limits, by name (`nofile`).
    pub ulimits: Map<String, Ulimit>,
    /// Paths mounted as tmpfs.
    pub tmpfs: Vec<String>,
    /// Extra `/etc/hosts` entries.
    pub extra_hosts: Map<String, IpAddr>,
    /// Its logging driver.
    pub logging: Option<Box<Logging>>,
    /// The secrets it is given, mounted under `SECRETS_DIR`.
    pub secrets: Vec<SecretId>,
    /// The configs it is given, each a read-only file at its path.
    pub configs: Vec<ConfigMount>,
    /// Compose profiles it belongs to.
    pub profiles: Vec<String>,
    /// DNS servers.
    pub dns: Vec<IpAddr>,
    /// The image platform (`linux/arm64`).
    pub platform: Option<String>,
    /// When the image is pulled.
    pub pull_policy: Option<String>,
    /// Time between SIGTERM and SIGKILL, in milliseconds.
    pub stop_grace_period: Option<u64>,
    /// Size of `/dev/shm`, in bytes.
    pub shm_size: Option<u64>,
    /// How the container runs as a process: limits and namespaces Compose sets directly.
    pub process: ProcessSettings,
    /// CPU limit, in cores.
    pub cpus: Option<f64>,
    /// Memory limit, in bytes.
    pub memory: Option<u64>,
    /// CPU reservation, in cores.
    pub reserve_cpus: Option<f64>,
    /// Memory reservation, in bytes.
    pub reserve_memory: Option<u64>,
    /// Number of containers (Swarm).
    pub replicas: Option<i64>,
    /// Rolling-update policy (Swarm).
    pub update: Option<Box<UpdatePolicy>>,
    /// Rollback policy (Swarm).
    pub rollback: Option<Box<UpdatePolicy>>,
    /// Restart policy (Swarm).
    pub restart_policy: Option<Box<RestartPolicy>>,
    /// Placement constraints (Swarm: `node.role == manager`).
    pub placement: Vec<String>,
    /// Keys passed through verbatim into its compose service (`passthrough { compose = {...} }`).
    pub passthrough_compose: Map<String, Passthrough>,
    /// As its host's reverse proxy: the static configuration sparkc generates for it
    /// (`proxy { ... }`); `None` for every other service, and for a proxy configured by hand.
    pub proxy: Option<Box<ProxySettings>>,
    /// Where each field was written, by field name.
    pub field_locs: FieldLocs,
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
    /// Its declared port of that name.
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
        self.app_names().iter().flatten().any(|n| same_app(n, app))
    }

    /// Whether it runs any of `apps` (the image reference is read once).
    pub fn runs_any(&self, apps: &[&str]) -> bool {
        let names = self.app_names();
        apps.iter()
            .any(|a| names.iter().flatten().any(|n| same_app(n, a)))
    }

    /// The names it runs as: its template's, and its image repository's.
    pub fn app_names(&self) -> [Option<&str>; 2] {
        [
            self.template.as_deref(),
            self.image
                .as_ref()
                .map(|i| image_repository_name(i.literal_prefix())),
        ]
    }
}

/// An app name as a template (`node_exporter`) or an image (`node-exporter`) spells it.
pub fn same_app(name: &str, app: &str) -> bool {
    name.len() == app.len()
        && name
            .bytes()
            .zip(app.bytes())
            .all(|(a, b)| a == b || (a == b'-' && b == b'_') || (a == b'_' && b == b'-'))
}

/// The last path segment of an image reference, without tag or digest.
fn image_repository_name(image: &str) -> &str {
    let b = image.as_bytes();
    let end = b.iter().position(|&c| c == b'@').unwrap_or(b.len());
    let start = b[..end]
        .iter()
        .rposition(|&c| c == b'/')
        .map_or(0, |i| i + 1);
    let name = &b[start..end];
    let len = name.iter().position(|&c| c == b':').unwrap_or(name.len());
    &image[start..start + len]
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

/// Where a secret's value comes from at deploy time.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// Read from an environment variable at deploy time.
    Env(String),
    /// Read from a file on the deploy machine.
    File(String),
    /// Created outside the project (`docker secret create NAME`, on swarm), by this name.
    External(String),
}

/// A secret: a name and where its value comes from, never the value.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Secret {
    /// The declared name: also the file name under `SECRETS_DIR`.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// Its doc comment, without the slashes.
    pub doc: String,
    /// Where its value comes from at deploy time (never from the project).
    pub source: SecretSource,
}

impl Secret {
    /// Where a container it is given reads it: `/run/secrets/NAME`.
    pub fn path(&self) -> String {
        format!("{SECRETS_DIR}{}", self.name)
    }
}

/// A configuration file Compose (and Swarm) hands to containers (`config nginx_conf { ... }`):
/// on swarm, stored by the cluster, so every node that runs a task has it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Config {
    /// The declared name.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// Its doc comment, without the slashes.
    pub doc: String,
    /// Where its content comes from.
    pub source: ConfigSource,
}

/// Where a config's content comes from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigSource {
    /// A file on the deploy machine, relative to the generated compose file.
    File(String),
    /// Written in the sources.
    Content(String),
    /// Created outside the project (`docker config create NAME`, on swarm), by this name.
    External(String),
}

/// A config given to a service.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ConfigMount {
    /// Which config.
    pub config: ConfigId,
    /// Where the container reads it.
    pub target: String,
    /// Where it is written.
    pub loc: Loc,
}

/// A container network.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Network {
    /// The declared name.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// `None`: an external network declared without `on`, expected on every host that uses it.
    pub host: Option<HostId>,
    /// The stack that creates it; other stacks on the host join it as external.
    pub stack: Option<String>,
    /// No route to the outside (`internal = true`).
    pub internal: bool,
    /// The network driver (`bridge`, `overlay`, `macvlan`).
    pub driver: Option<String>,
    /// The driver's options (`parent = "eth0"` for macvlan), as written.
    pub driver_opts: Map<String, String>,
    /// Created outside the project; only joined.
    pub external: bool,
    /// The name Docker knows it by, where that is not the declared name (`name = "x"`).
    pub docker_name: Option<String>,
}

/// A named volume.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Volume {
    /// The declared name.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// The host it lives on.
    pub host: HostId,
    /// The volume driver.
    pub driver: Option<String>,
    /// The driver's options (NFS: `type`, `o`, `device`), as written.
    pub driver_opts: Map<String, String>,
    /// Created outside the project; only used.
    pub external: bool,
    /// The name Docker knows it by, where that is not the project's own `<project>_<name>`
    /// (`name = "nextcloud_data"`: the volume an existing installation already has).
    pub docker_name: Option<String>,
}

/// How a domain's certificate is obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tls {
    /// Public certificate (ACME / Let's Encrypt).
    Auto,
    /// Certificate from an internal CA.
    Internal,
    /// Plain HTTP.
    Off,
    /// TLS passes through the proxy to the service, which terminates it (a TCP route by SNI).
    Passthrough,
}

/// How a route's proxy spreads requests over the replicas of its service.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Balance {
    /// Each replica is asked for this path every so often; one that does not answer 2xx/3xx
    /// gets no requests until it does.
    pub health_check: Option<HealthProbe>,
    /// A client keeps going to the replica it first reached, by this cookie.
    pub sticky_cookie: Option<String>,
    /// Whether the service sees the client's `Host` (true, the default) or its own address.
    pub pass_host_header: bool,
}

impl Default for Balance {
    fn default() -> Self {
        Balance {
            health_check: None,
            sticky_cookie: None,
            pass_host_header: true,
        }
    }
}

/// A route's forward authentication: the proxy sends each request's headers to `path` on the
/// service's port; a 2xx lets the request through (with `copy_headers` of that answer added),
/// anything else is the client's answer (a login redirect, 401).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ForwardAuth {
    /// The service that decides.
    pub service: ServiceId,
    /// Its port the proxy asks.
    pub port: PortRef,
    /// The path it is asked at.
    pub path: String,
    /// Headers of its answer that the proxy copies onto the request (`Remote-User`).
    pub copy_headers: Vec<String>,
}

/// A proxy's health check of each replica.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HealthProbe {
    /// The path asked for.
    pub path: String,
    /// Milliseconds between checks.
    pub interval: u64,
}

/// A feature of an HTTP route that its proxy applies to every request (Traefik's
/// middlewares, Caddy's directives), declared as a typed field of the domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Middleware {
    /// Only clients from these networks (`10.0.0.0/8`); others get 403.
    AllowFrom(Vec<String>),
    /// At most `average` requests per second from one client, bursts of `burst`; more get 429.
    RateLimit {
        /// Requests per second, sustained.
        average: u32,
        /// Requests allowed at once above the average.
        burst: u32,
    },
    /// Requests whose body is larger than this many bytes get 413.
    MaxBody(u64),
    /// HSTS for a year with subdomains, `X-Frame-Options: SAMEORIGIN`,
    /// `X-Content-Type-Options: nosniff`, `Referrer-Policy: strict-origin-when-cross-origin`.
    SecurityHeaders,
    /// Headers set on the request before it reaches the service.
    RequestHeaders(Map<String, String>),
    /// Headers set on the response before it reaches the client.
    ResponseHeaders(Map<String, String>),
    /// Responses compressed (gzip, zstd, brotli as the client accepts).
    Compress,
    /// Cross-origin requests from these origins are allowed (the proxy answers preflights).
    Cors {
        /// `https://app.example.org`, each allowed as it is sent in `Origin`.
        origins: Vec<String>,
        /// The methods a cross-origin request may use.
        methods: Vec<String>,
        /// The request headers it may send.
        headers: Vec<String>,
        /// How long a browser may keep a preflight's answer, in seconds.
        max_age: u64,
    },
}

impl Middleware {
    /// The response headers of [`Middleware::SecurityHeaders`], the same behind every proxy:
    /// HSTS for a year with subdomains, frames from the same origin only, no MIME sniffing,
    /// the referrer's origin only across origins.
    pub const SECURITY_HEADERS: [(&'static str, &'static str); 4] = [
        (
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
        ),
        ("X-Frame-Options", "SAMEORIGIN"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ];
}

/// What a route carries: the proxy routes HTTP by host name and path, TCP by the TLS server
/// name (SNI), UDP by entry point alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteProtocol {
    /// HTTP (and HTTPS), routed by host name and path.
    Http,
    /// A TCP stream, routed by SNI (`*` without TLS).
    Tcp,
    /// UDP datagrams, routed by entry point.
    Udp,
}

/// The static configuration of a host's reverse proxy (`proxy { ... }` on its service): what
/// sparkc writes into the proxy's own configuration file. Its entry points are the service's
/// ports; the published ones are the ones routes may listen on.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProxySettings {
    /// Where `proxy { ... }` is written.
    pub loc: Loc,
    /// Entry points that redirect every plain-HTTP request to HTTPS on another entry point:
    /// (from, to), both names of the service's ports.
    pub redirects: Vec<(String, String)>,
    /// The ACME account its public certificates come from; `None`: no `tls = auto` route.
    pub acme: Option<Acme>,
    /// The port its health endpoint (Traefik's ping) answers on, by name.
    pub ping: Option<String>,
}

/// An ACME (Let's Encrypt) account and how it proves it controls a name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Acme {
    /// Contact address for expiry warnings.
    pub email: String,
    /// Where the proxy keeps its certificates inside its container.
    pub storage: String,
    /// How it proves control of a name.
    pub challenge: AcmeChallenge,
    /// The CA's directory URL; `None`: Let's Encrypt's production CA.
    pub ca_server: Option<String>,
}

/// An ACME challenge.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AcmeChallenge {
    /// TLS-ALPN-01, answered on the HTTPS entry point.
    TlsAlpn,
    /// HTTP-01, answered on this (plain-HTTP) entry point, by port name.
    Http(String),
    /// DNS-01 through a DNS provider's API (the only challenge a wildcard certificate can
    /// pass): the provider's name as the ACME client (lego) knows it, and its credentials,
    /// each an environment variable of the proxy read from a secret's file (`<NAME>_FILE`).
    Dns {
        /// `cloudflare`, `hetzner`, `route53`, ...
        provider: String,
        /// (variable, secret): `CF_DNS_API_TOKEN` from the secret `cf_token`.
        credentials: Vec<(String, SecretId)>,
    },
}

/// A domain routed by a host's proxy: to one of a service's ports, to an address outside
/// the project's containers, or answered with a redirect.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Domain {
    /// The domain name (`cloud.example.org`, `*.example.org`).
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// The host whose proxy serves it.
    pub host: HostId,
    /// Where the proxy sends what the route accepts.
    pub upstream: Upstream,
    /// The project's service the route ends at, however the proxy reaches it: by container
    /// name (`upstream` is that service), or at an address it publishes (a service of
    /// another host, or of a proxy in the host's own network). What the security rules and
    /// monitors ask about.
    pub ends_at: Option<ServiceId>,
    /// How its certificate is obtained.
    pub tls: Tls,
    /// Basic-auth users file secret, if the route needs auth.
    pub basic_auth: Option<SecretId>,
    /// The path the route is limited to (`/api`); `None` for the whole site (`path = "/"` too).
    pub path_prefix: Option<String>,
    /// The path prefix the service sees in place of `path_prefix` (`/`: stripped; `/metrics`:
    /// rewritten); `None`: requests arrive with the path as sent.
    pub upstream_path: Option<String>,
    /// What the proxy does to requests and responses on this route, in the order it does it.
    pub middlewares: Vec<Middleware>,
    /// How the proxy spreads requests over the service's replicas.
    pub balance: Balance,
    /// A service the proxy asks, for every request, whether it may pass (authentik,
    /// Authelia); `None`: no such check.
    pub forward_auth: Option<ForwardAuth>,
    /// What the route carries.
    pub protocol: RouteProtocol,
    /// The entry points it listens on: names of ports its host's proxy publishes, resolved in
    /// lowering. Empty when the host's proxy is configured by hand (`proxy { ... }` absent):
    /// the targets then use the entry point names their options give.
    pub entrypoints: Vec<String>,
    /// Whether it gets the default probe where the project runs a blackbox exporter
    /// (`probe = none` turns it off, and the warning about a public domain nobody probes).
    pub default_probe: bool,
}

impl Domain {
    /// The service it routes to, when it routes to one of the project's services.
    pub fn service(&self) -> Option<ServiceId> {
        match &self.upstream {
            Upstream::Service { service, .. } => Some(*service),
            _ => None,
        }
    }
}

/// Where a route sends what it accepts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Upstream {
    /// A port of one of the project's services, on the proxy's host (its containers, by
    /// their DNS name on a shared network).
    Service {
        /// The service.
        service: ServiceId,
        /// Its port.
        port: PortRef,
    },
    /// An address outside the project's containers: a VM, another machine, a hypervisor's
    /// web UI, or a service of another host at its published port.
    Address(AddressUpstream),
    /// Not proxied: every request is answered with a redirect.
    Redirect(Redirect),
    /// The proxy's own dashboard and API (Traefik's `api@internal`), behind the route's
    /// login.
    Dashboard {
        /// The proxy service whose dashboard it is.
        proxy: ServiceId,
    },
}

/// An upstream the proxy reaches by address.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddressUpstream {
    /// `http` or `https` (TLS to the upstream) for an HTTP route; `tcp` or `udp` for a TCP
    /// or UDP one.
    pub scheme: String,
    /// An IP address or a DNS name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Whether the upstream's certificate is checked (`false`: a self-signed one, as a
    /// hypervisor's web UI has, is accepted). Always `true` for `http`.
    pub verify_tls: bool,
}

impl AddressUpstream {
    /// `host:port`, an IPv6 address in brackets: where a TCP or UDP route connects.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// `scheme://host:port`, an IPv6 address in brackets.
    pub fn url(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.scheme, self.host, self.port)
        } else {
            format!("{}://{}:{}", self.scheme, self.host, self.port)
        }
    }
}

/// A redirect a route answers with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Redirect {
    /// Where to: `https://example.org` or `https://example.org/blog` (no trailing `/`).
    pub to: String,
    /// Whether the request's path and query are appended to `to`.
    pub keep_path: bool,
    /// Permanent (301/308: browsers and search engines remember it) or temporary (302/307).
    pub permanent: bool,
}

/// How a monitor probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// An HTTP request; 2xx is up.
    Http,
    /// An HTTPS request with a valid certificate; 2xx is up.
    Https,
    /// A TCP connect.
    Tcp,
    /// A ping.
    Icmp,
    /// A walk of a host's interface table (IF-MIB) over SNMP, through the project's SNMP
    /// exporter: a router's, a switch's, a NAS's traffic; failing is down.
    Snmp,
}

impl Probe {
    /// How the probe is called in a message.
    pub fn describe(self) -> &'static str {
        match self {
            Probe::Http => "plain-HTTP",
            Probe::Https => "HTTPS",
            Probe::Tcp => "TCP",
            Probe::Icmp => "ping",
            Probe::Snmp => "SNMP",
        }
    }
}

/// What a monitor probes.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MonitorTarget {
    /// A declared domain, over its URL.
    Domain(DomainId),
    /// A port of a service, by container name.
    Service {
        /// The service.
        service: ServiceId,
        /// The port probed.
        port: PortRef,
    },
    /// A host, by its address.
    Host(HostId),
    /// A URL outside the project (another site, a status page, a router's UI), probed as
    /// written.
    Url(String),
}

/// A probe (blackbox exporter) with an alert rule.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Monitor {
    /// The declared name.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// What it probes.
    pub target: MonitorTarget,
    /// How it probes.
    pub probe: Probe,
    /// Time between probes, in milliseconds.
    pub interval: Option<u64>,
    /// How long the target must fail before the alert fires, in milliseconds.
    pub down_for: Option<u64>,
    /// An alert fires when the target's certificate expires within this long, in
    /// milliseconds (HTTPS probes).
    pub cert_expiry: Option<u64>,
    /// The URL path an HTTP(S) probe asks for; `None`: the route's path, or `/`.
    pub path: Option<String>,
    /// The status codes an HTTP(S) probe accepts; empty: any 2xx.
    pub status: Vec<u16>,
    /// A regular expression the answer's body must match; `None`: any body.
    pub body: Option<String>,
    /// The severity of its `down_for` alert (its certificate alert is a warning).
    pub severity: Severity,
    /// Whether it probes its target (a blackbox job): not for a monitor that only watches
    /// a host's resources (`cpu_above(...)` and the like, without `probe`).
    pub probes: bool,
    /// Alerts when a measurement stays above a threshold.
    pub thresholds: Vec<Threshold>,
}

/// An alert when a measurement stays above a limit for a while.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Threshold {
    /// What is measured.
    pub measure: Measure,
    /// The limit: a percentage (0–100) for a host's resources, milliseconds for a response
    /// time.
    pub above: f64,
    /// How long it must stay above before the alert fires, in milliseconds.
    pub for_ms: u64,
    /// The alert's severity.
    pub severity: Severity,
}

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    /// The share of a host's CPU time not idle (node-exporter), in percent.
    Cpu,
    /// The share of a host's memory not available (node-exporter), in percent.
    Memory,
    /// The share of a file system's space used (node-exporter), in percent.
    Disk,
    /// The share of time a disk is busy with I/O (node-exporter), in percent.
    DiskIo,
    /// How long a probe takes (the blackbox exporter), in milliseconds.
    ResponseTime,
}

impl Measure {
    /// The call it is written as (`cpu_above`).
    pub fn call(self) -> &'static str {
        match self {
            Measure::Cpu => "cpu_above",
            Measure::Memory => "memory_above",
            Measure::Disk => "disk_above",
            Measure::DiskIo => "disk_io_above",
            Measure::ResponseTime => "response_time_above",
        }
    }

    /// Whether it is a host's resource, read from the host's node-exporter.
    pub fn of_host(self) -> bool {
        self != Measure::ResponseTime
    }
}

impl Monitor {
    /// Whether it raises any alert.
    pub fn alerts(&self) -> bool {
        self.down_for.is_some() || self.cert_expiry.is_some() || !self.thresholds.is_empty()
    }

    /// The host of the project what it probes runs on: the host itself, the service's host,
    /// or the host of the service a domain routes to. `None` for a URL outside the project
    /// (and a route to something outside it).
    pub fn host(&self, m: &Model) -> Option<HostId> {
        match &self.target {
            MonitorTarget::Host(h) => Some(*h),
            MonitorTarget::Service { service, .. } => m.services[*service].host,
            MonitorTarget::Domain(d) => m.domains[*d].ends_at.and_then(|s| m.services[s].host),
            MonitorTarget::Url(_) => None,
        }
    }

    /// Whether it probes HTTP with more than the default expectations (a status list or a
    /// body match): it then has a module of its own.
    pub fn has_own_expectations(&self) -> bool {
        !self.status.is_empty() || self.body.is_some()
    }
}

/// An alert rule written in PromQL (`alert NAME { expr = "...", for = 10m }`), for what the
/// typed monitor conditions do not say.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AlertRule {
    /// The declared name (the alert's name with `-` as `_`).
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// The PromQL expression: the alert fires for each series it returns.
    pub expr: String,
    /// How long it must return a series before the alert fires, in milliseconds.
    pub for_ms: u64,
    /// Its severity (default `warning`).
    pub severity: Severity,
    /// The host it is about (its `host` label, which receivers select by and a host's own
    /// failing probe inhibits).
    pub host: Option<HostId>,
    /// The summary annotation (Prometheus templating allowed: `{{ $labels.instance }}`).
    pub summary: Option<String>,
    /// More labels, by name.
    pub labels: Map<String, String>,
}

/// How urgent an alert is: the `severity` label every generated rule carries, which
/// receivers select by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Someone should act now (a site down).
    Critical,
    /// Someone should act soon (a certificate about to expire).
    Warning,
    /// For the record.
    Info,
}

impl Severity {
    /// Every severity, most urgent first.
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Where alerts are delivered (Alertmanager's receivers): one or more channels, for the
/// alerts its selection names.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Receiver {
    /// The declared name.
    pub name: String,
    /// Where it is declared.
    pub loc: Loc,
    /// How it is notified, in the order e-mail, Telegram, Slack, `PagerDuty`, webhook.
    pub channels: Vec<Channel>,
    /// The severities it receives; empty: every one.
    pub severities: Vec<Severity>,
    /// The monitors whose alerts it receives; empty: every monitor's.
    pub monitors: Vec<String>,
    /// The hosts whose alerts it receives (the host a monitor's target runs on); empty: all.
    pub hosts: Vec<HostId>,
    /// How often a firing alert is sent again, in milliseconds; `None`: every 4 hours.
    pub repeat_every: Option<u64>,
    /// How long a new group of alerts waits for more before it is sent, in milliseconds;
    /// `None`: 30 seconds.
    pub wait: Option<u64>,
}

/// One way a receiver is notified. Credentials are secrets, read by Alertmanager from their
/// mounted files (`/run/secrets/NAME`), never written into its configuration.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail over SMTP.
    Email {
        /// The addresses written to.
        to: Vec<String>,
        /// The sender address.
        from: String,
        /// The SMTP server, `host:port`.
        smarthost: String,
        /// The SMTP login, if the server asks for one.
        username: Option<String>,
        /// Its password.
        password: Option<SecretId>,
        /// Whether STARTTLS is required (default: yes).
        require_tls: bool,
    },
    /// A Telegram bot writing to a chat.
    Telegram {
        /// The bot's token.
        token: SecretId,
        /// The chat (a group's id is negative).
        chat_id: i64,
    },
    /// A Slack incoming webhook.
    Slack {
        /// The webhook URL (it is the credential).
        webhook: SecretId,
        /// The channel, if not the webhook's own.
        channel: Option<String>,
    },
    /// `PagerDuty`, through its Events API v2.
    PagerDuty {
        /// The integration's routing key.
        routing_key: SecretId,
    },
    /// A POST of Alertmanager's JSON to a URL (ntfy, Gotify, a chat bridge, your own).
    Webhook {
        /// The URL, plain or, where it holds a token, a secret.
        url: WebhookUrl,
    },
}

/// A webhook's address.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookUrl {
    /// Written in the configuration.
    Plain(String),
    /// Read from the secret's file.
    Secret(SecretId),
}

impl Channel {
    /// The secrets this channel reads.
    pub fn secrets(&self) -> Vec<SecretId> {
        match self {
            Channel::Email { password, .. } => password.iter().copied().collect(),
            Channel::Telegram { token, .. } => vec![*token],
            Channel::Slack { webhook, .. } => vec![*webhook],
            Channel::PagerDuty { routing_key } => vec![*routing_key],
            Channel::Webhook {
                url: WebhookUrl::Secret(s),
            } => vec![*s],
            Channel::Webhook {
                url: WebhookUrl::Plain(_),
            } => Vec::new(),
        }
    }
}

/// Where each field of a declaration was written, by field name: a handful per
/// declaration, in the order written (a list, not a hash map: a service has ten, not
/// hundreds). Serialised as a map.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldLocs(Vec<(&'static str, Loc)>);

impl FieldLocs {
    /// Where `field` was written, if it was.
    pub fn get(&self, field: &str) -> Option<&Loc> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, l)| l)
    }
    /// Whether `field` was written.
    pub fn contains_key(&self, field: &str) -> bool {
        self.get(field).is_some()
    }
    /// Every written field and where, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Loc)> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<(&'static str, Loc)> for FieldLocs {
    /// The fields of one declaration, each once (a record never holds a key twice).
    fn from_iter<I: IntoIterator<Item = (&'static str, Loc)>>(iter: I) -> Self {
        FieldLocs(iter.into_iter().collect())
    }
}

impl serde::Serialize for FieldLocs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(f, l)| (*f, l)))
    }
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
    fn image_repository_names() {
        for (image, name) in [
            ("traefik", "traefik"),
            ("traefik:v3.1", "traefik"),
            ("docker.io/library/traefik:v3.1", "traefik"),
            ("localhost:5000/org/app:1.2", "app"),
            ("ghcr.io/org/app@sha256:0123", "app"),
            ("ghcr.io/org/app:1.2@sha256:0123", "app"),
            ("registry:5000/app", "app"),
        ] {
            assert_eq!(super::image_repository_name(image), name, "{image}");
        }
    }

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
