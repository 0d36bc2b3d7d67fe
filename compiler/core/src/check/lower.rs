//! Step 2c: give every evaluated declaration its type. Each kind has a fixed set of fields;
//! each field a type. Values that do not fit become diagnostics at the value's own span
//! (which, for a template, is the user's argument whenever the value came from one).

use super::SymKind;
use super::eval::{Evaluator, Rec, V, Val};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::{FileId, Loc, Span};
use crate::syntax::ast::{self, DeclKind};
use indexmap::IndexMap;
use rustc_hash::FxHashMap as HashMap;

const HOST_FIELDS: &[&str] = &[
    "address",
    "runtime",
    "proxy",
    "cpus",
    "memory",
    "disk",
    "os",
    "hypervisor",
];
const SECRET_FIELDS: &[&str] = &["env", "file"];
const NETWORK_FIELDS: &[&str] = &["internal", "driver", "stack", "external"];
const VOLUME_FIELDS: &[&str] = &["driver", "external"];
const DOMAIN_FIELDS: &[&str] = &["tls", "auth", "path"];
const MONITOR_FIELDS: &[&str] = &["target", "probe", "interval", "alert"];
/// Every field a service declaration may have.
pub const SERVICE_FIELDS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "env",
    "env_file",
    "port",
    "publish",
    "volumes",
    "networks",
    "network_mode",
    "depends_on",
    "healthcheck",
    "health_client",
    "metrics",
    "metrics_path",
    "restart",
    "labels",
    "container_name",
    "hostname",
    "user",
    "working_dir",
    "security_opt",
    "cap_add",
    "cap_drop",
    "devices",
    "privileged",
    "admin_surface",
    "read_only",
    "init",
    "sysctls",
    "ulimits",
    "tmpfs",
    "extra_hosts",
    "logging",
    "secrets",
    "profiles",
    "dns",
    "platform",
    "pull_policy",
    "stop_grace_period",
    "shm_size",
    "cpus",
    "memory",
    "reserve",
    "replicas",
    "update",
    "rollback",
    "restart_policy",
    "placement",
    "stack",
    "passthrough",
];
/// Compose keys that sparkc models; a passthrough may not set them behind the model's back.
const MODELLED_COMPOSE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "networks",
    "network_mode",
    "depends_on",
    "healthcheck",
    "restart",
    "labels",
    "container_name",
    "hostname",
    "user",
    "working_dir",
    "security_opt",
    "cap_add",
    "cap_drop",
    "devices",
    "privileged",
    "read_only",
    "init",
    "sysctls",
    "ulimits",
    "tmpfs",
    "extra_hosts",
    "logging",
    "secrets",
    "profiles",
    "dns",
    "platform",
    "pull_policy",
    "stop_grace_period",
    "shm_size",
    "deploy",
    "mem_limit",
    "cpus",
];

pub struct Lowerer<'e, 'a> {
    ev: &'e mut Evaluator<'a>,
    model: Model,
    host_ids: HashMap<usize, HostId>,
    service_ids: HashMap<usize, ServiceId>,
    secret_ids: HashMap<usize, SecretId>,
    network_ids: HashMap<usize, NetworkId>,
    /// Lowered domains by name, for monitors.
    domain_ids: HashMap<String, DomainId>,
    volume_names: HashMap<usize, String>,
    /// Secrets referenced through `.path` while lowering the current service.
    path_secrets: Vec<SecretId>,
    /// Dependencies written without a condition: (service, index in its depends_on).
    implicit_deps: Vec<(ServiceId, usize)>,
}

/// A declaration's fields, checked against the names its kind knows.
struct Fields {
    /// Shared with the evaluator's cache; lowering only reads it.
    rec: std::rc::Rc<Rec>,
}

impl Fields {
    fn get(&self, key: &str) -> Option<&V> {
        self.rec
            .iter()
            .find(|(k, _, _)| k.text == key)
            .map(|(_, v, _)| v)
    }
}

/// From a field's key to the end of its value, when both are in one file.
fn key_value_span(key: Span, value: Loc, key_file: FileId) -> Span {
    if value.file == key_file && value.span.start >= key.start {
        Span {
            start: key.start,
            end: value.span.end.max(key.end),
        }
    } else {
        key
    }
}

impl<'e, 'a> Lowerer<'e, 'a> {
    pub fn new(ev: &'e mut Evaluator<'a>) -> Self {
        Lowerer {
            ev,
            model: Model::default(),
            host_ids: HashMap::default(),
            service_ids: HashMap::default(),
            secret_ids: HashMap::default(),
            network_ids: HashMap::default(),
            domain_ids: HashMap::default(),
            volume_names: HashMap::default(),
            path_secrets: Vec::new(),
            implicit_deps: Vec::new(),
        }
    }

    pub fn finish(self) -> Model {
        self.model
    }

    /// Lowering declaration `sym` starts: what is reported now is about it.
    fn enter(&mut self, sym: usize) {
        let decl = self.decl(sym);
        let loc = self.loc_of(sym);
        // A service made from a template points at the call, arguments and all.
        self.ev.subject = Some(crate::diag::Subject {
            file: loc.file,
            span: decl.instance.as_ref().map_or(loc.span, |i| i.span),
            template: decl.instance.as_ref().map(|i| i.template.text.clone()),
        });
    }

