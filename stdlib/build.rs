//! Embeds every `std/**/*.spark` file: writes a table of (module name, `include_str`!) pairs.
use std::fmt::Write as _;
use std::path::Path;

fn walk(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "spark") {
            out.push(p.to_string_lossy().into_owned());
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    println!("cargo:rerun-if-changed=std");
    let mut files = Vec::new();
    walk(&root.join("std"), &mut files);
    let mut code = String::from("pub static MODULES: &[(&str, &str)] = &[\n");
    for f in files {
        let rel = Path::new(&f)
            .strip_prefix(root)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let module = rel.trim_end_matches(".spark").replace(['/', '\\'], ".");
        let _ = writeln!(code, "    ({module:?}, include_str!({f:?})),");
    }
    code.push_str("];\n");
    let out = std::env::var("OUT_DIR").unwrap_or_default();
    let _ = std::fs::write(Path::new(&out).join("modules.rs"), code);
}
