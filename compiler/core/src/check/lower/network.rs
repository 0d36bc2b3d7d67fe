//! Networks and named volumes.

use super::{Field, FieldTable, Lowerer};
use crate::check::eval::V;
use crate::diag::{Code, Diagnostic};
use crate::model::*;

/// Every field a network declaration may have.
pub(super) static NETWORK_FIELDS: FieldTable<Network> = FieldTable::new(&[
    Field {
        name: "internal",
        form: "internal = true",
        doc: "No route to the outside: containers on it reach only each other.",
        lower: |l, v, n| n.internal = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "driver",
        form: "driver = \"bridge\"",
        doc: "The network driver (`bridge`, `overlay`, `macvlan`).",
        lower: |l, v, n| n.driver = l.str(v),
    },
    Field {
        name: "stack",
        form: "stack = \"proxy\"",
        doc: "The stack that creates it; services of other stacks on the host join it as external.",
        lower: |l, v, n| n.stack = l.stack_name(v),
    },
    Field {
        name: "external",
        form: "external = true",
        doc: "Created outside the project (and, without `on`, expected on every host that uses it).",
        lower: |l, v, n| n.external = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "name",
        form: "name = \"traefik_proxy\"",
        doc: "The name Docker knows it by, where it is not the declared one (an existing network).",
        lower: |l, v, n| n.docker_name = l.docker_name(v),
    },
    Field {
        name: "driver_opts",
        form: "driver_opts { parent = \"eth0\" }",
        doc: "Options for the network driver, as Docker takes them.",
        lower: |l, v, n| n.driver_opts = l.text_map(v),
    },
]);

/// Every field a volume declaration may have.
pub(super) static VOLUME_FIELDS: FieldTable<Volume> = FieldTable::new(&[
    Field {
        name: "driver",
        form: "driver = \"local\"",
        doc: "The volume driver.",
        lower: |l, v, x| x.driver = l.str(v),
    },
    Field {
        name: "external",
        form: "external = true",
        doc: "Created outside the project; only used.",
        lower: |l, v, x| x.external = l.bool(v).unwrap_or(false),
    },
    Field {
        name: "name",
        form: "name = \"nextcloud_data\"",
        doc: "The name Docker knows it by (`docker volume ls`), so a port keeps the data an installation already has; without it, `<project>_<name>`.",
        lower: |l, v, x| x.docker_name = l.docker_name(v),
    },
    Field {
        name: "driver_opts",
        form: "driver_opts { type = \"nfs\", o = \"addr=10.0.0.5,rw\", device = \":/export\" }",
        doc: "Options for the volume driver, as Docker takes them (NFS, CIFS, GlusterFS).",
        lower: |l, v, x| x.driver_opts = l.text_map(v),
    },
]);

impl Lowerer<'_, '_> {
    /// A Docker object name: letters, digits, `_`, `.`, `-`, starting with a letter or digit.
    fn docker_name(&mut self, v: &V) -> Option<String> {
        let s = self.str(v)?;
        let mut chars = s.chars();
        let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
            && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if ok {
            Some(s)
        } else {
            self.malformed(
                v,
                format!("`{s}` is not a name Docker accepts"),
                "Docker names are letters, digits, `_`, `.` and `-`, starting with a letter or digit, e.g. `nextcloud_data`",
            )
        }
    }

    /// Two networks or two volumes of one host that Docker would know by one name: E0102.
    pub(super) fn check_docker_names(&mut self) {
        let mut diags = Vec::new();
        let mut seen: Vec<(Option<HostId>, &str, &str, crate::source::Loc)> = Vec::new();
        let nets = self.model.networks.iter().map(|n| {
            (
                n.host,
                "network",
                n.docker_name.as_deref().unwrap_or(&n.name),
                n.loc,
            )
        });
        let vols = self.model.volumes.iter().filter_map(|x| {
            x.docker_name
                .as_deref()
                .map(|d| (Some(x.host), "volume", d, x.loc))
        });
        for (host, kind, name, loc) in nets.chain(vols) {
            if let Some((_, _, _, first)) = seen
                .iter()
                .find(|(h, k, n, _)| *h == host && *k == kind && *n == name)
            {
                diags.push(
                    Diagnostic::error(Code::Duplicate, format!("two {kind}s are named `{name}` in Docker"), loc.file, loc.span)
                        .label(format!("Docker's {kind} `{name}`"))
                        .with_secondary(first.file, first.span, "the same name")
                        .help(format!("one Docker {kind} is one declaration: refer to the first one, or give this one another `name`")),
                );
            } else {
                seen.push((host, kind, name, loc));
            }
        }
        for d in diags {
            self.ev.err(d);
        }
    }

    pub(super) fn network(&mut self, sym: usize) -> Network {
        let decl = self.decl(sym);
        let f = self.fields(sym, &NETWORK_FIELDS);
        let mut n = Network {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            host: None,
            stack: None,
            internal: false,
            driver: None,
            driver_opts: Map::default(),
            external: false,
            docker_name: None,
        };
        self.lower_fields(&f, &NETWORK_FIELDS, &mut n, |_| true);
        // An external network exists outside sparkc, on whichever hosts use it.
        // (An unplaced network that is not external is reported here, once.)
        n.host = self.placement_host(sym, !n.external);
        n
    }

    pub(super) fn volume(&mut self, sym: usize) -> Option<Volume> {
        let decl = self.decl(sym);
        let f = self.fields(sym, &VOLUME_FIELDS);
        let host = self.placement_host(sym, true)?;
        let mut v = Volume {
            name: decl.name.text.as_str().to_owned(),
            loc: self.loc_of(sym),
            host,
            driver: None,
            driver_opts: Map::default(),
            external: false,
            docker_name: None,
        };
        self.lower_fields(&f, &VOLUME_FIELDS, &mut v, |_| true);
        Some(v)
    }
}
