//! Actions in the console: the menu and the palette, the confirmation dialog and its checks,
//! and the Jobs pane fed by a job's events.

use crate::actions::engine::JobEvent;
use crate::actions::{Plan, Subject};
use crate::config::Config;
use crate::job_log::LINES_KEPT;
use crate::model::host_fields;
use crate::state::{Button, Confirming, PaletteEntry};
use crate::store::{ActionState, STORE_SOURCE};

use super::*;

const CONFIG: &str = r#"
[[source]]
name = "prod"
kind = "release"
argv = ["./state.sh"]
environments = ["b", "c"]

[[source]]
name = "dev"
kind = "release"
argv = ["./state.sh"]
environments = ["a"]

[[action]]
name = "rollback-prod"
kind = "rollback"
source = "prod"
argv = ["./rollback.sh"]

[[action]]
name = "rollback-dev"
kind = "rollback"
source = "dev"
argv = ["./rollback.sh"]
confirm = "enter"

[[action]]
name = "restart"
kind = "command"
description = "Restart the API"
argv = ["./restart.sh"]
"#;

fn config() -> Config {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).expect("config written");
    crate::config::load(Some(&path)).expect("the test configuration is valid")
}

fn release(source: &str, name: &str, current: &str, previous: &str) -> HostRow {
    let mut row = HostRow::checked(source, name, "release", HostStatus::Up, t0());
    row.fields
        .insert(host_fields::CURRENT_REF.into(), current.into());
    row.fields
        .insert(host_fields::PREVIOUS_REF.into(), previous.into());
    row
}

fn releases(rows: Vec<HostRow>) -> Observation {
    Observation {
        hosts: rows,
        ..Observation::default()
    }
}

/// prod=[b, c], dev=[a], every environment one release ahead of the one before; the store read.
fn acting_state() -> AppState {
    let mut s = AppState::new("alice".into(), "sqlite:test".into(), Mode::default(), t0());
    s.sources = vec![source("prod", 10), source("dev", 10)];
    s.actions = config().actions;
    update(
        &mut s,
        polled(
            "prod",
            t0(),
            Ok(releases(vec![
                release("prod", "b", "v2", "v1"),
                release("prod", "c", "v2", "v1"),
            ])),
        ),
    );
    update(
        &mut s,
        polled(
            "dev",
            t0(),
            Ok(releases(vec![release("dev", "a", "v9", "v8")])),
        ),
    );
    update(
        &mut s,
        Msg::StoreLoaded(Box::new(StoreRows {
            jobs: Vec::new(),
            ..StoreRows::default()
        })),
    );
    s
}

fn command(s: &mut AppState, command: Command) -> Vec<Effect> {
    update(s, Msg::Command(command))
}

fn select_host(s: &mut AppState, name: &str) {
    s.focus = Pane::Hosts;
    let position = s
        .view(Pane::Hosts)
        .rows
        .iter()
        .position(|&i| s.data.hosts[i].name == name)
        .expect("the host is listed");
    s.select(Pane::Hosts, position);
}

fn menu_names(s: &AppState) -> Vec<String> {
    match &s.overlay {
        Overlay::Actions(menu) => menu
            .actions
            .iter()
            .map(|&i| s.actions[i].name.clone())
            .collect(),
        other => panic!("no action menu: {other:?}"),
    }
}

/// Opens the menu on the selected row and picks `action` from it.
fn pick(s: &mut AppState, action: &str) {
    command(s, Command::Action);
    let position = menu_names(s)
        .iter()
        .position(|name| name == action)
        .expect("the action is in the menu");
    for _ in 0..position {
        command(s, Command::MoveDown);
    }
    assert!(command(s, Command::Submit).is_empty(), "picking only plans");
}

