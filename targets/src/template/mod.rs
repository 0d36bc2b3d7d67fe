//! Template targets: a directory of minijinja templates rendered against the serialised model
//! (the document `sparkc model` prints, docs/MODEL.md) into any text format. Each template
//! `PATH[.j2|.jinja]` becomes the artifact `TARGET/PATH`; a file whose name starts with `_` is
//! a partial, only included by others.
//!
//! What a template can reach is the model and the other templates of its directory: no file,
//! no environment variable, no clock (so no secret can be rendered, and output is the same on
//! every run). Undefined names are errors, not empty strings. Rendering is bounded by fuel (a
//! loop that does not end is an error) and by minijinja's recursion limit. A template error is
//! a diagnostic at the template's file and line.
//!
//! Two template targets ship with sparkc ([`shipped`]): `homepage` (a gethomepage
//! `services.yaml`) and `uptime-kuma` (an Uptime Kuma monitor list).

use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::source::{FileId, Span};
use sparkc_core::target::Artifact;

/// One template file of a template target.
#[derive(Debug, Clone)]
pub struct TemplateFile {
    /// Its path inside the template directory, `/`-separated.
    pub path: String,
    pub text: String,
    /// Its id in the compilation's sources (diagnostics point into it).
    pub file: FileId,
}

/// How much work one template target may do: minijinja spends about one unit per
/// instruction; real templates over thousands of services stay far below this.
pub const FUEL: u64 = 200_000_000;

/// A template target shipped with sparkc: its name, what it makes, its templates.
pub struct Shipped {
    pub name: &'static str,
    pub doc: &'static str,
    pub files: &'static [(&'static str, &'static str)],
}

/// The template targets shipped with sparkc.
pub fn shipped() -> &'static [Shipped] {
    &[
        Shipped {
            name: "homepage",
            doc: "a gethomepage.dev services.yaml: a group per host, an entry per domain",
            files: &[(
                "services.yaml.j2",
                include_str!("shipped/homepage/services.yaml.j2"),
            )],
        },
        Shipped {
            name: "uptime-kuma",
            doc: "an Uptime Kuma monitor list (its backup format) from the monitors",
            files: &[(
                "monitors.json.j2",
                include_str!("shipped/uptime-kuma/monitors.json.j2"),
            )],
        },
    ]
}

/// The artifact path of a template, or `None` for a partial.
fn output_path(target: &str, path: &str) -> Option<String> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.starts_with('_') {
        return None;
    }
    let out = path
        .strip_suffix(".j2")
        .or_else(|| path.strip_suffix(".jinja"))
        .unwrap_or(path);
    Some(format!("{target}/{out}"))
}

/// Renders every template of `target` against `context` (the model document, as JSON).
pub fn render(
    target: &str,
    files: &[TemplateFile],
    context: &serde_json::Value,
) -> (Vec<Artifact>, Vec<Diagnostic>) {
    render_with_fuel(target, files, context, FUEL)
}

fn render_with_fuel(
    target: &str,
    files: &[TemplateFile],
    context: &serde_json::Value,
    fuel: u64,
) -> (Vec<Artifact>, Vec<Diagnostic>) {
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.set_fuel(Some(fuel));
    if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build()
    {
        env.set_syntax(syntax);
    }
    let mut diags = Vec::new();
    for f in files {
        if let Err(e) = env.add_template_owned(f.path.clone(), f.text.clone()) {
            diags.push(diagnostic(&e, files, f));
        }
    }
    if !diags.is_empty() {
        return (Vec::new(), diags);
    }
    // The model's lists at the top level (`services`, `hosts`, ...), and all of it as `model`.
    let mut ctx = match context {
        serde_json::Value::Object(m) => m.clone(),
        _ => serde_json::Map::new(),
    };
    ctx.insert("model".to_string(), context.clone());
    let ctx = minijinja::Value::from(minijinja::value::Serde(&ctx));
    let mut artifacts = Vec::new();
    for f in files {
        let Some(path) = output_path(target, &f.path) else {
            continue;
        };
        let rendered = env
            .get_template(&f.path)
            .and_then(|t| t.render(ctx.clone()));
        match rendered {
            Ok(contents) => artifacts.push(Artifact { path, contents }),
            Err(e) => diags.push(diagnostic(&e, files, f)),
        }
    }
    (artifacts, diags)
}

/// A template error at its template's line (the template it happened in, which may be an
/// included one).
fn diagnostic(
    e: &minijinja::Error,
    files: &[TemplateFile],
    rendering: &TemplateFile,
) -> Diagnostic {
    let at = e
        .name()
        .and_then(|n| files.iter().find(|f| f.path == n))
        .unwrap_or(rendering);
    let span = match (e.range(), e.line()) {
        (Some(r), _) if r.end <= at.text.len() => Span::new(r.start, r.end.max(r.start)),
        (_, Some(line)) => line_span(&at.text, line),
        _ => Span::new(0, 0),
    };
    let what = e
        .detail()
        .map_or_else(|| e.kind().to_string(), str::to_string);
    let mut d = Diagnostic::error(
        Code::TemplateError,
        format!("template `{}` does not render: {what}", at.path),
        at.file,
        span,
    )
    .label(e.kind().to_string());
    d.help = Some(match e.kind() {
        minijinja::ErrorKind::UndefinedError => {
            "a name or attribute that the model does not have: see docs/MODEL.md for every field"
                .to_string()
        }
        minijinja::ErrorKind::OutOfFuel => {
            "the template did more work than any real one needs: is there a loop that does not end?"
                .to_string()
        }
        _ => "templates are minijinja (Jinja2) templates against the model; see docs/templates.md"
            .to_string(),
    });
    d
}

/// The span of 1-based `line` of `text`.
fn line_span(text: &str, line: usize) -> Span {
    let start = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        .min(text.len());
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    Span::new(start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<TemplateFile> {
        list.iter()
            .enumerate()
            .map(|(i, (p, t))| TemplateFile {
                path: (*p).to_string(),
                text: (*t).to_string(),
                file: FileId(i as u32),
            })
            .collect()
    }

    #[test]
    fn renders_each_template_but_partials() {
        let ctx = serde_json::json!({"services": [{"name": "a"}, {"name": "b"}]});
        let (a, d) = render(
            "t",
            &files(&[
                ("list.txt.j2", "{% include '_item.j2' %}"),
                (
                    "_item.j2",
                    "{% for s in services %}{{ s.name }}\n{% endfor %}",
                ),
            ]),
            &ctx,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].path, "t/list.txt");
        assert_eq!(a[0].contents, "a\nb\n");
    }

    #[test]
    fn an_undefined_name_is_an_error_at_its_line() {
        let (a, d) = render(
            "t",
            &files(&[("x.j2", "ok\n{{ servcies }}\n")]),
            &serde_json::json!({"services": []}),
        );
        assert!(a.is_empty());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].code, Code::TemplateError);
        let text = "ok\n{{ servcies }}\n";
        let start = d[0].primary.span.start as usize;
        assert_eq!(
            text[..start].matches('\n').count(),
            1,
            "not on line 2: {:?}",
            d[0]
        );
    }

    #[test]
    fn an_endless_loop_runs_out_of_fuel() {
        let (_, d) = render_with_fuel(
            "t",
            &files(&[(
                "x.j2",
                "{% macro f(n) %}{% for i in range(100000) %}{{ i }}{% endfor %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
            )]),
            &serde_json::json!({}),
            1_000_000,
        );
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].help.as_deref().is_some_and(|h| h.contains("loop")),
            "{d:?}"
        );
    }
}
