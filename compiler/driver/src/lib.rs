//! sparkc-driver: the compile driver, the one entry point of the compiler for the CLI, the
//! language server and embedders. It does no disk I/O: sources come from a [`World`], and
//! the result — model, artifacts, every diagnostic (the targets' included), the symbol table
//! — is returned as values.
//!
//! ```
//! use sparkc_driver::{Config, Driver, MemWorld};
//! let world = MemWorld::single(
//!     "host web { runtime = compose }\nservice app on web { image = \"nginx:1.27\" }\n",
//! );
//! let out = Driver::new()
//!     .compile(&world, &Config::new("main.spark", &["compose"]))
//!     .expect("compose is a built-in target");
//! assert_eq!(out.errors(), 0);
//! assert_eq!(out.artifacts[0].path, "compose/web/docker-compose.yml");
//! assert!(out.artifacts[0].contents.contains("image: \"nginx:1.27\""));
//!
//! // Diagnostics are values too: code, message, where (a file of `out.sources` and a byte
//! // span), help. Nothing is printed, nothing is written.
//! let broken = MemWorld::single("service app on wbe { image = \"nginx:1.27\" }\n");
//! let out = Driver::new()
//!     .compile(&broken, &Config::new("main.spark", &["compose"]))
//!     .expect("compose is a built-in target");
//! let d = &out.diagnostics[0];
//! assert_eq!(d.code.as_str(), "E0101");
//! let text = &out.sources.get(d.primary.file).text;
//! assert_eq!(&text[d.primary.span.range()], "wbe");
//! assert!(out.artifacts.is_empty(), "no artifacts when there are errors");
//! ```
//!
//! A language server keeps one [`Driver`] and compiles an [`Overlay`] of its open buffers
//! over the project: the driver's parse cache re-parses only what changed.

// The driver reports through its return values: nothing here prints.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

pub mod manifest;
mod templates;
pub mod world;

pub use manifest::{MANIFEST, Manifest};
pub use world::{MemWorld, Overlay, World};

use sparkc_core::Reference;
use sparkc_core::check::Symbols;
use sparkc_core::check::load::ParseCache;
use sparkc_core::diag::Diagnostic;
use sparkc_core::model::Model;
use sparkc_core::source::{FileId, SourceFile, SourceSet};
use sparkc_core::target::{Artifact, EmitContext, TargetOptions};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What to compile.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The entry source file, project-relative.
    pub entry: String,
    /// The targets to run, by name.
    pub targets: Vec<String>,
    /// `[targets.NAME]` options, by target name.
    pub options: BTreeMap<String, TargetOptions>,
    /// spark.toml, when the project has one: it is checked against the targets' options
    /// (with an error there no target runs), and its diagnostics point into it.
    pub manifest: Option<Manifest>,
    /// Whether the artifacts' contents are wanted (a build) or only diagnostics and paths
    /// (a check, which skips serialising).
    pub contents: bool,
    /// Template targets spark.toml defines: name → template directory (project-relative).
    pub templates: BTreeMap<String, String>,
}

impl Config {
    pub fn new(entry: &str, targets: &[&str]) -> Config {
        Config {
            entry: entry.to_string(),
            targets: targets
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            options: BTreeMap::new(),
            manifest: None,
            contents: true,
            templates: BTreeMap::new(),
        }
    }

    /// Everything spark.toml says: the entry, the targets and their options.
    pub fn from_manifest(manifest: Manifest) -> Config {
        let targets = manifest.build_targets();
        let options = targets
            .iter()
            .map(|t| (t.clone(), manifest.target_options(t)))
            .collect();
        let templates = manifest
            .template_dirs()
            .into_iter()
            .map(|(name, (dir, _))| (name, dir))
            .collect();
        Config {
            entry: manifest.project.entry.clone(),
            targets,
            options,
            manifest: Some(manifest),
            contents: true,
            templates,
        }
    }

    /// Diagnostics and artifact paths only (`sparkc check`, the language server).
    pub fn check_only(mut self) -> Config {
        self.contents = false;
        self
    }
}

