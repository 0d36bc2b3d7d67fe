//! Alertmanager: where the project runs one (the stdlib `alertmanager` template, or any
//! `alertmanager` image), prometheus.yml sends it its alerts, and it gets an
//! `alertmanager.yml` that routes them to the declared `receiver`s.
//!
//! The route tree: a root route whose receiver takes nothing (`unrouted alerts`, for alerts no
//! receiver selects), and one child route per receiver, matching the severities, monitors and
//! hosts it names, each with `continue: true` so that an alert reaches every receiver that
//! selects it. Two inhibit rules: a host's own probe failing silences the alerts about what
//! runs on it, and a monitor's critical alert silences its own warnings.

use crate::yaml::{Yaml, render};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::reach::{attachment_text, join_help, unreachable};
use sparkc_core::model::*;
use sparkc_core::target::{Artifact, EmitContext};

/// Where the Alertmanager image reads its configuration (the stdlib template's path).
const CONFIG_IN_CONTAINER: &str = "/etc/alertmanager/alertmanager.yml";

/// The root route's receiver: takes the alerts no declared receiver selects, and sends them
/// nowhere. A space keeps it apart from every declared receiver's name.
const UNROUTED: &str = "unrouted alerts";

/// What alerting adds to the Prometheus configuration.
#[derive(Default)]
pub struct Alerting {
    /// prometheus.yml's `alerting` section.
    pub section: Option<Yaml>,
    /// Alertmanager's `alertmanager.yml`.
    pub config: Option<Artifact>,
}

