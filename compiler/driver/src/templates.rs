//! Template targets in the pipeline: their templates read through the world (a user's, from
//! the directory spark.toml names) or shipped with sparkc, added to the sources so that their
//! errors point into them, and rendered against the model document (`sparkc model`).

use crate::{Config, ModelDocument, World};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::model::Model;
use sparkc_core::source::{FileId, SourceFile, SourceSet, Span};
use sparkc_core::target::Artifact;
use sparkc_targets::template::{self, TemplateFile};

/// The artifacts and diagnostics of every template target `config` builds, and the
/// diagnostics about spark.toml (a template directory that cannot be read: their file is
/// spark.toml's placeholder id, which the driver moves into it).
pub fn run(
    world: &dyn World,
    config: &Config,
    model: &Model,
    sources: &mut SourceSet,
) -> (Vec<Artifact>, Vec<Diagnostic>, Vec<Diagnostic>) {
    let (mut artifacts, mut diags, mut manifest_diags) = (Vec::new(), Vec::new(), Vec::new());
    let wanted: Vec<&String> = config
        .targets
        .iter()
        .filter(|t| sparkc_targets::by_name(t).is_none())
        .collect();
    if wanted.is_empty() {
        return (artifacts, diags, manifest_diags);
    }
    // The model document every template target reads (the files as they are before any
    // template is added: model locations point into those).
    let context = serde_json::to_value(ModelDocument {
        format: crate::MODEL_FORMAT,
        version: sparkc_core::model::MODEL_VERSION,
        files: sources.files.iter().map(|f| f.name.as_str()).collect(),
        model,
    })
    .unwrap_or_default();
    let spans = config
        .manifest
        .as_ref()
        .map(crate::Manifest::template_dirs)
        .unwrap_or_default();
    for name in wanted {
        let files = if let Some(dir) = config.templates.get(name) {
            match read_dir(world, dir, sources) {
                Ok(files) if !files.is_empty() => files,
                found => {
                    let why = match found {
                        Ok(_) => "holds no templates".to_string(),
                        Err(e) => e,
                    };
                    let (file, span) = match (spans.get(name), &config.manifest) {
                        (Some((_, r)), Some(m)) if m.text.is_some() => {
                            (FileId(u32::MAX), Span::new(r.start, r.end))
                        }
                        _ => (FileId(0), Span::new(0, 0)),
                    };
                    let d = Diagnostic::error(
                        Code::ManifestSetting,
                        format!("the templates of `{name}`: `{dir}` {why}"),
                        file,
                        span,
                    )
                    .label("the template directory")
                    .help(
                        "a directory inside the project, with one template per file it generates",
                    );
                    if file == FileId(u32::MAX) {
                        manifest_diags.push(d);
                    } else {
                        diags.push(d);
                    }
                    continue;
                }
            }
        } else if let Some(s) = template::shipped().iter().find(|s| s.name == name.as_str()) {
            s.files
                .iter()
                .map(|(path, text)| {
                    let file = sources.add(SourceFile {
                        name: format!("<targets/{}/{path}>", s.name),
                        text: (*text).to_string(),
                        is_stdlib: true,
                        opaque: false,
                    });
                    TemplateFile {
                        path: (*path).to_string(),
                        text: (*text).to_string(),
                        file,
                    }
                })
                .collect()
        } else {
            continue;
        };
        let (a, d) = template::render(name, &files, &context);
        artifacts.extend(a);
        diags.extend(d);
    }
    (artifacts, diags, manifest_diags)
}

/// The templates under `dir`, each added to the sources.
fn read_dir(
    world: &dyn World,
    dir: &str,
    sources: &mut SourceSet,
) -> Result<Vec<TemplateFile>, String> {
    let paths = world.list(dir).map_err(|e| describe(&e))?;
    let prefix = format!("{}/", dir.trim_end_matches('/'));
    let mut files = Vec::new();
    for path in paths {
        let text = world
            .read(&path)
            .map_err(|e| format!("has `{path}`, which {}", describe(&e)))?;
        let file = sources.add(SourceFile {
            name: path.clone(),
            text: text.clone(),
            is_stdlib: false,
            opaque: false,
        });
        files.push(TemplateFile {
            path: path.strip_prefix(&prefix).unwrap_or(&path).to_string(),
            text,
            file,
        });
    }
    Ok(files)
}

fn describe(e: &sparkc_core::source::LoadError) -> String {
    use sparkc_core::source::LoadError;
    match e {
        LoadError::NotFound => "does not exist".to_string(),
        LoadError::OutsideProject => "is outside the project".to_string(),
        LoadError::NotSource => "is not readable as text".to_string(),
        LoadError::NotUtf8 => "is not UTF-8 text".to_string(),
        LoadError::TooLarge(n) => format!("is too large ({n} bytes)"),
        LoadError::Other(m) => format!("cannot be read ({m})"),
    }
}
