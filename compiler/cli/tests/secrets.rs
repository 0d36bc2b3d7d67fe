//! Secret values never reach an artifact. Every example, every fixture and a generated
//! inventory are built by the binary with a known value in every secret's environment
//! variable and in every secret file; every byte written (artifacts, stdout, stderr) is
//! scanned for those values: zero hits. sparkc never reads a secret's value, so this guards
//! against a target that starts to.

use sparkc::project::Project;
use sparkc_core::model::SecretSource;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(from).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "out" {
                copy_dir(&p, &to.join(name));
            }
        } else {
            std::fs::copy(&p, to.join(name)).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Build `project` (a directory or a file) with a marker value behind every secret; return
/// how many secrets were planted and assert that no marker appears in anything written.
fn build_and_scan(project: &Path, out: &Path, tag: &str) -> usize {
    let p = Project::open(Some(project)).unwrap_or_else(|e| panic!("{e}"));
    let checked = sparkc::check_project(&p).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sparkc"));
    cmd.arg("build").arg(project).arg("--out").arg(out);
    let mut markers = Vec::new();
    for (i, s) in checked.model.secrets.iter().enumerate() {
        let marker = format!("S3CR3T-{tag}-{i}-a8f1c0de");
        match &s.source {
            SecretSource::Env(var) => {
                cmd.env(var, &marker);
            }
            SecretSource::File(path) => {
                let f = p.root.join(path);
                if f.starts_with(&p.root) && !path.contains("..") {
                    if let Some(parent) = f.parent() {
                        std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
                    }
                    std::fs::write(&f, &marker).unwrap_or_else(|e| panic!("{e}"));
                }
            }
            // Stored by swarm: no value reaches sparkc's machine at all.
            SecretSource::External(_) => {}
        }
        markers.push(marker);
    }
    let run = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    let code = run.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "{}: exit {code}", project.display());
    let mut written = Vec::new();
    files_under(out, &mut written);
    let mut blobs: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), run.stdout.clone()),
        ("stderr".into(), run.stderr.clone()),
    ];
    for f in &written {
        blobs.push((
            f.display().to_string(),
            std::fs::read(f).unwrap_or_else(|e| panic!("{e}")),
        ));
    }
    for (name, bytes) in &blobs {
        for m in &markers {
            assert!(
                !bytes.windows(m.len()).any(|w| w == m.as_bytes()),
                "secret value {m} leaked into {name}"
            );
        }
    }
    markers.len()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sparkc-secrets-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn no_secret_value_reaches_an_artifact() {
    let mut planted = 0;
    let mut examples = 0;
    for e in std::fs::read_dir(root().join("examples"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if !e.path().join("spark.toml").is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().into_owned();
        let work = tmp(&name);
        copy_dir(&e.path(), &work.join("project"));
        planted += build_and_scan(&work.join("project"), &work.join("out"), &name);
        let written = {
            let mut v = Vec::new();
            files_under(&work.join("out"), &mut v);
            v.len()
        };
        assert!(written > 0, "example {name} wrote nothing");
        let _ = std::fs::remove_dir_all(&work);
        examples += 1;
    }
    assert!(
        examples >= 3 && planted >= 20,
        "{examples} examples, {planted} secrets"
    );

    let mut n = 0;
    let stages = std::fs::read_dir(root().join("snapshots/check"))
        .into_iter()
        .flatten()
        .flatten();
    for e in stages.flat_map(|stage| {
        std::fs::read_dir(stage.path())
            .into_iter()
            .flatten()
            .flatten()
    }) {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "spark") {
            let stem = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let work = tmp(&stem);
            std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
            std::fs::copy(&p, work.join("main.spark")).unwrap_or_else(|e| panic!("{e}"));
            build_and_scan(&work.join("main.spark"), &work.join("out"), &stem);
            let _ = std::fs::remove_dir_all(&work);
            n += 1;
        }
    }
    assert!(n >= 40, "only {n} fixtures");
}

#[test]
fn no_secret_value_reaches_a_generated_inventory() {
    let work = tmp("inventory");
    let status = Command::new(root().join("scripts/gen-inventory"))
        .arg("300")
        .arg(work.join("project"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run scripts/gen-inventory (needs python3): {e}"));
    assert!(status.success());
    let planted = build_and_scan(&work.join("project"), &work.join("out"), "inv");
    assert_eq!(planted, 30, "one secret per host");
    let _ = std::fs::remove_dir_all(&work);
}

#[test]
fn the_scan_finds_a_value_that_does_reach_an_artifact() {
    // A plain value that happens to equal the planted secret value must be caught: proof
    // that the scan can fail.
    let work = tmp("negative");
    std::fs::create_dir_all(&work).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        work.join("main.spark"),
        "host web { runtime = compose }\n\
         secret token from env \"TOKEN\"\n\
         service app on web { image = \"nginx:1.27\", env { TOKEN = token, COPY = \"S3CR3T-neg-0-a8f1c0de\" } }\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let caught = std::panic::catch_unwind(|| {
        build_and_scan(&work.join("main.spark"), &work.join("out"), "neg")
    });
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        caught.is_err(),
        "the scan missed a value written into an artifact"
    );
}
