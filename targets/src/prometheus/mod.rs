//! Prometheus: `prometheus/prometheus.yml` with one scrape job per host, listing the
//! services that declare a `metrics` port, and a probe job per `monitor` when the project
//! runs a blackbox exporter (`blackbox`, which also writes its `blackbox.yml`).
//!
//! Targets are addressed by service name (`svc:port`), which resolves where Prometheus
//! shares a container network with them. Services with a non-default `metrics_path` get a
//! job of their own (`<host>-<service>`), since `metrics_path` is per job.
//!
//! Options (`[targets.prometheus]`): `scrape_interval` (default `30s`); `evaluation_interval`
//! (default: the scrape interval); `path`, where the
//! file goes inside the out dir (default: where the project's Prometheus service mounts it
//! from, next to its compose file; without one, `prometheus/prometheus.yml`). Alert rules go
//! to `rules/monitors.yml` beside it.

mod alertmanager;
mod blackbox;
mod promql;
pub mod series;
mod snmp;
mod thresholds;

/// The rule files prometheus.yml loads, relative to itself (Prometheus resolves them against
/// the config file's directory, so the same line works inside the container and in the out dir).
const RULES: &str = "rules/*.yml";

/// Where the Prometheus image reads its configuration (the stdlib template's path).
const CONFIG_IN_CONTAINER: &str = "/etc/prometheus/prometheus.yml";

/// Where [`RULES`] resolve inside the container: beside [`CONFIG_IN_CONTAINER`].
const RULES_IN_CONTAINER: &str = "/etc/prometheus/rules";

use crate::yaml::{Yaml, render};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::reach::{self, attachment_text, join_help};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext, OptionKind, Target, TargetOption};

pub struct Prometheus;

