//! Message in, state and effects out: one test per behaviour, no terminal, no sleeps.
//!
//! Over 700 lines on purpose: every test here drives the one `update` through the same few
//! fixtures, and one file keeps them findable beside each other.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::model::{
    AlertRow, AlertState, AuditRow, HostRow, HostStatus, JobRow, SessionRow, Severity, SourceRow,
    SourceStatus,
};
use crate::state::Mode;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 3, 0, 0).unwrap()
}

fn source(name: &str, every_s: u64) -> SourceRow {
    SourceRow {
        name: name.into(),
        kind: "http".into(),
        status: SourceStatus::Pending,
        last_success: None,
        last_error: None,
        consecutive_failures: 0,
        latency_ms: None,
        every_s,
        truncated: Vec::new(),
    }
}

fn host(source: &str, name: &str, status: HostStatus, at: DateTime<Utc>) -> HostRow {
    HostRow {
        latency_ms: Some(12),
        ..HostRow::checked(source, name, "http", status, at)
    }
}

fn alert(source: &str, name: &str, severity: Severity) -> AlertRow {
    AlertRow {
        source: source.into(),
        name: name.into(),
        severity,
        state: AlertState::Firing,
        target: "api".into(),
        since: Some(t0()),
        silenced: false,
        summary: String::new(),
        fingerprint: String::new(),
        labels: Default::default(),
        observed_at: t0(),
    }
}

fn state() -> AppState {
    let mut s = AppState::new("alice".into(), "sqlite:test".into(), Mode::default(), t0());
    s.sources = vec![source("api-prod", 10), source("api-dev", 10)];
    s.alert_sources = vec!["api-prod".into(), "api-dev".into()];
    s
}

/// One message as a batch of its own, as the loop applies a message that arrives alone: the
/// views are brought up to date after it. Tests of batches call `super::update` directly.
fn update(s: &mut AppState, msg: Msg) -> Vec<Effect> {
    let effects = super::update(s, msg);
    finish_batch(s);
    effects
}

fn polled(source: &str, at: DateTime<Utc>, result: Result<Observation, String>) -> Msg {
    Msg::SourcePolled {
        source: source.into(),
        at,
        latency_ms: 7,
        result,
        unanswered: None,
    }
}

fn hosts(source: &str, names: &[&str], at: DateTime<Utc>) -> Observation {
    Observation {
        hosts: names
            .iter()
            .map(|n| host(source, n, HostStatus::Up, at))
            .collect(),
        ..Observation::default()
    }
}

fn visible_hosts(s: &AppState) -> Vec<String> {
    s.view(Pane::Hosts)
        .rows
        .iter()
        .map(|&i| s.data.hosts[i].name.clone())
        .collect()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn type_text(s: &mut AppState, text: &str) {
    for c in text.chars() {
        update(s, Msg::Key(key(KeyCode::Char(c))));
    }
}

#[test]
fn quit_and_signals_end_the_loop() {
    let mut s = state();
    assert_eq!(
        update(&mut s, Msg::Command(Command::Quit)),
        vec![Effect::Quit]
    );
    assert!(s.quitting);
    let mut s = state();
    assert_eq!(update(&mut s, Msg::Signal("SIGHUP")), vec![Effect::Quit]);
}

#[test]
fn focus_cycles_through_the_five_panes_both_ways() {
    let mut s = state();
    let mut seen = vec![s.focus];
    for _ in 0..5 {
        update(&mut s, Msg::Command(Command::FocusNext));
        seen.push(s.focus);
    }
    assert_eq!(
        seen,
        vec![
            Pane::Hosts,
            Pane::Sessions,
            Pane::Jobs,
            Pane::Alerts,
            Pane::Audit,
            Pane::Hosts
        ]
    );
    update(&mut s, Msg::Command(Command::FocusPrev));
    assert_eq!(s.focus, Pane::Audit);
    update(&mut s, Msg::Command(Command::FocusAlerts));
    assert_eq!(s.focus, Pane::Alerts);
}

#[test]
fn a_poll_replaces_only_its_own_sources_rows() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a", "b"], t0()))),
    );
    update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["c"], t0()))),
    );
    assert_eq!(visible_hosts(&s), ["a", "b", "c"]);

    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["d"], t0()))),
    );
    assert_eq!(visible_hosts(&s), ["c", "d"]);
    let prod = s.source("api-prod").unwrap();
    assert_eq!(prod.status, SourceStatus::Ok);
    assert_eq!(prod.last_success, Some(t0()));
    assert_eq!(prod.latency_ms, Some(7));
}

