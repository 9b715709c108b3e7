//! Who the store says acted is the OS account running ondeck, whatever `$USER`, `$LOGNAME` and
//! `[console] operator` claim: through the real binary, for the console's operator session and
//! for the audit records `ondeck audit` prints.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::pty::Screen;
use ondeck::identity::OperatorIdentity;
use ondeck::store::{ActionState, NewAudit, Store};
use serde_json::Value;

const CLAIMED: &str = "mallory";
const SSH_CONNECTION: &str = "203.0.113.7 52144 192.0.2.1 22";

/// The account as the system's own tools name it, independently of ondeck's code.
struct Account {
    name: String,
    uid: u32,
    host: String,
}

fn account() -> Account {
    let id = |flag: &str| {
        let out = std::process::Command::new("id").arg(flag).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let uid: u32 = id("-u").parse().unwrap();
    // Without a passwd entry `id -un` fails, and ondeck records the bare uid.
    let name = Some(id("-un"))
        .filter(|n| !n.is_empty())
        .unwrap_or(uid.to_string());
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    assert_ne!(
        name, CLAIMED,
        "run this test as an account not named {CLAIMED}"
    );
    Account { name, uid, host }
}

/// `ondeck ARGS` in `home`, claiming to be someone else.
fn ondeck(home: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("USER", CLAIMED)
        .env("LOGNAME", CLAIMED)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .output()
        .unwrap()
}

/// The ondeck consoles `snapshot --json` lists, once there are any.
fn open_consoles(home: &Path, config: &str) -> Vec<Value> {
    let start = Instant::now();
    loop {
        let out = ondeck(home, &["snapshot", "--json", "--config", config]);
        let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let consoles: Vec<Value> = json["sessions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["source"] == "ondeck")
            .cloned()
            .collect();
        if !consoles.is_empty() || start.elapsed() > Duration::from_secs(30) {
            return consoles;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_operator_is_the_os_account_whatever_the_environment_and_config_say() {
    let me = account();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ondeck.toml");
    std::fs::write(&config, format!("[console]\noperator = \"{CLAIMED}\"\n")).unwrap();
    let config = config.to_str().unwrap();

    // The console, over a claimed SSH connection, as "mallory" by every name it is given.
    let mut screen = Screen::start(
        home.path(),
        &["--config", config],
        160,
        48,
        &[
            ("USER", CLAIMED),
            ("LOGNAME", CLAIMED),
            ("SSH_CONNECTION", SSH_CONNECTION),
        ],
    );
    // The status bar names the account; the Sessions pane (tab 2) the account and host, and
    // the claimed name only as a label.
    let status = screen.wait_for_text("Sessions");
    let status_bar = status.lines().last().unwrap_or_default();
    assert!(status_bar.contains(&me.name), "{status}");
    assert!(!status_bar.contains(CLAIMED), "{status}");
    screen.type_keys("2");
    screen.wait_for_text(&format!("{}@{}", me.name, me.host));

    let consoles = open_consoles(home.path(), config);
    assert_eq!(consoles.len(), 1, "{consoles:#?}");
    let session = &consoles[0];
    assert_eq!(session["user"], format!("{}@{}", me.name, me.host));
    assert_eq!(session["client"], "203.0.113.7:52144");
    assert_eq!(session["fields"]["uid"], me.uid);
    assert_eq!(session["fields"]["os_user"], me.name.as_str());
    assert_eq!(session["fields"]["label"], CLAIMED);
    let detail = session["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!("as {CLAIMED} · on pts/")),
        "{detail}"
    );

    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);

    // An audit record appended with the console's configured name, read back by the binary.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let url = format!(
            "sqlite://{}",
            home.path().join("data/ondeck/ondeck.db").display()
        );
        let store = Store::open(&url).await.unwrap();
        let record = NewAudit {
            identity: OperatorIdentity::current(CLAIMED),
            action: "restart-api".into(),
            target: "api-prod".into(),
            outcome: ActionState::Requested,
            request_id: "req-1".into(),
            job_id: None,
            error: None,
            detail: Value::Null,
        };
        store.append_audit(record).await.unwrap();
    });
    let out = ondeck(home.path(), &["audit", "--json", "--config", config]);
    assert!(out.status.success(), "{out:?}");
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &rows[0];
    assert_eq!(row["operator"], me.name.as_str(), "{row:#}");
    assert_eq!(row["identity"]["os_user"], me.name.as_str());
    assert_eq!(row["identity"]["uid"], me.uid);
    assert_eq!(row["identity"]["host"], me.host.as_str());
    assert_eq!(row["identity"]["label"], CLAIMED);
    assert_eq!(row["identity"]["db_user"], Value::Null);
    let table = ondeck(home.path(), &["audit", "--config", config]);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(&format!("{}@{} (as {CLAIMED})", me.name, me.host)),
        "{table}"
    );
}
