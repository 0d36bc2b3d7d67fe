//! The server's state and its message loop.

use super::convert::{Encoding, Lines, path_to_uri, uri_to_path};
use super::features;
use crate::project::{FsWorld, Project};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{self as lsp, InitializeParams, PositionEncodingKind, ServerCapabilities, Uri};
use sparkc_driver::{Compilation, Driver, Overlay};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// An open document.
pub struct Doc {
    pub text: String,
    pub version: i32,
}

/// One project (a directory with spark.toml, or a lone file) and its last check.
pub struct ProjectState {
    pub project: Project,
    driver: Driver,
    /// The last check of the project as the buffers are now (`None` until checked).
    pub analysis: Option<Compilation>,
    /// The artifacts previews show (the built-in targets', with contents), by host, made from the last
    /// check's model on first use; dropped on every change.
    previews: BTreeMap<Option<usize>, Vec<sparkc_core::target::Artifact>>,
    dirty: bool,
    /// Files diagnostics were last published for.
    published: BTreeSet<PathBuf>,
}

impl ProjectState {
    /// The project's path of an absolute file path (`/`-separated, relative to the root).
    pub fn relative(&self, path: &Path) -> Option<String> {
        relative(&self.project.root, path)
    }
}

pub struct Server<'c> {
    conn: &'c Connection,
    pub encoding: Encoding,
    pub docs: BTreeMap<PathBuf, Doc>,
    /// By project root.
    pub projects: BTreeMap<PathBuf, ProjectState>,
    /// Messages read ahead of the one being handled.
    queue: VecDeque<Message>,
    cancelled: HashSet<RequestId>,
    /// Where the stdlib's sources are written for go-to-definition into them.
    stdlib_dir: Option<PathBuf>,
}

/// Run the protocol on `conn`: the initialize handshake, then every message until `exit`.
pub fn serve(conn: &Connection) -> Result<(), String> {
    let (id, params) = conn.initialize_start().map_err(|e| e.to_string())?;
    let init: InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let utf8 = init
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_ref())
        .is_some_and(|e| e.contains(&PositionEncodingKind::UTF8));
    let encoding = if utf8 {
        Encoding::Utf8
    } else {
        Encoding::Utf16
    };
    let result = lsp::InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(lsp::ServerInfo {
            name: "sparkc".to_string(),
            version: Some(env!("CARGO_PKG_VERSION").to_string()),
        }),
    };
    let result = serde_json::to_value(result).map_err(|e| e.to_string())?;
    conn.initialize_finish(id, result)
        .map_err(|e| e.to_string())?;
    let mut server = Server {
        conn,
        encoding,
        docs: BTreeMap::new(),
        projects: BTreeMap::new(),
        queue: VecDeque::new(),
        cancelled: HashSet::new(),
        stdlib_dir: None,
    };
    server.run()
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
            lsp::TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(lsp::TextDocumentSyncKind::INCREMENTAL),
                save: Some(lsp::TextDocumentSyncSaveOptions::Supported(true)),
                ..Default::default()
            },
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: lsp::WorkDoneProgressOptions::default(),
        })),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".into(), " ".into(), "[".into(), "(".into()]),
            ..Default::default()
        }),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        workspace_symbol_provider: Some(lsp::OneOf::Left(true)),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Simple(true)),
        semantic_tokens_provider: Some(
            lsp::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lsp::SemanticTokensOptions {
                    legend: lsp::SemanticTokensLegend {
                        token_types: features::TOKEN_TYPES.to_vec(),
                        token_modifiers: features::TOKEN_MODIFIERS.to_vec(),
                    },
                    full: Some(lsp::SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    work_done_progress_options: lsp::WorkDoneProgressOptions::default(),
                },
            ),
        ),
        inlay_hint_provider: Some(lsp::OneOf::Left(true)),
        ..Default::default()
    }
}

