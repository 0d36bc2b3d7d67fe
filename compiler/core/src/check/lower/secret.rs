//! Secrets: a name and where the value comes from at deploy time, never the value.

use super::{Field, FieldTable, Lowerer};
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::Loc;

/// Every field a secret declaration may have (besides `from env "VAR"` / `from file "path"`).
pub(super) static FIELDS: FieldTable<Option<SecretSource>> = FieldTable::new(&[
    Field {
        name: "env",
        form: "env = \"VAR\"",
        doc: "Read from this environment variable at deploy time (as `from env \"VAR\"`).",
        lower: |l, v, source| {
            if let Some(s) = l.str(v) {
                *source = l.env_var_name(v, &s).map(SecretSource::Env);
            }
        },
    },
    Field {
        name: "file",
        form: "file = \"./secrets/name\"",
        doc: "Read from this file on the deploy machine (as `from file \"path\"`).",
        lower: |l, v, source| *source = l.str(v).map(SecretSource::File),
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn secret(&mut self, sym: usize) -> Secret {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let file = self.ev.syms.list[sym].file;
        let mut source = None;
        if let Some((kind, value, span)) = &decl.source {
            let v = V {
                val: Val::Str(value.clone()),
                loc: Loc { file, span: *span },
            };
            source = match kind.text.as_str() {
                "env" => self.env_var_name(&v, value).map(SecretSource::Env),
                "file" => Some(SecretSource::File(value.clone())),
                other => {
                    let mut d = Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{other}` is not a secret source"),
                        file,
                        kind.span,
                    )
                    .label("expected `env` or `file`");
                    d.help = Some(match did_you_mean(other, ["env", "file"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "write `secret NAME from env \"VAR\"` or `secret NAME from file \"./path\"`".into(),
                    });
                    self.ev.err(d);
                    None
                }
            };
        }
        self.lower_fields(&f, &FIELDS, &mut source, |_| true);
        let source = source.unwrap_or_else(|| {
            if decl.source.is_none() && f.get("env").is_none() && f.get("file").is_none() {
                self.ev.err(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("secret `{}` has no source", decl.name.text),
                        file,
                        decl.name.span,
                    )
                    .label("where does the value come from?")
                    .help(format!(
                        "write `secret {} from env \"VAR\"` or `secret {} from file \"./path\"`",
                        decl.name.text, decl.name.text
                    )),
                );
            }
            SecretSource::Env(decl.name.text.to_ascii_uppercase())
        });
        Secret {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            source,
        }
    }

    pub(crate) fn env_var_name(&mut self, v: &V, s: &str) -> Option<String> {
        let ok = !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Some(s.to_string())
        } else {
            self.malformed(
                v,
                format!("`{s}` is not an environment variable name"),
                "use letters, digits and `_`, not starting with a digit, e.g. MYSQL_PASSWORD",
            )
        }
    }
}
