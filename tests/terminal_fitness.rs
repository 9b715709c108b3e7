//! Fit for the 3 a.m. SSH session: the real binary at 80×24 inside tmux and GNU screen, on a
//! 16-colour terminal, with `NO_COLOR`, never capturing the mouse, and answering keys while a
//! thousand slow sources keep its pollers busy.
//!
//! tmux and screen are installed by `scripts/test-all.sh`; where one is missing its test says so
//! and passes, since plain `cargo test` must pass on any machine.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;
#[path = "support/fake_http.rs"]
mod fake_http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::pty::{Screen, terminal_restored};
use fake_http::{FakeServer, Reply};

/// How long tmux may take to show what a test waits for: bounds a hung test, measures nothing.
const PATIENCE: Duration = Duration::from_secs(45);

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

/// The local host's row of the embedded default, with its measured percentages.
fn local_host_shown(screen: &str) -> bool {
    let host = hostname();
    screen.lines().any(|line| {
        line.contains('%')
            && line
                .split_whitespace()
                .any(|word| word.trim_matches(['▶', '┃', '│']) == host)
    })
}

/// The parameters of every SGR sequence (`ESC [ … m`) in `raw`.
fn sgr_parameters(raw: &[u8]) -> Vec<Vec<u16>> {
    let text = String::from_utf8_lossy(raw);
    text.split("\x1b[")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
            (rest.as_bytes()[end] == b'm').then(|| {
                rest[..end]
                    .split([';', ':'])
                    .map(|n| n.parse().unwrap_or(0))
                    .collect()
            })
        })
        .collect()
}

/// A 256-colour or 24-bit colour: SGR 38 (foreground), 48 (background) or 58 (underline).
fn extended_colour(parameters: &[u16]) -> bool {
    parameters.iter().any(|p| matches!(p, 38 | 48 | 58))
}

/// Any colour at all, the basic ones (30–37, 40–47, 90–97, 100–107) included.
fn any_colour(parameters: &[u16]) -> bool {
    extended_colour(parameters)
        || parameters
            .iter()
            .any(|p| matches!(p, 30..=37 | 40..=47 | 90..=97 | 100..=107))
}

/// The sequences that turn on mouse reporting, in any of its modes.
fn captures_the_mouse(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw);
    ["1000", "1001", "1002", "1003", "1005", "1006", "1015"]
        .iter()
        .any(|mode| text.contains(&format!("\x1b[?{mode}h")))
}

fn assert_sgr(raw: &[u8], what: &str, forbidden: impl Fn(&[u16]) -> bool) {
    let parameters = sgr_parameters(raw);
    let bad: Vec<_> = parameters.iter().filter(|p| forbidden(p)).collect();
    assert!(bad.is_empty(), "{what}: {bad:?}");
}

/// Runs the embedded default on a `TERM=screen` terminal, through a Tab, help and quit.
fn run_through_the_console(args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let home = tempfile::tempdir().unwrap();
    let mut screen = Screen::start(home.path(), args, 80, 24, env);
    screen.wait_for("the local host row", local_host_shown);
    screen.type_keys("\t");
    screen.wait_for("the Sessions pane", |s| s.contains("CLIENT"));
    screen.type_keys("?");
    screen.wait_for_text("Quit ondeck");
    // Escape and q apart: together they read as Alt+q.
    screen.type_keys("\x1b");
    screen.wait_for("help closed", |s| !s.contains("Quit ondeck"));
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    let raw = screen.raw_output();
    assert!(terminal_restored(&raw), "terminal not restored");
    assert!(!captures_the_mouse(&raw), "the mouse was captured");
    raw
}

#[test]
fn a_16_colour_terminal_gets_only_the_16_colours() {
    // The default theme names basic colours; solarized-dark 24-bit ones, which a 16-colour
    // terminal cannot show and must get as their nearest basic colour.
    for theme in ["default", "solarized-dark"] {
        let raw = run_through_the_console(&["--theme", theme], &[("TERM", "screen")]);
        assert_sgr(
            &raw,
            &format!("{theme}: 256-colour or 24-bit"),
            extended_colour,
        );
        assert!(
            sgr_parameters(&raw).iter().any(|p| any_colour(p)),
            "{theme}: no colour at all on a colour terminal"
        );
    }
}

#[test]
fn no_color_gets_no_colour_even_on_a_truecolour_terminal() {
    let env = [
        ("NO_COLOR", "1"),
        ("TERM", "xterm-256color"),
        ("COLORTERM", "truecolor"),
    ];
    let raw = run_through_the_console(&["--theme", "solarized-dark"], &env);
    assert_sgr(&raw, "a colour", any_colour);
    // Reverse video still marks the selected row.
    assert!(sgr_parameters(&raw).iter().any(|p| p.contains(&7)));

    // The wall's high-contrast theme too.
    let home = tempfile::tempdir().unwrap();
    let mut wall = Screen::start(home.path(), &["--wall"], 80, 24, &env);
    wall.wait_for_text("WALL");
    wall.type_keys("q");
    assert_eq!(wall.wait_exit(), 0);
    let raw = wall.raw_output();
    assert_sgr(&raw, "a colour on the wall", any_colour);
    assert!(!captures_the_mouse(&raw), "the wall captured the mouse");
}

