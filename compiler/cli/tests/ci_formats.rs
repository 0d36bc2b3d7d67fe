//! `--format github` prints GitHub Actions annotations (workflow commands on stdout) and
//! `--format gitlab` a GitLab Code Quality report, with paths from where sparkc was run.

use std::process::Command;

fn project(name: &str) -> std::path::PathBuf {
    let base = std::env::temp_dir().join(format!("sparkc-ci-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let dir = base.join("infra");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("spark.toml"),
        "[project]\nname = \"ci\"\nentry = \"main.spark\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("main.spark"),
        "host web {\n  adress = 10.0.0.1, runtime = compose\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    base
}

#[test]
fn github_annotations() {
    let base = project("github");
    let out = Command::new(env!("CARGO_BIN_EXE_sparkc"))
        .current_dir(&base)
        .args(["check", "infra", "--format", "github"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "::error file=infra/main.spark,line=2,col=3,endLine=2,endColumn=9,title=sparkc E0201::a host has no field `adress`%0Ahelp: did you mean `address`?\n"
    );
}

#[test]
fn gitlab_code_quality_report() {
    let base = project("gitlab");
    let out = Command::new(env!("CARGO_BIN_EXE_sparkc"))
        .current_dir(&base)
        .args(["check", "infra", "--format", "gitlab"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let issues = report.as_array().unwrap_or_else(|| panic!("not an array"));
    assert_eq!(issues.len(), 1);
    let i = &issues[0];
    assert_eq!(i["check_name"], "E0201");
    assert_eq!(i["severity"], "major");
    assert_eq!(i["location"]["path"], "infra/main.spark");
    assert_eq!(i["location"]["lines"]["begin"], 2);
    assert_eq!(i["fingerprint"].as_str().map(str::len), Some(16));
    assert!(
        i["description"]
            .as_str()
            .is_some_and(|d| d.contains("did you mean `address`")),
        "{i}"
    );
}
