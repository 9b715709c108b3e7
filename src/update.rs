//! `update(state, msg) -> effects`: every change to the console's state happens here.
//!
//! Pure and synchronous: no I/O, no clock reads (time arrives in messages), so every
//! behaviour is testable by feeding messages and looking at the state and effects.
//!
//! The loop applies messages in batches (all that queued up while it drew) and calls
//! [`finish_batch`] before drawing: new rows only mark their panes outdated, and each outdated
//! view is rebuilt once per batch rather than once per message.

use crossterm::event::{KeyEvent, KeyEventKind};
use ratatui_textarea::TextArea;

use crate::actions::Decision;
use crate::config::keymap::{KeyContext, Keymap};
use crate::model::{Observation, StoreRows};
use crate::msg::{Command, Effect, Msg};
use crate::state::{AppState, Overlay, PaletteEntry, Pane};

mod actions;
mod audit_pages;
mod backup_pick;
mod jobs;
mod unseal;

/// Lines a page key scrolls the help and detail popups by.
const POPUP_PAGE: u16 = 10;

/// The keymap contexts that apply in the state's current overlay, most specific first.
pub fn key_contexts(state: &AppState) -> &'static [KeyContext] {
    match &state.overlay {
        Overlay::Filter(_) | Overlay::Palette { .. } | Overlay::Unseal(_) => &[KeyContext::Input],
        // Every letter of a typed confirmation goes into its field: `y` types a y.
        Overlay::Confirm(confirm) if confirm.takes_text() => &[KeyContext::Input],
        Overlay::Help { .. }
        | Overlay::Detail { .. }
        | Overlay::Sources { .. }
        | Overlay::Actions(_)
        | Overlay::Confirm(_)
        | Overlay::JobLog(_) => &[KeyContext::Dialog, KeyContext::Global],
        Overlay::None => &[KeyContext::Global],
    }
}

/// Turn a key press into a message through the keymap. Keys a text field would take stay raw;
/// other unbound keys are dropped so they cannot wake a redraw.
pub fn translate_key(state: &AppState, keymap: &Keymap, key: KeyEvent) -> Option<Msg> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let contexts = key_contexts(state);
    if let Some(command) = contexts.iter().find_map(|&ctx| keymap.lookup(ctx, &key)) {
        return Some(Msg::Command(command));
    }
    contexts
        .contains(&KeyContext::Input)
        .then_some(Msg::Key(key))
}

