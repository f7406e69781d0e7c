//! [`MemLog`]: the in-memory twin of `SegmentLog`, and [`MessageLog`], the trait both
//! implement so later code (JetStream) can use either.
//!
//! Owns: a `BTreeMap` of messages and a fixed "segment" size that makes `evict_oldest`
//! behave like its disk twin (whole chunks of seqs go at once).
//! Must not: touch the file system. Hands off to: tests and RAM-only boards.

use std::collections::BTreeMap;

use super::error::StoreError;
use super::log::{Evicted, SegmentLog, StoredMsg};
use super::record::{self, RecordRef};

/// The operations a stream needs from its message log.
pub trait MessageLog {
    /// Appends and returns the new seq.
    ///
    /// # Errors
    /// Too large, or I/O.
    fn append(
        &mut self,
        subject: &[u8],
        headers: &[u8],
        payload: &[u8],
        timestamp_ns: i64,
    ) -> Result<u64, StoreError>;
    /// Reads a live message.
    ///
    /// # Errors
    /// I/O or corruption.
    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError>;
    /// Marks a message deleted; `false` if it was not live.
    ///
    /// # Errors
    /// I/O.
    fn delete(&mut self, seq: u64) -> Result<bool, StoreError>;
    /// Removes every message below `seq`.
    ///
    /// # Errors
    /// I/O.
    fn purge_before(&mut self, seq: u64) -> Result<Option<Evicted>, StoreError>;
    /// Removes the oldest segment (or chunk) of messages.
    ///
    /// # Errors
    /// I/O.
    fn evict_oldest(&mut self) -> Result<Option<Evicted>, StoreError>;
    /// Lowest live seq (`last_seq() + 1` if empty).
    fn first_seq(&self) -> u64;
    /// Highest seq assigned.
    fn last_seq(&self) -> u64;
    /// Live messages.
    fn msgs(&self) -> u64;
    /// Encoded bytes of live messages.
    fn bytes(&self) -> u64;
    /// Moves buffered appends to the OS.
    ///
    /// # Errors
    /// I/O.
    fn flush(&mut self) -> Result<(), StoreError>;
    /// Drops storage that holds only deleted messages (a disk log's dead oldest segments);
    /// returns how many units went. Nothing live is removed. The memory log frees on delete.
    ///
    /// # Errors
    /// I/O.
    fn evict_dead(&mut self) -> Result<u64, StoreError> {
        Ok(0)
    }
    /// Calls `f` with every live message in seq order (rebuilding indexes at start).
    ///
    /// # Errors
    /// I/O or corruption.
    fn scan_live(&self, f: &mut dyn FnMut(RecordRef<'_>)) -> Result<(), StoreError> {
        for seq in self.first_seq()..=self.last_seq() {
            if let Some(m) = self.get(seq)? {
                f(RecordRef {
                    seq: m.seq,
                    timestamp_ns: m.timestamp_ns,
                    subject: &m.subject,
                    headers: &m.headers,
                    payload: &m.payload,
                });
            }
        }
        Ok(())
    }
    /// Makes everything appended durable; returns the highest durable seq.
    ///
    /// # Errors
    /// I/O.
    fn sync(&mut self) -> Result<u64, StoreError>;
}

impl MessageLog for SegmentLog {
    fn append(
        &mut self,
        subject: &[u8],
        headers: &[u8],
        payload: &[u8],
        ts: i64,
    ) -> Result<u64, StoreError> {
        SegmentLog::append(self, subject, headers, payload, ts)
    }
    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        SegmentLog::get(self, seq)
    }
    fn delete(&mut self, seq: u64) -> Result<bool, StoreError> {
        SegmentLog::delete(self, seq)
    }
    fn purge_before(&mut self, seq: u64) -> Result<Option<Evicted>, StoreError> {
        SegmentLog::purge_before(self, seq)
    }
    fn evict_oldest(&mut self) -> Result<Option<Evicted>, StoreError> {
        self.evict_oldest_segment()
    }
    fn first_seq(&self) -> u64 {
        SegmentLog::first_seq(self)
    }
    fn last_seq(&self) -> u64 {
        SegmentLog::last_seq(self)
    }
    fn msgs(&self) -> u64 {
        SegmentLog::msgs(self)
    }
    fn bytes(&self) -> u64 {
        SegmentLog::bytes(self)
    }
    fn flush(&mut self) -> Result<(), StoreError> {
        SegmentLog::flush(self)
    }
    fn sync(&mut self) -> Result<u64, StoreError> {
        SegmentLog::sync(self)
    }
    fn evict_dead(&mut self) -> Result<u64, StoreError> {
        self.evict_dead_segments()
    }
    fn scan_live(&self, f: &mut dyn FnMut(RecordRef<'_>)) -> Result<(), StoreError> {
        SegmentLog::scan_live(self, f)
    }
}

/// Messages in RAM; `sync` is a no-op and nothing survives the process.
#[derive(Debug, Clone)]
pub struct MemLog {
    msgs: BTreeMap<u64, StoredMsg>,
    next_seq: u64,
    bytes: u64,
    max_record: usize,
    /// Seqs per eviction chunk (the disk log's segment, counted in messages).
    chunk: u64,
}

impl MemLog {
    /// An empty log; `chunk` seqs go per `evict_oldest` (at least 1).
    pub fn new(max_record: usize, chunk: u64) -> MemLog {
        MemLog {
            msgs: BTreeMap::new(),
            next_seq: 1,
            bytes: 0,
            max_record,
            chunk: chunk.max(1),
        }
    }

