//! Errors of the store layer.
//!
//! Owns: [`StoreError`], the one error enum of `store/`, with a hand-written `Display`.
//! Must not: allocate on the hot path for anything but I/O failures (which carry their path),
//! or panic. Hands off to: the caller (later JetStream), which logs it once.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use super::record::RecordError;

/// What can go wrong in the store.
#[derive(Debug)]
pub enum StoreError {
    /// An I/O call failed on this file or directory.
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The record (header + subject + headers + payload) is larger than the configured
    /// `max_record`, or its subject is longer than `u16::MAX`.
    RecordTooLarge {
        /// Encoded size of the record that was refused.
        len: usize,
        /// The configured bound.
        max: usize,
    },
    /// A record that the in-memory index says is valid failed to decode when read back
    /// (the file changed under us, or the medium returned different bytes).
    Corrupt {
        /// The sequence that was being read.
        seq: u64,
        /// What the decoder said.
        kind: RecordError,
    },
    /// The configuration handed to `open` is unusable (e.g. `segment_bytes` of 0).
    Config(&'static str),
    /// The sled metadata store at this path failed in a way that is not plain I/O: sled
    /// reported corruption or a bug, a value has the wrong shape, or a name is not a valid key.
    Meta {
        /// The metadata directory (`<store dir>/meta`).
        path: PathBuf,
        /// What went wrong, in one line.
        message: String,
    },
}

impl StoreError {
    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: &Path, source: io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Io { path, source } => {
                write!(f, "io error on {}: {}", path.display(), source)
            }
            StoreError::RecordTooLarge { len, max } => {
                write!(f, "record too large: {len} bytes, max {max}")
            }
            StoreError::Corrupt { seq, kind } => {
                write!(f, "record {seq} is corrupt on read: {kind}")
            }
            StoreError::Config(what) => write!(f, "invalid store config: {what}"),
            StoreError::Meta { path, message } => {
                write!(f, "metadata store {}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
