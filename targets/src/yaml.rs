//! Deterministic YAML. A target either builds an ordered [`Yaml`] tree, which [`write()`]
//! prints, or writes entry by entry through [`MapOut`] and [`ListOut`] from a typed output
//! model of its own (compose does): block style, in one pass, into one buffer. Strings are double-quoted whenever a YAML 1.1 or 1.2
//! reader could take them for anything but a string (`yes`, `on`, `0755`, `80:80`, `1e3`,
//! `~`, ...), so the file means the same to every consumer; everything else is plain.
//! The layout is serde-saphyr's (held to it by a differential test), which printed these
//! files before: a hand-written printer of this one subset of YAML costs a fifth of it.

use std::fmt::Write as _;

/// A YAML mapping in insertion order. Targets insert about fifteen keys per service, so the
/// hash function matters: `FxHash` instead of `SipHash` (maps are never iterated by hash).
pub type YamlMap = indexmap::IndexMap<String, Yaml, rustc_hash::FxBuildHasher>;

#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Str(String),
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
    pub fn is_empty(&self) -> bool {
        match self {
            Yaml::List(l) => l.is_empty(),
            Yaml::Map(m) => m.is_empty(),
            _ => false,
        }
    }
}

const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf",
];

/// The bytes a plain scalar may hold after its first: letters, digits and `_./@+=-`.
const PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric()
            || matches!(b, b'_' | b'.' | b'/' | b'@' | b'+' | b'=' | b'-');
        c += 1;
    }
    t
};

/// Whether a plain (unquoted) scalar could be read as something other than this string.
pub fn needs_quotes(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return true;
    };
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'_') {
        // Digits, signs, dots and indicators may start numbers, dates or YAML syntax.
        return true;
    }
    if !b.iter().all(|&c| PLAIN[c as usize]) {
        return true;
    }
    // The reserved words are at most five bytes long.
    if b.len() <= 5 && RESERVED.iter().any(|r| r.eq_ignore_ascii_case(s)) {
        return true;
    }
    // Some readers drop `_` before reading a number (Go's YAML 1.1 rules: `_0o17`).
    first == b'_'
        && s.trim_start_matches('_')
            .starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
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
    let mut out = String::with_capacity(256);
    for line in header {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    write(&mut out, doc);
    Ok(out)
}

/// Print `doc` as a block-style YAML document (ending in a newline) onto `out`.
pub fn write(out: &mut String, doc: &Yaml) {
    write_doc(out, doc, Dollars::AsIs);
}

fn write_doc(out: &mut String, doc: &Yaml, dollars: Dollars) {
    match doc {
        Yaml::Map(m) if !m.is_empty() => write_map(out, m, 0, false, dollars),
        Yaml::List(l) if !l.is_empty() => write_list(out, l, 0, false, dollars),
        scalar => {
            write_scalar(out, scalar, dollars);
            out.push('\n');
        }
    }
}

/// How a value's `$` reaches the consumer. Compose interpolates `$` in every value (not in
/// keys): a file for it doubles each literal one, except in the references sparkc means it
/// to expand ([`MapOut::expand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dollars {
    AsIs,
    Doubled,
}

/// A value string, plain or quoted, its `$` doubled where the consumer interpolates.
fn write_value(out: &mut String, s: &str, dollars: Dollars) {
    if dollars == Dollars::Doubled && s.contains('$') {
        write_str(out, &s.replace('$', "$$"));
    } else {
        write_str(out, s);
    }
}

/// A mapping written entry by entry, straight into the document (block style, the layout
/// [`write()`] prints a [`Yaml`] tree in): what a target with a typed output model uses
/// instead of building a tree.
pub struct MapOut<'o> {
    out: &'o mut String,
    col: usize,
    /// The first key continues the current line (after `- `).
    inline: bool,
    dollars: Dollars,
}

impl<'o> MapOut<'o> {
    /// The top-level mapping of a document.
    pub fn document(out: &'o mut String, dollars: Dollars) -> Self {
        MapOut {
            out,
            col: 0,
            inline: false,
            dollars,
        }
    }

