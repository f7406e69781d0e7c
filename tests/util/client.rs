//! async-nats helpers: connecting, bounded waits, and the round trip that proves the broker
//! has processed everything a client sent before it.
//!
//! Trap: `Client::flush()` only writes the client's buffer to the socket; it does not wait for
//! the broker to process anything. Before relying on a subscription, call [`sync`].

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};

use async_nats::{Client, ConnectOptions, Message, Subscriber};
use futures::{FutureExt as _, StreamExt as _};

use super::{timeout, Broker};

/// A process-wide unique suffix for subjects, so tests never collide.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}.{}.{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Awaits `fut`, failing the test with `what` if it takes longer than [`timeout`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(timeout(), fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {:?}: {what}", timeout()),
    }
}

/// Connects async-nats with default options.
pub async fn client(broker: &Broker) -> Client {
    client_with(broker, ConnectOptions::new()).await
}

/// Connects async-nats with `opts`.
pub async fn client_with(broker: &Broker, opts: ConnectOptions) -> Client {
    within("async-nats connect", opts.connect(broker.url()))
        .await
        .unwrap_or_else(|e| panic!("async-nats could not connect to {}: {e}", broker.url()))
}

/// Returns once the broker has processed every command `client` sent before this call: the
/// client subscribes to a fresh subject and publishes to it; the broker handles one
/// connection's commands in order, so the message coming back proves the earlier SUBs are in
/// place. Needs echo (the default).
pub async fn sync(client: &Client) {
    let subject = unique("_SYNC");
    let mut sub = client
        .subscribe(subject.clone())
        .await
        .expect("sync subscribe");
    client
        .publish(subject, "".into())
        .await
        .expect("sync publish");
    within("sync round trip", sub.next())
        .await
        .expect("sync subscription closed");
    sub.unsubscribe().await.expect("sync unsubscribe");
}

/// The next message on `sub`, failing the test if none arrives within the timeout.
pub async fn next_msg(sub: &mut Subscriber) -> Message {
    within("waiting for a message", sub.next())
        .await
        .expect("subscription ended while waiting for a message")
}

/// The messages already delivered to `sub`, without waiting. Call after [`sync`] on the
/// subscriber's client to see everything the broker sent it so far.
pub fn ready_msgs(sub: &mut Subscriber) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(Some(m)) = sub.next().now_or_never() {
        out.push(m);
    }
    out
}

/// Payload as UTF-8 text (tests use ASCII payloads).
pub fn text(m: &Message) -> String {
    String::from_utf8_lossy(&m.payload).into_owned()
}
