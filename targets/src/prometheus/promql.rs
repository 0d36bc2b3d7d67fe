//! Alert rules written in PromQL (`alert NAME { expr = "...", for = 10m }`): each a rule in
//! the `alerts` group, labelled like the monitors' (severity, host) and with the labels it
//! declares. Every `job="..."` matcher it contains must name a scrape job this target writes:
//! a rule over a job that does not exist would never fire, silently.

use crate::yaml::Yaml;
use sparkc_core::diag::{Code, Diagnostic, did_you_mean};
use sparkc_core::model::*;

/// The rules of every alert declaration; `jobs`: every scrape job's name.
pub fn rules(
    m: &Model,
    jobs: &rustc_hash::FxHashSet<String>,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Yaml> {
    let mut out = Vec::new();
    // Each label sparkc sets, with the values it can have.
    let scraped: Vec<&str> = m
        .services
        .iter()
        .filter(|s| s.metrics_port.is_some())
        .map(|s| s.name.as_str())
        .collect();
    let hosts: Vec<&str> = m.hosts.iter().map(|h| h.name.as_str()).collect();
    let mut jobs_known: Vec<&str> = jobs.iter().map(String::as_str).collect();
    jobs_known.sort_unstable();
    let labels: [(&str, &[&str], &str); 3] = [
        ("job", &jobs_known, "scrape job"),
        ("host", &hosts, "host"),
        ("service", &scraped, "scraped service"),
    ];
    for a in &m.alerts {
        let mut ok = true;
        for &(label, known, what) in &labels {
            for value in label_matchers(&a.expr, label) {
                if known.contains(&value) {
                    continue;
                }
                ok = false;
                let mut d = Diagnostic::error(
                    Code::Unresolved,
                    format!(
                        "alert `{}` reads {label} `{value}`, which is not a {what}",
                        a.name
                    ),
                    a.loc.file,
                    a.loc.span,
                )
                .label("its rule would never fire");
                d.help = Some(match did_you_mean(value, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if known.is_empty() && label == "host" => "declare the host".to_string(),
                    None if known.is_empty() => {
                        "nothing is scraped: give a service a `metrics` port".to_string()
                    }
                    None => format!("the {what}s are: {}", known.join(", ")),
                });
                diags.push(d);
            }
        }
        if !ok {
            continue;
        }
        let name = super::alertmanager::metric_name(&a.name);
        let after = sparkc_core::model::units::format_duration(a.for_ms);
        let mut labels = Yaml::map();
        labels.set("severity", Yaml::str(a.severity.as_str()));
        // The declaration that raised it, as a monitor's alerts say theirs: what receivers
        // select by (`monitors = [...]`) and what Alertmanager groups by.
        labels.set("monitor", Yaml::Str(a.name.clone()));
        if let Some(h) = a.host {
            labels.set("host", Yaml::Str(m.hosts[h].name.clone()));
        }
        for (k, v) in &a.labels {
            labels.set(k.as_str(), Yaml::Str(v.clone()));
        }
        let mut annotations = Yaml::map();
        annotations.set(
            "summary",
            Yaml::Str(
                a.summary
                    .clone()
                    .unwrap_or_else(|| format!("{} has held for {after}", a.expr)),
            ),
        );
        let mut rule = Yaml::map();
        rule.set("alert", Yaml::Str(name));
        rule.set("expr", Yaml::Str(a.expr.clone()));
        rule.set("for", Yaml::Str(after));
        rule.set("labels", labels);
        rule.set("annotations", annotations);
        out.push(rule);
    }
    out
}

/// The values of the `job="..."` equality matchers in `expr`.
#[cfg(test)]
fn job_matchers(expr: &str) -> Vec<&str> {
    label_matchers(expr, "job")
}

/// The values of the `LABEL="..."` equality matchers in `expr` (not `=~`, not `!=`), outside
/// strings.
fn label_matchers<'e>(expr: &'e str, label: &str) -> Vec<&'e str> {
    let b = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\'' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            _ if expr[i..].starts_with(label)
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut k = i + label.len();
                while k < b.len() && b[k] == b' ' {
                    k += 1;
                }
                let eq = k < b.len() && b[k] == b'=' && b.get(k + 1) != Some(&b'~');
                if eq {
                    k += 1;
                    while k < b.len() && b[k] == b' ' {
                        k += 1;
                    }
                    if k < b.len() && b[k] == b'"' {
                        let start = k + 1;
                        let end = expr[start..].find('"').map_or(b.len(), |n| start + n);
                        out.push(&expr[start..end]);
                        i = end + 1;
                        continue;
                    }
                }
                i += label.len();
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn job_matchers_are_found_outside_strings() {
        assert_eq!(
            super::job_matchers(
                r#"sum(rate(x{job="a", code=~"5.."}[5m])) / sum(up{job = "b"}) > 0"#
            ),
            ["a", "b"]
        );
        assert!(super::job_matchers(r#"up{job=~"a|b"} == 0 and up{job!="c"}"#).is_empty());
        assert!(super::job_matchers(r#"label_replace(up, "x", "job=\"y\"", "", "")"#).is_empty());
        assert!(super::job_matchers(r#"up{myjob="a"}"#).is_empty());
        assert_eq!(
            super::label_matchers(
                r#"up{host="web01",service="db"} and up{hostname="x"}"#,
                "host"
            ),
            ["web01"]
        );
    }
}
