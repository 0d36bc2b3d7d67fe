//! Parsing a changed file again without parsing all of it: the items before the change and
//! the items after it are taken from the previous parse (the latter with their spans moved),
//! and only the items around the change are parsed. An editor's keystroke in a 300 KB file
//! then costs the parse of a few lines. The result is the whole parse's, exactly — held by a
//! differential test over random edits of every example and fixture — and where that cannot
//! be guaranteed cheaply (the old or the new text has a syntax error, nesting, an edit
//! touching the first two items or the last), [`reparse`] declines and the caller parses the whole.

use super::ast::*;
use super::parser::{parse_range, too_deep};
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};

/// The items of `new`, from the parse of `old` (`old_file`, without diagnostics): `None`
/// when the caller must parse the whole text.
pub fn reparse(
    file_id: FileId,
    old: &str,
    old_file: &File,
    new: &str,
) -> Option<(File, Vec<Diagnostic>)> {
    let items = &old_file.items;
    if items.len() < 3 || old == new {
        return None;
    }
    // The unchanged prefix and suffix, on character boundaries.
    let mut p = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !(old.is_char_boundary(p) && new.is_char_boundary(p)) {
        p -= 1;
    }
    let max_q = old.len().min(new.len()) - p;
    let mut q = old
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take(max_q)
        .take_while(|(a, b)| a == b)
        .count();
    while !(old.is_char_boundary(old.len() - q) && new.is_char_boundary(new.len() - q)) {
        q -= 1;
    }
    let delta = new.len() as i64 - old.len() as i64;
    let start_of = |i: usize| items[i].span().start as usize;
    // The item the change starts in (or after), and one more before it: the item before
    // the window may look ahead into the window's first token, which must be unchanged.
    let k = items.iter().rposition(|i| i.span().start as usize <= p)?;
    // Not from the first item: what comes before it (comments, blank lines at the start of
    // the file) is recorded by a parse that starts at 0, not by one that starts at an item.
    let first = k.checked_sub(1).filter(|f| *f > 0)?;
    // The first item after the change whose start, and the line above it (its doc comment
    // is read from there), lie in the unchanged suffix; one more after it, for the same
    // look-ahead reason.
    let suffix_from = old.len() - q;
    let m = (k + 1..items.len()).find(|&i| {
        let s = start_of(i);
        let line_above = old[..s].trim_end_matches([' ', '\t']);
        let line_above = line_above.strip_suffix('\n').unwrap_or(line_above);
        let above = line_above.rfind('\n').map_or(0, |n| n + 1);
        above >= suffix_from
    })?;
    let last = m + 1;
    if last >= items.len() {
        return None;
    }
    let window_start = start_of(first);
    let window_end_old = start_of(last);
    let window_end = (window_end_old as i64 + delta) as usize;
    if window_end <= window_start || !new.is_char_boundary(window_end) {
        return None;
    }
    if too_deep(&new[window_start..window_end]).is_some() {
        return None;
    }
    let (window, diags) = parse_range(file_id, new, window_start, window_end);
    if !diags.is_empty() || window.items.iter().any(|i| matches!(i, Item::Error(_))) {
        return None;
    }
    let mut out = File {
        items: Vec::with_capacity(items.len()),
        trivia: Vec::with_capacity(old_file.trivia.len() + 8),
    };
    out.items.extend(items[..first].iter().cloned());
    out.items.extend(window.items);
    for item in &items[last..] {
        let mut it = item.clone();
        shift_item(&mut it, delta);
        out.items.push(it);
    }
    out.trivia.extend(
        old_file
            .trivia
            .iter()
            .filter(|t| (t.span.end as usize) <= window_start)
            .copied(),
    );
    out.trivia.extend(window.trivia);
    out.trivia.extend(
        old_file
            .trivia
            .iter()
            .filter(|t| (t.span.start as usize) >= window_end_old)
            .map(|t| Trivia {
                kind: t.kind,
                span: moved(t.span, delta),
            }),
    );
    Some((out, Vec::new()))
}

fn moved(s: Span, delta: i64) -> Span {
    Span {
        start: (i64::from(s.start) + delta) as u32,
        end: (i64::from(s.end) + delta) as u32,
    }
}

