//! Config reload (SIGHUP): what a new, already validated config changes in a running
//! broker, and what it cannot change without a restart.
//!
//! Changes at once: `[auth]` (users, passwords, nkeys, permissions; connections no longer
//! admitted are closed, subscriptions no longer allowed removed, see `router/reload.rs`),
//! `log_level`, and the `[tls]` certificate, key and CA files, read again at every reload
//! (renewed certificates at the same paths included) for connections that start from then
//! on. Everything else (the listeners, store, JetStream, uplink, limits, board; TLS on or
//! off and its `verify`, `verify_and_map`, `handshake_first` and `timeout`) is bound into
//! running state: a change there is logged as needing a restart and the running value
//! stays. A `[tls]` file that cannot be used refuses the whole reload.
//!
//! Owns: comparing the running and the new config, and the log lines of a reload. Must not:
//! read or parse files (main does, and logs a refused config itself). Hands off to: the
//! router.

use std::cell::RefCell;
use std::rc::Rc;

use futures_lite::{Stream, StreamExt as _};

use crate::config::{Config, TlsConfig};
use crate::link::tls_server::ClientTls;
use crate::router::Router;

/// Applies every config that arrives on `reloads`, in order, until the stream ends.
pub(crate) async fn reload_loop(
    router: Rc<RefCell<Router>>,
    mut running: Config,
    reloads: impl Stream<Item = Config>,
    tls: Option<Rc<ClientTls>>,
) {
    let mut reloads = std::pin::pin!(reloads);
    while let Some(new) = reloads.next().await {
        running = apply(&router, tls.as_deref(), running, new);
    }
}

/// Applies `new` where it can; returns the config now in force.
fn apply(
    router: &RefCell<Router>,
    tls: Option<&ClientTls>,
    running: Config,
    new: Config,
) -> Config {
    // The TLS files first: if they cannot be used, nothing else changes either.
    let tls_files = match (tls, &running.tls, &new.tls) {
        (Some(_), Some(old), Some(want)) => {
            let files = TlsConfig {
                cert_file: want.cert_file.clone(),
                key_file: want.key_file.clone(),
                ca_file: want.ca_file.clone(),
                ..old.clone()
            };
            match ClientTls::build(&files) {
                Ok(server) => Some((files, server)),
                Err(e) => {
                    log::error!("reload refused, the running configuration stays in force: {e}");
                    return running;
                }
            }
        }
        _ => None,
    };
    let stays = needs_restart(&running, &new);
    if !stays.is_empty() {
        log::warn!(
            "reload: {} changed, which needs a restart; the running value stays until then",
            stays.join(", ")
        );
    }
    let mut changed = Vec::new();
    if new.log_level != running.log_level {
        log::set_max_level(new.log_level);
        changed.push(format!(
            "log_level {} → {}",
            running.log_level, new.log_level
        ));
    }
    if new.auth != running.auth {
        let report = router.borrow_mut().reload_auth(&new.auth);
        changed.push(format!(
            "[auth]: {} user(s), {} nkey user(s){}; {} connection(s) closed, {} with new \
             permissions, {} subscription(s) removed",
            new.auth.users.len(),
            new.auth.nkeys.len(),
            if new.auth.token.is_some() {
                ", a token"
            } else {
                ""
            },
            report.closed,
            report.repermitted,
            report.subs_removed
        ));
    }
    let mut running_tls = running.tls.clone();
    if let (Some(handle), Some((files, server))) = (tls, tls_files) {
        handle.replace(server);
        changed.push(format!(
            "[tls] certificate files read again ({}{})",
            files.cert_file.display(),
            files
                .ca_file
                .as_ref()
                .map_or(String::new(), |ca| format!(", CA {}", ca.display()))
        ));
        running_tls = Some(files);
    }
    if changed.is_empty() {
        log::info!("configuration reloaded: nothing that can change at run time changed");
    } else {
        log::info!("configuration reloaded: {}", changed.join("; "));
    }
    Config {
        auth: new.auth,
        log_level: new.log_level,
        tls: running_tls,
        ..running
    }
}

/// The sections of `new` that differ from `running` but only take effect at a restart.
fn needs_restart(running: &Config, new: &Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if running.server_name != new.server_name {
        keys.push("server_name");
    }
    if running.listen != new.listen {
        keys.push("listen");
    }
    if running.board != new.board {
        keys.push("board");
    }
    if running.store != new.store {
        keys.push("[store]");
    }
    if running.jetstream != new.jetstream {
        keys.push("[jetstream]");
    }
    if running.uplink != new.uplink {
        keys.push("[uplink]");
    }
    if running.limits != new.limits {
        keys.push("[limits]");
    }
    if running.http != new.http {
        keys.push("[http]");
    }
    let tls_mode = |t: &Option<TlsConfig>| {
        t.as_ref()
            .map(|t| (t.verify, t.verify_and_map, t.handshake_first, t.timeout))
    };
    if tls_mode(&running.tls) != tls_mode(&new.tls) {
        keys.push("[tls] (on or off, verify, verify_and_map, handshake_first, timeout)");
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_only_sections_are_named() {
        let a = Config::default();
        let mut b = a.clone();
        assert!(needs_restart(&a, &b).is_empty());
        b.listen = "127.0.0.1:4333".into();
        b.limits.max_payload /= 2;
        b.log_level = log::LevelFilter::Debug;
        assert_eq!(needs_restart(&a, &b), ["listen", "[limits]"]);
    }
}
