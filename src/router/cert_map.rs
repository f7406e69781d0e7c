//! `[tls] verify_and_map`: which `[[auth.users]]` entry a verified client certificate names,
//! in nats-server's order: an e-mail SAN, then a DNS SAN, then the subject as a
//! distinguished name (attributes in any order, types case-insensitive: `CN=alice,O=Acme`
//! and `O=Acme,CN=alice` both match), then the subject exactly as nats-server prints it.
//!
//! Owns: [`CertIdentity`] (what the link read from the certificate), matching it against the
//! configured user names, and keeping it per connection until CONNECT. Must not: parse
//! certificates (`link/x509.rs` does) or check passwords (`auth.rs` does, for the user
//! this finds).

use super::{ClientId, Router};

/// The names a client certificate offers, as the link read them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertIdentity {
    /// E-mail subject alternative names.
    pub emails: Vec<String>,
    /// DNS subject alternative names.
    pub dns_names: Vec<String>,
    /// The subject as Go's `RDNSequence.String()` prints it: `CN=alice,O=Acme`.
    pub subject: String,
    /// The subject's attributes with a short type name (`CN`, `O`, ...), certificate order.
    pub dn: Vec<(String, String)>,
}

impl CertIdentity {
    /// The first of `users` this certificate names, or why none.
    pub(crate) fn map<'a, I>(&self, users: I) -> Result<&'a str, String>
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        let exact = |name: &str| users.clone().find(|u| *u == name);
        if let Some(u) = self
            .emails
            .iter()
            .chain(&self.dns_names)
            .find_map(|n| exact(n))
        {
            return Ok(u);
        }
        let mut have = self.dn.clone();
        have.sort();
        if !have.is_empty() {
            let same_dn = |u: &&str| parse_dn(u).is_some_and(|want| want == have);
            if let Some(u) = users.clone().find(same_dn) {
                return Ok(u);
            }
        }
        exact(&self.subject).ok_or_else(|| {
            format!(
                "the client certificate ({:?}{}{}) maps to no user",
                self.subject,
                list(" emails ", &self.emails),
                list(" DNS names ", &self.dns_names)
            )
        })
    }
}

fn list(label: &str, names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("{label}{}", names.join(","))
    }
}

/// A configured user name read as a distinguished name: `TYPE=value` pairs separated by
/// unescaped `,` or `+`, types upper-cased, sorted; `None` if it is not one.
fn parse_dn(name: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut part = String::new();
    let mut parts = Vec::new();
    let mut chars = name.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                part.push('\\');
                part.push(chars.next()?);
            }
            ',' | '+' => parts.push(std::mem::take(&mut part)),
            _ => part.push(c),
        }
    }
    parts.push(part);
    for p in parts {
        let (t, v) = p.split_once('=')?;
        let t = t.trim();
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
            return None;
        }
        out.push((t.to_ascii_uppercase(), unescape(v.trim())?));
    }
    out.sort();
    Some(out)
}

/// `\,` → `,` and `\2C` → `,` (RFC 4514).
fn unescape(v: &str) -> Option<String> {
    let mut out = Vec::new();
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
            match hex {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    out.push(*b.get(i + 1)?);
                    i += 2;
                }
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl Router {
    /// Keeps what connection `id`'s verified certificate names, for its CONNECT.
    pub fn set_client_cert(&mut self, id: ClientId, identity: CertIdentity) {
        if let Some(c) = self.clients.get_mut(id.0) {
            c.cert = Some(identity);
        }
    }

    /// The user connection `id`'s certificate maps to among `users`, or why none.
    pub(crate) fn cert_user<'a, I>(&self, id: ClientId, users: I) -> Result<String, String>
    where
        I: Iterator<Item = &'a str> + Clone,
    {
        match self.clients.get(id.0).and_then(|c| c.cert.as_ref()) {
            Some(cert) => cert.map(users).map(str::to_owned),
            None => Err("no client certificate to map to a user".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> CertIdentity {
        CertIdentity {
            emails: vec!["alice@acme.test".into()],
            dns_names: vec!["alice.acme.test".into()],
            subject: "CN=alice,O=Acme\\, Inc.".into(),
            dn: vec![
                ("O".into(), "Acme, Inc.".into()),
                ("CN".into(), "alice".into()),
            ],
        }
    }

    #[test]
    fn names_map_in_nats_server_order() {
        let a = alice();
        let users = |l: &'static [&'static str]| l.iter().copied();
        assert_eq!(
            a.map(users(&["alice.acme.test", "alice@acme.test"])),
            Ok("alice@acme.test")
        );
        assert_eq!(
            a.map(users(&["x", "alice.acme.test"])),
            Ok("alice.acme.test")
        );
        assert_eq!(
            a.map(users(&["CN=alice,O=Acme\\, Inc."])),
            Ok("CN=alice,O=Acme\\, Inc.")
        );
        assert_eq!(
            a.map(users(&["o=Acme\\2C Inc., cn=alice"])),
            Ok("o=Acme\\2C Inc., cn=alice")
        );
        let e = a.map(users(&["CN=alice", "bob"])).expect_err("no match");
        assert!(
            e.contains("maps to no user") && e.contains("alice@acme.test"),
            "{e}"
        );
        assert!(parse_dn("bob").is_none());
    }
}
