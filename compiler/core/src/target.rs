//! The seam between the model and the backends. A target turns the model into files in
//! memory and never writes to disk; the caller decides where (and whether) they go.

use crate::diag::Diagnostic;
use crate::model::Model;
use std::collections::BTreeMap;

/// One generated file, its path relative to the output directory (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub path: String,
    pub contents: String,
}

/// Options a target reads from `spark.toml`'s `[targets.NAME]` table, checked against the
/// target's [`Target::options`] before it runs.
pub type TargetOptions = BTreeMap<String, String>;

/// One option a target reads from `[targets.NAME]`.
#[derive(Debug, Clone, Copy)]
pub struct TargetOption {
    pub name: &'static str,
    pub kind: OptionKind,
    /// What it does, and its default.
    pub doc: &'static str,
    /// A value as written in spark.toml, for help texts.
    pub example: &'static str,
}

/// What an option's value must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// Letters, digits, `-` and `_`: an entry point's or a certificate resolver's name.
    Name,
    /// `true` or `false`.
    Bool,
    /// A duration as Prometheus writes it: `30s`, `1m30s`, `2h`, `500ms`.
    Duration,
    /// A file path inside the output directory: `compose/web/prometheus.yml`.
    OutPath,
    /// Prometheus labels, `name=value` separated by commas: `site=office,env=prod` (names of
    /// letters, digits and `_`, not starting with a digit or `__`; values without `,`).
    Labels,
}

impl OptionKind {
    /// `Err(what it should be)` when `value` is not of this kind.
    pub fn check(self, value: &str) -> Result<(), &'static str> {
        let ok = match self {
            OptionKind::Name => {
                !value.is_empty()
                    && value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            }
            OptionKind::Bool => matches!(value, "true" | "false"),
            OptionKind::Duration => is_prometheus_duration(value),
            OptionKind::OutPath => is_out_path(value),
            OptionKind::Labels => parse_labels(value).is_some(),
        };
        if ok {
            Ok(())
        } else {
            Err(match self {
                OptionKind::Name => "a name of letters, digits, `-` and `_`",
                OptionKind::Bool => "`true` or `false`",
                OptionKind::Duration => {
                    "a duration such as `30s`, `1m30s` or `2h` (units y, w, d, h, m, s, ms, largest first)"
                }
                OptionKind::OutPath => {
                    "a relative file path inside the output directory, such as `compose/web/prometheus.yml`"
                }
                OptionKind::Labels => {
                    "labels `name=value` separated by commas, such as `site=office,env=prod` (each name once, of letters, digits and `_`, not starting with a digit or `__`)"
                }
            })
        }
    }
}

/// `name=value,name=value` as (name, value) pairs, in the order written; `None` unless every
/// name is a Prometheus label name, given once, and not reserved (`__...`).
pub fn parse_labels(s: &str) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in s.split(',') {
        let (name, value) = pair.split_once('=')?;
        let (name, value) = (name.trim(), value.trim());
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok
            || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with("__")
            || value.is_empty()
            || value.chars().any(char::is_control)
            || out.iter().any(|(n, _)| n == name)
        {
            return None;
        }
        out.push((name.to_string(), value.to_string()));
    }
    Some(out)
}

/// A Prometheus duration: number-unit pairs, units `y w d h m s ms`, each at most once and
/// largest first (`1h30m`, not `30m1h`).
pub fn is_prometheus_duration(s: &str) -> bool {
    const UNITS: [&str; 7] = ["y", "w", "d", "h", "m", "s", "ms"];
    let mut rest = s;
    let mut last = None;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = (if rest.starts_with("ms") {
            Some(6)
        } else {
            UNITS.iter().position(|u| rest.starts_with(u))
        }) else {
            return false;
        };
        if last.is_some_and(|l| unit <= l) {
            return false;
        }
        last = Some(unit);
        rest = &rest[UNITS[unit].len()..];
    }
    true
}

