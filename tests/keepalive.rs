//! Server keepalive (PROTOCOL.md §1.6, capture 14): PINGs to an idle client, and
//! `-ERR 'Stale Connection'` once more than `ping_max` of them go unanswered.

use std::time::{Duration, Instant};

use crate::util::{Broker, Limits, RawConn};

#[test]
fn unanswered_pings_end_in_stale_connection() {
    let b = Broker::start_with(Limits {
        ping_interval: Some(Duration::from_secs(1)),
        ping_max: Some(2),
        ..Limits::default()
    });
    let mut c = RawConn::open(&b);
    let started = Instant::now();
    // CONNECT and then silence: no PING of ours, no PONG to the server's.
    c.send(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n");
    c.expect(b"PING\r\nPING\r\n-ERR 'Stale Connection'\r\n");
    c.expect_closed();
    let took = started.elapsed();
    // Two intervals of 1 s (plus jitter) then the third timer fires: about 3 s.
    assert!(
        took >= Duration::from_millis(1800),
        "stale after only {took:?}"
    );
}

#[test]
fn a_client_that_answers_pings_is_kept() {
    let b = Broker::start_with(Limits {
        ping_interval: Some(Duration::from_millis(300)),
        ping_max: Some(1),
        ..Limits::default()
    });
    let mut c = RawConn::open(&b);
    c.send(b"CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1}\r\n");
    for _ in 0..4 {
        c.expect_line(b"PING\r\n");
        c.send(b"PONG\r\n");
    }
    // Well past ping_max intervals and still open.
    c.send(b"SUB k 1\r\nPUB k 1\r\nx\r\n");
    loop {
        let line = c.next_line();
        if line == b"PING\r\n" {
            c.send(b"PONG\r\n");
            continue;
        }
        crate::util::assert_bytes_eq(&line, b"MSG k 1 1\r\n", "after answering PINGs");
        break;
    }
}
