//! Receivers: where alerts are delivered (Alertmanager's receivers), and which alerts each
//! one gets. Each channel is a block of its own (`email { ... }`, `telegram { ... }`);
//! credentials are secrets, which the project's Alertmanager gets mounted.

use super::{Field, FieldTable, Lowerer};
use crate::check::SymKind;
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::DeclKind;

/// A receiver's fields as written.
#[derive(Default)]
pub(super) struct ReceiverFields {
    email: Option<Channel>,
    telegram: Option<Channel>,
    slack: Option<Channel>,
    pagerduty: Option<Channel>,
    webhook: Option<Channel>,
    severities: Vec<Severity>,
    monitors: Vec<String>,
    hosts: Vec<HostId>,
    repeat_every: Option<u64>,
    wait: Option<u64>,
}

/// Every field a receiver declaration may have.
pub(super) static FIELDS: FieldTable<ReceiverFields> = FieldTable::new(&[
    Field {
        name: "email",
        form: "email { to = \"ops@example.org\", sender = \"alerts@example.org\", smarthost = \"smtp.example.org:587\", username = \"alerts@example.org\", password = SECRET }",
        doc: "Send e-mail over SMTP (`to` one address or a list; `require_tls = false` for a server without STARTTLS).",
        lower: |l, v, r| r.email = l.email(v),
    },
    Field {
        name: "telegram",
        form: "telegram { token = SECRET, chat_id = -1001234567890 }",
        doc: "Write to a Telegram chat through a bot (its token a secret).",
        lower: |l, v, r| r.telegram = l.telegram(v),
    },
    Field {
        name: "slack",
        form: "slack { webhook = SECRET, channel = \"#ops\" }",
        doc: "Post to Slack through an incoming webhook (its URL a secret).",
        lower: |l, v, r| r.slack = l.slack(v),
    },
    Field {
        name: "pagerduty",
        form: "pagerduty { routing_key = SECRET }",
        doc: "Open PagerDuty incidents through the Events API v2 (the integration's routing key a secret).",
        lower: |l, v, r| r.pagerduty = l.pagerduty(v),
    },
    Field {
        name: "webhook",
        form: "webhook { url = \"https://ntfy.example.org/alerts\" | SECRET }",
        doc: "POST Alertmanager's JSON to a URL (ntfy, Gotify, a chat bridge); a URL that holds a token is a secret.",
        lower: |l, v, r| r.webhook = l.webhook(v),
    },
    Field {
        name: "severity",
        form: "severity = critical | [critical, warning]",
        doc: "The severities it receives (default: every one). A monitor's `down_for` alert is `critical` unless it says otherwise; a certificate alert is a `warning`.",
        lower: |l, v, r| {
            r.severities = match &v.val {
                Val::List(items) => items.iter().filter_map(|i| l.severity(i)).collect(),
                _ => l.severity(v).into_iter().collect(),
            };
            r.severities.sort();
            r.severities.dedup();
        },
    },
    Field {
        name: "monitors",
        form: "monitors = [cloud-up, shop-up, api-errors]",
        doc: "Only the alerts of these monitors and `alert` declarations (default: every one's).",
        lower: |l, v, r| {
            for item in l.list(v).unwrap_or_default() {
                // An `alert` declaration's rule is labelled with its name like a monitor's.
                if let Val::Ref(s, p) = &item.val
                    && p.is_empty()
                    && l.ev.syms.list[*s].kind == SymKind::Decl(DeclKind::Alert)
                {
                    let name = l.ev.syms.list[*s].name.as_str().to_owned();
                    if !r.monitors.contains(&name) {
                        r.monitors.push(name);
                    }
                    continue;
                }
                if let Some(sym) = l.decl_ref(item, DeclKind::Monitor) {
                    let name = l.ev.syms.list[sym].name.as_str().to_owned();
                    // Monitors are lowered before receivers.
                    let silent = l
                        .model
                        .monitors
                        .iter()
                        .find(|m| m.name == name)
                        .is_some_and(|m| !m.alerts());
                    if silent {
                        l.ev.err(
                            Diagnostic::error(
                                Code::MissingField,
                                format!("monitor `{name}` raises no alert: a receiver of its alerts gets nothing"),
                                item.loc.file,
                                item.loc.span,
                            )
                            .help(format!("give `{name}` an alert (`alert = down_for(5m)`), or remove it here")),
                        );
                        continue;
                    }
                    if !r.monitors.contains(&name) {
                        r.monitors.push(name);
                    }
                }
            }
            r.monitors.sort_by(|a, b| natural_cmp(a, b));
        },
    },
    Field {
        name: "hosts",
        form: "hosts = [web01]",
        doc: "Only the alerts about these hosts: a host's own probes and those of what runs on it (default: every host's, and those of URLs outside the project).",
        lower: |l, v, r| {
            for item in l.list(v).unwrap_or_default() {
                if let Some(sym) = l.decl_ref(item, DeclKind::Host)
                    && let Some(&h) = l.host_ids.get(&sym)
                    && !r.hosts.contains(&h)
                {
                    r.hosts.push(h);
                }
            }
            r.hosts.sort();
        },
    },
    Field {
        name: "repeat_every",
        form: "repeat_every = 4h",
        doc: "How often an alert that still fires is sent again (default `4h`).",
        lower: |l, v, r| r.repeat_every = l.duration(v),
    },
    Field {
        name: "wait",
        form: "wait = 30s",
        doc: "How long the first alert of a group waits for others to join it before it is sent (default `30s`).",
        lower: |l, v, r| r.wait = l.duration(v),
    },
]);

