//! The language server under random edit sequences, in process over an in-memory
//! connection: edits at random places (out of range ones too), changes out of order, every
//! kind of request at random positions, cancellations and unknown methods. Every request gets
//! an answer within a bound, the server never stops answering, and `shutdown`/`exit` end it.

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::time::Duration;

/// Hang detector, not a benchmark.
const WAIT: Duration = Duration::from_mins(1);

struct Rng(u64);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

struct Client {
    conn: Connection,
    next_id: i32,
}

impl Client {
    fn request(&mut self, method: &str, params: Value) -> RequestId {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        self.conn
            .sender
            .send(Message::Request(Request::new(
                id.clone(),
                method.to_string(),
                params,
            )))
            .unwrap_or_else(|e| panic!("{e}"));
        id
    }
    fn notify(&self, method: &str, params: Value) {
        self.conn
            .sender
            .send(Message::Notification(Notification::new(
                method.to_string(),
                params,
            )))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    /// Waits for the answer to `id` (notifications in between are dropped).
    fn answer(&self, id: &RequestId) -> lsp_server::Response {
        loop {
            match self.conn.receiver.recv_timeout(WAIT) {
                Ok(Message::Response(r)) if r.id == *id => return r,
                Ok(_) => {}
                Err(e) => panic!("no answer to request {id}: {e}"),
            }
        }
    }
}

#[test]
fn random_edits_and_requests_never_stop_the_server() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/m300");
    let root = root.canonicalize().unwrap_or_else(|e| panic!("{e}"));
    let main = root.join("main.spark");
    let uri = format!("file://{}", main.display());
    let mut text = std::fs::read_to_string(&main).unwrap_or_else(|e| panic!("{e}"));

    let (server, client) = Connection::memory();
    let handle = std::thread::spawn(move || sparkc::lsp::serve(&server));
    let mut c = Client {
        conn: client,
        next_id: 0,
    };
    let init = c.request(
        "initialize",
        json!({"capabilities": {}, "rootUri": format!("file://{}", root.display())}),
    );
    let r = c.answer(&init);
    assert!(r.response_result.is_ok(), "{r:?}");
    c.notify("initialized", json!({}));
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "spark", "version": 1, "text": text}}),
    );

    let mut rng = Rng(0x1b5e_55ed_0000_0001);
    let mut version = 1;
    let methods = [
        "textDocument/hover",
        "textDocument/completion",
        "textDocument/definition",
        "textDocument/references",
        "textDocument/prepareRename",
        "textDocument/rename",
        "textDocument/formatting",
        "textDocument/documentSymbol",
        "workspace/symbol",
        "textDocument/codeAction",
        "sparkc/unknown",
    ];
    let mut answered = 0;
    for round in 0..400 {
        let lines = text.lines().count() as u64 + 2;
        let pos = |rng: &mut Rng| json!({"line": rng.below(lines), "character": rng.below(120)});
        match rng.below(4) {
            0 | 1 => {
                // An edit: junk inserted or a range deleted, at any place (past the end too).
                let (a, b) = (pos(&mut rng), pos(&mut rng));
                let junk = [
                    "", "{", "}", "\"", "service", " = ", "\n", "ä😀", "[[", "host x {",
                ][rng.below(10) as usize];
                version += 1;
                // Now and then a change arrives out of order (an older version): ignored.
                let v = if rng.below(10) == 0 { 1 } else { version };
                c.notify(
                    "textDocument/didChange",
                    json!({
                        "textDocument": {"uri": uri, "version": v},
                        "contentChanges": [{"range": {"start": a, "end": b}, "text": junk}],
                    }),
                );
                if round % 50 == 0 {
                    // Back to a valid text now and then, so requests also meet a clean project.
                    text = std::fs::read_to_string(&main).unwrap_or_else(|e| panic!("{e}"));
                    version += 1;
                    c.notify(
                        "textDocument/didChange",
                        json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]}),
                    );
                }
            }
            _ => {
                let method = methods[rng.below(methods.len() as u64) as usize];
                let p = pos(&mut rng);
                let new_name = ["renamed", "db", "bad name", "m300"][rng.below(4) as usize];
                let params = json!({
                    "textDocument": {"uri": uri},
                    "position": p,
                    "newName": new_name,
                    "context": {"includeDeclaration": true, "diagnostics": []},
                    "range": {"start": p, "end": p},
                    "options": {"tabSize": 2, "insertSpaces": true},
                    "query": "c",
                });
                let id = c.request(method, params);
                if rng.below(5) == 0 {
                    c.notify("$/cancelRequest", json!({"id": c.next_id}));
                }
                let r = c.answer(&id);
                if method == "sparkc/unknown" {
                    assert!(r.response_result.is_err(), "{r:?}");
                }
                if let Err(e) = &r.response_result {
                    assert!(
                        !e.message.contains("this is a bug"),
                        "{method} at {p}: {}",
                        e.message
                    );
                }
                answered += 1;
            }
        }
    }
    assert!(answered > 100, "only {answered} requests");
    let id = c.request("shutdown", Value::Null);
    assert!(c.answer(&id).response_result.is_ok());
    c.notify("exit", Value::Null);
    let ended = handle
        .join()
        .unwrap_or_else(|_| panic!("the server panicked"));
    assert!(ended.is_ok(), "{ended:?}");
}
