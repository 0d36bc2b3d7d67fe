//! The parser alone: any UTF-8 text parses to a tree and located diagnostics, and the parser
//! agrees with the grammar of record (the same tree where `grammar.pest` accepts the text, a
//! syntax error where it rejects it).
#![no_main]
use libfuzzer_sys::fuzz_target;
use sparkc_core::source::FileId;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (_, diags) = sparkc_core::syntax::parse(FileId(0), text);
        for d in diags {
            assert!(d.primary.span.end as usize <= text.len());
        }
        if let Err(e) = sparkc_core::syntax::agrees_with_grammar(text) {
            panic!("the parser and the grammar disagree: {e}");
        }
    }
});
