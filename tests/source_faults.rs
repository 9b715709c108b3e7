//! Faults an HTTP source meets in the field, against misbehaving servers on loopback: each test
//! checks what the operator would be shown (the source's state and error, the host row, the
//! alert), that nothing panics, and that a dead source does not stop the others.

#[path = "support/fake_http.rs"]
mod fake_http;

use std::time::Duration;

use chrono::Utc;
use fake_http::{FakeServer, Reply};
use ondeck::config::{HttpSource, SourceConfig, SourceSpec};
use ondeck::model::{HostStatus, Observation, Severity, SourceStatus};
use ondeck::msg::Msg;
use ondeck::sources::{self, apply_poll, pending_row, poll_once_all};
use ondeck::state::{AppState, Mode, replace_source_rows};
use tokio::sync::{mpsc, watch};

const HEALTHY: &str = r#"{"status":"ok"}"#;

fn http_source(name: &str, url: String, timeout: Duration) -> SourceConfig {
    SourceConfig {
        name: name.to_owned(),
        every: Duration::from_secs(1),
        timeout,
        spec: SourceSpec::Http(HttpSource {
            url,
            expect_status: 200,
            expect_json: Some(
                serde_json::json!({"status": "ok"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            tls_warn_days: 14,
            latency_warn: None,
            headers: Default::default(),
        }),
    }
}

/// One poll of one source, the way `ondeck snapshot` does it.
async fn poll(url: String, timeout: Duration) -> Result<Observation, String> {
    let source = http_source("api", url, timeout);
    let mut reports = poll_once_all(&[source]).await;
    assert_eq!(reports.len(), 1);
    reports.remove(0).result
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_fails_the_source() {
    let server =
        FakeServer::start(|_| Reply::json(200, HEALTHY).after(Duration::from_secs(5))).await;
    let error = poll(server.url("/health"), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(error.contains("timed out"), "{error}");
}

#[tokio::test]
async fn server_errors_are_a_down_host_and_an_alert_from_a_working_source() {
    for (status, body) in [
        (500, "internal error"),
        (503, r#"{"status":"maintenance"}"#),
    ] {
        let server = FakeServer::start(move |_| Reply::json(status, body)).await;
        let observation = poll(server.url("/health"), Duration::from_millis(500))
            .await
            .unwrap_or_else(|error| panic!("{status}: the source itself works: {error}"));
        let host = &observation.hosts[0];
        assert_eq!(host.status, HostStatus::Down, "{status}");
        assert_eq!(host.fields["http_status"], status);
        let alert = &observation.alerts[0];
        assert_eq!(alert.name, "EndpointDown");
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(
            alert.summary,
            format!("answered {status}, expected 200: {body}")
        );
    }
}

#[tokio::test]
async fn malformed_json_is_a_down_host_that_says_so() {
    let server = FakeServer::start(|_| Reply::json(200, r#"{"status": "ok""#)).await;
    let observation = poll(server.url("/health"), Duration::from_millis(500))
        .await
        .unwrap();
    assert_eq!(observation.hosts[0].status, HostStatus::Down);
    assert_eq!(
        observation.alerts[0].summary,
        "body is not JSON: EOF while parsing an object at line 1 column 15"
    );
}

#[tokio::test]
async fn a_body_cut_short_is_a_clear_error() {
    let server = FakeServer::start(|_| {
        Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"status\":")
    })
    .await;
    let error = poll(server.url("/health"), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(error.starts_with(&server.url("/health")), "{error}");
    assert!(error.contains("broken answer"), "{error}");
}

#[tokio::test]
async fn an_oversized_body_is_refused_whether_announced_or_not() {
    let announced = FakeServer::start(|_| {
        Reply::raw("HTTP/1.1 200 OK\r\nContent-Length: 9437184\r\n\r\n{\"status\":")
    })
    .await;
    let unannounced = FakeServer::start(|_| {
        let mut bytes = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        bytes.resize(bytes.len() + 9 * 1024 * 1024, b' ');
        Reply::raw(bytes)
    })
    .await;
    for server in [&announced, &unannounced] {
        let error = poll(server.url("/health"), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(error, "answer larger than 8 MiB, not read");
    }
}

#[tokio::test]
async fn a_tls_handshake_failure_says_so() {
    // A plain-HTTP server behind an https URL answers the TLS hello with plain text.
    let server = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let url = format!("https://{}/health", server.addr);
    let error = poll(url.clone(), Duration::from_millis(500))
        .await
        .unwrap_err();
    assert!(error.starts_with(&url), "{error}");
    assert!(error.contains("TLS handshake failed"), "{error}");
}

#[tokio::test]
async fn an_unresolvable_name_is_a_clear_error() {
    // `.invalid` never resolves (RFC 6761), so no query leaves a well-configured machine.
    let url = "http://ondeck-fault-test.invalid/health".to_owned();
    let error = poll(url.clone(), Duration::from_secs(3)).await.unwrap_err();
    assert!(error.starts_with(&url), "{error}");
    assert!(error.contains("cannot connect"), "{error}");
    assert!(error.contains("failed to lookup address"), "{error}");
}

/// The console's view of the sources, fed the supervisor's messages the way the event loop
/// feeds them.
struct Console {
    state: AppState,
    messages: mpsc::Receiver<Msg>,
}

impl Console {
    fn new(sources: &[SourceConfig], messages: mpsc::Receiver<Msg>) -> Console {
        let mut state = AppState::new("ops".into(), "memory".into(), Mode::default(), Utc::now());
        state.sources = sources
            .iter()
            .map(|s| pending_row(&s.name, s.kind(), s.every))
            .collect();
        Console { state, messages }
    }

    /// Takes in supervisor messages until `done` holds, for at most `limit`.
    async fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&AppState) -> bool) {
        let waited = tokio::time::timeout(limit, async {
            while !done(&self.state) {
                let message = self.messages.recv().await.expect("the supervisor runs");
                self.take(message);
            }
        })
        .await;
        assert!(
            waited.is_ok(),
            "waited {limit:?} for {what}: {:?}",
            self.state.sources
        );
    }

    fn take(&mut self, message: Msg) {
        let Msg::SourcePolled {
            source,
            at,
            latency_ms,
            result,
        } = message
        else {
            panic!("the supervisor only reports polls");
        };
        self.state.now = at;
        let row = self
            .state
            .sources
            .iter_mut()
            .find(|row| row.name == source)
            .expect("a configured source");
        apply_poll(row, at, latency_ms, &result);
        if let Ok(observation) = result {
            replace_source_rows(
                &mut self.state.data.hosts,
                &source,
                observation.hosts,
                |h| &h.source,
            );
            replace_source_rows(
                &mut self.state.data.alerts,
                &source,
                observation.alerts,
                |a| &a.source,
            );
        }
    }

    fn source_status(&self, name: &str) -> SourceStatus {
        self.state.source_status(self.state.source(name).unwrap())
    }

    fn host_status(&self, name: &str) -> Option<HostStatus> {
        let host = self.state.data.hosts.iter().find(|h| h.source == name)?;
        Some(self.state.host_status(host))
    }

    fn host_observed(&self, name: &str) -> Option<chrono::DateTime<Utc>> {
        let host = self.state.data.hosts.iter().find(|h| h.source == name)?;
        Some(host.observed_at)
    }
}

#[tokio::test]
async fn a_killed_server_goes_failing_then_stale_and_recovers_while_others_keep_updating() {
    let victim = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let bystander = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let victim_addr = victim.addr;
    let timeout = Duration::from_millis(500);
    let sources = vec![
        http_source("victim", victim.url("/health"), timeout),
        http_source("bystander", bystander.url("/health"), timeout),
    ];
    let (tx, rx) = mpsc::channel(64);
    let (stop, shutdown) = watch::channel(false);
    let tasks = sources::spawn(sources.clone(), tx, shutdown);
    let mut console = Console::new(&sources, rx);
    let limit = Duration::from_secs(10);

    console
        .until("both sources up", limit, |state| {
            ["victim", "bystander"].iter().all(|name| {
                state.source(name).unwrap().status == SourceStatus::Ok
                    && state.data.hosts.iter().any(|h| h.source == *name)
            })
        })
        .await;
    assert_eq!(console.host_status("victim"), Some(HostStatus::Up));

    victim.stop().await;
    console
        .until("the victim failing", limit, |state| {
            state.source("victim").unwrap().status == SourceStatus::Failing
        })
        .await;
    let error = console
        .state
        .source("victim")
        .unwrap()
        .last_error
        .clone()
        .unwrap();
    assert!(error.contains("cannot connect"), "{error}");
    let bystander_before = console.host_observed("bystander").unwrap();

    console
        .until("the victim's host stale", limit, |state| {
            let host = state.data.hosts.iter().find(|h| h.source == "victim");
            host.is_some_and(|h| state.host_status(h) == HostStatus::Stale)
        })
        .await;
    assert_eq!(console.source_status("victim"), SourceStatus::Failing);
    assert!(console.state.source("victim").unwrap().consecutive_failures >= 2);
    // The other source went on polling and its data stays fresh.
    assert_eq!(console.source_status("bystander"), SourceStatus::Ok);
    assert_eq!(console.host_status("bystander"), Some(HostStatus::Up));
    assert!(console.host_observed("bystander").unwrap() > bystander_before);

    let restarted = FakeServer::start_on(victim_addr, |_| Reply::json(200, HEALTHY))
        .await
        .unwrap();
    console
        .until("the victim recovered", Duration::from_secs(15), |state| {
            state.source("victim").unwrap().status == SourceStatus::Ok
        })
        .await;
    assert_eq!(console.host_status("victim"), Some(HostStatus::Up));
    assert_eq!(console.state.source("victim").unwrap().last_error, None);
    assert!(!restarted.requests().is_empty());

    stop.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
}
