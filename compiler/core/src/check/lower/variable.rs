//! Variables: values the deploy tool reads from its environment that are not secrets.

use super::{Field, FieldTable, Lowerer};
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::source::Loc;

/// What a variable declaration's fields lower into.
pub(super) struct VariableFields {
    env: Option<String>,
    default: Option<String>,
}

/// Every field a variable declaration may have (besides `from env "VAR"` and `default X`).
pub(super) static FIELDS: FieldTable<VariableFields> = FieldTable::new(&[
    Field {
        name: "env",
        form: "env = \"VAR\"",
        doc: "The environment variable it is read from (as `from env \"VAR\"`; without either, the name in upper case).",
        lower: |l, v, x| {
            if let Some(s) = l.str(v) {
                x.env = l.env_var_name(v, &s);
            }
        },
    },
    Field {
        name: "default",
        form: "default = \"1000\"",
        doc: "Its value when the environment does not set it (as `default \"1000\"`); without one, the deploy fails until it is set.",
        lower: |l, v, x| x.default = l.variable_default(v),
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn variable(&mut self, sym: usize) -> Variable {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let file = self.ev.syms.list[sym].file;
        let mut x = VariableFields {
            env: None,
            default: None,
        };
        if let Some((kind, value, span)) = &decl.source {
            let v = V {
                val: Val::Str(value.clone()),
                loc: Loc { file, span: *span },
            };
            if kind.text == "env" {
                x.env = self.env_var_name(&v, value);
            } else {
                self.ev.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{}` is not a variable source", kind.text),
                        file,
                        kind.span,
                    )
                    .label("expected `env`")
                    .help("a variable is read from the deploy tool's environment: `var NAME from env \"VAR\"`; a value read from a file is a secret (`secret NAME from file \"./path\"`)"),
                );
            }
        }
        if let Some(e) = &decl.default {
            let v = self.ev.eval(e, file, None);
            x.default = self.variable_default(&v);
        }
        self.lower_fields(&f, &FIELDS, &mut x, |_| true);
        let env = x.env.unwrap_or_else(|| {
            decl.name
                .text
                .chars()
                .map(|c| match c {
                    '-' => '_',
                    c => c.to_ascii_uppercase(),
                })
                .collect()
        });
        Variable {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            env,
            default: x.default,
        }
    }

    /// A default is written into the artifacts and `.env.example`: plain text, one line.
    fn variable_default(&mut self, v: &V) -> Option<String> {
        let t = self.text(v)?;
        if t.contains(['\n', '\r']) {
            return self.malformed(
                v,
                "a variable's default holds a line break".into(),
                "`.env` files hold one line per variable: write the default on one line",
            );
        }
        Some(t)
    }

    /// Two variables read from one environment variable, or a variable and a secret: which
    /// value is meant? E0102 at the later one.
    pub(super) fn check_variable_env_names(&mut self) {
        let mut seen: Vec<(&str, &str, Loc, &str)> = self
            .model
            .secrets
            .iter()
            .filter_map(|s| match &s.source {
                SecretSource::Env(e) => Some((e.as_str(), s.name.as_str(), s.loc, "secret")),
                SecretSource::File(_) | SecretSource::External(_) => None,
            })
            .collect();
        let mut diags = Vec::new();
        for x in &self.model.variables {
            if let Some((_, other, loc, kind)) = seen.iter().find(|(e, ..)| *e == x.env) {
                diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("variable `{}` reads `{}`, as {kind} `{other}` does", x.name, x.env),
                        x.loc.file,
                        x.loc.span,
                    )
                    .label(format!("reads `{}`", x.env))
                    .with_secondary(loc.file, loc.span, format!("also reads `{}`", x.env))
                    .help("one environment variable holds one value: use the one declaration everywhere, or read another variable"),
                );
            } else {
                seen.push((x.env.as_str(), x.name.as_str(), x.loc, "variable"));
            }
        }
        for d in diags {
            self.ev.err(d);
        }
    }
}
