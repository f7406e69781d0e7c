//! Unit tests of the forwarding state machine in `uplink/forward.rs`: resolve, window,
//! acks and cursor, pauses, ack timeouts, lost records and header rewriting.

use super::*;
use crate::store::StoredMsg;
use base64::Engine as _;

use crate::jetstream::headers::header_value;

const NODE: &str = "edge1";
const STREAM: &str = "SENSORS";
const EPOCH: u64 = 42;
const PREFIX: &str = "edge1";
const INBOX: &[u8] = b"_INBOX.up.fwd.";
const NOW_NS: i64 = 1_000_000_000_000;

/// The local stream in memory: live records in seq order, and a durable limit that plays
/// `last_seq` (records above it exist but are not yet durable, so must not be sent).
struct Mem {
    msgs: Vec<StoredMsg>,
    durable: u64,
}

impl Mem {
    /// Records `1..=n` on `sensors.t`, all durable.
    fn with(n: u64) -> Mem {
        let mut m = Mem {
            msgs: Vec::new(),
            durable: 0,
        };
        for seq in 1..=n {
            m.push(seq, b"sensors.t", b"");
        }
        m.durable = n;
        m
    }

    fn push(&mut self, seq: u64, subject: &[u8], headers: &[u8]) {
        self.msgs.push(StoredMsg {
            seq,
            timestamp_ns: NOW_NS,
            subject: subject.to_vec(),
            headers: headers.to_vec(),
            payload: format!("m{seq}").into_bytes(),
        });
    }

    /// Removes every record with `seq <= through` (limits, purge).
    fn remove_through(&mut self, through: u64) {
        self.msgs.retain(|m| m.seq > through);
    }
}

impl Records for Mem {
    fn next_from(&self, from: u64) -> Result<Option<StoredMsg>, String> {
        Ok(self.msgs.iter().find(|m| m.seq >= from).cloned())
    }

    fn first_seq(&self) -> u64 {
        self.msgs.first().map_or(self.last_seq() + 1, |m| m.seq)
    }

    fn last_seq(&self) -> u64 {
        self.durable
    }

    fn pending_from(&self, from: u64) -> (u64, u64) {
        self.msgs
            .iter()
            .filter(|m| m.seq >= from && m.seq <= self.durable)
            .fold((0, 0), |(n, b), m| (n + 1, b + m.payload.len() as u64))
    }
}

fn forwarder(cursor: u64) -> Forwarder {
    Forwarder::new(
        NODE,
        STREAM,
        Some(PREFIX),
        EPOCH,
        &["sensors.>".to_owned()],
        cursor,
    )
}

