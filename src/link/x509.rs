//! The names a client certificate offers for `[tls] verify_and_map`, read straight from its
//! DER: e-mail and DNS subject alternative names, and the subject as nats-server prints it
//! (Go's `pkix.RDNSequence.String()`: RDNs last to first, `CN=alice,O=Acme`).
//!
//! Owns: a minimal DER reader for exactly these fields (a full X.509 crate would add far
//! more binary than the three fields need). The certificate has already been verified by
//! rustls; anything this reader does not understand yields fewer names, never a panic.
//! Must not: decide who a name is (the router does, `router/cert_map.rs`).

use std::fmt::Write as _;

use crate::router::CertIdentity;

/// DER tags used here.
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const OCTET_STRING: u8 = 0x04;
const BOOLEAN: u8 = 0x01;
/// `[0]` EXPLICIT (the version), `[3]` EXPLICIT (the extensions).
const CTX0: u8 = 0xa0;
const CTX3: u8 = 0xa3;
/// GeneralName `rfc822Name [1]` and `dNSName [2]`, IMPLICIT IA5String.
const SAN_EMAIL: u8 = 0x81;
const SAN_DNS: u8 = 0x82;
/// subjectAltName, 2.5.29.17.
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11];

/// One DER element: its tag, its contents, and what follows it.
fn element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The contents of an element that must have tag `want`.
fn expect(input: &[u8], want: u8) -> Option<(&[u8], &[u8])> {
    let (tag, body, rest) = element(input)?;
    (tag == want).then_some((body, rest))
}

/// The names in certificate `der`; `None` if it is not a certificate this reader follows.
pub(crate) fn identity(der: &[u8]) -> Option<CertIdentity> {
    let (cert, _) = expect(der, SEQUENCE)?;
    let (tbs, _) = expect(cert, SEQUENCE)?;
    let mut rest = tbs;
    if rest.first() == Some(&CTX0) {
        rest = element(rest)?.2; // version
    }
    for _ in 0..4 {
        rest = element(rest)?.2; // serial, signature algorithm, issuer, validity
    }
    let (subject, mut rest) = expect(rest, SEQUENCE)?;
    rest = element(rest)?.2; // subjectPublicKeyInfo
    let mut id = CertIdentity::default();
    while let Some((tag, body, next)) = element(rest) {
        if tag == CTX3 {
            sans(body, &mut id);
        }
        rest = next;
    }
    let rdns = rdns(subject)?;
    id.subject = go_rdn_string(&rdns);
    id.dn = rdns
        .into_iter()
        .flatten()
        .filter_map(|a| Some((short_name(&a.oid)?.to_owned(), a.text?)))
        .collect();
    Some(id)
}

/// The e-mail and DNS names of the subjectAltName extension in `[3] { Extensions }`.
fn sans(extensions: &[u8], id: &mut CertIdentity) {
    let Some((mut list, _)) = expect(extensions, SEQUENCE) else {
        return;
    };
    while let Some((ext, next)) = expect(list, SEQUENCE) {
        list = next;
        let Some((oid, mut rest)) = expect(ext, OID) else {
            continue;
        };
        if oid != OID_SAN {
            continue;
        }
        if let Some((_, _, after)) = element(rest).filter(|e| e.0 == BOOLEAN) {
            rest = after;
        }
        let Some((value, _)) = expect(rest, OCTET_STRING) else {
            return;
        };
        let Some((mut names, _)) = expect(value, SEQUENCE) else {
            return;
        };
        while let Some((tag, body, next)) = element(names) {
            names = next;
            let Ok(text) = std::str::from_utf8(body) else {
                continue;
            };
            match tag {
                SAN_EMAIL => id.emails.push(text.to_owned()),
                SAN_DNS => id.dns_names.push(text.to_owned()),
                _ => {}
            }
        }
    }
}

/// One AttributeTypeAndValue of a subject.
struct Attribute {
    /// The OID's contents octets.
    oid: Vec<u8>,
    /// The value decoded as text, when it is a string type this reader knows.
    text: Option<String>,
}

/// The subject's RDNs in certificate order, each a set of attributes.
fn rdns(mut name: &[u8]) -> Option<Vec<Vec<Attribute>>> {
    let mut out = Vec::new();
    while !name.is_empty() {
        let (mut set, next) = expect(name, SET)?;
        name = next;
        let mut rdn = Vec::new();
        while !set.is_empty() {
            let (atv, next) = expect(set, SEQUENCE)?;
            set = next;
            let (oid, value) = expect(atv, OID)?;
            let (tag, body, _) = element(value)?;
            rdn.push(Attribute {
                oid: oid.to_vec(),
                text: text(tag, body),
            });
        }
        out.push(rdn);
    }
    Some(out)
}

