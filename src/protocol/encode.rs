//! Frame encoders: append one protocol frame to a caller's `Vec<u8>`.
//!
//! Owns: the exact bytes leafd writes: upper-case verbs, single spaces, CRLF, decimal sizes
//! (`hdr` = header block length, `total` = headers + payload), and the leaf message forms
//! `LMSG subj [reply] size`, `LMSG subj + reply q… size`, `LMSG subj | q… size` (and `HMSG`
//! with `hdr total`) of PROTOCOL.md §2.6.
//! Must not: validate subjects, sids or queue names (callers hold validated newtypes), build
//! header blocks (the router does), allocate beyond growing `out`, or use `format!`.
//! Hands off to: the router, which encodes each message once straight into outboxes, and the
//! link, which writes those buffers to the socket.

const CRLF: &[u8] = b"\r\n";

/// Appends `n` in decimal, without going through `fmt`.
fn decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20]; // u64::MAX has 20 digits
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends a `usize` length in decimal.
fn size(out: &mut Vec<u8>, n: usize) {
    decimal(out, n as u64);
}

/// Appends ` part`.
fn arg(out: &mut Vec<u8>, part: &[u8]) {
    out.push(b' ');
    out.extend_from_slice(part);
}

/// `INFO {json} \r\n`, with the space before CRLF that nats-server writes.
pub fn info(out: &mut Vec<u8>, json: &[u8]) {
    out.reserve(json.len() + 8);
    out.extend_from_slice(b"INFO ");
    out.extend_from_slice(json);
    out.extend_from_slice(b" \r\n");
}

/// `CONNECT {json}\r\n`.
pub fn connect(out: &mut Vec<u8>, json: &[u8]) {
    out.reserve(json.len() + 10);
    out.extend_from_slice(b"CONNECT ");
    out.extend_from_slice(json);
    out.extend_from_slice(CRLF);
}

/// `PING\r\n`.
pub fn ping(out: &mut Vec<u8>) {
    out.extend_from_slice(b"PING\r\n");
}

/// `PONG\r\n`.
pub fn pong(out: &mut Vec<u8>) {
    out.extend_from_slice(b"PONG\r\n");
}

/// `+OK\r\n`.
pub fn ok(out: &mut Vec<u8>) {
    out.extend_from_slice(b"+OK\r\n");
}

/// `-ERR '<text>'\r\n`; `text` is e.g. [`ErrorKind::err_text`](super::ErrorKind::err_text).
pub fn err(out: &mut Vec<u8>, text: &[u8]) {
    out.reserve(text.len() + 9);
    out.extend_from_slice(b"-ERR '");
    out.extend_from_slice(text);
    out.extend_from_slice(b"'\r\n");
}

/// Control line arguments + payload shared by the message frames: `[ reply][ hdr] total\r\n
/// headers payload\r\n`.
fn sizes_and_body(out: &mut Vec<u8>, reply: Option<&[u8]>, headers: Option<&[u8]>, payload: &[u8]) {
    if let Some(reply) = reply {
        arg(out, reply);
    }
    let hdr = headers.map_or(0, <[u8]>::len);
    if headers.is_some() {
        out.push(b' ');
        size(out, hdr);
    }
    out.push(b' ');
    size(out, hdr + payload.len());
    out.extend_from_slice(CRLF);
    if let Some(headers) = headers {
        out.extend_from_slice(headers);
    }
    out.extend_from_slice(payload);
    out.extend_from_slice(CRLF);
}

/// Bytes to reserve for a message frame: the parts plus room for verb, blanks and numbers.
fn frame_len(parts: &[&[u8]], headers: Option<&[u8]>, payload: &[u8]) -> usize {
    let args: usize = parts.iter().map(|p| p.len() + 1).sum();
    args + headers.map_or(0, <[u8]>::len) + payload.len() + 36
}

/// `MSG <subject> <sid> [reply] <size>\r\n<payload>\r\n` (server → client).
pub fn msg(out: &mut Vec<u8>, subject: &[u8], sid: &[u8], reply: Option<&[u8]>, payload: &[u8]) {
    out.reserve(frame_len(
        &[subject, sid, reply.unwrap_or_default()],
        None,
        payload,
    ));
    out.extend_from_slice(b"MSG");
    arg(out, subject);
    arg(out, sid);
    sizes_and_body(out, reply, None, payload);
}