/// A PubAck from the hub stream `HUB`.
fn ack_json(seq: u64, duplicate: bool) -> Vec<u8> {
    if duplicate {
        format!(r#"{{"stream":"HUB","seq":{seq},"duplicate":true}}"#).into_bytes()
    } else {
        format!(r#"{{"stream":"HUB","seq":{seq}}}"#).into_bytes()
    }
}

/// An API error answer.
fn error_json(code: u16, err_code: u32, description: &str) -> Vec<u8> {
    format!(r#"{{"error":{{"code":{code},"err_code":{err_code},"description":"{description}"}}}}"#)
        .into_bytes()
}

/// A `STREAM.MSG.GET` answer whose message carries `Nats-Msg-Id: id`.
fn msg_get_json(id: &str) -> Vec<u8> {
    let block = format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n");
    let hdrs = base64::engine::general_purpose::STANDARD.encode(block);
    format!(
        r#"{{"type":"io.nats.jetstream.api.v1.stream_msg_get_response","message":{{"subject":"edge1.sensors.t","seq":99,"hdrs":"{hdrs}","data":"","time":"2024-01-01T00:00:00Z"}}}}"#
    )
    .into_bytes()
}

fn pump(fw: &mut Forwarder, src: &Mem, now: Instant) -> Vec<Frame> {
    let mut out = Vec::new();
    fw.pump(src, now, usize::MAX, &mut |_| true, INBOX, &mut out);
    out
}

/// What a frame's reply subject answers (the part after the inbox prefix).
fn reply_to(frame: &Frame) -> ReplyTo {
    let suffix = frame
        .reply
        .strip_prefix(INBOX)
        .unwrap_or_else(|| panic!("reply {:?} not under the inbox", frame.reply));
    ReplyTo::parse(suffix).unwrap_or_else(|| panic!("unparsable reply {:?}", frame.reply))
}

fn resolve_gen(frame: &Frame) -> u64 {
    match reply_to(frame) {
        ReplyTo::Resolve(gen) => gen,
        other => panic!("expected a resolve reply, got {other:?}"),
    }
}

/// The seq a publish frame carries, checked against its reply subject.
fn frame_seq(frame: &Frame) -> u64 {
    match reply_to(frame) {
        ReplyTo::Ack(seq) => seq,
        other => panic!("expected an ack reply, got {other:?}"),
    }
}

fn seqs(frames: &[Frame]) -> Vec<u64> {
    frames.iter().map(frame_seq).collect()
}

/// Answers the resolve requests the next two pumps make: the names request with `HUB`, the
/// last-by-subject request with `last` (`None`: no message on the filter yet).
fn resolve(fw: &mut Forwarder, src: &Mem, now: Instant, last: Option<&str>) {
    let out = pump(fw, src, now);
    assert_eq!(out.len(), 1, "one names request: {out:?}");
    assert_eq!(out[0].subject, b"$JS.API.STREAM.NAMES");
    assert_eq!(out[0].headers, None);
    let body: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
    assert_eq!(body["subject"], "edge1.sensors.>");
    let gen = resolve_gen(&out[0]);
    fw.on_reply(ReplyTo::Resolve(gen), None, br#"{"streams":["HUB"]}"#, now);

    let out = pump(fw, src, now);
    assert_eq!(out.len(), 1, "one last-message request: {out:?}");
    assert_eq!(out[0].subject, b"$JS.API.STREAM.MSG.GET.HUB");
    let body: serde_json::Value = serde_json::from_slice(&out[0].payload).unwrap();
    assert_eq!(body["last_by_subj"], "edge1.sensors.>");
    let gen = resolve_gen(&out[0]);
    let answer = match last {
        Some(id) => msg_get_json(id),
        None => error_json(404, 10037, "no message found"),
    };
    fw.on_reply(ReplyTo::Resolve(gen), None, &answer, now);
}

/// A forwarder over `src` with the link up and resolved (hub holds nothing of ours).
fn ready(src: &Mem, cursor: u64, now: Instant) -> Forwarder {
    let mut fw = forwarder(cursor);
    fw.link_ready();
    resolve(&mut fw, src, now, None);
    fw
}

fn ack(fw: &mut Forwarder, seq: u64, now: Instant) {
    fw.on_reply(ReplyTo::Ack(seq), None, &ack_json(100 + seq, false), now);
}

fn status(fw: &mut Forwarder, src: &Mem, now: Instant) -> ForwardStatus {
    fw.status(Some(src), now, NOW_NS)
}

#[test]
fn sends_records_in_order_with_msg_ids_under_the_prefix_up_to_the_window() {
    let now = Instant::now();
    let w = START_WINDOW as u64;
    let src = Mem::with(w + 36);
    let mut fw = ready(&src, 0, now);
    assert!(fw.wants_pump(src.last_seq()));

    // The first burst stops at the starting byte budget (the window would allow more).
    let out = pump(&mut fw, &src, now);
    let n = out.len() as u64;
    assert!(n > 0 && n < w, "bounded by bytes, not the window: {n}");
    assert_eq!(seqs(&out), (1..=n).collect::<Vec<_>>());
    for f in &out {
        let seq = frame_seq(f);
        assert_eq!(f.subject, b"edge1.sensors.t");
        assert_eq!(f.reply, format!("_INBOX.up.fwd.a.{seq}").into_bytes());
        assert_eq!(f.payload, format!("m{seq}").into_bytes());
        let id = format!("edge1:SENSORS:42:{seq}");
        assert_eq!(id, msg_id(NODE, STREAM, EPOCH, seq));
        let headers = f.headers.as_deref().expect("publishes carry headers");
        assert_eq!(header_value(headers, "Nats-Msg-Id"), Some(id.as_bytes()));
        assert_eq!(
            headers,
            format!("NATS/1.0\r\nNats-Msg-Id: {id}\r\n\r\n").as_bytes()
        );
    }
    let st = status(&mut fw, &src, now);
    assert_eq!(st.in_flight as u64, n);
    assert!(
        st.in_flight_bytes < START_BYTES + 256,
        "{}",
        st.in_flight_bytes
    );
    assert_eq!(st.window, START_WINDOW);
    assert_eq!(st.state, "sending");

    // The budget is spent: nothing more until acks.
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());

    // Acks free bytes; refills wait for an eighth of the budget (fewer, larger writes).
    ack(&mut fw, 1, now);
    assert!(!fw.wants_pump(src.last_seq()));
    for seq in 2..=n / 4 {
        ack(&mut fw, seq, now);
    }
    assert!(
        fw.wants_pump(src.last_seq()),
        "an eighth of the budget is free"
    );
    let out = pump(&mut fw, &src, now);
    assert_eq!(seqs(&out)[0], n + 1, "continues in order");
}

#[test]
fn the_byte_budget_follows_the_acknowledged_rate() {
    let mut now = Instant::now();
    let src = Mem::with(100_000);
    let mut fw = ready(&src, 0, now);
    // A slow link: each 100 ms the hub acknowledges what was sent 100 ms earlier.
    let mut sent = Vec::new();
    for _ in 0..20 {
        sent.extend(seqs(&pump(&mut fw, &src, now)));
        now += Duration::from_millis(100);
        for seq in sent.drain(..) {
            ack(&mut fw, seq, now);
        }
    }
    let st = status(&mut fw, &src, now);
    // About START_BYTES every 100 ms was acknowledged while backlogged: the budget settles
    // near half a second of that rate (capped by the window), never below the minimum.
    assert!(st.acked_bytes_per_sec > 0, "{st:?}");
    assert!(
        st.acked_bytes_per_sec as usize >= START_BYTES * 5,
        "rate {} B/s",
        st.acked_bytes_per_sec
    );
}

#[test]
fn room_limits_how_much_one_pump_sends() {
    let now = Instant::now();
    let src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    let mut out = Vec::new();
    fw.pump(&src, now, 1, &mut |_| true, INBOX, &mut out);
    assert_eq!(
        seqs(&out),
        vec![1],
        "one record when the link has little room"
    );
    out.clear();
    fw.pump(&src, now, 0, &mut |_| true, INBOX, &mut out);
    assert!(out.is_empty(), "no room: nothing sent");
}

#[test]
fn cursor_advances_only_over_the_contiguous_acked_prefix() {
    let now = Instant::now();
    let src = Mem::with(5);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2, 3, 4, 5]);
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 3, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 0, "3 acked but 1 and 2 are not");
    assert_eq!(st.forwarded, 1);
    assert_eq!(st.in_flight, 5);
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 1, now);
    assert_eq!(status(&mut fw, &src, now).cursor, 1);
    assert_eq!(fw.take_dirty_cursor(), Some(1));
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 2, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 3, "2 fills the gap up to the already acked 3");
    assert_eq!(st.in_flight, 2);
    assert_eq!(st.hub_stream, "HUB");
    assert_eq!(st.hub_seq, 102);
    assert_eq!(fw.take_dirty_cursor(), Some(3));
    assert_eq!(fw.take_dirty_cursor(), None);

    ack(&mut fw, 4, now);
    ack(&mut fw, 5, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 5);
    assert_eq!(st.forwarded, 5);
    assert_eq!(st.in_flight, 0);
    assert_eq!(st.pending_msgs, 0);
    assert_eq!(st.state, "idle");
    assert_eq!(fw.take_dirty_cursor(), Some(5));
}

