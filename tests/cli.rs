//! The real `ondeck` binary's commands for scripts, end to end: `snapshot` against `http`
//! sources on a fake server (its exit code and the JSON the README documents), and `audit` on
//! a fresh store. Every run has a private home, so the store it opens is its own.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

#[path = "support/fake_http.rs"]
mod fake_http;
#[path = "support/tls_server.rs"]
mod tls_server;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use fake_http::{FakeServer, Reply};
use serde_json::Value;
use tempfile::TempDir;

const HEALTHY: &str = r#"{"status":"ok"}"#;

/// A user's home with nothing in it but the configuration a test writes.
struct Home {
    dir: TempDir,
    /// Environment variables every run gets besides the home's own.
    env: Vec<(String, String)>,
}

impl Home {
    fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
        }
    }

    /// Writes `sources` (TOML `[[source]]` tables) as the configuration and returns its path.
    fn config(&self, sources: &[String]) -> PathBuf {
        let path = self.dir.path().join("ondeck.toml");
        std::fs::write(&path, sources.join("\n")).unwrap();
        path
    }

    /// `ondeck ARGS` with this home and no other environment.
    async fn ondeck(&self, args: &[&str]) -> Output {
        let home = self.dir.path();
        tokio::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("USER", "alice")
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_STATE_HOME", home.join("state"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .await
            .expect("ondeck runs")
    }

    /// `ondeck snapshot [--json]` with `sources`.
    async fn snapshot(&self, sources: &[String], json: bool) -> Output {
        let config = self.config(sources);
        let mut args = vec!["snapshot", "--config", config.to_str().unwrap()];
        if json {
            args.push("--json");
        }
        self.ondeck(&args).await
    }
}

/// An `http` source on `url` that expects `{"status":"ok"}`, with `extra` keys.
fn http(name: &str, url: &str, extra: &str) -> String {
    format!(
        r#"[[source]]
name = "{name}"
kind = "http"
url = "{url}"
every = "10s"
timeout = "3s"
expect_json = {{ status = "ok" }}
{extra}
"#
    )
}

/// A loopback URL nothing listens on: a port the system just handed out and took back.
async fn dead_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/health")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The JSON a run printed, checked against the fields SPEC.md and the README document.
fn documented_json(output: &Output) -> Value {
    let json: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", text(output)));
    for array in ["hosts", "sessions", "jobs", "alerts", "audit", "sources"] {
        assert!(
            json[array].is_array(),
            "`{array}` is not an array: {json:#}"
        );
    }
    let has = |row: &Value, keys: &[&str]| {
        for key in keys {
            assert!(row.get(key).is_some(), "no `{key}` in {row:#}");
        }
    };
    for host in json["hosts"].as_array().unwrap() {
        has(
            host,
            &["source", "name", "kind", "status", "latency_ms", "age_s"],
        );
        let status = host["status"].as_str().unwrap();
        assert!(
            ["up", "degraded", "down", "stale", "unknown"].contains(&status),
            "{host:#}"
        );
        assert!(
            host["age_s"].as_i64().is_some_and(|age| age >= 0),
            "{host:#}"
        );
        assert!(
            host["latency_ms"].is_u64() || host["latency_ms"].is_null(),
            "{host:#}"
        );
    }
    for alert in json["alerts"].as_array().unwrap() {
        has(
            alert,
            &[
                "source", "name", "severity", "state", "target", "since", "silenced",
            ],
        );
        let severity = alert["severity"].as_str().unwrap();
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{alert:#}"
        );
        assert!(alert["silenced"].is_boolean(), "{alert:#}");
    }
    for source in json["sources"].as_array().unwrap() {
        has(
            source,
            &[
                "source",
                "name",
                "kind",
                "status",
                "last_success",
                "last_error",
            ],
        );
        assert_eq!(source["source"], source["name"], "{source:#}");
    }
    json
}

/// The row of `array` whose `key` is `value`.
fn find<'a>(json: &'a Value, array: &str, key: &str, value: &str) -> &'a Value {
    json[array]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row[key] == value)
        .unwrap_or_else(|| panic!("no {array} row with {key} = {value}: {json:#}"))
}