#[test]
fn a_failed_poll_keeps_the_last_rows_and_records_the_error() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a"], t0()))),
    );
    let later = t0() + Duration::seconds(10);
    update(
        &mut s,
        polled("api-prod", later, Err("connection refused".into())),
    );
    assert_eq!(visible_hosts(&s), ["a"]);
    let prod = s.source("api-prod").unwrap();
    assert_eq!(prod.status, SourceStatus::Failing);
    assert_eq!(prod.last_error.as_deref(), Some("connection refused"));
    assert_eq!(prod.consecutive_failures, 1);
    assert_eq!(s.source_counts(), (0, 1, 0));
}

#[test]
fn old_data_turns_stale_on_the_clock_tick() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a"], t0()))),
    );
    s.dirty = false;
    update(&mut s, Msg::Tick(t0() + Duration::seconds(15)));
    assert_eq!(s.host_status(&s.data.hosts[0]), HostStatus::Up);
    // Twice the interval is counted in whole seconds: 20.999 s is not more than 20.
    update(&mut s, Msg::Tick(t0() + Duration::milliseconds(20_999)));
    assert_eq!(s.host_status(&s.data.hosts[0]), HostStatus::Up);
    update(&mut s, Msg::Tick(t0() + Duration::seconds(21)));
    assert_eq!(s.host_status(&s.data.hosts[0]), HostStatus::Stale);
    assert!(s.dirty, "a row turning stale must be drawn");
    assert_eq!(s.source_counts(), (0, 0, 1));
}

#[test]
fn an_idle_tick_within_the_same_minute_draws_nothing() {
    let mut s = state();
    s.dirty = false;
    update(&mut s, Msg::Tick(t0() + Duration::seconds(30)));
    assert!(!s.dirty);
    update(&mut s, Msg::Tick(t0() + Duration::seconds(60)));
    assert!(s.dirty, "the clock's minute changed");
}

#[test]
fn alerts_pane_says_no_data_when_every_alert_source_fails() {
    let mut s = state();
    update(&mut s, polled("api-prod", t0(), Err("timeout".into())));
    assert!(!s.alerts_have_no_data(), "api-dev has not failed yet");
    update(&mut s, polled("api-dev", t0(), Err("timeout".into())));
    assert!(s.alerts_have_no_data());
    update(&mut s, polled("api-dev", t0(), Ok(Observation::default())));
    assert!(!s.alerts_have_no_data());
}

#[test]
fn the_filter_narrows_rows_as_you_type_and_escape_clears_it() {
    let mut s = state();
    update(
        &mut s,
        polled(
            "api-prod",
            t0(),
            Ok(hosts("api-prod", &["db-1", "db-2", "web-1"], t0())),
        ),
    );
    update(&mut s, Msg::Command(Command::Filter));
    assert!(matches!(s.overlay, Overlay::Filter(_)));
    type_text(&mut s, "db");
    assert_eq!(visible_hosts(&s), ["db-1", "db-2"]);
    type_text(&mut s, "-2");
    assert_eq!(visible_hosts(&s), ["db-2"]);

    update(&mut s, Msg::Command(Command::Submit));
    assert!(matches!(s.overlay, Overlay::None));
    assert_eq!(s.view(Pane::Hosts).filter, "db-2");

    update(&mut s, Msg::Command(Command::Close));
    assert_eq!(s.view(Pane::Hosts).filter, "");
    assert_eq!(visible_hosts(&s).len(), 3);
}

