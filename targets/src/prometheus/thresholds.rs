//! Threshold alerts on a host's resources: a monitor whose target is a host and whose alert
//! is `cpu_above(70, 5m)`, `memory_above(...)`, `disk_above(...)` or `disk_io_above(...)`
//! gets a rule over the series of the node-exporter that runs on that host, by the scrape
//! job and instance Prometheus gives them (its container name, or from another host the
//! address it is published at). A host without a node-exporter Prometheus scrapes
//! cannot be measured: E0401 names it.

use super::blackbox::alert_rule;
use super::series;
use crate::yaml::Yaml;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;

/// A number as a `PromQL` expression reads it: no trailing `.0`.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The rules of every host threshold. `prom`: the project's Prometheus, if it declares one.
pub fn host_rules(m: &Model, prom: Option<ServiceId>, diags: &mut Vec<Diagnostic>) -> Vec<Yaml> {
    let mut rules = Vec::new();
    for mon in &m.monitors {
        let MonitorTarget::Host(hid) = mon.target else {
            continue;
        };
        let wanted: Vec<&Threshold> = mon
            .thresholds
            .iter()
            .filter(|t| t.measure.of_host())
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let host = &m.hosts[hid];
        let Some(sid) = series::node_exporter(m, hid) else {
            diags.push(
                Diagnostic::error(
                    Code::Unsupported,
                    format!(
                        "monitor `{}` measures host `{}`, but no node-exporter there is scraped",
                        mon.name, host.name
                    ),
                    mon.loc.file,
                    mon.loc.span,
                )
                .label("CPU, memory and disks are read from the host's node-exporter")
                .help(format!(
                    "run one on it, `service node-exporter on {} = node_exporter()` from `std.apps`, beside the project's Prometheus",
                    host.name
                )),
            );
            continue;
        };
        let sel = series::selector(m, prom, sid);
        for t in wanted {
            let limit = number(t.above);
            let after = sparkc_core::model::units::format_duration(t.for_ms);
            let (suffix, expr, what) = match t.measure {
                Measure::Cpu => ("_cpu", series::cpu_busy(&sel, "5m"), "CPU busy"),
                Measure::Memory => ("_memory", series::memory_used(&sel), "memory in use"),
                Measure::Disk => (
                    "_disk",
                    series::disk_used(&sel),
                    "disk space used on {{ $labels.mountpoint }}",
                ),
                Measure::DiskIo => (
                    "_disk_io",
                    series::disk_busy(&sel, "5m"),
                    "disk {{ $labels.device }} busy",
                ),
                Measure::ResponseTime => continue,
            };
            rules.push(alert_rule(
                m,
                mon,
                suffix,
                format!("{expr} > {limit}"),
                &after,
                t.severity,
                format!(
                    "{}: {what} above {limit}% for {after} (now {{{{ $value | printf \"%.0f\" }}}}%)",
                    host.name
                ),
            ));
        }
    }
    rules
}
