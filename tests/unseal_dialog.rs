//! The unseal dialog and the TOTP field of a confirmation dialog, driven through `update` as
//! the keys would drive them: what they show (snapshots at 80×24 and 120×35), the effects they
//! ask for, and that nothing typed outlives its submit.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/dialog_driver.rs"]
mod dialog_driver;

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use dialog_driver::{now, press, screen, send, type_text};
use insta::assert_snapshot;
use ondeck::actions::unseal::{Submitted, UnsealReply, UnsealRequest, Verdict};
use ondeck::model::{HostRow, HostStatus, SourceRow, SourceStatus, host_fields};
use ondeck::msg::{Command, Effect, Msg};
use ondeck::secret_text::SecretText;
use ondeck::sources::openbao::SealStatus;
use ondeck::state::{AppState, Mode, Overlay, Pane};

const SHARE: &str = "3f1c0a9e2b7d4c6a8e0f1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7";

const CONFIG: &str = r#"
[[source]]
name = "bao"
kind = "openbao"
urls = ["https://bao1.example.com:8200", "https://bao2.example.com:8200"]

[[action]]
name = "unseal-bao"
kind = "unseal"
source = "bao"
description = "Unseal an OpenBao node after a restart"

[[action]]
name = "rotate-keys"
kind = "command"
argv = ["/opt/runbooks/rotate.sh"]
confirm = "totp"
"#;

fn sealed(progress: u32, nonce: &str) -> SealStatus {
    SealStatus {
        seal_type: "shamir".into(),
        initialized: true,
        sealed: true,
        t: 3,
        n: 5,
        progress,
        nonce: nonce.into(),
        version: "2.7.2".into(),
        cluster_name: None,
        storage_type: Some("raft".into()),
    }
}

fn node(name: &str) -> HostRow {
    let fields = BTreeMap::from([
        (host_fields::SEALED.to_owned(), true.into()),
        (host_fields::UNSEAL_THRESHOLD.to_owned(), 3.into()),
        (host_fields::UNSEAL_PROGRESS.to_owned(), 0.into()),
    ]);
    HostRow {
        fields,
        ..HostRow::checked("bao", name, "openbao", HostStatus::Down, now())
    }
}

fn state(width: u16, height: u16) -> AppState {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).unwrap();
    let config = ondeck::config::load(Some(&path)).unwrap();
    let mut state = AppState::new(
        "alice".to_owned(),
        "sqlite:~/.local/share/ondeck/ondeck.db".to_owned(),
        Mode::default(),
        now(),
    );
    state.size = (width, height);
    state.actions = config.actions;
    state.sources = vec![SourceRow {
        status: SourceStatus::Ok,
        last_success: Some(now()),
        ..SourceRow::pending("bao", "openbao", std::time::Duration::from_secs(15))
    }];
    state.data.hosts = vec![node("bao1.example.com:8200"), node("bao2.example.com:8200")].into();
    state.rebuild_all_views();
    state
}

/// The menu on the first node, `action` picked from it.
fn pick(state: &mut AppState, action: &str) -> Vec<Effect> {
    state.focus = Pane::Hosts;
    state.select(Pane::Hosts, 0);
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
    press(state, Command::Submit)
}

fn reply_status(state: &mut AppState, node: &str, status: SealStatus) {
    send(
        state,
        Msg::Unseal(UnsealReply::Status {
            node: node.to_owned(),
            status: Ok(status),
        }),
    );
}

