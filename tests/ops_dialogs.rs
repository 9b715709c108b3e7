//! The operations actions on screen — a silence from an alert, a session terminated, a
//! requested job approved or denied — driven through `update` as the keys would drive them:
//! the menu offers each only on its own rows, the dialog shows the plan, a silence's comment
//! is written in the dialog and goes into the plan that runs.
//!
//! Review a changed snapshot by reading it.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/dialog_driver.rs"]
mod dialog_driver;

use std::collections::BTreeMap;

use crossterm::event::KeyCode;
use dialog_driver::{key, keymap, now, press, screen, send, type_text};
use insta::assert_snapshot;
use ondeck::actions::Work;
use ondeck::actions::silence::{SilenceChange, SilenceWork};
use ondeck::config::ConfirmPolicy;
use ondeck::model::{AlertRow, AlertState, JobRow, SessionRow, Severity};
use ondeck::msg::{Command, Effect, Msg};
use ondeck::secret_text::SecretText;
use ondeck::state::{AppState, Mode, Overlay, Pane};
use serde_json::json;

const CONFIG: &str = r#"
[[source]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:9093"

[[source]]
name = "certhub-db"
kind = "postgres"
url = "postgres://ondeck@127.0.0.1:5432/certhub"

[[action]]
name = "silence-am"
kind = "silence"
source = "am"
description = "Silence the alert while it is being worked on"
duration = "4h"
comment = "working on it"

[[action]]
name = "kill-backend"
kind = "terminate_session"
source = "certhub-db"
description = "End a PostgreSQL backend"

[[action]]
name = "approve-install"
kind = "approve"
source = "certhub-db"
confirm = "type-target"
sql = "UPDATE install_jobs SET status = 'PENDING', approved_by = $2 WHERE id::text = $1 AND status = 'REQUESTED'"

[[action]]
name = "deny-install"
kind = "deny"
source = "certhub-db"
sql = "UPDATE install_jobs SET status = 'DENIED', approved_by = $2 WHERE id::text = $1 AND status = 'REQUESTED'"
"#;

const REQUESTED_JOB: &str = "10000000-0000-0000-0000-000000000001";
const PENDING_JOB: &str = "10000000-0000-0000-0000-000000000002";

fn alert(name: &str, instance: &str, silenced: bool) -> AlertRow {
    let labels = BTreeMap::from([
        ("alertname".to_owned(), name.to_owned()),
        ("instance".to_owned(), instance.to_owned()),
        ("severity".to_owned(), "critical".to_owned()),
    ]);
    AlertRow {
        state: AlertState::Firing,
        silenced,
        fingerprint: format!("fp-{name}-{instance}"),
        labels,
        ..AlertRow::raised("am", name, Severity::Critical, instance, "", now())
    }
}

fn backend(user: &str, pid: i64) -> SessionRow {
    SessionRow {
        source: "certhub-db".to_owned(),
        user: user.to_owned(),
        client: "10.0.0.7".to_owned(),
        state: "idle in transaction".to_owned(),
        detail: "db certhub · app certhub-api".to_owned(),
        since: Some(now() - chrono::Duration::minutes(42)),
        observed_at: now(),
        fields: BTreeMap::from([("pid".to_owned(), json!(pid))]),
    }
}

fn job(id: &str, state: &str) -> JobRow {
    JobRow {
        source: "certhub-db".to_owned(),
        id: id.to_owned(),
        action: "install 7".to_owned(),
        target: "PC-01".to_owned(),
        operator: "42".to_owned(),
        state: state.to_owned(),
        progress: None,
        started: Some(now() - chrono::Duration::minutes(3)),
        finished: None,
        result: None,
        observed_at: now(),
    }
}

fn state_with(width: u16, height: u16, mode: Mode) -> AppState {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let config = ondeck::config::load(Some(&path)).unwrap();
    let mut state = AppState::new(
        "alice".to_owned(),
        "sqlite:~/.local/share/ondeck/ondeck.db".to_owned(),
        mode,
        now(),
    );
    state.size = (width, height);
    state.help = ondeck::ui::help_sections(&keymap());
    state.actions = config.actions;
    state.data.alerts = vec![
        alert("HighLatency", "web-01:9100", false),
        alert("DiskFull", "db-01:9100", true),
    ]
    .into();
    state.data.sessions = vec![backend("certhub_api", 4242)].into();
    state.data.jobs = vec![job(REQUESTED_JOB, "REQUESTED"), job(PENDING_JOB, "PENDING")].into();
    state.rebuild_all_views();
    state
}

fn state(width: u16, height: u16) -> AppState {
    state_with(width, height, Mode::default())
}

/// Focuses `pane` and selects its row that `is_it` picks.
fn select(state: &mut AppState, pane: Pane, is_it: impl Fn(&AppState, usize) -> bool) {
    state.focus = pane;
    let position = state
        .view(pane)
        .rows
        .iter()
        .position(|&i| is_it(state, i))
        .unwrap();
    state.select(pane, position);
}

fn select_alert(state: &mut AppState, name: &str) {
    select(state, Pane::Alerts, |s, i| s.data.alerts[i].name == name);
}

fn select_job(state: &mut AppState, id: &str) {
    select(state, Pane::Jobs, |s, i| s.data.jobs[i].id == id);
}

/// The names the action menu offers for the selected row, or the notice saying none.
fn menu(state: &mut AppState) -> Result<Vec<String>, String> {
    press(state, Command::Action);
    let offered = match &state.overlay {
        Overlay::Actions(menu) => Ok(menu
            .actions
            .iter()
            .map(|&i| state.actions[i].name.clone())
            .collect()),
        _ => Err(state.notice.clone().unwrap_or_default()),
    };
    press(state, Command::Close);
    offered
}

/// Opens the menu on the selected row and picks `action` from it.
fn open_dialog(state: &mut AppState, action: &str) {
    press(state, Command::Action);
    let Overlay::Actions(menu) = &state.overlay else {
        panic!("no action menu: {:?}", state.notice)
    };
    let position = menu
        .actions
        .iter()
        .position(|&i| state.actions[i].name == action)
        .unwrap();
    for _ in 0..position {
        press(state, Command::MoveDown);
    }
    press(state, Command::Submit);
    assert!(
        matches!(state.overlay, Overlay::Confirm(_)),
        "{:?}",
        state.notice
    );
}

/// The store has been read, so Run is not refused for want of it.
fn store_read(state: &mut AppState) {
    state.store_connecting = false;
}

#[test]
fn each_action_is_offered_on_its_own_rows_only() {
    let mut state = state(120, 40);
    select_alert(&mut state, "HighLatency");
    assert_eq!(menu(&mut state), Ok(vec!["silence-am".to_owned()]));
    select(&mut state, Pane::Sessions, |_, _| true);
    assert_eq!(menu(&mut state), Ok(vec!["kill-backend".to_owned()]));
    select_job(&mut state, REQUESTED_JOB);
    assert_eq!(
        menu(&mut state),
        Ok(vec![
            "approve-install".to_owned(),
            "deny-install".to_owned()
        ])
    );
    // A job that was decided already is offered neither.
    select_job(&mut state, PENDING_JOB);
    let refused = menu(&mut state).unwrap_err();
    assert!(
        refused.contains("no configured action applies"),
        "{refused}"
    );
}

#[test]
fn silence_dialog_takes_the_comment_that_goes_into_the_plan() {
    for (width, height) in [(80, 24), (120, 40)] {
        let mut state = state(width, height);
        store_read(&mut state);
        select_alert(&mut state, "HighLatency");
        open_dialog(&mut state, "silence-am");
        // The configured comment is there to edit: a word more.
        type_text(&mut state, ", INC-4711");
        let text = screen(&state);
        for expected in [
            "Run silence-am?",
            "am/HighLatency",
            "POST /api/v2/silences",
            "for 4h",
            "Comment: working on it, INC-4711",
        ] {
            assert!(text.contains(expected), "{expected:?}:\n{text}");
        }
        assert_snapshot!(format!("silence_dialog_{width}x{height}"), text);
        let effects = press(&mut state, Command::Submit);
        let [Effect::StartAction(plan)] = effects.as_slice() else {
            panic!("{effects:?} {:?}", state.notice)
        };
        let Work::Silence(SilenceWork {
            change: SilenceChange::Create {
                comment, labels, ..
            },
            ..
        }) = &plan.work
        else {
            panic!("{:?}", plan.work)
        };
        assert_eq!(comment, "working on it, INC-4711");
        assert_eq!(labels["instance"], "web-01:9100");
    }
}

#[test]
fn a_totp_silence_takes_its_comment_and_the_masked_code() {
    let mut state = state(80, 24);
    let silence = state
        .actions
        .iter_mut()
        .find(|action| action.name == "silence-am")
        .unwrap();
    silence.confirm = ConfirmPolicy::Totp;
    store_read(&mut state);
    select_alert(&mut state, "HighLatency");
    open_dialog(&mut state, "silence-am");
    // The comment has the keys first; an arrow moves them to the code and back.
    type_text(&mut state, ", INC-4711");
    press(&mut state, Command::MoveDown);
    type_text(&mut state, "4920");
    press(&mut state, Command::MoveUp);
    type_text(&mut state, "!");
    press(&mut state, Command::MoveDown);
    type_text(&mut state, "39");
    let text = screen(&state);
    for expected in [
        "Comment: working on it, INC-4711!",
        "Your TOTP code: ••••••",
    ] {
        assert!(text.contains(expected), "{expected:?}:\n{text}");
    }
    assert!(!text.contains("4920"), "{text}");
    assert_snapshot!("totp_silence_dialog_80x24", text);
    let effects = press(&mut state, Command::Submit);
    let [Effect::StartActionWithCode { plan, code }] = effects.as_slice() else {
        panic!("{effects:?} {:?}", state.notice)
    };
    assert_eq!(code, &SecretText::new("492039"));
    let Work::Silence(SilenceWork {
        change: SilenceChange::Create { comment, .. },
        ..
    }) = &plan.work
    else {
        panic!("{:?}", plan.work)
    };
    assert_eq!(comment, "working on it, INC-4711!");
    assert!(!format!("{effects:?} {:?}", state.overlay).contains("492039"));
}

#[test]
fn a_silence_without_a_comment_is_not_sent() {
    let mut state = state(80, 24);
    store_read(&mut state);
    select_alert(&mut state, "HighLatency");
    open_dialog(&mut state, "silence-am");
    for _ in 0.."working on it".len() {
        key(&mut state, KeyCode::Backspace);
    }
    let effects = press(&mut state, Command::Submit);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(state.overlay, Overlay::Confirm(_)));
    let notice = state.notice.clone().unwrap_or_default();
    assert!(notice.contains("write a comment"), "{notice}");
}

