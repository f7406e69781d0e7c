//! `$JS.API.INFO` and the `STREAM.*` requests, and `DIRECT.GET`.
//!
//! Owns: the order of checks for each request (nats-server's), building stream infos, and
//! adding/removing streams from the table and the capture sublist. Hands off to: `Stream`
//! for the data, `persist` for the metadata store.

use std::borrow::Cow;

use crate::router::NATS_COMPAT_VERSION;
use crate::subject;

use super::super::api::{body_is_empty, parse_body, ApiRequest};
use super::super::config::StreamConfig;
use super::super::direct;
use super::super::error::ApiError;
use super::super::policy::Storage;
use super::super::request::{
    MsgDeleteRequest, MsgGetRequest, MsgSelector, NamesRequest, PurgeRequest, StreamInfoRequest,
};
use super::super::response::{self, AccountUsage, ClusterInfo, StreamInfo};
use super::super::source::Outgoing;
use super::super::stream::Stream;
use super::super::time::Timestamp;
use super::{JetStream, Slot, StreamId};

/// 10110: `STREAM.PURGE` on a `deny_purge` stream (code 500, as nats-server).
fn purge_not_permitted() -> ApiError {
    ApiError {
        code: 500,
        err_code: 10110,
        description: Cow::Borrowed("stream purge not permitted"),
    }
}

/// 10057: `STREAM.MSG.DELETE` on a `deny_delete` stream.
fn delete_not_permitted() -> ApiError {
    ApiError {
        code: 500,
        err_code: 10057,
        description: Cow::Borrowed("message delete not permitted"),
    }
}

/// 10057 with the store's reason (seq 0, or past the last seq).
fn delete_failed(why: &'static str) -> ApiError {
    ApiError {
        code: 500,
        err_code: 10057,
        description: Cow::Borrowed(why),
    }
}

/// A store failure as the API reports it (10077 with the store's reason).
pub(super) fn store_failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::stream_store_failed(e.to_string())
}

impl JetStream {
    /// The stream requests that answer with a JSON envelope.
    pub(super) fn stream_api(
        &mut self,
        req: ApiRequest<'_>,
        _headers: Option<&[u8]>,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        match req {
            ApiRequest::Info => Ok(response::account_info_response(&self.usage())),
            ApiRequest::StreamCreate { stream } => self.stream_create(stream, body, now),
            ApiRequest::StreamUpdate { stream } => self.stream_update(stream, body, now),
            ApiRequest::StreamInfo { stream } => {
                let id = self.slot_id(stream)?;
                let req: StreamInfoRequest = parse_body(body)?;
                let filter = (!req.subjects_filter.is_empty()).then_some(req.subjects_filter);
                let info = self.info(id, now, true, filter.as_deref());
                Ok(response::stream_info_response(&info, req.offset))
            }
            ApiRequest::StreamDelete { stream } => {
                let id = self.slot_id(stream)?;
                if !body_is_empty(body) {
                    return Err(ApiError::expected_empty_request());
                }
                self.remove_stream(id)?;
                if self.store_refusing() {
                    self.enforce_budget();
                }
                Ok(response::success_response("stream_delete"))
            }
            ApiRequest::StreamPurge { stream } => self.stream_purge(stream, body, now),
            ApiRequest::StreamNames => {
                let req: NamesRequest = parse_body(body)?;
                let names: Vec<&str> = self
                    .matching_streams(&req.subject)
                    .map(|id| self.slots[id].stream.name())
                    .collect();
                Ok(response::stream_names_response(&names, req.offset))
            }
            ApiRequest::StreamList => {
                let req: NamesRequest = parse_body(body)?;
                // At most `max_streams` infos; the response pages them.
                let ids: Vec<usize> = self.matching_streams(&req.subject).collect();
                let infos: Vec<StreamInfo> = ids
                    .iter()
                    .map(|&id| self.info(id, now, false, None))
                    .collect();
                Ok(response::stream_list_response(&infos, req.offset))
            }
            ApiRequest::StreamMsgGet { stream } => {
                let id = self.slot_id(stream)?;
                let req: MsgGetRequest = parse_body(body)?;
                let msg = self
                    .select(id, &req)?
                    .ok_or_else(ApiError::no_message_found)?;
                let subject = String::from_utf8_lossy(&msg.subject);
                Ok(response::msg_get_response(&response::StoredMsg {
                    subject: &subject,
                    seq: msg.seq,
                    hdrs: &msg.headers,
                    data: &msg.payload,
                    time: Timestamp(u64::try_from(msg.timestamp_ns).unwrap_or(0)),
                }))
            }
            ApiRequest::StreamMsgDelete { stream } => {
                let id = self.slot_id(stream)?;
                let req: MsgDeleteRequest = parse_body(body)?;
                let slot = &mut self.slots[id];
                if slot.stream.config().deny_delete {
                    return Err(delete_not_permitted());
                }
                // nats-server's store answers these before looking the seq up.
                if req.seq == 0 {
                    return Err(delete_failed("no message found"));
                }
                if req.seq > slot.stream.state().last_seq {
                    return Err(delete_failed("stream store EOF"));
                }
                if !slot.stream.delete(req.seq)? {
                    return Err(ApiError::sequence_not_found(req.seq));
                }
                self.touch(id);
                Ok(response::success_response("stream_msg_delete"))
            }
            // Consumer requests, pulls and direct gets are dispatched before this.
            _ => Err(ApiError::bad_request()),
        }
    }

