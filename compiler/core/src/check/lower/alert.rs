//! Alert rules written in PromQL: for what a monitor's typed conditions do not say (an error
//! rate, a queue length, an exporter's own metric). The expression is checked for balanced
//! brackets and quotes here; that the jobs it names exist is the prometheus target's check.

use super::{Field, FieldTable, Lowerer};
use crate::check::eval::V;
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Loc;
use crate::syntax::ast::DeclKind;

/// An alert declaration's fields as written.
#[derive(Default)]
pub(super) struct AlertFields {
    expr: Option<(String, Loc)>,
    for_ms: Option<u64>,
    severity: Option<Severity>,
    host: Option<HostId>,
    summary: Option<String>,
    labels: Map<String, String>,
}

/// The labels sparkc sets on every alert itself.
const OWN_LABELS: &[&str] = &["severity", "monitor", "host", "alertname"];

/// Every field an alert declaration may have.
pub(super) static FIELDS: FieldTable<AlertFields> = FieldTable::new(&[
    Field {
        name: "expr",
        form: "expr = \"sum(rate(http_requests_total{job=\\\"web01-api\\\",code=~\\\"5..\\\"}[5m])) > 1\"",
        doc: "The PromQL expression: the alert fires for each series it returns; every `job=\"...\"` it names must be a scrape job sparkc writes.",
        lower: |l, v, a| a.expr = l.str(v).map(|e| (e, v.loc)),
    },
    Field {
        name: "for",
        form: "for = 10m",
        doc: "How long the expression must hold before the alert fires (default `0s`: at once).",
        lower: |l, v, a| a.for_ms = l.duration(v),
    },
    Field {
        name: "severity",
        form: "severity = critical | warning | info",
        doc: "Its severity, which receivers select by (default `warning`).",
        lower: |l, v, a| a.severity = l.severity(v),
    },
    Field {
        name: "host",
        form: "host = web01",
        doc: "The host it is about: its `host` label, which receivers select by and the host's own failing probe silences.",
        lower: |l, v, a| {
            if let Some(sym) = l.decl_ref(v, DeclKind::Host) {
                a.host = l.host_ids.get(&sym).copied();
            }
        },
    },
    Field {
        name: "summary",
        form: "summary = \"{{ $labels.instance }} answers 5xx\"",
        doc: "What a notification says (Prometheus templating: `{{ $labels.x }}`, `{{ $value }}`).",
        lower: |l, v, a| a.summary = l.str(v),
    },
    Field {
        name: "labels",
        form: "labels { team = \"web\" }",
        doc: "More labels on the alert (not `severity`, `monitor`, `host`: sparkc sets those).",
        lower: |l, v, a| {
            let Some(rec) = l.record(v) else {
                return;
            };
            for (k, fv, kf) in rec {
                if OWN_LABELS.contains(&k.text.as_str()) {
                    l.ev.err(
                        Diagnostic::error(
                            Code::UnknownField,
                            format!("sparkc sets the label `{}` itself", k.text),
                            *kf,
                            k.span,
                        )
                        .help("write it as its own field (`severity = critical`, `host = web01`), or choose another label name"),
                    );
                    continue;
                }
                let valid = k
                    .text
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                    && k.text
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    l.malformed::<()>(
                        &V {
                            val: crate::check::eval::Val::Str(k.text.as_str().into()),
                            loc: Loc {
                                file: *kf,
                                span: k.span,
                            },
                        },
                        format!("`{}` is not a Prometheus label name", k.text),
                        "a label name is letters, digits and `_`, not starting with a digit",
                    );
                    continue;
                }
                if let Some(t) = l.text(fv) {
                    a.labels.insert(k.text.as_str().to_owned(), t);
                }
            }
        },
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn alert(&mut self, sym: usize) -> Option<AlertRule> {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let loc = self.loc_of(sym);
        let name = decl.name.text.as_str().to_owned();
        let mut w = AlertFields::default();
        self.lower_fields(&f, &FIELDS, &mut w, |_| true);
        let Some((expr, at)) = w.expr else {
            if f.get("expr").is_none() {
                self.ev.err(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("alert `{name}` has no `expr`"),
                        loc.file,
                        loc.span,
                    )
                    .label("what fires it?")
                    .help("write the PromQL expression: `expr = \"up{job=\\\"web01\\\"} == 0\"`"),
                );
            }
            return None;
        };
        if let Some(why) = unbalanced(&expr) {
            self.ev.err(
                Diagnostic::error(Code::MalformedLiteral, format!("`{expr}` is not a PromQL expression: {why}"), at.file, at.span)
                    .label("malformed")
                    .help("check the brackets and quotes; inside a sparkc string a `\"` is written `\\\"`"),
            );
            return None;
        }
        Some(AlertRule {
            name,
            loc,
            expr,
            for_ms: w.for_ms.unwrap_or(0),
            severity: w.severity.unwrap_or(Severity::Warning),
            host: w.host,
            summary: w.summary,
            labels: w.labels,
        })
    }
}

/// Why `expr` cannot be PromQL: an empty expression, a bracket that does not close or
/// closes the wrong one, a string that does not end. `None`: balanced.
fn unbalanced(expr: &str) -> Option<String> {
    if expr.trim().is_empty() {
        return Some("it is empty".into());
    }
    let mut open: Vec<char> = Vec::new();
    let mut chars = expr.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let quote = c;
                loop {
                    match chars.next() {
                        None => return Some(format!("a string opened with {quote} does not end")),
                        Some('\\') if quote != '`' => {
                            chars.next();
                        }
                        Some(q) if q == quote => break,
                        Some(_) => {}
                    }
                }
            }
            '(' | '[' | '{' => open.push(c),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if open.pop() != Some(want) {
                    return Some(format!("`{c}` closes nothing it opened"));
                }
            }
            _ => {}
        }
    }
    open.last().map(|c| format!("`{c}` is not closed"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn brackets_and_strings_balance() {
        for ok in [
            "up == 0",
            "sum(rate(x{job=\"a\",code=~\"5..\"}[5m])) > 1",
            "x{a=\"}\"} > 0",
            "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")",
        ] {
            assert_eq!(super::unbalanced(ok), None, "{ok}");
        }
        for bad in ["", "sum(rate(x[5m])", "x{a=\"b}", "x]", "(x}"] {
            assert!(super::unbalanced(bad).is_some(), "{bad}");
        }
    }
}
