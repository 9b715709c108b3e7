//! The `openbao` source against two real OpenBao servers (5 key shares, threshold 3): one
//! unsealed, one left sealed.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::time::Duration;

use ondeck::config::{OpenBaoSource, SourceConfig, SourceSpec};
use ondeck::model::{AlertState, HostStatus, Severity};
use ondeck::sources::openbao::{OPENBAO_SEALED, OPENBAO_UNREACHABLE};
use ondeck::sources::{Poller, SharedClients, SourcePoller};
use serde_json::json;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: start the services with scripts/test-all.sh")
    })
}

fn poller(urls: &[String]) -> SourcePoller {
    SourcePoller::new(
        &SourceConfig {
            name: "bao".into(),
            every: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            spec: SourceSpec::OpenBao(OpenBaoSource {
                urls: urls.to_vec(),
                standby_ok: false,
            }),
        },
        &SharedClients::new(),
    )
    .unwrap()
}

/// "127.0.0.1:58200" for "http://127.0.0.1:58200".
fn host_and_port(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// A loopback URL nothing listens on: a port the system just handed out and took back.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// `PUT /v1/sys/unseal` with `body`; the answer's JSON.
async fn unseal(url: &str, body: serde_json::Value) -> serde_json::Value {
    reqwest::Client::new()
        .put(format!("{url}/v1/sys/unseal"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_unsealed_server_is_up_and_active() {
    let observation = poller(&[env("ONDECK_TEST_BAO_URL")]).poll().await.unwrap();
    assert!(observation.alerts.is_empty(), "{:#?}", observation.alerts);
    assert_eq!(observation.hosts.len(), 1);
    let host = &observation.hosts[0];
    assert_eq!(host.name, "bao", "a single node goes by the source's name");
    assert_eq!(host.source, "bao");
    assert_eq!(host.kind, "openbao");
    assert_eq!(host.status, HostStatus::Up);
    let version = host.version.as_deref().unwrap();
    assert!(version.starts_with("2.7."), "{version}");
    let fields = &host.fields;
    assert_eq!(fields["initialized"], json!(true));
    assert_eq!(fields["sealed"], json!(false));
    assert_eq!(fields["t"], json!(3));
    assert_eq!(fields["n"], json!(5));
    assert_eq!(fields["progress"], json!(0));
    assert_eq!(fields["version"], json!(version));
    assert_eq!(fields["ha_role"], json!("active"));
    assert_eq!(fields["storage_type"], json!("raft"));
    assert!(
        fields["cluster_name"]
            .as_str()
            .is_some_and(|name| !name.is_empty())
    );
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_sealed_server_is_down_and_shows_unseal_progress() {
    let url = env("ONDECK_TEST_BAO_SEALED_URL");
    let mut bao = poller(std::slice::from_ref(&url));
    let observation = bao.poll().await.unwrap();
    let host = &observation.hosts[0];
    assert_eq!(host.status, HostStatus::Down);
    assert_eq!(host.fields["initialized"], json!(true));
    assert_eq!(host.fields["sealed"], json!(true));
    assert_eq!(host.fields["progress"], json!(0));
    assert!(!host.fields.contains_key("ha_role"));
    assert_eq!(observation.alerts.len(), 1);
    let alert = &observation.alerts[0];
    assert_eq!(alert.name, OPENBAO_SEALED);
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.state, AlertState::Firing);
    assert_eq!(alert.target, "bao");
    assert_eq!(alert.summary, "sealed, unseal progress 0/3");
    let first_seen = alert.since;

    // One key share of three: still sealed, one step further.
    let init: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/bao-sealed/init.json", env("ONDECK_RUN"))).unwrap(),
    )
    .unwrap();
    let key = init["keys"][0].as_str().unwrap();
    let answer = unseal(&url, json!({ "key": key })).await;
    assert_eq!(answer["progress"], json!(1));

    let after = bao.poll().await;
    // Reset before asserting, so a failure does not leave the server half unsealed.
    unseal(&url, json!({ "reset": true })).await;
    let after = after.unwrap();
    assert_eq!(after.hosts[0].status, HostStatus::Down);
    assert_eq!(after.hosts[0].fields["progress"], json!(1));
    assert_eq!(after.alerts[0].summary, "sealed, unseal progress 1/3");
    assert_eq!(
        after.alerts[0].since, first_seen,
        "sealed since the first poll"
    );
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn nodes_of_one_source_are_rows_by_address() {
    let unsealed = env("ONDECK_TEST_BAO_URL");
    let sealed = env("ONDECK_TEST_BAO_SEALED_URL");
    let observation = poller(&[unsealed.clone(), sealed.clone()])
        .poll()
        .await
        .unwrap();
    let statuses: Vec<(&str, HostStatus)> = observation
        .hosts
        .iter()
        .map(|h| (h.name.as_str(), h.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (host_and_port(&unsealed), HostStatus::Up),
            (host_and_port(&sealed), HostStatus::Down),
        ]
    );
    assert_eq!(observation.alerts.len(), 1);
    assert_eq!(observation.alerts[0].name, OPENBAO_SEALED);
    assert_eq!(observation.alerts[0].target, host_and_port(&sealed));
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn an_unreachable_node_is_down_while_another_answers() {
    let unsealed = env("ONDECK_TEST_BAO_URL");
    let dead = dead_url().await;
    let observation = poller(&[unsealed.clone(), dead.clone()])
        .poll()
        .await
        .unwrap();
    assert_eq!(observation.hosts.len(), 2);
    assert_eq!(observation.hosts[0].status, HostStatus::Up);
    let down = &observation.hosts[1];
    assert_eq!(down.name, host_and_port(&dead));
    assert_eq!(down.status, HostStatus::Down);
    assert_eq!(observation.alerts.len(), 1);
    let alert = &observation.alerts[0];
    assert_eq!(alert.name, OPENBAO_UNREACHABLE);
    assert_eq!(alert.target, host_and_port(&dead));
    assert!(
        alert.summary.contains("cannot connect"),
        "{}",
        alert.summary
    );

    let error = poller(&[dead_url().await]).poll().await.unwrap_err();
    assert!(error.to_string().contains("cannot connect"), "{error}");
}
