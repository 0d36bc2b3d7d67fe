//! The cloudinit target: the VMs a hypervisor creates (hosts with `vm { ... }`), as
//! cloud-init reads them and Proxmox creates them.
//!
//! Per VM, under `cloudinit/<vm>/`: `user-data` (`#cloud-config`: its hostname and time
//! zone, the admin user with its SSH keys and sudo, password logins off, packages with
//! `qemu-guest-agent`, an nftables firewall that lets in SSH, ICMP and exactly the ports its
//! services publish; on a compose host, Docker from Docker's apt repository and the host's
//! compose projects under `/opt/sparkc/<host>/`, started once their environment is there),
//! `network-config` (version 2: its interface, matched by the MAC address the provisioning
//! script gives it, with its static address, route and DNS servers, or DHCP) and
//! `meta-data` (`instance-id`, `local-hostname`). A cluster member's user-data also installs
//! k3s and joins it (its configuration, the token as `${VAR}`, the member ports open to its
//! subnet).
//!
//! Per hypervisor, `proxmox/<hypervisor>/provision.sh`: run on the Proxmox host from a copy
//! of the output directory, it places each VM's files as snippets, clones the VMs that do
//! not exist yet from their template, and sets (on every run, so a changed size or bridge is
//! applied) their cores, memory, network, cloud-init files, and grows their disk; a VM that
//! exists is updated, never recreated. It fills a cluster's token into its members'
//! user-data from its own environment. `set -euo pipefail`; checked by shellcheck.

use crate::yaml::Yaml;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;
use sparkc_core::syntax::ast::Proto;
use sparkc_core::target::{Artifact, EmitContext, Target};
use std::fmt::Write as _;

pub struct Cloudinit;

/// Where a compose host's projects are placed on the VM.
pub const PROJECT_ROOT: &str = "/opt/sparkc";

/// The admin user when a host names none.
pub const DEFAULT_ADMIN_USER: &str = "ops";

/// Docker's apt signing key (fingerprint), fetched from the keyserver by cloud-init.
const DOCKER_KEY: &str = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88";

impl Target for Cloudinit {
    fn name(&self) -> &'static str {
        "cloudinit"
    }

    /// It places the compose projects the compose target wrote.
    fn reads_generated(&self) -> bool {
        true
    }

    /// After compose, whose files it places.
    fn stage(&self) -> u8 {
        2
    }

    fn emit(&self, m: &Model, ctx: &EmitContext<'_>) -> (Vec<Artifact>, Vec<Diagnostic>) {
        let mut out = Vec::new();
        let mut diags = Vec::new();
        for c in &m.clusters {
            let Some(t) = c.token else { continue };
            let s = &m.secrets[t];
            if !matches!(s.source, SecretSource::Env(_)) {
                let at = c.field_locs.get("token").copied().unwrap_or(c.loc);
                diags.push(
                    Diagnostic::error(
                        Code::Unsupported,
                        format!("the provisioning script reads cluster `{}`'s token from its environment, and secret `{}` is not read from one", c.name, s.name),
                        at.file,
                        at.span,
                    )
                    .label("read from where?")
                    .help(format!("declare it `secret {} from env \"K3S_TOKEN\"`: provision.sh fills it in where the members' user-data needs it, and no file holds it", s.name)),
                );
            }
        }
        let by_host = m.services_by_host();
        for (hid, h) in m.hosts.iter_enumerated() {
            let Some(vm) = &h.vm else { continue };
            if h.parent.is_none_or(|p| !m.hosts[p].hypervisor) {
                continue; // E0305, reported by the rules
            }
            if ctx.only_hosts.is_some_and(|only| !only.contains(&hid)) {
                continue;
            }
            // Where only diagnostics and paths are wanted (`sparkc check`), no text is made.
            let text = |make: &dyn Fn() -> String| if ctx.text { make() } else { String::new() };
            let files = [
                ("user-data", text(&|| user_data(m, hid, &by_host[hid], ctx))),
                ("network-config", text(&|| network_config(h, vm, ctx))),
                ("meta-data", text(&|| meta_data(h, vm, ctx))),
            ];
            for (name, contents) in files {
                out.push(Artifact {
                    path: format!("cloudinit/{}/{name}", h.name),
                    contents,
                });
            }
        }
        for (hid, h) in m.hosts.iter_enumerated() {
            let vms: Vec<(HostId, &Host)> = m
                .hosts
                .iter_enumerated()
                .filter(|(_, v)| v.parent == Some(hid) && v.vm.is_some())
                .collect();
            if !h.hypervisor || vms.is_empty() {
                continue;
            }
            out.push(Artifact {
                path: format!("proxmox/{}/provision.sh", h.name),
                contents: if ctx.text {
                    provision_script(m, h, &vms, ctx)
                } else {
                    String::new()
                },
            });
        }
        (out, diags)
    }
}