fn dialog_plan(s: &AppState) -> Plan {
    match &s.overlay {
        Overlay::Confirm(confirm) => match &confirm.confirming {
            Confirming::Action(plan) => (**plan).clone(),
            other => panic!("not an action's dialog: {other:?}"),
        },
        other => panic!("no dialog: {other:?}"),
    }
}

fn plan_for(s: &AppState, action: &str, host: &str) -> Plan {
    let action = s.actions.iter().find(|a| a.name == action).unwrap();
    let row = s.data.hosts.iter().find(|h| h.name == host).unwrap();
    crate::actions::plan(action, Subject::Host(row)).unwrap()
}

fn notice(s: &AppState) -> &str {
    s.notice.as_deref().unwrap_or_default()
}

fn started(effects: &[Effect]) -> Option<&Plan> {
    effects.iter().find_map(|effect| match effect {
        Effect::StartAction(plan) => Some(&**plan),
        _ => None,
    })
}

fn refusal(effects: &[Effect]) -> Option<&str> {
    effects.iter().find_map(|effect| match effect {
        Effect::RecordRefusal { reason, .. } => Some(reason.as_str()),
        _ => None,
    })
}

#[test]
fn the_menu_lists_only_the_actions_that_apply_to_the_selected_row() {
    let mut s = acting_state();
    select_host(&mut s, "b");
    command(&mut s, Command::Action);
    assert_eq!(menu_names(&s), ["rollback-prod", "restart"]);
    command(&mut s, Command::Cancel);

    select_host(&mut s, "a");
    command(&mut s, Command::Action);
    assert_eq!(menu_names(&s), ["rollback-dev", "restart"]);
    command(&mut s, Command::Close);

    // An empty pane: only an action without a source, run for its own name.
    command(&mut s, Command::FocusJobs);
    command(&mut s, Command::Action);
    assert_eq!(menu_names(&s), ["restart"]);
    command(&mut s, Command::Submit);
    assert_eq!(dialog_plan(&s).target.name, "restart");
}

#[test]
fn the_palette_lists_the_actions_that_apply_and_runs_the_chosen_one() {
    let mut s = acting_state();
    select_host(&mut s, "a");
    command(&mut s, Command::Palette);
    type_text(&mut s, "run");
    let entries = s.palette_entries("run");
    let actions: Vec<&str> = entries
        .iter()
        .filter_map(|e| match e {
            PaletteEntry::Action(i) => Some(s.actions[*i].name.as_str()),
            PaletteEntry::Command(_) => None,
        })
        .collect();
    assert_eq!(actions, ["rollback-dev", "restart"]);
    type_text(&mut s, " rollback");
    command(&mut s, Command::Submit);
    assert_eq!(dialog_plan(&s), plan_for(&s, "rollback-dev", "a"));
}

#[test]
fn read_only_refuses_at_the_menu_and_the_palette_and_says_why() {
    for mode in [
        Mode {
            read_only: true,
            wall: false,
        },
        Mode {
            read_only: true,
            wall: true,
        },
    ] {
        let mut s = acting_state();
        s.mode = mode;
        select_host(&mut s, "a");
        assert!(command(&mut s, Command::Action).is_empty());
        assert!(matches!(s.overlay, Overlay::None));
        assert!(notice(&s).starts_with("read-only"), "{}", notice(&s));
        let flag = if mode.wall { "--wall" } else { "--read-only" };
        assert!(notice(&s).contains(flag), "{}", notice(&s));

        command(&mut s, Command::Palette);
        type_text(&mut s, "run restart");
        assert!(command(&mut s, Command::Submit).is_empty());
        assert!(matches!(s.overlay, Overlay::None));
        assert!(notice(&s).starts_with("read-only"), "{}", notice(&s));
    }
}

