//! Alerts from a failing service to a receiver, held to the real programs: every generated
//! alertmanager.yml passes `amtool check-config`; `amtool config routes test` sends each kind
//! of alert to exactly the receivers that select it; and on loopback the real Prometheus
//! (scraping a real blackbox exporter that probes stand-in services) and the real
//! Alertmanager, both with the generated configuration rewritten only in its addresses,
//! deliver an alert to the webhook its severity names once its service stops — and not an
//! alert its host's own failing probe inhibits. Alertmanager and amtool come from
//! `scripts/install-test-tools` (`SPARKC_ALERTMANAGER`, `SPARKC_AMTOOL`, or `.tools/bin/`).

use sparkc_snapshots::Rendered;
use sparkc_snapshots::http::{dechunk_if_needed, exchange, http_request, parse_http, read_head};
use sparkc_snapshots::real::{Running, each_generated, free_port, serve, tool, write_artifacts};
use sparkc_snapshots::workspace;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn amtool_bin() -> PathBuf {
    tool("SPARKC_AMTOOL", "amtool")
}

fn amtool_check(file: &Path) -> std::process::Output {
    Command::new(amtool_bin())
        .arg("check-config")
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn amtool_accepts_every_generated_alertmanager_config() {
    let checked = each_generated("alertmanager.yml", |name, file, a| {
        let r = amtool_check(file);
        assert!(
            r.status.success(),
            "amtool rejected {} of {name}:\n{}{}\n--- file ---\n{}",
            a.path,
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr),
            a.contents
        );
    });
    assert!(
        checked >= 2,
        "only {checked} alertmanager configs were checked"
    );
}

