//! Why one container cannot reach another, in words: the E0311 diagnostic that the rules
//! and the targets (Prometheus, the blackbox exporter) build when [`Model::reach`] says no.

use super::*;
use crate::diag::{Code, Diagnostic};
use crate::source::Loc;

/// E0311: `from` cannot connect to `to`; `at` is where the connection is asked for. The
/// secondary labels say which networks each side is on.
pub fn unreachable(
    m: &Model,
    from: ServiceId,
    to: ServiceId,
    at: Loc,
    label: String,
    help: String,
) -> Diagnostic {
    let (f, t) = (&m.services[from], &m.services[to]);
    let mut d = Diagnostic::error(
        Code::Unreachable,
        format!(
            "`{}` cannot reach `{}`: they share no network",
            f.name, t.name
        ),
        at.file,
        at.span,
    )
    .label(label)
    .about(f.subject());
    for (sid, s) in [(to, t), (from, f)] {
        if s.loc != at {
            d = d.with_secondary(s.loc.file, s.loc.span, attachment_text(m, sid));
        }
    }
    d.help(help)
}

/// Where a service's container is attached, for a label.
pub fn attachment_text(m: &Model, sid: ServiceId) -> String {
    let s = &m.services[sid];
    match m.attachment(sid) {
        Attachment::Networks {
            declared,
            project_default,
        } => {
            let mut parts: Vec<String> = declared
                .iter()
                .map(|n| format!("`{}`", m.networks[*n].name))
                .collect();
            match project_default {
                Some(Some(stack)) => parts.push(format!("the default network of stack `{stack}`")),
                Some(None) => parts.push(format!(
                    "the default network of host `{}`",
                    host_name(m, s.host)
                )),
                None => {}
            }
            format!("on {}", parts.join(" and "))
        }
        Attachment::Isolated => "without any network (`network_mode = none`)".to_string(),
        Attachment::Unknown => "on the host's network".to_string(),
    }
}

/// How to let `from` reach `to` (same host): join the networks that exist where possible,
/// keeping each service on the networks it is on now.
pub fn join_help(m: &Model, from: ServiceId, to: ServiceId, new_network: &str) -> String {
    let (f, t) = (&m.services[from], &m.services[to]);
    if f.host != t.host {
        return format!(
            "`{}` runs on host `{}` and `{}` on `{}`: container names resolve only on one host",
            f.name,
            host_name(m, f.host),
            t.name,
            host_name(m, t.host)
        );
    }
    // Networks are joined by the service that owns the network namespace.
    let fo = &m.services[m.namespace_owner(from).unwrap_or(from)];
    let to_ = &m.services[m.namespace_owner(to).unwrap_or(to)];
    let (
        Attachment::Networks {
            declared: fd,
            project_default: fdef,
        },
        Attachment::Networks {
            declared: td,
            project_default: tdef,
        },
    ) = (m.attachment(from), m.attachment(to))
    else {
        return format!("attach `{}` and `{}` to one network", fo.name, to_.name);
    };
    let name = |n: &NetworkId| m.networks[*n].name.clone();
    // `networks = [...]` for a service that keeps what it has and joins `extra`.
    let set = |keep: &[NetworkId], default: bool, extra: String| {
        let mut v: Vec<String> = keep.iter().map(name).collect();
        v.push(extra);
        if default {
            v.push("default".to_string());
        }
        format!("`networks = [{}]`", v.join(", "))
    };
    if let Some(stack) = tdef
        && fo.stack.as_deref() == stack
    {
        return format!(
            "`{}` is on its project's default network: give `{}` {}",
            to_.name,
            fo.name,
            set(fd, false, "default".to_string())
        );
    }
    if let Some(n) = fd.first() {
        return format!("give `{}` {}", to_.name, set(td, tdef.is_some(), name(n)));
    }
    if let Some(n) = td.first() {
        return format!("give `{}` {}", fo.name, set(fd, fdef.is_some(), name(n)));
    }
    format!(
        "declare a network both join, `network {new_network} on {}`, and give `{}` and `{}` `networks = [{new_network}, default]`",
        host_name(m, f.host),
        fo.name,
        to_.name
    )
}

fn host_name(m: &Model, h: Option<HostId>) -> &str {
    h.and_then(|h| m.hosts.get(h))
        .map_or("?", |h| h.name.as_str())
}
