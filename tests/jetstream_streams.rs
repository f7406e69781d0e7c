//! async-nats stream management and publishing against JetStream: create (idempotent and
//! conflicting), info, update, names and list, delete; PubAcks, `Nats-Msg-Id` dedupe, the
//! expected-* headers, core publishes being stored, message get/delete, purge forms and
//! stream limits with discard old and new. Validated against nats-server 2.15.1 -js.

use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::stream::{self, DiscardPolicy};
use async_nats::jetstream::{self, message::PublishMessage};
use std::future::IntoFuture as _;

use futures::TryStreamExt as _;

use crate::util::js::{js, make_stream, make_stream_with, publish};
use crate::util::{client, sync, within, Broker};

/// Sends `msg` to `subject` and returns the ack or the error.
async fn send(
    js: &jetstream::Context,
    subject: &str,
    msg: PublishMessage,
) -> Result<jetstream::publish::PublishAck, jetstream::context::PublishError> {
    within("publish + ack", async {
        js.send_publish(subject.to_owned(), msg)
            .await
            .expect("publish sent")
            .await
    })
    .await
}

#[tokio::test]
async fn stream_create_info_update_list_delete() {
    let b = Broker::start();
    let js = js(&b).await;
    let cfg = stream::Config {
        name: "ORDERS".into(),
        subjects: vec!["orders.*".into()],
        ..Default::default()
    };
    let mut s = make_stream_with(&js, cfg.clone()).await;
    let info = within("info", s.info()).await.expect("info");
    assert_eq!(info.config.name, "ORDERS");
    assert_eq!(info.config.subjects, vec!["orders.*".to_owned()]);
    assert_eq!(
        info.config.max_messages, -1,
        "0 from the client is normalised to -1"
    );
    assert_eq!(info.config.num_replicas, 1);
    assert_eq!(info.state.messages, 0);
    // Creating the same stream again is fine; with another config it is refused.
    within("create again", js.create_stream(cfg.clone()))
        .await
        .expect("idempotent create");
    let other = stream::Config {
        max_messages: 10,
        ..cfg.clone()
    };
    let err = within("create different", js.create_stream(other))
        .await
        .expect_err("a different config under the same name is refused");
    assert!(err.to_string().contains("10058"), "{err}");
    // get_or_create finds it.
    within("get_or_create", js.get_or_create_stream(cfg.clone()))
        .await
        .expect("get_or_create_stream");
    // Update a limit.
    let updated = within(
        "update",
        js.update_stream(stream::Config {
            max_messages: 100,
            ..cfg.clone()
        }),
    )
    .await
    .expect("update stream");
    assert_eq!(updated.config.max_messages, 100);
    // Overlapping subjects are refused.
    let err = within(
        "overlap",
        js.create_stream(stream::Config {
            name: "OVERLAP".into(),
            subjects: vec!["orders.>".into()],
            ..Default::default()
        }),
    )
    .await
    .expect_err("overlapping subjects are refused");
    assert!(err.to_string().contains("10065"), "{err}");
    make_stream(&js, "OTHER", &["other.>"]).await;
    let names: Vec<String> = within("names", js.stream_names().try_collect())
        .await
        .expect("stream names");
    let mut names = names;
    names.sort();
    assert_eq!(names, vec!["ORDERS".to_owned(), "OTHER".to_owned()]);
    let infos: Vec<stream::Info> = within("list", js.streams().try_collect())
        .await
        .expect("stream list");
    assert_eq!(infos.len(), 2);
    within("delete", js.delete_stream("OTHER"))
        .await
        .expect("delete stream");
    let err = within("get deleted", js.get_stream("OTHER"))
        .await
        .expect_err("a deleted stream is gone");
    assert!(err.to_string().contains("10059"), "{err}");
}

