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
