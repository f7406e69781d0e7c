//! The board profiles, `boards/*.toml`, compiled into the binary with `include_str!` so a
//! bare `leafd` copied onto a Pi knows them all.
//!
//! Profiles are looked up by name among the embedded ones only, never on disk: a profile
//! read from the working directory would make the same command mean different things in
//! different places. A device that needs other numbers takes the nearest profile and
//! overrides keys in its `--config` file.
//!
//! Owns: the table of embedded profiles and [`BoardProfile`].
//! Must not: read files.
//! Hands off to: `mod.rs` (applies a profile as the layer after the defaults), `main`
//! (`leafd boards`).

use super::file::{self, BoardFile};
use super::units::fmt_size;
use super::units::Size;
use super::{BoardBudget, Config, ConfigError, Overrides};

/// Every embedded profile: name and TOML text. Add a board by adding a file and a line here.
const EMBEDDED: &[(&str, &str)] = &[
    ("generic", include_str!("../../boards/generic.toml")),
    ("rpi-zero-2w", include_str!("../../boards/rpi-zero-2w.toml")),
    ("rpi3", include_str!("../../boards/rpi3.toml")),
    ("rpi4", include_str!("../../boards/rpi4.toml")),
    ("rpi5", include_str!("../../boards/rpi5.toml")),
];

/// One board profile, parsed.
#[derive(Debug)]
pub struct BoardProfile {
    /// Name used with `--board` and `board = "..."`.
    pub name: &'static str,
    /// One line describing the device.
    pub description: String,
    /// Device RAM and leafd's memory budget on it.
    pub budget: BoardBudget,
    file: BoardFile,
}

impl BoardProfile {
    /// Parses the embedded profile called `name`.
    ///
    /// # Errors
    /// [`ConfigError::UnknownBoard`] listing the known names, or a parse error (a bug in an
    /// embedded file, which the unit tests rule out).
    pub fn find(name: &str) -> Result<BoardProfile, ConfigError> {
        let (name, text) = EMBEDDED
            .iter()
            .find(|(known, _)| *known == name)
            .ok_or_else(|| ConfigError::UnknownBoard {
                name: name.to_string(),
                known: board_names(),
            })?;
        let source = format!("boards/{name}.toml (embedded)");
        let file: BoardFile = file::parse(&source, text)?;
        Ok(BoardProfile {
            name,
            description: file.board.description.clone(),
            budget: BoardBudget {
                memory: file.board.memory_budget.0,
                ram: file.board.ram.map(|Size(bytes)| bytes),
            },
            file,
        })
    }

    /// Lays this profile over `config` (which should hold the embedded defaults).
    pub(crate) fn apply(self, config: &mut Config) -> Result<(), ConfigError> {
        config.board = Some(self.name.to_string());
        config.board_budget = Some(self.budget);
        if let Some(store) = self.file.store {
            store.apply(&mut config.store);
        }
        if let Some(jetstream) = self.file.jetstream {
            jetstream.apply(&mut config.jetstream);
        }
        match self.file.limits {
            Some(limits) => limits.apply(&mut config.limits),
            None => Ok(()),
        }
    }
}

/// Names of every embedded profile, in display order.
pub fn board_names() -> Vec<&'static str> {
    EMBEDDED.iter().map(|(name, _)| *name).collect()
}

/// Every embedded profile, parsed, in display order.
///
/// # Errors
/// Only if an embedded file is broken, which the unit tests rule out.
pub fn boards() -> Result<Vec<BoardProfile>, ConfigError> {
    EMBEDDED
        .iter()
        .map(|(name, _)| BoardProfile::find(name))
        .collect()
}

/// The `leafd boards` table: one row per embedded profile, with its budgets and ROOM.
///
/// # Errors
/// An embedded profile that does not load (a build defect the tests catch).
pub fn boards_table() -> Result<String, ConfigError> {
    let mut out = format!(
        "{:<12} {:>8} {:>8} {:>8} {:>9} {:>6} {:>8} {:>8} {:>5}  {}\n",
        "NAME",
        "RAM",
        "BUDGET",
        "STORE",
        "MSGS",
        "CONNS",
        "PENDING",
        "PAYLOAD",
        "ROOM",
        "DESCRIPTION"
    );
    for profile in boards()? {
        let overrides = Overrides {
            board: Some(profile.name.to_string()),
            ..Overrides::default()
        };
        let c = Config::from_sources(None, &overrides)?;
        let room = c.memory_estimate().slow_consumers_within_budget();
        out += &format!(
            "{:<12} {:>8} {:>8} {:>8} {:>9} {:>6} {:>8} {:>8} {:>5}  {}\n",
            profile.name,
            profile.budget.ram.map_or("-".to_string(), fmt_size),
            fmt_size(profile.budget.memory),
            fmt_size(c.store.max_bytes),
            c.store.max_msgs,
            c.limits.max_connections,
            fmt_size(c.limits.max_pending as u64),
            fmt_size(c.limits.max_payload as u64),
            room.map_or("-".to_string(), |n| n.to_string()),
            profile.description
        );
    }
    out += "\nSTORE, MSGS: the store's disk budget and its bound on stored messages (each costs\n\
            about 32 B of memory whatever its size).\n\
            ROOM: connections that can be fully backed up (max_pending + max_payload) at once\n\
            within BUDGET with every other limit reached; see boards/README.md.\n";
    Ok(out)
}
