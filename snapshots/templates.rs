//! Template targets: the two shipped ones (`homepage`, `uptime-kuma`) on the M300 example,
//! snapshotted and read back by a YAML and a JSON parser; a user's template directory named
//! in spark.toml; template errors as diagnostics at the template's line; a template that
//! tries to reach a file or the environment gets an error, not the data.

use sparkc_driver::{Config, MANIFEST, Manifest, MemWorld};
use sparkc_snapshots::{Rendered, project_files, workspace};
use std::collections::BTreeMap;

fn compile(files: Vec<(String, String)>) -> sparkc::Compiled {
    let world = MemWorld::new(files);
    let manifest = world
        .files
        .get(MANIFEST)
        .map(|t| Manifest::parse(t).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_default();
    sparkc_driver::compile(&world, &Config::from_manifest(manifest))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn m300_with(build: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = project_files(&workspace().join("examples/m300"))
        .into_iter()
        .collect();
    files.push((
        MANIFEST.to_string(),
        format!(
            "[project]\nname = \"m300\"\nentry = \"main.spark\"\nbuild = [{build}]\n{}",
            extra
                .iter()
                .find(|(n, _)| *n == MANIFEST)
                .map_or("", |(_, t)| t)
        ),
    ));
    files.extend(
        extra
            .iter()
            .filter(|(n, _)| *n != MANIFEST)
            .map(|(n, t)| ((*n).to_string(), (*t).to_string())),
    );
    files
}

fn artifact<'c>(c: &'c sparkc::Compiled, path: &str) -> &'c str {
    match c.artifacts.iter().find(|a| a.path == path) {
        Some(a) => a.contents.as_str(),
        None => panic!(
            "no {path} in {:?}\n{}",
            c.artifacts.iter().map(|a| &a.path).collect::<Vec<_>>(),
            c.rendered()
        ),
    }
}

/// Homepage's services.yaml: groups, each a list of one-key maps of an entry's settings.
type Entry = BTreeMap<String, BTreeMap<String, String>>;
type Groups = Vec<BTreeMap<String, Vec<Entry>>>;

#[test]
fn homepage_lists_every_domain_by_host() {
    let c = compile(m300_with("\"caddy\", \"homepage\"", &[]));
    assert_eq!(c.errors(), 0, "{}", c.rendered());
    let yaml = artifact(&c, "homepage/services.yaml");
    insta::assert_snapshot!("homepage_services_yaml", yaml);
    // What Homepage reads: a list of groups, each a list of one-key maps with an href.
    let groups: Groups = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let entries: Vec<_> = groups.iter().flat_map(|g| g.values().flatten()).collect();
    assert_eq!(entries.len(), c.model.domains.len());
    for d in &c.model.domains {
        assert!(
            entries.iter().any(|e| e
                .values()
                .any(|v| v["href"] == format!("https://{}", d.name))),
            "no entry for {}",
            d.name
        );
    }
}

#[test]
fn uptime_kuma_has_a_monitor_per_monitor() {
    let c = compile(m300_with("\"uptime-kuma\"", &[]));
    assert_eq!(c.errors(), 0, "{}", c.rendered());
    let json = artifact(&c, "uptime-kuma/monitors.json");
    insta::assert_snapshot!("uptime_kuma_monitors_json", json);
    let doc: serde_json::Value =
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}\n{json}"));
    let list = doc["monitorList"]
        .as_array()
        .unwrap_or_else(|| panic!("no monitorList"));
    let probing: Vec<_> = c.model.monitors.iter().filter(|m| m.probes).collect();
    assert_eq!(list.len(), probing.len());
    for (m, j) in probing.into_iter().zip(list) {
        assert_eq!(j["name"], m.name.as_str());
        assert!(j["interval"].as_u64().is_some_and(|i| i > 0));
        assert!(matches!(j["type"].as_str(), Some("http" | "port" | "ping")));
        // The status codes the monitor accepts (the M300 login pages answer 401).
        let want: Vec<String> = if m.status.is_empty() {
            vec!["200-299".to_string()]
        } else {
            m.status.iter().map(u16::to_string).collect()
        };
        assert_eq!(
            j["accepted_statuscodes"],
            serde_json::json!(want),
            "{}",
            m.name
        );
    }
}

#[test]
fn a_users_template_directory_is_rendered_into_the_out_dir() {
    let c = compile(m300_with(
        "\"inventory\"",
        &[
            (
                MANIFEST,
                "[targets.inventory]\ntemplates = \"templates/inventory\"\n",
            ),
            (
                "templates/inventory/hosts.txt.j2",
                "{% for h in hosts %}{{ h.name }} {{ h.address }}\n{% endfor %}",
            ),
            (
                "templates/inventory/nested/services.csv.jinja",
                "{% include '_header.j2' %}{% for s in services %}{{ s.name }},{{ hosts[s.host].name }}\n{% endfor %}",
            ),
            ("templates/inventory/_header.j2", "service,host\n"),
        ],
    ));
    assert_eq!(c.errors(), 0, "{}", c.rendered());
    assert_eq!(artifact(&c, "inventory/hosts.txt"), "m300 203.0.113.30\n");
    let csv = artifact(&c, "inventory/nested/services.csv");
    assert!(csv.starts_with("service,host\n"), "{csv}");
    assert_eq!(csv.lines().count(), c.model.services.len() + 1);
    assert!(
        c.artifacts.iter().all(|a| !a.path.contains("_header")),
        "a partial was rendered"
    );
}

#[test]
fn template_errors_point_at_the_template() {
    let c = compile(m300_with(
        "\"broken\"",
        &[
            (MANIFEST, "[targets.broken]\ntemplates = \"tpl\"\n"),
            ("tpl/a.txt.j2", "fine\n{{ servcies | length }}\n"),
        ],
    ));
    assert_eq!(c.errors(), 1);
    insta::assert_snapshot!("template_error", c.rendered());

    // A missing directory is spark.toml's error.
    let c = compile(m300_with(
        "\"gone\"",
        &[(MANIFEST, "[targets.gone]\ntemplates = \"nowhere\"\n")],
    ));
    assert_eq!(c.errors(), 1);
    insta::assert_snapshot!("template_dir_missing", c.rendered());
}

#[test]
fn a_template_reaches_no_file_and_no_environment() {
    for (tpl, what) in [
        ("{% include '/etc/passwd' %}", "template not found"),
        ("{% include '../spark.toml' %}", "template not found"),
        ("{{ env.HOME }}", "undefined"),
        ("{{ environ('HOME') }}", "unknown function"),
    ] {
        let c = compile(m300_with(
            "\"t\"",
            &[
                (MANIFEST, "[targets.t]\ntemplates = \"tpl\"\n"),
                ("tpl/x.j2", tpl),
            ],
        ));
        assert_eq!(c.errors(), 1, "{tpl}: {}", c.rendered());
        assert!(c.rendered().contains(what), "{tpl}: {}", c.rendered());
    }
}
