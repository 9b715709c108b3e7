//! `ondeck snapshot`: gathering, exit codes, JSON and text.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ondeck::model::{
    AlertRow, AlertState, AuditRow, HostRow, HostStatus, JobRow, Observation, SessionRow, Severity,
    SourceRow, SourceStatus, StoreRows,
};
use ondeck::snapshot::{Snapshot, build, exit_code, format_text, to_json};
use ondeck::sources::PollReport;
use serde_json::Value;

fn t(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
}

fn host(source: &str, name: &str, status: HostStatus, observed_at: DateTime<Utc>) -> HostRow {
    HostRow {
        source: source.into(),
        name: name.into(),
        kind: "http".into(),
        status,
        latency_ms: Some(42),
        cpu_pct: Some(12.5),
        mem_pct: None,
        disk_pct: None,
        load1: None,
        uptime_s: None,
        version: Some("1.4.2".into()),
        observed_at,
        fields: BTreeMap::from([("tls_days_left".to_owned(), serde_json::json!(40))]),
    }
}

fn alert(name: &str, severity: Severity, state: AlertState, silenced: bool) -> AlertRow {
    AlertRow {
        source: "prom".into(),
        name: name.into(),
        severity,
        state,
        target: "api-1.example.com".into(),
        since: Some(t(-600)),
        silenced,
        summary: "something is off".into(),
        fingerprint: String::new(),
        labels: BTreeMap::new(),
        observed_at: t(-5),
    }
}

fn report(source: &str, result: Result<Observation, String>) -> PollReport {
    PollReport {
        source: source.into(),
        kind: "http",
        every: Duration::from_secs(10),
        at: t(-5),
        latency_ms: 42,
        result,
        unanswered: None,
    }
}

fn audit(seq: i64) -> AuditRow {
    AuditRow {
        source: "store".into(),
        seq,
        time: t(-1000 + seq),
        operator: "alice".into(),
        action: "backup-db".into(),
        target: "db1".into(),
        outcome: "SUCCEEDED".into(),
        request_id: format!("req-{seq}"),
        detail: String::new(),
        identity: None,
        job_id: None,
        error: None,
    }
}

fn job() -> JobRow {
    JobRow {
        source: "store".into(),
        id: "j-1".into(),
        action: "backup-db".into(),
        target: "db1".into(),
        operator: "alice".into(),
        state: "RUNNING".into(),
        progress: Some(0.5),
        started: Some(t(-90)),
        finished: None,
        result: None,
        observed_at: t(0),
    }
}

fn operator_session() -> SessionRow {
    SessionRow {
        source: "ondeck".into(),
        user: "alice".into(),
        client: "192.0.2.7".into(),
        state: "active".into(),
        since: Some(t(-3600)),
        detail: String::new(),
        observed_at: t(0),
        fields: BTreeMap::new(),
    }
}

fn sample() -> Snapshot {
    let api = Observation {
        hosts: vec![host("api", "api-1.example.com", HostStatus::Up, t(-5))],
        alerts: vec![
            alert(
                "TLSCertExpiring",
                Severity::Warning,
                AlertState::Firing,
                false,
            ),
            alert("ServiceDown", Severity::Critical, AlertState::Firing, true),
        ],
        ..Observation::default()
    };
    build(
        vec![
            report("api", Ok(api)),
            report("bao", Err("timed out after 3s".into())),
        ],
        StoreRows {
            jobs: vec![job()],
            audit: vec![audit(2), audit(1)],
            sessions: vec![operator_session()],
            alerts: Vec::new(),
            approvals: Vec::new(),
        },
        t(0),
    )
}

#[test]
fn build_gathers_every_source_and_the_store() {
    let snapshot = sample();
    assert_eq!(snapshot.hosts.len(), 1);
    assert_eq!(snapshot.jobs.len(), 1);
    assert_eq!(snapshot.sessions.len(), 1);
    let names: Vec<&str> = snapshot.alerts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["ServiceDown", "TLSCertExpiring"],
        "most severe first"
    );
    let seqs: Vec<i64> = snapshot.audit.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, [1, 2], "oldest first");

    let [api, bao] = &snapshot.sources[..] else {
        panic!("two source rows: {:?}", snapshot.sources)
    };
    assert_eq!(api.status, SourceStatus::Ok);
    assert_eq!(api.last_success, Some(t(-5)));
    assert_eq!(bao.status, SourceStatus::Failing);
    assert_eq!(bao.last_error.as_deref(), Some("timed out after 3s"));
    assert_eq!(bao.consecutive_failures, 1);
    assert_eq!(bao.every_s, 10);
}

