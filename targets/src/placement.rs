//! Where files go: a compose project's directory in the out dir, and the generated
//! configuration file a service reads — written where the service mounts it from, so that the
//! deployed compose project finds it; elsewhere only with a warning that says so.

use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::*;

/// The directory of a compose project in the out dir: `compose/<host>` for the host's own
/// services, `compose/<host>/<stack>` for a stack. Files a project mounts by relative path
/// (a Caddyfile, a prometheus.yml) go beside its compose file.
pub fn project_dir(h: &Host, stack: Option<&str>) -> String {
    match stack {
        Some(st) => format!("compose/{}/{st}", h.name),
        None => format!("compose/{}", h.name),
    }
}

/// Where in the out dir a file must go for service `sid` to read it at `container_path`: the
/// relative bind mount's source, resolved against the service's compose project directory.
/// `None` when it is not bind-mounted from a relative path inside the project, or the host
/// is not a compose or swarm host.
pub fn mounted_file(m: &Model, sid: ServiceId, container_path: &str) -> Option<String> {
    let s = &m.services[sid];
    let source = s.volumes.iter().find_map(|v| match &v.source {
        MountSource::Bind(p) if v.target == container_path => p.as_lit(),
        _ => None,
    })?;
    let rel = relative_inside(source)?;
    let h = m.host_of(sid)?;
    let compose = matches!(h.runtime, Runtime::Compose | Runtime::Swarm);
    compose.then(|| format!("{}/{rel}", project_dir(h, s.stack.as_deref())))
}

/// The project-relative path of a bind source that stays inside the compose project's
/// directory (`./Caddyfile` → `Caddyfile`); `None` for absolute paths and ones that climb.
pub(crate) fn relative_inside(source: &str) -> Option<&str> {
    let rel = source.strip_prefix("./").unwrap_or(source);
    let inside = !rel.is_empty()
        && !source.starts_with('/')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    inside.then_some(rel)
}

/// A configuration file a consumer reads inside its container.
pub struct ConfigFile<'a> {
    /// What it is called in messages (`the Caddyfile`, `blackbox.yml`).
    pub what: &'a str,
    /// Where the consumer reads it (`/etc/caddy/Caddyfile`).
    pub in_container: &'a str,
    /// The mount a service should have, for the help (`./Caddyfile`).
    pub mount_from: &'a str,
}

/// Where `file` goes for service `consumer` to read it: the out-dir path of the relative bind
/// mount that puts it at `file.in_container`; else `fallback`, with a W0402 saying why.
pub fn config_path(
    m: &Model,
    consumer: ServiceId,
    file: &ConfigFile<'_>,
    fallback: String,
    diags: &mut Vec<Diagnostic>,
) -> String {
    if let Some(p) = mounted_file(m, consumer, file.in_container) {
        return p;
    }
    let s = &m.services[consumer];
    diags.push(
        Diagnostic::warning(
            Code::Fallback,
            format!(
                "`{}` does not mount {} from a path next to its compose file",
                s.name, file.what
            ),
            s.loc.file,
            s.loc.span,
        )
        .label(format!("it reads `{}`", file.in_container))
        .help(format!(
            "{} goes to `{fallback}`; mount it with a relative path, as the stdlib template does: `volumes = [ro(\"{}\" -> \"{}\")]`",
            file.what, file.mount_from, file.in_container
        ))
        .about(s.subject()),
    );
    fallback
}
