//! A restore dialog's backups: asked for when it opens, taken in when they arrive, picked with
//! the arrows. Each pick plans the restore again with that file, so that what the dialog says,
//! what the audit records and what the job restores are the same backup.

use std::path::Path;

use crate::actions::Plan;
use crate::actions::backups::Listing;
use crate::msg::Effect;
use crate::state::{AppState, BackupPick, Confirming, Overlay};

/// The listing a dialog for `plan` needs, if it restores a backup.
pub(super) fn list(plan: &Plan) -> Vec<Effect> {
    plan.backup_choice()
        .map(|choice| Effect::ListBackups {
            action: plan.action.clone(),
            choice,
        })
        .into_iter()
        .collect()
}

/// The listing arrived: the dialog that asked for it (if still open) shows it and plans its
/// default pick.
pub(super) fn on_listed(
    state: &mut AppState,
    action: &str,
    dir: &Path,
    listing: Result<Listing, String>,
) {
    let Overlay::Confirm(confirm) = &mut state.overlay else {
        return;
    };
    let (Confirming::Action(plan), Some(pick)) = (&confirm.confirming, &mut confirm.pick) else {
        return;
    };
    // Only the dialog waiting for it: one closed since, or another action's, takes nothing.
    if plan.action != action || pick.dir != dir || !pick.is_reading() {
        return;
    }
    // Nothing is picked yet, so the plan's backup is the configured one.
    pick.listed(listing, plan.backup());
    state.dirty = true;
    plan_the_pick(state);
}

/// Up (`older` false) or down the list.
pub(super) fn step(state: &mut AppState, older: bool) {
    let Overlay::Confirm(confirm) = &mut state.overlay else {
        return;
    };
    let Some(pick) = &mut confirm.pick else {
        return;
    };
    if pick.step(older) {
        plan_the_pick(state);
    } else {
        state.dirty = false;
    }
}

/// Puts the picked file into the dialog's plan. A plan that cannot be made any more (the
/// configuration was reloaded without it) closes the dialog, saying why.
fn plan_the_pick(state: &mut AppState) {
    let Overlay::Confirm(confirm) = &state.overlay else {
        return;
    };
    let (Confirming::Action(plan), Some(file)) = (
        &confirm.confirming,
        confirm.pick.as_ref().and_then(BackupPick::chosen),
    ) else {
        return;
    };
    match state.plan_restoring(plan, file) {
        Ok(fresh) => {
            if let Overlay::Confirm(confirm) = &mut state.overlay {
                confirm.confirming = Confirming::Action(Box::new(fresh));
            }
        }
        Err(refusal) => {
            state.overlay = Overlay::None;
            state.notice = Some(format!("refused: {refusal}"));
        }
    }
}
