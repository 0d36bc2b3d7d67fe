//! `spark.toml`: the project's entry, output directory, targets and their options, read with
//! where each was written, and checked against what each target declares it reads.

use serde::Deserialize;
use sparkc_core::diag::{Code, Diagnostic, did_you_mean};
use sparkc_core::source::{FileId, Span};
use sparkc_core::target::TargetOptions;
use std::collections::BTreeMap;
use toml::Spanned;

/// The manifest's file name.
pub const MANIFEST: &str = "spark.toml";

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Its text, when it was read from one (diagnostics point into it).
    #[serde(skip)]
    pub text: Option<String>,
    #[serde(default)]
    pub project: ProjectSection,
    /// Per-target options: `[targets.compose]`, with where each was written.
    #[serde(default)]
    pub targets: BTreeMap<Spanned<String>, BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    /// `[lints]`: a warning's level by its code (`W0315 = "error"`).
    #[serde(default)]
    pub lints: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// What `[lints]` makes of a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// An error: nothing is written while it stands.
    Error,
    /// A warning (what it is anyway).
    Warn,
    /// Not reported.
    Allow,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    pub name: Option<String>,
    /// Entry source file, relative to the project directory.
    #[serde(default = "default_entry")]
    pub entry: String,
    /// Output directory, relative to the project directory.
    #[serde(default = "default_out")]
    pub out: String,
    /// Targets to build.
    #[serde(default = "default_targets")]
    pub build: Vec<Spanned<String>>,
}

impl Default for ProjectSection {
    fn default() -> Self {
        ProjectSection {
            name: None,
            entry: default_entry(),
            out: default_out(),
            build: default_targets(),
        }
    }
}

fn default_entry() -> String {
    "main.spark".into()
}
fn default_out() -> String {
    "out".into()
}
fn default_targets() -> Vec<Spanned<String>> {
    vec![Spanned::new(0..0, "compose".into())]
}

impl Manifest {
    /// The level `[lints]` gives each warning code it names (written correctly: the others
    /// are [`Manifest::diagnostics`]).
    pub fn lint_levels(&self) -> Vec<(Code, Level)> {
        self.lints
            .iter()
            .filter_map(|(code, level)| {
                let code = Code::parse(code.get_ref()).filter(|c| c.as_str().starts_with('W'))?;
                let level = match level.get_ref().as_str() {
                    "error" => Level::Error,
                    "warn" => Level::Warn,
                    "allow" => Level::Allow,
                    _ => return None,
                };
                Some((code, level))
            })
            .collect()
    }

    /// Read a spark.toml's text. `Err`: TOML's own message, with line and column.
    pub fn parse(text: &str) -> Result<Manifest, String> {
        let mut m: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        m.text = Some(text.to_string());
        Ok(m)
    }

    /// Build these targets instead of the manifest's (tests build every target).
    pub fn set_build_targets(&mut self, targets: Vec<String>) {
        self.project.build = targets.into_iter().map(|t| Spanned::new(0..0, t)).collect();
    }

    /// The targets to build, as spark.toml names them.
    pub fn build_targets(&self) -> Vec<String> {
        self.project
            .build
            .iter()
            .map(|t| t.get_ref().clone())
            .collect()
    }

    /// The template targets spark.toml defines (`[targets.NAME] templates = "DIR"`): each
    /// name, its directory and where that was written.
    pub fn template_dirs(&self) -> BTreeMap<String, (String, std::ops::Range<usize>)> {
        let builtin = sparkc_targets::builtin();
        self.targets
            .iter()
            .filter(|(name, _)| !builtin.iter().any(|t| t.name() == name.get_ref()))
            .filter_map(|(name, options)| {
                let (_, dir) = options.iter().find(|(k, _)| k.get_ref() == "templates")?;
                Some((
                    name.get_ref().clone(),
                    (dir.get_ref().as_str()?.to_string(), dir.span()),
                ))
            })
            .collect()
    }