/// What a host is in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The first server: it initialises the cluster.
    Init,
    /// Another server: it joins the control plane.
    Server,
    /// An agent: it joins as a worker.
    Agent,
}

/// The cluster a host is a member of, and its role there.
pub fn membership(m: &Model, hid: HostId) -> Option<(&Cluster, Role)> {
    m.clusters.iter().find_map(|c| {
        if c.servers.first() == Some(&hid) {
            Some((c, Role::Init))
        } else if c.servers.contains(&hid) {
            Some((c, Role::Server))
        } else if c.agents.contains(&hid) {
            Some((c, Role::Agent))
        } else {
            None
        }
    })
}

/// The environment variable a cluster's token is read from when its members are provisioned.
pub fn token_variable(m: &Model, c: &Cluster) -> Option<String> {
    match &m.secrets[c.token?].source {
        SecretSource::Env(var) => Some(var.clone()),
        _ => None,
    }
}

/// The header lines, as `# ` comments.
fn comments(ctx: &EmitContext<'_>) -> String {
    let mut s = String::new();
    for l in crate::header(ctx.source, "cloudinit") {
        let _ = writeln!(s, "# {l}");
    }
    s
}

/// The MAC address the provisioning script gives a VM's interface, and its network-config
/// matches: locally administered, from the hypervisor's VM id and name, so it stays the same
/// from build to build.
pub fn mac_address(h: &Host, vm: &VmSettings) -> String {
    let hash = sparkc_core::hash::content_hash(format!("{}/{}", vm.id, h.name).as_bytes());
    let b = hash.to_be_bytes();
    format!(
        "02:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[0], b[1], b[2], b[3], b[4]
    )
}

fn strs<'a>(items: impl IntoIterator<Item = &'a str>) -> Yaml {
    Yaml::List(items.into_iter().map(Yaml::str).collect())
}

/// The ports a host serves to the network, as nftables writes them (`tcp`, `80`,
/// `49160-49200`): SSH; every port its services publish on an address other than the
/// loopback; and every port of a service that runs on it outside sparkc (`external`: an OS
/// package's exporter), which Prometheus and the monitors reach at the host's address.
pub fn served_ports(services: &[&Service]) -> Vec<(Proto, String)> {
    let mut out: Vec<(Proto, String)> = vec![(Proto::Tcp, "22".to_string())];
    let mut add = |proto: Proto, first: u16, last: u16| {
        let port = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        if !out.contains(&(proto, port.clone())) {
            out.push((proto, port));
        }
    };
    for s in services {
        if s.external {
            for p in &s.ports {
                add(p.proto, p.port, p.last);
            }
            continue;
        }
        for p in &s.publish {
            if !p.address.is_some_and(|a| a.is_loopback()) {
                add(p.proto, p.host.0, p.host.1);
            }
        }
    }
    out
}

