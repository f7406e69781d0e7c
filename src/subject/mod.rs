//! Subjects and filters: validation, tokenising, one-off matching, and the validated newtypes
//! [`Subject`] (a literal publish subject) and [`Filter`] (a subscription subject, may hold
//! wildcards).
//!
//! Owns: the NATS subject grammar (PROTOCOL.md §1.9). Subjects are bytes: nats-server does not
//! require UTF-8, so neither do we. A token is the bytes between dots; `*` and `>` are wildcards
//! only as a whole token (`fo*o` is a literal token). Must not: know about subscribers, the trie
//! or the cache (that is `sublist`). Hands off to: everyone (codec, router, sublist, streams).

use std::fmt;
use std::rc::Rc;

/// Bytes nats-server treats as whitespace inside a subject (`IsValidSubject`): space, tab,
/// LF, CR and form feed.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0c)
}

/// How to build the error for a rejected subject: one of [`SubjectError`]'s constructors.
/// Validation itself allocates nothing; only building the error copies the subject.
type Fault = fn(Box<[u8]>) -> SubjectError;

/// One pass over `s`: the first fault, if any. `literal` also rejects wildcard tokens.
fn check(s: &[u8], literal: bool) -> Result<(), Fault> {
    if s.is_empty() {
        return Err(|_| SubjectError::Empty);
    }
    let mut after_fwc = false;
    for tok in tokens(s) {
        if after_fwc {
            return Err(SubjectError::AfterFullWildcard);
        }
        if tok.is_empty() {
            return Err(SubjectError::EmptyToken);
        }
        if tok.iter().copied().any(is_space) {
            return Err(SubjectError::Whitespace);
        }
        if literal && (tok == b"*" || tok == b">") {
            return Err(SubjectError::Wildcard);
        }
        after_fwc = tok == b">";
    }
    Ok(())
}

/// Is `s` a valid subscription subject? Non-empty, no empty token (leading, trailing or double
/// dot), no whitespace, and nothing after a `>` token. Tokens that merely contain `*` or `>`
/// (`fo*o`) are literal and fine.
pub fn is_valid_filter(s: &[u8]) -> bool {
    check(s, false).is_ok()
}

/// Is `s` a valid literal subject, as a pedantic-mode publish requires? A valid filter with no
/// wildcard token (nats-server `IsValidPublishSubject`).
pub fn is_valid_literal(s: &[u8]) -> bool {
    check(s, true).is_ok()
}

/// Does `s` contain a whole-token wildcard (`*` or `>`)? Does not validate `s`.
pub fn has_wildcard(s: &[u8]) -> bool {
    tokens(s).any(|t| t == b"*" || t == b">")
}

/// Is `q` a valid queue group name? Non-empty and no whitespace (nats.go `badQueue`; the
/// server itself only ever sees what the parser split on whitespace). Dots are allowed.
pub fn is_valid_queue(q: &[u8]) -> bool {
    !q.is_empty() && !q.iter().copied().any(is_space)
}

/// The tokens of `s`, split on `.`. Empty tokens are yielded as empty slices (`""` yields one).
pub fn tokens(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|&b| b == b'.')
}

/// Does the published `subject` match `filter`? Both are bytes; an invalid filter matches
/// nothing, and a subject with an empty token matches nothing (as in the trie).
///
/// A `*` or `>` token in the *subject* is compared literally, exactly the way nats-server's
/// trie treats a published subject: `foo.*` is matched by the filters `foo.*` and `foo.>` but
/// not by `foo.bar`.
pub fn filter_matches(filter: &[u8], subject: &[u8]) -> bool {
    is_valid_filter(filter) && matches_valid(filter, subject)
}

/// [`filter_matches`] for a filter already known to be valid.
pub(crate) fn matches_valid(filter: &[u8], subject: &[u8]) -> bool {
    let mut subj = tokens(subject);
    for f in tokens(filter) {
        let Some(t) = subj.next() else { return false };
        if t.is_empty() {
            return false;
        }
        if f == b">" {
            // `>` takes this token and every following one; each must be non-empty.
            return subj.all(|t| !t.is_empty());
        }
        if f != b"*" && f != t {
            return false;
        }
    }
    subj.next().is_none()
}

