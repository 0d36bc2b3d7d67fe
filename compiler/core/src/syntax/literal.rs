//! What literals mean, shared by the parser and the grammar's oracle so that both build the
//! very same tree: numbers, sizes, durations, ports, addresses, string escapes and the
//! dedenting of `"""` strings, doc comments, and the nesting bound.

use super::ast::*;
use crate::diag::Code;

/// A literal whose text matched the grammar but whose value is out of range or malformed.
#[derive(Debug, Clone, PartialEq)]
pub struct LitError {
    pub code: Code,
    pub message: String,
    pub help: &'static str,
}

fn malformed(message: impl Into<String>, help: &'static str) -> LitError {
    LitError {
        code: Code::MalformedLiteral,
        message: message.into(),
        help,
    }
}

/// The grammar's number-like literals, by the rule that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Number {
    Int,
    Float,
    Size,
    Duration,
    PortProto,
    PortRange,
    Ipv4,
    Ipv6,
    Cidr4,
    IpPort,
}

/// The value of a literal `s` that matched rule `kind`.
pub fn number(kind: Number, s: &str) -> Result<ExprKind, LitError> {
    match kind {
        Number::Int => s
            .parse::<i64>()
            .map(ExprKind::Int)
            .map_err(|_| malformed("integer is too large", "integers must fit in 64 bits")),
        Number::Float => match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(ExprKind::Float(v)),
            _ => Err(malformed("number is too large", "write a smaller number")),
        },
        Number::Size => size(s),
        Number::Duration => duration(s),
        Number::PortProto => {
            let (num, proto) = s.split_once('/').unwrap_or((s, "tcp"));
            num.parse::<u32>()
                .map(|n| ExprKind::Port(n, parse_proto(proto)))
                .map_err(|_| malformed("port number is too large", "ports are 1..65535"))
        }
        Number::PortRange => {
            let (range, proto) = s.split_once('/').unwrap_or((s, "tcp"));
            let (a, b) = range.split_once('-').unwrap_or((range, range));
            match (a.parse::<u32>(), b.parse::<u32>()) {
                (Ok(a), Ok(b)) => Ok(ExprKind::PortRange(a, b, parse_proto(proto))),
                _ => Err(malformed("port number is too large", "ports are 1..65535")),
            }
        }
        Number::Ipv4 => s
            .parse::<std::net::Ipv4Addr>()
            .map(|ip| ExprKind::Ip(ip.into()))
            .map_err(|_| {
                malformed(
                    format!("`{s}` is not an IPv4 address"),
                    "an IPv4 address is four numbers 0..255 separated by dots, e.g. 192.168.1.10",
                )
            }),
        Number::Ipv6 => cidr_or_ip(s, true),
        Number::IpPort => {
            let (ip, port) = s.split_once(':').unwrap_or((s, ""));
            match (ip.parse::<std::net::Ipv4Addr>(), port.parse::<u32>()) {
                (Ok(ip), Ok(p)) => Ok(ExprKind::IpPort(ip.into(), p)),
                (Err(_), _) => Err(malformed(
                    format!("`{ip}` is not an IPv4 address"),
                    "an IPv4 address is four numbers 0..255 separated by dots, e.g. 127.0.0.1:9000",
                )),
                (_, Err(_)) => Err(malformed("port number is too large", "ports are 1..65535")),
            }
        }
        Number::Cidr4 => cidr_or_ip(s, false),
    }
}

fn parse_proto(s: &str) -> Proto {
    if s == "udp" { Proto::Udp } else { Proto::Tcp }
}

fn cidr_or_ip(s: &str, v6: bool) -> Result<ExprKind, LitError> {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let ip: Option<std::net::IpAddr> = if v6 {
        addr.parse::<std::net::Ipv6Addr>().ok().map(Into::into)
    } else {
        addr.parse::<std::net::Ipv4Addr>().ok().map(Into::into)
    };
    let max = if v6 { 128 } else { 32 };
    match (ip, prefix) {
        (Some(ip), None) => Ok(ExprKind::Ip(ip)),
        (Some(ip), Some(p)) => match p.parse::<u8>() {
            Ok(p) if p <= max => Ok(ExprKind::Cidr(ip, p)),
            _ => Err(malformed(
                format!("`{s}` has an invalid prefix length"),
                if v6 {
                    "an IPv6 prefix is 0..128"
                } else {
                    "an IPv4 prefix is 0..32, e.g. 10.0.0.0/8"
                },
            )),
        },
        (None, _) => Err(malformed(
            format!(
                "`{s}` is not an {} address",
                if v6 { "IPv6" } else { "IPv4" }
            ),
            if v6 {
                "an IPv6 address is up to eight groups of hex digits separated by `:`, e.g. 2001:db8::1"
            } else {
                "an IPv4 address is four numbers 0..255 separated by dots, e.g. 10.0.0.0/8"
            },
        )),
    }
}

