//! The build stamp: what a clean build read (this sparkc, the manifest configuration, every
//! source file), by hash, recorded in the output directory's manifest. While all of it and
//! every recorded output are unchanged on disk, `sparkc build --check` answers "up to date"
//! without compiling; any difference, or any doubt, falls back to the full comparison.

use crate::project::Project;
use crate::write::manifest::{Inputs, hash as content_hash};
use sparkc_core::source::SourceSet;

/// This sparkc: its version and the stdlib compiled into it.
fn toolchain() -> u64 {
    let mut text = String::from(env!("CARGO_PKG_VERSION"));
    for m in sparkc_stdlib::modules() {
        text.push('\0');
        text.push_str(m);
        text.push('\0');
        text.push_str(sparkc_stdlib::module(m).unwrap_or_default());
    }
    content_hash(text.as_bytes())
}

fn config(project: &Project) -> u64 {
    content_hash(format!("{}\0{:?}", project.entry, project.manifest).as_bytes())
}

/// What a build of `project` that read `sources` depended on.
pub fn inputs(project: &Project, sources: &SourceSet) -> Inputs {
    use rayon::prelude::*;
    // Hashing is byte by byte (~10 MB at 10,000 services): one file per task, on every core.
    let sources = sources
        .files
        .par_iter()
        .filter(|f| !f.is_stdlib)
        .map(|f| (content_hash(f.text.as_bytes()), f.name.clone()))
        .collect();
    Inputs {
        toolchain: toolchain(),
        config: config(project),
        sources,
    }
}

/// Whether `recorded` still describes `project` on disk: the same sparkc, configuration and
/// source files.
pub fn unchanged(project: &Project, recorded: &Inputs) -> bool {
    use rayon::prelude::*;
    recorded.toolchain == toolchain()
        && recorded.config == config(project)
        && recorded.sources.par_iter().all(|(hash, name)| {
            std::fs::read(project.root.join(name)).is_ok_and(|b| content_hash(&b) == *hash)
        })
}