#[test]
fn sorting_cycles_columns_and_reverses() {
    let mut s = state();
    let mut obs = hosts("api-prod", &["b", "a", "c"], t0());
    obs.hosts[0].latency_ms = Some(300);
    obs.hosts[1].latency_ms = Some(100);
    obs.hosts[2].latency_ms = Some(200);
    update(&mut s, polled("api-prod", t0(), Ok(obs)));
    // Default: by status, then name.
    assert_eq!(visible_hosts(&s), ["a", "b", "c"]);
    update(&mut s, Msg::Command(Command::SortNext));
    assert_eq!(s.view(Pane::Hosts).sort_column, 3, "LATENCY");
    assert_eq!(visible_hosts(&s), ["a", "c", "b"]);
    update(&mut s, Msg::Command(Command::SortReverse));
    assert_eq!(visible_hosts(&s), ["b", "c", "a"]);
}

#[test]
fn down_status_sorts_before_up() {
    let mut s = state();
    let mut obs = hosts("api-prod", &["a", "b"], t0());
    obs.hosts[1].status = HostStatus::Down;
    update(&mut s, polled("api-prod", t0(), Ok(obs)));
    assert_eq!(visible_hosts(&s), ["b", "a"]);
}

#[test]
fn moving_is_clamped_to_the_rows() {
    let mut s = state();
    s.size = (80, 24);
    let names: Vec<String> = (0..50).map(|i| format!("h{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &refs, t0()))),
    );
    update(&mut s, Msg::Command(Command::MoveUp));
    assert_eq!(s.view(Pane::Hosts).selected, 0);
    update(&mut s, Msg::Command(Command::PageDown));
    assert_eq!(s.view(Pane::Hosts).selected, s.page_rows());
    update(&mut s, Msg::Command(Command::Bottom));
    assert_eq!(s.view(Pane::Hosts).selected, 49);
    update(&mut s, Msg::Command(Command::MoveDown));
    assert_eq!(s.view(Pane::Hosts).selected, 49);
    update(&mut s, Msg::Command(Command::Top));
    assert_eq!(s.view(Pane::Hosts).selected, 0);
}

#[test]
fn the_selection_follows_its_row_when_data_arrives() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["b", "c"], t0()))),
    );
    update(&mut s, Msg::Command(Command::MoveDown));
    assert_eq!(visible_hosts(&s)[s.view(Pane::Hosts).selected], "c");
    update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["a"], t0()))),
    );
    assert_eq!(visible_hosts(&s)[s.view(Pane::Hosts).selected], "c");
}

fn scroll(s: &AppState) -> Option<u16> {
    match s.overlay {
        Overlay::Help { scroll } | Overlay::Detail { scroll } => Some(scroll),
        _ => None,
    }
}

/// Scrolling stops at the last line: "up" moves at once from there, and "end" reaches it.
#[test]
fn help_and_detail_stop_scrolling_at_their_end() {
    let mut s = state();
    s.help = crate::ui::help_sections(&Keymap::load("default").unwrap());
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a"], t0()))),
    );
    for (size, open) in [((80, 24), Command::Help), ((80, 12), Command::OpenDetail)] {
        s.size = size;
        update(&mut s, Msg::Command(open));
        let limit = crate::ui::overlay_scroll_limit(&s);
        assert!(limit > 0, "{open:?}: longer than the screen");
        for _ in 0..50 {
            update(&mut s, Msg::Command(Command::PageDown));
            update(&mut s, Msg::Command(Command::MoveDown));
        }
        assert_eq!(scroll(&s), Some(limit), "{open:?}");
        s.dirty = false;
        update(&mut s, Msg::Command(Command::MoveDown));
        assert!(
            !s.dirty,
            "{open:?}: nothing moves past the end, nothing is drawn"
        );
        update(&mut s, Msg::Command(Command::MoveUp));
        assert_eq!(scroll(&s), Some(limit - 1), "{open:?}: up moves at once");
        update(&mut s, Msg::Command(Command::Top));
        assert_eq!(scroll(&s), Some(0));
        update(&mut s, Msg::Command(Command::Bottom));
        assert_eq!(
            scroll(&s),
            Some(limit),
            "{open:?}: end reaches the last line"
        );
        update(&mut s, Msg::Command(Command::Close));
    }
}

