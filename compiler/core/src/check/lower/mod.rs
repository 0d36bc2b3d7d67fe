//! Step 2c: give every evaluated declaration its type. Each kind has a fixed set of fields,
//! each declared once in its kind's table ([`Field`]); each field a type. Values that do not
//! fit become diagnostics at the value's own span (which, for a template, is the user's
//! argument whenever the value came from one).
//!
//! One file per declaration kind (`host`, `secret`, `network` and volume, `service/` split by
//! concern, `domain`, `monitor`, `alert`, `receiver`), the value conversions (`convert`) and the checks of names
//! and literals (`validate`).

mod alert;
mod cluster;
mod config;
mod convert;
mod domain;
mod host;
mod monitor;
mod network;
mod receiver;
mod secret;
mod service;
mod validate;
mod variable;

pub use validate::{check_domain, check_image_ref, is_safe_name};

use super::SymKind;
use super::eval::{Evaluator, Rec, V};
use crate::diag::{Code, Diagnostic, did_you_mean};
use crate::model::*;
use crate::source::{FileId, Loc, Span};
use crate::syntax::ast::{self, DeclKind};
use rustc_hash::FxHashMap as HashMap;

/// One field of a declaration kind, declared once: lowering, "did you mean", the field
/// reference (`docs/fields.md`) and editor completion all read this one entry.
pub struct Field<T: 'static> {
    /// The name written in the source.
    pub name: &'static str,
    /// How it is written (`port { NAME = 8080 }`), for the reference and completion.
    pub form: &'static str,
    /// What it means, in one sentence.
    pub doc: &'static str,
    /// Lowers a written value into the declaration being built.
    lower: fn(&mut Lowerer<'_, '_>, &V, &mut T),
}

/// A field as documentation and completion see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDoc {
    pub name: &'static str,
    pub form: &'static str,
    pub doc: &'static str,
}

/// A kind's fields, with an index by name built on first use (a declaration's fields are
/// looked up once each, not compared with every entry).
pub struct FieldTable<T: 'static> {
    fields: &'static [Field<T>],
    index: std::sync::OnceLock<HashMap<&'static str, usize>>,
}

impl<T> FieldTable<T> {
    const fn new(fields: &'static [Field<T>]) -> Self {
        FieldTable {
            fields,
            index: std::sync::OnceLock::new(),
        }
    }

    fn get(&self, name: &str) -> Option<&Field<T>> {
        let index = self.index.get_or_init(|| {
            self.fields
                .iter()
                .enumerate()
                .map(|(i, f)| (f.name, i))
                .collect()
        });
        index.get(name).map(|&i| &self.fields[i])
    }

    fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields.iter().map(|f| f.name)
    }
}

fn docs<T>(table: &FieldTable<T>) -> Vec<FieldDoc> {
    table
        .fields
        .iter()
        .map(|f| FieldDoc {
            name: f.name,
            form: f.form,
            doc: f.doc,
        })
        .collect()
}

/// The fields each declaration kind takes, in table order: the one list behind lowering,
/// the reference in `docs/fields.md`, and completion.
pub fn fields_of(kind: DeclKind) -> Vec<FieldDoc> {
    match kind {
        DeclKind::Host => docs(&host::FIELDS),
        DeclKind::Cluster => docs(&cluster::FIELDS),
        DeclKind::Service => docs(&service::FIELDS),
        DeclKind::Secret => docs(&secret::FIELDS),
        DeclKind::Variable => docs(&variable::FIELDS),
        DeclKind::Config => docs(&config::FIELDS),
        DeclKind::Network => docs(&network::NETWORK_FIELDS),
        DeclKind::Volume => docs(&network::VOLUME_FIELDS),
        DeclKind::Domain => docs(&domain::FIELDS),
        DeclKind::Monitor => docs(&monitor::FIELDS),
        DeclKind::Receiver => docs(&receiver::FIELDS),
        DeclKind::Alert => docs(&alert::FIELDS),
    }
}

