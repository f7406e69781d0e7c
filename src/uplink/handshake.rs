//! The leaf-node handshake's two JSON documents: the [`HubInfo`] a hub sends on its leaf
//! port, and the [`LeafConnect`] leafd answers with.
//!
//! Owns: their field names and traps as captured from nats-server 2.15.1 (PROTOCOL.md §2.1-2.4):
//! the CONNECT keys are not the obvious ones (`compress_mode`, `remote_account`, `is_hub`),
//! `lang` must never be sent (the hub answers `-ERR 'attempted to connect to leaf node
//! port'`), and compression is never offered, so the link stays plain text.
//! Must not: sign nonces or read credential files (the caller passes what to send).
//!
//! Checked by hand against a real nats-server 2.15.1 hub (`leafnodes { listen }`): this
//! CONNECT followed by PING gets the `connect_info` INFO and a PONG, and the hub logs
//! `Leafnode connection created … Remote: edge1`. The automated hub tests come with the
//! uplink link (issue 4).

use serde::{Deserialize, Serialize};

/// The hub's INFO on its leaf port (the fields leafd uses; the rest is ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct HubInfo {
    /// The hub's id.
    pub server_id: String,
    /// The hub's name.
    pub server_name: String,
    /// nats-server version.
    pub version: String,
    /// Server-to-server protocol level (3 on 2.15).
    pub proto: u32,
    /// HMSG supported.
    pub headers: bool,
    /// Always true on the leaf port, even without auth (captured).
    pub auth_required: bool,
    /// TLS must start right after this INFO.
    pub tls_required: bool,
    /// Largest message the hub takes.
    pub max_payload: u64,
    /// The hub serves JetStream.
    pub jetstream: bool,
    /// What to sign for nkey / creds authentication.
    pub nonce: String,
    /// The hub's compression mode; leafd never offers compression.
    pub compression: String,
    /// A second INFO (with `connect_info`) follows the CONNECT.
    pub info_on_connect: bool,
    /// This INFO is the one that follows the CONNECT.
    pub connect_info: bool,
    /// Other leaf URLs of the hub's cluster (failover candidates).
    pub leafnode_urls: Vec<String>,
    /// The hub's JetStream domain, if any.
    pub domain: String,
    /// The hub's cluster name, if clustered.
    pub cluster: String,
}

impl HubInfo {
    /// Parses the JSON after `INFO `.
    ///
    /// # Errors
    /// Not a JSON object of the expected field types.
    pub fn parse(json: &[u8]) -> Result<HubInfo, serde_json::Error> {
        serde_json::from_slice(json)
    }
}

/// Credentials for the hub's `leafnodes.authorization`, as they go on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LeafCredentials {
    /// None.
    #[default]
    None,
    /// `user` and `pass`.
    UserPassword {
        /// User.
        user: String,
        /// Password.
        pass: String,
    },
    /// `auth_token`.
    Token(String),
    /// `nkey` (public key) and `sig` (base64url, no padding, of the ed25519 signature of the
    /// INFO nonce), plus `jwt` for a creds file.
    Nkey {
        /// Public nkey (`U…`).
        nkey: String,
        /// Signature of the nonce.
        sig: String,
        /// User JWT from a `.creds` file.
        jwt: Option<String>,
    },
}

/// What leafd sends as CONNECT on the leaf port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafConnect {
    /// The nats-server version leafd speaks (checked against the hub's `min_version`).
    pub version: String,
    /// leafd's server id.
    pub server_id: String,
    /// Node name; also sent as `cluster` (a real standalone leaf does that).
    pub name: String,
    /// The account bound locally (`$G`: leafd has one account).
    pub remote_account: String,
    /// Credentials.
    pub credentials: LeafCredentials,
}

#[derive(Serialize)]
struct Wire<'a> {
    version: &'a str,
    server_id: &'a str,
    name: &'a str,
    cluster: &'a str,
    headers: bool,
    jetstream: bool,
    compress_mode: &'static str,
    remote_account: &'a str,
    protocol: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pass: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nkey: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sig: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwt: Option<&'a str>,
}

