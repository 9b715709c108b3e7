//! A key press while an action streams its output: the console under the load of
//! `support/loaded.rs` (10,000 hosts, 100,000 audit records) with one of its jobs printing a
//! thousand lines a second. At a frame every 16 ms a batch brings 16 of those lines; the key
//! press and the frame that shows it are measured with them. Target: under 5 ms at the median.
//!
//! Run: `cargo bench --bench job_stream`

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/loaded.rs"]
mod loaded;

use chrono::Utc;
use divan::Bencher;
use ondeck::actions::engine::JobEvent;
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::Theme;
use ondeck::model::JobRow;
use ondeck::msg::{Command, Msg};
use ondeck::state::{AppState, Mode, Pane};
use ondeck::store::{ActionState, STORE_SOURCE};
use ondeck::update::{finish_batch, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    divan::main();
}

const JOB: &str = "00000000-0000-4000-8000-000000000001";
/// Lines a second the job prints, and the frames a second the console draws at most.
const LINES_PER_SECOND: usize = 1_000;
const FRAMES_PER_SECOND: usize = 60;

/// The loaded console with a job of its own running, its log open or the Hosts pane in front.
fn streaming_state(log_open: bool) -> AppState {
    let mut state = loaded::loaded_state(Mode::default());
    state.size = (200, 50);
    let now = Utc::now();
    let events = [
        JobEvent::Opened(JobRow {
            source: STORE_SOURCE.to_owned(),
            id: JOB.to_owned(),
            action: "reindex".to_owned(),
            target: "db-1".to_owned(),
            operator: "oncall".to_owned(),
            state: ActionState::Requested.to_string(),
            progress: None,
            started: Some(now),
            finished: None,
            result: None,
            observed_at: now,
        }),
        JobEvent::State {
            job_id: JOB.to_owned(),
            state: ActionState::Running,
            progress: Some(0.0),
        },
    ];
    for event in events {
        update(&mut state, Msg::Job(event));
    }
    finish_batch(&mut state);
    if log_open {
        update(&mut state, Msg::Command(Command::FocusJobs));
        finish_batch(&mut state);
        let row = state
            .view(Pane::Jobs)
            .rows
            .iter()
            .position(|&i| state.data.jobs[i].id == JOB)
            .unwrap();
        state.select(Pane::Jobs, row);
        update(&mut state, Msg::Command(Command::OpenDetail));
        finish_batch(&mut state);
    }
    state
}

fn bench_key_press(bencher: Bencher, log_open: bool) {
    let mut state = streaming_state(log_open);
    let theme = Theme::load("default").unwrap();
    let keymap = Keymap::load("default").unwrap();
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    let per_frame = LINES_PER_SECOND / FRAMES_PER_SECOND;
    let mut printed = 0usize;
    let mut down = true;
    bencher.bench_local(|| {
        let lines = (printed..printed + per_frame)
            .map(|n| format!("reindexing table_{n}: 4096 rows, 12 ms"))
            .collect();
        printed += per_frame;
        // Down and up in turn; in the log view they scroll it.
        let command = if down {
            Command::MoveDown
        } else {
            Command::MoveUp
        };
        down = !down;
        update(
            &mut state,
            Msg::Job(JobEvent::Lines {
                job_id: JOB.to_owned(),
                lines,
            }),
        );
        update(&mut state, Msg::Command(command));
        finish_batch(&mut state);
        terminal
            .draw(|frame| ondeck::ui::draw(frame, &state, &theme, &keymap))
            .unwrap();
    });
}

/// The job's log on screen, scrolled by the key while lines arrive.
#[divan::bench]
fn key_press_with_the_streaming_log_open(bencher: Bencher) {
    bench_key_press(bencher, true);
}

/// The dashboard in front, the job's lines arriving behind it.
#[divan::bench]
fn key_press_on_the_dashboard_while_a_job_streams(bencher: Bencher) {
    bench_key_press(bencher, false);
}
