//! From 512 services on, services are lowered on every core, each thread with an evaluator
//! of its own. The result must be what one thread makes: the same model, the same
//! diagnostics, the same references. (One test in its own binary: it flips a global switch.)

use sparkc_core::source::{LoadError, SourceProvider};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;

struct Files(Vec<(String, String)>);

impl SourceProvider for Files {
    fn load_file(&self, path: &str) -> Result<String, LoadError> {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, t)| t.clone())
            .ok_or(LoadError::NotFound)
    }
    fn load_std(&self, _module: &str) -> Option<&str> {
        None
    }
    fn std_modules(&self) -> Vec<String> {
        Vec::new()
    }
}

fn project() -> Files {
    let mut main = String::from(
        "host web { runtime = compose, proxy = traefik }\nhost db { runtime = compose }\n\
         secret pw from env \"PW\"\nconst tag = \"1.2\"\n\
         template app(name: string, port: int) = service {\n  image = \"ghcr.io/x/${name}:${tag}\"\n  port { http = port }\n  env { NAME = name }\n}\n",
    );
    for i in 0..700 {
        let host = if i % 3 == 0 { "db" } else { "web" };
        let body = match i {
            // Mistakes spread over the threads' shares, each reported once, in order.
            17 => "{ imgae = \"x\" }".to_string(),
            250 => "{ restart = sometimes }".to_string(),
            401 => format!("{{ env {{ PEER = svc-{} }} }}", 9999),
            699 => "{ depends_on = [svc-698, nope] }".to_string(),
            _ if i % 50 == 1 => format!("{{ env {{ PEER = svc-{}, PW = pw }} }}", i - 1),
            _ => String::new(),
        };
        let _ = writeln!(
            main,
            "service svc-{i} on {host} = app(name = \"svc-{i}\", port = {}) {body}",
            8000 + i % 100
        );
        if i % 7 == 0 {
            let _ = writeln!(main, "domain svc-{i}.example.org -> svc-{i}.port.http");
        }
    }
    Files(vec![("main.spark".to_string(), main)])
}

#[test]
fn lowering_on_every_core_makes_what_one_thread_makes() {
    let files = project();
    let parallel = sparkc_core::check(&files, "main.spark");
    sparkc_core::check::lower::LOWER_SERIALLY.store(true, Ordering::Relaxed);
    let serial = sparkc_core::check(&files, "main.spark");
    sparkc_core::check::lower::LOWER_SERIALLY.store(false, Ordering::Relaxed);

    assert_eq!(serial.model.services.len(), 700);
    assert!(
        serial.diagnostics.len() >= 4,
        "the mistakes are reported: {:?}",
        serial.diagnostics
    );
    assert_eq!(parallel.diagnostics, serial.diagnostics);
    assert_eq!(parallel.references, serial.references);
    let json = |c: &sparkc_core::Checked| serde_json::to_string(&c.model).unwrap_or_default();
    assert_eq!(json(&parallel), json(&serial));
}
