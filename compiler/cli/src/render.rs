//! Diagnostic renderers: `human` (miette's graphical report), `short` (one line each) and
//! `json` (sparkc's own versioned schema).

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;
use sparkc_core::diag::{Diagnostic, Severity};
use sparkc_core::source::SourceSet;
use std::fmt;

/// One diagnostic as a miette report over its primary file. Labels in other files become
/// related reports over their own files.
struct Report<'a> {
    d: &'a Diagnostic,
    sources: &'a SourceSet,
    src: NamedSource<String>,
    related: Vec<Related>,
}

struct Related {
    msg: String,
    src: NamedSource<String>,
    span: SourceSpan,
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}
impl std::error::Error for Report<'_> {}

impl fmt::Debug for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
impl fmt::Display for Related {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
impl std::error::Error for Related {}
impl miette::Diagnostic for Related {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Advice)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some("here".into()),
            self.span,
        ))))
    }
}

fn span(s: sparkc_core::source::Span, text: &str) -> SourceSpan {
    let start = (s.start as usize).min(text.len());
    let end = (s.end as usize).clamp(start, text.len());
    SourceSpan::new(start.into(), end - start)
}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.d.code.as_str()))
    }
    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let text = &self.sources.get(self.d.primary.file).text;
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            self.d.primary.message.clone(),
            span(self.d.primary.span, text),
        )];
        for l in &self.d.secondary {
            if l.file == self.d.primary.file {
                labels.push(LabeledSpan::new_with_span(
                    l.message.clone(),
                    span(l.span, text),
                ));
            }
        }
        Some(Box::new(labels.into_iter()))
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

fn report<'a>(d: &'a Diagnostic, sources: &'a SourceSet) -> Report<'a> {
    let f = sources.get(d.primary.file);
    let related = d
        .secondary
        .iter()
        .filter(|l| l.file != d.primary.file)
        .map(|l| {
            let lf = sources.get(l.file);
            Related {
                msg: l.message.clone().unwrap_or_default(),
                src: NamedSource::new(lf.name.clone(), lf.text.clone()),
                span: span(l.span, &lf.text),
            }
        })
        .collect();
    Report {
        d,
        sources,
        src: NamedSource::new(f.name.clone(), f.text.clone()),
        related,
    }
}

/// Human-readable reports. `color`: ANSI colours; tests render without, at a fixed width.
pub fn human(diags: &[Diagnostic], sources: &SourceSet, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for d in diags {
        // A snippet of a huge line (a 1 MB name) would print the line whole; those
        // diagnostics are shown without one.
        if snippet_too_wide(d, sources) || shows_opaque(d, sources) {
            out.push_str(&plain(d, sources));
            out.push('\n');
            continue;
        }
        let r = report(d, sources);
        let mut s = String::new();
        if handler.render_report(&mut s, &r).is_err() {
            s = format!(
                "{}[{}]: {}\n",
                if d.is_error() { "error" } else { "warning" },
                d.code,
                d.message
            );
        }
        out.push_str(&s);
        out.push('\n');
    }
    out
}

/// Whether a label points into a file whose text is never shown (not sparkc source).
fn shows_opaque(d: &Diagnostic, sources: &SourceSet) -> bool {
    std::iter::once(&d.primary)
        .chain(&d.secondary)
        .any(|l| sources.get(l.file).opaque)
}

/// Widest source line shown in a snippet.
const MAX_SNIPPET_LINE: usize = 1000;

fn snippet_too_wide(d: &Diagnostic, sources: &SourceSet) -> bool {
    std::iter::once(&d.primary).chain(&d.secondary).any(|l| {
        let text = &sources.get(l.file).text;
        let (start, end) = (l.span.start as usize, l.span.end as usize);
        let line_start = text[..start.min(text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line_end = text[end.min(text.len())..]
            .find('\n')
            .map_or(text.len(), |i| end + i);
        line_end.saturating_sub(line_start) > MAX_SNIPPET_LINE
    })
}

/// A diagnostic without a source snippet: location, message, labels, help.
fn plain(d: &Diagnostic, sources: &SourceSet) -> String {
    let f = sources.get(d.primary.file);
    let (l, c) = f.line_col(d.primary.span.start as usize);
    let sev = if d.is_error() { "error" } else { "warning" };
    let mut s = format!(
        "{sev}[{}]: {}\n  --> {}:{l}:{c}\n",
        d.code, d.message, f.name
    );
    for label in std::iter::once(&d.primary).chain(&d.secondary) {
        if let Some(m) = &label.message {
            let lf = sources.get(label.file);
            let (l, c) = lf.line_col(label.span.start as usize);
            s.push_str(&format!("  {}:{l}:{c}: {m}\n", lf.name));
        }
    }
    if let Some(h) = &d.help {
        s.push_str(&format!("  help: {h}\n"));
    }
    s
}

/// `file:line:col: severity[code]: message`, one per line.
pub fn short(diags: &[Diagnostic], sources: &SourceSet) -> String {
    let mut out = String::new();
    for d in diags {
        let f = sources.get(d.primary.file);
        let (l, c) = f.line_col(d.primary.span.start as usize);
        let sev = if d.is_error() { "error" } else { "warning" };
        out.push_str(&format!(
            "{}:{l}:{c}: {sev}[{}]: {}\n",
            f.name, d.code, d.message
        ));
    }
    out
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    start: u32,
    end: u32,
    message: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonDiag<'a> {
    code: &'static str,
    severity: Severity,
    message: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    help: Option<&'a str>,
    labels: Vec<JsonLabel<'a>>,
}

#[derive(Serialize)]
pub struct JsonReport<'a> {
    version: u32,
    diagnostics: Vec<JsonDiag<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

fn label<'a>(l: &'a sparkc_core::diag::Label, sources: &'a SourceSet) -> JsonLabel<'a> {
    let f = sources.get(l.file);
    let (line, column) = f.line_col(l.span.start as usize);
    let (end_line, end_column) = f.line_col(l.span.end as usize);
    JsonLabel {
        file: &f.name,
        line,
        column,
        end_line,
        end_column,
        start: l.span.start,
        end: l.span.end,
        message: l.message.as_deref(),
    }
}

pub fn json_report<'a>(
    diags: &'a [Diagnostic],
    sources: &'a SourceSet,
    files: Option<Vec<String>>,
) -> JsonReport<'a> {
    let diagnostics = diags
        .iter()
        .map(|d| {
            let p = label(&d.primary, sources);
            JsonDiag {
                code: d.code.as_str(),
                severity: d.severity,
                message: &d.message,
                file: p.file,
                line: p.line,
                column: p.column,
                end_line: p.end_line,
                end_column: p.end_column,
                help: d.help.as_deref(),
                labels: std::iter::once(p)
                    .chain(d.secondary.iter().map(|l| label(l, sources)))
                    .collect(),
            }
        })
        .collect();
    JsonReport {
        version: 1,
        diagnostics,
        files,
    }
}

pub fn json(diags: &[Diagnostic], sources: &SourceSet, files: Option<Vec<String>>) -> String {
    serde_json::to_string_pretty(&json_report(diags, sources, files))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
