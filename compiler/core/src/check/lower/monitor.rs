//! Monitors: a probe from outside (the blackbox exporter) with an alert rule.

use super::{Field, FieldTable, Lowerer};
use crate::check::SymKind;
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::DeclKind;

/// A monitor's fields as written.
#[derive(Default)]
pub(super) struct MonitorFields {
    target: Option<MonitorTarget>,
    probe: Option<Probe>,
    interval: Option<u64>,
    down_for: Option<u64>,
    cert_expiry: Option<(u64, crate::source::Loc)>,
    path: Option<(String, crate::source::Loc)>,
    status: Option<(Vec<u16>, crate::source::Loc)>,
    body: Option<(String, crate::source::Loc)>,
    severity: Option<Severity>,
    /// Thresholds as written (severity decided once the monitor's is known), each with
    /// where it is written.
    thresholds: Vec<(Measure, f64, u64, crate::source::Loc)>,
}

/// Every field a monitor declaration may have.
pub(super) static FIELDS: FieldTable<MonitorFields> = FieldTable::new(&[
    Field {
        name: "target",
        form: "target = \"cloud.example.org\" | \"https://status.example.net/\" | svc.port.NAME | host",
        doc: "What it probes: a declared domain, a URL outside the project, a port of a service, or a host by its address.",
        lower: |l, v, m| m.target = l.monitor_target(v),
    },
    Field {
        name: "probe",
        form: "probe = https | http | tcp | icmp | snmp",
        doc: "How it probes (default `https`); `snmp` walks a host's interfaces through the project's SNMP exporter.",
        lower: |l, v, m| {
            m.probe = match l.variant(v, "probe", &["http", "https", "tcp", "icmp", "snmp"]) {
                Some("http") => Some(Probe::Http),
                Some("tcp") => Some(Probe::Tcp),
                Some("icmp") => Some(Probe::Icmp),
                Some("snmp") => Some(Probe::Snmp),
                _ => Some(Probe::Https),
            }
        },
    },
    Field {
        name: "interval",
        form: "interval = 1m",
        doc: "Time between probes (default: the scrape interval).",
        lower: |l, v, m| m.interval = l.duration(v),
    },
    Field {
        name: "alert",
        form: "alert = down_for(5m) | cert_expires_within(14d) | cpu_above(70, 5m) | memory_above(80, 5m) | disk_above(90, 10m) | disk_io_above(80, 5m) | response_time_above(200ms, 5m) | [...]",
        doc: "Alerts: when the target has failed for this long; when its certificate expires within this long (HTTPS probes); when a host's CPU, memory, disk space or disk I/O stays above a percentage (from its node-exporter), or a probe's response time above a duration, for a while.",
        lower: |l, v, m| {
            let one = |l: &mut Lowerer<'_, '_>, v: &V, m: &mut MonitorFields| match &v.val {
                Val::Call(n, args) if n.text == "down_for" && args.len() == 1 => {
                    m.down_for = l.duration(&args[0].1);
                }
                Val::Call(n, args) if n.text == "cert_expires_within" && args.len() == 1 => {
                    m.cert_expiry = l.duration(&args[0].1).map(|d| (d, v.loc));
                }
                Val::Call(n, args) if MEASURES.iter().any(|(c, _)| *c == n.text) => {
                    let measure = MEASURES
                        .iter()
                        .find(|(c, _)| *c == n.text)
                        .map_or(Measure::Cpu, |(_, m)| *m);
                    if let Some(t) = l.threshold(v, measure, args) {
                        m.thresholds.push(t);
                    }
                }
                _ => {
                    l.mismatch::<()>(v, "`down_for(DURATION)`, `cert_expires_within(DURATION)` or a threshold (`cpu_above(70, 5m)`, `memory_above`, `disk_above`, `disk_io_above`, `response_time_above(200ms, 5m)`)");
                }
            };
            match &v.val {
                Val::List(items) => {
                    for item in items {
                        one(l, item, m);
                    }
                }
                _ => one(l, v, m),
            }
        },
    },
    Field {
        name: "path",
        form: "path = \"/healthz\"",
        doc: "The URL path an HTTP(S) probe asks for (default: the domain's route path, or `/`).",
        lower: |l, v, m| m.path = l.url_path_or_root(v).map(|p| (p, v.loc)),
    },
    Field {
        name: "status",
        form: "status = [200, 204]",
        doc: "The status codes an HTTP(S) probe accepts (default: any 2xx).",
        lower: |l, v, m| {
            let mut codes = Vec::new();
            for item in l.list(v).unwrap_or_default() {
                if let Some(n) = l.int(item, 100, 599) {
                    codes.push(u16::try_from(n).unwrap_or(200));
                }
            }
            m.status = Some((codes, v.loc));
        },
    },
    Field {
        name: "body",
        form: "body = \"\\\"status\\\":\\s*\\\"ok\\\"\"",
        doc: "A regular expression (RE2, as the blackbox exporter reads it) the answer's body must match.",
        lower: |l, v, m| m.body = l.str(v).map(|b| (b, v.loc)),
    },
    Field {
        name: "severity",
        form: "severity = critical | warning | info",
        doc: "The severity of its alerts but the certificate's (a warning), which receivers select by (default: `critical` for `down_for`, `warning` for a threshold).",
        lower: |l, v, m| m.severity = l.severity(v),
    },
]);

