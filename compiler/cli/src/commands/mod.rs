//! One module per subcommand, each `X::run(self, &Global) -> Result<ExitStatus, String>`
//! (an `Err` is printed as `error: ...` and exits 2).

pub mod build;
pub mod check;
pub mod explain;
pub mod init;
pub mod stdlib;

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

/// Print diagnostics in the chosen format (JSON on stdout, the others on stderr); `files`
/// is the JSON document's file list.
pub fn print_diags(
    g: &Global,
    diags: &[Diagnostic],
    sources: &SourceSet,
    files: Option<Vec<String>>,
) {
    let limit = g.limit();
    match g.format {
        Format::Human => eprint!(
            "{}",
            render::human_limited(diags, sources, use_color(g.color), limit)
        ),
        Format::Short => eprint!("{}", render::short_limited(diags, sources, limit)),
        Format::Json => println!("{}", render::json_limited(diags, sources, files, limit)),
    }
}
