//! `[wall]`: how the NOC wall (`ondeck --wall`) rotates, highlights and rings.

use std::time::Duration;

use super::diagnostics::{DurationLimits, Problems, Table};
use super::values::{DAY, HOUR, limits};

const ROTATE: DurationLimits = limits(
    Duration::from_secs(3),
    HOUR,
    "a room cannot read a page shown for less than 3 seconds",
);
const HIGHLIGHT: DurationLimits = limits(
    Duration::from_secs(10),
    DAY,
    "a highlight shorter than 10 seconds is gone before anyone looks up",
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallConfig {
    /// How long the detail area shows each of Hosts, Alerts and Jobs.
    pub rotate: Duration,
    /// How long a new critical alert stays highlighted after it first appears.
    pub highlight: Duration,
    /// Ring the terminal bell once for each new critical alert.
    pub bell: bool,
    /// Show seconds on the clock (the wall then redraws every second).
    pub seconds: bool,
}

impl Default for WallConfig {
    fn default() -> WallConfig {
        WallConfig {
            rotate: Duration::from_secs(20),
            highlight: Duration::from_secs(300),
            bell: false,
            seconds: false,
        }
    }
}

pub(super) fn read_wall(table: &mut Table<'_, '_>, problems: &mut Problems<'_>) -> WallConfig {
    let defaults = WallConfig::default();
    WallConfig {
        rotate: table
            .duration(problems, "rotate", ROTATE)
            .unwrap_or(defaults.rotate),
        highlight: table
            .duration(problems, "highlight", HIGHLIGHT)
            .unwrap_or(defaults.highlight),
        bell: table.bool(problems, "bell").unwrap_or(defaults.bell),
        seconds: table.bool(problems, "seconds").unwrap_or(defaults.seconds),
    }
}
