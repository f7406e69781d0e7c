//! Recovery: rebuilds a log's segments and indexes from its directory at open.
//!
//! Owns: the scan (sequential 1 MiB reads, no per-record syscalls), the torn-tail and
//! damage policy, the `quarantine/` directory, and the [`Recovery`] report.
//! Must not: refuse to start because of file content (only an I/O error on the directory
//! itself stops it), or drop a record that decodes and is in sequence before the damage.
//! Hands off to: `log`, which owns the segments it returns.
//!
//! # Policy
//! Segments are scanned in base order; each stops at the first record that is incomplete,
//! fails its CRC, is malformed, or does not carry the next expected seq.
//! - An incomplete record, or only zero bytes from the damage to the end of the LAST
//!   segment, is a torn tail: the file is truncated there (`set_len` + `fdatasync`).
//! - Any other damage (bad CRC followed by more data, a wrong seq, a damaged non-last
//!   segment) is copied whole to `quarantine/` for inspection, then the live file is cut at
//!   the damage, so every record before it stays readable; later segments carry on.
//!   The lost seqs show up as a gap. A segment whose header is unreadable is moved whole.
//! - Delete marks (`.del`) are read up to the first bad mark; marks for seqs the segment no
//!   longer holds are dropped by rewriting the file, so a reused seq is never born deleted.
//! - Everything recovered is then fdatasync'ed, so it is durable once `open` returns.
//! - `quarantine/` is kept within two segments' worth of bytes, newest copies first
//!   ([`prune_quarantine`]): the disk budget counts it.

use std::fs::{self, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::marks;
use super::record::{self, RecordError};
use super::segment::{self, Segment, SEG_HEADER_LEN};

/// Read size of the scan.
const CHUNK: usize = 1 << 20;

/// Why a segment was quarantined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The segment header is missing or wrong; the whole file was moved.
    Header,
    /// A record failed to decode and more data followed it.
    Record(RecordError),
    /// A record decoded but carried the wrong seq.
    UnexpectedSeq,
    /// The segment's base overlaps the previous segment; the whole file was moved.
    Overlap,
}

/// One quarantined segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Where the damaged file (or a copy of it) now is.
    pub file: PathBuf,
    /// Base seq of the segment.
    pub base: u64,
    /// Records before the damage, still in the log: `base..kept_until`.
    pub kept_until: u64,
    /// What was wrong.
    pub damage: Damage,
}

/// What recovery found and did. Log it; a non-empty `quarantined` or `gaps` is data loss
/// (or a damaged medium) that must be reported, not hidden.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Segments in the log after recovery.
    pub segments: usize,
    /// Records recovered (deleted ones included).
    pub records: u64,
    /// Bytes cut from torn or damaged tails.
    pub bytes_truncated: u64,
    /// Of those, bytes that were all zeros: preallocated space never written, or a tail the
    /// kernel extended but never filled. Nothing is lost with them.
    pub zero_tail: u64,
    /// Damaged segments, with where their bytes went.
    pub quarantined: Vec<Quarantined>,
    /// Inclusive seq ranges missing between segments (includes gaps an earlier recovery left).
    pub gaps: Vec<(u64, u64)>,
    /// Bytes of old quarantined copies removed to keep `quarantine/` within two segments.
    pub quarantine_pruned: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |e| StoreError::io(path, e)
}

/// Lists `(base, path)` of the segment files in `dir`, sorted, and removes leftovers
/// (`.del` files without a segment, `.tmp` files).
fn list(dir: &Path) -> Result<Vec<u64>, StoreError> {
    let mut bases = Vec::new();
    let mut dels = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        // Bases outside 1..=u64::MAX/2 are not ours (seq 0 does not exist, and seq
        // arithmetic must not overflow): such files are left alone.
        let parse = |stem: &str| {
            let base = (stem.len() == 20)
                .then(|| stem.parse::<u64>().ok())
                .flatten()?;
            (1..=u64::MAX / 2).contains(&base).then_some(base)
        };
        if let Some(base) = name.strip_suffix(".seg").and_then(parse) {
            bases.push(base);
        } else if let Some(base) = name.strip_suffix(".del").and_then(parse) {
            dels.push(base);
        } else if name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
    bases.sort_unstable();
    for base in dels {
        if bases.binary_search(&base).is_err() {
            let p = marks::del_path(dir, base);
            fs::remove_file(&p).map_err(io(&p))?;
        }
    }
    Ok(bases)
}

/// Where a scan stopped.
struct Scan {
    offsets: Vec<u32>,
    /// Seqs of tombstone records (left by compaction): deleted, whatever `.del` says.
    tombstones: Vec<u64>,
    /// End of the last good record.
    good_end: u64,
    /// `None`: clean end of file.
    damage: Option<Damage>,
}