#[tokio::test]
async fn publish_acks_dedupe_and_expectations() {
    let b = Broker::start();
    let js = js(&b).await;
    make_stream(&js, "PUB", &["pub.>"]).await;
    let ack = publish(&js, "pub.a", "one").await;
    assert_eq!(
        (ack.stream.as_str(), ack.sequence, ack.duplicate),
        ("PUB", 1, false)
    );
    // Dedupe by Nats-Msg-Id: the same seq, duplicate = true, stored once.
    let first = send(
        &js,
        "pub.a",
        PublishMessage::build()
            .payload("x".into())
            .message_id("id-1"),
    )
    .await
    .expect("first");
    let again = send(
        &js,
        "pub.a",
        PublishMessage::build()
            .payload("x".into())
            .message_id("id-1"),
    )
    .await
    .expect("duplicate");
    assert_eq!(first.sequence, 2);
    assert_eq!(again.sequence, 2);
    assert!(again.duplicate && !first.duplicate);
    // Expected last sequence.
    send(
        &js,
        "pub.b",
        PublishMessage::build()
            .payload("y".into())
            .expected_last_sequence(2),
    )
    .await
    .expect("right last sequence");
    let err = send(
        &js,
        "pub.b",
        PublishMessage::build()
            .payload("z".into())
            .expected_last_sequence(1),
    )
    .await
    .expect_err("wrong last sequence");
    assert_eq!(err.kind(), PublishErrorKind::WrongLastSequence, "{err}");
    // Expected last subject sequence (0 = the subject must be new).
    send(
        &js,
        "pub.new",
        PublishMessage::build()
            .payload("n".into())
            .expected_last_subject_sequence(0),
    )
    .await
    .expect("first on a new subject");
    let err = send(
        &js,
        "pub.new",
        PublishMessage::build()
            .payload("n".into())
            .expected_last_subject_sequence(0),
    )
    .await
    .expect_err("subject exists now");
    assert_eq!(err.kind(), PublishErrorKind::WrongLastSequence, "{err}");
    // Expected last msg id and expected stream.
    send(
        &js,
        "pub.c",
        PublishMessage::build()
            .payload("c".into())
            .message_id("id-2"),
    )
    .await
    .expect("with an id");
    send(
        &js,
        "pub.c",
        PublishMessage::build()
            .payload("c".into())
            .message_id("id-3")
            .expected_last_message_id("id-2"),
    )
    .await
    .expect("right last msg id");
    let err = send(
        &js,
        "pub.c",
        PublishMessage::build()
            .payload("c".into())
            .expected_last_message_id("nope"),
    )
    .await
    .expect_err("wrong last msg id");
    assert_eq!(err.kind(), PublishErrorKind::WrongLastMessageId, "{err}");
    let err = send(
        &js,
        "pub.c",
        PublishMessage::build()
            .payload("c".into())
            .expected_stream("OTHER"),
    )
    .await
    .expect_err("wrong stream");
    assert!(err.to_string().contains("10060"), "{err}");
    // No stream for the subject: no responders.
    let err = within("publish nowhere", async {
        js.publish("nostream.x", "?".into())
            .await
            .expect("sent")
            .await
    })
    .await
    .expect_err("no stream captures nostream.x");
    assert_eq!(err.kind(), PublishErrorKind::StreamNotFound, "{err}");
    let mut s = js.get_stream("PUB").await.expect("stream");
    let info = within("info", s.info()).await.expect("info");
    assert_eq!(info.state.messages, 6, "{:?}", info.state);
    assert_eq!(info.state.last_sequence, 6);
}

#[tokio::test]
async fn core_publishes_are_stored_and_messages_can_be_read_and_deleted() {
    let b = Broker::start();
    let nc = client(&b).await;
    let js = jetstream::new(nc.clone());
    let s = make_stream(&js, "CORE", &["core.>"]).await;
    nc.publish("core.a", "plain".into())
        .await
        .expect("core publish");
    nc.publish("core.b", "second".into())
        .await
        .expect("core publish");
    sync(&nc).await;
    publish(&js, "core.a", "third").await;
    let m = within("get 1", s.get_raw_message(1)).await.expect("seq 1");
    assert_eq!(
        (m.subject.as_str(), &m.payload[..]),
        ("core.a", &b"plain"[..])
    );
    let last = within(
        "last by subject",
        s.get_last_raw_message_by_subject("core.a"),
    )
    .await
    .expect("last on core.a");
    assert_eq!((last.sequence, &last.payload[..]), (3, &b"third"[..]));
    assert!(within("delete", s.delete_message(2))
        .await
        .expect("delete seq 2"));
    let err = within("get deleted", s.get_raw_message(2))
        .await
        .expect_err("seq 2 is gone");
    assert!(err.to_string().contains("no message found"), "{err}");
    let err = within("delete again", s.delete_message(2))
        .await
        .expect_err("deleting twice fails");
    assert!(err.to_string().contains("10043"), "{err}");
}

