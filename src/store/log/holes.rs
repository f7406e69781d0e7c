//! Holes: seq ranges between segments that were removed on purpose, and the interior removal
//! that makes them.
//!
//! Owns: the `holes` file (one `<first> <last>` line per removed range, appended, synced with
//! the next group commit) and removing a rolled segment whose every record was deleted while
//! older segments still hold live ones (a KV key written once must not keep the segments of
//! every later update to other keys). Must not: remove a segment with a live record, the
//! active segment, or one being compacted.
//!
//! Recovery reports a missing seq range between segments as damage; at open the ranges
//! listed here are taken out of that report (and lines below the first segment dropped). A
//! crash between the removal and the next sync can only turn a hole back into a reported
//! gap: the records in it were all deleted already.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::SegmentLog;
use crate::store::error::StoreError;
use crate::store::segment::SharedFile;

/// The file's name in the log directory.
const FILE: &str = "holes";

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Reads the ranges (unreadable lines, such as a torn last one, are skipped), merged and
/// sorted.
pub(super) fn read(dir: &Path) -> Vec<(u64, u64)> {
    let text = fs::read_to_string(path(dir)).unwrap_or_default();
    let mut ranges: Vec<(u64, u64)> = text
        .lines()
        .filter_map(|l| {
            let (a, b) = l.split_once(' ')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .filter(|(a, b)| a <= b)
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
}

/// Whether `gap` lies inside one of `holes` (merged).
pub(super) fn covered(holes: &[(u64, u64)], gap: (u64, u64)) -> bool {
    holes.iter().any(|&(a, b)| a <= gap.0 && gap.1 <= b)
}

/// Rewrites the file with only the ranges at or above `floor` (or removes it when none
/// are), through a temporary file and a rename. Best effort: the file only quiets reports.
pub(super) fn prune(dir: &Path, holes: &[(u64, u64)], floor: u64) {
    let keep: Vec<&(u64, u64)> = holes.iter().filter(|(_, b)| *b >= floor).collect();
    if keep.len() == holes.len() {
        return;
    }
    if keep.is_empty() {
        let _ = fs::remove_file(path(dir));
        return;
    }
    let tmp = dir.join("holes.tmp");
    let text: String = keep.iter().map(|(a, b)| format!("{a} {b}\n")).collect();
    if fs::write(&tmp, text).is_ok() {
        let _ = fs::rename(&tmp, path(dir));
    }
}

impl SegmentLog {
    /// Notes rolled segment `i` as removable when every record in it is deleted.
    pub(super) fn note_if_dead(&mut self, i: usize) {
        let Some(seg) = self.segments.get(i) else {
            return;
        };
        if i + 1 < self.segments.len() && seg.count() > 0 && seg.live() == 0 {
            self.dead.insert(seg.base());
        }
    }

    /// Removes the rolled segments noted dead that sit behind older live ones; returns how
    /// many went.
    ///
    /// # Errors
    /// An I/O error writing the holes file or removing segment files.
    pub(super) fn remove_dead_interior(&mut self) -> Result<u64, StoreError> {
        let mut n = 0;
        let bases: Vec<u64> = self.dead.iter().copied().collect();
        for base in bases {
            self.dead.remove(&base);
            let Some(i) = self.find(base).filter(|&i| self.segments[i].base() == base) else {
                continue;
            };
            let seg = &self.segments[i];
            let removable = i + 1 < self.segments.len()
                && seg.count() > 0
                && seg.live() == 0
                && self.compacting != Some(base);
            if !removable {
                continue;
            }
            let last = seg.next_seq() - 1;
            self.append_hole(base, last)?;
            let seg = self.segments.remove(i).expect("index checked above");
            for p in seg.file_paths() {
                match fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io(&p, e)),
                }
            }
            self.candidates.remove(&base);
            self.dir_dirty = true;
            log::debug!(
                "{}: removed segment {base} (seqs {base}..={last} all deleted)",
                self.dir.path.display()
            );
            n += 1;
        }
        Ok(n)
    }

    fn append_hole(&mut self, first: u64, last: u64) -> Result<(), StoreError> {
        if self.holes.is_none() {
            let p = path(&self.dir.path);
            let file: File = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(|e| StoreError::io(&p, e))?;
            self.holes = Some(SharedFile {
                path: p,
                file: Arc::new(file),
            });
            self.dir_dirty = true;
        }
        let Some(h) = &self.holes else {
            return Ok(());
        };
        (&*h.file)
            .write_all(format!("{first} {last}\n").as_bytes())
            .map_err(|e| StoreError::io(&h.path, e))?;
        self.holes_dirty = true;
        Ok(())
    }
}
