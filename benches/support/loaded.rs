//! A console loaded the way a large fleet loads it — 10,000 hosts from 20 sources, 5,000 alerts,
//! 100,000 audit records, 1,000 sessions and 1,000 jobs — for the benchmarks of drawing and of
//! `update`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ondeck::model::{
    AlertRow, AlertState, AuditRow, HostRow, HostStatus, JobRow, SessionRow, Severity, SourceRow,
    SourceStatus,
};
use ondeck::state::{AppState, Mode};

// What runs in-process is measured with the allocator the binary uses (`ondeck::allocator`).
ondeck::global_allocator!();

pub const HOSTS: usize = 10_000;
pub const ALERTS: usize = 5_000;
pub const AUDIT: usize = 100_000;
pub const SESSIONS: usize = 1_000;
pub const JOBS: usize = 1_000;

pub fn loaded_state(mode: Mode) -> AppState {
    let now = at();
    let ago = |s: usize| now - Duration::seconds(s as i64);
    let mut state = AppState::new(
        "alice".to_owned(),
        "postgres://ondeck@127.0.0.1/ondeck".to_owned(),
        mode,
        now,
    );
    state.sources = (0..20)
        .map(|i| SourceRow {
            name: format!("source-{i}"),
            kind: "prometheus".to_owned(),
            status: if i == 7 {
                SourceStatus::Failing
            } else {
                SourceStatus::Ok
            },
            last_success: Some(ago(5)),
            last_error: (i == 7).then(|| "connection refused".to_owned()),
            consecutive_failures: u32::from(i == 7) * 3,
            latency_ms: Some(40),
            every_s: 15,
            truncated: Vec::new(),
        })
        .collect();
    state.alert_sources = vec!["source-1".to_owned(), "source-7".to_owned()];
    state.data.hosts = (0..HOSTS)
        .map(|i| host(&format!("source-{}", i % 20), i, ago(i % 60)))
        .collect();
    state.data.alerts = (0..ALERTS)
        .map(|i| AlertRow {
            source: format!("source-{}", i % 2 * 6 + 1),
            name: ["HighCPUUsage", "DiskSpaceLow", "ServiceDown"][i % 3].to_owned(),
            severity: [Severity::Warning, Severity::Warning, Severity::Critical][i % 3],
            state: AlertState::Firing,
            target: format!("node-{i:05}.example.com"),
            since: Some(ago(i)),
            silenced: i % 10 == 0,
            summary: String::new(),
            fingerprint: format!("{i:016x}"),
            labels: BTreeMap::new(),
            observed_at: ago(3),
        })
        .collect();
    state.data.audit = (0..AUDIT)
        .map(|i| AuditRow {
            source: "store".to_owned(),
            seq: i as i64,
            time: ago(AUDIT - i),
            operator: "bob".to_owned(),
            action: "INSTALL_APPROVED".to_owned(),
            target: format!("WS-{:04}", i % 10_000),
            outcome: "ok".to_owned(),
            request_id: format!("req-{i:08x}"),
            detail: String::new(),
            identity: None,
            job_id: None,
            error: None,
        })
        .collect();
    state.data.sessions = (0..SESSIONS)
        .map(|i| SessionRow {
            source: "kasm".to_owned(),
            user: format!("user{i}"),
            client: "192.0.2.10 chrome".to_owned(),
            state: "running".to_owned(),
            since: Some(ago(i * 10)),
            detail: String::new(),
            observed_at: ago(4),
            fields: BTreeMap::new(),
        })
        .collect();
    state.data.jobs = (0..JOBS)
        .map(|i| JobRow {
            source: "store".to_owned(),
            id: format!("{i:08x}-0000-4000-8000-000000000000"),
            action: "backup-proofpass-db".to_owned(),
            target: "proofpass".to_owned(),
            operator: "alice".to_owned(),
            state: "DONE".to_owned(),
            progress: Some(1.0),
            started: Some(ago(i * 60 + 30)),
            finished: Some(ago(i * 60)),
            result: None,
            observed_at: ago(2),
        })
        .collect();
    state.rebuild_all_views();
    state
}

/// The moment the loaded state was read.
pub fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 11, 20, 14, 5, 30).unwrap()
}

/// Host number `i` of a fleet, as `source` saw it at `observed_at`: a quarter are down and a
/// quarter degraded.
pub fn host(source: &str, i: usize, observed_at: DateTime<Utc>) -> HostRow {
    let statuses = [
        HostStatus::Up,
        HostStatus::Up,
        HostStatus::Degraded,
        HostStatus::Down,
    ];
    HostRow {
        source: source.to_owned(),
        name: format!("node-{i:05}.example.com"),
        kind: "node".to_owned(),
        status: statuses[i % statuses.len()],
        latency_ms: Some((i % 300) as u64),
        cpu_pct: Some((i % 100) as f64),
        mem_pct: Some((i * 7 % 100) as f64),
        disk_pct: Some((i * 13 % 100) as f64),
        load1: Some(0.5),
        uptime_s: Some(86_400),
        version: Some("1.8.2".to_owned()),
        observed_at,
        fields: BTreeMap::new(),
    }
}
