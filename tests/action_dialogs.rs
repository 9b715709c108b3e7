//! Actions on screen: the action menu, the confirmation dialog, a refusal in the status bar and
//! a job's log, driven through `update` as the keys would drive them.
//!
//! Review a changed snapshot by reading it: these are how the team sees the dialogs without
//! running an action.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/dialog_driver.rs"]
mod dialog_driver;

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::Duration;
use dialog_driver::{keymap, now, press, screen, send, type_text};
use insta::assert_snapshot;
use ondeck::actions::backups::manifest::{FORMAT, Source, Tool};
use ondeck::actions::backups::{Listed, Listing, Manifest};
use ondeck::actions::engine::JobEvent;
use ondeck::model::{HostRow, HostStatus, JobRow, SourceRow, SourceStatus};
use ondeck::msg::{Command, Effect, Msg};
use ondeck::state::{AppState, Mode, Overlay, Pane};
use ondeck::store::ActionState;

const CONFIG: &str = r#"
[[source]]
name = "deploy"
kind = "release"
argv = ["./release-state.sh"]
environments = ["prod", "staging"]

[[source]]
name = "api"
kind = "http"
url = "https://api.example.com/healthz"

[[action]]
name = "rollback-prod"
kind = "rollback"
source = "deploy"
description = "Roll an environment back to the release before"
argv = ["/opt/deploy/bin/rollback", "--env", "prod"]
health = { url = "https://api.example.com/healthz", within = "2m" }

[[action]]
name = "restart-api"
kind = "command"
description = "Restart the API service"
argv = ["/opt/runbooks/restart-api.sh", "--graceful"]
cwd = "/opt/runbooks"
timeout = "5m"
"#;

fn release(name: &str, current: &str, previous: &str) -> HostRow {
    let fields = BTreeMap::from([
        ("current_ref".to_owned(), current.into()),
        ("previous_ref".to_owned(), previous.into()),
        ("deployed_by".to_owned(), "carol".into()),
    ]);
    HostRow {
        version: Some(current.to_owned()),
        fields,
        ..HostRow::checked("deploy", name, "release", HostStatus::Up, now())
    }
}

fn source(name: &str, kind: &str) -> SourceRow {
    SourceRow {
        status: SourceStatus::Ok,
        last_success: Some(now()),
        latency_ms: Some(21),
        ..SourceRow::pending(name, kind, std::time::Duration::from_secs(15))
    }
}

/// Two environments of a release source and an API, the store read, at `width`×`height`.
fn state(width: u16, height: u16) -> AppState {
    state_with(width, height, "")
}

/// [`state`] with the actions of `more` besides.
fn state_with(width: u16, height: u16, more: &str) -> AppState {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, format!("{CONFIG}{more}")).unwrap();
    let config = ondeck::config::load(Some(&path)).unwrap();
    let mut state = AppState::new(
        "alice".to_owned(),
        "sqlite:~/.local/share/ondeck/ondeck.db".to_owned(),
        Mode::default(),
        now(),
    );
    state.size = (width, height);
    state.help = ondeck::ui::help_sections(&keymap());
    state.actions = config.actions;
    state.sources = vec![source("deploy", "release"), source("api", "http")];
    state.data.hosts = vec![
        release("prod", "v2.4.1", "v2.4.0"),
        release("staging", "v2.5.0-rc1", "v2.4.1"),
        HostRow {
            latency_ms: Some(42),
            ..HostRow::checked("api", "api", "http", HostStatus::Up, now())
        },
    ]
    .into();
    state.rebuild_all_views();
    state
}

fn select_host(state: &mut AppState, name: &str) {
    let position = state
        .view(Pane::Hosts)
        .rows
        .iter()
        .position(|&i| state.data.hosts[i].name == name)
        .unwrap();
    state.select(Pane::Hosts, position);
}

