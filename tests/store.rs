//! The store against real databases: SQLite in a temporary directory always, PostgreSQL when
//! `ONDECK_TEST_PG_URL` names a server where databases may be created (each test gets its own,
//! so re-runs never meet leftovers), e.g. `postgres://postgres@127.0.0.1:55432/postgres`.

use std::collections::BTreeMap;

use ondeck::store::{ActionState, BreakKind, ChainBreak, NewAudit, Store, StoreError};
use sqlx::Executor;

/// Where one test's store lives; dropping it removes the SQLite directory. PostgreSQL
/// databases are dropped by `finish`, and a failed test's database is left for inspection.
struct TestDb {
    url: String,
    _dir: Option<tempfile::TempDir>,
    pg_admin: Option<(String, String)>,
}

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/data/ondeck/ondeck.db", dir.path().display());
        TestDb {
            url,
            _dir: Some(dir),
            pg_admin: None,
        }
    }

    async fn postgres() -> TestDb {
        let admin = std::env::var("ONDECK_TEST_PG_URL")
            .expect("set ONDECK_TEST_PG_URL to run the PostgreSQL store tests");
        let name = format!("ondeck_test_{}", uuid::Uuid::new_v4().simple());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        pool.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        pool.close().await;
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        TestDb {
            url: url.to_string(),
            _dir: None,
            pg_admin: Some((admin, name)),
        }
    }

    async fn open(&self) -> Store {
        Store::open(&self.url).await.unwrap()
    }

    /// Runs SQL behind the store's back, as someone tampering with the database would.
    async fn tamper(&self, sql: &str) -> u64 {
        if self.pg_admin.is_some() {
            let pool = sqlx::PgPool::connect(&self.url).await.unwrap();
            let mut tx = pool.begin().await.unwrap();
            tx.execute("SET LOCAL search_path TO ondeck").await.unwrap();
            let done = tx.execute(sql).await.unwrap().rows_affected();
            tx.commit().await.unwrap();
            pool.close().await;
            done
        } else {
            let pool = sqlx::SqlitePool::connect(&self.url).await.unwrap();
            let done = pool.execute(sql).await.unwrap().rows_affected();
            pool.close().await;
            done
        }
    }

    async fn finish(self) {
        if let Some((admin, name)) = &self.pg_admin {
            let pool = sqlx::PgPool::connect(admin).await.unwrap();
            pool.execute(format!("DROP DATABASE {name} WITH (FORCE)").as_str())
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

fn record(operator: &str, target: &str, outcome: ActionState, n: usize) -> NewAudit {
    NewAudit {
        operator: operator.into(),
        action: "backup-proofpass-db".into(),
        target: target.into(),
        outcome,
        request_id: format!("req-{operator}-{n}"),
        detail: serde_json::json!({ "dir": "/var/backups/proofpass", "n": n }),
    }
}

async fn append_n(store: &Store, n: usize) {
    for i in 0..n {
        store
            .append_audit(record("alice", "db1", ActionState::Requested, i))
            .await
            .unwrap();
    }
}

/// Each scenario once on SQLite and once, when the services are up, on PostgreSQL.
macro_rules! on_both_backends {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test]
            async fn sqlite() {
                let db = super::TestDb::sqlite();
                super::$scenario(&db).await;
                db.finish().await;
            }

            #[tokio::test]
            #[ignore = "needs services: scripts/test-all.sh"]
            async fn postgres() {
                let db = super::TestDb::postgres().await;
                super::$scenario(&db).await;
                db.finish().await;
            }
        }
    };
}

async fn migrations_create_the_schema(db: &TestDb) {
    let store = db.open().await;
    for table in [
        "audit",
        "audit_head",
        "jobs",
        "job_log",
        "operator_sessions",
    ] {
        // Counting rows fails on a missing table.
        db.tamper(&format!("SELECT COUNT(*) FROM {table}")).await;
    }
    assert!(store.audit_tail(10).await.unwrap().is_empty());
    drop(store);
    // Opening again finds the schema in place and applies nothing twice.
    let again = db.open().await;
    assert!(again.verify_audit().await.unwrap().is_ok());
}
on_both_backends!(migrations_create_the_schema);

