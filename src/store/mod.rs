//! The durable store: one append-only segment log per stream for message payloads.
//!
//! Owns: the record format ([`record`]), segment files and their indexes ([`segment`]),
//! their delete marks ([`marks`]),
//! the per-stream log with rolling, deletes, eviction, compaction and group commit
//! ([`log`]), recovery at open ([`recovery`]), the in-memory twin and the [`MessageLog`]
//! trait ([`mem`]), sled metadata ([`meta`]), and [`StoreError`]. Must not: know streams,
//! consumers, limits policy or sockets; block the event loop on fsync unless the caller asks
//! (`sync`); panic on any file content. Hands off to: JetStream, which decides what to
//! append, evict and when to sync and compact.
//!
//! # Durability contract
//! After `append` returns, the message has a seq and is readable, but lives only in a
//! user-space buffer: a crash of the process loses it. After `flush` (or once the buffer
//! passes `write_buffer`, or a segment rolls) it is in the OS page cache: it survives the
//! process being killed, but not a power cut. After `sync` (or a [`SyncHandle`] run, then
//! [`SegmentLog::synced`]) returns seq `S`, every message with seq ≤ `S`, every delete mark,
//! every evicted or purged segment and every created segment file made before it is on the
//! device (`fdatasync` of each written file, then `fsync` of the directory): ack only then.
//! After a crash, recovery keeps every synced record, plus possibly a contiguous prefix of the
//! unsynced ones; unsynced deletes may come back (redelivery, never loss). Dropping a
//! [`SegmentLog`] does not flush: call `sync` before a clean shutdown.

pub mod error;
pub mod log;
pub mod marks;
pub mod mem;
pub mod meta;
pub mod record;
pub mod recovery;
pub mod segment;
pub mod stored;
pub mod sync;

#[cfg(test)]
mod compact_tests;
#[cfg(test)]
mod log_tests;
#[cfg(test)]
mod model_tests;

pub use error::StoreError;
pub use log::{
    disk_usage, CompactDone, CompactJob, Evicted, LogConfig, SegmentLog, StoredMsg, SyncHandle,
};
pub use mem::{MemLog, MessageLog};
pub use record::{RecordError, RecordRef};
pub use recovery::{Damage, Quarantined, Recovery};
