//! Two-person actions in the console, without a store: another console's request in the Jobs
//! pane with the status bar's badge, the approve and deny dialogs (with the approver's TOTP
//! code when they have one), and the requester's side once its request is approved.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/dialog_driver.rs"]
mod dialog_driver;

use dialog_driver::{keymap, now, press, screen, send, type_text};
use insta::assert_snapshot;
use ondeck::actions::engine::JobEvent;
use ondeck::actions::{Decision, Subject};
use ondeck::model::{ApprovalRequest, JobRow, StoreRows};
use ondeck::msg::{Command, Effect, Msg};
use ondeck::secret_text::SecretText;
use ondeck::state::{AppState, Mode, Overlay, Pane};
use ondeck::store::STORE_SOURCE;

const CONFIG: &str = r#"
[[action]]
name = "restart-api"
kind = "command"
description = "Restart the API service"
argv = ["systemctl", "restart", "api"]
confirm = "two-person"
approval_expires = "10m"
"#;

const REQUEST: &str = "20000000-0000-0000-0000-000000000001";
const PLAIN: &str = "30000000-0000-0000-0000-000000000002";

fn job(id: &str, action: &str, state: &str, operator: &str) -> JobRow {
    JobRow {
        source: STORE_SOURCE.to_owned(),
        id: id.to_owned(),
        action: action.to_owned(),
        target: "api-1".to_owned(),
        operator: operator.to_owned(),
        state: state.to_owned(),
        progress: None,
        started: Some(now() - chrono::Duration::minutes(2)),
        finished: None,
        result: None,
        observed_at: now(),
    }
}

fn request() -> ApprovalRequest {
    ApprovalRequest {
        job_id: REQUEST.to_owned(),
        action: "restart-api".to_owned(),
        target: "api-1".to_owned(),
        operator: "bob".to_owned(),
        requested_by: "bob@ops-02.example.com".to_owned(),
        requested_at: now() - chrono::Duration::minutes(2),
        expires_at: now() + chrono::Duration::minutes(8),
    }
}

fn config() -> ondeck::config::Config {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).unwrap();
    ondeck::config::load(Some(&path)).unwrap()
}

/// alice's console; the store holds bob's request and a finished job of hers.
fn state(width: u16, height: u16) -> AppState {
    let mut state = AppState::new(
        "alice".to_owned(),
        "postgres://ondeck:***@db.example.com/ondeck".to_owned(),
        Mode::default(),
        now(),
    );
    state.size = (width, height);
    state.help = ondeck::ui::help_sections(&keymap());
    state.actions = config().actions;
    send(
        &mut state,
        Msg::StoreLoaded(Box::new(StoreRows {
            jobs: vec![
                job(REQUEST, "restart-api", "REQUESTED", "bob"),
                job(PLAIN, "backup-db", "SUCCEEDED", "alice"),
            ],
            approvals: vec![request()],
            ..StoreRows::default()
        })),
    );
    state
}

fn select_job(state: &mut AppState, id: &str) {
    state.focus = Pane::Jobs;
    let position = state
        .view(Pane::Jobs)
        .rows
        .iter()
        .position(|&i| state.data.jobs[i].id == id)
        .unwrap();
    state.select(Pane::Jobs, position);
}

fn notice(state: &AppState) -> String {
    state.notice.clone().unwrap_or_default()
}

#[test]
fn another_consoles_request_shows_in_jobs_with_a_badge() {
    for (width, height) in [(80, 24), (160, 48)] {
        let mut state = state(width, height);
        assert_eq!(state.approvals_waiting(), 1);
        state.focus = Pane::Jobs;
        select_job(&mut state, REQUEST);
        let text = screen(&state);
        assert!(text.contains("REQUESTED"), "{text}");
        let badge = if width >= 160 {
            "1 approval waiting"
        } else {
            "1 appr"
        };
        assert!(text.contains(badge), "{badge:?}:\n{text}");
        assert_snapshot!(format!("two_person_jobs_{width}x{height}"), text);
    }
}

#[test]
fn approving_asks_first_and_then_asks_the_store() {
    let mut state = state(80, 24);
    select_job(&mut state, REQUEST);
    assert!(press(&mut state, Command::ApproveRequest).is_empty());
    let Overlay::Confirm(_) = &state.overlay else {
        panic!("no dialog: {}", notice(&state))
    };
    let text = screen(&state);
    for expected in ["Approve the request?", "bob@ops-02.example.com", "Approve"] {
        assert!(text.contains(expected), "{expected:?}:\n{text}");
    }
    assert_snapshot!("two_person_approve_dialog_80x24", text);
    // Focus starts on Cancel: a stray Enter decides nothing.
    assert!(press(&mut state, Command::Submit).is_empty());
    assert!(matches!(state.overlay, Overlay::None));

    press(&mut state, Command::ApproveRequest);
    press(&mut state, Command::FocusNext);
    let effects = press(&mut state, Command::Submit);
    let [
        Effect::DecideRequest {
            request: asked,
            decision: Decision::Approve,
            code: None,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?} {}", notice(&state))
    };
    assert_eq!(**asked, request());
    assert!(
        notice(&state).contains("approving restart-api"),
        "{}",
        notice(&state)
    );

    // The store's answer is the operator's to read.
    send(
        &mut state,
        Msg::RequestDecided(Err(
            "refused: it was already decided: it is APPROVED — restart-api on api-1".to_owned(),
        )),
    );
    assert!(
        notice(&state).contains("already decided"),
        "{}",
        notice(&state)
    );
}

