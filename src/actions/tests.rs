use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::engine::{Engine, JobEvent};
use super::*;
use crate::config::{self, Config};
use crate::identity::OperatorIdentity;
use crate::model::{HostStatus, host_fields};
use crate::store::{ActionState, Store};

fn config(text: &str) -> (tempfile::TempDir, Config) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    let config = config::load(Some(&path)).unwrap();
    (dir, config)
}

const RELEASE: &str = r#"
[[source]]
name = "deploys"
kind = "release"
argv = ["./state.sh"]
environments = ["prod", "dev"]
"#;

fn release_row(name: &str, current: &str, previous: Option<&str>) -> HostRow {
    let mut row = HostRow::checked("deploys", name, "release", HostStatus::Up, Utc::now());
    row.fields
        .insert(host_fields::CURRENT_REF.to_owned(), json!(current));
    if let Some(previous) = previous {
        row.fields
            .insert(host_fields::PREVIOUS_REF.to_owned(), json!(previous));
    }
    row
}

fn action<'a>(config: &'a Config, name: &str) -> &'a ActionConfig {
    config.actions.iter().find(|a| a.name == name).unwrap()
}

#[test]
fn a_rollback_plan_names_the_releases_and_the_program() {
    let (_dir, config) = config(&format!(
        r#"{RELEASE}
[[action]]
name = "rollback-prod"
kind = "rollback"
source = "deploys"
argv = ["./rollback.sh", "--fast"]
health = {{ url = "http://127.0.0.1:9/healthz", within = "30s" }}
"#
    ));
    let rollback = action(&config, "rollback-prod");
    let row = release_row("prod", "v2.4.1", Some("v2.4.0"));
    let plan = plan(rollback, Subject::Host(&row)).unwrap();
    assert_eq!(plan.confirm, ConfirmPolicy::TypeTarget, "rollback defaults");
    assert_eq!(plan.target.name, "prod");
    assert_eq!(plan.target.ledger_name(), "deploys/prod");
    assert_eq!(plan.changes, "prod goes back from release v2.4.1 to v2.4.0");
    assert!(
        plan.steps[0].ends_with("rollback.sh --fast"),
        "{:?}",
        plan.steps
    );
    assert_eq!(
        plan.steps[1],
        "then GET http://127.0.0.1:9/healthz must answer 200 within 30s"
    );
    let Work::Process(work) = &plan.work else {
        panic!("a rollback runs a program: {:?}", plan.work)
    };
    for (name, value) in [
        ("ONDECK_ENVIRONMENT", "prod"),
        ("ONDECK_RELEASE_FROM", "v2.4.1"),
        ("ONDECK_RELEASE_TO", "v2.4.0"),
        ("ONDECK_TARGET", "prod"),
        ("ONDECK_ACTION", "rollback-prod"),
    ] {
        assert!(
            work.env.contains(&(name.to_owned(), value.to_owned())),
            "{name}: {:?}",
            work.env
        );
    }
    assert_eq!(work.timeout, DEFAULT_TIMEOUT);

    // Nothing to go back to, or a source that has not answered: no plan.
    let refusal = plan_of(rollback, &release_row("dev", "main", None));
    assert!(refusal.contains("no earlier release"), "{refusal}");
    let refusal = plan_of(rollback, &release_row("dev", "v1", Some("v1")));
    assert!(refusal.contains("no earlier release"), "{refusal}");
    let mut unknown = release_row("prod", "v2.4.1", Some("v2.4.0"));
    unknown.status = HostStatus::Unknown;
    let refusal = plan_of(rollback, &unknown);
    assert!(refusal.contains("has not answered"), "{refusal}");
    // A row of another source.
    let mut other = release_row("prod", "v2.4.1", Some("v2.4.0"));
    other.source = "other".into();
    assert!(!applies_to(rollback, Subject::Host(&other)));
    let refusal = plan_of(rollback, &other);
    assert!(
        refusal.contains("rows of the source `deploys`"),
        "{refusal}"
    );
    assert!(super::plan(rollback, Subject::Named("prod")).is_err());
}

fn plan_of(action: &ActionConfig, row: &HostRow) -> String {
    plan(action, Subject::Host(row)).unwrap_err().0
}

