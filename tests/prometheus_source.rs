//! The `prometheus` source against a real Prometheus scraping a real node_exporter and a
//! target nobody listens on, with a ServiceDown rule that really fires.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::time::Duration;

use ondeck::config::{PrometheusSource, SourceConfig, SourceSpec};
use ondeck::model::{AlertState, HostStatus, Observation, Severity};
use ondeck::sources::{Poller, SharedClients, SourceError, SourcePoller};
use tokio::time::Instant;

/// The target the lab's Prometheus scrapes where nothing listens (its `api_backend` job).
const API_BACKEND: &str = "127.0.0.1:59999";

fn prometheus_url() -> String {
    std::env::var("ONDECK_TEST_PROM_URL")
        .expect("ONDECK_TEST_PROM_URL is not set: start the services with scripts/test-all.sh")
}

fn poller(url: String) -> SourcePoller {
    SourcePoller::new(
        &SourceConfig {
            name: "prom".into(),
            every: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            spec: SourceSpec::Prometheus(PrometheusSource { url }),
        },
        &SharedClients::new(),
    )
    .unwrap()
}

/// Polls until `seen` holds, for at most 30 s (Prometheus needs a few scrapes before rates and
/// `for:` clauses have an answer).
async fn poll_until(
    poller: &mut SourcePoller,
    what: &str,
    seen: impl Fn(&Observation) -> bool,
) -> Observation {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let observation = poller.poll().await.unwrap();
        if seen(&observation) {
            return observation;
        }
        assert!(
            Instant::now() < deadline,
            "{what} not seen within 30 s; last poll: {observation:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn hosts_carry_node_exporter_numbers_and_the_dead_target_is_down() {
    let mut poller = poller(prometheus_url());
    let observation = poll_until(&mut poller, "node numbers and both targets", |o| {
        o.hosts.iter().any(|h| h.cpu_pct.is_some()) && o.hosts.len() >= 2
    })
    .await;

    let node = observation
        .hosts
        .iter()
        .find(|h| h.fields["job"] == "node")
        .expect("the node_exporter target");
    assert_eq!(node.source, "prom");
    assert_eq!(node.kind, "prometheus");
    assert_eq!(node.status, HostStatus::Up);
    let cpu = node.cpu_pct.unwrap();
    assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
    let mem = node.mem_pct.unwrap();
    assert!(mem > 0.0 && mem < 100.0, "memory {mem}");
    let disk = node.disk_pct.unwrap();
    assert!((0.0..=100.0).contains(&disk), "disk {disk}");
    assert!(node.load1.unwrap() >= 0.0);
    assert!(node.uptime_s.unwrap() > 0);
    assert!(node.latency_ms.is_some(), "the scrape duration");

    let backend = observation
        .hosts
        .iter()
        .find(|h| h.name == API_BACKEND)
        .expect("the api_backend target");
    assert_eq!(backend.status, HostStatus::Down);
    assert_eq!(backend.fields["job"], "api_backend");
    assert_eq!(backend.cpu_pct, None, "no node_exporter there");
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_service_down_rule_fires_as_a_critical_alert() {
    let mut poller = poller(prometheus_url());
    let observation = poll_until(&mut poller, "ServiceDown firing", |o| {
        o.alerts
            .iter()
            .any(|a| a.name == "ServiceDown" && a.state == AlertState::Firing)
    })
    .await;
    let alert = observation
        .alerts
        .iter()
        .find(|a| a.name == "ServiceDown")
        .unwrap();
    assert_eq!(alert.source, "prom");
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.target, API_BACKEND);
    assert_eq!(alert.summary, "api_backend is down");
    assert!(alert.since.is_some());
    assert!(!alert.silenced);
    // What Alertmanager calls this alert (its labels are fixed by the lab's rule and target).
    assert_eq!(alert.fingerprint, "60c2a5111a4c195a");
    // Its labels, for the detail view.
    assert_eq!(alert.labels["alertname"], "ServiceDown");
    assert_eq!(alert.labels["instance"], API_BACKEND);
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_url_that_is_not_the_api_fails_with_prometheus_answer() {
    let mut poller = poller(format!("{}/not-prometheus", prometheus_url()));
    let error = poller.poll().await.unwrap_err();
    assert!(
        matches!(error, SourceError::Status { status: 404, .. }),
        "{error}"
    );
}
