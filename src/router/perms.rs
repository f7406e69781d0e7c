//! Client permissions: may this connection publish to a subject, subscribe to a filter (with
//! a queue group), receive a message; and the reply subjects `allow_responses` opens.
//! nats-server's rules (client.go `canSubscribe`, `pubAllowedFullCheck`, `checkDenySub`):
//!
//! - no allow list allows everything; deny wins over allow;
//! - a subscription's own `*` and `>` are compared literally against the rules, so
//!   `allow = ["foo.*"]` admits `SUB foo.*` but `allow = ["foo.bar"]` does not;
//! - a subscribe rule with a queue group (`"jobs.> workers"`) limits queue subscriptions on
//!   those subjects to matching groups (the group may itself be a wildcard);
//! - a wildcard or queue subscription that overlaps a deny rule is admitted, and the denied
//!   subjects are filtered out at delivery;
//! - `allow_responses` lets a client publish to the reply subject of a message it received,
//!   `max` times within `expires`.
//!
//! Owns: the compiled rules ([`Perms`], shared by a user's connections) and each
//! connection's state ([`ClientPerms`]: a bounded verdict cache and the bounded table of
//! reply subjects it may answer). Must not: do I/O or send errors (ops.rs does).

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::config::{Permissions, Responses, Rules};
use crate::subject;

/// Publish verdicts cached per connection (nats-server: 128), then the cache starts over.
const PUB_CACHE: usize = 128;

/// Reply subjects a connection may answer at once. Past this, the oldest request loses its
/// reply permission: a service is normally far fewer requests behind than this.
pub(crate) const MAX_TRACKED_REPLIES: usize = 1024;

/// One rule: a filter, and for subscribe rules an optional queue group.
#[derive(Debug, PartialEq, Eq)]
struct Rule {
    filter: Box<[u8]>,
    queue: Option<Box<[u8]>>,
}

/// An allow and a deny list, compiled.
#[derive(Debug, PartialEq, Eq)]
struct Compiled {
    allow: Option<Vec<Rule>>,
    deny: Vec<Rule>,
}

/// What the rules matching a subject say: plain rules matched, and the queue groups of
/// matching queue rules.
struct Hit<'a> {
    plain: bool,
    queues: Vec<&'a [u8]>,
}

impl Compiled {
    fn new(rules: &Rules, force_allow: bool) -> Compiled {
        let compile = |list: &[String]| -> Vec<Rule> {
            list.iter()
                .map(|s| {
                    let mut parts = s.split_whitespace();
                    Rule {
                        filter: parts.next().unwrap_or_default().as_bytes().into(),
                        queue: parts.next().map(|q| q.as_bytes().into()),
                    }
                })
                .collect()
        };
        Compiled {
            allow: match &rules.allow {
                Some(list) => Some(compile(list)),
                None if force_allow => Some(Vec::new()),
                None => None,
            },
            deny: compile(&rules.deny),
        }
    }

    fn is_open(&self) -> bool {
        self.allow.is_none() && self.deny.is_empty()
    }
}

fn hit<'a>(rules: &'a [Rule], subject: &[u8]) -> Hit<'a> {
    let mut h = Hit {
        plain: false,
        queues: Vec::new(),
    };
    for r in rules {
        if subject::matches_valid(&r.filter, subject) {
            match &r.queue {
                None => h.plain = true,
                Some(q) => h.queues.push(q),
            }
        }
    }
    h
}

/// nats-server's `queueMatches`: no queue rules matched, or one names this group (literally
/// or as a wildcard covering it).
fn queue_matches(queue: &[u8], rules: &[&[u8]]) -> bool {
    rules.is_empty()
        || rules
            .iter()
            .any(|q| *q == queue || (subject::has_wildcard(q) && subject::is_subset(queue, q)))
}

/// A user's permissions, compiled once and shared by its connections.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Perms {
    publish: Compiled,
    subscribe: Compiled,
    responses: Option<Responses>,
}

