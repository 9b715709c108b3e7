//! Driving `update` as the loop does, and drawing what results, for the tests of the action
//! dialogs: one message a batch, commands and typed text, the screen at the state's size.

#![allow(dead_code, reason = "each test file uses part of it")]

use chrono::{DateTime, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::Theme;
use ondeck::msg::{Command, Effect, Msg};
use ondeck::state::AppState;
use ondeck::update::{finish_batch, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// The fixed time the dialog tests' rows are observed at.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 20, 14, 5, 30).unwrap()
}

pub fn keymap() -> Keymap {
    Keymap::load("default").unwrap()
}

/// One message as a batch of its own, as the loop applies a message that arrives alone.
pub fn send(state: &mut AppState, msg: Msg) -> Vec<Effect> {
    let effects = update(state, msg);
    finish_batch(state);
    effects
}

pub fn press(state: &mut AppState, command: Command) -> Vec<Effect> {
    send(state, Msg::Command(command))
}

pub fn key(state: &mut AppState, code: KeyCode) {
    send(state, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

pub fn type_text(state: &mut AppState, text: &str) {
    for c in text.chars() {
        key(state, KeyCode::Char(c));
    }
}

/// The screen at the state's size, drawn with the default theme and keymap.
pub fn screen(state: &AppState) -> String {
    let (width, height) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let theme = Theme::load("default").unwrap();
    terminal
        .draw(|frame| ondeck::ui::draw(frame, state, &theme, &keymap()))
        .unwrap();
    terminal.backend().to_string()
}
