//! Traefik, the real one, reads what sparkc generates for it: its static configuration (the
//! generated `traefik.yml`) and the routing labels, through its own docker provider. No
//! Docker engine runs here; a small read-only Docker Engine API on loopback (`/_ping`,
//! `/version`, `/containers/json`, `/containers/{id}/json`, `/events`) serves the containers
//! `docker compose config --format json` describes — one per replica, each on a loopback
//! address of its own — so that label decoding, default rules, replica merging and conflict
//! detection are Traefik's own code.
//!
//! For every example and build fixture with a sparkc-configured Traefik on a compose host:
//! Traefik loads it with no error in its log, and every router and service the labels
//! define is in its `/api/rawdata`, enabled, with none besides. Then each route is driven
//! end to end: stand-in upstreams on the containers' addresses answer with their name, and
//! requests with the route's host name (HTTPS with its SNI, plain HTTP where declared), TLS
//! streams by SNI and UDP datagrams reach the right one; plain HTTP on a redirecting entry
//! point is redirected to HTTPS. A port that speaks h2c has a stand-in that answers only
//! HTTP/2 without TLS, and one that speaks HTTPS a TLS stand-in with a certificate of its
//! own, which the test makes Traefik trust (`serversTransport.rootCAs`, standing in for the
//! system's trust): each route to them must be answered by them.
//!
//! What the test changes in the static file: listen addresses become free loopback ports,
//! the docker provider's endpoint is the stand-in API, ACME's CA is a closed loopback port
//! (Traefik then serves its default certificate, which the test's client accepts), and the
//! API is turned on, on an entry point of its own, for `/api/rawdata`. On a swarm host the
//! same API answers the swarm provider (`/services` with each service's `deploy.labels`,
//! `/networks`, `/tasks`: one running task per replica, on its loopback address), so that
//! Traefik's own swarm code reads the services' labels. Routes no container carries come
//! from the generated `routes.yml` through the file provider, their addresses stand-ins.

use serde_json::{Value, json};
use sparkc_core::model::{Model, RouteProtocol, Speaks, Tls, Upstream};
use sparkc_core::syntax::ast::Proto;
use sparkc_snapshots::http::{
    LOGIN, asked_name, check_balance, check_http_route, check_redirect, check_spoken_route,
    dechunk_if_needed, exchange, h2c_upstream, http_request, http_request_with, parse_http,
    read_head, sick_upstream, tls_upstream, tls_upstream_with_cert, upstream,
};
use sparkc_snapshots::real::{Running, compose_config, free_port, tool, write_artifacts};
use sparkc_snapshots::{Rendered, valid_programs};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One container as the stand-in Docker API reports it.
#[derive(Clone)]
struct Container {
    id: String,
    name: String,
    /// The compose service it is a replica of.
    service: String,
    labels: BTreeMap<String, String>,
    /// Its address on every network it is on (one per container, unique in the program).
    ip: Ipv4Addr,
    networks: Vec<String>,
    /// Its compose project (a swarm stack).
    project: String,
    /// Its replica number, from 1 (a swarm task's slot).
    slot: u64,
}

impl Container {
    fn summary(&self) -> Value {
        json!({
            "Id": self.id,
            "Names": [format!("/{}", self.name)],
            "Image": "stand-in",
            "Labels": self.labels,
            "State": "running",
            "Status": "Up 1 minute",
            "HostConfig": { "NetworkMode": self.networks[0] },
            "NetworkSettings": { "Networks": self.network_json() },
        })
    }

    fn inspect(&self) -> Value {
        json!({
            "Id": self.id,
            "Name": format!("/{}", self.name),
            "State": { "Status": "running", "Running": true },
            "Config": { "Labels": self.labels, "Hostname": self.name },
            "HostConfig": { "NetworkMode": self.networks[0] },
            "NetworkSettings": { "Networks": self.network_json() },
        })
    }

    fn network_json(&self) -> Value {
        self.networks
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    json!({ "IPAddress": self.ip.to_string(), "NetworkID": format!("net-{n}") }),
                )
            })
            .collect::<serde_json::Map<String, Value>>()
            .into()
    }
}

/// The stand-in Docker Engine API: answers on a loopback port until dropped.
struct FakeDocker {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for FakeDocker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn fake_docker(containers: Vec<Container>) -> FakeDocker {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map_or(0, |a| a.port());
    let stop = Arc::new(AtomicBool::new(false));
    let containers = Arc::new(containers);
    let flag = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            if flag.load(Ordering::SeqCst) {
                break;
            }
            let containers = containers.clone();
            let flag = flag.clone();
            std::thread::spawn(move || docker_request(conn, &containers, &flag));
        }
    });
    FakeDocker { port, stop }
}

