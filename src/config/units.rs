//! Sizes, durations and log levels as an operator writes them: `"8MiB"`, `"64MB"`, `"2m"`,
//! `"500ms"`, `"debug"`; parsed for the TOML layer and formatted back for `to_toml` and messages.
//!
//! Owns: the unit tables, the serde deserializers and the formatters.
//! Must not: know which key a value belongs to (the TOML layer adds the key to errors).
//! Hands off to: `file` (deserializes through [`Size`], [`Dur`], [`Level`]), `validate` and
//! `to_toml` (format with [`fmt_size`], [`toml_size`], [`toml_duration`]).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// One kibibyte.
pub(crate) const KIB: u64 = 1024;
/// One mebibyte.
pub(crate) const MIB: u64 = 1024 * KIB;
/// One gibibyte.
pub(crate) const GIB: u64 = 1024 * MIB;
/// One tebibyte.
pub(crate) const TIB: u64 = 1024 * GIB;

/// Accepted unit suffixes. Binary units are powers of 1024; SI units are powers of 1000
/// (note: nats-server reads `MB` as 1024², leafd follows SI and says so in the docs).
const UNITS: &[(&str, u64)] = &[
    ("", 1),
    ("B", 1),
    ("KiB", KIB),
    ("MiB", MIB),
    ("GiB", GIB),
    ("TiB", TIB),
    ("kB", 1_000),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
];

const SIZE_HINT: &str =
    r#"expected a size: a number of bytes or a string like "512KiB", "8MiB", "1GiB" or "64MB""#;

/// Parses `"8MiB"`, `"8 MiB"`, `"64MB"`, `"4096"`: digits, optional space, optional unit.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits_end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(digits_end);
    let unit = unit.trim_start();
    let bad = || format!("{SIZE_HINT} (got {text:?})");
    let number: u64 = digits.parse().map_err(|_| bad())?;
    let scale = UNITS
        .iter()
        .find(|(name, _)| *name == unit)
        .map(|(_, scale)| *scale)
        .ok_or_else(bad)?;
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("size too large (got {text:?})"))
}

/// Exact human form of a byte count, for messages and logs: `0`, `1 byte`, `1500 bytes`, `64 MiB`.
pub fn fmt_size(bytes: u64) -> String {
    match exact_unit(bytes) {
        Some((n, unit)) => format!("{n} {unit}"),
        None if bytes == 1 => "1 byte".to_string(),
        None if bytes == 0 => "0".to_string(),
        None => format!("{bytes} bytes"),
    }
}

/// Approximate human form for estimates: `142.4 MiB`.
pub(crate) fn fmt_approx(bytes: u64) -> String {
    // Lossy by design: this is for display of estimates only.
    let b = bytes as f64;
    if bytes >= GIB {
        format!("{:.1} GiB", b / GIB as f64)
    } else if bytes >= MIB {
        format!("{:.1} MiB", b / MIB as f64)
    } else if bytes >= KIB {
        format!("{:.1} KiB", b / KIB as f64)
    } else {
        fmt_size(bytes)
    }
}

/// TOML literal that parses back to exactly `bytes`: `"64MiB"` when exact, else an integer.
pub(crate) fn toml_size(bytes: u64) -> String {
    match exact_unit(bytes) {
        Some((n, unit)) => format!("\"{n}{unit}\""),
        None => bytes.to_string(),
    }
}

/// TOML literal for a duration: `"2m"`, `"500ms"`, `"1h 30m"` (humantime's own format).
pub(crate) fn toml_duration(d: std::time::Duration) -> String {
    format!("\"{}\"", humantime::format_duration(d))
}

