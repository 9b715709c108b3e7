//! From the action menu or the palette to a confirmed plan: the menu, the confirmation dialog,
//! and the checks made before `Effect::StartAction` — the console's mode, the store, and the
//! target as it is now.

use super::backup_pick;
use crate::actions::{Decision, Plan, Work, silence};
use crate::msg::{Command, Effect};
use crate::secret_text::{MaskedField, SecretText};
use crate::state::{
    ActionMenu, ActionSubject, AppState, BackupPick, Button, Confirm, Confirming, Overlay,
};

/// `a`: the menu of the actions that apply to the selected row.
pub(super) fn open_menu(state: &mut AppState) {
    if let Some(why) = state.read_only_refusal() {
        state.notice = Some(why);
        return;
    }
    if state.actions.is_empty() {
        state.notice =
            Some("no actions are configured: see [[action]] in the configuration".into());
        return;
    }
    let subject = state.action_subject();
    let actions = state.applicable_actions(&subject);
    if actions.is_empty() {
        state.notice = Some(format!(
            "no configured action applies to {}",
            subject.describe()
        ));
        return;
    }
    state.overlay = Overlay::Actions(ActionMenu {
        subject,
        actions,
        selected: 0,
    });
}

pub(super) fn on_menu_command(state: &mut AppState, command: Command) -> Vec<Effect> {
    let Overlay::Actions(menu) = &mut state.overlay else {
        return Vec::new();
    };
    let last = menu.actions.len().saturating_sub(1);
    match command {
        Command::MoveUp => menu.selected = menu.selected.saturating_sub(1),
        Command::MoveDown => menu.selected = (menu.selected + 1).min(last),
        Command::Top => menu.selected = 0,
        Command::Bottom => menu.selected = last,
        Command::Submit => {
            let chosen = menu.actions.get(menu.selected).copied();
            let subject = menu.subject.clone();
            state.overlay = Overlay::None;
            if let Some(action) = chosen {
                return pick(state, action, &subject);
            }
        }
        Command::Close | Command::Cancel | Command::Action => state.overlay = Overlay::None,
        _ => state.dirty = false,
    }
    Vec::new()
}

/// The operator picked an action (from the menu or the palette): its plan goes into a
/// confirmation dialog (an unseal into its own), or why there is none into the status bar. A
/// restore's dialog asks for its backups.
pub(super) fn pick(state: &mut AppState, action: usize, subject: &ActionSubject) -> Vec<Effect> {
    if let Some(why) = state.read_only_refusal() {
        state.notice = Some(why);
        return Vec::new();
    }
    match state.plan_action(action, subject) {
        Ok(plan) if matches!(plan.work, Work::Unseal(_)) => {
            super::unseal::open(state, action, Box::new(plan))
        }
        Ok(plan) => {
            let effects = backup_pick::list(&plan);
            state.overlay = Overlay::Confirm(Box::new(Confirm::action(plan)));
            effects
        }
        Err(refusal) => {
            state.notice = Some(format!("refused: {refusal}"));
            Vec::new()
        }
    }
}

pub(super) fn on_confirm_command(state: &mut AppState, command: Command) -> Vec<Effect> {
    let Overlay::Confirm(confirm) = &mut state.overlay else {
        return Vec::new();
    };
    match command {
        // The arrows pick a backup; the buttons have the focus keys.
        Command::MoveUp | Command::MoveDown if confirm.pick.is_some() => {
            backup_pick::step(state, command == Command::MoveDown);
        }
        Command::Submit if confirm.pick.as_ref().is_some_and(BackupPick::is_reading) => {
            state.notice = Some("still reading the backups: wait for the list".to_owned());
        }
        // The typed field is focused throughout; Enter runs once the name matches.
        Command::FocusNext | Command::FocusPrev | Command::MoveUp | Command::MoveDown
            if !confirm.takes_text() =>
        {
            confirm.focus = confirm.focus.other();
        }
        // A silence's comment and the target's name or the code: the arrows move between them.
        Command::MoveUp | Command::MoveDown
            if confirm.has_confirming_field() && confirm.comment.is_some() =>
        {
            confirm.comment_focused = !confirm.comment_focused;
        }
        Command::Submit if confirm.comment_text().is_some_and(|c| c.trim().is_empty()) => {
            state.notice = Some(
                "write a comment for the silence: Alertmanager keeps it with \
                                 the silence"
                    .to_owned(),
            );
        }
        Command::Submit if confirm.typed_text().is_some_and(|t| t.trim().is_empty()) => {
            state.notice = Some(match &confirm.confirming {
                Confirming::Action(plan) => format!(
                    "type {} to run {}, or press Esc to cancel",
                    plan.target.name, plan.action
                ),
                Confirming::CancelJob(_) | Confirming::Decide { .. } => {
                    "press Esc to cancel".to_owned()
                }
            });
        }
        Command::Submit if confirm.code.as_ref().is_some_and(|code| code.chars() == 0) => {
            state.notice = Some("type your TOTP code, or press Esc to cancel".to_owned());
        }
        Command::Submit => {
            if let Overlay::Confirm(confirm) = std::mem::take(&mut state.overlay) {
                return confirmed(state, *confirm);
            }
        }
        Command::Close | Command::Cancel => state.overlay = Overlay::None,
        _ => state.dirty = false,
    }
    Vec::new()
}