pub fn update(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    if matches!(msg, Msg::Command(_) | Msg::Key(_)) {
        // Keys act on the rows as they are now, wherever the batch they are in has put them.
        state.refresh_views();
    }
    match msg {
        Msg::Command(command) => on_command(state, command),
        Msg::Key(key) => {
            on_text_key(state, key);
            Vec::new()
        }
        Msg::Resize { width, height } => {
            state.size = (width, height);
            state.dirty = true;
            Vec::new()
        }
        Msg::Tick(now) => {
            // The clock shows minutes and staleness flips at deadlines the loop wakes for, so a
            // tick is only worth a frame when one of those changed.
            let clock = |state: &AppState| {
                let now = state.now.timestamp();
                let wall = state.mode.wall;
                let tick = if wall && state.wall.config.seconds {
                    now
                } else {
                    now / 60
                };
                let highlighted = if wall {
                    state.wall.highlighted(state.now)
                } else {
                    0
                };
                (tick, highlighted)
            };
            let before = (
                clock(state),
                state.source_counts(),
                state.alerts_have_no_data(),
            );
            state.now = now;
            let turned = state.mode.wall
                && match state.wall.rotate(state.focus, now) {
                    Some(page) => {
                        state.focus = page;
                        true
                    }
                    None => false,
                };
            let after = (
                clock(state),
                state.source_counts(),
                state.alerts_have_no_data(),
            );
            if before != after || turned || has_stale_rows_changed(state) {
                state.dirty = true;
            }
            Vec::new()
        }
        Msg::SourcePolled {
            source,
            at,
            latency_ms,
            result,
            unanswered,
        } => {
            state.now = state.now.max(at);
            let mut first_answer = false;
            if let Some(row) = state.sources.iter_mut().find(|s| s.name == source) {
                first_answer = row.last_success.is_none();
                row.apply_poll(at, latency_ms, &result);
            }
            let mut effects = Vec::new();
            if let Ok(observation) = &result
                && state.mode.wall
            {
                let new = state
                    .wall
                    .observe(&source, &observation.alerts, first_answer, at);
                if new > 0 && state.wall.config.bell {
                    effects.push(Effect::Bell);
                }
            }
            if let Some(observation) = result.ok().or(unanswered.map(|rows| *rows)) {
                replace_observation(state, &source, observation);
            }
            state.dirty = true;
            effects
        }
        Msg::StoreLoaded(rows) => {
            let StoreRows {
                jobs,
                audit,
                sessions,
                alerts,
                approvals,
            } = *rows;
            let audit = audit_pages::with_older(state, audit);
            if state.approvals != approvals {
                state.approvals = approvals;
                state.dirty = true;
            }
            replace_observation(
                state,
                crate::store::STORE_SOURCE,
                Observation {
                    jobs,
                    audit,
                    alerts,
                    ..Observation::default()
                },
            );
            jobs::show_live_rows(state);
            if state
                .data
                .sessions
                .replace(crate::store::OPERATOR_SESSIONS_SOURCE, sessions)
            {
                state.mark_outdated(Pane::Sessions);
            }
            state.store_error = None;
            state.store_connecting = false;
            state.dirty = true;
            Vec::new()
        }
        Msg::StoreFailed(error) => {
            state.store_error = Some(error);
            state.dirty = true;
            Vec::new()
        }
        Msg::Signal(_) => quit(state),
        Msg::ReloadRequested => reload(state),
        Msg::ConfigLoaded(Err(error)) => {
            let first = error.lines().next().unwrap_or_default();
            state.notice = Some(format!(
                "configuration not reloaded, the running one stays: {first}"
            ));
            state.dirty = true;
            Vec::new()
        }
        // The loop hands the new sources to the pollers first and sends `Reconfigured`.
        Msg::ConfigLoaded(Ok(_)) => Vec::new(),
        Msg::Reconfigured { config, restarted } => {
            reconfigure(state, *config, &restarted);
            Vec::new()
        }
        Msg::Unseal(reply) => unseal::on_reply(state, reply),
        Msg::Job(event) => {
            jobs::on_job_event(state, event);
            Vec::new()
        }
        Msg::ApprovalGranted {
            job_id,
            decided_by,
            plan,
        } => jobs::on_approval_granted(state, job_id, &decided_by, &plan),
        Msg::RequestDecided(result) => {
            state.notice = Some(match result {
                Ok(done) => done,
                Err(why) => why,
            });
            state.dirty = true;
            Vec::new()
        }
        Msg::ActionRefused {
            action,
            target,
            reason,
        } => {
            state.notice = Some(format!("{action} on {target} not started: {reason}"));
            state.dirty = true;
            Vec::new()
        }
        Msg::JobLogLoaded {
            job_id,
            before,
            lines,
        } => {
            jobs::on_log_page(state, &job_id, before, lines);
            Vec::new()
        }
        Msg::AuditPageLoaded { before, page } => {
            audit_pages::on_page(state, before, page);
            Vec::new()
        }
        Msg::BackupsListed {
            action,
            dir,
            listing,
        } => {
            backup_pick::on_listed(state, &action, &dir, listing);
            Vec::new()
        }
    }
}

/// Brings the views up to date with the rows the batch's messages brought; the loop calls it
/// after the last message of a batch, before drawing.
pub fn finish_batch(state: &mut AppState) {
    state.refresh_views();
}

