//! Step 1: source text → syntax tree. [`parser::parse`] never fails; [`oracle`] runs the
//! grammar of record (`grammar.pest`), which the parser is held to.
pub mod ast;
pub mod literal;
pub mod oracle;
pub mod parser;
pub mod reparse;
pub use parser::{agrees_with_grammar, parse};

/// The words a top-level item starts with.
pub const ITEM_KEYWORDS: &[&str] = &[
    "import", "const", "template", "host", "service", "secret", "var", "network", "volume",
    "config", "domain", "monitor", "receiver", "alert", "cluster",
];

/// Where the first token of `text` starts, after whitespace and comments; `None` when there
/// is none.
pub fn first_token(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        if text[i..].starts_with('\u{FEFF}') {
            i += 3;
            continue;
        }
        if text[i..].starts_with("//") {
            i = text[i..].find('\n').map_or(b.len(), |n| i + n);
            continue;
        }
        if text[i..].starts_with("/*") {
            i = text[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            continue;
        }
        return (i < b.len()).then_some(i);
    }
}

/// Whether `text` starts like sparkc source: empty, or its first token a word that starts a
/// top-level item. A file that does not (a secrets file, `/etc/shadow`, a binary) is never
/// quoted in a diagnostic.
pub fn looks_like_source(text: &str) -> bool {
    let Some(at) = first_token(text) else {
        return true;
    };
    let word: &str = {
        let rest = &text[at..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        &rest[..end]
    };
    ITEM_KEYWORDS.contains(&word)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn source_or_not() {
        assert!(looks_like_source(""));
        assert!(looks_like_source("  // c\n/* x */ host web {}"));
        assert!(looks_like_source("\u{FEFF}import \"a.spark\""));
        assert!(looks_like_source("service{"));
        for no in [
            "hunter2",
            "root:$6$abc:19000:0:99999:7:::",
            "PATH=/usr/bin\0HOME=/root",
            "hostx web {}",
            "{ }",
        ] {
            assert!(!looks_like_source(no), "{no:?}");
        }
        assert_eq!(first_token("/* unterminated"), None);
    }
}
