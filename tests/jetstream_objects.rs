//! Object store (issue 5): async-nats `create_object_store`, `put` of a multi-chunk object,
//! `get` back byte for byte, `info`, `list`, `watch`, `delete`, `seal`, and the bucket intact
//! after a restart. The object store is streams, rollups, direct gets and ordered consumers
//! underneath, so this is the whole JetStream surface working together. Validated against
//! nats-server 2.15.1 -js.

use async_nats::jetstream::object_store;
use futures::StreamExt as _;
use tokio::io::AsyncReadExt as _;

use crate::util::js::js;
use crate::util::{within, Broker};

/// Reads object `name` from `bucket` whole.
async fn read_all(bucket: &object_store::ObjectStore, name: &str) -> Vec<u8> {
    let mut obj = within("get object", bucket.get(name))
        .await
        .expect("object exists");
    let mut data = Vec::new();
    within("read object", obj.read_to_end(&mut data))
        .await
        .expect("read");
    data
}

#[tokio::test]
async fn an_object_store_session_and_a_restart() {
    let mut b = Broker::start();
    let js = js(&b).await;
    let bucket = within(
        "create object store",
        js.create_object_store(object_store::Config {
            bucket: "firmware".into(),
            ..Default::default()
        }),
    )
    .await
    .expect("bucket");
    // 300 KiB: three chunks of async-nats' 128 KiB, the last one partial.
    let image: Vec<u8> = (0..300 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let info = within("put", bucket.put("image-1.2.bin", &mut image.as_slice()))
        .await
        .expect("put");
    assert_eq!((info.size, info.chunks), (image.len(), 3));
    within("put small", bucket.put("notes.txt", &mut &b"v1.2"[..]))
        .await
        .expect("put");
    assert_eq!(read_all(&bucket, "image-1.2.bin").await, image);

    let mut watch = within("watch", bucket.watch()).await.expect("watch");
    within("replace", bucket.put("notes.txt", &mut &b"v1.3"[..]))
        .await
        .expect("put");
    let seen = within("watch update", watch.next())
        .await
        .expect("open")
        .expect("info");
    assert_eq!((seen.name.as_str(), seen.size), ("notes.txt", 4));

    within("delete", bucket.delete("notes.txt"))
        .await
        .expect("delete");
    assert!(within("get deleted", bucket.get("notes.txt"))
        .await
        .is_err());
    let names: Vec<String> = within("list", async {
        let mut list = bucket.list().await.expect("list");
        let mut names = Vec::new();
        while let Some(o) = list.next().await {
            names.push(o.expect("object info").name);
        }
        names
    })
    .await;
    assert_eq!(names, ["image-1.2.bin"]);

    b.restart();
    let js = crate::util::js::js(&b).await;
    let mut bucket = within("get object store", js.get_object_store("firmware"))
        .await
        .expect("bucket after restart");
    assert_eq!(read_all(&bucket, "image-1.2.bin").await, image);
    within("seal", bucket.seal()).await.expect("seal");
    assert!(
        within("put sealed", bucket.put("late", &mut &b"x"[..]))
            .await
            .is_err(),
        "a sealed bucket refuses writes"
    );
}
