//! The real binary in a pseudo-terminal, pointed at the real services the test script starts:
//! what an operator sees of a firing Prometheus alert, a sealed OpenBao node and PostgreSQL's
//! sessions.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use common::pty::{Screen, terminal_restored};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run scripts/test-all.sh"))
}

#[test]
#[ignore = "needs services: scripts/test-all.sh"]
fn the_console_shows_the_firing_alert_the_sealed_node_and_database_sessions() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ondeck.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[source]]
name = "prom"
kind = "prometheus"
url = "{prom}"
every = "2s"

[[source]]
name = "bao"
kind = "openbao"
url = "{bao}"
every = "2s"

[[source]]
name = "db"
kind = "postgres"
url = "{pg}"
every = "2s"
"#,
            prom = env("ONDECK_TEST_PROM_URL"),
            bao = env("ONDECK_TEST_BAO_SEALED_URL"),
            pg = env("ONDECK_TEST_PG_URL"),
        ),
    )
    .unwrap();
    // A database session of somebody else's, for the Sessions pane to show.
    let mut psql = std::process::Command::new("psql")
        .args([&env("ONDECK_TEST_PG_URL"), "-c", "select pg_sleep(60)"])
        .env("PGAPPNAME", "someone-elses-app")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("psql");

    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        160,
        48,
        &[],
    );
    let shown = screen.wait_for("the firing alert and the sealed node", |s| {
        s.contains("ServiceDown") && s.contains("sealed")
    });
    assert!(shown.contains("critical"), "{shown}");
    screen.type_keys("2z");
    // The psql session's own row: source `db`, the lab's `postgres` user over loopback TCP,
    // running its query. The words must share one line: ondeck's operator session is `active`
    // too, and `postgres` may be on screen elsewhere.
    screen.wait_for("the psql session's row", |s| {
        s.lines().any(|line| {
            let words: Vec<&str> = line
                .split(|c: char| c.is_whitespace() || "│┃▶".contains(c))
                .filter(|word| !word.is_empty())
                .collect();
            words.first() == Some(&"db")
                && ["postgres", "127.0.0.1", "active"]
                    .iter()
                    .all(|word| words.contains(word))
        })
    });
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert!(terminal_restored(&screen.raw_output()));
    let _ = psql.kill();
    let _ = psql.wait();
}

/// `ondeck --wall` against the real Prometheus and the sealed OpenBao: the firing alert by name,
/// the sealed node as a tile with its progress, and every key that would act refused.
#[test]
#[ignore = "needs services: scripts/test-all.sh"]
fn the_wall_names_the_firing_alert_shows_the_sealed_node_and_refuses_every_action() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ondeck.toml");
    let marker = home.path().join("acted");
    std::fs::write(
        &config,
        format!(
            r#"
[wall]
rotate = "3s"

[[source]]
name = "prom"
kind = "prometheus"
url = "{prom}"
every = "2s"

[[source]]
name = "bao"
kind = "openbao"
url = "{bao}"
every = "2s"

[[action]]
name = "mark"
kind = "command"
description = "Leave a marker"
argv = ["touch", "{marker}"]
confirm = "enter"
"#,
            prom = env("ONDECK_TEST_PROM_URL"),
            bao = env("ONDECK_TEST_BAO_SEALED_URL"),
            marker = marker.display(),
        ),
    )
    .unwrap();
    let mut screen = Screen::start(
        home.path(),
        &["--wall", "--config", config.to_str().unwrap()],
        160,
        48,
        &[],
    );
    let shown = screen.wait_for("the firing alert by name and the sealed node's tile", |s| {
        s.contains("FIRING") && s.contains("CRITICAL ServiceDown") && s.contains("SEALED")
    });
    assert!(shown.contains("WALL"), "{shown}");
    // The page turns by itself.
    screen.wait_for("the page to rotate to Alerts", |s| s.contains("▶Alerts"));

    screen.type_keys("a");
    screen.wait_for_text("the wall (--wall) only watches");
    screen.type_keys(":run mark\r");
    screen.wait_for_text("the wall (--wall) only watches");
    screen.type_keys(" ");
    screen.wait_for_text("PAUSED");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert!(terminal_restored(&screen.raw_output()));
    assert!(!marker.exists(), "the wall ran an action");
}