#[test]
fn a_two_person_plan_carries_its_expiry_and_is_requested_not_run() {
    let (_dir, config) = config(
        r#"
[[action]]
name = "restart"
kind = "command"
argv = ["true"]
confirm = "two-person"
approval_expires = "5m"

[[action]]
name = "restart-later"
kind = "command"
argv = ["true"]
confirm = "two-person"
"#,
    );
    let plan = plan(action(&config, "restart"), Subject::Named("web-1")).expect("a plan");
    assert_eq!(plan.confirm, ConfirmPolicy::TwoPerson);
    assert_eq!(plan.approval_expires, Duration::from_secs(300));
    let later =
        super::plan(action(&config, "restart-later"), Subject::Named("web-1")).expect("a plan");
    assert_eq!(
        later.approval_expires,
        Duration::from_secs(15 * 60),
        "the default"
    );
}

#[test]
fn a_two_person_unseal_is_refused_not_downgraded() {
    let (_dir, config) = config(
        r#"
[[source]]
name = "bao"
kind = "openbao"
url = "http://127.0.0.1:9"

[[action]]
name = "unseal"
kind = "unseal"
source = "bao"
confirm = "two-person"
"#,
    );
    let refusal = plan(action(&config, "unseal"), Subject::Named("127.0.0.1:9")).unwrap_err();
    assert!(refusal.0.contains("key shares"), "{refusal}");
}

#[test]
fn a_file_backup_targets_its_name_or_the_absolute_path_it_is_given() {
    let (_dir, config) = config(
        r#"
[[action]]
name = "backup-given"
kind = "file_backup"
dir = "/var/backups/app"

[[action]]
name = "backup-etc"
kind = "file_backup"
paths = ["/etc/app", "/srv/app/etc"]
dir = "/var/backups/app"

[[action]]
name = "backup-two"
kind = "file_backup"
paths = ["/etc/app", "/srv/app"]
dir = "/var/backups/app"
"#,
    );
    let plan_of = |name, target| plan(action(&config, name), Subject::Named(target));
    let given = plan_of("backup-given", "/srv/data").unwrap();
    assert_eq!(given.target.name, "/srv/data");
    assert!(
        given.steps[1].contains("archive /srv/data"),
        "{:?}",
        given.steps
    );
    let refusal = plan_of("backup-given", "srv/data").unwrap_err();
    assert!(refusal.0.contains("must be absolute"), "{refusal}");

    let configured = plan_of("backup-etc", "backup-etc").unwrap();
    assert_eq!(configured.target.name, "backup-etc");
    let refusal = plan_of("backup-etc", "/etc/app").unwrap_err();
    assert!(refusal.0.contains("must be its name"), "{refusal}");
    let refusal = plan_of("backup-two", "backup-two").unwrap_err();
    assert!(refusal.0.contains("would both be `app`"), "{refusal}");
}

#[test]
fn backup_and_restore_target_the_database_named_in_their_url() {
    let (_dir, config) = config(
        r#"
[[action]]
name = "backup-app-db"
kind = "pg_backup"
database = "postgres://ops@127.0.0.1:5432/app"
dir = "/var/backups/app"
sentinel = true
retention = { keep = 14 }

[[action]]
name = "restore-app-db"
kind = "pg_restore"
database = "postgres://ops@127.0.0.1:5432/app"
dir = "/var/backups/app"
stop = ["systemctl", "stop", "app"]
start = ["systemctl", "start", "app"]

[[action]]
name = "drill-app-db"
kind = "pg_restore"
database = "postgres://ops@127.0.0.1:5432/app"
dir = "/var/backups/app"
drill = true
"#,
    );
    let backup = plan(action(&config, "backup-app-db"), Subject::Named("app")).unwrap();
    assert_eq!(backup.target.ledger_name(), "app");
    assert_eq!(backup.confirm, ConfirmPolicy::Enter);
    assert!(
        backup.steps.iter().any(|s| s.contains("sentinel")),
        "{:?}",
        backup.steps
    );
    assert!(
        backup.steps.last().unwrap().contains("the newest 14"),
        "{:?}",
        backup.steps
    );
    assert!(backup.cannot_undo.is_some(), "retention removes backups");
    let refusal = plan(action(&config, "backup-app-db"), Subject::Named("other")).unwrap_err();
    assert!(refusal.0.contains("the database app"), "{refusal}");

    let restore = plan(action(&config, "restore-app-db"), Subject::Named("app")).unwrap();
    assert_eq!(restore.confirm, ConfirmPolicy::TypeTarget, "a real restore");
    let steps = restore.steps.join("\n");
    for expected in [
        "sha256 must match its manifest",
        "--list",
        "run systemctl stop app",
        "--single-transaction --exit-on-error",
        "run systemctl start app (whatever",
    ] {
        assert!(steps.contains(expected), "{expected}: {steps}");
    }
    assert!(restore.cannot_undo.is_some());

    let drill = plan(action(&config, "drill-app-db"), Subject::Named("app")).unwrap();
    assert_eq!(
        drill.confirm,
        ConfirmPolicy::Enter,
        "a drill touches nothing"
    );
    assert!(
        drill.changes.starts_with("nothing in app"),
        "{}",
        drill.changes
    );
    assert!(drill.cannot_undo.is_none());
}

