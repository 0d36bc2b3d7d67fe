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
                    Val::Error => {}
                    _ => {
                        self.ev.err(
                            Diagnostic::error(Code::TypeMismatch, "expected an ACME challenge: `tls_alpn` or `http(PORT)`", fv.loc.file, fv.loc.span)
                                .label("not a challenge sparkc knows")
                                .help("`tls_alpn` answers on the HTTPS entry point (port 443), `http(web)` on a plain-HTTP one (port 80); DNS-01 is not supported yet"),
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

    /// The name of one of `s`'s own ports, written bare (`websecure`).
    fn own_port_name(&mut self, v: &V, s: &Service) -> Option<String> {
        let name: String = match &v.val {
            Val::Name(n) => n.as_str().to_owned(),
            Val::Ref(sym, p) if p.is_empty() => self.ev.syms.list[*sym].name.as_str().to_owned(),
            Val::Error => return None,
            _ => return self.mismatch(v, "the name of one of its ports"),
        };
        if s.port(&name).is_some() {
            Some(name)
        } else {
            self.unknown_port(&name, v.loc, s);
            None
        }
    }
}