fn size(s: &str) -> Result<ExprKind, LitError> {
    if s.starts_with('-') {
        return Err(LitError {
            code: Code::OutOfRange,
            message: "a size cannot be negative".into(),
            help: "sizes are 0 or more, e.g. 512MiB",
        });
    }
    let split = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let mult: u64 = match unit {
        "B" => 1,
        "KB" => 1000,
        "MB" => 1000u64.pow(2),
        "GB" => 1000u64.pow(3),
        "TB" => 1000u64.pow(4),
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => 1 << 40,
    };
    let bytes = if let Some((int, frac)) = num.split_once('.') {
        let v: f64 = format!("{int}.{frac}").parse().unwrap_or(f64::INFINITY);
        let b = v * mult as f64;
        if b.is_finite() && b < u64::MAX as f64 {
            Some(b.round() as u64)
        } else {
            None
        }
    } else {
        num.parse::<u64>().ok().and_then(|n| n.checked_mul(mult))
    };
    bytes
        .map(ExprKind::Size)
        .ok_or_else(|| malformed("size is too large", "sizes must be below 16 EiB"))
}

fn duration(s: &str) -> Result<ExprKind, LitError> {
    if s.starts_with('-') {
        return Err(LitError {
            code: Code::OutOfRange,
            message: "a duration cannot be negative".into(),
            help: "durations are 0 or more, e.g. 30s",
        });
    }
    let too_large = || malformed("duration is too large", "write a smaller duration");
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    let mut last_rank = u8::MAX;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let (unit, rank) = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                (1, 0)
            }
            's' => (1000, 1),
            'm' => (60_000, 2),
            'h' => (3_600_000, 3),
            _ => (86_400_000, 4),
        };
        if rank >= last_rank {
            return Err(malformed(
                format!("`{s}` repeats or misorders its units"),
                "write units from largest to smallest, each once, e.g. 1h30m",
            ));
        }
        last_rank = rank;
        let v = num
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(unit))
            .ok_or_else(too_large)?;
        total = total.checked_add(v).ok_or_else(too_large)?;
        num.clear();
    }
    Ok(ExprKind::Duration(total))
}

/// The character an escape (`\n`, as written, backslash included) stands for.
pub fn unescape(s: &str) -> Option<char> {
    Some(match s.chars().nth(1)? {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        '\\' => '\\',
        '"' => '"',
        '$' => '$',
        _ => return None,
    })
}

/// The diagnostic of an unknown escape `s`.
pub fn unknown_escape(s: &str) -> LitError {
    malformed(
        format!("unknown escape `{s}`"),
        "known escapes: \\n \\t \\r \\\\ \\\" \\$",
    )
}

pub fn push_text(parts: &mut Vec<StrPart>, c: char) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push(c);
    } else {
        parts.push(StrPart::Text(c.to_string()));
    }
}

pub fn push_text_str(parts: &mut Vec<StrPart>, s: &str) {
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        t.push_str(s);
    } else {
        parts.push(StrPart::Text(s.to_string()));
    }
}

/// `"""` strings: drop the first newline and the common indentation, so they can be
/// indented with the surrounding code.
pub fn dedent(parts: &mut [StrPart]) {
    let mut text = String::new();
    for p in parts.iter() {
        match p {
            StrPart::Text(t) => text.push_str(t),
            StrPart::Interp(_) => text.push('x'),
        }
    }
    let indent = text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut at_line_start = false;
    for (i, p) in parts.iter_mut().enumerate() {
        if let StrPart::Text(t) = p {
            let mut out = String::with_capacity(t.len());
            let mut src = t.as_str();
            if i == 0
                && let Some(rest) = src.strip_prefix("\r\n").or_else(|| src.strip_prefix('\n'))
            {
                src = rest;
                at_line_start = true;
            }
            for ch_line in src.split_inclusive('\n') {
                let mut line = ch_line;
                if at_line_start {
                    let strip = line.len() - line.trim_start_matches([' ', '\t']).len();
                    line = &line[strip.min(indent)..];
                }
                out.push_str(line);
                at_line_start = line.ends_with('\n');
            }
            *t = out;
        } else {
            at_line_start = false;
        }
    }
    // A closing `"""` on its own line leaves trailing indentation: trim it.
    if let Some(StrPart::Text(t)) = parts.last_mut() {
        let trimmed = t.trim_end_matches([' ', '\t']).len();
        t.truncate(trimmed);
    }
}

/// `s` without the whitespace and byte order marks around it.
fn blank(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
}

/// The `///` doc comment lines directly above `offset`, when what starts there starts its
/// line (a parameter after `template t(` on the same line documents nothing). A doc comment
/// line never holds `"""`.
pub fn doc_before(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |n| n + 1);
    // A byte order mark is whitespace to the parser (and the formatter drops it).
    if !blank(&before[line_start..]).is_empty() {
        return String::new();
    }
    let mut lines: Vec<&str> = Vec::new();
    // Line by line upwards from the one above; most items have no doc comment, and the
    // first line above tells (this runs once per item: it must be cheap).
    let mut end = line_start;
    while end > 0 {
        let above = &before[..end - 1];
        let start = above.rfind('\n').map_or(0, |n| n + 1);
        let line = above[start..].strip_suffix('\r').unwrap_or(&above[start..]);
        end = start;
        let t = blank(line);
        if !t.starts_with("///") {
            break;
        }
        // A line holding `"""` may be the last line of a multi-line string that starts
        // with `///`: no doc comment line holds one.
        if t.contains("\"\"\"") {
            break;
        }
        if let Some(d) = t.strip_prefix("///") {
            lines.push(d.strip_prefix(' ').unwrap_or(d));
        } else {
            break;
        }
    }
    lines.reverse();
    lines.join("\n")
}
