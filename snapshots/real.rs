//! What the real-consumer tests share: finding a consumer binary, writing a program's
//! artifacts as `sparkc build` would, starting a server and stopping it when the test ends,
//! and Docker Compose's own reading of a generated compose file.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Rendered, valid_programs, workspace};

/// A consumer binary: from `env`, else `.tools/bin/<name>`.
pub fn tool(env: &str, name: &str) -> PathBuf {
    let p = std::env::var_os(env)
        .map_or_else(|| workspace().join(".tools/bin").join(name), PathBuf::from);
    assert!(
        p.is_file(),
        "{name} not found at {}: run `scripts/install-test-tools` (the README's test command does)",
        p.display()
    );
    p
}

/// Put a program's artifacts under `dir`, as `sparkc build` would.
pub fn write_artifacts(dir: &std::path::Path, artifacts: &[sparkc_core::target::Artifact]) {
    for a in artifacts {
        let p = dir.join(&a.path);
        std::fs::create_dir_all(p.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&p, &a.contents).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// Every generated file whose path ends with `suffix`, over every valid program, written with
/// its program's other artifacts under a temporary directory as `sparkc build` would: `check`
/// gets the program's name, the file on disk and the artifact. Returns how many were checked.
pub fn each_generated(
    suffix: &str,
    mut check: impl FnMut(&str, &std::path::Path, &sparkc_core::target::Artifact),
) -> usize {
    // One directory per call: tests of one binary run at once, and may walk the same suffix.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = std::env::temp_dir().join(format!(
        "sparkc-consumers-{}-{}-{call}",
        suffix.replace('.', "-"),
        std::process::id()
    ));
    let mut checked = 0;
    for (i, (name, out)) in valid_programs().into_iter().enumerate() {
        assert_eq!(out.errors(), 0, "{name}:\n{}", out.rendered());
        let dir = tmp.join(i.to_string());
        write_artifacts(&dir, &out.artifacts);
        for a in out.artifacts.iter().filter(|a| a.path.ends_with(suffix)) {
            check(&name, &dir.join(&a.path), a);
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    checked
}

/// Start a server and wait (20 s at most) until it listens on `port`; `config` is shown if
/// it never does.
pub fn serve(cmd: &mut Command, port: u16, config: &str) -> std::process::Child {
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed().as_secs() < 20,
            "{cmd:?} did not listen on {port}:\n{config}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or_else(|e| panic!("{e}"), |a| a.port())
}

/// Stops a server when the test ends, also when it fails.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The files `env_file:` names in a compose file's `contents` (the list or the one-path form)
/// are the deployer's: empty stand-ins for them under `dir`, the file's directory.
pub fn env_file_stand_ins(dir: &Path, contents: &str) {
    let mut in_list = false;
    for line in contents.lines() {
        let t = line.trim();
        let entry = if let Some(rest) = t.strip_prefix("env_file:") {
            in_list = rest.trim().is_empty();
            (!in_list).then(|| rest.trim())
        } else if in_list && t.starts_with("- ") {
            Some(t.trim_start_matches("- "))
        } else {
            in_list = false;
            None
        };
        if let Some(rel) = entry {
            let f = dir.join(rel.trim_matches(['"', '\'']));
            std::fs::create_dir_all(f.parent().unwrap_or(dir)).unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(f, "").unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

/// `docker compose config --format json` of a generated compose file `file` (whose text is
/// `contents`), as Compose reads it: every variable `.env.example` names set to a dummy
/// value, every `env_file:` given an empty stand-in, every profile on. `Err`: Compose's
/// complaint.
pub fn compose_config(
    bin: &Path,
    file: &Path,
    contents: &str,
) -> Result<serde_json::Value, String> {
    let project_dir = file.parent().unwrap_or(file).to_path_buf();
    let example = std::fs::read_to_string(project_dir.join(".env.example")).unwrap_or_default();
    let env: String = example
        .lines()
        .filter(|l| l.ends_with('=') && !l.starts_with('#'))
        .map(|l| format!("{l}dummy\n"))
        .collect();
    env_file_stand_ins(&project_dir, contents);
    let env_file = project_dir.join("test.env");
    std::fs::write(&env_file, env).map_err(|e| e.to_string())?;
    let out = Command::new(bin)
        .arg("-f")
        .arg(file)
        .arg("--env-file")
        .arg(&env_file)
        .args(["--profile", "*", "config", "--format", "json"])
        .env_remove("DOCKER_HOST")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}