    fn syms_of(&self, kind: DeclKind) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.ev.syms.list.len())
            .filter(|i| {
                let s = &self.ev.syms.list[*i];
                s.kind == SymKind::Decl(kind) && !s.broken
            })
            .collect();
        v.sort_by(|a, b| natural_cmp(&self.ev.syms.list[*a].name, &self.ev.syms.list[*b].name));
        v
    }

    fn decl(&self, sym: usize) -> &'a ast::Decl {
        let s = &self.ev.syms.list[sym];
        let files: &'a [ast::File] = self.ev.files;
        match &files[s.file.0 as usize].items[s.item] {
            ast::Item::Decl(d) => d,
            _ => unreachable_decl(),
        }
    }

    fn fields(&mut self, sym: usize, known: &[&str]) -> Fields {
        let rec = self.ev.take_decl_record(sym);
        let kind = self.ev.syms.list[sym].kind_name();
        for (k, _, f) in rec.iter() {
            if !known.contains(&k.text.as_str()) {
                let mut d = Diagnostic::error(
                    Code::UnknownField,
                    format!("a {kind} has no field `{}`", k.text),
                    *f,
                    k.span,
                )
                .label("unknown field");
                d.help = Some(match did_you_mean(&k.text, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the fields of a {kind} are: {}", known.join(", ")),
                });
                self.ev.err(d);
            }
        }
        Fields { rec }
    }

    pub fn lower_all(&mut self, domains: &[(FileId, usize)]) {
        // Ids first, so that declarations can refer to each other in any order.
        for (i, s) in self.syms_of(DeclKind::Host).into_iter().enumerate() {
            self.host_ids.insert(s, HostId::new(i));
        }
        for (i, s) in self.syms_of(DeclKind::Service).into_iter().enumerate() {
            self.service_ids.insert(s, ServiceId::new(i));
        }
        for (i, s) in self.syms_of(DeclKind::Secret).into_iter().enumerate() {
            self.secret_ids.insert(s, SecretId::new(i));
        }
        for (i, s) in self.syms_of(DeclKind::Network).into_iter().enumerate() {
            self.network_ids.insert(s, NetworkId::new(i));
        }
        for s in self.syms_of(DeclKind::Host) {
            self.enter(s);
            let h = self.host(s);
            self.model.hosts.push(h);
        }
        for s in self.syms_of(DeclKind::Secret) {
            self.enter(s);
            let x = self.secret(s);
            self.model.secrets.push(x);
        }
        for s in self.syms_of(DeclKind::Network) {
            self.enter(s);
            let x = self.network(s);
            self.model.networks.push(x);
        }
        for s in self.syms_of(DeclKind::Volume) {
            self.enter(s);
            if let Some(x) = self.volume(s) {
                self.volume_names.insert(s, x.name.clone());
                self.model.volumes.push(x);
            }
        }
        let services = self.syms_of(DeclKind::Service);
        // Services are large; growing the vector by doubling would briefly hold two copies.
        self.model.services.reserve_exact(services.len());
        for s in services {
            self.enter(s);
            let x = self.service(s);
            self.model.services.push(x);
        }
        self.ev.subject = None;
        for (svc, i) in std::mem::take(&mut self.implicit_deps) {
            let target = self.model.services[svc].depends_on[i].service;
            let healthy = self.model.services[target]
                .healthcheck
                .as_ref()
                .is_some_and(|h| h.test != HealthTest::Disabled);
            if healthy {
                self.model.services[svc].depends_on[i].condition = DependCondition::Healthy;
            }
        }
        // Domains and monitors reference services and ports.
        let mut doms: Vec<(FileId, usize)> = domains.to_vec();
        let files = self.ev.files;
        doms.sort_by(|a, b| {
            natural_cmp(
                &domain_of(files, *a).name.text,
                &domain_of(files, *b).name.text,
            )
        });
        let mut seen: HashMap<String, Loc> = HashMap::default();
        for (f, i) in doms {
            let d = domain_of(files, (f, i));
            if let Some(prev) = seen.get(&d.name.text) {
                self.ev.err(
                    Diagnostic::error(Code::Duplicate, format!("domain `{}` is declared twice", d.name.text), f, d.name.span)
                        .with_secondary(prev.file, prev.span, "first declared here")
                        .help("one domain routes to one place; add paths with `path = \"/x\"` on distinct domains"),
                );
                continue;
            }
            seen.insert(
                d.name.text.clone(),
                Loc {
                    file: f,
                    span: d.name.span,
                },
            );
            if let Some(x) = self.domain(f, d) {
                let name = x.name.clone();
                let id = self.model.domains.push(x);
                self.domain_ids.insert(name, id);
            }
        }
        for s in self.syms_of(DeclKind::Monitor) {
            self.enter(s);
            if let Some(x) = self.monitor(s) {
                self.model.monitors.push(x);
            }
        }
        self.ev.subject = None;
        self.proxy_secrets();
    }

    /// A host's Caddy service reads the users file of every route it protects with basic
    /// auth, as a secret (`SECRETS_DIR/<users>`): it gets those secrets.
    fn proxy_secrets(&mut self) {
        let caddies = self.model.app_per_host("caddy");
        let m = &mut self.model;
        for d in &m.domains {
            let (Some(users), Some(host)) =
                (d.basic_auth, m.services.get(d.service).and_then(|s| s.host))
            else {
                continue;
            };
            if m.hosts.get(host).is_some_and(|h| h.proxy == Proxy::Caddy)
                && let Some(Some(c)) = caddies.get(host)
                && !m.services[*c].secrets.contains(&users)
            {
                m.services[*c].secrets.push(users);
            }
        }
    }

    /// The declared secrets whose mounted path appears in the service's text.
    fn secrets_read_by_path(&self, s: &Service) -> Vec<SecretId> {
        let mut texts: Vec<&str> = Vec::new();
        fn command(c: &Option<Command>) -> Vec<&str> {
            match c {
                Some(Command::Shell(t)) => vec![t.as_str()],
                Some(Command::Exec(v)) => v.iter().map(String::as_str).collect(),
                None => Vec::new(),
            }
        }
        texts.extend(command(&s.command));
        texts.extend(command(&s.entrypoint));
        texts.extend(s.env.values().filter_map(|v| match v {
            EnvValue::Plain(t) => Some(t.as_str()),
            EnvValue::Secret(_) => None,
        }));
        if let Some(h) = &s.healthcheck {
            match &h.test {
                HealthTest::Exec(v) => texts.extend(v.iter().map(String::as_str)),
                HealthTest::Shell(t) => texts.push(t),
                HealthTest::Http { .. } | HealthTest::Disabled => {}
            }
        }
        let mut out = Vec::new();
        for t in texts.into_iter().filter(|t| t.contains(SECRETS_DIR)) {
            for name in secret_paths_in(t) {
                if let Some(id) = self
                    .model
                    .secrets
                    .iter_enumerated()
                    .find_map(|(id, x)| (x.name == name).then_some(id))
                    && !out.contains(&id)
                {
                    out.push(id);
                }
            }
        }
        out
    }

    // ---- diagnostics helpers ------------------------------------------------

    fn is_secret(&self, v: &V) -> bool {
        matches!(&v.val, Val::Ref(s, p) if p.is_empty() && self.ev.syms.list[*s].kind == SymKind::Decl(DeclKind::Secret))
    }

    /// Report that `v` is not `expected`. Returns `None` for convenient `?` use.
    fn mismatch<T>(&mut self, v: &V, expected: &str) -> Option<T> {
        match &v.val {
            Val::Error => {}
            Val::Name(n) => {
                let n = n.clone();
                self.ev.unresolved(&n, v.loc.file, v.loc.span);
            }
            _ if self.is_secret(v) => {
                let Val::Ref(s, _) = v.val else { return None };
                let name = self.ev.syms.list[s].name.clone();
                self.ev.err(
                    Diagnostic::error(Code::SecretAsPlain, format!("secret `{name}` used where {expected} is required"), v.loc.file, v.loc.span)
                        .label("a secret cannot be written here")
                        .help(format!("secrets may be environment values or mounted files (`secrets = [{name}]`, `${{{name}.path}}`); never plain configuration")),
                );
            }
            Val::Ref(s, path) if !path.is_empty() => {
                let (s, path) = (*s, path.clone());
                let inner = self.ev.deref(s, &path, v.loc);
                if !matches!(inner.val, Val::Error) {
                    let found = inner.val.describe(self.ev.syms);
                    self.ev.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            format!("expected {expected}, found {found}"),
                            v.loc.file,
                            v.loc.span,
                        )
                        .label(format!("expected {expected}"))
                        .help(format!("this field takes {expected}")),
                    );
                }
            }
            other => {
                let found = other.describe(self.ev.syms);
                self.ev.err(
                    Diagnostic::error(
                        Code::TypeMismatch,
                        format!("expected {expected}, found {found}"),
                        v.loc.file,
                        v.loc.span,
                    )
                    .label(format!("expected {expected}"))
                    .help(format!("this field takes {expected}")),
                );
            }
        }
        None
    }

    fn out_of_range<T>(&mut self, v: &V, msg: String, help: &str) -> Option<T> {
        self.ev.err(
            Diagnostic::error(Code::OutOfRange, msg, v.loc.file, v.loc.span)
                .label("out of range")
                .help(help.to_string()),
        );
        None
    }

    fn malformed<T>(&mut self, v: &V, msg: String, help: &str) -> Option<T> {
        self.ev.err(
            Diagnostic::error(Code::MalformedLiteral, msg, v.loc.file, v.loc.span)
                .label("malformed")
                .help(help.to_string()),
        );
        None
    }

    /// A path with a control character (a NUL, a newline, an escape) names no file Compose
    /// or the kernel can use: E0205 at the value.
    fn control_char_in_path(&mut self, v: &V, path: &str) -> bool {
        let Some(c) = path.chars().find(|c| c.is_control()) else {
            return false;
        };
        self.malformed::<()>(
            v,
            format!(
                "the path `{}` holds the control character U+{:04X}",
                path.escape_debug(),
                u32::from(c)
            ),
            "paths are plain text: remove the control character (Compose rejects such a path, and a NUL ends it early)",
        );
        true
    }

    /// Follow a field reference (`web01.address`) to its value; other values pass unchanged.
    fn resolved(&mut self, v: &V) -> V {
        let v = match &v.val {
            Val::Ref(s, path) if !path.is_empty() => {
                let (s, path) = (*s, path.clone());
                self.ev.deref(s, &path, v.loc)
            }
            _ => v.clone(),
        };
        match &v.val {
            Val::SecretPath(s) => {
                let s = *s;
                if let Some(id) = self.secret_ids.get(&s)
                    && !self.path_secrets.contains(id)
                {
                    self.path_secrets.push(*id);
                }
                V {
                    val: Val::Str(format!("{SECRETS_DIR}{}", self.ev.syms.list[s].name)),
                    loc: v.loc,
                }
            }
            _ => v,
        }
    }

    // ---- scalar conversions --------------------------------------------------

    fn str(&mut self, v: &V) -> Option<String> {
        let r = self.resolved(v);
        match r.val {
            Val::Str(s) => Some(s),
            _ => self.mismatch(&r, "a string"),
        }
    }

    /// Strings, numbers and booleans as text (labels, sysctls, build args).
    fn text(&mut self, v: &V) -> Option<String> {
        let r = self.resolved(v);
        match &r.val {
            Val::Str(s) => Some(s.clone()),
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(f.to_string()),
            Val::Bool(b) => Some(b.to_string()),
            Val::Port(p, _) => Some(p.to_string()),
            Val::Ip(ip) => Some(ip.to_string()),
            Val::Ref(s, p) if p.is_empty() && !self.is_secret(&r) => {
                Some(self.ev.syms.list[*s].name.clone())
            }
            _ => self.mismatch(&r, "a string"),
        }
    }

    fn int(&mut self, v: &V, min: i64, max: i64) -> Option<i64> {
        let r = self.resolved(v);
        match r.val {
            Val::Int(i) if i >= min && i <= max => Some(i),
            Val::Int(i) => self.out_of_range(
                &r,
                format!("{i} is out of range"),
                &format!("the value must be between {min} and {max}"),
            ),
            _ => self.mismatch(&r, "an integer"),
        }
    }

    fn float(&mut self, v: &V, min: f64) -> Option<f64> {
        let r = self.resolved(v);
        let f = match r.val {
            Val::Int(i) => i as f64,
            Val::Float(f) => f,
            _ => return self.mismatch(&r, "a number"),
        };
        if f < min {
            return self.out_of_range(
                &r,
                format!("{f} is out of range"),
                &format!("the value must be at least {min}"),
            );
        }
        Some(f)
    }

    fn bool(&mut self, v: &V) -> Option<bool> {
        let r = self.resolved(v);
        match r.val {
            Val::Bool(b) => Some(b),
            _ => self.mismatch(&r, "`true` or `false`"),
        }
    }

    fn size(&mut self, v: &V) -> Option<u64> {
        let r = self.resolved(v);
        match r.val {
            Val::Size(s) => Some(s),
            Val::Int(_) => self.malformed(
                &r,
                "a size needs a unit".into(),
                "write the unit: 512MiB, 4GiB, 100GB",
            ),
            _ => self.mismatch(&r, "a size (e.g. 512MiB)"),
        }
    }

    fn duration(&mut self, v: &V) -> Option<u64> {
        let r = self.resolved(v);
        match r.val {
            Val::Duration(d) => Some(d),
            Val::Int(_) => self.malformed(
                &r,
                "a duration needs a unit".into(),
                "write the unit: 30s, 5m, 1h30m",
            ),
            _ => self.mismatch(&r, "a duration (e.g. 30s)"),
        }
    }

    fn port_number(&mut self, v: &V, n: u32) -> Option<u16> {
        if n == 0 || n > 65535 {
            return self.out_of_range(v, format!("port {n} is out of range"), "ports are 1..65535");
        }
        Some(n as u16)
    }

    fn port(&mut self, v: &V) -> Option<(u16, Proto)> {
        let r = self.resolved(v);
        match r.val {
            Val::Int(i) => {
                let n = u32::try_from(i).unwrap_or(u32::MAX);
                self.port_number(&r, n).map(|p| (p, Proto::Tcp))
            }
            Val::Port(n, proto) => self.port_number(&r, n).map(|p| (p, proto)),
            _ => self.mismatch(&r, "a port (e.g. 8080 or 53/udp)"),
        }
    }

    fn ip(&mut self, v: &V) -> Option<std::net::IpAddr> {
        let r = self.resolved(v);
        match r.val {
            Val::Ip(ip) => Some(ip),
            Val::Str(ref s) => match s.parse() {
                Ok(ip) => Some(ip),
                Err(_) => self.malformed(
                    &r,
                    format!("`{s}` is not an IP address"),
                    "write the address without quotes, e.g. 203.0.113.10",
                ),
            },
            _ => self.mismatch(&r, "an IP address"),
        }
    }

    /// An enum variant written as a bare name (`runtime = compose`); `_` and `-` are equal.
    fn variant(&mut self, v: &V, what: &str, variants: &[&'static str]) -> Option<&'static str> {
        let text = match &v.val {
            Val::Name(n) => n.clone(),
            Val::Ref(s, p) if p.is_empty() => self.ev.syms.list[*s].name.clone(),
            Val::Str(s) => s.clone(),
            Val::Error => return None,
            _ => return self.mismatch(v, &format!("one of {}", variants.join(", "))),
        };
        let norm = text.replace('-', "_");
        if let Some(found) = variants.iter().find(|x| x.replace('-', "_") == norm) {
            return Some(found);
        }
        let mut d = Diagnostic::error(
            Code::TypeMismatch,
            format!("`{text}` is not a {what}"),
            v.loc.file,
            v.loc.span,
        )
        .label(format!("expected one of: {}", variants.join(", ")));
        d.help = Some(match did_you_mean(&text, variants.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("a {what} is one of: {}", variants.join(", ")),
        });
        self.ev.err(d);
        None
    }

    fn list(&mut self, v: &V) -> Option<Vec<V>> {
        match &v.val {
            Val::List(items) => Some(items.clone()),
            _ => self.mismatch(v, "a list `[...]`"),
        }
    }

    fn strings(&mut self, v: &V) -> Vec<String> {
        let Some(items) = self.list(v) else {
            return Vec::new();
        };
        items.iter().filter_map(|i| self.str(i)).collect()
    }

    fn record(&mut self, v: &V) -> Option<Rec> {
        match &v.val {
            Val::Record(r) => Some(r.clone()),
            _ => self.mismatch(v, "a record `{ ... }`"),
        }
    }

    fn text_map(&mut self, v: &V) -> IndexMap<String, String> {
        let mut out = IndexMap::new();
        if let Some(rec) = self.record(v) {
            for (k, fv, _) in &rec {
                if let Some(t) = self.text(fv) {
                    out.insert(k.text.clone(), t);
                }
            }
        }
        out
    }

    fn command(&mut self, v: &V) -> Option<Command> {
        let r = self.resolved(v);
        match &r.val {
            Val::Str(s) => Some(Command::Shell(s.clone())),
            Val::List(_) => Some(Command::Exec(self.strings(&r))),
            _ => self.mismatch(
                &r,
                "a command: a string (run by a shell) or a list of strings",
            ),
        }
    }

    fn image(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        match check_image_ref(&s) {
            Ok(()) => Some(s),
            Err(why) => self.malformed(v, format!("`{s}` is not a valid image reference: {why}"), "an image is `[registry/]name[:tag][@sha256:digest]`, lower-case, e.g. `mysql:8.4` or `ghcr.io/org/app:1.2`"),
        }
    }

    fn secret_ref(&mut self, v: &V) -> Option<SecretId> {
        match &v.val {
            Val::Ref(s, p) if p.is_empty() && self.is_secret(v) => self.secret_ids.get(s).copied(),
            Val::Error => None,
            Val::Name(_) => self.mismatch(v, "a secret"),
            _ => {
                let found = v.val.describe(self.ev.syms);
                self.ev.err(
                    Diagnostic::error(Code::PlainAsSecret, format!("expected a secret, found {found}"), v.loc.file, v.loc.span)
                        .label("not a secret")
                        .help("declare the secret (`secret name from env \"VAR\"`) and refer to it by name; its value never appears in sources or artifacts"),
                );
                None
            }
        }
    }

    fn decl_ref(&mut self, v: &V, kind: DeclKind) -> Option<usize> {
        match &v.val {
            Val::Ref(s, p) if p.is_empty() && self.ev.syms.list[*s].kind == SymKind::Decl(kind) => {
                Some(*s)
            }
            Val::Name(n) => {
                let n = n.clone();
                // Broken declarations' names too: a typo of one is still a typo of it.
                let candidates: Vec<String> = self
                    .ev
                    .syms
                    .list
                    .iter()
                    .filter(|s| s.kind == SymKind::Decl(kind))
                    .map(|s| s.name.clone())
                    .collect();
                let mut d = Diagnostic::error(
                    Code::Unresolved,
                    format!("cannot find {} `{n}`", kind.keyword()),
                    v.loc.file,
                    v.loc.span,
                )
                .label(format!("no {} with this name", kind.keyword()));
                d.help = Some(
                    match did_you_mean(&n, candidates.iter().map(String::as_str)) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if candidates.is_empty() => {
                            format!("declare it: `{} {n} {{ ... }}`", kind.keyword())
                        }
                        None => format!(
                            "the declared {}s are: {}",
                            kind.keyword(),
                            candidates.join(", ")
                        ),
                    },
                );
                self.ev.err(d);
                None
            }
            Val::Ref(s, p) if p.is_empty() => {
                let sym = &self.ev.syms.list[*s];
                let (name, kn, file, span) =
                    (sym.name.clone(), sym.kind_name(), sym.file, sym.name_span);
                self.ev.err(
                    Diagnostic::error(
                        Code::WrongKind,
                        format!("`{name}` is a {kn}, not a {}", kind.keyword()),
                        v.loc.file,
                        v.loc.span,
                    )
                    .with_secondary(file, span, "declared here")
                    .help(format!("refer to a {} here", kind.keyword())),
                );
                None
            }
            _ => self.mismatch(v, &format!("a {} name", kind.keyword())),
        }
    }

    fn loc_of(&self, sym: usize) -> Loc {
        let s = &self.ev.syms.list[sym];
        Loc {
            file: s.file,
            span: s.name_span,
        }
    }

    /// Where each known field was written (unknown ones are reported by `fields`).
    fn record_locs(&self, f: &Fields, known: &[&'static str]) -> IndexMap<&'static str, Loc> {
        f.rec
            .iter()
            .filter_map(|(k, v, file)| {
                let name = known.iter().find(|n| **n == k.text)?;
                Some((
                    *name,
                    Loc {
                        file: *file,
                        span: key_value_span(k.span, v.loc, *file),
                    },
                ))
            })
            .collect()
    }

    // ---- declarations --------------------------------------------------------

    fn host(&mut self, sym: usize) -> Host {
        let decl = self.decl(sym);
        let f = self.fields(sym, HOST_FIELDS);
        let mut h = Host {
            name: decl.name.text.clone(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            address: None,
            runtime: Runtime::None,
            proxy: Proxy::None,
            cpus: None,
            memory: None,
            disk: None,
            os: None,
            parent: None,
            hypervisor: false,
            field_locs: self.record_locs(&f, HOST_FIELDS),
        };
        if let Some(v) = f.get("address") {
            h.address = self.ip(v);
        }
        if let Some(v) = f.get("runtime") {
            h.runtime =
                match self.variant(v, "runtime", &["compose", "swarm", "kubernetes", "none"]) {
                    Some("compose") => Runtime::Compose,
                    Some("swarm") => Runtime::Swarm,
                    Some("kubernetes") => Runtime::Kubernetes,
                    _ => Runtime::None,
                };
        }
        if let Some(v) = f.get("proxy") {
            h.proxy = match self.variant(v, "proxy", &["caddy", "traefik", "none"]) {
                Some("caddy") => Proxy::Caddy,
                Some("traefik") => Proxy::Traefik,
                _ => Proxy::None,
            };
        }
        if let Some(v) = f.get("cpus") {
            h.cpus = self.float(v, 0.01);
        }
        if let Some(v) = f.get("memory") {
            h.memory = self.size(v);
        }
        if let Some(v) = f.get("disk") {
            h.disk = self.size(v);
        }
        if let Some(v) = f.get("os") {
            h.os = self.str(v);
        }
        if let Some(v) = f.get("hypervisor") {
            h.hypervisor = self.variant(v, "hypervisor", &["proxmox"]).is_some();
        }
        // `host vm on hypervisor`: optional for hosts, unlike services.
        h.parent = self.placement_host(sym, false);
        if !is_safe_name(&h.name) && matches!(h.runtime, Runtime::Compose | Runtime::Swarm) {
            self.ev.err(
                Diagnostic::error(
                    Code::UnsafePath,
                    format!("`{}` cannot be the name of a compose host", h.name),
                    h.loc.file,
                    h.loc.span,
                )
                .label("becomes a directory and a compose project name")
                .help("use lower-case letters, digits, `-` and `_`"),
            );
        }
        h
    }

    fn secret(&mut self, sym: usize) -> Secret {
        let decl = self.decl(sym);
        let f = self.fields(sym, SECRET_FIELDS);
        let file = self.ev.syms.list[sym].file;
        let mut source = None;
        if let Some((kind, value, span)) = &decl.source {
            let v = V {
                val: Val::Str(value.clone()),
                loc: Loc { file, span: *span },
            };
            source = match kind.text.as_str() {
                "env" => self.env_var_name(&v, value).map(SecretSource::Env),
                "file" => Some(SecretSource::File(value.clone())),
                other => {
                    let mut d = Diagnostic::error(
                        Code::TypeMismatch,
                        format!("`{other}` is not a secret source"),
                        file,
                        kind.span,
                    )
                    .label("expected `env` or `file`");
                    d.help = Some(match did_you_mean(other, ["env", "file"]) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "write `secret NAME from env \"VAR\"` or `secret NAME from file \"./path\"`".into(),
                    });
                    self.ev.err(d);
                    None
                }
            };
        }
        if let Some(v) = f.get("env")
            && let Some(s) = self.str(v)
        {
            source = self.env_var_name(v, &s).map(SecretSource::Env);
        }
        if let Some(v) = f.get("file") {
            source = self.str(v).map(SecretSource::File);
        }
        let source = source.unwrap_or_else(|| {
            if decl.source.is_none() && f.get("env").is_none() && f.get("file").is_none() {
                self.ev.err(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("secret `{}` has no source", decl.name.text),
                        file,
                        decl.name.span,
                    )
                    .label("where does the value come from?")
                    .help(format!(
                        "write `secret {} from env \"VAR\"` or `secret {} from file \"./path\"`",
                        decl.name.text, decl.name.text
                    )),
                );
            }
            SecretSource::Env(decl.name.text.to_ascii_uppercase())
        });
        Secret {
            name: decl.name.text.clone(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            source,
        }
    }

    fn env_var_name(&mut self, v: &V, s: &str) -> Option<String> {
        let ok = !s.is_empty()
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !s.starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Some(s.to_string())
        } else {
            self.malformed(
                v,
                format!("`{s}` is not an environment variable name"),
                "use letters, digits and `_`, not starting with a digit, e.g. MYSQL_PASSWORD",
            )
        }
    }

    fn placement_host(&mut self, sym: usize, required: bool) -> Option<HostId> {
        let decl = self.decl(sym);
        let file = self.ev.syms.list[sym].file;
        match &decl.placement {
            Some(p) => {
                let v = match self.ev.syms.lookup(&p.text) {
                    // Its declaration's syntax error is reported.
                    Some(s) if self.ev.syms.list[s].broken => return None,
                    Some(s) => {
                        self.ev.references.push((Loc { file, span: p.span }, s));
                        V {
                            val: Val::Ref(s, Vec::new()),
                            loc: Loc { file, span: p.span },
                        }
                    }
                    None => V {
                        val: Val::Name(p.text.clone()),
                        loc: Loc { file, span: p.span },
                    },
                };
                let s = self.decl_ref(&v, DeclKind::Host)?;
                self.host_ids.get(&s).copied()
            }
            None if required => {
                let kind = decl.kind.keyword();
                self.ev.err(
                    Diagnostic::error(
                        Code::BadPlacement,
                        format!("{kind} `{}` is not placed on a host", decl.name.text),
                        file,
                        decl.name.span,
                    )
                    .label("runs where?")
                    .help(format!("write `{kind} {} on HOST ...`", decl.name.text)),
                );
                None
            }
            None => None,
        }
    }

    fn network(&mut self, sym: usize) -> Network {
        let decl = self.decl(sym);
        let f = self.fields(sym, NETWORK_FIELDS);
        let external = f
            .get("external")
            .and_then(|v| self.bool(v))
            .unwrap_or(false);
        // An external network exists outside sparkc, on whichever hosts use it.
        // (An unplaced network that is not external is reported here, once.)
        let host = self.placement_host(sym, !external);
        let mut n = Network {
            name: decl.name.text.clone(),
            loc: self.loc_of(sym),
            host,
            stack: None,
            internal: false,
            driver: None,
            external: false,
        };
        if let Some(v) = f.get("internal") {
            n.internal = self.bool(v).unwrap_or(false);
        }
        n.external = external;
        if let Some(v) = f.get("driver") {
            n.driver = self.str(v);
        }
        if let Some(v) = f.get("stack") {
            n.stack = self.stack_name(v);
        }
        n
    }

    fn volume(&mut self, sym: usize) -> Option<Volume> {
        let decl = self.decl(sym);
        let f = self.fields(sym, VOLUME_FIELDS);
        let host = self.placement_host(sym, true)?;
        let mut v = Volume {
            name: decl.name.text.clone(),
            loc: self.loc_of(sym),
            host,
            driver: None,
            external: false,
        };
        if let Some(x) = f.get("driver") {
            v.driver = self.str(x);
        }
        if let Some(x) = f.get("external") {
            v.external = self.bool(x).unwrap_or(false);
        }
        Some(v)
    }

    /// Names that become directory or file names in the output must be plain.
    fn stack_name(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        if is_safe_name(&s) {
            Some(s)
        } else {
            self.ev.err(
                Diagnostic::error(Code::UnsafePath, format!("`{}` cannot be a stack name", s.escape_debug()), v.loc.file, v.loc.span)
                    .label("becomes a directory name in the output")
                    .help("use lower-case letters, digits, `-` and `_` (a stack name is a compose project name and a directory)"),
            );
            None
        }
    }

    fn service(&mut self, sym: usize) -> Service {
        let decl = self.decl(sym);
        let f = self.fields(sym, SERVICE_FIELDS);
        self.path_secrets.clear();
        let host = self.placement_host(sym, true);
        let mut s = Service {
            name: decl.name.text.clone(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            host,
            stack: None,
            template: decl.instance.as_ref().map(|i| i.template.text.clone()),
            image: None,
            build: None,
            command: None,
            entrypoint: None,
            env: IndexMap::new(),
            env_file: Vec::new(),
            ports: Vec::new(),
            publish: Vec::new(),
            volumes: Vec::new(),
            networks: Vec::new(),
            default_network: false,
            connects_to: Vec::new(),
            network_mode: None,
            depends_on: Vec::new(),
            healthcheck: None,
            health_client: None,
            metrics_port: None,
            metrics_path: "/metrics".to_string(),
            restart: None,
            labels: IndexMap::new(),
            container_name: None,
            hostname: None,
            user: None,
            working_dir: None,
            security_opt: Vec::new(),
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            devices: Vec::new(),
            privileged: false,
            admin_surface: false,
            read_only: false,
            init: false,
            sysctls: IndexMap::new(),
            ulimits: IndexMap::new(),
            tmpfs: Vec::new(),
            extra_hosts: IndexMap::new(),
            logging: None,
            secrets: Vec::new(),
            profiles: Vec::new(),
            dns: Vec::new(),
            platform: None,
            pull_policy: None,
            stop_grace_period: None,
            shm_size: None,
            cpus: None,
            memory: None,
            reserve_cpus: None,
            reserve_memory: None,
            replicas: None,
            update: None,
            rollback: None,
            restart_policy: None,
            placement: Vec::new(),
            passthrough_compose: IndexMap::new(),
            field_locs: self.record_locs(&f, SERVICE_FIELDS),
        };
        if !is_safe_name(&s.name) {
            let loc = s.loc;
            self.ev.err(
                Diagnostic::error(Code::UnsafePath, format!("`{}` cannot be a service name", s.name), loc.file, loc.span)
                    .help("service names become compose service and DNS names: use lower-case letters, digits, `-` and `_`"),
            );
        }
        // Ports first: publish and health checks refer to them by name.
        if let Some(v) = f.get("port")
            && let Some(rec) = self.record(v)
        {
            for (k, pv, kf) in &rec {
                if let Some((port, proto)) = self.port(pv) {
                    s.ports.push(PortDef {
                        name: k.text.clone(),
                        port,
                        proto,
                        loc: Loc {
                            file: *kf,
                            span: k.span,
                        },
                    });
                }
            }
        }
        for (key, v, _) in f.rec.iter() {
            match key.text.as_str() {
                "image" => s.image = self.image(v),
                "build" => s.build = self.build(v),
                "command" => s.command = self.command(v),
                "entrypoint" => s.entrypoint = self.command(v),
                "env" => (s.env, s.connects_to) = self.env(v),
                "env_file" => s.env_file = self.strings(v),
                "publish" => s.publish = self.publish(v, &s),
                "volumes" => s.volumes = self.mounts(v, host, &decl.name.text),
                "networks" => {
                    if let Some(items) = self.list(v) {
                        for i in items {
                            // `default`: the compose project's own network, not a declaration.
                            if matches!(&i.val, Val::Name(n) if n == "default") {
                                s.default_network = true;
                                continue;
                            }
                            if let Some(n) = self.decl_ref(&i, DeclKind::Network)
                                && let Some(id) = self.network_ids.get(&n)
                            {
                                s.networks.push(*id);
                            }
                        }
                    }
                }
                "network_mode" => {
                    s.network_mode = match &v.val {
                        Val::Call(n, args) if n.text == "service" && args.len() == 1 => {
                            let a = args[0].1.clone();
                            self.decl_ref(&a, DeclKind::Service)
                                .and_then(|x| self.service_ids.get(&x))
                                .map(|id| NetworkMode::Service(*id))
                        }
                        _ => match self.variant(v, "network mode", &["host", "none", "bridge"]) {
                            Some("host") => Some(NetworkMode::Host),
                            Some("none") => Some(NetworkMode::None),
                            Some(_) => Some(NetworkMode::Bridge),
                            None => None,
                        },
                    }
                }
                "depends_on" => s.depends_on = self.depends(v),
                "healthcheck" => s.healthcheck = self.healthcheck(v, &s),
                "metrics" => {
                    s.metrics_port = self.container_port(v, &s).map(|(p, _)| p.0);
                }
                "metrics_path" => {
                    if let Some(p) = self.str(v) {
                        if p.starts_with('/') {
                            s.metrics_path = p;
                        } else {
                            self.malformed::<()>(
                                v,
                                format!("metrics path `{p}` does not start with `/`"),
                                "write an absolute URL path, e.g. \"/metrics\"",
                            );
                        }
                    }
                }
                "health_client" => {
                    s.health_client =
                        match self.variant(v, "health check client", &["curl", "wget"]) {
                            Some("curl") => Some(HealthClient::Curl),
                            Some(_) => Some(HealthClient::Wget),
                            None => None,
                        }
                }
                "restart" => {
                    s.restart = match self.variant(
                        v,
                        "restart policy",
                        &["no", "always", "on-failure", "unless-stopped"],
                    ) {
                        Some("no") => Some(Restart::No),
                        Some("always") => Some(Restart::Always),
                        Some("on-failure") => Some(Restart::OnFailure),
                        Some(_) => Some(Restart::UnlessStopped),
                        None => None,
                    }
                }
                "labels" => s.labels = self.text_map(v),
                "container_name" => s.container_name = self.str(v),
                "hostname" => s.hostname = self.str(v),
                "user" => s.user = self.text(v),
                "working_dir" => s.working_dir = self.str(v),
                "security_opt" => s.security_opt = self.strings(v),
                "cap_add" => s.cap_add = self.strings(v),
                "cap_drop" => s.cap_drop = self.strings(v),
                "devices" => s.devices = self.strings(v),
                "privileged" => s.privileged = self.bool(v).unwrap_or(false),
                "admin_surface" => s.admin_surface = self.bool(v).unwrap_or(false),
                "read_only" => s.read_only = self.bool(v).unwrap_or(false),
                "init" => s.init = self.bool(v).unwrap_or(false),
                "sysctls" => s.sysctls = self.text_map(v),
                "ulimits" => s.ulimits = self.ulimits(v),
                "tmpfs" => s.tmpfs = self.strings(v),
                "extra_hosts" => {
                    if let Some(rec) = self.record(v) {
                        for (k, iv, _) in &rec {
                            if let Some(ip) = self.ip(iv) {
                                s.extra_hosts.insert(k.text.clone(), ip);
                            }
                        }
                    }
                }
                "logging" => s.logging = self.logging(v),
                "secrets" => {
                    if let Some(items) = self.list(v) {
                        for i in items {
                            if let Some(id) = self.secret_ref(&i)
                                && !s.secrets.contains(&id)
                            {
                                s.secrets.push(id);
                            }
                        }
                    }
                }
                "profiles" => s.profiles = self.strings(v),
                "dns" => {
                    if let Some(items) = self.list(v) {
                        s.dns = items.iter().filter_map(|i| self.ip(i)).collect();
                    }
                }
                "platform" => s.platform = self.str(v),
                "pull_policy" => {
                    s.pull_policy = self
                        .variant(v, "pull policy", &["always", "never", "missing", "build"])
                        .map(str::to_string)
                }
                "stop_grace_period" => s.stop_grace_period = self.duration(v),
                "shm_size" => s.shm_size = self.size(v),
                "cpus" => s.cpus = self.float(v, 0.01),
                "memory" => s.memory = self.size(v),
                "reserve" => {
                    if let Some(rec) = self.record(v) {
                        for (k, rv, kf) in &rec {
                            match k.text.as_str() {
                                "cpus" => s.reserve_cpus = self.float(rv, 0.0),
                                "memory" => s.reserve_memory = self.size(rv),
                                _ => self.unknown_sub(
                                    &k.text,
                                    k.span,
                                    *kf,
                                    "reserve",
                                    &["cpus", "memory"],
                                ),
                            }
                        }
                    }
                }
                "replicas" => s.replicas = self.int(v, 0, 10_000),
                "update" => s.update = self.update_policy(v, "update"),
                "rollback" => s.rollback = self.update_policy(v, "rollback"),
                "restart_policy" => s.restart_policy = self.restart_policy(v),
                "placement" => s.placement = self.strings(v),
                "stack" => s.stack = self.stack_name(v),
                "passthrough" => s.passthrough_compose = self.passthrough(v),
                _ => {}
            }
        }
        for id in std::mem::take(&mut self.path_secrets) {
            if !s.secrets.contains(&id) {
                s.secrets.push(id);
            }
        }
        // A secret's path written anywhere in the service's text (`"file://${pw.path}"`, a
        // template's command, a constant, or `/run/secrets/pw` by hand) is read there at
        // run time, so the secret is mounted: a path is never left pointing at nothing.
        for id in self.secrets_read_by_path(&s) {
            if !s.secrets.contains(&id) {
                s.secrets.push(id);
            }
        }
        // Services named in its text (`"--mysqld.address=${db}:3306"`) are connected to too;
        // each once, where first named.
        for (target, loc) in self.ev.take_mentions(sym) {
            if let Some(&id) = self.service_ids.get(&target) {
                s.connects_to.push(Connection { service: id, loc });
            }
        }
        let mut seen = rustc_hash::FxHashSet::default();
        s.connects_to.retain(|c| seen.insert(c.service));
        // Only when nothing was written that meant to be an image: a malformed image, a
        // misspelled `imgae` or a failed template already has its own diagnostic.
        let attempted = f.get("image").is_some()
            || f.get("build").is_some()
            || decl.instance.is_some()
            || f.rec
                .iter()
                .any(|(k, _, _)| did_you_mean(&k.text, ["image", "build"]).is_some());
        if s.image.is_none() && s.build.is_none() && !attempted {
            let loc = s.loc;
            self.ev.err(
                Diagnostic::error(Code::MissingField, format!("service `{}` has neither `image` nor `build`", s.name), loc.file, loc.span)
                    .label("what does it run?")
                    .help("set `image = \"name:tag\"`, `build = \"./dir\"`, or instantiate a stdlib app: `= mysql(...)`"),
            );
        }
        s
    }

    fn unknown_sub(&mut self, key: &str, span: Span, file: FileId, what: &str, known: &[&str]) {
        let mut d = Diagnostic::error(
            Code::UnknownField,
            format!("`{what}` has no field `{key}`"),
            file,
            span,
        )
        .label("unknown field");
        d.help = Some(match did_you_mean(key, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the fields of `{what}` are: {}", known.join(", ")),
        });
        self.ev.err(d);
    }

    fn build(&mut self, v: &V) -> Option<Build> {
        if let Val::Str(s) = &v.val {
            return Some(Build {
                context: s.clone(),
                ..Build::default()
            });
        }
        let rec = self.record(v)?;
        let mut b = Build::default();
        let mut has_context = false;
        for (k, fv, kf) in &rec {
            match k.text.as_str() {
                "context" => {
                    b.context = self.str(fv).unwrap_or_default();
                    has_context = true;
                }
                "dockerfile" => b.dockerfile = self.str(fv),
                "target" => b.target = self.str(fv),
                "args" => b.args = self.text_map(fv),
                _ => self.unknown_sub(
                    &k.text,
                    k.span,
                    *kf,
                    "build",
                    &["context", "dockerfile", "target", "args"],
                ),
            }
        }
        if !has_context {
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    "`build` needs a `context`",
                    v.loc.file,
                    v.loc.span,
                )
                .help("write `build = { context = \"./dir\" }` or simply `build = \"./dir\"`"),
            );
        }
        Some(b)
    }

    /// The environment, and the services it names (`DB_HOST = db`: this one connects to `db`).
    fn env(&mut self, v: &V) -> (IndexMap<String, EnvValue>, Vec<Connection>) {
        let mut out = IndexMap::new();
        let mut named = Vec::new();
        let Some(rec) = self.record(v) else {
            return (out, named);
        };
        for (k, ev, _) in &rec {
            if self.is_secret(ev) {
                if let Some(id) = self.secret_ref(ev) {
                    out.insert(k.text.clone(), EnvValue::Secret(id));
                }
            } else if let Some(t) = self.text(ev) {
                if let Val::Ref(sym, path) = &ev.val
                    && path.is_empty()
                    && let Some(&id) = self.service_ids.get(sym)
                {
                    named.push(Connection {
                        service: id,
                        loc: ev.loc,
                    });
                }
                out.insert(k.text.clone(), EnvValue::Plain(t));
            }
        }
        (out, named)
    }

    /// `publish = [80 -> http, 8443 -> 443, 127.0.0.1:9000 ...]`
    fn publish(&mut self, v: &V, s: &Service) -> Vec<Publish> {
        let mut out = Vec::new();
        let Some(items) = self.list(v) else {
            return out;
        };
        for item in items {
            let (host_v, target_v, address) = match &item.val {
                Val::Pair(a, b) => ((**a).clone(), (**b).clone(), None),
                Val::Record(rec) => {
                    let get = |k: &str| {
                        rec.iter()
                            .find(|(n, _, _)| n.text == k)
                            .map(|(_, v, _)| v.clone())
                    };
                    let (Some(h), Some(t)) = (get("host_port"), get("port")) else {
                        self.ev.err(
                            Diagnostic::error(Code::MissingField, "a published port needs `host_port` and `port`", item.loc.file, item.loc.span)
                                .help("write `{ address = 127.0.0.1, host_port = 8080, port = http }` or `8080 -> http`"),
                        );
                        continue;
                    };
                    let addr = get("address").and_then(|a| self.ip(&a));
                    (h, t, addr)
                }
                Val::Name(_) | Val::Ref(..) => (item.clone(), item.clone(), None),
                _ => {
                    self.mismatch::<()>(&item, "`HOST_PORT -> PORT` (e.g. `443 -> https`)");
                    continue;
                }
            };
            let Some((cont, proto)) = self.container_port(&target_v, s) else {
                continue;
            };
            let host = match &host_v.val {
                Val::PortRange(a, b, _) => {
                    let (Some(a), Some(b)) =
                        (self.port_number(&host_v, *a), self.port_number(&host_v, *b))
                    else {
                        continue;
                    };
                    (a, b)
                }
                Val::Name(_) | Val::Ref(..) => (cont.0, cont.1),
                _ => match self.port(&host_v) {
                    Some((p, _)) => (p, p),
                    None => continue,
                },
            };
            if host.1 - host.0 != cont.1 - cont.0 {
                self.ev.err(
                    Diagnostic::error(
                        Code::OutOfRange,
                        "host and container port ranges differ in length",
                        item.loc.file,
                        item.loc.span,
                    )
                    .help("publish ranges of equal length, e.g. `8000-8010 -> 8000-8010`"),
                );
                continue;
            }
            out.push(Publish {
                address,
                host,
                container: cont,
                proto,
                loc: item.loc,
            });
        }
        out
    }

    /// A container port: a number, or the name of one of the service's own ports.
    fn container_port(&mut self, v: &V, s: &Service) -> Option<((u16, u16), Proto)> {
        let name = match &v.val {
            Val::Name(n) => Some(n.clone()),
            Val::Ref(sym, p) if p.is_empty() => Some(self.ev.syms.list[*sym].name.clone()),
            _ => None,
        };
        if let Some(n) = name {
            return match s.port(&n) {
                Some(p) => Some(((p.port, p.port), p.proto)),
                None => {
                    self.unknown_port(&n, v.loc, s);
                    None
                }
            };
        }
        match &v.val {
            Val::PortRange(a, b, proto) => {
                Some(((self.port_number(v, *a)?, self.port_number(v, *b)?), *proto))
            }
            _ => self.port(v).map(|(p, proto)| ((p, p), proto)),
        }
    }

    fn unknown_port(&mut self, name: &str, loc: Loc, s: &Service) {
        let mut d = Diagnostic::error(
            Code::UnknownPort,
            format!("service `{}` has no port named `{name}`", s.name),
            loc.file,
            loc.span,
        )
        .label("no such port");
        d.help = Some(
            match did_you_mean(name, s.ports.iter().map(|p| p.name.as_str())) {
                Some(x) => format!("did you mean `{x}`?"),
                None if s.ports.is_empty() => {
                    format!("declare it on the service: `port {{ {name} = 8080 }}`")
                }
                None => format!(
                    "its ports are: {}",
                    s.ports
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        );
        self.ev.err(d);
    }

    /// `volumes = [data -> "/var/lib/x", "./conf" -> "/etc/x", ro("./certs" -> "/certs")]`
    fn mounts(&mut self, v: &V, host: Option<HostId>, service: &str) -> Vec<Mount> {
        let mut out = Vec::new();
        let Some(items) = self.list(v) else {
            return out;
        };
        for item in items {
            let (inner, ro) = match &item.val {
                Val::Call(n, args) if n.text == "ro" && args.len() == 1 => {
                    (args[0].1.clone(), true)
                }
                Val::Call(n, _) => {
                    self.ev.err(
                        Diagnostic::error(
                            Code::TypeMismatch,
                            format!("unknown mount modifier `{}`", n.text),
                            item.loc.file,
                            n.span,
                        )
                        .help("the only modifier is `ro(SOURCE -> TARGET)` for a read-only mount"),
                    );
                    continue;
                }
                _ => (item.clone(), false),
            };
            let Val::Pair(src, dst) = &inner.val else {
                self.mismatch::<()>(&inner, "a mount `SOURCE -> \"/container/path\"`");
                continue;
            };
            let Some(target) = self.str(dst) else {
                continue;
            };
            if self.control_char_in_path(dst, &target) {
                continue;
            }
            if !target.starts_with('/') {
                self.malformed::<()>(
                    dst,
                    format!("mount target `{target}` is not an absolute path"),
                    "container paths start with `/`",
                );
                continue;
            }
            let source = match &src.val {
                Val::Str(p)
                    if p.starts_with("./")
                        || p.starts_with("../")
                        || p.starts_with('/')
                        || p == "." =>
                {
                    if self.control_char_in_path(src, p) {
                        continue;
                    }
                    MountSource::Bind(p.clone())
                }
                Val::Str(p) => {
                    self.malformed::<()>(src, format!("bind mount source `{p}` is neither relative (`./`) nor absolute (`/`)"), "write `./dir` for a path next to the compose file, or a bare name (no quotes) for a named volume");
                    continue;
                }
                Val::Name(n) if n == "tmpfs" => MountSource::Tmpfs,
                Val::Name(n) => {
                    // An undeclared volume belongs to this service alone: two services
                    // can never share one by accident. Declare a `volume` to share it.
                    MountSource::Volume(format!("{service}-{n}"))
                }
                Val::Ref(sym, p)
                    if p.is_empty()
                        && self.ev.syms.list[*sym].kind == SymKind::Decl(DeclKind::Volume) =>
                {
                    let name = self.ev.syms.list[*sym].name.clone();
                    if let Some(vol) = self.model.volumes.iter().find(|x| x.name == name)
                        && host.is_some_and(|h| vol.host != h)
                    {
                        self.ev.err(
                            Diagnostic::error(
                                Code::CrossStack,
                                format!("volume `{name}` lives on another host"),
                                src.loc.file,
                                src.loc.span,
                            )
                            .with_secondary(vol.loc.file, vol.loc.span, "declared here")
                            .help("a named volume is local to one host; declare one on this host"),
                        );
                        continue;
                    }
                    MountSource::Volume(name)
                }
                _ => {
                    self.mismatch::<()>(src, "a volume name or a path string");
                    continue;
                }
            };
            out.push(Mount {
                source,
                target,
                read_only: ro,
                loc: item.loc,
            });
        }
        out
    }

    fn depends(&mut self, v: &V) -> Vec<Dependency> {
        let mut out = Vec::new();
        let Some(items) = self.list(v) else {
            return out;
        };
        for item in items {
            let (target, cond) = match &item.val {
                Val::Call(n, args) if args.len() == 1 => {
                    let c = match n.text.as_str() {
                        "healthy" => Some(DependCondition::Healthy),
                        "started" => Some(DependCondition::Started),
                        "completed" => Some(DependCondition::Completed),
                        _ => None,
                    };
                    match c {
                        Some(c) => (args[0].1.clone(), Some(c)),
                        None => {
                            self.ev.err(
                                Diagnostic::error(Code::TypeMismatch, format!("unknown dependency condition `{}`", n.text), item.loc.file, n.span)
                                    .help("write `healthy(x)`, `started(x)` or `completed(x)`, or just `x`"),
                            );
                            continue;
                        }
                    }
                }
                _ => (item.clone(), None),
            };
            let Some(sym) = self.decl_ref(&target, DeclKind::Service) else {
                continue;
            };
            let Some(&id) = self.service_ids.get(&sym) else {
                continue;
            };
            if cond.is_none() {
                // Resolved once every service is lowered: healthy when the dependency has a health check.
                self.implicit_deps
                    .push((ServiceId::new(self.model.services.len()), out.len()));
            }
            out.push(Dependency {
                service: id,
                condition: cond.unwrap_or(DependCondition::Started),
                loc: item.loc,
            });
        }
        out
    }
}

fn unreachable_decl() -> ! {
    panic!("symbol table points at a non-declaration item; this is a bug in sparkc")
}

fn domain_of(files: &[ast::File], (f, i): (FileId, usize)) -> &ast::Decl {
    match &files[f.0 as usize].items[i] {
        ast::Item::Decl(d) => d,
        _ => unreachable_decl(),
    }
}

/// A name that is safe as a path component and a compose/DNS name.
pub fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !s.starts_with(['-', '_'])
}

/// Docker image reference: `[host[:port]/]path[:tag][@algo:digest]`.
pub fn check_image_ref(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.chars().any(|c| c.is_whitespace()) {
        return Err("it contains whitespace");
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return Err("the digest lacks `algo:`");
        };
        if algo.is_empty() || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("the digest is not `sha256:<hex>`");
        }
    }
    let last_slash = rest.rfind('/');
    let (path, tag) = match rest.rfind(':') {
        Some(i) if last_slash.is_none_or(|sl| i > sl) => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag
        && (t.is_empty()
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            || t.starts_with(['.', '-']))
    {
        return Err("the tag may only hold letters, digits, `.`, `_` and `-`");
    }
    let mut comps: Vec<&str> = path.split('/').collect();
    if comps.len() > 1
        && (comps[0].contains('.') || comps[0].contains(':') || comps[0] == "localhost")
    {
        comps.remove(0);
    }
    for c in comps {
        if c.is_empty() {
            return Err("it has an empty path component");
        }
        if !c
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        {
            return Err("repository names are lower-case letters, digits, `.`, `_` and `-`");
        }
        if !c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            || !c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
        {
            return Err("each path component starts and ends with a letter or digit");
        }
    }
    Ok(())
}

