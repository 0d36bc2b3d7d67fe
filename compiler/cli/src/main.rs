//! `sparkc`: the command line. A thin shell over `sparkc-core` and `sparkc-targets`.

use clap::{Parser, Subcommand, ValueEnum};
use sparkc::project::Project;
use sparkc::{render, write};
use sparkc_core::diag::{Code, Diagnostic};
use sparkc_core::source::SourceSet;
use std::path::PathBuf;
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

Exit codes: 0 ok (warnings allowed), 1 the input has errors, 2 usage or I/O error."
)]
struct Cli {
    /// How diagnostics are printed.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "human",
        env = "SPARKC_FORMAT"
    )]
    format: Format,
    /// Colour in human output.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Human,
    Short,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Subcommand)]
enum Command {
    /// Check the project and write its artifacts into the out dir.
    Build {
        /// Project directory or single .spark file (default: nearest spark.toml).
        path: Option<PathBuf>,
        /// Output directory (default: `out` from spark.toml).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write nothing; exit 1 and list the files that differ from what would be generated.
        #[arg(long)]
        check: bool,
        /// Also overwrite files that lack sparkc's generated header.
        #[arg(long)]
        force: bool,
        /// Print the wall time of each stage to stderr (`timing STAGE MS`).
        #[arg(long)]
        timings: bool,
    },
    /// Check the project and print diagnostics only.
    Check {
        /// Project directory or single .spark file (default: nearest spark.toml).
        path: Option<PathBuf>,
    },
    /// Print the long explanation of a diagnostic code (e.g. E0302).
    Explain { code: String },
    /// Write a starter project (spark.toml and main.spark) into DIR.
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// List the stdlib's modules with their first doc line.
    Stdlib,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(2)
        }
    }
}

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