#[test]
fn a_command_needs_a_target_and_applies_to_any_row() {
    let (_dir, config) = config(
        r#"
[[action]]
name = "flush-cache"
kind = "command"
description = "Flush the CDN cache"
argv = ["/usr/local/bin/flush", "--all"]
timeout = "2m"
"#,
    );
    let flush = action(&config, "flush-cache");
    assert!(plan(flush, Subject::Named("  ")).is_err());
    let plan = plan(flush, Subject::Named("cdn-eu")).unwrap();
    assert_eq!(plan.confirm, ConfirmPolicy::Enter);
    assert_eq!(plan.target.ledger_name(), "cdn-eu");
    assert_eq!(plan.changes, "Flush the CDN cache (cdn-eu)");
    assert_eq!(
        plan.steps,
        [
            "run /usr/local/bin/flush --all",
            "stop it, with every process it started, after 2m"
        ]
    );
    let row = release_row("prod", "a", Some("b"));
    assert!(applies_to(flush, Subject::Host(&row)));
}

/// A `command` plan running `script` with `sh`, as a test of the engine.
fn shell_plan(script: &str, timeout: Duration) -> Plan {
    Plan {
        action: "runbook".into(),
        kind: ActionKind::Command,
        description: None,
        confirm: ConfirmPolicy::Enter,
        approval_expires: crate::config::DEFAULT_APPROVAL_EXPIRES,
        target: Target {
            name: "web-1".into(),
            row: None,
        },
        steps: vec![format!("run sh -c {script}")],
        changes: "a test".into(),
        cannot_undo: None,
        detail: json!({}),
        work: Work::Process(ProcessWork {
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: vec![("ONDECK_TARGET".into(), "web-1".into())],
            cwd: None,
            timeout,
            health: None,
        }),
    }
}

async fn engine(dir: &tempfile::TempDir) -> Engine {
    let url = format!("sqlite://{}", dir.path().join("ondeck.db").display());
    Engine {
        store: Store::open(&url).await.unwrap(),
        identity: OperatorIdentity::current("oncall"),
        sources: Vec::new().into(),
    }
}

fn drain(rx: &mut mpsc::UnboundedReceiver<JobEvent>) -> Vec<JobEvent> {
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    events
}

#[tokio::test]
async fn a_job_streams_its_lines_and_records_intent_then_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_cancel_tx, cancel) = watch::channel(false);
    let plan = shell_plan(
        "echo starting on $ONDECK_TARGET; echo job $ONDECK_JOB_ID >&2; echo done",
        Duration::from_secs(30),
    );
    let finished = engine.run(&plan, &tx, cancel).await.unwrap();
    assert_eq!(
        (finished.state, finished.error),
        (ActionState::Succeeded, None)
    );

    let events = drain(&mut rx);
    assert!(matches!(&events[0], JobEvent::Opened(row) if row.target == "web-1"));
    let lines: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            JobEvent::Lines { lines, .. } => Some(lines.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(lines.contains(&"starting on web-1".to_owned()), "{lines:?}");
    assert!(
        lines.contains(&format!("job {}", finished.job_id)),
        "{lines:?}"
    );
    assert!(matches!(
        events.last(),
        Some(JobEvent::Closed {
            state: ActionState::Succeeded,
            ..
        })
    ));

    let store = &engine.store;
    let audit = store.audit_since(None).await.unwrap();
    let outcomes: Vec<(&str, Option<&str>)> = audit
        .iter()
        .map(|r| (r.outcome.as_str(), r.job_id.as_deref()))
        .collect();
    let job = Some(finished.job_id.as_str());
    assert_eq!(outcomes, [("REQUESTED", job), ("SUCCEEDED", job)]);
    assert_eq!(audit[0].request_id, audit[1].request_id);
    assert!(audit[0].detail.contains("run sh -c"), "{}", audit[0].detail);
    let log = store.job_log(&finished.job_id, None, 10).await.unwrap();
    assert_eq!(log.len(), 3, "{log:?}");
    let jobs = store.jobs(10).await.unwrap();
    assert_eq!(
        (jobs[0].state.as_str(), jobs[0].progress),
        ("SUCCEEDED", Some(1.0))
    );
    assert_eq!(store.verify_audit(None).await.unwrap().broken, None);
}

