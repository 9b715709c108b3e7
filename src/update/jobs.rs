//! The Jobs pane, live: this console's jobs as their events tell, their logs, the job log
//! overlay and the cancel command.

use crate::actions::engine::JobEvent;
use crate::actions::{Decision, Plan};
use crate::job_log::{JobLog, PageResult};
use crate::model::JobRow;
use crate::msg::{Command, Effect};
use crate::state::{AppState, Confirm, JobLogView, LiveJob, Overlay, Pane, trim_live_jobs};
use crate::store::{ActionState, STORE_SOURCE};

pub(super) fn on_job_event(state: &mut AppState, event: JobEvent) {
    match event {
        JobEvent::Opened(row) => {
            let job = LiveJob {
                row,
                state: ActionState::Requested,
                log: JobLog::live(),
            };
            state.live_jobs.retain(|held| held.row.id != job.row.id);
            show_row(state, job.row.clone());
            state.live_jobs.push_back(job);
            trim_live_jobs(&mut state.live_jobs);
        }
        JobEvent::State {
            job_id,
            state: job_state,
            progress,
        } => {
            let now = state.now;
            if let Some(job) = state.live_job_mut(&job_id) {
                job.state = job_state;
                job.row.state = job_state.to_string();
                // A heartbeat says nothing of progress; the last figure stands.
                job.row.progress = progress.or(job.row.progress);
                job.row.observed_at = now;
                let row = job.row.clone();
                show_row(state, row);
            }
        }
        JobEvent::Lines { job_id, lines } => {
            if let Some(job) = state.live_job_mut(&job_id) {
                job.log.push_live(lines);
                // A job printing a thousand lines a second costs frames only while its log
                // is on screen.
                state.dirty |= shows_log_of(state, &job_id);
            }
        }
        JobEvent::Closed {
            job_id,
            state: job_state,
            result,
        } => {
            let now = state.now;
            if let Some(job) = state.live_job_mut(&job_id) {
                job.state = job_state;
                job.row.state = job_state.to_string();
                job.row.finished = Some(now);
                job.row.observed_at = now;
                job.row.result.clone_from(&result);
                let row = job.row.clone();
                state.notice = Some(match result {
                    Some(result) => {
                        format!("{} on {}: {job_state} — {result}", row.action, row.target)
                    }
                    None => format!("{} on {}: {job_state}", row.action, row.target),
                });
                show_row(state, row);
                trim_live_jobs(&mut state.live_jobs);
            }
        }
    }
}

/// After the store's job ledger replaced the Jobs pane's store rows: this console's own jobs as
/// their events last told, which is never older than a read of the store.
pub(super) fn show_live_rows(state: &mut AppState) {
    let rows: Vec<JobRow> = state.live_jobs.iter().map(|job| job.row.clone()).collect();
    for row in rows {
        show_row(state, row);
    }
}

/// Puts a job's row into the Jobs pane, in place of the store's row of the same job.
fn show_row(state: &mut AppState, row: JobRow) {
    let jobs = &mut state.data.jobs;
    match jobs
        .iter()
        .position(|held| held.source == STORE_SOURCE && held.id == row.id)
    {
        Some(held) if jobs[held] == row => return,
        Some(held) => jobs.set(held, row),
        None => jobs.push(row),
    }
    state.mark_outdated(Pane::Jobs);
    state.dirty = true;
}

fn shows_log_of(state: &AppState, job_id: &str) -> bool {
    matches!(&state.overlay, Overlay::JobLog(view) if view.job_id == job_id)
}

/// `Enter` on a job: its log. This console's job shows its live lines; any other job, and one
/// whose live lines went beyond what is held, is read from the store, newest page first.
pub(super) fn open_log(state: &mut AppState) -> Vec<Effect> {
    let Some(row) = state.view(Pane::Jobs).selected_row() else {
        state.dirty = false;
        return Vec::new();
    };
    let job_id = state.data.jobs[row].id.clone();
    let (paged, before) = match state.live_job_mut(&job_id) {
        Some(job) if job.log.is_complete() => (None, None),
        Some(job) => (None, job.log.ask_older()),
        None => (Some(JobLog::from_store()), Some(None)),
    };
    state.overlay = Overlay::JobLog(Box::new(JobLogView {
        job_id: job_id.clone(),
        top: None,
        paged,
    }));
    before
        .map(|before| Effect::LoadJobLog { job_id, before })
        .into_iter()
        .collect()
}

pub(super) fn on_log_page(
    state: &mut AppState,
    job_id: &str,
    before: Option<i64>,
    lines: Vec<(i64, String)>,
) {
    let AppState {
        overlay,
        live_jobs,
        dirty,
        ..
    } = state;
    let mut view = match overlay {
        Overlay::JobLog(view) if view.job_id == job_id => Some(view),
        _ => None,
    };
    let log = match view.as_mut().and_then(|view| view.paged.as_mut()) {
        Some(paged) => paged,
        None => match live_jobs.iter_mut().find(|job| job.row.id == job_id) {
            Some(job) => &mut job.log,
            None => return,
        },
    };
    let result = log.page_loaded(before, lines);
    if let Some(view) = view {
        match result {
            // What was on screen stays there, with the older lines above it.
            PageResult::Prepended(added) => view.top = view.top.map(|top| top + added),
            PageResult::Replaced => {}
            PageResult::Dropped => return,
        }
        *dirty = true;
    }
}

