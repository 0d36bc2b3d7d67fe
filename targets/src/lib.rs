//! sparkc targets. Each module implements [`sparkc_core::target::Target`] over the model.
// A target reports through its diagnostics: nothing here prints.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]
pub mod caddy;
pub mod cloudinit;
pub mod compose;
pub mod grafana;
pub mod placement;
pub mod prometheus;
pub mod template;
pub mod yaml;

use sparkc_core::target::Target;

/// Every built-in target, by name.
pub fn builtin() -> Vec<Box<dyn Target>> {
    vec![
        Box::new(compose::Compose),
        Box::new(prometheus::Prometheus),
        Box::new(caddy::Caddy),
        Box::new(grafana::Grafana),
        Box::new(cloudinit::Cloudinit),
    ]
}

pub fn by_name(name: &str) -> Option<Box<dyn Target>> {
    builtin().into_iter().find(|t| t.name() == name)
}

/// The generated-by header every artifact starts with.
pub fn header(source: &str, target: &str) -> Vec<String> {
    vec![
        format!(
            "{} from {source} (target: {target}); do not edit.",
            sparkc_core::target::GENERATED_MARKER
        ),
        "Edit the .spark sources and run `sparkc build` instead.".to_string(),
    ]
}

/// A path as a regular expression matching it literally, in the RE2 syntax Traefik and
/// Caddy (both Go) read.
pub(crate) fn regex_literal(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
