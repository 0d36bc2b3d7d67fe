//! The sparkc standard library. Each module is one `.spark` file under `std/`, named by its
//! path: `std/apps/mysql.spark` is `std.apps.mysql` and defines the template `mysql`.

include!(concat!(env!("OUT_DIR"), "/modules.rs"));

/// Source of a module, e.g. `std.apps.mysql`.
pub fn module(name: &str) -> Option<&'static str> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// All module names, sorted.
pub fn modules() -> Vec<&'static str> {
    MODULES.iter().map(|(n, _)| *n).collect()
}
