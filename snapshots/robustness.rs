//! No input makes sparkc panic or hang: mutated examples compile to success or to located
//! diagnostics. Also: three independent errors are all reported in one run.

use sparkc_driver::MemWorld;
use sparkc_snapshots::Rendered;
use sparkc_snapshots::{Rng, compile_with, examples, mutate, project_files};
use std::collections::BTreeMap;

#[test]
fn mutated_examples_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let mut runs = 0;
    for ex in examples() {
        let files = project_files(&ex);
        for name in files.keys() {
            for round in 0..60 {
                let mut m = files.clone();
                let text = m.get(name).cloned().unwrap_or_default();
                m.insert(name.clone(), mutate(&text, round % 5, &mut rng));
                let provider = MemWorld { files: m };
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    compile_with(&provider, "main.spark", &["compose".to_string()])
                }));
                let out = result.unwrap_or_else(|_| {
                    panic!(
                        "sparkc panicked on a mutation of {}/{name} (round {round})",
                        ex.display()
                    )
                });
                for d in &out.diagnostics {
                    let f = out.sources.get(d.primary.file);
                    assert!(
                        (d.primary.span.end as usize) <= f.text.len(),
                        "diagnostic span outside its file"
                    );
                    assert!(
                        !f.is_stdlib,
                        "{}/{name} (round {round}): the primary label of `{}` is in {}",
                        ex.display(),
                        d.message,
                        f.name
                    );
                }
                runs += 1;
            }
        }
    }
    assert!(runs > 100);
}

#[test]
fn three_independent_errors_are_all_reported() {
    let src = r#"
host web { runtime = compose, memory = 4GiB }
service a on web { image = "nginx:1.27", imgae = "x" }
service b on wbe { image = "nginx:1.27" }
service c on web { image = "nginx:1.27", port { http = 70000 } }
"#;
    let provider = MemWorld {
        files: BTreeMap::from([("main.spark".to_string(), src.to_string())]),
    };
    let out = compile_with(&provider, "main.spark", &[]);
    let codes: Vec<&str> = out.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["E0201", "E0101", "E0204"], "{}", out.rendered());
}

#[test]
fn binary_and_invalid_utf8_input_are_diagnosed() {
    let provider = MemWorld {
        files: BTreeMap::from([(
            "main.spark".to_string(),
            "\u{0}\u{1}\u{2}garbage\u{7f}".to_string(),
        )]),
    };
    let out = compile_with(&provider, "main.spark", &[]);
    assert!(out.errors() >= 1);
}

/// Split a source into its top-level items, each with the comments above it.
fn items(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth: i64 = 0;
    let mut in_str = false;
    for line in text.lines() {
        let starts_item = depth == 0
            && !line.trim_start().starts_with("//")
            && !line.trim().is_empty()
            && !cur.trim().is_empty()
            && cur
                .lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"));
        if starts_item {
            out.push(std::mem::take(&mut cur));
        }
        cur.push_str(line);
        cur.push('\n');
        let mut prev = ' ';
        for c in line.chars() {
            match c {
                '"' if prev != '\\' => in_str = !in_str,
                '{' | '[' | '(' if !in_str => depth += 1,
                '}' | ']' | ')' if !in_str => depth -= 1,
                _ => {}
            }
            prev = c;
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

#[test]
fn declaration_order_does_not_change_the_output() {
    let mut rng = Rng(0x0dde_c1a2_a710_0001);
    let targets: Vec<String> = sparkc_targets::builtin()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    let mut shuffles = 0;
    for ex in examples() {
        let files = project_files(&ex);
        let reference = compile_with(
            &MemWorld {
                files: files.clone(),
            },
            "main.spark",
            &targets,
        );
        assert_eq!(reference.errors(), 0, "{}", reference.rendered());
        assert!(!reference.artifacts.is_empty());
        for round in 0..12 {
            let mut shuffled = BTreeMap::new();
            let mut moved = false;
            for (name, text) in &files {
                let mut parts = items(text);
                // Fisher-Yates with the test's own generator.
                for i in (1..parts.len()).rev() {
                    parts.swap(i, rng.below(i + 1));
                }
                let joined = parts.concat();
                moved |= joined != *text;
                shuffled.insert(name.clone(), joined);
            }
            assert!(moved, "round {round} of {} shuffled nothing", ex.display());
            let out = compile_with(&MemWorld { files: shuffled }, "main.spark", &targets);
            assert_eq!(out.errors(), 0, "{}", out.rendered());
            assert_eq!(out.artifacts.len(), reference.artifacts.len());
            for (a, b) in out.artifacts.iter().zip(&reference.artifacts) {
                assert_eq!(a.path, b.path);
                assert!(
                    a.contents == b.contents,
                    "{}: {} changed when declarations were reordered (round {round})",
                    ex.display(),
                    a.path
                );
            }
            shuffles += 1;
        }
    }
    assert!(shuffles >= 30);
}

/// Every input the fuzzers kept (the minimised corpora) and every crash they found
/// (`fuzz/artifacts/`) is replayed here, so a fixed crash stays fixed. See `scripts/fuzz`.
#[test]
fn fuzz_corpus_replays_without_panic() {
    let fuzz = sparkc_snapshots::workspace().join("fuzz");
    let mut inputs = Vec::new();
    for dir in [
        "corpus/parse",
        "corpus/pipeline",
        "artifacts/parse",
        "artifacts/pipeline",
    ] {
        for e in std::fs::read_dir(fuzz.join(dir))
            .into_iter()
            .flatten()
            .flatten()
        {
            inputs.push(e.path());
        }
    }
    inputs.sort();
    let targets: Vec<String> = sparkc_targets::builtin()
        .iter()
        .map(|t| t.name().to_string())
        .collect();
    let mut replayed = 0;
    for p in &inputs {
        let Ok(bytes) = std::fs::read(p) else {
            continue; // removed while a fuzzer minimises the corpus
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue; // the fuzz targets skip non-UTF-8 input too (the CLI reports E0002)
        };
        if let Err(e) = sparkc_core::syntax::agrees_with_grammar(text) {
            panic!(
                "the parser and the grammar disagree on {}: {e}",
                p.display()
            );
        }
        let provider = MemWorld::from_bundle(text);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            compile_with(&provider, "main.spark", &targets)
        }));
        let out = result.unwrap_or_else(|_| panic!("sparkc panicked on {}", p.display()));
        for d in &out.diagnostics {
            let f = out.sources.get(d.primary.file);
            assert!((d.primary.span.end as usize) <= f.text.len());
            assert!(
                !f.is_stdlib,
                "{}: the primary label of `{}` is in {}",
                p.display(),
                d.message,
                f.name
            );
        }
        replayed += 1;
    }
    assert!(
        replayed >= 100,
        "only {replayed} corpus inputs; run scripts/fuzz"
    );
}