/// `HMSG <subject> <sid> [reply] <hdr> <total>\r\n<headers><payload>\r\n` (server → client).
pub fn hmsg(
    out: &mut Vec<u8>,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    headers: &[u8],
    payload: &[u8],
) {
    out.reserve(frame_len(
        &[subject, sid, reply.unwrap_or_default()],
        Some(headers),
        payload,
    ));
    out.extend_from_slice(b"HMSG");
    arg(out, subject);
    arg(out, sid);
    sizes_and_body(out, reply, Some(headers), payload);
}

/// `PUB <subject> [reply] <size>` or, with headers, `HPUB <subject> [reply] <hdr> <total>`,
/// then the payload (client → server).
pub fn publish(
    out: &mut Vec<u8>,
    subject: &[u8],
    reply: Option<&[u8]>,
    headers: Option<&[u8]>,
    payload: &[u8],
) {
    out.reserve(frame_len(
        &[subject, reply.unwrap_or_default()],
        headers,
        payload,
    ));
    out.extend_from_slice(if headers.is_some() { b"HPUB" } else { b"PUB" });
    arg(out, subject);
    sizes_and_body(out, reply, headers, payload);
}

/// `SUB <subject> [queue] <sid>\r\n`.
pub fn sub(out: &mut Vec<u8>, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) {
    out.extend_from_slice(b"SUB");
    arg(out, subject);
    if let Some(queue) = queue {
        arg(out, queue);
    }
    arg(out, sid);
    out.extend_from_slice(CRLF);
}

/// `UNSUB <sid> [max]\r\n`.
pub fn unsub(out: &mut Vec<u8>, sid: &[u8], max: Option<u64>) {
    out.extend_from_slice(b"UNSUB");
    arg(out, sid);
    if let Some(max) = max {
        out.push(b' ');
        decimal(out, max);
    }
    out.extend_from_slice(CRLF);
}

/// `LS+ <subject>\r\n` or `LS+ <subject> <queue> <weight>\r\n` (weight = members here).
pub fn leaf_sub(out: &mut Vec<u8>, subject: &[u8], queue: Option<(&[u8], u32)>) {
    out.extend_from_slice(b"LS+");
    arg(out, subject);
    if let Some((queue, weight)) = queue {
        arg(out, queue);
        out.push(b' ');
        decimal(out, u64::from(weight));
    }
    out.extend_from_slice(CRLF);
}

/// `LS- <subject> [queue]\r\n`.
pub fn leaf_unsub(out: &mut Vec<u8>, subject: &[u8], queue: Option<&[u8]>) {
    out.extend_from_slice(b"LS-");
    arg(out, subject);
    if let Some(queue) = queue {
        arg(out, queue);
    }
    out.extend_from_slice(CRLF);
}

/// A message over the leaf link: `LMSG`, or `HMSG` when `headers` is `Some`.
///
/// Without queues: `LMSG <subject> [reply] <size>`. With queues (the groups this single
/// delivery is for, PROTOCOL.md §2.7): `LMSG <subject> + <reply> <q1> [q2…] <size>` when there
/// is a reply, `LMSG <subject> | <q1> [q2…] <size>` when not. `HMSG` ends in `<hdr> <total>`.
pub fn leaf_msg(
    out: &mut Vec<u8>,
    subject: &[u8],
    reply: Option<&[u8]>,
    queues: &[&[u8]],
    headers: Option<&[u8]>,
    payload: &[u8],
) {
    let queue_bytes: usize = queues.iter().map(|q| q.len() + 1).sum();
    out.reserve(frame_len(&[subject, reply.unwrap_or_default()], headers, payload) + queue_bytes);
    out.extend_from_slice(if headers.is_some() { b"HMSG" } else { b"LMSG" });
    arg(out, subject);
    if queues.is_empty() {
        sizes_and_body(out, reply, headers, payload);
        return;
    }
    match reply {
        Some(reply) => {
            arg(out, b"+");
            arg(out, reply);
        }
        None => arg(out, b"|"),
    }
    for queue in queues {
        arg(out, queue);
    }
    sizes_and_body(out, None, headers, payload);
}

#[cfg(test)]
mod tests;