impl LeafConnect {
    /// The CONNECT JSON: headers on, JetStream not offered to the hub (leafd keeps its own
    /// and forwards through the hub's API), compression `off`, protocol 1, never `lang`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut w = Wire {
            version: &self.version,
            server_id: &self.server_id,
            name: &self.name,
            cluster: &self.name,
            headers: true,
            jetstream: false,
            compress_mode: "off",
            remote_account: &self.remote_account,
            protocol: 1,
            user: None,
            pass: None,
            auth_token: None,
            nkey: None,
            sig: None,
            jwt: None,
        };
        match &self.credentials {
            LeafCredentials::None => {}
            LeafCredentials::UserPassword { user, pass } => {
                w.user = Some(user);
                w.pass = Some(pass);
            }
            LeafCredentials::Token(t) => w.auth_token = Some(t),
            LeafCredentials::Nkey { nkey, sig, jwt } => {
                w.nkey = Some(nkey);
                w.sig = Some(sig);
                w.jwt = jwt.as_deref();
            }
        }
        // Strings and booleans only: serialising cannot fail.
        serde_json::to_vec(&w).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hub INFO of PROTOCOL.md §2.1 (capture, ids shortened).
    const HUB_INFO: &str = r#"{"server_id":"NAF7M7RU","server_name":"hub","version":"2.15.1","proto":3,"git_commit":"b2fd3ef","go":"go1.27.2","host":"127.0.0.1","port":17422,"headers":true,"auth_required":true,"max_payload":1048576,"jetstream":true,"ip":"127.0.0.1:17422","client_id":82,"nonce":"x48wGt1Wy7IzIDE","compression":"s2_auto","api_lvl":5,"info_on_connect":true,"leafnode_urls":["127.0.0.1:17422"]}"#;

    #[test]
    fn parses_the_captured_hub_info() {
        let info = HubInfo::parse(HUB_INFO.as_bytes()).expect("captured INFO parses");
        assert_eq!(info.server_name, "hub");
        assert_eq!(info.proto, 3);
        assert!(info.auth_required && info.headers && info.jetstream && info.info_on_connect);
        assert!(!info.tls_required && !info.connect_info);
        assert_eq!(info.nonce, "x48wGt1Wy7IzIDE");
        assert_eq!(info.compression, "s2_auto");
        assert_eq!(info.leafnode_urls, vec!["127.0.0.1:17422".to_owned()]);
        assert!(HubInfo::parse(b"{\"proto\":\"x\"}").is_err());
    }

    fn connect(credentials: LeafCredentials) -> String {
        let c = LeafConnect {
            version: "2.15.1".into(),
            server_id: "NEDGE1".into(),
            name: "edge1".into(),
            remote_account: "$G".into(),
            credentials,
        };
        String::from_utf8(c.to_json()).expect("UTF-8")
    }

    #[test]
    fn connect_matches_the_capture_and_never_sends_lang() {
        // The hand-written leaf CONNECT the real hub accepted (PROTOCOL.md §2.1), plus the
        // `cluster` a real standalone nats-server leaf sends.
        assert_eq!(
            connect(LeafCredentials::None),
            r#"{"version":"2.15.1","server_id":"NEDGE1","name":"edge1","cluster":"edge1","headers":true,"jetstream":false,"compress_mode":"off","remote_account":"$G","protocol":1}"#
        );
        let with_user = connect(LeafCredentials::UserPassword {
            user: "leaf".into(),
            pass: "pw".into(),
        });
        assert!(
            with_user.ends_with(r#""protocol":1,"user":"leaf","pass":"pw"}"#),
            "{with_user}"
        );
        let with_token = connect(LeafCredentials::Token("t0k".into()));
        assert!(
            with_token.ends_with(r#""auth_token":"t0k"}"#),
            "{with_token}"
        );
        let with_nkey = connect(LeafCredentials::Nkey {
            nkey: "UABC".into(),
            sig: "c2ln".into(),
            jwt: Some("eyJ".into()),
        });
        assert!(
            with_nkey.ends_with(r#""nkey":"UABC","sig":"c2ln","jwt":"eyJ"}"#),
            "{with_nkey}"
        );
        for json in [with_user, with_token, with_nkey] {
            assert!(!json.contains("\"lang\"") && !json.contains("\"compression\""));
        }
    }
}
