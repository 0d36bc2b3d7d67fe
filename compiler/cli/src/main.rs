//! `sparkc`: the command line. A thin shell over the compiler library: clap, rendering, the
//! file-system world and the writer. Each subcommand lives in its own module of `commands/`.

mod commands;

/// A build allocates millions of small, short-lived values; mimalloc serves them in a
/// fraction of glibc's instructions (see docs/ARCHITECTURE.md, "Speed").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

/// Compile one typed description of hosts, services, domains, secrets and monitoring
/// into the configuration files a small self-hosted setup runs on.
#[derive(Parser)]
#[command(
    name = "sparkc",
    version,
    about,
    verbatim_doc_comment,
    after_help = "\
Examples:
  sparkc init mysetup            write a starter project into ./mysetup
  sparkc check                   check the project in the current directory
  sparkc build                   write artifacts into the project's out dir
  sparkc build --check           exit 1 if the files on disk are not what would be generated
  sparkc build examples/m300 --out /tmp/m300
  sparkc explain E0302           what a diagnostic code means
  sparkc fmt                     format every .spark file in the canonical layout
  sparkc model > model.json      the checked model as JSON, for other tools
  sparkc lsp                     the language server, on stdin/stdout (for editors)
  sparkc targets                 the built-in, shipped and project template targets

Exit codes: 0 ok (warnings allowed), 1 the input has errors, 2 usage or I/O error."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every subcommand takes.
#[derive(clap::Args)]
pub struct Global {
    /// How diagnostics are printed.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "SPARKC_FORMAT"
    )]
    pub format: Format,
    /// Colour in human output.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    pub color: Color,
    /// Print at most this many diagnostics, errors first (0: all); the rest are counted.
    #[arg(long, global = true, default_value_t = 200, value_name = "N")]
    pub max_diagnostics: usize,
}

impl Global {
    pub fn limit(&self) -> sparkc::render::Limit {
        match self.max_diagnostics {
            0 => sparkc::render::Limit::NONE,
            n => sparkc::render::Limit(n),
        }
    }
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum Format {
    Human,
    Short,
    Json,
    /// GitHub Actions annotations (workflow commands on stdout).
    Github,
    /// A GitLab Code Quality report (JSON on stdout).
    Gitlab,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
pub enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    Build(commands::build::Build),
    Check(commands::check::Check),
    Explain(commands::explain::Explain),
    Fmt(commands::fmt::Fmt),
    Init(commands::init::Init),
    Lsp(commands::lsp::Lsp),
    Model(commands::model::Model),
    Stdlib(commands::stdlib::Stdlib),
    Targets(commands::targets::Targets),
}

/// How a run ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExitStatus {
    /// Done; warnings allowed.
    Success = 0,
    /// The input has errors, or `build --check` found differences.
    Failure = 1,
    /// Usage or I/O error.
    Error = 2,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let g = &cli.global;
    let result = match cli.command {
        Command::Build(c) => c.run(g),
        Command::Check(c) => c.run(g),
        Command::Explain(c) => c.run(g),
        Command::Fmt(c) => c.run(g),
        Command::Init(c) => c.run(g),
        Command::Lsp(c) => c.run(g),
        Command::Model(c) => c.run(g),
        Command::Stdlib(c) => c.run(g),
        Command::Targets(c) => c.run(g),
    };
    match result {
        Ok(status) => ExitCode::from(status as u8),
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(ExitStatus::Error as u8)
        }
    }
}