/// A source's rows in every pane are replaced by what its latest poll saw; the panes whose rows
/// changed are rebuilt when the batch is finished.
fn replace_observation(state: &mut AppState, source: &str, observation: Observation) {
    let Observation {
        hosts,
        sessions,
        jobs,
        alerts,
        audit,
        truncated: _,
    } = observation;
    let data = &mut state.data;
    let changed = [
        (Pane::Hosts, data.hosts.replace(source, hosts)),
        (Pane::Sessions, data.sessions.replace(source, sessions)),
        (Pane::Jobs, data.jobs.replace(source, jobs)),
        (Pane::Alerts, data.alerts.replace(source, alerts)),
        (Pane::Audit, data.audit.replace(source, audit)),
    ];
    for (pane, _) in changed.into_iter().filter(|&(_, changed)| changed) {
        state.mark_outdated(pane);
    }
}

/// Stale host rows sort as stale, so a view must be re-sorted when staleness changes.
fn has_stale_rows_changed(state: &mut AppState) -> bool {
    state.refresh_views();
    let view = state.view(Pane::Hosts);
    let before: Vec<usize> = view.rows.clone();
    state.rebuild_view(Pane::Hosts);
    state.view(Pane::Hosts).rows != before
}

fn reload(state: &mut AppState) -> Vec<Effect> {
    state.notice = Some("reloading the configuration…".to_owned());
    state.dirty = true;
    vec![Effect::LoadConfig]
}

/// Takes in a reloaded configuration: the rows and wall alerts of sources stopped or restarted
/// go, those of unchanged sources stay, and the actions and the wall's settings are the new
/// ones. What is read only at start (the store, the operator, theme and keymap) waits for the
/// next start.
fn reconfigure(state: &mut AppState, config: crate::config::Config, restarted: &[String]) {
    for name in restarted {
        replace_observation(state, name, Observation::default());
        state.wall.forget(name);
    }
    let before: Vec<String> = state.sources.iter().map(|s| s.name.clone()).collect();
    let mut kept = std::mem::take(&mut state.sources);
    state.sources = config
        .sources
        .iter()
        .map(|source| {
            let unchanged = !restarted.contains(&source.name);
            kept.iter()
                .position(|row| unchanged && row.name == source.name)
                .map(|at| kept.swap_remove(at))
                .unwrap_or_else(|| {
                    crate::model::SourceRow::pending(&source.name, source.kind(), source.every)
                })
        })
        .collect();
    state.alert_sources = config
        .sources
        .iter()
        .filter(|s| s.raises_alerts())
        .map(|s| s.name.clone())
        .collect();
    state.decide_by_code = config.totp_secret(&state.operator).is_some();
    state.actions = config.actions;
    state.wall.config = config.wall;
    state.mark_outdated(Pane::Alerts);
    let now: Vec<&str> = state.sources.iter().map(|s| s.name.as_str()).collect();
    let started = now
        .iter()
        .filter(|name| restarted.iter().any(|r| r == *name) || !before.iter().any(|b| b == *name))
        .count();
    let stopped = before.iter().filter(|b| !now.contains(&b.as_str())).count();
    let unchanged = now.len() - started;
    state.notice = Some(format!(
        "configuration reloaded: {started} source(s) started, {stopped} stopped, {unchanged} unchanged"
    ));
    state.dirty = true;
}

fn quit(state: &mut AppState) -> Vec<Effect> {
    state.quitting = true;
    vec![Effect::Quit]
}

