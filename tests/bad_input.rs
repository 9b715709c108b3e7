//! Bad input gives a one-paragraph error and a non-zero exit: never a panic, never a garbled
//! terminal.

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
fn unwritable_data_dir_is_a_clear_error_and_the_terminal_stays_usable() {
    let home = tempfile::tempdir().unwrap();
    // A directory cannot be created under a regular file, whoever runs the test.
    let blocker = home.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let data = blocker.join("data");
    let data = data.to_str().unwrap();

    let out = ondeck(home.path(), &["audit"], &[("XDG_DATA_HOME", data)]);
    assert_clean_failure(&out, &["not-a-dir"]);

    let mut screen = Screen::start(home.path(), &[], 80, 24, &[("XDG_DATA_HOME", data)]);
    assert_eq!(screen.wait_exit(), 1);
    let text = screen.wait_for_output("not-a-dir");
    assert!(!text.contains("\x1b[?1049h") || terminal_restored(&screen.raw_output()));
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