/// `sparkc check` skips the artifacts' text but must report exactly what a build reports:
/// every example and every fixture, valid or not.
#[test]
fn check_reports_what_build_reports() {
    let mut inputs: Vec<std::path::PathBuf> = examples();
    inputs.extend(sparkc_snapshots::build_fixtures());
    inputs.extend(sparkc_snapshots::check_fixtures());
    assert!(inputs.len() > 70, "only {} inputs", inputs.len());
    for input in inputs {
        let project =
            sparkc::project::Project::open(Some(&input)).unwrap_or_else(|e| panic!("{e}"));
        let built = sparkc::compile_project(&project).unwrap_or_else(|e| panic!("{e}"));
        let checked = sparkc::check_project(&project).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            built.rendered(),
            checked.rendered(),
            "{}: check and build disagree",
            input.display()
        );
        let paths = |c: &sparkc::Compiled| {
            c.artifacts
                .iter()
                .map(|a| a.path.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(paths(&built), paths(&checked), "{}", input.display());
    }
}

/// The hand-written parser is held to the grammar of record (`grammar.pest`, run by pest):
/// on every fixture, example, stdlib module, and on mutations of every example, it builds the
/// grammar's tree with the same diagnostics where the grammar accepts, and reports a syntax
/// error where it rejects. (The fuzz corpora are checked in `fuzz_corpus_replays_without_panic`,
/// and the `parse` fuzz target checks it on every input it makes.)
#[test]
fn the_parser_agrees_with_the_grammar_on_every_input() {
    let mut texts: Vec<(String, String)> = Vec::new();
    for p in sparkc_snapshots::check_fixtures()
        .into_iter()
        .chain(sparkc_snapshots::build_fixtures())
    {
        if let Ok(t) = std::fs::read_to_string(&p) {
            texts.push((p.display().to_string(), t));
        }
    }
    for ex in examples() {
        for (name, t) in project_files(&ex) {
            texts.push((format!("{}/{name}", ex.display()), t));
        }
    }
    for m in sparkc_stdlib::modules() {
        texts.push((
            m.to_string(),
            sparkc_stdlib::module(m).unwrap_or("").to_string(),
        ));
    }
    let mut rng = Rng(0x0a11_9e5e_d1ff_0001);
    let originals = texts.clone();
    for (name, t) in &originals {
        for round in 0..20 {
            texts.push((
                format!("{name} (mutation {round})"),
                mutate(t, round % 5, &mut rng),
            ));
        }
    }
    let (mut accepted, mut rejected) = (0, 0);
    for (name, t) in &texts {
        if let Err(e) = sparkc_core::syntax::agrees_with_grammar(t) {
            panic!("the parser and the grammar disagree on {name}: {e}\n{t}");
        }
        if sparkc_core::syntax::oracle::parse(sparkc_core::source::FileId(0), t).is_some() {
            accepted += 1;
        } else {
            rejected += 1;
        }
    }
    println!(
        "{accepted} inputs the grammar accepts, {rejected} it rejects: the parser agrees on all"
    );
    assert!(
        accepted > 100 && rejected > 100,
        "{accepted} accepted, {rejected} rejected"
    );
}

/// A file over 128 KiB is parsed in parts on every core (cut between top-level items); the
/// result is the one-piece parse's: the same items (doc comments included), the same trivia,
/// the same diagnostics — on large files made of every fixture, example and stdlib module,
/// and on mutations of them (a part with a syntax error sends the file through the one-piece
/// parse).
#[test]
fn a_large_file_parsed_in_parts_is_parsed_as_a_whole() {
    let mut pieces: Vec<String> = Vec::new();
    for p in sparkc_snapshots::build_fixtures() {
        if let Ok(t) = std::fs::read_to_string(&p) {
            pieces.push(t);
        }
    }
    for ex in examples() {
        pieces.extend(project_files(&ex).into_values());
    }
    for m in sparkc_stdlib::modules() {
        pieces.push(sparkc_stdlib::module(m).unwrap_or("").to_string());
    }
    let mut big = String::new();
    while big.len() < 400 * 1024 {
        for p in &pieces {
            big.push_str(p);
            big.push('\n');
        }
    }
    let mut rng = Rng(0x0005_eed0_fa11_da7a);
    let mut texts = vec![big.clone()];
    for round in 0..12 {
        texts.push(mutate(&big, round % 5, &mut rng));
    }
    let file = sparkc_core::source::FileId(0);
    for (i, t) in texts.iter().enumerate() {
        let (parts, pd) = sparkc_core::syntax::parse(file, t);
        let (whole, wd) = sparkc_core::syntax::parser::parse_whole(file, t);
        assert_eq!(
            format!("{:?}", parts.items),
            format!("{:?}", whole.items),
            "text {i}: the items differ"
        );
        assert_eq!(parts.trivia, whole.trivia, "text {i}: the trivia differ");
        assert_eq!(pd, wd, "text {i}: the diagnostics differ");
    }
}

/// A changed file is parsed again only around the change (`syntax::reparse`, what the parse
/// cache does for an editor's keystroke); the result must be the whole parse's — the same
/// items, spans, doc comments and trivia — on random edits of every example, fixture and
/// stdlib module (a large generated file among them). Where it declines, the caller parses
/// the whole text.
#[test]
fn a_file_parsed_again_around_an_edit_is_parsed_as_a_whole() {
    use sparkc_core::source::FileId;
    use sparkc_core::syntax::{parse, reparse::reparse};
    let mut texts: Vec<String> = Vec::new();
    for p in sparkc_snapshots::build_fixtures() {
        texts.extend(std::fs::read_to_string(&p));
    }
    for ex in examples() {
        texts.extend(project_files(&ex).into_values());
    }
    for m in sparkc_stdlib::modules() {
        texts.push(sparkc_stdlib::module(m).unwrap_or("").to_string());
    }
    // A file of hundreds of items, with doc comments, as an editor would hold.
    texts.push(
        (0..400)
            .map(|i| format!("/// service {i}\n/// more\nservice s{i} on h = t(n = {i}) {{ image = \"x:{i}\" }}\n\n"))
            .collect(),
    );
    const SNIPPETS: &[&str] = &[
        " ",
        "\n",
        "\n\n",
        "x",
        "1",
        "-",
        "// note\n",
        "/// doc\n",
        "\"s\"",
        "{",
        "}",
        "[",
        "]",
        "host extra {}\n",
        "service y on h\n",
        ", ",
        " = ",
        "\"\"\"",
        "${",
        "ä",
        "/*",
        "*/",
    ];
    let mut rng = Rng(0x0e1d_ab1e_5eed_0042);
    let (mut reparsed, mut declined) = (0, 0);
    for old in &texts {
        let (old_file, diags) = parse(FileId(0), old);
        if !diags.is_empty() || old_file.items.len() < 3 {
            continue;
        }
        for _ in 0..std::env::var("REPARSE_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(40)
        {
            let mut new = old.clone();
            let at = rng.below(new.len());
            let at = (0..=at)
                .rev()
                .find(|i| new.is_char_boundary(*i))
                .unwrap_or(0);
            match rng.below(3) {
                0 => new.insert_str(at, SNIPPETS[rng.below(SNIPPETS.len())]),
                1 => {
                    let end = (at + 1 + rng.below(12)).min(new.len());
                    if new.is_char_boundary(end) {
                        new.replace_range(at..end, "");
                    }
                }
                _ => {
                    let end = (at + 1 + rng.below(6)).min(new.len());
                    if new.is_char_boundary(end) {
                        new.replace_range(at..end, SNIPPETS[rng.below(SNIPPETS.len())]);
                    }
                }
            }
            let Some((again, again_diags)) = reparse(FileId(0), old, &old_file, &new) else {
                declined += 1;
                continue;
            };
            let (whole, whole_diags) = parse(FileId(0), &new);
            assert_eq!(
                format!("{:?}", again.items),
                format!("{:?}", whole.items),
                "the items differ after an edit at {at}:\n{new}"
            );
            assert_eq!(again.trivia, whole.trivia, "the trivia differ:\n{new}");
            assert_eq!(again_diags, whole_diags);
            reparsed += 1;
        }
    }
    println!("{reparsed} edits parsed again around the change, {declined} parsed whole");
    assert!(
        reparsed > 80,
        "only {reparsed} reparsed ({declined} declined)"
    );
}