#[test]
fn denying_is_the_same_dialog_with_deny() {
    let mut state = state(80, 24);
    select_job(&mut state, REQUEST);
    press(&mut state, Command::DenyRequest);
    assert!(screen(&state).contains("Deny the request?"));
    press(&mut state, Command::FocusNext);
    let effects = press(&mut state, Command::Submit);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::DecideRequest {
                decision: Decision::Deny,
                code: None,
                ..
            }]
        ),
        "{effects:?}"
    );
}

#[test]
fn an_approver_with_a_totp_secret_approves_with_their_code() {
    let mut state = state(80, 24);
    state.decide_by_code = true;
    select_job(&mut state, REQUEST);
    press(&mut state, Command::ApproveRequest);
    // No code, no decision.
    assert!(press(&mut state, Command::Submit).is_empty());
    assert!(notice(&state).contains("TOTP code"), "{}", notice(&state));
    type_text(&mut state, "492039");
    let text = screen(&state);
    assert!(text.contains("Your TOTP code: ••••••"), "{text}");
    assert!(!text.contains("492039"), "{text}");
    let effects = press(&mut state, Command::Submit);
    let [
        Effect::DecideRequest {
            decision: Decision::Approve,
            code: Some(code),
            ..
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?} {}", notice(&state))
    };
    assert_eq!(code, &SecretText::new("492039"));
}

#[test]
fn only_a_waiting_request_of_another_console_is_offered() {
    let mut state = state(80, 24);
    // A job that is no request.
    select_job(&mut state, PLAIN);
    assert!(press(&mut state, Command::ApproveRequest).is_empty());
    assert!(matches!(state.overlay, Overlay::None));
    assert!(
        notice(&state).contains("not a two-person request"),
        "{}",
        notice(&state)
    );
    // Outside the Jobs pane.
    state.focus = Pane::Hosts;
    press(&mut state, Command::DenyRequest);
    assert!(notice(&state).contains("Jobs pane"), "{}", notice(&state));
    // A read-only console decides nothing.
    let mut watcher = state_with_mode(Mode {
        read_only: true,
        wall: false,
    });
    select_job(&mut watcher, REQUEST);
    press(&mut watcher, Command::ApproveRequest);
    assert!(matches!(watcher.overlay, Overlay::None));
    assert!(
        notice(&watcher).contains("read-only"),
        "{}",
        notice(&watcher)
    );
}

fn state_with_mode(mode: Mode) -> AppState {
    let mut state = state(80, 24);
    state.mode = mode;
    state
}

#[test]
fn the_requesters_own_request_is_not_badged_and_runs_once_approved_if_unchanged() {
    let mut state = state(80, 24);
    let config = config();
    let plan = ondeck::actions::plan(&config.actions[0], Subject::Named("api-1")).unwrap();
    // This console's own request: its job's events name it.
    send(
        &mut state,
        Msg::Job(JobEvent::Opened(job(
            REQUEST,
            "restart-api",
            "REQUESTED",
            "alice",
        ))),
    );
    assert_eq!(
        state.approvals_waiting(),
        0,
        "not for this console to approve"
    );
    select_job(&mut state, REQUEST);
    press(&mut state, Command::ApproveRequest);
    assert!(matches!(state.overlay, Overlay::None));
    assert!(notice(&state).contains("own request"), "{}", notice(&state));

    let effects = send(
        &mut state,
        Msg::ApprovalGranted {
            job_id: REQUEST.to_owned(),
            decided_by: "carol@ops-03.example.com".to_owned(),
            plan: Box::new(plan.clone()),
        },
    );
    assert_eq!(
        effects,
        vec![Effect::ProceedApproved {
            job_id: REQUEST.to_owned(),
            go: Ok(()),
        }]
    );
    assert!(notice(&state).contains("approved by carol@ops-03.example.com"));

    // An action no longer configured as it was requested is not run on the approval.
    state.actions.clear();
    let effects = send(
        &mut state,
        Msg::ApprovalGranted {
            job_id: REQUEST.to_owned(),
            decided_by: "carol@ops-03.example.com".to_owned(),
            plan: Box::new(plan),
        },
    );
    let [Effect::ProceedApproved { go: Err(why), .. }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(why.contains("not configured"), "{why}");
}

#[test]
fn confirming_a_two_person_action_requests_it() {
    let mut state = state(80, 24);
    state.focus = Pane::Hosts;
    press(&mut state, Command::Action);
    press(&mut state, Command::Submit);
    let Overlay::Confirm(_) = &state.overlay else {
        panic!("no dialog: {}", notice(&state))
    };
    press(&mut state, Command::FocusNext);
    let effects = press(&mut state, Command::Submit);
    let [Effect::StartAction(plan)] = effects.as_slice() else {
        panic!("{effects:?} {}", notice(&state))
    };
    assert_eq!(plan.confirm, ondeck::config::ConfirmPolicy::TwoPerson);
    assert_eq!(plan.approval_expires, std::time::Duration::from_secs(600));
}
