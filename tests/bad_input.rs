//! Bad input gives a one-paragraph error and a non-zero exit: never a panic, never a garbled
//! terminal.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::pty::{Screen, terminal_restored};

fn ondeck(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ondeck"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "alice")
        .env("TERM", "xterm-256color")
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run ondeck")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_clean_failure(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "exit code; stderr:\n{err}");
    assert!(!err.contains("panicked"), "panicked:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
}

#[test]
fn malformed_config_names_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("broken.toml");
    std::fs::write(
        &path,
        "[console]\noperator = \"alice\"\nthem = \"default\"\n",
    )
    .unwrap();
    let out = ondeck(
        home.path(),
        &["check", "--config", path.to_str().unwrap()],
        &[],
    );
    assert_clean_failure(&out, &["broken.toml", ":3", "them", "theme"]);

    std::fs::write(&path, "[console\noperator = \"alice\"\n").unwrap();
    let out = ondeck(home.path(), &["--config", path.to_str().unwrap()], &[]);
    assert_clean_failure(&out, &["broken.toml", ":1"]);
}

#[test]
fn unknown_theme_and_broken_keymap_are_clear_errors() {
    let home = tempfile::tempdir().unwrap();
    let out = ondeck(home.path(), &["check", "--theme", "no-such-theme"], &[]);
    assert_clean_failure(&out, &["no-such-theme", "monochrome"]);

    let keymap = home.path().join("keys.toml");
    std::fs::write(&keymap, "[global]\nq = \"quit\"\nx = \"explode\"\n").unwrap();
    let out = ondeck(
        home.path(),
        &["check", "--keymap", keymap.to_str().unwrap()],
        &[],
    );
    assert_clean_failure(&out, &["keys.toml", ":3", "explode"]);
}

#[test]
fn dumb_terminal_is_refused_before_the_screen_is_touched() {
    let home = tempfile::tempdir().unwrap();
    let out = ondeck(home.path(), &[], &[("TERM", "dumb")]);
    assert_clean_failure(&out, &["dumb", "ondeck snapshot"]);
    assert!(
        out.stdout.is_empty(),
        "wrote to the terminal: {:?}",
        out.stdout
    );
}

