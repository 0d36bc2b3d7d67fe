//! The generated dashboards: every query is built from the series of a scrape job that
//! exists (`prometheus::series`), so a dashboard never charts a job that is not scraped.
//! Deterministic uids (`sparkc-host-<host>`, hashed when longer than Grafana's 40
//! characters), sorted JSON keys.

use super::PROMETHEUS_UID;
use crate::prometheus::series;
use serde_json::{Value, json};
use sparkc_core::model::*;

/// Every dashboard, as (file name, JSON).
pub fn all(m: &Model, prom: Option<ServiceId>, source: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (hid, h) in m.hosts.iter_enumerated() {
        if let Some(node) = series::node_exporter(m, hid) {
            let sel = super::selector(m, prom, node);
            out.push((
                format!("host-{}.json", h.name),
                host_overview(m, hid, &sel, source),
            ));
        }
        if let Some(c) = series::cadvisor(m, hid) {
            let sel = super::selector(m, prom, c);
            out.push((
                format!("containers-{}.json", h.name),
                containers(h, &sel, source),
            ));
        }
    }
    for (sid, s) in m.services.iter_enumerated() {
        if s.panels.is_empty() || s.metrics_port.is_none() {
            continue;
        }
        let sel = super::selector(m, prom, sid);
        out.push((
            format!("app-{}.json", s.name),
            app_board(m, sid, &sel, source),
        ));
    }
    if m.app_anywhere("snmp_exporter").is_some() {
        for mon in m
            .monitors
            .iter()
            .filter(|mon| mon.probes && mon.probe == Probe::Snmp)
        {
            out.push((
                format!("snmp-{}.json", mon.name),
                snmp_board(m, mon, source),
            ));
        }
    }
    let probes: Vec<&Monitor> = m
        .monitors
        .iter()
        .filter(|mon| mon.probes && mon.probe != Probe::Snmp)
        .collect();
    if !probes.is_empty() && m.app_anywhere("blackbox_exporter").is_some() {
        out.push(("probes.json".to_string(), probe_board(&probes, source)));
    }
    out
}

/// A uid Grafana accepts (at most 40 characters of `[A-Za-z0-9_-]`), the same for the same
/// name on every build.
fn uid(kind: &str, name: &str) -> String {
    let plain = format!("sparkc-{kind}-{name}");
    if plain.len() <= 40
        && plain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return plain;
    }
    let mut h = sparkc_core::hash::Fnv64::default();
    h.write(name.as_bytes());
    format!("sparkc-{kind}-{:016x}", h.finish())
}

/// A number as JSON, whole numbers without a fraction.
fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

fn datasource() -> Value {
    json!({"type": "prometheus", "uid": PROMETHEUS_UID})
}

/// One query of a panel.
fn query(ref_id: &str, expr: String, legend: &str) -> Value {
    json!({
        "refId": ref_id,
        "datasource": datasource(),
        "expr": expr,
        "legendFormat": legend,
        "range": true,
    })
}

/// A time series panel at position `i` of a two-column grid.
fn panel(
    i: usize,
    title: &str,
    unit: &str,
    max: Option<f64>,
    limit: Option<f64>,
    queries: Vec<Value>,
) -> Value {
    let mut defaults = json!({
        "unit": unit,
        "min": 0,
        "custom": {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "thresholdsStyle": {"mode": if limit.is_some() { "line" } else { "off" }},
        },
        "thresholds": {
            "mode": "absolute",
            "steps": match limit {
                Some(l) => json!([{"color": "green", "value": null}, {"color": "red", "value": num(l)}]),
                None => json!([{"color": "green", "value": null}]),
            },
        },
    });
    if let Some(max) = max {
        defaults["max"] = num(max);
    }
    json!({
        "id": i + 1,
        "type": "timeseries",
        "title": title,
        "datasource": datasource(),
        "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8},
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": {
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": true},
            "tooltip": {"mode": "multi", "sort": "none"},
        },
        "targets": queries,
    })
}

fn dashboard(uid: String, title: String, source: &str, tags: &[&str], panels: Vec<Value>) -> Value {
    json!({
        "uid": uid,
        "title": title,
        "description": format!(
            "{} from {source} (target: grafana); do not edit: edit the .spark sources and run `sparkc build` instead.",
            sparkc_core::target::GENERATED_MARKER
        ),
        "tags": tags,
        "editable": false,
        "schemaVersion": 39,
        "version": 1,
        "graphTooltip": 1,
        "timezone": "browser",
        "refresh": "1m",
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
    })
}

/// The limit a monitor of host `hid` sets on `measure`, drawn as a red line.
fn limit(m: &Model, hid: HostId, measure: Measure) -> Option<f64> {
    m.monitors
        .iter()
        .filter(|mon| matches!(mon.target, MonitorTarget::Host(h) if h == hid))
        .flat_map(|mon| &mon.thresholds)
        .filter(|t| t.measure == measure)
        .map(|t| t.above)
        .reduce(f64::min)
}

const WINDOW: &str = "$__rate_interval";