/// Scrolling the job log; going above its first line asks for the page before it, going
/// below its last (after paging back) for the newest.
pub(super) fn on_log_command(state: &mut AppState, command: Command) -> Vec<Effect> {
    let height = crate::ui::job_log_rows(state);
    let AppState {
        overlay,
        live_jobs,
        dirty,
        ..
    } = state;
    let Overlay::JobLog(view) = overlay else {
        return Vec::new();
    };
    let log = match view.paged.as_mut() {
        Some(paged) => Some(paged),
        None => live_jobs
            .iter_mut()
            .find(|job| job.row.id == view.job_id)
            .map(|job| &mut job.log),
    };
    let len = log.as_ref().map_or(0, |log| log.lines().len());
    let last_top = len.saturating_sub(height);
    let top = view.top.unwrap_or(last_top).min(last_top);
    let page = height.max(1);
    let (wanted, older) = match command {
        Command::MoveUp => (top.saturating_sub(1), top == 0),
        Command::PageUp => (top.saturating_sub(page), top == 0),
        Command::MoveDown => (top.saturating_add(1), false),
        Command::PageDown => (top.saturating_add(page), false),
        Command::Top => (0, false),
        Command::Bottom => (usize::MAX, false),
        Command::Close | Command::Cancel | Command::Submit | Command::OpenDetail => {
            *overlay = Overlay::None;
            return Vec::new();
        }
        _ => {
            *dirty = false;
            return Vec::new();
        }
    };
    let Some(log) = log else {
        *dirty = false;
        return Vec::new();
    };
    let at_end = wanted >= last_top;
    let before = if older {
        log.ask_older()
    } else if at_end {
        log.ask_newest()
    } else {
        None
    };
    let following = at_end && log.has_end();
    let new_top = (!following).then_some(wanted.min(last_top));
    *dirty = new_top != view.top || before.is_some();
    view.top = new_top;
    before
        .map(|before| Effect::LoadJobLog {
            job_id: view.job_id.clone(),
            before,
        })
        .into_iter()
        .collect()
}

/// The cancel command: asks first, for a job this console runs that has not ended.
pub(super) fn ask_cancel(state: &mut AppState) {
    let selected = (state.focus == Pane::Jobs)
        .then(|| state.view(Pane::Jobs).selected_row())
        .flatten()
        .map(|row| state.data.jobs[row].clone());
    let Some(row) = selected else {
        state.notice = Some("select a job in the Jobs pane to cancel it".to_owned());
        return;
    };
    state.notice = match state.live_job(&row.id) {
        None if row.source == STORE_SOURCE => Some(format!(
            "{} on {} was started by another console ({}); only that one can cancel it",
            row.action, row.target, row.operator
        )),
        None => Some(format!(
            "{} on {} is a job of the source `{}`, which ondeck does not run",
            row.action, row.target, row.source
        )),
        Some(job) if job.state.is_final() => Some(format!(
            "{} on {} has ended ({}): nothing to cancel",
            row.action, row.target, job.state
        )),
        Some(job) => {
            state.overlay = Overlay::Confirm(Box::new(Confirm::cancel_job(job.row.clone())));
            None
        }
    };
}

/// The approve and deny commands: asks first, for a two-person request of another console
/// waiting in the Jobs pane. Whether this operator may decide it is the store's to say.
pub(super) fn ask_decide(state: &mut AppState, decision: Decision) {
    if let Some(why) = state.read_only_refusal() {
        state.notice = Some(why);
        return;
    }
    let selected = (state.focus == Pane::Jobs)
        .then(|| state.view(Pane::Jobs).selected_row())
        .flatten()
        .map(|row| state.data.jobs[row].clone());
    let verb = match decision {
        Decision::Approve => "approve",
        Decision::Deny => "deny",
    };
    let Some(row) = selected else {
        state.notice = Some(format!("select a request in the Jobs pane to {verb} it"));
        return;
    };
    let request = (row.source == STORE_SOURCE)
        .then(|| state.approvals.iter().find(|r| r.job_id == row.id))
        .flatten()
        .cloned();
    state.notice = match request {
        None => Some(format!(
            "{} on {} is {}, not a two-person request waiting for approval",
            row.action, row.target, row.state
        )),
        Some(_) if state.live_job(&row.id).is_some() => Some(format!(
            "{} on {} is this console's own request: another operator approves it",
            row.action, row.target
        )),
        Some(request) => {
            if let Some(why) = state.store_refusal() {
                Some(why)
            } else {
                state.overlay = Overlay::Confirm(Box::new(Confirm::decide(
                    request,
                    decision,
                    state.decide_by_code,
                )));
                None
            }
        }
    };
}

/// This console's two-person request was approved: its plan is checked against the target
/// as it is now, as a confirmed plan is, and then run, or ended unrun saying why.
pub(super) fn on_approval_granted(
    state: &mut AppState,
    job_id: String,
    decided_by: &str,
    plan: &Plan,
) -> Vec<Effect> {
    let target = plan.target.ledger_name();
    let go = state.recheck_approved(plan).map_err(|refusal| refusal.0);
    state.notice = Some(match &go {
        Ok(()) => format!(
            "{} on {target} approved by {decided_by}: starting",
            plan.action
        ),
        Err(why) => format!(
            "{} on {target} approved by {decided_by}, not run: {why}",
            plan.action
        ),
    });
    state.dirty = true;
    vec![Effect::ProceedApproved { job_id, go }]
}
