//! Step 2d: rules over the whole model — what no single declaration can know:
//! placement, dependency cycles, port conflicts, resource budgets, address uniqueness.

use crate::diag::{Code, Diagnostic};
use crate::model::reach::{join_help, unreachable};
use crate::model::*;
use crate::source::Loc;

pub fn check_model(m: &Model, diags: &mut Vec<Diagnostic>) {
    placement(m, diags);
    dependency_cycles(m, diags);
    let by_host = m.services_by_host();
    port_conflicts(m, &by_host, diags);
    resources(m, &by_host, diags);
    addresses(m, diags);
    vms(m, diags);
    clusters(m, diags);
    super::secure::check(m, diags);
    profiles(m, diags);
    proxy_reach(m, diags);
    name_reach(m, diags);
}

/// A service that names another in its environment (`DB_HOST = db`) connects to it by that
/// name, which resolves only on a network both are attached to.
fn name_reach(m: &Model, diags: &mut Vec<Diagnostic>) {
    for (sid, s) in m.services.iter_enumerated() {
        for &Connection { service: to, loc } in &s.connects_to {
            if m.reach(sid, to) != Reach::No {
                continue;
            }
            let label = format!(
                "`{}` connects to `{}` by this name",
                s.name, m.services[to].name
            );
            let help = join_help(m, sid, to, "backend");
            diags.push(unreachable(m, sid, to, loc, label, help));
        }
    }
}

/// A domain is served by its host's proxy container, which forwards to the service by name:
/// where that proxy is declared on the host, the two must share a container network
/// (otherwise every request ends in a 502 or 504) — and so must it and a forward-auth service.
fn proxy_reach(m: &Model, diags: &mut Vec<Diagnostic>) {
    let mut reported = rustc_hash::FxHashSet::default();
    let proxies = m.proxy_containers();
    for d in &m.domains {
        let hid = d.host;
        let Some(proxy) = proxies[hid] else {
            continue;
        };
        // The service it forwards to, and the one its forward auth asks about every request.
        let asked = d.forward_auth.as_ref().map(|fa| fa.service);
        let routed = d.service().map(|s| (s, false));
        for (to, asks) in routed.into_iter().chain(asked.map(|a| (a, true))) {
            if m.reach(proxy, to) != Reach::No || !reported.insert(to) {
                continue;
            }
            let label = if asks {
                format!(
                    "`{}` asks `{}` about every request to this domain",
                    m.services[proxy].name, m.services[to].name
                )
            } else {
                format!(
                    "`{}` forwards this domain to `{}`",
                    m.services[proxy].name, m.services[to].name
                )
            };
            let help = join_help(m, proxy, to, "proxy");
            diags.push(unreachable(m, proxy, to, d.loc, label, help));
        }
    }
}

