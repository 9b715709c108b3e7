//! Every input the console reacts to, and every effect `update` asks the loop to carry out.

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;
use serde::{Deserialize, Serialize};

use crate::actions::backups::Listing;
use crate::actions::engine::JobEvent;
use crate::actions::unseal::{UnsealReply, UnsealRequest};
use crate::actions::{BackupChoice, Decision, Plan};
use crate::model::{ApprovalRequest, Observation, StoreRows};
use crate::secret_text::SecretText;

/// The keymap vocabulary: what a key (or the command palette) can ask for.
///
/// Keymap files and the palette name these in snake_case (the serde and strum names agree); the
/// `?` help shows each one's message.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    strum::VariantArray,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::EnumMessage,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Command {
    #[strum(message = "Quit ondeck")]
    Quit,
    #[strum(message = "Focus the next pane (or dialog button)")]
    FocusNext,
    #[strum(message = "Focus the previous pane (or dialog button)")]
    FocusPrev,
    #[strum(message = "Focus the Hosts pane")]
    FocusHosts,
    #[strum(message = "Focus the Sessions pane")]
    FocusSessions,
    #[strum(message = "Focus the Jobs pane")]
    FocusJobs,
    #[strum(message = "Focus the Alerts pane")]
    FocusAlerts,
    #[strum(message = "Focus the Audit pane")]
    FocusAudit,
    #[strum(message = "Show the Sources view (poller health)")]
    ShowSources,
    #[strum(message = "Select the row above")]
    MoveUp,
    #[strum(message = "Select the row below")]
    MoveDown,
    #[strum(message = "Move a page up")]
    PageUp,
    #[strum(message = "Move a page down")]
    PageDown,
    #[strum(message = "Go to the first row")]
    Top,
    #[strum(message = "Go to the last row")]
    Bottom,
    #[strum(message = "Show the selected row in detail")]
    OpenDetail,
    #[strum(message = "Close the dialog or view")]
    Close,
    #[strum(message = "Filter the focused pane")]
    Filter,
    #[strum(message = "Sort by the next column")]
    SortNext,
    #[strum(message = "Reverse the sort order")]
    SortReverse,
    #[strum(message = "Open the command palette")]
    Palette,
    #[strum(message = "Show the keys")]
    Help,
    #[strum(message = "Show the focused pane alone / the dashboard")]
    Zoom,
    #[strum(message = "Act on the selected row: the actions that apply to it")]
    Action,
    #[strum(message = "Cancel the selected job of this console (asks first)")]
    CancelJob,
    #[strum(message = "Approve the selected two-person request (asks first)")]
    ApproveRequest,
    #[strum(message = "Deny the selected two-person request (asks first)")]
    DenyRequest,
    #[strum(message = "Pause or resume the wall's rotating page")]
    PauseRotation,
    #[strum(
        message = "Reload the configuration file's sources, actions and [wall] (as SIGUSR1 does)"
    )]
    ReloadConfig,
    /// Dialog and text-input context: accept.
    #[strum(message = "Accept")]
    Submit,
    /// Dialog and text-input context: the same as `close`.
    #[strum(message = "Cancel")]
    Cancel,
}

impl Command {
    /// Every command, in declaration order.
    pub const ALL: &'static [Command] = <Command as strum::VariantArray>::VARIANTS;

