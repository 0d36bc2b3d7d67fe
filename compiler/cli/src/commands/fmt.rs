use crate::{ExitStatus, Format, Global};
use sparkc_core::format::{Refused, format};
use sparkc_core::source::{SourceFile, SourceSet};
use std::path::{Path, PathBuf};

/// Format .spark files in the one canonical layout (comments and blank lines kept).
///
/// With no path, every .spark file under the current directory. A file with syntax errors is
/// formatted outside its broken declarations, which stay as written; its errors are printed
/// and the exit status is 1. Only regular .spark files are read and written (no symlinks,
/// nothing hidden); a file is rewritten only when its layout changes, in place of the old one
/// in one step, with the old one's permissions.
#[derive(clap::Args)]
#[command(after_help = "\
Examples:
  sparkc fmt                     format every .spark file under the current directory
  sparkc fmt --check             exit 1 and list the files that are not formatted
  sparkc fmt - < main.spark      format standard input to standard output (for editors)")]
pub struct Fmt {
    /// Files or directories (directories are searched for .spark files); `-` reads standard
    /// input and writes the result to standard output.
    paths: Vec<PathBuf>,
    /// Write nothing; exit 1 and list the files whose layout would change.
    #[arg(long)]
    check: bool,
}

impl Fmt {
    pub fn run(self, g: &Global) -> Result<ExitStatus, String> {
        if self.paths.iter().any(|p| p.as_os_str() == "-") {
            if self.paths.len() > 1 {
                return Err("`-` (standard input) cannot be combined with other paths".into());
            }
            return Ok(self.stdin(g));
        }
        let roots = if self.paths.is_empty() {
            vec![PathBuf::from(".")]
        } else {
            self.paths.clone()
        };
        let mut files = Vec::new();
        for root in &roots {
            collect(root, true, &mut files)?;
        }
        files.sort();
        files.dedup();
        let mut status = ExitStatus::Success;
        let mut changed = 0usize;
        for path in &files {
            match self.file(g, path)? {
                Outcome::Unchanged => {}
                Outcome::Changed => changed += 1,
                Outcome::Errors { changed: c } => {
                    changed += usize::from(c);
                    status = ExitStatus::Failure;
                }
            }
        }
        if self.check && changed > 0 {
            status = ExitStatus::Failure;
        }
        if g.format != Format::Json {
            let verb = if self.check {
                "would be reformatted"
            } else {
                "reformatted"
            };
            eprintln!("{changed} of {} file(s) {verb}", files.len());
        }
        Ok(status)
    }

    fn stdin(&self, g: &Global) -> ExitStatus {
        let mut text = String::new();
        if let Err(e) = std::io::Read::read_to_string(&mut std::io::stdin(), &mut text) {
            eprintln!("error: cannot read standard input: {e}");
            return ExitStatus::Error;
        }
        match format_text("<stdin>", &text) {
            Ok((out, diags, sources)) => {
                super::print_diags(g, &diags, &sources, None, None);
                if self.check {
                    return if out == text {
                        ExitStatus::Success
                    } else {
                        ExitStatus::Failure
                    };
                }
                super::stdout(&out);
                if diags.is_empty() {
                    ExitStatus::Success
                } else {
                    ExitStatus::Failure
                }
            }
            Err(msg) => {
                eprintln!("error: <stdin>: {msg}");
                // Print the input unchanged: an editor replacing its buffer loses nothing.
                if !self.check {
                    super::stdout(&text);
                }
                ExitStatus::Failure
            }
        }
    }

    fn file(&self, g: &Global, path: &Path) -> Result<Outcome, String> {
        let shown = path.display().to_string();
        let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{shown}: not a regular file; left as is"));
        }
        if meta.len() > sparkc_core::check::load::MAX_SOURCE_BYTES as u64 {
            return Err(format!(
                "{shown}: too large ({} bytes); left as is",
                meta.len()
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
        let Ok(text) = String::from_utf8(bytes) else {
            return Err(format!("{shown}: not UTF-8 text; left as is"));
        };
        let (out, diags, sources) = match format_text(&shown, &text) {
            Ok(r) => r,
            Err(msg) => {
                eprintln!("error: {shown}: {msg}; left as is");
                return Ok(Outcome::Errors { changed: false });
            }
        };
        super::print_diags(g, &diags, &sources, None, None);
        let changed = out != text;
        if changed {
            if self.check {
                if g.format != Format::Json {
                    eprintln!("would reformat {shown}");
                }
            } else {
                replace(path, &meta, &out).map_err(|e| format!("{shown}: {e}"))?;
            }
        }
        Ok(if !diags.is_empty() {
            Outcome::Errors { changed }
        } else if changed {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        })
    }
}

enum Outcome {
    Unchanged,
    Changed,
    /// Syntax errors (printed), or a file left as is.
    Errors {
        changed: bool,
    },
}

type FormattedFile = (String, Vec<sparkc_core::diag::Diagnostic>, SourceSet);

/// The formatted text of one file, its syntax errors, and the source set they point into.
fn format_text(name: &str, text: &str) -> Result<FormattedFile, String> {
    if !sparkc_core::syntax::looks_like_source(text) {
        return Err(
            "does not look like sparkc source (it does not start with a declaration)".into(),
        );
    }
    let mut sources = SourceSet::default();
    sources.add(SourceFile {
        name: name.to_string(),
        text: text.to_string(),
        is_stdlib: false,
        opaque: false,
    });
    match format(text) {
        Ok((out, diags)) => Ok((out, diags, sources)),
        Err(Refused::Unparsable) => Err("nested too deeply to format".into()),
        Err(Refused::WouldChangeMeaning(why)) => Err(format!(
            "formatting would change what it means ({why}); this is a bug in sparkc fmt, please report it"
        )),
    }
}

/// The .spark files at `path`: the file itself when named explicitly, or those found by
/// walking a directory (hidden entries and symlinks skipped).
fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for entry in entries {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            collect(&entry.path(), false, out)?;
        }
    } else if meta.is_file() && path.extension().is_some_and(|e| e == "spark") {
        out.push(path.to_path_buf());
    } else if explicit {
        return Err(format!(
            "`{}` is not a .spark file or a directory; sparkc fmt formats only regular .spark files",
            path.display()
        ));
    }
    Ok(())
}

/// Replaces the file at `path` with `text` in one step: a new file beside it, with the old
/// one's permissions, renamed over it (a symlink put there meanwhile is replaced, never
/// followed).
fn replace(path: &Path, meta: &std::fs::Metadata, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir
        .unwrap_or(Path::new("."))
        .join(format!(".{name}.sparkc-fmt-{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    let written = f
        .write_all(text.as_bytes())
        .and_then(|()| f.set_permissions(meta.permissions()))
        .and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&temp, path)) {
        let _ = std::fs::remove_file(&temp);
        return Err(e);
    }
    Ok(())
}