/// What one compilation produced.
pub struct Compilation {
    pub sources: SourceSet,
    pub model: Model,
    /// Sorted by path; empty when there are errors.
    pub artifacts: Vec<Artifact>,
    /// Every diagnostic: spark.toml's, the checker's, the targets'.
    pub diagnostics: Vec<Diagnostic>,
    /// Every declaration, constant and template, with where it is declared.
    pub symbols: Symbols,
    /// Every use of a symbol's name.
    pub references: Vec<Reference>,
    /// Wall time per stage: the checker's, then `emit <target>` for each target.
    pub timings: Vec<(String, Duration)>,
}

impl Compilation {
    /// How many of the diagnostics are errors.
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// The model as other tools read it (`sparkc model`).
    pub fn model_document(&self) -> ModelDocument<'_> {
        ModelDocument {
            format: MODEL_FORMAT,
            version: sparkc_core::model::MODEL_VERSION,
            files: self.sources.files.iter().map(|f| f.name.as_str()).collect(),
            model: &self.model,
        }
    }
}

/// The `format` field of a serialised model.
pub const MODEL_FORMAT: &str = "sparkc-model";

/// The checked model, serialised: the contract for user template targets and other tools.
/// Ids (`"host": 0`) are indices into the model's lists; a location is
/// `{"file": F, "span": {"start": S, "end": E}}`, `F` an index into `files` and `S..E` byte
/// offsets into that file. Durations are in milliseconds, sizes in bytes. Every field is
/// documented on its type in `sparkc_core::model`.
#[derive(serde::Serialize)]
pub struct ModelDocument<'a> {
    /// Always `sparkc-model`.
    pub format: &'static str,
    /// [`sparkc_core::model::MODEL_VERSION`].
    pub version: u32,
    /// Every source file, by `FileId`: project-relative paths, and `<std/...>` for the
    /// standard library's.
    pub files: Vec<&'a str>,
    /// The model's lists, at the top level of the document.
    #[serde(flatten)]
    pub model: &'a Model,
}

/// A compile driver: keeps what it parsed, so that compiling again after one file changed
/// parses only that file.
#[derive(Default)]
pub struct Driver {
    cache: ParseCache,
}

impl Driver {
    pub fn new() -> Driver {
        Driver::default()
    }

