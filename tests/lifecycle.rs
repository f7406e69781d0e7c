//! The broker's own lifecycle: connection limits and graceful shutdown.

use crate::util::{Broker, Limits, RawConn};

/// Past `max_connections` a client still gets INFO, then the error, then the close
/// (exactly what nats-server 2.15.1 sends).
#[test]
fn max_connections_refuses_the_next_client_with_info_then_err() {
    let b = Broker::start_with(Limits {
        max_connections: Some(2),
        ..Limits::default()
    });
    let mut first = RawConn::client(&b);
    first.ping_pong();
    let mut second = RawConn::client(&b);
    second.ping_pong();

    let mut third = RawConn::open(&b); // reads INFO
    third.expect_then_closed(b"-ERR 'maximum connections exceeded'\r\n");

    // The two admitted clients are unaffected.
    first.ping_pong();
    second.ping_pong();
}

/// SIGTERM: queued output is written, every connection is closed, and the process exits 0.
#[test]
fn sigterm_closes_connections_and_exits_zero() {
    let mut b = Broker::start();
    let mut sub = RawConn::client(&b);
    sub.send(b"SUB bye 1\r\n");
    sub.ping_pong();
    let mut publisher = RawConn::client(&b);
    publisher.send(b"PUB bye 3\r\nfin\r\n");
    publisher.ping_pong(); // routed into sub's outbox before the signal

    let status = b.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let rest = sub.read_until_closed();
    assert!(
        rest.windows(14).any(|w| w == b"MSG bye 1 3\r\nf"),
        "the subscriber should get its message before the close, got: {}",
        crate::util::show(&rest)
    );
}
