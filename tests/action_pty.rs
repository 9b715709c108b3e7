//! An action through the real console in a pseudo-terminal: the menu on the selected host, a
//! wrong name typed (refused, nothing run, the refusal audited), the right one (the job runs,
//! succeeds, its log shows its output), and `--read-only` refusing at the menu.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::pty::Screen;

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// A configuration with the local host and a `command` action whose script leaves a marker
/// file; returns the configuration's path and the marker's.
fn config(dir: &Path) -> (PathBuf, PathBuf) {
    let marker = dir.join("marker");
    let script = dir.join("mark.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"marking $ONDECK_TARGET\"\n: > '{}'\n",
            marker.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[store]
url = "sqlite://{}"

[[source]]
name = "local"
kind = "local"
every = "5s"

[[action]]
name = "mark"
kind = "command"
description = "Leave a marker"
argv = ["{}"]
confirm = "type-target"
"#,
            dir.join("ondeck.db").display(),
            script.display()
        ),
    )
    .unwrap();
    (config, marker)
}

/// The console on `config` with the local host listed and selected; `ready` is what else the
/// screen must show first.
fn console(home: &Path, config: &Path, extra: &[&str], ready: &str) -> Screen {
    let mut args = vec!["--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    let screen = Screen::start(home, &args, 100, 30, &[]);
    let host = hostname();
    screen.wait_for("the local host", |s| s.contains(&host) && s.contains(ready));
    screen
}

#[test]
fn an_action_is_refused_when_mistyped_and_runs_when_confirmed() {
    let home = tempfile::tempdir().unwrap();
    let (config, marker) = config(home.path());
    let host = hostname();
    let mut screen = console(home.path(), &config, &[], "store sqlite");

    screen.type_keys("a");
    screen.wait_for_text(&format!("Actions — local/{host}"));
    screen.type_keys("\r");
    screen.wait_for_text(&format!("Type {host} to run:"));
    // `q` and `y` are letters of the name here, not the console's keys.
    screen.type_keys("qy\r");
    screen.wait_for_text("refused: typed \"qy\"");
    assert!(!marker.exists(), "a refused action ran");

    screen.type_keys("a\r");
    screen.wait_for_text(&format!("Type {host} to run:"));
    screen.type_keys(&format!("{host}\r"));
    screen.type_keys("3");
    screen.wait_for("the job succeeded in the Jobs pane", |s| {
        s.lines()
            .any(|line| line.contains("mark") && line.contains("SUCCEEDED"))
    });
    assert!(marker.exists(), "the action did not run");

    screen.type_keys("\r");
    screen.wait_for_text(&format!("marking {host}"));
    // `q` closes the log (a lone escape followed at once by `5` would read as alt-5).
    screen.type_keys("q5");
    screen.wait_for("the refusal and the job in the audit log", |s| {
        s.contains("REFUSED") && s.contains("SUCCEEDED")
    });
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
}

#[test]
fn read_only_refuses_at_the_menu_and_says_why() {
    let home = tempfile::tempdir().unwrap();
    let (config, marker) = config(home.path());
    let mut screen = console(home.path(), &config, &["--read-only"], "READ-ONLY");
    screen.type_keys("a");
    screen.wait_for_text("read-only: started with --read-only");
    assert!(!marker.exists());
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
}

/// The SSH connection drops while the console runs an action: the console stops drawing, lets
/// the action finish and records its outcome before it exits (SPEC, safety rule 7).
#[test]
fn a_hang_up_mid_action_lets_it_finish_and_records_it() {
    let home = tempfile::tempdir().unwrap();
    let (config, marker) = config(home.path());
    // The action takes a while: the hang-up comes while it runs.
    let script = home.path().join("mark.sh");
    let slow = format!(
        "#!/bin/sh\necho started\nsleep 2\n: > '{}'\necho finished\n",
        marker.display()
    );
    std::fs::write(&script, slow).unwrap();
    let host = hostname();
    let mut screen = console(home.path(), &config, &[], "store sqlite");
    screen.type_keys("a\r");
    screen.wait_for_text(&format!("Type {host} to run:"));
    screen.type_keys(&format!("{host}\r"));
    screen.type_keys("3");
    screen.wait_for("the job running in the Jobs pane", |s| {
        s.lines()
            .any(|line| line.contains("mark") && line.contains("RUNNING"))
    });
    assert!(
        !marker.exists(),
        "the hang-up must come while the action runs"
    );
    screen.hang_up();
    assert_eq!(screen.wait_exit(), 0);
    assert!(marker.exists(), "the action was abandoned at the hang-up");

    let audit = std::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["--config", config.to_str().unwrap(), "audit", "--json"])
        .env("HOME", home.path())
        .output()
        .unwrap();
    let records: Vec<serde_json::Value> = serde_json::from_slice(&audit.stdout).unwrap();
    let outcomes: Vec<&str> = records
        .iter()
        .filter_map(|r| r["outcome"].as_str())
        .collect();
    assert_eq!(outcomes, ["REQUESTED", "SUCCEEDED"], "{records:?}");
}
