//! Value conversions: from an evaluated value to the model's types, each failure a
//! diagnostic at the value's own span (for a template, the user's argument).

use super::{Lowerer, check_image_ref, is_safe_name};
use crate::check::SymKind;
use crate::check::eval::{Piece, Rec, V, Val};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::{FileId, Span};
use crate::syntax::ast::DeclKind;
use std::borrow::Cow;

impl Lowerer<'_, '_> {
    pub(crate) fn is_secret(&self, v: &V) -> bool {
        matches!(&v.val, Val::Ref(s, p) if p.is_empty() && self.ev.syms.list[*s].kind == SymKind::Decl(DeclKind::Secret))
    }

    pub(crate) fn is_variable(&self, sym: usize) -> bool {
        self.ev.syms.list[sym].kind == SymKind::Decl(DeclKind::Variable)
    }

    /// Text with a variable or a secret in it, where sparkc writes the value itself (a
    /// Caddyfile, a domain, a port): E0214 for a variable, E0206 for a secret, at the piece.
    fn not_completed_here(&mut self, pieces: &[Piece], expected: &str) {
        for p in pieces {
            let &Piece::Sym(sym, loc) = p else { continue };
            let name = self.ev.syms.list[sym].name.clone();
            let d = if self.is_variable(sym) {
                Diagnostic::error(
                    Code::DeployTimeValue,
                    format!("variable `{name}` is read at deploy time, but here sparkc needs {expected} now"),
                    loc.file,
                    loc.span,
                )
                .label("its value is not known when sparkc writes this")
                .help("a value fixed in the sources is a `const`; a variable can be used where the deploy tool fills it in: an `env` value, the `image`, a mount's source path")
            } else {
                Diagnostic::error(
                    Code::SecretAsPlain,
                    format!("secret `{name}` interpolated into a plain string"),
                    loc.file,
                    loc.span,
                )
                .label("this would write the secret's value into the artifact")
                .help(format!(
                    "pass the secret as a whole value (`VAR = {name}`), or point the program at its file: `${{{name}.path}}`; an `env` value may hold `${{{name}}}` when the secret is read from an environment variable (compose fills it in)"
                ))
            };
            self.ev.err(d);
        }
    }

    /// Text the deploy tool completes (an `env` value, the image, a mount's source): plain
    /// text, or text with variables and, where `secrets`, secrets read from the environment.
    pub(crate) fn deploy_text(&mut self, v: &V, secrets: bool, expected: &str) -> Option<Text> {
        let r = self.resolved(v);
        let pieces = match &r.val {
            Val::Subst(p) => p.clone(),
            Val::Ref(s, path) if path.is_empty() && self.is_variable(*s) => {
                vec![Piece::Sym(*s, r.loc)]
            }
            _ => return self.text(&r).map(Text::lit),
        };
        let mut out = Vec::with_capacity(pieces.len());
        let mut ok = true;
        for p in pieces {
            match p {
                Piece::Text(t) => out.push(crate::model::Piece::Lit(t)),
                Piece::Sym(sym, _) if self.is_variable(sym) => match self.variable_ids.get(&sym) {
                    Some(&id) => out.push(crate::model::Piece::Variable(id)),
                    None => ok = false,
                },
                Piece::Sym(sym, loc) => {
                    let name = self.ev.syms.list[sym].name.clone();
                    let Some(&id) = self.secret_ids.get(&sym) else {
                        ok = false;
                        continue;
                    };
                    let from_file = !matches!(self.model.secrets[id].source, SecretSource::Env(_));
                    if !secrets || from_file {
                        let (label, help) = if from_file {
                            ("it is not read from an environment variable: no deploy tool fills a file's content into text".to_string(), format!("read it from the environment (`secret {name} from env \"VAR\"`), or mount it and point the program at `${{{name}.path}}`"))
                        } else {
                            (
                                format!("{expected} is shown to everyone who can list containers"),
                                format!(
                                    "pass the secret where it stays secret: an `env` value (`VAR = {name}`) or a mounted file (`${{{name}.path}}`)"
                                ),
                            )
                        };
                        self.ev.err(
                            Diagnostic::error(
                                Code::SecretAsPlain,
                                format!("secret `{name}` cannot be filled into {expected}"),
                                loc.file,
                                loc.span,
                            )
                            .label(label)
                            .help(help),
                        );
                        ok = false;
                    } else {
                        out.push(crate::model::Piece::Secret(id));
                    }
                }
            }
        }
        ok.then_some(Text(out))
    }