/// The largest binary unit that divides `bytes` exactly, if any (and `bytes` is nonzero).
fn exact_unit(bytes: u64) -> Option<(u64, &'static str)> {
    [(TIB, "TiB"), (GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")]
        .into_iter()
        .find(|(scale, _)| bytes != 0 && bytes % scale == 0)
        .map(|(scale, unit)| (bytes / scale, unit))
}

/// A byte count from TOML: an integer, or a string with a unit (see [`parse_size`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Size(pub(crate) u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(SIZE_HINT)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("a size cannot be negative (got {v})")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

const DURATION_HINT: &str = r#"expected a duration like "2m", "500ms" or "10s""#;

/// A duration from TOML: a humantime string. Bare numbers are refused: they have no unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Dur(pub(crate) Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(DURATION_HINT)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "{DURATION_HINT}; a bare number has no unit (got {v})"
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Err(E::custom(format!(
                    "{DURATION_HINT}; a bare number has no unit (got {v})"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                humantime::parse_duration(v.trim())
                    .map(Dur)
                    .map_err(|e| E::custom(format!("{DURATION_HINT} (got {v:?}: {e})")))
            }
        }
        d.deserialize_any(V)
    }
}

/// Parses a log level name, any case: `off`, `error`, `warn`, `info`, `debug`, `trace`.
pub fn parse_level(text: &str) -> Result<log::LevelFilter, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("expected one of off, error, warn, info, debug, trace (got {text:?})"))
}

/// A log level from TOML (see [`parse_level`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Level(pub(crate) log::LevelFilter);

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Level, D::Error> {
        let text = String::deserialize(d)?;
        parse_level(&text).map(Level).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_from_the_table() {
        let table: &[(&str, u64)] = &[
            ("0", 0),
            ("4096", 4096),
            ("1B", 1),
            ("512KiB", 512 * KIB),
            ("8MiB", 8 * MIB),
            ("8 MiB", 8 * MIB),
            (" 1GiB ", GIB),
            ("2TiB", 2 * TIB),
            ("64MB", 64_000_000),
            ("1kB", 1_000),
            ("1KB", 1_000),
            ("3GB", 3_000_000_000),
        ];
        for (text, want) in table {
            assert_eq!(parse_size(text), Ok(*want), "{text:?}");
        }
    }

    #[test]
    fn bad_sizes_say_what_is_accepted() {
        for text in [
            "",
            "MiB",
            "8 furlongs",
            "1.5GiB",
            "-1",
            "8mib",
            "8Mb",
            "99999999999TiB",
        ] {
            let err = parse_size(text).unwrap_err();
            assert!(err.contains(&format!("{text:?}")), "{text:?}: {err}");
        }
    }

    #[test]
    fn sizes_format_exactly_and_round_trip() {
        assert_eq!(fmt_size(0), "0");
        assert_eq!(fmt_size(1), "1 byte");
        assert_eq!(fmt_size(1500), "1500 bytes");
        assert_eq!(fmt_size(64 * MIB), "64 MiB");
        assert_eq!(fmt_size(1536 * KIB), "1536 KiB");
        assert_eq!(fmt_approx(MIB + MIB / 2), "1.5 MiB");
        for bytes in [0, 1, 1000, 4096, 3 * MIB, 5 * GIB, 7 * TIB, 64_000_000] {
            let literal = toml_size(bytes);
            let text = literal.trim_matches('"');
            assert_eq!(parse_size(text), Ok(bytes), "{literal}");
        }
    }

    #[test]
    fn durations_round_trip_through_humantime() {
        for ms in [1, 500, 10_000, 120_000, 5_400_000, 86_400_000] {
            let d = Duration::from_millis(ms);
            let literal = toml_duration(d);
            let back = humantime::parse_duration(literal.trim_matches('"'));
            assert_eq!(back, Ok(d), "{literal}");
        }
        assert_eq!(toml_duration(Duration::from_secs(120)), "\"2m\"");
        assert_eq!(toml_duration(Duration::from_millis(500)), "\"500ms\"");
    }

    #[test]
    fn levels_parse_in_any_case() {
        assert_eq!(parse_level("DEBUG"), Ok(log::LevelFilter::Debug));
        assert_eq!(parse_level("off"), Ok(log::LevelFilter::Off));
        assert!(parse_level("loud").unwrap_err().contains("\"loud\""));
    }
}