#[tokio::test]
async fn failure_timeout_and_cancel_end_the_job_with_why() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    let (tx, _rx) = mpsc::unbounded_channel();

    let (_keep, cancel) = watch::channel(false);
    let failed = engine
        .run(
            &shell_plan("echo nope >&2; exit 3", Duration::from_secs(30)),
            &tx,
            cancel,
        )
        .await
        .unwrap();
    assert_eq!(failed.state, ActionState::Failed);
    assert_eq!(failed.error.as_deref(), Some("`sh` exited with status 3"));

    let (_keep, cancel) = watch::channel(false);
    let timed_out = engine
        .run(
            &shell_plan("sleep 30", Duration::from_millis(300)),
            &tx,
            cancel,
        )
        .await
        .unwrap();
    assert_eq!(timed_out.state, ActionState::Failed);
    assert!(
        timed_out
            .error
            .as_deref()
            .unwrap()
            .starts_with("timed out after 300ms"),
        "{timed_out:?}"
    );

    let (cancel_tx, cancel) = watch::channel(false);
    let canceller = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        cancel_tx.send(true).unwrap();
    });
    let cancelled = engine
        .run(
            &shell_plan("sleep 30", Duration::from_secs(30)),
            &tx,
            cancel,
        )
        .await
        .unwrap();
    canceller.await.unwrap();
    assert_eq!(cancelled.state, ActionState::Cancelled);

    // The same target again: every job above freed it.
    let (_keep, cancel) = watch::channel(false);
    let again = engine
        .run(&shell_plan("true", Duration::from_secs(30)), &tx, cancel)
        .await
        .unwrap();
    assert_eq!(again.state, ActionState::Succeeded);
    let store = &engine.store;
    let closing: Vec<String> = store
        .audit_since(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.outcome != "REQUESTED")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(closing, ["FAILED", "FAILED", "CANCELLED", "SUCCEEDED"]);
}

#[tokio::test]
async fn a_store_that_refuses_the_intent_refuses_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    let marker = dir.path().join("ran");
    // A store that takes no new audit records, as a read-only file or a role without INSERT
    // does (the test may run as root, for whom file modes do not forbid writing).
    let url = format!("sqlite://{}", dir.path().join("ondeck.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TRIGGER no_audit BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'read-only'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (_keep, cancel) = watch::channel(false);
    let script = format!("touch {}", marker.display());
    let refusal = engine
        .run(&shell_plan(&script, Duration::from_secs(30)), &tx, cancel)
        .await
        .unwrap_err();
    assert!(refusal.0.contains("nothing was done"), "{refusal}");
    assert!(
        !marker.exists(),
        "the command ran without its intent recorded"
    );
    assert!(drain(&mut rx).is_empty());
    assert!(engine.store.jobs(10).await.unwrap().is_empty());
}

/// A server on loopback answering every request with `status`, keeping what it was sent.
async fn answering(status: u16) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = vec![0; 4096];
            let n = socket.read(&mut request).await.unwrap_or(0);
            kept.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&request[..n]).into_owned());
            let answer =
                format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (url, seen)
}

#[tokio::test]
async fn the_health_check_decides_and_carries_the_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&dir).await;
    let (tx, _rx) = mpsc::unbounded_channel();
    for (status, expected) in [(200, ActionState::Succeeded), (503, ActionState::Failed)] {
        let (url, seen) = answering(status).await;
        let mut plan = shell_plan("true", Duration::from_secs(30));
        let Work::Process(work) = &mut plan.work else {
            panic!("a command runs a program")
        };
        work.health = Some(HealthCheck {
            url,
            within: Duration::from_secs(2),
            expect_status: 200,
        });
        let (_keep, cancel) = watch::channel(false);
        let finished = engine.run(&plan, &tx, cancel).await.unwrap();
        assert_eq!(finished.state, expected, "{finished:?}");
        let audit = engine.store.audit_since(None).await.unwrap();
        let request_id = &audit.last().unwrap().request_id;
        let requests = seen.lock().unwrap().clone();
        assert!(!requests.is_empty());
        assert!(
            requests.iter().all(|r| r
                .to_lowercase()
                .contains(&format!("x-request-id: {request_id}"))),
            "{requests:?}"
        );
        if status == 503 {
            let error = finished.error.unwrap();
            assert!(error.starts_with(engine::HEALTH_FAILED), "{error}");
            assert!(error.contains("answered 503, expected 200"), "{error}");
            assert!(requests.len() >= 2, "tried again within the time allowed");
        }
    }
}

