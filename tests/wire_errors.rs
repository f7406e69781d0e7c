//! The `-ERR` catalogue of PROTOCOL.md §1.7 that applies without auth (capture 02): the exact
//! bytes the broker answers with, and whether the connection closes or stays open.

use crate::util::{Broker, RawConn};

#[test]
fn unknown_op_errs_and_closes() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"FOO bar\r\n");
    c.expect_then_closed(b"-ERR 'Unknown Protocol Operation'\r\n");
}

#[test]
fn control_line_over_4096_bytes_errs_lower_case_and_closes() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    let mut line = b"PUB ".to_vec();
    line.extend(std::iter::repeat_n(b'a', 5000));
    c.send(&line); // no CRLF: the line just keeps growing
    c.expect_then_closed(b"-ERR 'maximum control line exceeded'\r\n");
}

#[test]
fn max_payload_violation_is_detected_on_the_pub_line() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    // The body is never sent: the broker must judge the declared size.
    c.send(b"PUB foo 2000000\r\n");
    c.expect_then_closed(b"-ERR 'Maximum Payload Violation'\r\n");
}

#[test]
fn max_payload_violation_counts_headers_and_payload_of_hpub() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"HPUB foo 12 1048577\r\n");
    c.expect_then_closed(b"-ERR 'Maximum Payload Violation'\r\n");
}

#[test]
fn payload_longer_than_declared_is_an_unknown_op_and_closes() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"PUB foo 2\r\nhello\r\nPING\r\n");
    c.expect_then_closed(b"-ERR 'Unknown Protocol Operation'\r\n");
}

#[test]
fn invalid_sub_subject_errs_and_stays_open() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    // `fo*o` is a literal token, not an error.
    c.send(b"SUB foo..bar 1\r\nSUB foo.>.bar 2\r\nSUB fo*o 3\r\nPING\r\n");
    c.expect(b"-ERR 'Invalid Subject'\r\n-ERR 'Invalid Subject'\r\nPONG\r\n");
    c.send(b"PUB fo*o 1\r\nx\r\nPING\r\n");
    c.expect(b"MSG fo*o 3 1\r\nx\r\nPONG\r\n");
}

#[test]
fn pedantic_invalid_publish_subject_errs_and_stays_open() {
    let b = Broker::start();
    let mut c = RawConn::connect(
        &b,
        r#"{"verbose":false,"pedantic":true,"protocol":1,"headers":true,"no_responders":true}"#,
    );
    // nats-server 2.15.1 sends the -ERR but still routes the message (it would reach a
    // `foo.>` subscriber); PROTOCOL.md leaves that open, so no subscriber matches here.
    c.send(b"SUB ok 1\r\nPUB foo.* 2\r\nhi\r\nPING\r\n");
    c.expect(b"-ERR 'Invalid Publish Subject'\r\nPONG\r\n");
    c.send(b"PUB foo..bar 2\r\nhi\r\nPING\r\n");
    c.expect(b"-ERR 'Invalid Publish Subject'\r\nPONG\r\n");
    // Still usable.
    c.send(b"PUB ok 2\r\nhi\r\nPING\r\n");
    c.expect(b"MSG ok 1 2\r\nhi\r\nPONG\r\n");
}

/// nats-server 2.15.1 sends the -ERR and still routes the message; leafd does the same.
#[test]
fn pedantic_invalid_publish_is_reported_then_delivered() {
    let b = Broker::start();
    let mut c = RawConn::connect(
        &b,
        r#"{"verbose":false,"pedantic":true,"protocol":1,"headers":true,"no_responders":true}"#,
    );
    c.send(b"SUB foo.> 1\r\nPUB foo.* 2\r\nhi\r\nPING\r\n");
    c.expect(b"-ERR 'Invalid Publish Subject'\r\nMSG foo.* 1 2\r\nhi\r\nPONG\r\n");
}