/// The threshold calls, by what they measure.
const MEASURES: &[(&str, Measure)] = &[
    ("cpu_above", Measure::Cpu),
    ("memory_above", Measure::Memory),
    ("disk_above", Measure::Disk),
    ("disk_io_above", Measure::DiskIo),
    ("response_time_above", Measure::ResponseTime),
];

impl Lowerer<'_, '_> {
    /// `cpu_above(70, 5m)`: a percentage (a response time: a duration) and how long.
    fn threshold(
        &mut self,
        v: &V,
        measure: Measure,
        args: &[(Option<crate::syntax::ast::Name>, V)],
    ) -> Option<(Measure, f64, u64, crate::source::Loc)> {
        let call = measure.call();
        let [(_, limit), (_, after)] = args else {
            let example = if measure == Measure::ResponseTime {
                format!("{call}(200ms, 5m)")
            } else {
                format!("{call}(80, 5m)")
            };
            return self.mismatch(v, &format!("`{call}(LIMIT, DURATION)`, e.g. `{example}`"));
        };
        let above = if measure == Measure::ResponseTime {
            self.duration(limit).map(|ms| ms as f64)
        } else {
            let p = self.float(limit, 0.0)?;
            if p <= 0.0 || p >= 100.0 {
                return self.out_of_range(
                    limit,
                    format!("{p} is not a percentage a threshold can be above"),
                    "a percentage between 0 and 100, exclusive: `cpu_above(70, 5m)` alerts above 70 %",
                );
            }
            Some(p)
        };
        let for_ms = self.duration(after);
        Some((measure, above?, for_ms?, v.loc))
    }

    pub(super) fn monitor(&mut self, sym: usize) -> Option<Monitor> {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let loc = self.loc_of(sym);
        let name = decl.name.text.as_str().to_owned();
        self.monitor_from(name, loc, &f)
    }

