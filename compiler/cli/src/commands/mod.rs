//! One module per subcommand, each `X::run(self, &Global) -> Result<ExitStatus, String>`
//! (an `Err` is printed as `error: ...` and exits 2).

pub mod build;
pub mod check;
pub mod explain;
pub mod fmt;
pub mod init;
pub mod lsp;
pub mod model;
pub mod stdlib;
pub mod targets;

use crate::{Color, Format, Global};
use sparkc::render;
use sparkc_core::diag::Diagnostic;
use sparkc_core::source::SourceSet;

fn use_color(c: Color) -> bool {
    match c {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
        }
    }
}

/// The process ends right after a command: freeing a compilation's millions of values one
/// by one would cost a twentieth of a build, and the kernel takes the memory back anyway.
pub fn exit_without_freeing<T>(value: T) {
    std::mem::forget(value);
}

/// Write to stdout. A reader that went away (`sparkc model | head`) is not an error: the rest
/// of the output is dropped and the run ends with its own exit status. Any other write error
/// ends the run with exit status 2.
pub fn stdout(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write to stdout: {e}");
            std::process::exit(crate::ExitStatus::Error as i32);
        }
        _ => {}
    }
}

/// Print diagnostics in the chosen format (JSON on stdout, the others on stderr); `files`
/// is the JSON document's file list.
pub fn print_diags(
    g: &Global,
    diags: &[Diagnostic],
    sources: &SourceSet,
    files: Option<Vec<String>>,
    root: Option<&std::path::Path>,
) {
    let limit = g.limit();
    let base = root
        .map(|r| r.to_string_lossy().into_owned())
        .unwrap_or_default();
    match g.format {
        Format::Github => stdout(&render::github(diags, sources, &base, limit)),
        Format::Gitlab => stdout(&format!(
            "{}\n",
            render::gitlab(diags, sources, &base, limit)
        )),
        Format::Human => eprint!(
            "{}",
            render::human_limited(diags, sources, use_color(g.color), limit)
        ),
        Format::Short => eprint!("{}", render::short_limited(diags, sources, limit)),
        Format::Json => stdout(&format!(
            "{}\n",
            render::json_limited(diags, sources, files, limit)
        )),
    }
}