impl Target for Prometheus {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn options(&self) -> &'static [TargetOption] {
        &[
            TargetOption {
                name: "scrape_interval",
                kind: OptionKind::Duration,
                doc: "how often every job is scraped (default `30s`)",
                example: "\"15s\"",
            },
            TargetOption {
                name: "evaluation_interval",
                kind: OptionKind::Duration,
                doc: "how often alert rules are evaluated (default: the scrape interval)",
                example: "\"15s\"",
            },
            TargetOption {
                name: "external_labels",
                kind: OptionKind::Labels,
                doc: "labels this Prometheus adds to every series and alert it sends out (`global.external_labels`): which site an alert comes from",
                example: "\"site=office,env=prod\"",
            },
            TargetOption {
                name: "path",
                kind: OptionKind::OutPath,
                doc: "where prometheus.yml goes in the out dir (default: where the project's Prometheus mounts it)",
                example: "\"compose/monitoring/prometheus.yml\"",
            },
        ]
    }

    fn emit(&self, m: &Model, ctx: &EmitContext<'_>) -> (Vec<Artifact>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let interval = ctx
            .options
            .get("scrape_interval")
            .cloned()
            .unwrap_or_else(|| "30s".to_string());
        let mut by_host: List<HostId, Vec<ServiceId>> = List::filled(m.hosts.len(), Vec::new());
        for (sid, s) in m.services.iter_enumerated() {
            if let Some(h) = s.host
                && s.metrics_port.is_some()
            {
                by_host[h].push(sid);
            }
        }
        // Targets are container names where the project's Prometheus shares a network with
        // them; on another host, the address and port they are published at there.
        let prom = m.app_anywhere("prometheus");
        let mut address: rustc_hash::FxHashMap<ServiceId, String> =
            rustc_hash::FxHashMap::default();
        for &sid in by_host.iter().flatten() {
            match series::instance(m, prom, sid) {
                Ok(at) => {
                    if let Some(prom) = prom
                        && m.by_name(prom, sid)
                        && m.reach(prom, sid) == Reach::No
                    {
                        diags.push(unreachable(m, prom, sid, None));
                    }
                    address.insert(sid, at);
                }
                Err((local, gap)) => {
                    if let Some(prom) = prom {
                        diags.push(unreachable(m, prom, sid, Some(gap)));
                    }
                    address.insert(sid, local);
                }
            }
        }
        // A host's job is named after the host; a service with its own path or interval gets
        // `<host>-<service>`, which can equal another host's name (`a-b` and service `b` on
        // `a`) or another such pair. Every host job is known before any pair is named, so the
        // collision is found whichever comes first.
        let mut taken: rustc_hash::FxHashSet<String> = m
            .hosts
            .iter_enumerated()
            .filter(|(hid, _)| {
                by_host[*hid]
                    .iter()
                    .any(|&sid| series::in_host_job(&m.services[sid]))
            })
            .map(|(_, h)| h.name.clone())
            .collect();
        let mut jobs = Vec::new();
        for (hid, h) in m.hosts.iter_enumerated() {
            let mut default_path = Vec::new();
            let mut own_path = Vec::new();
            for &sid in &by_host[hid] {
                let s = &m.services[sid];
                let target = ScrapeTarget {
                    address: address[&sid].clone(),
                    host: &h.name,
                    service: &s.name,
                };
                if series::in_host_job(s) {
                    default_path.push(target);
                } else {
                    own_path.push((s, target));
                }
            }
            if !default_path.is_empty() {
                jobs.push(job(&h.name, default_path));
            }
            for (s, target) in own_path {
                let name = format!("{}-{}", h.name, s.name);
                if !taken.insert(name.clone()) {
                    let loc = [
                        "metrics_path",
                        "metrics_interval",
                        "metrics_timeout",
                        "metrics_scheme",
                        "metrics_auth",
                    ]
                    .into_iter()
                    .find_map(|f| s.field_locs.get(f).copied())
                    .unwrap_or(s.loc);
                    diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!("two scrape jobs would be named `{name}`"),
                            loc.file,
                            loc.span,
                        )
                        .label(format!("this gives `{}` on `{}` a job of its own", s.name, h.name))
                        .help("a host's job and a host-service job have the same name; rename the host or the service")
                        .about(s.subject()),
                    );
                    continue;
                }
                let mut job = job(&name, vec![target]);
                let every_ms = s.metrics_interval.or_else(|| duration_ms(&interval));
                if let Some(ms) = s.metrics_interval {
                    job.set(
                        "scrape_interval",
                        Yaml::Str(sparkc_core::model::units::format_duration(ms)),
                    );
                }
                // A scrape may not outlast its interval (the default timeout is 10s).
                let timeout = match (s.metrics_timeout, every_ms) {
                    (Some(t), Some(every)) if t > every => {
                        let at = s.loc_of("metrics_timeout");
                        diags.push(
                            Diagnostic::error(
                                Code::OutOfRange,
                                format!(
                                    "a scrape of `{}` may take {}, longer than its interval, {}",
                                    s.name,
                                    sparkc_core::model::units::format_duration(t),
                                    sparkc_core::model::units::format_duration(every)
                                ),
                                at.file,
                                at.span,
                            )
                            .label("Prometheus refuses a timeout above the interval")
                            .help("shorten `metrics_timeout`, or scrape less often (`metrics_interval`)")
                            .about(s.subject()),
                        );
                        None
                    }
                    (Some(t), _) => Some(t),
                    (None, Some(every)) if s.metrics_interval.is_some() && every < 10_000 => {
                        Some(every)
                    }
                    _ => None,
                };
                if let Some(t) = timeout {
                    job.set(
                        "scrape_timeout",
                        Yaml::Str(sparkc_core::model::units::format_duration(t)),
                    );
                }
                if s.metrics_path != "/metrics" {
                    job.set("metrics_path", Yaml::Str(s.metrics_path.clone()));
                }
                if s.metrics_https {
                    job.set("scheme", Yaml::str("https"));
                }
                match &s.metrics_auth {
                    Some(MetricsAuth::Bearer(token)) => {
                        let mut a = Yaml::map();
                        a.set("type", Yaml::str("Bearer"));
                        a.set("credentials_file", Yaml::Str(m.secrets[*token].path()));
                        job.set("authorization", a);
                    }
                    Some(MetricsAuth::Basic { user, password }) => {
                        let mut a = Yaml::map();
                        a.set("username", Yaml::Str(user.clone()));
                        a.set("password_file", Yaml::Str(m.secrets[*password].path()));
                        job.set("basic_auth", a);
                    }
                    None => {}
                }
                jobs.push(job);
            }
        }
        let mut probes = blackbox::probes(m, ctx, prom, &mut taken, &mut diags);
        let (snmp_jobs, snmp_alerts) = snmp::probes(m, prom, &mut taken, &mut diags);
        probes.jobs.extend(snmp_jobs);
        probes.alerts.extend(snmp_alerts);
        jobs.extend(std::mem::take(&mut probes.jobs));
        probes
            .alerts
            .extend(thresholds::host_rules(m, prom, &mut diags));
        let written = promql::rules(m, &taken, &mut diags);
        let alerting = alertmanager::alerting(m, ctx, prom, &mut diags);
        let any_rule = !probes.alerts.is_empty() || !written.is_empty();
        if let (Some(prom), None, true) = (prom, &alerting.section, any_rule) {
            diags.push(undelivered(m, prom));
        }
        if jobs.is_empty() {
            return (Vec::new(), diags);
        }
        let mut global = Yaml::map();
        let evaluation = ctx
            .options
            .get("evaluation_interval")
            .cloned()
            .unwrap_or_else(|| interval.clone());
        global.set("scrape_interval", Yaml::Str(interval));
        global.set("evaluation_interval", Yaml::Str(evaluation));
        if let Some(labels) = ctx
            .options
            .get("external_labels")
            .and_then(|l| sparkc_core::target::parse_labels(l))
        {
            let mut map = Yaml::map();
            for (name, value) in labels {
                map.set(&name, Yaml::Str(value));
            }
            global.set("external_labels", map);
        }
        let mut doc = Yaml::map();
        doc.set("global", global);
        // The `path` option; else where the project's Prometheus mounts its configuration;
        // else prometheus/.
        let fallback = "prometheus/prometheus.yml".to_string();
        let path = match (ctx.options.get("path"), prom) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => crate::placement::config_path(
                m,
                p,
                &crate::placement::ConfigFile {
                    what: "prometheus.yml",
                    in_container: CONFIG_IN_CONTAINER,
                    mount_from: "./prometheus.yml",
                },
                fallback,
                &mut diags,
            ),
            // No Prometheus in the project: the file is for one run elsewhere.
            (None, None) => fallback,
        };
        let header = crate::header(ctx.source, "prometheus");
        let mut out: Vec<Artifact> = probes.config.into_iter().collect();
        out.extend(alerting.config);
        if let Some(section) = alerting.section {
            doc.set("alerting", section);
        }
        if any_rule {
            // Beside prometheus.yml, in the directory the stdlib template mounts as rules/.
            doc.set("rule_files", Yaml::List(vec![Yaml::str(RULES)]));
            let dir = path.rsplit_once('/').map_or("", |(d, _)| d);
            let rules_dir = if dir.is_empty() {
                "rules".to_string()
            } else {
                format!("{dir}/rules")
            };
            // Prometheus reads the rules from the directory beside its configuration; a
            // glob that matches nothing there is no error to it: the alerts never fire.
            if let Some(p) = prom
                && crate::placement::mounted_file(m, p, CONFIG_IN_CONTAINER).is_some()
                && crate::placement::mounted_file(m, p, RULES_IN_CONTAINER).as_deref()
                    != Some(rules_dir.as_str())
            {
                let s = &m.services[p];
                diags.push(
                    Diagnostic::warning(
                        Code::Fallback,
                        format!("`{}` does not mount the alert rules sparkc writes", s.name),
                        s.loc.file,
                        s.loc.span,
                    )
                    .label(format!("it reads `{RULES}` from `{RULES_IN_CONTAINER}`"))
                    .help(format!(
                        "the rules go to `{rules_dir}/`, beside prometheus.yml: without them mounted Prometheus loads no rules and no alert fires; mount them as the stdlib template does: `ro(\"./rules\" -> \"{RULES_IN_CONTAINER}\")`"
                    ))
                    .about(s.subject()),
                );
            }
            let mut groups = Vec::new();
            for (name, list) in [("monitors", probes.alerts), ("alerts", written)] {
                if list.is_empty() {
                    continue;
                }
                let mut group = Yaml::map();
                group.set("name", Yaml::str(name));
                group.set("rules", Yaml::List(list));
                groups.push(group);
            }
            let mut rules = Yaml::map();
            rules.set("groups", Yaml::List(groups));
            match render(&rules, &header, ctx) {
                Ok(contents) => out.push(Artifact {
                    path: if dir.is_empty() {
                        "rules/monitors.yml".to_string()
                    } else {
                        format!("{dir}/rules/monitors.yml")
                    },
                    contents,
                }),
                Err(err) => diags.push(Diagnostic::error(
                    Code::Unsupported,
                    format!("cannot serialise the alert rules: {err}"),
                    m.hosts[HostId(0)].loc.file,
                    m.hosts[HostId(0)].loc.span,
                )),
            }
        }
        doc.set("scrape_configs", Yaml::List(jobs));
        match render(&doc, &header, ctx) {
            Ok(text) => out.push(Artifact {
                path,
                contents: text,
            }),
            Err(err) => diags.push(Diagnostic::error(
                Code::Unsupported,
                format!("cannot serialise prometheus.yml: {err}"),
                // Jobs exist, so a host does.
                m.hosts[HostId(0)].loc.file,
                m.hosts[HostId(0)].loc.span,
            )),
        }
        (out, diags)
    }
}

