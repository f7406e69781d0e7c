//! [`ConfigError`]: every way building a [`Config`](super::Config) can fail, as one line.
//!
//! Owns: the error enum and its wording. Must not: print anything (main prints it, once).
//! Hands off to: `main`, which prints `leafd: <error>` and exits with code 2.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be built. Every variant displays as one line that names
/// the file and/or the key at fault, so an operator can fix it without reading docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The config file could not be read.
    Read {
        /// The path given with `--config`.
        path: PathBuf,
        /// The OS's reason, without the `(os error N)` suffix.
        reason: String,
    },
    /// TOML syntax error, a value of the wrong type or an unknown key, in a file.
    Parse {
        /// File name as the operator knows it (`leafd.toml`, `boards/rpi4.toml (embedded)`).
        file: String,
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column of the offending text.
        column: usize,
        /// Dotted key (`limits.max_payload`) when it can be told from the text.
        key: Option<String>,
        /// What is wrong, on one line.
        message: String,
    },
    /// `--board` or `board = "..."` names a profile this binary does not embed.
    UnknownBoard {
        /// The name asked for.
        name: String,
        /// Every embedded profile name.
        known: Vec<&'static str>,
    },
    /// A value is out of range or inconsistent with another key.
    Invalid {
        /// Dotted key, e.g. `limits.max_payload`.
        key: &'static str,
        /// What is wrong and what was given, e.g. `must be between 1 byte and 64 MiB (got 0)`.
        message: String,
    },
}

impl ConfigError {
    /// Shorthand for [`ConfigError::Invalid`].
    pub(crate) fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key,
            message: message.into(),
        }
    }

    /// Builds [`ConfigError::Read`] from an I/O error.
    pub(crate) fn read(path: PathBuf, err: &std::io::Error) -> ConfigError {
        ConfigError::Read {
            path,
            reason: io_reason(err),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, reason } => {
                write!(f, "cannot read config file {}: {reason}", path.display())
            }
            ConfigError::Parse {
                file,
                line,
                column,
                key,
                message,
            } => {
                write!(f, "{file}:{line}:{column}: ")?;
                if let Some(key) = key {
                    write!(f, "{key}: ")?;
                }
                f.write_str(message)
            }
            ConfigError::UnknownBoard { name, known } => {
                write!(f, "unknown board {name:?} (known: {})", known.join(", "))
            }
            ConfigError::Invalid { key, message } => write!(f, "{key}: {message}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// An I/O error's text without the trailing ` (os error N)`: `Address already in use`.
pub(crate) fn io_reason(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}
