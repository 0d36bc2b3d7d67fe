//! The whole pipeline, source to artifacts: check, then every target. The input is one
//! `main.spark`, or, split at lines `--- NAME`, several files that may import each other.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sparkc_driver::MemWorld;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let world = MemWorld::from_bundle(text);
    let targets: Vec<&str> = sparkc_targets::builtin().iter().map(|t| t.name()).collect();
    let out = sparkc_driver::compile(&world, &sparkc_driver::Config::new("main.spark", &targets))
        .expect("built-in targets exist");
    for d in &out.diagnostics {
        let f = out.sources.get(d.primary.file);
        assert!(d.primary.span.end as usize <= f.text.len());
        assert!(!f.is_stdlib, "a primary label in the stdlib");
    }
    if out.errors() == 0 {
        for a in &out.artifacts {
            assert!(a.contents.lines().next().is_some_and(|l| l.contains("sparkc")));
        }
    }
});
