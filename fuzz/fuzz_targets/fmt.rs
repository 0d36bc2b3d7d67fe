//! The formatter's round trip: for any UTF-8 text, `sparkc fmt` either refuses (only a file
//! with syntax errors may be refused, or one nested too deeply to parse) or returns text that
//! parses to the same tree with the same comments and errors (`format` checks that itself)
//! and that formats to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sparkc_core::diag::Code;
use sparkc_core::format::{Refused, format};
use sparkc_core::source::FileId;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let broken = || {
        sparkc_core::syntax::parse(FileId(0), text)
            .1
            .iter()
            .any(|d| d.code == Code::Syntax)
    };
    match format(text) {
        Ok((out, _)) => match format(&out) {
            Ok((again, _)) => assert!(again == out, "not idempotent:\n{out}\n---\n{again}"),
            Err(e) => assert!(broken(), "the formatted text is refused: {e:?}"),
        },
        Err(Refused::Unparsable) => {}
        Err(Refused::WouldChangeMeaning(why)) => {
            assert!(broken(), "a valid file is refused: {why}")
        }
    }
});