    /// Check the sources, then, without errors, run every target. `Err` only for a target
    /// that does not exist when there is no spark.toml to point at.
    pub fn compile(&self, world: &dyn World, config: &Config) -> Result<Compilation, String> {
        let provider = world::WithStdlib(world);
        let manifest_diags = match &config.manifest {
            Some(m) if m.text.is_some() => m.diagnostics(FileId(u32::MAX)),
            _ => Vec::new(),
        };
        let manifest_ok = !manifest_diags.iter().any(Diagnostic::is_error);
        let targets: Vec<Box<dyn sparkc_core::target::Target>> = if manifest_ok {
            let mut chosen = Vec::new();
            for name in &config.targets {
                match sparkc_targets::by_name(name) {
                    Some(t) => chosen.push(t),
                    // A template target: rendered after the others (below).
                    None if config.templates.contains_key(name)
                        || sparkc_targets::template::shipped()
                            .iter()
                            .any(|t| t.name == name) => {}
                    // spark.toml's diagnostics name it; without a manifest it is the caller's.
                    None if config.manifest.is_some() => {}
                    None => {
                        let known: Vec<&str> =
                            sparkc_targets::builtin().iter().map(|t| t.name()).collect();
                        return Err(format!(
                            "unknown target `{name}`; known: {}",
                            known.join(", ")
                        ));
                    }
                }
            }
            chosen
        } else {
            Vec::new()
        };
        let mut checked = sparkc_core::check_cached(&provider, &config.entry, Some(&self.cache));
        self.cache.sweep();
        let mut diagnostics = std::mem::take(&mut checked.diagnostics);
        let mut timings = std::mem::take(&mut checked.timings);
        let mut artifacts: Vec<Artifact> = Vec::new();
        let mut sources = std::mem::take(&mut checked.sources);
        let mut manifest_diags = manifest_diags;
        if !diagnostics.iter().any(Diagnostic::is_error) {
            let (a, d, t) = emit(&checked.model, config, targets, config.contents, None);
            artifacts = a;
            diagnostics.extend(d);
            timings.extend(t);
            if manifest_ok {
                let start = Instant::now();
                let (a, d, m) = templates::run(world, config, &checked.model, &mut sources);
                if !a.is_empty() || !d.is_empty() || !m.is_empty() {
                    timings.push(("emit templates".to_string(), start.elapsed()));
                }
                artifacts.extend(a);
                diagnostics.extend(d);
                manifest_diags.extend(m);
            }
            let stdlib: Vec<bool> = sources.files.iter().map(|f| f.is_stdlib).collect();
            let generated = checked.defaults.as_ref().map(|(f, _)| *f);
            sparkc_core::diag::relocate_into_user_files(&mut diagnostics, |f| {
                stdlib.get(f.0 as usize).copied().unwrap_or(false) && Some(f) != generated
            });
            checked.relocate_defaults(&mut diagnostics);
            artifacts.sort_by(|a, b| a.path.cmp(&b.path));
            if let Some(w) = artifacts.windows(2).find(|w| w[0].path == w[1].path) {
                return Err(format!(
                    "two targets write `{}`; give one of them another `path` option",
                    w[0].path
                ));
            }
        }
        if let Some(text) = config.manifest.as_ref().and_then(|m| m.text.clone()) {
            let id = sources.add(SourceFile {
                name: MANIFEST.to_string(),
                text,
                is_stdlib: false,
                opaque: false,
            });
            for mut d in manifest_diags {
                for l in std::iter::once(&mut d.primary).chain(d.secondary.iter_mut()) {
                    l.file = id;
                }
                diagnostics.push(d);
            }
        }
        if let Some(m) = &config.manifest {
            apply_lints(&m.lint_levels(), &mut diagnostics);
        }
        if diagnostics.iter().any(Diagnostic::is_error) {
            artifacts.clear();
        }
        Ok(Compilation {
            sources,
            model: checked.model,
            artifacts,
            diagnostics,
            symbols: checked.symbols,
            references: checked.references,
            timings,
        })
    }
}

/// `[lints]`: a warning made an error, or dropped.
fn apply_lints(levels: &[(sparkc_core::diag::Code, manifest::Level)], diags: &mut Vec<Diagnostic>) {
    if levels.is_empty() {
        return;
    }
    let level = |d: &Diagnostic| levels.iter().find(|(c, _)| *c == d.code).map(|(_, l)| *l);
    diags.retain(|d| level(d) != Some(manifest::Level::Allow));
    for d in diags.iter_mut() {
        if level(d) == Some(manifest::Level::Error) {
            d.severity = sparkc_core::diag::Severity::Error;
        }
    }
}

/// Runs `targets` on a checked model: the artifacts (with their contents when `contents`),
/// the targets' diagnostics and each target's time.
type Emitted = (Vec<Artifact>, Vec<Diagnostic>, Vec<(String, Duration)>);

fn emit(
    model: &Model,
    config: &Config,
    mut targets: Vec<Box<dyn sparkc_core::target::Target>>,
    contents: bool,
    only_hosts: Option<&[sparkc_core::model::HostId]>,
) -> Emitted {
    let (mut artifacts, mut diagnostics, mut timings) = (Vec::new(), Vec::new(), Vec::new());
    // Targets that read the others' files run after them, by stage, in the order given.
    targets.sort_by_key(|t| t.stage());
    let none = TargetOptions::new();
    for target in targets {
        let start = Instant::now();
        let opts = config.options.get(target.name()).unwrap_or(&none);
        let (a, d) = target.emit(
            model,
            &EmitContext {
                source: &config.entry,
                options: opts,
                text: contents,
                generated: if target.reads_generated() {
                    &artifacts
                } else {
                    &[]
                },
                only_hosts,
            },
        );
        timings.push((format!("emit {}", target.name()), start.elapsed()));
        artifacts.extend(a);
        diagnostics.extend(d);
    }
    (artifacts, diagnostics, timings)
}