/// Scans the records of one segment file from the header on.
fn scan(
    file: &mut File,
    path: &Path,
    base: u64,
    max: usize,
    chunk: &mut Vec<u8>,
) -> Result<Scan, StoreError> {
    let mut offsets = Vec::new();
    let mut tombstones = Vec::new();
    let mut pos = SEG_HEADER_LEN as u64; // file offset of chunk[0]
    let mut start = 0usize;
    let mut eof = false;
    chunk.clear();
    loop {
        let expected = base + offsets.len() as u64;
        match record::decode(&chunk[start..], max) {
            Ok((rec, n)) => {
                if rec.seq != expected {
                    return Ok(Scan {
                        offsets,
                        tombstones,
                        good_end: pos + start as u64,
                        damage: Some(Damage::UnexpectedSeq),
                    });
                }
                let Ok(off) = u32::try_from(pos + start as u64) else {
                    return Ok(Scan {
                        offsets,
                        tombstones,
                        good_end: pos + start as u64,
                        damage: Some(Damage::Record(RecordError::TooLarge)),
                    });
                };
                if rec.timestamp_ns == super::log::TOMBSTONE_TS {
                    tombstones.push(rec.seq);
                }
                offsets.push(off);
                start += n;
            }
            Err(RecordError::Incomplete) if !eof => {
                chunk.drain(..start);
                pos += start as u64;
                start = 0;
                let have = chunk.len();
                let want = CHUNK.max(record::peek_len(chunk).unwrap_or(0).min(max));
                chunk.resize(have + want, 0);
                let n = file.read(&mut chunk[have..]).map_err(io(path))?;
                chunk.truncate(have + n);
                eof = n == 0;
            }
            Err(e) => {
                // Incomplete at end of file is a torn tail, not damage.
                let damage = (e != RecordError::Incomplete).then_some(Damage::Record(e));
                return Ok(Scan {
                    offsets,
                    tombstones,
                    good_end: pos + start as u64,
                    damage,
                });
            }
        }
    }
}

fn all_zero(file: &File, path: &Path, from: u64, to: u64) -> Result<bool, StoreError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = ((to - at) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], at).map_err(io(path))?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// The offset just past the last non-zero byte of `file` below `len` (0 if all zero): where
/// a preallocated segment's data ends.
fn data_end(file: &File, path: &Path, len: u64) -> Result<u64, StoreError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut end = len;
    while end > 0 {
        let n = (end as usize).min(buf.len());
        let at = end - n as u64;
        file.read_exact_at(&mut buf[..n], at).map_err(io(path))?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b != 0) {
            return Ok(at + i as u64 + 1);
        }
        end = at;
    }
    Ok(0)
}

/// Copies `file` to `to` up to the end of its data (not the preallocated zeros after it, which
/// would cost a whole segment's write on an SD card for nothing).
fn copy_data(file: &File, path: &Path, len: u64, to: &Path) -> Result<(), StoreError> {
    let end = data_end(file, path, len)?;
    let mut out = File::create(to).map_err(io(to))?;
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = 0;
    while at < end {
        let n = ((end - at) as usize).min(buf.len());
        file.read_exact_at(&mut buf[..n], at).map_err(io(path))?;
        std::io::Write::write_all(&mut out, &buf[..n]).map_err(io(to))?;
        at += n as u64;
    }
    out.sync_data().map_err(io(to))
}

/// Keeps `quarantine/` within `keep` bytes (as allocated on disk): the oldest copies go
/// first, by modification time, but the newest is always kept. Returns the bytes removed.
///
/// The quarantine is inside the store directory, so the disk budget counts it: without a
/// bound, a gateway whose power is cut every day would fill its budget with copies of
/// damaged tails, one per cut, and the budget would evict live messages to make room.
///
/// # Errors
/// Listing or removing fails.
pub fn prune_quarantine(dir: &Path, keep: u64) -> Result<u64, StoreError> {
    use std::os::unix::fs::MetadataExt;
    let q = dir.join("quarantine");
    let entries = match fs::read_dir(&q) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(StoreError::io(&q, e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io(&q))?;
        let meta = entry.metadata().map_err(io(&q))?;
        if meta.is_file() {
            let modified = meta.modified().unwrap_or(std::time::UNIX_EPOCH);
            files.push((modified, meta.blocks() * 512, entry.path()));
        }
    }
    // Newest first.
    files.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.2.cmp(&a.2)));
    let (mut kept, mut removed) = (0u64, 0u64);
    for (i, (_, bytes, path)) in files.iter().enumerate() {
        if i == 0 || kept + bytes <= keep {
            kept += bytes;
            continue;
        }
        fs::remove_file(path).map_err(io(path))?;
        log::info!(
            "{}: removed an old quarantined copy to keep quarantine/ within {keep} bytes",
            path.display()
        );
        removed += bytes;
    }
    Ok(removed)
}

fn quarantine_dir(dir: &Path) -> Result<PathBuf, StoreError> {
    let q = dir.join("quarantine");
    fs::create_dir_all(&q).map_err(io(&q))?;
    Ok(q)
}

