//! async-nats JetStream helpers shared by the `jetstream_*` modules.

use async_nats::jetstream::{self, consumer, kv, stream, Context};
use futures::{StreamExt as _, TryStreamExt as _};

use super::{client, within, Broker};

/// A JetStream context on a fresh connection.
pub async fn js(broker: &Broker) -> Context {
    jetstream::new(client(broker).await)
}

/// Creates a file stream `name` on `subjects` (everything else default).
pub async fn make_stream(js: &Context, name: &str, subjects: &[&str]) -> stream::Stream {
    make_stream_with(
        js,
        stream::Config {
            name: name.into(),
            subjects: subjects.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        },
    )
    .await
}

/// Creates a stream from `config`.
pub async fn make_stream_with(js: &Context, config: stream::Config) -> stream::Stream {
    let name = config.name.clone();
    within("create stream", js.create_stream(config))
        .await
        .unwrap_or_else(|e| panic!("create stream {name}: {e}"))
}

/// Publishes and waits for the PubAck; panics on an error.
pub async fn publish(js: &Context, subject: &str, payload: &str) -> jetstream::publish::PublishAck {
    within("publish + ack", async {
        js.publish(subject.to_owned(), payload.to_owned().into())
            .await
            .expect("publish sent")
            .await
    })
    .await
    .unwrap_or_else(|e| panic!("publish to {subject}: {e}"))
}

/// A durable pull consumer with explicit acks.
pub async fn pull_consumer(
    stream: &stream::Stream,
    config: consumer::pull::Config,
) -> consumer::Consumer<consumer::pull::Config> {
    within("create consumer", stream.create_consumer(config))
        .await
        .expect("create consumer")
}

/// Fetches up to `n` messages (no_wait), as async-nats `fetch()` does.
pub async fn fetch(
    c: &consumer::Consumer<consumer::pull::Config>,
    n: usize,
) -> Vec<jetstream::Message> {
    let mut batch = within("fetch", c.fetch().max_messages(n).messages())
        .await
        .expect("fetch request");
    let mut out = Vec::new();
    while let Some(m) = within("fetch messages", batch.next()).await {
        out.push(m.expect("fetched message"));
    }
    out
}

/// The payload as text.
pub fn text(m: &jetstream::Message) -> String {
    String::from_utf8_lossy(&m.payload).into_owned()
}

/// Every kept revision of `key` in `kv`, oldest first.
pub async fn kv_history(kv: &kv::Store, key: &str) -> Vec<kv::Entry> {
    within("history", async {
        kv.history(key).await.expect("history").try_collect().await
    })
    .await
    .expect("history")
}