impl Compilation {
    /// The artifacts, with their contents, of `config`'s built-in targets, made from this
    /// compilation's model without checking again (a language server's preview after a
    /// check that skipped the contents); with `only_hosts`, a target may leave out the
    /// other hosts' files. Empty when it has errors.
    pub fn artifacts_of(
        &self,
        config: &Config,
        only_hosts: Option<&[sparkc_core::model::HostId]>,
    ) -> Vec<Artifact> {
        if self.errors() > 0 {
            return Vec::new();
        }
        let targets = config
            .targets
            .iter()
            .filter_map(|t| sparkc_targets::by_name(t))
            .collect();
        let (mut artifacts, _, _) = emit(&self.model, config, targets, true, only_hosts);
        artifacts.sort_by(|a, b| a.path.cmp(&b.path));
        artifacts
    }
}

impl Driver {
    /// How many source texts this driver has parsed, ever (the rest came from its cache).
    pub fn parses(&self) -> usize {
        self.cache.parses()
    }
}

/// Compile once, with a fresh [`Driver`].
pub fn compile(world: &dyn World, config: &Config) -> Result<Compilation, String> {
    Driver::new().compile(world, config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_shadows_its_world() {
        let base = MemWorld::new([
            (
                "main.spark".to_string(),
                "import \"hosts.spark\"\n".to_string(),
            ),
            (
                "hosts.spark".to_string(),
                "host web { runtime = compose }\n".to_string(),
            ),
        ]);
        let mut overlay = Overlay::new(&base);
        overlay.set("hosts.spark", "host web { runtime = compose\n");
        let driver = Driver::new();
        let broken = driver
            .compile(&overlay, &Config::new("main.spark", &["compose"]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(broken.errors() > 0);
        overlay.remove("hosts.spark");
        let fixed = driver
            .compile(&overlay, &Config::new("main.spark", &["compose"]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fixed.errors(), 0);
    }

    #[test]
    fn a_recheck_parses_only_the_changed_file() {
        let mut world = MemWorld::new([
            (
                "main.spark".to_string(),
                "import std.apps.{redis}\nimport \"a.spark\"\nimport \"b.spark\"\n".to_string(),
            ),
            (
                "a.spark".to_string(),
                "host web { runtime = compose }\n".to_string(),
            ),
            (
                "b.spark".to_string(),
                "service cache on web = redis()\n".to_string(),
            ),
        ]);
        let driver = Driver::new();
        let config = Config::new("main.spark", &["compose"]);
        let first = driver
            .compile(&world, &config)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.errors(), 0);
        let parsed = driver.parses();
        assert_eq!(parsed, 4, "three files and one stdlib module");
        let again = driver
            .compile(&world, &config)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(driver.parses(), parsed, "nothing changed, nothing parsed");
        assert_eq!(again.artifacts, first.artifacts);
        world.files.insert(
            "b.spark".to_string(),
            "service cache on web = redis(maxmemory = 64MiB)\n".to_string(),
        );
        let changed = driver
            .compile(&world, &config)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(driver.parses(), parsed + 1, "only b.spark is parsed again");
        assert_ne!(changed.artifacts, first.artifacts);
    }

    #[test]
    fn a_name_declared_by_a_broken_declaration_is_known_in_other_files() {
        let world = MemWorld::new([
            (
                "main.spark".to_string(),
                "import \"hosts.spark\"\nservice app on web { image = \"nginx:1.27\" }\n"
                    .to_string(),
            ),
            (
                "hosts.spark".to_string(),
                "host ok { runtime = compose }\nhost web {\n  runtime = compose\n".to_string(),
            ),
        ]);
        let out = compile(&world, &Config::new("main.spark", &["compose"]))
            .unwrap_or_else(|e| panic!("{e}"));
        let codes: Vec<&str> = out.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(
            codes,
            ["E0001"],
            "only the syntax error, no `cannot find host web`"
        );
        assert_eq!(
            out.sources.get(out.diagnostics[0].primary.file).name,
            "hosts.spark"
        );
    }

    #[test]
    fn symbols_and_their_references() {
        let world = MemWorld::single(
            "host web { runtime = compose }\nservice db on web { image = \"mysql:8.4\", port { mysql = 3306 } }\nservice app on web { image = \"nginx:1\", env { DB = db } }\n",
        );
        let out = compile(&world, &Config::new("main.spark", &["compose"]))
            .unwrap_or_else(|e| panic!("{e}"));
        let text = &out.sources.get(FileId(0)).text;
        let uses: Vec<(&str, &str)> = out
            .references
            .iter()
            .map(|r| {
                (
                    &text[r.span.range()],
                    out.symbols.list[r.symbol].name.as_str(),
                )
            })
            .collect();
        assert_eq!(uses, [("web", "web"), ("web", "web"), ("db", "db")]);
    }

    /// Domains are declarations like any other: one namespace of their own (a one-label
    /// domain does not clash with a host), and a monitor's `target = "a.example.org"` is a
    /// use of the domain, for go-to-definition and rename.
    #[test]
    fn a_monitor_target_refers_to_its_domain() {
        let world = MemWorld::single(
            "host web { runtime = compose, proxy = caddy }\nservice app on web { image = \"nginx:1\", port { http = 80 } }\ndomain app.example.org -> app.port.http\nmonitor up { target = \"app.example.org\" }\n",
        );
        let out =
            compile(&world, &Config::new("main.spark", &[])).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.errors(), 0, "{:?}", out.diagnostics);
        let text = &out.sources.get(FileId(0)).text;
        let domain_uses: Vec<&str> = out
            .references
            .iter()
            .filter(|r| out.symbols.list[r.symbol].name == "app.example.org")
            .map(|r| &text[r.span.range()])
            .collect();
        assert_eq!(domain_uses, ["\"app.example.org\""]);
    }

    /// `[lints]` in spark.toml: a warning made an error stops the build (nothing is
    /// written), one allowed is not reported, and a level or code that does not exist is
    /// E0501 pointing into spark.toml.
    #[test]
    fn lints_set_the_level_of_a_warning() {
        let source = "import std.apps.{prometheus}\nhost web { runtime = compose }\nhost nas {}\nservice prometheus on web = prometheus()\n";
        let world = MemWorld::single(source);
        let build = |lints: &str| {
            let mut config = Config::new("main.spark", &["compose"]);
            let manifest = Manifest::parse(&format!("[project]\nbuild = [\"compose\"]\n{lints}"))
                .unwrap_or_else(|e| panic!("{e}"));
            config.manifest = Some(manifest);
            compile(&world, &config).unwrap_or_else(|e| panic!("{e}"))
        };
        let codes = |c: &Compilation| -> Vec<(String, bool)> {
            c.diagnostics
                .iter()
                .map(|d| (d.code.as_str().to_string(), d.is_error()))
                .collect()
        };
        let plain = build("");
        assert_eq!(codes(&plain), [("W0315".to_string(), false)]);
        assert!(!plain.artifacts.is_empty());
        let strict = build("[lints]\nW0315 = \"error\"\n");
        assert_eq!(codes(&strict), [("W0315".to_string(), true)]);
        assert!(strict.artifacts.is_empty(), "an error writes nothing");
        let quiet = build("[lints]\nw0315 = \"allow\"\n");
        assert_eq!(codes(&quiet), []);
        let wrong = build("[lints]\nE0101 = \"allow\"\nW0999 = \"error\"\nW0315 = \"loud\"\n");
        let mut e0501: Vec<&str> = wrong
            .diagnostics
            .iter()
            .filter(|d| d.code.as_str() == "E0501")
            .map(|d| d.message.as_str())
            .collect();
        e0501.sort_unstable();
        assert_eq!(
            e0501,
            [
                "`E0101` is an error, whose level is fixed",
                "`loud` is not a level",
                "there is no warning `W0999`"
            ]
        );
    }
}
