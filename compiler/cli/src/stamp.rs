//! The build stamp: `.sparkc-stamp` in the out dir records what a clean build read (sparkc
//! itself, the manifest, every source file) and wrote (every artifact), each by hash. When all
//! of it is unchanged on disk, `sparkc build --check` answers "up to date" without compiling;
//! any difference, or any doubt, falls back to the full comparison.

use crate::project::Project;
use sparkc_core::source::SourceSet;
use sparkc_core::target::Artifact;
use std::path::Path;

pub const STAMP: &str = ".sparkc-stamp";
const FORMAT: &str = "sparkc-stamp 1";

/// FNV-1a, 64 bits: a change detector (not a defence against a deliberate collision).
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// This sparkc: its version and the stdlib compiled into it.
fn toolchain() -> u64 {
    let mut text = String::from(env!("CARGO_PKG_VERSION"));
    for m in sparkc_stdlib::modules() {
        text.push('\0');
        text.push_str(m);
        text.push('\0');
        text.push_str(sparkc_stdlib::module(m).unwrap_or_default());
    }
    fnv(text.as_bytes())
}

fn manifest(project: &Project) -> u64 {
    fnv(format!("{}\0{:?}", project.entry, project.manifest).as_bytes())
}

/// The stamp for a build that read `sources` and wrote `artifacts`.
pub fn render(project: &Project, sources: &SourceSet, artifacts: &[Artifact]) -> String {
    use rayon::prelude::*;
    let mut s = format!("{FORMAT} {:016x} {:016x}\n", toolchain(), manifest(project));
    // Hashing is byte by byte (~10 MB at 10,000 services): one file per task, on every core.
    let files: Vec<(&str, &str, &str)> = sources
        .files
        .iter()
        .filter(|f| !f.is_stdlib)
        .map(|f| ("source", f.name.as_str(), f.text.as_str()))
        .chain(
            artifacts
                .iter()
                .map(|a| ("output", a.path.as_str(), a.contents.as_str())),
        )
        .collect();
    let hashes: Vec<u64> = files
        .par_iter()
        .map(|(_, _, t)| fnv(t.as_bytes()))
        .collect();
    for ((kind, name, _), h) in files.iter().zip(hashes) {
        s.push_str(&format!("{kind} {h:016x} {name}\n"));
    }
    s
}

/// Whether the stamp in `out` still describes the project and the files on disk: the same
/// sparkc, manifest and sources, every output byte-identical, and no other generated file.
pub fn up_to_date(project: &Project, out: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(out.join(STAMP)) else {
        return false;
    };
    let mut lines = text.lines();
    if lines.next()
        != Some(&format!("{FORMAT} {:016x} {:016x}", toolchain(), manifest(project))[..])
    {
        return false;
    }
    let mut outputs = std::collections::HashSet::new();
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        let (Some(kind), Some(hash), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return false;
        };
        let file = match kind {
            "source" => project.root.join(path),
            "output" => match crate::write::confined(out, path) {
                Some(p) => {
                    outputs.insert(path.to_string());
                    p
                }
                None => return false,
            },
            _ => return false,
        };
        match std::fs::read(&file) {
            Ok(bytes) if format!("{:016x}", fnv(&bytes)) == hash => {}
            _ => return false,
        }
    }
    // Nothing generated (or left half-written) beside the recorded outputs.
    crate::write::files_under(out)
        .iter()
        .all(|f| f == STAMP || outputs.contains(f) || !crate::write::is_sparkc_file(out, f))
}

/// Record a build. Only a build without any diagnostic is stamped, so that a fast check
/// never hides a warning; otherwise an old stamp is removed.
pub fn record(out: &Path, stamp: Option<String>) -> Result<(), String> {
    let path = out.join(STAMP);
    match stamp {
        Some(text) => crate::write::write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display())),
        None => match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove {}: {e}", path.display())),
        },
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn fnv_known_values() {
        assert_eq!(super::fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(super::fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