/// Whether `rel` names a file inside the output directory: relative, plain components only,
/// no control characters (a newline would forge a manifest line), not one of sparkc's own
/// names there (`.sparkc-manifest`, `.sparkc-lock`, `.sparkc-tmp-*`).
pub fn is_out_path(rel: &str) -> bool {
    !rel.is_empty()
        && !rel.starts_with(".sparkc-")
        && !rel.chars().any(char::is_control)
        && !rel.starts_with('/')
        && !rel.ends_with('/')
        && rel
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\\'))
}

/// What a target can express. The model asks for features; a target that lacks one
/// reports a coded diagnostic instead of dropping it.
pub trait Target {
    fn name(&self) -> &'static str;
    /// Emit artifacts, each starting with a header that names sparkc and `ctx.source`
    /// (for generated files, [`GENERATED_MARKER`]).
    fn emit(&self, model: &Model, ctx: &EmitContext<'_>) -> (Vec<Artifact>, Vec<Diagnostic>);
    /// The options it reads from `[targets.NAME]` in spark.toml (any other is an error there).
    fn options(&self) -> &'static [TargetOption] {
        &[]
    }
    /// Whether it reads what the other targets generated (`ctx.generated`): such targets run
    /// after all the others (compose labels each service with a hash of the files it mounts).
    fn reads_generated(&self) -> bool {
        false
    }
    /// When it runs: targets run by stage, each stage reading what the ones before it
    /// generated (default: 0, or 1 for one that [`Self::reads_generated`]). The cloudinit
    /// target, which places what compose wrote (itself stage 1), is stage 2.
    fn stage(&self) -> u8 {
        u8::from(self.reads_generated())
    }
}

pub struct EmitContext<'a> {
    /// The entry source file, named in every generated header.
    pub source: &'a str,
    pub options: &'a TargetOptions,
    /// Whether the artifacts' text is wanted. `sparkc check` wants only diagnostics and
    /// paths: a target may then leave `contents` empty and skip serialising.
    pub text: bool,
    /// For a target that [`Target::reads_generated`]: every artifact the other targets of
    /// this build produced; empty otherwise.
    pub generated: &'a [Artifact],
    /// Only these hosts' files are wanted (a language server's preview of one service); a
    /// target may skip the others. `None`: every host's.
    pub only_hosts: Option<&'a [crate::model::HostId]>,
}

/// The first line of a generated file says so, for the people who read it. It gives sparkc
/// no rights over a file: what it may overwrite or remove is what the output directory's
/// manifest records it wrote (the CLI's `write` module).
pub const GENERATED_MARKER: &str = "generated by sparkc";

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn label_options() {
        assert_eq!(
            parse_labels("site=office, env = prod"),
            Some(vec![
                ("site".to_string(), "office".to_string()),
                ("env".to_string(), "prod".to_string())
            ])
        );
        for bad in [
            "",
            "site",
            "site=",
            "=x",
            "1site=x",
            "__name__=x",
            "si-te=x",
            "a=1,a=2",
            "a=1,,b=2",
        ] {
            assert_eq!(parse_labels(bad), None, "{bad}");
        }
    }
    #[test]
    fn option_values() {
        for d in ["30s", "1m30s", "2h", "500ms", "1d", "1y2w", "15s"] {
            assert!(is_prometheus_duration(d), "{d}");
        }
        for d in ["", "banana", "30", "s", "30m1h", "1h1h", "1.5s", "-1s"] {
            assert!(!is_prometheus_duration(d), "{d}");
        }
        assert!(is_out_path("compose/web/prometheus.yml"));
        for p in [
            "",
            "/etc/x",
            "../x",
            "a/../../x",
            "a//b",
            "./a",
            "a/",
            ".sparkc-manifest",
            "a\nb",
        ] {
            assert!(!is_out_path(p), "{p:?}");
        }
        assert!(OptionKind::Name.check("websecure").is_ok());
        assert!(OptionKind::Name.check("web secure").is_err());
        assert!(OptionKind::Bool.check("yes").is_err());
    }
}