/// DNS name, optionally with a leading `*.` wildcard.
pub fn check_domain(s: &str) -> Result<(), &'static str> {
    let body = s.strip_prefix("*.").unwrap_or(s);
    if body.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    let labels: Vec<&str> = body.split('.').collect();
    if labels.len() < 2 {
        return Err("it needs at least two labels, e.g. example.org");
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Err("each label is 1 to 63 characters");
        }
        if !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("labels hold only letters, digits and `-`");
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err("a label cannot start or end with `-`");
        }
    }
    if labels
        .last()
        .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("the top-level label cannot be numeric");
    }
    Ok(())
}

impl Lowerer<'_, '_> {
    fn healthcheck(&mut self, v: &V, s: &Service) -> Option<Healthcheck> {
        if let Val::Name(n) = &v.val
            && n == "none"
        {
            return Some(Healthcheck::disabled(v.loc));
        }
        let rec = self.record(v)?;
        let mut h = Healthcheck::disabled(v.loc);
        let mut has_test = false;
        for (k, fv, kf) in &rec {
            match k.text.as_str() {
                "test" => {
                    has_test = true;
                    if let Some(t) = self.health_test(fv, s) {
                        h.test = t;
                    }
                }
                "interval" => h.interval = self.duration(fv),
                "timeout" => h.timeout = self.duration(fv),
                "start_period" => h.start_period = self.duration(fv),
                "retries" => h.retries = self.int(fv, 0, 1000),
                _ => self.unknown_sub(
                    &k.text,
                    k.span,
                    *kf,
                    "healthcheck",
                    &["test", "interval", "timeout", "retries", "start_period"],
                ),
            }
        }
        if !has_test {
            self.ev.err(
                Diagnostic::error(Code::MissingField, "a health check needs a `test`", v.loc.file, v.loc.span)
                    .help("write `test = cmd(\"pg_isready\")`, `test = shell(\"curl -f localhost\")` or `test = http(port = web, path = \"/health\")`; or `healthcheck = none` to disable the image's"),
            );
            return None;
        }
        Some(h)
    }

