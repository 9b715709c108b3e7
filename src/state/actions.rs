//! The console's side of actions: what the action menu and the palette offer for the selected
//! row, the confirmation dialog, and the jobs this console runs.

use std::collections::VecDeque;

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use super::{AppState, BackupPick, Pane};
use crate::actions::{self, Decision, Plan, Refusal, Subject, Target};
use crate::config::{ActionConfig, ConfirmPolicy};
use crate::job_log::JobLog;
use crate::model::{ApprovalRequest, HostRow, JobRow};
use crate::msg::Command;
use crate::row_identity::{Identified, RowIdentity, RowKey};
use crate::secret_text::MaskedField;
use crate::store::ActionState;

/// Jobs of this console whose rows and logs are kept; beyond it the oldest finished ones go.
pub const LIVE_JOBS_KEPT: usize = 32;

/// What the action menu, or the palette's actions, were opened for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionSubject {
    /// A row of the Hosts, Sessions, Jobs or Alerts pane, by identity: looked up again when an
    /// action is picked.
    Row { identity: RowIdentity, name: String },
    /// An audit record, by the name it acts on (its target).
    Named(String),
    /// Nothing selected: an action without a source is run for its own name.
    Nothing,
}

impl ActionSubject {
    /// How the menu's title names it.
    pub fn describe(&self) -> String {
        match self {
            // As the job ledger names it.
            ActionSubject::Row { identity, name } => format!("{}/{name}", identity.source),
            ActionSubject::Named(name) => name.clone(),
            ActionSubject::Nothing => "nothing selected".to_owned(),
        }
    }
}

/// `a`: the configured actions that apply to the subject, one to pick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionMenu {
    pub subject: ActionSubject,
    /// Indices into [`AppState::actions`].
    pub actions: Vec<usize>,
    pub selected: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Run,
}

impl Button {
    /// The other of the two: every focus key moves between them.
    pub fn other(self) -> Button {
        match self {
            Button::Cancel => Button::Run,
            Button::Run => Button::Cancel,
        }
    }
}

/// What a confirmation dialog confirms.
#[derive(Debug, Clone, PartialEq)]
pub enum Confirming {
    Action(Box<Plan>),
    /// Stopping a job this console runs, at its next safe point.
    CancelJob(Box<JobRow>),
    /// Approving or denying another operator's two-person request.
    Decide {
        request: Box<ApprovalRequest>,
        decision: Decision,
    },
}

/// A modal dialog: the plan, and Cancel / Run. Focus starts on Cancel, so a stray Enter never
/// acts.
#[derive(Debug)]
pub struct Confirm {
    pub confirming: Confirming,
    pub focus: Button,
    /// Where the target's name is typed, for a `type-target` action.
    pub typed: Option<Box<TextArea<'static>>>,
    /// Where the operator's TOTP code is typed, masked, for a `totp` action.
    pub code: Option<MaskedField>,
    /// Where the operator writes a new silence's comment, filled with the configured one.
    pub comment: Option<Box<TextArea<'static>>>,
    /// Whether keys go to the comment rather than the target's name or the code, when there
    /// are both.
    pub comment_focused: bool,
    /// The backups a restore picks from.
    pub pick: Option<BackupPick>,
}

impl Confirm {
    pub fn action(plan: Plan) -> Confirm {
        let typed = (plan.confirm == ConfirmPolicy::TypeTarget).then(Box::default);
        let code = (plan.confirm == ConfirmPolicy::Totp).then(MaskedField::default);
        let comment = actions::silence::comment(&plan).map(|text| {
            let mut input = TextArea::new(vec![text.to_owned()]);
            input.move_cursor(ratatui_textarea::CursorMove::End);
            Box::new(input)
        });
        let pick = plan
            .backup_choice()
            .map(|choice| BackupPick::reading(choice.dir));
        Confirm {
            confirming: Confirming::Action(Box::new(plan)),
            focus: Button::Cancel,
            typed,
            code,
            comment_focused: comment.is_some(),
            comment,
            pick,
        }
    }