    fn usage(&self) -> AccountUsage {
        let mut u = AccountUsage {
            streams: self.slots.len() as u64,
            consumers: self.consumer_total as u64,
            api_total: self.stats.api_total,
            api_errors: self.stats.api_errors,
            ..AccountUsage::default()
        };
        for (_, slot) in &self.slots {
            let bytes = slot.stream.state().bytes;
            match slot.stream.config().storage {
                Storage::Memory => u.memory += bytes,
                Storage::File => u.storage += bytes,
            }
        }
        u
    }

    /// Stream info as create/update/info (`cluster`) and list (no `cluster`) show it.
    pub(super) fn info(
        &self,
        id: usize,
        now: Timestamp,
        cluster: bool,
        subjects_filter: Option<&str>,
    ) -> StreamInfo {
        let slot = &self.slots[id];
        let mut state = slot.stream.state();
        state.consumer_count = slot.consumers.len() as u64;
        if let Some(filter) = subjects_filter {
            state.subjects = Some(slot.stream.subjects_state(filter));
        }
        let config = if cluster {
            slot.stream.config().for_response(NATS_COMPAT_VERSION)
        } else {
            slot.stream.config().clone()
        };
        StreamInfo {
            config,
            created: slot.stream.created(),
            state,
            cluster: cluster.then(|| ClusterInfo {
                leader: self.settings.server_name.clone(),
            }),
            ts: now,
        }
    }

