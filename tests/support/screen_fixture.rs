//! The console's screen as the snapshot tests draw it: a fixed moment, the shipped keymap and
//! theme, and a state with every kind of row, source and alert in it.

#![allow(dead_code)] // Each test file uses its own subset.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ondeck::config::keymap::Keymap;
use ondeck::config::theme::Theme;
use ondeck::model::{
    AlertRow, AlertState, AuditRow, HostRow, HostStatus, JobRow, SessionRow, Severity, SourceRow,
    SourceStatus,
};
use ondeck::state::{AppState, Mode};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 20, 14, 5, 30).unwrap()
}

pub fn ago(seconds: i64) -> DateTime<Utc> {
    now() - Duration::seconds(seconds)
}

/// The shipped default keymap: snapshots show the keys a user really gets.
pub fn keymap() -> Keymap {
    Keymap::load("default").expect("the shipped default keymap loads")
}

pub fn theme() -> Theme {
    Theme::load("default").expect("the shipped default theme loads")
}

pub fn source(name: &str, kind: &str, status: SourceStatus, every_s: u64) -> SourceRow {
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
pub fn host(
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

pub fn session(source: &str, user: &str, client: &str, state: &str, since_s: i64) -> SessionRow {
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
pub fn job(
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
        result: None,
        observed_at: ago(2),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn alert(
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

pub fn audit(
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
pub fn fixture(width: u16, height: u16) -> AppState {
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
        JobRow {
            result: Some("health check failed: HTTP 503 from the release endpoint".to_owned()),
            ..job(
                "0e1d2c3b-4a59-4687-b9a0-c1d2e3f4a505",
                "rollback-prod",
                "api-prod",
                "carol",
                "FAILED",
                Some(0.8),
                Some(7200),
                Some(7080),
            )
        },
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

pub fn render(state: &AppState) -> Terminal<TestBackend> {
    render_with(state, &theme())
}

pub fn render_with(state: &AppState, theme: &Theme) -> Terminal<TestBackend> {
    let (width, height) = state.size;
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| ondeck::ui::draw(frame, state, theme, &keymap()))
        .unwrap();
    terminal
}

pub fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    terminal.backend().to_string()
}
