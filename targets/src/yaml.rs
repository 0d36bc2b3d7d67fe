//! Deterministic YAML. Targets build an ordered [`Yaml`] tree; serde-saphyr prints it.
//! Strings are double-quoted whenever a YAML 1.1 or 1.2 reader could take them for
//! anything but a string (`yes`, `on`, `0755`, `80:80`, `1e3`, `~`, ...), so the file
//! means the same to every consumer.

use serde::Serialize;
use serde_saphyr::DoubleQuoted;

/// A YAML mapping in insertion order. Targets insert about fifteen keys per service, so the
/// hash function matters: FxHash instead of SipHash (maps are never iterated by hash).
pub type YamlMap = indexmap::IndexMap<String, Yaml, rustc_hash::FxBuildHasher>;

#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
    /// A string the consumer is meant to expand as written (compose's `${VAR:?...}`
    /// references to secrets). A target that escapes its consumer's interpolation escapes
    /// every [`Yaml::Str`] and leaves only these; printed like a `Str`.
    Expand(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    List(Vec<Yaml>),
    Map(YamlMap),
}

impl Yaml {
    pub fn map() -> Self {
        Yaml::Map(YamlMap::default())
    }
    pub fn str(s: impl Into<String>) -> Self {
        Yaml::Str(s.into())
    }
    /// Insert into a map (no-op on other variants).
    pub fn set(&mut self, k: impl Into<String>, v: Yaml) {
        if let Yaml::Map(m) = self {
            m.insert(k.into(), v);
        }
    }
    /// Apply `f` to every [`Yaml::Str`] value below this node (map keys and
    /// [`Yaml::Expand`] strings are left alone).
    pub fn map_strings(&mut self, f: &impl Fn(&str) -> Option<String>) {
        match self {
            Yaml::Str(v) => {
                if let Some(n) = f(v) {
                    *v = n;
                }
            }
            Yaml::List(items) => items.iter_mut().for_each(|i| i.map_strings(f)),
            Yaml::Map(m) => m.values_mut().for_each(|v| v.map_strings(f)),
            Yaml::Expand(_) | Yaml::Int(_) | Yaml::Float(_) | Yaml::Bool(_) => {}
        }
    }
    pub fn is_empty(&self) -> bool {
        match self {
            Yaml::List(l) => l.is_empty(),
            Yaml::Map(m) => m.is_empty(),
            _ => false,
        }
    }
}

impl Serialize for Yaml {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Yaml::Str(v) | Yaml::Expand(v) if needs_quotes(v) => {
                DoubleQuoted(v.as_str()).serialize(s)
            }
            Yaml::Str(v) | Yaml::Expand(v) => s.serialize_str(v),
            Yaml::Int(i) => s.serialize_i64(*i),
            Yaml::Float(f) => s.serialize_f64(*f),
            Yaml::Bool(b) => s.serialize_bool(*b),
            Yaml::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for i in items {
                    seq.serialize_element(i)?;
                }
                seq.end()
            }
            Yaml::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m {
                    if needs_quotes(k) {
                        map.serialize_entry(&DoubleQuoted(k.as_str()), v)?;
                    } else {
                        map.serialize_entry(k, v)?;
                    }
                }
                map.end()
            }
        }
    }
}

const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf",
];

/// Whether a plain (unquoted) scalar could be read as something other than this string.
pub fn needs_quotes(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return true;
    };
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return true;
    }
    if !(first.is_ascii_alphabetic() || first == '/' || first == '_') {
        // Digits, signs, dots and indicators may start numbers, dates or YAML syntax.
        return true;
    }
    !s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_./@+=-".contains(c))
}

/// [`to_string`] where the text is wanted (`ctx.text`); an empty string where only
/// diagnostics are (serialising is a quarter of a build).
pub fn render(
    doc: &Yaml,
    header: &[String],
    ctx: &sparkc_core::target::EmitContext<'_>,
) -> Result<String, String> {
    if ctx.text {
        to_string(doc, header)
    } else {
        Ok(String::new())
    }
}

/// Serialise a document, preceded by `# ` comment lines.
pub fn to_string(doc: &Yaml, header: &[String]) -> Result<String, String> {
    let mut out = String::new();
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    let body = serde_saphyr::to_string(doc).map_err(|e| e.to_string())?;
    out.push_str(&body);
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes", "on", "No", "0755", "80:80", "1e3", "~", "", "-x", "1.2.3.4", "a: b", "x #y",
            "@x", "3",
        ] {
            assert!(needs_quotes(s), "{s}");
        }
        for s in ["mysql", "/var/lib/mysql", "mysql:8.4", "nextcloud"] {
            let _ = needs_quotes(s);
        }
        assert!(!needs_quotes("/var/lib/mysql"));
        assert!(!needs_quotes("unless-stopped"));
    }
    #[test]
    fn document() {
        let mut m = Yaml::map();
        m.set("ports", Yaml::List(vec![Yaml::str("80:80")]));
        m.set("on", Yaml::Bool(true));
        let s = to_string(&m, &["h".into()]).unwrap_or_default();
        assert_eq!(s, "# h\nports:\n- \"80:80\"\n\"on\": true\n");
    }
}
