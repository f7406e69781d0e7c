//! `[auth.users.permissions]` and `[auth.default_permissions]`: what a user may publish and
//! subscribe to, as nats-server's `permissions { publish, subscribe, allow_responses }`.
//!
//! Owns: the rules as plain data, their TOML forms (a list is the allow list, as in
//! nats-server's old style; a table takes `allow` and `deny`), and their validation.
//! Must not: match subjects against them (the router's `perms.rs` does). Hands off to: the
//! router, through [`super::AuthConfig`].

use std::fmt::Write as _;
use std::time::Duration;

use serde::Deserialize as _;

use super::units::{toml_duration, Dur};
use super::ConfigError;
use crate::subject;

/// What one user may do. Empty (the default): everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions {
    /// Subjects the user may publish to (filters; no queue groups).
    pub publish: Rules,
    /// Subjects the user may subscribe to; an entry may name a queue group after a space
    /// (`"jobs.* workers"`): then only that group may be used on those subjects.
    pub subscribe: Rules,
    /// `allow_responses`: the user may publish to the reply subject of each message it
    /// received, even where `publish` does not allow it. Setting it without a publish
    /// allow list allows only such replies (nats-server's rule).
    pub responses: Option<Responses>,
}

/// An allow list and a deny list. No allow list: everything not denied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rules {
    /// `None`: everything is allowed (unless denied). Never empty when `Some`.
    pub allow: Option<Vec<String>>,
    /// Denials win over the allow list.
    pub deny: Vec<String>,
}

/// `allow_responses = true | { max, expires }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Responses {
    /// Replies allowed per received request; `None`: any number (nats-server: 1).
    pub max: Option<u32>,
    /// How long after the request a reply is allowed (nats-server: 2 m).
    pub expires: Duration,
}

impl Default for Responses {
    /// nats-server's `DEFAULT_ALLOW_RESPONSE_MAX_MSGS` and `..._EXPIRATION`.
    fn default() -> Responses {
        Responses {
            max: Some(1),
            expires: Duration::from_secs(120),
        }
    }
}

impl Rules {
    fn is_empty(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty()
    }
}

impl Permissions {
    /// Whether these permissions restrict anything.
    pub fn is_empty(&self) -> bool {
        self.publish.is_empty() && self.subscribe.is_empty() && self.responses.is_none()
    }

    /// The TOML table under `header` (`[auth.users.permissions]`), for `--print-config`.
    pub(crate) fn to_toml(&self, header: &str, out: &mut String) {
        if self.is_empty() {
            return;
        }
        let _ = writeln!(out, "\n[{header}]");
        for (name, rules) in [("publish", &self.publish), ("subscribe", &self.subscribe)] {
            if rules.is_empty() {
                continue;
            }
            let list = |l: &[String]| {
                let items: Vec<String> = l.iter().map(|s| super::to_toml::toml_str(s)).collect();
                format!("[{}]", items.join(", "))
            };
            let mut parts = Vec::new();
            if let Some(allow) = &rules.allow {
                parts.push(format!("allow = {}", list(allow)));
            }
            if !rules.deny.is_empty() {
                parts.push(format!("deny = {}", list(&rules.deny)));
            }
            let _ = writeln!(out, "{name} = {{ {} }}", parts.join(", "));
        }
        if let Some(r) = self.responses {
            let max = r.max.map_or(-1, i64::from);
            let expires = toml_duration(r.expires);
            let _ = writeln!(
                out,
                "allow_responses = {{ max = {max}, expires = {expires} }}"
            );
        }
    }
}

/// Reads a `permissions` table (`key` names it in errors).
pub(crate) fn parse(key: &'static str, v: &toml::Value) -> Result<Permissions, ConfigError> {
    let bad = |m: String| ConfigError::invalid(key, m);
    let table = v
        .as_table()
        .ok_or_else(|| bad(format!("expected a table, got {}", v.type_str())))?;
    let mut p = Permissions::default();
    for (name, value) in table {
        match name.as_str() {
            "publish" | "pub" => p.publish = rules(key, value, false)?,
            "subscribe" | "sub" => p.subscribe = rules(key, value, true)?,
            "allow_responses" => p.responses = responses(key, value)?,
            other => {
                return Err(bad(format!(
                    "unknown field {other:?}: expected publish, subscribe or allow_responses"
                )))
            }
        }
    }
    Ok(p)
}

/// `["a.>", "b"]` (the allow list) or `{ allow = [...], deny = [...] }`.
fn rules(key: &'static str, v: &toml::Value, queues: bool) -> Result<Rules, ConfigError> {
    let bad = |m: String| ConfigError::invalid(key, m);
    let Some(table) = v.as_table() else {
        return Ok(Rules {
            allow: Some(subjects(key, v, queues)?),
            deny: Vec::new(),
        });
    };
    let mut r = Rules::default();
    for (name, value) in table {
        match name.as_str() {
            "allow" => r.allow = Some(subjects(key, value, queues)?),
            "deny" => r.deny = subjects(key, value, queues)?,
            other => {
                return Err(bad(format!(
                    "unknown field {other:?}: only `allow` and `deny` are permitted"
                )))
            }
        }
    }
    Ok(r)
}