#[test]
fn duplicate_ack_counts_as_an_ack() {
    let now = Instant::now();
    let src = Mem::with(2);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2]);

    fw.on_reply(ReplyTo::Ack(1), None, &ack_json(9, true), now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 1);
    assert_eq!(st.duplicates, 1);
    assert_eq!(st.forwarded, 1);
    assert_eq!(st.hub_seq, 9);
    assert_eq!(fw.take_dirty_cursor(), Some(1));

    ack(&mut fw, 2, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.cursor, 2);
    assert_eq!(st.duplicates, 1, "a plain ack is not a duplicate");
    assert_eq!(st.forwarded, 2);
}

#[test]
fn error_puback_pauses_then_resolves_and_resends_from_the_cursor() {
    let now = Instant::now();
    let src = Mem::with(3);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2, 3]);
    ack(&mut fw, 1, now);

    fw.on_reply(
        ReplyTo::Ack(2),
        None,
        &error_json(503, 10077, "maximum messages exceeded"),
        now,
    );
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert_eq!(st.cursor, 1);
    assert_eq!(st.in_flight, 0);
    let err = st.last_error.expect("the hub error is kept");
    assert!(err.contains("maximum messages exceeded"), "{err}");
    assert!(err.contains("10077"), "{err}");
    assert!(err.contains("seq 2"), "{err}");

    // Paused: nothing goes out, not even a resolve request.
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());
    assert!(pump(&mut fw, &src, now + Duration::from_millis(400)).is_empty());

    // After the pause: resolve again, then resend everything after the cursor.
    let later = now + Duration::from_millis(600);
    resolve(&mut fw, &src, later, None);
    let out = pump(&mut fw, &src, later);
    assert_eq!(seqs(&out), vec![2, 3]);

    ack(&mut fw, 2, later);
    ack(&mut fw, 3, later);
    let st = status(&mut fw, &src, later);
    assert_eq!(st.cursor, 3);
    assert_eq!(st.last_error, None, "a good ack clears the error");
}

