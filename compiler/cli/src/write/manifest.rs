//! `.sparkc-manifest`: the record, in the output directory, of every file sparkc wrote there
//! (path, size and content hash) and of the directories it created. It is the only thing
//! that makes a file sparkc's: a file at a generated path whose content no longer matches
//! its record was edited by hand, and a file that is not recorded is not sparkc's at all,
//! whatever its name or header says.
//!
//! A clean build (no diagnostic at all) also records what it read — this sparkc, the
//! manifest configuration and every source file, by hash — so that an unchanged
//! `sparkc build --check` answers "up to date" without compiling.
//!
//! The hash is XXH3 (64 bits, `sparkc_core::hash::content_hash`); format 1 recorded FNV-1a,
//! and a version read from it stays FNV-1a (written `fnv:HASH`) until the file is written
//! again. It detects change, it does not defend against someone who can write into the
//! output directory (they could rewrite the manifest).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub const FILE: &str = ".sparkc-manifest";
const FORMAT: &str = "sparkc-manifest 2";
/// Format 1: the same lines, every hash FNV-1a.
const FORMAT_1: &str = "sparkc-manifest 1";
/// The stamp older sparkc versions wrote; read once, as a manifest, to adopt their outputs.
pub const LEGACY_STAMP: &str = ".sparkc-stamp";
const LEGACY_FORMAT: &str = "sparkc-stamp 1 ";

pub use sparkc_core::hash::content_hash as hash;

/// Which function a recorded hash is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum HashKind {
    /// XXH3-64: everything this sparkc records.
    #[default]
    Xxh3,
    /// FNV-1a 64: what format 1 manifests and legacy stamps recorded.
    Fnv1a,
}

impl HashKind {
    pub fn of(self, bytes: &[u8]) -> u64 {
        match self {
            HashKind::Xxh3 => hash(bytes),
            HashKind::Fnv1a => sparkc_core::hash::fnv64(bytes),
        }
    }
}

/// One content sparkc wrote at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub hash: u64,
    /// Unknown only for outputs adopted from a legacy stamp.
    pub size: Option<u64>,
    pub kind: HashKind,
}

impl Version {
    pub fn of(bytes: &[u8]) -> Version {
        Version {
            hash: hash(bytes),
            size: Some(bytes.len() as u64),
            kind: HashKind::Xxh3,
        }
    }

    /// Whether `bytes` are this content (by size, where known, and hash).
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.size.is_none_or(|s| s == bytes.len() as u64) && self.kind.of(bytes) == self.hash
    }
}

/// What a clean build read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inputs {
    /// This sparkc: its version and the stdlib compiled into it.
    pub toolchain: u64,
    /// The entry and the parsed spark.toml.
    pub config: u64,
    /// Every project source file: (hash, project-relative name).
    pub sources: Vec<(u64, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// Path → the contents sparkc wrote there. More than one only while a build runs (the
    /// old and the new content are both sparkc's until every rename is done), or after a
    /// build was killed in between.
    pub outputs: BTreeMap<String, BTreeSet<Version>>,
    /// Directories sparkc created; it removes one only when it is empty and no longer used.
    pub dirs: BTreeSet<String>,
    /// The temporary directory of a build in progress (or killed), removed by the next one.
    pub tmp: Option<String>,
    pub inputs: Option<Inputs>,
}

impl Manifest {
    pub fn render(&self) -> String {
        let mut s = String::with_capacity(64 + self.outputs.len() * 80);
        s.push_str(FORMAT);
        s.push_str("\n# Written by sparkc: the files it generated here. It overwrites or removes only files\n# listed here whose content still matches. Do not edit.\n");
        if let Some(t) = &self.tmp {
            let _ = writeln!(s, "tmp {t}");
        }
        if let Some(i) = &self.inputs {
            let _ = writeln!(s, "toolchain {:016x} {:016x}", i.toolchain, i.config);
            for (h, name) in &i.sources {
                let _ = writeln!(s, "source {h:016x} {name}");
            }
        }
        for d in &self.dirs {
            let _ = writeln!(s, "dir {d}");
        }
        for (path, versions) in &self.outputs {
            for v in versions {
                let kind = match v.kind {
                    HashKind::Xxh3 => "",
                    HashKind::Fnv1a => "fnv:",
                };
                match v.size {
                    Some(n) => {
                        let _ = writeln!(s, "output {kind}{:016x} {n} {path}", v.hash);
                    }
                    None => {
                        let _ = writeln!(s, "output {kind}{:016x} - {path}", v.hash);
                    }
                }
            }
        }
        s
    }

