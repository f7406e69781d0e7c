//! `$JS.API.…` request subjects → [`ApiRequest`], and the request-body leniency rules.
//!
//! Owns: the API subject grammar of PROTOCOL.md §3.1 (with and without a JetStream domain),
//! nats-server's name rules for streams and consumers, and what counts as an "empty" body
//! (§3.12). Must not: look up streams or consumers, or build replies. Hands off to: the router
//! (later), which dispatches on the [`ApiRequest`] and answers with `response`'s builders.

use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::subject;

/// nats-server's `JSMaxNameLen`: the longest stream or consumer name.
pub const MAX_NAME_LEN: usize = 255;

/// One JetStream API request, identified by its subject alone. Names borrow from the subject.
///
/// Subjects under the API prefix that name no operation leafd knows (or whose names are
/// invalid) are [`ApiRequest::Unknown`]; nats-server answers nothing for those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiRequest<'a> {
    /// `INFO`: account info. Body ignored.
    Info,
    /// `STREAM.CREATE.<stream>`.
    StreamCreate {
        /// The stream name in the subject; must equal the body's `name` (else 10056).
        stream: &'a str,
    },
    /// `STREAM.UPDATE.<stream>`.
    StreamUpdate {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `STREAM.INFO.<stream>`.
    StreamInfo {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `STREAM.DELETE.<stream>`.
    StreamDelete {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `STREAM.PURGE.<stream>`.
    StreamPurge {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `STREAM.NAMES`.
    StreamNames,
    /// `STREAM.LIST`.
    StreamList,
    /// `STREAM.MSG.GET.<stream>`.
    StreamMsgGet {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `STREAM.MSG.DELETE.<stream>`.
    StreamMsgDelete {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `DIRECT.GET.<stream>` (body says what) or `DIRECT.GET.<stream>.<subject…>` (last message
    /// on that subject, the KV get).
    DirectGet {
        /// The stream name in the subject.
        stream: &'a str,
        /// The subject tokens after the stream name, if any.
        subject: Option<&'a str>,
    },
    /// `CONSUMER.CREATE.<stream>[.<consumer>[.<filter…>]]` or the legacy
    /// `CONSUMER.DURABLE.CREATE.<stream>.<consumer>`.
    ConsumerCreate {
        /// The stream name in the subject.
        stream: &'a str,
        /// The consumer name; `None` = ephemeral create.
        consumer: Option<&'a str>,
        /// The filter subject tokens after the consumer name (may hold wildcards).
        filter: Option<&'a str>,
        /// Came in as `CONSUMER.DURABLE.CREATE` (nats-server then requires a durable name).
        legacy_durable: bool,
    },
    /// `CONSUMER.INFO.<stream>.<consumer>`.
    ConsumerInfo {
        /// The stream name in the subject.
        stream: &'a str,
        /// The consumer name in the subject.
        consumer: &'a str,
    },
    /// `CONSUMER.DELETE.<stream>.<consumer>`.
    ConsumerDelete {
        /// The stream name in the subject.
        stream: &'a str,
        /// The consumer name in the subject.
        consumer: &'a str,
    },
    /// `CONSUMER.NAMES.<stream>`.
    ConsumerNames {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `CONSUMER.LIST.<stream>`.
    ConsumerList {
        /// The stream name in the subject.
        stream: &'a str,
    },
    /// `CONSUMER.MSG.NEXT.<stream>.<consumer>`: a pull request; the reply is the delivery inbox.
    ConsumerMsgNext {
        /// The stream name in the subject.
        stream: &'a str,
        /// The consumer name in the subject.
        consumer: &'a str,
    },
    /// Under the API prefix but not an operation leafd serves (or a name is invalid).
    Unknown,
}

impl ApiRequest<'_> {
    /// The `<x>` of the reply's `"type":"io.nats.jetstream.api.v1.<x>_response"`, or `None`
    /// for requests whose replies have no envelope (direct get, pull) or that get no reply.
    pub fn response_type(&self) -> Option<&'static str> {
        Some(match self {
            ApiRequest::Info => "account_info",
            ApiRequest::StreamCreate { .. } => "stream_create",
            ApiRequest::StreamUpdate { .. } => "stream_update",
            ApiRequest::StreamInfo { .. } => "stream_info",
            ApiRequest::StreamDelete { .. } => "stream_delete",
            ApiRequest::StreamPurge { .. } => "stream_purge",
            ApiRequest::StreamNames => "stream_names",
            ApiRequest::StreamList => "stream_list",
            ApiRequest::StreamMsgGet { .. } => "stream_msg_get",
            ApiRequest::StreamMsgDelete { .. } => "stream_msg_delete",
            ApiRequest::ConsumerCreate { .. } => "consumer_create",
            ApiRequest::ConsumerInfo { .. } => "consumer_info",
            ApiRequest::ConsumerDelete { .. } => "consumer_delete",
            ApiRequest::ConsumerNames { .. } => "consumer_names",
            ApiRequest::ConsumerList { .. } => "consumer_list",
            ApiRequest::DirectGet { .. }
            | ApiRequest::ConsumerMsgNext { .. }
            | ApiRequest::Unknown => return None,
        })
    }
}

/// Is `name` a valid stream or consumer name? nats-server's `isValidAssetName` plus its length
/// limit: non-empty, at most 255 bytes, none of `.`, `*`, `>`, `/`, `\` or whitespace.
pub fn is_valid_name(name: &str) -> bool {
    name.len() <= MAX_NAME_LEN && is_valid_asset_name(name)
}

/// nats-server's `isValidAssetName` alone (no length limit): non-empty, none of `.`, `*`,
/// `>`, `/`, `\`, space, tab, CR, LF or form feed.
pub fn is_valid_asset_name(name: &str) -> bool {
    !name.is_empty()
        && !name.bytes().any(|b| {
            matches!(
                b,
                b'.' | b'*' | b'>' | b'/' | b'\\' | b' ' | b'\t' | b'\r' | b'\n' | 0x0c
            )
        })
}

/// The part of `subject` after the API prefix, and the domain if the subject used one.
/// `$JS.API.X` → `(None, "X")`; `$JS.hub.API.X` → `(Some("hub"), "X")`.
fn split_prefix(subject: &str) -> Option<(Option<&str>, &str)> {
    let rest = subject.strip_prefix("$JS.")?;
    if let Some(tail) = rest.strip_prefix("API.") {
        return Some((None, tail));
    }
    let (domain, after) = rest.split_once('.')?;
    let tail = after.strip_prefix("API.")?;
    (!domain.is_empty()).then_some((Some(domain), tail))
}

/// The JetStream domain named in an API subject (`$JS.<domain>.API.…`), if any.
pub fn api_domain(subject: &[u8]) -> Option<&str> {
    split_prefix(std::str::from_utf8(subject).ok()?)?.0
}

/// Parses a request subject. `None` if it is not under `$JS.API.` or `$JS.<domain>.API.`
/// (or is not UTF-8: every API subject a client builds is); [`ApiRequest::Unknown`] if it is
/// but names no operation leafd knows, has the wrong number of tokens, or an invalid name.
pub fn parse_api_subject(subject: &[u8]) -> Option<ApiRequest<'_>> {
    let s = std::str::from_utf8(subject).ok()?;
    let (_, tail) = split_prefix(s)?;
    Some(parse_tail(tail).unwrap_or(ApiRequest::Unknown))
}

/// `tail` split at its first `n` dots: `n` names plus the remainder, if any.
fn take<const N: usize>(tail: &str) -> Option<([&str; N], Option<&str>)> {
    let mut out = [""; N];
    let mut rest = Some(tail);
    for slot in out.iter_mut() {
        let r = rest?;
        let (head, more) = match r.split_once('.') {
            Some((h, m)) => (h, Some(m)),
            None => (r, None),
        };
        if !is_valid_name(head) {
            return None;
        }
        *slot = head;
        rest = more;
    }
    Some((out, rest))
}

/// Exactly `N` valid names and nothing after.
fn names<const N: usize>(tail: &str) -> Option<[&str; N]> {
    match take::<N>(tail)? {
        (n, None) => Some(n),
        _ => None,
    }
}

fn parse_tail(tail: &str) -> Option<ApiRequest<'_>> {
    use ApiRequest as R;
    let (verb, args) = tail.split_once('.').unwrap_or((tail, ""));
    Some(match verb {
        "INFO" if args.is_empty() && !tail.contains('.') => R::Info,
        "STREAM" => parse_stream(args)?,
        "CONSUMER" => parse_consumer(args)?,
        "DIRECT" => {
            let rest = args.strip_prefix("GET.")?;
            let ([stream], subj) = take::<1>(rest)?;
            if let Some(subj) = subj {
                if !subject::is_valid_filter(subj.as_bytes()) {
                    return None;
                }
            }
            R::DirectGet {
                stream,
                subject: subj,
            }
        }
        _ => return None,
    })
}

fn parse_stream(args: &str) -> Option<ApiRequest<'_>> {
    use ApiRequest as R;
    let (op, rest) = args.split_once('.').unwrap_or((args, ""));
    let one = || names::<1>(rest).map(|[s]| s);
    Some(match op {
        "NAMES" if !args.contains('.') => R::StreamNames,
        "LIST" if !args.contains('.') => R::StreamList,
        "CREATE" => R::StreamCreate { stream: one()? },
        "UPDATE" => R::StreamUpdate { stream: one()? },
        "INFO" => R::StreamInfo { stream: one()? },
        "DELETE" => R::StreamDelete { stream: one()? },
        "PURGE" => R::StreamPurge { stream: one()? },
        "MSG" => {
            let (sub, rest) = rest.split_once('.')?;
            let [stream] = names::<1>(rest)?;
            match sub {
                "GET" => R::StreamMsgGet { stream },
                "DELETE" => R::StreamMsgDelete { stream },
                _ => return None,
            }
        }
        _ => return None,
    })
}

fn parse_consumer(args: &str) -> Option<ApiRequest<'_>> {
    use ApiRequest as R;
    let (op, rest) = args.split_once('.')?;
    Some(match op {
        "CREATE" => {
            let ([stream], more) = take::<1>(rest)?;
            let (consumer, filter) = match more {
                None => (None, None),
                Some(more) => {
                    let ([consumer], filter) = take::<1>(more)?;
                    if let Some(f) = filter {
                        if !subject::is_valid_filter(f.as_bytes()) {
                            return None;
                        }
                    }
                    (Some(consumer), filter)
                }
            };
            R::ConsumerCreate {
                stream,
                consumer,
                filter,
                legacy_durable: false,
            }
        }
        "DURABLE" => {
            let [stream, consumer] = names::<2>(rest.strip_prefix("CREATE.")?)?;
            R::ConsumerCreate {
                stream,
                consumer: Some(consumer),
                filter: None,
                legacy_durable: true,
            }
        }
        "INFO" => {
            names::<2>(rest).map(|[stream, consumer]| R::ConsumerInfo { stream, consumer })?
        }
        "DELETE" => {
            names::<2>(rest).map(|[stream, consumer]| R::ConsumerDelete { stream, consumer })?
        }
        "NAMES" => R::ConsumerNames {
            stream: names::<1>(rest)?[0],
        },
        "LIST" => R::ConsumerList {
            stream: names::<1>(rest)?[0],
        },
        "MSG" => {
            let [stream, consumer] = names::<2>(rest.strip_prefix("NEXT.")?)?;
            R::ConsumerMsgNext { stream, consumer }
        }
        _ => return None,
    })
}

/// Does `body` count as "no request"? Empty, only whitespace, `null`, `{}` or `[]` (inner
/// whitespace allowed). nats-server accepts a different subset per endpoint (§3.12: `null` is
/// fine for STREAM.INFO but 10038 for CONSUMER.INFO; `[]` is 10025 for STREAM.INFO); leafd
/// accepts all of them everywhere, as PROTOCOL.md recommends for an edge server.
pub fn body_is_empty(body: &[u8]) -> bool {
    let b = body.trim_ascii();
    if b.is_empty() || b == b"null" {
        return true;
    }
    match (b.first(), b.last()) {
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']')) => {
            b[1..b.len() - 1].trim_ascii().is_empty()
        }
        _ => false,
    }
}

/// Decodes an optional request body: an empty one ([`body_is_empty`]) gives `T::default()`,
/// anything else must be a JSON object valid for `T` (else 10025 `invalid JSON: …`).
///
/// # Errors
/// [`ApiError::invalid_json`] with serde_json's reason.
pub fn parse_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body_is_empty(body) {
        return Ok(T::default());
    }
    // Request bodies are objects; serde would also read a struct from an array, Go would not.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(ApiError::invalid_json("expected a JSON object"));
    }
    serde_json::from_slice(body).map_err(ApiError::invalid_json)
}
