//! The uplink over TLS to real nats-server 2.15.1 hubs whose leafnode listener requires it
//! (`leafnodes { tls { … } }`): the hub sends its INFO in plaintext (with `tls_required`),
//! the TLS handshake follows, then CONNECT goes over TLS. Certificates are made here with
//! rcgen: a throwaway CA, a hub certificate for IP 127.0.0.1 and DNS `hub.test`, a second
//! hub certificate for `hub.test` only, a client certificate, and an unrelated second CA.
//!
//! Linking, each shown by traffic both ways: a `tls://` URL with `ca_file`; a hub that
//! requires client certificates (`verify: true`) with `cert_file`/`key_file`; a `nats-leaf://`
//! URL with an `[uplink.tls]` table; `server_name` naming the certificate's host when the
//! URL's host (`localhost`) is not in it.
//!
//! Failing, each leaving leafd up and unlinked (its own clients still served), logging one
//! line per attempt that names the hub URL and says what went wrong ("TLS" or "certificate"),
//! and retrying with backoff (the test config's 50 ms .. 500 ms), not in a tight loop: a hub
//! that requires a client certificate when none is configured; a CA that did not sign the
//! hub's certificate; a URL host the certificate does not name, without `server_name`; and
//! a `nats-leaf://` URL without `[uplink.tls]` to a TLS hub (the system CA bundle cannot
//! verify a throwaway CA).
//!
//! leafd only: `[uplink.tls]` is a leafd table (`Uplink::tls_toml`).

use std::path::{Path, PathBuf};

use async_nats::Client;
use rcgen::{ExtendedKeyUsagePurpose, SanType};

use super::uplink_live::{hub_client, next_real, stays_unlinked, until_routed};
use crate::util::hub::Hub;
use crate::util::pki;
use crate::util::{client, sync, text, Broker, Limits, Uplink};

/// PEM files for one test, in a temporary directory removed on drop.
struct Pki {
    files: pki::Pki,
}

impl Pki {
    /// A CA, hub and client certificates signed by it, and an unrelated second CA:
    /// `ca.pem`; `hub.pem`/`hub.key` (IP 127.0.0.1, DNS hub.test); `named.pem`/`named.key`
    /// (DNS hub.test only); `client.pem`/`client.key`; `other-ca.pem`.
    fn new() -> Pki {
        let files = pki::Pki::empty("leafd-tls-");
        let ca = pki::ca("leafd test CA");
        files.write("ca.pem", &ca.pem());
        let ip = SanType::IpAddress([127, 0, 0, 1].into());
        let dns = || SanType::DnsName("hub.test".try_into().expect("DNS name"));
        let server = ExtendedKeyUsagePurpose::ServerAuth;
        files.leaf(&ca, "hub", vec![ip, dns()], server.clone());
        files.leaf(&ca, "named", vec![dns()], server);
        files.leaf(
            &ca,
            "client",
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        );
        files.write("other-ca.pem", &pki::ca("leafd unrelated CA").pem());
        Pki { files }
    }

    /// The path of `name` in the directory.
    fn path(&self, name: &str) -> PathBuf {
        self.files.path(name)
    }

    /// `name`'s path as a quoted string, valid in both TOML and nats-server's config.
    fn quoted(&self, name: &str) -> String {
        quote(&self.path(name))
    }

    /// The hub's leafnode `tls { }` keys serving `<cert>.pem`; with `verify`, it requires
    /// client certificates signed by `ca.pem`.
    fn hub_tls(&self, cert: &str, verify: bool) -> String {
        let mut block = format!(
            "cert_file: {}\nkey_file: {}\ntimeout: 2",
            self.quoted(&format!("{cert}.pem")),
            self.quoted(&format!("{cert}.key"))
        );
        if verify {
            block.push_str(&format!(
                "\nca_file: {}\nverify: true",
                self.quoted("ca.pem")
            ));
        }
        block
    }

    /// leafd's `[uplink.tls]` lines trusting `ca` (a file name in the directory).
    fn trust(&self, ca: &str) -> String {
        format!("ca_file = {}", self.quoted(ca))
    }

    /// [`Pki::trust`] of `ca.pem` plus the client certificate and key.
    fn trust_with_client_cert(&self) -> String {
        format!(
            "{}\ncert_file = {}\nkey_file = {}",
            self.trust("ca.pem"),
            self.quoted("client.pem"),
            self.quoted("client.key")
        )
    }
}

