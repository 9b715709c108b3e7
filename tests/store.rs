//! The store against real databases: SQLite in a temporary directory always, PostgreSQL when
//! `ONDECK_TEST_PG_URL` names a server where databases may be created (each test gets its own,
//! so re-runs never meet leftovers), e.g. `postgres://postgres@127.0.0.1:55432/postgres`.

#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

use std::collections::BTreeMap;
use std::time::Duration;

use ondeck::identity::OperatorIdentity;
use ondeck::model::Severity;
use ondeck::store::{
    ActionState, BreakKind, ChainBreak, HEALTH_ALERT, JobOwner, NewAudit, Store, StoreError,
};
use sha2::Digest;
use sqlx::Executor;
use std::str::FromStr;

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

    /// The SQLite database's file.
    fn path(&self) -> &str {
        self.url.strip_prefix("sqlite://").unwrap()
    }

    /// The database role the store's connections log in as: none for SQLite.
    fn role(&self) -> Option<String> {
        self.pg_admin.as_ref()?;
        let url = url::Url::parse(&self.url).unwrap();
        Some(url.username().to_string())
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

    /// Empties the audit log behind the store's back, as a fresh store has it.
    async fn reset_audit(&self) {
        self.tamper("DELETE FROM audit").await;
        self.tamper(&format!(
            "UPDATE audit_head SET seq = 0, hash = '{}' WHERE id = 1",
            "0".repeat(64)
        ))
        .await;
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

/// A record appended by this process, its identity labelled `label`.
fn record(label: &str, target: &str, outcome: ActionState, n: usize) -> NewAudit {
    NewAudit {
        identity: OperatorIdentity::current(label),
        action: "backup-proofpass-db".into(),
        target: target.into(),
        outcome,
        request_id: format!("req-{label}-{n}"),
        job_id: None,
        error: None,
        detail: serde_json::json!({ "dir": "/var/backups/proofpass", "n": n }),
    }
}

/// An operator on another machine, for the job ledger's and sessions' multi-operator cases.
fn operator(name: &str) -> OperatorIdentity {
    OperatorIdentity {
        os_user: name.into(),
        uid: 2000,
        host: "ops-02.example.com".into(),
        ssh_client: Some("203.0.113.7:52144".into()),
        db_user: None,
        label: name.into(),
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
    assert!(again.verify_audit(None).await.unwrap().is_ok());
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

    let report = store.verify_audit(None).await.unwrap();
    assert_eq!(report.records, 3);
    assert_eq!(report.broken, None);
}
on_both_backends!(appended_records_read_back_and_verify);

async fn older_records_are_read_a_page_at_a_time(db: &TestDb) {
    let store = db.open().await;
    append_n(&store, 7).await;
    let seqs =
        |rows: Vec<ondeck::model::AuditRow>| -> Vec<i64> { rows.iter().map(|r| r.seq).collect() };
    assert_eq!(seqs(store.audit_tail(3).await.unwrap()), [5, 6, 7]);
    assert_eq!(
        seqs(store.audit_before(5, 3).await.unwrap()),
        [2, 3, 4],
        "the page just behind the tail, oldest first"
    );
    assert_eq!(seqs(store.audit_before(2, 3).await.unwrap()), [1]);
    assert!(store.audit_before(1, 3).await.unwrap().is_empty());
}
on_both_backends!(older_records_are_read_a_page_at_a_time);

async fn an_edited_outcome_is_named_by_seq(db: &TestDb) {
    let store = db.open().await;
    append_n(&store, 5).await;
    let changed = db
        .tamper("UPDATE audit SET outcome = 'SUCCEEDED' WHERE seq = 3")
        .await;
    assert_eq!(changed, 1);
    let report = store.verify_audit(None).await.unwrap();
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
    let report = store.verify_audit(None).await.unwrap();
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
    let report = store.verify_audit(None).await.unwrap();
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

    let report = a.verify_audit(None).await.unwrap();
    assert_eq!(report.records, 100);
    assert_eq!(report.broken, None);
    let rows = a.audit_since(None).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    let mut per_operator = BTreeMap::new();
    for r in &rows {
        let label = r.identity.as_ref().map(|i| i.label.as_str());
        *per_operator.entry(label.unwrap_or("none")).or_insert(0) += 1;
    }
    assert_eq!(per_operator, BTreeMap::from([("alice", 50), ("bob", 50)]));
}
on_both_backends!(concurrent_appenders_keep_one_chain);

async fn records_carry_the_operators_identity(db: &TestDb) {
    let store = db.open().await;
    let mut claimed = OperatorIdentity::current("oncall");
    // A caller cannot choose the database role: the server names it.
    claimed.db_user = Some("somebody-else".into());
    let me = OperatorIdentity::current("oncall");
    let failed = NewAudit {
        job_id: Some("job-7".into()),
        error: Some("pg_restore exited 1".into()),
        identity: claimed,
        ..record("oncall", "db1", ActionState::Failed, 0)
    };
    let row = store.append_audit(failed).await.unwrap();
    let identity = row.identity.clone().expect("a new record has an identity");
    assert_eq!(
        row.operator, me.os_user,
        "the operator is the OS account, not the label"
    );
    assert_eq!(identity.os_user, me.os_user);
    assert_eq!(identity.uid, me.uid);
    assert_eq!(identity.host, me.host);
    assert_eq!(identity.ssh_client, me.ssh_client);
    assert_eq!(identity.label, "oncall");
    assert_eq!(identity.db_user, db.role());
    assert_eq!(row.job_id.as_deref(), Some("job-7"));
    assert_eq!(row.error.as_deref(), Some("pg_restore exited 1"));
    assert_eq!(
        store.audit_since(None).await.unwrap(),
        std::slice::from_ref(&row)
    );
    assert!(store.verify_audit(None).await.unwrap().is_ok());

    // Each of the new fields is covered by the hash.
    let failed_again = || NewAudit {
        job_id: Some("job-7".into()),
        error: Some("pg_restore exited 1".into()),
        ..record("oncall", "db1", ActionState::Failed, 0)
    };
    for edit in [
        "UPDATE audit SET uid = uid + 1",
        "UPDATE audit SET host = 'elsewhere.example.com'",
        "UPDATE audit SET ssh_client = '198.51.100.1:22'",
        "UPDATE audit SET db_user = 'someone_else'",
        "UPDATE audit SET operator_label = 'mallory'",
        "UPDATE audit SET job_id = 'job-8'",
        "UPDATE audit SET error = NULL",
    ] {
        db.reset_audit().await;
        store.append_audit(failed_again()).await.unwrap();
        assert_eq!(db.tamper(edit).await, 1, "{edit}");
        let report = store.verify_audit(None).await.unwrap();
        assert_eq!(
            report.broken.map(|b| (b.seq, b.kind)),
            Some((1, BreakKind::Edited)),
            "{edit}"
        );
    }
}
on_both_backends!(records_carry_the_operators_identity);

/// `ondeck audit ARGS` on this store, run as an operator would: exit code and stdout + stderr.
async fn ondeck_audit(db: &TestDb, args: &[&str]) -> (Option<i32>, String) {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("ondeck.toml");
    std::fs::write(&config, format!("[store]\nurl = \"{}\"\n", db.url)).unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_ondeck"))
        .arg("audit")
        .args(args)
        .arg("--config")
        .arg(&config)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("XDG_STATE_HOME", home.path().join("state"))
        .output()
        .await
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

async fn the_binary_names_the_tampered_record(db: &TestDb) {
    let store = db.open().await;
    append_n(&store, 6).await;
    let intact = ondeck_audit(db, &["--verify"]).await;
    assert_eq!(
        intact,
        (
            Some(0),
            "audit log OK: 6 records, hash chain intact\n".into()
        )
    );

    let tampers: [(&str, &[&str], &str); 4] = [
        (
            "edit",
            &["UPDATE audit SET target = 'db9' WHERE seq = 3"],
            "audit log BROKEN at record 3: record 3 was edited",
        ),
        (
            "delete",
            &["DELETE FROM audit WHERE seq = 4"],
            "audit log BROKEN at record 4: record 4 was deleted",
        ),
        (
            // Records 2 and 3 change places.
            "reorder",
            &[
                "UPDATE audit SET seq = -seq WHERE seq IN (2, 3)",
                "UPDATE audit SET seq = seq + 5 WHERE seq < 0",
            ],
            "audit log BROKEN at record 2: record 2 was edited",
        ),
        (
            "insert",
            &[
                "INSERT INTO audit (seq, time_ms, operator, action, target, outcome, request_id, \
               detail, prev_hash, hash) \
               SELECT 7, time_ms, operator, action, 'db-forged', outcome, request_id, detail, \
               hash, hash FROM audit WHERE seq = 6",
            ],
            "audit log BROKEN at record 7: record 7 was inserted outside ondeck",
        ),
    ];
    for (tamper, statements, message) in tampers {
        db.reset_audit().await;
        append_n(&store, 6).await;
        for sql in statements {
            assert!(db.tamper(sql).await > 0, "{tamper}: {sql}");
        }
        let (code, out) = ondeck_audit(db, &["--verify"]).await;
        assert_eq!(code, Some(1), "{tamper}: {out}");
        assert!(out.starts_with(message), "{tamper}: {out}");
    }
}
on_both_backends!(the_binary_names_the_tampered_record);

async fn a_kept_head_finds_a_cut_tail_through_the_binary(db: &TestDb) {
    let store = db.open().await;
    append_n(&store, 6).await;
    let (code, printed) = ondeck_audit(db, &["--head"]).await;
    assert_eq!(code, Some(0), "{printed}");
    let kept = printed.trim_end();
    let head = store.audit_head().await.unwrap();
    assert_eq!(kept, format!("6:{}", head.hash));
    let (code, out) = ondeck_audit(db, &["--verify", "--head", kept]).await;
    assert_eq!(
        (code, out.as_str()),
        (
            Some(0),
            "audit log OK: 6 records, hash chain intact, still holding the kept head 6\n"
        )
    );

    // The last two records cut off and the head moved back over them: the chain alone holds.
    db.tamper("DELETE FROM audit WHERE seq >= 5").await;
    db.tamper(
        "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit WHERE seq = 4) WHERE id = 1",
    )
    .await;
    let (code, out) = ondeck_audit(db, &["--verify"]).await;
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = ondeck_audit(db, &["--verify", "--head", kept]).await;
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(
        out,
        "audit log BROKEN at record 5: records from 5 on were cut off: the kept head is record \
         6, the log now ends at record 4 (4 records checked)\n"
    );
}
on_both_backends!(a_kept_head_finds_a_cut_tail_through_the_binary);

#[tokio::test]
async fn a_kept_head_is_given_with_verify_and_only_there() {
    let db = TestDb::sqlite();
    db.open().await;
    for args in [
        &["--verify", "--head"][..],
        &["--head", &format!("0:{}", "0".repeat(64))],
        &["--verify", "--head", "12"],
    ] {
        let (code, out) = ondeck_audit(&db, args).await;
        assert_eq!(code, Some(2), "{args:?}: {out}");
        assert!(out.contains("--head"), "{args:?}: {out}");
    }
}

/// Records written before the identity columns existed (hash v1) keep verifying after the
/// migration that adds them, with v2 records appended after them.
#[tokio::test]
async fn a_log_from_before_the_identity_columns_still_verifies() {
    let db = TestDb::sqlite();
    // The store as the first release left it: only the first migration applied.
    let first_only = tempfile::tempdir().unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/migrations/sqlite/0001_init.sql"
        ),
        first_only.path().join("0001_init.sql"),
    )
    .unwrap();
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(&db.url)
        .unwrap()
        .create_if_missing(true);
    std::fs::create_dir_all(std::path::Path::new(db.path()).parent().unwrap()).unwrap();
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let migrator = sqlx::migrate::Migrator::new(first_only.path())
        .await
        .unwrap();
    migrator.run(&pool).await.unwrap();
    // Two records in the v1 encoding, spelled out here independently of the store's code.
    let mut prev = "0".repeat(64);
    for seq in 1..=2_i64 {
        let fields = (
            "alice",
            "backup-db",
            "db1",
            "SUCCEEDED",
            format!("req-{seq}"),
            "",
        );
        let canonical = serde_json::json!([
            "ondeck-audit-v1",
            seq,
            1_700_000_000_000_i64 + seq,
            fields.0,
            fields.1,
            fields.2,
            fields.3,
            fields.4,
            fields.5,
            prev
        ]);
        let hash = hex::encode(sha2::Sha256::digest(canonical.to_string()));
        sqlx::query(
            "INSERT INTO audit (seq, time_ms, operator, action, target, outcome, request_id, \
             detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(seq)
        .bind(1_700_000_000_000_i64 + seq)
        .bind(fields.0)
        .bind(fields.1)
        .bind(fields.2)
        .bind(fields.3)
        .bind(&fields.4)
        .bind(fields.5)
        .bind(&prev)
        .bind(&hash)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&pool)
            .await
            .unwrap();
        prev = hash;
    }
    pool.close().await;

    let store = db.open().await;
    append_n(&store, 2).await;
    let rows = store.audit_since(None).await.unwrap();
    let with_identity: Vec<bool> = rows.iter().map(|r| r.identity.is_some()).collect();
    assert_eq!(with_identity, [false, false, true, true]);
    assert_eq!(rows[0].operator, "alice");
    let (code, out) = ondeck_audit(&db, &["--verify"]).await;
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out, "audit log OK: 4 records, hash chain intact\n");
    // An edit of a v1 record is still found.
    db.tamper("UPDATE audit SET outcome = 'FAILED' WHERE seq = 2")
        .await;
    let (code, out) = ondeck_audit(&db, &["--verify"]).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("record 2 was edited"), "{out}");
}