/// The nftables ruleset: a table of its own (Docker's tables stay as Docker made them),
/// dropping what comes in unless it answers a connection, is ICMP, or is for a port the
/// host serves.
fn firewall(ports: &[(Proto, String)], cluster: Option<(Role, Option<Subnet>)>) -> String {
    let mut f = String::from(
        "#!/usr/sbin/nft -f\n# What this host serves, as its sparkc description says; everything else is dropped.\ntable inet sparkc\ndelete table inet sparkc\ntable inet sparkc {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established,related accept\n\t\tct state invalid drop\n\t\tiif lo accept\n\t\tmeta l4proto { icmp, ipv6-icmp } accept\n",
    );
    for proto in [Proto::Tcp, Proto::Udp] {
        let list: Vec<&str> = ports
            .iter()
            .filter(|(p, _)| *p == proto)
            .map(|(_, n)| n.as_str())
            .collect();
        if !list.is_empty() {
            let _ = writeln!(
                f,
                "\t\t{} dport {{ {} }} accept",
                proto.as_str(),
                list.join(", ")
            );
        }
    }
    // k3s between the members (and the API for the subnet's clients): the API, etcd and
    // the kubelet on servers, the kubelet and flannel's VXLAN on every member.
    if let Some((role, subnet)) = cluster {
        let from = match subnet {
            Some(s) if s.address.is_ipv4() => format!("ip saddr {s} "),
            Some(s) => format!("ip6 saddr {s} "),
            None => String::new(),
        };
        let tcp = if role == Role::Agent {
            "10250"
        } else {
            "6443, 2379-2380, 10250"
        };
        let _ = writeln!(f, "\t\t{from}tcp dport {{ {tcp} }} accept");
        let _ = writeln!(f, "\t\t{from}udp dport {{ 8472 }} accept");
    }
    f.push_str("\t}\n}\n");
    f
}

/// The distribution a host's `os` names, for Docker's repository: `debian` or `ubuntu`.
fn distribution(h: &Host) -> &'static str {
    match h.os.as_deref() {
        Some(os) if os.to_ascii_lowercase().starts_with("ubuntu") => "ubuntu",
        _ => "debian",
    }
}

