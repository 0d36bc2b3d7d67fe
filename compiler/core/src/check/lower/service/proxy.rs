//! `proxy { ... }`: a service as its host's reverse proxy, with the static configuration
//! sparkc writes for it. Its entry points are its ports; routes listen on the published ones.

use crate::check::eval::{V, Val};
use crate::check::lower::Lowerer;
use crate::diag::{Code, Diagnostic};
use crate::model::*;

/// The fields of `proxy { ... }`.
const PROXY_FIELDS: &[&str] = &["redirect", "acme", "ping"];
/// The fields of `acme { ... }`.
const ACME_FIELDS: &[&str] = &["email", "storage", "challenge", "ca_server"];

impl Lowerer<'_, '_> {
    /// `proxy { redirect = [web -> websecure], acme { ... }, ping = ping }`
    pub(crate) fn proxy_settings(&mut self, v: &V, s: &Service) -> Option<ProxySettings> {
        let rec = self.record(v)?;
        let mut p = ProxySettings {
            loc: v.loc,
            redirects: Vec::new(),
            acme: None,
            ping: None,
        };
        for (k, fv, kf) in rec {
            match k.text.as_str() {
                "redirect" => {
                    for item in self.list(fv).unwrap_or_default() {
                        let Val::Pair(from, to) = &item.val else {
                            self.ev.err(
                                Diagnostic::error(Code::TypeMismatch, "expected `FROM -> TO`: the entry point that redirects, and the HTTPS one it redirects to", item.loc.file, item.loc.span)
                                    .label("which entry point redirects to which?")
                                    .help("name two of its ports: `redirect = [web -> websecure]`"),
                            );
                            continue;
                        };
                        if let (Some(a), Some(b)) =
                            (self.own_port_name(from, s), self.own_port_name(to, s))
                        {
                            p.redirects.push((a, b));
                        }
                    }
                }
                "acme" => p.acme = self.acme(fv, s),
                "ping" => p.ping = self.own_port_name(fv, s),
                _ => self.unknown_sub(&k.text, k.span, *kf, "proxy", PROXY_FIELDS),
            }
        }
        Some(p)
    }