/// A Prometheus duration (`30s`, `1m30s`) in milliseconds.
fn duration_ms(s: &str) -> Option<u64> {
    if !sparkc_core::target::is_prometheus_duration(s) {
        return None;
    }
    let mut total = 0u64;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, len) = [
            ("ms", 1),
            ("y", 31_536_000_000),
            ("w", 604_800_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))?;
        total = total.checked_add(n.checked_mul(len)?)?;
        rest = &rest[unit.len()..];
    }
    Some(total)
}

/// W0314: the project's Prometheus evaluates alert rules, but nothing delivers them.
fn undelivered(m: &Model, prom: ServiceId) -> Diagnostic {
    let p = &m.services[prom];
    let mut alerting: Vec<(String, sparkc_core::source::Loc)> = m
        .monitors
        .iter()
        .filter(|mon| mon.alerts())
        .map(|mon| (format!("monitor `{}`", mon.name), mon.loc))
        .collect();
    alerting.extend(
        m.alerts
            .iter()
            .map(|a| (format!("alert `{}`", a.name), a.loc)),
    );
    let first = alerting.first().map_or(p.loc, |(_, l)| *l);
    let names: Vec<&str> = alerting.iter().map(|(n, _)| n.as_str()).collect();
    Diagnostic::warning(
        Code::Undelivered,
        format!(
            "the alerts of {} fire in Prometheus, but no Alertmanager delivers them",
            match names.as_slice() {
                [one] => (*one).to_string(),
                more => format!("{} declarations ({})", more.len(), more.join(", ")),
            }
        ),
        first.file,
        first.span,
    )
    .label("alerts only Prometheus's web UI shows")
    .help(format!(
        "run an Alertmanager beside `{}` (`service alertmanager on {} = alertmanager()` from `std.apps`) and declare where alerts go: `receiver ops {{ email {{ ... }} }}`",
        p.name,
        host_name(m, prom)
    ))
}

