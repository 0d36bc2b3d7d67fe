//! Step 2d: what a project gets without writing it, written as the source the user could
//! have written — so it goes through every check a written declaration does, and the
//! targets cannot tell the two apart.
//!
//! Where the project runs a Prometheus:
//! - every compose host with services runs a node-exporter (`exporters` on the host chooses,
//!   `exporters = none` turns it off): on Prometheus' host in its stack and on its networks,
//!   elsewhere published on the host's address, where Prometheus scrapes it; Prometheus' host
//!   also runs cAdvisor (whose UI has no login, so it is never published for another);
//! - where it also runs a blackbox exporter, every public domain (a certificate from Let's
//!   Encrypt, HTTP, not a redirect, not a wildcard) that no monitor probes gets an HTTPS probe
//!   alerting when it is down for 5 minutes or its certificate expires within 14 days, and
//!   every TCP route a TCP probe of its entry point (`probe = none` on the domain turns it
//!   off).
//!
//! [`plan`] reads the model of the sources as written and returns the extra file;
//! `check` then checks the sources with it. A diagnostic inside it moves to the declaration
//! that caused it ([`Defaults::relocate`]).

use super::Symbols;
use crate::diag::{Diagnostic, Label};
use crate::model::*;
use crate::source::{FileId, Loc, Span};
use std::fmt::Write;

/// The name the generated file has in the sources (and in diagnostics' secondary labels).
pub const FILE_NAME: &str = "<sparkc/defaults.spark>";

/// The generated declarations.
pub struct Defaults {
    pub text: String,
    /// Each generated declaration's span in `text`, the declaration that caused it and why.
    pub causes: Vec<(Span, Loc, String)>,
}

/// The defaults `model` (checked from the sources as written) calls for; `None`: none.
pub fn plan(model: &Model, syms: &Symbols) -> Option<Defaults> {
    let prom = model.app_anywhere("prometheus")?;
    let mut out = Defaults {
        text: String::new(),
        causes: Vec::new(),
    };
    let mut body = String::new();
    let mut templates: Vec<&'static str> = Vec::new();
    exporters(model, prom, &mut body, &mut templates, &mut out.causes);
    probes(model, syms, &mut body, &mut out.causes);
    if body.is_empty() {
        return None;
    }
    templates.sort_unstable();
    templates.dedup();
    let header = format!(
        "// What sparkc adds by default (docs/targets/monitoring.md).\n{}\n",
        if templates.is_empty() {
            String::new()
        } else {
            format!("import std.apps.{{{}}}\n", templates.join(", "))
        }
    );
    // Spans were taken relative to the body.
    let shift = header.len();
    for (span, _, _) in &mut out.causes {
        *span = Span::new(span.start as usize + shift, span.end as usize + shift);
    }
    out.text = header + &body;
    Some(out)
}

/// The exporters each host runs by default that it does not run already.
fn exporters(
    m: &Model,
    prom: ServiceId,
    body: &mut String,
    templates: &mut Vec<&'static str>,
    causes: &mut Vec<(Span, Loc, String)>,
) {
    let p = &m.services[prom];
    let Some(prom_host) = p.host else { return };
    let by_host = m.services_by_host();
    for (hid, h) in m.hosts.iter_enumerated() {
        let wanted: &[Exporter] = match &h.exporters {
            Some(list) => list,
            // cAdvisor's UI has no login: it is not published for a Prometheus elsewhere.
            None if h.runtime == Runtime::Compose
                && !by_host[hid].is_empty()
                && hid == prom_host =>
            {
                &[Exporter::Node, Exporter::Cadvisor]
            }
            None if h.runtime == Runtime::Compose && !by_host[hid].is_empty() => &[Exporter::Node],
            None => &[],
        };
        for &e in wanted {
            if e == Exporter::Cadvisor && hid != prom_host {
                continue; // E0308 (coverage.rs)
            }
            let template = e.template();
            if by_host[hid].iter().any(|s| s.runs(template)) {
                continue;
            }
            let name = format!("{}-{}", h.name, template.replace('_', "-"));
            let mut fields = Vec::new();
            if let Some(stack) = &p.stack {
                fields.push(format!("stack = {}", quote(stack)));
            }
            if hid == prom_host && !p.external {
                if !p.networks.is_empty() {
                    let names: Vec<&str> = p
                        .networks
                        .iter()
                        .map(|n| m.networks[*n].name.as_str())
                        .collect();
                    fields.push(format!("networks = [{}]", names.join(", ")));
                }
            } else {
                // Scraped from Prometheus' host at this host's address: a private one only,
                // or the host's details are open to anyone (W0315 says what to write).
                let Some(address) = h.address.filter(|a| super::secure::is_private(*a)) else {
                    continue;
                };
                let port = match e {
                    Exporter::Node => 9100,
                    Exporter::Cadvisor => 8080,
                };
                fields.push(format!(
                    "publish = [{{ address = {address}, host_port = {port}, port = metrics }}]"
                ));
            }
            // A name the user took is reported as declared twice, at the host.
            templates.push(template);
            let start = body.len();
            let _ = write!(body, "service {name} on {} = {template}()", h.name);
            if !fields.is_empty() {
                let _ = write!(body, " {{ {} }}", fields.join(", "));
            }
            let end = body.len();
            body.push('\n');
            causes.push((
                Span::new(start, end),
                h.loc,
                format!(
                    "in the {} sparkc runs on `{}` by default (`exporters = none` on the host turns it off)",
                    template.replace('_', "-"),
                    h.name
                ),
            ));
        }
    }
}