#[test]
fn no_responders_without_headers_errs_and_closes() {
    let b = Broker::start();
    let mut c = RawConn::open(&b);
    c.send(
        b"CONNECT {\"verbose\":false,\"protocol\":1,\"headers\":false,\"no_responders\":true}\r\n",
    );
    c.expect_then_closed(b"-ERR 'no responders requires headers support'\r\n");
}

#[test]
fn unsupported_client_protocol_errs_and_closes() {
    let b = Broker::start();
    let mut c = RawConn::open(&b);
    c.send(b"CONNECT {\"verbose\":false,\"protocol\":5}\r\n");
    c.expect_then_closed(b"-ERR 'invalid client protocol'\r\n");
}

#[test]
fn hpub_with_headers_off_closes_silently() {
    let b = Broker::start();
    let mut c = RawConn::open(&b);
    c.send(b"CONNECT {\"verbose\":false,\"protocol\":1}\r\nPING\r\n");
    c.expect_line(b"PONG\r\n");
    c.send(b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n");
    c.expect_closed();
}

#[test]
fn sub_with_too_many_args_closes_silently() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB a b c d\r\nPING\r\n");
    c.expect_closed();
}

#[test]
fn unsub_of_unknown_sid_is_ignored() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"UNSUB 99\r\nUNSUB 98 5\r\nPING\r\n");
    c.expect(b"PONG\r\n");
}

#[test]
fn empty_connect_means_verbose_and_every_op_gets_ok() {
    let b = Broker::start();
    let mut c = RawConn::open(&b);
    c.send(b"CONNECT {}\r\nPING\r\n");
    c.expect(b"+OK\r\nPONG\r\n");
    // +OK for the SUB; for the PUB the +OK comes before the delivery (capture 01).
    c.send(b"SUB v 1\r\nPUB v 1\r\nx\r\nUNSUB 1\r\nPING\r\n");
    c.expect(b"+OK\r\n+OK\r\nMSG v 1 1\r\nx\r\n+OK\r\nPONG\r\n");
}

#[test]
fn explicit_verbose_connect_is_acknowledged() {
    let b = Broker::start();
    let mut c = RawConn::open(&b);
    c.send(b"CONNECT {\"verbose\":true,\"pedantic\":false,\"protocol\":1,\"headers\":true}\r\nPING\r\n");
    c.expect(b"+OK\r\nPONG\r\n");
}

#[test]
fn pub_before_connect_is_accepted_without_auth() {
    let b = Broker::start();
    let mut c = RawConn::open(&b);
    c.send(b"PUB foo 2\r\nhi\r\nPING\r\n");
    // No CONNECT yet, so verbose is still at its default (true).
    c.expect(b"+OK\r\nPONG\r\n");
}

/// Issue 5 (found by the ordered-consumer gap tests): a client could publish with a
/// `$JS.ACK.` reply and pose as a JetStream delivery. nats-server refuses reserved replies
/// (`$JS.ACK.`, `_R_.`, `_GR_.`) with this -ERR, drops the message and stays open.
#[test]
fn issue_5_reserved_reply_subjects_are_refused() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB deliver.x 1\r\n");
    for reply in [
        "$JS.ACK.S.C.1.25.25.1700000000000000000.0",
        "_R_.x",
        "_GR_.y",
    ] {
        c.send(format!("PUB deliver.x {reply} 4\r\nFAKE\r\nPING\r\n").as_bytes());
        c.expect(
            format!(
                "-ERR 'Permissions Violation for Publish with Reply of \"{reply}\"'\r\nPONG\r\n"
            )
            .as_bytes(),
        );
    }
    // `$JS.ACK.` and `_GR_.` with nothing after them are not reserved.
    c.send(b"PUB deliver.x $JS.ACK. 2\r\nok\r\nPUB deliver.x _GR_. 2\r\nok\r\nPING\r\n");
    c.expect(b"MSG deliver.x 1 $JS.ACK. 2\r\nok\r\nMSG deliver.x 1 _GR_. 2\r\nok\r\nPONG\r\n");
}