    /// The snake_case name used in keymap files and the command palette.
    pub fn name(self) -> &'static str {
        self.into()
    }

    pub fn from_name(name: &str) -> Option<Command> {
        name.parse().ok()
    }

    pub fn description(self) -> &'static str {
        strum::EnumMessage::get_message(&self).unwrap_or_default()
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
    /// The store's job ledger, audit tail, open operator consoles and alerts, read afresh.
    StoreLoaded(Box<StoreRows>),
    /// The store could not be read; the message is shown in the status bar.
    StoreFailed(String),
    /// SIGHUP or SIGTERM: leave cleanly.
    Signal(&'static str),
    /// SIGUSR1: read the configuration file again.
    ReloadRequested,
    /// The configuration file read again, or why it could not be.
    ConfigLoaded(Result<Box<crate::config::Config>, String>),
    /// The pollers now run `config`'s sources; those named in `restarted` were stopped or
    /// started afresh, and their rows are no longer current.
    Reconfigured {
        config: Box<crate::config::Config>,
        restarted: Vec<String>,
    },
    /// A job this console started moved on.
    Job(JobEvent),
    /// An action was refused before anything was done (the store could not record its intent,
    /// its target is busy); the reason is shown to the operator.
    ActionRefused {
        action: String,
        target: String,
        reason: String,
    },
    /// Another operator approved this console's two-person request `job_id` for `plan`:
    /// checked against its target again before it runs.
    ApprovalGranted {
        job_id: String,
        decided_by: String,
        plan: Box<Plan>,
    },
    /// How this operator's approval or denial of a request ended: what was done, or why not.
    RequestDecided(Result<String, String>),
    /// What the unseal dialog's node answered.
    Unseal(UnsealReply),
    /// Lines of a job's log read from the store, oldest first, each with its number; `before`
    /// is what was asked for (`None`: the newest).
    JobLogLoaded {
        job_id: String,
        before: Option<i64>,
        lines: Vec<(i64, String)>,
    },
    /// A page of the store's audit records before seq `before`, oldest first, or why it could
    /// not be read.
    AuditPageLoaded {
        before: i64,
        page: Result<Vec<crate::model::AuditRow>, String>,
    },
    /// The backups a restore dialog of `action` asked for, listed from `dir` with their sizes
    /// checked, or why the directory could not be read.
    BackupsListed {
        action: String,
        dir: std::path::PathBuf,
        listing: Result<Listing, String>,
    },
}

/// What `update` asks the loop to do; the loop does the I/O.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Quit,
    /// Ring the terminal bell: a new critical alert on a wall configured to ring.
    Bell,
    /// Read the configuration file again, off the loop, and answer with [`Msg::ConfigLoaded`].
    LoadConfig,
    /// Run a confirmed plan: its target was checked again just now.
    StartAction(Box<Plan>),
    /// Run a plan confirmed by a TOTP code, once the store has taken the code.
    StartActionWithCode {
        plan: Box<Plan>,
        code: SecretText,
    },
    /// Cancel a job this console runs, at its next safe point.
    CancelJob {
        job_id: String,
    },
    /// Record in the audit log that `plan` was refused before it started.
    RecordRefusal {
        plan: Box<Plan>,
        reason: String,
    },
    /// The unseal dialog's reads and writes of its node.
    Unseal(UnsealRequest),
    /// Approve or deny another operator's two-person request, confirmed by this operator's
    /// TOTP `code` when they have a secret; answered by [`Msg::RequestDecided`].
    DecideRequest {
        request: Box<ApprovalRequest>,
        decision: Decision,
        code: Option<SecretText>,
    },
    /// Run the approved two-person job `job_id` of this console (`Ok`), or end it unrun
    /// because its target is no longer what was requested (`Err`, why).
    ProceedApproved {
        job_id: String,
        go: Result<(), String>,
    },
    /// Read up to a page of a job's log lines before line `before` (the newest for `None`).
    LoadJobLog {
        job_id: String,
        before: Option<i64>,
    },
    /// Read a page of the store's audit records before seq `before`, and answer with
    /// [`Msg::AuditPageLoaded`].
    LoadAuditPage {
        before: i64,
    },
    /// List the backups a restore of `action` chooses from, off the loop, and answer with
    /// [`Msg::BackupsListed`].
    ListBackups {
        action: String,
        choice: BackupChoice,
    },
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
            assert!(!c.description().is_empty(), "{c:?} has no description");
        }
        assert_eq!(Command::from_name("launch_missiles"), None);
        assert_eq!(
            Command::from_name("FocusNext"),
            None,
            "only the snake_case name"
        );
    }
}
