//! The repository's `.pre-commit-hooks.yaml` with the real pre-commit framework (`PyPI`
//! `pre-commit`, from `scripts/install-test-tools`, at `SPARKC_PRE_COMMIT` or
//! `.tools/venv/bin/pre-commit`), in a temporary git repository: a good commit passes; a commit
//! with a syntax error is rejected with the diagnostic; one with stale artifacts is rejected
//! with the file that differs; one with an unformatted file is rejected with its name.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn pre_commit() -> PathBuf {
    let p = std::env::var_os("SPARKC_PRE_COMMIT").map_or_else(
        || workspace().join(".tools/venv/bin/pre-commit"),
        PathBuf::from,
    );
    assert!(
        p.is_file(),
        "pre-commit not found at {}: run `scripts/install-test-tools` (the README's test command does)",
        p.display()
    );
    p
}

fn run(dir: &Path, program: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut c = Command::new(program);
    c.current_dir(dir).args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()))
}

fn git(dir: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut all = vec![
        "-c",
        "user.name=sparkc test",
        "-c",
        "user.email=test@example.invalid",
        "-c",
        "commit.gpgsign=false",
        "-c",
        "init.defaultBranch=main",
    ];
    all.extend_from_slice(args);
    run(dir, Path::new("git"), &all, env)
}

fn ok(o: &Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const GOOD: &str =
    "host web {\n  runtime = compose\n}\nservice app on web {\n  image = \"nginx:1.27\"\n}\n";

#[test]
fn pre_commit_rejects_broken_stale_and_unformatted_commits() {
    let pre_commit = pre_commit();
    let base = std::env::temp_dir().join(format!("sparkc-pre-commit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    let (hooks, project, home) = (base.join("hooks"), base.join("project"), base.join("home"));
    for d in [&hooks, &project, &home] {
        std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
    }
    // The hooks as a repository of their own, as pre-commit clones them.
    std::fs::copy(
        workspace().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok(&git(&hooks, &["init", "-q"], &[]), "git init");
    ok(&git(&hooks, &["add", "-A"], &[]), "git add");
    ok(
        &git(&hooks, &["commit", "-q", "-m", "hooks"], &[]),
        "git commit",
    );
    let rev = String::from_utf8_lossy(&git(&hooks, &["rev-parse", "HEAD"], &[]).stdout)
        .trim()
        .to_string();

    // `sparkc` on PATH, as the hooks expect; pre-commit's cache in the temporary directory.
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_sparkc"))
        .parent()
        .unwrap_or_else(|| panic!("no bin dir"))
        .to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap_or_else(|e| panic!("{e}"));
    let env: Vec<(&str, &std::ffi::OsStr)> = vec![
        ("PATH", path.as_os_str()),
        ("PRE_COMMIT_HOME", home.as_os_str()),
    ];

    std::fs::write(
        project.join("spark.toml"),
        "[project]\nname = \"hooked\"\nentry = \"main.spark\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(project.join("main.spark"), GOOD).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: sparkc-fmt\n      - id: sparkc-check\n      - id: sparkc-build-check\n",
            hooks.display()
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sparkc = |command: &str| {
        let out = run(
            &project,
            Path::new(env!("CARGO_BIN_EXE_sparkc")),
            &[command],
            &env,
        );
        ok(&out, &format!("sparkc {command}"));
    };
    ok(&git(&project, &["init", "-q"], &env), "git init");
    ok(
        &run(&project, &pre_commit, &["install"], &env),
        "pre-commit install",
    );
    sparkc("build");
    ok(&git(&project, &["add", "-A"], &env), "git add");
    let good = git(&project, &["commit", "-q", "-m", "good"], &env);
    ok(&good, "a good commit");

    // A syntax error: rejected, with the diagnostic.
    std::fs::write(
        project.join("main.spark"),
        GOOD.replace("image = \"nginx:1.27\"", "image = "),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    ok(&git(&project, &["add", "main.spark"], &env), "git add");
    let broken = git(&project, &["commit", "-q", "-m", "broken"], &env);
    assert!(!broken.status.success(), "a broken commit passed");
    assert!(text(&broken).contains("E0001"), "{}", text(&broken));

    // Stale artifacts: rejected, with the file that differs.
    std::fs::write(project.join("main.spark"), GOOD.replace("1.27", "1.28"))
        .unwrap_or_else(|e| panic!("{e}"));
    ok(&git(&project, &["add", "main.spark"], &env), "git add");
    let stale = git(&project, &["commit", "-q", "-m", "stale"], &env);
    assert!(
        !stale.status.success(),
        "a commit with stale artifacts passed"
    );
    assert!(
        text(&stale).contains("compose/web/docker-compose.yml"),
        "{}",
        text(&stale)
    );

    // Rebuilt, but not formatted: rejected, with the file's name.
    std::fs::write(
        project.join("main.spark"),
        GOOD.replace("1.27", "1.28")
            .replace("  runtime = compose", "runtime=compose"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    sparkc("build");
    ok(&git(&project, &["add", "-A"], &env), "git add");
    let unformatted = git(&project, &["commit", "-q", "-m", "unformatted"], &env);
    assert!(
        !unformatted.status.success(),
        "an unformatted commit passed"
    );
    assert!(
        text(&unformatted).contains("would reformat main.spark"),
        "{}",
        text(&unformatted)
    );

    // Formatted: it passes.
    sparkc("fmt");
    ok(&git(&project, &["add", "-A"], &env), "git add");
    ok(
        &git(&project, &["commit", "-q", "-m", "fixed"], &env),
        "the fixed commit",
    );
    let _ = std::fs::remove_dir_all(&base);
}