    /// Approving or denying `request`; with `by_code`, confirmed by the operator's TOTP code.
    pub fn decide(request: ApprovalRequest, decision: Decision, by_code: bool) -> Confirm {
        Confirm {
            confirming: Confirming::Decide {
                request: Box::new(request),
                decision,
            },
            focus: Button::Cancel,
            typed: None,
            code: by_code.then(MaskedField::default),
            comment: None,
            comment_focused: false,
            pick: None,
        }
    }

    pub fn cancel_job(row: JobRow) -> Confirm {
        Confirm {
            confirming: Confirming::CancelJob(Box::new(row)),
            focus: Button::Cancel,
            typed: None,
            code: None,
            comment: None,
            comment_focused: false,
            pick: None,
        }
    }

    /// What has been typed into the field, as it is compared with the target's name.
    pub fn typed_text(&self) -> Option<String> {
        self.typed.as_ref().map(|input| input.lines().join(" "))
    }

    /// The silence's comment as written so far.
    pub fn comment_text(&self) -> Option<String> {
        self.comment.as_ref().map(|input| input.lines().join(" "))
    }

    /// Whether the dialog has a text field (the target's name, a code, a comment), which
    /// takes every letter and Enter.
    pub fn takes_text(&self) -> bool {
        self.has_confirming_field() || self.comment.is_some()
    }

    /// Whether the action is confirmed in a field: the target's name or a TOTP code (an
    /// action has one confirmation, so never both).
    pub fn has_confirming_field(&self) -> bool {
        self.typed.is_some() || self.code.is_some()
    }

    /// A key typed into the focused field; whether it changed anything.
    pub fn input(&mut self, key: KeyEvent) -> bool {
        if self.comment_focused {
            self.comment.as_mut().is_some_and(|input| input.input(key))
        } else if let Some(input) = self.typed.as_mut() {
            input.input(key)
        } else {
            self.code.as_mut().is_some_and(|code| code.input(key))
        }
    }
}

/// A job this console started: its row as its events last described it, and its live log.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveJob {
    pub row: JobRow,
    pub state: ActionState,
    pub log: JobLog,
}

/// `Enter` on a job: its log, following the newest line until scrolled.
#[derive(Debug)]
pub struct JobLogView {
    pub job_id: String,
    /// The first line shown, or `None` to follow the end.
    pub top: Option<usize>,
    /// The log of a job this console does not run, paged from the store; a job of this
    /// console's has its live log in [`AppState::live_jobs`].
    pub paged: Option<JobLog>,
}

/// One line of the command palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaletteEntry {
    Command(Command),
    /// `run <action>`, by index into [`AppState::actions`].
    Action(usize),
}

impl AppState {
    /// The selected row of the focused pane as actions see it.
    pub fn action_subject(&self) -> ActionSubject {
        let pane = self.focus;
        let Some(row) = self.view(pane).selected_row() else {
            return ActionSubject::Nothing;
        };
        let d = &self.data;
        let (identity, name) = match pane {
            Pane::Hosts => (d.hosts[row].identity(), &d.hosts[row].name),
            Pane::Sessions => (d.sessions[row].identity(), &d.sessions[row].user),
            Pane::Jobs => (d.jobs[row].identity(), &d.jobs[row].id),
            Pane::Alerts => (d.alerts[row].identity(), &d.alerts[row].name),
            Pane::Audit => return ActionSubject::Named(d.audit[row].target.clone()),
        };
        ActionSubject::Row {
            identity,
            name: name.clone(),
        }
    }

    /// The host row with `identity`, wherever the last polls put it.
    pub fn host(&self, identity: &RowIdentity) -> Option<&HostRow> {
        self.data.hosts.iter().find(|row| row.is(identity))
    }

