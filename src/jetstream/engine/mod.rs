//! The JetStream engine: streams and their consumers, `$JS.API` dispatch, capture of
//! publishes into streams, and pub-acks released after group commit.
//!
//! Not built yet.
