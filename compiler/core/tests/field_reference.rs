//! `docs/fields.md` is generated from the field tables (`check::lower::fields_of`), the one
//! place each field is declared: the reference cannot fall behind the language. After
//! changing a table, regenerate it with `SPARKC_BLESS=1 cargo test -p sparkc-core --test
//! field_reference`.

use sparkc_core::check::lower::fields_of;
use sparkc_core::syntax::ast::DeclKind;
use std::fmt::Write as _;
use std::path::Path;

fn reference() -> String {
    let mut out = String::from(
        "# Field reference\n\n\
         <!-- Generated from the field tables in compiler/core/src/check/lower/ by\n     \
         compiler/core/tests/field_reference.rs; do not edit by hand. -->\n\n\
         Every field each declaration takes, as `sparkc` checks it. `docs/language.md` explains\n\
         the language around them.\n",
    );
    let kinds = [
        (DeclKind::Host, "host NAME [on HYPERVISOR] { ... }"),
        (
            DeclKind::Cluster,
            "cluster NAME { servers = [HOST, ...], ... }",
        ),
        (
            DeclKind::Service,
            "service NAME on HOST [= template(...)] { ... }",
        ),
        (
            DeclKind::Secret,
            "secret NAME from env \"VAR\" | from file \"path\"",
        ),
        (
            DeclKind::Variable,
            "var NAME [from env \"VAR\"] [default VALUE]",
        ),
        (DeclKind::Network, "network NAME [on HOST] { ... }"),
        (DeclKind::Volume, "volume NAME on HOST { ... }"),
        (
            DeclKind::Config,
            "config NAME { file = \"./path\" | content = \"...\" | external = true }",
        ),
        (DeclKind::Domain, "domain NAME -> SERVICE.port.NAME { ... }"),
        (DeclKind::Monitor, "monitor NAME { ... }"),
        (DeclKind::Receiver, "receiver NAME { ... }"),
        (DeclKind::Alert, "alert NAME { ... }"),
    ];
    for (kind, form) in kinds {
        let _ = write!(
            out,
            "\n## {}\n\n`{form}`\n\n| field | written | meaning |\n|---|---|---|\n",
            kind.keyword()
        );
        for f in fields_of(kind) {
            let _ = writeln!(
                out,
                "| `{}` | `{}` | {} |",
                f.name,
                f.form.replace('|', "\\|"),
                f.doc.replace('|', "\\|")
            );
        }
    }
    out
}

#[test]
fn the_field_reference_is_generated_from_the_tables() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/fields.md");
    let want = reference();
    if std::env::var_os("SPARKC_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap_or_else(|e| panic!("{e}"));
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/fields.md is not what the field tables say; regenerate it with \
         `SPARKC_BLESS=1 cargo test -p sparkc-core --test field_reference`"
    );
}

#[test]
fn every_field_has_a_form_and_a_doc() {
    for &kind in DeclKind::ALL {
        let fields = fields_of(kind);
        assert!(!fields.is_empty(), "{kind:?}");
        for (i, f) in fields.iter().enumerate() {
            assert!(
                f.form.starts_with(f.name) && !f.doc.is_empty() && f.doc.ends_with('.'),
                "{kind:?}.{}: a form that starts with the name, and a one-sentence doc",
                f.name
            );
            assert!(
                fields[..i].iter().all(|g| g.name != f.name),
                "{kind:?}.{} is declared twice",
                f.name
            );
        }
    }
}