    /// The row with `identity`, of whichever pane its key says, as an action's subject.
    fn row_subject(&self, identity: &RowIdentity) -> Option<Subject<'_>> {
        let d = &self.data;
        match identity.key {
            RowKey::Host { .. } => self.host(identity).map(Subject::Host),
            RowKey::Session { .. } => d
                .sessions
                .iter()
                .find(|row| row.is(identity))
                .map(Subject::Session),
            RowKey::Job { .. } => d.jobs.iter().find(|row| row.is(identity)).map(Subject::Job),
            RowKey::Alert { .. } => d
                .alerts
                .iter()
                .find(|row| row.is(identity))
                .map(Subject::Alert),
            RowKey::Audit { .. } => None,
        }
    }

    /// The configured actions that apply to `subject`, by index, in configuration order.
    pub fn applicable_actions(&self, subject: &ActionSubject) -> Vec<usize> {
        let row = match subject {
            ActionSubject::Row { identity, .. } => match self.row_subject(identity) {
                Some(row) => Some(row),
                None => return Vec::new(),
            },
            _ => None,
        };
        self.actions
            .iter()
            .enumerate()
            .filter(|(_, action)| {
                let name = match subject {
                    ActionSubject::Named(name) => name.as_str(),
                    _ => action.name.as_str(),
                };
                actions::applies_to(action, row.unwrap_or(Subject::Named(name)))
            })
            .map(|(index, _)| index)
            .collect()
    }

    /// The plan of the configured action at `action` for `subject` as its row is now.
    pub fn plan_action(&self, action: usize, subject: &ActionSubject) -> Result<Plan, Refusal> {
        let Some(config) = self.actions.get(action) else {
            return Err(Refusal("that action is not configured".to_owned()));
        };
        match subject {
            ActionSubject::Row { identity, name } => {
                let row = self
                    .row_subject(identity)
                    .ok_or_else(|| gone(name, identity))?;
                actions::plan(config, row)
            }
            ActionSubject::Named(name) => actions::plan(config, Subject::Named(name)),
            ActionSubject::Nothing => actions::plan(config, Subject::Named(&config.name)),
        }
    }

    /// How many two-person requests of other consoles wait for an approval: the status bar's
    /// badge. This console's own are not for its operator to approve.
    pub fn approvals_waiting(&self) -> usize {
        self.approvals
            .iter()
            .filter(|request| self.live_job(&request.job_id).is_none())
            .count()
    }

    /// [`AppState::recheck`] for an approved two-person request: the silence comment written
    /// in the requester's dialog is part of what was approved, not of the target, so it is not
    /// compared with the configured one.
    pub fn recheck_approved(&self, plan: &Plan) -> Result<(), Refusal> {
        if actions::silence::comment(plan).is_none() {
            return self.recheck(plan);
        }
        let configured = self
            .configured(&plan.action)
            .ok()
            .zip(self.subject_of(&plan.target).ok())
            .and_then(|(config, subject)| actions::plan(config, subject).ok());
        let Some(configured) = configured else {
            return self.recheck(plan);
        };
        let mut probe = plan.clone();
        if let Some(comment) = actions::silence::comment(&configured) {
            actions::silence::set_comment(&mut probe, comment);
        }
        self.recheck(&probe)
    }

    /// Whether `plan` is still what its action would do to its target as the target is now:
    /// a dialog confirms what it showed, or nothing. A poll may have changed the row (another
    /// release deployed) or taken it away while the dialog was open.
    pub fn recheck(&self, plan: &Plan) -> Result<(), Refusal> {
        let config = self.configured(&plan.action)?;
        // The backup picked in the dialog is part of what was confirmed.
        let config = actions::restoring(config, plan.backup());
        let fresh = actions::plan(&config, self.subject_of(&plan.target)?);
        let target = &plan.target.name;
        match fresh {
            Ok(fresh) if fresh == *plan => Ok(()),
            Ok(fresh) => Err(Refusal(format!(
                "{target} changed while the dialog was open (now: {}); pick the action again to \
                 see its new plan",
                fresh.changes
            ))),
            Err(refusal) => Err(Refusal(format!(
                "{target} changed while the dialog was open: {refusal}"
            ))),
        }
    }

    /// `plan` restoring `backup` instead: the dialog's pick, planned again as its action and
    /// target are now.
    pub fn plan_restoring(&self, plan: &Plan, backup: &str) -> Result<Plan, Refusal> {
        let config = actions::restoring(self.configured(&plan.action)?, Some(backup));
        actions::plan(&config, self.subject_of(&plan.target)?)
    }

    fn configured(&self, action: &str) -> Result<&ActionConfig, Refusal> {
        self.actions
            .iter()
            .find(|a| a.name == action)
            .ok_or_else(|| Refusal(format!("the action `{action}` is not configured")))
    }

    /// What a plan's target is planned for again: its row as the last poll left it, or its name.
    fn subject_of<'a>(&'a self, target: &'a Target) -> Result<Subject<'a>, Refusal> {
        match &target.row {
            Some(identity) => self
                .row_subject(identity)
                .ok_or_else(|| gone(&target.name, identity)),
            None => Ok(Subject::Named(&target.name)),
        }
    }

    /// Why no action may start in this console's mode, if it is read-only.
    pub fn read_only_refusal(&self) -> Option<String> {
        if self.mode.wall {
            Some("read-only: the wall (--wall) only watches; actions are off".to_owned())
        } else if self.mode.read_only {
            Some(
                "read-only: started with --read-only or [console] read_only; actions are off"
                    .to_owned(),
            )
        } else {
            None
        }
    }

    /// Why no action may start now for want of a store to record it in.
    pub fn store_refusal(&self) -> Option<String> {
        match (&self.store_error, self.store_connecting) {
            (Some(error), _) => Some(format!(
                "store unavailable — actions refused until it answers ({error})"
            )),
            (None, true) => {
                Some("store not reached yet — actions refused until it answers".to_owned())
            }
            (None, false) => None,
        }
    }

    /// The palette's lines for `query`: the commands whose name contains every word, then
    /// `run <action>` for the actions that apply to the selected row.
    pub fn palette_entries(&self, query: &str) -> Vec<PaletteEntry> {
        let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
        let mut entries: Vec<PaletteEntry> = super::palette_matches(query)
            .into_iter()
            .map(PaletteEntry::Command)
            .collect();
        entries.extend(
            self.applicable_actions(&self.action_subject())
                .into_iter()
                .filter(|&index| {
                    let label = palette_label(&self.actions[index].name).to_lowercase();
                    words.iter().all(|word| label.contains(word.as_str()))
                })
                .map(PaletteEntry::Action),
        );
        entries
    }

    pub fn live_job(&self, job_id: &str) -> Option<&LiveJob> {
        self.live_jobs.iter().find(|job| job.row.id == job_id)
    }

    pub fn live_job_mut(&mut self, job_id: &str) -> Option<&mut LiveJob> {
        self.live_jobs.iter_mut().find(|job| job.row.id == job_id)
    }

    /// The log the job log overlay shows.
    pub fn job_log<'a>(&'a self, view: &'a JobLogView) -> Option<&'a JobLog> {
        view.paged
            .as_ref()
            .or_else(|| self.live_job(&view.job_id).map(|job| &job.log))
    }

    /// The Jobs pane's row of a job, from the store or this console's events.
    pub fn job_row(&self, job_id: &str) -> Option<&JobRow> {
        self.data
            .jobs
            .iter()
            .find(|row| row.id == job_id && row.source == crate::store::STORE_SOURCE)
    }
}

/// How the palette lists an action.
pub fn palette_label(action: &str) -> String {
    format!("run {action}")
}

/// Keeps at most [`LIVE_JOBS_KEPT`] jobs, dropping the oldest finished ones; a running job is
/// never dropped.
pub(crate) fn trim_live_jobs(jobs: &mut VecDeque<LiveJob>) {
    while jobs.len() > LIVE_JOBS_KEPT {
        let Some(oldest_finished) = jobs.iter().position(|job| job.state.is_final()) else {
            return;
        };
        jobs.remove(oldest_finished);
    }
}

fn gone(name: &str, identity: &RowIdentity) -> Refusal {
    Refusal(format!(
        "{name} is no longer listed by the source `{}`",
        identity.source
    ))
}