/// A directory string's text: UTF8String, PrintableString, IA5String, T61String (as Latin-1).
fn text(tag: u8, body: &[u8]) -> Option<String> {
    match tag {
        0x0c | 0x13 | 0x16 => String::from_utf8(body.to_vec()).ok(),
        0x14 => Some(body.iter().map(|&b| char::from(b)).collect()),
        _ => None,
    }
}

/// Go's names for attribute types (`pkix.attributeTypeNames`).
fn short_name(oid: &[u8]) -> Option<&'static str> {
    let [0x55, 0x04, n] = oid else {
        return None;
    };
    Some(match n {
        3 => "CN",
        5 => "SERIALNUMBER",
        6 => "C",
        7 => "L",
        8 => "ST",
        9 => "STREET",
        10 => "O",
        11 => "OU",
        17 => "POSTALCODE",
        _ => return None,
    })
}

/// Go's `RDNSequence.String()`: RDNs from last to first joined by `,`, attributes of one RDN
/// by `+`, values escaped as RFC 2253 says; an attribute type Go has no name for is written
/// as its dotted OID and `#` with the hex of the value re-encoded as Go would (a
/// PrintableString when every character allows it, else a UTF8String).
fn go_rdn_string(rdns: &[Vec<Attribute>]) -> String {
    let mut out = String::new();
    for (i, rdn) in rdns.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        for (j, a) in rdn.iter().enumerate() {
            if j > 0 {
                out.push('+');
            }
            match (short_name(&a.oid), &a.text) {
                (Some(name), Some(v)) => {
                    out.push_str(name);
                    out.push('=');
                    escape(v, &mut out);
                }
                (None, Some(v)) if v.len() < 128 => {
                    out.push_str(&dotted(&a.oid));
                    let printable = v
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b));
                    let tag = if printable { 0x13 } else { 0x0c };
                    let _ = write!(out, "=#{tag:02x}{:02x}", v.len());
                    for b in v.bytes() {
                        let _ = write!(out, "{b:02x}");
                    }
                }
                // Nothing a configured user could be expected to write.
                _ => out.push_str(&dotted(&a.oid)),
            }
        }
    }
    out
}

/// RFC 2253 escaping as Go does it.
fn escape(v: &str, out: &mut String) {
    let last = v.chars().count().saturating_sub(1);
    for (k, c) in v.chars().enumerate() {
        let needs = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => k == 0 || k == last,
            '#' => k == 0,
            _ => false,
        };
        if needs {
            out.push('\\');
        }
        out.push(c);
    }
}

/// An OID's contents octets as dotted decimal.
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc = 0u64;
    for &b in oid {
        acc = (acc << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        }
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn cert(dn: &[(DnType, &str)], sans: Vec<SanType>) -> Vec<u8> {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            params.distinguished_name.push(t.clone(), *v);
        }
        params.subject_alt_names = sans;
        let key = KeyPair::generate().expect("key");
        params.self_signed(&key).expect("sign").der().to_vec()
    }

    #[test]
    fn names_come_from_sans_and_the_subject_in_go_order() {
        let der = cert(
            &[
                (DnType::CountryName, "US"),
                (DnType::OrganizationName, "Acme, Inc."),
                (DnType::CommonName, "alice"),
            ],
            vec![
                SanType::Rfc822Name("alice@acme.test".try_into().expect("email")),
                SanType::DnsName("alice.acme.test".try_into().expect("dns")),
            ],
        );
        let id = identity(&der).expect("parses");
        assert_eq!(id.emails, ["alice@acme.test"]);
        assert_eq!(id.dns_names, ["alice.acme.test"]);
        assert_eq!(id.subject, "CN=alice,O=Acme\\, Inc.,C=US");
        assert_eq!(
            id.dn,
            [
                ("C".to_owned(), "US".to_owned()),
                ("O".to_owned(), "Acme, Inc.".to_owned()),
                ("CN".to_owned(), "alice".to_owned())
            ]
        );
    }

    #[test]
    fn odd_input_gives_no_names_and_no_panic() {
        let der = cert(&[(DnType::CommonName, " #x ")], Vec::new());
        assert_eq!(identity(&der).expect("parses").subject, "CN=\\ #x\\ ");
        for cut in 0..der.len() {
            let _ = identity(&der[..cut]);
        }
        assert!(identity(b"").is_none());
        assert_eq!(
            dotted(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d]),
            "1.2.840.113549"
        );
    }
}
