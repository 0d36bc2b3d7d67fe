use crate::{ExitStatus, Global};
use sparkc_core::syntax::ast::{ExprKind, Item, TemplateDecl};
use std::fmt::Write as _;

/// List the stdlib's templates, one line each, or show one: its doc, its parameters and the
/// fields it provides.
#[derive(clap::Args)]
pub struct Stdlib {
    /// A template to show: `mysql`, or its module, `std.apps.mysql`.
    name: Option<String>,
}

impl Stdlib {
    pub fn run(self, _: &Global) -> Result<ExitStatus, String> {
        let out = match &self.name {
            None => list(),
            Some(name) => show(name)?,
        };
        super::stdout(&out);
        Ok(ExitStatus::Success)
    }
}

/// A doc comment's first sentence, on one line.
fn first_sentence(doc: &str) -> String {
    let flat = doc.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.find(". ") {
        Some(i) => flat[..=i].to_string(),
        None => flat,
    }
}

fn template_of(module: &str) -> Option<(TemplateDecl, &'static str)> {
    let text = sparkc_stdlib::module(module)?;
    let (file, _) = sparkc_core::syntax::parse(sparkc_core::source::FileId(0), text);
    let last = module.rsplit('.').next().unwrap_or(module);
    file.items.into_iter().find_map(|i| match i {
        Item::Template(t) if t.name.text == last => Some((t, text)),
        _ => None,
    })
}

fn list() -> String {
    let mut out = String::new();
    for m in sparkc_stdlib::modules() {
        let doc = template_of(m).map_or(String::new(), |(t, _)| first_sentence(&t.doc));
        let _ = writeln!(out, "{m:34} {doc}");
    }
    out
}

fn show(name: &str) -> Result<String, String> {
    let modules = sparkc_stdlib::modules();
    let module = modules
        .iter()
        .find(|m| **m == name || m.rsplit('.').next() == Some(name))
        .ok_or_else(|| {
            let short: Vec<&str> = modules
                .iter()
                .filter_map(|m| m.rsplit('.').next())
                .collect();
            match sparkc_core::diag::did_you_mean(name, short.iter().copied()) {
                Some(s) => format!("no stdlib template `{name}`; did you mean `{s}`?"),
                None => format!("no stdlib template `{name}`; `sparkc stdlib` lists them"),
            }
        })?;
    let (t, text) = template_of(module).ok_or_else(|| format!("{module} defines no template"))?;
    let path = module.rsplit_once('.').map_or(*module, |(p, _)| p);
    let mut out = String::new();
    let _ = writeln!(out, "{module}: `import {path}.{{{}}}`\n", t.name.text);
    if !t.doc.is_empty() {
        let _ = writeln!(out, "{}\n", t.doc.trim_end());
    }
    let base = t
        .base
        .as_ref()
        .map_or(String::new(), |b| format!(" {}(...)", b.template.text));
    let _ = writeln!(out, "template {}(...) = {}{base}", t.name.text, t.kind.text);
    let params = t.param_docs(text);
    if !params.is_empty() {
        out.push_str("\nParameters:\n");
        let heads: Vec<String> = params
            .iter()
            .map(|p| match &p.default {
                Some(d) => format!("{}: {} = {d}", p.name, p.ty),
                None => format!("{}: {}", p.name, p.ty),
            })
            .collect();
        // Docs in one column; a parameter too long for it has its doc on the next line.
        let width = heads
            .iter()
            .map(String::len)
            .filter(|&n| n <= 40)
            .max()
            .unwrap_or(0);
        for (h, p) in heads.iter().zip(&params) {
            let required = if p.default.is_none() {
                " (required)"
            } else {
                ""
            };
            if h.len() > width {
                let _ = writeln!(out, "  {h}\n  {:width$}  {}{required}", "", p.doc);
            } else {
                let _ = writeln!(out, "  {h:width$}  {}{required}", p.doc);
            }
        }
    }
    if !t.body.is_empty() {
        out.push_str(
            "\nProvides (a declaration's body overrides any of these; `none` removes a record's key, `remove(...)` a list's entry):\n",
        );
        for f in &t.body {
            let keys = match &f.value.kind {
                ExprKind::Record(fields) => format!(
                    " {{ {} }}",
                    fields
                        .iter()
                        .map(|x| x.key.text.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {}{keys}", f.key.text);
        }
    }
    Ok(out)
}
