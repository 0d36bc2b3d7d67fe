//! What the tests that drive a real proxy share: stand-in upstreams that say who they are
//! and what they were asked, a small HTTP/1.1 client, and what each route of the model must
//! do when asked through a proxy — one description of a route's behaviour for Traefik and
//! Caddy alike.

use sparkc_core::model::{Domain, Middleware, Redirect, Tls};
use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::time::Duration;

/// A request's head, up to the blank line (or what came before the peer stopped).
pub fn read_head(conn: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut buf = [0u8; 2048];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A stand-in upstream on `addr` (port 0: any free one; the port is returned): answers an
/// HTTP request with `<name> <path>` and then the request's own `Host`, `x-` and `remote-`
/// headers, one per line
/// (and, standing in for a forward-auth service, 401 to `X-Deny: 1`, and the header named by
/// `X-Respond-With`, valued `<name>`);
/// anything else (a TLS stream passed through, a plain TCP stream) with `<name>` once it
/// has read some bytes.
pub fn upstream(addr: (Ipv4Addr, u16), name: String) -> u16 {
    sick_upstream(addr, name, None)
}

/// [`upstream`], but answering `503` to a request for `sick` (a health check path): a
/// replica that is up and not healthy.
pub fn sick_upstream(addr: (Ipv4Addr, u16), name: String, sick: Option<String>) -> u16 {
    serve_each(addr, move |conn| answer(conn, &name, sick.as_deref()))
}

/// Listens on `addr` (port 0: any free one, returned) and hands every connection, with a
/// read timeout, to `handle` on a thread of its own.
fn serve_each(
    addr: (Ipv4Addr, u16),
    handle: impl Fn(&mut std::net::TcpStream) + Send + Sync + 'static,
) -> u16 {
    let listener =
        TcpListener::bind(addr).unwrap_or_else(|e| panic!("cannot listen on {addr:?}: {e}"));
    let port = listener.local_addr().map_or(0, |a| a.port());
    let handle = std::sync::Arc::new(handle);
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let handle = handle.clone();
            std::thread::spawn(move || {
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                handle(&mut conn);
            });
        }
    });
    port
}

/// [`upstream`] over TLS, with a self-signed certificate for `name`'s host: what a
/// hypervisor's web UI serves, which a proxy reaches only where told not to verify it.
pub fn tls_upstream(addr: (Ipv4Addr, u16), name: String) -> u16 {
    tls_upstream_with_cert(addr, name).0
}

/// [`tls_upstream`], and its certificate (PEM): what a test makes a proxy trust, standing in
/// for a certificate the proxy's system trusts.
pub fn tls_upstream_with_cert(addr: (Ipv4Addr, u16), name: String) -> (u16, String) {
    let cert = rcgen::generate_simple_self_signed(vec![addr.0.to_string()])
        .unwrap_or_else(|e| panic!("{e}"));
    let pem = cert.cert.pem();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(vec![cert.cert.der().clone()], key)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let config = std::sync::Arc::new(config);
    let port = serve_each(addr, move |conn| {
        let Ok(mut tls) = rustls::ServerConnection::new(config.clone()) else {
            return;
        };
        let mut stream = rustls::Stream::new(&mut tls, conn);
        answer(&mut stream, &name, None);
        let _ = stream.flush();
        stream.conn.send_close_notify();
        let _ = stream.conn.write_tls(stream.sock);
    });
    (port, pem)
}

