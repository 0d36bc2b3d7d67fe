//! A Wadler-style pretty printer (the algorithm of prettier, Gleam's and typstyle's
//! formatters, reduced to what sparkc's layout needs): a document of text, line breaks that
//! are spaces when their group fits on the line, and groups that break as a whole.

/// A document to lay out.
#[derive(Debug, Clone)]
pub enum Doc {
    /// Text without newlines (comments and `"""` strings may hold some: they are printed
    /// as they are, and the group around them breaks).
    Text(String),
    /// A space when the enclosing group is flat, a newline when it breaks.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// A space when flat; when broken, a space if what follows it (up to its next break) fits
    /// on the line, else a newline: elements filled into lines like words in a paragraph.
    FillLine,
    /// Always a newline; the enclosing groups break.
    HardLine,
    /// A line with nothing on it (a kept blank line); the enclosing groups break.
    BlankLine,
    /// Text printed only when the enclosing group breaks (a trailing comma).
    IfBroken(&'static str),
    /// Text printed only when the enclosing group is flat (a separator a line break replaces).
    IfFlat(&'static str),
    /// Text printed at the end of the current line, before its newline (a trailing
    /// comment); the enclosing groups break.
    LineSuffix(String),
    /// One more level of indentation for the lines inside.
    Nest(Box<Doc>),
    /// Laid out flat when it fits, broken otherwise.
    Group(Box<Doc>),
    Concat(Vec<Doc>),
}

pub const INDENT: usize = 2;
pub const WIDTH: usize = 100;

impl Doc {
    pub fn text(s: impl Into<String>) -> Doc {
        Doc::Text(s.into())
    }
    pub fn nest(d: Doc) -> Doc {
        Doc::Nest(Box::new(d))
    }
    pub fn group(d: Doc) -> Doc {
        Doc::Group(Box::new(d))
    }

    /// Whether laying this out flat is impossible (it holds a forced break).
    fn forces_break(&self) -> bool {
        match self {
            Doc::HardLine | Doc::BlankLine | Doc::LineSuffix(_) => true,
            Doc::Text(t) => t.contains('\n'),
            Doc::Line | Doc::SoftLine | Doc::FillLine | Doc::IfBroken(_) | Doc::IfFlat(_) => false,
            Doc::Nest(d) | Doc::Group(d) => d.forces_break(),
            Doc::Concat(ds) => ds.iter().any(Doc::forces_break),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Flat,
    Break,
}

/// Lays `doc` out in [`WIDTH`] columns. Lines carry no trailing whitespace (but for the
/// last, which is the caller's).
pub fn print(doc: &Doc) -> String {
    let mut out = String::new();
    let mut suffix: Vec<String> = Vec::new();
    let mut column = 0usize;
    let mut stack: Vec<(usize, Mode, &Doc)> = vec![(0, Mode::Break, doc)];
    let newline = |out: &mut String, suffix: &mut Vec<String>, indent: usize, blank: bool| {
        for s in suffix.drain(..) {
            out.push_str(&s);
        }
        trim_trailing_spaces(out);
        out.push('\n');
        if blank {
            out.push('\n');
        }
        out.extend(std::iter::repeat_n(' ', indent));
        indent
    };
    while let Some((indent, mode, d)) = stack.pop() {
        match d {
            Doc::Text(t) => {
                out.push_str(t);
                column = match t.rfind('\n') {
                    Some(n) => t.len() - n - 1,
                    None => column + t.chars().count(),
                };
            }
            Doc::FillLine
                if mode == Mode::Flat
                    || stack.last().is_some_and(|(_, _, next)| {
                        fits(WIDTH.saturating_sub(column + 1), next, &[])
                    }) =>
            {
                out.push(' ');
                column += 1;
            }
            Doc::Line if mode == Mode::Flat => {
                out.push(' ');
                column += 1;
            }
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::FillLine | Doc::HardLine => {
                column = newline(&mut out, &mut suffix, indent, false);
            }
            Doc::BlankLine => {
                column = newline(&mut out, &mut suffix, indent, true);
            }
            Doc::IfBroken(t) => {
                if mode == Mode::Break {
                    out.push_str(t);
                    column += t.len();
                }
            }
            Doc::IfFlat(t) => {
                if mode == Mode::Flat {
                    out.push_str(t);
                    column += t.len();
                }
            }
            Doc::LineSuffix(t) => suffix.push(t.clone()),
            Doc::Nest(inner) => stack.push((indent + INDENT, mode, inner)),
            Doc::Group(inner) => {
                let flat = mode == Mode::Flat
                    || (!inner.forces_break() && fits(WIDTH.saturating_sub(column), inner, &stack));
                stack.push((indent, if flat { Mode::Flat } else { Mode::Break }, inner));
            }
            Doc::Concat(ds) => {
                for d in ds.iter().rev() {
                    stack.push((indent, mode, d));
                }
            }
        }
    }
    for s in suffix.drain(..) {
        out.push_str(&s);
    }
    out
}

fn trim_trailing_spaces(out: &mut String) {
    let kept = out.trim_end_matches(' ').len();
    out.truncate(kept);
}

/// Whether `doc` laid out flat, and what follows it up to the next line break, fit in
/// `width` columns.
fn fits(width: usize, doc: &Doc, rest: &[(usize, Mode, &Doc)]) -> bool {
    let mut left = width as isize;
    let mut todo: Vec<(Mode, &Doc)> = vec![(Mode::Flat, doc)];
    let mut rest = rest.iter().rev();
    loop {
        let Some((mode, d)) = todo.pop().or_else(|| rest.next().map(|(_, m, d)| (*m, *d))) else {
            return true;
        };
        match d {
            Doc::Text(t) => left -= t.chars().count() as isize,
            Doc::Line | Doc::SoftLine | Doc::FillLine if mode == Mode::Break => return true,
            Doc::HardLine | Doc::BlankLine => return true,
            Doc::Line | Doc::FillLine => left -= 1,
            Doc::SoftLine | Doc::LineSuffix(_) => {}
            Doc::IfBroken(t) => {
                if mode == Mode::Break {
                    left -= t.len() as isize;
                }
            }
            Doc::IfFlat(t) => {
                if mode == Mode::Flat {
                    left -= t.len() as isize;
                }
            }
            Doc::Nest(inner) => todo.push((mode, inner)),
            // A group after this one is measured flat: if it breaks, its first line ends
            // at its first break anyway.
            Doc::Group(inner) => todo.push((Mode::Flat, inner)),
            Doc::Concat(ds) => todo.extend(ds.iter().rev().map(|d| (mode, d))),
        }
        if left < 0 {
            return false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Doc {
        let mut inner = vec![Doc::SoftLine];
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                inner.push(Doc::text(","));
                inner.push(Doc::Line);
            }
            inner.push(Doc::text(*it));
        }
        inner.push(Doc::IfBroken(","));
        Doc::group(Doc::Concat(vec![
            Doc::text("["),
            Doc::nest(Doc::Concat(inner)),
            Doc::SoftLine,
            Doc::text("]"),
        ]))
    }

    #[test]
    fn a_group_that_fits_stays_flat() {
        assert_eq!(print(&list(&["a", "b"])), "[a, b]");
    }

    #[test]
    fn a_group_that_does_not_fit_breaks_with_a_trailing_comma() {
        let long = "x".repeat(60);
        assert_eq!(
            print(&list(&[&long, &long])),
            format!("[\n  {long},\n  {long},\n]")
        );
    }

    #[test]
    fn a_trailing_comment_breaks_its_group_and_ends_its_line() {
        let d = Doc::group(Doc::Concat(vec![
            Doc::text("["),
            Doc::nest(Doc::Concat(vec![
                Doc::SoftLine,
                Doc::text("a"),
                Doc::text(","),
                Doc::LineSuffix(" // first".into()),
                Doc::Line,
                Doc::text("b"),
            ])),
            Doc::SoftLine,
            Doc::text("]"),
        ]));
        assert_eq!(print(&d), "[\n  a, // first\n  b\n]");
    }
}
