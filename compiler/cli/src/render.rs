//! Diagnostic renderers: `human` (miette's graphical report), `short` (one line each) and
//! `json` (sparkc's own versioned schema).
//!
//! Rendering is linear in the number of diagnostics: each file's line index is built once
//! (`Lines`), and miette is given only the lines around each span (`Window`), never a copy
//! of the file. At most [`Limit`] diagnostics are printed (errors before warnings), then a
//! count of the rest; the exit code still counts them all.

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;
use sparkc_core::diag::{Diagnostic, Severity};
use sparkc_core::source::{FileId, LineIndex, SourceSet};
use std::cell::OnceCell;
use std::fmt;
use std::fmt::Write as _;

/// How many diagnostics a renderer prints; the rest are counted.
#[derive(Debug, Clone, Copy)]
pub struct Limit(pub usize);

impl Limit {
    /// A screenful and then some: no one reads the 201st diagnostic of one run.
    pub const DEFAULT: Limit = Limit(200);
    pub const NONE: Limit = Limit(usize::MAX);
}

/// The diagnostics a renderer shows — every error before any warning is left out — in their
/// original order, and how many of each severity it leaves out.
struct Shown<'d> {
    list: Vec<&'d Diagnostic>,
    omitted_errors: usize,
    omitted_warnings: usize,
}

fn select(diags: &[Diagnostic], limit: Limit) -> Shown<'_> {
    if diags.len() <= limit.0 {
        return Shown {
            list: diags.iter().collect(),
            omitted_errors: 0,
            omitted_warnings: 0,
        };
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let keep_errors = errors.min(limit.0);
    let keep_warnings = limit.0 - keep_errors;
    let (mut e, mut w) = (0, 0);
    let list = diags
        .iter()
        .filter(|d| {
            if d.is_error() {
                e += 1;
                e <= keep_errors
            } else {
                w += 1;
                w <= keep_warnings
            }
        })
        .collect();
    Shown {
        list,
        omitted_errors: errors - keep_errors,
        omitted_warnings: diags.len() - errors - keep_warnings,
    }
}

impl Shown<'_> {
    fn omitted_note(&self) -> Option<String> {
        let n = self.omitted_errors + self.omitted_warnings;
        (n > 0).then(|| {
            format!(
                "... and {n} more ({} error(s), {} warning(s)) not shown; `--max-diagnostics 0` shows all",
                self.omitted_errors, self.omitted_warnings
            )
        })
    }
}

/// Each file's line index, built the first time a diagnostic points into the file.
struct Lines<'s> {
    sources: &'s SourceSet,
    index: Vec<OnceCell<LineIndex>>,
}

impl<'s> Lines<'s> {
    fn new(sources: &'s SourceSet) -> Self {
        Lines {
            sources,
            index: (0..sources.files.len()).map(|_| OnceCell::new()).collect(),
        }
    }
    fn of(&self, file: FileId) -> &LineIndex {
        self.index[file.0 as usize].get_or_init(|| LineIndex::new(&self.sources.get(file).text))
    }
    fn line_col(&self, file: FileId, offset: usize) -> (usize, usize) {
        self.of(file).line_col(&self.sources.get(file).text, offset)
    }
    fn window(&self, file: FileId) -> Window<'_> {
        let f = self.sources.get(file);
        Window {
            name: &f.name,
            text: &f.text,
            lines: self.of(file),
        }
    }
}

/// A file as miette reads it: only the lines around a span are handed over, with their true
/// line numbers and offsets.
struct Window<'a> {
    name: &'a str,
    text: &'a str,
    lines: &'a LineIndex,
}

impl SourceCode for Window<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset().min(self.text.len());
        let end = (span.offset() + span.len()).min(self.text.len());
        let first = self.lines.line_of(start).saturating_sub(before);
        let last = (self.lines.line_of(end) + after).min(self.lines.line_count() - 1);
        let ws = self.lines.line_start(first, self.text);
        let we = self.lines.line_start(last + 1, self.text);
        let window = &self.text[ws..we];
        let local = SourceSpan::new((start - ws).into(), end - start);
        let inner = window.read_span(&local, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.to_string(),
            inner.data(),
            SourceSpan::new((inner.span().offset() + ws).into(), inner.span().len()),
            inner.line() + first,
            inner.column(),
            // As miette counts for a whole file: lines from its start to the snippet's end
            // (its merging of nearby snippets depends on it).
            inner.line_count() + first,
        )))
    }
}

/// One diagnostic as a miette report over its primary file. Labels in other files become
/// related reports over their own files.
struct Report<'a> {
    d: &'a Diagnostic,
    src: Window<'a>,
    related: Vec<Related<'a>>,
}

struct Related<'a> {
    msg: String,
    src: Window<'a>,
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

impl fmt::Debug for Related<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
impl fmt::Display for Related<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}
impl std::error::Error for Related<'_> {}
impl miette::Diagnostic for Related<'_> {
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
        let text = self.src.text;
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

