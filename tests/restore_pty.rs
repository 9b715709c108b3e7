//! A restore through the real console in a pseudo-terminal: its dialog lists the two backups
//! `ondeck run` made, the arrow picks the older one, and that one is what is restored and what
//! the audit log names.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::pty::Screen;
use serde_json::Value;

/// The down arrow, as a terminal sends it.
const DOWN: &str = "\x1b[B";

/// A configuration with the local host, a `file_backup` of `app` and a `file_restore` of its
/// archives into `restored`.
fn config(home: &Path, app: &Path, restored: &Path) -> PathBuf {
    let config = home.join("config.toml");
    let backups = home.join("backups");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
url = "sqlite://{store}"

[[source]]
name = "local"
kind = "local"
every = "5s"

[[action]]
name = "backup"
kind = "file_backup"
paths = ["{app}"]
dir = "{backups}"

[[action]]
name = "restore"
kind = "file_restore"
backup_of = "backup"
dir = "{backups}"
target = "{restored}"
"#,
            store = home.join("ondeck.db").display(),
            app = app.display(),
            backups = backups.display(),
            restored = restored.display(),
        ),
    )
    .unwrap();
    config
}

/// `ondeck ARGS` as the console runs, with the same user directories.
fn ondeck(home: &Path, config: &Path, args: &[&str]) -> std::process::Output {
    let output = Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("HOME", home)
        .env("USER", "alice")
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The archives' file names, oldest first.
fn archives(home: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(home.join("backups"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".tar.zst"))
        .collect();
    // Named by the time they were taken.
    names.sort();
    names
}

/// Every file under `root` with its contents.
fn files(root: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        found.push((name, std::fs::read_to_string(&path).unwrap()));
    }
    found.sort();
    found
}

fn detail(record: &Value) -> Value {
    serde_json::from_str(record["detail"].as_str().unwrap_or("null")).unwrap()
}

#[test]
fn the_older_backup_picked_with_the_arrow_is_the_one_restored_and_audited() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let app = home.join("app");
    let restored = home.join("restored");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::create_dir_all(&restored).unwrap();
    let config = config(home, &app, &restored);

    std::fs::write(app.join("version"), "one\n").unwrap();
    ondeck(
        home,
        &config,
        &["run", "backup", "--target", "backup", "--yes"],
    );
    let first = files(&app);
    std::fs::write(app.join("version"), "two\n").unwrap();
    std::fs::write(app.join("added"), "later\n").unwrap();
    ondeck(
        home,
        &config,
        &["run", "backup", "--target", "backup", "--yes"],
    );
    let [older, newer] = archives(home).try_into().unwrap();

    let mut screen = Screen::start(home, &["--config", config.to_str().unwrap()], 120, 40, &[]);
    screen.wait_for("the store and the two backups' jobs", |s| {
        s.contains("store sqlite") && s.contains("Jobs 2/2")
    });
    screen.type_keys("a");
    // Neither has a source: they apply whatever is selected, `backup` first.
    screen.wait_for("the action menu", |s| {
        s.contains("Actions — ") && s.contains("file_restore action")
    });
    screen.type_keys(DOWN);
    screen.type_keys("\r");
    screen.wait_for("the backups listed, the newest picked", |s| {
        s.contains("Type restore to run:") && s.contains(&format!("▶ {newer}"))
    });
    screen.type_keys(DOWN);
    screen.wait_for("the older one picked and planned", |s| {
        s.contains(&format!("▶ {older}")) && s.contains(&format!("take {older}"))
    });
    screen.type_keys("restore\r");
    screen.type_keys("3");
    screen.wait_for("the restore succeeded in the Jobs pane", |s| {
        s.lines()
            .any(|line| line.contains("restore") && line.contains("SUCCEEDED"))
    });
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);

    assert_eq!(files(&restored.join("app")), first, "not the older tree");
    let audit: Vec<Value> =
        serde_json::from_slice(&ondeck(home, &config, &["audit", "--json"]).stdout).unwrap();
    let restores: Vec<&Value> = audit.iter().filter(|r| r["action"] == "restore").collect();
    let outcomes: Vec<&str> = restores
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["REQUESTED", "SUCCEEDED"], "{restores:?}");
    // The plan confirmed, and what the job restored.
    assert_eq!(detail(restores[0])["plan"]["backup"], older.as_str());
    assert_eq!(
        detail(restores[1])["backup"],
        older.as_str(),
        "{}",
        restores[1]
    );
}
