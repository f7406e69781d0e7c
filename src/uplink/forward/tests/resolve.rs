//! Resolving: asking the hub what it already holds from this node, what to ignore in its answers, and never skipping a record it refused.

use super::*;

#[test]
fn resolve_moves_the_cursor_to_our_last_record_at_the_hub() {
    let now = Instant::now();
    let src = Mem::with(10);
    let mut fw = forwarder(3);
    fw.link_ready();
    assert_eq!(status(&mut fw, &src, now).state, "resolving");
    resolve(&mut fw, &src, now, Some("edge1:SENSORS:42:7"));
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 7);
    assert_eq!(fw.take_dirty_cursor(), Some(7));
    let out = pump(&mut fw, &src, now);
    assert_eq!(seqs(&out), vec![8, 9, 10]);
}

#[test]
fn resolve_ignores_msg_ids_of_another_node_stream_or_epoch() {
    for id in [
        "edge2:SENSORS:42:7",
        "edge1:OTHER:42:7",
        "edge1:SENSORS:41:7",
        "edge1:SENSORS:42:2",
        "edge1:SENSORS:42:x",
        "not-an-id",
    ] {
        let now = Instant::now();
        let src = Mem::with(10);
        let mut fw = forwarder(3);
        fw.link_ready();
        resolve(&mut fw, &src, now, Some(id));
        assert_eq!(status(&mut fw, &src, now).cursor, 3, "{id}");
        assert_eq!(fw.take_dirty_cursor(), None, "{id}");
        let out = pump(&mut fw, &src, now);
        assert_eq!(seqs(&out), (4..=10).collect::<Vec<_>>(), "{id}");
    }
}

#[test]
fn resolve_ignores_a_late_answer_to_an_earlier_request() {
    let now = Instant::now();
    let src = Mem::with(3);
    let mut fw = forwarder(0);
    fw.link_ready();
    let first = pump(&mut fw, &src, now);
    let old_gen = resolve_gen(&first[0]);
    // Unanswered: asked again after the resolve timeout, under a new number.
    assert!(pump(&mut fw, &src, now + Duration::from_secs(1)).is_empty());
    let later = now + Duration::from_secs(6);
    let second = pump(&mut fw, &src, later);
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].subject, b"$JS.API.STREAM.NAMES");
    let new_gen = resolve_gen(&second[0]);
    assert_ne!(old_gen, new_gen);

    fw.on_reply(
        ReplyTo::Resolve(old_gen),
        None,
        br#"{"streams":["OLD"]}"#,
        later,
    );
    assert!(
        pump(&mut fw, &src, later).is_empty(),
        "still waiting for the newer request"
    );
    fw.on_reply(
        ReplyTo::Resolve(new_gen),
        None,
        br#"{"streams":["HUB"]}"#,
        later,
    );
    let out = pump(&mut fw, &src, later);
    assert_eq!(out[0].subject, b"$JS.API.STREAM.MSG.GET.HUB");
}

#[test]
fn a_timeout_learns_what_the_hub_stored_instead_of_resending_it() {
    let now = Instant::now();
    let src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    assert_eq!(pump(&mut fw, &src, now).len(), 10);
    // No PubAck comes back, but the hub stored records 1..=6.
    let late = now + ACK_TIMEOUT;
    resolve(&mut fw, &src, late, Some("edge1:SENSORS:42:6"));
    assert_eq!(status(&mut fw, &src, late).cursor, 6);
    assert_eq!(seqs(&pump(&mut fw, &src, late)), vec![7, 8, 9, 10]);
}

#[test]
fn a_refused_record_is_never_skipped_by_the_resolve_step() {
    let now = Instant::now();
    let src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    assert_eq!(pump(&mut fw, &src, now).len(), 10);
    ack(&mut fw, 1, now);
    fw.on_reply(
        ReplyTo::Ack(2),
        None,
        &error_json(503, 10077, "maximum messages exceeded"),
        now,
    );
    // The hub took 3..=10 after refusing 2; resuming must start at 2 again.
    let later = now + Duration::from_secs(1);
    resolve(&mut fw, &src, later, Some("edge1:SENSORS:42:10"));
    assert_eq!(status(&mut fw, &src, later).cursor, 1);
    assert_eq!(seqs(&pump(&mut fw, &src, later))[0], 2);
}
