//! How a service runs: limits, logging, Swarm update and restart policies, and the
//! passthrough of keys sparkc does not model.

use crate::check::eval::{V, Val};
use crate::check::lower::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Loc;

impl Lowerer<'_, '_> {
    pub(crate) fn ulimits(&mut self, v: &V) -> Map<String, Ulimit> {
        let mut out = Map::default();
        let Some(rec) = self.record(v) else {
            return out;
        };
        for (k, uv, _) in rec {
            match &uv.val {
                Val::Record(r) => {
                    let get = |key: &str| {
                        r.iter()
                            .find(|(n, _, _)| n.text == key)
                            .map(|(_, v, _)| v.clone())
                    };
                    match (get("soft"), get("hard")) {
                        (Some(sv), Some(hv)) => {
                            if let (Some(a), Some(b)) =
                                (self.int(&sv, -1, i64::MAX), self.int(&hv, -1, i64::MAX))
                            {
                                if a > b && b >= 0 {
                                    self.out_of_range::<()>(
                                        &sv,
                                        format!("soft limit {a} exceeds hard limit {b}"),
                                        "the soft limit must not exceed the hard limit",
                                    );
                                }
                                out.insert(k.text.as_str().to_owned(), Ulimit::SoftHard(a, b));
                            }
                        }
                        _ => {
                            self.ev.err(
                                Diagnostic::error(Code::MissingField, "a ulimit record needs `soft` and `hard`", uv.loc.file, uv.loc.span)
                                    .help("write `nofile = { soft = 20000, hard = 40000 }` or a single number"),
                            );
                        }
                    }
                }
                _ => {
                    if let Some(n) = self.int(uv, -1, i64::MAX) {
                        out.insert(k.text.as_str().to_owned(), Ulimit::Single(n));
                    }
                }
            }
        }
        out
    }

    pub(crate) fn logging(&mut self, v: &V) -> Option<Logging> {
        let rec = self.record(v)?;
        let mut driver = None;
        let mut options = Map::default();
        for (k, fv, kf) in rec {
            match k.text.as_str() {
                "driver" => driver = self.str(fv),
                "options" => options = self.text_map(fv),
                _ => self.unknown_sub(&k.text, k.span, *kf, "logging", &["driver", "options"]),
            }
        }
        if let Some(driver) = driver {
            Some(Logging { driver, options })
        } else {
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    "`logging` needs a `driver`",
                    v.loc.file,
                    v.loc.span,
                )
                .help("write `logging { driver = \"json-file\", options { max-size = \"10m\" } }`"),
            );
            None
        }
    }

    pub(crate) fn update_policy(&mut self, v: &V, what: &str) -> Option<UpdatePolicy> {
        let rec = self.record(v)?;
        let mut u = UpdatePolicy::default();
        const KNOWN: &[&str] = &[
            "parallelism",
            "delay",
            "failure_action",
            "monitor",
            "max_failure_ratio",
            "order",
        ];
        for (k, fv, kf) in rec {
            match k.text.as_str() {
                "parallelism" => u.parallelism = self.int(fv, 0, 10_000),
                "delay" => u.delay = self.duration(fv),
                "monitor" => u.monitor = self.duration(fv),
                "max_failure_ratio" => u.max_failure_ratio = self.float(fv, 0.0),
                "failure_action" => {
                    let allowed: &[&'static str] = if what == "update" {
                        &["continue", "rollback", "pause"]
                    } else {
                        &["continue", "pause"]
                    };
                    u.failure_action = self
                        .variant(fv, "failure action", allowed)
                        .map(str::to_string);
                }
                "order" => {
                    u.order = self
                        .variant(fv, "update order", &["stop-first", "start-first"])
                        .map(str::to_string);
                }
                _ => self.unknown_sub(&k.text, k.span, *kf, what, KNOWN),
            }
        }
        Some(u)
    }

    pub(crate) fn restart_policy(&mut self, v: &V) -> Option<RestartPolicy> {
        let rec = self.record(v)?;
        let mut r = RestartPolicy::default();
        for (k, fv, kf) in rec {
            match k.text.as_str() {
                "condition" => {
                    r.condition = self
                        .variant(fv, "restart condition", &["none", "on-failure", "any"])
                        .map(str::to_string);
                }
                "delay" => r.delay = self.duration(fv),
                "max_attempts" => r.max_attempts = self.int(fv, 0, 10_000),
                "window" => r.window = self.duration(fv),
                _ => self.unknown_sub(
                    &k.text,
                    k.span,
                    *kf,
                    "restart_policy",
                    &["condition", "delay", "max_attempts", "window"],
                ),
            }
        }
        Some(r)
    }

    /// `passthrough { compose = { stop_signal = "SIGQUIT" } }`: keys sparkc does not model
    /// yet. Which keys it does model is the compose target's knowledge: it refuses those.
    pub(crate) fn passthrough(&mut self, v: &V) -> Map<String, Passthrough> {
        let mut out = Map::default();
        let Some(rec) = self.record(v) else {
            return out;
        };
        for (k, tv, kf) in rec {
            if k.text != "compose" {
                self.unknown_sub(&k.text, k.span, *kf, "passthrough", &["compose"]);
                continue;
            }
            let Some(inner) = self.record(tv) else {
                continue;
            };
            for (ik, iv, ikf) in inner {
                if let Some(value) = self.raw(iv) {
                    let loc = Loc {
                        file: *ikf,
                        span: ik.span,
                    };
                    out.insert(ik.text.as_str().to_owned(), Passthrough { value, loc });
                }
            }
        }
        out
    }

    pub(crate) fn raw(&mut self, v: &V) -> Option<Raw> {
        let r = self.resolved(v);
        Some(match &r.val {
            Val::Str(s) => Raw::Str(s.clone()),
            Val::Int(i) => Raw::Int(*i),
            Val::Float(f) => Raw::Float(*f),
            Val::Bool(b) => Raw::Bool(*b),
            Val::Size(b) => Raw::Int(*b as i64),
            Val::Duration(ms) => Raw::Str(crate::model::units::format_duration(*ms)),
            Val::Port(p, _) => Raw::Int(i64::from(*p)),
            Val::Ip(ip) => Raw::Str(ip.to_string()),
            Val::List(items) => Raw::List(items.iter().filter_map(|i| self.raw(i)).collect()),
            Val::Record(rec) => Raw::Map(
                rec.iter()
                    .filter_map(|(k, v, _)| Some((k.text.as_str().to_owned(), self.raw(v)?)))
                    .collect(),
            ),
            _ => {
                return self.mismatch(
                    &r,
                    "a plain value (string, number, boolean, list or record)",
                );
            }
        })
    }
}