impl Perms {
    /// `None` when `p` restricts nothing.
    pub(crate) fn new(p: &Permissions) -> Option<Rc<Perms>> {
        if p.is_empty() {
            return None;
        }
        Some(Rc::new(Perms {
            // nats-server: allow_responses without a publish allow list allows only replies.
            publish: Compiled::new(&p.publish, p.responses.is_some()),
            subscribe: Compiled::new(&p.subscribe, false),
            responses: p.responses,
        }))
    }

    /// The publish rules alone (no reply permissions).
    fn publish_allowed(&self, subject: &[u8]) -> bool {
        let p = &self.publish;
        let allowed = p.allow.as_ref().is_none_or(|a| hit(a, subject).plain);
        allowed && !hit(&p.deny, subject).plain
    }

    /// nats-server's `canSubscribeInternal`.
    fn subscribe_allowed(&self, filter: &[u8], queue: Option<&[u8]>) -> bool {
        let s = &self.subscribe;
        let mut allowed = true;
        if let Some(allow) = &s.allow {
            let h = hit(allow, filter);
            allowed = h.plain;
            if let Some(q) = queue.filter(|_| !h.queues.is_empty()) {
                allowed = queue_matches(q, &h.queues);
            }
        }
        if allowed && !s.deny.is_empty() {
            let h = hit(&s.deny, filter);
            allowed = !h.plain;
            if let Some(q) = queue.filter(|_| allowed && !h.queues.is_empty()) {
                allowed = !queue_matches(q, &h.queues);
            }
        }
        allowed
    }

    /// nats-server's `checkDenySub`: whether a message on `subject` must not reach a
    /// subscription (of `queue`) that was admitted because its wildcard is wider.
    fn delivery_denied(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        let h = hit(&self.subscribe.deny, subject);
        h.plain || queue.is_some_and(|q| !h.queues.is_empty() && queue_matches(q, &h.queues))
    }
}

/// A reply subject the connection may publish to, since it received a request.
#[derive(Debug, Clone, Copy)]
struct Reply {
    at: Instant,
    used: u32,
}

/// One connection's permissions and what they have learnt.
#[derive(Debug)]
pub(crate) struct ClientPerms {
    perms: Rc<Perms>,
    /// Publish verdicts without reply permissions (nats-server's `pcache`).
    pub_cache: HashMap<Box<[u8]>, bool>,
    /// Reply subjects of received messages that the rules alone would not allow.
    replies: HashMap<Box<[u8]>, Reply>,
    /// A wildcard or queue subscription overlaps a deny rule: check each delivery.
    check_deliveries: bool,
    /// Violations so far (the first is logged at WARN, the rest at DEBUG).
    pub(crate) violations: u64,
}

impl ClientPerms {
    pub(crate) fn new(perms: Rc<Perms>) -> ClientPerms {
        ClientPerms {
            perms,
            pub_cache: HashMap::new(),
            replies: HashMap::new(),
            check_deliveries: false,
            violations: 0,
        }
    }

    /// The rules this connection follows.
    pub(crate) fn rules(&self) -> &Perms {
        &self.perms
    }

    /// May the connection publish to `subject`? Uses up one reply permission when only
    /// that allows it.
    pub(crate) fn may_publish(&mut self, subject: &[u8], now: Instant) -> bool {
        if self.static_publish(subject) {
            return true;
        }
        let Some(resp) = self.perms.responses else {
            return false;
        };
        let Some(reply) = self.replies.get_mut(subject) else {
            return false;
        };
        reply.used += 1;
        let over = resp.max.is_some_and(|m| reply.used > m);
        let late = now.duration_since(reply.at) > resp.expires;
        let spent = resp.max.is_some_and(|m| reply.used >= m);
        if over || late || spent {
            self.replies.remove(subject);
        }
        !(over || late)
    }

