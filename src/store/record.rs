//! The on-disk record: one stored message, self-describing and checksummed.
//!
//! Owns: the byte layout of a record, [`encode_into`] and [`decode`].
//! Must not: do I/O, allocate while decoding, or panic on any input (a proptest feeds it
//! arbitrary bytes). Hands off to: `segment` (which appends encoded records and reads them
//! back) and `recovery` (which scans files with [`decode`]).
//!
//! # Layout (all integers little-endian: native on ARM and x86, so no byte swapping)
//!
//! ```text
//! offset size field
//!      0    4 len           whole record, this field included
//!      4    4 crc32         CRC-32 (IEEE, crc32fast) of bytes 8..len
//!      8    8 seq           u64
//!     16    8 timestamp_ns  i64, nanoseconds since the Unix epoch
//!     24    2 subject_len   u16
//!     26    4 headers_len   u32
//!     30    . subject, headers, payload (payload_len = len - 30 - subject_len - headers_len)
//! ```
//!
//! The CRC covers the seq, so a record copied to the wrong place is caught by the caller's
//! sequence check, and a torn write (a prefix of the record) shows as `Incomplete`.

use std::fmt;

/// Bytes before the subject.
pub const HEADER_LEN: usize = 30;

/// A record borrowed from a buffer (decode) or from the caller (encode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// Stream sequence.
    pub seq: u64,
    /// Nanoseconds since the Unix epoch.
    pub timestamp_ns: i64,
    /// The subject bytes.
    pub subject: &'a [u8],
    /// NATS headers block (may be empty).
    pub headers: &'a [u8],
    /// The payload.
    pub payload: &'a [u8],
}

/// Why [`decode`] refused a buffer. `Copy`, never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// The buffer ends before the record does (a torn tail, or read more and retry).
    Incomplete,
    /// The length fields are valid but the checksum does not match.
    BadCrc,
    /// The length fields contradict each other (or `len` is shorter than a header).
    Malformed,
    /// `len` is larger than the bound the caller passed, so it was not trusted.
    TooLarge,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordError::Incomplete => "incomplete record",
            RecordError::BadCrc => "bad crc",
            RecordError::Malformed => "malformed record",
            RecordError::TooLarge => "record too large",
        })
    }
}

/// Size of the encoded record for these field sizes (saturating, so callers can compare it
/// with a bound without overflow).
pub fn encoded_len(subject: usize, headers: usize, payload: usize) -> usize {
    HEADER_LEN
        .saturating_add(subject)
        .saturating_add(headers)
        .saturating_add(payload)
}

