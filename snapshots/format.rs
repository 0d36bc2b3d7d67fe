//! `sparkc fmt` never changes meaning and is idempotent: on every example, fixture, stdlib
//! module and fuzz corpus input, and on mutations of them (broken files included), the
//! formatter returns text — never a refusal — that formats to itself, and a project compiles
//! to the same artifacts and the same diagnostics formatted as unformatted.

use sparkc_core::format::{Refused, format};
use sparkc_driver::MemWorld;
use sparkc_snapshots::{Rng, compile_with, examples, mutate, project_files};
use std::collections::BTreeMap;

/// What a compilation says, positions aside: every artifact's path and bytes, and every
/// diagnostic's code and message.
fn meaning(c: &sparkc::Compiled) -> (Vec<(String, Vec<u8>)>, Vec<String>) {
    (
        c.artifacts
            .iter()
            .map(|a| (a.path.clone(), a.contents.clone().into_bytes()))
            .collect(),
        c.diagnostics
            .iter()
            .map(|d| format!("{} {}", d.code.as_str(), d.message))
            .collect(),
    )
}

/// How many inputs the formatter refused, of how many with syntax errors.
#[derive(Default)]
struct Refusals {
    refused: usize,
    broken: usize,
}

/// The formatted text, checked to be a fixed point. A file without syntax errors is never
/// refused; a broken one may be (the formatter would rather leave it as is than guess), and
/// is then kept as it is.
fn formatted(name: &str, text: &str, tally: &mut Refusals) -> String {
    let broken = sparkc_core::syntax::parse(sparkc_core::source::FileId(0), text)
        .1
        .iter()
        .any(|d| d.code == sparkc_core::diag::Code::Syntax);
    tally.broken += usize::from(broken);
    match format(text) {
        Ok((out, _)) => {
            match format(&out) {
                Ok((again, _)) => assert!(
                    again == out,
                    "{name}: formatting is not idempotent\n--- once:\n{out}\n--- twice:\n{again}"
                ),
                Err(_) if broken => tally.refused += 1,
                Err(e) => panic!("{name}: the formatted text is refused: {e:?}\n{out}"),
            }
            out
        }
        Err(Refused::Unparsable) => text.to_string(),
        Err(Refused::WouldChangeMeaning(_)) if broken => {
            tally.refused += 1;
            text.to_string()
        }
        Err(Refused::WouldChangeMeaning(why)) => {
            panic!("{name}: the formatter would change the meaning ({why}):\n{text}")
        }
    }
}

impl Refusals {
    /// Refusals stay rare: each is a broken file sparkc fmt leaves unformatted.
    fn check(&self) {
        println!(
            "{} of {} files with syntax errors refused",
            self.refused, self.broken
        );
        assert!(
            self.refused * 100 <= self.broken,
            "{} of {} broken files refused",
            self.refused,
            self.broken
        );
    }
}

fn targets() -> Vec<String> {
    sparkc_targets::builtin()
        .iter()
        .map(|t| t.name().to_string())
        .collect()
}

fn same_meaning(
    name: &str,
    files: &BTreeMap<String, String>,
    targets: &[String],
    tally: &mut Refusals,
) -> usize {
    let formatted_files: BTreeMap<String, String> = files
        .iter()
        .map(|(n, t)| (n.clone(), formatted(&format!("{name}/{n}"), t, tally)))
        .collect();
    let changed = formatted_files
        .iter()
        .filter(|(n, t)| files.get(*n) != Some(*t))
        .count();
    let before = compile_with(&MemWorld::new(files.clone()), "main.spark", targets);
    let after = compile_with(&MemWorld::new(formatted_files), "main.spark", targets);
    assert_eq!(
        meaning(&before),
        meaning(&after),
        "{name}: the formatted project means something else"
    );
    changed
}

#[test]
fn formatting_keeps_the_artifacts_and_diagnostics_of_every_project() {
    let targets = targets();
    let mut projects: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for ex in examples() {
        projects.push((ex.display().to_string(), project_files(&ex)));
    }
    for p in sparkc_snapshots::build_fixtures()
        .into_iter()
        .chain(sparkc_snapshots::check_fixtures())
    {
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        projects.push((
            p.display().to_string(),
            BTreeMap::from([("main.spark".to_string(), text)]),
        ));
    }
    let originals = projects.clone();
    let mut rng = Rng(0x0f0e_0d0c_0b0a_0901);
    for (name, files) in &originals {
        for round in 0..6 {
            let mutated = files
                .iter()
                .map(|(n, t)| (n.clone(), mutate(t, round % 5, &mut rng)))
                .collect();
            projects.push((format!("{name} (mutation {round})"), mutated));
        }
    }
    let mut changed = 0;
    let mut tally = Refusals::default();
    for (name, files) in &projects {
        changed += same_meaning(name, files, &targets, &mut tally);
    }
    tally.check();
    assert!(
        projects.len() > 400,
        "only {} projects were formatted",
        projects.len()
    );
    assert!(changed > 50, "only {changed} files changed layout");
}

/// Every fuzz corpus input (bundles of several files) formats to a fixed point with the
/// same meaning.
#[test]
fn formatting_keeps_the_meaning_of_every_fuzz_corpus_input() {
    let fuzz = sparkc_snapshots::workspace().join("fuzz");
    let targets = targets();
    let mut replayed = 0;
    let mut tally = Refusals::default();
    for dir in [
        "corpus/parse",
        "corpus/pipeline",
        "corpus/fmt",
        "artifacts/parse",
        "artifacts/pipeline",
        "artifacts/fmt",
    ] {
        let mut inputs: Vec<_> = std::fs::read_dir(fuzz.join(dir))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        inputs.sort();
        for p in inputs {
            let Ok(text) = std::fs::read_to_string(&p) else {
                continue;
            };
            let world = MemWorld::from_bundle(&text);
            same_meaning(&p.display().to_string(), &world.files, &targets, &mut tally);
            replayed += 1;
        }
    }
    tally.check();
    assert!(replayed > 1000, "only {replayed} corpus inputs");
}

/// The stdlib's modules and the examples are kept in the canonical layout.
#[test]
fn the_stdlib_and_the_examples_are_formatted() {
    let mut texts: Vec<(String, String)> = sparkc_stdlib::modules()
        .iter()
        .map(|m| {
            (
                m.to_string(),
                sparkc_stdlib::module(m).unwrap_or_default().to_string(),
            )
        })
        .collect();
    for ex in examples() {
        for (name, text) in project_files(&ex) {
            texts.push((format!("{}/{name}", ex.display()), text));
        }
    }
    assert!(texts.len() > 20, "only {} files", texts.len());
    for (name, text) in &texts {
        let out = formatted(name, text, &mut Refusals::default());
        assert!(
            out == *text,
            "{name} is not formatted; run `sparkc fmt stdlib examples`"
        );
    }
}