/// One connection to a stand-in upstream, answered as [`upstream`] describes.
fn answer(conn: &mut (impl Read + Write), name: &str, sick: Option<&str>) {
    let mut first = [0u8; 4096];
    let n = conn.read(&mut first).unwrap_or(0);
    let start = &first[..n];
    if start.first().is_some_and(u8::is_ascii_uppercase) {
        let mut head = String::from_utf8_lossy(start).into_owned();
        if !head.contains("\r\n\r\n") {
            head.push_str(&read_head(conn));
        }
        let path = head.split_whitespace().nth(1).unwrap_or("?").to_string();
        // The request's own `x-` headers follow, one per line, lower-cased.
        let mut body = format!("{name} {path}");
        for line in head.lines().skip(1) {
            let lower = line.to_ascii_lowercase();
            if (lower.starts_with("x-")
                || lower.starts_with("remote-")
                || lower.starts_with("host:"))
                && !lower.starts_with("x-forwarded-")
                && !lower.starts_with("x-real-ip")
            {
                body.push('\n');
                body.push_str(&lower);
            }
        }
        // Drain a request body, so that the proxy sees the reply to all of it.
        let length: usize = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap_or(0))
            })
            .unwrap_or(0);
        let already = head.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len());
        let mut left = length.saturating_sub(already);
        let mut sink = [0u8; 8192];
        while left > 0 {
            match conn.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
        // As a forward-auth service: `X-Deny: 1` is refused, and
        // `X-Respond-With: NAME` is answered with the header `NAME: <name>`.
        let asked = |h: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(h)
                    .then(|| v.trim().to_string())
            })
        };
        let status = if sick == Some(path.as_str()) {
            "503 Service Unavailable"
        } else if asked("x-deny").as_deref() == Some("1") {
            "401 Unauthorized"
        } else {
            "200 OK"
        };
        let extra = asked("x-respond-with")
            .map(|h| format!("{h}: {name}\r\n"))
            .unwrap_or_default();
        let _ = write!(
            conn,
            "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    } else {
        let _ = conn.write_all(name.as_bytes());
    }
}

/// What one request got back: the status (0: none) and the body, or the raw reply.
pub type Reply = (u16, String);

