//! Between the compiler's byte offsets and the protocol's positions (line and column, the
//! column in UTF-16 code units unless the client takes UTF-8), and between file paths and
//! `file://` URIs.

use lsp_types::{Position, Range, Uri};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How the client counts columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// Line starts of one text, for converting offsets both ways.
pub struct Lines<'t> {
    text: &'t str,
    starts: Vec<usize>,
    encoding: Encoding,
}

impl<'t> Lines<'t> {
    pub fn new(text: &'t str, encoding: Encoding) -> Lines<'t> {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines {
            text,
            starts,
            encoding,
        }
    }

    /// The position of byte `offset` (clamped into the text, down to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|s| *s <= offset) - 1;
        let before = &self.text[self.starts[line]..offset];
        let character = match self.encoding {
            Encoding::Utf8 => before.len(),
            Encoding::Utf16 => before.encode_utf16().count(),
        };
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    /// The byte offset of a position; a column past the line's end is its end, a line past
    /// the text's end is the text's end.
    pub fn offset(&self, p: Position) -> usize {
        let Some(&start) = self.starts.get(p.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(p.line as usize + 1)
            .map_or(self.text.len(), |e| e - 1);
        let line = &self.text[start..end];
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= p.character as usize {
                return start + i;
            }
            units += match self.encoding {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
        }
        end
    }

    pub fn range(&self, start: usize, end: usize) -> Range {
        Range {
            start: self.position(start),
            end: self.position(end),
        }
    }
}

/// The path of a `file://` URI (percent-decoded); `None` for any other scheme.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // `file:///path` or `file://localhost/path`
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return None;
    }
    let bytes = percent_decode(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(bytes).ok().map(PathBuf::from)
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The `file://` URI of an absolute path.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let s = path.to_str()?;
    let mut out = String::from("file://");
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    Uri::from_str(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let text = "a = \"äö😀\"\nb\n";
        let l = Lines::new(text, Encoding::Utf16);
        let end_of_string = text.find("\"\n").unwrap_or(0);
        assert_eq!(l.position(end_of_string), Position::new(0, 9));
        assert_eq!(l.offset(Position::new(0, 9)), end_of_string);
        assert_eq!(l.offset(Position::new(1, 0)), text.find('b').unwrap_or(0));
        assert_eq!(l.offset(Position::new(1, 99)), text.len() - 1);
        assert_eq!(l.offset(Position::new(9, 0)), text.len());
        let l8 = Lines::new(text, Encoding::Utf8);
        assert_eq!(
            l8.position(end_of_string),
            Position::new(0, end_of_string as u32)
        );
    }

    #[test]
    fn file_uris_round_trip() {
        let p = Path::new("/tmp/a dir/ü.spark");
        let uri = path_to_uri(p).unwrap_or_else(|| panic!("no uri"));
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%C3%BC.spark");
        assert_eq!(uri_to_path(&uri).as_deref(), Some(p));
    }
}
