//! Removing whole segments from a [`SegmentLog`]: eviction of the oldest segment and purges
//! below a seq.
//!
//! Owns: deleting segment files and keeping the log's counts and seq floor right while doing
//! it. Must not: decide what to evict (the caller applies the stream's limits).
//! Hands off to: the next `sync`, which makes the removals durable.

use std::fs;

use super::{Evicted, SegmentLog, SyncHandle};
use crate::store::error::StoreError;
use crate::store::segment::{seg_path, Segment};

impl SegmentLog {
    /// Removes the oldest segment and its files; if it is the active one, a fresh empty
    /// segment at `next_seq` is made durable first so the seq floor survives a crash.
    fn remove_front(&mut self) -> Result<Evicted, StoreError> {
        if self.segments.len() == 1 {
            match self.fresh_active() {
                Ok(seg) => self.segments.push_back(seg),
                // A full disk cannot take the new segment before the old one is gone:
                // remove first, then create. A crash in between loses only the seq floor
                // (numbering restarts after the highest seq left on disk).
                Err(e) => {
                    log::warn!(
                        "{}: cannot create a segment before removing the old one ({e}); removing first",
                        self.dir.path.display()
                    );
                    let evicted = self.drop_front()?;
                    let seg = self.fresh_active()?;
                    self.segments.push_back(seg);
                    return Ok(evicted);
                }
            }
        }
        self.drop_front()
    }

    /// A new, empty, durable segment at `next_seq`; on failure nothing is left behind.
    fn fresh_active(&mut self) -> Result<Segment, StoreError> {
        let made = self.try_fresh_active();
        if made.is_err() {
            // `next_seq` is past every existing segment's base, so this is only the
            // half-made file.
            let _ = fs::remove_file(seg_path(&self.dir.path, self.next_seq));
        }
        made
    }

    fn try_fresh_active(&mut self) -> Result<Segment, StoreError> {
        let mut seg = Segment::create(&self.dir.path, self.next_seq)?;
        seg.write_buffered()?;
        let mut files = Vec::new();
        seg.take_dirty(&mut files);
        SyncHandle {
            files,
            dir: Some(self.dir.clone()),
            target: 0,
        }
        .run()?;
        Ok(seg)
    }

    /// Removes the oldest segment's files and accounts for it.
    fn drop_front(&mut self) -> Result<Evicted, StoreError> {
        let Some(seg) = self.segments.pop_front() else {
            return Err(StoreError::Config("log has no segment"));
        };
        for path in seg.file_paths() {
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(StoreError::io(&path, e)),
            }
        }
        self.dir_dirty = true;
        self.candidates.remove(&seg.base());
        self.dead.remove(&seg.base());
        self.msgs -= seg.live();
        self.bytes -= seg.live_bytes();
        Ok(Evicted {
            first: seg.base(),
            last: seg.next_seq() - 1,
            msgs: seg.live(),
            bytes: seg.live_bytes(),
        })
    }

    /// Deletes the oldest segment whole (the active one too, if it is the only one with
    /// records); `None` if the log holds no records. The removal is durable after the next
    /// sync.
    ///
    /// # Errors
    /// An I/O error removing or creating files.
    pub fn evict_oldest_segment(&mut self) -> Result<Option<Evicted>, StoreError> {
        if self.segments.front().is_none_or(|s| s.count() == 0) {
            return Ok(None);
        }
        self.remove_front().map(Some)
    }

    /// Removes segments, active one excepted, whose records have all been deleted one by one
    /// (per-message limits, acks): the oldest, and those behind older live records (noting
    /// the hole, see `holes.rs`); returns how many went. Nothing live is removed.
    ///
    /// # Errors
    /// An I/O error removing files.
    pub fn evict_dead_segments(&mut self) -> Result<u64, StoreError> {
        let mut n = 0;
        while self.segments.len() > 1
            && self
                .segments
                .front()
                .is_some_and(|s| s.count() > 0 && s.live() == 0)
        {
            self.remove_front()?;
            n += 1;
        }
        if !self.dead.is_empty() {
            n += self.remove_dead_interior()?;
        }
        Ok(n)
    }

    /// Removes every message with a seq below `seq`: whole segments are deleted, the
    /// straddling one gets delete marks. Returns the range removed, `None` if nothing was.
    ///
    /// # Errors
    /// An I/O error removing files or writing marks.
    pub fn purge_before(&mut self, seq: u64) -> Result<Option<Evicted>, StoreError> {
        let seq = seq.min(self.next_seq);
        let mut out: Option<Evicted> = None;
        let mut merge = |e: Evicted| {
            let o = out.get_or_insert(Evicted {
                first: e.first,
                last: e.last,
                msgs: 0,
                bytes: 0,
            });
            o.last = e.last;
            o.msgs += e.msgs;
            o.bytes += e.bytes;
        };
        while self
            .segments
            .front()
            .is_some_and(|s| s.count() > 0 && s.next_seq() <= seq)
        {
            merge(self.remove_front()?);
        }
        if let Some(front) = self.segments.front() {
            let base = front.base();
            if base < seq {
                let (mut msgs, mut bytes) = (0, 0);
                for s in base..seq {
                    if let Some(n) = self.segments[0].delete(s) {
                        msgs += 1;
                        bytes += n;
                    }
                }
                self.msgs -= msgs;
                self.bytes -= bytes;
                self.check_candidate(base);
                merge(Evicted {
                    first: base,
                    last: seq - 1,
                    msgs,
                    bytes,
                });
                self.flush()?;
            }
        }
        Ok(out)
    }
}