/// `path` as a double-quoted string.
fn quote(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// The hub's leafnode port as `<scheme>://<host>:<port>`.
fn url(hub: &Hub, scheme: &str, host: &str) -> String {
    format!("{scheme}://{host}:{}", hub.nodes[0].leaf_port)
}

/// The broker under test, linked to `url` as node `edge1`, with `tls_toml` (if any) as its
/// `[uplink.tls]` table.
fn edge_tls(url: &str, tls_toml: Option<String>) -> Broker {
    Broker::start_with(Limits {
        uplink: Some(Uplink {
            urls: vec![url.to_owned()],
            name: "edge1".into(),
            tls_toml,
            ..Uplink::default()
        }),
        ..Limits::default()
    })
}

/// Once the link is up, ten messages each way arrive in order: edge → hub, then hub → edge.
async fn both_ways(b: &Broker, h: &Client) {
    let e = client(b).await;
    let mut at_hub = h.subscribe("tls.up.>").await.expect("subscribe at the hub");
    let mut at_edge = e
        .subscribe("tls.down.>")
        .await
        .expect("subscribe at the edge");
    sync(h).await;
    sync(&e).await;
    until_routed(&e, "tls.up.probe", &mut at_hub).await;
    until_routed(h, "tls.down.probe", &mut at_edge).await;
    for (from, to, dir) in [(&e, &mut at_hub, "up"), (h, &mut at_edge, "down")] {
        for i in 0..10 {
            from.publish(format!("tls.{dir}.{i}"), i.to_string().into())
                .await
                .expect("publish");
        }
        from.flush().await.expect("flush");
        for i in 0..10 {
            let m = next_real(to).await;
            assert_eq!(m.subject.as_str(), format!("tls.{dir}.{i}"));
            assert_eq!(text(&m), i.to_string());
        }
    }
}

/// A failed attempt's line: names `url` and, apart from the URL (whose `tls://` would
/// match), says what went wrong in TLS terms.
fn is_tls_failure(line: &str, url: &str) -> bool {
    let why = line.replace(url, "").to_lowercase();
    line.contains(url)
        && (line.contains("cannot link") || line.contains("down"))
        && (why.contains("tls") || why.contains("certificate"))
}

/// [`stays_unlinked`] until a failed attempt's line for `url` is a TLS failure mentioning
/// `expect` (case-insensitive); returns that line.
async fn unlinked(b: &Broker, h: &Client, url: &str, expect: &str) -> String {
    let expect = expect.to_lowercase();
    stays_unlinked(b, h, |log| {
        log.lines()
            .find(|l| is_tls_failure(l, url) && l.replace(url, "").to_lowercase().contains(&expect))
            .map(str::to_owned)
    })
    .await
}

#[tokio::test]
async fn tls_url_with_ca_file_links_both_ways() {
    let pki = Pki::new();
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("hub", false));
    let b = edge_tls(&url(&hub, "tls", "127.0.0.1"), Some(pki.trust("ca.pem")));
    let h = hub_client(&hub.node_url(0)).await;
    both_ways(&b, &h).await;
}

#[tokio::test]
async fn client_certificate_links_to_a_hub_that_requires_one() {
    let pki = Pki::new();
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("hub", true));
    let b = edge_tls(
        &url(&hub, "tls", "127.0.0.1"),
        Some(pki.trust_with_client_cert()),
    );
    let h = hub_client(&hub.node_url(0)).await;
    both_ways(&b, &h).await;
}

#[tokio::test]
async fn missing_client_certificate_is_reported_and_retried_with_backoff() {
    let pki = Pki::new();
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("hub", true));
    let u = url(&hub, "tls", "127.0.0.1");
    let b = edge_tls(&u, Some(pki.trust("ca.pem")));
    let h = hub_client(&hub.node_url(0)).await;
    // Go refuses the handshake with a `certificate required` alert (TLS 1.3: after the
    // client's Finished, so leafd may only see it on its first read); the line must still
    // say TLS or certificate, not just that a read failed.
    unlinked(&b, &h, &u, "").await;
    // And the attempts were TLS handshakes the hub refused for want of a certificate.
    let hub_log = hub.log(0);
    assert!(
        hub_log.contains("client didn't provide a certificate"),
        "{hub_log}"
    );
}

#[tokio::test]
async fn wrong_ca_is_reported_and_retried_with_backoff() {
    let pki = Pki::new();
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("hub", false));
    let u = url(&hub, "tls", "127.0.0.1");
    let b = edge_tls(&u, Some(pki.trust("other-ca.pem")));
    let h = hub_client(&hub.node_url(0)).await;
    unlinked(&b, &h, &u, "certificate").await;
}

#[tokio::test]
async fn nats_leaf_url_with_tls_table_links_to_a_tls_hub() {
    let pki = Pki::new();
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("hub", false));
    let b = edge_tls(
        &url(&hub, "nats-leaf", "127.0.0.1"),
        Some(pki.trust("ca.pem")),
    );
    let h = hub_client(&hub.node_url(0)).await;
    both_ways(&b, &h).await;
}

#[tokio::test]
async fn nats_leaf_url_without_tls_table_to_a_tls_hub_is_reported_and_retried() {
    // The hub's INFO says tls_required, so leafd upgrades anyway, verifying against the
    // system CA bundle, which does not hold this throwaway CA.
    let pki = Pki::new();
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("hub", false));
    let u = url(&hub, "nats-leaf", "127.0.0.1");
    let b = edge_tls(&u, None);
    let h = hub_client(&hub.node_url(0)).await;
    unlinked(&b, &h, &u, "").await;
}

#[tokio::test]
async fn server_name_verifies_a_certificate_for_another_host() {
    let pki = Pki::new();
    // The certificate names hub.test only; the URL says localhost.
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("named", false));
    let b = edge_tls(
        &url(&hub, "tls", "localhost"),
        Some(format!(
            "{}\nserver_name = \"hub.test\"",
            pki.trust("ca.pem")
        )),
    );
    let h = hub_client(&hub.node_url(0)).await;
    both_ways(&b, &h).await;
}

#[tokio::test]
async fn host_not_in_the_certificate_is_reported_without_server_name() {
    let pki = Pki::new();
    let hub = Hub::single_with_leaf_tls(&pki.hub_tls("named", false));
    let u = url(&hub, "tls", "localhost");
    let b = edge_tls(&u, Some(pki.trust("ca.pem")));
    let h = hub_client(&hub.node_url(0)).await;
    unlinked(&b, &h, &u, "certificate").await;
}