/// Compose starts a service with profiles only when one of them is enabled. A service must
/// not need (`depends_on`, `network_mode = service(x)`) one that can be off while it is on.
fn profiles(m: &Model, diags: &mut Vec<Diagnostic>) {
    for s in &m.services {
        let mut needs: Vec<(&Service, Loc)> = s
            .depends_on
            .iter()
            .map(|d| (&m.services[d.service], d.loc))
            .collect();
        if let Some(NetworkMode::Service(t)) = s.network_mode {
            needs.push((&m.services[t], s.loc_of("network_mode")));
        }
        for (t, loc) in needs {
            let covered =
                !s.profiles.is_empty() && s.profiles.iter().all(|p| t.profiles.contains(p));
            if t.profiles.is_empty() || covered {
                continue;
            }
            let when = if s.profiles.is_empty() {
                "always runs".to_string()
            } else {
                format!(
                    "runs with profile {}",
                    s.profiles
                        .iter()
                        .map(|p| format!("`{p}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            diags.push(
                Diagnostic::error(
                    Code::ProfileDependency,
                    format!(
                        "`{}` {when} but needs `{}`, which runs only with profile {}",
                        s.name,
                        t.name,
                        t.profiles
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    loc.file,
                    loc.span,
                )
                .with_secondary(
                    t.loc_of("profiles").file,
                    t.loc_of("profiles").span,
                    "its profiles",
                )
                .about(s.subject())
                .help(format!(
                    "give `{}` the same profiles, or remove `{}`'s profiles",
                    s.name, t.name
                )),
            );
        }
    }
}

fn placement(m: &Model, diags: &mut Vec<Diagnostic>) {
    for s in &m.services {
        let Some(h) = s.host.and_then(|h| m.hosts.get(h)) else {
            continue;
        };
        if h.runtime == Runtime::Kubernetes && !s.external {
            // Until the kubernetes target exists, nothing would build this service: say so
            // rather than write zero files.
            diags.push(
                Diagnostic::error(Code::Unsupported, format!("the kubernetes target is not implemented yet: service `{}` would not be built", s.name), s.loc.file, s.loc.span)
                    .label(format!("placed on `{}`, a host with `runtime = kubernetes`", h.name))
                    .with_secondary(h.field_locs.get("runtime").copied().unwrap_or(h.loc).file, h.field_locs.get("runtime").copied().unwrap_or(h.loc).span, "runtime set here")
                    .help("place the service on a host with `runtime = compose` or `runtime = swarm` for now; no target writes Kubernetes manifests yet"),
            );
        }
        if h.runtime == Runtime::None && !s.external {
            diags.push(
                Diagnostic::error(Code::BadPlacement, format!("host `{}` runs no containers", h.name), s.loc.file, s.loc.span)
                    .label(format!("service `{}` is placed on it", s.name))
                    .with_secondary(h.loc.file, h.loc.span, "host declared here without a `runtime`")
                    .help(format!("give the host a runtime: `runtime = compose` (or swarm, kubernetes) in `host {}`", h.name)),
            );
        }
        for d in &s.depends_on {
            let t = &m.services[d.service];
            if t.host != s.host {
                diags.push(
                    Diagnostic::error(Code::CrossStack, format!("`{}` depends on `{}`, which runs on another host", s.name, t.name), d.loc.file, d.loc.span).about(s.subject())
                        .with_secondary(t.loc.file, t.loc.span, "declared here")
                        .help("depends_on orders containers on one host; across hosts, use a health check or retry in the application"),
                );
            } else if t.stack != s.stack {
                diags.push(
                    Diagnostic::error(Code::CrossStack, format!("`{}` depends on `{}`, which is in another stack", s.name, t.name), d.loc.file, d.loc.span).about(s.subject())
                        .with_secondary(t.loc.file, t.loc.span, "declared here")
                        .help("compose cannot order services of different projects; put both in the same `stack`"),
                );
            }
        }
        for n in &s.networks {
            let net = &m.networks[*n];
            if net.host.is_some_and(|h| Some(h) != s.host) {
                let loc = s.loc_of("networks");
                diags.push(
                    Diagnostic::error(Code::CrossStack, format!("network `{}` is on another host than `{}`", net.name, s.name), loc.file, loc.span).about(s.subject())
                        .with_secondary(net.loc.file, net.loc.span, "network declared here")
                        .help("a container network exists on one host; declare the network on this service's host"),
                );
            }
        }
        if s.network_mode.is_some() && !s.networks.is_empty() {
            let loc = s.loc_of("network_mode");
            diags.push(
                Diagnostic::error(Code::BadPlacement, "`network_mode` and `networks` exclude each other", loc.file, loc.span).about(s.subject())
                    .help("a container either joins networks or shares another network namespace; remove one"),
            );
        }
    }
    for h in &m.hosts {
        if let Some(p) = h.parent
            && !m.hosts[p].hypervisor
        {
            let loc = h.loc;
            diags.push(
                Diagnostic::error(
                    Code::BadPlacement,
                    format!(
                        "host `{}` is placed on `{}`, which is not a hypervisor",
                        h.name, m.hosts[p].name
                    ),
                    loc.file,
                    loc.span,
                )
                .with_secondary(m.hosts[p].loc.file, m.hosts[p].loc.span, "declared here")
                .help(format!(
                    "mark it: `hypervisor = proxmox` in `host {}`",
                    m.hosts[p].name
                )),
            );
        }
    }
}

fn dependency_cycles(m: &Model, diags: &mut Vec<Diagnostic>) {
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state = vec![0u8; m.services.len()];
    let mut reported = std::collections::BTreeSet::new();
    for start in m.services.ids() {
        if state[start.index()] != 0 {
            continue;
        }
        // Iterative DFS keeping the path, so deep graphs cannot overflow the stack.
        let mut stack: Vec<(ServiceId, usize)> = vec![(start, 0)];
        state[start.index()] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(dep) = m.services[node].depends_on.get(*next) {
                *next += 1;
                let t = dep.service;
                match state[t.index()] {
                    0 => {
                        state[t.index()] = 1;
                        stack.push((t, 0));
                    }
                    1 => {
                        let pos = stack.iter().position(|(n, _)| *n == t).unwrap_or(0);
                        let cycle: Vec<ServiceId> = stack[pos..].iter().map(|(n, _)| *n).collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if reported.insert(key) {
                            let names: Vec<&str> = cycle
                                .iter()
                                .chain(std::iter::once(&t))
                                .map(|i| m.services[*i].name.as_str())
                                .collect();
                            let mut d = Diagnostic::error(
                                Code::DependencyCycle,
                                format!("dependency cycle: {}", names.join(" → ")),
                                dep.loc.file,
                                dep.loc.span,
                            )
                            .label(format!(
                                "`{}` waits for `{}`",
                                m.services[node].name, m.services[t].name
                            ))
                            .about(m.services[node].subject());
                            for w in cycle.windows(2) {
                                if let Some(dd) = m.services[w[0]]
                                    .depends_on
                                    .iter()
                                    .find(|d| d.service == w[1])
                                    && dd.loc != dep.loc
                                {
                                    d = d.with_secondary(
                                        dd.loc.file,
                                        dd.loc.span,
                                        format!(
                                            "`{}` waits for `{}`",
                                            m.services[w[0]].name, m.services[w[1]].name
                                        ),
                                    );
                                }
                            }
                            diags.push(d.help("no service of a cycle can ever start; remove one of the dependencies"));
                        }
                    }
                    _ => {}
                }
            } else {
                state[node.index()] = 2;
                stack.pop();
            }
        }
    }
}

fn port_conflicts(m: &Model, by_host: &List<HostId, Vec<&Service>>, diags: &mut Vec<Diagnostic>) {
    for (h, services) in by_host.iter_enumerated() {
        let mut claims: Vec<(&Service, &Publish)> = Vec::new();
        for &s in services {
            for p in &s.publish {
                if let Some((os, op)) = claims.iter().find(|(_, q)| {
                    q.proto == p.proto
                        && q.host.0 <= p.host.1
                        && p.host.0 <= q.host.1
                        && (q.address.is_none() || p.address.is_none() || q.address == p.address)
                }) {
                    let port = p.host.0.max(op.host.0);
                    let same = std::ptr::eq(*os, s);
                    let mut d = Diagnostic::error(
                        Code::PortConflict,
                        format!(
                            "host port {port}/{} is published twice on `{}`",
                            p.proto.as_str(),
                            m.hosts[h].name
                        ),
                        p.loc.file,
                        p.loc.span,
                    )
                    .label(format!("`{}` publishes it here", s.name))
                    .about(s.subject())
                    .with_secondary(
                        op.loc.file,
                        op.loc.span,
                        if same {
                            "and here".to_string()
                        } else {
                            format!("`{}` already publishes it", os.name)
                        },
                    );
                    // A port a template published: also where the other one was declared.
                    if !same && op.loc.file != os.loc.file {
                        d = d.with_secondary(
                            os.loc.file,
                            os.loc.span,
                            format!("`{}` declared here", os.name),
                        );
                    }
                    d.help = Some(if m.hosts[h].proxy == Proxy::None {
                        "only one process can listen on a host port; publish one of them on another port".to_string()
                    } else {
                        format!(
                            "only one process can listen on a port; route through the host's {} with a `domain` instead of publishing",
                            if m.hosts[h].proxy == Proxy::Caddy {
                                "Caddy"
                            } else {
                                "Traefik"
                            }
                        )
                    });
                    diags.push(d);
                } else {
                    claims.push((s, p));
                }
            }
        }
    }
}

/// A size as the user would have written it: exact binary or decimal units when possible.
fn fmt_size(b: u64) -> String {
    const UNITS: [(&str, u64); 8] = [
        ("TiB", 1 << 40),
        ("TB", 1_000_000_000_000),
        ("GiB", 1 << 30),
        ("GB", 1_000_000_000),
        ("MiB", 1 << 20),
        ("MB", 1_000_000),
        ("KiB", 1 << 10),
        ("KB", 1000),
    ];
    for (u, n) in UNITS {
        if b >= n && b.is_multiple_of(n) {
            return format!("{}{u}", b / n);
        }
    }
    if b >= 1 << 20 {
        return format!("{:.1}MiB", b as f64 / (1u64 << 20) as f64);
    }
    format!("{b}B")
}

fn resources(m: &Model, by_host: &List<HostId, Vec<&Service>>, diags: &mut Vec<Diagnostic>) {
    for (hid, h) in m.hosts.iter_enumerated() {
        // Services: reservations must fit together, and each limit alone.
        let services = &by_host[hid];
        if let Some(mem) = h.memory {
            let reserved: Vec<&Service> = services
                .iter()
                .copied()
                .filter(|s| s.reserve_memory.is_some())
                .collect();
            let total: u64 = reserved.iter().filter_map(|s| s.reserve_memory).sum();
            if total > mem {
                let first = reserved[0];
                let loc = first.loc_of("reserve");
                let mut d = Diagnostic::error(
                    Code::OverCommitted,
                    format!(
                        "services on `{}` reserve {} of memory; the host has {}",
                        h.name,
                        fmt_size(total),
                        fmt_size(mem)
                    ),
                    loc.file,
                    loc.span,
                )
                .label(format!(
                    "`{}` reserves {}",
                    first.name,
                    fmt_size(first.reserve_memory.unwrap_or(0))
                ))
                .about(first.subject());
                for s in &reserved[1..] {
                    let l = s.loc_of("reserve");
                    d = d.with_secondary(
                        l.file,
                        l.span,
                        format!(
                            "`{}` reserves {}",
                            s.name,
                            fmt_size(s.reserve_memory.unwrap_or(0))
                        ),
                    );
                }
                let hl = h.field_locs.get("memory").copied().unwrap_or(h.loc);
                diags.push(d.with_secondary(hl.file, hl.span, "the host's memory").help("lower the reservations, move a service to another host, or give the host more memory"));
            }
            for s in services {
                if let Some(lim) = s.memory.filter(|l| *l > mem) {
                    let loc = s.loc_of("memory");
                    diags.push(
                        Diagnostic::error(
                            Code::OverCommitted,
                            format!(
                                "`{}` may use {} of memory; host `{}` has {}",
                                s.name,
                                fmt_size(lim),
                                h.name,
                                fmt_size(mem)
                            ),
                            loc.file,
                            loc.span,
                        )
                        .with_secondary(
                            h.field_locs.get("memory").copied().unwrap_or(h.loc).file,
                            h.field_locs.get("memory").copied().unwrap_or(h.loc).span,
                            "the host's memory",
                        )
                        .help("a limit above the host's memory limits nothing; lower it")
                        .about(s.subject()),
                    );
                }
            }
        }
        if let Some(cpus) = h.cpus {
            let reserved: Vec<&Service> = services
                .iter()
                .copied()
                .filter(|s| s.reserve_cpus.is_some())
                .collect();
            let total: f64 = reserved.iter().filter_map(|s| s.reserve_cpus).sum();
            if total > cpus + 1e-9 {
                let first = reserved[0];
                let loc = first.loc_of("reserve");
                let mut d = Diagnostic::error(
                    Code::OverCommitted,
                    format!(
                        "services on `{}` reserve {total} CPUs; the host has {cpus}",
                        h.name
                    ),
                    loc.file,
                    loc.span,
                )
                .about(first.subject());
                for s in &reserved[1..] {
                    let l = s.loc_of("reserve");
                    d = d.with_secondary(
                        l.file,
                        l.span,
                        format!("`{}` reserves {}", s.name, s.reserve_cpus.unwrap_or(0.0)),
                    );
                }
                diags.push(d.help("lower the reservations or move a service to another host"));
            }
        }
        // VMs on a hypervisor: their sizes must fit it.
        let vms: Vec<&Host> = m.hosts.iter().filter(|v| v.parent == Some(hid)).collect();
        if vms.is_empty() {
            continue;
        }
        for (what, have, need) in [
            (
                "memory",
                h.memory.map(|x| x as f64),
                vms.iter().filter_map(|v| v.memory).sum::<u64>() as f64,
            ),
            (
                "cpus",
                h.cpus,
                vms.iter().filter_map(|v| v.cpus).sum::<f64>(),
            ),
            (
                "disk",
                h.disk.map(|x| x as f64),
                vms.iter().filter_map(|v| v.disk).sum::<u64>() as f64,
            ),
        ] {
            let Some(have) = have else { continue };
            if need <= have + 1e-9 {
                continue;
            }
            let show = |x: f64| {
                if what == "cpus" {
                    format!("{x}")
                } else {
                    fmt_size(x as u64)
                }
            };
            let hl = h.field_locs.get(what).copied().unwrap_or(h.loc);
            let mut d = Diagnostic::error(
                Code::OverCommitted,
                format!(
                    "the VMs on `{}` need {} {what}; it has {}",
                    h.name,
                    show(need),
                    show(have)
                ),
                hl.file,
                hl.span,
            )
            .label("the hypervisor's capacity");
            for v in &vms {
                if let Some(l) = v.field_locs.get(what) {
                    d = d.with_secondary(l.file, l.span, format!("`{}`", v.name));
                }
            }
            diags.push(d.help(
                "shrink a VM, move one to another hypervisor, or correct the hypervisor's size",
            ));
        }
    }
}

fn addresses(m: &Model, diags: &mut Vec<Diagnostic>) {
    let mut first: rustc_hash::FxHashMap<std::net::IpAddr, &Host> =
        rustc_hash::FxHashMap::default();
    for h in &m.hosts {
        let Some(addr) = h.address else { continue };
        if let Some(prev) = first.get(&addr).copied() {
            let l = h.field_locs.get("address").copied().unwrap_or(h.loc);
            let pl = prev.field_locs.get("address").copied().unwrap_or(prev.loc);
            diags.push(
                Diagnostic::error(
                    Code::DuplicateAddress,
                    format!(
                        "hosts `{}` and `{}` have the same address {addr}",
                        prev.name, h.name
                    ),
                    l.file,
                    l.span,
                )
                .with_secondary(pl.file, pl.span, format!("`{}` has it already", prev.name))
                .help("every host needs its own address"),
            );
        } else {
            first.insert(addr, h);
        }
    }
}

/// A VM's plan: on a hypervisor, sized, its address and gateway inside its subnet, its id
/// its own on the hypervisor.
fn vms(m: &Model, diags: &mut Vec<Diagnostic>) {
    let at = |h: &Host, field: &str| h.field_locs.get(field).copied().unwrap_or(h.loc);
    let mut ids: rustc_hash::FxHashMap<(HostId, u32), &Host> = rustc_hash::FxHashMap::default();
    for h in &m.hosts {
        if let Some(subnet) = h.subnet {
            for (field, ip) in [("address", h.address), ("gateway", h.gateway)] {
                let Some(ip) = ip else { continue };
                let l = at(h, field);
                if !subnet.contains(ip) {
                    diags.push(
                        Diagnostic::error(
                            Code::NetworkPlan,
                            format!("{field} {ip} of `{}` is not in its subnet {subnet}", h.name),
                            l.file,
                            l.span,
                        )
                        .label("outside the subnet")
                        .with_secondary(at(h, "subnet").file, at(h, "subnet").span, "the subnet")
                        .help("correct the address, or the subnet it is on"),
                    );
                } else if subnet.is_reserved(ip) {
                    diags.push(
                        Diagnostic::error(
                            Code::NetworkPlan,
                            format!("{field} {ip} of `{}` is its subnet's network or broadcast address", h.name),
                            l.file,
                            l.span,
                        )
                        .label("no host's")
                        .help("no host can have the first or the last address of an IPv4 subnet: choose one between them"),
                    );
                }
            }
        } else if h.vm.is_some()
            && (h.address.is_some() || h.gateway.is_some())
            && h.field_locs.get("subnet").is_none()
        {
            let l = at(h, "address");
            diags.push(
                Diagnostic::error(
                    Code::MissingField,
                    format!("VM `{}` has a static address but no `subnet`", h.name),
                    l.file,
                    l.span,
                )
                .label("its prefix length?")
                .help("write the network it is on: `subnet = 192.168.1.0/24` (without `address`, it asks DHCP)"),
            );
        }
        let Some(vm) = &h.vm else { continue };
        // Its name is its hostname (and its files' directory).
        let hostname = !h.name.is_empty()
            && h.name.len() <= 63
            && h.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !h.name.starts_with('-')
            && !h.name.ends_with('-');
        if !hostname {
            diags.push(
                Diagnostic::error(
                    Code::MalformedLiteral,
                    format!("`{}` cannot be a VM's hostname", h.name),
                    h.loc.file,
                    h.loc.span,
                )
                .label("its hostname")
                .help("a hostname is lower-case letters, digits and `-` (not `_`), at most 63, neither starting nor ending with `-`"),
            );
            continue;
        }
        let Some(hv) = h.parent.filter(|&p| m.hosts[p].hypervisor) else {
            diags.push(
                Diagnostic::error(
                    Code::BadPlacement,
                    format!("`{}` has VM settings but is on no hypervisor", h.name),
                    vm.loc.file,
                    vm.loc.span,
                )
                .label("created by whom?")
                .help(format!("place it on its hypervisor: `host {} on HYPERVISOR {{ ... }}`, the hypervisor with `hypervisor = proxmox`", h.name)),
            );
            continue;
        };
        for (field, missing) in [
            ("cpus", h.cpus.is_none()),
            ("memory", h.memory.is_none()),
            ("disk", h.disk.is_none()),
        ] {
            if missing {
                diags.push(
                    Diagnostic::error(
                        Code::MissingField,
                        format!("VM `{}` has no `{field}`", h.name),
                        h.loc.file,
                        h.loc.span,
                    )
                    .label("its hypervisor sizes it")
                    .help("give the VM its size: `cpus = 2`, `memory = 4GiB`, `disk = 50GB`"),
                );
            }
        }
        if vm.id == vm.template {
            diags.push(
                Diagnostic::error(
                    Code::NetworkPlan,
                    format!("VM `{}` is to be cloned from itself", h.name),
                    vm.loc.file,
                    vm.loc.span,
                )
                .help("`clone_from` is the id of the template VM it is cloned from, `id` its own"),
            );
        }
        if let Some(prev) = ids.insert((hv, vm.id), h) {
            diags.push(
                Diagnostic::error(
                    Code::NetworkPlan,
                    format!(
                        "VMs `{}` and `{}` have the same id {} on `{}`",
                        prev.name, h.name, vm.id, m.hosts[hv].name
                    ),
                    vm.loc.file,
                    vm.loc.span,
                )
                .with_secondary(
                    prev.vm.as_ref().map_or(prev.loc.file, |v| v.loc.file),
                    prev.vm.as_ref().map_or(prev.loc.span, |v| v.loc.span),
                    format!("`{}` has it already", prev.name),
                )
                .help("every VM of a hypervisor needs its own id"),
            );
        }
    }
}

/// A cluster's members run Kubernetes, each in one cluster once; its servers are an odd
/// number; its address pools lie in its members' subnet, apart from each other and from
/// every host's address.
fn clusters(m: &Model, diags: &mut Vec<Diagnostic>) {
    let mut member_of: rustc_hash::FxHashMap<HostId, &Cluster> = rustc_hash::FxHashMap::default();
    for c in &m.clusters {
        let at = |field: &str| c.field_locs.get(field).copied().unwrap_or(c.loc);
        for hid in c.members() {
            let h = &m.hosts[hid];
            let field = if c.servers.contains(&hid) {
                "servers"
            } else {
                "agents"
            };
            if let Some(other) = member_of.insert(hid, c) {
                let l = at(field);
                let what = if std::ptr::eq(other, c) {
                    format!("`{}` is both a server and an agent of `{}`", h.name, c.name)
                } else {
                    format!(
                        "`{}` is a member of clusters `{}` and `{}`",
                        h.name, other.name, c.name
                    )
                };
                diags.push(
                    Diagnostic::error(Code::BadPlacement, what, l.file, l.span)
                        .label(format!("`{}` again", h.name))
                        .help("a host is one member of one cluster: a server or an agent"),
                );
                continue;
            }
            if h.runtime != Runtime::Kubernetes {
                let l = at(field);
                let hl = h.field_locs.get("runtime").copied().unwrap_or(h.loc);
                diags.push(
                    Diagnostic::error(
                        Code::BadPlacement,
                        format!(
                            "`{}` is a member of cluster `{}` but does not run Kubernetes",
                            h.name, c.name
                        ),
                        l.file,
                        l.span,
                    )
                    .label(format!("`{}` a member", h.name))
                    .with_secondary(hl.file, hl.span, format!("`{}`'s runtime", h.name))
                    .help(format!(
                        "set `runtime = kubernetes` on `{}`, or take it out of the cluster",
                        h.name
                    )),
                );
            }
        }
        if !c.servers.is_empty() && c.servers.len() % 2 == 0 {
            let l = at("servers");
            diags.push(
                Diagnostic::warning(
                    Code::EvenQuorum,
                    format!("cluster `{}` has {} servers", c.name, c.servers.len()),
                    l.file,
                    l.span,
                )
                .label("an even number")
                .help(format!(
                    "its datastore needs a majority of servers: {} tolerate as few failures as {}; run {} or {}",
                    c.servers.len(),
                    c.servers.len() - 1,
                    c.servers.len() - 1,
                    c.servers.len() + 1
                )),
            );
        }
        let subnet = c.servers.first().and_then(|&s| m.hosts[s].subnet);
        for (i, p) in c.pools.iter().enumerate() {
            if let Some(subnet) = subnet
                && !(subnet.contains(p.first) && subnet.contains(p.last))
            {
                diags.push(
                    Diagnostic::error(
                        Code::NetworkPlan,
                        format!(
                            "pool `{}` of cluster `{}` is not inside its members' subnet {subnet}",
                            p.name, c.name
                        ),
                        p.loc.file,
                        p.loc.span,
                    )
                    .label("outside the subnet")
                    .help("a load balancer hands out addresses of the network its nodes are on"),
                );
            }
            for q in &c.pools[..i] {
                if p.overlaps(q) {
                    diags.push(
                        Diagnostic::error(
                            Code::NetworkPlan,
                            format!("pools `{}` and `{}` of cluster `{}` overlap", q.name, p.name, c.name),
                            p.loc.file,
                            p.loc.span,
                        )
                        .label(format!("{} – {}", p.first, p.last))
                        .with_secondary(q.loc.file, q.loc.span, format!("{} – {}", q.first, q.last))
                        .help("two pools would hand out the same address to two services: make them disjoint"),
                    );
                }
            }
            for h in &m.hosts {
                if let Some(a) = h.address
                    && p.contains(a)
                {
                    let hl = h.field_locs.get("address").copied().unwrap_or(h.loc);
                    diags.push(
                        Diagnostic::error(
                            Code::NetworkPlan,
                            format!("pool `{}` of cluster `{}` holds {a}, the address of `{}`", p.name, c.name, h.name),
                            p.loc.file,
                            p.loc.span,
                        )
                        .label(format!("{} – {}", p.first, p.last))
                        .with_secondary(hl.file, hl.span, format!("`{}`'s address", h.name))
                        .help("a pool's addresses are handed to services: keep the hosts' addresses out of it"),
                    );
                }
            }
        }
    }
}