fn selected_host(s: &AppState) -> Option<String> {
    let row = s.view(Pane::Hosts).selected_row()?;
    Some(s.data.hosts[row].name.clone())
}

#[test]
fn the_selection_stays_on_its_host_when_another_sources_poll_reorders_the_rows() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["b", "c"], t0()))),
    );
    update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["a"], t0()))),
    );
    update(&mut s, Msg::Command(Command::MoveDown));
    update(&mut s, Msg::Command(Command::MoveUp));
    assert_eq!(selected_host(&s).as_deref(), Some("a"));
    let a = s.selected_identity().expect("a row is selected");

    // prod's rows are replaced: they move to the end of the rows, after dev's `a`.
    let later = t0() + Duration::seconds(10);
    update(
        &mut s,
        polled("api-prod", later, Ok(hosts("api-prod", &["b", "c"], later))),
    );
    assert_eq!(visible_hosts(&s), ["a", "b", "c"]);
    assert_eq!(selected_host(&s).as_deref(), Some("a"));
    assert_eq!(s.selected_identity(), Some(a));
}

#[test]
fn the_selection_names_the_source_so_two_hosts_of_one_name_stay_apart() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["db"], t0()))),
    );
    update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["db"], t0()))),
    );
    update(&mut s, Msg::Command(Command::Bottom));
    let selected = s.selected_identity().expect("a row is selected");
    let later = t0() + Duration::seconds(10);
    for source in ["api-prod", "api-dev", "api-prod"] {
        update(
            &mut s,
            polled(source, later, Ok(hosts(source, &["db"], later))),
        );
        assert_eq!(s.selected_identity().as_ref(), Some(&selected));
    }
    assert_eq!(selected.source, "api-dev");
}

#[test]
fn the_selection_starts_at_the_top_and_rows_arriving_later_do_not_move_it() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["m", "n"], t0()))),
    );
    assert_eq!(selected_host(&s).as_deref(), Some("m"));
    // A down host reported later sorts first: the selection stays on the top row, so the
    // first screen shows it rather than scrolling along with the first row that arrived.
    let mut dev = hosts("api-dev", &["z"], t0());
    dev.hosts[0].status = HostStatus::Down;
    update(&mut s, polled("api-dev", t0(), Ok(dev)));
    assert_eq!(visible_hosts(&s), ["z", "m", "n"]);
    assert_eq!(s.view(Pane::Hosts).selected, 0);
    assert_eq!(selected_host(&s).as_deref(), Some("z"));
}

#[test]
fn a_row_that_sorts_above_the_selected_one_keeps_the_selection_on_its_row() {
    let mut s = state();
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["b", "c"], t0()))),
    );
    update(&mut s, Msg::Command(Command::MoveDown));
    assert_eq!(selected_host(&s).as_deref(), Some("c"));
    update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["a"], t0()))),
    );
    assert_eq!(visible_hosts(&s), ["a", "b", "c"]);
    assert_eq!(selected_host(&s).as_deref(), Some("c"));
    // `top` goes back to following the top row.
    update(&mut s, Msg::Command(Command::Top));
    let mut dev = hosts("api-dev", &["a"], t0());
    dev.hosts[0].status = HostStatus::Down;
    update(&mut s, polled("api-dev", t0(), Ok(dev)));
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["0", "b"], t0()))),
    );
    assert_eq!(selected_host(&s).as_deref(), Some("a"));
}

#[test]
fn when_the_selected_row_goes_away_the_selection_keeps_its_place_and_follows_the_next() {
    let mut s = state();
    update(
        &mut s,
        polled(
            "api-prod",
            t0(),
            Ok(hosts("api-prod", &["a", "b", "c", "d"], t0())),
        ),
    );
    update(&mut s, Msg::Command(Command::MoveDown));
    assert_eq!(selected_host(&s).as_deref(), Some("b"));
    update(
        &mut s,
        polled(
            "api-prod",
            t0(),
            Ok(hosts("api-prod", &["a", "c", "d"], t0())),
        ),
    );
    assert_eq!(selected_host(&s).as_deref(), Some("c"));
    update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["b"], t0()))),
    );
    assert_eq!(selected_host(&s).as_deref(), Some("c"), "follows c now");
    update(&mut s, polled("api-prod", t0(), Ok(Observation::default())));
    update(&mut s, polled("api-dev", t0(), Ok(Observation::default())));
    assert_eq!(s.selected_identity(), None, "no rows, nothing selected");
}

