//! The memory model behind the board profiles: how much RSS a set of [`Limits`] costs at
//! idle, and how many connections can be fully backed up (a slow consumer at `max_pending`
//! while reading a `max_payload` message) before the board's `memory_budget` is spent.
//! `boards/README.md` writes the same arithmetic out per board.
//!
//! Owns: the per-item cost constants and [`MemoryEstimate`].
//! Must not: enforce anything; `main` warns when a config exceeds its budget and the
//! tests keep every embedded board inside its own.
//! Hands off to: `main` (startup log), `check-config` (comment lines), the RSS tests.

use super::units::{fmt_approx, KIB, MIB};
use super::{Config, Limits};

/// Binary text, allocator, executor, logger: what an idle leafd with no clients costs
/// (measured by `tests/boards.rs`: 5.6-5.9 MiB of RSS, release build, x86_64).
pub(crate) const RUNTIME_BYTES: u64 = 6 * MIB;
/// What the store costs besides sled's cache and the message index once it holds data:
/// the active segment's write buffer, the compaction copy buffer, read scratch, sled's own
/// structures, the sync thread's allocator arena (measured by `tests/boards.rs`: 4.5-6.5
/// MiB of anonymous memory after a store load, sled's 2 MiB cache included).
pub(crate) const STORE_BUFFERS_BYTES: u64 = 4 * MIB;
/// One stored message, whatever its size: its index entry (timestamp, subject id, size),
/// its seq in its subject's list and its offset in its segment, 28 bytes, plus the spare
/// room of the growing containers (measured by `tests/boards.rs` with `store.max_msgs` small
/// messages).
pub(crate) const PER_STORED_MSG_BYTES: u64 = 32;
/// Per connection besides its read buffer: task, socket, parser scratch, router entry,
/// outbox bookkeeping and a small steady-state write queue.
pub(crate) const PER_CONNECTION_BYTES: u64 = 16 * KIB;
/// Per connection with `[tls]`: rustls's session state and record buffers (measured with
/// the release build: +10 KiB idle, +11 KiB over a plain connection after a 16 KB message).
pub(crate) const PER_TLS_CONNECTION_BYTES: u64 = 16 * KIB;
/// One subscription: trie node share, sid, subject bytes, per-client index entry.
pub(crate) const PER_SUBSCRIPTION_BYTES: u64 = 256;
/// One sublist cache entry: subject key plus a short list of matching subscribers.
pub(crate) const PER_CACHE_ENTRY_BYTES: u64 = 512;
/// The store's cache when no board sets a budget (with a board: a quarter of its budget).
pub(crate) const DEFAULT_STORE_CACHE_BYTES: u64 = 64 * MIB;

/// RSS leafd is expected to use with a given [`Config`], item by item, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Binary, allocator, executor and logger: 6 MiB.
    pub runtime: u64,
    /// The store: 4 MiB of buffers, sled's cache (`store.meta_cache`) and
    /// `store.max_msgs × 32 B` of message index.
    pub store: u64,
    /// `max_connections × (read_buffer + 16 KiB)`, plus 16 KiB each with `[tls]`: every
    /// connection open and idle.
    pub connections: u64,
    /// `max_subscriptions_total × 256 B`.
    pub subscriptions: u64,
    /// `sublist_cache × 512 B`.
    pub sublist_cache: u64,
    /// Extra bytes one fully backed-up connection costs: `max_pending + max_payload +
    /// max_control_line` (a full outbox plus a read buffer grown to one whole message).
    pub per_slow_consumer: u64,
    /// The board's memory budget, if a board is applied.
    pub budget: Option<u64>,
}

impl MemoryEstimate {
    /// Everything at its limit except the slow consumers: the floor the budget must clear.
    pub fn idle_total(&self) -> u64 {
        self.runtime + self.store + self.connections + self.subscriptions + self.sublist_cache
    }

    /// How many connections may be fully backed up at once within the budget (`None`
    /// without a board). Zero means the idle total alone is over budget.
    pub fn slow_consumers_within_budget(&self) -> Option<u64> {
        let budget = self.budget?;
        Some(budget.saturating_sub(self.idle_total()) / self.per_slow_consumer.max(1))
    }

    /// One line for logs and `check-config`:
    /// `~142.4 MiB with every limit reached (...) of a 256.0 MiB budget; room for 6 slow consumers at 17.0 MiB each`.
    pub fn summary(&self) -> String {
        let idle = fmt_approx(self.idle_total());
        let each = fmt_approx(self.per_slow_consumer);
        match (self.budget, self.slow_consumers_within_budget()) {
            (Some(budget), Some(room)) => format!(
                "~{idle} with every limit reached (all connections and subscriptions, no backlog) of a {} budget; room for {room} slow consumers at {each} each",
                fmt_approx(budget)
            ),
            _ => format!(
                "~{idle} with every limit reached (all connections and subscriptions, no backlog), no board budget; each slow consumer adds {each}"
            ),
        }
    }
}

impl Config {
    /// The memory model applied to this config (see the module docs and `boards/README.md`).
    pub fn memory_estimate(&self) -> MemoryEstimate {
        let l: &Limits = &self.limits;
        let n = |v: usize| v as u64;
        MemoryEstimate {
            runtime: RUNTIME_BYTES,
            store: STORE_BUFFERS_BYTES
                + self.store.meta_cache
                + self.store.max_msgs as u64 * PER_STORED_MSG_BYTES,
            connections: n(l.max_connections)
                * (n(l.read_buffer)
                    + PER_CONNECTION_BYTES
                    + if self.tls.is_some() {
                        PER_TLS_CONNECTION_BYTES
                    } else {
                        0
                    }),
            subscriptions: n(l.max_subscriptions_total) * PER_SUBSCRIPTION_BYTES,
            sublist_cache: n(l.sublist_cache) * PER_CACHE_ENTRY_BYTES,
            per_slow_consumer: n(l.max_pending) + n(l.max_payload) + n(l.max_control_line),
            budget: self.board_budget.map(|b| b.memory),
        }
    }

    /// Bytes the store may spend on caches (e.g. sled's `cache_capacity`): a quarter of the
    /// board's memory budget, or 64 MiB without a board.
    pub fn store_cache_budget(&self) -> u64 {
        self.board_budget
            .map_or(DEFAULT_STORE_CACHE_BYTES, |b| b.memory / 4)
    }
}
