//! A restore's dialog: the backups asked for as it opens, listed when they arrive, one picked
//! with the arrows, and that one in the plan that runs or is refused.

use std::path::{Path, PathBuf};

use crate::actions::backups::manifest::{FORMAT, Source, Tool};
use crate::actions::backups::{Listed, Listing, Manifest};
use crate::actions::{Plan, Subject, Work};
use crate::config::Config;
use crate::state::{BackupList, Button, Confirming};

use super::*;

const CONFIG: &str = r#"
[[action]]
name = "restore-files"
kind = "file_restore"
dir = "/var/backups/files"
backup_of = "backup-files"
target = "/srv/app"

[[action]]
name = "drill-app"
kind = "pg_restore"
database = "postgres://ondeck@db.example.com/app"
dir = "/var/backups/pg"
drill = true
backup = "app-20261120T030000Z.dump"
"#;

const FILES: &str = "/var/backups/files";

fn config() -> Config {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, CONFIG).expect("config written");
    crate::config::load(Some(&path)).expect("the test configuration is valid")
}

/// A host selected, the store read: every action here applies to it.
fn restoring_state() -> AppState {
    let mut s = state();
    s.actions = config().actions;
    let hosts = Observation {
        hosts: vec![host("api-prod", "api", HostStatus::Up, t0())],
        ..Observation::default()
    };
    update(&mut s, polled("api-prod", t0(), Ok(hosts)));
    update(&mut s, Msg::StoreLoaded(Box::default()));
    s
}

fn command(s: &mut AppState, command: Command) -> Vec<Effect> {
    update(s, Msg::Command(command))
}

fn type_text(s: &mut AppState, text: &str) {
    for c in text.chars() {
        update(
            s,
            Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        );
    }
}

/// Opens the action menu and picks `action`; returns what picking it asked for.
fn pick(s: &mut AppState, action: &str) -> Vec<Effect> {
    command(s, Command::Action);
    let Overlay::Actions(menu) = &s.overlay else {
        panic!("no menu: {:?}", s.notice)
    };
    let position = menu
        .actions
        .iter()
        .position(|&i| s.actions[i].name == action)
        .expect("the action is in the menu");
    for _ in 0..position {
        command(s, Command::MoveDown);
    }
    command(s, Command::Submit)
}

/// A backup taken `hours` before t0, its size checked, with `problem` if it has one.
fn backup(dir: &str, file: &str, hours: i64, problem: Option<&str>) -> Listed {
    Listed {
        manifest_path: Path::new(dir).join(format!("{file}.manifest.json")),
        manifest: Manifest {
            format: FORMAT,
            kind: "file_backup".to_owned(),
            action: "backup-files".to_owned(),
            file: file.to_owned(),
            time: t0() - Duration::hours(hours),
            source: Source {
                database: "backup-files".to_owned(),
                url: "/srv/app".to_owned(),
                server_version: String::new(),
            },
            size: 4096,
            sha256: "0".repeat(64),
            tool: Tool {
                name: "ondeck".to_owned(),
                version: "0".to_owned(),
            },
            duration_ms: 20,
            tables: Default::default(),
            sentinel: None,
            files: None,
        },
        problem: problem.map(str::to_owned),
    }
}

/// Newest first, as a listing comes: a good one, a truncated one, an older good one.
fn three_backups() -> Listing {
    Listing {
        backups: vec![
            backup(FILES, "backup-files-3.tar.zst", 1, None),
            backup(
                FILES,
                "backup-files-2.tar.zst",
                2,
                Some("backup-files-2.tar.zst has 10 bytes, its manifest says 4096"),
            ),
            backup(FILES, "backup-files-1.tar.zst", 3, None),
        ],
        strays: vec![(
            PathBuf::from(FILES).join("backup-files-0.tar.zst"),
            "no manifest".to_owned(),
        )],
    }
}

fn listed(action: &str, dir: &str, listing: Result<Listing, String>) -> Msg {
    Msg::BackupsListed {
        action: action.to_owned(),
        dir: PathBuf::from(dir),
        listing,
    }
}