    fn health_test(&mut self, v: &V, s: &Service) -> Option<HealthTest> {
        let Val::Call(n, args) = &v.val else {
            return self.mismatch(
                v,
                "`cmd(...)`, `shell(\"...\")` or `http(port = NAME, path = \"/\")`",
            );
        };
        match n.text.as_str() {
            "cmd" => {
                let parts: Vec<String> = args.iter().filter_map(|(_, a)| self.str(a)).collect();
                if parts.is_empty() {
                    return self.mismatch(v, "a command with at least one word");
                }
                Some(HealthTest::Exec(parts))
            }
            "shell" => match args.as_slice() {
                [(_, a)] => self.str(a).map(HealthTest::Shell),
                _ => self.mismatch(v, "`shell(\"command line\")` with one string"),
            },
            "http" => {
                let mut port = None;
                let mut path = "/".to_string();
                for (name, a) in args {
                    match name.as_ref().map(|n| n.text.as_str()) {
                        Some("port") | None if port.is_none() => {
                            port = self.container_port(a, s).map(|(p, _)| p.0)
                        }
                        Some("path") => path = self.str(a).unwrap_or(path),
                        _ => {
                            self.ev.err(
                                Diagnostic::error(
                                    Code::UnknownParam,
                                    "`http(...)` takes `port` and `path`",
                                    a.loc.file,
                                    a.loc.span,
                                )
                                .help("write `http(port = web, path = \"/health\")`"),
                            );
                        }
                    }
                }
                let port = port?;
                if !path.starts_with('/') {
                    return self.malformed(
                        v,
                        format!("health check path `{path}` does not start with `/`"),
                        "write an absolute URL path, e.g. \"/health\"",
                    );
                }
                Some(HealthTest::Http { port, path })
            }
            other => {
                let mut d = Diagnostic::error(
                    Code::TypeMismatch,
                    format!("`{other}` is not a health check"),
                    v.loc.file,
                    n.span,
                );
                d.help = Some(match did_you_mean(other, ["cmd", "shell", "http"]) {
                    Some(x) => format!("did you mean `{x}`?"),
                    None => "use `cmd(...)`, `shell(\"...\")` or `http(port = NAME, path = \"/\")`"
                        .into(),
                });
                self.ev.err(d);
                None
            }
        }
    }

