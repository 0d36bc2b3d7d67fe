//! Diagnostics: plain data, produced by every stage, rendered only at the edges (CLI, LSP, tests).

use crate::source::{FileId, Span};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a source file, with an optional message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Label {
    pub file: FileId,
    pub span: Span,
    pub message: Option<String>,
}

impl Label {
    pub fn new(file: FileId, span: Span, message: impl Into<Option<String>>) -> Self {
        Label {
            file,
            span,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub help: Option<String>,
    /// The user's declaration this diagnostic is about. Where the primary label lands in a
    /// stdlib file (a value a template set), [`relocate_into_user_files`] moves it here.
    #[serde(skip)]
    pub subject: Option<Subject>,
}

/// A declaration in the user's files, and the template it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub file: FileId,
    pub span: Span,
    pub template: Option<String>,
}

/// Every diagnostic's primary label in the user's files: one that points into the stdlib
/// (a field a template set) moves to its subject, the declaration that made the template's
/// service, and the template's place becomes the first secondary label. Short and JSON
/// output, which show the primary location only, then always name a file the user can edit.
pub fn relocate_into_user_files(diags: &mut [Diagnostic], is_stdlib: impl Fn(FileId) -> bool) {
    for d in diags.iter_mut() {
        let Some(sub) = &d.subject else { continue };
        if !is_stdlib(d.primary.file) || is_stdlib(sub.file) {
            continue;
        }
        let inside = Label::new(
            d.primary.file,
            d.primary.span,
            Some(match &sub.template {
                Some(t) => format!("set by template `{t}`, here"),
                None => "set in the stdlib, here".to_string(),
            }),
        );
        let shown = d
            .secondary
            .iter()
            .any(|l| l.file == inside.file && l.span == inside.span);
        d.primary.file = sub.file;
        d.primary.span = sub.span;
        if !shown {
            d.secondary.insert(0, inside);
        }
    }
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>, file: FileId, span: Span) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: elide(message.into()),
            primary: Label::new(file, span, None),
            secondary: Vec::new(),
            help: None,
            subject: None,
        }
    }
    pub fn warning(code: Code, message: impl Into<String>, file: FileId, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Self::error(code, message, file, span)
        }
    }
    /// The message shown under the primary span.
    pub fn label(mut self, message: impl Into<String>) -> Self {
        self.primary.message = Some(elide(message.into()));
        self
    }
    pub fn with_secondary(mut self, file: FileId, span: Span, message: impl Into<String>) -> Self {
        self.secondary
            .push(Label::new(file, span, Some(elide(message.into()))));
        self
    }
    /// Say which user declaration this is about (kept if one was said already).
    pub fn about(mut self, subject: Subject) -> Self {
        self.subject.get_or_insert(subject);
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(elide(help.into()));
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Longest message text kept whole; longer texts (a 1 MB name quoted in a message) keep
/// their start and end around an ellipsis, so output stays proportionate.
pub const MAX_MESSAGE: usize = 400;

fn elide(s: String) -> String {
    if s.len() <= MAX_MESSAGE {
        return s;
    }
    let mut head = MAX_MESSAGE / 2;
    while !s.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = s.len() - MAX_MESSAGE / 4;
    while !s.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}…({} bytes elided)…{}",
        &s[..head],
        tail - head,
        &s[tail..]
    )
}

macro_rules! codes {
    ($( $variant:ident = $code:literal, $summary:literal; )*) => {
        /// Every diagnostic code sparkc can emit. Codes are stable: never reuse or renumber one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }
            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }
            pub fn parse(s: &str) -> Option<Code> {
                let s = s.trim().to_ascii_uppercase();
                Code::ALL.iter().copied().find(|c| c.as_str() == s)
            }
        }
    };
}

