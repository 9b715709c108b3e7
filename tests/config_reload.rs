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