#[test]
fn unwritable_data_dir_is_a_clear_error_and_the_console_still_watches() {
    let home = tempfile::tempdir().unwrap();
    // A directory cannot be created under a regular file, whoever runs the test.
    let blocker = home.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let data = blocker.join("data");
    let data = data.to_str().unwrap();

    let out = ondeck(home.path(), &["audit"], &[("XDG_DATA_HOME", data)]);
    assert_clean_failure(&out, &["not-a-dir"]);

    // Only actions need the store: the console watches, and says why it refuses them.
    let mut screen = Screen::start(home.path(), &[], 160, 24, &[("XDG_DATA_HOME", data)]);
    screen.wait_for_text("store unavailable — actions refused");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert!(terminal_restored(&screen.raw_output()));
    let log = std::fs::read_dir(home.path().join("state/ondeck"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(log.contains("not-a-dir"), "{log}");
}

#[test]
fn print_default_config_is_a_valid_config() {
    let home = tempfile::tempdir().unwrap();
    let out = ondeck(home.path(), &["--print-default-config"], &[]);
    assert!(out.status.success());
    let path = home.path().join("default.toml");
    std::fs::write(&path, &out.stdout).unwrap();
    let out = ondeck(
        home.path(),
        &["check", "--config", path.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_broken_theme_file_stops_the_console_before_the_screen_is_touched() {
    let home = tempfile::tempdir().unwrap();
    let theme = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/themes/bad_colour.toml");
    let mut screen = Screen::start(
        home.path(),
        &["--theme", theme.to_str().unwrap()],
        80,
        24,
        &[],
    );
    assert_eq!(screen.wait_exit(), 1);
    // Both problems of the file, the second one's suggestion last.
    let text = screen.wait_for_output("Did you mean `yellow`?");
    assert!(text.contains("bad_colour.toml:2:"), "{text}");
    assert!(text.contains("#12345g"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    assert!(
        !text.contains("\x1b[?1049h"),
        "the screen was taken over: {text:?}"
    );
}

#[test]
fn user_themes_and_keymaps_are_found_by_name_in_the_config_dir() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("config/ondeck");
    std::fs::create_dir_all(dir.join("themes")).unwrap();
    std::fs::create_dir_all(dir.join("keymaps")).unwrap();
    std::fs::write(
        dir.join("themes/night.toml"),
        "title = { fg = \"#ff8800\" }\n",
    )
    .unwrap();
    std::fs::write(dir.join("themes/dusk.toml"), "title = { fg = \"orang\" }\n").unwrap();
    std::fs::write(
        dir.join("keymaps/mine.toml"),
        "extends = \"default\"\n\n[global]\nx = \"quit\"\n",
    )
    .unwrap();

    let out = ondeck(
        home.path(),
        &["check", "--theme", "night", "--keymap", "mine"],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A broken user file is named by its path in the user's directory.
    let out = ondeck(home.path(), &["check", "--theme", "dusk"], &[]);
    assert_clean_failure(&out, &["ondeck/themes/dusk.toml:1:", "orang"]);

    // The user's keymap is the one in force: its `x` quits the console.
    let mut screen = Screen::start(home.path(), &["--keymap", "mine"], 80, 24, &[]);
    screen.wait_for_text("Hosts");
    screen.type_keys("x");
    assert_eq!(screen.wait_exit(), 0);
    assert!(terminal_restored(&screen.raw_output()));
}

/// `ondeck check` on a broken fixture in `tests/fixtures/config`: exit 1, and the message names
/// the file and line, the key, and says `also`.
fn check_refuses(fixture: &str, line: usize, key: &str, also: &[&str]) {
    let home = tempfile::tempdir().unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(fixture);
    let out = ondeck(
        home.path(),
        &["check", "--config", path.to_str().unwrap()],
        &[],
    );
    let place = format!("{}:{line}:", path.display());
    let key = format!("`{key}`");
    let mut needles = vec![place.as_str(), key.as_str()];
    needles.extend(also);
    assert_clean_failure(&out, &needles);
}

#[test]
fn check_refuses_a_source_named_like_the_consoles_own_rows() {
    check_refuses(
        "reserved_name.toml",
        6,
        r#"source "store".name"#,
        &["reserved", "`ondeck`"],
    );
}

#[test]
fn check_refuses_an_interval_longer_than_a_day_or_shorter_than_a_poll() {
    check_refuses(
        "every_too_long.toml",
        9,
        r#"source "api-prod".every"#,
        &["`100000000000d`", "at most \"1d\""],
    );
    check_refuses(
        "every_too_short.toml",
        5,
        r#"source "api-prod".every"#,
        &["`100ms`", "once a second", "at least \"1s\""],
    );
}

#[test]
fn a_missing_config_file_gives_the_os_error_once_and_logs_it_without_colour() {
    let home = tempfile::tempdir().unwrap();
    let missing = home.path().join("no-such.toml");
    let out = ondeck(
        home.path(),
        &["check", "--config", missing.to_str().unwrap()],
        &[],
    );
    assert_clean_failure(&out, &["no-such.toml", "No such file or directory"]);
    let err = stderr(&out);
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");

    // Whatever the log files are called (they may be rotated), the error is in one of them,
    // as plain text.
    let mut log = String::new();
    for entry in std::fs::read_dir(home.path().join("state/ondeck")).unwrap() {
        log.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry.unwrap().path()).unwrap(),
        ));
    }
    assert!(
        log.contains("no-such.toml"),
        "the error is not logged:\n{log}"
    );
    assert!(
        !log.contains('\x1b') && !log.contains("\\x1b") && !log.contains("[31m"),
        "colour codes in the log:\n{log:?}"
    );
}

#[test]
fn the_fix_a_keymap_error_suggests_works() {
    let home = tempfile::tempdir().unwrap();
    let keymap = home.path().join("keys.toml");
    std::fs::write(&keymap, "[global]\nx = \"help\"\n").unwrap();
    let out = ondeck(
        home.path(),
        &["check", "--keymap", keymap.to_str().unwrap()],
        &[],
    );
    let suggested = "extends = \"default\"";
    assert_clean_failure(&out, &["keys.toml", "`quit`", suggested]);

    std::fs::write(&keymap, format!("{suggested}\n\n[global]\nx = \"help\"\n")).unwrap();
    let out = ondeck(
        home.path(),
        &["check", "--keymap", keymap.to_str().unwrap()],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let readme = include_str!("../README.md");
    assert!(readme.contains(suggested), "the README documents `extends`");
}
