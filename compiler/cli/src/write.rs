//! Writing artifacts: only inside the output directory, atomically (temporary file and
//! rename in the same directory), never over a file that sparkc did not generate.

use sparkc_core::target::{Artifact, GENERATED_MARKER};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

#[derive(Debug, Default)]
pub struct Plan {
    /// Files whose content would change (new or different).
    pub changed: Vec<String>,
    /// Generated files no longer produced (stale), which a build removes.
    pub stale: Vec<String>,
    /// Existing files without sparkc's header that a build would overwrite: refused.
    pub foreign: Vec<String>,
}

/// Whether a file on disk was written by sparkc (its first lines carry the marker).
pub fn is_generated(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let head = &bytes[..bytes.len().min(512)];
    String::from_utf8_lossy(head)
        .lines()
        .take(2)
        .any(|l| l.contains(GENERATED_MARKER))
}

/// Confine an artifact path to the output directory.
pub fn confined(out: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty() || rel.contains('\0') || p.is_absolute() {
        return None;
    }
    if p.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    Some(out.join(p))
}

/// Every entry below `dir` that is not a directory (regular files, symlinks, ...), relative
/// to `base` and `/`-separated, each with whether it is a regular file.
fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, bool)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            walk(&p, base, out);
        } else if let Ok(rel) = p.strip_prefix(base) {
            out.push((rel.to_string_lossy().replace('\\', "/"), meta.is_file()));
        }
    }
}

pub fn plan(out: &Path, artifacts: &[Artifact]) -> Result<Plan, String> {
    let mut plan = Plan::default();
    // One directory walk instead of a lookup per artifact: on some file systems a lookup of
    // a missing file costs as much as creating one.
    let mut found = Vec::new();
    walk(out, out, &mut found);
    let present: std::collections::HashSet<&str> = found.iter().map(|(f, _)| f.as_str()).collect();
    for a in artifacts {
        let path = confined(out, &a.path).ok_or_else(|| {
            format!(
                "refusing to write outside the output directory: `{}`",
                a.path
            )
        })?;
        if !present.contains(a.path.as_str()) {
            plan.changed.push(a.path.clone());
            continue;
        }
        match std::fs::read(&path) {
            Ok(existing) if existing == a.contents.as_bytes() => {}
            Ok(_) if !is_generated(&path) => plan.foreign.push(a.path.clone()),
            Ok(_) => plan.changed.push(a.path.clone()),
            // A symlink to nowhere, a special file: not sparkc's to replace.
            Err(_) => plan.foreign.push(a.path.clone()),
        }
    }
    let produced: std::collections::HashSet<&str> =
        artifacts.iter().map(|a| a.path.as_str()).collect();
    for (f, regular) in &found {
        if *regular
            && !produced.contains(f.as_str())
            && (is_generated(&out.join(f)) || is_leftover_temp(f))
        {
            plan.stale.push(f.clone());
        }
    }
    Ok(plan)
}

/// A temporary file of an interrupted build (`.NAME.sparkc-tmp-PID`), removed by the next one.
fn is_leftover_temp(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    name.starts_with('.') && name.contains(TMP_INFIX)
}

const TMP_INFIX: &str = ".sparkc-tmp-";

/// Every file below `out`, relative and `/`-separated, sorted.
pub fn files_under(out: &Path) -> Vec<String> {
    let mut v = Vec::new();
    walk(out, out, &mut v);
    v.into_iter().map(|(f, _)| f).collect()
}

/// A file sparkc is responsible for: generated (it has the header) or a leftover temporary.
pub fn is_sparkc_file(out: &Path, rel: &str) -> bool {
    is_leftover_temp(rel) || is_generated(&out.join(rel))
}

/// Write one file atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
    replace_atomic(path, contents)
}

/// [`write_atomic`] into a directory that exists.
fn replace_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = write_temp(&tmp, contents, true).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The temporary file next to `path` that becomes `path` by a rename.
fn temp_path(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{name}{TMP_INFIX}{}", std::process::id()))
}

