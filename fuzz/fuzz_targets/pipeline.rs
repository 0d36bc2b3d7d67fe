//! The whole pipeline, source to artifacts: check, then every target. The input is one
//! `main.spark`, or, split at lines `--- NAME`, several files that may import each other.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sparkc::project::MemProvider;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let provider = MemProvider::from_bundle(text);
    let targets: Vec<String> = sparkc_targets::builtin()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    let out = sparkc::compile(&provider, "main.spark", &targets, &|_| Default::default())
        .expect("built-in targets exist");
    for d in &out.diagnostics {
        let f = out.sources.get(d.primary.file);
        assert!(d.primary.span.end as usize <= f.text.len());
    }
    if out.errors() == 0 {
        for a in &out.artifacts {
            assert!(a.contents.lines().next().is_some_and(|l| l.contains("sparkc")));
        }
    }
});