fn host_overview(m: &Model, hid: HostId, sel: &str, source: &str) -> Value {
    let h = &m.hosts[hid];
    let panels = vec![
        panel(
            0,
            "CPU busy",
            "percent",
            Some(100.0),
            limit(m, hid, Measure::Cpu),
            vec![query("A", series::cpu_busy(sel, WINDOW), "CPU")],
        ),
        panel(
            1,
            "Memory in use",
            "percent",
            Some(100.0),
            limit(m, hid, Measure::Memory),
            vec![query("A", series::memory_used(sel), "memory")],
        ),
        panel(
            2,
            "Disk space used",
            "percent",
            Some(100.0),
            limit(m, hid, Measure::Disk),
            vec![query("A", series::disk_used(sel), "{{mountpoint}}")],
        ),
        panel(
            3,
            "Disk busy",
            "percent",
            Some(100.0),
            limit(m, hid, Measure::DiskIo),
            vec![query("A", series::disk_busy(sel, WINDOW), "{{device}}")],
        ),
        panel(
            4,
            "Network",
            "Bps",
            None,
            None,
            vec![
                query(
                    "A",
                    series::network(sel, "receive", WINDOW),
                    "{{device}} in",
                ),
                query(
                    "B",
                    series::network(sel, "transmit", WINDOW),
                    "{{device}} out",
                ),
            ],
        ),
    ];
    dashboard(
        uid("host", &h.name),
        format!("Host {}", h.name),
        source,
        &["sparkc", "host"],
        panels,
    )
}

fn containers(h: &Host, sel: &str, source: &str) -> Value {
    let panels = vec![
        panel(
            0,
            "CPU per container",
            "percent",
            None,
            None,
            vec![query(
                "A",
                format!(
                    "100 * sum by (name) (rate(container_cpu_usage_seconds_total{{{sel},name!=\"\"}}[{WINDOW}]))"
                ),
                "{{name}}",
            )],
        ),
        panel(
            1,
            "Memory per container",
            "bytes",
            None,
            None,
            vec![query(
                "A",
                format!("sum by (name) (container_memory_working_set_bytes{{{sel},name!=\"\"}})"),
                "{{name}}",
            )],
        ),
    ];
    dashboard(
        uid("containers", &h.name),
        format!("Containers on {}", h.name),
        source,
        &["sparkc", "containers"],
        panels,
    )
}

/// A service's own panels, as its declaration (usually its template) gives them.
fn app_board(m: &Model, sid: ServiceId, sel: &str, source: &str) -> Value {
    let s = &m.services[sid];
    let panels = s
        .panels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            panel(
                i,
                &p.title,
                &p.unit,
                None,
                None,
                vec![query("A", p.expr.replace("$service", sel), &p.legend)],
            )
        })
        .collect();
    let on = s
        .host
        .map_or(String::new(), |h| format!(" on {}", m.hosts[h].name));
    dashboard(
        uid("app", &s.name),
        format!("{}{on}", s.name),
        source,
        &["sparkc", "app"],
        panels,
    )
}

/// A host's interfaces, walked over SNMP: traffic in and out per interface, and errors.
fn snmp_board(m: &Model, mon: &Monitor, source: &str) -> Value {
    let sel = format!("job=\"{}\"", series::probe_job(mon));
    let host = mon
        .host(m)
        .map_or(mon.name.as_str(), |h| m.hosts[h].name.as_str());
    let traffic = |dir: &str| format!("8 * rate(if{dir}Octets{{{sel}}}[{WINDOW}])");
    let panels = vec![
        panel(
            0,
            "Received per interface",
            "bps",
            None,
            None,
            vec![query("A", traffic("HCIn"), "{{ifName}}")],
        ),
        panel(
            1,
            "Sent per interface",
            "bps",
            None,
            None,
            vec![query("A", traffic("HCOut"), "{{ifName}}")],
        ),
        panel(
            2,
            "Errors per interface",
            "pps",
            None,
            None,
            vec![
                query(
                    "A",
                    format!("rate(ifInErrors{{{sel}}}[{WINDOW}])"),
                    "{{ifName}} in",
                ),
                query(
                    "B",
                    format!("rate(ifOutErrors{{{sel}}}[{WINDOW}])"),
                    "{{ifName}} out",
                ),
            ],
        ),
        panel(
            3,
            "Agent answering",
            "short",
            Some(1.0),
            None,
            vec![query("A", format!("up{{{sel}}}"), "up")],
        ),
    ];
    dashboard(
        uid("snmp", &mon.name),
        format!("Interfaces of {host} (SNMP)"),
        source,
        &["sparkc", "snmp"],
        panels,
    )
}

fn probe_board(probes: &[&Monitor], source: &str) -> Value {
    let jobs: Vec<String> = probes.iter().map(|mon| series::probe_job(mon)).collect();
    let sel = format!("job=~\"{}\"", jobs.join("|"));
    let mut panels = vec![
        panel(
            0,
            "Probes up",
            "none",
            Some(1.0),
            None,
            vec![query("A", format!("probe_success{{{sel}}}"), "{{job}}")],
        ),
        panel(
            1,
            "Response time",
            "s",
            None,
            probes
                .iter()
                .flat_map(|mon| &mon.thresholds)
                .filter(|t| t.measure == Measure::ResponseTime)
                .map(|t| t.above / 1000.0)
                .reduce(f64::min),
            vec![query(
                "A",
                format!("probe_duration_seconds{{{sel}}}"),
                "{{job}}",
            )],
        ),
    ];
    let https: Vec<String> = probes
        .iter()
        .filter(|mon| mon.probe == Probe::Https)
        .map(|mon| series::probe_job(mon))
        .collect();
    if !https.is_empty() {
        panels.push(panel(
            2,
            "Certificate expires in",
            "s",
            None,
            None,
            vec![query(
                "A",
                format!(
                    "probe_ssl_earliest_cert_expiry{{job=~\"{}\"}} - time()",
                    https.join("|")
                ),
                "{{job}}",
            )],
        ));
    }
    dashboard(
        uid("probes", "all"),
        "Probes".to_string(),
        source,
        &["sparkc", "probes"],
        panels,
    )
}
