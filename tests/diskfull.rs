//! Disk full (ENOSPC): JetStream publishes get a JSON error, core pub/sub keeps working, and
//! once space returns publishing works again without a restart.
//!
//! The store lives on a 1 MiB tmpfs mounted for the test, so the test needs root (or
//! CAP_SYS_ADMIN), which `tests/run.sh` has in CI.
//!
//! leafd-only promise: nats-server 2.15.1 in the same situation sends no PubAck at all (the
//! client times out), so this test is not validated against it.

use std::future::IntoFuture as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use async_nats::jetstream::{self, stream};
use futures::StreamExt as _;

use crate::util::{client, sync, within, Broker, Limits, MIB};

/// A tmpfs mounted for the test's lifetime.
struct Tmpfs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::Builder::new()
            .prefix("leafd-tmpfs-")
            .tempdir()
            .expect("create mount point");
        let path = dir.path().to_path_buf();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a tmpfs failed ({}): this test needs root or CAP_SYS_ADMIN \
             (tests/run.sh runs as root in CI)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Tmpfs { _dir: dir, path }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test]
async fn issue_3_disk_full_refuses_publishes_keeps_core_and_recovers() {
    let fs = Tmpfs::mount("1m");
    let broker = Broker::start_with_store(
        Limits {
            store_max_bytes: Some(64 * MIB),
            ..Limits::default()
        },
        &fs.path().join("store"),
    );
    let nc = client(&broker).await;
    let js = jetstream::new(nc.clone());
    within(
        "create stream",
        js.create_stream(stream::Config {
            name: "FULL".into(),
            subjects: vec!["full.>".into()],
            ..Default::default()
        }),
    )
    .await
    .expect("create stream FULL");
    // Fill the disk: 4 KiB messages until a publish is refused.
    let payload = vec![b'f'; 4096];
    let mut stored = 0u64;
    let refusal = loop {
        assert!(
            stored < 1000,
            "1000 x 4 KiB were all acked on a 1 MiB file system"
        );
        let ack = within("publish", async {
            js.publish("full.x", payload.clone().into())
                .await
                .expect("publish sent")
                .await
        })
        .await;
        match ack {
            Ok(_) => stored += 1,
            Err(e) => break e,
        }
    };
    assert!(stored > 0, "nothing was stored before the disk filled up");
    let text = refusal.to_string();
    assert!(
        text.contains("10077") || text.contains("10047") || text.contains("space"),
        "the refusal says why: {text}"
    );
    // Core pub/sub is unaffected.
    let mut sub = nc.subscribe("core.still.works").await.expect("subscribe");
    sync(&nc).await;
    nc.publish("core.still.works", "yes".into())
        .await
        .expect("core publish");
    let got = within("core delivery", sub.next())
        .await
        .expect("a message");
    assert_eq!(&got.payload[..], b"yes");
    // Space returns (the stream is purged); publishing works again by itself.
    let mut s = within("get stream", js.get_stream("FULL"))
        .await
        .expect("stream");
    within("purge", s.purge().into_future())
        .await
        .expect("purge");
    let seq = within("publish after space returned", async {
        loop {
            match js
                .publish("full.x", "back".into())
                .await
                .expect("sent")
                .await
            {
                Ok(ack) => break ack.sequence,
                // Publishes are refused for a moment after the failure; then retried.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    })
    .await;
    let msg = within("read back", s.get_raw_message(seq))
        .await
        .expect("the new message is stored");
    assert_eq!(&msg.payload[..], b"back");
    let info = within("info", s.info()).await.expect("info");
    assert_eq!(info.state.messages, 1, "{:?}", info.state);
}
