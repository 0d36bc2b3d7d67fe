//! The language server's latency on a generated project (a benchmark that prints figures, not
//! a test): `cargo run --release -p sparkc --example lsp_latency -- DIR [ROUNDS]`, DIR made by
//! `scripts/gen-inventory N DIR`. The server runs in process over an in-memory connection.
//!
//! Each round changes one service's port in the largest file, then measures: the time until
//! that file's fresh diagnostics are published; a hover on a name (the declaration and its
//! docs); a hover on a service (with the preview of its generated compose service: the first
//! after a change builds the artifacts); a completion of a field. Prints p50, p95 and max.
#![allow(clippy::print_stdout)]

/// The allocator of `sparkc lsp`, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        eprintln!("usage: lsp_latency DIR [ROUNDS]");
        std::process::exit(2);
    };
    let rounds: usize = args.get(2).and_then(|r| r.parse().ok()).unwrap_or(50);
    let root = PathBuf::from(dir)
        .canonicalize()
        .unwrap_or_else(|e| panic!("{dir}: {e}"));
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "spark"))
        .map(|p| {
            let t = std::fs::read_to_string(&p).unwrap_or_default();
            (p, t)
        })
        .collect();
    files.sort_by_key(|(_, t)| std::cmp::Reverse(t.len()));
    let (big, mut text) = files[0].clone();
    let big_uri = format!("file://{}", big.display());
    let services = text.matches("\nservice ").count() + usize::from(text.starts_with("service "));

    let (server, client) = Connection::memory();
    let handle = std::thread::spawn(move || sparkc::lsp::serve(&server));
    let mut c = Client {
        conn: client,
        next: 0,
    };
    let id = c.request(
        "initialize",
        json!({"capabilities": {"general": {"positionEncodings": ["utf-8"]}},
               "rootUri": format!("file://{}", root.display())}),
    );
    let _ = c.answer(&id);
    c.notify("initialized", json!({}));
    for (p, t) in &files {
        c.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": format!("file://{}", p.display()),
                   "languageId": "spark", "version": 1, "text": t}}),
        );
    }
    let start = Instant::now();
    c.diagnostics_for(&big_uri, 1);
    println!(
        "lsp project={} files={} bytes={} services_in_changed_file={services} first_check_ms={:.1}",
        root.display(),
        files.len(),
        files.iter().map(|(_, t)| t.len()).sum::<usize>(),
        ms(start.elapsed())
    );

    let (mut diag, mut hover_name, mut hover_preview, mut completion) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // The port of the service `round` steps into the file: its digits replaced.
        let at = text
            .match_indices("port = ")
            .nth(round % services.max(1))
            .map_or(0, |(i, _)| i + "port = ".len());
        let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
        let new_port = format!("{}", 20000 + round);
        text.replace_range(at..at + digits, &new_port);
        let (line, col) = line_col(&text, at);
        let version = i32::try_from(round).unwrap_or(0) + 2;
        let t0 = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": big_uri, "version": version},
                   "contentChanges": [{"range": {"start": {"line": line, "character": col},
                                                  "end": {"line": line, "character": col + digits}},
                                       "text": new_port}]}),
        );
        c.diagnostics_for(&big_uri, version);
        diag.push(t0.elapsed());

        // A hover on the secret the service's line names (no preview).
        let secret_at = text[at..]
            .find("db_password = ")
            .map_or(at, |n| at + n + 14);
        let (l, ch) = line_col(&text, secret_at);
        let t0 = Instant::now();
        let id = c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": big_uri}, "position": {"line": l, "character": ch}}),
        );
        c.answer(&id);
        hover_name.push(t0.elapsed());

        // A hover on the service itself, with its preview.
        let name_at = text[..at].rfind("service ").map_or(0, |n| n + 8);
        let (l, ch) = line_col(&text, name_at);
        let t0 = Instant::now();
        let id = c.request(
            "textDocument/hover",
            json!({"textDocument": {"uri": big_uri}, "position": {"line": l, "character": ch}}),
        );
        let r = c.answer(&id);
        hover_preview.push(t0.elapsed());
        // What is measured must be the preview.
        let shown = r.response_result.map(|v| v.to_string()).unwrap_or_default();
        assert!(
            shown.contains("docker-compose.yml"),
            "the hover on the service shows no preview: {shown}"
        );

        // A completion of a field inside a monitor's body.
        let body_at = text[at..].find("{ target").map_or(at, |n| at + n + 2);
        let (l, ch) = line_col(&text, body_at);
        let t0 = Instant::now();
        let id = c.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": big_uri}, "position": {"line": l, "character": ch}}),
        );
        c.answer(&id);
        completion.push(t0.elapsed());
    }
    for (what, v) in [
        ("diagnostics_after_change", &mut diag),
        ("hover_name", &mut hover_name),
        ("hover_with_preview", &mut hover_preview),
        ("completion", &mut completion),
    ] {
        v.sort();
        let p = |q: f64| ms(v[((v.len() as f64 - 1.0) * q).round() as usize]);
        println!(
            "lsp {what} rounds={} p50_ms={:.1} p95_ms={:.1} max_ms={:.1}",
            v.len(),
            p(0.5),
            p(0.95),
            p(1.0)
        );
    }
    let id = c.request("shutdown", Value::Null);
    c.answer(&id);
    c.notify("exit", Value::Null);
    let _ = handle.join();
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn line_col(text: &str, at: usize) -> (usize, usize) {
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |n| n + 1);
    (line, col)
}

struct Client {
    conn: Connection,
    next: i32,
}

impl Client {
    fn request(&mut self, method: &str, params: Value) -> RequestId {
        self.next += 1;
        let id = RequestId::from(self.next);
        let _ = self.conn.sender.send(Message::Request(Request::new(
            id.clone(),
            method.to_string(),
            params,
        )));
        id
    }
    fn notify(&self, method: &str, params: Value) {
        let _ = self
            .conn
            .sender
            .send(Message::Notification(Notification::new(
                method.to_string(),
                params,
            )));
    }
    fn answer(&self, id: &RequestId) -> lsp_server::Response {
        loop {
            match self.conn.receiver.recv_timeout(Duration::from_mins(1)) {
                Ok(Message::Response(r)) if r.id == *id => return r,
                Ok(_) => {}
                Err(e) => panic!("no answer: {e}"),
            }
        }
    }
    /// Waits for diagnostics published for `uri` at `version` (or later).
    fn diagnostics_for(&self, uri: &str, version: i32) {
        loop {
            match self.conn.receiver.recv_timeout(Duration::from_mins(1)) {
                Ok(Message::Notification(n)) if n.method == "textDocument/publishDiagnostics" => {
                    let p = &n.params;
                    if p["uri"] == uri && p["version"].as_i64().unwrap_or(0) >= i64::from(version) {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => panic!("no diagnostics: {e}"),
            }
        }
    }
}