    /// `None` when `text` is not a manifest this sparkc understands.
    pub fn parse(text: &str) -> Option<Manifest> {
        let mut lines = text.lines();
        let default_kind = match lines.next()? {
            FORMAT => HashKind::Xxh3,
            FORMAT_1 => HashKind::Fnv1a,
            _ => return None,
        };
        let mut m = Manifest::default();
        for line in lines {
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let (kind, rest) = line.split_once(' ')?;
            match kind {
                "tmp" => m.tmp = Some(rest.to_string()),
                "toolchain" => {
                    let (t, c) = rest.split_once(' ')?;
                    m.inputs = Some(Inputs {
                        toolchain: hex(t)?,
                        config: hex(c)?,
                        sources: Vec::new(),
                    });
                }
                "source" => {
                    let (h, name) = rest.split_once(' ')?;
                    m.inputs.as_mut()?.sources.push((hex(h)?, name.to_string()));
                }
                "dir" => {
                    m.dirs.insert(rest.to_string());
                }
                "output" => {
                    let (h, rest) = rest.split_once(' ')?;
                    let (kind, h) = match h.strip_prefix("fnv:") {
                        Some(h) => (HashKind::Fnv1a, h),
                        None => (default_kind, h),
                    };
                    let (size, path) = rest.split_once(' ')?;
                    let size = if size == "-" {
                        None
                    } else {
                        Some(size.parse().ok()?)
                    };
                    m.outputs
                        .entry(path.to_string())
                        .or_default()
                        .insert(Version {
                            hash: hex(h)?,
                            size,
                            kind,
                        });
                }
                _ => return None,
            }
        }
        Some(m)
    }

    /// The outputs an older sparkc recorded in its stamp (`output HASH PATH` lines).
    pub fn parse_legacy_stamp(text: &str) -> Option<Manifest> {
        let mut lines = text.lines();
        if !lines.next()?.starts_with(LEGACY_FORMAT) {
            return None;
        }
        let mut m = Manifest::default();
        for line in lines {
            let mut parts = line.splitn(3, ' ');
            if let (Some("output"), Some(h), Some(path)) =
                (parts.next(), parts.next(), parts.next())
            {
                m.outputs
                    .entry(path.to_string())
                    .or_default()
                    .insert(Version {
                        hash: hex(h)?,
                        size: None,
                        kind: HashKind::Fnv1a,
                    });
            }
        }
        Some(m)
    }
}

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Manifest::default();
        m.outputs
            .entry("compose/web/docker-compose.yml".into())
            .or_default()
            .insert(Version::of(b"x"));
        m.outputs
            .entry("compose/web/docker-compose.yml".into())
            .or_default()
            .insert(Version::of(b"y"));
        m.dirs.insert("compose".into());
        m.tmp = Some(".sparkc-tmp-00".into());
        m.inputs = Some(Inputs {
            toolchain: 1,
            config: 2,
            sources: vec![(3, "main.spark".into())],
        });
        let text = m.render();
        assert_eq!(Manifest::parse(&text), Some(m));
        assert_eq!(Manifest::parse("not a manifest"), None);
        assert_eq!(Manifest::parse(&format!("{FORMAT}\nbogus line\n")), None);
    }

    #[test]
    fn legacy_stamp() {
        let m = Manifest::parse_legacy_stamp(
            "sparkc-stamp 1 0000000000000001 0000000000000002\nsource 00000000000000ff main.spark\noutput 00000000000000aa compose/x/docker-compose.yml\n",
        );
        let m = m.unwrap_or_default();
        assert_eq!(m.outputs.len(), 1);
        assert!(m.inputs.is_none());
    }

    /// A manifest of format 1 (every hash FNV-1a) is read, and a version from it keeps its
    /// kind when written back: an older sparkc's outputs stay recognised as sparkc's.
    #[test]
    fn format_1_is_read_and_its_hashes_stay_fnv() {
        let fnv = sparkc_core::hash::fnv64(b"x");
        let text = format!("sparkc-manifest 1\noutput {fnv:016x} 1 a.yml\n");
        let m = Manifest::parse(&text).unwrap_or_default();
        let v = *m.outputs["a.yml"]
            .iter()
            .next()
            .unwrap_or(&Version::of(b""));
        assert_eq!(v.kind, HashKind::Fnv1a);
        assert!(v.matches(b"x") && !v.matches(b"y"));
        let again = Manifest::parse(&m.render()).unwrap_or_default();
        assert_eq!(again, m);
        assert!(
            m.render()
                .contains(&format!("output fnv:{fnv:016x} 1 a.yml"))
        );
    }
}
