//! Every input the console reacts to, and every effect `update` asks the loop to carry out.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use serde::{Deserialize, Serialize};

use crate::model::{AuditRow, JobRow, Observation, SessionRow};

/// The keymap vocabulary: what a key (or the command palette) can ask for.
///
/// Keymap files name these in snake_case; the `?` help shows [`Command::description`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Quit,
    FocusNext,
    FocusPrev,
    FocusHosts,
    FocusSessions,
    FocusJobs,
    FocusAlerts,
    FocusAudit,
    ShowSources,
    MoveUp,
    MoveDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    OpenDetail,
    Close,
    Filter,
    SortNext,
    SortReverse,
    Palette,
    Help,
    Zoom,
    /// Dialog and text-input context: accept.
    Submit,
    /// Dialog and text-input context: the same as `close`.
    Cancel,
}

impl Command {
    pub const ALL: &'static [Command] = &[
        Command::Quit,
        Command::FocusNext,
        Command::FocusPrev,
        Command::FocusHosts,
        Command::FocusSessions,
        Command::FocusJobs,
        Command::FocusAlerts,
        Command::FocusAudit,
        Command::ShowSources,
        Command::MoveUp,
        Command::MoveDown,
        Command::PageUp,
        Command::PageDown,
        Command::Top,
        Command::Bottom,
        Command::OpenDetail,
        Command::Close,
        Command::Filter,
        Command::SortNext,
        Command::SortReverse,
        Command::Palette,
        Command::Help,
        Command::Zoom,
        Command::Submit,
        Command::Cancel,
    ];

    /// The snake_case name used in keymap files and the command palette.
    pub fn name(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::FocusNext => "focus_next",
            Command::FocusPrev => "focus_prev",
            Command::FocusHosts => "focus_hosts",
            Command::FocusSessions => "focus_sessions",
            Command::FocusJobs => "focus_jobs",
            Command::FocusAlerts => "focus_alerts",
            Command::FocusAudit => "focus_audit",
            Command::ShowSources => "show_sources",
            Command::MoveUp => "move_up",
            Command::MoveDown => "move_down",
            Command::PageUp => "page_up",
            Command::PageDown => "page_down",
            Command::Top => "top",
            Command::Bottom => "bottom",
            Command::OpenDetail => "open_detail",
            Command::Close => "close",
            Command::Filter => "filter",
            Command::SortNext => "sort_next",
            Command::SortReverse => "sort_reverse",
            Command::Palette => "palette",
            Command::Help => "help",
            Command::Zoom => "zoom",
            Command::Submit => "submit",
            Command::Cancel => "cancel",
        }
    }

    pub fn from_name(name: &str) -> Option<Command> {
        Command::ALL.iter().copied().find(|c| c.name() == name)
    }

    pub fn description(self) -> &'static str {
        match self {
            Command::Quit => "Quit ondeck",
            Command::FocusNext => "Focus the next pane",
            Command::FocusPrev => "Focus the previous pane",
            Command::FocusHosts => "Focus the Hosts pane",
            Command::FocusSessions => "Focus the Sessions pane",
            Command::FocusJobs => "Focus the Jobs pane",
            Command::FocusAlerts => "Focus the Alerts pane",
            Command::FocusAudit => "Focus the Audit pane",
            Command::ShowSources => "Show the Sources view (poller health)",
            Command::MoveUp => "Select the row above",
            Command::MoveDown => "Select the row below",
            Command::PageUp => "Move a page up",
            Command::PageDown => "Move a page down",
            Command::Top => "Go to the first row",
            Command::Bottom => "Go to the last row",
            Command::OpenDetail => "Show the selected row in detail",
            Command::Close => "Close the dialog or view",
            Command::Filter => "Filter the focused pane",
            Command::SortNext => "Sort by the next column",
            Command::SortReverse => "Reverse the sort order",
            Command::Palette => "Open the command palette",
            Command::Help => "Show the keys",
            Command::Zoom => "Show the focused pane alone / the dashboard",
            Command::Submit => "Accept",
            Command::Cancel => "Cancel",
        }
    }
}

/// One input to [`crate::update::update`].
#[derive(Debug, Clone)]
pub enum Msg {
    /// A key press the keymap did not translate (text for an input field).
    Key(KeyEvent),
    /// A key press the keymap translated.
    Command(Command),
    Resize {
        width: u16,
        height: u16,
    },
    /// The wall clock moved on (the status-bar clock, staleness deadlines).
    Tick(DateTime<Utc>),
    /// One poll of one source finished.
    SourcePolled {
        source: String,
        at: DateTime<Utc>,
        latency_ms: u64,
        /// What the source answered, or why it did not.
        result: Result<Observation, String>,
        /// With a failed poll: the rows that replace the source's (its endpoint shown down),
        /// or `None` to keep those of its last answer. Boxed: most polls answer.
        unanswered: Option<Box<Observation>>,
    },
    /// The store's job ledger, audit tail and open operator consoles, read afresh.
    StoreLoaded {
        jobs: Vec<JobRow>,
        audit: Vec<AuditRow>,
        sessions: Vec<SessionRow>,
    },
    /// The store could not be read; the message is shown in the status bar.
    StoreFailed(String),
    /// SIGHUP or SIGTERM: leave cleanly.
    Signal(&'static str),
}

/// What `update` asks the loop to do; the loop does the I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_round_trips_through_its_name() {
        for &c in Command::ALL {
            assert_eq!(Command::from_name(c.name()), Some(c));
            let json = serde_json::to_string(&c).expect("serialize");
            assert_eq!(json, format!("\"{}\"", c.name()));
        }
        assert_eq!(Command::from_name("launch_missiles"), None);
    }
}
