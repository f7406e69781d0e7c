//! The start of a connection (PROTOCOL.md §1.2–1.4): INFO's fields and framing, and the
//! handshake rules the strictest client (nats-py) depends on.

use crate::util::{show, Broker, Limits, RawConn, KIB};

fn field<'a>(info: &'a serde_json::Value, key: &str) -> &'a serde_json::Value {
    info.get(key)
        .unwrap_or_else(|| panic!("INFO has no `{key}`: {info}"))
}

#[test]
fn info_is_the_first_line_and_carries_what_clients_need() {
    let b = Broker::start();
    let c = RawConn::open(&b);
    assert!(
        c.info_line.ends_with(b"\r\n"),
        "INFO must end in CRLF: {}",
        show(&c.info_line)
    );
    let info = &c.info;

    let id = field(info, "server_id")
        .as_str()
        .expect("server_id is a string");
    assert!(!id.is_empty(), "server_id is empty");
    let version = field(info, "version")
        .as_str()
        .expect("version is a string");
    let parts: Vec<u64> = version
        .split('.')
        .map(|p| {
            p.parse()
                .unwrap_or_else(|_| panic!("version {version:?} is not semver"))
        })
        .collect();
    assert!(
        parts.len() == 3 && parts[0] >= 2,
        "version {version:?} should be a 2.x.y semver"
    );
    assert_eq!(field(info, "proto"), 1, "proto on the client port");
    assert_eq!(field(info, "headers"), true, "headers support");
    assert_eq!(field(info, "max_payload"), 1_048_576, "default max_payload");
    assert!(
        field(info, "client_id").is_u64(),
        "client_id is an unsigned integer: {info}"
    );
    // An edge broker must not send clients elsewhere, nor ask for credentials it does not check.
    let urls = info
        .get("connect_urls")
        .and_then(|v| v.as_array())
        .map_or(0, Vec::len);
    assert_eq!(urls, 0, "connect_urls should be absent: {info}");
    assert_ne!(
        info.get("auth_required"),
        Some(&serde_json::Value::Bool(true))
    );
}

#[test]
fn each_connection_gets_its_own_client_id() {
    let b = Broker::start();
    let ids: Vec<u64> = (0..3)
        .map(|_| {
            RawConn::open(&b).info["client_id"]
                .as_u64()
                .expect("client_id")
        })
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "client ids {ids:?}"
    );
}

#[test]
fn info_max_payload_follows_the_configured_limit() {
    let b = Broker::start_with(Limits {
        max_payload: Some(KIB),
        ..Limits::default()
    });
    let c = RawConn::open(&b);
    assert_eq!(field(&c.info, "max_payload"), 1024);
}

#[test]
fn nats_py_handshake_pong_is_the_very_next_line() {
    // nats-py 2.16 writes CONNECT, then PING, then reads exactly one line that must be PONG.
    let b = Broker::start();
    let mut c = RawConn::open(&b);
    c.send(b"CONNECT {\"echo\": true, \"headers\": true, \"lang\": \"python3\", \"no_responders\": true, \"pedantic\": false, \"protocol\": 1, \"verbose\": false, \"version\": \"2.16.0\"}\r\n");
    c.send(b"PING\r\n");
    c.expect_line_raw(b"PONG\r\n");
    // And the connection works with nats-py's double-space forms.
    c.send(b"SUB _INBOX.py.*  1\r\nPUB _INBOX.py.x  2\r\nok\r\nPING\r\n");
    c.expect(b"MSG _INBOX.py.x 1 2\r\nok\r\nPONG\r\n");
}

#[test]
fn client_pings_are_answered_with_pong() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"PING\r\nPING\r\nPING\r\n");
    c.expect(b"PONG\r\nPONG\r\nPONG\r\n");
}
