//! SNMP probes: a `monitor` with `probe = snmp` on a host becomes a scrape job that asks the
//! project's SNMP exporter to walk the host's interface table (the exporter's shipped
//! `if_mib` module, community `public` over SNMP v2c), and `alert = down_for(...)` a rule on
//! the job's `up`: the exporter answers with an error when the walk fails.

use super::blackbox::{alert_rule, exporter_job};
use crate::yaml::Yaml;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::reach::{attachment_text, join_help, unreachable};
use sparkc_core::model::*;

/// The module of the exporter's shipped configuration that walks IF-MIB.
pub const MODULE: &str = "if_mib";

/// The scrape jobs and alert rules of the SNMP monitors.
pub fn probes(
    m: &Model,
    prom: Option<ServiceId>,
    taken: &mut rustc_hash::FxHashSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Yaml>, Vec<Yaml>) {
    let (mut jobs, mut alerts) = (Vec::new(), Vec::new());
    let monitors: Vec<&Monitor> = m
        .monitors
        .iter()
        .filter(|mon| mon.probes && mon.probe == Probe::Snmp)
        .collect();
    if monitors.is_empty() {
        return (jobs, alerts);
    }
    let Some(exporter) = m.app_anywhere("snmp_exporter") else {
        for mon in monitors {
            diags.push(
                Diagnostic::error(
                    Code::Unsupported,
                    format!("monitor `{}` walks its host over SNMP, and the project runs no SNMP exporter", mon.name),
                    mon.loc.file,
                    mon.loc.span,
                )
                .label("who asks the host's agent?")
                .help("run one beside Prometheus: `service snmp on HOST = snmp_exporter()` from `std.apps`"),
            );
        }
        return (jobs, alerts);
    };
    let e = &m.services[exporter];
    let port = e
        .port("metrics")
        .or_else(|| e.ports.first())
        .map_or(9116, |p| p.port);
    let address = format!("{}:{port}", m.dns_name(exporter));
    if let Some(prom) = prom
        && m.reach(prom, exporter) == Reach::No
    {
        let label = format!(
            "SNMP walks go through `{address}`, {}",
            attachment_text(m, exporter)
        );
        let help = join_help(m, prom, exporter, "monitoring");
        diags.push(unreachable(m, prom, exporter, e.loc, label, help));
    }
    for mon in monitors {
        let MonitorTarget::Host(hid) = mon.target else {
            continue; // refused in lowering
        };
        let h = &m.hosts[hid];
        let target = h.address.map_or_else(|| h.name.clone(), |a| a.to_string());
        let Some((name, job)) = exporter_job(
            mon,
            "/snmp",
            MODULE,
            &target,
            Some(&h.name),
            &address,
            taken,
            diags,
        ) else {
            continue;
        };
        jobs.push(job);
        if let Some(after) = mon.down_for {
            let after = sparkc_core::model::units::format_duration(after);
            alerts.push(alert_rule(
                m,
                mon,
                "",
                format!("up{{job=\"{name}\"}} == 0"),
                &after,
                mon.severity,
                format!(
                    "the SNMP agent of {} ({target}) has not answered for {after}",
                    h.name
                ),
            ));
        }
    }
    (jobs, alerts)
}
