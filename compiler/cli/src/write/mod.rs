//! Writing artifacts into the output directory. The contract (docs/ARCHITECTURE.md):
//!
//! - sparkc writes only below the output directory and never through a symbolic link: every
//!   path is opened one component at a time without following links ([`fsops`]);
//! - it overwrites or removes a file only when [`manifest`] records that sparkc wrote it and
//!   the content on disk still matches the record. A file at a generated path that sparkc
//!   did not write, or that was edited since, is refused (exit 2) unless `--force`; a file
//!   no longer generated is removed only if it is unchanged, and left alone otherwise;
//! - it reads only files the manifest lists and files at generated paths whose size is the
//!   size it would write or wrote there: never a file it has no business with;
//! - it refuses `/`, the project directory and any directory above it as output directory;
//! - every file is replaced by a rename from a private temporary directory, so a build
//!   killed at any point leaves each file old or new; the next build removes the temporary
//!   directory, which the manifest names while a build runs;
//! - one build at a time: an exclusive lock on `.sparkc-lock` (a `build --check` takes a
//!   shared one); a second build says so and stops;
//! - a build with nothing to change writes nothing at all, and a failed build removes the
//!   directories it created.

pub mod fsops;
pub mod manifest;

use fsops::{Blocked, Dir, Entry, walk};
use manifest::{Inputs, Manifest, Version};
use sparkc_core::target::Artifact;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

pub const LOCK: &str = ".sparkc-lock";
const TMP_PREFIX: &str = ".sparkc-tmp-";
/// Largest file sparkc reads back when it does not know the size it wrote (legacy stamps).
const UNKNOWN_SIZE_LIMIT: u64 = 256 << 20;
/// Largest manifest sparkc reads.
const MANIFEST_LIMIT: u64 = 256 << 20;

/// Confine an artifact path to the output directory (`sparkc_core::target::is_out_path`).
pub fn confined(rel: &str) -> bool {
    sparkc_core::target::is_out_path(rel)
}

/// `rel` split into its directory (`""` at the top) and file name.
fn split(rel: &str) -> (&str, &str) {
    rel.rsplit_once('/').unwrap_or(("", rel))
}

/// The output directory of one build or check, locked for its lifetime.
pub struct OutDir {
    path: PathBuf,
    /// `None`: it does not exist (a check before the first build).
    root: Option<Dir>,
    _lock: Option<OwnedFd>,
    /// Directories this run created to make the output directory, outermost first.
    created_root: Vec<PathBuf>,
    old: Manifest,
    /// The manifest's text as read; `None` when there was none.
    old_text: Option<String>,
    /// Read from an older sparkc's stamp, which a build then replaces by the manifest.
    legacy: bool,
    /// Things worth telling the user that are not errors.
    pub notes: Vec<String>,
}

/// Where each artifact stands against what is on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    /// On disk with exactly this content.
    Same,
    New,
    /// sparkc's own file, with other content now.
    Changed,
    /// sparkc wrote it, and it was edited since.
    Edited,
    /// A file sparkc did not write.
    Foreign,
    Blocked(String),
}

#[derive(Debug, Default)]
pub struct Plan {
    /// Indices of the artifacts to write (new or changed; edited and foreign ones are added
    /// by `--force`).
    pub writes: Vec<usize>,
    pub edited: Vec<String>,
    pub foreign: Vec<String>,
    /// Paths sparkc will not write whatever the flags: a link, a directory, a special file.
    pub blocked: Vec<String>,
    /// sparkc's files it no longer generates, unchanged: removed by the build.
    pub stale: Vec<String>,
    /// Files an earlier build generated, no longer generated and edited since: left alone.
    pub kept: Vec<String>,
    /// Indices of edited and foreign artifacts (written only with `--force`).
    forced: Vec<usize>,
    /// The version of every artifact.
    versions: Vec<Version>,
}

impl Plan {
    /// What `build --check` lists: every path where the disk differs from the build.
    pub fn differences(&self, artifacts: &[Artifact]) -> Vec<String> {
        let mut v: Vec<String> = self
            .writes
            .iter()
            .map(|&i| artifacts[i].path.clone())
            .collect();
        v.extend(
            self.edited
                .iter()
                .map(|p| format!("{p} (edited since sparkc wrote it)")),
        );
        v.extend(
            self.foreign
                .iter()
                .map(|p| format!("{p} (not written by sparkc)")),
        );
        v.extend(self.blocked.iter().cloned());
        v.extend(self.stale.iter().map(|p| format!("{p} (stale)")));
        v
    }
}

