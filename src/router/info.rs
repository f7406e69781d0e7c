//! The INFO a client reads first: server identity and limits, serialised once at start and
//! completed per connection with its `client_id` and `client_ip`.
//!
//! Owns: the INFO fields. Hands off to: the connection's outbox.

use std::net::SocketAddr;

use serde::Serialize;

/// The NATS server version leafd speaks for. Clients gate features on INFO `version`
/// (async-nats checks it before using JetStream API forms that need 2.10+), so leafd
/// reports the nats-server release whose protocol it matches; its own version travels in
/// the extra `leafd` field, which clients ignore.
pub const NATS_COMPAT_VERSION: &str = "2.15.1";

/// Identity and limits advertised in INFO.
#[derive(Debug, Clone, Serialize)]
pub struct ServerInfo {
    /// 56-character id starting with `N`, new every start.
    pub server_id: String,
    /// Configured server name.
    pub server_name: String,
    /// See [`NATS_COMPAT_VERSION`].
    pub version: String,
    /// leafd's own version.
    pub leafd: String,
    /// Protocol level: 1 (INFO-capable clients).
    pub proto: u32,
    /// Listener host.
    pub host: String,
    /// Listener port.
    pub port: u16,
    /// Headers are supported.
    pub headers: bool,
    /// Largest message accepted.
    pub max_payload: usize,
    /// JetStream is served (omitted when not, as nats-server does).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub jetstream: bool,
    /// Clients must authenticate (omitted when not, as nats-server does).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub auth_required: bool,
    /// Clients must speak TLS (`[tls]`; omitted when not, as nats-server does).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_required: bool,
    /// Clients must present a certificate (`[tls] verify`; omitted when not).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub tls_verify: bool,
    /// Cached `{...` prefix of the JSON, without the closing brace.
    #[serde(skip)]
    prefix: String,
}

impl ServerInfo {
    /// INFO for a server listening on `addr`.
    pub fn new(server_name: &str, addr: SocketAddr, max_payload: usize) -> ServerInfo {
        let mut info = ServerInfo {
            server_id: new_server_id(),
            server_name: server_name.to_owned(),
            version: NATS_COMPAT_VERSION.to_owned(),
            leafd: env!("CARGO_PKG_VERSION").to_owned(),
            proto: 1,
            host: addr.ip().to_string(),
            port: addr.port(),
            headers: true,
            max_payload,
            jetstream: false,
            auth_required: false,
            tls_required: false,
            tls_verify: false,
            prefix: String::new(),
        };
        info.render();
        info
    }

    /// Advertises (or not) JetStream.
    pub fn set_jetstream(&mut self, on: bool) {
        self.jetstream = on;
        self.render();
    }

    /// Advertises (or not) that clients must authenticate.
    pub fn set_auth_required(&mut self, on: bool) {
        self.auth_required = on;
        self.render();
    }

    /// Advertises TLS on the client port, and whether client certificates are verified.
    pub fn set_tls(&mut self, required: bool, verify: bool) {
        self.tls_required = required;
        self.tls_verify = verify;
        self.render();
    }

    fn render(&mut self) {
        // Serialising a struct of strings and integers cannot fail.
        let mut json = serde_json::to_string(&*self).unwrap_or_else(|_| String::from("{}"));
        json.pop(); // the closing brace; client fields follow
        self.prefix = json;
    }

    /// Appends the INFO line for connection `cid` from `addr`.
    /// The server id (new every start).
    pub fn server_id(&self) -> &str {
        &self.server_id
    }

    pub(crate) fn encode_for(
        &self,
        out: &mut Vec<u8>,
        cid: u64,
        addr: SocketAddr,
        nonce: Option<&str>,
    ) {
        // A nonce is base64url: nothing in it needs JSON escaping.
        let nonce = nonce.map_or_else(String::new, |n| format!(",\"nonce\":\"{n}\""));
        let json = format!(
            "{},\"client_id\":{},\"client_ip\":\"{}\"{nonce}}}",
            self.prefix,
            cid,
            addr.ip()
        );
        crate::protocol::encode::info(out, json.as_bytes());
    }
}

/// A random id in the shape of nats-server's: `N` followed by 55 base-32 characters.
fn new_server_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut id = String::with_capacity(56);
    id.push('N');
    for _ in 0..55 {
        id.push(char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_has_the_fields_clients_need() {
        let addr: SocketAddr = "127.0.0.1:4222".parse().expect("literal address");
        let info = ServerInfo::new("edge", addr, 1 << 20);
        let mut out = Vec::new();
        info.encode_for(
            &mut out,
            7,
            "10.0.0.2:5555".parse().expect("literal address"),
            None,
        );
        let line = std::str::from_utf8(&out).expect("INFO is UTF-8");
        assert!(
            line.starts_with("INFO {") && line.ends_with("} \r\n"),
            "{line}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&line[5..line.len() - 3]).expect("INFO JSON parses");
        assert_eq!(json["proto"], 1);
        assert_eq!(json["headers"], true);
        assert_eq!(json["max_payload"], 1 << 20);
        assert_eq!(json["client_id"], 7);
        assert_eq!(json["client_ip"], "10.0.0.2");
        assert_eq!(json["version"], NATS_COMPAT_VERSION);
        let id = json["server_id"].as_str().expect("server_id is a string");
        assert_eq!(id.len(), 56);
        assert!(id.starts_with('N'));
    }
}