impl Server<'_> {
    fn run(&mut self) -> Result<(), String> {
        loop {
            let msg = if let Some(m) = self.queue.pop_front() {
                m
            } else {
                // Nothing is waiting: the moment to check what changed and publish.
                self.publish_dirty();
                match self.conn.receiver.recv() {
                    Ok(m) => m,
                    Err(_) => return Ok(()),
                }
            };
            self.read_ahead();
            match msg {
                Message::Request(r) => {
                    if r.method == req::Shutdown::METHOD {
                        self.respond(Response::new_ok(r.id, ()));
                        continue;
                    }
                    self.request(r);
                }
                Message::Notification(n) => {
                    if n.method == notif::Exit::METHOD {
                        return Ok(());
                    }
                    self.notification(n);
                }
                Message::Response(_) => {}
            }
        }
    }

    /// Everything the client sent meanwhile, into the queue; cancellations are noted.
    fn read_ahead(&mut self) {
        while let Ok(m) = self.conn.receiver.try_recv() {
            if let Message::Notification(n) = &m
                && n.method == notif::Cancel::METHOD
            {
                if let Ok(p) = serde_json::from_value::<lsp::CancelParams>(n.params.clone()) {
                    self.cancelled.insert(match p.id {
                        lsp::NumberOrString::Number(n) => RequestId::from(n),
                        lsp::NumberOrString::String(s) => RequestId::from(s),
                    });
                }
                continue;
            }
            self.queue.push_back(m);
        }
    }

    fn respond(&self, r: Response) {
        let _ = self.conn.sender.send(Message::Response(r));
    }

    fn notify<N: lsp::notification::Notification>(&self, params: N::Params) {
        let _ = self
            .conn
            .sender
            .send(Message::Notification(Notification::new(
                N::METHOD.to_string(),
                params,
            )));
    }

    fn request(&mut self, r: Request) {
        if self.cancelled.remove(&r.id) {
            self.respond(Response::new_err(
                r.id,
                ErrorCode::RequestCanceled as i32,
                "cancelled".to_string(),
            ));
            return;
        }
        let id = r.id.clone();
        let method = r.method.clone();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.dispatch(r)));
        let response = match outcome {
            Ok(Ok(value)) => Response {
                id,
                response_result: Ok(value),
            },
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(_) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!("sparkc failed on `{method}`; this is a bug, please report it"),
            ),
        };
        self.respond(response);
    }

    fn dispatch(&mut self, r: Request) -> Result<serde_json::Value, (ErrorCode, String)> {
        fn params<P: serde::de::DeserializeOwned>(r: &Request) -> Result<P, (ErrorCode, String)> {
            serde_json::from_value(r.params.clone())
                .map_err(|e| (ErrorCode::InvalidParams, format!("invalid params: {e}")))
        }
        fn json<T: serde::Serialize>(v: T) -> Result<serde_json::Value, (ErrorCode, String)> {
            serde_json::to_value(v).map_err(|e| (ErrorCode::InternalError, e.to_string()))
        }
        match r.method.as_str() {
            req::HoverRequest::METHOD => {
                let p: lsp::HoverParams = params(&r)?;
                json(features::hover(self, &p.text_document_position_params))
            }
            req::GotoDefinition::METHOD => {
                let p: lsp::GotoDefinitionParams = params(&r)?;
                json(features::definition(self, &p.text_document_position_params))
            }
            req::References::METHOD => {
                let p: lsp::ReferenceParams = params(&r)?;
                json(features::references(
                    self,
                    &p.text_document_position,
                    p.context.include_declaration,
                ))
            }
            req::PrepareRenameRequest::METHOD => {
                let p: lsp::TextDocumentPositionParams = params(&r)?;
                json(features::prepare_rename(self, &p))
            }
            req::Rename::METHOD => {
                let p: lsp::RenameParams = params(&r)?;
                let edit = features::rename(self, &p.text_document_position, &p.new_name)
                    .map_err(|m| (ErrorCode::InvalidRequest, m))?;
                json(edit)
            }
            req::Completion::METHOD => {
                let p: lsp::CompletionParams = params(&r)?;
                json(features::completion(self, &p.text_document_position))
            }
            req::Formatting::METHOD => {
                let p: lsp::DocumentFormattingParams = params(&r)?;
                json(features::formatting(self, &p.text_document.uri))
            }
            req::DocumentSymbolRequest::METHOD => {
                let p: lsp::DocumentSymbolParams = params(&r)?;
                json(features::document_symbols(self, &p.text_document.uri))
            }
            req::WorkspaceSymbolRequest::METHOD => {
                let p: lsp::WorkspaceSymbolParams = params(&r)?;
                json(features::workspace_symbols(self, &p.query))
            }
            req::SemanticTokensFullRequest::METHOD => {
                let p: lsp::SemanticTokensParams = params(&r)?;
                json(features::semantic_tokens(self, &p.text_document.uri))
            }
            req::InlayHintRequest::METHOD => {
                let p: lsp::InlayHintParams = params(&r)?;
                json(features::inlay_hints(self, &p.text_document.uri, p.range))
            }
            req::CodeActionRequest::METHOD => {
                let p: lsp::CodeActionParams = params(&r)?;
                json(features::code_actions(self, &p))
            }
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("sparkc does not handle `{}`", r.method),
            )),
        }
    }

    fn notification(&mut self, n: Notification) {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match n.method.as_str() {
                notif::DidOpenTextDocument::METHOD => {
                    if let Ok(p) =
                        serde_json::from_value::<lsp::DidOpenTextDocumentParams>(n.params)
                    {
                        self.open(
                            &p.text_document.uri,
                            p.text_document.text,
                            p.text_document.version,
                        );
                    }
                }
                notif::DidChangeTextDocument::METHOD => {
                    if let Ok(p) =
                        serde_json::from_value::<lsp::DidChangeTextDocumentParams>(n.params)
                    {
                        self.change(&p);
                    }
                }
                notif::DidCloseTextDocument::METHOD => {
                    if let Ok(p) =
                        serde_json::from_value::<lsp::DidCloseTextDocumentParams>(n.params)
                        && let Some(path) = uri_to_path(&p.text_document.uri)
                    {
                        self.docs.remove(&path);
                        self.touch(&path);
                    }
                }
                // Files changed on disk (a checkout, another editor): every project checks again.
                notif::DidChangeWatchedFiles::METHOD => {
                    for ps in self.projects.values_mut() {
                        ps.dirty = true;
                        ps.previews.clear();
                    }
                }
                notif::DidSaveTextDocument::METHOD => {
                    if let Ok(p) =
                        serde_json::from_value::<lsp::DidSaveTextDocumentParams>(n.params)
                        && let Some(path) = uri_to_path(&p.text_document.uri)
                    {
                        if path
                            .file_name()
                            .is_some_and(|f| f == crate::project::MANIFEST)
                        {
                            // spark.toml is read from disk: its project starts again.
                            if let Some(root) = path.parent() {
                                self.projects.remove(root);
                            }
                        }
                        self.touch(&path);
                    }
                }
                _ => {}
            }));
        if outcome.is_err() {
            self.notify::<notif::LogMessage>(lsp::LogMessageParams {
                typ: lsp::MessageType::ERROR,
                message: "sparkc failed on a notification; this is a bug, please report it"
                    .to_string(),
            });
        }
    }

    fn open(&mut self, uri: &Uri, text: String, version: i32) {
        let Some(path) = uri_to_path(uri) else {
            return;
        };
        self.docs.insert(path.clone(), Doc { text, version });
        self.touch(&path);
    }

    fn change(&mut self, p: &lsp::DidChangeTextDocumentParams) {
        let Some(path) = uri_to_path(&p.text_document.uri) else {
            return;
        };
        let encoding = self.encoding;
        let Some(doc) = self.docs.get_mut(&path) else {
            return;
        };
        // A change older than what we have arrived out of order: the newer text stands.
        if p.text_document.version <= doc.version {
            return;
        }
        for c in &p.content_changes {
            match c.range {
                None => doc.text.clone_from(&c.text),
                Some(range) => {
                    let lines = Lines::new(&doc.text, encoding);
                    let (a, b) = (lines.offset(range.start), lines.offset(range.end));
                    let (a, b) = (a.min(b), a.max(b));
                    doc.text.replace_range(a..b, &c.text);
                }
            }
        }
        doc.version = p.text_document.version;
        self.touch(&path);
    }

    /// Marks the project of `path` for a new check (creating it when the file is new).
    fn touch(&mut self, path: &Path) {
        if let Some(ps) = self.project_of_mut(path) {
            ps.dirty = true;
            ps.previews.clear();
        }
    }

    /// The project `path` belongs to: one already known whose root holds it, or the one
    /// found from it on disk.
    pub fn project_root(&mut self, path: &Path) -> Option<PathBuf> {
        let known = self
            .projects
            .keys()
            .filter(|root| path.starts_with(root))
            .max_by_key(|root| root.components().count())
            .cloned();
        if let Some(root) = known {
            return Some(root);
        }
        let project = Project::of_file(path).ok()?;
        let root = project.root.clone();
        self.projects.insert(
            root.clone(),
            ProjectState {
                project,
                driver: Driver::new(),
                analysis: None,
                previews: BTreeMap::new(),
                dirty: true,
                published: BTreeSet::new(),
            },
        );
        Some(root)
    }

    fn project_of_mut(&mut self, path: &Path) -> Option<&mut ProjectState> {
        let root = self.project_root(path)?;
        self.projects.get_mut(&root)
    }

    /// The project of `uri`, checked as the buffers are now.
    pub fn analysed(&mut self, uri: &Uri) -> Option<(PathBuf, &ProjectState)> {
        let path = uri_to_path(uri)?;
        let root = self.project_root(&path)?;
        self.check(&root);
        Some((path, self.projects.get(&root)?))
    }

    /// The project of `uri` checked, and the artifacts previews show: every host's, or with
    /// `host`, that host's (made on first use after each change).
    pub fn previews(
        &mut self,
        uri: &Uri,
        host: Option<usize>,
    ) -> Option<(&Compilation, &[sparkc_core::target::Artifact])> {
        use sparkc_core::model::{HostId, Id};
        let path = uri_to_path(uri)?;
        let root = self.project_root(&path)?;
        self.check(&root);
        let ps = self.projects.get_mut(&root)?;
        let c = ps.analysis.as_ref()?;
        let only = host.map(|h| [HostId::new(h)]);
        let config = ps.project.config();
        let artifacts = ps
            .previews
            .entry(host)
            .or_insert_with(|| c.artifacts_of(&config, only.as_ref().map(|o| &o[..])));
        Some((c, artifacts.as_slice()))
    }

    fn check(&mut self, root: &Path) {
        let Some(ps) = self.projects.get_mut(root) else {
            return;
        };
        if !ps.dirty && ps.analysis.is_some() {
            return;
        }
        let base = FsWorld::new(&ps.project.root);
        let overlay = overlay(&base, &self.docs, &ps.project.root);
        let checked = ps
            .driver
            .compile(&overlay, &ps.project.config().check_only())
            .ok();
        // The previous check is freed on another core: millions of small values.
        if let Some(old) = std::mem::replace(&mut ps.analysis, checked) {
            rayon::spawn(move || drop(old));
        }
        ps.dirty = false;
        ps.previews.clear();
    }

    /// Check every project that changed and publish its diagnostics: per file, and an empty
    /// list for a file whose diagnostics are gone.
    fn publish_dirty(&mut self) {
        let dirty: Vec<PathBuf> = self
            .projects
            .iter()
            .filter(|(_, p)| p.dirty)
            .map(|(r, _)| r.clone())
            .collect();
        for root in dirty {
            self.check(&root);
            let Some(ps) = self.projects.get_mut(&root) else {
                continue;
            };
            let mut by_file: BTreeMap<PathBuf, Vec<lsp::Diagnostic>> = BTreeMap::new();
            if let Some(c) = &ps.analysis {
                // Every open file of the project gets a list, empty or not.
                for f in &c.sources.files {
                    if !f.is_stdlib {
                        by_file.entry(ps.project.root.join(&f.name)).or_default();
                    }
                }
                for d in &c.diagnostics {
                    let file = c.sources.get(d.primary.file);
                    if file.is_stdlib {
                        continue;
                    }
                    let path = ps.project.root.join(&file.name);
                    by_file.entry(path).or_default().push(to_lsp_diagnostic(
                        d,
                        c,
                        &ps.project.root,
                        self.encoding,
                    ));
                }
            }
            // An open file the entry does not import is checked on its own, so that it
            // gets diagnostics too.
            let in_project: Vec<(PathBuf, String)> = self
                .docs
                .keys()
                .filter(|p| !by_file.contains_key(*p))
                .filter(|p| p.extension().is_some_and(|e| e == "spark"))
                .filter_map(|p| Some((p.clone(), ps.relative(p)?)))
                .collect();
            if !in_project.is_empty() {
                let base = FsWorld::new(&ps.project.root);
                let world = overlay(&base, &self.docs, &ps.project.root);
                for (path, rel) in in_project {
                    let mut config = ps.project.config().check_only();
                    config.entry.clone_from(&rel);
                    let Ok(c) = ps.driver.compile(&world, &config) else {
                        continue;
                    };
                    let list = by_file.entry(path).or_default();
                    for d in &c.diagnostics {
                        if c.sources.get(d.primary.file).name == rel {
                            list.push(to_lsp_diagnostic(d, &c, &ps.project.root, self.encoding));
                        }
                    }
                }
            }
            let gone: Vec<PathBuf> = ps
                .published
                .iter()
                .filter(|p| !by_file.contains_key(*p))
                .cloned()
                .collect();
            ps.published = by_file
                .iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(p, _)| p.clone())
                .collect();
            let mut out: Vec<(PathBuf, Vec<lsp::Diagnostic>)> = by_file.into_iter().collect();
            out.extend(gone.into_iter().map(|p| (p, Vec::new())));
            for (path, diagnostics) in out {
                let Some(uri) = path_to_uri(&path) else {
                    continue;
                };
                let version = self.docs.get(&path).map(|d| d.version);
                self.notify::<notif::PublishDiagnostics>(lsp::PublishDiagnosticsParams {
                    uri,
                    diagnostics,
                    version,
                });
            }
        }
    }

    /// Where the stdlib's module files are (written once per run, for go-to-definition).
    pub fn stdlib_file(&mut self, name: &str) -> Option<PathBuf> {
        let inner = name.strip_prefix('<')?.strip_suffix('>')?;
        if self.stdlib_dir.is_none() {
            let dir = std::env::temp_dir().join(format!(
                "sparkc-{}-stdlib-{}",
                env!("CARGO_PKG_VERSION"),
                std::process::id()
            ));
            for m in sparkc_stdlib::modules() {
                let file = dir.join(format!("{}.spark", m.replace('.', "/")));
                if let Some(parent) = file.parent() {
                    let _ = std::fs::create_dir_all(parent);
                }
                let _ = std::fs::write(&file, sparkc_stdlib::module(m).unwrap_or_default());
            }
            self.stdlib_dir = Some(dir);
        }
        Some(self.stdlib_dir.as_ref()?.join(inner))
    }
}