#[tokio::test]
async fn purge_all_with_filter_and_keep() {
    let b = Broker::start();
    let js = js(&b).await;
    let mut s = make_stream(&js, "PURGE", &["purge.>"]).await;
    for i in 0..10 {
        publish(
            &js,
            if i % 2 == 0 {
                "purge.even"
            } else {
                "purge.odd"
            },
            &i.to_string(),
        )
        .await;
    }
    let r = within("purge filter", s.purge().filter("purge.even").into_future())
        .await
        .expect("purge with filter");
    assert_eq!(r.purged, 5);
    let r = within("purge keep", s.purge().keep(2).into_future())
        .await
        .expect("purge keep 2");
    assert_eq!(r.purged, 3);
    let info = within("info", s.info()).await.expect("info");
    assert_eq!(info.state.messages, 2);
    assert_eq!(info.state.last_sequence, 10);
    let r = within("purge all", s.purge().into_future())
        .await
        .expect("purge");
    assert_eq!(r.purged, 2);
    let info = within("info", s.info()).await.expect("info");
    assert_eq!((info.state.messages, info.state.first_sequence), (0, 11));
}

#[tokio::test]
async fn limits_discard_old_and_new_per_subject_and_size() {
    let b = Broker::start();
    let js = js(&b).await;
    // discard old: the oldest goes.
    let mut old = make_stream_with(
        &js,
        stream::Config {
            name: "OLD".into(),
            subjects: vec!["old.>".into()],
            max_messages: 3,
            ..Default::default()
        },
    )
    .await;
    for i in 1..=5 {
        publish(&js, "old.x", &i.to_string()).await;
    }
    let info = within("info", old.info()).await.expect("info");
    assert_eq!(
        (
            info.state.messages,
            info.state.first_sequence,
            info.state.last_sequence
        ),
        (3, 3, 5)
    );
    // discard new: the newest is refused.
    make_stream_with(
        &js,
        stream::Config {
            name: "NEW".into(),
            subjects: vec!["new.>".into()],
            max_messages: 2,
            discard: DiscardPolicy::New,
            ..Default::default()
        },
    )
    .await;
    publish(&js, "new.x", "1").await;
    publish(&js, "new.x", "2").await;
    let err = within("publish over the limit", async {
        js.publish("new.x", "3".into()).await.expect("sent").await
    })
    .await
    .expect_err("discard new refuses the third");
    assert!(
        err.to_string().contains("maximum messages exceeded"),
        "{err}"
    );
    // max_messages_per_subject keeps the newest per subject.
    let mut per = make_stream_with(
        &js,
        stream::Config {
            name: "PER".into(),
            subjects: vec!["per.>".into()],
            max_messages_per_subject: 2,
            ..Default::default()
        },
    )
    .await;
    for i in 0..5 {
        publish(&js, "per.a", &format!("a{i}")).await;
        publish(&js, "per.b", &format!("b{i}")).await;
    }
    let info = within("info", per.info()).await.expect("info");
    assert_eq!(info.state.messages, 4);
    let last = within("last a", per.get_last_raw_message_by_subject("per.a"))
        .await
        .expect("per.a");
    assert_eq!(&last.payload[..], b"a4");
    // max_msg_size.
    make_stream_with(
        &js,
        stream::Config {
            name: "SIZE".into(),
            subjects: vec!["size.>".into()],
            max_message_size: 16,
            ..Default::default()
        },
    )
    .await;
    publish(&js, "size.x", "small").await;
    let err = within("too big", async {
        js.publish("size.x", "x".repeat(100).into())
            .await
            .expect("sent")
            .await
    })
    .await
    .expect_err("larger than max_msg_size");
    assert!(err.to_string().contains("10054"), "{err}");
}