    pub fn target_options(&self, target: &str) -> TargetOptions {
        self.targets
            .get(target)
            .map(|t| {
                t.iter()
                    .map(|(k, v)| (k.get_ref().clone(), option_text(v.get_ref())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What is wrong in spark.toml's choice of targets and their options, pointing into it
    /// (`file`: its id in the source set): a target that does not exist, an option a target
    /// does not read, a value of the wrong kind; a warning for options of a target the
    /// project does not build.
    pub fn diagnostics(&self, file: FileId) -> Vec<Diagnostic> {
        let builtin = sparkc_targets::builtin();
        let defined = self.template_dirs();
        let shipped = sparkc_targets::template::shipped();
        let mut names: Vec<&str> = builtin.iter().map(|t| t.name()).collect();
        names.extend(shipped.iter().map(|t| t.name));
        names.extend(defined.keys().map(String::as_str));
        let at = |r: std::ops::Range<usize>| Span::new(r.start, r.end);
        let unknown_target = |name: &str, span: Span, what: &str| {
            let mut d = Diagnostic::error(
                Code::ManifestSetting,
                format!("there is no target `{name}`"),
                file,
                span,
            )
            .label(what.to_string());
            d.help = Some(match did_you_mean(name, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? The targets are: {}", names.join(", ")),
                None => format!("the targets are: {}", names.join(", ")),
            });
            d
        };
        let mut diags = Vec::new();
        for (code, level) in &self.lints {
            let warnings: Vec<&str> = Code::ALL
                .iter()
                .map(|c| c.as_str())
                .filter(|c| c.starts_with('W'))
                .collect();
            match Code::parse(code.get_ref()) {
                Some(c) if c.as_str().starts_with('W') => {}
                found => {
                    let mut d = Diagnostic::error(
                        Code::ManifestSetting,
                        match found {
                            Some(c) => {
                                format!("`{}` is an error, whose level is fixed", c.as_str())
                            }
                            None => format!("there is no warning `{}`", code.get_ref()),
                        },
                        file,
                        at(code.span()),
                    )
                    .label("in `[lints]`");
                    d.help = Some(format!(
                        "`[lints]` sets the level of a warning; the warnings are: {}",
                        warnings.join(", ")
                    ));
                    diags.push(d);
                }
            }
            if !matches!(level.get_ref().as_str(), "error" | "warn" | "allow") {
                diags.push(
                    Diagnostic::error(
                        Code::ManifestSetting,
                        format!("`{}` is not a level", level.get_ref()),
                        file,
                        at(level.span()),
                    )
                    .label("expected \"error\", \"warn\" or \"allow\"")
                    .help(format!("for example `{} = \"error\"`", code.get_ref())),
                );
            }
        }
        for t in &self.project.build {
            if !names.contains(&t.get_ref().as_str()) {
                diags.push(unknown_target(t.get_ref(), at(t.span()), "in `build`"));
            }
        }
        for (table, options) in &self.targets {
            let builtin_target = builtin.iter().find(|t| t.name() == table.get_ref());
            let is_template = builtin_target.is_none()
                && (options.keys().any(|k| k.get_ref() == "templates")
                    || shipped.iter().any(|t| t.name == table.get_ref()));
            if builtin_target.is_none() && !is_template {
                diags.push(unknown_target(
                    table.get_ref(),
                    at(table.span()),
                    "a `[targets...]` table",
                ));
                continue;
            }
            if !self
                .project
                .build
                .iter()
                .any(|b| b.get_ref() == table.get_ref())
            {
                diags.push(
                    Diagnostic::warning(
                        Code::ManifestUnused,
                        format!(
                            "options for `{}`, which this project does not build",
                            table.get_ref()
                        ),
                        file,
                        at(table.span()),
                    )
                    .label("not in `build`")
                    .help(format!(
                        "add \"{}\" to `build = [...]` in [project], or remove the table",
                        table.get_ref()
                    )),
                );
            }
            let Some(target) = builtin_target else {
                diags.extend(template_table_diagnostics(table, options, file));
                continue;
            };
            let known = target.options();
            for (key, value) in options {
                let Some(opt) = known.iter().find(|o| o.name == key.get_ref()) else {
                    let list: Vec<&str> = known.iter().map(|o| o.name).collect();
                    let mut d = Diagnostic::error(
                        Code::ManifestSetting,
                        format!(
                            "the {} target has no option `{}`",
                            table.get_ref(),
                            key.get_ref()
                        ),
                        file,
                        at(key.span()),
                    )
                    .label("unknown option");
                    d.help = Some(match did_you_mean(key.get_ref(), list.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if list.is_empty() => {
                            format!("the {} target takes no options", table.get_ref())
                        }
                        None => format!("its options are: {}", list.join(", ")),
                    });
                    diags.push(d);
                    continue;
                };
                let text = option_text(value.get_ref());
                let is_string = value.get_ref().is_str();
                let wrong_type = match opt.kind {
                    sparkc_core::target::OptionKind::Bool => {
                        !value.get_ref().is_bool() && !is_string
                    }
                    _ => !is_string,
                };
                let wrong = match opt.kind.check(&text) {
                    Err(e) => Some(e),
                    Ok(()) if wrong_type => Some("a string"),
                    Ok(()) => None,
                };
                if let Some(expected) = wrong {
                    diags.push(
                        Diagnostic::error(
                            Code::ManifestSetting,
                            format!("`{}` must be {expected}", key.get_ref()),
                            file,
                            at(value.span()),
                        )
                        .label(format!("{}: {}", key.get_ref(), opt.doc))
                        .help(format!(
                            "for example `{} = {}`",
                            key.get_ref(),
                            opt.example
                        )),
                    );
                }
            }
        }
        diags.sort_by_key(|d| d.primary.span.start);
        diags
    }
}

/// A template target's table: only `templates`, a directory inside the project.
fn template_table_diagnostics(
    table: &Spanned<String>,
    options: &BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    file: FileId,
) -> Vec<Diagnostic> {
    let at = |r: std::ops::Range<usize>| Span::new(r.start, r.end);
    let mut diags = Vec::new();
    for (key, value) in options {
        if key.get_ref() != "templates" {
            diags.push(
                Diagnostic::error(
                    Code::ManifestSetting,
                    format!(
                        "the template target `{}` has no option `{}`",
                        table.get_ref(),
                        key.get_ref()
                    ),
                    file,
                    at(key.span()),
                )
                .label("unknown option")
                .help("a template target takes one option: `templates = \"DIR\"`, its template directory"),
            );
            continue;
        }
        let plain = value.get_ref().as_str().is_some_and(|d| {
            !d.is_empty()
                && std::path::Path::new(d)
                    .components()
                    .all(|c| matches!(c, std::path::Component::Normal(_)))
        });
        if !plain {
            diags.push(
                Diagnostic::error(
                    Code::ManifestSetting,
                    "`templates` must name a directory inside the project",
                    file,
                    at(value.span()),
                )
                .label("not a relative path inside the project")
                .help("for example `templates = \"templates/homepage\"`"),
            );
        }
    }
    diags
}

/// An option's value as the target reads it: a string's text, anything else as TOML writes it.
fn option_text(v: &toml::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}