/// A program found on `PATH`, or why the test cannot run.
fn installed(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file());
    if found.is_none() {
        println!("skipped: {program} is not installed (scripts/test-all.sh installs it)");
    }
    found
}

/// A tmux server of the test's own, on a socket in its own directory; killed when dropped.
struct Tmux {
    socket: PathBuf,
}

impl Tmux {
    fn command(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The pane as text, or with its colours and attributes as escape sequences.
    fn capture(&self, escapes: bool) -> String {
        self.command(if escapes {
            &["capture-pane", "-p", "-e"]
        } else {
            &["capture-pane", "-p"]
        })
    }

    fn wait_for(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let pane = self.capture(false);
            if ready(&pane) {
                return pane;
            }
            assert!(
                start.elapsed() < PATIENCE,
                "tmux never showed {what}; it shows:\n{pane}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
    }
}

/// `env` arguments that give ondeck `home` as every user directory.
fn home_env(home: &Path) -> Vec<String> {
    vec![
        format!("HOME={}", home.display()),
        format!("XDG_CONFIG_HOME={}", home.join("config").display()),
        format!("XDG_DATA_HOME={}", home.join("data").display()),
        format!("XDG_STATE_HOME={}", home.join("state").display()),
        "USER=alice".to_owned(),
    ]
}

#[test]
fn in_tmux_at_80x24() {
    if installed("tmux").is_none() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let tmux = Tmux {
        socket: home.path().join("tmux.sock"),
    };
    let mut start = vec![
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-x",
        "80",
        "-y",
        "24",
        "--",
        "/usr/bin/env",
    ];
    let env = home_env(home.path());
    start.extend(env.iter().map(String::as_str));
    // ondeck's exit status, written by the shell that ran it: tmux can leave a pane's process
    // unreaped for a long while under load, so its own `pane_dead_status` may never come.
    let status_file = home.path().join("exit-status");
    let run = format!("\"$0\"; echo $? > '{}'", status_file.display());
    start.extend(["sh", "-c", run.as_str(), env!("CARGO_BIN_EXE_ondeck")]);
    tmux.command(&start);
    assert_eq!(
        tmux.command(&["display-message", "-p", "#{pane_width}x#{pane_height}"])
            .trim(),
        "80x24"
    );

    let first = tmux.wait_for("the local host row", local_host_shown);
    for tab in ["Hosts", "Sessions", "Jobs", "Alerts", "Audit"] {
        assert!(first.contains(tab), "tab {tab} missing:\n{first}");
    }
    assert_eq!(first.lines().count(), 24, "{first}");
    // tmux's own TERM, `screen`, is a 16-colour terminal: what ondeck sent is kept as sent.
    let coloured = tmux.capture(true);
    assert_sgr(
        coloured.as_bytes(),
        "256-colour or 24-bit inside tmux",
        extended_colour,
    );
    assert!(
        sgr_parameters(coloured.as_bytes())
            .iter()
            .any(|p| any_colour(p))
    );

    tmux.command(&["send-keys", "Tab"]);
    tmux.wait_for("the Sessions pane", |s| s.contains("CLIENT"));
    tmux.command(&["send-keys", "?"]);
    tmux.wait_for("help", |s| s.contains("Quit ondeck"));
    tmux.command(&["send-keys", "Escape"]);
    tmux.wait_for("help closed", |s| !s.contains("Quit ondeck"));
    tmux.command(&["send-keys", "q"]);
    let start = Instant::now();
    loop {
        let status = std::fs::read_to_string(&status_file).unwrap_or_default();
        if status.ends_with('\n') {
            assert_eq!(status.trim(), "0", "ondeck's exit status");
            break;
        }
        assert!(start.elapsed() < PATIENCE, "ondeck did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ends the test's screen session however the test ends: the child in the pty is only screen's
/// front end, and the session with ondeck in it would outlive a failed test.
struct ScreenSession {
    sockets: PathBuf,
}

impl ScreenSession {
    const NAME: &str = "ondeck-fitness";
}

impl Drop for ScreenSession {
    fn drop(&mut self) {
        let _ = Command::new("screen")
            .env("SCREENDIR", &self.sockets)
            .args(["-S", ScreenSession::NAME, "-X", "quit"])
            .output();
    }
}

#[test]
fn in_gnu_screen_at_80x24() {
    let Some(gnu_screen) = installed("screen") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    // screen keeps its sockets in a directory only its owner may enter.
    let sockets = home.path().join("screens");
    std::fs::create_dir(&sockets).unwrap();
    std::fs::set_permissions(
        &sockets,
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let _session = ScreenSession {
        sockets: sockets.clone(),
    };
    // UTF-8 both ways (-U): the environment names no locale.
    let args = [
        "-S",
        ScreenSession::NAME,
        "-U",
        "-c",
        "/dev/null",
        "-T",
        "screen",
        env!("CARGO_BIN_EXE_ondeck"),
    ];
    let mut screen = Screen::start_program(
        &gnu_screen,
        home.path(),
        &args,
        (80, 24),
        &[("SCREENDIR", sockets.to_str().unwrap())],
    );
    let first = screen.wait_for("the local host row", local_host_shown);
    for tab in ["Hosts", "Sessions", "Jobs", "Alerts", "Audit"] {
        assert!(first.contains(tab), "tab {tab} missing:\n{first}");
    }
    screen.type_keys("\t");
    screen.wait_for("the Sessions pane", |s| s.contains("CLIENT"));
    screen.type_keys("?");
    screen.wait_for_text("Quit ondeck");
    screen.type_keys("\x1b");
    screen.wait_for("help closed", |s| !s.contains("Quit ondeck"));
    // ondeck leaving closes screen's only window, and so screen.
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
}

/// How many frames after `from` in `raw` went out before the screen showed `shown`, counting
/// the one that showed it; `None` if none did. A frame ends with the end of its synchronized
/// update.
fn frames_until(
    raw: &[u8],
    from: usize,
    size: (u16, u16),
    shown: impl Fn(&str) -> bool,
) -> Option<usize> {
    const FRAME_END: &[u8] = b"\x1b[?2026l";
    let mut parser = vt100::Parser::new(size.1, size.0, 0);
    parser.process(&raw[..from]);
    let mut rest = &raw[from..];
    let mut frames = 0;
    while let Some(end) = rest.windows(FRAME_END.len()).position(|w| w == FRAME_END) {
        parser.process(&rest[..end + FRAME_END.len()]);
        rest = &rest[end + FRAME_END.len()..];
        frames += 1;
        if shown(&parser.screen().contents()) {
            return Some(frames);
        }
    }
    None
}

/// What a screen must show.
type ScreenTest = dyn Fn(&str) -> bool;

/// The frame a key press is answered in, counted from when it was typed: the loop reads keys
/// between frames, so one frame may still go out first, and one may already have been on its
/// way to the reader when the key was typed.
const FRAMES_TO_ANSWER: usize = 3;

#[test]
fn keys_are_answered_while_a_thousand_slow_sources_poll() {
    const SOURCES: usize = 1_000;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // Each source's answers take their own time, 0.2 to 2.2 s, and each asks again a second
    // after: at any moment most of the thousand polls are in flight, and answers arrive all the
    // time rather than in rounds.
    let server = runtime.block_on(FakeServer::start(|request| {
        let source: u64 = request
            .route()
            .trim_start_matches("/h/")
            .parse()
            .unwrap_or(0);
        let delay = Duration::from_millis(200 + source * 2);
        Reply::json(200, r#"{"status":"ok"}"#).after(delay)
    }));
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ondeck.toml");
    let sources: String = (0..SOURCES)
        .map(|i| {
            format!(
                "[[source]]\nname = \"h{i:04}\"\nkind = \"http\"\nurl = \"{}\"\nevery = \"1s\"\n\
                 timeout = \"3s\"\n\n",
                server.url(&format!("/h/{i}"))
            )
        })
        .collect();
    std::fs::write(&config, sources).unwrap();
    let size = (80, 24);
    let mut screen = Screen::start(
        home.path(),
        &["--config", config.to_str().unwrap()],
        size.0,
        size.1,
        &[],
    );
    screen.wait_for("every host answered", |s| s.contains("Hosts 1000"));

    let requests_before = server.requests().len();
    let help_shown = |s: &str| s.contains("Quit ondeck");
    let help_closed = |s: &str| !s.contains("Quit ondeck") && s.contains("STATUS");
    let sessions_shown = |s: &str| s.contains("CLIENT");
    let keys: [(&str, &str, &ScreenTest); 3] = [
        ("?", "help", &help_shown),
        ("\x1b", "help closed", &help_closed),
        ("\t", "the Sessions pane", &sessions_shown),
    ];
    for (key, what, answered) in keys {
        let from = screen.raw_output().len();
        screen.type_keys(key);
        // Frame by frame, once the one that answers has been read whole.
        let frames = || frames_until(&screen.raw_output(), from, size, answered);
        screen.wait_for(what, |_| frames().is_some());
        let frames = frames().unwrap();
        assert!(
            frames <= FRAMES_TO_ANSWER,
            "{what} showed only in frame {frames} after the key"
        );
    }
    // The pollers were busy throughout: requests kept arriving while the keys were answered.
    assert!(server.requests().len() > requests_before);
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    runtime.block_on(server.stop());
}
