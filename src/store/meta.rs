//! Metadata in sled: stream configs, consumer states and the store epoch.
//!
//! Not built yet (being written on the `meta` branch).
