//! JetStream timestamps as nats-server writes them: RFC 3339 UTC with nanoseconds, trailing
//! zeros of the fraction trimmed (Go's `time.RFC3339Nano`), and Go's zero time for "never".
//!
//! Owns: the text form of a timestamp, and Go's durations both ways (`time.Duration.String()`
//! and `time.ParseDuration`). Must not: read the clock; callers pass nanoseconds
//! since the Unix epoch. Hands off to: `response` (`created`, `ts`, `first_ts`, `time`).

use std::time::{Duration, UNIX_EPOCH};

use serde::{Serialize, Serializer};

/// Go's zero `time.Time`, which nats-server writes for an empty stream's `first_ts`/`last_ts`.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// Nanoseconds since the Unix epoch; 0 means "never" and prints as [`ZERO_TIME`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The RFC 3339 text, e.g. `2026-11-23T17:51:23.03900823Z` (capture 03: the trailing
    /// zero of `…039008230` is trimmed) or `2026-11-23T17:51:23Z` for a whole second.
    pub fn to_rfc3339(self) -> String {
        if self.0 == 0 {
            return ZERO_TIME.to_owned();
        }
        // u64 nanoseconds end in 2554, inside humantime's year-9999 range.
        let mut s =
            humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(self.0)).to_string();
        // Always `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`: trim zeros before the `Z`, then a bare dot.
        s.pop();
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
        s.push('Z');
        s
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

/// Go's `time.Duration.String()` (`Exceeded MaxRequestExpires of …`, a marker's `Nats-TTL`): `1.5s`,
/// `2m0s`, `1h0m0s`, `500ms`, `10µs`, `7ns`.
pub fn go_duration_string(ns: u64) -> String {
    fn frac(v: u64, unit: u64) -> String {
        let whole = v / unit;
        let rest = v % unit;
        if rest == 0 {
            return whole.to_string();
        }
        let digits = unit.to_string().len() - 1;
        let f = format!("{rest:0digits$}");
        format!("{whole}.{}", f.trim_end_matches('0'))
    }
    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;
    const S: u64 = 1_000_000_000;
    match ns {
        0 => "0s".to_owned(),
        n if n < US => format!("{n}ns"),
        n if n < MS => format!("{}µs", frac(n, US)),
        n if n < S => format!("{}ms", frac(n, MS)),
        n => {
            let (h, rem) = (n / (3600 * S), n % (3600 * S));
            let (m, rem) = (rem / (60 * S), rem % (60 * S));
            let s = frac(rem, S);
            match (h, m) {
                (0, 0) => format!("{s}s"),
                (0, m) => format!("{m}m{s}s"),
                (h, m) => format!("{h}h{m}m{s}s"),
            }
        }
    }
}

/// Go's `time.ParseDuration` for non-negative values, in nanoseconds (`Nats-TTL`, `-NAK`
/// delays): `0`, or one or more
/// `<number>[.<fraction>]<unit>` with units `ns`, `us`, `µs`, `ms`, `s`, `m`, `h`.
pub fn parse_go_duration(s: &str) -> Option<i128> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(0);
    }
    let (mut rest, mut total) = (s, 0i128);
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (num, tail) = rest.split_at(num_len);
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let (int, frac) = num.split_once('.').unwrap_or((num, ""));
        if (int.is_empty() && frac.is_empty()) || frac.contains('.') || int.len() > 20 {
            return None;
        }
        let whole: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        let mut part = whole.checked_mul(scale)?;
        let mut div = 1i128;
        for d in frac.bytes().take(18) {
            div *= 10;
            part = part.checked_add(i128::from(d - b'0') * scale / div)?;
        }
        total = total.checked_add(part)?;
        rest = next;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::{go_duration_string, Timestamp};

    #[test]
    fn go_rfc3339_nano_table() {
        let table: &[(u64, &str)] = &[
            (0, "0001-01-01T00:00:00Z"),
            // Capture 03: created, first_ts, the msg-get time with its trimmed zero.
            (1_795_456_282_776_714_495, "2026-11-23T17:51:22.776714495Z"),
            (1_795_456_283_039_008_230, "2026-11-23T17:51:23.03900823Z"),
            (1_795_456_283_500_000_000, "2026-11-23T17:51:23.5Z"),
            (1_795_456_283_000_000_000, "2026-11-23T17:51:23Z"),
            (1, "1970-01-01T00:00:00.000000001Z"),
            (u64::MAX, "2554-07-21T23:34:33.709551615Z"),
        ];
        for (ns, want) in table {
            assert_eq!(Timestamp(*ns).to_rfc3339(), *want, "{ns}");
        }
    }

    #[test]
    fn go_durations() {
        for (ns, want) in [
            (1_500_000_000, "1.5s"),
            (120_000_000_000, "2m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (500_000_000, "500ms"),
            (10_000, "10µs"),
            (7, "7ns"),
        ] {
            assert_eq!(go_duration_string(ns), want);
        }
    }
}
