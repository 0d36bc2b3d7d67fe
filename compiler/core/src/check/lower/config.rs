//! Configs: files Compose and Swarm hand to containers, from a file, the sources, or the
//! cluster.

use super::{Field, FieldTable, Lowerer};
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic};
use crate::model::*;

/// Every field a config declaration may have.
pub(super) static FIELDS: FieldTable<Option<ConfigSource>> = FieldTable::new(&[
    Field {
        name: "file",
        form: "file = \"./nginx.conf\"",
        doc: "Its content is this file on the deploy machine, relative to the generated compose file.",
        lower: |l, v, source| *source = l.str(v).map(ConfigSource::File),
    },
    Field {
        name: "content",
        form: "content = \"\"\"...\"\"\"",
        doc: "Its content, written here.",
        lower: |l, v, source| *source = l.str(v).map(ConfigSource::Content),
    },
    Field {
        name: "external",
        form: "external = true",
        doc: "Created outside the project, with `docker config create` on swarm: only used.",
        lower: |l, v, source| {
            if l.bool(v) == Some(true) && !matches!(source, Some(ConfigSource::External(_))) {
                *source = Some(ConfigSource::External(String::new()));
            }
        },
    },
    Field {
        name: "name",
        form: "name = \"nginx_conf_v2\"",
        doc: "An external config's name in Docker, where it is not the declared one.",
        lower: |l, v, source| {
            if let Some(s) = l.str(v) {
                *source = Some(ConfigSource::External(s));
            }
        },
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn config(&mut self, sym: usize) -> Config {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let file = self.ev.syms.list[sym].file;
        let mut source = None;
        self.lower_fields(&f, &FIELDS, &mut source, |_| true);
        let external = self.external_with_name(&f, "config", "docker config create");
        let given = [
            f.get("file").is_some(),
            f.get("content").is_some(),
            external,
        ];
        if !given.contains(&true) {
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    format!("config `{}` has no content", decl.name.text),
                    file,
                    decl.name.span,
                )
                .label("where does its content come from?")
                .help("give it `file = \"./path\"`, `content = \"\"\"...\"\"\"`, or `external = true`"),
            );
        }
        self.at_most_one_source(
            sym,
            &given,
            "config",
            "give a config one of `file`, `content` or `external = true`",
        );
        if let Some(ConfigSource::External(name)) = &mut source
            && name.is_empty()
        {
            *name = decl.name.text.to_string();
        }
        Config {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            source: source.unwrap_or(ConfigSource::Content(String::new())),
        }
    }

    /// `configs = [nginx_conf -> "/etc/nginx/nginx.conf", app_ini]` (a bare name is read at
    /// `/NAME`, as Compose puts it).
    pub(crate) fn config_mounts(&mut self, v: &V) -> Vec<ConfigMount> {
        let mut out: Vec<ConfigMount> = Vec::new();
        let Some(items) = self.list(v) else {
            return out;
        };
        for item in items {
            let (what, target) = match &item.val {
                Val::Pair(a, b) => {
                    let Some(t) = self.str(b) else { continue };
                    if !t.starts_with('/') {
                        self.malformed::<()>(
                            b,
                            format!("config target `{t}` is not an absolute path"),
                            "container paths start with `/`",
                        );
                        continue;
                    }
                    ((**a).clone(), Some(t))
                }
                _ => (item.clone(), None),
            };
            let id = match &what.val {
                Val::Ref(s, p) if p.is_empty() => self.config_ids.get(s).copied(),
                _ => None,
            };
            let Some(id) = id else {
                self.mismatch::<()>(&what, "a config (`config NAME { ... }`)");
                continue;
            };
            let target = target.unwrap_or_else(|| format!("/{}", self.model.configs[id].name));
            if let Some(first) = out.iter().find(|m| m.target == target) {
                let first = first.loc;
                self.ev.err(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("two configs are mounted at `{target}`"),
                        item.loc.file,
                        item.loc.span,
                    )
                    .label("mounted here too")
                    .with_secondary(first.file, first.span, "first mounted here")
                    .help("one path holds one file: mount the other config elsewhere"),
                );
                continue;
            }
            out.push(ConfigMount {
                config: id,
                target,
                loc: item.loc,
            });
        }
        out
    }
}
