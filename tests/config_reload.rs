//! `kill -USR1` reloads the configuration of a running console: a source added appears, a source
//! removed goes, and a configuration that does not load leaves the running one as it was.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;
#[path = "support/fake_http.rs"]
mod fake_http;

use common::pty::Screen;
use fake_http::{FakeServer, Reply};

fn config(server: &FakeServer, sources: &[&str]) -> String {
    sources
        .iter()
        .map(|name| {
            format!(
                "[[source]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{}\"\nevery = \"1s\"\n\n",
                server.url(&format!("/{name}/health"))
            )
        })
        .collect()
}

/// A host row of `name`: the name as a word on a line that says `up`.
fn host_up(screen: &str, name: &str) -> bool {
    screen.lines().any(|line| {
        let words: Vec<&str> = line
            .split(|c: char| c.is_whitespace() || "│┃▶".contains(c))
            .filter(|w| !w.is_empty())
            .collect();
        words.contains(&name) && words.contains(&"up")
    })
}

fn sigusr1(screen: &Screen) {
    let pid = screen.pid().expect("the console runs");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGUSR1).unwrap();
}

#[test]
fn sigusr1_starts_new_sources_stops_removed_ones_and_refuses_a_broken_file() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(FakeServer::start(|_| {
        Reply::json(200, r#"{"status":"ok"}"#)
    }));
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("ondeck.toml");
    std::fs::write(&path, config(&server, &["alpha", "beta"])).unwrap();
    let mut screen = Screen::start(
        home.path(),
        &["--config", path.to_str().unwrap()],
        120,
        30,
        &[],
    );
    screen.wait_for("alpha and beta up", |s| {
        host_up(s, "alpha") && host_up(s, "beta")
    });

    std::fs::write(&path, config(&server, &["alpha", "gamma"])).unwrap();
    sigusr1(&screen);
    let shown = screen.wait_for("gamma up and beta gone", |s| {
        host_up(s, "gamma") && !s.contains("beta")
    });
    assert!(host_up(&shown, "alpha"), "{shown}");
    assert!(
        shown.contains("1 source(s) started, 1 stopped, 1 unchanged"),
        "{shown}"
    );
    // beta's poller is gone, not merely hidden: no request reaches its path any more.
    let beta_polls = || {
        server
            .requests()
            .iter()
            .filter(|r| r.route().starts_with("/beta"))
            .count()
    };
    let before = beta_polls();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert_eq!(beta_polls(), before, "beta is still polled");

    std::fs::write(&path, "[[source]]\nname = \"broken\"\n").unwrap();
    sigusr1(&screen);
    let shown = screen.wait_for_text("configuration not reloaded, the running one stays");
    assert!(
        host_up(&shown, "alpha") && host_up(&shown, "gamma"),
        "{shown}"
    );

    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    drop(server);
}

/// A `pg_backup` action named `name`, backing up a database that is never reached: its row
/// reads the action's directory and the job ledger, not the database.
fn backup_action(dir: &std::path::Path, name: &str) -> String {
    format!(
        "[[action]]\nname = \"{name}\"\nkind = \"pg_backup\"\n\
         database = \"postgres://ondeck@127.0.0.1:9/app\"\ndir = \"{}\"\n\n",
        dir.join(name).display()
    )
}

#[test]
fn a_reload_shows_the_backup_actions_it_adds_and_drops_those_it_removes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(FakeServer::start(|_| {
        Reply::json(200, r#"{"status":"ok"}"#)
    }));
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("ondeck.toml");
    let store = format!(
        "[store]\nurl = \"sqlite://{}\"\n\n",
        home.path().join("ondeck.db").display()
    );
    let sources = config(&server, &["alpha"]);
    let first = backup_action(home.path(), "backup-first");
    std::fs::write(&path, format!("{store}{sources}{first}")).unwrap();
    let mut screen = Screen::start(
        home.path(),
        &["--config", path.to_str().unwrap()],
        120,
        30,
        &[],
    );
    screen.wait_for("alpha up and the first backup action's row", |s| {
        host_up(s, "alpha") && s.contains("backup-first")
    });

    let second = backup_action(home.path(), "backup-second");
    std::fs::write(&path, format!("{store}{sources}{second}")).unwrap();
    sigusr1(&screen);
    let shown = screen.wait_for(
        "the second backup action's row, the first one's gone",
        |s| s.contains("backup-second") && !s.contains("backup-first"),
    );
    assert!(host_up(&shown, "alpha"), "{shown}");

    std::fs::write(&path, format!("{store}{sources}")).unwrap();
    sigusr1(&screen);
    screen.wait_for("no backup action's row", |s| {
        s.contains("configuration reloaded") && !s.contains("backup-second")
    });

    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    drop(server);
}