#[test]
fn sorting_and_filtering_keep_the_selection_on_its_row_while_it_is_shown() {
    let mut s = state();
    let mut obs = hosts("api-prod", &["db-1", "db-2", "web-1"], t0());
    obs.hosts[0].latency_ms = Some(300);
    update(&mut s, polled("api-prod", t0(), Ok(obs)));
    update(&mut s, Msg::Command(Command::MoveDown));
    assert_eq!(selected_host(&s).as_deref(), Some("db-2"));
    update(&mut s, Msg::Command(Command::SortReverse));
    assert_eq!(visible_hosts(&s), ["web-1", "db-2", "db-1"]);
    assert_eq!(selected_host(&s).as_deref(), Some("db-2"));

    update(&mut s, Msg::Command(Command::Filter));
    type_text(&mut s, "db");
    assert_eq!(selected_host(&s).as_deref(), Some("db-2"));
    type_text(&mut s, "-1");
    assert_eq!(visible_hosts(&s), ["db-1"]);
    assert_eq!(selected_host(&s).as_deref(), Some("db-1"));
    update(&mut s, Msg::Command(Command::Cancel));
    assert_eq!(
        s.view(Pane::Hosts).selected,
        0,
        "the top of the unfiltered rows"
    );
}

#[test]
fn a_batch_rebuilds_only_the_panes_its_messages_touched() {
    let mut s = state();
    let audit: Vec<AuditRow> = (0..3)
        .map(|seq| AuditRow {
            source: crate::store::STORE_SOURCE.into(),
            seq,
            time: t0(),
            operator: "alice".into(),
            action: "backup".into(),
            target: "db".into(),
            outcome: "SUCCEEDED".into(),
            request_id: format!("r{seq}"),
            detail: String::new(),
            identity: None,
            job_id: None,
            error: None,
        })
        .collect();
    update(
        &mut s,
        Msg::StoreLoaded(Box::new(StoreRows {
            audit,
            ..StoreRows::default()
        })),
    );
    assert_eq!(s.view(Pane::Audit).rows.len(), 3);

    super::update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a", "b"], t0()))),
    );
    let mut dev = hosts("api-dev", &["c"], t0());
    dev.alerts = vec![alert("api-dev", "ServiceDown", Severity::Critical)];
    super::update(&mut s, polled("api-dev", t0(), Ok(dev)));
    assert_eq!(
        s.outdated_panes().collect::<Vec<_>>(),
        [Pane::Hosts, Pane::Alerts]
    );
    assert!(s.view(Pane::Hosts).rows.is_empty(), "not rebuilt yet");
    finish_batch(&mut s);
    assert_eq!(s.outdated_panes().count(), 0);
    assert_eq!(visible_hosts(&s), ["a", "b", "c"]);
    assert_eq!(s.view(Pane::Alerts).rows.len(), 1);

    // A failed poll changes no rows, and one with no rows where it had none changes no pane.
    super::update(&mut s, polled("api-prod", t0(), Err("timeout".into())));
    super::update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a", "b"], t0()))),
    );
    assert_eq!(s.outdated_panes().collect::<Vec<_>>(), [Pane::Hosts]);
}

#[test]
fn a_key_in_the_middle_of_a_batch_acts_on_the_rows_the_batch_brought() {
    let mut s = state();
    super::update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a", "b"], t0()))),
    );
    super::update(&mut s, Msg::Command(Command::MoveDown));
    assert_eq!(selected_host(&s).as_deref(), Some("b"));
    super::update(
        &mut s,
        polled("api-dev", t0(), Ok(hosts("api-dev", &["0"], t0()))),
    );
    finish_batch(&mut s);
    assert_eq!(visible_hosts(&s), ["0", "a", "b"]);
    assert_eq!(selected_host(&s).as_deref(), Some("b"));
}