#[test]
fn the_dialog_watches_its_node_and_sends_a_typed_share_keeping_nothing() {
    let mut state = state(80, 24);
    let effects = pick(&mut state, "unseal-bao");
    let [Effect::Unseal(UnsealRequest::Watch(plan))] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(plan.target.name, "bao1.example.com:8200");
    reply_status(
        &mut state,
        "bao1.example.com:8200",
        sealed(1, "3f2a9c1b-77e0"),
    );

    type_text(&mut state, SHARE);
    let typed = screen(&state);
    assert!(
        typed.contains("Seal       sealed, 1/3 shares (of 5)"),
        "{typed}"
    );
    assert!(typed.contains("attempt 3f2a9c1b…"), "{typed}");
    assert!(
        !typed.contains(&SHARE[..8]),
        "the share is on screen:\n{typed}"
    );

    let effects = press(&mut state, Command::Submit);
    let [
        Effect::Unseal(UnsealRequest::Submit {
            share, seen_nonce, ..
        }),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(share, &SecretText::new(SHARE));
    assert_eq!(seen_nonce.as_deref(), Some("3f2a9c1b-77e0"));
    // Nothing of the share is left in the state, however it is printed.
    let kept = format!("{:?} {effects:?}", state.overlay);
    assert!(!kept.contains(&SHARE[..8]), "{kept}");
    let Overlay::Unseal(dialog) = &state.overlay else {
        panic!()
    };
    assert_eq!(dialog.share.chars(), 0);
    assert!(dialog.in_flight);

    // A second Enter while the first share is on its way sends nothing.
    type_text(&mut state, "x");
    assert_eq!(press(&mut state, Command::Submit), Vec::new());
}

#[test]
fn another_keyholders_reset_shows_and_a_reset_needs_asking_and_confirming() {
    let mut state = state(80, 24);
    pick(&mut state, "unseal-bao");
    let node = "bao1.example.com:8200";
    reply_status(&mut state, node, sealed(2, "aaaa1111"));
    reply_status(&mut state, node, sealed(0, ""));
    assert!(
        screen(&state).contains("another keyholder reset or restarted this attempt"),
        "{}",
        screen(&state)
    );

    // ctrl-r asks; Esc keeps the attempt and the dialog.
    send(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    assert_snapshot!("unseal_reset_asked_80x24", screen(&state));
    assert_eq!(press(&mut state, Command::Cancel), Vec::new());
    assert!(matches!(state.overlay, Overlay::Unseal(_)));
    // Asked again and confirmed: the reset is sent.
    send(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)),
    );
    let effects = press(&mut state, Command::Submit);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Unseal(UnsealRequest::Reset(_))]
        ),
        "{effects:?}"
    );
    // Closing stops the watch and never resets.
    send(
        &mut state,
        Msg::Unseal(UnsealReply::Reset {
            node: node.to_owned(),
            result: Ok(sealed(0, "")),
        }),
    );
    assert_eq!(
        press(&mut state, Command::Cancel),
        vec![Effect::Unseal(UnsealRequest::StopWatching)]
    );
    assert!(matches!(state.overlay, Overlay::None));
}

#[test]
fn after_the_threshold_the_dialog_moves_to_the_next_sealed_node() {
    let mut state = state(120, 35);
    pick(&mut state, "unseal-bao");
    reply_status(&mut state, "bao1.example.com:8200", sealed(2, "aaaa1111"));
    assert_snapshot!("unseal_dialog_120x35", screen(&state));
    let unsealed = SealStatus {
        sealed: false,
        progress: 0,
        nonce: String::new(),
        ..sealed(0, "")
    };
    let effects = send(
        &mut state,
        Msg::Unseal(UnsealReply::Submitted {
            node: "bao1.example.com:8200".to_owned(),
            result: Ok(Submitted {
                verdict: Verdict::Unsealed,
                status: Some(unsealed),
                restarted: false,
                step: "share 3 of 3 submitted by alice to bao1.example.com:8200".to_owned(),
                error: None,
            }),
        }),
    );
    let [
        Effect::Unseal(UnsealRequest::StopWatching),
        Effect::Unseal(UnsealRequest::Watch(next)),
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(next.target.name, "bao2.example.com:8200");
    let text = screen(&state);
    assert!(
        text.contains("bao1.example.com:8200 is unsealed; next sealed node: bao2.example.com:8200"),
        "{text}"
    );
}

#[test]
fn a_totp_dialog_takes_the_code_masked_and_keeps_nothing_of_it() {
    let mut state = state(80, 24);
    pick(&mut state, "rotate-keys");
    assert!(matches!(state.overlay, Overlay::Confirm(_)));
    // Enter with no code says what to do and sends nothing.
    assert_eq!(press(&mut state, Command::Submit), Vec::new());
    type_text(&mut state, "492039");
    let text = screen(&state);
    assert!(text.contains("Your TOTP code: ••••••"), "{text}");
    assert!(!text.contains("492039"), "{text}");
    assert_snapshot!("totp_confirm_80x24", text);
    // The store is read, so the dialog may start the action.
    send(&mut state, Msg::StoreLoaded(Box::default()));
    let effects = press(&mut state, Command::Submit);
    let [Effect::StartActionWithCode { plan, code }] = effects.as_slice() else {
        panic!("{effects:?} {:?}", state.notice)
    };
    assert_eq!(plan.action, "rotate-keys");
    assert_eq!(code, &SecretText::new("492039"));
    assert!(!format!("{effects:?} {:?}", state.overlay).contains("492039"));
}