/// Is every subject `filter` can match also matched by `outer`? (nats-server
/// `subjectIsSubsetMatch`.) Token-wise: `outer` must be at least as general everywhere.
pub fn is_subset(filter: &[u8], outer: &[u8]) -> bool {
    let (mut f, mut o) = (tokens(filter), tokens(outer));
    loop {
        match (f.next(), o.next()) {
            (None, None) => return true,
            (Some(_), Some(b">")) => return true,
            (Some(b">"), _) => return false,
            (Some(_), Some(b"*")) => {}
            (Some(b"*"), Some(_)) => return false,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// Could some subject match both filters? (nats-server `SubjectsCollide`, used to reject
/// overlapping streams.) An invalid filter matches nothing, so it overlaps nothing.
///
/// Unlike nats-server, which looks only at a token's first byte, `*`/`>` count as wildcards
/// only as whole tokens here, consistent with matching: `fo*o` and `foo` do not overlap.
pub fn filters_overlap(a: &[u8], b: &[u8]) -> bool {
    if !is_valid_filter(a) || !is_valid_filter(b) {
        return false;
    }
    let (mut ia, mut ib) = (tokens(a), tokens(b));
    loop {
        match (ia.next(), ib.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) => {
                // A `>` is last in its filter and takes whatever the other one has from here
                // on (at least this one token, which the other filter has too).
                if x == b">" || y == b">" {
                    return true;
                }
                if x != b"*" && y != b"*" && x != y {
                    return false;
                }
            }
            // Different lengths, and the shorter filter ended without a `>`.
            _ => return false,
        }
    }
}

/// A subject or filter that failed validation, with the offending bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectError {
    /// The subject was empty.
    Empty,
    /// A token was empty: a leading, trailing or double dot.
    EmptyToken(Box<[u8]>),
    /// The subject contained whitespace.
    Whitespace(Box<[u8]>),
    /// A token followed a `>` token.
    AfterFullWildcard(Box<[u8]>),
    /// A literal subject contained a `*` or `>` token.
    Wildcard(Box<[u8]>),
}

impl fmt::Display for SubjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (s, why): (&[u8], &str) = match self {
            Self::Empty => return f.write_str("invalid subject: empty"),
            Self::EmptyToken(s) => (s, "empty token"),
            Self::Whitespace(s) => (s, "contains whitespace"),
            Self::AfterFullWildcard(s) => (s, "token after '>'"),
            Self::Wildcard(s) => (s, "wildcard in a literal subject"),
        };
        write!(f, "invalid subject {:?}: {why}", String::from_utf8_lossy(s))
    }
}

impl std::error::Error for SubjectError {}

/// Writes `bytes` as lossy UTF-8 (invalid sequences become U+FFFD).
fn write_lossy(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_str(&String::from_utf8_lossy(bytes))
}

macro_rules! subject_type {
    ($(#[$doc:meta])* $name:ident, $literal:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Rc<[u8]>);

        impl $name {
            /// Validates `s` and copies it into a new value.
            ///
            /// # Errors
            /// [`SubjectError`] naming the first rule `s` breaks.
            pub fn new(s: &[u8]) -> Result<Self, SubjectError> {
                match check(s, $literal) {
                    Ok(()) => Ok(Self(Rc::from(s))),
                    Err(fault) => Err(fault(Box::from(s))),
                }
            }

            /// The subject's bytes.
            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }
        }

        impl AsRef<[u8]> for $name {
            fn as_ref(&self) -> &[u8] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write_lossy(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), String::from_utf8_lossy(&self.0))
            }
        }
    };
}

subject_type!(
    /// A valid literal subject (no wildcard tokens): what a pedantic publish or a stored
    /// message carries. Cheap to clone (shared bytes).
    Subject,
    true
);

subject_type!(
    /// A valid subscription subject, which may contain `*` and `>` tokens. Cheap to clone.
    Filter,
    false
);

impl Filter {
    /// Does the published `subject` match this filter? (See [`filter_matches`].)
    pub fn matches(&self, subject: &[u8]) -> bool {
        matches_valid(&self.0, subject)
    }

    /// Could some subject match both filters? (See [`filters_overlap`].)
    pub fn overlaps(&self, other: &Filter) -> bool {
        filters_overlap(&self.0, &other.0)
    }

    /// Does this filter contain a wildcard token?
    pub fn has_wildcard(&self) -> bool {
        has_wildcard(&self.0)
    }
}

impl From<Subject> for Filter {
    /// Every literal subject is also a filter that matches only itself.
    fn from(s: Subject) -> Self {
        Filter(s.0)
    }
}

#[cfg(test)]
mod tests;