/// A declared name as an alert name (`website-up` → `website_up`).
pub fn metric_name(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// The alert name of a monitor's rule with `suffix`.
pub fn alert_name(mon: &Monitor, suffix: &str) -> String {
    format!("{}{suffix}", metric_name(&mon.name))
}

/// The alerting section and alertmanager.yml, where the project runs an Alertmanager. `prom`:
/// the project's Prometheus, which must reach it.
pub fn alerting(
    m: &Model,
    ctx: &EmitContext<'_>,
    prom: Option<ServiceId>,
    diags: &mut Vec<Diagnostic>,
) -> Alerting {
    let Some(am) = m.app_anywhere("alertmanager") else {
        return Alerting::default();
    };
    let s = &m.services[am];
    let port = s
        .port("web")
        .or_else(|| s.ports.first())
        .map_or(9093, |p| p.port);
    let address = format!("{}:{port}", m.dns_name(am));
    if let Some(prom) = prom
        && m.reach(prom, am) == Reach::No
    {
        let label = format!("alerts go to `{address}`, {}", attachment_text(m, am));
        let help = join_help(m, prom, am, "monitoring");
        diags.push(unreachable(m, prom, am, s.loc, label, help));
    }
    let mut sc = Yaml::map();
    sc.set("targets", Yaml::List(vec![Yaml::Str(address)]));
    let mut one = Yaml::map();
    one.set("static_configs", Yaml::List(vec![sc]));
    let mut section = Yaml::map();
    section.set("alertmanagers", Yaml::List(vec![one]));

    let path = crate::placement::config_path(
        m,
        am,
        &crate::placement::ConfigFile {
            what: "alertmanager.yml",
            in_container: CONFIG_IN_CONTAINER,
            mount_from: "./alertmanager.yml",
        },
        "prometheus/alertmanager.yml".to_string(),
        diags,
    );
    let header = crate::header(ctx.source, "prometheus");
    let config = match render(&config(m), &header, ctx) {
        Ok(contents) => Some(Artifact { path, contents }),
        Err(err) => {
            diags.push(Diagnostic::error(
                Code::Unsupported,
                format!("cannot serialise alertmanager.yml: {err}"),
                s.loc.file,
                s.loc.span,
            ));
            None
        }
    };
    Alerting {
        section: Some(section),
        config,
    }
}

fn config(m: &Model) -> Yaml {
    let mut route = Yaml::map();
    route.set("receiver", Yaml::str(UNROUTED));
    route.set(
        "group_by",
        Yaml::List(vec![Yaml::str("alertname"), Yaml::str("monitor")]),
    );
    route.set("group_wait", Yaml::str("30s"));
    route.set("group_interval", Yaml::str("5m"));
    route.set("repeat_interval", Yaml::str("4h"));
    let routes: Vec<Yaml> = m.receivers.iter().map(|r| child_route(m, r)).collect();
    if !routes.is_empty() {
        route.set("routes", Yaml::List(routes));
    }
    let mut receivers = vec![{
        let mut r = Yaml::map();
        r.set("name", Yaml::str(UNROUTED));
        r
    }];
    receivers.extend(m.receivers.iter().map(|r| receiver(m, r)));
    let mut doc = Yaml::map();
    doc.set("route", route);
    doc.set("receivers", Yaml::List(receivers));
    let inhibit = inhibit_rules(m);
    if !inhibit.is_empty() {
        doc.set("inhibit_rules", Yaml::List(inhibit));
    }
    doc
}

/// A matcher on `label`: equal to the one value, or matching any of several.
fn matcher(label: &str, values: &[&str]) -> Yaml {
    Yaml::Str(match values {
        [one] => format!("{label}=\"{one}\""),
        _ => format!("{label}=~\"{}\"", values.join("|")),
    })
}

fn child_route(m: &Model, r: &Receiver) -> Yaml {
    let mut matchers = Vec::new();
    if !r.severities.is_empty() {
        let s: Vec<&str> = r.severities.iter().map(|s| s.as_str()).collect();
        matchers.push(matcher("severity", &s));
    }
    if !r.monitors.is_empty() {
        let s: Vec<&str> = r.monitors.iter().map(String::as_str).collect();
        matchers.push(matcher("monitor", &s));
    }
    if !r.hosts.is_empty() {
        let s: Vec<&str> = r.hosts.iter().map(|h| m.hosts[*h].name.as_str()).collect();
        matchers.push(matcher("host", &s));
    }
    let mut y = Yaml::map();
    y.set("receiver", Yaml::Str(r.name.clone()));
    if !matchers.is_empty() {
        y.set("matchers", Yaml::List(matchers));
    }
    if let Some(wait) = r.wait {
        y.set(
            "group_wait",
            Yaml::Str(sparkc_core::model::units::format_duration(wait)),
        );
    }
    if let Some(every) = r.repeat_every {
        y.set(
            "repeat_interval",
            Yaml::Str(sparkc_core::model::units::format_duration(every)),
        );
    }
    y.set("continue", Yaml::Bool(true));
    y
}

fn receiver(m: &Model, r: &Receiver) -> Yaml {
    let file = |s: &SecretId| Yaml::Str(m.secrets[*s].path());
    let mut y = Yaml::map();
    y.set("name", Yaml::Str(r.name.clone()));
    for c in &r.channels {
        let mut c_y = Yaml::map();
        let key = match c {
            Channel::Email {
                to,
                from,
                smarthost,
                username,
                password,
                require_tls,
            } => {
                c_y.set("to", Yaml::Str(to.join(", ")));
                c_y.set("from", Yaml::Str(from.clone()));
                c_y.set("smarthost", Yaml::Str(smarthost.clone()));
                if let Some(u) = username {
                    c_y.set("auth_username", Yaml::Str(u.clone()));
                }
                if let Some(p) = password {
                    c_y.set("auth_password_file", file(p));
                }
                c_y.set("require_tls", Yaml::Bool(*require_tls));
                "email_configs"
            }
            Channel::Telegram { token, chat_id } => {
                c_y.set("bot_token_file", file(token));
                c_y.set("chat_id", Yaml::Int(*chat_id));
                "telegram_configs"
            }
            Channel::Slack { webhook, channel } => {
                c_y.set("api_url_file", file(webhook));
                if let Some(ch) = channel {
                    c_y.set("channel", Yaml::Str(ch.clone()));
                }
                "slack_configs"
            }
            Channel::PagerDuty { routing_key } => {
                c_y.set("routing_key_file", file(routing_key));
                "pagerduty_configs"
            }
            Channel::Webhook { url } => {
                match url {
                    WebhookUrl::Plain(u) => c_y.set("url", Yaml::Str(u.clone())),
                    WebhookUrl::Secret(s) => c_y.set("url_file", file(s)),
                }
                "webhook_configs"
            }
        };
        c_y.set("send_resolved", Yaml::Bool(true));
        y.set(key, Yaml::List(vec![c_y]));
    }
    y
}

/// A host's own probe failing silences the alerts about what runs on it (its services, the
/// domains routed to them), and a monitor's critical alert its own warnings (a site that is
/// down has no certificate to expire).
fn inhibit_rules(m: &Model) -> Vec<Yaml> {
    let mut rules = Vec::new();
    let alerting = m.monitors.iter().any(Monitor::alerts) || !m.alerts.is_empty();
    if !alerting {
        return rules;
    }
    let host_down: Vec<String> = m
        .monitors
        .iter()
        .filter(|mon| matches!(mon.target, MonitorTarget::Host(_)) && mon.down_for.is_some())
        .map(|mon| alert_name(mon, ""))
        .collect();
    if !host_down.is_empty() {
        let names: Vec<&str> = host_down.iter().map(String::as_str).collect();
        let mut r = Yaml::map();
        r.set(
            "source_matchers",
            Yaml::List(vec![matcher("alertname", &names)]),
        );
        let negated = match names.as_slice() {
            [one] => format!("alertname!=\"{one}\""),
            _ => format!("alertname!~\"{}\"", names.join("|")),
        };
        r.set("target_matchers", Yaml::List(vec![Yaml::Str(negated)]));
        r.set("equal", Yaml::List(vec![Yaml::str("host")]));
        rules.push(r);
    }
    let mut r = Yaml::map();
    r.set(
        "source_matchers",
        Yaml::List(vec![matcher("severity", &["critical"])]),
    );
    r.set(
        "target_matchers",
        Yaml::List(vec![matcher("severity", &["warning"])]),
    );
    r.set("equal", Yaml::List(vec![Yaml::str("monitor")]));
    rules.push(r);
    rules
}