    fn size(m: &StoredMsg) -> u64 {
        record::encoded_len(m.subject.len(), m.headers.len(), m.payload.len()) as u64
    }

    fn remove_range(&mut self, first: u64, end: u64) -> Evicted {
        let keep = self.msgs.split_off(&end);
        let gone = std::mem::replace(&mut self.msgs, keep);
        let bytes: u64 = gone.values().map(MemLog::size).sum();
        self.bytes -= bytes;
        Evicted {
            first,
            last: end - 1,
            msgs: gone.len() as u64,
            bytes,
        }
    }
}

impl MessageLog for MemLog {
    fn append(
        &mut self,
        subject: &[u8],
        headers: &[u8],
        payload: &[u8],
        ts: i64,
    ) -> Result<u64, StoreError> {
        let len = record::encoded_len(subject.len(), headers.len(), payload.len());
        if len > self.max_record || subject.len() > usize::from(u16::MAX) {
            return Err(StoreError::RecordTooLarge {
                len,
                max: self.max_record,
            });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += len as u64;
        let msg = StoredMsg {
            seq,
            timestamp_ns: ts,
            subject: subject.to_vec(),
            headers: headers.to_vec(),
            payload: payload.to_vec(),
        };
        self.msgs.insert(seq, msg);
        Ok(seq)
    }
    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        Ok(self.msgs.get(&seq).cloned())
    }
    fn delete(&mut self, seq: u64) -> Result<bool, StoreError> {
        let Some(m) = self.msgs.remove(&seq) else {
            return Ok(false);
        };
        self.bytes -= MemLog::size(&m);
        Ok(true)
    }
    fn purge_before(&mut self, seq: u64) -> Result<Option<Evicted>, StoreError> {
        let seq = seq.min(self.next_seq);
        let first = self.first_seq();
        Ok((first < seq).then(|| self.remove_range(first, seq)))
    }
    fn evict_oldest(&mut self) -> Result<Option<Evicted>, StoreError> {
        let Some(&first) = self.msgs.keys().next() else {
            return Ok(None);
        };
        let start = first - (first - 1) % self.chunk;
        Ok(Some(self.remove_range(
            start,
            (start + self.chunk).min(self.next_seq),
        )))
    }
    fn first_seq(&self) -> u64 {
        self.msgs.keys().next().copied().unwrap_or(self.next_seq)
    }
    fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }
    fn msgs(&self) -> u64 {
        self.msgs.len() as u64
    }
    fn bytes(&self) -> u64 {
        self.bytes
    }
    fn flush(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
    fn sync(&mut self) -> Result<u64, StoreError> {
        Ok(self.next_seq - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_log_basics() {
        let mut log = MemLog::new(1024, 4);
        for i in 0..10u8 {
            assert_eq!(
                log.append(b"s", b"", &[i], i64::from(i)).expect("fits"),
                u64::from(i) + 1
            );
        }
        assert!(log.append(b"s", b"", &[0; 2000], 0).is_err());
        assert!(log.delete(2).expect("mem"));
        assert!(!log.delete(2).expect("mem"));
        assert_eq!((log.first_seq(), log.last_seq(), log.msgs()), (1, 10, 9));
        let e = log.evict_oldest().expect("mem").expect("something");
        assert_eq!((e.first, e.last, e.msgs), (1, 4, 3));
        let e = log.purge_before(7).expect("mem").expect("something");
        assert_eq!((e.first, e.last, e.msgs), (5, 6, 2));
        assert_eq!(log.first_seq(), 7);
        assert_eq!(log.get(8).expect("mem").map(|m| m.payload), Some(vec![7]));
        assert_eq!(log.bytes(), 4 * 32);
    }
}