codes! {
    Syntax = "E0001", "the source does not follow the grammar";
    InvalidSource = "E0002", "a source file is not valid UTF-8 text or is too large";
    Unresolved = "E0101", "a name does not refer to any declaration";
    Duplicate = "E0102", "two declarations have the same name";
    ImportNotFound = "E0103", "an imported file or stdlib module does not exist";
    ImportCycle = "E0104", "files import each other in a cycle";
    WrongKind = "E0105", "a name refers to a declaration of the wrong kind";
    ImportRefused = "E0107", "an import or entry that is not a .spark file inside the project, or a secret's file";
    UnknownField = "E0201", "a field that the declaration's type does not have";
    TypeMismatch = "E0202", "a value of the wrong type";
    MissingField = "E0203", "a required field is missing";
    OutOfRange = "E0204", "a number, port or size outside its allowed range";
    MalformedLiteral = "E0205", "an address, duration, size, image or domain that is not well-formed";
    SecretAsPlain = "E0206", "a secret used where a plain value is required";
    PlainAsSecret = "E0207", "a plain value given where a secret is required";
    UnknownParam = "E0208", "an argument that the template does not declare";
    MissingParam = "E0209", "a template parameter without default was not given";
    TemplateRecursion = "E0210", "a template or constant refers to itself";
    UnknownPort = "E0211", "a reference to a port the service does not declare";
    UnknownEntryPoint = "E0212", "a route on an entry point its host's proxy does not have";
    BadRoute = "E0213", "a route or probe its protocol cannot carry (a path on TCP, TLS on UDP)";
    DeployTimeValue = "E0214", "a variable, read at deploy time, where sparkc needs the value itself";
    DependencyCycle = "E0301", "services depend on each other in a cycle";
    PortConflict = "E0302", "two services publish the same host port on one host";
    OverCommitted = "E0303", "services reserve more memory or CPU than their host has";
    DuplicateAddress = "E0304", "two hosts have the same address";
    BadPlacement = "E0305", "a service or host is placed somewhere it cannot run";
    CrossStack = "E0306", "a compose relation that crosses stacks or hosts";
    UnsafePath = "E0307", "a name that would write outside the output directory";
    UnprotectedAdmin = "E0308", "an admin surface reachable without authentication";
    WritableDockerSocket = "E0309", "the Docker socket mounted writable";
    ProfileDependency = "E0310", "a service needs another that its compose profiles may leave out";
    Unreachable = "E0311", "a service its proxy or Prometheus cannot reach over a container network";
    PlainTextCredentials = "E0312", "a login asked for over plain HTTP";
    ExposedUnauthenticated = "W0313", "a service without a login of its own is published";
    Undelivered = "W0314", "alert rules that no Alertmanager delivers";
    UnwatchedHost = "W0315", "a host no node-exporter watches, in a project with a Prometheus";
    UnprobedDomain = "W0316", "a public domain no probe asks, in a project with a Prometheus";
    NetworkPlan = "E0317", "an address or gateway outside its host's subnet, a VM id used twice on one hypervisor, or address pools that overlap each other or a host";
    EvenQuorum = "W0318", "a cluster with an even number of servers, which tolerates no more failures than one fewer";
    Unsupported = "E0401", "a target cannot express what the model asks for";
    ManifestSetting = "E0501", "a spark.toml target or option that does not exist, or a value of the wrong kind";
    ManifestUnused = "W0502", "spark.toml options for a target the project does not build";
    TemplateError = "E0601", "a template target's template does not render";
    Fallback = "W0402", "a target expresses something through a documented fallback";
    NodeLocalMount = "W0403", "a bind mount on a swarm host, whose source exists only on the node that has it";
    Unused = "W0106", "a constant, secret, network, volume or template that nothing uses";
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Levenshtein-based suggestion: the candidate closest to `name`, if close enough.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = edit_distance(name, c);
        let limit = (name.len().max(c.len()) / 3).max(1);
        if d <= limit && best.is_none_or(|(bd, bc)| d < bd || (d == bd && c < bc)) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance (a transposition counts as one edit), ASCII case-insensitive.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("imgae", ["image", "command", "ports"]),
            Some("image")
        );
        assert_eq!(did_you_mean("zzzzzz", ["image", "command"]), None);
    }
    #[test]
    fn codes_roundtrip() {
        for c in Code::ALL {
            assert_eq!(Code::parse(c.as_str()), Some(*c));
        }
    }
}