/// What a build did.
#[derive(Debug, Default)]
pub struct Applied {
    pub written: usize,
    pub removed: usize,
}

impl OutDir {
    /// Open (for a build: create) and lock the output directory of a project rooted at
    /// `project_root`, and read its manifest.
    pub fn open(path: &Path, project_root: &Path, build: bool) -> Result<OutDir, String> {
        refuse_dangerous_location(path, project_root)?;
        let shown = path.display();
        let mut created_root = Vec::new();
        let root = match Dir::open(path) {
            Ok(d) => Some(d),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if build {
                    created_root = create_dirs(path)
                        .map_err(|e| format!("cannot create the output directory {shown}: {e}"))?;
                    Some(
                        Dir::open(path).map_err(|e| {
                            format!("cannot open the output directory {shown}: {e}")
                        })?,
                    )
                } else {
                    None
                }
            }
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::NOTDIR.raw_os_error()) => {
                return Err(format!("the output directory {shown} is not a directory"));
            }
            Err(e) => return Err(format!("cannot open the output directory {shown}: {e}")),
        };
        let mut out = OutDir {
            path: path.to_path_buf(),
            root,
            _lock: None,
            created_root,
            old: Manifest::default(),
            old_text: None,
            legacy: false,
            notes: Vec::new(),
        };
        let Some(root) = &out.root else {
            return Ok(out);
        };
        match root.lock(LOCK, build) {
            Ok(Some(fd)) => out._lock = fd,
            Ok(None) => {
                return Err(format!(
                    "another sparkc build is writing into {shown}; run sparkc again when it has finished"
                ));
            }
            Err(e) => {
                return Err(format!("cannot lock {}: {e}", path.join(LOCK).display()));
            }
        }
        let read = |name: &str| -> Result<Option<String>, String> {
            match root.entry(name) {
                Ok(Entry::Absent) => Ok(None),
                Ok(Entry::File { .. }) => root
                    .read_file(name, MANIFEST_LIMIT)
                    .map(|b| Some(String::from_utf8_lossy(&b).into_owned()))
                    .map_err(|e| format!("cannot read {}: {e}", path.join(name).display())),
                Ok(other) => Err(format!(
                    "{} is {}; sparkc keeps its record of the files it wrote there and never follows a link: remove it",
                    path.join(name).display(),
                    other.describe()
                )),
                Err(e) => Err(format!("cannot read {}: {e}", path.join(name).display())),
            }
        };
        match read(manifest::FILE)? {
            Some(text) => {
                match Manifest::parse(&text) {
                    Some(m) => out.old = m,
                    None => out.notes.push(format!(
                        "{} is not a manifest this sparkc understands: no file here counts as written by sparkc",
                        path.join(manifest::FILE).display()
                    )),
                }
                out.old_text = Some(text);
            }
            None => {
                if let Some(text) = read(manifest::LEGACY_STAMP)?
                    && let Some(m) = Manifest::parse_legacy_stamp(&text)
                {
                    out.old = m;
                    out.legacy = true;
                }
            }
        }
        if build {
            remove_leftover_tmp(&out);
        }
        Ok(out)
    }

    /// Whether a clean build recorded exactly `inputs_unchanged`'s inputs and every output
    /// it recorded is on disk as it wrote it.
    pub fn up_to_date(&self, inputs_unchanged: impl FnOnce(&Inputs) -> bool) -> bool {
        let (Some(root), Some(inputs)) = (&self.root, &self.old.inputs) else {
            return false;
        };
        if self.old.tmp.is_some() || !inputs_unchanged(inputs) {
            return false;
        }
        let mut by_dir: BTreeMap<&str, Vec<(&str, Version)>> = BTreeMap::new();
        for (path, versions) in &self.old.outputs {
            let [v] = versions.iter().copied().collect::<Vec<_>>()[..] else {
                return false;
            };
            let (dir, name) = split(path);
            by_dir.entry(dir).or_default().push((name, v));
        }
        use rayon::prelude::*;
        by_dir.par_iter().all(|(dir, files)| {
            let Ok(Some(d)) = walk(root, dir) else {
                return false;
            };
            files.iter().all(|(name, v)| {
                let Some(size) = v.size else { return false };
                matches!(d.entry(name), Ok(Entry::File { size: s }) if s == size)
                    && d.read_file(name, size).is_ok_and(|b| v.matches(&b))
            })
        })
    }

    /// Compare `artifacts` (sorted by path) with the disk. Reads nothing outside the
    /// manifest and the generated paths.
    pub fn plan(&self, artifacts: &[Artifact]) -> Result<Plan, String> {
        for a in artifacts {
            if !confined(&a.path) {
                return Err(format!(
                    "refusing to write outside the output directory: `{}`",
                    a.path.escape_debug()
                ));
            }
        }
        let mut by_dir: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for (i, a) in artifacts.iter().enumerate() {
            by_dir.entry(split(&a.path).0).or_default().push(i);
        }
        use rayon::prelude::*;
        let groups: Vec<Vec<(usize, Version, Status)>> = by_dir
            .par_iter()
            .map(|(dir, items)| self.plan_dir(dir, items, artifacts))
            .collect();
        let mut plan = Plan {
            versions: vec![
                Version {
                    hash: 0,
                    size: None,
                    kind: manifest::HashKind::Xxh3,
                };
                artifacts.len()
            ],
            ..Plan::default()
        };
        let mut blocked = BTreeSet::new();
        for (i, v, status) in groups.into_iter().flatten() {
            plan.versions[i] = v;
            let path = &artifacts[i].path;
            match status {
                Status::Same => {}
                Status::New | Status::Changed => plan.writes.push(i),
                Status::Edited => {
                    plan.edited.push(path.clone());
                    plan.forced.push(i);
                }
                Status::Foreign => {
                    plan.foreign.push(path.clone());
                    plan.forced.push(i);
                }
                Status::Blocked(why) => {
                    blocked.insert(why);
                }
            }
        }
        plan.blocked = blocked.into_iter().collect();
        plan.writes.sort_unstable();
        let produced: BTreeSet<&str> = artifacts.iter().map(|a| a.path.as_str()).collect();
        for (path, versions) in &self.old.outputs {
            if produced.contains(path.as_str()) || !confined(path) {
                continue;
            }
            match self.recorded_content(path, versions) {
                Some(true) => plan.stale.push(path.clone()),
                Some(false) => plan.kept.push(path.clone()),
                None => {}
            }
        }
        Ok(plan)
    }

    /// `Some(true)`: the regular file at `path` still holds one of `versions`;
    /// `Some(false)`: it holds something else; `None`: there is no regular file there.
    fn recorded_content(&self, path: &str, versions: &BTreeSet<Version>) -> Option<bool> {
        let root = self.root.as_ref()?;
        let (dir, name) = split(path);
        let d = walk(root, dir).ok()??;
        let Ok(Entry::File { size }) = d.entry(name) else {
            return None;
        };
        Some(matches_recorded(&d, name, size, versions))
    }

    fn plan_dir(
        &self,
        dir: &str,
        items: &[usize],
        artifacts: &[Artifact],
    ) -> Vec<(usize, Version, Status)> {
        let version = |i: usize| Version::of(artifacts[i].contents.as_bytes());
        let all = |status: Status| {
            items
                .iter()
                .map(|&i| (i, version(i), status.clone()))
                .collect()
        };
        let Some(root) = &self.root else {
            return all(Status::New);
        };
        let d = match walk(root, dir) {
            Ok(Some(d)) => d,
            Ok(None) => return all(Status::New),
            Err(b) => return all(Status::Blocked(self.blocked_text(&b))),
        };
        items
            .iter()
            .map(|&i| {
                let a = &artifacts[i];
                let (_, name) = split(&a.path);
                let v = version(i);
                let status = match d.entry(name) {
                    Ok(Entry::Absent) => Status::New,
                    Ok(Entry::File { size }) => {
                        let recorded = self.old.outputs.get(&a.path);
                        let wanted = a.contents.len() as u64;
                        if size == wanted
                            && d.read_file(name, wanted)
                                .is_ok_and(|b| b == a.contents.as_bytes())
                        {
                            Status::Same
                        } else {
                            match recorded {
                                Some(vs) if matches_recorded(&d, name, size, vs) => Status::Changed,
                                Some(_) => Status::Edited,
                                None => Status::Foreign,
                            }
                        }
                    }
                    Ok(other) => Status::Blocked(format!(
                        "{} (is {}; sparkc writes only regular files and never follows a link)",
                        a.path,
                        other.describe()
                    )),
                    Err(e) => Status::Blocked(format!("{} (cannot look at it: {e})", a.path)),
                };
                (i, v, status)
            })
            .collect()
    }

    fn blocked_text(&self, b: &Blocked) -> String {
        match b {
            Blocked::Entry(prefix, entry) => format!(
                "{prefix} (is {}, where sparkc needs a directory; it never writes through a link)",
                entry.describe()
            ),
            Blocked::Io(prefix, e) => format!("{prefix} (cannot open it: {e})"),
        }
    }

    /// Write the plan: the changed files (with `force`, also edited and foreign ones),
    /// remove stale ones, and record the result. `inputs`: what the build read, recorded
    /// when it was clean.
    pub fn apply(
        &mut self,
        artifacts: &[Artifact],
        plan: &Plan,
        force: bool,
        inputs: Option<Inputs>,
    ) -> Result<Applied, String> {
        if !plan.blocked.is_empty() {
            return Err(format!(
                "refusing to write through these paths in {}:\n  {}\n  move them away and build again",
                self.path.display(),
                plan.blocked.join("\n  ")
            ));
        }
        if !force && (!plan.edited.is_empty() || !plan.foreign.is_empty()) {
            let mut msg = String::new();
            if !plan.edited.is_empty() {
                let _ = writeln!(
                    msg,
                    "refusing to overwrite files edited since sparkc wrote them: {}",
                    plan.edited.join(", ")
                );
            }
            if !plan.foreign.is_empty() {
                let _ = writeln!(
                    msg,
                    "refusing to overwrite files that sparkc did not write: {}",
                    plan.foreign.join(", ")
                );
            }
            msg.push_str("  put the change into the .spark sources (or move the files away), or pass --force to overwrite them");
            return Err(msg);
        }
        let mut writes = plan.writes.clone();
        if force {
            writes.extend(&plan.forced);
            writes.sort_unstable();
        }
        let mut next = Manifest {
            dirs: self.old.dirs.clone(),
            inputs,
            ..Manifest::default()
        };
        for (i, a) in artifacts.iter().enumerate() {
            let written_or_same = !plan.forced.contains(&i) || force;
            if written_or_same {
                next.outputs
                    .entry(a.path.clone())
                    .or_default()
                    .insert(plan.versions[i]);
            }
        }
        if writes.is_empty()
            && plan.stale.is_empty()
            && !self.legacy
            && self.old_text.as_deref() == Some(next.render().as_str())
        {
            return Ok(Applied::default());
        }
        let Some(root) = &self.root else {
            return Err("the output directory does not exist".into());
        };
        let tmp_name = fsops::unpredictable_name(TMP_PREFIX);
        root.make_dir(&tmp_name, 0o700)
            .map_err(|e| format!("cannot write into {}: {e}", self.path.display()))?;
        let tmp = root.open_dir(&tmp_name).map_err(|e| e.to_string())?;
        let mut created_dirs = Vec::new();
        let result = self.write_files(
            root,
            &tmp,
            &tmp_name,
            artifacts,
            &writes,
            &next,
            &mut created_dirs,
        );
        if let Err(e) = result {
            clean_tmp(root, &tmp, &tmp_name);
            for d in created_dirs.iter().rev() {
                let (parent, name) = split(d);
                if let Ok(Some(p)) = walk(root, parent) {
                    let _ = p.remove_dir(name);
                }
            }
            self.remove_created_root();
            return Err(e);
        }
        next.dirs.extend(created_dirs);
        // Files no longer generated, unchanged since sparkc wrote them.
        let mut removed = 0;
        for path in &plan.stale {
            let (dir, name) = split(path);
            if let Some(versions) = self.old.outputs.get(path)
                && let Ok(Some(d)) = walk(root, dir)
                && let Ok(Entry::File { size }) = d.entry(name)
                && matches_recorded(&d, name, size, versions)
            {
                d.remove_file(name).map_err(|e| {
                    format!(
                        "cannot remove stale {}: {e}",
                        self.path.join(path).display()
                    )
                })?;
                removed += 1;
            }
        }
        // Directories sparkc created that nothing generated lives in any more, deepest first.
        let used: BTreeSet<&str> = artifacts.iter().flat_map(|a| ancestors(&a.path)).collect();
        let mut unused: Vec<String> = next
            .dirs
            .iter()
            .filter(|d| !used.contains(d.as_str()))
            .cloned()
            .collect();
        unused.sort_by_key(|d| std::cmp::Reverse(d.matches('/').count()));
        for d in unused {
            let (parent, name) = split(&d);
            if let Ok(Some(p)) = walk(root, parent)
                && p.entry(name).is_ok_and(|e| e == Entry::Dir)
                && p.remove_dir(name).is_ok()
            {
                next.dirs.remove(&d);
            } else if !matches!(walk(root, &d), Ok(Some(_))) {
                next.dirs.remove(&d);
            }
        }
        let text = next.render();
        let done = tmp
            .create_new("manifest", 0o644)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .and_then(|()| tmp.rename_to("manifest", root, manifest::FILE));
        if let Err(e) = done {
            clean_tmp(root, &tmp, &tmp_name);
            return Err(format!(
                "cannot write {}: {e}",
                self.path.join(manifest::FILE).display()
            ));
        }
        clean_tmp(root, &tmp, &tmp_name);
        if self.legacy {
            let _ = root.remove_file(manifest::LEGACY_STAMP);
        }
        Ok(Applied {
            written: writes.len(),
            removed,
        })
    }

    /// Temporary files, one flush, the manifest that covers old and new, the directories,
    /// then the renames.
    #[allow(clippy::too_many_arguments)]
    fn write_files(
        &self,
        root: &Dir,
        tmp: &Dir,
        tmp_name: &str,
        artifacts: &[Artifact],
        writes: &[usize],
        next: &Manifest,
        created_dirs: &mut Vec<String>,
    ) -> Result<(), String> {
        use rayon::prelude::*;
        let shown = |rel: &str| self.path.join(rel).display().to_string();
        let batched = cfg!(target_os = "linux");
        writes.par_iter().try_for_each(|&i| {
            let a = &artifacts[i];
            tmp.create_new(&i.to_string(), 0o644)
                .and_then(|mut f| {
                    f.write_all(a.contents.as_bytes())?;
                    if batched { Ok(()) } else { f.sync_all() }
                })
                .map_err(|e| format!("cannot write {}: {e}", shown(&a.path)))
        })?;
        // While the renames run, both the old and the new content of a file are sparkc's.
        let mut intent = self.old.clone();
        intent.inputs = None;
        intent.tmp = Some(tmp_name.to_string());
        for (path, versions) in &next.outputs {
            intent
                .outputs
                .entry(path.clone())
                .or_default()
                .extend(versions.iter().copied());
        }
        tmp.create_new("intent", 0o644)
            .and_then(|mut f| f.write_all(intent.render().as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", shown(manifest::FILE)))?;
        if batched {
            root.sync_file_system()
                .map_err(|e| format!("cannot flush {}: {e}", self.path.display()))?;
        }
        tmp.rename_to("intent", root, manifest::FILE)
            .map_err(|e| format!("cannot write {}: {e}", shown(manifest::FILE)))?;
        let mut by_dir: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
        for &i in writes {
            by_dir
                .entry(split(&artifacts[i].path).0)
                .or_default()
                .push(i);
        }
        for dir in by_dir.keys() {
            make_dirs(root, dir, created_dirs).map_err(|e| e.to_string())?;
        }
        by_dir.par_iter().try_for_each(|(dir, items)| {
            let Ok(Some(d)) = walk(root, dir) else {
                return Err(format!("cannot open {}", shown(dir)));
            };
            items.iter().try_for_each(|&i| {
                let (_, name) = split(&artifacts[i].path);
                tmp.rename_to(&i.to_string(), &d, name)
                    .map_err(|e| format!("cannot write {}: {e}", shown(&artifacts[i].path)))
            })
        })
    }

    /// After a failed build: the output directory, if this run created it and it holds
    /// nothing but the lock.
    fn remove_created_root(&mut self) {
        if self.created_root.is_empty() {
            return;
        }
        if let Some(root) = &self.root
            && root.list().is_ok_and(|l| l.iter().all(|(n, _)| n == LOCK))
        {
            let _ = root.remove_file(LOCK);
        }
        for d in self.created_root.iter().rev() {
            if std::fs::remove_dir(d).is_err() {
                break;
            }
        }
    }
}

/// Whether the regular file `name` (of `size` bytes) holds one of the recorded versions.
fn matches_recorded(d: &Dir, name: &str, size: u64, versions: &BTreeSet<Version>) -> bool {
    let candidates: Vec<&Version> = versions
        .iter()
        .filter(|v| v.size.is_none_or(|s| s == size))
        .collect();
    if candidates.is_empty() {
        return false;
    }
    let limit = if candidates.iter().all(|v| v.size.is_some()) {
        size
    } else {
        UNKNOWN_SIZE_LIMIT
    };
    match d.read_file(name, limit) {
        Ok(bytes) => candidates.iter().any(|v| v.matches(&bytes)),
        Err(_) => false,
    }
}

/// The directories above a `/`-separated file path, outermost first.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Create the directories of `rel` below `root` that are missing, recording each.
fn make_dirs(root: &Dir, rel: &str, created: &mut Vec<String>) -> std::io::Result<()> {
    let mut prefix = String::new();
    let mut dir: Option<Dir> = None;
    for comp in rel.split('/').filter(|c| !c.is_empty()) {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(comp);
        let at = dir.as_ref().unwrap_or(root);
        match at.entry(comp)? {
            Entry::Dir => {}
            Entry::Absent => {
                at.make_dir(comp, 0o755)?;
                created.push(prefix.clone());
            }
            other => {
                return Err(std::io::Error::other(format!(
                    "{prefix} is {}, where sparkc needs a directory",
                    other.describe()
                )));
            }
        }
        dir = Some(at.open_dir(comp)?);
    }
    Ok(())
}

/// Remove a build's temporary directory and the files in it (never following a link).
fn clean_tmp(root: &Dir, tmp: &Dir, tmp_name: &str) {
    if let Ok(entries) = tmp.list() {
        for (name, kind) in entries {
            if matches!(kind, Entry::File { .. } | Entry::Symlink | Entry::Special) {
                let _ = tmp.remove_file(&name);
            }
        }
    }
    let _ = root.remove_dir(tmp_name);
}

/// Remove the temporary directory a killed build left, as the manifest names it.
fn remove_leftover_tmp(out: &OutDir) {
    let (Some(root), Some(name)) = (&out.root, &out.old.tmp) else {
        return;
    };
    if name.starts_with(TMP_PREFIX)
        && !name.contains('/')
        && let Ok(tmp) = root.open_dir(name)
    {
        clean_tmp(root, &tmp, name);
    }
}

/// Create `path` and its missing parents, returning the ones created, outermost first.
fn create_dirs(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut at = Some(path);
    while let Some(p) = at {
        if p.as_os_str().is_empty() || p.exists() {
            break;
        }
        missing.push(p.to_path_buf());
        at = p.parent();
    }
    missing.reverse();
    let mut created = Vec::new();
    for p in missing {
        match std::fs::create_dir(&p) {
            Ok(()) => created.push(p),
            // Another build made it meanwhile: not ours to remove.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                for q in created.iter().rev() {
                    let _ = std::fs::remove_dir(q);
                }
                return Err(e);
            }
        }
    }
    Ok(created)
}

