//! The `totp` confirmation in the real console, typed as an operator types it: a wrong code is
//! refused and nothing runs, the right one runs the action, and the same code again is refused
//! as used. The code never reaches the screen, the store or the log.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;
#[path = "support/secrets.rs"]
mod secrets;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use common::pty::Screen;
use ondeck::identity::OperatorIdentity;
use secrets::{SECRET_BASE32, code, files_under, holds_as_word};

fn config(home: &Path, marker: &Path) -> PathBuf {
    let account = OperatorIdentity::current("alice").os_user;
    let path = home.join("config.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[store]
url = "sqlite://{store}"

[[source]]
name = "local"
kind = "local"
every = "5s"

[[action]]
name = "rotate"
kind = "command"
argv = ["touch", "{marker}"]
confirm = "totp"

[[operator]]
name = "{account}"
totp_secret = "env:ONDECK_TEST_TOTP"
"#,
            store = home.join("ondeck.db").display(),
            marker = marker.display(),
        ),
    )
    .unwrap();
    path
}

/// The code of this 30-second step, and one that is certainly not it.
fn codes() -> (String, String) {
    // Far enough from the step's end that the three tries below fall in it.
    let into_step = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 30;
    if into_step > 20 {
        std::thread::sleep(std::time::Duration::from_secs(31 - into_step));
    }
    let right = code(0);
    let wrong = format!(
        "{:06}",
        (right.parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    (right, wrong)
}

#[test]
fn a_code_typed_in_the_dialog_runs_once_and_is_kept_nowhere() {
    let home = tempfile::tempdir().unwrap();
    let marker = home.path().join("ran");
    let config = config(home.path(), &marker);
    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        100,
        30,
        &[("ONDECK_TEST_TOTP", SECRET_BASE32), ("RUST_LOG", "debug")],
    );
    screen.wait_for_text("store sqlite");
    let (right, wrong) = codes();

    screen.type_keys(":run rotate\r");
    screen.wait_for_text("Your TOTP code:");
    screen.type_keys(&format!("{wrong}\r"));
    screen.wait_for_text("not started: wrong TOTP code");
    assert!(!marker.exists(), "a refused action ran");

    screen.type_keys(":run rotate\r");
    screen.wait_for_text("Your TOTP code:");
    screen.type_keys(&right);
    screen.wait_for_text("Your TOTP code: ••••••");
    screen.type_keys("\r");
    screen.type_keys("3");
    screen.wait_for("the action succeeded in the Jobs pane", |s| {
        s.lines()
            .any(|line| line.contains("rotate") && line.contains("SUCCEEDED"))
    });
    assert!(marker.exists(), "the confirmed action did not run");

    screen.type_keys(":run rotate\r");
    screen.wait_for_text("Your TOTP code:");
    screen.type_keys(&format!("{right}\r"));
    screen.wait_for_text("not started: that TOTP code was used already");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);

    let raw = String::from_utf8_lossy(&screen.raw_output()).into_owned();
    assert!(!holds_as_word(&raw, &right), "the code reached the screen");
    for path in files_under(home.path()) {
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(
            !holds_as_word(&text, &right) && !holds_as_word(&text, &wrong),
            "{} holds a code",
            path.display()
        );
    }
}
