//! Black-box probes: each `monitor` becomes a scrape job that asks the project's blackbox
//! exporter to probe its target, and the exporter gets a `blackbox.yml` with the modules the
//! monitors use. Without a blackbox exporter service, monitors are left to other tools (the
//! M300 example watches its sites with Uptime Kuma, which is configured in its own UI).

use crate::yaml::{Yaml, render};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::reach::{attachment_text, join_help, unreachable};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext};
use std::collections::BTreeMap;

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
    // Each module once, by name (a monitor with its own expectations has its own).
    let mut modules: BTreeMap<String, &Monitor> = BTreeMap::new();
    // SNMP probes go through the SNMP exporter (`snmp.rs`).
    for mon in m
        .monitors
        .iter()
        .filter(|mon| mon.probes && mon.probe != Probe::Snmp)
    {
        let Some(target) = probe_target(m, mon, bb, diags) else {
            continue;
        };
        let module = module_of(mon);
        let Some((name, job)) = exporter_job(
            mon, "/probe", &module, &target, None, &address, taken, diags,
        ) else {
            continue;
        };
        modules.entry(module.clone()).or_insert(mon);
        if let Some(after) = mon.down_for {
            out.alerts.push(alert(m, mon, &name, &target, after));
        }
        if let Some(within) = mon.cert_expiry {
            out.alerts.push(cert_alert(m, mon, &name, &target, within));
        }
        for t in &mon.thresholds {
            if t.measure == Measure::ResponseTime {
                out.alerts
                    .push(response_time_alert(m, mon, t, &name, &target));
            }
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
    for (module, mon) in &modules {
        all.set(module.as_str(), module_config(mon));
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
fn alert(m: &Model, mon: &Monitor, job: &str, target: &str, after: u64) -> Yaml {
    let after = sparkc_core::model::units::format_duration(after);
    alert_rule(
        m,
        mon,
        "",
        format!("probe_success{{job=\"{job}\"}} == 0"),
        &after,
        mon.severity,
        format!(
            "{target} has failed its {} probe for {after}",
            module_of(mon)
        ),
    )
}

/// An alert when the target's certificate (the earliest-expiring in its chain) expires
/// within `within` ms: checked at every probe, firing after an hour of it.
fn cert_alert(m: &Model, mon: &Monitor, job: &str, target: &str, within: u64) -> Yaml {
    alert_rule(
        m,
        mon,
        "_certificate_expiry",
        format!(
            "probe_ssl_earliest_cert_expiry{{job=\"{job}\"}} - time() < {}",
            within / 1000
        ),
        "1h",
        Severity::Warning,
        format!(
            "the certificate of {target} expires within {}",
            sparkc_core::model::units::format_duration(within)
        ),
    )
}

/// An alert when a probe's answers take longer than the threshold for its duration.
fn response_time_alert(m: &Model, mon: &Monitor, t: &Threshold, job: &str, target: &str) -> Yaml {
    let limit = sparkc_core::model::units::format_duration(t.above as u64);
    let after = sparkc_core::model::units::format_duration(t.for_ms);
    alert_rule(
        m,
        mon,
        "_response_time",
        format!(
            "probe_duration_seconds{{job=\"{job}\"}} > {}",
            super::thresholds::number(t.above / 1000.0)
        ),
        &after,
        t.severity,
        format!("{target} has answered slower than {limit} for {after}"),
    )
}

/// A monitor's alerting rule: named after it (`-` as `_`) with `suffix`, labelled with its
/// severity, its name and the host what it probes runs on (which receivers select by, and
/// Alertmanager inhibits by).
pub(super) fn alert_rule(
    m: &Model,
    mon: &Monitor,
    suffix: &str,
    expr: String,
    after: &str,
    severity: Severity,
    summary: String,
) -> Yaml {
    let mut labels = Yaml::map();
    labels.set("severity", Yaml::str(severity.as_str()));
    labels.set("monitor", Yaml::Str(mon.name.clone()));
    if let Some(h) = mon.host(m) {
        labels.set("host", Yaml::Str(m.hosts[h].name.clone()));
    }
    let mut annotations = Yaml::map();
    annotations.set("summary", Yaml::Str(summary));
    let mut rule = Yaml::map();
    rule.set(
        "alert",
        Yaml::Str(super::alertmanager::alert_name(mon, suffix)),
    );
    rule.set("expr", Yaml::Str(expr));
    rule.set("for", Yaml::str(after));
    rule.set("labels", labels);
    rule.set("annotations", annotations);
    rule
}

/// The module a monitor probes with: the shared one of its probe, or, with expectations of
/// its own (status codes, a body match), `<module>_<monitor>`.
fn module_of(mon: &Monitor) -> String {
    if mon.has_own_expectations() {
        format!("{}_{}", module_name(mon.probe), mon.name)
    } else {
        module_name(mon.probe).to_string()
    }
}

fn module_name(p: Probe) -> &'static str {
    match p {
        Probe::Http => "http_2xx",
        Probe::Https => "https_2xx",
        Probe::Tcp => "tcp_connect",
        Probe::Icmp => "icmp",
        // The SNMP exporter's module (`snmp.rs`): never in blackbox.yml.
        Probe::Snmp => "if_mib",
    }
}

fn module_config(mon: &Monitor) -> Yaml {
    let (prober, https) = match mon.probe {
        Probe::Http => ("http", false),
        Probe::Https => ("http", true),
        Probe::Tcp => ("tcp", false),
        Probe::Icmp => ("icmp", false),
        Probe::Snmp => ("snmp", false),
    };
    let mut settings = Yaml::map();
    if https {
        settings.set("fail_if_not_ssl", Yaml::Bool(true));
    }
    if prober == "http" && mon.has_own_expectations() {
        if !mon.status.is_empty() {
            settings.set(
                "valid_status_codes",
                Yaml::List(
                    mon.status
                        .iter()
                        .map(|c| Yaml::Int(i64::from(*c)))
                        .collect(),
                ),
            );
        }
        if let Some(body) = &mon.body {
            settings.set(
                "fail_if_body_not_matches_regexp",
                Yaml::List(vec![Yaml::Str(body.clone())]),
            );
        }
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
/// The scrape job `probe-<monitor>` that asks a multi-target exporter at `exporter`
/// (`host:port`) to probe `target` with `module` on `path` — the blackbox exporter's
/// `/probe`, the SNMP exporter's `/snmp` — labelled `host` where given. `None`, reported,
/// when another job has the name.
#[allow(clippy::too_many_arguments)]
pub(super) fn exporter_job(
    mon: &Monitor,
    path: &str,
    module: &str,
    target: &str,
    host: Option<&str>,
    exporter: &str,
    taken: &mut rustc_hash::FxHashSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> Option<(String, Yaml)> {
    let name = super::series::probe_job(mon);
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
        return None;
    }
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
    job.set("metrics_path", Yaml::str(path));
    let mut params = Yaml::map();
    params.set("module", Yaml::List(vec![Yaml::str(module)]));
    job.set("params", params);
    let mut sc = Yaml::map();
    sc.set("targets", Yaml::List(vec![Yaml::str(target)]));
    if let Some(h) = host {
        let mut labels = Yaml::map();
        labels.set("host", Yaml::str(h));
        sc.set("labels", labels);
    }
    job.set("static_configs", Yaml::List(vec![sc]));
    job.set("relabel_configs", relabel_through(exporter));
    Some((name, job))
}

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
            let path = mon
                .path
                .as_deref()
                .or(d.path_prefix.as_deref())
                .unwrap_or("");
            match mon.probe {
                Probe::Http | Probe::Https => format!("{}://{}{path}", scheme(mon.probe), d.name),
                // A TCP route listens on its entry point's port.
                Probe::Tcp => match m
                    .entrypoint_port(d)
                    .filter(|_| d.protocol == RouteProtocol::Tcp)
                {
                    Some(port) => format!("{}:{port}", d.name),
                    None if d.tls == Tls::Off => format!("{}:80", d.name),
                    None => format!("{}:443", d.name),
                },
                Probe::Icmp | Probe::Snmp => d.name.clone(),
            }
        }
        MonitorTarget::Service { service: sid, port } => {
            // On another host: the address and port it is published at there.
            let (host, number) = if m.by_name(bb, *sid) {
                if m.reach(bb, *sid) == Reach::No {
                    let label = format!(
                        "monitor `{}` probes `{}` through `{}`",
                        mon.name, m.services[*sid].name, m.services[bb].name
                    );
                    let help = join_help(m, bb, *sid, "monitoring");
                    diags.push(unreachable(m, bb, *sid, mon.loc, label, help));
                    return None;
                }
                (m.dns_name(*sid).to_string(), port.number)
            } else {
                match m.from_outside(*sid, port.number, port.proto) {
                    Ok((ip, at)) if ip.is_ipv6() => (format!("[{ip}]"), at),
                    Ok((ip, at)) => (ip.to_string(), at),
                    Err(_) => {
                        let s = &m.services[*sid];
                        let label = format!(
                            "monitor `{}` probes `{}` on `{}` from `{}`",
                            mon.name,
                            s.name,
                            m.host_of(*sid).map_or("?", |h| h.name.as_str()),
                            m.host_of(bb).map_or("?", |h| h.name.as_str())
                        );
                        let help = format!(
                            "publish port `{}` of `{}` on its host's private address, where the blackbox exporter probes it (`publish = [{}]`), or run a blackbox exporter on its host",
                            port.name, s.name, port.name
                        );
                        diags.push(unreachable(m, bb, *sid, mon.loc, label, help));
                        return None;
                    }
                }
            };
            match mon.probe {
                Probe::Http | Probe::Https => format!(
                    "{}://{host}:{number}{}",
                    scheme(mon.probe),
                    mon.path.as_deref().unwrap_or("/")
                ),
                Probe::Tcp => format!("{host}:{number}"),
                Probe::Icmp | Probe::Snmp => host,
            }
        }
        MonitorTarget::Url(url) => url.clone(),
        MonitorTarget::Host(hid) => {
            let h = &m.hosts[*hid];
            let addr = h.address.map_or_else(|| h.name.clone(), |a| a.to_string());
            match mon.probe {
                Probe::Http | Probe::Https => format!(
                    "{}://{addr}{}",
                    scheme(mon.probe),
                    mon.path.as_deref().unwrap_or("/")
                ),
                Probe::Icmp | Probe::Snmp => addr,
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
