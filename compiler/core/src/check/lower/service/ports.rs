//! A service's ports: published ports and references to its own ports by name.

use crate::check::eval::{V, Val};
use crate::check::lower::Lowerer;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::Loc;

impl Lowerer<'_, '_> {
    /// `publish = [80 -> http, 8443 -> 443, 127.0.0.1:9000 ...]`
    pub(crate) fn publish(&mut self, v: &V, s: &Service) -> Vec<Publish> {
        let mut out = Vec::new();
        // `publish = none`: nothing a template publishes (a proxy in the host's network).
        if Self::is_none(v) {
            return out;
        }
        let Some(items) = self.list(v) else {
            return out;
        };
        for item in items {
            let (host_v, target_v, address) = match &item.val {
                Val::Pair(a, b) if matches!(a.val, Val::Name(_) | Val::Ref(..)) => {
                    // `http -> 8081`: the sides swapped; taken as written, the name would
                    // publish the container port on itself.
                    let named = match &a.val {
                        Val::Name(n) => n.to_string(),
                        Val::Ref(sym, _) => self.ev.syms.list[*sym].name.clone(),
                        _ => String::new(),
                    };
                    let example = match &b.val {
                        Val::Int(n) => n.to_string(),
                        _ => "8080".to_string(),
                    };
                    self.ev.err(
                        Diagnostic::error(Code::TypeMismatch, "the host side of `->` is a port number", a.loc.file, a.loc.span)
                            .label(format!("`{named}` names a port"))
                            .help(format!("write the host port first and the container port after it: `{example} -> {named}`")),
                    );
                    continue;
                }
                // `127.0.0.1:9000 -> admin`: the host port on one address.
                Val::Pair(a, b) if matches!(a.val, Val::IpPort(..)) => {
                    let Val::IpPort(ip, p) = a.val else { continue };
                    let port = V {
                        val: Val::Int(i64::from(p)),
                        loc: a.loc,
                    };
                    (port, (**b).clone(), Some(ip))
                }
                Val::Pair(a, b) => ((**a).clone(), (**b).clone(), None),
                Val::Record(rec) => {
                    let get = |k: &str| {
                        rec.iter()
                            .find(|(n, _, _)| n.text == k)
                            .map(|(_, v, _)| v.clone())
                    };
                    let (Some(h), Some(t)) = (get("host_port"), get("port")) else {
                        self.ev.err(
                            Diagnostic::error(Code::MissingField, "a published port needs `host_port` and `port`", item.loc.file, item.loc.span)
                                .help("write `{ address = 127.0.0.1, host_port = 8080, port = http }` or `8080 -> http`"),
                        );
                        continue;
                    };
                    let addr = get("address").and_then(|a| self.ip(&a));
                    (h, t, addr)
                }
                Val::Name(_) | Val::Ref(..) => (item.clone(), item.clone(), None),
                _ => {
                    self.mismatch::<()>(item, "`HOST_PORT -> PORT` (e.g. `443 -> https`)");
                    continue;
                }
            };
            let Some((cont, proto)) = self.container_port(&target_v, s) else {
                continue;
            };
            let host = match &host_v.val {
                Val::PortRange(a, b, _) => {
                    let (Some(a), Some(b)) =
                        (self.port_number(&host_v, *a), self.port_number(&host_v, *b))
                    else {
                        continue;
                    };
                    (a, b)
                }
                Val::Name(_) | Val::Ref(..) => (cont.0, cont.1),
                _ => match self.port(&host_v) {
                    Some((p, _)) => (p, p),
                    None => continue,
                },
            };
            if host.1 - host.0 != cont.1 - cont.0 {
                self.ev.err(
                    Diagnostic::error(
                        Code::OutOfRange,
                        "host and container port ranges differ in length",
                        item.loc.file,
                        item.loc.span,
                    )
                    .help("publish ranges of equal length, e.g. `8000-8010 -> 8000-8010`"),
                );
                continue;
            }
            out.push(Publish {
                address,
                host,
                container: cont,
                proto,
                loc: item.loc,
            });
        }
        out
    }

    /// A container port: a number, or the name of one of the service's own ports.
    pub(crate) fn container_port(&mut self, v: &V, s: &Service) -> Option<((u16, u16), Proto)> {
        let name = match &v.val {
            Val::Name(n) => Some(n.clone()),
            Val::Ref(sym, p) if p.is_empty() => Some(self.ev.syms.list[*sym].name.as_str().into()),
            _ => None,
        };
        if let Some(n) = name {
            return if let Some(p) = s.port(&n) {
                Some(((p.port, p.last), p.proto))
            } else {
                self.unknown_port(&n, v.loc, s);
                None
            };
        }
        match &v.val {
            Val::PortRange(a, b, proto) => {
                Some(((self.port_number(v, *a)?, self.port_number(v, *b)?), *proto))
            }
            _ => self.port(v).map(|(p, proto)| ((p, p), proto)),
        }
    }

    /// One container port, for what reaches a single port (`metrics`, an HTTP health check):
    /// a number, or the name of a port that is not a range.
    pub(crate) fn single_port(&mut self, v: &V, s: &Service, what: &str) -> Option<u16> {
        let ((first, last), _) = self.container_port(v, s)?;
        if first != last {
            return self.range_refused(v.loc, first, last, what);
        }
        Some(first)
    }

    /// A port range where one port is needed.
    pub(crate) fn range_refused<T>(
        &mut self,
        loc: Loc,
        first: u16,
        last: u16,
        what: &str,
    ) -> Option<T> {
        self.ev.err(
            Diagnostic::error(
                Code::TypeMismatch,
                format!("{what} reaches one port, not the range {first}-{last}"),
                loc.file,
                loc.span,
            )
            .label("a range")
            .help("a port range can only be published or exposed; declare the single port it needs beside it: `port { http = 8080, relay = 49160-49200/udp }`"),
        );
        None
    }

    pub(crate) fn unknown_port(&mut self, name: &str, loc: Loc, s: &Service) {
        let mut d = Diagnostic::error(
            Code::UnknownPort,
            format!("service `{}` has no port named `{name}`", s.name),
            loc.file,
            loc.span,
        )
        .label("no such port");
        d.help = Some(
            match did_you_mean(name, s.ports.iter().map(|p| p.name.as_str())) {
                Some(x) => format!("did you mean `{x}`?"),
                None if s.ports.is_empty() => {
                    format!("declare it on the service: `port {{ {name} = 8080 }}`")
                }
                None => format!(
                    "its ports are: {}",
                    s.ports
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        );
        self.ev.err(d);
    }
}
