//! Grafana's files, held to what Grafana reads. No Grafana server can be installed here, so:
//! every generated dashboard is type-checked by TypeScript against Grafana's published types
//! (npm `@grafana/schema`, narrowed where they are loose: `snapshots/grafana/types.ts`), every
//! provisioning file against types written from Grafana's provisioning documentation,
//! stricter than Grafana (an unknown key is an error); every panel's query is parsed by
//! promtool as a recording rule. Negative controls show each check fails on a broken file.
//! The types and tsc come from `scripts/install-test-tools` (`SPARKC_GRAFANA_TYPES`, or
//! `.tools/grafana-types`).

use sparkc_snapshots::real::{each_generated, tool};
use sparkc_snapshots::workspace;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;

fn types_dir() -> PathBuf {
    let dir = std::env::var_os("SPARKC_GRAFANA_TYPES")
        .map_or_else(|| workspace().join(".tools/grafana-types"), PathBuf::from);
    assert!(
        dir.join("node_modules/.bin/tsc").is_file(),
        "tsc not found under {}: run `scripts/install-test-tools` (the README's test command does)",
        dir.display()
    );
    dir
}

/// A generated file, as the TypeScript check sees it: which type it must have, its text as
/// JSON.
struct Checked {
    name: String,
    ty: &'static str,
    json: serde_json::Value,
}

/// Every generated Grafana file of every valid program.
fn generated() -> Vec<Checked> {
    let mut out = Vec::new();
    let mut take = |suffix: &str, ty: &'static str, yaml: bool| {
        each_generated(suffix, |name, _, a| {
            if ty == "CheckedDashboard" && !a.path.contains("/grafana/dashboards/") {
                return;
            }
            let json = if yaml {
                serde_saphyr::from_str::<serde_json::Value>(&a.contents)
                    .unwrap_or_else(|e| panic!("{}: {e}", a.path))
            } else {
                serde_json::from_str(&a.contents).unwrap_or_else(|e| panic!("{}: {e}", a.path))
            };
            out.push(Checked {
                name: format!("{name}: {}", a.path),
                ty,
                json,
            });
        })
    };
    take(".json", "CheckedDashboard", false);
    take(
        "provisioning/datasources/sparkc.yml",
        "DatasourcesFile",
        true,
    );
    take("provisioning/dashboards/sparkc.yml", "DashboardsFile", true);
    out
}

