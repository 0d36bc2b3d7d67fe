//! Monitoring coverage: where the project runs a Prometheus, every host is watched by a
//! node-exporter and every public domain asked by a probe — by default (`defaults.rs`), or
//! by what the user declared. What neither covers is a warning that names it (W0315, W0316;
//! spark.toml's `[lints]` can make them errors), unless the declaration says it is not
//! to be watched (`exporters = none`, `probe = none`).

use super::defaults::wants_default_probe;
use crate::diag::{Code, Diagnostic};
use crate::model::*;

pub fn check(m: &Model, diags: &mut Vec<Diagnostic>) {
    let Some(prom) = m.app_anywhere("prometheus") else {
        return;
    };
    hosts(m, prom, diags);
    domains(m, prom, diags);
}

fn hosts(m: &Model, prom: ServiceId, diags: &mut Vec<Diagnostic>) {
    let p = &m.services[prom];
    let by_host = m.services_by_host();
    for (hid, h) in m.hosts.iter_enumerated() {
        if let Some(list) = &h.exporters {
            if list.contains(&Exporter::Cadvisor) && p.host != Some(hid) {
                let at = h.field_locs.get("exporters").copied().unwrap_or(h.loc);
                diags.push(
                    Diagnostic::error(
                        Code::UnprotectedAdmin,
                        format!("cAdvisor on `{}` would be scraped from `{}` across hosts", h.name, p.name),
                        at.file,
                        at.span,
                    )
                    .label("its port would be published on the host's address")
                    .help(format!(
                        "cAdvisor's web UI has no login, and it shows every container of the host: it runs by default only on `{}`'s host, where Prometheus reaches it over a container network; list `exporters = [node]` here",
                        p.name
                    )),
                );
            }
            if !list.contains(&Exporter::Node) {
                continue;
            }
        }
        // A node-exporter on it, or its SNMP agent walked (a router, a switch, a NAS).
        let watched = by_host[hid]
            .iter()
            .any(|s| s.runs("node_exporter") && s.metrics_port.is_some())
            || m.monitors.iter().any(|mon| {
                mon.probes
                    && mon.probe == Probe::Snmp
                    && matches!(mon.target, MonitorTarget::Host(t) if t == hid)
            });
        if watched {
            continue;
        }
        let why = if h.runtime == Runtime::Swarm {
            format!(
                "sparkc runs its default node-exporter on compose hosts only: on a swarm, declare one yourself (`service {}-node-exporter on {} = node_exporter()`, pinned to its node), or write `exporters = none`",
                h.name, h.name
            )
        } else if h.runtime != Runtime::Compose {
            format!(
                "it runs no compose containers, where sparkc could run one: declare the exporter installed on it (`service {}-node on {} = node_exporter() {{ external = true }}`), walk its SNMP agent (`monitor {}-snmp {{ target = {}, probe = snmp }}`), or write `exporters = none` if it is not to be watched",
                h.name, h.name, h.name, h.name
            )
        } else if by_host[hid].is_empty() {
            format!(
                "sparkc runs a node-exporter by default on a compose host with services, and `{}` has none: declare one (`service {}-node-exporter on {} = node_exporter()`), or write `exporters = none`",
                h.name, h.name, h.name
            )
        } else if h.address.is_none() && p.host != Some(hid) {
            format!(
                "its default node-exporter would be published on the host's address for `{}` to scrape, and `{}` has none: give it `address = ...`, or write `exporters = none`",
                p.name, h.name
            )
        } else if h.address.is_some_and(|a| !super::secure::is_private(a)) && p.host != Some(hid) {
            format!(
                "its address is public, where a default node-exporter would serve the host's details to anyone: run one published on a private address `{}` reaches (a VPN's: `service {}-node-exporter on {} = node_exporter() {{ publish = [{{ address = 10.8.0.2, host_port = 9100, port = metrics }}] }}`), or write `exporters = none`",
                p.name, h.name, h.name
            )
        } else {
            "write `exporters = none` if it is not to be watched".to_string()
        };
        diags.push(
            Diagnostic::warning(
                Code::UnwatchedHost,
                format!(
                    "host `{}` is not watched: no node-exporter runs on it",
                    h.name
                ),
                h.loc.file,
                h.loc.span,
            )
            .label(format!("`{}` scrapes nothing here", p.name))
            .help(why),
        );
    }
}

fn domains(m: &Model, prom: ServiceId, diags: &mut Vec<Diagnostic>) {
    let blackbox = m.app_anywhere("blackbox_exporter");
    let mut seen = rustc_hash::FxHashSet::default();
    for d in &m.domains {
        if !wants_default_probe(d) || !seen.insert(d.name.as_str()) {
            continue;
        }
        let probed = m.monitors.iter().any(|mon| {
            mon.probes
                && matches!(mon.target, MonitorTarget::Domain(t) if m.domains[t].name == d.name)
        });
        if probed {
            continue;
        }
        let help = match blackbox {
            None => format!(
                "run a blackbox exporter (`service blackbox on {} = blackbox_exporter()` from `std.apps`): every public domain then gets an HTTPS probe that alerts when it is down or its certificate expires; or write `probe = none` on the domain",
                m.services[prom]
                    .host
                    .map_or("HOST", |h| m.hosts[h].name.as_str())
            ),
            Some(_) => format!(
                "its default probe was left out, as a declaration has its name: write a `monitor` with `target = \"{}\"`, or `probe = none` on the domain",
                d.name
            ),
        };
        diags.push(
            Diagnostic::warning(
                Code::UnprobedDomain,
                format!("`{}` is public, but nothing probes it", d.name),
                d.loc.file,
                d.loc.span,
            )
            .label("nobody is told when it is down or its certificate expires")
            .help(help),
        );
    }
}
