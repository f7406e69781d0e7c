//! Uplink authentication against real nats-server 2.15.1 hubs that require it (PROTOCOL.md
//! §2.3), one test per credential kind, each showing traffic flowing edge → hub once linked:
//! user/password and an nkey seed file against the hub's `leafnodes { authorization }`; a
//! token against its top-level `authorization` (leafnode authorization has no token key, so
//! leaf connections fall back to the client authorization); a `.creds` file against an
//! operator-mode hub (operator, account and user JWTs built here with nkeys, preloaded into a
//! memory resolver), and against a plain hub whose leafnode authorization names the creds'
//! public nkey (it checks nkey and signature and ignores the JWT).
//!
//! Refusals: another user's seed, and a creds seed that does not match its JWT, get the hub's
//! `Authorization Violation`. Wrong credentials leave leafd up and unlinked, logging the hub's
//! verdict and retrying with backoff (the test config's 50 ms .. 500 ms), not in a tight loop;
//! an unreadable seed file is reported by name the same way. No seed or password is logged.
//!
//! leafd only: the credentials are leafd `[uplink]` keys (`Uplink::auth_toml`).

use std::path::Path;
use std::time::Duration;

use async_nats::{Client, ConnectOptions};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use nkeys::KeyPair;
use serde_json::json;

use super::uplink_live::{hub_client, next_real, stays_unlinked, until_routed};
use crate::util::hub::Hub;
use crate::util::{client, sync, text, within, Broker, Limits, Uplink};

/// The broker under test, linked to `hub` as node `edge1` with `auth_toml` under `[uplink]`.
fn edge_with(hub: &Hub, auth_toml: &str) -> Broker {
    Broker::start_with(Limits {
        uplink: Some(Uplink {
            urls: hub.leaf_urls(),
            name: "edge1".into(),
            auth_toml: Some(auth_toml.to_owned()),
            ..Uplink::default()
        }),
        ..Limits::default()
    })
}

/// Ten messages published at the edge arrive at the hub, in order, once the link is up.
async fn edge_to_hub(b: &Broker, h: &Client) {
    let e = client(b).await;
    let mut at_hub = h
        .subscribe("auth.up.>")
        .await
        .expect("subscribe at the hub");
    sync(h).await;
    until_routed(&e, "auth.up.probe", &mut at_hub).await;
    for i in 0..10 {
        e.publish(format!("auth.up.{i}"), i.to_string().into())
            .await
            .expect("publish at the edge");
    }
    e.flush().await.expect("flush");
    for i in 0..10 {
        let m = next_real(&mut at_hub).await;
        assert_eq!(m.subject.as_str(), format!("auth.up.{i}"));
        assert_eq!(text(&m), i.to_string());
    }
}

/// A hub whose leafnode authorization is `user`'s public nkey.
fn nkey_hub(user: &KeyPair) -> Hub {
    Hub::single_with_leaf_auth(&format!("authorization {{ nkey: {} }}", user.public_key()))
}

/// Writes `text` to `name` in `dir` and returns the TOML string of its path.
fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write credentials file");
    format!("{:?}", path.display().to_string())
}

#[tokio::test]
async fn user_and_password() {
    let hub = Hub::single_with_leaf_auth("authorization { user: leaf, password: s3cret }");
    let b = edge_with(&hub, "user = \"leaf\"\npassword = \"s3cret\"");
    let h = hub_client(&hub.node_url(0)).await;
    edge_to_hub(&b, &h).await;
}

#[tokio::test]
async fn token() {
    let hub = Hub::single_with_conf("authorization { token: t0ken }");
    let b = edge_with(&hub, "token = \"t0ken\"");
    let h = within(
        "connect to the hub with its token",
        ConnectOptions::with_token("t0ken".into()).connect(hub.node_url(0)),
    )
    .await
    .expect("connect to the hub");
    edge_to_hub(&b, &h).await;
}