fn on_command(state: &mut AppState, command: Command) -> Vec<Effect> {
    if command == Command::Quit {
        return quit(state);
    }
    state.dirty = true;
    // A notice answers the key before this one.
    state.notice = None;
    match state.overlay {
        Overlay::Actions(_) => return actions::on_menu_command(state, command),
        Overlay::Confirm(_) => return actions::on_confirm_command(state, command),
        Overlay::JobLog(_) => return jobs::on_log_command(state, command),
        Overlay::Unseal(_) => return unseal::on_command(state, command),
        _ => {}
    }
    // Where the help or detail ends, from the state: scrolling stops there, so "up" always
    // moves and "end" always reaches the last line.
    let scroll_limit = match state.overlay {
        Overlay::Help { .. } | Overlay::Detail { .. } => crate::ui::overlay_scroll_limit(state),
        _ => 0,
    };
    match &mut state.overlay {
        Overlay::None => on_pane_command(state, command),
        Overlay::Help { scroll } | Overlay::Detail { scroll } => {
            let before = (*scroll).min(scroll_limit);
            let after = match command {
                Command::MoveUp => before.saturating_sub(1),
                Command::MoveDown => before.saturating_add(1),
                Command::PageUp => before.saturating_sub(POPUP_PAGE),
                Command::PageDown => before.saturating_add(POPUP_PAGE),
                Command::Top => 0,
                Command::Bottom => scroll_limit,
                Command::Close | Command::Cancel | Command::Submit | Command::Help => {
                    state.overlay = Overlay::None;
                    return Vec::new();
                }
                _ => before,
            };
            *scroll = after.min(scroll_limit);
            state.dirty = *scroll != before;
            Vec::new()
        }
        Overlay::Sources { selected } => {
            let last = state.sources.len().saturating_sub(1);
            match command {
                Command::MoveUp => *selected = selected.saturating_sub(1),
                Command::MoveDown => *selected = (*selected + 1).min(last),
                Command::Top => *selected = 0,
                Command::Bottom => *selected = last,
                Command::Close | Command::Cancel | Command::Submit | Command::ShowSources => {
                    state.overlay = Overlay::None
                }
                _ => state.dirty = false,
            }
            Vec::new()
        }
        Overlay::Filter(_) => {
            match command {
                Command::Submit => state.overlay = Overlay::None,
                Command::Cancel | Command::Close => {
                    state.overlay = Overlay::None;
                    set_filter(state, String::new());
                }
                _ => state.dirty = false,
            }
            Vec::new()
        }
        Overlay::Palette { input, selected } => {
            let query = input_text(input);
            let selected = *selected;
            let entries = state.palette_entries(&query);
            let Overlay::Palette {
                selected: position, ..
            } = &mut state.overlay
            else {
                return Vec::new();
            };
            match command {
                Command::MoveUp => *position = selected.saturating_sub(1),
                Command::MoveDown => {
                    *position = (selected + 1).min(entries.len().saturating_sub(1))
                }
                Command::Submit => {
                    state.overlay = Overlay::None;
                    match entries.get(selected) {
                        Some(&PaletteEntry::Command(chosen)) => return on_command(state, chosen),
                        Some(&PaletteEntry::Action(action)) => {
                            let subject = state.action_subject();
                            return actions::pick(state, action, &subject);
                        }
                        None => {}
                    }
                }
                Command::Cancel | Command::Close => state.overlay = Overlay::None,
                _ => state.dirty = false,
            }
            Vec::new()
        }
        // Handled above, before the borrow of the overlay.
        Overlay::Actions(_) | Overlay::Confirm(_) | Overlay::JobLog(_) | Overlay::Unseal(_) => {
            Vec::new()
        }
    }
}

