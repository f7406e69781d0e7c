//! Message delivery on the raw wire (captures 01, 02, 13): framing leniency, literal matching of
//! wildcard publishes, UNSUB max, HPUB/HMSG bytes, no-responders status, header stripping and
//! echo. Where one message reaches several subscriptions of one connection, the order of those
//! MSGs is not part of the protocol, so those tests compare sets.

use crate::util::{show, Broker, RawConn};

#[test]
fn lower_case_verbs_are_accepted() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"sub lc 1\r\npub lc 2\r\nok\r\nping\r\n");
    c.expect(b"MSG lc 1 2\r\nok\r\nPONG\r\n");
    c.send(b"unsub 1\r\npub lc 2\r\nok\r\nPiNg\r\n");
    c.expect(b"PONG\r\n");
}

#[test]
fn runs_of_spaces_and_tabs_separate_arguments() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB  spaced.subj   77\r\nPUB spaced.subj  2\r\nok\r\nPUB\tspaced.subj\t2\r\nok\r\nPING\r\n");
    c.expect(b"MSG spaced.subj 77 2\r\nok\r\nMSG spaced.subj 77 2\r\nok\r\nPONG\r\n");
    // nats-py's forms: empty queue group and empty reply leave a double space.
    c.send(b"SUB py.subj  78\r\nPUB py.subj  1\r\np\r\nPING\r\n");
    c.expect(b"MSG py.subj 78 1\r\np\r\nPONG\r\n");
}

/// Reads `n` frames of the form `MSG <subject> <sid> <len>\r\n<payload>\r\n` and returns them
/// sorted, for assertions where the order between subscriptions is free.
fn read_msgs(c: &mut RawConn, n: usize) -> Vec<String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let line = c.next_line();
        let text = String::from_utf8(line.clone()).expect("UTF-8 control line");
        let len: usize = text
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("not a MSG line: {}", show(&line)));
        assert!(text.starts_with("MSG "), "not a MSG line: {}", show(&line));
        let mut payload = Vec::new();
        while payload.len() < len + 2 {
            payload.extend(c.next_line_raw());
        }
        out.push(format!("{}{}", text, String::from_utf8_lossy(&payload)));
    }
    out.sort();
    out
}

#[test]
fn wildcard_publish_is_matched_literally() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB foo.bar 101\r\nSUB foo.* 102\r\nSUB foo.> 103\r\nPING\r\n");
    c.expect(b"PONG\r\n");

    c.send(b"PUB foo.* 1\r\nW\r\n");
    assert_eq!(
        read_msgs(&mut c, 2),
        ["MSG foo.* 102 1\r\nW\r\n", "MSG foo.* 103 1\r\nW\r\n"]
    );
    c.ping_pong(); // and foo.bar (101) got nothing

    c.send(b"PUB foo.> 1\r\nG\r\n");
    assert_eq!(
        read_msgs(&mut c, 2),
        ["MSG foo.> 102 1\r\nG\r\n", "MSG foo.> 103 1\r\nG\r\n"]
    );
    c.ping_pong();

    // Empty token, non-pedantic: accepted silently, matches nothing here.
    c.send(b"PUB foo..bar 1\r\nE\r\nPING\r\n");
    c.expect(b"PONG\r\n");
}

#[test]
fn utf8_and_star_inside_a_token_are_literal() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send("SUB événement.fo*o 78\r\nPUB événement.fo*o 1\r\nu\r\nPUB événement.foXo 1\r\nv\r\nPING\r\n".as_bytes());
    c.expect("MSG événement.fo*o 78 1\r\nu\r\nPONG\r\n".as_bytes());
}

#[test]
fn every_matching_subscription_of_a_connection_gets_its_own_msg() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB foo 1\r\nSUB foo.* q1 2\r\nSUB foo.> 3\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    c.send(b"PUB foo 5\r\nhello\r\nPING\r\n");
    c.expect(b"MSG foo 1 5\r\nhello\r\nPONG\r\n");
    c.send(b"PUB foo.bar reply.1 3\r\nabc\r\n");
    assert_eq!(
        read_msgs(&mut c, 2),
        [
            "MSG foo.bar 2 reply.1 3\r\nabc\r\n",
            "MSG foo.bar 3 reply.1 3\r\nabc\r\n"
        ]
    );
    c.ping_pong();
}

#[test]
fn unsub_max_counts_messages_already_delivered() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPING\r\n");
    c.expect(b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n");
    // sid 1 already had 2: removed at once.
    c.send(b"UNSUB 1 2\r\nPUB foo 1\r\nc\r\nPUB foo 1\r\nd\r\nPING\r\n");
    c.expect(b"PONG\r\n");

    // 1 delivered, max 3: two more, then none.
    c.send(b"SUB bar 2\r\nPUB bar 1\r\n1\r\nUNSUB 2 3\r\n");
    c.send(b"PUB bar 1\r\n2\r\nPUB bar 1\r\n3\r\nPUB bar 1\r\n4\r\nPING\r\n");
    c.expect(b"MSG bar 2 1\r\n1\r\nMSG bar 2 1\r\n2\r\nMSG bar 2 1\r\n3\r\nPONG\r\n");
}