#[test]
fn no_responders_on_a_publish_pauses() {
    let now = Instant::now();
    let src = Mem::with(1);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1]);
    fw.on_reply(ReplyTo::Ack(1), Some(b"NATS/1.0 503\r\n\r\n"), b"", now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert_eq!(st.cursor, 0);
    assert!(st.last_error.unwrap().contains("no responders"));
}

#[test]
fn ack_timeout_resends_from_the_cursor_with_half_the_window() {
    let now = Instant::now();
    let src = Mem::with(10);
    let mut fw = ready(&src, 0, now);
    assert_eq!(pump(&mut fw, &src, now).len(), 10);
    ack(&mut fw, 1, now);
    ack(&mut fw, 2, now);
    let window = status(&mut fw, &src, now).window;
    assert_eq!(window, START_WINDOW + 2, "one more per ack");

    // Not yet timed out: nothing is resent.
    let almost = now + ACK_TIMEOUT - Duration::from_millis(1);
    assert!(pump(&mut fw, &src, almost).is_empty());

    // It asks the hub what it holds before resending (here: none of the records in doubt),
    // so a duplicate window shorter than the wait cannot let a resend through twice.
    let late = now + ACK_TIMEOUT;
    resolve(&mut fw, &src, late, Some("edge1:SENSORS:42:2"));
    let out = pump(&mut fw, &src, late);
    assert_eq!(seqs(&out), (3..=10).collect::<Vec<_>>());
    let st = status(&mut fw, &src, late);
    assert_eq!(st.window, window / 2);
    assert_eq!(st.cursor, 2);
    assert_eq!(st.in_flight, 8);

    // The resend's acks move the cursor as usual.
    for seq in 3..=10 {
        ack(&mut fw, seq, late);
    }
    assert_eq!(status(&mut fw, &src, late).cursor, 10);
}

#[test]
fn ack_timeouts_never_shrink_the_window_below_the_minimum() {
    let mut now = Instant::now();
    let src = Mem::with(100);
    let mut fw = ready(&src, 0, now);
    for _ in 0..10 {
        assert!(!pump(&mut fw, &src, now).is_empty());
        now += ACK_TIMEOUT;
        resolve(&mut fw, &src, now, None);
    }
    let out = pump(&mut fw, &src, now);
    assert_eq!(status(&mut fw, &src, now).window, 4);
    assert_eq!(seqs(&out), vec![1, 2, 3, 4]);
}

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
fn no_hub_stream_pauses_with_the_filter_in_the_error() {
    let now = Instant::now();
    let src = Mem::with(3);
    let mut fw = forwarder(0);
    fw.link_ready();
    let out = pump(&mut fw, &src, now);
    let gen = resolve_gen(&out[0]);
    fw.on_reply(ReplyTo::Resolve(gen), None, br#"{"streams":null}"#, now);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert!(st.last_error.unwrap().contains("edge1.sensors.>"));
    assert!(pump(&mut fw, &src, now).is_empty());
}

#[test]
fn link_down_clears_in_flight_and_resending_restarts_after_the_cursor() {
    let now = Instant::now();
    let src = Mem::with(5);
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![1, 2, 3, 4, 5]);
    ack(&mut fw, 1, now);
    ack(&mut fw, 2, now);

    fw.link_down();
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "down");
    assert_eq!(st.in_flight, 0);
    assert_eq!(st.cursor, 2);
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());

    // A late ack from the old link is for nothing in flight.
    ack(&mut fw, 4, now);
    assert_eq!(status(&mut fw, &src, now).cursor, 2);

    fw.link_ready();
    assert!(fw.wants_pump(src.last_seq()));
    resolve(&mut fw, &src, now, None);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![3, 4, 5]);
}

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

