//! The `postgres` source against a real server (started by scripts/test-all.sh, found through
//! ONDECK_TEST_PG_URL), each test in a fresh database of its own.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::Utc;
use ondeck::config::{self, PgQuery, PostgresSource, QueryTarget, Secret, SourceSpec};
use ondeck::model::{AlertRow, HostStatus, Observation, Severity};
use ondeck::sources::postgres::SUPERUSER;
use ondeck::sources::{Poller, PostgresPoller};
use serde_json::json;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Executor};

const NEEDS_SERVICES: &str = "needs services: scripts/test-all.sh";

fn admin_url() -> String {
    std::env::var("ONDECK_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("ONDECK_TEST_PG_URL is not set; {NEEDS_SERVICES} starts PostgreSQL and sets it")
    })
}

/// A database created for one test, dropped by [`TestDb::drop_now`].
struct TestDb {
    name: String,
    url: String,
}

impl TestDb {
    async fn create() -> TestDb {
        let admin = admin_url();
        let name = format!("ondeck_test_{}", uuid::Uuid::new_v4().simple());
        let mut connection = PgConnection::connect(&admin).await.unwrap();
        connection
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        let mut url = reqwest::Url::parse(&admin).unwrap();
        url.set_path(&name);
        TestDb {
            name,
            url: url.to_string(),
        }
    }

    async fn connect(&self, application_name: &str) -> PgConnection {
        let options = PgConnectOptions::from_str(&self.url)
            .unwrap()
            .application_name(application_name);
        PgConnection::connect_with(&options).await.unwrap()
    }

    async fn drop_now(self) {
        let mut connection = PgConnection::connect(&admin_url()).await.unwrap();
        connection
            .execute(format!("DROP DATABASE {} WITH (FORCE)", self.name).as_str())
            .await
            .unwrap();
    }
}

fn source(url: &str, queries: Vec<PgQuery>) -> PostgresSource {
    PostgresSource {
        url: Secret::Literal(url.to_owned()),
        max_connections_warn: None,
        connections_warn_pct: None,
        replication_lag_warn: Some(Duration::from_secs(30)),
        ca_file: None,
        queries,
    }
}

/// The alerts a poll raised besides [`SUPERUSER`]: the tests poll as the test server's
/// superuser, which [`a_superuser_session_is_warned_about_and_a_monitoring_role_is_not`]
/// covers.
fn alerts(seen: &Observation) -> Vec<&AlertRow> {
    seen.alerts.iter().filter(|a| a.name != SUPERUSER).collect()
}