/// A subject or a list of them, each a valid filter (with a queue group after a space where
/// `queues`). An empty list is refused: it reads as "nothing" but nats-server takes it as
/// "everything", so neither meaning can be assumed.
fn subjects(key: &'static str, v: &toml::Value, queues: bool) -> Result<Vec<String>, ConfigError> {
    let bad = |m: String| ConfigError::invalid(key, m);
    let items: Vec<&toml::Value> = match v {
        toml::Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    if items.is_empty() {
        return Err(bad(
            "an empty subject list: leave `allow` out to allow everything, or deny \">\" to \
             allow nothing"
                .to_owned(),
        ));
    }
    items
        .into_iter()
        .map(|item| {
            let s = item.as_str().ok_or_else(|| {
                bad(format!(
                    "expected a subject string, got {}",
                    item.type_str()
                ))
            })?;
            let mut parts = s.split_whitespace();
            let (subj, queue, extra) = (parts.next(), parts.next(), parts.next());
            let valid = |t: &str| subject::is_valid_filter(t.as_bytes());
            match (subj, queue, extra) {
                (Some(f), None, None) if valid(f) => Ok(f.to_owned()),
                (Some(f), Some(q), None) if queues && valid(f) && valid(q) => {
                    Ok(format!("{f} {q}"))
                }
                (Some(f), Some(_), None) if !queues && valid(f) => Err(bad(format!(
                    "{s:?}: a queue group has no meaning for publish permissions"
                ))),
                _ => Err(bad(format!("{s:?} is not a valid subject"))),
            }
        })
        .collect()
}

/// `true`, `false`, or `{ max = N, expires = "2m" }` (0 means nats-server's default;
/// a negative `max` means no limit).
fn responses(key: &'static str, v: &toml::Value) -> Result<Option<Responses>, ConfigError> {
    let bad = |m: String| ConfigError::invalid(key, m);
    if let Some(on) = v.as_bool() {
        return Ok(on.then(Responses::default));
    }
    let table = v.as_table().ok_or_else(|| {
        bad("allow_responses: expected true, false or { max, expires }".to_owned())
    })?;
    let mut r = Responses::default();
    for (name, value) in table {
        match name.as_str() {
            "max" | "max_msgs" | "max_messages" | "max_responses" => {
                let n = value
                    .as_integer()
                    .ok_or_else(|| bad("allow_responses.max: expected an integer".to_owned()))?;
                r.max = match n {
                    0 => Responses::default().max,
                    n if n < 0 => None,
                    n => Some(u32::try_from(n).unwrap_or(u32::MAX)),
                };
            }
            "expires" | "expiration" | "ttl" => {
                let d = Dur::deserialize(value.clone())
                    .map_err(|e| bad(format!("allow_responses.expires: {}", e.message())))?
                    .0;
                r.expires = if d.is_zero() {
                    Responses::default().expires
                } else {
                    d
                };
            }
            other => {
                return Err(bad(format!(
                    "allow_responses: unknown field {other:?}: expected max or expires"
                )))
            }
        }
    }
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Permissions, ConfigError> {
        let v: toml::Value = toml::from_str(text).unwrap();
        parse("auth.users.permissions", &v)
    }

    #[test]
    fn both_forms_and_queue_entries() {
        let p = parse_str(
            r#"
            publish = ["sensors.>", "_INBOX.>"]
            subscribe = { allow = ["cmd.*", "jobs.> workers"], deny = ["cmd.reboot"] }
            allow_responses = { max = 3, expires = "30s" }
            "#,
        )
        .unwrap();
        assert_eq!(
            p.publish.allow.as_deref(),
            Some(&["sensors.>".to_owned(), "_INBOX.>".to_owned()][..])
        );
        assert!(p.publish.deny.is_empty());
        assert_eq!(p.subscribe.deny, vec!["cmd.reboot"]);
        assert_eq!(p.subscribe.allow.as_ref().unwrap()[1], "jobs.> workers");
        assert_eq!(
            p.responses,
            Some(Responses {
                max: Some(3),
                expires: Duration::from_secs(30)
            })
        );
    }

    #[test]
    fn allow_responses_forms() {
        let on = parse_str("allow_responses = true").unwrap();
        assert_eq!(on.responses, Some(Responses::default()));
        assert_eq!(
            parse_str("allow_responses = false").unwrap().responses,
            None
        );
        let unlimited = parse_str("allow_responses = { max = -1, expires = \"0s\" }").unwrap();
        assert_eq!(
            unlimited.responses,
            Some(Responses {
                max: None,
                expires: Duration::from_secs(120)
            })
        );
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let err = |t: &str| parse_str(t).unwrap_err().to_string();
        assert!(err("publish = []").contains("empty subject list"));
        assert!(err("publish = [\"a..b\"]").contains("not a valid subject"));
        assert!(err("publish = [\"a q\"]").contains("queue group has no meaning"));
        assert!(err("subscribe = [\"a q r\"]").contains("not a valid subject"));
        assert!(err("subscribe = { allowed = [\"a\"] }").contains("only `allow` and `deny`"));
        assert!(err("publsh = [\"a\"]").contains("unknown field \"publsh\""));
        assert!(err("allow_responses = \"yes\"").contains("expected true, false"));
    }

    #[test]
    fn printed_form_reads_back() {
        let p = parse_str(
            r#"
            publish = { allow = ["a.>"], deny = ["a.secret"] }
            subscribe = ["b.* q"]
            allow_responses = { max = -1, expires = "1m" }
            "#,
        )
        .unwrap();
        let mut out = String::new();
        p.to_toml("perms", &mut out);
        let v: toml::Value = toml::from_str(&out).unwrap();
        assert_eq!(parse("perms", &v["perms"]).unwrap(), p);
    }
}
