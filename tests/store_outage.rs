//! A store that is down never blinds the console: the sources are on screen at once, the status
//! bar says actions are refused, and the store's rows and this console's operator session come
//! when the store does. `snapshot` still reports the sources, and does not call it all clear.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::pty::{Screen, terminal_restored};

/// A loopback listener that never accepts: connections wait in its backlog, the way a
/// PostgreSQL server that hangs (or a host that drops packets) leaves a client waiting.
fn silent_server() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// A configuration with the local machine as its one source and the store at `store_url`.
fn config(home: &Path, store_url: &str) -> PathBuf {
    let path = home.join("ondeck.toml");
    std::fs::write(
        &path,
        format!(
            "[store]\nurl = \"{store_url}\"\n\n\
             [[source]]\nname = \"local\"\nkind = \"local\"\n"
        ),
    )
    .unwrap();
    path
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The local host's row with its measured percentages: the source was polled and shown.
fn local_host_shown(screen: &str) -> bool {
    let host = hostname();
    screen
        .lines()
        .any(|line| line.contains('%') && line.contains(host.as_str()))
}

fn status_bar(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default()
}

#[test]
fn a_store_that_does_not_answer_leaves_every_source_on_screen() {
    let (_silent, port) = silent_server();
    let home = tempfile::tempdir().unwrap();
    let config = config(
        home.path(),
        &format!("postgres://ondeck@127.0.0.1:{port}/ondeck"),
    );
    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        160,
        40,
        &[],
    );
    // The source is polled and shown while the store has not answered yet.
    let first = screen.wait_for("the local host before the store", local_host_shown);
    assert!(
        status_bar(&first).contains("store connecting")
            || status_bar(&first).contains("store unavailable"),
        "{first}"
    );
    let down = screen.wait_for("the store said to be unavailable", |s| {
        status_bar(s).contains("store unavailable — actions refused")
    });
    assert!(local_host_shown(&down), "{down}");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0, "{}", screen.contents());
    assert!(terminal_restored(&screen.raw_output()));
}

/// Forwards every connection the listener accepts to `upstream`, from now on.
fn start_proxy(listener: TcpListener, upstream: String) {
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let pipe = |mut from: TcpStream, mut to: TcpStream| {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            };
            pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
            pipe(server, client);
        }
    });
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_console_picks_the_store_up_when_it_comes_back() {
    use sqlx::Executor;

    let admin_url = std::env::var("ONDECK_TEST_PG_URL").expect("ONDECK_TEST_PG_URL");
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap();
    let database = format!("ondeck_outage_{}", uuid::Uuid::new_v4().simple());
    admin
        .execute(format!("CREATE DATABASE {database}").as_str())
        .await
        .unwrap();
    let upstream = url::Url::parse(&admin_url).unwrap();
    let upstream_addr = format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap_or(5432)
    );

    // The store's address is a proxy that does not answer until the test says so.
    let (silent, port) = silent_server();
    let mut store_url = upstream.clone();
    store_url.set_port(Some(port)).unwrap();
    store_url.set_path(&database);
    let home = tempfile::tempdir().unwrap();
    let config = config(home.path(), store_url.as_str());
    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        160,
        40,
        &[],
    );
    screen.wait_for("the local host and the store unavailable", |s| {
        local_host_shown(s) && status_bar(s).contains("store unavailable")
    });

    // The store comes back: its rows and this console's operator session arrive.
    start_proxy(silent, upstream_addr);
    screen.type_keys("\t");
    let account = common::os_account();
    let back = screen.wait_for("the store back, with this console's session", |s| {
        !status_bar(s).contains("store unavailable")
            && !status_bar(s).contains("connecting")
            && s.contains("CLIENT")
            && s.contains(&account)
    });
    assert!(status_bar(&back).contains("store postgres://"), "{back}");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);

    // The session was recorded, and closed when the console left.
    let store = sqlx::PgPool::connect(store_url.as_str()).await.unwrap();
    let (recorded, open): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE ended_at IS NULL) \
         FROM ondeck.operator_sessions WHERE operator = $1",
    )
    .bind(&account)
    .fetch_one(&store)
    .await
    .unwrap();
    assert_eq!((recorded, open), (1, 0));
    store.close().await;
    admin
        .execute(format!("DROP DATABASE {database} WITH (FORCE)").as_str())
        .await
        .unwrap();
}

/// `ondeck snapshot --json` with the store at `store_url` and the given sources.
fn snapshot(home: &Path, store_url: &str, sources: &str) -> Output {
    let config = home.join("snapshot.toml");
    std::fs::write(
        &config,
        format!("[store]\nurl = \"{store_url}\"\n\n{sources}"),
    )
    .unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["snapshot", "--json", "--config", config.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_STATE_HOME", home.join("state"))
        .output()
        .expect("ondeck runs")
}

#[test]
fn a_snapshot_without_its_store_is_not_all_clear() {
    // A port nothing listens on: the store refuses at once.
    let port = silent_server().1;
    let home = tempfile::tempdir().unwrap();
    let down = format!("postgres://ondeck@127.0.0.1:{port}/ondeck");

    // Nothing else to report: only the missing store makes this exit non-zero.
    let output = snapshot(home.path(), &down, "");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the store is not readable")
            && stderr
                .contains("jobs, audit, operator sessions and the alerts on jobs are left out"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["jobs"], serde_json::json!([]));

    // The same report with a store that answers is all clear: the code above is the store's.
    let sqlite = format!("sqlite://{}", home.path().join("ok.db").display());
    let output = snapshot(home.path(), &sqlite, "");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // The sources are still reported.
    let local = "[[source]]\nname = \"local\"\nkind = \"local\"\n";
    let output = snapshot(home.path(), &down, local);
    assert_ne!(output.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let hosts = json["hosts"].as_array().unwrap();
    assert!(hosts.iter().any(|h| h["source"] == "local"), "{json:#}");
}