fn poller(spec: PostgresSource) -> PostgresPoller {
    PostgresPoller::new("pg", spec, Duration::from_secs(10), Duration::from_secs(5))
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn sessions_and_connections_of_a_real_server() {
    let db = TestDb::create().await;
    let mut spec = source(&db.url, Vec::new());
    spec.max_connections_warn = Some(1);
    let mut poller = poller(spec);
    let someone = db.connect("someone").await;

    let seen = poller.poll().await.unwrap();
    let theirs: Vec<_> = seen
        .sessions
        .iter()
        .filter(|s| s.fields.get("application_name") == Some(&json!("someone")))
        .collect();
    assert_eq!(theirs.len(), 1, "{:?}", seen.sessions);
    let session = theirs[0];
    assert_eq!(session.source, "pg");
    assert_eq!(session.user, "postgres");
    assert_eq!(session.client, "127.0.0.1");
    assert_eq!(session.state, "idle");
    assert_eq!(session.fields["datname"], json!(db.name));
    assert!(session.fields["pid"].as_i64().unwrap() > 0);
    assert!(session.since.unwrap() <= Utc::now());
    assert!(
        seen.sessions
            .iter()
            .all(|s| s.fields.get("application_name") != Some(&json!("ondeck"))),
        "ondeck's own connections are not sessions"
    );

    let server = &seen.hosts[0];
    assert_eq!(
        (server.name.as_str(), server.kind.as_str()),
        ("pg", "postgres")
    );
    assert!(!server.version.as_deref().unwrap().is_empty());
    assert!(server.latency_ms.is_some());
    let connections = server.fields["connections"].as_i64().unwrap();
    assert!(connections >= 2, "ondeck and someone: {connections}");
    assert!(server.fields["max_connections"].as_i64().unwrap() >= connections);
    assert_eq!(server.fields["in_recovery"], json!(false));
    assert!(!server.fields.contains_key("replication_lag_s"));
    // More than the configured one connection: the runbook's alert, as a warning.
    assert_eq!(server.status, HostStatus::Degraded);
    let raised = alerts(&seen);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(raised[0].name, "HighDatabaseConnections");
    assert_eq!(raised[0].severity, Severity::Warning);

    someone.close().await.unwrap();
    let seen = poller.poll().await.unwrap();
    assert!(
        seen.sessions
            .iter()
            .all(|s| s.fields.get("application_name") != Some(&json!("someone")))
    );
    drop(poller);
    db.drop_now().await;
}

/// The certificate hub's tables as runbook 001's queries use them, with rows in every state.
const CERTHUB_SCHEMA: &str = r#"
CREATE TABLE devices (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    hostname text NOT NULL, domain text, os_version text, agent_version text,
    last_seen_at timestamptz, last_heartbeat_at timestamptz,
    is_allowed boolean NOT NULL DEFAULT true, created_at timestamptz NOT NULL DEFAULT now());
-- An enum, as an ORM would declare the job state.
CREATE TYPE install_status AS ENUM ('REQUESTED', 'PENDING', 'DONE', 'DENIED');
CREATE TABLE install_jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), cert_id integer NOT NULL,
    device_id uuid REFERENCES devices(id), requested_by_user_id integer, approved_by text,
    status install_status NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE TABLE audit_log (
    id bigserial PRIMARY KEY, action text NOT NULL, actor_user_id integer,
    actor_device_id uuid, entity_id text, "timestamp" timestamptz NOT NULL, meta_json jsonb);
INSERT INTO devices (id, hostname, domain, os_version, agent_version, last_heartbeat_at) VALUES
    ('00000000-0000-0000-0000-000000000001', 'PC-01', 'NETOCMS', 'Windows 11', '1.0.0', now() - interval '1 minute'),
    ('00000000-0000-0000-0000-000000000002', 'PC-02', 'NETOCMS', 'Windows 10', '0.9.0', now() - interval '2 hours'),
    ('00000000-0000-0000-0000-000000000003', 'PC-03', NULL, 'Windows 11', '1.0.0', NULL);
INSERT INTO install_jobs (id, cert_id, device_id, requested_by_user_id, status, created_at, updated_at) VALUES
    ('10000000-0000-0000-0000-000000000001', 7, '00000000-0000-0000-0000-000000000001', 42, 'REQUESTED', now() - interval '3 minutes', now() - interval '3 minutes'),
    ('10000000-0000-0000-0000-000000000002', 7, '00000000-0000-0000-0000-000000000002', 42, 'PENDING', now() - interval '2 hours', now() - interval '1 hour'),
    ('10000000-0000-0000-0000-000000000003', 9, '00000000-0000-0000-0000-000000000001', 43, 'DONE', now() - interval '1 day', now() - interval '23 hours');
INSERT INTO audit_log (action, actor_user_id, actor_device_id, entity_id, "timestamp", meta_json) VALUES
    ('INSTALL_REQUESTED', 42, NULL, '10000000-0000-0000-0000-000000000001', now() - interval '3 minutes', '{"device": "PC-01"}'),
    ('INSTALL_APPROVED', 1, NULL, '10000000-0000-0000-0000-000000000002', now() - interval '1 hour', '{"reason": "piloto"}'),
    ('INSTALL_DENIED', 1, NULL, '10000000-0000-0000-0000-000000000004', now() - interval '2 hours', NULL),
    ('CERT_REMOVED_18H', NULL, '00000000-0000-0000-0000-000000000001', 'thumbprint-ab12', now() - interval '3 hours', '{"removed": 2}'),
    ('LOGIN', 1, NULL, NULL, now(), NULL);
