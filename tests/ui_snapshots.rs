//! The screen, as text: one snapshot per pane, layout, overlay and edge state.
//!
//! Review a changed snapshot by reading it (`cargo insta review`): these are how the team sees
//! the screen without running the console.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use insta::assert_snapshot;
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::{Role, Theme};
use ondeck::model::{
    AlertRow, AlertState, AuditRow, HostRow, HostStatus, JobRow, SessionRow, Severity, SourceRow,
    SourceStatus,
};
use ondeck::msg::Command;
use ondeck::state::{AppState, Mode, Overlay, Pane};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui_textarea::{CursorMove, TextArea};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 20, 14, 5, 30).unwrap()
}

fn ago(seconds: i64) -> DateTime<Utc> {
    now() - Duration::seconds(seconds)
}

/// The shipped default keymap: snapshots show the keys a user really gets.
fn keymap() -> Keymap {
    Keymap::load("default").expect("the shipped default keymap loads")
}

fn theme() -> Theme {
    Theme::load("default").expect("the shipped default theme loads")
}

fn source(name: &str, kind: &str, status: SourceStatus, every_s: u64) -> SourceRow {
    SourceRow {
        name: name.to_owned(),
        kind: kind.to_owned(),
        status,
        last_success: (status != SourceStatus::Pending).then(|| ago(4)),
        last_error: None,
        consecutive_failures: 0,
        latency_ms: (status != SourceStatus::Pending).then_some(38),
        every_s,
        truncated: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn host(
    source: &str,
    name: &str,
    kind: &str,
    status: HostStatus,
    latency_ms: Option<u64>,
    usage: Option<(f64, f64, f64)>,
    version: Option<&str>,
    age_s: i64,
) -> HostRow {
    HostRow {
        source: source.to_owned(),
        name: name.to_owned(),
        kind: kind.to_owned(),
        status,
        latency_ms,
        cpu_pct: usage.map(|u| u.0),
        mem_pct: usage.map(|u| u.1),
        disk_pct: usage.map(|u| u.2),
        load1: None,
        uptime_s: None,
        version: version.map(str::to_owned),
        observed_at: ago(age_s),
        fields: BTreeMap::new(),
    }
}

fn session(source: &str, user: &str, client: &str, state: &str, since_s: i64) -> SessionRow {
    SessionRow {
        source: source.to_owned(),
        user: user.to_owned(),
        client: client.to_owned(),
        state: state.to_owned(),
        since: Some(ago(since_s)),
        detail: String::new(),
        observed_at: ago(3),
        fields: BTreeMap::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn job(
    id: &str,
    action: &str,
    target: &str,
    operator: &str,
    state: &str,
    progress: Option<f64>,
    started_s: Option<i64>,
    finished_s: Option<i64>,
) -> JobRow {
    JobRow {
        source: "store".to_owned(),
        id: id.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        operator: operator.to_owned(),
        state: state.to_owned(),
        progress,
        started: started_s.map(ago),
        finished: finished_s.map(ago),
        observed_at: ago(2),
    }
}

#[allow(clippy::too_many_arguments)]
fn alert(
    source: &str,
    name: &str,
    severity: Severity,
    state: AlertState,
    target: &str,
    since_s: i64,
    silenced: bool,
    summary: &str,
) -> AlertRow {
    AlertRow {
        source: source.to_owned(),
        name: name.to_owned(),
        severity,
        state,
        target: target.to_owned(),
        since: Some(ago(since_s)),
        silenced,
        summary: summary.to_owned(),
        fingerprint: String::new(),
        labels: BTreeMap::new(),
        observed_at: ago(6),
    }
}

fn audit(
    seq: i64,
    age_s: i64,
    operator: &str,
    action: &str,
    target: &str,
    outcome: &str,
) -> AuditRow {
    AuditRow {
        source: "store".to_owned(),
        seq,
        time: ago(age_s),
        operator: operator.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: outcome.to_owned(),
        request_id: format!("req-7f3a{seq:04}"),
        detail: String::new(),
        identity: None,
        job_id: None,
        error: None,
    }
}

/// A night on call: an OpenBao node sealed, a DEV API down, a Proxmox VM running hot, an
/// install job waiting for approval and an Alertmanager that stopped answering.
fn fixture(width: u16, height: u16) -> AppState {
    let mut state = AppState::new(
        "alice".to_owned(),
        "sqlite:~/.local/share/ondeck/ondeck.db".to_owned(),
        Mode::default(),
        now(),
    );
    state.size = (width, height);
    state.help = ondeck::ui::help_sections(&keymap());
    let mut alertmanager = source("alertmanager", "alertmanager", SourceStatus::Failing, 15);
    alertmanager.last_success = Some(ago(1260));
    alertmanager.consecutive_failures = 7;
    alertmanager.latency_ms = None;
    alertmanager.last_error = Some(
        "GET http://127.0.0.1:9093/api/v2/alerts: error sending request: tcp connect error: \
         Connection refused (os error 111); retrying in 40s"
            .to_owned(),
    );
    state.sources = vec![
        source("local", "local", SourceStatus::Ok, 10),
        source("api-prod", "http", SourceStatus::Ok, 10),
        source("api-dev", "http", SourceStatus::Ok, 10),
        source("bao", "openbao", SourceStatus::Ok, 15),
        source("pve", "proxmox", SourceStatus::Ok, 30),
        source("prometheus", "prometheus", SourceStatus::Ok, 15),
        alertmanager,
        source("hub-db", "postgres", SourceStatus::Ok, 30),
        source("kasm", "kasm", SourceStatus::Ok, 30),
    ];
    state.alert_sources = vec!["prometheus".to_owned(), "alertmanager".to_owned()];

    let mut sealed = host(
        "bao",
        "bao-1",
        "openbao",
        HostStatus::Down,
        Some(12),
        None,
        Some("2.1.0"),
        5,
    );
    sealed.fields = BTreeMap::from([
        ("initialized".to_owned(), true.into()),
        ("sealed".to_owned(), true.into()),
        ("t".to_owned(), 3.into()),
        ("n".to_owned(), 5.into()),
        ("progress".to_owned(), 1.into()),
        ("ha_mode".to_owned(), "standby".into()),
    ]);
    state.data.hosts = vec![
        host(
            "api-prod",
            "api-prod",
            "http",
            HostStatus::Up,
            Some(42),
            None,
            Some("v1.14.2"),
            4,
        ),
        host(
            "api-dev",
            "api-dev",
            "http",
            HostStatus::Down,
            Some(3000),
            None,
            Some("v1.15.0-rc1"),
            4,
        ),
        sealed,
        host(
            "bao",
            "bao-2",
            "openbao",
            HostStatus::Up,
            Some(9),
            None,
            Some("2.1.0"),
            5,
        ),
        host(
            "pve",
            "pve-node1",
            "proxmox",
            HostStatus::Up,
            Some(3),
            Some((35.2, 61.8, 48.0)),
            Some("8.2.4"),
            12,
        ),
        host(
            "pve",
            "vm-101-kasm",
            "qemu",
            HostStatus::Degraded,
            None,
            Some((71.4, 80.3, 55.0)),
            None,
            12,
        ),
        host(
            "pve",
            "vm-102-pfsense",
            "qemu",
            HostStatus::Up,
            None,
            Some((8.0, 22.5, 31.0)),
            None,
            12,
        ),
        host(
            "pve",
            "vm-103-db",
            "qemu",
            HostStatus::Degraded,
            None,
            Some((22.0, 45.1, 83.6)),
            None,
            12,
        ),
        // Its last poll was five minutes ago: the row must say stale, not up.
        host(
            "pve",
            "vm-104-edge",
            "qemu",
            HostStatus::Up,
            None,
            Some((4.0, 12.0, 20.0)),
            None,
            300,
        ),
        host(
            "local",
            "ops-console",
            "local",
            HostStatus::Up,
            None,
            Some((12.5, 40.2, 63.9)),
            Some("Debian 12"),
            3,
        ),
    ]
    .into();
    let with_detail = |session: SessionRow, detail: &str| SessionRow {
        detail: detail.to_owned(),
        ..session
    };
    state.data.sessions = vec![
        with_detail(
            session("kasm", "alice", "192.0.2.14 chrome", "running", 2700),
            "keepalive <1m ago · on kasm-agent-1",
        ),
        with_detail(
            session("kasm", "bob", "192.0.2.31 firefox", "running", 600),
            "keepalive <1m ago · on kasm-agent-1",
        ),
        with_detail(
            session("kasm", "carol", "198.51.100.7 chrome", "idle", 14_400),
            "keepalive 3h ago · on kasm-agent-2",
        ),
        with_detail(
            session("hub-db", "proofpass", "127.0.0.1:51234", "active", 45),
            "waits Lock:transactionid · db proofpass · app certhub-api",
        ),
        with_detail(
            session("hub-db", "proofpass", "127.0.0.1:51236", "idle", 3600),
            "db proofpass · app certhub-cleanup",
        ),
        session("local", "alice", "pts/0 192.0.2.14", "ondeck", 900),
    ]
    .into();
    state.data.jobs = vec![
        job(
            "5d1c9e2a-0b7f-4e44-9a61-2f7f0c8e1d01",
            "install_cert",
            "WS-0142",
            "agent",
            "REQUESTED",
            None,
            None,
            None,
        ),
        job(
            "8a0f3b17-6c2d-4f0e-8b5a-91c3d2e4f502",
            "install_cert",
            "WS-0117",
            "bob",
            "PENDING",
            None,
            Some(240),
            None,
        ),
        job(
            "c4e2a9d0-13f8-4b6e-a7c5-5e0d9b8f7a03",
            "backup-proofpass-db",
            "proofpass",
            "alice",
            "RUNNING",
            Some(0.42),
            Some(95),
            None,
        ),
        job(
            "f0b9d8c7-2a1e-4d3c-9b8a-7e6f5d4c3b04",
            "vzdump",
            "vm-103-db",
            "pve",
            "DONE",
            Some(1.0),
            Some(30_000),
            Some(29_190),
        ),
        job(
            "0e1d2c3b-4a59-4687-b9a0-c1d2e3f4a505",
            "rollback-prod",
            "api-prod",
            "carol",
            "FAILED",
            Some(0.8),
            Some(7200),
            Some(7080),
        ),
    ]
    .into();
    let mut alerts = vec![
        alert(
            "prometheus",
            "ServiceDown",
            Severity::Critical,
            AlertState::Firing,
            "api-dev",
            540,
            false,
            "api-dev has not answered its health check for 9 minutes",
        ),
        alert(
            "prometheus",
            "HighCPUUsage",
            Severity::Warning,
            AlertState::Firing,
            "vm-101-kasm",
            1500,
            false,
            "CPU above 70% for 25 minutes",
        ),
        alert(
            "prometheus",
            "DiskSpaceLow",
            Severity::Warning,
            AlertState::Firing,
            "vm-103-db:/var",
            7300,
            true,
            "/var is 84% full",
        ),
        alert(
            "prometheus",
            "HighDatabaseConnections",
            Severity::Warning,
            AlertState::Pending,
            "hub-db",
            60,
            false,
            "92 of 100 connections in use",
        ),
        alert(
            "prometheus",
            "OpenBaoSealed",
            Severity::Critical,
            AlertState::Firing,
            "bao-1",
            300,
            false,
            "bao-1 is sealed (1 of 3 unseal keys given)",
        ),
        alert(
            "prometheus",
            "TLSCertExpiry",
            Severity::Info,
            AlertState::Firing,
            "api.example.com",
            86_400,
            false,
            "certificate expires in 12 days",
        ),
    ];
    alerts[0].labels = BTreeMap::from(
        [
            ("alertname", "ServiceDown"),
            ("instance", "api-dev"),
            ("job", "api_backend"),
            ("severity", "critical"),
            ("team", "platform"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    state.data.alerts = alerts.into();
    state.data.audit = vec![
        audit(1, 90_000, "agent", "INSTALL_REQUESTED", "WS-0117", "ok"),
        audit(2, 89_000, "bob", "INSTALL_APPROVED", "WS-0117", "ok"),
        audit(3, 64_800, "system", "CERT_REMOVED_18H", "WS-0099", "ok"),
        audit(4, 7200, "carol", "rollback-prod", "api-prod", "REQUESTED"),
        audit(5, 7080, "carol", "rollback-prod", "api-prod", "FAILED"),
        audit(6, 600, "agent", "INSTALL_REQUESTED", "WS-0142", "ok"),
        audit(
            7,
            95,
            "alice",
            "backup-proofpass-db",
            "proofpass",
            "REQUESTED",
        ),
        audit(8, 60, "alice", "unseal-bao", "bao-1", "FAILED"),
        audit(9, 30, "bob", "INSTALL_DENIED", "WS-0120", "ok"),
    ]
    .into();
    state.rebuild_all_views();
    state
}

fn render(state: &AppState) -> Terminal<TestBackend> {
    render_with(state, &theme())
}

fn render_with(state: &AppState, theme: &Theme) -> Terminal<TestBackend> {
    let (width, height) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| ondeck::ui::draw(frame, state, theme, &keymap()))
        .unwrap();
    terminal
}

fn text_input(text: &str) -> Box<TextArea<'static>> {
    let mut input = TextArea::from([text]);
    input.move_cursor(CursorMove::End);
    Box::new(input)
}

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}

#[test]
fn hosts_pane_80x24() {
    let state = fixture(80, 24);
    assert_snapshot!(render(&state).backend());
}

#[test]
fn sessions_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Sessions;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn jobs_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Jobs;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn alerts_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Alerts;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn audit_pane_80x24() {
    let mut state = fixture(80, 24);
    state.focus = Pane::Audit;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn dashboard_120x35() {
    let state = fixture(120, 35);
    assert!(state.is_dashboard());
    assert_snapshot!(render(&state).backend());
}

#[test]
fn dashboard_160x48() {
    let mut state = fixture(160, 48);
    state.focus = Pane::Alerts;
    state.mode.read_only = true;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn zoomed_pane_on_a_dashboard_sized_screen_shows_tabs() {
    let mut state = fixture(120, 35);
    state.zoomed = true;
    state.focus = Pane::Jobs;
    let text = screen_text(&render(&state));
    assert!(text.contains("▶Jobs 5"), "{text}");
    assert!(
        !text.contains(" Audit 9/9"),
        "other panes are hidden: {text}"
    );
}

#[test]
fn wall_160x48() {
    let mut state = fixture(160, 48);
    state.mode = Mode {
        read_only: true,
        wall: true,
    };
    state.focus = Pane::Alerts;
    assert_snapshot!(render(&state).backend());
}

#[test]
fn help_overlay() {
    let mut state = fixture(120, 35);
    state.overlay = Overlay::Help { scroll: 0 };
    assert_snapshot!(render(&state).backend());
}

#[test]
fn help_lists_every_binding_of_the_keymap() {
    let mut state = fixture(120, 60);
    state.overlay = Overlay::Help { scroll: 0 };
    let text = screen_text(&render(&state));
    for command in [Command::Quit, Command::ShowSources, Command::Cancel] {
        assert!(text.contains(command.description()), "{command:?}: {text}");
    }
    assert!(text.contains("q, ctrl-c"), "{text}");
}

#[test]
fn detail_overlay_of_a_sealed_openbao_node() {
    let mut state = fixture(80, 24);
    let sealed = state
        .view(Pane::Hosts)
        .rows
        .iter()
        .position(|&i| state.data.hosts[i].name == "bao-1")
        .unwrap();
    state.view_mut(Pane::Hosts).selected = sealed;
    state.overlay = Overlay::Detail { scroll: 0 };
    assert_snapshot!(render(&state).backend());
}

#[test]
fn detail_of_a_release_environment_shows_its_rollback_target() {
    let mut state = fixture(80, 24);
    let mut prod = host(
        "deploy",
        "prod",
        "release",
        HostStatus::Up,
        None,
        None,
        Some("v2.4.1"),
        20,
    );
    for (key, value) in [
        ("current_ref", "v2.4.1"),
        ("previous_ref", "v2.4.0"),
        ("environment", "prod"),
        ("deployed_by", "carol"),
    ] {
        prod.fields.insert(key.to_owned(), value.into());
    }
    state.data.hosts.push(prod);
    state.rebuild_view(Pane::Hosts);
    let row = state
        .view(Pane::Hosts)
        .rows
        .iter()
        .position(|&i| state.data.hosts[i].name == "prod")
        .unwrap();
    state.view_mut(Pane::Hosts).selected = row;
    state.overlay = Overlay::Detail { scroll: 0 };
    let terminal = render(&state);
    let text = screen_text(&terminal);
    let rollback = text.lines().find(|line| line.contains("rollback"));
    assert!(
        rollback.is_some_and(|line| line.contains("v2.4.1 → v2.4.0")),
        "{text}"
    );
    assert_snapshot!(terminal.backend());
}

#[test]
fn filter_overlay() {
    let mut state = fixture(80, 24);
    state.view_mut(Pane::Hosts).filter = "vm-".to_owned();
    state.rebuild_view(Pane::Hosts);
    state.overlay = Overlay::Filter(text_input("vm-"));
    assert_snapshot!(render(&state).backend());
}

#[test]
fn palette_overlay() {
    let mut state = fixture(80, 24);
    state.overlay = Overlay::Palette {
        input: text_input("focus"),
        selected: 2,
    };
    assert_snapshot!(render(&state).backend());
}

#[test]
fn sources_overlay_shows_the_failing_source_error_in_full() {
    let mut state = fixture(120, 35);
    let failing = state
        .sources
        .iter()
        .position(|s| s.name == "alertmanager")
        .unwrap();
    state.overlay = Overlay::Sources { selected: failing };
    let terminal = render(&state);
    let text = screen_text(&terminal);
    assert!(text.contains("retrying in 40s"), "{text}");
    assert_snapshot!(terminal.backend());
}

#[test]
fn waiting_for_first_poll() {
    let mut state = AppState::new(
        "alice".to_owned(),
        "sqlite:~/.local/share/ondeck/ondeck.db".to_owned(),
        Mode::default(),
        now(),
    );
    state.sources = vec![
        source("local", "local", SourceStatus::Pending, 10),
        source("prometheus", "prometheus", SourceStatus::Pending, 15),
    ];
    state.alert_sources = vec!["prometheus".to_owned()];
    state.rebuild_all_views();
    assert_snapshot!(render(&state).backend());
}

#[test]
fn alerts_no_data_when_every_alert_source_fails() {
    let mut state = fixture(80, 24);
    state.data.alerts.clear();
    for source in &mut state.sources {
        if source.name == "prometheus" {
            source.status = SourceStatus::Failing;
            source.last_error = Some("HTTP 503 Service Unavailable".to_owned());
        }
    }
    state.rebuild_all_views();
    state.focus = Pane::Alerts;
    let terminal = render(&state);
    let text = screen_text(&terminal);
    assert!(
        text.contains("NO DATA — every alert source is failing"),
        "{text}"
    );
    assert!(!text.contains("no alerts firing"), "{text}");
    assert_snapshot!(terminal.backend());
}

#[test]
fn alerts_empty_with_healthy_sources_says_none_firing() {
    let mut state = fixture(80, 24);
    state.data.alerts.clear();
    state.sources.retain(|s| s.name != "alertmanager");
    state.rebuild_all_views();
    state.focus = Pane::Alerts;
    let text = screen_text(&render(&state));
    assert!(text.contains("no alerts firing"), "{text}");
    assert!(!text.contains("NO DATA"), "{text}");
}

#[test]
fn a_stale_host_is_shown_stale_not_up() {
    let state = fixture(80, 24);
    let text = screen_text(&render(&state));
    let line = text
        .lines()
        .find(|l| l.contains("vm-104-edge"))
        .expect("the stale host is on screen");
    assert!(line.contains("stale"), "{line}");
    assert!(line.contains("5m"), "its age is shown: {line}");
}

#[test]
fn status_bar_shows_operator_sources_alerts_clock_and_help_key() {
    let mut state = fixture(160, 48);
    state.mode.read_only = true;
    let text = screen_text(&render(&state));
    let status = text.lines().last().unwrap();
    for expected in [
        "READ-ONLY",
        "2 critical 1 warning 1 info",
        "sources 8 ok, 1 failing, 0 stale",
        "alice",
        "14:05 UTC",
        "? help",
    ] {
        assert!(status.contains(expected), "{expected:?} in {status}");
    }
}

#[test]
fn status_bar_shows_a_store_error() {
    let mut state = fixture(160, 48);
    state.store_error = Some("database is locked".to_owned());
    let text = screen_text(&render(&state));
    let status = text.lines().last().unwrap();
    assert!(
        status.contains("store unavailable — actions refused: database is locked"),
        "{status}"
    );
}

#[test]
fn only_the_rows_around_the_selection_are_drawn() {
    let mut state = fixture(80, 24);
    state.data.audit = (0..100_000)
        .map(|seq| audit(seq, 100_000 - seq, "alice", "backup", "proofpass", "ok"))
        .collect();
    state.rebuild_view(Pane::Audit);
    state.focus = Pane::Audit;
    // Newest first; select the oldest record, the last row of the view.
    state.view_mut(Pane::Audit).selected = 99_999;
    let text = screen_text(&render(&state));
    assert!(text.contains("req-7f3a0000"), "oldest record shown: {text}");
    assert!(
        !text.contains("req-7f3a99999"),
        "newest scrolled away: {text}"
    );
}

/// Where `text` starts on screen, searching row by row.
fn find(buffer: &Buffer, text: &str) -> Option<(u16, u16)> {
    let area = buffer.area;
    let chars: Vec<String> = text.chars().map(String::from).collect();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let matches = chars.iter().enumerate().all(|(i, ch)| {
                let x = x as usize + i;
                x < area.right() as usize && buffer[(x as u16, y)].symbol() == ch
            });
            if matches {
                return Some((x, y));
            }
        }
    }
    None
}

/// Asserts that every cell of the first `text` on screen is drawn in `role`: its colours where
/// the role sets them, the screen's base colours where it does not, and its modifiers.
fn assert_drawn_in(buffer: &Buffer, theme: &Theme, name: &str, text: &str, role: Role) {
    let (x, y) = find(buffer, text).unwrap_or_else(|| panic!("{name}: {text:?} on screen"));
    let want = theme.style(role);
    let base = theme.style(Role::Base);
    for dx in 0..text.chars().count() as u16 {
        let cell = &buffer[(x + dx, y)];
        let got = cell.style();
        assert_eq!(
            got.fg,
            want.fg.or(base.fg).or(Some(Color::Reset)),
            "theme {name}: foreground of {text:?} ({role:?})"
        );
        assert_eq!(
            got.bg,
            want.bg.or(base.bg).or(Some(Color::Reset)),
            "theme {name}: background of {text:?} ({role:?})"
        );
        assert!(
            cell.modifier.contains(want.add_modifier),
            "theme {name}: modifiers of {text:?} ({role:?}): {:?}",
            cell.modifier
        );
    }
}

/// Every shipped theme draws what matters in its roles: a critical alert in the critical
/// colour, a down host in the down colour, the focused pane's border in its colour.
#[test]
fn every_theme_colours_by_role() {
    let names: Vec<&str> = Theme::builtin_names().collect();
    assert!(names.len() >= 4, "shipped themes: {names:?}");
    for name in names {
        let theme = Theme::load(name).expect("a shipped theme loads");
        let mut state = fixture(160, 48);
        state.focus = Pane::Alerts;
        // The selection's highlight would cover the rows looked at; put it on the info alert.
        let last = state.view(Pane::Alerts).rows.len() - 1;
        state.view_mut(Pane::Alerts).selected = last;
        let terminal = render_with(&state, &theme);
        let buffer = terminal.backend().buffer();
        assert_drawn_in(buffer, &theme, name, "critical", Role::AlertCritical);
        assert_drawn_in(buffer, &theme, name, "down", Role::StatusDown);
        assert_drawn_in(buffer, &theme, name, "┏", Role::BorderFocused);
        assert_drawn_in(buffer, &theme, name, "silenced", Role::Silenced);

        // The wall and a small screen draw in every theme too.
        for (width, height, wall) in [(80, 24, false), (160, 48, true)] {
            let mut state = fixture(width, height);
            state.mode.wall = wall;
            let text = screen_text(&render_with(&state, &theme));
            assert!(text.contains("api-dev"), "theme {name} at {width}x{height}");
        }
    }
}

#[test]
fn tiny_and_empty_screens_do_not_panic() {
    let overlays: [fn() -> Overlay; 6] = [
        || Overlay::None,
        || Overlay::Help { scroll: u16::MAX },
        || Overlay::Detail { scroll: u16::MAX },
        || Overlay::Filter(text_input("prod")),
        || Overlay::Palette {
            input: text_input("zzz"),
            selected: 99,
        },
        || Overlay::Sources { selected: 99 },
    ];
    let sizes = [
        (0, 0),
        (1, 1),
        (10, 3),
        (20, 5),
        (40, 10),
        (80, 1),
        (1, 80),
        (120, 35),
        (119, 34),
    ];
    for (width, height) in sizes {
        for overlay in overlays {
            for (wall, zoomed) in [(false, false), (true, false), (false, true)] {
                let mut state = fixture(width, height);
                state.mode.wall = wall;
                state.zoomed = zoomed;
                state.overlay = overlay();
                // The terminal may have been resized since the state last heard of it.
                state.size = (width.saturating_add(50), height.saturating_add(20));
                let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
                terminal
                    .draw(|frame| ondeck::ui::draw(frame, &state, &theme(), &keymap()))
                    .unwrap();
            }
        }
    }
}

#[test]
fn control_and_format_characters_from_a_source_are_shown_escaped() {
    let mut state = fixture(160, 48);
    // An escape sequence and a bell; a C1 CSI (U+009B), a right-to-left override and a
    // zero-width space.
    let (mut hosts, mut alerts) = (state.data.hosts.to_vec(), state.data.alerts.to_vec());
    hosts[0].name = "\u{1b}[2J\u{7}".to_owned();
    hosts[1].name = "\u{9b}\u{202e}\u{200b}".to_owned();
    alerts[0].summary = "\u{1b}]0;owned\u{7}".to_owned();
    (state.data.hosts, state.data.alerts) = (hosts.into(), alerts.into());
    state.rebuild_all_views();
    let terminal = render(&state);
    let screen = screen_text(&terminal);
    // Visibly escaped by ondeck, not dropped by the terminal library: an operator must see that
    // the name is not what it seems.
    for name in [r"\u{1b}[2J\u{7}", r"\u{9b}\u{202e}"] {
        assert!(
            screen.contains(name),
            "{name} is not shown escaped:\n{screen}"
        );
    }
    let cells = terminal.backend().buffer().content();
    let raw: Vec<&str> = cells
        .iter()
        .map(|cell| cell.symbol())
        .filter(|symbol| {
            symbol.chars().any(|c| {
                c.is_control() || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}')
            })
        })
        .collect();
    assert!(raw.is_empty(), "raw in cells: {raw:?}");
}

/// `s` cycles through the columns on screen only: whatever the screen, the header shows the
/// column the rows are sorted by.
#[test]
fn the_sort_arrow_is_always_on_screen() {
    for (width, height) in [(80, 24), (120, 35), (160, 48)] {
        for pane in Pane::ALL {
            let mut state = fixture(width, height);
            state.focus = pane;
            let columns = ondeck::columns::heads(pane).len();
            let mut sorted_by = Vec::new();
            for press in 0..=columns {
                let text = screen_text(&render(&state));
                let view = state.view(pane);
                let header = ondeck::columns::heads(pane)[view.sort_column].header;
                let arrow = if view.sort_desc { '▼' } else { '▲' };
                // The pane's title says `sort: X ▲`; the line under it is its header.
                let lines: Vec<&str> = text.lines().collect();
                let title = lines
                    .iter()
                    .position(|line| line.contains(&format!(" {} ", pane.title())))
                    .expect("the focused pane's title");
                assert!(
                    lines[title + 1].contains(&format!("{header}{arrow}")),
                    "{pane:?} at {width}x{height}, after {press} presses of s, \
                     sorted by {header}:\n{text}"
                );
                sorted_by.push(state.view(pane).sort_column);
                ondeck::update::update(&mut state, ondeck::msg::Msg::Command(Command::SortNext));
            }
            let distinct: std::collections::BTreeSet<_> = sorted_by.iter().collect();
            assert!(distinct.len() > 1, "{pane:?}: s changed nothing");
        }
    }
}

/// What explains a row stays on screen: an alert's summary on the 160-column dashboard and at
/// 80 columns, whole where the Alerts pane is wide; a host's version on the smallest dashboard.
#[test]
fn the_columns_that_explain_are_kept() {
    for (width, height, wall, summary) in [
        (160, 48, false, "api-dev has not an…"),
        (80, 24, false, "api-dev has not an…"),
        (
            160,
            48,
            true,
            "api-dev has not answered its health check for 9 minutes",
        ),
    ] {
        let mut state = fixture(width, height);
        state.focus = Pane::Alerts;
        state.mode.wall = wall;
        let text = screen_text(&render(&state));
        assert!(text.contains(summary), "{width}x{height}: {text}");
    }
    let text = screen_text(&render(&fixture(120, 35)));
    assert!(
        text.contains("VERSION") && text.contains("v1.15.0-rc1"),
        "{text}"
    );
}

/// The detail of an alert lists its labels; numbers read in their units.
#[test]
fn detail_of_an_alert_shows_its_labels() {
    for (width, height) in [(80, 24), (160, 48)] {
        let mut state = fixture(width, height);
        state.focus = Pane::Alerts;
        let row = state
            .view(Pane::Alerts)
            .rows
            .iter()
            .position(|&i| state.data.alerts[i].name == "ServiceDown")
            .unwrap();
        state.view_mut(Pane::Alerts).selected = row;
        state.overlay = Overlay::Detail { scroll: 0 };
        let terminal = render(&state);
        let text = screen_text(&terminal);
        assert!(
            text.contains("labels.job") && text.contains("api_backend"),
            "{text}"
        );
        assert_snapshot!(
            format!("detail_of_an_alert_{width}x{height}"),
            terminal.backend()
        );
    }
}

/// The palette is closed by the `[input]` keys (`q` types a q), and says when nothing matches.
#[test]
fn palette_without_a_match_says_so_and_names_its_closing_key() {
    let mut state = fixture(80, 24);
    state.overlay = Overlay::Palette {
        input: text_input("zzz"),
        selected: 0,
    };
    let terminal = render(&state);
    let text = screen_text(&terminal);
    assert!(text.contains("no command matches \"zzz\""), "{text}");
    assert!(text.contains("esc close"), "{text}");
    assert!(!text.contains("q close"), "{text}");
    assert_snapshot!(terminal.backend());
}