    fn ulimits(&mut self, v: &V) -> IndexMap<String, Ulimit> {
        let mut out = IndexMap::new();
        let Some(rec) = self.record(v) else {
            return out;
        };
        for (k, uv, _) in &rec {
            match &uv.val {
                Val::Record(r) => {
                    let get = |key: &str| {
                        r.iter()
                            .find(|(n, _, _)| n.text == key)
                            .map(|(_, v, _)| v.clone())
                    };
                    match (get("soft"), get("hard")) {
                        (Some(sv), Some(hv)) => {
                            if let (Some(a), Some(b)) =
                                (self.int(&sv, -1, i64::MAX), self.int(&hv, -1, i64::MAX))
                            {
                                if a > b && b >= 0 {
                                    self.out_of_range::<()>(
                                        &sv,
                                        format!("soft limit {a} exceeds hard limit {b}"),
                                        "the soft limit must not exceed the hard limit",
                                    );
                                }
                                out.insert(k.text.clone(), Ulimit::SoftHard(a, b));
                            }
                        }
                        _ => {
                            self.ev.err(
                                Diagnostic::error(Code::MissingField, "a ulimit record needs `soft` and `hard`", uv.loc.file, uv.loc.span)
                                    .help("write `nofile = { soft = 20000, hard = 40000 }` or a single number"),
                            );
                        }
                    }
                }
                _ => {
                    if let Some(n) = self.int(uv, -1, i64::MAX) {
                        out.insert(k.text.clone(), Ulimit::Single(n));
                    }
                }
            }
        }
        out
    }