/// Type-check `files` in one run of tsc; the output names each failing file as `check-<i>.ts`.
fn tsc(files: &[Checked], tag: &str) -> std::process::Output {
    let types = types_dir();
    // Inside the types' directory, so that `@grafana/schema` resolves from its node_modules.
    let dir = types.join(format!("check-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        workspace().join("snapshots/grafana/types.ts"),
        dir.join("types.ts"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("tsconfig.json"),
        r#"{"compilerOptions": {"strict": true, "noEmit": true, "types": [], "module": "esnext", "moduleResolution": "bundler", "target": "es2020"}, "include": ["*.ts"]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for (i, f) in files.iter().enumerate() {
        let text = format!(
            "// {}\nimport type {{ {} }} from \"./types\";\nexport const checked: {} = {};\n",
            f.name,
            f.ty,
            f.ty,
            serde_json::to_string_pretty(&f.json).unwrap_or_default()
        );
        std::fs::write(dir.join(format!("check-{i}.ts")), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = Command::new(types.join("node_modules/.bin/tsc"))
        .arg("-p")
        .arg(&dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run tsc: {e}"));
    let _ = std::fs::remove_dir_all(&dir);
    out
}

#[test]
fn every_grafana_file_has_grafanas_types() {
    let files = generated();
    let count = |ty: &str| files.iter().filter(|f| f.ty == ty).count();
    assert!(
        count("CheckedDashboard") >= 6
            && count("DatasourcesFile") >= 2
            && count("DashboardsFile") >= 2,
        "too few Grafana files were checked: {:?}",
        files.iter().map(|f| &f.name).collect::<Vec<_>>()
    );
    let r = tsc(&files, "all");
    let names: Vec<String> = files
        .iter()
        .enumerate()
        .map(|(i, f)| format!("check-{i}.ts: {}", f.name))
        .collect();
    assert!(
        r.status.success(),
        "tsc rejected generated Grafana files:\n{}{}\n{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr),
        names.join("\n")
    );
}

/// The negative control: one broken copy of each kind of file, each reported by tsc — an
/// unknown dashboard key, a legend without its `calcs`, a draw style Grafana does not have, a
/// misspelled data source key, a data source type sparkc does not write, a provider without
/// its path.
#[test]
fn tsc_rejects_each_broken_grafana_file() {
    let files = generated();
    let first = |ty: &str| {
        files
            .iter()
            .find(|f| f.ty == ty)
            .map_or_else(|| panic!("no {ty} generated"), |f| f.json.clone())
    };
    let board = first("CheckedDashboard");
    let sources = first("DatasourcesFile");
    let provider = first("DashboardsFile");
    let mut broken: Vec<(Checked, &str)> = Vec::new();
    let mut add = |json: serde_json::Value, ty: &'static str, why: &'static str| {
        broken.push((
            Checked {
                name: why.to_string(),
                ty,
                json,
            },
            why,
        ));
    };
    let mut b = board.clone();
    b["refreshInterval"] = serde_json::json!("1m");
    add(b, "CheckedDashboard", "an unknown dashboard key");
    let mut b = board.clone();
    b["panels"][0]["options"]["legend"]
        .as_object_mut()
        .map(|l| l.remove("calcs"));
    add(b, "CheckedDashboard", "a legend without calcs");
    let mut b = board;
    b["panels"][0]["fieldConfig"]["defaults"]["custom"]["drawStyle"] = serde_json::json!("lines");
    add(b, "CheckedDashboard", "a draw style Grafana lacks");
    let mut s = sources.clone();
    let url = s["datasources"][0]["url"].take();
    s["datasources"][0]["urll"] = url;
    add(s, "DatasourcesFile", "a misspelled data source key");
    let mut s = sources;
    s["datasources"][0]["type"] = serde_json::json!("influxdb");
    add(
        s,
        "DatasourcesFile",
        "a data source type sparkc does not write",
    );
    let mut p = provider;
    p["providers"][0]["options"]
        .as_object_mut()
        .map(|o| o.remove("path"));
    add(p, "DashboardsFile", "a provider without its path");
    let (files, whys): (Vec<Checked>, Vec<&str>) = broken.into_iter().unzip();
    let r = tsc(&files, "broken");
    let out = String::from_utf8_lossy(&r.stdout);
    assert!(!r.status.success(), "tsc accepted broken files");
    for (i, why) in whys.iter().enumerate() {
        assert!(
            out.contains(&format!("check-{i}.ts(")),
            "tsc did not report {why}:\n{out}"
        );
    }
}

/// Every panel query, with Grafana's `$__rate_interval` as a duration, parses as `PromQL`:
/// written as recording rules and checked by `promtool check rules`.
#[test]
fn every_panel_query_is_promql() {
    let files = generated();
    let mut exprs = Vec::new();
    let mut uids = std::collections::BTreeSet::new();
    for f in files.iter().filter(|f| f.ty == "CheckedDashboard") {
        let uid = f.json["uid"].as_str().unwrap_or("").to_string();
        assert!(uid.len() <= 40, "{}: uid `{uid}` is longer than 40", f.name);
        assert!(
            uids.insert((
                f.name.split(':').next().unwrap_or("").to_string(),
                uid.clone()
            )),
            "{}: uid `{uid}` twice",
            f.name
        );
        let panels = f.json["panels"].as_array().cloned().unwrap_or_default();
        let ids: std::collections::BTreeSet<_> = panels.iter().map(|p| p["id"].as_u64()).collect();
        assert_eq!(ids.len(), panels.len(), "{}: panel ids repeat", f.name);
        for p in panels {
            for t in p["targets"].as_array().cloned().unwrap_or_default() {
                let e = t["expr"]
                    .as_str()
                    .unwrap_or("")
                    .replace("$__rate_interval", "5m");
                exprs.push(e);
            }
        }
    }
    assert!(exprs.len() >= 10, "only {} queries", exprs.len());
    let mut rules = String::from("groups:\n- name: panels\n  rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        let _ = writeln!(
            rules,
            "  - record: panel_{i}\n    expr: {}",
            serde_json::to_string(e).unwrap_or_default()
        );
    }
    let dir = std::env::temp_dir().join(format!("sparkc-grafana-promql-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("panels.yml");
    std::fs::write(&file, &rules).unwrap_or_else(|e| panic!("{e}"));
    let r = Command::new(tool("SPARKC_PROMTOOL", "promtool"))
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        r.status.success(),
        "promtool rejected a panel query:\n{}{}\n{rules}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
}