pub struct Lowerer<'e, 'a> {
    ev: &'e mut Evaluator<'a>,
    model: Model,
    host_ids: HashMap<usize, HostId>,
    service_ids: HashMap<usize, ServiceId>,
    secret_ids: HashMap<usize, SecretId>,
    variable_ids: HashMap<usize, VariableId>,
    config_ids: HashMap<usize, ConfigId>,
    network_ids: HashMap<usize, NetworkId>,
    /// Lowered domains by name, for monitors.
    domain_ids: HashMap<String, DomainId>,
    volume_names: HashMap<usize, String>,
    /// Secrets referenced through `.path` while lowering the current service.
    path_secrets: Vec<SecretId>,
    /// Dependencies written without a condition: (service, index in its `depends_on`).
    implicit_deps: Vec<(ServiceId, usize)>,
    /// The routes and monitors services declare, lowered after them.
    nested: Vec<service::NestedDecl>,
    /// The service being lowered.
    current_service: ServiceId,
    /// Each host's proxy configured by sparkc, once services are lowered (for domains).
    proxies: List<HostId, Option<ServiceId>>,
    /// Hosts whose proxy container runs in the host's own network namespace
    /// (`network_mode = host`): it reaches its neighbours at their published ports.
    proxy_on_host_network: List<HostId, bool>,
}

/// What orders the routes of one name: the whole site before a path, then by path, protocol,
/// TLS mode and entry points — which tell apart every two that may both stand (the others
/// are E0102) — and last where each is declared, so that of two that claim the same
/// requests the later one is reported.
fn route_order(d: &Domain) -> (Option<&str>, u8, u8, &[String], (u32, u32)) {
    (
        d.path_prefix.as_deref(),
        d.protocol as u8,
        d.tls as u8,
        &d.entrypoints,
        (d.loc.file.0, d.loc.span.start),
    )
}

/// From this many services on, they are lowered on every core.
const PARALLEL_SERVICES: usize = 512;

/// Lower services on one thread whatever their number: for the test that holds the
/// parallel lowering to the serial one (`compiler/core/tests/parallel_lowering.rs`).
#[doc(hidden)]
pub static LOWER_SERIALLY: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// What lowering a service reads besides its own declaration, shared by the threads that
/// lower services: the declarations lowered before them and every id.
struct ServiceContext<'a> {
    files: &'a [std::sync::Arc<ast::File>],
    syms: &'a super::Symbols,
    consts: HashMap<usize, V>,
    model: Model,
    host_ids: HashMap<usize, HostId>,
    service_ids: HashMap<usize, ServiceId>,
    secret_ids: HashMap<usize, SecretId>,
    variable_ids: HashMap<usize, VariableId>,
    config_ids: HashMap<usize, ConfigId>,
    network_ids: HashMap<usize, NetworkId>,
    volume_names: HashMap<usize, String>,
}

