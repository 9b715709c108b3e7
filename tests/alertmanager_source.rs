//! The `alertmanager` source against a real Alertmanager that the lab's Prometheus sends its
//! ServiceDown alert to.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::time::Duration;

use chrono::Utc;
use ondeck::config::{AlertmanagerSource, PrometheusSource, SourceConfig, SourceSpec};
use ondeck::model::{AlertRow, AlertState, Observation, Severity};
use ondeck::sources::alertmanager::ALERTMANAGER_UNREACHABLE;
use ondeck::sources::{Poller, SharedClients, SourcePoller, poll_once_all};
use serde_json::json;
use tokio::time::Instant;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the services with scripts/test-all.sh")
    })
}

fn alertmanager_url() -> String {
    env("ONDECK_TEST_AM_URL")
}

fn poller(spec: SourceSpec) -> SourcePoller {
    SourcePoller::new(
        &SourceConfig {
            name: "am".into(),
            every: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            spec,
        },
        &SharedClients::new(),
    )
    .unwrap()
}

fn alertmanagers(urls: &[String]) -> SourcePoller {
    poller(SourceSpec::Alertmanager(AlertmanagerSource {
        urls: urls.to_vec(),
    }))
}

/// A loopback URL nothing listens on: a port the system just handed out and took back.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// Polls until `seen` holds, for at most 30 s (the alert travels rule → Prometheus →
/// Alertmanager, and a new silence takes effect on Alertmanager's next look).
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

fn has_service_down(observation: &Observation) -> bool {
    observation.alerts.iter().any(|a| a.name == "ServiceDown")
}

fn service_down(observation: &Observation) -> &AlertRow {
    observation
        .alerts
        .iter()
        .find(|a| a.name == "ServiceDown")
        .unwrap()
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn service_down_arrives_with_prometheus_fingerprint_and_a_silence_marks_it() {
    let url = alertmanager_url();
    let mut alertmanager = alertmanagers(std::slice::from_ref(&url));
    let observation = poll_until(&mut alertmanager, "ServiceDown", has_service_down).await;
    let alert = service_down(&observation);
    assert_eq!(alert.source, "am");
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.target, "127.0.0.1:59999");
    assert!(alert.since.is_some());
    assert!(!alert.silenced);

    // The same alert read from Prometheus carries the same fingerprint.
    let mut prometheus = poller(SourceSpec::Prometheus(PrometheusSource {
        url: env("ONDECK_TEST_PROM_URL"),
    }));
    let from_prometheus = prometheus.poll().await.unwrap();
    assert_eq!(
        service_down(&from_prometheus).fingerprint,
        alert.fingerprint
    );

    let client = reqwest::Client::new();
    let now = Utc::now();
    let created: serde_json::Value = client
        .post(format!("{url}/api/v2/silences"))
        .json(&json!({
            "matchers": [{"name": "alertname", "value": "ServiceDown", "isRegex": false, "isEqual": true}],
            "startsAt": now,
            "endsAt": now + chrono::Duration::minutes(5),
            "createdBy": "ondeck-test",
            "comment": "silenced by the alertmanager source test",
        }))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    let silence_id = created["silenceID"].as_str().unwrap().to_owned();

    let silenced = poll_until(&mut alertmanager, "ServiceDown silenced", |o| {
        has_service_down(o) && service_down(o).silenced
    })
    .await;
    let alert = service_down(&silenced);
    let short_id = silence_id.split('-').next().unwrap();
    assert!(
        alert.summary.contains("silenced by ondeck-test until") && alert.summary.contains(short_id),
        "{}",
        alert.summary
    );

    // Expire it so the alert reads unsilenced again for whatever runs next.
    client
        .delete(format!("{url}/api/v2/silence/{silence_id}"))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_dead_instance_is_an_alert_while_the_live_one_is_shown() {
    let dead = dead_url().await;
    let mut alertmanager = alertmanagers(&[alertmanager_url(), dead.clone()]);
    let observation = poll_until(&mut alertmanager, "ServiceDown", has_service_down).await;
    let unreachable: Vec<&AlertRow> = observation
        .alerts
        .iter()
        .filter(|a| a.name == ALERTMANAGER_UNREACHABLE)
        .collect();
    assert_eq!(unreachable.len(), 1, "{:#?}", observation.alerts);
    let unreachable = unreachable[0];
    assert_eq!(unreachable.target, dead);
    assert_eq!(unreachable.severity, Severity::Warning);
    assert_eq!(unreachable.state, AlertState::Firing);
    assert!(
        unreachable.summary.contains("cannot connect"),
        "{}",
        unreachable.summary
    );
    let first_seen = unreachable.since;
    assert!(first_seen.is_some());

    let again = alertmanager.poll().await.unwrap();
    let still = again
        .alerts
        .iter()
        .find(|a| a.name == ALERTMANAGER_UNREACHABLE)
        .unwrap();
    assert_eq!(still.since, first_seen, "down since the first failed poll");
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn an_instance_that_never_answers_does_not_time_the_whole_poll_out() {
    // Accepts connections and never says a word, like a host behind a dropping firewall.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent = format!("http://{}", listener.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    let config = SourceConfig {
        name: "am".into(),
        every: Duration::from_secs(5),
        timeout: Duration::from_secs(2),
        spec: SourceSpec::Alertmanager(AlertmanagerSource {
            urls: vec![alertmanager_url(), silent.clone()],
        }),
    };
    let reports = poll_once_all(std::slice::from_ref(&config)).await;
    holder.abort();
    let observation = reports[0].result.as_ref().unwrap();
    let unreachable = observation
        .alerts
        .iter()
        .find(|a| a.name == ALERTMANAGER_UNREACHABLE)
        .unwrap();
    assert_eq!(unreachable.target, silent);
    assert!(
        unreachable.summary.contains("timed out"),
        "{}",
        unreachable.summary
    );
}

// Needs no service: both instances are closed ports.
#[tokio::test]
async fn when_every_instance_is_down_the_poll_fails() {
    let mut alertmanager = alertmanagers(&[dead_url().await, dead_url().await]);
    let error = alertmanager.poll().await.unwrap_err();
    assert!(error.to_string().contains("cannot connect"), "{error}");
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_same_instance_listed_twice_gives_each_alert_once() {
    let url = alertmanager_url();
    // The same server three ways: verbatim, with a trailing slash, and by another host name,
    // which only the fingerprint can tell is the same alert.
    let by_name = url.replace("127.0.0.1", "localhost");
    assert_ne!(by_name, url, "the lab serves on 127.0.0.1");
    let mut alertmanager = alertmanagers(&[url.clone(), format!("{url}/"), by_name]);
    let observation = poll_until(&mut alertmanager, "ServiceDown", has_service_down).await;
    assert!(
        observation
            .alerts
            .iter()
            .all(|a| a.name != ALERTMANAGER_UNREACHABLE),
        "{:#?}",
        observation.alerts
    );
    let mut fingerprints: Vec<&str> = observation
        .alerts
        .iter()
        .map(|a| a.fingerprint.as_str())
        .collect();
    let listed = fingerprints.len();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), listed, "{:#?}", observation.alerts);
    assert_eq!(
        observation
            .alerts
            .iter()
            .filter(|a| a.name == "ServiceDown")
            .count(),
        1
    );
}
