//! Grafana: where the project runs one (the stdlib `grafana` template, or any `grafana`
//! image), its provisioning — the project's Prometheus (and Alertmanager) as data sources, a
//! dashboard provider — and dashboards whose queries come from the scrape jobs that exist:
//! one per host with a node-exporter, one per host with cAdvisor, one for the probes.
//!
//! Files go where the Grafana service mounts them: its provisioning directory at
//! `/etc/grafana/provisioning` and its dashboards at `/etc/grafana/dashboards` (the stdlib
//! template mounts `./grafana/provisioning` and `./grafana/dashboards`, next to its compose
//! file). A changed file changes the service's `sparkc.config-hash`, so Compose recreates
//! the container; the provider also rereads the dashboards every 30 seconds.

mod dashboards;

use crate::prometheus::series;
use crate::yaml::{Yaml, render};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::reach::{attachment_text, join_help, unreachable};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext, Target};

/// Where the Grafana image reads its provisioning (`GF_PATHS_PROVISIONING`'s default).
const PROVISIONING_IN_CONTAINER: &str = "/etc/grafana/provisioning";

/// Where the generated dashboards are mounted, which the dashboard provider reads.
const DASHBOARDS_IN_CONTAINER: &str = "/etc/grafana/dashboards";

/// The data sources' uids, which every panel names.
pub const PROMETHEUS_UID: &str = "sparkc-prometheus";
const ALERTMANAGER_UID: &str = "sparkc-alertmanager";

pub struct Grafana;

impl Target for Grafana {
    fn name(&self) -> &'static str {
        "grafana"
    }

    fn emit(&self, m: &Model, ctx: &EmitContext<'_>) -> (Vec<Artifact>, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        // Without a Prometheus there is nothing to provision: a Grafana of the project's own
        // (its data sources set up by hand) is left alone.
        let (Some(g), Some(p)) = (m.app_anywhere("grafana"), m.app_anywhere("prometheus")) else {
            return (Vec::new(), diags);
        };
        let prom = Some(p);
        let header = crate::header(ctx.source, "grafana");
        let provisioning = directory(
            m,
            g,
            PROVISIONING_IN_CONTAINER,
            "./grafana/provisioning",
            &mut diags,
        );
        let mut out = Vec::new();

        let mut sources = Vec::new();
        if let Some(url) = url_from(m, g, p, "web", 9090, &mut diags) {
            let mut ds = datasource("Prometheus", "prometheus", PROMETHEUS_UID, url, true);
            let mut json = Yaml::map();
            json.set("httpMethod", Yaml::str("POST"));
            ds.set("jsonData", json);
            sources.push(ds);
        }
        if let Some(am) = m.app_anywhere("alertmanager")
            && let Some(url) = url_from(m, g, am, "web", 9093, &mut diags)
        {
            let mut ds = datasource("Alertmanager", "alertmanager", ALERTMANAGER_UID, url, false);
            let mut json = Yaml::map();
            json.set("implementation", Yaml::str("prometheus"));
            json.set("handleGrafanaManagedAlerts", Yaml::Bool(false));
            ds.set("jsonData", json);
            sources.push(ds);
        }
        if !sources.is_empty() {
            let mut doc = Yaml::map();
            doc.set("apiVersion", Yaml::Int(1));
            doc.set("datasources", Yaml::List(sources));
            push(
                &mut out,
                &mut diags,
                m,
                g,
                format!("{provisioning}/datasources/sparkc.yml"),
                render(&doc, &header, ctx),
            );
        }

        let boards = dashboards::all(m, prom, ctx.source);
        if !boards.is_empty() {
            let dir = directory(
                m,
                g,
                DASHBOARDS_IN_CONTAINER,
                "./grafana/dashboards",
                &mut diags,
            );
            let mut options = Yaml::map();
            options.set("path", Yaml::str(DASHBOARDS_IN_CONTAINER));
            options.set("foldersFromFilesStructure", Yaml::Bool(false));
            let mut provider = Yaml::map();
            provider.set("name", Yaml::str("sparkc"));
            provider.set("orgId", Yaml::Int(1));
            provider.set("folder", Yaml::str("sparkc"));
            provider.set("type", Yaml::str("file"));
            provider.set("disableDeletion", Yaml::Bool(true));
            provider.set("allowUiUpdates", Yaml::Bool(false));
            provider.set("updateIntervalSeconds", Yaml::Int(30));
            provider.set("options", options);
            let mut doc = Yaml::map();
            doc.set("apiVersion", Yaml::Int(1));
            doc.set("providers", Yaml::List(vec![provider]));
            push(
                &mut out,
                &mut diags,
                m,
                g,
                format!("{provisioning}/dashboards/sparkc.yml"),
                render(&doc, &header, ctx),
            );
            for (file, board) in boards {
                let text = if ctx.text {
                    serde_json::to_string_pretty(&board)
                        .map(|t| t + "\n")
                        .map_err(|e| e.to_string())
                } else {
                    Ok(String::new())
                };
                push(&mut out, &mut diags, m, g, format!("{dir}/{file}"), text);
            }
        }
        (out, diags)
    }
}