/// One request to the stand-in API (the client is told to close after each, except for
/// `/events`, which stays open and quiet until the test ends).
fn docker_request(mut conn: TcpStream, containers: &[Container], stop: &AtomicBool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let head = read_head(&mut conn);
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let query = percent_decoded(query);
    // Paths carry an API version prefix (`/v1.24/...`), or none.
    let route = match path.strip_prefix("/v") {
        Some(rest) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => path,
    };
    let body = if route == "/_ping" {
        Some("OK".to_string())
    } else if route == "/version" {
        Some(json!({"Version": "27.0.0", "ApiVersion": "1.45", "MinAPIVersion": "1.24", "Os": "linux", "Arch": "amd64"}).to_string())
    } else if route == "/containers/json" {
        Some(
            Value::from(
                containers
                    .iter()
                    .map(Container::summary)
                    .collect::<Vec<_>>(),
            )
            .to_string(),
        )
    } else if let Some(id) = route
        .strip_prefix("/containers/")
        .and_then(|r| r.strip_suffix("/json"))
    {
        containers
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.inspect().to_string())
    } else if route == "/services" {
        Some(Value::from(swarm_services(containers)).to_string())
    } else if route == "/networks" {
        let names: BTreeSet<&str> = containers
            .iter()
            .flat_map(|c| c.networks.iter().map(String::as_str))
            .collect();
        let list: Vec<Value> = names
            .iter()
            .map(|n| json!({"Id": format!("net-{n}"), "Name": n, "Scope": "swarm", "Driver": "overlay"}))
            .collect();
        Some(Value::from(list).to_string())
    } else if route == "/tasks" {
        // `filters={"service":{"<id>":true},"desired-state":{"running":true}}`
        let tasks: Vec<Value> = containers
            .iter()
            .filter(|c| query.contains(&format!("\"{}\"", swarm_service_id(c))))
            .map(|c| {
                json!({
                    "ID": c.id,
                    "ServiceID": swarm_service_id(c),
                    "Slot": c.slot,
                    "DesiredState": "running",
                    "Status": {"State": "running"},
                    "NetworksAttachments": c.networks.iter().map(|n| json!({
                        "Network": {"ID": format!("net-{n}")},
                        "Addresses": [format!("{}/32", c.ip)],
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        Some(Value::from(tasks).to_string())
    } else if route == "/events" {
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nApi-Version: 1.45\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        let _ = conn.flush();
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(100));
        }
        return;
    } else {
        None
    };
    let (status, body) = match body {
        Some(b) => ("200 OK", b),
        None => (
            "404 Not Found",
            json!({"message": "no such object"}).to_string(),
        ),
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nApi-Version: 1.45\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A swarm service's id in the stand-in API: its stack and name.
fn swarm_service_id(c: &Container) -> String {
    format!("svc-{}_{}", c.project, c.service)
}

/// The swarm services the containers are tasks of (`<stack>_<service>`), with their labels.
fn swarm_services(containers: &[Container]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut seen = BTreeSet::new();
    for c in containers {
        let id = swarm_service_id(c);
        if !seen.insert(id.clone()) {
            continue;
        }
        out.push(json!({
            "ID": id,
            "Spec": {
                "Name": format!("{}_{}", c.project, c.service),
                "Labels": c.labels,
                "Mode": {"Replicated": {"Replicas": containers.iter().filter(|x| swarm_service_id(x) == id).count()}},
                "EndpointSpec": {"Mode": "vip"},
            },
            "Endpoint": {"VirtualIPs": []},
        }));
    }
    out
}

/// A URL query with its `%XX` escapes decoded.
fn percent_decoded(q: &str) -> String {
    let b = q.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A stand-in UDP upstream on `addr`: answers every datagram with `<name>`.
fn udp_upstream(addr: (Ipv4Addr, u16), name: String) {
    let socket = UdpSocket::bind(addr).unwrap_or_else(|e| panic!("cannot bind {addr:?}: {e}"));
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while let Ok((_, from)) = socket.recv_from(&mut buf) {
            let _ = socket.send_to(name.as_bytes(), from);
        }
    });
}

/// A free UDP port on loopback.
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_or_else(|e| panic!("{e}"), |a| a.port())
}

/// Accepts any certificate: Traefik serves its default one while ACME cannot reach a CA.
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_client() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
        .with_no_client_auth();
    Arc::new(config)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    s
}

/// A TLS session to `host` (its SNI) over which `payload` is sent: an HTTP request for
/// HTTPS, or raw bytes for a TCP route Traefik terminates. The reply as text.
fn over_tls(port: u16, host: &str, payload: &[u8]) -> String {
    let name =
        rustls::pki_types::ServerName::try_from(host.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut conn =
        rustls::ClientConnection::new(tls_client(), name).unwrap_or_else(|e| panic!("{e}"));
    let mut sock = connect(port);
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    exchange(&mut tls, payload)
}

/// A TLS `ClientHello` naming `host`, sent raw: what a passed-through stream starts with. The
/// reply is the upstream's own bytes (the stand-in does not speak TLS).
fn client_hello(port: u16, host: &str) -> String {
    let name =
        rustls::pki_types::ServerName::try_from(host.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let mut conn =
        rustls::ClientConnection::new(tls_client(), name).unwrap_or_else(|e| panic!("{e}"));
    let mut hello = Vec::new();
    let _ = conn.write_tls(&mut hello);
    let mut sock = connect(port);
    let _ = sock.write_all(&hello);
    let mut buf = [0u8; 256];
    let n = sock.read(&mut buf).unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn datagram(port: u16) -> String {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 256];
    // UDP may be dropped while Traefik sets up the session: a few tries.
    for _ in 0..5 {
        let _ = s.send_to(b"ping", ("127.0.0.1", port));
        if let Ok(n) = s.recv(&mut buf) {
            return String::from_utf8_lossy(&buf[..n]).into_owned();
        }
    }
    String::new()
}

/// The containers of a host's compose projects, as Compose reads them: one per replica,
/// each with its own loopback address (127.0.<k>.<n>, `k` the program's number).
fn containers_of(
    compose: &std::path::Path,
    files: &[(std::path::PathBuf, String)],
    block: u8,
    swarm: bool,
) -> Vec<Container> {
    let mut out = Vec::new();
    let mut next = 2u8;
    for (file, contents) in files {
        let config = compose_config(compose, file, contents)
            .unwrap_or_else(|e| panic!("docker compose rejected {}: {e}", file.display()));
        let project = config["name"].as_str().unwrap_or("project").to_string();
        let Some(services) = config["services"].as_object() else {
            continue;
        };
        for (name, svc) in services {
            let replicas = svc["deploy"]["replicas"].as_u64().unwrap_or(1);
            // `docker compose config` prints a resolved file that is still a compose file, so
            // a literal `$` stays escaped as `$$`; the container itself gets one `$`.
            // The swarm provider reads a service's labels (`deploy.labels`), the docker
            // provider a container's.
            let label_source = if swarm {
                &svc["deploy"]["labels"]
            } else {
                &svc["labels"]
            };
            let mut labels: BTreeMap<String, String> = label_source
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").replace("$$", "$")))
                        .collect()
                })
                .unwrap_or_default();
            labels.insert("com.docker.compose.project".into(), project.clone());
            labels.insert("com.docker.compose.service".into(), name.clone());
            let networks: Vec<String> = match svc["networks"].as_object() {
                Some(m) if !m.is_empty() => m
                    .keys()
                    .map(|k| {
                        config["networks"][k]["name"]
                            .as_str()
                            .unwrap_or(k)
                            .to_string()
                    })
                    .collect(),
                _ => vec![format!("{project}_default")],
            };
            for n in 1..=replicas {
                let container_name = svc["container_name"]
                    .as_str()
                    .map_or_else(|| format!("{project}-{name}-{n}"), str::to_string);
                out.push(Container {
                    id: format!("{block:02x}{next:02x}{n:04x}{:0>56}", 0),
                    name: container_name,
                    service: name.clone(),
                    labels: labels.clone(),
                    ip: Ipv4Addr::new(127, 0, block, next),
                    networks: networks.clone(),
                    project: project.clone(),
                    slot: n,
                });
                next += 1;
            }
        }
    }
    out
}

/// The routers, services and middlewares the containers' labels define, as `(section, name@docker)`:
/// what Traefik must have from its docker provider.
fn defined_by_labels(containers: &[Container], provider: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for c in containers {
        if c.labels.get("traefik.enable").map(String::as_str) != Some("true") {
            continue;
        }
        for key in c.labels.keys() {
            let parts: Vec<&str> = key.split('.').collect();
            if parts.len() < 4 || parts[0] != "traefik" {
                continue;
            }
            let section = match (parts[1], parts[2]) {
                ("http", "routers") => "routers",
                ("http", "services") => "services",
                ("tcp", "routers") => "tcpRouters",
                ("tcp", "services") => "tcpServices",
                ("udp", "routers") => "udpRouters",
                ("udp", "services") => "udpServices",
                ("http", "middlewares") => "middlewares",
                ("tcp", "middlewares") => "tcpMiddlewares",
                _ => continue,
            };
            out.insert((section.to_string(), format!("{}@{provider}", parts[3])));
        }
    }
    out
}

/// The generated routes file of the host's Traefik (its file provider), made to run here:
/// each address it sends to becomes a stand-in named after it (over TLS, with a
/// self-signed certificate, for `https://`), and the static file reads the copy. Returns
/// the routers and services it defines, as `(section, name@file)`.
fn routes_file(
    config: &mut Value,
    artifacts: &[sparkc_core::target::Artifact],
    prefix: &str,
    dir: &std::path::Path,
) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    if config["providers"]["file"].is_null() {
        return out;
    }
    let Some(a) = artifacts
        .iter()
        .find(|a| a.path.starts_with(prefix) && a.path.ends_with("/routes.yml"))
    else {
        panic!("the static file reads a routes file sparkc did not write");
    };
    let mut routes: Value = serde_saphyr::from_str(&a.contents)
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}\n{}", a.path, a.contents));
    for (layer, routers, services) in [
        ("http", "routers", "services"),
        ("tcp", "tcpRouters", "tcpServices"),
        ("udp", "udpRouters", "udpServices"),
    ] {
        let middlewares = match layer {
            "http" => "middlewares",
            "tcp" => "tcpMiddlewares",
            _ => "udpMiddlewares",
        };
        for (key, section) in [
            ("routers", routers),
            ("services", services),
            ("middlewares", middlewares),
        ] {
            for name in routes[layer][key]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(n, _)| n)
            {
                out.insert((section.to_string(), format!("{name}@file")));
            }
        }
    }
    // (`get_mut`, not indexing: that would add the keys it looks for.)
    for layer in ["http", "tcp", "udp"] {
        let services = routes
            .get_mut(layer)
            .and_then(|h| h.get_mut("services"))
            .and_then(Value::as_object_mut);
        for (_, svc) in services.into_iter().flatten() {
            let servers = svc
                .get_mut("loadBalancer")
                .and_then(|l| l.get_mut("servers"))
                .and_then(Value::as_array_mut);
            for server in servers.into_iter().flatten() {
                let at = (Ipv4Addr::LOCALHOST, 0);
                if let Some(url) = server["url"].as_str().map(str::to_string) {
                    let loopback = if url.starts_with("https://") {
                        format!("https://127.0.0.1:{}", tls_upstream(at, url.clone()))
                    } else {
                        format!("http://127.0.0.1:{}", upstream(at, url.clone()))
                    };
                    server["url"] = json!(loopback);
                } else if let Some(address) = server["address"].as_str().map(str::to_string) {
                    // Named as the model writes it: `tcp://host:port`, `udp://host:port`.
                    let name = format!("{layer}://{address}");
                    let port = if layer == "udp" {
                        let port = free_udp_port();
                        udp_upstream((Ipv4Addr::LOCALHOST, port), name);
                        port
                    } else {
                        upstream(at, name)
                    };
                    server["address"] = json!(format!("127.0.0.1:{port}"));
                }
            }
        }
    }
    stand_in_secrets_in(&mut routes, dir);
    let file = dir.join("routes.yml");
    std::fs::write(&file, routes.to_string()).unwrap_or_else(|e| panic!("{e}"));
    config["providers"]["file"]["filename"] = json!(file.display().to_string());
    out
}