#[test]
fn an_enter_dialog_starts_on_cancel_and_runs_only_from_the_run_button() {
    let mut s = acting_state();
    select_host(&mut s, "a");
    pick(&mut s, "rollback-dev");
    let Overlay::Confirm(confirm) = &s.overlay else {
        panic!("no dialog")
    };
    assert_eq!(confirm.focus, Button::Cancel);
    assert!(confirm.typed.is_none());
    // `y` is the dialog's submit: on Cancel it cancels.
    assert!(command(&mut s, Command::Submit).is_empty());
    assert!(matches!(s.overlay, Overlay::None));

    pick(&mut s, "rollback-dev");
    command(&mut s, Command::FocusNext);
    command(&mut s, Command::MoveDown);
    command(&mut s, Command::FocusPrev);
    let effects = command(&mut s, Command::Submit);
    assert_eq!(started(&effects), Some(&plan_for(&s, "rollback-dev", "a")));
    assert_eq!(effects.len(), 1);
    assert!(matches!(s.overlay, Overlay::None));
}

#[test]
fn a_store_that_is_down_or_not_read_yet_refuses_the_run() {
    for down in [true, false] {
        let mut s = acting_state();
        if down {
            update(&mut s, Msg::StoreFailed("connection refused".into()));
        } else {
            s.store_connecting = true;
        }
        select_host(&mut s, "a");
        pick(&mut s, "rollback-dev");
        command(&mut s, Command::FocusNext);
        let effects = command(&mut s, Command::Submit);
        assert!(effects.is_empty(), "{effects:?}");
        assert!(
            notice(&s).contains("actions refused until it answers"),
            "{}",
            notice(&s)
        );
    }
}

#[test]
fn a_type_target_dialog_takes_every_letter_and_refuses_a_mismatch_audited() {
    let keymap = Keymap::load("default").expect("default keymap");
    let mut s = acting_state();
    select_host(&mut s, "b");
    pick(&mut s, "rollback-prod");
    // y, n and q are letters of the name here, not the dialog's keys.
    for letter in ['y', 'n', 'q'] {
        let msg = translate_key(&s, &keymap, key(KeyCode::Char(letter)));
        assert!(matches!(msg, Some(Msg::Key(_))), "{letter}: {msg:?}");
    }
    // Enter on an empty field only says what to type.
    assert!(command(&mut s, Command::Submit).is_empty());
    assert!(matches!(s.overlay, Overlay::Confirm(_)));
    assert!(notice(&s).contains("type b"), "{}", notice(&s));

    type_text(&mut s, "c");
    let effects = command(&mut s, Command::Submit);
    assert!(started(&effects).is_none(), "{effects:?}");
    assert_eq!(refusal(&effects), Some("typed \"c\", expected \"b\""));
    let Some(Effect::RecordRefusal { plan, .. }) = effects.first() else {
        panic!("{effects:?}")
    };
    assert_eq!(**plan, plan_for(&s, "rollback-prod", "b"));
    assert!(matches!(s.overlay, Overlay::None));
    assert!(notice(&s).starts_with("refused:"), "{}", notice(&s));
    assert!(notice(&s).contains("typed \"c\""), "{}", notice(&s));
}

#[test]
fn the_exact_target_typed_starts_the_plan() {
    let mut s = acting_state();
    select_host(&mut s, "b");
    pick(&mut s, "rollback-prod");
    type_text(&mut s, "b");
    let effects = command(&mut s, Command::Submit);
    assert_eq!(
        effects,
        vec![Effect::StartAction(Box::new(plan_for(
            &s,
            "rollback-prod",
            "b"
        )))]
    );
}