    fn key(&mut self, k: &str) {
        if self.inline {
            self.inline = false;
        } else {
            indent(self.out, self.col);
        }
        write_str(self.out, k);
        self.out.push(':');
    }

    /// `k: v`, a string value.
    pub fn str(&mut self, k: &str, v: &str) {
        self.key(k);
        self.out.push(' ');
        write_value(self.out, v, self.dollars);
        self.out.push('\n');
    }

    /// `k: v`, a string the consumer is meant to expand as written.
    pub fn expand(&mut self, k: &str, v: &str) {
        self.key(k);
        self.out.push(' ');
        write_str(self.out, v);
        self.out.push('\n');
    }

    pub fn int(&mut self, k: &str, v: i64) {
        self.key(k);
        self.out.push(' ');
        write_int(self.out, v);
        self.out.push('\n');
    }

    pub fn float(&mut self, k: &str, v: f64) {
        self.key(k);
        self.out.push(' ');
        write_float(self.out, v);
        self.out.push('\n');
    }

    pub fn bool(&mut self, k: &str, v: bool) {
        self.key(k);
        self.out.push_str(if v { " true\n" } else { " false\n" });
    }

    /// `k: {}`.
    pub fn empty_map(&mut self, k: &str) {
        self.key(k);
        self.out.push_str(" {}\n");
    }

    /// `k:` and a nested mapping, which must get at least one entry.
    pub fn map(&mut self, k: &str) -> MapOut<'_> {
        self.key(k);
        self.out.push('\n');
        MapOut {
            out: self.out,
            col: self.col + 2,
            inline: false,
            dollars: self.dollars,
        }
    }

    /// `k:` and a sequence, which must get at least one item.
    pub fn list(&mut self, k: &str) -> ListOut<'_> {
        self.key(k);
        self.out.push('\n');
        ListOut {
            out: self.out,
            col: self.col,
            dollars: self.dollars,
        }
    }

    /// `k:` and a list of strings (`k: []` when there are none).
    pub fn strs<'s>(&mut self, k: &str, items: impl IntoIterator<Item = &'s str>) {
        let mut items = items.into_iter().peekable();
        if items.peek().is_none() {
            self.key(k);
            self.out.push_str(" []\n");
            return;
        }
        let mut l = self.list(k);
        for i in items {
            l.str(i);
        }
    }

    /// `k:` and any value, printed as [`write()`] prints it.
    pub fn yaml(&mut self, k: &str, v: &Yaml) {
        self.key(k);
        match v {
            Yaml::Map(inner) if !inner.is_empty() => {
                self.out.push('\n');
                write_map(self.out, inner, self.col + 2, false, self.dollars);
            }
            Yaml::List(items) if !items.is_empty() => {
                self.out.push('\n');
                write_list(self.out, items, self.col, false, self.dollars);
            }
            scalar => {
                self.out.push(' ');
                write_scalar(self.out, scalar, self.dollars);
                self.out.push('\n');
            }
        }
    }
}

/// A sequence written item by item (see [`MapOut`]).
pub struct ListOut<'o> {
    out: &'o mut String,
    col: usize,
    dollars: Dollars,
}

impl ListOut<'_> {
    /// `- v`, a string item.
    pub fn str(&mut self, v: &str) {
        indent(self.out, self.col);
        self.out.push_str("- ");
        write_value(self.out, v, self.dollars);
        self.out.push('\n');
    }

    /// `- v`, a string the consumer is meant to expand as written.
    pub fn expand(&mut self, v: &str) {
        indent(self.out, self.col);
        self.out.push_str("- ");
        write_str(self.out, v);
        self.out.push('\n');
    }

    /// `- ` and a mapping item, which must get at least one entry.
    pub fn map(&mut self) -> MapOut<'_> {
        indent(self.out, self.col);
        self.out.push_str("- ");
        MapOut {
            out: self.out,
            col: self.col + 2,
            inline: true,
            dollars: self.dollars,
        }
    }
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

