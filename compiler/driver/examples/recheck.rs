//! Benchmark (run by `scripts/bench`, prints figures, asserts nothing): what an editor pays
//! to re-check a project after one file changed, through the driver API.
//!
//! usage: cargo run --release -p sparkc-driver --example recheck -- `PROJECT_DIR` [RUNS]
//!
//! Reads every `.spark` file of the project and its spark.toml into a [`MemWorld`], checks
//! once (cold), then RUNS times changes one service file in an [`Overlay`] and checks again
//! with the same [`Driver`] (whose cache has every other file's parse). Prints
//! `bench-recheck files=F bytes=B cold_ms=C recheck_ms=R reparsed=P` (R the median).

/// The allocator of the `sparkc` binary (and so its language server), so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use sparkc_driver::{Config, Driver, MANIFEST, Manifest, MemWorld, Overlay};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: recheck PROJECT_DIR [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(20);
    let mut files = Vec::new();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}"));
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".spark") || name == MANIFEST {
            let text = std::fs::read_to_string(e.path()).unwrap_or_else(|e| panic!("{e}"));
            files.push((name, text));
        }
    }
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let world = MemWorld::new(files);
    let manifest = world
        .files
        .get(MANIFEST)
        .map(|t| Manifest::parse(t).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_default();
    let config = Config::from_manifest(manifest).check_only();
    let driver = Driver::new();
    let start = Instant::now();
    let first = driver
        .compile(&world, &config)
        .unwrap_or_else(|e| panic!("{e}"));
    let cold = start.elapsed();
    assert_eq!(first.errors(), 0, "the project must check clean");
    drop(first);
    let changed = "services-0.spark";
    let original = world
        .files
        .get(changed)
        .unwrap_or_else(|| panic!("{dir} has no {changed}"))
        .clone();
    let parses_before = driver.parses();
    let mut times = Vec::new();
    for i in 0..runs {
        let mut overlay = Overlay::new(&world);
        // A different image tag each time, in a service in the middle of the file: the
        // file's text (and hash) is new every run.
        let at = original.len() / 2 + original[original.len() / 2..].find(":1.2.3").unwrap_or(0);
        let mut text = original.clone();
        text.replace_range(at..at + 6, &format!(":1.2.{}", 4 + i));
        overlay.set(changed, text);
        let start = Instant::now();
        let c = driver
            .compile(&overlay, &config)
            .unwrap_or_else(|e| panic!("{e}"));
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(c.errors(), 0);
        if std::env::var_os("RECHECK_TIMINGS").is_some() && i + 1 == runs {
            for (stage, t) in &c.timings {
                eprintln!("  {stage} {:.2}", t.as_secs_f64() * 1e3);
            }
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "bench-recheck files={} bytes={bytes} cold_ms={:.1} recheck_ms={:.2} reparsed={:.1}",
        world.files.len() - 1,
        cold.as_secs_f64() * 1e3,
        times[times.len() / 2],
        (driver.parses() - parses_before) as f64 / runs as f64,
    );
}
