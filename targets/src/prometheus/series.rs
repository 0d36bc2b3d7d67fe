//! What the series of a scraped service are called, and the queries over them: one place for
//! the scrape jobs prometheus.yml writes, the alert rules over a host's node-exporter, and
//! the Grafana dashboards that chart the same series.

use sparkc_core::model::*;

/// The file systems whose space is not the host's disks.
pub const PSEUDO_FILESYSTEMS: &str = "tmpfs|ramfs|devtmpfs|overlay|squashfs|nsfs|fuse.lxcfs";

/// The network interfaces that are not the host's own (loopback, containers' bridges).
pub const VIRTUAL_INTERFACES: &str = "lo|veth.*|docker.*|br-.*|cni.*|flannel.*";

/// Whether `s` is scraped in its host's job (the default path and interval); otherwise it has
/// a job of its own, `<host>-<service>`.
pub fn in_host_job(s: &Service) -> bool {
    s.metrics_path == "/metrics"
        && s.metrics_interval.is_none()
        && s.metrics_timeout.is_none()
        && !s.metrics_https
        && s.metrics_auth.is_none()
}

/// The scrape job `sid` is in (it has a metrics port).
pub fn job_name(m: &Model, sid: ServiceId) -> String {
    let s = &m.services[sid];
    let host = m.host_of(sid).map_or("?", |h| h.name.as_str());
    if in_host_job(s) {
        host.to_string()
    } else {
        format!("{host}-{}", s.name)
    }
}

/// The address Prometheus (`prom`, the project's, if it declares one) scrapes `sid` at, which
/// is also its `instance` label: its container name where they share a host; from another
/// host, the address and port it publishes its metrics port on there. `Err`: it cannot be
/// reached from Prometheus's host, and the container name is all there is.
pub fn instance(
    m: &Model,
    prom: Option<ServiceId>,
    sid: ServiceId,
) -> Result<String, (String, OutsideGap)> {
    let port = m.services[sid].metrics_port.unwrap_or(0);
    let local = format!("{}:{port}", m.dns_name(sid));
    match prom {
        Some(p) if !m.by_name(p, sid) => match m.from_outside(sid, port, Proto::Tcp) {
            Ok((ip, at)) => Ok(std::net::SocketAddr::new(ip, at).to_string()),
            Err(gap) => Err((local, gap)),
        },
        _ => Ok(local),
    }
}

/// The label matchers that select `sid`'s series: its job and instance.
pub fn selector(m: &Model, prom: Option<ServiceId>, sid: ServiceId) -> String {
    let instance = instance(m, prom, sid).unwrap_or_else(|(local, _)| local);
    format!("job=\"{}\",instance=\"{instance}\"", job_name(m, sid))
}

/// The scraped node-exporter on host `hid`, if there is one.
pub fn node_exporter(m: &Model, hid: HostId) -> Option<ServiceId> {
    scraped_app(m, hid, "node-exporter")
}

/// The scraped cAdvisor on host `hid`, if there is one.
pub fn cadvisor(m: &Model, hid: HostId) -> Option<ServiceId> {
    scraped_app(m, hid, "cadvisor")
}

fn scraped_app(m: &Model, hid: HostId, app: &str) -> Option<ServiceId> {
    m.services
        .iter_enumerated()
        .find(|(_, s)| s.host == Some(hid) && s.runs(app) && s.metrics_port.is_some())
        .map(|(sid, _)| sid)
}

/// Percent of CPU time not idle, over `window` (`5m`, or Grafana's `$__rate_interval`).
pub fn cpu_busy(sel: &str, window: &str) -> String {
    format!(
        "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{{sel},mode=\"idle\"}}[{window}])))"
    )
}

/// Percent of memory not available.
pub fn memory_used(sel: &str) -> String {
    format!(
        "100 * (1 - node_memory_MemAvailable_bytes{{{sel}}} / node_memory_MemTotal_bytes{{{sel}}})"
    )
}

/// Percent of each real file system's space used.
pub fn disk_used(sel: &str) -> String {
    format!(
        "100 * (1 - node_filesystem_avail_bytes{{{sel},fstype!~\"{PSEUDO_FILESYSTEMS}\"}} / node_filesystem_size_bytes{{{sel},fstype!~\"{PSEUDO_FILESYSTEMS}\"}})"
    )
}

/// Percent of time each disk is busy with I/O, over `window`.
pub fn disk_busy(sel: &str, window: &str) -> String {
    format!("100 * rate(node_disk_io_time_seconds_total{{{sel}}}[{window}])")
}

/// Bytes per second each real interface receives (`receive`) or sends (`transmit`).
pub fn network(sel: &str, direction: &str, window: &str) -> String {
    format!(
        "rate(node_network_{direction}_bytes_total{{{sel},device!~\"{VIRTUAL_INTERFACES}\"}}[{window}])"
    )
}

/// The scrape job of a monitor's probe.
pub fn probe_job(mon: &Monitor) -> String {
    format!("probe-{}", mon.name)
}
