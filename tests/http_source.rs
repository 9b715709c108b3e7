//! The `http` and `release` sources against servers, files and commands: what reaches the
//! server, what the rows say, and how failures read.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/fake_http.rs"]
mod fake_http;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use fake_http::{FakeServer, Reply};
use ondeck::config::{HttpSource, ReleaseFrom, ReleaseSource, Secret, SourceConfig, SourceSpec};
use ondeck::model::{HostStatus, Observation};
use ondeck::sources::fetch::{Redirects, shared_client};
use ondeck::sources::{HttpPoller, Poller, ReleasePoller, poll_once_all};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(5);

fn health_spec(url: String) -> HttpSource {
    HttpSource {
        url,
        expect_status: 200,
        expect_json: Some(json!({"status": "ok"}).as_object().unwrap().clone()),
        tls_warn_days: 14,
        latency_warn: None,
        headers: BTreeMap::new(),
    }
}

fn http_poller(spec: HttpSource) -> HttpPoller {
    HttpPoller::new("api", spec, shared_client(Redirects::SameOrigin).unwrap())
}

#[tokio::test]
async fn a_healthy_endpoint_is_up_and_the_server_sees_each_request_id() {
    let server =
        FakeServer::start(|_| Reply::json(200, r#"{"status":"ok","version":"1.4.2"}"#)).await;
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "Bearer first\n").unwrap();
    let mut spec = health_spec(server.url("/healthz"));
    spec.headers = BTreeMap::from([
        (
            "Accept".to_owned(),
            Secret::Literal("application/json".into()),
        ),
        (
            "Authorization".to_owned(),
            Secret::File(token.path().to_owned()),
        ),
    ]);
    let mut poller = http_poller(spec);

    let first = poller.poll().await.unwrap();
    std::fs::write(token.path(), "Bearer rotated\n").unwrap();
    let second = poller.poll().await.unwrap();

    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for (observation, request) in [&first, &second].into_iter().zip(&requests) {
        let host = &observation.hosts[0];
        assert_eq!(
            (host.source.as_str(), host.name.as_str(), host.kind.as_str()),
            ("api", "api", "http")
        );
        assert_eq!(host.status, HostStatus::Up);
        assert!(host.latency_ms.is_some());
        assert_eq!(host.fields["url"], json!(server.url("/healthz")));
        assert_eq!(host.fields["http_status"], json!(200));
        assert!(!host.fields.contains_key("tls_days_left"), "plain http");
        assert!(observation.alerts.is_empty());
        assert_eq!(
            (request.method.as_str(), request.path.as_str()),
            ("GET", "/healthz")
        );
        assert_eq!(
            host.fields["request_id"],
            json!(request.headers["x-request-id"])
        );
        assert_eq!(request.headers["accept"], "application/json");
    }
    assert_ne!(
        requests[0].headers["x-request-id"],
        requests[1].headers["x-request-id"]
    );
    // Secret files are read at every poll, so a rotated token is used at once.
    assert_eq!(requests[0].headers["authorization"], "Bearer first");
    assert_eq!(requests[1].headers["authorization"], "Bearer rotated");
}

#[tokio::test]
async fn a_missing_header_secret_fails_the_poll_without_a_request() {
    let server = FakeServer::start(|_| Reply::json(200, r#"{"status":"ok"}"#)).await;
    let mut spec = health_spec(server.url("/healthz"));
    spec.headers = BTreeMap::from([(
        "Authorization".to_owned(),
        Secret::Env("ONDECK_TEST_SURELY_UNSET_TOKEN".into()),
    )]);
    let error = http_poller(spec).poll().await.unwrap_err().to_string();
    assert!(
        error.starts_with(
            "header `Authorization`: environment variable `ONDECK_TEST_SURELY_UNSET_TOKEN` is not set"
        ),
        "{error}"
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_slow_right_answer_degrades_the_host() {
    let server = FakeServer::start(|_| {
        Reply::json(200, r#"{"status":"ok"}"#).after(Duration::from_millis(200))
    })
    .await;
    let mut spec = health_spec(server.url("/health"));
    spec.latency_warn = Some(Duration::from_millis(50));
    let observation = http_poller(spec).poll().await.unwrap();
    let host = &observation.hosts[0];
    assert_eq!(host.status, HostStatus::Degraded);
    assert!(host.latency_ms.unwrap() >= 200);
    assert_eq!(observation.alerts[0].name, "EndpointSlow");
}

#[tokio::test]
async fn an_alert_keeps_its_start_until_the_endpoint_recovers() {
    let answers = std::sync::Mutex::new(vec![200, 503, 503, 503].into_iter());
    let server = FakeServer::start(move |_| {
        let status = answers.lock().unwrap().next_back().unwrap_or(200);
        Reply::json(status, r#"{"status":"ok"}"#)
    })
    .await;
    let mut poller = http_poller(health_spec(server.url("/health")));
    let since = |observation: &Observation| observation.alerts.first().and_then(|a| a.since);

    let first = poller.poll().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let second = poller.poll().await.unwrap();
    assert!(since(&first).is_some());
    assert_eq!(since(&second), since(&first), "the same outage");
    assert!(second.alerts[0].observed_at > first.alerts[0].observed_at);

    let third = poller.poll().await.unwrap();
    assert_eq!(since(&third), since(&first));
    let recovered = poller.poll().await.unwrap();
    assert!(recovered.alerts.is_empty());
    assert_eq!(recovered.hosts[0].status, HostStatus::Up);
}

/// Prometheus's own health endpoint answers 200 with a line of text.
#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn prometheus_health_endpoint_is_up() {
    let base = std::env::var("ONDECK_TEST_PROM_URL")
        .expect("ONDECK_TEST_PROM_URL must point at the test Prometheus");
    let mut spec = health_spec(format!("{}/-/healthy", base.trim_end_matches('/')));
    spec.expect_json = None;
    let observation = http_poller(spec).poll().await.unwrap();
    let host = &observation.hosts[0];
    assert_eq!(host.status, HostStatus::Up, "{host:?}");
    assert_eq!(host.fields["http_status"], json!(200));
}

fn release_source(from: ReleaseFrom, environments: &[&str]) -> SourceConfig {
    SourceConfig {
        name: "deploys".into(),
        every: Duration::from_secs(30),
        timeout: Duration::from_secs(2),
        spec: SourceSpec::Release(ReleaseSource {
            from,
            environments: environments.iter().map(|e| (*e).to_owned()).collect(),
            pass_env: Vec::new(),
        }),
    }
}

async fn poll_release(from: ReleaseFrom, environments: &[&str]) -> Result<Observation, String> {
    let mut reports = poll_once_all(&[release_source(from, environments)]).await;
    reports.remove(0).result
}

const TWO_ENVIRONMENTS: &str = r#"{
    "prod": {"current_ref": "v2.4.1", "previous_ref": "v2.4.0", "deployed_at": "2025-05-02T09:14:00Z", "deployed_by": "ana"},
    "dev": {"current_ref": "main-8f3e2a1", "previous_ref": "main-77a0c3e"}
}"#;

fn assert_two_environments(observation: &Observation) {
    let names: Vec<&str> = observation.hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["prod", "dev"]);
    let prod = &observation.hosts[0];
    assert_eq!(prod.source, "deploys");
    assert_eq!(prod.kind, "release");
    assert_eq!(prod.version.as_deref(), Some("v2.4.1"));
    assert_eq!(prod.fields["deployed_by"], json!("ana"));
    assert_eq!(
        prod.rollback_target(),
        Some(("v2.4.1".to_owned(), "v2.4.0".to_owned()))
    );
    assert_eq!(
        observation.hosts[1].rollback_target(),
        Some(("main-8f3e2a1".to_owned(), "main-77a0c3e".to_owned()))
    );
}

#[tokio::test]
async fn release_state_from_a_file() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), TWO_ENVIRONMENTS).unwrap();
    let observation = poll_release(ReleaseFrom::File(file.path().to_owned()), &["prod", "dev"])
        .await
        .unwrap();
    assert_two_environments(&observation);

    let missing = file.path().with_extension("gone");
    let error = poll_release(ReleaseFrom::File(missing.clone()), &[])
        .await
        .unwrap_err();
    assert_eq!(
        error,
        format!(
            "reading deploy state {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[tokio::test]
async fn release_state_larger_than_the_cap_is_refused() {
    let file = tempfile::NamedTempFile::new().unwrap();
    file.as_file().set_len(9 * 1024 * 1024).unwrap();
    let error = poll_release(ReleaseFrom::File(file.path().to_owned()), &[])
        .await
        .unwrap_err();
    assert_eq!(error, "answer larger than 8 MiB, not read");
}

#[tokio::test]
async fn release_state_from_a_url() {
    let server = FakeServer::start(|request| match request.path.as_str() {
        "/deploy-state" => Reply::json(200, TWO_ENVIRONMENTS),
        _ => Reply::json(404, "no such state"),
    })
    .await;
    let observation = poll_release(
        ReleaseFrom::Url(server.url("/deploy-state")),
        &["prod", "dev"],
    )
    .await
    .unwrap();
    assert_two_environments(&observation);
    assert!(server.requests()[0].headers.contains_key("x-request-id"));

    let error = poll_release(ReleaseFrom::Url(server.url("/elsewhere")), &[])
        .await
        .unwrap_err();
    assert_eq!(
        error,
        format!("{} answered 404: no such state", server.url("/elsewhere"))
    );
}

#[tokio::test]
async fn release_state_from_a_command() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        r#"{"current_ref": "v9", "previous_ref": "v8"}"#,
    )
    .unwrap();
    let argv = vec!["cat".to_owned(), file.path().display().to_string()];
    let observation = poll_release(ReleaseFrom::Argv(argv), &[]).await.unwrap();
    let row = &observation.hosts[0];
    assert_eq!(row.name, "deploys");
    assert_eq!(row.version.as_deref(), Some("v9"));
    assert_eq!(
        row.rollback_target(),
        Some(("v9".to_owned(), "v8".to_owned()))
    );
}

#[tokio::test]
async fn a_failing_command_quotes_its_error_output() {
    let argv = vec![
        "cat".to_owned(),
        "/nonexistent/deploy-state.json".to_owned(),
    ];
    let error = poll_release(ReleaseFrom::Argv(argv), &[])
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "`cat` exit status: 1: cat: /nonexistent/deploy-state.json: No such file or directory"
    );
    let error = poll_release(
        ReleaseFrom::Argv(vec!["ondeck-no-such-program".into()]),
        &[],
    )
    .await
    .unwrap_err();
    assert_eq!(
        error,
        "starting `ondeck-no-such-program`: No such file or directory (os error 2)"
    );
}

#[tokio::test]
async fn a_command_that_prints_too_much_is_refused() {
    let argv = ["head", "-c", "9437184", "/dev/zero"]
        .map(str::to_owned)
        .to_vec();
    let error = poll_release(ReleaseFrom::Argv(argv), &[])
        .await
        .unwrap_err();
    assert_eq!(error, "answer larger than 8 MiB, not read");
}

/// Whether a process is gone or only waiting to be reaped.
fn is_dead(pid: &str) -> bool {
    match std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
    }
}

