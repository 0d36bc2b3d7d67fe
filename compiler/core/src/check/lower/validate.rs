//! Checks of names and literals that need no context: safe names, image references,
//! domain names.

/// A name that is safe as a path component and a compose/DNS name.
pub fn is_safe_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && !s.starts_with(['-', '_'])
}

/// Docker image reference: `[host[:port]/]path[:tag][@algo:digest]`.
pub fn check_image_ref(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("it is empty");
    }
    if s.chars().any(char::is_whitespace) {
        return Err("it contains whitespace");
    }
    let (rest, digest) = match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    };
    if let Some(d) = digest {
        let Some((algo, hex)) = d.split_once(':') else {
            return Err("the digest lacks `algo:`");
        };
        if algo.is_empty() || hex.len() < 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err("the digest is not `sha256:<hex>`");
        }
    }
    let last_slash = rest.rfind('/');
    let (path, tag) = match rest.rfind(':') {
        Some(i) if last_slash.is_none_or(|sl| i > sl) => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    if let Some(t) = tag
        && (t.is_empty()
            || t.len() > 128
            || !t
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
            || t.starts_with(['.', '-']))
    {
        return Err("the tag may only hold letters, digits, `.`, `_` and `-`");
    }
    // A first component with a `.` or `:` (or `localhost`) names the registry.
    let path = match path.split_once('/') {
        Some((host, rest)) if host.contains(['.', ':']) || host == "localhost" => rest,
        _ => path,
    };
    for c in path.split('/') {
        if c.is_empty() {
            return Err("it has an empty path component");
        }
        if !c
            .chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || "._-".contains(ch))
        {
            return Err("repository names are lower-case letters, digits, `.`, `_` and `-`");
        }
        if !c.starts_with(|ch: char| ch.is_ascii_alphanumeric())
            || !c.ends_with(|ch: char| ch.is_ascii_alphanumeric())
        {
            return Err("each path component starts and ends with a letter or digit");
        }
    }
    Ok(())
}

/// DNS name, optionally with a leading `*.` wildcard.
pub fn check_domain(s: &str) -> Result<(), &'static str> {
    let body = s.strip_prefix("*.").unwrap_or(s);
    if body.len() > 253 {
        return Err("it is longer than 253 characters");
    }
    let labels: Vec<&str> = body.split('.').collect();
    if labels.len() < 2 {
        return Err("it needs at least two labels, e.g. example.org");
    }
    for l in &labels {
        if l.is_empty() || l.len() > 63 {
            return Err("each label is 1 to 63 characters");
        }
        if !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("labels hold only letters, digits and `-`");
        }
        if l.starts_with('-') || l.ends_with('-') {
            return Err("a label cannot start or end with `-`");
        }
    }
    if labels
        .last()
        .is_some_and(|t| t.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("the top-level label cannot be numeric");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn image_refs() {
        for ok in [
            "mysql",
            "mysql:8.4",
            "ghcr.io/org/app:1.2",
            "localhost:5000/x",
            "prom/node-exporter:v1.8.2",
            "a@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(check_image_ref(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "MySQL:8",
            "mysql:",
            "my sql",
            "mysql:8.4:x!",
            "/mysql",
            "a@sha256:zz",
        ] {
            assert!(check_image_ref(bad).is_err(), "{bad}");
        }
    }
    #[test]
    fn domains() {
        assert!(check_domain("cloud.example.org").is_ok());
        assert!(check_domain("*.example.org").is_ok());
        assert!(check_domain("localhost").is_err());
        assert!(check_domain("-a.example.org").is_err());
        assert!(check_domain("a..org").is_err());
    }
}