    /// Streams (ids, by name) with a subject overlapping `filter`; all when it is empty.
    fn matching_streams<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.by_name.values().copied().filter(move |&id| {
            filter.is_empty()
                || self.slots[id]
                    .stream
                    .config()
                    .subjects
                    .iter()
                    .any(|s| subject::filters_overlap(s.as_bytes(), filter.as_bytes()))
        })
    }

    fn stream_create(
        &mut self,
        name: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let cfg = request_config(name, body)?;
        cfg.validate_create()?;
        if let Some(&id) = self.by_name.get(name) {
            if cfg.same_as(self.slots[id].stream.config()) {
                return Ok(response::stream_create_response(
                    &self.info(id, now, false, None),
                ));
            }
            return Err(ApiError::stream_name_in_use());
        }
        if cfg.overlaps(self.slots.iter().map(|(_, s)| s.stream.config())) {
            return Err(ApiError::subjects_overlap());
        }
        if self.slots.len() >= self.settings.max_streams {
            return Err(ApiError::maximum_streams_reached());
        }
        if cfg.storage == Storage::File
            && u64::try_from(cfg.max_bytes).is_ok_and(|b| b > self.settings.store_max_bytes)
        {
            // nats-server refuses a stream bigger than the account's storage the same way.
            return Err(ApiError::storage_resources_exceeded());
        }
        let dir = self.stream_dir(&cfg);
        if let Some(dir) = &dir {
            // Left behind by a delete that crashed half-way: not this stream's data.
            if dir.exists() {
                log::warn!(
                    "stream {name}: removing stale files in {} before create",
                    dir.display()
                );
                std::fs::remove_dir_all(dir).map_err(store_failed)?;
            }
        }
        let stream = Stream::open(cfg, now, dir.as_deref(), self.settings.log.clone(), now)
            .map_err(store_failed)?;
        let id = self.insert_slot(stream);
        self.save_stream(id)?;
        log::info!("stream {name}: created");
        Ok(response::stream_create_response(
            &self.info(id, now, false, None),
        ))
    }

    fn stream_update(
        &mut self,
        name: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let cfg = request_config(name, body)?;
        let id = self.slot_id(name)?;
        cfg.validate_update(self.slots[id].stream.config())?;
        if cfg.overlaps(self.slots.iter().map(|(_, s)| s.stream.config())) {
            return Err(ApiError::subjects_overlap());
        }
        let old_subjects = self.slots[id].stream.config().subjects.clone();
        self.slots[id].stream.update(cfg, now)?;
        for s in &old_subjects {
            self.capture
                .remove(s.as_bytes(), None, StreamId(id_u32(id)));
        }
        self.add_capture(id);
        self.note_evictions(id);
        self.touch(id);
        self.save_stream(id)?;
        log::info!("stream {name}: updated");
        Ok(response::stream_update_response(
            &self.info(id, now, false, None),
        ))
    }

    fn stream_purge(
        &mut self,
        name: &str,
        body: &[u8],
        now: Timestamp,
    ) -> Result<Vec<u8>, ApiError> {
        let id = self.slot_id(name)?;
        let req: PurgeRequest = parse_body(body)?;
        if self.slots[id].stream.config().deny_purge {
            return Err(purge_not_permitted());
        }
        if req.seq > 0 && req.keep > 0 {
            return Err(ApiError::bad_request());
        }
        let filter = (!req.filter.is_empty()).then_some(req.filter.as_str());
        let seq = (req.seq > 0).then_some(req.seq);
        let keep = (req.keep > 0).then_some(req.keep);
        let purged = self.slots[id].stream.purge(filter, seq, keep)?;
        self.touch(id);
        if self.store_refusing() {
            self.enforce_budget();
        }
        if purged > 0 {
            log::info!("stream {name}: purged {purged} message(s)");
        }
        self.poll_consumers(id, now);
        Ok(response::purge_response(purged))
    }

    /// The message a `MSG.GET`/`DIRECT.GET` body selects.
    fn select(
        &self,
        id: usize,
        req: &MsgGetRequest,
    ) -> Result<Option<crate::store::StoredMsg>, ApiError> {
        let stream = &self.slots[id].stream;
        match req.selector()? {
            MsgSelector::Seq(seq) => stream.get(seq),
            MsgSelector::LastBySubject(s) => stream.last_by_subject(s.as_bytes()),
            MsgSelector::NextBySubject { subject, from } => {
                stream.next_by_subject(subject.as_bytes(), from)
            }
        }
    }

    /// `DIRECT.GET`: the raw message with `Nats-*` headers, `404` on a miss, and the
    /// no-responders status when the stream does not allow direct gets (nats-server has no
    /// responder for it then).
    pub(super) fn direct_get(
        &mut self,
        api_subject: &[u8],
        stream: &str,
        subject: Option<&str>,
        reply: &[u8],
        body: &[u8],
    ) -> bool {
        let Ok(id) = self.slot_id(stream) else {
            return false;
        };
        if !self.slots[id].stream.config().allow_direct {
            let mut headers = b"NATS/1.0 503\r\nNats-Subject: ".to_vec();
            headers.extend_from_slice(api_subject);
            headers.extend_from_slice(b"\r\n\r\n");
            self.out.push(Outgoing::status(reply, headers));
            return true;
        }
        let found = match subject {
            Some(s) => self.slots[id].stream.last_by_subject(s.as_bytes()),
            None => parse_body::<MsgGetRequest>(body).and_then(|req| self.select(id, &req)),
        };
        let out = match found {
            Ok(Some(msg)) => {
                let subject = String::from_utf8_lossy(&msg.subject);
                let view = response::StoredMsg {
                    subject: &subject,
                    seq: msg.seq,
                    hdrs: &msg.headers,
                    data: &msg.payload,
                    time: Timestamp(u64::try_from(msg.timestamp_ns).unwrap_or(0)),
                };
                Outgoing {
                    to: reply.to_vec(),
                    subject: reply.to_vec(),
                    reply: None,
                    headers: Some(direct::hit_headers(stream, &view)),
                    payload: msg.payload.clone(),
                }
            }
            Ok(None) => Outgoing::status(reply, direct::NOT_FOUND.to_vec()),
            Err(e) => {
                let text = format!("NATS/1.0 {} {}\r\n\r\n", e.code, e.description);
                Outgoing::status(reply, text.into_bytes())
            }
        };
        self.out.push(out);
        true
    }

    /// Adds a stream to the table and the capture sublist.
    pub(super) fn insert_slot(&mut self, mut stream: Stream) -> usize {
        let name = stream.name().to_owned();
        if self.settings.forwarded.contains(&name) {
            let cursor = self.forward_cursor(&name, stream.created().0);
            if let Err(e) = stream.set_hold(Some(cursor)) {
                log::warn!("stream {name}: {}", e.description);
            }
        }
        let id = self.slots.insert(Slot {
            stream,
            consumers: std::collections::BTreeMap::new(),
            pending: std::collections::VecDeque::new(),
            syncing: false,
            compacting: false,
            unsynced: false,
            unflushed: false,
            disk_error_until: None,
            evicted_msgs: 0,
            evictions: Default::default(),
        });
        self.by_name.insert(name, id);
        self.add_capture(id);
        id
    }

    fn add_capture(&mut self, id: usize) {
        let subjects = self.slots[id].stream.config().subjects.clone();
        for s in &subjects {
            if let Err(e) = self
                .capture
                .insert(s.as_bytes(), None, StreamId(id_u32(id)))
            {
                log::warn!("stream subject {s}: {e}");
            }
        }
    }

    /// Deletes stream `id`: consumers first (their waiting pulls get `409 Consumer
    /// Deleted`), then its files and metadata. Acks still waiting are dropped.
    pub(super) fn remove_stream(&mut self, id: usize) -> Result<(), ApiError> {
        let mut slot = self.slots.remove(id);
        let name = slot.stream.name().to_owned();
        self.by_name.remove(&name);
        for s in &slot.stream.config().subjects {
            self.capture
                .remove(s.as_bytes(), None, StreamId(id_u32(id)));
        }
        for c in slot.consumers.values_mut() {
            c.close(&mut self.out);
        }
        self.consumer_total -= slot.consumers.len();
        self.pending_total -= slot.pending.len();
        self.forget_stream(&name)?;
        slot.stream.destroy().map_err(store_failed)?;
        log::info!("stream {name}: deleted");
        Ok(())
    }

    /// Where a stream's segment files live (`None` for memory storage).
    pub(super) fn stream_dir(&self, cfg: &StreamConfig) -> Option<std::path::PathBuf> {
        (cfg.storage == Storage::File).then(|| self.settings.dir.join("streams").join(&cfg.name))
    }
}

/// A create/update body as a normalised config for stream `name` (10025, 10056).
fn request_config(name: &str, body: &[u8]) -> Result<StreamConfig, ApiError> {
    let mut cfg = StreamConfig::from_json(body)?;
    cfg.normalise();
    cfg.check_subject_name(name)?;
    Ok(cfg)
}

/// Slab ids fit in u32: the table is bounded by `max_streams`.
pub(super) fn id_u32(id: usize) -> u32 {
    u32::try_from(id).unwrap_or(u32::MAX)
}