fn report<'a>(d: &'a Diagnostic, lines: &'a Lines<'a>) -> Report<'a> {
    let related = d
        .secondary
        .iter()
        .filter(|l| l.file != d.primary.file)
        .map(|l| Related {
            msg: l.message.clone().unwrap_or_default(),
            src: lines.window(l.file),
            span: span(l.span, &lines.sources.get(l.file).text),
        })
        .collect();
    Report {
        d,
        src: lines.window(d.primary.file),
        related,
    }
}

/// Human-readable reports. `color`: ANSI colours; tests render without, at a fixed width.
pub fn human(diags: &[Diagnostic], sources: &SourceSet, color: bool) -> String {
    human_limited(diags, sources, color, Limit::DEFAULT)
}

pub fn human_limited(
    diags: &[Diagnostic],
    sources: &SourceSet,
    color: bool,
    limit: Limit,
) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let lines = Lines::new(sources);
    let shown = select(diags, limit);
    let mut out = String::new();
    for d in &shown.list {
        // A snippet of a huge line (a 1 MB name) would print the line whole, and a file
        // that is not sparkc source is never shown: those come without a snippet.
        if snippet_too_wide(d, &lines) || shows_opaque(d, sources) {
            out.push_str(&plain(d, &lines));
            out.push('\n');
            continue;
        }
        let r = report(d, &lines);
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
    if let Some(note) = shown.omitted_note() {
        out.push_str(&note);
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

fn snippet_too_wide(d: &Diagnostic, lines: &Lines<'_>) -> bool {
    std::iter::once(&d.primary).chain(&d.secondary).any(|l| {
        let text = &lines.sources.get(l.file).text;
        let idx = lines.of(l.file);
        let first = idx.line_of((l.span.start as usize).min(text.len()));
        let last = idx.line_of((l.span.end as usize).min(text.len()));
        (first..=last)
            .any(|n| idx.line_start(n + 1, text) - idx.line_start(n, text) > MAX_SNIPPET_LINE)
    })
}

/// A diagnostic without a source snippet: location, message, labels, help.
fn plain(d: &Diagnostic, lines: &Lines<'_>) -> String {
    let f = lines.sources.get(d.primary.file);
    let (l, c) = lines.line_col(d.primary.file, d.primary.span.start as usize);
    let sev = if d.is_error() { "error" } else { "warning" };
    let mut s = format!(
        "{sev}[{}]: {}\n  --> {}:{l}:{c}\n",
        d.code, d.message, f.name
    );
    for label in std::iter::once(&d.primary).chain(&d.secondary) {
        if let Some(m) = &label.message {
            let lf = lines.sources.get(label.file);
            let (l, c) = lines.line_col(label.file, label.span.start as usize);
            let _ = writeln!(s, "  {}:{l}:{c}: {m}", lf.name);
        }
    }
    if let Some(h) = &d.help {
        let _ = writeln!(s, "  help: {h}");
    }
    s
}

/// `file:line:col: severity[code]: message`, one per line.
pub fn short(diags: &[Diagnostic], sources: &SourceSet) -> String {
    short_limited(diags, sources, Limit::DEFAULT)
}

pub fn short_limited(diags: &[Diagnostic], sources: &SourceSet, limit: Limit) -> String {
    let lines = Lines::new(sources);
    let shown = select(diags, limit);
    let mut out = String::new();
    for d in &shown.list {
        let f = sources.get(d.primary.file);
        let (l, c) = lines.line_col(d.primary.file, d.primary.span.start as usize);
        let sev = if d.is_error() { "error" } else { "warning" };
        let _ = writeln!(out, "{}:{l}:{c}: {sev}[{}]: {}", f.name, d.code, d.message);
    }
    if let Some(note) = shown.omitted_note() {
        out.push_str(&note);
        out.push('\n');
    }
    out
}

/// `path` as CI systems want it: the project's directory (`base`, as given on the command
/// line or found) before the file's project-relative name, without a leading `./`.
fn ci_path(base: &str, name: &str) -> String {
    let base = base.trim_start_matches("./").trim_end_matches('/');
    if base.is_empty() || base == "." {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}

/// GitHub Actions workflow commands, one per diagnostic (`::error file=..,line=..::message`):
/// the runner turns them into annotations on the pull request.
pub fn github(diags: &[Diagnostic], sources: &SourceSet, base: &str, limit: Limit) -> String {
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn property(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let lines = Lines::new(sources);
    let shown = select(diags, limit);
    let mut out = String::new();
    for d in &shown.list {
        let p = label(&d.primary, &lines);
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        let _ = writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            if d.is_error() { "error" } else { "warning" },
            property(&ci_path(base, p.file)),
            p.line,
            p.column,
            p.end_line,
            p.end_column,
            property(&format!("sparkc {}", d.code.as_str())),
            data(&message)
        );
    }
    out
}

#[derive(Serialize)]
struct CodeQualityIssue {
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    location: CodeQualityLocation,
}

#[derive(Serialize)]
struct CodeQualityLocation {
    path: String,
    lines: CodeQualityLines,
}

#[derive(Serialize)]
struct CodeQualityLines {
    begin: usize,
    end: usize,
}

/// A GitLab Code Quality report (a JSON array of issues), for `artifacts:reports:codequality`.
pub fn gitlab(diags: &[Diagnostic], sources: &SourceSet, base: &str, limit: Limit) -> String {
    let lines = Lines::new(sources);
    let shown = select(diags, limit);
    let issues: Vec<CodeQualityIssue> = shown
        .list
        .iter()
        .map(|d| {
            let p = label(&d.primary, &lines);
            let path = ci_path(base, p.file);
            let fingerprint = format!(
                "{:016x}",
                sparkc_core::hash::content_hash(
                    format!("{}\0{path}\0{}\0{}", d.code.as_str(), p.line, d.message).as_bytes()
                )
            );
            CodeQualityIssue {
                description: match &d.help {
                    Some(h) => format!("{} ({h})", d.message),
                    None => d.message.clone(),
                },
                check_name: d.code.as_str(),
                fingerprint,
                severity: if d.is_error() { "major" } else { "minor" },
                location: CodeQualityLocation {
                    path,
                    lines: CodeQualityLines {
                        begin: p.line,
                        end: p.end_line,
                    },
                },
            }
        })
        .collect();
    serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".to_string())
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
struct JsonTotals {
    errors: usize,
    warnings: usize,
}

#[derive(Serialize)]
pub struct JsonReport<'a> {
    version: u32,
    diagnostics: Vec<JsonDiag<'a>>,
    /// Every diagnostic of the run, counted (also those left out by the limit).
    total: JsonTotals,
    /// How many diagnostics `diagnostics` leaves out.
    #[serde(skip_serializing_if = "is_zero")]
    omitted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn label<'a>(l: &'a sparkc_core::diag::Label, lines: &Lines<'a>) -> JsonLabel<'a> {
    let f = lines.sources.get(l.file);
    let (line, column) = lines.line_col(l.file, l.span.start as usize);
    let (end_line, end_column) = lines.line_col(l.file, l.span.end as usize);
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
    limit: Limit,
) -> JsonReport<'a> {
    let lines = Lines::new(sources);
    let shown = select(diags, limit);
    let diagnostics = shown
        .list
        .iter()
        .map(|d| {
            let p = label(&d.primary, &lines);
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
                    .chain(d.secondary.iter().map(|l| label(l, &lines)))
                    .collect(),
            }
        })
        .collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    JsonReport {
        version: 1,
        diagnostics,
        total: JsonTotals {
            errors,
            warnings: diags.len() - errors,
        },
        omitted: shown.omitted_errors + shown.omitted_warnings,
        files,
    }
}

pub fn json(diags: &[Diagnostic], sources: &SourceSet, files: Option<Vec<String>>) -> String {
    json_limited(diags, sources, files, Limit::DEFAULT)
}

pub fn json_limited(
    diags: &[Diagnostic],
    sources: &SourceSet,
    files: Option<Vec<String>>,
    limit: Limit,
) -> String {
    serde_json::to_string_pretty(&json_report(diags, sources, files, limit))
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkc_core::diag::Code;
    use sparkc_core::source::{SourceFile, Span};

    fn diags(errors: usize, warnings: usize) -> Vec<Diagnostic> {
        let mut v = Vec::new();
        for i in 0..warnings {
            v.push(Diagnostic::warning(
                Code::Unused,
                format!("w{i}"),
                FileId(0),
                Span::new(0, 1),
            ));
        }
        for i in 0..errors {
            v.push(Diagnostic::error(
                Code::Syntax,
                format!("e{i}"),
                FileId(0),
                Span::new(0, 1),
            ));
        }
        v
    }

    #[test]
    fn the_limit_keeps_errors_first_and_counts_the_rest() {
        let d = diags(3, 500);
        let s = select(&d, Limit(10));
        assert_eq!(s.list.len(), 10);
        assert_eq!(s.list.iter().filter(|d| d.is_error()).count(), 3);
        assert_eq!((s.omitted_errors, s.omitted_warnings), (0, 493));
        let d = diags(300, 5);
        let s = select(&d, Limit(200));
        assert_eq!((s.omitted_errors, s.omitted_warnings), (100, 5));
        assert!(select(&d, Limit::NONE).omitted_note().is_none());
    }

    #[test]
    fn windowed_snippets_name_the_right_lines() {
        let mut sources = SourceSet::default();
        let text: String = (1..=50).map(|i| format!("line {i}\n")).collect();
        let at = text.find("line 40").unwrap_or(0);
        sources.add(SourceFile {
            name: "x.spark".into(),
            text,
            is_stdlib: false,
            opaque: false,
        });
        let d = Diagnostic::error(Code::Syntax, "here", FileId(0), Span::new(at, at + 4));
        let out = human(&[d], &sources, false);
        assert!(out.contains("x.spark:40:1"), "{out}");
        assert!(
            out.contains("40 │ line 40") && out.contains("39 │ line 39"),
            "{out}"
        );
        assert!(!out.contains("line 30"), "{out}");
    }
}
