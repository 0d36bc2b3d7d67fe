//! The whole pipeline, source to artifacts: check, then every target. The input is one
//! `main.spark`, or, split at lines `--- NAME`, several files that may import each other.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sparkc::project::MemProvider;
use std::collections::BTreeMap;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut files = BTreeMap::new();
    let mut name = "main.spark".to_string();
    let mut body = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(n) = line.strip_prefix("--- ") {
            files.insert(std::mem::take(&mut name), std::mem::take(&mut body));
            name = n.trim().to_string();
        } else {
            body.push_str(line);
        }
    }
    files.insert(name, body);
    let provider = MemProvider { files };
    let targets = ["compose".to_string(), "prometheus".to_string()];
    let out = sparkc::compile(&provider, "main.spark", &targets, &|_| Default::default())
        .expect("built-in targets exist");
    for d in &out.diagnostics {
        let f = out.sources.get(d.primary.file);
        assert!(d.primary.span.end as usize <= f.text.len());
    }
    if out.errors() == 0 {
        for a in &out.artifacts {
            assert!(a.contents.contains(sparkc_core::target::GENERATED_MARKER));
        }
    }
});
