//! Pull consumers: config, create-request rules, the delivery and ack state machine, and the
//! ack-subject and status-message wire forms.
//!
//! Owns: a consumer's cursor, pending acks, redelivery, waiting pull requests and its
//! persisted state. Must not: own messages (it reads them through `MessageSource`) or do
//! I/O. Hands off to: the engine, which routes what the consumer emits.
//!
//! Not built yet (being written on the `consumer` branch).
