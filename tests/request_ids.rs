//! Every request the Prometheus, Alertmanager and OpenBao pollers send carries an
//! `X-Request-ID` of its own, so an operator can find ondeck's requests in those servers' logs.
//! (The http, release, proxmox and kasm pollers are checked in their own test files.)

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::collections::HashSet;
use std::time::Duration;

use fake_http::{FakeServer, Reply, Request};
use ondeck::config::{
    AlertmanagerSource, OpenBaoSource, PrometheusSource, SourceConfig, SourceSpec,
};
use ondeck::sources::{Poller, SharedClients, SourcePoller};

/// Polls a poller of `spec` twice against `server`, and checks the ids the server saw: one per
/// request, none empty, no two alike.
async fn assert_each_request_has_its_own_id(server: &FakeServer, spec: SourceSpec) {
    let source = SourceConfig {
        name: "svc".into(),
        every: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
        spec,
    };
    let mut poller = SourcePoller::new(&source, &SharedClients::new()).unwrap();
    for _ in 0..2 {
        poller
            .poll()
            .await
            .expect("the fake server answers as the API does");
    }
    let requests = server.requests();
    // Several requests per poll, so ids differ within a poll as well as between polls.
    assert!(requests.len() >= 4, "{requests:#?}");
    let ids: Vec<&str> = requests
        .iter()
        .map(|request| {
            request
                .headers
                .get("x-request-id")
                .unwrap_or_else(|| panic!("{} without an X-Request-ID", request.path))
                .as_str()
        })
        .collect();
    assert!(ids.iter().all(|id| !id.trim().is_empty()), "{ids:?}");
    let distinct: HashSet<&str> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "an id was sent twice: {ids:?}");
}

fn path(request: &Request) -> &str {
    request.path.split('?').next().unwrap_or_default()
}

#[tokio::test]
async fn prometheus_requests_carry_distinct_request_ids() {
    let server = FakeServer::start(|request| match path(request) {
        "/api/v1/alerts" => Reply::json(200, r#"{"status":"success","data":{"alerts":[]}}"#),
        _ => Reply::json(200, r#"{"status":"success","data":{"result":[]}}"#),
    })
    .await;
    let spec = SourceSpec::Prometheus(PrometheusSource {
        url: server.url(""),
    });
    assert_each_request_has_its_own_id(&server, spec).await;
}

#[tokio::test]
async fn alertmanager_requests_carry_distinct_request_ids() {
    let server = FakeServer::start(|_| Reply::json(200, "[]")).await;
    let spec = SourceSpec::Alertmanager(AlertmanagerSource {
        urls: vec![server.url("")],
    });
    assert_each_request_has_its_own_id(&server, spec).await;
}

#[tokio::test]
async fn openbao_requests_carry_distinct_request_ids() {
    let server = FakeServer::start(|request| match path(request) {
        "/v1/sys/seal-status" => Reply::json(
            200,
            r#"{"type":"shamir","initialized":true,"sealed":false,"t":3,"n":5,"progress":0,"version":"2.1.0"}"#,
        ),
        _ => Reply::json(
            200,
            r#"{"initialized":true,"sealed":false,"standby":false,"version":"2.1.0"}"#,
        ),
    })
    .await;
    let spec = SourceSpec::OpenBao(OpenBaoSource {
        urls: vec![server.url("")],
        standby_ok: false,
    });
    assert_each_request_has_its_own_id(&server, spec).await;
}
