//! Records removed before the hub had them: counted as lost, never waited for.

use super::*;

#[test]
fn records_removed_while_the_link_is_down_show_as_lost_at_once() {
    let now = Instant::now();
    let mut src = Mem::with(10);
    let mut fw = forwarder(0);
    assert_eq!(status(&mut fw, &src, now).lost, 0);
    src.remove_through(4);
    let st = status(&mut fw, &src, now);
    assert_eq!((st.lost, st.pending_msgs), (4, 6));
    // Once linked, the same four are counted by the skip, not twice.
    fw.link_ready();
    resolve(&mut fw, &src, now, None);
    pump(&mut fw, &src, now);
    assert_eq!(status(&mut fw, &src, now).lost, 4);
}

#[test]
fn records_removed_before_forwarding_are_counted_lost_and_skipped() {
    let now = Instant::now();
    let mut src = Mem::with(10);
    src.remove_through(4);
    assert_eq!(src.first_seq(), 5);
    let mut fw = ready(&src, 0, now);
    let out = pump(&mut fw, &src, now);
    assert_eq!(seqs(&out), (5..=10).collect::<Vec<_>>());
    let st = status(&mut fw, &src, now);
    assert_eq!(st.lost, 4);
    assert_eq!(st.cursor, 4);
    assert_eq!(fw.take_dirty_cursor(), Some(4));

    // Counted once only.
    assert!(pump(&mut fw, &src, now).is_empty());
    assert_eq!(status(&mut fw, &src, now).lost, 4);
}

#[test]
fn records_removed_while_in_flight_and_then_timed_out_are_counted_lost() {
    let now = Instant::now();
    let mut src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    assert_eq!(pump(&mut fw, &src, now).len(), 10);
    // The hub never acks; meanwhile records 1..=4 are removed locally.
    src.remove_through(4);

    let late = now + ACK_TIMEOUT;
    resolve(&mut fw, &src, late, None);
    let out = pump(&mut fw, &src, late);
    assert_eq!(seqs(&out), (5..=10).collect::<Vec<_>>());
    for seq in 5..=10 {
        ack(&mut fw, seq, late);
    }
    let st = status(&mut fw, &src, late);
    assert_eq!(st.cursor, 10);
    assert_eq!(
        st.lost, 4,
        "records 1..=4 were removed before the hub acknowledged them"
    );
}

#[test]
fn records_removed_while_in_flight_and_then_the_link_drops_are_counted_lost() {
    let now = Instant::now();
    let mut src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    assert_eq!(pump(&mut fw, &src, now).len(), 10);
    src.remove_through(4);

    fw.link_down();
    fw.link_ready();
    resolve(&mut fw, &src, now, None);
    let out = pump(&mut fw, &src, now);
    assert_eq!(seqs(&out), (5..=10).collect::<Vec<_>>());
    let st = status(&mut fw, &src, now);
    assert_eq!(st.lost, 4);
    assert_eq!(st.cursor, 4);
}
