//! Cost of `update` itself with a large load (see `support/loaded.rs`): a poll of a 10,000-host
//! fleet applied while 100,000 audit records are loaded, and a key press with the frame that
//! follows it. A poll rebuilds only the panes it touched, once per batch, so the audit log is
//! not re-sorted for it. Target: the poll under 2 ms at the median. Most polls change few
//! hosts; a second poll draws every host's status anew, the sort's worst case.
//!
//! Run: `cargo bench --bench update`

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/loaded.rs"]
mod loaded;

use divan::Bencher;
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::Theme;
use ondeck::model::{HostStatus, Observation};
use ondeck::msg::{Command, Msg};
use ondeck::state::{AppState, Mode};
use ondeck::update::{finish_batch, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    divan::main();
}

const FLEET: &str = "source-0";

const STATUSES: [HostStatus; 4] = [
    HostStatus::Up,
    HostStatus::Degraded,
    HostStatus::Down,
    HostStatus::Unknown,
];

/// A poll of the fleet: 10,000 hosts, every one freshly read.
fn fleet_poll() -> Msg {
    let at = loaded::at();
    Msg::SourcePolled {
        source: FLEET.to_owned(),
        at,
        latency_ms: 180,
        result: Ok(Observation {
            hosts: (0..loaded::HOSTS)
                .map(|i| loaded::host(FLEET, i, at))
                .collect(),
            ..Observation::default()
        }),
        unanswered: None,
    }
}

/// The loaded console with all its hosts from the fleet, as after the fleet's first poll.
fn fleet_state() -> AppState {
    let mut state = loaded::loaded_state(Mode::default());
    state.size = (200, 50);
    state.data.hosts.clear();
    update(&mut state, fleet_poll());
    finish_batch(&mut state);
    assert_eq!(state.data.hosts.len(), loaded::HOSTS);
    assert_eq!(state.data.audit.len(), loaded::AUDIT);
    state
}

/// One poll of 10,000 hosts, as the loop applies it: the message, then the end of its batch.
#[divan::bench]
fn poll_of_10000_hosts(bencher: Bencher) {
    let mut state = fleet_state();
    bencher.with_inputs(fleet_poll).bench_local_values(|poll| {
        update(&mut state, poll);
        finish_batch(&mut state);
    });
}

/// The same poll, but each host's status drawn anew, as if at random, so the view's last order
/// says little about the new one and the sort does all its work rather than confirming an
/// order it already has.
#[divan::bench]
fn poll_of_10000_hosts_statuses_shuffled(bencher: Bencher) {
    let mut state = fleet_state();
    let mut polls = 0;
    let shifted = move || {
        polls += 1;
        let mut poll = fleet_poll();
        if let Msg::SourcePolled {
            result: Ok(observation),
            ..
        } = &mut poll
        {
            for (i, host) in observation.hosts.iter_mut().enumerate() {
                // Knuth's multiplicative hash of the host and the poll: no pattern a sort
                // could find.
                let drawn = (i ^ (polls << 16)).wrapping_mul(2_654_435_761) >> 13;
                host.status = STATUSES[drawn % STATUSES.len()];
            }
        }
        poll
    };
    bencher.with_inputs(shifted).bench_local_values(|poll| {
        update(&mut state, poll);
        finish_batch(&mut state);
    });
}

/// A key press that moves the selection, and the frame that shows it (the dashboard, 200×50).
#[divan::bench]
fn key_press_and_frame(bencher: Bencher) {
    let mut state = fleet_state();
    let theme = Theme::load("default").unwrap();
    let keymap = Keymap::load("default").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let mut down = true;
    bencher.bench_local(|| {
        // Down and up in turn, so the selection stays near the top of the fleet.
        let command = if down {
            Command::MoveDown
        } else {
            Command::MoveUp
        };
        down = !down;
        update(&mut state, Msg::Command(command));
        finish_batch(&mut state);
        terminal
            .draw(|frame| ondeck::ui::draw(frame, &state, &theme, &keymap))
            .unwrap();
    });
}
