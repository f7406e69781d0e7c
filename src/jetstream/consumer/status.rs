//! The status messages a pull consumer sends to a request's inbox, byte for byte as
//! nats-server 2.15 writes them (`server/consumer.go`, captures 04 and 16).
//!
//! Owns: the header blocks of 100/400/404/408/409 statuses. Must not: decide when one is
//! sent (that is `state` and `pull`). Hands off to: `Outgoing::status`.

/// `Nats-Pending-Messages` (unfilled batch) of 408/409 statuses.
pub const PENDING_MESSAGES: &str = "Nats-Pending-Messages";
/// `Nats-Pending-Bytes` (unfilled `max_bytes`) of 408/409 statuses.
pub const PENDING_BYTES: &str = "Nats-Pending-Bytes";

/// `NATS/1.0 <code> <description>\r\n\r\n`: a status without headers (`404 No Messages`,
/// `409 Exceeded MaxWaiting`, `409 Consumer Deleted`, `400 Bad Request - …`).
pub fn plain(code: u16, description: &str) -> Vec<u8> {
    format!("NATS/1.0 {code} {description}\r\n\r\n").into_bytes()
}

/// `404 No Messages`.
pub fn no_messages() -> Vec<u8> {
    plain(404, "No Messages")
}

/// A status carrying what the request still wanted: `408 Request Timeout` and
/// `409 Message Size Exceeds MaxBytes`.
pub fn with_pending(code: u16, description: &str, messages: u64, bytes: u64) -> Vec<u8> {
    format!(
        "NATS/1.0 {code} {description}\r\n{PENDING_MESSAGES}: {messages}\r\n{PENDING_BYTES}: {bytes}\r\n\r\n"
    )
    .into_bytes()
}

/// `408 Request Timeout` with the unfilled batch and bytes (capture 04).
pub fn request_timeout(messages: u64, bytes: u64) -> Vec<u8> {
    with_pending(408, "Request Timeout", messages, bytes)
}

/// `409 Message Size Exceeds MaxBytes`: the next message does not fit the request.
pub fn max_bytes_exceeded(messages: u64, bytes: u64) -> Vec<u8> {
    with_pending(409, "Message Size Exceeds MaxBytes", messages, bytes)
}

/// `100 Idle Heartbeat` with the last consumer and stream sequences (capture 04).
pub fn idle_heartbeat(last_consumer: u64, last_stream: u64) -> Vec<u8> {
    format!(
        "NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: {last_consumer}\r\nNats-Last-Stream: {last_stream}\r\n\r\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_bytes() {
        assert_eq!(
            request_timeout(4, 0),
            b"NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 4\r\nNats-Pending-Bytes: 0\r\n\r\n"
        );
        assert_eq!(no_messages(), b"NATS/1.0 404 No Messages\r\n\r\n");
        assert_eq!(
            idle_heartbeat(4, 4),
            b"NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: 4\r\nNats-Last-Stream: 4\r\n\r\n"
        );
        assert_eq!(
            max_bytes_exceeded(1, 5),
            b"NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 1\r\nNats-Pending-Bytes: 5\r\n\r\n"
        );
        // Lengths as captured: 81, 28 and 75 bytes of header.
        assert_eq!(request_timeout(4, 0).len(), 81);
        assert_eq!(no_messages().len(), 28);
        assert_eq!(idle_heartbeat(4, 4).len(), 75);
        assert_eq!(max_bytes_exceeded(1, 5).len(), 95);
    }
}