#[tokio::test]
async fn nkey_seed_file() {
    let kp = KeyPair::new_user();
    let hub = nkey_hub(&kp);
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = kp.seed().expect("seed");
    // Surrounding whitespace and a comment line, as operators write files by hand.
    let path = write(dir.path(), "edge1.nk", &format!("# edge1\n  {seed}  \n"));
    let b = edge_with(&hub, &format!("nkey_seed_file = {path}"));
    let h = hub_client(&hub.node_url(0)).await;
    edge_to_hub(&b, &h).await;
    assert!(!b.log().contains(&seed), "the seed is never logged");
}

#[tokio::test]
async fn creds_file_against_a_hub_that_checks_its_nkey() {
    let kp = KeyPair::new_user();
    let hub = nkey_hub(&kp);
    let dir = tempfile::tempdir().expect("temp dir");
    let seed = kp.seed().expect("seed");
    // JWT-shaped; without operator mode the hub does not decode it.
    let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.eyJzdWIiOiJVIn0.c2ln";
    let creds = creds_file(jwt, &seed);
    let path = write(dir.path(), "edge1.creds", &creds);
    let b = edge_with(&hub, &format!("creds_file = {path}"));
    let h = hub_client(&hub.node_url(0)).await;
    edge_to_hub(&b, &h).await;
    assert!(!b.log().contains(&seed), "the seed is never logged");
}

