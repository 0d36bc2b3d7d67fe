//! Threshold alerts on a host's resources: a monitor whose target is a host and whose alert
//! is `cpu_above(70, 5m)`, `memory_above(...)`, `disk_above(...)` or `disk_io_above(...)`
//! gets a rule over the series of the node-exporter that runs on that host, by the scrape
//! job and instance Prometheus gives them (its container name, or from another host the
//! address it is published at). A host without a node-exporter Prometheus scrapes
//! cannot be measured: E0401 names it.

use super::blackbox::alert_rule;
use crate::yaml::Yaml;
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;

/// The file systems whose space is not the host's disks.
const PSEUDO_FILESYSTEMS: &str = "tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.lxcfs";

/// A number as a `PromQL` expression reads it: no trailing `.0`.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The rules of every host threshold. `job_of`: the scrape job each scraped service is in.
pub fn host_rules(
    m: &Model,
    job_of: &rustc_hash::FxHashMap<ServiceId, (String, String)>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Yaml> {
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
        let exporter = m.services.iter_enumerated().find(|(sid, s)| {
            s.host == Some(hid) && s.runs("node-exporter") && job_of.contains_key(sid)
        });
        let Some((sid, _)) = exporter else {
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
        let (job, instance) = &job_of[&sid];
        let series = format!("job=\"{job}\",instance=\"{instance}\"");
        for t in wanted {
            let limit = number(t.above);
            let after = sparkc_core::model::units::format_duration(t.for_ms);
            let (suffix, expr, what) = match t.measure {
                Measure::Cpu => (
                    "_cpu",
                    format!(
                        "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{{series},mode=\"idle\"}}[5m]))) > {limit}"
                    ),
                    "CPU busy",
                ),
                Measure::Memory => (
                    "_memory",
                    format!(
                        "100 * (1 - node_memory_MemAvailable_bytes{{{series}}} / node_memory_MemTotal_bytes{{{series}}}) > {limit}"
                    ),
                    "memory in use",
                ),
                Measure::Disk => (
                    "_disk",
                    format!(
                        "100 * (1 - node_filesystem_avail_bytes{{{series},fstype!~\"{PSEUDO_FILESYSTEMS}\"}} / node_filesystem_size_bytes{{{series},fstype!~\"{PSEUDO_FILESYSTEMS}\"}}) > {limit}"
                    ),
                    "disk space used on {{ $labels.mountpoint }}",
                ),
                Measure::DiskIo => (
                    "_disk_io",
                    format!(
                        "100 * rate(node_disk_io_time_seconds_total{{{series}}}[5m]) > {limit}"
                    ),
                    "disk {{ $labels.device }} busy",
                ),
                Measure::ResponseTime => continue,
            };
            rules.push(alert_rule(
                m,
                mon,
                suffix,
                expr,
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