/// A mapping at `col`; with `inline`, its first key continues the current line (after `- `).
fn write_map(out: &mut String, m: &YamlMap, col: usize, inline: bool, dollars: Dollars) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline {
            indent(out, col);
        }
        write_str(out, k);
        out.push(':');
        match v {
            Yaml::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(out, inner, col + 2, false, dollars);
            }
            // Sequences under a key are not indented further (`key:\n- item`).
            Yaml::List(items) if !items.is_empty() => {
                out.push('\n');
                write_list(out, items, col, false, dollars);
            }
            scalar => {
                out.push(' ');
                write_scalar(out, scalar, dollars);
                out.push('\n');
            }
        }
    }
}

/// A sequence at `col`; with `inline`, its first item continues the current line.
fn write_list(out: &mut String, items: &[Yaml], col: usize, inline: bool, dollars: Dollars) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            indent(out, col);
        }
        out.push_str("- ");
        match item {
            Yaml::Map(m) if !m.is_empty() => write_map(out, m, col + 2, true, dollars),
            Yaml::List(l) if !l.is_empty() => write_list(out, l, col + 2, true, dollars),
            scalar => {
                write_scalar(out, scalar, dollars);
                out.push('\n');
            }
        }
    }
}

/// A scalar, or an empty collection (`{}`, `[]`), on the current line.
fn write_scalar(out: &mut String, v: &Yaml, dollars: Dollars) {
    match v {
        Yaml::Str(s) => write_value(out, s, dollars),
        Yaml::Int(i) => write_int(out, *i),
        Yaml::Float(f) => write_float(out, *f),
        Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Yaml::List(_) => out.push_str("[]"),
        Yaml::Map(_) => out.push_str("{}"),
    }
}

fn write_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut n = i.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or_default());
}

