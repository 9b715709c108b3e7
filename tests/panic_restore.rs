//! A panic while drawing gives the terminal back; a panic in a background task does not take
//! the screen away. The test runs itself again in a pseudo-terminal as the program that takes
//! the terminal over (as the console does, color-eyre's hook first) and then panics.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;

use std::io::Write;
use std::time::Duration;

use common::pty::{Screen, terminal_restored};
use ratatui::widgets::Paragraph;

/// Set in the child: which thread panics.
const CHILD: &str = "ONDECK_PANIC_TEST_CHILD";
const TEST: &str = "panics_of_the_drawing_thread_restore_the_terminal_others_leave_it";

#[test]
fn panics_of_the_drawing_thread_restore_the_terminal_others_leave_it() {
    if let Ok(which) = std::env::var(CHILD) {
        take_over_then_panic(&which);
        return;
    }
    let me = std::env::current_exe().expect("the test binary");
    let home = tempfile::tempdir().unwrap();
    let args = ["--exact", TEST, "--nocapture", "--test-threads=1"];

    let mut screen = Screen::start_program(&me, home.path(), &args, (80, 24), &[(CHILD, "ui")]);
    screen.wait_exit();
    let raw = screen.wait_for_output("the drawing thread broke");
    assert!(terminal_restored(&screen.raw_output()), "{raw:?}");
    // The report comes after the terminal is back, so it is readable.
    let left = raw.rfind("\x1b[?1049l").expect("left the alternate screen");
    let report = raw.rfind("the drawing thread broke").unwrap();
    assert!(
        left < report,
        "report printed on the alternate screen: {raw:?}"
    );

    let mut screen =
        Screen::start_program(&me, home.path(), &args, (80, 24), &[(CHILD, "background")]);
    screen.wait_for_text("still drawing after a poller broke");
    let raw = String::from_utf8_lossy(&screen.raw_output()).into_owned();
    assert!(!raw.contains("\x1b[?1049l"), "left the screen: {raw:?}");
    assert!(
        !raw.contains("a poller broke"),
        "report over the screen: {raw:?}"
    );
    screen.type_keys("q");
    assert_eq!(screen.wait_exit(), 0);
    assert!(terminal_restored(&screen.raw_output()));
}

fn take_over_then_panic(which: &str) {
    color_eyre::install().expect("color-eyre");
    let mut terminal = ondeck::terminal::take_over().expect("a terminal");
    let draw = |terminal: &mut ondeck::terminal::ConsoleTerminal, text: &str| {
        terminal
            .draw(|frame| frame.render_widget(Paragraph::new(text.to_owned()), frame.area()))
            .expect("draw");
    };
    draw(&mut terminal, "drawing");
    if which == "ui" {
        panic!("the drawing thread broke");
    }
    let _ = std::thread::spawn(|| panic!("a poller broke")).join();
    draw(&mut terminal, "still drawing after a poller broke");
    // Wait for the parent's `q`, read raw from the terminal in raw mode.
    let mut key = [0u8; 1];
    let _ = std::io::Read::read(&mut std::io::stdin(), &mut key);
    // As the console leaves: the terminal back, then the cursor shown as the terminal drops.
    ondeck::terminal::restore();
    drop(terminal);
    let _ = std::io::stdout().flush();
    std::thread::sleep(Duration::from_millis(50));
    std::process::exit(0);
}
