//! The KV bench scenarios: `kv-put` (acked puts of `size`-byte values over 10,000 keys, 256
//! in flight) and `kv-get` (direct gets of those keys, 256 in flight), on a bucket made the
//! way async-nats makes one (`KV_bench` on `$KV.bench.>`, history 1, direct get on).
//!
//! Owns: the bucket and the two traffic shapes. The bucket is deleted before and after a run.

use std::io;
use std::time::Instant;

use super::js::{Js, WINDOW};
use super::scenario::Sample;

/// Keys the puts and gets cycle through.
pub(crate) const KEYS: u64 = 10_000;

fn fresh_bucket(js: &mut Js) -> io::Result<()> {
    js.delete_stream("KV_bench")?;
    js.request(
        "$JS.API.STREAM.CREATE.KV_bench",
        r#"{"name":"KV_bench","subjects":["$KV.bench.>"],"max_msgs_per_subject":1,"discard":"new","allow_rollup_hdrs":true,"deny_delete":true,"allow_direct":true,"storage":"file","num_replicas":1}"#,
    )?;
    Ok(())
}

/// `kv-put`: `msgs` acked puts over [`KEYS`] keys.
pub(crate) fn kv_put(addr: &str, size: usize, msgs: u64) -> io::Result<Sample> {
    let mut js = Js::connect(addr)?;
    fresh_bucket(&mut js)?;
    let start = Instant::now();
    js.publish_acked_keys("$KV.bench.k", KEYS, size, msgs, false)?;
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    js.delete_stream("KV_bench")?;
    Ok(Sample {
        rate: msgs as f64 / secs,
        msgs,
        payload_bytes: msgs * size as u64,
        ..Sample::default()
    })
}

/// `kv-get`: [`KEYS`] values stored (untimed), then `msgs` direct gets cycling over them.
pub(crate) fn kv_get(addr: &str, size: usize, msgs: u64) -> io::Result<Sample> {
    let mut js = Js::connect(addr)?;
    fresh_bucket(&mut js)?;
    js.publish_acked_keys("$KV.bench.k", KEYS, size, KEYS, false)?;
    let start = Instant::now();
    let (mut sent, mut got) = (0u64, 0u64);
    while got < msgs {
        while sent < msgs && sent - got < WINDOW {
            let inbox = js.inbox_for_bench();
            let subject = format!("$JS.API.DIRECT.GET.KV_bench.$KV.bench.k{}", sent % KEYS);
            js.conn()
                .publish(subject.as_bytes(), Some(inbox.as_bytes()), b"");
            sent += 1;
        }
        js.conn().flush()?;
        let mut missing = false;
        js.conn().receive(1, &mut |r| {
            missing |= r.status || r.len != size;
            got += 1;
        })?;
        if missing {
            return Err(io::Error::other("a direct get found no value"));
        }
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    js.delete_stream("KV_bench")?;
    Ok(Sample {
        rate: msgs as f64 / secs,
        msgs,
        ..Sample::default()
    })
}