    /// `acme { email = "...", storage = "/letsencrypt/acme.json", challenge = tls_alpn | http(web) }`
    fn acme(&mut self, v: &V, s: &Service) -> Option<Acme> {
        let rec = self.record(v)?;
        let (mut email, mut storage, mut challenge, mut ca_server) =
            (None, None, AcmeChallenge::TlsAlpn, None);
        for (k, fv, kf) in rec {
            match k.text.as_str() {
                "email" => email = self.str(fv),
                "storage" => storage = self.str(fv),
                "ca_server" => ca_server = self.str(fv),
                "challenge" => match &fv.val {
                    Val::Call(n, args) if n.text == "http" && args.len() == 1 => {
                        if let Some(port) = self.own_port_name(&args[0].1, s) {
                            challenge = AcmeChallenge::Http(port);
                        }
                    }
                    Val::Name(n) if n == "tls_alpn" || n == "tls-alpn" => {
                        challenge = AcmeChallenge::TlsAlpn;
                    }
                    Val::Call(n, args) if n.text == "dns" => {
                        if let Some(c) = self.dns_challenge(fv, args) {
                            challenge = c;
                        }
                    }
                    Val::Error => {}
                    _ => {
                        self.ev.err(
                            Diagnostic::error(Code::TypeMismatch, "expected an ACME challenge: `tls_alpn`, `http(PORT)` or `dns(PROVIDER, ...)`", fv.loc.file, fv.loc.span)
                                .label("not a challenge sparkc knows")
                                .help("`tls_alpn` answers on the HTTPS entry point (port 443), `http(web)` on a plain-HTTP one (port 80), `dns(cloudflare, CF_DNS_API_TOKEN = cf_token)` through the DNS provider's API (wildcard certificates need it)"),
                        );
                    }
                },
                _ => self.unknown_sub(&k.text, k.span, *kf, "acme", ACME_FIELDS),
            }
        }
        let (Some(email), Some(storage)) = (email, storage) else {
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    "an ACME account needs `email` and `storage`",
                    v.loc.file,
                    v.loc.span,
                )
                .help("write `acme { email = \"ops@example.org\", storage = \"/letsencrypt/acme.json\" }`: the address expiry warnings go to, and the file in the proxy's container that keeps the certificates"),
            );
            return None;
        };
        Some(Acme {
            email,
            storage,
            challenge,
            ca_server,
        })
    }

    /// `dns(cloudflare, CF_DNS_API_TOKEN = cf_token)`: the provider, then each credential
    /// the ACME client reads from its environment, as a secret.
    fn dns_challenge(
        &mut self,
        v: &V,
        args: &[(Option<crate::syntax::ast::Name>, V)],
    ) -> Option<AcmeChallenge> {
        let mut provider = None;
        let mut credentials = Vec::new();
        for (name, a) in args {
            match name {
                None if provider.is_none() => {
                    let p = match &a.val {
                        Val::Name(n) => Some(n.to_string()),
                        Val::Str(s) => Some(s.clone()),
                        _ => self.mismatch(a, "a DNS provider's name (`cloudflare`)"),
                    };
                    let Some(p) = p else { continue };
                    if p.is_empty()
                        || !p
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.')
                    {
                        self.malformed::<()>(
                            a,
                            format!("`{p}` is not a DNS provider's name"),
                            "name it as the ACME client (lego) does: `cloudflare`, `hetzner`, `route53`, `digitalocean`, `ovh`, ...",
                        );
                        continue;
                    }
                    provider = Some(p);
                }
                Some(n) => {
                    let var = n.text.as_str();
                    let plain = !var.is_empty()
                        && var
                            .bytes()
                            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                    if !plain {
                        self.ev.err(
                            Diagnostic::error(Code::MalformedLiteral, format!("`{var}` is not the name of a provider's environment variable"), v.loc.file, n.span)
                                .label("a credential's variable")
                                .help("write the variable the provider's documentation names, in capitals: `CF_DNS_API_TOKEN = cf_token`"),
                        );
                        continue;
                    }
                    if let Some(id) = self.secret_ref(a) {
                        credentials.push((var.to_string(), id));
                    }
                }
                None => {
                    self.mismatch::<()>(a, "a credential `VARIABLE = secret`");
                }
            }
        }
        let Some(provider) = provider else {
            self.ev.err(
                Diagnostic::error(
                    Code::MissingField,
                    "a DNS challenge needs its provider",
                    v.loc.file,
                    v.loc.span,
                )
                .help("name it first: `dns(cloudflare, CF_DNS_API_TOKEN = cf_token)`"),
            );
            return None;
        };
        if credentials.is_empty() {
            self.ev.err(
                Diagnostic::error(Code::MissingField, format!("the DNS provider `{provider}` needs its credentials"), v.loc.file, v.loc.span)
                    .label("nothing to log in to its API with")
                    .help(format!("give each variable it reads as a secret: `dns({provider}, API_TOKEN_VARIABLE = my_token)` with `secret my_token from file \"./secrets/my_token\"`")),
            );
            return None;
        }
        Some(AcmeChallenge::Dns {
            provider,
            credentials,
        })
    }

    /// A DNS provider's credentials, once every field of the service is lowered: each read
    /// by the ACME client from its secret's file (`<VARIABLE>_FILE` in the environment), the
    /// secret mounted. A variable `env` sets too is an error: one of the two would be lost.
    pub(crate) fn dns_credentials(&mut self, s: &mut Service) {
        let credentials = match s.proxy.as_ref().and_then(|p| p.acme.as_ref()) {
            Some(Acme {
                challenge: AcmeChallenge::Dns { credentials, .. },
                ..
            }) => credentials.clone(),
            _ => return,
        };
        for (var, id) in credentials {
            let key = format!("{var}_FILE");
            if s.env.contains_key(&key) || s.env.contains_key(&var) {
                let at = s.loc_of("env");
                self.ev.err(
                    Diagnostic::error(Code::Duplicate, format!("`{var}` is set twice: by `env` and by the DNS challenge"), at.file, at.span)
                        .label("set here too")
                        .help(format!("remove it from `env`: the DNS challenge passes `{key}` from the secret itself"))
                        .about(s.subject()),
                );
                continue;
            }
            let path = format!("{SECRETS_DIR}{}", self.model.secrets[id].name);
            s.env.insert(key, EnvValue::Plain(path));
            if !s.secrets.contains(&id) {
                s.secrets.push(id);
            }
        }
    }

    /// The name of one of `s`'s own ports, written bare (`websecure`).
    fn own_port_name(&mut self, v: &V, s: &Service) -> Option<String> {
        let name: String = match &v.val {
            Val::Name(n) => n.as_str().to_owned(),
            Val::Ref(sym, p) if p.is_empty() => self.ev.syms.list[*sym].name.as_str().to_owned(),
            Val::Error => return None,
            _ => return self.mismatch(v, "the name of one of its ports"),
        };
        if let Some(p) = s.port(&name) {
            if p.last != p.port {
                return self.range_refused(v.loc, p.port, p.last, "an entry point");
            }
            Some(name)
        } else {
            self.unknown_port(&name, v.loc, s);
            None
        }
    }
}