/// The static file Traefik gets in this test: the generated one with loopback addresses
/// (returned by entry point), the stand-in API, a closed ACME CA and the API turned on.
fn test_static_config(
    generated: &str,
    docker_port: u16,
    api_port: u16,
    dir: &std::path::Path,
) -> (Value, BTreeMap<String, u16>) {
    let mut v: Value = serde_saphyr::from_str(generated)
        .unwrap_or_else(|e| panic!("the generated traefik.yml is not YAML: {e}\n{generated}"));
    let mut ports = BTreeMap::new();
    if let Some(eps) = v["entryPoints"].as_object_mut() {
        for (name, ep) in eps.iter_mut() {
            let address = ep["address"].as_str().unwrap_or("").to_string();
            let (port, suffix) = if address.ends_with("/udp") {
                (free_udp_port(), "/udp")
            } else {
                (free_port(), "")
            };
            ep["address"] = json!(format!("127.0.0.1:{port}{suffix}"));
            ports.insert(name.clone(), port);
        }
        eps.insert(
            "traefik".into(),
            json!({ "address": format!("127.0.0.1:{api_port}") }),
        );
    }
    if let Some(resolvers) = v["certificatesResolvers"].as_object_mut() {
        for (name, r) in resolvers.iter_mut() {
            r["acme"]["storage"] = json!(dir.join(format!("{name}.json")).display().to_string());
            r["acme"]["caServer"] = json!("https://127.0.0.1:1/directory");
        }
    }
    let provider = if v["providers"]["swarm"].is_object() {
        "swarm"
    } else {
        "docker"
    };
    assert!(
        v["providers"][provider].is_object(),
        "no docker or swarm provider in:\n{generated}"
    );
    v["providers"][provider]["endpoint"] = json!(format!("tcp://127.0.0.1:{docker_port}"));
    // The generated `api` section (a dashboard's) kept, the API served on its entry point.
    if !v["api"].is_object() {
        v["api"] = json!({});
    }
    v["api"]["insecure"] = json!(true);
    v["log"] = json!({
        "level": "ERROR",
        "filePath": dir.join("traefik.log").display().to_string(),
    });
    (v, ports)
}

