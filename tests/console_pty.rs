//! The real binary in a pseudo-terminal, on its embedded default, driven by keystrokes.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use common::pty::{Screen, terminal_restored};

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The local host's row: its name as a word, with measured percentages.
fn host_row_shown(screen: &str, host: &str) -> bool {
    screen.lines().any(|line| {
        line.contains('%')
            && line
                .split_whitespace()
                .any(|word| word.trim_matches(['▶', '┃', '│']) == host)
    })
}

#[test]
fn small_terminal_shows_one_pane_with_tabs_and_real_local_data() {
    let home = tempfile::tempdir().unwrap();
    let mut screen = Screen::start(home.path(), &[], 80, 24, &[]);
    let host = hostname();
    // The local host row, with measured CPU and memory, arrives from the first poll.
    let first = screen.wait_for("the local host row with data", |s| {
        host_row_shown(s, &host) && s.contains("Sessions")
    });
    for tab in ["Hosts", "Sessions", "Jobs", "Alerts", "Audit"] {
        assert!(first.contains(tab), "tab {tab} missing:\n{first}");
    }
    let account = common::os_account();
    assert!(
        first.contains(&account),
        "operator missing from status bar:\n{first}"
    );

    // Tab moves to the Sessions pane, where this console's own operator session is listed.
    screen.type_keys("\t");
    screen.wait_for("the Sessions pane with this console", |s| {
        s.contains("USER") && s.contains("CLIENT") && s.contains(&format!("{account}@{host}"))
    });

    // Back to Hosts, then filter on a name that matches nothing, then on the host itself.
    screen.type_keys("1/zz-no-such-host");
    screen.wait_for("the filter applied", |s| {
        s.contains("zz-no-such-host") && !host_row_shown(s, &host)
    });
    screen.type_keys("\x1b");
    screen.wait_for("the filter cleared", |s| host_row_shown(s, &host));

    // Help is generated from the keymap.
    screen.type_keys("?");
    screen.wait_for_text("Quit ondeck");
    screen.type_keys("\x1b");
    screen.wait_for("help closed", |s| !s.contains("Quit ondeck"));

    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert!(
        terminal_restored(&screen.raw_output()),
        "terminal not restored"
    );
}

#[test]
fn large_terminal_shows_the_dashboard_of_five_panes() {
    let home = tempfile::tempdir().unwrap();
    let mut screen = Screen::start(home.path(), &[], 160, 48, &[]);
    let host = hostname();
    let shown = screen.wait_for("the dashboard with local data", |s| {
        host_row_shown(s, &host) && s.contains("Audit") && s.contains("Alerts")
    });
    for header in ["LATENCY", "CLIENT"] {
        assert!(shown.contains(header), "column {header} missing:\n{shown}");
    }
    for title in ["Hosts 1/1", "Sessions", "Jobs 0/0", "Alerts", "Audit 0/0"] {
        assert!(shown.contains(title), "pane {title} missing:\n{shown}");
    }
    // Nothing has run on a fresh store, and the panes say so rather than looking broken.
    screen.wait_for_text("no jobs");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert!(terminal_restored(&screen.raw_output()));
}

#[test]
fn sigterm_sighup_and_sigint_restore_the_terminal() {
    for signal in ["-TERM", "-HUP", "-INT"] {
        let home = tempfile::tempdir().unwrap();
        let mut screen = Screen::start(home.path(), &[], 80, 24, &[]);
        screen.wait_for_text("Hosts");
        // The check below can fail: while the console runs, the terminal is in raw mode.
        assert!(
            !screen.in_line_mode(),
            "the console did not take the terminal"
        );
        let pid = screen.pid().expect("pid").to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success());
        assert_eq!(screen.wait_exit(), 0, "a clean leave after {signal}");
        assert!(
            terminal_restored(&screen.raw_output()),
            "terminal not restored after {signal}"
        );
        assert!(screen.in_line_mode(), "raw mode left on after {signal}");
    }
}

/// The operator sessions the store in `home` lists as open.
fn open_sessions(home: &std::path::Path) -> Vec<ondeck::model::SessionRow> {
    let url = format!("sqlite://{}", home.join("data/ondeck/ondeck.db").display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = ondeck::store::Store::open(&url).await.expect("the store");
        store.operator_sessions().await.expect("sessions")
    })
}

#[test]
fn a_closed_terminal_closes_the_operator_session() {
    let home = tempfile::tempdir().unwrap();
    let mut screen = Screen::start(home.path(), &[], 80, 24, &[]);
    screen.type_keys("\t");
    screen.wait_for("this console in the Sessions pane", |s| {
        s.contains("CLIENT") && s.contains(&common::os_account())
    });
    assert_eq!(
        open_sessions(home.path()).len(),
        1,
        "the session is recorded"
    );

    // As a closed terminal window or a dropped SSH connection: the pty goes away.
    screen.hang_up();
    // A clean leave: before, the restore's failure report on the dead terminal panicked, and
    // the panic's own report aborted the process before the session was closed.
    assert_eq!(screen.wait_exit(), 0, "not a clean leave after the hang-up");
    let open = open_sessions(home.path());
    assert!(
        open.is_empty(),
        "a ghost operator after the hang-up: {open:?}"
    );
}

#[test]
fn a_hung_source_neither_delays_nor_hides_the_rest() {
    let home = tempfile::tempdir().unwrap();
    // Bound and never accepted from: connections wait in the backlog, requests never answered.
    let hung = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hung.local_addr().unwrap().port();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[source]]\nname = \"local\"\nkind = \"local\"\n\n\
             [[source]]\nname = \"api-hung\"\nkind = \"http\"\n\
             url = \"http://127.0.0.1:{port}/healthz\"\ntimeout = \"8s\"\n"
        ),
    )
    .unwrap();
    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        120,
        35,
        &[],
    );
    let host = hostname();
    // The local data is on screen while the hung source is still waiting for its answer.
    let first = screen.wait_for("the local host", |s| host_row_shown(s, &host));
    assert!(first.contains("sources 1 ok, 0 failing"), "{first}");
    // Then the hung source times out, and the Sources view says so for the selected one.
    screen.wait_for_text("1 failing");
    screen.type_keys("o");
    screen.wait_for_text("api-hung");
    screen.type_keys("j");
    let sources = screen.wait_for("the Sources view with the error", |s| {
        s.contains("api-hung") && s.contains("timed out")
    });
    assert!(sources.contains("failing"), "{sources}");
    assert!(host_row_shown(&sources, &host), "{sources}");
    screen.type_keys("q");
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert!(terminal_restored(&screen.raw_output()));
    drop(hung);
}