#[tokio::test]
async fn a_snapshot_of_healthy_sources_exits_0() {
    let server = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let home = Home::new();
    let sources = [
        http("api-prod", &server.url("/healthz"), ""),
        http("api-dev", &server.url("/health"), ""),
    ];

    let report = home.snapshot(&sources, false).await;
    assert_eq!(report.status.code(), Some(0), "{}", text(&report));
    let stdout = String::from_utf8_lossy(&report.stdout);
    for section in [
        "HOSTS",
        "SESSIONS",
        "JOBS",
        "ALERTS",
        "AUDIT (tail)",
        "SOURCES",
    ] {
        assert!(stdout.lines().any(|line| line == section), "{stdout}");
    }
    // The fresh store opened; a store problem would be on stderr.
    assert!(report.stderr.is_empty(), "{}", text(&report));

    let output = home.snapshot(&sources, true).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let json = documented_json(&output);
    for name in ["api-prod", "api-dev"] {
        let host = find(&json, "hosts", "name", name);
        assert_eq!(host["source"], name);
        assert_eq!(host["kind"], "http");
        assert_eq!(host["status"], "up");
        let source = find(&json, "sources", "name", name);
        assert_eq!(source["kind"], "http");
        assert_eq!(source["status"], "ok");
        assert!(source["last_success"].is_string(), "{source:#}");
        assert!(source["last_error"].is_null(), "{source:#}");
    }
    assert_eq!(json["alerts"], serde_json::json!([]));
    assert_eq!(json["audit"], serde_json::json!([]));
    assert_eq!(server.requests().len(), 4, "one request per source and run");
}

#[tokio::test]
async fn a_source_answering_503_is_critical_and_exits_2() {
    let healthy = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let failing = FakeServer::start(|_| Reply::json(503, r#"{"status":"maintenance"}"#)).await;
    let home = Home::new();
    let sources = [
        http("api-prod", &healthy.url("/healthz"), ""),
        http("api-dev", &failing.url("/healthz"), ""),
    ];

    let report = home.snapshot(&sources, false).await;
    assert_eq!(report.status.code(), Some(2), "{}", text(&report));

    let output = home.snapshot(&sources, true).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let json = documented_json(&output);
    assert_eq!(find(&json, "hosts", "name", "api-prod")["status"], "up");
    assert_eq!(find(&json, "hosts", "name", "api-dev")["status"], "down");
    // The endpoint answered, so its source works; the endpoint is what is down.
    assert_eq!(find(&json, "sources", "name", "api-dev")["status"], "ok");
    let alert = find(&json, "alerts", "name", "EndpointDown");
    assert_eq!(alert["source"], "api-dev");
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["target"], "api-dev");
    assert_eq!(alert["silenced"], false);
    assert!(alert["since"].is_string(), "{alert:#}");
    assert_eq!(json["alerts"].as_array().unwrap().len(), 1, "{json:#}");
}

#[tokio::test]
async fn a_source_nobody_answers_is_failing_with_its_host_down_and_exits_2() {
    // For a health check no answer is an answer: the source failed to get one, and the endpoint
    // is down (README, `http`).
    let healthy = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let dead = dead_url().await;
    let home = Home::new();
    let sources = [
        http("api-prod", &healthy.url("/healthz"), ""),
        http("api-dev", &dead, ""),
    ];

    let output = home.snapshot(&sources, true).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let json = documented_json(&output);
    let source = find(&json, "sources", "name", "api-dev");
    assert_eq!(source["status"], "failing");
    assert!(source["last_success"].is_null(), "{source:#}");
    let error = source["last_error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("{dead}: cannot connect")),
        "{error}"
    );
    assert_eq!(json["hosts"].as_array().unwrap().len(), 2, "{json:#}");
    assert_eq!(find(&json, "hosts", "name", "api-prod")["status"], "up");
    assert_eq!(find(&json, "hosts", "name", "api-dev")["status"], "down");
    assert_eq!(
        find(&json, "alerts", "name", "EndpointDown")["target"],
        "api-dev"
    );
}

#[tokio::test]
async fn an_answer_slower_than_latency_warn_is_a_warning_and_exits_1() {
    let slow =
        FakeServer::start(|_| Reply::json(200, HEALTHY).after(Duration::from_millis(400))).await;
    let home = Home::new();
    let sources = [http(
        "api-prod",
        &slow.url("/healthz"),
        r#"latency_warn = "100ms""#,
    )];

    let output = home.snapshot(&sources, true).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let json = documented_json(&output);
    let host = find(&json, "hosts", "name", "api-prod");
    assert_eq!(host["status"], "degraded");
    assert!(host["latency_ms"].as_u64().unwrap() >= 400, "{host:#}");
    let alert = find(&json, "alerts", "name", "EndpointSlow");
    assert_eq!(alert["severity"], "warning");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["target"], "api-prod");
}

