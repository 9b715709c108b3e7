//! The `local` source against this machine, and its threshold rules against made-up readings.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::time::Duration;

use chrono::{DateTime, Utc};
use ondeck::config::{LocalSource, SourceConfig, SourceSpec};
use ondeck::model::{AlertRow, AlertState, HostStatus, Severity};
use ondeck::sources::local::{Measurements, MountUsage, evaluate, host_row};
use ondeck::sources::{LocalPoller, Poller, poll_once_all};

const GIB: u64 = 1024 * 1024 * 1024;

#[tokio::test]
async fn this_machine_reports_plausible_numbers() {
    let mut poller = LocalPoller::new("this-machine", LocalSource::default());
    for _ in 0..2 {
        let observation = poller.poll().await.unwrap();
        assert_eq!(observation.hosts.len(), 1);
        let host = &observation.hosts[0];
        assert_eq!(host.source, "this-machine");
        assert_eq!(host.kind, "local");
        assert!(!host.name.is_empty());
        assert!(matches!(host.status, HostStatus::Up | HostStatus::Degraded));
        let cpu = host.cpu_pct.unwrap();
        assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
        let mem = host.mem_pct.unwrap();
        assert!(mem > 0.0 && mem <= 100.0, "mem {mem}");
        let disk = host.disk_pct.unwrap();
        assert!((0.0..=100.0).contains(&disk), "disk {disk}");
        assert!(host.uptime_s.unwrap() > 0);
        assert!(host.load1.unwrap() >= 0.0);
        assert!(!host.version.as_deref().unwrap().is_empty());
        let disks = host.fields["disks"].as_object().unwrap();
        assert!(!disks.is_empty(), "at least one mounted disk");
        for usage in disks.values() {
            assert!(usage["total_bytes"].as_u64().unwrap() > 0);
            assert!(usage["free_bytes"].as_u64().is_some());
        }
        assert!(host.fields["mem_free_bytes"].as_u64().unwrap() > 0);
        assert!(host.fields["cpus"].as_u64().unwrap() >= 1);
        assert!(host.fields.contains_key("load5") && host.fields.contains_key("load15"));
        // Whatever fires here is a threshold alert about this host, and degrades it; a CPU
        // spike seen by two polls a moment apart is only pending.
        for alert in &observation.alerts {
            assert!(alert.target.starts_with(&host.name));
            let expected = if alert.name == "HighCPUUsage" {
                AlertState::Pending
            } else {
                AlertState::Firing
            };
            assert_eq!(alert.state, expected);
        }
        let firing = observation
            .alerts
            .iter()
            .any(|alert| alert.state == AlertState::Firing);
        assert_eq!(host.status == HostStatus::Degraded, firing);
        assert!(observation.sessions.iter().all(|s| s.state == "active"));
    }
}

#[tokio::test]
async fn a_snapshot_poll_covers_every_configured_source() {
    let sources = vec![SourceConfig {
        name: "localhost".into(),
        every: Duration::from_secs(10),
        timeout: Duration::from_secs(10),
        spec: SourceSpec::Local(LocalSource::default()),
    }];
    let reports = poll_once_all(&sources).await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].source, "localhost");
    assert_eq!(reports[0].kind, "local");
    let observation = reports[0].result.as_ref().unwrap();
    assert_eq!(observation.hosts[0].source, "localhost");
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000, 0).unwrap()
}

fn healthy() -> Measurements {
    Measurements {
        hostname: "db1".into(),
        os: "Debian GNU/Linux 12, kernel 6.1.0".into(),
        cpu_pct: 20.0,
        cpu_count: 8,
        mem_total_bytes: 32 * GIB,
        mem_available_bytes: 16 * GIB,
        load: [0.5, 0.4, 0.3],
        uptime_s: 86_400,
        mounts: vec![
            mount("/", 100 * GIB, 50 * GIB),
            mount("/var", 200 * GIB, 150 * GIB),
        ],
    }
}

fn mount(path: &str, total_bytes: u64, available_bytes: u64) -> MountUsage {
    MountUsage {
        mount: path.into(),
        total_bytes,
        available_bytes,
    }
}

fn fired(measured: &Measurements) -> Vec<(String, Severity, String)> {
    evaluate(measured, &LocalSource::default(), "local", now())
        .into_iter()
        .map(|alert| (alert.name, alert.severity, alert.target))
        .collect()
}

fn one(name: &str, severity: Severity, target: &str) -> Vec<(String, Severity, String)> {
    vec![(name.to_owned(), severity, target.to_owned())]
}