/// The negative control: amtool refuses a route to a receiver that does not exist.
#[test]
fn amtool_rejects_a_broken_config() {
    let dir = std::env::temp_dir().join(format!("sparkc-amtool-neg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let f = dir.join("alertmanager.yml");
    std::fs::write(&f, "route:\n  receiver: nobody\nreceivers:\n- name: ops\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let r = amtool_check(&f);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !r.status.success(),
        "amtool accepted a route to a missing receiver"
    );
}

/// The `alerting` fixture's routes, asked of amtool: each alert reaches exactly the
/// receivers whose severity, monitor and host selections it fits (`ntfy` and `ops` select
/// nothing, so they get everything).
#[test]
fn each_alert_reaches_the_receivers_that_select_it() {
    let fixture = workspace().join("snapshots/build/alerting.spark");
    let out = sparkc_snapshots::compile_build_fixture(&fixture);
    assert_eq!(out.errors(), 0, "{}", out.rendered());
    let dir = std::env::temp_dir().join(format!("sparkc-amtool-routes-{}", std::process::id()));
    write_artifacts(&dir, &out.artifacts);
    let config = dir.join("compose/web01/alertmanager.yml");
    let cases: &[(&[&str], &str)] = &[
        (
            &["severity=critical", "monitor=shop-up", "host=web01"],
            "ntfy,oncall,ops,owner,phone",
        ),
        (
            &["severity=warning", "monitor=shop-up", "host=web01"],
            "ntfy,ops,owner,phone",
        ),
        (
            &["severity=warning", "monitor=status-page"],
            "ntfy,ops,phone",
        ),
        (
            &["severity=critical", "monitor=web01-ping", "host=web01"],
            "ntfy,oncall,ops,owner",
        ),
        (
            &["severity=warning", "monitor=shop-errors", "host=web01"],
            "ntfy,ops,owner,phone",
        ),
        // `phone` takes status-page's warnings and criticals only.
        (&["severity=info", "monitor=status-page"], "ntfy,ops"),
        (&["severity=info", "monitor=elsewhere"], "ntfy,ops"),
    ];
    for (labels, want) in cases {
        let r = Command::new(amtool_bin())
            .args(["config", "routes", "test"])
            .arg(format!("--config.file={}", config.display()))
            .args(*labels)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let got = String::from_utf8_lossy(&r.stdout).trim().to_string();
        assert!(
            r.status.success() && got == *want,
            "an alert {labels:?} went to `{got}`, not `{want}`:\n{}",
            String::from_utf8_lossy(&r.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An HTTP server on loopback that answers every request `200 ok` until it is stopped; then
/// its port refuses connections, as a stopped container's would.
struct StandIn {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StandIn {
    fn start() -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map_or(0, |a| a.port());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let _ = read_head(&mut conn);
                        let _ = conn.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        StandIn {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What a webhook receiver was sent: (path, body), in arrival order.
type Deliveries = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// A webhook receiver on loopback: records every POST's path and JSON body, answers 200.
fn webhook_receiver() -> (u16, Deliveries) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map_or(0, |a| a.port());
    let got: Deliveries = Arc::default();
    let log = got.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut data = Vec::new();
            let mut buf = [0u8; 4096];
            // The head, then as much body as Content-Length says.
            let (head, mut body) = loop {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        break (String::from_utf8_lossy(&data).into_owned(), Vec::new());
                    }
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
                if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break (
                        String::from_utf8_lossy(&data[..i]).into_owned(),
                        data[i + 4..].to_vec(),
                    );
                }
            };
            let length = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())
                        .flatten()
                })
                .unwrap_or(0);
            while body.len() < length {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => body.extend_from_slice(&buf[..n]),
                }
            }
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            if let Ok(json) = serde_json::from_slice(&body) {
                log.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((path, json));
            }
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

/// The program `src`, its compose files and prometheus.yml, scraped and its rules evaluated
/// every second (what a test on loopback can wait for).
fn compile_every_second(src: &str) -> sparkc_driver::Compilation {
    let world = sparkc_snapshots::single(src);
    let mut config = sparkc_snapshots::Config::new("main.spark", &["compose", "prometheus"]);
    config.options.insert(
        "prometheus".to_string(),
        [
            ("scrape_interval".to_string(), "1s".to_string()),
            ("evaluation_interval".to_string(), "1s".to_string()),
        ]
        .into(),
    );
    let out = sparkc_driver::compile(&world, &config).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.errors(), 0, "{}", sparkc::rendered(&out));
    out
}

/// `artifacts` written under a fresh `tmp`, each address of `moves` replaced by its loopback
/// stand-in: the configuration is changed in its addresses only.
fn write_moved(
    tmp: &Path,
    artifacts: &[sparkc_core::target::Artifact],
    moves: &[(String, String)],
) {
    let _ = std::fs::remove_dir_all(tmp);
    let moved: Vec<_> = artifacts
        .iter()
        .map(|a| {
            let mut a = a.clone();
            for (from, to) in moves {
                a.contents = a.contents.replace(from.as_str(), to);
            }
            a
        })
        .collect();
    write_artifacts(tmp, &moved);
}

/// The real Prometheus with the prometheus.yml in `dir`, its data in `tmp`, on `port`.
fn start_prometheus(dir: &Path, tmp: &Path, port: u16) -> Running {
    Running(serve(
        Command::new(tool("SPARKC_PROMETHEUS", "prometheus"))
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}")),
        port,
        "prometheus",
    ))
}

/// GET `path` from a server on loopback, as JSON (`Null` when it does not answer so).
fn get_json(port: u16, path: &str) -> serde_json::Value {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return serde_json::Value::Null;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let resp = exchange(&mut s, http_request("127.0.0.1", path).as_bytes());
    let (_, body) = parse_http(&resp);
    serde_json::from_str(&dechunk_if_needed(&resp, &body)).unwrap_or(serde_json::Value::Null)
}

/// Poll `what` every 200 ms until it holds, for `secs` at most; `describe` says what was
/// seen when it never does.
fn wait_for(secs: u64, what: &str, mut ok: impl FnMut() -> bool, describe: impl Fn() -> String) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} within {secs}s; saw:\n{}",
            describe()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The alert names a receiver path was sent as firing.
fn delivered(got: &Deliveries, path: &str) -> Vec<serde_json::Value> {
    got.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .filter(|(p, _)| p == path)
        .flat_map(|(_, b)| b["alerts"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["status"] == "firing")
        .collect()
}

fn names(alerts: &[serde_json::Value]) -> Vec<String> {
    alerts
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap_or("").to_string())
        .collect()
}