/// A string: plain where no reader can take it for anything else, double-quoted otherwise.
fn write_str(out: &mut String, s: &str) {
    if needs_quotes(s) {
        out.push('"');
        escape_double_quoted(out, s);
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// The contents of a double-quoted scalar: YAML's named escapes for `\\`, `"` and the control
/// characters that have one, `\xXX` / `\uXXXX` for the other non-printable ones.
fn escape_double_quoted(out: &mut String, s: &str) {
    // Most quoted strings (`"80:80"`, `"30s"`) hold nothing to escape.
    if !s
        .bytes()
        .any(|b| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f)
    {
        out.push_str(s);
        return;
    }
    for ch in s.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{FEFF}' => out.push_str("\\uFEFF"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) <= 0xFF && c.is_control() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// A float as YAML 1.1 and 1.2 both read it: always a `.` in the mantissa and a signed
/// exponent (`1.0`, `0.25`, `1.0e+20`), `.nan`, `.inf`, `-.inf`.
fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str(".nan");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { ".inf" } else { "-.inf" });
        return;
    }
    let s = format!("{f:?}");
    match s.find('e') {
        Some(e) => {
            out.push_str(&s[..e]);
            if !s[..e].contains('.') {
                out.push_str(".0");
            }
            out.push('e');
            if !s[e + 1..].starts_with('-') {
                out.push('+');
            }
            out.push_str(&s[e + 1..]);
        }
        None => out.push_str(&s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ambiguous_strings_are_quoted() {
        for s in [
            "yes", "on", "No", "0755", "80:80", "1e3", "~", "", "-x", "1.2.3.4", "a: b", "x #y",
            "@x", "3", "_0o17", "__1",
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

    /// The printer that wrote these files before, through serde: each string wrapped in
    /// `DoubleQuoted` where [`needs_quotes`] says so.
    struct BySerde<'a>(&'a Yaml);

    impl serde::Serialize for BySerde<'_> {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{SerializeMap, SerializeSeq};
            use serde_saphyr::DoubleQuoted;
            match self.0 {
                Yaml::Str(v) if needs_quotes(v) => DoubleQuoted(v.as_str()).serialize(s),
                Yaml::Str(v) => s.serialize_str(v),
                Yaml::Int(i) => s.serialize_i64(*i),
                Yaml::Float(f) => s.serialize_f64(*f),
                Yaml::Bool(b) => s.serialize_bool(*b),
                Yaml::List(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for i in items {
                        seq.serialize_element(&BySerde(i))?;
                    }
                    seq.end()
                }
                Yaml::Map(m) => {
                    let mut map = s.serialize_map(Some(m.len()))?;
                    for (k, v) in m {
                        if needs_quotes(k) {
                            map.serialize_entry(&DoubleQuoted(k.as_str()), &BySerde(v))?;
                        } else {
                            map.serialize_entry(k, &BySerde(v))?;
                        }
                    }
                    map.end()
                }
            }
        }
    }

    /// A small deterministic generator (xorshift), so the test needs no crate and every
    /// run checks the same trees.
    struct Gen(u64);
    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn string(&mut self) -> String {
            const PIECES: &[&str] = &[
                "a", "Z", "0", "9", "-", "_", ".", "/", ":", " ", "#", "@", "$", "{", "}", "[",
                "]", ",", "'", "\"", "\\", "\n", "\t", "\u{0}", "\u{7f}", "\u{85}", "é",
                "\u{2028}", "\u{feff}", "yes", "No", "on", "~", "null", "1e3", "0x1F", "0o17",
                "1_000", "12:30", ".inf", "true", "=", "+", "*", "&", "!", "|", ">", "%", "`", "?",
            ];
            let n = self.below(6) as usize;
            (0..n)
                .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
                .collect()
        }
        /// Keys: serde-saphyr decides a key's quoting itself (it ignores `DoubleQuoted`
        /// there), so the comparison uses keys both quote alike; [`needs_quotes`] decides
        /// for every key (more often than serde-saphyr did: `a#b` is quoted now).
        fn key(&mut self) -> String {
            const FIRST: &[&str] = &["a", "Z", "yes", "on", "No", "null", "/"];
            const REST: &[&str] = &["a", "Z", "0", "9", "-", "_", ".", "/"];
            let mut k = FIRST[self.below(FIRST.len() as u64) as usize].to_string();
            for _ in 0..self.below(3) {
                k.push_str(REST[self.below(REST.len() as u64) as usize]);
            }
            k
        }
        fn tree(&mut self, depth: u32) -> Yaml {
            match if depth == 0 {
                self.below(5)
            } else {
                self.below(7)
            } {
                0 | 4 => Yaml::Str(self.string()),
                1 => Yaml::Int(self.next() as i64 >> self.below(64)),
                2 => Yaml::Bool(self.below(2) == 0),
                3 => Yaml::Float(
                    [0.0, 0.25, 1.0, 2.5, -3.75, 1e20, 1e-7, 123_456.5][self.below(8) as usize],
                ),
                5 => Yaml::List((0..self.below(4)).map(|_| self.tree(depth - 1)).collect()),
                _ => {
                    let mut m = YamlMap::default();
                    for _ in 0..self.below(4) {
                        m.insert(self.key(), self.tree(depth - 1));
                    }
                    Yaml::Map(m)
                }
            }
        }
    }

    /// The hand-written printer writes exactly what serde-saphyr wrote, on every shape the
    /// targets build: maps in lists in maps, empty collections, every kind of scalar and
    /// strings of the characters quoting depends on. (It differs on purpose in one case the
    /// generator does not make: serde-saphyr folds a plain string longer than 80 characters
    /// into a `>-` block; the printer keeps it on its line.)
    #[test]
    fn the_printer_writes_what_serde_saphyr_wrote() {
        let mut g = Gen(0x9e37_79b9_7f4a_7c15);
        for i in 0..20_000 {
            let doc = match g.tree(4) {
                d @ Yaml::Map(_) => d,
                other => {
                    let mut m = Yaml::map();
                    m.set("root", other);
                    m
                }
            };
            let ours = to_string(&doc, &[]).unwrap_or_default();
            let theirs = serde_saphyr::to_string(&BySerde(&doc)).unwrap_or_default();
            let theirs = if theirs.ends_with('\n') {
                theirs
            } else {
                theirs + "\n"
            };
            assert_eq!(ours, theirs, "tree {i}: {doc:?}");
        }
    }

    /// Writes `v` under `k` through the streaming writer's own methods (not `yaml`).
    fn stream_entry(m: &mut MapOut<'_>, k: &str, v: &Yaml) {
        match v {
            Yaml::Str(s) => m.str(k, s),
            Yaml::Int(i) => m.int(k, *i),
            Yaml::Float(f) => m.float(k, *f),
            Yaml::Bool(b) => m.bool(k, *b),
            Yaml::Map(inner) if inner.is_empty() => m.empty_map(k),
            Yaml::Map(inner) => {
                let mut child = m.map(k);
                for (ck, cv) in inner {
                    stream_entry(&mut child, ck, cv);
                }
            }
            Yaml::List(items) if items.iter().all(|i| matches!(i, Yaml::Str(_))) => {
                m.strs(
                    k,
                    items.iter().map(|i| match i {
                        Yaml::Str(s) => s.as_str(),
                        _ => "",
                    }),
                );
            }
            Yaml::List(items) => {
                let mut l = m.list(k);
                for i in items {
                    match i {
                        Yaml::Str(s) => l.str(s),
                        Yaml::Map(im) if !im.is_empty() => {
                            let mut child = l.map();
                            for (ck, cv) in im {
                                stream_entry(&mut child, ck, cv);
                            }
                        }
                        // Other items go through the tree printer inside a one-key map.
                        other => {
                            let mut child = l.map();
                            child.yaml("x", other);
                        }
                    }
                }
            }
        }
    }

    /// The streaming writer (what the compose target's typed model writes through) lays a
    /// document out exactly as the tree printer does, `$` doubling aside.
    #[test]
    fn the_streaming_writer_lays_out_as_the_tree_printer() {
        let mut g = Gen(0x2545_f491_4f6c_dd1d);
        let mut compared = 0;
        for _ in 0..20_000 {
            let Yaml::Map(m) = g.tree(4) else { continue };
            // Items that are neither strings nor maps are written through `yaml` above;
            // keep the documents where every list item is one of those two.
            fn streamable(v: &Yaml) -> bool {
                match v {
                    Yaml::List(items) => items.iter().all(|i| {
                        matches!(i, Yaml::Str(_))
                            || matches!(i, Yaml::Map(im) if !im.is_empty() && streamable(i))
                    }),
                    Yaml::Map(m) => m.values().all(streamable),
                    _ => true,
                }
            }
            let doc = Yaml::Map(m.clone());
            if !streamable(&doc) {
                continue;
            }
            let mut streamed = String::new();
            {
                let mut w = MapOut::document(&mut streamed, Dollars::AsIs);
                if m.is_empty() {
                    continue;
                }
                for (k, v) in &m {
                    stream_entry(&mut w, k, v);
                }
            }
            let mut printed = String::new();
            write(&mut printed, &doc);
            assert_eq!(streamed, printed, "{doc:?}");
            compared += 1;
        }
        assert!(compared > 1000, "only {compared} documents compared");
    }

    #[test]
    fn dollars_are_doubled_in_values_only_and_not_in_expansions() {
        let mut out = String::new();
        let mut w = MapOut::document(&mut out, Dollars::Doubled);
        w.str("price$", "$5");
        w.expand("secret", "${TOKEN:?not set}");
        w.strs("list", ["a$b"]);
        assert_eq!(
            out,
            "\"price$\": \"$$5\"\nsecret: \"${TOKEN:?not set}\"\nlist:\n- \"a$$b\"\n"
        );
    }
}