pub fn parse_http(resp: &str) -> Reply {
    let status = resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = resp.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

pub fn http_request(host: &str, path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
}

/// A request with extra header lines (each ending in CRLF) and a body.
pub fn http_request_with(
    method: &str,
    host: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> Vec<u8> {
    let mut r = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A response header's value (names compared without case).
pub fn header<'r>(resp: &'r str, name: &str) -> Option<&'r str> {
    let head = resp.split("\r\n\r\n").next().unwrap_or("");
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Send `payload` and read the reply to its end. A request that says
/// `Expect: 100-continue` sends its head first and its body only after `100 Continue`: a
/// proxy that refuses the body (413) answers without reading it, and closing the connection
/// on an unsent body would otherwise reset it before its answer is read.
pub fn exchange(stream: &mut (impl Read + Write), payload: &[u8]) -> String {
    let split = payload
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4);
    let expects = split.is_some_and(|n| {
        String::from_utf8_lossy(&payload[..n])
            .to_ascii_lowercase()
            .contains("\r\nexpect: 100-continue\r\n")
    });
    let mut out = Vec::new();
    if let (true, Some(n)) = (expects, split) {
        if let Err(e) = stream.write_all(&payload[..n]) {
            return format!("failed to send: {e}");
        }
        let mut byte = [0u8; 1];
        while !out.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => out.push(byte[0]),
                _ => break,
            }
        }
        if !out.starts_with(b"HTTP/1.1 100") {
            let _ = stream.read_to_end(&mut out);
            return String::from_utf8_lossy(&out).into_owned();
        }
        out.clear();
        if let Err(e) = stream.write_all(&payload[n..]) {
            return format!("failed to send: {e}");
        }
    } else if let Err(e) = stream.write_all(payload) {
        return format!("failed to send: {e}");
    }
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// A chunked body made whole (Go sends long bodies chunked).
pub fn dechunk_if_needed(resp: &str, body: &str) -> String {
    let head = resp.split("\r\n\r\n").next().unwrap_or("");
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_string();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

/// "admin:secret", the login every users file in this test holds.
pub const LOGIN: &str = "Authorization: Basic YWRtaW46c2VjcmV0\r\n";

/// What one route must do when asked through a running proxy: (what was sent, what came
/// back, what should have). It is asked for a path below its own; the upstream must see the
/// path as declared (stripped, rewritten) behind each of its middlewares: a login refused
/// without credentials, an allow-list that admits loopback or not, a rate limit that answers
/// 429, a body limit 413, headers set on the request and the response. `send` sends one
/// request to the proxy (over TLS with the route's SNI where it has TLS); `answered` says
/// whether a body's first word names one of the route's `backends`; `via` ends each label;
/// `shares_backend` says another route of the same name goes to the same service (so a path
/// outside this route's may still reach it).
pub fn check_http_route(
    d: &Domain,
    via: &str,
    shares_backend: bool,
    send: &(dyn Fn(&[u8]) -> String + Sync),
    answered: &dyn Fn(&str) -> bool,
    backends: &BTreeSet<String>,
) -> Vec<(String, String, String)> {
    let mut results = Vec::new();
    // A rate-limited route is asked at its average rate (and a little slower),
    // so only the burst check below meets the limit.
    let pace = d.middlewares.iter().find_map(|m| match m {
        Middleware::RateLimit { average, .. } => Some(Duration::from_millis(
            u64::from(1000 / (*average).max(1)) + 50,
        )),
        _ => None,
    });
    let call = |req: &[u8]| -> String {
        if let Some(wait) = pace {
            std::thread::sleep(wait);
        }
        send(req)
    };
    let scheme = if d.tls == Tls::Off { "http" } else { "https" };
    let prefix = d.path_prefix.as_deref().unwrap_or("");
    let path = format!("{prefix}/x");
    let seen = match d.upstream_path.as_deref() {
        None => path.clone(),
        Some("/") => "/x".to_string(),
        Some(to) => format!("{to}/x"),
    };
    let name = asked_name(d);
    let what = format!("{scheme}://{name}{path}{via}");
    let login = if d.basic_auth.is_some() { LOGIN } else { "" };
    let mut check = |label: &str, resp: &str, ok: bool, want: &str| {
        let got = if ok {
            want.to_string()
        } else {
            resp.to_string()
        };
        results.push((format!("{what}: {label}"), got, want.to_string()));
    };
    let allowed = d.middlewares.iter().all(|m| match m {
        Middleware::AllowFrom(nets) => nets.iter().any(|n| n.starts_with("127.")),
        _ => true,
    });
    if !allowed {
        let resp = call(&http_request_with("GET", &name, &path, login, b""));
        check(
            "from a source the allow-list refuses",
            &resp,
            parse_http(&resp).0 == 403,
            "403",
        );
        return results;
    }
    if d.basic_auth.is_some() {
        let resp = call(&http_request_with("GET", &name, &path, "", b""));
        check("without a login", &resp, parse_http(&resp).0 == 401, "401");
    }
    let resp = call(&http_request_with("GET", &name, &path, login, b""));
    let (status, body) = parse_http(&resp);
    let first_line = body.lines().next().unwrap_or("");
    check(
        "reaches its upstream, with the path it expects",
        &resp,
        status == 200 && answered(first_line) && first_line.ends_with(&format!(" {seen}")),
        &format!("200 from one of {backends:?} for {seen}"),
    );
    // The `Host` the service sees: the client's, or the proxy's own choice of its address.
    let client_host = format!("host: {name}");
    let passed = body.lines().any(|l| l == client_host);
    check(
        if d.balance.pass_host_header {
            "the client's Host passed on"
        } else {
            "the service's own address as Host"
        },
        &resp,
        passed == d.balance.pass_host_header,
        if d.balance.pass_host_header {
            client_host.as_str()
        } else {
            "another host"
        },
    );
    if let Some(prefix) = d.path_prefix.as_deref().filter(|p| !p.ends_with('/')) {
        // The path itself is the route's too, and arrives as the upstream's root of it.
        let at_root = match d.upstream_path.as_deref() {
            None => prefix.to_string(),
            Some(to) => to.to_string(),
        };
        let resp = call(&http_request_with("GET", &name, prefix, login, b""));
        let first = parse_http(&resp).1.lines().next().unwrap_or("").to_string();
        check(
            "the path itself",
            &resp,
            answered(&first) && first.ends_with(&format!(" {at_root}")),
            &format!("one of {backends:?} for {at_root}"),
        );
        // A path that only starts with the same letters is another route's, or none.
        if !shares_backend {
            let other = format!("{prefix}x");
            let resp = call(&http_request_with("GET", &name, &other, login, b""));
            let first = parse_http(&resp).1.lines().next().unwrap_or("").to_string();
            check(
                &format!("not {other}"),
                &resp,
                !answered(&first),
                "no answer from this route's upstream",
            );
        }
    }
    if let Some(fa) = &d.forward_auth {
        let deny = format!("{login}X-Deny: 1\r\n");
        let resp = call(&http_request_with("GET", &name, &path, &deny, b""));
        check(
            "a request its forward auth refuses",
            &resp,
            parse_http(&resp).0 == 401,
            "401",
        );
        for h in &fa.copy_headers {
            let ask = format!("{login}X-Respond-With: {h}\r\n");
            let resp = call(&http_request_with("GET", &name, &path, &ask, b""));
            let (status, body) = parse_http(&resp);
            let want = format!("{}: ", h.to_ascii_lowercase());
            let suffix = format!(":{}", fa.port.number);
            check(
                &format!("{h} copied from the forward auth's answer"),
                &resp,
                status == 200
                    && answered(body.lines().next().unwrap_or(""))
                    && body
                        .lines()
                        .any(|l| l.strip_prefix(&want).is_some_and(|v| v.ends_with(&suffix))),
                &format!("{want}<the auth service>{suffix}"),
            );
        }
    }
    for m in &d.middlewares {
        match m {
            Middleware::SecurityHeaders => check(
                "security headers",
                &resp,
                header(&resp, "Strict-Transport-Security")
                    .is_some_and(|v| v.contains("max-age=31536000"))
                    && header(&resp, "X-Frame-Options") == Some("SAMEORIGIN")
                    && header(&resp, "X-Content-Type-Options") == Some("nosniff"),
                "HSTS, SAMEORIGIN, nosniff",
            ),
            Middleware::ResponseHeaders(h) => {
                for (k, v) in h {
                    check(
                        &format!("response header {k}"),
                        &resp,
                        header(&resp, k) == Some(v.as_str()),
                        v,
                    );
                }
            }
            Middleware::RequestHeaders(h) => {
                for (k, v) in h {
                    let line = format!("{}: {v}", k.to_ascii_lowercase());
                    check(
                        &format!("request header {k}"),
                        &resp,
                        body.lines().any(|l| l == line),
                        &line,
                    );
                }
            }
            Middleware::MaxBody(max) => {
                let big = vec![b'a'; usize::try_from(*max).unwrap_or(0) + 1];
                let expect = format!("{login}Expect: 100-continue\r\n");
                let resp = call(&http_request_with("POST", &name, &path, &expect, &big));
                check(
                    "a body over its limit",
                    &resp,
                    parse_http(&resp).0 == 413,
                    "413",
                );
                let resp = call(&http_request_with("POST", &name, &path, login, b"small"));
                check(
                    "a body within its limit",
                    &resp,
                    parse_http(&resp).0 == 200,
                    "200",
                );
            }
            Middleware::RateLimit { burst, .. } => {
                // Twice the burst at once, pipelined on one connection: the proxy answers
                // them one after another as fast as it can (fresh connections, one TLS
                // handshake each, would let a high average refill the bucket on a busy
                // machine).
                let n = 2 * burst + 3;
                let one =
                    String::from_utf8_lossy(&http_request_with("GET", &name, &path, login, b""))
                        .replace("Connection: close", "Connection: keep-alive");
                let mut req = one.repeat(usize::try_from(n).unwrap_or(1));
                req.push_str(&String::from_utf8_lossy(&http_request_with(
                    "GET", &name, &path, login, b"",
                )));
                let resp = send(req.as_bytes());
                let answered = resp.matches("HTTP/1.1 ").count();
                let limited = resp.matches("HTTP/1.1 429").count();
                check(
                    "a burst over its rate limit",
                    &format!("{answered} answers, {limited} of them 429"),
                    limited > 0 && answered > 0,
                    "some 429",
                );
            }
            Middleware::Cors {
                origins, methods, ..
            } => {
                let origin = &origins[0];
                // A browser's preflight, without credentials.
                let ask = format!(
                    "Origin: {origin}\r\nAccess-Control-Request-Method: {}\r\n",
                    methods[0]
                );
                let resp = call(&http_request_with("OPTIONS", &name, &path, &ask, b""));
                check(
                    "a CORS preflight from an allowed origin",
                    &resp,
                    matches!(parse_http(&resp).0, 200 | 204)
                        && header(&resp, "Access-Control-Allow-Origin") == Some(origin.as_str())
                        && header(&resp, "Access-Control-Allow-Methods")
                            .is_some_and(|m| m.contains(methods[0].as_str())),
                    &format!("2xx allowing {origin}"),
                );
                let from = |o: &str| format!("{login}Origin: {o}\r\n");
                let resp = call(&http_request_with("GET", &name, &path, &from(origin), b""));
                check(
                    "a request from an allowed origin",
                    &resp,
                    parse_http(&resp).0 == 200
                        && header(&resp, "Access-Control-Allow-Origin") == Some(origin.as_str()),
                    &format!("200 allowing {origin}"),
                );
                let other = "https://elsewhere.example.net";
                let resp = call(&http_request_with("GET", &name, &path, &from(other), b""));
                check(
                    "a request from another origin",
                    &resp,
                    header(&resp, "Access-Control-Allow-Origin").is_none(),
                    "no Access-Control-Allow-Origin",
                );
            }
            Middleware::AllowFrom(_) | Middleware::Compress => {}
        }
    }
    results
}

/// What a redirecting route must answer, asked through a running proxy for a path (below
/// its own, with a query): the redirect's status — 301 or 308 permanent, 302 or 307
/// temporary — and a `Location` of its target, with the request's path and query where it
/// keeps them.
pub fn check_redirect(
    d: &Domain,
    r: &Redirect,
    via: &str,
    send: &(dyn Fn(&[u8]) -> String + Sync),
) -> Vec<(String, String, String)> {
    let scheme = if d.tls == Tls::Off { "http" } else { "https" };
    let path = format!("{}/x?y=z", d.path_prefix.as_deref().unwrap_or(""));
    let name = asked_name(d);
    let resp = send(&http_request_with("GET", &name, &path, "", b""));
    let status = parse_http(&resp).0;
    let location = header(&resp, "Location").unwrap_or("");
    let to = if r.keep_path {
        format!("{}{path}", r.to)
    } else {
        r.to.clone()
    };
    let codes: &[u16] = if r.permanent {
        &[301, 308]
    } else {
        &[302, 307]
    };
    let want = format!("{codes:?} to {to}");
    let ok = codes.contains(&status) && location == to;
    vec![(
        format!("{scheme}://{name}{path}{via}: redirected"),
        if ok { want.clone() } else { resp },
        want,
    )]
}

/// The name a request for route `d` is sent with: its own, or for a wildcard
/// (`*.example.org`) one it covers (`anything.example.org`).
pub fn asked_name(d: &Domain) -> String {
    d.name.replacen('*', "anything", 1)
}

/// How a route with replicas spreads requests: the replica that fails its health check gets
/// none (the proxy has checked each replica once the interval has passed), and a client that
/// sends back its sticky cookie stays with one replica.
pub fn check_balance(
    d: &Domain,
    via: &str,
    send: &dyn Fn(&[u8]) -> String,
    backends: &BTreeSet<String>,
) -> Vec<(String, String, String)> {
    let mut results = Vec::new();
    if backends.len() < 2 {
        return results;
    }
    let what = format!("{}{via}", d.name);
    let first_word = |resp: &str| {
        let body = parse_http(resp).1;
        body.split(' ').next().unwrap_or("").to_string()
    };
    let get = |cookie: &str| {
        send(
            format!(
                "GET /x HTTP/1.1\r\nHost: {}\r\n{cookie}Connection: close\r\n\r\n",
                asked_name(d)
            )
            .as_bytes(),
        )
    };
    if let Some(h) = &d.balance.health_check {
        std::thread::sleep(Duration::from_millis(h.interval + 1500));
        let sick = backends.iter().next_back().cloned().unwrap_or_default();
        let seen: BTreeSet<String> = (0..9).map(|_| first_word(&get(""))).collect();
        let ok = !seen.contains(&sick) && seen.iter().all(|b| backends.contains(b));
        results.push((
            format!("{what}: nine requests while `{sick}` fails {}", h.path),
            if ok {
                "only healthy replicas".into()
            } else {
                format!("{seen:?}")
            },
            "only healthy replicas".into(),
        ));
    }
    if let Some(name) = &d.balance.sticky_cookie {
        let resp = get("");
        let cookie = resp
            .lines()
            .find_map(|l| l.strip_prefix("Set-Cookie: "))
            .and_then(|c| c.split(';').next())
            .filter(|c| c.starts_with(&format!("{name}=")))
            .unwrap_or("")
            .to_string();
        let first = first_word(&resp);
        let seen: BTreeSet<String> = (0..6)
            .map(|_| first_word(&get(&format!("Cookie: {cookie}\r\n"))))
            .collect();
        let ok = !cookie.is_empty() && seen.len() == 1 && seen.contains(&first);
        results.push((
            format!("{what}: six requests with the sticky cookie `{name}`"),
            if ok {
                "one replica".into()
            } else {
                format!("cookie {cookie:?}, first {first}, then {seen:?}")
            },
            "one replica".into(),
        ));
    }
    results
}

/// A FastCGI responder on `addr` (port 0: any free one, returned), as php-fpm is to a proxy:
/// every request is answered `200` with the body `<name> <SCRIPT_FILENAME>` — the script the
/// proxy asked it to run.
pub fn fastcgi_upstream(addr: (Ipv4Addr, u16), name: String) -> u16 {
    serve_each(addr, move |conn| while fastcgi_answer(conn, &name) {})
}

/// One FastCGI request on `conn`, answered; `false` when the connection ends.
fn fastcgi_answer(conn: &mut (impl Read + Write), name: &str) -> bool {
    const PARAMS: u8 = 4;
    const STDIN: u8 = 5;
    const STDOUT: u8 = 6;
    const END_REQUEST: u8 = 3;
    let mut params = Vec::new();
    let mut id;
    loop {
        let mut h = [0u8; 8];
        if conn.read_exact(&mut h).is_err() {
            return false;
        }
        id = [h[2], h[3]];
        let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let mut body = vec![0u8; len + usize::from(h[6])];
        if conn.read_exact(&mut body).is_err() {
            return false;
        }
        body.truncate(len);
        match h[1] {
            PARAMS => params.extend(body),
            STDIN if len == 0 => break,
            _ => {}
        }
    }
    // Name-value pairs: each length one byte below 128, else four with the top bit set.
    let mut vars = std::collections::BTreeMap::new();
    let mut i = 0;
    let length = |i: &mut usize| -> Option<usize> {
        let b = *params.get(*i)?;
        if b < 128 {
            *i += 1;
            Some(usize::from(b))
        } else {
            let v = params.get(*i..*i + 4)?;
            *i += 4;
            Some((u32::from_be_bytes([v[0] & 0x7f, v[1], v[2], v[3]])) as usize)
        }
    };
    while i < params.len() {
        let (Some(n), Some(v)) = (length(&mut i), length(&mut i)) else {
            break;
        };
        let (Some(key), Some(value)) = (params.get(i..i + n), params.get(i + n..i + n + v)) else {
            break;
        };
        vars.insert(
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        );
        i += n + v;
    }
    let script = vars.get("SCRIPT_FILENAME").cloned().unwrap_or_default();
    let out = format!("Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n{name} {script}");
    let record = |typ: u8, content: &[u8]| {
        let mut r = vec![1, typ, id[0], id[1]];
        r.extend((content.len() as u16).to_be_bytes());
        r.extend([0, 0]);
        r.extend(content);
        r
    };
    let mut reply = record(STDOUT, out.as_bytes());
    reply.extend(record(STDOUT, &[]));
    reply.extend(record(END_REQUEST, &[0, 0, 0, 0, 0, 0, 0, 0]));
    conn.write_all(&reply).is_ok()
}

/// What a route to a port that speaks HTTPS or h2c must do through a running proxy: (what
/// was sent, what came back, what should have). Asked as its clients ask it (HTTP/1.1 to the
/// proxy, with the route's login), it is answered `200` by one of its backends — over TLS by
/// the HTTPS stand-in (which names the path it saw), over HTTP/2 by the h2c one (whose
/// body ends in `h2c`), neither of which answers anything else.
pub fn check_spoken_route(
    d: &Domain,
    h2c: bool,
    via: &str,
    send: &(dyn Fn(&[u8]) -> String + Sync),
    answered: &dyn Fn(&str) -> bool,
) -> Vec<(String, String, String)> {
    let prefix = d.path_prefix.as_deref().unwrap_or("");
    let path = format!("{prefix}/x");
    let name = asked_name(d);
    let login = if d.basic_auth.is_some() { LOGIN } else { "" };
    let resp = send(&http_request_with("GET", &name, &path, login, b""));
    let (status, body) = parse_http(&resp);
    let body = dechunk_if_needed(&resp, &body);
    let first = body.lines().next().unwrap_or("");
    let spoken = if h2c { first.ends_with(" h2c") } else { true };
    let want = if h2c { "200 over h2c" } else { "200 over TLS" };
    let ok = status == 200 && answered(first) && spoken;
    vec![(
        format!(
            "{name}{path}{via}: to a port that speaks {}",
            if h2c { "h2c" } else { "HTTPS" }
        ),
        if ok { want.to_string() } else { resp },
        want.to_string(),
    )]
}

/// A gRPC-style server that speaks only HTTP/2 without TLS (h2c, prior knowledge), on `addr`
/// (port 0: any free one, returned): each request is answered `200` with the body
/// `<name> h2c`. A client that speaks HTTP/1.1 to it gets no answer, so a proxy reaches it
/// only by dialing h2c. (The request's headers are not decoded: HPACK with Huffman coding
/// is more than a stand-in needs to say that it was reached, and over which protocol.)
pub fn h2c_upstream(addr: (Ipv4Addr, u16), name: String) -> u16 {
    serve_each(addr, move |conn| h2c_answer(conn, &name))
}

/// One frame: its type, flags, stream and payload.
struct H2Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    payload: Vec<u8>,
}