/// Enter in a dialog, which is closed by now: the focused button, or the typed name.
fn confirmed(state: &mut AppState, mut confirm: Confirm) -> Vec<Effect> {
    let typed = confirm.typed_text();
    let comment = confirm.comment_text();
    let code = confirm.code.as_mut().map(MaskedField::take);
    let unpicked = confirm.pick.as_ref().and_then(BackupPick::refusal);
    match (confirm.confirming, typed) {
        (Confirming::Action(plan), Some(typed)) if typed != plan.target.name => {
            let reason = format!("typed \"{typed}\", expected \"{}\"", plan.target.name);
            refuse(state, plan, reason)
        }
        (Confirming::Action(plan), Some(_)) => start(state, plan, comment, code, unpicked),
        // A field takes Enter: it runs, as the dialog's key hints say.
        (Confirming::Action(plan), None)
            if comment.is_some() || code.is_some() || confirm.focus == Button::Run =>
        {
            start(state, plan, comment, code, unpicked)
        }
        (Confirming::CancelJob(job), _) if confirm.focus == Button::Run => {
            state.notice = Some(format!(
                "cancelling {} on {}: it stops at its next safe point",
                job.action, job.target
            ));
            vec![Effect::CancelJob { job_id: job.id }]
        }
        (Confirming::Decide { request, decision }, _)
            if code.is_some() || confirm.focus == Button::Run =>
        {
            if let Some(why) = state.read_only_refusal().or_else(|| state.store_refusal()) {
                state.notice = Some(why);
                return Vec::new();
            }
            state.notice = Some(format!(
                "{} {} on {}…",
                match decision {
                    Decision::Approve => "approving",
                    Decision::Deny => "denying",
                },
                request.action,
                request.target
            ));
            vec![Effect::DecideRequest {
                request,
                decision,
                code,
            }]
        }
        (Confirming::Action(_) | Confirming::CancelJob(_) | Confirming::Decide { .. }, _) => {
            Vec::new()
        }
    }
}

/// Runs a confirmed plan, with the comment written in the dialog (and the TOTP code typed
/// there, for the runner to check), unless this console may not act, the store could not
/// record it, a restore has no backup to take (`unpicked` says why), or its target is no
/// longer what the dialog showed.
fn start(
    state: &mut AppState,
    mut plan: Box<Plan>,
    comment: Option<String>,
    code: Option<SecretText>,
    unpicked: Option<String>,
) -> Vec<Effect> {
    if let Some(why) = state.read_only_refusal().or_else(|| state.store_refusal()) {
        state.notice = Some(why);
        return Vec::new();
    }
    if let Some(reason) = unpicked {
        return refuse(state, plan, reason);
    }
    if let Err(refusal) = state.recheck(&plan) {
        return refuse(state, plan, refusal.0);
    }
    // After the check: the plan as made has the configured comment, not the one written.
    if let Some(comment) = comment {
        silence::set_comment(&mut plan, &comment);
    }
    state.notice = Some(format!(
        "starting {} on {}",
        plan.action,
        plan.target.ledger_name()
    ));
    vec![match code {
        Some(code) => Effect::StartActionWithCode { plan, code },
        None => Effect::StartAction(plan),
    }]
}

/// Not run, and audited as refused.
fn refuse(state: &mut AppState, plan: Box<Plan>, reason: String) -> Vec<Effect> {
    // The reason first: a narrow status bar cuts the end.
    state.notice = Some(format!(
        "refused: {reason} — {} on {} was not run",
        plan.action,
        plan.target.ledger_name()
    ));
    vec![Effect::RecordRefusal { plan, reason }]
}