/// Four consoles appending at once to one PostgreSQL store: the head's row lock orders them
/// into one chain, without a gap, a fork or a refused append.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs services: scripts/test-all.sh"]
async fn four_postgres_writers_leave_one_unbroken_chain() {
    const WRITERS: usize = 4;
    const APPENDS: usize = 1_000;
    let db = TestDb::postgres().await;
    db.open().await;
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let url = db.url.clone();
            tokio::spawn(async move {
                let store = Store::open(&url).await.unwrap();
                let label = format!("writer-{writer}");
                for i in 0..APPENDS {
                    store
                        .append_audit(record(&label, "db1", ActionState::Requested, i))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let store = db.open().await;
    let report = store.verify_audit(None).await.unwrap();
    assert_eq!(
        (report.records, report.broken),
        ((WRITERS * APPENDS) as u64, None)
    );
    let rows = store.audit_since(None).await.unwrap();
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=(WRITERS * APPENDS) as i64).collect::<Vec<_>>());
    let mut per_writer = BTreeMap::new();
    for r in &rows {
        let label = r
            .identity
            .as_ref()
            .map(|i| i.label.clone())
            .unwrap_or_default();
        *per_writer.entry(label).or_insert(0) += 1;
    }
    assert_eq!(per_writer.len(), WRITERS);
    assert!(per_writer.values().all(|&n| n == APPENDS), "{per_writer:?}");
    let (code, out) = ondeck_audit(&db, &["--verify"]).await;
    assert_eq!(code, Some(0), "{out}");
    db.finish().await;
}

/// The intent record an action writes before it starts: `label` acting on `target`.
fn intent(label: &str, action: &str, target: &str) -> NewAudit {
    NewAudit {
        identity: operator(label),
        action: action.into(),
        target: target.into(),
        outcome: ActionState::Requested,
        request_id: format!("req-{label}-{action}"),
        job_id: None,
        error: None,
        detail: serde_json::json!({ "plan": ["pg_restore --clean"] }),
    }
}

/// The outcome record that ends job `id`.
fn outcome(label: &str, id: &str, state: ActionState, error: Option<&str>) -> NewAudit {
    NewAudit {
        outcome: state,
        job_id: Some(id.into()),
        error: error.map(str::to_owned),
        detail: serde_json::Value::Null,
        ..intent(label, "restore-db", "db1")
    }
}

/// This test process, which is alive while the test runs.
fn this_process() -> JobOwner {
    JobOwner::this_process(&OperatorIdentity::current("test"))
}

async fn one_running_job_per_target(db: &TestDb) {
    let store = db.open().await;
    let owner = this_process();
    let (first, record) = store
        .begin_action(intent("alice", "restore-db", "db1"), &owner)
        .await
        .unwrap();
    assert_eq!(record.job_id.as_deref(), Some(first.as_str()));
    assert_eq!(record.outcome, "REQUESTED");
    match store
        .begin_action(intent("bob", "backup-db", "db1"), &owner)
        .await
    {
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
    // The refused action left no intent record behind: the pair commits together or not at all.
    let audit = store.audit_since(None).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    // Another target is free.
    let (other, _) = store
        .begin_action(intent("bob", "backup-db", "db2"), &owner)
        .await
        .unwrap();

    store
        .update_job(&first, ActionState::Running, Some(0.5))
        .await
        .unwrap();
    // Still busy while RUNNING.
    assert!(matches!(
        store
            .begin_action(intent("bob", "backup-db", "db1"), &owner)
            .await,
        Err(StoreError::TargetBusy { .. })
    ));
    store
        .append_job_log(
            &first,
            &["stopping services".into(), "pg_restore: 3 of 7".into()],
        )
        .await
        .unwrap();
    let closed = store
        .finish_action(outcome(
            "alice",
            &first,
            ActionState::Failed,
            Some("pg_restore exited 1"),
        ))
        .await
        .unwrap();
    assert_eq!(
        (closed.outcome.as_str(), closed.job_id.as_deref()),
        ("FAILED", Some(first.as_str()))
    );

    let (again, _) = store
        .begin_action(intent("bob", "restore-db", "db1"), &owner)
        .await
        .unwrap();
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
    let log = store.job_log(&first, None, 100).await.unwrap();
    let lines: Vec<&str> = log.iter().map(|(_, line)| line.as_str()).collect();
    assert_eq!(
        lines,
        [
            "stopping services",
            "pg_restore: 3 of 7",
            "FAILED: pg_restore exited 1"
        ]
    );
    // Paging back from the newest line.
    let older = store.job_log(&first, Some(log[2].0), 1).await.unwrap();
    assert_eq!(older, [log[1].clone()]);
    assert_eq!(store.jobs(1).await.unwrap().len(), 1);

    // Races between a runner and a canceller come back typed, and write nothing.
    let records = store.audit_since(None).await.unwrap().len();
    assert!(matches!(
        store
            .finish_action(outcome("alice", &first, ActionState::Cancelled, None))
            .await,
        Err(StoreError::JobFinished { state, .. }) if state == "FAILED"
    ));
    assert_eq!(store.audit_since(None).await.unwrap().len(), records);
    assert!(matches!(
        store
            .update_job("no-such-job", ActionState::Running, None)
            .await,
        Err(StoreError::NotFound { kind: "job", .. })
    ));
    assert!(matches!(
        store.append_job_log("no-such-job", &["x".into()]).await,
        Err(StoreError::NotFound { kind: "job", .. })
    ));
    assert!(matches!(
        store.update_job(&again, ActionState::Succeeded, None).await,
        Err(StoreError::WrongState { .. })
    ));
    assert!(matches!(
        store
            .finish_action(outcome("bob", &again, ActionState::Running, None))
            .await,
        Err(StoreError::WrongState { .. })
    ));
    let report = store.verify_audit(None).await.unwrap();
    assert_eq!(report.broken, None);
}
on_both_backends!(one_running_job_per_target);

async fn operator_sessions_open_and_close(db: &TestDb) {
    let store = db.open().await;
    let me = OperatorIdentity::current("oncall");
    let alice = store
        .open_operator_session(&me, "pts/3", false)
        .await
        .unwrap();
    let bob = store
        .open_operator_session(&operator("bob"), "pts/0", true)
        .await
        .unwrap();
    let mut sessions = store.operator_sessions().await.unwrap();
    // Both open within the same millisecond more often than not, and then the order is the
    // tie-break's, not the opening's: compare them by who they are.
    let me_at = format!("{}@{}", me.os_user, me.host);
    sessions.sort_by_key(|s| s.user != me_at);
    let users: Vec<&str> = sessions.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(users, [me_at.as_str(), "bob@ops-02.example.com"]);
    // A console that can act, and a watcher (a wall, --read-only), each said to the others.
    let states: Vec<&str> = sessions.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["active", "watching"]);
    assert_eq!(sessions[1].fields["read_only"], true);
    for s in &sessions {
        assert_eq!(s.source.as_str(), "ondeck");
        assert!(s.since.is_some());
        assert_eq!(
            s.fields["pid"],
            serde_json::json!(std::process::id()),
            "{s:?}"
        );
    }
    // The database role comes from the server, whatever the caller claims.
    let role = db.role();
    let mine = &sessions[0];
    assert_eq!(mine.fields["uid"], serde_json::json!(me.uid), "{mine:?}");
    assert_eq!(mine.fields["os_user"], me.os_user.as_str());
    assert_eq!(mine.fields["label"], "oncall");
    assert_eq!(
        mine.fields.get("db_user").and_then(|v| v.as_str()),
        role.as_deref()
    );
    // Without SSH the console is known by its terminal; over SSH by the client, the terminal
    // going to DETAIL.
    if me.ssh_client.is_none() {
        assert_eq!(mine.client, "pts/3");
    }
    let theirs = &sessions[1];
    assert_eq!(theirs.client, "203.0.113.7:52144");
    let expected_detail = match &role {
        Some(role) => format!("db role {role} · on pts/0"),
        None => "on pts/0".to_string(),
    };
    assert_eq!(theirs.detail, expected_detail);

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

/// Jobs left unfinished by a process that is gone are ended INTERRUPTED with a record; those
/// of a live process are left alone.
async fn orphaned_jobs_are_interrupted(db: &TestDb) {
    let store = db.open().await;
    let me = OperatorIdentity::current("alice");
    // A pid no process has: beyond the kernel's pid_max.
    let gone = JobOwner {
        host: me.host.clone(),
        pid: 1 << 30,
    };
    let (orphan, _) = store
        .begin_action(intent("alice", "command", "web-1"), &gone)
        .await
        .unwrap();
    store
        .update_job(&orphan, ActionState::Running, None)
        .await
        .unwrap();
    let (alive, _) = store
        .begin_action(intent("alice", "command", "web-2"), &this_process())
        .await
        .unwrap();
    // On another host: only a silent heartbeat tells.
    let elsewhere = JobOwner {
        host: "ops-02.example.com".into(),
        pid: 1 << 30,
    };
    let (remote, _) = store
        .begin_action(intent("alice", "command", "web-3"), &elsewhere)
        .await
        .unwrap();

    let found = store
        .interrupt_orphaned_jobs(&me, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(found, std::slice::from_ref(&orphan));
    // Once its heartbeat is old, the remote one is taken for gone too; the live one beats.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    store
        .update_job(&alive, ActionState::Requested, None)
        .await
        .unwrap();
    let found = store
        .interrupt_orphaned_jobs(&me, Duration::from_secs(2))
        .await
        .unwrap();
    assert!(found.contains(&remote), "{found:?}");
    let jobs = store.jobs(10).await.unwrap();
    let state = |id: &str| jobs.iter().find(|j| j.id == id).unwrap().state.clone();
    assert_eq!(state(&orphan), "INTERRUPTED");
    assert_eq!(state(&remote), "INTERRUPTED");
    let audit = store.audit_since(None).await.unwrap();
    let closing = audit
        .iter()
        .find(|r| r.job_id.as_deref() == Some(orphan.as_str()) && r.outcome == "INTERRUPTED")
        .expect("an INTERRUPTED record names the job");
    assert!(
        closing
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("is gone"),
        "{closing:?}"
    );
    assert_eq!(state(&alive), "REQUESTED", "its process is this test");
    assert_eq!(store.verify_audit(None).await.unwrap().broken, None);
}
on_both_backends!(orphaned_jobs_are_interrupted);

/// A target whose latest job failed its health check carries a critical alert, until a later
/// job on it succeeds; other failures raise none.
async fn a_failed_health_check_raises_an_alert_until_a_job_succeeds(db: &TestDb) {
    let store = db.open().await;
    let owner = this_process();
    let run = |target: &'static str, state: ActionState, error: Option<&'static str>| {
        let store = store.clone();
        let owner = owner.clone();
        async move {
            let (id, _) = store
                .begin_action(intent("alice", "rollback-prod", target), &owner)
                .await
                .unwrap();
            let mut end = outcome("alice", &id, state, error);
            end.target = target.into();
            store.finish_action(end).await.unwrap();
            id
        }
    };
    let failed = run(
        "deploys/prod",
        ActionState::Failed,
        Some("health check failed: http://127.0.0.1:1/healthz answered 503, expected 200"),
    )
    .await;
    run(
        "deploys/dev",
        ActionState::Failed,
        Some("`sh` exited with status 1"),
    )
    .await;
    let alerts = store.health_alerts().await.unwrap();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(
        (alert.name.as_str(), alert.target.as_str(), alert.severity),
        (HEALTH_ALERT, "deploys/prod", Severity::Critical)
    );
    assert!(alert.summary.contains(&failed), "{}", alert.summary);
    let summaries = |alerts: &[ondeck::model::AlertRow]| -> Vec<String> {
        alerts.iter().map(|a| a.summary.clone()).collect()
    };
    let read = store.read_rows(10, 10).await.unwrap();
    assert_eq!(summaries(&read.alerts), summaries(&alerts));

    // Milliseconds apart at least, so that "latest" is the later job.
    tokio::time::sleep(Duration::from_millis(5)).await;
    run("deploys/prod", ActionState::Succeeded, None).await;
    assert_eq!(store.health_alerts().await.unwrap(), []);
}
on_both_backends!(a_failed_health_check_raises_an_alert_until_a_job_succeeds);

/// A decision on job `id` by `who`: APPROVED or DENIED.
fn decision(who: &OperatorIdentity, id: &str, state: ActionState) -> NewAudit {
    NewAudit {
        identity: who.clone(),
        action: "restart-api".into(),
        target: "api-1".into(),
        outcome: state,
        request_id: format!("decide-{id}"),
        job_id: Some(id.into()),
        error: None,
        detail: serde_json::Value::Null,
    }
}

/// `name` on the machine `host`.
fn account(name: &str, host: &str) -> OperatorIdentity {
    OperatorIdentity {
        host: host.into(),
        ..operator(name)
    }
}

async fn two_person_requests_are_decided_once_by_someone_else(db: &TestDb) {
    let store = db.open().await;
    let owner = this_process();
    let alice = account("alice", "ops-01.example.com");
    let in_15m = chrono::Utc::now() + chrono::Duration::minutes(15);
    let request = NewAudit {
        identity: alice.clone(),
        ..intent("alice", "restart-api", "api-1")
    };
    let (id, record) = store
        .request_approval(request.clone(), &owner, in_15m)
        .await
        .unwrap();
    assert_eq!(record.outcome, "REQUESTED");
    assert_eq!(record.job_id.as_deref(), Some(id.as_str()));

    // Every console lists it; its requester sees it waiting.
    let pending = store.pending_approvals().await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(pending[0].job_id, id);
    assert_eq!(pending[0].requested_by, "alice@ops-01.example.com");
    assert_eq!(
        store.read_rows(10, 10).await.unwrap().approvals,
        pending,
        "the console's store read carries them"
    );
    let status = store.request_status(&id).await.unwrap();
    assert_eq!(status.state, "REQUESTED");
    assert!(!status.is_overdue(chrono::Utc::now()));

    // Its target is held while it waits.
    assert!(matches!(
        store
            .begin_action(intent("carol", "backup-db", "api-1"), &owner)
            .await,
        Err(StoreError::TargetBusy { .. })
    ));

    // The requester cannot decide it, whatever label they give: the account and host decide.
    let relabelled = OperatorIdentity {
        label: "bob".into(),
        ..alice.clone()
    };
    for (who, state) in [
        (&alice, ActionState::Approved),
        (&relabelled, ActionState::Approved),
        (&alice, ActionState::Denied),
    ] {
        match store.decide_request(decision(who, &id, state)).await {
            Err(StoreError::DecisionRefused {
                job_id,
                why: ondeck::store::DecisionRefusal::OwnRequest { requester },
            }) => {
                assert_eq!(job_id, id);
                assert_eq!(requester, "alice@ops-01.example.com");
            }
            other => panic!("the requester decided their own request: {other:?}"),
        }
    }
    // Nothing of a refused decision was written.
    assert_eq!(store.request_status(&id).await.unwrap().state, "REQUESTED");
    let audit = store.audit_tail(100).await.unwrap();
    assert!(audit.iter().all(|r| r.outcome != "APPROVED"), "{audit:?}");

    // The same account on another machine is another operator's seat, as is another account.
    let bob = account("bob", "ops-01.example.com");
    let approved = store
        .decide_request(decision(&bob, &id, ActionState::Approved))
        .await
        .unwrap();
    assert_eq!(approved.outcome, "APPROVED");
    assert_eq!(approved.operator, "bob");
    assert_eq!(approved.job_id.as_deref(), Some(id.as_str()));
    let status = store.request_status(&id).await.unwrap();
    assert_eq!(status.state, "APPROVED");
    assert_eq!(status.decided_by.as_deref(), Some("bob@ops-01.example.com"));
    assert!(store.pending_approvals().await.unwrap().is_empty());

    // A second decision, approving or denying, is refused as already decided.
    let carol = account("carol", "ops-03.example.com");
    for state in [ActionState::Approved, ActionState::Denied] {
        match store.decide_request(decision(&carol, &id, state)).await {
            Err(StoreError::DecisionRefused {
                why: ondeck::store::DecisionRefusal::AlreadyDecided { state },
                ..
            }) => assert_eq!(state, "APPROVED"),
            other => panic!("decided twice: {other:?}"),
        }
    }
    // The requester runs it, and its end closes it as any job's.
    store
        .update_job(&id, ActionState::Running, Some(0.0))
        .await
        .unwrap();
    store
        .finish_action(NewAudit {
            identity: alice.clone(),
            ..outcome("alice", &id, ActionState::Succeeded, None)
        })
        .await
        .unwrap();

    // A denied request ends DENIED and frees its target.
    let (denied, _) = store
        .request_approval(request.clone(), &owner, in_15m)
        .await
        .unwrap();
    store
        .decide_request(decision(&carol, &denied, ActionState::Denied))
        .await
        .unwrap();
    let status = store.request_status(&denied).await.unwrap();
    assert_eq!(status.state, "DENIED");
    let row = store.jobs(10).await.unwrap();
    let row = row.iter().find(|j| j.id == denied).unwrap();
    assert!(row.finished.is_some(), "{row:?}");

    // An ordinary job is no request.
    let (plain, _) = store
        .begin_action(intent("alice", "backup-db", "api-1"), &owner)
        .await
        .unwrap();
    assert!(matches!(
        store
            .decide_request(decision(&bob, &plain, ActionState::Approved))
            .await,
        Err(StoreError::DecisionRefused {
            why: ondeck::store::DecisionRefusal::NotARequest,
            ..
        })
    ));
    store
        .finish_action(outcome("alice", &plain, ActionState::Succeeded, None))
        .await
        .unwrap();
    assert!(store.audit_since(None).await.unwrap().len() >= 6);
    assert!(store.verify_audit(None).await.unwrap().is_ok());
}
on_both_backends!(two_person_requests_are_decided_once_by_someone_else);

async fn an_expired_request_cannot_be_decided_and_ends_expired(db: &TestDb) {
    let store = db.open().await;
    let owner = this_process();
    let alice = account("alice", "ops-01.example.com");
    let bob = account("bob", "ops-02.example.com");
    let request = NewAudit {
        identity: alice.clone(),
        ..intent("alice", "restart-api", "api-1")
    };
    let (id, _) = store
        .request_approval(
            request.clone(),
            &owner,
            chrono::Utc::now() - chrono::Duration::seconds(1),
        )
        .await
        .unwrap();
    // Nobody's list shows it, and nobody can approve it.
    assert!(store.pending_approvals().await.unwrap().is_empty());
    match store
        .decide_request(decision(&bob, &id, ActionState::Approved))
        .await
    {
        Err(StoreError::DecisionRefused {
            why: ondeck::store::DecisionRefusal::Expired { .. },
            ..
        }) => {}
        other => panic!("an expired request was approved: {other:?}"),
    }
    let status = store.request_status(&id).await.unwrap();
    assert!(status.is_overdue(chrono::Utc::now()));
    // Its requester ends it EXPIRED, which frees the target.
    let expired = NewAudit {
        outcome: ActionState::Expired,
        job_id: Some(id.clone()),
        error: Some("nobody approved it within 15m".into()),
        ..request.clone()
    };
    let record = store.expire_request(expired.clone()).await.unwrap();
    assert_eq!(record.outcome, "EXPIRED");
    assert_eq!(store.request_status(&id).await.unwrap().state, "EXPIRED");
    // Once only.
    assert!(store.expire_request(expired).await.is_err());
    store
        .begin_action(intent("carol", "backup-db", "api-1"), &owner)
        .await
        .unwrap();

    // One not yet due is not expired, and an approved one never is.
    let (later, _) = store
        .request_approval(
            NewAudit {
                target: "api-2".into(),
                ..request.clone()
            },
            &owner,
            chrono::Utc::now() + chrono::Duration::minutes(15),
        )
        .await
        .unwrap();
    let early = NewAudit {
        outcome: ActionState::Expired,
        job_id: Some(later.clone()),
        target: "api-2".into(),
        ..request.clone()
    };
    assert!(store.expire_request(early).await.is_err());
    assert_eq!(
        store.request_status(&later).await.unwrap().state,
        "REQUESTED"
    );
}
on_both_backends!(an_expired_request_cannot_be_decided_and_ends_expired);

async fn of_two_approvers_at_once_exactly_one_decides(db: &TestDb) {
    let store = db.open().await;
    let alice = account("alice", "ops-01.example.com");
    let (id, _) = store
        .request_approval(
            NewAudit {
                identity: alice,
                ..intent("alice", "restart-api", "api-1")
            },
            &this_process(),
            chrono::Utc::now() + chrono::Duration::minutes(15),
        )
        .await
        .unwrap();
    let deciders: Vec<_> = (0..6)
        .map(|n| {
            let store = store.clone();
            let id = id.clone();
            let who = account(&format!("op{n}"), "ops-09.example.com");
            let state = if n % 2 == 0 {
                ActionState::Approved
            } else {
                ActionState::Denied
            };
            tokio::spawn(async move { store.decide_request(decision(&who, &id, state)).await })
        })
        .collect();
    let mut decided = 0;
    for decider in deciders {
        match decider.await.unwrap() {
            Ok(_) => decided += 1,
            Err(StoreError::DecisionRefused {
                why: ondeck::store::DecisionRefusal::AlreadyDecided { .. },
                ..
            }) => {}
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(decided, 1);
}
on_both_backends!(of_two_approvers_at_once_exactly_one_decides);

#[tokio::test]
async fn a_store_in_a_teams_directory_is_the_groups_and_elsewhere_its_owners_alone() {
    use std::os::unix::fs::PermissionsExt;

    let parent = tempfile::tempdir().unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    // Setgid, group-writable, nothing for others: prepared for a team.
    let team = parent.path().join("team");
    std::fs::create_dir(&team).unwrap();
    std::fs::set_permissions(&team, std::fs::Permissions::from_mode(0o2770)).unwrap();
    let store = Store::open(&format!("sqlite://{}/ondeck.db", team.display()))
        .await
        .unwrap();
    append_n(&store, 1).await;
    for file in ["ondeck.db", "ondeck.db-wal", "ondeck.db-shm"] {
        assert_eq!(mode(&team.join(file)), 0o660, "{file}");
    }
    // Group-writable but open to others too, or not setgid: not a team's, so private.
    for dir_mode in [0o2777, 0o0770] {
        let dir = parent.path().join(format!("dir-{dir_mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(dir_mode)).unwrap();
        let store = Store::open(&format!("sqlite://{}/ondeck.db", dir.display()))
            .await
            .unwrap();
        append_n(&store, 1).await;
        assert_eq!(mode(&dir.join("ondeck.db")), 0o600, "{dir_mode:o}");
    }
}
