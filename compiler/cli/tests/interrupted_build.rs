//! An interrupted build leaves every file either as it was or as the new build writes it,
//! never partial: the build is killed (SIGKILL) while it is replacing files, then every
//! file is compared with both complete versions. The next build finishes the job and
//! removes the temporary directory the killed one left: the result is byte for byte a
//! clean build's, manifest included.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sparkc_build(project: &Path, out: &Path) {
    let st = Command::new(env!("CARGO_BIN_EXE_sparkc"))
        .arg("build")
        .arg(project)
        .arg("--out")
        .arg(out)
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(st.success());
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, base, out);
            } else if let Ok(rel) = p.strip_prefix(base) {
                out.push((
                    rel.to_string_lossy().into_owned(),
                    std::fs::read(&p).unwrap_or_default(),
                ));
            }
        }
    }
    let mut v = Vec::new();
    walk(dir, dir, &mut v);
    v.sort();
    v
}

fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in files(from) {
        let p = to.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(to)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(p, bytes).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn killed_build_leaves_old_or_new_files_never_partial() {
    let work = std::env::temp_dir().join(format!("sparkc-kill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let (old_p, new_p) = (work.join("old"), work.join("new"));
    for p in [&old_p, &new_p] {
        let st = Command::new(root().join("scripts/gen-inventory"))
            .arg("2000")
            .arg(p)
            .status()
            .unwrap_or_else(|e| panic!("cannot run scripts/gen-inventory (needs python3): {e}"));
        assert!(st.success());
    }
    // The new version changes every service, so every compose file differs.
    for e in std::fs::read_dir(&new_p).into_iter().flatten().flatten() {
        let p = e.path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("services-"))
        {
            let s = std::fs::read_to_string(&p).unwrap_or_default();
            std::fs::write(&p, s.replace(":1.2.3\"", ":1.2.4\"")).unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let (ref_old, ref_new) = (work.join("ref-old"), work.join("ref-new"));
    sparkc_build(&old_p, &ref_old);
    sparkc_build(&new_p, &ref_new);
    let old_files: std::collections::BTreeMap<String, Vec<u8>> =
        files(&ref_old).into_iter().collect();
    let new_files: std::collections::BTreeMap<String, Vec<u8>> =
        files(&ref_new).into_iter().collect();
    assert_eq!(old_files.len(), new_files.len());
    // Files that differ between the versions, a few spread over the sorted list: the write
    // threads each start somewhere in it, and the first of these to turn new signals that
    // the build is replacing files.
    let differing: Vec<&String> = new_files
        .keys()
        .filter(|k| old_files[*k] != new_files[*k])
        .collect();
    assert!(
        differing.len() > 100,
        "only {} files differ",
        differing.len()
    );
    let watch: Vec<&String> = (0..8).map(|i| differing[i * differing.len() / 8]).collect();

    let mut interrupted = 0;
    for attempt in 0..6u32 {
        let out = work.join(format!("out-{attempt}"));
        copy_tree(&ref_old, &out);
        let mut child = Command::new(env!("CARGO_BIN_EXE_sparkc"))
            .arg("build")
            .arg(&new_p)
            .arg("--out")
            .arg(&out)
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let start = Instant::now();
        'poll: while start.elapsed().as_secs() < 120 {
            if child.try_wait().ok().flatten().is_some() {
                break;
            }
            for w in &watch {
                if std::fs::read(out.join(w)).is_ok_and(|b| b == new_files[*w]) {
                    break 'poll;
                }
            }
        }
        let _ = child.kill();
        let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
        let killed = !status.success();
        // Every file is exactly the old or exactly the new version.
        let mut olds = 0;
        let mut news = 0;
        for (rel, bytes) in files(&out) {
            if rel.starts_with(".sparkc-") {
                // The killed build's temporary directory, the lock, and the manifest, which
                // while a build runs lists both the old and the new content of each file.
                continue;
            }
            let is_old = old_files.get(&rel) == Some(&bytes);
            let is_new = new_files.get(&rel) == Some(&bytes);
            assert!(
                is_old || is_new,
                "{rel} is neither the old nor the new version"
            );
            olds += usize::from(is_old && !is_new);
            news += usize::from(is_new && !is_old);
        }
        eprintln!("attempt {attempt}: killed={killed} old={olds} new={news}");
        if killed && olds > 0 && news > 0 {
            interrupted += 1;
        }
        // The next build completes the job and cleans up.
        sparkc_build(&new_p, &out);
        assert_eq!(
            files(&out),
            files(&ref_new),
            "rebuild after the kill differs"
        );
        let _ = std::fs::remove_dir_all(&out);
        if interrupted >= 2 {
            break;
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        interrupted >= 1,
        "no attempt killed the build between its first and last file; the test proved nothing"
    );
}