fn shift_name(n: &mut Name, d: i64) {
    n.span = moved(n.span, d);
}

fn shift_expr(e: &mut Expr, d: i64) {
    e.span = moved(e.span, d);
    match &mut e.kind {
        ExprKind::Str(parts) => {
            for p in parts {
                if let StrPart::Interp(x) = p {
                    shift_expr(x, d);
                }
            }
        }
        ExprKind::List(xs) => xs.iter_mut().for_each(|x| shift_expr(x, d)),
        ExprKind::Record(fs) => fs.iter_mut().for_each(|f| shift_field(f, d)),
        ExprKind::Call(n, args) => {
            shift_name(n, d);
            for a in args.iter_mut() {
                shift_arg(a, d);
            }
        }
        ExprKind::Path(ns) => ns.iter_mut().for_each(|n| shift_name(n, d)),
        ExprKind::Pair(a, b) => {
            shift_expr(a, d);
            shift_expr(b, d);
        }
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Size(_)
        | ExprKind::Duration(_)
        | ExprKind::Port(..)
        | ExprKind::PortRange(..)
        | ExprKind::Ip(_)
        | ExprKind::IpPort(..)
        | ExprKind::Cidr(..)
        | ExprKind::Error => {}
    }
}

fn shift_field(f: &mut Field, d: i64) {
    f.span = moved(f.span, d);
    shift_name(&mut f.key, d);
    shift_expr(&mut f.value, d);
}

fn shift_arg(a: &mut Arg, d: i64) {
    if let Some(n) = &mut a.name {
        shift_name(n, d);
    }
    shift_expr(&mut a.value, d);
}

fn shift_instance(i: &mut Instance, d: i64) {
    i.span = moved(i.span, d);
    shift_name(&mut i.template, d);
    for a in &mut i.args {
        shift_arg(a, d);
    }
}

fn shift_type(t: &mut TypeExpr, d: i64) {
    match t {
        TypeExpr::Named(n) => shift_name(n, d),
        TypeExpr::List(inner, s) => {
            *s = moved(*s, d);
            shift_type(inner, d);
        }
    }
}

/// Every span of `item` moved by `d` bytes.
fn shift_item(item: &mut Item, d: i64) {
    match item {
        Item::Import(i) => {
            i.span = moved(i.span, d);
            match &mut i.target {
                ImportTarget::File { span, .. } => *span = moved(*span, d),
                ImportTarget::Std { module, names } => {
                    shift_name(module, d);
                    for n in names.iter_mut() {
                        shift_name(n, d);
                    }
                }
            }
        }
        Item::Const(c) => {
            c.span = moved(c.span, d);
            shift_name(&mut c.name, d);
            shift_expr(&mut c.value, d);
        }
        Item::Template(t) => {
            t.span = moved(t.span, d);
            shift_name(&mut t.name, d);
            shift_name(&mut t.kind, d);
            for p in &mut t.params {
                shift_name(&mut p.name, d);
                shift_type(&mut p.ty, d);
                if let Some(x) = &mut p.default {
                    shift_expr(x, d);
                }
            }
            if let Some(b) = &mut t.base {
                shift_instance(b, d);
            }
            for f in &mut t.body {
                shift_field(f, d);
            }
        }
        Item::Decl(x) => {
            // Every field named, so that a new one with a span cannot be missed here.
            let Decl {
                kind: _,
                name,
                placement,
                instance,
                route,
                name_expr,
                source,
                default,
                body,
                span,
                doc: _,
            } = x;
            *span = moved(*span, d);
            shift_name(name, d);
            if let Some(n) = placement {
                shift_name(n, d);
            }
            if let Some(i) = instance {
                shift_instance(i, d);
            }
            if let Some(r) = route {
                shift_expr(r, d);
            }
            for e in [name_expr, default].into_iter().flatten() {
                shift_expr(e, d);
            }
            if let Some((n, _, s)) = source {
                shift_name(n, d);
                *s = moved(*s, d);
            }
            for f in body {
                shift_field(f, d);
            }
        }
        Item::Error(e) => {
            e.span = moved(e.span, d);
            if let Some(decl) = &mut e.declares {
                shift_name(&mut decl.name, d);
            }
        }
    }
}
