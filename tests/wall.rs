//! The NOC wall (`ondeck --wall`) as a room sees it: snapshots from 80×24 to 320×90 with firing
//! alerts, a sealed node, a new critical alert and stale data, and how it rotates, highlights
//! and rings as messages arrive.
//!
//! Review a changed snapshot by reading it (`cargo insta review`).

#[path = "support/screen_fixture.rs"]
mod screen_fixture;

use chrono::Duration;
use insta::assert_snapshot;
use ondeck::config::WallConfig;
use ondeck::model::{AlertRow, AlertState, HostRow, Observation, Severity, SourceStatus};
use ondeck::msg::{Command, Effect, Msg};
use ondeck::state::{AppState, Mode, Pane, WallState};
use ondeck::update::{finish_batch, update};
use ratatui::style::Modifier;
use screen_fixture::*;

fn wall(width: u16, height: u16) -> AppState {
    let mut state = fixture(width, height);
    state.mode = Mode {
        read_only: true,
        wall: true,
    };
    state.focus = Pane::Hosts;
    state.wall = WallState::new(WallConfig::default(), now());
    // The wall has heard Prometheus once: what fires in the fixture is not news.
    let first = state
        .sources
        .iter_mut()
        .find(|s| s.name == "prometheus")
        .expect("the fixture has a prometheus source");
    first.last_success = None;
    let alerts = prometheus_alerts(&state);
    poll_prometheus(&mut state, alerts);
    state
}

fn prometheus_alerts(state: &AppState) -> Vec<AlertRow> {
    state
        .data
        .alerts
        .iter()
        .filter(|a| a.source == "prometheus")
        .cloned()
        .collect()
}

/// Prometheus answers again: what it reported before, and `PostgresDown` on `hub-db`, new.
fn new_critical(state: &mut AppState) -> Vec<Effect> {
    let mut alerts = prometheus_alerts(state);
    alerts.push(alert(
        "prometheus",
        "PostgresDown",
        Severity::Critical,
        AlertState::Firing,
        "hub-db",
        30,
        false,
        "hub-db does not accept connections",
    ));
    poll_prometheus(state, alerts)
}

fn poll_prometheus(state: &mut AppState, alerts: Vec<AlertRow>) -> Vec<Effect> {
    let hosts: Vec<HostRow> = state
        .data
        .hosts
        .iter()
        .filter(|h| h.source == "prometheus")
        .cloned()
        .collect();
    let effects = update(
        state,
        Msg::SourcePolled {
            source: "prometheus".to_owned(),
            at: now(),
            latency_ms: 5,
            result: Ok(Observation {
                hosts,
                alerts,
                ..Observation::default()
            }),
            unanswered: None,
        },
    );
    finish_batch(state);
    effects
}

/// Every source failing: the wall must say its data is old, across the screen.
fn all_failing(state: &mut AppState) {
    for source in &mut state.sources {
        source.status = SourceStatus::Failing;
    }
}

#[test]
fn wall_80x24_with_a_new_critical() {
    let mut state = wall(80, 24);
    new_critical(&mut state);
    assert_snapshot!(render(&state).backend());
}

#[test]
fn wall_160x48_with_a_new_critical() {
    let mut state = wall(160, 48);
    new_critical(&mut state);
    assert_snapshot!(render(&state).backend());
}

#[test]
fn wall_320x90_with_a_new_critical() {
    let mut state = wall(320, 90);
    new_critical(&mut state);
    let text = screen_text(&render(&state));
    assert!(
        text.contains("█"),
        "a room this size reads names in large letters: {text}"
    );
    assert_snapshot!(render(&state).backend());
}

#[test]
fn wall_80x24_stale() {
    let mut state = wall(80, 24);
    all_failing(&mut state);
    let text = screen_text(&render(&state));
    assert!(text.contains("DATA STALE"), "{text}");
    assert_snapshot!(render(&state).backend());
}

#[test]
fn wall_160x48_stale() {
    let mut state = wall(160, 48);
    all_failing(&mut state);
    let text = screen_text(&render(&state));
    assert!(text.contains("every source is failing or stale"), "{text}");
    assert_snapshot!(render(&state).backend());
}

#[test]
fn one_answering_source_is_not_stale_data() {
    let mut state = wall(160, 48);
    all_failing(&mut state);
    state.sources[0].status = SourceStatus::Ok;
    let text = screen_text(&render(&state));
    assert!(!text.contains("DATA STALE"), "{text}");
}