fn read_h2_frame(conn: &mut impl Read) -> Option<H2Frame> {
    let mut head = [0u8; 9];
    conn.read_exact(&mut head).ok()?;
    let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
    let mut payload = vec![0u8; len];
    conn.read_exact(&mut payload).ok()?;
    Some(H2Frame {
        kind: head[3],
        flags: head[4],
        stream: u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        payload,
    })
}

fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(0);
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The h2c connection on `conn`, served until the client goes away.
fn h2c_answer(conn: &mut (impl Read + Write), name: &str) {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    const SETTINGS: u8 = 4;
    const PING: u8 = 6;
    const HEADERS: u8 = 1;
    const CONTINUATION: u8 = 9;
    const GOAWAY: u8 = 7;
    const ACK: u8 = 1;
    const END_STREAM: u8 = 1;
    const END_HEADERS: u8 = 4;
    let mut preface = [0u8; PREFACE.len()];
    if conn.read_exact(&mut preface).is_err() || preface != PREFACE {
        return;
    }
    if conn.write_all(&h2_frame(SETTINGS, 0, 0, &[])).is_err() {
        return;
    }
    // `:status: 200` (static table entry 8), then `content-type: text/plain` (its name
    // from the static table, entry 31, the value a literal).
    let mut block = vec![0x88, 0x0f, 0x10, 10];
    block.extend_from_slice(b"text/plain");
    let body = format!("{name} h2c\n");
    while let Some(f) = read_h2_frame(conn) {
        let reply = match f.kind {
            SETTINGS if f.flags & ACK == 0 => h2_frame(SETTINGS, ACK, 0, &[]),
            PING if f.flags & ACK == 0 => h2_frame(PING, ACK, 0, &f.payload),
            HEADERS | CONTINUATION if f.flags & END_HEADERS != 0 => {
                let mut out = h2_frame(HEADERS, END_HEADERS, f.stream, &block);
                out.extend(h2_frame(0, END_STREAM, f.stream, body.as_bytes()));
                out
            }
            GOAWAY => return,
            _ => continue,
        };
        if conn.write_all(&reply).is_err() || conn.flush().is_err() {
            return;
        }
    }
}