    fn logging(&mut self, v: &V) -> Option<Logging> {
        let rec = self.record(v)?;
        let mut driver = None;
        let mut options = IndexMap::new();
        for (k, fv, kf) in &rec {
            match k.text.as_str() {
                "driver" => driver = self.str(fv),
                "options" => options = self.text_map(fv),
                _ => self.unknown_sub(&k.text, k.span, *kf, "logging", &["driver", "options"]),
            }
        }
        match driver {
            Some(driver) => Some(Logging { driver, options }),
            None => {
                self.ev.err(
                    Diagnostic::error(Code::MissingField, "`logging` needs a `driver`", v.loc.file, v.loc.span)
                        .help("write `logging { driver = \"json-file\", options { max-size = \"10m\" } }`"),
                );
                None
            }
        }
    }

    fn update_policy(&mut self, v: &V, what: &str) -> Option<UpdatePolicy> {
        let rec = self.record(v)?;
        let mut u = UpdatePolicy::default();
        const KNOWN: &[&str] = &[
            "parallelism",
            "delay",
            "failure_action",
            "monitor",
            "max_failure_ratio",
            "order",
        ];
        for (k, fv, kf) in &rec {
            match k.text.as_str() {
                "parallelism" => u.parallelism = self.int(fv, 0, 10_000),
                "delay" => u.delay = self.duration(fv),
                "monitor" => u.monitor = self.duration(fv),
                "max_failure_ratio" => u.max_failure_ratio = self.float(fv, 0.0),
                "failure_action" => {
                    let allowed: &[&'static str] = if what == "update" {
                        &["continue", "rollback", "pause"]
                    } else {
                        &["continue", "pause"]
                    };
                    u.failure_action = self
                        .variant(fv, "failure action", allowed)
                        .map(str::to_string);
                }
                "order" => {
                    u.order = self
                        .variant(fv, "update order", &["stop-first", "start-first"])
                        .map(str::to_string)
                }
                _ => self.unknown_sub(&k.text, k.span, *kf, what, KNOWN),
            }
        }
        Some(u)
    }