#[test]
fn detail_opens_only_on_a_row_and_scrolls() {
    let mut s = state();
    // Short enough that a host's fields do not fit.
    s.size = (80, 12);
    update(&mut s, Msg::Command(Command::OpenDetail));
    assert!(matches!(s.overlay, Overlay::None));
    update(
        &mut s,
        polled("api-prod", t0(), Ok(hosts("api-prod", &["a"], t0()))),
    );
    update(&mut s, Msg::Command(Command::OpenDetail));
    update(&mut s, Msg::Command(Command::MoveDown));
    assert!(matches!(s.overlay, Overlay::Detail { scroll: 1 }));
    update(&mut s, Msg::Command(Command::Close));
    assert!(matches!(s.overlay, Overlay::None));
}

#[test]
fn the_palette_runs_the_chosen_command() {
    let mut s = state();
    update(&mut s, Msg::Command(Command::Palette));
    type_text(&mut s, "focus al");
    update(&mut s, Msg::Command(Command::Submit));
    assert!(matches!(s.overlay, Overlay::None));
    assert_eq!(s.focus, Pane::Alerts);

    // The down arrow moves the highlight through the keymap's [input] move_down.
    let keymap = Keymap::load("default").expect("default keymap");
    update(&mut s, Msg::Command(Command::Palette));
    type_text(&mut s, "focus");
    let down = translate_key(&s, &keymap, key(KeyCode::Down)).expect("down is bound");
    assert!(matches!(down, Msg::Command(Command::MoveDown)), "{down:?}");
    update(&mut s, down);
    update(&mut s, Msg::Command(Command::Submit));
    assert_eq!(s.focus, Pane::Alerts.prev(), "second match is focus_prev");
}

#[test]
fn help_sources_and_zoom_open_and_close() {
    let mut s = state();
    update(&mut s, Msg::Command(Command::Help));
    assert!(matches!(s.overlay, Overlay::Help { .. }));
    update(&mut s, Msg::Command(Command::Help));
    assert!(matches!(s.overlay, Overlay::None));

    update(&mut s, Msg::Command(Command::ShowSources));
    update(&mut s, Msg::Command(Command::MoveDown));
    update(&mut s, Msg::Command(Command::MoveDown));
    assert!(matches!(s.overlay, Overlay::Sources { selected: 1 }));
    update(&mut s, Msg::Command(Command::Cancel));
    assert!(matches!(s.overlay, Overlay::None));

    s.size = (160, 48);
    assert!(s.is_dashboard());
    update(&mut s, Msg::Command(Command::Zoom));
    assert!(!s.is_dashboard());
    update(&mut s, Msg::Command(Command::Close));
    assert!(s.is_dashboard());
}

#[test]
fn resize_switches_between_dashboard_and_tabs() {
    let mut s = state();
    update(
        &mut s,
        Msg::Resize {
            width: 120,
            height: 35,
        },
    );
    assert!(s.is_dashboard());
    update(
        &mut s,
        Msg::Resize {
            width: 80,
            height: 24,
        },
    );
    assert!(!s.is_dashboard());
    s.mode.wall = true;
    update(
        &mut s,
        Msg::Resize {
            width: 200,
            height: 60,
        },
    );
    assert!(!s.is_dashboard(), "the wall has its own layout");
}

#[test]
fn store_rows_arrive_and_store_errors_show() {
    let mut s = state();
    let job = JobRow {
        source: crate::store::STORE_SOURCE.into(),
        id: "j1".into(),
        action: "backup".into(),
        target: "db".into(),
        operator: "alice".into(),
        state: "RUNNING".into(),
        progress: Some(0.5),
        started: Some(t0()),
        finished: None,
        result: None,
        observed_at: t0(),
    };
    let audit = AuditRow {
        source: crate::store::STORE_SOURCE.into(),
        seq: 1,
        time: t0(),
        operator: "alice".into(),
        action: "backup".into(),
        target: "db".into(),
        outcome: "REQUESTED".into(),
        request_id: "r1".into(),
        detail: String::new(),
        identity: None,
        job_id: None,
        error: None,
    };
    let me = SessionRow {
        source: crate::store::OPERATOR_SESSIONS_SOURCE.into(),
        user: "alice".into(),
        client: "local".into(),
        state: "active".into(),
        since: Some(t0()),
        detail: String::new(),
        observed_at: t0(),
        fields: Default::default(),
    };
    update(&mut s, Msg::StoreFailed("database is locked".into()));
    assert_eq!(s.store_error.as_deref(), Some("database is locked"));
    update(
        &mut s,
        Msg::StoreLoaded(Box::new(StoreRows {
            jobs: vec![job],
            audit: vec![audit],
            sessions: vec![me],
            alerts: Vec::new(),
            approvals: Vec::new(),
        })),
    );
    assert_eq!(s.store_error, None);
    assert_eq!(s.view(Pane::Jobs).rows.len(), 1);
    assert_eq!(s.view(Pane::Audit).rows.len(), 1);
    assert_eq!(s.view(Pane::Sessions).rows.len(), 1);
}

