//! A stream: its config, its message log (segment files or memory) and the in-memory indexes
//! that limits, dedupe and lookups need.
//!
//! Owns: stream limits (max_msgs, max_bytes, max_age, max_msg_size, max_msgs_per_subject,
//! discard old/new), the dedupe window, per-subject lookups, purge and message delete.
//! Must not: know consumers, the router or sockets. Hands off to: the engine, which decides
//! when to sync and when acks go out.
//!
//! Not built yet (being written on the `stream` branch).