    fn static_publish(&mut self, subject: &[u8]) -> bool {
        if self.perms.publish.is_open() {
            return true;
        }
        if let Some(&v) = self.pub_cache.get(subject) {
            return v;
        }
        let v = self.perms.publish_allowed(subject);
        if self.pub_cache.len() >= PUB_CACHE {
            self.pub_cache.clear();
        }
        self.pub_cache.insert(subject.into(), v);
        v
    }

    /// May the connection subscribe to `filter` (in `queue`)? Turns on delivery checks when
    /// an admitted wildcard or queue subscription overlaps a deny rule.
    pub(crate) fn may_subscribe(&mut self, filter: &[u8], queue: Option<&[u8]>) -> bool {
        if !self.perms.subscribe_allowed(filter, queue) {
            return false;
        }
        if !self.check_deliveries && (queue.is_some() || subject::has_wildcard(filter)) {
            self.check_deliveries = self
                .perms
                .subscribe
                .deny
                .iter()
                .any(|r| subject::filters_overlap(&r.filter, filter));
        }
        true
    }

    /// May a message on `subject` be delivered to this connection's subscription (of
    /// `queue`)? Only wildcard and queue subscriptions can disagree with the deny rules.
    pub(crate) fn may_receive(&self, subject: &[u8], queue: Option<&[u8]>) -> bool {
        !self.check_deliveries || !self.perms.delivery_denied(subject, queue)
    }

    /// A message with `reply` was delivered: with `allow_responses`, the connection may
    /// now answer it (if its rules do not already allow that subject).
    pub(crate) fn note_reply(&mut self, reply: &[u8], now: Instant) {
        let Some(resp) = self.perms.responses else {
            return;
        };
        if self.static_publish(reply) {
            return;
        }
        if self.replies.len() >= MAX_TRACKED_REPLIES && !self.replies.contains_key(reply) {
            self.prune(resp, now);
        }
        self.replies
            .insert(reply.into(), Reply { at: now, used: 0 });
    }

    /// Drops expired reply permissions; if none were, the oldest one.
    fn prune(&mut self, resp: Responses, now: Instant) {
        let expires: Duration = resp.expires;
        self.replies
            .retain(|_, r| now.duration_since(r.at) <= expires);
        if self.replies.len() >= MAX_TRACKED_REPLIES {
            let oldest = self
                .replies
                .iter()
                .min_by_key(|(_, r)| r.at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                log::debug!(
                    "reply permission for {:?} dropped: {MAX_TRACKED_REPLIES} requests unanswered",
                    String::from_utf8_lossy(&k)
                );
                self.replies.remove(&k);
            }
        }
    }