/// Opens the action menu on `host` and picks `action` from it.
fn open_dialog(state: &mut AppState, host: &str, action: &str) {
    select_host(state, host);
    press(state, Command::Action);
    let Overlay::Actions(menu) = &state.overlay else {
        panic!("no action menu")
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

#[test]
fn action_menu_lists_what_applies_to_the_selected_row() {
    let mut state = state(80, 24);
    select_host(&mut state, "prod");
    press(&mut state, Command::Action);
    let text = screen(&state);
    assert!(text.contains("Actions — deploy/prod"), "{text}");
    assert!(text.contains("rollback-prod"), "{text}");
    assert!(text.contains("restart-api"), "{text}");
    assert_snapshot!(text);
}

#[test]
fn confirm_dialog_with_enter_policy() {
    for (width, height) in [(80, 24), (160, 48)] {
        let mut state = state(width, height);
        open_dialog(&mut state, "api", "restart-api");
        press(&mut state, Command::FocusNext);
        let text = screen(&state);
        for expected in [
            "Run restart-api?",
            "Restart the API service",
            "api/api",
            "run /opt/runbooks/restart-api.sh --graceful",
            "after 5m",
            "▶ Run ◀",
            "[ Cancel ]",
        ] {
            assert!(text.contains(expected), "{expected:?}:\n{text}");
        }
        assert_snapshot!(
            format!("confirm_dialog_with_enter_policy_{width}x{height}"),
            text
        );
    }
}

#[test]
fn confirm_dialog_with_the_target_being_typed() {
    for (width, height) in [(80, 24), (160, 48)] {
        let mut state = state(width, height);
        open_dialog(&mut state, "prod", "rollback-prod");
        type_text(&mut state, "pro");
        let text = screen(&state);
        for expected in [
            "Run rollback-prod?",
            "deploy/prod",
            "prod goes back from release v2.4.1 to v2.4.0",
            "Cannot undo",
            "Type prod to run: pro",
        ] {
            assert!(text.contains(expected), "{expected:?}:\n{text}");
        }
        assert_snapshot!(
            format!("confirm_dialog_with_the_target_being_typed_{width}x{height}"),
            text
        );
    }
}

#[test]
fn a_mistyped_target_is_refused_and_the_status_bar_says_so() {
    for (width, height) in [(80, 24), (160, 48)] {
        let mut state = state(width, height);
        open_dialog(&mut state, "prod", "rollback-prod");
        type_text(&mut state, "prdo");
        let effects = press(&mut state, Command::Submit);
        assert!(
            matches!(effects.as_slice(), [Effect::RecordRefusal { .. }]),
            "{effects:?}"
        );
        let text = screen(&state);
        let status = text.lines().last().unwrap();
        assert!(
            status.contains("refused: typed \"prdo\", expected \"prod\""),
            "{status}"
        );
        assert_snapshot!(
            format!("a_mistyped_target_is_refused_{width}x{height}"),
            text
        );
    }
}

#[test]
fn a_store_that_is_down_is_named_in_the_dialog_before_run_is_pressed() {
    let mut state = state(80, 24);
    state.store_error = Some("connection refused".to_owned());
    open_dialog(&mut state, "api", "restart-api");
    let text = screen(&state);
    assert!(
        text.contains("⚠ store unavailable — actions refused"),
        "{text}"
    );
}

#[test]
fn job_log_of_a_running_job_of_this_console() {
    let mut state = state(80, 24);
    let job = JobRow {
        source: "store".to_owned(),
        id: "7b3e0c1a-5f2d-4a8e-9c61-0d4e2f8a1b77".to_owned(),
        action: "rollback-prod".to_owned(),
        target: "deploy/prod".to_owned(),
        operator: "alice".to_owned(),
        state: "REQUESTED".to_owned(),
        progress: None,
        started: Some(now() - Duration::seconds(95)),
        finished: None,
        result: None,
        observed_at: now(),
    };
    let id = job.id.clone();
    send(&mut state, Msg::Job(JobEvent::Opened(job)));
    send(
        &mut state,
        Msg::Job(JobEvent::State {
            job_id: id.clone(),
            state: ActionState::Running,
            progress: Some(0.4),
        }),
    );
    let mut lines: Vec<String> = (1..=30)
        .map(|n| format!("[rollback] step {n}: switching api-{n:02} to v2.4.0"))
        .collect();
    // Output of a program is not trusted with the terminal.
    lines.push("done\u{1b}[2J".to_owned());
    send(
        &mut state,
        Msg::Job(JobEvent::Lines {
            job_id: id.clone(),
            lines,
        }),
    );
    press(&mut state, Command::FocusJobs);
    assert!(
        press(&mut state, Command::OpenDetail).is_empty(),
        "all lines are held"
    );
    let text = screen(&state);
    for expected in [
        "Job log — rollback-prod on deploy/prod",
        "RUNNING",
        "40%",
        "step 30: switching api-30",
        r"done\u{1b}[2J",
    ] {
        assert!(text.contains(expected), "{expected:?}:\n{text}");
    }
    assert_snapshot!(text);
}

const RESTORE: &str = r#"
[[action]]
name = "restore-app"
kind = "file_restore"
description = "Put the app's files back as a backup has them"
dir = "/var/backups/app"
backup_of = "backup-app"
target = "/srv/app"
"#;

/// A `backup-app` archive taken `hours` before now, of `size` bytes, with `problem` if its
/// size does not match its manifest.
fn archive(hours: i64, size: u64, problem: Option<&str>) -> Listed {
    let time = now() - Duration::hours(hours);
    let file = format!("backup-app-{}.tar.zst", time.format("%Y%m%dT%H%M%S%3fZ"));
    Listed {
        manifest_path: PathBuf::from(format!("/var/backups/app/{file}.manifest.json")),
        manifest: Manifest {
            format: FORMAT,
            kind: "file_backup".to_owned(),
            action: "backup-app".to_owned(),
            file: file.clone(),
            time,
            source: Source {
                database: "backup-app".to_owned(),
                url: "/srv/app".to_owned(),
                server_version: String::new(),
            },
            size,
            sha256: "0".repeat(64),
            tool: Tool {
                name: "ondeck".to_owned(),
                version: "0.1.0".to_owned(),
            },
            duration_ms: 1200,
            tables: BTreeMap::new(),
            sentinel: None,
            files: None,
        },
        problem: problem.map(|p| format!("{file} {p}")),
    }
}

/// The restore's dialog, open on the API's row, its backups not listed yet.
fn restore_dialog(width: u16, height: u16) -> AppState {
    let mut state = state_with(width, height, RESTORE);
    select_host(&mut state, "api");
    press(&mut state, Command::Action);
    let Overlay::Actions(menu) = &state.overlay else {
        panic!("no action menu")
    };
    let position = menu
        .actions
        .iter()
        .position(|&i| state.actions[i].name == "restore-app")
        .unwrap();
    for _ in 0..position {
        press(&mut state, Command::MoveDown);
    }
    let effects = press(&mut state, Command::Submit);
    assert!(
        matches!(effects.as_slice(), [Effect::ListBackups { .. }]),
        "{effects:?}"
    );
    state
}

fn backups_listed(state: &mut AppState, listing: Result<Listing, String>) {
    send(
        state,
        Msg::BackupsListed {
            action: "restore-app".to_owned(),
            dir: PathBuf::from("/var/backups/app"),
            listing,
        },
    );
}

#[test]
fn restore_dialog_lists_the_backups_and_the_older_one_picked() {
    for (width, height) in [(80, 24), (120, 35)] {
        let mut state = restore_dialog(width, height);
        let listing = Listing {
            backups: vec![
                archive(2, 48_213_504, None),
                archive(
                    26,
                    47_900_160,
                    Some("has 1048576 bytes, its manifest says 47900160"),
                ),
                archive(50, 47_513_088, None),
                archive(74, 46_988_800, None),
            ],
            strays: vec![(
                PathBuf::from("/var/backups/app/backup-app-20251101T000000000Z.tar.zst"),
                "no manifest: never finished or its manifest was removed; not restorable"
                    .to_owned(),
            )],
        };
        backups_listed(&mut state, Ok(listing));
        // Past the one whose size is wrong.
        press(&mut state, Command::MoveDown);
        type_text(&mut state, "restore");
        let text = screen(&state);
        for expected in [
            "Run restore-app?",
            "1. take backup-app-20251118T120530000Z.tar.zst in",
            "▶ backup-app-20251118T120530000Z.tar.zst",
            "45.3 MiB",
            "2d ago",
            "size ok",
            "✗ has 104",
            "Type restore-app to run: restore",
        ] {
            assert!(text.contains(expected), "{expected:?}:\n{text}");
        }
        assert_snapshot!(
            format!("restore_dialog_lists_the_backups_{width}x{height}"),
            text
        );
    }
}

#[test]
fn restore_dialog_while_the_backups_are_read_and_when_they_cannot_be() {
    let mut state = restore_dialog(80, 24);
    let text = screen(&state);
    assert!(text.contains("reading backups…"), "{text}");
    assert!(
        text.contains("take the newest archive of backup-app"),
        "{text}"
    );
    assert_snapshot!("restore_dialog_reading_80x24", text);

    backups_listed(
        &mut state,
        Err("Permission denied (os error 13)".to_owned()),
    );
    let text = screen(&state);
    assert!(
        text.contains("✗ cannot be read: Permission denied (os error 13)"),
        "{text}"
    );
    assert_snapshot!("restore_dialog_unreadable_80x24", text);
}
