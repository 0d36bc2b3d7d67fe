//! The parser alone: any bytes that are UTF-8 parse to an AST or to located diagnostics, and
//! parsing in parts (as large files are) never disagrees with parsing whole.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sparkc_core::source::FileId;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let (_, diags) = sparkc_core::syntax::parse(FileId(0), text);
        for d in diags {
            assert!(d.primary.span.end as usize <= text.len());
        }
        assert!(
            sparkc_core::syntax::parts_agree(text, 3),
            "parsing in parts disagrees with parsing whole"
        );
    }
});