    /// Report that `v` is not `expected`. Returns `None` for convenient `?` use.
    pub(crate) fn mismatch<T>(&mut self, v: &V, expected: &str) -> Option<T> {
        match &v.val {
            Val::Error => {}
            Val::Name(n) => {
                let n = n.clone();
                self.ev.unresolved(&n, v.loc.file, v.loc.span);
            }
            Val::Subst(pieces) => {
                let pieces = pieces.clone();
                self.not_completed_here(&pieces, expected);
            }
            Val::Ref(s, path) if path.is_empty() && self.is_variable(*s) => {
                let piece = Piece::Sym(*s, v.loc);
                self.not_completed_here(&[piece], expected);
            }
            _ if self.is_secret(v) => {
                let Val::Ref(s, _) = v.val else { return None };
                let name = self.ev.syms.list[s].name.clone();
                self.ev.err(
                    Diagnostic::error(Code::SecretAsPlain, format!("secret `{name}` used where {expected} is required"), v.loc.file, v.loc.span)
                        .label("a secret cannot be written here")
                        .help(format!("secrets may be environment values or mounted files (`secrets = [{name}]`, `${{{name}.path}}`); never plain configuration")),
                );
            }
            Val::Ref(s, path) if !path.is_empty() => {
                let (s, path) = (*s, path.clone());
                let inner = self.ev.deref(s, &path, v.loc);
                if !matches!(inner.val, Val::Error) {
                    let found = inner.val.describe(self.ev.syms);
                    self.ev.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            format!("expected {expected}, found {found}"),
                            v.loc.file,
                            v.loc.span,
                        )
                        .label(format!("expected {expected}"))
                        .help(format!("this field takes {expected}")),
                    );
                }
            }
            other => {
                let found = other.describe(self.ev.syms);
                self.ev.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("expected {expected}, found {found}"),
                        v.loc.file,
                        v.loc.span,
                    )
                    .label(format!("expected {expected}"))
                    .help(format!("this field takes {expected}")),
                );
            }
        }
        None
    }

    pub(crate) fn out_of_range<T>(&mut self, v: &V, msg: String, help: &str) -> Option<T> {
        self.ev.err(
            Diagnostic::error(Code::OutOfRange, msg, v.loc.file, v.loc.span)
                .label("out of range")
                .help(help.to_string()),
        );
        None
    }

    pub(crate) fn malformed<T>(&mut self, v: &V, msg: String, help: &str) -> Option<T> {
        self.ev.err(
            Diagnostic::error(Code::MalformedLiteral, msg, v.loc.file, v.loc.span)
                .label("malformed")
                .help(help.to_string()),
        );
        None
    }

    /// A path with a control character (a NUL, a newline, an escape) names no file Compose
    /// or the kernel can use: E0205 at the value.
    pub(crate) fn control_char_in_path(&mut self, v: &V, path: &str) -> bool {
        let Some(c) = path.chars().find(|c| c.is_control()) else {
            return false;
        };
        self.malformed::<()>(
            v,
            format!(
                "the path `{}` holds the control character U+{:04X}",
                path.escape_debug(),
                u32::from(c)
            ),
            "paths are plain text: remove the control character (Compose rejects such a path, and a NUL ends it early)",
        );
        true
    }

    /// Follow a field reference (`web01.address`) to its value; other values pass unchanged
    /// (borrowed: lowering reads values, it does not need copies of them).
    pub(crate) fn resolved<'v>(&mut self, v: &'v V) -> Cow<'v, V> {
        let v = match &v.val {
            Val::Ref(s, path) if !path.is_empty() => {
                let (s, path) = (*s, path.clone());
                Cow::<V>::Owned(self.ev.deref(s, &path, v.loc))
            }
            Val::SecretPath(_) => Cow::Owned(v.clone()),
            _ => return Cow::Borrowed(v),
        };
        match &v.val {
            &Val::SecretPath(s) => {
                if let Some(id) = self.secret_ids.get(&s)
                    && !self.path_secrets.contains(id)
                {
                    self.path_secrets.push(*id);
                }
                Cow::Owned(V {
                    val: Val::Str(format!("{SECRETS_DIR}{}", self.ev.syms.list[s].name)),
                    loc: v.loc,
                })
            }
            _ => v,
        }
    }

    pub(crate) fn str(&mut self, v: &V) -> Option<String> {
        let r = self.resolved(v);
        match &r.val {
            Val::Str(s) => Some(s.clone()),
            _ => self.mismatch(&r, "a string"),
        }
    }

    /// Strings, numbers and booleans as text (labels, sysctls, build args).
    pub(crate) fn text(&mut self, v: &V) -> Option<String> {
        let r = self.resolved(v);
        match &r.val {
            Val::Str(s) => Some(s.clone()),
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            Val::Bool(b) => Some(b.to_string()),
            Val::Port(p, _) => Some(p.to_string()),
            Val::Ip(ip) => Some(ip.to_string()),
            Val::Ref(s, p) if p.is_empty() && !self.is_secret(&r) && !self.is_variable(*s) => {
                Some(self.ev.syms.list[*s].name.clone())
            }
            _ => self.mismatch(&r, "a string"),
        }
    }

    pub(crate) fn int(&mut self, v: &V, min: i64, max: i64) -> Option<i64> {
        let r = self.resolved(v);
        match r.val {
            Val::Int(i) if i >= min && i <= max => Some(i),
            Val::Int(i) => self.out_of_range(
                &r,
                format!("{i} is out of range"),
                &format!("the value must be between {min} and {max}"),
            ),
            _ => self.mismatch(&r, "an integer"),
        }
    }

    pub(crate) fn float(&mut self, v: &V, min: f64) -> Option<f64> {
        let r = self.resolved(v);
        let f = match r.val {
            Val::Int(i) => i as f64,
            Val::Float(f) => f,
            _ => return self.mismatch(&r, "a number"),
        };
        if f < min {
            return self.out_of_range(
                &r,
                format!("{f} is out of range"),
                &format!("the value must be at least {min}"),
            );
        }
        Some(f)
    }

    pub(crate) fn bool(&mut self, v: &V) -> Option<bool> {
        let r = self.resolved(v);
        match r.val {
            Val::Bool(b) => Some(b),
            _ => self.mismatch(&r, "`true` or `false`"),
        }
    }

    pub(crate) fn size(&mut self, v: &V) -> Option<u64> {
        let r = self.resolved(v);
        match r.val {
            Val::Size(s) => Some(s),
            Val::Int(_) => self.malformed(
                &r,
                "a size needs a unit".into(),
                "write the unit: 512MiB, 4GiB, 100GB",
            ),
            _ => self.mismatch(&r, "a size (e.g. 512MiB)"),
        }
    }

    pub(crate) fn duration(&mut self, v: &V) -> Option<u64> {
        let r = self.resolved(v);
        match r.val {
            Val::Duration(d) => Some(d),
            Val::Int(_) => self.malformed(
                &r,
                "a duration needs a unit".into(),
                "write the unit: 30s, 5m, 1h30m",
            ),
            _ => self.mismatch(&r, "a duration (e.g. 30s)"),
        }
    }

    pub(crate) fn port_number(&mut self, v: &V, n: u32) -> Option<u16> {
        if n == 0 || n > 65535 {
            return self.out_of_range(v, format!("port {n} is out of range"), "ports are 1..65535");
        }
        Some(n as u16)
    }

    pub(crate) fn port(&mut self, v: &V) -> Option<(u16, Proto)> {
        let r = self.resolved(v);
        match r.val {
            Val::Int(i) => {
                let n = u32::try_from(i).unwrap_or(u32::MAX);
                self.port_number(&r, n).map(|p| (p, Proto::Tcp))
            }
            Val::Port(n, proto) => self.port_number(&r, n).map(|p| (p, proto)),
            _ => self.mismatch(&r, "a port (e.g. 8080 or 53/udp)"),
        }
    }

    pub(crate) fn ip(&mut self, v: &V) -> Option<std::net::IpAddr> {
        let r = self.resolved(v);
        match r.val {
            Val::Ip(ip) => Some(ip),
            Val::Str(ref s) => match s.parse() {
                Ok(ip) => Some(ip),
                Err(_) => self.malformed(
                    &r,
                    format!("`{s}` is not an IP address"),
                    "write the address without quotes, e.g. 203.0.113.10",
                ),
            },
            _ => self.mismatch(&r, "an IP address"),
        }
    }

    /// An enum variant written as a bare name (`runtime = compose`); `_` and `-` are equal.
    pub(crate) fn variant(
        &mut self,
        v: &V,
        what: &str,
        variants: &[&'static str],
    ) -> Option<&'static str> {
        let text = match &v.val {
            Val::Name(n) => n.clone(),
            Val::Ref(s, p) if p.is_empty() => self.ev.syms.list[*s].name.as_str().into(),
            Val::Str(s) => s.as_str().into(),
            Val::Error => return None,
            _ => return self.mismatch(v, &format!("one of {}", variants.join(", "))),
        };
        let norm = text.replace('-', "_");
        if let Some(found) = variants.iter().find(|x| x.replace('-', "_") == norm) {
            return Some(found);
        }
        let mut d = Diagnostic::error(
            Code::TypeMismatch,
            format!("`{text}` is not a {what}"),
            v.loc.file,
            v.loc.span,
        )
        .label(format!("expected one of: {}", variants.join(", ")));
        d.help = Some(match did_you_mean(&text, variants.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("a {what} is one of: {}", variants.join(", ")),
        });
        self.ev.err(d);
        None
    }

    /// `critical`, `warning` or `info`.
    pub(crate) fn severity(&mut self, v: &V) -> Option<Severity> {
        match self.variant(v, "severity", &["critical", "warning", "info"])? {
            "critical" => Some(Severity::Critical),
            "warning" => Some(Severity::Warning),
            _ => Some(Severity::Info),
        }
    }

    pub(crate) fn list<'v>(&mut self, v: &'v V) -> Option<&'v [V]> {
        match &v.val {
            Val::List(items) => Some(items),
            _ => self.mismatch(v, "a list `[...]`"),
        }
    }

    /// Each item of a list, converted by `f` (the ones it refuses reported by it).
    pub(crate) fn each<T>(
        &mut self,
        v: &V,
        mut f: impl FnMut(&mut Self, &V) -> Option<T>,
    ) -> Vec<T> {
        let Some(items) = self.list(v) else {
            return Vec::new();
        };
        items.iter().filter_map(|i| f(self, i)).collect()
    }

    pub(crate) fn strings(&mut self, v: &V) -> Vec<String> {
        self.each(v, Self::str)
    }

    pub(crate) fn record<'v>(&mut self, v: &'v V) -> Option<&'v Rec> {
        match &v.val {
            Val::Record(r) => Some(r),
            _ => self.mismatch(v, "a record `{ ... }`"),
        }
    }

    /// Whether `v` is `none`: in a record a template set, the key is taken out
    /// (`env { KEY = none }`, `port { imaps = none }`, `labels { "k" = none }`).
    pub(crate) fn is_none(v: &V) -> bool {
        matches!(&v.val, Val::Name(n) if n.as_str() == "none")
    }

    pub(crate) fn text_map(&mut self, v: &V) -> Map<String, String> {
        let mut out = Map::default();
        if let Some(rec) = self.record(v) {
            for (k, fv, _) in rec {
                if Self::is_none(fv) {
                    continue;
                }
                if let Some(t) = self.text(fv) {
                    out.insert(k.text.as_str().to_owned(), t);
                }
            }
        }
        out
    }

    pub(crate) fn command(&mut self, v: &V) -> Option<Command> {
        let r = self.resolved(v);
        const WORD: &str = "a command's word";
        match &r.val {
            Val::Str(s) => Some(Command::Shell(Text::lit(s.clone()))),
            Val::Subst(_) => Some(Command::Shell(self.deploy_text(&r, true, "a command")?)),
            Val::Ref(s, p) if p.is_empty() && self.is_variable(*s) => {
                Some(Command::Shell(self.deploy_text(&r, true, "a command")?))
            }
            Val::List(items) => Some(Command::Exec(
                items
                    .iter()
                    .filter_map(|i| match &i.val {
                        Val::Str(_) | Val::Subst(_) => self.deploy_text(i, true, WORD),
                        Val::Ref(s, p) if p.is_empty() && self.is_variable(*s) => {
                            self.deploy_text(i, true, WORD)
                        }
                        _ => self.str(i).map(Text::lit),
                    })
                    .collect(),
            )),
            _ => self.mismatch(
                &r,
                "a command: a string (run by a shell) or a list of strings",
            ),
        }
    }

    /// An image reference; a variable in it (`"jellyfin/jellyfin:${version}"`) is checked
    /// with its default, or a placeholder tag when it has none.
    pub(crate) fn image(&mut self, v: &V) -> Option<Text> {
        if matches!(
            self.resolved(v).val,
            Val::Int(_) | Val::Float(_) | Val::Bool(_)
        ) {
            return self.mismatch(v, "a string");
        }
        let t = self.deploy_text(v, false, "an image reference")?;
        let vars = &self.model.variables;
        let s = t.render(|p| match p {
            crate::model::Piece::Variable(id) => vars
                .get(*id)
                .and_then(|x| x.default.clone())
                .unwrap_or_else(|| "0".into()),
            _ => String::new(),
        });
        match check_image_ref(&s) {
            Ok(()) => Some(t),
            Err(why) => self.malformed(v, format!("`{s}` is not a valid image reference: {why}"), "an image is `[registry/]name[:tag][@sha256:digest]`, lower-case, e.g. `mysql:8.4` or `ghcr.io/org/app:1.2`"),
        }
    }

    pub(crate) fn secret_ref(&mut self, v: &V) -> Option<SecretId> {
        match &v.val {
            Val::Ref(s, p) if p.is_empty() && self.is_secret(v) => self.secret_ids.get(s).copied(),
            Val::Error => None,
            Val::Name(_) => self.mismatch(v, "a secret"),
            _ => {
                let found = v.val.describe(self.ev.syms);
                self.ev.err(
                    Diagnostic::error(Code::PlainAsSecret, format!("expected a secret, found {found}"), v.loc.file, v.loc.span)
                        .label("not a secret")
                        .help("declare the secret (`secret name from env \"VAR\"`) and refer to it by name; its value never appears in sources or artifacts"),
                );
                None
            }
        }
    }

    pub(crate) fn decl_ref(&mut self, v: &V, kind: DeclKind) -> Option<usize> {
        match &v.val {
            Val::Ref(s, p) if p.is_empty() && self.ev.syms.list[*s].kind == SymKind::Decl(kind) => {
                Some(*s)
            }
            Val::Name(n) => {
                let n = n.clone();
                // Broken declarations' names too: a typo of one is still a typo of it.
                let candidates: Vec<String> = self
                    .ev
                    .syms
                    .list
                    .iter()
                    .filter(|s| s.kind == SymKind::Decl(kind))
                    .map(|s| s.name.clone())
                    .collect();
                let mut d = Diagnostic::error(
                    Code::Unresolved,
                    format!("cannot find {} `{n}`", kind.keyword()),
                    v.loc.file,
                    v.loc.span,
                )
                .label(format!("no {} with this name", kind.keyword()));
                d.help = Some(
                    match did_you_mean(&n, candidates.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if candidates.is_empty() => {
                            format!("declare it: `{} {n} {{ ... }}`", kind.keyword())
                        }
                        None => format!(
                            "the declared {}s are: {}",
                            kind.keyword(),
                            candidates.join(", ")
                        ),
                    },
                );
                self.ev.err(d);
                None
            }
            Val::Ref(s, p) if p.is_empty() => {
                let sym = &self.ev.syms.list[*s];
                let (name, kn, file, span) =
                    (sym.name.clone(), sym.kind_name(), sym.file, sym.name_span);
                self.ev.err(
                    Diagnostic::error(
                        Code::WrongKind,
                        format!("`{name}` is a {kn}, not a {}", kind.keyword()),
                        v.loc.file,
                        v.loc.span,
                    )
                    .with_secondary(file, span, "declared here")
                    .help(format!("refer to a {} here", kind.keyword())),
                );
                None
            }
            _ => self.mismatch(v, &format!("a {} name", kind.keyword())),
        }
    }

    pub(crate) fn unknown_sub(
        &mut self,
        key: &str,
        span: Span,
        file: FileId,
        what: &str,
        known: &[&str],
    ) {
        let mut d = Diagnostic::error(
            Code::UnknownField,
            format!("`{what}` has no field `{key}`"),
            file,
            span,
        )
        .label("unknown field");
        d.help = Some(match did_you_mean(key, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the fields of `{what}` are: {}", known.join(", ")),
        });
        self.ev.err(d);
    }

    /// Names that become directory or file names in the output must be plain.
    pub(crate) fn stack_name(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        if is_safe_name(&s) {
            Some(s)
        } else {
            self.ev.err(
                Diagnostic::error(Code::UnsafePath, format!("`{}` cannot be a stack name", s.escape_debug()), v.loc.file, v.loc.span)
                    .label("becomes a directory name in the output")
                    .help("use lower-case letters, digits, `-` and `_` (a stack name is a compose project name and a directory)"),
            );
            None
        }
    }
}