#[test]
fn hpub_is_delivered_as_hmsg_byte_for_byte() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB foo.bar.baz 3\r\nSUB foo 1\r\nPING\r\n");
    c.expect(b"PONG\r\n");
    c.send(b"HPUB foo.bar.baz 37 39\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\nhi\r\n");
    c.expect(b"HMSG foo.bar.baz 3 37 39\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\nhi\r\n");
    // With a reply subject and an empty payload.
    c.send(b"HPUB foo _INBOX.r1 37 37\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n\r\n");
    c.expect(b"HMSG foo 1 _INBOX.r1 37 37\r\nNATS/1.0\r\nX-Foo: bar\r\nX-Foo2: baz\r\n\r\n\r\n");
    c.ping_pong();
}

#[test]
fn request_without_responders_gets_503_on_the_requesters_sid() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB _INBOX.abc.* 9\r\nPUB nobody.listens _INBOX.abc.1 2\r\nhi\r\nPING\r\n");
    c.expect(b"HMSG _INBOX.abc.1 9 46 46\r\nNATS/1.0 503\r\nNats-Subject: nobody.listens\r\n\r\n\r\nPONG\r\n");
}

#[test]
fn no_503_when_someone_receives_or_the_client_did_not_ask() {
    let b = Broker::start();
    let mut c = RawConn::client(&b);
    c.send(b"SUB _INBOX.abc.* 9\r\nSUB svc 2\r\nPUB svc _INBOX.abc.2 2\r\nhi\r\nPING\r\n");
    c.expect(b"MSG svc 2 _INBOX.abc.2 2\r\nhi\r\nPONG\r\n");

    let mut plain = RawConn::connect(
        &b,
        r#"{"verbose":false,"pedantic":false,"protocol":1,"headers":true,"no_responders":false}"#,
    );
    plain.send(b"SUB _INBOX.p.* 9\r\nPUB nobody.listens _INBOX.p.1 2\r\nhi\r\nPING\r\n");
    plain.expect(b"PONG\r\n");
}

#[test]
fn headers_are_stripped_for_a_subscriber_without_header_support() {
    let b = Broker::start();
    let mut sub = RawConn::connect(
        &b,
        r#"{"verbose":false,"pedantic":false,"protocol":1,"headers":false}"#,
    );
    sub.send(b"SUB foo 1\r\nPING\r\n");
    sub.expect(b"PONG\r\n");
    let mut publ = RawConn::client(&b);
    publ.send(b"HPUB foo 20 22\r\nNATS/1.0\r\nX-A: b\r\n\r\nhi\r\nPING\r\n");
    publ.expect(b"PONG\r\n");
    sub.expect(b"MSG foo 1 2\r\nhi\r\n");
    sub.ping_pong();
}

#[test]
fn echo_off_suppresses_only_own_messages() {
    let b = Broker::start();
    let mut quiet = RawConn::connect(
        &b,
        r#"{"verbose":false,"pedantic":false,"protocol":1,"headers":true,"echo":false}"#,
    );
    let mut other = RawConn::client(&b);
    quiet.send(b"SUB e 1\r\nPING\r\n");
    quiet.expect(b"PONG\r\n");
    other.send(b"SUB e 5\r\nPING\r\n");
    other.expect(b"PONG\r\n");

    quiet.send(b"PUB e 4\r\nmine\r\nPING\r\n");
    quiet.expect(b"PONG\r\n");
    other.expect(b"MSG e 5 4\r\nmine\r\n");

    other.send(b"PUB e 6\r\ntheirs\r\nPING\r\n");
    other.expect(b"MSG e 5 6\r\ntheirs\r\nPONG\r\n");
    quiet.expect(b"MSG e 1 6\r\ntheirs\r\n");
    quiet.ping_pong();
}

#[test]
fn connect_with_json_nulls_as_async_nats_sends_it() {
    let b = Broker::start();
    let mut c = RawConn::connect(
        &b,
        r#"{"verbose":false,"pedantic":false,"jwt":null,"nkey":null,"sig":null,"name":null,"echo":true,"lang":"rust","version":"0.51.0","protocol":1,"tls_required":false,"user":null,"pass":null,"auth_token":null,"headers":true,"no_responders":true}"#,
    );
    c.send(b"SUB n 1\r\nPUB n 1\r\nx\r\nPING\r\n");
    c.expect(b"MSG n 1 1\r\nx\r\nPONG\r\n");
}