/// Write a temporary file, flushed to the disk on its own when `sync` (otherwise the caller
/// flushes the whole file system once before renaming).
fn write_temp(tmp: &Path, contents: &[u8], sync: bool) -> std::io::Result<()> {
    let mut f = std::fs::File::create(tmp)?;
    f.write_all(contents)?;
    if sync { f.sync_all() } else { Ok(()) }
}

/// Flush every file written so far on the file system holding `dir`, in one call (Linux
/// `syncfs`). Elsewhere each temporary file is flushed on its own as it is written.
#[cfg(target_os = "linux")]
fn sync_file_system(dir: &Path) -> std::io::Result<()> {
    let d = std::fs::File::open(dir)?;
    Ok(rustix::fs::syncfs(&d)?)
}

#[cfg(not(target_os = "linux"))]
fn sync_file_system(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Apply a plan: write changed files, remove stale generated ones. `force` also overwrites
/// files without sparkc's header.
pub fn apply(out: &Path, artifacts: &[Artifact], plan: &Plan, force: bool) -> Result<(), String> {
    if !plan.foreign.is_empty() && !force {
        return Err(format!(
            "refusing to overwrite files that sparkc did not generate (no `{GENERATED_MARKER}` header): {}\n  move them away, or pass --force",
            plan.foreign.join(", ")
        ));
    }
    let changed: std::collections::HashSet<&str> =
        plan.changed.iter().map(String::as_str).collect();
    let foreign: std::collections::HashSet<&str> =
        plan.foreign.iter().map(String::as_str).collect();
    let mut writes = Vec::new();
    for a in artifacts.iter().filter(|a| {
        changed.contains(a.path.as_str()) || (force && foreign.contains(a.path.as_str()))
    }) {
        let path =
            confined(out, &a.path).ok_or_else(|| format!("refusing to write `{}`", a.path))?;
        writes.push((path, a));
    }
    // Each directory is created once, before the files (not once per file).
    let dirs: std::collections::BTreeSet<&Path> =
        writes.iter().filter_map(|(p, _)| p.parent()).collect();
    for d in dirs {
        std::fs::create_dir_all(d).map_err(|e| format!("cannot create {}: {e}", d.display()))?;
    }
    // Three phases, so that the disk is flushed once rather than once per file: every new
    // content goes to a temporary file next to its target; one `syncfs` makes them durable;
    // then each is renamed over its target. A build killed at any point leaves every target
    // old or new (renames are atomic), and the next build removes leftover temporaries.
    // Files are independent and dominated by metadata latency, so each phase runs on
    // several threads.
    use rayon::prelude::*;
    let batched = cfg!(target_os = "linux");
    let temps: Vec<PathBuf> = writes.iter().map(|(p, _)| temp_path(p)).collect();
    let cleanup = |e: String| {
        for t in &temps {
            let _ = std::fs::remove_file(t);
        }
        e
    };
    writes
        .par_iter()
        .zip(&temps)
        .try_for_each(|((path, a), tmp)| {
            write_temp(tmp, a.contents.as_bytes(), !batched)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        })
        .map_err(cleanup)?;
    if batched && !writes.is_empty() {
        sync_file_system(out)
            .map_err(|e| format!("cannot flush {}: {e}", out.display()))
            .map_err(cleanup)?;
    }
    writes
        .par_iter()
        .zip(&temps)
        .try_for_each(|((path, _), tmp)| {
            std::fs::rename(tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
        })
        .map_err(cleanup)?;
    for s in &plan.stale {
        if let Some(p) = confined(out, s) {
            std::fs::remove_file(&p)
                .map_err(|e| format!("cannot remove stale {}: {e}", p.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn paths_are_confined() {
        let out = Path::new("/tmp/out");
        assert!(confined(out, "compose/web/docker-compose.yml").is_some());
        for bad in ["../x", "/etc/passwd", "a/../../x", "", "a\0b"] {
            assert!(confined(out, bad).is_none(), "{bad}");
        }
    }
}
