//! Cost of drawing one frame with a large load: 10,000 hosts, 5,000 alerts, 100,000 audit
//! records. Drawing builds only the rows that fit, so this should stay well under a millisecond.
//!
//! Run: `cargo bench --bench render`

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/loaded.rs"]
mod loaded;

use divan::Bencher;
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::Theme;
use ondeck::state::{AppState, Mode, Pane};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    divan::main();
}

fn loaded_state(width: u16, height: u16, wall: bool) -> AppState {
    let mut state = loaded::loaded_state(Mode {
        read_only: false,
        wall,
    });
    state.size = (width, height);
    // Somewhere in the middle, so the frame slices rather than starting at row 0.
    state.view_mut(Pane::Audit).selected = loaded::AUDIT / 2;
    state.view_mut(Pane::Hosts).selected = loaded::HOSTS / 2;
    state
}

fn bench_frame(bencher: Bencher, width: u16, height: u16, wall: bool) {
    let state = loaded_state(width, height, wall);
    let theme = Theme::load("default").unwrap();
    let keymap = Keymap::load("default").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    bencher.bench_local(|| {
        terminal
            .draw(|frame| ondeck::ui::draw(frame, &state, &theme, &keymap))
            .unwrap();
    });
}

/// The dashboard with every pane full.
#[divan::bench]
fn dashboard_200x50(bencher: Bencher) {
    bench_frame(bencher, 200, 50, false);
}

/// One pane with the tab bar, as over SSH on a small terminal.
#[divan::bench]
fn tabbed_80x24(bencher: Bencher) {
    bench_frame(bencher, 80, 24, false);
}

/// The wall counts every host and alert each frame; this keeps an eye on that.
#[divan::bench]
fn wall_200x50(bencher: Bencher) {
    bench_frame(bencher, 200, 50, true);
}