async fn appended_records_read_back_and_verify(db: &TestDb) {
    let store = db.open().await;
    let first = store
        .append_audit(record("alice", "db1", ActionState::Requested, 0))
        .await
        .unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.source, "store");
    assert_eq!(first.outcome, "REQUESTED");
    assert_eq!(first.request_id, "req-alice-0");
    let detail: serde_json::Value = serde_json::from_str(&first.detail).unwrap();
    assert_eq!(detail["dir"], "/var/backups/proofpass");
    store
        .append_audit(record("alice", "db1", ActionState::Running, 1))
        .await
        .unwrap();
    let mut last = record("alice", "db1", ActionState::Succeeded, 2);
    last.detail = serde_json::Value::Null;
    let last = store.append_audit(last).await.unwrap();
    assert_eq!(last.detail, "");

    let tail = store.audit_tail(2).await.unwrap();
    let seqs: Vec<i64> = tail.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [2, 3], "newest two, oldest first");
    assert_eq!(tail[1], last);

    let all = store.audit_since(None).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], first);
    let since_first = store.audit_since(Some(first.time)).await.unwrap();
    assert_eq!(since_first.len(), 3);
    let future = last.time + chrono::Duration::minutes(1);
    assert!(store.audit_since(Some(future)).await.unwrap().is_empty());

    let report = store.verify_audit().await.unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.broken, None);
}
on_both_backends!(appended_records_read_back_and_verify);

async fn an_edited_outcome_is_named_by_seq(db: &TestDb) {
    let store = db.open().await;
    append_n(&store, 5).await;
    let changed = db
        .tamper("UPDATE audit SET outcome = 'SUCCEEDED' WHERE seq = 3")
        .await;
    assert_eq!(changed, 1);
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.broken,
        Some(ChainBreak {
            seq: 3,
            kind: BreakKind::Edited
        })
    );
    let text = ondeck::audit_cmd::format_verify(&report);
    assert!(text.contains("record 3 was edited"), "{text}");
}
on_both_backends!(an_edited_outcome_is_named_by_seq);

async fn a_deleted_record_is_found(db: &TestDb) {
    let store = db.open().await;
    append_n(&store, 5).await;
    assert_eq!(db.tamper("DELETE FROM audit WHERE seq = 3").await, 1);
    let report = store.verify_audit().await.unwrap();
    assert_eq!(report.records, 4);
    assert_eq!(
        report.broken,
        Some(ChainBreak {
            seq: 3,
            kind: BreakKind::Deleted { first: 3, last: 3 }
        })
    );

    // Deleting the newest record leaves the head pointing past the end.
    assert_eq!(db.tamper("DELETE FROM audit WHERE seq >= 4").await, 2);
    let report = store.verify_audit().await.unwrap();
    assert_eq!(
        report.broken,
        Some(ChainBreak {
            seq: 3,
            kind: BreakKind::Deleted { first: 3, last: 5 }
        })
    );
}
on_both_backends!(a_deleted_record_is_found);

async fn a_head_moved_back_refuses_appends(db: &TestDb) {
    let store = db.open().await;
    append_n(&store, 3).await;
    db.tamper("UPDATE audit_head SET seq = 1 WHERE id = 1")
        .await;
    let err = store
        .append_audit(record("alice", "db1", ActionState::Requested, 9))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::ChainBroken { seq: 2 }), "{err:?}");
    assert_eq!(store.audit_since(None).await.unwrap().len(), 3);
}
on_both_backends!(a_head_moved_back_refuses_appends);

