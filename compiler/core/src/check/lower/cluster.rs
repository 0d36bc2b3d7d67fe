//! Clusters: hosts that run Kubernetes (k3s) together — its servers and agents, the secret
//! they join with, its API address and its load balancer's address pools.

use super::{Field, FieldTable, Lowerer};
use crate::check::eval::{V, Val};
use crate::diag::{Code, Diagnostic};
use crate::model::*;
use crate::syntax::ast::DeclKind;

/// The k3s release members install when the cluster names none.
pub const DEFAULT_K3S_VERSION: &str = "v1.31.4+k3s1";

/// Every field a cluster declaration may have.
pub(super) static FIELDS: FieldTable<Cluster> = FieldTable::new(&[
    Field {
        name: "servers",
        form: "servers = [conductor]",
        doc: "Its control-plane hosts (`runtime = kubernetes`); the first initialises the cluster, the others join it. An odd number keeps a quorum (W0318).",
        lower: |l, v, c| c.servers = l.hosts(v),
    },
    Field {
        name: "agents",
        form: "agents = [executor-01, executor-02]",
        doc: "Its worker hosts (`runtime = kubernetes`), which join it.",
        lower: |l, v, c| c.agents = l.hosts(v),
    },
    Field {
        name: "token",
        form: "token = k3s_token",
        doc: "The secret every member joins with: read from the environment when the members are provisioned, never written into an artifact.",
        lower: |l, v, c| c.token = l.secret_ref(v),
    },
    Field {
        name: "version",
        form: "version = \"v1.31.4+k3s1\"",
        doc: "The k3s release its members install (default v1.31.4+k3s1).",
        lower: |l, v, c| {
            if let Some(s) = l.k3s_version(v) {
                c.version = s;
            }
        },
    },
    Field {
        name: "api",
        form: "api = 192.168.1.101",
        doc: "The address its members and clients reach its API at (default: the first server's address).",
        lower: |l, v, c| c.api = l.ip(v),
    },
    Field {
        name: "pools",
        form: "pools { public = range(192.168.1.200, 192.168.1.210), internal = 192.168.1.224/28 }",
        doc: "Address pools its load balancer hands to services, by name: a range or a network; inside its members' subnet, apart from each other and from every host's address (E0317).",
        lower: |l, v, c| c.pools = l.pools(v),
    },
]);

impl Lowerer<'_, '_> {
    pub(super) fn cluster(&mut self, sym: usize) -> Cluster {
        let decl = self.decl(sym);
        let f = self.fields(sym, &FIELDS);
        let mut c = Cluster {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            doc: decl.doc.clone(),
            servers: Vec::new(),
            agents: Vec::new(),
            version: DEFAULT_K3S_VERSION.to_string(),
            token: None,
            api: None,
            pools: Vec::new(),
            field_locs: self.record_locs(&f, &FIELDS),
        };
        self.lower_fields(&f, &FIELDS, &mut c, |_| true);
        // No servers: none written, or `servers = []` (a written list whose entries were
        // refused is reported at them).
        let no_servers = match f.get("servers").map(|v| &v.val) {
            None => true,
            Some(Val::List(items)) => items.is_empty(),
            Some(_) => false,
        };
        for (field, missing) in [("servers", no_servers), ("token", f.get("token").is_none())] {
            if missing {
                self.ev.err(
                    Diagnostic::error(Code::MissingField, format!("cluster `{}` has no `{field}`", c.name), c.loc.file, c.loc.span)
                        .help("a cluster needs its control plane and the secret its members join with: `servers = [conductor]`, `token = k3s_token`"),
                );
            }
        }
        c
    }

    /// `[web01, web02]`: declared hosts.
    fn hosts(&mut self, v: &V) -> Vec<HostId> {
        let Some(items) = self.list(v) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for i in items {
            if let Some(sym) = self.decl_ref(i, DeclKind::Host)
                && let Some(&id) = self.host_ids.get(&sym)
            {
                if out.contains(&id) {
                    self.malformed::<()>(i, "a host named twice".into(), "name each host once");
                } else {
                    out.push(id);
                }
            }
        }
        out
    }

    /// `version = "v1.31.4+k3s1"`: a k3s release tag.
    fn k3s_version(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        let ok = s.starts_with('v')
            && s.len() <= 40
            && s[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
            && s[1..].starts_with(|c: char| c.is_ascii_digit());
        if ok {
            Some(s)
        } else {
            self.malformed(
                v,
                format!("`{s}` is not a k3s release"),
                "write its tag, as k3s's releases name it: `v1.31.4+k3s1`",
            )
        }
    }

    /// `pools { public = range(a, b), internal = 10.0.0.0/28 }`.
    fn pools(&mut self, v: &V) -> Vec<AddressPool> {
        let mut out = Vec::new();
        let Some(rec) = self.record(v) else {
            return out;
        };
        for (k, pv, kf) in rec {
            let loc = crate::source::Loc {
                file: *kf,
                span: super::key_value_span(k.span, pv.loc, *kf),
            };
            let range = match &pv.val {
                Val::Call(n, args) if n.text == "range" && args.len() == 2 => {
                    let (a, b) = (self.ip(&args[0].1), self.ip(&args[1].1));
                    let (Some(a), Some(b)) = (a, b) else { continue };
                    (a, b)
                }
                Val::Cidr(ip, prefix) => match cidr_range(*ip, *prefix) {
                    Some(r) => r,
                    None => continue,
                },
                _ => {
                    self.mismatch::<()>(
                        pv,
                        "an address range (`range(192.168.1.200, 192.168.1.210)`) or a network (`192.168.1.224/28`)",
                    );
                    continue;
                }
            };
            let pool = AddressPool {
                name: k.text.as_str().to_owned(),
                first: range.0,
                last: range.1,
                loc,
            };
            if pool.first.is_ipv4() != pool.last.is_ipv4() || !pool.contains(pool.last) {
                self.out_of_range::<()>(
                    pv,
                    format!("the pool runs from {} down to {}", pool.first, pool.last),
                    "write the lower address first, both of one family",
                );
                continue;
            }
            out.push(pool);
        }
        out
    }
}

/// The first and last address of a network.
fn cidr_range(ip: std::net::IpAddr, prefix: u8) -> Option<(std::net::IpAddr, std::net::IpAddr)> {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(a) => {
            let host = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let n = u32::from(a) & !host;
            Some((
                IpAddr::from(n.to_be_bytes()),
                IpAddr::from((n | host).to_be_bytes()),
            ))
        }
        IpAddr::V6(a) => {
            let host = u128::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
            let n = u128::from(a) & !host;
            Some((
                IpAddr::from(n.to_be_bytes()),
                IpAddr::from((n | host).to_be_bytes()),
            ))
        }
    }
}