fn with_alerts(alerts: Vec<AlertRow>) -> Snapshot {
    let observation = Observation {
        alerts,
        ..Observation::default()
    };
    build(
        vec![report("prom", Ok(observation))],
        StoreRows::default(),
        t(0),
    )
}

#[test]
fn exit_code_says_how_bad_it_is() {
    use AlertState::Firing;
    use Severity::{Critical, Info, Warning};
    assert_eq!(exit_code(&with_alerts(vec![])), 0);
    assert_eq!(
        exit_code(&with_alerts(vec![alert("A", Info, Firing, false)])),
        0
    );
    assert_eq!(
        exit_code(&with_alerts(vec![alert("A", Warning, Firing, false)])),
        1
    );
    assert_eq!(
        exit_code(&with_alerts(vec![
            alert("A", Warning, Firing, false),
            alert("B", Critical, Firing, false),
        ])),
        2
    );
}

#[test]
fn silenced_pending_and_resolved_alerts_do_not_count() {
    use AlertState::{Firing, Pending, Resolved};
    let quiet = with_alerts(vec![
        alert("A", Severity::Critical, Firing, true),
        alert("B", Severity::Critical, Pending, false),
        alert("C", Severity::Critical, Resolved, false),
    ]);
    assert_eq!(exit_code(&quiet), 0);
}

#[test]
fn an_alert_silenced_in_alertmanager_is_listed_once_and_does_not_count() {
    let service_down = |source: &str, silenced: bool| AlertRow {
        source: source.into(),
        fingerprint: "60c2a5111a4c195a".into(),
        ..alert(
            "ServiceDown",
            Severity::Critical,
            AlertState::Firing,
            silenced,
        )
    };
    let raised = |alert: AlertRow| {
        Ok(Observation {
            alerts: vec![alert],
            ..Observation::default()
        })
    };
    let snapshot = build(
        vec![
            PollReport {
                kind: "prometheus",
                ..report("prom", raised(service_down("prom", false)))
            },
            PollReport {
                kind: "alertmanager",
                ..report("am", raised(service_down("am", true)))
            },
        ],
        StoreRows::default(),
        t(0),
    );
    assert_eq!(snapshot.alerts.len(), 1, "{:?}", snapshot.alerts);
    assert_eq!(snapshot.alerts[0].source, "am");
    assert_eq!(exit_code(&snapshot), 0, "the silence holds");
}

#[test]
fn a_failing_source_is_a_warning_and_a_down_host_is_critical() {
    let failing = build(
        vec![report("bao", Err("connection refused".into()))],
        StoreRows::default(),
        t(0),
    );
    assert_eq!(exit_code(&failing), 1);

    let down = Observation {
        hosts: vec![host("api", "api-1.example.com", HostStatus::Down, t(0))],
        ..Observation::default()
    };
    let down = build(vec![report("api", Ok(down))], StoreRows::default(), t(0));
    assert_eq!(exit_code(&down), 2);

    // The silenced critical alert in the sample is ignored; the warning and the failing source
    // are what count.
    assert_eq!(exit_code(&sample()), 1);
}

#[test]
fn a_host_whose_state_is_unknown_is_not_all_clear() {
    // A backup action whose directory cannot be read, say: its source answered, its row did not.
    let unknown = Observation {
        hosts: vec![host("backups", "backup-app-db", HostStatus::Unknown, t(0))],
        ..Observation::default()
    };
    let unknown = build(
        vec![report("backups", Ok(unknown))],
        StoreRows::default(),
        t(0),
    );
    assert_eq!(exit_code(&unknown), 1);

    let up = Observation {
        hosts: vec![host("api", "api-1.example.com", HostStatus::Up, t(0))],
        ..Observation::default()
    };
    let up = build(vec![report("api", Ok(up))], StoreRows::default(), t(0));
    assert_eq!(exit_code(&up), 0);
}

