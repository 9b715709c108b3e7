//! Text from a source that would act on the reader's terminal — C1 controls (U+009B is a
//! one-byte CSI), bidirectional overrides (U+202E, U+2066…U+2069), zero-width characters —
//! reaches every output of the real binary only escaped: `snapshot` as text and as JSON,
//! `audit` as a table and as JSON, and the console's screen. The source is an Alertmanager API
//! on loopback whose alert carries such characters in its name, target and summary.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;
#[path = "support/fake_http.rs"]
mod fake_http;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::pty::Screen;
use fake_http::{FakeServer, Reply};
use ondeck::identity::OperatorIdentity;
use ondeck::store::{ActionState, NewAudit, Store};

/// The alert's name, target and summary: a CSI that would clear the screen, a right-to-left
/// override, isolates, a zero-width space and a byte-order mark.
const NAME: &str = "a\u{9b}2Jb\u{202e}c";
const TARGET: &str = "h\u{2066}x\u{2069}\u{200b}";
const SUMMARY: &str = "s\u{feff}y\u{2067}z";

/// How each looks escaped.
const NAME_SHOWN: &str = r"a\u{9b}2Jb\u{202e}c";
const TARGET_SHOWN: &str = r"h\u{2066}x\u{2069}\u{200b}";
const SUMMARY_SHOWN: &str = r"s\u{feff}y\u{2067}z";

/// Characters that must never reach an output as themselves.
fn is_hostile(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | '\u{feff}')
}

fn assert_only_escaped(what: &str, output: &[u8]) {
    let text = String::from_utf8_lossy(output);
    let found: Vec<String> = text
        .chars()
        .filter(|&c| is_hostile(c))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    assert!(found.is_empty(), "{what} carries {found:?} raw:\n{text}");
}

async fn alertmanager() -> FakeServer {
    let alerts = serde_json::json!([{
        "fingerprint": "f00d",
        "startsAt": "2026-11-30T08:00:00Z",
        "labels": { "alertname": NAME, "instance": TARGET, "severity": "warning" },
        "annotations": { "summary": SUMMARY },
        "status": { "silencedBy": [], "inhibitedBy": [] },
    }])
    .to_string();
    FakeServer::start(move |request| match request.route() {
        "/api/v2/alerts" => Reply::json(200, &alerts),
        _ => Reply::json(200, "[]"),
    })
    .await
}

/// A home with a configuration naming the fake Alertmanager.
fn home_with(server: &FakeServer) -> (tempfile::TempDir, PathBuf) {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ondeck.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"am\"\nkind = \"alertmanager\"\nurl = \"{}\"\nevery = \"2s\"\n",
            server.url("")
        ),
    )
    .unwrap();
    (home, config)
}

async fn ondeck(home: &Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", "alice")
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .output()
        .await
        .expect("ondeck runs")
}

#[tokio::test]
async fn snapshot_text_and_json_carry_source_text_only_escaped() {
    let server = alertmanager().await;
    let (home, config) = home_with(&server);
    let config = config.to_str().unwrap();

    let text = ondeck(home.path(), &["snapshot", "--config", config]).await;
    let shown = String::from_utf8_lossy(&text.stdout);
    assert_eq!(text.status.code(), Some(1), "a warning fires:\n{shown}");
    assert_only_escaped("the text snapshot", &text.stdout);
    for escaped in [NAME_SHOWN, TARGET_SHOWN, SUMMARY_SHOWN] {
        assert!(shown.contains(escaped), "{escaped} not shown:\n{shown}");
    }

    let json = ondeck(home.path(), &["snapshot", "--json", "--config", config]).await;
    assert_only_escaped("the JSON snapshot", &json.stdout);
    let raw = String::from_utf8_lossy(&json.stdout);
    assert!(raw.contains(r"a\u009b2Jb\u202ec"), "{raw}");
    // Escaped for the terminal, the same strings for a JSON reader.
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let alert = &parsed["alerts"][0];
    assert_eq!(alert["name"], NAME, "{parsed:#}");
    assert_eq!(alert["target"], TARGET, "{parsed:#}");
    assert_eq!(alert["summary"], SUMMARY, "{parsed:#}");
}

#[tokio::test]
async fn the_audit_table_and_json_carry_targets_only_escaped() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("ondeck.db");
    let url = format!("sqlite://{}", db.display());
    let store = Store::open(&url).await.unwrap();
    store
        .append_audit(NewAudit {
            identity: OperatorIdentity::current("alice"),
            action: "restart".into(),
            target: TARGET.into(),
            outcome: ActionState::Requested,
            request_id: "req-1".into(),
            job_id: None,
            error: None,
            detail: serde_json::Value::Null,
        })
        .await
        .unwrap();
    drop(store);
    let config = home.path().join("ondeck.toml");
    std::fs::write(&config, format!("[store]\nurl = \"{url}\"\n")).unwrap();
    let config = config.to_str().unwrap();

    let table = ondeck(home.path(), &["audit", "--config", config]).await;
    assert!(table.status.success(), "{table:?}");
    assert_only_escaped("the audit table", &table.stdout);
    let shown = String::from_utf8_lossy(&table.stdout);
    assert!(shown.contains(TARGET_SHOWN), "{shown}");

    let json = ondeck(home.path(), &["audit", "--json", "--config", config]).await;
    assert!(json.status.success(), "{json:?}");
    assert_only_escaped("the audit JSON", &json.stdout);
    let parsed: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(parsed[0]["target"], TARGET, "{parsed:#}");
}

#[test]
fn the_console_shows_source_text_escaped_not_dropped() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(alertmanager());
    let (home, config) = home_with(&server);
    // The server answers from the runtime's worker threads while the test drives the terminal.
    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        160,
        48,
        &[],
    );
    // The NAME and TARGET columns cut the escaped values short; the detail view shows them
    // whole.
    let shown = screen.wait_for("the alert with its name and target escaped", |s| {
        s.contains(r"a\u{9b}2Jb") && s.contains(r"h\u{2066}")
    });
    assert!(!shown.contains("a2Jbc"), "dropped, not escaped:\n{shown}");

    // The detail view shows every field, the summary among them.
    screen.type_keys("4\r");
    screen.wait_for("the detail view", |s| {
        s.contains(SUMMARY_SHOWN) && s.contains(TARGET_SHOWN) && s.contains(NAME_SHOWN)
    });
    screen.type_keys("\x1b");
    // The Alerts pane's SUMMARY column shows the summary too; the popup's title is gone.
    screen.wait_for("the detail view closed", |s| !s.contains("Alerts — detail"));
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert_only_escaped("the console", &screen.raw_output());
    drop(server);
}