#[test]
fn a_poll_that_reorders_rows_keeps_the_selection_and_the_dialogs_target_on_their_row() {
    let mut s = acting_state();
    assert_eq!(visible_hosts(&s), ["a", "b", "c"]);
    select_host(&mut s, "a");
    pick(&mut s, "rollback-dev");
    let shown = dialog_plan(&s);

    // prod's rows are replaced: they move after dev's `a` in the rows, and b sorts first.
    let later = t0() + Duration::seconds(10);
    let mut b = release("prod", "b", "v2", "v1");
    b.status = HostStatus::Down;
    update(
        &mut s,
        polled(
            "prod",
            later,
            Ok(releases(vec![b, release("prod", "c", "v2", "v1")])),
        ),
    );
    assert_eq!(visible_hosts(&s), ["b", "a", "c"]);
    assert_eq!(selected_host(&s).as_deref(), Some("a"));
    command(&mut s, Command::FocusNext);
    let effects = command(&mut s, Command::Submit);
    assert_eq!(started(&effects), Some(&shown));
    assert_eq!(shown.target.ledger_name(), "dev/a");
}

#[test]
fn a_target_that_vanished_or_changed_while_the_dialog_was_open_is_refused_and_audited() {
    let later = t0() + Duration::seconds(10);
    let cases: [(Observation, &str); 2] = [
        (releases(Vec::new()), "no longer listed"),
        (
            releases(vec![release("dev", "a", "v10", "v9")]),
            "changed while the dialog was open",
        ),
    ];
    for (poll, why) in cases {
        let mut s = acting_state();
        select_host(&mut s, "a");
        pick(&mut s, "rollback-dev");
        update(&mut s, polled("dev", later, Ok(poll)));
        command(&mut s, Command::FocusNext);
        let effects = command(&mut s, Command::Submit);
        assert!(started(&effects).is_none(), "{effects:?}");
        let reason = refusal(&effects).unwrap_or_else(|| panic!("{effects:?}"));
        assert!(reason.contains(why), "{reason}");
        assert!(notice(&s).contains(why), "{}", notice(&s));
    }
}

fn job_row(id: &str, state: &str) -> JobRow {
    JobRow {
        source: STORE_SOURCE.into(),
        id: id.into(),
        action: "rollback-dev".into(),
        target: "dev/a".into(),
        operator: "alice".into(),
        state: state.into(),
        progress: None,
        started: Some(t0()),
        finished: None,
        result: None,
        observed_at: t0(),
    }
}

fn shown_job(s: &AppState, id: &str) -> JobRow {
    let rows: Vec<&JobRow> = s
        .view(Pane::Jobs)
        .rows
        .iter()
        .map(|&i| &s.data.jobs[i])
        .filter(|job| job.id == id)
        .collect();
    assert_eq!(rows.len(), 1, "one row per job: {rows:?}");
    rows[0].clone()
}

#[test]
fn a_jobs_events_show_in_the_jobs_pane_at_once_and_outrank_an_older_store_read() {
    let mut s = acting_state();
    update(
        &mut s,
        Msg::Job(JobEvent::Opened(job_row("j1", "REQUESTED"))),
    );
    assert_eq!(shown_job(&s, "j1").state, "REQUESTED");
    update(
        &mut s,
        Msg::Job(JobEvent::State {
            job_id: "j1".into(),
            state: ActionState::Running,
            progress: Some(0.25),
        }),
    );
    // The store was read before the job started running: its row is the older one.
    update(
        &mut s,
        Msg::StoreLoaded(Box::new(StoreRows {
            jobs: vec![job_row("j1", "REQUESTED"), job_row("other", "RUNNING")],
            ..StoreRows::default()
        })),
    );
    let job = shown_job(&s, "j1");
    assert_eq!((job.state.as_str(), job.progress), ("RUNNING", Some(0.25)));
    assert_eq!(s.view(Pane::Jobs).rows.len(), 2);

    let end = t0() + Duration::seconds(90);
    update(&mut s, Msg::Tick(end));
    update(
        &mut s,
        Msg::Job(JobEvent::Closed {
            job_id: "j1".into(),
            state: ActionState::Failed,
            result: Some("`./rollback.sh` exited with status 3".into()),
        }),
    );
    let job = shown_job(&s, "j1");
    assert_eq!(job.state, "FAILED");
    assert_eq!(job.finished, Some(end));
    assert_eq!(job.duration_s(end), Some(90));
    assert!(
        notice(&s).contains("FAILED — `./rollback.sh` exited"),
        "{}",
        notice(&s)
    );
}

