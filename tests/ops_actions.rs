//! The operations actions end to end, through `ondeck run … --target` against real services:
//! an Alertmanager silence made from an alert (once, even when the first answer is lost on the
//! way back) and expired again, a PostgreSQL backend terminated by pid (a superuser's refused),
//! a certificate-hub install job approved and denied by its bound statement — and Kasm's
//! `destroy_kasm` against a fixture of its documented API shape.
//!
//! The service tests are ignored without the services `scripts/test-all.sh` starts; they share
//! those services with other tests, so each uses label values, databases and roles of its own.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

mod common;
#[path = "support/fake_http.rs"]
mod fake_http;
#[path = "support/action_lab.rs"]
mod lab;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use fake_http::{FakeServer, Reply};
use lab::{
    Lab, PgRole, describe, path_str, pg_admin_url, pg_url_for, sql, toml_string, unique_name,
};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, PgConnection};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn am_url() -> String {
    std::env::var("ONDECK_TEST_AM_URL").expect(
        "ONDECK_TEST_AM_URL is not set; scripts/test-all.sh starts Alertmanager and sets it",
    )
}

/// Forwards connections to `upstream`, except that the answer to the first
/// `POST /api/v2/silences` never comes back: the request reaches Alertmanager, the client
/// waits until it times out. What a dropped connection or an overloaded proxy does.
struct SwallowingProxy {
    port: u16,
    silence_posts: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SwallowingProxy {
    async fn start(upstream: String) -> SwallowingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silence_posts = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&silence_posts);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let upstream = upstream.clone();
                let count = Arc::clone(&count);
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let mut start = [0u8; 32];
                    let seen = client.peek(&mut start).await.unwrap_or(0);
                    let silence_post = start[..seen].starts_with(b"POST /api/v2/silences");
                    if silence_post && count.fetch_add(1, Ordering::SeqCst) == 0 {
                        let (mut from_client, _to_client) = client.into_split();
                        let (mut from_server, mut to_server) = server.into_split();
                        let mut nowhere = tokio::io::sink();
                        let _ = tokio::join!(
                            tokio::io::copy(&mut from_client, &mut to_server),
                            tokio::io::copy(&mut from_server, &mut nowhere),
                        );
                        // The client's half stays open until it gives up.
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    } else {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        SwallowingProxy {
            port,
            silence_posts,
            task,
        }
    }

    fn stop(self) {
        self.task.abort();
    }
}

