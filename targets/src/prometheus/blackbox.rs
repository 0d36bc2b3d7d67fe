//! Black-box probes: each `monitor` becomes a scrape job that asks the project's blackbox
//! exporter to probe its target, and the exporter gets a `blackbox.yml` with the modules the
//! monitors use. Without a blackbox exporter service, monitors are left to other tools (the
//! M300 example watches its sites with Uptime Kuma, which is configured in its own UI).

use crate::yaml::{Yaml, render};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::reach::{attachment_text, join_help, unreachable};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext};
use std::collections::BTreeSet;

/// Where the blackbox exporter image reads its configuration (the stdlib template's path).
const CONFIG_IN_CONTAINER: &str = "/etc/blackbox/blackbox.yml";

/// What the monitors add to Prometheus's configuration.
#[derive(Default)]
pub struct Probes {
    /// Scrape jobs for `prometheus.yml`.
    pub jobs: Vec<Yaml>,
    /// The exporter's `blackbox.yml`.
    pub config: Option<Artifact>,
    /// Alerting rules, one per monitor with `alert = down_for(...)`.
    pub alerts: Vec<Yaml>,
}

/// The probes of every monitor. `prom`: the project's Prometheus service, if it declares one;
/// `taken`: job names already used.
pub fn probes(
    m: &Model,
    ctx: &EmitContext<'_>,
    prom: Option<ServiceId>,
    taken: &mut rustc_hash::FxHashSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> Probes {
    let mut out = Probes::default();
    if m.monitors.is_empty() {
        return out;
    }
    let Some(bb) = m.app_anywhere("blackbox_exporter") else {
        return out;
    };
    let exporter = &m.services[bb];
    let port = exporter
        .port("metrics")
        .or_else(|| exporter.ports.first())
        .map_or(9115, |p| p.port);
    let address = format!("{}:{port}", m.dns_name(bb));
    if let Some(prom) = prom
        && m.reach(prom, bb) == Reach::No
    {
        let label = format!("probes go through `{address}`, {}", attachment_text(m, bb));
        let help = join_help(m, prom, bb, "monitoring");
        diags.push(unreachable(m, prom, bb, exporter.loc, label, help));
    }
    let mut modules = BTreeSet::new();
    for mon in &m.monitors {
        let Some(target) = probe_target(m, mon, bb, diags) else {
            continue;
        };
        let module = module_name(mon.probe);
        let name = format!("probe-{}", mon.name);
        if !taken.insert(name.clone()) {
            diags.push(
                Diagnostic::error(
                    Code::Unsupported,
                    format!("two scrape jobs would be named `{name}`"),
                    mon.loc.file,
                    mon.loc.span,
                )
                .help("a host's or a service's job has this name; rename the monitor"),
            );
            continue;
        }
        modules.insert(module);
        let mut job = Yaml::map();
        job.set("job_name", Yaml::Str(name.clone()));
        if let Some(ms) = mon.interval {
            let every = sparkc_core::model::units::format_duration(ms);
            job.set("scrape_interval", Yaml::Str(every.clone()));
            // A scrape may not outlast its interval (the default timeout is 10s).
            if ms < 10_000 {
                job.set("scrape_timeout", Yaml::Str(every));
            }
        }
        job.set("metrics_path", Yaml::str("/probe"));
        let mut params = Yaml::map();
        params.set("module", Yaml::List(vec![Yaml::str(module)]));
        job.set("params", params);
        let mut sc = Yaml::map();
        sc.set("targets", Yaml::List(vec![Yaml::Str(target.clone())]));
        job.set("static_configs", Yaml::List(vec![sc]));
        job.set("relabel_configs", relabel_through(&address));
        if let Some(after) = mon.down_for {
            out.alerts.push(alert(mon, &name, &target, after));
        }
        out.jobs.push(job);
    }
    if out.jobs.is_empty() {
        return out;
    }
    let path = crate::placement::config_path(
        m,
        bb,
        &crate::placement::ConfigFile {
            what: "blackbox.yml",
            in_container: CONFIG_IN_CONTAINER,
            mount_from: "./blackbox.yml",
        },
        "prometheus/blackbox.yml".to_string(),
        diags,
    );
    let mut all = Yaml::map();
    for module in modules {
        all.set(module, module_config(module));
    }
    let mut doc = Yaml::map();
    doc.set("modules", all);
    let header = crate::header(ctx.source, "prometheus");
    out.config = match render(&doc, &header, ctx) {
        Ok(contents) => Some(Artifact { path, contents }),
        Err(err) => {
            diags.push(Diagnostic::error(
                Code::Unsupported,
                format!("cannot serialise blackbox.yml: {err}"),
                exporter.loc.file,
                exporter.loc.span,
            ));
            None
        }
    };
    out
}

/// The rule that fires when a monitor's probe has failed for `after` milliseconds. Alert
/// names are metric-style names (`website-up` → `website_up`); the monitor's own name is a
/// label.
fn alert(mon: &Monitor, job: &str, target: &str, after: u64) -> Yaml {
    let name: String = mon
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut labels = Yaml::map();
    labels.set("severity", Yaml::str("critical"));
    labels.set("monitor", Yaml::Str(mon.name.clone()));
    let mut annotations = Yaml::map();
    annotations.set(
        "summary",
        Yaml::Str(format!(
            "{target} has failed its {} probe for {}",
            module_name(mon.probe),
            sparkc_core::model::units::format_duration(after)
        )),
    );
    let mut rule = Yaml::map();
    rule.set("alert", Yaml::Str(name));
    rule.set(
        "expr",
        Yaml::Str(format!("probe_success{{job=\"{job}\"}} == 0")),
    );
    rule.set(
        "for",
        Yaml::Str(sparkc_core::model::units::format_duration(after)),
    );
    rule.set("labels", labels);
    rule.set("annotations", annotations);
    rule
}

fn module_name(p: Probe) -> &'static str {
    match p {
        Probe::Http => "http_2xx",
        Probe::Https => "https_2xx",
        Probe::Tcp => "tcp_connect",
        Probe::Icmp => "icmp",
    }
}