fn host_name(m: &Model, sid: ServiceId) -> &str {
    m.host_of(sid).map_or("?", |h| h.name.as_str())
}

/// E0311: Prometheus cannot scrape `sid`; `gap`: why not from another host.
fn unreachable(m: &Model, prom: ServiceId, sid: ServiceId, gap: Option<OutsideGap>) -> Diagnostic {
    let (p, s) = (&m.services[prom], &m.services[sid]);
    let port = s.metrics_port.unwrap_or(0);
    let (sh, ph) = (host_name(m, sid), host_name(m, prom));
    let help = match gap {
        None => join_help(m, prom, sid, "monitoring"),
        Some(OutsideGap::NotPublished) => {
            let name = s
                .ports
                .iter()
                .find(|d| d.port == port)
                .map_or("metrics", |d| d.name.as_str());
            let address = m
                .host_of(sid)
                .and_then(|h| h.address)
                .map_or_else(|| "ADDRESS".to_string(), |a| a.to_string());
            format!(
                "`{}` runs on `{ph}`, `{}` on `{sh}`: publish the metrics port on `{sh}`'s private address, where Prometheus scrapes it: `publish = [{{ address = {address}, host_port = {port}, port = {name} }}]` on `{}`",
                p.name, s.name, s.name
            )
        }
        Some(OutsideGap::LoopbackOnly) => format!(
            "`{}` publishes its metrics port on `{sh}`'s loopback, which `{}` on `{ph}` cannot reach: publish it on `{sh}`'s private address",
            s.name, p.name
        ),
        Some(OutsideGap::NoAddress) => format!(
            "`{}` publishes its metrics port on every address of `{sh}`, which declares none: give `{sh}` its `address`",
            s.name
        ),
    };
    let label = if gap.is_some() {
        format!("scraped from host `{ph}`")
    } else {
        format!(
            "scraped as `{}:{port}`, {}",
            s.name,
            attachment_text(m, sid)
        )
    };
    reach::unreachable(m, prom, sid, s.loc, label, help)
}

/// A scrape target: where it is scraped, and the host and service its series are labelled
/// with.
struct ScrapeTarget<'m> {
    address: String,
    host: &'m str,
    service: &'m str,
}

/// A job with one static config per target, each labelled `host` and `service`: a series
/// says which declaration it comes from, whatever address it was scraped at.
fn job(name: &str, targets: Vec<ScrapeTarget<'_>>) -> Yaml {
    let configs = targets
        .into_iter()
        .map(|t| {
            let mut sc = Yaml::map();
            sc.set("targets", Yaml::List(vec![Yaml::Str(t.address)]));
            let mut labels = Yaml::map();
            labels.set("host", Yaml::Str(t.host.to_string()));
            labels.set("service", Yaml::Str(t.service.to_string()));
            sc.set("labels", labels);
            sc
        })
        .collect();
    let mut job = Yaml::map();
    job.set("job_name", Yaml::Str(name.to_string()));
    job.set("static_configs", Yaml::List(configs));
    job
}
