//! What the bench reads about a server process from `/proc/<pid>`: CPU time, current and
//! peak RSS.
//!
//! Owns: parsing those files. Linux only; every reader returns `None` elsewhere or when
//! the process is gone.

use std::fs;

/// Clock ticks per second for `/proc/<pid>/stat` times. USER_HZ is 100 on every Linux
/// architecture leafd targets (x86_64, aarch64, arm).
const TICKS_PER_SEC: f64 = 100.0;

/// User + system CPU seconds the process has used.
pub(crate) fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: fields start after ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // After the name, utime and stime are fields 12 and 13 (0-based, state is field 0).
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SEC)
}

/// A `kB` field of `/proc/<pid>/status` (e.g. `VmRSS`, `VmHWM`), in bytes.
fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find(|l| l.starts_with(key) && l[key.len()..].starts_with(':'))?;
    let kb: u64 = line[key.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Resident set size now, in bytes.
pub(crate) fn rss(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS")
}

/// Peak resident set size since the last [`reset_peak`] (or process start), in bytes.
pub(crate) fn peak_rss(pid: u32) -> Option<u64> {
    status_kb(pid, "VmHWM")
}

/// Bytes the process caused to be written to the storage device (`write_bytes` of
/// `/proc/<pid>/io`; needs permission over the process).
pub(crate) fn write_bytes(pid: u32) -> Option<u64> {
    let io = fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("write_bytes:"))?
        .trim()
        .parse()
        .ok()
}

/// What `dir` occupies on disk (allocated blocks, like `du`), recursively.
pub(crate) fn disk_usage(dir: &std::path::Path) -> Option<u64> {
    crate::store::disk_usage(dir).ok()
}

/// Resets the peak RSS counter (`echo 5 > /proc/<pid>/clear_refs`); needs permission
/// over the process. Returns whether it worked.
pub(crate) fn reset_peak(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).is_some());
        let rss = rss(pid).expect("own VmRSS");
        assert!(rss > 0);
        assert!(peak_rss(pid).expect("own VmHWM") >= rss / 2);
    }

    #[test]
    fn missing_process_is_none() {
        assert_eq!(rss(u32::MAX), None);
        assert_eq!(cpu_seconds(u32::MAX), None);
    }
}