    fn restart_policy(&mut self, v: &V) -> Option<RestartPolicy> {
        let rec = self.record(v)?;
        let mut r = RestartPolicy::default();
        for (k, fv, kf) in &rec {
            match k.text.as_str() {
                "condition" => {
                    r.condition = self
                        .variant(fv, "restart condition", &["none", "on-failure", "any"])
                        .map(str::to_string)
                }
                "delay" => r.delay = self.duration(fv),
                "max_attempts" => r.max_attempts = self.int(fv, 0, 10_000),
                "window" => r.window = self.duration(fv),
                _ => self.unknown_sub(
                    &k.text,
                    k.span,
                    *kf,
                    "restart_policy",
                    &["condition", "delay", "max_attempts", "window"],
                ),
            }
        }
        Some(r)
    }

    /// `passthrough { compose = { stop_signal = "SIGQUIT" } }`: keys sparkc does not model yet.
    fn passthrough(&mut self, v: &V) -> IndexMap<String, Raw> {
        let mut out = IndexMap::new();
        let Some(rec) = self.record(v) else {
            return out;
        };
        for (k, tv, kf) in &rec {
            if k.text != "compose" {
                self.unknown_sub(&k.text, k.span, *kf, "passthrough", &["compose"]);
                continue;
            }
            let Some(inner) = self.record(tv) else {
                continue;
            };
            for (ik, iv, ikf) in &inner {
                if MODELLED_COMPOSE_KEYS.contains(&ik.text.as_str()) {
                    self.ev.err(
                        Diagnostic::error(Code::UnknownField, format!("`{}` is modelled by sparkc; it cannot be passed through", ik.text), *ikf, ik.span)
                            .label("use the typed field")
                            .help("passthrough is for compose keys sparkc does not model; typed fields are checked, passthrough is not"),
                    );
                    continue;
                }
                if let Some(raw) = self.raw(iv) {
                    out.insert(ik.text.clone(), raw);
                }
            }
        }
        out
    }