fn on_pane_command(state: &mut AppState, command: Command) -> Vec<Effect> {
    let focus = state.focus;
    let page = state.page_rows();
    let view = state.view(focus);
    let (selected, last) = (view.selected, view.rows.len().saturating_sub(1));
    match command {
        Command::FocusNext => state.focus = focus.next(),
        Command::FocusPrev => state.focus = focus.prev(),
        Command::FocusHosts => state.focus = Pane::Hosts,
        Command::FocusSessions => state.focus = Pane::Sessions,
        Command::FocusJobs => state.focus = Pane::Jobs,
        Command::FocusAlerts => state.focus = Pane::Alerts,
        Command::FocusAudit => state.focus = Pane::Audit,
        Command::MoveUp => state.select(focus, selected.saturating_sub(1)),
        Command::MoveDown => state.select(focus, selected.saturating_add(1)),
        Command::PageUp => state.select(focus, selected.saturating_sub(page)),
        Command::PageDown => state.select(focus, selected.saturating_add(page)),
        Command::Top => state.select_top(focus),
        Command::Bottom => state.select(focus, last),
        Command::SortNext => {
            // Only the columns on screen: a sort by a hidden column looks like no order at all.
            let shown = crate::ui::shown_columns(state, focus);
            let view = state.view_mut(focus);
            let next = shown
                .iter()
                .find(|&&c| c > view.sort_column)
                .or(shown.first());
            match next {
                Some(&column) => {
                    view.sort_column = column;
                    state.rebuild_view(focus);
                }
                None => state.dirty = false,
            }
        }
        Command::SortReverse => {
            let view = state.view_mut(focus);
            view.sort_desc = !view.sort_desc;
            state.rebuild_view(focus);
        }
        Command::OpenDetail if focus == Pane::Jobs => return jobs::open_log(state),
        Command::OpenDetail => {
            if state.view(focus).selected_row().is_some() {
                state.overlay = Overlay::Detail { scroll: 0 };
            } else {
                state.dirty = false;
            }
        }
        Command::Filter => {
            let mut input = TextArea::new(vec![state.view(focus).filter.clone()]);
            input.move_cursor(ratatui_textarea::CursorMove::End);
            state.overlay = Overlay::Filter(Box::new(input));
        }
        Command::Palette => {
            state.overlay = Overlay::Palette {
                input: Box::default(),
                selected: 0,
            }
        }
        Command::Help => state.overlay = Overlay::Help { scroll: 0 },
        Command::ShowSources => state.overlay = Overlay::Sources { selected: 0 },
        Command::Zoom => state.zoomed = !state.zoomed,
        Command::Action => actions::open_menu(state),
        Command::CancelJob => jobs::ask_cancel(state),
        Command::ApproveRequest => jobs::ask_decide(state, Decision::Approve),
        Command::DenyRequest => jobs::ask_decide(state, Decision::Deny),
        Command::PauseRotation if state.mode.wall => {
            state.wall.toggle_pause(state.now);
            state.notice = Some(
                if state.wall.paused {
                    "rotation paused"
                } else {
                    "rotation resumed"
                }
                .to_owned(),
            );
        }
        Command::PauseRotation => {
            state.notice = Some("only the wall (--wall) rotates its pages".to_owned());
        }
        Command::ReloadConfig => return reload(state),
        // Escape on a filtered pane clears the filter: the quickest way back to everything.
        Command::Close | Command::Cancel if !state.view(focus).filter.is_empty() => {
            set_filter(state, String::new())
        }
        Command::Close | Command::Cancel if state.zoomed => state.zoomed = false,
        Command::Close | Command::Cancel | Command::Submit | Command::Quit => state.dirty = false,
    }
    if state.focus != focus {
        // On the wall, a page the operator picked gets its full time before the next turns.
        state.wall.show_from(state.now);
    }
    match command {
        Command::MoveDown | Command::PageDown | Command::Bottom => audit_pages::at_oldest(state),
        _ => Vec::new(),
    }
}

/// A key typed into the filter, the palette or a confirmation's field.
fn on_text_key(state: &mut AppState, key: KeyEvent) {
    if let Overlay::Unseal(_) = state.overlay {
        return unseal::on_key(state, key);
    }
    match &mut state.overlay {
        Overlay::Confirm(confirm) => {
            state.dirty |= confirm.input(key);
        }
        Overlay::Filter(input) => {
            // Keys the text field ignores (function keys, …) change nothing.
            let changed = input.input(key);
            let text = input_text(input);
            if changed {
                set_filter(state, text);
                state.dirty = true;
            }
        }
        Overlay::Palette { input, selected } => {
            // The highlight moves by the keymap's [input] move_up / move_down.
            if !input.input(key) {
                return;
            }
            *selected = 0;
            state.dirty = true;
        }
        _ => {}
    }
}

fn input_text(input: &TextArea<'_>) -> String {
    input.lines().join(" ")
}

/// A new filter keeps the selection on its row while that row matches; once it does not, the
/// selection goes to the top of what matches rather than to whatever took its place.
fn set_filter(state: &mut AppState, filter: String) {
    let focus = state.focus;
    if state.view(focus).filter != filter {
        let followed = state.view(focus).followed.clone();
        state.view_mut(focus).filter = filter;
        state.rebuild_view(focus);
        if state.view(focus).followed != followed {
            state.select_top(focus);
        }
        state.dirty = true;
    }
}

#[cfg(test)]
mod tests;
