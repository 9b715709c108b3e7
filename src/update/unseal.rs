//! The unseal dialog: a key share typed, masked, and sent; the node's seal status read around
//! it and watched while the dialog is open; a reset only on the operator's confirmed request;
//! the next sealed node of the source once this one is unsealed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::actions::Plan;
use crate::actions::unseal::{self, UnsealReply, UnsealRequest, Verdict};
use crate::config::ActionSpec;
use crate::model::host_fields;
use crate::msg::{Command, Effect};
use crate::row_identity::Identified;
use crate::state::{ActionSubject, AppState, Overlay, UnsealDialog};

/// Opens the dialog on the plan's node and starts watching it.
pub(super) fn open(state: &mut AppState, action: usize, plan: Box<Plan>) -> Vec<Effect> {
    state.overlay = Overlay::Unseal(Box::new(UnsealDialog::new(action, plan.clone())));
    vec![Effect::Unseal(UnsealRequest::Watch(plan))]
}

pub(super) fn on_command(state: &mut AppState, command: Command) -> Vec<Effect> {
    let Overlay::Unseal(dialog) = &mut state.overlay else {
        return Vec::new();
    };
    match command {
        Command::Submit if dialog.confirming_reset => {
            dialog.confirming_reset = false;
            if dialog.in_flight {
                dialog.message = Some("wait for the answer to the last request".to_owned());
                return Vec::new();
            }
            dialog.in_flight = true;
            dialog.message = Some(format!(
                "resetting the unseal attempt of {}…",
                dialog.node()
            ));
            vec![Effect::Unseal(UnsealRequest::Reset(dialog.plan.clone()))]
        }
        Command::Submit if dialog.in_flight => {
            dialog.message = Some("wait for the answer to the last share".to_owned());
            Vec::new()
        }
        Command::Submit if dialog.share.chars() == 0 => {
            dialog.message = Some("type a key share, then Enter".to_owned());
            Vec::new()
        }
        Command::Submit => {
            let share = dialog.share.take();
            dialog.in_flight = true;
            dialog.message = Some(format!("sending the share to {}…", dialog.node()));
            vec![Effect::Unseal(UnsealRequest::Submit {
                plan: dialog.plan.clone(),
                share,
                seen_nonce: dialog.seal().map(|status| status.nonce.clone()),
            })]
        }
        Command::Cancel | Command::Close if dialog.confirming_reset => {
            dialog.confirming_reset = false;
            dialog.message = Some("not reset: the shares given so far still count".to_owned());
            Vec::new()
        }
        // Closing never resets: the shares given stay counted for the next keyholder.
        Command::Cancel | Command::Close => {
            state.overlay = Overlay::None;
            vec![Effect::Unseal(UnsealRequest::StopWatching)]
        }
        _ => {
            state.dirty = false;
            Vec::new()
        }
    }
}

/// A key the keymap left alone: the share's characters, or ctrl-r to ask for a reset.
pub(super) fn on_key(state: &mut AppState, key: KeyEvent) {
    let Overlay::Unseal(dialog) = &mut state.overlay else {
        return;
    };
    if key.code == KeyCode::Char('r') && key.modifiers.contains(KeyModifiers::CONTROL) {
        dialog.confirming_reset = true;
        state.dirty = true;
        return;
    }
    state.dirty |= dialog.share.input(key);
}

pub(super) fn on_reply(state: &mut AppState, reply: UnsealReply) -> Vec<Effect> {
    let Overlay::Unseal(dialog) = &mut state.overlay else {
        return Vec::new();
    };
    let node = match &reply {
        UnsealReply::Status { node, .. }
        | UnsealReply::Submitted { node, .. }
        | UnsealReply::Reset { node, .. } => node,
    };
    // An answer about a node the dialog has moved on from.
    if node != dialog.node() {
        return Vec::new();
    }
    state.dirty = true;
    match reply {
        UnsealReply::Status { status, .. } => {
            let restarted = match (dialog.seal(), &status) {
                (Some(seen), Ok(now)) => seen.progress > 0 && now.sealed && now.nonce != seen.nonce,
                _ => false,
            };
            if restarted && !dialog.in_flight {
                dialog.message = Some(unseal::ATTEMPT_RESTARTED.to_owned());
            }
            dialog.status = Some(status);
        }
        UnsealReply::Reset { result, .. } => {
            dialog.in_flight = false;
            match result {
                Ok(status) => {
                    dialog.message = Some(format!(
                        "reset: the attempt of {} starts again from 0/{}",
                        dialog.node(),
                        status.t
                    ));
                    dialog.status = Some(Ok(status));
                }
                Err(why) => dialog.message = Some(why),
            }
        }
        UnsealReply::Submitted { result, .. } => {
            dialog.in_flight = false;
            match result {
                Ok(submitted) => {
                    dialog.message = Some(submitted.message());
                    if let Some(status) = submitted.status {
                        dialog.status = Some(Ok(status));
                    }
                    if submitted.verdict == Verdict::Unsealed {
                        return next_sealed_node(state);
                    }
                }
                Err(why) => dialog.message = Some(format!("refused: {why}")),
            }
        }
    }
    Vec::new()
}

/// After the threshold, the next node of the source that the last poll saw sealed, if any.
fn next_sealed_node(state: &mut AppState) -> Vec<Effect> {
    let Overlay::Unseal(dialog) = &state.overlay else {
        return Vec::new();
    };
    let (action, done) = (dialog.action, dialog.node().to_owned());
    let Some(ActionSpec::Unseal(spec)) = state.actions.get(action).map(|a| &a.spec) else {
        return Vec::new();
    };
    let next = spec.nodes.iter().find_map(|node| {
        state.data.hosts.iter().find(|row| {
            row.source == spec.source
                && row.name == node.name
                && row.name != done
                && row.fields.get(host_fields::SEALED) == Some(&serde_json::Value::Bool(true))
        })
    });
    let Some(row) = next else {
        return Vec::new();
    };
    let subject = ActionSubject::Row {
        identity: row.identity(),
        name: row.name.clone(),
    };
    match state.plan_action(action, &subject) {
        Ok(plan) => {
            let said = format!("{done} is unsealed; next sealed node: {}", row.name);
            let mut effects = open(state, action, Box::new(plan));
            if let Overlay::Unseal(dialog) = &mut state.overlay {
                dialog.message = Some(said);
            }
            effects.insert(0, Effect::Unseal(UnsealRequest::StopWatching));
            effects
        }
        Err(refusal) => {
            if let Overlay::Unseal(dialog) = &mut state.overlay {
                dialog.message = Some(format!("{done} is unsealed; the next node: {refusal}"));
            }
            Vec::new()
        }
    }
}