const END_TO_END: &str = r#"
import std.apps.{prometheus, blackbox_exporter, alertmanager}
host web01 { runtime = compose, address = 192.0.2.20 }
service prometheus on web01 = prometheus()
service blackbox on web01 = blackbox_exporter()
service alertmanager on web01 = alertmanager()
service site on web01 { image = "nginx:1.27", port { http = 8080 } }
service api on web01 { image = "nginx:1.27", port { http = 8081 } }
monitor site-up { target = site.port.http, probe = http, interval = 1s, alert = down_for(2s), severity = warning }
monitor api-up { target = api.port.http, probe = http, interval = 1s, alert = down_for(2s) }
monitor web01-up { target = web01, probe = http, interval = 1s, alert = down_for(2s) }
receiver pager { webhook { url = "http://hooks.invalid/critical" }, severity = critical, wait = 1s }
receiver chat { webhook { url = "http://hooks.invalid/warning" }, severity = warning, wait = 1s }
"#;

#[test]
fn a_failing_service_alerts_the_receiver_its_severity_names() {
    let out = compile_every_second(END_TO_END);

    // Every address the configuration names, moved to loopback.
    let mut site = StandIn::start();
    let mut api = StandIn::start();
    let mut host = StandIn::start();
    let (hooks, got) = webhook_receiver();
    let (prom_port, bb_port, am_port) = (free_port(), free_port(), free_port());
    let moves = [
        (
            "http://site:8080/".to_string(),
            format!("http://127.0.0.1:{}/", site.port),
        ),
        (
            "http://api:8081/".to_string(),
            format!("http://127.0.0.1:{}/", api.port),
        ),
        (
            "http://192.0.2.20/".to_string(),
            format!("http://127.0.0.1:{}/", host.port),
        ),
        (
            "prometheus:9090".to_string(),
            format!("127.0.0.1:{prom_port}"),
        ),
        ("blackbox:9115".to_string(), format!("127.0.0.1:{bb_port}")),
        (
            "alertmanager:9093".to_string(),
            format!("127.0.0.1:{am_port}"),
        ),
        (
            "http://hooks.invalid/".to_string(),
            format!("http://127.0.0.1:{hooks}/"),
        ),
    ];
    let tmp = std::env::temp_dir().join(format!("sparkc-alerting-{}", std::process::id()));
    write_moved(&tmp, &out.artifacts, &moves);
    let dir = tmp.join("compose/web01");
    for file in [
        "prometheus.yml",
        "alertmanager.yml",
        "blackbox.yml",
        "rules/monitors.yml",
    ] {
        assert!(dir.join(file).is_file(), "no {file} generated");
    }

    let _blackbox = Running(serve(
        Command::new(tool("SPARKC_BLACKBOX", "blackbox_exporter"))
            .arg(format!(
                "--config.file={}",
                dir.join("blackbox.yml").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{bb_port}")),
        bb_port,
        "blackbox",
    ));
    // Debian's Alertmanager reads its notification templates from its working directory
    // (scripts/install-test-tools).
    let am_bin = tool("SPARKC_ALERTMANAGER", "alertmanager");
    let templates = am_bin
        .parent()
        .and_then(Path::parent)
        .map(|t| t.join("share/alertmanager"))
        .unwrap_or_default();
    let _alertmanager = Running(serve(
        Command::new(&am_bin)
            .current_dir(&templates)
            .arg(format!(
                "--config.file={}",
                dir.join("alertmanager.yml").display()
            ))
            .arg(format!("--storage.path={}", tmp.join("am-data").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            // One instance: no gossip port.
            .arg("--cluster.listen-address="),
        am_port,
        "alertmanager",
    ));
    let _prometheus = start_prometheus(&dir, &tmp, prom_port);

    // Every expected target up, every rule loaded.
    let targets = || get_json(prom_port, "/api/v1/targets");
    let jobs_up = || {
        let t = targets();
        let active = t["data"]["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut up: Vec<String> = active
            .iter()
            .filter(|x| x["health"] == "up")
            .map(|x| {
                format!(
                    "{} {}",
                    x["labels"]["job"].as_str().unwrap_or(""),
                    x["labels"]["instance"].as_str().unwrap_or("")
                )
            })
            .collect();
        up.sort();
        up
    };
    let want_up = 5; // Prometheus and Alertmanager themselves, and the three probes
    wait_for(
        30,
        "every target up",
        || jobs_up().len() == want_up,
        || format!("{:#}", targets()),
    );
    let rules = get_json(prom_port, "/api/v1/rules");
    let loaded: Vec<String> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| r["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(loaded, ["api_up", "site_up", "web01_up"], "{rules:#}");
    // Prometheus knows the Alertmanager it sends to.
    wait_for(
        20,
        "prometheus to discover the alertmanager",
        || {
            get_json(prom_port, "/api/v1/alertmanagers")["data"]["activeAlertmanagers"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
        },
        || format!("{:#}", get_json(prom_port, "/api/v1/alertmanagers")),
    );
    // Healthy: nothing fires.
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        names(&delivered(&got, "/critical")).is_empty()
            && names(&delivered(&got, "/warning")).is_empty(),
        "alerts for healthy services: {:?}",
        got.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    );

    // The site stops: its warning reaches the warning receiver, with its labels, and not the
    // critical one.
    site.stop();
    wait_for(
        40,
        "site_up at the warning receiver",
        || names(&delivered(&got, "/warning")).contains(&"site_up".to_string()),
        || {
            format!(
                "{:?}\nprometheus alerts: {:#}",
                got.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
                get_json(prom_port, "/api/v1/alerts")
            )
        },
    );
    let alert = delivered(&got, "/warning")
        .into_iter()
        .find(|a| a["labels"]["alertname"] == "site_up")
        .unwrap_or_default();
    for (label, value) in [
        ("severity", "warning"),
        ("monitor", "site-up"),
        ("host", "web01"),
        ("job", "probe-site-up"),
    ] {
        assert_eq!(alert["labels"][label], value, "label {label} of {alert:#}");
    }

    // The host's own probe fails: a critical alert, at the critical receiver.
    host.stop();
    wait_for(
        40,
        "web01_up at the critical receiver",
        || names(&delivered(&got, "/critical")).contains(&"web01_up".to_string()),
        || {
            format!(
                "{:?}",
                got.lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            )
        },
    );

    // Then the api stops: its alert fires in Prometheus and reaches Alertmanager, which
    // holds it back, inhibited by the host's.
    api.stop();
    wait_for(
        40,
        "api_up suppressed in alertmanager",
        || {
            get_json(am_port, "/api/v2/alerts")
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| {
                    a["labels"]["alertname"] == "api_up"
                        && a["status"]["state"] == "suppressed"
                        && a["status"]["inhibitedBy"]
                            .as_array()
                            .is_some_and(|i| !i.is_empty())
                })
        },
        || format!("{:#}", get_json(am_port, "/api/v2/alerts")),
    );
    // Longer than the receiver's wait and a group interval's share of slack.
    std::thread::sleep(Duration::from_secs(5));
    let critical = names(&delivered(&got, "/critical"));
    assert!(
        !critical.contains(&"api_up".to_string()),
        "an inhibited alert was delivered: {critical:?}"
    );
    assert!(
        !names(&delivered(&got, "/critical")).contains(&"site_up".to_string()),
        "a warning reached the critical receiver"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The `if_mib` module of the SNMP exporter's configuration, in the format of the exporter
/// the tests run (Debian's 0.21, which ships no module: its snmp.yml is generated from MIBs).
/// The `prom/snmp-exporter` image the stdlib template runs ships upstream's generated
/// `if_mib`, with these metrics and lookups among its own.
const IF_MIB: &str = r"
if_mib:
  walk: [1.3.6.1.2.1.2.2.1.14, 1.3.6.1.2.1.2.2.1.20, 1.3.6.1.2.1.31.1.1.1.1, 1.3.6.1.2.1.31.1.1.1.6, 1.3.6.1.2.1.31.1.1.1.10]
  metrics:
  - {name: ifHCInOctets, oid: 1.3.6.1.2.1.31.1.1.1.6, type: counter, indexes: [{labelname: ifIndex, type: gauge}], lookups: [{labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
  - {name: ifHCOutOctets, oid: 1.3.6.1.2.1.31.1.1.1.10, type: counter, indexes: [{labelname: ifIndex, type: gauge}], lookups: [{labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
  - {name: ifInErrors, oid: 1.3.6.1.2.1.2.2.1.14, type: counter, indexes: [{labelname: ifIndex, type: gauge}], lookups: [{labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
  - {name: ifOutErrors, oid: 1.3.6.1.2.1.2.2.1.20, type: counter, indexes: [{labelname: ifIndex, type: gauge}], lookups: [{labels: [ifIndex], labelname: ifName, oid: 1.3.6.1.2.1.31.1.1.1.1, type: DisplayString}]}
  version: 2
  auth: {community: public}
";

/// `monitor { target = router, probe = snmp }` end to end: the real Prometheus, with the
/// generated configuration moved to loopback, asks the real SNMP exporter to walk a real
/// net-snmp agent; the router's interfaces arrive labelled with its host, and once the agent
/// stops answering, the generated `down_for` rule fires.
#[test]
fn an_snmp_agent_is_walked_and_its_silence_alerts() {
    let src = r"
import std.apps.{prometheus, snmp_exporter}
host mon { runtime = compose, address = 192.0.2.30, exporters = none }
host router { address = 192.0.2.1 }
service prometheus on mon = prometheus()
service snmp on mon = snmp_exporter()
monitor router-snmp { target = router, probe = snmp, interval = 1s, alert = down_for(2s) }
";
    let out = compile_every_second(src);

    let agent_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map_or_else(|e| panic!("{e}"), |a| a.port());
    let (prom_port, snmp_port) = (free_port(), free_port());
    let moves = [
        (
            "\"192.0.2.1\"".to_string(),
            format!("\"127.0.0.1:{agent_port}\""),
        ),
        ("snmp:9116".to_string(), format!("127.0.0.1:{snmp_port}")),
        (
            "prometheus:9090".to_string(),
            format!("127.0.0.1:{prom_port}"),
        ),
    ];
    let tmp = std::env::temp_dir().join(format!("sparkc-snmp-{}", std::process::id()));
    write_moved(&tmp, &out.artifacts, &moves);
    let dir = tmp.join("compose/mon");
    let prom_yml = std::fs::read_to_string(dir.join("prometheus.yml")).unwrap_or_default();
    assert!(
        prom_yml.contains(&format!("127.0.0.1:{agent_port}")),
        "the agent's address was not moved:\n{prom_yml}"
    );
    std::fs::write(tmp.join("snmp.yml"), IF_MIB).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        tmp.join("snmpd.conf"),
        format!("agentaddress udp:127.0.0.1:{agent_port}\nrocommunity public 127.0.0.1\n"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let mut agent = Running(
        Command::new(tool("SPARKC_SNMPD", "snmpd"))
            .args(["-f", "-Lo", "-C", "-c"])
            .arg(tmp.join("snmpd.conf"))
            .env("SNMP_PERSISTENT_DIR", tmp.join("snmpd-state"))
            .env("MIBS", "")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let _exporter = Running(serve(
        Command::new(tool("SPARKC_SNMP_EXPORTER", "snmp_exporter"))
            .arg(format!("--config.file={}", tmp.join("snmp.yml").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{snmp_port}")),
        snmp_port,
        "snmp_exporter",
    ));
    let _prometheus = start_prometheus(&dir, &tmp, prom_port);
    let query = |q: &str| {
        let encoded: String = q
            .bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'-' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        get_json(prom_port, &format!("/api/v1/query?query={encoded}"))["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    // The router's interfaces, labelled with its host and named by ifName.
    let traffic = "ifHCInOctets{job=\"probe-router-snmp\",host=\"router\"}";
    wait_for(
        30,
        "the router's interfaces in Prometheus",
        || query(traffic).iter().any(|s| s["metric"]["ifName"] == "lo"),
        || format!("{:#}", get_json(prom_port, "/api/v1/targets")),
    );
    assert!(
        query("ALERTS{alertname=\"router_snmp\"}").is_empty(),
        "an alert for an agent that answers"
    );
    // The agent stops: the walk fails, `up` drops, and after 2 s the rule fires.
    let _ = agent.0.kill();
    let _ = agent.0.wait();
    wait_for(
        40,
        "router_snmp firing",
        || {
            query("ALERTS{alertname=\"router_snmp\",alertstate=\"firing\"}")
                .iter()
                .any(|a| a["metric"]["host"] == "router" && a["metric"]["severity"] == "critical")
        },
        || format!("{:#}", get_json(prom_port, "/api/v1/alerts")),
    );
    let _ = std::fs::remove_dir_all(&tmp);
}