/// A channel block's fields, as written, each with its value.
struct Block<'v> {
    at: Loc,
    fields: Vec<(&'v str, &'v V)>,
}

impl<'v> Block<'v> {
    fn get(&self, key: &str) -> Option<&'v V> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}

impl Lowerer<'_, '_> {
    pub(super) fn receiver(&mut self, sym: usize) -> Option<Receiver> {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let loc = self.loc_of(sym);
        let name = decl.name.text.as_str().to_owned();
        let mut written = ReceiverFields::default();
        self.lower_fields(&f, &FIELDS, &mut written, |_| true);
        let channels: Vec<Channel> = [
            written.email,
            written.telegram,
            written.slack,
            written.pagerduty,
            written.webhook,
        ]
        .into_iter()
        .flatten()
        .collect();
        let any_written = ["email", "telegram", "slack", "pagerduty", "webhook"]
            .iter()
            .any(|c| f.get(c).is_some());
        if channels.is_empty() {
            if !any_written {
                self.ev.err(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("receiver `{name}` has no channel"),
                        loc.file,
                        loc.span,
                    )
                    .label("how is it notified?")
                    .help("give it `email { ... }`, `telegram { ... }`, `slack { ... }`, `pagerduty { ... }` or `webhook { ... }`"),
                );
            }
            return None;
        }
        Some(Receiver {
            name,
            loc,
            channels,
            severities: written.severities,
            monitors: written.monitors,
            hosts: written.hosts,
            repeat_every: written.repeat_every,
            wait: written.wait,
        })
    }

