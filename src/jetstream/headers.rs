//! NATS header blocks (`NATS/1.0[ status[ description]]\r\n` + `Key: Value\r\n`… + `\r\n`),
//! read without allocating where possible.
//!
//! Owns: two readings of a block. [`header_value`] is nats-server's own lookup
//! (`sliceHeader`/`getHeaderKeyIndex`, PROTOCOL.md §1.8): case-sensitive, only at a line start,
//! first occurrence, no continuation lines; JetStream uses it for every `Nats-*` header so leafd
//! reacts to exactly the headers nats-server reacts to. [`HeaderBlock`] is the client reading
//! (async-nats): status line, repeated keys, continuation lines joined. Must not: decide what a
//! header means (that is `expect`). Hands off to: `expect`, and later the stream and consumers.

use std::borrow::Cow;

/// The first line every header block starts with.
const VERSION_LINE: &[u8] = b"NATS/1.0";

/// nats-server's lookup: the value of the first line that starts with exactly `key` followed
/// by `:`, after skipping spaces, up to the next CRLF (or the end of the block). The key must
/// follow a CRLF, so the status line never matches and `nats-msg-id:` is not `Nats-Msg-Id:`.
pub fn header_value<'a>(block: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let key = key.as_bytes();
    if key.is_empty() {
        return None;
    }
    let mut from = 0;
    let start = loop {
        let found = find(block.get(from..)?, key)? + from;
        let at_line_start = found >= 2 && &block[found - 2..found] == b"\r\n";
        if at_line_start && block.get(found + key.len()) == Some(&b':') {
            break found + key.len() + 1;
        }
        from = found + key.len();
    };
    // `start` is at most `block.len()`: the byte before it is the `:` just found.
    let rest = &block[start..];
    let spaces = rest.iter().take_while(|&&b| b == b' ').count();
    let rest = &rest[spaces..];
    let end = find(rest, b"\r\n").unwrap_or(rest.len());
    Some(&rest[..end])
}

/// `block` with every line keyed exactly `key` dropped and `key: value` added last
/// (nats-server's `removeHeaderIfPresent` then `genHeader`). An empty block gets a version
/// line first.
pub fn with_header(block: &[u8], key: &str, value: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(block.len() + key.len() + value.len() + 16);
    let body = block.strip_suffix(b"\r\n\r\n").unwrap_or(block);
    let mut lines = body
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    out.extend_from_slice(
        lines
            .next()
            .filter(|l| !l.is_empty())
            .unwrap_or(VERSION_LINE),
    );
    out.extend_from_slice(b"\r\n");
    for line in lines {
        let keyed = line
            .strip_prefix(key.as_bytes())
            .is_some_and(|r| r.first() == Some(&b':'));
        if !keyed && !line.is_empty() {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("{key}: {value}\r\n\r\n").as_bytes());
    out
}

/// Position of `needle` in `hay` (`needle` non-empty).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Why a block could not be read the client's way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// The block does not start with `NATS/1.0` (async-nats rejects these).
    NoVersionLine,
    /// The status after `NATS/1.0 ` is not three digits.
    BadStatus,
    /// A header line has no `:`.
    NoColon,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HeaderError::NoVersionLine => "header block does not start with NATS/1.0",
            HeaderError::BadStatus => "header status is not a three-digit code",
            HeaderError::NoColon => "header line without a ':'",
        })
    }
}

impl std::error::Error for HeaderError {}

/// A header block read the way clients read it. Borrowed; parsing allocates only to join
/// continuation lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderBlock<'a> {
    /// `503`, `404`, `100`… for status messages; `None` for plain headers.
    pub status: Option<u16>,
    /// The text after the status (`No Messages`, `Idle Heartbeat`), empty if none.
    pub description: &'a [u8],
    /// Every `Key: Value` in order; repeated keys repeat. Values are trimmed; continuation
    /// lines (starting with a space or tab) are joined to the previous value with one space.
    pub entries: Vec<(&'a [u8], Cow<'a, [u8]>)>,
}

/// Lines of `block` without their CRLF (a bare LF also ends a line), stopping at the first
/// empty line (the end of the block).
fn lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    block
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take_while(|l| !l.is_empty())
}

impl<'a> HeaderBlock<'a> {
    /// Parses a whole block.
    ///
    /// # Errors
    /// [`HeaderError`] for a block a client would refuse.
    pub fn parse(block: &'a [u8]) -> Result<HeaderBlock<'a>, HeaderError> {
        let mut it = lines(block);
        let first = it.next().ok_or(HeaderError::NoVersionLine)?;
        let rest = first
            .strip_prefix(VERSION_LINE)
            .ok_or(HeaderError::NoVersionLine)?;
        let (status, description) = parse_status(rest)?;
        let mut entries: Vec<(&'a [u8], Cow<'a, [u8]>)> = Vec::new();
        for line in it {
            if matches!(line.first(), Some(b' ' | b'\t')) {
                // A continuation: joined to the previous value (ignored if there is none).
                if let Some((_, value)) = entries.last_mut() {
                    let mut joined = value.to_vec();
                    joined.push(b' ');
                    joined.extend_from_slice(line.trim_ascii());
                    *value = Cow::Owned(joined);
                }
                continue;
            }
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or(HeaderError::NoColon)?;
            entries.push((
                line[..colon].trim_ascii(),
                Cow::Borrowed(line[colon + 1..].trim_ascii()),
            ));
        }
        Ok(HeaderBlock {
            status,
            description,
            entries,
        })
    }

    /// Every value of `key` (exact case, as nats-server compares), in order.
    pub fn values<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'s [u8]> + use<'s, 'a> {
        self.entries
            .iter()
            .filter(move |(k, _)| *k == key.as_bytes())
            .map(|(_, v)| v.as_ref())
    }

    /// The first value of `key` (exact case).
    pub fn get<'s>(&'s self, key: &'s str) -> Option<&'s [u8]> {
        self.values(key).next()
    }
}

/// `rest` of the version line: empty, or ` <3 digits>[ <description>]`.
fn parse_status(rest: &[u8]) -> Result<(Option<u16>, &[u8]), HeaderError> {
    let rest = rest.trim_ascii();
    if rest.is_empty() {
        return Ok((None, rest));
    }
    let (code, desc) = match rest.iter().position(|b| b.is_ascii_whitespace()) {
        Some(i) => (&rest[..i], rest[i..].trim_ascii()),
        None => (rest, &rest[rest.len()..]),
    };
    if code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
        return Err(HeaderError::BadStatus);
    }
    let n = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
    Ok((Some(n), desc))
}
