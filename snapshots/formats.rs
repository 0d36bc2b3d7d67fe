//! The machine-readable renderings of diagnostics, pinned: `--format short` (one line each,
//! for editors and grep) and `--format json` (version 1: file, line, column, code, message,
//! severity, labels), for a program with errors in two files.

use sparkc::render;
use sparkc_driver::MemWorld;
use sparkc_snapshots::compile_with;
use std::collections::BTreeMap;

fn program() -> sparkc::Compiled {
    let provider = MemWorld {
        files: BTreeMap::from([
            (
                "main.spark".to_string(),
                "import \"hosts.spark\"\n\
                 service a on web { image = \"nginx:1.27\", imgae = \"x\" }\n\
                 service b on web { image = \"nginx:1.27\", port { http = 80 }, publish = [8080 -> http] }\n\
                 service c on web { image = \"nginx:1.27\", port { http = 80 }, publish = [8080 -> http] }\n"
                    .to_string(),
            ),
            (
                "hosts.spark".to_string(),
                "host web { runtime = compose, memory = 4GiB, address = 10.0.0.300 }\n".to_string(),
            ),
        ]),
    };
    compile_with(&provider, "main.spark", &["compose".to_string()])
}

#[test]
fn short_format() {
    let out = program();
    insta::assert_snapshot!(render::short(&out.diagnostics, &out.sources));
}

#[test]
fn json_format() {
    let out = program();
    let json = render::json(&out.diagnostics, &out.sources, None);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed["version"], 1);
    insta::assert_snapshot!(json);
}