#[tokio::test]
async fn audit_on_a_fresh_store_is_an_empty_intact_log() {
    let home = Home::new();
    let config = home.config(&[]);
    let config = config.to_str().unwrap();

    let listed = home.ondeck(&["audit", "--json", "--config", config]).await;
    assert_eq!(listed.status.code(), Some(0), "{}", text(&listed));
    let json: Value = serde_json::from_slice(&listed.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}", text(&listed)));
    assert_eq!(json, serde_json::json!([]), "{}", text(&listed));
    // The store was created in this home, not the user's.
    assert!(home.dir.path().join("data/ondeck/ondeck.db").is_file());

    let verified = home
        .ondeck(&["audit", "--verify", "--config", config])
        .await;
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout),
        "audit log OK: 0 records, hash chain intact\n"
    );
}

#[tokio::test]
async fn a_snapshot_with_an_unreadable_store_still_reports_the_sources() {
    let server = FakeServer::start(|_| Reply::json(200, HEALTHY)).await;
    let home = Home::new();
    // A database under a regular file can be neither created nor read.
    let blocker = home.dir.path().join("not-a-dir");
    std::fs::write(&blocker, "").unwrap();
    let store = format!(
        "[store]\nurl = \"sqlite://{}\"\n",
        blocker.join("ondeck.db").display()
    );
    let sources = [http("api-prod", &server.url("/healthz"), ""), store];

    // The source is up, but a report without jobs and audit is not all clear.
    let output = home.snapshot(&sources, true).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the store is not readable") && stderr.contains("not-a-dir"),
        "{stderr}"
    );
    let json = documented_json(&output);
    assert_eq!(find(&json, "hosts", "name", "api-prod")["status"], "up");
    assert_eq!(json["jobs"], serde_json::json!([]));
}

/// A home whose trust store is the test CA alone, as `SSL_CERT_FILE` sets it for every client.
fn trusting(ca: &tls_server::TestCa) -> Home {
    let mut home = Home::new();
    let path = home.dir.path().join("ca.pem");
    std::fs::write(&path, &ca.pem).unwrap();
    home.env
        .push(("SSL_CERT_FILE".to_owned(), path.display().to_string()));
    home
}

#[tokio::test]
async fn an_https_certificate_close_to_expiry_is_a_warning_with_its_days_left() {
    let ca = tls_server::TestCa::new();
    let server = tls_server::TlsServer::start(&ca, 10).await;
    let home = trusting(&ca);
    let sources = [http("api", &server.url("/healthz"), "tls_warn_days = 14")];

    let output = home.snapshot(&sources, true).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let json = documented_json(&output);
    let host = find(&json, "hosts", "name", "api");
    assert_eq!(host["status"], "degraded", "{host:#}");
    assert_eq!(host["fields"]["http_status"], 200);
    assert_eq!(host["fields"]["tls_days_left"], 10, "{host:#}");
    let alert = find(&json, "alerts", "name", "TlsCertificateExpiring");
    assert_eq!(alert["severity"], "warning");
    assert!(
        alert["summary"]
            .as_str()
            .unwrap()
            .starts_with("certificate expires in 10 days"),
        "{alert:#}"
    );

    // With more days left than the warning, the same endpoint is healthy.
    let sources = [http("api", &server.url("/healthz"), "tls_warn_days = 7")];
    let output = home.snapshot(&sources, true).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let json = documented_json(&output);
    assert_eq!(find(&json, "hosts", "name", "api")["status"], "up");
}

/// The error of an `api` source on `server` whose poll fails, as `snapshot` reports it (exit 2:
/// its endpoint is down).
async fn failing_api(home: &Home, server: &tls_server::TlsServer) -> String {
    let output = home
        .snapshot(&[http("api", &server.url("/healthz"), "")], true)
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let json = documented_json(&output);
    find(&json, "sources", "name", "api")["last_error"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn an_untrusted_or_expired_certificate_fails_the_handshake_and_says_why() {
    let ca = tls_server::TestCa::new();
    let valid = tls_server::TlsServer::start(&ca, 90).await;
    let expired = tls_server::TlsServer::start(&ca, -2).await;

    // The system's trust store does not know the test CA.
    let error = failing_api(&Home::new(), &valid).await;
    assert!(
        error.contains("TLS handshake failed") && error.contains("UnknownIssuer"),
        "{error}"
    );

    // Trusted, but past its date.
    let error = failing_api(&trusting(&ca), &expired).await;
    // Two days less the hour the test certificate adds, to the minute.
    assert!(
        error.contains("TLS handshake failed: the server's certificate expired on ")
            && error.ends_with(" UTC (1day 23h ago)"),
        "{error}"
    );
}
