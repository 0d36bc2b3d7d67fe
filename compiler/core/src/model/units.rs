//! Units as the model's readers write them.
use std::fmt::Write as _;

/// A duration in milliseconds as `1h30m`, `45s`, `250ms` (the largest units first; what
/// Compose, Prometheus and the language itself read).
pub fn format_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    let mut rest = ms;
    for (unit, len) in [("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] {
        if rest >= len {
            let _ = write!(out, "{}{unit}", rest / len);
            rest %= len;
        }
    }
    out
}