#[test]
fn the_new_critical_stays_highlighted_for_the_configured_time_then_reads_as_the_others() {
    let mut state = wall(160, 48);
    new_critical(&mut state);
    let is_highlighted = |state: &AppState| {
        let terminal = render(state);
        let buffer = terminal.backend().buffer();
        let text = screen_text(&terminal);
        let row = text
            .lines()
            .position(|line| line.contains("NEW PostgresDown"));
        row.map(|y| {
            let x = (0..buffer.area.width)
                .find(|&x| buffer[(x, y as u16)].symbol() == "P")
                .expect("the name is on its line");
            buffer[(x, y as u16)]
                .style()
                .add_modifier
                .contains(Modifier::REVERSED)
        })
    };
    assert_eq!(is_highlighted(&state), Some(true));

    // Just before the highlight ends nothing changes; at its end the wall redraws once. The
    // sources go on answering meanwhile.
    let highlight = Duration::from_std(WallConfig::default().highlight).unwrap();
    let answered = |state: &mut AppState, at| {
        for source in &mut state.sources {
            source.last_success = Some(at);
        }
    };
    answered(&mut state, now() + highlight - Duration::seconds(2));
    update(
        &mut state,
        Msg::Tick(now() + highlight - Duration::seconds(1)),
    );
    state.dirty = false;
    update(&mut state, Msg::Tick(now() + highlight));
    assert!(state.dirty, "the end of a highlight is drawn");
    assert_eq!(is_highlighted(&state), None, "no longer marked NEW");
    let text = screen_text(&render(&state));
    assert!(text.contains("CRITICAL PostgresDown"), "{text}");
}

#[test]
fn the_bell_rings_once_per_new_critical_and_only_when_configured() {
    let mut quiet = wall(160, 48);
    assert!(!new_critical(&mut quiet).contains(&Effect::Bell));

    let mut ringing = wall(160, 48);
    ringing.wall = WallState::new(
        WallConfig {
            bell: true,
            ..WallConfig::default()
        },
        now(),
    );
    assert!(new_critical(&mut ringing).contains(&Effect::Bell));
    assert!(
        !new_critical(&mut ringing).contains(&Effect::Bell),
        "the same alert again is no news"
    );

    // The alerts a source reports in its first answer were firing before anyone looked.
    ringing.sources.iter_mut().for_each(|s| {
        if s.name == "prometheus" {
            s.last_success = None;
        }
    });
    let mut fresh = ringing.data.alerts.iter().cloned().collect::<Vec<_>>();
    fresh.push(alert(
        "prometheus",
        "NodeDown",
        Severity::Critical,
        AlertState::Firing,
        "pve-node2",
        10,
        false,
        "",
    ));
    assert!(!poll_prometheus(&mut ringing, fresh).contains(&Effect::Bell));
}

#[test]
fn the_page_rotates_by_itself_and_space_holds_it() {
    let mut state = wall(160, 48);
    let rotate = Duration::from_std(WallConfig::default().rotate).unwrap();
    update(&mut state, Msg::Tick(now() + rotate));
    assert_eq!(state.focus, Pane::Alerts);
    update(&mut state, Msg::Tick(now() + rotate * 2));
    assert_eq!(state.focus, Pane::Jobs);

    update(&mut state, Msg::Command(Command::PauseRotation));
    assert_eq!(state.notice.as_deref(), Some("rotation paused"));
    let text = screen_text(&render(&state));
    assert!(text.contains("PAUSED · space resumes"), "{text}");
    update(&mut state, Msg::Tick(now() + rotate * 10));
    assert_eq!(state.focus, Pane::Jobs, "paused");

    update(&mut state, Msg::Command(Command::PauseRotation));
    update(&mut state, Msg::Tick(now() + rotate * 11));
    assert_eq!(state.focus, Pane::Hosts);
}

#[test]
fn the_clock_shows_seconds_only_when_configured() {
    let mut state = wall(160, 48);
    assert!(screen_text(&render(&state)).contains("14:05 UTC"));
    state.wall.config.seconds = true;
    assert!(screen_text(&render(&state)).contains("14:05:30 UTC"));
    state.dirty = false;
    update(&mut state, Msg::Tick(now() + Duration::seconds(1)));
    assert!(state.dirty, "each second is drawn");
}

#[test]
fn every_size_from_80x24_to_320x90_shows_what_fires_by_name() {
    for (width, height) in [
        (80, 24),
        (100, 30),
        (120, 35),
        (160, 48),
        (200, 60),
        (240, 70),
    ] {
        let mut state = wall(width, height);
        new_critical(&mut state);
        let text = screen_text(&render(&state));
        for name in ["ServiceDown", "OpenBaoSealed", "PostgresDown"] {
            assert!(text.contains(name), "{width}x{height} lacks {name}: {text}");
        }
        assert!(text.contains("SEALED 1/3"), "{width}x{height}: {text}");
    }
}
