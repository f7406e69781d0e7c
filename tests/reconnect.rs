//! Client reconnection: the broker is killed and restarted on the same port; async-nats
//! reconnects on its own and re-sends its subscriptions, which must work again.

use std::time::Duration;

use async_nats::{ConnectOptions, Event};
use tokio::sync::mpsc;

use crate::util::{client, client_with, next_msg, sync, text, unique, within, Broker};

/// Waits for `want` on the event channel, skipping other events.
async fn wait_for(events: &mut mpsc::UnboundedReceiver<Event>, want: Event) {
    let what = format!("client event `{want}`");
    within(&what, async {
        loop {
            match events.recv().await {
                Some(e) if e.to_string() == want.to_string() => return,
                Some(_) => {}
                None => panic!("event channel closed"),
            }
        }
    })
    .await
}

#[tokio::test]
async fn client_resubscribes_after_a_broker_restart() {
    let mut b = Broker::start();
    let (tx, mut events) = mpsc::unbounded_channel();
    let opts = ConnectOptions::new()
        // Retry quickly: the broker is back within moments (slower under qemu).
        .reconnect_delay_callback(|_| Duration::from_millis(100))
        .event_callback(move |e| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(e);
            }
        });
    let c = client_with(&b, opts).await;
    let subject = unique("re");
    let mut sub = c.subscribe(subject.clone()).await.unwrap();
    sync(&c).await;
    c.publish(subject.clone(), "before".into()).await.unwrap();
    assert_eq!(text(&next_msg(&mut sub).await), "before");

    b.restart();
    wait_for(&mut events, Event::Disconnected).await;
    wait_for(&mut events, Event::Connected).await;
    // The SUBs are re-sent before anything queued after the reconnect.
    sync(&c).await;

    let other = client(&b).await;
    other
        .publish(subject.clone(), "after".into())
        .await
        .unwrap();
    assert_eq!(text(&next_msg(&mut sub).await), "after");
    c.publish(subject, "own".into()).await.unwrap();
    assert_eq!(text(&next_msg(&mut sub).await), "own");
}