#[test]
fn a_refusal_from_the_runner_is_shown_and_the_next_key_clears_it() {
    let mut s = acting_state();
    update(
        &mut s,
        Msg::ActionRefused {
            action: "rollback-dev".into(),
            target: "dev/a".into(),
            reason: "dev/a is busy with job j0".into(),
        },
    );
    assert_eq!(
        notice(&s),
        "rollback-dev on dev/a not started: dev/a is busy with job j0"
    );
    command(&mut s, Command::MoveDown);
    assert_eq!(s.notice, None);
}

fn lines(s: &AppState, id: &str) -> Vec<String> {
    s.live_job(id)
        .map(|job| job.log.lines().iter().map(|l| l.text.clone()).collect())
        .unwrap_or_default()
}

#[test]
fn a_jobs_live_log_is_bounded_and_redraws_only_when_on_screen() {
    let mut s = acting_state();
    update(
        &mut s,
        Msg::Job(JobEvent::Opened(job_row("j1", "REQUESTED"))),
    );
    s.dirty = false;
    for batch in 0..3 {
        update(
            &mut s,
            Msg::Job(JobEvent::Lines {
                job_id: "j1".into(),
                lines: (0..500).map(|n| format!("{batch}:{n}")).collect(),
            }),
        );
    }
    let held = lines(&s, "j1");
    assert_eq!(held.len(), LINES_KEPT);
    assert_eq!(held.first().map(String::as_str), Some("1:0"));
    assert_eq!(held.last().map(String::as_str), Some("2:499"));
    assert!(!s.dirty, "lines of a log that is not shown cost no frame");

    command(&mut s, Command::FocusJobs);
    // Beyond what is held, the log is read from the store: its newest page first.
    let effects = command(&mut s, Command::OpenDetail);
    assert_eq!(
        effects,
        vec![Effect::LoadJobLog {
            job_id: "j1".into(),
            before: None
        }]
    );
    s.dirty = false;
    update(
        &mut s,
        Msg::Job(JobEvent::Lines {
            job_id: "j1".into(),
            lines: vec!["more".into()],
        }),
    );
    assert!(s.dirty, "the log on screen shows the new line");
}

#[test]
fn the_job_log_of_any_job_is_paged_from_the_store() {
    let mut s = acting_state();
    s.size = (80, 24);
    update(
        &mut s,
        Msg::StoreLoaded(Box::new(StoreRows {
            jobs: vec![job_row("old", "SUCCEEDED")],
            ..StoreRows::default()
        })),
    );
    command(&mut s, Command::FocusJobs);
    let effects = command(&mut s, Command::OpenDetail);
    assert_eq!(
        effects,
        vec![Effect::LoadJobLog {
            job_id: "old".into(),
            before: None
        }]
    );
    let page = |range: std::ops::Range<i64>| -> Vec<(i64, String)> {
        range.map(|n| (n, format!("line {n}"))).collect()
    };
    update(
        &mut s,
        Msg::JobLogLoaded {
            job_id: "old".into(),
            before: None,
            lines: page(500..700),
        },
    );
    let height = crate::ui::job_log_rows(&s);
    assert!(height > 1 && height < 200, "{height}");
    command(&mut s, Command::Top);
    // Above the first line: the page before it.
    let effects = command(&mut s, Command::MoveUp);
    assert_eq!(
        effects,
        vec![Effect::LoadJobLog {
            job_id: "old".into(),
            before: Some(500)
        }]
    );
    assert!(
        command(&mut s, Command::MoveUp).is_empty(),
        "one page at a time"
    );
    update(
        &mut s,
        Msg::JobLogLoaded {
            job_id: "old".into(),
            before: Some(500),
            lines: page(300..500),
        },
    );
    let Overlay::JobLog(view) = &s.overlay else {
        panic!("no job log")
    };
    // The line that was at the top stays there, with the older ones above it.
    assert_eq!(view.top, Some(200));
    let log = s.job_log(view).expect("a log");
    assert_eq!(log.lines().len(), 400);
    assert_eq!(log.lines()[200].text, "line 500");
    command(&mut s, Command::Bottom);
    assert!(matches!(&s.overlay, Overlay::JobLog(view) if view.top.is_none()));
    command(&mut s, Command::Close);
    assert!(matches!(s.overlay, Overlay::None));
}

