//! The monitor's HTTP/1.1: parsing a request head and writing a response, with no I/O.
//!
//! Owns: the strict subset of HTTP the monitor speaks. A head is a request line
//! `METHOD SP /path[?query] SP HTTP/1.x CRLF`, then `Name: value CRLF` header lines, then an
//! empty line; anything else is malformed (`400`). Headers are checked for form and
//! otherwise ignored; every response says `Connection: close`. Query strings are split on
//! `&` and `=` and percent-decoded.
//! Must not: read sockets or know the endpoints. Hands off to: the listener (`mod.rs`), which
//! bounds the head's size and the time it may take to arrive.

/// A parsed request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// `GET`, `POST`, ... as sent.
    pub(crate) method: String,
    /// The path, percent-decoded, without the query.
    pub(crate) path: String,
    /// The query's `(name, value)` pairs, decoded, in order.
    pub(crate) query: Vec<(String, String)>,
}

impl Request {
    /// The first value of query parameter `name`.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a head is not acceptable: the text of the `400` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

/// Where the head ends (the index just past its blank line), if it has ended.
pub(crate) fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Parses a complete head (`buf` up to and including the blank line).
///
/// # Errors
/// Anything outside the subset above.
pub(crate) fn parse(head: &[u8]) -> Result<Request, Malformed> {
    let text = std::str::from_utf8(head).map_err(|_| Malformed("request head is not UTF-8"))?;
    let text = text
        .strip_suffix("\r\n\r\n")
        .ok_or(Malformed("request head does not end with an empty line"))?;
    let mut lines = text.split("\r\n");
    let line = lines.next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Malformed("malformed request line"));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(Malformed("malformed method"));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(Malformed("unsupported HTTP version"));
    }
    if !target.starts_with('/') || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Malformed("malformed request target"));
    }
    for header in lines {
        let (name, _value) = header
            .split_once(':')
            .ok_or(Malformed("malformed header line"))?;
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(Malformed("malformed header name"));
        }
        if header.bytes().any(|b| b < b' ' && b != b'\t') {
            return Err(Malformed("control character in a header"));
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let path = decode(path).ok_or(Malformed("malformed percent-encoding"))?;
    let mut pairs = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode(k).ok_or(Malformed("malformed percent-encoding"))?;
        let v = decode(v).ok_or(Malformed("malformed percent-encoding"))?;
        pairs.push((k, v));
    }
    Ok(Request {
        method: method.to_owned(),
        path,
        query: pairs,
    })
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Percent-decoding (`+` is a space in a query, as Go's `url.ParseQuery` reads it); `None`
/// for a bad escape or a result that is not UTF-8.
fn decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A response to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    /// 200, 400, 404, 405, 503, ...
    pub(crate) status: u16,
    /// The `Content-Type`.
    pub(crate) content_type: &'static str,
    /// The body.
    pub(crate) body: Vec<u8>,
}

/// nats-server's monitoring content type.
pub(crate) const JSON: &str = "application/json";
/// Prometheus text exposition format 0.0.4.
pub(crate) const PROMETHEUS: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Error bodies.
pub(crate) const TEXT: &str = "text/plain; charset=utf-8";

impl Response {
    /// A JSON response.
    pub(crate) fn json(status: u16, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: JSON,
            body,
        }
    }

    /// A plain-text response (errors).
    pub(crate) fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            content_type: TEXT,
            body: format!("{body}\n").into_bytes(),
        }
    }

    /// The whole response, head and body.
    pub(crate) fn encode(&self, head_only: bool) -> Vec<u8> {
        let reason = match self.status {
            200 => "OK",
            400 => "Bad Request",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            431 => "Request Header Fields Too Large",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let mut out = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.content_type,
            self.body.len()
        );
        if self.status == 405 {
            out.push_str("Allow: GET\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        if !head_only {
            bytes.extend_from_slice(&self.body);
        }
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_get_with_a_query() {
        let req =
            parse(b"GET /connz?limit=2&offset=1&subs=1&x=a%20b+c HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("valid");
        assert_eq!(req.method, "GET");
        assert_eq!(req.path, "/connz");
        assert_eq!(req.param("limit"), Some("2"));
        assert_eq!(req.param("offset"), Some("1"));
        assert_eq!(req.param("subs"), Some("1"));
        assert_eq!(req.param("x"), Some("a b c"));
        assert_eq!(req.param("sort"), None);
    }

    #[test]
    fn finds_the_end_of_the_head() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n"), None);
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some(18));
    }

    #[test]
    fn refuses_what_is_not_strict_http() {
        for bad in [
            &b"GET / HTTP/1.1\n\n"[..],
            b"GET  / HTTP/1.1\r\n\r\n",
            b"get / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/2\r\n\r\n",
            b"GET x HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET /%zz HTTP/1.1\r\n\r\n",
            b"GET /\xff HTTP/1.1\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn responses_close_and_say_their_length() {
        let r = Response::text(405, "method not allowed").encode(false);
        let text = String::from_utf8(r).expect("ascii");
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("Content-Length: 19\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(text.contains("Allow: GET\r\n"));
        assert!(text.ends_with("\r\n\r\nmethod not allowed\n"));
    }
}