/// Appends the encoded record to `buf` and returns its length.
///
/// # Errors
/// [`RecordError::TooLarge`] if the subject is longer than `u16::MAX`, the headers longer
/// than `u32::MAX`, or the whole record longer than `max` (or `u32::MAX`); `buf` is then
/// unchanged.
pub fn encode_into(
    buf: &mut Vec<u8>,
    rec: &RecordRef<'_>,
    max: usize,
) -> Result<usize, RecordError> {
    let len = encoded_len(rec.subject.len(), rec.headers.len(), rec.payload.len());
    let (Ok(subject_len), Ok(headers_len), Ok(len32)) = (
        u16::try_from(rec.subject.len()),
        u32::try_from(rec.headers.len()),
        u32::try_from(len),
    ) else {
        return Err(RecordError::TooLarge);
    };
    if len > max {
        return Err(RecordError::TooLarge);
    }
    buf.reserve(len);
    let start = buf.len();
    buf.extend_from_slice(&len32.to_le_bytes());
    buf.extend_from_slice(&[0; 4]); // crc, filled below
    buf.extend_from_slice(&rec.seq.to_le_bytes());
    buf.extend_from_slice(&rec.timestamp_ns.to_le_bytes());
    buf.extend_from_slice(&subject_len.to_le_bytes());
    buf.extend_from_slice(&headers_len.to_le_bytes());
    buf.extend_from_slice(rec.subject);
    buf.extend_from_slice(rec.headers);
    buf.extend_from_slice(rec.payload);
    let crc = crc32fast::hash(&buf[start + 8..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(len)
}

/// The `len` field at the start of `buf`, if there are 4 bytes.
pub fn peek_len(buf: &[u8]) -> Option<usize> {
    let b: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(b)).ok()
}

fn u16_at(buf: &[u8], at: usize) -> u16 {
    let mut b = [0; 2];
    b.copy_from_slice(&buf[at..at + 2]);
    u16::from_le_bytes(b)
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// Decodes the record at the start of `buf`; returns it and the bytes it occupies.
///
/// Checks, in order: 4 bytes for `len` (else `Incomplete`), `len <= max` (else `TooLarge`),
/// `len >= HEADER_LEN` (else `Malformed`), `len` bytes present (else `Incomplete`), the CRC
/// (else `BadCrc`), then the inner lengths (else `Malformed`).
///
/// # Errors
/// See above; never panics.
pub fn decode(buf: &[u8], max: usize) -> Result<(RecordRef<'_>, usize), RecordError> {
    let len = peek_len(buf).ok_or(RecordError::Incomplete)?;
    if len > max {
        return Err(RecordError::TooLarge);
    }
    if len < HEADER_LEN {
        return Err(RecordError::Malformed);
    }
    let rec = buf.get(..len).ok_or(RecordError::Incomplete)?;
    // Indexing below is within `rec`, whose length is at least HEADER_LEN.
    if crc32fast::hash(&rec[8..]) != u32_at(rec, 4) {
        return Err(RecordError::BadCrc);
    }
    let subject_len = usize::from(u16_at(rec, 24));
    let headers_len = usize::try_from(u32_at(rec, 26)).map_err(|_| RecordError::Malformed)?;
    let body = &rec[HEADER_LEN..];
    let (subject, rest) = body
        .split_at_checked(subject_len)
        .ok_or(RecordError::Malformed)?;
    let (headers, payload) = rest
        .split_at_checked(headers_len)
        .ok_or(RecordError::Malformed)?;
    let seq = u64_at(rec, 8);
    let timestamp_ns = u64_at(rec, 16) as i64; // same bits: the field is an i64
    Ok((
        RecordRef {
            seq,
            timestamp_ns,
            subject,
            headers,
            payload,
        },
        len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 1 << 20;

    fn sample() -> RecordRef<'static> {
        RecordRef {
            seq: 42,
            timestamp_ns: -7,
            subject: b"sensors.t1",
            headers: b"NATS/1.0\r\nA: b\r\n\r\n",
            payload: b"hello",
        }
    }

    #[test]
    fn round_trip() {
        let mut buf = vec![9, 9]; // appending after existing bytes
        let n = encode_into(&mut buf, &sample(), MAX).expect("fits");
        assert_eq!(n, buf.len() - 2);
        assert_eq!(n, encoded_len(10, 18, 5));
        let (rec, used) = decode(&buf[2..], MAX).expect("decodes");
        assert_eq!((rec, used), (sample(), n));
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let mut buf = Vec::new();
        encode_into(&mut buf, &sample(), MAX).expect("fits");
        for cut in 0..buf.len() {
            assert_eq!(
                decode(&buf[..cut], MAX),
                Err(RecordError::Incomplete),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let mut buf = Vec::new();
        let n = encode_into(&mut buf, &sample(), MAX).expect("fits");
        for i in 0..n {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            assert!(decode(&bad, MAX).is_err(), "flip at {i} went unnoticed");
        }
    }

    #[test]
    fn max_record_size_is_enforced() {
        let rec = sample();
        let n = encoded_len(rec.subject.len(), rec.headers.len(), rec.payload.len());
        let mut buf = Vec::new();
        assert_eq!(
            encode_into(&mut buf, &rec, n - 1),
            Err(RecordError::TooLarge)
        );
        assert!(buf.is_empty());
        encode_into(&mut buf, &rec, n).expect("exactly max fits");
        assert_eq!(decode(&buf, n - 1), Err(RecordError::TooLarge));
        let long_subject = vec![b'a'; usize::from(u16::MAX) + 1];
        let rec = RecordRef {
            subject: &long_subject,
            ..sample()
        };
        assert_eq!(
            encode_into(&mut buf, &rec, usize::MAX),
            Err(RecordError::TooLarge)
        );
    }

    #[test]
    fn short_len_is_malformed() {
        let mut buf = vec![0u8; 64];
        buf[..4].copy_from_slice(&10u32.to_le_bytes());
        assert_eq!(decode(&buf, MAX), Err(RecordError::Malformed));
        assert_eq!(decode(&[0; 64], MAX), Err(RecordError::Malformed));
    }

    proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), max in 0usize..300) {
            let _ = decode(&bytes, max);
        }

        #[test]
        fn decode_never_panics_on_valid_crc(subject_len in any::<u16>(), headers_len in any::<u32>(), body in proptest::collection::vec(any::<u8>(), 0..100)) {
            // Craft a header with a correct CRC but arbitrary inner lengths.
            let len = HEADER_LEN + body.len();
            let mut buf = Vec::new();
            buf.extend_from_slice(&(len as u32).to_le_bytes());
            buf.extend_from_slice(&[0; 4]);
            buf.extend_from_slice(&[1; 16]);
            buf.extend_from_slice(&subject_len.to_le_bytes());
            buf.extend_from_slice(&headers_len.to_le_bytes());
            buf.extend_from_slice(&body);
            let crc = crc32fast::hash(&buf[8..]);
            buf[4..8].copy_from_slice(&crc.to_le_bytes());
            if let Ok((rec, n)) = decode(&buf, MAX) {
                prop_assert_eq!(n, len);
                prop_assert_eq!(rec.subject.len() + rec.headers.len() + rec.payload.len(), body.len());
            }
        }

        #[test]
        fn round_trip_any(seq in any::<u64>(), ts in any::<i64>(), s in proptest::collection::vec(any::<u8>(), 0..40), h in proptest::collection::vec(any::<u8>(), 0..40), p in proptest::collection::vec(any::<u8>(), 0..200)) {
            let rec = RecordRef { seq, timestamp_ns: ts, subject: &s, headers: &h, payload: &p };
            let mut buf = Vec::new();
            let n = encode_into(&mut buf, &rec, MAX).expect("fits");
            prop_assert_eq!(decode(&buf, MAX), Ok((rec, n)));
        }
    }
}
