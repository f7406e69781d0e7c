//! `leafd check-config`'s output: the effective [`Config`] written back in the config file's
//! own key layout, every key included, so that parsing it back (with no flags) gives the same
//! `Config`.
//!
//! Owns: [`Config::to_toml`] and the writers of its sections. Must not: change the config.

use std::fmt::Write as _;
use std::path::PathBuf;

use super::units::{self, toml_duration, toml_size};
use super::{Config, UplinkAuth};

impl Config {
    /// The effective config in the file's own key layout, with every key written out, so
    /// that parsing it back (with no flags) gives this same `Config`. Board budget and the
    /// memory estimate are added as comments.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; the `let _` below are for fmt::Write's Result.
        let _ = writeln!(
            out,
            "# leafd {} effective configuration",
            env!("CARGO_PKG_VERSION")
        );
        if let (Some(name), Some(budget)) = (&self.board, self.board_budget) {
            let ram = budget.ram.map_or("unknown".to_string(), units::fmt_size);
            let mem = units::fmt_size(budget.memory);
            let _ = writeln!(out, "# board {name}: ram {ram}, memory_budget {mem}");
        }
        let _ = writeln!(out, "# memory: {}", self.memory_estimate().summary());
        let _ = writeln!(out);
        let _ = writeln!(out, "server_name = {}", toml_str(&self.server_name));
        let _ = writeln!(out, "listen = {}", toml_str(&self.listen));
        if let Some(board) = &self.board {
            let _ = writeln!(out, "board = {}", toml_str(board));
        }
        let level = self.log_level.as_str().to_ascii_lowercase();
        let _ = writeln!(out, "log_level = {}", toml_str(&level));
        let _ = writeln!(out, "\n[store]");
        let _ = writeln!(out, "dir = {}", toml_str(&self.store.dir.to_string_lossy()));
        let _ = writeln!(out, "max_bytes = {}", toml_size(self.store.max_bytes));
        let _ = writeln!(out, "max_msgs = {}", self.store.max_msgs);
        let s = &self.store;
        let _ = writeln!(out, "sync = {}", toml_str(s.sync.as_str()));
        let _ = writeln!(out, "sync_interval = {}", toml_duration(s.sync_interval));
        let _ = writeln!(out, "meta_cache = {}", toml_size(s.meta_cache));
        let _ = writeln!(out, "segment_bytes = {}", toml_size(s.segment_bytes));
        let js = &self.jetstream;
        let _ = writeln!(out, "\n[jetstream]");
        let _ = writeln!(out, "enabled = {}", js.enabled);
        let _ = writeln!(out, "max_streams = {}", js.max_streams);
        let _ = writeln!(out, "max_consumers = {}", js.max_consumers);
        self.uplink_toml(&mut out);
        self.auth_toml(&mut out);
        let h = &self.http;
        let _ = writeln!(out, "\n[http]");
        if let Some(listen) = &h.listen {
            let _ = writeln!(out, "listen = {}", toml_str(listen));
        }
        let _ = writeln!(out, "max_connections = {}", h.max_connections);
        let _ = writeln!(
            out,
            "request_timeout = {}",
            toml_duration(h.request_timeout)
        );
        let _ = writeln!(
            out,
            "max_request_head = {}",
            toml_size(h.max_request_head as u64)
        );
        self.tls_toml(&mut out);
        let l = &self.limits;
        let size = |n: usize| toml_size(n as u64);
        let _ = writeln!(out, "\n[limits]");
        let _ = writeln!(out, "max_connections = {}", l.max_connections);
        let _ = writeln!(out, "max_payload = {}", size(l.max_payload));
        let _ = writeln!(out, "max_control_line = {}", size(l.max_control_line));
        let _ = writeln!(out, "max_pending = {}", size(l.max_pending));
        let _ = writeln!(out, "max_subs = {}", l.max_subs);
        let _ = writeln!(
            out,
            "max_subscriptions_total = {}",
            l.max_subscriptions_total
        );
        let _ = writeln!(out, "read_buffer = {}", size(l.read_buffer));
        let _ = writeln!(out, "sublist_cache = {}", l.sublist_cache);
        let _ = writeln!(out, "ping_interval = {}", toml_duration(l.ping_interval));
        let _ = writeln!(out, "ping_max = {}", l.ping_max);
        let _ = writeln!(out, "write_deadline = {}", toml_duration(l.write_deadline));
        out
    }

    /// `[auth]` when client auth is configured; secrets are shown as `<redacted>`.
    fn auth_toml(&self, out: &mut String) {
        let a = &self.auth;
        if !a.enabled() {
            return;
        }
        let _ = writeln!(out, "\n[auth]");
        if a.token.is_some() {
            let _ = writeln!(out, "token = \"<redacted>\"");
        }
        let _ = writeln!(out, "timeout = {}", toml_duration(a.timeout));
        a.default_permissions
            .to_toml("auth.default_permissions", out);
        for u in &a.users {
            let _ = writeln!(out, "\n[[auth.users]]\nuser = {}", toml_str(&u.user));
            // Empty: a user named by its client certificate ([tls] verify_and_map).
            if !u.password.is_empty() {
                let _ = writeln!(out, "password = \"<redacted>\"");
            }
            if let Some(p) = &u.permissions {
                p.to_toml("auth.users.permissions", out);
            }
        }
        for n in &a.nkeys {
            let _ = writeln!(out, "\n[[auth.users]]\nnkey = {}", toml_str(&n.nkey));
            if let Some(p) = &n.permissions {
                p.to_toml("auth.users.permissions", out);
            }
        }
    }

    /// `[tls]` when the client port serves TLS (file paths only; keys are never read here).
    fn tls_toml(&self, out: &mut String) {
        let Some(t) = &self.tls else {
            return;
        };
        let path = |p: &std::path::Path| toml_str(&p.to_string_lossy());
        let _ = writeln!(out, "\n[tls]");
        let _ = writeln!(out, "cert_file = {}", path(&t.cert_file));
        let _ = writeln!(out, "key_file = {}", path(&t.key_file));
        if let Some(ca) = &t.ca_file {
            let _ = writeln!(out, "ca_file = {}", path(ca));
        }
        let _ = writeln!(out, "verify = {}", t.verify);
        let _ = writeln!(out, "verify_and_map = {}", t.verify_and_map);
        let _ = writeln!(out, "handshake_first = {}", t.handshake_first);
        let _ = writeln!(out, "timeout = {}", toml_duration(t.timeout));
    }

    /// `[uplink]` when one is configured; credentials are shown as `<redacted>`.
    fn uplink_toml(&self, out: &mut String) {
        let u = &self.uplink;
        if u.urls.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n[uplink]");
        let urls: Vec<String> = u.urls.iter().map(|x| toml_str(x)).collect();
        let _ = writeln!(out, "urls = [{}]", urls.join(", "));
        if let Some(name) = &u.name {
            let _ = writeln!(out, "name = {}", toml_str(name));
        }
        match &u.auth {
            UplinkAuth::None => {}
            UplinkAuth::UserPassword { user, .. } => {
                let _ = writeln!(out, "user = {}\npassword = \"<redacted>\"", toml_str(user));
            }
            UplinkAuth::Token(_) => {
                let _ = writeln!(out, "token = \"<redacted>\"");
            }
            UplinkAuth::NkeySeedFile(p) => {
                let _ = writeln!(out, "nkey_seed_file = {}", toml_str(&p.to_string_lossy()));
            }
            UplinkAuth::CredsFile(p) => {
                let _ = writeln!(out, "creds_file = {}", toml_str(&p.to_string_lossy()));
            }
        }
        let _ = writeln!(out, "reconnect_min = {}", toml_duration(u.reconnect_min));
        let _ = writeln!(out, "reconnect_max = {}", toml_duration(u.reconnect_max));
        let _ = writeln!(out, "ping_interval = {}", toml_duration(u.ping_interval));
        if let Some(t) = &u.tls {
            let _ = writeln!(out, "\n[uplink.tls]");
            let path = |k: &str, p: &Option<PathBuf>| {
                p.as_ref()
                    .map(|p| format!("{k} = {}\n", toml_str(&p.to_string_lossy())))
                    .unwrap_or_default()
            };
            out.push_str(&path("ca_file", &t.ca_file));
            out.push_str(&path("cert_file", &t.cert_file));
            out.push_str(&path("key_file", &t.key_file));
            if let Some(n) = &t.server_name {
                let _ = writeln!(out, "server_name = {}", toml_str(n));
            }
        }
        for f in &u.forward {
            let _ = writeln!(
                out,
                "\n[[uplink.forward]]\nstream = {}",
                toml_str(&f.stream)
            );
            if let Some(p) = &f.subject_prefix {
                let _ = writeln!(out, "subject_prefix = {}", toml_str(p));
            }
        }
    }
}

/// A TOML basic string with the escapes TOML needs (toml's own serializer does it).
pub(super) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}