fn print_diags(
    cli_format: Format,
    color: Color,
    diags: &[Diagnostic],
    sources: &SourceSet,
    files: Option<Vec<String>>,
) {
    match cli_format {
        Format::Human => eprint!("{}", render::human(diags, sources, use_color(color))),
        Format::Short => eprint!("{}", render::short(diags, sources)),
        Format::Json => println!("{}", render::json(diags, sources, files)),
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    match cli.command {
        Command::Check { path } => {
            let project = Project::open(path.as_deref())?;
            let c = sparkc::check_project(&project)?;
            print_diags(cli.format, cli.color, &c.diagnostics, &c.sources, None);
            let errors = c.diagnostics.iter().filter(|d| d.is_error()).count();
            if cli.format != Format::Json {
                let warnings = c.diagnostics.len() - errors;
                if errors > 0 {
                    eprintln!("{errors} error(s), {warnings} warning(s)");
                } else {
                    eprintln!(
                        "ok: {} file(s) checked, {warnings} warning(s)",
                        c.sources.files.iter().filter(|f| !f.is_stdlib).count()
                    );
                }
            }
            Ok(u8::from(errors > 0))
        }
        Command::Build {
            path,
            out,
            check,
            force,
            timings,
        } => {
            let start = std::time::Instant::now();
            let project = Project::open(path.as_deref())?;
            let out_dir = project.out_dir(out.as_deref());
            // Nothing changed since a clean build: no need to compile to know.
            if check && sparkc::stamp::up_to_date(&project, &out_dir) {
                if cli.format == Format::Json {
                    println!(
                        "{}",
                        render::json(&[], &SourceSet::default(), Some(Vec::new()))
                    );
                } else {
                    eprintln!("up to date (unchanged since the last build)");
                }
                if timings {
                    eprintln!("timing stamp {:.3}", start.elapsed().as_secs_f64() * 1e3);
                }
                return Ok(0);
            }
            let mut c = sparkc::compile_project(&project)?;
            let print_timings = |c: &sparkc::Compiled| {
                if timings {
                    for (stage, t) in &c.timings {
                        eprintln!("timing {stage} {:.3}", t.as_secs_f64() * 1e3);
                    }
                    eprintln!("timing total {:.3}", start.elapsed().as_secs_f64() * 1e3);
                }
            };
            let has_errors = c.diagnostics.iter().any(Diagnostic::is_error);
            if has_errors {
                print_diags(cli.format, cli.color, &c.diagnostics, &c.sources, None);
                if cli.format != Format::Json {
                    eprintln!(
                        "{} error(s); nothing written",
                        c.diagnostics.iter().filter(|d| d.is_error()).count()
                    );
                }
                return Ok(1);
            }
            let written = std::time::Instant::now();
            let plan = write::plan(&out_dir, &c.artifacts)?;
            if check {
                c.timings.push(("compare".to_string(), written.elapsed()));
                print_timings(&c);
                let mut differ: Vec<String> =
                    plan.changed.iter().chain(&plan.foreign).cloned().collect();
                differ.extend(plan.stale.iter().map(|s| format!("{s} (stale)")));
                print_diags(
                    cli.format,
                    cli.color,
                    &c.diagnostics,
                    &c.sources,
                    Some(differ.clone()),
                );
                if cli.format != Format::Json {
                    for f in &differ {
                        println!("{}", out_dir.join(f).display());
                    }
                    if differ.is_empty() {
                        eprintln!("up to date: {} file(s)", c.artifacts.len());
                    } else {
                        eprintln!(
                            "{} file(s) differ from what `sparkc build` would write",
                            differ.len()
                        );
                    }
                }
                return Ok(u8::from(!differ.is_empty()));
            }
            write::apply(&out_dir, &c.artifacts, &plan, force)?;
            // Only a build without warnings is stamped: the fast check must not hide one.
            sparkc::stamp::record(
                &out_dir,
                c.diagnostics
                    .is_empty()
                    .then(|| sparkc::stamp::render(&project, &c.sources, &c.artifacts)),
            )?;
            c.timings.push(("write".to_string(), written.elapsed()));
            print_timings(&c);
            print_diags(
                cli.format,
                cli.color,
                &c.diagnostics,
                &c.sources,
                Some(c.artifacts.iter().map(|a| a.path.clone()).collect()),
            );
            if cli.format != Format::Json {
                eprintln!(
                    "wrote {} of {} file(s) to {}{}",
                    plan.changed.len() + if force { plan.foreign.len() } else { 0 },
                    c.artifacts.len(),
                    out_dir.display(),
                    if plan.stale.is_empty() {
                        String::new()
                    } else {
                        format!(", removed {} stale", plan.stale.len())
                    }
                );
            }
            Ok(0)
        }
        Command::Explain { code } => match Code::parse(&code) {
            Some(c) => {
                print!("{}", sparkc::explain(c));
                Ok(0)
            }
            None => Err(format!(
                "unknown diagnostic code `{code}`; codes look like E0302 (see docs/diagnostics/)"
            )),
        },
        Command::Init { dir } => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            for (name, _) in [
                ("spark.toml", sparkc::starter::MANIFEST),
                ("main.spark", sparkc::starter::MAIN),
            ] {
                let p = dir.join(name);
                if p.exists() {
                    return Err(format!(
                        "{} exists already; sparkc init never overwrites",
                        p.display()
                    ));
                }
            }
            for (name, text) in [
                ("spark.toml", sparkc::starter::MANIFEST),
                ("main.spark", sparkc::starter::MAIN),
            ] {
                std::fs::write(dir.join(name), text)
                    .map_err(|e| format!("cannot write {name}: {e}"))?;
            }
            eprintln!(
                "wrote {0}/spark.toml and {0}/main.spark; next: sparkc build {0}",
                dir.display()
            );
            Ok(0)
        }
        Command::Stdlib => {
            for m in sparkc_stdlib::modules() {
                let text = sparkc_stdlib::module(m).unwrap_or("");
                let doc = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("///"))
                    .unwrap_or("")
                    .trim();
                println!("{m:34} {doc}");
            }
            Ok(0)
        }
    }
}