fn push(
    out: &mut Vec<Artifact>,
    diags: &mut Vec<Diagnostic>,
    m: &Model,
    g: ServiceId,
    path: String,
    text: Result<String, impl std::fmt::Display>,
) {
    match text {
        Ok(contents) => out.push(Artifact { path, contents }),
        Err(err) => {
            let s = &m.services[g];
            diags.push(Diagnostic::error(
                Code::Unsupported,
                format!("cannot serialise {path}: {err}"),
                s.loc.file,
                s.loc.span,
            ));
        }
    }
}

fn datasource(name: &str, kind: &str, uid: &str, url: String, default: bool) -> Yaml {
    let mut ds = Yaml::map();
    ds.set("name", Yaml::str(name));
    ds.set("type", Yaml::str(kind));
    ds.set("uid", Yaml::str(uid));
    ds.set("access", Yaml::str("proxy"));
    ds.set("url", Yaml::Str(url));
    ds.set("isDefault", Yaml::Bool(default));
    ds.set("editable", Yaml::Bool(false));
    ds
}

/// The out-dir directory Grafana mounts at `in_container`; without a relative bind mount,
/// `grafana/...` with a W0402 saying so.
fn directory(
    m: &Model,
    g: ServiceId,
    in_container: &str,
    mount_from: &str,
    diags: &mut Vec<Diagnostic>,
) -> String {
    let leaf = in_container.rsplit('/').next().unwrap_or("grafana");
    crate::placement::config_path(
        m,
        g,
        &crate::placement::ConfigFile {
            what: &format!("the {leaf} directory"),
            in_container,
            mount_from,
        },
        format!("grafana/{leaf}"),
        diags,
    )
}

/// The URL Grafana reaches service `to` at: by container name on a shared network; on another
/// host, at the address and port `to` publishes there.
fn url_from(
    m: &Model,
    g: ServiceId,
    to: ServiceId,
    port_name: &str,
    default_port: u16,
    diags: &mut Vec<Diagnostic>,
) -> Option<String> {
    let s = &m.services[to];
    let port = s
        .port(port_name)
        .or_else(|| s.ports.first())
        .map_or(default_port, |p| p.port);
    if m.by_name(g, to) {
        if m.reach(g, to) == Reach::No {
            let label = format!(
                "a data source of `{}`, {}",
                m.services[g].name,
                attachment_text(m, to)
            );
            let help = join_help(m, g, to, "monitoring");
            diags.push(unreachable(m, g, to, s.loc, label, help));
            return None;
        }
        return Some(format!("http://{}:{port}", m.dns_name(to)));
    }
    if let Ok((ip, at)) = m.from_outside(to, port, Proto::Tcp) {
        return Some(format!("http://{}", std::net::SocketAddr::new(ip, at)));
    }
    let label = format!("a data source of `{}` on another host", m.services[g].name);
    let help = format!(
        "publish `{}`'s port {port} on its host's private address, where Grafana reaches it, or run Grafana on the same host",
        s.name
    );
    diags.push(unreachable(m, g, to, s.loc, label, help));
    None
}

/// A series selector for the panels of `sid`.
pub(crate) fn selector(m: &Model, prom: Option<ServiceId>, sid: ServiceId) -> String {
    series::selector(m, prom, sid)
}
