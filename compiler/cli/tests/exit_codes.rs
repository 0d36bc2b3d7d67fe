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

    let bad = root().join("snapshots/check/port_conflict.spark");
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
