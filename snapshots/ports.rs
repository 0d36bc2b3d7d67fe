//! Real stacks ported to sparkc, compared with their originals fact by fact. For every
//! `snapshots/ports/NAME.yml` (a compose file from the corpus, as its repository has it) the
//! port is `snapshots/build/port_NAME.spark`. Both go through the real Compose (`docker
//! compose config --format json`, one project name, the same environment); every service
//! becomes a set of facts (`sonarr.environment.TZ = Europe/Berlin`, `sonarr.ports.8989/tcp.
//! published = 8989`, `sonarr.volumes./config.source = ...`), and the two sets are compared.
//!
//! A fact of the original that the port lacks or states otherwise must be listed, with the
//! reason, in `snapshots/ports/NAME.differences` (one `fact.path  # why` per line; a path
//! ending in `*` covers every fact under it); a listed entry that covers no difference fails
//! too, so the list stays true. Facts only the port has
//! (health checks, a restart policy) are what sparkc adds: counted, not listed.

use sparkc_snapshots::real::{env_file_stand_ins, tool, write_artifacts};
use sparkc_snapshots::{Rendered, workspace};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

type Facts = BTreeMap<String, String>;

/// `${NAME:?...}` and `${NAME}` without a default, in either file: what the deploy must set.
fn required_vars(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        rest = &rest[i + 2..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = &rest[name.len()..];
        let defaulted = after.starts_with(":-") || after.starts_with('-');
        if !name.is_empty() && !defaulted && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn config(file: &Path, env: &[String]) -> serde_json::Value {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    env_file_stand_ins(file.parent().unwrap_or(file), &text);
    let mut cmd = Command::new(tool("SPARKC_DOCKER_COMPOSE", "docker-compose"));
    cmd.arg("-p")
        .arg("port")
        .arg("-f")
        .arg(file)
        .args(["--profile", "*", "config", "--format", "json"])
        .env_remove("DOCKER_HOST");
    for v in env {
        cmd.env(v, format!("set-{v}"));
    }
    let out = cmd.output().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "compose rejected {}:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

/// Every leaf of `v` under `path`; lists of objects keyed by what identifies an entry (a
/// port by its target and protocol, a mount by its target), lists of strings as sets.
fn flatten(path: &str, v: &serde_json::Value, dir: &str, out: &mut Facts) {
    use serde_json::Value as J;
    match v {
        J::Object(m) => {
            for (k, x) in m {
                flatten(&format!("{path}.{k}"), x, dir, out);
            }
        }
        J::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                let key = match x {
                    J::Object(o) if o.contains_key("target") => {
                        let t = o["target"].to_string().trim_matches('"').to_string();
                        match o.get("protocol") {
                            Some(p) => format!("{t}/{}", p.as_str().unwrap_or("")),
                            None => t,
                        }
                    }
                    J::Object(o) if o.contains_key("source") => {
                        o["source"].as_str().unwrap_or("").to_string()
                    }
                    J::String(s) => {
                        // `expose: 9696/tcp` and `9696` are one port to Compose.
                        let s = s.strip_suffix("/tcp").unwrap_or(s);
                        out.insert(format!("{path}[{s}]"), "present".into());
                        continue;
                    }
                    _ => i.to_string(),
                };
                flatten(&format!("{path}.{key}"), x, dir, out);
            }
        }
        J::Null => {
            out.insert(path.to_string(), "null".into());
        }
        J::String(s) => {
            // A path inside the project directory, as a relative one: the two files live in
            // different directories.
            out.insert(path.to_string(), s.replace(dir, "."));
        }
        other => {
            out.insert(path.to_string(), other.to_string());
        }
    }
}

fn facts(file: &Path, env: &[String]) -> Facts {
    let json = config(file, env);
    let dir = file
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let mut out = Facts::new();
    if let Some(services) = json["services"].as_object() {
        for (name, s) in services {
            flatten(name, s, &dir, &mut out);
            // A published port is reachable from the other containers too: it is exposed,
            // whether or not the file lists it under `expose` as well.
            for p in s["ports"].as_array().into_iter().flatten() {
                let target = p["target"].to_string();
                let port = match p["protocol"].as_str() {
                    Some("udp") => format!("{target}/udp"),
                    _ => target,
                };
                out.insert(format!("{name}.expose[{port}]"), "present".into());
            }
        }
    }
    out
}

fn compose_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            compose_files(&p, out);
        } else if p.file_name().is_some_and(|n| n == "docker-compose.yml") {
            out.push(p);
        }
    }
    out.sort();
}

#[test]
fn ported_stacks_state_what_their_originals_state() {
    let ports = workspace().join("snapshots/ports");
    let mut names: Vec<String> = std::fs::read_dir(&ports)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_suffix(".yml").map(str::to_string)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no ported stacks in {}", ports.display());
    let mut failures = Vec::new();
    for name in &names {
        let original = ports.join(format!("{name}.yml"));
        let port = workspace().join(format!("snapshots/build/port_{name}.spark"));
        let compiled = sparkc_snapshots::compile(&port);
        assert_eq!(compiled.errors(), 0, "{name}: {}", compiled.rendered());
        let tmp = std::env::temp_dir().join(format!("sparkc-port-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        write_artifacts(&tmp.join("port"), &compiled.artifacts);
        std::fs::create_dir_all(tmp.join("original")).unwrap_or_else(|e| panic!("{e}"));
        let original_copy = tmp.join("original/docker-compose.yml");
        std::fs::copy(&original, &original_copy).unwrap_or_else(|e| panic!("{e}"));
        let mut files = Vec::new();
        compose_files(&tmp.join("port"), &mut files);
        let mut text = std::fs::read_to_string(&original).unwrap_or_default();
        for f in &files {
            text.push_str(&std::fs::read_to_string(f).unwrap_or_default());
        }
        let env = required_vars(&text);
        let want = facts(&original_copy, &env);
        let mut have = Facts::new();
        for f in &files {
            have.extend(facts(f, &env));
        }
        let listed_text =
            std::fs::read_to_string(ports.join(format!("{name}.differences"))).unwrap_or_default();
        let listed: Vec<&str> = listed_text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .filter(|l| !l.is_empty())
            .collect();
        let covers = |l: &str, k: &str| match l.strip_suffix('*') {
            Some(prefix) => k.starts_with(prefix),
            None => l == k,
        };
        let mut used = vec![false; listed.len()];
        let (mut equal, mut different, mut missing) = (0, 0, 0);
        for (k, v) in &want {
            let why = match have.get(k) {
                Some(h) if h == v => {
                    equal += 1;
                    continue;
                }
                Some(h) => {
                    different += 1;
                    format!("the original says {v}, the port {h}")
                }
                None => {
                    missing += 1;
                    format!("the original says {v}, the port nothing")
                }
            };
            match listed.iter().position(|l| covers(l, k)) {
                Some(i) => used[i] = true,
                None => failures.push(format!("{name}: `{k}`: {why}")),
            }
        }
        for (l, used) in listed.iter().zip(used) {
            if !used {
                failures.push(format!("{name}: `{l}` is listed, but covers no difference"));
            }
        }
        let added = have.keys().filter(|k| !want.contains_key(*k)).count();
        println!(
            "{name}: {} facts in the original: {equal} equal, {different} different, {missing} missing (each listed with its reason); {added} added by the port",
            want.len()
        );
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
