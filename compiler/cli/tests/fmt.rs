//! `sparkc fmt` on disk: it rewrites only regular .spark files whose layout changes, keeps
//! their permissions, never follows a symlink or touches any other file, reports broken files
//! and leaves their broken declarations as written, and `--check` writes nothing.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sparkc-fmt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

fn sparkc(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sparkc"))
        .current_dir(cwd)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .map(|mut s| s.write_all(text.as_bytes()))
            .transpose()
            .unwrap_or_else(|e| panic!("{e}"));
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap_or_else(|e| panic!("{e}"))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const UGLY: &str = "host   web{address=10.0.0.1\nruntime=compose}\n";
const PRETTY: &str = "host web {\n  address = 10.0.0.1\n  runtime = compose\n}\n";

#[test]
fn formats_the_spark_files_under_the_directory_and_nothing_else() {
    let d = dir("tree");
    std::fs::create_dir_all(d.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(d.join(".hidden")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("main.spark"), UGLY).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("sub/other.spark"), PRETTY).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join(".hidden/h.spark"), UGLY).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("notes.txt"), UGLY).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(d.join("main.spark"), std::fs::Permissions::from_mode(0o640))
        .unwrap_or_else(|e| panic!("{e}"));
    // A symlink named .spark pointing at a file outside: never followed, never written.
    let outside = dir("tree-outside");
    std::fs::write(outside.join("victim"), UGLY).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(outside.join("victim"), d.join("link.spark"))
        .unwrap_or_else(|e| panic!("{e}"));

    let check = sparkc(&d, &["fmt", "--check"], None);
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    let err = String::from_utf8_lossy(&check.stderr);
    assert!(err.contains("would reformat ./main.spark"), "{err}");
    assert!(!err.contains("other.spark"), "{err}");
    assert_eq!(read(&d.join("main.spark")), UGLY, "--check wrote");

    let run = sparkc(&d, &["fmt"], None);
    assert_eq!(run.status.code(), Some(0), "{run:?}");
    assert_eq!(read(&d.join("main.spark")), PRETTY);
    let mode = std::fs::metadata(d.join("main.spark"))
        .unwrap_or_else(|e| panic!("{e}"))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640, "the permissions were not kept");
    assert_eq!(read(&d.join(".hidden/h.spark")), UGLY);
    assert_eq!(read(&d.join("notes.txt")), UGLY);
    assert_eq!(read(&outside.join("victim")), UGLY);
    assert!(
        std::fs::symlink_metadata(d.join("link.spark"))
            .unwrap_or_else(|e| panic!("{e}"))
            .file_type()
            .is_symlink()
    );
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&d)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.contains("sparkc-fmt")), "{names:?}");

    let again = sparkc(&d, &["fmt", "--check"], None);
    assert_eq!(again.status.code(), Some(0), "{again:?}");
}

#[test]
fn a_file_with_a_syntax_error_is_formatted_around_its_broken_declaration() {
    let d = dir("broken");
    let broken = "host   a {}\nservice b on { image = \n\nhost   c {}\n";
    std::fs::write(d.join("main.spark"), broken).unwrap_or_else(|e| panic!("{e}"));
    let run = sparkc(&d, &["fmt", "main.spark"], None);
    assert_eq!(run.status.code(), Some(1), "{run:?}");
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("E0001"), "{err}");
    assert_eq!(
        read(&d.join("main.spark")),
        "host a {}\nservice b on { image =\n\nhost c {}\n"
    );
}

#[test]
fn standard_input_is_formatted_to_standard_output() {
    let d = dir("stdin");
    let out = sparkc(&d, &["fmt", "-"], Some(UGLY));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), PRETTY);
    // A buffer that is not sparkc source comes back as it was.
    let junk = "hunter2\n";
    let out = sparkc(&d, &["fmt", "-"], Some(junk));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), junk);
}

#[test]
fn a_named_file_that_is_not_spark_source_is_refused_and_left_alone() {
    let d = dir("refused");
    std::fs::write(d.join("secrets.env"), "A=1\n").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(d.join("passwd.spark"), "root:x:0:0::/root:/bin/sh\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = sparkc(&d, &["fmt", "secrets.env"], None);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = sparkc(&d, &["fmt", "passwd.spark"], None);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("root:x"), "the file's text was shown: {err}");
    assert_eq!(read(&d.join("passwd.spark")), "root:x:0:0::/root:/bin/sh\n");
    assert_eq!(read(&d.join("secrets.env")), "A=1\n");
}