/// `/api/rawdata`, once every router and service in `want` is there (20 s at most).
fn rawdata_with(api_port: u16, want: &BTreeSet<(String, String)>, config: &str) -> Value {
    let start = Instant::now();
    loop {
        let mut s = connect(api_port);
        let _ = s.write_all(http_request("localhost", "/api/rawdata").as_bytes());
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        let (status, body) = parse_http(&resp);
        let data: Value = if status == 200 {
            serde_json::from_str(&dechunk_if_needed(&resp, &body)).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        let has_all = want
            .iter()
            .all(|(section, name)| data[section.as_str()].get(name.as_str()).is_some());
        if has_all {
            return data;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "Traefik never loaded every router and service the labels define; want {want:?}\n--- rawdata ---\n{data:#}\n--- static ---\n{config}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every route of `model` on `host`, driven through the running Traefik: (what was sent,
/// what came back, what should have). An HTTP route is asked for a path below its own: the
/// upstream must see it as declared (stripped, rewritten), behind each of its middlewares
/// (a login refused without credentials, an allow-list that admits loopback or not, a rate
/// limit that answers 429, a body limit 413, headers set on the request and the response).
fn drive_routes(
    model: &Model,
    host: &str,
    ports: &BTreeMap<String, u16>,
    containers: &[Container],
) -> Vec<(String, String, String)> {
    let mut results = Vec::new();
    for d in &model.domains {
        if model.hosts[d.host].name != host {
            continue;
        }
        // A port that speaks HTTPS or h2c: its stand-in answers only over that protocol.
        let spoken = match &d.upstream {
            Upstream::Service { port, .. } => match port.speaks {
                Speaks::Https { .. } => Some(false),
                Speaks::H2c => Some(true),
                _ => None,
            },
            _ => None,
        };
        // Who answers: the service's containers, or the stand-in for an address (named
        // after it); a redirect is answered by Traefik itself.
        let backends: BTreeSet<String> = match &d.upstream {
            Upstream::Service { service, port } => containers
                .iter()
                .filter(|c| c.service == model.services[*service].name)
                .map(|c| format!("{}:{}", c.name, port.number))
                .collect(),
            Upstream::Address(a) => BTreeSet::from([a.url()]),
            Upstream::Redirect(_) | Upstream::Dashboard { .. } => BTreeSet::new(),
        };
        let answered = |got: &str| backends.contains(got.split(' ').next().unwrap_or(""));
        for ep in &d.entrypoints {
            let port = ports[ep];
            if d.protocol == RouteProtocol::Http {
                let via = format!(" on {ep}");
                let send = |req: &[u8]| -> String {
                    if d.tls == Tls::Off {
                        exchange(&mut connect(port), req)
                    } else {
                        over_tls(port, &asked_name(d), req)
                    }
                };
                if let Upstream::Redirect(r) = &d.upstream {
                    results.extend(check_redirect(d, r, &via, &send));
                    continue;
                }
                if let Upstream::Dashboard { .. } = &d.upstream {
                    results.extend(check_dashboard(d, &via, &send));
                    continue;
                }
                if let Some(h2c) = spoken {
                    results.extend(check_spoken_route(d, h2c, &via, &send, &answered));
                    continue;
                }
                let shares_backend = model.domains.iter().any(|o| {
                    o.name == d.name && o.upstream == d.upstream && o.path_prefix != d.path_prefix
                });
                results.extend(check_http_route(
                    d,
                    &via,
                    shares_backend,
                    &send,
                    &answered,
                    &backends,
                ));
                results.extend(check_balance(d, &via, &send, &backends));
                continue;
            }
            let (sent, got) = match (d.protocol, d.tls) {
                (RouteProtocol::Tcp, Tls::Passthrough) => (
                    format!("a TLS stream for {} on {ep}, passed through", d.name),
                    client_hello(port, &asked_name(d)),
                ),
                (RouteProtocol::Tcp, Tls::Off) => {
                    let mut sock = connect(port);
                    let _ = sock.write_all(b"hello\n");
                    let mut buf = [0u8; 256];
                    let n = sock.read(&mut buf).unwrap_or(0);
                    (
                        format!("a TCP stream on {ep}"),
                        String::from_utf8_lossy(&buf[..n]).into_owned(),
                    )
                }
                (RouteProtocol::Tcp, _) => (
                    format!("a TLS stream for {} on {ep}, terminated", d.name),
                    over_tls(port, &asked_name(d), b"hello\n"),
                ),
                _ => (format!("a datagram on {ep}"), datagram(port)),
            };
            // The stand-in names itself `<container>:<port>`; a stream from a source the
            // route's allow-list refuses is closed before it reaches any.
            let refused = d.middlewares.iter().any(|m| {
                matches!(m, sparkc_core::model::Middleware::AllowFrom(nets)
                    if !nets.iter().any(|n| n.starts_with("127.")))
            });
            let (want, ok) = if refused {
                (
                    "refused: no upstream answers".to_string(),
                    !backends.iter().any(|b| got.contains(b.as_str())),
                )
            } else {
                (format!("one of {backends:?}"), answered(&got))
            };
            let sent = if refused {
                format!("{sent}, from a source its allow-list refuses")
            } else {
                sent
            };
            results.push((
                sent,
                if ok { want.clone() } else { format!("{got:?}") },
                want,
            ));
        }
    }
    results
}

/// A route to Traefik's dashboard: its API refuses a request without the route's login and
/// answers one with it (`/api/version`, Traefik's own JSON), and the dashboard is there.
fn check_dashboard(
    d: &sparkc_core::model::Domain,
    via: &str,
    send: &dyn Fn(&[u8]) -> String,
) -> Vec<(String, String, String)> {
    let name = asked_name(d);
    let what = format!("https://{name}/api/version{via}");
    let mut results = Vec::new();
    let mut check = |label: &str, resp: String, ok: bool, want: &str| {
        let got = if ok { want.to_string() } else { resp };
        results.push((format!("{what}: {label}"), got, want.to_string()));
    };
    let resp = send(&http_request_with("GET", &name, "/api/version", "", b""));
    let status = parse_http(&resp).0;
    check("without a login", resp, status == 401, "401");
    let resp = send(&http_request_with("GET", &name, "/api/version", LOGIN, b""));
    let (status, body) = parse_http(&resp);
    let body = dechunk_if_needed(&resp, &body);
    check(
        "with the login, Traefik's API",
        resp,
        status == 200 && body.contains("\"Version\""),
        "200 with Traefik's version",
    );
    let resp = send(&http_request_with("GET", &name, "/dashboard/", LOGIN, b""));
    let status = parse_http(&resp).0;
    check("with the login, the dashboard", resp, status == 200, "200");
    results
}

/// The users file of every basic-auth route, in Traefik's htpasswd format, holding
/// `admin:secret` (hashed by `caddy hash-password`, bcrypt as Traefik reads it); label values
/// that name `/run/secrets/<name>` (where the compose target mounts the secret into
/// Traefik) are pointed at it, as the mount would.
fn stand_in_secrets(containers: &mut [Container], dir: &std::path::Path) {
    for c in containers {
        for v in c.labels.values_mut() {
            if let Some(file) = stand_in_users_file(v, dir) {
                *v = file;
            }
        }
    }
}

/// For a value naming a mounted secret (`/run/secrets/admins`), a users file in `dir` with
/// the user `admin`, password `secret`, and its path.
fn stand_in_users_file(value: &str, dir: &std::path::Path) -> Option<String> {
    let name = value.strip_prefix("/run/secrets/")?;
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap_or_else(|e| panic!("{e}"));
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let h = HASH.get_or_init(|| {
        let out = Command::new(tool("SPARKC_CADDY", "caddy"))
            .args(["hash-password", "--plaintext", "secret"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "caddy hash-password failed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    });
    let file = secrets.join(name);
    std::fs::write(&file, format!("admin:{h}\n")).unwrap_or_else(|e| panic!("{e}"));
    Some(file.display().to_string())
}

/// Every secret path in a file provider's configuration, made a stand-in users file.
fn stand_in_secrets_in(v: &mut Value, dir: &std::path::Path) {
    match v {
        Value::String(s) => {
            if let Some(file) = stand_in_users_file(s, dir) {
                *s = file;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|x| stand_in_secrets_in(x, dir)),
        Value::Object(m) => m.values_mut().for_each(|x| stand_in_secrets_in(x, dir)),
        _ => {}
    }
}

/// A forward-auth address names its service as Docker's DNS would (`http://authelia:9091/..`);
/// here it is that service's first container's address, as the DNS would answer.
fn stand_in_dns(containers: &mut [Container]) {
    let first: BTreeMap<String, Ipv4Addr> = containers
        .iter()
        .rev()
        .map(|c| (c.service.clone(), c.ip))
        .collect();
    for c in containers {
        for (k, v) in &mut c.labels {
            if !k.ends_with(".forwardauth.address") {
                continue;
            }
            let Some(rest) = v.strip_prefix("http://") else {
                continue;
            };
            let (host, tail) = rest.split_once(':').unwrap_or((rest, ""));
            if let Some(ip) = first.get(host) {
                *v = format!("http://{ip}:{tail}");
            }
        }
    }
}

#[test]
fn traefik_loads_and_routes_what_sparkc_generates() {
    let traefik = tool("SPARKC_TRAEFIK", "traefik");
    let compose = tool("SPARKC_DOCKER_COMPOSE", "docker-compose");
    let tmp = std::env::temp_dir().join(format!("sparkc-traefik-{}", std::process::id()));
    let mut checked = 0;
    let mut routes_driven = 0;
    for (i, (name, out)) in valid_programs().into_iter().enumerate() {
        assert_eq!(out.errors(), 0, "{name}:\n{}", out.rendered());
        for static_file in out
            .artifacts
            .iter()
            .filter(|a| a.path.ends_with("/traefik.yml"))
        {
            let host = static_file.path.split('/').nth(1).unwrap_or("").to_string();
            let is_swarm = out
                .model
                .hosts
                .iter()
                .any(|h| h.name == host && h.runtime == sparkc_core::model::Runtime::Swarm);
            let dir = tmp.join(i.to_string());
            write_artifacts(&dir, &out.artifacts);
            let prefix = format!("compose/{host}/");
            let files: Vec<(std::path::PathBuf, String)> = out
                .artifacts
                .iter()
                .filter(|a| a.path.starts_with(&prefix) && a.path.ends_with("docker-compose.yml"))
                .map(|a| (dir.join(&a.path), a.contents.clone()))
                .collect();
            let block = u8::try_from(i + 1).unwrap_or(255);
            let containers = containers_of(&compose, &files, block, is_swarm);
            // Stand-in upstreams on every container's address, for each of its ports.
            let mut upstream_certs = Vec::new();
            for c in &containers {
                let Some(svc) = out.model.services.iter().find(|s| s.name == c.service) else {
                    continue;
                };
                // The last of several replicas fails the health check its routes declare.
                let replicas = svc.replicas.unwrap_or(1);
                let sick = out
                    .model
                    .domains
                    .iter()
                    .filter(|d| d.service().map(|s| &out.model.services[s].name) == Some(&svc.name))
                    .find_map(|d| d.balance.health_check.as_ref())
                    .filter(|_| replicas > 1 && c.name.ends_with(&format!("-{replicas}")))
                    .map(|h| h.path.clone());
                for p in &svc.ports {
                    let me = format!("{}:{}", c.name, p.port);
                    let at = (c.ip, p.port);
                    match (p.proto, &p.speaks) {
                        (Proto::Tcp, Speaks::H2c) => {
                            h2c_upstream(at, me);
                        }
                        // A certificate Traefik is told not to verify is not trusted.
                        (Proto::Tcp, Speaks::Https { verify_tls }) => {
                            let pem = tls_upstream_with_cert(at, me).1;
                            if *verify_tls {
                                upstream_certs.push(pem);
                            }
                        }
                        (Proto::Tcp, _) => {
                            sick_upstream(at, me, sick.clone());
                        }
                        (Proto::Udp, _) => udp_upstream(at, me),
                    }
                }
            }
            let mut containers = containers;
            stand_in_secrets(&mut containers, &dir);
            stand_in_dns(&mut containers);
            let provider = if is_swarm { "swarm" } else { "docker" };
            let want = defined_by_labels(&containers, provider);
            let run_dir = dir.join("traefik-run");
            std::fs::create_dir_all(&run_dir).unwrap_or_else(|e| panic!("{e}"));
            let fake = fake_docker(containers.clone());
            let api_port = free_port();
            let (config, ports) =
                test_static_config(&static_file.contents, fake.port, api_port, &run_dir);
            let mut config = config;
            // The HTTPS stand-ins' certificates, trusted as a backend's certificate would be
            // by the system (Traefik verifies the certificates of the backends it dials).
            if !upstream_certs.is_empty() {
                let files: Vec<String> = upstream_certs
                    .iter()
                    .enumerate()
                    .map(|(k, pem)| {
                        let f = run_dir.join(format!("upstream-ca-{k}.pem"));
                        std::fs::write(&f, pem).unwrap_or_else(|e| panic!("{e}"));
                        f.display().to_string()
                    })
                    .collect();
                config["serversTransport"]["rootCAs"] = json!(files);
            }
            let want = want
                .into_iter()
                .chain(routes_file(&mut config, &out.artifacts, &prefix, &run_dir))
                .collect::<BTreeSet<_>>();
            let config_text = serde_json::to_string_pretty(&config).unwrap_or_default();
            let config_file = run_dir.join("traefik.yml");
            std::fs::write(&config_file, &config_text).unwrap_or_else(|e| panic!("{e}"));
            let _traefik = Running(sparkc_snapshots::real::serve(
                Command::new(&traefik)
                    .arg(format!("--configfile={}", config_file.display()))
                    .env_clear(),
                api_port,
                &config_text,
            ));
            let data = rawdata_with(api_port, &want, &config_text);
            // Where the static configuration serves Prometheus metrics (the entry point the
            // Traefik service's `metrics` port names), Traefik answers with its own series.
            if let Some(ep) = config["metrics"]["prometheus"]["entryPoint"].as_str() {
                let port = ports[ep];
                let mut s = connect(port);
                let _ = s.write_all(http_request("localhost", "/metrics").as_bytes());
                let mut resp = String::new();
                let _ = s.read_to_string(&mut resp);
                assert!(
                    resp.starts_with("HTTP/1.1 200")
                        && resp.contains("traefik_config_reloads_total"),
                    "{name}: no Traefik metrics on entry point `{ep}`:\n{}",
                    resp.chars().take(400).collect::<String>()
                );
            }
            // Every router, service and middleware of the docker, swarm and file providers:
            // enabled, and only those.
            let mut have = BTreeSet::new();
            for section in [
                "routers",
                "services",
                "tcpRouters",
                "tcpServices",
                "udpRouters",
                "udpServices",
                "middlewares",
                "tcpMiddlewares",
            ] {
                for (n, v) in data[section].as_object().into_iter().flatten() {
                    if n.ends_with("@docker") || n.ends_with("@swarm") || n.ends_with("@file") {
                        have.insert((section.to_string(), n.clone()));
                        assert_eq!(
                            v["status"].as_str(),
                            Some("enabled"),
                            "{name}: Traefik did not enable {section} {n}: {v:#}"
                        );
                    }
                }
            }
            assert_eq!(
                have, want,
                "{name}: Traefik's routers and services are not the ones the labels define"
            );
            // Traefik dials a port that speaks HTTPS or h2c over that scheme: its servers'
            // URLs, as it reports them, say so.
            for d in out
                .model
                .domains
                .iter()
                .filter(|d| out.model.hosts[d.host].name == host)
            {
                let Upstream::Service { service, port } = &d.upstream else {
                    continue;
                };
                let scheme = match port.speaks {
                    sparkc_core::model::Speaks::Https { .. } => "https://",
                    sparkc_core::model::Speaks::H2c => "h2c://",
                    _ => continue,
                };
                let svc = &out.model.services[*service].name;
                let urls: Vec<String> = data["services"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .flat_map(|(_, s)| {
                        s["loadBalancer"]["servers"]
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                    })
                    .filter_map(|x| x["url"].as_str().map(str::to_string))
                    .filter(|u| u.ends_with(&format!(":{}", port.number)))
                    .collect();
                assert!(
                    !urls.is_empty() && urls.iter().all(|u| u.starts_with(scheme)),
                    "{name}: Traefik does not dial `{svc}` over {scheme}: {urls:?}"
                );
            }
            // Drive every route; then the redirect on each entry point that has one.
            let results = drive_routes(&out.model, &host, &ports, &containers);
            for (sent, got, want) in &results {
                assert_eq!(got, want, "{name}: {sent}\n--- static ---\n{config_text}");
            }
            routes_driven += results.len();
            eprintln!(
                "{name}: {} routers, services and middlewares, {} routes driven",
                have.len(),
                results.len()
            );
            for (sent, _, _) in &results {
                eprintln!("  {sent}");
            }
            for (ep, v) in config["entryPoints"].as_object().into_iter().flatten() {
                if v["http"]["redirections"]["entryPoint"]["scheme"] == "https" {
                    let mut sock = connect(ports[ep]);
                    let _ = sock.write_all(http_request("any.example.org", "/a?b=c").as_bytes());
                    let mut resp = String::new();
                    let _ = sock.read_to_string(&mut resp);
                    let location = resp
                        .lines()
                        .find_map(|l| l.strip_prefix("Location: "))
                        .unwrap_or("");
                    assert!(
                        matches!(parse_http(&resp).0, 301 | 308)
                            && location.starts_with("https://any.example.org"),
                        "{name}: plain HTTP on `{ep}` is not redirected to HTTPS:\n{resp}"
                    );
                }
            }
            // Traefik's own log: nothing went wrong but the CA it was never meant to reach
            // and what this test sent to be refused on purpose (bodies over their limit,
            // streams from a source an allow-list refuses).
            let log = std::fs::read_to_string(run_dir.join("traefik.log")).unwrap_or_default();
            let errors: Vec<&str> = log
                .lines()
                .filter(|l| {
                    l.contains("ERR")
                        && !l.to_ascii_lowercase().contains("acme")
                        && !l.contains("request body over limit")
                        && !l.contains("matched none of the trusted IPs")
                })
                .collect();
            assert!(
                errors.is_empty(),
                "{name}: Traefik logged errors:\n{}",
                errors.join("\n")
            );
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        checked >= 3,
        "only {checked} Traefik configurations were checked"
    );
    assert!(
        routes_driven >= 10,
        "only {routes_driven} routes were driven"
    );
}
