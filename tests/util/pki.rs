//! Throwaway certificates for the client-port TLS tests, made with rcgen in a temporary
//! directory removed on drop: a CA (`ca.pem`), a server certificate signed by it for IP
//! 127.0.0.1 and DNS `localhost` (`server.pem`/`server.key`), a client certificate signed by
//! it (`client.pem`/`client.key`, subject `CN=leafd test client`), and a client certificate
//! signed by an unrelated CA (`stranger.pem`/`stranger.key`). For `verify_and_map`, more
//! client certificates from the CA: `alice` (e-mail SAN `alice@leafd.test`), `carol`
//! (subject `O=Leafd Test` then `CN=carol`, which nats-server prints `CN=carol,O=Leafd Test`)
//! and `nobody` (`CN=nobody`). The uplink's TLS tests make their own set with
//! [`Pki::empty`], [`Pki::leaf`] and [`ca`].

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

/// The PEM files of one test.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let pki = Pki::empty("leafd-pki-");
        let ca = ca("leafd client-port test CA");
        pki.write("ca.pem", &ca.pem());
        let sans = vec![
            SanType::IpAddress([127, 0, 0, 1].into()),
            SanType::DnsName("localhost".try_into().expect("DNS name")),
        ];
        pki.leaf(&ca, "server", sans, ExtendedKeyUsagePurpose::ServerAuth);
        let client = ExtendedKeyUsagePurpose::ClientAuth;
        pki.leaf(&ca, "client", Vec::new(), client.clone());
        let other = self::ca("leafd unrelated CA");
        pki.leaf(&other, "stranger", Vec::new(), client);
        let email = SanType::Rfc822Name("alice@leafd.test".try_into().expect("e-mail"));
        pki.leaf_dn(&ca, "alice", &[(DnType::CommonName, "alice")], vec![email]);
        let carol = [
            (DnType::OrganizationName, "Leafd Test"),
            (DnType::CommonName, "carol"),
        ];
        pki.leaf_dn(&ca, "carol", &carol, Vec::new());
        pki.leaf_dn(&ca, "nobody", &[(DnType::CommonName, "nobody")], Vec::new());
        pki
    }

    /// An empty directory (named `<prefix>…`) for a test's own set of files, made with
    /// [`Pki::write`], [`Pki::leaf`] and [`ca`].
    pub fn empty(prefix: &str) -> Pki {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .expect("temp dir");
        Pki { dir }
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, pem: &str) {
        std::fs::write(self.path(name), pem).expect("write PEM file");
    }

    /// A client certificate with subject `dn` (in this order) and `sans`, signed by `ca`.
    fn leaf_dn(
        &self,
        ca: &CertifiedIssuer<'static, KeyPair>,
        name: &str,
        dn: &[(DnType, &str)],
        sans: Vec<SanType>,
    ) {
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            params.distinguished_name.push(t.clone(), *v);
        }
        self.sign(ca, name, params, sans, ExtendedKeyUsagePurpose::ClientAuth);
    }

    /// Writes `<name>.pem` and `<name>.key`: a certificate for `sans`, signed by `ca`.
    pub fn leaf(
        &self,
        ca: &CertifiedIssuer<'static, KeyPair>,
        name: &str,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
    ) {
        let mut params = CertificateParams::default();
        params
            .distinguished_name
            .push(DnType::CommonName, format!("leafd test {name}"));
        self.sign(ca, name, params, sans, usage);
    }

    fn sign(
        &self,
        ca: &CertifiedIssuer<'static, KeyPair>,
        name: &str,
        mut params: CertificateParams,
        sans: Vec<SanType>,
        usage: ExtendedKeyUsagePurpose,
    ) {
        params.subject_alt_names = sans;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("generate key");
        let cert = params.signed_by(&key, ca).expect("sign certificate");
        self.write(&format!("{name}.pem"), &cert.pem());
        self.write(&format!("{name}.key"), &key.serialize_pem());
    }
}

/// A self-signed CA named `name`.
pub fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("generate key"))
        .expect("self-sign CA")
}