async fn concurrent_appenders_keep_one_chain(db: &TestDb) {
    // Two handles with their own pools stand for two consoles on one store.
    let (a, b) = (db.open().await, db.open().await);
    let appender = |store: Store, operator: &'static str| {
        tokio::spawn(async move {
            for i in 0..50 {
                store
                    .append_audit(record(operator, "db1", ActionState::Requested, i))
                    .await
                    .unwrap();
            }
        })
    };
    let (ra, rb) = tokio::join!(appender(a.clone(), "alice"), appender(b, "bob"));
    ra.unwrap();
    rb.unwrap();

    let report = a.verify_audit().await.unwrap();
    assert_eq!(report.records, 100);
    assert_eq!(report.broken, None);
    let rows = a.audit_since(None).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    let mut per_operator = BTreeMap::new();
    for r in &rows {
        *per_operator.entry(r.operator.as_str()).or_insert(0) += 1;
    }
    assert_eq!(per_operator, BTreeMap::from([("alice", 50), ("bob", 50)]));
}
on_both_backends!(concurrent_appenders_keep_one_chain);

async fn one_running_job_per_target(db: &TestDb) {
    let store = db.open().await;
    let first = store.start_job("restore-db", "db1", "alice").await.unwrap();
    match store.start_job("backup-db", "db1", "bob").await {
        Err(StoreError::TargetBusy {
            target,
            job_id,
            action,
            operator,
            state,
        }) => {
            assert_eq!(
                (target.as_str(), action.as_str(), operator.as_str()),
                ("db1", "restore-db", "alice")
            );
            assert_eq!(job_id, first);
            assert_eq!(state, "REQUESTED");
        }
        other => panic!("expected TargetBusy, got {other:?}"),
    }
    // Another target is free.
    let other = store.start_job("backup-db", "db2", "bob").await.unwrap();

    store
        .update_job(&first, ActionState::Running, Some(0.5))
        .await
        .unwrap();
    // Still busy while RUNNING.
    assert!(matches!(
        store.start_job("backup-db", "db1", "bob").await,
        Err(StoreError::TargetBusy { .. })
    ));
    store
        .append_job_log(&first, "stopping services")
        .await
        .unwrap();
    store
        .append_job_log(&first, "pg_restore: 3 of 7")
        .await
        .unwrap();
    store
        .finish_job(&first, ActionState::Failed, Some("pg_restore exited 1"))
        .await
        .unwrap();

    let again = store.start_job("restore-db", "db1", "bob").await.unwrap();
    assert_ne!(again, first);

    let jobs = store.jobs(10).await.unwrap();
    assert_eq!(jobs.len(), 3);
    assert_eq!(jobs.iter().filter(|j| j.source == "store").count(), 3);
    let finished = jobs.iter().find(|j| j.id == first).unwrap();
    assert_eq!(finished.state, "FAILED");
    assert_eq!(finished.progress, Some(0.5));
    assert!(finished.finished.is_some() && finished.started <= finished.finished);
    let open = jobs.iter().find(|j| j.id == other).unwrap();
    assert_eq!((open.state.as_str(), open.finished), ("REQUESTED", None));
    assert_eq!(
        store.job_log(&first).await.unwrap(),
        [
            "stopping services",
            "pg_restore: 3 of 7",
            "FAILED: pg_restore exited 1"
        ]
    );
    assert_eq!(store.jobs(1).await.unwrap().len(), 1);

    // Races between a runner and a canceller come back typed.
    assert!(matches!(
        store.finish_job(&first, ActionState::Cancelled, None).await,
        Err(StoreError::JobFinished { state, .. }) if state == "FAILED"
    ));
    assert!(matches!(
        store
            .update_job("no-such-job", ActionState::Running, None)
            .await,
        Err(StoreError::NotFound { kind: "job", .. })
    ));
    assert!(matches!(
        store.append_job_log("no-such-job", "x").await,
        Err(StoreError::NotFound { kind: "job", .. })
    ));
    assert!(matches!(
        store.update_job(&again, ActionState::Succeeded, None).await,
        Err(StoreError::WrongState { .. })
    ));
    assert!(matches!(
        store.finish_job(&again, ActionState::Running, None).await,
        Err(StoreError::WrongState { .. })
    ));
}
on_both_backends!(one_running_job_per_target);