#[test]
fn records_above_the_durable_limit_are_not_sent() {
    let now = Instant::now();
    let mut src = Mem::with(10);
    src.durable = 6;
    let mut fw = ready(&src, 0, now);
    assert_eq!(seqs(&pump(&mut fw, &src, now)), (1..=6).collect::<Vec<_>>());
    assert!(!fw.wants_pump(src.last_seq()));
    assert!(pump(&mut fw, &src, now).is_empty());

    src.durable = 10;
    assert!(fw.wants_pump(src.last_seq()));
    assert_eq!(seqs(&pump(&mut fw, &src, now)), vec![7, 8, 9, 10]);
}

#[test]
fn forward_headers_strips_msg_id_and_expected_headers_and_adds_ours() {
    let original = b"NATS/1.0\r\nA: 1\r\nNats-Msg-Id: theirs\r\nNats-Expected-Stream: S\r\nNats-Expected-Last-Sequence: 4\r\nB: two words\r\n\r\n";
    let out = forward_headers(original, "edge1:SENSORS:42:9");
    assert_eq!(
        out,
        b"NATS/1.0\r\nA: 1\r\nB: two words\r\nNats-Msg-Id: edge1:SENSORS:42:9\r\n\r\n".to_vec()
    );
    assert_eq!(
        header_value(&out, "Nats-Msg-Id"),
        Some(&b"edge1:SENSORS:42:9"[..])
    );
}

#[test]
fn forward_headers_of_an_empty_block() {
    assert_eq!(
        forward_headers(b"", "X"),
        b"NATS/1.0\r\nNats-Msg-Id: X\r\n\r\n"
    );
    assert_eq!(
        forward_headers(b"NATS/1.0\r\n\r\n", "X"),
        b"NATS/1.0\r\nNats-Msg-Id: X\r\n\r\n"
    );
}

#[test]
fn forwarded_records_keep_their_own_headers() {
    let now = Instant::now();
    let mut src = Mem::with(0);
    src.push(
        1,
        b"sensors.t",
        b"NATS/1.0\r\nUnit: C\r\nNats-Msg-Id: local\r\n\r\n",
    );
    src.durable = 1;
    let mut fw = ready(&src, 0, now);
    let out = pump(&mut fw, &src, now);
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].headers.as_deref(),
        Some(&b"NATS/1.0\r\nUnit: C\r\nNats-Msg-Id: edge1:SENSORS:42:1\r\n\r\n"[..])
    );
}

#[test]
fn no_hub_interest_pauses_without_sending() {
    let now = Instant::now();
    let src = Mem::with(3);
    let mut fw = ready(&src, 0, now);
    let mut asked = Vec::new();
    let mut out = Vec::new();
    fw.pump(
        &src,
        now,
        usize::MAX,
        &mut |s| {
            asked.push(s.to_vec());
            false
        },
        INBOX,
        &mut out,
    );
    assert!(out.is_empty());
    assert_eq!(asked, vec![b"edge1.sensors.t".to_vec()]);
    let st = status(&mut fw, &src, now);
    assert_eq!(st.state, "paused");
    assert_eq!(st.in_flight, 0);
    let err = st.last_error.expect("the reason is kept");
    assert!(err.contains("edge1.sensors.t"), "{err}");
    assert!(pump(&mut fw, &src, now).is_empty());
}

#[test]
fn reply_to_parse_round_trips_and_rejects_junk() {
    assert_eq!(ReplyTo::parse(b"a.5"), Some(ReplyTo::Ack(5)));
    assert_eq!(ReplyTo::parse(b"r.2"), Some(ReplyTo::Resolve(2)));
    for to in [ReplyTo::Ack(5), ReplyTo::Resolve(2), ReplyTo::Ack(u64::MAX)] {
        assert_eq!(ReplyTo::parse(to.suffix().as_bytes()), Some(to));
    }
    for junk in [
        &b""[..],
        b"a",
        b"a.",
        b"a5",
        b".5",
        b"x.5",
        b"a.b",
        b"a.-1",
        b"a.5.6",
        b"r. 2",
        b"\xff.1",
    ] {
        assert_eq!(
            ReplyTo::parse(junk),
            None,
            "{:?}",
            String::from_utf8_lossy(junk)
        );
    }
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