fn user_data(m: &Model, hid: HostId, services: &[&Service], ctx: &EmitContext<'_>) -> String {
    let h = &m.hosts[hid];
    let compose = matches!(h.runtime, Runtime::Compose | Runtime::Swarm)
        && services.iter().any(|s| !s.external);
    let admin = h.admin_user.as_deref().unwrap_or(DEFAULT_ADMIN_USER);
    let mut doc = Yaml::map();
    doc.set("hostname", Yaml::str(h.name.as_str()));
    doc.set("manage_etc_hosts", Yaml::Bool(true));
    if let Some(tz) = &h.timezone {
        doc.set("timezone", Yaml::str(tz.as_str()));
    }
    let mut user = Yaml::map();
    user.set("name", Yaml::str(admin));
    let mut groups = vec!["sudo"];
    if compose {
        groups.push("docker");
    }
    user.set("groups", strs(groups));
    user.set("shell", Yaml::str("/bin/bash"));
    user.set("sudo", Yaml::str("ALL=(ALL) NOPASSWD:ALL"));
    user.set("lock_passwd", Yaml::Bool(true));
    user.set(
        "ssh_authorized_keys",
        strs(h.ssh_keys.iter().map(String::as_str)),
    );
    doc.set("users", Yaml::List(vec![user]));
    doc.set("disable_root", Yaml::Bool(true));
    doc.set("ssh_pwauth", Yaml::Bool(false));
    if compose {
        let mut source = Yaml::map();
        source.set(
            "source",
            Yaml::str(format!(
                "deb [signed-by=$KEY_FILE] https://download.docker.com/linux/{} $RELEASE stable",
                distribution(h)
            )),
        );
        source.set("keyid", Yaml::str(DOCKER_KEY));
        let mut sources = Yaml::map();
        sources.set("docker", source);
        let mut apt = Yaml::map();
        apt.set("sources", sources);
        doc.set("apt", apt);
    }
    doc.set("package_update", Yaml::Bool(true));
    let mut packages = vec!["qemu-guest-agent", "nftables"];
    if compose {
        packages.extend([
            "docker-ce",
            "docker-ce-cli",
            "containerd.io",
            "docker-compose-plugin",
        ]);
    }
    let member = membership(m, hid);
    if member.is_some() {
        packages.push("curl");
    }
    for p in &h.packages {
        if !packages.contains(&p.as_str()) {
            packages.push(p);
        }
    }
    doc.set("packages", strs(packages));
    let file = |path: &str, permissions: &str, content: &str| {
        let mut f = Yaml::map();
        f.set("path", Yaml::str(path));
        f.set("permissions", Yaml::str(permissions));
        f.set("content", Yaml::str(content));
        f
    };
    let mut files = vec![
        file(
            "/etc/nftables.conf",
            "0755",
            &firewall(
                &served_ports(services),
                membership(m, hid).map(|(c, role)| {
                    let subnet = c.servers.first().and_then(|&s| m.hosts[s].subnet);
                    (role, subnet)
                }),
            ),
        ),
        file(
            "/etc/ssh/sshd_config.d/50-sparkc.conf",
            "0644",
            "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n",
        ),
    ];
    // A cluster member: k3s's configuration, and the token it joins with, as a reference the
    // provisioning script fills in from its environment.
    if let Some((c, role)) = member {
        files.push(file(
            "/etc/rancher/k3s/config.yaml",
            "0600",
            &k3s_config(m, h, c, role),
        ));
        if let Some(var) = token_variable(m, c) {
            files.push(file(
                "/etc/rancher/k3s/token",
                "0600",
                &format!("${{{var}}}\n"),
            ));
        }
    }
    // The host's compose projects, as the compose target wrote them.
    let prefix = format!("compose/{}/", h.name);
    let mut projects = Vec::new();
    if compose {
        for a in ctx.generated.iter().filter(|a| a.path.starts_with(&prefix)) {
            let rel = &a.path[prefix.len()..];
            files.push(file(
                &format!("{PROJECT_ROOT}/{}/{rel}", h.name),
                "0644",
                &a.contents,
            ));
            if rel.ends_with("docker-compose.yml") {
                projects.push(format!("{PROJECT_ROOT}/{}/{rel}", h.name));
            }
        }
    }
    doc.set("write_files", Yaml::List(files));
    let cmd = |args: &[&str]| strs(args.iter().copied());
    let mut runcmd = vec![
        cmd(&["systemctl", "enable", "--now", "qemu-guest-agent"]),
        cmd(&["systemctl", "enable", "--now", "nftables"]),
        cmd(&["systemctl", "restart", "nftables"]),
        cmd(&["systemctl", "try-reload-or-restart", "ssh"]),
    ];
    // A project starts once what it reads from its environment is there (`.env` beside it):
    // `config -q` says so without starting anything.
    for p in &projects {
        runcmd.push(cmd(&[
            "sh",
            "-c",
            &format!(
                "cd \"$(dirname '{p}')\" && if docker compose -f '{p}' config -q; then docker compose -f '{p}' up -d; else echo 'sparkc: {p} waits for its .env' >&2; fi"
            ),
        ]));
    }
    if let Some((c, role)) = member {
        let exec = if role == Role::Agent {
            "agent"
        } else {
            "server"
        };
        runcmd.push(cmd(&[
            "sh",
            "-c",
            &format!(
                "curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION='{}' INSTALL_K3S_EXEC='{exec}' sh -",
                c.version
            ),
        ]));
    }
    doc.set("runcmd", Yaml::List(runcmd));
    let mut text = String::from("#cloud-config\n");
    text.push_str(&comments(ctx));
    crate::yaml::write(&mut text, &doc);
    text
}

/// `/etc/rancher/k3s/config.yaml` of a member.
fn k3s_config(m: &Model, h: &Host, c: &Cluster, role: Role) -> String {
    let mut doc = Yaml::map();
    let api = c.api_address(m);
    if role == Role::Init {
        doc.set("cluster-init", Yaml::Bool(true));
    } else if let Some(api) = api {
        let url = if api.is_ipv6() {
            format!("https://[{api}]:6443")
        } else {
            format!("https://{api}:6443")
        };
        doc.set("server", Yaml::str(url));
    }
    doc.set("token-file", Yaml::str("/etc/rancher/k3s/token"));
    if let Some(a) = h.address {
        doc.set("node-ip", Yaml::str(a.to_string()));
    }
    if role != Role::Agent {
        if let Some(api) = api {
            doc.set("tls-san", Yaml::List(vec![Yaml::str(api.to_string())]));
        }
        doc.set("write-kubeconfig-mode", Yaml::str("0600"));
    }
    let mut text = String::new();
    crate::yaml::write(&mut text, &doc);
    text
}