fn keys(row: &Value) -> Vec<&str> {
    row.as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn json_has_the_documented_shape() {
    let json: Value = serde_json::from_str(&to_json(&sample())).unwrap();
    for array in ["hosts", "sessions", "jobs", "alerts", "audit", "sources"] {
        let rows = json[array].as_array().unwrap_or_else(|| panic!("{array}"));
        assert!(!rows.is_empty(), "{array} has the sample's rows");
        for row in rows {
            assert!(
                row["source"].is_string(),
                "{array} row without source: {row}"
            );
        }
    }

    let host = &json["hosts"][0];
    for key in ["name", "kind", "status", "latency_ms", "age_s"] {
        assert!(keys(host).contains(&key), "host lacks {key}: {host}");
    }
    assert_eq!(host["status"], "up");
    assert_eq!(host["age_s"], 5);
    assert_eq!(host["latency_ms"], 42);
    assert_eq!(host["tls_days_left"], 40, "kind fields are on the row");
    assert_eq!(host["fields"]["tls_days_left"], 40, "and kept under fields");

    let alert = &json["alerts"][0];
    for key in ["name", "severity", "state", "target", "since", "silenced"] {
        assert!(keys(alert).contains(&key), "alert lacks {key}: {alert}");
    }
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["silenced"], true);

    let failing = &json["sources"][1];
    for key in ["name", "kind", "status", "last_success", "last_error"] {
        assert!(
            keys(failing).contains(&key),
            "source lacks {key}: {failing}"
        );
    }
    assert_eq!(failing["source"], "bao");
    assert_eq!(failing["status"], "failing");
    assert_eq!(failing["last_success"], Value::Null);
    assert_eq!(failing["last_error"], "timed out after 3s");
}

#[test]
fn an_openbao_node_has_its_seal_fields_on_the_row_and_clashes_keep_the_column() {
    let mut node = host("bao", "bao", HostStatus::Down, t(0));
    node.fields = BTreeMap::from([
        ("sealed".to_owned(), serde_json::json!(true)),
        ("t".to_owned(), serde_json::json!(3)),
        ("n".to_owned(), serde_json::json!(5)),
        ("progress".to_owned(), serde_json::json!(1)),
        (
            "status".to_owned(),
            serde_json::json!("a named query's column"),
        ),
    ]);
    let snapshot = Snapshot {
        hosts: vec![node],
        ..with_alerts(Vec::new())
    };
    let json: Value = serde_json::from_str(&to_json(&snapshot)).unwrap();
    let row = &json["hosts"][0];
    assert_eq!(row["sealed"], true);
    assert_eq!((row["t"].as_u64(), row["n"].as_u64()), (Some(3), Some(5)));
    assert_eq!(row["progress"], 1);
    assert_eq!(row["status"], "down", "a standard column wins");
    assert_eq!(row["fields"]["status"], "a named query's column");
}

#[test]
fn text_report_has_every_section_with_aligned_columns() {
    let text = format_text(&sample());
    let sections = [
        "HOSTS",
        "SESSIONS",
        "JOBS",
        "ALERTS",
        "AUDIT (tail)",
        "SOURCES",
    ];
    let positions: Vec<usize> = sections
        .iter()
        .map(|title| {
            text.find(&format!("\n{title}\n"))
                .unwrap_or_else(|| panic!("no {title} in\n{text}"))
        })
        .collect();
    assert!(positions.is_sorted(), "sections in pane order:\n{text}");

    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|line| line.trim_start().starts_with("NAME") && line.contains("LAST ERROR"))
        .unwrap();
    let column = |line: &str, cell: &str| line.find(cell).unwrap();
    let error_column = column(lines[header], "LAST ERROR");
    assert_eq!(
        column(lines[header + 2], "timed out after 3s"),
        error_column,
        "{text}"
    );
    assert_eq!(
        column(lines[header + 1], "api"),
        column(lines[header], "NAME")
    );
    assert!(text.contains("ServiceDown"));
    assert!(text.contains("50%"), "job progress:\n{text}");
}

#[test]
fn empty_sections_say_so_and_the_audit_tail_is_short() {
    let many: Vec<AuditRow> = (1..=50).map(audit).collect();
    let snapshot = build(
        vec![],
        StoreRows {
            audit: many,
            ..StoreRows::default()
        },
        t(0),
    );
    let text = format_text(&snapshot);
    assert!(text.contains("HOSTS\n  (none)\n"), "{text}");
    assert!(text.contains("req-50"));
    assert!(text.contains("req-31"));
    assert!(!text.contains("req-30\n") && !text.contains("req-30 "));
    assert_eq!(exit_code(&snapshot), 0);
}

#[test]
fn escape_sequences_from_a_source_do_not_reach_the_terminal() {
    let mut hostile = alert(
        "Evil\u{1b}[2J",
        Severity::Warning,
        AlertState::Firing,
        false,
    );
    hostile.target = "db-1\u{7}\u{1b}]0;owned\u{7}".into();
    let text = format_text(&with_alerts(vec![hostile]));
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text:?}"
    );
    assert!(text.contains("Evil\\u{1b}[2J"), "{text}");
}