    fn raw(&mut self, v: &V) -> Option<Raw> {
        let r = self.resolved(v);
        Some(match &r.val {
            Val::Str(s) => Raw::Str(s.clone()),
            Val::Int(i) => Raw::Int(*i),
            Val::Float(f) => Raw::Float(*f),
            Val::Bool(b) => Raw::Bool(*b),
            Val::Size(b) => Raw::Int(*b as i64),
            Val::Duration(ms) => Raw::Str(crate::model::units::format_duration(*ms)),
            Val::Port(p, _) => Raw::Int(i64::from(*p)),
            Val::Ip(ip) => Raw::Str(ip.to_string()),
            Val::List(items) => Raw::List(items.iter().filter_map(|i| self.raw(i)).collect()),
            Val::Record(rec) => Raw::Map(
                rec.iter()
                    .filter_map(|(k, v, _)| Some((k.text.clone(), self.raw(v)?)))
                    .collect(),
            ),
            _ => {
                return self.mismatch(
                    &r,
                    "a plain value (string, number, boolean, list or record)",
                );
            }
        })
    }

    fn domain(&mut self, file: FileId, d: &ast::Decl) -> Option<Domain> {
        if let Err(why) = check_domain(&d.name.text) {
            self.ev.err(
                Diagnostic::error(Code::MalformedLiteral, format!("`{}` is not a valid domain name: {why}", d.name.text), file, d.name.span)
                    .help("a domain is dot-separated labels of letters, digits and `-`, e.g. cloud.example.org or *.example.org"),
            );
        }
        let route = d.route.as_ref()?;
        let rv = self.ev.eval(route, file, None);
        let rec = self.ev.record(&d.body, file, None);
        let (service, port) = self.port_ref(&rv)?;
        let mut dom = Domain {
            name: d.name.text.clone(),
            loc: Loc {
                file,
                span: d.name.span,
            },
            service,
            port,
            tls: Tls::Auto,
            basic_auth: None,
            path_prefix: None,
        };
        for (k, fv, kf) in &rec {
            match k.text.as_str() {
                "tls" => {
                    dom.tls = match self.variant(fv, "TLS mode", &["auto", "internal", "off"]) {
                        Some("internal") => Tls::Internal,
                        Some("off") => Tls::Off,
                        _ => Tls::Auto,
                    }
                }
                "auth" => match &fv.val {
                    Val::Call(n, args) if n.text == "basic_auth" && args.len() == 1 => {
                        let a = args[0].1.clone();
                        dom.basic_auth = self.secret_ref(&a);
                    }
                    _ => {
                        self.mismatch::<()>(fv, "`basic_auth(SECRET)`");
                    }
                },
                "path" => {
                    if let Some(p) = self.str(fv) {
                        // Proxies embed it in their own syntax (Traefik's PathPrefix(`...`),
                        // a Caddyfile matcher): only characters a URL path may hold as they are.
                        let plain =
                            |c: char| c.is_ascii_alphanumeric() || "-._~/%!$&'()+,;=:@".contains(c);
                        if !p.starts_with('/') {
                            self.malformed::<()>(
                                fv,
                                format!("path `{p}` does not start with `/`"),
                                "write an absolute URL path, e.g. \"/api\"",
                            );
                        } else if !p.chars().all(plain) {
                            self.malformed::<()>(
                                fv,
                                format!("path `{p}` holds characters a URL path cannot hold as they are"),
                                "use letters, digits and `-._~/`, and percent-encode anything else (a space is `%20`); wildcards are implied: a path routes everything below it",
                            );
                        } else {
                            // `/` is the whole site: the same as no path, decided here once.
                            dom.path_prefix = (p != "/").then_some(p);
                        }
                    }
                }
                _ => self.unknown_sub(&k.text, k.span, *kf, "domain", DOMAIN_FIELDS),
            }
        }
        Some(dom)
    }

    /// `svc.port.NAME`: a service and one of its declared ports.
    fn port_ref(&mut self, v: &V) -> Option<(ServiceId, PortRef)> {
        match &v.val {
            Val::Ref(sym, path)
                if self.ev.syms.list[*sym].kind == SymKind::Decl(DeclKind::Service) =>
            {
                let id = *self.service_ids.get(sym)?;
                match path.as_slice() {
                    [p, n] if p.text == "port" => {
                        let svc = &self.model.services[id];
                        if let Some(def) = svc.port(&n.text) {
                            Some((
                                id,
                                PortRef {
                                    name: def.name.clone(),
                                    number: def.port,
                                    proto: def.proto,
                                },
                            ))
                        } else {
                            let svc = svc.clone();
                            self.unknown_port(
                                &n.text,
                                Loc {
                                    file: v.loc.file,
                                    span: n.span,
                                },
                                &svc,
                            );
                            None
                        }
                    }
                    _ => {
                        let svc = &self.model.services[id];
                        let example = svc.ports.first().map_or("http", |p| p.name.as_str());
                        let name = svc.name.clone();
                        self.ev.err(
                            Diagnostic::error(
                                Code::TypeMismatch,
                                "expected a port of a service",
                                v.loc.file,
                                v.loc.span,
                            )
                            .label("which port?")
                            .help(format!("name the port: `{name}.port.{example}`")),
                        );
                        None
                    }
                }
            }
            _ => {
                let sym_opt = match &v.val {
                    Val::Ref(s, _) => Some(*s),
                    _ => None,
                };
                match sym_opt {
                    Some(s) => {
                        let v2 = V {
                            val: Val::Ref(s, Vec::new()),
                            loc: v.loc,
                        };
                        self.decl_ref(&v2, DeclKind::Service);
                    }
                    None => {
                        self.mismatch::<()>(v, "a service port `service.port.NAME`");
                    }
                }
                None
            }
        }
    }

    fn monitor(&mut self, sym: usize) -> Option<Monitor> {
        let decl = self.decl(sym);
        let f = self.fields(sym, MONITOR_FIELDS);
        let loc = self.loc_of(sym);
        let name = decl.name.text.clone();
        let Some(t) = f.get("target").cloned() else {
            self.ev.err(
                Diagnostic::error(Code::MissingField, format!("monitor `{name}` has no `target`"), loc.file, loc.span)
                    .help("write `target = \"cloud.example.org\"` (a declared domain), `target = db.port.mysql` or `target = web01`"),
            );
            return None;
        };
        let target = match &t.val {
            Val::Str(d) => match self.domain_ids.get(d) {
                Some(&i) => MonitorTarget::Domain(i),
                None => {
                    let mut dg = Diagnostic::error(
                        Code::Unresolved,
                        format!("no domain `{d}` is declared"),
                        t.loc.file,
                        t.loc.span,
                    )
                    .label("not declared");
                    dg.help = Some(
                        match did_you_mean(d, self.model.domains.iter().map(|x| x.name.as_str())) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("declare it: `domain {d} -> SERVICE.port.NAME`"),
                        },
                    );
                    self.ev.err(dg);
                    return None;
                }
            },
            Val::Ref(s, p)
                if p.is_empty() && self.ev.syms.list[*s].kind == SymKind::Decl(DeclKind::Host) =>
            {
                MonitorTarget::Host(*self.host_ids.get(s)?)
            }
            _ => {
                let (service, port) = self.port_ref(&t)?;
                MonitorTarget::Service { service, port }
            }
        };
        let mut m = Monitor {
            name,
            loc,
            target,
            probe: Probe::Https,
            interval: None,
            down_for: None,
        };
        if let Some(v) = f.get("probe") {
            m.probe = match self.variant(v, "probe", &["http", "https", "tcp", "icmp"]) {
                Some("http") => Probe::Http,
                Some("tcp") => Probe::Tcp,
                Some("icmp") => Probe::Icmp,
                _ => Probe::Https,
            };
        }
        if let Some(v) = f.get("interval") {
            m.interval = self.duration(v);
        }
        if let Some(v) = f.get("alert") {
            match &v.val {
                Val::Call(n, args) if n.text == "down_for" && args.len() == 1 => {
                    m.down_for = self.duration(&args[0].1)
                }
                _ => {
                    self.mismatch::<()>(v, "`down_for(DURATION)`");
                }
            }
        }
        Some(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn image_refs() {
        for ok in [
            "mysql",
            "mysql:8.4",
            "ghcr.io/org/app:1.2",
            "localhost:5000/x",
            "prom/node-exporter:v1.8.2",
            "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image_ref(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "MySQL:8",
            "mysql:",
            "my sql",
            "mysql:8.4:x!",
            "/mysql",
            "a@sha256:zz",
        ] {
            assert!(check_image_ref(bad).is_err(), "{bad}");
        }
    }
    #[test]
    fn domains() {
        assert!(check_domain("cloud.example.org").is_ok());
        assert!(check_domain("*.example.org").is_ok());
        assert!(check_domain("localhost").is_err());
        assert!(check_domain("-a.example.org").is_err());
        assert!(check_domain("a..org").is_err());
    }
}