fn dialog_plan(s: &AppState) -> Plan {
    match &s.overlay {
        Overlay::Confirm(confirm) => match &confirm.confirming {
            Confirming::Action(plan) => (**plan).clone(),
            other => panic!("not an action's dialog: {other:?}"),
        },
        other => panic!("no dialog: {other:?}; {:?}", s.notice),
    }
}

fn pick_list(s: &AppState) -> BackupList {
    match &s.overlay {
        Overlay::Confirm(confirm) => confirm.pick.clone().expect("a backup list").list,
        other => panic!("no dialog: {other:?}"),
    }
}

/// The plan `action` has when `backup` is configured as its file.
fn plan_restoring(s: &AppState, action: &str, backup: &str) -> Plan {
    let config = s.actions.iter().find(|a| a.name == action).unwrap();
    let config = crate::actions::restoring(config, Some(backup));
    crate::actions::plan(&config, Subject::Named(&dialog_plan(s).target.name)).unwrap()
}

#[test]
fn the_dialog_asks_for_the_backups_and_waits_for_them_before_it_runs() {
    let mut s = restoring_state();
    let effects = pick(&mut s, "restore-files");
    let [Effect::ListBackups { action, choice }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(action, "restore-files");
    assert_eq!(choice.dir, Path::new(FILES));
    assert_eq!(choice.selection.kind, "file_backup");
    assert_eq!(choice.selection.action.as_deref(), Some("backup-files"));
    assert_eq!(pick_list(&s), BackupList::Reading);

    type_text(&mut s, "restore-files");
    assert!(command(&mut s, Command::Submit).is_empty());
    assert!(
        s.notice
            .as_deref()
            .unwrap_or_default()
            .contains("still reading"),
        "{:?}",
        s.notice
    );
    assert!(matches!(s.overlay, Overlay::Confirm(_)), "the dialog stays");
}

#[test]
fn the_list_arrives_and_the_newest_good_backup_goes_into_the_plan() {
    let mut s = restoring_state();
    pick(&mut s, "restore-files");
    assert_eq!(dialog_plan(&s).backup(), None, "the newest that verifies");
    update(&mut s, listed("restore-files", FILES, Ok(three_backups())));
    let BackupList::Listed { entries, selected } = pick_list(&s) else {
        panic!("not listed")
    };
    assert_eq!(entries.len(), 4, "the stray is shown too");
    assert_eq!(selected, Some(0));
    assert_eq!(
        entries[1].problem.as_deref(),
        Some("has 10 bytes, its manifest says 4096")
    );
    let plan = dialog_plan(&s);
    assert_eq!(
        plan,
        plan_restoring(&s, "restore-files", "backup-files-3.tar.zst")
    );
    assert!(
        plan.steps[0].contains("backup-files-3.tar.zst"),
        "{:?}",
        plan.steps
    );
    assert_eq!(plan.detail["backup"], "backup-files-3.tar.zst");
}

#[test]
fn the_arrows_pass_over_bad_backups_and_the_picked_one_is_what_starts() {
    let mut s = restoring_state();
    pick(&mut s, "restore-files");
    update(&mut s, listed("restore-files", FILES, Ok(three_backups())));
    command(&mut s, Command::MoveDown);
    let picked = "backup-files-1.tar.zst";
    assert_eq!(
        dialog_plan(&s).backup(),
        Some(picked),
        "the truncated one is skipped"
    );
    command(&mut s, Command::MoveDown);
    assert_eq!(
        dialog_plan(&s).backup(),
        Some(picked),
        "nothing good below it"
    );
    command(&mut s, Command::MoveUp);
    assert_eq!(dialog_plan(&s).backup(), Some("backup-files-3.tar.zst"));
    command(&mut s, Command::MoveDown);

    type_text(&mut s, "restore-files");
    let effects = command(&mut s, Command::Submit);
    let [Effect::StartAction(plan)] = effects.as_slice() else {
        panic!("{effects:?} {:?}", s.notice)
    };
    let Work::FileRestore(work) = &plan.work else {
        panic!("{plan:?}")
    };
    assert_eq!(work.spec.backup.as_deref(), Some(picked));
    assert_eq!(plan.detail["backup"], picked);
    assert!(plan.steps[0].contains(picked));
}

#[test]
fn the_configured_backup_is_picked_first_and_the_arrows_move_the_pick_not_the_buttons() {
    let mut s = restoring_state();
    let effects = pick(&mut s, "drill-app");
    let [Effect::ListBackups { choice, .. }] = effects.as_slice() else {
        panic!("{effects:?} {:?}", s.notice)
    };
    assert_eq!(choice.selection.subject.as_deref(), Some("app"));
    let dumps = Listing {
        backups: ["app-20261121T030000Z.dump", "app-20261120T030000Z.dump"]
            .iter()
            .enumerate()
            .map(|(i, file)| backup("/var/backups/pg", file, 24 * i as i64, None))
            .collect(),
        strays: Vec::new(),
    };
    update(&mut s, listed("drill-app", "/var/backups/pg", Ok(dumps)));
    assert_eq!(dialog_plan(&s).backup(), Some("app-20261120T030000Z.dump"));

    command(&mut s, Command::MoveUp);
    assert_eq!(dialog_plan(&s).backup(), Some("app-20261121T030000Z.dump"));
    let Overlay::Confirm(confirm) = &s.overlay else {
        panic!("no dialog")
    };
    assert_eq!(
        confirm.focus,
        Button::Cancel,
        "an arrow is not a button's key"
    );
    command(&mut s, Command::FocusNext);
    let effects = command(&mut s, Command::Submit);
    let [Effect::StartAction(plan)] = effects.as_slice() else {
        panic!("{effects:?} {:?}", s.notice)
    };
    assert_eq!(plan.backup(), Some("app-20261121T030000Z.dump"));
}

#[test]
fn an_unreadable_directory_is_said_in_the_dialog_and_the_run_is_refused_audited() {
    let mut s = restoring_state();
    pick(&mut s, "restore-files");
    update(
        &mut s,
        listed(
            "restore-files",
            FILES,
            Err("Permission denied (os error 13)".to_owned()),
        ),
    );
    assert_eq!(
        pick_list(&s),
        BackupList::Unreadable("Permission denied (os error 13)".to_owned())
    );
    type_text(&mut s, "restore-files");
    let effects = command(&mut s, Command::Submit);
    let [Effect::RecordRefusal { plan, reason }] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert_eq!(plan.action, "restore-files");
    assert_eq!(
        reason,
        "the backups in /var/backups/files cannot be read: Permission denied (os error 13)"
    );
}

#[test]
fn no_good_backup_refuses_the_run_audited() {
    let mut s = restoring_state();
    pick(&mut s, "restore-files");
    let mut listing = three_backups();
    listing.backups.retain(|b| b.problem.is_some());
    update(&mut s, listed("restore-files", FILES, Ok(listing)));
    assert!(matches!(
        pick_list(&s),
        BackupList::Listed { selected: None, .. }
    ));
    type_text(&mut s, "restore-files");
    let effects = command(&mut s, Command::Submit);
    assert!(
        matches!(effects.as_slice(), [Effect::RecordRefusal { reason, .. }]
            if reason == "no backup in /var/backups/files can be restored"),
        "{effects:?}"
    );
}

#[test]
fn a_listing_for_another_dialog_is_not_taken() {
    let mut s = restoring_state();
    pick(&mut s, "restore-files");
    update(&mut s, listed("drill-app", FILES, Ok(three_backups())));
    update(
        &mut s,
        listed("restore-files", "/elsewhere", Ok(three_backups())),
    );
    assert_eq!(pick_list(&s), BackupList::Reading);
    // A dialog that is closed takes nothing either.
    command(&mut s, Command::Cancel);
    update(&mut s, listed("restore-files", FILES, Ok(three_backups())));
    assert!(matches!(s.overlay, Overlay::None));
}