impl Drop for Server<'_> {
    fn drop(&mut self) {
        if let Some(dir) = &self.stdlib_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn overlay<'w>(base: &'w FsWorld, docs: &BTreeMap<PathBuf, Doc>, root: &Path) -> Overlay<'w> {
    let mut o = Overlay::new(base);
    for (path, doc) in docs {
        if let Some(rel) = relative(root, path) {
            o.set(rel, doc.text.clone());
        }
    }
    o
}

/// `path` as the project's world names it: relative to `root`, `/`-separated.
fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    Some(parts?.join("/"))
}

/// A compiler diagnostic as the protocol's: the same code, message and help, the secondary
/// labels as related information.
pub fn to_lsp_diagnostic(
    d: &sparkc_core::diag::Diagnostic,
    c: &Compilation,
    root: &Path,
    encoding: Encoding,
) -> lsp::Diagnostic {
    let file = c.sources.get(d.primary.file);
    let lines = Lines::new(&file.text, encoding);
    let mut message = d.message.clone();
    if let Some(l) = &d.primary.message {
        let _ = write!(message, ": {l}");
    }
    if let Some(h) = &d.help {
        let _ = write!(message, "\nhelp: {h}");
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .filter_map(|l| {
            let f = c.sources.get(l.file);
            let uri = if f.is_stdlib {
                return None;
            } else {
                path_to_uri(&root.join(&f.name))?
            };
            let lines = Lines::new(&f.text, encoding);
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location {
                    uri,
                    range: lines.range(l.span.start as usize, l.span.end as usize),
                },
                message: l.message.clone().unwrap_or_else(|| "here".to_string()),
            })
        })
        .collect();
    lsp::Diagnostic {
        range: lines.range(d.primary.span.start as usize, d.primary.span.end as usize),
        severity: Some(if d.is_error() {
            lsp::DiagnosticSeverity::ERROR
        } else {
            lsp::DiagnosticSeverity::WARNING
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().to_string())),
        source: Some("sparkc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        data: d
            .help
            .as_ref()
            .map(|h| serde_json::Value::String(h.clone())),
        ..Default::default()
    }
}
