//! The binary's contract: 0 ok, 1 input errors, 2 usage or I/O errors; `build --check` exits 1
//! when files differ and 0 when they match; a panic (101) is never an answer.

use std::path::{Path, PathBuf};
use std::process::Command;

fn sparkc(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sparkc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn exit_codes() {
    let tmp = std::env::temp_dir().join(format!("sparkc-cli-{}", std::process::id()));
    let out = tmp.join("out");
    let ex = root().join("examples/m300");
    let (ex_s, out_s) = (
        ex.to_string_lossy().into_owned(),
        out.to_string_lossy().into_owned(),
    );

    let (code, _, err) = sparkc(&["build", &ex_s, "--out", &out_s, "--check"]);
    assert_eq!(code, 1, "nothing written yet, --check must fail: {err}");
    let (code, _, err) = sparkc(&["build", &ex_s, "--out", &out_s]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = sparkc(&["build", &ex_s, "--out", &out_s, "--check"]);
    assert_eq!(code, 0, "freshly built output must be up to date: {err}");

    let bad = root().join("snapshots/check/rules/port_conflict.spark");
    let (code, stdout, _) = sparkc(&["check", &bad.to_string_lossy(), "--format", "json"]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("\"code\": \"E0302\"") && stdout.contains("\"line\": 3"),
        "{stdout}"
    );

    let (code, _, _) = sparkc(&["check", &tmp.join("missing").to_string_lossy()]);
    assert_eq!(code, 2);
    let (code, _, _) = sparkc(&["explain", "E9999"]);
    assert_eq!(code, 2);
    let (code, stdout, _) = sparkc(&["explain", "e0101"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("# E0101"));

    // Random bytes as a source file: a diagnostic and exit 1, never a panic.
    let junk = tmp.join("junk.spark");
    std::fs::write(&junk, [0xff, 0xfe, 0x00, 0x9f, 0x41]).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = sparkc(&["check", &junk.to_string_lossy()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("E0002"), "{err}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `build --check` answers from the build stamp when nothing changed, and falls back to a
/// full comparison on any change: a source, a generated file, a file no longer generated.
#[test]
fn build_check_uses_the_stamp_only_while_nothing_changed() {
    let tmp = std::env::temp_dir().join(format!("sparkc-stamp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let project = tmp.join("p");
    std::fs::create_dir_all(&project).unwrap_or_else(|e| panic!("{e}"));
    for f in ["spark.toml", "main.spark", "monitoring.spark"] {
        std::fs::copy(root().join("examples/m300").join(f), project.join(f))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let p = project.to_string_lossy().into_owned();
    let out = project.join("out");
    let (code, _, err) = sparkc(&["build", &p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.join(".sparkc-manifest").is_file());

    let (code, _, err) = sparkc(&["build", &p, "--check"]);
    assert_eq!(
        (code, err.contains("unchanged since the last build")),
        (0, true),
        "{err}"
    );

    // A hand edit of a generated file: the stamp no longer holds; the full check finds it.
    let compose = out.join("compose/m300/docker-compose.yml");
    let original = std::fs::read_to_string(&compose).unwrap_or_default();
    std::fs::write(&compose, original.replace("unless-stopped", "always"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, _) = sparkc(&["build", &p, "--check"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("docker-compose.yml"), "{stdout}");
    std::fs::write(&compose, &original).unwrap_or_else(|e| panic!("{e}"));

    // A generated file the build would no longer produce.
    let toml = project.join("spark.toml");
    let manifest = std::fs::read_to_string(&toml).unwrap_or_default();
    std::fs::write(&toml, manifest.replace("\"prometheus\", ", ""))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, _) = sparkc(&["build", &p, "--check"]);
    assert_eq!(code, 1);
    assert!(stdout.contains("prometheus.yml (stale)"), "{stdout}");
    std::fs::write(&toml, &manifest).unwrap_or_else(|e| panic!("{e}"));
    // A file sparkc did not write beside the outputs is none of its business.
    std::fs::write(out.join("compose/m300/notes.txt"), "mine\n").unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = sparkc(&["build", &p, "--check"]);
    assert_eq!(
        (code, err.contains("unchanged since the last build")),
        (0, true),
        "{err}"
    );

    // A source edit that changes the output.
    let main = project.join("main.spark");
    let src = std::fs::read_to_string(&main).unwrap_or_default();
    assert!(src.contains("maxmemory = 256MiB"));
    std::fs::write(
        &main,
        src.replace("maxmemory = 256MiB", "maxmemory = 512MiB"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (code, stdout, err) = sparkc(&["build", &p, "--check"]);
    assert_eq!(code, 1, "{err}");
    assert!(stdout.contains("docker-compose.yml"), "{stdout}");
    // A comment only: the full comparison runs and finds the files up to date.
    std::fs::write(&main, format!("{src}// a comment\n")).unwrap_or_else(|e| panic!("{e}"));
    let (code2, _, err2) = sparkc(&["build", &p, "--check"]);
    assert_eq!((code2, err2.contains("up to date: ")), (0, true), "{err2}");
    let _ = std::fs::remove_dir_all(&tmp);
}

/// `sparkc init` writes a project that builds without a diagnostic, and never overwrites.
#[test]
fn init_writes_a_project_that_builds_clean() {
    let dir = std::env::temp_dir().join(format!("sparkc-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let d = dir.to_string_lossy().into_owned();
    let (code, _, err) = sparkc(&["init", &d]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = sparkc(&["build", &d]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning") && !err.contains('⚠'), "{err}");
    for f in [
        "compose/web01/docker-compose.yml",
        "compose/web01/Caddyfile",
    ] {
        assert!(dir.join("out").join(f).is_file(), "{f} not written: {err}");
    }
    std::fs::write(dir.join("main.spark"), "// mine\n").unwrap_or_else(|e| panic!("{e}"));
    let (code, _, err) = sparkc(&["init", &d]);
    assert_eq!(code, 2, "init over an existing project: {err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("main.spark")).unwrap_or_default(),
        "// mine\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file whose name is not UTF-8 is named as such, not reported as missing.
#[cfg(unix)]
#[test]
fn a_file_name_that_is_not_utf8_is_said_to_be_so() {
    use std::os::unix::ffi::OsStrExt as _;
    let dir = std::env::temp_dir().join(format!("sparkc-utf8-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join(std::ffi::OsStr::from_bytes(b"ma\xffin.spark"));
    std::fs::write(&file, "host web { runtime = compose }\n").unwrap_or_else(|e| panic!("{e}"));
    for cmd in ["check", "build"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sparkc"))
            .arg(cmd)
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("not UTF-8") && !err.contains("cannot find"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A wrong option in spark.toml is a diagnostic pointing into it (exit 1), and nothing is
/// written: `scrape_interval = "banana"` once reached prometheus.yml, which promtool rejects.
#[test]
fn a_wrong_option_in_spark_toml_stops_the_build() {
    let dir = std::env::temp_dir().join(format!("sparkc-options-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    for f in ["main.spark", "monitoring.spark"] {
        std::fs::copy(root().join("examples/m300").join(f), dir.join(f))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(
        dir.join("spark.toml"),
        "[project]\nbuild = [\"compose\", \"prometheus\", \"caddy\"]\n\n[targets.prometheus]\nscrape_interval = \"banana\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let d = dir.to_string_lossy().into_owned();
    let (code, _, err) = sparkc(&["build", &d, "--format", "short"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("spark.toml:5:19: error[E0501]"), "{err}");
    assert!(
        !dir.join("out").exists(),
        "a build with a wrong option wrote files"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A reader that stops reading (`sparkc model | head -1`) ends the output quietly, with the
/// run's own exit status — Rust's default is to panic on the failed write.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let ex = root().join("examples/m300");
    let bad = root().join("snapshots/check/rules/port_conflict.spark");
    let cases: [(&[&str], i32); 3] = [
        (&["model", &ex.to_string_lossy()], 0),
        (&["explain", "E0302"], 0),
        (&["check", &bad.to_string_lossy(), "--format", "json"], 1),
    ];
    for (args, expected) in cases {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sparkc"))
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        // Close the read end before the child writes: every write it makes fails (EPIPE).
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(expected), "{args:?}: {stderr}");
    }
}