#[test]
fn a_silenced_alert_offers_to_expire_its_silences() {
    let mut state = state(120, 40);
    select_alert(&mut state, "DiskFull");
    open_dialog(&mut state, "silence-am");
    let text = screen(&state);
    for expected in [
        "DELETE /api/v2/silence/{id}",
        "DiskFull on db-01:9100 is no longer silenced",
    ] {
        assert!(text.contains(expected), "{expected:?}:\n{text}");
    }
    assert!(!text.contains("Comment:"), "{text}");
    assert_snapshot!("expire_silence_dialog_120x40", text);
}

#[test]
fn terminate_and_approve_dialogs_show_their_plans() {
    for (width, height) in [(80, 24), (120, 40)] {
        let mut state = state(width, height);
        select(&mut state, Pane::Sessions, |_, _| true);
        open_dialog(&mut state, "kill-backend");
        let text = screen(&state);
        for expected in ["Run kill-backend?", "pg_terminate_backend($1)", "4242"] {
            assert!(text.contains(expected), "{expected:?}:\n{text}");
        }
        assert_snapshot!(format!("terminate_session_dialog_{width}x{height}"), text);

        press(&mut state, Command::Cancel);
        select_job(&mut state, REQUESTED_JOB);
        open_dialog(&mut state, "approve-install");
        let text = screen(&state);
        for expected in ["Run approve-install?", "is approved", "Type 10000000-"] {
            assert!(text.contains(expected), "{expected:?}:\n{text}");
        }
        assert_snapshot!(format!("approve_dialog_{width}x{height}"), text);
    }
}