/// `shell_plan`, confirmed by a second operator within `expires`.
fn two_person_plan(script: &str, expires: Duration) -> Plan {
    Plan {
        confirm: ConfirmPolicy::TwoPerson,
        approval_expires: expires,
        ..shell_plan(script, Duration::from_secs(30))
    }
}

/// Another operator: another account on another machine.
fn approver() -> OperatorIdentity {
    OperatorIdentity {
        os_user: "carol".into(),
        uid: 2001,
        host: "ops-03.example.com".into(),
        ssh_client: None,
        db_user: None,
        label: "carol".into(),
    }
}

/// The first request waiting on `engine`'s store, once there is one.
async fn waiting_request(engine: &Engine) -> crate::model::ApprovalRequest {
    for _ in 0..100 {
        if let Some(request) = engine.store.pending_approvals().await.unwrap().pop() {
            return request;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no request was recorded");
}

#[tokio::test]
async fn a_two_person_action_is_not_run_until_another_operator_approves_it() {
    let dir = tempfile::tempdir().unwrap();
    let requester = engine(&dir).await;
    let decider = Engine {
        identity: approver(),
        ..requester.clone()
    };
    let marker = dir.path().join("ran");
    let plan = two_person_plan(
        &format!("touch {}", marker.display()),
        Duration::from_secs(60),
    );
    let (_cancel_tx, cancel) = watch::channel(false);
    // The engine never runs it as a plain job.
    let (tx, _rx) = mpsc::unbounded_channel();
    let refused = requester.run(&plan, &tx, cancel.clone()).await.unwrap_err();
    assert!(refused.0.contains("approval"), "{refused}");

    let (tx, mut rx) = mpsc::unbounded_channel();
    let run = tokio::spawn({
        let (requester, plan) = (requester.clone(), plan.clone());
        async move { requester.request_and_run(&plan, &tx, cancel).await }
    });
    let request = waiting_request(&requester).await;
    assert!(!marker.exists(), "run before it was approved");
    // The requester's own account cannot approve it, and that refusal is recorded.
    let own = two_person::decide(&requester, &request, Decision::Approve, None, None).await;
    assert!(own.unwrap_err().contains("its requester"));
    // Nor another operator whose code is needed and not given.
    let secret = crate::config::Secret::Env("ONDECK_TEST_UNSET_TOTP".into());
    let no_code =
        two_person::decide(&decider, &request, Decision::Approve, Some(&secret), None).await;
    assert!(no_code.unwrap_err().contains("TOTP code"));
    // A wrong code of theirs is refused too; their right one approves.
    let secret_file = dir.path().join("carol.totp");
    std::fs::write(&secret_file, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n").unwrap();
    let secret = crate::config::Secret::File(secret_file);
    let bytes = totp_rs::Secret::Encoded("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP".into())
        .to_bytes()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let code =
        totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 0, 30, bytes).generate(now);
    let wrong =
        crate::secret_text::SecretText::new(if code == "000000" { "111111" } else { "000000" });
    let refused = two_person::decide(
        &decider,
        &request,
        Decision::Approve,
        Some(&secret),
        Some(&wrong),
    )
    .await;
    assert!(refused.unwrap_err().contains("wrong TOTP code"));
    let code = crate::secret_text::SecretText::new(&code);
    let done = two_person::decide(
        &decider,
        &request,
        Decision::Approve,
        Some(&secret),
        Some(&code),
    )
    .await
    .unwrap();
    assert!(done.starts_with("approved runbook on web-1"), "{done}");

    let finished = run.await.unwrap().unwrap();
    assert_eq!(finished.state, ActionState::Succeeded, "{finished:?}");
    assert!(marker.exists());
    let states: Vec<ActionState> = drain(&mut rx)
        .into_iter()
        .filter_map(|event| match event {
            JobEvent::State { state, .. } | JobEvent::Closed { state, .. } => Some(state),
            JobEvent::Opened(_) => Some(ActionState::Requested),
            JobEvent::Lines { .. } => None,
        })
        .collect();
    states
        .iter()
        .position(|s| *s == ActionState::Approved)
        .expect("APPROVED was told");
    assert_eq!(states.first(), Some(&ActionState::Requested));
    assert_eq!(states.last(), Some(&ActionState::Succeeded));
    let audit = requester.store.audit_since(None).await.unwrap();
    let outcomes: Vec<(&str, &str)> = audit
        .iter()
        .map(|r| (r.outcome.as_str(), r.operator.as_str()))
        .collect();
    let me = requester.identity.os_user.as_str();
    assert_eq!(
        outcomes,
        [
            ("REQUESTED", me),
            ("REFUSED", me),
            ("REFUSED", "carol"),
            ("REFUSED", "carol"),
            ("APPROVED", "carol"),
            ("SUCCEEDED", me),
        ]
    );
}

#[tokio::test]
async fn a_denied_an_expired_and_a_withdrawn_request_end_unrun() {
    let dir = tempfile::tempdir().unwrap();
    let requester = engine(&dir).await;
    let decider = Engine {
        identity: approver(),
        ..requester.clone()
    };
    let marker = dir.path().join("ran");
    let script = format!("touch {}", marker.display());

    // Denied.
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel_tx, cancel) = watch::channel(false);
    let plan = two_person_plan(&script, Duration::from_secs(60));
    let run = tokio::spawn({
        let (requester, plan) = (requester.clone(), plan.clone());
        async move { requester.request_and_run(&plan, &tx, cancel).await }
    });
    let request = waiting_request(&requester).await;
    two_person::decide(&decider, &request, Decision::Deny, None, None)
        .await
        .unwrap();
    let finished = run.await.unwrap().unwrap();
    assert_eq!(finished.state, ActionState::Denied);
    assert!(finished.error.unwrap().contains("denied by carol@"));

    // Expired: nobody decided in time.
    let (tx, _rx) = mpsc::unbounded_channel();
    let (_cancel_tx, cancel) = watch::channel(false);
    let plan = two_person_plan(&script, Duration::from_millis(500));
    let finished = requester.request_and_run(&plan, &tx, cancel).await.unwrap();
    assert_eq!(finished.state, ActionState::Expired, "{finished:?}");
    let jobs = requester.store.jobs(10).await.unwrap();
    assert_eq!(jobs[0].state, "EXPIRED");

    // Withdrawn by its requester while it waits.
    let (tx, _rx) = mpsc::unbounded_channel();
    let (cancel_tx, cancel) = watch::channel(false);
    let plan = two_person_plan(&script, Duration::from_secs(60));
    let run = tokio::spawn({
        let (requester, plan) = (requester.clone(), plan.clone());
        async move { requester.request_and_run(&plan, &tx, cancel).await }
    });
    waiting_request(&requester).await;
    cancel_tx.send(true).unwrap();
    let finished = run.await.unwrap().unwrap();
    assert_eq!(finished.state, ActionState::Cancelled);
    assert!(
        requester
            .store
            .pending_approvals()
            .await
            .unwrap()
            .is_empty()
    );
    assert!(!marker.exists(), "a request that was not approved ran");
    assert_eq!(
        requester.store.verify_audit(None).await.unwrap().broken,
        None
    );
}

#[test]
fn approval_expires_is_bounded_and_for_two_person_actions_only() {
    let problems = |extra: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            format!(
                "[[action]]\nname = \"restart\"\nkind = \"command\"\nargv = [\"true\"]\n{extra}"
            ),
        )
        .unwrap();
        match config::load(Some(&path)) {
            Ok(_) => Vec::new(),
            Err(error) => error
                .diagnostics()
                .iter()
                .map(|d| format!("{}: {}", d.key, d.message))
                .collect(),
        }
    };
    assert_eq!(
        problems("confirm = \"two-person\"\napproval_expires = \"1h\"\n"),
        Vec::<String>::new()
    );
    let short = problems("confirm = \"two-person\"\napproval_expires = \"10s\"\n");
    assert!(
        short.len() == 1 && short[0].contains("too short"),
        "{short:?}"
    );
    let long = problems("confirm = \"two-person\"\napproval_expires = \"2d\"\n");
    assert!(long.len() == 1 && long[0].contains("at most"), "{long:?}");
    let wrong = problems("confirm = \"totp\"\napproval_expires = \"5m\"\n");
    assert!(
        wrong.len() == 1 && wrong[0].contains("two-person"),
        "{wrong:?}"
    );
}