    /// A monitor named `name` (declared at `loc`) with the written fields `f`: a `monitor`
    /// declaration's, or one of a service's `monitors`.
    pub(super) fn monitor_from(
        &mut self,
        name: String,
        loc: Loc,
        f: &super::Fields,
    ) -> Option<Monitor> {
        let mut written = MonitorFields::default();
        self.lower_fields(f, &FIELDS, &mut written, |_| true);
        if f.get("target").is_none() {
            self.ev.err(
                Diagnostic::error(Code::MissingField, format!("monitor `{name}` has no `target`"), loc.file, loc.span)
                    .help("write `target = \"cloud.example.org\"` (a declared domain), `target = db.port.mysql` or `target = web01`"),
            );
        }
        // An external URL is probed by its own scheme.
        let probe = match (&written.target, written.probe) {
            (_, Some(p)) => p,
            (Some(MonitorTarget::Url(u)), None) if u.starts_with("http://") => Probe::Http,
            _ => Probe::Https,
        };
        if let Some(MonitorTarget::Url(u)) = &written.target {
            let https = u.starts_with("https://");
            let fits = match probe {
                Probe::Https => https,
                Probe::Http => !https,
                _ => false,
            };
            if !fits {
                let at = f.get("probe").map_or(loc, |v| v.loc);
                self.ev.err(
                    Diagnostic::error(
                        Code::BadRoute,
                        format!("`{u}` is not probed by a {} probe", probe.describe()),
                        at.file,
                        at.span,
                    )
                    .label("the URL's scheme says how")
                    .help("remove `probe`: a URL is probed over its own scheme"),
                );
                return None;
            }
            if let Some((_, at)) = &written.path {
                self.ev.err(
                    Diagnostic::error(Code::BadRoute, "a URL target carries its own path", at.file, at.span)
                        .label("a second path")
                        .help("write the path into the URL (`target = \"https://status.example.net/healthz\"`) and remove `path`"),
                );
                return None;
            }
        }
        if let Some((_, at)) = written.cert_expiry
            && probe != Probe::Https
        {
            self.ev.err(
                Diagnostic::error(
                    Code::BadRoute,
                    "only an HTTPS probe sees a certificate",
                    at.file,
                    at.span,
                )
                .label("`cert_expires_within` without TLS")
                .help("probe over HTTPS (`probe = https`), or remove the alert"),
            );
            return None;
        }
        if !matches!(probe, Probe::Http | Probe::Https) {
            let fields = [
                written.path.as_ref().map(|(_, l)| ("path", *l)),
                written.status.as_ref().map(|(_, l)| ("status", *l)),
                written.body.as_ref().map(|(_, l)| ("body", *l)),
            ];
            let mut ok = true;
            for (field, at) in fields.into_iter().flatten() {
                self.ev.err(
                    Diagnostic::error(Code::BadRoute, format!("`{field}` does not apply to a {} probe", probe.describe()), at.file, at.span)
                        .label("an HTTP probe's")
                        .help("probe over HTTP (`probe = https` or `probe = http`) to ask for a path and check the answer, or remove it"),
                );
                ok = false;
            }
            if !ok {
                return None;
            }
        }
        if let Some((codes, at)) = &written.status
            && codes.is_empty()
        {
            self.ev.err(
                Diagnostic::error(Code::MissingField, "a probe that accepts no status code always fails", at.file, at.span)
                    .help("list the codes it accepts, `status = [200, 204]`, or remove `status` for any 2xx"),
            );
            return None;
        }
        let on_host = matches!(written.target, Some(MonitorTarget::Host(_)));
        if probe == Probe::Snmp {
            let at = f.get("probe").map_or(loc, |v| v.loc);
            if !on_host && written.target.is_some() {
                self.ev.err(
                    Diagnostic::error(
                        Code::BadRoute,
                        format!("monitor `{name}` walks no host over SNMP"),
                        at.file,
                        at.span,
                    )
                    .label("an SNMP probe asks a host's agent, at its address")
                    .help("target the host (`target = router`), declared with its `address`"),
                );
                return None;
            }
            if let Some((_, _, _, tat)) = written
                .thresholds
                .iter()
                .find(|t| t.0 == Measure::ResponseTime)
            {
                self.ev.err(
                    Diagnostic::error(Code::BadRoute, "an SNMP probe has no response time to measure", tat.file, tat.span)
                        .label("measured by the blackbox exporter's probes only")
                        .help("probe the host's web UI over HTTP(S) in a monitor of its own for its response time"),
                );
                return None;
            }
        }
        for (measure, _, _, at) in &written.thresholds {
            if measure.of_host() && !on_host && written.target.is_some() {
                self.ev.err(
                    Diagnostic::error(
                        Code::BadRoute,
                        format!("`{}` measures a host, and monitor `{name}` watches no host", measure.call()),
                        at.file,
                        at.span,
                    )
                    .label("read from the host's node-exporter")
                    .help("watch the host the service runs on in a monitor of its own: `monitor web01-load { target = web01, alert = cpu_above(70, 5m) }`"),
                );
                return None;
            }
        }
        // A monitor that only watches a host's resources asks the host's node-exporter, and
        // probes nothing.
        let probes = !(on_host
            && written.probe.is_none()
            && written.down_for.is_none()
            && written.cert_expiry.is_none()
            && written.path.is_none()
            && written.status.is_none()
            && written.body.is_none()
            && !written.thresholds.is_empty()
            && written.thresholds.iter().all(|t| t.0.of_host()));
        let thresholds = written
            .thresholds
            .iter()
            .map(|&(measure, above, for_ms, _)| Threshold {
                measure,
                above,
                for_ms,
                severity: written.severity.unwrap_or(Severity::Warning),
            })
            .collect();
        Some(Monitor {
            name,
            loc,
            target: written.target?,
            probe,
            interval: written.interval,
            down_for: written.down_for,
            cert_expiry: written.cert_expiry.map(|(d, _)| d),
            path: written.path.map(|(p, _)| p),
            status: written.status.map(|(c, _)| c).unwrap_or_default(),
            body: written.body.map(|(b, _)| b),
            severity: written.severity.unwrap_or(Severity::Critical),
            probes,
            thresholds,
        })
    }

    fn monitor_target(&mut self, t: &V) -> Option<MonitorTarget> {
        match &t.val {
            Val::Str(d) if d.starts_with("http://") || d.starts_with("https://") => {
                self.url(t, &["http", "https"])?;
                Some(MonitorTarget::Url(d.clone()))
            }
            Val::Str(d) if d.starts_with("*.") => {
                let example = d.replacen('*', "www", 1);
                self.ev.err(
                    Diagnostic::error(Code::BadRoute, format!("`{d}` is every name below `{}`: a probe asks one", &d[2..]), t.loc.file, t.loc.span)
                        .label("which name?")
                        .help(format!("probe a name the wildcard covers and declare it: `domain {example} -> ...`, `target = \"{example}\"`")),
                );
                None
            }
            Val::Str(d) => {
                if let Some(&i) = self.domain_ids.get(d.as_str()) {
                    if let Some(sym) = self.ev.syms.lookup_domain(d) {
                        self.ev.references.push((t.loc, sym));
                    }
                    Some(MonitorTarget::Domain(i))
                } else {
                    let mut dg = Diagnostic::error(
                        Code::Unresolved,
                        format!("no domain `{d}` is declared"),
                        t.loc.file,
                        t.loc.span,
                    )
                    .label("not declared");
                    dg.help = Some(
                        match did_you_mean(d, self.model.domains.iter().map(|x| x.name.as_str())) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("declare it: `domain {d} -> SERVICE.port.NAME`"),
                        },
                    );
                    self.ev.err(dg);
                    None
                }
            }
            Val::Ref(s, p)
                if p.is_empty() && self.ev.syms.list[*s].kind == SymKind::Decl(DeclKind::Host) =>
            {
                Some(MonitorTarget::Host(*self.host_ids.get(s)?))
            }
            _ => {
                let (service, port) = self.port_ref(t)?;
                Some(MonitorTarget::Service { service, port })
            }
        }
    }
}
