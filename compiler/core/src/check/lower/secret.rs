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
    Field {
        name: "external",
        form: "external = true",
        doc: "Created outside the project, with `docker secret create` on swarm: only used, never created.",
        lower: |l, v, source| {
            if l.bool(v) == Some(true) && !matches!(source, Some(SecretSource::External(_))) {
                *source = Some(SecretSource::External(String::new()));
            }
        },
    },
    Field {
        name: "name",
        form: "name = \"db_password_v2\"",
        doc: "An external secret's name in Docker, where it is not the declared one.",
        lower: |l, v, source| {
            if let Some(s) = l.str(v) {
                *source = Some(SecretSource::External(s));
            }
        },
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
        let external = self.external_with_name(&f, "secret", "docker secret create");
        let sources = [
            decl.source.is_some(),
            f.get("env").is_some(),
            f.get("file").is_some(),
            external,
        ];
        self.at_most_one_source(
            sym,
            &sources,
            "secret",
            "give a secret one source: `from env \"VAR\"`, `from file \"./path\"`, or `external = true`",
        );
        if let Some(SecretSource::External(name)) = &mut source
            && name.is_empty()
        {
            *name = decl.name.text.to_string();
        }
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

    /// `external = true` on a secret or config, and its Docker `name`: whether it is
    /// external. A `name` without it is E0205: sparkc names what it creates after the
    /// declaration.
    pub(super) fn external_with_name(
        &mut self,
        f: &super::Fields,
        kind: &str,
        create: &str,
    ) -> bool {
        let external = f
            .get("external")
            .is_some_and(|v| matches!(v.val, Val::Bool(true)));
        if let Some(v) = f.get("name")
            && !external
        {
            let v = v.clone();
            self.malformed::<()>(
                &v,
                format!("only an external {kind} has a name of its own"),
                &format!("a {kind} sparkc makes is named after its declaration; write `external = true` for one created with `{create}`"),
            );
        }
        external
    }

    /// More than one of the ways a declaration's content can be given (`given`): E0202 at
    /// its name.
    pub(super) fn at_most_one_source(
        &mut self,
        sym: usize,
        given: &[bool],
        kind: &str,
        help: &str,
    ) {
        if given.iter().filter(|x| **x).count() > 1 {
            let s = &self.ev.syms.list[sym];
            let d = Diagnostic::error(
                Code::TypeMismatch,
                format!("{kind} `{}` has more than one source", s.name),
                s.file,
                s.name_span,
            )
            .label("which one holds its content?")
            .help(help.to_string());
            self.ev.err(d);
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