fn module_config(module: &str) -> Yaml {
    let (prober, https) = match module {
        "http_2xx" => ("http", false),
        "https_2xx" => ("http", true),
        "tcp_connect" => ("tcp", false),
        _ => ("icmp", false),
    };
    let mut settings = Yaml::map();
    if https {
        settings.set("fail_if_not_ssl", Yaml::Bool(true));
    }
    settings.set("preferred_ip_protocol", Yaml::str("ip4"));
    let mut y = Yaml::map();
    y.set("prober", Yaml::str(prober));
    y.set("timeout", Yaml::str("5s"));
    y.set(prober, settings);
    y
}

/// The relabelling that sends a probe job's scrape to the exporter, with the target as a
/// parameter and as the `instance` label.
fn relabel_through(address: &str) -> Yaml {
    let rule = |pairs: &[(&str, Yaml)]| {
        let mut y = Yaml::map();
        for (k, v) in pairs {
            y.set(*k, v.clone());
        }
        y
    };
    Yaml::List(vec![
        rule(&[
            ("source_labels", Yaml::List(vec![Yaml::str("__address__")])),
            ("target_label", Yaml::str("__param_target")),
        ]),
        rule(&[
            (
                "source_labels",
                Yaml::List(vec![Yaml::str("__param_target")]),
            ),
            ("target_label", Yaml::str("instance")),
        ]),
        rule(&[
            ("target_label", Yaml::str("__address__")),
            ("replacement", Yaml::str(address)),
        ]),
    ])
}

/// What the exporter probes for a monitor; a service target must be reachable from it.
fn probe_target(
    m: &Model,
    mon: &Monitor,
    bb: ServiceId,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let scheme = |p: Probe| if p == Probe::Http { "http" } else { "https" };
    Some(match &mon.target {
        MonitorTarget::Domain(did) => {
            let d = &m.domains[*did];
            let path = d.path_prefix.as_deref().unwrap_or("");
            match mon.probe {
                Probe::Http | Probe::Https => format!("{}://{}{path}", scheme(mon.probe), d.name),
                Probe::Tcp if d.tls == Tls::Off => format!("{}:80", d.name),
                Probe::Tcp => format!("{}:443", d.name),
                Probe::Icmp => d.name.clone(),
            }
        }
        MonitorTarget::Service { service: sid, port } => {
            if m.reach(bb, *sid) == Reach::No {
                let label = format!(
                    "monitor `{}` probes `{}` through `{}`",
                    mon.name, m.services[*sid].name, m.services[bb].name
                );
                let help = join_help(m, bb, *sid, "monitoring");
                diags.push(unreachable(m, bb, *sid, mon.loc, label, help));
                return None;
            }
            let number = port.number;
            let host = m.dns_name(*sid);
            match mon.probe {
                Probe::Http | Probe::Https => {
                    format!("{}://{host}:{number}/", scheme(mon.probe))
                }
                Probe::Tcp => format!("{host}:{number}"),
                Probe::Icmp => host.to_string(),
            }
        }
        MonitorTarget::Host(hid) => {
            let h = &m.hosts[*hid];
            let addr = h.address.map_or_else(|| h.name.clone(), |a| a.to_string());
            match mon.probe {
                Probe::Http | Probe::Https => format!("{}://{addr}/", scheme(mon.probe)),
                Probe::Icmp => addr,
                Probe::Tcp => {
                    diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!("monitor `{}` probes host `{}` over TCP, but names no port", mon.name, h.name),
                            mon.loc.file,
                            mon.loc.span,
                        )
                        .help("probe a service's port instead (`target = svc.port.name`), or the host with `probe = icmp`"),
                    );
                    return None;
                }
            }
        }
    })
}