#[test]
fn a_healthy_machine_fires_nothing_and_is_up() {
    let measured = healthy();
    let alerts = evaluate(&measured, &LocalSource::default(), "local", now());
    assert!(alerts.is_empty(), "{alerts:?}");
    let host = host_row(&measured, "local", &alerts, now());
    assert_eq!(host.status, HostStatus::Up);
    assert_eq!(host.name, "db1");
    assert_eq!(host.mem_pct, Some(50.0));
    assert_eq!(host.disk_pct, Some(50.0), "the fullest mount");
    assert_eq!(host.cpu_pct, Some(20.0));
    assert_eq!(host.uptime_s, Some(86_400));
    assert_eq!(
        host.version.as_deref(),
        Some("Debian GNU/Linux 12, kernel 6.1.0")
    );
    assert_eq!(host.fields["disks"]["/var"]["used_pct"], 25.0);
    assert_eq!(host.fields["disks"]["/var"]["free_bytes"], 150 * GIB);
    assert_eq!(host.fields["disks"]["/"]["total_bytes"], 100 * GIB);
    assert_eq!(host.fields["mem_free_bytes"], 16 * GIB);
    assert_eq!(host.fields["cpus"], 8);
    assert_eq!(host.fields["load15"], 0.3);
}

#[test]
fn cpu_at_the_limit_warns_and_far_past_it_is_critical() {
    let at = |cpu_pct| Measurements {
        cpu_pct,
        ..healthy()
    };
    assert!(fired(&at(69.9)).is_empty());
    assert_eq!(
        fired(&at(70.0)),
        one("HighCPUUsage", Severity::Warning, "db1")
    );
    assert_eq!(
        fired(&at(89.9)),
        one("HighCPUUsage", Severity::Warning, "db1")
    );
    assert_eq!(
        fired(&at(90.0)),
        one("HighCPUUsage", Severity::Critical, "db1")
    );
}

#[test]
fn less_than_six_gib_free_warns_and_under_a_quarter_of_it_is_critical() {
    let free = |mem_available_bytes| Measurements {
        mem_available_bytes,
        ..healthy()
    };
    assert!(fired(&free(6 * GIB)).is_empty());
    assert_eq!(
        fired(&free(6 * GIB - 1)),
        one("HighMemoryUsage", Severity::Warning, "db1")
    );
    assert_eq!(
        fired(&free(GIB)),
        one("HighMemoryUsage", Severity::Critical, "db1")
    );
}

#[test]
fn each_mount_short_of_space_fires_its_own_alert() {
    let measured = Measurements {
        mounts: vec![
            mount("/", 100 * GIB, 20 * GIB),
            mount("/var", 100 * GIB, 18 * GIB),
            mount("/srv", 100 * GIB, 14 * GIB),
        ],
        ..healthy()
    };
    assert_eq!(
        fired(&measured),
        vec![
            ("DiskSpaceLow".into(), Severity::Warning, "db1:/var".into()),
            ("DiskSpaceLow".into(), Severity::Critical, "db1:/srv".into()),
        ]
    );
    let alerts = evaluate(&measured, &LocalSource::default(), "local", now());
    assert!(
        alerts[1].summary.contains("14.0% free"),
        "{}",
        alerts[1].summary
    );
    let host = host_row(&measured, "local", &alerts, now());
    assert_eq!(host.status, HostStatus::Degraded);
    assert_eq!(host.disk_pct, Some(86.0));
}

#[test]
fn a_pending_alert_does_not_degrade_the_host() {
    let measured = Measurements {
        cpu_pct: 99.0,
        ..healthy()
    };
    let mut alerts = evaluate(&measured, &LocalSource::default(), "local", now());
    assert_eq!(
        host_row(&measured, "local", &alerts, now()).status,
        HostStatus::Degraded
    );
    alerts[0].state = AlertState::Pending;
    assert_eq!(
        host_row(&measured, "local", &alerts, now()).status,
        HostStatus::Up
    );
}

#[test]
fn alerts_carry_the_source_and_the_configured_limits() {
    let limits = LocalSource {
        cpu_max_pct: 50.0,
        mem_free_min_bytes: 20 * GIB,
        disk_free_min_pct: 60.0,
    };
    let alerts: Vec<AlertRow> = evaluate(&healthy(), &limits, "edge", now());
    let names: Vec<&str> = alerts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["HighMemoryUsage", "DiskSpaceLow"]);
    let cpu = evaluate(
        &Measurements {
            cpu_pct: 55.0,
            ..healthy()
        },
        &limits,
        "edge",
        now(),
    );
    assert_eq!(cpu[0].name, "HighCPUUsage");
    assert_eq!(cpu[0].severity, Severity::Warning);
    for alert in alerts.iter().chain(&cpu) {
        assert_eq!(alert.source, "edge");
        assert_eq!(alert.state, AlertState::Firing);
        assert_eq!(alert.since, Some(now()));
        assert!(!alert.silenced);
        assert!(!alert.summary.is_empty());
    }
}