fn network_config(h: &Host, vm: &VmSettings, ctx: &EmitContext<'_>) -> String {
    let mut iface = Yaml::map();
    let mut matcher = Yaml::map();
    matcher.set("macaddress", Yaml::str(mac_address(h, vm)));
    iface.set("match", matcher);
    match (h.address, h.subnet) {
        (Some(ip), Some(subnet)) => {
            iface.set(
                "addresses",
                strs([format!("{ip}/{}", subnet.prefix).as_str()]),
            );
            if let Some(gw) = h.gateway {
                let mut route = Yaml::map();
                // cloud-init 22.4 reads no `default`: the route to everywhere, written out.
                let everywhere = if gw.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
                route.set("to", Yaml::str(everywhere));
                route.set("via", Yaml::str(gw.to_string()));
                iface.set("routes", Yaml::List(vec![route]));
            }
        }
        _ => iface.set("dhcp4", Yaml::Bool(true)),
    }
    if !h.nameservers.is_empty() {
        let mut ns = Yaml::map();
        let addrs: Vec<String> = h.nameservers.iter().map(ToString::to_string).collect();
        ns.set("addresses", strs(addrs.iter().map(String::as_str)));
        iface.set("nameservers", ns);
    }
    let mut ethernets = Yaml::map();
    ethernets.set("lan", iface);
    let mut doc = Yaml::map();
    doc.set("version", Yaml::Int(2));
    doc.set("ethernets", ethernets);
    crate::yaml::to_string(&doc, &crate::header(ctx.source, "cloudinit")).unwrap_or_default()
}

fn meta_data(h: &Host, vm: &VmSettings, ctx: &EmitContext<'_>) -> String {
    let mut doc = Yaml::map();
    doc.set(
        "instance-id",
        Yaml::str(format!("sparkc-{}-{}", vm.id, h.name)),
    );
    doc.set("local-hostname", Yaml::str(h.name.as_str()));
    crate::yaml::to_string(&doc, &crate::header(ctx.source, "cloudinit")).unwrap_or_default()
}

/// `bytes`, rounded up to whole units of `unit` bytes.
fn ceil_div(bytes: u64, unit: u64) -> u64 {
    bytes.div_ceil(unit)
}

/// A value as one shell word, single-quoted where it must be.
fn sh_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=,@+".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn provision_script(
    m: &Model,
    hv: &Host,
    vms: &[(HostId, &Host)],
    ctx: &EmitContext<'_>,
) -> String {
    let mut s = String::from("#!/usr/bin/env bash\n");
    s.push_str(&comments(ctx));
    let _ = write!(
        s,
        r#"#
# Creates or updates the VMs of Proxmox host `{hv}`. Run it on `{hv}`, as root, from a copy
# of the whole output directory: `./proxmox/{hv}/provision.sh`. A VM that does not exist is
# cloned from its template; one that exists is updated (cores, memory, network, cloud-init
# files; its disk only grown), never recreated. Running it twice changes nothing more.
set -euo pipefail

here="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
out="$(cd "$here/../.." && pwd)"

for tool in qm pvesm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "provision.sh: \`$tool\` not found: run this on the Proxmox host {hv}" >&2
    exit 1
  fi
done

# disk_kib VMID DEVICE: the size of a VM's disk, in KiB (0 when it has none).
disk_kib() {{
  local spec
  spec="$(qm config "$1" | sed -n "s/^$2: .*size=\([0-9]*[KMGT]\).*/\1/p")"
  case "$spec" in
    *T) echo $(( ${{spec%T}} * 1024 * 1024 * 1024 )) ;;
    *G) echo $(( ${{spec%G}} * 1024 * 1024 )) ;;
    *M) echo $(( ${{spec%M}} * 1024 )) ;;
    *K) echo "${{spec%K}}" ;;
    *) echo 0 ;;
  esac
}}