/// What one thread's share of the services came to.
struct ServicesLowered {
    services: Vec<Service>,
    diags: Vec<Diagnostic>,
    used: Vec<bool>,
    references: Vec<(Loc, usize)>,
    implicit_deps: Vec<(ServiceId, usize)>,
    nested: Vec<service::NestedDecl>,
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
            variable_ids: HashMap::default(),
            config_ids: HashMap::default(),
            network_ids: HashMap::default(),
            domain_ids: HashMap::default(),
            volume_names: HashMap::default(),
            path_secrets: Vec::new(),
            implicit_deps: Vec::new(),
            nested: Vec::new(),
            current_service: ServiceId::new(0),
            proxies: List::default(),
            proxy_on_host_network: List::default(),
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
            template: decl
                .instance
                .as_ref()
                .map(|i| i.template.text.as_str().to_owned()),
        });
    }

    fn syms_of(&self, kind: DeclKind) -> Vec<usize> {
        let mut v: Vec<usize> = (0..self.ev.syms.list.len())
            .filter(|i| {
                let s = &self.ev.syms.list[*i];
                s.kind == SymKind::Decl(kind) && !s.broken
            })
            .collect();
        let order = |a: &usize, b: &usize| {
            natural_cmp(&self.ev.syms.list[*a].name, &self.ev.syms.list[*b].name)
        };
        // Declarations are often written in order already: then one pass, not a sort.
        if !v.is_sorted_by(|a, b| order(a, b).is_le()) {
            v.sort_by(order);
        }
        v
    }

    fn decl(&self, sym: usize) -> &'a ast::Decl {
        let s = &self.ev.syms.list[sym];
        let files: &'a [std::sync::Arc<ast::File>] = self.ev.files;
        match &files[s.file.0 as usize].items[s.item] {
            ast::Item::Decl(d) => d,
            _ => unreachable_decl(),
        }
    }

    /// The declaration's fields; each one its kind's table does not know is reported (with
    /// the nearest known name).
    fn fields<T>(&mut self, sym: usize, table: &FieldTable<T>) -> Fields {
        let rec = self.ev.take_decl_record(sym);
        let kind = self.ev.syms.list[sym].kind_name();
        self.known_fields(rec, kind, table, &[])
    }

    /// A record's fields, each one `table` (or `extra`, the keys the caller reads itself)
    /// does not know reported.
    fn known_fields<T>(
        &mut self,
        rec: std::rc::Rc<Rec>,
        kind: &str,
        table: &FieldTable<T>,
        extra: &[&'static str],
    ) -> Fields {
        for (k, _, f) in rec.iter() {
            if table.get(&k.text).is_none() && !extra.contains(&k.text.as_str()) {
                let mut d = Diagnostic::error(
                    Code::UnknownField,
                    format!("a {kind} has no field `{}`", k.text),
                    *f,
                    k.span,
                )
                .label("unknown field");
                let names = || extra.iter().copied().chain(table.names());
                d.help = Some(match did_you_mean(&k.text, names()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "the fields of a {kind} are: {}",
                        names().collect::<Vec<_>>().join(", ")
                    ),
                });
                self.ev.err(d);
            }
        }
        Fields { rec }
    }

    /// Lower each written field that `which` selects through its table entry, in the order
    /// written (unknown fields were reported by [`Self::fields`]).
    fn lower_fields<T>(
        &mut self,
        f: &Fields,
        table: &FieldTable<T>,
        into: &mut T,
        which: impl Fn(&str) -> bool,
    ) {
        for (key, v, _) in f.rec.iter() {
            if !which(&key.text) {
                continue;
            }
            if let Some(field) = table.get(&key.text) {
                (field.lower)(self, v, into);
            }
        }
    }

    pub fn lower_all(&mut self) {
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
        for (i, s) in self.syms_of(DeclKind::Variable).into_iter().enumerate() {
            self.variable_ids.insert(s, VariableId::new(i));
        }
        for (i, s) in self.syms_of(DeclKind::Config).into_iter().enumerate() {
            self.config_ids.insert(s, ConfigId::new(i));
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
        for s in self.syms_of(DeclKind::Variable) {
            self.enter(s);
            let x = self.variable(s);
            self.model.variables.push(x);
        }
        for s in self.syms_of(DeclKind::Config) {
            self.enter(s);
            let x = self.config(s);
            self.model.configs.push(x);
        }
        self.ev.subject = None;
        self.check_variable_env_names();
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
        self.ev.subject = None;
        self.check_docker_names();
        let services = self.syms_of(DeclKind::Service);
        // Services are large; growing the vector by doubling would briefly hold two copies.
        self.model.services.reserve_exact(services.len());
        if services.len() < PARALLEL_SERVICES
            || LOWER_SERIALLY.load(std::sync::atomic::Ordering::Relaxed)
        {
            for (i, s) in services.into_iter().enumerate() {
                self.enter(s);
                self.current_service = ServiceId::new(i);
                let x = self.service(s);
                self.model.services.push(x);
            }
        } else {
            self.lower_services_in_parallel(&services);
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
        self.proxies = self.model.configured_proxies();
        self.proxy_on_host_network = self.proxies_on_host_network();
        self.one_proxy_per_host();
        // Domains and monitors reference services and ports.
        let mut lowered = Vec::new();
        for s in self.syms_of(DeclKind::Domain) {
            self.enter(s);
            if let Some(x) = self.domain(s) {
                lowered.push(x);
            }
        }
        lowered.extend(self.nested_domains());
        // Several routes of one name in an order of their own, not the declarations': what
        // a target derives from their order (router names, the service routers share) must
        // not change when the sources are reordered.
        lowered.sort_by(|a, b| {
            natural_cmp(&a.name, &b.name).then_with(|| route_order(a).cmp(&route_order(b)))
        });
        for x in lowered {
            if let Some(first) = self.same_route(&x) {
                let f = &self.model.domains[first];
                self.ev.err(
                        Diagnostic::error(Code::Duplicate, format!("`{}` is routed twice", x.name), x.loc.file, x.loc.span)
                            .label("the same requests again")
                            .with_secondary(f.loc.file, f.loc.span, "first routed here")
                            .help("routes to one name differ in their `path` (or protocol, or entry points): give one a `path = \"/x\"`, or remove one"),
                    );
                continue;
            }
            let name = x.name.clone();
            let id = self.model.domains.push(x);
            self.domain_ids.entry(name).or_insert(id);
        }
        for s in self.syms_of(DeclKind::Monitor) {
            self.enter(s);
            if let Some(x) = self.monitor(s) {
                self.model.monitors.push(x);
            }
        }
        for x in self.nested_monitors() {
            self.model.monitors.push(x);
        }
        for s in self.syms_of(DeclKind::Alert) {
            self.enter(s);
            if let Some(x) = self.alert(s) {
                self.model.alerts.push(x);
            }
        }
        for s in self.syms_of(DeclKind::Cluster) {
            self.enter(s);
            let x = self.cluster(s);
            self.model.clusters.push(x);
        }
        for s in self.syms_of(DeclKind::Receiver) {
            self.enter(s);
            if let Some(x) = self.receiver(s) {
                self.model.receivers.push(x);
            }
        }
        self.ev.subject = None;
        self.proxy_secrets();
        self.receiver_secrets();
        self.metrics_secrets();
    }

    fn loc_of(&self, sym: usize) -> Loc {
        let s = &self.ev.syms.list[sym];
        Loc {
            file: s.file,
            span: s.name_span,
        }
    }

    /// Lower `services` (in model order) on every core: each thread lowers a contiguous
    /// share with an evaluator of its own, and the shares are joined in order, so that the
    /// model, the diagnostics (sorted later) and the references are what one thread makes.
    fn lower_services_in_parallel(&mut self, services: &[usize]) {
        use rayon::prelude::*;
        let cx = ServiceContext {
            files: self.ev.files,
            syms: self.ev.syms,
            consts: self.ev.consts(),
            model: Model {
                hosts: self.model.hosts.clone(),
                secrets: self.model.secrets.clone(),
                variables: self.model.variables.clone(),
                configs: self.model.configs.clone(),
                networks: self.model.networks.clone(),
                volumes: self.model.volumes.clone(),
                ..Model::default()
            },
            host_ids: self.host_ids.clone(),
            service_ids: self.service_ids.clone(),
            secret_ids: self.secret_ids.clone(),
            variable_ids: self.variable_ids.clone(),
            config_ids: self.config_ids.clone(),
            network_ids: self.network_ids.clone(),
            volume_names: self.volume_names.clone(),
        };
        let share = services.len().div_ceil(rayon::current_num_threads() * 2);
        let shares: Vec<ServicesLowered> = services
            .par_chunks(share)
            .enumerate()
            .map(|(k, chunk)| {
                let mut diags = Vec::new();
                let mut ev = Evaluator::fork(cx.files, cx.syms, cx.consts.clone(), &mut diags);
                let mut lw = Lowerer {
                    ev: &mut ev,
                    model: cx.model.clone(),
                    host_ids: cx.host_ids.clone(),
                    service_ids: cx.service_ids.clone(),
                    secret_ids: cx.secret_ids.clone(),
                    variable_ids: cx.variable_ids.clone(),
                    config_ids: cx.config_ids.clone(),
                    network_ids: cx.network_ids.clone(),
                    domain_ids: HashMap::default(),
                    volume_names: cx.volume_names.clone(),
                    path_secrets: Vec::new(),
                    implicit_deps: Vec::new(),
                    nested: Vec::new(),
                    current_service: ServiceId::new(0),
                    proxies: List::default(),
                    proxy_on_host_network: List::default(),
                };
                let mut lowered = Vec::with_capacity(chunk.len());
                for (i, &s) in chunk.iter().enumerate() {
                    lw.enter(s);
                    lw.current_service = ServiceId::new(k * share + i);
                    lowered.push(lw.service(s));
                }
                let implicit_deps = std::mem::take(&mut lw.implicit_deps);
                let nested = std::mem::take(&mut lw.nested);
                let used = std::mem::take(&mut ev.used);
                let references = std::mem::take(&mut ev.references);
                drop(ev);
                ServicesLowered {
                    services: lowered,
                    diags,
                    used,
                    references,
                    implicit_deps,
                    nested,
                }
            })
            .collect();
        for share in shares {
            for x in share.services {
                self.model.services.push(x);
            }
            self.ev.diags.extend(share.diags);
            self.ev.absorb(&share.used, share.references);
            self.implicit_deps.extend(share.implicit_deps);
            self.nested.extend(share.nested);
        }
    }

    /// Where each known field was written (unknown ones are reported by `fields`).
    fn record_locs<T>(&self, f: &Fields, table: &FieldTable<T>) -> FieldLocs {
        f.rec
            .iter()
            .filter_map(|(k, v, file)| {
                let field = table.get(&k.text)?;
                Some((
                    field.name,
                    Loc {
                        file: *file,
                        span: key_value_span(k.span, v.loc, *file),
                    },
                ))
            })
            .collect()
    }

    /// A lowered route that takes the same requests as `d`: same name, path and protocol, on
    /// an entry point they share (or both on the proxy's defaults).
    fn same_route(&self, d: &Domain) -> Option<DomainId> {
        let first = *self.domain_ids.get(&d.name)?;
        // Domains are lowered in name order: the routes to one name are adjacent.
        let same_name = self
            .model
            .domains
            .iter_enumerated()
            .skip(first.index())
            .take_while(|(_, o)| o.name == d.name);
        same_name.into_iter().find_map(|(id, o)| {
            let shared = o.entrypoints.is_empty() && d.entrypoints.is_empty()
                || o.entrypoints.iter().any(|e| d.entrypoints.contains(e));
            let same_site = (o.tls == Tls::Off) == (d.tls == Tls::Off);
            (o.path_prefix == d.path_prefix && o.protocol == d.protocol && same_site && shared)
                .then_some(id)
        })
    }

    /// A host has one proxy configured by sparkc, on a host whose `proxy` it can be.
    fn one_proxy_per_host(&mut self) {
        for (sid, s) in self.model.services.iter_enumerated() {
            let (Some(p), Some(h)) = (&s.proxy, s.host) else {
                continue;
            };
            let host = &self.model.hosts[h];
            if self.proxies[h] != Some(sid) {
                let first = self.proxies[h].map_or("", |f| self.model.services[f].name.as_str());
                self.ev.err(
                    Diagnostic::error(
                        Code::BadPlacement,
                        format!("host `{}` has a second proxy: `{}`", host.name, s.name),
                        p.loc.file,
                        p.loc.span,
                    )
                    .label("`proxy { ... }` again")
                    .help(format!("`{first}` is already its proxy: a host's domains go through one; remove `proxy` from one of them"))
                    .about(s.subject()),
                );
            } else if host.proxy != Proxy::Traefik {
                let kind = match host.proxy {
                    Proxy::Caddy => "caddy",
                    _ => "none",
                };
                self.ev.err(
                    Diagnostic::error(
                        Code::BadPlacement,
                        format!("`{}` has proxy settings, but host `{}` routes through `proxy = {kind}`", s.name, host.name),
                        p.loc.file,
                        p.loc.span,
                    )
                    .label("read only by Traefik's static configuration")
                    .help(format!("set `proxy = traefik` on host `{}`, or remove `proxy {{ ... }}` from `{}` (Caddy's site blocks come from the domains)", host.name, s.name))
                    .about(s.subject()),
                );
            }
        }
    }

    /// The users file of every route with basic auth is mounted into the proxy that checks
    /// it: the host's sparkc-configured proxy, else its one Caddy or Traefik service.
    fn proxy_secrets(&mut self) {
        let proxies = self.model.proxy_containers();
        let m = &mut self.model;
        for d in &m.domains {
            let (Some(users), host) = (d.basic_auth, d.host) else {
                continue;
            };
            let kind = m.hosts.get(host).map(|h| h.proxy);
            let proxy = proxies.get(host).copied().flatten();
            match proxy {
                Some(p) if !m.services[p].secrets.contains(&users) => {
                    m.services[p].secrets.push(users);
                }
                // A proxy this description does not run cannot be given the users file: its
                // login would fail for everyone, or read whatever file is at that path.
                None if matches!(kind, Some(Proxy::Caddy | Proxy::Traefik)) => {
                    let app = if kind == Some(Proxy::Caddy) {
                        "caddy"
                    } else {
                        "traefik"
                    };
                    self.ev.err(
                        Diagnostic::error(
                            Code::BadPlacement,
                            format!(
                                "`{}` asks for a login, but host `{}` runs no {app} service that could read its users file",
                                d.name, m.hosts[host].name
                            ),
                            d.loc.file,
                            d.loc.span,
                        )
                        .label("`auth = basic_auth(...)` needs the users file mounted into the proxy")
                        .help(format!(
                            "declare the proxy on `{}` (`service {app} on {} = {app}(...)` from `std.apps`), so sparkc mounts the secret `{}` into it",
                            m.hosts[host].name, m.hosts[host].name, m.secrets[users].name
                        )),
                    );
                }
                Some(_) | None => {}
            }
        }
    }
}

fn unreachable_decl() -> ! {
    panic!("symbol table points at a non-declaration item; this is a bug in sparkc")
}
