//! A service's mounts: named volumes, bind mounts, tmpfs.

use crate::check::SymKind;
use crate::check::eval::{V, Val};
use crate::check::lower::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::syntax::ast::DeclKind;

impl Lowerer<'_, '_> {
    /// `volumes = [data -> "/var/lib/x", "./conf" -> "/etc/x", ro("./certs" -> "/certs")]`
    pub(crate) fn mounts(&mut self, v: &V, host: Option<HostId>, service: &str) -> Vec<Mount> {
        let mut out = Vec::new();
        let Some(items) = self.list(v) else {
            return out;
        };
        for item in items {
            // Modifiers wrap the pair and nest in any order: `ro(rslave("/" -> "/host"))`.
            let mut inner = item.clone();
            let mut ro = false;
            let mut propagation = None;
            let mut bad = false;
            while let Val::Call(n, args) = &inner.val {
                let n = n.clone();
                let [(_, arg)] = args.as_slice() else {
                    self.malformed::<()>(
                        &inner,
                        format!("`{}(...)` takes one mount", n.text),
                        "write `ro(SOURCE -> \"/container/path\")`",
                    );
                    bad = true;
                    break;
                };
                let arg = arg.clone();
                if n.text == "ro" {
                    ro = true;
                } else if let Some(p) = Propagation::from_name(&n.text) {
                    if propagation.replace(p).is_some() {
                        self.malformed::<()>(
                            &inner,
                            "a mount has one propagation mode".into(),
                            "keep one of `rslave(...)`, `rshared(...)`, ...",
                        );
                        bad = true;
                        break;
                    }
                } else {
                    self.ev.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            format!("unknown mount modifier `{}`", n.text),
                            item.loc.file,
                            n.span,
                        )
                        .help("the modifiers are `ro(SOURCE -> TARGET)` for a read-only mount and, for a bind mount, a propagation mode: `rslave`, `rshared`, `rprivate`, `slave`, `shared`, `private`"),
                    );
                    bad = true;
                    break;
                }
                inner = arg;
            }
            if bad {
                continue;
            }
            let Val::Pair(src, dst) = &inner.val else {
                self.mismatch::<()>(&inner, "a mount `SOURCE -> \"/container/path\"`");
                continue;
            };
            let Some(target) = self.str(dst) else {
                continue;
            };
            if self.control_char_in_path(dst, &target) {
                continue;
            }
            if !target.starts_with('/') {
                self.malformed::<()>(
                    dst,
                    format!("mount target `{target}` is not an absolute path"),
                    "container paths start with `/`",
                );
                continue;
            }
            let source = match &src.val {
                Val::Str(p)
                    if p.starts_with("./")
                        || p.starts_with("../")
                        || p.starts_with('/')
                        || p == "." =>
                {
                    if self.control_char_in_path(src, p) {
                        continue;
                    }
                    MountSource::Bind(Text::lit(p.clone()))
                }
                // A path with a variable in it (`"${media_root}/movies"`): the deploy tool
                // completes it, so it is a path whatever it starts with.
                Val::Subst(_) => match self.deploy_text(src, false, "a mount's source path") {
                    Some(t) => MountSource::Bind(t),
                    None => continue,
                },
                Val::Ref(sym, p) if p.is_empty() && self.is_variable(*sym) => {
                    match self.deploy_text(src, false, "a mount's source path") {
                        Some(t) => MountSource::Bind(t),
                        None => continue,
                    }
                }
                Val::Str(p) => {
                    self.malformed::<()>(src, format!("bind mount source `{p}` is neither relative (`./`) nor absolute (`/`)"), "write `./dir` for a path next to the compose file, or a bare name (no quotes) for a named volume");
                    continue;
                }
                Val::Name(n) if n == "tmpfs" => MountSource::Tmpfs,
                Val::Name(n) => {
                    // An undeclared volume belongs to this service alone: two services
                    // can never share one by accident. Declare a `volume` to share it.
                    MountSource::Volume(format!("{service}-{n}"))
                }
                Val::Ref(sym, p)
                    if p.is_empty()
                        && self.ev.syms.list[*sym].kind == SymKind::Decl(DeclKind::Volume) =>
                {
                    let name = self.ev.syms.list[*sym].name.clone();
                    if let Some(vol) = self.model.volumes.iter().find(|x| x.name == name)
                        && host.is_some_and(|h| vol.host != h)
                    {
                        self.ev.err(
                            Diagnostic::error(
                                Code::CrossStack,
                                format!("volume `{name}` lives on another host"),
                                src.loc.file,
                                src.loc.span,
                            )
                            .with_secondary(vol.loc.file, vol.loc.span, "declared here")
                            .help("a named volume is local to one host; declare one on this host"),
                        );
                        continue;
                    }
                    MountSource::Volume(name)
                }
                _ => {
                    self.mismatch::<()>(src, "a volume name or a path string");
                    continue;
                }
            };
            if propagation.is_some() && !matches!(source, MountSource::Bind(_)) {
                self.malformed::<()>(
                    item,
                    "mount propagation is a property of bind mounts".into(),
                    "a named volume or a tmpfs has no propagation: drop the modifier, or mount a host path",
                );
                continue;
            }
            out.push(Mount {
                source,
                target,
                read_only: ro,
                propagation,
                loc: item.loc,
            });
        }
        out
    }
}