#[test]
fn a_job_decided_while_the_dialog_was_open_is_refused() {
    let mut state = state(80, 24);
    store_read(&mut state);
    select_job(&mut state, REQUESTED_JOB);
    open_dialog(&mut state, "deny-install");
    press(&mut state, Command::FocusNext);
    // Another operator approved it; the next poll says so.
    state.data.jobs = vec![job(REQUESTED_JOB, "PENDING"), job(PENDING_JOB, "PENDING")].into();
    let effects = press(&mut state, Command::Submit);
    assert!(
        matches!(effects.as_slice(), [Effect::RecordRefusal { .. }]),
        "{effects:?}"
    );
    let notice = state.notice.clone().unwrap_or_default();
    assert!(notice.contains("already handled"), "{notice}");
}

#[test]
fn read_only_and_wall_consoles_offer_no_action() {
    for mode in [
        Mode {
            read_only: true,
            wall: false,
        },
        Mode {
            read_only: false,
            wall: true,
        },
    ] {
        let mut state = state_with(80, 24, mode);
        select_alert(&mut state, "HighLatency");
        let refused = menu(&mut state).unwrap_err();
        assert!(refused.contains("read-only"), "{refused}");
    }
}

#[test]
fn an_approved_two_person_silence_keeps_its_written_comment_and_still_runs() {
    let mut state = state(80, 24);
    let silence = state
        .actions
        .iter_mut()
        .find(|action| action.name == "silence-am")
        .unwrap();
    silence.confirm = ConfirmPolicy::TwoPerson;
    store_read(&mut state);
    select_alert(&mut state, "HighLatency");
    open_dialog(&mut state, "silence-am");
    type_text(&mut state, ", INC-4711");
    let effects = press(&mut state, Command::Submit);
    let [Effect::StartAction(plan)] = effects.as_slice() else {
        panic!("{effects:?} {:?}", state.notice)
    };
    let effects = send(
        &mut state,
        Msg::ApprovalGranted {
            job_id: "job-1".to_owned(),
            decided_by: "carol@ops-03.example.com".to_owned(),
            plan: plan.clone(),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::ProceedApproved {
            job_id: "job-1".to_owned(),
            go: Ok(()),
        }],
        "{:?}",
        state.notice
    );
    // The alert gone meanwhile: the approved silence is not run.
    state.data.alerts = Vec::new().into();
    state.rebuild_all_views();
    let effects = send(
        &mut state,
        Msg::ApprovalGranted {
            job_id: "job-1".to_owned(),
            decided_by: "carol@ops-03.example.com".to_owned(),
            plan: plan.clone(),
        },
    );
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::ProceedApproved { go: Err(_), .. }]
        ),
        "{effects:?}"
    );
}