"#;

fn certificate_hub_queries() -> Vec<PgQuery> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/certificate-hub.toml");
    let loaded = config::load(Some(&path)).unwrap();
    match loaded.source("certhub-db").map(|s| &s.spec) {
        Some(SourceSpec::Postgres(db)) => db.queries.clone(),
        other => panic!("certhub-db is not a postgres source: {other:?}"),
    }
}

fn host<'a>(seen: &'a Observation, name: &str) -> &'a ondeck::model::HostRow {
    seen.hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name}: {:?}", seen.hosts))
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_certificate_hub_example_queries_map_its_tables() {
    let db = TestDb::create().await;
    let mut setup = db.connect("setup").await;
    setup.execute(CERTHUB_SCHEMA).await.unwrap();
    setup.close().await.unwrap();
    let mut poller = poller(source(&db.url, certificate_hub_queries()));
    let seen = poller.poll().await.unwrap();
    assert!(alerts(&seen).is_empty(), "{:?}", seen.alerts);

    let devices: Vec<(&str, &str, HostStatus, Option<&str>)> = seen.hosts[1..]
        .iter()
        .map(|h| {
            (
                h.name.as_str(),
                h.kind.as_str(),
                h.status,
                h.version.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        devices,
        [
            ("PC-01", "windows-agent", HostStatus::Up, Some("1.0.0")),
            ("PC-02", "windows-agent", HostStatus::Down, Some("0.9.0")),
            ("PC-03", "windows-agent", HostStatus::Unknown, Some("1.0.0")),
            ("cleanup-18h", "scheduled-task", HostStatus::Up, None),
        ],
        "heartbeats older than down_after are down; never seen is unknown"
    );
    let pc1 = host(&seen, "PC-01");
    assert_eq!(pc1.fields["domain"], json!("NETOCMS"));
    assert_eq!(pc1.fields["is_allowed"], json!(true));
    assert_eq!(pc1.fields["os_version"], json!("Windows 11"));
    assert!((55..=65).contains(&pc1.fields["last_seen_age_s"].as_i64().unwrap()));
    assert!(
        !pc1.fields.contains_key("hostname"),
        "mapped columns are not extras"
    );

    let jobs: Vec<(&str, &str, &str, &str, bool)> = seen
        .jobs
        .iter()
        .map(|j| {
            (
                j.id.as_str(),
                j.action.as_str(),
                j.target.as_str(),
                j.state.as_str(),
                j.finished.is_some(),
            )
        })
        .collect();
    assert_eq!(
        jobs,
        [
            (
                "10000000-0000-0000-0000-000000000001",
                "install 7",
                "PC-01",
                "REQUESTED",
                false
            ),
            (
                "10000000-0000-0000-0000-000000000002",
                "install 7",
                "PC-02",
                "PENDING",
                false
            ),
            (
                "10000000-0000-0000-0000-000000000003",
                "install 9",
                "PC-01",
                "DONE",
                true
            ),
        ]
    );
    assert_eq!(seen.jobs[0].operator, "42");
    assert!(seen.jobs.iter().all(|j| j.started.is_some()));
    assert!(seen.jobs[2].duration_s(Utc::now()) == Some(3600));

    let audit: Vec<(&str, &str, &str)> = seen
        .audit
        .iter()
        .map(|a| (a.action.as_str(), a.operator.as_str(), a.target.as_str()))
        .collect();
    assert_eq!(
        audit,
        [
            (
                "INSTALL_REQUESTED",
                "42",
                "10000000-0000-0000-0000-000000000001"
            ),
            (
                "INSTALL_APPROVED",
                "1",
                "10000000-0000-0000-0000-000000000002"
            ),
            (
                "INSTALL_DENIED",
                "1",
                "10000000-0000-0000-0000-000000000004"
            ),
            (
                "CERT_REMOVED_18H",
                "00000000-0000-0000-0000-000000000001",
                "thumbprint-ab12"
            ),
        ],
        "newest first, only the install and cleanup actions"
    );
    assert_eq!(seen.audit[1].detail, r#"{"reason":"piloto"}"#);
    assert_eq!(seen.audit[2].detail, "", "NULL meta_json");
    assert!(seen.audit.iter().all(|a| a.source == "pg"));
    drop(poller);
    db.drop_now().await;
}

fn named(name: &str, sql: &str, maps_to: QueryTarget, columns: &[(&str, &str)]) -> PgQuery {
    PgQuery {
        name: name.to_owned(),
        sql: sql.to_owned(),
        maps_to,
        columns: columns
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect(),
        down_after: None,
        max_rows: PgQuery::DEFAULT_MAX_ROWS,
    }
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_broken_named_query_is_an_alert_and_the_rest_still_shows() {
    let db = TestDb::create().await;
    let mut setup = db.connect("setup").await;
    setup.execute(CERTHUB_SCHEMA).await.unwrap();
    setup.close().await.unwrap();
    let queries = vec![
        named(
            "devices",
            "SELECT hostname AS name, last_heartbeat_at FROM devices",
            QueryTarget::Hosts,
            &[("last_seen", "last_heartbeat")],
        ),
        named(
            "load",
            "SELECT hostname AS name, 12.5::numeric AS cpu_pct FROM devices",
            QueryTarget::Hosts,
            &[],
        ),
        named(
            "sneaky",
            "INSERT INTO devices (hostname) VALUES ('PC-99') RETURNING hostname AS name",
            QueryTarget::Hosts,
            &[],
        ),
        named(
            "jobs",
            "SELECT id, status AS state FROM install_jobs",
            QueryTarget::Jobs,
            &[],
        ),
    ];
    let mut poller = poller(source(&db.url, queries));
    let seen = poller.poll().await.unwrap();

    let failures: Vec<(&str, &str)> = alerts(&seen)
        .iter()
        .map(|a| (a.target.as_str(), a.summary.as_str()))
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        alerts(&seen)
            .iter()
            .all(|a| a.name == "PostgresQueryFailed")
    );
    assert_eq!(
        failures[0],
        (
            "pg:devices",
            "query `devices`: its result has no column `last_heartbeat` for the hosts field \
             `last_seen` (it has: name, last_heartbeat_at); fix the SQL or `columns.last_seen`"
        )
    );
    assert_eq!(failures[1].0, "pg:load");
    assert!(
        failures[1].1.contains("`cpu_pct` has type NUMERIC") && failures[1].1.contains("::float8"),
        "{}",
        failures[1].1
    );
    assert_eq!(failures[2].0, "pg:sneaky");
    assert!(
        failures[2].1.contains("read-only transaction"),
        "{}",
        failures[2].1
    );
    // The server's own rows and the working query still show.
    assert_eq!(seen.hosts[0].kind, "postgres");
    assert_eq!(seen.hosts[0].status, HostStatus::Up);
    assert_eq!(
        seen.hosts[0].fields["failed_queries"],
        json!(["devices", "load", "sneaky"])
    );
    assert_eq!(seen.jobs.len(), 3);
    let mut check = db.connect("check").await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM devices WHERE hostname = 'PC-99'")
        .fetch_one(&mut check)
        .await
        .unwrap();
    assert_eq!(count, 0, "the writing query was refused");
    check.close().await.unwrap();
    drop(poller);
    db.drop_now().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_refused_login_names_the_server_but_not_the_password() {
    let mut url = reqwest::Url::parse(&admin_url()).unwrap();
    url.set_username("nobody").unwrap();
    url.set_password(Some("s3cret-pw")).unwrap();
    url.set_path("nowhere");
    let error = poller(source(url.as_str(), Vec::new()))
        .poll()
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("nobody:***@127.0.0.1"), "{error}");
    assert!(error.contains(r#"role "nobody" does not exist"#), "{error}");
    assert!(!error.contains("s3cret-pw"), "{error}");
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_without_the_password() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://ondeck:s3cret-pw@127.0.0.1:{port}/ondeck");
    let mut poller = PostgresPoller::new(
        "pg",
        source(&url, Vec::new()),
        Duration::from_secs(10),
        Duration::from_secs(1),
    );
    let error = poller.poll().await.unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("postgres://ondeck:***@127.0.0.1:{port}/ondeck: ")),
        "{error}"
    );
    assert!(error.contains("no connection within"), "{error}");
    assert!(!error.contains("s3cret-pw"), "{error}");
}

#[tokio::test]
async fn a_missing_secret_is_reported_by_name_at_poll_time() {
    let spec = PostgresSource {
        url: Secret::Env("ONDECK_TEST_SURELY_UNSET_PG_URL".into()),
        ..source("postgres://unused@127.0.0.1/x", Vec::new())
    };
    let error = poller(spec).poll().await.unwrap_err().to_string();
    assert!(
        error.contains("environment variable `ONDECK_TEST_SURELY_UNSET_PG_URL` is not set"),
        "{error}"
    );
}

#[tokio::test]
async fn a_server_that_never_answered_is_a_down_host_until_it_does() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://ondeck@127.0.0.1:{port}/ondeck");
    let mut poller = PostgresPoller::new(
        "pg",
        source(&url, Vec::new()),
        Duration::from_secs(10),
        Duration::from_secs(1),
    );
    let error = poller.poll().await.unwrap_err();
    let shown = poller
        .unanswered(&error, Utc::now())
        .expect("the first poll's failure shows the server");
    let [host] = shown.hosts.as_slice() else {
        panic!("one row, the server's: {shown:?}")
    };
    assert_eq!((host.name.as_str(), host.kind.as_str()), ("pg", "postgres"));
    assert_eq!(host.status, HostStatus::Down);
    assert_eq!(host.reason(), Some(error.to_string().as_str()));
}

/// The configuration of one `postgres` source with one named query holding `extra` keys.
fn load_query(extra: &str) -> Result<Vec<PgQuery>, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ondeck.toml");
    let text = format!(
        "[[source]]\nname = \"db\"\nkind = \"postgres\"\nurl = \"postgres://ondeck@127.0.0.1/ondeck\"\n\n\
         [[source.query]]\nname = \"fleet\"\nmaps_to = \"hosts\"\nsql = \"SELECT 1\"\n{extra}\n"
    );
    std::fs::write(&path, text).unwrap();
    let config = config::load(Some(&path)).map_err(|e| e.to_string())?;
    match &config.sources[0].spec {
        SourceSpec::Postgres(spec) => Ok(spec.queries.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn max_rows_is_a_key_of_each_query_with_a_default_and_a_bound() {
    assert_eq!(load_query("").unwrap()[0].max_rows, 5_000);
    assert_eq!(load_query("max_rows = 20000").unwrap()[0].max_rows, 20_000);
    for wrong in ["max_rows = 0", "max_rows = 100001", "max_rows = \"lots\""] {
        let error = load_query(wrong).unwrap_err();
        assert!(error.contains("max_rows"), "{wrong}: {error}");
    }
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_query_is_cut_at_its_max_rows_and_says_so() {
    let db = TestDb::create().await;
    let sql = "SELECT 'PC-' || n AS name, now() - interval '1 hour' AS last_seen \
               FROM generate_series(1, 30) AS n ORDER BY n";
    let mut fleet = named("fleet", sql, QueryTarget::Hosts, &[]);
    fleet.max_rows = 25;
    fleet.down_after = Some(Duration::from_secs(600));
    let mut small = named("small", sql, QueryTarget::Hosts, &[]);
    small.max_rows = 30;
    let mut poller = poller(source(&db.url, vec![fleet, small]));
    let seen = poller.poll().await.unwrap();
    let rows = |kind: &str| seen.hosts.iter().filter(|h| h.kind == kind).count();
    assert_eq!((rows("fleet"), rows("small")), (25, 30));
    assert_eq!(
        seen.truncated,
        [ondeck::model::Truncated {
            query: "fleet".into(),
            pane: "hosts".into(),
            max_rows: 25,
        }],
        "a query with exactly its max_rows is whole"
    );
    assert_eq!(seen.hosts[0].fields["truncated_queries"], json!(["fleet"]));
    let silent = &seen.hosts[1];
    assert_eq!(silent.status, HostStatus::Down);
    assert_eq!(silent.reason(), Some("no heartbeat for more than 10m"));
    drop(poller);
    db.drop_now().await;
}

#[test]
fn down_after_belongs_to_host_queries_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ondeck.toml");
    std::fs::write(
        &path,
        r#"
[[source]]
name = "db"
kind = "postgres"
url = "postgres://ondeck@127.0.0.1/ondeck"

[[source.query]]
name = "jobs"
maps_to = "jobs"
sql = "SELECT id, status AS state FROM install_jobs"
down_after = "10m"
"#,
    )
    .unwrap();
    let error = config::load(Some(&path)).unwrap_err().to_string();
    assert!(
        error.contains("`down_after` applies only to a query that maps to hosts, not to jobs"),
        "{error}"
    );
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn slow_named_queries_share_one_budget_and_the_server_rows_survive() {
    let db = TestDb::create().await;
    let queries = vec![
        named(
            "slow",
            "SELECT 'a' AS name, pg_sleep(0.5)::text AS slept",
            QueryTarget::Hosts,
            &[],
        ),
        named(
            "slower",
            "SELECT 'b' AS name, pg_sleep(0.5)::text AS slept",
            QueryTarget::Hosts,
            &[],
        ),
        named("last", "SELECT 'c' AS name", QueryTarget::Hosts, &[]),
    ];
    let timeout = Duration::from_secs(1);
    let mut poller = PostgresPoller::new(
        "pg",
        source(&db.url, queries),
        Duration::from_secs(10),
        timeout,
    );
    // As the supervisor would: a poll that overran its timeout would lose everything.
    let seen = tokio::time::timeout(timeout, poller.poll())
        .await
        .expect("the poll stays within its timeout")
        .unwrap();
    assert_eq!(seen.hosts[0].kind, "postgres", "the server's row survives");
    assert!(
        seen.hosts.iter().any(|h| h.name == "a"),
        "the first query ran"
    );
    assert_eq!(
        seen.hosts[0].fields["failed_queries"],
        json!(["slower", "last"])
    );
    let last = seen
        .alerts
        .iter()
        .find(|a| a.target == "pg:last")
        .expect("an alert for the query never started");
    assert!(last.summary.contains("not run"), "{}", last.summary);
    drop(poller);
    db.drop_now().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_poll_names_its_request_id_to_the_server() {
    let db = TestDb::create().await;
    // What the server sees as the client's name, read back from inside a named query.
    let queries = vec![named(
        "seen-as",
        "SELECT current_setting('application_name') AS name",
        QueryTarget::Hosts,
        &[],
    )];
    let mut poller = poller(source(&db.url, queries));
    let seen = poller.poll().await.unwrap();
    let request_id = host(&seen, "pg").fields["request_id"]
        .as_str()
        .expect("the server row carries the poll's request id")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok(), "{request_id}");
    let seen_as = seen
        .hosts
        .iter()
        .find(|h| h.kind == "seen-as")
        .expect("the named query's row");
    assert_eq!(seen_as.name, format!("ondeck req={request_id}"));

    // Another console's poll in flight is ondeck's own connection too, not a session to show.
    let other = db.connect("ondeck req=0b1c").await;
    let client = db.connect("psql").await;
    let seen = poller.poll().await.unwrap();
    let apps: Vec<_> = seen
        .sessions
        .iter()
        .filter_map(|s| s.fields.get("application_name").and_then(|a| a.as_str()))
        .collect();
    assert!(apps.contains(&"psql"), "{apps:?}");
    assert!(!apps.iter().any(|a| a.starts_with("ondeck")), "{apps:?}");
    let next_id = host(&seen, "pg").fields["request_id"].as_str().unwrap();
    assert_ne!(next_id, request_id, "each poll has its own id");
    other.close().await.unwrap();
    client.close().await.unwrap();
    drop(poller);
    db.drop_now().await;
}

fn replica_url() -> String {
    std::env::var("ONDECK_TEST_PG_REPLICA_URL").unwrap_or_else(|_| {
        panic!("ONDECK_TEST_PG_REPLICA_URL is not set; {NEEDS_SERVICES} starts a replica")
    })
}

/// Rows of `table` on `connection`, polled until there are `rows` (replay is asynchronous).
async fn wait_for_rows(connection: &mut PgConnection, table: &str, rows: i64) {
    let sql = format!("SELECT count(*) FROM {table}");
    for _ in 0..100 {
        let count: Result<i64, _> = sqlx::query_scalar(&sql).fetch_one(&mut *connection).await;
        if count.is_ok_and(|count| count == rows) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the replica never had {rows} rows in {table}");
}

/// Polls until the replica has replayed all it received. Other tests write to the primary at
/// the same time (creating a database replays for a while on the replica), so a single poll
/// may catch it briefly behind.
async fn poll_until_current(poller: &mut PostgresPoller) -> Observation {
    let mut lag = json!(null);
    for _ in 0..100 {
        let seen = poller.poll().await.unwrap();
        lag = host(&seen, "pg").fields["replication_lag_s"].clone();
        if lag == json!(0.0) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the replica never caught up; last lag {lag}");
}

fn lag_alerts(seen: &Observation) -> usize {
    seen.alerts
        .iter()
        .filter(|a| a.name == "ReplicationLag")
        .count()
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_replica_that_stops_replaying_shows_its_lag_and_alerts() {
    let mut primary = PgConnection::connect(&admin_url()).await.unwrap();
    let mut replica = PgConnection::connect(&replica_url()).await.unwrap();
    let table = format!("lag_{}", uuid::Uuid::new_v4().simple());
    primary
        .execute(format!("CREATE TABLE {table} (x int); INSERT INTO {table} VALUES (1)").as_str())
        .await
        .unwrap();
    // Replayed, so the replica has a last replayed transaction to measure from.
    wait_for_rows(&mut replica, &table, 1).await;

    let mut spec = source(&replica_url(), Vec::new());
    spec.replication_lag_warn = Some(Duration::from_secs(1));
    let mut poller = poller(spec);
    let seen = poll_until_current(&mut poller).await;
    let server = host(&seen, "pg");
    assert_eq!(server.fields["in_recovery"], json!(true));
    assert_eq!(lag_alerts(&seen), 0, "{:?}", seen.alerts);

    // The replica keeps receiving the primary's writes but stops applying them.
    replica
        .execute("SELECT pg_wal_replay_pause()")
        .await
        .unwrap();
    primary
        .execute(format!("INSERT INTO {table} VALUES (2)").as_str())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let seen = poller.poll().await.unwrap();
    let lag = host(&seen, "pg").fields["replication_lag_s"]
        .as_f64()
        .unwrap();
    assert!(lag >= 2.0, "lag {lag} s");
    let alert = seen
        .alerts
        .iter()
        .find(|a| a.name == "ReplicationLag")
        .expect("a ReplicationLag alert");
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(host(&seen, "pg").status, HostStatus::Degraded);

    // Replaying again, it catches up and the alert clears.
    replica
        .execute("SELECT pg_wal_replay_resume()")
        .await
        .unwrap();
    wait_for_rows(&mut replica, &table, 2).await;
    let seen = poll_until_current(&mut poller).await;
    assert_eq!(lag_alerts(&seen), 0, "{:?}", seen.alerts);

    primary
        .execute(format!("DROP TABLE {table}").as_str())
        .await
        .unwrap();
    replica.close().await.unwrap();
    primary.close().await.unwrap();
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_session_blocked_on_a_lock_says_what_it_waits_for() {
    let db = TestDb::create().await;
    let mut holder = db.connect("migrate").await;
    holder
        .execute("CREATE TABLE devices (id int)")
        .await
        .unwrap();
    holder.execute("BEGIN; LOCK TABLE devices").await.unwrap();
    // A reader that queues behind the lock until the holder lets go.
    let mut reader = db.connect("certhub-api").await;
    let blocked = tokio::spawn(async move {
        let read = reader.execute("SELECT count(*) FROM devices").await;
        (reader, read)
    });

    let mut poller = poller(source(&db.url, Vec::new()));
    let mut waiting = None;
    let mut last = Vec::new();
    for _ in 0..50 {
        let seen = poller.poll().await.unwrap();
        last = seen.sessions.clone();
        waiting = seen
            .sessions
            .into_iter()
            .find(|s| s.fields.get("application_name") == Some(&json!("certhub-api")))
            .filter(|s| s.state == "active" && s.fields.contains_key("wait_event"));
        if waiting.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let waiting = waiting.unwrap_or_else(|| panic!("the reader never waited: {last:#?}"));
    assert_eq!(
        waiting.detail,
        format!("waits Lock:relation · db {} · app certhub-api", db.name)
    );
    assert_eq!(waiting.state, "active");

    holder.execute("COMMIT").await.unwrap();
    let (reader, read) = blocked.await.unwrap();
    read.expect("the read goes through once the lock is released");
    let seen = poller.poll().await.unwrap();
    let idle = seen
        .sessions
        .iter()
        .find(|s| s.fields.get("application_name") == Some(&json!("certhub-api")))
        .unwrap();
    assert_eq!(idle.detail, format!("db {} · app certhub-api", db.name));
    reader.close().await.unwrap();
    holder.close().await.unwrap();
    drop(poller);
    db.drop_now().await;
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_superuser_session_is_warned_about_and_a_monitoring_role_is_not() {
    let db = TestDb::create().await;
    let as_superuser = poller(source(&db.url, Vec::new())).poll().await.unwrap();
    let warning = as_superuser
        .alerts
        .iter()
        .find(|a| a.name == SUPERUSER)
        .unwrap_or_else(|| panic!("{:?}", as_superuser.alerts));
    assert_eq!(warning.severity, Severity::Warning);
    assert!(
        warning.summary.contains("`postgres`"),
        "{}",
        warning.summary
    );
    assert_eq!(
        as_superuser.hosts[0].status,
        HostStatus::Up,
        "a warning about ondeck's own role, not about the server"
    );

    // The least-privilege role the README documents.
    let role = format!("ondeck_monitor_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&admin_url()).await.unwrap();
    admin
        .execute(format!("CREATE ROLE {role} LOGIN IN ROLE pg_monitor").as_str())
        .await
        .unwrap();
    let mut url = reqwest::Url::parse(&db.url).unwrap();
    url.set_username(&role).unwrap();
    let as_monitor = poller(source(url.as_str(), Vec::new())).poll().await;
    admin
        .execute(format!("DROP ROLE {role}").as_str())
        .await
        .unwrap();
    let as_monitor = as_monitor.unwrap();
    assert!(as_monitor.alerts.is_empty(), "{:?}", as_monitor.alerts);
    db.drop_now().await;
}
