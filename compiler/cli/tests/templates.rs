//! A user template target on disk: its templates are read only from inside the project (a
//! template directory that is a link out of it, or a `..` path, is refused with the
//! diagnostic and nothing is written); a link inside the directory is not followed.

use std::path::PathBuf;
use std::process::Command;

fn project(name: &str, templates: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sparkc-tpl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("spark.toml"),
        format!("[project]\nname = \"t\"\nentry = \"main.spark\"\nbuild = [\"inv\"]\n\n[targets.inv]\ntemplates = \"{templates}\"\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("main.spark"),
        "host web {\n  address = 10.0.0.1\n  runtime = compose\n}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    d
}

fn build(d: &PathBuf) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sparkc"))
        .args(["build"])
        .arg(d)
        .args(["--format", "short"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn templates_are_rendered_from_inside_the_project_only() {
    // The good case: one template, one artifact.
    let d = project("good", "tpl");
    std::fs::create_dir_all(d.join("tpl")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        d.join("tpl/hosts.txt.j2"),
        "{% for h in hosts %}{{ h.name }} {{ h.address }}\n{% endfor %}",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // A link inside the directory, to a file outside: neither listed nor read.
    let secret = std::env::temp_dir().join(format!("sparkc-tpl-secret-{}", std::process::id()));
    std::fs::write(&secret, "{{ 'LEAKED' }}").unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&secret, d.join("tpl/leak.txt.j2"))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = build(&d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read_to_string(d.join("out/inv/hosts.txt")).unwrap_or_default(),
        "web 10.0.0.1\n"
    );
    assert!(
        !d.join("out/inv/leak.txt").exists(),
        "a linked template was rendered"
    );

    // A template directory that is a link out of the project.
    let outside = std::env::temp_dir().join(format!("sparkc-tpl-outside-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(outside.join("x.j2"), "{{ 'LEAKED' }}").unwrap_or_else(|e| panic!("{e}"));
    let d = project("linked", "tpl");
    std::os::unix::fs::symlink(&outside, d.join("tpl")).unwrap_or_else(|e| panic!("{e}"));
    let (code, err) = build(&d);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("E0501") && err.contains("outside the project"),
        "{err}"
    );
    assert!(!d.join("out").exists(), "something was written");

    // A path that climbs out.
    let d = project("dotdot", "../tpl");
    let (code, err) = build(&d);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("must name a directory inside the project"),
        "{err}"
    );
    assert!(!d.join("out").exists(), "something was written");
}
