//! Networks and named volumes.

use super::{Field, FieldTable, Lowerer};
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
]);

impl Lowerer<'_, '_> {
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
            external: false,
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
            external: false,
        };
        self.lower_fields(&f, &VOLUME_FIELDS, &mut v, |_| true);
        Some(v)
    }
}
