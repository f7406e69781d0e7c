//! Resident memory of a broker that runs under qemu-user, counted from the host: the pages of
//! the emulated program's own address space, without the emulator's (translation cache, host
//! heap, host libraries), which is what the program would hold on the board itself.
//!
//! qemu-user keeps the guest's memory in one window of its own address space: guest address
//! `a` lives at host address `guest_base + a`. `-B` pins `guest_base`, and `-R` reserves the
//! window (`qemu-arm` reserves the guest's whole 4 GiB by itself, and refuses `-R`), so every
//! guest mapping, including the heap, thread stacks and the loaded binary, is a host mapping
//! inside `[B, B + R)` and nothing of qemu's is. The guest's RSS is then the `Rss:` of the
//! host's `/proc/<qemu pid>/smaps` entries inside that window.
//!
//! It can only overcount, never undercount: qemu 7.2 ignores a guest `madvise(MADV_DONTNEED)`
//! it cannot pass through, so memory the allocator gave back may still show as resident.
//!
//! [`PeakSampler`] stands in for `VmHWM`, which cannot be split: a thread reads the figure
//! every [`SAMPLE_EVERY`], and callers add their own samples at the moments they know matter.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The guest's window in the qemu process's address space.
#[derive(Debug, Clone, Copy)]
pub struct GuestWindow {
    lo: u64,
    hi: u64,
}

/// How often [`PeakSampler`] reads the guest's RSS.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);

fn hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).ok()
}

impl GuestWindow {
    /// The window of a broker command line: `None` when it does not run under qemu-user,
    /// an error saying what to add when it does but without `-B` (or `-R` for a 64-bit guest).
    pub fn from_argv(argv: &[String]) -> Option<Result<GuestWindow, String>> {
        let program = argv.first()?.rsplit('/').next()?;
        if !program.starts_with("qemu-") {
            return None;
        }
        let flag = |name: &str| {
            argv.iter()
                .position(|a| a == name)
                .and_then(|i| argv.get(i + 1))
                .and_then(|v| hex(v))
        };
        let example = "LEAFD_CMD=\"qemu-aarch64 -B 0x4000000000 -R 0x100000000 $BIN ...\" or \
                       \"qemu-arm -B 0x4000000000 -L /usr/arm-linux-gnueabihf $BIN ...\"";
        let Some(lo) = flag("-B") else {
            return Some(Err(format!(
                "`{}` runs under qemu-user without `-B <guest base>` (hex): the guest's memory \
                 cannot be told apart from the emulator's; e.g. {example}",
                argv.join(" ")
            )));
        };
        // qemu-arm and other 32-bit guests: the whole 4 GiB is reserved by default.
        let size = match flag("-R") {
            Some(r) => r,
            None if program == "qemu-arm" || program == "qemu-i386" => 1 << 32,
            None => {
                return Some(Err(format!(
                    "`{}` runs a 64-bit guest without `-R <reserved size>` (hex): its mappings \
                     could land anywhere; e.g. {example}",
                    argv.join(" ")
                )))
            }
        };
        Some(Ok(GuestWindow { lo, hi: lo + size }))
    }

    /// The guest's resident bytes in process `pid` (the qemu process).
    pub fn rss(&self, pid: u32) -> std::io::Result<u64> {
        let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
        let mut inside = false;
        let mut kib = 0;
        for line in smaps.lines() {
            if let Some(rest) = line.strip_prefix("Rss:") {
                if inside {
                    kib += rest
                        .split_whitespace()
                        .next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .unwrap_or(0);
                }
            } else if let Some((range, _)) = line.split_once(' ') {
                // A mapping's header, `start-end perms ...`; other lines are `Key: value`.
                if let Some((a, b)) = range.split_once('-') {
                    if let (Some(a), Some(b)) = (hex(a), hex(b)) {
                        inside = a >= self.lo && b <= self.hi;
                    }
                }
            }
        }
        Ok(kib * 1024)
    }
}

/// The highest guest RSS seen, from a background thread and from [`PeakSampler::sample`].
pub struct PeakSampler {
    window: GuestWindow,
    pid: u32,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl PeakSampler {
    pub fn start(window: GuestWindow, pid: u32) -> PeakSampler {
        let peak = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if let Ok(rss) = window.rss(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    std::thread::sleep(SAMPLE_EVERY);
                }
            })
        };
        PeakSampler {
            window,
            pid,
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// The guest's RSS now, counted into the peak.
    pub fn sample(&self) -> u64 {
        let rss = self
            .window
            .rss(self.pid)
            .unwrap_or_else(|e| panic!("read /proc/{}/smaps: {e}", self.pid));
        self.peak.fetch_max(rss, Ordering::Relaxed);
        rss
    }

    /// The highest figure sampled so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(Ordering::Relaxed)
    }
}

impl Drop for PeakSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn windows_from_command_lines() {
        assert!(GuestWindow::from_argv(&argv("target/release/leafd --listen x")).is_none());
        let w = GuestWindow::from_argv(&argv(
            "/usr/bin/qemu-aarch64 -B 0x4000000000 -R 0x100000000 bin",
        ))
        .expect("qemu")
        .expect("window");
        assert_eq!((w.lo, w.hi), (0x40_0000_0000, 0x41_0000_0000));
        let w = GuestWindow::from_argv(&argv("qemu-arm -B 0x4000000000 -L /usr/x bin"))
            .expect("qemu")
            .expect("window");
        assert_eq!(w.hi - w.lo, 1 << 32);
        let e = GuestWindow::from_argv(&argv("qemu-aarch64 bin"))
            .expect("qemu")
            .unwrap_err();
        assert!(e.contains("-B <guest base>"), "{e}");
        let e = GuestWindow::from_argv(&argv("qemu-aarch64 -B 0x4000000000 bin"))
            .expect("qemu")
            .unwrap_err();
        assert!(e.contains("-R <reserved size>"), "{e}");
    }
}