/// Waits for leafd to log an attempt the hub refused with `Authorization Violation`.
async fn refused(b: &Broker) {
    within("the hub's refusal in leafd's log", async {
        while !b
            .log()
            .lines()
            .any(|l| l.contains("link to") && l.contains("Authorization Violation"))
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
}

/// [`stays_unlinked`] until a failed attempt's line contains `expect`; returns the log.
async fn unlinked(b: &Broker, h: &Client, expect: &str) -> String {
    stays_unlinked(b, h, |log| {
        log.lines().find(|l| l.contains(expect)).map(str::to_owned)
    })
    .await;
    b.log()
}

#[tokio::test]
async fn wrong_password_is_reported_and_retried_with_backoff() {
    let hub = Hub::single_with_leaf_auth("authorization { user: leaf, password: s3cret }");
    let b = edge_with(&hub, "user = \"leaf\"\npassword = \"wrong-pw\"");
    let h = hub_client(&hub.node_url(0)).await;
    let log = unlinked(&b, &h, "Authorization Violation").await;
    let line = log
        .lines()
        .find(|l| l.contains("Authorization Violation") && l.contains("link to"))
        .expect("the attempt's line carries the hub's verdict");
    assert!(
        line.contains(&format!("nats-leaf://127.0.0.1:{}", hub.nodes[0].leaf_port)),
        "{line}"
    );
    assert!(!log.contains("wrong-pw"), "the password is never logged");
}

#[tokio::test]
async fn unreadable_seed_file_is_reported_by_name_and_retried_with_backoff() {
    let kp = KeyPair::new_user();
    let hub = nkey_hub(&kp);
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("absent.nk");
    let b = edge_with(
        &hub,
        &format!("nkey_seed_file = {:?}", missing.display().to_string()),
    );
    let h = hub_client(&hub.node_url(0)).await;
    let expect = format!("cannot read nkey seed file {}", missing.display());
    let log = unlinked(&b, &h, &expect).await;
    assert!(log.contains("cannot link"), "{log}");
}

#[tokio::test]
async fn seed_of_another_user_is_refused_by_the_hub() {
    let hub = nkey_hub(&KeyPair::new_user());
    let dir = tempfile::tempdir().expect("temp dir");
    let other = KeyPair::new_user().seed().expect("seed");
    let path = write(dir.path(), "other.nk", &other);
    let b = edge_with(&hub, &format!("nkey_seed_file = {path}"));
    refused(&b).await;
    assert!(!b.log().contains(&other), "the seed is never logged");
}

/// A NATS JWT (v2) of `claims`, signed by `issuer` (`iss` is set from it).
fn jwt(mut claims: serde_json::Value, issuer: &KeyPair) -> String {
    claims["iss"] = issuer.public_key().into();
    claims["iat"] = 1_700_000_000u64.into();
    claims["jti"] = format!("{:X}", fastrand::u128(..)).into();
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{body}");
    let sig = issuer.sign(signed.as_bytes()).expect("sign JWT");
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A `.creds` file's text, as nsc writes it.
fn creds_file(jwt: &str, seed: &str) -> String {
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\n\
         -----BEGIN USER NKEY SEED-----\n{seed}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n"
    )
}

/// An operator-mode hub's config lines (operator, an account `edge` and a system account,
/// preloaded into a memory resolver), and the `edge` account's key to sign users with.
fn operator_mode() -> (String, KeyPair) {
    let operator = KeyPair::new_operator();
    let account = KeyPair::new_account();
    let system = KeyPair::new_account();
    let op_jwt = jwt(
        json!({"sub": operator.public_key(), "name": "op",
               "nats": {"type": "operator", "version": 2}}),
        &operator,
    );
    let unlimited = json!({"subs": -1, "data": -1, "payload": -1, "imports": -1,
                           "exports": -1, "wildcards": true, "conn": -1, "leaf": -1});
    let acc_jwt = |kp: &KeyPair, name: &str| {
        jwt(
            json!({"sub": kp.public_key(), "name": name,
                   "nats": {"limits": unlimited, "type": "account", "version": 2}}),
            &operator,
        )
    };
    let conf = format!(
        "operator: {op_jwt}\nsystem_account: {sys}\nresolver: MEMORY\n\
         resolver_preload: {{ {acc}: {acc_jwt}, {sys}: {sys_jwt} }}\n",
        sys = system.public_key(),
        acc = account.public_key(),
        acc_jwt = acc_jwt(&account, "edge"),
        sys_jwt = acc_jwt(&system, "SYS"),
    );
    (conf, account)
}

/// A `.creds` text for a user of `account` whose JWT names `user` and whose seed is
/// `seed_of`'s (the same key pair for a good file).
fn user_creds(account: &KeyPair, user: &KeyPair, seed_of: &KeyPair) -> String {
    let user_jwt = jwt(
        json!({"sub": user.public_key(), "name": "u",
               "nats": {"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
                        "type": "user", "version": 2}}),
        account,
    );
    creds_file(&user_jwt, &seed_of.seed().expect("seed"))
}

#[tokio::test]
async fn creds_file_against_an_operator_mode_hub() {
    let (conf, account) = operator_mode();
    let hub = Hub::single_with_conf(&conf);
    let dir = tempfile::tempdir().expect("temp dir");
    let edge_user = KeyPair::new_user();
    let creds = user_creds(&account, &edge_user, &edge_user);
    let path = write(dir.path(), "edge1.creds", &creds);
    let b = edge_with(&hub, &format!("creds_file = {path}"));
    // A client of the same account at the hub: the leaf is bound to the account its JWT
    // names, so traffic arriving here shows the hub took the JWT.
    let hub_user = KeyPair::new_user();
    let h = within(
        "connect to the hub with creds",
        ConnectOptions::with_credentials(&user_creds(&account, &hub_user, &hub_user))
            .expect("creds")
            .connect(hub.node_url(0)),
    )
    .await
    .expect("connect to the hub");
    edge_to_hub(&b, &h).await;
}

#[tokio::test]
async fn creds_file_whose_seed_does_not_match_its_jwt_is_refused() {
    let (conf, account) = operator_mode();
    let hub = Hub::single_with_conf(&conf);
    let dir = tempfile::tempdir().expect("temp dir");
    let creds = user_creds(&account, &KeyPair::new_user(), &KeyPair::new_user());
    let path = write(dir.path(), "edge1.creds", &creds);
    let b = edge_with(&hub, &format!("creds_file = {path}"));
    refused(&b).await;
}
