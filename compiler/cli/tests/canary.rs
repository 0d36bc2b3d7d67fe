//! Canary secrets: known values are planted where a secret could leak from — an environment
//! variable behind a secret, a secret's file, files outside the project reached through
//! links (a stand-in for /etc/shadow, and /proc/self/environ itself), a non-.spark file, a
//! .spark file that is not source — and every project below tries to make sparkc read
//! them: imports of each, links as the entry, a secret's file imported as source. Every
//! channel is scanned: stdout and stderr of check, build and build --check in the human,
//! short and JSON formats, and every file written. No canary may appear anywhere.

use std::path::{Path, PathBuf};
use std::process::Command;

const ENV_CANARY: &str = "CANARY-env-5f1d9a";
const FILE_CANARY: &str = "CANARY-file-77c0e2";
const OUTSIDE_CANARY: &str = "CANARY-outside-3b8e41";
const NOT_SOURCE_CANARY: &str = "CANARY-notsource-a4c6d0";
const PROC_CANARY: &str = "CANARY-proc-environ-9e2b7f";
const ALL: &[&str] = &[
    ENV_CANARY,
    FILE_CANARY,
    OUTSIDE_CANARY,
    NOT_SOURCE_CANARY,
    PROC_CANARY,
];

struct Work {
    dir: PathBuf,
}

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap_or(Path::new("/"))).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(p, s).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

const BASE: &str = r#"
host web { runtime = compose }
secret db_password from env "DB_PASSWORD"
secret api_key from file "./secrets/api_key.spark"
service app on web {
  image = "nginx:1.27"
  env { DB = db_password, KEY_FILE = api_key.path }
}
"#;

/// The projects: (name, main.spark, entry override). Each tries one way in.
fn projects() -> Vec<(&'static str, String, Option<&'static str>)> {
    vec![
        ("clean", BASE.to_string(), None),
        (
            "import-link-outside",
            format!("import \"outside.spark\"\n{BASE}"),
            None,
        ),
        (
            "import-proc-environ",
            format!("import \"environ.spark\"\n{BASE}"),
            None,
        ),
        (
            "import-not-spark",
            format!("import \"secrets/plain\"\n{BASE}"),
            None,
        ),
        (
            "import-secret-file",
            format!("import \"secrets/api_key.spark\"\n{BASE}"),
            None,
        ),
        (
            "import-not-source",
            format!("import \"notes.spark\"\n{BASE}"),
            None,
        ),
        (
            "entry-link-outside",
            BASE.to_string(),
            Some("outside.spark"),
        ),
        (
            "entry-secret-file",
            BASE.to_string(),
            Some("secrets/api_key.spark"),
        ),
        ("entry-not-spark", BASE.to_string(), Some("secrets/plain")),
    ]
}

#[test]
fn no_canary_reaches_any_output() {
    let work = Work {
        dir: std::env::temp_dir().join(format!("sparkc-canary-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&work.dir);
    let outside = work.dir.join("elsewhere/shadow");
    write(
        &outside,
        &format!("root:{OUTSIDE_CANARY}:19000:0:99999:7:::\n"),
    );
    let mut scanned = 0;
    for (name, main, entry) in projects() {
        let p = work.dir.join(name);
        write(&p.join("main.spark"), &main);
        write(
            &p.join("spark.toml"),
            &format!(
                "[project]\nentry = \"{}\"\nbuild = [\"compose\", \"prometheus\", \"caddy\"]\n",
                entry.unwrap_or("main.spark")
            ),
        );
        write(
            &p.join("secrets/api_key.spark"),
            &format!("{FILE_CANARY}\n"),
        );
        write(&p.join("secrets/plain"), &format!("{FILE_CANARY}\n"));
        write(
            &p.join("notes.spark"),
            &format!("{NOT_SOURCE_CANARY} = 1\n"),
        );
        std::os::unix::fs::symlink(&outside, p.join("outside.spark"))
            .unwrap_or_else(|e| panic!("{e}"));
        std::os::unix::fs::symlink("/proc/self/environ", p.join("environ.spark"))
            .unwrap_or_else(|e| panic!("{e}"));
        let ps = p.to_string_lossy().into_owned();
        let out = p.join("out");
        let os = out.to_string_lossy().into_owned();
        let mut runs: Vec<Vec<&str>> = Vec::new();
        for format in ["human", "short", "json"] {
            runs.push(vec!["check", &ps, "--format", format]);
            runs.push(vec!["build", &ps, "--out", &os, "--format", format]);
            runs.push(vec![
                "build", &ps, "--out", &os, "--check", "--format", format,
            ]);
        }
        let mut codes = Vec::new();
        for args in &runs {
            let o = Command::new(env!("CARGO_BIN_EXE_sparkc"))
                .args(args)
                .env("NO_COLOR", "1")
                .env("DB_PASSWORD", ENV_CANARY)
                .env("SPARKC_TEST_CANARY", PROC_CANARY)
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            codes.push(o.status.code().unwrap_or(-1));
            for (channel, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
                let text = String::from_utf8_lossy(bytes);
                for c in ALL {
                    assert!(
                        !text.contains(c),
                        "{name}: `sparkc {}` printed {c} on {channel}:\n{text}",
                        args.join(" ")
                    );
                }
                scanned += 1;
            }
        }
        for f in files(&out) {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap_or_default()).into_owned();
            for c in ALL {
                assert!(!text.contains(c), "{name}: {} holds {c}", f.display());
            }
            scanned += 1;
        }
        // Every way in but the clean project is refused with a diagnostic (exit 1) or an
        // error (exit 2); the clean one builds.
        if name == "clean" {
            assert!(
                codes.iter().all(|c| *c == 0 || *c == 1),
                "{name}: {codes:?}"
            );
            assert!(out.join("compose/web/docker-compose.yml").is_file());
        } else {
            assert!(
                codes.iter().all(|c| *c == 1 || *c == 2),
                "{name}: {codes:?}"
            );
        }
    }
    assert!(scanned > 100, "only {scanned} outputs scanned");
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else if e.file_type().is_ok_and(|t| t.is_file()) {
                v.push(p);
            }
        }
    }
    v
}