/// The output directory may not be `/`, the project directory or a directory above it:
/// a build there would write its tree among the user's own files.
fn refuse_dangerous_location(out: &Path, project_root: &Path) -> Result<(), String> {
    let out_c = resolve(out).map_err(|e| format!("cannot resolve {}: {e}", out.display()))?;
    let root_c = project_root
        .canonicalize()
        .map_err(|e| format!("cannot resolve {}: {e}", project_root.display()))?;
    let why = if out_c.parent().is_none() {
        Some("the root of the file system")
    } else if out_c == root_c {
        Some("the project directory itself")
    } else if root_c.starts_with(&out_c) {
        Some("a directory above the project")
    } else {
        None
    };
    match why {
        Some(w) => Err(format!(
            "refusing to use {} as the output directory: it is {w}\n  choose a directory of its own, e.g. `--out {}`",
            out.display(),
            root_c.join("out").display()
        )),
        None => Ok(()),
    }
}

/// The absolute path `p` names, with links resolved as far as it exists.
fn resolve(p: &Path) -> std::io::Result<PathBuf> {
    let abs = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    };
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = existing.canonicalize() {
            let mut out = c;
            for comp in rest.iter().rev() {
                match comp {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(n) => out.push(n),
                    _ => {}
                }
            }
            return Ok(out);
        }
        let Some(parent) = existing.parent() else {
            return Ok(abs);
        };
        if let Some(last) = existing.components().next_back() {
            rest.push(last);
        }
        existing = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn paths_are_confined() {
        assert!(confined("compose/web/docker-compose.yml"));
        for bad in [
            "../x",
            "/etc/passwd",
            "a/../../x",
            "",
            "a\0b",
            "a\nb",
            "./a",
            "a/",
        ] {
            assert!(!confined(bad), "{bad:?}");
        }
    }

    #[test]
    fn ancestors_outermost_first() {
        assert_eq!(
            ancestors("compose/web/x.yml").collect::<Vec<_>>(),
            ["compose", "compose/web"]
        );
        assert_eq!(ancestors("x.yml").count(), 0);
    }
}