/// Reads, cleans and attaches the `.del` marks of `seg`.
fn load_marks(dir: &Path, seg: &mut Segment) -> Result<Vec<u64>, StoreError> {
    let path = marks::del_path(dir, seg.base());
    let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io(&path, e)),
    };
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(io(&path))?;
    let (seqs, valid) = marks::decode_marks(&bytes);
    let (base, next) = (seg.base(), seg.next_seq());
    let keep: Vec<u64> = seqs
        .iter()
        .copied()
        .filter(|s| (base..next).contains(s))
        .collect();
    let mut len = valid as u64;
    if keep.len() != seqs.len() || valid != bytes.len() {
        let mut out = Vec::with_capacity(keep.len() * marks::MARK_LEN);
        for &s in &keep {
            marks::encode_mark(s, &mut out);
        }
        file.set_len(0).map_err(io(&path))?;
        file.write_all_at(&out, 0).map_err(io(&path))?;
        file.sync_data().map_err(io(&path))?;
        len = out.len() as u64;
    }
    seg.attach_marks(file, len);
    Ok(keep)
}

/// Recovers every segment in `dir`. Returns them in base order, plus the lowest seq the
/// log may use next (above anything a quarantined-whole segment might have held).
///
/// # Errors
/// Only I/O errors (listing, opening, truncating, syncing); never file content.
pub fn recover(
    dir: &Path,
    max: usize,
    report: &mut Recovery,
) -> Result<(Vec<Segment>, u64), StoreError> {
    let bases = list(dir)?;
    let mut segs: Vec<Segment> = Vec::with_capacity(bases.len());
    let mut next_floor = 1u64;
    let mut chunk = Vec::with_capacity(CHUNK);
    for (i, &base) in bases.iter().enumerate() {
        let is_last = i + 1 == bases.len();
        let next_base = bases.get(i + 1).copied();
        let path = segment::seg_path(dir, base);
        next_floor = next_floor.max(base);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let file_len = file.metadata().map_err(io(&path))?.len();
        let mut head = [0u8; SEG_HEADER_LEN];
        let got = file.read(&mut head).map_err(io(&path))?;
        let expected = segment::encode_header(base);
        let overlaps = segs.last().is_some_and(|p| p.next_seq() > base);
        // Short, or zeros where bytes are missing (a preallocated file whose header was
        // never written): a segment created just before a crash.
        let torn_head = !segment::header_ok(&head[..got], base)
            && head[..got]
                .iter()
                .zip(expected.iter())
                .all(|(a, b)| a == b || *a == 0);
        if is_last && torn_head && !overlaps {
            // A segment created just before a crash: start it afresh.
            report.bytes_truncated += file_len;
            file.set_len(0).map_err(io(&path))?;
            file.write_all_at(&expected, 0).map_err(io(&path))?;
            file.sync_data().map_err(io(&path))?;
            let end = SEG_HEADER_LEN as u64;
            let mut seg = Segment::recovered(dir, base, file, Vec::new(), end, Vec::new());
            // It holds no records, so any delete marks are stale: drop them (regression
            // found by the model test: a reused seq came back deleted).
            load_marks(dir, &mut seg)?;
            segs.push(seg);
            continue;
        }
        if overlaps || !segment::header_ok(&head[..got], base) {
            let to = quarantine_dir(dir)?.join(path.file_name().unwrap_or_default());
            fs::rename(&path, &to).map_err(io(&path))?;
            let damage = if overlaps {
                Damage::Overlap
            } else {
                Damage::Header
            };
            report.quarantined.push(Quarantined {
                file: to,
                base,
                kept_until: base,
                damage,
            });
            continue;
        }
        let s = scan(&mut file, &path, base, max, &mut chunk)?;
        if s.good_end < file_len {
            // Zeros to the end are never-written space: the preallocated rest of the active
            // segment, or of a rolled one whose truncation a crash beat (its records then
            // run on into the next segment, so nothing is missing).
            let contiguous = is_last || next_base == Some(base + s.offsets.len() as u64);
            let zeros = s.damage.is_some() && all_zero(&file, &path, s.good_end, file_len)?;
            let torn = match s.damage {
                None => true,
                Some(_) => contiguous && zeros,
            };
            if torn && zeros {
                report.zero_tail += file_len - s.good_end;
            }
            if !torn {
                let to = quarantine_dir(dir)?.join(path.file_name().unwrap_or_default());
                copy_data(&file, &path, file_len, &to)?;
                let damage = s.damage.unwrap_or(Damage::Record(RecordError::Incomplete));
                let kept_until = base + s.offsets.len() as u64;
                report.quarantined.push(Quarantined {
                    file: to,
                    base,
                    kept_until,
                    damage,
                });
            }
            report.bytes_truncated += file_len - s.good_end;
            file.set_len(s.good_end).map_err(io(&path))?;
        }
        file.sync_data().map_err(io(&path))?;
        report.records += s.offsets.len() as u64;
        let mut seg = Segment::recovered(dir, base, file, s.offsets, s.good_end, s.tombstones);
        let marks = load_marks(dir, &mut seg)?;
        let mut seg = seg;
        for seq in marks {
            seg.apply_mark(seq);
        }
        segs.push(seg);
    }
    for pair in segs.windows(2) {
        if pair[0].next_seq() < pair[1].base() {
            report.gaps.push((pair[0].next_seq(), pair[1].base() - 1));
        }
    }
    report.segments = segs.len();
    let next = segs
        .last()
        .map_or(next_floor, |s| s.next_seq().max(next_floor));
    Ok((segs, next))
}