#[test]
fn a_source_not_heard_from_is_no_all_clear_and_the_report_says_it_is_waiting() {
    let mut snapshot = build(
        vec![report("api", Ok(Observation::default()))],
        StoreRows::default(),
        t(0),
    );
    assert_eq!(exit_code(&snapshot), 0);
    assert!(format_text(&snapshot).contains("\nALERTS\n  (none)\n"));
    snapshot.sources.push(SourceRow::pending(
        "prom",
        "prometheus",
        Duration::from_secs(10),
    ));
    assert_eq!(snapshot.waiting_for(), ["prom"]);
    assert_eq!(exit_code(&snapshot), 1, "unknown is never all clear");
    let text = format_text(&snapshot);
    assert!(
        text.contains("\nALERTS (waiting for sources: prom)\n  (none)\n"),
        "{text}"
    );
}

#[test]
fn an_unanswered_poll_shows_what_it_still_says_and_the_source_failing() {
    let down = Observation {
        hosts: vec![host("api", "api", HostStatus::Down, t(-5))],
        ..Observation::default()
    };
    let snapshot = build(
        vec![PollReport {
            unanswered: Some(down),
            ..report("api", Err("timed out after 1s".into()))
        }],
        StoreRows::default(),
        t(0),
    );
    assert_eq!(snapshot.hosts.len(), 1);
    assert_eq!(snapshot.sources[0].status, SourceStatus::Failing);
    assert_eq!(exit_code(&snapshot), 2, "a down host is critical");
}

/// `ondeck snapshot --json` over `config` (TOML) in a home of its own: its exit code and JSON.
async fn run_snapshot(config: &str) -> (i32, Value) {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("ondeck.toml");
    std::fs::write(&path, config).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .args(["snapshot", "--json", "--config", path.to_str().unwrap()])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("USER", "alice")
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_STATE_HOME", home.path().join("state"))
        .output()
        .await
        .expect("ondeck runs");
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().expect("an exit code"), json)
}

fn http_source(name: &str, url: &str, timeout: &str) -> String {
    format!(
        "[[source]]\nname = \"{name}\"\nkind = \"http\"\nurl = \"{url}\"\nevery = \"10s\"\ntimeout = \"{timeout}\"\n"
    )
}

/// A loopback port nothing listens on: bound, then let go.
fn refusing_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn rows<'a>(json: &'a Value, key: &str) -> &'a [Value] {
    json[key].as_array().map(Vec::as_slice).unwrap_or_default()
}

#[tokio::test]
async fn endpoints_refusing_connections_are_down_hosts_with_critical_alerts_and_exit_2() {
    let names = ["api", "web", "admin"];
    let config: String = names
        .iter()
        .map(|name| {
            let url = format!("http://127.0.0.1:{}/healthz", refusing_port());
            http_source(name, &url, "2s")
        })
        .collect();
    let (code, json) = run_snapshot(&config).await;
    assert_eq!(code, 2, "{json:#}");
    let hosts = rows(&json, "hosts");
    assert_eq!(hosts.len(), 3, "{json:#}");
    for (host, name) in hosts.iter().zip(names) {
        assert_eq!(host["name"], name);
        assert_eq!(host["status"], "down");
        let reason = host["reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with("cannot connect") && reason.contains("Connection refused"),
            "{reason}"
        );
    }
    let alerts = rows(&json, "alerts");
    assert_eq!(alerts.len(), 3, "one alert per endpoint: {json:#}");
    assert!(
        alerts
            .iter()
            .all(|a| a["name"] == "EndpointDown" && a["severity"] == "critical"),
        "{json:#}"
    );
    assert!(
        rows(&json, "sources")
            .iter()
            .all(|s| s["status"] == "failing"),
        "the sources got no answer: {json:#}"
    );
}

#[tokio::test]
async fn an_endpoint_that_hangs_is_down_after_its_timeout_and_exits_2() {
    // Accepts the connection and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let (code, json) = run_snapshot(&http_source("api", &url, "1s")).await;
    hold.abort();
    assert_eq!(code, 2, "{json:#}");
    let host = &rows(&json, "hosts")[0];
    assert_eq!(host["status"], "down", "{json:#}");
    assert_eq!(host["reason"], "timed out after 1s", "{json:#}");
    let alert = &rows(&json, "alerts")[0];
    assert_eq!(alert["name"], "EndpointDown");
    assert_eq!(alert["summary"], "timed out after 1s");
    assert_eq!(
        rows(&json, "sources")[0]["last_error"],
        "timed out after 1s"
    );
}