#[tokio::test]
async fn a_hung_command_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    let script = dir.path().join("hang");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec sleep 60\n",
            pid_file.display()
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&script, permissions).unwrap();

    let mut source = release_source(ReleaseFrom::Argv(vec![script.display().to_string()]), &[]);
    source.timeout = Duration::from_millis(500);
    let error = poll_once_all(&[source]).await.remove(0).result.unwrap_err();
    assert_eq!(error, "timed out after 500ms");

    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let pid = pid.trim();
    let mut waited = 0;
    while !is_dead(pid) && waited < 100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
    }
    assert!(is_dead(pid), "process {pid} still runs after the timeout");
}

#[tokio::test]
async fn the_release_poller_reads_again_at_every_poll() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), r#"{"current_ref": "v1"}"#).unwrap();
    let spec = ReleaseSource {
        from: ReleaseFrom::File(file.path().to_owned()),
        environments: Vec::new(),
        pass_env: Vec::new(),
    };
    let mut poller = ReleasePoller::new(
        "deploys",
        spec,
        TIMEOUT,
        shared_client(Redirects::SameOrigin).unwrap(),
    );
    let before = poller.poll().await.unwrap();
    assert_eq!(before.hosts[0].version.as_deref(), Some("v1"));
    assert_eq!(before.hosts[0].rollback_target(), None);
    std::fs::write(
        file.path(),
        r#"{"current_ref": "v2", "previous_ref": "v1"}"#,
    )
    .unwrap();
    let after = poller.poll().await.unwrap();
    assert_eq!(
        after.hosts[0].rollback_target(),
        Some(("v2".to_owned(), "v1".to_owned()))
    );
}

#[tokio::test]
async fn a_round_reports_in_configuration_order_whatever_answers_first() {
    let slow = FakeServer::start(|_| {
        Reply::json(200, r#"{"status":"ok"}"#).after(Duration::from_millis(300))
    })
    .await;
    let fast = FakeServer::start(|_| Reply::json(200, r#"{"status":"ok"}"#)).await;
    let source = |name: &str, server: &FakeServer| SourceConfig {
        name: name.to_owned(),
        every: Duration::from_secs(10),
        timeout: TIMEOUT,
        spec: SourceSpec::Http(health_spec(server.url("/health"))),
    };
    let reports = poll_once_all(&[source("slow", &slow), source("fast", &fast)]).await;
    let names: Vec<&str> = reports.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(names, ["slow", "fast"]);
    assert!(reports.iter().all(|r| r.kind == "http" && r.result.is_ok()));
    assert!(reports[0].latency_ms >= 300);
}