async fn operator_sessions_open_and_close(db: &TestDb) {
    let store = db.open().await;
    let alice = store.open_operator_session("alice", "pts/3").await.unwrap();
    let bob = store
        .open_operator_session("bob", "203.0.113.7")
        .await
        .unwrap();
    let sessions = store.operator_sessions().await.unwrap();
    let users: Vec<&str> = sessions.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(users, ["alice", "bob"]);
    for s in &sessions {
        assert_eq!((s.source.as_str(), s.state.as_str()), ("ondeck", "active"));
        assert!(s.since.is_some());
        assert_eq!(
            s.fields["pid"],
            serde_json::json!(std::process::id()),
            "{s:?}"
        );
    }
    assert!(sessions[0].client.starts_with("pts/3@"));

    store.close_operator_session(&alice).await.unwrap();
    store.touch_operator_session(&bob).await.unwrap();
    let sessions = store.operator_sessions().await.unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].fields["session_id"], bob.as_str());
    assert!(matches!(
        store.touch_operator_session(&alice).await,
        Err(StoreError::NotFound { .. })
    ));

    // A console that died without closing drops out once it stops touching its session.
    let stale = (chrono::Utc::now() - chrono::Duration::minutes(3)).timestamp_millis();
    db.tamper(&format!(
        "UPDATE operator_sessions SET last_seen_at = {stale} WHERE id = '{bob}'"
    ))
    .await;
    assert!(store.operator_sessions().await.unwrap().is_empty());
}
on_both_backends!(operator_sessions_open_and_close);

#[tokio::test]
async fn sqlite_store_is_created_in_wal_mode_with_a_readable_label() {
    let db = TestDb::sqlite();
    let store = db.open().await;
    let path = db.url.strip_prefix("sqlite://").unwrap();
    assert!(std::path::Path::new(path).is_file());
    assert_eq!(store.label(), format!("sqlite:{path}"));
    let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn an_unwritable_data_directory_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // A regular file where a directory should be stops even root.
    let blocker = dir.path().join("afile");
    std::fs::write(&blocker, "not a directory").unwrap();
    let db_path = blocker.join("sub/ondeck.db");
    let url = format!("sqlite://{}", db_path.display());
    let err = Store::open(&url).await.unwrap_err();
    let StoreError::Unwritable { path, .. } = &err else {
        panic!("expected Unwritable, got {err:?}");
    };
    assert_eq!(path, &db_path);
    let message = err.to_string();
    assert!(
        message.contains(&db_path.display().to_string()),
        "{message}"
    );
    assert!(message.contains("[store] url"), "{message}");
    assert!(message.contains("XDG_DATA_HOME"), "{message}");
    assert!(!message.contains('\n'), "one paragraph: {message}");
}

#[tokio::test]
async fn unknown_url_schemes_are_refused_without_echoing_passwords() {
    let err = Store::open("mysql://ops:s3cret@db.example.com/ondeck")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::BadUrl { .. }));
    let message = err.to_string();
    assert!(!message.contains("s3cret"), "{message}");
    assert!(message.contains("[store] url"), "{message}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_unavailable_with_the_password_masked() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let err = Store::open("postgres://ops:s3cret@127.0.0.1:1/ondeck")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("postgres://ops:***@127.0.0.1:1/ondeck"),
        "{message}"
    );
    assert!(!message.contains("s3cret"), "{message}");
}

#[tokio::test]
#[ignore = "needs services: scripts/test-all.sh"]
async fn postgres_label_masks_the_password() {
    let db = TestDb::postgres().await;
    let mut with_password = url::Url::parse(&db.url).unwrap();
    // Trust authentication accepts any password, which is all this test needs.
    with_password.set_password(Some("s3cret")).unwrap();
    let store = Store::open(with_password.as_str()).await.unwrap();
    let label = store.label();
    assert!(label.contains(":***@"), "{label}");
    assert!(!label.contains("s3cret"), "{label}");
    drop(store);
    db.finish().await;
}
