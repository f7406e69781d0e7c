//! The binary's logger: every `log` record as one line on stderr, journald-aware.
//!
//! Owns: [`init_logger`] (called once by `main`), the line format, and telling whether
//! stderr is the journal. Must not: be used by the library, which only calls `log` macros.

use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::os::unix::fs::MetadataExt as _;
use std::sync::OnceLock;
use std::time::SystemTime;

use log::LevelFilter;

/// Logs to stderr: `2026-11-23T20:31:02.123Z INFO  leafd::link: message`.
/// leafd's own targets log at the configured level; dependencies at info at most, so
/// `-vv` shows leafd's trace without the reactor's.
///
/// When stderr is the journal (systemd sets `JOURNAL_STREAM` to its `device:inode`), lines
/// drop the timestamp, which journald adds itself, and start with the syslog priority in
/// sd-daemon(3)'s `<N>` form, so `journalctl -p warning` filters by level:
/// `<6>INFO  leafd::link: message`.
#[derive(Debug)]
struct StderrLogger {
    journal: bool,
}

static LOGGER: OnceLock<StderrLogger> = OnceLock::new();

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        let target = metadata.target();
        let ours = target == "leafd" || target.starts_with("leafd::");
        let max = if ours {
            log::max_level()
        } else {
            log::max_level().min(LevelFilter::Info)
        };
        metadata.level() <= max
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let (level, target, args) = (record.level(), record.target(), record.args());
        // One write per line, so lines from different threads never interleave.
        let line = if self.journal {
            format!("<{}>{level:<5} {target}: {args}\n", syslog_priority(level))
        } else {
            let now = humantime::format_rfc3339_millis(SystemTime::now());
            format!("{now} {level:<5} {target}: {args}\n")
        };
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// sd-daemon(3) priorities: err, warning, info, debug (trace is debug to journald).
fn syslog_priority(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    }
}

/// True when stderr is the journal stream systemd named in `JOURNAL_STREAM`. Comparing the
/// `device:inode` pair (as systemd.exec(5) advises) keeps a redirected stderr, or a child
/// that merely inherited the variable, on the plain format.
fn stderr_is_journal() -> bool {
    let Some(expected) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match std::fs::File::from(fd).metadata() {
        Ok(meta) => expected.to_str() == Some(&format!("{}:{}", meta.dev(), meta.ino())),
        Err(_) => false,
    }
}

/// Installs the logger at `level` (leafd's own records; other crates' at most info).
pub fn init_logger(level: LevelFilter) {
    let logger = LOGGER.get_or_init(|| StderrLogger {
        journal: stderr_is_journal(),
    });
    // set_logger fails only if a logger is already set; main calls this once.
    let _ = log::set_logger(logger);
    log::set_max_level(level);
}