/// Fires an alert carrying `unique` as a label and waits until Alertmanager lists it; its
/// fingerprint.
async fn fire_alert(am: &str, unique: &str) -> String {
    let client = reqwest::Client::new();
    let now = chrono::Utc::now();
    let alert = json!([{
        "labels": {"alertname": "OndeckOpsTest", "ondeck_test": unique, "instance": "web-01.example.com:9100", "severity": "warning"},
        "annotations": {"summary": "fired by ondeck's silence test"},
        "startsAt": now.to_rfc3339(),
        "endsAt": (now + chrono::Duration::minutes(10)).to_rfc3339(),
    }]);
    let posted = client
        .post(format!("{am}/api/v2/alerts"))
        .json(&alert)
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_success(), "{posted:?}");
    for _ in 0..100 {
        let alerts: Vec<Value> = client
            .get(format!("{am}/api/v2/alerts"))
            .query(&[("filter", format!("ondeck_test=\"{unique}\""))])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(alert) = alerts.first() {
            return alert["fingerprint"].as_str().unwrap().to_owned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("Alertmanager did not list the alert {unique}");
}

/// The silences whose matchers name `unique`.
async fn silences_of(am: &str, unique: &str) -> Vec<Value> {
    let silences: Vec<Value> = reqwest::get(format!("{am}/api/v2/silences"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    silences
        .into_iter()
        .filter(|s| {
            s["matchers"]
                .as_array()
                .is_some_and(|m| m.iter().any(|m| m["value"] == unique))
        })
        .collect()
}

/// An audit record's `detail`, which `audit --json` prints as JSON text.
fn detail(record: &Value) -> Value {
    serde_json::from_str(record["detail"].as_str().unwrap()).unwrap()
}

/// `ondeck snapshot --json`, whatever its exit code says of the sources.
fn snapshot(lab: &Lab, config: &std::path::Path) -> Value {
    let out = lab.run(&["--config", path_str(config), "snapshot", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&out)))
}

fn run_action(
    lab: &Lab,
    config: &std::path::Path,
    action: &str,
    target: &str,
) -> std::process::Output {
    lab.run(&[
        "--config",
        path_str(config),
        "run",
        action,
        "--target",
        target,
        "--yes",
    ])
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_silence_is_made_once_though_its_first_answer_is_lost_and_is_expired_again() {
    let am = am_url();
    let unique = unique_name("silence");
    let fingerprint = fire_alert(&am, &unique).await;
    let upstream = url::Url::parse(&am).unwrap();
    let proxy = SwallowingProxy::start(format!(
        "{}:{}",
        upstream.host_str().unwrap(),
        upstream.port().unwrap()
    ))
    .await;
    let lab = Lab::sqlite();
    let config = lab.config(
        "ondeck.toml",
        &format!(
            r#"
[[source]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:{}"
timeout = "2s"

[[action]]
name = "silence-am"
kind = "silence"
source = "am"
duration = "15m"
comment = "ondeck test"
"#,
            proxy.port
        ),
    );

    let out = run_action(&lab, &config, "silence-am", &fingerprint);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        proxy.silence_posts.load(Ordering::SeqCst),
        1,
        "the first answer was lost"
    );
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("looking for the silence by its request id"),
        "{log}"
    );

    let audit = lab.audit(&config);
    let succeeded = lab::one_with_outcome(&audit, "SUCCEEDED");
    let request_id = succeeded["request_id"].as_str().unwrap();
    let silences = silences_of(&am, &unique).await;
    assert_eq!(silences.len(), 1, "no duplicate: {silences:#?}");
    let silence = &silences[0];
    assert!(
        silence["comment"].as_str().unwrap().contains(request_id),
        "{silence:#}"
    );
    assert!(
        silence["comment"]
            .as_str()
            .unwrap()
            .starts_with("ondeck test")
    );
    assert_eq!(silence["createdBy"], common::os_account());
    assert_eq!(silence["status"]["state"], "active");
    let matchers = silence["matchers"].as_array().unwrap();
    assert_eq!(matchers.len(), 4, "every label, as equality: {matchers:#?}");
    assert!(
        matchers
            .iter()
            .all(|m| m["isRegex"] == false && m["isEqual"] == true)
    );
    assert_eq!(
        detail(succeeded)["silence_id"],
        silence["id"],
        "{succeeded:#}"
    );

    // The next poll shows the alert silenced.
    let seen = snapshot(&lab, &config);
    let alert = seen["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["ondeck_test"] == unique.as_str())
        .unwrap_or_else(|| panic!("{seen:#}"))
        .clone();
    assert_eq!(alert["silenced"], true, "{alert:#}");

    // The same action on the silenced alert expires its silence.
    let out = run_action(&lab, &config, "silence-am", &fingerprint);
    assert!(out.status.success(), "{}", describe(&out));
    let silences = silences_of(&am, &unique).await;
    assert_eq!(silences.len(), 1, "{silences:#?}");
    assert_eq!(silences[0]["status"]["state"], "expired", "{silences:#?}");

    // Silenced again, its answer not lost this time; then expired for good.
    let out = run_action(&lab, &config, "silence-am", &fingerprint);
    assert!(out.status.success(), "{}", describe(&out));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("created on http://127.0.0.1:"), "{log}");
    assert!(!log.contains("no answer"), "{log}");
    let active = |silences: &[Value]| {
        silences
            .iter()
            .filter(|s| s["status"]["state"] == "active")
            .count()
    };
    assert_eq!(active(&silences_of(&am, &unique).await), 1);
    let out = run_action(&lab, &config, "silence-am", &fingerprint);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(active(&silences_of(&am, &unique).await), 0);
    proxy.stop();
}

/// A connection of its own that sleeps on the server until it is ended; its backend's pid.
async fn sleeping_backend(url: &str) -> (i32, JoinHandle<Result<(), sqlx::Error>>) {
    let mut connection = PgConnection::connect(url).await.unwrap();
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    let sleeping =
        tokio::spawn(async move { connection.execute("SELECT pg_sleep(120)").await.map(|_| ()) });
    (pid, sleeping)
}

fn session_pids(seen: &Value) -> Vec<i64> {
    seen["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["fields"]["pid"].as_i64())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn a_backend_terminated_by_pid_leaves_the_sessions_and_a_superusers_is_refused() {
    let admin = pg_admin_url();
    let database = unique_name("ondeck_ops_term");
    sql(&admin, &format!("CREATE DATABASE {database}")).await;
    // Dropped with the role, whatever happens.
    let role = PgRole::create(&database).await;
    let (pid, sleeping) = sleeping_backend(&role.url()).await;
    let superuser_url = pg_url_for(&admin, &database, None);
    let (superuser_pid, superuser_sleeping) = sleeping_backend(&superuser_url).await;
    let lab = Lab::sqlite();
    let config = lab.config(
        "ondeck.toml",
        &format!(
            r#"
[[source]]
name = "pg"
kind = "postgres"
url = {}

[[action]]
name = "kill-backend"
kind = "terminate_session"
source = "pg"
"#,
            toml_string(&superuser_url)
        ),
    );
    let before = session_pids(&snapshot(&lab, &config));
    assert!(before.contains(&i64::from(pid)), "{before:?}");

    let out = run_action(&lab, &config, "kill-backend", &superuser_pid.to_string());
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("superuser"),
        "{}",
        describe(&out)
    );
    assert!(
        !superuser_sleeping.is_finished(),
        "the superuser's backend is untouched"
    );

    let out = run_action(&lab, &config, "kill-backend", &pid.to_string());
    assert!(out.status.success(), "{}", describe(&out));
    let ended = tokio::time::timeout(Duration::from_secs(10), sleeping)
        .await
        .unwrap()
        .unwrap();
    assert!(ended.is_err(), "the sleeping statement was cut short");
    let after = session_pids(&snapshot(&lab, &config));
    assert!(!after.contains(&i64::from(pid)), "{after:?}");
    assert!(after.contains(&i64::from(superuser_pid)), "{after:?}");

    let audit = lab.audit(&config);
    let failed = lab::one_with_outcome(&audit, "FAILED");
    assert_eq!(
        failed["target"],
        format!("pg/{superuser_pid}"),
        "{failed:#}"
    );
    let succeeded = lab::one_with_outcome(&audit, "SUCCEEDED");
    assert_eq!(succeeded["target"], format!("pg/{pid}"), "{succeeded:#}");

    sql(
        &admin,
        &format!("SELECT pg_terminate_backend({superuser_pid})"),
    )
    .await;
    let _ = superuser_sleeping.await;
}

const INSTALL_JOBS: &str = r#"
CREATE TYPE install_status AS ENUM ('REQUESTED', 'PENDING', 'DONE', 'DENIED');
CREATE TABLE install_jobs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(), cert_id integer NOT NULL,
    device_id uuid, requested_by_user_id integer, approved_by text,
    status install_status NOT NULL, created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
INSERT INTO install_jobs (id, cert_id, requested_by_user_id, status, created_at, updated_at) VALUES
    ('10000000-0000-0000-0000-000000000001', 7, 42, 'REQUESTED', now() - interval '3 minutes', now() - interval '3 minutes'),
    ('10000000-0000-0000-0000-000000000002', 9, 43, 'REQUESTED', now() - interval '2 minutes', now() - interval '2 minutes');
"#;

const FIRST_JOB: &str = "10000000-0000-0000-0000-000000000001";
const SECOND_JOB: &str = "10000000-0000-0000-0000-000000000002";

/// The certificate hub's jobs read through `url`, decided as the role of `writer`.
fn certhub_config(lab: &Lab, url: &str, writer: &str) -> std::path::PathBuf {
    lab.config(
        "ondeck.toml",
        &format!(
            r#"
[[source]]
name = "certhub-db"
kind = "postgres"
url = {}

[[source.query]]
name = "install-jobs"
maps_to = "jobs"
sql = """
SELECT id::text AS id, 'install ' || cert_id::text AS action, 'PC-01' AS target,
       requested_by_user_id::text AS operator, status::text AS status, created_at
  FROM install_jobs ORDER BY created_at
"""
columns = {{ state = "status", started = "created_at" }}

[[action]]
name = "approve-install"
kind = "approve"
source = "certhub-db"
database = {writer}
sql = "UPDATE install_jobs SET status = 'PENDING', approved_by = $2, updated_at = now() WHERE id::text = $1 AND status = 'REQUESTED'"

[[action]]
name = "deny-install"
kind = "deny"
source = "certhub-db"
database = {writer}
sql = "UPDATE install_jobs SET status = 'DENIED', approved_by = $2, updated_at = now() WHERE id::text = $1 AND status = 'REQUESTED'"
"#,
            toml_string(url),
            writer = toml_string(writer)
        ),
    )
}

async fn job_state(url: &str, id: &str) -> (String, Option<String>) {
    let mut connection = PgConnection::connect(url).await.unwrap();
    let row: (String, Option<String>) =
        sqlx::query_as("SELECT status::text, approved_by FROM install_jobs WHERE id::text = $1")
            .bind(id)
            .fetch_one(&mut connection)
            .await
            .unwrap();
    row
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn install_jobs_are_approved_and_denied_once() {
    let admin = pg_admin_url();
    let database = unique_name("ondeck_ops_jobs");
    sql(&admin, &format!("CREATE DATABASE {database}")).await;
    let url = pg_url_for(&admin, &database, None);
    sql(&url, INSTALL_JOBS).await;
    // The source reads as a role that can do nothing else, as the example configures it; the
    // decisions are made as a role that may write. Dropped with the database.
    let reader = PgRole::create(&database).await;
    sql(
        &url,
        &format!(
            "GRANT SELECT ON install_jobs TO {0}; \
             ALTER ROLE {0} SET default_transaction_read_only = on",
            reader.name
        ),
    )
    .await;
    let mut lab = Lab::sqlite();
    // A URL with a password is read from the environment, never from the file.
    lab.set_env("CERTHUB_RO_URL", &reader.url());
    let config = certhub_config(&lab, "env:CERTHUB_RO_URL", &url);

    let out = run_action(&lab, &config, "approve-install", FIRST_JOB);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(
        job_state(&url, FIRST_JOB).await,
        ("PENDING".to_owned(), Some(common::os_account()))
    );
    // A second approval finds the job PENDING at its poll, and says so.
    let out = run_action(&lab, &config, "approve-install", FIRST_JOB);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already handled"),
        "{}",
        describe(&out)
    );
    let out = run_action(&lab, &config, "deny-install", SECOND_JOB);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(job_state(&url, SECOND_JOB).await.0, "DENIED");

    let audit = lab.audit(&config);
    let succeeded = lab::with_outcome(&audit, "SUCCEEDED");
    assert_eq!(succeeded.len(), 2, "{audit:#?}");
    assert_eq!(succeeded[0]["target"], format!("certhub-db/{FIRST_JOB}"));
    assert_eq!(detail(succeeded[0])["job_id"], FIRST_JOB);
    assert_eq!(detail(succeeded[1])["decision"], "denied");
}

/// Two operators decide the same job: the one whose statement comes second changes no row and
/// is told so, though the job was REQUESTED when its plan was made.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn the_second_of_two_decisions_is_told_the_job_was_handled_by_someone_else() {
    use ondeck::actions::Subject;
    use ondeck::actions::engine::Engine;
    use ondeck::identity::OperatorIdentity;
    use ondeck::store::{ActionState, Store};

    let admin = pg_admin_url();
    let database = unique_name("ondeck_ops_race");
    sql(&admin, &format!("CREATE DATABASE {database}")).await;
    let url = pg_url_for(&admin, &database, None);
    sql(&url, INSTALL_JOBS).await;
    let lab = Lab::sqlite();
    let config = ondeck::config::load(Some(&certhub_config(&lab, &url, &url))).unwrap();
    let requested = ondeck::model::JobRow {
        source: "certhub-db".to_owned(),
        id: FIRST_JOB.to_owned(),
        action: "install 7".to_owned(),
        target: "PC-01".to_owned(),
        operator: "42".to_owned(),
        state: "REQUESTED".to_owned(),
        progress: None,
        started: None,
        finished: None,
        result: None,
        observed_at: chrono::Utc::now(),
    };
    let approve = &config.actions[0];
    let deny = &config.actions[1];
    let approval = ondeck::actions::plan(approve, Subject::Job(&requested)).unwrap();
    let denial = ondeck::actions::plan(deny, Subject::Job(&requested)).unwrap();
    std::fs::create_dir_all(lab.path("store")).unwrap();
    let engine = Engine {
        store: Store::open(&lab.store.url).await.unwrap(),
        identity: OperatorIdentity::current("oncall"),
        sources: config.sources.clone().into(),
    };
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let first = engine
        .run(&approval, &events, cancelled.clone())
        .await
        .unwrap();
    assert_eq!(first.state, ActionState::Succeeded, "{first:?}");
    let second = engine.run(&denial, &events, cancelled).await.unwrap();
    assert_eq!(second.state, ActionState::Failed, "{second:?}");
    let error = second.error.unwrap();
    assert!(error.contains("already handled by someone else"), "{error}");
    assert_eq!(job_state(&url, FIRST_JOB).await.0, "PENDING");
    sql(&admin, &format!("DROP DATABASE {database} WITH (FORCE)")).await;
}

fn kasm_sessions() -> Value {
    json!({
        "current_time": "2024-05-02 09:45:00.123456",
        "kasms": [{
            "kasm_id": "a1b2c3", "user_id": "u-17", "user": {"username": "alice@example.com"},
            "image": {"friendly_name": "Ubuntu"}, "operational_status": "running",
            "start_date": "2024-05-02 09:14:03.512346", "keepalive_date": "2024-05-02 09:14:10"
        }]
    })
}

fn kasm_config(lab: &mut Lab, url: &str) -> std::path::PathBuf {
    lab.set_env("KASM_API_KEY", "key-for-the-test");
    lab.set_env("KASM_API_KEY_SECRET", "secret-for-the-test");
    lab.config(
        "ondeck.toml",
        &format!(
            r#"
[[source]]
name = "kasm"
kind = "kasm"
url = "{url}"
api_key = "env:KASM_API_KEY"
api_key_secret = "env:KASM_API_KEY_SECRET"

[[action]]
name = "end-kasm"
kind = "terminate_session"
source = "kasm"
"#
        ),
    )
}

/// `destroy_kasm` as Kasm documents it: `POST /api/public/destroy_kasm`, the key and secret
/// and `target_kasm: {kasm_id, user_id}` in the JSON body; this fixture answers as its
/// documentation says (an empty object, or an `error_message`).
#[tokio::test(flavor = "multi_thread")]
async fn a_kasm_session_is_destroyed_by_its_documented_call() {
    let server = FakeServer::start(|request| match request.route() {
        "/api/public/get_kasms" => Reply::json(200, &kasm_sessions().to_string()),
        "/api/public/destroy_kasm" => Reply::json(200, "{}"),
        _ => Reply::json(404, "{}"),
    })
    .await;
    let mut lab = Lab::sqlite();
    let config = kasm_config(&mut lab, &format!("http://{}", server.addr));
    let out = run_action(&lab, &config, "end-kasm", "a1b2c3");
    assert!(out.status.success(), "{}", describe(&out));
    let destroys: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.route() == "/api/public/destroy_kasm")
        .collect();
    assert_eq!(destroys.len(), 1);
    assert_eq!(destroys[0].method, "POST");
    let body: Value = serde_json::from_slice(&destroys[0].body).unwrap();
    assert_eq!(
        body,
        json!({
            "api_key": "key-for-the-test",
            "api_key_secret": "secret-for-the-test",
            "target_kasm": {"kasm_id": "a1b2c3", "user_id": "u-17"},
        })
    );
    let audit = lab.audit(&config);
    let succeeded = lab::one_with_outcome(&audit, "SUCCEEDED");
    assert_eq!(succeeded["target"], "kasm/a1b2c3");
    let recorded = serde_json::to_string(&audit).unwrap();
    assert!(!recorded.contains("secret-for-the-test"), "{recorded}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_kasm_destroy_fails_with_kasms_reason_and_no_secret() {
    let server = FakeServer::start(|request| match request.route() {
        "/api/public/get_kasms" => Reply::json(200, &kasm_sessions().to_string()),
        _ => Reply::json(
            200,
            r#"{"error_message": "Unauthorized: missing permission"}"#,
        ),
    })
    .await;
    let mut lab = Lab::sqlite();
    let config = kasm_config(&mut lab, &format!("http://{}", server.addr));
    let out = run_action(&lab, &config, "end-kasm", "a1b2c3");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let said = describe(&out);
    assert!(said.contains("missing permission"), "{said}");
    assert!(!said.contains("secret-for-the-test"), "{said}");
    assert_eq!(lab::with_outcome(&lab.audit(&config), "FAILED").len(), 1);
}

/// A connection of ondeck's own is not in the Sessions pane; a plan made for one all the same
/// (a row from before it was reconnected) is refused on the server, and the backend lives on.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs services: scripts/test-all.sh"]
async fn ondecks_own_connection_is_never_terminated() {
    use ondeck::actions::Subject;
    use ondeck::actions::engine::Engine;
    use ondeck::identity::OperatorIdentity;
    use ondeck::store::{ActionState, Store};

    let admin = pg_admin_url();
    let database = unique_name("ondeck_ops_own");
    sql(&admin, &format!("CREATE DATABASE {database}")).await;
    let role = PgRole::create(&database).await;
    let own_url = format!("{}?application_name=ondeck", role.url());
    let (pid, sleeping) = sleeping_backend(&own_url).await;
    let lab = Lab::sqlite();
    let config = lab.config(
        "ondeck.toml",
        &format!(
            r#"
[[source]]
name = "pg"
kind = "postgres"
url = {}

[[action]]
name = "kill-backend"
kind = "terminate_session"
source = "pg"
allow_superuser = true
"#,
            toml_string(&pg_url_for(&admin, &database, None))
        ),
    );
    let config = ondeck::config::load(Some(&config)).unwrap();
    let row = ondeck::model::SessionRow {
        source: "pg".to_owned(),
        user: role.name.clone(),
        client: "local socket".to_owned(),
        state: "active".to_owned(),
        detail: String::new(),
        since: None,
        observed_at: chrono::Utc::now(),
        fields: [("pid".to_owned(), json!(pid))].into(),
    };
    let plan = ondeck::actions::plan(&config.actions[0], Subject::Session(&row)).unwrap();
    std::fs::create_dir_all(lab.path("store")).unwrap();
    let engine = Engine {
        store: Store::open(&lab.store.url).await.unwrap(),
        identity: OperatorIdentity::current("oncall"),
        sources: config.sources.clone().into(),
    };
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let (_cancel, cancelled) = tokio::sync::watch::channel(false);
    let finished = engine.run(&plan, &events, cancelled).await.unwrap();
    assert_eq!(finished.state, ActionState::Failed, "{finished:?}");
    let error = finished.error.unwrap();
    assert!(error.contains("ondeck's own connection"), "{error}");
    assert!(!sleeping.is_finished(), "the backend lives on");
    sql(&admin, &format!("SELECT pg_terminate_backend({pid})")).await;
    let _ = sleeping.await;
}
