//! The durable store (in progress): see the files below.
pub mod error;
pub mod record;
