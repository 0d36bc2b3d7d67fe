//! The language server under random edit sequences: the input is read as a list of
//! operations (an edit at a position with some of the input's bytes as text, or a request at
//! a position) on a document that starts as the M300 example's main file. Every request
//! must be answered, never with the internal error a panicking handler gives.
#![no_main]
use libfuzzer_sys::fuzz_target;
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{Value, json};
use std::time::Duration;

const START: &str = include_str!("../../examples/m300/main.spark");
const METHODS: &[&str] = &[
    "textDocument/hover",
    "textDocument/completion",
    "textDocument/definition",
    "textDocument/references",
    "textDocument/rename",
    "textDocument/formatting",
    "textDocument/documentSymbol",
    "textDocument/semanticTokens/full",
    "textDocument/inlayHint",
    "textDocument/codeAction",
];

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("sparkc-fuzz-lsp-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("spark.toml"), "[project]\nentry = \"main.spark\"\n");
    let uri = format!("file://{}/main.spark", dir.display());
    let (server, client) = Connection::memory();
    let handle = std::thread::spawn(move || sparkc::lsp::serve(&server));
    let send = |m: Message| {
        let _ = client.sender.send(m);
    };
    let answer = |id: &RequestId| loop {
        match client.receiver.recv_timeout(Duration::from_secs(30)) {
            Ok(Message::Response(r)) if r.id == *id => return r,
            Ok(_) => {}
            Err(e) => panic!("no answer: {e}"),
        }
    };
    let init = RequestId::from(0);
    send(Message::Request(Request::new(init.clone(), "initialize".into(), json!({"capabilities": {}}))));
    answer(&init);
    send(Message::Notification(Notification::new("initialized".into(), json!({}))));
    send(Message::Notification(Notification::new(
        "textDocument/didOpen".into(),
        json!({"textDocument": {"uri": uri, "languageId": "spark", "version": 1, "text": START}}),
    )));
    let mut version = 1;
    let mut next_id = 1;
    for chunk in data.chunks(6) {
        if chunk.len() < 6 {
            break;
        }
        let pos = |l: u8, c: u8| json!({"line": l % 80, "character": c % 100});
        if chunk[0] % 3 == 0 {
            let method = METHODS[chunk[1] as usize % METHODS.len()];
            let id = RequestId::from(next_id);
            next_id += 1;
            let p = pos(chunk[2], chunk[3]);
            send(Message::Request(Request::new(
                id.clone(),
                method.into(),
                json!({"textDocument": {"uri": uri}, "position": p, "newName": "renamed",
                       "context": {"includeDeclaration": true, "diagnostics": []},
                       "range": {"start": p, "end": pos(chunk[4], chunk[5])},
                       "options": {"tabSize": 2, "insertSpaces": true}}),
            )));
            let r = answer(&id);
            if let Err(e) = &r.response_result {
                assert!(!e.message.contains("this is a bug"), "{method}: {}", e.message);
            }
        } else {
            version += 1;
            let text = String::from_utf8_lossy(&chunk[4..]).into_owned();
            send(Message::Notification(Notification::new(
                "textDocument/didChange".into(),
                json!({"textDocument": {"uri": uri, "version": version},
                       "contentChanges": [{"range": {"start": pos(chunk[1], chunk[2]), "end": pos(chunk[2], chunk[3])}, "text": text}]}),
            )));
        }
    }
    let id = RequestId::from(next_id);
    send(Message::Request(Request::new(id.clone(), "shutdown".into(), Value::Null)));
    answer(&id);
    send(Message::Notification(Notification::new("exit".into(), Value::Null)));
    assert!(handle.join().is_ok(), "the server panicked");
});