#[test]
fn alerts_sort_most_severe_first() {
    let mut s = state();
    let obs = Observation {
        alerts: vec![
            alert("api-prod", "DiskSpaceLow", Severity::Warning),
            alert("api-prod", "Info", Severity::Info),
            alert("api-prod", "ServiceDown", Severity::Critical),
        ],
        ..Observation::default()
    };
    update(&mut s, polled("api-prod", t0(), Ok(obs)));
    let names: Vec<&str> = s
        .view(Pane::Alerts)
        .rows
        .iter()
        .map(|&i| s.data.alerts[i].name.as_str())
        .collect();
    assert_eq!(names, ["ServiceDown", "DiskSpaceLow", "Info"]);
}

#[test]
fn an_alert_prometheus_and_alertmanager_both_report_is_one_row_and_its_silence_counts() {
    let mut s = state();
    s.sources = vec![source("prometheus", 15), source("alertmanager", 15)];
    s.sources[1].kind = "alertmanager".into();
    let with_fingerprint = |source: &str, silenced: bool| AlertRow {
        fingerprint: "60c2a5111a4c195a".into(),
        silenced,
        ..alert(source, "ServiceDown", Severity::Critical)
    };
    let raised = |alert: AlertRow| Observation {
        alerts: vec![alert],
        ..Observation::default()
    };
    update(
        &mut s,
        polled(
            "prometheus",
            t0(),
            Ok(raised(with_fingerprint("prometheus", false))),
        ),
    );
    assert_eq!(s.view(Pane::Alerts).rows.len(), 1, "Prometheus alone");
    assert_eq!(crate::state::firing_counts(s.shown_alerts()).len(), 1);

    // Alertmanager has it silenced: one row, Alertmanager's, and nothing firing.
    update(
        &mut s,
        polled(
            "alertmanager",
            t0(),
            Ok(raised(with_fingerprint("alertmanager", true))),
        ),
    );
    let rows: Vec<&AlertRow> = s
        .view(Pane::Alerts)
        .rows
        .iter()
        .map(|&i| &s.data.alerts[i])
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].source, "alertmanager");
    assert!(rows[0].silenced);
    assert_eq!(s.row_count(Pane::Alerts), 1);
    assert!(crate::state::firing_counts(s.shown_alerts()).is_empty());
}

#[test]
fn keys_go_through_the_keymap_and_text_goes_to_inputs() {
    let keymap = Keymap::load("default").expect("default keymap");
    let mut s = state();
    let q = key(KeyCode::Char('q'));
    assert!(matches!(
        translate_key(&s, &keymap, q),
        Some(Msg::Command(Command::Quit))
    ));
    update(&mut s, Msg::Command(Command::Filter));
    assert!(matches!(translate_key(&s, &keymap, q), Some(Msg::Key(_))));
    assert!(matches!(
        translate_key(&s, &keymap, key(KeyCode::Esc)),
        Some(Msg::Command(Command::Cancel))
    ));
    update(&mut s, Msg::Command(Command::Cancel));
    // An unbound key outside a text field is dropped: it must not cost a frame.
    assert!(translate_key(&s, &keymap, key(KeyCode::F(12))).is_none());
}

mod actions;
mod audit_pages;
mod backup_pick;
mod reload;