#[test]
fn cancel_asks_first_and_only_for_a_running_job_of_this_console() {
    let mut s = acting_state();
    update(
        &mut s,
        Msg::StoreLoaded(Box::new(StoreRows {
            jobs: vec![job_row("theirs", "RUNNING")],
            ..StoreRows::default()
        })),
    );
    command(&mut s, Command::FocusJobs);
    assert!(command(&mut s, Command::CancelJob).is_empty());
    assert!(matches!(s.overlay, Overlay::None));
    assert!(notice(&s).contains("another console"), "{}", notice(&s));

    let mine = JobRow {
        started: Some(t0() + Duration::seconds(5)),
        ..job_row("mine", "REQUESTED")
    };
    update(&mut s, Msg::Job(JobEvent::Opened(mine)));
    command(&mut s, Command::Top);
    assert_eq!(
        s.view(Pane::Jobs)
            .selected_row()
            .map(|i| s.data.jobs[i].id.clone()),
        Some("mine".to_owned()),
        "the newest job sorts first"
    );
    command(&mut s, Command::CancelJob);
    let Overlay::Confirm(confirm) = &s.overlay else {
        panic!("no dialog: {}", notice(&s))
    };
    assert_eq!(confirm.focus, Button::Cancel);
    assert!(
        command(&mut s, Command::Submit).is_empty(),
        "Cancel keeps it running"
    );

    command(&mut s, Command::CancelJob);
    command(&mut s, Command::FocusNext);
    assert_eq!(
        command(&mut s, Command::Submit),
        vec![Effect::CancelJob {
            job_id: "mine".into()
        }]
    );

    update(
        &mut s,
        Msg::Job(JobEvent::Closed {
            job_id: "mine".into(),
            state: ActionState::Cancelled,
            result: None,
        }),
    );
    command(&mut s, Command::CancelJob);
    assert!(matches!(s.overlay, Overlay::None));
    assert!(
        notice(&s).contains("has ended (CANCELLED)"),
        "{}",
        notice(&s)
    );
}

#[test]
fn every_shipped_keymap_reaches_the_action_commands_and_the_dialogs_buttons() {
    for name in Keymap::builtin_names() {
        let keymap = Keymap::load(name).expect("a shipped keymap");
        for command in [Command::Action, Command::CancelJob] {
            assert!(
                !keymap.keys_for(KeyContext::Global, command).is_empty(),
                "{name}: no key for {}",
                command.name()
            );
        }
        let mut s = acting_state();
        select_host(&mut s, "a");
        pick(&mut s, "rollback-dev");
        for code in [KeyCode::Tab, KeyCode::Left, KeyCode::Right, KeyCode::Down] {
            let msg = translate_key(&s, &keymap, key(code));
            let Some(msg @ Msg::Command(_)) = msg else {
                panic!("{name}: {code:?} does not move between the buttons: {msg:?}")
            };
            let Overlay::Confirm(before) = &s.overlay else {
                panic!("no dialog")
            };
            let focus = before.focus;
            update(&mut s, msg);
            let Overlay::Confirm(after) = &s.overlay else {
                panic!("{name}: {code:?} closed the dialog")
            };
            assert_eq!(after.focus, focus.other(), "{name}: {code:?}");
        }
    }
}
