//! Hosts: machines, VMs and hypervisors.

use super::{Field, FieldTable, Lowerer, is_safe_name};
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::DeclKind;

/// Every field a host declaration may have.
pub(super) static FIELDS: FieldTable<Host> = FieldTable::new(&[
    Field {
        name: "address",
        form: "address = 203.0.113.10",
        doc: "Its IP address: what monitors probe and what `web01.address` gives.",
        lower: |l, v, h| h.address = l.ip(v),
    },
    Field {
        name: "runtime",
        form: "runtime = compose | swarm | kubernetes | none",
        doc: "What runs its containers; `none` runs none (a hypervisor, a VM for a cluster role).",
        lower: |l, v, h| {
            h.runtime = match l.variant(v, "runtime", &["compose", "swarm", "kubernetes", "none"]) {
                Some("compose") => Runtime::Compose,
                Some("swarm") => Runtime::Swarm,
                Some("kubernetes") => Runtime::Kubernetes,
                _ => Runtime::None,
            }
        },
    },
    Field {
        name: "proxy",
        form: "proxy = caddy | traefik | external | none",
        doc: "The reverse proxy that serves the domains of its services: one sparkc configures, one outside the project (a router's, a tunnel's: domains are names for monitors and links, and nothing is generated for them), or none.",
        lower: |l, v, h| {
            h.proxy = match l.variant(v, "proxy", &["caddy", "traefik", "external", "none"]) {
                Some("caddy") => Proxy::Caddy,
                Some("traefik") => Proxy::Traefik,
                Some("external") => Proxy::External,
                _ => Proxy::None,
            }
        },
    },
    Field {
        name: "cpus",
        form: "cpus = 4",
        doc: "CPU cores it has; services may not reserve more.",
        lower: |l, v, h| h.cpus = l.float(v, 0.01),
    },
    Field {
        name: "memory",
        form: "memory = 8GiB",
        doc: "Memory it has; services may not reserve more.",
        lower: |l, v, h| h.memory = l.size(v),
    },
    Field {
        name: "disk",
        form: "disk = 160GB",
        doc: "Disk it has (for a VM: what its hypervisor gives it).",
        lower: |l, v, h| h.disk = l.size(v),
    },
    Field {
        name: "os",
        form: "os = \"debian-12\"",
        doc: "Its operating system, free text.",
        lower: |l, v, h| h.os = l.str(v),
    },
    Field {
        name: "hypervisor",
        form: "hypervisor = proxmox",
        doc: "It is a hypervisor; its VMs are the hosts declared `host NAME on THIS`.",
        lower: |l, v, h| h.hypervisor = l.variant(v, "hypervisor", &["proxmox"]).is_some(),
    },
    Field {
        name: "exporters",
        form: "exporters = [node, cadvisor] | none",
        doc: "The exporters sparkc runs on it for the project's Prometheus (default on a compose host with services: both; `none` runs none and silences W0315).",
        lower: |l, v, h| h.exporters = l.exporters(v),
    },
    Field {
        name: "subnet",
        form: "subnet = 192.168.1.0/24",
        doc: "The network its `address` is on: the prefix of its static address (the address and `gateway` must be inside it).",
        lower: |l, v, h| h.subnet = l.subnet(v),
    },
    Field {
        name: "gateway",
        form: "gateway = 192.168.1.1",
        doc: "Its default gateway.",
        lower: |l, v, h| h.gateway = l.ip(v),
    },
    Field {
        name: "nameservers",
        form: "nameservers = [192.168.1.1, 9.9.9.9]",
        doc: "The DNS servers it asks.",
        lower: |l, v, h| h.nameservers = l.each(v, Lowerer::ip),
    },
    Field {
        name: "vm",
        form: "vm { id = 101, clone_from = 9000, storage = \"local-lvm\", bridge = \"vmbr0\", vlan = 10, disk_device = \"scsi0\", snippets = \"local\" }",
        doc: "A VM its hypervisor creates, with cloud-init (the cloudinit target): its id, the template it is cloned from, where its disk and interface go; sized by `cpus`, `memory` and `disk`.",
        lower: |l, v, h| h.vm = l.vm_settings(v).map(Box::new),
    },
    Field {
        name: "admin_user",
        form: "admin_user = \"ops\"",
        doc: "The user provisioning creates, with sudo, who logs in by SSH key only (default `ops`).",
        lower: |l, v, h| h.admin_user = l.unix_name(v, "a user name"),
    },
    Field {
        name: "ssh_keys",
        form: "ssh_keys = [\"ssh-ed25519 AAAA... ops@laptop\"]",
        doc: "The SSH public keys that may log in as the admin user (password logins are off).",
        lower: |l, v, h| h.ssh_keys = l.ssh_keys(v),
    },
    Field {
        name: "packages",
        form: "packages = [\"htop\", \"rsync\"]",
        doc: "Packages provisioning installs (beside the ones its role needs).",
        lower: |l, v, h| h.packages = l.each(v, |l, i| l.unix_name(i, "a package name")),
    },
    Field {
        name: "timezone",
        form: "timezone = \"Europe/Berlin\"",
        doc: "Its time zone, by its tz database name.",
        lower: |l, v, h| h.timezone = l.timezone(v),
    },
    Field {
        name: "passthrough",
        form: "passthrough { compose = { \"x-backup\" = { schedule = \"daily\" } } }",
        doc: "Top-level keys written into each of its compose files as they are: extension fields (`x-...`), which tools beside Compose read.",
        lower: |l, v, h| h.passthrough_compose = l.passthrough(v),
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn host(&mut self, sym: usize) -> Host {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let mut h = Host {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            address: None,
            runtime: Runtime::None,
            proxy: Proxy::None,
            cpus: None,
            memory: None,
            disk: None,
            os: None,
            parent: None,
            hypervisor: false,
            exporters: None,
            passthrough_compose: Map::default(),
            subnet: None,
            gateway: None,
            nameservers: Vec::new(),
            vm: None,
            admin_user: None,
            ssh_keys: Vec::new(),
            packages: Vec::new(),
            timezone: None,
            field_locs: self.record_locs(&f, &FIELDS),
        };
        self.lower_fields(&f, &FIELDS, &mut h, |_| true);
        // `host vm on hypervisor`: optional for hosts, unlike services.
        h.parent = self.placement_host(sym, false);
        if !is_safe_name(&h.name) && matches!(h.runtime, Runtime::Compose | Runtime::Swarm) {
            self.ev.err(
                Diagnostic::error(
                    Code::UnsafePath,
                    format!("`{}` cannot be the name of a compose host", h.name),
                    h.loc.file,
                    h.loc.span,
                )
                .label("becomes a directory and a compose project name")
                .help("use lower-case letters, digits, `-` and `_`"),
            );
        }
        h
    }

    /// `subnet = 192.168.1.0/24`: a network, its host bits zero.
    fn subnet(&mut self, v: &V) -> Option<Subnet> {
        let r = self.resolved(v);
        let Val::Cidr(ip, prefix) = r.val else {
            return self.mismatch(&r, "a network (`192.168.1.0/24`)");
        };
        let s = Subnet {
            address: ip,
            prefix,
        };
        let zeroed = match ip {
            std::net::IpAddr::V4(a) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
                u32::from(a) & !mask == 0
            }
            std::net::IpAddr::V6(a) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
                u128::from(a) & !mask == 0
            }
        };
        if !zeroed {
            return self.malformed(
                &r,
                format!("`{ip}/{prefix}` is an address in a network, not the network"),
                "write the network's own address, its host bits zero (`192.168.1.0/24`); the host's address is `address`",
            );
        }
        Some(s)
    }

    /// `vm { id = 101, clone_from = 9000, ... }`.
    fn vm_settings(&mut self, v: &V) -> Option<VmSettings> {
        const KNOWN: &[&str] = &[
            "id",
            "clone_from",
            "storage",
            "bridge",
            "vlan",
            "disk_device",
            "snippets",
        ];
        let rec = self.record(v)?.clone();
        let mut vm = VmSettings {
            id: 0,
            template: 0,
            storage: "local-lvm".into(),
            bridge: "vmbr0".into(),
            vlan: None,
            disk_device: "scsi0".into(),
            snippets: "local".into(),
            loc: v.loc,
        };
        let (mut id, mut template) = (None, None);
        let vm_id = |l: &mut Self, fv: &V| {
            l.int(fv, 100, 999_999_999)
                .and_then(|i| u32::try_from(i).ok())
        };
        for (k, fv, kf) in &rec {
            match k.text.as_str() {
                "id" => id = vm_id(self, fv),
                "clone_from" => template = vm_id(self, fv),
                "storage" => {
                    vm.storage = self.unix_name(fv, "a storage name").unwrap_or(vm.storage);
                }
                "bridge" => vm.bridge = self.unix_name(fv, "a bridge name").unwrap_or(vm.bridge),
                "snippets" => {
                    vm.snippets = self.unix_name(fv, "a storage name").unwrap_or(vm.snippets);
                }
                "vlan" => vm.vlan = self.int(fv, 1, 4094).and_then(|i| u16::try_from(i).ok()),
                "disk_device" => {
                    if let Some(d) =
                        self.variant(fv, "disk device", &["scsi0", "virtio0", "sata0", "ide0"])
                    {
                        vm.disk_device = d.to_string();
                    }
                }
                _ => self.unknown_sub(&k.text, k.span, *kf, "vm", KNOWN),
            }
        }
        for (field, value) in [("id", id), ("clone_from", template)] {
            if value.is_none() && !rec.iter().any(|(k, _, _)| k.text == field) {
                self.ev.err(
                    Diagnostic::error(Code::MissingField, format!("a VM needs its `{field}`"), v.loc.file, v.loc.span)
                        .help("write its id on the hypervisor and the template VM it is cloned from: `vm { id = 101, clone_from = 9000 }`"),
                );
            }
        }
        vm.id = id?;
        vm.template = template?;
        Some(vm)
    }

    /// A name a Unix system takes as it is: a user, a package, a storage or bridge name.
    fn unix_name(&mut self, v: &V, what: &str) -> Option<String> {
        let s = self.str(v)?;
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'+'))
            && !s.starts_with(['-', '.']);
        if ok {
            Some(s)
        } else {
            self.malformed(
                v,
                format!("`{s}` is not {what}"),
                "letters, digits, `-`, `_`, `.` and `+`, not starting with `-` or `.`",
            )
        }
    }

    /// `ssh_keys = ["ssh-ed25519 AAAA... comment"]`: public keys, one line each.
    fn ssh_keys(&mut self, v: &V) -> Vec<String> {
        const TYPES: &[&str] = &[
            "ssh-ed25519",
            "ssh-rsa",
            "ecdsa-sha2-nistp256",
            "ecdsa-sha2-nistp384",
            "ecdsa-sha2-nistp521",
            "sk-ssh-ed25519@openssh.com",
            "sk-ecdsa-sha2-nistp256@openssh.com",
        ];
        let Some(items) = self.list(v) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for i in items {
            let Some(k) = self.str(i) else { continue };
            let mut parts = k.split_whitespace();
            let kind = parts.next().unwrap_or("");
            let body = parts.next().unwrap_or("");
            let base64 = !body.is_empty()
                && body
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
            if !TYPES.contains(&kind) || !base64 || k.contains(['\n', '\r']) {
                let private = k.contains("PRIVATE KEY");
                self.malformed::<()>(
                    i,
                    if private {
                        "this is a private key: it never belongs in a description".to_string()
                    } else {
                        "not an SSH public key".to_string()
                    },
                    "write the public key's one line, as `~/.ssh/id_ed25519.pub` holds it: `ssh-ed25519 AAAA... comment`",
                );
                continue;
            }
            out.push(k);
        }
        out
    }

    /// `timezone = "Europe/Berlin"`: a tz database name.
    fn timezone(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        let ok = !s.is_empty()
            && s.split('/').all(|p| {
                !p.is_empty()
                    && p != ".."
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
            });
        if ok {
            Some(s)
        } else {
            self.malformed(
                v,
                format!("`{s}` is not a time zone"),
                "write its tz database name: `Europe/Berlin`, `America/New_York`, `UTC`",
            )
        }
    }

    /// `exporters = [node, cadvisor]`, or `none` (no exporter).
    fn exporters(&mut self, v: &V) -> Option<Vec<Exporter>> {
        if matches!(&v.val, Val::Name(n) if n.as_str() == "none") {
            return Some(Vec::new());
        }
        let mut out = Vec::new();
        for item in self.list(v)? {
            let e = match self.variant(item, "exporter", &["node", "cadvisor"])? {
                "node" => Exporter::Node,
                _ => Exporter::Cadvisor,
            };
            if out.contains(&e) {
                self.ev.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        "an exporter named twice",
                        item.loc.file,
                        item.loc.span,
                    )
                    .label("named before in this list")
                    .help("name each exporter once"),
                );
            }
            out.push(e);
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    pub(crate) fn placement_host(&mut self, sym: usize, required: bool) -> Option<HostId> {
        let decl = self.decl(sym);
        let file = self.ev.syms.list[sym].file;
        match &decl.placement {
            Some(p) => {
                let v = match self.ev.syms.lookup(&p.text) {
                    // Its declaration's syntax error is reported.
                    Some(s) if self.ev.syms.list[s].broken => return None,
                    Some(s) => {
                        self.ev.references.push((Loc { file, span: p.span }, s));
                        V {
                            val: Val::Ref(s, Vec::new()),
                            loc: Loc { file, span: p.span },
                        }
                    }
                    None => V {
                        val: Val::Name(p.text.clone()),
                        loc: Loc { file, span: p.span },
                    },
                };
                let s = self.decl_ref(&v, DeclKind::Host)?;
                self.host_ids.get(&s).copied()
            }
            None if required => {
                let kind = decl.kind.keyword();
                self.ev.err(
                    Diagnostic::error(
                        Code::BadPlacement,
                        format!("{kind} `{}` is not placed on a host", decl.name.text),
                        file,
                        decl.name.span,
                    )
                    .label("runs where?")
                    .help(format!("write `{kind} {} on HOST ...`", decl.name.text)),
                );
                None
            }
            None => None,
        }
    }
}
