//! `sparkc stdlib` lists every template with the first sentence of its doc; `sparkc stdlib
//! NAME` shows one: its doc, every parameter (the required ones said so) and the fields it
//! provides.

use std::process::Command;

fn stdlib(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sparkc"))
        .arg("stdlib")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_template_is_listed_with_a_sentence() {
    let (code, out, _) = stdlib(&[]);
    assert_eq!(code, 0);
    let modules = sparkc_stdlib::modules();
    assert_eq!(out.lines().count(), modules.len(), "{out}");
    for (line, m) in out.lines().zip(&modules) {
        let doc = line.strip_prefix(m).map_or("", str::trim);
        assert!(
            doc.ends_with('.') || doc.ends_with(')'),
            "{m}: no doc sentence: {line:?}"
        );
    }
}

#[test]
fn one_template_shows_its_parameters_and_fields() {
    let (code, out, err) = stdlib(&["mysql"]);
    assert_eq!(code, 0, "{err}");
    for want in [
        "import std.apps.{mysql}",
        "database: string",
        "(required)",
        "version: string = \"8.4\"",
        "env { MYSQL_DATABASE,",
        "healthcheck",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert_eq!(
        stdlib(&["std.apps.mysql"]).1,
        out,
        "the module name shows the same"
    );
    let (code, _, err) = stdlib(&["mysq"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `mysql`"), "{err}");
}