# place FILE DEST [VAR...]: FILE copied to DEST, readable by root only, each `${{VAR}}` in it
# filled in from the environment (a cluster's token: no file of the output directory holds it).
place() {{
  local file="$1" dest="$2" var value text
  shift 2
  text="$(cat "$file"; printf x)"
  text="${{text%x}}"
  for var in "$@"; do
    value="${{!var:-}}"
    if [ -z "$value" ]; then
      echo "provision.sh: \`$var\` is not set: export the cluster's token as $var first" >&2
      exit 1
    fi
    case "$value" in
      *[!A-Za-z0-9._:+/=-]*)
        echo "provision.sh: \`$var\` holds characters a token does not have" >&2
        exit 1
        ;;
    esac
    text="${{text//"\${{$var}}"/$value}}"
  done
  (umask 077 && printf '%s' "$text" > "$dest")
}}

# provision VMID NAME TEMPLATE STORAGE CORES MEMORY_MIB DISK_KIB DEVICE NET0 IPCONFIG0 SNIPPETS [VAR...]
provision() {{
  local vmid="$1" name="$2" template="$3" storage="$4" cores="$5" memory="$6" disk="$7"
  local device="$8" net0="$9" ipconfig0="${{10}}" snippets="${{11}}"
  shift 11
  local part custom=""
  for part in user-data network-config meta-data; do
    place "$out/cloudinit/$name/$part" \
      "$(pvesm path "$snippets:snippets/sparkc-$name-$part.yaml")" "$@"
  done
  custom="user=$snippets:snippets/sparkc-$name-user-data.yaml"
  custom="$custom,network=$snippets:snippets/sparkc-$name-network-config.yaml"
  custom="$custom,meta=$snippets:snippets/sparkc-$name-meta-data.yaml"
  if ! qm status "$vmid" >/dev/null 2>&1; then
    echo "provision.sh: creating $name ($vmid) from template $template"
    qm clone "$template" "$vmid" --name "$name" --full 1 --storage "$storage"
  fi
  qm set "$vmid" --name "$name" --cores "$cores" --memory "$memory" --net0 "$net0" \
    --ipconfig0 "$ipconfig0" --agent enabled=1 --cicustom "$custom"
  if [ "$(disk_kib "$vmid" "$device")" -lt "$disk" ]; then
    echo "provision.sh: growing the disk of $name to ${{disk}}K"
    qm resize "$vmid" "$device" "${{disk}}K"
  fi
  if ! qm status "$vmid" | grep -q running; then
    qm start "$vmid"
  fi
}}

"#,
        hv = hv.name
    );
    for &(hid, h) in vms {
        let Some(vm) = &h.vm else { continue };
        let cores = h.cpus.map_or(1, |c| c.ceil() as u64);
        let memory = ceil_div(h.memory.unwrap_or(0), 1 << 20);
        let disk = ceil_div(h.disk.unwrap_or(0), 1 << 10);
        let mut net0 = format!("virtio={},bridge={}", mac_address(h, vm), vm.bridge);
        if let Some(tag) = vm.vlan {
            let _ = write!(net0, ",tag={tag}");
        }
        let ipconfig0 = match (h.address, h.subnet) {
            (Some(ip), Some(subnet)) => {
                let mut c = format!("ip={ip}/{}", subnet.prefix);
                if let Some(gw) = h.gateway {
                    let _ = write!(c, ",gw={gw}");
                }
                c
            }
            _ => "ip=dhcp".to_string(),
        };
        let args = [
            vm.id.to_string(),
            h.name.clone(),
            vm.template.to_string(),
            vm.storage.clone(),
            cores.to_string(),
            memory.to_string(),
            disk.to_string(),
            vm.disk_device.clone(),
            net0,
            ipconfig0,
            vm.snippets.clone(),
        ];
        let mut words: Vec<String> = args.iter().map(|a| sh_word(a)).collect();
        if let Some((c, _)) = membership(m, hid)
            && let Some(var) = token_variable(m, c)
        {
            words.push(sh_word(&var));
        }
        let _ = writeln!(s, "provision {}", words.join(" "));
    }
    s
}