    /// A channel's block: its fields checked against `known`, the `required` ones present.
    fn channel_block<'v>(
        &mut self,
        v: &'v V,
        what: &'static str,
        known: &[&str],
        required: &[(&str, &str)],
    ) -> Option<Block<'v>> {
        let rec = self.record(v)?;
        let mut fields = Vec::new();
        for (k, fv, kf) in rec {
            if known.contains(&k.text.as_str()) {
                fields.push((k.text.as_str(), fv));
            } else {
                self.unknown_sub(&k.text, k.span, *kf, what, known);
            }
        }
        let block = Block { at: v.loc, fields };
        let mut complete = true;
        for (field, example) in required {
            if block.get(field).is_none() {
                self.ev.err(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("`{what}` needs `{field}`"),
                        v.loc.file,
                        v.loc.span,
                    )
                    .help(format!("write `{field} = {example}`")),
                );
                complete = false;
            }
        }
        complete.then_some(block)
    }

    fn email(&mut self, v: &V) -> Option<Channel> {
        let b = self.channel_block(
            v,
            "email",
            &[
                "to",
                "sender",
                "smarthost",
                "username",
                "password",
                "require_tls",
            ],
            &[
                ("to", "\"ops@example.org\""),
                ("sender", "\"alerts@example.org\""),
                ("smarthost", "\"smtp.example.org:587\""),
            ],
        )?;
        let to_v = b.get("to")?;
        // Each address checked at its own value.
        let written: Vec<&V> = match &to_v.val {
            Val::List(items) => items.iter().collect(),
            _ => vec![to_v],
        };
        let mut ok = true;
        let mut to = Vec::new();
        for item in written {
            match self.str(item) {
                Some(addr) => {
                    ok &= self.mail_address(item, &addr);
                    to.push(addr);
                }
                None => ok = false,
            }
        }
        if to.is_empty() && ok {
            ok = false;
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    "an e-mail channel that writes to no one",
                    to_v.loc.file,
                    to_v.loc.span,
                )
                .help("list at least one address: `to = [\"ops@example.org\"]`"),
            );
        }
        let from_v = b.get("sender")?;
        let from = self.str(from_v)?;
        ok &= self.mail_address(from_v, &from);
        let host_v = b.get("smarthost")?;
        let smarthost = self.str(host_v)?;
        let port_ok = smarthost
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if !port_ok {
            self.malformed::<()>(
                host_v,
                format!("`{smarthost}` is not an SMTP server address"),
                "write the server and its port, `smtp.example.org:587` (STARTTLS) or `smtp.example.org:465` (TLS)",
            );
            ok = false;
        }
        let username = match b.get("username") {
            Some(u) => Some(self.str(u)?),
            None => None,
        };
        let password = match b.get("password") {
            Some(p) => Some(self.secret_ref(p)?),
            None => None,
        };
        if password.is_some() != username.is_some() {
            let (has, lacks) = if password.is_some() {
                ("password", "username")
            } else {
                ("username", "password")
            };
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    format!("an SMTP login with a {has} but no {lacks}"),
                    b.at.file,
                    b.at.span,
                )
                .help("give both `username` and `password` (a secret), or neither for a server that needs no login"),
            );
            ok = false;
        }
        let require_tls = match b.get("require_tls") {
            Some(t) => self.bool(t)?,
            None => true,
        };
        ok.then_some(Channel::Email {
            to,
            from,
            smarthost,
            username,
            password,
            require_tls,
        })
    }

    /// Whether `addr` looks like an e-mail address (`local@domain`), reporting it if not.
    fn mail_address(&mut self, v: &V, addr: &str) -> bool {
        let fits = addr.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !addr
                    .chars()
                    .any(|c| c.is_whitespace() || c == ',' || c == '<')
        });
        if !fits {
            self.malformed::<()>(
                v,
                format!("`{addr}` is not an e-mail address"),
                "write a plain address, `ops@example.org` (a list for several: `to = [\"a@example.org\", \"b@example.org\"]`)",
            );
        }
        fits
    }

    fn telegram(&mut self, v: &V) -> Option<Channel> {
        let b = self.channel_block(
            v,
            "telegram",
            &["token", "chat_id"],
            &[("token", "SECRET"), ("chat_id", "-1001234567890")],
        )?;
        let token = self.secret_ref(b.get("token")?);
        let chat_id = self.int(b.get("chat_id")?, i64::MIN, i64::MAX);
        Some(Channel::Telegram {
            token: token?,
            chat_id: chat_id?,
        })
    }

    fn slack(&mut self, v: &V) -> Option<Channel> {
        let b = self.channel_block(
            v,
            "slack",
            &["webhook", "channel"],
            &[("webhook", "SECRET")],
        )?;
        let webhook = self.secret_ref(b.get("webhook")?);
        let channel = match b.get("channel") {
            Some(c) => Some(self.str(c)?),
            None => None,
        };
        Some(Channel::Slack {
            webhook: webhook?,
            channel,
        })
    }

    fn pagerduty(&mut self, v: &V) -> Option<Channel> {
        let b = self.channel_block(
            v,
            "pagerduty",
            &["routing_key"],
            &[("routing_key", "SECRET")],
        )?;
        Some(Channel::PagerDuty {
            routing_key: self.secret_ref(b.get("routing_key")?)?,
        })
    }

    fn webhook(&mut self, v: &V) -> Option<Channel> {
        let b = self.channel_block(
            v,
            "webhook",
            &["url"],
            &[("url", "\"https://ntfy.example.org/alerts\"")],
        )?;
        let u = b.get("url")?;
        let url = if self.is_secret(u) {
            WebhookUrl::Secret(self.secret_ref(u)?)
        } else {
            let s = self.str(u)?;
            self.url(u, &["http", "https"])?;
            WebhookUrl::Plain(s)
        };
        Some(Channel::Webhook { url })
    }

    /// The credentials metrics endpoints ask for go to the project's Prometheus, which reads
    /// them from their files.
    pub(super) fn metrics_secrets(&mut self) {
        let needed: Vec<SecretId> = self
            .model
            .services
            .iter()
            .filter_map(|s| s.metrics_auth.as_ref().map(MetricsAuth::secret))
            .collect();
        if let Some(p) = self.model.app_anywhere("prometheus") {
            self.give_secrets(p, needed);
        }
    }

    /// Mount `needed` into service `to` (each once, in id order, after the ones it has).
    fn give_secrets(&mut self, to: ServiceId, mut needed: Vec<SecretId>) {
        needed.sort();
        let secrets = &mut self.model.services[to].secrets;
        for s in needed {
            if !secrets.contains(&s) {
                secrets.push(s);
            }
        }
    }

    /// The receivers' credentials go to the project's Alertmanager, which reads them from
    /// their files; receivers without an Alertmanager to deliver them are an error.
    pub(super) fn receiver_secrets(&mut self) {
        if self.model.receivers.is_empty() {
            return;
        }
        let Some(am) = self.model.app_anywhere("alertmanager") else {
            let count = self
                .model
                .services
                .iter()
                .filter(|s| s.runs("alertmanager"))
                .count();
            let r = &self.model.receivers[0];
            let (file, span) = (r.loc.file, r.loc.span);
            let message = if count > 1 {
                format!(
                    "receiver `{}` is declared, but the project runs {count} Alertmanagers: which one delivers it is not clear",
                    r.name
                )
            } else {
                format!(
                    "receiver `{}` is declared, but the project runs no Alertmanager",
                    r.name
                )
            };
            self.ev.err(
                Diagnostic::error(Code::BadPlacement, message, file, span)
                    .label("nothing would deliver to it")
                    .help("run one Alertmanager beside Prometheus: `service alertmanager on HOST = alertmanager()` from `std.apps`"),
            );
            return;
        };
        let mut needed = Vec::new();
        for r in &self.model.receivers {
            for c in &r.channels {
                needed.extend(c.secrets());
            }
        }
        self.give_secrets(am, needed);
    }
}
