//! Prometheus: `prometheus/prometheus.yml` with one scrape job per host, listing the
//! services that declare a `metrics` port.
//!
//! Targets are addressed by service name (`svc:port`), which resolves where Prometheus
//! shares a container network with them. Services with a non-default `metrics_path` get a
//! job of their own (`<host>-<service>`), since `metrics_path` is per job.
//!
//! Options (`[targets.prometheus]`): `scrape_interval` (default `30s`); `path`, where the
//! file goes inside the out dir (default `prometheus/prometheus.yml`; e.g.
//! `compose/<host>/prometheus.yml`, next to the compose file whose Prometheus mounts it).

use crate::yaml::{Yaml, to_string};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext, Target};

pub struct Prometheus;

impl Target for Prometheus {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn emit(&self, m: &Model, ctx: &EmitContext<'_>) -> (Vec<Artifact>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let interval = ctx
            .options
            .get("scrape_interval")
            .cloned()
            .unwrap_or_else(|| "30s".to_string());
        let mut by_host: Vec<Vec<ServiceId>> = vec![Vec::new(); m.hosts.len()];
        for (sid, s) in m.services.iter().enumerate() {
            if s.metrics_port.is_some() {
                by_host[s.host].push(sid);
            }
        }
        let mut jobs = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (hid, h) in m.hosts.iter().enumerate() {
            let mut default_path = Vec::new();
            let mut own_path = Vec::new();
            for &sid in &by_host[hid] {
                let s = &m.services[sid];
                let target = Yaml::Str(format!("{}:{}", s.name, s.metrics_port.unwrap_or(0)));
                if s.metrics_path == "/metrics" {
                    default_path.push(target);
                } else {
                    let mut job = job(&format!("{}-{}", h.name, s.name), vec![target]);
                    job.set("metrics_path", Yaml::Str(s.metrics_path.clone()));
                    own_path.push((s, job));
                }
            }
            if !default_path.is_empty() {
                names.insert(h.name.clone());
                jobs.push(job(&h.name, default_path));
            }
            for (s, job) in own_path {
                let name = format!("{}-{}", h.name, s.name);
                if !names.insert(name.clone()) {
                    let loc = s.loc_of("metrics_path");
                    diags.push(
                        Diagnostic::error(
                            Code::Unsupported,
                            format!("two scrape jobs would be named `{name}`"),
                            loc.file,
                            loc.span,
                        )
                        .help("a host name and a host-service pair collide; rename the host or the service"),
                    );
                    continue;
                }
                jobs.push(job);
            }
        }
        if jobs.is_empty() {
            return (Vec::new(), diags);
        }
        let mut global = Yaml::map();
        global.set("scrape_interval", Yaml::Str(interval));
        let mut doc = Yaml::map();
        doc.set("global", global);
        doc.set("scrape_configs", Yaml::List(jobs));
        let header = crate::header(ctx.source, "prometheus");
        let mut out = Vec::new();
        match to_string(&doc, &header) {
            Ok(text) => out.push(Artifact {
                path: ctx
                    .options
                    .get("path")
                    .cloned()
                    .unwrap_or_else(|| "prometheus/prometheus.yml".to_string()),
                contents: text,
            }),
            Err(err) => diags.push(Diagnostic::error(
                Code::Unsupported,
                format!("cannot serialise prometheus.yml: {err}"),
                // Jobs exist, so a host does.
                m.hosts[0].loc.file,
                m.hosts[0].loc.span,
            )),
        }
        (out, diags)
    }
}

fn job(name: &str, targets: Vec<Yaml>) -> Yaml {
    let mut sc = Yaml::map();
    sc.set("targets", Yaml::List(targets));
    let mut job = Yaml::map();
    job.set("job_name", Yaml::Str(name.to_string()));
    job.set("static_configs", Yaml::List(vec![sc]));
    job
}