    /// Reply permissions held now (for tests and monitoring).
    #[cfg(test)]
    fn tracked_replies(&self) -> usize {
        self.replies.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(publish: Rules, subscribe: Rules, responses: Option<Responses>) -> ClientPerms {
        let p = Permissions {
            publish,
            subscribe,
            responses,
        };
        ClientPerms::new(Perms::new(&p).expect("restricts something"))
    }

    fn rules(allow: Option<&[&str]>, deny: &[&str]) -> Rules {
        let own = |l: &[&str]| l.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        Rules {
            allow: allow.map(own),
            deny: own(deny),
        }
    }

    #[test]
    fn publish_allow_then_deny() {
        let mut c = perms(
            rules(Some(&["sensors.>", "_INBOX.>"]), &["sensors.secret.*"]),
            Rules::default(),
            None,
        );
        let now = Instant::now();
        assert!(c.may_publish(b"sensors.t1", now));
        assert!(c.may_publish(b"_INBOX.x.y", now));
        assert!(!c.may_publish(b"sensors.secret.k", now));
        assert!(!c.may_publish(b"cmd.reboot", now));
        // Cached verdicts give the same answers.
        assert!(!c.may_publish(b"cmd.reboot", now));
        assert!(c.may_publish(b"sensors.t1", now));
    }

    #[test]
    fn deny_only_allows_the_rest() {
        let mut c = perms(
            rules(None, &["$JS.API.STREAM.DELETE.>"]),
            Rules::default(),
            None,
        );
        let now = Instant::now();
        assert!(c.may_publish(b"$JS.API.STREAM.INFO.S", now));
        assert!(!c.may_publish(b"$JS.API.STREAM.DELETE.S", now));
    }

    #[test]
    fn subscription_wildcards_are_compared_literally() {
        let mut c = perms(
            Rules::default(),
            rules(Some(&["foo.*", "bar.baz"]), &[]),
            None,
        );
        assert!(c.may_subscribe(b"foo.*", None));
        assert!(c.may_subscribe(b"foo.x", None));
        assert!(!c.may_subscribe(b"bar.*", None));
        assert!(!c.may_subscribe(b">", None));
    }

    #[test]
    fn queue_rules() {
        // allow = ["foo v1"]: only queue v1 on foo; allow = ["bar"]: any queue on bar.
        let mut c = perms(
            Rules::default(),
            rules(Some(&["foo v1", "bar", "baz v.*"]), &["bar q.bad"]),
            None,
        );
        assert!(!c.may_subscribe(b"foo", None));
        assert!(c.may_subscribe(b"foo", Some(b"v1")));
        assert!(!c.may_subscribe(b"foo", Some(b"v2")));
        assert!(c.may_subscribe(b"bar", None));
        assert!(c.may_subscribe(b"bar", Some(b"any")));
        assert!(!c.may_subscribe(b"bar", Some(b"q.bad")));
        assert!(c.may_subscribe(b"baz", Some(b"v.2")));
        assert!(!c.may_subscribe(b"baz", Some(b"w")));
    }

    #[test]
    fn wider_wildcards_are_filtered_at_delivery() {
        let mut c = perms(Rules::default(), rules(None, &["cmd.reboot"]), None);
        assert!(c.may_receive(b"cmd.reboot", None), "no wildcard sub yet");
        assert!(!c.may_subscribe(b"cmd.reboot", None));
        assert!(c.may_subscribe(b"cmd.*", None));
        assert!(!c.may_receive(b"cmd.reboot", None));
        assert!(c.may_receive(b"cmd.status", None));
    }

    #[test]
    fn responses_open_reply_subjects_max_times() {
        let resp = Responses {
            max: Some(2),
            expires: Duration::from_secs(60),
        };
        let mut c = perms(Rules::default(), Rules::default(), Some(resp));
        let now = Instant::now();
        assert!(
            !c.may_publish(b"_INBOX.a", now),
            "responses alone allow no other publish"
        );
        c.note_reply(b"_INBOX.a", now);
        assert!(c.may_publish(b"_INBOX.a", now));
        assert!(c.may_publish(b"_INBOX.a", now));
        assert!(!c.may_publish(b"_INBOX.a", now), "max 2 used up");
        assert_eq!(c.tracked_replies(), 0);
    }

    #[test]
    fn responses_expire_and_stay_bounded() {
        let resp = Responses {
            max: None,
            expires: Duration::from_secs(1),
        };
        let mut c = perms(rules(Some(&["svc.>"]), &[]), Rules::default(), Some(resp));
        let t0 = Instant::now();
        c.note_reply(b"svc.x", t0);
        assert_eq!(c.tracked_replies(), 0, "already allowed: not tracked");
        c.note_reply(b"_INBOX.late", t0);
        assert!(!c.may_publish(b"_INBOX.late", t0 + Duration::from_secs(2)));
        for i in 0..MAX_TRACKED_REPLIES + 10 {
            c.note_reply(format!("_INBOX.{i}").as_bytes(), t0);
        }
        assert_eq!(c.tracked_replies(), MAX_TRACKED_REPLIES);
        assert!(c.may_publish(format!("_INBOX.{}", MAX_TRACKED_REPLIES + 9).as_bytes(), t0));
    }
}
