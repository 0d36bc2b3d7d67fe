//! A service's health check and the start order of its dependencies.

use crate::check::eval::{V, Val};
use crate::check::lower::Lowerer;
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::syntax::ast::DeclKind;

impl Lowerer<'_, '_> {
    pub(crate) fn healthcheck(&mut self, v: &V, s: &Service) -> Option<Healthcheck> {
        if let Val::Name(n) = &v.val
            && n == "none"
        {
            return Some(Healthcheck::disabled(v.loc));
        }
        let rec = self.record(v)?;
        let mut h = Healthcheck::disabled(v.loc);
        let mut has_test = false;
        for (k, fv, kf) in rec {
            match k.text.as_str() {
                "test" => {
                    has_test = true;
                    if let Some(t) = self.health_test(fv, s) {
                        h.test = t;
                    }
                }
                "interval" => h.interval = self.duration(fv),
                "timeout" => h.timeout = self.duration(fv),
                "start_period" => h.start_period = self.duration(fv),
                "retries" => h.retries = self.int(fv, 0, 1000),
                _ => self.unknown_sub(
                    &k.text,
                    k.span,
                    *kf,
                    "healthcheck",
                    &["test", "interval", "timeout", "retries", "start_period"],
                ),
            }
        }
        if !has_test {
            self.ev.err(
                Diagnostic::error(Code::MissingField, "a health check needs a `test`", v.loc.file, v.loc.span)
                    .help("write `test = cmd(\"pg_isready\")`, `test = shell(\"curl -f localhost\")` or `test = http(port = web, path = \"/health\")`; or `healthcheck = none` to disable the image's"),
            );
            return None;
        }
        Some(h)
    }

    pub(crate) fn health_test(&mut self, v: &V, s: &Service) -> Option<HealthTest> {
        let Val::Call(n, args) = &v.val else {
            return self.mismatch(
                v,
                "`cmd(...)`, `shell(\"...\")` or `http(port = NAME, path = \"/\")`",
            );
        };
        match n.text.as_str() {
            "cmd" => {
                let parts: Vec<String> = args.iter().filter_map(|(_, a)| self.str(a)).collect();
                if parts.is_empty() {
                    return self.mismatch(v, "a command with at least one word");
                }
                Some(HealthTest::Exec(parts))
            }
            "shell" => match args.as_slice() {
                [(_, a)] => self.str(a).map(HealthTest::Shell),
                _ => self.mismatch(v, "`shell(\"command line\")` with one string"),
            },
            "http" => {
                let mut port = None;
                let mut path = "/".to_string();
                for (name, a) in args {
                    match name.as_ref().map(|n| n.text.as_str()) {
                        Some("port") | None if port.is_none() => {
                            port = self.single_port(a, s, "an HTTP health check");
                        }
                        Some("path") => path = self.str(a).unwrap_or(path),
                        _ => {
                            self.ev.err(
                                Diagnostic::error(
                                    Code::UnknownParam,
                                    "`http(...)` takes `port` and `path`",
                                    a.loc.file,
                                    a.loc.span,
                                )
                                .help("write `http(port = web, path = \"/health\")`"),
                            );
                        }
                    }
                }
                let port = port?;
                if !path.starts_with('/') {
                    return self.malformed(
                        v,
                        format!("health check path `{path}` does not start with `/`"),
                        "write an absolute URL path, e.g. \"/health\"",
                    );
                }
                Some(HealthTest::Http { port, path })
            }
            other => {
                let mut d = Diagnostic::error(
                    Code::TypeMismatch,
                    format!("`{other}` is not a health check"),
                    v.loc.file,
                    n.span,
                );
                d.help = Some(match did_you_mean(other, ["cmd", "shell", "http"]) {
                    Some(x) => format!("did you mean `{x}`?"),
                    None => "use `cmd(...)`, `shell(\"...\")` or `http(port = NAME, path = \"/\")`"
                        .into(),
                });
                self.ev.err(d);
                None
            }
        }
    }

    pub(crate) fn depends(&mut self, v: &V) -> Vec<Dependency> {
        let mut out = Vec::new();
        let Some(items) = self.list(v) else {
            return out;
        };
        for item in items {
            let (target, cond) = match &item.val {
                Val::Call(n, args) if args.len() == 1 => {
                    let c = match n.text.as_str() {
                        "healthy" => Some(DependCondition::Healthy),
                        "started" => Some(DependCondition::Started),
                        "completed" => Some(DependCondition::Completed),
                        _ => None,
                    };
                    if let Some(c) = c {
                        (args[0].1.clone(), Some(c))
                    } else {
                        self.ev.err(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                format!("unknown dependency condition `{}`", n.text),
                                item.loc.file,
                                n.span,
                            )
                            .help(
                                "write `healthy(x)`, `started(x)` or `completed(x)`, or just `x`",
                            ),
                        );
                        continue;
                    }
                }
                _ => (item.clone(), None),
            };
            let Some(sym) = self.decl_ref(&target, DeclKind::Service) else {
                continue;
            };
            let Some(&id) = self.service_ids.get(&sym) else {
                continue;
            };
            if cond.is_none() {
                // Resolved once every service is lowered: healthy when the dependency has a health check.
                self.implicit_deps.push((self.current_service, out.len()));
            }
            out.push(Dependency {
                service: id,
                condition: cond.unwrap_or(DependCondition::Started),
                loc: item.loc,
            });
        }
        out
    }
}