/// The default probes: one HTTPS probe per public domain name, one TCP probe per TCP route.
fn probes(m: &Model, syms: &Symbols, body: &mut String, causes: &mut Vec<(Span, Loc, String)>) {
    if m.app_anywhere("blackbox_exporter").is_none() {
        return;
    }
    let probed: rustc_hash::FxHashSet<&str> = m
        .monitors
        .iter()
        .filter(|mon| mon.probes)
        .filter_map(|mon| match &mon.target {
            MonitorTarget::Domain(d) => Some(m.domains[*d].name.as_str()),
            _ => None,
        })
        .collect();
    // The names routed as a whole site (not only by path) somewhere.
    let whole_sites: rustc_hash::FxHashSet<&str> = m
        .domains
        .iter()
        .filter(|o| {
            o.protocol == RouteProtocol::Http && o.path_prefix.is_none() && wants_default_probe(o)
        })
        .map(|o| o.name.as_str())
        .collect();
    let mut done = rustc_hash::FxHashSet::default();
    for d in &m.domains {
        if !wants_default_probe(d) || probed.contains(d.name.as_str()) {
            continue;
        }
        let (name, fields) = match d.protocol {
            RouteProtocol::Http => {
                if !done.insert(d.name.as_str()) {
                    continue;
                }
                // The whole site where it is routed, else the first path that is.
                let whole = whole_sites.contains(d.name.as_str());
                let mut fields = vec![
                    format!("target = {}", quote(&d.name)),
                    "probe = https".to_string(),
                    "alert = [down_for(5m), cert_expires_within(14d)]".to_string(),
                ];
                if !whole && let Some(p) = &d.path_prefix {
                    fields.push(format!("path = {}", quote(p)));
                }
                (format!("{}-https", dashed(&d.name)), fields)
            }
            RouteProtocol::Tcp => {
                let entry = d.entrypoints.first().map_or("websecure", String::as_str);
                (
                    format!("{}-tcp-{}", dashed(&d.name), dashed(entry)),
                    vec![
                        format!("target = {}", quote(&d.name)),
                        "probe = tcp".to_string(),
                        "alert = down_for(5m)".to_string(),
                    ],
                )
            }
            RouteProtocol::Udp => continue,
        };
        if syms.lookup(&name).is_some() {
            continue;
        }
        let start = body.len();
        let _ = write!(body, "monitor {name} {{ {} }}", fields.join(", "));
        let end = body.len();
        body.push('\n');
        causes.push((
            Span::new(start, end),
            d.loc,
            format!(
                "in the probe of `{}` sparkc adds by default (`probe = none` on the domain turns it off)",
                d.name
            ),
        ));
    }
}

/// A domain the public can reach that a default probe can ask: a site with Let's Encrypt's
/// certificate or a TCP route by SNI, not a wildcard, not only a redirect, open to everyone
/// (a login or an address allow-list would refuse the probe, and its alert would never
/// stop), and not opted out.
pub fn wants_default_probe(d: &Domain) -> bool {
    let restricted = d.basic_auth.is_some()
        || d.forward_auth.is_some()
        || d.middlewares
            .iter()
            .any(|m| matches!(m, Middleware::AllowFrom(_)));
    let public = match d.protocol {
        RouteProtocol::Http => d.tls == Tls::Auto,
        RouteProtocol::Tcp => matches!(d.tls, Tls::Auto | Tls::Passthrough),
        RouteProtocol::Udp => false,
    };
    d.default_probe
        && public
        && !restricted
        && !d.name.starts_with('*')
        && !matches!(d.upstream, Upstream::Redirect(_))
}

fn dashed(name: &str) -> String {
    name.replace(['.', '_'], "-")
}

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

impl Defaults {
    /// Every diagnostic inside the generated file moves to the declaration that caused the
    /// default, with the generated line as a secondary label and the cause in its note.
    pub fn relocate(&self, file: FileId, diags: &mut [Diagnostic]) {
        for d in diags.iter_mut() {
            if d.primary.file != file {
                continue;
            }
            let at = d.primary.span.start;
            let Some((span, cause, why)) = self
                .causes
                .iter()
                .find(|(s, _, _)| s.start <= at && at <= s.end)
            else {
                continue;
            };
            if d.code == crate::diag::Code::Duplicate {
                d.help = Some(
                    "a declaration sparkc adds by default has this name: rename yours, or turn the default off"
                        .to_string(),
                );
            }
            let inside = Label::new(file, *span, Some(why.clone()));
            let label = d.primary.message.take();
            d.primary = Label::new(cause.file, cause.span, label);
            d.secondary.insert(0, inside);
        }
    }
}
